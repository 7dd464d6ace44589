"""Gradient checking: derivatives against central finite differences.

``check_grads(f, args)`` checks, along random directions, that

* forward mode agrees with finite differences:  ``jvp(f)(v) ~ (f(x + eps v) - f(x - eps v)) / 2 eps``
* reverse mode agrees with them too, through the dot-product identity
  ``<u, J v> = <J^T u, v>`` (u a random output cotangent),

and then, for ``order > 1``, checks the derivative functions themselves
(``x -> J(x) v`` and ``x -> J(x)^T u``) the same way, recursively.  Use float64
inputs: float32 finite differences are too noisy to mean much.  When a check
fails, the message names the mode, the order, the argument (and the path
inside it, for a pytree) whose derivative is wrong, and its worst entry.

``check_backends(f, args)`` evaluates a whole function's value and gradient
on both backends and compares them.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._autodiff import _flatten, jvp, vjp
from ._backend import use_backend
from ._pytree import keystr, tree_flatten_with_path, tree_map
from ._tensor import Tensor, asarray

__all__ = ["check_grads", "check_backends", "numerical_jvp"]


def _vdot(a: Any, b: Any) -> float:
    la, _ = _flatten(a)
    lb, _ = _flatten(b)
    return float(sum(np.vdot(np.asarray(x, np.float64), np.asarray(y, np.float64)) for x, y in zip(la, lb)))


def _random_like(tree: Any, rng: np.random.Generator) -> Any:
    leaves, rebuild = _flatten(tree)
    return rebuild([Tensor(rng.standard_normal(leaf.shape).astype(leaf.dtype)) for leaf in leaves])


def _axpy(alpha: float, v: Any, x: Any) -> Any:
    lx, rebuild = _flatten(x)
    lv, _ = _flatten(v)
    return rebuild([Tensor(a._value + alpha * b._value) for a, b in zip(lx, lv)])


def numerical_jvp(f: Callable[..., Any], args: Sequence[Any], directions: Sequence[Any],
                  eps: float = 1e-6) -> Any:
    """Central difference of ``f`` at ``args`` along ``directions`` (same structure)."""
    plus = f(*_axpy(eps, directions, args))
    minus = f(*_axpy(-eps, directions, args))
    lp, rebuild = _flatten(plus)
    lm, _ = _flatten(minus)
    return rebuild([Tensor((np.asarray(p, np.float64) - np.asarray(m, np.float64)) / (2 * eps))
                    for p, m in zip(lp, lm)])


def check_grads(f: Callable[..., Any], args: Sequence[Any], modes: Sequence[str] = ("fwd", "rev"), order: int = 2,
                eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-7, seed: int = 0) -> None:
    """Check ``f``'s derivatives at ``args`` against central finite differences, up to ``order``.

    Parameters
    ----------
    f : callable
        ``f(*args)`` returns a tensor or a pytree of tensors.
    args : tuple
        Tensors, arrays or pytrees of them (a dict of parameters, a
        ``nabla.nn.Module``); use float64.
    modes : tuple of {"fwd", "rev"}
        Forward mode (JVP) and/or reverse mode (VJP).
    order : int
        1 checks the first derivatives; 2 also the derivatives of the
        derivative functions, and so on.
    eps, rtol, atol : float
        Finite-difference step; tolerance of each directional comparison
        (``atol`` is scaled by the size of the directional derivative).

    Raises
    ------
    AssertionError
        Naming the mode, the order, the argument (``argument 0``, with the
        path inside a pytree) whose derivative disagrees, and its worst entry:
        for reverse mode the entry of that argument's gradient, for forward
        mode the entry of the output's tangent, each with both values.

    Example: a gradient severed by a detour through NumPy is caught::

        >>> f = lambda x: nb.sum(nb.asarray(x.numpy() ** 2))   # .numpy(): a constant
        >>> nb.testing.check_grads(f, (np.ones(3),), order=1)
        Traceback (most recent call last):
        ...
        AssertionError: check_grads: forward mode, order 1: ...
    """
    rng = np.random.default_rng(seed)
    targs = tuple(tree_map(asarray, a) for a in args)
    _check(f, targs, modes, order, eps, rtol, atol, rng, depth=1)


def _close(got: float, want: float, rtol: float, atol: float) -> bool:
    return abs(got - want) <= atol + rtol * max(abs(got), abs(want))


_ORDER_NAMES = {1: "order 1", 2: "order 2 (the derivative of the derivative)"}


def _check(f: Callable[..., Any], args: tuple[Any, ...], modes: Sequence[str], order: int, eps: float,
           rtol: float, atol: float, rng: np.random.Generator, depth: int) -> None:
    v = _random_like(args, rng)
    fd = numerical_jvp(f, args, v, eps)
    out = f(*args)
    u = _random_like(out, rng)
    # Compare scalars <u, .>: one number per check, scale-aware tolerance.
    scale = np.sqrt(max(_vdot(fd, fd), 1e-300) * max(_vdot(u, u), 1e-300))
    want = _vdot(u, fd)
    tol = atol * scale + atol
    if "fwd" in modes:
        _, tangent = jvp(f, list(args), list(v))
        got = _vdot(u, tangent)
        if not _close(got, want, rtol, tol):
            _fail(f, args, "fwd", depth, got, want, v, u, eps, rtol, tol)
    if "rev" in modes:
        _, pullback = vjp(f, *args)
        got = _vdot(pullback(u), v)
        if not _close(got, want, rtol, tol):
            _fail(f, args, "rev", depth, got, want, v, u, eps, rtol, tol)
    if order > 1:
        if "fwd" in modes:
            def f_jvp(*xs: Any) -> Any:
                return jvp(f, list(xs), list(v))[1]
            _check(f_jvp, args, modes, order - 1, eps, rtol, atol, rng, depth + 1)
        if "rev" in modes:
            def f_vjp(*xs: Any) -> Any:
                return vjp(f, *xs)[1](u)
            _check(f_vjp, args, modes, order - 1, eps, rtol, atol, rng, depth + 1)


# ----------------------------------------------------------------- diagnosis
def _only(v: Any, k: int) -> Any:
    """Direction ``v`` with every leaf but the k-th zeroed."""
    leaves, rebuild = _flatten(v)
    return rebuild([x if i == k else Tensor(np.zeros(x.shape, x.dtype)) for i, x in enumerate(leaves)])


def _arg_name(path: tuple[str, ...]) -> str:
    inner = keystr(path[1:]) if len(path) > 1 else ""
    return f"argument {path[0].strip('[]')}" + (f" at {inner}" if inner else "")


def _fail(f: Callable[..., Any], args: tuple[Any, ...], mode: str, depth: int, got: float, want: float, v: Any,
          u: Any, eps: float, rtol: float, tol: float) -> None:
    """Find which argument's derivative is wrong and its worst entry; raise."""
    name = {"fwd": "forward mode", "rev": "reverse mode"}[mode]
    head = (f"check_grads: {name}, {_ORDER_NAMES.get(depth, f'order {depth}')}: "
            f"<u, J v> is {got!r} by {name}, {want!r} by finite differences")
    paths = [p for p, _ in tree_flatten_with_path(args)[0]]
    _, pullback = vjp(f, *args)
    for k, path in enumerate(paths):
        vk = _only(v, k)
        want_k = _vdot(u, numerical_jvp(f, args, vk, eps))
        if mode == "fwd":
            tangent = jvp(f, list(args), list(vk))[1]
            if not _close(_vdot(u, tangent), want_k, rtol, tol):
                fd = numerical_jvp(f, args, vk, eps)
                where = _worst(tangent, fd, "the output's tangent")
                raise AssertionError(f"{head}.\n  The derivative in {_arg_name(path)} disagrees; {where}")
        else:
            ct = pullback(u)
            if not _close(_vdot(ct, vk), want_k, rtol, tol):
                grad_k = _flatten(ct)[0][k]
                fd = _numerical_gradient(f, args, u, k, eps)
                where = _worst(grad_k, fd, "its gradient")
                raise AssertionError(f"{head}.\n  The derivative in {_arg_name(path)} disagrees; {where}")
    raise AssertionError(f"{head} (no single argument is wrong on its own)")


