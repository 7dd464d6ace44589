"""Optional cross-check against PyTorch (CPU) of the options beyond the four ops'
basic geometry: conv2d ``padding_mode`` and ``padding="SAME"/"VALID"``,
conv2d_transpose SAME/VALID, pooling ``ceil_mode``, ``count_include_pad=False``,
``return_indices`` and SAME padding, ``max_unpool2d``, the adaptive and global
pools, ``input_layout="NCHW"``, and the ``nabla.nn`` layers built on them.

Each case compares the value, the VJP (random cotangent, against
``torch.autograd.grad``) in every differentiable argument and the JVP (random
tangents, against ``torch.func.jvp``), on seeded random cases, on both backends,
in float64 (relative tolerance 1e-10) and float32 (1e-5); integer indices must be
equal.  Skipped when PyTorch is not installed; ``make crosscheck`` runs it.

The nabla side of every comparison takes and returns PyTorch's layouts: in NHWC
mode the test wraps the op in ``nb.permute`` (x: (0, 2, 3, 1); conv2d filter
OIHW -> HWIO: (2, 3, 1, 0); conv2d_transpose filter IOHW -> (K_h, K_w, C_out/G, C_in):
(2, 3, 1, 0)); in NCHW mode it passes ``input_layout="NCHW"`` (and the torch filter
layout) and the arrays as they are.

Where PyTorch has no equivalent option, the reference is built by hand from
PyTorch pieces, with TensorFlow's SAME rule written out here (not nabla's):
``out = ceil(n/s)``, ``total = max((out - 1)*s + d*(k - 1) + 1 - n, 0)``,
``top = total // 2``, ``bottom = total - top``.
"""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch not installed; run make crosscheck")
F = torch.nn.functional
tnn = torch.nn

import nabla as nb  # noqa: E402
from nabla import nn  # noqa: E402

BACKENDS = ["cython", "reference"]
# numpy dtype, torch dtype, tolerance on max|got - want| / max|want|
DTYPES = {"f64": (np.float64, torch.float64, 1e-10), "f32": (np.float32, torch.float32, 1e-5)}
N_CASES = 32  # random cases per family (each run on 2 backends x 2 dtypes)

TO_NHWC, TO_NCHW, OIHW_TO_HWIO = (0, 2, 3, 1), (0, 3, 1, 2), (2, 3, 1, 0)

# Every kernel exists on both backends now: a PerformanceWarning (a fallback) fails a test.
NO_FALLBACK = pytest.mark.filterwarnings("error::nabla.PerformanceWarning")
pytestmark = [  # PyTorch's own notices, not about the results
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning"),
]


@pytest.fixture(params=BACKENDS)
def backend(request):
    with nb.use_backend(request.param):
        yield request.param


@pytest.fixture(params=list(DTYPES))
def dtname(request):
    return request.param


# --------------------------------------------------------------------------- helpers
def to_t(a, tdt, grad=False):
    return torch.tensor(np.ascontiguousarray(a), dtype=tdt, requires_grad=grad)


def randn(r, shape, ndt):
    return r.standard_normal(shape).astype(ndt)


def compare(what, dtname, got, want):
    """``got`` (nabla Tensor or numpy) against ``want`` (torch tensor or numpy),
    relative to max|want| over its finite entries; non-finite entries must be equal."""
    tol = DTYPES[dtname][2]
    got = np.asarray(got.numpy() if isinstance(got, nb.Tensor) else got)
    want = np.asarray(want.detach().numpy() if isinstance(want, torch.Tensor) else want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, torch {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, torch {want.dtype}"
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite], err_msg=what)
    if not finite.any():
        return
    g, w = got[finite].astype(np.float64), want[finite].astype(np.float64)
    scale = max(float(np.abs(w).max()), np.finfo(np.float64).tiny)
    err = float(np.abs(g - w).max())
    assert err / scale <= tol, f"{what}: max abs diff {err:.3e}, relative {err / scale:.3e} > {tol:.0e}"


def same_indices(what, got, want):
    got = np.asarray(got.numpy() if isinstance(got, nb.Tensor) else got)
    want = np.asarray(want.numpy() if isinstance(want, torch.Tensor) else want)
    assert got.dtype == np.int64, f"{what}: dtype {got.dtype}"
    np.testing.assert_array_equal(got, want, err_msg=what)


def crosscheck(what, dtname, n_fn, t_fn, primals, seed):
    """Value, VJP in every primal and JVP of ``n_fn`` (nabla) against ``t_fn`` (torch),
    both functions of arrays in PyTorch's layouts (``primals``: numpy arrays)."""
    ndt, tdt, _ = DTYPES[dtname]
    r = np.random.default_rng(seed)
    primals = [np.asarray(p, ndt) for p in primals]
    tangents = [randn(r, p.shape, ndt) for p in primals]
    tp = [to_t(p, tdt, True) for p in primals]
    t_out = t_fn(*tp)
    cot = randn(r, tuple(t_out.shape), ndt)
    t_grads = torch.autograd.grad(t_out, tp, to_t(cot, tdt), allow_unused=True)
    t_grads = [torch.zeros_like(p) if g is None else g for p, g in zip(tp, t_grads)]
    _, t_tan = torch.func.jvp(t_fn, tuple(p.detach() for p in tp), tuple(to_t(t, tdt) for t in tangents))

    out, pullback = nb.vjp(n_fn, *primals)
    cts = pullback(nb.asarray(cot))
    out2, tan = nb.jvp(n_fn, primals, tangents)
    np.testing.assert_array_equal(out.numpy(), out2.numpy())
    compare(f"{what} value", dtname, out, t_out)
    for i, (g, tg) in enumerate(zip(cts, t_grads)):
        compare(f"{what} vjp arg {i}", dtname, g, tg)
    compare(f"{what} jvp", dtname, tan, t_tan)
    return out


def tf_same(n, k, s, d):
    """TensorFlow's SAME padding (top, bottom) along one axis, written out."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def string_padding(mode, hw, k, s, d):
    """(top, bottom, left, right) of padding "SAME"/"VALID" in any case."""
    if mode.upper() == "VALID":
        return (0, 0, 0, 0)
    return tf_same(hw[0], k[0], s[0], d[0]) + tf_same(hw[1], k[1], s[1], d[1])


def win_out(n, k, s, d, p0, p1):
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def torch_ceil_out(n, k, s, d, p):
    """PyTorch's pooling output size with ceil_mode=True (symmetric padding p)."""
    out = -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return out


