"""The software prefetch of the conv kernels, on and off, with inputs from memory.

    python benchmarks/prefetch.py [--repeat 7] [case ...]

A benchmark that repeats one call finds its input in the caches; a training step
does not (each kernel reads what an earlier one wrote, megabytes ago).  Here every
call reads the next of six inputs of the layer's shape (more than the 32 MB L3 of
the development host together), so each call's input comes from memory, and keeps
its outputs, so each call also writes to memory not in cache.  For each
peer-benchmark layer: conv2d, conv2d_transpose and the filter gradient, timed with
the prefetch switch (nabla._kernels.conv._prefetch) on and off, alternated in one
process; prints the median time with it on and the ratio on / off (below 1: the
prefetch helps).  Run it with MALLOC_MMAP_THRESHOLD_ raised (as below) so fresh
outputs do not page-fault, which would add the same time to both sides:

    MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=4294967296 \\
        python benchmarks/prefetch.py
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import nabla._kernels as K  # noqa: E402

# name: (N, H = W, C_in, C_out, K, stride, padding, dilation, groups), as peers_bench.py
CASES = {
    "resnet16": (32, 32, 16, 16, 3, 1, 1, 1, 1),
    "resnet64": (32, 32, 64, 64, 3, 1, 1, 1, 1),
    "resnet128": (32, 16, 128, 128, 3, 1, 1, 1, 1),
    "resnet256": (32, 8, 256, 256, 3, 1, 1, 1, 1),
    "down": (32, 32, 64, 128, 3, 2, 1, 1, 1),
    "pointwise": (8, 56, 64, 256, 1, 1, 0, 1, 1),
    "stem": (8, 112, 3, 64, 7, 2, 3, 1, 1),
    "grouped": (32, 14, 256, 256, 3, 1, 1, 1, 32),
    "dilated": (8, 64, 64, 64, 3, 1, 2, 2, 1),
    "infer_b1": (1, 56, 64, 64, 3, 1, 1, 1, 1),
}
INPUTS = 6


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("cases", nargs="*", help=f"some of {', '.join(CASES)} (default: all)")
    args = p.parse_args()
    for name in args.cases:
        if name not in CASES:
            p.error(f"unknown case {name!r}; choose from {', '.join(CASES)}")
    print("| layer | fwd ms (on) | on / off | dx ms (on) | on / off | dw ms (on) | on / off |")
    print("|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for name in args.cases or CASES:
        N, H, C, O, k, s, pad, d, g = CASES[name]
        Ho = (H + 2 * pad - d * (k - 1) - 1) // s + 1
        xs = [rng.standard_normal((N, H, H, C), dtype=np.float32) for _ in range(INPUTS)]
        dys = [rng.standard_normal((N, Ho, Ho, O), dtype=np.float32) for _ in range(INPUTS)]
        w = (rng.standard_normal((k, k, C // g, O)) * 0.1).astype(np.float32)
        geo = ((s, s), (pad, pad, pad, pad), (d, d), g)
        calls = [lambda i: K.conv2d(xs[i], w, (Ho, Ho), *geo),
                 lambda i: K.conv2d_transpose(dys[i], w, (H, H), *geo),
                 lambda i: K.conv2d_filter_grad(xs[i], dys[i], (k, k), *geo)]
        samples = {}
        for _ in range(args.repeat):
            for on in (True, False):
                K.conv._prefetch(on)
                for j, call in enumerate(calls):
                    outputs = [call(0)]
                    t0 = time.perf_counter()
                    for i in range(INPUTS):
                        outputs.append(call(i))     # kept: each output is fresh memory
                    samples.setdefault((on, j), []).append((time.perf_counter() - t0) / INPUTS)
                    del outputs
        K.conv._prefetch(True)
        cells = []
        for j in range(3):
            on, off = np.median(samples[(True, j)]), np.median(samples[(False, j)])
            cells += [f"{on * 1e3:.3f}", f"{on / off:.2f}"]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
