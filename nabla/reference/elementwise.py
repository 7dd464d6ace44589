"""Reference elementwise kernels: ReLU, its backward, a same-shape sum, per-channel
sums; and the 2-D matrix product the Cython backend runs on its own threads."""
import math

import numpy as np


def relu(x):
    """y = max(x, 0) elementwise (a NaN stays NaN)."""
    return np.maximum(x, 0).astype(x.dtype, copy=False)


def relu_backward(g, x):
    """dx = g * (1 where x > 0, else 0): the VJP of relu at x."""
    return g * (x > 0).astype(g.dtype)


def channel_sum(x):
    """s (C,) of x's dtype: ``s[c] = sum over every other index of x[..., c]`` (in float64)."""
    return x.reshape(math.prod(x.shape[:-1]), x.shape[-1]).sum(axis=0, dtype=np.float64).astype(x.dtype)


def add(x, y):
    """x + y, of one shape and dtype."""
    return x + y


def matmul(x, y):
    """out (M, N) = x (M, K) @ y (K, N): out[m, n] = sum over k of x[m, k] * y[k, n]."""
    return x @ y
