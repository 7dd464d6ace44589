"""The reference backend against tests/naive.py, kernel by kernel, on tiny inputs.

Every case runs in float32 and float64 with read-only inputs; results must
match the naive loops within the dtype's tolerance, keep the input dtype, be
C-contiguous new arrays, and leave the inputs untouched.  A few adjoint
identities and hand-computed answers sit beside the comparison.
"""
from dataclasses import dataclass

import numpy as np
import pytest

import nabla.reference as R
from nabla.reference import _windows
from tests import naive

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


@dataclass(frozen=True)
class Case:
    id: str
    N: int
    H: int
    W: int
    C_in: int
    C_out: int
    kernel: tuple
    stride: tuple = (1, 1)
    padding: tuple = (0, 0, 0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1
    extra_hw: tuple = (0, 0)  # conv2d_transpose only: out_hw grown beyond what dy reaches

    @property
    def out_hw(self):
        (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw) = (
            self.kernel, self.stride, self.padding, self.dilation)
        return ((self.H + pt + pb - dh * (kh - 1) - 1) // sh + 1,
                (self.W + pl + pr - dw * (kw - 1) - 1) // sw + 1)

    @property
    def geometry(self):
        return self.stride, self.padding, self.dilation


CASES = [
    Case("basic", 2, 5, 5, 3, 4, (3, 3)),
    Case("stride", 2, 7, 6, 2, 3, (3, 2), stride=(2, 3)),
    Case("pad", 1, 4, 5, 2, 2, (3, 3), padding=(1, 1, 1, 1)),
    Case("asym_pad", 2, 5, 4, 2, 3, (2, 3), padding=(2, 0, 1, 3)),
    Case("dilation", 1, 7, 5, 2, 2, (3, 2), dilation=(2, 1)),
    Case("all_mixed", 2, 8, 7, 4, 6, (2, 3), stride=(2, 1), padding=(1, 2, 2, 0),
         dilation=(2, 2), groups=2),
    Case("groups", 2, 5, 5, 4, 6, (3, 3), groups=2),
    Case("depthwise", 2, 6, 5, 3, 3, (3, 3), stride=(2, 2), padding=(1, 1, 1, 1), groups=3),
    Case("depthwise_x2", 1, 5, 5, 3, 6, (2, 2), groups=3),
    Case("batch0", 0, 5, 5, 2, 3, (3, 3), padding=(1, 1, 1, 1)),
    Case("odd", 3, 5, 3, 1, 1, (2, 3), stride=(2, 2)),
    Case("kernel_1x1", 2, 3, 4, 3, 2, (1, 1), stride=(2, 1)),
    Case("kernel_gt_input", 1, 2, 2, 2, 2, (3, 3), padding=(1, 1, 1, 1)),
    Case("windows_in_padding", 2, 2, 2, 2, 2, (2, 2), stride=(3, 3), padding=(3, 3, 3, 3)),
    Case("unreached_rows", 1, 6, 6, 2, 2, (3, 3), stride=(2, 2)),  # row/col 5 never read
    Case("transpose_extra", 2, 5, 4, 2, 4, (3, 2), stride=(2, 2), padding=(1, 0, 0, 1),
         groups=2, extra_hw=(1, 2)),
]
case_params = pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
dtype_params = pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)


def frozen(rng, shape, dtype, kind="normal"):
    """A read-only random array of the given kind."""
    if kind == "normal":
        a = rng.standard_normal(shape)
    elif kind == "ties":  # small integers: many equal values in each window
        a = rng.integers(-2, 3, size=shape).astype(float)
    elif kind == "neg_inf":  # mostly -inf, so some windows are all -inf next to padding
        a = np.where(rng.random(shape) < 0.7, -np.inf, rng.standard_normal(shape))
    elif kind == "nan":
        a = rng.integers(-2, 3, size=shape).astype(float)
        a[rng.random(shape) < 0.2] = np.nan
        a[rng.random(shape) < 0.2] = -np.inf
    a = np.ascontiguousarray(a, dtype=dtype)
    a.setflags(write=False)
    return a


def check(got, want, dtype, exact=False):
    assert got.dtype == dtype
    assert got.shape == want.shape
    assert got.flags.c_contiguous
    if exact:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, **TOL[dtype])


def unchanged(*arrays):
    """Snapshot read-only inputs; the returned function asserts they were not written."""
    copies = [a.copy() for a in arrays]
    return lambda: all(np.array_equal(a, c, equal_nan=True) for a, c in zip(arrays, copies))


# ---- convolution -------------------------------------------------------------------------

