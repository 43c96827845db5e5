/* dom_account.c - the accounts of every kind, the one login check and the password
 * change (the rules are in dom_account.h).
 *
 * The login is a chain of steps, each on the thread it belongs to:
 *   (1) loop -> db pool: the account lookup (what the person typed -> kind and id);
 *   (2) loop: the limiter script takes one attempt (account and address) or refuses;
 *   (3) hash pool: argon2id (the real hash or the dummy), the status rule, the account's
 *       durable failure counter and the audit row; a refusal of (2) writes its audit row
 *       on the db pool instead;
 *   (4) loop: a success resets the account's counter, an unjudged attempt is taken back;
 *   (5) the server's completion, which replies. The job lives in rq->state: freed with
 *       the reply, whichever step it comes from. */
#include "dom_account.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_json.h"
#include "dk_log.h"
#include "dom_audit.h"

#define RETRY_MAX_S 30 /* the longest Retry-After of a full pool, as examd's other routes */

/* ---- the kinds, as a table ------------------------------------------------------------------ */

/* Every SELECT gives: id, password_hash, must_change_password, name, login, category,
 * usable. find_sql takes what was typed twice. */
typedef struct kind_row {
    char kind;
    const char *name, *table, *actor;
    const char *find_sql, *get_sql;
    const char *disabled_msg;
} kind_row;

#define PHYS_COLS                                                                                  \
    "SELECT p.id, p.password_hash, p.must_change_password, p.name, p.account, "                    \
    "p.practice_category, " DOM_PHYS_USABLE_SQL("p") " FROM physician p "
#define INST_COLS                                                                                  \
    "SELECT id, password_hash, must_change_password, name, code, '', enabled FROM institution "
#define AUTH_COLS                                                                                  \
    "SELECT id, password_hash, must_change_password, display_name, username, '', enabled "         \
    "FROM authority_account "

static const kind_row kinds[] = {
    {DOM_KIND_PHYSICIAN, "physician", "physician", "physician",
     PHYS_COLS "WHERE (p.account = ? OR p.id_number = ?) AND p.deleted_at IS NULL LIMIT 1",
     PHYS_COLS "WHERE p.id = ?", "账号已离岗，请联系所在医疗卫生机构"},
    {DOM_KIND_INSTITUTION, "institution", "institution", "institution",
     INST_COLS "WHERE code = ? AND ? <> ''", INST_COLS "WHERE id = ?",
     "账号已停用，请联系上级部门"},
    {DOM_KIND_AUTHORITY, "authority", "authority_account", "authority",
     AUTH_COLS "WHERE username = ? AND ? <> ''", AUTH_COLS "WHERE id = ?",
     "账号已停用，请联系上级部门"},
};

static const kind_row *kind_row_of(char kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].kind == kind) return &kinds[i];
    return NULL;
}

const char *dom_kind_name(char kind)
{
    const kind_row *k = kind_row_of(kind);
    return k ? k->name : NULL;
}

char dom_kind_of(const char *name)
{
    for (size_t i = 0; name && i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kinds[i].name, name)) return kinds[i].kind;
    return 0;
}

const char *dom_kind_table(char kind)
{
    const kind_row *k = kind_row_of(kind);
    return k ? k->table : NULL;
}

const char *dom_kind_actor(char kind)
{
    const kind_row *k = kind_row_of(kind);
    return k ? k->actor : NULL;
}

/* ---- lookups ------------------------------------------------------------------------------ */

static void copy(char *dst, size_t sz, const char *src)
{
    snprintf(dst, sz, "%s", src ? src : "");
}

static int account_row(MYSQL *db, const kind_row *k, const char *sql, const dk_param *p, size_t n,
                       dom_account *out, dk_error *err)
{
    memset(out, 0, sizeof *out);
    MYSQL_RES *res;
    int rc = dk_mysql_exec(db, sql, p, n, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row) {
        mysql_free_result(res);
        return dk_error_set(err, DK_ENOTFOUND, "账号不存在");
    }
    out->kind = k->kind;
    out->id = strtoll(row[0], NULL, 10);
    copy(out->hash, sizeof out->hash, row[1]);
    out->must_change = row[2] && atoi(row[2]);
    copy(out->name, sizeof out->name, row[3]);
    copy(out->login, sizeof out->login, row[4]);
    copy(out->category, sizeof out->category, row[5]);
    out->usable = row[6] && atoi(row[6]);
    mysql_free_result(res);
    return 0;
}

