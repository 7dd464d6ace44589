"""Pytrees (``nabla._pytree``): JAX's rules for which containers are nodes,
flattening order, structures, ``tree_map`` and its mismatch errors, and the
transforms (``grad``, ``vjp``, ``jvp``, ``value_and_grad``) over user-defined
nodes: a registered class, a dataclass (plain and frozen) and a NamedTuple.

The differentiation tests compare against the same parameters held in a plain
dict, so they check that a node type changes nothing but the container.
"""
import dataclasses
from typing import NamedTuple

import numpy as np
import pytest

import nabla as nb
from nabla._pytree import first_difference, keystr, tree_flatten_with_path


def t64(*shape, seed=0):
    return nb.asarray(np.random.default_rng(seed).standard_normal(shape))


def close(got, want, rtol=1e-12, atol=0.0):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=rtol, atol=atol)


def trees_close(got, want):
    """Same structure, and leaves equal to float64 round-off."""
    assert nb.tree_structure(got) == nb.tree_structure(want)
    for a, b in zip(nb.tree_leaves(got), nb.tree_leaves(want)):
        close(a, b)


# ------------------------------------------------------------------ user node types
class Pair:
    """A user class made a pytree node by registration (not a dataclass)."""

    def __init__(self, first, second, tag="pair"):
        self.first, self.second, self.tag = first, second, tag


nb.register_pytree_node(
    Pair,
    lambda p: ((p.first, p.second), p.tag),            # children, static aux data
    lambda tag, ch: Pair(ch[0], ch[1], tag),
    keys_func=lambda p, tag: [".first", ".second"],
)


@dataclasses.dataclass
class Params:
    w: object
    b: object


@dataclasses.dataclass(frozen=True)
class FrozenParams:
    w: object
    b: object

    def __post_init__(self):
        # Validation that must not run on gradients or tracers: unflattening
        # bypasses __init__ (and so __post_init__).
        if not isinstance(self.w, np.ndarray):
            raise TypeError("FrozenParams.w must be built from an ndarray")


class NTParams(NamedTuple):
    w: object
    b: object


def frozen(w, b):
    """A FrozenParams around tensors (its __init__ only accepts ndarrays)."""
    p = FrozenParams(np.asarray(w.numpy()), np.asarray(b.numpy()))
    return nb.tree_map(nb.asarray, p)


def loss(p):
    """A scalar of ``p.w`` (3, 2) and ``p.b`` (2,) for attribute-style containers."""
    x = t64(4, 3, seed=7)
    return nb.sum(nb.tanh(x @ p.w + p.b) ** 2)


def loss_dict(p):
    return loss(Params(p["w"], p["b"]))


def out_fn(p):
    """A non-scalar function of the parameters (for vjp / jvp)."""
    x = t64(4, 3, seed=7)
    return nb.tanh(x @ p.w + p.b)


def out_fn_dict(p):
    return out_fn(Params(p["w"], p["b"]))


W, B = t64(3, 2, seed=1), t64(2, seed=2)
CONTAINERS = [
    pytest.param(lambda w, b: Params(w, b), id="dataclass"),
    pytest.param(frozen, id="frozen-dataclass"),
    pytest.param(lambda w, b: NTParams(w, b), id="namedtuple"),
]


