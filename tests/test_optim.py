"""Tests of nabla.nn.optim: known answers worked out by hand (two steps of each
optimizer and option), pytrees, dtypes, errors, schedules, purity,
differentiability, and convergence on a quadratic.

The known answers use p0 = [1, 2], g1 = [2, -4], g2 = [1, 2] and dyadic
hyper-parameters (lr = 0.5, momentum = 0.5, ...), so that most values are
exact in float32 too.  PyTorch itself is compared in tests/crosscheck.
"""
import dataclasses
import math
from typing import NamedTuple

import numpy as np
import pytest

import nabla as nb
from nabla._pytree import register_pytree_node, tree_leaves, tree_structure
from nabla.nn import optim
from nabla.nn.optim import (SGD, Adam, AdamW, adam_init, adam_update, adamw_init, adamw_update,
                            cosine_decay, sgd_init, sgd_update, step_decay)

P0, G1, G2 = [1.0, 2.0], [2.0, -4.0], [1.0, 2.0]
S7 = math.sqrt(7.0)
RTOL = {np.float32: 1e-6, np.float64: 1e-14}
INIT = {sgd_update: sgd_init, adam_update: adam_init, adamw_update: adamw_init}
CLASS = {sgd_update: SGD, adam_update: Adam, adamw_update: AdamW}


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dt(request):
    return request.param


def t(values, dt=np.float64):
    return nb.asarray(np.asarray(values, dtype=dt))


def two_steps(update, dt, **hyper):
    """[p1, p2] after the pure update with grads G1 then G2, as float64 arrays."""
    params, state = {"w": t(P0, dt)}, INIT[update]({"w": t(P0, dt)})
    out = []
    for g in (G1, G2):
        params, state = update(params, {"w": t(g, dt)}, state, **hyper)
        assert params["w"].dtype == dt
        out.append(np.asarray(params["w"], dtype=np.float64))
    return out


