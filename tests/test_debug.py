"""The debugging tools (nabla.debug): checked mode, anomaly detection, the
profile, the hook seat, and the diagnostics of nabla.testing.

* generic, over the op database (every op x sample x dtype): with each tool on,
  a value, a VJP and a JVP give bit-identical results to the plain run, and
  checked mode finds no mismatch between the two backends;
* planted faults: a registered backend with one kernel off in one cell is
  caught by checked mode with the op, the kernel, the index and this file's
  line; a log of a negative number in a conv net is caught by detect_anomaly in
  forward and in a gradient computed later; a gradient severed through NumPy
  is caught by check_grads, which names the argument.
"""
import inspect
import os
import types

import numpy as np
import pytest

import nabla as nb
from nabla import nn
from nabla._backend import kernel_names
from tests.op_db import samples

ALL = samples()
HERE = os.path.relpath(__file__)   # how messages name this file (relative to the working directory)


@pytest.fixture(autouse=True)
def _forget_registered_backends():
    """Backends a test registers (deliberately broken ones) do not outlive it."""
    from nabla import _backend
    before = dict(_backend.BACKENDS)
    yield
    for name in set(_backend.BACKENDS) - set(before):
        del _backend.BACKENDS[name]
        _backend._loaded.pop(name, None)


def _line():
    """The line number of the caller (the line a message must name)."""
    return inspect.currentframe().f_back.f_lineno


def _run_all_modes(op, sample):
    """Value, VJP (random cotangent) and JVP (random tangent) of the sample, as arrays."""
    f = op.partial(sample)
    primals = op.diff_inputs(sample)
    rng = np.random.default_rng(0)
    y, pullback = nb.vjp(f, *primals)
    u = rng.standard_normal(y.shape).astype(y.dtype)
    cts = pullback(u)
    tangents = [rng.standard_normal(np.shape(p)).astype(np.asarray(p).dtype) for p in primals]
    _, t = nb.jvp(f, list(primals), tangents)
    return [np.asarray(y)] + [np.asarray(c) for c in cts] + [np.asarray(t)]


def _identical(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)  # bit for bit (NaN == NaN, -inf == -inf)


# ------------------------------------------------------------------ generic
@pytest.mark.parametrize("op, sample", ALL)
def test_tools_do_not_change_results(op, sample):
    plain = _run_all_modes(op, sample)
    with nb.profile() as prof:
        profiled = _run_all_modes(op, sample)
    _identical(plain, profiled)
    recorded = {c["op"] for c in prof.calls}
    assert recorded & set(op.primitives or (op.name,)), (op.name, recorded)
    with nb.checked():
        _identical(plain, _run_all_modes(op, sample))  # checked mode returns the Cython result
    if sample.finite:
        with nb.detect_anomaly():
            _identical(plain, _run_all_modes(op, sample))
    else:  # -inf from windows wholly in padding: an Inf, reported as such
        with pytest.raises(nb.AnomalyError, match="max_pool2d"), nb.detect_anomaly():
            _run_all_modes(op, sample)


def test_no_hook_is_left_behind():
    from nabla import _autodiff
    before = list(_autodiff._eval_hooks)
    with nb.profile(), nb.detect_anomaly(), nb.checked():
        nb.conv2d(np.ones((1, 3, 3, 1)), np.ones((2, 2, 1, 1)))
    with pytest.raises(ZeroDivisionError), nb.profile():
        1 / 0
    assert _autodiff._eval_hooks == before


# ------------------------------------------------------------------ checked mode
def _broken_backend(kernel, index, delta):
    """The Cython kernels, but ``kernel``'s output is off by ``delta`` at ``index``."""
    import nabla._kernels as cy
    ns = types.SimpleNamespace(**{k: getattr(cy, k) for k in kernel_names() if hasattr(cy, k)})
    good = getattr(cy, kernel)

    def bad(*args, **kwargs):
        out = good(*args, **kwargs)
        first = (out[0] if isinstance(out, tuple) else out).copy()
        first[index] += delta
        return (first,) + out[1:] if isinstance(out, tuple) else first
    setattr(ns, kernel, bad)
    return ns


X = np.random.default_rng(1).standard_normal((2, 8, 8, 3)).astype(np.float32)
W = np.random.default_rng(2).standard_normal((3, 3, 3, 4)).astype(np.float32)


def _loss(w):
    y = nb.conv2d(X, w, padding=1)
    return nb.sum(nb.max_pool2d(nb.relu(y), kernel_size=2) ** 2)


