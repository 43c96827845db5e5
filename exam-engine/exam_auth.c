/* exam_auth.c - physician login and the forced password change (the route runner in
 * exam_server.c checks tokens).
 *
 * Password hashing (argon2id, tens of ms) runs on the bounded hash pool, the account
 * lookup on a database thread; when a pool's queue is full the client gets 503 with
 * Retry-After (the page retries with jitter), never a timeout. Failed logins are
 * counted in Redis per physician (by id: no ID numbers in keys) and per address; at
 * login_max_failures (per account) or login_max_failures_ip (per address: a hospital's
 * PCs may share one) within login_window_s the next attempts get 429 + Retry-After. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "dk_log.h"
#include "exam_db.h"
#include "exam_internal.h"

/* KEYS: counters. ARGV: their limits, in the same order. -> seconds to wait, 0 = go on. */
static dk_script lua_rl_check = DK_SCRIPT(
    "local worst = 0\n"
    "for i = 1, #KEYS do\n"
    "  local n = tonumber(redis.call('GET', KEYS[i]) or '0')\n"
    "  if n >= tonumber(ARGV[i]) then\n"
    "    local ttl = redis.call('TTL', KEYS[i])\n"
    "    if ttl > worst then worst = ttl end\n"
    "  end\n"
    "end\n"
    "return worst\n");

static dk_script lua_rl_fail = DK_SCRIPT(
    "for i = 1, #KEYS do\n"
    "  if redis.call('INCR', KEYS[i]) == 1 then redis.call('EXPIRE', KEYS[i], ARGV[1]) end\n"
    "end\n"
    "return 1\n");

static void busy(dk_req *rq, dk_workq *q)
{
    exam_busy_pool(rq, q, "登录人数较多，正在排队，请稍候自动重试");
}

/* ---- POST /api/v1/login ----------------------------------------------------------------- */

/* The steps: (1) the address's failure counter, on the loop; (2) the account lookup, on
 * a database thread; (3) the physician's failure counter (keyed by id, so typing the
 * account or the ID number shares one budget); (4) argon2id on the bounded hash pool;
 * (5) counters updated, token made. An unknown account counts against the address. */
typedef struct login_job {
    exam_server *srv;
    dk_req *rq;
    char account[72];
    char password[DK_PASSWORD_MAX + 1];
    size_t pwlen;
    char k_acct[48], k_ip[72];
    int rc;
    dk_error err;
    exam_login_row row;
} login_job;

static void login_job_free(void *p)
{
    login_job *j = p;
    sodium_memzero(j->password, sizeof j->password);
    sodium_memzero(j->row.hash, sizeof j->row.hash);
    free(j);
}

static void rl_limits(const exam_server *s, char acct[24], char ip[24])
{
    snprintf(acct, 24, "%lld", dk_config_int(s->cfg, "login_max_failures"));
    snprintf(ip, 24, "%lld", dk_config_int(s->cfg, "login_max_failures_ip"));
}

/* 429 with Retry-After if the counter reply says so; returns nonzero when it replied. */
static int limited(dk_req *rq, redisReply *r, const dk_error *e)
{
    if (e->code) { /* without Redis no counter can be kept: refuse rather than go unlimited */
        dk_http_fail(rq, e);
        return 1;
    }
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
        dk_error lim = {.code = DK_ERATELIMIT, .retry_after = (int)r->integer};
        snprintf(lim.msg, sizeof lim.msg, "登录失败次数过多，请 %lld 分钟后再试",
                 (r->integer + 59) / 60);
        dk_http_fail(rq, &lim);
        return 1;
    }
    return 0;
}

static void verify_work(void *ctx, void *arg)
{
    (void)ctx;
    login_job *j = arg;
    if (dk_password_verify(j->row.hash, j->password, j->pwlen) != 0)
        j->rc = dk_error_set(&j->err, DK_EAUTH, "账号或密码错误");
}

static void on_counted(redisReply *r, const dk_error *e, void *arg)
{
    (void)r, (void)e;
    dk_req *rq = arg;
    login_job *j = rq->state;
    dk_http_fail(rq, &j->err);
}

static void count_failure(login_job *j, const char *k_acct)
{
    char window[24];
    snprintf(window, sizeof window, "%lld", dk_config_int(j->srv->cfg, "login_window_s"));
    const char *both[] = {"2", j->k_ip, k_acct, window};
    const char *ip_only[] = {"1", j->k_ip, window};
    dk_aredis_evalsha(j->rq->loop->redis, 0, on_counted, j->rq, &lua_rl_fail, k_acct ? 4 : 3,
                      k_acct ? both : ip_only, NULL);
}

static void on_cleared(redisReply *r, const dk_error *e, void *arg)
{
    (void)r, (void)e;
    dk_req *rq = arg;
    login_job *j = rq->state;
    dk_claims c = {.kind = 'p', .id = j->row.id,
                   .expires = dk_wall_ms() / 1000 + j->srv->auth.ttl_s,
                   .must_change = j->row.must_change};
    char tok[DK_TOKEN_MAX];
    dk_token_make(&j->srv->auth, &c, tok);
    dk_http_reply_json(rq, 200,
                       json_pack("{s:s,s:I,s:b,s:{s:I,s:s,s:s}}", "token", tok, "expires_at",
                                 (json_int_t)c.expires * 1000, "must_change_password",
                                 j->row.must_change, "physician", "id", (json_int_t)j->row.id,
                                 "name", j->row.name, "category", j->row.category));
}

