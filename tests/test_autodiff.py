"""The autodiff transforms (grad, value_and_grad, vjp, jvp) to any order, the
non-convolution ops (values against NumPy, derivatives against finite
differences with ``nabla.testing.check_grads``), and the Tensor API.

Gradient checks run in float64, where finite differences mean something.
"""
import numpy as np
import pytest

import nabla as nb
from nabla.testing import check_grads

F64_RTOL = 1e-12


def _rng(seed=0):
    return np.random.default_rng(seed)


def t64(*shape, seed=0, low=None):
    """A float64 tensor of standard normals (or uniform in [low, low + 1) if low is set)."""
    r = _rng(seed)
    a = r.standard_normal(shape) if low is None else low + r.random(shape)
    return nb.asarray(a.astype(np.float64))


def close(got, want, rtol=F64_RTOL, atol=0.0):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=rtol, atol=atol)


def scalar(v):
    return nb.asarray(np.array(v, dtype=np.float64))


# =====================================================================================
# grad / value_and_grad
# =====================================================================================
class TestGrad:
    def test_cube(self):
        x = scalar(2.0)
        f = lambda x: x ** 3  # noqa: E731
        close(nb.grad(f)(x), 12.0)                      # 3x^2
        close(nb.grad(nb.grad(f))(x), 12.0)             # 6x
        close(nb.grad(nb.grad(nb.grad(f)))(x), 6.0)     # 6
        close(nb.grad(nb.grad(nb.grad(nb.grad(f))))(x), 0.0)

    def test_grad_of_grad_at_many_points(self):
        for v in (-1.5, 0.0, 0.5, 3.0):
            close(nb.grad(nb.grad(lambda x: x ** 3))(scalar(v)), 6 * v)

    def test_second_derivative_of_square_at_zero(self):
        # d^2/dx^2 x**2 = 2 everywhere, including x = 0 (no 0 * log(0) NaN).
        close(nb.grad(nb.grad(lambda x: x ** 2))(scalar(0.0)), 2.0)
        close(nb.grad(lambda x: x ** 2)(scalar(0.0)), 0.0)

    def test_vector_gradient(self):
        x = t64(5)
        g = nb.grad(lambda x: nb.sum(x * x * x))(x)
        close(g, 3 * x.numpy() ** 2)
        assert g.dtype == np.float64 and g.shape == (5,)

    def test_value_and_grad(self):
        x = t64(4)
        v, g = nb.value_and_grad(lambda x: nb.sum(nb.exp(x)))(x)
        close(v, np.exp(x.numpy()).sum())
        close(g, np.exp(x.numpy()))

    def test_argnums_int_tuple_negative(self):
        a, b, c = t64(3, seed=1), t64(3, seed=2), t64(3, seed=3)

        def f(a, b, c):
            return nb.sum(a * b * b + c)

        A, B = a.numpy(), b.numpy()
        close(nb.grad(f)(a, b, c), B * B)
        close(nb.grad(f, argnums=1)(a, b, c), 2 * A * B)
        close(nb.grad(f, argnums=-1)(a, b, c), np.ones(3))
        close(nb.grad(f, argnums=-2)(a, b, c), 2 * A * B)
        ga, gc = nb.grad(f, argnums=(0, 2))(a, b, c)
        close(ga, B * B)
        close(gc, np.ones(3))
        g = nb.grad(f, argnums=(1,))(a, b, c)
        assert isinstance(g, tuple) and len(g) == 1
        close(g[0], 2 * A * B)
        v, (gb, ga2) = nb.value_and_grad(f, argnums=(-2, 0))(a, b, c)
        close(v, np.sum(A * B * B + c.numpy()))
        close(gb, 2 * A * B)
        close(ga2, B * B)

    def test_argnums_out_of_range(self):
        with pytest.raises(ValueError, match="argnums"):
            nb.grad(lambda a: nb.sum(a), argnums=1)(t64(2))
        with pytest.raises(ValueError, match="argnums"):
            nb.grad(lambda a: nb.sum(a), argnums=-2)(t64(2))

    def test_has_aux(self):
        x = t64(3)

        def f(x):
            y = x * 2.0
            return nb.sum(y * y), {"y": y, "n": 7}

        g, aux = nb.grad(f, has_aux=True)(x)
        close(g, 8 * x.numpy())
        close(aux["y"], 2 * x.numpy())
        assert aux["n"] == 7
        (v, aux2), g2 = nb.value_and_grad(f, has_aux=True)(x)
        close(v, np.sum(4 * x.numpy() ** 2))
        close(aux2["y"], 2 * x.numpy())
        close(g2, g)

    def test_non_scalar_output_is_an_error(self):
        with pytest.raises(ValueError, match="scalar"):
            nb.grad(lambda x: x * 2)(t64(3))

    def test_output_independent_of_input(self):
        g = nb.grad(lambda x: nb.sum(nb.ones((2,), np.float64)))(t64(3))
        close(g, np.zeros(3))
        assert g.shape == (3,)

    def test_input_used_twice_and_unused(self):
        a, b = t64(3, seed=1), t64(3, seed=2)
        ga, gb = nb.grad(lambda a, b: nb.sum(a * a + a), argnums=(0, 1))(a, b)
        close(ga, 2 * a.numpy() + 1)
        close(gb, np.zeros(3))

    def test_numpy_and_python_arguments(self):
        close(nb.grad(lambda x: nb.sum(x ** 2))(np.array([1.0, 2.0])), [2.0, 4.0])

    def test_pytree_parameters(self):
        r = _rng(5)
        params = {
            "conv": [nb.asarray(r.standard_normal((2, 2, 1, 2))), nb.asarray(r.standard_normal(2))],
            "dense": (nb.asarray(r.standard_normal((2, 3))), nb.asarray(r.standard_normal(3))),
        }
        x = nb.asarray(r.standard_normal((2, 4, 4, 1)))

        def loss(p, x):
            h = nb.tanh(nb.conv2d(x, p["conv"][0], bias=p["conv"][1]))
            h = nb.mean(h, axis=(1, 2))
            return nb.sum(nb.logsoftmax(h @ p["dense"][0] + p["dense"][1]) ** 2)

        g = nb.grad(loss)(params, x)
        assert isinstance(g, dict) and set(g) == {"conv", "dense"}
        assert isinstance(g["conv"], list) and isinstance(g["dense"], tuple)
        for gl, pl in zip(g["conv"] + list(g["dense"]), params["conv"] + list(params["dense"])):
            assert gl.shape == pl.shape and gl.dtype == np.float64
        # against finite differences, leaf by leaf
        check_grads(loss, (params, x), order=1)
        # argnums over (params, x)
        gp, gx = nb.grad(loss, argnums=(0, 1))(params, x)
        close(gp["dense"][0], g["dense"][0])
        assert gx.shape == x.shape


