"""Winograd F(4x4, 3x3) against the direct form, in one process, and its error.

    python benchmarks/winograd.py [--dtype float32|float64] [--repeat 15] [--scheme 0|1|2]

For each 3x3 stride-1 layer: conv2d and conv2d_transpose timed (median after
warm-up) with nabla.set_conv_algorithm("direct") and ("auto"), alternated twice (the
better of each pair kept), and the error of the auto result against a float64 reference, as a fraction
of max|y|, on the peer benchmark's data (x standard normal, w / sqrt(fan_in)).
Layers the chooser keeps on the direct form show ratio 1.  --scheme forces Winograd's
schedule (1: per-thread units of tiles, 2: chunks of tiles shared by the team; 0, the
default: the kernel's own choice, nabla/_kernels/_winograd.pxi: _winograd_shared).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import nabla as nb  # noqa: E402
import nabla._kernels as K  # noqa: E402
import nabla.reference as R  # noqa: E402
from conv_kernels import timeit  # noqa: E402  (benchmarks/conv_kernels.py: median after warm-up)

LAYERS = [(32, 32, 16, 16), (32, 32, 64, 64), (32, 16, 128, 128), (32, 8, 256, 256),
          (1, 56, 64, 64), (8, 32, 32, 32)]   # (N, H = W, C_in, C_out), padding 1


def best_ms(fn, repeat):
    return timeit(fn, repeat) * 1e3


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dtype", default="float32")
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--scheme", type=int, default=0, choices=(0, 1, 2))
    args = p.parse_args()
    K.conv._winograd_scheme(args.scheme)
    dt = np.dtype(args.dtype)
    print(f"| layer ({args.dtype}) | conv2d direct / auto ms | ratio | transpose direct / auto ms "
          f"| ratio | error / max abs y (y, dx) |")
    print("|---|---|---|---|---|---|")
    for N, H, C, O in LAYERS:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((N, H, H, C)).astype(dt)
        w = (rng.standard_normal((3, 3, C, O)) / np.sqrt(9 * C)).astype(dt)
        dy = rng.standard_normal((N, H, H, O)).astype(dt)
        geo = ((1, 1), (1, 1, 1, 1), (1, 1), 1)
        times = {}
        for algo in ("direct", "auto", "direct", "auto"):
            nb.set_conv_algorithm(algo)
            f = best_ms(lambda: K.conv2d(x, w, (H, H), *geo), args.repeat)
            t = best_ms(lambda: K.conv2d_transpose(dy, w, (H, H), *geo), args.repeat)
            old = times.get(algo, (np.inf, np.inf))
            times[algo] = (min(old[0], f), min(old[1], t))
        nb.set_conv_algorithm("auto")
        errs = []
        for got, want in ((K.conv2d(x, w, (H, H), *geo),
                           R.conv2d(x.astype(np.float64), w.astype(np.float64), (H, H), *geo)),
                          (K.conv2d_transpose(dy, w, (H, H), *geo),
                           R.conv2d_transpose(dy.astype(np.float64), w.astype(np.float64), (H, H), *geo))):
            errs.append(np.max(np.abs(got - want)) / np.max(np.abs(want)))
        (df, dt_), (af, at) = times["direct"], times["auto"]
        print(f"| N{N} {H}x{H} {C}->{O} | {df:.2f} / {af:.2f} | {af / df:.2f} | {dt_:.2f} / {at:.2f} "
              f"| {at / dt_:.2f} | {errs[0]:.1e}, {errs[1]:.1e} |", flush=True)


if __name__ == "__main__":
    main()
