"""Batch normalisation (Ioffe & Szegedy 2015), channels last: fused primitives.

The channels are the last axis of ``x``; the statistics run over every other
axis, the ``M`` *rows* (N*H*W for an NHWC batch).  In training mode, per channel,

    mean = sum(x) / M,   var = sum((x - mean)**2) / M,   r = 1 / sqrt(var + eps)
    xhat = (x - mean) * r,   y = gamma * xhat + beta

and the VJP, from the two per-channel sums s0 = sum(dy * xhat) (= dgamma) and
s1 = sum(dy) (= dbeta), is

    dx = gamma * r * (dy - (s1 + xhat * s0) / M)

(the mean and the variance are functions of x: the gradient flows through
them).  Four primitives, one kernel each (``nabla/_backend.py``):

    batch_norm(x, gamma, beta)              -> y; aux: mean, var
    batch_norm_backward_reduce(x, dy)       -> (2, C): [s0; s1]
    batch_norm_backward(x, gamma, dy, s)    -> dx
    batch_norm_eval(x, mean, scale, beta)   -> (x - mean) * scale + beta

A training step's forward pass and gradient run only these kernels: one
``batch_norm``, then one ``batch_norm_backward_reduce`` whose sums serve the
gradients of x, gamma and beta alike (a joint VJP rule).

The batch statistics are functions of ``x``.  The kernels take the values the
forward pass computed (``mean``, ``var`` parameters, never differentiated);
every rule that differentiates through them computes them again from ``x``
with nabla ops (``_normalised``), slowly but differentiably, so derivatives
compose to any order.  Evaluation mode is affine in each argument:
``scale = gamma / sqrt(var + eps)`` is computed with nabla ops on (C,) vectors.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _args
from .._autodiff import Primitive, bind
from .._tensor import Tensor
from .._typing import ArrayLike, OptionalArrayLike
from .basic import astype, broadcast_to, mean, reduce_sum, sqrt, stack

__all__ = ["batch_norm"]


# --------------------------------------------------------- slow, differentiable
def _rows(x: Tensor) -> tuple[int, ...]:
    """The axes the statistics run over: every axis but the last."""
    return tuple(range(x.ndim - 1))


def _count(x: Tensor) -> int:
    """M, the number of rows (at least 1, so that empty batches divide safely)."""
    return max(math.prod(x.shape[:-1]), 1)


def _zeros(*shape: int, like: Tensor) -> Tensor:
    return Tensor(np.zeros(shape, like.dtype))


def _normalised(x: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """``(xhat, r)`` computed from x with nabla ops (differentiable again)."""
    mu = mean(x, axis=_rows(x))
    centred = x - mu
    r = 1.0 / sqrt(mean(centred * centred, axis=_rows(x)) + eps)
    return centred * r, r


def _xhat_jvp(xhat: Tensor, r: Tensor, t: Tensor) -> Tensor:
    """The derivative of xhat(x) along t: ``r * (t - mean(t) - xhat * mean(xhat * t))``.
    Per channel its Jacobian ``r (I - 1 1^T / M - xhat xhat^T / M)`` is symmetric, so
    this is its VJP too."""
    return r * (t - mean(t, axis=_rows(t)) - xhat * mean(xhat * t, axis=_rows(t)))


def _r_jvp(xhat: Tensor, r: Tensor, t: Tensor) -> Tensor:
    """The derivative of r(x) = 1 / sqrt(var(x) + eps) along t: ``-r**2 * mean(xhat * t)``, (C,)."""
    return -(r * r) * mean(xhat * t, axis=_rows(t))


def _r_vjp(xhat: Tensor, r: Tensor, h: Tensor) -> Tensor:
    """The transpose of :func:`_r_jvp`: a (C,) cotangent h back to x's shape."""
    return (-(r * r) * h / float(_count(xhat))) * xhat


