"""Gradient checking: derivatives against central finite differences.

``check_grads(f, args)`` checks, along random directions, that

* forward mode agrees with finite differences:  ``jvp(f)(v) ~ (f(x + eps v) - f(x - eps v)) / 2 eps``
* reverse mode agrees with them too, through the dot-product identity
  ``<u, J v> = <J^T u, v>`` (u a random output cotangent),

and then, for ``order > 1``, checks the derivative functions themselves
(``x -> J(x) v`` and ``x -> J(x)^T u``) the same way, recursively.  Use float64
inputs: float32 finite differences are too noisy to mean much.
"""
from __future__ import annotations

import numpy as np

from ._autodiff import _flatten, jvp, vjp
from ._pytree import tree_map
from ._tensor import Tensor, asarray

__all__ = ["check_grads", "numerical_jvp"]


def _vdot(a, b) -> float:
    la, _ = _flatten(a)
    lb, _ = _flatten(b)
    return float(sum(np.vdot(np.asarray(x, np.float64), np.asarray(y, np.float64)) for x, y in zip(la, lb)))


def _random_like(tree, rng):
    leaves, rebuild = _flatten(tree)
    return rebuild([Tensor(rng.standard_normal(leaf.shape).astype(leaf.dtype)) for leaf in leaves])


def _axpy(alpha, v, x):
    lx, rebuild = _flatten(x)
    lv, _ = _flatten(v)
    return rebuild([Tensor(a._value + alpha * b._value) for a, b in zip(lx, lv)])


def numerical_jvp(f, args, directions, eps=1e-6):
    """Central difference of ``f`` at ``args`` along ``directions`` (same structure)."""
    plus = f(*_axpy(eps, directions, args))
    minus = f(*_axpy(-eps, directions, args))
    lp, rebuild = _flatten(plus)
    lm, _ = _flatten(minus)
    return rebuild([Tensor((np.asarray(p, np.float64) - np.asarray(m, np.float64)) / (2 * eps))
                    for p, m in zip(lp, lm)])


def check_grads(f, args, modes=("fwd", "rev"), order=2, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0):
    """Check ``f``'s derivatives at ``args`` (a tuple of tensors, arrays or pytrees of
    them, such as a ``nabla.nn.Module``) up to ``order``.

    Raises ``AssertionError`` naming the mode and order that disagreed.
    """
    rng = np.random.default_rng(seed)
    args = tuple(tree_map(asarray, a) for a in args)
    _check(f, args, modes, order, eps, rtol, atol, rng, depth=1)


def _close(what, got, want, rtol, atol):
    if not abs(got - want) <= atol + rtol * max(abs(got), abs(want)):
        raise AssertionError(f"{what}: {got!r} != {want!r} (rtol={rtol}, atol={atol})")


def _check(f, args, modes, order, eps, rtol, atol, rng, depth):
    v = _random_like(args, rng)
    fd = numerical_jvp(f, args, v, eps)
    out = f(*args)
    u = _random_like(out, rng)
    # Compare scalars <u, .>: one number per check, scale-aware tolerance.
    scale = np.sqrt(max(_vdot(fd, fd), 1e-300) * max(_vdot(u, u), 1e-300))
    want = _vdot(u, fd)
    if "fwd" in modes:
        _, tangent = jvp(f, list(args), list(v))
        _close(f"forward mode, order {depth}", _vdot(u, tangent), want, rtol, atol * scale + atol)
    if "rev" in modes:
        _, pullback = vjp(f, *args)
        _close(f"reverse mode, order {depth}", _vdot(pullback(u), v), want, rtol, atol * scale + atol)
    if order > 1:
        if "fwd" in modes:
            def f_jvp(*xs):
                return jvp(f, list(xs), list(v))[1]
            _check(f_jvp, args, modes, order - 1, eps, rtol, atol, rng, depth + 1)
        if "rev" in modes:
            def f_vjp(*xs):
                return vjp(f, *xs)[1](u)
            _check(f_vjp, args, modes, order - 1, eps, rtol, atol, rng, depth + 1)