def pair_or_int(r, lo, hi):
    if r.random() < 0.5:
        v = int(r.integers(lo, hi + 1))
        return v, (v, v)
    p = tuple(int(v) for v in r.integers(lo, hi + 1, 2))
    return p, p


def any_padding(r, hi, kind=None):
    """int, (pad_h, pad_w) or (top, bottom, left, right) (kind 0, 1, 2), each in [0, hi]."""
    kind = r.integers(3) if kind is None else kind
    if kind == 0:
        p = int(r.integers(0, hi + 1))
        return p, (p, p, p, p)
    if kind == 1:
        ph, pw = (int(v) for v in r.integers(0, hi + 1, 2))
        return (ph, pw), (ph, ph, pw, pw)
    p4 = tuple(int(v) for v in r.integers(0, hi + 1, 4))
    return p4, p4


def case_id(c):
    keys = ("mode", "N", "C", "H", "W", "G", "k", "s", "d", "padding", "out", "ceil", "cip", "idx", "os",
            "bias", "nchw")
    return "-".join(f"{k}{c[k]}" for k in keys if k in c).replace(" ", "").replace("'", "")


def ids(cases):
    return [case_id(c) for c in cases]


def in_layout(nchw, f):
    """``f`` (an op on NHWC tensors) as a function of NCHW tensors."""
    if nchw:
        return lambda x, *a, **kw: f(x, *a, input_layout="NCHW", **kw)
    return lambda x, *a, **kw: nb.permute(f(nb.permute(x, TO_NHWC), *a, **kw), TO_NCHW)


