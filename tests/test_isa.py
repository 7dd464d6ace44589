"""Runtime CPU dispatch: every instruction-set variant of the kernels that this CPU can
run agrees with the reference backend (and so with the others, to rounding);
NABLA_ISA forces a variant; nabla.show_config reports the choice."""
import importlib
import os
import subprocess
import sys

import numpy as np
import pytest

import nabla as nb
import nabla._kernels as K
import nabla.reference as R

VARIANTS = [isa for isa in K.BUILT if isa in K.SUPPORTED]
GEOMETRIES = [  # (N, H, C_in, C_out, k, stride, pad, dilation, groups)
    (2, 9, 6, 16, 3, 1, 1, 1, 1), (2, 11, 5, 7, 3, 2, 2, 2, 1), (1, 8, 6, 9, 3, 1, 1, 1, 3),
    (2, 9, 8, 8, 5, 1, 2, 1, 8), (3, 6, 32, 40, 1, 1, 0, 1, 1), (2, 7, 1, 6, 5, 1, 2, 1, 1),
    (2, 12, 40, 33, 3, 2, 1, 1, 1),
    # depthwise (_depthwise.h): channel tails, stride and dilation, ConvNeXt's 7x7
    (2, 11, 40, 40, 3, 2, 1, 2, 40), (2, 10, 96, 96, 7, 1, 3, 1, 96), (1, 9, 21, 21, 5, 3, 2, 1, 21),
]


def _kernels(isa):
    return (importlib.import_module(f"nabla._kernels._{isa}.conv"),
            importlib.import_module(f"nabla._kernels._{isa}.pool"))