int dom_account_find(MYSQL *db, char kind, const char *login, size_t len, dom_account *out,
                     dk_error *err)
{
    const kind_row *k = kind_row_of(kind);
    if (!k) return dk_error_set(err, DK_EINVAL, "未知的账号类型");
    dk_param p[] = {DK_PSTRN(login, len), DK_PSTRN(login, len)};
    return account_row(db, k, k->find_sql, p, 2, out, err);
}

int dom_account_get(MYSQL *db, char kind, long long id, dom_account *out, dk_error *err)
{
    const kind_row *k = kind_row_of(kind);
    if (!k) return dk_error_set(err, DK_EINVAL, "未知的账号类型");
    dk_param p[] = {DK_PINT(id)};
    return account_row(db, k, k->get_sql, p, 1, out, err);
}

void dom_account_wipe(dom_account *a)
{
    sodium_memzero(a->hash, sizeof a->hash);
}

/* ---- password change ------------------------------------------------------------------------ */

int dom_password_check(const char *oldp, const char *newp, dk_error *err)
{
    int rc = dk_password_policy(newp, strlen(newp), err);
    if (rc) return rc;
    if (!strcmp(oldp, newp)) return dk_error_set(err, DK_EINVAL, "新密码不能与原密码相同");
    if (!strcmp(newp, DOM_INITIAL_PASSWORD))
        return dk_error_set(err, DK_EINVAL, "新密码不能是初始密码");
    return 0;
}

int dom_password_change(MYSQL *db, const dk_auth *auth, char kind, long long id, const char *oldp,
                        const char *newp, const char *role, const char *ip, dk_error *err)
{
    const kind_row *k = kind_row_of(kind);
    if (!k) return dk_error_set(err, DK_EINVAL, "未知的账号类型");
    int rc = dom_password_check(oldp, newp, err);
    if (rc) return rc;
    dom_account a;
    if ((rc = dom_account_get(db, kind, id, &a, err))) {
        if (rc == DK_ENOTFOUND) rc = dk_error_set(err, DK_EAUTH, "账号不存在");
        return rc;
    }
    char hash[DK_HASH_MAX] = "";
    if (!a.usable) {
        rc = dk_error_set(err, DK_EAUTH, "账号不存在或已停用，请重新登录");
        goto out;
    }
    if (dk_password_verify(a.hash, oldp, strlen(oldp)) != 0) {
        rc = dk_error_set(err, DK_EAUTH, "原密码不正确");
        goto out;
    }
    if ((rc = dk_password_hash(auth, newp, strlen(newp), hash, err))) goto out;
    char sql[160];
    snprintf(sql, sizeof sql,
             "UPDATE %s SET password_hash = ?, must_change_password = 0, "
             "password_changed_at = NOW(3) WHERE id = ?",
             k->table);
    dk_param p[] = {DK_PSTR(hash), DK_PINT(id)};
    if ((rc = dk_mysql_exec(db, sql, p, 2, NULL, NULL, err))) goto out;
    dom_audit_row r = {.actor_type = k->actor,
                       .actor_id = id,
                       .role = role,
                       .action = "change_password",
                       .entity_type = k->table,
                       .entity_id = id,
                       .ip = ip};
    rc = dom_audit(db, &r, err);
out:
    sodium_memzero(hash, sizeof hash);
    dom_account_wipe(&a);
    return rc;
}

/* ---- the limiter ------------------------------------------------------------------------------
 */

/* KEYS: [1] the account's counter, [2] the address's counter, [3] a captcha's answer.
 * ARGV[1] the operation:
 *   take: ARGV [2] account limit, [3] address limit, [4] captcha after (account; 0 none),
 *         [5] captcha after (address; 0 none), [6] the captcha answer given ("" none),
 *         [7] the window (s). Returns {verdict, n, m}: 0 counted (n, m: the account's and
 *         the address's attempts with this one), 1 limited (n: seconds to wait), 2 a
 *         captcha is needed and none was given (not counted), 3 the captcha is wrong
 *         (counted). A captcha answer is deleted when read: one try per captcha.
 *   ok:   a success: the account's counter is deleted, the address's attempt taken back.
 *   undo: an attempt that was never judged: taken back from both. */
