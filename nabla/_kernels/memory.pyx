"""The caching allocator for the arrays nabla's kernels return (``_cache.h``).

``use_cache()`` makes it NumPy's allocator in the calling thread's context and
returns the allocator it replaces, for ``restore``; the Cython backend does this
around every kernel call (``nabla/_kernels/__init__.py``), so only the kernels'
own arrays (results and scratch) come from it.  An array keeps the allocator it
was made with: freed anywhere, a kernel's array returns its block to the table.
"""
cimport numpy as cnp

cnp.import_array()

cdef extern from "_cache.h":
    object nb_cache_capsule()
    object nb_cache_set_handler(object handler)
    size_t nb_cache_empty() nogil
    void nb_cache_set_limit(size_t limit) nogil
    void nb_cache_stats(size_t *bytes, size_t *blocks, size_t *hits, size_t *misses,
                        size_t *limit) nogil
    size_t NB_CACHE_MIN
    int NB_CACHE_SLOTS
    int nb_cache_register_fork()
    int nb_cache_hold_start(unsigned usec) nogil
    void nb_cache_hold_join() nogil

_CAPSULE = nb_cache_capsule()
if nb_cache_register_fork() != 0:
    raise ImportError("nabla: pthread_atfork failed for the kernels' memory cache")


def use_cache():
    """Make the cache NumPy's allocator here; returns the previous allocator."""
    return nb_cache_set_handler(_CAPSULE)


def restore(previous):
    """Put back the allocator use_cache returned."""
    nb_cache_set_handler(previous)


def empty_cache():
    """Free every cached block; returns the bytes released."""
    return nb_cache_empty()


def set_limit(size_t limit):
    """Keep at most `limit` bytes of freed blocks (0: keep none)."""
    nb_cache_set_limit(limit)


def info():
    """{bytes, blocks, hits, misses, limit, min_block, slots} of the cache."""
    cdef size_t nbytes, blocks, hits, misses, limit
    nb_cache_stats(&nbytes, &blocks, &hits, &misses, &limit)
    return {"bytes": nbytes, "blocks": blocks, "hits": hits, "misses": misses,
            "limit": limit, "min_block": NB_CACHE_MIN, "slots": NB_CACHE_SLOTS}


def _hold_lock(unsigned usec):
    """Tests: a C thread takes the table's lock and holds it usec microseconds;
    returns once it holds it (then call _release_join)."""
    if nb_cache_hold_start(usec) != 0:
        raise OSError("pthread_create failed")


def _release_join():
    """Tests: wait for the _hold_lock thread to finish."""
    with nogil:
        nb_cache_hold_join()
