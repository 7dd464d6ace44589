"""The "checked" backend: every kernel on two backends, compared.

Each kernel of the contract (``nabla/_backend.py``) runs on the
*fast* backend (Cython unless told otherwise) and on the *reference* backend;
the fast result is returned, and :class:`BackendMismatchError` is raised at the
first kernel whose results differ beyond the tolerance:

    ``|fast - reference| <= rtol * max|reference|`` element-wise, with
    ``rtol = 1e-4`` for float32 and ``1e-11`` for float64 (both backends round
    differently, and a convolution sums many products; the scale is the
    largest magnitude of the reference result), NaN matching NaN and each
    infinity itself.  Integer outputs (max pooling's argmax) must be equal.

NaN and Inf must sit at the same positions: the backends follow the same IEEE
formula at padded taps too (docs/semantics.rst).

The op layer's descriptions (which op, forward or which derivative, the user's
line) come from the evaluation seat, ``nabla._autodiff.OpEvent``.
"""
from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _autodiff
from ._backend import _load

__all__ = ["BackendMismatchError", "checked", "replay", "compare"]

RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-11}


class BackendMismatchError(AssertionError):
    """Raised by checked mode at the first kernel whose two backends disagree.

    Attributes: ``kernel``, ``op`` (the user-level op and role, e.g. "the VJP
    of conv2d"), ``where`` (file:line of the user's call), ``index`` (of the
    largest difference in the output), ``abs_diff``, ``rel_diff``, ``path``
    (the saved reproduction, or None).
    """

    def __init__(self, message: str, **info: Any):
        super().__init__(message)
        self.__dict__.update(info)


@dataclass
class _Config:
    fast: str = "cython"
    reference: str = "reference"
    save_to: str | None = None
    rtol: float | None = None


_local = threading.local()


def _config() -> _Config:
    stack = getattr(_local, "stack", None)
    config: _Config = stack[-1] if stack else _Config()
    return config


# ------------------------------------------------------------------ the observer
_observers = [0]


def _keep_descriptions(event: Any) -> None:  # a no-op hook: its presence turns descriptions on
    pass


def observe(delta: int) -> None:
    """Count checked-mode users; while there is one, the seat describes each evaluation."""
    _observers[0] += delta
    hooks = _autodiff._eval_hooks
    if _observers[0] > 0 and _keep_descriptions not in hooks:
        hooks.append(_keep_descriptions)
    elif _observers[0] <= 0 and _keep_descriptions in hooks:
        hooks.remove(_keep_descriptions)


@contextlib.contextmanager
def checked(fast: str = "cython", reference: str = "reference", save_to: str | None = None,
            rtol: float | None = None) -> Iterator[None]:
    """Run a block in checked mode: every kernel on both backends, compared.

    ``with nabla.checked():`` is ``with nabla.use_backend("checked"):`` with
    options: ``fast`` and ``reference`` name the two backends compared (the
    result returned is ``fast``'s), ``save_to`` a ``.npz`` path where the
    inputs and parameters of a mismatching kernel are written (for
    :func:`nabla.debug.replay`), ``rtol`` overrides the tolerance.

    Raises :class:`nabla.BackendMismatchError` (an ``AssertionError``) at the
    first kernel whose results differ; see the module docs for the rule.
    """
    from ._backend import _check_name, use_backend
    for arg, name in (("fast", fast), ("reference", reference)):
        if _check_name(name) == "checked":
            raise ValueError(f"checked: {arg} must name a backend of kernels, not 'checked'")
        _load(name)
    stack = _local.__dict__.setdefault("stack", [])
    stack.append(_Config(fast, reference, save_to, rtol))
    try:
        with use_backend("checked"):
            yield
    finally:
        stack.pop()


# ------------------------------------------------------------------ comparison
def compare(kernel: str, fast_out: Any, ref_out: Any, args: Any, kwargs: Any,
            rtol: float | None = None) -> dict[str, Any] | None:
    """``None`` if the outputs agree, else a dict describing the worst difference."""
    fast_outs = fast_out if isinstance(fast_out, tuple) else (fast_out,)
    ref_outs = ref_out if isinstance(ref_out, tuple) else (ref_out,)
    for k, (f, r) in enumerate(zip(fast_outs, ref_outs)):
        what = "output" if len(fast_outs) == 1 else ("output", "argmax")[k] if k < 2 else f"output {k}"
        if f.shape != r.shape or f.dtype != r.dtype:
            return dict(what=what, detail=f"shape/dtype {f.shape} {f.dtype} vs {r.shape} {r.dtype}",
                        index=None, fast=None, ref=None, abs_diff=np.inf, rel_diff=np.inf, tol=0.0)
        if f.dtype.kind != "f":
            bad = f != r
            if bad.any():
                idx = tuple(int(i) for i in np.argwhere(bad)[0])
                return dict(what=what, detail=f"{int(bad.sum())} of {bad.size} entries differ", index=idx,
                            fast=f[idx], ref=r[idx], abs_diff=abs(float(f[idx]) - float(r[idx])),
                            rel_diff=np.inf, tol=0.0)
            continue
        tol = (rtol if rtol is not None else RTOL.get(f.dtype, 1e-4))
        fin = np.isfinite(f) & np.isfinite(r)
        scale = float(np.max(np.abs(r[fin]))) if fin.any() else 0.0
        same_special = (np.isnan(f) & np.isnan(r)) | (~fin & (f == r))
        special_bad = ~fin & ~same_special
        with np.errstate(invalid="ignore"):
            diff = np.where(fin, np.abs(f.astype(np.float64) - r), 0.0)
        bad = special_bad | (diff > tol * max(scale, np.finfo(f.dtype).tiny))
        if bad.any():
            score = np.where(special_bad, np.inf, diff)
            flat = np.unravel_index(int(np.argmax(score)), f.shape)
            idx = tuple(int(i) for i in flat)
            abs_diff = float(score[idx])
            return dict(what=what, detail=f"{int(bad.sum())} of {bad.size} entries beyond tolerance", index=idx,
                        fast=f[idx].item(), ref=r[idx].item(), abs_diff=abs_diff,
                        rel_diff=abs_diff / scale if scale else np.inf, tol=tol * scale)
    return None


