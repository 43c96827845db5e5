/* proctor_worker.c - the capture-job workers: N threads, each with its own engine, Redis
 * connection, MariaDB connection and registered-embedding cache, consuming
 * proctor:captures in consumer group "proctor".
 *
 * One job: its attempt number is its delivery count; read the photo; score it against the
 * physician's registered embedding; write proctor_capture guarded by "scored_at IS NULL";
 * decide the session from its captures so far (proctor_session_update: suspect rows and entries,
 * once per session and reason, idempotent); then one Lua script that XACKs and - only if the
 * XACK took - writes the live session and XDELs the job (dom_lua_capture_result). So a job
 * that two workers end up holding (a slow worker, a reclaimed job), or two jobs of one capture
 * (queued again by proctor_requeue_unqueued), are recorded exactly once. A job left pending by a
 * dead worker is XAUTOCLAIMed after proctor_claim_idle_ms; one that failed proctor_max_attempts
 * times is parked in proctor:parked with its error. Worker 0 also runs the missing-capture check
 * and the sweep that queues again the captures examd stored but could not queue (proctor_queue.c).
 * Stop: an atomic flag checked between jobs (XREADGROUP blocks at most 500 ms), so the
 * job in hand is always finished. Nothing here is shared between workers but the flag
 * and the counters. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "dk_log.h"
#include "dk_mysql.h"
#include "dk_redis.h"
#include "dom_session.h"
#include "proctor_internal.h"

#define CACHE_SIZE 256
#define CACHE_TTL_MS 300000.0 /* a re-registered photo is picked up within 5 minutes */
#define BLOCK_MS 500
#define MISSING_PERIOD_MS 1000
/* captures stored but never queued (examd's XADD failed): looked for every 10 s, queued
 * again once taken proctor_requeue_after_s ago (default 5 minutes: far beyond a capture
 * request's lifetime: 15 s HTTP, 5 s per MariaDB call, 2 s per Redis command) and older
 * than the stream's oldest entry by as much; the stream is topped up to
 * proctor_requeue_backlog jobs at most. */
#define REQUEUE_PERIOD_MS 10000

typedef struct cache_entry {
    long long physician_id; /* 0 = free */
    int has_ref;
    proctor_embedding emb;
    char note[128]; /* why there is no reference */
    double loaded_ms;
    unsigned long long used;
} cache_entry;

typedef struct worker {
    struct proctor_pool *pool;
    int index;
    char consumer[96];
    proctor_engine *engine;
    redisContext *redis;
    MYSQL *db;
    cache_entry cache[CACHE_SIZE];
    unsigned long long tick;
    char claim_cursor[48];
} worker;

struct proctor_pool {
    atomic_int stop;
    int n;
    int check_missing;
    int nice; /* proctor_nice: the workers' threads run at this nice value */
    int sched_idle; /* proctor_sched_idle: and under SCHED_IDLE */
    const dk_config *cfg;
    proctor_options opt;
    proctor_session_params session; /* the session rule (proctor_session_* keys) */
    const char *data_dir;
    long long claim_idle_ms, grace_ms, requeue_after_ms, requeue_backlog;
    int max_attempts;
    uint32_t challenge_permille; /* proctor_challenge_rate x 1000 */
    pthread_t *threads;
    worker *workers;
    atomic_llong scored, failed, parked, claimed, suspects, requeued;
};

