"""Known answers, computed by hand, for the options beyond the Nabla page:
``padding="SAME"/"VALID"``, ``padding_mode``/``nabla.pad``, ``ceil_mode``,
``count_include_pad``, ``return_indices``, ``max_unpool2d``, the adaptive and
global pools.

Every expected array is written out literally, with the arithmetic beside it;
each test runs on both backends.  The op database (tests/op_db.py) covers the
same options generically against the naive loops; this file pins the rules
themselves (where the odd SAME cell goes, which ceil-mode window is dropped,
what a corner divides by, which bins PyTorch uses, ...).

The last section pins the faults found while writing these tests (each fixed):
the input, and what it must give.
"""
import numpy as np
import pytest

import nabla
from tests import naive
from tests.op_db import OPS, samples



def _np(t):
    return np.asarray(t)


def _plane(a):
    """(H, W) -> (1, H, W, 1) float64."""
    a = np.asarray(a, np.float64)
    return a.reshape((1,) + a.shape + (1,))


def _row(values):
    """A 1-D list -> (1, 1, W, 1): one row, so only the width axis matters."""
    return _plane([values])


def _eq(got, want):
    np.testing.assert_allclose(_np(got), np.asarray(want, np.float64), rtol=1e-12, atol=1e-12)


A25 = np.arange(25.0).reshape(5, 5)     # rows [0..4], [5..9], [10..14], [15..19], [20..24]
A9 = np.arange(9.0).reshape(3, 3)       # [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


# ------------------------------------------------------------ SAME / VALID
def test_same_even_kernel_stride2_max_pool(backend):
    # 5x5, k = 2, s = 2, SAME: out = ceil(5/2) = 3, total = (3-1)*2 + 2 - 5 = 1 -> padding (0, 1):
    # windows rows {0,1} {2,3} {4,pad}, the same for columns; the max is the in-bounds bottom-right cell.
    y = nabla.max_pool2d(_plane(A25), kernel_size=2, stride=2, padding="SAME")
    _eq(y[0, :, :, 0], [[6, 8, 9],
                        [16, 18, 19],
                        [21, 23, 24]])


def test_same_even_kernel_stride2_avg_pool_both_divisors(backend):
    # window sums: (0,0) 0+1+5+6 = 12, (0,1) 2+3+7+8 = 20, (0,2) 4+9 = 13,
    #              (1,0) 10+11+15+16 = 52, (1,1) 12+13+17+18 = 60, (1,2) 14+19 = 33,
    #              (2,0) 20+21 = 41, (2,1) 22+23 = 45, (2,2) 24.
    # count_include_pad=True (default): every window / 4 (the SAME cell counts).
    y = nabla.avg_pool2d(_plane(A25), kernel_size=2, stride=2, padding="same")
    _eq(y[0, :, :, 0], [[3, 5, 3.25],
                        [13, 15, 8.25],
                        [10.25, 11.25, 6]])
    # count_include_pad=False: / the in-bounds cells, 4, 2 or 1 (as TensorFlow's SAME avg_pool).
    y = nabla.avg_pool2d(_plane(A25), kernel_size=2, stride=2, padding="SAME", count_include_pad=False)
    _eq(y[0, :, :, 0], [[3, 5, 6.5],
                        [13, 15, 16.5],
                        [20.5, 22.5, 24]])


def test_same_even_kernel_stride2_conv2d(backend):
    # A 2x2 filter of ones sums each window: the sums listed above.
    y = nabla.conv2d(_plane(A25), np.ones((2, 2, 1, 1)), stride=2, padding="SAME")
    _eq(y[0, :, :, 0], [[12, 20, 13],
                        [52, 60, 33],
                        [41, 45, 24]])


def test_same_odd_cell_goes_after(backend):
    # W 5, k 4, s 1: out 5, total (5-1)*1 + 4 - 5 = 3 -> (1, 2).  Padded: 0 | 0 1 2 3 4 | 0 0;
    # windows of 4: 0+0+1+2 = 3, 0+1+2+3 = 6, 1+2+3+4 = 10, 2+3+4+0 = 9, 3+4+0+0 = 7.
    y = nabla.conv2d(_row([0, 1, 2, 3, 4]), np.ones((1, 4, 1, 1)), padding="SAME")
    _eq(y[0, 0, :, 0], [3, 6, 10, 9, 7])


