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
