"""``Tensor``: a NumPy array that automatic differentiation can trace.

A concrete tensor holds an ``ndarray``.  While a transform (``vjp``, ``jvp``,
``grad``, ...) runs, the function sees *traced* tensors: each wraps the tensor
one level below it (its ``primal``) together with the transform's bookkeeping
(a reverse-mode graph node, or a forward-mode tangent).  Every level shares the
same underlying ``ndarray``, so ``shape``, ``dtype`` and ``numpy()`` are cheap at
any depth.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # the alias module imports Tensor from here
    from ._typing import ArrayLike, Axis, DTypeLike, OptionalDTypeLike

__all__ = ["Tensor", "asarray"]

# dtypes a Tensor may hold.  Float32/float64 are the differentiable ones; the
# integer and bool dtypes exist for indices and masks (argmax, comparisons).
_ALLOWED_KINDS = "fiub"


class Tensor:
    """An n-dimensional array of float32 or float64 values that automatic differentiation can trace.

    Build one with :func:`nabla.asarray`, :meth:`Tensor.from_dlpack` or the
    creation functions (:func:`nabla.zeros`, :func:`nabla.randn`, ...).

    Parameters
    ----------
    value : array_like
        Read with ``numpy.asarray`` (no copy of an ndarray, its dtype kept: unlike
        :func:`nabla.asarray`, Python floats give float64).  Float32 and float64
        are the differentiable dtypes; integer and bool tensors exist for indices
        and masks (``argmax``, comparisons).

    Raises
    ------
    TypeError
        Another dtype: float16, complex, strings, objects, and anything wider
        than 8 bytes.

    Attributes
    ----------
    shape : tuple of int
        The size of each axis.
    dtype : numpy.dtype
        float32 or float64 (an integer or bool dtype for indices and masks).
    ndim : int
        The number of axes.
    size : int
        The number of elements.
    T : Tensor
        The axes reversed (differentiable, as :func:`nabla.transpose`).

    Notes
    -----
    The operators ``+ - * / ** @``, unary ``-`` and indexing are the
    differentiable nabla ops, with NumPy's broadcasting; a Python number takes
    the other operand's dtype.  An ndarray on the left defers to the Tensor
    (``ndarray + Tensor`` is a Tensor).  Comparisons give bool tensors, not
    differentiated.  ``numpy()`` and ``np.asarray(t)`` give a read-only view,
    since autograd may have recorded the values; DLPack (``__dlpack__``) shares
    the memory with PyTorch or JAX.  NumPy's functions that nabla has as ops
    (``np.exp(t)``, ``np.maximum(t, 0)``, ``np.sum(t)``, ``np.mean(t, axis=0)``,
    ...) run the nabla op and return a Tensor, differentiated like it; the
    others raise ``TypeError`` (call ``.numpy()`` first to compute on the
    values as constants).  Inside a transform the function sees
    *traced* tensors, which wrap the tensor one level below and share its
    ndarray (the repr says ``traced by vjp#1``).  Hashed by identity, as
    PyTorch's tensors.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> t = nb.asarray([[1., 2.], [3., 4.]])
    >>> t
    Tensor([[1., 2.],
            [3., 4.]], dtype=float32)
    >>> t.shape, t.dtype
    ((2, 2), dtype('float32'))
    >>> (t @ t.T).sum()
    Tensor(52., dtype=float32)
    >>> np.ones(2, np.float32) + t[0]              # NumPy defers to the Tensor
    Tensor([2., 3.], dtype=float32)
    >>> np.maximum(t[0], 1.5)                      # nabla's op: a Tensor, differentiable
    Tensor([1.5, 2. ], dtype=float32)
    >>> t.numpy().flags.writeable
    False
    """

    __slots__ = ("_value", "_primal", "_trace", "_aux", "__weakref__")
    _value: np.ndarray[Any, Any]
    _primal: Tensor | None
    _trace: Any   # the transform tracing this tensor (nabla._autodiff), or None
    _aux: Any
    __array_priority__ = 1000   # for NumPy's code paths older than __array_ufunc__ (below)

    def __init__(self, value: ArrayLike):
        array = np.asarray(cast("npt.ArrayLike", value))
        if array.dtype.kind not in _ALLOWED_KINDS or array.dtype == np.float16 or array.dtype.itemsize > 8:
            raise TypeError(
                f"Tensor: dtype {array.dtype} is not supported; expected float32 or float64 "
                "(integer and bool tensors are allowed for indices and masks)")
        self._value = array
        self._primal = None
        self._trace = None
        self._aux = None

    @classmethod
    def _traced(cls, primal: Tensor, trace: Any, aux: Any) -> Tensor:
        t = object.__new__(cls)
        t._value = primal._value
        t._primal = primal
        t._trace = trace
        t._aux = aux
        return t

    # ------------------------------------------------------------------ interop
    @classmethod
    def from_dlpack(cls, array: ArrayLike) -> Tensor:
        """Wrap anything that speaks DLPack (a NumPy, PyTorch or JAX array), or any
        array-like NumPy can read.  Zero-copy where DLPack allows it."""
        return asarray(array)

    def numpy(self) -> np.ndarray[Any, Any]:
        """The values as a NumPy array (read-only view; copy it to modify)."""
        v: np.ndarray[Any, Any] = self._value.view()
        v.flags.writeable = False
        return v

    to_numpy = numpy

    def _constant_value(self, how: str) -> np.ndarray[Any, Any]:
        """The values, for an implicit conversion: refused while a transform traces
        this tensor, since the result would silently carry no derivative."""
        if self._trace is not None:
            raise TypeError(
                f"{how} of a tensor traced by {self._trace!r} (inside grad, vjp or jvp) would drop its "
                "derivative without a word; compute with nabla ops instead, or take the value as a "
                "constant on purpose with t.numpy() or nabla.stop_gradient(t)")
        return self._value

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number (refused while traced)."""
        value: float | int | bool = self._constant_value("item()").item()
        return value

    def __array__(self, dtype: OptionalDTypeLike = None, copy: bool | None = None) -> np.ndarray[Any, Any]:
        # Without a copy, NumPy gets a read-only view: writing through
        # ``np.asarray(t)`` must not change a tensor that autograd may have recorded.
        value = self._constant_value("np.asarray(t)")
        if copy or (dtype is not None and np.dtype(dtype) != self.dtype):
            return np.array(value, dtype=dtype, copy=True)
        return self.numpy()

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        return self._constant_value("DLPack export").__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        device: tuple[int, int] = self._value.__dlpack_device__()
        return device

    # NumPy's functions on a Tensor (NEP 13 for ufuncs, NEP 18 for the others): those
    # nabla has as ops run the op, so ``np.exp(t)`` is a Tensor, differentiated like
    # ``nb.exp(t)``; ``ndarray + Tensor`` comes here too (as ``np.add``).  Anything else
    # is a TypeError that says to call .numpy() first, rather than a silent conversion
    # that would drop the derivative.  np.asarray(t) and np.array(t) use __array__.
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        name = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        if kwargs.get("out") is not None:
            raise TypeError(_out_message(name))
        op = _UFUNCS.get(ufunc.__name__) if method == "__call__" else None
        if op is None:
            raise TypeError(_unsupported_message(name))
        for key, value in kwargs.items():
            if value is not None and key != "out":
                raise TypeError(_unsupported_message(f"{name}(..., {key}=...)"))
        return op(*inputs)

    def __array_function__(self, func: Callable[..., Any], types: Collection[type],
                           args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
            return NotImplemented   # another library's array type: let it (or NumPy) decide
        name = f"{getattr(func, '__module__', None) or 'numpy'}.{getattr(func, '__name__', func)}"
        impl = _FUNCTIONS.get(name)
        if impl is None:
            raise TypeError(_unsupported_message(name))
        return impl(*args, **kwargs)

    # --------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple[int, ...]:
        shape: tuple[int, ...] = self._value.shape
        return shape

    @property
    def dtype(self) -> np.dtype[Any]:
        dtype: np.dtype[Any] = self._value.dtype
        return dtype

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def size(self) -> int:
        return self._value.size

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(self._value, separator=", ", prefix="Tensor(")
        tag = "" if self._trace is None else f", traced by {self._trace!r}"
        return f"Tensor({body}, dtype={self.dtype}{tag})"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __float__(self) -> float:
        return float(self._constant_value("float(t)"))

    def __int__(self) -> int:
        return int(self._constant_value("int(t)"))

    def __hash__(self) -> int:
        return id(self)

    # ---------------------------------------------------------------- operators
    def __add__(self, other: ArrayLike) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other: ArrayLike) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other: ArrayLike) -> Tensor:
        return _ops.sub(self, other)

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return _ops.sub(other, self)

    def __mul__(self, other: ArrayLike) -> Tensor:
        return _ops.mul(self, other)

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return _ops.mul(other, self)

    def __truediv__(self, other: ArrayLike) -> Tensor:
        return _ops.div(self, other)

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return _ops.div(other, self)

    def __pow__(self, other: ArrayLike) -> Tensor:
        return _ops.pow(self, other)

    def __rpow__(self, other: ArrayLike) -> Tensor:
        return _ops.pow(other, self)

    def __matmul__(self, other: ArrayLike) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return _ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    # Comparisons give bool tensors (not differentiable), as in NumPy.
    def __lt__(self, other: ArrayLike) -> Tensor:
        return Tensor(self._value < _raw(other))

    def __le__(self, other: ArrayLike) -> Tensor:
        return Tensor(self._value <= _raw(other))

    def __gt__(self, other: ArrayLike) -> Tensor:
        return Tensor(self._value > _raw(other))

    def __ge__(self, other: ArrayLike) -> Tensor:
        return Tensor(self._value >= _raw(other))

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    @property
    def T(self) -> Tensor:
        return _ops.permute(self, tuple(reversed(range(self.ndim))))

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """``nabla.reshape(self, shape)``: the shape as one tuple or as separate ints."""
        return _ops.reshape(self, _varargs(shape))

    def permute(self, *axes: int | Sequence[int]) -> Tensor:
        """``nabla.permute(self, axes)``: the axes as one tuple or as separate ints."""
        return _ops.permute(self, _varargs(axes))

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """The axes reversed, or permuted as ``axes`` says (as ``ndarray.transpose``)."""
        return self.permute(*axes) if axes else self.T

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """``nabla.flatten``: axes ``start_dim..end_dim`` merged into one."""
        return _ops.flatten(self, start_dim, end_dim)

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """``nabla.sum``: the sum over ``axis`` (all axes by default)."""
        return _ops.reduce_sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """``nabla.mean``: the mean over ``axis`` (all axes by default)."""
        return _ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """``nabla.max``: the maximum over ``axis`` (all axes by default)."""
        return _ops.reduce_max(self, axis=axis, keepdims=keepdims)

    def astype(self, dtype: DTypeLike) -> Tensor:
        """``nabla.astype``: the values converted to ``dtype`` (differentiable between float dtypes)."""
        return _ops.astype(self, dtype)


