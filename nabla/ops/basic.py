"""Element-wise, reduction and shape ops.

Each primitive sits on one screen: the NumPy computation, then its VJP and JVP
rules, written with nabla ops so they can be differentiated again.  These ops
are backend-independent (NumPy does them), except those a training step runs
on its largest tensors: ReLU (and its derivative), the sum of two tensors of
one shape and the sum over every axis but the last (a bias gradient), which
have backend kernels.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import numpy as np

from .._autodiff import Primitive, stop_gradient
from .._tensor import Tensor, asarray
from .._typing import ArrayLike, Axis, DTypeLike, ShapeLike

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log", "sqrt", "tanh",
    "relu", "sigmoid", "maximum", "minimum", "where", "reduce_sum", "mean",
    "reduce_max", "reshape", "permute", "transpose", "flatten", "broadcast_to",
    "pad", "getitem", "softmax", "logsoftmax", "logsumexp", "astype", "squeeze",
    "expand_dims", "abs", "stack",
]


def _pair(x: ArrayLike, y: ArrayLike) -> tuple[Tensor, Tensor]:
    """Tensors for a binary op.  A Python number takes the other operand's dtype
    (it is "weakly typed", as in NumPy 2, PyTorch and JAX)."""
    if isinstance(x, numbers.Number) and isinstance(y, Tensor):
        x = Tensor(np.asarray(x, dtype=y.dtype if y.dtype.kind == "f" else None))
    elif isinstance(y, numbers.Number) and isinstance(x, Tensor):
        y = Tensor(np.asarray(y, dtype=x.dtype if x.dtype.kind == "f" else None))
    return asarray(x), asarray(y)


def _unbroadcast(g: Tensor, like: Tensor) -> Tensor:
    """Sum ``g`` over the axes that broadcasting added to ``like``'s shape."""
    shape = like.shape
    if g.shape != shape:
        lead = g.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
        if axes == tuple(range(g.ndim - 1)) and g.dtype in _FLOATS and g.size >= _CHANNEL_SUM_MIN:
            g = reshape(_channel_sum(g), shape)     # a bias gradient: every axis but the channels
        else:
            g = reshape(reduce_sum(g, axis=axes), shape)
    return g if g.dtype == like.dtype else astype(g, like.dtype)


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# From about this many elements the channel_sum kernel beats NumPy's sum over
# the leading axes (slow for a short last axis: 0.6 ms for a (64, 28, 28, 6) bias
# gradient); below, NumPy's call costs less than a kernel's.
_CHANNEL_SUM_MIN = 1 << 12


def _bcast(t: Tensor, ans: Tensor) -> Tensor:
    return t if t.shape == ans.shape else broadcast_to(t, ans.shape)


# ------------------------------------------------------------------ arithmetic
_add: Primitive = Primitive("add", nargs=2, impl=np.add).defvjp(
    lambda g, ans, x, y: _unbroadcast(g, x),
    lambda g, ans, x, y: _unbroadcast(g, y),
).defjvp(
    lambda t, ans, x, y: _bcast(t, ans),
    lambda t, ans, x, y: _bcast(t, ans),
)

_sub: Primitive = Primitive("sub", nargs=2, impl=np.subtract).defvjp(
    lambda g, ans, x, y: _unbroadcast(g, x),
    lambda g, ans, x, y: _unbroadcast(neg(g), y),
).defjvp(
    lambda t, ans, x, y: _bcast(t, ans),
    lambda t, ans, x, y: _bcast(neg(t), ans),
)

_mul: Primitive = Primitive("mul", nargs=2, impl=np.multiply).defvjp(
    lambda g, ans, x, y: _unbroadcast(g * y, x),
    lambda g, ans, x, y: _unbroadcast(g * x, y),
).defjvp(
    lambda t, ans, x, y: _bcast(t * y, ans),
    lambda t, ans, x, y: _bcast(x * t, ans),
)

_div: Primitive = Primitive("div", nargs=2, impl=np.divide).defvjp(
    lambda g, ans, x, y: _unbroadcast(g / y, x),
    lambda g, ans, x, y: _unbroadcast(neg(g) * x / (y * y), y),
).defjvp(
    lambda t, ans, x, y: _bcast(t / y, ans),
    lambda t, ans, x, y: _bcast(neg(t) * x / (y * y), ans),
)

