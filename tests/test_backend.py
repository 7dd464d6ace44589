"""Backend selection: set_backend / get_backend / use_backend, the NABLA_BACKEND
environment variable, and agreement of the two backends on a small conv net."""
import os
import pathlib
import subprocess
import sys
import threading

import numpy as np
import pytest

import nabla as nb

ROOT = pathlib.Path(__file__).resolve().parents[1]
NAMES = ["cython", "reference"]


@pytest.fixture(autouse=True)
def restore_default_backend():
    before = nb.get_backend()
    yield
    nb.set_backend(before)


def test_default_is_cython():
    # (unless the environment chose otherwise for the whole run)
    assert nb.get_backend() == os.environ.get("NABLA_BACKEND", "cython")


@pytest.mark.parametrize("name", NAMES)
def test_set_and_get(name):
    nb.set_backend(name)
    assert nb.get_backend() == name


def test_use_backend_nested_and_restored():
    nb.set_backend("cython")
    with nb.use_backend("reference"):
        assert nb.get_backend() == "reference"
        with nb.use_backend("cython"):
            assert nb.get_backend() == "cython"
            with nb.use_backend("reference"):
                assert nb.get_backend() == "reference"
            assert nb.get_backend() == "cython"
        assert nb.get_backend() == "reference"
    assert nb.get_backend() == "cython"


def test_use_backend_restored_on_exception():
    nb.set_backend("cython")
    with pytest.raises(ZeroDivisionError):
        with nb.use_backend("reference"):
            with nb.use_backend("cython"):
                1 / 0
    assert nb.get_backend() == "cython"
    with pytest.raises(KeyError):
        with nb.use_backend("reference"):
            raise KeyError("boom")
    assert nb.get_backend() == "cython"


def test_use_backend_overrides_set_backend_inside_block():
    nb.set_backend("reference")
    with nb.use_backend("cython"):
        assert nb.get_backend() == "cython"
    assert nb.get_backend() == "reference"


def test_use_backend_is_per_thread():
    nb.set_backend("cython")
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def other():
        inside.wait(5)
        seen["other-during"] = nb.get_backend()
        with nb.use_backend("reference"):
            seen["other-own"] = nb.get_backend()
        release.set()

    t = threading.Thread(target=other)
    t.start()
    with nb.use_backend("reference"):
        inside.set()
        release.wait(5)
        seen["main-during"] = nb.get_backend()
    t.join(5)
    assert seen == {"other-during": "cython", "other-own": "reference", "main-during": "reference"}
    assert nb.get_backend() == "cython"