def _varargs(values: tuple[int | Sequence[int], ...]) -> tuple[int, ...]:
    """``(2, 3)`` or ``((2, 3),)`` (one tuple or list) -> ``(2, 3)``."""
    if len(values) == 1 and isinstance(values[0], (tuple, list)):
        return tuple(values[0])
    return cast("tuple[int, ...]", values)


def _raw(x: Any) -> Any:
    return x._value if isinstance(x, Tensor) else x


def asarray(a: ArrayLike, dtype: OptionalDTypeLike = None) -> Tensor:
    """Make a :class:`Tensor` from a Tensor, an ndarray, a DLPack producer or nested sequences.

    Parameters
    ----------
    a : Tensor, numpy.ndarray, DLPack producer, sequence or scalar
        A Tensor; a :class:`numpy.ndarray` or NumPy scalar; anything with
        ``__dlpack__`` (PyTorch, JAX, CuPy arrays on the CPU); a (nested) Python
        sequence or number.
    dtype : numpy.dtype or str, optional
        The dtype to convert to; float32 or float64 to differentiate.

    Returns
    -------
    Tensor
        ``a`` itself when it is a Tensor and no dtype change is asked (its
        autograd trace kept); a differentiable conversion for a Tensor of
        another dtype.

    Raises
    ------
    TypeError
        A dtype a Tensor cannot hold (float16, complex, strings, objects).
    ValueError
        A ragged nested sequence (from NumPy).

    Notes
    -----
    NumPy arrays and DLPack producers keep their dtype unless ``dtype`` is
    given, and are not copied (as ``numpy.asarray`` and ``torch.from_numpy``):
    do not write into an array while a tensor made from it is in use.  Python
    floats and sequences of them become **float32**, the default floating type
    of PyTorch and JAX; Python ints give int64.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> nb.asarray([1.0, 2.0])                      # Python floats: float32
    Tensor([1., 2.], dtype=float32)
    >>> a = np.zeros(3)
    >>> t = nb.asarray(a)                           # an ndarray keeps float64, no copy
    >>> t.dtype, np.shares_memory(t.numpy(), a)
    (dtype('float64'), True)
    >>> nb.asarray(a, dtype=np.float32).dtype
    dtype('float32')
    >>> nb.asarray(t) is t
    True

    A list that holds tensors traced by a transform is stacked with nabla ops,
    so its derivatives flow:

    >>> nb.grad(lambda x: nb.sum(nb.asarray([x, 2 * x])))(np.float64(1.0))
    Tensor(3., dtype=float64)
    """
    if isinstance(a, Tensor):
        if dtype is None or np.dtype(dtype) == a.dtype:
            return a
        return _ops.astype(a, dtype)
    if isinstance(a, (list, tuple)):
        traced = _first_traced(a)
        if traced is not None:   # stack differentiably: np.asarray would drop the derivatives
            return _stack_nested(a, np.dtype(dtype) if dtype is not None else traced.dtype)
    if getattr(a, "requires_grad", False) is True:   # a PyTorch tensor in torch's autograd graph
        raise TypeError(f"asarray: a {type(a).__module__}.{type(a).__name__} that requires grad cannot be read "
                        "without leaving PyTorch's autograd; call .detach() on it first")
    if not isinstance(a, np.ndarray) and hasattr(a, "__dlpack__"):
        try:
            a = np.from_dlpack(a)
        except (TypeError, RuntimeError, BufferError):
            a = np.asarray(a)
    if isinstance(a, np.ndarray) or np.isscalar(a) and isinstance(a, np.generic):
        arr = np.asarray(a, dtype=dtype)
    else:
        arr = np.asarray(a)
        if dtype is None and arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        elif dtype is not None:
            arr = arr.astype(dtype)
    return Tensor(arr)