# ============================================================ registered user class
class TestRegisteredClass:
    def test_flatten_unflatten(self):
        p = Pair(W, [B, B], tag="t")
        leaves, treedef = nb.tree_flatten(p)
        assert [id(x) for x in leaves] == [id(W), id(B), id(B)]
        q = nb.tree_unflatten(treedef, leaves)
        assert isinstance(q, Pair) and q.tag == "t"
        assert q.first is W and isinstance(q.second, list) and q.second[0] is B

    def test_aux_data_is_structure(self):
        assert nb.tree_structure(Pair(1, 2, "a")) == nb.tree_structure(Pair(3, 4, "a"))
        assert nb.tree_structure(Pair(1, 2, "a")) != nb.tree_structure(Pair(1, 2, "b"))

    def test_tree_map(self):
        q = nb.tree_map(lambda x: 2 * x, Pair(W, B, tag="t"))
        assert isinstance(q, Pair) and q.tag == "t"
        close(q.first, 2 * W.numpy())
        close(q.second, 2 * B.numpy())

    def test_grad_through_it(self):
        g = nb.grad(lambda p: loss(Params(p.first, p.second)))(Pair(W, B, tag="t"))
        assert isinstance(g, Pair) and g.tag == "t"
        want = nb.grad(loss_dict)({"w": W, "b": B})
        close(g.first, want["w"])
        close(g.second, want["b"])

    def test_paths_use_keys_func(self):
        paths = [keystr(p) for p, _ in tree_flatten_with_path({"m": Pair(W, B)})[0]]
        assert paths == ["['m'].first", "['m'].second"]

    def test_default_keys_are_indices(self):
        class Box:
            def __init__(self, items):
                self.items = items

        nb.register_pytree_node(Box, lambda b: (b.items, None), lambda _, ch: Box(list(ch)))
        paths = [keystr(p) for p, _ in tree_flatten_with_path(Box([1, 2]))[0]]
        assert paths == ["[0]", "[1]"]

    def test_registering_twice_raises(self):
        with pytest.raises(ValueError, match="Pair"):
            nb.register_pytree_node(Pair, lambda p: ((), None), lambda aux, ch: Pair(None, None))

    @pytest.mark.parametrize("builtin", [list, tuple, dict, type(None)], ids=lambda t: t.__name__)
    def test_registering_a_builtin_node_again_raises(self, builtin):
        with pytest.raises(ValueError):
            nb.register_pytree_node(builtin, lambda x: ((), None), lambda aux, ch: None)

    def test_registering_a_non_class_raises(self):
        with pytest.raises(TypeError):
            nb.register_pytree_node("Pair", lambda x: ((), None), lambda aux, ch: None)


# ==================================================== dataclass / NamedTuple params
@pytest.mark.parametrize("make", CONTAINERS)
class TestParamContainers:
    def test_flatten_order_is_field_order(self, make):
        p = make(W, B)
        leaves = nb.tree_leaves(p)
        assert len(leaves) == 2
        close(leaves[0], W)
        close(leaves[1], B)

    def test_grad(self, make):
        g = nb.grad(loss)(make(W, B))
        want = nb.grad(loss_dict)({"w": W, "b": B})
        assert type(g) is type(make(W, B))
        close(g.w, want["w"])
        close(g.b, want["b"])

    def test_value_and_grad(self, make):
        v, g = nb.value_and_grad(loss)(make(W, B))
        v_want, g_want = nb.value_and_grad(loss_dict)({"w": W, "b": B})
        close(v, v_want)
        assert type(g) is type(make(W, B))
        close(g.w, g_want["w"])
        close(g.b, g_want["b"])

    def test_vjp(self, make):
        u = t64(4, 2, seed=3)
        out, pullback = nb.vjp(out_fn, make(W, B))
        out_want, pullback_want = nb.vjp(out_fn_dict, {"w": W, "b": B})
        close(out, out_want)
        (ct,) = pullback(u)
        (ct_want,) = pullback_want(u)
        assert type(ct) is type(make(W, B))
        close(ct.w, ct_want["w"])
        close(ct.b, ct_want["b"])

    def test_jvp(self, make):
        tw, tb = t64(3, 2, seed=4), t64(2, seed=5)
        out, tangent = nb.jvp(out_fn, [make(W, B)], [make(tw, tb)])
        out_want, tangent_want = nb.jvp(out_fn_dict, [{"w": W, "b": B}], [{"w": tw, "b": tb}])
        close(out, out_want)
        close(tangent, tangent_want)

    def test_jvp_against_a_dict_tangent_raises(self, make):
        with pytest.raises(ValueError, match="same structure"):
            nb.jvp(out_fn, [make(W, B)], [{"w": W, "b": B}])

    def test_tree_map_keeps_the_type(self, make):
        p = nb.tree_map(lambda x: x * 0, make(W, B))
        assert type(p) is type(make(W, B))
        close(p.w, np.zeros((3, 2)))


