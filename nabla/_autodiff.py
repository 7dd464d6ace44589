"""Automatic differentiation: primitives, traces, and the transforms.

The design is that of HIPS autograd (and JAX's eager tracers):

* A :class:`Primitive` is a function on arrays (its ``impl``) plus one VJP rule
  and one JVP rule per differentiable argument.  Rules are written with
  differentiable nabla ops, never with raw kernels, so derivatives of
  derivatives come for free.
* A transform (``vjp`` or ``jvp``) opens a *trace* with a fresh, increasing
  id and wraps its inputs in tensors traced by it.  When a primitive is
  applied, :func:`bind` finds the innermost (highest-id) trace among the
  arguments, strips that one level, applies the primitive one level down
  (recursively), and lets the trace record the result: reverse mode records a
  graph node, forward mode computes the output tangent right away.
* Tensors traced by an outer transform are constants to an inner one.  That is
  what keeps nested transforms from confusing their perturbations:
  ``d/dx [x * d/dy (x + y)] = 1``.

Every kernel call in the library passes through :func:`_evaluate`, the one
place a debugging hook (profiler, checked mode, anomaly detection, a user's
own tool: ``nabla.debug.add_hook``) sits.  With no hook installed it costs one
list check; with hooks, each evaluation is described by an :class:`OpEvent`
(which op, forward or which derivative, the user's line that called it).
"""
from __future__ import annotations

import itertools
import os
import threading
import time
from typing import Callable

import numpy as np

from . import _backend
from ._backend import get_backend

from ._pytree import first_difference, tree_flatten, tree_map
from ._tensor import Tensor, asarray
from ._typing import ArrayLike

__all__ = ["Primitive", "PRIMITIVES", "not_differentiable", "vjp", "jvp", "grad", "value_and_grad",
           "stop_gradient"]

_trace_ids = itertools.count(1)

# Callables ``hook(event: OpEvent)`` run after every kernel evaluation; a hook
# may raise to stop the computation (anomaly detection).  See nabla.debug.
_eval_hooks: list = []

# Per thread: ``context``, a stack of (kind, of, site) saying which derivative
# rule is running (for events inside VJP/JVP rules), and ``event``, the
# evaluation in progress (for the checked backend's messages).
_local = threading.local()


def _user_site():
    """``(filename, lineno)`` of the innermost caller outside the nabla package."""
    f, _ = _backend.user_frame()
    return None if f is None else (f.f_code.co_filename, f.f_lineno)


def _where(site) -> str:
    """``"path:line"``, the path relative to the working directory when under it (as pytest shows it)."""
    if site is None:
        return "<unknown>"
    path = site[0]
    try:
        rel = os.path.relpath(path)
        path = path if rel.startswith(os.pardir) else rel
    except ValueError:  # another drive (Windows)
        pass
    return f"{path}:{site[1]}"


def _current_site():
    """The user line to blame now: inside a derivative rule, the line of the
    forward call that recorded it; elsewhere, the caller's line."""
    stack = getattr(_local, "context", None)
    return stack[-1][2] if stack else _user_site()


class _DerivativeContext:
    """While a VJP/JVP rule runs (only when hooks are installed): events inside it
    are derivatives of ``of``, blamed on ``site``."""

    __slots__ = ("entry",)

    def __init__(self, kind, of, site):
        self.entry = (kind, of, site)

    def __enter__(self):
        _local.__dict__.setdefault("context", []).append(self.entry)

    def __exit__(self, *exc):
        _local.context.pop()


