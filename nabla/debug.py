"""Tools to find the op that went wrong.

Every primitive nabla evaluates (the four ops, their derivative kernels, the
element-wise and reduction ops) passes through one seat, where *hooks* see it
as an :class:`OpEvent`: which op, whether it is a forward call or part of the
VJP/JVP of which op, the file and line of the user's code that called the
forward op, the inputs, parameters, output and time in the kernel.  Four tools
sit on that seat, and a tool of your own takes a few lines (:func:`add_hook`):

* :func:`checked` (also ``use_backend("checked")``, ``NABLA_BACKEND=checked``):
  every kernel on both backends, compared; :class:`BackendMismatchError` names
  the first that disagrees; :func:`replay` reruns a saved one;
* :func:`detect_anomaly`: :class:`AnomalyError` (a ``FloatingPointError``) at
  the first op whose output holds NaN or Inf, forward or derivative;
* :func:`profile`: time per op, forward and derivatives, as a table;
* :func:`nabla.testing.check_grads` and :func:`nabla.testing.check_backends`.

None of them changes a result: outputs are bit-identical with and without
them, and checked mode returns the fast backend's result.  With no hook
installed the seat costs one list check per evaluation.
"""
from __future__ import annotations

import contextlib
import csv
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, cast

import numpy as np

from . import _autodiff
from ._autodiff import OpEvent
from ._backend import _load, backend_info, kernel_names, register_backend
from ._checked import BackendMismatchError, checked, replay

__all__ = [
    "OpEvent", "add_hook", "remove_hook", "hook", "checked", "replay", "BackendMismatchError",
    "detect_anomaly", "AnomalyError", "profile", "Profile", "register_backend", "backend_kernels",
    "kernel_names", "backend_info",
]


def backend_kernels(name: str) -> ModuleType:
    """The kernel module of backend ``name`` (its kernels, named by :func:`kernel_names`):
    to call a kernel directly, or to wrap one in a backend of your own."""
    from ._backend import _check_name
    module: ModuleType = _load(_check_name(name))
    return module


# ------------------------------------------------------------------ the seat
def add_hook(fn: Callable[[OpEvent], object]) -> None:
    """Call ``fn(event)`` after every primitive evaluation (an :class:`OpEvent`),
    in every thread, until :func:`remove_hook`.  ``fn`` may raise to stop the
    computation; it must not modify ``event.output``."""
    if not callable(fn):
        raise TypeError(f"add_hook: expected a callable, got {type(fn).__name__}")
    _autodiff._eval_hooks.append(fn)


def remove_hook(fn: Callable[[OpEvent], object]) -> None:
    """Stop calling ``fn``; ``ValueError`` if it was not added."""
    try:
        _autodiff._eval_hooks.remove(fn)
    except ValueError:
        raise ValueError(f"remove_hook: {fn!r} is not an installed hook") from None


@contextlib.contextmanager
def hook(fn: Callable[[OpEvent], object]) -> Iterator[Callable[[OpEvent], object]]:
    """``with nabla.debug.hook(fn):`` -- :func:`add_hook` for the block."""
    add_hook(fn)
    try:
        yield fn
    finally:
        remove_hook(fn)


# ------------------------------------------------------------------ anomalies
class AnomalyError(FloatingPointError):
    """Raised by :func:`detect_anomaly`.  Attributes: ``event`` (the
    :class:`OpEvent`), ``index`` (of the first bad value), ``value``."""

    def __init__(self, message: str, event: OpEvent, index: tuple[int, ...], value: float):
        super().__init__(message)
        self.event, self.index, self.value = event, index, value


