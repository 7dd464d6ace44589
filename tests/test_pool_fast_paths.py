"""The write-once paths of nabla/_kernels/pool.pyx, against nabla.reference.

max_pool2d_scatter allocates dx with np.empty and zeroes each work unit's rows
lazily, just before the first scatter reaches them; it must still give exact
zeros wherever nothing is scattered, whatever order the argmax visits rows in
(descending, random), with -1 and out-of-range indices, channel blocks (C > 64)
and the threaded path.  avg_pool2d and avg_pool2d_transpose allocate with
np.empty and write every cell (rows no window reaches, dilation, over-sized
padding, out_hw beyond the windows' reach).  Both sum in the contract's order,
so float results equal the reference's up to its own rounding; the scatter of
a single term per cell is exact.
"""
import numpy as np
import pytest

import nabla._kernels as K
import nabla.reference as R

DTYPES = [np.float32, np.float64]


def _naive_scatter(g, argmax, in_hw):
    N, Ho, Wo, C = g.shape
    H, W = in_hw
    dx = np.zeros((N, H, W, C), g.dtype)
    for n, i, j, c in np.ndindex(g.shape):
        k = argmax[n, i, j, c]
        if 0 <= k < H * W:
            dx[n, k // W, k % W, c] += g[n, i, j, c]
    return dx


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["descending", "random", "sparse", "stray"])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 2, 3, 70), (0, 2, 2, 3), (2, 1, 1, 130)])
def test_scatter_any_argmax_order(dtype, order, shape):
    rng = np.random.default_rng(len(order) + sum(shape))
    N, Ho, Wo, C = shape
    H, W = 5, 4
    g = rng.standard_normal(shape).astype(dtype)
    if order == "descending":
        am = (H * W - 1 - np.arange(Ho * Wo) % (H * W)).reshape(1, Ho, Wo, 1)
        am = np.broadcast_to(am, shape)
    elif order == "random":
        am = rng.integers(0, H * W, size=shape)
    elif order == "sparse":
        am = np.where(rng.random(shape) < 0.7, -1, rng.integers(0, H * W, size=shape))
    else:
        am = rng.integers(-3, H * W + 4, size=shape)
    am = np.ascontiguousarray(am, dtype=np.int64)
    dx = K.max_pool2d_scatter(g, am, (H, W))
    np.testing.assert_array_equal(dx, _naive_scatter(g, am, (H, W)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,H,W,C,k,s,p", [(16, 56, 56, 64, 3, 2, 1), (4, 30, 31, 96, 2, 2, 0)])
def test_scatter_threaded_matches_reference(dtype, N, H, W, C, k, s, p):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, H, W, C)).astype(dtype)
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    win = dict(kernel_size=(k, k), stride=(s, s), padding=(p, p, p, p), dilation=(1, 1))
    _, am = K.max_pool2d(x, (Ho, Wo), **win)
    g = rng.standard_normal((N, Ho, Wo, C)).astype(dtype)
    np.testing.assert_array_equal(K.max_pool2d_scatter(g, am, (H, W)),
                                  R.max_pool2d_scatter(g, am, (H, W)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("H,W,C,out_hw,k,s,p,d", [
    (7, 6, 5, (3, 3), (2, 3), (2, 2), (0, 0, 0, 0), (1, 1)),
    (7, 6, 3, (4, 5), (3, 2), (1, 2), (2, 1, 3, 0), (2, 2)),
    (5, 5, 33, (6, 6), (2, 2), (3, 3), (1, 1, 1, 1), (1, 1)),   # rows no window reaches
    (3, 4, 2, (2, 2), (2, 2), (1, 1), (4, 4, 4, 4), (1, 1)),     # windows wholly in padding
    (6, 6, 64, (3, 3), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1)),
])
def test_avg_pool_matches_reference(dtype, H, W, C, out_hw, k, s, p, d):
    rng = np.random.default_rng(H * W + C)
    win = dict(kernel_size=k, stride=s, padding=p, dilation=d)
    x = rng.standard_normal((2, H, W, C)).astype(dtype)
    g = rng.standard_normal((2,) + out_hw + (C,)).astype(dtype)
    tol = dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(K.avg_pool2d(x, out_hw, **win), R.avg_pool2d(x, out_hw, **win), **tol)
    np.testing.assert_allclose(K.avg_pool2d_transpose(g, (H, W), **win),
                               R.avg_pool2d_transpose(g, (H, W), **win), **tol)


# ----------------------------------------------- the vector row kernels (_pool.h)
#
# max_pool2d and avg_pool2d run in blocks of LANES channels (16/8/4/1 floats by
# instruction set) with a masked last block, the running maximum and its index in
# registers.  The cases cover every channel tail of those widths, small C (LeNet's
# 6), overlapping and non-overlapping windows, padding (windows partly and wholly
# in it), dilation, ties, NaN and -inf; max pooling must equal the reference
# bit for bit (y and argmax), average pooling up to rounding.

CHANNELS = [1, 3, 6, 7, 8, 9, 15, 16, 17, 33, 64]
WINDOWS = [  # H, W, out_hw, kernel_size, stride, padding, dilation
    (8, 8, (4, 4), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1)),       # non-overlapping
    (9, 7, (5, 4), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),       # overlapping, padded
    (7, 9, (4, 7), (3, 2), (2, 1), (2, 1, 0, 1), (1, 1)),       # stride 1 in columns
    (9, 9, (3, 3), (2, 3), (3, 3), (0, 0, 1, 0), (2, 2)),       # dilated
    (3, 4, (3, 3), (2, 2), (2, 2), (3, 2, 3, 2), (1, 1)),       # windows wholly in padding
]


