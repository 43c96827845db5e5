/* exam_integrity.c - integrity signals from the exam page (issue 18):
 *  - departures (切屏): the page reports each time it was hidden, lost the focus for more
 *    than a moment, or left fullscreen, as PUT .../departures/{event id}: counted once per
 *    event id in Redis (dom_lua_departure), whatever the order and however late (the page's
 *    outbox re-sends), and the paper is submitted through the normal submit path when the
 *    cycle's departure_submit_at is reached (the claim makes that exactly once across
 *    nodes);
 *  - devices: each browser sends a random id (X-DK-Device); the devices that open a
 *    session are recorded with their user agent and address, and two devices answering
 *    within concurrent_device_window_s flag the session (dom_lua_answer);
 *  - the counts, departures and devices reach MariaDB with the submit (dom_lua_claim) and,
 *    while the session is live or after it, by the flush (DOM_KEY_IDIRTY, below).
 * These are signals for invigilators, not proof: a page can be modified, a device id
 * copied. */
#include <stdlib.h>
#include <string.h>

#include "exam_internal.h"

/* ---- the page's device --------------------------------------------------------------------- */

void exam_device_id(dk_req *rq, char out[EXAM_DEVICE_ID_MAX + 1])
{
    out[0] = '\0';
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(rq->req), "X-DK-Device");
    if (!h) return;
    size_t n = strlen(h);
    if (n < 8 || n > EXAM_DEVICE_ID_MAX) return;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return;
    }
    memcpy(out, h, n + 1);
}

static void on_recorded(redisReply *r, const dk_error *e, void *arg)
{
    (void)r, (void)arg;
    if (e->code) DK_WARN("examd", "device not recorded err=\"%s\"", e->msg);
}

void exam_record_device(dk_req *rq, const char *sid)
{
    char dev[EXAM_DEVICE_ID_MAX + 1];
    exam_device_id(rq, dev);
    if (!dev[0] || !sid || !dom_sid_valid(sid, strlen(sid))) return;
    /* the user agent as sent, printable ASCII only and at most 200 bytes */
    char ua[201] = "";
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(rq->req), "User-Agent");
    size_t n = 0;
    for (; h && *h && n < sizeof ua - 1; h++)
        if (*h >= 0x20 && *h < 0x7f) ua[n++] = *h;
    ua[n] = '\0';
    char max[8];
    dk_fmt_ll(max, EXAM_DEV_MAX);
    dom_key k_sess = dom_key_sess(sid), k_dev = dom_key_dev(sid);
    const char *argv[] = {"2", k_sess.s, k_dev.s, dev, rq->peer, ua, max};
    dk_aredis_evalsha(rq->loop->redis, 0, on_recorded, NULL, &dom_lua_device, 7, argv, NULL);
}

/* ---- what the page shows ----------------------------------------------------------------- */

static json_t *rule(const char *v)
{
    long long n = v && *v ? strtoll(v, NULL, 10) : 0;
    return n > 0 ? json_integer(n) : json_null();
}

json_t *exam_integrity_json(redisReply *f)
{
    const char *n = exam_field(f, DOM_F_DEP_N), *ms = exam_field(f, DOM_F_DEP_MS);
    const char *fs = exam_field(f, DOM_F_FULLSCREEN);
    return json_pack("{s:I,s:I,s:o,s:o,s:b}", "departures",
                     (json_int_t)(n ? strtoll(n, NULL, 10) : 0), "departure_ms",
                     (json_int_t)(ms ? strtoll(ms, NULL, 10) : 0), "warn_at",
                     rule(exam_field(f, DOM_F_DEP_WARN)), "submit_at",
                     rule(exam_field(f, DOM_F_DEP_SUBMIT)), "require_fullscreen",
                     fs && !strcmp(fs, "1"));
}

/* ---- PUT /api/v1/sessions/{id}/departures/{event} ----------------------------------------- */

typedef struct dep_req {
    long long pid;
    char sid[33];
} dep_req;

