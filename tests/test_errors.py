"""Every error input of every op (tests/op_db.py) raises the expected exception,
with a message naming the argument and the value, before any kernel runs.

"Before any kernel runs" is proved by poisoning: the ``poisoned`` fixture
switches to a registered fake backend whose kernels all raise
``AssertionError("kernel ran")``, and also replaces the kernels of the two real
backend modules, so an op that reached a kernel (through the registry or not)
would raise that instead of the expected error.
"""
import importlib
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import nabla
from nabla import _backend
from tests.op_db import OPS, errors


def _kernel_ran(*args, **kwargs):
    raise AssertionError("kernel ran")


@pytest.fixture
def poisoned(monkeypatch):
    fake = types.ModuleType("tests._poisoned_kernels")
    for name in _backend.kernel_names():
        setattr(fake, name, _kernel_ran)
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    monkeypatch.setitem(_backend.BACKENDS, "poisoned", fake.__name__)
    for module_name in ("nabla._kernels", "nabla.reference"):
        module = importlib.import_module(module_name)
        for name in _backend.kernel_names():
            monkeypatch.setattr(module, name, _kernel_ran, raising=False)
    with nabla.use_backend("poisoned"):
        yield


@pytest.mark.parametrize("op, error", errors())
def test_error_inputs(poisoned, op, error):
    with pytest.raises(error.exc, match=error.match) as info:
        op.op(*error.args, **error.kwargs)
    # The message starts with the op's name, so a user sees which call failed.
    assert str(info.value).startswith(f"{op.name}: "), str(info.value)


@pytest.mark.parametrize("op, error", errors())
def test_error_inputs_unpoisoned(backend, op, error):
    """The same errors with the real backends in place (nothing depends on the fake one)."""
    with pytest.raises(error.exc, match=error.match):
        op.op(*error.args, **error.kwargs)


@pytest.mark.parametrize("name", sorted(name for name, op in OPS.items() if op.uses_kernels))
def test_poisoning_works(poisoned, name):
    """Sanity check of the fixture: valid calls (the op's samples) do reach a
    (poisoned) kernel; some may run none (adaptive_avg_pool2d with unequal bins)."""
    op, reached = OPS[name], []
    for sample in op.sample_inputs(np.float64, np.random.default_rng(0)):
        try:
            op.op(*sample.args, **sample.kwargs)
        except AssertionError as e:
            assert str(e) == "kernel ran", sample.id
            reached.append(sample.id)
    assert reached


def test_every_op_has_error_inputs():
    for op in OPS.values():
        ids = [e.id for e in op.error_inputs()]
        assert len(ids) >= 30, op.name
        assert len(set(ids)) == len(ids), f"{op.name}: duplicate error ids"


# ----------------------------------------------------------------- backends
@pytest.mark.parametrize("name", ["cuda", "Cython", "", None, 1, "nabla._kernels"])
def test_unknown_backend(name):
    before = nabla.get_backend()
    expected = r"unknown backend .*; expected one of \[.*'checked', 'cython', 'reference'.*\]"
    with pytest.raises(ValueError, match=expected) as info:
        nabla.set_backend(name)
    assert repr(name) in str(info.value)
    with pytest.raises(ValueError, match=expected):
        with nabla.use_backend(name):
            pytest.fail("use_backend entered the block with an unknown backend")
    assert nabla.get_backend() == before


def test_use_backend_restores_on_error():
    before = nabla.get_backend()
    with pytest.raises(ValueError, match="'stride' must be positive"):
        with nabla.use_backend("reference"):
            assert nabla.get_backend() == "reference"
            nabla.max_pool2d(np.ones((1, 2, 2, 1)), kernel_size=1, stride=0)
    assert nabla.get_backend() == before


# ------------------------------------------------------------ huge outputs
_HUGE_OUTPUT = textwrap.dedent("""
    import numpy as np, nabla
    x, w = np.ones((1, 1, 1, 1)), np.ones((1, 1, 1, 1))
    calls = [
        lambda: nabla.conv2d(x, w, padding=2**30),
        lambda: nabla.conv2d_transpose(x, w, stride=2**30, dilation=2**30, output_paddings=2**30 - 1,
                                       padding=0),
        lambda: nabla.max_pool2d(x, kernel_size=1, padding=2**30, stride=1),
        lambda: nabla.avg_pool2d(x, kernel_size=1, padding=2**30, stride=1),
    ]
    for backend in ("cython", "reference"):
        with nabla.use_backend(backend):
            for i, call in enumerate(calls):
                try:
                    call()
                except (MemoryError, ValueError) as e:
                    print(backend, i, type(e).__name__)
                else:
                    print(backend, i, "no error")
""")


def test_output_too_large_to_allocate_is_an_error_not_a_crash():
    """SEMANTICS: an output too large to allocate is a MemoryError (or ValueError),
    never a segfault.  Run in a subprocess so a crash fails this test only."""
    proc = subprocess.run([sys.executable, "-c", _HUGE_OUTPUT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stdout.split("\n")
    assert len([line for line in lines if line]) == 8, proc.stdout
    assert "no error" not in proc.stdout, proc.stdout
