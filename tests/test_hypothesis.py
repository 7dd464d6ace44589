"""Property-based tests over shapes and geometry (Hypothesis).

For every op, over N 0-2, H/W 1-7, C 1-4, groups among the common divisors,
kernel 1-3, stride 1-3, dilation 1-2, padding 0-2 per side and valid
output_paddings:

* the forward of the Cython backend == the reference backend == the naive
  loops of tests/naive.py; and a ``ValueError`` is raised exactly when the
  output-size formula gives a size below 1;
* the adjoint identity <u, J v> = <J^T u, v> in float64 (J from nabla.jvp,
  J^T from nabla.vjp, in every differentiable argument).

Runs are derandomized (the same examples every time) and bounded
(``max_examples``), so CI is reproducible and fast.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nabla
from tests.op_db import OPS

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}

pair = st.tuples(st.integers(1, 3), st.integers(1, 3))
dil = st.tuples(st.integers(1, 2), st.integers(1, 2))
pad4 = st.tuples(*[st.integers(0, 2)] * 4)


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def _window_out(n, k, s, d, p0, p1):
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def _transpose_out(n, k, s, d, p0, p1, o):
    return (n - 1) * s - (p0 + p1) + d * (k - 1) + o + 1


@st.composite
def conv_cases(draw, transposed):
    n = draw(st.sampled_from([1, 2, 0, 1, 2]))   # N in 0-2, N = 0 one time in five
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    c_in = draw(st.integers(1, 4))
    groups = draw(st.sampled_from(_divisors(c_in)))
    c_out = groups * draw(st.integers(1, 4 // groups))   # divisible by groups, <= 4
    kh, kw = draw(pair)
    stride, dilation, padding = draw(pair), draw(dil), draw(pad4)
    bias = draw(st.booleans())
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kwargs = dict(stride=stride, dilation=dilation, padding=padding, groups=groups)
    if transposed:
        # the transpose's input has conv2d's C_out channels; its output conv2d's C_in
        x = rng.standard_normal((n, h, w, c_out)).astype(dtype)
        f = rng.standard_normal((kh, kw, c_in // groups, c_out)).astype(dtype)
        kwargs["output_paddings"] = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        out = [_transpose_out(h, kh, stride[0], dilation[0], padding[0], padding[1], kwargs["output_paddings"][0]),
               _transpose_out(w, kw, stride[1], dilation[1], padding[2], padding[3], kwargs["output_paddings"][1])]
        n_bias = c_in
    else:
        x = rng.standard_normal((n, h, w, c_in)).astype(dtype)
        f = rng.standard_normal((kh, kw, c_in // groups, c_out)).astype(dtype)
        out = [_window_out(h, kh, stride[0], dilation[0], padding[0], padding[1]),
               _window_out(w, kw, stride[1], dilation[1], padding[2], padding[3])]
        n_bias = c_out
    if bias:
        kwargs["bias"] = rng.standard_normal(n_bias).astype(dtype)
    return (x, f), kwargs, min(out) >= 1


@st.composite
def pool_cases(draw):
    n = draw(st.sampled_from([1, 2, 0, 1, 2]))   # N in 0-2, N = 0 one time in five
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    c = draw(st.integers(1, 4))
    k = draw(pair)
    stride = draw(st.one_of(st.none(), pair))
    dilation, padding = draw(dil), draw(pad4)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    s = k if stride is None else stride
    out = [_window_out(h, k[0], s[0], dilation[0], padding[0], padding[1]),
           _window_out(w, k[1], s[1], dilation[1], padding[2], padding[3])]
    return (x,), dict(kernel_size=k, stride=stride, dilation=dilation, padding=padding), min(out) >= 1


CASES = {"conv2d": conv_cases(False), "conv2d_transpose": conv_cases(True),
         "max_pool2d": pool_cases(), "avg_pool2d": pool_cases()}
op_names = pytest.mark.parametrize("name", sorted(CASES))


def _run(op, args, kwargs, backend):
    with nabla.use_backend(backend):
        return np.asarray(op.op(*args, **kwargs))


@op_names
@SETTINGS
@given(data=st.data())
def test_forward_backends_and_naive_agree(name, data):
    op = OPS[name]
    args, kwargs, valid = data.draw(CASES[name])
    dtype = args[0].dtype.type
    if not valid:
        for backend in ("cython", "reference"):
            with pytest.raises(ValueError, match=r"output (height|width) would be -?\d+ < 1"):
                _run(op, args, kwargs, backend)
        return
    want = op.naive(*args, **kwargs)
    for backend in ("cython", "reference"):
        got = _run(op, args, kwargs, backend)
        assert got.dtype == dtype and got.shape == want.shape, backend
        np.testing.assert_allclose(got, want, err_msg=backend, **TOL[dtype])


@op_names
@SETTINGS
@given(data=st.data())
def test_vjp_is_the_adjoint_of_jvp(name, data):
    op = OPS[name]
    args, kwargs, valid = data.draw(CASES[name])
    if not valid:
        return
    args = tuple(a.astype(np.float64) for a in args)
    if kwargs.get("bias") is not None:
        kwargs["bias"] = kwargs["bias"].astype(np.float64)
    names = ("x", "filter", "bias")[:len(args) + (kwargs.get("bias") is not None)]

    def f(*diff):
        values = dict(zip(names, diff))
        return op.op(*diff[:len(args)], **{k: values.get(k, v) for k, v in kwargs.items()})

    xs = list(args) + ([kwargs["bias"]] if "bias" in names else [])
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    vs = [rng.standard_normal(a.shape) for a in xs]
    backend = data.draw(st.sampled_from(["cython", "reference"]))
    with nabla.use_backend(backend):
        y, jv = nabla.jvp(f, xs, vs)
        u = rng.standard_normal(y.shape)
        _, pullback = nabla.vjp(f, *xs)
        jtu = pullback(u)
    jv, jtu = np.asarray(jv), [np.asarray(g) for g in jtu]
    assert np.isfinite(jv).all() and all(np.isfinite(g).all() for g in jtu)
    for g, a in zip(jtu, xs):
        assert g.shape == a.shape and g.dtype == np.float64
    lhs = float(np.vdot(u, jv))
    rhs = sum(float(np.vdot(g, v)) for g, v in zip(jtu, vs))
    scale = np.linalg.norm(u) * np.linalg.norm(jv) + sum(np.linalg.norm(g) * np.linalg.norm(v)
                                                         for g, v in zip(jtu, vs))
    assert abs(lhs - rhs) <= 1e-12 * scale + 1e-300, (lhs, rhs, scale)
