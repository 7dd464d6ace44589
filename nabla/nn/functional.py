"""Functions that layers are made of: activations, losses, dropout, batch norm.

All take and return tensors (anything :func:`nabla.asarray` accepts), are
differentiable in their float inputs, and put the **class or channel axis
last**, as nabla's NHWC layout does (PyTorch puts it at axis 1).  The four
convolution and pooling ops are re-exported here, so ``import
nabla.nn.functional as F`` is enough to write a model.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._autodiff import stop_gradient
from .._tensor import Tensor, asarray
from ..ops import (adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, conv2d, conv2d_transpose,
                   global_avg_pool2d, global_max_pool2d, logsoftmax, max_pool2d, max_unpool2d, mean, pad,
                   reduce_sum, relu, sigmoid, softmax, sqrt, tanh, where)

__all__ = [
    "relu", "tanh", "sigmoid", "softmax", "log_softmax", "one_hot", "cross_entropy_loss", "mse_loss",
    "accuracy", "dropout", "batch_norm", "conv2d", "conv2d_transpose", "max_pool2d", "avg_pool2d",
    "max_unpool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "global_avg_pool2d", "global_max_pool2d", "pad",
]

log_softmax = logsoftmax  # PyTorch's spelling


def _labels(labels, what: str) -> np.ndarray:
    arr = np.asarray(labels.numpy() if isinstance(labels, Tensor) else labels)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{what}: integer class labels are needed, got dtype {arr.dtype}")
    return arr


def one_hot(labels, num_classes: int, dtype=np.float32) -> Tensor:
    """``(..., num_classes)`` tensor with a 1 at each label's index, 0 elsewhere.

    ``labels``: integers in ``[0, num_classes)``; a ``ValueError`` names the
    first one outside.  Not differentiable (its input is discrete)."""
    arr = _labels(labels, "one_hot")
    if not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be a positive int, got {num_classes!r}")
    bad = (arr < 0) | (arr >= num_classes)
    if bad.any():
        raise ValueError(f"one_hot: label {arr[bad].flat[0]} is outside [0, {num_classes})")
    return Tensor(np.eye(num_classes, dtype=dtype)[arr])


def cross_entropy_loss(logits, labels, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of ``logits`` (..., C) against ``labels``.

    ``labels`` are integer classes of shape ``logits.shape[:-1]``, or
    probabilities (one-hot or soft) of the logits' shape.  Per example,
    ``loss = -sum_c p_c * log_softmax(logits)_c``, with ``log_softmax``
    computed through a shifted log-sum-exp, so logits of 1e4 give finite
    losses and gradients.  ``reduction``: ``"mean"`` over the examples (the
    default, as PyTorch's ``cross_entropy``), ``"sum"`` or ``"none"``.

    Raises ``ValueError`` for shapes that do not fit or labels out of range.
    """
    logits = asarray(logits)
    if logits.dtype.kind != "f" or logits.ndim < 1:
        raise TypeError(f"cross_entropy_loss: logits must be a float tensor (..., C), got "
                        f"dtype {logits.dtype} shape {logits.shape}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    c = logits.shape[-1]
    raw = labels.numpy() if isinstance(labels, Tensor) else np.asarray(labels)
    if raw.dtype.kind in "iu":
        if raw.shape != logits.shape[:-1]:
            raise ValueError(f"cross_entropy_loss: integer labels must have shape {logits.shape[:-1]} "
                             f"(the logits' without the class axis), got {raw.shape}")
        # Select log p at the label (not one_hot * log p: a masked -inf logit
        # elsewhere would give 0 * -inf = nan, where PyTorch gives a finite loss).
        at_label = one_hot(raw, c, dtype=logits.dtype).numpy().astype(bool)
        per_example = -reduce_sum(where(at_label, logsoftmax(logits, axis=-1), 0.0), axis=-1)
    else:
        target = asarray(labels, dtype=logits.dtype)
        if target.shape != logits.shape:
            raise ValueError(f"cross_entropy_loss: probability labels must have the logits' shape "
                             f"{logits.shape}, got {target.shape}")
        per_example = -reduce_sum(target * logsoftmax(logits, axis=-1), axis=-1)
    if reduction == "none":
        return per_example
    return mean(per_example) if reduction == "mean" else reduce_sum(per_example)


def mse_loss(prediction, target, reduction: str = "mean") -> Tensor:
    """``mean((prediction - target) ** 2)`` (``reduction="sum"``: the sum; ``"none"``: per element)."""
    d = asarray(prediction) - target
    sq = d * d
    if reduction == "none":
        return sq
    if reduction not in ("mean", "sum"):
        raise ValueError(f"mse_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return mean(sq) if reduction == "mean" else reduce_sum(sq)


def accuracy(logits, labels) -> float:
    """Fraction of examples whose largest logit is at the label (integer or one-hot labels).
    A plain float, not differentiable."""
    pred = np.argmax(asarray(logits).numpy(), axis=-1)
    raw = labels.numpy() if isinstance(labels, Tensor) else np.asarray(labels)
    if raw.dtype.kind not in "iu":
        raw = np.argmax(raw, axis=-1)
    if raw.shape != pred.shape:
        raise ValueError(f"accuracy: labels of shape {raw.shape} do not fit predictions of shape {pred.shape}")
    return float(np.mean(pred == raw)) if pred.size else float("nan")


def dropout(x, p: float = 0.5, training: bool = True, seed=None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``
    (inverted dropout, as PyTorch), so the expectation is unchanged; the identity
    when ``training`` is false or ``p == 0``.  ``seed``: an int, a
    ``numpy.random.Generator`` or ``None`` (nabla's global generator)."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    x = asarray(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * Tensor(np.zeros(x.shape, x.dtype))
    from .init import _rng
    keep = _rng(seed).random(x.shape) >= p
    return x * Tensor((keep / (1.0 - p)).astype(x.dtype))


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over every axis but the last (channels, NHWC):
    ``y = (x - mu) / sqrt(var + eps) * weight + bias``.

    In training (or without running statistics) ``mu`` and ``var`` are the
    batch's mean and biased variance, and gradients flow through them; in
    evaluation they are ``running_mean``/``running_var``.  Ioffe & Szegedy 2015;
    PyTorch's ``batch_norm``, except that nabla's tensors are immutable: this
    function does not update the running statistics (``nn.BatchNorm2d`` does,
    with ``momentum``; the argument is accepted for PyTorch's signature).
    """
    x = asarray(x)
    axes = tuple(range(x.ndim - 1))
    if training or running_mean is None or running_var is None:
        mu = mean(x, axis=axes, keepdims=True)
        centred = x - mu
        var = mean(centred * centred, axis=axes, keepdims=True)
    else:
        mu, var = asarray(running_mean, dtype=x.dtype), asarray(running_var, dtype=x.dtype)
        centred = x - mu
    y = centred / sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _batch_statistics(x: Tensor):
    """Mean and unbiased variance per channel of a concrete batch (for running statistics)."""
    v = stop_gradient(x).numpy().astype(np.float64)
    axes = tuple(range(v.ndim - 1))
    n = v.size // v.shape[-1]
    return v.mean(axis=axes), v.var(axis=axes) * n / (n - 1)
