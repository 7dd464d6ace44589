"""Kernel-level tests of the Cython backend (nabla._kernels).

Each kernel is compared with a naive nested-loop version written below straight
from the formulas in nabla/_backend.py, on tiny random inputs, for float32 and
float64.  The naive versions compute in float64; the tolerance depends on the
dtype of the kernel under test.  Every input is made read-only, which checks
both that ``const`` memoryviews accept it and that no kernel writes into it.
"""
import itertools

import numpy as np
import pytest

import nabla._kernels as K
import nabla.reference as R

# In a NABLA_DEBUG_BUILD=1 build an out-of-bounds access inside a noexcept
# kernel is reported as an "unraisable" IndexError; make that fail the test.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")

DTYPES = [np.float32, np.float64]
TOL = {np.float32: 1e-5, np.float64: 1e-12}   # relative and absolute


def ro(a, dtype=None):
    """A read-only C-contiguous copy of a (in dtype if given)."""
    a = np.array(a, dtype=dtype, order="C", copy=True)
    a.setflags(write=False)
    return a


def out_size(size, k, s, p0, p1, d):
    return (size + p0 + p1 - d * (k - 1) - 1) // s + 1


def assert_close(actual, expected, dtype):
    assert actual.dtype == dtype and actual.flags.c_contiguous
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=TOL[dtype], atol=TOL[dtype])


# ------------------------------------------------------------ naive kernels

