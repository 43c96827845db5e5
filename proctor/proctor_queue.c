/* proctor_queue.c - the Redis side of proctoring: the capture stream (producer argv,
 * enqueue, consumer group, lag), missing-capture checks, captures stored but never
 * queued (queued again), session decisions written down, registered photos.
 *
 * Keys: proctor:captures (stream, group "proctor"; workers XDEL what they XACK, so its
 * length is the backlog), proctor:parked, proctor:suspects, proctor:requeued:<capture id>
 * (queued-again-once marker), proctor:flagged:<sid>:<reason> (suspect-entry-once marker of
 * a session decision); and, through dom_session.h, the due set examd keeps, the
 * flag-once marker of a session and the session hash.
 * Several keys change together in Lua scripts: fine on one primary (Sentinel), not on
 * Redis Cluster. Sync connections only: call from worker or tool threads. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_log.h"
#include "dk_mysql.h"
#include "dk_redis.h"
#include "dom_session.h"
#include "proctor_internal.h"

size_t proctor_job_argv(const proctor_job *job, const char **argv, size_t *argvlen, char bufs[][32])
{
    if (!job->session_id || !job->path || !*job->session_id || !*job->path) return 0;
    snprintf(bufs[0], 32, "%lld", job->capture_id);
    snprintf(bufs[1], 32, "%lld", job->physician_id);
    snprintf(bufs[2], 32, "%lld", job->taken_at);
    const char *v[PROCTOR_JOB_ARGC] = {
        "XADD",          PROCTOR_STREAM, "*",     "capture_id", bufs[0],   "session_id",
        job->session_id, "physician_id", bufs[1], "path",       job->path, "taken_at",
        bufs[2],
    };
    for (size_t i = 0; i < PROCTOR_JOB_ARGC; i++) {
        argv[i] = v[i];
        argvlen[i] = strlen(v[i]);
    }
    return PROCTOR_JOB_ARGC;
}

int proctor_enqueue(redisContext *c, const proctor_job *job, dk_error *err)
{
    const char *argv[PROCTOR_JOB_ARGC];
    size_t argvlen[PROCTOR_JOB_ARGC];
    char bufs[PROCTOR_JOB_NBUFS][32];
    size_t n = proctor_job_argv(job, argv, argvlen, bufs);
    if (!n) return dk_error_set(err, DK_EINVAL, "capture job without session_id or path");
    redisReply *r = dk_redis_cmdargv(c, (int)n, argv, argvlen, err);
    if (!r) return err ? err->code : DK_EIO;
    freeReplyObject(r);
    return 0;
}

int proctor_queue_init(redisContext *c, dk_error *err)
{
    redisReply *r =
        redisCommand(c, "XGROUP CREATE %s %s 0 MKSTREAM", PROCTOR_STREAM, PROCTOR_GROUP);
    if (!r) return dk_error_set(err, DK_EIO, "redis: %s", c->errstr);
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR && !strstr(r->str, "BUSYGROUP"))
        rc = dk_error_set(err, DK_EIO, "XGROUP CREATE: %s", r->str);
    freeReplyObject(r);
    return rc;
}

static long long reply_ll(const redisReply *r)
{
    if (!r) return 0;
    if (r->type == REDIS_REPLY_INTEGER) return r->integer;
    if (r->type == REDIS_REPLY_STRING) return strtoll(r->str, NULL, 10);
    return 0;
}

int proctor_queue_lag(redisContext *c, long long now_ms, proctor_lag *out, dk_error *err)
{
    memset(out, 0, sizeof *out);
    redisReply *r = dk_redis_cmd(c, err, "XLEN %s", PROCTOR_STREAM);
    if (!r) return err ? err->code : DK_EIO;
    out->length = reply_ll(r);
    freeReplyObject(r);
    if (!(r = dk_redis_cmd(c, err, "XLEN %s", PROCTOR_PARKED))) return err ? err->code : DK_EIO;
    out->parked = reply_ll(r);
    freeReplyObject(r);
    r = redisCommand(c, "XPENDING %s %s", PROCTOR_STREAM, PROCTOR_GROUP);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1)
        out->pending = reply_ll(r->element[0]);
    if (!r) return dk_error_set(err, DK_EIO, "redis: %s", c->errstr);
    freeReplyObject(r);
    if (!(r = dk_redis_cmd(c, err, "XRANGE %s - + COUNT 1", PROCTOR_STREAM)))
        return err ? err->code : DK_EIO;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 1) {
        long long ms = strtoll(r->element[0]->element[0]->str, NULL, 10);
        out->oldest_ms = now_ms > ms ? now_ms - ms : 0;
    }
    freeReplyObject(r);
    return 0;
}

static long long session_physician(redisContext *c, MYSQL *db, const char *sid)
{
    long long pid = 0;
    if (db) {
        MYSQL_RES *res = NULL;
        dk_error e = {0};
        dk_param p[] = {DK_PSTR(sid)};
        if (!dk_mysql_exec(db, "SELECT physician_id FROM exam_session WHERE id = ?", p, 1, &res,
                           NULL, &e) &&
            res) {
            MYSQL_ROW row = mysql_fetch_row(res);
            if (row && row[0]) pid = strtoll(row[0], NULL, 10);
        }
        if (res) mysql_free_result(res);
    }
    if (!pid) {
        /* examd's session hash names the physician DOM_F_PID */
        redisReply *r = redisCommand(c, "HGET %s %s", dom_key_sess(sid).s, DOM_F_PID);
        if (r && r->type == REDIS_REPLY_STRING) pid = strtoll(r->str, NULL, 10);
        if (r) freeReplyObject(r);
    }
    return pid;
}

