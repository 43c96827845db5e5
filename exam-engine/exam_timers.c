/* exam_timers.c - the periodic work of one examd node, on its loop 0:
 *  - the sweeper submits sessions whose deadline passed (any node may; the claim script
 *    lets exactly one win), and keeps the sweeper-lag and live-session gauges;
 *  - the flush writes the answers saved since the last flush to MariaDB, many sessions per
 *    transaction (exam:dirty, each session's flushed_ms), so a lost Redis loses nothing
 *    older than the last flush;
 *  - the bank check reloads the question bank when an import changed its version, and
 *    swaps it in atomically (draws in flight keep the index they started with).
 *  - the capture sweep removes photos no capture row names (exam_capture.c), on the
 *    capture pool: the first a minute after the start over every folder, then those changed
 *    in the last two periods.
 * Each tick issues async commands and returns; nothing here blocks the loop. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dk_log.h"
#include "exam_db.h"
#include "exam_internal.h"

#define SWEEP_BATCH 64
#define FLUSH_BATCH 1024 /* per tick; the tick skips itself while the DB queue is half full */
#define MAX_SWEEPS_INFLIGHT 256

static exam_server *srv_of(dk_loop *l) { return dk_http_udata(l->server); }

/* ---- sweeper ------------------------------------------------------------------------ */

static void on_due(redisReply *r, const dk_error *e, void *arg)
{
    dk_loop *loop = arg;
    if (e->code || !r || r->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING) exam_sweep_one(loop, r->element[i]->str);
}

static void on_oldest(redisReply *r, const dk_error *e, void *arg)
{
    exam_server *s = arg;
    if (e->code || !r || r->type != REDIS_REPLY_ARRAY) return;
    long long lag = 0;
    if (r->elements == 2) {
        long long due = strtoll(r->element[1]->str, NULL, 10);
        lag = exam_now_ms(s) - due;
        if (lag < 0) lag = 0;
    }
    atomic_store(&s->sweeper_lag_ms, lag);
}

static void on_card(redisReply *r, const dk_error *e, void *arg)
{
    exam_server *s = arg;
    if (!e->code && r && r->type == REDIS_REPLY_INTEGER) atomic_store(&s->live_sessions, r->integer);
}

static void on_xlen(redisReply *r, const dk_error *e, void *arg)
{
    if (!e->code && r && r->type == REDIS_REPLY_INTEGER) atomic_store((_Atomic long long *)arg, r->integer);
}

static void on_clock(int ok, long long offset_ms, void *arg)
{
    if (ok) exam_clock_note(arg, offset_ms);
}

static void sweep_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dk_loop *loop = arg;
    exam_server *s = srv_of(loop);
    dk_clock_probe(loop->redis, on_clock, s);
    dk_aredis_cmd(loop->redis, 0, on_oldest, s, "ZRANGE %s 0 0 WITHSCORES", DOM_KEY_DEADLINES);
    dk_aredis_cmd(loop->redis, 0, on_card, s, "ZCARD %s", DOM_KEY_DEADLINES);
    dk_aredis_cmd(loop->redis, 0, on_xlen, &s->capture_backlog, "XLEN %s", PROCTOR_STREAM);
    dk_aredis_cmd(loop->redis, 0, on_xlen, &s->capture_parked, "XLEN %s", PROCTOR_PARKED);
    if (atomic_load(&s->sweeps_inflight) > MAX_SWEEPS_INFLIGHT) return;
    dk_aredis_cmd(loop->redis, 0, on_due, loop, "ZRANGEBYSCORE %s -inf %lld LIMIT 0 %d",
                  DOM_KEY_DEADLINES, exam_now_ms(s), SWEEP_BATCH);
}

/* ---- flush ----------------------------------------------------------------------------
 * Each tick pops up to FLUSH_BATCH dirty sessions and takes each one's answers saved at or
 * after its watermark (dom_lua_flush_take: the answers' "@ms" against DOM_F_FLUSHED_MS,
 * the whole paper the first time). The taken answers of many sessions go to the database
 * pool together, as jobs of up to FLUSH_JOB_SESSIONS sessions, each job one transaction;
 * afterwards each session's watermark moves up (dom_lua_flush_settle). A flush writes what
 * changed, not the whole paper, and a few jobs per tick, not one per session: resumes and
 * submits no longer queue behind thousands of flushes, and an answer save costs Redis
 * nothing more than before. A failed job puts its sessions back into exam:dirty; their
 * watermarks did not move, so the next take returns the same answers. */

