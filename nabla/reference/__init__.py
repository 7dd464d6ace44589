"""The reference backend: every kernel of ``nabla/_backend.py`` in plain NumPy.

For verification and teaching, not speed.  Switch to it and step through a
kernel in a debugger: each function's docstring states its formula as the
contract does, and the code follows that formula.  All window arithmetic lives
in ``_windows.py``: forward kernels read one strided window view of the padded
input; adjoints add into the same strided slices of a zero padded buffer, tap
by tap, and crop.
"""
from .conv import conv2d, conv2d_filter_grad, conv2d_transpose
from .pool import (
    adaptive_max_pool2d,
    avg_pool2d,
    avg_pool2d_transpose,
    max_pool2d,
    max_pool2d_gather,
    max_pool2d_scatter,
)

NAME = "reference"

__all__ = [
    "NAME",
    "conv2d",
    "conv2d_transpose",
    "conv2d_filter_grad",
    "max_pool2d",
    "max_pool2d_gather",
    "max_pool2d_scatter",
    "avg_pool2d",
    "avg_pool2d_transpose",
    "adaptive_max_pool2d",
]
