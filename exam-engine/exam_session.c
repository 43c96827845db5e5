/* exam_session.c - start/resume, view, answer and submit of a test session.
 *
 * Live state is in Redis (domain/dom_session.h: keys, fields, scripts); MariaDB holds the durable
 * copy: the session row is written at start (its unique key decides races between nodes), answers
 * are flushed in batches, and submit is one transaction. A session missing from Redis is rebuilt
 * from MariaDB on the next start. Handlers run on an event loop; MariaDB work goes to the database
 * pool and comes back through the loop's mailbox. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "dk_log.h"
#include "exam_db.h"
#include "exam_internal.h"

#define CLAIM_STALE_MS "15000"

static const char *papers_allowed[] = {DOM_PAPER_PUBLIC, DOM_PAPER_PRACTICE, NULL};

/* ---- shared: the reply that shows a session ------------------------------------------ */

const char *exam_field(const redisReply *pairs, const char *name)
{
    if (!pairs || pairs->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < pairs->elements; i += 2)
        if (pairs->element[i]->type == REDIS_REPLY_STRING && !strcmp(pairs->element[i]->str, name))
            return pairs->element[i + 1]->str;
    return NULL;
}

static const char *fieldd(redisReply *pairs, const char *name, const char *dflt)
{
    const char *v = exam_field(pairs, name);
    return v ? v : dflt;
}

/* ---- the waiting room: a paper drawn before its window opens ---------------------------
 * Its session is live with DOM_F_STARTED_AT at the opening; until then the view has no
 * questions, says "waiting" with the opening and the physician's place in the waiting
 * room (dom_lua_wait_join), and the scripts refuse answers, captures and a submit. */

typedef struct wait_view {
    dk_req *rq;
    json_t *v;
    int status;
} wait_view;

static void on_joined(redisReply *r, const dk_error *e, void *arg)
{
    wait_view *w = arg;
    if (!e->code && r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER) {
        json_object_set_new(w->v, "place", json_integer(r->element[0]->integer));
        json_object_set_new(w->v, "waiting_count", json_integer(r->element[1]->integer));
    } /* else: the page shows the countdown without a place */
    dk_http_reply_json(w->rq, w->status, w->v);
    free(w);
}

static void reply_waiting(dk_req *rq, json_t *v, redisReply *f, long long started,
                          long long deadline, int status)
{
    json_object_set_new(v, "waiting", json_true());
    json_object_set_new(v, "opens_at", json_integer(started));
    json_object_set_new(v, "release_spread_ms", json_integer(exam_of(rq)->release_spread_ms));
    json_object_set_new(v, "remaining_ms", json_integer(deadline - started));
    wait_view *w = dk_calloc(1, sizeof *w);
    *w = (wait_view){rq, v, status};
    dom_key k = dom_key_wait(strtoll(fieldd(f, DOM_F_CYCLE, "0"), NULL, 10), started);
    char member[48], expire[24];
    snprintf(member, sizeof member, "%s:%s", fieldd(f, DOM_F_PID, "0"), fieldd(f, DOM_F_PAPER, ""));
    dk_fmt_ll(expire, deadline);
    const char *argv[] = {"1", k.s, member, expire};
    dk_aredis_evalsha(rq->loop->redis, 0, on_joined, w, &dom_lua_wait_join, 4, argv, NULL);
}

/* Replies with the session shown by a view-shaped script reply {1, now, fields, answers}.
 * with_paper: include the questions (start, reload); otherwise only times and answers.
 * Before the opening (the waiting room): never the questions. */
