"""Differential fuzzer: random calls of the four ops, on both backends, against the naive loops.

    python -m tests.fuzz [--seconds 60] [--seed 0] [--batch 50]    time-bounded (make fuzz)
    python -m tests.fuzz --cases 200 [--seed 0]                    a fixed number of cases
    python -m tests.fuzz --case SEED                               replay one case, verbose

A case is a pure function of its seed: op (conv2d, conv2d_transpose, max_pool2d,
avg_pool2d), geometry, dtype, the memory layout of every array argument
(contiguous, non-contiguous, negative strides, Fortran order, read-only,
misaligned, broadcast), special values (NaN, +-inf, -0.0, subnormals, huge),
and, one case in five, an invalid argument.  Each batch of cases runs in a child
process, so a crash or a hang is reported with the seed that was running, and the
run goes on with the next batch.

Checks, on each backend (``cython`` and ``reference``):

* a valid call: the value equals the naive oracle (``tests/op_db.py``'s ``naive_*``,
  built on ``tests/naive.py``) within a rounding bound (NaN and inf positions
  exactly); on finite data also the JVP (conv is bilinear: ``f(tx, w) + f(x, tw)``;
  avg pooling is linear; max pooling moves the tangent at the naive argmax) and the
  VJP, through ``<u, J v> = <J^T u, v>`` with the naive ``J v``; no input is written to.
* a call the Cython backend may run by Winograd F(4x4, 3x3) (3x3, stride 1, any
  dilation, no groups, 16..256 input channels, 16+ outputs): its values within a
  normwise bound, eps times the largest magnitudes of x and w, instead of each
  cell's own, since the transforms mix each output with its whole 6x6 input patch
  and all nine taps (a huge value spoils its neighbours' accuracy, as in every
  Winograd implementation; see ``nabla.set_conv_algorithm``); NaN and inf
  positions still exactly.
* an invalid call: ``TypeError`` or ``ValueError``, the same on both backends; any
  other exception, or one backend raising and the other not, is a failure.

Exit status 1 if any case failed (each printed with its replay command), else 0.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYOUTS = ("contiguous", "strided", "negative", "fortran", "readonly", "misaligned", "broadcast")
SPECIALS = (np.nan, np.inf, -np.inf, -0.0, "subnormal", "huge")


# ------------------------------------------------------------------ the cases

def make_case(seed):
    """The call a seed stands for, as plain data (printed when the case fails)."""
    rng = np.random.default_rng(seed)
    pick = lambda seq: seq[int(rng.integers(len(seq)))]          # noqa: E731
    op = pick(("conv2d", "conv2d_transpose", "max_pool2d", "avg_pool2d"))
    dtype = pick(("float32", "float64"))
    N = 0 if rng.random() < 0.05 else int(rng.integers(1, 3))
    H, W = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    d = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    kwargs = {"stride": s, "dilation": d}
    if rng.random() < 0.2 and op != "conv2d_transpose":
        kwargs["padding"] = pick(("SAME", "VALID"))
    else:
        # Pools: padding at most half the window, as PyTorch requires; conv: up to 2.
        most = [k // 2 if op.endswith("pool2d") else 2 for k in (kh, kh, kw, kw)]
        kwargs["padding"] = tuple(int(rng.integers(0, m + 1)) for m in most)
    shapes = {}
    if op.startswith("conv"):
        groups = pick((1, 1, 1, 2, 3))
        cg, og = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        family = rng.random()
        # Winograd's shapes: 3x3, stride 1, 16 to 40 channels, a third of them dilated.
        # (Its shared chunks and
        # its filter gradient start at 64 and 128 channels, where the naive loops take
        # minutes a case: tests/test_kernels_fast_paths.py checks them.)
        if family < 0.1:
            kh = kw = 3
            s = kwargs["stride"] = (1, 1)
            d = kwargs["dilation"] = pick(((1, 1), (1, 1), (2, 2), (1, 3), (3, 2)))
            groups, cg, og = 1, int(rng.integers(16, 41)), int(rng.integers(16, 41))
        elif family < 0.2:      # the packed grouped kernels: 4 or 8 channels per group
            groups, cg, og = pick((2, 4)), pick((4, 8)), pick((2, 4, 8))
        kwargs["groups"] = groups
        if op == "conv2d":
            shapes = {"x": (N, H, W, cg * groups), "filter": (kh, kw, cg, og * groups)}
        else:
            # x (N, H, W, C_in = groups*cg); filter (kh, kw, C_out/groups, C_in) (HWOI).
            shapes = {"x": (N, H, W, cg * groups), "filter": (kh, kw, og, cg * groups)}
            if rng.random() < 0.3:
                kwargs["output_paddings"] = (int(rng.integers(0, max(s[0], d[0]))),
                                             int(rng.integers(0, max(s[1], d[1]))))
        if rng.random() < 0.2:
            shapes["bias"] = (shapes["filter"][3] if op == "conv2d" else shapes["filter"][2] * groups,)
    else:
        kwargs["kernel_size"] = (kh, kw)
        if rng.random() < 0.3:
            kwargs["ceil_mode"] = True
        if op == "avg_pool2d" and rng.random() < 0.3:
            kwargs["count_include_pad"] = False
        shapes = {"x": (N, H, W, int(rng.integers(1, 5)))}
    layouts = {name: pick(LAYOUTS) if rng.random() < 0.5 else "contiguous" for name in shapes}
    specials = {name: [[pick(range(len(SPECIALS))), int(rng.integers(1 << 30))]
                       for _ in range(int(rng.integers(1, 3)))]
                for name in shapes if rng.random() < 0.15}
    invalid = None
    if rng.random() < 0.2:
        invalid = pick(("stride", "dilation", "padding", "groups", "channels", "ndim", "none",
                        "string", "kernel_size", "dtype", "output_paddings"))
    return {"seed": seed, "op": op, "dtype": dtype, "shapes": shapes, "kwargs": kwargs,
            "layouts": layouts, "specials": specials, "invalid": invalid}


def _special_value(k, dtype):
    v = SPECIALS[k]
    if v == "subnormal":
        return np.finfo(dtype).smallest_subnormal * 3
    if v == "huge":          # large, but a few products and sums of them stay finite
        return 1e15 if dtype == np.float32 else 1e150
    return v


def _lay_out(a, layout, rng):
    """The same values (or, for "broadcast", values repeated along one axis) in another layout."""
    if a.size == 0 or layout == "contiguous":
        return a
    if layout == "strided":                    # every other element of a bigger array
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        big[..., ::2] = a
        return big[..., ::2]
    if layout == "negative":
        flip = (slice(None, None, -1),) * min(a.ndim, 2) if a.ndim < 2 else \
            (slice(None, None, -1), Ellipsis, slice(None, None, -1))
        return np.ascontiguousarray(a[flip])[flip]
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "readonly":
        a = a.copy()
        a.flags.writeable = False
        return a
    if layout == "misaligned":                 # one byte past an aligned address
        buf = np.frombuffer(bytearray(a.nbytes + 1), np.uint8)[1:]
        out = buf.view(a.dtype).reshape(a.shape)
        out[...] = a
        return out
    axis = int(rng.integers(a.ndim))           # broadcast: zero stride along one axis
    return np.broadcast_to(np.take(a, [0], axis=axis), a.shape)


def build(case):
    """(kwargs for the op, the arrays) of a case, invalid argument included."""
    rng = np.random.default_rng(case["seed"] + 1)
    dtype = np.dtype(case["dtype"]).type
    arrays = {}
    for name, shape in case["shapes"].items():
        a = rng.standard_normal(shape).astype(dtype)
        for k, where in case["specials"].get(name, []):
            if a.size:
                a.reshape(-1)[where % a.size] = _special_value(k, dtype)
        arrays[name] = _lay_out(a, case["layouts"][name], rng)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}
    bad = case["invalid"]
    if bad == "stride":
        kwargs["stride"] = (0, 1)
    elif bad == "dilation":
        kwargs["dilation"] = (1, -1)
    elif bad == "padding":
        kwargs["padding"] = -1
    elif bad == "groups" and "groups" in kwargs:
        kwargs["groups"] = 0
    elif bad == "channels" and "filter" in arrays:
        arrays["filter"] = np.concatenate([arrays["filter"]] * 2, axis=2) + 0
    elif bad == "ndim":
        arrays["x"] = arrays["x"][..., 0]
    elif bad == "none":
        arrays[next(iter(arrays))] = None
    elif bad == "string":
        arrays["x"] = "x"
    elif bad == "kernel_size" and "kernel_size" in kwargs:
        kwargs["kernel_size"] = (0, 2)
    elif bad == "dtype":
        arrays["x"] = np.ones(np.shape(arrays["x"]), np.complex64)
    elif bad == "output_paddings" and case["op"] == "conv2d_transpose":
        kwargs["output_paddings"] = (9, 0)
    return kwargs, arrays


# ------------------------------------------------------------------ the checks

def _call(op, arrays, kwargs):
    import nabla
    args = [arrays["x"]] + ([arrays["filter"]] if "filter" in arrays else [])
    extra = {"bias": arrays["bias"]} if "bias" in arrays else {}
    return getattr(nabla, op)(*args, **kwargs, **extra)


def _naive(op, arrays, kwargs):
    from tests import op_db
    args = [np.asarray(arrays["x"], np.float64)]
    if "filter" in arrays:
        args.append(np.asarray(arrays["filter"], np.float64))
    extra = {"bias": np.asarray(arrays["bias"], np.float64)} if "bias" in arrays else {}
    return np.asarray(getattr(op_db, "naive_" + op)(*args, **kwargs, **extra))


def _close(got, want, bound, eps, what, floor=0.0):
    """|got - want| <= bound*eps + floor (floor: subnormal rounding, absolute);
    NaN and inf positions equal."""
    got = np.asarray(got, np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"{what}: shape {got.shape}, oracle {want.shape}")
    nan_got, nan_want = np.isnan(got), np.isnan(want)
    if not np.array_equal(nan_got, nan_want):
        raise AssertionError(f"{what}: NaN at {np.argwhere(nan_got != nan_want)[:3].tolist()}")
    finite = np.isfinite(want) & np.isfinite(bound)
    inf = np.isinf(want)
    if not np.array_equal(got[inf], want[inf]):
        raise AssertionError(f"{what}: inf mismatch, got {got[inf][:4]} want {want[inf][:4]}")
    err = np.abs(got[finite] - want[finite])
    lim = bound[finite] * eps + floor + np.finfo(np.float64).tiny
    if np.any(err > lim):
        k = int(np.argmax(err - lim))
        raise AssertionError(f"{what}: off by {err[k]:.3g} (allowed {lim[k]:.3g}), "
                             f"got {got[finite][k]!r} want {want[finite][k]!r}")


def check_case(case):
    """Run one case on both backends; raise AssertionError on any disagreement."""
    import nabla
    kwargs, arrays = build(case)
    op = case["op"]
    before = {k: np.array(v, copy=True) for k, v in arrays.items() if isinstance(v, np.ndarray)}
    outcomes = {}
    for backend in ("cython", "reference"):
        with nabla.use_backend(backend), np.errstate(all="ignore"):
            try:
                outcomes[backend] = ("ok", np.asarray(_call(op, arrays, kwargs).numpy()))
            except (TypeError, ValueError) as e:
                outcomes[backend] = ("error", f"{type(e).__name__}: {e}")
    for name, a in before.items():
        if not np.array_equal(a, np.asarray(arrays[name]), equal_nan=True):
            raise AssertionError(f"the op wrote to its input {name!r}")
    if outcomes["cython"][0] != outcomes["reference"][0] or (
            outcomes["cython"][0] == "error" and outcomes["cython"][1] != outcomes["reference"][1]):
        raise AssertionError(f"backends differ: {outcomes}")
    if outcomes["cython"][0] == "error":
        return "error"
    dtype = np.dtype(case["dtype"])
    eps = float(np.finfo(dtype).eps)
    with np.errstate(all="ignore"):
        want = _naive(op, arrays, kwargs)
        magnitude = _naive(op, {k: np.abs(np.asarray(v, np.float64)) for k, v in arrays.items()}, kwargs)
    terms = 4 + int(np.prod(case["shapes"].get("filter", (1,))[:3])) * 4
    if op.startswith("max"):
        bound, terms = np.zeros_like(want), 1
    else:
        bound = np.abs(magnitude) * terms
    # The naive sums run in float64 and are rounded once: allow that rounding too.
    bound = bound + np.abs(want)
    for backend in ("cython", "reference"):
        got = outcomes[backend][1]
        if backend == "cython" and _winograd_eligible(case, kwargs):
            bound = _winograd_bound(bound, case, arrays["x"], arrays["filter"])
        if got.dtype != dtype:
            raise AssertionError(f"{backend}: dtype {got.dtype}, want {dtype}")
        # Subnormal results round to a multiple of the smallest subnormal, whatever eps.
        _close(got, want, bound, eps, f"{backend} value",
               floor=terms * float(np.finfo(dtype).smallest_subnormal))
    finite = all(np.all(np.isfinite(np.asarray(v, np.float64))) for v in arrays.values()) and \
        np.all(np.isfinite(want))
    if finite and want.size:
        _check_derivatives(case, op, arrays, kwargs, dtype, eps)
    return "ok"


def _winograd_bound(bound, case, x, w):
    """Winograd's error bound is normwise: every output may be off by a multiple of
    eps * K * max|x| * max|w| (K = 9 * input channels), since the transforms mix
    each output with its whole 6x6 input patch and all nine filter taps, even taps
    whose products are zero (they meet only padding).  So every cell gets the
    largest of the per-cell bounds and 64 K max|x| max|w|."""
    with np.errstate(over="ignore", invalid="ignore"):
        ax, aw = np.abs(np.asarray(x, np.float64)), np.abs(np.asarray(w, np.float64))
        norm = 64.0 * 9 * case["shapes"]["x"][3] * (np.max(ax) if ax.size else 0.0) \
            * (np.max(aw) if aw.size else 0.0)
        largest = np.max(bound) if bound.size else 0.0
    return np.full_like(bound, np.nanmax([largest, norm]))


def _winograd_eligible(case, kwargs):
    """Whether the Cython kernel may compute this call by Winograd F(4x4, 3x3)
    (nabla/_kernels/conv.pyx: _winograd_ok; x's channels are the ones reduced)."""
    if not case["op"].startswith("conv") or kwargs.get("groups", 1) != 1:
        return False
    filt = case["shapes"]["filter"]
    outputs = filt[3] if case["op"] == "conv2d" else filt[2]
    return (filt[:2] == [3, 3] or tuple(filt[:2]) == (3, 3)) \
        and tuple(kwargs.get("stride", (1, 1))) == (1, 1) \
        and 16 <= case["shapes"]["x"][3] <= 256 and outputs >= 16


def _jvp(op, names, primals, tangents, kwargs):
    """The naive J v of conv (bilinear in x and filter, linear in bias) or avg pooling
    (linear): one naive call per argument, with that argument's tangent in its place
    (the bias's place taken by zeros when it is not the one moving)."""
    if op == "avg_pool2d":
        return _naive(op, {"x": tangents[0]}, kwargs)
    jv = 0
    for i, n in enumerate(names):
        parts = {m: (tangents[j] if j == i else primals[j]) for j, m in enumerate(names)}
        if n == "bias":
            parts = {m: (np.zeros_like(primals[j]) if m != "bias" else tangents[j])
                     for j, m in enumerate(names)}
        elif "bias" in parts:
            parts["bias"] = np.zeros_like(primals[names.index("bias")])
        jv = jv + _naive(op, parts, kwargs)
    return jv


def _check_derivatives(case, op, arrays, kwargs, dtype, eps):
    import nabla
    rng = np.random.default_rng(case["seed"] + 2)
    names = list(arrays)
    primals = [np.asarray(arrays[n]) for n in names]
    tangents = [rng.standard_normal(p.shape).astype(dtype) for p in primals]

    def f(*xs):
        return _call(op, dict(zip(names, xs)), kwargs)

    # The naive J v: conv is bilinear (bias linear), avg pooling linear, max pooling
    # moves the tangent's value at the naive argmax (the first maximum of each window).
    if op != "max_pool2d":
        jv = _jvp(op, names, primals, tangents, kwargs)
    else:
        from tests import op_db
        _, idx = op_db.naive_max_pool2d(np.asarray(primals[0], np.float64), return_indices=True, **kwargs)
        t = tangents[0].reshape(tangents[0].shape[0], -1, tangents[0].shape[3])
        jv = np.where(idx >= 0, np.take_along_axis(t, np.maximum(idx, 0).reshape(idx.shape[0], -1, idx.shape[3]),
                                                   axis=1).reshape(idx.shape), 0.0)
    # Rounding bound of J v: the same sums over absolute values (as for the value).
    mag = np.abs(jv) + 1.0
    if op != "max_pool2d":
        mag = mag + _jvp(op, names, [np.abs(p) for p in primals], [np.abs(t) for t in tangents],
                         kwargs) * 16
    u = rng.standard_normal(np.shape(jv)).astype(dtype)
    for backend in ("cython", "reference"):
        with nabla.use_backend(backend):
            _, t_out = nabla.jvp(f, primals, tangents)
            y, pullback = nabla.vjp(f, *primals)
            cts = pullback(u)
        bound = mag * 64
        if backend == "cython" and _winograd_eligible(case, kwargs):
            # J v = f(t_x, w) + f(x, t_w) (+ t_bias): two Winograd calls.
            t = dict(zip(names, tangents))
            bound = _winograd_bound(_winograd_bound(bound, case, t["x"], arrays["filter"]),
                                    case, arrays["x"], t["filter"])
        _close(t_out.numpy(), np.asarray(jv, np.float64), bound, eps, f"{backend} JVP")
        lhs = float(np.sum(u.astype(np.float64) * jv))
        rhs = sum(float(np.sum(np.asarray(c.numpy(), np.float64) * t)) for c, t in zip(cts, tangents))
        scale = float(np.sum(np.abs(u) * mag)) + sum(float(np.sum(np.abs(c.numpy()) * np.abs(t)))
                                                     for c, t in zip(cts, tangents))
        if backend == "cython" and _winograd_eligible(case, kwargs):
            # J^T u's x part, conv2d_transpose(u, w), by Winograd: normwise error.
            t = dict(zip(names, tangents))
            with np.errstate(over="ignore", invalid="ignore"):
                scale += float(_winograd_bound(np.zeros(1), case, u, arrays["filter"])[0]
                               * np.sum(np.abs(t["x"])))
        if abs(lhs - rhs) > 64 * eps * scale:
            raise AssertionError(f"{backend} VJP: <u, Jv> = {lhs!r} but <J^T u, v> = {rhs!r}")


# ------------------------------------------------------------------ running

def worker(seeds):
    """Child process: run the cases, one line per case (flushed before it runs)."""
    crash_at = os.environ.get("NABLA_FUZZ_CRASH_AT")     # for the fuzzer's own test
    for seed in seeds:
        print(f"START {seed}", flush=True)
        if crash_at is not None and int(crash_at) == seed:
            os.abort()
        case = make_case(seed)
        try:
            result = check_case(case)
        except Exception as e:        # a failed check, or an exception no user should see
            print(f"FAIL {seed} {type(e).__name__}: {e}".replace("\n", " "), flush=True)
            continue
        print(f"DONE {seed} {result}", flush=True)


def run_batch(seeds, timeout):
    """Run seeds in a child: (results {seed: outcome}, failures [(seed, why)], last seed run)."""
    proc = None
    try:
        proc = subprocess.run([sys.executable, "-m", "tests.fuzz", "--worker",
                               ",".join(map(str, seeds))], cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout)
        out, code, hung = proc.stdout, proc.returncode, False
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        code, hung = None, True
    results, failures, running = {}, [], None
    for line in out.splitlines():
        kind, _, rest = line.partition(" ")
        seed, _, why = rest.partition(" ")
        if kind == "START":
            running = int(seed)
        elif kind == "DONE":
            results[int(seed)], running = why, None
        elif kind == "FAIL":
            failures.append((int(seed), why))
            results[int(seed)], running = "fail", None
    if running is not None:
        why = "hang (timeout)" if hung else f"crash: exit status {code}, stderr: {proc.stderr[-500:]!r}"
        failures.append((running, why))
        results[running] = "crash"
    elif code not in (0, None) and not failures:
        failures.append((seeds[0], f"child failed: exit status {code}: {proc.stderr[-500:]!r}"))
    return results, failures, (max(results) if results else seeds[0] - 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", 60)))
    parser.add_argument("--cases", type=int, default=None, help="run this many cases, not a time")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", 0)))
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--case", type=int, default=None, help="replay one seed in this process")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker([int(s) for s in args.worker.split(",")])
        return 0
    if args.case is not None:
        case = make_case(args.case)
        print(json.dumps(case))
        print(check_case(case))
        return 0
    start, seed, counts, failures = time.monotonic(), args.seed, {}, []
    total = args.cases
    while True:
        if total is not None:
            if seed >= args.seed + total:
                break
            n = min(args.batch, args.seed + total - seed)
        else:
            if time.monotonic() - start >= args.seconds:
                break
            n = args.batch
        seeds = list(range(seed, seed + n))
        results, failed, last = run_batch(seeds, timeout=max(120.0, 5.0 * n))
        for outcome in results.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        failures += failed
        seed = max(last + 1, seed + 1) if failed else seed + n
    ran = sum(counts.values())
    print(f"fuzz: {ran} cases (seeds {args.seed}..{seed - 1}) in {time.monotonic() - start:.0f} s: "
          + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    for s, why in failures:
        print(f"  FAILED seed {s}: {why}\n    case: {json.dumps(make_case(s))}\n"
              f"    replay: python -m tests.fuzz --case {s}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