/* A job as read from the stream; strings owned here. */
typedef struct job {
    char id[48];
    long long capture_id, physician_id, taken_at;
    char session_id[72];
    char path[1024];
    int complete;
    int claimed; /* came from XAUTOCLAIM */
} job;

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(const proctor_pool *p, int ms)
{
    for (int i = 0; i < ms && !atomic_load(&p->stop); i += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---- photo files and the registered embedding --------------------------------------- */

static int read_photo(const proctor_pool *p, const char *path, unsigned char **buf, size_t *len,
                      dk_error *err)
{
    /* absolute: as is; "<data_dir>/..." (what examd writes when data_dir is relative):
     * as is; anything else is relative to data_dir */
    char full[2048];
    size_t dl = strlen(p->data_dir);
    if (path[0] == '/' || (dl && !strncmp(path, p->data_dir, dl) && path[dl] == '/')) {
        snprintf(full, sizeof full, "%s", path);
    } else {
        if (strstr(path, "..")) return dk_error_set(err, DK_EINVAL, "photo path with '..'");
        snprintf(full, sizeof full, "%s/%s", p->data_dir, path);
    }
    FILE *f = fopen(full, "rb");
    if (!f)
        return dk_error_set(err, errno == ENOENT ? DK_ENOTFOUND : DK_EIO, "cannot open photo: %s",
                            strerror(errno));
    size_t cap = p->opt.max_bytes + 1, n = 0;
    unsigned char *b = dk_malloc(cap);
    n = fread(b, 1, cap, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return dk_error_set(err, DK_EIO, "cannot read photo");
    }
    *buf = b;
    *len = n;
    return 0;
}

/* After a failure: a MariaDB connection that no longer answers is dropped, and made
 * again by the loop (or by park). */
static void reconnect_db_on_io(worker *w, int rc)
{
    if (rc == DK_EIO && w->db && mysql_ping(w->db) != 0) {
        dk_mysql_close(w->db);
        w->db = NULL;
    }
}

/* Loads (or computes from photo_path and stores) the physician's registered embedding. */
static int load_reference(worker *w, long long physician_id, cache_entry *ce, dk_error *err)
{
    proctor_pool *p = w->pool;
    memset(ce, 0, sizeof *ce);
    ce->physician_id = physician_id;
    MYSQL_RES *res = NULL;
    dk_param q[] = {DK_PINT(physician_id)};
    int rc = dk_mysql_exec(w->db,
                           "SELECT face_embedding, face_model, photo_path FROM physician "
                           "WHERE id = ?",
                           q, 1, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    unsigned long *lens = row ? mysql_fetch_lengths(res) : NULL;
    const char *model = proctor_engine_model(w->engine);
    if (!row) {
        snprintf(ce->note, sizeof ce->note, "no physician %lld", physician_id);
    } else if (row[0] && row[1] && !strcmp(row[1], model)) {
        dk_error e = {0};
        if (proctor_embedding_unpack((const unsigned char *)row[0], lens[0], model, &ce->emb, &e) ==
            0)
            ce->has_ref = 1;
        else
            snprintf(ce->note, sizeof ce->note, "stored embedding unusable: %.90s", e.msg);
    }
    if (row && !ce->has_ref && !ce->note[0]) {
        if (!row[2]) {
            snprintf(ce->note, sizeof ce->note, "no registered photo");
        } else {
            unsigned char *buf = NULL;
            size_t len = 0;
            dk_error e = {0};
            char path[1024];
            snprintf(path, sizeof path, "%s", row[2]);
            if (read_photo(p, path, &buf, &len, &e) ||
                proctor_embed(w->engine, buf, len, &ce->emb, NULL, &e)) {
                snprintf(ce->note, sizeof ce->note, "registered photo unusable: %.90s", e.msg);
            } else {
                ce->has_ref = 1;
                if (proctor_store_embedding(w->db, physician_id, &ce->emb, &e))
                    DK_WARN("proctor", "storing embedding physician=%lld err=%s", physician_id,
                            e.msg);
                else
                    DK_INFO("proctor", "registered embedding computed physician=%lld model=%s",
                            physician_id, model);
            }
            free(buf);
        }
    }
    if (res) mysql_free_result(res);
    ce->loaded_ms = proctor_now_ms();
    return 0;
}

static int reference(worker *w, long long physician_id, const cache_entry **out, dk_error *err)
{
    cache_entry *victim = &w->cache[0];
    double now = proctor_now_ms();
    for (int i = 0; i < CACHE_SIZE; i++) {
        cache_entry *ce = &w->cache[i];
        if (ce->physician_id == physician_id && now - ce->loaded_ms < CACHE_TTL_MS) {
            ce->used = ++w->tick;
            *out = ce;
            return 0;
        }
        if (ce->physician_id == physician_id || ce->used < victim->used) victim = ce;
    }
    cache_entry fresh;
    int rc = load_reference(w, physician_id, &fresh, err);
    if (rc) return rc;
    *victim = fresh;
    victim->used = ++w->tick;
    *out = victim;
    return 0;
}

/* ---- Redis scripts (the one that records a result is dom_lua_capture_result) -------- */

static dk_script park_lua = DK_SCRIPT(
    "if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end\n"
    "redis.call('XADD', KEYS[2], '*', 'entry_id', ARGV[2], 'error', ARGV[3], 'attempts',\n"
    "           ARGV[4], 'capture_id', ARGV[5], 'session_id', ARGV[6], 'physician_id',\n"
    "           ARGV[7], 'path', ARGV[8], 'taken_at', ARGV[9])\n"
    "redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "redis.call('HDEL', KEYS[3], ARGV[2], ARGV[2] .. ':err')\n"
    "return 1\n");

/* EVALSHA (EVAL when Redis lacks the script); argv: numkeys, keys, arguments */
static redisReply *eval(worker *w, dk_script *s, int argc, const char **argv, dk_error *err)
{
    return dk_redis_evalsha(w->redis, s, argc, argv, NULL, err);
}

static int park(worker *w, const job *j, long long attempts, const char *why)
{
    char cap[32], phys[32], at[32], n[32];
    snprintf(cap, sizeof cap, "%lld", j->capture_id);
    snprintf(phys, sizeof phys, "%lld", j->physician_id);
    snprintf(at, sizeof at, "%lld", j->taken_at);
    snprintf(n, sizeof n, "%lld", attempts);
    const char *argv[] = {"3",
                          PROCTOR_STREAM,
                          PROCTOR_PARKED,
                          PROCTOR_ATTEMPTS,
                          PROCTOR_GROUP,
                          j->id,
                          why,
                          n,
                          cap,
                          j->session_id,
                          phys,
                          j->path,
                          at};
    dk_error err = {0};
    redisReply *r = eval(w, &park_lua, (int)(sizeof argv / sizeof argv[0]), argv, &err);
    if (!r) {
        DK_ERROR("proctor", "parking entry=%s err=%s", j->id, err.msg);
        return err.code;
    }
    int took = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    if (took) {
        atomic_fetch_add(&w->pool->parked, 1);
        DK_ERROR("proctor", "job parked entry=%s capture=%lld attempts=%lld error=%s", j->id,
                 j->capture_id, attempts, why);
        dk_error e = {0};
        if (!w->db) w->db = dk_mysql_connect(w->pool->cfg, &e);
        if (w->db && j->capture_id > 0) {
            dk_param p[] = {DK_PSTRN(why, strlen(why) > 250 ? 250 : strlen(why)),
                            DK_PINT(j->capture_id)};
            (void)dk_mysql_exec(w->db,
                                "UPDATE proctor_capture SET error = ? WHERE id = ? AND "
                                "scored_at IS NULL",
                                p, 2, NULL, NULL, &e);
        }
    }
    return 0;
}

/* ---- one job ------------------------------------------------------------------------ */

static void fmt_double(char *buf, size_t n, int has, double v, const char *fmt)
{
    if (has)
        snprintf(buf, n, fmt, v);
    else
        buf[0] = '\0';
}

/* A retake (the quality gate refused the frame): the live session learns the reason and
 * the capture it was for, and its next capture falls due now, so the page's new capture
 * is not refused as early (DOM_F_CAP_RETAKE, read by GET .../captures/{id} in examd). The
 * missing-capture deadline (proctor:due) stays: a page that never asks keeps its old one.
 * Only a live session, and only the newest retake.
 * KEYS: sess. ARGV: reason, capture id. -> 1 | 0 */
static dk_script retake_lua = DK_SCRIPT(
    "if redis.call('HGET', KEYS[1], 'status') ~= 'live' then return 0 end\n"
    "local last = tonumber(redis.call('HGET', KEYS[1], 'cap_retake_id') or '0') or 0\n"
    "if tonumber(ARGV[2]) < last then return 0 end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local due = tonumber(redis.call('HGET', KEYS[1], 'cap_next_due') or '0') or 0\n"
    "if due > now then redis.call('HSET', KEYS[1], 'cap_next_due', now) end\n"
    "redis.call('HSET', KEYS[1], 'cap_retake', ARGV[1], 'cap_retake_id', ARGV[2])\n"
    "return 1\n");

static void record_retake(worker *w, const job *j, const proctor_result *r)
{
    dom_key sess = dom_key_sess(j->session_id);
    char cap[32];
    snprintf(cap, sizeof cap, "%lld", j->capture_id);
    const char *argv[] = {"1", sess.s, r->retake, cap};
    dk_error err = {0};
    redisReply *x = eval(w, &retake_lua, 4, argv, &err);
    if (!x) /* the page learns nothing and keeps its schedule: the next capture is as due */
        DK_WARN("proctor", "retake not recorded in the session capture=%lld err=%s", j->capture_id,
                err.msg);
    else
        freeReplyObject(x);
}

/* A liveness challenge at a random moment (issue 14 item 3): after a capture that showed
 * one face and was judged, with probability proctor_challenge_rate, the live session is
 * asked for one (DOM_F_CAP_CHALLENGE = this capture's id) unless one is pending. The page
 * learns it from GET .../captures/{id} and answers on POST .../liveness (examd).
 * KEYS: sess. ARGV: capture id. -> 1 asked | 0 */
static dk_script challenge_lua = DK_SCRIPT(
    "if redis.call('HGET', KEYS[1], 'status') ~= 'live' then return 0 end\n"
    "if (redis.call('HGET', KEYS[1], 'cap_challenge') or '') ~= '' then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'cap_challenge', ARGV[1])\n"
    "return 1\n");

static void maybe_challenge(worker *w, const job *j, const proctor_result *r)
{
    uint32_t per = w->pool->challenge_permille;
    if (r->flag != PROCTOR_FLAG_NONE || r->faces != 1 || r->degraded || per == 0 ||
        randombytes_uniform(1000) >= per)
        return;
    dom_key sess = dom_key_sess(j->session_id);
    char cap[32];
    snprintf(cap, sizeof cap, "%lld", j->capture_id);
    const char *argv[] = {"1", sess.s, cap};
    dk_error err = {0};
    redisReply *x = eval(w, &challenge_lua, 3, argv, &err);
    if (!x)
        DK_WARN("proctor", "challenge not asked capture=%lld err=%s", j->capture_id, err.msg);
    else
        freeReplyObject(x);
}

static int write_db(worker *w, const job *j, const proctor_result *r, dk_error *err)
{
    char det[32], box[96], cosv[32], sim[32];
    int has_face = r->faces > 0 && r->flag != PROCTOR_FLAG_BAD_IMAGE;
    fmt_double(det, sizeof det, has_face, r->det_score, "%.4f");
    snprintf(box, sizeof box, "[%.1f,%.1f,%.1f,%.1f]", r->box[0], r->box[1], r->box[2], r->box[3]);
    fmt_double(cosv, sizeof cosv, r->has_cosine, r->cosine, "%.6f");
    fmt_double(sim, sizeof sim, r->has_cosine, r->similarity, "%.3f");
    const char *flag = proctor_flag_name(r->flag);
    int bad = r->flag == PROCTOR_FLAG_BAD_IMAGE;
    size_t rlen = strlen(r->reason) > 250 ? 250 : strlen(r->reason);
    dk_param p[] = {
        bad ? DK_PNULL : DK_PINT(r->width),         bad ? DK_PNULL : DK_PINT(r->height),
        bad ? DK_PNULL : DK_PINT(r->faces),         det[0] ? DK_PSTR(det) : DK_PNULL,
        has_face ? DK_PSTR(box) : DK_PNULL,         cosv[0] ? DK_PSTR(cosv) : DK_PNULL,
        sim[0] ? DK_PSTR(sim) : DK_PNULL,           flag ? DK_PSTR(flag) : DK_PNULL,
        bad ? DK_PSTRN(r->reason, rlen) : DK_PNULL,
        r->retake[0] ? DK_PSTR(r->retake) : DK_PNULL,
        DK_PINT(j->capture_id),
    };
    static const char update[] =
        "UPDATE proctor_capture SET width = COALESCE(?, width), height = COALESCE(?, height), "
        "faces = ?, det_score = ?, box = ?, "
        "cosine = ?, similarity = ?, flag = ?, error = ?, retake = ?, scored_at = NOW(3) "
        "WHERE id = ? AND scored_at IS NULL";
    uint64_t affected = 0;
    /* one statement, autocommit: one round trip; suspects are session decisions, written
     * after it by proctor_session_update */
    int rc = dk_mysql_exec(w->db, update, p, sizeof p / sizeof p[0], NULL, &affected, err);
    if (!rc && affected == 0)
        DK_DEBUG("proctor", "capture already scored or not in MariaDB capture=%lld", j->capture_id);
    return rc;
}

static int write_redis(worker *w, const job *j, const proctor_result *r, int *took,
                       dk_error *err)
{
    char *js = proctor_result_json(r, NULL);
    /* add the capture's identity to the live result */
    char *full = dk_malloc(strlen(js) + 96);
    sprintf(full, "{\"capture_id\":%lld,\"taken_at\":%lld,%s", j->capture_id, j->taken_at, js + 1);
    free(js);
    dom_key capkey = dom_key_cap(j->session_id), sesskey = dom_key_sess(j->session_id);
    char cap[32], at[32], sim[32], phys[32], now[32];
    snprintf(cap, sizeof cap, "%lld", j->capture_id);
    snprintf(at, sizeof at, "%lld", j->taken_at);
    fmt_double(sim, sizeof sim, r->has_cosine, r->similarity, "%.1f");
    snprintf(phys, sizeof phys, "%lld", j->physician_id);
    snprintf(now, sizeof now, "%lld", wall_ms());
    const char *flag = proctor_flag_name(r->flag);
    const char *argv[] = {"5",
                          PROCTOR_STREAM,
                          capkey.s,
                          sesskey.s,
                          PROCTOR_SUSPECTS,
                          PROCTOR_ATTEMPTS,
                          PROCTOR_GROUP,
                          j->id,
                          cap,
                          full,
                          at,
                          sim,
                          flag ? flag : "",
                          "", /* no per-frame suspect entry: session decisions push theirs */
                          j->session_id,
                          phys,
                          sim,
                          now};
    redisReply *x =
        eval(w, &dom_lua_capture_result, (int)(sizeof argv / sizeof argv[0]), argv, err);
    free(full);
    if (!x) return err->code ? err->code : DK_EIO;
    /* 1: recorded; 2: acknowledged, but this capture's result was recorded before (a
     * second job of one capture): no second suspect entry; 0: another worker had it */
    *took = x->type == REDIS_REPLY_INTEGER ? (int)x->integer : 0;
    freeReplyObject(x);
    return 0;
}

static int score_job(worker *w, const job *j, proctor_result *r, dk_error *err)
{
    const cache_entry *ce = NULL;
    int rc;
    if (!proctor_engine_degraded(w->engine) && (rc = reference(w, j->physician_id, &ce, err)))
        return rc;
    unsigned char *buf = NULL;
    size_t len = 0;
    if ((rc = read_photo(w->pool, j->path, &buf, &len, err))) return rc;
    rc = proctor_score(w->engine, buf, len, ce && ce->has_ref ? &ce->emb : NULL, r, err);
    free(buf);
    if (rc && r->flag != PROCTOR_FLAG_BAD_IMAGE) return rc;
    /* a bad image is a result (refused for good), not a failure to retry */
    if (!rc && ce && !ce->has_ref && !r->reason[0])
        snprintf(r->reason, sizeof r->reason, "%s", ce->note);
    return 0;
}

static void process(worker *w, const job *j)
{
    proctor_pool *p = w->pool;
    dk_error err = {0};
    if (!j->complete) {
        park(w, j, 0, "malformed job: capture_id, session_id, physician_id, path required");
        return;
    }
    /* The attempt number is the delivery count: 1 for a new job (no round trip), from
     * XPENDING for a claimed one (XAUTOCLAIM counts the delivery). */
    long long attempt = 1;
    redisReply *r;
    if (j->claimed) {
        r = dk_redis_cmd(w->redis, &err, "XPENDING %s %s %s %s 1", PROCTOR_STREAM, PROCTOR_GROUP,
                         j->id, j->id);
        if (!r) return;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->elements >= 4)
            attempt = r->element[0]->element[3]->integer;
        freeReplyObject(r);
    }
    if (attempt > p->max_attempts) {
        char why[256] = "worker died or timed out during the attempt";
        r = redisCommand(w->redis, "HGET %s %s:err", PROCTOR_ATTEMPTS, j->id);
        if (r && r->type == REDIS_REPLY_STRING) snprintf(why, sizeof why, "%s", r->str);
        if (r) freeReplyObject(r);
        park(w, j, attempt - 1, why);
        return;
    }
    proctor_result res;
    double t0 = proctor_now_ms();
    int rc = score_job(w, j, &res, &err);
    if (!rc) rc = write_db(w, j, &res, &err);
    /* Suspects are decided over the session's captures so far (proctor_session.h), before
     * the job is acknowledged: a failure retries the job, and the update is idempotent.
     * Degraded mode flags nothing (its face counts come from cascades). */
    int pushed = 0, took = 0;
    if (!rc && !proctor_engine_degraded(w->engine))
        rc = proctor_session_update(w->redis, w->db, &p->session, j->session_id, j->physician_id,
                                    wall_ms(), &pushed, &err);
    if (!rc) rc = write_redis(w, j, &res, &took, &err);
    if (rc) {
        atomic_fetch_add(&p->failed, 1);
        reconnect_db_on_io(w, rc);
        DK_WARN("proctor", "job failed entry=%s capture=%lld attempt=%lld err=%s", j->id,
                j->capture_id, attempt, err.msg);
        if (attempt >= p->max_attempts) {
            park(w, j, attempt, err.msg);
        } else if (w->redis && !w->redis->err) {
            redisReply *x =
                redisCommand(w->redis, "HSET %s %s:err %s", PROCTOR_ATTEMPTS, j->id, err.msg);
            if (x) freeReplyObject(x);
        }
        nap(p, 200);
        return;
    }
    if (took == 1 && res.flag == PROCTOR_FLAG_RETAKE) record_retake(w, j, &res);
    if (took == 1) maybe_challenge(w, j, &res);
    if (took == 1) atomic_fetch_add(&p->scored, 1);
    atomic_fetch_add(&p->suspects, pushed);
    DK_DEBUG("proctor", "scored entry=%s capture=%lld faces=%d flag=%s ms=%.1f recorded=%d", j->id,
             j->capture_id, res.faces,
             proctor_flag_name(res.flag) ? proctor_flag_name(res.flag) : "-", proctor_now_ms() - t0,
             took);
}

/* Parses one stream entry [id, [k, v, ...]]. */
static void parse_entry(const redisReply *e, job *j)
{
    memset(j, 0, sizeof *j);
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return;
    snprintf(j->id, sizeof j->id, "%s", e->element[0]->str);
    const redisReply *f = e->element[1];
    if (f->type != REDIS_REPLY_ARRAY) return;
    int have = 0;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        if (!strcmp(k->str, "capture_id"))
            j->capture_id = strtoll(v->str, NULL, 10), have |= 1;
        else if (!strcmp(k->str, "session_id") && v->len < sizeof j->session_id)
            snprintf(j->session_id, sizeof j->session_id, "%s", v->str), have |= 2;
        else if (!strcmp(k->str, "physician_id"))
            j->physician_id = strtoll(v->str, NULL, 10), have |= 4;
        else if (!strcmp(k->str, "path") && v->len < sizeof j->path)
            snprintf(j->path, sizeof j->path, "%s", v->str), have |= 8;
        else if (!strcmp(k->str, "taken_at"))
            j->taken_at = strtoll(v->str, NULL, 10);
    }
    j->complete = have == 15 && j->capture_id > 0 && j->physician_id > 0 &&
                  dom_sid_valid(j->session_id, strlen(j->session_id));
}

/* ---- the loop ----------------------------------------------------------------------- */

static int connect_all(worker *w)
{
    proctor_pool *p = w->pool;
    dk_error err = {0};
    if (w->redis && w->redis->err) {
        redisFree(w->redis);
        w->redis = NULL;
    }
    if (!w->redis) {
        if (!(w->redis = dk_redis_connect(p->cfg, &err))) {
            DK_WARN("proctor", "worker=%s redis: %s", w->consumer, err.msg);
            return -1;
        }
        if (proctor_queue_init(w->redis, &err)) {
            DK_WARN("proctor", "worker=%s %s", w->consumer, err.msg);
            redisFree(w->redis);
            w->redis = NULL;
            return -1;
        }
    }
    if (!w->db && !(w->db = dk_mysql_connect(p->cfg, &err))) {
        DK_WARN("proctor", "worker=%s mariadb: %s", w->consumer, err.msg);
        return -1;
    }
    return 0;
}

/* XAUTOCLAIM one job idle longer than claim_idle_ms; 1 if one was processed. */
static int claim_one(worker *w)
{
    proctor_pool *p = w->pool;
    char idle[32];
    snprintf(idle, sizeof idle, "%lld", p->claim_idle_ms);
    redisReply *r = redisCommand(w->redis, "XAUTOCLAIM %s %s %s %s %s COUNT 1", PROCTOR_STREAM,
                                 PROCTOR_GROUP, w->consumer, idle, w->claim_cursor);
    if (!r) return 0;
    int done = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
        r->element[0]->type == REDIS_REPLY_STRING) {
        snprintf(w->claim_cursor, sizeof w->claim_cursor, "%s", r->element[0]->str);
        const redisReply *es = r->element[1];
        for (size_t i = 0; es->type == REDIS_REPLY_ARRAY && i < es->elements; i++) {
            job j;
            parse_entry(es->element[i], &j);
            if (!j.id[0]) continue;
            j.claimed = 1;
            atomic_fetch_add(&p->claimed, 1);
            DK_INFO("proctor", "claimed idle job entry=%s worker=%s", j.id, w->consumer);
            process(w, &j);
            done = 1;
        }
    } else if (r->type == REDIS_REPLY_ERROR) {
        DK_WARN("proctor", "XAUTOCLAIM: %s", r->str);
        snprintf(w->claim_cursor, sizeof w->claim_cursor, "0-0");
    }
    freeReplyObject(r);
    return done;
}