static dk_script lua_login = DK_SCRIPT(
    "local function back(k)\n"
    "  if tonumber(redis.call('GET', k) or '0') > 0 then redis.call('DECR', k) end\n"
    "end\n"
    "if ARGV[1] == 'ok' then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  back(KEYS[2])\n"
    "  return {0, 0, 0}\n"
    "end\n"
    "if ARGV[1] == 'undo' then\n"
    "  back(KEYS[1])\n"
    "  back(KEYS[2])\n"
    "  return {0, 0, 0}\n"
    "end\n"
    "local a = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "local i = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "if a >= tonumber(ARGV[2]) then return {1, redis.call('TTL', KEYS[1]), a} end\n"
    "if i >= tonumber(ARGV[3]) then return {1, redis.call('TTL', KEYS[2]), i} end\n"
    "local verdict = 0\n"
    "local ca, ci = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "if (ca > 0 and a >= ca) or (ci > 0 and i >= ci) then\n"
    "  if ARGV[6] == '' then return {2, a, i} end\n"
    "  local want = redis.call('GET', KEYS[3])\n"
    "  redis.call('DEL', KEYS[3])\n"
    "  if (not want) or want ~= ARGV[6] then verdict = 3 end\n"
    "end\n"
    "for k = 1, 2 do\n"
    "  if redis.call('INCR', KEYS[k]) == 1 then redis.call('EXPIRE', KEYS[k], ARGV[7]) end\n"
    "end\n"
    "return {verdict, a + 1, i + 1}\n");

void dom_login_captcha_key(char out[64], const char *id)
{
    size_t n = id ? strlen(id) : 0;
    int ok = n > 0 && n <= 32 && strspn(id, "0123456789abcdef") == n;
    snprintf(out, 64, DOM_LOGIN_KEY_CAPTCHA "%s", ok ? id : "none");
}

int dom_login_env_init(dom_login_env *e, const dk_config *cfg, const dk_auth *auth, dk_workq *db,
                       dk_workq *hash, int captcha_after, dk_error *err)
{
    memset(e, 0, sizeof *e);
    e->auth = auth;
    e->db = db;
    e->hash = hash;
    e->max_acct = dk_config_int(cfg, "login_max_failures");
    e->max_ip = dk_config_int(cfg, "login_max_failures_ip");
    e->window_s = dk_config_int(cfg, "login_window_s");
    e->captcha_acct = captcha_after;
    e->captcha_ip = captcha_after ? (e->max_ip / 5 > 0 ? e->max_ip / 5 : 1) : 0;
    /* both servers share token_secret, so they hash unknown names alike */
    static const char ctx[] = "dingkao login: unknown account names";
    crypto_generichash(e->name_key, sizeof e->name_key, (const unsigned char *)ctx, sizeof ctx - 1,
                       auth->key, sizeof auth->key);
    unsigned char rnd[24];
    char pw[sizeof rnd * 2 + 1];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(pw, sizeof pw, rnd, sizeof rnd);
    int rc = dk_password_hash(auth, pw, strlen(pw), e->dummy_hash, err);
    sodium_memzero(pw, sizeof pw);
    return rc;
}

/* ---- the login's steps ---------------------------------------------------------------------- */

typedef struct login_job {
    const dom_login_env *env;
    dk_req *rq;
    dom_login_done_fn done;
    const kind_row *k;
    char password[DK_PASSWORD_MAX + 1];
    size_t pwlen;
    char captcha_answer[16];
    char k_acct[96], k_ip[80], k_captcha[64];
    int found;
    long long n_acct, n_ip; /* attempts counted with this one */
    const char *refusal;    /* audit reason of a refusal before the password check */
    char ip[48];
    dom_login_result res;
} login_job;

static void job_free(void *p)
{
    login_job *j = p;
    sodium_memzero(j, sizeof *j);
    free(j);
}

/* Step 5: the server replies, which frees j. */
static void finish(login_job *j)
{
    dom_account_wipe(&j->res.acct);
    if (j->res.rc) memset(&j->res.acct, 0, sizeof j->res.acct);
    j->done(j->rq, &j->res);
}