class OpEvent:
    """One evaluation of a primitive, as hooks see it.

    Attributes: ``op`` (the primitive's name, e.g. ``"conv2d_transpose"``),
    ``kind`` (``"forward"``, ``"vjp"`` or ``"jvp"``), ``of`` (for a derivative:
    the op whose rule it belongs to, e.g. ``"conv2d"``), ``site`` (``(file,
    line)`` of the user code that called the forward op), ``backend``,
    ``inputs`` (the arrays), ``params`` (keyword parameters), ``output``
    (ndarray), ``aux`` (auxiliary outputs, e.g. ``{"argmax": ...}``) and
    ``seconds`` (time in the kernel).
    """

    __slots__ = ("op", "kind", "of", "site", "backend", "inputs", "params", "output", "aux", "seconds")

    def __init__(self, op, kind, of, site, backend, inputs, params):
        self.op, self.kind, self.of, self.site, self.backend = op, kind, of, site, backend
        self.inputs, self.params = inputs, params
        self.output = self.aux = self.seconds = None

    @property
    def where(self) -> str:
        """``"file.py:42"`` (the user's call), or ``"<unknown>"``."""
        return _where(self.site)

    def describe(self) -> str:
        """E.g. ``"conv2d_transpose (in the VJP of conv2d called at model.py:12)"``."""
        if self.kind == "forward":
            return f"{self.op} (forward, called at {self.where})"
        return f"{self.op} (in the {self.kind.upper()} of {self.of} called at {self.where})"

    def __repr__(self):
        shapes = ", ".join(str(tuple(a.shape)) for a in self.inputs)
        return f"<OpEvent {self.describe()}: inputs {shapes} on {self.backend!r}>"


PRIMITIVES: dict = {}  # name -> Primitive: every primitive of the library, registered on creation


class _NotDifferentiable:
    """The rule of an argument that has no derivative (a mask, an index, a constant)."""

    def __repr__(self):
        return "not_differentiable"


not_differentiable = _NotDifferentiable()