# (update, hyper-parameters, p1, p2): the arithmetic is in the comments.
KNOWN = {
    # p1 = [1, 2] - 0.5 * [2, -4] = [0, 4];  p2 = [0, 4] - 0.5 * [1, 2] = [-0.5, 3]
    "sgd": (sgd_update, dict(lr=0.5), [0, 4], [-0.5, 3]),
    # buf1 = g1 = [2, -4]; p1 = [1, 2] - 0.5 * buf1 = [0, 4]
    # buf2 = 0.5 * [2, -4] + [1, 2] = [2, 0]; p2 = [0, 4] - 0.5 * [2, 0] = [-1, 4]
    "sgd_momentum": (sgd_update, dict(lr=0.5, momentum=0.5), [0, 4], [-1, 4]),
    # buf1 = g1 (no dampening on the first step); p1 = [0, 4]
    # buf2 = 0.5 * [2, -4] + (1 - 0.5) * [1, 2] = [1.5, -1]; p2 = [0, 4] - 0.5 * [1.5, -1] = [-0.75, 4.5]
    "sgd_dampening": (sgd_update, dict(lr=0.5, momentum=0.5, dampening=0.5), [0, 4], [-0.75, 4.5]),
    # buf1 = [2, -4]; g = g1 + 0.5 * buf1 = [3, -6]; p1 = [1, 2] - 0.5 * [3, -6] = [-0.5, 5]
    # buf2 = 0.5 * [2, -4] + [1, 2] = [2, 0]; g = [1, 2] + 0.5 * [2, 0] = [2, 2]
    # p2 = [-0.5, 5] - 0.5 * [2, 2] = [-1.5, 4]
    "sgd_nesterov": (sgd_update, dict(lr=0.5, momentum=0.5, nesterov=True), [-0.5, 5], [-1.5, 4]),
    # g = [2, -4] + 0.5 * [1, 2] = [2.5, -3]; p1 = [1, 2] - 0.5 * [2.5, -3] = [-0.25, 3.5]
    # g = [1, 2] + 0.5 * [-0.25, 3.5] = [0.875, 3.75]; p2 = p1 - 0.5 * g = [-0.6875, 1.625]
    "sgd_weight_decay": (sgd_update, dict(lr=0.5, weight_decay=0.5), [-0.25, 3.5], [-0.6875, 1.625]),
    # as above, with buf1 = [2.5, -3]; p1 = [-0.25, 3.5]
    # g = [0.875, 3.75]; buf2 = 0.5 * [2.5, -3] + g = [2.125, 2.25]; p2 = p1 - 0.5 * buf2 = [-1.3125, 2.375]
    "sgd_momentum_weight_decay": (sgd_update, dict(lr=0.5, momentum=0.5, weight_decay=0.5),
                                  [-0.25, 3.5], [-1.3125, 2.375]),
    # Adam, betas (0.5, 0.75), eps 0.  Step 1: m = 0.5 * g1 = [1, -2]; v = 0.25 * g1^2 = [1, 4];
    #   bc1 = 0.5, bc2 = 0.25; p1 = [1, 2] - (0.5 / 0.5) * [1, -2] / ([1, 2] / 0.5) = [0.5, 2.5]
    # Step 2: m = 0.5 * [1, -2] + 0.5 * [1, 2] = [1, 0]; v = 0.75 * [1, 4] + 0.25 * [1, 4] = [1, 4];
    #   bc1 = 0.75, bc2 = 1 - 0.5625 = 7/16; sqrt(v) / sqrt(bc2) = [4, 8] / sqrt(7)
    #   p2 = [0.5, 2.5] - (0.5 / 0.75) * [1, 0] / ([4, 8] / sqrt(7)) = [0.5 - sqrt(7)/6, 2.5]
    "adam": (adam_update, dict(lr=0.5, betas=(0.5, 0.75), eps=0.0), [0.5, 2.5], [0.5 - S7 / 6, 2.5]),
    # eps = 1: p1 = [1, 2] - [1, -2] / ([2, 4] + 1) = [2/3, 2.4]
    #          p2 = [2/3, 2.4] - (2/3) * [1, 0] / ([4, 8] / sqrt(7) + 1)
    "adam_eps": (adam_update, dict(lr=0.5, betas=(0.5, 0.75), eps=1.0), [2 / 3, 2.4],
                 [2 / 3 - (2 / 3) / (4 / S7 + 1), 2.4]),
    # L2: g = [2, -4] + 0.5 * [1, 2] = [2.5, -3]; m = [1.25, -1.5]; v = 0.25 * [6.25, 9];
    #   sqrt(v) / 0.5 = [2.5, 3]; p1 = [1, 2] - [1.25, -1.5] / [2.5, 3] = [0.5, 2.5]
    # g = [1, 2] + 0.5 * [0.5, 2.5] = [1.25, 3.25]; m = 0.5 * ([1.25, -1.5] + g) = [1.25, 0.875]
    #   v = 0.75 * [1.5625, 2.25] + 0.25 * [1.5625, 10.5625] = [1.5625, 277/64]; sqrt(v) = [1.25, sqrt(277)/8]
    #   p2 = p1 - (2/3) * m * sqrt(7/16) / sqrt(v)
    #      = [0.5 - (2/3) * sqrt(7)/4, 2.5 - (2/3) * 0.875 * (sqrt(7)/4) * 8/sqrt(277)]
    #      = [0.5 - sqrt(7)/6, 2.5 - 7 sqrt(7) / (6 sqrt(277))]
    "adam_weight_decay": (adam_update, dict(lr=0.5, betas=(0.5, 0.75), eps=0.0, weight_decay=0.5),
                          [0.5, 2.5], [0.5 - S7 / 6, 2.5 - 7 * S7 / (6 * math.sqrt(277))]),
    # AdamW: p *= 1 - 0.5 * 0.5 first, then Adam without L2 (m, v as in "adam").
    # p1 = [0.75, 1.5] - [0.5, -0.5] = [0.25, 2];  p2 = [0.1875, 1.5] - [sqrt(7)/6, 0]
    "adamw": (adamw_update, dict(lr=0.5, betas=(0.5, 0.75), eps=0.0, weight_decay=0.5),
              [0.25, 2.0], [0.1875 - S7 / 6, 1.5]),
}


# ------------------------------------------------------------------- known answers
@pytest.mark.parametrize("case", list(KNOWN))
def test_known_answers(case, dt):
    update, hyper, p1, p2 = KNOWN[case]
    got1, got2 = two_steps(update, dt, **hyper)
    np.testing.assert_allclose(got1, p1, rtol=RTOL[dt], atol=0)
    np.testing.assert_allclose(got2, p2, rtol=RTOL[dt], atol=0)