static void fail(login_job *j, int code, int retry_after, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(login_job *j, int code, int retry_after, const char *fmt, ...)
{
    j->res.rc = code;
    j->res.err.code = code;
    j->res.err.retry_after = retry_after;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->res.err.msg, sizeof j->res.err.msg, fmt, ap);
    va_end(ap);
    finish(j);
}

/* A backend failed: no decision was made, nothing is audited. */
static void fail_backend(login_job *j, const dk_error *e)
{
    DK_WARN("login", "backend failed code=%s err=\"%s\"", dk_err_name(e->code), e->msg);
    fail(j, e->code && dk_err_http_status(e->code) >= 500 ? e->code : DK_EIO, 0, "%s",
         "登录服务暂时不可用，请稍后重试");
}

static void fail_busy(login_job *j, dk_workq *q)
{
    fail(j, DK_EBUSY, dk_workq_retry_after(q, RETRY_MAX_S), "%s",
         "登录人数较多，正在排队，请稍候自动重试");
}

static void limiter(login_job *j, const char *op, dk_aredis_cb cb)
{
    const dom_login_env *e = j->env;
    char a_max[24], i_max[24], a_cap[24], i_cap[24], window[24];
    snprintf(a_max, sizeof a_max, "%lld", e->max_acct);
    snprintf(i_max, sizeof i_max, "%lld", e->max_ip);
    snprintf(a_cap, sizeof a_cap, "%lld", e->captcha_acct);
    snprintf(i_cap, sizeof i_cap, "%lld", e->captcha_ip);
    snprintf(window, sizeof window, "%lld", e->window_s);
    const char *argv[] = {"3",   j->k_acct, j->k_ip, j->k_captcha,      op,    a_max,
                          i_max, a_cap,     i_cap,   j->captcha_answer, window};
    int argc = !strcmp(op, "take") ? 11 : 5;
    dk_aredis_evalsha(j->rq->loop->redis, 0, cb, j->rq, &lua_login, argc, argv, NULL);
}

/* The name as typed, for the audit row: only its first and last characters. */
static void mask(const char *s, char *out, size_t outsz)
{
    size_t n = 0, len = strlen(s);
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    size_t keep = n >= 8 ? 2 : n >= 4 ? 1 : 0, ci = 0, o = 0;
    for (size_t i = 0; i < len && o + 5 < outsz; i++) {
        int lead = ((unsigned char)s[i] & 0xC0) != 0x80;
        if (lead) ci++;
        if (ci <= keep || ci > n - keep)
            out[o++] = s[i];
        else if (lead)
            out[o++] = '*';
    }
    out[o] = '\0';
}

/* One audit row for this attempt (on a pool thread). */
static int audit(login_job *j, MYSQL *db, int ok, const char *reason, dk_error *err)
{
    char masked[80];
    mask(j->res.typed, masked, sizeof masked);
    json_t *detail = json_pack("{s:s}", "login", masked);
    dom_audit_row r = {.actor_type = j->k->actor,
                       .actor_id = j->found ? j->res.acct.id : 0,
                       .action = ok ? "login" : "login_failed",
                       .entity_type = j->k->table,
                       .entity_id = j->found ? j->res.acct.id : 0,
                       .reason = reason,
                       .detail = detail,
                       .ip = j->ip};
    int rc = dom_audit(db, &r, err);
    json_decref(detail);
    return rc;
}

/* ---- (3') a refusal before the password check: its audit row, then the reply */

static void refusal_work(void *ctx, void *arg)
{
    login_job *j = arg;
    dk_error err = {0};
    MYSQL *db = dk_dbconn_get(ctx, &err);
    if (db && audit(j, db, 0, j->refusal, &err) == DK_EIO) dk_dbconn_drop(ctx);
    if (err.code) DK_WARN("login", "refusal not audited err=\"%s\"", err.msg);
}

static void refusal_done(void *arg)
{
    finish(arg);
}

static void refuse(login_job *j, const char *reason)
{
    j->refusal = reason;
    if (dk_workq_submit(j->env->db, j->rq->loop->mailbox, refusal_work, refusal_done, j)) {
        DK_WARN("login", "refusal not audited: the db pool is full reason=%s", reason);
        finish(j);
    }
}

/* ---- (4) back on the loop: counters, then (5) */