# ------------------------------------------------------------------ primitives
_bn: Primitive = Primitive("batch_norm", kernel="batch_norm", nargs=3, aux=("mean", "var"))
_bn_reduce: Primitive = Primitive("batch_norm_backward_reduce", kernel="batch_norm_backward_reduce", nargs=2)
_bn_backward: Primitive = Primitive("batch_norm_backward", kernel="batch_norm_backward", nargs=4)
_bn_eval: Primitive = Primitive("batch_norm_eval", kernel="batch_norm_eval", nargs=4)


def _bn_vjp(g: Tensor, y: Tensor, x: Tensor, gamma: Tensor, beta: Tensor, *, argnums: tuple[int, ...],
            eps: float, mean: np.ndarray[Any, Any], var: np.ndarray[Any, Any]) -> tuple[Tensor, ...]:
    """dx, dgamma, dbeta (those asked for) from one reduction over (x, g)."""
    stats = dict(mean=mean, var=var, eps=eps)
    sums = _bn_reduce(x, g, **stats)
    grads: dict[int, Callable[[], Tensor]] = {0: lambda: _bn_backward(x, gamma, g, sums, **stats),
                                              1: lambda: sums[0], 2: lambda: sums[1]}
    return tuple(grads[i]() for i in argnums)


_bn.defvjp_joint(_bn_vjp)
_bn.defjvp(
    lambda t, y, x, gamma, beta, *, eps, **s: gamma * _xhat_jvp(*_normalised(x, eps), t),
    lambda t, y, x, gamma, beta, *, eps, **s: _bn(x, t, _zeros(x.shape[-1], like=x), eps=eps),   # xhat * t
    lambda t, y, x, gamma, beta, **p: broadcast_to(t, y.shape),
)

# sums = [sum(dy * xhat); sum(dy)]: linear in dy; in x through xhat.
_bn_reduce.defvjp(
    lambda g, s, x, dy, *, eps, **stats: _xhat_jvp(*_normalised(x, eps), g[0] * dy),
    lambda g, s, x, dy, *, eps, **stats: _bn(x, g[0], g[1], eps=eps),            # xhat * g0 + g1
).defjvp(
    lambda t, s, x, dy, *, eps, **stats: stack(
        [reduce_sum(dy * _xhat_jvp(*_normalised(x, eps), t), axis=_rows(x)), _zeros(x.shape[-1], like=x)]),
    lambda t, s, x, dy, **p: _bn_reduce(x, t, **p),
)