@pytest.mark.parametrize("case", list(KNOWN))
def test_class_matches_pure_form(case, rng):
    update, hyper, _, _ = KNOWN[case]
    params = {"a": t(rng.normal(size=(2, 3))), "b": [t(rng.normal(size=4))]}
    opt = CLASS[update](params, **hyper)
    state = INIT[update](params)
    for _ in range(3):
        grads = nb.tree_map(lambda p: t(rng.normal(size=p.shape)), params)
        params, state = update(params, grads, state, **hyper)
        new = opt.step(grads)
        assert new is opt.params
        for a, b in zip(tree_leaves(new), tree_leaves(params)):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert opt.state["step"] == state["step"] == 3


def test_state_contents():
    params = {"w": t(P0)}
    s = sgd_init(params)
    assert s == {"step": 0, "momentum_buffer": None}
    _, s1 = sgd_update(params, {"w": t(G1)}, s, lr=0.5)
    assert s1 == {"step": 1, "momentum_buffer": None}  # no momentum: no buffer
    _, s1 = sgd_update(params, {"w": t(G1)}, s, lr=0.5, momentum=0.5)
    np.testing.assert_array_equal(np.asarray(s1["momentum_buffer"]["w"]), G1)  # buf1 = g1
    a = adam_init(params)
    assert a["step"] == 0 and sorted(a) == ["exp_avg", "exp_avg_sq", "step"]
    np.testing.assert_array_equal(np.asarray(a["exp_avg"]["w"]), [0, 0])
    _, a1 = adam_update(params, {"w": t(G1)}, a, lr=0.5, betas=(0.5, 0.75))
    assert a1["step"] == 1
    np.testing.assert_array_equal(np.asarray(a1["exp_avg"]["w"]), [1, -2])     # 0.5 * g1
    np.testing.assert_array_equal(np.asarray(a1["exp_avg_sq"]["w"]), [1, 4])   # 0.25 * g1^2


# ------------------------------------------------------------------------ pytrees
class Pair(NamedTuple):
    w: object
    b: object


@dataclasses.dataclass
class Layer:
    w: object
    b: object


class Box:
    """A user class registered as a pytree node, as nabla.nn.Module is."""

    def __init__(self, w, b):
        self.w, self.b = w, b


register_pytree_node(Box, lambda x: ((x.w, x.b), None), lambda aux, ch: Box(*ch),
                     keys_func=lambda x, aux: [".w", ".b"])


CONTAINERS = {
    "dict": lambda w, b: {"w": w, "b": b},
    "list": lambda w, b: [w, b],
    "tuple": lambda w, b: (w, b),
    "namedtuple": Pair,
    "dataclass": Layer,
    "registered": Box,
    "nested": lambda w, b: {"layers": [(w,), {"bias": b}], "frozen": None},
}


