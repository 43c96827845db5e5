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

#include "dk_clock.h"
#include "dk_json.h"
#include "dk_log.h"
#include "dom_audit.h"

#define RETRY_MAX_S 30 /* the longest Retry-After of a full pool, as examd's other routes */

/* ---- the kinds, as a table ------------------------------------------------------------------ */

/* Every SELECT gives: id, password_hash, must_change_password, name, login, category,
 * usable, id_number, activation_hash, the age of the password in seconds (since the
 * reset or, never changed, the creation). find_sql takes what was typed twice. */
typedef struct kind_row {
    char kind;
    const char *name, *table, *actor;
    const char *find_sql, *get_sql;
    const char *disabled_msg;
} kind_row;

#define AGE_SQL(p)                                                                                 \
    "TIMESTAMPDIFF(SECOND, COALESCE(" p "password_changed_at, " p "created_at), NOW(3))"
#define PHYS_COLS                                                                                  \
    "SELECT p.id, p.password_hash, p.must_change_password, p.name, p.account, "                    \
    "p.practice_category, " DOM_PHYS_USABLE_SQL("p") ", p.id_number, '', " AGE_SQL(                \
        "p.") " FROM physician p "
#define INST_COLS                                                                                  \
    "SELECT id, password_hash, must_change_password, name, code, '', enabled, '', "                \
    "activation_hash, " AGE_SQL("") " FROM institution "
#define AUTH_COLS                                                                                  \
    "SELECT id, password_hash, must_change_password, display_name, username, '', enabled, '', "    \
    "activation_hash, " AGE_SQL("") " FROM authority_account "

#define REV_COLS                                                                                   \
    "SELECT r.id, r.password_hash, r.must_change_password, r.display_name, r.username, "           \
    "'', " DOM_REVIEWER_USABLE_SQL ", '', r.activation_hash, " AGE_SQL(                            \
        "r.") " FROM institution_reviewer r JOIN institution i ON i.id = r.institution_id "

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
    {DOM_KIND_REVIEWER, "reviewer", "institution_reviewer", "reviewer",
     REV_COLS "WHERE r.username = ? AND ? <> ''", REV_COLS "WHERE r.id = ?",
     "账号已停用，请联系所在医疗卫生机构"},
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

char dom_kind_at(size_t i) { return i < sizeof kinds / sizeof kinds[0] ? kinds[i].kind : 0; }

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
    copy(out->id_number, sizeof out->id_number, row[7]);
    copy(out->act_hash, sizeof out->act_hash, row[8]);
    out->initial_age_s = row[9] ? strtoll(row[9], NULL, 10) : 0;
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
    sodium_memzero(a->act_hash, sizeof a->act_hash);
}

/* ---- activation codes ------------------------------------------------------------------------ */

/* No 0/O, 1/I: read aloud or copied from paper. 32 symbols, 10 of them: 50 bits. */
static const char act_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/* What was typed, without dashes and spaces, in capitals; 0 when it does not fit. */
static size_t act_normalize(const char *in, char *out, size_t outsz)
{
    size_t o = 0;
    for (const char *c = in ? in : ""; *c; c++) {
        if (*c == '-' || *c == ' ') continue;
        if (o + 1 >= outsz) return 0;
        out[o++] = (*c >= 'a' && *c <= 'z') ? (char)(*c - 'a' + 'A') : *c;
    }
    out[o] = '\0';
    return o;
}

int dom_activation_new(const dk_auth *auth, char code[DOM_ACTIVATION_MAX], char hash[DK_HASH_MAX],
                       dk_error *err)
{
    char plain[11];
    for (int i = 0; i < 10; i++)
        plain[i] = act_alphabet[randombytes_uniform(sizeof act_alphabet - 1)];
    plain[10] = '\0';
    snprintf(code, DOM_ACTIVATION_MAX, "%.5s-%.5s", plain, plain + 5);
    int rc = dk_password_hash(auth, plain, 10, hash, err);
    sodium_memzero(plain, sizeof plain);
    return rc;
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
             "password_changed_at = NOW(3)%s WHERE id = ?",
             k->table, kind == DOM_KIND_PHYSICIAN ? "" : ", activation_hash = NULL");
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