def test_threads_compute_with_their_own_backend():
    # two threads, each in its own use_backend block, compute the same conv: equal results
    r = np.random.default_rng(0)
    x = r.standard_normal((2, 6, 6, 3))
    w = r.standard_normal((3, 3, 3, 4))
    out = {}

    def run(name):
        with nb.use_backend(name):
            for _ in range(5):
                out[name] = (nb.get_backend(), nb.conv2d(x, w, padding=1).numpy())

    ts = [threading.Thread(target=run, args=(n,)) for n in NAMES]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    assert out["cython"][0] == "cython" and out["reference"][0] == "reference"
    np.testing.assert_allclose(out["cython"][1], out["reference"][1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bad", ["numpy", "Cython", "", None, 3])
def test_unknown_backend_name(bad):
    for call in (nb.set_backend, lambda n: nb.use_backend(n).__enter__()):
        with pytest.raises(ValueError) as e:
            call(bad)
        msg = str(e.value)
        assert "cython" in msg and "reference" in msg, msg
    assert nb.get_backend() in NAMES


def test_failed_use_backend_leaves_state_alone():
    nb.set_backend("cython")
    with nb.use_backend("reference"):
        with pytest.raises(ValueError):
            with nb.use_backend("nope"):
                pass  # pragma: no cover
        assert nb.get_backend() == "reference"
    assert nb.get_backend() == "cython"


def _run(env_value, code):
    env = {k: v for k, v in os.environ.items() if k != "NABLA_BACKEND"}
    env["NABLA_BACKEND"] = env_value
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=str(ROOT),
                          capture_output=True, text=True, timeout=60)


def test_env_var_reference():
    code = ("import numpy as np, nabla as nb; print(nb.get_backend()); "
            "print(nb.conv2d(np.ones((1, 3, 3, 1)), np.ones((2, 2, 1, 1))).numpy().ravel().tolist())")
    p = _run("reference", code)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split()
    assert lines[0] == "reference"
    assert p.stdout.strip().endswith("[4.0, 4.0, 4.0, 4.0]")


def test_env_var_cython():
    p = _run("cython", "import nabla as nb; print(nb.get_backend())")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "cython"


def test_env_var_bad_name():
    p = _run("fortran", "import nabla")
    assert p.returncode != 0
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError"), p.stderr
    assert "NABLA_BACKEND" in last and "fortran" in last
    assert "cython" in last and "reference" in last


# -------------------------------------------------------------- backends agree
def _net(params, x):
    h = nb.conv2d(x, params["c1"], bias=params["b1"], padding=1)
    h = nb.max_pool2d(nb.relu(h), kernel_size=2)
    h = nb.conv2d(h, params["c2"], stride=2, dilation=1, groups=2, padding=(1, 0, 0, 1))
    h = nb.avg_pool2d(nb.tanh(h), kernel_size=2, stride=1, padding=1)
    h = nb.conv2d_transpose(h, params["t"], stride=2, padding=1, output_paddings=1)
    return nb.mean(h ** 2)


def _params(dt, seed=0):
    r = np.random.default_rng(seed)
    return {
        "c1": nb.asarray(r.standard_normal((3, 3, 3, 4)).astype(dt)),
        "b1": nb.asarray(r.standard_normal(4).astype(dt)),
        "c2": nb.asarray(r.standard_normal((2, 2, 2, 4)).astype(dt)),
        "t": nb.asarray(r.standard_normal((3, 3, 2, 4)).astype(dt)),
    }


@pytest.mark.parametrize("dt,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)], ids=["f64", "f32"])
def test_backends_agree_on_small_net(dt, rtol):
    # The two backends may sum in different orders: errors are relative to each array's largest
    # entry (observed: ~2e-7 in float32, ~5e-16 in float64).
    params = _params(dt)
    x = nb.asarray(np.random.default_rng(1).standard_normal((2, 8, 8, 3)).astype(dt))
    res = {}
    for name in NAMES:
        with nb.use_backend(name):
            (v, (gp, gx)) = nb.value_and_grad(_net, argnums=(0, 1))(params, x)
            _, hvp = nb.jvp(lambda x: nb.grad(_net, argnums=1)(params, x), (x,), (nb.ones_like(x),))
            res[name] = (v, gp, gx, hvp)
    (v0, gp0, gx0, h0), (v1, gp1, gx1, h1) = res["cython"], res["reference"]
    assert v0.dtype == v1.dtype == dt
    np.testing.assert_allclose(v0.numpy(), v1.numpy(), rtol=rtol)
    for k in gp0:
        assert gp0[k].dtype == dt
        np.testing.assert_allclose(gp0[k].numpy(), gp1[k].numpy(), rtol=rtol,
                                   atol=rtol * np.abs(gp1[k].numpy()).max())
    np.testing.assert_allclose(gx0.numpy(), gx1.numpy(), rtol=rtol, atol=rtol * np.abs(gx1.numpy()).max())
    np.testing.assert_allclose(h0.numpy(), h1.numpy(), rtol=rtol, atol=rtol * np.abs(h1.numpy()).max())


def test_backend_is_read_at_call_time_not_trace_time():
    # a pullback built under one backend and called under the other still works and agrees
    params = _params(np.float64)
    x = nb.asarray(np.random.default_rng(2).standard_normal((1, 8, 8, 3)))
    with nb.use_backend("reference"):
        _, pb = nb.vjp(lambda p: _net(p, x), params)
    with nb.use_backend("cython"):
        (g_mixed,) = pb(nb.asarray(np.array(1.0)))
        g_c = nb.grad(_net)(params, x)
    for k in g_c:
        np.testing.assert_allclose(g_mixed[k].numpy(), g_c[k].numpy(), rtol=1e-12, atol=1e-13)
