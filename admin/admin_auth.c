/* admin_auth.c - accounts: login of institutions (by code), authority accounts (by
 * user name) and physicians (account or ID number), the captcha, the forced password
 * change, the actor behind a token, and scopes.
 *
 * Login rate limits and captchas live in Redis: failed logins are counted per account
 * (hashed key) and per address within login_window_s. From ADMIN_CAPTCHA_AFTER
 * failures of the account (or a fifth of login_max_failures_ip of the address) a captcha
 * is required; at login_max_failures of the account (login_max_failures_ip of the address) the next
 * attempts get 429 + Retry-After. The check and the captcha answer are one Lua script.
 * Password hashing runs on the bounded hash pool; 503 + Retry-After beyond it. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"

/* KEYS: account counter, address counter, captcha. ARGV: account limit, address limit,
 * captcha-after (account), captcha-after (address), captcha answer, window.
 * Returns {0,n} ok, {1,ttl} rate limited, {2,n} captcha needed, {3,n} captcha wrong. */
static dk_script lua_login_check = DK_SCRIPT(
    "local a = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "local i = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "if a >= tonumber(ARGV[1]) then return {1, redis.call('TTL', KEYS[1])} end\n"
    "if i >= tonumber(ARGV[2]) then return {1, redis.call('TTL', KEYS[2])} end\n"
    "if a >= tonumber(ARGV[3]) or i >= tonumber(ARGV[4]) then\n"
    "  if ARGV[5] == '' then return {2, a} end\n"
    "  local want = redis.call('GET', KEYS[3])\n"
    "  redis.call('DEL', KEYS[3])\n"
    "  if (not want) or want ~= ARGV[5] then\n"
    "    for k = 1, 2 do\n"
    "      if redis.call('INCR', KEYS[k]) == 1 then redis.call('EXPIRE', KEYS[k], ARGV[6]) end\n"
    "    end\n"
    "    return {3, a + 1}\n"
    "  end\n"
    "end\n"
    "return {0, a}\n");

static dk_script lua_login_fail =
    DK_SCRIPT("local n = 0\n"
              "for k = 1, #KEYS do\n"
              "  local v = redis.call('INCR', KEYS[k])\n"
              "  if v == 1 then redis.call('EXPIRE', KEYS[k], ARGV[1]) end\n"
              "  if k == 1 then n = v end\n"
              "end\n"
              "return n\n");

/* ---- roles and scope -------------------------------------------------------------------- */

const char *admin_role_name(const admin_actor *a, unsigned acting_role)
{
    switch (a->kind) {
    case 'p': return "医师";
    case 'i': return acting_role == ADMIN_R_ASSESSOR ? "考核机构" : "医疗卫生机构";
    case 'a':
        return !strcmp(a->level, "province") ? "省级卫生行政部门"
               : !strcmp(a->level, "city")   ? "市级卫生行政部门"
                                             : "县级卫生行政部门";
    default: return "系统";
    }
}

int admin_path_covers(const char *actor_path, const char *path)
{
    size_t n = strlen(actor_path);
    return n > 1 && path && !strncmp(actor_path, path, n);
}

