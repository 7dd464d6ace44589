"""Known answers computed by hand: they pin the semantics of the four ops
(SEMANTICS.md) independently of any implementation.  Every test runs on both
backends.  The arithmetic is in the comments; all values are small integers or
simple fractions, exact in float32 and float64.
"""
import numpy as np
import pytest

import nabla as nb

BACKENDS = ["cython", "reference"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    with nb.use_backend(request.param):
        yield request.param


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dt(request):
    return request.param


def img(rows, dt=np.float64):
    """A (1, H, W, 1) NHWC tensor from a 2-D list."""
    a = np.asarray(rows, dtype=dt)
    return nb.asarray(a.reshape(1, *a.shape, 1))


def hwio(rows, dt=np.float64):
    """A (Kh, Kw, 1, 1) filter from a 2-D list."""
    a = np.asarray(rows, dtype=dt)
    return nb.asarray(a.reshape(*a.shape, 1, 1))


def plane(t):
    """The (H, W) plane of a (1, H, W, 1) tensor."""
    a = np.asarray(t)
    assert a.shape[0] == 1 and a.shape[3] == 1, a.shape
    return a[0, :, :, 0]


def eq(got, want):
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want, dtype=np.asarray(got).dtype))


X3 = [[1, 2, 3],
      [4, 5, 6],
      [7, 8, 9]]
W2 = [[1, 2],
      [3, 4]]