# dx = gamma * r * A with A = dy - (s1 + xhat * s0) / M: linear in gamma, in dy and in s;
# in x through r and xhat.
def _backward_a(x: Tensor, dy: Tensor, s: Tensor, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    xhat, r = _normalised(x, eps)
    return xhat, r, dy - (s[1] + xhat * s[0]) / float(_count(x))


def _backward_vjp_x(g: Tensor, dx: Tensor, x: Tensor, gamma: Tensor, dy: Tensor, s: Tensor, *, eps: float,
                    **stats: Any) -> Tensor:
    xhat, r, a = _backward_a(x, dy, s, eps)
    through_r = _r_vjp(xhat, r, reduce_sum(g * gamma * a, axis=_rows(x)))
    through_xhat = _xhat_jvp(xhat, r, g * (-(gamma * r * s[0]) / float(_count(x))))
    return through_r + through_xhat


def _backward_jvp_x(t: Tensor, dx: Tensor, x: Tensor, gamma: Tensor, dy: Tensor, s: Tensor, *, eps: float,
                    **stats: Any) -> Tensor:
    xhat, r, a = _backward_a(x, dy, s, eps)
    return gamma * (_r_jvp(xhat, r, t) * a - r * s[0] / float(_count(x)) * _xhat_jvp(xhat, r, t))


_bn_backward.defvjp(
    _backward_vjp_x,
    lambda g, dx, x, gamma, dy, s, *, eps, **stats:
        reduce_sum(g * _backward_a(x, dy, s, eps)[2], axis=_rows(x)) * _normalised(x, eps)[1],
    lambda g, dx, x, gamma, dy, s, **p: _bn_backward(x, gamma, g, _zeros(2, x.shape[-1], like=x), **p),
    lambda g, dx, x, gamma, dy, s, *, eps, **stats:
        -(gamma * _normalised(x, eps)[1] / float(_count(x))) * _bn_reduce(x, g, eps=eps, **stats),
).defjvp(
    _backward_jvp_x,
    lambda t, dx, x, gamma, dy, s, **p: _bn_backward(x, t, dy, s, **p),
    lambda t, dx, x, gamma, dy, s, **p: _bn_backward(x, gamma, t, _zeros(2, x.shape[-1], like=x), **p),
    lambda t, dx, x, gamma, dy, s, **p: _bn_backward(x, gamma, _zeros(*x.shape, like=x), t, **p),
)

# y = (x - mean) * scale + beta: affine in each argument.
_bn_eval.defvjp(
    lambda g, y, x, mu, scale, beta: _bn_eval(g, _zeros(*mu.shape, like=g), scale, _zeros(*mu.shape, like=g)),
    lambda g, y, x, mu, scale, beta: -scale * reduce_sum(g, axis=_rows(g)),
    lambda g, y, x, mu, scale, beta: reduce_sum(g * (x - mu), axis=_rows(g)),
    lambda g, y, x, mu, scale, beta: reduce_sum(g, axis=_rows(g)),
).defjvp(
    lambda t, y, x, mu, scale, beta: _bn_eval(t, _zeros(*mu.shape, like=t), scale, _zeros(*mu.shape, like=t)),
    lambda t, y, x, mu, scale, beta: _bn_eval(_zeros(*x.shape, like=x), t, scale, _zeros(*mu.shape, like=x)),
    lambda t, y, x, mu, scale, beta: _bn_eval(x, mu, t, _zeros(*mu.shape, like=x)),
    lambda t, y, x, mu, scale, beta: broadcast_to(t, y.shape),
)


# ------------------------------------------------------------------------ op
def _channel_vector(op: str, name: str, value: Any, x: Tensor) -> Tensor | None:
    """An optional (C,) argument, converted to x's dtype (None stays None)."""
    if value is None:
        return None
    t = _args._to_tensor(op, name, value)
    if t.shape != (x.shape[-1],):
        raise ValueError(f"{op}: argument '{name}' must have shape ({x.shape[-1]},), one value per channel "
                         f"(the last axis of x, shape {x.shape}), got shape {t.shape}")
    return astype(t, x.dtype)


def _checked(x: ArrayLike, running_mean: OptionalArrayLike, running_var: OptionalArrayLike,
             weight: OptionalArrayLike, bias: OptionalArrayLike, eps: float
             ) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None, Tensor | None, float]:
    op = "batch_norm"
    (xt,) = _args.float_tensors(op, x=x)
    if xt.ndim < 2:
        raise ValueError(f"{op}: argument 'x' must have rank 2 or more (..., C), the channels last, "
                         f"got shape {xt.shape}")
    vectors = [_channel_vector(op, name, v, xt) for name, v in
               (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias))]
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real) or not float(eps) >= 0:
        raise ValueError(f"{op}: argument 'eps' must be a number >= 0, got {eps!r}")
    return (xt, *vectors, float(eps))