class Primitive:
    """A differentiable operation on arrays: the one door of an op.

    Its computation is either a backend **kernel** (``kernel="avg_pool2d"``:
    looked up in the backend in effect at each call, the arrays made
    C-contiguous first; a backend without that kernel falls back to the
    reference one with a :class:`~nabla.PerformanceWarning`) or a NumPy
    ``impl(*arrays, **params)`` that every backend shares.  A kernel that
    returns a tuple names its extra outputs in ``aux`` (``aux=("argmax",)``);
    an ``impl`` with ``has_aux`` returns ``(ndarray, aux_dict)``.  Auxiliary
    outputs are not differentiable; the derivative rules receive them as extra
    keyword parameters.

    Rules, one per positional argument (``nargs`` of them;
    :data:`not_differentiable` where there is none)::

        vjp_rule(g, ans, *args, **params) -> cotangent of that argument
        jvp_rule(t, ans, *args, **params) -> tangent of the output caused by
                                             tangent ``t`` of that argument

    ``args`` and ``ans`` are the primal tensors, one trace level down.  Most
    primitives need neither by hand: :meth:`deflinear` and :meth:`defbilinear`
    derive both modes from the transposes, as JAX does.  Where the cotangents
    of several arguments share their work (batch norm's), :meth:`defvjp_joint`
    gives one rule for all of them.
    """

    def __init__(self, name: str, impl=None, *, kernel: str | None = None, nargs: int = 1,
                 aux: tuple = (), has_aux: bool = False, doc: str | None = None):
        if (impl is None) == (kernel is None):
            raise TypeError(f"Primitive {name!r}: give exactly one of impl and kernel")
        if name in PRIMITIVES:
            raise ValueError(f"Primitive {name!r} already exists")
        self.name, self.impl, self.kernel, self.nargs = name, impl, kernel, nargs
        self.aux = tuple(aux)
        self.has_aux = has_aux or bool(self.aux)
        self.__doc__ = doc or f"The nabla primitive ``{name}``."
        self.vjp_rules: tuple = ()
        self.jvp_rules: tuple = ()
        self.vjp_joint: Callable | None = None
        PRIMITIVES[name] = self

    def __repr__(self):
        return f"<primitive {self.name}>"

    def _rules(self, rules, what):
        if len(rules) != self.nargs:
            raise TypeError(f"{self.name}.{what}: {len(rules)} rules for {self.nargs} arguments")
        return tuple(not_differentiable if r is None else r for r in rules)

    def defvjp(self, *rules):
        """One VJP rule per argument (``None``: not differentiable there)."""
        self.vjp_rules = self._rules(rules, "defvjp")
        return self

    def defvjp_joint(self, rule):
        """One VJP rule for every argument at once (HIPS autograd's ``defvjp_argnums``)::

            rule(g, ans, *args, argnums, **params) -> one cotangent per entry of argnums

        for the arguments ``argnums`` (a tuple of indices) that need one.  The
        reverse pass calls it once per node, so work the cotangents share (a
        reduction over the same arrays) is done once.  The per-argument rules
        are derived from it (``argnums=(i,)``)."""
        self.vjp_joint = rule
        self.vjp_rules = self._rules(tuple(
            (lambda g, ans, *args, _i=i, **params: rule(g, ans, *args, argnums=(_i,), **params)[0])
            for i in range(self.nargs)), "defvjp_joint")
        return self

    def defjvp(self, *rules):
        """One JVP rule per argument (``None``: not differentiable there)."""
        self.jvp_rules = self._rules(rules, "defjvp")
        return self

    def deflinear(self, transpose):
        """Declare the primitive linear in its one argument ``x``.

        Its JVP is the primitive applied to the tangent; its VJP is
        ``transpose(g, x, **params)``, which receives the primal ``x`` for its
        shape (as JAX's transpose rules receive the abstract primal)."""
        self.vjp_rules = self._rules((lambda g, ans, x, **p: transpose(g, x, **p),), "deflinear")
        self.jvp_rules = (lambda t, ans, x, **p: self(t, **p),)
        return self

    def defbilinear(self, lhs_transpose, rhs_transpose):
        """Declare the primitive bilinear in its two arguments ``(x, y)`` (JAX's
        ``defbilinear``): the JVP is ``f(tx, y) + f(x, ty)``, and the VJPs are
        ``lhs_transpose(g, x, y, **params)`` and ``rhs_transpose(g, x, y, **params)``."""
        self.vjp_rules = self._rules((lambda g, ans, x, y, **p: lhs_transpose(g, x, y, **p),
                                      lambda g, ans, x, y, **p: rhs_transpose(g, x, y, **p)), "defbilinear")
        self.jvp_rules = (lambda t, ans, x, y, **p: self(t, y, **p), lambda t, ans, x, y, **p: self(x, t, **p))
        return self

    def nondifferentiable(self):
        """Declare that no argument has a derivative (the output is a constant: a mask, weights)."""
        self.vjp_rules = self.jvp_rules = (not_differentiable,) * self.nargs
        return self

    def __call__(self, *args, **params) -> Tensor:
        return bind(self, [asarray(a) for a in args], params)[0]


def _kernel_array(a: np.ndarray) -> np.ndarray:
    """``a`` as kernels take it: C-contiguous, and aligned to its item size (a
    buffer such as ``np.frombuffer(b, np.float32, offset=1)`` is copied: C code
    must not load through a misaligned pointer)."""
    a = np.ascontiguousarray(a)
    return a if a.flags.aligned else a.copy()


def _run(prim: Primitive, arrays, params):
    """The computation itself: the backend's kernel, or the shared NumPy impl."""
    if prim.kernel is None:
        result = prim.impl(*arrays, **params)
        return result if prim.has_aux else (result, {})
    params = {k: _kernel_array(v) if isinstance(v, np.ndarray) else v for k, v in params.items()}
    result = _backend.kernel(prim.kernel)(*[_kernel_array(a) for a in arrays], **params)
    if prim.aux:
        return result[0], dict(zip(prim.aux, result[1:]))
    return result, {}


def _evaluate(prim: Primitive, arrays, params):
    """Run a primitive on concrete arrays: the single place kernels are called."""
    if _eval_hooks:
        return _evaluate_observed(prim, arrays, params)
    out, aux = _run(prim, arrays, params)
    return Tensor(out), aux