static void on_departure(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    dep_req *d = rq->state;
    if (e->code) {
        dk_http_fail(rq, e);
        return;
    }
    /* {1, n, ms, warn_at, submit_at, action, status} | {0, reason, now} */
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 3 &&
             r->element[0]->type == REDIS_REPLY_INTEGER;
    if (ok && r->element[0]->integer == 1)
        ok = r->elements == 7 && r->element[1]->type == REDIS_REPLY_INTEGER &&
             r->element[2]->type == REDIS_REPLY_INTEGER && r->element[3]->type == REDIS_REPLY_STRING &&
             r->element[4]->type == REDIS_REPLY_STRING && r->element[5]->type == REDIS_REPLY_STRING;
    else if (ok)
        ok = r->element[1]->type == REDIS_REPLY_STRING;
    if (!ok) {
        dk_http_failf(rq, DK_EINTERNAL, "存储返回了意外的结果");
        return;
    }
    if (r->element[0]->integer != 1) {
        const char *why = r->element[1]->str;
        if (!strcmp(why, "toomany"))
            dk_http_failf(rq, DK_ECONFLICT, "本场考试记录的离开次数已达上限");
        else if (!strcmp(why, "notopen"))
            dk_http_failf(rq, DK_ECONFLICT, "考试尚未开始，不记录离开");
        else
            dk_http_failf(rq, DK_ENOTFOUND, "没有这场考试");
        return;
    }
    long long n = r->element[1]->integer, ms = r->element[2]->integer;
    const char *warn = r->element[3]->str, *submit = r->element[4]->str;
    int auto_submit = !strcmp(r->element[5]->str, "submit");
    if (auto_submit) /* the claim lets one node submit, once */
        exam_auto_submit(rq->loop, d->sid, DOM_BY_DEPARTURES, d->pid);
    long long w = *warn ? strtoll(warn, NULL, 10) : 0;
    json_t *v = json_pack("{s:I,s:I,s:o,s:o,s:b,s:b,s:s}", "departures", (json_int_t)n,
                          "departure_ms", (json_int_t)ms, "warn_at", rule(warn), "submit_at",
                          rule(submit), "warned", w > 0 && n >= w, "auto_submit", auto_submit,
                          "status", r->element[6]->type == REDIS_REPLY_STRING
                                        ? r->element[6]->str
                                        : "");
    dk_http_reply_json(rq, 200, v);
}

void exam_departure_put(dk_req *rq, const dk_claims *who)
{
    const char *sid = rq->params[0], *eid = rq->params[1];
    size_t en = strlen(eid);
    if (!dom_sid_valid(sid, strlen(sid))) {
        dk_http_failf(rq, DK_ENOTFOUND, "没有这场考试");
        return;
    }
    int ok = en >= 8 && en <= 64;
    for (size_t i = 0; ok && i < en; i++)
        ok = (eid[i] >= 'a' && eid[i] <= 'z') || (eid[i] >= 'A' && eid[i] <= 'Z') ||
             (eid[i] >= '0' && eid[i] <= '9') || eid[i] == '-' || eid[i] == '_';
    if (!ok) {
        dk_http_failf(rq, DK_EINVAL, "事件编号无效（8–64 位字母、数字、- 或 _）");
        return;
    }
    json_t *body;
    dk_error err = {0};
    const char *kind;
    static const char *const keys[] = {"kind", "started_at", "duration_ms", NULL};
    if (dk_http_body_json(rq, &body, &err) || dk_json_only_keys(body, keys, &err) ||
        dk_json_str(body, "kind", 16, &kind, &err)) {
        json_decref(body);
        dk_http_fail(rq, &err);
        return;
    }
    json_t *st = json_object_get(body, "started_at"), *du = json_object_get(body, "duration_ms");
    long long start = json_is_integer(st) ? json_integer_value(st) : -1;
    long long dur = json_is_integer(du) ? json_integer_value(du) : -1;
    long long now = exam_now_ms(exam_of(rq));
    if (strcmp(kind, "hidden") && strcmp(kind, "blur") && strcmp(kind, "fullscreen"))
        dk_error_set(&err, DK_EINVAL, "离开类型应为 hidden、blur 或 fullscreen");
    else if (start < now - 86400000LL || start > now + 60000)
        dk_error_set(&err, DK_EINVAL, "started_at 应为服务器时间的毫秒数（不早于一天前）");
    else if (dur < 0 || dur > 86400000LL)
        dk_error_set(&err, DK_EINVAL, "duration_ms 应为 0 到 86400000 之间的整数");
    char kbuf[16];
    snprintf(kbuf, sizeof kbuf, "%s", kind);
    json_decref(body);
    if (err.code) {
        dk_http_fail(rq, &err);
        return;
    }
    dep_req *d = dk_calloc(1, sizeof *d);
    d->pid = who->id;
    snprintf(d->sid, sizeof d->sid, "%s", sid);
    rq->state = d;
    rq->state_free = free;
    dom_key k_sess = dom_key_sess(sid), k_dep = dom_key_dep(sid);
    char pid[24], starts[24], durs[24], max[16];
    dk_fmt_ll(pid, who->id);
    dk_fmt_ll(starts, start);
    dk_fmt_ll(durs, dur);
    dk_fmt_ll(max, exam_of(rq)->departure_max);
    const char *argv[] = {"3", k_sess.s, k_dep.s, DOM_KEY_IDIRTY, pid, eid, kbuf, starts, durs,
                          max, sid};
    dk_aredis_evalsha(rq->loop->redis, 0, on_departure, rq, &dom_lua_departure, 11, argv, NULL);
}