neg: Primitive = Primitive("neg", np.negative, doc="``-x``, element-wise.").deflinear(lambda g, x: neg(g))


def _pow_impl(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = np.power(x, y)
    return out


def _log_or_zero(x: Tensor) -> Tensor:
    """log(x) where x > 0, else 0: the d/dy of x**y at x == 0 is taken as 0
    (the limit used by JAX and PyTorch for y > 0)."""
    safe = where(x > 0, x, 1.0)
    return log(safe)


_pow: Primitive = Primitive("pow", _pow_impl, nargs=2).defvjp(
    lambda g, ans, x, y: _unbroadcast(g * y * x ** (y - 1), x),
    lambda g, ans, x, y: _unbroadcast(g * ans * _log_or_zero(x), y),
).defjvp(
    lambda t, ans, x, y: _bcast(t * y * x ** (y - 1), ans),
    lambda t, ans, x, y: _bcast(t * ans * _log_or_zero(x), ans),
)


# The sum of two large float tensors of one shape (a residual connection, the
# cotangents of a tensor used twice) as a backend kernel, threaded; smaller or
# broadcast sums stay with NumPy, whose call costs less than a kernel's.
_add_same: Primitive = Primitive(
    "add_same_shape", kernel="add", nargs=2, doc="``x + y`` for x and y of one shape and float dtype.",
).defvjp(
    lambda g, ans, x, y: g,
    lambda g, ans, x, y: g,
).defjvp(
    lambda t, ans, x, y: t,
    lambda t, ans, x, y: t,
)
_ADD_KERNEL_MIN = 1 << 15


def add(x: ArrayLike, y: ArrayLike) -> Tensor:
    """``x + y`` with NumPy broadcasting."""
    x, y = _pair(x, y)
    if x.shape == y.shape and x.dtype == y.dtype and x.dtype in _FLOATS and x.size >= _ADD_KERNEL_MIN:
        return _add_same(x, y)
    return _add(x, y)


def sub(x: ArrayLike, y: ArrayLike) -> Tensor:
    """``x - y`` with NumPy broadcasting."""
    return _sub(*_pair(x, y))


def mul(x: ArrayLike, y: ArrayLike) -> Tensor:
    """``x * y`` with NumPy broadcasting."""
    return _mul(*_pair(x, y))


def div(x: ArrayLike, y: ArrayLike) -> Tensor:
    """``x / y`` with NumPy broadcasting."""
    return _div(*_pair(x, y))


def pow(x: ArrayLike, y: ArrayLike) -> Tensor:  # noqa: A001  (Nabla's name)
    """``x ** y`` with NumPy broadcasting."""
    return _pow(*_pair(x, y))


# ----------------------------------------------------------------- unary math
exp: Primitive = Primitive("exp", np.exp, doc="``e**x``, element-wise.").defvjp(
    lambda g, ans, x: g * ans,
).defjvp(
    lambda t, ans, x: t * ans,
)

log: Primitive = Primitive("log", np.log, doc="Natural logarithm, element-wise.").defvjp(
    lambda g, ans, x: g / x,
).defjvp(
    lambda t, ans, x: t / x,
)

sqrt: Primitive = Primitive("sqrt", np.sqrt, doc="Square root, element-wise.").defvjp(
    lambda g, ans, x: g / (2.0 * ans),
).defjvp(
    lambda t, ans, x: t / (2.0 * ans),
)

tanh: Primitive = Primitive("tanh", np.tanh, doc="Hyperbolic tangent, element-wise.").defvjp(
    lambda g, ans, x: g * (1.0 - ans * ans),
).defjvp(
    lambda t, ans, x: t * (1.0 - ans * ans),
)


def _sigmoid_impl(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    # Two-branch form: never overflows exp.
    e = np.exp(-np.abs(x))
    out: np.ndarray[Any, Any] = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)
    return out


sigmoid: Primitive = Primitive(
    "sigmoid", _sigmoid_impl, doc="``1 / (1 + exp(-x))``, element-wise, without overflow.").defvjp(
    lambda g, ans, x: g * ans * (1.0 - ans),
).defjvp(
    lambda t, ans, x: t * ans * (1.0 - ans),
)


# Constants that derivative rules multiply by (masks, weights) are computed by
# primitives too, on untraced values, so every array computation passes the
# evaluation seat (profile, anomaly detection) and none is differentiated.
_sign: Primitive = Primitive("sign", np.sign,
                             doc="The sign of ``x``: abs's derivative (a constant).").nondifferentiable()

# ReLU runs on a training step's largest tensors, so it and its derivative are
# backend kernels (threaded, one pass each; nabla/_kernels/elementwise.pyx).
# relu_backward(g, x) = g * (x > 0) is linear in g; x only selects, and the rules
# pass it as a constant (stop_gradient), so it is never differentiated.
_relu_backward: Primitive = Primitive(
    "relu_backward", kernel="relu_backward", nargs=2,
    doc="``g * (x > 0)``: relu's VJP and JVP at x (linear in g; x is a constant).",
).defvjp(
    lambda g2, ans, g, x: _relu_backward(g2, x), None,
).defjvp(
    lambda t, ans, g, x: _relu_backward(t, x), None,
)

relu: Primitive = Primitive(
    "relu", kernel="relu",
    doc="``max(x, 0)``, element-wise; the derivative at 0 is taken as 0 (as PyTorch and JAX).",
).defvjp(
    lambda g, ans, x: _relu_backward(g, stop_gradient(x)),
).defjvp(
    lambda t, ans, x: _relu_backward(t, stop_gradient(x)),
)

abs: Primitive = Primitive("abs", np.abs, doc="``|x|``, element-wise; the derivative at 0 is 0.").defvjp(  # noqa: A001
    lambda g, ans, x: g * _sign(stop_gradient(x)),
).defjvp(
    lambda t, ans, x: t * _sign(stop_gradient(x)),
)


def where(condition: ArrayLike, x: ArrayLike, y: ArrayLike) -> Tensor:
    """``x`` where ``condition`` is true, else ``y`` (broadcasting).  The
    condition is not differentiated."""
    cond = Tensor(np.asarray(condition._value if isinstance(condition, Tensor) else condition, dtype=bool))
    x, y = _pair(x, y)
    return _where(cond, x, y)


def _zero(g: Tensor) -> Tensor:
    return Tensor(np.zeros((), g.dtype))


_where: Primitive = Primitive("where", np.where, nargs=3).defvjp(
    None,
    lambda g, ans, c, x, y: _unbroadcast(_where(c, g, _zero(g)), x),
    lambda g, ans, c, x, y: _unbroadcast(_where(c, _zero(g), g), y),
).defjvp(
    None,
    lambda t, ans, c, x, y: _bcast(_where(c, t, _zero(t)), ans),
    lambda t, ans, c, x, y: _bcast(_where(c, _zero(t), t), ans),
)


def maximum(x: ArrayLike, y: ArrayLike) -> Tensor:
    """Element-wise maximum; at ties the gradient is split evenly (as JAX)."""
    x, y = _pair(x, y)
    return _minmax(x, y, np.greater)


def minimum(x: ArrayLike, y: ArrayLike) -> Tensor:
    """Element-wise minimum; at ties the gradient is split evenly (as JAX)."""
    x, y = _pair(x, y)
    return _minmax(x, y, np.less)


def _minmax_weight_impl(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any],
                        better: Callable[..., Any]) -> np.ndarray[Any, Any]:
    x, y = np.broadcast_arrays(x, y)
    return np.where(better(x, y), 1.0, np.where(x == y, 0.5, 0.0)).astype(np.result_type(x, y))