int admin_load_actor(admin_job *j, MYSQL *db)
{
    admin_actor *a = &j->actor;
    memset(a, 0, sizeof *a);
    a->kind = j->claims.kind;
    a->id = j->claims.id;
    const char *sql = NULL;
    switch (a->kind) {
    case 'p':
        sql =
            "SELECT p.name, p.account, p.institution_id, i.authority_id, au.path, au.code, '', 0, "
            "0, p.deleted_at IS NULL "
            "FROM physician p JOIN institution i ON i.id = p.institution_id "
            "JOIN authority au ON au.id = i.authority_id WHERE p.id = ?";
        break;
    case 'i':
        sql =
            "SELECT i.name, i.code, i.id, i.authority_id, au.path, au.code, '', i.is_assessor, "
            "i.can_apply, i.enabled FROM institution i JOIN authority au ON au.id = i.authority_id "
            "WHERE i.id = ?";
        break;
    case 'a':
        sql = "SELECT acc.display_name, acc.username, 0, acc.authority_id, au.path, au.code, "
              "au.admin_level, 0, 0, acc.enabled FROM authority_account acc "
              "JOIN authority au ON au.id = acc.authority_id WHERE acc.id = ?";
        break;
    default: return dk_error_set(&j->err, DK_EAUTH, "登录凭证无效，请重新登录");
    }
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(a->id)};
    int rc = dk_mysql_exec(db, sql, p, 1, &res, NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row || !row[9] || atoi(row[9]) == 0) {
        mysql_free_result(res);
        return dk_error_set(&j->err, DK_EAUTH, "账号不存在或已停用，请重新登录");
    }
    snprintf(a->name, sizeof a->name, "%s", row[0]);
    snprintf(a->login, sizeof a->login, "%s", row[1]);
    a->institution_id = strtoll(row[2], NULL, 10);
    a->authority_id = strtoll(row[3], NULL, 10);
    snprintf(a->path, sizeof a->path, "%s", row[4]);
    snprintf(a->authority_code, sizeof a->authority_code, "%s", row[5]);
    snprintf(a->level, sizeof a->level, "%s", row[6]);
    a->is_assessor = atoi(row[7]);
    a->can_apply = atoi(row[8]);
    mysql_free_result(res);
    if (a->kind == 'p') a->roles = ADMIN_R_PHYS;
    if (a->kind == 'i') a->roles = ADMIN_R_INST | (a->is_assessor ? ADMIN_R_ASSESSOR : 0);
    if (a->kind == 'a')
        a->roles = ADMIN_R_AUTH | (!strcmp(a->level, "province") ? ADMIN_R_PROVINCE : 0);
    return 0;
}

int admin_cycle_for(admin_job *j, MYSQL *db, const char *path, long long *cycle_id)
{
    long long want;
    int rc = admin_q_int(j, "cycle_id", 1, 1LL << 53, 0, &want);
    if (rc) return rc;
    if (!want) {
        json_t *b = json_object_get(j->body, "cycle_id");
        if (json_is_integer(b)) want = json_integer_value(b);
    }
    if (want) {
        /* visible: opened by an ancestor-or-self, or (for an authority) below it */
        dk_param p[] = {DK_PINT(want), DK_PSTR(path), DK_PSTR(path)};
        rc = admin_sql_ll(db,
                          "SELECT c.id FROM cycle c JOIN authority a ON a.id = c.authority_id "
                          "WHERE c.id = ? AND (? LIKE CONCAT(a.path, '%') OR a.path LIKE "
                          "CONCAT(?, '%'))",
                          p, 3, cycle_id, &j->err);
        if (rc == DK_ENOTFOUND) dk_error_set(&j->err, DK_ENOTFOUND, "没有这个考核周期");
        return rc;
    }
    dk_param p[] = {DK_PSTR(path)};
    rc = admin_sql_ll(db,
                      "SELECT c.id FROM cycle c JOIN authority a ON a.id = c.authority_id "
                      "WHERE ? LIKE CONCAT(a.path, '%') AND c.status = 'open' "
                      "ORDER BY c.period_start DESC, c.id DESC LIMIT 1",
                      p, 1, cycle_id, &j->err);
    if (rc == DK_ENOTFOUND) dk_error_set(&j->err, DK_ENOTFOUND, "当前没有开放的考核周期");
    return rc;
}

/* ---- GET /api/v1/captcha --------------------------------------------------------------------- */

typedef struct captcha_state {
    char id[33], answer[8];
    char svg[2048];
} captcha_state;

