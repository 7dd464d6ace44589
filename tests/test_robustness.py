"""Inputs that must not reach C as they are (issue: "Unbreakable and exact").

* misaligned buffers (``np.frombuffer(..., offset=1)``) are copied before any
  kernel loads through them, for every array argument, and give the same
  values and gradients as aligned copies, on both backends;
* sizes whose products would overflow the kernels' 64-bit arithmetic are refused
  with a ValueError naming the op, computed in Python before any kernel runs;
* a PyTorch tensor that requires grad gets a TypeError saying to call
  ``.detach()`` (duck-typed here; tests/crosscheck has the real thing).
"""
import numpy as np
import pytest

import nabla as nb


def misaligned(a: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``a`` whose data starts one byte past an aligned address."""
    buf = bytearray(a.nbytes + 1)
    out = np.frombuffer(buf, a.dtype, count=a.size, offset=1).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned
    return out


RNG = np.random.default_rng(11)
X = RNG.standard_normal((2, 7, 6, 3))
W = RNG.standard_normal((3, 3, 3, 4))
WT = RNG.standard_normal((3, 3, 2, 3))
OPS = {
    "conv2d": (lambda x, w: nb.conv2d(x, w, padding=1, stride=2), (X, W)),
    "conv2d_transpose": (lambda x, w: nb.conv2d_transpose(x, w, stride=2, padding=1), (X, WT)),
    "max_pool2d": (lambda x: nb.max_pool2d(x, kernel_size=3, stride=2, padding=1), (X,)),
    "avg_pool2d": (lambda x: nb.avg_pool2d(x, kernel_size=2, ceil_mode=True, count_include_pad=False), (X,)),
    "adaptive_max_pool2d": (lambda x: nb.adaptive_max_pool2d(x, (3, 4)), (X,)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(OPS))
def test_misaligned_buffers_give_the_aligned_results(name, dtype, backend):
    f, args = OPS[name]
    args = [a.astype(dtype) for a in args]
    bad = [misaligned(a) for a in args]
    y, pull = nb.vjp(f, *args)
    y_bad, pull_bad = nb.vjp(f, *bad)
    np.testing.assert_array_equal(y.numpy(), y_bad.numpy())
    g = misaligned(np.ones(y.shape, dtype))                 # a misaligned cotangent too
    for a, b in zip(pull(np.ones(y.shape, dtype)), pull_bad(g)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_misaligned_indices_of_max_unpool2d():
    y, idx = nb.max_pool2d(X, kernel_size=2, return_indices=True)
    out = nb.max_unpool2d(y, misaligned(idx.numpy()), kernel_size=2, output_size=(7, 6))
    np.testing.assert_array_equal(out.numpy(), nb.max_unpool2d(y, idx, kernel_size=2, output_size=(7, 6)).numpy())


@pytest.mark.parametrize("call", [
    lambda: nb.conv2d(np.ones((1, 1, 1, 1), np.float32), np.ones((1, 1, 1, 1), np.float32), padding=2**31 - 1),
    lambda: nb.max_pool2d(np.ones((1, 1, 1, 1)), kernel_size=1, padding=2**30),
    lambda: nb.avg_pool2d(np.ones((1, 1, 1, 1)), kernel_size=1, padding=(2**30, 2**30, 2**30, 2**30)),
], ids=["conv2d", "max_pool2d", "avg_pool2d"])
def test_sizes_that_overflow_64_bits_are_refused_before_any_kernel(call):
    with pytest.raises(ValueError, match=r"too large: .* exceeds 4611686018427387904 \(2\*\*62\)"):
        call()


class _RequiresGrad:
    """Looks like a torch tensor in an autograd graph."""
    requires_grad = True
    shape = (1, 2, 2, 1)

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("Can't call numpy() on Tensor that requires grad")


def test_a_tensor_that_requires_grad_is_told_to_detach():
    with pytest.raises(TypeError, match=r"max_pool2d: argument 'x' .*requires grad.*\.detach\(\)"):
        nb.max_pool2d(_RequiresGrad(), kernel_size=1)
    with pytest.raises(TypeError, match=r"asarray: .*requires grad.*\.detach\(\)"):
        nb.asarray(_RequiresGrad())


# ---------------------------------------------- traced tensors never turn silently into constants
FORMS = {
    "tensor": lambda a: nb.asarray(a),
    "ndarray": lambda a: a,
    "nested_list": lambda a: a.tolist(),
    "tuple": lambda a: tuple(tuple(row) for row in a.tolist()),
}


@pytest.mark.parametrize("form", list(FORMS))
def test_every_input_form_gives_the_ndarray_gradient(form):
    a = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)

    def loss(x):   # x as given (a list stays a list: a pytree); asarray inside the function
        return nb.sum(nb.asarray(x) ** 2)
    want = 2 * a
    g = nb.grad(loss)(FORMS[form](a))
    got = np.array(nb.tree_leaves(g), np.float32).reshape(a.shape) if form in ("nested_list", "tuple") \
        else g.numpy()
    np.testing.assert_array_equal(got, want)
    _, t = nb.jvp(loss, (FORMS[form](a),), (FORMS[form](np.ones_like(a)),))
    assert t.item() == pytest.approx(float(np.sum(2 * a)))


@pytest.mark.parametrize("scalar", [1.5, np.float64(1.5)], ids=["python", "numpy"])
def test_scalar_primals(scalar):
    assert nb.grad(lambda x: x * x)(scalar).item() == pytest.approx(3.0)
    assert nb.grad(lambda x: nb.sum(nb.asarray([x, x, 1.0])))(scalar).item() == pytest.approx(2.0)


def test_the_reported_case_no_longer_gives_zero():
    # nb.grad(lambda x: nb.sum(nb.asarray(x)))([1.0]) returned [0.] before
    (g,) = nb.grad(lambda x: nb.sum(nb.asarray(x)))([1.0])
    assert g.item() == 1.0


@pytest.mark.parametrize("convert", [
    lambda t: np.asarray(t), lambda t: float(t), lambda t: int(t), lambda t: t.item(), lambda t: np.array([t]),
], ids=["np.asarray", "float", "int", "item", "np.array_of_list"])
def test_implicit_conversions_of_traced_tensors_raise(convert):
    with pytest.raises(TypeError, match=r"traced by (vjp|jvp)#\d+ .*would drop its derivative"):
        nb.grad(lambda x: nb.sum(x) * convert(nb.sum(x)))(np.ones(3))
    with pytest.raises(TypeError, match="would drop its derivative"):
        nb.jvp(lambda x: nb.sum(x) * convert(nb.sum(x)), (np.ones(3),), (np.ones(3),))


def test_numpy_functions_on_traced_tensors_are_nabla_ops_or_refused():
    # np.exp has a nabla op: it runs it (a derivative, not a constant); np.sin has none: a
    # TypeError, never a silent conversion (tests/test_numpy_interop.py has the details)
    assert nb.grad(lambda x: nb.sum(np.exp(x)))(np.zeros(3)).numpy().tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match=r"numpy\.sin is not supported on nabla Tensors; call \.numpy\(\)"):
        nb.grad(lambda x: nb.sum(np.sin(x)))(np.ones(3))


def test_explicit_constants_are_allowed():
    # .numpy() and stop_gradient say "a constant" on purpose: d/dx [x * c] = c
    g = nb.grad(lambda x: nb.sum(x * x.numpy()))(np.arange(3.0))
    np.testing.assert_array_equal(g.numpy(), np.arange(3.0))
    g = nb.grad(lambda x: nb.sum(x * nb.stop_gradient(x)))(np.arange(3.0))
    np.testing.assert_array_equal(g.numpy(), np.arange(3.0))
    assert float(nb.asarray(2.0)) == 2.0 and nb.asarray([3]).item() == 3   # untraced: fine


def test_stack():
    from nabla.testing import check_grads
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    np.testing.assert_array_equal(nb.stack([a, b], axis=-1).numpy(), np.stack([a, b], axis=-1))
    check_grads(lambda x, y: nb.stack([x, y, x * y], axis=1), (a, b), order=2)
    with pytest.raises(ValueError, match="tensor 1 has shape"):
        nb.stack([a, b[0]])
    with pytest.raises(TypeError, match="tensor 1 has dtype float32"):
        nb.stack([a, b.astype(np.float32)])
    with pytest.raises(ValueError, match="at least one"):
        nb.stack([])


# ---------------------------------------------- the same NaN/Inf positions on both backends
def _geometries(rng, n):
    out = []
    while len(out) < n:
        H, W = (int(v) for v in rng.integers(1, 7, 2))
        kh, kw, sh, sw, dh, dw = (int(v) for v in rng.integers(1, 3, 6))
        pad = tuple(int(v) for v in rng.integers(0, 3, 4))
        span_h, span_w = H + pad[0] + pad[1] - dh * (kh - 1) - 1, W + pad[2] + pad[3] - dw * (kw - 1) - 1
        if span_h >= 0 and span_w >= 0:
            out.append((H, W, kh, kw, (sh, sw), (dh, dw), pad, (span_h // sh + 1, span_w // sw + 1)))
    return out


@pytest.mark.parametrize("kernel", ["conv2d", "conv2d_transpose", "conv2d_filter_grad"])
def test_nonfinite_values_at_padding_give_the_same_positions_on_both_backends(kernel):
    # One inf or NaN placed anywhere (border or interior) in the array that padding multiplies.
    import nabla._kernels as K
    import nabla.reference as R
    rng = np.random.default_rng(17)
    for H, W, kh, kw, stride, dilation, pad, (Ho, Wo) in _geometries(rng, 60):
        x = rng.standard_normal((1, H, W, 2))
        geo = dict(stride=stride, padding=pad, dilation=dilation, groups=1)
        if kernel == "conv2d":
            b = rng.standard_normal((kh, kw, 2, 3))
            args, kw_ = (x, b), dict(out_hw=(Ho, Wo), **geo)
        elif kernel == "conv2d_transpose":
            b = rng.standard_normal((kh, kw, 2, 3))
            args, kw_ = (rng.standard_normal((1, Ho, Wo, 3)), b), dict(out_hw=(H, W), **geo)
        else:
            b = rng.standard_normal((1, Ho, Wo, 3))
            args, kw_ = (x, b), dict(kernel_hw=(kh, kw), **geo)
        b[tuple(int(rng.integers(0, s)) for s in b.shape)] = np.inf if rng.random() < 0.5 else np.nan
        with np.errstate(all="ignore"):
            fast, ref = getattr(K, kernel)(*args, **kw_), getattr(R, kernel)(*args, **kw_)
        np.testing.assert_array_equal(np.isnan(fast), np.isnan(ref), err_msg=f"{kernel} {H}x{W} {kw_}")
        np.testing.assert_array_equal(np.isinf(fast), np.isinf(ref), err_msg=f"{kernel} {H}x{W} {kw_}")


@pytest.mark.parametrize("backend", ["cython", "reference"])
def test_conv2d_transpose_without_padding_multiplies_no_border_zeros(backend):
    # Found by make fuzz: the compiled transpose runs as a conv2d of dy over a border of
    # (K - 1)*d zeros, and 0 * inf made NaN in every output whose window met it.  By the
    # formula each output here has exactly one term, dy * w[h, v].
    w = np.ones((3, 3, 1, 1))
    w[0, 0] = np.inf
    with nb.use_backend(backend), np.errstate(all="ignore"):
        y = nb.conv2d_transpose(np.ones((1, 1, 1, 1)), w).numpy()
    np.testing.assert_array_equal(y[0, :, :, 0], [[np.inf, 1, 1], [1, 1, 1], [1, 1, 1]])
