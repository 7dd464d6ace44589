"""Type aliases for the public signatures (shown in the docs)."""
from __future__ import annotations

from typing import Union

import numpy as np

from ._tensor import Tensor

#: Anything :func:`nabla.asarray` reads: a Tensor, a NumPy array, a DLPack
#: producer (PyTorch, JAX), a nested sequence of numbers.
ArrayLike = Union[Tensor, np.ndarray, "list", "tuple", float, int]
#: An int ``k`` (meaning ``(k, k)``) or a pair ``(h, w)``.
IntPair = Union[int, "tuple[int, int]"]
#: ``p``, ``(p_h, p_w)``, ``(top, bottom, left, right)``, ``"SAME"`` or ``"VALID"``.
Padding = Union[int, "tuple[int, int]", "tuple[int, int, int, int]", str]
#: :data:`ArrayLike` or ``None`` (an optional tensor argument such as ``bias``).
OptionalArrayLike = Union[ArrayLike, None]
#: :data:`IntPair` or ``None`` (a stride that defaults to the kernel size).
OptionalIntPair = Union[IntPair, None]
