"""Functions that layers are made of: activations, losses, dropout, batch norm.

All take and return tensors (anything :func:`nabla.asarray` accepts), are
differentiable in their float inputs, and put the **class or channel axis
last**, as nabla's NHWC layout does (PyTorch puts it at axis 1).  The four
convolution and pooling ops are re-exported here, so ``import
nabla.nn.functional as F`` is enough to write a model.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._tensor import Tensor, asarray
from .._typing import ArrayLike, DTypeLike, OptionalArrayLike
from ..ops import (adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, conv2d, conv2d_transpose,
                   global_avg_pool2d, global_max_pool2d, logsoftmax, max_pool2d, max_unpool2d, mean, pad,
                   reduce_sum, relu, sigmoid, softmax, tanh, where)
from ..ops.norm import batch_norm

__all__ = [
    "relu", "tanh", "sigmoid", "softmax", "log_softmax", "one_hot", "cross_entropy_loss", "mse_loss",
    "accuracy", "dropout", "batch_norm", "conv2d", "conv2d_transpose", "max_pool2d", "avg_pool2d",
    "max_unpool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "global_avg_pool2d", "global_max_pool2d", "pad",
]

log_softmax = logsoftmax  # PyTorch's spelling


def _values(labels: ArrayLike) -> np.ndarray[Any, Any]:
    """Labels as a plain array (a Tensor's values: labels are never differentiated)."""
    return labels.numpy() if isinstance(labels, Tensor) else np.asarray(labels)


def _labels(labels: ArrayLike, what: str) -> np.ndarray[Any, Any]:
    arr = _values(labels)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{what}: integer class labels are needed, got dtype {arr.dtype}")
    return arr


def one_hot(labels: ArrayLike, num_classes: int, dtype: DTypeLike = np.float32) -> Tensor:
    """Encode integer class labels as one-hot vectors along a new last axis.

    Parameters
    ----------
    labels : Tensor or array_like of int, any shape
        Class indices in ``[0, num_classes)``.
    num_classes : int
        ``C``, the length of the new axis; positive.
    dtype : dtype, optional
        Of the result (float32 by default, ready to multiply logits).

    Returns
    -------
    Tensor, labels.shape + (num_classes,)
        1 at each label's index, 0 elsewhere.  A constant: the labels are
        discrete, so nothing flows back to them.

    Raises
    ------
    TypeError
        If ``labels`` are not integers.
    ValueError
        If ``num_classes`` is not a positive int, or a label is outside
        ``[0, num_classes)`` (the message shows the first one).

    Notes
    -----
    PyTorch's ``torch.nn.functional.one_hot`` returns int64 and can infer
    ``num_classes``; here it is required, and the result is a float tensor
    by default.

    Examples
    --------
    >>> import numpy as np
    >>> from nabla import nn
    >>> nn.functional.one_hot([0, 2, 1], 3)
    Tensor([[1., 0., 0.],
            [0., 0., 1.],
            [0., 1., 0.]], dtype=float32)
    >>> nn.functional.one_hot(np.zeros((4, 5), np.int64), 10).shape
    (4, 5, 10)
    >>> nn.functional.one_hot([0, 3], 3)
    Traceback (most recent call last):
        ...
    ValueError: one_hot: label 3 is outside [0, 3)
    """
    arr = _labels(labels, "one_hot")
    if not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be a positive int, got {num_classes!r}")
    bad = (arr < 0) | (arr >= num_classes)
    if bad.any():
        raise ValueError(f"one_hot: label {arr[bad].flat[0]} is outside [0, {num_classes})")
    return Tensor(np.eye(num_classes, dtype=dtype)[arr])


def cross_entropy_loss(logits: ArrayLike, labels: ArrayLike, reduction: str = "mean") -> Tensor:
    r"""Softmax cross-entropy of ``logits`` against class labels or probabilities.

    Parameters
    ----------
    logits : Tensor or array_like, (..., C)
        Unnormalised scores, the classes on the **last** axis; float32 or
        float64.  The leading axes are examples: (N,) for a classifier,
        (N, H, W) for a per-pixel one.
    labels : Tensor or array_like
        Integer classes in ``[0, C)`` of shape ``logits.shape[:-1]``, or
        probabilities (one-hot or soft) of the logits' shape.
    reduction : {"mean", "sum", "none"}, optional
        The mean over the examples, their sum, or the per-example losses.

    Returns
    -------
    Tensor
        A scalar, or with ``reduction="none"`` the losses of shape
        ``logits.shape[:-1]``; in the logits' dtype.

    Raises
    ------
    TypeError
        If ``logits`` are not a float tensor of at least one axis.
    ValueError
        For an unknown ``reduction``, labels whose shape does not fit, or an
        integer label outside ``[0, C)``.

    Notes
    -----
    For an example with logits :math:`z` and target probabilities :math:`p`
    (one-hot for an integer label :math:`y`),

    .. math::

        \ell = -\sum_{c} p_c \log \mathrm{softmax}(z)_c
              = -\sum_c p_c \Big(z_c - \log \sum_k e^{z_k}\Big),
        \qquad \ell = \log \sum_k e^{z_k} - z_y \text{ for a label } y,

    and its gradient is :math:`\partial \ell / \partial z = \mathrm{softmax}(z) - p`
    (divided by the number of examples for ``"mean"``).  The log-softmax is
    computed as :math:`(z - m) - \log \sum_k e^{z_k - m}` with :math:`m` the
    largest logit, so logits of 1e4 give finite losses and gradients; an
    integer label selects its log-probability, so a ``-inf`` logit at another
    class gives a finite loss, as in PyTorch.  The gradient also flows into
    probability labels given as tensors.

    This is PyTorch's ``torch.nn.functional.cross_entropy``, with the class
    axis last (PyTorch's is axis 1) and without ``weight``,
    ``ignore_index`` and ``label_smoothing``.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> F = nn.functional
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], np.float32)
    >>> F.cross_entropy_loss(logits, [0, 2])
    Tensor(0.17545635, dtype=float32)
    >>> F.cross_entropy_loss(logits, [0, 2], reduction="none")
    Tensor([0.24131124, 0.10960147], dtype=float32)
    >>> F.cross_entropy_loss(logits, F.one_hot([0, 2], 3))     # the same, as probabilities
    Tensor(0.17545635, dtype=float32)
    >>> g = nb.grad(lambda z: F.cross_entropy_loss(z, [0, 2]))(logits)
    >>> bool(np.allclose(g.numpy(), (nb.softmax(logits).numpy() - np.eye(3)[[0, 2]]) / 2))
    True
    >>> F.cross_entropy_loss(np.array([[1e4, 0.0]], np.float32), [1])     # large logits stay finite
    Tensor(10000., dtype=float32)
    """
    logits = asarray(logits)
    if logits.dtype.kind != "f" or logits.ndim < 1:
        raise TypeError(f"cross_entropy_loss: logits must be a float tensor (..., C), got "
                        f"dtype {logits.dtype} shape {logits.shape}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    c = logits.shape[-1]
    raw = _values(labels)
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


def mse_loss(prediction: ArrayLike, target: ArrayLike, reduction: str = "mean") -> Tensor:
    r"""Mean squared error: ``mean((prediction - target) ** 2)``.

    Parameters
    ----------
    prediction : Tensor or array_like
        Any shape.
    target : Tensor or array_like
        Broadcastable to ``prediction``'s shape (usually the same shape).
    reduction : {"mean", "sum", "none"}, optional
        The mean over all elements, their sum, or the squared errors
        themselves.

    Returns
    -------
    Tensor
        A scalar, or with ``reduction="none"`` the squared errors, of the
        broadcast shape.

    Raises
    ------
    ValueError
        For an unknown ``reduction``, or shapes that do not broadcast.

    Notes
    -----
    :math:`\frac{1}{n} \sum_i (\hat y_i - y_i)^2`, differentiable in both
    arguments.  PyTorch's ``torch.nn.functional.mse_loss``, except that
    shapes are broadcast without a warning.

    Examples
    --------
    >>> import numpy as np
    >>> from nabla import nn
    >>> pred, target = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0])
    >>> nn.functional.mse_loss(pred, target)              # (0 + 4 + 9) / 3
    Tensor(4.33333333, dtype=float64)
    >>> nn.functional.mse_loss(pred, target, reduction="none")
    Tensor([0., 4., 9.], dtype=float64)
    """
    d = asarray(prediction) - target
    sq = d * d
    if reduction == "none":
        return sq
    if reduction not in ("mean", "sum"):
        raise ValueError(f"mse_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return mean(sq) if reduction == "mean" else reduce_sum(sq)


def accuracy(logits: ArrayLike, labels: ArrayLike) -> float:
    """The fraction of examples whose largest logit is at their label.

    Parameters
    ----------
    logits : Tensor or array_like, (..., C)
        Scores, the classes on the last axis.
    labels : Tensor or array_like
        Integer classes of shape ``logits.shape[:-1]``, or one-hot (or soft)
        labels of the logits' shape, whose largest entry is the class.

    Returns
    -------
    float
        In [0, 1]; NaN when there are no examples.  A plain Python float, not
        differentiable.  A tie counts the first largest logit as the
        prediction (``numpy.argmax``).

    Raises
    ------
    ValueError
        If the labels do not fit the logits' shape.

    Notes
    -----
    Not part of ``torch.nn.functional``: the usual
    ``(logits.argmax(-1) == labels).float().mean()``.

    Examples
    --------
    >>> import numpy as np
    >>> from nabla import nn
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], np.float32)
    >>> nn.functional.accuracy(logits, [0, 1])
    0.5
    >>> nn.functional.accuracy(logits, np.eye(3)[[0, 2]])
    1.0
    """
    pred = np.argmax(asarray(logits).numpy(), axis=-1)
    raw = _values(labels)
    if raw.dtype.kind not in "iu":
        raw = np.argmax(raw, axis=-1)
    if raw.shape != pred.shape:
        raise ValueError(f"accuracy: labels of shape {raw.shape} do not fit predictions of shape {pred.shape}")
    return float(np.mean(pred == raw)) if pred.size else float("nan")


def dropout(x: ArrayLike, p: float = 0.5, training: bool = True,
            seed: int | np.random.Generator | None = None) -> Tensor:
    r"""Zero each element with probability ``p`` and scale the others by ``1 / (1 - p)``.

    Parameters
    ----------
    x : Tensor or array_like
        Any shape; float.
    p : float, optional
        The probability of zeroing an element, in [0, 1].
    training : bool, optional
        False: return ``x`` unchanged (evaluation).
    seed : int, numpy.random.Generator or None, optional
        The mask's generator: ``None`` is nabla's global generator
        (:func:`nabla.seed`); a ``Generator`` is drawn from and advanced; an
        int seeds a new generator at each call, so the same int gives the
        same mask every time (:class:`~nabla.nn.Dropout` keeps a generator
        instead).

    Returns
    -------
    Tensor
        ``x``'s shape and dtype; ``x`` itself (as a tensor) when
        ``training`` is false or ``p == 0``, zeros when ``p == 1``.

    Raises
    ------
    ValueError
        If ``p`` is not a number in [0, 1].

    Notes
    -----
    With a mask :math:`m_i \sim \mathrm{Bernoulli}(1 - p)`,
    :math:`y_i = m_i x_i / (1 - p)`, so :math:`E[y_i] = x_i` (inverted
    dropout: nothing changes at evaluation).  Srivastava et al., JMLR 2014;
    PyTorch's ``torch.nn.functional.dropout`` (same distribution, not the
    same numbers: the mask comes from NumPy's generator).  The gradient is
    the mask, scaled.

    Examples
    --------
    >>> import numpy as np
    >>> from nabla import nn
    >>> x = np.ones((2, 5), np.float32)
    >>> nn.functional.dropout(x, 0.5, seed=0)
    Tensor([[2., 0., 0., 0., 2.],
            [2., 2., 2., 2., 2.]], dtype=float32)
    >>> nn.functional.dropout(x, 0.5, training=False)
    Tensor([[1., 1., 1., 1., 1.],
            [1., 1., 1., 1., 1.]], dtype=float32)
    """
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