def test_frozen_dataclass_stays_frozen_after_grad():
    g = nb.grad(loss)(frozen(W, B))
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.w = W


def test_dataclass_and_namedtuple_paths():
    paths = [keystr(p) for p, _ in tree_flatten_with_path([Params(1, 2), NTParams(3, 4)])[0]]
    assert paths == ["[0].w", "[0].b", "[1].w", "[1].b"]


def test_dataclass_classes_are_part_of_the_structure():
    assert nb.tree_structure(Params(1, 2)) != nb.tree_structure(NTParams(1, 2))
    assert nb.tree_structure(Params(1, 2)) != nb.tree_structure(FrozenParams(np.ones(1), 2))
    assert nb.tree_structure(NTParams(1, 2)) != nb.tree_structure((1, 2))


def test_a_dataclass_class_is_a_leaf():
    assert nb.tree_leaves(Params) == [Params]


# ========================================================================= None
class TestNone:
    def test_none_is_structure_not_a_leaf(self):
        assert nb.tree_leaves({"w": W, "b": None}) == [W]
        assert nb.tree_leaves(None) == []
        assert nb.tree_leaves([None, (None,)]) == []

    def test_round_trip(self):
        tree = {"w": W, "b": None}
        leaves, treedef = nb.tree_flatten(tree)
        back = nb.tree_unflatten(treedef, leaves)
        assert back == {"w": W, "b": None}

    def test_tree_map_keeps_none(self):
        out = nb.tree_map(lambda x: 2 * x, {"w": W, "b": None})
        assert out["b"] is None and set(out) == {"w", "b"}
        close(out["w"], 2 * W.numpy())

    def test_grad_keeps_none(self):
        g = nb.grad(lambda p: nb.sum(p["w"] ** 2))({"w": W, "b": None})
        assert g["b"] is None
        close(g["w"], 2 * W.numpy())

    def test_none_differs_from_a_leaf(self):
        assert nb.tree_structure({"w": 1, "b": None}) != nb.tree_structure({"w": 1, "b": 2})
        with pytest.raises(ValueError, match=r"\['b'\]"):
            nb.tree_map(lambda a, b: a, {"w": W, "b": None}, {"w": W, "b": B})


