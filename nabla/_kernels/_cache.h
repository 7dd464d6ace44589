/* A caching allocator for the arrays nabla's kernels return (used by memory.pyx).
 *
 * A training step allocates the same activation and gradient sizes every step.
 * NumPy takes each from glibc's malloc, which maps large blocks fresh from the OS
 * and hands freed ones back; every page of a fresh block then costs a page fault
 * (the OS zeroes it) when the kernel first writes it.  In a CIFAR ResNet-8 step
 * that was half the time: 23-25 ms, against 12.4 ms with glibc told to keep its
 * memory (benchmarks/results/2026-11-30-session5.md).
 *
 * So blocks of at least NB_CACHE_MIN bytes that nabla's kernels allocated are, when
 * NumPy frees them, kept in a small table (at most NB_CACHE_SLOTS blocks and
 * nb_cache_limit bytes) and handed out again for a request of the same size; what
 * does not fit is freed at once.  Only those blocks: arrays NumPy allocates
 * elsewhere keep NumPy's allocator (a block records nothing about where it is
 * freed; the handler is the array's own, see NumPy's NEP 49).
 *
 * Each block starts NB_CACHE_HEAD bytes before the pointer NumPy gets: the header
 * holds the block's size, so a block is reused for exactly the size it was made
 * for, whatever size NumPy reports when freeing it, and the data starts on a
 * 64-byte line (NumPy's own allocator promises 16).  A mutex guards the table:
 * NumPy may free an array on any thread.
 */
#ifndef NABLA_CACHE_H
#define NABLA_CACHE_H

#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NB_CACHE_MIN ((size_t)1 << 16)   /* smaller blocks: glibc's heap serves them well */
#define NB_CACHE_SLOTS 128
#define NB_CACHE_HEAD ((size_t)64)

static struct { void *block; size_t size; } nb_cache_slot[NB_CACHE_SLOTS];
static size_t nb_cache_bytes = 0;                   /* bytes held in the table */
static size_t nb_cache_limit = (size_t)1 << 30;     /* at most this many */
static size_t nb_cache_hits = 0, nb_cache_misses = 0;
static pthread_mutex_t nb_cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* A cached block of exactly `size` data bytes, or NULL. */
static void *nb_cache_take(size_t size)
{
    void *block = NULL;
    pthread_mutex_lock(&nb_cache_lock);
    for (int i = 0; i < NB_CACHE_SLOTS; i++)
        if (nb_cache_slot[i].block != NULL && nb_cache_slot[i].size == size) {
            block = nb_cache_slot[i].block;
            nb_cache_slot[i].block = NULL;
            nb_cache_bytes -= size;
            break;
        }
    if (block != NULL)
        nb_cache_hits++;
    else
        nb_cache_misses++;
    pthread_mutex_unlock(&nb_cache_lock);
    return block;
}

/* A block for `size` data bytes (from the table or from malloc); NULL if out of memory. */
static void *nb_cache_block(size_t size, int *fresh)
{
    void *block = size >= NB_CACHE_MIN ? nb_cache_take(size) : NULL;
    *fresh = block == NULL;
    if (block == NULL) {
        if (size > SIZE_MAX - NB_CACHE_HEAD)
            return NULL;
        if (posix_memalign(&block, NB_CACHE_HEAD, size + NB_CACHE_HEAD) != 0)
            return NULL;
        *(size_t *)block = size;
    }
    return (char *)block + NB_CACHE_HEAD;
}

static void *nb_cache_malloc(void *ctx, size_t size)
{
    int fresh;
    (void)ctx;
    return nb_cache_block(size ? size : 1, &fresh);
}

static void *nb_cache_calloc(void *ctx, size_t nelem, size_t elsize)
{
    size_t size;
    int fresh;
    char *p;
    (void)ctx;
    if (elsize != 0 && nelem > SIZE_MAX / elsize)
        return NULL;
    size = nelem * elsize ? nelem * elsize : 1;
    p = (char *)nb_cache_block(size, &fresh);
    if (p != NULL)
        memset(p, 0, size);
    return p;
}

static void nb_cache_free(void *ctx, void *ptr, size_t size_hint)
{
    char *block;
    size_t size;
    (void)ctx;
    (void)size_hint;       /* the header knows the block's true size */
    if (ptr == NULL)
        return;
    block = (char *)ptr - NB_CACHE_HEAD;
    size = *(size_t *)block;
    if (size >= NB_CACHE_MIN) {
        pthread_mutex_lock(&nb_cache_lock);
        if (nb_cache_bytes + size <= nb_cache_limit)
            for (int i = 0; i < NB_CACHE_SLOTS; i++)
                if (nb_cache_slot[i].block == NULL) {
                    nb_cache_slot[i].block = block;
                    nb_cache_slot[i].size = size;
                    nb_cache_bytes += size;
                    block = NULL;
                    break;
                }
        pthread_mutex_unlock(&nb_cache_lock);
    }
    free(block);           /* NULL when it went into the table */
}