@dtype_params
@case_params
def test_conv2d(case, dtype):
    rng = np.random.default_rng(0)
    x = frozen(rng, (case.N, case.H, case.W, case.C_in), dtype)
    w = frozen(rng, (*case.kernel, case.C_in // case.groups, case.C_out), dtype)
    same = unchanged(x, w)
    args = (case.out_hw, *case.geometry, case.groups)
    check(R.conv2d(x, w, *args), naive.conv2d(x, w, *args), dtype)
    assert same()


@dtype_params
@case_params
def test_conv2d_transpose(case, dtype):
    rng = np.random.default_rng(1)
    dy = frozen(rng, (case.N, *case.out_hw, case.C_out), dtype)
    w = frozen(rng, (*case.kernel, case.C_in // case.groups, case.C_out), dtype)
    same = unchanged(dy, w)
    in_hw = (case.H + case.extra_hw[0], case.W + case.extra_hw[1])
    args = (in_hw, *case.geometry, case.groups)
    got = R.conv2d_transpose(dy, w, *args)
    check(got, naive.conv2d_transpose(dy, w, *args), dtype)
    assert got.shape == (case.N, *in_hw, case.C_in)
    assert same()


@dtype_params
@case_params
def test_conv2d_filter_grad(case, dtype):
    rng = np.random.default_rng(2)
    x = frozen(rng, (case.N, case.H, case.W, case.C_in), dtype)
    dy = frozen(rng, (case.N, *case.out_hw, case.C_out), dtype)
    same = unchanged(x, dy)
    args = (case.kernel, *case.geometry, case.groups)
    check(R.conv2d_filter_grad(x, dy, *args), naive.conv2d_filter_grad(x, dy, *args), dtype)
    assert same()


# ---- pooling -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["normal", "ties", "neg_inf", "nan"])
@dtype_params
@case_params
def test_max_pool2d(case, dtype, kind):
    rng = np.random.default_rng(3)
    x = frozen(rng, (case.N, case.H, case.W, case.C_in), dtype, kind)
    same = unchanged(x)
    args = (case.out_hw, case.kernel, *case.geometry)
    y, argmax = R.max_pool2d(x, *args)
    y_want, argmax_want = naive.max_pool2d(x, *args)
    check(y, y_want, dtype, exact=True)
    check(argmax, argmax_want, np.int64, exact=True)
    assert same()


@dtype_params
@case_params
def test_max_pool2d_gather_and_scatter(case, dtype):
    rng = np.random.default_rng(4)
    x = frozen(rng, (case.N, case.H, case.W, case.C_in), dtype, "ties")
    _, argmax = naive.max_pool2d(x, case.out_hw, case.kernel, *case.geometry)
    argmax.setflags(write=False)
    t = frozen(rng, x.shape, dtype)
    g = frozen(rng, argmax.shape, dtype)
    same = unchanged(t, g, argmax)
    check(R.max_pool2d_gather(t, argmax), naive.max_pool2d_gather(t, argmax), dtype, exact=True)
    in_hw = (case.H, case.W)
    check(R.max_pool2d_scatter(g, argmax, in_hw), naive.max_pool2d_scatter(g, argmax, in_hw), dtype)
    assert same()


@dtype_params
@case_params
def test_avg_pool2d(case, dtype):
    rng = np.random.default_rng(5)
    x = frozen(rng, (case.N, case.H, case.W, case.C_in), dtype)
    same = unchanged(x)
    args = (case.out_hw, case.kernel, *case.geometry)
    check(R.avg_pool2d(x, *args), naive.avg_pool2d(x, *args), dtype)
    assert same()


@dtype_params
@case_params
def test_avg_pool2d_transpose(case, dtype):
    rng = np.random.default_rng(6)
    g = frozen(rng, (case.N, *case.out_hw, case.C_in), dtype)
    same = unchanged(g)
    in_hw = (case.H + case.extra_hw[0], case.W + case.extra_hw[1])
    args = (in_hw, case.kernel, *case.geometry)
    check(R.avg_pool2d_transpose(g, *args), naive.avg_pool2d_transpose(g, *args), dtype)
    assert same()


# ---- adjoint identities <A x, y> == <x, A^T y> (float64) ---------------------------------

@case_params
def test_adjoint_identities(case):
    rng = np.random.default_rng(7)
    x = frozen(rng, (case.N, case.H, case.W, case.C_in), np.float64)
    w = frozen(rng, (*case.kernel, case.C_in // case.groups, case.C_out), np.float64)
    dy = frozen(rng, (case.N, *case.out_hw, case.C_out), np.float64)
    g = frozen(rng, (case.N, *case.out_hw, case.C_in), np.float64)
    conv = (case.out_hw, *case.geometry, case.groups)
    pool = (case.out_hw, case.kernel, *case.geometry)
    in_hw = (case.H, case.W)

    y_dot = np.vdot(R.conv2d(x, w, *conv), dy)
    x_dot = np.vdot(x, R.conv2d_transpose(dy, w, in_hw, *case.geometry, case.groups))
    w_dot = np.vdot(w, R.conv2d_filter_grad(x, dy, case.kernel, *case.geometry, case.groups))
    assert np.isclose(y_dot, x_dot, rtol=1e-12, atol=1e-12)
    assert np.isclose(y_dot, w_dot, rtol=1e-12, atol=1e-12)

    avg_dot = np.vdot(R.avg_pool2d(x, *pool), g)
    avg_t_dot = np.vdot(x, R.avg_pool2d_transpose(g, in_hw, case.kernel, *case.geometry))
    assert np.isclose(avg_dot, avg_t_dot, rtol=1e-12, atol=1e-12)

    _, argmax = R.max_pool2d(x, *pool)
    gather_dot = np.vdot(R.max_pool2d_gather(x, argmax), g)
    scatter_dot = np.vdot(x, R.max_pool2d_scatter(g, argmax, in_hw))
    assert np.isclose(gather_dot, scatter_dot, rtol=1e-12, atol=1e-12)


# ---- hand-computed answers and the window helpers ----------------------------------------

def test_max_pool2d_first_maximum_wins():
    x = np.array([[3.0, 1.0], [3.0, 3.0]]).reshape(1, 2, 2, 1)
    y, argmax = R.max_pool2d(x, (1, 1), (2, 2), (1, 1), (0, 0, 0, 0), (1, 1))
    assert y.item() == 3.0 and argmax.item() == 0


def test_max_pool2d_never_selects_padding():
    # One -inf cell; every 2x2 window holds it and three padded cells.
    x = np.array([[-np.inf]]).reshape(1, 1, 1, 1)
    y, argmax = R.max_pool2d(x, (2, 2), (2, 2), (1, 1), (1, 1, 1, 1), (1, 1))
    assert np.all(y == -np.inf) and np.all(argmax == 0)
    # A window wholly in padding: -inf and -1.
    y, argmax = R.max_pool2d(x, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), (1, 1))
    assert argmax[0, 1, 1, 0] == 0 and argmax[0, 0, 0, 0] == -1 and y[0, 0, 0, 0] == -np.inf


def test_max_pool2d_nan_wins_first_nan():
    x = np.array([[1.0, np.nan], [5.0, np.nan]]).reshape(1, 2, 2, 1)
    y, argmax = R.max_pool2d(x, (1, 1), (2, 2), (1, 1), (0, 0, 0, 0), (1, 1))
    assert np.isnan(y.item()) and argmax.item() == 1


def test_conv2d_transpose_unreached_rows_are_zero():
    dy = np.ones((1, 2, 2, 1))
    w = np.ones((3, 3, 1, 1))
    dx = R.conv2d_transpose(dy, w, (7, 6), (2, 2), (0, 0, 0, 0), (1, 1), 1)
    assert np.all(dx[:, 5:, :, :] == 0) and np.all(dx[:, :, 5:, :] == 0)
    assert dx[0, 2, 2, 0] == 4.0 and dx[0, 0, 0, 0] == 1.0


def test_tap_slices_worked_example():
    """The example in _windows' docstring: H = 5, K = 3, stride 2, padding 1 -> Ho = 3."""
    x = np.arange(5.0).reshape(1, 5, 1, 1)
    geometry = ((5, 1), (3, 1), (2, 1), (1, 1, 0, 0), (1, 1))
    # tap a: (the windows whose tap a is inside, the rows they read)
    for a, windows, rows in [(0, [1, 2], [1, 3]), (1, [0, 1, 2], [0, 2, 4]), (2, [0, 1], [1, 3])]:
        w_index, c_index = _windows.tap_slices(a, 0, *geometry)
        assert np.arange(3)[w_index[1]].tolist() == windows
        assert x[c_index][0, :, 0, 0].tolist() == rows
    # dilation 2, stride 1: window i reads rows i - 1, i + 1, i + 3
    geometry = ((5, 1), (3, 1), (1, 1), (1, 1, 0, 0), (2, 1))
    reads = {i: [] for i in range(3)}
    for a in range(3):
        w_index, c_index = _windows.tap_slices(a, 0, *geometry)
        for i, row in zip(np.arange(3)[w_index[1]], x[c_index][0, :, 0, 0]):
            reads[int(i)].append(int(row))
    assert reads == {0: [1, 3], 1: [0, 2, 4], 2: [1, 3]}


@case_params
def test_tap_slices_follow_the_index_formula(case):
    """windows/cells of every tap are exactly the (i, j) whose h = i*sh + a*dh - pt and
    v = j*sw + b*dw - pl are in bounds, paired in order; reads_padding is the rest."""
    (H, W), (Ho, Wo) = (case.H, case.W), case.out_hw
    (sh, sw), (pt, _, pl, _), (dh, dw) = case.stride, case.padding, case.dilation
    rows = np.arange(H * W).reshape(1, H, W, 1)
    for a in range(case.kernel[0]):
        for b in range(case.kernel[1]):
            windows, cells = _windows.tap_slices(a, b, (H, W), (Ho, Wo), case.stride,
                                                 case.padding, case.dilation)
            want = {(i, j): (i * sh + a * dh - pt) * W + j * sw + b * dw - pl
                    for i in range(Ho) for j in range(Wo)
                    if 0 <= i * sh + a * dh - pt < H and 0 <= j * sw + b * dw - pl < W}
            ii, jj = np.meshgrid(np.arange(Ho)[windows[1]], np.arange(Wo)[windows[2]],
                                 indexing="ij")
            got = dict(zip(zip(ii.ravel().tolist(), jj.ravel().tolist()),
                           rows[cells][0, :, :, 0].ravel().tolist()))
            assert got == want
            mask = _windows.reads_padding(windows, (Ho, Wo))
            assert {(i, j) for i, j in zip(*np.nonzero(~mask))} == set(want)


@pytest.mark.parametrize("kernel", ["conv2d", "conv2d_transpose", "conv2d_filter_grad",
                                    "max_pool2d", "avg_pool2d", "avg_pool2d_transpose"])
def test_memory_does_not_grow_with_padding(kernel):
    """padding = stride = 2**30 on a 1x1 input gives a 3x3 output and costs nothing
    (the padded copy this once made could not even be allocated)."""
    p, s = 2 ** 30, (2 ** 30, 2 ** 30)
    geometry = (s, (p, p, p, p), (1, 1))
    x, w, dy = np.full((1, 1, 1, 1), 2.0), np.full((1, 1, 1, 1), 3.0), np.ones((1, 3, 3, 1))
    run = {
        "conv2d": lambda: R.conv2d(x, w, (3, 3), *geometry, 1),
        "conv2d_transpose": lambda: R.conv2d_transpose(dy, w, (1, 1), *geometry, 1),
        "conv2d_filter_grad": lambda: R.conv2d_filter_grad(x, dy, (1, 1), *geometry, 1),
        "max_pool2d": lambda: R.max_pool2d(x, (3, 3), (1, 1), *geometry)[0],
        "avg_pool2d": lambda: R.avg_pool2d(x, (3, 3), (1, 1), *geometry),
        "avg_pool2d_transpose": lambda: R.avg_pool2d_transpose(dy, (1, 1), (1, 1), *geometry),
    }[kernel]
    out = run()
    want = {"conv2d": [[0, 0, 0], [0, 6, 0], [0, 0, 0]], "conv2d_transpose": [[3]],
            "conv2d_filter_grad": [[2]], "max_pool2d": [[-np.inf] * 3, [-np.inf, 2, -np.inf],
                                                        [-np.inf] * 3],
            "avg_pool2d": [[0, 0, 0], [0, 2, 0], [0, 0, 0]], "avg_pool2d_transpose": [[1]]}
    np.testing.assert_array_equal(out[0, :, :, 0], want[kernel])


def test_memory_is_bounded_by_the_output():
    """Padding 1,000 around a 1x1 input with a 3x3 filter and stride 1,000: a 3x3 output.
    Peak NumPy memory (tracemalloc sees NumPy's buffers) stays under 64 KiB for the
    forward and both adjoints; the padded copies this replaced took about 256 MB each."""
    import tracemalloc
    x, w, dy = np.ones((1, 1, 1, 8)), np.ones((3, 3, 8, 8)), np.ones((1, 3, 3, 8))
    geometry = ((1000, 1000), (1000,) * 4, (1, 1))
    tracemalloc.start()
    try:
        R.conv2d(x, w, (3, 3), *geometry, 1)
        R.conv2d_transpose(dy, w, (1, 1), *geometry, 1)
        R.conv2d_filter_grad(x, dy, (3, 3), *geometry, 1)
        R.avg_pool2d_transpose(dy, (1, 1), (3, 3), *geometry)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


def test_backend_names():
    names = ["conv2d", "conv2d_transpose", "conv2d_filter_grad", "max_pool2d",
             "max_pool2d_gather", "max_pool2d_scatter", "avg_pool2d", "avg_pool2d_transpose"]
    assert R.NAME == "reference"
    assert all(callable(getattr(R, name)) for name in names)
