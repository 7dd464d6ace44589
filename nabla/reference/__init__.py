"""The reference backend: every kernel of ``nabla/_backend.py`` in plain NumPy.

For verification and teaching, not speed.  Switch to it and step through a
kernel in a debugger: each function's docstring states its formula as the
contract does, and the code follows that formula.  All window arithmetic lives
in ``_windows.py``: every kernel loops over the filter taps (a, b); for one tap,
the windows whose tap lands inside the input and the input cells they read are
two slices (``tap_slices``), so forward kernels accumulate ``y[windows] += ...
x[cells]`` and adjoints add back ``dx[cells] += ... dy[windows]``.  Nothing is
padded: memory follows the input and output sizes, never the padding.
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
from .elementwise import add, channel_sum, matmul, relu, relu_backward
from .norm import batch_norm, batch_norm_backward, batch_norm_backward_reduce, batch_norm_eval

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
    "batch_norm",
    "batch_norm_backward_reduce",
    "batch_norm_backward",
    "batch_norm_eval",
    "relu",
    "relu_backward",
    "channel_sum",
    "add",
    "matmul",
]