def test_same_with_dilation(backend):
    # W 5, k 2 dilated by 2 (span 3), s 1: total 3 - 1 = 2 -> (1, 1).  Padded 0 | 0 1 2 3 4 | 0;
    # taps (j, j+2): 0+1, 0+2, 1+3, 2+4, 3+0.
    y = nabla.conv2d(_row([0, 1, 2, 3, 4]), np.ones((1, 2, 1, 1)), dilation=2, padding="SAME")
    _eq(y[0, 0, :, 0], [1, 2, 4, 6, 3])


def test_valid(backend):
    # VALID is no padding: windows of 4 in 5 cells: 0+1+2+3 = 6, 1+2+3+4 = 10; at stride 2 only the first.
    x, w = _row([0, 1, 2, 3, 4]), np.ones((1, 4, 1, 1))
    _eq(nabla.conv2d(x, w, padding="VALID")[0, 0, :, 0], [6, 10])
    _eq(nabla.conv2d(x, w, padding="valid", stride=2)[0, 0, :, 0], [6])
    _eq(nabla.max_pool2d(x, kernel_size=(1, 4), stride=1, padding="Valid")[0, 0, :, 0], [3, 4])


@pytest.mark.parametrize("h, k, s, d, same, valid", [
    (3, 3, 2, 1, 6, 7),    # SAME 3*2; VALID 3*2 + (3 - 2)
    (3, 2, 2, 1, 6, 6),    # span 2 = stride: both 6
    (3, 1, 3, 1, 9, 9),    # span 1 < stride 3: VALID 3*3 + 0 (the last two rows get nothing)
    (4, 2, 2, 2, 8, 9),    # span 2*(2-1) + 1 = 3: VALID 8 + 1
    (1, 5, 1, 1, 1, 5),    # SAME 1*1; VALID 1 + 4
])
def test_conv2d_transpose_string_output_size(backend, h, k, s, d, same, valid):
    x, w = np.ones((1, h, h, 1)), np.ones((k, k, 1, 1))
    assert nabla.conv2d_transpose(x, w, stride=s, dilation=d, padding="SAME").shape == (1, same, same, 1)
    assert nabla.conv2d_transpose(x, w, stride=s, dilation=d, padding="VALID").shape == (1, valid, valid, 1)


def test_conv2d_transpose_same_and_valid_values(backend):
    # x = [1, 2], filter [1, 10, 100], stride 2: out[2i + a] += x[i] * w[a]; full length (2-1)*2 + 3 = 5:
    # [1, 10, 100 + 2, 20, 200].  VALID keeps all 5 (= 2*2 + 3 - 2); SAME keeps 4 = 2*2, cropping
    # conv2d SAME's padding for 4 cells, (0, 1): the last cell goes.
    x, w = _row([1, 2]), np.array([1.0, 10, 100]).reshape(1, 3, 1, 1)
    _eq(nabla.conv2d_transpose(x, w, stride=(1, 2), padding="VALID")[0, 0, :, 0], [1, 10, 102, 20, 200])
    _eq(nabla.conv2d_transpose(x, w, stride=(1, 2), padding="SAME")[0, 0, :, 0], [1, 10, 102, 20])
    # filter [5] at stride 3: 5 at 0 and 10 at 3, then rows no window reaches: 2*3 = 6 cells either way
    w1 = np.full((1, 1, 1, 1), 5.0)
    _eq(nabla.conv2d_transpose(x, w1, stride=(1, 3), padding="VALID")[0, 0, :, 0], [5, 0, 0, 10, 0, 0])
    _eq(nabla.conv2d_transpose(x, w1, stride=(1, 3), padding="SAME")[0, 0, :, 0], [5, 0, 0, 10, 0, 0])


# ---------------------------------------------------------------- ceil_mode
def test_ceil_mode_keeps_the_partial_window(backend):
    # 5x5, k 2, s 2: floor mode 2 windows per axis; ceil mode 3, the last covering row/column 4
    # and one cell past the input.  Max: the same cells as SAME above.
    x = _plane(A25)
    assert nabla.max_pool2d(x, kernel_size=2).shape == (1, 2, 2, 1)
    _eq(nabla.max_pool2d(x, kernel_size=2, ceil_mode=True)[0, :, :, 0], [[6, 8, 9],
                                                                        [16, 18, 19],
                                                                        [21, 23, 24]])
    # Avg: the cells past the input never count, even with count_include_pad=True:
    # (0,2) (4+9)/2, (1,2) (14+19)/2, (2,0) (20+21)/2, (2,1) (22+23)/2, (2,2) 24/1.
    _eq(nabla.avg_pool2d(x, kernel_size=2, ceil_mode=True)[0, :, :, 0], [[3, 5, 6.5],
                                                                        [13, 15, 16.5],
                                                                        [20.5, 22.5, 24]])


