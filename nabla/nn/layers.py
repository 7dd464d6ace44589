"""Layers: PyTorch's ``torch.nn`` layers on NHWC tensors.

Arguments and defaults are PyTorch's, with two differences a port must know:
activations are NHWC (channels last) and weights are in nabla's layouts
(conv filters HWIO, transposed-conv filters ``(K_h, K_w, C_out/g, C_in)``,
linear weights ``(in, out)``).  Initialisation is PyTorch's: weights
kaiming-uniform with ``a = sqrt(5)`` (bound ``1/sqrt(fan_in)``), biases
``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, BatchNorm scale 1 and shift 0.  Every
layer takes ``dtype`` (float32 or float64) and ``seed`` (int, Generator or
``None`` for nabla's global generator) for its draws.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _args
from .._tensor import Tensor, asarray
from ..ops import flatten, sigmoid, tanh
from . import functional as F
from . import init
from .module import Module

__all__ = [
    "Conv2d", "ConvTranspose2d", "Linear", "MaxPool2d", "AvgPool2d", "Flatten", "ReLU", "Tanh", "Sigmoid",
    "Dropout", "BatchNorm2d", "Identity", "MaxUnpool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
]


def _dtype(layer: str, dtype) -> np.dtype:
    d = np.dtype(dtype)
    if d not in (np.float32, np.float64):
        raise TypeError(f"{layer}: dtype must be float32 or float64, got {d}")
    return d


def _positive(layer: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return int(value)


def _pair(layer: str, name: str, value, minimum: int = 1) -> tuple:
    return _args.pair(layer, name, value, minimum)


def _padding(layer: str, value):
    if _args.padding_string(layer, value) is None:
        _args.padding4(layer, value)  # checked now, kept as given (for repr)
    return value


def _check_input(layer: Module, x, ndim: int, channels: int | None, layout: str):
    """The input as a tensor, after checking rank, channel count and dtype against the layer."""
    x = asarray(x)
    name = layer._name()
    if x.ndim != ndim or (channels is not None and x.shape[-1] != channels):
        raise ValueError(f"{name}: expected input of shape {layout} with {channels} channels last, "
                         f"got shape {x.shape}" if channels is not None else
                         f"{name}: expected input of shape {layout}, got shape {x.shape}")
    dtype = getattr(layer, "_dtype", None)
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{name}: input dtype {x.dtype} does not match the layer's {dtype} parameters; "
                        f"convert the input (x.astype(np.{dtype})) or build the layer with dtype=np.{x.dtype}")
    return x


class _Layer(Module):
    def _name(self) -> str:
        return type(self).__name__


class Conv2d(_Layer):
    """2-D convolution layer: ``y = conv2d(x, weight, ...) + bias`` (PyTorch's ``nn.Conv2d``).

    ``x``: (N, H, W, in_channels) -> (N, H_out, W_out, out_channels).
    ``weight``: (K_h, K_w, in_channels / groups, out_channels) HWIO; ``bias``:
    (out_channels,) or ``None``.  ``kernel_size``, ``stride``, ``padding``,
    ``dilation``: int or (h, w); ``padding`` also (top, bottom, left, right),
    ``"same"`` or ``"valid"``; ``padding_mode``: ``"zeros"``, ``"reflect"``,
    ``"replicate"`` or ``"circular"`` (see :func:`nabla.conv2d`).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", dtype=np.float32, seed=None):
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

    def _weight_shape(self):
        return (*self.kernel_size, self.in_channels // self.groups, self.out_channels)

    def _name(self):
        return f"{type(self).__name__}({self.in_channels} -> {self.out_channels})"

    def forward(self, x):
        x = _check_input(self, x, 4, self.in_channels, "(N, H, W, C)")
        return F.conv2d(x, self.weight, stride=self.stride, dilation=self.dilation, padding=self.padding,
                        groups=self.groups, bias=self.bias, padding_mode=self.padding_mode)

    def extra_repr(self):
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
    """2-D transposed convolution layer (PyTorch's ``nn.ConvTranspose2d``): the
    adjoint of a ``Conv2d(out_channels, in_channels, ...)`` in its input, plus a bias.

    ``weight``: (K_h, K_w, out_channels / groups, in_channels) (conv2d_transpose's
    layout); ``output_padding`` adds rows/columns at the bottom/right.
    ``H_out = (H - 1)*stride - (pad_top + pad_bottom) + dilation*(K_h - 1) + output_padding + 1``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, dtype=np.float32, seed=None):
        self.output_padding = _pair(type(self).__name__, "output_padding", output_padding, 0)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         "zeros", dtype, seed)

    def _weight_shape(self):
        return (*self.kernel_size, self.out_channels // self.groups, self.in_channels)

    def forward(self, x):
        x = _check_input(self, x, 4, self.in_channels, "(N, H, W, C)")
        return F.conv2d_transpose(x, self.weight, stride=self.stride, dilation=self.dilation,
                                  padding=self.padding, output_paddings=self.output_padding,
                                  groups=self.groups, bias=self.bias)

    def extra_repr(self):
        s = super().extra_repr()
        return s if self.output_padding == (0, 0) else s + f", output_padding={self.output_padding}"


class Linear(_Layer):
    """Affine map ``y = x @ weight + bias`` on the last axis (PyTorch's ``nn.Linear``).

    ``x``: (..., in_features) -> (..., out_features); ``weight``: (in_features,
    out_features) (PyTorch stores its transpose); ``bias``: (out_features,) or ``None``.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=np.float32, seed=None):
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

    def _name(self):
        return f"Linear({self.in_features} -> {self.out_features})"

    def forward(self, x):
        x = asarray(x)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self._name()}: expected input of shape (..., {self.in_features}), got shape "
                             f"{x.shape}")
        x = _check_input(self, x, x.ndim, self.in_features, "(..., in_features)")
        y = x @ self.weight
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        s = f"in_features={self.in_features}, out_features={self.out_features}"
        s += "" if self.bias is not None else ", bias=False"
        return s + ("" if self._dtype == np.float32 else f", dtype={self._dtype}")