static void reply_view(dk_req *rq, redisReply *r, int with_paper, int status)
{
    exam_server *srv = exam_of(rq);
    long long now = r->element[1]->integer;
    redisReply *f = r->element[2], *a = r->element[3];
    const char *st = exam_field(f, DOM_F_STATUS);
    long long deadline = strtoll(fieldd(f, DOM_F_DEADLINE, "0"), NULL, 10);
    long long started = strtoll(fieldd(f, DOM_F_STARTED_AT, "0"), NULL, 10);
    json_t *answers = json_object();
    for (size_t i = 0; a && i + 1 < a->elements; i += 2) {
        const char *v = a->element[i + 1]->str;
        const char *at = strchr(v, '@');
        size_t n = at ? (size_t)(at - v) : strlen(v);
        if (n) json_object_set_new(answers, a->element[i]->str, json_stringn(v, n));
    }
    int live = st && !strcmp(st, DOM_SESS_LIVE);
    long long remaining = live && deadline > now ? deadline - now : 0;
    json_t *v = json_pack(
        "{s:s?,s:s?,s:s?,s:i,s:s?,s:I,s:I,s:I,s:I,s:I,s:o}", "session_id", exam_field(f, DOM_F_SID),
        "paper", exam_field(f, DOM_F_PAPER), "category", exam_field(f, DOM_F_CATEGORY), "attempt",
        atoi(fieldd(f, DOM_F_ATTEMPT, "1")), "status", st, "started_at",
        (json_int_t)started, "deadline",
        (json_int_t)deadline, "server_time", (json_int_t)now, "remaining_ms", (json_int_t)remaining,
        "answered", (json_int_t)json_object_size(answers), "answers", answers);
    if (st && !strcmp(st, DOM_SESS_SUBMITTED) && exam_field(f, DOM_F_SCORE))
        json_object_set_new(v, "result",
                            json_pack("{s:i,s:i,s:i,s:b,s:s?}", "score",
                                      atoi(exam_field(f, DOM_F_SCORE)), "total",
                                      atoi(fieldd(f, DOM_F_TOTAL, "0")), "pass_mark",
                                      atoi(fieldd(f, DOM_F_PASS_MARK, "60")), "passed",
                                      atoi(fieldd(f, DOM_F_PASSED, "0")), "enrolment_status",
                                      exam_field(f, DOM_F_ENROLMENT_STATUS)));
    json_object_set_new(v, "integrity", exam_integrity_json(f));
    if (live && now < started) {
        reply_waiting(rq, v, f, started, deadline, status);
        return;
    }
    const char *qp = exam_field(f, DOM_F_QP);
    if (!with_paper || !qp) {
        dk_http_reply_json(rq, status, v);
        return;
    }
    qb_index *idx = qb_bank_current(srv->bank);
    qb_paper *paper = NULL;
    dk_error err = {0};
    if (!idx || qb_paper_decode(idx, qp, strlen(qp), &paper, &err) != 0) {
        qb_index_unref(idx);
        json_decref(v);
        if (!err.code) dk_error_set(&err, DK_EIO, "题库尚未加载");
        dk_http_fail(rq, &err);
        return;
    }
    /* the session JSON without its closing brace, then "questions" from the bank's
     * pre-serialised fragments */
    char *head = dk_json_dump(v);
    json_decref(v);
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, head, strlen(head) - 1);
    free(head);
    evbuffer_add_printf(b, ",\"paper_detail\":");
    qb_paper_client_json(idx, paper, b);
    evbuffer_add(b, "}", 1);
    qb_paper_free(paper);
    qb_index_unref(idx);
    dk_http_reply_evbuf(rq, status, "application/json; charset=utf-8", b);
    evbuffer_free(b);
}

static int script_failed(dk_req *rq, redisReply *r, const dk_error *e)
{
    if (e->code) {
        dk_http_fail(rq, e);
        return 1;
    }
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
        dk_http_failf(rq, DK_EINTERNAL, "存储返回了意外的结果：%s",
                      r && r->type == REDIS_REPLY_ERROR ? r->str : "?");
        return 1;
    }
    return 0;
}

/* ---- POST /api/v1/sessions ------------------------------------------------------------ */

typedef struct start_job {
    exam_server *srv;
    dk_req *rq;
    long long pid;
    char paper[16];
    long long now_ms;
    int rc;
    dk_error err;
    exam_db_session s;
    char shape[2 * QB_MAX_PAPER + 1];
} start_job;

static void start_job_free(void *p)
{
    start_job *j = p;
    exam_db_session_clear(&j->s);
    free(j);
}

/* Per question: 'S' (one letter) or 'M' (several), then the last valid letter. */
static int paper_shape(const qb_index *idx, const char *qp, char *shape, dk_error *err)
{
    qb_paper *p;
    int rc = qb_paper_decode(idx, qp, strlen(qp), &p, err);
    if (rc) return rc;
    int n = qb_paper_count(p);
    for (int no = 1; no <= n; no++) {
        char order[QB_MAX_OPTIONS + 1] = "";
        qb_paper_question_order(p, no, order);
        int nopt = (int)strlen(order);
        shape[2 * (no - 1)] = qb_paper_question_type(idx, p, no) == QB_X ? 'M' : 'S';
        shape[2 * (no - 1) + 1] = (char)('A' + (nopt > 0 ? nopt : 1) - 1);
    }
    shape[2 * n] = '\0';
    qb_paper_free(p);
    return 0;
}

static void start_work(void *ctx, void *arg)
{
    start_job *j = arg;
    MYSQL *db;
    qb_index *idx;
    if ((j->rc = exam_db_and_bank(ctx, j->srv, &db, &idx, &j->err))) goto out;
    j->rc = exam_db_start(db, idx, j->pid, j->paper, j->now_ms, j->srv->waiting_ms,
                          j->srv->duration_ms, &j->s, &j->err);
    if (!j->rc) j->rc = paper_shape(idx, j->s.qp, j->shape, &j->err);
out:
    if (j->rc == DK_EIO) dk_dbconn_drop(ctx);
    qb_index_unref(idx);
}

static void on_restored(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    if (script_failed(rq, r, e)) return;
    if (r->element[0]->integer != 1) {
        dk_http_failf(rq, DK_EINTERNAL, "恢复考试状态失败");
        return;
    }
    exam_record_device(rq, exam_field(r->element[2], DOM_F_SID));
    reply_view(rq, r, 1, 200);
}

