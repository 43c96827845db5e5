/* exam_auth.c - examd's HTTP glue of the accounts: POST /login, /password and /logout (the
 * route runner in exam_server.c checks the token of every other route). The rules
 * (lookup, limits, timing, status, audit, password policy) are domain/dom_account's;
 * this file parses, hands over and replies. Login and the password change go to the
 * pools. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "dom_account.h"
#include "dom_queue.h"
#include "exam_internal.h"

static void busy(dk_req *rq, dk_workq *q)
{
    exam_busy_pool(rq, q, "登录人数较多，正在排队，请稍候自动重试");
}

/* ---- POST /api/v1/login ----------------------------------------------------------------- */

/* A refusal that asks for the identity step says so (activation_required), so that the
 * page shows the ID number and name fields before the next try. */
static void login_done(dk_req *rq, const dom_login_result *r)
{
    if (r->rc && !r->activation_required) {
        dk_http_fail(rq, &r->err);
        return;
    }
    if (r->rc) {
        dk_http_reply_json(rq, dk_err_http_status(r->rc),
                           json_pack("{s:{s:s,s:s,s:b}}", "error", "code", dk_err_name(r->rc),
                                     "message", r->err.msg, "activation_required", 1));
        return;
    }
    exam_server *s = exam_of(rq);
    dk_claims c = {.kind = DOM_KIND_PHYSICIAN,
                   .id = r->acct.id,
                   .issued_ms = dk_clock_ms(),
                   .expires = dk_clock_ms() / 1000 + s->auth.ttl_s,
                   .must_change = r->acct.must_change};
    char tok[DK_TOKEN_MAX];
    dk_token_make(&s->auth, &c, tok);
    dk_http_reply_json(rq, 200,
                       json_pack("{s:s,s:I,s:b,s:s,s:{s:I,s:s,s:s}}", "token", tok, "expires_at",
                                 (json_int_t)c.expires * 1000, "must_change_password",
                                 r->acct.must_change, "device_token", r->device_token, "physician",
                                 "id", (json_int_t)r->acct.id, "name", r->acct.name, "category",
                                 r->acct.category));
}

/* The body of a login, checked; *body is the caller's to release. */
static int login_body(dk_req *rq, json_t **body, dom_login_req *req, const char **ticket,
                      dk_error *err)
{
    static const char *const keys[] = {"account", "password",     "id_number",   "name",
                                       "device_token", "queue_ticket", NULL};
    *req = (dom_login_req){.kind = DOM_KIND_PHYSICIAN};
    *ticket = NULL;
    if (dk_http_body_json(rq, body, err) || dk_json_only_keys(*body, keys, err) ||
        dk_json_str(*body, "account", 64, &req->account, err) ||
        dk_json_str(*body, "password", DK_PASSWORD_MAX, &req->password, err) ||
        dk_json_str_opt(*body, "id_number", 32, &req->id_number, err) ||
        dk_json_str_opt(*body, "name", 64, &req->name, err) ||
        dk_json_str_opt(*body, "device_token", DOM_DEVICE_TOKEN_MAX - 1, &req->device_token, err) ||
        dk_json_str_opt(*body, "queue_ticket", DOM_QUEUE_TICKET_LEN, ticket, err))
        return err->code;
    if (*ticket && **ticket && !dom_queue_ticket_valid(*ticket, strlen(*ticket)))
        *ticket = NULL; /* not one of ours: a first arrival */
    return 0;
}

static void login_finished(dk_req *rq, const dom_login_result *r)
{
    atomic_fetch_sub(&exam_of(rq)->logins_admitted, 1);
    login_done(rq, r);
}

/* Admitted by the queue (its slot in logins_admitted already taken): the login proper. */
static void login_go(dk_req *rq)
{
    json_t *body = NULL;
    dk_error err = {0};
    dom_login_req req;
    const char *ticket;
    if (login_body(rq, &body, &req, &ticket, &err)) { /* checked before: cannot fail now */
        atomic_fetch_sub(&exam_of(rq)->logins_admitted, 1);
        json_decref(body);
        dk_http_fail(rq, &err);
        return;
    }
    dom_login_start(rq, &exam_of(rq)->login, &req, login_finished);
    json_decref(body);
}