def _worst(got: Any, want: Any, what: str) -> str:
    g_leaves, w_leaves = _flatten(got)[0], _flatten(want)[0]
    best = None
    for j, (g, w) in enumerate(zip(g_leaves, w_leaves)):
        g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
        d = np.where(np.isnan(w), 0.0, np.abs(g - w))
        if d.size and (best is None or d.max() > best[0]):
            idx = np.unravel_index(int(np.argmax(d)), d.shape)
            best = (float(d.max()), j, tuple(int(i) for i in idx), g[idx].item(), w[idx].item())
    if best is None:
        return f"{what} is empty"
    d_max, j_max, idx_max, g_max, w_max = best
    leaf = "" if len(g_leaves) == 1 else f" (output leaf {j_max})"
    return (f"worst entry of {what}{leaf} at index {idx_max}: {g_max!r} by autodiff, {w_max!r} by finite "
            f"differences (|difference| {d_max:.3g})")


def _numerical_gradient(f: Callable[..., Any], args: tuple[Any, ...], u: Any, k: int, eps: float,
                        limit: int = 2000) -> Tensor:
    """The gradient of ``<u, f(args)>`` in leaf ``k`` by central differences (the
    first ``limit`` entries; the rest are left NaN and not compared)."""
    leaves, rebuild = _flatten(args)
    x = np.asarray(leaves[k]._value, np.float64)
    out = np.full(x.shape, np.nan)
    for i in range(min(x.size, limit)):
        e = np.zeros(x.size)
        e[i] = 1.0
        d = rebuild([Tensor(e.reshape(x.shape).astype(leaf.dtype)) if j == k else
                     Tensor(np.zeros(leaf.shape, leaf.dtype)) for j, leaf in enumerate(leaves)])
        out.flat[i] = _vdot(u, numerical_jvp(f, args, d, eps))
    return Tensor(out)


