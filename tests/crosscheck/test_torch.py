"""Optional cross-check of the four ops against PyTorch (CPU): values, VJPs in every
differentiable argument (``torch.autograd.grad``) and JVPs (``torch.func.jvp``), on
seeded random cases over every parameter, both backends, float32 and float64.

Skipped when PyTorch is not installed.  Run it with ``make crosscheck``, which
builds a separate venv (.venv-crosscheck) with torch==2.13.0 (CPU) and nabla.

Layout correspondences (PyTorch is NCHW):

* conv2d: nabla x (N, H, W, C) = torch x.permute(0, 2, 3, 1); nabla filter HWIO
  (Kh, Kw, C_in/G, C_out) = torch weight (C_out, C_in/G, Kh, Kw).permute(2, 3, 1, 0).
* conv2d_transpose: nabla filter (Kh, Kw, C_out/G, C_in) = torch weight
  (C_in, C_out/G, Kh, Kw).permute(2, 3, 1, 0); torch weight = nabla filter permuted (3, 2, 0, 1).
* Asymmetric padding: conv2d pads with ``F.pad`` (zeros) first; conv2d_transpose runs with
  padding 0 and crops rows [pt, pt + H_out) (the transpose of padding is cropping);
  max_pool2d pads with ``F.pad(value=-inf)`` (PyTorch limits pooling padding to k/2);
  avg_pool2d uses ``F.avg_pool2d(count_include_pad=True)`` where PyTorch allows it
  (no dilation, symmetric padding <= k/2) and otherwise a depthwise conv with a
  constant 1/(kh*kw) filter over the zero-padded input -- the same thing by definition.

The largest differences seen are printed at the end of the module (run with ``-rA`` or ``-s``).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch not installed; run make crosscheck")
F = torch.nn.functional

import nabla as nb  # noqa: E402

BACKENDS = ["cython", "reference"]
DTYPES = {"f32": (np.float32, torch.float32, 1e-5), "f64": (np.float64, torch.float64, 1e-12)}
N_CASES = 30

# worst differences seen, per (op, dtype): [max abs diff, max scaled rel diff]
_WORST = {}


@pytest.fixture(scope="module", autouse=True)
def _report(request):
    yield
    tr = request.config.pluginmanager.getplugin("terminalreporter")
    lines = ["", "nabla vs PyTorch: worst differences (abs, and relative to max|torch|)"]
    for (op, dt), (a, r) in sorted(_WORST.items()):
        lines.append(f"  {op:28s} {dt}: max abs {a:.3e}   max rel {r:.3e}")
    for line in lines:
        if tr is not None:
            tr.write_line(line)
        else:  # pragma: no cover
            print(line)


def compare(what, dtname, got, want):
    """got (numpy) vs want (torch tensor), relative to the largest |want|."""
    _, _, rtol = DTYPES[dtname]
    want = want.detach().cpu().numpy()
    got = np.asarray(got)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    assert got.dtype == want.dtype, (what, got.dtype, want.dtype)
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite], err_msg=what)  # -inf outputs
    if not finite.any():
        return
    g, w = got[finite].astype(np.float64), want[finite].astype(np.float64)
    scale = max(np.abs(w).max(), np.finfo(np.float64).tiny)
    abs_err = float(np.abs(g - w).max()) if g.size else 0.0
    rel = abs_err / scale
    key = (what, dtname)
    old = _WORST.get(key, (0.0, 0.0))
    _WORST[key] = (max(old[0], abs_err), max(old[1], rel))
    assert rel <= rtol, f"{what}: max abs diff {abs_err:.3e}, relative {rel:.3e} > {rtol:.0e}"


def to_t(a, tdt, grad=False):
    return torch.tensor(np.ascontiguousarray(a), dtype=tdt, requires_grad=grad)


# ------------------------------------------------------------------- case generators
def _padding(r):
    kind = r.integers(3)
    if kind == 0:
        p = int(r.integers(0, 3))
        return p, (p, p, p, p)
    if kind == 1:
        ph, pw = (int(v) for v in r.integers(0, 3, 2))
        return (ph, pw), (ph, ph, pw, pw)
    p4 = tuple(int(v) for v in r.integers(0, 4, 4))
    return p4, p4


def _pair_or_int(r, lo, hi):
    if r.random() < 0.5:
        v = int(r.integers(lo, hi + 1))
        return v, (v, v)
    p = tuple(int(v) for v in r.integers(lo, hi + 1, 2))
    return p, p


def _win_out(n, k, s, d, p0, p1):
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def conv_cases():
    r = np.random.default_rng(20240601)
    cases = []
    while len(cases) < N_CASES:
        G = int(r.choice([1, 1, 2, 3]))
        cg, og = int(r.integers(1, 4)), int(r.integers(1, 4))
        N = 0 if r.random() < 0.05 else int(r.integers(1, 3))
        H, W = (int(v) for v in r.integers(1, 9, 2))
        kh, kw = (int(v) for v in r.integers(1, 4, 2))
        stride, s = _pair_or_int(r, 1, 3)
        dilation, d = _pair_or_int(r, 1, 3)
        padding, p = _padding(r)
        if _win_out(H, kh, s[0], d[0], p[0], p[1]) < 1 or _win_out(W, kw, s[1], d[1], p[2], p[3]) < 1:
            continue
        cases.append(dict(N=N, H=H, W=W, C_in=G * cg, C_out=G * og, G=G, k=(kh, kw), stride=stride,
                          s=s, dilation=dilation, d=d, padding=padding, p=p,
                          bias=bool(r.random() < 0.6), nchw=bool(r.random() < 0.5), seed=len(cases)))
    return cases


def transpose_cases():
    r = np.random.default_rng(20240602)
    cases = []
    while len(cases) < N_CASES:
        G = int(r.choice([1, 1, 2, 3]))
        cg, og = int(r.integers(1, 4)), int(r.integers(1, 4))
        N = 0 if r.random() < 0.05 else int(r.integers(1, 3))
        H, W = (int(v) for v in r.integers(1, 6, 2))
        kh, kw = (int(v) for v in r.integers(1, 4, 2))
        stride, s = _pair_or_int(r, 1, 3)
        dilation, d = _pair_or_int(r, 1, 3)
        padding, p = _padding(r)
        # output_paddings < stride or < dilation, per axis
        op = tuple(int(r.integers(0, max(s[i], d[i]))) for i in range(2))
        output_paddings = op if r.random() < 0.7 or op[0] != op[1] else op[0]
        ho = (H - 1) * s[0] - p[0] - p[1] + d[0] * (kh - 1) + op[0] + 1
        wo = (W - 1) * s[1] - p[2] - p[3] + d[1] * (kw - 1) + op[1] + 1
        if ho < 1 or wo < 1:
            continue
        cases.append(dict(N=N, H=H, W=W, C_in=G * cg, C_out=G * og, G=G, k=(kh, kw), stride=stride,
                          s=s, dilation=dilation, d=d, padding=padding, p=p, op=op,
                          output_paddings=output_paddings, out=(ho, wo),
                          bias=bool(r.random() < 0.6), nchw=bool(r.random() < 0.5), seed=len(cases)))
    return cases


def pool_cases(seed):
    r = np.random.default_rng(seed)
    cases = []
    while len(cases) < N_CASES:
        N = 0 if r.random() < 0.05 else int(r.integers(1, 3))
        H, W = (int(v) for v in r.integers(1, 9, 2))
        C = int(r.integers(1, 4))
        kernel_size, k = _pair_or_int(r, 1, 4)
        if r.random() < 0.25:
            stride, s = None, k
        else:
            stride, s = _pair_or_int(r, 1, 3)
        dilation, d = _pair_or_int(r, 1, 2) if r.random() < 0.5 else ((1, 1), (1, 1))
        padding, p = _padding(r)
        if _win_out(H, k[0], s[0], d[0], p[0], p[1]) < 1 or _win_out(W, k[1], s[1], d[1], p[2], p[3]) < 1:
            continue
        cases.append(dict(N=N, H=H, W=W, C=C, kernel_size=kernel_size, k=k, stride=stride, s=s,
                          dilation=dilation, d=d, padding=padding, p=p, seed=len(cases)))
    return cases


def _id(c):
    keys = ("N", "H", "W", "C_in", "C_out", "C", "G", "k", "s", "d", "p", "op", "bias", "nchw")
    return "-".join(f"{k}{c[k]}".replace(" ", "") for k in keys if k in c)


CONV = conv_cases()
TRANSPOSE = transpose_cases()
MAXPOOL = pool_cases(20240603)
AVGPOOL = pool_cases(20240604)


@pytest.fixture(params=BACKENDS)
def backend(request):
    with nb.use_backend(request.param):
        yield request.param


@pytest.fixture(params=list(DTYPES))
def dtname(request):
    return request.param


# --------------------------------------------------------------------------- helpers
def _nabla_all(f, primals, cot, tangents):
    """nabla value, VJP (one entry per primal) and JVP of f at primals."""
    out, pullback = nb.vjp(f, *primals)
    cts = pullback(nb.asarray(cot))
    out2, tan = nb.jvp(f, list(primals), list(tangents))
    np.testing.assert_array_equal(out.numpy(), out2.numpy())
    return out.numpy(), [c.numpy() for c in cts], tan.numpy()


def _torch_all(f, primals, cot, tangents):
    out = f(*primals)
    grads = torch.autograd.grad(out, primals, grad_outputs=cot, allow_unused=True)
    grads = [torch.zeros_like(p) if g is None else g for p, g in zip(primals, grads)]
    with torch.no_grad():
        _, tan = torch.func.jvp(f, tuple(p.detach() for p in primals), tuple(tangents))
    return out, grads, tan


def _randn(r, shape, ndt):
    return r.standard_normal(shape).astype(ndt)


# ------------------------------------------------------------------------------ conv2d
@pytest.mark.parametrize("case", CONV, ids=[_id(c) for c in CONV])
def test_conv2d(case, backend, dtname):
    ndt, tdt, _ = DTYPES[dtname]
    r = np.random.default_rng(case["seed"])
    c = case
    kh, kw = c["k"]
    pt, pb, pl, pr = c["p"]
    x = _randn(r, (c["N"], c["C_in"], c["H"], c["W"]), ndt)           # NCHW
    w = _randn(r, (c["C_out"], c["C_in"] // c["G"], kh, kw), ndt)      # OIHW
    b = _randn(r, (c["C_out"],), ndt)
    ho = _win_out(c["H"], kh, c["s"][0], c["d"][0], pt, pb)
    wo = _win_out(c["W"], kw, c["s"][1], c["d"][1], pl, pr)
    cot = _randn(r, (c["N"], c["C_out"], ho, wo), ndt)
    tx, tw, tb = _randn(r, x.shape, ndt), _randn(r, w.shape, ndt), _randn(r, b.shape, ndt)

    def torch_f(x, w, b):
        return F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, b if c["bias"] else None,
                        stride=c["s"], dilation=c["d"], groups=c["G"])

    tp = [to_t(x, tdt, True), to_t(w, tdt, True), to_t(b, tdt, True)]
    t_out, t_grads, t_tan = _torch_all(torch_f, tp, to_t(cot, tdt), [to_t(tx, tdt), to_t(tw, tdt), to_t(tb, tdt)])

    geo = dict(stride=c["stride"], dilation=c["dilation"], padding=c["padding"], groups=c["G"])
    if c["nchw"]:
        def f(x, w, b):
            return nb.conv2d(x, w, bias=b if c["bias"] else None, input_layout="NCHW",
                             filter_layout="OIHW", **geo)
        prim, tans, ct = (x, w, b), (tx, tw, tb), cot
        back_x, back_w, back_y = (lambda a: a), (lambda a: a), (lambda a: a)
    else:
        def f(x, w, b):
            return nb.conv2d(x, w, bias=b if c["bias"] else None, **geo)
        nhwc, hwio = (0, 2, 3, 1), (2, 3, 1, 0)
        prim = (x.transpose(nhwc), w.transpose(hwio), b)
        tans = (tx.transpose(nhwc), tw.transpose(hwio), tb)
        ct = cot.transpose(nhwc)
        back_x = back_y = lambda a: a.transpose(0, 3, 1, 2)  # noqa: E731
        back_w = lambda a: a.transpose(3, 2, 0, 1)  # noqa: E731
    out, grads, tan = _nabla_all(f, prim, ct, tans)
    compare("conv2d value", dtname, back_y(out), t_out)
    compare("conv2d vjp x", dtname, back_x(grads[0]), t_grads[0])
    compare("conv2d vjp filter", dtname, back_w(grads[1]), t_grads[1])
    compare("conv2d vjp bias", dtname, grads[2], t_grads[2])
    compare("conv2d jvp", dtname, back_y(tan), t_tan)


# -------------------------------------------------------------------- conv2d_transpose
@pytest.mark.parametrize("case", TRANSPOSE, ids=[_id(c) for c in TRANSPOSE])
def test_conv2d_transpose(case, backend, dtname):
    ndt, tdt, _ = DTYPES[dtname]
    r = np.random.default_rng(1000 + case["seed"])
    c = case
    kh, kw = c["k"]
    pt, pb, pl, pr = c["p"]
    ho, wo = c["out"]
    x = _randn(r, (c["N"], c["C_in"], c["H"], c["W"]), ndt)           # NCHW
    w = _randn(r, (c["C_in"], c["C_out"] // c["G"], kh, kw), ndt)      # IOHW (PyTorch's)
    b = _randn(r, (c["C_out"],), ndt)
    cot = _randn(r, (c["N"], c["C_out"], ho, wo), ndt)
    tx, tw, tb = _randn(r, x.shape, ndt), _randn(r, w.shape, ndt), _randn(r, b.shape, ndt)

    def torch_f(x, w, b):
        full = F.conv_transpose2d(x, w, None, stride=c["s"], dilation=c["d"], groups=c["G"],
                                  output_padding=c["op"])
        y = full[:, :, pt:pt + ho, pl:pl + wo]
        return y + b[None, :, None, None] if c["bias"] else y

    tp = [to_t(x, tdt, True), to_t(w, tdt, True), to_t(b, tdt, True)]
    t_out, t_grads, t_tan = _torch_all(torch_f, tp, to_t(cot, tdt), [to_t(tx, tdt), to_t(tw, tdt), to_t(tb, tdt)])
    assert tuple(t_out.shape[2:]) == (ho, wo)

    geo = dict(stride=c["stride"], dilation=c["dilation"], padding=c["padding"],
               output_paddings=c["output_paddings"])
    if c["G"] != 1:
        geo["groups"] = c["G"]
    if c["nchw"]:
        def f(x, w, b):
            return nb.conv2d_transpose(x, w, bias=b if c["bias"] else None, input_layout="NCHW",
                                       filter_layout="IOHW", **geo)
        prim, tans, ct = (x, w, b), (tx, tw, tb), cot
        back_x, back_w, back_y = (lambda a: a), (lambda a: a), (lambda a: a)
    else:
        def f(x, w, b):
            return nb.conv2d_transpose(x, w, bias=b if c["bias"] else None, **geo)
        nhwc, hwoi = (0, 2, 3, 1), (2, 3, 1, 0)  # torch (C_in, C_out/G, Kh, Kw) -> (Kh, Kw, C_out/G, C_in)
        prim = (x.transpose(nhwc), w.transpose(hwoi), b)
        tans = (tx.transpose(nhwc), tw.transpose(hwoi), tb)
        ct = cot.transpose(nhwc)
        back_x = back_y = lambda a: a.transpose(0, 3, 1, 2)  # noqa: E731
        back_w = lambda a: a.transpose(3, 2, 0, 1)  # noqa: E731  (the permutation (3, 2, 0, 1))
    out, grads, tan = _nabla_all(f, prim, ct, tans)
    compare("conv2d_transpose value", dtname, back_y(out), t_out)
    compare("conv2d_transpose vjp x", dtname, back_x(grads[0]), t_grads[0])
    compare("conv2d_transpose vjp filter", dtname, back_w(grads[1]), t_grads[1])
    compare("conv2d_transpose vjp bias", dtname, grads[2], t_grads[2])
    compare("conv2d_transpose jvp", dtname, back_y(tan), t_tan)


# ------------------------------------------------------------------------------ pools
def _pool_setup(case, dtname, salt):
    ndt, tdt, _ = DTYPES[dtname]
    c = case
    r = np.random.default_rng(salt + c["seed"])
    pt, pb, pl, pr = c["p"]
    ho = _win_out(c["H"], c["k"][0], c["s"][0], c["d"][0], pt, pb)
    wo = _win_out(c["W"], c["k"][1], c["s"][1], c["d"][1], pl, pr)
    x = _randn(r, (c["N"], c["C"], c["H"], c["W"]), ndt)
    cot = _randn(r, (c["N"], c["C"], ho, wo), ndt)
    tx = _randn(r, x.shape, ndt)
    return ndt, tdt, x, cot, tx


def _nabla_pool(op, c, x, cot, tx):
    def f(x):
        return op(x, kernel_size=c["kernel_size"], stride=c["stride"], padding=c["padding"],
                  dilation=c["dilation"])
    nhwc = (0, 2, 3, 1)
    out, grads, tan = _nabla_all(f, (x.transpose(nhwc),), cot.transpose(nhwc), (tx.transpose(nhwc),))
    back = lambda a: a.transpose(0, 3, 1, 2)  # noqa: E731
    return back(out), back(grads[0]), back(tan)


@pytest.mark.parametrize("case", MAXPOOL, ids=[_id(c) for c in MAXPOOL])
def test_max_pool2d(case, backend, dtname):
    c = case
    ndt, tdt, x, cot, tx = _pool_setup(c, dtname, 2000)
    pt, pb, pl, pr = c["p"]

    def torch_f(x):
        xp = F.pad(x, (pl, pr, pt, pb), value=-float("inf"))
        return F.max_pool2d(xp, c["k"], stride=c["s"], dilation=c["d"])

    t_out, t_grads, t_tan = _torch_all(torch_f, [to_t(x, tdt, True)], to_t(cot, tdt), [to_t(tx, tdt)])
    out, gx, tan = _nabla_pool(nb.max_pool2d, c, x, cot, tx)
    compare("max_pool2d value", dtname, out, t_out)
    compare("max_pool2d vjp x", dtname, gx, t_grads[0])
    compare("max_pool2d jvp", dtname, tan, t_tan)


def test_max_pool2d_native_padding_agrees(backend):
    # PyTorch's own padded max pooling (pad <= k/2) pads with -inf too: same values and gradients.
    r = np.random.default_rng(7)
    x = r.standard_normal((2, 3, 7, 6))
    cot = r.standard_normal((2, 3, 4, 3))  # H: (7 + 2 - 3)//2 + 1 = 4, W: (6 + 2 - 3)//2 + 1 = 3
    tx = to_t(x, torch.float64, True)
    t_out = F.max_pool2d(tx, 3, stride=2, padding=1)
    (t_g,) = torch.autograd.grad(t_out, tx, to_t(cot, torch.float64))
    out, gx, _ = _nabla_pool(nb.max_pool2d, dict(kernel_size=3, stride=2, padding=1, dilation=1),
                             x, cot, np.zeros_like(x))
    compare("max_pool2d value", "f64", out, t_out)
    compare("max_pool2d vjp x", "f64", gx, t_g)


def _avg_native(c):
    """Whether PyTorch's own avg_pool2d can express the case (no dilation, symmetric padding <= k/2)."""
    pt, pb, pl, pr = c["p"]
    kh, kw = c["k"]
    return c["d"] == (1, 1) and pt == pb and pl == pr and pt <= kh // 2 and pl <= kw // 2


