"""Argument checking and window arithmetic, in one place for all four ops.

Every public op calls these before anything is computed, so a bad argument is
a ``TypeError``/``ValueError`` that names the op, the argument, the value
received and what was expected.  Kernels never check anything.

Output sizes (one axis; ``p0``/``p1`` the padding before/after)::

    conv2d, pools:      out = floor((n + p0 + p1 - d*(k - 1) - 1) / s) + 1
    conv2d_transpose:   out = (n - 1)*s - (p0 + p1) + d*(k - 1) + output_padding + 1

Worked example: n = 5, k = 3, s = 2, d = 1, p0 = p1 = 1 gives
floor((5 + 2 - 2 - 1) / 2) + 1 = 3 windows, starting at padded rows 0, 2, 4
(input rows -1, 1, 3).  The transpose maps 3 rows back to
(3 - 1)*2 - 2 + 2 + 0 + 1 = 5 rows; output_padding = 1 would give 6, the other
input size whose conv2d output also has 3 rows.
"""
from __future__ import annotations

import numbers
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._tensor import Tensor, asarray

# Geometry values and sizes are bounded so that no index arithmetic in a kernel
# (products like i*stride + a*dilation) can overflow a 64-bit integer.
_MAX_INT = 2**31 - 1
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


_OPTIONAL = ("bias",)  # the tensor arguments that may be None


def float_tensors(op: str, **named: Any) -> list[Any]:
    """Convert the named arguments to Tensors and check they are float32/float64
    and all of one dtype.  Returns them in order.  ``None`` passes through for
    an optional argument (``bias``) and is a ``TypeError`` for a required one."""
    out: list[Tensor | None] = []
    first: tuple[str, np.dtype[Any]] | None = None
    for name, value in named.items():
        if value is None:
            if name not in _OPTIONAL:
                raise TypeError(f"{op}: argument '{name}' is None; expected a float32 or float64 tensor or array")
            out.append(None)
            continue
        t = _to_tensor(op, name, value)
        if t.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{op}: argument '{name}' has dtype {t.dtype}; expected float32 or float64")
        if first is None:
            first = (name, t.dtype)
        elif t.dtype != first[1]:
            raise TypeError(
                f"{op}: argument '{name}' has dtype {t.dtype} but '{first[0]}' has dtype {first[1]}; "
                "all tensor arguments must share one dtype (no implicit promotion)")
        out.append(t)
    return out


def _to_tensor(op: str, name: str, value: Any) -> Tensor:
    """``nabla.asarray(value)``: arrays keep their dtype, Python floats become float32."""
    if getattr(value, "requires_grad", False) is True:
        raise TypeError(f"{op}: argument '{name}' is a {type(value).__name__} that requires grad (PyTorch); "
                        "call .detach() on it first")
    try:
        t = asarray(value)
    except Exception as e:  # noqa: BLE001  (float16, complex, strings, objects ...)
        try:
            dtype = np.asarray(value).dtype
        except Exception:  # noqa: BLE001
            dtype = np.dtype(object)
        what = (f"has dtype {dtype}" if dtype != object
                else f"is a {type(value).__name__}, which cannot be read as an array of numbers")
        raise TypeError(f"{op}: argument '{name}' {what}; expected float32 or float64") from e
    if t.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}: argument '{name}' has dtype {t.dtype}; expected float32 or float64")
    return t


def check_rank(op: str, name: str, t: Tensor, rank: int, layout: str) -> None:
    if t.ndim != rank:
        raise ValueError(f"{op}: argument '{name}' must have rank {rank} ({layout}), got shape {t.shape}")


def _int(op: str, name: str, value: Any, minimum: int) -> int:
    if type(value) is int:         # the usual case, without the ABC checks (a third of
        v = value                  # a small conv2d call's argument checking)
    elif isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: argument '{name}' must contain ints, got {value!r} "
                        f"of type {type(value).__name__}")
    else:
        v = operator.index(value)
    if v < minimum:
        what = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{op}: argument '{name}' must be {what}, got {v}")
    if v > _MAX_INT:
        raise ValueError(f"{op}: argument '{name}' is too large ({v}); the limit is {_MAX_INT}")
    return v