/* The queue's answer: in, or the place and when to come back (503 + Retry-After, the
 * ticket and how many are ahead; the page shows "排队中，前面还有 N 人"). */
static void on_queue(const dom_queue_verdict *v, void *arg)
{
    dk_req *rq = arg;
    exam_server *s = exam_of(rq);
    if (v->admitted) {
        if (v->ticket[0]) atomic_fetch_add(&s->queue_admitted, 1);
        login_go(rq);
        return;
    }
    atomic_fetch_sub(&s->logins_admitted, 1); /* the slot held while asking */
    long long ra = v->retry_after_s > 0 ? v->retry_after_s : 1;
    if (v->addr_full) { /* no place: this address holds login_queue_max_per_addr of them */
        atomic_fetch_add(&s->queue_addr_refused, 1);
        dk_error e = {0};
        dk_error_set(&e, DK_ERATELIMIT, "您所在网络排队登录的人数过多，请 %lld 秒后再试", ra);
        e.retry_after = (int)ra;
        dk_http_fail(rq, &e);
        return;
    }
    atomic_fetch_add(&s->queue_refused, 1);
    char ras[24], msg[96];
    snprintf(ras, sizeof ras, "%lld", ra);
    if (v->ahead > 0)
        snprintf(msg, sizeof msg, "排队中，前面还有 %lld 人", v->ahead);
    else
        snprintf(msg, sizeof msg, "排队中，马上就轮到您");
    evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Retry-After", ras);
    dk_http_reply_json(rq, 503,
                       json_pack("{s:{s:s,s:s,s:s,s:I,s:I}}", "error", "code", dk_err_name(DK_EBUSY),
                                 "message", msg, "queue_ticket", v->ticket, "ahead",
                                 (json_int_t)v->ahead, "retry_after", (json_int_t)ra));
}

void exam_login(dk_req *rq, const dk_claims *who)
{
    (void)who;
    json_t *body = NULL;
    dk_error err = {0};
    dom_login_req req;
    const char *ticket;
    if (login_body(rq, &body, &req, &ticket, &err)) {
        json_decref(body);
        dk_http_fail(rq, &err);
        return;
    }
    char t[DOM_QUEUE_TICKET_LEN + 1] = "";
    if (ticket) snprintf(t, sizeof t, "%s", ticket);
    json_decref(body);
    /* the fair queue (domain/dom_queue.h): room = the logins this node may have in
     * flight (its hash queue) less those it has */
    exam_server *s = exam_of(rq);
    /* a slot is held while the queue is asked, so that a burst of arrivals read in one
     * pass of the loop cannot all see the same room; given back when told to wait */
    long long held = atomic_fetch_add(&s->logins_admitted, 1);
    long long room = (long long)dk_workq_capacity(s->hash) - held;
    const dom_queue_ask q = {.name = s->login_queue,
                             .node = s->node_name,
                             .ticket = t,
                             .addr = rq->peer,
                             .room = room,
                             .rate = dk_workq_rate(s->hash),
                             .max_wait_s = EXAM_QUEUE_POLL_MAX_S,
                             .grace_ms = EXAM_QUEUE_GRACE_MS,
                             .max_per_addr = s->login_queue_max_per_addr};
    dom_queue_admit(rq->loop->redis, &q, on_queue, rq);
}

/* ---- POST /api/v1/password ----------------------------------------------------------------- */

typedef struct pw_job {
    exam_server *srv;
    dk_req *rq;
    long long pid;
    long long valid_after_ms; /* the revocation of the older tokens; the new one's issue time */
    char old_pw[DK_PASSWORD_MAX + 1], new_pw[DK_PASSWORD_MAX + 1];
    int rc;
    dk_error err;
} pw_job;

static void pw_job_free(void *p)
{
    pw_job *j = p;
    sodium_memzero(j, sizeof *j);
    free(j);
}

