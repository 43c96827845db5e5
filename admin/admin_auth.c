/* admin_auth.c - admind's HTTP glue of the accounts: POST /login (institutions by code,
 * authority accounts by user name, physicians by account or ID number), the captcha, the
 * password change, the actor behind a token, and scopes.
 *
 * The rules (lookups, the limiter and its keys, the same time for unknown accounts, the
 * status rule, the audit of every login, the password policy) are domain/dom_account's,
 * shared with examd. admind adds one step of its own, driven by the same counters: from
 * ADMIN_CAPTCHA_AFTER failures of the account (or a fifth of login_max_failures_ip of the
 * address) a login needs the answer of a captcha (GET /captcha). */
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"
#include "dk_clock.h"
#include "dom_account.h"

/* ---- roles and scope -------------------------------------------------------------------- */

int admin_load_actor(admin_job *j, MYSQL *db)
{
    admin_actor *a = &j->actor;
    memset(a, 0, sizeof *a);
    a->kind = j->claims.kind;
    a->id = j->claims.id;
    const char *sql = NULL;
    switch (a->kind) {
    case DOM_KIND_PHYSICIAN: /* the status rule of login holds for every later request too */
        sql =
            "SELECT p.name, p.account, p.institution_id, i.authority_id, au.path, au.code, '', 0, "
            "0, " DOM_PHYS_USABLE_SQL(
                "p") " "
                     "FROM physician p JOIN institution i ON i.id = p.institution_id "
                     "JOIN authority au ON au.id = i.authority_id WHERE p.id = ?";
        break;
    case DOM_KIND_INSTITUTION:
        sql =
            "SELECT i.name, i.code, i.id, i.authority_id, au.path, au.code, '', i.is_assessor, "
            "i.can_apply, i.enabled FROM institution i JOIN authority au ON au.id = i.authority_id "
            "WHERE i.id = ?";
        break;
    case DOM_KIND_AUTHORITY:
        sql = "SELECT acc.display_name, acc.username, 0, acc.authority_id, au.path, au.code, "
              "au.admin_level, 0, 0, acc.enabled, acc.account_kind FROM authority_account acc "
              "JOIN authority au ON au.id = acc.authority_id WHERE acc.id = ?";
        break;
    case DOM_KIND_REVIEWER: /* 信息审核员: acts as its institution, audited as itself */
        sql = "SELECT i.name, r.username, i.id, i.authority_id, au.path, au.code, '', "
              "i.is_assessor, i.can_apply, " DOM_REVIEWER_USABLE_SQL ", r.display_name "
              "FROM institution_reviewer r JOIN institution i ON i.id = r.institution_id "
              "JOIN authority au ON au.id = i.authority_id WHERE r.id = ?";
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
    int qbank = a->kind == DOM_KIND_AUTHORITY && row[10] && !strcmp(row[10], "qbank");
    if (a->kind == DOM_KIND_REVIEWER) {
        a->reviewer_id = a->id;
        snprintf(a->reviewer_name, sizeof a->reviewer_name, "%s", row[10]);
        a->kind = DOM_KIND_INSTITUTION;
        a->id = a->institution_id;
        a->can_apply = 0;
    }
    mysql_free_result(res);
    if (a->kind == DOM_KIND_PHYSICIAN) a->roles = ADMIN_R_PHYS;
    if (a->kind == DOM_KIND_INSTITUTION)
        a->roles = ADMIN_R_INST | (a->is_assessor ? ADMIN_R_ASSESSOR : 0);
    if (a->kind == DOM_KIND_AUTHORITY)
        a->roles = ADMIN_R_AUTH | (!strcmp(a->level, "province") ? ADMIN_R_PROVINCE : 0);
    if (a->kind == DOM_KIND_AUTHORITY && qbank) a->roles = ADMIN_R_QBANK; /* that role only */
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
    char svg[8192];
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

/* The glyphs of the captcha as strokes on a 10 x 16 grid, never as text: a question
 * written as <text> was read back by a regex. Each glyph is drawn as paths whose points are
 * scaled, rotated and jittered at random, over random curves, so the picture carries no
 * character and no two pictures of one question share their path data. */
typedef struct glyph {
    char ch;
    const char *strokes; /* "x,y x,y ...|x,y ..." */
} glyph;

static const glyph glyphs[] = {
    {'0', "2,0 8,0 10,3 10,13 8,16 2,16 0,13 0,3 2,0"},
    {'1', "2,3 6,0 6,16|2,16 10,16"},
    {'2', "0,3 3,0 8,0 10,3 10,6 0,16 10,16"},
    {'3', "0,1 9,0 10,4 5,7 10,10 10,14 8,16 0,15"},
    {'4', "8,16 8,0 0,11 10,11"},
    {'5', "10,0 1,0 0,7 7,6 10,9 10,13 7,16 0,15"},
    {'6', "9,0 3,2 0,8 0,13 3,16 8,16 10,13 10,10 7,7 3,7 0,10"},
    {'7', "0,0 10,0 4,16"},
    {'8', "5,7 1,5 1,2 4,0 7,0 9,2 9,5 5,7 0,10 0,14 3,16 7,16 10,14 10,10 5,7"},
    {'9', "10,6 7,9 3,9 0,6 0,3 3,0 7,0 10,3 10,9 7,16 1,16"},
    {'+', "5,3 5,13|0,8 10,8"},
    {'-', "0,8 10,8"},
    {'=', "0,5 10,5|0,11 10,11"},
    {'?', "0,3 3,0 7,0 10,3 10,6 5,9 5,12|5,15 5,16"},
};

static double jitter(double amp)
{
    return ((double)randombytes_uniform(2001) / 1000.0 - 1.0) * amp;
}

/* Appends the glyph of ch centred at (cx, cy) as one <path>. */
static size_t captcha_glyph(char *out, size_t cap, char ch, double cx, double cy)
{
    const glyph *g = NULL;
    for (size_t i = 0; i < sizeof glyphs / sizeof glyphs[0]; i++)
        if (glyphs[i].ch == ch) g = &glyphs[i];
    if (!g) return 0;
    double scale = 1.3 + jitter(0.2), ang = jitter(0.3), ca = cos(ang), sa = sin(ang);
    size_t n = (size_t)snprintf(out, cap,
                                "<path fill=\"none\" stroke=\"#333\" stroke-width=\"%.1f\" "
                                "stroke-linecap=\"round\" d=\"",
                                2.0 + jitter(0.4));
    int first = 1;
    for (const char *p = g->strokes; *p && n < cap;) {
        if (*p == '|') {
            first = 1;
            p++;
            continue;
        }
        char *end;
        double x = strtod(p, &end);
        if (*end != ',') break;
        double y = strtod(end + 1, &end);
        x = (x - 5) * scale + jitter(0.8);
        y = (y - 8) * scale + jitter(0.8);
        n += (size_t)snprintf(out + n, cap - n, "%s%.1f %.1f ", first ? "M" : "L",
                              cx + x * ca - y * sa, cy + x * sa + y * ca);
        first = 0;
        p = end;
        while (*p == ' ')
            p++;
    }
    if (n < cap) n += (size_t)snprintf(out + n, cap - n, "\"/>");
    return n < cap ? n : cap;
}

/* An arithmetic question (a + b or a - b, one digit each) drawn as stroked paths. */
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
    size_t cap = sizeof c->svg,
           n = (size_t)snprintf(c->svg, cap,
                                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" "
                                "height=\"40\"><rect width=\"120\" height=\"40\" "
                                "fill=\"#f3f3f3\"/>");
    for (int i = 0; i < 4 && n < cap; i++) /* curves across the glyphs */
        n += (size_t)snprintf(c->svg + n, cap - n,
                              "<path fill=\"none\" stroke=\"#999\" stroke-width=\"1.2\" "
                              "d=\"M%u %u Q%u %u %u %u\"/>",
                              randombytes_uniform(30), randombytes_uniform(40),
                              randombytes_uniform(120), randombytes_uniform(40),
                              90 + randombytes_uniform(30), randombytes_uniform(40));
    for (size_t i = 0; text[i] && n < cap; i++)
        n += captcha_glyph(c->svg + n, cap - n, text[i], 12 + (double)i * 22 + jitter(2),
                           20 + jitter(3));
    if (n < cap) snprintf(c->svg + n, cap - n, "</svg>");
}

void admin_captcha(dk_req *rq)
{
    captcha_state *c = dk_calloc(1, sizeof *c);
    rq->state = c;
    rq->state_free = free;
    captcha_make(c);
    char key[64];
    dom_login_captcha_key(key, c->id);
    const char *argv[] = {"SET", key, c->answer, "EX", "300"};
    dk_aredis_cmdargv(rq->loop->redis, 0, on_captcha_stored, rq, 5, argv, NULL);
}

/* ---- POST /api/v1/login ---------------------------------------------------------------------- */

/* Errors carry captcha_required, so that the page shows the captcha before the next try. */
static void login_done(dk_req *rq, const dom_login_result *r)
{
    if (r->rc) {
        int status = dk_err_http_status(r->rc);
        if (status >= 500) {
            dk_http_fail(rq, &r->err);
            return;
        }
        if (r->err.retry_after > 0) {
            char ra[16];
            snprintf(ra, sizeof ra, "%d", r->err.retry_after);
            evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Retry-After", ra);
        }
        dk_http_reply_json(rq, status,
                           json_pack("{s:{s:s,s:s,s:b,s:b}}", "error", "code", dk_err_name(r->rc),
                                     "message", r->err.msg, "captcha_required", r->captcha_required,
                                     "activation_required", r->activation_required));
        return;
    }
    admin_server *srv = admin_of(rq);
    dk_claims c = {.kind = r->acct.kind,
                   .id = r->acct.id,
                   .issued_ms = dk_clock_ms(),
                   .expires = dk_clock_ms() / 1000 + srv->auth.ttl_s,
                   .must_change = r->acct.must_change};
    char tok[DK_TOKEN_MAX];
    dk_token_make(&srv->auth, &c, tok);
    dk_http_reply_json(rq, 200,
                       json_pack("{s:s,s:I,s:b,s:s,s:{s:s,s:I,s:s,s:s}}", "token", tok,
                                 "expires_at", (json_int_t)c.expires * 1000, "must_change_password",
                                 r->acct.must_change, "device_token", r->device_token, "account",
                                 "type", dom_kind_name(c.kind), "id", (json_int_t)r->acct.id,
                                 "name", r->acct.name, "login", r->typed));
}

void admin_login(dk_req *rq)
{
    json_t *body;
    dk_error err = {0};
    const char *type, *account, *password, *cid = NULL, *cans = NULL;
    const char *idn = NULL, *name = NULL, *code = NULL, *dev = NULL;
    static const char *const keys[] = {"type",           "account",   "password", "captcha_id",
                                       "captcha_answer", "id_number", "name",     "activation_code",
                                       "device_token",   NULL};
    if (dk_http_body_json(rq, &body, &err) || dk_json_only_keys(body, keys, &err) ||
        dk_json_str(body, "type", 16, &type, &err) ||
        dk_json_str(body, "account", 64, &account, &err) ||
        dk_json_str(body, "password", DK_PASSWORD_MAX, &password, &err) ||
        dk_json_str_opt(body, "captcha_id", 32, &cid, &err) ||
        dk_json_str_opt(body, "captcha_answer", 8, &cans, &err) ||
        dk_json_str_opt(body, "id_number", 32, &idn, &err) ||
        dk_json_str_opt(body, "name", 64, &name, &err) ||
        dk_json_str_opt(body, "activation_code", 32, &code, &err) ||
        dk_json_str_opt(body, "device_token", DOM_DEVICE_TOKEN_MAX - 1, &dev, &err)) {
        json_decref(body);
        dk_http_fail(rq, &err);
        return;
    }
    char kind = dom_kind_of(type);
    if (!kind) {
        json_decref(body);
        dk_http_failf(rq, DK_EINVAL, "type 应为 institution、reviewer、authority 或 physician");
        return;
    }
    dom_login_req req = {.kind = kind,
                         .account = account,
                         .password = password,
                         .captcha_id = cid,
                         .captcha_answer = cans,
                         .id_number = idn,
                         .name = name,
                         .activation_code = code,
                         .device_token = dev};
    dom_login_start(rq, &admin_of(rq)->login, &req, login_done);
    json_decref(body);
}

/* ---- POST /api/v1/password ------------------------------------------------------------------- */

int admin_password(admin_job *j, MYSQL *db)
{
    const char *oldp, *newp;
    static const char *const keys[] = {"old_password", "new_password", NULL};
    int rc;
    long long va = 0;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_str(j->body, "old_password", DK_PASSWORD_MAX, &oldp, &j->err)) ||
        (rc = dk_json_str(j->body, "new_password", DK_PASSWORD_MAX + 1, &newp, &j->err)) ||
        (rc = dk_mysql_begin(db, &j->err)) ||
        (rc = dom_password_change(db, &j->srv->auth, j->claims.kind, j->claims.id, oldp, newp,
                                  dom_role_name(&j->actor, 0), j->ip, &j->err)) ||
        /* every earlier token ends with the change; the new one is issued at that time */
        (rc = dom_token_revoke(db, &j->srv->tokens, j->claims.kind, j->claims.id, &va, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    dk_claims c = {.kind = j->claims.kind,
                   .id = j->claims.id,
                   .issued_ms = va,
                   .expires = dk_clock_ms() / 1000 + j->srv->auth.ttl_s};
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
    } names[] = {{ADMIN_R_PHYS, "physician"},    {ADMIN_R_INST, "institution"},
                 {ADMIN_R_ASSESSOR, "assessor"}, {ADMIN_R_AUTH, "authority"},
                 {ADMIN_R_PROVINCE, "province"}, {ADMIN_R_QBANK, "qbank"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (a->roles & names[i].bit) json_array_append_new(roles, json_string(names[i].name));
    const char *type = dom_kind_name(a->kind);
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
                       "role_name", dom_role_name(a, 0), "must_change_password",
                       j->claims.must_change, "authority", auth, "cycle", cycle);
    if (a->kind == DOM_KIND_INSTITUTION) {
        json_object_set_new(j->out, "is_assessor", json_boolean(a->is_assessor));
        json_object_set_new(j->out, "can_apply", json_boolean(a->can_apply));
    }
    if (a->kind == DOM_KIND_AUTHORITY) json_object_set_new(j->out, "level", json_string(a->level));
    if (a->reviewer_id) { /* 信息审核员: the page shows the review menus only */
        json_object_set_new(j->out, "type", json_string(dom_kind_name(DOM_KIND_REVIEWER)));
        json_object_set_new(j->out, "id", json_integer(a->reviewer_id));
        json_object_set_new(j->out, "reviewer",
                            json_pack("{s:I,s:s,s:s}", "id", (json_int_t)a->reviewer_id, "name",
                                      a->reviewer_name, "login", a->login));
        json_object_set_new(
            j->out, "institution",
            json_pack("{s:I,s:s}", "id", (json_int_t)a->institution_id, "name", a->name));
        json_array_append_new(roles, json_string("reviewer"));
    }
    return 0;
}

/* ---- POST /api/v1/logout: every token of the account ends, on every node --------------------- */

int admin_logout(admin_job *j, MYSQL *db)
{
    int rc = dom_token_logout(db, &j->srv->tokens, j->claims.kind, j->claims.id,
                              dom_role_name(&j->actor, 0), j->ip, &j->err);
    if (!rc) j->out = json_pack("{s:b}", "logged_out", 1);
    return rc;
}