# ------------------------------------------------------------- both backends
_BACKEND_RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-9}


def check_backends(f: Callable[..., Any], args: Sequence[Any], rtol: float | None = None, seed: int = 0,
                   backends: Sequence[str] = ("cython", "reference")) -> None:
    """Compare ``f``'s value and its gradient (a VJP with a random cotangent) on two backends.

    ``args``: tensors, arrays or pytrees of them.  Values agree when
    ``|a - b| <= rtol * max|b|`` per output leaf, ``rtol`` 1e-4 for float32 and
    1e-9 for float64 by default.  Raises ``AssertionError`` naming the value or
    the argument (and pytree path) whose gradient differs, its worst index and
    both numbers; returns ``None`` when they agree.
    """
    targs = tuple(tree_map(asarray, a) for a in args)
    results = []
    for backend in backends:
        with use_backend(backend):
            out, pullback = vjp(f, *targs)
            u = _random_like(out, np.random.default_rng(seed))
            results.append((out, pullback(u)))
    paths = [p for p, _ in tree_flatten_with_path(targs)[0]]
    (out0, ct0), (out1, ct1) = results
    checks: list[tuple[str, Any, Any]] = [("the value", l0, l1)
                                          for l0, l1 in zip(_flatten(out0)[0], _flatten(out1)[0])]
    checks += [(f"the gradient in {_arg_name(p)}", l0, l1)
               for p, l0, l1 in zip(paths, _flatten(ct0)[0], _flatten(ct1)[0])]
    for what, leaf_a, leaf_b in checks:
        a, b = np.asarray(leaf_a), np.asarray(leaf_b)
        tol = rtol if rtol is not None else _BACKEND_RTOL.get(b.dtype, 1e-4)
        scale = float(np.max(np.abs(b))) if b.size else 0.0
        d = np.abs(a.astype(np.float64) - b)
        bad = ~((d <= tol * scale) | (np.isnan(a) & np.isnan(b)) | (a == b))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0]) if d.ndim else ()
            flat = np.unravel_index(int(np.nanargmax(np.where(bad, d, -1.0))), d.shape) if d.ndim else ()
            worst = tuple(int(i) for i in flat)
            raise AssertionError(
                f"check_backends: {what} differs between {backends[0]!r} and {backends[1]!r}: "
                f"worst at index {worst}: {a[worst].item()!r} vs {b[worst].item()!r} "
                f"(|difference| {d[worst]:.3g}, tolerance {tol * scale:.3g}; first bad index {idx})")