def _evaluate_observed(prim: Primitive, arrays, params):
    """``_evaluate`` with hooks installed: time the kernel and describe it to each hook."""
    stack = getattr(_local, "context", None)
    kind, of, site = stack[-1] if stack else ("forward", None, _user_site())
    event = OpEvent(prim.name, kind, of, site, get_backend(), arrays, params)
    outer, _local.event = getattr(_local, "event", None), event
    try:
        t0 = time.perf_counter()
        out, aux = _run(prim, arrays, params)
        event.seconds = time.perf_counter() - t0
    finally:
        _local.event = outer
    event.output, event.aux = out, aux
    for hook in list(_eval_hooks):
        hook(event)
    return Tensor(out), aux


def bind(prim: Primitive, args, params):
    """Apply ``prim`` to tensors ``args``; returns ``(output tensor, aux dict)``."""
    top = None
    for a in args:
        if a._trace is not None and (top is None or a._trace.id > top.id):
            top = a._trace
    if top is None:
        return _evaluate(prim, [a._value for a in args], params)
    primals = [a._primal if a._trace is top else a for a in args]
    out, aux = bind(prim, primals, params)
    return top.process(prim, args, primals, out, {**params, **aux}), aux


# ----------------------------------------------------------------- reverse mode
class _Node:
    """A vertex of the reverse-mode graph: how one traced tensor was made."""

    __slots__ = ("prim", "args", "ans", "params", "parents", "site")

    def __init__(self, prim, args, ans, params, parents, site=None):
        self.prim, self.args, self.ans, self.params, self.parents = prim, args, ans, params, parents
        self.site = site  # the user's line of the forward call, recorded while hooks are installed


class _VJPTrace:
    def __init__(self):
        self.id = next(_trace_ids)

    def __repr__(self):
        return f"vjp#{self.id}"

    def new_input(self, x: Tensor) -> Tensor:
        return Tensor._traced(x, self, _Node(None, (), x, {}, ()))

    def process(self, prim, args, primals, out, params):
        parents = []
        for i, a in enumerate(args):
            if a._trace is self:
                if i >= len(prim.vjp_rules) or prim.vjp_rules[i] is not_differentiable:
                    raise TypeError(f"{prim.name} is not differentiable in argument {i}")
                parents.append((i, a._aux))
        site = _current_site() if _eval_hooks else None
        return Tensor._traced(out, self, _Node(prim, primals, out, params, tuple(parents), site))


