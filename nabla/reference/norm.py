"""Reference batch-normalisation kernels (Ioffe & Szegedy 2015), channels last.

The channels are the last axis of ``x``; the statistics run over every other
axis, the *rows* (``M`` of them: N*H*W for an NHWC batch).  Each kernel
computes its formula in float64 and rounds the result to ``x``'s dtype once,
so it is the yardstick for the compiled kernels of both dtypes.
"""
import math

import numpy as np


def _rows(x):
    """The axes the statistics run over: every axis but the last."""
    return tuple(range(x.ndim - 1))


def _f64(*arrays):
    return [np.asarray(a, np.float64) for a in arrays]


def batch_norm(x, gamma, beta, eps):
    """(y, mean, var), mean and var (C,) of x's dtype::

        mean[c] = sum_m x[m, c] / M
        var[c]  = sum_m (x[m, c] - mean[c])**2 / M          (biased)
        y[m, c] = (x[m, c] - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c]

    With no rows (M = 0), mean and var are NaN and y is empty.
    """
    x64, gamma, beta = _f64(x, gamma, beta)
    with np.errstate(invalid="ignore", divide="ignore"):   # M = 0: NaN statistics, as NumPy's mean
        mean = x64.sum(axis=_rows(x)) / math.prod(x.shape[:-1])
        var = ((x64 - mean) ** 2).sum(axis=_rows(x)) / math.prod(x.shape[:-1])
    y = (x64 - mean) / np.sqrt(var + eps) * gamma + beta
    return y.astype(x.dtype), mean.astype(x.dtype), var.astype(x.dtype)


def batch_norm_backward_reduce(x, dy, mean, var, eps):
    """sums (2, C) of x's dtype, the gradients of gamma and beta::

        xhat[m, c] = (x[m, c] - mean[c]) / sqrt(var[c] + eps)
        sums[0, c] = sum_m dy[m, c] * xhat[m, c]          (dgamma)
        sums[1, c] = sum_m dy[m, c]                       (dbeta)
    """
    x64, dy, mean, var = _f64(x, dy, mean, var)
    xhat = (x64 - mean) / np.sqrt(var + eps)
    return np.stack([(dy * xhat).sum(axis=_rows(x)), dy.sum(axis=_rows(x))]).astype(x.dtype)


def batch_norm_backward(x, gamma, dy, sums, mean, var, eps):
    """dx of x's dtype, the gradient of x through the batch statistics::

        r = 1 / sqrt(var + eps),   xhat = (x - mean) * r
        dx[m, c] = gamma[c] * r[c] * (dy[m, c] - (sums[1, c] + xhat[m, c] * sums[0, c]) / M)
    """
    x64, gamma, dy, sums, mean, var = _f64(x, gamma, dy, sums, mean, var)
    r = 1.0 / np.sqrt(var + eps)
    xhat = (x64 - mean) * r
    dx = gamma * r * (dy - (sums[1] + xhat * sums[0]) / max(math.prod(x.shape[:-1]), 1))
    return dx.astype(x.dtype)


def batch_norm_eval(x, mean, scale, beta):
    """y of x's dtype, evaluation mode (``scale = gamma / sqrt(var + eps)``, computed by the op)::

        y[m, c] = (x[m, c] - mean[c]) * scale[c] + beta[c]
    """
    x64, mean, scale, beta = _f64(x, mean, scale, beta)
    return ((x64 - mean) * scale + beta).astype(x.dtype)
