"""Type aliases for the public signatures (shown in the docs, checked by mypy)."""
from __future__ import annotations

from typing import Any, Protocol, Union

import numpy as np

from ._tensor import Tensor


class SupportsDLPack(Protocol):
    """Anything with ``__dlpack__``: a PyTorch, JAX or CuPy array (read by :func:`nabla.asarray`)."""

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any: ...


#: Anything :func:`nabla.asarray` reads: a Tensor, a NumPy array or scalar, a DLPack
#: producer (PyTorch, JAX), a nested sequence of numbers.
ArrayLike = Union[Tensor, "np.ndarray[Any, Any]", np.generic, "list[Any]", "tuple[Any, ...]", float, int,
                  SupportsDLPack]
#: An int ``k`` (meaning ``(k, k)``) or a pair ``(h, w)``.
IntPair = Union[int, "tuple[int, int]"]
#: ``p``, ``(p_h, p_w)``, ``(top, bottom, left, right)``, ``"SAME"`` or ``"VALID"``.
Padding = Union[int, "tuple[int, int]", "tuple[int, int, int, int]", str]
#: :data:`ArrayLike` or ``None`` (an optional tensor argument such as ``bias``).
OptionalArrayLike = Union[ArrayLike, None]
#: :data:`IntPair` or ``None`` (a stride that defaults to the kernel size).
OptionalIntPair = Union[IntPair, None]
#: A dtype argument: ``np.float32``, ``np.dtype("float64")``, ``"float32"``.
DTypeLike = Union["type[Any]", "np.dtype[Any]", str]
#: :data:`DTypeLike` or ``None`` (keep the input's dtype).
OptionalDTypeLike = Union[DTypeLike, None]
#: An axis, several axes, or ``None`` for all of them.
Axis = Union[int, "tuple[int, ...]", "list[int]", None]
#: A shape: an int ``n`` (meaning ``(n,)``) or a sequence of ints.
ShapeLike = Union[int, "tuple[int, ...]", "list[int]"]