def _toposort(root: _Node):
    """Nodes reachable from ``root``, each after every node that uses it."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((parent, False) for _, parent in node.parents if id(parent) not in seen)
    return order[::-1]


def _backward(out: Tensor, trace: _VJPTrace, g: Tensor, inputs):
    """Propagate cotangent ``g`` of ``out`` back to the leaf nodes of ``inputs``."""
    if out._trace is not trace:  # output does not depend on any input
        return [zeros_like(x) for x in inputs]
    cts = {id(out._aux): g}
    for node in _toposort(out._aux):
        ct = cts.pop(id(node), None)
        if ct is None or node.prim is None:
            if node.prim is None and ct is not None:
                cts[id(node)] = ct  # leaf: keep it for the caller
            continue
        if _eval_hooks:
            with _DerivativeContext("vjp", node.prim.name, node.site):
                contribs = _node_vjps(node, ct)
        else:
            contribs = _node_vjps(node, ct)
        for (_, parent), contrib in zip(node.parents, contribs):
            prev = cts.get(id(parent))
            cts[id(parent)] = contrib if prev is None else prev + contrib
    grads = []
    for x in inputs:
        ct = cts.get(id(x._aux))
        grads.append(zeros_like(x._primal) if ct is None else ct)
    return grads


def _node_vjps(node: _Node, ct: Tensor) -> list:
    """The cotangents of a node's traced arguments, in ``node.parents`` order: one
    call of its joint rule, or one rule per argument."""
    prim = node.prim
    if prim.vjp_joint is not None:
        argnums = tuple(i for i, _ in node.parents)
        return list(prim.vjp_joint(ct, node.ans, *node.args, argnums=argnums, **node.params))
    return [prim.vjp_rules[i](ct, node.ans, *node.args, **node.params) for i, _ in node.parents]


def zeros_like(x: Tensor) -> Tensor:
    return Tensor(np.zeros(x.shape, x.dtype))


# ----------------------------------------------------------------- forward mode
class _JVPTrace:
    def __init__(self):
        self.id = next(_trace_ids)

    def __repr__(self):
        return f"jvp#{self.id}"

    def new_input(self, x: Tensor, t: Tensor) -> Tensor:
        return Tensor._traced(x, self, t)

    def process(self, prim, args, primals, out, params):
        tangent = None
        for i, a in enumerate(args):
            if a._trace is self:
                if i >= len(prim.jvp_rules) or prim.jvp_rules[i] is not_differentiable:
                    raise TypeError(f"{prim.name} is not differentiable in argument {i}")
                if _eval_hooks:
                    with _DerivativeContext("jvp", prim.name, _current_site()):
                        t = prim.jvp_rules[i](a._aux, out, *primals, **params)
                else:
                    t = prim.jvp_rules[i](a._aux, out, *primals, **params)
                tangent = t if tangent is None else tangent + t
        return Tensor._traced(out, self, tangent)


# -------------------------------------------------------------------- pytrees
def _flatten(tree):
    """Leaves of a pytree, and a function that rebuilds the tree from new leaves."""
    leaves, treedef = tree_flatten(tree)
    return leaves, treedef.unflatten


def _as_tensors(tree, what):
    def conv(leaf):
        try:
            return asarray(leaf)
        except TypeError as e:
            raise TypeError(f"{what}: every leaf must be a tensor or array, got {type(leaf).__name__}") from e
    return tree_map(conv, tree)


def _split_aux(result, has_aux, fname):
    if not has_aux:
        return result, None
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise ValueError(f"{fname}(has_aux=True): the function must return a pair (output, aux)")
    return result[0], result[1]


# ----------------------------------------------------------------- transforms
def vjp(fn: Callable, *primals, has_aux: bool = False):
    r"""Evaluate ``fn(*primals)`` and return it with its pullback (reverse mode).

    Parameters
    ----------
    fn : callable
        ``fn(*primals) -> out``: a pytree of tensors; with ``has_aux``, a pair
        ``(out, aux)``.
    *primals : pytrees of Tensor or array_like
        The point to differentiate at, one per positional argument of ``fn``.
        Every leaf is converted with :func:`nabla.asarray` (Python floats
        become float32).
    has_aux : bool
        ``fn`` returns ``(out, aux)``; ``aux`` is not differentiated and comes
        back third, with its tensors outside the transform.

    Returns
    -------
    out : pytree of Tensor
        ``fn(*primals)`` (its first element with ``has_aux``).
    pullback : callable
        ``pullback(cotangent) -> tuple``: ``cotangent`` has ``out``'s structure
        and shapes (each leaf is converted to its output's dtype); the tuple holds
        one cotangent per primal, each with that primal's structure.
    aux : pytree
        Only with ``has_aux``.

    Raises
    ------
    TypeError
        A leaf of ``primals`` or of the output that is not a tensor or array; an
        op of ``fn`` that is not differentiable in the traced argument.
    ValueError
        With ``has_aux``, an ``fn`` that does not return a pair; from
        ``pullback``, a cotangent with another number of leaves or another shape
        than ``out``.

    Notes
    -----
    With :math:`J` the Jacobian of ``fn`` at ``primals``, the pullback maps a
    cotangent :math:`v` to

    .. math::

        v \mapsto v^\top J = (J^\top v)^\top,

    one evaluation of ``fn`` serving any number of cotangents.  JAX's
    convention (``jax.vjp``): a tuple with one entry per primal, even for one
    primal.  The pullback is itself differentiable (nest it in another
    transform for higher derivatives); calling it again reuses the recorded
    graph.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.array([1., 2., 3.], np.float32)
    >>> y, pullback = nb.vjp(lambda x: x ** 2, x)
    >>> y
    Tensor([1., 4., 9.], dtype=float32)
    >>> pullback(np.ones(3, np.float32))          # 2 x * 1
    (Tensor([2., 4., 6.], dtype=float32),)
    """
    trace = _VJPTrace()
    primals = _as_tensors(list(primals), "vjp primals")
    in_leaves, in_rebuild = _flatten(primals)
    boxed = [trace.new_input(x) for x in in_leaves]
    result = fn(*in_rebuild(boxed))
    out, aux = _split_aux(result, has_aux, "vjp")
    if has_aux:
        aux = _lower_tree(aux, trace)
    out = _as_tensors(out, "vjp output")
    out_leaves, out_rebuild = _flatten(out)
    out_primals = out_rebuild([_lower(o, trace) for o in out_leaves])

    def pullback(cotangent):
        ct_leaves, _ = _flatten(cotangent)
        if len(ct_leaves) != len(out_leaves):
            raise ValueError(
                f"pullback: expected a cotangent with {len(out_leaves)} leaves, got {len(ct_leaves)}")
        total = None
        for o, ct in zip(out_leaves, ct_leaves):
            ct = asarray(ct, dtype=o.dtype)
            if ct.shape != o.shape:
                raise ValueError(f"pullback: cotangent shape {ct.shape} does not match output shape {o.shape}")
            grads = _backward(o, trace, ct, boxed)
            total = grads if total is None else [a + b for a, b in zip(total, grads)]
        return tuple(in_rebuild(total))

    return (out_primals, pullback) if not has_aux else (out_primals, pullback, aux)


def _lower(t: Tensor, trace) -> Tensor:
    """``t`` with ``trace``'s level stripped (if it is traced by it)."""
    return t._primal if t._trace is trace else t


def _lower_tree(tree, trace):
    """``tree`` with ``trace``'s level stripped from every tensor leaf (aux outputs
    leave the transform as plain values of the level below, as in JAX)."""
    return tree_map(lambda a: _lower(a, trace) if isinstance(a, Tensor) else a, tree)


def jvp(fn: Callable, primals: tuple | list, tangents: tuple | list, has_aux: bool = False):
    r"""Evaluate ``fn(*primals)`` and its directional derivative along ``tangents`` (forward mode).

    Parameters
    ----------
    fn : callable
        ``fn(*primals) -> out``: a pytree of tensors; with ``has_aux``, a pair
        ``(out, aux)``.
    primals : tuple or list of pytrees
        The point, one entry per positional argument of ``fn``; leaves are
        converted with :func:`nabla.asarray`.
    tangents : tuple or list of pytrees
        ``primals``'s structure and shapes; each leaf is converted to its
        primal's dtype.
    has_aux : bool
        ``fn`` returns ``(out, aux)``; ``aux`` is not differentiated and comes
        back third.

    Returns
    -------
    out : pytree of Tensor
        ``fn(*primals)``.
    tangent_out : pytree of Tensor
        ``J @ tangents``, with ``out``'s structure (zeros for an output that
        does not depend on the primals).
    aux : pytree
        Only with ``has_aux``.

    Raises
    ------
    TypeError
        ``primals`` or ``tangents`` not a tuple or list, a leaf that is not a
        tensor or array, an op of ``fn`` that is not differentiable in the
        traced argument.
    ValueError
        ``primals`` and ``tangents`` of different structures (the message names
        the first difference) or shapes; with ``has_aux``, an ``fn`` that does
        not return a pair.

    Notes
    -----
    With :math:`J` the Jacobian of ``fn`` at ``primals`` and :math:`t` the
    tangents (flattened and stacked),

    .. math::

        \mathrm{tangent\_out} = J\, t = \lim_{\varepsilon \to 0}
            \frac{\mathrm{fn}(\mathrm{primals} + \varepsilon t) - \mathrm{fn}(\mathrm{primals})}{\varepsilon},

    computed alongside ``fn`` (no graph is kept).  JAX's convention
    (``jax.jvp(fun, primals, tangents, has_aux)``).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.array([1., 2., 3.], np.float32)
    >>> nb.jvp(lambda x: x ** 2, (x,), (np.ones(3, np.float32),))   # (x**2, 2 x * 1)
    (Tensor([1., 4., 9.], dtype=float32), Tensor([2., 4., 6.], dtype=float32))
    """
    if not isinstance(primals, (list, tuple)) or not isinstance(tangents, (list, tuple)):
        raise TypeError("jvp: primals and tangents must be tuples or lists (one entry per argument)")
    primals = _as_tensors(list(primals), "jvp primals")
    tangents = _as_tensors(list(tangents), "jvp tangents")
    p_leaves, p_def = tree_flatten(primals)
    t_leaves, t_def = tree_flatten(tangents)
    if p_def != t_def:
        raise ValueError("jvp: primals and tangents must have the same structure; first difference at "
                         f"{first_difference(primals, tangents)}")
    rebuild = p_def.unflatten
    for p, t in zip(p_leaves, t_leaves):
        if p.shape != t.shape:
            raise ValueError(f"jvp: tangent shape {t.shape} does not match primal shape {p.shape}")
    trace = _JVPTrace()
    boxed = [trace.new_input(p, asarray(t, dtype=p.dtype)) for p, t in zip(p_leaves, t_leaves)]
    result = fn(*rebuild(boxed))
    out, aux = _split_aux(result, has_aux, "jvp")
    aux = _lower_tree(aux, trace)
    out = _as_tensors(out, "jvp output")
    o_leaves, o_rebuild = _flatten(out)
    outs = o_rebuild([_lower(o, trace) for o in o_leaves])
    tans = o_rebuild([o._aux if o._trace is trace else zeros_like(o) for o in o_leaves])
    return (outs, tans) if not has_aux else (outs, tans, aux)


def value_and_grad(fun: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    r"""Make a function that returns ``fun``'s value and its gradient, from one evaluation.

    Parameters
    ----------
    fun : callable
        Returns a tensor of one element (a scalar loss); with ``has_aux``, a
        pair ``(scalar, aux)``.
    argnums : int or tuple of ints
        Which positional arguments to differentiate (negative counts from the
        end).  An int: the gradient has that argument's structure (a pytree of
        tensors for a pytree argument).  A tuple: a tuple of such gradients.
    has_aux : bool
        ``fun`` returns ``(scalar, aux)``; ``aux`` is not differentiated.

    Returns
    -------
    callable
        Takes ``fun``'s arguments and returns ``(value, gradient)``, or
        ``((value, aux), gradient)`` with ``has_aux``.

    Raises
    ------
    ValueError
        When the returned function is called: an output with more than one
        element, an ``argnums`` out of range or not an int, with ``has_aux`` an
        output that is not a pair.
    TypeError
        When it is called: as :func:`vjp` (an argument leaf that is not a tensor
        or array, a non-differentiable op in the path).

    Notes
    -----
    One :func:`vjp` with cotangent 1: for :math:`f : \mathbb{R}^n \to \mathbb{R}`,

    .. math::

        \nabla f(x) = J_f(x)^\top \cdot 1.

    JAX's convention (``jax.value_and_grad(fun, argnums, has_aux)``).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.array([1., 2., 3.], np.float32)
    >>> nb.value_and_grad(lambda x: (x ** 2).sum())(x)
    (Tensor(14., dtype=float32), Tensor([2., 4., 6.], dtype=float32))
    >>> params = {"w": x, "b": np.float32(0.5)}
    >>> value, g = nb.value_and_grad(lambda p: (p["w"] * p["b"]).sum())(params)
    >>> g["b"], g["w"]                                  # the gradient has the argument's structure
    (Tensor(6., dtype=float32), Tensor([0.5, 0.5, 0.5], dtype=float32))
    """
    multi = isinstance(argnums, (tuple, list))
    nums = tuple(argnums) if multi else (argnums,)

    def wrapped(*args):
        for k in nums:
            if not isinstance(k, int) or not -len(args) <= k < len(args):
                raise ValueError(f"argnums={argnums!r} is out of range for {len(args)} positional arguments")
        nums_pos = [k % len(args) for k in nums]

        def partial(*diff):
            full = list(args)
            for k, d in zip(nums_pos, diff):
                full[k] = d
            return fun(*full)

        res = vjp(partial, *[args[k] for k in nums_pos], has_aux=has_aux)
        value, pullback = res[0], res[1]
        if not isinstance(value, Tensor) or value.size != 1:
            shape = getattr(value, "shape", type(value).__name__)
            raise ValueError(f"grad requires a scalar output, got a value of shape {shape}")
        grads = pullback(Tensor(np.ones(value.shape, value.dtype)))
        grads = grads if multi else grads[0]
        return ((value, res[2]) if has_aux else value), grads

    wrapped.__name__ = f"value_and_grad({getattr(fun, '__name__', 'fun')})"
    return wrapped


def grad(fun: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    r"""Make the gradient function of a scalar-valued function (reverse mode).

    Parameters
    ----------
    fun : callable
        Returns a tensor of one element (a scalar loss); with ``has_aux``, a
        pair ``(scalar, aux)``.
    argnums : int or tuple of ints
        Which positional arguments to differentiate (negative counts from the
        end).  An int: the gradient has that argument's structure.  A tuple: a
        tuple of gradients, one per entry.
    has_aux : bool
        ``fun`` returns ``(scalar, aux)``; the gradient function then returns
        ``(gradient, aux)``.

    Returns
    -------
    callable
        Takes ``fun``'s arguments and returns the gradient (each with its
        argument's shape and structure).

    Raises
    ------
    ValueError, TypeError
        When the returned function is called, as :func:`value_and_grad`: an
        output with more than one element, an ``argnums`` out of range, an
        argument leaf that is not a tensor or array.

    Notes
    -----
    .. math::

        \mathrm{grad}(f)(x) = \nabla f(x) = J_f(x)^\top \cdot 1

    from one :func:`vjp`.  JAX's convention (``jax.grad(fun, argnums,
    has_aux)``).  The gradient function is differentiable again: ``grad`` of
    ``grad`` gives second derivatives.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.array([1., 2., 3.], np.float32)
    >>> nb.grad(lambda x: (x ** 2).sum())(x)
    Tensor([2., 4., 6.], dtype=float32)
    >>> nb.grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(x, 2 * x)
    (Tensor([2., 4., 6.], dtype=float32), Tensor([1., 2., 3.], dtype=float32))
    >>> nb.grad(nb.grad(lambda x: x ** 3))(2.0)                  # 6 x
    Tensor(12., dtype=float32)
    """
    vg = value_and_grad(fun, argnums, has_aux)

    def wrapped(*args):
        value, g = vg(*args)
        return (g, value[1]) if has_aux else g

    wrapped.__name__ = f"grad({getattr(fun, '__name__', 'fun')})"
    return wrapped


def stop_gradient(x: ArrayLike) -> Tensor:
    r"""Return ``x`` as a constant: every transform sees a zero derivative through it.

    Parameters
    ----------
    x : Tensor or array_like

    Returns
    -------
    Tensor
        ``x``'s values and dtype, with every trace removed (the same array, no copy).

    Raises
    ------
    TypeError
        An input :func:`nabla.asarray` refuses (an unsupported dtype).

    Notes
    -----
    The identity in value with zero derivative: :math:`\partial\, \mathrm{sg}(x) / \partial x = 0`,
    in both modes and at every nesting level (JAX's ``lax.stop_gradient``,
    PyTorch's ``Tensor.detach``).

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> x = np.array([1., 2., 3.], np.float32)
    >>> nb.grad(lambda x: (x * nb.stop_gradient(x)).sum())(x)   # d/dx (x * c) = c = x, not 2 x
    Tensor([1., 2., 3.], dtype=float32)
    """
    return Tensor(asarray(x)._value)