def _torch_avg(c):
    pt, pb, pl, pr = c["p"]
    kh, kw = c["k"]
    native = _avg_native(c)

    def torch_f(x):
        if native:
            return F.avg_pool2d(x, c["k"], stride=c["s"], padding=(pt, pl), count_include_pad=True)
        C = x.shape[1]
        w = torch.full((C, 1, kh, kw), 1.0 / (kh * kw), dtype=x.dtype)
        return F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, stride=c["s"], dilation=c["d"], groups=C)
    return torch_f


@pytest.mark.parametrize("case", AVGPOOL, ids=[_id(c) for c in AVGPOOL])
def test_avg_pool2d(case, backend, dtname):
    c = case
    ndt, tdt, x, cot, tx = _pool_setup(c, dtname, 3000)
    t_out, t_grads, t_tan = _torch_all(_torch_avg(c), [to_t(x, tdt, True)], to_t(cot, tdt), [to_t(tx, tdt)])
    out, gx, tan = _nabla_pool(nb.avg_pool2d, c, x, cot, tx)
    compare("avg_pool2d value", dtname, out, t_out)
    compare("avg_pool2d vjp x", dtname, gx, t_grads[0])
    compare("avg_pool2d jvp", dtname, tan, t_tan)


def test_case_coverage():
    """The random cases cover every parameter kind (guards against a degenerate generator)."""
    assert any(c["G"] > 1 for c in CONV) and any(c["G"] > 1 for c in TRANSPOSE)
    assert any(len(c["padding"]) == 4 if isinstance(c["padding"], tuple) else False for c in CONV)
    assert any(isinstance(c["padding"], tuple) and len(c["padding"]) == 4 and c["p"][0] != c["p"][1]
               for c in TRANSPOSE)
    assert any(c["op"] != (0, 0) for c in TRANSPOSE)
    assert any(max(c["op"][i] - c["s"][i] for i in range(2)) >= 0 for c in TRANSPOSE)  # op >= stride
    assert any(c["d"] != (1, 1) for c in CONV) and any(c["d"] != (1, 1) for c in MAXPOOL)
    assert any(c["stride"] is None for c in MAXPOOL + AVGPOOL)
    assert any(c["N"] == 0 for c in CONV + TRANSPOSE + MAXPOOL + AVGPOOL)
    assert any(c["bias"] for c in CONV) and any(not c["bias"] for c in CONV)
    assert any(c["nchw"] for c in CONV) and any(not c["nchw"] for c in TRANSPOSE)
    assert any(_avg_native(c) for c in AVGPOOL) and any(not _avg_native(c) for c in AVGPOOL)
    # a max pool window wholly in padding
    assert any(c["p"][0] >= c["k"][0] * c["d"][0] or c["p"][2] >= c["k"][1] * c["d"][1] for c in MAXPOOL)


