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
from collections.abc import Iterable, Sequence
from typing import cast

import numpy as np

from .._tensor import Tensor
from .._typing import DTypeLike
from ..ops import creation as _creation

__all__ = [
    "calculate_gain", "calculate_fan_in_and_fan_out", "uniform", "normal", "zeros", "ones", "constant",
    "kaiming_uniform", "kaiming_normal", "xavier_uniform", "xavier_normal",
]


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return _creation._gen(seed)


def _shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    if np.isscalar(shape):
        return (int(cast(int, shape)),)
    return tuple(int(s) for s in cast("Iterable[int]", shape))


def calculate_fan_in_and_fan_out(shape: Sequence[int]) -> tuple[int, int]:
    """The fan-in and fan-out of a weight of ``shape``, in nabla's layouts.

    Parameters
    ----------
    shape : sequence of int
        At least 2 dimensions, in nabla's layouts: the last axis is the
        output, the one before it the input (see the module's table).

    Returns
    -------
    (int, int)
        ``(fan_in, fan_out) = (shape[-2] * r, shape[-1] * r)`` with ``r`` the
        product of the other axes (the receptive field, ``K_h * K_w`` for a
        filter): the table of the module's description.

    Raises
    ------
    ValueError
        For fewer than 2 dimensions (a bias has no fan-out: its layer uses
        the weight's fan-in).

    Notes
    -----
    PyTorch's ``torch.nn.init._calculate_fan_in_and_fan_out`` reads the
    first axis as the output and the second as the input (``(out, in)``,
    OIHW); the fans computed here for nabla's layouts are the ones PyTorch
    computes for the same layer.

    Examples
    --------
    >>> from nabla import nn
    >>> nn.init.calculate_fan_in_and_fan_out((784, 10))          # Linear(784, 10)
    (784, 10)
    >>> nn.init.calculate_fan_in_and_fan_out((3, 3, 16, 32))     # Conv2d(16, 32, 3), HWIO
    (144, 288)
    """
    shape = _shape(shape)
    if len(shape) < 2:
        raise ValueError(f"calculate_fan_in_and_fan_out: a shape with at least 2 dimensions is needed, "
                         f"got {shape}")
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The gain PyTorch recommends for ``nonlinearity`` (``torch.nn.init.calculate_gain``).

    Parameters
    ----------
    nonlinearity : str
        ``"linear"``, ``"conv1d"``, ``"conv2d"``, ``"conv3d"``,
        ``"conv_transpose1d"``, ``"conv_transpose2d"``,
        ``"conv_transpose3d"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``,
        ``"leaky_relu"`` or ``"selu"``.
    param : float, optional
        leaky_relu's negative slope :math:`a` (default 0.01); ignored for the
        others.

    Returns
    -------
    float
        1 for the linear ones and sigmoid, 5/3 for tanh, :math:`\sqrt 2` for
        relu, :math:`\sqrt{2 / (1 + a^2)}` for leaky_relu, 3/4 for selu.

    Raises
    ------
    ValueError
        For another ``nonlinearity``, or a slope that is not a number.

    Notes
    -----
    The gain is the factor that keeps the variance of the activations
    through a layer and its nonlinearity: the initialisers multiply their
    standard deviation by it.  :math:`\sqrt 2` for relu is He et al. 2015's;
    with ``a = sqrt(5)``, leaky_relu's gain is :math:`\sqrt{1/3}`, which
    gives the layers' default bound :math:`1/\sqrt{\text{fan\_in}}`.

    Examples
    --------
    >>> import math
    >>> from nabla import nn
    >>> nn.init.calculate_gain("relu") == math.sqrt(2)
    True
    >>> nn.init.calculate_gain("tanh")
    1.6666666666666667
    >>> round(nn.init.calculate_gain("leaky_relu", math.sqrt(5)) ** 2, 6)
    0.333333
    """
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


def _fan(shape: Sequence[int], mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


def uniform(shape: int | Sequence[int], low: float = 0.0, high: float = 1.0,
            dtype: DTypeLike = np.float32, seed: int | np.random.Generator | None = None) -> Tensor:
    """Values drawn independently from the uniform distribution U(low, high).

    PyTorch's ``torch.nn.init.uniform_(tensor, a=low, b=high)``, returning a
    new tensor.

    Parameters
    ----------
    shape : int or sequence of int
        The shape of the result (an int ``n`` means ``(n,)``).
    low, high : float, optional
        The interval ``[low, high)``.
    dtype : dtype, optional
        Of the result.
    seed : int, numpy.random.Generator or None, optional
        An int for a reproducible draw, a ``Generator`` to draw from (it
        advances), ``None`` for nabla's global generator.

    Returns
    -------
    Tensor
        Of ``shape`` and ``dtype`` (drawn in float64, then converted).

    Examples
    --------
    >>> from nabla import nn
    >>> w = nn.init.uniform((2, 3), -1.0, 1.0, seed=0)
    >>> w.shape, w.dtype, bool(abs(w.numpy()).max() < 1)
    ((2, 3), dtype('float32'), True)
    """
    return Tensor(_rng(seed).uniform(low, high, _shape(shape)).astype(dtype))


def normal(shape: int | Sequence[int], mean: float = 0.0, std: float = 1.0,
           dtype: DTypeLike = np.float32, seed: int | np.random.Generator | None = None) -> Tensor:
    """Values drawn independently from the normal distribution N(mean, std ** 2).

    PyTorch's ``torch.nn.init.normal_``, returning a new tensor.

    Parameters
    ----------
    shape : int or sequence of int
        The shape of the result (an int ``n`` means ``(n,)``).
    mean : float, optional
        The mean.
    std : float, optional
        The standard deviation (not the variance); non-negative.
    dtype : dtype, optional
        Of the result.
    seed : int, numpy.random.Generator or None, optional
        An int for a reproducible draw, a ``Generator`` to draw from (it
        advances), ``None`` for nabla's global generator.

    Returns
    -------
    Tensor
        Of ``shape`` and ``dtype``.

    Raises
    ------
    ValueError
        For a negative ``std`` (NumPy's check).

    Examples
    --------
    >>> from nabla import nn
    >>> w = nn.init.normal((1000, 10), std=0.1, seed=0)
    >>> round(float(w.numpy().std()), 2)
    0.1
    """
    return Tensor(_rng(seed).normal(mean, std, _shape(shape)).astype(dtype))


def constant(shape: int | Sequence[int], value: float, dtype: DTypeLike = np.float32) -> Tensor:
    """A tensor of ``shape`` filled with ``value`` (PyTorch's ``torch.nn.init.constant_``).

    Parameters
    ----------
    shape : int or sequence of int
        The shape of the result (an int ``n`` means ``(n,)``).
    value : float
    dtype : dtype, optional
        Of the result.

    Returns
    -------
    Tensor

    Examples
    --------
    >>> from nabla import nn
    >>> nn.init.constant((2, 2), 0.5)
    Tensor([[0.5, 0.5],
            [0.5, 0.5]], dtype=float32)
    """
    return Tensor(np.full(_shape(shape), value, dtype=dtype))


def zeros(shape: int | Sequence[int], dtype: DTypeLike = np.float32) -> Tensor:
    """A tensor of zeros (PyTorch's ``torch.nn.init.zeros_``): biases, BatchNorm's shift.

    Parameters
    ----------
    shape : int or sequence of int
        The shape of the result (an int ``n`` means ``(n,)``).
    dtype : dtype, optional
        Of the result.

    Returns
    -------
    Tensor

    Examples
    --------
    >>> from nabla import nn
    >>> nn.init.zeros(3)
    Tensor([0., 0., 0.], dtype=float32)
    """
    return constant(shape, 0.0, dtype)


def ones(shape: int | Sequence[int], dtype: DTypeLike = np.float32) -> Tensor:
    """A tensor of ones (PyTorch's ``torch.nn.init.ones_``): BatchNorm's scale.

    Parameters
    ----------
    shape : int or sequence of int
        The shape of the result (an int ``n`` means ``(n,)``).
    dtype : dtype, optional
        Of the result.

    Returns
    -------
    Tensor

    Examples
    --------
    >>> import numpy as np
    >>> from nabla import nn
    >>> nn.init.ones((1, 2), np.float64)
    Tensor([[1., 1.]], dtype=float64)
    """
    return constant(shape, 1.0, dtype)


def kaiming_uniform(shape: Sequence[int], a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    dtype: DTypeLike = np.float32,
                    seed: int | np.random.Generator | None = None) -> Tensor:
    r"""He (Kaiming) initialisation, uniform (PyTorch's ``torch.nn.init.kaiming_uniform_``).

    Parameters
    ----------
    shape : sequence of int
        At least 2 dimensions, in nabla's layouts: the last axis is the
        output, the one before it the input (see the module's table).
    a : float, optional
        The negative slope of the leaky_relu that follows (see
        :func:`calculate_gain`).
    mode : {"fan_in", "fan_out"}, optional
        ``"fan_in"`` keeps the variance of the activations in the forward
        pass, ``"fan_out"`` that of the gradients in the backward pass.
    nonlinearity : str, optional
        The nonlinearity after the layer (``"relu"`` or ``"leaky_relu"`` are
        the usual ones; any name :func:`calculate_gain` knows).
    dtype : dtype, optional
        Of the result.
    seed : int, numpy.random.Generator or None, optional
        An int for a reproducible draw, a ``Generator`` to draw from (it
        advances), ``None`` for nabla's global generator.

    Returns
    -------
    Tensor
        Of ``shape``, drawn from :math:`U(-\text{bound}, \text{bound})`.

    Raises
    ------
    ValueError
        For a shape of fewer than 2 dimensions, an unknown ``mode`` or
        ``nonlinearity``.

    Notes
    -----
    .. math::

        \text{bound} = \text{gain} \sqrt{\frac{3}{\text{fan}}},
        \qquad \text{Var} = \frac{\text{bound}^2}{3} = \frac{\text{gain}^2}{\text{fan}}

    with the gain of :func:`calculate_gain` and the fan of
    :func:`calculate_fan_in_and_fan_out`.  He et al., "Delving deep into
    rectifiers: surpassing human-level performance on ImageNet
    classification" (ICCV 2015).  With ``a = sqrt(5)``, PyTorch's choice for
    its layers (:class:`~nabla.nn.Linear`, :class:`~nabla.nn.Conv2d`), the
    gain is :math:`\sqrt{1/3}` and the bound :math:`1/\sqrt{\text{fan\_in}}`.
    The fans are read from nabla's layouts (``(in, out)``, HWIO), so a weight
    gets the distribution PyTorch gives the same layer.

    Examples
    --------
    >>> import math
    >>> from nabla import nn
    >>> w = nn.init.kaiming_uniform((3, 3, 16, 32), a=math.sqrt(5), seed=0)   # fan_in = 3*3*16
    >>> w.shape, bool(abs(w.numpy()).max() <= 1 / math.sqrt(144))
    ((3, 3, 16, 32), True)
    >>> w = nn.init.kaiming_uniform((512, 256), nonlinearity="relu", seed=0)
    >>> round(float(w.numpy().std() * math.sqrt(512 / 2)), 1)                   # std = sqrt(2 / fan_in)
    1.0
    """
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(shape, mode))
    return uniform(shape, -bound, bound, dtype, seed)


def kaiming_normal(shape: Sequence[int], a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                   dtype: DTypeLike = np.float32,
                   seed: int | np.random.Generator | None = None) -> Tensor:
    r"""He (Kaiming) initialisation, normal (PyTorch's ``torch.nn.init.kaiming_normal_``).

    Parameters
    ----------
    shape : sequence of int
        At least 2 dimensions, in nabla's layouts: the last axis is the
        output, the one before it the input (see the module's table).
    a : float, optional
        The negative slope of the leaky_relu that follows (see
        :func:`calculate_gain`).
    mode : {"fan_in", "fan_out"}, optional
        ``"fan_in"`` keeps the variance of the activations in the forward
        pass, ``"fan_out"`` that of the gradients in the backward pass.
    nonlinearity : str, optional
        The nonlinearity after the layer (``"relu"`` or ``"leaky_relu"`` are
        the usual ones; any name :func:`calculate_gain` knows).
    dtype : dtype, optional
        Of the result.
    seed : int, numpy.random.Generator or None, optional
        An int for a reproducible draw, a ``Generator`` to draw from (it
        advances), ``None`` for nabla's global generator.

    Returns
    -------
    Tensor
        Of ``shape``, drawn from :math:`N(0, \text{std}^2)`.

    Raises
    ------
    ValueError
        For a shape of fewer than 2 dimensions, an unknown ``mode`` or
        ``nonlinearity``.

    Notes
    -----
    .. math::

        \text{std} = \frac{\text{gain}}{\sqrt{\text{fan}}}

    the variance of :func:`kaiming_uniform`.  He et al. 2015, who derive
    :math:`\text{std} = \sqrt{2 / \text{fan\_in}}` for relu (gain
    :math:`\sqrt 2`).

    Examples
    --------
    >>> import math
    >>> from nabla import nn
    >>> w = nn.init.kaiming_normal((512, 256), mode="fan_out", nonlinearity="relu", seed=0)
    >>> round(float(w.numpy().std() * math.sqrt(256 / 2)), 1)      # std = sqrt(2 / fan_out)
    1.0
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(shape, mode))
    return normal(shape, 0.0, std, dtype, seed)


def xavier_uniform(shape: Sequence[int], gain: float = 1.0, dtype: DTypeLike = np.float32,
                   seed: int | np.random.Generator | None = None) -> Tensor:
    r"""Glorot (Xavier) initialisation, uniform (PyTorch's ``torch.nn.init.xavier_uniform_``).

    Parameters
    ----------
    shape : sequence of int
        At least 2 dimensions, in nabla's layouts: the last axis is the
        output, the one before it the input (see the module's table).
    gain : float, optional
        A factor, e.g. ``calculate_gain("tanh")``.
    dtype : dtype, optional
        Of the result.
    seed : int, numpy.random.Generator or None, optional
        An int for a reproducible draw, a ``Generator`` to draw from (it
        advances), ``None`` for nabla's global generator.

    Returns
    -------
    Tensor
        Of ``shape``, drawn from :math:`U(-a, a)`.

    Raises
    ------
    ValueError
        For a shape of fewer than 2 dimensions.

    Notes
    -----
    .. math::

        a = \text{gain} \sqrt{\frac{6}{\text{fan\_in} + \text{fan\_out}}},
        \qquad \text{Var} = \text{gain}^2 \frac{2}{\text{fan\_in} + \text{fan\_out}}

    Glorot & Bengio, "Understanding the difficulty of training deep
    feedforward neural networks" (AISTATS 2010).

    Examples
    --------
    >>> import math
    >>> from nabla import nn
    >>> w = nn.init.xavier_uniform((100, 200), seed=0)
    >>> bool(abs(w.numpy()).max() <= math.sqrt(6 / 300))
    True
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, -a, a, dtype, seed)


def xavier_normal(shape: Sequence[int], gain: float = 1.0, dtype: DTypeLike = np.float32,
                  seed: int | np.random.Generator | None = None) -> Tensor:
    r"""Glorot (Xavier) initialisation, normal (PyTorch's ``torch.nn.init.xavier_normal_``).

    Parameters
    ----------
    shape : sequence of int
        At least 2 dimensions, in nabla's layouts: the last axis is the
        output, the one before it the input (see the module's table).
    gain : float, optional
        A factor, e.g. ``calculate_gain("tanh")``.
    dtype : dtype, optional
        Of the result.
    seed : int, numpy.random.Generator or None, optional
        An int for a reproducible draw, a ``Generator`` to draw from (it
        advances), ``None`` for nabla's global generator.

    Returns
    -------
    Tensor
        Of ``shape``, drawn from :math:`N(0, \text{std}^2)`.

    Raises
    ------
    ValueError
        For a shape of fewer than 2 dimensions.

    Notes
    -----
    .. math::

        \text{std} = \text{gain} \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}

    the variance of :func:`xavier_uniform`.  Glorot & Bengio 2010.

    Examples
    --------
    >>> import math
    >>> from nabla import nn
    >>> w = nn.init.xavier_normal((400, 200), seed=0)
    >>> round(float(w.numpy().std() / math.sqrt(2 / 600)), 1)
    1.0
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    return normal(shape, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), dtype, seed)