#define FLUSH_JOB_SESSIONS 128

typedef struct flush_job {
    exam_server *srv;
    dk_loop *loop;
    int nsess;
    char sid[FLUSH_JOB_SESSIONS][DOM_SID_LEN + 1];
    int first[FLUSH_JOB_SESSIONS + 1]; /* session i's rows: [first[i], first[i + 1]) */
    long long took[FLUSH_JOB_SESSIONS]; /* Redis's time of session i's take */
    int nrows, cap;
    exam_flush_row *rows; /* vals owned (dk_strndup) */
    int rc;
    dk_error err;
} flush_job;

/* At most this many takes of a round in flight: the loop's Redis connection carries the
 * answer saves too, and a thousand Lua takes queued ahead of them made the saves wait. */
#define FLUSH_TAKE_WINDOW 32

/* One tick's takes, until every reply is in. */
typedef struct flush_round {
    dk_loop *loop;
    int nsids, next, inflight; /* sids[next..] not yet asked for */
    int asking;                /* inside take_more: a reply answered inline waits for it */
    char (*sids)[DOM_SID_LEN + 1];
    flush_job *cur;
} flush_round;

typedef struct flush_take {
    flush_round *round;
    char sid[DOM_SID_LEN + 1];
} flush_take;

static void flush_job_free(flush_job *j)
{
    for (int i = 0; i < j->nrows; i++) free((char *)j->rows[i].val);
    free(j->rows);
    free(j);
}

static void flush_work(void *ctx, void *arg)
{
    flush_job *j = arg;
    MYSQL *db = dk_dbconn_get(ctx, &j->err);
    j->rc = db ? exam_db_flush_rows(db, j->rows, j->nrows, &j->err) : j->err.code;
    if (j->rc == DK_EIO) dk_dbconn_drop(ctx);
}

static void on_flush_redis(redisReply *r, const dk_error *e, void *arg)
{
    (void)r, (void)arg;
    if (e->code) DK_WARN("examd", "answer flush: redis err=\"%s\"", e->msg);
}

/* MariaDB has them: each session's watermark moves up to the time of its take. */
static void settle(flush_job *j)
{
    for (int i = 0; i < j->nsess; i++) {
        dom_key k = dom_key_sess(j->sid[i]);
        char ms[24];
        snprintf(ms, sizeof ms, "%lld", j->took[i]);
        const char *argv[] = {"1", k.s, ms};
        dk_aredis_evalsha(j->loop->redis, 0, on_flush_redis, NULL, &dom_lua_flush_settle, 3, argv,
                          NULL);
    }
}

static void readd(flush_job *j)
{
    for (int i = 0; i < j->nsess; i++)
        dk_aredis_cmd(j->loop->redis, 0, on_flush_redis, NULL, "SADD %s %s", DOM_KEY_DIRTY,
                      j->sid[i]);
}

static void flush_done(void *arg)
{
    flush_job *j = arg;
    if (j->rc) { /* again at the next tick */
        DK_WARN("examd", "answer flush failed sessions=%d rows=%d err=%s", j->nsess, j->nrows,
                j->err.msg);
        readd(j);
    } else {
        atomic_fetch_add(&j->srv->flushed_answers, j->nrows);
        settle(j);
    }
    flush_job_free(j);
}

static void submit_job(flush_round *rd)
{
    flush_job *j = rd->cur;
    rd->cur = NULL;
    if (!j) return;
    if (!j->nrows) {
        flush_job_free(j);
        return;
    }
    if (dk_workq_submit(j->srv->flush, j->loop->mailbox, flush_work, flush_done, j)) {
        readd(j);
        flush_job_free(j);
    }
}

static void take_more(flush_round *rd);