static void pw_work(void *ctx, void *arg)
{
    pw_job *j = arg;
    MYSQL *db = dk_dbconn_get(ctx, &j->err);
    if (!db) {
        j->rc = j->err.code;
        return;
    }
    /* the change and the revocation of every earlier token commit together */
    if (!(j->rc = dk_mysql_begin(db, &j->err)) &&
        !(j->rc = dom_password_change(db, &j->srv->auth, DOM_KIND_PHYSICIAN, j->pid, j->old_pw,
                                      j->new_pw, NULL, j->rq->peer, &j->err)) &&
        !(j->rc = dom_token_revoke(db, &j->srv->tokens, DOM_KIND_PHYSICIAN, j->pid,
                                   &j->valid_after_ms, &j->err)))
        j->rc = dk_mysql_commit(db, &j->err);
    if (j->rc) dk_mysql_rollback(db);
    if (j->rc == DK_EIO) dk_dbconn_drop(ctx);
}

static void pw_done(void *arg)
{
    pw_job *j = arg;
    if (j->rc) {
        dk_http_fail(j->rq, &j->err);
        return;
    }
    dk_claims c = {.kind = DOM_KIND_PHYSICIAN,
                   .id = j->pid,
                   .issued_ms = j->valid_after_ms,
                   .expires = dk_clock_ms() / 1000 + j->srv->auth.ttl_s};
    char tok[DK_TOKEN_MAX];
    dk_token_make(&j->srv->auth, &c, tok);
    dk_http_reply_json(j->rq, 200,
                       json_pack("{s:s,s:I,s:b}", "token", tok, "expires_at",
                                 (json_int_t)c.expires * 1000, "must_change_password", 0));
}

void exam_password(dk_req *rq, const dk_claims *who)
{
    json_t *body;
    dk_error err = {0};
    const char *oldp, *newp;
    static const char *const keys[] = {"old_password", "new_password", NULL};
    if (dk_http_body_json(rq, &body, &err) || dk_json_only_keys(body, keys, &err) ||
        dk_json_str(body, "old_password", DK_PASSWORD_MAX, &oldp, &err) ||
        dk_json_str(body, "new_password", DK_PASSWORD_MAX + 1, &newp, &err) ||
        dom_password_check(oldp, newp, &err)) {
        json_decref(body);
        dk_http_fail(rq, &err);
        return;
    }
    pw_job *j = dk_calloc(1, sizeof *j);
    j->srv = exam_of(rq);
    j->rq = rq;
    j->pid = who->id;
    snprintf(j->old_pw, sizeof j->old_pw, "%s", oldp);
    snprintf(j->new_pw, sizeof j->new_pw, "%s", newp);
    json_decref(body);
    rq->state = j;
    rq->state_free = pw_job_free;
    if (dk_workq_submit(exam_pool(rq), rq->loop->mailbox, pw_work, pw_done, j))
        busy(rq, exam_pool(rq));
}

/* ---- POST /api/v1/logout: every token of the physician ends, on every node ------------------- */

typedef struct logout_job {
    exam_server *srv;
    dk_req *rq;
    long long pid;
    int rc;
    dk_error err;
} logout_job;

static void logout_work(void *ctx, void *arg)
{
    logout_job *j = arg;
    MYSQL *db = dk_dbconn_get(ctx, &j->err);
    if (!db) {
        j->rc = j->err.code;
        return;
    }
    j->rc = dom_token_logout(db, &j->srv->tokens, DOM_KIND_PHYSICIAN, j->pid, NULL, j->rq->peer,
                             &j->err);
    if (j->rc == DK_EIO) dk_dbconn_drop(ctx);
}

static void logout_done(void *arg)
{
    logout_job *j = arg;
    if (j->rc) {
        dk_http_fail(j->rq, &j->err);
        return;
    }
    dk_http_reply_json(j->rq, 200, json_pack("{s:b}", "logged_out", 1));
}

void exam_logout(dk_req *rq, const dk_claims *who)
{
    logout_job *j = dk_calloc(1, sizeof *j);
    j->srv = exam_of(rq);
    j->rq = rq;
    j->pid = who->id;
    rq->state = j;
    rq->state_free = free;
    if (dk_workq_submit(exam_pool(rq), rq->loop->mailbox, logout_work, logout_done, j))
        exam_busy_pool(rq, exam_pool(rq), "服务器繁忙，请稍后重试");
}