def _first_traced(seq: list[Any] | tuple[Any, ...]) -> Tensor | None:
    """The first tensor traced by a transform inside nested lists/tuples, or None."""
    for item in seq:
        if isinstance(item, Tensor) and item._trace is not None:
            return item
        if isinstance(item, (list, tuple)):
            found = _first_traced(item)
            if found is not None:
                return found
    return None


def _stack_nested(seq: list[Any] | tuple[Any, ...], dtype: np.dtype[Any]) -> Tensor:
    """Nested lists of tensors and numbers as one tensor of ``dtype``, built with
    :func:`nabla.stack` so every traced element keeps its derivative."""
    parts = [_stack_nested(item, dtype) if isinstance(item, (list, tuple)) else asarray(item, dtype=dtype)
             for item in seq]
    return _ops.stack(parts, axis=0)


# ------------------------------------------------------------ NumPy's functions on tensors
def _unsupported_message(name: str) -> str:
    return (f"{name} is not supported on nabla Tensors; call .numpy() first to get a NumPy array "
            "(this drops gradients)")


def _out_message(name: str) -> str:
    return (f"{name} with out= is not supported on nabla Tensors: a tensor is never written into; "
            "drop out= to get a new Tensor, or call .numpy() first to get a NumPy array "
            "(this drops gradients)")