class _Pool(_Layer):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _pair(name, "kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else _pair(name, "stride", stride)
        self.padding = _padding(name, padding)
        self.dilation = _pair(name, "dilation", dilation)
        self.ceil_mode = bool(ceil_mode)

    def extra_repr(self):
        s = f"kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in (0, (0, 0), (0, 0, 0, 0)):
            s += f", padding={self.padding!r}"
        s += "" if self.dilation == (1, 1) else f", dilation={self.dilation}"
        return s + (", ceil_mode=True" if self.ceil_mode else "")


class MaxPool2d(_Pool):
    """Max pooling layer over NHWC windows (PyTorch's ``nn.MaxPool2d``; padding is -inf).
    ``stride`` defaults to ``kernel_size``; ``return_indices=True`` makes the layer
    return ``(y, indices)`` for :class:`MaxUnpool2d`."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.return_indices = bool(return_indices)

    def forward(self, x):
        x = _check_input(self, x, 4, None, "(N, H, W, C)")
        return F.max_pool2d(x, kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                            dilation=self.dilation, ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool2d(_Pool):
    """Average pooling layer over NHWC windows (PyTorch's ``nn.AvgPool2d``): zero
    padding, divided by ``K_h * K_w`` unless ``count_include_pad=False`` (then by
    the cells inside the input)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x):
        x = _check_input(self, x, 4, None, "(N, H, W, C)")
        return F.avg_pool2d(x, kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                            ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad)

    def extra_repr(self):
        return super().extra_repr() + ("" if self.count_include_pad else ", count_include_pad=False")


class MaxUnpool2d(_Layer):
    """The partial inverse of :class:`MaxPool2d` (PyTorch's ``nn.MaxUnpool2d``):
    ``layer(y, indices, output_size=None)``; see :func:`nabla.max_unpool2d`."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _pair(name, "kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else _pair(name, "stride", stride)
        self.padding = _padding(name, padding)

    def forward(self, x, indices, output_size=None):
        return F.max_unpool2d(x, indices, kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                              output_size=output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding!r}"


class AdaptiveAvgPool2d(_Layer):
    """Average pooling to a fixed ``output_size`` (PyTorch's ``nn.AdaptiveAvgPool2d``)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        x = _check_input(self, x, 4, None, "(N, H, W, C)")
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size!r}"


class AdaptiveMaxPool2d(AdaptiveAvgPool2d):
    """Max pooling to a fixed ``output_size`` (PyTorch's ``nn.AdaptiveMaxPool2d``)."""

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = bool(return_indices)

    def forward(self, x):
        x = _check_input(self, x, 4, None, "(N, H, W, C)")
        return F.adaptive_max_pool2d(x, self.output_size, return_indices=self.return_indices)


class Flatten(_Layer):
    """Merge axes ``start_dim..end_dim`` into one (default: all but the batch axis).
    On NHWC input the features come out in (H, W, C) order, not PyTorch's (C, H, W)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(_Layer):
    """Returns its input."""

    def forward(self, x):
        return asarray(x)


class ReLU(_Layer):
    """``max(x, 0)``, element-wise."""

    def forward(self, x):
        return F.relu(x)


class Tanh(_Layer):
    """``tanh(x)``, element-wise."""

    def forward(self, x):
        return tanh(x)


class Sigmoid(_Layer):
    """``1 / (1 + exp(-x))``, element-wise."""

    def forward(self, x):
        return sigmoid(x)


class Dropout(_Layer):
    """Inverted dropout with probability ``p`` in training mode, the identity in
    evaluation mode (PyTorch's ``nn.Dropout``).  The masks come from the layer's
    own generator, seeded by ``seed`` (reproducible runs) and shared by the
    copies an optimizer makes, so each call draws a fresh mask."""

    def __init__(self, p: float = 0.5, seed=None):
        super().__init__()
        F.dropout(np.zeros(0, np.float32), p, training=False)  # checks p
        self.p = float(p)
        # None: nabla's global generator at each call (so nabla.seed applies);
        # an int: the layer's own generator, advanced by each call.
        self._rng = None if seed is None else init._rng(seed if isinstance(seed, np.random.Generator)
                                                        else np.random.default_rng(seed))

    def forward(self, x):
        return F.dropout(x, self.p, training=self.training, seed=self._rng)

    def extra_repr(self):
        return f"p={self.p}"


class BatchNorm2d(_Layer):
    """Batch normalisation over (N, H, W) per channel of NHWC input (PyTorch's ``nn.BatchNorm2d``).

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``.  In training mode the
    batch's statistics are used (biased variance), and the buffers
    ``running_mean`` / ``running_var`` move towards them:
    ``running = (1 - momentum) * running + momentum * batch_statistic``, with the
    *unbiased* variance (``momentum=None``: a cumulative average); in evaluation
    mode the running statistics are used.  ``num_batches_tracked`` counts the
    updates.  Ioffe & Szegedy 2015.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=np.float32):
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

    def _name(self):
        return f"BatchNorm2d({self.num_features})"

    def forward(self, x):
        x = _check_input(self, x, 4, self.num_features, "(N, H, W, C)")
        use_batch = self.training or not self.track_running_stats
        if use_batch and x.size // x.shape[-1] < 2:
            raise ValueError(f"{self._name()}: training needs more than 1 value per channel, got input shape "
                             f"{x.shape}")
        if self.training and self.track_running_stats:
            n = int(self.num_batches_tracked.item()) + 1
            m = 1.0 / n if self.momentum is None else self.momentum
            mu, var = F._batch_statistics(x)
            self.num_batches_tracked = Tensor(np.array(n, np.int64))
            self.running_mean = Tensor(((1 - m) * self.running_mean.numpy() + m * mu).astype(self._dtype))
            self.running_var = Tensor(((1 - m) * self.running_var.numpy() + m * var).astype(self._dtype))
        stats = (None, None) if use_batch else (self.running_mean, self.running_var)
        return F.batch_norm(x, *stats, self.weight, self.bias, training=use_batch, eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")