@pytest.mark.parametrize("isa", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_variant_of_batch_norm_matches_the_reference(isa, dtype):
    norm = importlib.import_module(f"nabla._kernels._{isa}.norm")
    rng = np.random.default_rng(1)
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for shape in [(2, 9, 9, 16), (3, 5, 7, 3), (64, 33), (2, 4, 4, 130)]:
        x = (2 * rng.standard_normal(shape) + 5).astype(dtype)
        dy = rng.standard_normal(shape).astype(dtype)
        gamma, beta = rng.standard_normal((2, shape[-1])).astype(dtype)
        y, mean, var = norm.batch_norm(x, gamma, beta, 1e-5)
        for got, want in zip((y, mean, var), R.batch_norm(x, gamma, beta, 1e-5)):
            np.testing.assert_allclose(got, want, **tol)
        sums = norm.batch_norm_backward_reduce(x, dy, mean, var, 1e-5)
        np.testing.assert_allclose(sums, R.batch_norm_backward_reduce(x, dy, mean, var, 1e-5),
                                   rtol=tol["rtol"], atol=tol["atol"] * x.size ** 0.5)
        np.testing.assert_allclose(norm.batch_norm_backward(x, gamma, dy, sums, mean, var, 1e-5),
                                   R.batch_norm_backward(x, gamma, dy, sums, mean, var, 1e-5), **tol)
        np.testing.assert_allclose(norm.batch_norm_eval(x, mean, gamma, beta),
                                   R.batch_norm_eval(x, mean, gamma, beta), **tol)


@pytest.mark.parametrize("isa", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_variant_of_the_elementwise_kernels_matches_the_reference(isa, dtype):
    ew = importlib.import_module(f"nabla._kernels._{isa}.elementwise")
    rng = np.random.default_rng(2)
    for shape in [(2, 9, 9, 16), (3, 5, 7, 3), (64, 33), (1, 1, 1, 1), (0, 4), (70000, 1)]:
        x = rng.standard_normal(shape).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        if x.size:
            x.reshape(-1)[:3] = [np.nan, -0.0, 0.0][:x.size]
            g.reshape(-1)[-1] = np.inf                       # inf * 0 is NaN, as NumPy's product
        np.testing.assert_array_equal(ew.relu(x), R.relu(x))
        with np.errstate(invalid="ignore"):
            np.testing.assert_array_equal(ew.relu_backward(g, x), R.relu_backward(g, x))
        finite = np.nan_to_num(x)
        np.testing.assert_allclose(ew.channel_sum(finite), R.channel_sum(finite),
                                   rtol=1e-6 if dtype == np.float32 else 1e-13,
                                   atol=1e-5 if dtype == np.float32 else 1e-12)
        np.testing.assert_array_equal(ew.add(x, g), R.add(x, g))
    assert ew.relu(np.array([-2, 3], np.int64)).tolist() == [0, 3]     # other dtypes: NumPy's maximum


def test_the_best_supported_variant_is_chosen():
    assert K.ISA in VARIANTS
    if not os.environ.get("NABLA_ISA"):
        assert K.ISA == VARIANTS[0]       # K.BUILT is best first
    assert sys.modules["nabla._kernels.conv"] is K.conv
    assert K.conv.__name__ == f"nabla._kernels._{K.ISA}.conv"


@pytest.mark.parametrize("isa", VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_variant_matches_the_reference(isa, dtype):
    conv, pool = _kernels(isa)
    rng = np.random.default_rng(0)
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for N, H, C, O, k, s, p, d, g in GEOMETRIES:
        x = rng.standard_normal((N, H, H, C)).astype(dtype)
        w = rng.standard_normal((k, k, C // g, O)).astype(dtype)
        Ho = (H + 2 * p - d * (k - 1) - 1) // s + 1
        dy = rng.standard_normal((N, Ho, Ho, O)).astype(dtype)
        geo = ((s, s), (p, p, p, p), (d, d))
        np.testing.assert_allclose(conv.conv2d(x, w, (Ho, Ho), *geo, g),
                                   R.conv2d(x, w, (Ho, Ho), *geo, g), **tol)
        np.testing.assert_allclose(conv.conv2d_transpose(dy, w, (H, H), *geo, g),
                                   R.conv2d_transpose(dy, w, (H, H), *geo, g), **tol)
        np.testing.assert_allclose(conv.conv2d_filter_grad(x, dy, (k, k), *geo, g),
                                   R.conv2d_filter_grad(x, dy, (k, k), *geo, g),
                                   rtol=tol["rtol"] * 10, atol=tol["atol"] * 10 * N * Ho * Ho)
        if 2 * p <= k:
            y, argmax = pool.max_pool2d(x, (Ho, Ho), (k, k), *geo)
            y_ref, argmax_ref = R.max_pool2d(x, (Ho, Ho), (k, k), *geo)
            np.testing.assert_array_equal(y, y_ref)
            np.testing.assert_array_equal(argmax, argmax_ref)
            g_out = np.ascontiguousarray(rng.standard_normal(y.shape).astype(dtype))
            np.testing.assert_allclose(pool.max_pool2d_scatter(g_out, argmax, (H, H)),
                                       R.max_pool2d_scatter(g_out, argmax, (H, H)), **tol)
            np.testing.assert_allclose(pool.avg_pool2d(x, (Ho, Ho), (k, k), *geo),
                                       R.avg_pool2d(x, (Ho, Ho), (k, k), *geo), **tol)
            np.testing.assert_allclose(pool.avg_pool2d_transpose(g_out, (H, H), (k, k), *geo),
                                       R.avg_pool2d_transpose(g_out, (H, H), (k, k), *geo), **tol)


def _fresh(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


@pytest.mark.parametrize("isa", VARIANTS)
def test_nabla_isa_forces_a_variant(isa):
    run = _fresh("import nabla._kernels as K; print(K.ISA, K.conv.__name__)", NABLA_ISA=isa)
    assert run.stdout.split() == [isa, f"nabla._kernels._{isa}.conv"], run.stderr


def test_an_unknown_nabla_isa_is_named_and_nabla_falls_back_to_the_reference_backend():
    code = ("import warnings; warnings.simplefilter('error', RuntimeWarning)\n"
            "try:\n    import nabla\nexcept RuntimeWarning as w:\n    print(w)")
    run = _fresh(code, NABLA_ISA="sse1")
    assert "NABLA_ISA='sse1'" in run.stdout and "this build has the variants" in run.stdout


def test_show_config(capsys):
    nb.show_config()
    out = capsys.readouterr().out
    assert f"kernels:  {K.ISA}" in out and "OpenMP" in out and "threads:" in out
    info = nb.show_config(mode="dicts")
    assert info["isa"] == K.ISA and info["threads"] == nb.get_num_threads()
    with pytest.raises(ValueError, match="mode must be"):
        nb.show_config(mode="json")
