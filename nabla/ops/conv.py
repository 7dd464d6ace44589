"""Convolution: ``conv2d`` and ``conv2d_transpose``.

Three primitives carry all the math, and their derivatives close over the same
three (in matmul terms, with X the im2col matrix of x, W the filter as a
(Kh*Kw*Cin, Cout) matrix: conv is ``Y = X W``, its x-adjoint is
``col2im(dY W^T)`` and its w-adjoint is ``X^T dY``)::

    conv(x, w)               -> y    bilinear in (x, w)
    conv_transpose(dy, w)    -> dx   the adjoint of conv in x; bilinear in (dy, w)
    filter_grad(x, dy)       -> dw   the adjoint of conv in w; bilinear in (x, dy)

Being bilinear, each has JVP ``f(tx, w) + f(x, tw)``; its two VJPs are the
other two primitives, from ``<dy, conv(x, w)> = <conv_T(dy, w), x> = <filter_grad(x, dy), w>``.
Geometry (stride, padding, dilation, groups) is the same in all three; only
the spatial size of the result differs, passed as ``out_hw`` / ``kernel_hw``.
"""
from __future__ import annotations

from typing import Any

from .. import _args
from .._autodiff import Primitive
from .._tensor import Tensor
from .._typing import ArrayLike, IntPair, OptionalArrayLike, Padding
from .basic import pad, permute

__all__ = ["conv2d", "conv2d_transpose"]


def _hw(t: Tensor) -> tuple[int, ...]:
    return t.shape[1:3]


# geo: stride, padding, dilation, groups (the same in all three).  Each transpose
# rule gets the cotangent g and both primals (for their shapes).
_conv: Primitive = Primitive("conv2d", kernel="conv2d", nargs=2)
_conv_transpose: Primitive = Primitive("conv2d_transpose", kernel="conv2d_transpose", nargs=2)
_filter_grad: Primitive = Primitive("conv2d_filter_grad", kernel="conv2d_filter_grad", nargs=2)

_conv.defbilinear(      # y = conv(x, w)
    lambda g, x, w, out_hw, **geo: _conv_transpose(g, w, out_hw=_hw(x), **geo),
    lambda g, x, w, out_hw, **geo: _filter_grad(x, g, kernel_hw=w.shape[:2], **geo),
)
_conv_transpose.defbilinear(    # dx = conv_transpose(dy, w)
    lambda g, dy, w, out_hw, **geo: _conv(g, w, out_hw=_hw(dy), **geo),
    lambda g, dy, w, out_hw, **geo: _filter_grad(g, dy, kernel_hw=w.shape[:2], **geo),
)
_filter_grad.defbilinear(       # dw = filter_grad(x, dy)
    lambda g, x, dy, kernel_hw, **geo: _conv_transpose(dy, g, out_hw=_hw(x), **geo),
    lambda g, x, dy, kernel_hw, **geo: _conv(x, g, out_hw=_hw(dy), **geo),
)