/* ---- the limiter ---------------------------------------------------------------------------- */

/* KEYS: [1] the budget's counter (the account's, or one device token's), [2] the address's
 * set of accounts with failures not yet followed by a success, [3] a captcha's answer,
 * [4] the address's set of accounts tried with the initial password.
 * ARGV[1] the operation, ARGV[2] the member that stands for the account in the sets:
 *   take: ARGV [3] account limit, [4] address limit (accounts), [5] captcha after
 *         (account; 0 none), [6] captcha after (address; 0 none), [7] the captcha answer
 *         given ("" none), [8] the window (s), [9] "1" when the initial password was
 *         typed, [10] initial-password accounts per address. Returns {verdict, n, m, added}:
 *         0 counted (n: the budget's attempts with this one, m: the address's accounts),
 *         1 limited (n: seconds to wait), 2 a captcha is needed and none was given (not
 *         counted), 3 the captcha is wrong (counted); added: 1 this attempt put the account
 *         into [2], +2 into [4]. A captcha answer is deleted when read: one try per captcha.
 *   fail: a judged failure: the account joins the address's set [2] (ARGV[3] the window).
 *         Only failures enter it, never attempts in flight: a room behind one address
 *         logging in at 09:00 has hundreds in flight at once and must not fill it.
 *   ok:   a success: the budget is deleted, the account leaves both address sets.
 *   undo: an attempt that was never judged: ARGV[3] its added, taken back from all. */
static dk_script lua_login = DK_SCRIPT(
    "local m = ARGV[2]\n"
    "if ARGV[1] == 'ok' then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  redis.call('SREM', KEYS[2], m)\n"
    "  redis.call('SREM', KEYS[4], m)\n"
    "  return {0, 0, 0, 0}\n"
    "end\n"
    "if ARGV[1] == 'fail' then\n"
    "  redis.call('SADD', KEYS[2], m)\n"
    "  redis.call('EXPIRE', KEYS[2], ARGV[3])\n"
    "  return {0, 0, 0, 0}\n"
    "end\n"
    "if ARGV[1] == 'undo' then\n"
    "  if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end\n"
    "  local f = tonumber(ARGV[3])\n"
    "  if f % 2 == 1 then redis.call('SREM', KEYS[2], m) end\n"
    "  if f >= 2 then redis.call('SREM', KEYS[4], m) end\n"
    "  return {0, 0, 0, 0}\n"
    "end\n"
    "local a = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "local known = redis.call('SISMEMBER', KEYS[2], m) == 1\n"
    "local i = redis.call('SCARD', KEYS[2])\n"
    "if a >= tonumber(ARGV[3]) then return {1, redis.call('TTL', KEYS[1]), a, 0} end\n"
    "if (not known) and i >= tonumber(ARGV[4]) then\n"
    "  return {1, redis.call('TTL', KEYS[2]), i, 0}\n"
    "end\n"
    "local init = ARGV[9] == '1'\n"
    "if init and redis.call('SISMEMBER', KEYS[4], m) == 0 and\n"
    "   redis.call('SCARD', KEYS[4]) >= tonumber(ARGV[10]) then\n"
    "  return {1, redis.call('TTL', KEYS[4]), 0, 0}\n"
    "end\n"
    "local verdict = 0\n"
    "local ca, ci = tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "if (ca > 0 and a >= ca) or (ci > 0 and i >= ci) then\n"
    "  if ARGV[7] == '' then return {2, a, i, 0} end\n"
    "  local want = redis.call('GET', KEYS[3])\n"
    "  redis.call('DEL', KEYS[3])\n"
    "  if (not want) or want ~= ARGV[7] then verdict = 3 end\n"
    "end\n"
    "if redis.call('INCR', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[8]) end\n"
    "local added = 0\n"
    "if init then\n"
    "  added = added + 2 * redis.call('SADD', KEYS[4], m)\n"
    "  redis.call('EXPIRE', KEYS[4], ARGV[8])\n"
    "end\n"
    "return {verdict, a + 1, known and i or i + 1, added}\n");

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
    e->initial_ttl_s = dk_config_int(cfg, "login_initial_ttl_s");
    e->initial_max_ip = dk_config_int(cfg, "login_initial_max_accounts_ip");
    e->device_ttl_s = dk_config_int(cfg, "login_device_ttl_s");
    e->captcha_acct = captcha_after;
    e->captcha_ip = captcha_after ? (e->max_ip / 5 > 0 ? e->max_ip / 5 : 1) : 0;
    /* both servers share token_secret, so they hash unknown names and sign device tokens
     * alike */
    static const char ctx[] = "dingkao login: unknown account names";
    crypto_generichash(e->name_key, sizeof e->name_key, (const unsigned char *)ctx, sizeof ctx - 1,
                       auth->key, sizeof auth->key);
    static const char dctx[] = "dingkao login: device tokens";
    crypto_generichash(e->device_key, sizeof e->device_key, (const unsigned char *)dctx,
                       sizeof dctx - 1, auth->key, sizeof auth->key);
    unsigned char rnd[24];
    char pw[sizeof rnd * 2 + 1];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(pw, sizeof pw, rnd, sizeof rnd);
    int rc = dk_password_hash(auth, pw, strlen(pw), e->dummy_hash, err);
    sodium_memzero(pw, sizeof pw);
    return rc;
}

