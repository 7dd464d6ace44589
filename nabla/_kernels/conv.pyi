# Type stubs for the compiled conv.pyx; formulas in nabla/_backend.py.
import numpy as np
from numpy.typing import NDArray

_F = np.float32 | np.float64

def conv2d(
    x: NDArray[_F], w: NDArray[_F], out_hw: tuple[int, int], stride: tuple[int, int],
    padding: tuple[int, int, int, int], dilation: tuple[int, int], groups: int,
) -> NDArray[_F]: ...
def conv2d_transpose(
    dy: NDArray[_F], w: NDArray[_F], out_hw: tuple[int, int], stride: tuple[int, int],
    padding: tuple[int, int, int, int], dilation: tuple[int, int], groups: int,
) -> NDArray[_F]: ...
def conv2d_filter_grad(
    x: NDArray[_F], dy: NDArray[_F], kernel_hw: tuple[int, int], stride: tuple[int, int],
    padding: tuple[int, int, int, int], dilation: tuple[int, int], groups: int,
) -> NDArray[_F]: ...