CONV_LINE = inspect.getsourcelines(_loss)[1] + 1   # the lines a message must blame
POOL_LINE = CONV_LINE + 1


@pytest.mark.parametrize("kernel, role, index, line", [
    ("conv2d", "forward", (1, 2, 3, 0), CONV_LINE),
    ("conv2d_filter_grad", "the VJP of conv2d", (0, 1, 2, 3), CONV_LINE),
    ("max_pool2d_scatter", "the VJP of max_pool2d", (0, 5, 6, 1), POOL_LINE),
], ids=["forward", "filter-grad", "pool-scatter"])
def test_checked_mode_names_the_broken_kernel(kernel, role, index, line, tmp_path):
    nb.debug.register_backend("broken", _broken_backend(kernel, index, 0.05))
    with nb.checked():  # the real backends agree
        nb.grad(_loss)(W)
    repro = str(tmp_path / "repro.npz")
    with pytest.raises(nb.BackendMismatchError) as info, nb.checked(fast="broken", save_to=repro):
        nb.grad(_loss)(W)
    msg = str(info.value)
    assert f"kernel {kernel} ({role}) differs between backends\n  'broken' and 'reference'" in msg
    assert f"called at: {HERE}:{line}" in msg
    assert f"largest difference at index {index}" in msg
    assert info.value.index == index and info.value.kernel == kernel and info.value.path == repro
    # One call reproduces it from the saved inputs.
    with pytest.raises(nb.BackendMismatchError) as again:
        nb.debug.replay(repro)
    assert f"kernel {kernel}" in str(again.value) and again.value.index == index


def test_checked_mode_compares_argmax():
    import nabla._kernels as cy
    ns = types.SimpleNamespace(**{k: getattr(cy, k) for k in kernel_names() if hasattr(cy, k)})

    def max_pool_wrong_argmax(*args, **kwargs):
        y, argmax = cy.max_pool2d(*args, **kwargs)
        argmax = argmax.copy()
        argmax[0, 0, 0, 0] += 1
        return y, argmax
    ns.max_pool2d = max_pool_wrong_argmax
    nb.debug.register_backend("broken-argmax", ns)
    with pytest.raises(nb.BackendMismatchError, match=r"argmax: 1 of \d+ entries differ"), \
            nb.checked(fast="broken-argmax"):
        nb.max_pool2d(X, kernel_size=2)


@pytest.mark.parametrize("where", ["filter", "cotangent", "input_of_transpose"])
def test_checked_mode_sees_the_backends_agree_on_nonfinite_values_at_padding(where):
    # Padding meets inf: IEEE says 0 * inf = NaN at the padded taps, on both backends.
    x, w = X.astype(np.float64), W.astype(np.float64)
    if where == "filter":
        w = w.copy(); w[0, 0, 0, 0] = np.inf
        f = lambda x, w: nb.conv2d(x, w, padding=1)                       # noqa: E731
    elif where == "cotangent":
        f = lambda x, w: nb.conv2d(x, w, padding=1) * np.where(           # noqa: E731
            np.arange(2 * 8 * 8 * 4).reshape(2, 8, 8, 4) == 5, np.inf, 1.0)
    else:
        x = x.copy(); x[0, 0, 0, 0] = np.nan
        w = np.ones((3, 3, 4, 3))
        f = lambda x, w: nb.conv2d_transpose(x, w, padding=1)             # noqa: E731
    with nb.checked(), np.errstate(all="ignore"):
        y, pullback = nb.vjp(f, x, w)
        pullback(np.ones(y.shape))
    with nb.use_backend("reference"), np.errstate(all="ignore"):
        y_ref = f(x, w)
    # The same NaN and inf positions (assert_allclose counts NaN == NaN); finite values
    # to rounding (the backends add the taps in different orders).
    np.testing.assert_allclose(y.numpy(), y_ref.numpy(), rtol=1e-12, atol=1e-12)


def test_checked_backend_by_name_and_env():
    with nb.use_backend("checked"):
        assert nb.get_backend() == "checked"
        nb.avg_pool2d(X, kernel_size=2)
    with pytest.raises(ValueError, match="not 'checked'"), nb.checked(fast="checked"):
        pass


# ------------------------------------------------------------------ anomalies
def _net(x, w):
    h = nb.relu(nb.conv2d(x, w, padding=1)) - 1.0       # negative values
    return nb.sum(nb.log(h))                            # log of a negative: NaN (planted)


