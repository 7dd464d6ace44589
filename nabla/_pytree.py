"""Pytrees: nested containers whose leaves are tensors.

The transforms (``grad``, ``vjp``, ``jvp``, ``value_and_grad``), ``tree_map``,
the gradient checker, ``nabla.nn.Module`` and the optimizers all take their
arguments as pytrees, with JAX's rules and names (``jax.tree_util``):

* ``list``, ``tuple``, ``dict`` (keys sorted, as JAX does, so two dicts with
  the same keys have the same structure whatever their insertion order),
  ``NamedTuple`` instances and ``dataclasses.dataclass`` instances are nodes;
* ``None`` is a node with no children: it is kept as structure, never a leaf
  (so ``{"w": w, "b": None}`` round-trips and maps to ``{"w": f(w), "b": None}``);
* any class can be made a node with :func:`register_pytree_node`
  (``nabla.nn.Module`` is registered that way);
* everything else is a leaf.

A :class:`PyTreeDef` records the structure; two structures are equal when they
have the same node types, keys and auxiliary data at every position.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

__all__ = [
    "PyTreeDef", "register_pytree_node", "tree_flatten", "tree_unflatten", "tree_leaves",
    "tree_structure", "tree_map", "tree_flatten_with_path", "keystr",
]


class _NodeType(NamedTuple):
    flatten: Callable[[Any], tuple[Iterable[Any], Any]]   # node -> (children, aux_data)
    unflatten: Callable[[Any, list[Any]], Any]            # (aux_data, children) -> node
    keys: Callable[[Any, Any], list[str]]                 # (node, aux_data) -> one path entry per child


def _index_keys(node: Any, aux: Any) -> list[str]:
    return [f"[{i}]" for i in range(len(node))]


_registry: dict[type, _NodeType] = {}


# Types already found to be leaves (the answer depends on the type alone), so the
# common leaves (tensors, arrays, floats) skip the NamedTuple and dataclass tests;
# register_pytree_node takes a type out again.
_leaf_types: set[type] = set()


def register_pytree_node(nodetype: type, flatten_func: Callable[[Any], tuple[Iterable[Any], Any]],
                         unflatten_func: Callable[[Any, list[Any]], Any], *,
                         keys_func: Callable[[Any, Any], list[str]] | None = None) -> None:
    """Make the instances of a class pytree nodes, so that transforms and ``tree_map`` see inside them.

    Parameters
    ----------
    nodetype : type
        The class (exactly this class: subclasses are not included).
    flatten_func : callable
        ``flatten_func(node) -> (children, aux_data)``: ``children`` an iterable
        of sub-trees, ``aux_data`` static data kept in the structure (compared
        with ``==`` when structures are compared, so hashable or at least
        comparable).
    unflatten_func : callable
        ``unflatten_func(aux_data, children) -> node`` rebuilds a node (also
        from children that are not the original leaves: gradients, tracers).
    keys_func : callable, optional
        ``keys_func(node, aux_data) -> list of str`` names the children in error
        messages and paths, e.g. ``[".weight", ".bias"]``; the default is
        ``[0]``, ``[1]``, ...

    Returns
    -------
    None

    Raises
    ------
    TypeError
        ``nodetype`` is not a class.
    ValueError
        ``nodetype`` is already registered (the built-in containers among them).

    Notes
    -----
    JAX's ``jax.tree_util.register_pytree_node(nodetype, flatten_func,
    unflatten_func)``; ``keys_func`` stands in for JAX's key paths
    (``register_pytree_with_keys``).  ``nabla.nn.Module`` is registered this
    way.  NamedTuples and dataclasses need no registration.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> class Point:
    ...     def __init__(self, x, y):
    ...         self.x, self.y = x, y
    >>> nb.register_pytree_node(Point, lambda p: ((p.x, p.y), None), lambda aux, ch: Point(*ch),
    ...                         keys_func=lambda p, aux: [".x", ".y"])
    >>> nb.tree_structure(Point(1.0, 2.0))
    PyTreeDef(Point(*, *))
    >>> q = nb.tree_map(lambda v: 10 * v, Point(1.0, 2.0))
    >>> q.x, q.y
    (10.0, 20.0)
    """
    if not isinstance(nodetype, type):
        raise TypeError(f"register_pytree_node: nodetype must be a class, got {nodetype!r}")
    if nodetype in _registry:
        raise ValueError(f"register_pytree_node: {nodetype.__qualname__} is already registered")
    if keys_func is None:
        # Count the children from a flatten: a registered class need not support len().
        def keys_func(node: Any, aux: Any) -> list[str]:
            return [f"[{i}]" for i in range(len(list(flatten_func(node)[0])))]
    _registry[nodetype] = _NodeType(flatten_func, unflatten_func, keys_func)
    _leaf_types.discard(nodetype)


def _sorted_keys(d: dict[Any, Any]) -> list[Any]:
    try:
        return sorted(d)
    except TypeError:  # keys of mixed types: keep insertion order
        return list(d)


def _dict_flatten(d: dict[Any, Any]) -> tuple[list[Any], tuple[Any, ...]]:
    keys = _sorted_keys(d)
    return [d[k] for k in keys], tuple(keys)


register_pytree_node(tuple, lambda t: (list(t), None), lambda aux, ch: tuple(ch), keys_func=_index_keys)
register_pytree_node(list, lambda t: (list(t), None), lambda aux, ch: list(ch), keys_func=_index_keys)
register_pytree_node(dict, _dict_flatten, lambda keys, ch: dict(zip(keys, ch)),
                     keys_func=lambda node, keys: [f"[{k!r}]" for k in keys])
register_pytree_node(type(None), lambda n: ((), None), lambda aux, ch: None, keys_func=lambda n, a: [])


def _node_type(x: Any) -> _NodeType | None:
    """How to take ``x`` apart, or ``None`` if ``x`` is a leaf."""
    t = type(x)
    if t in _leaf_types:
        return None
    nt = _registry.get(t)
    if nt is not None:
        return nt
    if isinstance(x, tuple) and hasattr(t, "_fields"):  # a NamedTuple
        return _NAMEDTUPLE
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return _DATACLASS
    _leaf_types.add(t)
    return None


def _namedtuple_flatten(x: Any) -> tuple[list[Any], type]:
    return list(x), type(x)


_NAMEDTUPLE = _NodeType(_namedtuple_flatten, lambda cls, ch: cls(*ch),
                        lambda node, cls: [f".{f}" for f in cls._fields])


def _dataclass_flatten(x: Any) -> tuple[list[Any], tuple[type, tuple[str, ...]]]:
    names = tuple(f.name for f in dataclasses.fields(x))
    return [getattr(x, n) for n in names], (type(x), names)


def _dataclass_unflatten(aux: tuple[type, tuple[str, ...]], children: list[Any]) -> Any:
    # Built field by field, bypassing __init__ and __post_init__ (which may
    # validate or convert, and must not run on tracers or gradients), and
    # frozen dataclasses' __setattr__.
    cls, names = aux
    obj: Any = object.__new__(cls)
    for n, v in zip(names, children):
        object.__setattr__(obj, n, v)
    return obj


_DATACLASS = _NodeType(_dataclass_flatten, _dataclass_unflatten,
                       lambda node, aux: [f".{n}" for n in aux[1]])


class PyTreeDef:
    """The structure of a pytree: its node types and static data, without the leaves.

    Made by :func:`tree_flatten` and :func:`tree_structure` (not by hand);
    :meth:`unflatten` (or :func:`tree_unflatten`) puts leaves back into it.

    Attributes
    ----------
    num_leaves : int
        How many leaves a tree of this structure has.

    Notes
    -----
    Two structures are equal when they have the same node types, the same
    number of children and equal auxiliary data (dict keys, NamedTuple and
    dataclass types, a registered class's ``aux_data``) at every position; the
    leaves do not count.  Hashable.  The repr writes a leaf as ``*``, as
    JAX's ``PyTreeDef`` does.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> treedef = nb.tree_structure({"w": np.zeros(2), "b": None})
    >>> treedef, treedef.num_leaves
    (PyTreeDef(dict(None, *)), 1)
    >>> treedef == nb.tree_structure({"b": None, "w": 3.0})      # keys sorted; leaves do not count
    True
    >>> treedef.unflatten([1.0])
    {'b': None, 'w': 1.0}
    """

    __slots__ = ("node", "aux", "children", "num_leaves")

    node: _NodeType | None
    aux: Any
    children: tuple[PyTreeDef, ...]
    num_leaves: int

    def __init__(self, node: _NodeType | None, aux: Any, children: tuple[PyTreeDef, ...]):
        self.node, self.aux, self.children = node, aux, children
        self.num_leaves = 1 if node is None else sum(c.num_leaves for c in children)

    def unflatten(self, leaves: Iterable[Any]) -> Any:
        """Rebuild the tree from ``leaves`` (in ``tree_leaves`` order)."""
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"tree_unflatten: the structure has {self.num_leaves} leaves, "
                             f"got {len(leaves)}")
        it = iter(leaves)
        return self._build(it)

    def _build(self, it: Iterator[Any]) -> Any:
        if self.node is None:
            return next(it)
        return self.node.unflatten(self.aux, [c._build(it) for c in self.children])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        return (self.node is other.node and len(self.children) == len(other.children)
                and _aux_equal(self.aux, other.aux)
                and all(a == b for a, b in zip(self.children, other.children)))

    def __hash__(self) -> int:
        return hash((id(self.node), len(self.children), self.num_leaves))

    def __repr__(self) -> str:
        return f"PyTreeDef({self._describe()})"

    def _describe(self) -> str:
        if self.node is None:
            return "*"
        inner = ", ".join(c._describe() for c in self.children)
        name = _node_name(self.node, self.aux)
        return {"list": f"[{inner}]", "tuple": f"({inner}{',' if len(self.children) == 1 else ''})",
                "NoneType": "None"}.get(name, f"{name}({inner})")


def _node_name(node: _NodeType, aux: Any) -> str:
    for t, nt in _registry.items():
        if nt is node:
            return t.__name__
    if node is _NAMEDTUPLE:
        return str(aux.__name__)
    if node is _DATACLASS:
        return str(aux[0].__name__)
    return "node"


def _aux_equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # e.g. arrays in aux data: fall back to identity
        return a is b


def tree_flatten(tree: Any) -> tuple[list[Any], PyTreeDef]:
    """Split a pytree into its leaves, in a fixed order, and its structure.

    Parameters
    ----------
    tree : pytree
        Nested lists, tuples, dicts, NamedTuples, dataclasses, ``None`` and
        registered classes; anything else is a leaf.

    Returns
    -------
    leaves : list
        Depth first, children in order (dict keys sorted; ``None`` gives no leaf).
    treedef : PyTreeDef
        The structure; ``treedef.unflatten(leaves)`` rebuilds the tree.

    Notes
    -----
    JAX's ``jax.tree_util.tree_flatten`` and its rules: dicts are flattened in
    sorted key order (insertion order when the keys cannot be sorted), and
    ``None`` is a node with no children, never a leaf.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> leaves, treedef = nb.tree_flatten({"b": [1, 2], "a": (3, None)})
    >>> leaves
    [3, 1, 2]
    >>> treedef
    PyTreeDef(dict((*, None), [*, *]))
    """
    leaves: list[Any] = []
    return leaves, _flatten_into(tree, leaves)


def _flatten_into(tree: Any, leaves: list[Any]) -> PyTreeDef:
    nt = _node_type(tree)
    if nt is None:
        leaves.append(tree)
        return _LEAF
    children, aux = nt.flatten(tree)
    return PyTreeDef(nt, aux, tuple(_flatten_into(c, leaves) for c in children))


_LEAF = PyTreeDef(None, None, ())   # every leaf's structure (PyTreeDef is immutable)


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """Build the tree of structure ``treedef`` holding ``leaves``.

    Parameters
    ----------
    treedef : PyTreeDef
        From :func:`tree_flatten` or :func:`tree_structure`.
    leaves : iterable
        ``treedef.num_leaves`` values, in :func:`tree_leaves` order.

    Returns
    -------
    pytree

    Raises
    ------
    ValueError
        Another number of leaves than the structure has.

    Notes
    -----
    JAX's ``jax.tree_util.tree_unflatten`` and its argument order
    (``treedef`` first).  The inverse of :func:`tree_flatten`.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> leaves, treedef = nb.tree_flatten({"b": [1, 2], "a": (3, None)})
    >>> nb.tree_unflatten(treedef, [10, 20, 30])
    {'a': (10, None), 'b': [20, 30]}
    """
    return treedef.unflatten(leaves)


def tree_leaves(tree: Any) -> list[Any]:
    """Return the leaves of a pytree, in flattening order.

    Parameters
    ----------
    tree : pytree

    Returns
    -------
    list
        ``tree_flatten(tree)[0]``.

    Notes
    -----
    JAX's ``jax.tree_util.tree_leaves``.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> nb.tree_leaves([1, (2, 3), {"y": 5, "x": 4}, None])
    [1, 2, 3, 4, 5]
    """
    return tree_flatten(tree)[0]


def tree_structure(tree: Any) -> PyTreeDef:
    """Return the structure of a pytree, without its leaves.

    Parameters
    ----------
    tree : pytree

    Returns
    -------
    PyTreeDef
        ``tree_flatten(tree)[1]``.

    Notes
    -----
    JAX's ``jax.tree_util.tree_structure``.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> nb.tree_structure((1, [2, 3])) == nb.tree_structure(("a", ["b", "c"]))
    True
    >>> nb.tree_structure((1, [2, 3])) == nb.tree_structure((1, (2, 3)))
    False
    """
    return tree_flatten(tree)[1]


def tree_flatten_with_path(tree: Any) -> tuple[list[tuple[tuple[str, ...], Any]], PyTreeDef]:
    """``([(path, leaf), ...], treedef)`` where ``path`` is a tuple of key strings
    such as ``("[0]", ".weight")``; ``keystr(path)`` joins them."""
    out: list[tuple[tuple[str, ...], Any]] = []

    def walk(t: Any, path: tuple[str, ...]) -> None:
        nt = _node_type(t)
        if nt is None:
            out.append((path, t))
            return
        children, aux = nt.flatten(t)
        children = list(children)
        for k, c in zip(nt.keys(t, aux), children):
            walk(c, path + (k,))

    walk(tree, ())
    return out, tree_structure(tree)


def keystr(path: Iterable[str]) -> str:
    """``("[0]", ".weight")`` -> ``"[0].weight"``; the empty path is ``"<root>"``."""
    return "".join(path) or "<root>"


def first_difference(a: Any, b: Any) -> str | None:
    """Where two trees' structures first differ, as ``"path: what"``, or ``None``."""
    def walk(x: Any, y: Any, path: tuple[str, ...]) -> str | None:
        nx, ny = _node_type(x), _node_type(y)
        if nx is None and ny is None:
            return None
        where = keystr(path)
        if nx is None or ny is None:
            def kind(n: _NodeType | None, v: Any) -> str:
                return "a leaf" if n is None else "None" if v is None else f"a {_node_name(n, n.flatten(v)[1])} node"
            return f"{where}: {kind(nx, x)} in one tree, {kind(ny, y)} in the other"
        cx, ax = nx.flatten(x)
        cy, ay = ny.flatten(y)
        cx, cy = list(cx), list(cy)
        if nx is not ny or not _aux_equal(ax, ay) or len(cx) != len(cy):
            kx, ky = nx.keys(x, ax), ny.keys(y, ay)
            return (f"{where}: {_node_name(nx, ax)} with children {kx} in one tree, "
                    f"{_node_name(ny, ay)} with children {ky} in the other")
        for k, u, v in zip(nx.keys(x, ax), cx, cy):
            d = walk(u, v, path + (k,))
            if d is not None:
                return d
        return None

    return walk(a, b, ())


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``f`` leaf by leaf to one pytree, or to several of the same structure.

    Parameters
    ----------
    f : callable
        Called as ``f(leaf, *leaves_of_rest)`` at every leaf position.
    tree : pytree
        Gives the structure of the result.
    *rest : pytrees
        Each with ``tree``'s structure.

    Returns
    -------
    pytree
        ``tree``'s structure, holding ``f``'s results.

    Raises
    ------
    ValueError
        A tree of ``rest`` with another structure; the message names the first
        path where it differs.

    Notes
    -----
    JAX's ``jax.tree_util.tree_map``.  ``None`` is structure, not a leaf, so
    ``f`` is never called on it: ``{"w": w, "b": None}`` maps to
    ``{"w": f(w), "b": None}``.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> nb.tree_map(lambda a: a * 2, {"w": 1.0, "b": None, "layers": [2, 3]})
    {'b': None, 'layers': [4, 6], 'w': 2.0}
    >>> nb.tree_map(lambda a, b: a + b, (1, [2]), (10, [20]))
    (11, [22])
    >>> nb.tree_map(lambda a, b: a + b, (1, [2]), (10, [20, 30]))
    Traceback (most recent call last):
    ...
    ValueError: tree_map: the trees have different structures; first difference at [1]: ...
    """
    leaves, treedef = tree_flatten(tree)
    others = []
    for r in rest:
        r_leaves, r_def = tree_flatten(r)
        if r_def != treedef:
            raise ValueError(f"tree_map: the trees have different structures; first difference at "
                             f"{first_difference(tree, r)}")
        others.append(r_leaves)
    return treedef.unflatten([f(*xs) for xs in zip(leaves, *others)])