# ============================================================ conv2d padding_mode
def conv_mode_cases():
    r = np.random.default_rng(20250101)
    modes = ["reflect", "replicate", "circular"]
    cases = []
    while len(cases) < N_CASES:
        mode = modes[len(cases) % 3]
        G = int(r.choice([1, 1, 2, 3]))
        cg, og = (int(v) for v in r.integers(1, 4, 2))
        H, W = (int(v) for v in r.integers(2, 9, 2))
        k = tuple(int(v) for v in r.integers(1, 5, 2))
        stride, s = pair_or_int(r, 1, 3)
        dilation, d = pair_or_int(r, 1, 2)
        kind = (len(cases) // 3) % 4  # each mode gets each kind of padding
        if kind == 3:
            padding = str(r.choice(["SAME", "same", "VALID"]))
            p = string_padding(padding, (H, W), k, s, d)
        else:
            padding, p = any_padding(r, 3, kind)
        limit = (lambda q, n: q < n) if mode == "reflect" else (lambda q, n: q <= n)
        if not all(limit(q, n) for q, n in zip(p, (H, H, W, W))):
            continue
        if win_out(H, k[0], s[0], d[0], p[0], p[1]) < 1 or win_out(W, k[1], s[1], d[1], p[2], p[3]) < 1:
            continue
        cases.append(dict(mode=mode, N=int(r.integers(1, 3)), H=H, W=W, C_in=G * cg, C_out=G * og, G=G, k=k,
                          stride=stride, s=s, dilation=dilation, d=d, padding=padding, p=p,
                          bias=bool(r.random() < 0.6), nchw=bool(r.random() < 0.4), seed=len(cases)))
    return cases


CONV_MODE = conv_mode_cases()


def conv_primals(c, seed):
    r = np.random.default_rng(seed)
    x = r.standard_normal((c["N"], c["C_in"], c["H"], c["W"]))
    w = r.standard_normal((c["C_out"], c["C_in"] // c["G"], *c["k"]))     # OIHW
    b = r.standard_normal((c["C_out"],))
    return x, w, b


def nabla_conv(c, **extra):
    """nb.conv2d as a function of torch-layout (x, w, b)."""
    geo = dict(stride=c["stride"], dilation=c["dilation"], padding=c["padding"], groups=c["G"], **extra)

    def f(x, w, b):
        b = b if c["bias"] else None
        if c["nchw"]:
            return nb.conv2d(x, w, bias=b, input_layout="NCHW", filter_layout="OIHW", **geo)
        return nb.permute(nb.conv2d(nb.permute(x, TO_NHWC), nb.permute(w, OIHW_TO_HWIO), bias=b, **geo), TO_NCHW)
    return f


@pytest.mark.parametrize("case", CONV_MODE, ids=ids(CONV_MODE))
def test_conv2d_padding_mode(case, backend, dtname):
    c = case
    pt, pb, pl, pr = c["p"]

    def torch_f(x, w, b):
        return F.conv2d(F.pad(x, (pl, pr, pt, pb), mode=c["mode"]), w, b if c["bias"] else None,
                        stride=c["s"], dilation=c["d"], groups=c["G"])

    crosscheck(f"conv2d {c['mode']}", dtname, nabla_conv(c, padding_mode=c["mode"]), torch_f,
               conv_primals(c, 100 + c["seed"]), 200 + c["seed"])


def test_conv2d_padding_mode_matches_torch_conv2d_module():
    """The F.pad reference above is what torch.nn.Conv2d(padding_mode=...) computes."""
    r = np.random.default_rng(5)
    x = to_t(r.standard_normal((2, 4, 7, 6)), torch.float64)
    for mode in ("reflect", "replicate", "circular"):
        m = tnn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(2, 1), dilation=(1, 2), groups=2,
                       padding_mode=mode, dtype=torch.float64)
        want = F.conv2d(F.pad(x, (1, 1, 2, 2), mode=mode), m.weight, m.bias, stride=(2, 1), dilation=(1, 2),
                        groups=2)
        torch.testing.assert_close(m(x), want, rtol=0, atol=1e-12)
        got = nb.conv2d(x.numpy(), m.weight.detach().numpy(), bias=m.bias.detach().numpy(), stride=(2, 1),
                        padding=(2, 1), dilation=(1, 2), groups=2, padding_mode=mode, input_layout="NCHW",
                        filter_layout="OIHW")
        compare(f"conv2d module {mode}", "f64", got, want)


# ================================================================ conv2d SAME / VALID
def conv_string_cases():
    r = np.random.default_rng(20250102)
    cases = []
    while len(cases) < N_CASES:
        G = int(r.choice([1, 1, 2]))
        cg, og = (int(v) for v in r.integers(1, 4, 2))
        H, W = (int(v) for v in r.integers(1, 10, 2))
        k = tuple(int(v) for v in r.choice([1, 2, 3, 4], 2))
        stride, s = pair_or_int(r, 1, 3)
        if len(cases) % 4 == 0:
            stride, s = 2, (2, 2)
        dilation, d = pair_or_int(r, 1, 2) if r.random() < 0.4 else (1, (1, 1))
        padding = str(r.choice(["SAME", "same", "VALID", "valid"])) if len(cases) % 3 else "SAME"
        p = string_padding(padding, (H, W), k, s, d)
        if win_out(H, k[0], s[0], d[0], p[0], p[1]) < 1 or win_out(W, k[1], s[1], d[1], p[2], p[3]) < 1:
            continue  # VALID with a kernel larger than the input
        cases.append(dict(N=int(r.integers(1, 3)), H=H, W=W, C_in=G * cg, C_out=G * og, G=G, k=k,
                          stride=stride, s=s, dilation=dilation, d=d, padding=padding, p=p,
                          bias=bool(r.random() < 0.6), nchw=bool(r.random() < 0.4), seed=len(cases)))
    return cases


CONV_STRING = conv_string_cases()


@pytest.mark.parametrize("case", CONV_STRING, ids=ids(CONV_STRING))
def test_conv2d_same_valid(case, backend, dtname):
    c = case
    pt, pb, pl, pr = c["p"]

    def torch_f(x, w, b):
        return F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, b if c["bias"] else None,
                        stride=c["s"], dilation=c["d"], groups=c["G"])

    prim = conv_primals(c, 300 + c["seed"])
    out = crosscheck("conv2d string padding", dtname, nabla_conv(c), torch_f, prim, 400 + c["seed"])
    if c["padding"].upper() == "SAME":
        assert out.shape[2:] == (-(-c["H"] // c["s"][0]), -(-c["W"] // c["s"][1]))
        if c["s"] == (1, 1) and dtname == "f64":  # PyTorch's own 'same' (stride 1 only) agrees
            x, w, b = (to_t(a, torch.float64) for a in prim)
            compare("conv2d torch 'same'", dtname, out,
                    F.conv2d(x, w, b if c["bias"] else None, padding="same", dilation=c["d"], groups=c["G"]))


# ====================================================== conv2d_transpose SAME / VALID
def transpose_string_cases():
    r = np.random.default_rng(20250103)
    cases = []
    while len(cases) < N_CASES:
        G = int(r.choice([1, 1, 2]))
        cg, og = (int(v) for v in r.integers(1, 4, 2))
        H, W = (int(v) for v in r.integers(1, 6, 2))
        k = tuple(int(v) for v in r.choice([1, 2, 3, 4], 2))
        stride, s = pair_or_int(r, 1, 3)
        if len(cases) % 4 == 0:
            stride, s = 2, (2, 2)
        dilation, d = pair_or_int(r, 1, 2) if r.random() < 0.4 else (1, (1, 1))
        padding = str(r.choice(["SAME", "same", "VALID", "valid"])) if len(cases) % 3 else "SAME"
        span = tuple(d[i] * (k[i] - 1) + 1 for i in range(2))
        if padding.upper() == "SAME":
            out = (H * s[0], W * s[1])
        else:
            out = (H * s[0] + max(span[0] - s[0], 0), W * s[1] + max(span[1] - s[1], 0))
        cases.append(dict(N=int(r.integers(1, 3)), H=H, W=W, C_in=G * cg, C_out=G * og, G=G, k=k,
                          stride=stride, s=s, dilation=dilation, d=d, padding=padding, span=span, out=out,
                          bias=bool(r.random() < 0.6), nchw=bool(r.random() < 0.4), seed=len(cases)))
    return cases


TRANSPOSE_STRING = transpose_string_cases()


def transpose_crop(c, axis, n):
    """(before, after) for ``F.pad`` of the full transposed conv (no padding, n =
    (H - 1)*s + span rows) to the case's output along ``axis``; negative crops.
    SAME is the adjoint of a SAME conv2d of H*s rows, which pads top = total // 2
    with total = max(span - s, 0) (and reads only its first n rows when span < s);
    VALID keeps every row, then max(s - span, 0) zero rows."""
    s, span = c["s"][axis], c["span"][axis]
    top = max(span - s, 0) // 2 if c["padding"].upper() == "SAME" else 0
    return -top, c["out"][axis] - (n - top)


def torch_native_transpose(c):
    """PyTorch's conv_transpose2d (padding, output_padding) equal to the case, or None
    where its symmetric padding cannot express it (SAME with an odd total)."""
    pad, opad = [], []
    for a in range(2):
        s, span = c["s"][a], c["span"][a]
        if c["padding"].upper() == "VALID" or span < s:
            pad.append(0)
            opad.append(max(s - span, 0))
        elif (span - s) % 2:
            return None
        else:
            pad.append((span - s) // 2)
            opad.append(0)
    return tuple(pad), tuple(opad)


@pytest.mark.parametrize("case", TRANSPOSE_STRING, ids=ids(TRANSPOSE_STRING))
def test_conv2d_transpose_same_valid(case, backend, dtname):
    c = case
    native = torch_native_transpose(c)

    def torch_f(x, w, b):
        b = b if c["bias"] else None
        if native is not None:
            return F.conv_transpose2d(x, w, b, stride=c["s"], padding=native[0], output_padding=native[1],
                                      dilation=c["d"], groups=c["G"])
        full = F.conv_transpose2d(x, w, None, stride=c["s"], dilation=c["d"], groups=c["G"])
        y = F.pad(full, transpose_crop(c, 1, full.shape[3]) + transpose_crop(c, 0, full.shape[2]))
        return y if b is None else y + b[None, :, None, None]

    r = np.random.default_rng(500 + c["seed"])
    x = r.standard_normal((c["N"], c["C_in"], c["H"], c["W"]))
    w = r.standard_normal((c["C_in"], c["C_out"] // c["G"], *c["k"]))    # IOHW (PyTorch's)
    b = r.standard_normal((c["C_out"],))
    geo = dict(stride=c["stride"], dilation=c["dilation"], padding=c["padding"], groups=c["G"])

    def nabla_f(x, w, b):
        b = b if c["bias"] else None
        if c["nchw"]:
            return nb.conv2d_transpose(x, w, bias=b, input_layout="NCHW", filter_layout="IOHW", **geo)
        y = nb.conv2d_transpose(nb.permute(x, TO_NHWC), nb.permute(w, OIHW_TO_HWIO), bias=b, **geo)
        return nb.permute(y, TO_NCHW)

    out = crosscheck("conv2d_transpose string padding", dtname, nabla_f, torch_f, (x, w, b), 600 + c["seed"])
    assert out.shape[2:] == c["out"]
    if c["padding"].upper() == "SAME" and dtname == "f64" and not c["bias"]:
        # By definition: the adjoint in x of a SAME conv2d of an (H*s, W*s) input.
        z = torch.zeros((c["N"], c["C_out"], *c["out"]), dtype=torch.float64, requires_grad=True)
        p = string_padding("SAME", c["out"], c["k"], c["s"], c["d"])
        y = F.conv2d(F.pad(z, (p[2], p[3], p[0], p[1])), to_t(w, torch.float64), stride=c["s"], dilation=c["d"],
                     groups=c["G"])
        assert tuple(y.shape[2:]) == (c["H"], c["W"])
        (adj,) = torch.autograd.grad(y, z, to_t(x, torch.float64))
        compare("conv2d_transpose SAME = adjoint of conv2d SAME", dtname, out, adj)


# ======================================================= max_pool2d: ceil_mode, indices
def pool_cases(seed, max_pool):
    """Symmetric padding <= k // 2 (PyTorch's limit), so PyTorch's own pooling with
    ceil_mode / count_include_pad is the reference."""
    r = np.random.default_rng(seed)
    cases = []
    while len(cases) < N_CASES:
        H, W = (int(v) for v in r.integers(1, 10, 2))
        kernel_size, k = pair_or_int(r, 1, 4)
        stride, s = (None, k) if r.random() < 0.2 else pair_or_int(r, 1, 3)
        dilation, d = pair_or_int(r, 1, 2) if max_pool and r.random() < 0.5 else (1, (1, 1))
        ph, pw = int(r.integers(0, k[0] // 2 + 1)), int(r.integers(0, k[1] // 2 + 1))
        padding = ph if ph == pw and r.random() < 0.5 else (ph, pw)
        ceil = bool(len(cases) % 4 != 3)
        if ceil:
            out = (torch_ceil_out(H, k[0], s[0], d[0], ph), torch_ceil_out(W, k[1], s[1], d[1], pw))
        else:
            out = (win_out(H, k[0], s[0], d[0], ph, ph), win_out(W, k[1], s[1], d[1], pw, pw))
        if min(out) < 1:
            continue
        # ceil_mode with a (dilated) kernel longer than the padded input (by less than the
        # stride): PyTorch pools one partial window, and so does nabla (ceil_mode_extra)
        big = win_out(H, k[0], s[0], d[0], ph, ph) < 1 or win_out(W, k[1], s[1], d[1], pw, pw) < 1
        c = dict(N=int(r.integers(1, 3)), C=int(r.integers(1, 4)), H=H, W=W, kernel_size=kernel_size, k=k,
                 stride=stride, s=s, dilation=dilation, d=d, padding=padding, p=(ph, pw), out=out, ceil=ceil,
                 nchw=bool(r.random() < 0.4), big=big, seed=len(cases))
        if max_pool:
            c["idx"] = bool(r.random() < 0.6)
        else:
            c["cip"] = bool(len(cases) % 3 == 0)  # count_include_pad: mostly False
        cases.append(c)
    return cases


MAXPOOL = pool_cases(20250104, max_pool=True)
AVGPOOL = pool_cases(20250105, max_pool=False)

def pool_params(cases):
    return [pytest.param(c, id=case_id(c)) for c in cases]


def image(c, seed):
    return np.random.default_rng(seed).standard_normal((c["N"], c["C"], c["H"], c["W"]))


@pytest.mark.parametrize("case", pool_params(MAXPOOL))
def test_max_pool2d_ceil_mode_indices(case, backend, dtname):
    c = case
    kw = dict(kernel_size=c["kernel_size"], stride=c["stride"], padding=c["padding"], dilation=c["dilation"],
              ceil_mode=c["ceil"])
    tkw = dict(kernel_size=c["k"], stride=c["s"], padding=c["p"], dilation=c["d"], ceil_mode=c["ceil"])
    op = in_layout(c["nchw"], nb.max_pool2d)
    x = image(c, 700 + c["seed"])
    out = crosscheck("max_pool2d ceil_mode", dtname, lambda x: op(x, **kw),
                     lambda x: F.max_pool2d(x, **tkw), (x,), 800 + c["seed"])
    assert out.shape[2:] == c["out"]
    if c["idx"]:
        ndt, tdt, _ = DTYPES[dtname]
        xn = x.astype(ndt)
        y, idx = nb.max_pool2d(xn if c["nchw"] else xn.transpose(TO_NHWC), return_indices=True,
                               input_layout="NCHW" if c["nchw"] else None, **kw)
        ty, tidx = F.max_pool2d(to_t(xn, tdt), return_indices=True, **tkw)
        if not c["nchw"]:
            y, idx = y.numpy().transpose(TO_NCHW), idx.numpy().transpose(TO_NCHW)
        compare("max_pool2d return_indices value", dtname, y, ty)
        same_indices("max_pool2d indices", idx, tidx)


@pytest.mark.parametrize("case", pool_params(AVGPOOL))
def test_avg_pool2d_ceil_mode_count_include_pad(case, backend, dtname):
    c = case
    kw = dict(kernel_size=c["kernel_size"], stride=c["stride"], padding=c["padding"], ceil_mode=c["ceil"],
              count_include_pad=c["cip"])
    op = in_layout(c["nchw"], nb.avg_pool2d)
    out = crosscheck("avg_pool2d ceil_mode/count_include_pad", dtname, lambda x: op(x, **kw),
                     lambda x: F.avg_pool2d(x, c["k"], stride=c["s"], padding=c["p"], ceil_mode=c["ceil"],
                                            count_include_pad=c["cip"]),
                     (image(c, 900 + c["seed"]),), 1000 + c["seed"])
    assert out.shape[2:] == c["out"]


# ====================================================================== pools: SAME
def pool_string_cases():
    r = np.random.default_rng(20250106)
    cases = []
    while len(cases) < N_CASES:
        H, W = (int(v) for v in r.integers(1, 10, 2))
        kernel_size, k = pair_or_int(r, 1, 4)
        stride, s = (None, k) if r.random() < 0.2 else pair_or_int(r, 1, 3)
        is_max = bool(len(cases) % 2 == 0)
        dilation, d = pair_or_int(r, 1, 3) if is_max and r.random() < 0.5 else (1, (1, 1))
        padding = str(r.choice(["SAME", "same", "VALID"])) if len(cases) % 4 > 1 else "SAME"
        p = string_padding(padding, (H, W), k, s, d)
        if win_out(H, k[0], s[0], d[0], p[0], p[1]) < 1 or win_out(W, k[1], s[1], d[1], p[2], p[3]) < 1:
            continue
        c = dict(mode="max" if is_max else "avg", N=int(r.integers(1, 3)), C=int(r.integers(1, 4)), H=H, W=W,
                 kernel_size=kernel_size, k=k, stride=stride, s=s, dilation=dilation, d=d, padding=padding,
                 p=p, nchw=bool(r.random() < 0.4), seed=len(cases))
        if not is_max:
            c["cip"] = bool(r.random() < 0.5)
        cases.append(c)
    return cases


def window_all_padding(n, k, s, d, top, out):
    """Whether some window along an axis has no cell inside [0, n)."""
    return any(all(not 0 <= i * s + a * d - top < n for a in range(k)) for i in range(out))


POOL_STRING = pool_string_cases() + [  # windows wholly in the SAME padding: -inf, index -1
    dict(mode="max", N=1, C=2, H=1, W=2, kernel_size=2, k=(2, 2), stride=1, s=(1, 1), dilation=3, d=(3, 3),
         padding="SAME", p=string_padding("SAME", (1, 2), (2, 2), (1, 1), (3, 3)), nchw=nchw, seed=90 + nchw)
    for nchw in (False, True)]


def torch_pool_same(c):
    """The reference for a SAME/VALID pool: F.pad by the TF rule, then an unpadded pool."""
    pt, pb, pl, pr = c["p"]
    pad = (pl, pr, pt, pb)
    if c["mode"] == "max":
        return lambda x: F.max_pool2d(F.pad(x, pad, value=-math.inf), c["k"], stride=c["s"], dilation=c["d"])
    if c["cip"]:  # padded zeros count in the divisor k_h * k_w
        return lambda x: F.avg_pool2d(F.pad(x, pad), c["k"], stride=c["s"])

    def avg_inside(x):  # divide by the number of the window's cells inside the input
        area = c["k"][0] * c["k"][1]
        count = F.avg_pool2d(F.pad(torch.ones_like(x[:1, :1]), pad), c["k"], stride=c["s"]) * area
        return F.avg_pool2d(F.pad(x, pad), c["k"], stride=c["s"]) * area / count
    return avg_inside


@pytest.mark.parametrize("case", POOL_STRING, ids=ids(POOL_STRING))
def test_pool_same_valid(case, backend, dtname):
    c = case
    kw = dict(kernel_size=c["kernel_size"], stride=c["stride"], padding=c["padding"])
    if c["mode"] == "max":
        kw["dilation"] = c["dilation"]
        op = nb.max_pool2d
    else:
        kw["count_include_pad"] = c["cip"]
        op = nb.avg_pool2d
    f = in_layout(c["nchw"], op)
    x = image(c, 1100 + c["seed"])
    out = crosscheck(f"{c['mode']}_pool2d string padding", dtname, lambda x: f(x, **kw), torch_pool_same(c),
                     (x,), 1200 + c["seed"])
    if c["padding"].upper() == "SAME":
        assert out.shape[2:] == (-(-c["H"] // c["s"][0]), -(-c["W"] // c["s"][1]))
    if c["mode"] == "max":  # indices: torch's are in the padded plane; -1 for a window all padding
        ndt, tdt, _ = DTYPES[dtname]
        pt, pb, pl, pr = c["p"]
        ty, tidx = F.max_pool2d(F.pad(to_t(x, tdt), (pl, pr, pt, pb), value=-math.inf), c["k"], stride=c["s"],
                                dilation=c["d"], return_indices=True)
        wp = c["W"] + pl + pr
        want = (tidx // wp - pt) * c["W"] + (tidx % wp - pl)
        want[torch.isinf(ty)] = -1
        _, idx = nb.max_pool2d(x.astype(ndt), return_indices=True, input_layout="NCHW", **kw)
        same_indices("max_pool2d SAME indices", idx, want)


# ====================================================================== max_unpool2d
def unpool_cases():
    """Pool an (H, W) input with PyTorch (padding <= k // 2), then unpool: with
    ``output_size=(H, W)`` for a random (H, W), or without, for an (H, W) that is
    the default output size ((H_in - 1)*s - 2p + k), as the flat indices read alike
    only in a plane of the pooled input's width."""
    r = np.random.default_rng(20250107)
    cases = []
    while len(cases) < N_CASES:
        kernel_size, k = pair_or_int(r, 1, 3)
        stride, s = (None, k) if r.random() < 0.3 else pair_or_int(r, 1, 3)
        ph, pw = int(r.integers(0, k[0] // 2 + 1)), int(r.integers(0, k[1] // 2 + 1))
        os = bool(len(cases) % 2)
        if os:
            H, W = (int(v) for v in r.integers(2, 10, 2))
            hi, wi = win_out(H, k[0], s[0], 1, ph, ph), win_out(W, k[1], s[1], 1, pw, pw)
            if min(hi, wi) < 1:
                continue
            default = ((hi - 1) * s[0] - 2 * ph + k[0], (wi - 1) * s[1] - 2 * pw + k[1])
            if not all(dft - st < n < dft + st for dft, st, n in zip(default, s, (H, W))):
                continue  # PyTorch accepts output_size within a stride of the default only
        else:
            hi, wi = (int(v) for v in r.integers(1, 5, 2))
            H, W = (hi - 1) * s[0] - 2 * ph + k[0], (wi - 1) * s[1] - 2 * pw + k[1]
            if min(H, W) < 1:
                continue
        c = dict(N=int(r.integers(1, 3)), C=int(r.integers(1, 4)), H=H, W=W, kernel_size=kernel_size, k=k,
                 stride=stride, s=s, padding=(ph, pw), os=os, nchw=bool(r.random() < 0.4), seed=len(cases))
        _, idx = F.max_pool2d(torch.tensor(image(c, 1300 + c["seed"])), k, stride=s, padding=(ph, pw),
                              return_indices=True)
        if any(len(set(row.tolist())) != len(row) for row in idx.reshape(c["N"] * c["C"], -1)):
            continue  # a repeated index (overlapping windows): PyTorch keeps an unspecified one, nabla sums
        cases.append(c)
    return cases


UNPOOL = unpool_cases()


@pytest.mark.parametrize("case", UNPOOL, ids=ids(UNPOOL))
def test_max_unpool2d(case, backend, dtname):
    c = case
    ndt, tdt, _ = DTYPES[dtname]
    x = image(c, 1300 + c["seed"]).astype(ndt)
    pooled, tidx = F.max_pool2d(to_t(x, tdt), c["k"], stride=c["s"], padding=c["padding"], return_indices=True)
    assert all(len(set(row.tolist())) == len(row) for row in tidx.reshape(c["N"] * c["C"], -1))
    # nabla's indices are torch's (checked in test_max_pool2d_ceil_mode_indices); use nabla's here
    _, idx = nb.max_pool2d(x, kernel_size=c["kernel_size"], stride=c["stride"], padding=c["padding"],
                           return_indices=True, input_layout="NCHW")
    same_indices("max_pool2d indices", idx, tidx)
    idx = idx.numpy()
    out_size = (c["H"], c["W"]) if c["os"] else None
    kw = dict(kernel_size=c["kernel_size"], stride=c["stride"], padding=c["padding"], output_size=out_size)
    if c["nchw"]:
        def nabla_f(y):
            return nb.max_unpool2d(y, idx, input_layout="NCHW", **kw)
    else:
        def nabla_f(y):
            return nb.permute(nb.max_unpool2d(nb.permute(y, TO_NHWC), idx.transpose(TO_NHWC), **kw), TO_NCHW)

    def torch_f(y):
        return F.max_unpool2d(y, tidx, c["k"], stride=c["s"], padding=c["padding"], output_size=out_size)

    out = crosscheck("max_unpool2d", dtname, nabla_f, torch_f, (pooled.detach().numpy(),), 1400 + c["seed"])
    assert out.shape[2:] == (c["H"], c["W"])


def test_max_unpool2d_full_output_size():
    """output_size as a full 4-d shape (NCHW and NHWC), as PyTorch accepts it."""
    r = np.random.default_rng(11)
    x = r.standard_normal((2, 3, 7, 5))
    tx = torch.tensor(x)
    y, idx = F.max_pool2d(tx, 2, return_indices=True)
    want = F.max_unpool2d(y, idx, 2, output_size=tx.shape)
    got = nb.max_unpool2d(y.numpy(), idx.numpy(), kernel_size=2, output_size=tuple(tx.shape), input_layout="NCHW")
    compare("max_unpool2d NCHW output_size", "f64", got, want)
    got = nb.max_unpool2d(y.numpy().transpose(TO_NHWC), idx.numpy().transpose(TO_NHWC), kernel_size=2,
                          output_size=(2, 7, 5, 3))
    compare("max_unpool2d NHWC output_size", "f64", got.numpy().transpose(TO_NCHW), want)


# =================================================================== adaptive pools
ADAPTIVE = [  # (H, W, output_size)
    (7, 7, 3), (5, 5, 7), (8, 8, 4), (9, 9, (2, 5)), (6, 5, 1), (7, 6, (None, 4)), (5, 9, (3, None)),
    (4, 6, (4, 6)), (3, 10, (2, 3)),
]


def _adaptive_case(i, h, w, size):
    return dict(N=2, C=3, H=h, W=w, out=size, nchw=bool(i % 2), seed=i)


ADAPTIVE_CASES = [_adaptive_case(i, *a) for i, a in enumerate(ADAPTIVE)]


@NO_FALLBACK
@pytest.mark.parametrize("case", ADAPTIVE_CASES, ids=ids(ADAPTIVE_CASES))
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pool2d(case, kind, backend, dtname):
    c = case
    ndt, tdt, _ = DTYPES[dtname]
    op = in_layout(c["nchw"], nb.adaptive_avg_pool2d if kind == "avg" else nb.adaptive_max_pool2d)
    t_op = F.adaptive_avg_pool2d if kind == "avg" else F.adaptive_max_pool2d
    x = image(c, 1500 + c["seed"])
    crosscheck(f"adaptive_{kind}_pool2d", dtname, lambda x: op(x, c["out"]), lambda x: t_op(x, c["out"]),
               (x,), 1600 + c["seed"])
    if kind == "max":
        xn = x.astype(ndt)
        _, idx = nb.adaptive_max_pool2d(xn if c["nchw"] else xn.transpose(TO_NHWC), c["out"], return_indices=True,
                                        input_layout="NCHW" if c["nchw"] else None)
        _, tidx = F.adaptive_max_pool2d(to_t(xn, tdt), c["out"], return_indices=True)
        same_indices("adaptive_max_pool2d indices", idx if c["nchw"] else idx.numpy().transpose(TO_NCHW), tidx)


@NO_FALLBACK
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("nchw", [False, True])
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_global_pool2d(kind, nchw, keepdims, backend, dtname):
    c = dict(N=2, C=3, H=5, W=6)
    op = nb.global_avg_pool2d if kind == "avg" else nb.global_max_pool2d

    def nabla_f(x):
        if nchw:
            y = op(x, keepdims, input_layout="NCHW")
        else:
            y = op(nb.permute(x, TO_NHWC), keepdims)
            y = nb.permute(y, TO_NCHW) if keepdims else y
        return y

    def torch_f(x):
        return x.mean(dim=(2, 3), keepdim=keepdims) if kind == "avg" else x.amax(dim=(2, 3), keepdim=keepdims)

    crosscheck(f"global_{kind}_pool2d", dtname, nabla_f, torch_f, (image(c, 1700),), 1800)


# ============================================================================ nn layers
def run_layer(tmod, nmod, x, dtname, seed, n_outputs=1):
    """``tmod`` and ``nmod`` on ``x`` (NCHW numpy): output (and indices), gradients of
    sum(y * u) in the input and every parameter, and the JVP in the input."""
    ndt, tdt, _ = DTYPES[dtname]
    r = np.random.default_rng(seed)
    x = x.astype(ndt)
    xt = to_t(x, tdt, True)

    def t_first(x):
        y = tmod(x)
        return y[0] if n_outputs > 1 else y

    yt = t_first(xt)
    u = randn(r, tuple(yt.shape), ndt)
    tmod.zero_grad()
    (yt * to_t(u, tdt)).sum().backward()
    tx = randn(r, x.shape, ndt)
    _, t_tan = torch.func.jvp(t_first, (xt.detach(),), (to_t(tx, tdt),))

    def n_first(model, x):
        y = model(nb.permute(x, TO_NHWC))
        return nb.permute(y[0] if n_outputs > 1 else y, TO_NCHW)

    def loss(model, x):
        y = n_first(model, x)
        return nb.reduce_sum(y * u), y

    (_, y), (gmod, gx) = nb.value_and_grad(loss, argnums=(0, 1), has_aux=True)(nmod, nb.asarray(x))
    compare("layer output", dtname, y, yt)
    compare("layer grad input", dtname, gx, xt.grad)
    got = dict(gmod.named_parameters())
    want = {k: p.grad.numpy() for k, p in tmod.named_parameters()}
    assert sorted(got) == sorted(want)
    for k in want:
        w = want[k].transpose(OIHW_TO_HWIO) if k == "weight" else want[k]
        compare(f"layer grad {k}", dtname, got[k], w)
    _, tan = nb.jvp(lambda x: n_first(nmod, x), [x], [tx])
    compare("layer jvp", dtname, tan, t_tan)
    if n_outputs > 1:
        _, idx = nmod(x.transpose(TO_NHWC))
        same_indices("layer indices", idx.numpy().transpose(TO_NCHW), tmod(xt)[1])


CONV_LAYERS = [  # (in, out, kernel_size, keyword arguments shared by both libraries)
    (3, 4, 3, dict(padding="same", padding_mode="reflect")),
    (2, 4, (4, 2), dict(padding="same", padding_mode="replicate", dilation=(1, 2))),
    (4, 6, 3, dict(padding="same", padding_mode="circular", groups=2, bias=False)),
    (3, 5, 3, dict(stride=2, padding=(1, 2), padding_mode="reflect")),
    (4, 4, (2, 3), dict(stride=(1, 2), padding=2, dilation=2, padding_mode="circular", groups=4)),
    (3, 2, 4, dict(padding="valid", padding_mode="reflect", stride=2)),
]


@pytest.mark.parametrize("cin, cout, k, kw", CONV_LAYERS,
                         ids=[f"{a}-{b}-{k}-{kw}".replace(" ", "").replace("'", "") for a, b, k, kw in CONV_LAYERS])
def test_conv2d_layer_options(cin, cout, k, kw, backend, dtname):
    ndt, tdt, _ = DTYPES[dtname]
    torch.manual_seed(cin * 100 + cout)
    tmod = tnn.Conv2d(cin, cout, k, **kw, dtype=tdt)
    nmod = nn.Conv2d(cin, cout, k, **kw, dtype=ndt)
    state = {"weight": tmod.weight.detach().numpy().transpose(OIHW_TO_HWIO)}
    if tmod.bias is not None:
        state["bias"] = tmod.bias.detach().numpy()
    nmod.load_state_dict(state)
    x = np.random.default_rng(cin).standard_normal((2, cin, 9, 8))
    run_layer(tmod, nmod, x, dtname, seed=cout)


POOL_LAYERS = [  # (name, torch layer, nabla layer, outputs)
    ("max-ceil", tnn.MaxPool2d(3, 2, 1, ceil_mode=True), nn.MaxPool2d(3, 2, 1, ceil_mode=True), 1),
    ("max-ceil-dil-idx", tnn.MaxPool2d((2, 3), stride=(2, 1), padding=(1, 0), dilation=(1, 2), ceil_mode=True,
                                       return_indices=True),
     nn.MaxPool2d((2, 3), stride=(2, 1), padding=(1, 0), dilation=(1, 2), ceil_mode=True, return_indices=True), 2),
    ("max-idx", tnn.MaxPool2d(2, return_indices=True), nn.MaxPool2d(2, return_indices=True), 2),
    ("avg-nocount", tnn.AvgPool2d(3, 2, 1, count_include_pad=False), nn.AvgPool2d(3, 2, 1, count_include_pad=False),
     1),
    ("avg-ceil-nocount", tnn.AvgPool2d((3, 2), (2, 3), (1, 1), ceil_mode=True, count_include_pad=False),
     nn.AvgPool2d((3, 2), (2, 3), (1, 1), ceil_mode=True, count_include_pad=False), 1),
    ("avg-ceil", tnn.AvgPool2d(2, ceil_mode=True), nn.AvgPool2d(2, ceil_mode=True), 1),
    ("aavg-3", tnn.AdaptiveAvgPool2d(3), nn.AdaptiveAvgPool2d(3), 1),
    ("aavg-None4", tnn.AdaptiveAvgPool2d((None, 4)), nn.AdaptiveAvgPool2d((None, 4)), 1),
    ("amax-25-idx", tnn.AdaptiveMaxPool2d((2, 5), return_indices=True),
     nn.AdaptiveMaxPool2d((2, 5), return_indices=True), 2),
    ("amax-4", tnn.AdaptiveMaxPool2d(4), nn.AdaptiveMaxPool2d(4), 1),
]


@NO_FALLBACK
@pytest.mark.parametrize("name, tmod, nmod, n_outputs", POOL_LAYERS, ids=[p[0] for p in POOL_LAYERS])
def test_pool_layer_options(name, tmod, nmod, n_outputs, backend, dtname):
    x = np.random.default_rng(len(name)).standard_normal((2, 3, 9, 8))
    run_layer(tmod, nmod, x, dtname, seed=len(name) + 1, n_outputs=n_outputs)


@pytest.mark.parametrize("output_size", [None, (9, 8)], ids=["default", "output_size"])
def test_max_unpool2d_layer(output_size, backend, dtname):
    """MaxPool2d(return_indices) then MaxUnpool2d, both libraries' layers.  Kernel 3,
    stride 3, padding 1 pool 7 or 9 rows to 3; the default unpooled size is
    (3 - 1)*3 - 2 + 3 = 7, so the default case pools a 7x7 input."""
    ndt, tdt, _ = DTYPES[dtname]
    shape = (2, 3, 7, 7) if output_size is None else (2, 3, *output_size)
    x = np.random.default_rng(3).standard_normal(shape).astype(ndt)
    tpool, tunpool = tnn.MaxPool2d(3, stride=3, padding=1, return_indices=True), tnn.MaxUnpool2d(3, 3, 1)
    npool, nunpool = nn.MaxPool2d(3, stride=3, padding=1, return_indices=True), nn.MaxUnpool2d(3, 3, 1)
    ty, tidx = tpool(to_t(x, tdt))
    _, idx = npool(x.transpose(TO_NHWC))
    same_indices("MaxPool2d indices", idx.numpy().transpose(TO_NCHW), tidx)
    idx = idx.numpy()

    def nabla_f(y):
        return nb.permute(nunpool(nb.permute(y, TO_NHWC), idx, output_size=output_size), TO_NCHW)

    def torch_f(y):
        return tunpool(y, tidx, output_size=output_size)

    out = crosscheck("MaxUnpool2d", dtname, nabla_f, torch_f, (ty.detach().numpy(),), 19)
    assert out.shape == x.shape


# ============================================================================ coverage
def test_case_coverage():
    """The random cases reach every option they are meant to (guards the generators)."""
    for mode in ("reflect", "replicate", "circular"):
        mc = [c for c in CONV_MODE if c["mode"] == mode]
        assert any(c["G"] > 1 for c in mc) and any(c["d"] != (1, 1) for c in mc)
        assert any(isinstance(c["padding"], tuple) and len(c["padding"]) == 4 for c in mc)
        assert any(isinstance(c["padding"], str) and max(c["p"]) > 0 for c in mc)
        assert any(max(c["s"]) > 1 for c in mc)
    # reflect at its limit (padding = size - 1), circular at its (padding = size)
    assert any(c["mode"] == "reflect" and (max(c["p"][:2]) == c["H"] - 1 or max(c["p"][2:]) == c["W"] - 1)
               for c in CONV_MODE)
    assert any(c["mode"] == "circular" and (max(c["p"][:2]) == c["H"] or max(c["p"][2:]) == c["W"])
               for c in CONV_MODE)
    # conv2d SAME: even kernels, stride 2, an odd total (extra cell bottom/right), dilation
    same = [c for c in CONV_STRING if c["padding"].upper() == "SAME"]
    assert any(c["s"] == (2, 2) and 2 in c["k"] for c in same)
    assert any(c["p"][0] != c["p"][1] or c["p"][2] != c["p"][3] for c in same)
    assert any(c["d"] != (1, 1) for c in same) and any(c["s"] == (1, 1) for c in same)
    assert any(c["padding"].upper() == "VALID" for c in CONV_STRING)
    # conv2d_transpose: torch's native padding/output_padding and the crop both used; span < s
    assert any(torch_native_transpose(c) is None for c in TRANSPOSE_STRING)
    assert any(torch_native_transpose(c) is not None and c["padding"].upper() == "SAME" for c in TRANSPOSE_STRING)
    assert any(c["padding"].upper() == "VALID" for c in TRANSPOSE_STRING)
    assert any(c["span"][0] < c["s"][0] for c in TRANSPOSE_STRING)
    # pools: a partial last window from ceil_mode, dilation, count_include_pad both ways
    assert any(c["ceil"] and c["out"][0] > win_out(c["H"], c["k"][0], c["s"][0], c["d"][0], c["p"][0], c["p"][0])
               for c in MAXPOOL)
    assert any(c["ceil"] and c["out"][1] > win_out(c["W"], c["k"][1], c["s"][1], 1, c["p"][1], c["p"][1])
               and not c["cip"] for c in AVGPOOL)
    assert any(c["d"] != (1, 1) and c["ceil"] for c in MAXPOOL) and any(c["idx"] for c in MAXPOOL)
    assert any(c["big"] for c in MAXPOOL) and any(c["big"] for c in AVGPOOL)  # partial-window cases
    assert any(c["cip"] for c in AVGPOOL) and any(max(c["p"]) > 0 and not c["cip"] for c in AVGPOOL)
    assert any(c["mode"] == "max" and c["d"] != (1, 1) and c["padding"].upper() == "SAME" for c in POOL_STRING)
    assert any(c["mode"] == "max" and window_all_padding(c["W"], c["k"][1], c["s"][1], c["d"][1], c["p"][2],
                                                         -(-c["W"] // c["s"][1])) for c in POOL_STRING)
    assert any(c["mode"] == "avg" and c["padding"].upper() == "SAME" and max(c["p"]) > 0 and c["cip"]
               for c in POOL_STRING)
    assert any(c["mode"] == "avg" and c["padding"].upper() == "SAME" and max(c["p"]) > 0 and not c["cip"]
               for c in POOL_STRING)
    # unpooling: with and without output_size, overlapping windows (stride < kernel), padding
    assert any(c["os"] for c in UNPOOL) and any(not c["os"] for c in UNPOOL)
    assert any(c["s"][0] < c["k"][0] or c["s"][1] < c["k"][1] for c in UNPOOL)
    assert any(max(c["padding"]) > 0 for c in UNPOOL)
    for cases in (CONV_MODE, CONV_STRING, TRANSPOSE_STRING, MAXPOOL, AVGPOOL, POOL_STRING, UNPOOL):
        assert any(c["nchw"] for c in cases) and any(not c["nchw"] for c in cases)