def _geometry(op: str, x: Tensor, filt: Tensor, stride: IntPair, dilation: IntPair, padding: Padding, groups: int,
              transposed: bool, output_paddings: IntPair = (0, 0)
              ) -> tuple[dict[str, Any], tuple[int, int], int]:
    """Check shapes and geometry; returns the kernel parameters and output size.

    ``filt`` is in nabla's internal order (Kh, Kw, C_in/G, C_out) for conv2d and
    (Kh, Kw, C_out/G, C_in) for conv2d_transpose; both are conv2d's filter.
    """
    _args.check_rank(op, "x", x, 4, "N, H, W, C")
    _args.check_rank(op, "filter", filt, 4, "K_h, K_w, C_out, C_in" if transposed else "K_h, K_w, C_in, C_out")
    stride = _args.pair(op, "stride", stride)
    dilation = _args.pair(op, "dilation", dilation)
    groups = _args._int(op, "groups", groups, 1)
    n, h, w, c_in = x.shape
    kh, kw, f_grouped, f_other = filt.shape
    mode = _args.padding_string(op, padding)
    if transposed and mode is not None:
        if _args.pair(op, "output_paddings", output_paddings, minimum=0) != (0, 0):
            raise ValueError(f"{op}: output_paddings must be 0 with padding={padding!r} (the output size "
                             f"follows from the string: H * stride for SAME)")
        (pt, pb, oph), (pl, pr, opw) = (_args.transpose_string_padding(kh, stride[0], dilation[0], mode),
                                        _args.transpose_string_padding(kw, stride[1], dilation[1], mode))
        padding, output_paddings = (pt, pb, pl, pr), (oph, opw)
    elif not transposed:
        padding = _args.window_padding(op, padding, (h, w), (kh, kw), stride, dilation)
    else:
        padding = _args.padding4(op, padding)
    _args.positive_channels(op, "x", c_in, x.shape)
    if kh < 1 or kw < 1:
        raise ValueError(f"{op}: argument 'filter' has an empty kernel, shape {filt.shape}")
    if c_in % groups:
        raise ValueError(f"{op}: groups={groups} does not divide the {c_in} input channels of x")
    # conv2d: filter (Kh, Kw, C_in/G, C_out) -> check axis 2 against x, axis 3 is C_out.
    # transpose: filter (Kh, Kw, C_out/G, C_in) -> check axis 3 against x, axis 2 gives C_out.
    if transposed:
        if f_other != c_in:
            raise ValueError(f"{op}: filter shape {filt.shape} does not match x: filter.shape[3] must equal "
                             f"the {c_in} input channels of x (filter layout K_h, K_w, C_out/groups, C_in)")
        c_out = f_grouped * groups
    else:
        if f_grouped * groups != c_in:
            raise ValueError(f"{op}: filter shape {filt.shape} does not match x: filter.shape[2] must be "
                             f"C_in / groups = {c_in} / {groups} = {c_in // groups}")
        c_out = f_other
    if c_out < 1:
        raise ValueError(f"{op}: the filter has 0 output channels, shape {filt.shape}")
    if c_out % groups:
        raise ValueError(f"{op}: groups={groups} does not divide the {c_out} output channels")
    pt, pb, pl, pr = padding
    if transposed:
        oph, opw = _args.pair(op, "output_paddings", output_paddings, minimum=0)
        for name, o, s, d in (("height", oph, stride[0], dilation[0]), ("width", opw, stride[1], dilation[1])):
            if o >= s and o >= d:
                raise ValueError(f"{op}: output_paddings {name} {o} must be smaller than the stride ({s}) "
                                 f"or the dilation ({d}) in that axis")
        out_hw = (_args.transpose_out_size(op, "height", h, kh, stride[0], dilation[0], pt, pb, oph),
                  _args.transpose_out_size(op, "width", w, kw, stride[1], dilation[1], pl, pr, opw))
    else:
        out_hw = (_args.window_out_size(op, "height", h, kh, stride[0], dilation[0], pt, pb),
                  _args.window_out_size(op, "width", w, kw, stride[1], dilation[1], pl, pr))
    # Kernels form N * pixels * filter size (multiply-adds) and N * Ho * Wo * C_out (elements).
    _args.check_work(op, n, max(out_hw[0] * out_hw[1], h * w), filt.size)
    _args.check_work(op, n, out_hw[0], out_hw[1], c_out)
    geo = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return geo, out_hw, c_out


def _check_bias(op: str, bias: Tensor | None, c_out: int) -> None:
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(f"{op}: argument 'bias' must have shape ({c_out},) (C_out,), got {bias.shape}")


