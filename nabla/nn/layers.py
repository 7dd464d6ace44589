"""Layers: PyTorch's ``torch.nn`` layers on NHWC tensors.

Arguments and defaults are PyTorch's, with two differences a port must know:
activations are NHWC (channels last) and weights are in nabla's layouts
(conv filters HWIO, transposed-conv filters ``(K_h, K_w, C_out/g, C_in)``,
linear weights ``(in, out)``).  Initialisation is PyTorch's: weights
kaiming-uniform with ``a = sqrt(5)`` (bound ``1/sqrt(fan_in)``), biases
``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, BatchNorm scale 1 and shift 0.  The
layers with parameters take ``dtype`` (float32 or float64), and those that
draw random numbers take ``seed`` (an int, a ``numpy.random.Generator``, or
``None`` for nabla's global generator).
"""
from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np

from .. import _args
from .._tensor import Tensor, asarray
from .._typing import ArrayLike, DTypeLike, IntPair, OptionalIntPair, Padding
from ..ops import flatten, sigmoid, tanh
from ..ops import norm as _norm
from . import functional as F
from . import init
from .module import Module

__all__ = [
    "Conv2d", "ConvTranspose2d", "Linear", "MaxPool2d", "AvgPool2d", "Flatten", "ReLU", "Tanh", "Sigmoid",
    "Dropout", "BatchNorm2d", "Identity", "MaxUnpool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
]


def _dtype(layer: str, dtype: DTypeLike) -> np.dtype[Any]:
    d: np.dtype[Any] = np.dtype(dtype)
    if d not in (np.float32, np.float64):
        raise TypeError(f"{layer}: dtype must be float32 or float64, got {d}")
    return d


