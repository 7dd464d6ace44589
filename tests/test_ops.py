"""Generic tests of the public ops, driven by the op database (tests/op_db.py).

Every test iterates op x sample (x dtype, x backend where it matters), with
ids like ``test_forward_matches_naive[cython-conv2d-float64-groups2_bias]``:

* forward: output type, shape and dtype; agreement with the naive loops of
  tests/naive.py; Cython and reference backends agree (forward and VJP);
* derivatives: ``nabla.testing.check_grads`` in float64 (JVP and VJP against
  central differences; second order on the samples marked ``order=2``); the
  dot-product identity <u, J v> = <J^T u, v> with ``nabla.jvp``/``nabla.vjp`` in
  both dtypes; ``nabla.grad`` in every differentiable argument is finite and
  shaped like it; a Hessian-vector product (jvp of grad) against finite
  differences of the gradient;
* inputs: non-contiguous, Fortran-ordered, negatively strided and read-only
  arrays give the same results as contiguous ones and are never written;
  Tensors, arrays and nested lists (read as ``nabla.asarray`` reads them) all work.

Max-pool samples hold distinct values 0.25 apart, so no window's maximum flips
under the finite-difference steps used here.
"""
import numpy as np
import pytest

import nabla
from nabla.testing import check_grads
from tests.op_db import DTYPES, OPS, samples

ALL = samples()
F64 = samples(dtypes=(np.float64,))


def _np(t):
    return np.asarray(t)