static void on_settled(redisReply *r, const dk_error *e, void *arg)
{
    (void)r;
    dk_req *rq = arg;
    login_job *j = rq->state;
    if (e->code) DK_WARN("login", "counter not settled err=\"%s\"", e->msg);
    finish(j);
}

static void verify_done(void *arg)
{
    login_job *j = arg;
    if (!j->res.rc) {
        limiter(j, "ok", on_settled);
        return;
    }
    if (j->res.rc == DK_EAUTH || j->res.rc == DK_EFORBIDDEN) {
        const dom_login_env *e = j->env;
        j->res.captcha_required = (e->captcha_acct && j->n_acct >= e->captcha_acct) ||
                                  (e->captcha_ip && j->n_ip >= e->captcha_ip);
        finish(j);
        return;
    }
    /* not judged: take the attempt back */
    DK_WARN("login", "backend failed code=%s err=\"%s\"", dk_err_name(j->res.rc), j->res.err.msg);
    if (dk_err_http_status(j->res.rc) < 500) j->res.rc = DK_EIO;
    j->res.err = (dk_error){.code = j->res.rc};
    snprintf(j->res.err.msg, sizeof j->res.err.msg, "登录服务暂时不可用，请稍后重试");
    limiter(j, "undo", on_settled);
}

/* ---- (3) on a hash thread: the password, the status rule, the durable counter, the audit */

static void verify_work(void *ctx, void *arg)
{
    login_job *j = arg;
    dom_login_result *res = &j->res;
    MYSQL *db = dk_dbconn_get(ctx, &res->err);
    if (!db) {
        res->rc = res->err.code ? res->err.code : DK_EIO;
        return;
    }
    /* an unknown account costs what a wrong password costs */
    int ok = dk_password_verify(j->found ? res->acct.hash : j->env->dummy_hash, j->password,
                                j->pwlen) == 0 &&
             j->found;
    sodium_memzero(j->password, sizeof j->password);
    const char *reason = !j->found           ? "unknown_account"
                         : !ok               ? "wrong_password"
                         : !res->acct.usable ? "disabled"
                                             : NULL;
    int rc = 0;
    char sql[200];
    dk_param q[] = {DK_PINT(res->acct.id)};
    if (j->found) {
        snprintf(sql, sizeof sql,
                 ok ? "UPDATE %s SET failed_logins = 0, last_login_at = NOW(3) WHERE id = ?"
                    : "UPDATE %s SET failed_logins = LEAST(failed_logins + 1, 65535), "
                      "last_failed_at = NOW(3) WHERE id = ?",
                 j->k->table);
        rc = dk_mysql_exec(db, sql, q, 1, NULL, NULL, &res->err);
    }
    if (!rc) rc = audit(j, db, !reason, reason, &res->err);
    if (rc) {
        res->rc = rc;
        if (rc == DK_EIO) dk_dbconn_drop(ctx);
        return;
    }
    if (!ok)
        res->rc = dk_error_set(&res->err, DK_EAUTH, "账号或密码错误");
    else if (!res->acct.usable)
        res->rc = dk_error_set(&res->err, DK_EFORBIDDEN, "%s", j->k->disabled_msg);
}

/* ---- (2) on the loop: the limiter's verdict */