static void start_done(void *arg)
{
    start_job *j = arg;
    dk_req *rq = j->rq;
    if (j->rc) {
        dk_http_fail(rq, &j->err);
        return;
    }
    exam_db_session *s = &j->s;
    if (s->submitted) {
        dk_http_failf(rq, DK_ECONFLICT, "本场考试已交卷");
        return;
    }
    /* write the session into Redis unless it is there already (then Redis's newer
     * state wins), with any answers MariaDB has from earlier flushes */
    dom_key k_sess = dom_key_sess(s->id), k_ans = dom_key_ans(s->id), k_live = dom_key_live(s->pid);
    char pid[24], enrol[24], cycle[24], attempt[8], started[24], deadline[24], dep_n[24],
        dep_ms[24];
    dk_fmt_ll(dep_n, s->departures);
    dk_fmt_ll(dep_ms, s->departure_ms);
    snprintf(pid, sizeof pid, "%lld", s->pid);
    snprintf(enrol, sizeof enrol, "%lld", s->enrolment_id);
    snprintf(cycle, sizeof cycle, "%lld", s->cycle_id);
    snprintf(attempt, sizeof attempt, "%d", s->attempt);
    snprintf(started, sizeof started, "%lld", s->started_ms);
    snprintf(deadline, sizeof deadline, "%lld", s->deadline_ms);
    /* KEYS, then the session fields: a name and its value per line */
    /* clang-format off */
    const char *head[] = {"5", k_sess.s, k_ans.s, DOM_KEY_DEADLINES, DOM_KEY_DUE, k_live.s,
                          DOM_F_SID, s->id,
                          DOM_F_PID, pid,
                          DOM_F_ENROL, enrol,
                          DOM_F_CYCLE, cycle,
                          DOM_F_PAPER, s->paper,
                          DOM_F_CATEGORY, s->category,
                          DOM_F_ATTEMPT, attempt,
                          DOM_F_STARTED_AT, started,
                          DOM_F_DEADLINE, deadline,
                          DOM_F_STATUS, DOM_SESS_LIVE,
                          DOM_F_SHAPE, j->shape,
                          DOM_F_QP, s->qp,
                          DOM_F_DEP_WARN, s->dep_warn,
                          DOM_F_DEP_SUBMIT, s->dep_submit,
                          DOM_F_FULLSCREEN, s->fullscreen ? "1" : "0",
                          DOM_F_DEP_N, dep_n,
                          DOM_F_DEP_MS, dep_ms,
                          "|"};
    /* clang-format on */
    size_t nh = sizeof head / sizeof head[0];
    size_t argc = nh + 2 * (size_t)s->nanswers + 1;
    const char **argv = dk_calloc(argc, sizeof *argv);
    /* the first capture (right after the camera check) is due within the grace */
    char first_due[24];
    snprintf(first_due, sizeof first_due, "%lld", j->srv->capture_grace_ms);
    argv[argc - 1] = first_due;
    char(*nos)[8] = dk_calloc((size_t)s->nanswers + 1, sizeof *nos);
    memcpy(argv, head, sizeof head);
    for (int i = 0; i < s->nanswers; i++) {
        snprintf(nos[i], sizeof nos[i], "%d", s->answer_no[i]);
        argv[nh + 2 * (size_t)i] = nos[i];
        argv[nh + 2 * (size_t)i + 1] = s->answer[i];
    }
    dk_aredis_evalsha(rq->loop->redis, 0, on_restored, rq, &dom_lua_restore, (int)argc, argv, NULL);
    free(argv);
    free(nos);
}

/* MariaDB's part of a start: the window, the paper (drawn if none), then dom_lua_restore. */
static void start_from_db(dk_req *rq)
{
    start_job *j = rq->state;
    j->now_ms = exam_now_ms(j->srv);
    if (dk_workq_submit(exam_pool(rq), rq->loop->mailbox, start_work, start_done, j))
        exam_busy_pool(rq, exam_pool(rq), "考生较多，正在排队，请稍候");
}

static void on_resumed(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    if (!e->code && r && r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 1) {
        atomic_fetch_add(&exam_of(rq)->resumes_from_redis, 1);
        exam_record_device(rq, exam_field(r->element[2], DOM_F_SID));
        reply_view(rq, r, 1, 200);
        return;
    }
    start_from_db(rq); /* not live in Redis (submitted, lost) or Redis failed */
}

static void on_live_sid(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    start_job *j = rq->state;
    if (e->code || !r || r->type != REDIS_REPLY_STRING || !dom_sid_valid(r->str, r->len)) {
        start_from_db(rq);
        return;
    }
    dom_key k_sess = dom_key_sess(r->str), k_ans = dom_key_ans(r->str);
    char pid[24];
    dk_fmt_ll(pid, j->pid);
    const char *argv[] = {"2", k_sess.s, k_ans.s, pid, j->paper};
    dk_aredis_evalsha(rq->loop->redis, 0, on_resumed, rq, &dom_lua_resume, 5, argv, NULL);
}

void exam_session_start(dk_req *rq, const dk_claims *who)
{
    json_t *body;
    dk_error err = {0};
    const char *paper;
    static const char *const keys[] = {"paper", NULL};
    if (dk_http_body_json(rq, &body, &err) || dk_json_only_keys(body, keys, &err) ||
        dk_json_str(body, "paper", 32, &paper, &err)) {
        json_decref(body);
        dk_http_fail(rq, &err);
        return;
    }
    int ok = 0;
    for (const char **p = papers_allowed; *p; p++) ok |= !strcmp(*p, paper);
    if (!ok) {
        json_decref(body);
        dk_http_failf(rq, DK_EINVAL, "试卷类型应为 公共知识 或 业务水平");
        return;
    }
    start_job *j = dk_calloc(1, sizeof *j);
    j->srv = exam_of(rq);
    j->rq = rq;
    j->pid = who->id;
    snprintf(j->paper, sizeof j->paper, "%s", paper);
    json_decref(body);
    rq->state = j;
    rq->state_free = start_job_free;
    /* a resume of a live session is answered from Redis; a first start, a submitted
     * paper or a session Redis lost goes to MariaDB */
    dom_key k_live = dom_key_live(who->id);
    dk_aredis_cmd(rq->loop->redis, 0, on_live_sid, rq, "HGET %s %s", k_live.s, j->paper);
}