/* ---- to MariaDB --------------------------------------------------------------------------- */

static long long num(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING && r->len ? strtoll(r->str, NULL, 10) : 0;
}

void exam_integrity_from_reply(exam_integrity *ig, const redisReply *counts,
                               const redisReply *deps, const redisReply *devs)
{
    memset(ig, 0, sizeof *ig);
    if (counts && counts->type == REDIS_REPLY_ARRAY && counts->elements == 3) {
        ig->departures = num(counts->element[0]);
        ig->departure_ms = num(counts->element[1]);
        ig->concurrent = num(counts->element[2]) > 0;
    }
    /* event id -> "kind|start|dur" */
    for (size_t i = 0; deps && deps->type == REDIS_REPLY_ARRAY && i + 1 < deps->elements &&
                       ig->ndep < EXAM_DEP_MAX;
         i += 2) {
        exam_departure *d = &ig->dep[ig->ndep];
        if (sscanf(deps->element[i + 1]->str, "%11[a-z]|%lld|%lld", d->kind, &d->start_ms,
                   &d->dur_ms) != 3)
            continue;
        snprintf(d->id, sizeof d->id, "%s", deps->element[i]->str);
        ig->ndep++;
    }
    /* device id -> "first|last|addr|ua" (the user agent may hold '|') */
    for (size_t i = 0; devs && devs->type == REDIS_REPLY_ARRAY && i + 1 < devs->elements &&
                       ig->ndev < EXAM_DEV_MAX;
         i += 2) {
        exam_device *d = &ig->dev[ig->ndev];
        int used = 0;
        if (sscanf(devs->element[i + 1]->str, "%lld|%lld|%47[^|]|%n", &d->first_ms, &d->last_ms,
                   d->addr, &used) < 3 ||
            !used)
            continue;
        snprintf(d->ua, sizeof d->ua, "%s", devs->element[i + 1]->str + used);
        snprintf(d->id, sizeof d->id, "%s", devs->element[i]->str);
        ig->ndev++;
    }
}

/* One flush round: up to IFLUSH_BATCH sessions popped from DOM_KEY_IDIRTY, read, then
 * written in one transaction on the flush pool; put back on any failure. */
#define IFLUSH_BATCH 64

typedef struct iflush {
    exam_server *srv;
    dk_loop *loop;
    int n, pending;
    char sid[IFLUSH_BATCH][33];
    exam_integrity *ig[IFLUSH_BATCH];
    int rc;
    dk_error err;
} iflush;

static void iflush_free(iflush *f)
{
    for (int i = 0; i < f->n; i++) free(f->ig[i]);
    free(f);
}