def _pool_input(kind, shape, dtype, rng):
    if kind == "normal":
        return rng.standard_normal(shape).astype(dtype)
    if kind == "ties":          # few distinct values: many equal maxima per window
        return rng.integers(-1, 2, size=shape).astype(dtype)
    x = rng.standard_normal(shape).astype(dtype)
    if kind == "nan":           # NaN anywhere, windows with one or several
        x[rng.random(shape) < 0.15] = np.nan
    else:                       # "-inf": whole windows of -inf, and -inf beside NaN
        x[rng.random(shape) < 0.6] = -np.inf
        x[rng.random(shape) < 0.05] = np.nan
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["normal", "ties", "nan", "-inf"])
@pytest.mark.parametrize("C", CHANNELS)
@pytest.mark.parametrize("geo", WINDOWS)
def test_max_pool_blocks_match_reference(dtype, kind, C, geo):
    H, W, out_hw, k, s, p, d = geo
    rng = np.random.default_rng(C * 7 + H * W + len(kind))
    win = dict(kernel_size=k, stride=s, padding=p, dilation=d)
    x = _pool_input(kind, (2, H, W, C), dtype, rng)
    y, am = K.max_pool2d(x, out_hw, **win)
    y_ref, am_ref = R.max_pool2d(x, out_hw, **win)
    assert y.dtype == dtype and am.dtype == np.int64
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(am, am_ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("C", CHANNELS)
@pytest.mark.parametrize("geo", WINDOWS)
def test_avg_pool_blocks_match_reference(dtype, C, geo):
    H, W, out_hw, k, s, p, d = geo
    rng = np.random.default_rng(C * 5 + H * W)
    win = dict(kernel_size=k, stride=s, padding=p, dilation=d)
    x = rng.standard_normal((2, H, W, C)).astype(dtype)
    tol = dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(K.avg_pool2d(x, out_hw, **win), R.avg_pool2d(x, out_hw, **win), **tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_first_nan_and_first_maximum(dtype):
    # One 2x2 window per channel lane: lane c of the 17 (a full block and a 1-lane
    # tail with AVX-512) gets its own pattern; the index must be the first in
    # row-major window order (flat indices 0, 1, 2, 3 of the 2x2 image).
    pats = [[1, 1, 1, 1], [0, 2, 2, 1], [np.nan, 5, np.nan, 1], [1, np.nan, 7, np.nan],
            [-np.inf] * 4, [-np.inf, -np.inf, np.nan, -np.inf], [3, 3, 3, np.nan],
            [np.inf, np.nan, np.inf, 1], [-1, -2, -1, -3]]
    pats = (pats * 2)[:17]
    x = np.ascontiguousarray(np.array(pats, dtype).T.reshape(1, 2, 2, 17))
    win = dict(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0, 0, 0), dilation=(1, 1))
    y, am = K.max_pool2d(x, (1, 1), **win)
    y_ref, am_ref = R.max_pool2d(x, (1, 1), **win)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(am, am_ref)
    assert am[0, 0, 0, :4].tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["max", "avg"])
def test_pool_empty_batch_and_threaded_rows(dtype, op):
    win = dict(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1, 1, 1), dilation=(1, 1))
    for N, C in [(0, 6), (16, 6), (8, 37)]:   # empty; LeNet-like C on the threaded path
        x = np.random.default_rng(N + C).standard_normal((N, 28, 28, C)).astype(dtype)
        if op == "max":
            y, am = K.max_pool2d(x, (14, 14), **win)
            y_ref, am_ref = R.max_pool2d(x, (14, 14), **win)
            np.testing.assert_array_equal(am, am_ref)
            np.testing.assert_array_equal(y, y_ref)
        else:
            y = K.avg_pool2d(x, (14, 14), **win)
            np.testing.assert_allclose(y, R.avg_pool2d(x, (14, 14), **win), rtol=1e-6, atol=1e-6)
        assert y.shape == (N, 14, 14, C)