/* ---- GET /api/v1/sessions/{id} --------------------------------------------------------- */

/* Redis no longer has the session (expired after submit, submitted from MariaDB after
 * a loss, or lost): show what MariaDB has, without the questions. */
typedef struct dbview_job {
    exam_server *srv;
    dk_req *rq;
    long long pid;
    char sid[33];
    int rc;
    dk_error err;
    exam_db_session s;
    exam_result res;
} dbview_job;

static void dbview_free(void *p)
{
    dbview_job *j = p;
    exam_db_session_clear(&j->s);
    free(j);
}

static void dbview_work(void *ctx, void *arg)
{
    dbview_job *j = arg;
    MYSQL *db = dk_dbconn_get(ctx, &j->err);
    if (!db) {
        j->rc = j->err.code;
        return;
    }
    j->rc = exam_db_load_session(db, j->sid, &j->s, &j->err);
    if (!j->rc && j->s.pid != j->pid)
        j->rc = dk_error_set(&j->err, DK_ENOTFOUND, "没有这场考试");
    if (!j->rc && j->s.submitted) j->rc = exam_db_result(db, j->sid, &j->res, &j->err);
    if (j->rc == DK_EIO) dk_dbconn_drop(ctx);
}

static void dbview_done(void *arg)
{
    dbview_job *j = arg;
    if (j->rc) {
        dk_http_fail(j->rq, &j->err);
        return;
    }
    exam_db_session *s = &j->s;
    long long now = exam_now_ms(j->srv);
    json_t *answers = json_object();
    for (int i = 0; i < s->nanswers; i++) {
        const char *v = s->answer[i], *at = strchr(v, '@');
        size_t n = at ? (size_t)(at - v) : strlen(v);
        char no[8];
        snprintf(no, sizeof no, "%d", s->answer_no[i]);
        if (n) json_object_set_new(answers, no, json_stringn(v, n));
    }
    long long remaining = !s->submitted && s->deadline_ms > now ? s->deadline_ms - now : 0;
    json_t *v = json_pack("{s:s,s:s,s:s,s:i,s:s,s:I,s:I,s:I,s:I,s:I,s:o}", "session_id", s->id,
                          "paper", s->paper, "category", s->category, "attempt", s->attempt,
                          "status", s->submitted ? DOM_SESS_SUBMITTED : DOM_SESS_LIVE, "started_at",
                          (json_int_t)s->started_ms, "deadline", (json_int_t)s->deadline_ms,
                          "server_time", (json_int_t)now, "remaining_ms", (json_int_t)remaining,
                          "answered", (json_int_t)json_object_size(answers), "answers", answers);
    if (!s->submitted && now < s->started_ms) { /* drawn in the waiting room: as reply_view */
        json_object_set_new(v, "waiting", json_true());
        json_object_set_new(v, "opens_at", json_integer(s->started_ms));
        json_object_set_new(v, "release_spread_ms", json_integer(j->srv->release_spread_ms));
        json_object_set_new(v, "remaining_ms", json_integer(s->deadline_ms - s->started_ms));
    }
    if (s->submitted)
        json_object_set_new(v, "result",
                            json_pack("{s:i,s:i,s:i,s:b,s:s}", "score", j->res.score, "total",
                                      j->res.total, "pass_mark", j->res.pass_mark, "passed",
                                      j->res.passed, "enrolment_status",
                                      j->res.enrolment_status));
    dk_http_reply_json(j->rq, 200, v);
}

static void on_view(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    if (script_failed(rq, r, e)) return;
    if (r->element[0]->integer != 1) {
        dbview_job *j = rq->state;
        if (dk_workq_submit(exam_pool(rq), rq->loop->mailbox, dbview_work, dbview_done, j))
            exam_busy_pool(rq, exam_pool(rq), "服务器繁忙，请稍后重试");
        return;
    }
    char brief[8] = "";
    dk_http_query(rq, "brief", brief, sizeof brief);
    reply_view(rq, r, strcmp(brief, "1") != 0, 200);
}

void exam_session_get(dk_req *rq, const dk_claims *who)
{
    const char *sid = rq->params[0];
    if (!dom_sid_valid(sid, strlen(sid))) {
        dk_http_failf(rq, DK_ENOTFOUND, "没有这场考试");
        return;
    }
    {
        dbview_job *j = dk_calloc(1, sizeof *j);
        j->srv = exam_of(rq);
        j->rq = rq;
        j->pid = who->id;
        snprintf(j->sid, sizeof j->sid, "%s", sid);
        rq->state = j;
        rq->state_free = dbview_free;
    }
    dom_key k_sess = dom_key_sess(sid), k_ans = dom_key_ans(sid);
    char pid[24];
    snprintf(pid, sizeof pid, "%lld", who->id);
    const char *argv[] = {"2", k_sess.s, k_ans.s, pid};
    dk_aredis_evalsha(rq->loop->redis, 0, on_view, rq, &dom_lua_view, 4, argv, NULL);
}

