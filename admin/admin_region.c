/* admin_region.c - what an authority manages below itself (seeds 000, 002: 市卫生局创建 …,
 * 联系隶属卫生行政机构): the authority units of its region (a province opens cities, a city
 * counties), their accounts (create, edit, disable, enable, reset to 666666 with a one-time
 * activation code), and the institutions of its area (edit, disable, enable, create in bulk
 * from a CSV file). Accounts and units are managed only strictly below the actor's own level
 * (a city cannot touch its own or the province's accounts: 403); disabling and resetting revoke
 * the account's tokens (domain/dom_token.h) in the same transaction. Every change is audited.
 * Runs on the database threads (the bulk import on the hash pool: activation codes). */
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"

#define REGION_IMPORT_MAX_ROWS 200 /* each row hashes an activation code (argon2id) */

/* ---- authority units ------------------------------------------------------------------------ */

/* The unit id strictly below the actor (403 for itself or outside, 404 unknown). */
static int unit_below(admin_job *j, MYSQL *db, long long id, char level[16], char path[256])
{
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(id)};
    int rc = dk_mysql_exec(db, "SELECT admin_level, path FROM authority WHERE id = ?", p, 1, &res,
                           NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row) snprintf(level, 16, "%s", row[0]), snprintf(path, 256, "%s", row[1]);
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这个卫生行政部门");
    if (!dom_path_covers(j->actor.path, path) || !strcmp(path, j->actor.path))
        return dk_error_set(&j->err, DK_EFORBIDDEN,
                            "只能管理本部门下级（%s）的卫生行政部门及其账号",
                            !strcmp(j->actor.level, "province") ? "市级、县级" : "县级");
    return 0;
}

static int contact_fields(admin_job *j, const char **name, const char **cn, const char **cp,
                          int name_required)
{
    int rc;
    if ((rc = admin_cme_text(j, "name", "部门名称", 64, name_required, name)) ||
        (rc = admin_cme_text(j, "contact_name", "联系人", 64, 0, cn)) ||
        (rc = admin_cme_text(j, "contact_phone", "联系电话", 32, 0, cp)))
        return rc;
    return 0;
}

/* POST /authority/authorities {parent_id?, code, name, contact_name?, contact_phone?}: a
 * city under a province, a county under a city */
int admin_region_unit_create(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"parent_id",    "code",          "name",
                                       "contact_name", "contact_phone", NULL};
    const char *code, *name, *cn, *cp;
    long long parent;
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_int_opt(j->body, "parent_id", 1, 1LL << 53, j->actor.authority_id, &parent,
                              &j->err)) ||
        (rc = admin_cme_text(j, "code", "行政区划代码", 6, 1, &code)) ||
        (rc = contact_fields(j, &name, &cn, &cp, 1)))
        return rc;
    if (strlen(code) != 6 || strspn(code, "0123456789") != 6)
        return dk_error_set(&j->err, DK_EINVAL, "行政区划代码应为 6 位数字");
    char plevel[16] = "", ppath[256] = "";
    MYSQL_RES *res;
    dk_param pp[] = {DK_PINT(parent)};
    if ((rc = dk_mysql_begin(db, &j->err)) ||
        (rc = dk_mysql_exec(db, "SELECT admin_level, path FROM authority WHERE id = ? FOR UPDATE",
                            pp, 1, &res, NULL, &j->err)))
        return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row)
        snprintf(plevel, sizeof plevel, "%s", row[0]), snprintf(ppath, sizeof ppath, "%s", row[1]);
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_EINVAL, "没有这个上级卫生行政部门");
    if (!dom_path_covers(j->actor.path, ppath))
        return dk_error_set(&j->err, DK_EFORBIDDEN, "只能在本部门辖区内开设下级部门");
    const char *level = !strcmp(plevel, "province") ? "city"
                        : !strcmp(plevel, "city")   ? "county"
                                                    : NULL;
    if (!level)
        return dk_error_set(&j->err, DK_ECONFLICT, "县级卫生行政部门之下不能再开设下级部门");
    dk_param p[] = {DK_PINT(parent),
                    DK_PSTR(level),
                    DK_PSTR(code),
                    DK_PSTR(name),
                    cn ? DK_PSTR(cn) : DK_PNULL,
                    cp ? DK_PSTR(cp) : DK_PNULL};
    rc = admin_sql_exec(db,
                        "INSERT INTO authority (parent_id, admin_level, code, name, contact_name, "
                        "contact_phone) VALUES (?, ?, ?, ?, ?, ?)",
                        p, 6, NULL, &j->err);
    if (rc == DK_ECONFLICT)
        return dk_error_set(&j->err, DK_ECONFLICT, "行政区划代码 %s 已存在", code);
    if (rc) return rc;
    long long id = (long long)mysql_insert_id(db);
    char path[256];
    snprintf(path, sizeof path, "%s%lld/", ppath, id);
    dk_param u[] = {DK_PSTR(path), DK_PINT(id)};
    json_t *d = json_pack("{s:s,s:s,s:s,s:I}", "code", code, "name", name, "admin_level", level,
                          "parent_id", (json_int_t)parent);
    if ((rc = admin_sql_exec(db, "UPDATE authority SET path = ? WHERE id = ?", u, 2, NULL,
                             &j->err)) ||
        (rc = admin_audit(db, j, 0, "create_authority", "authority", id, NULL, NULL, NULL, NULL, d,
                          &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err))) {
        json_decref(d);
        return rc;
    }
    json_object_set_new(d, "id", json_integer(id));
    j->out = d;
    j->status = 201;
    return 0;
}