def _refuse(name: str, **given: Any) -> None:
    """TypeError for the first keyword of a NumPy function that was given and that nabla's op lacks."""
    for key, value in given.items():
        if value is not None and value is not _UNSET:
            raise TypeError(_out_message(name) if key == "out" else _unsupported_message(f"{name}(..., {key}=...)"))


_UNSET: Any = object()   # "not given", for the keywords whose default NumPy leaves open


def _compare(ufunc: np.ufunc) -> Callable[..., Tensor]:
    """A comparison or test as a bool tensor of the values (not differentiated: as ``t < 0``)."""
    def compare(*inputs: Any) -> Tensor:
        return Tensor(ufunc(*(_raw(x) for x in inputs)))
    return compare


def _square(x: ArrayLike) -> Tensor:
    return _ops.mul(x, x)


def _positive(x: ArrayLike) -> Tensor:
    return asarray(x)


# NumPy ufunc name -> nabla op (looked up by name: np.abs is np.absolute, np.divide np.true_divide).
_UFUNCS: dict[str, Callable[..., Tensor]] = {}


def _sum(a: ArrayLike, axis: Axis = None, dtype: OptionalDTypeLike = None, out: Any = None,
         keepdims: bool = False, initial: Any = _UNSET, where: Any = _UNSET) -> Tensor:
    _refuse("numpy.sum", out=out, initial=initial, where=where)
    return _ops.reduce_sum(asarray(a, dtype=dtype), axis=axis, keepdims=keepdims)


def _mean(a: ArrayLike, axis: Axis = None, dtype: OptionalDTypeLike = None, out: Any = None,
          keepdims: bool = False, *, where: Any = _UNSET) -> Tensor:
    _refuse("numpy.mean", out=out, where=where)
    return _ops.mean(asarray(a, dtype=dtype), axis=axis, keepdims=keepdims)


def _max(a: ArrayLike, axis: Axis = None, out: Any = None, keepdims: bool = False,
         initial: Any = _UNSET, where: Any = _UNSET) -> Tensor:
    _refuse("numpy.max", out=out, initial=initial, where=where)
    return _ops.reduce_max(a, axis=axis, keepdims=keepdims)