def pair(op: str, name: str, value: Any, minimum: int = 1) -> tuple[int, int]:
    """An int ``k`` -> ``(k, k)``; a pair ``(h, w)`` as is.  Each must be >= minimum."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{op}: argument '{name}' must be an int or a pair (h, w), got {value!r}")
        return (_int(op, name, value[0], minimum), _int(op, name, value[1], minimum))
    v = _int(op, name, value, minimum)
    return (v, v)


def padding4(op: str, value: Any) -> tuple[int, int, int, int]:
    """int ``p`` -> (p, p, p, p); ``(ph, pw)`` -> (ph, ph, pw, pw); a 4-tuple is
    (top, bottom, left, right).  Each >= 0."""
    if isinstance(value, (tuple, list)):
        if len(value) == 2:
            ph, pw = (_int(op, "padding", v, 0) for v in value)
            return (ph, ph, pw, pw)
        if len(value) == 4:
            t, b, l, r = (_int(op, "padding", v, 0) for v in value)
            return (t, b, l, r)
        raise ValueError(f"{op}: argument 'padding' must be an int, a pair (pad_h, pad_w) or a 4-tuple "
                         f"(top, bottom, left, right), got {value!r}")
    p = _int(op, "padding", value, 0)
    return (p, p, p, p)


def padding_string(op: str, value: Any) -> str | None:
    """``"SAME"``/``"VALID"`` in any case -> the upper-case name; a non-string -> None."""
    if not isinstance(value, str):
        return None
    if value.upper() not in ("SAME", "VALID"):
        raise ValueError(f"{op}: argument 'padding' must be an int, a pair, a 4-tuple, 'SAME' or 'VALID', "
                         f"got {value!r}")
    return value.upper()


def same_padding(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's SAME rule along one axis: the output is ``ceil(n / s)``, the total
    padding ``max((ceil(n/s) - 1)*s + d*(k - 1) + 1 - n, 0)``, the odd cell at the
    bottom/right.  E.g. n = 5, k = 2, s = 2: output 3, total 2*2 + 2 - 5 = 1 -> (0, 1);
    n = 6, k = 3, s = 2: output 3, total 2*2 + 3 - 6 = 1 -> (0, 1)."""
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def window_padding(op: str, value: Any, in_hw: Sequence[int], kernel_hw: Sequence[int], stride: Sequence[int],
                   dilation: Sequence[int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) for a window op (conv2d, the pools): a number or
    tuple as :func:`padding4` reads it, ``"VALID"`` (none), or ``"SAME"`` (:func:`same_padding`)."""
    mode = padding_string(op, value)
    if mode is None:
        return padding4(op, value)
    if mode == "VALID":
        return (0, 0, 0, 0)
    return (same_padding(in_hw[0], kernel_hw[0], stride[0], dilation[0])
            + same_padding(in_hw[1], kernel_hw[1], stride[1], dilation[1]))


def transpose_string_padding(k: int, s: int, d: int, mode: str) -> tuple[int, int, int]:
    """``(lo, hi, output_padding)`` of conv2d_transpose along one axis for "SAME"
    (output ``n * s``, the adjoint of a SAME conv2d from ``n * s`` cells) or "VALID"
    (no padding; output ``n * s + max(k' - s, 0)`` with ``k' = d*(k - 1) + 1``, as
    TensorFlow's ``conv2d_transpose``).  When ``k' < s`` the missing ``s - k'``
    rows come from output_padding."""
    span = d * (k - 1) + 1
    if mode == "SAME" and span >= s:
        total = span - s
        return total // 2, total - total // 2, 0
    return 0, 0, max(s - span, 0)


def ceil_mode_extra(n: int, k: int, s: int, d: int, p0: int, p1: int) -> int:
    """``ceil_mode=True``: cells added after the bottom/right padding so that the
    last, partial window is kept, with PyTorch's rule: the output is
    ``ceil((n + p0 + p1 - d*(k-1) - 1) / s) + 1``, less one if that last window
    would start past the input and its top/left padding (``(out - 1)*s >= n + p0``).
    E.g. n = 5, k = 2, s = 2, no padding: floor mode 2 windows, ceil mode 3 (the
    last covers row 4 and one extra cell)."""
    span = n + p0 + p1 - d * (k - 1) - 1
    out = (span + s - 1) // s + 1          # ceil(span / s) + 1; a kernel longer than the padded
    if out >= 1 and (out - 1) * s >= n + p0:   # input by less than s still gets one partial window
        out -= 1
    if out < 1:
        return 0  # no window at all: window_out_size reports it
    return max((out - 1) * s + d * (k - 1) + 1 - (n + p0 + p1), 0)


def adaptive_bins(n: int, m: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive pooling bins along one axis: bin ``i`` of ``m`` covers
    ``[floor(i*n/m), ceil((i+1)*n/m))``.  E.g. n = 7, m = 3: [0, 3), [2, 5), [4, 7)
    (overlapping); n = 5, m = 7: [0, 1), [0, 2), [1, 3), [2, 3), [2, 4), [3, 5), [4, 5)."""
    return [(i * n // m, -(-(i + 1) * n // m)) for i in range(m)]


def layout(op: str, name: str, value: Any, accepted: tuple[str, ...]) -> str:
    """None -> the default ``accepted[0]``; otherwise one of ``accepted``."""
    if value is None:
        return accepted[0]
    if not isinstance(value, str) or value not in accepted:
        raise ValueError(f"{op}: argument '{name}' must be None or one of {list(accepted)}, got {value!r}")
    return value


def window_out_size(op: str, axis: str, n: int, k: int, s: int, d: int, p0: int, p1: int) -> int:
    """Windows along one axis: floor((n + p0 + p1 - d*(k-1) - 1) / s) + 1, at least 1."""
    span = n + p0 + p1 - d * (k - 1) - 1
    out = span // s + 1
    if span < 0:
        raise ValueError(
            f"{op}: the output {axis} would be {out} < 1: "
            f"floor(({axis}_in {n} + padding {p0} + {p1} - dilation {d} * (kernel {k} - 1) - 1) / stride {s}) + 1; "
            f"the (dilated) kernel, {d * (k - 1) + 1}, is larger than the padded input, {n + p0 + p1}")
    return out


def transpose_out_size(op: str, axis: str, n: int, k: int, s: int, d: int, p0: int, p1: int, op_: int) -> int:
    """(n - 1)*s - (p0 + p1) + d*(k - 1) + output_padding + 1, at least 1."""
    out = (n - 1) * s - (p0 + p1) + d * (k - 1) + op_ + 1
    if out < 1:
        raise ValueError(
            f"{op}: the output {axis} would be {out} < 1: "
            f"({axis}_in {n} - 1) * stride {s} - padding ({p0} + {p1}) + dilation {d} * (kernel {k} - 1) "
            f"+ output_padding {op_} + 1")
    return out


_MAX_WORK = 2**62   # products of sizes the kernels form (element counts, multiply-adds) stay below this


def check_work(op: str, *factors: int) -> None:
    """Refuse a call whose element count or work (the product of ``factors``)
    would overflow the 64-bit sizes the kernels compute with: computed here, in
    Python's exact integers, before any kernel runs."""
    total = 1
    for f in factors:
        total *= int(f)
    if total > _MAX_WORK:
        raise ValueError(f"{op}: the call is too large: {' x '.join(str(int(f)) for f in factors)} = {total} "
                         f"exceeds {_MAX_WORK} (2**62), the limit of the kernels' 64-bit size arithmetic")


def positive_channels(op: str, name: str, c: int, shape: tuple[int, ...]) -> None:
    if c < 1:
        raise ValueError(f"{op}: argument '{name}' has {c} channels (shape {shape}); expected at least 1")