static void on_captcha_stored(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    captcha_state *c = rq->state;
    if (e->code || !r || r->type == REDIS_REPLY_ERROR) {
        dk_http_failf(rq, DK_EIO, "验证码服务暂时不可用");
        return;
    }
    char *b64 =
        dk_malloc(sodium_base64_ENCODED_LEN(strlen(c->svg), sodium_base64_VARIANT_ORIGINAL));
    sodium_bin2base64(
        b64, sodium_base64_ENCODED_LEN(strlen(c->svg), sodium_base64_VARIANT_ORIGINAL),
        (const unsigned char *)c->svg, strlen(c->svg), sodium_base64_VARIANT_ORIGINAL);
    char *img = dk_malloc(strlen(b64) + 40);
    sprintf(img, "data:image/svg+xml;base64,%s", b64);
    free(b64);
    json_t *v = json_pack("{s:s,s:s,s:i}", "captcha_id", c->id, "image", img, "expires_in", 300);
    free(img);
    dk_http_reply_json(rq, 200, v);
}

/* An arithmetic question drawn as SVG glyphs, each shifted and rotated a little. */
static void captcha_make(captcha_state *c)
{
    unsigned char rnd[16];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(c->id, sizeof c->id, rnd, sizeof rnd);
    int a = 1 + (int)randombytes_uniform(9), b = 1 + (int)randombytes_uniform(9);
    int plus = randombytes_uniform(2);
    if (!plus && b > a) {
        int t = a;
        a = b;
        b = t;
    }
    snprintf(c->answer, sizeof c->answer, "%d", plus ? a + b : a - b);
    char text[32];
    snprintf(text, sizeof text, "%d%c%d=?", a, plus ? '+' : '-', b);
    int n = snprintf(c->svg, sizeof c->svg,
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"40\">"
                     "<rect width=\"120\" height=\"40\" fill=\"#f3f3f3\"/>");
    for (int i = 0; i < 3; i++)
        n += snprintf(c->svg + n, sizeof c->svg - (size_t)n,
                      "<line x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\" stroke=\"#bbb\"/>",
                      randombytes_uniform(120), randombytes_uniform(40), randombytes_uniform(120),
                      randombytes_uniform(40));
    for (size_t i = 0; text[i]; i++)
        n += snprintf(c->svg + n, sizeof c->svg - (size_t)n,
                      "<text x=\"%zu\" y=\"%u\" font-size=\"22\" font-family=\"monospace\" "
                      "transform=\"rotate(%d %zu 20)\" fill=\"#333\">%c</text>",
                      10 + i * 20, 25 + randombytes_uniform(8), (int)randombytes_uniform(31) - 15,
                      10 + i * 20, text[i]);
    snprintf(c->svg + n, sizeof c->svg - (size_t)n, "</svg>");
}

void admin_captcha(dk_req *rq)
{
    captcha_state *c = dk_calloc(1, sizeof *c);
    rq->state = c;
    rq->state_free = free;
    captcha_make(c);
    char key[64];
    snprintf(key, sizeof key, "captcha:%s", c->id);
    const char *argv[] = {"SET", key, c->answer, "EX", "300"};
    dk_aredis_cmdargv(rq->loop->redis, 0, on_captcha_stored, rq, 5, argv, NULL);
}

/* ---- POST /api/v1/login ---------------------------------------------------------------------- */

typedef struct login_job {
    admin_server *srv;
    dk_req *rq;
    char type; /* 'i', 'a', 'p' */
    char account[72];
    char password[DK_PASSWORD_MAX + 1];
    size_t pwlen;
    char captcha_id[40], captcha_answer[16];
    char k_acct[64], k_ip[80], k_captcha[64];
    long long id;
    int must_change, rc, captcha_next;
    char name[160];
    dk_error err;
} login_job;

static void login_job_free(void *p)
{
    login_job *j = p;
    sodium_memzero(j, sizeof *j);
    free(j);
}