static int read_one(worker *w)
{
    redisReply *r = redisCommand(w->redis, "XREADGROUP GROUP %s %s COUNT 1 BLOCK %d STREAMS %s >",
                                 PROCTOR_GROUP, w->consumer, BLOCK_MS, PROCTOR_STREAM);
    if (!r) return 0;
    int done = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        const redisReply *s = r->element[0];
        const redisReply *es =
            s->type == REDIS_REPLY_ARRAY && s->elements == 2 ? s->element[1] : NULL;
        for (size_t i = 0; es && es->type == REDIS_REPLY_ARRAY && i < es->elements; i++) {
            job j;
            parse_entry(es->element[i], &j);
            if (!j.id[0]) continue;
            process(w, &j);
            done = 1;
        }
    } else if (r->type == REDIS_REPLY_ERROR) {
        DK_WARN("proctor", "XREADGROUP: %s", r->str);
        if (strstr(r->str, "NOGROUP")) {
            dk_error err = {0};
            (void)proctor_queue_init(w->redis, &err);
        }
    }
    freeReplyObject(r);
    return done;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    proctor_pool *p = w->pool;
    /* Scoring is background work: inside examd its threads must not take the cores from
     * the event loops (answer saves, the waiting room's release). Linux keeps a nice
     * value per thread. */
    if (p->nice > 0 && setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), p->nice) != 0)
        DK_WARN("proctor", "worker %d: setpriority(%d) failed: %s", w->index, p->nice,
                strerror(errno));
    /* A nice value still buys a share of a busy core: with a backlog of captures the
     * scoring threads took most of both cores, and Redis and MariaDB, preempted in the
     * middle of a script or a commit, held answer saves and submits for tens of
     * milliseconds. Under SCHED_IDLE they run only on time no other thread wants, and
     * any other thread that wakes takes the core at once. */
    struct sched_param sp = {0};
    if (p->sched_idle && sched_setscheduler(0, SCHED_IDLE, &sp) != 0)
        DK_WARN("proctor", "worker %d: SCHED_IDLE failed: %s", w->index, strerror(errno));
    double last_claim = -1e18, last_missing = -1e18, last_requeue = -1e18;
    long long claim_period = p->claim_idle_ms / 2;
    if (claim_period < 100) claim_period = 100;
    if (claim_period > 5000) claim_period = 5000;
    snprintf(w->claim_cursor, sizeof w->claim_cursor, "0-0");
    while (!atomic_load(&p->stop)) {
        if (connect_all(w)) {
            nap(p, 500);
            continue;
        }
        double now = proctor_now_ms();
        if (now - last_claim >= (double)claim_period) {
            if (claim_one(w)) continue;
            if (!strcmp(w->claim_cursor, "0-0")) last_claim = now;
            if (w->redis->err) continue;
        }
        if (p->check_missing && w->index == 0 && now - last_missing >= MISSING_PERIOD_MS) {
            int flagged = 0;
            dk_error err = {0};
            if (proctor_check_missing(w->redis, w->db, wall_ms(), p->grace_ms, &flagged, &err))
                DK_WARN("proctor", "missing-capture check: %s", err.msg);
            atomic_fetch_add(&p->suspects, flagged);
            last_missing = now;
        }
        if (p->check_missing && w->index == 0 && now - last_requeue >= REQUEUE_PERIOD_MS) {
            int queued = 0;
            dk_error err = {0};
            if (proctor_requeue_unqueued(w->redis, w->db, wall_ms(), p->requeue_after_ms,
                                         p->requeue_backlog, &queued, &err)) {
                DK_WARN("proctor", "requeue sweep: %s", err.msg);
                reconnect_db_on_io(w, err.code);
            }
            atomic_fetch_add(&p->requeued, queued);
            last_requeue = now;
        }
        read_one(w);
    }
    if (w->redis) redisFree(w->redis);
    dk_mysql_close(w->db);
    w->redis = NULL;
    w->db = NULL;
    mysql_thread_end();
    return NULL;
}