static void on_taken(redisReply *r, const dk_error *e, void *arg)
{
    flush_take *t = arg;
    flush_round *rd = t->round;
    /* {now, {pairs}} */
    int shape = !e->code && r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                r->element[0]->type == REDIS_REPLY_INTEGER &&
                r->element[1]->type == REDIS_REPLY_ARRAY;
    if (!shape) {
        dk_aredis_cmd(rd->loop->redis, 0, on_flush_redis, NULL, "SADD %s %s", DOM_KEY_DIRTY,
                      t->sid);
    } else if (r->element[1]->elements >= 2) {
        long long now = r->element[0]->integer;
        r = r->element[1];
        if (!rd->cur) {
            rd->cur = dk_calloc(1, sizeof *rd->cur);
            rd->cur->srv = srv_of(rd->loop);
            rd->cur->loop = rd->loop;
        }
        flush_job *j = rd->cur;
        size_t pairs = r->elements / 2;
        if (j->nrows + (int)pairs > j->cap) {
            j->cap = (j->nrows + (int)pairs) * 2;
            j->rows = dk_realloc(j->rows, (size_t)j->cap * sizeof *j->rows);
        }
        memcpy(j->sid[j->nsess], t->sid, sizeof j->sid[0]);
        j->took[j->nsess] = now;
        j->first[j->nsess] = j->nrows;
        for (size_t i = 0; i < pairs; i++) {
            int no = atoi(r->element[2 * i]->str);
            if (no < 1 || no > QB_MAX_PAPER) continue;
            j->rows[j->nrows++] = (exam_flush_row){
                j->sid[j->nsess], no,
                dk_strndup(r->element[2 * i + 1]->str, r->element[2 * i + 1]->len)};
        }
        j->first[++j->nsess] = j->nrows;
        if (j->nsess == FLUSH_JOB_SESSIONS) submit_job(rd);
    }
    free(t);
    rd->inflight--;
    take_more(rd);
}

/* Asks for the next takes of the round, up to FLUSH_TAKE_WINDOW in flight; the last reply
 * submits the last job and ends the round. */
static void take_more(flush_round *rd)
{
    if (rd->asking) return;
    rd->asking = 1;
    while (rd->inflight < FLUSH_TAKE_WINDOW && rd->next < rd->nsids) {
        flush_take *t = dk_calloc(1, sizeof *t);
        t->round = rd;
        memcpy(t->sid, rd->sids[rd->next++], sizeof t->sid);
        dom_key sess = dom_key_sess(t->sid), ans = dom_key_ans(t->sid);
        const char *argv[] = {"2", sess.s, ans.s};
        rd->inflight++;
        dk_aredis_evalsha(rd->loop->redis, 0, on_taken, t, &dom_lua_flush_take, 3, argv, NULL);
    }
    rd->asking = 0;
    if (rd->inflight == 0 && rd->next == rd->nsids) {
        submit_job(rd);
        free(rd->sids);
        free(rd);
    }
}

static void on_popped(redisReply *r, const dk_error *e, void *arg)
{
    dk_loop *loop = arg;
    if (e->code || !r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) return;
    flush_round *rd = dk_calloc(1, sizeof *rd);
    rd->loop = loop;
    rd->sids = dk_calloc(r->elements, sizeof *rd->sids);
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING &&
            dom_sid_valid(r->element[i]->str, r->element[i]->len))
            memcpy(rd->sids[rd->nsids++], r->element[i]->str, DOM_SID_LEN);
    take_more(rd);
}

static void flush_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dk_loop *loop = arg;
    dk_workq *q = srv_of(loop)->flush; /* the last round still queued: this one waits */
    if (dk_workq_depth(q) > dk_workq_capacity(q) / 2) return;
    dk_aredis_cmd(loop->redis, 0, on_popped, loop, "SPOP %s %d", DOM_KEY_DIRTY, FLUSH_BATCH);
    exam_integrity_flush(loop);
}

/* ---- the question bank: reload when an import bumped qb_bank_version ---------------------- */

typedef struct reload_job {
    exam_server *srv;
    qb_index *fresh; /* a newly loaded index, or NULL */
} reload_job;

