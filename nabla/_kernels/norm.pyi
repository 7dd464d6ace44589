# Type stubs for the compiled norm.pyx; formulas in nabla/_backend.py.
import numpy as np
from numpy.typing import NDArray

_F = np.float32 | np.float64

def batch_norm(
    x: NDArray[_F], gamma: NDArray[_F], beta: NDArray[_F], eps: float
) -> tuple[NDArray[_F], NDArray[_F], NDArray[_F]]: ...
def batch_norm_backward_reduce(
    x: NDArray[_F], dy: NDArray[_F], mean: NDArray[_F], var: NDArray[_F], eps: float
) -> NDArray[_F]: ...
def batch_norm_backward(
    x: NDArray[_F], gamma: NDArray[_F], dy: NDArray[_F], sums: NDArray[_F], mean: NDArray[_F],
    var: NDArray[_F], eps: float,
) -> NDArray[_F]: ...
def batch_norm_eval(x: NDArray[_F], mean: NDArray[_F], scale: NDArray[_F], beta: NDArray[_F]) -> NDArray[_F]: ...
def _set_team(n: int) -> None: ...
