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
place a debugging hook (profiler, checked mode, anomaly detection) sits.
"""
from __future__ import annotations

import itertools

import numpy as np

from ._pytree import first_difference, tree_flatten, tree_map
from ._tensor import Tensor, asarray

__all__ = ["Primitive", "vjp", "jvp", "grad", "value_and_grad", "stop_gradient"]

_trace_ids = itertools.count(1)

# Callables ``hook(prim, arrays, params, result)`` run after every kernel
# evaluation; a hook may raise to stop the computation (anomaly detection).
_eval_hooks: list = []


class Primitive:
    """A differentiable operation on arrays.

    ``impl(*arrays, **params)`` computes the result on concrete NumPy arrays and
    returns an ndarray, or, when ``has_aux`` is set, ``(ndarray, aux_dict)``
    where ``aux_dict`` holds non-differentiable arrays (e.g. max pooling's
    argmax) that the derivative rules receive as extra keyword parameters.

    Rules, one per positional argument (``None``: not differentiable there)::

        vjp_rule(g, ans, *args, **params) -> cotangent of that argument
        jvp_rule(t, ans, *args, **params) -> tangent of the output caused by
                                             tangent ``t`` of that argument

    ``args`` and ``ans`` are the primal tensors, one trace level down.
    """

    def __init__(self, name: str, impl, *, has_aux: bool = False, doc: str | None = None):
        self.name = name
        self.__doc__ = doc or f"The nabla primitive ``{name}``."
        self.impl = impl
        self.has_aux = has_aux
        self.vjp_rules: tuple = ()
        self.jvp_rules: tuple = ()

    def __repr__(self):
        return f"<primitive {self.name}>"

    def defvjp(self, *rules):
        self.vjp_rules = rules
        return self

    def defjvp(self, *rules):
        self.jvp_rules = rules
        return self

    def deflinear(self, transpose):
        """Declare the primitive linear in its first argument.

        Its JVP is the primitive itself applied to the tangent, and its VJP is
        ``transpose(g, **params)``."""
        self.vjp_rules = (lambda g, ans, x, **p: transpose(g, **p),)
        self.jvp_rules = (lambda t, ans, x, **p: self(t, **p),)
        return self

    def __call__(self, *args, **params) -> Tensor:
        return bind(self, [asarray(a) for a in args], params)[0]


def _evaluate(prim: Primitive, arrays, params):
    """Run a primitive on concrete arrays: the single place kernels are called."""
    result = prim.impl(*arrays, **params)
    out, aux = result if prim.has_aux else (result, {})
    for hook in _eval_hooks:
        hook(prim, arrays, params, out)
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

    __slots__ = ("prim", "args", "ans", "params", "parents")

    def __init__(self, prim, args, ans, params, parents):
        self.prim, self.args, self.ans, self.params, self.parents = prim, args, ans, params, parents


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
                if i >= len(prim.vjp_rules) or prim.vjp_rules[i] is None:
                    raise TypeError(f"{prim.name} is not differentiable in argument {i}")
                parents.append((i, a._aux))
        return Tensor._traced(out, self, _Node(prim, primals, out, params, tuple(parents)))


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
        for i, parent in node.parents:
            contrib = node.prim.vjp_rules[i](ct, node.ans, *node.args, **node.params)
            prev = cts.get(id(parent))
            cts[id(parent)] = contrib if prev is None else prev + contrib
    grads = []
    for x in inputs:
        ct = cts.get(id(x._aux))
        grads.append(zeros_like(x._primal) if ct is None else ct)
    return grads


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
                if i >= len(prim.jvp_rules) or prim.jvp_rules[i] is None:
                    raise TypeError(f"{prim.name} is not differentiable in argument {i}")
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
def vjp(fn, *primals, has_aux: bool = False):
    """Reverse mode: evaluate ``fn(*primals)`` and return ``(out, pullback)``
    (and ``aux`` third when ``has_aux``).

    ``pullback(cotangent)`` takes a cotangent with the structure of ``out`` and
    returns a tuple with one cotangent per primal (each with that primal's
    structure), as JAX does.  The pullback is itself differentiable.
    """
    trace = _VJPTrace()
    primals = _as_tensors(list(primals), "vjp primals")
    in_leaves, in_rebuild = _flatten(primals)
    boxed = [trace.new_input(x) for x in in_leaves]
    result = fn(*in_rebuild(boxed))
    out, aux = _split_aux(result, has_aux, "vjp")
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


def jvp(fn, primals, tangents, has_aux: bool = False):
    """Forward mode: ``(fn(*primals), J @ tangents)`` (and ``aux`` third when ``has_aux``).

    ``primals`` and ``tangents`` are sequences of the same structure.
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


def value_and_grad(fun, argnums=0, has_aux: bool = False):
    """``fun`` -> a function returning ``(fun(*args), gradient)``; with
    ``has_aux``, ``((value, aux), gradient)``.  ``fun`` must return a scalar.
    ``argnums`` is an int (gradient has that argument's structure) or a
    tuple of ints (a tuple of gradients)."""
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


def grad(fun, argnums=0, has_aux: bool = False):
    """``fun`` -> its gradient function (``fun`` must return a scalar).  With
    ``has_aux``, the gradient function returns ``(gradient, aux)``."""
    vg = value_and_grad(fun, argnums, has_aux)

    def wrapped(*args):
        value, g = vg(*args)
        return (g, value[1]) if has_aux else g

    wrapped.__name__ = f"grad({getattr(fun, '__name__', 'fun')})"
    return wrapped


def stop_gradient(x) -> Tensor:
    """``x`` with every trace removed: a constant to all transforms."""
    return Tensor(asarray(x)._value)