def test_ceil_mode_drops_a_window_starting_in_the_right_padding(backend):
    # W 5, k 2, s 2, padding 1: span 5 + 2 - 2 = 5; floor 5//2 + 1 = 3, ceil ceil(5/2) + 1 = 4, but
    # window 3 would start at (4-1)*2 = 6 >= 5 + 1, in the right padding: dropped, 3 either way.
    # Windows from padded cells -1, 1, 3: [pad, 0], [1, 2], [3, 4].
    x = _row([0, 1, 2, 3, 4])
    for ceil in (False, True):
        kw = dict(kernel_size=(1, 2), stride=(1, 2), padding=(0, 1), ceil_mode=ceil)
        _eq(nabla.max_pool2d(x, **kw)[0, 0, :, 0], [0, 2, 4])
        _eq(nabla.avg_pool2d(x, **kw)[0, 0, :, 0], [0 / 2, 3 / 2, 7 / 2])


def test_ceil_mode_with_padding_keeps_a_window_starting_in_the_input(backend):
    # W 6, k 3, s 2, padding 1: floor (6+2-3)//2 + 1 = 3; ceil ceil(5/2) + 1 = 4, and window 3
    # starts at 6 - 1 = 5 < 6 + 1: kept.  Windows: [pad,0,1], [1,2,3], [3,4,5], [5,pad,extra].
    x = _row([0, 1, 2, 3, 4, 5])
    kw = dict(kernel_size=(1, 3), stride=(1, 2), padding=(0, 1), ceil_mode=True)
    _eq(nabla.max_pool2d(x, **kw)[0, 0, :, 0], [1, 3, 5, 5])
    # count_include_pad=True: the user's padding counts, the extra cell not: 1/3, 6/3, 12/3, 5/2
    _eq(nabla.avg_pool2d(x, **kw)[0, 0, :, 0], [1 / 3, 2, 4, 2.5])
    # count_include_pad=False: only input cells: 1/2, 6/3, 12/3, 5/1
    _eq(nabla.avg_pool2d(x, count_include_pad=False, **kw)[0, 0, :, 0], [0.5, 2, 4, 5])
    assert nabla.max_pool2d(x, kernel_size=(1, 3), stride=(1, 2), padding=(0, 1)).shape == (1, 1, 3, 1)


def test_ceil_mode_kernel_longer_than_input(backend):
    # PyTorch's rule: 4 cells, k 5, s 5: ceil((4 - 5)/5) + 1 = 0 + 1 = 1 window, the whole input
    # (floor mode: none, an error).  Max 15; avg 120 / 16 (only the 16 input cells count).
    x = _plane(np.arange(16.0).reshape(4, 4))
    _eq(nabla.max_pool2d(x, kernel_size=5, ceil_mode=True), [[[[15]]]])
    _eq(nabla.avg_pool2d(x, kernel_size=5, ceil_mode=True), [[[[7.5]]]])
    with pytest.raises(ValueError, match="output height would be 0 < 1"):
        nabla.max_pool2d(x, kernel_size=5)


# -------------------------------------------------------- count_include_pad
def test_count_include_pad_false_corner_edge_centre(backend):
    # 3x3, k 3, s 1, p 1: a corner window holds 4 input cells, an edge one 6, the centre 9.
    # arange(9) sums: (0,0) 0+1+3+4 = 8, (0,1) 0+1+2+3+4+5 = 15, (0,2) 1+2+4+5 = 12,
    # (1,0) 0+1+3+4+6+7 = 21, (1,1) 36, (1,2) 27, (2,0) 3+4+6+7 = 20, (2,1) 33, (2,2) 24.
    x = _plane(A9)
    y = nabla.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
    _eq(y[0, :, :, 0], [[8 / 4, 15 / 6, 12 / 4],
                        [21 / 6, 36 / 9, 27 / 6],
                        [20 / 4, 33 / 6, 24 / 4]])
    y = nabla.avg_pool2d(x, kernel_size=3, stride=1, padding=1)          # count_include_pad=True: / 9
    _eq(y[0, :, :, 0], np.array([[8, 15, 12], [21, 36, 27], [20, 33, 24]]) / 9)
    # The divisors themselves: pooling ones gives 1 everywhere / count/9.
    ones = np.ones((1, 3, 3, 1))
    _eq(nabla.avg_pool2d(ones, kernel_size=3, stride=1, padding=1, count_include_pad=False)[0, :, :, 0],
        np.ones((3, 3)))
    _eq(nabla.avg_pool2d(ones, kernel_size=3, stride=1, padding=1)[0, :, :, 0],
        np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]) / 9)


