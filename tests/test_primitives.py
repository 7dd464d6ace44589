"""The primitive registry and the backend contract derived from it.

* every primitive has, for each argument, a VJP rule and a JVP rule, or is
  explicitly not differentiable there, in both modes alike;
* the kernel names a backend must supply are derived from the primitives that
  name a kernel; the reference backend has them all;
* a backend that lacks a kernel runs the reference kernel, with one
  PerformanceWarning naming it; backend_info() says which kernels each has.
"""
import types
import warnings

import numpy as np
import pytest

import nabla as nb
from nabla._autodiff import PRIMITIVES, not_differentiable
from nabla._backend import backend_info, kernel_names

PRIMS = sorted(PRIMITIVES)


@pytest.mark.parametrize("name", PRIMS)
def test_every_argument_has_a_rule_in_both_modes(name):
    prim = PRIMITIVES[name]
    assert len(prim.vjp_rules) == prim.nargs, f"{name}: {len(prim.vjp_rules)} VJP rules for {prim.nargs} args"
    assert len(prim.jvp_rules) == prim.nargs, f"{name}: {len(prim.jvp_rules)} JVP rules for {prim.nargs} args"
    for i, (v, j) in enumerate(zip(prim.vjp_rules, prim.jvp_rules)):
        assert callable(v) or v is not_differentiable, f"{name} arg {i}: VJP rule {v!r}"
        assert callable(j) or j is not_differentiable, f"{name} arg {i}: JVP rule {j!r}"
        assert (v is not_differentiable) == (j is not_differentiable), f"{name} arg {i}: modes disagree"


def test_kernel_names_come_from_the_primitives():
    names = kernel_names()
    assert names == tuple(sorted({p.kernel for p in PRIMITIVES.values() if p.kernel}))
    assert {"conv2d", "conv2d_transpose", "conv2d_filter_grad", "max_pool2d", "max_pool2d_gather",
            "max_pool2d_scatter", "avg_pool2d", "avg_pool2d_transpose"} <= set(names)
    info = backend_info()
    assert all(info["reference"].values()), "the reference backend must implement every kernel"
    assert set(info) >= {"cython", "reference"} and "checked" not in info


def test_a_missing_kernel_falls_back_to_the_reference_with_one_warning():
    cy = nb.debug.backend_kernels("cython")
    partial = types.SimpleNamespace(conv2d=cy.conv2d)   # only one kernel
    nb.debug.register_backend("partial", partial)
    try:
        x = np.random.default_rng(0).standard_normal((1, 4, 4, 2))
        with nb.use_backend("partial"):
            with pytest.warns(nb.PerformanceWarning, match="'partial' has no kernel 'avg_pool2d'"):
                y = nb.avg_pool2d(x, kernel_size=2)
            with warnings.catch_warnings():
                warnings.simplefilter("error")          # once per backend and kernel
                y2 = nb.avg_pool2d(x, kernel_size=2)
        with nb.use_backend("reference"):
            np.testing.assert_array_equal(y.numpy(), nb.avg_pool2d(x, kernel_size=2).numpy())
        np.testing.assert_array_equal(y.numpy(), y2.numpy())
        info = backend_info()["partial"]
        assert info["conv2d"] and not info["avg_pool2d"]
    finally:
        from nabla import _backend
        del _backend.BACKENDS["partial"], _backend._loaded["partial"]


def test_a_backend_with_no_kernel_is_refused():
    with pytest.raises(TypeError, match="has none of the kernels"):
        nb.debug.register_backend("empty", object())
