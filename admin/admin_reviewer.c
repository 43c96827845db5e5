/* admin_reviewer.c - 信息审核员, an institution's reviewer sub-accounts (seed [000]: 分配、管理
 * 本机构信息审核员): the institution lists, creates, disables, enables and resets them. A
 * reviewer logs in with type "reviewer" (domain/dom_account.c, token kind 'r'), acts as its
 * institution on the review routes only (admin_server.c admin_reviewer_routes) and is
 * audited as itself (dom_flow.h dom_actor.reviewer_id).
 *
 * Not here: what a reviewer may do (the route runner) and the login (the domain). Database
 * threads; the activation code's argon2id runs on them too, as an institution's creation. */
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"

#define REVIEWER_MAX 50 /* reviewer accounts per institution */

#define REVIEWER_COLS                                                                              \
    "r.id, r.username, r.display_name, r.mobile, r.enabled, r.must_change_password, "              \
    "r.activation_hash IS NULL AS activated, r.last_login_at, r.created_at, r.updated_at"

/* Only the institution itself manages its reviewers (a reviewer never reaches here: the
 * route runner lets it use the review routes alone; this is the second lock). */
static int owner_only(admin_job *j)
{
    if (j->actor.kind != DOM_KIND_INSTITUTION || j->actor.reviewer_id)
        return dk_error_set(&j->err, DK_EFORBIDDEN, "信息审核员不能管理账号");
    return 0;
}

/* Locks the reviewer row of the actor's institution; DK_ENOTFOUND for another's. */
static int reviewer_lock(admin_job *j, MYSQL *db, long long id, int *enabled, char *user,
                         size_t usz)
{
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(id), DK_PINT(j->actor.institution_id)};
    int rc = dk_mysql_exec(db,
                           "SELECT enabled, username FROM institution_reviewer WHERE id = ? "
                           "AND institution_id = ? FOR UPDATE",
                           p, 2, &res, NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row) {
        *enabled = atoi(row[0]);
        snprintf(user, usz, "%s", row[1]);
    }
    mysql_free_result(res);
    return row ? 0 : dk_error_set(&j->err, DK_ENOTFOUND, "本机构没有这个信息审核员");
}

int admin_reviewer_list(admin_job *j, MYSQL *db)
{
    int rc = owner_only(j);
    if (rc) return rc;
    admin_sqlb b;
    admin_sqlb_init(&b, "FROM institution_reviewer r WHERE r.institution_id = ?");
    admin_sqlb_param(&b, DK_PINT(j->actor.institution_id));
    rc = admin_list(j, db, REVIEWER_COLS, &b, "r.id", 0);
    admin_sqlb_free(&b);
    return rc;
}

static int reviewer_fields(admin_job *j, const char **name, const char **mobile)
{
    static const char *const keys[] = {"display_name", "mobile", NULL};
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_str(j->body, "display_name", 128, name, &j->err)) ||
        (rc = dk_json_str_opt(j->body, "mobile", 20, mobile, &j->err)))
        return rc;
    if (!**name) return dk_error_set(&j->err, DK_EINVAL, "请填写审核员姓名");
    if ((rc = dk_text_max(&j->err, "审核员姓名", *name, 32))) return rc;
    for (const char *c = *mobile ? *mobile : ""; *c; c++)
        if ((*c < '0' || *c > '9') && *c != '-')
            return dk_error_set(&j->err, DK_EINVAL, "手机号码只能包含数字和 -");
    return 0;
}

/* POST /institution/reviewers {display_name, mobile?} -> 201 {id, username, initial_password,
 * activation_code} (the code is shown once; only its hash is kept) */
