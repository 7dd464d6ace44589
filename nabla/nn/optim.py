"""Optimizers: SGD, Adam and AdamW as pure functions over pytrees.

Nothing here writes into a tensor.  An update takes the parameters, their
gradients and the optimizer's state, and returns *new* parameters and a *new*
state, as optax does::

    from nabla.nn import optim

    state = optim.adam_init(params)
    for batch in data:
        grads = nb.grad(loss)(params, batch)
        params, state = optim.adam_update(params, grads, state, lr=1e-3)

The classes :class:`SGD`, :class:`Adam` and :class:`AdamW` are thin wrappers
that keep ``params`` and ``state`` for you, so a loop reads like PyTorch's::

    opt = optim.Adam(params, lr=1e-3)
    for batch in data:
        params = opt.step(nb.grad(loss)(opt.params, batch))

``params`` is any pytree of float32/float64 tensors (dict, list, tuple,
NamedTuple, dataclass, ``nabla.nn.Module``); ``grads`` must have the same
structure and shapes, and the new parameters come back with the same structure
and type.  The state is a plain dict: a step count and pytrees shaped like
``params``.

The formulas are PyTorch's (``torch.optim``, 2.x, single-tensor path, no
``maximize``/``amsgrad``), step for step.  They are written with nabla ops, so
an update keeps the parameters' dtype and is itself differentiable (with
respect to the parameters, the gradients, or a tensor ``lr``).  ``lr`` may be a
number or a schedule ``lr(step) -> float``, where ``step`` counts the updates
done before this one (0 for the first), as in optax; :func:`cosine_decay` and
:func:`step_decay` build two common ones.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar, Union, cast

import numpy as np

from .._pytree import PyTreeDef, first_difference, keystr, tree_flatten, tree_flatten_with_path, tree_map
from .._tensor import Tensor, asarray
from ..ops import sqrt, zeros_like

__all__ = [
    "SGD", "Adam", "AdamW", "sgd_init", "sgd_update", "adam_init", "adam_update",
    "adamw_init", "adamw_update", "cosine_decay", "step_decay",
]


#: A learning rate: a number, a (scalar) tensor to differentiate with respect to, or a
#: schedule ``lr(step) -> float`` of the number of updates done before this one.
LearningRate = Union[float, Tensor, Callable[[int], float]]
#: The parameters' pytree (a Module, a dict of tensors, ...): an update returns the same type.
P = TypeVar("P")


# ------------------------------------------------------------------ checks and trees
def _check_nonneg(who: str, **values: Any) -> None:
    for name, v in values.items():
        if isinstance(v, numbers.Real) and not cast(float, v) >= 0:  # `not >=` also rejects NaN
            raise ValueError(f"{who}: invalid {name}={v!r}; it must be >= 0")


def _check_sgd(who: str, lr: LearningRate, momentum: float, dampening: float, weight_decay: float,
               nesterov: bool) -> None:
    _check_nonneg(who, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(f"{who}: Nesterov momentum requires a momentum and zero dampening "
                         f"(got momentum={momentum!r}, dampening={dampening!r})")


def _check_adam(who: str, lr: LearningRate, betas: Sequence[float], eps: float, weight_decay: float) -> None:
    _check_nonneg(who, lr=lr, eps=eps, weight_decay=weight_decay)
    for i, b in enumerate(betas):
        if not 0 <= b < 1:
            raise ValueError(f"{who}: invalid betas[{i}]={b!r}; it must be in [0, 1)")


def _lr_at(who: str, lr: LearningRate, step: int) -> float | Tensor:
    """The learning rate for the update after ``step`` updates (a schedule is called)."""
    if callable(lr):
        lr = lr(step)
        _check_nonneg(who, **{f"lr({step})": lr})
    return lr


def _param_leaves(who: str, params: Any) -> tuple[list[tuple[tuple[str, ...], Any]], PyTreeDef]:
    """``([(path, leaf), ...], treedef)``, each leaf checked to be a floating tensor."""
    pairs, treedef = tree_flatten_with_path(params)
    for path, p in pairs:
        if not (isinstance(p, Tensor) and p.dtype.kind == "f"):
            got = f"a tensor of dtype {p.dtype}" if isinstance(p, Tensor) else f"a {type(p).__name__}"
            raise TypeError(f"{who}: the parameter at {keystr(path)} is {got}; only float32 "
                            "and float64 tensors can be optimised")
    return pairs, treedef


def _leaves(who: str, params: Any, grads: Any) -> tuple[PyTreeDef, list[Tensor], list[Tensor]]:
    """``(treedef, param leaves, grad leaves)``: grads checked to match params in
    structure, shape and dtype."""
    pairs, treedef = _param_leaves(who, params)
    g_leaves, g_def = tree_flatten(grads)
    if g_def != treedef:
        raise ValueError(f"{who}: grads must have the structure of params; they first differ at "
                         f"{first_difference(params, grads)} (params first, grads second)")
    gs = []
    for (path, p), g in zip(pairs, g_leaves):
        try:
            g = asarray(g)
        except TypeError as e:
            raise TypeError(f"{who}: the gradient at {keystr(path)} is not an array ({e})") from e
        if g.shape != p.shape:
            raise ValueError(f"{who}: the gradient at {keystr(path)} has shape {g.shape}, "
                             f"but the parameter has shape {p.shape}")
        if g.dtype != p.dtype:
            raise TypeError(f"{who}: the gradient at {keystr(path)} is {g.dtype}, "
                            f"but the parameter is {p.dtype}")
        gs.append(g)
    return treedef, [p for _, p in pairs], gs


def _unboxed(lr: float | Tensor, *leaf_lists: list[Any]) -> tuple[Callable[[Any], Any], Callable[[Any], Any],
                                                                   tuple[list[Any], ...]]:
    """``(sqrt, wrap, leaf_lists)`` for the update arithmetic.

    The formulas use only ``+ - * /`` and ``sqrt``, which mean the same on
    tensors and on ndarrays.  When nothing is traced (the usual training step)
    they run on the plain arrays, one NumPy call per operation instead of one
    nabla primitive, and ``wrap`` makes tensors of the results; when a leaf or
    ``lr`` is traced by a transform, they run on the tensors, so the update is
    differentiated.  Same formula, same numbers either way.
    """
    traced = isinstance(lr, Tensor) or any(
        isinstance(x, Tensor) and x._trace is not None for leaves in leaf_lists for x in leaves)
    if traced:
        return sqrt, (lambda x: x), leaf_lists
    return np.sqrt, Tensor, tuple([x._value for x in leaves] for leaves in leaf_lists)


def _state_leaves(who: str, state: dict[str, Any], key: str, treedef: PyTreeDef) -> list[Any]:
    leaves, d = tree_flatten(state[key])
    if d != treedef:
        raise ValueError(f"{who}: state[{key!r}] does not have the structure of params "
                         "(was the state made by the matching *_init for these params?)")
    return leaves


# ----------------------------------------------------------------------------- SGD
def sgd_init(params: Any) -> dict[str, Any]:
    """The initial state of :func:`sgd_update` for ``params``.

    Parameters
    ----------
    params : pytree of Tensor
        The parameters (float32 or float64 tensors).

    Returns
    -------
    dict
        ``{"step": 0, "momentum_buffer": None}``; the buffer is created by the
        first update that uses momentum, as in PyTorch.

    Raises
    ------
    TypeError
        If a leaf of ``params`` is not a floating tensor (the message names its path).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla.nn import optim
    >>> optim.sgd_init({"w": nb.zeros((2,))})
    {'step': 0, 'momentum_buffer': None}
    """
    _param_leaves("sgd_init", params)
    return {"step": 0, "momentum_buffer": None}


def sgd_update(params: P, grads: Any, state: dict[str, Any], *, lr: LearningRate = 1e-3, momentum: float = 0.0,
               dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False
               ) -> tuple[P, dict[str, Any]]:
    """One step of stochastic gradient descent, as a pure function.

    For each parameter ``p`` with gradient ``g``::

        g = g + weight_decay * p                        (if weight_decay != 0)
        buf = g                                         (first step with momentum != 0)
        buf = momentum * buf + (1 - dampening) * g      (later steps)
        g = g + momentum * buf if nesterov else buf     (if momentum != 0)
        p = p - lr * g

    Matches ``torch.optim.SGD`` (PyTorch 2.x).

    Parameters
    ----------
    params : pytree of Tensor
        The current parameters (float32 or float64 tensors).
    grads : pytree
        Gradients with the structure, shapes and dtypes of ``params``.
    state : dict
        From :func:`sgd_init` or the previous :func:`sgd_update`.
    lr : float, Tensor or callable, optional
        Learning rate, or a schedule ``lr(step)`` called with the number of
        updates done before this one.
    momentum, dampening, weight_decay : float, optional
        Momentum factor, dampening of the momentum, L2 penalty.
    nesterov : bool, optional
        Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).

    Returns
    -------
    (new_params, new_state)
        ``new_params`` has the structure and type of ``params``; ``new_state``
        is a new dict (``state`` is not modified).

    Raises
    ------
    ValueError
        For a negative ``lr``, ``momentum`` or ``weight_decay``, Nesterov without
        momentum or with dampening, or ``grads`` whose structure or shapes differ
        from ``params`` (the message names the first differing path).
    TypeError
        If a parameter is not a floating tensor, or a gradient's dtype differs.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla.nn import optim
    >>> params = {"w": nb.asarray(np.array([1.0, -2.0], np.float32))}
    >>> grads = {"w": nb.asarray(np.array([0.5, 0.5], np.float32))}
    >>> state = optim.sgd_init(params)
    >>> new_params, state = optim.sgd_update(params, grads, state, lr=0.1, momentum=0.9)
    >>> new_params["w"]                               # w - 0.1 * g (the first buffer is g)
    Tensor([ 0.95, -2.05], dtype=float32)
    >>> state["step"], state["momentum_buffer"]["w"]
    (1, Tensor([0.5, 0.5], dtype=float32))
    >>> new_params, state = optim.sgd_update(new_params, grads, state, lr=0.1, momentum=0.9)
    >>> np.round(new_params["w"].numpy(), 4)          # buffer 0.9 * 0.5 + 0.5 = 0.95
    array([ 0.855, -2.145], dtype=float32)
    >>> params["w"]                                   # unchanged
    Tensor([ 1., -2.], dtype=float32)
    """
    who = "sgd_update"
    _check_sgd(who, lr, momentum, dampening, weight_decay, nesterov)
    treedef, ps, gs = _leaves(who, params, grads)
    buf_tree = state["momentum_buffer"]
    bufs = None if buf_tree is None else _state_leaves(who, state, "momentum_buffer", treedef)
    lr = _lr_at(who, lr, state["step"])
    _, wrap, (ps, gs, bufs) = _unboxed(lr, ps, gs, bufs or [])
    bufs = bufs or None
    new_ps, new_bufs = [], []
    for i, (p, g) in enumerate(zip(ps, gs)):
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            buf = g if bufs is None else momentum * bufs[i] + (1 - dampening) * g
            new_bufs.append(wrap(buf))
            g = g + momentum * buf if nesterov else buf
        new_ps.append(wrap(p - lr * g))
    new_buf_tree = treedef.unflatten(new_bufs) if momentum != 0 else buf_tree
    return treedef.unflatten(new_ps), {"step": state["step"] + 1, "momentum_buffer": new_buf_tree}


# ---------------------------------------------------------------------- Adam, AdamW
def adam_init(params: Any) -> dict[str, Any]:
    """The initial state of :func:`adam_update` for ``params``.

    Parameters
    ----------
    params : pytree of Tensor
        The parameters (float32 or float64 tensors).

    Returns
    -------
    dict
        ``{"step": 0, "exp_avg": zeros, "exp_avg_sq": zeros}``, the zeros being
        trees shaped like ``params``.

    Raises
    ------
    TypeError
        If a leaf of ``params`` is not a floating tensor (the message names its path).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla.nn import optim
    >>> state = optim.adam_init({"w": nb.zeros((2,))})
    >>> state["step"], state["exp_avg"]["w"].shape, state["exp_avg_sq"]["w"].shape
    (0, (2,), (2,))
    """
    _param_leaves("adam_init", params)
    zeros = tree_map(zeros_like, params)
    return {"step": 0, "exp_avg": zeros, "exp_avg_sq": zeros}


def adamw_init(params: Any) -> dict[str, Any]:
    """The initial state of :func:`adamw_update`: the same as :func:`adam_init`.

    Parameters
    ----------
    params : pytree of Tensor
        The parameters (float32 or float64 tensors).

    Returns
    -------
    dict
        ``{"step": 0, "exp_avg": zeros, "exp_avg_sq": zeros}``.

    Raises
    ------
    TypeError
        If a leaf of ``params`` is not a floating tensor (the message names its path).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla.nn import optim
    >>> sorted(optim.adamw_init({"w": nb.zeros((2,))}))
    ['exp_avg', 'exp_avg_sq', 'step']
    """
    _param_leaves("adamw_init", params)
    return adam_init(params)


def _adam(who: str, params: P, grads: Any, state: dict[str, Any], lr: LearningRate, betas: Sequence[float],
          eps: float, weight_decay: float, decoupled: bool) -> tuple[P, dict[str, Any]]:
    _check_adam(who, lr, betas, eps, weight_decay)
    treedef, ps, gs = _leaves(who, params, grads)
    ms = _state_leaves(who, state, "exp_avg", treedef)
    vs = _state_leaves(who, state, "exp_avg_sq", treedef)
    lr = _lr_at(who, lr, state["step"])
    b1, b2 = betas
    t = state["step"] + 1
    step_size = lr / (1 - b1 ** t)
    bc2_sqrt = (1 - b2 ** t) ** 0.5
    sqrt_, wrap, (ps, gs, ms, vs) = _unboxed(lr, ps, gs, ms, vs)
    new_ps, new_ms, new_vs = [], [], []
    for p, g, m, v in zip(ps, gs, ms, vs):
        if weight_decay != 0:
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        new_ps.append(wrap(p - step_size * m / (sqrt_(v) / bc2_sqrt + eps)))
        new_ms.append(wrap(m))
        new_vs.append(wrap(v))
    return treedef.unflatten(new_ps), {"step": t, "exp_avg": treedef.unflatten(new_ms),
                                       "exp_avg_sq": treedef.unflatten(new_vs)}


def adam_update(params: P, grads: Any, state: dict[str, Any], *, lr: LearningRate = 1e-3,
                betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                weight_decay: float = 0.0) -> tuple[P, dict[str, Any]]:
    """One step of Adam (with an L2 penalty when ``weight_decay`` is set), as a pure function.

    For each parameter ``p`` with gradient ``g``, at step ``t = state["step"] + 1``::

        g = g + weight_decay * p                        (if weight_decay != 0)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - (lr / (1 - b1**t)) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)

    Matches ``torch.optim.Adam`` (PyTorch 2.x) with ``amsgrad=False``.

    Parameters
    ----------
    params : pytree of Tensor
        The current parameters (float32 or float64 tensors).
    grads : pytree
        Gradients with the structure, shapes and dtypes of ``params``.
    state : dict
        From :func:`adam_init` or the previous :func:`adam_update`.
    lr : float, Tensor or callable, optional
        Learning rate, or a schedule ``lr(step)`` called with the number of
        updates done before this one.
    betas : (float, float), optional
        Decay rates ``(b1, b2)`` of the first and second moment averages.
    eps : float, optional
        Added to the denominator.
    weight_decay : float, optional
        L2 penalty (added to the gradient).

    Returns
    -------
    (new_params, new_state)
        ``new_params`` has the structure and type of ``params``; ``new_state``
        is a new dict ``{"step", "exp_avg", "exp_avg_sq"}``.

    Raises
    ------
    ValueError
        For ``lr``, ``eps`` or ``weight_decay`` < 0, a beta outside [0, 1), or
        ``grads`` whose structure or shapes differ from ``params`` (the message
        names the first differing path).
    TypeError
        If a parameter is not a floating tensor, or a gradient's dtype differs.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla.nn import optim
    >>> params = {"w": nb.asarray(np.array([1.0, -2.0], np.float32))}
    >>> grads = {"w": nb.asarray(np.array([0.5, 0.5], np.float32))}
    >>> state = optim.adam_init(params)
    >>> new_params, state = optim.adam_update(params, grads, state, lr=0.1)
    >>> np.round(new_params["w"].numpy(), 4)          # the first step moves each entry by about lr
    array([ 0.9, -2.1], dtype=float32)
    >>> state["step"]
    1
    """
    return _adam("adam_update", params, grads, state, lr, betas, eps, weight_decay, decoupled=False)


def adamw_update(params: P, grads: Any, state: dict[str, Any], *, lr: LearningRate = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> tuple[P, dict[str, Any]]:
    """One step of AdamW (Adam with decoupled weight decay), as a pure function.

    For each parameter ``p`` with gradient ``g``, at step ``t = state["step"] + 1``::

        p = p * (1 - lr * weight_decay)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - (lr / (1 - b1**t)) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)

    Matches ``torch.optim.AdamW`` (PyTorch 2.x) with ``amsgrad=False``.

    Parameters
    ----------
    params : pytree of Tensor
        The current parameters (float32 or float64 tensors).
    grads : pytree
        Gradients with the structure, shapes and dtypes of ``params``.
    state : dict
        From :func:`adamw_init` or the previous :func:`adamw_update`.
    lr : float, Tensor or callable, optional
        Learning rate, or a schedule ``lr(step)`` called with the number of
        updates done before this one.
    betas : (float, float), optional
        Decay rates ``(b1, b2)`` of the first and second moment averages.
    eps : float, optional
        Added to the denominator.
    weight_decay : float, optional
        Decoupled weight decay (shrinks the parameters, not the gradient).

    Returns
    -------
    (new_params, new_state)
        ``new_params`` has the structure and type of ``params``; ``new_state``
        is a new dict ``{"step", "exp_avg", "exp_avg_sq"}``.

    Raises
    ------
    ValueError
        For ``lr``, ``eps`` or ``weight_decay`` < 0, a beta outside [0, 1), or
        ``grads`` whose structure or shapes differ from ``params`` (the message
        names the first differing path).
    TypeError
        If a parameter is not a floating tensor, or a gradient's dtype differs.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla.nn import optim
    >>> params = {"w": nb.asarray(np.array([1.0, -2.0], np.float32))}
    >>> grads = {"w": nb.asarray(np.array([0.5, 0.5], np.float32))}
    >>> state = optim.adamw_init(params)
    >>> new_params, state = optim.adamw_update(params, grads, state, lr=0.1, weight_decay=0.1)
    >>> np.round(new_params["w"].numpy(), 4)          # w * (1 - 0.01), then the Adam step
    array([ 0.89, -2.08], dtype=float32)
    """
    return _adam("adamw_update", params, grads, state, lr, betas, eps, weight_decay, decoupled=True)


# --------------------------------------------------------------------------- classes
class _Optimizer(Generic[P]):
    """What the classes share: they hold ``params``, ``state`` and the
    hyper-parameters, and ``step`` calls the pure update."""

    _init: ClassVar[Any] = None  # the pure forms, set by each subclass
    _update: ClassVar[Any] = None

    def __init__(self, params: P, **hyper: Any):
        self.hyper = hyper
        self.params = params
        self.state: dict[str, Any] = type(self)._init(params)

    def step(self, grads: Any) -> P:
        """Apply one update; return the new parameters (also kept as ``self.params``).

        Parameters
        ----------
        grads : pytree
            Gradients with the structure, shapes and dtypes of ``self.params``.

        Returns
        -------
        pytree
            The new parameters, with the structure and type of the old ones.

        Raises
        ------
        ValueError, TypeError
            As the pure update function (structure, shape or dtype mismatch).

        Examples
        --------
        >>> import numpy as np, nabla as nb
        >>> from nabla.nn import optim
        >>> w = nb.asarray(np.array([0.0]))
        >>> opt = optim.SGD(w, lr=0.1)
        >>> for _ in range(50):                        # minimise (w - 3)^2
        ...     w = opt.step(nb.grad(lambda w: nb.reduce_sum((w - 3.0) ** 2))(w))
        >>> np.round(w.numpy(), 3), opt.state["step"], opt.params is w
        (array([3.]), 50, True)
        """
        self.params, self.state = type(self)._update(self.params, grads, self.state, **self.hyper)
        return self.params

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items())
        return f"{type(self).__name__}({args})"


class SGD(_Optimizer[P]):
    """Stochastic gradient descent with optional momentum, Nesterov and L2 penalty.

    A wrapper over :func:`sgd_init` and :func:`sgd_update` (see there for the
    formula) that keeps the parameters and state.  ``step(grads)`` returns the
    new parameters; nothing is modified in place.

    Matches ``torch.optim.SGD`` (PyTorch 2.x).

    Parameters
    ----------
    params : pytree of Tensor
        The initial parameters (float32 or float64 tensors).
    lr : float, Tensor or callable, optional
        Learning rate, or a schedule ``lr(step)``.
    momentum, dampening, weight_decay : float, optional
        Momentum factor, dampening of the momentum, L2 penalty.
    nesterov : bool, optional
        Nesterov momentum.

    Attributes
    ----------
    params : pytree
        The current parameters.
    state : dict
        The current state (see :func:`sgd_init`).
    hyper : dict
        The hyper-parameters.

    Raises
    ------
    ValueError
        For a negative ``lr``, ``momentum`` or ``weight_decay``, or Nesterov
        without momentum or with dampening.
    TypeError
        If a parameter is not a floating tensor.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> model = nn.Linear(3, 1, seed=0)
    >>> opt = nn.optim.SGD(model, lr=0.1, momentum=0.9)
    >>> opt
    SGD(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False)
    >>> x, y = nb.randn((16, 3), seed=1), nb.randn((16, 1), seed=2)
    >>> loss = lambda m: nn.functional.mse_loss(m(x), y)
    >>> before = loss(model).item()
    >>> for _ in range(20):
    ...     model = opt.step(nb.grad(loss)(model))
    >>> type(model).__name__, bool(loss(model).item() < before)
    ('Linear', True)
    """

    _init, _update = staticmethod(sgd_init), staticmethod(sgd_update)

    def __init__(self, params: P, lr: LearningRate = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        _check_sgd("SGD", lr, momentum, dampening, weight_decay, nesterov)
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=nesterov)


class Adam(_Optimizer[P]):
    """Adam, with an optional L2 penalty.

    A wrapper over :func:`adam_init` and :func:`adam_update` (see there for the
    formula) that keeps the parameters and state.  ``step(grads)`` returns the
    new parameters; nothing is modified in place.

    Matches ``torch.optim.Adam`` (PyTorch 2.x) with ``amsgrad=False``.

    Parameters
    ----------
    params : pytree of Tensor
        The initial parameters (float32 or float64 tensors).
    lr : float, Tensor or callable, optional
        Learning rate, or a schedule ``lr(step)``.
    betas : (float, float), optional
        Decay rates of the first and second moment averages.
    eps : float, optional
        Added to the denominator.
    weight_decay : float, optional
        L2 penalty (added to the gradient).

    Attributes
    ----------
    params : pytree
        The current parameters.
    state : dict
        The current state (see :func:`adam_init`).
    hyper : dict
        The hyper-parameters.

    Raises
    ------
    ValueError
        For ``lr``, ``eps`` or ``weight_decay`` < 0 or a beta outside [0, 1).
    TypeError
        If a parameter is not a floating tensor.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> model = nn.Sequential(nn.Linear(3, 8, seed=0), nn.ReLU(), nn.Linear(8, 2, seed=1))
    >>> opt = nn.optim.Adam(model, lr=1e-2)
    >>> x, y = nb.randn((32, 3), seed=2), np.arange(32) % 2
    >>> step = nb.value_and_grad(lambda m: nn.functional.cross_entropy_loss(m(x), y))
    >>> first, grads = step(model)
    >>> for _ in range(50):
    ...     model = opt.step(grads)
    ...     loss, grads = step(model)
    >>> bool(loss.item() < first.item()), opt.state["step"]
    (True, 50)
    """

    _init, _update = staticmethod(adam_init), staticmethod(adam_update)

    def __init__(self, params: P, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        _check_adam("Adam", lr, betas, eps, weight_decay)
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class AdamW(_Optimizer[P]):
    """AdamW: Adam with decoupled weight decay.

    A wrapper over :func:`adamw_init` and :func:`adamw_update` (see there for
    the formula) that keeps the parameters and state.  ``step(grads)`` returns
    the new parameters; nothing is modified in place.

    Matches ``torch.optim.AdamW`` (PyTorch 2.x) with ``amsgrad=False``.

    Parameters
    ----------
    params : pytree of Tensor
        The initial parameters (float32 or float64 tensors).
    lr : float, Tensor or callable, optional
        Learning rate, or a schedule ``lr(step)``.
    betas : (float, float), optional
        Decay rates of the first and second moment averages.
    eps : float, optional
        Added to the denominator.
    weight_decay : float, optional
        Decoupled weight decay.

    Attributes
    ----------
    params : pytree
        The current parameters.
    state : dict
        The current state (see :func:`adamw_init`).
    hyper : dict
        The hyper-parameters.

    Raises
    ------
    ValueError
        For ``lr``, ``eps`` or ``weight_decay`` < 0 or a beta outside [0, 1).
    TypeError
        If a parameter is not a floating tensor.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> params = {"w": nb.asarray(np.array([1.0, -2.0], np.float32))}
    >>> opt = nn.optim.AdamW(params, lr=0.1, weight_decay=0.1)
    >>> new = opt.step({"w": nb.zeros((2,))})        # a zero gradient: only the decay acts
    >>> new["w"]                                      # w * (1 - lr * weight_decay)
    Tensor([ 0.99, -1.98], dtype=float32)
    """

    _init, _update = staticmethod(adamw_init), staticmethod(adamw_update)

    def __init__(self, params: P, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2):
        _check_adam("AdamW", lr, betas, eps, weight_decay)
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


# ------------------------------------------------------------------------- schedules
def cosine_decay(init_value: float, decay_steps: int, alpha: float = 0.0) -> Callable[[int], float]:
    """A cosine learning-rate schedule (optax's ``cosine_decay_schedule``)::

        lr(t) = init_value * ((1 - alpha) * 0.5 * (1 + cos(pi * min(t, decay_steps) / decay_steps)) + alpha)

    It falls from ``init_value`` at ``t = 0`` to ``alpha * init_value`` at
    ``t = decay_steps`` and stays there.  With ``eta_min = alpha * init_value`` it is
    the closed form of ``torch.optim.lr_scheduler.CosineAnnealingLR`` for
    ``t <= decay_steps`` (PyTorch 2.x).

    Parameters
    ----------
    init_value : float
        The learning rate at step 0.
    decay_steps : int
        The number of steps over which it decays (> 0).
    alpha : float, optional
        The final value, as a fraction of ``init_value``.

    Returns
    -------
    callable
        ``schedule(step) -> float``, to pass as ``lr``.

    Raises
    ------
    ValueError
        If ``decay_steps`` is not positive.

    Examples
    --------
    >>> from nabla.nn import optim
    >>> lr = optim.cosine_decay(0.1, decay_steps=100, alpha=0.1)
    >>> [round(lr(t), 4) for t in (0, 50, 100, 200)]
    [0.1, 0.055, 0.01, 0.01]
    >>> import nabla as nb
    >>> opt = optim.SGD({"w": nb.ones((1,))}, lr=lr)     # the first step uses lr(0)
    >>> opt.step({"w": nb.ones((1,))})["w"]
    Tensor([0.9], dtype=float32)
    """
    if not decay_steps > 0:
        raise ValueError(f"cosine_decay: invalid decay_steps={decay_steps!r}; it must be > 0")

    def schedule(step: int) -> float:
        t = min(step, decay_steps)
        return init_value * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * t / decay_steps)) + alpha)

    return schedule


def step_decay(init_value: float, step_size: int, gamma: float = 0.1) -> Callable[[int], float]:
    """A step learning-rate schedule: multiply by ``gamma`` every ``step_size`` steps::

        lr(t) = init_value * gamma ** (t // step_size)

    Matches ``torch.optim.lr_scheduler.StepLR`` (PyTorch 2.x), counting
    optimizer steps.

    Parameters
    ----------
    init_value : float
        The learning rate at step 0.
    step_size : int
        The number of steps between two decays (> 0).
    gamma : float, optional
        The factor applied at each decay.

    Returns
    -------
    callable
        ``schedule(step) -> float``, to pass as ``lr``.

    Raises
    ------
    ValueError
        If ``step_size`` is not a positive integer.

    Examples
    --------
    >>> from nabla.nn import optim
    >>> lr = optim.step_decay(0.1, step_size=30)
    >>> [round(lr(t), 6) for t in (0, 29, 30, 60)]
    [0.1, 0.1, 0.01, 0.001]
    """
    if not (isinstance(step_size, numbers.Integral) and cast(int, step_size) > 0):
        raise ValueError(f"step_decay: invalid step_size={step_size!r}; it must be a positive integer")

    def schedule(step: int) -> float:
        return init_value * gamma ** (step // step_size)

    return schedule