/* ---- PUT /api/v1/sessions/{id}/answers/{no} --------------------------------------------- */

/* Upper-cases, sorts and checks a choice: letters A-J, no repeats, at most 7. "" clears. */
static int canonical_choice(const char *in, char out[QB_CHOICE_MAX], dk_error *err)
{
    size_t n = 0;
    int seen[QB_MAX_OPTIONS] = {0};
    for (const char *p = in; *p; p++) {
        if (*p == ' ') continue;
        int ch = toupper((unsigned char)*p);
        if (ch < 'A' || ch >= 'A' + QB_MAX_OPTIONS)
            return dk_error_set(err, DK_EINVAL, "选项无效：只能是字母 A–J");
        if (seen[ch - 'A']++) return dk_error_set(err, DK_EINVAL, "选项无效：字母重复");
        if (++n >= QB_CHOICE_MAX) return dk_error_set(err, DK_EINVAL, "选项无效：选择过多");
    }
    n = 0;
    for (int i = 0; i < QB_MAX_OPTIONS; i++)
        if (seen[i]) out[n++] = (char)('A' + i);
    out[n] = '\0';
    return 0;
}

typedef struct answer_req {
    int no;
    char choice[QB_CHOICE_MAX];
    long long saved_at;
    long long replicas; /* redis_wait_replicas */
    long long sent_us;  /* the script sent (examd_answer_redis_seconds) */
} answer_req;

static void answer_saved(dk_req *rq)
{
    answer_req *a = rq->state;
    /* {"no":N,"choice":"AC","saved_at":MS} spelled out: the choice is canonical (letters
     * only, canonical_choice), and this reply is the hottest one examd sends */
    char b[96];
    size_t n = 0;
    memcpy(b, "{\"no\":", 6);
    n = 6 + dk_fmt_ll(b + 6, a->no);
    memcpy(b + n, ",\"choice\":\"", 11);
    n += 11;
    size_t cl = strlen(a->choice);
    memcpy(b + n, a->choice, cl);
    n += cl;
    memcpy(b + n, "\",\"saved_at\":", 13);
    n += 13;
    n += dk_fmt_ll(b + n, a->saved_at);
    b[n++] = '}';
    dk_http_reply(rq, 200, "application/json; charset=utf-8", b, n);
}

/* ---- acknowledgement on replicas: group commit ----------------------------------------
 * An answer written on the loop's answer connection waits in exam_loop.acks. One WAIT at a
 * time is out on that connection; its reply (how many replicas have every write the
 * connection made before it) acknowledges or refuses the whole batch, then the answers
 * that came in meanwhile go with the next WAIT. The WAIT's timeout is what is left of the
 * oldest answer's redis_wait_ms, so an answer is refused within about redis_wait_ms of its
 * arrival even behind a WAIT that timed out. */

typedef struct ack_batch {
    dk_loop *loop;
    int n;
    dk_req *rq[];
} ack_batch;

static void refuse_unreplicated(dk_req *rq)
{
    /* in the primary, not yet on a replica: not acknowledged, the page sends it again
     * (the same choice saved twice is one answer) */
    exam_busy(rq, 1, "答案暂未保存到备份服务器，请稍候，系统将自动重试");
}

static void send_wait(dk_loop *loop);

static void on_waited(redisReply *r, const dk_error *e, void *arg)
{
    ack_batch *b = arg;
    exam_loop *el = b->loop->app;
    exam_server *srv = dk_http_udata(b->loop->server);
    long long got = !e->code && r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    int ok = got >= srv->redis_wait_replicas;
    if (!ok)
        DK_WARN("examd", "answers not replicated count=%d replicas=%lld err=%s", b->n, got,
                e->code ? e->msg : "-");
    else
        atomic_fetch_add(&srv->answer_waited, b->n);
    for (int i = 0; i < b->n; i++) {
        if (ok)
            answer_saved(b->rq[i]);
        else
            refuse_unreplicated(b->rq[i]);
    }
    el->wait_out = 0;
    dk_loop *loop = b->loop;
    free(b);
    if (el->nacks && !el->stopping) send_wait(loop);
}

static void send_wait(dk_loop *loop)
{
    exam_loop *el = loop->app;
    exam_server *srv = dk_http_udata(loop->server);
    ack_batch *b = dk_malloc(sizeof *b + (size_t)el->nacks * sizeof b->rq[0]);
    b->loop = loop;
    b->n = el->nacks;
    memcpy(b->rq, el->acks, (size_t)el->nacks * sizeof b->rq[0]);
    el->nacks = 0;
    long long oldest = b->rq[0]->start_us;
    for (int i = 1; i < b->n; i++)
        if (b->rq[i]->start_us < oldest) oldest = b->rq[i]->start_us;
    long long left = srv->redis_wait_ms - (dk_now_us() - oldest) / 1000;
    if (left < 1) left = 1; /* WAIT n 0 would block for ever */
    el->wait_out = 1;
    atomic_fetch_add(&srv->answer_waits, 1);
    dk_aredis_cmd(el->answers, (int)left + 1000, on_waited, b, "WAIT %lld %lld",
                  srv->redis_wait_replicas, left);
}