_minmax_weight: Primitive = Primitive("minmax_weight", _minmax_weight_impl, nargs=2,
                                      doc="1 where x wins, 0.5 at ties, 0 where y wins (a constant)."
                                      ).nondifferentiable()


def _minmax(x: Tensor, y: Tensor, better: Callable[..., Any]) -> Tensor:
    wx = _minmax_weight(stop_gradient(x), stop_gradient(y), better=better)
    return x * wx + y * (1.0 - wx)


# ------------------------------------------------------------------ reductions
def _axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(cast("Iterable[int]", axis))
    out: list[int] = []
    for a in axes:
        if not isinstance(a, numbers.Integral) or not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a!r} is out of range for a tensor of rank {ndim}")
        out.append(int(a) % max(ndim, 1))
    return tuple(sorted(set(out)))


def _keepdims_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


_reduce_sum: Primitive = Primitive(
    "reduce_sum", lambda x, axes, keepdims: np.sum(x, axis=axes, keepdims=keepdims)
).deflinear(
    lambda g, x, axes, keepdims: broadcast_to(reshape(g, _keepdims_shape(x.shape, axes)), x.shape),
)


# The sum over every axis but the last (a bias gradient), as a backend kernel:
# threaded, float64 partial sums; linear, its transpose repeats s along the rows.
_channel_sum: Primitive = Primitive(
    "channel_sum", kernel="channel_sum", doc="The sum of ``x`` over every axis but the last.",
).deflinear(lambda g, x: broadcast_to(g, x.shape))