/* ---- device tokens: "d1.<kind><id>.<expires>.<nonce>.<mac>" ------------------------------ */

static void device_mac(const dom_login_env *e, const char *msg, size_t len, char hex[33])
{
    unsigned char mac[16];
    crypto_generichash(mac, sizeof mac, (const unsigned char *)msg, len, e->device_key,
                       sizeof e->device_key);
    sodium_bin2hex(hex, 33, mac, sizeof mac);
}

static void device_make(const dom_login_env *e, char kind, long long id, const char *nonce,
                        char out[DOM_DEVICE_TOKEN_MAX])
{
    char msg[80], mac[33];
    int n = snprintf(msg, sizeof msg, "d1.%c%lld.%lld.%s", kind, id,
                     dk_clock_ms() / 1000 + e->device_ttl_s, nonce);
    device_mac(e, msg, (size_t)n, mac);
    snprintf(out, DOM_DEVICE_TOKEN_MAX, "%s.%s", msg, mac);
}

/* 1 when tok is ours, unexpired and bound to kind and id; its nonce into nonce. */
static int device_check(const dom_login_env *e, const char *tok, char kind, long long id,
                        char nonce[17])
{
    const char *dot = tok ? strrchr(tok, '.') : NULL;
    if (!dot || strlen(dot + 1) != 32) return 0;
    char mac[33];
    device_mac(e, tok, (size_t)(dot - tok), mac);
    if (sodium_memcmp(mac, dot + 1, 32) != 0) return 0;
    char k;
    long long tid, exp;
    char nc[17];
    if (sscanf(tok, "d1.%c%lld.%lld.%16[0-9a-f].", &k, &tid, &exp, nc) != 4) return 0;
    if (k != kind || tid != id || exp < dk_clock_ms() / 1000 || strlen(nc) != 16) return 0;
    memcpy(nonce, nc, 17);
    return 1;
}

/* ---- the login's steps ---------------------------------------------------------------------- */

