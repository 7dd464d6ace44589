"""Pooling: ``max_pool2d``, ``avg_pool2d`` and the ops built on them
(``max_unpool2d``, the adaptive and global pools).

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

from typing import Any, Literal, cast, overload

import numpy as np

from .. import _args
from .._autodiff import Primitive, bind
from .._tensor import Tensor
from .._typing import ArrayLike, IntPair, OptionalIntPair, Padding
from .basic import permute, reshape

__all__ = ["max_pool2d", "avg_pool2d", "max_unpool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
           "global_avg_pool2d", "global_max_pool2d"]

# Max pooling is piecewise linear: at a fixed argmax it is the gather
# t -> t[argmax], whose transpose is the scatter-add.  Gather and scatter are
# linear, each the other's transpose.
_max_pool: Primitive = Primitive("max_pool2d", kernel="max_pool2d", aux=("argmax",))
_gather: Primitive = Primitive("max_pool2d_gather", kernel="max_pool2d_gather")
_scatter: Primitive = Primitive("max_pool2d_scatter", kernel="max_pool2d_scatter")

_max_pool.defvjp(lambda g, y, x, *, argmax, **p: _scatter(g, argmax=argmax, in_hw=x.shape[1:3]))
_max_pool.defjvp(lambda t, y, x, *, argmax, **p: _gather(t, argmax=argmax))
_gather.deflinear(lambda g, t, *, argmax: _scatter(g, argmax=argmax, in_hw=t.shape[1:3]))
_scatter.deflinear(lambda g, g0, *, argmax, in_hw: _gather(g, argmax=argmax))

# Average pooling is linear; its transpose spreads each cotangent over its window.
_avg_pool: Primitive = Primitive("avg_pool2d", kernel="avg_pool2d")
_avg_pool_t: Primitive = Primitive("avg_pool2d_transpose", kernel="avg_pool2d_transpose")

_avg_pool.deflinear(lambda g, x, *, out_hw, **win: _avg_pool_t(g, in_hw=x.shape[1:3], **win))
_avg_pool_t.deflinear(lambda g, g0, *, in_hw, **win: _avg_pool(g, out_hw=g0.shape[1:3], **win))


# Adaptive max pooling with bins of unequal size: a kernel of its own (reference
# first, its Cython kernel later: the path docs/contributing.rst describes).
# Its argmax uses max pooling's convention, so gather/scatter serve as its rules.
_adaptive_max: Primitive = Primitive("adaptive_max_pool2d", kernel="adaptive_max_pool2d", aux=("argmax",))
_adaptive_max.defvjp(lambda g, y, x, *, argmax, **p: _scatter(g, argmax=argmax, in_hw=x.shape[1:3]))
_adaptive_max.defjvp(lambda t, y, x, *, argmax, **p: _gather(t, argmax=argmax))


def _input(op: str, x: ArrayLike, input_layout: str | None) -> tuple[Tensor, bool]:
    """The NHWC tensor, and whether to give the result back in NCHW."""
    t: Tensor
    (t,) = _args.float_tensors(op, x=x)
    nchw = _args.layout(op, "input_layout", input_layout, ("NHWC", "NCHW")) == "NCHW"
    _args.check_rank(op, "x", t, 4, "N, C, H, W" if nchw else "N, H, W, C")
    if nchw:
        t = permute(t, (0, 2, 3, 1))
    _args.positive_channels(op, "x", t.shape[3], t.shape)
    return t, nchw


def _output(t: Tensor, nchw: bool) -> Tensor:
    return permute(t, (0, 3, 1, 2)) if nchw else t


def _window(op: str, x: Tensor, kernel_size: IntPair, stride: OptionalIntPair, padding: Padding,
            dilation: IntPair, ceil_mode: bool = False
            ) -> tuple[dict[str, Any], tuple[int, int], tuple[int, int, int, int]]:
    """Window parameters of a pooling call on NHWC ``x``: (kernel-ready parameters,
    output size, the user's padding).  ``ceil_mode`` adds cells after the
    bottom/right padding (:func:`nabla._args.ceil_mode_extra`)."""
    k = _args.pair(op, "kernel_size", kernel_size)
    s = k if stride is None else _args.pair(op, "stride", stride)
    d = _args.pair(op, "dilation", dilation)
    hw = x.shape[1:3]
    p = _args.window_padding(op, padding, hw, k, s, d)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"{op}: argument 'ceil_mode' must be a bool, got {ceil_mode!r}")
    if ceil_mode:
        eh = _args.ceil_mode_extra(hw[0], k[0], s[0], d[0], p[0], p[1])
        ew = _args.ceil_mode_extra(hw[1], k[1], s[1], d[1], p[2], p[3])
        run = (p[0], p[1] + eh, p[2], p[3] + ew)
    else:
        run = p
    out_hw = (_args.window_out_size(op, "height", hw[0], k[0], s[0], d[0], run[0], run[1]),
              _args.window_out_size(op, "width", hw[1], k[1], s[1], d[1], run[2], run[3]))
    _args.check_work(op, x.shape[0], out_hw[0], out_hw[1], x.shape[3], k[0], k[1])  # window visits
    return dict(kernel_size=k, stride=s, padding=run, dilation=d), out_hw, p


@overload
def max_pool2d(x: ArrayLike, *, kernel_size: IntPair, stride: OptionalIntPair = None, padding: Padding = 0,
               dilation: IntPair = (1, 1), ceil_mode: bool = False, return_indices: Literal[False] = False,
               input_layout: str | None = None) -> Tensor: ...


@overload
def max_pool2d(x: ArrayLike, *, kernel_size: IntPair, stride: OptionalIntPair = None, padding: Padding = 0,
               dilation: IntPair = (1, 1), ceil_mode: bool = False, return_indices: Literal[True],
               input_layout: str | None = None) -> tuple[Tensor, Tensor]: ...


@overload
def max_pool2d(x: ArrayLike, *, kernel_size: IntPair, stride: OptionalIntPair = None, padding: Padding = 0,
               dilation: IntPair = (1, 1), ceil_mode: bool = False, return_indices: bool,
               input_layout: str | None = None) -> Tensor | tuple[Tensor, Tensor]: ...


def max_pool2d(x: ArrayLike, *, kernel_size: IntPair, stride: OptionalIntPair = None, padding: Padding = 0,
               dilation: IntPair = (1, 1), ceil_mode: bool = False, return_indices: bool = False,
               input_layout: str | None = None) -> Tensor | tuple[Tensor, Tensor]:
    r"""Apply 2D max pooling over an NHWC input.

    Parameters
    ----------
    x : Tensor or array_like, (N, H, W, C)
        NHWC (``(N, C, H, W)`` with ``input_layout="NCHW"``), float32 or float64.
    kernel_size, stride, dilation : int or (int, int)
        ``stride`` defaults to ``kernel_size``.
    padding : int, (int, int), (int, int, int, int), "SAME" or "VALID"
        Padded cells hold **-inf** (as Nabla, PyTorch and JAX compute, although
        Nabla's page calls it zero-padding); a window wholly in padding gives -inf.
    ceil_mode : bool
        Round the output size up, keeping a last partial window that starts
        inside the input or its top/left padding (PyTorch's rule).
    return_indices : bool
        Also return the int64 flat index ``h*W + w`` of each maximum within its
        (n, c) plane (PyTorch's convention; -1 for a window wholly in padding),
        for :func:`max_unpool2d`.
    input_layout : {None, "NHWC", "NCHW"}

    Returns
    -------
    Tensor, (N, H_out, W_out, C)
        ``H_out = floor((H + p_t + p_b - d_h (k_h - 1) - 1) / s_h) + 1``; with
        ``return_indices``, ``(y, indices)``.

    Raises
    ------
    TypeError, ValueError
        A non-float input, a wrong rank, bad geometry, an output size below 1.

    Notes
    -----
    .. math::

        y_{n,i,j,c} = \max_{a < k_h,\, b < k_w} \tilde x_{n,\, i s_h + a d_h - p_t,\; j s_w + b d_w - p_l,\; c}

    A NaN in a window makes its output NaN.  Gradient: each output's cotangent
    goes to the **first** maximum of its window in row-major order (PyTorch's
    tie rule); overlapping windows add.  The JVP takes the tangent at that same
    position.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.array([[1., 3., 2., 0.], [4., 2., 1., 5.], [0., 1., 3., 3.], [2., 2., 0., 1.]],
    ...              np.float32).reshape(1, 4, 4, 1)
    >>> nb.max_pool2d(x, kernel_size=2).numpy()[0, :, :, 0]
    array([[4., 5.],
           [2., 3.]], dtype=float32)
    >>> y, idx = nb.max_pool2d(x, kernel_size=2, return_indices=True)
    >>> idx.numpy()[0, :, :, 0]                        # flat h*W + w; ties: the first in row order
    array([[ 4,  7],
           [12, 10]])
    """
    op = "max_pool2d"
    xt, nchw = _input(op, x, input_layout)
    win, out_hw, _ = _window(op, xt, kernel_size, stride, padding, dilation, ceil_mode)
    y, aux = bind(_max_pool, [xt], dict(out_hw=out_hw, **win))
    if not return_indices:
        return _output(y, nchw)
    return _output(y, nchw), _output(Tensor(aux["argmax"]), nchw)


def avg_pool2d(x: ArrayLike, *, kernel_size: IntPair, stride: OptionalIntPair = None, padding: Padding = 0,
               dilation: IntPair = (1, 1), ceil_mode: bool = False, count_include_pad: bool = True,
               input_layout: str | None = None) -> Tensor:
    r"""Apply 2D average pooling over an NHWC input.

    Parameters
    ----------
    x : Tensor or array_like, (N, H, W, C)
        NHWC (``(N, C, H, W)`` with ``input_layout="NCHW"``), float32 or float64.
    kernel_size, stride, dilation : int or (int, int)
        ``stride`` defaults to ``kernel_size``.
    padding : int, (int, int), (int, int, int, int), "SAME" or "VALID"
        Padded cells hold **zeros**.
    ceil_mode : bool
        As :func:`max_pool2d`; the cells added past the bottom/right padding
        never count in the divisor (PyTorch's rule).
    count_include_pad : bool
        True (the default, and what Nabla computes): divide by ``k_h * k_w``,
        padded cells counting.  False: divide by the number of the window's cells
        inside the input (a window with none gives 0, never NaN).
    input_layout : {None, "NHWC", "NCHW"}

    Returns
    -------
    Tensor, (N, H_out, W_out, C)
        Same windows and output size as :func:`max_pool2d`.

    Raises
    ------
    TypeError, ValueError
        As :func:`max_pool2d`.

    Notes
    -----
    .. math::

        y_{n,i,j,c} = \frac{1}{k_h k_w} \sum_{a < k_h,\, b < k_w}
            \tilde x_{n,\, i s_h + a d_h - p_t,\; j s_w + b d_w - p_l,\; c}

    Linear in ``x`` (the divisors are constants): its VJP is its transpose,
    which spreads each cotangent over its window, and its JVP is itself.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.ones((1, 2, 2, 1), np.float32)
    >>> nb.avg_pool2d(x, kernel_size=2, stride=1, padding=1).numpy()[0, :, :, 0]   # corners: 1 of 4 cells
    array([[0.25, 0.5 , 0.25],
           [0.5 , 1.  , 0.5 ],
           [0.25, 0.5 , 0.25]], dtype=float32)
    >>> nb.avg_pool2d(x, kernel_size=2, stride=1, padding=1, count_include_pad=False).numpy()[0, :, :, 0]
    array([[1., 1., 1.],
           [1., 1., 1.],
           [1., 1., 1.]], dtype=float32)
    """
    op = "avg_pool2d"
    xt, nchw = _input(op, x, input_layout)
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise TypeError(f"{op}: argument 'count_include_pad' must be a bool, got {count_include_pad!r}")
    win, out_hw, user_padding = _window(op, xt, kernel_size, stride, padding, dilation, ceil_mode)
    y = _avg_pool(xt, out_hw=out_hw, **win)
    if count_include_pad and win["padding"] == user_padding:
        return _output(y, nchw)  # every window divides by k_h * k_w: the kernel's own rule
    scale = _divisor_scale(xt, win, out_hw, user_padding, count_include_pad)
    return _output(y * Tensor(scale.astype(xt.dtype)), nchw)


def _divisor_scale(x: Tensor, win: dict[str, Any], out_hw: tuple[int, int],
                   user_padding: tuple[int, int, int, int], count_include_pad: bool) -> np.ndarray[Any, Any]:
    """(1, H_out, W_out, 1): ``k_h*k_w / count`` per window (0 where count is 0), with
    ``count`` the window's cells inside the input, or inside the input and the
    user's padding.  Counted by pooling an indicator of those cells."""
    h, w = x.shape[1:3]
    pt, pb, pl, pr = user_padding if count_include_pad else (0, 0, 0, 0)
    ones = Tensor(np.ones((1, h + pt + pb, w + pl + pr, 1)))
    run = win["padding"]
    padding = (run[0] - pt, run[1] - pb, run[2] - pl, run[3] - pr)
    area = win["kernel_size"][0] * win["kernel_size"][1]
    count = np.rint(_avg_pool(ones, out_hw=out_hw, **{**win, "padding": padding}).numpy() * area)
    with np.errstate(divide="ignore"):
        scale: np.ndarray[Any, Any] = np.where(count > 0, area / np.maximum(count, 1), 0.0)
        return scale


def max_unpool2d(x: ArrayLike, indices: ArrayLike, *, kernel_size: IntPair,
                 stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] | tuple[int, int, int, int] = 0,
                 output_size: int | tuple[int, int] | tuple[int, int, int, int] | None = None,
                 input_layout: str | None = None) -> Tensor:
    r"""Compute the partial inverse of :func:`max_pool2d`: each value put at its index in a zero output.

    Parameters
    ----------
    x : Tensor or array_like, (N, H_in, W_in, C)
        The pooled values, NHWC (``(N, C, H_in, W_in)`` with
        ``input_layout="NCHW"``), float32 or float64.
    indices : Tensor or array_like of ints, x's shape
        Flat positions ``h*W + w`` in each (n, c) plane of the output, as
        ``max_pool2d(..., return_indices=True)`` gives them; -1 (a window wholly
        in padding) is skipped.  Not differentiated.
    kernel_size, stride : int or (int, int)
        The pooling's window; ``stride`` defaults to ``kernel_size``.  They only
        set the default output size.
    padding : int, (int, int) or (int, int, int, int)
        ``p``, ``(p_h, p_w)`` or ``(top, bottom, left, right)``; only for the
        default output size (the strings ``"SAME"``/``"VALID"`` are refused).
    output_size : int, (int, int) or a 4-d shape, optional
        The output's ``(H, W)`` (an int ``k`` means ``(k, k)``), or a full
        shape in the input's layout, of which H and W are read.  By default
        ``H = (H_in - 1) s_h - (p_t + p_b) + k_h`` and the same for W
        (PyTorch's formula).
    input_layout : {None, "NHWC", "NCHW"}

    Returns
    -------
    Tensor, (N, H, W, C)
        Zeros except at the indices; in the input's layout and dtype.

    Raises
    ------
    TypeError
        A non-float ``x``, a non-int geometry value (a padding string among them).
    ValueError
        A wrong rank, a bad layout, a pair of the wrong length, an output size
        below 1; ``indices`` (named) with a non-integer dtype, a shape other than
        ``x``'s or a value outside ``[-1, H*W)``.

    Notes
    -----
    PyTorch's ``max_unpool2d``:

    .. math::

        y_{n,h,w,c} = \sum_{(i, j)\,:\; \mathrm{idx}_{n,i,j,c} = h W + w} x_{n,i,j,c}

    Where an index repeats, the values are **summed** (PyTorch keeps one of
    them, unspecified which), so the op is linear and exact: its VJP gathers
    the cotangent at the indices, its JVP scatters the tangent (the same
    gather/scatter pair as max pooling's derivatives).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.array([[1., 3., 2., 0.], [4., 2., 1., 5.], [0., 1., 3., 3.], [2., 2., 0., 1.]],
    ...              np.float32).reshape(1, 4, 4, 1)
    >>> y, idx = nb.max_pool2d(x, kernel_size=2, return_indices=True)
    >>> nb.max_unpool2d(y, idx, kernel_size=2).numpy()[0, :, :, 0]   # (2 - 1)*2 + 2 = 4 rows
    array([[0., 0., 0., 0.],
           [4., 0., 0., 5.],
           [0., 0., 3., 0.],
           [2., 0., 0., 0.]], dtype=float32)
    >>> v, i = np.ones((1, 1, 2, 1), np.float32), np.zeros((1, 1, 2, 1), np.int64)
    >>> nb.max_unpool2d(v, i, kernel_size=2, output_size=(2, 2)).numpy()[0, :, :, 0]   # a repeated index adds
    array([[2., 0.],
           [0., 0.]], dtype=float32)
    """
    op = "max_unpool2d"
    xt, nchw = _input(op, x, input_layout)
    idx: np.ndarray[Any, Any] = indices._value if isinstance(indices, Tensor) else np.asarray(indices)
    if nchw:
        if idx.ndim == 4:
            idx = idx.transpose(0, 2, 3, 1)
    if idx.dtype.kind not in "iu":
        raise ValueError(f"{op}: argument 'indices' must hold integers, got dtype {idx.dtype}")
    if idx.shape != xt.shape:
        raise ValueError(f"{op}: argument 'indices' must have x's shape {xt.shape}, got {idx.shape}")
    k = _args.pair(op, "kernel_size", kernel_size)
    s = k if stride is None else _args.pair(op, "stride", stride)
    p = _args.padding4(op, padding)
    out_hw: tuple[int, int]
    if output_size is None:
        out_hw = ((xt.shape[1] - 1) * s[0] - p[0] - p[1] + k[0], (xt.shape[2] - 1) * s[1] - p[2] - p[3] + k[1])
    else:
        size: Any = tuple(output_size) if isinstance(output_size, (tuple, list)) else output_size
        if isinstance(size, tuple) and len(size) == 4:
            size = size[2:] if nchw else size[1:3]
        out_hw = _args.pair(op, "output_size", size)   # an int k means (k, k), as for the adaptive pools
    if out_hw[0] < 1 or out_hw[1] < 1:
        raise ValueError(f"{op}: the output size {out_hw} must be positive")
    plane = out_hw[0] * out_hw[1]
    if idx.size and (idx.min() < -1 or idx.max() >= plane):
        bad = idx[(idx < -1) | (idx >= plane)].flat[0]
        raise ValueError(f"{op}: argument 'indices' holds {bad}, outside [-1, {plane}) for an output of "
                         f"{out_hw[0]}x{out_hw[1]}")
    return _output(_scatter(xt, argmax=np.ascontiguousarray(idx, dtype=np.int64), in_hw=out_hw), nchw)


def _output_hw(op: str, x: Tensor, output_size: int | tuple[int | None, int | None]) -> tuple[int, int]:
    if x.shape[1] == 0 or x.shape[2] == 0:
        raise ValueError(f"{op}: argument 'x' has an empty spatial axis, shape {x.shape}; adaptive bins "
                         "need at least one cell (as PyTorch)")
    size: tuple[Any, ...] = ((output_size, output_size) if not isinstance(output_size, (tuple, list))
                             else tuple(output_size))
    if len(size) != 2:
        raise ValueError(f"{op}: argument 'output_size' must be an int or a pair (h, w), got {output_size!r}")
    hw = tuple(n if m is None else _args._int(op, "output_size", m, 1) for n, m in zip(x.shape[1:3], size))
    return cast("tuple[int, int]", hw)


def _averaging_matrix(n: int, m: int, dtype: np.dtype[Any]) -> Tensor:
    """(m, n): row i averages bin i of an axis of n cells."""
    a = np.zeros((m, n))
    for i, (lo, hi) in enumerate(_args.adaptive_bins(n, m)):
        a[i, lo:hi] = 1.0 / (hi - lo)
    return Tensor(a.astype(dtype))


def adaptive_avg_pool2d(x: ArrayLike, output_size: int | tuple[int | None, int | None], *,
                        input_layout: str | None = None, _op: str = "adaptive_avg_pool2d") -> Tensor:
    r"""Apply 2D average pooling to a fixed output size, over PyTorch's adaptive bins.

    Parameters
    ----------
    x : Tensor or array_like, (N, H, W, C)
        NHWC (``(N, C, H, W)`` with ``input_layout="NCHW"``), float32 or
        float64; H and W at least 1.
    output_size : int or (int or None, int or None)
        ``(H_out, W_out)``, positive; an int ``k`` means ``(k, k)``; ``None`` in
        a pair keeps that axis's size.
    input_layout : {None, "NHWC", "NCHW"}

    Returns
    -------
    Tensor, (N, H_out, W_out, C)
        In the input's layout and dtype.

    Raises
    ------
    TypeError
        A non-float input, a non-int ``output_size`` entry.
    ValueError
        A wrong rank or layout, an empty spatial axis, an ``output_size`` that is
        not an int or a pair, or below 1.

    Notes
    -----
    PyTorch's bins (``adaptive_avg_pool2d``): output row :math:`i` of
    :math:`H_{out}` averages input rows :math:`s_i` to :math:`e_i - 1`, and the
    same for columns (:math:`t_j`, :math:`f_j` with :math:`W`, :math:`W_{out}`):

    .. math::

        y_{n,i,j,c} = \frac{1}{(e_i - s_i)(f_j - t_j)}
            \sum_{h=s_i}^{e_i - 1} \sum_{w=t_j}^{f_j - 1} x_{n,h,w,c},
        \qquad s_i = \left\lfloor \frac{i H}{H_{out}} \right\rfloor,\quad
        e_i = \left\lceil \frac{(i + 1) H}{H_{out}} \right\rceil

    Bins may overlap and differ in size.  The op is linear and separable,
    ``y = A_h x A_w^T`` per (n, c) with constant averaging matrices; when the
    sizes divide it is :func:`avg_pool2d` with ``kernel = stride = H / H_out``
    (the average-pooling kernel).  Differentiable in both modes, to any order.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.arange(5, dtype=np.float32).reshape(1, 1, 5, 1)
    >>> nb.adaptive_avg_pool2d(x, (1, 3)).numpy()[0, :, :, 0]   # bins [0, 2), [1, 4), [3, 5)
    array([[0.5, 2. , 3.5]], dtype=float32)
    >>> nb.adaptive_avg_pool2d(np.ones((2, 7, 9, 3), np.float32), (3, None)).shape
    (2, 3, 9, 3)
    """
    op = _op
    xt, nchw = _input(op, x, input_layout)
    (h, w), (ho, wo) = xt.shape[1:3], _output_hw(op, xt, output_size)
    if h % ho == 0 and w % wo == 0:  # equal bins: a plain average pooling
        k = (h // ho, w // wo)
        y = _avg_pool(xt, out_hw=(ho, wo), kernel_size=k, stride=k, padding=(0, 0, 0, 0), dilation=(1, 1))
        return _output(y, nchw)
    y = xt
    if ho != h:   # contract H: (N, W, C, H) @ (H, Ho) -> (N, W, C, Ho) -> (N, Ho, W, C)
        y = permute(permute(y, (0, 2, 3, 1)) @ permute(_averaging_matrix(h, ho, xt.dtype), (1, 0)), (0, 3, 1, 2))
    if wo != w:   # contract W: (N, Ho, C, W) @ (W, Wo) -> (N, Ho, C, Wo) -> (N, Ho, Wo, C)
        y = permute(permute(y, (0, 1, 3, 2)) @ permute(_averaging_matrix(w, wo, xt.dtype), (1, 0)), (0, 1, 3, 2))
    return _output(y, nchw)


@overload
def adaptive_max_pool2d(x: ArrayLike, output_size: int | tuple[int | None, int | None],
                        return_indices: Literal[False] = False, *, input_layout: str | None = None,
                        _op: str = "adaptive_max_pool2d") -> Tensor: ...


@overload
def adaptive_max_pool2d(x: ArrayLike, output_size: int | tuple[int | None, int | None],
                        return_indices: Literal[True], *, input_layout: str | None = None,
                        _op: str = "adaptive_max_pool2d") -> tuple[Tensor, Tensor]: ...


@overload
def adaptive_max_pool2d(x: ArrayLike, output_size: int | tuple[int | None, int | None],
                        return_indices: bool, *, input_layout: str | None = None,
                        _op: str = "adaptive_max_pool2d") -> Tensor | tuple[Tensor, Tensor]: ...


def adaptive_max_pool2d(x: ArrayLike, output_size: int | tuple[int | None, int | None],
                        return_indices: bool = False, *, input_layout: str | None = None,
                        _op: str = "adaptive_max_pool2d") -> Tensor | tuple[Tensor, Tensor]:
    r"""Apply 2D max pooling to a fixed output size, over PyTorch's adaptive bins.

    Parameters
    ----------
    x : Tensor or array_like, (N, H, W, C)
        NHWC (``(N, C, H, W)`` with ``input_layout="NCHW"``), float32 or
        float64; H and W at least 1.
    output_size : int or (int or None, int or None)
        ``(H_out, W_out)``, positive; an int ``k`` means ``(k, k)``; ``None`` in
        a pair keeps that axis's size.
    return_indices : bool
        Also return the int64 flat index ``h*W + w`` of each maximum within its
        (n, c) plane, as :func:`max_pool2d` (for :func:`max_unpool2d`).
    input_layout : {None, "NHWC", "NCHW"}

    Returns
    -------
    Tensor, (N, H_out, W_out, C)
        In the input's layout and dtype; with ``return_indices``,
        ``(y, indices)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`adaptive_avg_pool2d`.

    Notes
    -----
    PyTorch's ``adaptive_max_pool2d``: the bins of :func:`adaptive_avg_pool2d`,
    :math:`s_i = \lfloor i H / H_{out} \rfloor`,
    :math:`e_i = \lceil (i + 1) H / H_{out} \rceil` (and :math:`t_j`,
    :math:`f_j` for the columns), and the rules of :func:`max_pool2d`:

    .. math::

        y_{n,i,j,c} = \max_{s_i \le h < e_i,\; t_j \le w < f_j} x_{n,h,w,c}

    The first maximum in row-major order wins (it gets the gradient) and a NaN
    propagates.  When the sizes divide, this is :func:`max_pool2d` with
    ``kernel = stride = H / H_out``; otherwise it runs the
    ``adaptive_max_pool2d`` kernel (on a backend that lacked it, the reference's
    would run, with a one-time :class:`~nabla.PerformanceWarning`).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.array([1., 5., 2., 0., 3.], np.float32).reshape(1, 1, 5, 1)
    >>> y, idx = nb.adaptive_max_pool2d(x, (1, 3), return_indices=True)   # bins [0, 2), [1, 4), [3, 5)
    >>> y.numpy()[0, :, :, 0]
    array([[5., 5., 3.]], dtype=float32)
    >>> idx.numpy()[0, :, :, 0]
    array([[1, 1, 4]])
    """
    op = _op
    xt, nchw = _input(op, x, input_layout)
    (h, w), (ho, wo) = xt.shape[1:3], _output_hw(op, xt, output_size)
    if h % ho == 0 and w % wo == 0:
        k = (h // ho, w // wo)
        y, aux = bind(_max_pool, [xt], dict(out_hw=(ho, wo), kernel_size=k, stride=k, padding=(0, 0, 0, 0),
                                           dilation=(1, 1)))
    else:
        y, aux = bind(_adaptive_max, [xt], dict(out_hw=(ho, wo)))
    if not return_indices:
        return _output(y, nchw)
    return _output(y, nchw), _output(Tensor(aux["argmax"]), nchw)


def global_avg_pool2d(x: ArrayLike, keepdims: bool = False, *, input_layout: str | None = None) -> Tensor:
    r"""Average over H and W: one value per (n, c).

    Parameters
    ----------
    x : Tensor or array_like, (N, H, W, C)
        NHWC (``(N, C, H, W)`` with ``input_layout="NCHW"``), float32 or
        float64; H and W at least 1.
    keepdims : bool
        Keep the spatial axes, of size 1.
    input_layout : {None, "NHWC", "NCHW"}

    Returns
    -------
    Tensor, (N, C)
        Or ``(N, 1, 1, C)`` with ``keepdims`` (``(N, C, 1, 1)`` in NCHW); ``x``'s dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`adaptive_avg_pool2d` (the message names ``global_avg_pool2d``).

    Notes
    -----
    .. math::

        y_{n,c} = \frac{1}{H W} \sum_{h < H,\, w < W} x_{n,h,w,c}

    :func:`adaptive_avg_pool2d` to ``(1, 1)``, then reshaped to ``(N, C)``
    unless ``keepdims``: the default is Keras's ``GlobalAveragePooling2D``,
    ``keepdims=True`` PyTorch's ``AdaptiveAvgPool2d(1)``.  Linear.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)   # channel 0: 0 2 4 6, channel 1: 1 3 5 7
    >>> nb.global_avg_pool2d(x)
    Tensor([[3., 4.]], dtype=float32)
    >>> nb.global_avg_pool2d(x, keepdims=True).shape
    (1, 1, 1, 2)
    """
    y = adaptive_avg_pool2d(x, 1, input_layout=input_layout, _op="global_avg_pool2d")
    return y if keepdims else reshape(y, (y.shape[0], y.shape[1] * y.shape[2] * y.shape[3]))


def global_max_pool2d(x: ArrayLike, keepdims: bool = False, *, input_layout: str | None = None) -> Tensor:
    r"""Take the maximum over H and W: one value per (n, c), with max pooling's rules.

    Parameters
    ----------
    x : Tensor or array_like, (N, H, W, C)
        NHWC (``(N, C, H, W)`` with ``input_layout="NCHW"``), float32 or
        float64; H and W at least 1.
    keepdims : bool
        Keep the spatial axes, of size 1.
    input_layout : {None, "NHWC", "NCHW"}

    Returns
    -------
    Tensor, (N, C)
        Or ``(N, 1, 1, C)`` with ``keepdims`` (``(N, C, 1, 1)`` in NCHW); ``x``'s dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`adaptive_avg_pool2d` (the message names ``global_max_pool2d``).

    Notes
    -----
    .. math::

        y_{n,c} = \max_{h < H,\, w < W} x_{n,h,w,c}

    :func:`adaptive_max_pool2d` to ``(1, 1)``, then reshaped to ``(N, C)``
    unless ``keepdims``: the default is Keras's ``GlobalMaxPooling2D``,
    ``keepdims=True`` PyTorch's ``AdaptiveMaxPool2d(1)``.  A NaN propagates;
    the gradient goes to the **first** maximum in row-major order (PyTorch's
    tie rule, as :func:`max_pool2d`).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
    >>> nb.global_max_pool2d(x)
    Tensor([[6., 7.]], dtype=float32)
    >>> nb.grad(lambda x: nb.global_max_pool2d(x).sum())(np.ones((1, 2, 2, 1), np.float32))[0, :, :, 0]
    Tensor([[1., 0.],
            [0., 0.]], dtype=float32)
    """
    y = adaptive_max_pool2d(x, 1, input_layout=input_layout, _op="global_max_pool2d")
    return y if keepdims else reshape(y, (y.shape[0], y.shape[1] * y.shape[2] * y.shape[3]))
