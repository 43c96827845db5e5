/* dk_workq.c - worker threads with a bounded FIFO, and per-loop mailboxes that carry
 * completions back to the event loop (a mutex-guarded list plus event_active, which is
 * thread-safe once evthread_use_pthreads() was called). */
#include "dk_workq.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dk_err.h"
#include "dk_log.h"

typedef struct job {
    struct job *next;
    dk_mailbox *mb;
    dk_work_fn work;
    dk_done_fn done;
    void *arg;
} job;

struct dk_mailbox {
    pthread_mutex_t lock;
    job *head, *tail;
    struct event *ev;
};

struct dk_workq {
    char name[32];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    job *head, *tail;
    size_t queued, running, max_queue;
    int stopping;
    int nthreads;
    pthread_t *threads;
    dk_thread_init_fn init;
    dk_thread_fini_fn fini;
    void *udata;
    /* pacing of refused work (dk_workq_retry_after), under lock */
    unsigned long long done;      /* jobs finished since start */
    unsigned long long mark_done; /* done at mark_ms */
    long long mark_ms;
    double rate;    /* jobs per second finished, smoothed */
    double svc_ms;  /* wall time of one job in a worker, smoothed (0: none finished yet) */
    long long last_done_ms; /* when a job last finished (mono) */
    double backlog; /* refused requests told to come back, not yet due */
    long long backlog_ms;
};

static long long mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void mailbox_post(dk_mailbox *mb, job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&mb->lock);
    int was_empty = mb->head == NULL;
    if (mb->tail) mb->tail->next = j;
    else mb->head = j;
    mb->tail = j;
    pthread_mutex_unlock(&mb->lock);
    if (was_empty) event_active(mb->ev, EV_READ, 0);
}

static void mailbox_drain(dk_mailbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    job *j = mb->head;
    mb->head = mb->tail = NULL;
    pthread_mutex_unlock(&mb->lock);
    while (j) {
        job *next = j->next;
        if (j->done) j->done(j->arg);
        free(j);
        j = next;
    }
}

static void on_mail(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    mailbox_drain(arg);
}

dk_mailbox *dk_mailbox_new(struct event_base *base)
{
    dk_mailbox *mb = dk_calloc(1, sizeof *mb);
    pthread_mutex_init(&mb->lock, NULL);
    mb->ev = event_new(base, -1, 0, on_mail, mb);
    return mb;
}

void dk_mailbox_free(dk_mailbox *mb)
{
    if (!mb) return;
    mailbox_drain(mb);
    event_free(mb->ev);
    pthread_mutex_destroy(&mb->lock);
    free(mb);
}

static void *worker_main(void *arg)
{
    dk_workq *q = arg;
    void *ctx = q->init ? q->init(q->udata) : NULL;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->head && !q->stopping) pthread_cond_wait(&q->cond, &q->lock);
        if (!q->head) break; /* stopping and drained */
        job *j = q->head;
        q->head = j->next;
        if (!q->head) q->tail = NULL;
        q->queued--;
        q->running++;
        pthread_mutex_unlock(&q->lock);
        long long t0 = mono_us();
        j->work(ctx, j->arg);
        double took_ms = (double)(mono_us() - t0) / 1000.0;
        if (j->mb) mailbox_post(j->mb, j);
        else {
            if (j->done) j->done(j->arg);
            free(j);
        }
        pthread_mutex_lock(&q->lock);
        q->running--;
        q->done++;
        q->svc_ms = q->svc_ms > 0 ? 0.9 * q->svc_ms + 0.1 * took_ms : took_ms;
        q->last_done_ms = mono_ms();
    }
    pthread_mutex_unlock(&q->lock);
    if (q->fini) q->fini(ctx);
    return NULL;
}

