"""NumPy's functions on tensors: the nabla op where there is one, a TypeError where there is none.

``np.exp(t)`` (a ufunc, NEP 13) and ``np.sum(t)`` (a function, NEP 18) run nabla's op and
return a Tensor, differentiated like the op; a NumPy function nabla lacks raises a
``TypeError`` that says to call ``.numpy()``, instead of converting the tensor silently (which
would drop the derivative).  ``np.asarray(t)`` and ``np.array(t)`` still give the values.
"""
import re

import numpy as np
import pytest

import nabla as nb
from nabla.testing import check_grads

RNG = np.random.default_rng(0)
X = RNG.uniform(0.5, 2.0, (3, 4))          # positive, for log, sqrt and pow
Y = RNG.standard_normal((3, 4))
M = RNG.standard_normal((4, 2))

UNARY = [
    (np.exp, nb.exp), (np.log, nb.log), (np.sqrt, nb.sqrt), (np.tanh, nb.tanh), (np.negative, nb.neg),
    (np.abs, nb.abs), (np.absolute, nb.abs), (np.square, lambda x: x * x), (np.positive, lambda x: x),
]
BINARY = [
    (np.add, nb.add), (np.subtract, nb.sub), (np.multiply, nb.mul), (np.divide, nb.div),
    (np.true_divide, nb.div), (np.power, nb.pow), (np.maximum, nb.maximum), (np.minimum, nb.minimum),
]


def _name(f):
    return getattr(f, "__name__", "lambda")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("np_f, nb_f", UNARY, ids=[_name(f) for f, _ in UNARY])
def test_unary_ufuncs_are_the_nabla_ops(np_f, nb_f, dtype):
    x = X.astype(dtype)
    got = np_f(nb.asarray(x))
    assert isinstance(got, nb.Tensor) and got.dtype == dtype
    np.testing.assert_array_equal(got.numpy(), nb_f(nb.asarray(x)).numpy())
    np.testing.assert_allclose(got.numpy(), np_f(x), rtol=1e-6)
    g = nb.grad(lambda t: nb.sum(np_f(t)))(x)
    np.testing.assert_array_equal(g.numpy(), nb.grad(lambda t: nb.sum(nb_f(t)))(x).numpy())


@pytest.mark.parametrize("np_f, nb_f", BINARY, ids=[_name(f) for f, _ in BINARY])
@pytest.mark.parametrize("other", ["tensor", "ndarray", "float"])
def test_binary_ufuncs_are_the_nabla_ops(np_f, nb_f, other):
    y_pos = np.abs(Y) + 0.5     # a positive base for power
    y = {"tensor": nb.asarray(y_pos), "ndarray": y_pos, "float": 1.5}[other]
    x = nb.asarray(X)
    for got, want in [(np_f(x, y), nb_f(x, y)), (np_f(y, x), nb_f(y, x))]:
        assert isinstance(got, nb.Tensor)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    gx, gy = nb.grad(lambda a, b: nb.sum(np_f(a, b)), argnums=(0, 1))(X, y_pos)
    wx, wy = nb.grad(lambda a, b: nb.sum(nb_f(a, b)), argnums=(0, 1))(X, y_pos)
    np.testing.assert_array_equal(gx.numpy(), wx.numpy())
    np.testing.assert_array_equal(gy.numpy(), wy.numpy())


def test_matmul_and_ndarray_operators_give_tensors():
    x = nb.asarray(X)
    for got, want in [(np.matmul(x, M), X @ M), (Y.T @ x, Y.T @ X), (Y + x, Y + X), (Y * x, Y * X),
                      (Y - x, Y - X), (Y / x, Y / X), (Y ** nb.asarray(2.0), Y ** 2)]:
        assert isinstance(got, nb.Tensor)
        np.testing.assert_allclose(got.numpy(), want)
    assert (np.float32(2.0) * nb.asarray(X.astype(np.float32))).dtype == np.float32   # the scalar is weak
    g = nb.grad(lambda w: nb.sum(Y.T @ w))(np.ones((3, 2)))      # d/dw sum(A w) = A^T 1
    np.testing.assert_allclose(g.numpy(), Y @ np.ones((4, 2)))