# =====================================================================================
# conv2d
# =====================================================================================
class TestConv2d:
    def test_valid(self, backend, dt):
        # y[i, j] = x[i, j]*1 + x[i, j+1]*2 + x[i+1, j]*3 + x[i+1, j+1]*4
        # y[0,0] = 1*1 + 2*2 + 4*3 + 5*4 = 1 + 4 + 12 + 20 = 37
        # y[0,1] = 2*1 + 3*2 + 5*3 + 6*4 = 2 + 6 + 15 + 24 = 47
        # y[1,0] = 4*1 + 5*2 + 7*3 + 8*4 = 4 + 10 + 21 + 32 = 67
        # y[1,1] = 5*1 + 6*2 + 8*3 + 9*4 = 5 + 12 + 24 + 36 = 77
        y = nb.conv2d(img(X3, dt), hwio(W2, dt))
        assert y.shape == (1, 2, 2, 1) and y.dtype == dt
        eq(plane(y), [[37, 47], [67, 77]])

    def test_cross_correlation_not_convolution(self, backend):
        # A flipped filter (true convolution) would give y[0,0] = 1*4 + 2*3 + 4*2 + 5*1 = 23.
        y = plane(nb.conv2d(img(X3), hwio(W2)))
        assert y[0, 0] == 37 and y[0, 0] != 23
        # A one-hot filter picks the cell it sits on: w[0, 1] = 1 -> y[i, j] = x[i, j+1]
        eq(plane(nb.conv2d(img(X3), hwio([[0, 1], [0, 0]]))), [[2, 3], [5, 6]])
        # w[1, 0] = 1 -> y[i, j] = x[i+1, j]
        eq(plane(nb.conv2d(img(X3), hwio([[0, 0], [1, 0]]))), [[4, 5], [7, 8]])

    def test_padding_is_zeros(self, backend, dt):
        # padding 1: xpad is 5x5 with a zero border, H_out = (3 + 2 - 1 - 1)/1 + 1 = 4.
        #   0 0 0 0 0
        #   0 1 2 3 0
        #   0 4 5 6 0
        #   0 7 8 9 0
        #   0 0 0 0 0
        # row 0: (0,0) = 1*4 = 4; (0,1) = 1*3 + 2*4 = 11; (0,2) = 2*3 + 3*4 = 18; (0,3) = 3*3 = 9
        # row 1: (1,0) = 1*2 + 4*4 = 18; 37; 47; (1,3) = 3*1 + 6*3 = 21
        # row 2: (2,0) = 4*2 + 7*4 = 36; 67; 77; (2,3) = 6*1 + 9*3 = 33
        # row 3: (3,0) = 7*2 = 14; (3,1) = 7*1 + 8*2 = 23; (3,2) = 8*1 + 9*2 = 26; (3,3) = 9*1 = 9
        # check: the sum is sum(x) * sum(w) = 45 * 10 = 450 = 42 + 123 + 213 + 72.
        want = [[4, 11, 18, 9], [18, 37, 47, 21], [36, 67, 77, 33], [14, 23, 26, 9]]
        eq(plane(nb.conv2d(img(X3, dt), hwio(W2, dt), padding=1)), want)
        eq(plane(nb.conv2d(img(X3, dt), hwio(W2, dt), padding=(1, 1))), want)
        eq(plane(nb.conv2d(img(X3, dt), hwio(W2, dt), padding=(1, 1, 1, 1))), want)

    def test_asymmetric_padding(self, backend):
        # (top, bottom, left, right) = (1, 0, 0, 2): xpad is 4x5
        #   0 0 0 0 0
        #   1 2 3 0 0
        #   4 5 6 0 0
        #   7 8 9 0 0
        # H_out = 4 - 1 = 3, W_out = 5 - 1 = 4
        # row 0: (0,0) = 1*3 + 2*4 = 11; (0,1) = 2*3 + 3*4 = 18; (0,2) = 3*3 = 9; (0,3) = 0
        # row 1: 37, 47, (1,2) = 3*1 + 6*3 = 21, 0
        # row 2: 67, 77, (2,2) = 6*1 + 9*3 = 33, 0
        y = nb.conv2d(img(X3), hwio(W2), padding=(1, 0, 0, 2))
        eq(plane(y), [[11, 18, 9, 0], [37, 47, 21, 0], [67, 77, 33, 0]])

    def test_stride_2(self, backend):
        # no padding: H_out = floor((3 - 1 - 1)/2) + 1 = 1: only the window at (0, 0) -> 37
        eq(plane(nb.conv2d(img(X3), hwio(W2), stride=2)), [[37]])
        # padding 1: H_out = floor((5 - 1 - 1)/2) + 1 = 2; the windows at padded (0,0), (0,2),
        # (2,0), (2,2) of the padded result above: 4, 18, 36, 77
        eq(plane(nb.conv2d(img(X3), hwio(W2), stride=2, padding=1)), [[4, 18], [36, 77]])
        # stride (1, 2): rows 0, 1, columns 0 only (W_out = floor(1/2) + 1 = 1) -> 37, 67
        eq(plane(nb.conv2d(img(X3), hwio(W2), stride=(1, 2))), [[37], [67]])

    def test_dilation_2(self, backend):
        # dilated 2x2 filter spans 3x3: taps at (0,0), (0,2), (2,0), (2,2)
        # y = 1*1 + 3*2 + 7*3 + 9*4 = 1 + 6 + 21 + 36 = 64, H_out = 3 - 2*1 - 1 + 1 = 1
        eq(plane(nb.conv2d(img(X3), hwio(W2), dilation=2)), [[64]])
        # dilation (2, 1): taps (0,0), (0,1), (2,0), (2,1); H_out = 1, W_out = 2
        # y[0,0] = 1*1 + 2*2 + 7*3 + 8*4 = 1 + 4 + 21 + 32 = 58
        # y[0,1] = 2*1 + 3*2 + 8*3 + 9*4 = 2 + 6 + 24 + 36 = 68
        eq(plane(nb.conv2d(img(X3), hwio(W2), dilation=(2, 1))), [[58, 68]])

    def test_channels_hwio(self, backend):
        # 1x1 kernel, x channels [1, 2], w[0, 0, c, o]: y[o] = x0*w[0,o] + x1*w[1,o]
        # w = [[1, 100, 1e4], [10, 1000, 1e5]] -> [1 + 20, 100 + 2000, 1e4 + 2e5] = [21, 2100, 210000]
        x = nb.asarray(np.array([1.0, 2.0]).reshape(1, 1, 1, 2))
        w = nb.asarray(np.array([[1.0, 100.0, 1e4], [10.0, 1000.0, 1e5]]).reshape(1, 1, 2, 3))
        eq(nb.conv2d(x, w).numpy().ravel(), [21, 2100, 210000])

    def test_groups_2(self, backend):
        # x channels [1, 2, 3, 4], groups 2: Cg = 2, C_out = 4, Og = 2.
        # outputs 0, 1 (group 0) read channels 0, 1; outputs 2, 3 (group 1) read channels 2, 3.
        # w[0, 0, :, o] = [1, 10] for o = 0, 2 and [100, 1000] for o = 1, 3.
        # y0 = 1*1 + 2*10 = 21          y1 = 1*100 + 2*1000 = 2100
        # y2 = 3*1 + 4*10 = 43          y3 = 3*100 + 4*1000 = 4300
        x = nb.asarray(np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 1, 4))
        w = np.array([[1.0, 100.0, 1.0, 100.0], [10.0, 1000.0, 10.0, 1000.0]]).reshape(1, 1, 2, 4)
        eq(nb.conv2d(x, nb.asarray(w), groups=2).numpy().ravel(), [21, 2100, 43, 4300])
        # depthwise (groups = C_in = 4, one output per channel): w[0,0,0,:] = [1, 10, 100, 1000]
        # -> [1*1, 2*10, 3*100, 4*1000]
        wd = np.array([1.0, 10.0, 100.0, 1000.0]).reshape(1, 1, 1, 4)
        eq(nb.conv2d(x, nb.asarray(wd), groups=4).numpy().ravel(), [1, 20, 300, 4000])

    def test_bias(self, backend, dt):
        # the valid result plus 0.5 everywhere
        y = nb.conv2d(img(X3, dt), hwio(W2, dt), bias=nb.asarray(np.array([0.5], dt)))
        eq(plane(y), [[37.5, 47.5], [67.5, 77.5]])
        # per channel: the channel example above with bias [1, 2, 3]
        x = nb.asarray(np.array([1.0, 2.0]).reshape(1, 1, 1, 2))
        w = nb.asarray(np.array([[1.0, 100.0, 1e4], [10.0, 1000.0, 1e5]]).reshape(1, 1, 2, 3))
        eq(nb.conv2d(x, w, bias=np.array([1.0, 2.0, 3.0])).numpy().ravel(), [22, 2102, 210003])

    def test_nchw_oihw_layouts(self, backend):
        x = np.asarray(X3, np.float64).reshape(1, 1, 3, 3)
        w = np.asarray(W2, np.float64).reshape(1, 1, 2, 2)
        y = nb.conv2d(x, w, input_layout="NCHW", filter_layout="OIHW")
        assert y.shape == (1, 1, 2, 2)
        eq(np.asarray(y)[0, 0], [[37, 47], [67, 77]])