/* A written answer joins the next WAIT. */
static void await_replicas(dk_req *rq)
{
    exam_loop *el = rq->loop->app;
    if (el->stopping) {
        refuse_unreplicated(rq);
        return;
    }
    if (el->nacks == el->acks_cap) {
        el->acks_cap = el->acks_cap ? el->acks_cap * 2 : 64;
        el->acks = dk_realloc(el->acks, (size_t)el->acks_cap * sizeof *el->acks);
    }
    el->acks[el->nacks++] = rq;
    if (!el->wait_out) send_wait(rq->loop);
}

void exam_acks_fail_all(dk_loop *loop)
{
    exam_loop *el = loop->app;
    for (int i = 0; i < el->nacks; i++) refuse_unreplicated(el->acks[i]);
    el->nacks = 0;
}

static void on_answer(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    answer_req *a = rq->state;
    dk_hist_observe(&exam_of(rq)->answer_redis, dk_now_us() - a->sent_us);
    if (script_failed(rq, r, e)) return;
    if (r->element[0]->integer == 1) {
        a->saved_at = r->element[2]->integer;
        if (a->replicas <= 0) {
            answer_saved(rq);
            return;
        }
        /* acknowledged means on two machines: a WAIT on the connection that wrote it
         * (redis_wait_replicas; deploy/multinode/README.md, "Redis") */
        await_replicas(rq);
        return;
    }
    const char *why = r->element[1]->str;
    if (!strcmp(why, "closed"))
        dk_http_failf(rq, DK_ECONFLICT, "考试已结束（时间已到或已交卷），答案不能再保存或修改");
    else if (!strcmp(why, "notopen"))
        dk_http_failf(rq, DK_ECONFLICT, "考试尚未开始，请在候考室等待开考");
    else if (!strcmp(why, "badno"))
        dk_http_failf(rq, DK_ENOTFOUND, "试卷中没有第 %d 题", a->no);
    else if (!strcmp(why, "stale")) {
        exam_busy(rq, 1, "服务器繁忙，答案未保存，请重试");
    } else if (!strcmp(why, "badchoice"))
        dk_http_failf(rq, DK_EINVAL, "第 %d 题的选项“%s”无效", a->no, a->choice);
    else
        dk_http_failf(rq, DK_ENOTFOUND, "没有这场考试");
}

void exam_answer_put(dk_req *rq, const dk_claims *who)
{
    const char *sid = rq->params[0];
    char *end;
    long no = strtol(rq->params[1], &end, 10);
    if (!dom_sid_valid(sid, strlen(sid))) {
        dk_http_failf(rq, DK_ENOTFOUND, "没有这场考试");
        return;
    }
    if (*end || no < 1 || no > QB_MAX_PAPER) {
        dk_http_failf(rq, DK_ENOTFOUND, "题号无效");
        return;
    }
    json_t *body;
    dk_error err = {0};
    const char *choice;
    static const char *const keys[] = {"choice", NULL};
    if (dk_http_body_json(rq, &body, &err) || dk_json_only_keys(body, keys, &err) ||
        dk_json_str_opt(body, "choice", 16, &choice, &err)) {
        json_decref(body);
        dk_http_fail(rq, &err);
        return;
    }
    if (!json_is_string(json_object_get(body, "choice"))) {
        json_decref(body);
        dk_http_failf(rq, DK_EINVAL, "缺少字段 choice（字符串，例如 \"B\" 或 \"ACD\"；空字符串为清除）");
        return;
    }
    answer_req *a = dk_calloc(1, sizeof *a);
    a->no = (int)no;
    a->replicas = exam_of(rq)->redis_wait_replicas;
    rq->state = a;
    rq->state_free = free;
    int rc = canonical_choice(choice, a->choice, &err);
    json_decref(body);
    if (rc) {
        dk_http_fail(rq, &err);
        return;
    }
    dom_key k_sess = dom_key_sess(sid), k_ans = dom_key_ans(sid);
    char pid[24], nos[24], arrival[24];
    dk_fmt_ll(pid, who->id);
    dk_fmt_ll(nos, no);
    dk_fmt_ll(arrival, exam_now_ms(exam_of(rq)) - (dk_now_us() - rq->start_us) / 1000);
    char dev[EXAM_DEVICE_ID_MAX + 1], window[24];
    exam_device_id(rq, dev);
    dk_fmt_ll(window, exam_of(rq)->concurrent_window_ms);
    const char *argv[] = {"4",       k_sess.s, k_ans.s, DOM_KEY_DIRTY, DOM_KEY_IDIRTY, pid, nos,
                          a->choice, sid,      arrival, dev,           window};
    exam_loop *el = rq->loop->app;
    a->sent_us = dk_now_us();
    dk_aredis_evalsha(el->answers ? el->answers : rq->loop->redis, 0, on_answer, rq,
                      &dom_lua_answer, 12, argv, NULL);
}

/* ---- submit: shared by POST .../submit and the sweeper ------------------------------------ */

typedef struct submit_job {
    exam_server *srv;
    dk_loop *loop;
    dk_req *rq; /* NULL for the sweeper */
    char sid[33];
    char by[16];
    dk_claims who; /* the physician who asked (the route); unset for the sweeper */
    int n;
    int *nos;
    char **vals;
    exam_integrity *ig; /* the session's integrity signals, written with the paper */
    int rc;
    dk_error err;
    exam_result res;
    long long queued_us; /* sent to the database pool */
} submit_job;