def test_comparisons_and_tests_are_bool_tensors():
    x, y = nb.asarray(Y), Y[::-1].copy()
    for f in (np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal):
        got = f(x, y)
        assert isinstance(got, nb.Tensor) and got.dtype == bool
        np.testing.assert_array_equal(got.numpy(), f(Y, y))
    assert ((y < x).numpy() == (y < Y)).all() and ((y == x).numpy() == (y == Y)).all()
    t = nb.asarray(np.array([1.0, np.nan, np.inf, -np.inf]))
    for f in (np.isnan, np.isinf, np.isfinite):
        np.testing.assert_array_equal(f(t).numpy(), f(t.numpy()))
    assert bool(np.isfinite(nb.sum(x)))


FUNCTIONS = {   # each called on ndarrays (NumPy computes) and on tensors (nabla does)
    "sum": lambda x, y: np.sum(x), "sum_axis": lambda x, y: np.sum(x, axis=0),
    "sum_keepdims": lambda x, y: np.sum(x, 1, keepdims=True), "mean": lambda x, y: np.mean(x),
    "mean_axes": lambda x, y: np.mean(x, axis=(0, 1), keepdims=True), "max": lambda x, y: np.max(x, axis=1),
    "amax": lambda x, y: np.amax(x), "min": lambda x, y: np.min(x, axis=0), "amin": lambda x, y: np.amin(x),
    "reshape": lambda x, y: np.reshape(x, (4, 3)), "reshape_flat": lambda x, y: np.reshape(x, -1),
    "ravel": lambda x, y: np.ravel(x), "transpose": lambda x, y: np.transpose(x),
    "transpose_axes": lambda x, y: np.transpose(np.expand_dims(x, 0), (2, 0, 1)),
    "squeeze": lambda x, y: np.squeeze(np.expand_dims(x, 0)), "expand_dims": lambda x, y: np.expand_dims(x, 1),
    "expand_dims_tuple": lambda x, y: np.expand_dims(x, (0, -1)),
    "broadcast_to": lambda x, y: np.broadcast_to(x, (2, 3, 4)), "stack": lambda x, y: np.stack([x, y], axis=1),
    "where": lambda x, y: np.where(Y > 0, x, y),
}


@pytest.mark.parametrize("f", FUNCTIONS.values(), ids=FUNCTIONS.keys())
def test_functions_are_the_nabla_ops_with_gradients(f):
    got = f(nb.asarray(X), nb.asarray(Y))
    assert isinstance(got, nb.Tensor)
    np.testing.assert_allclose(got.numpy(), f(X, Y))
    check_grads(f, (X, Y), order=1)


def test_shape_functions_and_like():
    t = nb.asarray(X)
    assert np.shape(t) == (3, 4) and np.ndim(t) == 2 and np.size(t) == 12 and np.size(t, 1) == 4
    for f, fill in ((np.zeros_like, 0.0), (np.ones_like, 1.0)):
        got = f(t)
        assert isinstance(got, nb.Tensor) and got.dtype == t.dtype and (got.numpy() == fill).all()
    assert np.zeros_like(t, dtype=np.float32).dtype == np.float32


def test_a_model_written_with_numpy_functions_is_differentiated():
    def f(w, x):
        return np.mean(np.tanh(x @ w) ** 2) + np.sum(np.exp(-np.abs(w)))

    check_grads(f, (M, Y), order=2)
    np.testing.assert_allclose(float(f(nb.asarray(M), nb.asarray(Y))), f(M, Y))


