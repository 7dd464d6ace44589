"""Parameter initialisers: each returns a new tensor of the given shape.

The names and formulas are PyTorch's ``torch.nn.init`` (without the trailing
underscore: nothing is filled in place).  Fans are read from nabla's layouts,
where the **last axis is the output** and the one before it the input:

==========================  =============================  =======================  =====================
parameter                   shape                          fan_in                   fan_out
==========================  =============================  =======================  =====================
``Linear`` weight           ``(in, out)``                  ``in``                   ``out``
``Conv2d`` filter (HWIO)    ``(K_h, K_w, C_in/g, C_out)``  ``K_h * K_w * C_in/g``   ``K_h * K_w * C_out``
``ConvTranspose2d`` filter  ``(K_h, K_w, C_out/g, C_in)``  ``K_h * K_w * C_out/g``  ``K_h * K_w * C_in``
==========================  =============================  =======================  =====================

These equal the fans PyTorch computes for the same layers in its own layouts
(``(out, in)``, OIHW, IOHW), so a layer initialised here has PyTorch's
distribution.  ``seed`` is an int (a reproducible draw), a
``numpy.random.Generator`` (drawn from, advancing it), or ``None`` (nabla's
global generator, see :func:`nabla.seed`).
"""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ..ops import creation as _creation

__all__ = [
    "calculate_gain", "calculate_fan_in_and_fan_out", "uniform", "normal", "zeros", "ones", "constant",
    "kaiming_uniform", "kaiming_normal", "xavier_uniform", "xavier_normal",
]


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return _creation._gen(seed)


def _shape(shape) -> tuple:
    return (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)


def calculate_fan_in_and_fan_out(shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape`` in nabla's layouts (table above).

    Raises ``ValueError`` for fewer than 2 dimensions (a bias has no fan-out; its
    layer passes the weight's fan-in instead)."""
    shape = _shape(shape)
    if len(shape) < 2:
        raise ValueError(f"calculate_fan_in_and_fan_out: a shape with at least 2 dimensions is needed, "
                         f"got {shape}")
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain PyTorch recommends for ``nonlinearity``: 1 for linear/conv/sigmoid,
    5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + a^2)) for leaky_relu (slope ``a``,
    default 0.01), 3/4 for selu."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else param
        if isinstance(a, bool) or not isinstance(a, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {a!r} is not a number")
        return math.sqrt(2.0 / (1 + a ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _fan(shape, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


def uniform(shape, low: float = 0.0, high: float = 1.0, dtype=np.float32, seed=None) -> Tensor:
    """Values drawn from U(low, high)."""
    return Tensor(_rng(seed).uniform(low, high, _shape(shape)).astype(dtype))


def normal(shape, mean: float = 0.0, std: float = 1.0, dtype=np.float32, seed=None) -> Tensor:
    """Values drawn from N(mean, std^2)."""
    return Tensor(_rng(seed).normal(mean, std, _shape(shape)).astype(dtype))


def constant(shape, value: float, dtype=np.float32) -> Tensor:
    return Tensor(np.full(_shape(shape), value, dtype=dtype))


def zeros(shape, dtype=np.float32) -> Tensor:
    return constant(shape, 0.0, dtype)


def ones(shape, dtype=np.float32) -> Tensor:
    return constant(shape, 1.0, dtype)


def kaiming_uniform(shape, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    dtype=np.float32, seed=None) -> Tensor:
    """He initialisation, uniform: U(-bound, bound), ``bound = gain * sqrt(3 / fan)``,
    gain from :func:`calculate_gain` (``a`` is leaky_relu's slope).  He et al. 2015,
    "Delving deep into rectifiers"; PyTorch's ``kaiming_uniform_``.  With
    ``a = sqrt(5)`` (PyTorch's layer default) the bound is ``1 / sqrt(fan_in)``."""
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(shape, mode))
    return uniform(shape, -bound, bound, dtype, seed)


def kaiming_normal(shape, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                   dtype=np.float32, seed=None) -> Tensor:
    """He initialisation, normal: N(0, std^2), ``std = gain / sqrt(fan)``."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(shape, mode))
    return normal(shape, 0.0, std, dtype, seed)


def xavier_uniform(shape, gain: float = 1.0, dtype=np.float32, seed=None) -> Tensor:
    """Glorot initialisation, uniform: U(-a, a), ``a = gain * sqrt(6 / (fan_in + fan_out))``.
    Glorot & Bengio 2010; PyTorch's ``xavier_uniform_``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, -a, a, dtype, seed)


def xavier_normal(shape, gain: float = 1.0, dtype=np.float32, seed=None) -> Tensor:
    """Glorot initialisation, normal: ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    return normal(shape, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), dtype, seed)