static void *nb_cache_realloc(void *ctx, void *ptr, size_t new_size)
{
    size_t old;
    char *p;
    int fresh;
    if (ptr == NULL)
        return nb_cache_malloc(ctx, new_size);
    old = *(size_t *)((char *)ptr - NB_CACHE_HEAD);
    p = (char *)nb_cache_block(new_size ? new_size : 1, &fresh);
    if (p == NULL)
        return NULL;       /* the old block stays valid, as realloc's contract says */
    memcpy(p, ptr, old < new_size ? old : new_size);
    nb_cache_free(ctx, ptr, old);
    return p;
}

/* Free every cached block; returns the bytes released. */
static size_t nb_cache_empty(void)
{
    size_t released;
    void *blocks[NB_CACHE_SLOTS];
    int n = 0;
    pthread_mutex_lock(&nb_cache_lock);
    for (int i = 0; i < NB_CACHE_SLOTS; i++)
        if (nb_cache_slot[i].block != NULL) {
            blocks[n++] = nb_cache_slot[i].block;
            nb_cache_slot[i].block = NULL;
        }
    released = nb_cache_bytes;
    nb_cache_bytes = 0;
    pthread_mutex_unlock(&nb_cache_lock);
    for (int i = 0; i < n; i++)
        free(blocks[i]);
    return released;
}

static void nb_cache_set_limit(size_t limit)
{
    int over;
    pthread_mutex_lock(&nb_cache_lock);
    nb_cache_limit = limit;
    over = nb_cache_bytes > limit;
    pthread_mutex_unlock(&nb_cache_lock);
    if (over)
        nb_cache_empty();
}

static void nb_cache_stats(size_t *bytes, size_t *blocks, size_t *hits, size_t *misses,
                           size_t *limit)
{
    size_t n = 0;
    pthread_mutex_lock(&nb_cache_lock);
    for (int i = 0; i < NB_CACHE_SLOTS; i++)
        n += nb_cache_slot[i].block != NULL;
    *bytes = nb_cache_bytes;
    *blocks = n;
    *hits = nb_cache_hits;
    *misses = nb_cache_misses;
    *limit = nb_cache_limit;
    pthread_mutex_unlock(&nb_cache_lock);
}

/* Around fork(): the parent holds the table's lock while the process is copied, so
 * the child gets the table in a consistent state and its lock free (a fork while
 * another thread held the lock would otherwise leave the child's kernels waiting
 * for it forever).  Registered once, when memory.pyx is imported. */
static void nb_cache_before_fork(void) { pthread_mutex_lock(&nb_cache_lock); }
static void nb_cache_after_fork(void) { pthread_mutex_unlock(&nb_cache_lock); }

static int nb_cache_register_fork(void)
{
    return pthread_atfork(nb_cache_before_fork, nb_cache_after_fork, nb_cache_after_fork);
}

/* For the fork test (tests/test_memory.py): a thread that takes the lock and holds
 * it for `usec` microseconds; nb_cache_hold_start returns once the lock is held. */
#include <unistd.h>
static pthread_t nb_cache_holder;
static volatile int nb_cache_held = 0;
static unsigned nb_cache_hold_usec = 0;

static void *nb_cache_hold(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&nb_cache_lock);
    nb_cache_held = 1;
    usleep(nb_cache_hold_usec);
    pthread_mutex_unlock(&nb_cache_lock);
    return NULL;
}

static int nb_cache_hold_start(unsigned usec)
{
    nb_cache_held = 0;
    nb_cache_hold_usec = usec;
    if (pthread_create(&nb_cache_holder, NULL, nb_cache_hold, NULL) != 0)
        return -1;
    while (!nb_cache_held)
        usleep(100);
    return 0;
}

static void nb_cache_hold_join(void) { pthread_join(nb_cache_holder, NULL); }

/* The NumPy handler (NEP 49; NumPy >= 1.22) and a capsule of it for
 * PyDataMem_SetHandler.  Needs numpy/arrayobject.h, included (and its API imported)
 * by the Cython module. */
static PyDataMem_Handler nb_cache_handler = {
    "nabla_cache", 1,
    {NULL, nb_cache_malloc, nb_cache_calloc, nb_cache_realloc, nb_cache_free}
};

static PyObject *nb_cache_capsule(void)
{
    return PyCapsule_New(&nb_cache_handler, "mem_handler", NULL);
}

/* Make `handler` (a capsule; NULL: NumPy's default) the current context's handler;
 * returns the previous one. */
static PyObject *nb_cache_set_handler(PyObject *handler)
{
    return PyDataMem_SetHandler(handler);
}

#endif  /* NABLA_CACHE_H */