static void reload_work(void *ctx, void *arg)
{
    reload_job *j = arg;
    dk_error err = {0};
    MYSQL *db = dk_dbconn_get(ctx, &err);
    MYSQL_RES *res = NULL;
    if (!db || dk_mysql_exec(db, "SELECT version FROM qb_bank_version WHERE id = 1", NULL, 0,
                             &res, NULL, &err)) {
        if (db) dk_dbconn_drop(ctx);
        return;
    }
    MYSQL_ROW row = mysql_fetch_row(res);
    unsigned long long v = row && row[0] ? strtoull(row[0], NULL, 10) : 0;
    mysql_free_result(res);
    qb_index *cur = qb_bank_current(j->srv->bank);
    int stale = !cur || v != qb_index_version(cur);
    qb_index_unref(cur);
    if (!stale) return;
    if (qb_index_load(db, &j->fresh, &err) != 0) {
        DK_WARN("examd", "question bank reload failed err=\"%s\"", err.msg);
        j->fresh = NULL;
    }
}

static void reload_done(void *arg)
{
    reload_job *j = arg;
    if (j->fresh) {
        DK_INFO("examd", "question bank reloaded questions=%zu version=%llu",
                qb_index_question_count(j->fresh), (unsigned long long)qb_index_version(j->fresh));
        qb_bank_swap(j->srv->bank, j->fresh); /* draws in flight keep the old index */
    }
    free(j);
}

static void reload_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dk_loop *loop = arg;
    reload_job *j = dk_calloc(1, sizeof *j);
    j->srv = srv_of(loop);
    if (dk_workq_submit(j->srv->db, loop->mailbox, reload_work, reload_done, j)) free(j);
}

/* ---- orphans: live in MariaDB, past their deadline, gone from Redis ---------------------- */

/* A session whose Redis state was lost and whose physician never came back would never
 * be submitted by the Redis-driven sweeper. MariaDB lists live sessions well past
 * their deadline; those that Redis no longer has are submitted from what was flushed. */
typedef struct orphan_job {
    exam_server *srv;
    dk_loop *loop;
    int n;
    char sid[32][33];
    int rc;
    dk_error err;
    exam_result res;
} orphan_job;

static void orphans_list(void *ctx, void *arg)
{
    orphan_job *j = arg;
    MYSQL *db = dk_dbconn_get(ctx, &j->err);
    MYSQL_RES *res;
    /* well past what the Redis sweeper needs: ten of its periods, at least 5 s */
    long long grace_ms = j->srv->sweeper_period_ms * 10;
    dk_param p[] = {DK_PINT(grace_ms < 5000 ? 5000 : grace_ms)};
    if (!db || dk_mysql_exec(db,
                             "SELECT id FROM exam_session WHERE status = 'live' AND deadline < "
                             "UTC_TIMESTAMP(3) - INTERVAL ? / 1000 SECOND ORDER BY deadline "
                             "LIMIT 32",
                             p, 1, &res, NULL, &j->err)) {
        if (db) dk_dbconn_drop(ctx);
        return;
    }
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) && j->n < 32) snprintf(j->sid[j->n++], 33, "%s", row[0]);
    mysql_free_result(res);
}

static void orphan_submit(void *ctx, void *arg)
{
    orphan_job *j = arg;
    MYSQL *db;
    qb_index *idx;
    if (!(j->rc = exam_db_and_bank(ctx, j->srv, &db, &idx, &j->err)))
        j->rc = exam_db_finalize(db, idx, j->sid[0], "sweeper", 0, NULL, NULL, NULL, &j->res,
                                 &j->err);
    if (j->rc == DK_EIO) dk_dbconn_drop(ctx);
    qb_index_unref(idx);
}

static void orphan_submitted(void *arg)
{
    orphan_job *j = arg;
    if (j->rc)
        DK_WARN("examd", "orphan submit failed sid=%.8s err=%s", j->sid[0], j->err.msg);
    else if (!j->res.already) {
        DK_INFO("examd", "submitted a session lost from Redis sid=%.8s score=%d", j->sid[0],
                j->res.score);
        atomic_fetch_add(&j->srv->submitted_by_sweeper, 1);
    }
    free(j);
}

static void on_orphan_exists(redisReply *r, const dk_error *e, void *arg)
{
    orphan_job *j = arg;
    if (e->code || !r || r->type != REDIS_REPLY_INTEGER || r->integer != 0 ||
        dk_workq_submit(j->srv->db, j->loop->mailbox, orphan_submit, orphan_submitted, j))
        free(j); /* still in Redis (the sweeper's), or no answer: next time */
}