@pytest.mark.parametrize("call, name", [
    (lambda t: np.sin(t), "numpy.sin"),
    (lambda t: np.concatenate([t, t]), "numpy.concatenate"),
    (lambda t: np.linalg.norm(t), "numpy.linalg.norm"),
    (lambda t: np.add.reduce(t), "numpy.add.reduce"),
    (lambda t: np.cumsum(t), "numpy.cumsum"),
    (lambda t: np.ones(4) // t, "numpy.floor_divide"),
    (lambda t: np.where(t > 0), "numpy.where with one argument (numpy.nonzero)"),
    (lambda t: np.sum(t, where=np.ones(4, bool)), "numpy.sum(..., where=...)"),
    (lambda t: np.exp(t, dtype=np.float64), "numpy.exp(..., dtype=...)"),
    (lambda t: np.reshape(t, (2, 2), order="F"), "numpy.reshape(..., order='F')"),
], ids=["sin", "concatenate", "linalg.norm", "add.reduce", "cumsum", "floor_divide", "where1", "sum_where",
        "exp_dtype", "reshape_F"])
@pytest.mark.parametrize("traced", [False, True], ids=["concrete", "traced"])
def test_functions_nabla_lacks_raise_naming_numpy(call, name, traced):
    message = (rf"^{re.escape(name)} is not supported on nabla Tensors; call \.numpy\(\) first to "
               r"get a NumPy array \(this drops gradients\)$")
    x = np.arange(1.0, 5.0)
    with pytest.raises(TypeError, match=message):
        if traced:
            nb.grad(lambda t: nb.sum(call(t)))(x)
        else:
            call(nb.asarray(x))


@pytest.mark.parametrize("call", [
    lambda t: np.exp(t, out=np.empty(3)),
    lambda t: np.add(t, 1.0, out=np.empty(3)),
    lambda t: np.sum(t, out=np.empty(())),
    lambda t: np.stack([t, t], out=np.empty((2, 3))),
], ids=["exp", "add", "sum", "stack"])
def test_out_is_refused(call):
    with pytest.raises(TypeError, match=r"with out= is not supported on nabla Tensors: a tensor is never written"):
        call(nb.asarray(np.ones(3)))


def test_in_place_ndarray_operators_with_a_tensor_are_refused():
    a = np.zeros(3)
    with pytest.raises(TypeError, match=r"numpy\.add with out="):
        a += nb.asarray(np.ones(3))
    assert (a == 0).all()


def test_asarray_and_array_give_the_values():
    x = np.arange(6.0).reshape(2, 3)
    t = nb.asarray(x)
    a = np.asarray(t)
    assert type(a) is np.ndarray and np.shares_memory(a, x) and not a.flags.writeable
    b = np.array(t)
    assert type(b) is np.ndarray and b.flags.writeable and not np.shares_memory(b, x)
    np.testing.assert_array_equal(a, x)
    np.testing.assert_array_equal(b, x)
    np.testing.assert_array_equal(np.asarray(t, dtype=np.float32), x.astype(np.float32))
    np.testing.assert_array_equal(np.array([t, t]), np.stack([x, x]))
    np.testing.assert_allclose(t, x)          # NumPy's testing functions read the values too


def test_asarray_of_a_traced_tensor_still_refuses():
    with pytest.raises(TypeError, match="would drop its derivative"):
        nb.grad(lambda t: nb.sum(t) * float(np.asarray(t).sum()))(np.ones(3))


def test_torch_tensor_that_requires_grad_asks_for_detach():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (only the crosscheck venv has it)")
    t = torch.ones(3, requires_grad=True)
    with pytest.raises(TypeError, match=r"requires grad.*call \.detach\(\) on it first"):
        nb.asarray(t)
    with pytest.raises(TypeError, match=r"argument 'x' is a Tensor that requires grad.*\.detach\(\)"):
        nb.conv2d(torch.ones(1, 3, 3, 1, requires_grad=True), np.ones((1, 1, 1, 1), np.float32))
    np.testing.assert_array_equal(nb.asarray(t.detach()).numpy(), np.ones(3, np.float32))