def batch_norm_train(x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float
                     ) -> tuple[Tensor, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Training mode on checked arguments: ``(y, mean, var)``, the batch's mean and
    biased variance (C,) as arrays of x's dtype (for running statistics)."""
    c = x.shape[-1]
    gamma = weight if weight is not None else Tensor(np.ones(c, x.dtype))
    beta = bias if bias is not None else Tensor(np.zeros(c, x.dtype))
    y, aux = bind(_bn, [x, gamma, beta], dict(eps=eps))
    return y, aux["mean"], aux["var"]


def batch_norm(x: ArrayLike, running_mean: OptionalArrayLike = None, running_var: OptionalArrayLike = None,
               weight: OptionalArrayLike = None, bias: OptionalArrayLike = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    r"""Batch normalisation over every axis but the last (the channels, as in NHWC).

    Parameters
    ----------
    x : Tensor or array_like, (..., C)
        Float32 or float64, rank 2 or more; (N, H, W, C) for images, (N, C) for
        features.
    running_mean, running_var : Tensor or array_like, (C,), optional
        The statistics to normalise with in evaluation mode (converted to
        ``x``'s dtype).
    weight, bias : Tensor or array_like, (C,), optional
        The scale :math:`\gamma` and shift :math:`\beta` (``None``: 1 and 0),
        converted to ``x``'s dtype.
    training : bool, optional
        True: use the batch's statistics.  False (the default, as PyTorch):
        use ``running_mean`` and ``running_var``, or the batch's when either
        is ``None``.
    momentum : float, optional
        Not used (see Notes); accepted for PyTorch's signature.
    eps : float, optional
        Added to the variance, for stability; >= 0.

    Returns
    -------
    Tensor
        ``x``'s shape and dtype.

    Raises
    ------
    TypeError
        An ``x`` (or a statistic, ``weight``, ``bias``) that is not a float32
        or float64 array.
    ValueError
        An ``x`` of rank below 2; statistics, ``weight`` or ``bias`` whose
        shape is not ``(C,)``; a negative ``eps``.

    Notes
    -----
    .. math::

        y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}\, \gamma + \beta

    per channel, where with the batch's statistics :math:`\mu` and
    :math:`\sigma^2` are the mean and biased variance over every axis but
    the last (:math:`M` values), and the gradient flows through them:

    .. math::

        \frac{\partial L}{\partial x} = \frac{\gamma}{\sqrt{\sigma^2 + \epsilon}}
            \Big(g - \frac{1}{M}\sum g - \hat x\, \frac{1}{M}\sum g\, \hat x\Big),
        \qquad \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}

    (sums over the rows, :math:`g = \partial L / \partial y`).  Ioffe &
    Szegedy, ICML 2015; PyTorch's ``torch.nn.functional.batch_norm`` with the
    channels last.  Unlike PyTorch's, it does not update ``running_mean``
    and ``running_var`` in training (nabla's tensors are immutable):
    :class:`~nabla.nn.BatchNorm2d` keeps and updates them.

    Fused kernels (``nabla/ops/norm.py``): one pass for the mean, one for the
    variance (so it stays accurate when the mean is large against the
    spread; float64 sums for float32 data) and one for y; the gradient in
    x, ``weight`` and ``bias`` takes one reduction and one elementwise pass.
    Derivatives of any order.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> x = nb.randn((8, 3), mean=5.0, std=2.0, seed=0)
    >>> y = nn.functional.batch_norm(x, training=True)
    >>> bool(np.allclose(y.numpy().mean(axis=0), 0, atol=1e-5) and np.allclose(y.numpy().var(axis=0), 1, atol=1e-4))
    True
    >>> mean, var = np.full(3, 5.0, np.float32), np.full(3, 4.0, np.float32)
    >>> z = nn.functional.batch_norm(x, mean, var)              # evaluation: the given statistics
    >>> bool(np.allclose(z.numpy(), (x.numpy() - 5) / np.sqrt(4 + 1e-5)))
    True
    """
    xt, mu, var, gamma, beta, eps = _checked(x, running_mean, running_var, weight, bias, eps)
    if training or mu is None or var is None:
        return batch_norm_train(xt, gamma, beta, eps)[0]
    scale = 1.0 / sqrt(var + eps)
    if gamma is not None:
        scale = scale * gamma
    return _bn_eval(xt, mu, scale, beta if beta is not None else Tensor(np.zeros(xt.shape[-1], xt.dtype)))