def conv2d(x: ArrayLike, filter: ArrayLike, *, stride: IntPair = (1, 1), dilation: IntPair = (1, 1),
           padding: Padding = (0, 0, 0, 0), groups: int = 1, bias: OptionalArrayLike = None,
           input_layout: str | None = None, filter_layout: str | None = None,
           padding_mode: str = "zeros") -> Tensor:
    r"""Apply a 2D convolution (cross-correlation: the filter is not flipped).

    Parameters
    ----------
    x : Tensor or array_like, (N, H, W, C_in)
        The input, NHWC (``(N, C_in, H, W)`` with ``input_layout="NCHW"``),
        float32 or float64.
    filter : Tensor or array_like, (K_h, K_w, C_in / groups, C_out)
        HWIO (``(C_out, C_in / groups, K_h, K_w)`` with ``filter_layout="OIHW"``,
        PyTorch's order); ``x``'s dtype.
    stride, dilation : int or (int, int)
        Positive; an int ``k`` means ``(k, k)``.
    padding : int, (int, int), (int, int, int, int), "SAME" or "VALID"
        ``p``, ``(p_h, p_w)`` or ``(top, bottom, left, right)`` cells, or
        TensorFlow's rule: ``"SAME"`` gives ``H_out = ceil(H / s_h)``, the odd
        padding cell at the bottom/right; ``"VALID"`` is no padding.
    groups : int
        Divides ``C_in`` and ``C_out``; ``groups == C_in`` is a depthwise
        convolution.  (Nabla's page says only 1 is supported; nabla supports any.)
    bias : Tensor or array_like, (C_out,), optional
    input_layout : {None, "NHWC", "NCHW"}
    filter_layout : {None, "HWIO", "OIHW"}
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
        What the padded cells hold: zeros (inside the kernel, no copy), or
        PyTorch's other modes, through :func:`nabla.pad` before the convolution.

    Returns
    -------
    Tensor, (N, H_out, W_out, C_out)
        In the input's layout and dtype, with
        ``H_out = floor((H + p_t + p_b - d_h (K_h - 1) - 1) / s_h) + 1``.

    Raises
    ------
    TypeError
        A non-float input, mixed dtypes (no implicit promotion), a non-int geometry value.
    ValueError
        A wrong rank or shape, channels that do not match the filter or the
        groups, an output size below 1 (the message shows the formula with the
        numbers), a bad padding string or mode.

    Notes
    -----
    With :math:`C_g = C_{in} / G` and output channel :math:`o` in group
    :math:`g = \lfloor o / (C_{out}/G) \rfloor`,

    .. math::

        y_{n,i,j,o} = b_o + \sum_{a=0}^{K_h-1} \sum_{b=0}^{K_w-1} \sum_{c=0}^{C_g-1}
            \tilde x_{n,\, i s_h + a d_h - p_t,\; j s_w + b d_w - p_l,\; g C_g + c}\; w_{a,b,c,o}

    where :math:`\tilde x` reads the padding (zeros by default) outside the
    input.  Differentiable in ``x``, ``filter`` and ``bias``, in both modes, to
    any order: its derivatives are :func:`conv2d_transpose` and the filter
    gradient, both convolutions again (it is bilinear).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> w = np.ones((3, 3, 1, 1), np.float32)            # a 3x3 box sum
    >>> nb.conv2d(x, w).numpy()[0, :, :, 0]               # 4 - 3 + 1 = 2 rows
    array([[45., 54.],
           [81., 90.]], dtype=float32)
    >>> nb.conv2d(x, w, padding=1, stride=2).shape        # floor((4 + 2 - 2 - 1) / 2) + 1 = 2
    (1, 2, 2, 1)
    >>> nb.conv2d(x, w, padding="SAME", stride=3).shape   # ceil(4 / 3) = 2
    (1, 2, 2, 1)
    """
    op = "conv2d"
    xt: Tensor
    ft: Tensor
    bt: Tensor | None
    xt, ft, bt = _args.float_tensors(op, x=x, filter=filter, bias=bias)
    nchw = _args.layout(op, "input_layout", input_layout, ("NHWC", "NCHW")) == "NCHW"
    oihw = _args.layout(op, "filter_layout", filter_layout, ("HWIO", "OIHW")) == "OIHW"
    _args.check_rank(op, "x", xt, 4, "N, C, H, W" if nchw else "N, H, W, C")
    _args.check_rank(op, "filter", ft, 4, "C_out, C_in, K_h, K_w" if oihw else "K_h, K_w, C_in, C_out")
    if nchw:
        xt = permute(xt, (0, 2, 3, 1))
    if oihw:
        ft = permute(ft, (2, 3, 1, 0))
    if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
        raise ValueError(f"{op}: argument 'padding_mode' must be 'zeros', 'reflect', 'replicate' or "
                         f"'circular', got {padding_mode!r}")
    geo, out_hw, c_out = _geometry(op, xt, ft, stride, dilation, padding, groups, transposed=False)
    _check_bias(op, bt, c_out)
    if padding_mode != "zeros" and any(geo["padding"]):
        pt, pb, pl, pr = geo["padding"]
        xt = pad(xt, ((0, 0), (pt, pb), (pl, pr), (0, 0)), mode=padding_mode, _op=op,
                 _axis_names=("the batch axis", "the height", "the width", "the channel axis"))
        geo["padding"] = (0, 0, 0, 0)
    y = _conv(xt, ft, out_hw=out_hw, **geo)
    if bt is not None:
        y = y + bt
    return permute(y, (0, 3, 1, 2)) if nchw else y


