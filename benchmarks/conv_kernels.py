"""Time nabla's three conv kernels directly (nabla._kernels), no op layer, no autodiff.

    python benchmarks/conv_kernels.py [--dtype float32|float64] [--only SUBSTR] [--repeat 11]
    python benchmarks/conv_kernels.py --threshold    # 1 vs 2 threads on small problems

Prints ms (median after warm-up) and GFLOP/s = 2*N*Ho*Wo*Kh*Kw*Cin*Cout/groups / time
for conv2d (forward), conv2d_transpose (dx) and conv2d_filter_grad (dw) of each case,
and each kernel's peak scratch: the most memory NumPy had allocated during one call
(tracemalloc) beyond the result itself, at the case's batch and at batch 1 (it stays
bounded as the batch grows: the filter gradient keeps at most 64 partial sums of dw).
For the convT case the "forward" of the layer is conv2d_transpose (its input is the
small tensor); the flop count is the same for all three kernels of one layer.
"""
import argparse
import os
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import nabla._kernels as K

# name: (N, H, W, Cin, Cout, K, stride, pad[, groups])   (conv2d geometry: x (N,H,W,Cin) -> y)
CASES = {
    "resnet_b32_32x32_64to64_k3": (32, 32, 32, 64, 64, 3, 1, 1),
    "resnet_b32_16x16_128to128_k3": (32, 16, 16, 128, 128, 3, 1, 1),
    "resnet_b32_8x8_256to256_k3": (32, 8, 8, 256, 256, 3, 1, 1),
    "down_b32_32x32_64to128_k3s2": (32, 32, 32, 64, 128, 3, 2, 1),
    "pointwise_b8_56x56_64to256_k1": (8, 56, 56, 64, 256, 1, 1, 0),
    "stem_b8_112x112_3to64_k7s2": (8, 112, 112, 3, 64, 7, 2, 3),
    "lenet_c2_b64_12x12_6to16_k5": (64, 12, 12, 6, 16, 5, 1, 0),
    "lenet_c1_b64_28x28_1to6_k5": (64, 28, 28, 1, 6, 5, 1, 0),
    "resnet_b32_32x32_16to16_k3": (32, 32, 32, 16, 16, 3, 1, 1),
    # DCGAN 4x4/2 transposed conv 16x16x128 -> 32x32x64: the conv2d it is the adjoint of
    # maps x (32, 32, 32, 64) -> y (32, 16, 16, 128) with k4 s2 p1.
    "convT_b32_16x16_128to64_k4s2": (32, 32, 32, 64, 128, 4, 2, 1),
    "grouped_b32_14x14_256to256_k3_g32": (32, 14, 14, 256, 256, 3, 1, 1, 32),
    "dw_b32_56x56x96_k3": (32, 56, 56, 96, 96, 3, 1, 1, 96),
    "dw_b8_28x28x192_k7": (8, 28, 28, 192, 192, 7, 1, 3, 192),
}


def scratch_kib(fn):
    """Peak bytes NumPy allocated during fn() beyond its result, in KiB."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - base - out.nbytes) / 1024


def timeit(fn, repeat):
    fn()
    fn()
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return float(np.median(samples))


def threshold_table(repeat):
    """Time small 3x3 convs forced onto 1 thread and onto all threads (the
    PARALLEL_MIN_MACS crossover in conv.pyx)."""
    from nabla._kernels import conv
    saved = conv._parallel_min_macs()
    rng = np.random.default_rng(0)
    geo = ((1, 1), (1, 1, 1, 1), (1, 1), 1)
    print("| MACs | 1 thread fwd / transpose / filter_grad (us) | all threads (us) |")
    print("|---|---|---|")
    try:
        for N, H, Ci, Co in [(1, 8, 8, 8), (1, 8, 16, 16), (1, 16, 16, 16), (2, 16, 16, 32),
                             (4, 16, 16, 32), (4, 16, 32, 32), (8, 16, 32, 64)]:
            x = rng.standard_normal((N, H, H, Ci)).astype(np.float32)
            w = rng.standard_normal((3, 3, Ci, Co)).astype(np.float32)
            dy = rng.standard_normal((N, H, H, Co)).astype(np.float32)
            cells = []
            for thr in (1 << 62, 0):
                conv._parallel_min_macs(thr)
                cells.append(" / ".join(f"{timeit(fn, repeat) * 1e6:.1f}" for fn in (
                    lambda: conv.conv2d(x, w, (H, H), *geo),
                    lambda: conv.conv2d_transpose(dy, w, (H, H), *geo),
                    lambda: conv.conv2d_filter_grad(x, dy, (3, 3), *geo))))
            print(f"| {N * H * H * 9 * Ci * Co} | {cells[0]} | {cells[1]} |", flush=True)
    finally:
        conv._parallel_min_macs(saved)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dtype", default="float32")
    p.add_argument("--only", default="")
    p.add_argument("--repeat", type=int, default=11)
    p.add_argument("--threshold", action="store_true")
    args = p.parse_args()
    if args.threshold:
        threshold_table(max(args.repeat, 101))
        return
    dt = np.dtype(args.dtype)
    rng = np.random.default_rng(0)
    print(f"| case ({args.dtype}) | conv2d ms (GF/s) | transpose ms (GF/s) | filter_grad ms (GF/s) "
          f"| peak scratch KiB, fwd / dx / dw: batch N; batch 1 |")
    print("|---|---|---|---|---|")
    for name, (N, H, W, Ci, Co, k, s, p_, *grouped) in CASES.items():
        if args.only and args.only not in name:
            continue
        groups = grouped[0] if grouped else 1
        Ho = (H + 2 * p_ - k) // s + 1
        Wo = (W + 2 * p_ - k) // s + 1
        geo = ((s, s), (p_, p_, p_, p_), (1, 1), groups)
        x = rng.standard_normal((N, H, W, Ci)).astype(dt)
        w = rng.standard_normal((k, k, Ci // groups, Co)).astype(dt)
        dy = rng.standard_normal((N, Ho, Wo, Co)).astype(dt)
        flop = 2.0 * N * Ho * Wo * k * k * Ci * Co / groups
        cells = []

        def kernels(x, dy):
            return (lambda: K.conv2d(x, w, (Ho, Wo), *geo),
                    lambda: K.conv2d_transpose(dy, w, (H, W), *geo),
                    lambda: K.conv2d_filter_grad(x, dy, (k, k), *geo))
        for fn in kernels(x, dy):
            t = timeit(fn, args.repeat)
            cells.append(f"{t * 1e3:.3f} ({flop / t / 1e9:.0f})")
        scratch = [f"{scratch_kib(fn):.0f}" for fn in kernels(x, dy)]
        scratch1 = [f"{scratch_kib(fn):.0f}" for fn in kernels(x[:1], dy[:1])]
        cells.append(" / ".join(scratch) + "; " + " / ".join(scratch1))
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
