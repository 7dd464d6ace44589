# Type stubs for the compiled pool.pyx; formulas in nabla/_backend.py.
import numpy as np
from numpy.typing import NDArray

_F = np.float32 | np.float64

def max_pool2d(
    x: NDArray[_F], out_hw: tuple[int, int], kernel_size: tuple[int, int],
    stride: tuple[int, int], padding: tuple[int, int, int, int], dilation: tuple[int, int],
) -> tuple[NDArray[_F], NDArray[np.int64]]: ...
def max_pool2d_gather(t: NDArray[_F], argmax: NDArray[np.int64]) -> NDArray[_F]: ...
def max_pool2d_scatter(
    g: NDArray[_F], argmax: NDArray[np.int64], in_hw: tuple[int, int]
) -> NDArray[_F]: ...
def avg_pool2d(
    x: NDArray[_F], out_hw: tuple[int, int], kernel_size: tuple[int, int],
    stride: tuple[int, int], padding: tuple[int, int, int, int], dilation: tuple[int, int],
) -> NDArray[_F]: ...
def avg_pool2d_transpose(
    g: NDArray[_F], in_hw: tuple[int, int], kernel_size: tuple[int, int],
    stride: tuple[int, int], padding: tuple[int, int, int, int], dilation: tuple[int, int],
) -> NDArray[_F]: ...
def adaptive_max_pool2d(
    x: NDArray[_F], out_hw: tuple[int, int]
) -> tuple[NDArray[_F], NDArray[np.int64]]: ...
def _set_team(n: int) -> None: ...