static void reply_login_error(dk_req *rq, int code, const char *msg, int captcha, int retry)
{
    int status = dk_err_http_status(code);
    if (retry > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", retry);
        evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Retry-After", ra);
    }
    dk_http_reply_json(rq, status,
                       json_pack("{s:{s:s,s:s,s:b}}", "error", "code", dk_err_name(code), "message",
                                 msg, "captcha_required", captcha));
}

static void login_work(void *ctx, void *arg)
{
    login_job *j = arg;
    MYSQL *db = dk_dbconn_get(ctx, &j->err);
    if (!db) {
        j->rc = j->err.code;
        return;
    }
    const char *sql =
        j->type == 'i'   ? "SELECT id, password_hash, must_change_password, name, enabled "
                           "FROM institution WHERE code = ? AND ? <> ''"
        : j->type == 'a' ? "SELECT id, password_hash, must_change_password, display_name, enabled "
                           "FROM authority_account WHERE username = ? AND ? <> ''"
                         : "SELECT id, password_hash, must_change_password, name, "
                           "status = '在岗' FROM physician WHERE (account = ? OR id_number = ?) "
                           "AND deleted_at IS NULL LIMIT 1";
    const char *table = j->type == 'i'   ? "institution"
                        : j->type == 'a' ? "authority_account"
                                         : "physician";
    MYSQL_RES *res;
    dk_param p[] = {DK_PSTR(j->account), DK_PSTR(j->account)};
    j->rc = dk_mysql_exec(db, sql, p, 2, &res, NULL, &j->err);
    if (j->rc) goto out;
    MYSQL_ROW row = mysql_fetch_row(res);
    char hash[256] = "";
    int enabled = 0;
    if (row) {
        j->id = strtoll(row[0], NULL, 10);
        snprintf(hash, sizeof hash, "%s", row[1]);
        j->must_change = atoi(row[2]);
        snprintf(j->name, sizeof j->name, "%s", row[3]);
        enabled = atoi(row[4]);
    }
    mysql_free_result(res);
    /* an unknown account costs the same time as a wrong password */
    int ok = dk_password_verify(row ? hash : j->srv->initial_hash, j->password, j->pwlen) == 0;
    sodium_memzero(hash, sizeof hash);
    char sql2[200];
    dk_param q[] = {DK_PINT(j->id)};
    if (!row || !ok) {
        if (row) {
            snprintf(sql2, sizeof sql2,
                     "UPDATE %s SET failed_logins = LEAST(failed_logins + 1, 65535), "
                     "last_failed_at = NOW(3) WHERE id = ?",
                     table);
            dk_mysql_exec(db, sql2, q, 1, NULL, NULL, NULL);
        }
        j->rc = dk_error_set(&j->err, DK_EAUTH, "账号或密码错误");
        goto out;
    }
    if (!enabled) {
        j->rc = dk_error_set(&j->err, DK_EFORBIDDEN, "账号已停用，请联系上级部门");
        goto out;
    }
    snprintf(sql2, sizeof sql2,
             "UPDATE %s SET failed_logins = 0, last_login_at = NOW(3) WHERE id = ?", table);
    j->rc = dk_mysql_exec(db, sql2, q, 1, NULL, NULL, &j->err);
    if (j->rc) goto out;
    admin_job aj = {0};
    aj.actor.kind = j->type;
    aj.actor.id = j->id;
    snprintf(aj.ip, sizeof aj.ip, "%s", j->rq->peer);
    j->rc = admin_audit(db, &aj, 0, "login", table, j->id, NULL, NULL, NULL, NULL, NULL, &j->err);
out:
    if (j->rc == DK_EIO) dk_dbconn_drop(ctx);
}

static void on_fail_counted(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    login_job *j = rq->state;
    long long n = !e->code && r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    reply_login_error(rq, DK_EAUTH, j->err.msg, n >= ADMIN_CAPTCHA_AFTER || j->captcha_next, 0);
}