@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
def test_detect_anomaly_in_forward():
    with pytest.raises(FloatingPointError) as info, nb.detect_anomaly():
        _net(X, W)
    msg = str(info.value)
    log_line = inspect.getsourcelines(_net)[1] + 2
    assert "log (forward" in msg and f"{HERE}:{log_line}" in msg
    assert "its inputs were all finite" in msg
    assert isinstance(info.value, nb.AnomalyError) and info.value.event.op == "log"


@pytest.mark.filterwarnings("ignore:divide by zero encountered")
def test_detect_anomaly_in_a_gradient_computed_later():
    def f(x, w):
        h = nb.conv2d(x, w, padding=1)
        return nb.sum(nb.sqrt(nb.relu(h)))   # forward finite; d sqrt at 0 is inf
    line = inspect.getsourcelines(f)[1] + 2
    with nb.detect_anomaly():
        y, pullback = nb.vjp(f, X, W)       # forward: all finite
        assert np.isfinite(y.item())
        with pytest.raises(FloatingPointError) as info:
            pullback(np.ones((), np.float32))
    msg = str(info.value)
    assert "in the VJP of sqrt" in msg and f"{HERE}:{line}" in msg


@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
def test_detect_anomaly_in_forward_mode():
    line = inspect.getsourcelines(_net)[1] + 2
    with pytest.raises(FloatingPointError, match=rf"(log \(forward|JVP of log).*{line}"), nb.detect_anomaly():
        nb.jvp(lambda w: _net(X, w), (W,), (np.ones_like(W),))


# ------------------------------------------------------------------ profile
def test_profile_of_a_training_step():
    # Big enough that kernels, not Python, take the time (as in a real model).
    model = nn.Sequential(nn.Conv2d(64, 128, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(128, 128, 3, padding=1, seed=1), nn.ReLU(), nn.AvgPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 128, 10, seed=2))
    x = np.random.default_rng(0).standard_normal((32, 16, 16, 64)).astype(np.float32)
    y = np.arange(32) % 10
    step = nb.value_and_grad(lambda m: nn.functional.cross_entropy_loss(m(x), y))
    step(model)  # warm up
    shares = []
    for _ in range(5):  # the share of kernel time is a timing, noisy on a shared machine: the best of five
        with nb.profile() as prof:
            step(model)
        shares.append(prof.total_seconds / prof.wall_seconds)
        rows = {(r["op"], r["role"]) for r in prof.summary()}
        assert {("conv2d", "forward"), ("conv2d_filter_grad", "vjp of conv2d"),
                ("conv2d_transpose", "vjp of conv2d"), ("max_pool2d", "forward"),
                ("max_pool2d_scatter", "vjp of max_pool2d"), ("avg_pool2d", "forward"),
                ("avg_pool2d_transpose", "vjp of avg_pool2d")} <= rows
    assert max(shares) >= 0.9, f"kernel time / step time: {shares}"
    table = str(prof)
    assert table.splitlines()[0].split()[:3] == ["op", "role", "calls"]
    totals = [r["seconds"] for r in prof.summary()]
    assert totals == sorted(totals, reverse=True)
    assert abs(sum(r["share"] for r in prof.summary()) - 1.0) < 1e-9


def test_profile_exports(tmp_path):
    with nb.profile() as prof:
        nb.grad(lambda w: nb.sum(nb.conv2d(X, w)))(W)
    d = prof.to_dict()
    assert d["calls"] and {"op", "kind", "of", "backend", "shapes", "dtype", "seconds", "where"} <= set(d["calls"][0])
    assert d["calls"][0]["where"].startswith(HERE)
    prof.to_csv(tmp_path / "p.csv")
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[0] == "op,kind,of,backend,shapes,dtype,seconds,where" and len(lines) == len(d["calls"]) + 1


# ------------------------------------------------------------------ hooks
def test_a_user_hook_in_a_few_lines():
    shapes = []
    with nb.debug.hook(lambda e: shapes.append((e.op, e.kind, e.output.shape))):
        nb.grad(lambda w: nb.sum(nb.conv2d(X, w)))(W)
    assert ("conv2d", "forward", (2, 6, 6, 4)) in shapes
    assert ("conv2d_filter_grad", "vjp", (3, 3, 3, 4)) in shapes
    with pytest.raises(ValueError, match="not an installed hook"):
        nb.debug.remove_hook(print)
    with pytest.raises(TypeError, match="callable"):
        nb.debug.add_hook(3)


