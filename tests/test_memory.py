"""The kernels' memory cache (nabla/_kernels/_cache.h, nabla/_memory.py).

Kernel arrays of >= 64 KiB go back to a table when freed and are handed out again
for the same size; everything else is NumPy's as usual."""
import threading

import numpy as np
import pytest

import nabla as nb

K = pytest.importorskip("nabla._kernels", reason="the cache belongs to the compiled kernels")
from numpy._core.multiarray import get_handler_name  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_cache():
    nb.empty_cache()
    nb.set_cache_limit(2**30)
    yield
    nb.set_cache_limit(2**30)
    nb.empty_cache()


def _owner(a):
    """The array that owns a's memory (kernels may return a reshaped view)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _relu_out(n):
    """A kernel array of n float32 values (ReLU of ones: all ones)."""
    return K.relu(np.ones(n, np.float32))


def test_a_freed_kernel_array_is_reused_for_the_same_size():
    a = _relu_out(1 << 16)                       # 256 KiB
    address = a.ctypes.data
    assert get_handler_name(_owner(a)) == "nabla_cache"
    del a
    info = nb.cache_info()
    assert info["blocks"] == 1 and info["bytes"] == 1 << 18
    hits = info["hits"]
    b = _relu_out(1 << 16)
    assert b.ctypes.data == address and nb.cache_info()["hits"] == hits + 1
    assert np.all(b == 1)
    c = _relu_out((1 << 16) + 1)                 # another size: a fresh block
    assert c.ctypes.data != address


def test_other_arrays_keep_numpys_allocator():
    _relu_out(1 << 16)
    assert get_handler_name() == "default_allocator"      # restored after the call
    assert get_handler_name(np.empty(1 << 16)) == "default_allocator"


def test_small_arrays_are_not_cached():
    del_me = _relu_out(100)
    del del_me
    assert nb.cache_info()["blocks"] == 0


def test_zeros_from_a_reused_block_are_zeros():
    """np.zeros inside a kernel (calloc) must not see the last user's values."""
    a = K.relu(np.full((4, 8, 8, 64), 7.0, np.float32))   # 64 KiB of sevens
    del a
    # conv2d with an empty reduction (0 input channels) returns np.zeros of 64 KiB.
    hits = nb.cache_info()["hits"]
    zeros = K.conv2d(np.ones((4, 8, 8, 0), np.float32), np.ones((1, 1, 0, 64), np.float32),
                     (8, 8), (1, 1), (0, 0, 0, 0), (1, 1), 1)
    assert nb.cache_info()["hits"] == hits + 1
    assert zeros.shape == (4, 8, 8, 64) and np.all(zeros == 0)


def test_limit_and_empty_cache():
    a, b = _relu_out(1 << 16), _relu_out(1 << 17)
    del a, b
    assert nb.cache_info()["bytes"] == (1 << 18) + (1 << 19)
    assert nb.empty_cache() == (1 << 18) + (1 << 19)
    assert nb.cache_info()["bytes"] == 0
    nb.set_cache_limit(1 << 18)                  # room for the smaller block only
    a, b = _relu_out(1 << 16), _relu_out(1 << 17)
    del b, a
    assert nb.cache_info()["bytes"] == 1 << 18
    nb.set_cache_limit(0)                        # below what it holds: emptied
    assert nb.cache_info()["bytes"] == 0
    a = _relu_out(1 << 16)
    del a
    assert nb.cache_info()["blocks"] == 0


def test_arrays_freed_on_other_threads():
    arrays = [_relu_out((1 << 14) * (1 + i % 4)) for i in range(64)]
    chunks = [arrays[i::4] for i in range(4)]
    del arrays

    def drop(chunk):
        chunk.clear()
    threads = [threading.Thread(target=drop, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    info = nb.cache_info()
    assert info["blocks"] == 64
    assert info["bytes"] == sum((1 << 16) * (1 + i % 4) for i in range(64))


def test_resizing_a_kernel_array_keeps_its_values():
    a = _owner(K.relu(np.arange(1 << 16, dtype=np.float32)))
    a.resize(1 << 17, refcheck=False)            # NumPy reallocs through the cache
    assert np.array_equal(a[:1 << 16], np.arange(1 << 16, dtype=np.float32))
    assert np.all(a[1 << 16:] == 0)


def test_set_cache_limit_checks_its_argument():
    with pytest.raises(TypeError, match="nbytes must be an int, got float"):
        nb.set_cache_limit(1.5)
    with pytest.raises(ValueError, match="nbytes must be >= 0, got -1"):
        nb.set_cache_limit(-1)


def test_a_training_step_reuses_its_memory():
    from nabla import nn
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, seed=0), nn.ReLU(),
                          nn.Conv2d(16, 16, 3, padding=1, seed=1), nn.Flatten(),
                          nn.Linear(16 * 16 * 16, 10, seed=2))
    x = rng.random((16, 16, 16, 3), dtype=np.float32)
    y = rng.integers(0, 10, 16)
    loss_and_grad = nb.value_and_grad(lambda m: nn.functional.cross_entropy_loss(m(x), y))
    loss_and_grad(model)
    before = nb.cache_info()
    loss_and_grad(model)
    after = nb.cache_info()
    assert after["misses"] == before["misses"]    # every large array came from the cache
    assert after["hits"] > before["hits"]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork (POSIX)")
def test_fork_while_another_thread_holds_the_cache_lock():
    """fork() while another thread holds the cache's lock: the child's kernels must
    run, not wait forever for a lock that was copied held (the pthread_atfork
    handlers make fork wait for the lock).  A C thread holds it for 0.3 s."""
    import os
    import time
    from nabla._kernels import memory
    memory._hold_lock(300_000)
    try:
        pid = os.fork()
        if pid == 0:                           # the child: one kernel call, then out
            os._exit(0 if np.all(_relu_out(1 << 15) == 1) else 1)
        deadline = time.monotonic() + 20
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail("the forked child hung in a kernel call (cache lock copied held)")
            time.sleep(0.01)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    finally:
        memory._release_join()