static void on_success_cleared(redisReply *r, const dk_error *e, void *arg)
{
    (void)r, (void)e;
    dk_req *rq = arg;
    login_job *j = rq->state;
    dk_claims c = {.kind = j->type,
                   .id = j->id,
                   .expires = dk_wall_ms() / 1000 + j->srv->auth.ttl_s,
                   .must_change = j->must_change};
    char tok[DK_TOKEN_MAX];
    dk_token_make(&j->srv->auth, &c, tok);
    const char *type = j->type == 'i' ? "institution" : j->type == 'a' ? "authority" : "physician";
    dk_http_reply_json(rq, 200,
                       json_pack("{s:s,s:I,s:b,s:{s:s,s:I,s:s,s:s}}", "token", tok, "expires_at",
                                 (json_int_t)c.expires * 1000, "must_change_password",
                                 j->must_change, "account", "type", type, "id", (json_int_t)j->id,
                                 "name", j->name, "login", j->account));
}

static void login_done(void *arg)
{
    login_job *j = arg;
    dk_req *rq = j->rq;
    if (j->rc == DK_EAUTH) {
        char window[24];
        snprintf(window, sizeof window, "%lld", dk_config_int(j->srv->cfg, "login_window_s"));
        const char *argv[] = {"2", j->k_acct, j->k_ip, window};
        dk_aredis_evalsha(rq->loop->redis, 0, on_fail_counted, rq, &lua_login_fail, 4, argv, NULL);
        return;
    }
    if (j->rc) {
        dk_http_fail(rq, &j->err);
        return;
    }
    const char *argv[] = {"DEL", j->k_acct};
    dk_aredis_cmdargv(rq->loop->redis, 0, on_success_cleared, rq, 2, argv, NULL);
}

static void on_login_checked(redisReply *r, const dk_error *e, void *arg)
{
    dk_req *rq = arg;
    login_job *j = rq->state;
    if (e->code) { /* without Redis no counter can be kept: refuse rather than go unlimited */
        dk_http_fail(rq, e);
        return;
    }
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        dk_http_failf(rq, DK_EIO, "登录服务暂时不可用");
        return;
    }
    long long verdict = r->element[0]->integer, n = r->element[1]->integer;
    if (verdict == 1) {
        char msg[128];
        snprintf(msg, sizeof msg, "登录失败次数过多，请 %lld 分钟后再试", (n + 59) / 60);
        reply_login_error(rq, DK_ERATELIMIT, msg, 1, n > 0 ? (int)n : 1);
        return;
    }
    if (verdict == 2) {
        reply_login_error(rq, DK_EINVAL, "请输入验证码", 1, 0);
        return;
    }
    if (verdict == 3) {
        reply_login_error(rq, DK_EINVAL, "验证码错误或已过期，请重新输入", 1, 0);
        return;
    }
    j->captcha_next = n >= ADMIN_CAPTCHA_AFTER;
    if (dk_workq_submit(j->srv->hash, rq->loop->mailbox, login_work, login_done, j)) {
        dk_error busy = {.code = DK_EBUSY, .retry_after = 2};
        snprintf(busy.msg, sizeof busy.msg, "登录人数较多，请稍候重试");
        dk_http_fail(rq, &busy);
    }
}