static void submit_job_free(void *p)
{
    submit_job *j = p;
    for (int i = 0; i < j->n; i++) free(j->vals[i]);
    free(j->vals);
    free(j->nos);
    free(j->ig);
    free(j);
}

static void submit_work(void *ctx, void *arg)
{
    submit_job *j = arg;
    MYSQL *db;
    qb_index *idx;
    long long t0 = dk_now_us();
    dk_hist_observe(&j->srv->submit_wait, t0 - j->queued_us);
    if (!(j->rc = exam_db_and_bank(ctx, j->srv, &db, &idx, &j->err)))
        j->rc = exam_db_submit(ctx, idx, j->sid, j->by, j->n, j->nos,
                               (const char *const *)j->vals, j->ig, &j->res, &j->err);
    dk_hist_observe(&j->srv->submit_db, dk_now_us() - t0);
    if (j->rc == DK_EIO) dk_dbconn_drop(ctx);
    qb_index_unref(idx);
}

static void on_finished(redisReply *r, const dk_error *e, void *arg)
{
    submit_job *j = arg;
    if (e->code || !r || r->type == REDIS_REPLY_ERROR)
        DK_WARN("examd", "finishing in Redis failed sid=%.8s err=%s (MariaDB has the result)",
                j->sid, e->code ? e->msg : r->str);
    if (j->rq) {
        dk_req *rq = j->rq;
        dk_http_reply_json(rq, 200,
                           json_pack("{s:s,s:s,s:{s:i,s:i,s:i,s:b,s:s}}", "session_id", j->sid,
                                     "status", DOM_SESS_SUBMITTED, "result", "score", j->res.score,
                                     "total", j->res.total, "pass_mark", j->res.pass_mark, "passed",
                                     j->res.passed, "enrolment_status",
                                     j->res.enrolment_status)); /* frees j via rq */
    } else {
        atomic_fetch_sub(&j->srv->sweeps_inflight, 1);
        submit_job_free(j);
    }
}

static void on_unclaimed(redisReply *r, const dk_error *e, void *arg)
{
    (void)r, (void)e;
    submit_job *j = arg;
    if (j->rq) dk_http_fail(j->rq, &j->err);
    else {
        atomic_fetch_sub(&j->srv->sweeps_inflight, 1);
        submit_job_free(j);
    }
}

static void submit_done(void *arg)
{
    submit_job *j = arg;
    dom_key k_sess = dom_key_sess(j->sid), k_ans = dom_key_ans(j->sid);
    if (j->rc) {
        DK_WARN("examd", "submit failed sid=%.8s by=%s err=%s", j->sid, j->by, j->err.msg);
        const char *argv[] = {"1", k_sess.s, j->by};
        dk_aredis_evalsha(j->loop->redis, 0, on_unclaimed, j, &dom_lua_unclaim, 3, argv, NULL);
        return;
    }
    if (!strcmp(j->by, DOM_BY_SWEEPER) && !j->res.already)
        atomic_fetch_add(&j->srv->submitted_by_sweeper, 1);
    char score[16], total[16], passed[4], ttl[24], pass_mark[16];
    snprintf(pass_mark, sizeof pass_mark, "%d", j->res.pass_mark);
    snprintf(score, sizeof score, "%d", j->res.score);
    snprintf(total, sizeof total, "%d", j->res.total);
    snprintf(passed, sizeof passed, "%d", j->res.passed);
    snprintf(ttl, sizeof ttl, "%lld", j->srv->session_ttl_s);
    dom_key k_dep = dom_key_dep(j->sid), k_dev = dom_key_dev(j->sid);
    const char *argv[] = {"7",   k_sess.s, k_ans.s,  DOM_KEY_DEADLINES, DOM_KEY_DIRTY,
                          DOM_KEY_DUE, k_dep.s, k_dev.s, j->sid, score, total, passed,
                          j->res.enrolment_status, ttl, pass_mark};
    dk_aredis_evalsha(j->loop->redis, 0, on_finished, j, &dom_lua_finish, 15, argv, NULL);
}

/* Takes the claim reply {1, now, qp, answers, counts, departures, devices} into a job and
 * sends it to MariaDB. */
static int submit_from_claim(submit_job *j, redisReply *r)
{
    if (r->elements >= 7) {
        j->ig = dk_calloc(1, sizeof *j->ig);
        exam_integrity_from_reply(j->ig, r->element[4], r->element[5], r->element[6]);
    }
    redisReply *a = r->elements > 3 ? r->element[3] : NULL;
    size_t pairs = a && a->type == REDIS_REPLY_ARRAY ? a->elements / 2 : 0;
    j->nos = dk_calloc(pairs + 1, sizeof *j->nos);
    j->vals = dk_calloc(pairs + 1, sizeof *j->vals);
    for (size_t i = 0; i < pairs; i++) {
        int no = atoi(a->element[2 * i]->str);
        if (no < 1 || no > QB_MAX_PAPER) continue;
        j->nos[j->n] = no;
        j->vals[j->n++] = dk_strndup(a->element[2 * i + 1]->str, a->element[2 * i + 1]->len);
    }
    dk_workq *pool = j->rq ? exam_pool(j->rq) : j->srv->db; /* the sweeper has no route */
    j->queued_us = dk_now_us();
    return dk_workq_submit(pool, j->loop->mailbox, submit_work, submit_done, j);
}