int admin_reviewer_create(admin_job *j, MYSQL *db)
{
    const char *name, *mobile = NULL;
    int rc;
    if ((rc = owner_only(j)) || (rc = reviewer_fields(j, &name, &mobile))) return rc;
    char act_code[DOM_ACTIVATION_MAX], act_hash[DK_HASH_MAX];
    if ((rc = dom_activation_new(&j->srv->auth, act_code, act_hash, &j->err)) ||
        (rc = dk_mysql_begin(db, &j->err)))
        return rc;
    /* the institution's row serialises creations: one sequence, one count */
    dk_param pi[] = {DK_PINT(j->actor.institution_id)};
    char code[32] = "";
    long long count = 0, max = 0;
    if ((rc = admin_sql_str(db, "SELECT code FROM institution WHERE id = ? FOR UPDATE", pi, 1, code,
                            sizeof code, &j->err)) ||
        (rc = admin_sql_ll(db, "SELECT COUNT(*) FROM institution_reviewer WHERE institution_id = ?",
                           pi, 1, &count, &j->err)) ||
        (rc = admin_sql_ll(db,
                           "SELECT IFNULL(MAX(CAST(SUBSTRING_INDEX(username, 'R', -1) AS "
                           "UNSIGNED)), 0) FROM institution_reviewer WHERE institution_id = ?",
                           pi, 1, &max, &j->err)))
        return rc;
    if (count >= REVIEWER_MAX)
        return dk_error_set(&j->err, DK_ECONFLICT,
                            "本机构的信息审核员已达上限（%d 个），请停用或重置已有账号",
                            REVIEWER_MAX);
    if (max >= 999) return dk_error_set(&j->err, DK_ECONFLICT, "本机构的审核员编号已用完");
    char user[64];
    snprintf(user, sizeof user, "%sR%03lld", code, max + 1);
    dk_param p[] = {DK_PINT(j->actor.institution_id),
                    DK_PSTR(user),
                    DK_PSTR(name),
                    mobile ? DK_PSTR(mobile) : DK_PNULL,
                    DK_PSTR(j->srv->initial_hash),
                    DK_PSTR(act_hash)};
    if ((rc = admin_sql_exec(db,
                             "INSERT INTO institution_reviewer (institution_id, username, "
                             "display_name, mobile, password_hash, must_change_password, "
                             "activation_hash) VALUES (?, ?, ?, ?, ?, 1, ?)",
                             p, 6, NULL, &j->err)))
        return rc;
    long long id = (long long)mysql_insert_id(db);
    json_t *d = json_pack("{s:s,s:s}", "username", user, "display_name", name);
    rc = admin_audit(db, j, 0, "create_reviewer", "institution_reviewer", id, NULL, NULL, NULL,
                     NULL, d, &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    j->status = 201;
    j->out = json_pack("{s:I,s:s,s:s,s:s,s:s,s:b}", "id", (json_int_t)id, "username", user,
                       "display_name", name, "initial_password", ADMIN_INITIAL_PASSWORD,
                       "activation_code", act_code, "must_change_password", 1);
    return 0;
}

/* enable / disable: a disabled reviewer's tokens end on every node (dom_token.h) */
static int reviewer_set_enabled(admin_job *j, MYSQL *db, int on)
{
    long long id = admin_param_id(j, 0);
    int rc, enabled = 0;
    char user[64] = "";
    if ((rc = owner_only(j)) || (rc = dk_mysql_begin(db, &j->err)) ||
        (rc = reviewer_lock(j, db, id, &enabled, user, sizeof user)))
        return rc;
    if (enabled == on)
        return dk_error_set(&j->err, DK_ECONFLICT, "该审核员账号当前已是「%s」状态",
                            on ? "启用" : "停用");
    dk_param p[] = {DK_PINT(on), DK_PINT(id)};
    if ((rc = admin_sql_exec(db, "UPDATE institution_reviewer SET enabled = ? WHERE id = ?", p, 2,
                             NULL, &j->err)) ||
        (rc = admin_audit(db, j, 0, on ? "enable_reviewer" : "disable_reviewer",
                          "institution_reviewer", id, NULL, on ? "停用" : "启用",
                          on ? "启用" : "停用", NULL, NULL, &j->err)) ||
        (!on &&
         (rc = dom_token_revoke(db, &j->srv->tokens, DOM_KIND_REVIEWER, id, NULL, &j->err))) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->out = json_pack("{s:I,s:s,s:b}", "id", (json_int_t)id, "username", user, "enabled", on);
    return 0;
}

int admin_reviewer_disable(admin_job *j, MYSQL *db)
{
    return reviewer_set_enabled(j, db, 0);
}

int admin_reviewer_enable(admin_job *j, MYSQL *db)
{
    return reviewer_set_enabled(j, db, 1);
}

/* reset: back to 666666, must change, a new activation code; every token ends */
int admin_reviewer_reset(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    int rc, enabled = 0;
    char user[64] = "", act_code[DOM_ACTIVATION_MAX], act_hash[DK_HASH_MAX];
    if ((rc = owner_only(j)) ||
        (rc = dom_activation_new(&j->srv->auth, act_code, act_hash, &j->err)) ||
        (rc = dk_mysql_begin(db, &j->err)) ||
        (rc = reviewer_lock(j, db, id, &enabled, user, sizeof user)))
        return rc;
    dk_param p[] = {DK_PSTR(j->srv->initial_hash), DK_PSTR(act_hash), DK_PINT(id)};
    if ((rc = admin_sql_exec(db,
                             "UPDATE institution_reviewer SET password_hash = ?, "
                             "must_change_password = 1, failed_logins = 0, password_changed_at = "
                             "NOW(3), activation_hash = ? WHERE id = ?",
                             p, 3, NULL, &j->err)) ||
        (rc = admin_audit(db, j, 0, "reset_password", "institution_reviewer", id, NULL, NULL, NULL,
                          NULL, NULL, &j->err)) ||
        (rc = dom_token_revoke(db, &j->srv->tokens, DOM_KIND_REVIEWER, id, NULL, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->out = json_pack("{s:I,s:s,s:s,s:s,s:b,s:b}", "id", (json_int_t)id, "username", user,
                       "initial_password", ADMIN_INITIAL_PASSWORD, "activation_code", act_code,
                       "must_change_password", 1, "enabled", enabled);
    return 0;
}
