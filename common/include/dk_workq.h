/* dk_workq.h - bounded worker pools whose results come back to an event loop.
 *
 * Slow work (MariaDB calls, password hashing, face scoring) runs on a pool's threads;
 * its completion runs on the event loop that submitted it, through that loop's
 * dk_mailbox. The queue is bounded: a full queue refuses with DK_EBUSY at once, so a
 * server can answer 503 with Retry-After instead of timing out. Each thread may own a
 * context (e.g. its own MYSQL connection) made by init and ended by fini. */
#ifndef DK_WORKQ_H
#define DK_WORKQ_H

#include <event2/event.h>
#include <stddef.h>

typedef struct dk_workq dk_workq;
typedef struct dk_mailbox dk_mailbox;

typedef void *(*dk_thread_init_fn)(void *udata);
typedef void (*dk_thread_fini_fn)(void *ctx);
typedef void (*dk_work_fn)(void *thread_ctx, void *arg); /* on a worker thread */
typedef void (*dk_done_fn)(void *arg);                    /* on the submitting loop */

dk_workq *dk_workq_new(const char *name, int threads, size_t max_queue, dk_thread_init_fn init,
                       dk_thread_fini_fn fini, void *udata);
/* Runs every queued job, then joins the threads. Completions still pending in
 * mailboxes are run by dk_mailbox_free / the loops. */
void dk_workq_free(dk_workq *q);
/* 0, or DK_EBUSY when the queue is full (neither work nor done will run). */
int dk_workq_submit(dk_workq *q, dk_mailbox *mb, dk_work_fn work, dk_done_fn done, void *arg);
size_t dk_workq_depth(dk_workq *q); /* jobs waiting + running */
size_t dk_workq_capacity(dk_workq *q);
/* What Retry-After to give a request this full pool refused: the refused ones told to come
 * back so far, still not due, plus the queue, over the rate the pool can finish jobs at
 * (its threads over the measured time per job, or the measured finishing rate if higher),
 * in seconds, 1..max_s. Clients that honour it come back spread over the time
 * the pool needs for them instead of all within a fixed few seconds. */
int dk_workq_retry_after(dk_workq *q, int max_s);
/* The rate, in jobs per second, at which the pool can finish jobs (as above). */
double dk_workq_rate(dk_workq *q);

/* One per event loop. Requires evthread_use_pthreads() before the base was made. */
dk_mailbox *dk_mailbox_new(struct event_base *base);
void dk_mailbox_free(dk_mailbox *mb); /* runs completions still waiting, on this thread */

#endif
