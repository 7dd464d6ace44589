/* How many OpenMP threads a kernel call may use: one value per calling thread.
 *
 * nabla/_threads.py decides it for each call (the user's setting, shared out among
 * the Python threads that are inside a kernel at the same moment) and stores it here
 * through nb_set_team before the kernel runs; every prange of the module passes
 * nb_team_size() as its num_threads.  OpenMP's own per-thread limit
 * (omp_get_max_threads: OMP_NUM_THREADS, or what threadpoolctl set) caps it, so
 * threadpoolctl.threadpool_limits limits nabla too.  Thread-local, so concurrent
 * callers never see each other's value; static, so each module has its own copy.
 */
#ifndef NABLA_THREADS_H
#define NABLA_THREADS_H

#include <omp.h>

static __thread int nb_team = 0;            /* 0: never set on this thread */

static inline void nb_set_team(int n) { nb_team = n; }

static inline int nb_team_size(void) {
    int limit = omp_get_max_threads();
    return (nb_team > 0 && nb_team < limit) ? nb_team : limit;
}

#endif
