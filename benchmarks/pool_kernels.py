"""Time nabla's Cython pooling kernels on the peer benchmark's pool cases and on
LeNet-5's first max pool (2x2/2 over 6 channels: a small channel count, one
masked vector per pixel).

    python benchmarks/pool_kernels.py [--repeats 200]

Calls nabla._kernels directly (no op layer).  fwd+bwd follows the peer
benchmark: max = max_pool2d + max_pool2d_scatter, avg = avg_pool2d +
avg_pool2d_transpose.  Median of many runs; GB/s counts minimum traffic
(forward: read x, write y (+ int64 argmax); backward: read g (+ argmax), write dx).
"""
import argparse
import time

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nabla._kernels import pool as K  # noqa: E402

CASES = [  # name, kind, N, H, W, C, k, s, p
    ("maxpool_b16_56x56x64_k2s2", "max", 16, 56, 56, 64, 2, 2, 0),
    ("maxpool_b16_56x56x64_k3s2p1", "max", 16, 56, 56, 64, 3, 2, 1),
    ("avgpool_b32_32x32x64_k2s2", "avg", 32, 32, 32, 64, 2, 2, 0),
    ("lenet5_pool1_b64_28x28x6_k2s2", "max", 64, 28, 28, 6, 2, 2, 0),
]


def median_ms(fn, repeats):
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'case':32s} {'kernel':22s} {'ms':>8s} {'GB/s':>7s}")
    for name, kind, n, h, w, c, k, s, p in CASES:
        x = rng.standard_normal((n, h, w, c), dtype=np.float32)
        ho = (h + 2 * p - k) // s + 1
        g = rng.standard_normal((n, ho, ho, c), dtype=np.float32)
        win = dict(kernel_size=(k, k), stride=(s, s), padding=(p, p, p, p), dilation=(1, 1))
        xb, yb = x.nbytes, g.nbytes
        if kind == "max":
            _, am = K.max_pool2d(x, (ho, ho), **win)
            fwd = lambda: K.max_pool2d(x, (ho, ho), **win)  # noqa: E731
            bwd = lambda: K.max_pool2d_scatter(g, am, (h, w))  # noqa: E731
            fb = xb + yb + 2 * yb
            bb = yb + 2 * yb + xb
        else:
            fwd = lambda: K.avg_pool2d(x, (ho, ho), **win)  # noqa: E731
            bwd = lambda: K.avg_pool2d_transpose(g, (h, w), **win)  # noqa: E731
            fb = bb = xb + yb
        both = lambda: (fwd(), bwd())  # noqa: E731
        for label, fn, nbytes in (("fwd", fwd, fb), ("bwd", bwd, bb), ("fwd+bwd", both, fb + bb)):
            ms = median_ms(fn, args.repeats)
            print(f"{name:32s} {kind + '_' + label:22s} {ms:8.3f} {nbytes / ms / 1e6:7.1f}")


if __name__ == "__main__":
    main()