# =====================================================================================
# vjp / jvp
# =====================================================================================
class TestVJPJVP:
    def test_vjp_returns_tuple_per_primal(self):
        a, b = t64(3, seed=1), t64(3, seed=2)
        out, pb = nb.vjp(lambda a, b: a * b, a, b)
        close(out, a.numpy() * b.numpy())
        ct = t64(3, seed=3)
        res = pb(ct)
        assert isinstance(res, tuple) and len(res) == 2
        close(res[0], ct.numpy() * b.numpy())
        close(res[1], ct.numpy() * a.numpy())
        (ga,) = nb.vjp(lambda a: nb.exp(a), a)[1](ct)
        close(ga, ct.numpy() * np.exp(a.numpy()))

    def test_vjp_has_aux(self):
        a = t64(3)
        res = nb.vjp(lambda a: (a * 3.0, "aux!"), a, has_aux=True)
        assert len(res) == 3
        out, pb, aux = res
        assert aux == "aux!"
        close(out, 3 * a.numpy())
        close(pb(nb.ones((3,), np.float64))[0], np.full(3, 3.0))

    def test_vjp_pytree_in_and_out(self):
        a, b = t64(2, seed=1), t64(2, seed=2)

        def f(p):
            return {"s": p["a"] * p["b"], "l": [p["a"] ** 2, nb.sum(p["b"])]}

        out, pb = nb.vjp(f, {"a": a, "b": b})
        close(out["l"][0], a.numpy() ** 2)
        ct = {"s": nb.ones((2,), np.float64), "l": [nb.ones((2,), np.float64), scalar(2.0)]}
        (g,) = pb(ct)
        close(g["a"], b.numpy() + 2 * a.numpy())
        close(g["b"], a.numpy() + 2.0)

    def test_vjp_bad_cotangent(self):
        _, pb = nb.vjp(lambda a: a * 2, t64(3))
        with pytest.raises(ValueError, match="shape"):
            pb(nb.ones((4,), np.float64))

    def test_pullback_called_twice(self):
        a = t64(3)
        _, pb = nb.vjp(lambda a: nb.tanh(a), a)
        g1, g2 = pb(nb.ones((3,), np.float64))[0], pb(nb.ones((3,), np.float64))[0]
        close(g1, g2)

    def test_jvp(self):
        a, b = t64(3, seed=1), t64(3, seed=2)
        ta, tb = t64(3, seed=3), t64(3, seed=4)
        out, tan = nb.jvp(lambda a, b: a * b, (a, b), (ta, tb))
        close(out, a.numpy() * b.numpy())
        close(tan, ta.numpy() * b.numpy() + a.numpy() * tb.numpy())

    def test_jvp_has_aux_and_pytrees(self):
        p = {"w": t64(2, seed=1), "b": [t64(2, seed=2)]}
        tp = {"w": t64(2, seed=3), "b": [t64(2, seed=4)]}
        out, tan, aux = nb.jvp(lambda p: ((p["w"] * p["b"][0], [nb.sum(p["w"])]), 5), (p,), (tp,),
                               has_aux=True)
        assert aux == 5
        W, B, TW, TB = (v.numpy() for v in (p["w"], p["b"][0], tp["w"], tp["b"][0]))
        close(out[0], W * B)
        close(tan[0], TW * B + W * TB)
        close(tan[1][0], TW.sum())

    def test_jvp_constant_output(self):
        out, tan = nb.jvp(lambda a: nb.ones((2,), np.float64), (t64(3),), (t64(3),))
        close(tan, np.zeros(2))

    def test_jvp_requires_sequences(self):
        with pytest.raises(TypeError):
            nb.jvp(lambda a: a, t64(2), t64(2))
        with pytest.raises(ValueError):
            nb.jvp(lambda a: a, (t64(2),), (t64(3),))


# =====================================================================================
# any order, nesting, perturbation confusion
# =====================================================================================
def _quadratic():
    r = _rng(11)
    A = r.standard_normal((4, 4))
    b = r.standard_normal(4)
    f = lambda x: 0.5 * nb.sum(x * (nb.asarray(A) @ x)) + nb.sum(nb.asarray(b) * x)  # noqa: E731
    return f, 0.5 * (A + A.T), A, b


