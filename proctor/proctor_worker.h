/* proctor_worker.h - the pool of capture workers: threads that each own an engine, a
 * Redis and a MariaDB connection, and consume the capture stream. Start and stop from
 * the owning thread; proctor_pool_request_stop and proctor_pool_stats from any thread. */
#ifndef PROCTOR_WORKER_H
#define PROCTOR_WORKER_H

#include "dk_config.h"
#include "dk_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- workers ----------------------------------------------------------------------- */

typedef struct proctor_pool proctor_pool;

typedef struct proctor_stats {
    long long scored, failed, parked, claimed, suspects;
    long long requeued; /* unqueued captures queued again by proctor_requeue_unqueued */
} proctor_stats;

/* Starts proctor_workers threads, each with its own engine, Redis and MariaDB
 * connection, consuming PROCTOR_STREAM as consumers "<name>-<i>". name should be
 * unique per process (host:pid). Also runs proctor_check_missing (every second) and
 * proctor_requeue_unqueued (every 10 s) when check_missing is non-zero. */
int proctor_pool_start(proctor_pool **out, const dk_config *cfg, const char *name,
                       int check_missing, dk_error *err);
/* Asks the workers to stop; each finishes the job in hand. Only sets an atomic flag:
 * safe from any thread and from a signal handler. */
void proctor_pool_request_stop(proctor_pool *p);
/* Stops (if not yet), joins and frees. */
void proctor_pool_stop(proctor_pool *p);
void proctor_pool_stats(const proctor_pool *p, proctor_stats *out);

#ifdef __cplusplus
}
#endif

#endif