def _min(a: ArrayLike, axis: Axis = None, out: Any = None, keepdims: bool = False,
         initial: Any = _UNSET, where: Any = _UNSET) -> Tensor:
    _refuse("numpy.min", out=out, initial=initial, where=where)
    return _ops.neg(_ops.reduce_max(_ops.neg(a), axis=axis, keepdims=keepdims))   # ties split, as max


def _reshape(a: ArrayLike, shape: Any = None, order: str = "C", *, newshape: Any = None,
             copy: bool | None = None) -> Tensor:
    if order != "C":
        raise TypeError(_unsupported_message(f"numpy.reshape(..., order={order!r})"))
    return _ops.reshape(a, newshape if shape is None else shape)


def _ravel(a: ArrayLike, order: str = "C") -> Tensor:
    if order != "C":
        raise TypeError(_unsupported_message(f"numpy.ravel(..., order={order!r})"))
    return _ops.reshape(a, (-1,))


def _transpose(a: ArrayLike, axes: Sequence[int] | None = None) -> Tensor:
    return _ops.transpose(a, axes)


def _squeeze(a: ArrayLike, axis: Axis = None) -> Tensor:
    return _ops.squeeze(a, axis)


def _expand_dims(a: ArrayLike, axis: int | Sequence[int]) -> Tensor:
    t = asarray(a)
    if isinstance(axis, (tuple, list)):   # NumPy's rule: positions in the result
        ndim = t.ndim + len(axis)
        for ax in sorted(int(ax) % ndim if -ndim <= ax < ndim else ax for ax in axis):
            t = _ops.expand_dims(t, ax)
        return t
    return _ops.expand_dims(t, cast(int, axis))


def _broadcast_to(array: ArrayLike, shape: Sequence[int], subok: bool = False) -> Tensor:
    return _ops.broadcast_to(array, shape)


def _stack(arrays: Sequence[ArrayLike], axis: int = 0, out: Any = None, *, dtype: OptionalDTypeLike = None,
           casting: str = "same_kind") -> Tensor:
    _refuse("numpy.stack", out=out)
    return _ops.stack([asarray(a, dtype=dtype) for a in arrays], axis=axis)


def _where(condition: ArrayLike, x: Any = _UNSET, y: Any = _UNSET) -> Tensor:
    if x is _UNSET or y is _UNSET:
        raise TypeError(_unsupported_message("numpy.where with one argument (numpy.nonzero)"))
    return _ops.where(condition, x, y)


def _like(fill: float) -> Callable[..., Tensor]:
    def like(a: ArrayLike, dtype: OptionalDTypeLike = None, order: str = "K", subok: bool = True,
             shape: Any = None, *, device: Any = None) -> Tensor:
        t = asarray(a)
        return Tensor(np.full(t.shape if shape is None else shape, fill, t.dtype if dtype is None else dtype))
    return like


def _shape(a: ArrayLike) -> tuple[int, ...]:
    return asarray(a).shape


def _ndim(a: ArrayLike) -> int:
    return asarray(a).ndim


def _size(a: ArrayLike, axis: int | None = None) -> int:
    t = asarray(a)
    return t.size if axis is None else t.shape[axis]


# "numpy.NAME" -> nabla's implementation, with NumPy's signature.
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "numpy.sum": _sum, "numpy.mean": _mean, "numpy.max": _max, "numpy.amax": _max, "numpy.min": _min,
    "numpy.amin": _min, "numpy.reshape": _reshape, "numpy.ravel": _ravel, "numpy.transpose": _transpose,
    "numpy.squeeze": _squeeze, "numpy.expand_dims": _expand_dims, "numpy.broadcast_to": _broadcast_to,
    "numpy.stack": _stack, "numpy.where": _where, "numpy.zeros_like": _like(0), "numpy.ones_like": _like(1),
    "numpy.shape": _shape, "numpy.ndim": _ndim, "numpy.size": _size,
}


from . import ops as _ops  # noqa: E402  (operators need the ops; the ops need Tensor)

_UFUNCS.update({
    "add": _ops.add, "subtract": _ops.sub, "multiply": _ops.mul, "divide": _ops.div, "power": _ops.pow,
    "matmul": _ops.matmul, "negative": _ops.neg, "positive": _positive, "absolute": _ops.abs, "exp": _ops.exp,
    "log": _ops.log, "sqrt": _ops.sqrt, "square": _square, "tanh": _ops.tanh, "maximum": _ops.maximum,
    "minimum": _ops.minimum,
    **{name: _compare(getattr(np, name)) for name in (
        "less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "isnan", "isinf", "isfinite")},
})
