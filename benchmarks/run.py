#!/usr/bin/env python3
"""Time nabla's convolution and pooling on standard layer shapes.

For each case (the same list as the peer benchmark, ``../shared/bench/peers_bench.py``:
LeNet convs, CIFAR ResNet 3x3 convs, a stride-2 downsampling conv, a 1x1 pointwise
conv, the ResNet 7x7/2 stem, a DCGAN 4x4/2 transposed conv, 2x2 and 3x3/2 max
pooling, 2x2 average pooling), all float32 NHWC with HWIO filters, it times

* ``fwd``: the op alone, and
* ``fwd+bwd``: ``nabla.vjp`` of the op, then its pullback on a random cotangent
  (dx and, for convolutions, dW),

and prints a Markdown table of milliseconds and GFLOP/s.  A conv2d forward counts
``2*N*Ho*Wo*Kh*Kw*Cin*Cout`` flops (conv2d_transpose: ``2*N*Hin*Win*Kh*Kw*Cin*Cout``,
the forward flops of the conv2d it transposes); fwd+bwd counts 3x that (y, dx, dW).
Pools print the minimum memory traffic in GB/s instead (forward: read x, write y;
fwd+bwd: twice that).  Each time is the median of ``--repeats`` samples after a
warm-up; a sample is the mean of enough back-to-back calls to last ``--sample-ms``.

Usage (from the repository root; ``make bench`` runs the first line)::

    .venv/bin/python benchmarks/run.py                        # cython backend, every case
    .venv/bin/python benchmarks/run.py --backends cython,reference --only lenet,pool
    .venv/bin/python benchmarks/run.py --quick                # a smoke run, a few seconds per case

Thread count: the Cython kernels use OpenMP; ``OMP_NUM_THREADS`` (default here: 2,
one per core of the development machine) sets how many threads they use.

Comparison with PyTorch and JAX: the peer benchmark runs the same cases on
PyTorch (NCHW and channels-last), JAX (jit) and plain NumPy, and adds a nabla column
when ``import nabla`` works.  It needs its own venv with torch 2.13.0 (pinned) and
JAX, made by ``bash ../shared/bench/setup_peers.sh``; nabla's extension must be built
in the tree first (``make venv`` does it)::

    bash /work/shared/bench/setup_peers.sh
    ${NABLA_PEERS_VENV:-~/.cache/nabla-peers}/bin/python /work/shared/bench/peers_bench.py \\
        --nabla-path . --json /tmp/peers.json            # full run, a few minutes
    ... --quick --only resnet,pool --impls torch_cl,jax   # a subset

Published peer results for this machine are in ``/work/shared/bench/peers_full.md``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass

os.environ.setdefault("OMP_NUM_THREADS", "2")  # before the kernels' OpenMP runtime starts

import numpy as np  # noqa: E402

import nabla as nb  # noqa: E402


@dataclass
class Case:
    name: str
    op: str  # "conv2d" | "conv2d_transpose" | "max_pool2d" | "avg_pool2d"
    n: int
    h: int
    w: int
    cin: int
    cout: int  # == cin for pools
    k: int
    stride: int
    pad: int

    @property
    def is_conv(self) -> bool:
        return self.op in ("conv2d", "conv2d_transpose")

    def flops_fwd(self) -> float:
        """Forward flops of a convolution (0 for pools)."""
        if self.op == "conv2d":
            ho = (self.h + 2 * self.pad - self.k) // self.stride + 1
            wo = (self.w + 2 * self.pad - self.k) // self.stride + 1
            return 2.0 * self.n * ho * wo * self.k * self.k * self.cin * self.cout
        if self.op == "conv2d_transpose":
            return 2.0 * self.n * self.h * self.w * self.k * self.k * self.cin * self.cout
        return 0.0


# The case list of ../shared/bench/peers_bench.py (keep the names: results join on them).
CASES = [
    Case("lenet_c1_b64_28x28_1to6_k5", "conv2d", 64, 28, 28, 1, 6, 5, 1, 0),
    Case("lenet_c2_b64_12x12_6to16_k5", "conv2d", 64, 12, 12, 6, 16, 5, 1, 0),
    Case("resnet_b32_32x32_16to16_k3", "conv2d", 32, 32, 32, 16, 16, 3, 1, 1),
    Case("resnet_b32_32x32_64to64_k3", "conv2d", 32, 32, 32, 64, 64, 3, 1, 1),
    Case("resnet_b32_16x16_128to128_k3", "conv2d", 32, 16, 16, 128, 128, 3, 1, 1),
    Case("resnet_b32_8x8_256to256_k3", "conv2d", 32, 8, 8, 256, 256, 3, 1, 1),
    Case("down_b32_32x32_64to128_k3s2", "conv2d", 32, 32, 32, 64, 128, 3, 2, 1),
    Case("pointwise_b8_56x56_64to256_k1", "conv2d", 8, 56, 56, 64, 256, 1, 1, 0),
    Case("stem_b8_112x112_3to64_k7s2", "conv2d", 8, 112, 112, 3, 64, 7, 2, 3),
    Case("convT_b32_16x16_128to64_k4s2", "conv2d_transpose", 32, 16, 16, 128, 64, 4, 2, 1),
    Case("maxpool_b16_56x56x64_k2s2", "max_pool2d", 16, 56, 56, 64, 64, 2, 2, 0),
    Case("maxpool_b16_56x56x64_k3s2p1", "max_pool2d", 16, 56, 56, 64, 64, 3, 2, 1),
    Case("avgpool_b32_32x32x64_k2s2", "avg_pool2d", 32, 32, 32, 64, 64, 2, 2, 0),
]


def build(case: Case, seed: int = 0):
    """(fwd, fwdbwd, bytes_fwd): two zero-argument callables and the pools' minimum traffic."""
    rng = np.random.default_rng(seed)
    x = nb.asarray(rng.standard_normal((case.n, case.h, case.w, case.cin), dtype=np.float32))
    s, p, k = case.stride, case.pad, case.k
    if case.op == "conv2d":
        w = rng.standard_normal((k, k, case.cin, case.cout), dtype=np.float32) / np.sqrt(k * k * case.cin)
        f = lambda x, w: nb.conv2d(x, w, stride=s, padding=p)  # noqa: E731
    elif case.op == "conv2d_transpose":  # filter (K_h, K_w, C_out, C_in)
        w = rng.standard_normal((k, k, case.cout, case.cin), dtype=np.float32) / np.sqrt(k * k * case.cout)
        f = lambda x, w: nb.conv2d_transpose(x, w, stride=s, padding=p)  # noqa: E731
    elif case.op == "max_pool2d":
        f = lambda x: nb.max_pool2d(x, kernel_size=k, stride=s, padding=p)  # noqa: E731
    else:
        f = lambda x: nb.avg_pool2d(x, kernel_size=k, stride=s, padding=p)  # noqa: E731
    args = (x, nb.asarray(w.astype(np.float32))) if case.is_conv else (x,)
    y = f(*args)
    g = nb.asarray(rng.standard_normal(y.shape, dtype=np.float32))

    def fwd():
        return f(*args)

    def fwdbwd():
        out, pullback = nb.vjp(f, *args)
        return out, pullback(g)

    return fwd, fwdbwd, 4.0 * (x.size + y.size)