# =====================================================================================
# conv2d_transpose
# =====================================================================================
DY2 = [[1, 2],
       [3, 4]]


class TestConv2dTranspose:
    def test_stride_1_scatter(self, backend, dt):
        # out[i + a, j + b] += dy[i, j] * w[a, b]; H_out = (2 - 1)*1 + 1*1 + 1 = 3
        #   dy[0,0]=1 adds [[1,2],[3,4]] at (0,0); dy[0,1]=2 adds [[2,4],[6,8]] at (0,1)
        #   dy[1,0]=3 adds [[3,6],[9,12]] at (1,0); dy[1,1]=4 adds [[4,8],[12,16]] at (1,1)
        # (0,0)=1  (0,1)=2+2=4       (0,2)=4
        # (1,0)=3+3=6  (1,1)=4+6+6+4=20  (1,2)=8+8=16
        # (2,0)=9  (2,1)=12+12=24    (2,2)=16          sum = 100 = sum(dy)*sum(w)
        y = nb.conv2d_transpose(img(DY2, dt), hwio(W2, dt))
        assert y.shape == (1, 3, 3, 1) and y.dtype == dt
        eq(plane(y), [[1, 4, 4], [6, 20, 16], [9, 24, 16]])

    def test_stride_2_scatter(self, backend):
        # out[2i + a, 2j + b] = dy[i, j] * w[a, b], no overlap; H_out = (2-1)*2 + 1 + 1 = 4
        want = [[1, 2, 2, 4],     # dy00*w0. | dy01*w0.
                [3, 4, 6, 8],     # dy00*w1. | dy01*w1.
                [3, 6, 4, 8],     # dy10*w0. | dy11*w0.
                [9, 12, 12, 16]]  # dy10*w1. | dy11*w1.
        eq(plane(nb.conv2d_transpose(img(DY2), hwio(W2), stride=2)), want)

    def test_padding_crops(self, backend):
        # stride 1, padding 1: H_out = (2-1) - 2 + 1 + 1 = 1: the centre of the 3x3 result
        eq(plane(nb.conv2d_transpose(img(DY2), hwio(W2), padding=1)), [[20]])
        # stride 2, padding 1: H_out = 2 - 2 + 1 + 1 = 2: rows/cols 1..2 of the 4x4 result
        eq(plane(nb.conv2d_transpose(img(DY2), hwio(W2), stride=2, padding=1)), [[4, 6], [6, 4]])

    def test_output_paddings(self, backend):
        # stride 2, padding 1, output_paddings 1: H_out = 2 - 2 + 1 + 1 + 1 = 3,
        # rows/cols 1..3 of the uncropped 4x4 result:
        #   [4, 6, 8], [6, 4, 8], [12, 12, 16]
        y = nb.conv2d_transpose(img(DY2), hwio(W2), stride=2, padding=1, output_paddings=1)
        eq(plane(y), [[4, 6, 8], [6, 4, 8], [12, 12, 16]])
        # stride 2, no padding, output_paddings (1, 0): one extra zero row at the bottom
        y = nb.conv2d_transpose(img(DY2), hwio(W2), stride=2, output_paddings=(1, 0))
        eq(plane(y), [[1, 2, 2, 4], [3, 4, 6, 8], [3, 6, 4, 8], [9, 12, 12, 16], [0, 0, 0, 0]])

    def test_dilation_and_output_padding_beyond_stride(self, backend):
        # dy = [[1]], dilation 2: the taps land at (0,0), (0,2), (2,0), (2,2);
        # H_out = 0 + 2*1 + 0 + 1 = 3
        eq(plane(nb.conv2d_transpose(img([[1]]), hwio(W2), dilation=2)),
           [[1, 0, 2], [0, 0, 0], [3, 0, 4]])
        # output_paddings 1 >= stride 1 (allowed since < dilation 2): the extra row/column
        # gets no contribution, only the bias 0.5.  H_out = 3 + 1 = 4
        y = nb.conv2d_transpose(img([[1]]), hwio(W2), dilation=2, output_paddings=1,
                                bias=np.array([0.5]))
        eq(plane(y), [[1.5, 0.5, 2.5, 0.5], [0.5, 0.5, 0.5, 0.5], [3.5, 0.5, 4.5, 0.5], [0.5] * 4])

    def test_channels_hwoi_and_bias(self, backend):
        # 1x1 kernel, filter (Kh, Kw, C_out, C_in) = (1, 1, 3, 2): out[o] = sum_c x[c] * f[o, c]
        # f = [[1, 10], [100, 1000], [1e4, 1e5]], x = [1, 2]
        # -> [1 + 20, 100 + 2000, 1e4 + 2e5] + bias [1, 2, 3] = [22, 2102, 210003]
        x = nb.asarray(np.array([1.0, 2.0]).reshape(1, 1, 1, 2))
        f = nb.asarray(np.array([[1.0, 10.0], [100.0, 1000.0], [1e4, 1e5]]).reshape(1, 1, 3, 2))
        eq(nb.conv2d_transpose(x, f).numpy().ravel(), [21, 2100, 210000])
        eq(nb.conv2d_transpose(x, f, bias=np.array([1.0, 2.0, 3.0])).numpy().ravel(), [22, 2102, 210003])

    @pytest.mark.parametrize("kw", [
        dict(),
        dict(stride=2),
        dict(stride=(2, 3), padding=(1, 0, 2, 1)),
        dict(stride=2, padding=1, output_paddings=1),
        dict(stride=3, output_paddings=(2, 1)),
        dict(dilation=2, padding=2),
        dict(dilation=(2, 1), stride=(2, 1), output_paddings=(1, 0)),
        dict(stride=2, dilation=2, padding=(0, 1, 1, 0), output_paddings=1),
        dict(groups=2, stride=2, output_paddings=1),
    ], ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()) or "default")
    def test_equals_vjp_of_conv2d_same_filter(self, backend, kw):
        # conv2d_transpose(dy, w) == d/dx <dy, conv2d(x, w)> with the very same filter array w,
        # for x of the transpose's output size (output_paddings picks among those sizes).
        r = np.random.default_rng(3)
        groups = kw.get("groups", 1)
        cin, cout = 2 * groups, 3 * groups
        w = nb.asarray(r.standard_normal((3, 2, cin // groups, cout)))
        dy = nb.asarray(r.standard_normal((2, 3, 4, cout)))
        y = nb.conv2d_transpose(dy, w, **kw)
        conv_kw = {k: v for k, v in kw.items() if k != "output_paddings"}
        x = nb.zeros((2, y.shape[1], y.shape[2], cin), np.float64)
        out, pullback = nb.vjp(lambda x: nb.conv2d(x, w, **conv_kw), x)
        assert out.shape == dy.shape  # the conv2d of that size gives dy's size back
        (dx,) = pullback(dy)
        np.testing.assert_allclose(y.numpy(), dx.numpy(), rtol=1e-13, atol=1e-13)

    def test_output_padding_not_below_stride_adds_untouched_rows(self, backend):
        # stride 1, dilation 2, output_paddings (1, 1): conv2d of the larger size would have a
        # larger output, so this is not a VJP; the extra last row/column get bias only.
        r = np.random.default_rng(4)
        w = nb.asarray(r.standard_normal((3, 2, 2, 3)))
        dy = nb.asarray(r.standard_normal((2, 3, 4, 3)))
        b = nb.asarray(r.standard_normal(2))
        base = nb.conv2d_transpose(dy, w, dilation=2, bias=b).numpy()
        y = nb.conv2d_transpose(dy, w, dilation=2, output_paddings=1, bias=b).numpy()
        assert y.shape == (2, base.shape[1] + 1, base.shape[2] + 1, 2)
        np.testing.assert_array_equal(y[:, :-1, :-1], base)
        np.testing.assert_array_equal(y[:, -1], np.broadcast_to(b.numpy(), y[:, -1].shape))
        np.testing.assert_array_equal(y[:, :, -1], np.broadcast_to(b.numpy(), y[:, :, -1].shape))


# =====================================================================================
# output sizes
# =====================================================================================
# (H, k, s, d, pt, pb, expected): floor((H + pt + pb - d*(k - 1) - 1) / s) + 1
CONV_SIZES = [
    (5, 3, 1, 1, 0, 0, 3),    # (5 - 2 - 1)/1 + 1 = 3
    (5, 3, 2, 1, 1, 1, 3),    # (5 + 2 - 2 - 1)/2 + 1 = 2 + 1 = 3
    (7, 3, 2, 2, 0, 0, 2),    # (7 - 4 - 1)/2 + 1 = 1 + 1 = 2
    (8, 2, 3, 1, 0, 1, 3),    # floor((8 + 1 - 1 - 1)/3) + 1 = floor(7/3) + 1 = 3
    (1, 1, 1, 1, 0, 0, 1),    # (1 - 0 - 1)/1 + 1 = 1
    (4, 5, 1, 1, 2, 2, 4),    # (4 + 4 - 4 - 1)/1 + 1 = 4
    (10, 3, 4, 3, 1, 0, 2),   # (10 + 1 - 6 - 1)/4 + 1 = 1 + 1 = 2
    (6, 4, 5, 1, 3, 2, 2),    # floor((6 + 5 - 3 - 1)/5) + 1 = floor(7/5) + 1 = 2
    (9, 1, 4, 1, 0, 0, 3),    # floor(8/4) + 1 = 3
    (2, 3, 1, 1, 0, 1, 1),    # (2 + 1 - 2 - 1)/1 + 1 = 1
]
# (H, k, s, d, pt, pb, op, expected): (H - 1)*s - (pt + pb) + d*(k - 1) + op + 1
TRANSPOSE_SIZES = [
    (3, 3, 2, 1, 1, 1, 0, 5),   # 2*2 - 2 + 2 + 0 + 1 = 5
    (3, 3, 2, 1, 1, 1, 1, 6),   # 4 - 2 + 2 + 1 + 1 = 6
    (2, 2, 2, 1, 0, 0, 0, 4),   # 2 - 0 + 1 + 0 + 1 = 4
    (4, 3, 1, 2, 1, 0, 0, 7),   # 3 - 1 + 4 + 0 + 1 = 7
    (3, 2, 3, 1, 0, 2, 2, 8),   # 6 - 2 + 1 + 2 + 1 = 8
    (5, 1, 2, 1, 0, 0, 1, 10),  # 8 - 0 + 0 + 1 + 1 = 10
    (1, 3, 1, 1, 1, 1, 0, 1),   # 0 - 2 + 2 + 0 + 1 = 1
]


@pytest.mark.parametrize("H,k,s,d,pt,pb,want", CONV_SIZES)
def test_window_output_sizes(backend, H, k, s, d, pt, pb, want):
    # the same formula along H (with these numbers) and along W (with fixed ones: W = 3, k = 1)
    x = nb.zeros((1, H, 3, 2), np.float64)
    w = nb.zeros((k, 1, 2, 1), np.float64)
    geo = dict(stride=(s, 1), dilation=(d, 1), padding=(pt, pb, 0, 0))
    assert nb.conv2d(x, w, **geo).shape == (1, want, 3, 1)
    # and along W, transposing the roles
    xw = nb.zeros((1, 3, H, 2), np.float64)
    ww = nb.zeros((1, k, 2, 1), np.float64)
    assert nb.conv2d(xw, ww, stride=(1, s), dilation=(1, d), padding=(0, 0, pt, pb)).shape == (1, 3, want, 1)
    if max(pt, pb) <= k:  # pools (any padding is accepted, but keep it sensible)
        for pool in (nb.max_pool2d, nb.avg_pool2d):
            y = pool(x, kernel_size=(k, 1), **geo)
            assert y.shape == (1, want, 3, 2)


@pytest.mark.parametrize("H,k,s,d,pt,pb,op,want", TRANSPOSE_SIZES)
def test_transpose_output_sizes(backend, H, k, s, d, pt, pb, op, want):
    x = nb.zeros((1, H, 2, 1), np.float64)
    w = nb.zeros((k, 1, 1, 1), np.float64)
    y = nb.conv2d_transpose(x, w, stride=(s, 1), dilation=(d, 1), padding=(pt, pb, 0, 0),
                            output_paddings=(op, 0))
    assert y.shape == (1, want, 2, 1)
    # conv2d maps the transpose's output size back to H
    back = nb.conv2d(nb.zeros((1, want, 2, 1), np.float64), w, stride=(s, 1), dilation=(d, 1),
                     padding=(pt, pb, 0, 0))
    assert back.shape[1] == H


# =====================================================================================
# max_pool2d
# =====================================================================================
def grad_of(f, x, ct):
    """The VJP of f at x for the cotangent ct (a 2-D list -> (1, Ho, Wo, 1))."""
    _, pb = nb.vjp(f, x)
    return pb(img(ct, x.dtype))[0]


class TestMaxPool:
    def test_basic_and_stride_default(self, backend, dt):
        # 4x4 arange 0..15, k = 2, stride None -> 2: block maxima 5, 7, 13, 15
        x = img(np.arange(16).reshape(4, 4), dt)
        y = nb.max_pool2d(x, kernel_size=2)
        assert y.shape == (1, 2, 2, 1) and y.dtype == dt
        eq(plane(y), [[5, 7], [13, 15]])
        eq(plane(nb.max_pool2d(x, kernel_size=2, stride=1)), [[5, 6, 7], [9, 10, 11], [13, 14, 15]])

    def test_padding_is_minus_infinity(self, backend, dt):
        # x = -[[1..9]], k = 2, s = 1, padding 1: H_out = 4.  Window (i, j) covers x rows i-1..i,
        # cols j-1..j; with zero padding every border output would be 0, with -inf padding:
        # row 0: {-1} -> -1, {-1,-2} -> -1, {-2,-3} -> -2, {-3} -> -3
        # row 1: {-1,-4} -> -1, {-1,-2,-4,-5} -> -1, -2, {-3,-6} -> -3
        # row 2: {-4,-7} -> -4, -4, -5, -6
        # row 3: {-7} -> -7, {-7,-8} -> -7, -8, -9
        x = img(-np.asarray(X3), dt)
        y = plane(nb.max_pool2d(x, kernel_size=2, stride=1, padding=1))
        eq(y, [[-1, -1, -2, -3], [-1, -1, -2, -3], [-4, -4, -5, -6], [-7, -7, -8, -9]])
        assert np.all(y < 0)

    def test_window_wholly_in_padding(self, backend, dt):
        # k = 1, padding 1 around a 1x1 input: every output but the centre sees only padding
        y = plane(nb.max_pool2d(img([[-5]], dt), kernel_size=1, stride=1, padding=1))
        inf = np.inf
        eq(y, [[-inf, -inf, -inf], [-inf, -5, -inf], [-inf, -inf, -inf]])
        # H = 2, padding (2, 0, 0, 0), k = (2, 1), s = (2, 1): H_out = floor((2+2-1-1)/2)+1 = 2;
        # the first window covers padded rows 0, 1: wholly padding.
        y = plane(nb.max_pool2d(img([[3], [4]], dt), kernel_size=(2, 1), stride=(2, 1), padding=(2, 0, 0, 0)))
        eq(y, [[-inf], [4]])
        # no cotangent reaches the input from the all-padding windows
        g = grad_of(lambda x: nb.max_pool2d(x, kernel_size=1, stride=1, padding=1), img([[-5]], dt),
                    [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
        eq(plane(g), [[5]])

    def test_minus_infinity_input_gradient_stays_in_bounds(self, backend):
        # all cells -inf, k = 2, s = 1, padding 1: outputs are all -inf, but the gradient goes to
        # the first *in-bounds* cell of each window (never to padding):
        # window (i, j) covers rows i-1..i, cols j-1..j; first in-bounds = (max(i-1,0), max(j-1,0))
        # (0,0) <- windows (0,0),(0,1),(1,0),(1,1) = 4; (0,1) <- (0,2),(1,2) = 2;
        # (1,0) <- (2,0),(2,1) = 2; (1,1) <- (2,2) = 1.  Total 9 = number of windows.
        x = img(np.full((2, 2), -np.inf))
        f = lambda x: nb.max_pool2d(x, kernel_size=2, stride=1, padding=1)  # noqa: E731
        assert np.all(plane(f(x)) == -np.inf)
        eq(plane(grad_of(f, x, np.ones((3, 3)))), [[4, 2], [2, 1]])

    def test_ties_first_in_row_major_order(self, backend, dt):
        k2 = lambda x: nb.max_pool2d(x, kernel_size=2)  # noqa: E731
        # all equal: the first cell (0,0) takes it all
        eq(plane(grad_of(k2, img([[5, 5], [5, 5]], dt), [[1]])), [[1, 0], [0, 0]])
        # diagonal tie (0,1) vs (1,0): row-major visits (0,1) first (column-major would pick (1,0))
        eq(plane(grad_of(k2, img([[1, 9], [9, 1]], dt), [[1]])), [[0, 1], [0, 0]])
        # horizontal tie in a 2x3 window: (0,1) and (0,2) -> (0,1)
        f23 = lambda x: nb.max_pool2d(x, kernel_size=(2, 3))  # noqa: E731
        eq(plane(grad_of(f23, img([[1, 9, 9], [2, 3, 4]], dt), [[1]])), [[0, 1, 0], [0, 0, 0]])
        # horizontal tie on the second row: (1,0) and (1,2) -> (1,0)
        eq(plane(grad_of(f23, img([[1, 2, 3], [7, 4, 7]], dt), [[1]])), [[0, 0, 0], [1, 0, 0]])
        # vertical tie in a 3x2 window: (1,0) and (2,0) -> (1,0)
        f32 = lambda x: nb.max_pool2d(x, kernel_size=(3, 2))  # noqa: E731
        eq(plane(grad_of(f32, img([[1, 2], [9, 3], [9, 4]], dt), [[1]])), [[0, 0], [1, 0], [0, 0]])
        # vertical tie in the second column: (0,1) and (2,1) -> (0,1)
        eq(plane(grad_of(f32, img([[1, 8], [2, 3], [4, 8]], dt), [[1]])), [[0, 1], [0, 0], [0, 0]])

    def test_tie_with_dilation_and_padding(self, backend):
        # k = 2, dilation 2, padding 1 on a 3x3 of sevens: H_out = floor((5 - 2 - 1)/1) + 1 = 3.
        # Window (i, j) taps rows i-1, i+1 and cols j-1, j+1; the first in-bounds tap wins.
        # (0,0): taps (-1,-1),(-1,1),(1,-1),(1,1) -> (1,1)   (0,1): (1,0)   (0,2): (1,1)
        # (1,0): taps (0,-1),(0,1),(2,-1),(2,1) -> (0,1)     (1,1): (0,0)   (1,2): (0,1)
        # (2,0): (1,1)   (2,1): (1,0)   (2,2): (1,1)
        # counts: (1,1) 4, (1,0) 2, (0,1) 2, (0,0) 1
        x = img(np.full((3, 3), 7.0))
        f = lambda x: nb.max_pool2d(x, kernel_size=2, stride=1, dilation=2, padding=1)  # noqa: E731
        eq(plane(f(x)), np.full((3, 3), 7.0))
        eq(plane(grad_of(f, x, np.ones((3, 3)))), [[1, 2, 0], [2, 4, 0], [0, 0, 0]])

    def test_overlapping_windows_add(self, backend, dt):
        # k = 2, s = 1 on a 3x3 with 9 in the middle: all four windows pick the centre
        # -> cotangents 1 + 2 + 3 + 4 = 10 land on (1,1)
        f = lambda x: nb.max_pool2d(x, kernel_size=2, stride=1)  # noqa: E731
        eq(plane(grad_of(f, img([[1, 2, 3], [4, 9, 5], [6, 7, 8]], dt), [[1, 2], [3, 4]])),
           [[0, 0, 0], [0, 10, 0], [0, 0, 0]])
        # X3: the maxima are (1,1), (1,2), (2,1), (2,2)
        eq(plane(grad_of(f, img(X3, dt), [[1, 2], [3, 4]])), [[0, 0, 0], [0, 1, 2], [0, 3, 4]])
        # k = 3, s = 1, padding 1 on X3: every window containing 9 = (2,2) picks it:
        # windows (1,1), (1,2), (2,1), (2,2) -> 4; (0,0) picks 5 = (1,1); (0,1) picks 6;
        # (0,2) picks 6; (1,0) picks 8; (2,0) picks 8  -> (1,2) gets 2, (2,1) gets 2
        g3 = lambda x: nb.max_pool2d(x, kernel_size=3, stride=1, padding=1)  # noqa: E731
        eq(plane(g3(img(X3, dt))), [[5, 6, 6], [8, 9, 9], [8, 9, 9]])
        eq(plane(grad_of(g3, img(X3, dt), np.ones((3, 3)))), [[0, 0, 0], [0, 1, 2], [0, 2, 4]])

    def test_nan_propagates(self, backend, dt):
        nan = np.nan
        f = lambda x: nb.max_pool2d(x, kernel_size=2, stride=1)  # noqa: E731
        # NaN at (0,0): only window (0,0) contains it
        y = plane(f(img([[nan, 2, 3], [4, 5, 6], [7, 8, 9]], dt)))
        assert np.isnan(y[0, 0])
        eq(y[0, 1:], [6])
        eq(y[1], [8, 9])
        # NaN after a larger value and before one, in window order
        assert np.isnan(plane(nb.max_pool2d(img([[9, nan]], dt), kernel_size=(1, 2)))[0, 0])
        assert np.isnan(plane(nb.max_pool2d(img([[nan, 9]], dt), kernel_size=(1, 2)))[0, 0])
        assert np.isnan(plane(nb.max_pool2d(img([[1, 2], [nan, 9]], dt), kernel_size=2))[0, 0])
        # the cotangent goes to the NaN (the first NaN)
        g = grad_of(lambda x: nb.max_pool2d(x, kernel_size=2), img([[9, 1], [nan, nan]], dt), [[1]])
        eq(plane(g), [[0, 0], [1, 0]])

    def test_jvp_picks_tangent_at_argmax(self, backend, dt):
        # X3, k = 2, s = 1: argmaxes (1,1), (1,2), (2,1), (2,2); tangent t = 100 * [[0..8]]
        # -> t at those cells: 400, 500, 700, 800
        t = img(100 * np.arange(9).reshape(3, 3), dt)
        f = lambda x: nb.max_pool2d(x, kernel_size=2, stride=1)  # noqa: E731
        out, tan = nb.jvp(f, (img(X3, dt),), (t,))
        eq(plane(out), [[5, 6], [8, 9]])
        eq(plane(tan), [[400, 500], [700, 800]])
        # with a tie (0,1) vs (1,0): the tangent at the first, (0,1): 20
        _, tan = nb.jvp(lambda x: nb.max_pool2d(x, kernel_size=2), (img([[1, 9], [9, 1]], dt),),
                        (img([[10, 20], [30, 40]], dt),))
        eq(plane(tan), [[20]])

    def test_dilation(self, backend):
        # k = 2, dilation 2 on X3: one window, taps 1, 3, 7, 9 -> 9; with the 9 -> -9, 7 wins
        eq(plane(nb.max_pool2d(img(X3), kernel_size=2, dilation=2)), [[9]])
        eq(plane(nb.max_pool2d(img([[1, 2, 3], [4, 5, 6], [7, 8, -9]]), kernel_size=2, dilation=2)), [[7]])

    def test_channels_independent(self, backend):
        # two channels pooled separately: channel 1 is -channel 0
        a = np.arange(4.0).reshape(2, 2)
        x = nb.asarray(np.stack([a, -a], axis=-1)[None])
        eq(nb.max_pool2d(x, kernel_size=2).numpy().ravel(), [3, 0])


# =====================================================================================
# avg_pool2d
# =====================================================================================
class TestAvgPool:
    def test_count_include_pad(self, backend, dt):
        # ones 3x3, k = 3, s = 1, padding 1: every divisor is 9;
        # corner windows see 2x2 = 4 ones -> 4/9, edge windows 2x3 = 6 -> 6/9, centre 9/9
        y = plane(nb.avg_pool2d(img(np.ones((3, 3)), dt), kernel_size=3, stride=1, padding=1))
        want = np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]], dt) / dt(9)
        np.testing.assert_array_equal(y, want)
        assert y.dtype == dt

    def test_stride_defaults_to_kernel(self, backend, dt):
        # 4x4 arange, k = 2: block means (0+1+4+5)/4 = 2.5, (2+3+6+7)/4 = 4.5,
        # (8+9+12+13)/4 = 10.5, (10+11+14+15)/4 = 12.5
        x = img(np.arange(16).reshape(4, 4), dt)
        eq(plane(nb.avg_pool2d(x, kernel_size=2)), [[2.5, 4.5], [10.5, 12.5]])
        eq(plane(nb.avg_pool2d(x, kernel_size=2, stride=None)), [[2.5, 4.5], [10.5, 12.5]])
        # k = (1, 4): row means 1.5, 5.5, 9.5, 13.5
        eq(plane(nb.avg_pool2d(x, kernel_size=(1, 4))), [[1.5], [5.5], [9.5], [13.5]])

    def test_gradient_counts_padded_windows(self, backend):
        # d/dx sum(avg_pool(x, k=3, s=1, p=1)) on 3x3: each cell gets (windows covering it)/9:
        # corner 4/9, edge 6/9, centre 9/9 -- the same picture as the forward on ones.
        f = lambda x: nb.avg_pool2d(x, kernel_size=3, stride=1, padding=1)  # noqa: E731
        g = grad_of(f, img(np.zeros((3, 3))), np.ones((3, 3)))
        np.testing.assert_allclose(plane(g), np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]) / 9, rtol=1e-15)
        # and it is linear: the JVP is the op itself
        t = img(np.arange(9.0).reshape(3, 3))
        _, tan = nb.jvp(f, (img(np.ones((3, 3))),), (t,))
        np.testing.assert_array_equal(tan.numpy(), f(t).numpy())

    def test_asymmetric_padding_and_dilation(self, backend):
        # X3, k = 2, dilation 2: one window, (1 + 3 + 7 + 9)/4 = 5
        eq(plane(nb.avg_pool2d(img(X3), kernel_size=2, dilation=2)), [[5]])
        # X3, k = 2, s = 2, padding (1, 0, 0, 1): padded 4x4
        #   0 0 0 0 / 1 2 3 0 / 4 5 6 0 / 7 8 9 0 -> windows:
        #   (0+0+1+2)/4 = 0.75, (0+0+3+0)/4 = 0.75, (4+5+7+8)/4 = 6, (6+0+9+0)/4 = 3.75
        eq(plane(nb.avg_pool2d(img(X3), kernel_size=2, padding=(1, 0, 0, 1))), [[0.75, 0.75], [6, 3.75]])