def test_count_include_pad_false_gradient(backend):
    # d sum(y) / dx[h, w] = sum over the windows holding (h, w) of 1/count:
    # corner: windows (0,0) 1/4, (0,1) 1/6, (1,0) 1/6, (1,1) 1/9 -> 9/36 + 12/36 + 4/36 = 25/36;
    # edge (0,1): 1/4 + 1/6 + 1/4 + 1/6 + 1/9 + 1/6 = 10/9; centre: 4/4 + 4/6 + 1/9 = 16/9.
    # (Check: they add up to 9, one per window.)
    g = nabla.grad(lambda x: nabla.sum(nabla.avg_pool2d(x, kernel_size=3, stride=1, padding=1,
                                                        count_include_pad=False)))(_plane(A9))
    _eq(g[0, :, :, 0], [[25 / 36, 10 / 9, 25 / 36],
                        [10 / 9, 16 / 9, 10 / 9],
                        [25 / 36, 10 / 9, 25 / 36]])


def test_count_include_pad_false_window_wholly_in_padding_is_zero(backend):
    # 2x2, k 2, s 3, p 3: windows 0 and 2 of each axis see padding only -> 0 (never NaN);
    # the middle window holds the whole input: (1+2+3+4)/4.
    x = _plane([[1, 2], [3, 4]])
    y = nabla.avg_pool2d(x, kernel_size=2, stride=3, padding=3, count_include_pad=False)
    _eq(y[0, :, :, 0], [[0, 0, 0], [0, 2.5, 0], [0, 0, 0]])


# ---------------------------------------------------------- return_indices
def test_return_indices_values(backend):
    # 4x4 arange, k 2: each window's max is its bottom-right cell, flat h*4 + w: 5, 7, 13, 15.
    x = np.arange(16.0).reshape(4, 4)
    y, idx = nabla.max_pool2d(_plane(x), kernel_size=2, return_indices=True)
    _eq(y[0, :, :, 0], [[5, 7], [13, 15]])
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(_np(idx)[0, :, :, 0], [[5, 7], [13, 15]])
    # -x: the top-left cell: 0, 2, 8, 10
    _, idx = nabla.max_pool2d(_plane(-x), kernel_size=2, return_indices=True)
    np.testing.assert_array_equal(_np(idx)[0, :, :, 0], [[0, 2], [8, 10]])
    # ties: the first maximum in row-major order
    _, idx = nabla.max_pool2d(np.ones((1, 2, 2, 1)), kernel_size=2, return_indices=True)
    np.testing.assert_array_equal(_np(idx), [[[[0]]]])


def test_return_indices_padding_windows_are_minus_one(backend):
    # 2x2, k 2, s 3, p 3: only the middle window sees the input (its max, 4, at flat 3)
    y, idx = nabla.max_pool2d(_plane([[1, 2], [3, 4]]), kernel_size=2, stride=3, padding=3, return_indices=True)
    np.testing.assert_array_equal(_np(idx)[0, :, :, 0], [[-1, -1, -1], [-1, 3, -1], [-1, -1, -1]])
    assert _np(y)[0, 1, 1, 0] == 4 and np.isneginf(_np(y)[0, 0, 0, 0])


def test_return_indices_nchw_per_plane(backend):
    # NCHW (1, 2, 4, 4): channel 0 arange -> [[5, 7], [13, 15]], channel 1 -arange -> [[0, 2], [8, 10]];
    # indices come back NCHW, flat within each (n, c) plane.
    x = np.stack([np.arange(16.0), -np.arange(16.0)]).reshape(1, 2, 4, 4)
    y, idx = nabla.max_pool2d(x, kernel_size=2, input_layout="NCHW", return_indices=True)
    assert y.shape == idx.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(_np(idx)[0], [[[5, 7], [13, 15]], [[0, 2], [8, 10]]])


def test_return_indices_with_ceil_mode_and_same(backend):
    # 5x5 arange, k 2, s 2, a partial last window per axis (ceil mode, or SAME's padding (0, 1)):
    # the maxima 6 8 9 / 16 18 19 / 21 23 24 sit at flat positions h*5 + w equal to their values.
    for kw in (dict(ceil_mode=True), dict(padding="SAME")):
        _, idx = nabla.max_pool2d(_plane(A25), kernel_size=2, stride=2, return_indices=True, **kw)
        np.testing.assert_array_equal(_np(idx)[0, :, :, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])


