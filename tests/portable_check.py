"""A small correctness check of an installed nabla, for other CPUs (make portable-check).

    python tests/portable_check.py          # from any directory, against the installed nabla

Runs all four ops and their gradients (VJP and JVP) on the compiled backend, in float32
and float64, with padding, stride, dilation and groups (every convolution algorithm:
direct, packed lanes, depthwise, Winograd in per-thread units and in shared chunks,
the Winograd filter gradient), and a matrix product and ReLU (the
training kernels), and compares them with the reference backend; prints the instruction set the kernels were chosen for, and exits 1
on any mismatch.  No subprocesses and no test framework, so it runs under an emulator
(``qemu-x86_64 -cpu Haswell python portable_check.py``) as it runs natively.
"""
import sys

import numpy as np

import nabla as nb
import nabla._kernels as K

CASES = [
    ("conv2d", dict(stride=1, padding=1), (2, 9, 8, 6), (3, 3, 6, 16)),
    ("conv2d", dict(stride=2, padding=(1, 2), dilation=2), (2, 11, 10, 5), (3, 2, 5, 7)),
    ("conv2d", dict(padding=1, groups=3), (1, 8, 8, 6), (3, 3, 2, 9)),
    ("conv2d", dict(padding=2, groups=8), (2, 9, 9, 8), (5, 5, 1, 8)),
    ("conv2d", dict(), (4, 6, 6, 32), (1, 1, 32, 40)),
    ("conv2d", dict(padding=1), (2, 9, 7, 16), (3, 3, 16, 24)),          # Winograd
    ("conv2d", dict(padding=1), (1, 6, 5, 128), (3, 3, 128, 136)),       # shared chunks,
                                                                          # Winograd dw
    ("conv2d", dict(padding=1, groups=4), (2, 7, 19, 32), (3, 3, 8, 32)),  # packed lanes
    ("matmul", dict(), (7, 19), (19, 24)),                                  # a linear layer
    ("relu", dict(), (2, 5, 5, 37), None),
    ("conv2d_transpose", dict(stride=2, padding=1), (2, 5, 6, 8), (4, 4, 5, 8)),
    ("max_pool2d", dict(kernel_size=3, stride=2, padding=1), (2, 9, 8, 5), None),
    ("avg_pool2d", dict(kernel_size=2), (2, 8, 8, 33), None),
]


def run(op, kwargs, xs, ws, dtype, rng):
    x = rng.standard_normal(xs).astype(dtype)
    args = [x] + ([rng.standard_normal(ws).astype(dtype)] if ws else [])
    f = lambda *a: getattr(nb, op)(*a, **kwargs)                      # noqa: E731
    y, pullback = nb.vjp(f, *args)
    u = rng.standard_normal(y.shape).astype(dtype)
    tangents = [rng.standard_normal(a.shape).astype(dtype) for a in args]
    _, t = nb.jvp(f, args, tangents)
    return [y.numpy()] + [c.numpy() for c in pullback(u)] + [t.numpy()]


def main():
    info = K.build_info()
    print(f"nabla {nb.__version__}: kernels for {info['isa']} (built: {', '.join(info['built'])}; "
          f"this CPU runs: {', '.join(info['supported'])})")
    failures = 0
    for dtype, tol in ((np.float32, 2e-5), (np.float64, 1e-12)):
        for op, kwargs, xs, ws in CASES:
            got = run(op, kwargs, xs, ws, dtype, np.random.default_rng(0))
            with nb.use_backend("reference"):
                want = run(op, kwargs, xs, ws, dtype, np.random.default_rng(0))
            names = ["value"] + ["vjp"] * (len(got) - 2) + ["jvp"]
            for name, g, w in zip(names, got, want):
                err = float(np.max(np.abs(g - w), initial=0.0)) / max(1.0, float(np.max(np.abs(w), initial=0.0)))
                if not err <= tol:
                    failures += 1
                    print(f"MISMATCH {op} {kwargs} {np.dtype(dtype).name} {name}: {err:.3g}")
    print("portable check:", "FAILED" if failures else "ok", f"({2 * len(CASES)} cases, {info['isa']})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