def naive_conv2d(x, w, out_hw, stride, padding, dilation, groups):
    N, H, W, C_in = x.shape
    Kh, Kw, Cg, C_out = w.shape
    (Ho, Wo), (sh, sw), (pt, _, pl, _), (dh, dw) = out_hw, stride, padding, dilation
    Og = C_out // groups
    y = np.zeros((N, Ho, Wo, C_out))
    for n, i, j, o, a, b, c in itertools.product(
            range(N), range(Ho), range(Wo), range(C_out), range(Kh), range(Kw), range(Cg)):
        h, v = i * sh + a * dh - pt, j * sw + b * dw - pl
        if 0 <= h < H and 0 <= v < W:
            y[n, i, j, o] += x[n, h, v, (o // Og) * Cg + c] * w[a, b, c, o]
    return y


def naive_conv2d_transpose(dy, w, out_hw, stride, padding, dilation, groups):
    N, Ho, Wo, C_out = dy.shape
    Kh, Kw, Cg, _ = w.shape
    (H, W), (sh, sw), (pt, _, pl, _), (dh, dw) = out_hw, stride, padding, dilation
    Og = C_out // groups
    dx = np.zeros((N, H, W, Cg * groups))
    for n, i, j, o, a, b, c in itertools.product(
            range(N), range(Ho), range(Wo), range(C_out), range(Kh), range(Kw), range(Cg)):
        h, v = i * sh + a * dh - pt, j * sw + b * dw - pl
        if 0 <= h < H and 0 <= v < W:
            dx[n, h, v, (o // Og) * Cg + c] += dy[n, i, j, o] * w[a, b, c, o]
    return dx


def naive_conv2d_filter_grad(x, dy, kernel_hw, stride, padding, dilation, groups):
    N, H, W, C_in = x.shape
    _, Ho, Wo, C_out = dy.shape
    (Kh, Kw), (sh, sw), (pt, _, pl, _), (dh, dw) = kernel_hw, stride, padding, dilation
    Cg, Og = C_in // groups, C_out // groups
    grad = np.zeros((Kh, Kw, Cg, C_out))
    for n, i, j, o, a, b, c in itertools.product(
            range(N), range(Ho), range(Wo), range(C_out), range(Kh), range(Kw), range(Cg)):
        h, v = i * sh + a * dh - pt, j * sw + b * dw - pl
        if 0 <= h < H and 0 <= v < W:
            grad[a, b, c, o] += x[n, h, v, (o // Og) * Cg + c] * dy[n, i, j, o]
    return grad


def window_cells(i, j, H, W, kernel_size, stride, padding, dilation):
    """The in-bounds cells of window (i, j), in row-major visiting order."""
    (kh, kw), (sh, sw), (pt, _, pl, _), (dh, dw) = kernel_size, stride, padding, dilation
    for a, b in itertools.product(range(kh), range(kw)):
        h, v = i * sh + a * dh - pt, j * sw + b * dw - pl
        if 0 <= h < H and 0 <= v < W:
            yield h, v


def naive_max_pool2d(x, out_hw, kernel_size, stride, padding, dilation):
    N, H, W, C = x.shape
    y = np.full((N, *out_hw, C), -np.inf)
    argmax = np.full((N, *out_hw, C), -1, dtype=np.int64)
    for n, i, j, c in itertools.product(range(N), range(out_hw[0]), range(out_hw[1]), range(C)):
        for h, v in window_cells(i, j, H, W, kernel_size, stride, padding, dilation):
            val, cur = x[n, h, v, c], y[n, i, j, c]
            if argmax[n, i, j, c] == -1 or val > cur or (np.isnan(val) and not np.isnan(cur)):
                y[n, i, j, c], argmax[n, i, j, c] = val, h * W + v
    return y, argmax


def naive_max_pool2d_gather(t, argmax):
    W = t.shape[2]
    out = np.zeros(argmax.shape)
    for n, i, j, c in np.ndindex(*argmax.shape):
        k = argmax[n, i, j, c]
        if k != -1:
            out[n, i, j, c] = t[n, k // W, k % W, c]
    return out


def naive_max_pool2d_scatter(g, argmax, in_hw):
    W = in_hw[1]
    dx = np.zeros((g.shape[0], *in_hw, g.shape[3]))
    for n, i, j, c in np.ndindex(*argmax.shape):
        k = argmax[n, i, j, c]
        if k != -1:
            dx[n, k // W, k % W, c] += g[n, i, j, c]
    return dx


def naive_avg_pool2d(x, out_hw, kernel_size, stride, padding, dilation):
    N, H, W, C = x.shape
    y = np.zeros((N, *out_hw, C))
    for n, i, j, c in itertools.product(range(N), range(out_hw[0]), range(out_hw[1]), range(C)):
        for h, v in window_cells(i, j, H, W, kernel_size, stride, padding, dilation):
            y[n, i, j, c] += x[n, h, v, c]
    return y / (kernel_size[0] * kernel_size[1])


def naive_avg_pool2d_transpose(g, in_hw, kernel_size, stride, padding, dilation):
    N, Ho, Wo, C = g.shape
    dx = np.zeros((N, *in_hw, C))
    for n, i, j, c in itertools.product(range(N), range(Ho), range(Wo), range(C)):
        for h, v in window_cells(i, j, *in_hw, kernel_size, stride, padding, dilation):
            dx[n, h, v, c] += g[n, i, j, c]
    return dx / (kernel_size[0] * kernel_size[1])


# ------------------------------------------------------------------ cases

# (N, H, W, C_in, C_out, (Kh, Kw), stride, padding (pt, pb, pl, pr), dilation, groups)
CONV_CASES = {
    "plain": (2, 5, 6, 3, 4, (3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    "stride-asym-pad-odd": (2, 7, 5, 2, 3, (3, 2), (2, 3), (1, 0, 2, 1), (1, 1), 1),
    "dilation": (1, 7, 8, 2, 2, (2, 3), (1, 2), (2, 1, 0, 3), (2, 3), 1),
    "groups": (2, 6, 5, 4, 6, (3, 3), (2, 1), (1, 1, 1, 1), (1, 1), 2),
    "depthwise": (2, 5, 5, 3, 3, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 3),
    "depthwise-multiplier": (1, 5, 4, 2, 4, (2, 2), (1, 1), (1, 0, 0, 1), (2, 1), 2),
    "n0": (0, 5, 5, 3, 2, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    "1x1-stride": (2, 5, 6, 3, 5, (1, 1), (2, 2), (0, 0, 0, 0), (1, 1), 1),
    "1x1-depthwise": (1, 3, 4, 4, 4, (1, 1), (1, 1), (1, 0, 0, 1), (1, 1), 4),
    "heavy-pad": (1, 2, 3, 2, 3, (3, 3), (3, 2), (4, 3, 3, 4), (2, 1), 1),
    "kernel-larger-than-input": (2, 2, 2, 1, 2, (4, 3), (1, 1), (2, 2, 1, 1), (1, 1), 1),
    "many-channels": (1, 4, 4, 70, 3, (2, 2), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    "wide-depthwise": (1, 3, 3, 67, 67, (2, 2), (1, 1), (1, 0, 0, 1), (1, 1), 67),
}


def conv_inputs(case, dtype, seed=0):
    N, H, W, C_in, C_out, (Kh, Kw), s, p, d, groups = case
    rng = np.random.default_rng(seed)
    Ho, Wo = out_size(H, Kh, s[0], p[0], p[1], d[0]), out_size(W, Kw, s[1], p[2], p[3], d[1])
    x = ro(rng.standard_normal((N, H, W, C_in)), dtype)
    w = ro(rng.standard_normal((Kh, Kw, C_in // groups, C_out)), dtype)
    dy = ro(rng.standard_normal((N, Ho, Wo, C_out)), dtype)
    return x, w, dy, (Ho, Wo), (H, W), s, p, d, groups


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv2d(case, dtype):
    x, w, _, out_hw, _, s, p, d, groups = conv_inputs(case, dtype)
    y = K.conv2d(x, w, out_hw, s, p, d, groups)
    assert_close(y, naive_conv2d(x, w, out_hw, s, p, d, groups), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("extra", [(0, 0), (1, 2)], ids=["exact", "output-padding"])
@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv2d_transpose(case, extra, dtype):
    # extra > 0: dx has rows/columns that no output reaches (output_padding).
    _, w, dy, _, (H, W), s, p, d, groups = conv_inputs(case, dtype)
    in_hw = (H + extra[0], W + extra[1])
    dx = K.conv2d_transpose(dy, w, in_hw, s, p, d, groups)
    assert_close(dx, naive_conv2d_transpose(dy, w, in_hw, s, p, d, groups), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv2d_filter_grad(case, dtype):
    x, w, dy, _, _, s, p, d, groups = conv_inputs(case, dtype)
    dw = K.conv2d_filter_grad(x, dy, w.shape[:2], s, p, d, groups)
    assert_close(dw, naive_conv2d_filter_grad(x, dy, w.shape[:2], s, p, d, groups), dtype)


@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv2d_adjoints(case):
    # <conv2d(x, w), dy> == <x, conv2d_transpose(dy, w)> == <w, conv2d_filter_grad(x, dy)>
    x, w, dy, out_hw, in_hw, s, p, d, groups = conv_inputs(case, np.float64, seed=1)
    lhs = np.vdot(K.conv2d(x, w, out_hw, s, p, d, groups), dy)
    dx = K.conv2d_transpose(dy, w, in_hw, s, p, d, groups)
    dw = K.conv2d_filter_grad(x, dy, w.shape[:2], s, p, d, groups)
    assert np.isclose(lhs, np.vdot(x, dx), rtol=1e-12, atol=1e-12)
    assert np.isclose(lhs, np.vdot(w, dw), rtol=1e-12, atol=1e-12)


# (N, H, W, C, (kh, kw), stride, padding, dilation)
POOL_CASES = {
    "plain": (2, 4, 4, 3, (2, 2), (2, 2), (0, 0, 0, 0), (1, 1)),
    "overlap-odd": (2, 5, 7, 2, (3, 3), (1, 2), (1, 1, 1, 1), (1, 1)),
    "asym-pad-dilation": (1, 6, 5, 3, (2, 3), (2, 1), (1, 2, 0, 3), (2, 2)),
    "all-padding-windows": (2, 3, 3, 2, (2, 2), (1, 1), (3, 0, 0, 3), (1, 1)),
    "n0": (0, 4, 4, 2, (2, 2), (1, 1), (0, 0, 0, 0), (1, 1)),
    "1x1": (1, 3, 4, 5, (1, 1), (2, 1), (0, 0, 0, 0), (1, 1)),
    "many-channels": (2, 3, 3, 130, (2, 2), (1, 1), (1, 0, 1, 0), (1, 1)),
}


def pool_inputs(case, dtype, seed=0, values=None):
    N, H, W, C, ks, s, p, d = case
    rng = np.random.default_rng(seed)
    Ho, Wo = out_size(H, ks[0], s[0], p[0], p[1], d[0]), out_size(W, ks[1], s[1], p[2], p[3], d[1])
    x = rng.standard_normal((N, H, W, C)) if values is None else rng.choice(values, (N, H, W, C))
    g = rng.standard_normal((N, Ho, Wo, C))
    return ro(x, dtype), ro(g, dtype), (Ho, Wo), (H, W), ks, s, p, d


MAX_VALUES = {   # None: continuous values; else: drawn from a small set (ties, NaN, -inf)
    "random": None,
    "ties": [0.0, 1.0, 2.0],
    "nan": [0.0, 1.0, np.nan],
    "inf": [-np.inf, 0.0, np.nan, np.inf],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("values", MAX_VALUES.values(), ids=MAX_VALUES.keys())
@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_max_pool2d(case, values, dtype):
    x, g, out_hw, in_hw, ks, s, p, d = pool_inputs(case, dtype, values=values)
    y, argmax = K.max_pool2d(x, out_hw, ks, s, p, d)
    y_ref, argmax_ref = naive_max_pool2d(x, out_hw, ks, s, p, d)
    assert y.dtype == dtype and argmax.dtype == np.int64
    np.testing.assert_array_equal(y, y_ref.astype(dtype))   # exact, NaN == NaN
    np.testing.assert_array_equal(argmax, argmax_ref)
    argmax = ro(argmax)
    assert_close(K.max_pool2d_gather(x, argmax), naive_max_pool2d_gather(x, argmax), dtype)
    assert_close(K.max_pool2d_scatter(g, argmax, in_hw),
                 naive_max_pool2d_scatter(g, argmax, in_hw), dtype)


def test_max_pool2d_known_answer():
    # One 1x4 row, windows of 2 with stride 1 and one cell of padding on each side.
    x = ro([[[[1.0], [3.0], [3.0], [np.nan]]]])
    y, argmax = K.max_pool2d(x, (1, 5), (1, 2), (1, 1), (0, 0, 1, 1), (1, 1))
    np.testing.assert_array_equal(y.ravel(), [1.0, 3.0, 3.0, np.nan, np.nan])
    np.testing.assert_array_equal(argmax.ravel(), [0, 1, 1, 3, 3])   # first max wins
    y, argmax = K.max_pool2d(x, (3, 1), (1, 1), (1, 1), (2, 0, 0, 0), (1, 1))
    np.testing.assert_array_equal(y[0, :, 0, 0], [-np.inf, -np.inf, 1.0])   # rows 0, 1: padding
    np.testing.assert_array_equal(argmax[0, :, 0, 0], [-1, -1, 0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool2d_scatter_accumulates(dtype):
    # Overlapping windows select the same cell: contributions add up.
    g = ro(np.ones((2, 2, 3, 2)), dtype)
    argmax = ro(np.array([[0, 5, -1], [5, 5, 11]])[None, :, :, None].repeat(2, 3).repeat(2, 0))
    dx = K.max_pool2d_scatter(g, argmax, (3, 4))
    assert_close(dx, naive_max_pool2d_scatter(g, argmax, (3, 4)), dtype)
    assert dx[0, 1, 1, 0] == 3


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_avg_pool2d(case, dtype):
    x, g, out_hw, in_hw, ks, s, p, d = pool_inputs(case, dtype)
    assert_close(K.avg_pool2d(x, out_hw, ks, s, p, d),
                 naive_avg_pool2d(x, out_hw, ks, s, p, d), dtype)
    for extra in [(0, 0), (1, 1)]:   # (1, 1): cells that no window reaches
        hw = (in_hw[0] + extra[0], in_hw[1] + extra[1])
        assert_close(K.avg_pool2d_transpose(g, hw, ks, s, p, d),
                     naive_avg_pool2d_transpose(g, hw, ks, s, p, d), dtype)


@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_avg_pool2d_adjoint(case):
    x, g, out_hw, in_hw, ks, s, p, d = pool_inputs(case, np.float64, seed=2)
    lhs = np.vdot(K.avg_pool2d(x, out_hw, ks, s, p, d), g)
    rhs = np.vdot(x, K.avg_pool2d_transpose(g, in_hw, ks, s, p, d))
    assert np.isclose(lhs, rhs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pools_large_enough_to_run_threaded(dtype):
    """Inputs above PARALLEL_MIN_WORK, so the prange loops really run on several
    threads (the tiny cases above run on one): 70 channels span two scatter
    blocks, overlapping 3x3/2 windows make threads' rows share input cells, and
    values drawn from {0..4} make ties everywhere.  Checked against the reference
    backend (the naive loops would be too slow at this size)."""
    import nabla.reference as R
    rng = np.random.default_rng(7)
    x = ro(rng.integers(0, 5, size=(3, 40, 36, 70)), dtype)
    geo = ((20, 18), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1))
    y, argmax = K.max_pool2d(x, *geo)
    y_ref, argmax_ref = R.max_pool2d(x, *geo)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(argmax, argmax_ref)
    g = ro(rng.standard_normal(y.shape), dtype)
    argmax = ro(argmax)
    assert_close(K.max_pool2d_gather(x, argmax), R.max_pool2d_gather(x, argmax), dtype)
    assert_close(K.max_pool2d_scatter(g, argmax, (40, 36)), R.max_pool2d_scatter(g, argmax, (40, 36)), dtype)
    assert_close(K.avg_pool2d(x, *geo), R.avg_pool2d(x, *geo), dtype)
    tgeo = ((40, 36),) + geo[1:]
    assert_close(K.avg_pool2d_transpose(g, *tgeo), R.avg_pool2d_transpose(g, *tgeo), dtype)


def test_writable_inputs_and_keywords():
    x = np.ones((1, 3, 3, 2), np.float32)
    w = np.ones((2, 2, 2, 1), np.float32)
    y = K.conv2d(x=x, w=w, out_hw=(2, 2), stride=(1, 1), padding=(0, 0, 0, 0),
                 dilation=(1, 1), groups=1)
    np.testing.assert_array_equal(y, np.full((1, 2, 2, 1), 8.0, np.float32))


def test_module_surface():
    from nabla._backend import kernel_names
    names = list(kernel_names())          # every kernel the ops use: the Cython backend has them all
    assert "adaptive_max_pool2d" in names
    assert K.NAME == "cython"
    assert all(callable(getattr(K, name)) for name in names)
    assert sorted(K.__all__) == sorted(names + ["NAME"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape, out_hw", [((2, 7, 9, 3), (3, 4)), ((1, 5, 5, 2), (7, 7)), ((3, 9, 4, 5), (2, 3)),
                                           ((1, 1, 6, 1), (1, 4)), ((0, 5, 5, 2), (3, 3)), ((1, 4, 4, 0), (2, 2)),
                                           ((4, 50, 60, 40), (7, 9))],   # above PARALLEL_MIN_WORK: threaded
                         ids=["7x9->3x4", "5->7", "9x4->2x3", "1x6->1x4", "batch0", "channels0", "threaded"])
def test_adaptive_max_pool2d_matches_reference(shape, out_hw, dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape).astype(dtype)
    if x.size:
        x[0, 0, 0, 0] = np.nan                 # a NaN wins its bins
        x.reshape(-1)[-1] = x.reshape(-1)[-2]  # a tie: the first in row-major order wins
    y, argmax = K.adaptive_max_pool2d(x, out_hw)
    y_ref, argmax_ref = R.adaptive_max_pool2d(x, out_hw)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(argmax, argmax_ref)


# ------------------------------------------------ random geometry (hypothesis)

from hypothesis import assume, given, settings, strategies as st  # noqa: E402

pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))


@settings(max_examples=60, deadline=None)
@given(N=st.integers(0, 2), hw=st.tuples(st.integers(1, 6), st.integers(1, 6)), k=pairs,
       s=pairs, d=pairs, p=st.tuples(*[st.integers(0, 4)] * 4), groups=st.integers(1, 3),
       per_group=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**32 - 1))
def test_random_geometry(N, hw, k, s, d, p, groups, per_group, dtype, seed):
    # Padding up to 4 > kernel extent, so whole windows may lie in the padding.
    (H, W), (C_in, C_out) = hw, (groups * per_group[0], groups * per_group[1])
    assume(out_size(H, k[0], s[0], p[0], p[1], d[0]) >= 1)
    assume(out_size(W, k[1], s[1], p[2], p[3], d[1]) >= 1)
    case = (N, H, W, C_in, C_out, k, s, p, d, groups)
    x, w, dy, out_hw, in_hw, s, p, d, groups = conv_inputs(case, dtype, seed)
    assert_close(K.conv2d(x, w, out_hw, s, p, d, groups),
                 naive_conv2d(x, w, out_hw, s, p, d, groups), dtype)
    assert_close(K.conv2d_transpose(dy, w, in_hw, s, p, d, groups),
                 naive_conv2d_transpose(dy, w, in_hw, s, p, d, groups), dtype)
    assert_close(K.conv2d_filter_grad(x, dy, k, s, p, d, groups),
                 naive_conv2d_filter_grad(x, dy, k, s, p, d, groups), dtype)

    assert_close(K.avg_pool2d(x, out_hw, k, s, p, d), naive_avg_pool2d(x, out_hw, k, s, p, d), dtype)
    g = ro(np.random.default_rng(seed).standard_normal((N, *out_hw, C_in)), dtype)
    assert_close(K.avg_pool2d_transpose(g, in_hw, k, s, p, d),
                 naive_avg_pool2d_transpose(g, in_hw, k, s, p, d), dtype)
    x = ro(np.random.default_rng(seed).choice([0.0, 1.0, 2.0, np.nan], x.shape), dtype)
    y, argmax = K.max_pool2d(x, out_hw, k, s, p, d)
    y_ref, argmax_ref = naive_max_pool2d(x, out_hw, k, s, p, d)
    np.testing.assert_array_equal(y, y_ref.astype(dtype))
    np.testing.assert_array_equal(argmax, argmax_ref)
    assert_close(K.max_pool2d_scatter(g, ro(argmax), in_hw),
                 naive_max_pool2d_scatter(g, argmax, in_hw), dtype)