static void on_claim(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    submit_job *j = rq->state;
    if (script_failed(rq, r, e)) return;
    if (r->element[0]->integer == 1) {
        if (submit_from_claim(j, r)) {
            dk_error_set(&j->err, DK_EBUSY, "交卷人数较多，请稍后重试");
            j->err.retry_after = 2;
            dom_key k_sess = dom_key_sess(j->sid);
            const char *argv[] = {"1", k_sess.s, DOM_BY_PHYSICIAN};
            dk_aredis_evalsha(rq->loop->redis, 0, on_unclaimed, j, &dom_lua_unclaim, 3, argv, NULL);
        }
        return;
    }
    const char *why = r->element[1]->str;
    if (!strcmp(why, "submitted")) { /* submitting twice shows the result again */
        dk_claims who = j->who;
        rq->state_free(rq->state); /* the view has a state of its own */
        rq->state = NULL;
        rq->state_free = NULL;
        exam_session_get(rq, &who);
        return;
    }
    if (!strcmp(why, "busy")) dk_http_failf(rq, DK_ECONFLICT, "正在交卷，请稍候");
    else if (!strcmp(why, "notopen")) dk_http_failf(rq, DK_ECONFLICT, "考试尚未开始，不能交卷");
    else dk_http_failf(rq, DK_ENOTFOUND, "没有这场考试");
}

void exam_submit(dk_req *rq, const dk_claims *who)
{
    const char *sid = rq->params[0];
    if (!dom_sid_valid(sid, strlen(sid))) {
        dk_http_failf(rq, DK_ENOTFOUND, "没有这场考试");
        return;
    }
    if (rq->body_len) { /* no body is expected; an object is tolerated, nothing else */
        json_t *b;
        dk_error err = {0};
        int rc = dk_http_body_json(rq, &b, &err);
        if (!rc && !json_is_object(b)) rc = dk_error_set(&err, DK_EINVAL, "请求内容应为 JSON 对象");
        json_decref(b);
        if (rc) {
            dk_http_fail(rq, &err);
            return;
        }
    }
    submit_job *j = dk_calloc(1, sizeof *j);
    j->srv = exam_of(rq);
    j->loop = rq->loop;
    j->rq = rq;
    snprintf(j->sid, sizeof j->sid, "%s", sid);
    snprintf(j->by, sizeof j->by, "%s", DOM_BY_PHYSICIAN);
    j->who = *who;
    rq->state = j;
    rq->state_free = submit_job_free;
    dom_key k_sess = dom_key_sess(sid), k_ans = dom_key_ans(sid), k_dep = dom_key_dep(sid),
            k_dev = dom_key_dev(sid);
    char pid[24];
    snprintf(pid, sizeof pid, "%lld", who->id);
    const char *argv[] = {"4", k_sess.s, k_ans.s, k_dep.s, k_dev.s, pid, DOM_BY_PHYSICIAN,
                          CLAIM_STALE_MS};
    dk_aredis_evalsha(rq->loop->redis, 0, on_claim, rq, &dom_lua_claim, 8, argv, NULL);
}

/* ---- the sweeper's side ------------------------------------------------------------------ */

static void on_sweep_claim(redisReply *r, const dk_error *e, void *arg)
{
    submit_job *j = arg;
    if (!e->code && r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
        r->element[0]->integer == 1 && submit_from_claim(j, r) == 0)
        return;
    if (!e->code && r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
        r->element[0]->integer == 1) { /* claimed but the pool is full: give it back */
        dom_key k_sess = dom_key_sess(j->sid);
        const char *argv[] = {"1", k_sess.s, DOM_BY_SWEEPER};
        dk_aredis_evalsha(j->loop->redis, 0, on_unclaimed, j, &dom_lua_unclaim, 3, argv, NULL);
        return;
    }
    atomic_fetch_sub(&j->srv->sweeps_inflight, 1);
    submit_job_free(j);
}

void exam_auto_submit(dk_loop *loop, const char *sid, const char *by, long long pid)
{
    exam_server *srv = dk_http_udata(loop->server);
    if (!dom_sid_valid(sid, strlen(sid))) return;
    submit_job *j = dk_calloc(1, sizeof *j);
    j->srv = srv;
    j->loop = loop;
    snprintf(j->sid, sizeof j->sid, "%s", sid);
    snprintf(j->by, sizeof j->by, "%s", by);
    atomic_fetch_add(&srv->sweeps_inflight, 1);
    dom_key k_sess = dom_key_sess(sid), k_ans = dom_key_ans(sid), k_dep = dom_key_dep(sid),
            k_dev = dom_key_dev(sid);
    char pids[24] = "";
    if (pid > 0) dk_fmt_ll(pids, pid);
    const char *argv[] = {"4", k_sess.s, k_ans.s, k_dep.s, k_dev.s, pids, by, "30000"};
    dk_aredis_evalsha(loop->redis, 0, on_sweep_claim, j, &dom_lua_claim, 8, argv, NULL);
}