typedef struct login_job {
    const dom_login_env *env;
    dk_req *rq;
    dom_login_done_fn done;
    const kind_row *k;
    char password[DK_PASSWORD_MAX + 1];
    size_t pwlen;
    int initial; /* the initial password was typed: the identity step applies */
    int proof;   /* a proof was given (ID number and name, or an activation code) */
    int device;  /* a valid device token of this account came with the attempt */
    char id_number[40], name[72], act_code[40], device_token[DOM_DEVICE_TOKEN_MAX];
    char nonce[17];
    char captcha_answer[16];
    char member[96], k_acct[128], k_ip[96], k_captcha[64], k_init[96];
    int found;
    int ok, expired;               /* the hash thread's verdict (password, identity, expiry) */
    const char *reason;            /* its audit reason (NULL: a success) */
    long long n_acct, n_ip, added; /* attempts counted with this one; see the script */
    const char *refusal;           /* audit reason of a refusal before the password check */
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
    char a_max[24], i_max[24], a_cap[24], i_cap[24], window[24], init_max[24], added[8];
    snprintf(a_max, sizeof a_max, "%lld", e->max_acct);
    snprintf(i_max, sizeof i_max, "%lld", e->max_ip);
    snprintf(a_cap, sizeof a_cap, "%lld", e->captcha_acct);
    snprintf(i_cap, sizeof i_cap, "%lld", e->captcha_ip);
    snprintf(window, sizeof window, "%lld", e->window_s);
    snprintf(init_max, sizeof init_max, "%lld", e->initial_max_ip);
    snprintf(added, sizeof added, "%lld", j->added);
    int take = !strcmp(op, "take");
    const char *argv[] = {"4",       j->k_acct,
                          j->k_ip,   j->k_captcha,
                          j->k_init, op,
                          j->member, take ? a_max : !strcmp(op, "fail") ? window : added,
                          i_max,     a_cap,
                          i_cap,     j->captcha_answer,
                          window,    j->initial ? "1" : "0",
                          init_max};
    int argc = take ? 15 : !strcmp(op, "undo") ? 8 : 7;
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
    if (j->initial) json_object_set_new(detail, "initial_password", json_true());
    if (j->device) json_object_set_new(detail, "device_token", json_true());
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
        /* a device token for the next login from this browser; one that came along keeps
         * its nonce (and so its budget) and gets a new expiry */
        if (!j->device) {
            unsigned char rnd[8];
            randombytes_buf(rnd, sizeof rnd);
            sodium_bin2hex(j->nonce, sizeof j->nonce, rnd, sizeof rnd);
        }
        device_make(j->env, j->k->kind, j->res.acct.id, j->nonce, j->res.device_token);
        limiter(j, "ok", on_settled);
        return;
    }
    if (j->res.rc == DK_EAUTH || j->res.rc == DK_EFORBIDDEN) {
        const dom_login_env *e = j->env;
        j->res.captcha_required = (e->captcha_acct && j->n_acct >= e->captcha_acct) ||
                                  (e->captcha_ip && j->n_ip >= e->captcha_ip);
        limiter(j, "fail", on_settled);
        return;
    }
    /* not judged: take the attempt back */
    DK_WARN("login", "backend failed code=%s err=\"%s\"", dk_err_name(j->res.rc), j->res.err.msg);
    if (dk_err_http_status(j->res.rc) < 500) j->res.rc = DK_EIO;
    j->res.err = (dk_error){.code = j->res.rc};
    snprintf(j->res.err.msg, sizeof j->res.err.msg, "登录服务暂时不可用，请稍后重试");
    limiter(j, "undo", on_settled);
}

/* ---- (3) on a hash thread: the password, the identity step, the expiry, the status rule
 * (CPU only: the hash pool is what bounds logins per second at 09:00) */

/* Equal strings, in a time that depends only on their lengths. */
static int same(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && sodium_memcmp(a, b, n) == 0;
}

/* The identity step of a login with the initial password (the password itself is checked
 * by the caller). The same work whether the account exists or not: a physician's proof is
 * compared with what is on file (nothing on file: never equal), an institution's or an
 * authority account's code is verified against its hash or the dummy hash. */
static int proof_ok(login_job *j)
{
    const dom_account *a = &j->res.acct;
    if (j->k->kind == DOM_KIND_PHYSICIAN) {
        char idn[40];
        size_t n = act_normalize(j->id_number, idn, sizeof idn); /* a typed x is an X */
        int id_ok = n > 0 && same(idn, a->id_number);
        int name_ok = same(j->name, a->name);
        return j->found && id_ok && name_ok;
    }
    char code[40];
    size_t n = act_normalize(j->act_code, code, sizeof code);
    const char *h = j->found && a->act_hash[0] ? a->act_hash : j->env->dummy_hash;
    int ok = dk_password_verify(h, code, n) == 0;
    sodium_memzero(code, sizeof code);
    return ok && j->found && a->act_hash[0];
}