def conv2d_transpose(x: ArrayLike, filter: ArrayLike, *, stride: IntPair = (1, 1), dilation: IntPair = (1, 1),
                     padding: Padding = (0, 0, 0, 0), output_paddings: IntPair = (0, 0),
                     bias: OptionalArrayLike = None, input_layout: str | None = None,
                     filter_layout: str | None = None, groups: int = 1, padding_mode: str = "zeros") -> Tensor:
    r"""Apply a 2D transposed convolution: the adjoint of :func:`conv2d` in its input.

    ``conv2d_transpose(dy, w)`` equals the VJP of ``conv2d(x, w)`` in ``x`` for
    the same stride, padding, dilation and groups, with the very same filter
    array (nothing is swapped or flipped).

    Parameters
    ----------
    x : Tensor or array_like, (N, H, W, C_in)
        NHWC (``(N, C_in, H, W)`` with ``input_layout="NCHW"``), float32 or float64.
    filter : Tensor or array_like, (K_h, K_w, C_out / groups, C_in)
        "HWOI": the filter of a ``conv2d`` from ``C_out`` to ``C_in`` channels
        (``(C_in, C_out / groups, K_h, K_w)`` with ``filter_layout="IOHW"``,
        PyTorch's ``conv_transpose2d`` weight).
    stride, dilation : int or (int, int)
    padding : int, (int, int), (int, int, int, int), "SAME" or "VALID"
        Cells removed from the output.  ``"SAME"`` gives ``H_out = H s_h``;
        ``"VALID"`` gives ``H s_h + max(d_h (K_h - 1) + 1 - s_h, 0)``
        (TensorFlow's ``conv2d_transpose``).
    output_paddings : int or (int, int)
        Rows/columns added at the bottom/right, to pick among the input sizes a
        strided ``conv2d`` maps to the same size; each smaller than the stride or
        the dilation in its axis (PyTorch's rule); 0 with a padding string.
    bias : Tensor or array_like, (C_out,), optional
    input_layout : {None, "NHWC", "NCHW"}
    filter_layout : {None, "HWOI", "IOHW"}
    groups : int
        A nabla keyword beyond Nabla's page; divides ``C_in`` and ``C_out``.
    padding_mode : {"zeros"}
        Only zeros, as PyTorch.

    Returns
    -------
    Tensor, (N, H_out, W_out, C_out)
        ``H_out = (H - 1) s_h - (p_t + p_b) + d_h (K_h - 1) + output_padding_h + 1``.

    Raises
    ------
    TypeError, ValueError
        As :func:`conv2d`; also an ``output_paddings`` not below the stride or
        dilation, or given with a padding string.

    Notes
    -----
    .. math::

        \mathrm{dx}_{n,h,v,gC_g + c} = \sum_{\substack{i, a:\ i s_h + a d_h - p_t = h \\
            j, b:\ j s_w + b d_w - p_l = v}} \; \sum_{o \in g} \mathrm{dy}_{n,i,j,o}\, w_{a,b,c,o}

    Rows and columns that no window reaches are 0 (then the bias).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> dy = np.ones((1, 16, 16, 8), np.float32)
    >>> w = np.ones((4, 4, 3, 8), np.float32)          # a conv2d filter from 3 to 8 channels
    >>> nb.conv2d_transpose(dy, w, stride=2, padding=1).shape   # DCGAN: 15*2 - 2 + 3 + 1 = 32
    (1, 32, 32, 3)
    >>> nb.conv2d_transpose(dy, w, stride=2, padding="SAME").shape
    (1, 32, 32, 3)
    """
    op = "conv2d_transpose"
    if padding_mode != "zeros":
        raise ValueError(f"{op}: argument 'padding_mode' must be 'zeros' (as PyTorch), got {padding_mode!r}")
    xt: Tensor
    ft: Tensor
    bt: Tensor | None
    xt, ft, bt = _args.float_tensors(op, x=x, filter=filter, bias=bias)
    nchw = _args.layout(op, "input_layout", input_layout, ("NHWC", "NCHW")) == "NCHW"
    iohw = _args.layout(op, "filter_layout", filter_layout, ("HWOI", "IOHW")) == "IOHW"
    _args.check_rank(op, "x", xt, 4, "N, C, H, W" if nchw else "N, H, W, C")
    _args.check_rank(op, "filter", ft, 4, "C_in, C_out, K_h, K_w" if iohw else "K_h, K_w, C_out, C_in")
    if nchw:
        xt = permute(xt, (0, 2, 3, 1))
    if iohw:
        ft = permute(ft, (2, 3, 1, 0))
    geo, out_hw, c_out = _geometry(op, xt, ft, stride, dilation, padding, groups, transposed=True,
                                   output_paddings=output_paddings)
    _check_bias(op, bt, c_out)
    y = _conv_transpose(xt, ft, out_hw=out_hw, **geo)
    if bt is not None:
        y = y + bt
    return permute(y, (0, 3, 1, 2)) if nchw else y