def _random(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _vdot(a, b):
    return float(np.vdot(np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()))


def _norm(a):
    return float(np.linalg.norm(np.asarray(a, np.float64).ravel()))


def _finite_part(op, sample):
    """The op as a function of its differentiable arguments; when some outputs
    are -inf (max-pool windows wholly in padding), those are replaced by 0 so
    finite differences stay meaningful (the mask comes from the unperturbed
    output, and perturbations never make a padding-only window finite)."""
    f = op.partial(sample)
    if sample.finite:
        return f
    mask = np.isfinite(_np(f(*op.diff_inputs(sample))))
    assert not mask.all(), "sample marked finite=False but all outputs are finite"
    return lambda *a: nabla.where(mask, f(*a), 0.0)


def _assert_close(actual, expected, op, dtype, what=""):
    np.testing.assert_allclose(_np(actual), _np(expected), err_msg=what, **op.tol[dtype])


# ---------------------------------------------------------------- forward
@pytest.mark.parametrize("op, sample", ALL)
def test_forward_matches_naive(backend, op, sample):
    dtype = sample.dtype
    y = op.op(*sample.args, **sample.kwargs)
    want = op.naive(*sample.args, **sample.kwargs)
    assert isinstance(y, nabla.Tensor)
    assert y.dtype == dtype
    assert y.shape == want.shape
    _assert_close(y, want, op, dtype)
    if sample.finite:
        assert np.isfinite(_np(y)).all()
    else:
        assert np.isneginf(_np(y)).any()
    if sample.args[0].shape[0] == 0:
        assert y.size == 0


@pytest.mark.parametrize("op, sample", ALL)
def test_backends_agree(op, sample, rng):
    """Cython and reference give the same forward and the same VJP."""
    f, xs = op.partial(sample), op.diff_inputs(sample)
    results = {}
    for name in ("cython", "reference"):
        with nabla.use_backend(name):
            y, pullback = nabla.vjp(f, *xs)
            if name == "cython":
                u = _random(rng, y.shape, sample.dtype)
            results[name] = (y, pullback(u))
    (y_c, g_c), (y_r, g_r) = results["cython"], results["reference"]
    assert y_c.shape == y_r.shape and y_c.dtype == y_r.dtype
    _assert_close(y_c, y_r, op, sample.dtype, "forward")
    for name, a, b in zip(op.diff_names(sample), g_c, g_r):
        assert a.shape == b.shape and a.dtype == b.dtype
        _assert_close(a, b, op, sample.dtype, f"VJP in {name}")


@pytest.mark.parametrize("op, sample", samples(ops=("conv2d_transpose",),
                                               # an empty dy has no conv2d it is the gradient of
                                               where=lambda op, s: min(s.args[0].shape[1:]) > 0))
def test_conv2d_transpose_is_the_vjp_of_conv2d(backend, op, sample, rng):
    """SEMANTICS: conv2d_transpose(dy, w) == VJP of conv2d(., w) in x, same filter array."""
    x_t, w = sample.args
    kw = {k: v for k, v in sample.kwargs.items() if k not in ("bias", "output_paddings")}
    if kw.get("filter_layout") == "IOHW":
        kw["filter_layout"] = "OIHW"   # (C_in_t, C_out_t/G, K_h, K_w) is conv2d's (C_out, C_in/G, K_h, K_w)
    dx = op.op(x_t, w, **{k: v for k, v in sample.kwargs.items() if k != "bias"})
    x = _random(rng, dx.shape, sample.dtype)
    y, pullback = nabla.vjp(lambda x: nabla.conv2d(x, w, **kw), x)
    # Where output_padding >= stride, conv2d of the transpose's output size has
    # extra output rows/columns that dy does not have: their cotangent is 0.
    h_axis, w_axis = (2, 3) if kw.get("input_layout") == "NCHW" else (1, 2)
    extra = [y.shape[h_axis] - x_t.shape[h_axis], y.shape[w_axis] - x_t.shape[w_axis]]
    assert min(extra) >= 0 and y.shape[0] == x_t.shape[0]
    pad = [(0, 0)] * 4
    pad[h_axis], pad[w_axis] = (0, extra[0]), (0, extra[1])
    (want,) = pullback(np.pad(x_t, pad))
    _assert_close(dx, want, op, sample.dtype)


# ------------------------------------------------------------ derivatives
@pytest.mark.parametrize("op, sample", F64)
def test_check_grads(backend, op, sample):
    """JVP and VJP against central differences (order 2 for the samples marked so)."""
    check_grads(_finite_part(op, sample), op.diff_inputs(sample), modes=("fwd", "rev"), order=sample.order)


@pytest.mark.parametrize("op, sample", ALL)
def test_adjoint_dot_product(backend, op, sample, rng):
    """<u, J v> == <J^T u, v>, J from nabla.jvp and J^T from nabla.vjp, in both dtypes."""
    dtype = sample.dtype
    f, xs = op.partial(sample), op.diff_inputs(sample)
    vs = [_random(rng, a.shape, dtype) for a in xs]
    y, jv = nabla.jvp(f, list(xs), vs)
    assert jv.shape == y.shape and jv.dtype == dtype
    assert np.isfinite(_np(jv)).all()
    u = _random(rng, y.shape, dtype)
    y2, pullback = nabla.vjp(f, *xs)
    np.testing.assert_array_equal(_np(y), _np(y2))
    jtu = pullback(u)
    assert len(jtu) == len(xs)
    lhs = _vdot(u, jv)
    rhs = sum(_vdot(g, v) for g, v in zip(jtu, vs))
    scale = _norm(u) * _norm(jv) + sum(_norm(g) * _norm(v) for g, v in zip(jtu, vs))
    assert abs(lhs - rhs) <= op.tol[dtype]["rtol"] * scale + 1e-300, (lhs, rhs, scale)


@pytest.mark.parametrize("op, sample", ALL)
def test_grad_finite_and_shaped(backend, op, sample, rng):
    """nabla.grad in every differentiable argument: same shape and dtype, finite
    (also where the output has -inf entries)."""
    f, xs = op.partial(sample), op.diff_inputs(sample)
    y = f(*xs)
    u = nabla.asarray(_random(rng, y.shape, sample.dtype))
    with np.errstate(invalid="ignore"):   # -inf outputs make the loss NaN; its gradient stays finite
        grads = nabla.grad(lambda *a: nabla.sum(f(*a) * u), argnums=tuple(range(len(xs))))(*xs)
    assert len(grads) == len(xs)
    for name, g, a in zip(op.diff_names(sample), grads, xs):
        assert isinstance(g, nabla.Tensor), name
        assert g.shape == a.shape and g.dtype == a.dtype, name
        assert np.isfinite(_np(g)).all(), name


@pytest.mark.parametrize("op, sample", F64)
def test_hvp_matches_fd_of_grad(backend, op, sample, rng):
    """A conv/pool inside jvp-of-grad: the Hessian-vector product of
    L = sum(op(...)**2) / 2 against central differences of nabla.grad(L)."""
    f, xs = _finite_part(op, sample), op.diff_inputs(sample)
    argnums = tuple(range(len(xs)))

    def loss(*a):
        y = f(*a)
        return nabla.sum(y * y) * 0.5

    g = nabla.grad(loss, argnums=argnums)
    vs = [_random(rng, a.shape, np.float64) for a in xs]
    _, hvp = nabla.jvp(g, list(xs), vs)
    eps = 1e-5
    plus = g(*[a + eps * v for a, v in zip(xs, vs)])
    minus = g(*[a - eps * v for a, v in zip(xs, vs)])
    for name, h, p, m in zip(op.diff_names(sample), hvp, plus, minus):
        fd = (_np(p) - _np(m)) / (2 * eps)
        assert h.shape == fd.shape, name
        np.testing.assert_allclose(_np(h), fd, rtol=1e-6, atol=1e-7 * (np.abs(fd).max(initial=0) + 1),
                                   err_msg=f"HVP in {name}")


# ------------------------------------------------------------------ inputs
def _strided(a):
    """The same values in a non-contiguous view (every other element of a
    bigger buffer whose other elements are NaN)."""
    big = np.full(a.shape + (2,), np.nan, dtype=a.dtype)
    big[..., 0] = a
    return big[..., 0]


def _sliced(a):
    """The same values as x[:, ::2] of a bigger array: sliced along axis 1, or the
    first later axis longer than 1 (axis 0 for a 1-D bias)."""
    axis = next((i for i in range(1, a.ndim) if a.shape[i] > 1), 0)
    shape = list(a.shape)
    shape[axis] *= 2
    big = np.full(shape, np.nan, dtype=a.dtype)
    index = [slice(None)] * a.ndim
    index[axis] = slice(None, None, 2)
    big[tuple(index)] = a
    return big[tuple(index)]


def _negative(a):
    """The same values through a view with negative strides."""
    flipped = np.ascontiguousarray(a[(slice(None, None, -1),) * a.ndim])
    return flipped[(slice(None, None, -1),) * a.ndim]


def _readonly(a):
    b = a.copy()
    b.setflags(write=False)
    return b


LAYOUTS = {"strided": _strided, "sliced": _sliced, "fortran": np.asfortranarray, "negative_strides": _negative,
           "readonly": _readonly}


def _forward_and_vjp(op, args, kwargs, diff_names, u):
    def f(*diff):
        values = dict(zip(diff_names, diff))
        a = [values.get(n, v) for n, v in zip(op.arg_names, args)]
        k = {n: values.get(n, v) for n, v in kwargs.items()}
        return op.op(*a, **k)
    present = dict(zip(op.arg_names, args))
    present.update(kwargs)
    y, pullback = nabla.vjp(f, *[present[n] for n in diff_names])
    return y, pullback(u)


@pytest.mark.parametrize("op, sample", ALL)
def test_noncontiguous_and_readonly_inputs(backend, op, sample, rng):
    """Views of every kind give exactly the contiguous results; no input is written."""
    names = op.diff_names(sample)
    originals = [a.copy() for a in op.diff_inputs(sample)]
    y0 = op.op(*sample.args, **sample.kwargs)
    u = _random(rng, y0.shape, sample.dtype)
    y_ref, g_ref = _forward_and_vjp(op, sample.args, sample.kwargs, names, u)
    for layout, convert in LAYOUTS.items():
        args, kwargs = op.with_args(sample, convert)
        arrays = [a for a in args] + [v for v in kwargs.values() if isinstance(v, np.ndarray)]
        before = [a.copy() for a in arrays]
        if layout in ("strided", "sliced", "negative_strides"):
            assert all(not a.flags.c_contiguous for a in arrays if a.size > 1), layout
        y, g = _forward_and_vjp(op, args, kwargs, names, u)
        np.testing.assert_array_equal(_np(y), _np(y_ref), err_msg=f"forward, {layout}")
        for name, a, b in zip(names, g, g_ref):
            np.testing.assert_array_equal(_np(a), _np(b), err_msg=f"VJP in {name}, {layout}")
        for name, a, b in zip(names, arrays, before):
            np.testing.assert_array_equal(a, b, err_msg=f"input {name} was modified ({layout})")
    for name, a, b in zip(names, op.diff_inputs(sample), originals):
        np.testing.assert_array_equal(a, b, err_msg=f"input {name} was modified")


@pytest.mark.parametrize("op, sample", ALL)
def test_tensor_and_ndarray_inputs_agree(backend, op, sample):
    y = op.op(*sample.args, **sample.kwargs)
    args, kwargs = op.with_args(sample, nabla.asarray)
    yt = op.op(*args, **kwargs)
    assert yt.dtype == y.dtype
    np.testing.assert_array_equal(_np(yt), _np(y))


def _listify(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, tuple):
        return list(v)
    return v


@pytest.mark.parametrize("op, sample", samples(dtypes=(np.float32,), where=lambda op, s: s.args[0].size > 0))
def test_nested_list_inputs(op, sample):
    """Array-likes are read as ``nabla.asarray`` reads them: nested lists of
    Python floats are float32 (as in PyTorch and JAX), and tuple parameters may
    be lists."""
    y = op.op(*sample.args, **sample.kwargs)
    args = tuple(_listify(a) for a in sample.args)
    kwargs = {k: _listify(v) for k, v in sample.kwargs.items()}
    assert isinstance(args[0], list)
    yl = op.op(*args, **kwargs)
    assert yl.dtype == np.float32
    np.testing.assert_array_equal(_np(yl), _np(y))


@pytest.mark.parametrize("op, sample", samples(dtypes=(np.float64,), where=lambda op, s: s.args[0].size > 0))
def test_nested_list_x_reads_as_float32(op, sample):
    """A nested list of floats is float32, whatever the other arguments are:
    next to a float64 filter that is a dtype mismatch (no silent promotion);
    a pool then computes in float32."""
    x = sample.args[0].tolist()
    if len(op.arg_names) > 1:
        with pytest.raises(TypeError, match=r"'filter' has dtype float64 but 'x' has dtype float32"):
            op.op(x, *sample.args[1:], **sample.kwargs)
    else:
        y = op.op(x, **sample.kwargs)
        assert y.dtype == np.float32
        want = op.op(sample.args[0].astype(np.float32), **sample.kwargs)
        np.testing.assert_array_equal(_np(y), _np(want))


def test_every_op_has_samples_in_every_dtype():
    for op in OPS.values():
        for dtype in DTYPES:
            ss = list(op.sample_inputs(dtype, np.random.default_rng(0)))
            assert 10 <= len(ss) <= 20, op.name
            assert len({s.id for s in ss}) == len(ss), f"{op.name}: duplicate sample ids"
            assert any(s.order == 2 for s in ss), f"{op.name}: no second-order sample"
            for s in ss:
                assert all(np.asarray(a).dtype == dtype for a in s.args)
                assert sum(np.asarray(a).size for a in s.args) <= 400, (op.name, s.id)