@pytest.mark.parametrize("kind", list(CONTAINERS))
@pytest.mark.parametrize("update", [sgd_update, adam_update, adamw_update], ids=lambda f: f.__name__)
def test_containers(kind, update):
    make = CONTAINERS[kind]
    params = make(t([1.0, 2.0]), t([[3.0]]))
    grads = make(t([0.5, -1.0]), t([[2.0]]))
    new, state = update(params, grads, INIT[update](params), lr=0.1)
    assert type(new) is type(params)
    assert tree_structure(new) == tree_structure(params)
    # the same numbers as with a flat list of the same leaves
    flat_p, flat_g = tree_leaves(params), tree_leaves(grads)
    flat, _ = update(flat_p, flat_g, INIT[update](flat_p), lr=0.1)
    for a, b in zip(tree_leaves(new), flat):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    new2, _ = update(new, grads, state, lr=0.1)
    assert tree_structure(new2) == tree_structure(params)


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
def test_module_params(cls):
    nn = pytest.importorskip("nabla.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("nabla.nn.Linear not available")
    model = nn.Linear(3, 2)
    before = [np.array(p) for p in tree_leaves(model)]
    x = t(np.ones((4, 3)), np.float32)
    opt = cls(model, lr=0.1)
    new = opt.step(nb.grad(lambda m: nb.mean(m(x) ** 2))(model))
    assert type(new) is nn.Linear and new is not model
    assert tree_structure(new) == tree_structure(model)
    for b, p in zip(before, tree_leaves(model)):  # the old model is untouched
        np.testing.assert_array_equal(b, np.asarray(p))
    assert any(not np.array_equal(b, np.asarray(p)) for b, p in zip(before, tree_leaves(new)))


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
def test_none_leaves_kept(cls):
    params = {"w": t(P0), "b": None, "more": [None, t([3.0])]}
    grads = {"w": t(G1), "b": None, "more": [None, t([1.0])]}
    opt = cls(params, lr=0.1, **({"momentum": 0.9} if cls is SGD else {}))
    for _ in range(2):
        new = opt.step(grads)
    assert new["b"] is None and new["more"][0] is None
    for v in opt.state.values():
        if isinstance(v, dict):
            assert v["b"] is None and v["more"][0] is None


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
def test_dtype_preserved(cls, dt):
    params = {"w": t([[1.0, 2.0], [3.0, 4.0]], dt), "b": t([0.5], dt)}
    grads = nb.tree_map(lambda p: nb.asarray(np.full(p.shape, 0.25, dt)), params)
    opt = cls(params, lr=0.01, weight_decay=0.1, **({"momentum": 0.9} if cls is SGD else {}))
    for _ in range(2):
        new = opt.step(grads)
    assert all(p.dtype == dt for p in tree_leaves(new))
    assert all(s.dtype == dt for v in opt.state.values() if isinstance(v, dict) for s in tree_leaves(v))


# ------------------------------------------------------------------------- errors
@pytest.mark.parametrize("update", [sgd_update, adam_update, adamw_update], ids=lambda f: f.__name__)
def test_structure_mismatch(update):
    params = {"layers": [t([1.0]), t([2.0])], "b": None}
    state = INIT[update](params)
    with pytest.raises(ValueError, match=r"\['layers'\]"):
        update(params, {"layers": [t([1.0])], "b": None}, state)
    with pytest.raises(ValueError, match=r"\['b'\]"):
        update(params, {"layers": [t([1.0]), t([2.0])], "b": t([0.0])}, state)
    with pytest.raises(ValueError, match=r"\['layers'\]\[1\]"):
        update(params, {"layers": [t([1.0]), [t([2.0])]], "b": None}, state)
    with pytest.raises(ValueError, match="structure"):
        update(params, [t([1.0]), t([2.0])], state)


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
def test_shape_mismatch(cls):
    opt = cls({"a": t([1.0]), "w": [t(np.ones((2, 3)))]})
    with pytest.raises(ValueError, match=r"\['w'\]\[0\].*\(3, 2\).*\(2, 3\)"):
        opt.step({"a": t([1.0]), "w": [t(np.ones((3, 2)))]})


@pytest.mark.parametrize("update", [sgd_update, adam_update, adamw_update], ids=lambda f: f.__name__)
def test_not_floating_or_wrong_dtype(update):
    with pytest.raises(TypeError, match=r"\['n'\].*int64"):
        INIT[update]({"w": t([1.0]), "n": nb.asarray(np.arange(3))})
    with pytest.raises(TypeError, match=r"\[1\].*ndarray"):
        update([t([1.0]), np.ones(2)], [t([1.0]), np.ones(2)], INIT[update]([t([1.0])]))
    with pytest.raises(TypeError, match=r"\[0\].*float32.*float64"):
        update([t([1.0])], [t([1.0], np.float32)], INIT[update]([t([1.0])]))


BAD_HYPER = [
    (SGD, sgd_update, dict(lr=-0.1), "lr"),
    (SGD, sgd_update, dict(lr=float("nan")), "lr"),
    (SGD, sgd_update, dict(momentum=-0.5), "momentum"),
    (SGD, sgd_update, dict(weight_decay=-1.0), "weight_decay"),
    (SGD, sgd_update, dict(nesterov=True), "Nesterov"),
    (SGD, sgd_update, dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov"),
    (Adam, adam_update, dict(lr=-1e-3), "lr"),
    (Adam, adam_update, dict(betas=(1.0, 0.999)), r"betas\[0\]"),
    (Adam, adam_update, dict(betas=(0.9, -0.1)), r"betas\[1\]"),
    (Adam, adam_update, dict(eps=-1e-8), "eps"),
    (Adam, adam_update, dict(weight_decay=-0.1), "weight_decay"),
    (AdamW, adamw_update, dict(lr=-1e-3), "lr"),
    (AdamW, adamw_update, dict(betas=(0.9, 1.0)), r"betas\[1\]"),
    (AdamW, adamw_update, dict(eps=-1.0), "eps"),
    (AdamW, adamw_update, dict(weight_decay=-0.01), "weight_decay"),
]


@pytest.mark.parametrize("cls, update, hyper, name", BAD_HYPER)
def test_bad_hyper_parameters(cls, update, hyper, name):
    params = [t(P0)]
    with pytest.raises(ValueError, match=name):
        cls(params, **hyper)
    with pytest.raises(ValueError, match=name):
        update(params, [t(G1)], INIT[update](params), **hyper)


def test_scheduled_lr_checked():
    with pytest.raises(ValueError, match=r"lr\(0\)=-1"):
        SGD([t(P0)], lr=lambda step: -1.0).step([t(G1)])


# ---------------------------------------------------------------------- schedules
def test_cosine_decay():
    lr = cosine_decay(2.0, 4, alpha=0.25)
    # lr(t) = 2 * (0.75 * 0.5 * (1 + cos(pi t / 4)) + 0.25)
    want = [2.0,                                   # cos 0 = 1: 2 * (0.75 + 0.25)
            2 * (0.375 * (1 + math.sqrt(0.5)) + 0.25),
            2 * (0.375 + 0.25),                    # cos(pi/2) = 0
            2 * (0.375 * (1 - math.sqrt(0.5)) + 0.25),
            0.5, 0.5, 0.5]                         # cos pi = -1: 2 * 0.25, then held
    np.testing.assert_allclose([lr(s) for s in range(7)], want, rtol=1e-15)
    assert cosine_decay(1.0, 10)(10) == 0.0
    with pytest.raises(ValueError, match="decay_steps"):
        cosine_decay(1.0, 0)


def test_step_decay():
    lr = step_decay(1.0, 2, gamma=0.5)
    assert [lr(s) for s in range(7)] == [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125]
    assert step_decay(0.1, 3)(3) == pytest.approx(0.01)  # gamma defaults to 0.1
    with pytest.raises(ValueError, match="step_size"):
        step_decay(1.0, 0)


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
def test_callable_lr_gets_step_count(cls):
    seen = []

    def lr(step):
        seen.append(step)
        return 0.1

    opt = cls([t(P0)], lr=lr)
    for _ in range(3):
        opt.step([t(G1)])
    assert seen == [0, 1, 2]


def test_schedule_values_used():
    # plain SGD with g = 1 and lr = 0.5 * 0.5**t: p = 1 - 0.5 - 0.25 - 0.125 = 0.125
    opt = SGD([t([1.0])], lr=step_decay(0.5, 1, gamma=0.5))
    for _ in range(3):
        p = opt.step([t([1.0])])
    np.testing.assert_array_equal(np.asarray(p[0]), [0.125])


# ------------------------------------------------------------------------- purity
@pytest.mark.parametrize("case", list(KNOWN))
def test_nothing_mutated(case, rng):
    update, hyper, _, _ = KNOWN[case]
    params = {"w": t(rng.normal(size=(3,))), "b": [t(rng.normal(size=(2, 2)))]}
    grads = nb.tree_map(lambda p: t(rng.normal(size=p.shape)), params)
    state = INIT[update](params)
    params, state = update(params, grads, state, **hyper)   # a state with buffers in it
    snapshot = [np.array(x) for x in tree_leaves((params, grads, state))]
    keys = sorted(state)
    new_params, new_state = update(params, grads, state, **hyper)
    assert new_state is not state and sorted(state) == keys and state["step"] == 1
    assert new_params is not params
    for before, after in zip(snapshot, tree_leaves((params, grads, state))):
        np.testing.assert_array_equal(before, np.asarray(after))


def test_class_step_does_not_mutate_old_params():
    old = {"w": t(P0)}
    opt = SGD(old, lr=0.5, momentum=0.5)
    opt.step({"w": t(G1)})
    assert opt.params is not old
    np.testing.assert_array_equal(np.asarray(old["w"]), P0)


# ------------------------------------------------------------ differentiability
def test_grad_wrt_lr():
    # sum(p - lr * g) has d/dlr = -sum(g) = -(2 - 4) = 2
    def f(lr):
        new, _ = sgd_update({"w": t(P0)}, {"w": t(G1)}, sgd_init({"w": t(P0)}), lr=lr)
        return nb.sum(new["w"])
    np.testing.assert_allclose(float(nb.grad(f)(t(0.5))), 2.0)


@pytest.mark.parametrize("update", [sgd_update, adamw_update], ids=lambda f: f.__name__)
def test_grad_wrt_params(update):
    # SGD:   p - lr * (g + wd * p)          -> d/dp = 1 - lr * wd = 0.75
    # AdamW: p * (1 - lr * wd) - f(grads)   -> d/dp = 1 - lr * wd = 0.75 (m, v do not depend on p)
    def f(p):
        new, _ = update(p, {"w": t(G1)}, INIT[update](p), lr=0.5, weight_decay=0.5)
        return nb.sum(new["w"])
    g = nb.grad(f)({"w": t(P0)})
    np.testing.assert_allclose(np.asarray(g["w"]), [0.75, 0.75])


def test_grad_wrt_params_adam_l2_matches_finite_differences(rng):
    g0 = t(rng.normal(size=3))
    c = t(rng.normal(size=3))

    def f(p):
        new, _ = adam_update([p], [g0], adam_init([p]), lr=0.1, weight_decay=0.3)
        return nb.sum(new[0] * c)

    p = rng.normal(size=3)
    got = np.asarray(nb.grad(f)(t(p)))
    h = 1e-6
    fd = [(float(f(t(p + h * e))) - float(f(t(p - h * e)))) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-8)


# -------------------------------------------------------------------- end to end
CONVERGE = {
    "sgd": (SGD, dict(lr=0.1)),
    "sgd_momentum": (SGD, dict(lr=0.1, momentum=0.5)),
    "sgd_nesterov": (SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    "sgd_dampening_wd": (SGD, dict(lr=0.1, momentum=0.5, dampening=0.5, weight_decay=1e-6)),
    "sgd_step_decay": (SGD, dict(lr=step_decay(0.3, 25, gamma=0.5), momentum=0.5)),
    "adam": (Adam, dict(lr=cosine_decay(0.3, 100), betas=(0.5, 0.9))),
    "adam_wd": (Adam, dict(lr=cosine_decay(0.3, 100), betas=(0.5, 0.9), weight_decay=1e-6)),
    "adamw": (AdamW, dict(lr=cosine_decay(0.3, 100), betas=(0.5, 0.9), weight_decay=1e-6)),
}


@pytest.mark.parametrize("case", list(CONVERGE))
def test_minimises_quadratic(case, rng):
    cls, hyper = CONVERGE[case]
    c = {"w": t(rng.normal(size=(2, 3))), "b": t(rng.normal(size=3))}
    loss = lambda p: nb.sum((p["w"] - c["w"]) ** 2) + nb.sum((p["b"] - c["b"]) ** 2)  # noqa: E731
    opt = cls({"w": t(np.zeros((2, 3))), "b": t(np.zeros(3))}, **hyper)
    for _ in range(100):
        opt.step(nb.grad(loss)(opt.params))
    for k in c:
        np.testing.assert_allclose(np.asarray(opt.params[k]), np.asarray(c[k]), atol=1e-4)


def test_exports_and_docstrings():
    assert set(optim.__all__) == {"SGD", "Adam", "AdamW", "sgd_init", "sgd_update", "adam_init",
                                  "adam_update", "adamw_init", "adamw_update", "cosine_decay",
                                  "step_decay"}
    for name in optim.__all__:
        doc = getattr(optim, name).__doc__
        assert "Parameters" in doc and "Raises" in doc, name
    for obj in (SGD, Adam, AdamW, sgd_update, adam_update, adamw_update, step_decay):
        assert "(PyTorch 2.x)" in " ".join(obj.__doc__.split()), obj