static void verify_work(void *ctx, void *arg)
{
    (void)ctx; /* argon2id only: this thread never waits on MariaDB */
    login_job *j = arg;
    dom_login_result *res = &j->res;
    /* an unknown account costs what a wrong password costs */
    int pw_ok = dk_password_verify(j->found ? res->acct.hash : j->env->dummy_hash, j->password,
                                   j->pwlen) == 0 &&
                j->found;
    sodium_memzero(j->password, sizeof j->password);
    int id_ok = 1;
    if (j->initial) {
        id_ok = proof_ok(j) && res->acct.must_change;
        j->expired = j->env->initial_ttl_s > 0 && res->acct.initial_age_s > j->env->initial_ttl_s;
    }
    j->ok = pw_ok && id_ok;
    j->reason = !j->found           ? "unknown_account"
                : !pw_ok            ? "wrong_password"
                : !id_ok            ? "identity_wrong"
                : j->expired        ? "initial_expired"
                : !res->acct.usable ? "disabled"
                                    : NULL;
}

/* ---- (3b) on a database thread: the durable counter and the audit row, one transaction */

static void record_work(void *ctx, void *arg)
{
    login_job *j = arg;
    dom_login_result *res = &j->res;
    MYSQL *db = dk_dbconn_get(ctx, &res->err);
    if (!db) {
        res->rc = res->err.code ? res->err.code : DK_EIO;
        return;
    }
    int rc = dk_mysql_begin(db, &res->err);
    if (!rc && j->found) {
        char sql[200];
        dk_param q[] = {DK_PINT(res->acct.id)};
        snprintf(sql, sizeof sql,
                 !j->reason ? "UPDATE %s SET failed_logins = 0, last_login_at = NOW(3) WHERE id = ?"
                            : "UPDATE %s SET failed_logins = LEAST(failed_logins + 1, 65535), "
                              "last_failed_at = NOW(3) WHERE id = ?",
                 j->k->table);
        rc = dk_mysql_exec(db, sql, q, 1, NULL, NULL, &res->err);
    }
    if (!rc) rc = audit(j, db, !j->reason, j->reason, &res->err);
    if (!rc) rc = dk_mysql_commit(db, &res->err);
    if (rc) {
        dk_mysql_rollback(db);
        res->rc = rc;
        if (rc == DK_EIO) dk_dbconn_drop(ctx);
        return;
    }
    if (!j->ok && j->initial) /* one message, whichever part was wrong */
        res->rc = dk_error_set(&res->err, DK_EAUTH, "%s",
                               j->k->kind == DOM_KIND_PHYSICIAN
                                   ? "账号、初始密码或身份信息（证件号码、姓名）不正确"
                                   : "账号、初始密码或激活码不正确");
    else if (!j->ok)
        res->rc = dk_error_set(&res->err, DK_EAUTH, "账号或密码错误");
    else if (j->expired)
        res->rc = dk_error_set(&res->err, DK_EFORBIDDEN, "%s",
                               j->k->kind == DOM_KIND_PHYSICIAN
                                   ? "初始密码已过期，请联系所在医疗卫生机构重置密码"
                                   : "初始密码已过期，请联系上级部门重置密码");
    else if (!res->acct.usable)
        res->rc = dk_error_set(&res->err, DK_EFORBIDDEN, "%s", j->k->disabled_msg);
}

/* Back on the loop after the hash: the record goes to the database pool. A full pool
 * leaves the attempt unjudged (taken back, 503), as a full hash pool does. */