@pytest.mark.parametrize("op, sample", samples(ops=("max_pool2d", "adaptive_max_pool2d"), dtypes=(np.float64,)))
def test_return_indices_match_the_naive_argmax(backend, op, sample):
    """Over the database's samples: the indices are the naive loops' argmax."""
    y, idx = op.op(*sample.args, **sample.kwargs, return_indices=True)
    want_y, want_idx = op.naive(*sample.args, **sample.kwargs, return_indices=True)
    assert idx.dtype == np.int64 and idx.shape == y.shape
    np.testing.assert_array_equal(_np(y), want_y)
    np.testing.assert_array_equal(_np(idx), want_idx)


def test_return_indices_nan(backend):
    # a NaN wins its window (max pooling's rule): its position is the index
    x = _plane([[1, np.nan], [3, 2]])
    y, idx = nabla.max_pool2d(x, kernel_size=2, return_indices=True)
    assert np.isnan(_np(y)).all() and _np(idx).item() == 1


# ---------------------------------------------------------------- unpooling
def test_unpool_repeated_indices_sum_and_gradient_gathers(backend):
    # x = [1, 2, 4] to flat positions [0, 3, 0] of a 2x2 output: cell 0 gets 1 + 4 = 5, cell 3 gets 2.
    x = _row([1, 2, 4])
    idx = np.array([0, 3, 0]).reshape(1, 1, 3, 1)
    f = lambda x: nabla.max_unpool2d(x, idx, kernel_size=2, output_size=(2, 2))  # noqa: E731
    _eq(f(x)[0, :, :, 0], [[5, 0], [0, 2]])
    # VJP gathers: cotangent [[10, 20], [30, 40]] -> dx = [g0, g3, g0] = [10, 40, 10]
    y, pullback = nabla.vjp(f, x)
    (dx,) = pullback(_plane([[10, 20], [30, 40]]))
    _eq(dx[0, 0, :, 0], [10, 40, 10])
    # JVP scatters the tangent: [1, 1, 1] -> [[2, 0], [0, 1]]
    _, t = nabla.jvp(f, [x], [np.ones_like(x)])
    _eq(t[0, :, :, 0], [[2, 0], [0, 1]])


def test_unpool_skips_minus_one_and_default_size(backend):
    # default size (2-1)*2 + 2 = 4: x [[1, 2], [3, 4]] to 0, -1 (skipped), 15, 5
    x = _plane([[1, 2], [3, 4]])
    idx = np.array([[0, -1], [15, 5]]).reshape(1, 2, 2, 1)
    _eq(nabla.max_unpool2d(x, idx, kernel_size=2)[0, :, :, 0], [[1, 0, 0, 0],
                                                                [0, 4, 0, 0],
                                                                [0, 0, 0, 0],
                                                                [0, 0, 0, 3]])


def test_unpool_of_max_pool(backend):
    # 4x4 arange, k 2: maxima 5, 7, 13, 15 at their own flat positions; unpooling puts them back
    x = _plane(np.arange(16.0).reshape(4, 4))
    y, idx = nabla.max_pool2d(x, kernel_size=2, return_indices=True)
    want = np.zeros((4, 4))
    want.flat[[5, 7, 13, 15]] = [5, 7, 13, 15]
    _eq(nabla.max_unpool2d(y, idx, kernel_size=2)[0, :, :, 0], want)
    # a 5x5 input: its indices are in a 5-wide plane, so output_size must say so (PyTorch's rule)
    y, idx = nabla.max_pool2d(_plane(A25), kernel_size=2, return_indices=True)
    want = np.zeros((5, 5))
    want.flat[[6, 8, 16, 18]] = [6, 8, 16, 18]
    _eq(nabla.max_unpool2d(y, idx, kernel_size=2, output_size=(5, 5))[0, :, :, 0], want)
    _eq(nabla.max_unpool2d(y, idx, kernel_size=2, output_size=(1, 5, 5, 1))[0, :, :, 0], want)
    with pytest.raises(ValueError, match=r"'indices' holds 16, outside \[-1, 16\) for an output of 4x4"):
        nabla.max_unpool2d(y, idx, kernel_size=2)