def reduce_sum(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (an int, a tuple of ints, or None for all axes)."""
    x = asarray(x)
    return _reduce_sum(x, axes=_axes(axis, x.ndim), keepdims=bool(keepdims))



def mean(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (an int, a tuple of ints, or None for all axes)."""
    x = asarray(x)
    axes = _axes(axis, x.ndim)
    count = math.prod(x.shape[a] for a in axes) if axes else 1
    with np.errstate(invalid="ignore", divide="ignore"):  # the mean of nothing is NaN, as NumPy
        return reduce_sum(x, axes, keepdims) / float(count)


def _max_weights_impl(x: np.ndarray[Any, Any], ans: np.ndarray[Any, Any],
                      axes: tuple[int, ...]) -> np.ndarray[Any, Any]:
    hit = (x == ans.reshape(_keepdims_shape(x.shape, axes))).astype(x.dtype)
    weights: np.ndarray[Any, Any] = hit / np.sum(hit, axis=axes, keepdims=True)
    return weights


_max_weights_p: Primitive = Primitive("reduce_max_weights", _max_weights_impl, nargs=2,
                                      doc="Where x attains the max (1/count at ties, split evenly, as JAX): "
                                          "a constant.").nondifferentiable()


def _max_weights(x: Tensor, ans: Tensor, axes: tuple[int, ...]) -> Tensor:
    return _max_weights_p(stop_gradient(x), stop_gradient(ans), axes=axes)


_reduce_max: Primitive = Primitive(
    "reduce_max", lambda x, axes, keepdims: np.max(x, axis=axes, keepdims=keepdims)
).defvjp(
    lambda g, ans, x, axes, keepdims:
        broadcast_to(reshape(g, _keepdims_shape(x.shape, axes)), x.shape) * _max_weights(x, ans, axes),
).defjvp(
    lambda t, ans, x, axes, keepdims: _reduce_sum(t * _max_weights(x, ans, axes), axes=axes, keepdims=keepdims),
)


def reduce_max(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Maximum over ``axis``; at ties the gradient is split evenly (as JAX)."""
    x = asarray(x)
    axes = _axes(axis, x.ndim)
    if any(x.shape[a] == 0 for a in axes):  # an empty batch is fine; an empty reduced axis is not
        raise ValueError(f"reduce_max: cannot take the maximum over an empty axis of a tensor of shape {x.shape} "
                         f"(axis={axis!r})")
    return _reduce_max(x, axes=axes, keepdims=bool(keepdims))



def _shifted(x: Tensor, axis: Axis) -> tuple[Tensor, Tensor, Tensor]:
    """``(x - m, log(sum(exp(x - m))))`` with ``m`` the (constant) maximum over ``axis``:
    the stable pieces of logsumexp and logsoftmax."""
    m = reduce_max(stop_gradient(x), axis=axis, keepdims=True)
    m = where(np.isfinite(m._value), m, 0.0)  # an all -inf slice: exp(-inf - 0) = 0, log 0 = -inf
    shifted = x - m
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer there
        return shifted, m, log(reduce_sum(exp(shifted), axis=axis, keepdims=True))


def logsumexp(x: ArrayLike, axis: Axis = -1, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``axis``, computed stably."""
    _, m, lse = _shifted(asarray(x), axis)
    out = lse + m
    return out if keepdims else squeeze(out, axis)


def logsoftmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """``x - logsumexp(x)`` over ``axis``, computed as ``(x - m) - log(sum(exp(x - m)))``
    (``m`` the maximum), so the result keeps its precision when ``|x|`` is large
    (float32 logits of 1e4), as PyTorch computes it."""
    shifted, _, lse = _shifted(asarray(x), axis)
    return shifted - lse


def softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` over ``axis``, computed stably."""
    return exp(logsoftmax(x, axis=axis))


# ------------------------------------------------------------------ shape ops
_reshape: Primitive = Primitive("reshape", lambda x, shape: np.reshape(x, shape))
_reshape.deflinear(lambda g, x, shape: _reshape(g, shape=x.shape))


def reshape(x: ArrayLike, shape: ShapeLike) -> Tensor:
    """``x`` with a new shape (one entry may be -1)."""
    x = asarray(x)
    new = (shape,) if isinstance(shape, numbers.Integral) else tuple(int(s) for s in cast("Iterable[int]", shape))
    new = _resolve_shape(x.shape, new)
    return x if new == x.shape else _reshape(x, shape=new)


def _resolve_shape(old: tuple[int, ...], new: tuple[int, ...]) -> tuple[int, ...]:
    """``new`` with its one ``-1`` filled in; ValueError if the sizes disagree."""
    size = math.prod(old)
    known = math.prod(n for n in new if n != -1)
    free = [i for i, n in enumerate(new) if n == -1]
    ok = len(free) <= 1 and all(n >= -1 for n in new)
    if ok and free:
        ok = known > 0 and size % known == 0
        new = new[:free[0]] + (size // max(known, 1),) + new[free[0] + 1:]
    if not ok or math.prod(new) != size:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {old} into {new}")
    return new


_permute: Primitive = Primitive("permute", lambda x, axes: np.ascontiguousarray(np.transpose(x, axes)))
_permute.deflinear(lambda g, x, axes: _permute(g, axes=tuple(np.argsort(axes).tolist())))


def permute(x: ArrayLike, axes: Sequence[int]) -> Tensor:
    """Reorder the axes: output axis ``i`` is input axis ``axes[i]``."""
    x = asarray(x)
    axes = tuple(int(a) % max(x.ndim, 1) for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: axes {axes} are not a permutation of range({x.ndim})")
    return x if axes == tuple(range(x.ndim)) else _permute(x, axes=axes)


def transpose(x: ArrayLike, axes: Sequence[int] | None = None) -> Tensor:
    """Reverse the axes, or permute them as ``axes`` says."""
    x = asarray(x)
    return permute(x, tuple(reversed(range(x.ndim))) if axes is None else axes)


def flatten(x: ArrayLike, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes ``start_dim..end_dim`` (inclusive) into one."""
    x = asarray(x)
    s, e = start_dim % max(x.ndim, 1), end_dim % max(x.ndim, 1)
    merged = math.prod(x.shape[s:e + 1])
    return reshape(x, x.shape[:s] + (merged,) + x.shape[e + 1:])


def squeeze(x: ArrayLike, axis: Axis = None) -> Tensor:
    """Remove size-1 axes (all of them, or those in ``axis``)."""
    x = asarray(x)
    axes = tuple(i for i, n in enumerate(x.shape) if n == 1) if axis is None else _axes(axis, x.ndim)
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def expand_dims(x: ArrayLike, axis: int) -> Tensor:
    """Insert a size-1 axis at ``axis``."""
    x = asarray(x)
    axis = _axes(axis, x.ndim + 1)[0]
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


_broadcast_to: Primitive = Primitive(
    "broadcast_to", lambda x, shape: np.ascontiguousarray(np.broadcast_to(x, shape)))
_broadcast_to.deflinear(lambda g, x, shape: _unbroadcast(g, x))


def broadcast_to(x: ArrayLike, shape: Sequence[int]) -> Tensor:
    """``x`` repeated along new or size-1 axes to ``shape`` (NumPy's rules)."""
    x = asarray(x)
    shape = tuple(int(s) for s in shape)
    try:
        np.broadcast_shapes(x.shape, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None
    return x if x.shape == shape else _broadcast_to(x, shape=shape)


def _pad_impl(x: np.ndarray[Any, Any], pad_width: tuple[tuple[int, int], ...],
              value: float) -> np.ndarray[Any, Any]:
    return np.pad(x, pad_width, mode="constant", constant_values=value)


def _unpad(g: Tensor, pad_width: tuple[tuple[int, int], ...]) -> Tensor:
    return getitem(g, tuple(slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(pad_width)))


_pad: Primitive = Primitive("pad", _pad_impl)   # affine (a constant border), so its rules are written out
_pad.defvjp(lambda g, ans, x, pad_width, value: _unpad(g, pad_width))
_pad.defjvp(lambda t, ans, x, pad_width, value: _pad(t, pad_width=pad_width, value=0.0))


def _gather_impl(x: np.ndarray[Any, Any], indices: tuple[np.ndarray[Any, Any], ...]) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = x[np.ix_(*indices)]
    return out


def _scatter_impl(g: np.ndarray[Any, Any], indices: tuple[np.ndarray[Any, Any], ...],
                  shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    out = np.zeros(shape, g.dtype)
    np.add.at(out, np.ix_(*indices), g)   # repeated sources add up
    return out


# Padding by reflection, replication or wrapping reads each output cell from an
# input cell: a gather by one index array per axis (linear), whose transpose adds
# each cotangent back into the cell it came from.
_axes_gather: Primitive = Primitive("axes_gather", _gather_impl)
_axes_scatter: Primitive = Primitive("axes_scatter", _scatter_impl)
_axes_gather.deflinear(lambda g, x, indices: _axes_scatter(g, indices=indices, shape=x.shape))
_axes_scatter.deflinear(lambda g, g0, indices, shape: _axes_gather(g, indices=indices))

_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "edge", "replicate": "edge",
              "wrap": "wrap", "circular": "wrap"}


def _source_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray[Any, Any]:
    """For each cell of a padded axis (``-lo .. n + hi - 1``), the input cell it copies."""
    i = np.arange(-lo, n + hi)
    if mode == "edge":
        return np.clip(i, 0, n - 1)
    if mode == "wrap":
        return i % n
    i = np.abs(i)                                  # reflect about cell 0, without repeating it
    return np.where(i >= n, 2 * (n - 1) - i, i)    # and about cell n - 1


def pad(x: ArrayLike, pad_width: Sequence[Sequence[int]], value: float = 0.0, mode: str = "constant", *,
        _op: str = "pad", _axis_names: tuple[str, ...] | None = None) -> Tensor:
    r"""Pad ``x`` along every axis, with a constant or with copies of its own cells.

    Parameters
    ----------
    x : Tensor or array_like, any shape
        Float32 or float64 to be differentiated (integer and bool tensors pad
        too, without derivatives).
    pad_width : sequence of (int, int)
        One ``(before, after)`` pair of non-negative ints per axis, in axis order
        (as ``np.pad``; PyTorch's ``F.pad`` lists the last axis first).
    value : float
        What the padded cells hold with ``mode="constant"``; not differentiated.
    mode : {"constant", "reflect", "edge", "replicate", "wrap", "circular"}
        ``"constant"``: cells hold ``value``.  ``"reflect"``: mirrored about the
        edge cell, which is not repeated (``[a b c]`` -> ``c b [a b c] b a``).
        ``"edge"`` or ``"replicate"``: the edge cell repeated.  ``"wrap"`` or
        ``"circular"``: the other side of the axis.

    Returns
    -------
    Tensor, (n_0 + before_0 + after_0, n_1 + before_1 + after_1, ...)
        ``x``'s dtype.  With no padding at all in a copying mode, ``x`` itself.

    Raises
    ------
    TypeError
        An ``x`` of an unsupported dtype, a ``value`` that is not a number.
    ValueError
        A bad ``pad_width`` (not one pair of non-negative ints per axis), an
        unknown mode; for ``"reflect"`` a padding of at least the axis size, for
        ``"wrap"`` one larger than it (PyTorch's limits), or a copying mode on
        an empty axis, naming both.

    Notes
    -----
    The modes are NumPy's ``np.pad`` names and PyTorch's ``F.pad`` ones.  A
    copying mode reads output cell :math:`i` (from :math:`-b` to
    :math:`n + a - 1` along an axis of :math:`n` cells, padded by :math:`b`
    before and :math:`a` after) from input cell :math:`\sigma(i)`:

    .. math::

        \sigma_{\mathrm{edge}}(i) = \min(\max(i, 0), n - 1), \qquad
        \sigma_{\mathrm{wrap}}(i) = i \bmod n, \qquad
        \sigma_{\mathrm{reflect}}(i) = (n - 1) - \bigl|\, (n - 1) - |i| \,\bigr|

    Linear in ``x`` (affine for a non-zero constant): the VJP adds each padded
    cell's cotangent into the cell it copies (constant padding's VJP crops),
    and the JVP pads the tangent the same way (with zeros for a constant).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.array([1., 2., 3.], np.float32)
    >>> nb.pad(x, [(2, 2)], mode="reflect").numpy()
    array([3., 2., 1., 2., 3., 2., 1.], dtype=float32)
    >>> nb.pad(x, [(2, 2)], mode="edge").numpy()
    array([1., 1., 1., 2., 3., 3., 3.], dtype=float32)
    >>> nb.pad(x, [(2, 2)], mode="wrap").numpy()
    array([2., 3., 1., 2., 3., 1., 2.], dtype=float32)
    >>> nb.pad(x, [(1, 2)], value=-1.0).numpy()
    array([-1.,  1.,  2.,  3., -1., -1.], dtype=float32)
    >>> nb.grad(lambda x: nb.pad(x, [(2, 2)], mode="reflect").sum())(x)   # times each cell is read
    Tensor([2., 3., 2.], dtype=float32)
    >>> nb.pad(np.ones((1, 4, 4, 3), np.float32), [(0, 0), (1, 1), (2, 2), (0, 0)]).shape   # H and W of NHWC
    (1, 6, 8, 3)
    """
    x = asarray(x)
    bad = ValueError(f"{_op}: pad_width must be {x.ndim} pairs of non-negative ints, got {pad_width!r}")
    try:
        pairs = [tuple(p) for p in pad_width]
    except TypeError:
        raise bad from None
    if len(pairs) != x.ndim or any(len(p) != 2 for p in pairs) or any(
            isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < 0 for p in pairs for v in p):
        raise bad
    pw = tuple((int(lo), int(hi)) for lo, hi in pairs)
    if mode not in _PAD_MODES:
        raise ValueError(f"{_op}: mode must be one of {sorted(_PAD_MODES)}, got {mode!r}")
    shown_mode, mode = mode, _PAD_MODES[mode]
    if mode == "constant":
        return _pad(x, pad_width=pw, value=float(value))
    for axis, ((lo, hi), n) in enumerate(zip(pw, x.shape)):
        if (lo or hi) and (n == 0 or (mode == "reflect" and max(lo, hi) >= n) or (mode == "wrap" and max(lo, hi) > n)):
            limit = "smaller than" if mode == "reflect" else "at most"
            name = _axis_names[axis] if _axis_names else f"axis {axis}"
            raise ValueError(f"{_op}: {shown_mode} padding ({lo}, {hi}) of {name} must be {limit} its size {n}")
    if not any(lo or hi for lo, hi in pw):
        return x
    indices = tuple(_source_index(n, lo, hi, mode) for (lo, hi), n in zip(pw, x.shape))
    return _axes_gather(x, indices=indices)


def _index_add_impl(g: np.ndarray[Any, Any], index: Any, shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    out = np.zeros(shape, g.dtype)
    np.add.at(out, index, g)
    return out


_getitem: Primitive = Primitive("getitem", lambda x, index: np.array(x[index]))
_index_add: Primitive = Primitive("index_add", _index_add_impl)
_getitem.deflinear(lambda g, x, index: _index_add(g, index=index, shape=x.shape))
_index_add.deflinear(lambda g, x, index, shape: _getitem(g, index=index))


def stack(tensors: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """Join tensors of one shape and dtype along a new axis (NumPy's ``np.stack``).

    Parameters
    ----------
    tensors : sequence of Tensor or array_like
        At least one; all of the same shape and dtype.
    axis : int
        Where the new axis goes in the result (negative counts from the end).

    Returns
    -------
    Tensor
        Shape ``shape[:axis] + (len(tensors),) + shape[axis:]``.

    Raises
    ------
    ValueError
        No tensors, or shapes that differ.
    TypeError
        Dtypes that differ (no implicit promotion).

    Notes
    -----
    Linear: tensor ``i`` is placed in slot ``i`` of a zero result (``index_add``),
    and the slots are summed, so the VJP hands each tensor its slice of the
    cotangent and derivatives compose to any order.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> nb.stack([np.zeros(2), np.ones(2)], axis=1)
    Tensor([[0., 1.],
            [0., 1.]], dtype=float64)
    """
    ts = [asarray(t) for t in tensors]
    if not ts:
        raise ValueError("stack: needs at least one tensor")
    shape, dtype = ts[0].shape, ts[0].dtype
    for i, t in enumerate(ts):
        if t.shape != shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape}, tensor 0 has shape {shape}")
        if t.dtype != dtype:
            raise TypeError(f"stack: tensor {i} has dtype {t.dtype}, tensor 0 has dtype {dtype} "
                            "(no implicit promotion)")
    axis = _axes(axis, len(shape) + 1)[0]
    out_shape = shape[:axis] + (len(ts),) + shape[axis:]
    slot = (slice(None),) * axis
    total: Tensor | None = None
    for i, t in enumerate(ts):
        placed = _index_add(expand_dims(t, axis), index=slot + (slice(i, i + 1),), shape=out_shape)
        total = placed if total is None else total + placed
    assert total is not None   # ts is not empty
    return total


def getitem(x: ArrayLike, index: Any) -> Tensor:
    """Basic and integer-array indexing, as NumPy's ``x[index]``."""
    x = asarray(x)
    if isinstance(index, Tensor):
        index = index._value
    elif isinstance(index, tuple):
        index = tuple(i._value if isinstance(i, Tensor) else i for i in index)
    return _getitem(x, index=index)


_astype: Primitive = Primitive("astype", lambda x, dtype: x.astype(dtype))
_astype.deflinear(lambda g, x, dtype: _astype(g, dtype=x.dtype))


def astype(x: ArrayLike, dtype: DTypeLike) -> Tensor:
    """``x`` converted to ``dtype`` (float32 or float64)."""
    x = asarray(x)
    dtype = np.dtype(dtype)
    return x if x.dtype == dtype else _astype(x, dtype=dtype)


# -------------------------------------------------------------------- matmul
_matmul: Primitive = Primitive("matmul", np.matmul, nargs=2).defbilinear(
    lambda g, x, y: _unbroadcast(matmul(g, _swap_last(y)), x),
    lambda g, x, y: _unbroadcast(matmul(_swap_last(x), g), y),
)
# Two matrices of one float dtype (a linear layer and both its gradients): a backend
# kernel, so the Cython backend runs it on its own threads (nabla/_kernels/__init__.py).
_matmul2d: Primitive = Primitive(
    "matmul2d", kernel="matmul", nargs=2, doc="``x @ y`` for two matrices of one float dtype.",
).defbilinear(
    lambda g, x, y: matmul(g, _swap_last(y)),
    lambda g, x, y: matmul(_swap_last(x), g),
)


def _swap_last(x: Tensor) -> Tensor:
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return permute(x, axes)


def matmul(x: ArrayLike, y: ArrayLike) -> Tensor:
    """Matrix product with NumPy's ``@`` semantics (1-D operands included)."""
    x, y = _pair(x, y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"matmul: operands must have at least one axis, got shapes {x.shape} and {y.shape}")
    inner_y: int | None = y.shape[-2] if y.ndim > 1 else y.shape[0]
    try:
        np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    except ValueError:
        inner_y = None
    if x.shape[-1] != inner_y:
        raise ValueError(f"matmul: shapes {x.shape} and {y.shape} do not match")
    if x.ndim == 1:
        return squeeze(matmul(reshape(x, (1, -1)), y), -2 if y.ndim > 1 else -1)
    if y.ndim == 1:
        return squeeze(matmul(x, reshape(y, (-1, 1))), -1)
    if x.ndim == 2 and y.ndim == 2 and x.dtype == y.dtype and x.dtype in (np.float32, np.float64):
        return _matmul2d(x, y)
    return _matmul(x, y)