# =====================================================================================
# batch_norm (nabla.nn.functional.batch_norm): channels last, statistics over the rest
# =====================================================================================
class TestBatchNorm:
    # x (2, 1, 2, 2): four rows (n, w), two channels.
    #   channel 0: 1, 3, 1, 3 -> mean 2, var (1 + 1 + 1 + 1)/4 = 1, xhat -1, 1, -1, 1
    #   channel 1: 0, 0, 4, 4 -> mean 2, var (4 + 4 + 4 + 4)/4 = 4, xhat -1, -1, 1, 1
    X = np.array([[1, 0], [3, 0], [1, 4], [3, 4]]).reshape(2, 1, 2, 2)
    GAMMA, BETA = [2.0, -1.0], [1.0, 0.5]

    @staticmethod
    def channels(t):
        """(4, 2): the rows of each channel, in (n, w) order."""
        return np.asarray(t).reshape(4, 2)

    def test_train(self, backend, dt):
        F = nb.nn.functional
        x = nb.asarray(self.X.astype(dt))
        # eps = 0 keeps every number exact: y = gamma * xhat + beta
        y = F.batch_norm(x, weight=np.array(self.GAMMA, dt), bias=np.array(self.BETA, dt), training=True, eps=0.0)
        assert y.dtype == dt and y.shape == (2, 1, 2, 2)
        eq(self.channels(y), [[-1, 1.5], [3, 1.5], [-1, -0.5], [3, -0.5]])

    def test_train_gradients(self, backend, dt):
        # L = sum(y * u); channel 0: u = 1, 0, 0, 0; channel 1: u = 1, 1, 1, 1.
        #   dbeta = sum u = 1, 4;  dgamma = sum u * xhat = -1, 0
        #   dx = gamma * r * (u - mean(u) - xhat * mean(u * xhat)):
        #   channel 0: 2 * 1 * (u - 1/4 + xhat/4) = 2 * (1/2, 0, -1/2, 0) = 1, 0, -1, 0
        #   channel 1: a constant cotangent moves no x: -1 * 1/2 * (1 - 1 - 0) = 0
        F = nb.nn.functional
        u = nb.asarray(np.array([[1, 1], [0, 1], [0, 1], [0, 1]], dt).reshape(2, 1, 2, 2))
        loss = lambda x, w, b: nb.sum(F.batch_norm(x, weight=w, bias=b, training=True, eps=0.0) * u)  # noqa: E731
        dx, dw, db = nb.grad(loss, argnums=(0, 1, 2))(self.X.astype(dt), np.array(self.GAMMA, dt),
                                                     np.array(self.BETA, dt))
        eq(self.channels(dx), [[1, 0], [0, 0], [-1, 0], [0, 0]])
        eq(dw, [-1, 0])
        eq(db, [1, 4])

    def test_eval(self, backend, dt):
        # running mean 1, -1; running var 3, 0; eps 1: sqrt(var + eps) = 2, 1
        #   channel 0: (x - 1)/2 * 2 + 1 = x; channel 1: (x + 1)/1 * -1 + 0.5 = -x - 0.5
        F = nb.nn.functional
        y = F.batch_norm(self.X.astype(dt), np.array([1, -1], dt), np.array([3, 0], dt),
                         np.array(self.GAMMA, dt), np.array(self.BETA, dt), eps=1.0)
        eq(self.channels(y), [[1, -0.5], [3, -0.5], [1, -4.5], [3, -4.5]])