static void on_taken(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    login_job *j = rq->state;
    if (e->code) { /* without Redis no attempt can be counted: refuse rather than go unlimited */
        fail_backend(j, e);
        return;
    }
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[2]->type != REDIS_REPLY_INTEGER) {
        dk_error bad = {.code = DK_EIO};
        snprintf(bad.msg, sizeof bad.msg, "unexpected limiter reply: %s",
                 r && r->type == REDIS_REPLY_ERROR ? r->str : "?");
        fail_backend(j, &bad);
        return;
    }
    long long verdict = r->element[0]->integer, n = r->element[1]->integer;
    const dom_login_env *env = j->env;
    dom_login_result *res = &j->res;
    int captcha = env->captcha_acct > 0;
    switch (verdict) {
    case 0:
        j->n_acct = n;
        j->n_ip = r->element[2]->integer;
        if (dk_workq_submit(env->hash, rq->loop->mailbox, verify_work, verify_done, j)) {
            /* the attempt was never judged: take it back, then answer 503 */
            res->rc = DK_EBUSY;
            res->err = (dk_error){.code = DK_EBUSY,
                                  .retry_after = dk_workq_retry_after(env->hash, RETRY_MAX_S)};
            snprintf(res->err.msg, sizeof res->err.msg, "登录人数较多，正在排队，请稍候自动重试");
            limiter(j, "undo", on_settled);
        }
        return;
    case 1: {
        long long ttl = n > 0 ? n : 1;
        res->rc = DK_ERATELIMIT;
        res->err = (dk_error){.code = DK_ERATELIMIT, .retry_after = (int)ttl};
        snprintf(res->err.msg, sizeof res->err.msg, "登录失败次数过多，请 %lld 分钟后再试",
                 (ttl + 59) / 60);
        res->captcha_required = captcha;
        refuse(j, "rate_limited");
        return;
    }
    case 2:
        res->rc = dk_error_set(&res->err, DK_EINVAL, "请输入验证码");
        res->captcha_required = 1;
        refuse(j, "captcha_required");
        return;
    default:
        res->rc = dk_error_set(&res->err, DK_EINVAL, "验证码错误或已过期，请重新输入");
        res->captcha_required = 1;
        refuse(j, "captcha_wrong");
        return;
    }
}

/* ---- (1) the lookup */

static void lookup_work(void *ctx, void *arg)
{
    login_job *j = arg;
    dom_login_result *res = &j->res;
    MYSQL *db = dk_dbconn_get(ctx, &res->err);
    if (!db) {
        res->rc = res->err.code ? res->err.code : DK_EIO;
        return;
    }
    int rc =
        dom_account_find(db, j->k->kind, res->typed, strlen(res->typed), &res->acct, &res->err);
    j->found = rc == 0;
    res->rc = rc == DK_ENOTFOUND ? 0 : rc;
    if (rc == DK_ENOTFOUND) dk_error_clear(&res->err);
    if (rc == DK_EIO) dk_dbconn_drop(ctx);
}

static void lookup_done(void *arg)
{
    login_job *j = arg;
    if (j->res.rc) {
        fail_backend(j, &j->res.err);
        return;
    }
    if (j->found) {
        snprintf(j->k_acct, sizeof j->k_acct, DOM_LOGIN_KEY_ACCT "%c:%lld", j->k->kind,
                 j->res.acct.id);
    } else { /* keyed, so that the key does not give the name away */
        unsigned char h[16];
        char hex[33], both[80];
        snprintf(both, sizeof both, "%c:%s", j->k->kind, j->res.typed);
        crypto_generichash(h, sizeof h, (const unsigned char *)both, strlen(both), j->env->name_key,
                           sizeof j->env->name_key);
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        snprintf(j->k_acct, sizeof j->k_acct, DOM_LOGIN_KEY_ACCT "u:%s", hex);
    }
    limiter(j, "take", on_taken);
}

void dom_login_start(dk_req *rq, const dom_login_env *env, const dom_login_req *req,
                     dom_login_done_fn done)
{
    login_job *j = dk_calloc(1, sizeof *j);
    j->env = env;
    j->rq = rq;
    j->done = done;
    rq->state = j;
    rq->state_free = job_free;
    j->k = kind_row_of(req->kind);
    if (!j->k) {
        fail(j, DK_EINVAL, 0, "%s", "type 应为 institution、authority 或 physician");
        return;
    }
    size_t pwlen = req->password ? strlen(req->password) : 0;
    if (!req->account || strlen(req->account) >= sizeof j->res.typed || pwlen > DK_PASSWORD_MAX) {
        fail(j, DK_EINVAL, 0, "%s", "账号或密码过长");
        return;
    }
    copy(j->res.typed, sizeof j->res.typed, req->account);
    memcpy(j->password, req->password, pwlen);
    j->pwlen = pwlen;
    copy(j->captcha_answer, sizeof j->captcha_answer, req->captcha_answer);
    dom_login_captcha_key(j->k_captcha, req->captcha_id);
    copy(j->ip, sizeof j->ip, rq->peer);
    snprintf(j->k_ip, sizeof j->k_ip, DOM_LOGIN_KEY_IP "%s", rq->peer);
    if (dk_workq_submit(env->db, rq->loop->mailbox, lookup_work, lookup_done, j))
        fail_busy(j, env->db);
}