def median_seconds(fn, repeats: int, sample_ms: float) -> float:
    """Median over ``repeats`` samples of the mean time of one call."""
    fn()  # warm-up (first-touch allocations, OpenMP thread start)
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(sample_ms / 1e3 / once))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return statistics.median(samples)


def cell(seconds: float, case: Case, mult: float, nbytes: float) -> str:
    if case.is_conv:
        return f"{seconds * 1e3:.3f} ({mult * case.flops_fwd() / seconds / 1e9:.0f} GF/s)"
    return f"{seconds * 1e3:.3f} ({mult * nbytes / seconds / 1e9:.1f} GB/s)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backends", default="cython",
                    help="comma-separated: cython, reference (default: cython)")
    ap.add_argument("--only", help="run the cases whose name contains one of these comma-separated substrings")
    ap.add_argument("--repeats", type=int, default=None, help="samples per measurement (default 11; --quick 3)")
    ap.add_argument("--sample-ms", type=float, default=None, help="length of one sample (default 50; --quick 10)")
    ap.add_argument("--quick", action="store_true", help="few, short samples: a smoke run")
    args = ap.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 11)
    sample_ms = args.sample_ms or (10.0 if args.quick else 50.0)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for b in backends:
        if b not in nb._backend.BACKENDS:
            ap.error(f"unknown backend {b!r}; expected some of {sorted(nb._backend.BACKENDS)}")
    cases = CASES
    if args.only:
        subs = [s for s in args.only.split(",") if s]
        cases = [c for c in CASES if any(s in c.name for s in subs)]
        if not cases:
            ap.error(f"--only {args.only!r} matches none of {[c.name for c in CASES]}")

    print(f"nabla {nb.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}, "
          f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}; float32, NHWC/HWIO. "
          f"Median of {repeats} samples of ~{sample_ms:g} ms after warm-up; "
          "ms (GFLOP/s for convs, min-traffic GB/s for pools).\n")
    print("| case | op | GFLOP fwd | mode | " + " | ".join(f"nabla {b}" for b in backends) + " |")
    print("|---|---|---|---|" + "---|" * len(backends))
    for case in cases:
        fwd_cells, fb_cells = [], []
        for b in backends:
            print(f"  {case.name} [{b}] ...", file=sys.stderr, flush=True)
            with nb.use_backend(b):
                fwd, fwdbwd, nbytes = build(case)
                fwd_cells.append(cell(median_seconds(fwd, repeats, sample_ms), case, 1, nbytes))
                fb_cells.append(cell(median_seconds(fwdbwd, repeats, sample_ms), case,
                                     3 if case.is_conv else 2, nbytes))
        gflop = f"{case.flops_fwd() / 1e9:.3f}" if case.is_conv else ""
        print(f"| {case.name} | {case.op} | {gflop} | fwd | " + " | ".join(fwd_cells) + " |")
        print("|  |  |  | fwd+bwd | " + " | ".join(fb_cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