int proctor_pool_start(proctor_pool **out, const dk_config *cfg, const char *name,
                       int check_missing, dk_error *err)
{
    *out = NULL;
    proctor_pool *p = dk_calloc(1, sizeof *p);
    int rc = proctor_options_from_config(&p->opt, cfg, err);
    if (rc) {
        free(p);
        return rc;
    }
    if ((rc = proctor_session_params_from_config(&p->session, cfg, err))) {
        free(p);
        return rc;
    }
    p->cfg = cfg;
    long long nice = dk_config_int(cfg, "proctor_nice");
    p->nice = nice < 0 ? 0 : nice > 19 ? 19 : (int)nice;
    p->sched_idle = dk_config_bool(cfg, "proctor_sched_idle");
    p->n = (int)dk_config_int(cfg, "proctor_workers");
    if (p->n < 1) p->n = 1;
    if (p->n > 64) p->n = 64;
    p->check_missing = check_missing;
    p->data_dir = dk_config_str(cfg, "data_dir");
    p->claim_idle_ms = dk_config_int(cfg, "proctor_claim_idle_ms");
    if (p->claim_idle_ms < 100) p->claim_idle_ms = 100;
    p->max_attempts = (int)dk_config_int(cfg, "proctor_max_attempts");
    if (p->max_attempts < 1) p->max_attempts = 1;
    p->grace_ms = dk_config_int(cfg, "proctor_capture_grace_s") * 1000;
    p->requeue_after_ms = dk_config_int(cfg, "proctor_requeue_after_s") * 1000;
    p->requeue_backlog = dk_config_int(cfg, "proctor_requeue_backlog");
    double rate = dk_config_double(cfg, "proctor_challenge_rate");
    p->challenge_permille = rate <= 0 ? 0 : rate >= 1 ? 1000 : (uint32_t)(rate * 1000 + 0.5);
    if (sodium_init() < 0) DK_WARN("proctor", "sodium_init failed: challenges use its defaults");
    p->workers = dk_calloc((size_t)p->n, sizeof *p->workers);
    p->threads = dk_calloc((size_t)p->n, sizeof *p->threads);
    proctor_set_cv_threads(1); /* one engine per thread; OpenCV's own threads oversubscribe */
    mysql_library_init(0, NULL, NULL); /* once, before threads call mysql_init */
    int started = 0;
    for (int i = 0; i < p->n; i++) {
        worker *w = &p->workers[i];
        w->pool = p;
        w->index = i;
        snprintf(w->consumer, sizeof w->consumer, "%s-%d", name, i);
        if ((rc = proctor_engine_new(&w->engine, &p->opt, err))) goto fail;
    }
    for (; started < p->n; started++)
        if (pthread_create(&p->threads[started], NULL, worker_main, &p->workers[started])) {
            rc = dk_error_set(err, DK_EINTERNAL, "pthread_create failed");
            goto fail;
        }
    DK_INFO("proctor", "workers started n=%d name=%s degraded=%d", p->n, name,
            proctor_engine_degraded(p->workers[0].engine));
    *out = p;
    return 0;
fail:
    atomic_store(&p->stop, 1);
    for (int i = 0; i < started; i++)
        pthread_join(p->threads[i], NULL);
    for (int i = 0; i < p->n; i++)
        proctor_engine_free(p->workers[i].engine);
    free(p->workers);
    free(p->threads);
    free(p);
    return rc;
}

void proctor_pool_request_stop(proctor_pool *p)
{
    if (p) atomic_store(&p->stop, 1);
}

void proctor_pool_stop(proctor_pool *p)
{
    if (!p) return;
    atomic_store(&p->stop, 1);
    for (int i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    for (int i = 0; i < p->n; i++)
        proctor_engine_free(p->workers[i].engine);
    DK_INFO("proctor",
            "workers stopped scored=%lld failed=%lld parked=%lld claimed=%lld requeued=%lld",
            (long long)atomic_load(&p->scored), (long long)atomic_load(&p->failed),
            (long long)atomic_load(&p->parked), (long long)atomic_load(&p->claimed),
            (long long)atomic_load(&p->requeued));
    free(p->workers);
    free(p->threads);
    free(p);
}

void proctor_pool_stats(const proctor_pool *p, proctor_stats *out)
{
    proctor_pool *q = (proctor_pool *)p;
    out->scored = atomic_load(&q->scored);
    out->failed = atomic_load(&q->failed);
    out->parked = atomic_load(&q->parked);
    out->claimed = atomic_load(&q->claimed);
    out->suspects = atomic_load(&q->suspects);
    out->requeued = atomic_load(&q->requeued);
}
