"""nabla.set_num_threads / get_num_threads / num_threads, the share of concurrent callers,
and threadpoolctl (which must see and limit nabla's OpenMP pool)."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import nabla as nb
from nabla import _threads


@pytest.fixture(autouse=True)
def _restore():
    before = nb.get_num_threads()
    yield
    nb.set_num_threads(before)


def _in_fresh_process(code, **env):
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_default_follows_omp_num_threads_then_the_cpus_this_process_may_use():
    code = "import nabla; print(nabla.get_num_threads())"
    assert _in_fresh_process(code, OMP_NUM_THREADS="3") == "3"
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert run.stdout.strip() == str(len(os.sched_getaffinity(0)))
    # taskset-style affinity: one CPU allowed -> one thread
    one_cpu = ("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
               "import nabla; print(nabla.get_num_threads())")
    run = subprocess.run([sys.executable, "-c", one_cpu], capture_output=True, text=True, env=env)
    assert run.stdout.strip() == "1"


def test_set_get_and_the_context_manager():
    nb.set_num_threads(1)
    assert nb.get_num_threads() == 1
    with nb.num_threads(3):
        assert nb.get_num_threads() == 3
    assert nb.get_num_threads() == 1
    with pytest.raises(RuntimeError), nb.num_threads(2):
        raise RuntimeError
    assert nb.get_num_threads() == 1


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-2, ValueError), (1.5, TypeError),
                                      ("2", TypeError), (True, TypeError), (None, TypeError)])
def test_bad_thread_counts_are_refused(bad, exc):
    with pytest.raises(exc, match=r"set_num_threads: n must be"):
        nb.set_num_threads(bad)


def test_results_do_not_depend_on_the_setting():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 16, 16, 32)).astype(np.float32)
    w = rng.standard_normal((3, 3, 32, 32)).astype(np.float32)
    f = nb.grad(lambda x, w: nb.sum(nb.conv2d(x, w, padding=1) ** 2), argnums=(0, 1))
    results = []
    for n in (1, 2, 3):
        with nb.num_threads(n):
            results.append([g.numpy() for g in f(x, w)])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_concurrent_callers_share_the_threads():
    """While one Python thread is inside a kernel, a second caller gets
    set_num_threads // 2 threads (at least 1), so two callers never oversubscribe."""
    inside, release, seen = threading.Event(), threading.Event(), []

    def first_kernel():
        inside.set()
        release.wait(10)

    first = _threads.team(lambda n: seen.append(("first", n)), first_kernel)
    second = _threads.team(lambda n: seen.append(("second", n)), lambda: None)
    nb.set_num_threads(4)
    t = threading.Thread(target=first)
    t.start()
    assert inside.wait(10)
    second()
    release.set()
    t.join()
    second()
    assert seen == [("first", 4), ("second", 2), ("second", 4)]


def test_threadpoolctl_sees_and_limits_nablas_pool():
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl is not installed")
    from nabla._kernels import conv
    nb.set_num_threads(2)
    conv._set_team(2)
    pools = [p for p in threadpoolctl.threadpool_info() if p["internal_api"] == "openmp"]
    assert pools, "threadpoolctl does not see an OpenMP runtime"
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert conv._team_size() == 1
    assert conv._team_size() == 2