def _positive(layer: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return int(value)


def _pair(layer: str, name: str, value: Any, minimum: int = 1) -> tuple[int, int]:
    return _args.pair(layer, name, value, minimum)


_PaddingT = TypeVar("_PaddingT", bound=Padding)


def _padding(layer: str, value: _PaddingT) -> _PaddingT:
    if _args.padding_string(layer, value) is None:
        _args.padding4(layer, value)  # checked now, kept as given (for repr)
    return value


def _check_input(layer: _Layer, x: ArrayLike, ndim: int | None, channels: int | None, layout: str) -> Tensor:
    """The input as a tensor, after checking rank, channel count and dtype against the layer."""
    t = asarray(x)
    name = layer._name()
    rank_ok = t.ndim >= 1 if ndim is None else t.ndim == ndim   # None: any rank with a last axis
    if not rank_ok or (channels is not None and t.shape[-1] != channels):
        raise ValueError(f"{name}: expected input of shape {layout}, got shape {t.shape}")
    dtype = getattr(layer, "_dtype", None)
    if dtype is not None and t.dtype != dtype:
        raise TypeError(f"{name}: input dtype {t.dtype} does not match the layer's {dtype} parameters; "
                        f"convert the input (x.astype(np.{dtype})) or build the layer with dtype=np.{t.dtype}")
    return t


class _Layer(Module):
    def _name(self) -> str:
        return type(self).__name__


class Conv2d(_Layer):
    r"""2-D convolution layer over NHWC input (PyTorch's ``nn.Conv2d``).

    Holds a filter and a bias and applies :func:`nabla.conv2d`:
    ``layer(x)`` maps ``x`` of shape (N, H, W, in_channels) to
    (N, H_out, W_out, out_channels).

    Parameters
    ----------
    in_channels : int
        ``C_in``, the channels of the input; positive, divisible by ``groups``.
    out_channels : int
        ``C_out``, the channels of the output; positive, divisible by ``groups``.
    kernel_size : int or (int, int)
        ``(K_h, K_w)``; an int ``k`` means ``(k, k)``.
    stride, dilation : int or (int, int), optional
        Positive.
    padding : int, (int, int), (int, int, int, int), "same" or "valid", optional
        ``p``, ``(p_h, p_w)`` or ``(top, bottom, left, right)`` cells, or a
        string in any case: ``"same"`` gives ``H_out = ceil(H / s_h)``
        (TensorFlow's rule, the odd cell at the bottom/right), ``"valid"`` is
        no padding.
    groups : int, optional
        The channels are split into ``groups`` groups, each convolved with its
        own filters; ``groups == in_channels`` is a depthwise convolution.
    bias : bool, optional
        Whether to add a learned bias (``False``: ``self.bias`` is ``None``).
    padding_mode : {"zeros", "reflect", "replicate", "circular"}, optional
        What the padded cells hold (checked when the layer is called).
    dtype : float32 or float64, optional
        The parameters' dtype; the input must have it too.
    seed : int, numpy.random.Generator or None, optional
        For the initial values: an int draws reproducibly, a ``Generator`` is
        drawn from (and advanced), ``None`` uses nabla's global generator
        (see :func:`nabla.seed`).  The weight is drawn first, then the bias.

    Attributes
    ----------
    weight : Tensor, (K_h, K_w, in_channels / groups, out_channels)
        The filter, HWIO.
    bias : Tensor, (out_channels,), or None
        Added to every output position.

    Raises
    ------
    ValueError
        At construction: a channel count that is not a positive int, groups
        that do not divide both, a kernel size, stride or dilation below 1, a
        negative padding or an unknown padding string.  When called: an input
        that is not (N, H, W, in_channels), an output size below 1, an unknown
        ``padding_mode``.
    TypeError
        At construction: a kernel size, stride, dilation or padding entry that
        is not an int, a dtype other than float32 and float64.  When called:
        an input of another dtype than the layer's.

    Notes
    -----
    ``y = conv2d(x, weight) + bias``, a cross-correlation (the formula is on
    :func:`nabla.conv2d`), with

    .. math::

        H_{out} = \left\lfloor \frac{H + p_t + p_b - d_h (K_h - 1) - 1}{s_h} \right\rfloor + 1

    and the same for ``W_out``.  The initial values are PyTorch's: the weight
    is :func:`~nabla.nn.init.kaiming_uniform` with ``a = sqrt(5)``, which with
    :math:`\text{fan\_in} = K_h K_w C_{in} / G` is
    :math:`U(-1/\sqrt{\text{fan\_in}},\ 1/\sqrt{\text{fan\_in}})`, and the bias is
    drawn from the same interval (He et al. 2015, as PyTorch applies it).

    Differences from PyTorch's ``nn.Conv2d``: the input and output are NHWC
    (PyTorch: NCHW); the weight is HWIO, where PyTorch's is OIHW
    ``(C_out, C_in / groups, K_h, K_w)`` (``w_torch.transpose(2, 3, 1, 0)``
    gives nabla's); ``padding="same"`` works with any stride (PyTorch allows
    it only with stride 1, where the two rules agree).  The draws have
    PyTorch's distribution, not its numbers.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> conv = nn.Conv2d(3, 8, kernel_size=3, padding=1, seed=0)
    >>> conv
    Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=1)
    >>> conv.weight.shape, conv.bias.shape
    ((3, 3, 3, 8), (8,))
    >>> x = nb.randn((2, 32, 32, 3), seed=1)
    >>> conv(x).shape
    (2, 32, 32, 8)
    >>> nn.Conv2d(3, 8, 3, stride=2, padding="same", seed=0)(x).shape   # ceil(32 / 2)
    (2, 16, 16, 8)
    >>> nn.Conv2d(3, 6, 3, groups=3, bias=False, seed=0).weight.shape    # depthwise, 2 filters per channel
    (3, 3, 1, 6)
    >>> bool(np.abs(conv.weight.numpy()).max() <= 1 / np.sqrt(3 * 3 * 3))
    True
    >>> conv(np.zeros((2, 32, 32, 4), np.float32))
    Traceback (most recent call last):
        ...
    ValueError: Conv2d(3 -> 8): expected input of shape (N, H, W, C) with 3 channels last, got shape (2, 32, 32, 4)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair, stride: IntPair = 1,
                 padding: Padding = 0, dilation: IntPair = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype: DTypeLike = np.float32,
                 seed: int | np.random.Generator | None = None):
        super().__init__()
        name = type(self).__name__
        self.padding_mode = padding_mode
        self.in_channels = _positive(name, "in_channels", in_channels)
        self.out_channels = _positive(name, "out_channels", out_channels)
        self.groups = _positive(name, "groups", groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        self.kernel_size = _pair(name, "kernel_size", kernel_size)
        self.stride, self.dilation = _pair(name, "stride", stride), _pair(name, "dilation", dilation)
        self.padding = _padding(name, padding)
        self._dtype = _dtype(name, dtype)
        rng = init._rng(seed)
        self.weight = init.kaiming_uniform(self._weight_shape(), a=math.sqrt(5), dtype=self._dtype, seed=rng)
        fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight.shape)
        bound = 1 / math.sqrt(fan_in)
        self.bias = init.uniform((out_channels,), -bound, bound, self._dtype, rng) if bias else None

    def _weight_shape(self) -> tuple[int, ...]:
        return (*self.kernel_size, self.in_channels // self.groups, self.out_channels)

    def _name(self) -> str:
        return f"{type(self).__name__}({self.in_channels} -> {self.out_channels})"

    def forward(self, x: ArrayLike) -> Tensor:
        """Convolve ``x`` with the filter and add the bias.

        Parameters
        ----------
        x : Tensor or array_like, (N, H, W, in_channels)
            In the layer's dtype.

        Returns
        -------
        Tensor, (N, H_out, W_out, out_channels)
        """
        x = _check_input(self, x, 4, self.in_channels, f"(N, H, W, {self.in_channels})")
        return F.conv2d(x, self.weight, stride=self.stride, dilation=self.dilation, padding=self.padding,
                        groups=self.groups, bias=self.bias, padding_mode=self.padding_mode)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in (0, (0, 0), (0, 0, 0, 0)):
            s += f", padding={self.padding!r}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s + ("" if self._dtype == np.float32 else f", dtype={self._dtype}")


class ConvTranspose2d(Conv2d):
    r"""2-D transposed convolution layer over NHWC input (PyTorch's ``nn.ConvTranspose2d``).

    Holds a filter and a bias and applies :func:`nabla.conv2d_transpose`:
    ``layer(x)`` maps ``x`` of shape (N, H, W, in_channels) to
    (N, H_out, W_out, out_channels), upsampling by ``stride``.  It is the
    adjoint (the gradient with respect to the input) of a
    ``Conv2d(out_channels, in_channels, ...)`` of the same geometry, plus a
    bias.

    Parameters
    ----------
    in_channels : int
        ``C_in``, the channels of the input; positive, divisible by ``groups``.
    out_channels : int
        ``C_out``, the channels of the output; positive, divisible by ``groups``.
    kernel_size : int or (int, int)
        ``(K_h, K_w)``.
    stride, dilation : int or (int, int), optional
        Positive; the stride is the upsampling factor.
    padding : int, (int, int), (int, int, int, int), "same" or "valid", optional
        The padding of the convolution this layer is the adjoint of: it
        removes cells from the output.  ``"same"`` gives ``H_out = H * s_h``;
        ``"valid"`` gives ``H * s_h + max(d_h (K_h - 1) + 1 - s_h, 0)``
        (TensorFlow's ``conv2d_transpose``).
    output_padding : int or (int, int), optional
        Rows and columns added at the bottom/right, to pick one of the input
        sizes that a strided convolution maps to the same output size; below
        the stride or the dilation, and 0 with a string ``padding``.
    groups : int, optional
        As for :class:`Conv2d`.
    bias : bool, optional
        Whether to add a learned bias.
    dtype : float32 or float64, optional
        The parameters' dtype; the input must have it too.
    seed : int, numpy.random.Generator or None, optional
        For the initial values: an int draws reproducibly, a ``Generator`` is
        drawn from (and advanced), ``None`` uses nabla's global generator
        (see :func:`nabla.seed`).  The weight is drawn first, then the bias.

    Attributes
    ----------
    weight : Tensor, (K_h, K_w, out_channels / groups, in_channels)
        The filter, in :func:`nabla.conv2d_transpose`'s layout: the HWIO
        filter of the ``Conv2d(out_channels, in_channels, ...)`` it is the
        adjoint of.
    bias : Tensor, (out_channels,), or None

    Raises
    ------
    ValueError
        As :class:`Conv2d`; also a negative ``output_padding`` (at
        construction), and, when called, an ``output_padding`` not below the
        stride or the dilation, or not 0 with a string ``padding``.
    TypeError
        As :class:`Conv2d`.

    Notes
    -----
    .. math::

        H_{out} = (H - 1) s_h - (p_t + p_b) + d_h (K_h - 1) + \text{output\_padding}_h + 1

    (PyTorch's formula, with its ``2 * padding`` split into top and bottom).
    The initial values are drawn as PyTorch draws them: from
    :math:`U(-1/\sqrt{\text{fan\_in}},\ 1/\sqrt{\text{fan\_in}})` with
    :math:`\text{fan\_in} = K_h K_w C_{out} / G`, the fan-in PyTorch
    computes from its weight.  See Dumoulin & Visin, "A guide to convolution
    arithmetic for deep learning" (2016), for the geometry.

    Differences from PyTorch's ``nn.ConvTranspose2d``: NHWC input and
    output; the weight is ``(K_h, K_w, C_out / groups, C_in)`` where PyTorch's
    is ``(C_in, C_out / groups, K_h, K_w)`` (``w_torch.transpose(2, 3, 1, 0)``
    gives nabla's); string paddings are accepted; there is no
    ``padding_mode`` (PyTorch accepts only ``"zeros"`` here too), and the
    ``output_size`` argument of PyTorch's ``forward`` is not offered (use
    ``output_padding``).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> up = nn.ConvTranspose2d(8, 3, kernel_size=3, stride=2, padding=1, output_padding=1, seed=0)
    >>> up.weight.shape
    (3, 3, 3, 8)
    >>> x = nb.randn((1, 16, 16, 8), seed=1)
    >>> up(x).shape                                   # (16 - 1)*2 - 2 + 2 + 1 + 1
    (1, 32, 32, 3)
    >>> nn.ConvTranspose2d(8, 3, 4, stride=2, padding="same", seed=0)(x).shape
    (1, 32, 32, 3)

    Without its bias, the layer is the gradient of a convolution with the same
    filter:

    >>> up = nn.ConvTranspose2d(8, 3, 3, stride=2, padding=1, output_padding=1, bias=False, seed=0)
    >>> z = nb.randn((1, 32, 32, 3), seed=2)
    >>> y, conv_vjp = nb.vjp(lambda z: nb.conv2d(z, up.weight, stride=2, padding=1), z)
    >>> bool(np.allclose(conv_vjp(x)[0].numpy(), up(x).numpy(), atol=1e-5))
    True
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair, stride: IntPair = 1,
                 padding: Padding = 0, output_padding: IntPair = 0, groups: int = 1, bias: bool = True,
                 dilation: IntPair = 1, dtype: DTypeLike = np.float32,
                 seed: int | np.random.Generator | None = None):
        self.output_padding = _pair(type(self).__name__, "output_padding", output_padding, 0)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         "zeros", dtype, seed)

    def _weight_shape(self) -> tuple[int, ...]:
        return (*self.kernel_size, self.out_channels // self.groups, self.in_channels)

    def forward(self, x: ArrayLike) -> Tensor:
        """Apply the transposed convolution and add the bias.

        Parameters
        ----------
        x : Tensor or array_like, (N, H, W, in_channels)
            In the layer's dtype.

        Returns
        -------
        Tensor, (N, H_out, W_out, out_channels)
        """
        x = _check_input(self, x, 4, self.in_channels, f"(N, H, W, {self.in_channels})")
        return F.conv2d_transpose(x, self.weight, stride=self.stride, dilation=self.dilation,
                                  padding=self.padding, output_paddings=self.output_padding,
                                  groups=self.groups, bias=self.bias)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.output_padding == (0, 0) else s + f", output_padding={self.output_padding}"


class Linear(_Layer):
    r"""Affine map on the last axis: ``y = x @ weight + bias`` (PyTorch's ``nn.Linear``).

    ``layer(x)`` maps ``x`` of shape (..., in_features) to (..., out_features).

    Parameters
    ----------
    in_features : int
        The size of the input's last axis; positive.
    out_features : int
        The size of the output's last axis; positive.
    bias : bool, optional
        Whether to add a learned bias (``False``: ``self.bias`` is ``None``).
    dtype : float32 or float64, optional
        The parameters' dtype; the input must have it too.
    seed : int, numpy.random.Generator or None, optional
        For the initial values: an int draws reproducibly, a ``Generator`` is
        drawn from (and advanced), ``None`` uses nabla's global generator
        (see :func:`nabla.seed`).  The weight is drawn first, then the bias.

    Attributes
    ----------
    weight : Tensor, (in_features, out_features)
    bias : Tensor, (out_features,), or None

    Raises
    ------
    ValueError
        At construction: a feature count that is not a positive int.  When
        called: an input whose last axis is not ``in_features`` long.
    TypeError
        At construction: a dtype other than float32 and float64.  When
        called: an input of another dtype than the layer's.

    Notes
    -----
    .. math::

        y_{\ldots, j} = b_j + \sum_i x_{\ldots, i}\, W_{i, j}

    The weight is stored ``(in_features, out_features)``, so the map is
    ``x @ weight`` with no transpose; PyTorch stores the transpose,
    ``(out_features, in_features)``, and computes ``x @ weight.T`` (port a
    weight with ``w_torch.T``).  The initial values are PyTorch's: weight and
    bias from :math:`U(-1/\sqrt{\text{in\_features}},\ 1/\sqrt{\text{in\_features}})`
    (:func:`~nabla.nn.init.kaiming_uniform` with ``a = sqrt(5)``).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> fc = nn.Linear(4, 2, seed=0)
    >>> fc
    Linear(in_features=4, out_features=2)
    >>> fc.weight.shape, fc.bias.shape
    ((4, 2), (2,))
    >>> x = nb.randn((5, 3, 4), seed=1)
    >>> fc(x).shape                                   # any leading axes
    (5, 3, 2)
    >>> bool(np.allclose(fc(x).numpy(), x.numpy() @ fc.weight.numpy() + fc.bias.numpy(), atol=1e-6))
    True
    >>> fc(np.ones((5, 4)))                            # float64 input, float32 layer
    Traceback (most recent call last):
        ...
    TypeError: Linear(4 -> 2): input dtype float64 does not match the layer's float32 parameters; ...
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: DTypeLike = np.float32, seed: int | np.random.Generator | None = None):
        super().__init__()
        name = type(self).__name__
        self.in_features = _positive(name, "in_features", in_features)
        self.out_features = _positive(name, "out_features", out_features)
        self._dtype = _dtype(name, dtype)
        rng = init._rng(seed)
        self.weight = init.kaiming_uniform((in_features, out_features), a=math.sqrt(5), dtype=self._dtype,
                                           seed=rng)
        bound = 1 / math.sqrt(in_features)
        self.bias = init.uniform((out_features,), -bound, bound, self._dtype, rng) if bias else None

    def _name(self) -> str:
        return f"Linear({self.in_features} -> {self.out_features})"

    def forward(self, x: ArrayLike) -> Tensor:
        """Compute ``x @ weight + bias``.

        Parameters
        ----------
        x : Tensor or array_like, (..., in_features)
            In the layer's dtype; any number of leading axes.

        Returns
        -------
        Tensor, (..., out_features)
        """
        x = _check_input(self, x, None, self.in_features, f"(..., {self.in_features})")
        y = x @ self.weight
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        s = f"in_features={self.in_features}, out_features={self.out_features}"
        s += "" if self.bias is not None else ", bias=False"
        return s + ("" if self._dtype == np.float32 else f", dtype={self._dtype}")


class _Pool(_Layer):
    def __init__(self, kernel_size: IntPair, stride: OptionalIntPair = None, padding: Padding = 0,
                 dilation: IntPair = 1, ceil_mode: bool = False):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _pair(name, "kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else _pair(name, "stride", stride)
        self.padding = _padding(name, padding)
        self.dilation = _pair(name, "dilation", dilation)
        self.ceil_mode = bool(ceil_mode)

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in (0, (0, 0), (0, 0, 0, 0)):
            s += f", padding={self.padding!r}"
        s += "" if self.dilation == (1, 1) else f", dilation={self.dilation}"
        return s + (", ceil_mode=True" if self.ceil_mode else "")


class MaxPool2d(_Pool):
    r"""Max pooling layer over NHWC input (PyTorch's ``nn.MaxPool2d``).

    Applies :func:`nabla.max_pool2d`: ``layer(x)`` maps ``x`` of shape
    (N, H, W, C) to (N, H_out, W_out, C), each output the largest value of
    its window in its channel.

    Parameters
    ----------
    kernel_size : int or (int, int)
        The window, ``(k_h, k_w)``.
    stride : int, (int, int) or None, optional
        ``None`` (the default): ``kernel_size``, non-overlapping windows.
    padding : int, (int, int), (int, int, int, int), "same" or "valid", optional
        Cells of **-inf** around the input, as for :class:`Conv2d`.
    dilation : int or (int, int), optional
        Spacing between the cells of a window.
    return_indices : bool, optional
        Also return, for each output, the flat index ``h * W + w`` of its
        maximum in the input's (n, c) plane, for :class:`MaxUnpool2d`.
    ceil_mode : bool, optional
        Round ``H_out`` up rather than down, keeping a last partial window
        (PyTorch's rule).

    Raises
    ------
    ValueError
        At construction: a kernel size, stride or dilation below 1, a negative
        padding or an unknown padding string.  When called: an input that is
        not 4-d, an output size below 1.
    TypeError
        At construction: a geometry value that is not an int.  When called: an
        input that is not float32 or float64.

    Notes
    -----
    .. math::

        y_{n,i,j,c} = \max_{a < k_h,\, b < k_w}
            \tilde x_{n,\, i s_h + a d_h - p_t,\; j s_w + b d_w - p_l,\; c},
        \qquad
        H_{out} = \left\lfloor \frac{H + p_t + p_b - d_h (k_h - 1) - 1}{s_h} \right\rfloor + 1

    where :math:`\tilde x` is :math:`-\infty` in the padding.  The gradient
    goes to the first maximum of each window (PyTorch's tie rule).

    Differences from PyTorch's ``nn.MaxPool2d``: NHWC input, output and
    indices (the indices are the same numbers PyTorch gives, in NHWC order);
    string paddings are accepted, and the padding is not limited to half the
    kernel.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> pool = nn.MaxPool2d(2)
    >>> pool
    MaxPool2d(kernel_size=(2, 2), stride=(2, 2))
    >>> pool(x).numpy()[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]], dtype=float32)
    >>> y, indices = nn.MaxPool2d(2, return_indices=True)(x)
    >>> indices.numpy()[0, :, :, 0]                   # h * 4 + w
    array([[ 5,  7],
           [13, 15]])
    >>> nn.MaxPool2d(3, stride=2, ceil_mode=True)(x).shape   # ceil((4 - 3) / 2) + 1
    (1, 2, 2, 1)
    """

    def __init__(self, kernel_size: IntPair, stride: int | tuple[int, int] | None = None, padding: Padding = 0,
                 dilation: IntPair = 1, return_indices: bool = False, ceil_mode: bool = False):
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.return_indices = bool(return_indices)

    def forward(self, x: ArrayLike) -> Tensor | tuple[Tensor, Tensor]:
        """Max-pool ``x``.

        Parameters
        ----------
        x : Tensor or array_like, (N, H, W, C)
            float32 or float64.

        Returns
        -------
        Tensor, (N, H_out, W_out, C)
            With ``return_indices``, ``(y, indices)``, the indices an int64
            tensor of ``y``'s shape.
        """
        x = _check_input(self, x, 4, None, "(N, H, W, C)")
        return F.max_pool2d(x, kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                            dilation=self.dilation, ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool2d(_Pool):
    r"""Average pooling layer over NHWC input (PyTorch's ``nn.AvgPool2d``).

    Applies :func:`nabla.avg_pool2d`: ``layer(x)`` maps ``x`` of shape
    (N, H, W, C) to (N, H_out, W_out, C), each output the mean of its window
    in its channel.

    Parameters
    ----------
    kernel_size : int or (int, int)
        The window, ``(k_h, k_w)``.
    stride : int, (int, int) or None, optional
        ``None`` (the default): ``kernel_size``.
    padding : int, (int, int), (int, int, int, int), "same" or "valid", optional
        Cells of zeros around the input, as for :class:`Conv2d`.
    ceil_mode : bool, optional
        Round ``H_out`` up rather than down, as :class:`MaxPool2d`.
    count_include_pad : bool, optional
        True: divide every window by ``k_h * k_w``, padded cells counting.
        False: divide by the number of the window's cells inside the input.

    Raises
    ------
    ValueError, TypeError
        As :class:`MaxPool2d`.

    Notes
    -----
    .. math::

        y_{n,i,j,c} = \frac{1}{D_{ij}} \sum_{a < k_h,\, b < k_w}
            \tilde x_{n,\, i s_h + a - p_t,\; j s_w + b - p_l,\; c}

    with :math:`\tilde x` zero in the padding, and :math:`D_{ij} = k_h k_w`
    or, with ``count_include_pad=False``, the number of the window's cells
    inside the input (the cells that ``ceil_mode`` adds past the padding
    never count); ``H_out`` is :class:`MaxPool2d`'s.  Linear in ``x``.

    Differences from PyTorch's ``nn.AvgPool2d``: NHWC input and output;
    string paddings are accepted; there is no ``divisor_override``.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> nn.AvgPool2d(2)(x).numpy()[0, :, :, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]], dtype=float32)
    >>> ones = np.ones((1, 2, 2, 1), np.float32)
    >>> nn.AvgPool2d(2, stride=1, padding=1)(ones).numpy()[0, :, :, 0]     # corners: 1 cell of 4
    array([[0.25, 0.5 , 0.25],
           [0.5 , 1.  , 0.5 ],
           [0.25, 0.5 , 0.25]], dtype=float32)
    >>> nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False)(ones).numpy()[0, :, :, 0]
    array([[1., 1., 1.],
           [1., 1., 1.],
           [1., 1., 1.]], dtype=float32)
    """

    def __init__(self, kernel_size: IntPair, stride: int | tuple[int, int] | None = None, padding: Padding = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x: ArrayLike) -> Tensor:
        """Average-pool ``x``.

        Parameters
        ----------
        x : Tensor or array_like, (N, H, W, C)
            float32 or float64.

        Returns
        -------
        Tensor, (N, H_out, W_out, C)
        """
        x = _check_input(self, x, 4, None, "(N, H, W, C)")
        return F.avg_pool2d(x, kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                            ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.count_include_pad else ", count_include_pad=False")


class MaxUnpool2d(_Layer):
    r"""The partial inverse of :class:`MaxPool2d` (PyTorch's ``nn.MaxUnpool2d``).

    Applies :func:`nabla.max_unpool2d`: ``layer(y, indices)`` puts each value
    of ``y`` (N, H_in, W_in, C) at its index in a zero tensor
    (N, H_out, W_out, C), where ``indices`` come from ``MaxPool2d(...,
    return_indices=True)``.

    Parameters
    ----------
    kernel_size : int or (int, int)
        The max pooling's window.
    stride : int, (int, int) or None, optional
        The max pooling's stride; ``None``: ``kernel_size``.
    padding : int, (int, int) or (int, int, int, int), optional
        The max pooling's padding (no strings: give the numbers, or pass
        ``output_size`` when calling).

    Raises
    ------
    ValueError
        At construction: a kernel size or stride below 1, a negative padding.
        When called: ``indices`` of another shape than ``y``, not integers, or
        outside ``[-1, H_out * W_out)``; an output size below 1.
    TypeError
        A geometry value that is not an int; a string padding (when called); a
        ``y`` that is not float32 or float64.

    Notes
    -----
    By default :math:`H_{out} = (H_{in} - 1) s_h - (p_t + p_b) + k_h`, the
    size of the smallest input the pooling could have had; pass
    ``output_size`` for another.  Where an index repeats (overlapping
    windows), the values are **summed**; PyTorch keeps one of them,
    unspecified which.  Summing makes the layer linear, with exact gradients.
    An index of -1 (a max-pooling window wholly in padding) is skipped.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> y, indices = nn.MaxPool2d(2, return_indices=True)(x)
    >>> unpool = nn.MaxUnpool2d(2)
    >>> unpool(y, indices).numpy()[0, :, :, 0]
    array([[ 0.,  0.,  0.,  0.],
           [ 0.,  5.,  0.,  7.],
           [ 0.,  0.,  0.,  0.],
           [ 0., 13.,  0., 15.]], dtype=float32)
    >>> unpool(y, indices, output_size=(5, 5)).shape
    (1, 5, 5, 1)
    """

    def __init__(self, kernel_size: IntPair, stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] | tuple[int, int, int, int] = 0):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _pair(name, "kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else _pair(name, "stride", stride)
        self.padding = _padding(name, padding)

    def forward(self, x: ArrayLike, indices: ArrayLike,
                output_size: IntPair | tuple[int, int, int, int] | None = None) -> Tensor:
        """Scatter ``x`` into a zero tensor at ``indices``.

        Parameters
        ----------
        x : Tensor or array_like, (N, H_in, W_in, C)
            The max pooling's output; float32 or float64.
        indices : Tensor or array_like of int, (N, H_in, W_in, C)
            Flat ``h * W_out + w`` positions in the output planes, as
            ``MaxPool2d(..., return_indices=True)`` gives them.
        output_size : int, (int, int), 4-tuple or None, optional
            ``(H_out, W_out)`` (an int ``k``: ``(k, k)``), or a full NHWC shape;
            ``None``: the default size (class Notes).

        Returns
        -------
        Tensor, (N, H_out, W_out, C)
        """
        return F.max_unpool2d(x, indices, kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                              output_size=output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding!r}"


class AdaptiveAvgPool2d(_Layer):
    r"""Average pooling to a fixed output size (PyTorch's ``nn.AdaptiveAvgPool2d``).

    Applies :func:`nabla.adaptive_avg_pool2d`: ``layer(x)`` maps ``x`` of
    shape (N, H, W, C) to (N, H_out, W_out, C) whatever H and W are, which
    makes a network accept inputs of any size.

    Parameters
    ----------
    output_size : int, (int or None, int or None)
        ``(H_out, W_out)``; an int ``k`` means ``(k, k)``, and ``None`` keeps
        that axis's input size.  Checked when the layer is called.

    Raises
    ------
    ValueError
        When called: an input that is not 4-d or has an empty spatial axis, an
        ``output_size`` sequence that is not a pair, an entry below 1.
    TypeError
        When called: an input that is not float32 or float64, an
        ``output_size`` entry that is neither an int nor ``None``.

    Notes
    -----
    Output row :math:`i` averages input rows :math:`\lfloor i H / H_{out}
    \rfloor` to :math:`\lceil (i + 1) H / H_{out} \rceil - 1` (PyTorch's
    bins: they may differ in size and overlap), and the same for columns.
    When ``H_out`` divides ``H`` and ``W_out`` divides ``W`` this is
    :class:`AvgPool2d` with ``kernel_size = stride = (H / H_out, W / W_out)``.
    Differs from PyTorch only in the NHWC layout.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> nn.AdaptiveAvgPool2d(1)(x).numpy().ravel()       # the mean of 0..15
    array([7.5], dtype=float32)
    >>> nn.AdaptiveAvgPool2d((3, None))(x).numpy()[0, :, :, 0]   # rows [0, 2), [1, 3), [2, 4)
    array([[ 2.,  3.,  4.,  5.],
           [ 6.,  7.,  8.,  9.],
           [10., 11., 12., 13.]], dtype=float32)
    >>> nn.AdaptiveAvgPool2d((2, 3))(nb.randn((8, 33, 17, 5), seed=0)).shape
    (8, 2, 3, 5)
    """

    def __init__(self, output_size: int | tuple[int | None, int | None]):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: ArrayLike) -> Tensor:
        """Average-pool ``x`` to ``output_size``.

        Parameters
        ----------
        x : Tensor or array_like, (N, H, W, C)
            float32 or float64; ``H``, ``W`` > 0.

        Returns
        -------
        Tensor, (N, H_out, W_out, C)
        """
        x = _check_input(self, x, 4, None, "(N, H, W, C)")
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size!r}"


class AdaptiveMaxPool2d(AdaptiveAvgPool2d):
    r"""Max pooling to a fixed output size (PyTorch's ``nn.AdaptiveMaxPool2d``).

    Applies :func:`nabla.adaptive_max_pool2d`: ``layer(x)`` maps ``x`` of
    shape (N, H, W, C) to (N, H_out, W_out, C), each output the largest value
    of its bin.

    Parameters
    ----------
    output_size : int, (int or None, int or None)
        As :class:`AdaptiveAvgPool2d`.
    return_indices : bool, optional
        Also return the flat index ``h * W + w`` of each maximum, as
        :class:`MaxPool2d` does.

    Raises
    ------
    ValueError, TypeError
        As :class:`AdaptiveAvgPool2d`.

    Notes
    -----
    The bins are :class:`AdaptiveAvgPool2d`'s and the rules
    :class:`MaxPool2d`'s (the gradient goes to the first maximum of a bin).
    When the sizes divide it is :class:`MaxPool2d` with ``kernel_size =
    stride = (H / H_out, W / W_out)``; otherwise the ``adaptive_max_pool2d``
    kernel.  Differs from PyTorch only in the NHWC layout.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> nn.AdaptiveMaxPool2d((2, 1))(x).numpy()[0, :, :, 0]
    array([[ 7.],
           [15.]], dtype=float32)
    >>> y, indices = nn.AdaptiveMaxPool2d(1, return_indices=True)(x)
    >>> y.shape, int(indices.numpy().item())
    ((1, 1, 1, 1), 15)
    """

    def __init__(self, output_size: int | tuple[int | None, int | None], return_indices: bool = False):
        super().__init__(output_size)
        self.return_indices = bool(return_indices)

    # A pair with return_indices, as MaxPool2d; a subclass of AdaptiveAvgPool2d, whose
    # forward returns a Tensor, for PyTorch's class layout and the shared output_size.
    def forward(self, x: ArrayLike) -> Tensor | tuple[Tensor, Tensor]:  # type: ignore[override]
        """Max-pool ``x`` to ``output_size``.

        Parameters
        ----------
        x : Tensor or array_like, (N, H, W, C)
            float32 or float64; ``H``, ``W`` > 0.

        Returns
        -------
        Tensor, (N, H_out, W_out, C)
            With ``return_indices``, ``(y, indices)``, the indices an int64
            tensor of ``y``'s shape.
        """
        x = _check_input(self, x, 4, None, "(N, H, W, C)")
        return F.adaptive_max_pool2d(x, self.output_size, return_indices=self.return_indices)


class Flatten(_Layer):
    """Merge the axes ``start_dim`` to ``end_dim`` into one (PyTorch's ``nn.Flatten``).

    With the defaults, ``layer(x)`` maps (N, H, W, C) to (N, H * W * C): the
    step between the convolutions and the :class:`Linear` layers of a
    classifier.

    Parameters
    ----------
    start_dim : int, optional
        The first axis merged (the default keeps the batch axis).
    end_dim : int, optional
        The last axis merged, included; negative values count from the end.

    Notes
    -----
    On NHWC input the features come out in (H, W, C) order, where PyTorch's
    NCHW gives (C, H, W): the rows of the :class:`Linear` weight after it are
    in another order than PyTorch's.  A PyTorch weight ``w_torch`` of shape
    ``(out, C * H * W)`` is ported with
    ``w_torch.reshape(out, C, H, W).transpose(2, 3, 1, 0).reshape(H * W * C, out)``.

    Examples
    --------
    >>> import numpy as np
    >>> from nabla import nn
    >>> nn.Flatten()(np.zeros((2, 4, 4, 8), np.float32)).shape
    (2, 128)
    >>> nn.Flatten(1, 2)(np.zeros((2, 4, 4, 8), np.float32)).shape
    (2, 16, 8)
    >>> x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)   # NHWC
    >>> nn.Flatten()(x).numpy()                                  # (h, w, c) order
    array([[0., 1., 2., 3., 4., 5., 6., 7.]], dtype=float32)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: ArrayLike) -> Tensor:
        """Reshape ``x``, merging the axes ``start_dim`` to ``end_dim``.

        Parameters
        ----------
        x : Tensor or array_like, (N, d_1, ..., d_k)

        Returns
        -------
        Tensor
            ``x``'s values with those axes replaced by one, of their product's size.
        """
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(_Layer):
    """A layer that returns its input (PyTorch's ``nn.Identity``): a placeholder.

    Unlike PyTorch's, it takes no constructor arguments and calling it takes
    exactly one input.

    Examples
    --------
    >>> import numpy as np
    >>> from nabla import nn
    >>> nn.Identity()(np.array([1.0, -2.0], np.float32))
    Tensor([ 1., -2.], dtype=float32)
    """

    def forward(self, x: ArrayLike) -> Tensor:
        """``x``, as a tensor (:func:`nabla.asarray`).

        Parameters
        ----------
        x : Tensor or array_like

        Returns
        -------
        Tensor
            ``x`` itself if it is a tensor.
        """
        return asarray(x)


class ReLU(_Layer):
    r"""Rectified linear unit, element-wise: ``max(x, 0)`` (PyTorch's ``nn.ReLU``).

    Notes
    -----
    :math:`\mathrm{relu}(x) = \max(x, 0)`, with derivative 1 for
    :math:`x > 0` and 0 otherwise (0 at :math:`x = 0`, as PyTorch and JAX).
    Any shape.  There is no ``inplace`` argument: nothing is ever modified in
    place.

    Examples
    --------
    >>> import numpy as np
    >>> from nabla import nn
    >>> nn.ReLU()(np.array([-1.0, 0.0, 2.0], np.float32))
    Tensor([0., 0., 2.], dtype=float32)
    """

    def forward(self, x: ArrayLike) -> Tensor:
        """``max(x, 0)``, element-wise.

        Parameters
        ----------
        x : Tensor or array_like
            Any shape.

        Returns
        -------
        Tensor
            ``x``'s shape and dtype.
        """
        return F.relu(x)


class Tanh(_Layer):
    r"""Hyperbolic tangent, element-wise (PyTorch's ``nn.Tanh``).

    Notes
    -----
    :math:`\tanh x = (e^x - e^{-x}) / (e^x + e^{-x})`, with derivative
    :math:`1 - \tanh^2 x`.  Any shape.

    Examples
    --------
    >>> import numpy as np
    >>> from nabla import nn
    >>> np.round(nn.Tanh()(np.array([-1.0, 0.0, 1.0], np.float32)).numpy(), 4)
    array([-0.7616,  0.    ,  0.7616], dtype=float32)
    """

    def forward(self, x: ArrayLike) -> Tensor:
        """``tanh(x)``, element-wise.

        Parameters
        ----------
        x : Tensor or array_like
            Any shape.

        Returns
        -------
        Tensor
            ``x``'s shape.
        """
        return tanh(x)


class Sigmoid(_Layer):
    r"""Logistic sigmoid, element-wise: ``1 / (1 + exp(-x))`` (PyTorch's ``nn.Sigmoid``).

    Notes
    -----
    :math:`\sigma(x) = 1 / (1 + e^{-x})`, with derivative
    :math:`\sigma(x) (1 - \sigma(x))`; computed without overflow for large
    :math:`|x|`.  Any shape.

    Examples
    --------
    >>> import numpy as np
    >>> from nabla import nn
    >>> nn.Sigmoid()(np.array([-1000.0, 0.0, 1000.0], np.float32))
    Tensor([0. , 0.5, 1. ], dtype=float32)
    """

    def forward(self, x: ArrayLike) -> Tensor:
        """``1 / (1 + exp(-x))``, element-wise.

        Parameters
        ----------
        x : Tensor or array_like
            Any shape.

        Returns
        -------
        Tensor
            ``x``'s shape, values in [0, 1].
        """
        return sigmoid(x)


class Dropout(_Layer):
    r"""Dropout: zero random elements in training mode (PyTorch's ``nn.Dropout``).

    In training mode each element of the input is zeroed with probability
    ``p`` and the others are scaled by ``1 / (1 - p)``; in evaluation mode
    (after :meth:`~Module.eval`) the layer returns its input.  See
    :func:`nabla.nn.functional.dropout`.

    Parameters
    ----------
    p : float, optional
        The probability of zeroing an element, in [0, 1].
    seed : int, numpy.random.Generator or None, optional
        ``None``: each call draws from nabla's global generator (so
        :func:`nabla.seed` makes runs reproducible).  An int or a
        ``Generator``: the layer's own generator, advanced by each call.

    Raises
    ------
    ValueError
        At construction: ``p`` outside [0, 1] or not a number.

    Notes
    -----
    With a mask :math:`m_i \sim \mathrm{Bernoulli}(1 - p)`, drawn anew at
    every call,

    .. math::

        y_i = \frac{m_i\, x_i}{1 - p}

    so :math:`E[y_i] = x_i` ("inverted" dropout: nothing to rescale at
    evaluation).  Srivastava et al., "Dropout: a simple way to prevent neural
    networks from overfitting" (JMLR 2014).  The gradient is the same mask,
    scaled.

    Differences from PyTorch's ``nn.Dropout``: the masks come from NumPy's
    generator (the same distribution, not the same numbers); the layer's
    generator is a setting, so it is shared by the copies a transform or an
    optimizer makes, and the model an optimizer returns goes on drawing
    fresh masks; there is no ``inplace``.

    Examples
    --------
    >>> import numpy as np
    >>> from nabla import nn
    >>> drop = nn.Dropout(0.5, seed=0)
    >>> x = np.ones((2, 4), np.float32)
    >>> drop(x).numpy()                                   # kept elements are doubled
    array([[2., 0., 0., 0.],
           [2., 2., 2., 2.]], dtype=float32)
    >>> drop(x).numpy()                                   # a new mask at each call
    array([[2., 2., 2., 0.],
           [2., 0., 2., 0.]], dtype=float32)
    >>> drop.eval()(x).numpy()
    array([[1., 1., 1., 1.],
           [1., 1., 1., 1.]], dtype=float32)
    """

    def __init__(self, p: float = 0.5, seed: int | np.random.Generator | None = None):
        super().__init__()
        F.dropout(np.zeros(0, np.float32), p, training=False)  # checks p
        self.p = float(p)
        # None: nabla's global generator at each call (so nabla.seed applies);
        # an int: the layer's own generator, advanced by each call.
        self._rng = None if seed is None else init._rng(seed if isinstance(seed, np.random.Generator)
                                                        else np.random.default_rng(seed))

    def forward(self, x: ArrayLike) -> Tensor:
        """Apply dropout (training mode) or return ``x`` (evaluation mode).

        Parameters
        ----------
        x : Tensor or array_like
            Any shape; float.

        Returns
        -------
        Tensor
            ``x``'s shape and dtype.
        """
        return F.dropout(x, self.p, training=self.training, seed=self._rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm2d(_Layer):
    r"""Batch normalisation per channel of NHWC input (PyTorch's ``nn.BatchNorm2d``).

    ``layer(x)`` normalises ``x`` of shape (N, H, W, num_features) with a mean
    and variance per channel, taken over N, H and W, then scales and shifts
    it; the output has the input's shape.

    Parameters
    ----------
    num_features : int
        ``C``, the channels of the input (its last axis); positive.
    eps : float, optional
        Added to the variance, for stability.
    momentum : float or None, optional
        The weight of each new batch in the running statistics; ``None``: a
        cumulative average (each of the ``n`` batches so far weighs ``1/n``).
    affine : bool, optional
        Whether to learn a scale ``weight`` and a shift ``bias``.
    track_running_stats : bool, optional
        Whether to keep running statistics (for evaluation mode).  Without
        them the batch's statistics are used in both modes.
    dtype : float32 or float64, optional
        The dtype of the parameters and buffers; the input must have it too.

    Attributes
    ----------
    weight : Tensor, (num_features,), or None
        The scale :math:`\gamma`, initially ones (``None`` unless ``affine``).
    bias : Tensor, (num_features,), or None
        The shift :math:`\beta`, initially zeros.
    running_mean : Tensor, (num_features,)
        A buffer (not trained), initially zeros; only with
        ``track_running_stats``, as the next two.
    running_var : Tensor, (num_features,)
        A buffer, initially ones.
    num_batches_tracked : Tensor, () int64
        A buffer: the number of running-statistics updates.

    Raises
    ------
    ValueError
        At construction: ``num_features`` not a positive int.  When called:
        an input that is not (N, H, W, num_features), or, when the batch's
        statistics are used, a batch with fewer than 2 values per channel
        (``N * H * W < 2``).
    TypeError
        At construction: a dtype other than float32 and float64.  When called:
        an input of another dtype than the layer's.

    Notes
    -----
    For each channel :math:`c`,

    .. math::

        y_{n,h,w,c} = \frac{x_{n,h,w,c} - \mu_c}{\sqrt{\sigma^2_c + \epsilon}}\, \gamma_c + \beta_c

    In training mode (and always without running statistics),
    :math:`\mu_c` and :math:`\sigma^2_c` are the batch's mean and biased
    variance over (N, H, W), and the gradient flows through them.  Each call
    in training mode also updates the running statistics, with the
    *unbiased* batch variance (:math:`m` = ``momentum``, or :math:`1/n` at the
    :math:`n`-th update when it is ``None``):

    .. math::

        \hat\mu \leftarrow (1 - m)\, \hat\mu + m\, \mu_B, \qquad
        \hat\sigma^2 \leftarrow (1 - m)\, \hat\sigma^2 + m\, \frac{N H W}{N H W - 1}\, \sigma^2_B

    In evaluation mode :math:`\hat\mu` and :math:`\hat\sigma^2` are used
    and not updated.  Ioffe & Szegedy, "Batch normalization: accelerating deep
    network training by reducing internal covariate shift" (ICML 2015); the
    update rule and defaults are PyTorch's.

    Differences from PyTorch's ``nn.BatchNorm2d``: the channels are the last
    axis (NHWC).  The running statistics are buffers shared with every copy
    of the layer: the update is a side effect of the call, also inside
    :func:`nabla.grad` (computed from the values, not differentiated), and
    the model an optimizer returns sees it.  A model whose forward pass is
    run twice per step (e.g. a finite-difference check) updates them twice.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> bn = nn.BatchNorm2d(3)
    >>> bn
    BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    >>> x = nb.randn((8, 4, 4, 3), mean=2.0, std=3.0, seed=0)
    >>> y = bn(x)                                  # training mode: the batch's statistics
    >>> y.shape
    (8, 4, 4, 3)
    >>> bool(np.allclose(y.numpy().mean(axis=(0, 1, 2)), 0, atol=1e-5)
    ...      and np.allclose(y.numpy().std(axis=(0, 1, 2)), 1, atol=1e-3))
    True
    >>> batch_mean = x.numpy().mean(axis=(0, 1, 2))
    >>> bool(np.allclose(bn.running_mean.numpy(), 0.9 * 0 + 0.1 * batch_mean))
    True
    >>> bn.num_batches_tracked
    Tensor(1, dtype=int64)
    >>> z = bn.eval()(x)                           # evaluation: the running statistics
    >>> bn.num_batches_tracked
    Tensor(1, dtype=int64)
    """

    # Buffers (register_buffer, with track_running_stats), read through Module.__getattr__.
    running_mean: Tensor
    running_var: Tensor
    num_batches_tracked: Tensor

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype: DTypeLike = np.float32):
        super().__init__()
        name = type(self).__name__
        self.num_features = _positive(name, "num_features", num_features)
        self.eps, self.momentum = float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        self._dtype = _dtype(name, dtype)
        self.weight = init.ones((num_features,), self._dtype) if affine else None
        self.bias = init.zeros((num_features,), self._dtype) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", init.zeros((num_features,), self._dtype))
            self.register_buffer("running_var", init.ones((num_features,), self._dtype))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))

    def _name(self) -> str:
        return f"BatchNorm2d({self.num_features})"

    def forward(self, x: ArrayLike) -> Tensor:
        """Normalise ``x`` (and, in training mode, update the running statistics).

        Parameters
        ----------
        x : Tensor or array_like, (N, H, W, num_features)
            In the layer's dtype.

        Returns
        -------
        Tensor, (N, H, W, num_features)
        """
        x = _check_input(self, x, 4, self.num_features, f"(N, H, W, {self.num_features})")
        use_batch = self.training or not self.track_running_stats
        if use_batch and x.size // x.shape[-1] < 2:
            raise ValueError(f"{self._name()}: training needs more than 1 value per channel, got input shape "
                             f"{x.shape}")
        if not use_batch:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, eps=self.eps)
        # The batch's statistics come back from the normalisation kernel itself.
        y, mu, var = _norm.batch_norm_train(x, self.weight, self.bias, self.eps)
        if self.training and self.track_running_stats:
            n = int(self.num_batches_tracked.item()) + 1
            m = 1.0 / n if self.momentum is None else self.momentum
            rows = x.size // x.shape[-1]
            unbiased = var.astype(np.float64) * (rows / (rows - 1))
            self.num_batches_tracked = Tensor(np.array(n, np.int64))
            old_mean, old_var = self.running_mean.numpy(), self.running_var.numpy()
            self.running_mean = Tensor(((1 - m) * old_mean + m * mu.astype(np.float64)).astype(self._dtype))
            self.running_var = Tensor(((1 - m) * old_var + m * unbiased).astype(self._dtype))
        return y

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")