class TestHigherOrder:
    def test_hvp_quadratic(self):
        f, H, A, b = _quadratic()
        x, v = t64(4, seed=1), t64(4, seed=2)
        # gradient: 0.5 (A + A^T) x + b; Hessian 0.5 (A + A^T)
        close(nb.grad(f)(x), H @ x.numpy() + b)
        _, hvp = nb.jvp(nb.grad(f), (x,), (v,))               # forward-over-reverse
        close(hvp, H @ v.numpy())
        hvp2 = nb.grad(lambda x: nb.sum(nb.grad(f)(x) * v))(x)  # reverse-over-reverse
        close(hvp2, H @ v.numpy())
        hvp3 = nb.grad(lambda x: nb.jvp(f, (x,), (v,))[1])(x)   # reverse-over-forward
        close(hvp3, H @ v.numpy())
        _, tt = nb.jvp(lambda x: nb.jvp(f, (x,), (v,))[1], (x,), (v,))  # forward-over-forward
        close(tt, v.numpy() @ H @ v.numpy())

    def test_full_hessian_rows(self):
        f, H, _, _ = _quadratic()
        x = t64(4, seed=3)
        rows = [nb.jvp(nb.grad(f), (x,), (nb.asarray(np.eye(4)[i]),))[1].numpy() for i in range(4)]
        close(np.stack(rows), H, atol=1e-14)

    def test_hvp_through_conv(self):
        # f(x) = sum(conv2d(x, w)^3).  conv2d is linear in x: y = M x, so
        # grad = M^T (3 y^2) and Hessian = M^T diag(6 y) M, with M built column by column.
        r = _rng(7)
        xs, ws = (1, 4, 4, 2), (2, 2, 2, 3)
        x = nb.asarray(r.standard_normal(xs))
        w = nb.asarray(r.standard_normal(ws))
        v = nb.asarray(r.standard_normal(xs))
        conv = lambda x: nb.conv2d(x, w, padding=(1, 0, 0, 1), stride=(1, 2))  # noqa: E731
        f = lambda x: nb.sum(conv(x) ** 3)  # noqa: E731
        n = int(np.prod(xs))
        M = np.stack([conv(nb.asarray(np.eye(n)[k].reshape(xs))).numpy().ravel() for k in range(n)], axis=1)
        y = M @ x.numpy().ravel()
        H = M.T @ np.diag(6 * y) @ M
        close(nb.grad(f)(x).numpy().ravel(), M.T @ (3 * y ** 2), rtol=1e-11)
        _, hvp = nb.jvp(nb.grad(f), (x,), (v,))
        close(hvp.numpy().ravel(), H @ v.numpy().ravel(), rtol=1e-10, atol=1e-12)
        _, pb = nb.vjp(lambda x: nb.jvp(f, (x,), (v,))[1], x)     # vjp of jvp
        close(pb(scalar(1.0))[0].numpy().ravel(), H @ v.numpy().ravel(), rtol=1e-10, atol=1e-12)

    def test_hvp_through_filter_quadratic(self):
        # f(w) = 0.5 ||conv(x, w)||^2 = 0.5 ||M w||^2: Hessian M^T M.
        r = _rng(8)
        x = nb.asarray(r.standard_normal((2, 5, 4, 2)))
        ws = (3, 2, 1, 4)
        conv = lambda w: nb.conv2d(x, w, dilation=(2, 1), groups=2, padding=1)  # noqa: E731
        f = lambda w: 0.5 * nb.sum(conv(w) ** 2)  # noqa: E731
        n = int(np.prod(ws))
        M = np.stack([conv(nb.asarray(np.eye(n)[k].reshape(ws))).numpy().ravel() for k in range(n)], axis=1)
        w, v = nb.asarray(r.standard_normal(ws)), nb.asarray(r.standard_normal(ws))
        _, hvp = nb.jvp(nb.grad(f), (w,), (v,))
        close(hvp.numpy().ravel(), M.T @ M @ v.numpy().ravel(), rtol=1e-10, atol=1e-12)

    def test_jvp_of_jvp_and_vjp_of_jvp(self):
        x = scalar(1.5)
        one = scalar(1.0)
        f = lambda x: x ** 4  # noqa: E731
        d1 = lambda x: nb.jvp(f, (x,), (one,))[1]  # noqa: E731
        close(d1(x), 4 * 1.5 ** 3)
        close(nb.jvp(d1, (x,), (one,))[1], 12 * 1.5 ** 2)
        d2 = lambda x: nb.jvp(d1, (x,), (one,))[1]  # noqa: E731
        close(nb.jvp(d2, (x,), (one,))[1], 24 * 1.5)
        _, pb = nb.vjp(d1, x)
        close(pb(scalar(2.0))[0], 2 * 12 * 1.5 ** 2)
        close(nb.grad(nb.grad(nb.grad(f)))(x), 24 * 1.5)

    def test_mixed_modes_elementwise(self):
        x = t64(4, seed=4, low=0.5)
        X = x.numpy()
        f = lambda x: nb.sum(nb.exp(x) * nb.log(x))  # noqa: E731
        # f'' elementwise: e^x (log x + 2/x - 1/x^2)
        want = np.exp(X) * (np.log(X) + 2 / X - 1 / X ** 2)
        ones = nb.ones_like(x)
        close(nb.jvp(nb.grad(f), (x,), (ones,))[1], want, rtol=1e-12)
        close(nb.grad(lambda x: nb.sum(nb.grad(f)(x)))(x), want, rtol=1e-12)

    def test_no_perturbation_confusion_grad(self):
        # d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1 at any point (a confused system says 2).
        for v in (-2.0, 0.0, 1.0, 3.5):
            x = scalar(v)
            f = lambda x: x * nb.grad(lambda y: x + y)(x)  # noqa: E731
            close(nb.grad(f)(x), 1.0)
            close(nb.jvp(f, (x,), (scalar(1.0),))[1], 1.0)

    def test_no_perturbation_confusion_nested_jvp(self):
        one = scalar(1.0)

        # f(x) = x * (d/dy (x + y) at y = x), with a jvp inside a jvp: tangent out is 1.
        def f(x):
            return x * nb.jvp(lambda y: x + y, (x,), (one,))[1]

        out, tan = nb.jvp(f, (scalar(1.0),), (one,))
        close(out, 1.0)
        close(tan, 1.0)

        # g(x) = d/dy (x * y) at y = 2 = x, whose derivative is 1; the inner jvp must
        # not pick up the outer perturbation of x.
        def g(x):
            return nb.jvp(lambda y: x * y, (scalar(2.0),), (one,))[1]

        close(nb.jvp(g, (scalar(3.0),), (one,))[1], 1.0)
        close(nb.grad(g)(scalar(3.0)), 1.0)

        # h(x) = x * d/dy (x * y)|_{y=x} = x^2: derivative 2x.
        def h(x):
            return x * nb.jvp(lambda y: x * y, (x,), (one,))[1]

        close(nb.jvp(h, (scalar(3.0),), (one,))[1], 6.0)
        close(nb.grad(h)(scalar(3.0)), 6.0)

    def test_aux_of_inner_transform_is_differentiable_by_outer(self):
        x = t64(2)

        def via_vjp(x):
            return nb.sum(nb.vjp(lambda y: (nb.sum(y ** 2), y * 3.0), x, has_aux=True)[2])

        def via_grad(x):
            return nb.grad(lambda y: (nb.sum(y ** 2), nb.sum(y * 3.0)), has_aux=True)(x)[1]

        def via_jvp(x):
            return nb.jvp(lambda y: (nb.sum(y ** 2), nb.sum(y * 3.0)), (x,), (x,), has_aux=True)[2]

        for f in (via_vjp, via_grad, via_jvp):
            close(nb.grad(f)(x), [3.0, 3.0])
            close(nb.jvp(f, (x,), (nb.ones_like(x),))[1], 6.0)

    def test_stop_gradient(self):
        x = scalar(3.0)
        close(nb.grad(lambda x: x * nb.stop_gradient(x))(x), 3.0)
        close(nb.jvp(lambda x: x * nb.stop_gradient(x), (x,), (scalar(1.0),))[1], 3.0)

    def test_pool_and_conv_inside_any_order(self):
        r = _rng(9)
        x = nb.asarray(r.standard_normal((1, 5, 5, 2)))
        w = nb.asarray(r.standard_normal((2, 2, 2, 2)))

        def f(x, w):
            h = nb.conv2d(x, w, padding=1)
            return nb.avg_pool2d(nb.tanh(h), kernel_size=2, stride=1) + \
                nb.max_pool2d(h * h, kernel_size=3, stride=2, padding=1)[:, :1, :1, :]

        check_grads(f, (x, w), order=2)