void admin_login(dk_req *rq)
{
    json_t *body;
    dk_error err = {0};
    const char *type, *account, *password, *cid = NULL, *cans = NULL;
    static const char *const keys[] = {"type",       "account",        "password",
                                       "captcha_id", "captcha_answer", NULL};
    if (dk_http_body_json(rq, &body, &err) || dk_json_only_keys(body, keys, &err) ||
        dk_json_str(body, "type", 16, &type, &err) ||
        dk_json_str(body, "account", 64, &account, &err) ||
        dk_json_str(body, "password", DK_PASSWORD_MAX, &password, &err) ||
        dk_json_str_opt(body, "captcha_id", 32, &cid, &err) ||
        dk_json_str_opt(body, "captcha_answer", 8, &cans, &err)) {
        json_decref(body);
        dk_http_fail(rq, &err);
        return;
    }
    char t = !strcmp(type, "institution") ? 'i'
             : !strcmp(type, "authority") ? 'a'
             : !strcmp(type, "physician") ? 'p'
                                          : 0;
    if (!t) {
        json_decref(body);
        dk_http_failf(rq, DK_EINVAL, "type 应为 institution、authority 或 physician");
        return;
    }
    admin_server *srv = admin_of(rq);
    login_job *j = dk_calloc(1, sizeof *j);
    j->srv = srv;
    j->rq = rq;
    j->type = t;
    snprintf(j->account, sizeof j->account, "%s", account);
    j->pwlen = strlen(password);
    memcpy(j->password, password, j->pwlen);
    snprintf(j->captcha_id, sizeof j->captcha_id, "%s", cid ? cid : "");
    snprintf(j->captcha_answer, sizeof j->captcha_answer, "%s", cans ? cans : "");
    json_decref(body);
    rq->state = j;
    rq->state_free = login_job_free;
    /* keys are hashes: no account names or ID numbers in Redis */
    unsigned char h[12];
    char hex[25], both[80];
    snprintf(both, sizeof both, "%c:%s", t, j->account);
    crypto_generichash(h, sizeof h, (const unsigned char *)both, strlen(both), NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(j->k_acct, sizeof j->k_acct, "rl:adm:acct:%s", hex);
    snprintf(j->k_ip, sizeof j->k_ip, "rl:adm:ip:%s", rq->peer);
    snprintf(j->k_captcha, sizeof j->k_captcha, "captcha:%s",
             j->captcha_id[0] && strspn(j->captcha_id, "0123456789abcdef") == strlen(j->captcha_id)
                 ? j->captcha_id
                 : "none");
    long long max = dk_config_int(srv->cfg, "login_max_failures");
    long long ip_max = dk_config_int(srv->cfg, "login_max_failures_ip");
    char a_max[24], i_max[24], a_cap[24], i_cap[24], window[24];
    snprintf(a_max, sizeof a_max, "%lld", max);
    snprintf(i_max, sizeof i_max, "%lld", ip_max);
    snprintf(a_cap, sizeof a_cap, "%d", ADMIN_CAPTCHA_AFTER);
    snprintf(i_cap, sizeof i_cap, "%lld", ip_max / 5 > 0 ? ip_max / 5 : 1);
    snprintf(window, sizeof window, "%lld", dk_config_int(srv->cfg, "login_window_s"));
    const char *argv[] = {"3",   j->k_acct, j->k_ip,           j->k_captcha, a_max, i_max,
                          a_cap, i_cap,     j->captcha_answer, window};
    dk_aredis_evalsha(rq->loop->redis, 0, on_login_checked, rq, &lua_login_check, 10, argv, NULL);
}

/* ---- POST /api/v1/password ------------------------------------------------------------------- */

int admin_password(admin_job *j, MYSQL *db)
{
    const char *oldp, *newp;
    static const char *const keys[] = {"old_password", "new_password", NULL};
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_str(j->body, "old_password", DK_PASSWORD_MAX, &oldp, &j->err)) ||
        (rc = dk_json_str(j->body, "new_password", DK_PASSWORD_MAX + 1, &newp, &j->err)) ||
        (rc = dk_password_policy(newp, strlen(newp), &j->err)))
        return rc;
    if (!strcmp(oldp, newp)) return dk_error_set(&j->err, DK_EINVAL, "新密码不能与原密码相同");
    if (!strcmp(newp, ADMIN_INITIAL_PASSWORD))
        return dk_error_set(&j->err, DK_EINVAL, "新密码不能是初始密码");
    const char *table = j->actor.kind == 'i'   ? "institution"
                        : j->actor.kind == 'a' ? "authority_account"
                                               : "physician";
    char sql[200], hash[256];
    snprintf(sql, sizeof sql, "SELECT password_hash FROM %s WHERE id = ?", table);
    dk_param p[] = {DK_PINT(j->actor.id)};
    if ((rc = admin_sql_str(db, sql, p, 1, hash, sizeof hash, &j->err))) return rc;
    if (dk_password_verify(hash, oldp, strlen(oldp)) != 0)
        return dk_error_set(&j->err, DK_EAUTH, "原密码不正确");
    if ((rc = dk_password_hash(&j->srv->auth, newp, strlen(newp), hash, &j->err))) return rc;
    snprintf(sql, sizeof sql,
             "UPDATE %s SET password_hash = ?, must_change_password = 0, "
             "password_changed_at = NOW(3) WHERE id = ?",
             table);
    dk_param u[] = {DK_PSTR(hash), DK_PINT(j->actor.id)};
    rc = admin_sql_exec(db, sql, u, 2, NULL, &j->err);
    sodium_memzero(hash, sizeof hash);
    if (rc || (rc = admin_audit(db, j, 0, "change_password", table, j->actor.id, NULL, NULL, NULL,
                                NULL, NULL, &j->err)))
        return rc;
    dk_claims c = {.kind = j->actor.kind,
                   .id = j->actor.id,
                   .expires = dk_wall_ms() / 1000 + j->srv->auth.ttl_s};
    char tok[DK_TOKEN_MAX];
    dk_token_make(&j->srv->auth, &c, tok);
    j->out = json_pack("{s:s,s:I,s:b}", "token", tok, "expires_at", (json_int_t)c.expires * 1000,
                       "must_change_password", 0);
    return 0;
}