# ============================================================ structure and order
class TestStructure:
    def test_dict_key_order_is_irrelevant(self):
        a = {"w": 1, "b": 2, "c": {"y": 3, "x": 4}}
        b = {"c": {"x": 40, "y": 30}, "b": 20, "w": 10}
        assert nb.tree_structure(a) == nb.tree_structure(b)
        assert hash(nb.tree_structure(a)) == hash(nb.tree_structure(b))
        # The leaves come out in sorted-key order whatever the insertion order.
        assert nb.tree_leaves(a) == [2, 4, 3, 1]
        assert nb.tree_leaves(b) == [20, 40, 30, 10]
        nb.tree_map(lambda u, v: u + v, a, b)  # same structure: no error

    def test_leaves_order(self):
        tree = [1, (2, {"b": 4, "a": 3}), NTParams(5, [6, None, 7]), Params(8, 9), Pair(10, 11)]
        assert nb.tree_leaves(tree) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]

    def test_leaves_order_with_paths(self):
        pairs, _ = tree_flatten_with_path({"b": [10, 20], "a": NTParams(1, None)})
        assert [(keystr(p), v) for p, v in pairs] == [("['a'].w", 1), ("['b'][0]", 10), ("['b'][1]", 20)]
        assert keystr(()) == "<root>"

    @pytest.mark.parametrize("a, b", [
        ([1, 2], (1, 2)),
        ([1, 2], [1, 2, 3]),
        ({"a": 1}, {"b": 1}),
        ({"a": 1}, {"a": [1]}),
        ((1, None), (1, 2)),
        ([1, [2]], [1, (2,)]),
        (NTParams(1, 2), (1, 2)),
    ], ids=["list-vs-tuple", "length", "dict-keys", "leaf-vs-node", "none-vs-leaf", "nested-type",
            "namedtuple-vs-tuple"])
    def test_inequality(self, a, b):
        assert nb.tree_structure(a) != nb.tree_structure(b)
        assert first_difference(a, b) is not None

    @pytest.mark.parametrize("a, b", [
        ([1, (2, 3)], ["x", ("y", W)]),
        ({"a": None, "b": [1]}, {"b": [W], "a": None}),
        (NTParams(1, 2), NTParams(W, B)),
    ], ids=["leaves-of-any-type", "dicts", "namedtuple"])
    def test_equality(self, a, b):
        assert nb.tree_structure(a) == nb.tree_structure(b)
        assert first_difference(a, b) is None

    def test_a_leaf_is_its_own_tree(self):
        leaves, treedef = nb.tree_flatten(W)
        assert leaves == [W] and treedef.num_leaves == 1
        assert nb.tree_unflatten(treedef, [B]) is B

    def test_unflatten_round_trip(self):
        tree = {"p": Params(W, None), "q": [B, NTParams(W, B)], "r": Pair(B, W)}
        leaves, treedef = nb.tree_flatten(tree)
        assert len(leaves) == treedef.num_leaves == 6
        back = nb.tree_unflatten(treedef, leaves)
        assert nb.tree_structure(back) == treedef
        assert [id(x) for x in nb.tree_leaves(back)] == [id(x) for x in leaves]
        # New leaves go in tree_leaves order.
        numbered = nb.tree_unflatten(treedef, range(6))
        assert nb.tree_leaves(numbered) == list(range(6))
        assert numbered["p"].w == 0 and numbered["r"].second == 5

    @pytest.mark.parametrize("n", [2, 4], ids=["too-few", "too-many"])
    def test_unflatten_wrong_leaf_count_raises(self, n):
        treedef = nb.tree_structure({"a": 1, "b": (2, 3)})
        with pytest.raises(ValueError, match=rf"3 leaves, got {n}"):
            nb.tree_unflatten(treedef, list(range(n)))


# ==================================================================== tree_map
class TestTreeMap:
    def test_several_trees(self):
        out = nb.tree_map(lambda a, b, c: a + b * c, {"x": 1, "y": [2]}, {"y": [3], "x": 4}, {"x": 5, "y": [6]})
        assert out == {"x": 21, "y": [20]}

    @pytest.mark.parametrize("a, b, path", [
        ({"a": [1, 2], "b": 3}, {"a": [1], "b": 3}, "['a']"),
        ({"a": [1, 2], "b": 3}, {"a": [1, None], "b": 3}, "['a'][1]"),
        ({"a": [1, (2, 3)]}, {"a": [1, [2, 3]]}, "['a'][1]"),
        ([Params(1, 2)], [Params(1, {"k": 2})], "[0].b"),
        ([NTParams(1, [2, 3])], [NTParams(1, [2])], "[0].b"),
        ({"m": Pair(1, 2)}, {"m": Pair(1, (2,))}, "['m'].second"),
        ({"a": 1}, {"b": 1}, "<root>"),
    ], ids=["list-length", "none", "list-vs-tuple", "dataclass-field", "namedtuple-field", "registered",
            "root-keys"])
    def test_mismatch_names_first_differing_path(self, a, b, path):
        with pytest.raises(ValueError) as info:
            nb.tree_map(lambda *xs: xs[0], a, b)
        msg = str(info.value)
        assert f"at {path}:" in msg, msg
        assert first_difference(a, b).startswith(f"{path}:")

    def test_mismatch_reports_the_first_of_several(self):
        a = {"a": [1, 2], "b": [3, 4]}
        b = {"a": [1, 2, 0], "b": [3]}
        with pytest.raises(ValueError, match=r"at \['a'\]: list"):
            nb.tree_map(lambda x, y: x, a, b)

    def test_result_has_first_trees_structure(self):
        out = nb.tree_map(lambda a, b: (a, b), [1, 2], [3, 4])
        # Tuples returned by f are leaves of the result, not new nodes of it.
        assert out == [(1, 3), (2, 4)]