static void orphans_listed(void *arg)
{
    orphan_job *list = arg;
    for (int i = 0; i < list->n; i++) {
        orphan_job *one = dk_calloc(1, sizeof *one);
        one->srv = list->srv;
        one->loop = list->loop;
        one->n = 1;
        memcpy(one->sid[0], list->sid[i], 33);
        dk_aredis_cmd(list->loop->redis, 0, on_orphan_exists, one, "EXISTS %s",
                      dom_key_sess(one->sid[0]).s);
    }
    free(list);
}

static void orphan_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dk_loop *loop = arg;
    orphan_job *j = dk_calloc(1, sizeof *j);
    j->srv = srv_of(loop);
    j->loop = loop;
    if (dk_workq_submit(j->srv->db, loop->mailbox, orphans_list, orphans_listed, j)) free(j);
}

/* ---- capture files no row names ----------------------------------------------------------- */

static struct event *every(dk_loop *loop, long long ms, event_callback_fn fn);

static void capture_swept(void *arg)
{
    exam_capture_sweep *w = arg;
    if (w->rc)
        DK_WARN("examd", "capture sweep failed err=\"%s\"", w->err.msg);
    else
        DK_INFO("examd", "capture sweep checked=%d removed=%d", w->checked, w->removed);
    free(w);
}

static void capture_sweep_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dk_loop *loop = arg;
    exam_loop *el = loop->app;
    exam_server *s = srv_of(loop);
    exam_capture_sweep *w = dk_calloc(1, sizeof *w);
    w->srv = s;
    long long now = (long long)time(NULL);
    w->since = el->capture_swept_at ? el->capture_swept_at - 2 * s->capture_sweep_period_s : 0;
    if (dk_workq_submit(s->capture, loop->mailbox, exam_capture_sweep_work, capture_swept, w)) {
        free(w); /* the pool is full of captures: next period */
        return;
    }
    el->capture_swept_at = now;
    if (!el->capture_sweep_every) /* the first one ran early; then every period */
        el->capture_sweep_every = every(loop, s->capture_sweep_period_s * 1000, capture_sweep_tick);
}

/* ---- start/stop ------------------------------------------------------------------------ */

static struct event *every(dk_loop *loop, long long ms, event_callback_fn fn)
{
    struct event *ev = event_new(loop->base, -1, EV_PERSIST, fn, loop);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(ev, &tv);
    return ev;
}

void exam_timers_start(dk_loop *loop)
{
    exam_loop *el = dk_calloc(1, sizeof *el);
    loop->app = el;
    el->tokens = dom_token_cache_new(&srv_of(loop)->tokens, loop->base, loop->redis,
                                     srv_of(loop)->db, loop->mailbox);
    const dk_config *cfg = srv_of(loop)->cfg;
    if (srv_of(loop)->redis_wait_replicas > 0) el->answers = dk_aredis_new(loop->base, cfg);
    if (loop->index != 0) return;
    el->sweep = every(loop, dk_config_int(cfg, "sweeper_period_ms"), sweep_tick);
    el->flush = every(loop, dk_config_int(cfg, "flush_period_ms"), flush_tick);
    el->reload = every(loop, dk_config_int(cfg, "bank_reload_period_ms"), reload_tick);
    el->orphans = every(loop, dk_config_int(cfg, "orphan_sweep_period_ms"), orphan_tick);
    long long period = srv_of(loop)->capture_sweep_period_s;
    if (period > 0) {
        el->capture_sweep = evtimer_new(loop->base, capture_sweep_tick, loop);
        struct timeval first = {period < 60 ? period : 60, 0};
        evtimer_add(el->capture_sweep, &first);
    }
}

void exam_timers_stop(dk_loop *loop)
{
    exam_loop *el = loop->app;
    if (!el) return;
    if (el->sweep) event_free(el->sweep);
    if (el->flush) event_free(el->flush);
    if (el->reload) event_free(el->reload);
    if (el->orphans) event_free(el->orphans);
    if (el->capture_sweep) event_free(el->capture_sweep);
    if (el->capture_sweep_every) event_free(el->capture_sweep_every);
    el->stopping = 1;
    if (el->answers) dk_aredis_free(el->answers); /* a WAIT out answers its batch (DK_EIO) */
    exam_acks_fail_all(loop);
    free(el->acks);
    dom_token_cache_free(el->tokens);
    free(el);
    loop->app = NULL;
}