def test_tensors_from_torch_via_dlpack():
    """Tensor.from_dlpack and nabla.asarray take torch tensors without a copy,
    and torch reads nabla tensors back through DLPack."""
    t = torch.arange(12, dtype=torch.float32).reshape(1, 2, 2, 3)
    for make in (nb.Tensor.from_dlpack, nb.asarray):
        a = make(t)
        assert a.shape == (1, 2, 2, 3) and a.dtype == np.float32
        np.testing.assert_array_equal(a.numpy(), t.numpy())
        t[0, 0, 0, 0] = 100.0  # shared memory: the change shows through
        assert a.numpy()[0, 0, 0, 0] == 100.0
        t[0, 0, 0, 0] = 0.0
    back = torch.from_dlpack(nb.asarray(np.ones((2, 3))))
    assert back.dtype == torch.float64 and back.shape == (2, 3)
    y = nb.conv2d(nb.asarray(t), torch.ones(1, 1, 3, 2))
    assert y.shape == (1, 2, 2, 2)


def test_a_torch_tensor_that_requires_grad_is_told_to_detach():
    t = torch.ones(1, 4, 4, 2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(TypeError, match=r"max_pool2d: argument 'x' .*requires grad.*\.detach\(\)"):
        nb.max_pool2d(t, kernel_size=2)
    with pytest.raises(TypeError, match=r"conv2d: argument 'filter' .*requires grad.*\.detach\(\)"):
        nb.conv2d(np.ones((1, 4, 4, 2)), t.reshape(2, 2, 2, 4)[..., :1].detach().requires_grad_())
    assert nb.max_pool2d(t.detach(), kernel_size=2).shape == (1, 2, 2, 2)