int proctor_check_missing(redisContext *c, MYSQL *db, long long now_ms, long long grace_ms,
                          int *flagged, dk_error *err)
{
    *flagged = 0;
    long long cutoff = now_ms - grace_ms;
    redisReply *r = dk_redis_cmd(c, err, "ZRANGEBYSCORE %s -inf %lld WITHSCORES LIMIT 0 200",
                                 DOM_KEY_DUE, cutoff);
    if (!r) return err ? err->code : DK_EIO;
    int rc = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        const redisReply *m = r->element[i];
        if (m->type != REDIS_REPLY_STRING || !dom_sid_valid(m->str, m->len)) continue;
        const char *sid = m->str;
        long long due = strtoll(r->element[i + 1]->str, NULL, 10);
        long long pid = session_physician(c, db, sid);
        dom_key key = dom_key_missing(sid), sess = dom_key_sess(sid);
        char cut[32], now[32], pidbuf[32], overdue[32];
        snprintf(cut, sizeof cut, "%lld", cutoff);
        snprintf(now, sizeof now, "%lld", now_ms);
        snprintf(pidbuf, sizeof pidbuf, "%lld", pid);
        snprintf(overdue, sizeof overdue, "%lld", now_ms - due);
        const char *argv[] = {"4", DOM_KEY_DUE, key.s,    sess.s, PROCTOR_SUSPECTS, sid,
                              cut, now,         "604800", pidbuf, overdue};
        redisReply *x = dk_redis_evalsha(c, &dom_lua_missing, (int)(sizeof argv / sizeof argv[0]),
                                         argv, NULL, err);
        if (!x) {
            rc = err ? err->code : DK_EIO;
            break;
        }
        int won = x->type == REDIS_REPLY_INTEGER && x->integer == 1;
        freeReplyObject(x);
        if (!won) continue;
        (*flagged)++;
        DK_WARN("proctor", "missing captures session=%s overdue_ms=%s", sid, overdue);
        if (db && pid) {
            dk_error e = {0};
            dk_param p[] = {DK_PSTR(sid), DK_PINT(pid), DK_PINT(1)};
            if (dk_mysql_exec(db,
                              "INSERT INTO proctor_suspect (session_id, physician_id, capture_id,"
                              " reason, score) VALUES (?, ?, NULL, 'missing_captures', ?)"
                              " ON DUPLICATE KEY UPDATE occurrences = occurrences + 1",
                              p, 3, NULL, NULL, &e))
                DK_ERROR("proctor", "suspect row session=%s err=%s", sid, e.msg);
        }
    }
    freeReplyObject(r);
    return rc;
}

/* ---- session decisions ---------------------------------------------------------------- */

