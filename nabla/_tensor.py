"""``Tensor``: a NumPy array that automatic differentiation can trace.

A concrete tensor holds an ``ndarray``.  While a transform (``vjp``, ``jvp``,
``grad``, ...) runs, the function sees *traced* tensors: each wraps the tensor
one level below it (its ``primal``) together with the transform's bookkeeping
(a reverse-mode graph node, or a forward-mode tangent).  Every level shares the
same underlying ``ndarray``, so ``shape``, ``dtype`` and ``numpy()`` are cheap at
any depth.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the alias module imports Tensor from here
    from ._typing import ArrayLike

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
    the memory with PyTorch or JAX.  Inside a transform the function sees
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
    >>> t.numpy().flags.writeable
    False
    """

    __slots__ = ("_value", "_primal", "_trace", "_aux", "__weakref__")
    # Make NumPy defer to our reflected operators: ``ndarray + Tensor`` -> Tensor.__radd__.
    __array_ufunc__ = None
    __array_priority__ = 1000

    def __init__(self, value):
        value = np.asarray(value)
        if value.dtype.kind not in _ALLOWED_KINDS or value.dtype == np.float16 or value.dtype.itemsize > 8:
            raise TypeError(
                f"Tensor: dtype {value.dtype} is not supported; expected float32 or float64 "
                "(integer and bool tensors are allowed for indices and masks)")
        self._value = value
        self._primal = None
        self._trace = None
        self._aux = None

    @classmethod
    def _traced(cls, primal: "Tensor", trace, aux) -> "Tensor":
        t = object.__new__(cls)
        t._value = primal._value
        t._primal = primal
        t._trace = trace
        t._aux = aux
        return t

    # ------------------------------------------------------------------ interop
    @classmethod
    def from_dlpack(cls, array) -> "Tensor":
        """Wrap anything that speaks DLPack (a NumPy, PyTorch or JAX array), or any
        array-like NumPy can read.  Zero-copy where DLPack allows it."""
        return asarray(array)

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (read-only view; copy it to modify)."""
        v = self._value.view()
        v.flags.writeable = False
        return v

    to_numpy = numpy

    def _constant_value(self, how: str) -> np.ndarray:
        """The values, for an implicit conversion: refused while a transform traces
        this tensor, since the result would silently carry no derivative."""
        if self._trace is not None:
            raise TypeError(
                f"{how} of a tensor traced by {self._trace!r} (inside grad, vjp or jvp) would drop its "
                "derivative without a word; compute with nabla ops instead, or take the value as a "
                "constant on purpose with t.numpy() or nabla.stop_gradient(t)")
        return self._value

    def item(self):
        """The value of a one-element tensor as a Python number (refused while traced)."""
        return self._constant_value("item()").item()

    def __array__(self, dtype=None, copy=None):
        # Without a copy, NumPy gets a read-only view: writing through
        # ``np.asarray(t)`` must not change a tensor that autograd may have recorded.
        value = self._constant_value("np.asarray(t)")
        if copy or (dtype is not None and np.dtype(dtype) != self.dtype):
            return np.array(value, dtype=dtype, copy=True)
        return self.numpy()

    def __dlpack__(self, *args, **kwargs):
        return self._constant_value("DLPack export").__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._value.__dlpack_device__()

    # --------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple:
        return self._value.shape

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def size(self) -> int:
        return self._value.size

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        body = np.array2string(self._value, separator=", ", prefix="Tensor(")
        tag = "" if self._trace is None else f", traced by {self._trace!r}"
        return f"Tensor({body}, dtype={self.dtype}{tag})"

    def __bool__(self):
        return bool(self._value)

    def __float__(self):
        return float(self._constant_value("float(t)"))

    def __int__(self):
        return int(self._constant_value("int(t)"))

    def __hash__(self):
        return id(self)

    # ---------------------------------------------------------------- operators
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    # Comparisons give bool tensors (not differentiable), as in NumPy.
    def __lt__(self, other):
        return Tensor(self._value < _raw(other))

    def __le__(self, other):
        return Tensor(self._value <= _raw(other))

    def __gt__(self, other):
        return Tensor(self._value > _raw(other))

    def __ge__(self, other):
        return Tensor(self._value >= _raw(other))

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    @property
    def T(self):
        return _ops.permute(self, tuple(reversed(range(self.ndim))))

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def permute(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.permute(self, axes)

    def transpose(self, *axes):
        return self.permute(*axes) if axes else self.T

    def flatten(self, start_dim=0, end_dim=-1):
        return _ops.flatten(self, start_dim, end_dim)

    def sum(self, axis=None, keepdims=False):
        return _ops.reduce_sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops.reduce_max(self, axis=axis, keepdims=keepdims)

    def astype(self, dtype):
        return _ops.astype(self, dtype)


def _raw(x):
    return x._value if isinstance(x, Tensor) else x


def asarray(a: ArrayLike, dtype=None) -> Tensor:
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


def _first_traced(seq):
    """The first tensor traced by a transform inside nested lists/tuples, or None."""
    for item in seq:
        if isinstance(item, Tensor) and item._trace is not None:
            return item
        if isinstance(item, (list, tuple)):
            found = _first_traced(item)
            if found is not None:
                return found
    return None


def _stack_nested(seq, dtype) -> Tensor:
    """Nested lists of tensors and numbers as one tensor of ``dtype``, built with
    :func:`nabla.stack` so every traced element keeps its derivative."""
    parts = [_stack_nested(item, dtype) if isinstance(item, (list, tuple)) else asarray(item, dtype=dtype)
             for item in seq]
    return _ops.stack(parts, axis=0)


from . import ops as _ops  # noqa: E402  (operators need the ops; the ops need Tensor)
