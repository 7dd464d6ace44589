# The thread-team glue every kernel module shares (included by conv.pyx, pool.pyx,
# norm.pyx and elementwise.pyx): nabla/_threads.py tells a module, before each of its
# kernels, how many threads that call gets, and every prange asks nb_team_size().

cdef extern from "_threads.h" nogil:
    void nb_set_team(int n)
    int nb_team_size()


def _set_team(int n):
    """Set how many threads this module's kernels use when called from this thread
    (0: OpenMP's default); nabla/_threads.py calls it before each kernel."""
    nb_set_team(n)
