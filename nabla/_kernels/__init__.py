"""The Cython backend: nabla's compiled kernels.

Exposes exactly the kernels of the contract in ``nabla/_backend.py`` (which
documents their arguments, shapes and formulas), compiled for float32 and
float64 from ``conv.pyx`` and ``pool.pyx``.  Build with
``python setup.py build_ext --inplace`` or ``pip install -e .``.
"""
from nabla._kernels.conv import conv2d, conv2d_filter_grad, conv2d_transpose
from nabla._kernels.pool import (
    adaptive_max_pool2d,
    avg_pool2d,
    avg_pool2d_transpose,
    max_pool2d,
    max_pool2d_gather,
    max_pool2d_scatter,
)

NAME = "cython"

__all__ = [
    "NAME",
    "conv2d", "conv2d_transpose", "conv2d_filter_grad",
    "max_pool2d", "max_pool2d_gather", "max_pool2d_scatter",
    "avg_pool2d", "avg_pool2d_transpose", "adaptive_max_pool2d",
]