# =====================================================================================
# basic ops: values against NumPy, derivatives against finite differences (order 2)
# =====================================================================================
def _softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _logsumexp(a, axis=-1, keepdims=False):
    m = a.max(axis=axis, keepdims=True)
    out = np.log(np.exp(a - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis)


# (id, nabla function, numpy function, input shapes / arrays, input kind)
# kind: "n" standard normal, "p" positive in [0.5, 1.5), arrays given explicitly otherwise
UNARY = [
    ("neg", nb.neg, np.negative, "n"),
    ("neg-op", lambda x: -x, np.negative, "n"),
    ("exp", nb.exp, np.exp, "n"),
    ("log", nb.log, np.log, "p"),
    ("sqrt", nb.sqrt, np.sqrt, "p"),
    ("tanh", nb.tanh, np.tanh, "n"),
    ("relu", nb.relu, lambda a: np.maximum(a, 0), "n"),
    ("sigmoid", nb.sigmoid, lambda a: 1 / (1 + np.exp(-a)), "n"),
    ("abs", nb.abs, np.abs, "n"),
    ("pow-scalar", lambda x: x ** 3, lambda a: a ** 3, "n"),
    ("pow-half", lambda x: nb.pow(x, 0.5), np.sqrt, "p"),
    ("rpow", lambda x: 2.0 ** x, lambda a: 2.0 ** a, "n"),
    ("sum-all", nb.sum, np.sum, "n"),
    ("sum-int", lambda x: nb.reduce_sum(x, axis=1), lambda a: a.sum(axis=1), "n"),
    ("sum-neg", lambda x: nb.sum(x, axis=-1), lambda a: a.sum(axis=-1), "n"),
    ("sum-tuple", lambda x: nb.sum(x, axis=(0, 2)), lambda a: a.sum(axis=(0, 2)), "n"),
    ("sum-keep", lambda x: nb.sum(x, axis=(0, 2), keepdims=True), lambda a: a.sum(axis=(0, 2), keepdims=True), "n"),
    ("sum-method", lambda x: x.sum(axis=1, keepdims=True), lambda a: a.sum(axis=1, keepdims=True), "n"),
    ("mean-all", nb.mean, np.mean, "n"),
    ("mean-tuple", lambda x: nb.mean(x, axis=(1, 2)), lambda a: a.mean(axis=(1, 2)), "n"),
    ("mean-keep", lambda x: x.mean(axis=0, keepdims=True), lambda a: a.mean(axis=0, keepdims=True), "n"),
    ("max-all", nb.max, np.max, "n"),
    ("max-int", lambda x: nb.reduce_max(x, axis=1), lambda a: a.max(axis=1), "n"),
    ("max-tuple-keep", lambda x: x.max(axis=(0, 2), keepdims=True), lambda a: a.max(axis=(0, 2), keepdims=True), "n"),
    ("reshape", lambda x: nb.reshape(x, (4, 6)), lambda a: a.reshape(4, 6), "n"),
    ("reshape-neg1", lambda x: x.reshape(-1, 3), lambda a: a.reshape(-1, 3), "n"),
    ("reshape-args", lambda x: x.reshape(2, -1), lambda a: a.reshape(2, -1), "n"),
    ("permute", lambda x: nb.permute(x, (2, 0, 1)), lambda a: a.transpose(2, 0, 1), "n"),
    ("permute-method", lambda x: x.permute(1, 2, 0), lambda a: a.transpose(1, 2, 0), "n"),
    ("transpose", nb.transpose, np.transpose, "n"),
    ("transpose-axes", lambda x: nb.transpose(x, (0, 2, 1)), lambda a: a.transpose(0, 2, 1), "n"),
    (".T", lambda x: x.T, lambda a: a.T, "n"),
    ("flatten", nb.flatten, lambda a: a.ravel(), "n"),
    ("flatten-1", lambda x: nb.flatten(x, 1), lambda a: a.reshape(2, 12), "n"),
    ("flatten-method", lambda x: x.flatten(0, 1), lambda a: a.reshape(6, 4), "n"),
    ("expand_dims", lambda x: nb.expand_dims(x, 1), lambda a: np.expand_dims(a, 1), "n"),
    ("expand_dims-neg", lambda x: nb.expand_dims(x, -1), lambda a: np.expand_dims(a, -1), "n"),
    ("broadcast_to", lambda x: nb.broadcast_to(x[:, :1, :], (5, 2, 3, 4)),
     lambda a: np.broadcast_to(a[:, :1, :], (5, 2, 3, 4)), "n"),
    ("pad", lambda x: nb.pad(x, ((1, 0), (0, 2), (3, 1))), lambda a: np.pad(a, ((1, 0), (0, 2), (3, 1))), "n"),
    ("pad-value", lambda x: nb.pad(x, ((0, 1), (1, 1), (0, 0)), value=-2.5),
     lambda a: np.pad(a, ((0, 1), (1, 1), (0, 0)), constant_values=-2.5), "n"),
    ("getitem-slices", lambda x: x[1:, ::2, -3:], lambda a: a[1:, ::2, -3:], "n"),
    ("getitem-int", lambda x: x[1, :, 2], lambda a: a[1, :, 2], "n"),
    ("getitem-neg-int", lambda x: x[-1], lambda a: a[-1], "n"),
    ("getitem-intarray", lambda x: x[:, np.array([2, 0, 2, 2])], lambda a: a[:, np.array([2, 0, 2, 2])], "n"),
    ("getitem-intarrays", lambda x: x[np.array([0, 1, 0]), np.array([2, 2, 2])],
     lambda a: a[np.array([0, 1, 0]), np.array([2, 2, 2])], "n"),
    ("getitem-newaxis-ellipsis", lambda x: x[None, ..., 1], lambda a: a[None, ..., 1], "n"),
    ("softmax", nb.softmax, _softmax, "n"),
    ("softmax-axis0", lambda x: nb.softmax(x, axis=0), lambda a: _softmax(a, 0), "n"),
    ("logsoftmax", nb.logsoftmax, lambda a: np.log(_softmax(a)), "n"),
    ("logsumexp", nb.logsumexp, _logsumexp, "n"),
    ("logsumexp-axis-keep", lambda x: nb.logsumexp(x, axis=1, keepdims=True),
     lambda a: _logsumexp(a, 1, True), "n"),
    ("squeeze", lambda x: nb.squeeze(x[:, :1, :]), lambda a: np.squeeze(a[:, :1, :]), "n"),
    ("squeeze-axis", lambda x: nb.squeeze(x[:1, :1, :], 1), lambda a: np.squeeze(a[:1, :1, :], 1), "n"),
]


def _input(kind, shape=(2, 3, 4), seed=0):
    return t64(*shape, seed=seed) if kind == "n" else t64(*shape, seed=seed, low=0.5)


@pytest.mark.parametrize("name,f,npf,kind", UNARY, ids=[u[0] for u in UNARY])
def test_unary_values(name, f, npf, kind):
    x = _input(kind)
    y = f(x)
    want = npf(x.numpy())
    assert isinstance(y, nb.Tensor)
    assert y.shape == np.shape(want), (y.shape, np.shape(want))
    assert y.dtype == np.float64
    close(y, want, rtol=1e-13, atol=1e-15)
    y32 = f(nb.asarray(x.numpy().astype(np.float32)))
    assert y32.dtype == np.float32
    close(y32, want, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("name,f,npf,kind", UNARY, ids=[u[0] for u in UNARY])
def test_unary_grads(name, f, npf, kind):
    check_grads(f, (_input(kind),), order=2)


BINARY = [
    ("add", nb.add, np.add, "n"),
    ("add-op", lambda a, b: a + b, np.add, "n"),
    ("sub", nb.sub, np.subtract, "n"),
    ("sub-op", lambda a, b: a - b, np.subtract, "n"),
    ("mul", nb.mul, np.multiply, "n"),
    ("mul-op", lambda a, b: a * b, np.multiply, "n"),
    ("div", nb.div, np.divide, "p"),
    ("div-op", lambda a, b: a / b, np.divide, "p"),
    ("pow", nb.pow, np.power, "p"),
    ("pow-op", lambda a, b: a ** b, np.power, "p"),
    ("maximum", nb.maximum, np.maximum, "n"),
    ("minimum", nb.minimum, np.minimum, "n"),
    ("where", lambda a, b: nb.where(a.numpy() > 0.1, a, b),
     lambda a, b: np.where(a > 0.1, a, b), "n"),
]
SHAPES = [
    ((2, 3), (2, 3)),
    ((2, 3), (3,)),
    ((3,), (4, 2, 3)),
    ((4, 1, 3), (2, 1)),
    ((), (2, 3)),
    ((2, 3), ()),
]


@pytest.mark.parametrize("sa,sb", SHAPES, ids=[f"{a}-{b}" for a, b in SHAPES])
@pytest.mark.parametrize("name,f,npf,kind", BINARY, ids=[b[0] for b in BINARY])
def test_binary(name, f, npf, kind, sa, sb):
    a, b = _input(kind, sa, seed=1), _input(kind, sb, seed=2)
    y = f(a, b)
    want = npf(a.numpy(), b.numpy())
    assert y.shape == np.shape(want) and y.dtype == np.float64
    close(y, want, rtol=1e-14)
    check_grads(f, (a, b), order=2)


def test_pow_tensor_exponent_values_and_grads():
    x = t64(3, seed=1, low=0.5)
    y = t64(3, seed=2)
    gx, gy = nb.grad(lambda x, y: nb.sum(x ** y), argnums=(0, 1))(x, y)
    X, Y = x.numpy(), y.numpy()
    close(gx, Y * X ** (Y - 1))
    close(gy, X ** Y * np.log(X))
    # d/dy x**y at x == 0 is taken as 0 (JAX/PyTorch), not NaN
    gy0 = nb.grad(lambda y: nb.sum(nb.zeros((3,), np.float64) ** y))(nb.asarray(np.array([1.0, 2.0, 3.0])))
    close(gy0, np.zeros(3))


MATMUL = [
    ((4,), (4,)),
    ((4,), (4, 3)),
    ((3, 4), (4,)),
    ((2, 4), (4, 3)),
    ((2, 3, 4), (4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((3, 4), (2, 4, 5)),
    ((4,), (2, 4, 3)),
]


@pytest.mark.parametrize("sa,sb", MATMUL, ids=[f"{a}@{b}" for a, b in MATMUL])
def test_matmul(sa, sb):
    a, b = t64(*sa, seed=1), t64(*sb, seed=2)
    y = a @ b
    want = a.numpy() @ b.numpy()
    assert y.shape == want.shape and y.dtype == np.float64
    close(y, want, rtol=1e-13, atol=1e-14)
    close(nb.matmul(a, b), want, rtol=1e-13, atol=1e-14)
    check_grads(nb.matmul, (a, b), order=2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("backend", ["cython", "reference"])
def test_matmul_of_two_matrices_is_a_backend_kernel(backend, dtype):
    """Two float matrices of one dtype run the backends' matmul kernel (the Cython one
    as a 1x1 convolution on nabla's threads), transposed views included; both
    gradients too; other shapes and dtypes keep NumPy's matmul."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((19, 37)).astype(dtype).T       # (37, 19), not C-contiguous
    b = rng.standard_normal((19, 45)).astype(dtype)
    with nb.use_backend(backend), nb.profile() as prof:
        y, pullback = nb.vjp(nb.matmul, a, b)
        da, db = pullback(np.ones((37, 45), dtype))
    kernels = [c["op"] for c in prof.calls]
    assert kernels.count("matmul2d") == 3 and "matmul" not in kernels
    tol = 1e-5 if dtype == np.float32 else 1e-13
    want = a.astype(np.float64) @ b.astype(np.float64)
    assert y.dtype == dtype and np.allclose(y.numpy(), want, rtol=tol, atol=tol * np.abs(want).max())
    assert np.allclose(da.numpy(), np.ones((37, 45)) @ b.T.astype(np.float64), rtol=tol, atol=tol * 50)
    assert np.allclose(db.numpy(), a.T.astype(np.float64) @ np.ones((37, 45)), rtol=tol, atol=tol * 50)
    if dtype == np.float64:
        with nb.use_backend(backend):
            check_grads(nb.matmul, (nb.asarray(a), nb.asarray(b)), order=2)
    with nb.profile() as prof:
        nb.matmul(np.ones((2, 3, 4), dtype), np.ones((4, 5), dtype))
        nb.matmul(np.ones((3, 4), np.float32), np.ones((4, 5), np.float64))
    assert [c["op"] for c in prof.calls if c["kind"] == "forward"].count("matmul") == 2


def test_matmul_shape_mismatch():
    with pytest.raises(ValueError, match="matmul"):
        nb.matmul(t64(2, 3), t64(4, 2))


def test_maximum_minimum_ties_split_evenly():
    a = nb.asarray(np.array([1.0, 2.0, 3.0]))
    b = nb.asarray(np.array([1.0, 5.0, 0.0]))
    ga, gb = nb.grad(lambda a, b: nb.sum(nb.maximum(a, b)), argnums=(0, 1))(a, b)
    close(ga, [0.5, 0.0, 1.0])
    close(gb, [0.5, 1.0, 0.0])
    ga, gb = nb.grad(lambda a, b: nb.sum(nb.minimum(a, b)), argnums=(0, 1))(a, b)
    close(ga, [0.5, 1.0, 0.0])
    close(gb, [0.5, 0.0, 1.0])


def test_reduce_max_ties_split_evenly():
    x = nb.asarray(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]))
    close(nb.grad(lambda x: nb.max(x))(x), [[0, 0.5, 0.5], [0, 0, 0]])
    close(nb.grad(lambda x: nb.sum(nb.max(x, axis=1)))(x), [[0, 0.5, 0.5], [1, 0, 0]])
    close(nb.jvp(lambda x: nb.max(x, axis=1), (x,), (nb.asarray(np.arange(6.0).reshape(2, 3)),))[1],
          [1.5, 3.0])


def test_relu_abs_derivative_at_zero():
    x = nb.asarray(np.array([-1.0, 0.0, 2.0]))
    close(nb.grad(lambda x: nb.sum(nb.relu(x)))(x), [0.0, 0.0, 1.0])
    close(nb.grad(lambda x: nb.sum(nb.abs(x)))(x), [-1.0, 0.0, 1.0])


def test_where_condition_broadcast_and_not_differentiated():
    cond = np.array([True, False, True])
    x = t64(2, 3, seed=1)
    y = t64(3, seed=2)
    out = nb.where(cond, x, y)
    close(out, np.where(cond, x.numpy(), y.numpy()))
    gx, gy = nb.grad(lambda x, y: nb.sum(nb.where(cond, x, y)), argnums=(0, 1))(x, y)
    close(gx, np.broadcast_to(cond, (2, 3)).astype(float))
    close(gy, [0.0, 2.0, 0.0])
    close(nb.where(nb.asarray(cond), 1.0, x), np.where(cond, 1.0, x.numpy()))


def test_getitem_repeated_indices_accumulate():
    x = nb.asarray(np.arange(4.0))
    g = nb.grad(lambda x: nb.sum(x[np.array([0, 0, 3, 0])] * nb.asarray(np.array([1.0, 2.0, 3.0, 4.0]))))(x)
    close(g, [7.0, 0.0, 0.0, 3.0])


def test_softmax_stable_for_large_inputs():
    x = nb.asarray(np.array([1000.0, 1000.0, -1000.0]))
    close(nb.softmax(x), [0.5, 0.5, 0.0])
    close(nb.logsumexp(x), 1000.0 + np.log(2.0))
    assert np.all(np.isfinite(nb.grad(lambda x: nb.logsumexp(x))(x).numpy()))


def test_softmax_with_minus_infinity_entries():
    # a masked entry (-inf) gets probability 0 and a zero, finite gradient
    x = nb.asarray(np.array([0.0, -np.inf, 1.0]))
    e = np.exp([0.0, 1.0])
    close(nb.softmax(x), [e[0] / e.sum(), 0.0, e[1] / e.sum()], rtol=1e-15)
    close(nb.logsumexp(x), np.log(e.sum()), rtol=1e-15)
    g = nb.grad(lambda x: nb.logsumexp(x))(x)
    close(g, [e[0] / e.sum(), 0.0, e[1] / e.sum()], rtol=1e-15)


def test_logsumexp_all_minus_infinity():
    x = nb.asarray(np.array([[-np.inf, -np.inf], [0.0, -np.inf]]))
    close(nb.logsumexp(x, axis=1), [-np.inf, 0.0])


def test_sigmoid_no_overflow():
    x = nb.asarray(np.array([-800.0, 0.0, 800.0]))
    close(nb.sigmoid(x), [0.0, 0.5, 1.0])


class TestAstype:
    def test_values_and_dtype(self):
        x = t64(3)
        y = nb.astype(x, np.float32)
        assert y.dtype == np.float32
        np.testing.assert_array_equal(y.numpy(), x.numpy().astype(np.float32))
        assert x.astype(np.float32).dtype == np.float32
        assert nb.astype(x, np.float64) is x

    def test_derivatives_change_dtype_back(self):
        x = nb.asarray(np.array([1.0, 2.0, 3.0], np.float32))
        g = nb.grad(lambda x: nb.sum(nb.astype(x, np.float64) ** 2))(x)
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g.numpy(), np.array([2.0, 4.0, 6.0], np.float32))
        out, tan = nb.jvp(lambda x: nb.astype(x, np.float64) * 3.0, (x,), (nb.ones_like(x),))
        assert out.dtype == tan.dtype == np.float64
        close(tan, [3.0, 3.0, 3.0])
        # second order through a cast: d^2/dx^2 x^3 = 6x
        g2 = nb.grad(nb.grad(lambda x: nb.astype(nb.astype(x, np.float32), np.float64) ** 3))(scalar(2.0))
        close(g2, 12.0)

    def test_check_grads_through_roundtrip(self):
        # float64 -> float64 via an exact float32-free path: cast to float64 of a float64 is identity
        check_grads(lambda x: nb.astype(x * 2.0, np.float64) ** 2, (t64(3),), order=2)

    def test_gradient_dtype_follows_input_under_promotion(self):
        # a float32 input mixed with float64 data: the gradient is float32, like the input
        x = nb.asarray(np.array([1.0, 2.0], np.float32))
        c = np.array([3.0, 4.0], np.float64)
        g = nb.grad(lambda x: nb.sum(x * c))(x)
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g.numpy(), np.array([3.0, 4.0], np.float32))


# =====================================================================================
# Tensor API
# =====================================================================================
class TestTensorAPI:
    def test_properties(self):
        a = np.arange(6, dtype=np.float32).reshape(2, 3)
        t = nb.asarray(a)
        assert t.shape == (2, 3) and t.dtype == np.float32 and t.ndim == 2 and t.size == 6
        assert len(t) == 2
        np.testing.assert_array_equal(t.numpy(), a)
        np.testing.assert_array_equal(t.to_numpy(), a)
        np.testing.assert_array_equal(np.asarray(t), a)
        np.testing.assert_array_equal(np.array(t, dtype=np.float64), a.astype(np.float64))
        assert np.asarray(t).dtype == np.float32
        assert nb.asarray(np.array(2.5)).item() == 2.5
        assert isinstance(nb.asarray(np.array(2.5)).item(), float)
        assert float(nb.asarray(np.array(2.5))) == 2.5
        assert "Tensor" in repr(t)

    def test_numpy_view_is_read_only(self):
        t = nb.asarray(np.zeros(3))
        with pytest.raises(ValueError):
            t.numpy()[0] = 1.0

    def test_dlpack_round_trip(self):
        a = np.arange(12.0).reshape(3, 4)
        t = nb.Tensor.from_dlpack(a)
        assert isinstance(t, nb.Tensor) and t.dtype == np.float64
        np.testing.assert_array_equal(t.numpy(), a)
        b = np.from_dlpack(t)
        np.testing.assert_array_equal(b, a)
        assert b.dtype == np.float64
        t32 = nb.Tensor.from_dlpack(a.astype(np.float32))
        assert t32.dtype == np.float32
        t2 = nb.Tensor.from_dlpack(np.from_dlpack(t32))
        np.testing.assert_array_equal(t2.numpy(), a.astype(np.float32))
        assert t.__dlpack_device__() == a.__dlpack_device__()

    def test_asarray_dtypes(self):
        assert nb.asarray(np.zeros(2, np.float64)).dtype == np.float64
        assert nb.asarray(np.zeros(2, np.float32)).dtype == np.float32
        assert nb.asarray([1.0, 2.0]).dtype == np.float32
        assert nb.asarray([[1.0], [2.5]]).dtype == np.float32
        assert nb.asarray(1.5).dtype == np.float32
        assert nb.asarray([1.0, 2.0], dtype=np.float64).dtype == np.float64
        assert nb.asarray(np.zeros(2, np.float32), dtype=np.float64).dtype == np.float64
        assert nb.asarray(np.zeros(2, np.float64), dtype="float32").dtype == np.float32
        t = nb.asarray(np.zeros(2))
        assert nb.asarray(t) is t
        assert nb.array is nb.asarray

    def test_asarray_precision_of_float_lists(self):
        np.testing.assert_array_equal(nb.asarray([0.1]).numpy(), np.array([0.1], np.float32))
        np.testing.assert_array_equal(nb.asarray([0.1], dtype=np.float64).numpy(), np.array([0.1]))

    @pytest.mark.parametrize("dt", [np.float32, np.float64])
    def test_operators_with_scalars_and_arrays(self, dt):
        a = np.array([1.0, 2.0, 4.0], dt)
        b = np.array([0.5, -1.0, 3.0], dt)
        t, u = nb.asarray(a), nb.asarray(b)
        cases = [
            (t + u, a + b), (t - u, a - b), (t * u, a * b), (t / u, a / b), (t ** 2, a ** 2),
            (-t, -a), (t + 1.5, a + 1.5), (1.5 + t, 1.5 + a), (t - 1.5, a - 1.5), (1.5 - t, 1.5 - a),
            (t * 3, a * 3), (3 * t, 3 * a), (t / 4.0, a / 4.0), (4.0 / t, 4.0 / a),
            (t ** 0.5, a ** 0.5), (2.0 ** t, 2.0 ** a), (t ** u, a ** b),
            (t + b, a + b), (b + t, b + a), (b - t, b - a), (b * t, b * a), (b / t, b / a),
            (b ** t, b ** a), (t ** b, a ** b), (+t, a),
        ]
        for got, want in cases:
            assert isinstance(got, nb.Tensor)
            assert got.dtype == dt, (got.dtype, dt)  # python scalars never promote float32
            close(got, want, rtol=0)

    def test_matmul_operator_with_arrays(self):
        a = np.arange(6.0).reshape(2, 3)
        b = np.arange(3.0)
        t = nb.asarray(a)
        close(t @ b, a @ b, rtol=0)
        close(np.ones((4, 2)) @ t, np.ones((4, 2)) @ a, rtol=0)
        assert isinstance(np.ones((4, 2)) @ t, nb.Tensor)

    def test_T_reshape_indexing(self):
        a = np.arange(24.0).reshape(2, 3, 4)
        t = nb.asarray(a)
        np.testing.assert_array_equal(t.T.numpy(), a.T)
        np.testing.assert_array_equal(t.reshape(6, 4).numpy(), a.reshape(6, 4))
        np.testing.assert_array_equal(t.reshape((4, -1)).numpy(), a.reshape(4, -1))
        np.testing.assert_array_equal(t.transpose().numpy(), a.transpose())
        np.testing.assert_array_equal(t.transpose(1, 0, 2).numpy(), a.transpose(1, 0, 2))
        np.testing.assert_array_equal(t[0].numpy(), a[0])
        np.testing.assert_array_equal(t[1, 2, 3].numpy(), a[1, 2, 3])
        np.testing.assert_array_equal(t[:, 1:3, ::-1].numpy(), a[:, 1:3, ::-1])
        np.testing.assert_array_equal(t[..., 0].numpy(), a[..., 0])
        np.testing.assert_array_equal(t[np.array([1, 0])].numpy(), a[[1, 0]])
        with pytest.raises(ValueError):
            t.reshape(5, -1)

    def test_comparisons_give_bool(self):
        t = nb.asarray(np.array([1.0, 2.0]))
        m = t > 1.5
        np.testing.assert_array_equal(np.asarray(m), [False, True])

    def test_unsupported_dtypes(self):
        for bad in (np.float16, np.complex64):
            with pytest.raises(TypeError):
                nb.Tensor(np.zeros(2, bad))


class TestCreation:
    def test_constants(self):
        for f, v in ((nb.zeros, 0.0), (nb.ones, 1.0)):
            t = f((2, 3))
            assert t.shape == (2, 3) and t.dtype == np.float32
            np.testing.assert_array_equal(t.numpy(), np.full((2, 3), v))
            assert f(4).shape == (4,)
            assert f((2,), np.float64).dtype == np.float64
        t = nb.full((2, 2), 7.5)
        assert t.dtype == np.float32
        np.testing.assert_array_equal(t.numpy(), np.full((2, 2), 7.5))
        assert nb.full((1,), 2.0, dtype=np.float64).dtype == np.float64

    def test_like(self):
        x = nb.asarray(np.ones((2, 5), np.float64))
        z, o = nb.zeros_like(x), nb.ones_like(x)
        assert z.shape == o.shape == (2, 5) and z.dtype == o.dtype == np.float64
        np.testing.assert_array_equal(z.numpy(), 0)
        np.testing.assert_array_equal(o.numpy(), 1)
        assert nb.zeros_like(x, dtype=np.float32).dtype == np.float32
        assert nb.ones_like(np.zeros(3, np.float32)).dtype == np.float32

    def test_arange(self):
        t = nb.arange(5)
        assert t.dtype == np.float32
        np.testing.assert_array_equal(t.numpy(), np.arange(5))
        np.testing.assert_array_equal(nb.arange(1, 7, 2).numpy(), [1, 3, 5])
        t = nb.arange(0.0, 1.0, 0.25, dtype=np.float64)
        assert t.dtype == np.float64
        np.testing.assert_array_equal(t.numpy(), [0, 0.25, 0.5, 0.75])

    @pytest.mark.parametrize("f", [nb.randn, nb.rand], ids=["randn", "rand"])
    def test_random_seeds(self, f):
        a, b = f((3, 4), seed=1), f((3, 4), seed=1)
        assert a.dtype == np.float32 and a.shape == (3, 4)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert not np.array_equal(a.numpy(), f((3, 4), seed=2).numpy())
        assert f((2,), dtype=np.float64, seed=0).dtype == np.float64
        nb.seed(123)
        c = f((5,))
        nb.seed(123)
        d = f((5,))
        np.testing.assert_array_equal(c.numpy(), d.numpy())
        assert not np.array_equal(f((5,)).numpy(), d.numpy())  # the global generator moves on

    def test_random_distributions(self):
        u = nb.rand((2000,), lower=2.0, upper=3.0, seed=0).numpy()
        assert u.min() >= 2.0 and u.max() < 3.0
        n = nb.randn((4000,), mean=5.0, std=0.1, dtype=np.float64, seed=0).numpy()
        assert abs(n.mean() - 5.0) < 0.01 and abs(n.std() - 0.1) < 0.01