dk_workq *dk_workq_new(const char *name, int threads, size_t max_queue, dk_thread_init_fn init,
                       dk_thread_fini_fn fini, void *udata)
{
    dk_workq *q = dk_calloc(1, sizeof *q);
    snprintf(q->name, sizeof q->name, "%s", name);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    q->max_queue = max_queue ? max_queue : 1;
    q->nthreads = threads > 0 ? threads : 1;
    q->init = init;
    q->fini = fini;
    q->udata = udata;
    q->threads = dk_calloc((size_t)q->nthreads, sizeof *q->threads);
    for (int i = 0; i < q->nthreads; i++)
        if (pthread_create(&q->threads[i], NULL, worker_main, q) != 0) {
            DK_ERROR("workq", "pthread_create failed pool=%s", name);
            abort();
        }
    return q;
}

void dk_workq_free(dk_workq *q)
{
    if (!q) return;
    pthread_mutex_lock(&q->lock);
    q->stopping = 1;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->nthreads; i++) pthread_join(q->threads[i], NULL);
    free(q->threads);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    free(q);
}

int dk_workq_submit(dk_workq *q, dk_mailbox *mb, dk_work_fn work, dk_done_fn done, void *arg)
{
    pthread_mutex_lock(&q->lock);
    if (q->stopping || q->queued >= q->max_queue) {
        pthread_mutex_unlock(&q->lock);
        return DK_EBUSY;
    }
    job *j = dk_calloc(1, sizeof *j);
    *j = (job){NULL, mb, work, done, arg};
    if (q->tail) q->tail->next = j;
    else q->head = j;
    q->tail = j;
    q->queued++;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

size_t dk_workq_depth(dk_workq *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->queued + q->running;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t dk_workq_capacity(dk_workq *q) { return q->max_queue; }

/* The rate (jobs/s) the pool can finish at; under q->lock. */
static double pool_rate(dk_workq *q, long long now)
{
    if (!q->mark_ms) q->mark_ms = q->backlog_ms = now;
    if (now - q->mark_ms >= 1000) { /* the measured rate, smoothed over a few seconds */
        double r = (double)(q->done - q->mark_done) * 1000.0 / (double)(now - q->mark_ms);
        q->rate = q->rate > 0 ? 0.7 * q->rate + 0.3 * r : r;
        q->mark_done = q->done;
        q->mark_ms = now;
    }
    /* What the pool can do, not only what it did: its threads over the time one job takes.
     * The finished rate alone paces a pool that clients leave idle ever more slowly (they
     * wait, so fewer jobs finish, so the next wait is longer): at the 09:00 start the hash
     * threads were busy a fifth of the time while thousands waited. Before a first
     * measurement: one job per thread per 100 ms. */
    double svc = q->svc_ms > 0.05 ? q->svc_ms : 0.05;
    double capacity = q->svc_ms > 0 ? (double)q->nthreads * 1000.0 / svc : 0;
    /* every thread busy and nothing finished for much longer than a job takes: the jobs
     * hang (a lock wait, a dead database), the measured time per job says nothing now */
    if ((int)q->running >= q->nthreads && now - q->last_done_ms > 1000 + (long long)(10 * svc))
        capacity = 0;
    double done_rate = q->rate >= 1.0 ? q->rate : q->rate > 0 ? 1.0 : 0;
    double rate = capacity > done_rate ? capacity : done_rate;
    if (rate <= 0) rate = 10.0 * q->nthreads;
    return rate;
}

double dk_workq_rate(dk_workq *q)
{
    pthread_mutex_lock(&q->lock);
    double r = pool_rate(q, mono_ms());
    pthread_mutex_unlock(&q->lock);
    return r;
}

int dk_workq_retry_after(dk_workq *q, int max_s)
{
    pthread_mutex_lock(&q->lock);
    long long now = mono_ms();
    double rate = pool_rate(q, now);
    /* the refused who were told to come back drain at the rate the pool works; this one
     * joins the end of them, as if the queue went on outside the server */
    q->backlog -= rate * (double)(now - q->backlog_ms) / 1000.0;
    if (q->backlog < 0) q->backlog = 0;
    q->backlog += 1;
    q->backlog_ms = now;
    double wait = (q->backlog + (double)q->queued) / rate;
    pthread_mutex_unlock(&q->lock);
    int s = (int)wait + 1;
    return s < 1 ? 1 : s > max_s ? max_s : s;
}