/* KEYS: marker, suspects stream. ARGV: ttl, sid, physician, capture, reason, score, at,
 * frames. 1 = pushed, 0 = pushed before. */
static dk_script flagged_lua = DK_SCRIPT(
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end\n"
    "redis.call('XADD', KEYS[2], '*', 'session_id', ARGV[2], 'physician_id', ARGV[3],\n"
    "  'capture_id', ARGV[4], 'reason', ARGV[5], 'score', ARGV[6], 'at', ARGV[7],\n"
    "  'frames', ARGV[8])\n"
    "return 1\n");

#define SESSION_CAPS_MAX 1000 /* rows read per session (examd stores 100 by default) */

/* The session's captures, in the order taken (those not scored yet marked pending);
 * strings live in *res. */
static int session_captures(MYSQL *db, const char *sid, MYSQL_RES **res,
                            proctor_session_capture **caps, size_t *n, dk_error *err)
{
    dk_param q[] = {DK_PSTR(sid)};
    int rc = dk_mysql_exec(db,
                           "SELECT id, CAST(UNIX_TIMESTAMP(taken_at) * 1000 AS SIGNED), "
                           "similarity, faces, flag, scored_at IS NULL AND error IS NULL "
                           "FROM proctor_capture WHERE session_id = ? "
                           "ORDER BY taken_at, id LIMIT 1000",
                           q, 1, res, NULL, err);
    *caps = NULL;
    *n = 0;
    if (rc || !*res) return rc;
    *caps = dk_calloc(mysql_num_rows(*res) + 1, sizeof **caps);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(*res)) && *n < SESSION_CAPS_MAX) {
        proctor_session_capture *c = &(*caps)[(*n)++];
        c->id = strtoll(row[0], NULL, 10);
        c->taken_ms = row[1] ? strtoll(row[1], NULL, 10) : 0;
        c->has_similarity = row[2] != NULL;
        c->similarity = row[2] ? strtod(row[2], NULL) : 0;
        c->faces = row[3] ? atoi(row[3]) : -1;
        c->flag = row[4];
        c->pending = row[5] && row[5][0] == '1'; /* parked ones (error) are never scored */
    }
    return 0;
}

/* One flag: the suspect row (upsert), then its entry once. */
static int write_flag(redisContext *c, MYSQL *db, const char *sid, long long physician_id,
                      const proctor_session_flag *f, const proctor_session_capture *caps,
                      long long now_ms, int *pushed, dk_error *err)
{
    const char *reason = proctor_session_reason_name(f->reason);
    char frames[PROCTOR_SESSION_MAX_FRAMES * 21 + 3], score[32], worst[32], pid[32], at[32];
    size_t off = 0;
    int w = 0; /* the frame shown first: the lowest similarity, else the first */
    frames[off++] = '[';
    for (int k = 0; k < f->nframes; k++) {
        off += (size_t)snprintf(frames + off, sizeof frames - off, "%s%lld", k ? "," : "",
                                f->id[k]);
        if (caps[f->index[k]].has_similarity &&
            (!caps[f->index[w]].has_similarity ||
             caps[f->index[k]].similarity < caps[f->index[w]].similarity))
            w = k;
    }
    snprintf(frames + off, sizeof frames - off, "]");
    snprintf(score, sizeof score, "%.3f", f->score);
    snprintf(worst, sizeof worst, "%lld", f->nframes ? f->id[w] : 0);
    dk_param p[] = {DK_PSTR(sid),     DK_PINT(physician_id),
                    f->nframes ? DK_PINT(f->id[w]) : DK_PNULL,
                    DK_PSTR(frames),  DK_PSTR(reason),
                    DK_PSTR(score),   DK_PINT(f->nframes)};
    int rc = dk_mysql_exec(db,
                           "INSERT INTO proctor_suspect (session_id, physician_id, capture_id, "
                           "frames, reason, score, occurrences) VALUES (?, ?, ?, ?, ?, ?, ?) "
                           "ON DUPLICATE KEY UPDATE capture_id = VALUES(capture_id), "
                           "frames = VALUES(frames), score = VALUES(score), "
                           "occurrences = VALUES(occurrences)",
                           p, sizeof p / sizeof p[0], NULL, NULL, err);
    if (rc) return rc;
    char marker[160];
    snprintf(marker, sizeof marker, "%s%s:%s", PROCTOR_FLAGGED, sid, reason);
    snprintf(pid, sizeof pid, "%lld", physician_id);
    snprintf(at, sizeof at, "%lld", now_ms);
    const char *argv[] = {"2", marker, PROCTOR_SUSPECTS, "604800", sid, pid, worst, reason,
                          score, at, frames};
    redisReply *x =
        dk_redis_evalsha(c, &flagged_lua, (int)(sizeof argv / sizeof argv[0]), argv, NULL, err);
    if (!x) return err->code ? err->code : DK_EIO;
    if (x->type == REDIS_REPLY_INTEGER && x->integer == 1) {
        (*pushed)++;
        DK_WARN("proctor", "session flagged session=%.8s reason=%s frames=%d score=%s", sid,
                reason, f->nframes, score);
    }
    freeReplyObject(x);
    return 0;
}