/* PUT /authority/authorities/{id} {name?, contact_name?, contact_phone?} */
int admin_region_unit_update(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"name", "contact_name", "contact_phone", NULL};
    long long id = admin_param_id(j, 0);
    const char *name, *cn, *cp;
    char level[16], path[256];
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = contact_fields(j, &name, &cn, &cp, 0)) || (rc = unit_below(j, db, id, level, path)))
        return rc;
    if (!name && !cn && !cp) return dk_error_set(&j->err, DK_EINVAL, "没有要修改的字段");
    dk_param p[] = {name ? DK_PSTR(name) : DK_PNULL, cn ? DK_PSTR(cn) : DK_PNULL,
                    cp ? DK_PSTR(cp) : DK_PNULL, DK_PINT(id)};
    /* the change and its audit row commit together */
    if ((rc = dk_mysql_begin(db, &j->err)) ||
        (rc = admin_sql_exec(db,
                             "UPDATE authority SET name = IFNULL(?, name), contact_name = "
                             "IFNULL(?, contact_name), contact_phone = IFNULL(?, contact_phone) "
                             "WHERE id = ?",
                             p, 4, NULL, &j->err)) ||
        (rc = admin_audit(db, j, 0, "update_authority", "authority", id, NULL, NULL, NULL, NULL,
                          j->body, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    dk_param q[] = {DK_PINT(id)};
    return admin_sql_row(db,
                         "SELECT id, parent_id, admin_level, code, name, contact_name, "
                         "contact_phone FROM authority WHERE id = ?",
                         q, 1, 0, NULL, &j->out, &j->err);
}

/* ---- authority accounts ---------------------------------------------------------------------- */

#define ACCOUNT_COLS                                                                               \
    "acc.id, acc.authority_id, au.name AS authority_name, au.admin_level, au.code AS "             \
    "authority_code, acc.username, acc.display_name, acc.enabled, acc.must_change_password, "      \
    "acc.must_change_password = 0 AS activated, acc.last_login_at, acc.created_at"

int admin_region_account_list(admin_job *j, MYSQL *db)
{
    admin_sqlb b;
    admin_sqlb_init(&b, "FROM authority_account acc JOIN authority au ON au.id = acc.authority_id "
                        "WHERE au.path LIKE CONCAT(?, '%') AND au.path <> ?");
    admin_sqlb_param(&b, DK_PSTR(j->actor.path));
    admin_sqlb_param(&b, DK_PSTR(j->actor.path));
    long long auth = 0, enabled = -1;
    int rc;
    if ((rc = admin_q_int(j, "authority_id", 1, 1LL << 53, 0, &auth)) ||
        (rc = admin_q_int(j, "enabled", 0, 1, -1, &enabled)))
        goto out;
    if (auth) {
        admin_sqlb_cat(&b, " AND acc.authority_id = ?");
        admin_sqlb_param(&b, DK_PINT(auth));
    }
    if (enabled >= 0) {
        admin_sqlb_cat(&b, " AND acc.enabled = ?");
        admin_sqlb_param(&b, DK_PINT(enabled));
    }
    char like[2 * 64 + 3];
    const char *q = admin_q(j, "q");
    if (q) {
        if ((rc = admin_like_any(j, "用户名或姓名", q, 64, like, sizeof like))) goto out;
        admin_sqlb_cat(&b, " AND (acc.username LIKE ? OR acc.display_name LIKE ?)");
        admin_sqlb_param(&b, DK_PSTR(like));
        admin_sqlb_param(&b, DK_PSTR(like));
    }
    rc = admin_list(j, db, ACCOUNT_COLS, &b, "au.path, acc.username", 0);
out:
    admin_sqlb_free(&b);
    return rc;
}

/* The account id of a unit strictly below the actor, locked. */
static int account_below(admin_job *j, MYSQL *db, long long id, int *enabled)
{
    long long auth = 0;
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(id)};
    int rc = dk_mysql_exec(db,
                           "SELECT authority_id, enabled FROM authority_account WHERE id = ? "
                           "FOR UPDATE",
                           p, 1, &res, NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row) auth = strtoll(row[0], NULL, 10), *enabled = atoi(row[1]);
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这个账号");
    char level[16], path[256];
    return unit_below(j, db, auth, level, path);
}

static int username_ok(const char *u)
{
    size_t n = strlen(u);
    return n >= 3 && n <= 32 &&
           strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

/* POST /authority/accounts {authority_id, username, display_name} */
int admin_region_account_create(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"authority_id", "username", "display_name", NULL};
    long long auth;
    const char *user, *display;
    char level[16], path[256];
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_int(j->body, "authority_id", 1, 1LL << 53, &auth, &j->err)) ||
        (rc = admin_cme_text(j, "username", "用户名", 32, 1, &user)) ||
        (rc = admin_cme_text(j, "display_name", "姓名", 64, 1, &display)))
        return rc;
    if (!username_ok(user))
        return dk_error_set(&j->err, DK_EINVAL, "用户名应为 3–32 位字母、数字或 - _ .");
    if ((rc = unit_below(j, db, auth, level, path))) return rc;
    char act_code[DOM_ACTIVATION_MAX], act_hash[DK_HASH_MAX];
    if ((rc = dom_activation_new(&j->srv->auth, act_code, act_hash, &j->err)) ||
        (rc = dk_mysql_begin(db, &j->err)))
        return rc;
    dk_param p[] = {DK_PINT(auth),     DK_PSTR(user),
                    DK_PSTR(display),  DK_PSTR(j->srv->initial_hash),
                    DK_PSTR(act_hash), DK_PINT(j->actor.id)};
    rc = admin_sql_exec(db,
                        "INSERT INTO authority_account (authority_id, username, display_name, "
                        "password_hash, must_change_password, activation_hash, created_by) "
                        "VALUES (?, ?, ?, ?, 1, ?, ?)",
                        p, 6, NULL, &j->err);
    if (rc == DK_ECONFLICT)
        return dk_error_set(&j->err, DK_ECONFLICT, "用户名「%s」已被使用", user);
    if (rc) return rc;
    long long id = (long long)mysql_insert_id(db);
    json_t *d = json_pack("{s:s,s:s,s:I}", "username", user, "display_name", display,
                          "authority_id", (json_int_t)auth);
    rc = admin_audit(db, j, 0, "create_authority_account", "authority_account", id, NULL, NULL,
                     NULL, NULL, d, &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    j->status = 201;
    /* code: the login, so that pages and tests keep the activation code under it */
    j->out = json_pack("{s:I,s:s,s:s,s:s,s:s,s:b}", "id", (json_int_t)id, "username", user, "code",
                       user, "initial_password", ADMIN_INITIAL_PASSWORD, "activation_code",
                       act_code, "must_change_password", 1);
    return 0;
}

