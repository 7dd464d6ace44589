"""Pooling: ``max_pool2d`` and ``avg_pool2d``.

Max pooling closes over three primitives.  The forward kernel also returns,
for every output, the flat index ``h*W + w`` of the input cell it came from
(its argmax: the first maximum in row-major window order).  Given that
argmax, max pooling is locally the linear map ``gather``, whose adjoint is
``scatter``, whose adjoint is ``gather`` again::

    max_pool2d(x)        VJP: scatter(g, argmax)   JVP: gather(t, argmax)
    gather(t, argmax)    linear; VJP: scatter      JVP: gather
    scatter(g, argmax)   linear; VJP: gather       JVP: scatter

Average pooling is linear: its JVP is itself and its VJP is its transpose,
which is linear too, with average pooling as its own VJP.
"""
from __future__ import annotations

from .. import _args
from .._autodiff import Primitive

__all__ = ["max_pool2d", "avg_pool2d"]

# Max pooling is piecewise linear: at a fixed argmax it is the gather
# t -> t[argmax], whose transpose is the scatter-add.  Gather and scatter are
# linear, each the other's transpose.
_max_pool = Primitive("max_pool2d", kernel="max_pool2d", aux=("argmax",))
_gather = Primitive("max_pool2d_gather", kernel="max_pool2d_gather")
_scatter = Primitive("max_pool2d_scatter", kernel="max_pool2d_scatter")

_max_pool.defvjp(lambda g, y, x, *, argmax, **p: _scatter(g, argmax=argmax, in_hw=x.shape[1:3]))
_max_pool.defjvp(lambda t, y, x, *, argmax, **p: _gather(t, argmax=argmax))
_gather.deflinear(lambda g, t, *, argmax: _scatter(g, argmax=argmax, in_hw=t.shape[1:3]))
_scatter.deflinear(lambda g, g0, *, argmax, in_hw: _gather(g, argmax=argmax))

# Average pooling is linear; its transpose spreads each cotangent over its window.
_avg_pool = Primitive("avg_pool2d", kernel="avg_pool2d")
_avg_pool_t = Primitive("avg_pool2d_transpose", kernel="avg_pool2d_transpose")

_avg_pool.deflinear(lambda g, x, *, out_hw, **win: _avg_pool_t(g, in_hw=x.shape[1:3], **win))
_avg_pool_t.deflinear(lambda g, g0, *, in_hw, **win: _avg_pool(g, out_hw=g0.shape[1:3], **win))


def _window(op, x, kernel_size, stride, padding, dilation):
    """Check a pooling call; returns (tensor, window parameters, output size)."""
    (x,) = _args.float_tensors(op, x=x)
    _args.check_rank(op, "x", x, 4, "N, H, W, C")
    _args.positive_channels(op, "x", x.shape[3], x.shape)
    k = _args.pair(op, "kernel_size", kernel_size)
    s = k if stride is None else _args.pair(op, "stride", stride)
    d = _args.pair(op, "dilation", dilation)
    p = _args.padding4(op, padding)
    out_hw = (_args.window_out_size(op, "height", x.shape[1], k[0], s[0], d[0], p[0], p[1]),
              _args.window_out_size(op, "width", x.shape[2], k[1], s[1], d[1], p[2], p[3]))
    return x, dict(kernel_size=k, stride=s, padding=p, dilation=d), out_hw


def max_pool2d(x, *, kernel_size, stride=None, padding=0, dilation=(1, 1)):
    """Apply 2D max pooling over an NHWC input.

    Windows of ``kernel_size`` (dilated by ``dilation``) at ``stride`` (default:
    ``kernel_size``) over the input padded with **-inf** (as Nabla, PyTorch and
    JAX do, although Nabla's page says zero-padding); a window wholly in padding
    gives -inf.  A NaN in a window makes its output NaN.  Output
    (N, H_out, W_out, C), ``H_out = floor((H + pt + pb - d_h*(k_h - 1) - 1) / s_h) + 1``.

    Gradient: each output's cotangent goes to the first maximum of its window in
    row-major order (as PyTorch); overlapping windows add.  JVP: the tangent at
    that same position.
    """
    x, win, out_hw = _window("max_pool2d", x, kernel_size, stride, padding, dilation)
    return _max_pool(x, out_hw=out_hw, **win)


def avg_pool2d(x, *, kernel_size, stride=None, padding=0, dilation=(1, 1)):
    """Apply 2D average pooling over an NHWC input.

    The mean of each window of the **zero**-padded input, always divided by
    ``k_h * k_w`` (padded cells count: PyTorch's ``count_include_pad=True``).
    Same windows and output size as :func:`max_pool2d`.  Linear: its VJP is its
    transpose and its JVP is itself.
    """
    x, win, out_hw = _window("avg_pool2d", x, kernel_size, stride, padding, dilation)
    return _avg_pool(x, out_hw=out_hw, **win)