int proctor_session_update(redisContext *c, MYSQL *db, const proctor_session_params *p,
                           const char *sid, long long physician_id, long long now_ms, int *pushed,
                           dk_error *err)
{
    *pushed = 0;
    MYSQL_RES *res = NULL;
    proctor_session_capture *caps = NULL;
    size_t n = 0;
    int rc = session_captures(db, sid, &res, &caps, &n, err);
    if (!rc) {
        proctor_session_decision d;
        proctor_session_decide(p, caps, n, &d);
        for (int i = 0; i < d.nflags && !rc; i++)
            rc = write_flag(c, db, sid, physician_id, &d.flags[i], caps, now_ms, pushed, err);
    }
    free(caps);
    if (res) mysql_free_result(res);
    return rc;
}

/* ---- captures stored but never queued ------------------------------------------------ */

/* Queues one capture again unless it was already (marker) or may still be in the stream
 * (taken less than ARGV[3] ms before its oldest entry, read here, atomically with the XADD).
 * 1 = queued, 0 = queued before, 2 = may still be queued. */
static dk_script requeue_lua = DK_SCRIPT(
    "local o = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)\n"
    "if o[1] then\n"
    "  local ms = tonumber(string.match(o[1][1], '^(%d+)'))\n"
    "  if tonumber(ARGV[1]) >= ms - tonumber(ARGV[2]) then return 2 end\n"
    "end\n"
    "if not redis.call('SET', KEYS[2], ARGV[3], 'NX', 'EX', ARGV[4]) then return 0 end\n"
    "redis.call('XADD', KEYS[1], '*', 'capture_id', ARGV[5], 'session_id', ARGV[6],\n"
    "  'physician_id', ARGV[7], 'path', ARGV[8], 'taken_at', ARGV[1])\n"
    "return 1\n");

#define REQUEUE_MARK_S "604800" /* a capture is queued again at most once a week */

/* Unix ms of the oldest entry of the capture stream (*has = 0 if empty), and its length. */
static int stream_head(redisContext *c, long long *oldest_ms, int *has, long long *len,
                       dk_error *err)
{
    *has = 0;
    redisReply *r = dk_redis_cmd(c, err, "XLEN %s", PROCTOR_STREAM);
    if (!r) return err ? err->code : DK_EIO;
    *len = reply_ll(r);
    freeReplyObject(r);
    if (!(r = dk_redis_cmd(c, err, "XRANGE %s - + COUNT 1", PROCTOR_STREAM)))
        return err ? err->code : DK_EIO;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 1 &&
        r->element[0]->element[0]->type == REDIS_REPLY_STRING) {
        *oldest_ms = strtoll(r->element[0]->element[0]->str, NULL, 10);
        *has = 1;
    }
    freeReplyObject(r);
    return 0;
}

