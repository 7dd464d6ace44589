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


def test_window_view_worked_example():
    """The example in _windows' docstring: H = 5, K = 3, stride 2, padding 1 -> Ho = 3."""
    x = np.arange(5.0).reshape(1, 5, 1, 1)
    win = _windows.window_view(x, (3, 1), (3, 1), (2, 1), (1, 1, 0, 0), (1, 1), fill=-1.0)
    assert win[0, :, 0, :, 0, 0].tolist() == [[-1, 0, 1], [1, 2, 3], [3, 4, -1]]
    win = _windows.window_view(x, (3, 1), (3, 1), (1, 1), (1, 1, 0, 0), (2, 1), fill=-1.0)
    assert win[0, :, 0, :, 0, 0].tolist() == [[-1, 1, 3], [0, 2, 4], [1, 3, -1]]


@case_params
def test_window_view_tap_is_tap_slice(case):
    """win[:, :, :, a, b, :] is the tap(a, b) slice of the padded input."""
    rng = np.random.default_rng(8)
    x = frozen(rng, (case.N, case.H, case.W, case.C_in), np.float64)
    geometry = (case.out_hw, case.kernel, *case.geometry)
    win = _windows.window_view(x, *geometry)
    pt, _, pl, _ = case.padding
    xpad = _windows.zeros_padded(case.N, (case.H, case.W), case.C_in, *geometry, np.float64)
    xpad[:, pt:pt + case.H, pl:pl + case.W, :] = x
    for a in range(case.kernel[0]):
        for b in range(case.kernel[1]):
            sl = xpad[_windows.tap(a, b, case.out_hw, case.stride, case.dilation)]
            np.testing.assert_array_equal(win[:, :, :, a, b, :], sl)
    np.testing.assert_array_equal(_windows.crop(xpad, (case.H, case.W), case.padding), x)


def test_backend_names():
    names = ["conv2d", "conv2d_transpose", "conv2d_filter_grad", "max_pool2d",
             "max_pool2d_gather", "max_pool2d_scatter", "avg_pool2d", "avg_pool2d_transpose"]
    assert R.NAME == "reference"
    assert all(callable(getattr(R, name)) for name in names)
