"""Python threads: ops release the GIL and keep no shared state, so 8 threads
running every op and derivative at once, half on each backend (``use_backend``
is per thread), give results bit-identical to the same calls made serially."""
import concurrent.futures as cf

import numpy as np

import nabla
from tests.op_db import op_db

BACKENDS = ("cython", "reference")


def _calls():
    """(op, sample) pairs: the first four samples of every op, in both dtypes."""
    out = []
    for op in op_db:
        for dtype in (np.float32, np.float64):
            for k, s in enumerate(op.sample_inputs(dtype, np.random.default_rng(3))):
                if k < 4 and s.finite:
                    out.append((op, s))
    return out


def _run(op, sample, backend):
    """Value, VJP and JVP of one sample on one backend, as arrays."""
    with nabla.use_backend(backend):
        f = op.partial(sample)
        primals = op.diff_inputs(sample)
        rng = np.random.default_rng(0)
        y, pullback = nabla.vjp(f, *primals)
        cts = pullback(rng.standard_normal(y.shape).astype(y.dtype))
        tangents = [rng.standard_normal(np.shape(p)).astype(np.asarray(p).dtype) for p in primals]
        _, t = nabla.jvp(f, list(primals), tangents)
    return [y.numpy().copy()] + [c.numpy().copy() for c in cts] + [t.numpy().copy()]


def test_eight_threads_mixed_backends_match_serial_bit_for_bit():
    calls = _calls()
    jobs = [(op, s, BACKENDS[i % 2]) for i, (op, s) in enumerate(calls)] * 2   # each call twice
    serial = [_run(*job) for job in jobs]
    with cf.ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda job: _run(*job), jobs))
    assert len(threaded) == len(serial) > 100
    for (op, s, backend), a, b in zip(jobs, serial, threaded):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y, err_msg=f"{op.name} {s.id} on {backend}")


# Every Cython kernel on shapes big enough to go parallel (the conv threshold is set to 0),
# in a fresh process per OpenMP thread count; each prints a hash of all its results.
_KERNELS_SCRIPT = r"""
import hashlib, sys
import numpy as np
import nabla._kernels as K
import nabla.reference as R
from nabla._kernels import conv
conv._parallel_min_macs(0)
rng = np.random.default_rng(0)
digest = hashlib.sha256()
for dtype in (np.float32, np.float64):
    for N, H, C, O, k, s, p, d, groups in [(4, 12, 16, 32, 3, 1, 1, 1, 1), (2, 30, 3, 64, 7, 2, 3, 1, 1),
                                           (8, 8, 64, 48, 3, 1, 1, 1, 1), (3, 9, 5, 7, 3, 2, 0, 1, 1),
                                           (40, 20, 8, 40, 3, 1, 1, 2, 1), (4, 16, 32, 32, 3, 1, 1, 1, 4),
                                           (4, 16, 32, 32, 3, 1, 1, 1, 32), (3, 20, 40, 40, 7, 1, 3, 1, 40),
                                           (2, 17, 48, 48, 3, 2, 1, 2, 48), (8, 14, 64, 64, 7, 1, 3, 1, 64),
                                           (6, 6, 128, 160, 3, 1, 1, 1, 1)]:
        x = rng.standard_normal((N, H, H, C)).astype(dtype)
        w = rng.standard_normal((k, k, C // groups, O)).astype(dtype)
        Ho = (H + 2 * p - d * (k - 1) - 1) // s + 1
        dy = rng.standard_normal((N, Ho, Ho, O)).astype(dtype)
        geo = ((s, s), (p, p, p, p), (d, d))
        results = [K.conv2d(x, w, (Ho, Ho), *geo, groups),
                   K.conv2d_transpose(dy, w, (H, H), *geo, groups),
                   K.conv2d_filter_grad(x, dy, (k, k), *geo, groups)]
        want = R.conv2d_filter_grad(x, dy, (k, k), *geo, groups)
        np.testing.assert_allclose(results[2], want, rtol=1e-3 if dtype == np.float32 else 1e-10,
                                   atol=1e-2 if dtype == np.float32 else 1e-9)
        y, argmax = K.max_pool2d(x, (Ho, Ho), (k, k), *geo)
        dyc = np.ascontiguousarray(dy[..., :C]) if O >= C else None
        if dyc is None or dyc.shape != y.shape:
            dyc = rng.standard_normal(y.shape).astype(dtype)
        results += [y, argmax, K.max_pool2d_scatter(dyc, argmax, (H, H)),
                    K.avg_pool2d(x, (Ho, Ho), (k, k), *geo),
                    K.avg_pool2d_transpose(dyc, (H, H), (k, k), *geo)]
        for r in results:
            digest.update(np.ascontiguousarray(r).tobytes())
    # batch norm and channel_sum: per-channel sums over blocks of rows fixed by C
    # (many blocks, the last one partial), checked against the reference on the way
    for shape in [(8, 30, 30, 5), (16, 16, 16, 24), (3, 7, 7, 3000), (40000, 3)]:
        x = (3 * rng.standard_normal(shape) + 10).astype(dtype)
        dy = rng.standard_normal(shape).astype(dtype)
        gamma, beta = rng.standard_normal((2, shape[-1])).astype(dtype)
        y, mean, var = K.batch_norm(x, gamma, beta, 1e-5)
        tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)
        for got, want in zip((y, mean, var), R.batch_norm(x, gamma, beta, 1e-5)):
            np.testing.assert_allclose(got, want, **tol)
        sums = K.batch_norm_backward_reduce(x, dy, mean, var, 1e-5)
        np.testing.assert_allclose(sums, R.batch_norm_backward_reduce(x, dy, mean, var, 1e-5),
                                   rtol=tol["rtol"] * 10, atol=tol["atol"] * x.size ** 0.5)
        s = K.channel_sum(dy)
        np.testing.assert_allclose(s, R.channel_sum(dy), rtol=tol["rtol"], atol=tol["atol"] * x.size ** 0.5)
        np.testing.assert_array_equal(K.relu(dy), R.relu(dy))
        np.testing.assert_array_equal(K.relu_backward(x, dy), R.relu_backward(x, dy))
        results = [y, mean, var, sums, K.batch_norm_backward(x, gamma, dy, sums, mean, var, 1e-5),
                   K.batch_norm_eval(x, mean, gamma, beta), s]
        for r in results:
            digest.update(np.ascontiguousarray(r).tobytes())
print(digest.hexdigest())
"""


def test_same_bits_on_any_number_of_openmp_threads():
    """The documented guarantee: same inputs, same bits, whatever the thread count
    (the filter gradient's and batch norm's partial sums are fixed by the shapes, not
    the threads)."""
    import os
    import subprocess
    import sys
    digests = {}
    for threads in (1, 2, 3, 7):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        run = subprocess.run([sys.executable, "-c", _KERNELS_SCRIPT], env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        digests[threads] = run.stdout.strip()
    assert len(set(digests.values())) == 1, digests