int proctor_requeue_unqueued(redisContext *c, MYSQL *db, long long now_ms, long long after_ms,
                             long long max_backlog, int *queued, dk_error *err)
{
    *queued = 0;
    long long oldest = 0, len = 0;
    int has = 0;
    int rc = stream_head(c, &oldest, &has, &len, err);
    if (rc) return rc;
    long long room = max_backlog - len;
    if (room <= 0) return 0; /* the workers are behind: what is queued goes first */
    long long cutoff = now_ms - after_ms;
    if (has && oldest - after_ms < cutoff) cutoff = oldest - after_ms;
    MYSQL_RES *res = NULL;
    dk_param p[] = {DK_PINT(cutoff), DK_PINT(room)};
    rc = dk_mysql_exec(db,
                       "SELECT id, session_id, physician_id, photo_path, "
                       "CAST(UNIX_TIMESTAMP(taken_at) * 1000 AS SIGNED) FROM proctor_capture "
                       "WHERE scored_at IS NULL AND error IS NULL AND taken_at < "
                       "FROM_UNIXTIME(? / 1000) AND photo_path IS NOT NULL AND "
                       "photo_deleted_at IS NULL ORDER BY taken_at LIMIT ?",
                       p, 2, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row;
    char after[32], now[32];
    snprintf(after, sizeof after, "%lld", after_ms);
    snprintf(now, sizeof now, "%lld", now_ms);
    while (res && (row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1] || !row[2] || !row[3] || !row[4] || !*row[3] ||
            !dom_sid_valid(row[1], strlen(row[1])))
            continue;
        char key[64];
        snprintf(key, sizeof key, "%s%s", PROCTOR_REQUEUED, row[0]);
        const char *argv[] = {"2",    PROCTOR_STREAM, key,    row[4], after, now, REQUEUE_MARK_S,
                              row[0], row[1],         row[2], row[3]};
        redisReply *x =
            dk_redis_evalsha(c, &requeue_lua, (int)(sizeof argv / sizeof argv[0]), argv, NULL, err);
        if (!x) {
            rc = err ? err->code : DK_EIO;
            break;
        }
        long long v = x->type == REDIS_REPLY_INTEGER ? x->integer : -1;
        if (x->type == REDIS_REPLY_ERROR) DK_WARN("proctor", "requeue script: %s", x->str);
        freeReplyObject(x);
        if (v == 2) break; /* ordered by taken_at: the rest are newer still */
        if (v != 1) continue;
        (*queued)++;
        DK_INFO("proctor", "capture queued again capture=%s session=%.8s taken_at=%s", row[0],
                row[1], row[4]);
    }
    if (res) mysql_free_result(res);
    if (*queued)
        DK_WARN("proctor",
                "stored captures that were never queued, queued again count=%d "
                "backlog_before=%lld",
                *queued, len);
    return rc;
}

int proctor_register_photo(proctor_engine *e, MYSQL *db, long long physician_id,
                           const unsigned char *jpeg, size_t len, dk_error *err)
{
    proctor_embedding emb;
    int rc = proctor_embed(e, jpeg, len, &emb, NULL, err);
    if (rc) return rc;
    return proctor_store_embedding(db, physician_id, &emb, err);
}

int proctor_store_embedding(MYSQL *db, long long physician_id, const proctor_embedding *emb,
                            dk_error *err)
{
    unsigned char packed[PROCTOR_EMB_MAX * 4];
    size_t n = proctor_embedding_pack(emb, packed, sizeof packed);
    if (!n) return dk_error_set(err, DK_EINTERNAL, "empty embedding");
    dk_param p[] = {DK_PSTRN((const char *)packed, n), DK_PSTR(emb->model), DK_PINT(physician_id)};
    uint64_t affected = 0;
    int rc =
        dk_mysql_exec(db, "UPDATE physician SET face_embedding = ?, face_model = ? WHERE id = ?", p,
                      3, NULL, &affected, err);
    if (rc) return rc;
    if (affected == 0) {
        /* 0 rows changed: either no such physician or the same embedding again */
        MYSQL_RES *res = NULL;
        dk_param q[] = {DK_PINT(physician_id)};
        rc = dk_mysql_exec(db, "SELECT 1 FROM physician WHERE id = ?", q, 1, &res, NULL, err);
        if (rc) return rc;
        int found = res && mysql_num_rows(res) > 0;
        if (res) mysql_free_result(res);
        if (!found) return dk_error_set(err, DK_ENOTFOUND, "no physician %lld", physician_id);
    }
    return 0;
}