static void verified(void *arg)
{
    login_job *j = arg;
    if (!dk_workq_submit(j->env->db, j->rq->loop->mailbox, record_work, verify_done, j)) return;
    j->res.rc = DK_EBUSY;
    j->res.err = (dk_error){.code = DK_EBUSY,
                            .retry_after = dk_workq_retry_after(j->env->db, RETRY_MAX_S)};
    snprintf(j->res.err.msg, sizeof j->res.err.msg, "登录人数较多，正在排队，请稍候自动重试");
    limiter(j, "undo", on_settled);
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
    int shape = r && r->type == REDIS_REPLY_ARRAY && r->elements == 4;
    for (size_t i = 0; shape && i < 4; i++)
        shape = r->element[i]->type == REDIS_REPLY_INTEGER;
    if (!shape) {
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
        j->added = r->element[3]->integer;
        if (dk_workq_submit(env->hash, rq->loop->mailbox, verify_work, verified, j)) {
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
        snprintf(j->member, sizeof j->member, DOM_LOGIN_KEY_ACCT "%c:%lld", j->k->kind,
                 j->res.acct.id);
    } else { /* keyed, so that the key does not give the name away */
        unsigned char h[16];
        char hex[33], both[80];
        snprintf(both, sizeof both, "%c:%s", j->k->kind, j->res.typed);
        crypto_generichash(h, sizeof h, (const unsigned char *)both, strlen(both), j->env->name_key,
                           sizeof j->env->name_key);
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        snprintf(j->member, sizeof j->member, DOM_LOGIN_KEY_ACCT "u:%s", hex);
    }
    /* A valid device token of this account: the attempt spends that device's budget, not
     * the account's and not the address's, so an attack on either leaves the owner in. */
    j->device = j->found && j->device_token[0] &&
                device_check(j->env, j->device_token, j->k->kind, j->res.acct.id, j->nonce);
    if (j->device) {
        snprintf(j->k_acct, sizeof j->k_acct, "%s" DOM_LOGIN_KEY_DEVICE "%s", j->member, j->nonce);
        snprintf(j->k_ip, sizeof j->k_ip, DOM_LOGIN_KEY_IP "dev:%s", j->nonce);
    } else {
        snprintf(j->k_acct, sizeof j->k_acct, "%s", j->member);
        snprintf(j->k_ip, sizeof j->k_ip, DOM_LOGIN_KEY_IP "%s", j->ip);
    }
    snprintf(j->k_init, sizeof j->k_init, DOM_LOGIN_KEY_INITIAL "%s", j->ip);
    /* The initial password without a proof: ask for the identity step. This depends on
     * what was typed only, never on the account, and nothing is checked or counted. */
    if (j->initial && !j->proof) {
        j->res.rc = dk_error_set(&j->res.err, DK_EINVAL, "%s",
                                 j->k->kind == DOM_KIND_PHYSICIAN
                                     ? "首次登录（或密码重置后）请验证身份：填写证件号码和姓名"
                                     : "首次登录（或密码重置后）请填写上级部门提供的激活码");
        j->res.activation_required = 1;
        refuse(j, "activation_required");
        return;
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
        fail(j, DK_EINVAL, 0, "%s", "type 应为 institution、reviewer、authority 或 physician");
        return;
    }
    size_t pwlen = req->password ? strlen(req->password) : 0;
    if (!req->account || strlen(req->account) >= sizeof j->res.typed || pwlen > DK_PASSWORD_MAX) {
        fail(j, DK_EINVAL, 0, "%s", "账号或密码过长");
        return;
    }
#define FITS(f, dst) (!(f) || strlen(f) < sizeof(dst))
    if (!FITS(req->id_number, j->id_number) || !FITS(req->name, j->name) ||
        !FITS(req->activation_code, j->act_code) || !FITS(req->device_token, j->device_token)) {
        fail(j, DK_EINVAL, 0, "%s", "身份信息、激活码或设备凭证过长");
        return;
    }
#undef FITS
    copy(j->res.typed, sizeof j->res.typed, req->account);
    memcpy(j->password, req->password, pwlen);
    j->pwlen = pwlen;
    j->initial = pwlen == strlen(DOM_INITIAL_PASSWORD) &&
                 sodium_memcmp(req->password, DOM_INITIAL_PASSWORD, pwlen) == 0;
    copy(j->id_number, sizeof j->id_number, req->id_number);
    copy(j->name, sizeof j->name, req->name);
    copy(j->act_code, sizeof j->act_code, req->activation_code);
    copy(j->device_token, sizeof j->device_token, req->device_token);
    j->proof = req->kind == DOM_KIND_PHYSICIAN ? j->id_number[0] && j->name[0] : !!j->act_code[0];
    copy(j->captcha_answer, sizeof j->captcha_answer, req->captcha_answer);
    dom_login_captcha_key(j->k_captcha, req->captcha_id);
    copy(j->ip, sizeof j->ip, rq->peer);
    if (dk_workq_submit(env->db, rq->loop->mailbox, lookup_work, lookup_done, j))
        fail_busy(j, env->db);
}