@pytest.mark.parametrize("convert", [
    lambda a: a.astype(np.int32),
    lambda a: a.astype(np.uint8),
    lambda a: np.asfortranarray(a),
    lambda a: np.repeat(a, 2, axis=2)[:, :, ::2],                       # a strided view
    lambda a: np.ascontiguousarray(a[:, ::-1])[:, ::-1],                  # negative strides
    lambda a: a.astype(np.int16),
], ids=["int32", "uint8", "fortran", "strided", "negative_strides", "int16"])
def test_unpool_ndarray_indices_of_any_integer_dtype_and_layout(backend, convert):
    """The database passes indices as Tensors/lists; here, as ndarrays of several kinds,
    read-only too: the same result, the array untouched."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 3, 2))
    idx = rng.integers(0, 16, (1, 3, 3, 2))
    want = naive.max_unpool2d(x, idx, (4, 4))
    arr = convert(idx)
    arr.setflags(write=False)
    before = arr.copy()
    _eq(nabla.max_unpool2d(x, arr, kernel_size=2, stride=1, padding=(0, 0), output_size=(4, 4)), want)
    np.testing.assert_array_equal(arr, before)


# ----------------------------------------------------------- adaptive pools
def test_adaptive_bins_written_out():
    # bin i of m over n cells: [floor(i*n/m), ceil((i+1)*n/m))
    # 7 -> 3: [0, 7/3 -> 3), [7/3 -> 2, 14/3 -> 5), [14/3 -> 4, 7): overlapping
    assert naive.adaptive_bins(7, 3) == [(0, 3), (2, 5), (4, 7)]
    # 5 -> 7: [0, 5/7->1), [5/7->0, 10/7->2), [10/7->1, 15/7->3), [15/7->2, 20/7->3),
    #         [20/7->2, 25/7->4), [25/7->3, 30/7->5), [30/7->4, 5)
    assert naive.adaptive_bins(5, 7) == [(0, 1), (0, 2), (1, 3), (2, 3), (2, 4), (3, 5), (4, 5)]
    assert naive.adaptive_bins(4, 2) == [(0, 2), (2, 4)]


def test_adaptive_7_to_3(backend):
    # rows 0..6 holding 0..6 (one column): bins [0,3) [2,5) [4,7)
    x = _plane(np.arange(7.0).reshape(7, 1))
    _eq(nabla.adaptive_avg_pool2d(x, (3, 1))[0, :, 0, 0], [(0 + 1 + 2) / 3, (2 + 3 + 4) / 3, (4 + 5 + 6) / 3])
    y, idx = nabla.adaptive_max_pool2d(x, (3, 1), return_indices=True)
    _eq(y[0, :, 0, 0], [2, 4, 6])
    np.testing.assert_array_equal(_np(idx)[0, :, 0, 0], [2, 4, 6])   # flat h*1 + 0


def test_adaptive_5_to_7(backend):
    # columns 0..4 holding 0, 10, .., 40; bins [0,1) [0,2) [1,3) [2,3) [2,4) [3,5) [4,5):
    # means 0, 5, 15, 20, 25, 35, 40; maxima 0, 10, 20, 20, 30, 40, 40 at 0, 1, 2, 2, 3, 4, 4
    x = _row([0, 10, 20, 30, 40])
    _eq(nabla.adaptive_avg_pool2d(x, (1, 7))[0, 0, :, 0], [0, 5, 15, 20, 25, 35, 40])
    y, idx = nabla.adaptive_max_pool2d(x, (None, 7), return_indices=True)
    _eq(y[0, 0, :, 0], [0, 10, 20, 20, 30, 40, 40])
    np.testing.assert_array_equal(_np(idx)[0, 0, :, 0], [0, 1, 2, 2, 3, 4, 4])


def test_adaptive_avg_gradient_7_to_3(backend):
    # d sum(y)/dx[h] = sum over the bins holding h of 1/3: rows 2 and 4 are in two bins
    g = nabla.grad(lambda x: nabla.sum(nabla.adaptive_avg_pool2d(x, (3, 1))))(_plane(np.arange(7.0).reshape(7, 1)))
    _eq(g[0, :, 0, 0], np.array([1, 1, 2, 1, 2, 1, 1]) / 3)


def test_adaptive_max_gradient_goes_to_the_argmax(backend):
    # 5 -> 7 over 0, 10, .., 40: maxima at 0, 1, 2, 2, 3, 4, 4 -> counts 1, 1, 2, 1, 2
    g = nabla.grad(lambda x: nabla.sum(nabla.adaptive_max_pool2d(x, (1, 7))))(_row([0, 10, 20, 30, 40]))
    _eq(g[0, 0, :, 0], [1, 1, 2, 1, 2])


# ------------------------------------------------------------- global pools
def test_global_pools(backend):
    # (1, 2, 3, 2): channel 0 holds 0..5, channel 1 holds 0, 10, .., 50 -> means 2.5, 25; maxima 5, 50
    x = np.stack([np.arange(6.0), 10 * np.arange(6.0)], axis=-1).reshape(1, 2, 3, 2)
    _eq(nabla.global_avg_pool2d(x), [[2.5, 25]])
    _eq(nabla.global_max_pool2d(x), [[5, 50]])
    _eq(nabla.global_avg_pool2d(x, keepdims=True), [[[[2.5, 25]]]])
    _eq(nabla.global_max_pool2d(x, keepdims=True), [[[[5, 50]]]])
    # NCHW: (1, C, 1, 1) with keepdims, (N, C) without
    x_nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    _eq(nabla.global_avg_pool2d(x_nchw, input_layout="NCHW"), [[2.5, 25]])
    _eq(nabla.global_max_pool2d(x_nchw, keepdims=True, input_layout="NCHW"), [[[[5]], [[50]]]])


def test_global_pool_gradients(backend):
    # avg: 1/(H*W) = 1/6 everywhere; max: 1 at the maximum (the last cell of each channel)
    x = np.stack([np.arange(6.0), 10 * np.arange(6.0)], axis=-1).reshape(1, 2, 3, 2)
    _eq(nabla.grad(lambda x: nabla.sum(nabla.global_avg_pool2d(x)))(x), np.full(x.shape, 1 / 6))
    want = np.zeros(x.shape)
    want[0, 1, 2, :] = 1
    _eq(nabla.grad(lambda x: nabla.sum(nabla.global_max_pool2d(x)))(x), want)


# ------------------------------------------------------------ padding modes
# arange(9) = [[0, 1, 2], [3, 4, 5], [6, 7, 8]] padded by one cell on every side.
PADDED_BY_1 = {
    # 0 outside
    "constant": [[0, 0, 0, 0, 0],
                 [0, 0, 1, 2, 0],
                 [0, 3, 4, 5, 0],
                 [0, 6, 7, 8, 0],
                 [0, 0, 0, 0, 0]],
    # mirrored about the edge cells, which are not repeated: row -1 = row 1, row 3 = row 1
    "reflect": [[4, 3, 4, 5, 4],
                [1, 0, 1, 2, 1],
                [4, 3, 4, 5, 4],
                [7, 6, 7, 8, 7],
                [4, 3, 4, 5, 4]],
    # the edge cell repeated: row -1 = row 0, row 3 = row 2
    "edge": [[0, 0, 1, 2, 2],
             [0, 0, 1, 2, 2],
             [3, 3, 4, 5, 5],
             [6, 6, 7, 8, 8],
             [6, 6, 7, 8, 8]],
    # the other side: row -1 = row 2, row 3 = row 0
    "wrap": [[8, 6, 7, 8, 6],
             [2, 0, 1, 2, 0],
             [5, 3, 4, 5, 3],
             [8, 6, 7, 8, 6],
             [2, 0, 1, 2, 0]],
}
PADDED_BY_1["replicate"] = PADDED_BY_1["edge"]
PADDED_BY_1["circular"] = PADDED_BY_1["wrap"]

# d sum(pad(x)) / dx: how many padded cells copy each input cell (1-D: reflect [1, 3, 1],
# edge and wrap [2, 1, 2]; 2-D: their outer product).
PAD_GRAD = {
    "constant": np.ones((3, 3)),
    "reflect": np.outer([1, 3, 1], [1, 3, 1]),
    "edge": np.outer([2, 1, 2], [2, 1, 2]),
    "wrap": np.outer([2, 1, 2], [2, 1, 2]),
}
PAD_GRAD["replicate"], PAD_GRAD["circular"] = PAD_GRAD["edge"], PAD_GRAD["wrap"]


@pytest.mark.parametrize("mode", sorted(PADDED_BY_1))
def test_pad_every_mode_on_arange9(backend, mode):
    y = nabla.pad(A9, ((1, 1), (1, 1)), mode=mode)
    _eq(y, PADDED_BY_1[mode])
    numpy_mode = {"replicate": "edge", "circular": "wrap"}.get(mode, mode)
    np.testing.assert_array_equal(_np(y), np.pad(A9, 1, mode=numpy_mode))     # NumPy agrees
    _eq(nabla.grad(lambda x: nabla.sum(nabla.pad(x, ((1, 1), (1, 1)), mode=mode)))(A9), PAD_GRAD[mode])
    _eq(naive.pad(A9, ((1, 1), (1, 1)), mode=numpy_mode), PADDED_BY_1[mode])   # and so do the naive loops


@pytest.mark.parametrize("padding_mode, numpy_mode", [("zeros", "constant"), ("reflect", "reflect"),
                                                      ("replicate", "edge"), ("circular", "wrap")])
def test_conv2d_padding_mode_on_arange9(backend, padding_mode, numpy_mode):
    # A 1x1 filter of one with padding 1 returns the padded input itself, 5x5; its x-gradient
    # of the sum counts the copies.
    f = lambda x: nabla.conv2d(x, np.ones((1, 1, 1, 1)), padding=1, padding_mode=padding_mode)  # noqa: E731
    _eq(f(_plane(A9))[0, :, :, 0], PADDED_BY_1[numpy_mode])
    _eq(nabla.grad(lambda x: nabla.sum(f(x)))(_plane(A9))[0, :, :, 0], PAD_GRAD[numpy_mode])


@pytest.mark.parametrize("padding_mode, want", [
    # W 5, k 2, s 2, SAME: padding (0, 1); padded [0 1 2 3 4 | p]: sums 0+1, 2+3, 4+p
    ("zeros", [1, 5, 4 + 0]),
    ("reflect", [1, 5, 4 + 3]),      # p = cell 3
    ("replicate", [1, 5, 4 + 4]),    # p = cell 4
    ("circular", [1, 5, 4 + 0]),     # p = cell 0
])
def test_conv2d_same_with_padding_mode(backend, padding_mode, want):
    y = nabla.conv2d(_row([0, 1, 2, 3, 4]), np.ones((1, 2, 1, 1)), stride=2, padding="SAME",
                     padding_mode=padding_mode)
    _eq(y[0, 0, :, 0], want)


def test_pad_wider_modes_1d(backend):
    x = np.array([0.0, 1, 2])
    _eq(nabla.pad(x, ((2, 2),), mode="reflect"), [2, 1, 0, 1, 2, 1, 0])      # at most size - 1 = 2
    _eq(nabla.pad(x, ((3, 3),), mode="wrap"), [0, 1, 2, 0, 1, 2, 0, 1, 2])   # at most size = 3
    _eq(nabla.pad(x, ((2, 4),), mode="edge"), [0, 0, 0, 1, 2, 2, 2, 2, 2])   # any width
    _eq(nabla.pad(x, ((1, 2),), value=1.5), [1.5, 0, 1, 2, 1.5, 1.5])


def test_pad_zero_width_is_the_identity(backend):
    x = np.arange(6.0).reshape(1, 2, 3, 1)
    for mode in ("constant", "reflect", "edge", "wrap"):
        y = nabla.pad(x, ((0, 0),) * 4, mode=mode)
        np.testing.assert_array_equal(_np(y), x)
        _eq(nabla.grad(lambda x: nabla.sum(nabla.pad(x, ((0, 0),) * 4, mode=mode) * 2.0))(x), np.full(x.shape, 2.0))


def test_conv2d_padding_mode_error_names_padding_and_size():
    with pytest.raises(ValueError, match=r"^conv2d: reflect padding \(3, 3\) of the height must be smaller than its size 3"):
        nabla.conv2d(np.zeros((1, 3, 3, 1)), np.zeros((2, 2, 1, 1)), padding=3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"^conv2d: circular padding \(0, 4\) of the width must be at most its size 3"):
        nabla.conv2d(np.zeros((1, 3, 3, 1)), np.zeros((2, 2, 1, 1)), padding=(0, 0, 0, 4), padding_mode="circular")


# ------------------------------------------------------ faults found while writing these tests
def test_unpool_int_output_size():
    x, idx = np.ones((1, 2, 2, 1)), np.zeros((1, 2, 2, 1), np.int64)
    try:
        y = nabla.max_unpool2d(x, idx, kernel_size=2, output_size=5)
    except (TypeError, ValueError) as e:
        assert str(e).startswith("max_unpool2d: ") and "'output_size'" in str(e), str(e)
    else:
        assert y.shape == (1, 5, 5, 1)


@pytest.mark.parametrize("width", [1.5, True], ids=["float", "bool"])
def test_pad_non_int_width_is_refused(width):
    with pytest.raises((TypeError, ValueError), match=r"^pad: .*pad_width"):
        nabla.pad(np.zeros(3), ((width, 0),))


@pytest.mark.parametrize("backend_name", ["cython", "reference"])
def test_adaptive_avg_of_an_empty_axis(backend_name):
    with nabla.use_backend(backend_name), pytest.raises(ValueError, match=r"^adaptive_avg_pool2d: .*'x'"):
        nabla.adaptive_avg_pool2d(np.zeros((1, 0, 3, 2)), (2, 2))


def test_database_covers_every_new_op():
    for name in ("max_unpool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "global_avg_pool2d",
                 "global_max_pool2d", "pad"):
        assert name in OPS