static void on_iflush_redis(redisReply *r, const dk_error *e, void *arg)
{
    (void)r, (void)arg;
    if (e->code) DK_WARN("examd", "integrity flush: redis err=\"%s\"", e->msg);
}

static void put_back(iflush *f)
{
    for (int i = 0; i < f->n; i++)
        dk_aredis_cmd(f->loop->redis, 0, on_iflush_redis, NULL, "SADD %s %s", DOM_KEY_IDIRTY,
                      f->sid[i]);
}

static void iflush_work(void *ctx, void *arg)
{
    iflush *f = arg;
    MYSQL *db = dk_dbconn_get(ctx, &f->err);
    if (!db) {
        f->rc = f->err.code;
        return;
    }
    f->rc = dk_mysql_begin(db, &f->err);
    for (int i = 0; !f->rc && i < f->n; i++)
        if (f->ig[i]) f->rc = exam_db_integrity(db, f->sid[i], f->ig[i], &f->err);
    if (!f->rc) f->rc = dk_mysql_commit(db, &f->err);
    if (f->rc) dk_mysql_rollback(db);
    if (f->rc == DK_EIO) dk_dbconn_drop(ctx);
}

static void iflush_done(void *arg)
{
    iflush *f = arg;
    if (f->rc) {
        DK_WARN("examd", "integrity flush failed sessions=%d err=%s", f->n, f->err.msg);
        put_back(f);
    }
    iflush_free(f);
}

/* One read fewer outstanding; after the last, the write (or the sessions go back). */
static void release(iflush *f)
{
    if (--f->pending) return;
    if (f->rc || dk_workq_submit(f->srv->flush, f->loop->mailbox, iflush_work, iflush_done, f)) {
        put_back(f);
        iflush_free(f);
    }
}

typedef struct iflush_read {
    iflush *f;
    int i;
} iflush_read;

static void on_read(redisReply *r, const dk_error *e, void *arg)
{
    iflush_read *rd = arg;
    iflush *f = rd->f;
    if (!e->code && r && r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
        f->ig[rd->i] = dk_calloc(1, sizeof *f->ig[rd->i]);
        exam_integrity_from_reply(f->ig[rd->i], r->element[0], r->element[1], r->element[2]);
    } else if (e->code) {
        f->rc = e->code; /* put back, all of them, at the end */
    }
    free(rd);
    release(f);
}

static void on_popped(redisReply *r, const dk_error *e, void *arg)
{
    dk_loop *loop = arg;
    if (e->code || !r || r->type != REDIS_REPLY_ARRAY || !r->elements) return;
    iflush *f = dk_calloc(1, sizeof *f);
    f->srv = dk_http_udata(loop->server);
    f->loop = loop;
    for (size_t i = 0; i < r->elements && f->n < IFLUSH_BATCH; i++) {
        const redisReply *s = r->element[i];
        if (s->type != REDIS_REPLY_STRING || !dom_sid_valid(s->str, s->len)) continue;
        memcpy(f->sid[f->n++], s->str, s->len + 1);
    }
    if (!f->n) {
        free(f);
        return;
    }
    f->pending = f->n + 1; /* + 1 until every read is sent (a reply may come at once) */
    int n = f->n;
    for (int i = 0; i < n; i++) {
        iflush_read *rd = dk_malloc(sizeof *rd);
        *rd = (iflush_read){f, i};
        dom_key k_sess = dom_key_sess(f->sid[i]), k_dep = dom_key_dep(f->sid[i]),
                k_dev = dom_key_dev(f->sid[i]);
        const char *argv[] = {"3", k_sess.s, k_dep.s, k_dev.s};
        dk_aredis_evalsha(loop->redis, 0, on_read, rd, &dom_lua_integrity, 4, argv, NULL);
    }
    release(f);
}

void exam_integrity_flush(dk_loop *loop)
{
    dk_aredis_cmd(loop->redis, 0, on_popped, loop, "SPOP %s %d", DOM_KEY_IDIRTY, IFLUSH_BATCH);
}
