"""Backend registry: which set of kernels the ops call.

A *backend* is a module that supplies kernels by name, on plain
C-contiguous NumPy arrays in NHWC layout (filters in HWIO), float32 or float64,
all arguments of one dtype.  Kernels only compute: the op layer (``nabla.ops``)
has already checked every argument, computed the output size and made the
arrays contiguous, so a kernel never validates user input.  Kernels return new
arrays and never write into their inputs.

Geometry parameters are plain tuples of Python ints:

- ``stride = (sh, sw)``, ``dilation = (dh, dw)``: each >= 1
- ``padding = (pt, pb, pl, pr)``: each >= 0, the number of implicit cells
  added at the top, bottom, left and right of the input (zeros for convolution
  and average pooling, -inf for max pooling).  Kernels take padding as a
  parameter; nothing materialises a padded copy on the fast path.
- ``groups``: a positive int dividing both channel counts.
- ``out_hw = (Ho, Wo)``, ``in_hw = (H, W)``, ``kernel_hw = (Kh, Kw)``: sizes
  the op layer computed; kernels trust them.

With ``Cg = C_in // groups``, ``Og = C_out // groups`` and ``g = o // Og``:

conv2d(x, w, out_hw, stride, padding, dilation, groups) -> y
    x (N, H, W, C_in), w (Kh, Kw, Cg, C_out), y (N, Ho, Wo, C_out)::

        y[n, i, j, o] = sum_{a, b, c < Cg} x[n, i*sh + a*dh - pt, j*sw + b*dw - pl, g*Cg + c] * w[a, b, c, o]

    where x outside [0, H) x [0, W) reads as 0.

conv2d_transpose(dy, w, out_hw, stride, padding, dilation, groups) -> dx
    The adjoint of conv2d in x.  dy (N, Ho, Wo, C_out), w (Kh, Kw, Cg, C_out)
    (the very same filter array as conv2d's), dx (N, H, W, C_in) with
    (H, W) = out_hw::

        dx[n, h, v, g*Cg + c] = sum over (i, a) with i*sh + a*dh - pt == h,
                                     (j, b) with j*sw + b*dw - pl == v,
                                     o in group g   of   dy[n, i, j, o] * w[a, b, c, o]

    Rows/columns of dx that no (i, a) reaches are 0.

conv2d_filter_grad(x, dy, kernel_hw, stride, padding, dilation, groups) -> dw
    The adjoint of conv2d in w.  x (N, H, W, C_in), dy (N, Ho, Wo, C_out),
    dw (Kh, Kw, Cg, C_out)::

        dw[a, b, c, o] = sum_{n, i, j} x[n, i*sh + a*dh - pt, j*sw + b*dw - pl, g*Cg + c] * dy[n, i, j, o]

max_pool2d(x, out_hw, kernel_size, stride, padding, dilation) -> (y, argmax)
    x (N, H, W, C); y (N, Ho, Wo, C) of x's dtype; argmax (N, Ho, Wo, C) int64.
    The window of output (i, j) is the cells (i*sh + a*dh - pt, j*sw + b*dw - pl),
    a < kh, b < kw, visited in row-major order (a, then b); cells outside the
    input are padding and are never selected.  Over the in-bounds cells:
    y is the maximum and argmax the flat index ``h*W + w`` of the *first*
    maximum in visiting order.  If any cell is NaN, y is NaN and argmax points
    at the first NaN.  A window with no in-bounds cell gives y = -inf and
    argmax = -1.  (Equivalently: the first in-bounds cell is taken, and a later
    cell replaces the current one iff ``v > cur or (isnan(v) and not isnan(cur))``.)

max_pool2d_gather(t, argmax) -> out
    t (N, H, W, C), argmax (N, Ho, Wo, C) int64 -> out (N, Ho, Wo, C)::

        out[n, i, j, c] = t[n, argmax // W, argmax % W, c]   (0 where argmax == -1)

max_pool2d_scatter(g, argmax, in_hw) -> dx
    The adjoint of gather.  g (N, Ho, Wo, C), argmax (N, Ho, Wo, C) int64,
    dx (N, H, W, C) with (H, W) = in_hw: zeros, then for every (n, i, j, c)
    with argmax != -1: ``dx[n, argmax // W, argmax % W, c] += g[n, i, j, c]``.

avg_pool2d(x, out_hw, kernel_size, stride, padding, dilation) -> y
    x (N, H, W, C), y (N, Ho, Wo, C)::

        y[n, i, j, c] = (1 / (kh*kw)) * sum_{a < kh, b < kw} x[n, i*sh + a*dh - pt, j*sw + b*dw - pl, c]

    with x outside the input reading as 0 (padded cells count in the divisor).

avg_pool2d_transpose(g, in_hw, kernel_size, stride, padding, dilation) -> dx
    The adjoint of avg_pool2d.  g (N, Ho, Wo, C), dx (N, H, W, C)::

        dx[n, h, v, c] = (1 / (kh*kw)) * sum over (i, a), (j, b) with
                         i*sh + a*dh - pt == h and j*sw + b*dw - pl == v of g[n, i, j, c]

adaptive_max_pool2d(x, out_hw) -> (y, argmax)
    As max_pool2d, over PyTorch's adaptive bins: output (i, j) takes rows
    [floor(i*H/Ho), ceil((i+1)*H/Ho)) and columns [floor(j*W/Wo), ceil((j+1)*W/Wo)).
    (It landed in the reference backend first; the Cython kernel followed.)

Batch normalisation (``nabla/ops/norm.py``).  ``x`` has any rank >= 2 with the
channels last; its ``M`` rows are every other index (N*H*W for an NHWC batch).
Vectors (``gamma``, ``mean``, ...) are (C,); ``eps`` is a float >= 0; the
statistics are the *batch's* (biased variance), and
``r[c] = 1 / sqrt(var[c] + eps)``, ``xhat = (x - mean) * r``:

batch_norm(x, gamma, beta, eps) -> (y, mean, var)
    mean, var (C,) of x's dtype::

        mean[c] = sum_m x[m, c] / M,   var[c] = sum_m (x[m, c] - mean[c])**2 / M
        y[m, c] = (x[m, c] - mean[c]) * r[c] * gamma[c] + beta[c]

    (M = 0: mean and var are NaN.)  Sums are exact to float64 rounding for
    either dtype, and the same bits on any number of threads.

batch_norm_backward_reduce(x, dy, mean, var, eps) -> sums
    sums (2, C): ``sums[0, c] = sum_m dy[m, c] * xhat[m, c]`` (dgamma) and
    ``sums[1, c] = sum_m dy[m, c]`` (dbeta).

batch_norm_backward(x, gamma, dy, sums, mean, var, eps) -> dx
    dx of x's shape, the gradient of x through the batch statistics::

        dx[m, c] = gamma[c] * r[c] * (dy[m, c] - (sums[1, c] + xhat[m, c] * sums[0, c]) / M)

batch_norm_eval(x, mean, scale, beta) -> y
    Evaluation mode (the op computes ``scale = gamma / sqrt(running_var + eps)``)::

        y[m, c] = (x[m, c] - mean[c]) * scale[c] + beta[c]

Elementwise kernels (``nabla/ops/basic.py``), on arrays of any shape:

relu(x) -> y
    ``y = max(x, 0)``; a NaN stays NaN.  (Any real dtype: the op does not
    restrict it; the compiled kernel passes other dtypes than float32/float64 to
    NumPy's ``maximum``.)

relu_backward(g, x) -> dx
    ``dx = g * (1 if x > 0 else 0)``, g and x of one shape (an inf or NaN in g
    where x <= 0 gives NaN, as the product does).

add(x, y) -> out
    ``out = x + y`` for x and y of one shape and dtype.

channel_sum(x) -> s
    s (C,) for x (..., C) of rank >= 1: ``s[c] = sum over every other index of
    x[..., c]``, in float64, rounded once; the same bits on any number of threads.

matmul(x, y) -> out
    x (M, K), y (K, N) of one dtype, out (M, N): ``out[m, n] = sum_k x[m, k] * y[k, n]``.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
import warnings

__all__ = ["set_backend", "get_backend", "use_backend", "kernels", "kernel", "kernel_names", "backend_info",
           "register_backend", "PerformanceWarning", "BACKENDS"]


class PerformanceWarning(UserWarning):
    """A backend lacks a kernel, so the (slow) reference kernel runs instead."""

# Name -> module path (or a registered module object).  Modules are imported on
# first use, so the reference backend works even where the compiled extension
# is missing.  "checked" runs every kernel on two backends and compares them
# (nabla/_checked.py; see nabla.checked).
BACKENDS = {"cython": "nabla._kernels", "reference": "nabla.reference", "checked": "nabla._checked"}


def kernel_names() -> tuple:
    """The kernels the ops use: derived from the primitives that name one
    (``Primitive(..., kernel=...)``), not listed by hand."""
    from ._autodiff import PRIMITIVES
    return tuple(sorted({p.kernel for p in PRIMITIVES.values() if p.kernel}))

_default = "cython"
# ``use_backend`` overrides are per thread, so two threads can run different backends.
_local = threading.local()


def _check_name(name) -> str:
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of {sorted(BACKENDS)}")
    return name


_loaded: dict = {}


def _load(name: str):
    module = _loaded.get(name)
    if module is None:
        module = BACKENDS[name]
        if isinstance(module, str):
            try:
                module = importlib.import_module(module)
            except ImportError as e:
                if name != "cython":
                    raise
                raise ImportError(_cython_unavailable(e)) from e
        _loaded[name] = module
    return module


def _cython_unavailable(e: ImportError) -> str:
    return (f"nabla's Cython backend is unavailable: the compiled extension "
            f"(nabla._kernels) cannot be imported ({type(e).__name__}: {e}). It is built "
            f"when nabla is installed with a C compiler and OpenMP available (for example "
            f"`pip install --force-reinstall --no-binary nabla .` after installing gcc); "
            f"until then the 'reference' backend (pure NumPy, slower) is used.")


_warned: set = set()


def kernel(name: str):
    """The kernel ``name`` of the backend in effect.  A backend may lack a kernel
    (an op can land reference-first and get its compiled kernel later): the
    reference kernel is used then, with one :class:`PerformanceWarning` per
    backend and kernel."""
    backend = get_backend()
    fn = getattr(_load(backend), name, None)
    if fn is None:
        if (backend, name) not in _warned:
            _warned.add((backend, name))
            warnings.warn(f"backend {backend!r} has no kernel {name!r}; running the reference kernel instead",
                          PerformanceWarning, stacklevel=user_frame()[1])
        fn = getattr(_load("reference"), name)
    return fn


_NABLA_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_frame():
    """``(frame, level)``: the innermost frame outside the nabla package (None if
    there is none) and how far up it is from the caller (1 is the caller: a
    warning's ``stacklevel``).  Used to name the user's line in messages."""
    f, level = sys._getframe(1), 1
    while f is not None and f.f_code.co_filename.startswith(_NABLA_DIR):
        f, level = f.f_back, level + 1
    return f, level


def backend_info() -> dict:
    """Report which kernels each backend implements.

    Returns
    -------
    dict
        ``{backend: {kernel: bool}}``: for every registered backend (the checked
        backend aside, it has no kernels of its own) and every kernel the ops
        use, whether the backend has it.  A backend whose module cannot be
        imported (the Cython extension not built) reports ``False`` throughout.

    Notes
    -----
    A missing kernel is not an error: the op runs the reference kernel instead,
    with one :class:`~nabla.PerformanceWarning` per backend and kernel.  The
    kernel names come from the primitives that use them, not from a list kept
    by hand.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> info = nb.backend_info()
    >>> sorted(info["reference"])                      # every kernel the ops use
    ['adaptive_max_pool2d', 'add', 'avg_pool2d', ...]
    >>> all(info["reference"].values())                # the reference backend has them all
    True
    """
    names = kernel_names()
    out = {}
    for b in BACKENDS:
        if b == "checked":
            continue
        try:
            module = _load(b)
        except ImportError:  # e.g. the compiled extension is not built
            out[b] = {k: False for k in names}
            continue
        out[b] = {k: callable(getattr(module, k, None)) for k in names}
    return out


def register_backend(name: str, module) -> None:
    """Add a backend: ``module`` (a module, or any object) has kernels of the
    contract above as callables (those it lacks fall back to the reference,
    with a :class:`PerformanceWarning`).  Used to plug in another
    implementation, or, in tests, a deliberately broken one for checked mode."""
    if not isinstance(name, str) or not name or name == "checked":
        raise ValueError(f"register_backend: invalid backend name {name!r}")
    present = [k for k in kernel_names() if callable(getattr(module, k, None))]
    if not present:
        raise TypeError(f"register_backend: {name!r} has none of the kernels {list(kernel_names())}")
    BACKENDS[name] = module
    _loaded[name] = module


def set_backend(name: str) -> None:
    """Choose the backend, the set of kernels the ops run, for all threads.

    Parameters
    ----------
    name : {"cython", "reference", "checked"}
        ``"cython"`` (fast, the default), ``"reference"`` (pure Python + NumPy,
        reads like the formulas) or ``"checked"`` (both, compared at every
        kernel: see :func:`nabla.checked`); or a backend registered under
        another name.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        An unknown name (the message lists the known ones).
    ImportError
        The backend's module cannot be imported (``"cython"`` when the
        extension is not built).

    Notes
    -----
    The choice holds in every thread, except inside a :func:`use_backend`
    block, which takes precedence in its own thread.  The default at import is
    ``"cython"``, or the value of the environment variable ``NABLA_BACKEND``.
    The backend is looked up at each kernel call, derivative rules' included.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> old = nb.get_backend()
    >>> nb.set_backend("reference")
    >>> nb.get_backend()
    'reference'
    >>> nb.set_backend(old)
    """
    global _default
    _load(_check_name(name))
    _observe(_default, -1)
    _default = name
    _observe(name, +1)


def get_backend() -> str:
    """Return the name of the backend in effect in this thread.

    Returns
    -------
    str
        The innermost :func:`use_backend` block's backend in this thread, else
        the one :func:`set_backend` chose (by default ``"cython"``, or
        ``NABLA_BACKEND``).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> with nb.use_backend("reference"):
    ...     nb.get_backend()
    'reference'
    """
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else _default


@contextlib.contextmanager
def use_backend(name: str):
    """Run a block with another backend, in this thread only (a context manager).

    Parameters
    ----------
    name : {"cython", "reference", "checked"}
        As :func:`set_backend`.

    Returns
    -------
    context manager
        Entering it switches this thread to ``name`` (it yields ``None``);
        leaving it, even by an exception, switches back.

    Raises
    ------
    ValueError
        An unknown name, when the block is entered.
    ImportError
        The backend's module cannot be imported.

    Notes
    -----
    Blocks nest, and other threads keep their own backend (the overrides are
    per thread), so two threads can run different backends at once.  The
    backend is looked up at each kernel call: a pullback (:func:`vjp`) called
    after the block runs on the backend in effect then.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.ones((1, 4, 4, 1), np.float32)
    >>> w = np.ones((3, 3, 1, 1), np.float32)
    >>> with nb.use_backend("reference"):
    ...     y_ref = nb.conv2d(x, w)
    ...     with nb.use_backend("cython"):
    ...         y_fast = nb.conv2d(x, w)
    >>> np.array_equal(y_ref.numpy(), y_fast.numpy())
    True
    """
    _load(_check_name(name))
    stack = _local.__dict__.setdefault("stack", [])
    stack.append(name)
    _observe(name, +1)
    try:
        yield
    finally:
        _observe(name, -1)
        stack.pop()


def _observe(name: str, delta: int) -> None:
    """Checked mode names the op and the user's line of each kernel it compares,
    which needs the evaluation seat's descriptions: while a "checked" backend is
    in effect, a no-op hook keeps them on."""
    if name == "checked":
        from . import _checked
        _checked.observe(delta)


def kernels():
    """The kernel module of the backend in effect (ops use :func:`kernel`, which falls back)."""
    return _load(get_backend())


# An install without a C compiler has no compiled extension (setup.py marks it
# optional): say so once, at import, and default to the reference backend.
try:
    _load("cython")
except ImportError as _e:
    import warnings
    warnings.warn(str(_e), RuntimeWarning, stacklevel=2)
    _default = "reference"

_env = os.environ.get("NABLA_BACKEND")
if _env:
    try:
        _default = _check_name(_env)
    except ValueError as e:
        raise ValueError(f"NABLA_BACKEND: {e}") from None
    # NABLA_BACKEND=checked: observed from the first kernel on (nabla/__init__.py
    # calls _observe once the package is importable).