/* PUT /authority/accounts/{id} {display_name} */
int admin_region_account_update(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"display_name", NULL};
    long long id = admin_param_id(j, 0);
    const char *display;
    int enabled, rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = admin_cme_text(j, "display_name", "姓名", 64, 1, &display)) ||
        (rc = dk_mysql_begin(db, &j->err)) || (rc = account_below(j, db, id, &enabled)))
        return rc;
    dk_param p[] = {DK_PSTR(display), DK_PINT(id)};
    if ((rc = admin_sql_exec(db, "UPDATE authority_account SET display_name = ? WHERE id = ?", p, 2,
                             NULL, &j->err)) ||
        (rc = admin_audit(db, j, 0, "update_authority_account", "authority_account", id, NULL, NULL,
                          NULL, NULL, j->body, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    dk_param q[] = {DK_PINT(id)};
    return admin_sql_row(db,
                         "SELECT " ACCOUNT_COLS " FROM authority_account acc JOIN authority au ON "
                         "au.id = acc.authority_id WHERE acc.id = ?",
                         q, 1, 0, NULL, &j->out, &j->err);
}

/* enable / disable: 409 naming the current state when it is already so; disabling revokes */
static int account_set_enabled(admin_job *j, MYSQL *db, int on)
{
    long long id = admin_param_id(j, 0);
    int enabled, rc;
    if ((rc = dk_mysql_begin(db, &j->err)) || (rc = account_below(j, db, id, &enabled))) return rc;
    if (enabled == on)
        return dk_error_set(&j->err, DK_ECONFLICT, "该账号当前已是「%s」状态",
                            on ? "启用" : "停用");
    dk_param p[] = {DK_PINT(on), DK_PINT(id)};
    if ((rc = admin_sql_exec(db, "UPDATE authority_account SET enabled = ? WHERE id = ?", p, 2,
                             NULL, &j->err)) ||
        (!on &&
         (rc = dom_token_revoke(db, &j->srv->tokens, DOM_KIND_AUTHORITY, id, NULL, &j->err))) ||
        (rc = admin_audit(db, j, 0, on ? "enable_account" : "disable_account", "authority_account",
                          id, NULL, on ? "停用" : "启用", on ? "启用" : "停用", NULL, NULL,
                          &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->out = json_pack("{s:I,s:b}", "id", (json_int_t)id, "enabled", on);
    return 0;
}

int admin_region_account_enable(admin_job *j, MYSQL *db)
{
    return account_set_enabled(j, db, 1);
}
int admin_region_account_disable(admin_job *j, MYSQL *db)
{
    return account_set_enabled(j, db, 0);
}

/* POST /authority/accounts/{id}/reset-password: 666666, must change, a new activation code */
int admin_region_account_reset(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    int enabled, rc;
    char act_code[DOM_ACTIVATION_MAX], act_hash[DK_HASH_MAX], user[72] = "";
    if ((rc = dom_activation_new(&j->srv->auth, act_code, act_hash, &j->err)) ||
        (rc = dk_mysql_begin(db, &j->err)) || (rc = account_below(j, db, id, &enabled)))
        return rc;
    dk_param p[] = {DK_PSTR(j->srv->initial_hash), DK_PSTR(act_hash), DK_PINT(id)};
    dk_param q[] = {DK_PINT(id)};
    if ((rc = admin_sql_exec(db,
                             "UPDATE authority_account SET password_hash = ?, "
                             "must_change_password = 1, failed_logins = 0, locked_until = NULL, "
                             "password_changed_at = NOW(3), activation_hash = ? WHERE id = ?",
                             p, 3, NULL, &j->err)) ||
        (rc = admin_sql_str(db, "SELECT username FROM authority_account WHERE id = ?", q, 1, user,
                            sizeof user, &j->err)) ||
        (rc = admin_audit(db, j, 0, "reset_password", "authority_account", id, NULL, NULL, NULL,
                          NULL, NULL, &j->err)) ||
        (rc = dom_token_revoke(db, &j->srv->tokens, DOM_KIND_AUTHORITY, id, NULL, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->out = json_pack("{s:I,s:s,s:s,s:s,s:s,s:b}", "id", (json_int_t)id, "username", user, "code",
                       user, "initial_password", ADMIN_INITIAL_PASSWORD, "activation_code",
                       act_code, "must_change_password", 1);
    return 0;
}

/* ---- institutions of the area ------------------------------------------------------------------
 */

/* PUT /authority/institutions/{id}: the fields the authority keeps (name, category, level,
 * ownership, contacts); the institution's own page keeps the rest */
int admin_region_inst_update(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"name",         "inst_type",     "inst_level", "ownership",
                                       "contact_name", "contact_phone", NULL};
    static const struct {
        const char *key, *label;
        size_t max;
    } f[] = {{"name", "机构名称", 128},      {"inst_type", "机构类别", 32},
             {"inst_level", "机构级别", 16}, {"ownership", "经营性质", 16},
             {"contact_name", "联系人", 64}, {"contact_phone", "联系电话", 32}};
    long long id = admin_param_id(j, 0);
    int rc, n = 0;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err))) return rc;
    admin_sqlb b;
    admin_sqlb_init(&b, "UPDATE institution SET ");
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        const char *v;
        if ((rc = admin_cme_text(j, f[i].key, f[i].label, f[i].max, 0, &v))) goto out;
        if (!json_object_get(j->body, f[i].key)) continue;
        if (!v && !strcmp(f[i].key, "name")) {
            rc = dk_error_set(&j->err, DK_EINVAL, "机构名称不能为空");
            goto out;
        }
        admin_sqlb_cat(&b, n++ ? ", " : "");
        admin_sqlb_cat(&b, f[i].key);
        admin_sqlb_cat(&b, " = ?");
        admin_sqlb_param(&b, v ? DK_PSTR(v) : DK_PNULL);
    }
    if (!n) {
        rc = dk_error_set(&j->err, DK_EINVAL, "没有要修改的字段");
        goto out;
    }
    admin_sqlb_cat(&b, " WHERE id = ?");
    admin_sqlb_param(&b, DK_PINT(id));
    dk_param q[] = {DK_PINT(id)};
    if ((rc = dk_mysql_begin(db, &j->err)) || (rc = admin_inst_in_region(j, db, id, 1)) ||
        (rc = admin_sql_exec(db, b.sql, b.p, b.np, NULL, &j->err)) ||
        (rc = admin_audit(db, j, 0, "update_institution", "institution", id, NULL, NULL, NULL, NULL,
                          j->body, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)) ||
        (rc =
             admin_sql_row(db,
                           "SELECT id, code, name, authority_id, inst_type, inst_level, ownership, "
                           "contact_name, contact_phone, enabled FROM institution WHERE id = ?",
                           q, 1, 0, NULL, &j->out, &j->err)))
        goto out;
out:
    admin_sqlb_free(&b);
    return rc;
}

static int inst_set_enabled(admin_job *j, MYSQL *db, int on)
{
    long long id = admin_param_id(j, 0), enabled = 0;
    dk_param p[] = {DK_PINT(id)};
    int rc;
    if ((rc = dk_mysql_begin(db, &j->err)) || (rc = admin_inst_in_region(j, db, id, 1)) ||
        (rc = admin_sql_ll(db, "SELECT enabled FROM institution WHERE id = ?", p, 1, &enabled,
                           &j->err)))
        return rc;
    if (enabled == on)
        return dk_error_set(&j->err, DK_ECONFLICT, "该机构账号当前已是「%s」状态",
                            on ? "启用" : "停用");
    dk_param u[] = {DK_PINT(on), DK_PINT(id)};
    if ((rc = admin_sql_exec(db, "UPDATE institution SET enabled = ? WHERE id = ?", u, 2, NULL,
                             &j->err)) ||
        (!on &&
         (rc = dom_token_revoke(db, &j->srv->tokens, DOM_KIND_INSTITUTION, id, NULL, &j->err))) ||
        (rc = admin_audit(db, j, 0, on ? "enable_institution" : "disable_institution",
                          "institution", id, NULL, on ? "停用" : "启用", on ? "启用" : "停用", NULL,
                          NULL, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->out = json_pack("{s:I,s:b}", "id", (json_int_t)id, "enabled", on);
    return 0;
}

int admin_region_inst_enable(admin_job *j, MYSQL *db)
{
    return inst_set_enabled(j, db, 1);
}
int admin_region_inst_disable(admin_job *j, MYSQL *db)
{
    return inst_set_enabled(j, db, 0);
}

/* ---- 批量开设机构账号 from CSV ----------------------------------------------------------------
 */

static const admin_import_col inst_cols[] = {
    {"机构名称", 1}, {"行政区划代码", 0}, {"机构类别", 0}, {"机构级别", 0},
    {"经营性质", 0}, {"联系人", 0},       {"联系电话", 0}, {NULL, 0}};

typedef struct inst_import {
    json_t *created; /* [{row, id, code, name, activation_code}] */
} inst_import;

static int inst_row(admin_job *j, MYSQL *db, void *ctx, int line, const char *const *v, int skip,
                    char *msg, size_t msgsz)
{
    inst_import *im = ctx;
    static const size_t max[] = {128, 6, 32, 16, 16, 64, 32};
    static const char *const labels[] = {"机构名称", "行政区划代码", "机构类别", "机构级别",
                                         "经营性质", "联系人",       "联系电话"};
    for (int c = 0; c < 7; c++) {
        dk_error e = {0};
        if (v[c] && dk_text_max(&e, labels[c], v[c], max[c]))
            return snprintf(msg, msgsz, "%s", e.msg), DK_EINVAL;
    }
    /* the authority: the code given (own or below), else the actor's own */
    char acode[8] = "", apath[256] = "";
    long long auth = 0;
    MYSQL_RES *res;
    dk_param pa[] = {v[1] ? DK_PSTR(v[1]) : DK_PSTR(j->actor.authority_code)};
    int rc = dk_mysql_exec(db, "SELECT id, code, path FROM authority WHERE code = ? FOR UPDATE", pa,
                           1, &res, NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row)
        auth = strtoll(row[0], NULL, 10), snprintf(acode, sizeof acode, "%s", row[1]),
        snprintf(apath, sizeof apath, "%s", row[2]);
    mysql_free_result(res);
    if (!row)
        return snprintf(msg, msgsz, "没有行政区划代码为「%s」的卫生行政部门", v[1]), DK_EINVAL;
    if (!dom_path_covers(j->actor.path, apath))
        return snprintf(msg, msgsz, "行政区划代码「%s」不在本部门辖区内", acode), DK_EFORBIDDEN;
    long long dup = 0;
    dk_param pd[] = {DK_PSTR(v[0]), DK_PINT(auth)};
    if ((rc = admin_sql_ll(db,
                           "SELECT COUNT(*) FROM institution WHERE name = ? AND authority_id = ?",
                           pd, 2, &dup, &j->err)))
        return rc;
    if (dup) return snprintf(msg, msgsz, "该地区已有同名机构「%.*s」",
                        dk_utf8_prefix(v[0], 40), v[0]), DK_ECONFLICT;
    if (skip) return 0;
    const admin_inst_fields f = {v[0], v[2], v[3], v[4], v[5], v[6]};
    char code[48], act_code[DOM_ACTIVATION_MAX];
    long long id;
    if ((rc = admin_inst_open(j, db, auth, acode, &f, "批量导入", &id, code, act_code))) return rc;
    json_array_append_new(im->created,
                          json_pack("{s:i,s:I,s:s,s:s,s:s}", "row", line, "id", (json_int_t)id,
                                    "code", code, "name", v[0], "activation_code", act_code));
    return 0;
}

/* POST /authority/institutions/import (CSV): all or nothing; the answer shows each new
 * account's code and one-time activation code (only their hashes are kept) */
int admin_region_inst_import(admin_job *j, MYSQL *db)
{
    inst_import im = {.created = json_array()};
    int rows = 0;
    int rc = admin_import_csv(j, db, inst_cols, REGION_IMPORT_MAX_ROWS, inst_row, &im, &rows);
    if (!rc) {
        json_t *d = json_pack("{s:i}", "imported", rows);
        rc = admin_audit(db, j, 0, "import_institutions", "authority", j->actor.authority_id, NULL,
                         NULL, NULL, NULL, d, &j->err);
        json_decref(d);
    }
    if (!rc) rc = dk_mysql_commit(db, &j->err);
    if (rc) {
        json_decref(im.created);
        return rc;
    }
    j->status = 201;
    j->out = json_pack("{s:i,s:s,s:o}", "imported", rows, "initial_password",
                       ADMIN_INITIAL_PASSWORD, "created", im.created);
    return 0;
}