def _check_finite(event: OpEvent) -> None:
    out = cast("np.ndarray[Any, Any]", event.output)
    if out.dtype.kind != "f" or np.all(np.isfinite(out)):
        return
    bad = ~np.isfinite(out)
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    value = out[idx].item()
    n_nan, n_inf = int(np.isnan(out).sum()), int(np.isinf(out).sum())
    inputs_bad = [i for i, a in enumerate(event.inputs)
                  if isinstance(a, np.ndarray) and a.dtype.kind == "f" and not np.all(np.isfinite(a))]
    origin = ("its inputs were all finite: this op made it" if not inputs_bad else
              f"input(s) {inputs_bad} already held NaN/Inf: it came from earlier")
    raise AnomalyError(
        f"detect_anomaly: {event.describe()}\n  produced {value} at index {idx} "
        f"({n_nan} NaN, {n_inf} Inf of {out.size} values);\n  {origin}", event, idx, value)


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise :class:`AnomalyError` (a ``FloatingPointError``) at the first op whose
    output holds NaN or Inf, inside the block.

    The message names the op, the mode (forward, or the VJP/JVP of which op)
    and the file and line of the user's forward call, also for a derivative
    computed later by ``grad`` of a function whose forward ran in the block.
    Infinities that a model makes on purpose (max pooling of a window that is
    all padding, a masked logit) are reported too: this is a debugging mode.
    """
    with hook(_check_finite):
        yield


# ------------------------------------------------------------------ profile
class Profile:
    """The calls :func:`profile` recorded.  ``print(prof)`` shows a table sorted
    by total time; :meth:`to_dict` and :meth:`to_csv` give the calls to tools."""

    def __init__(self) -> None:
        self._raw: list[tuple[Any, ...]] = []
        self.wall_seconds = 0.0

    def _record(self, e: OpEvent) -> None:
        # Kept raw while profiling (cheap, and no array is held); dicts when asked for.
        shapes = tuple(getattr(a, "shape", None) for a in e.inputs)
        output = cast("np.ndarray[Any, Any]", e.output)
        self._raw.append((e.op, e.kind, e.of, e.backend, shapes, output.dtype, e.seconds, e.site))

    @property
    def calls(self) -> list[dict[str, Any]]:
        """One dict per call: op, kind, of, backend, shapes, dtype, seconds, where."""
        return [{"op": op, "kind": kind, "of": of or "", "backend": backend,
                 "shapes": " ".join("-" if shape is None else "x".join(map(str, shape)) for shape in shapes),
                 "dtype": str(dtype), "seconds": seconds,
                 "where": _autodiff._where(site)}
                for op, kind, of, backend, shapes, dtype, seconds, site in self._raw]

    @property
    def total_seconds(self) -> float:
        """Time inside kernels (the sum over calls)."""
        total: float = sum(r[6] for r in self._raw)
        return total

    def summary(self) -> list[dict[str, Any]]:
        """One row per (op, role): calls, total and mean seconds, share of kernel time."""
        rows: defaultdict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"calls": 0, "seconds": 0.0})
        for op, kind, of, _, _, _, seconds, _ in self._raw:
            r = rows[(op, "forward" if kind == "forward" else f"{kind} of {of}")]
            r["calls"] += 1
            r["seconds"] += seconds
        total = self.total_seconds or 1.0
        out = [{"op": op, "role": role, "calls": r["calls"], "seconds": r["seconds"],
                "mean_seconds": r["seconds"] / r["calls"], "share": r["seconds"] / total}
               for (op, role), r in rows.items()]
        return sorted(out, key=lambda r: -r["seconds"])

    def to_dict(self) -> dict[str, Any]:
        return {"wall_seconds": self.wall_seconds, "kernel_seconds": self.total_seconds,
                "summary": self.summary(), "calls": self.calls}

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """One row per call: op, kind, of, backend, shapes, dtype, seconds, where."""
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["op", "kind", "of", "backend", "shapes", "dtype", "seconds", "where"])
            w.writeheader()
            w.writerows(self.calls)

    def __str__(self) -> str:
        rows = self.summary()
        head = f"{'op':<22} {'role':<26} {'calls':>6} {'total ms':>9} {'share':>6} {'mean us':>9}"
        lines = [head, "-" * len(head)]
        for r in rows:
            lines.append(f"{r['op']:<22} {r['role']:<26} {r['calls']:>6} {r['seconds'] * 1e3:>9.3f} "
                         f"{r['share']:>6.1%} {r['mean_seconds'] * 1e6:>9.1f}")
        k, w = self.total_seconds, self.wall_seconds
        lines.append("-" * len(head))
        lines.append(f"{len(self._raw)} calls, {k * 1e3:.3f} ms in kernels of {w * 1e3:.3f} ms in the block"
                     + (f" ({k / w:.0%}; the rest is Python: autodiff bookkeeping and your code)" if w else ""))
        return "\n".join(lines)

    __repr__ = __str__


@contextlib.contextmanager
def profile() -> Iterator[Profile]:
    """Record every primitive evaluation in the block: ``with nabla.profile() as prof:``.

    Each call's op, role (forward, or the VJP/JVP of which op), backend, input
    shapes, dtype, seconds in the kernel and the user's line are kept in
    ``prof.calls``; ``print(prof)`` shows them summed per op and role, sorted by
    total time, with the share of kernel time and the block's wall time.
    """
    prof = Profile()
    t0 = time.perf_counter()
    try:
        with hook(prof._record):
            yield prof
    finally:
        prof.wall_seconds = time.perf_counter() - t0