def _run(kernel: str, *args: Any, **kwargs: Any) -> Any:
    cfg = _config()
    fast = getattr(_load(cfg.fast), kernel, None) or getattr(_load("reference"), kernel)
    fast_out = fast(*args, **kwargs)
    ref_out = getattr(_load(cfg.reference), kernel)(*args, **kwargs)
    bad = compare(kernel, fast_out, ref_out, args, kwargs, cfg.rtol)
    if bad is not None:
        path = _save(cfg.save_to, kernel, cfg, args, kwargs) if cfg.save_to else None
        raise _error(kernel, bad, cfg, args, kwargs, getattr(_autodiff._local, "event", None), path)
    return fast_out


def _error(kernel: str, bad: dict[str, Any], cfg: _Config, args: Any, kwargs: dict[str, Any], event: Any,
           path: str | None) -> BackendMismatchError:
    if event is not None:
        role = ("forward" if event.kind == "forward" else f"the {event.kind.upper()} of {event.of}")
        where = event.where
    else:
        role, where = "called directly", "<unknown>"
    shapes = ", ".join(f"{a.shape} {a.dtype}" if isinstance(a, np.ndarray) else repr(a) for a in args)
    params = ", ".join(f"{k}=<array {v.shape} {v.dtype}>" if isinstance(v, np.ndarray) else f"{k}={v}"
                       for k, v in kwargs.items())
    msg = (f"checked mode: kernel {kernel} ({role}) differs between backends\n"
           f"  {cfg.fast!r} and {cfg.reference!r}\n"
           f"  called at: {where}\n"
           f"  inputs: {shapes}\n"
           f"  parameters: {params}\n"
           f"  {bad['what']}: {bad['detail']}\n"
           f"  largest difference at index {bad['index']}: {cfg.fast} {bad['fast']!r}, "
           f"{cfg.reference} {bad['ref']!r}\n"
           f"  largest absolute difference {bad['abs_diff']:.3g}, relative to max|reference| "
           f"{bad['rel_diff']:.3g} (tolerance {bad['tol']:.3g})")
    if path:
        msg += f"\n  inputs saved to {path}; nabla.debug.replay({path!r}) reproduces this"
    return BackendMismatchError(msg, kernel=kernel, op=role, where=where, index=bad["index"],
                                abs_diff=bad["abs_diff"], rel_diff=bad["rel_diff"], path=path)


# ------------------------------------------------------------------ reproduction
def _save(path: str, kernel: str, cfg: _Config, args: Any, kwargs: dict[str, Any]) -> str:
    arrays: dict[str, Any] = {f"arg{i}": a for i, a in enumerate(args) if isinstance(a, np.ndarray)}
    arrays.update({f"kw_{k}": v for k, v in kwargs.items() if isinstance(v, np.ndarray)})  # e.g. argmax
    values = {i: a for i, a in enumerate(args) if not isinstance(a, np.ndarray)}  # sizes such as out_hw
    plain = {k: v for k, v in kwargs.items() if not isinstance(v, np.ndarray)}
    np.savez(path, **arrays, meta=np.array(json.dumps({
        "kernel": kernel, "fast": cfg.fast, "reference": cfg.reference, "rtol": cfg.rtol,
        "nargs": len(args), "values": values, "kwargs": plain,
        "array_kwargs": [k for k, v in kwargs.items() if isinstance(v, np.ndarray)]})))
    return str(path)


def _untuple(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def replay(path: str, fast: str | None = None, reference: str | None = None) -> None:
    """Run the kernel saved by ``nabla.checked(save_to=path)`` on both backends again.

    Raises :class:`BackendMismatchError` if they still disagree (with the same
    message as the first time, less the user's line); returns ``None`` if they
    now agree.  ``fast``/``reference`` override the saved backend names.
    """
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        values = meta["values"]
        args = [_untuple(values[str(i)]) if str(i) in values else data[f"arg{i}"] for i in range(meta["nargs"])]
        kwargs = {k: _untuple(v) for k, v in meta["kwargs"].items()}
        kwargs.update({k: data[f"kw_{k}"] for k in meta["array_kwargs"]})
    cfg = _Config(fast or meta["fast"], reference or meta["reference"], None, meta["rtol"])
    _local.__dict__.setdefault("stack", []).append(cfg)
    try:
        _run(meta["kernel"], *args, **kwargs)
    finally:
        _local.stack.pop()


def _make(kernel: str) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        return _run(kernel, *args, **kwargs)
    run.__name__ = run.__qualname__ = kernel
    run.__doc__ = f"``{kernel}`` on the fast and the reference backend, compared (checked mode)."
    return run


def __getattr__(name: str) -> Callable[..., Any]:  # PEP 562: a checked wrapper for every kernel the reference has
    if name.startswith("_") or not callable(getattr(_load("reference"), name, None)):
        raise AttributeError(name)
    fn = _make(name)
    globals()[name] = fn
    return fn