/* ---- GET /api/v1/me
 * ------------------------------------------------------------------------------ */

int admin_me(admin_job *j, MYSQL *db)
{
    admin_actor *a = &j->actor;
    json_t *roles = json_array();
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{ADMIN_R_PHYS, "physician"},
                 {ADMIN_R_INST, "institution"},
                 {ADMIN_R_ASSESSOR, "assessor"},
                 {ADMIN_R_AUTH, "authority"},
                 {ADMIN_R_PROVINCE, "province"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (a->roles & names[i].bit) json_array_append_new(roles, json_string(names[i].name));
    const char *type = a->kind == 'i' ? "institution" : a->kind == 'a' ? "authority" : "physician";
    json_t *auth = NULL;
    dk_param p[] = {DK_PINT(a->authority_id)};
    int rc = admin_sql_row(db,
                           "SELECT id, code, name, admin_level, contact_name, contact_phone "
                           "FROM authority WHERE id = ?",
                           p, 1, 0, NULL, &auth, &j->err);
    if (rc) {
        json_decref(roles);
        return rc;
    }
    json_t *cycle = json_null();
    long long cid;
    if (admin_cycle_for(j, db, a->path, &cid) == 0) {
        json_t *c;
        dk_param q[] = {DK_PINT(cid)};
        if (admin_sql_row(db, "SELECT * FROM cycle WHERE id = ?", q, 1, 0, NULL, &c, &j->err) ==
            0) {
            json_decref(cycle);
            cycle = c;
        }
    }
    dk_error_clear(&j->err);
    j->out = json_pack("{s:s,s:I,s:s,s:s,s:o,s:s,s:b,s:o,s:o}", "type", type, "id",
                       (json_int_t)a->id, "name", a->name, "login", a->login, "roles", roles,
                       "role_name", admin_role_name(a, 0), "must_change_password",
                       j->claims.must_change, "authority", auth, "cycle", cycle);
    if (a->kind == 'i') {
        json_object_set_new(j->out, "is_assessor", json_boolean(a->is_assessor));
        json_object_set_new(j->out, "can_apply", json_boolean(a->can_apply));
    }
    if (a->kind == 'a') json_object_set_new(j->out, "level", json_string(a->level));
    return 0;
}