# ------------------------------------------------------------------ check_grads / check_backends
def test_check_grads_catches_a_gradient_severed_through_numpy():
    def f(x, w):
        return nb.sum(nb.asarray(x.numpy() ** 2) * w)   # .numpy(): x's value as a constant, no derivative
    x, w = np.arange(6.0).reshape(2, 3), np.ones(3)
    with pytest.raises(AssertionError, match=r"(?s)reverse mode, order 1.*argument 0 disagrees.*index \(1, 2\): "
                                             r"0\.0 by autodiff"):
        nb.testing.check_grads(f, (x, w), order=1, modes=("rev",))
    with pytest.raises(AssertionError, match=r"(?s)forward mode, order 1.*argument 0 disagrees"):
        nb.testing.check_grads(f, (x, w), order=1, modes=("fwd",))


def test_check_grads_names_the_path_inside_a_pytree_and_the_order():
    def g(p):
        return nb.sum(nb.tanh(p["a"]) * nb.asarray(p["b"].numpy()) ** 2)
    p = {"a": np.linspace(-1, 1, 3), "b": np.linspace(1, 2, 3)}
    with pytest.raises(AssertionError, match=r"order 1: .*\n.*argument 0 at \['b'\] disagrees"):
        nb.testing.check_grads(g, (p,), order=1)


def test_check_backends():
    nb.testing.check_backends(lambda x, w: nb.max_pool2d(nb.conv2d(x, w, padding=1), kernel_size=2),
                              (X.astype(np.float64), W.astype(np.float64)))
    nb.debug.register_backend("broken-fg", _broken_backend("conv2d_filter_grad", (0, 0, 0, 0), 1.0))
    with pytest.raises(AssertionError, match=r"the gradient in argument 1 differs.*index \(0, 0, 0, 0\)"):
        nb.testing.check_backends(lambda x, w: nb.conv2d(x, w, padding=1), (X, W),
                                  backends=("broken-fg", "reference"))


def test_testing_is_reachable_after_import():
    assert nb.testing.check_grads is not None and nb.testing.check_backends is not None


def test_checked_mode_from_the_environment():
    import subprocess
    import sys
    code = ("import numpy as np, nabla as nb\n"
            "assert nb.get_backend() == 'checked'\n"
            "y = nb.grad(lambda w: nb.sum(nb.conv2d(np.ones((1, 4, 4, 2), np.float32), w, padding=1)))"
            "(np.ones((3, 3, 2, 2), np.float32))\n"
            "print(y.shape)\n")
    env = {**__import__("os").environ, "NABLA_BACKEND": "checked"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(3, 3, 2, 2)"


# The element-wise, reduction and shape ops: one implementation (NumPy) serves both
# backends, so checked mode has nothing to compare there; the tools still see them.
ELEMENTWISE = {
    "exp": nb.exp, "log": lambda x: nb.log(nb.abs(x) + 1.0), "sqrt": lambda x: nb.sqrt(nb.abs(x) + 1.0),
    "tanh": nb.tanh, "sigmoid": nb.sigmoid, "relu": nb.relu, "abs": nb.abs,
    "maximum": lambda x: nb.maximum(x, 0.1), "minimum": lambda x: nb.minimum(x, 0.1),
    "where": lambda x: nb.where(x > 0, x, 2 * x), "reduce_sum": lambda x: nb.sum(x, axis=1),
    "mean": nb.mean, "reduce_max": lambda x: nb.max(x, axis=0), "logsumexp": nb.logsumexp,
    "softmax": nb.softmax, "matmul": lambda x: x @ x.T, "reshape": lambda x: nb.reshape(x, (-1,)),
    "permute": lambda x: nb.permute(x, (1, 0)), "pad": lambda x: nb.pad(x, ((1, 0), (0, 2))),
    "getitem": lambda x: x[1:, ::2], "pow": lambda x: x ** 3, "div": lambda x: x / 3.0,
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_tools_on_elementwise_and_reduction_ops(name, dtype):
    f = ELEMENTWISE[name]
    x = np.random.default_rng(3).standard_normal((3, 4)).astype(dtype)

    def run():
        y, pullback = nb.vjp(f, x)
        (g,) = pullback(np.ones(y.shape, dtype))
        _, t = nb.jvp(f, (x,), (np.ones_like(x),))
        return [y.numpy(), g.numpy(), t.numpy()]
    plain = run()
    with nb.profile() as prof, nb.detect_anomaly(), nb.checked():
        _identical(plain, run())
    kinds = {c["kind"] for c in prof.calls}
    assert {"forward", "vjp", "jvp"} <= kinds