static void verify_done(void *arg)
{
    login_job *j = arg;
    dk_req *rq = j->rq;
    if (j->rc == DK_EAUTH) {
        count_failure(j, j->k_acct);
        return;
    }
    if (j->rc) {
        dk_http_fail(rq, &j->err);
        return;
    }
    const char *argv[] = {"DEL", j->k_acct};
    dk_aredis_cmdargv(rq->loop->redis, 0, on_cleared, rq, 2, argv, NULL);
}

static void on_acct_checked(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    login_job *j = rq->state;
    if (limited(rq, r, e)) return;
    if (dk_workq_submit(exam_pool(rq), rq->loop->mailbox, verify_work, verify_done, j))
        busy(rq, exam_pool(rq));
}

static void lookup_work(void *ctx, void *arg)
{
    login_job *j = arg;
    MYSQL *db = dk_dbconn_get(ctx, &j->err);
    j->rc = db ? exam_db_login(db, j->account, strlen(j->account), &j->row, &j->err)
               : j->err.code;
    if (j->rc == DK_EIO) dk_dbconn_drop(ctx);
}

static void lookup_done(void *arg)
{
    login_job *j = arg;
    dk_req *rq = j->rq;
    if (j->rc == DK_EAUTH) { /* no such account: the address pays for the probe */
        count_failure(j, NULL);
        return;
    }
    if (j->rc) {
        dk_http_fail(rq, &j->err);
        return;
    }
    snprintf(j->k_acct, sizeof j->k_acct, "rl:phys:%lld", j->row.id);
    char max_acct[24], max_ip[24];
    rl_limits(j->srv, max_acct, max_ip);
    const char *argv[] = {"1", j->k_acct, max_acct};
    dk_aredis_evalsha(rq->loop->redis, 0, on_acct_checked, rq, &lua_rl_check, 3, argv, NULL);
}

static void on_ip_checked(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    login_job *j = rq->state;
    if (limited(rq, r, e)) return;
    if (dk_workq_submit(j->srv->db, rq->loop->mailbox, lookup_work, lookup_done, j))
        busy(rq, j->srv->db);
}

void exam_login(dk_req *rq, const dk_claims *who)
{
    (void)who; /* public */
    json_t *body;
    dk_error err = {0};
    const char *account, *password;
    static const char *const keys[] = {"account", "password", NULL};
    if (dk_http_body_json(rq, &body, &err) || dk_json_only_keys(body, keys, &err) ||
        dk_json_str(body, "account", 64, &account, &err) ||
        dk_json_str(body, "password", DK_PASSWORD_MAX, &password, &err)) {
        json_decref(body);
        dk_http_fail(rq, &err);
        return;
    }
    login_job *j = dk_calloc(1, sizeof *j);
    j->srv = exam_of(rq);
    j->rq = rq;
    snprintf(j->account, sizeof j->account, "%s", account);
    j->pwlen = strlen(password);
    memcpy(j->password, password, j->pwlen);
    json_decref(body);
    rq->state = j;
    rq->state_free = login_job_free;
    snprintf(j->k_ip, sizeof j->k_ip, "rl:ip:%s", rq->peer);
    char max_acct[24], max_ip[24];
    rl_limits(j->srv, max_acct, max_ip);
    const char *argv[] = {"1", j->k_ip, max_ip};
    dk_aredis_evalsha(rq->loop->redis, 0, on_ip_checked, rq, &lua_rl_check, 3, argv, NULL);
}

/* ---- POST /api/v1/password ----------------------------------------------------------------- */

typedef struct pw_job {
    exam_server *srv;
    dk_req *rq;
    long long pid;
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
    char hash[256];
    if (!db) {
        j->rc = j->err.code;
        return;
    }
    if ((j->rc = exam_db_password_hash(db, j->pid, hash, sizeof hash, &j->err))) goto out;
    if (dk_password_verify(hash, j->old_pw, strlen(j->old_pw)) != 0) {
        j->rc = dk_error_set(&j->err, DK_EAUTH, "原密码不正确");
        goto out;
    }
    if ((j->rc = dk_password_hash(&j->srv->auth, j->new_pw, strlen(j->new_pw), hash, &j->err)))
        goto out;
    j->rc = exam_db_set_password(db, j->pid, hash, j->rq->peer, &j->err);
out:
    if (j->rc == DK_EIO) dk_dbconn_drop(ctx);
    sodium_memzero(hash, sizeof hash);
}

static void pw_done(void *arg)
{
    pw_job *j = arg;
    if (j->rc) {
        dk_http_fail(j->rq, &j->err);
        return;
    }
    dk_claims c = {.kind = 'p', .id = j->pid,
                   .expires = dk_wall_ms() / 1000 + j->srv->auth.ttl_s};
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
        dk_password_policy(newp, strlen(newp), &err)) {
        json_decref(body);
        dk_http_fail(rq, &err);
        return;
    }
    if (!strcmp(oldp, newp)) {
        json_decref(body);
        dk_http_failf(rq, DK_EINVAL, "新密码不能与原密码相同");
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
