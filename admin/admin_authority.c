/* admin_authority.c - what a health authority runs for its region: cycles and their
 * windows (province), institution accounts (code = 行政区划代码 + H + 5 digits, initial
 * password 666666, reset), the 申请考核机构 right and applications, which 考核机构
 * re-reviews which institution, and the tree of authorities below it.
 * A higher level sees everything below it (authority.path prefix). */
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"

/* ---- cycles ---------------------------------------------------------------------------------- */

static const char *const cycle_times[] = {
    "period_start",          "period_end",          "assessor_apply_start", "assessor_apply_end",
    "registration_start",    "registration_end",    "inst_review_start",    "inst_review_end",
    "assessor_review_start", "assessor_review_end", "test_start",           "test_end",
    "makeup_start",          "makeup_end",          "withdraw_deadline",    NULL};

#define CYCLE_COLS                                                                                 \
    "c.id, c.code, c.name, c.authority_id, au.name AS authority_name, c.length_years, "            \
    "c.period_start, c.period_end, c.assessor_apply_start, c.assessor_apply_end, "                 \
    "c.registration_start, c.registration_end, c.inst_review_start, c.inst_review_end, "           \
    "c.assessor_review_start, c.assessor_review_end, c.test_start, c.test_end, "                   \
    "c.makeup_start, c.makeup_end, c.withdraw_deadline, c.similarity_threshold, "                  \
    "c.photo_retention_days, c.defer_even_year, c.status, c.created_at, c.updated_at"

int admin_cycle_list(admin_job *j, MYSQL *db)
{
    dk_param p[] = {DK_PSTR(j->actor.path), DK_PSTR(j->actor.path), DK_PINT(j->actor.kind == 'a')};
    json_t *items;
    int rc = admin_sql_rows(db,
                            "SELECT " CYCLE_COLS " FROM cycle c JOIN authority au ON "
                            "au.id = c.authority_id WHERE (? LIKE CONCAT(au.path, '%') OR "
                            "au.path LIKE CONCAT(?, '%')) AND (? OR c.status <> 'draft') "
                            "ORDER BY c.period_start DESC, c.id DESC",
                            p, 3, 0, &items, &j->err);
    if (!rc) j->out = json_pack("{s:o}", "items", items);
    return rc;
}

int admin_cycle_get(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    dk_param p[] = {DK_PINT(id), DK_PSTR(j->actor.path), DK_PSTR(j->actor.path)};
    return admin_sql_row(db,
                         "SELECT " CYCLE_COLS " FROM cycle c JOIN authority au ON "
                         "au.id = c.authority_id WHERE c.id = ? AND (? LIKE CONCAT(au.path, '%') "
                         "OR au.path LIKE CONCAT(?, '%'))",
                         p, 3, 0, "没有这个考核周期", &j->out, &j->err);
}

/* Appends "col = ?" for the cycle fields present in the body; UTC times in tbuf. */
static int cycle_fields(admin_job *j, admin_sqlb *b, char tbuf[][32], int *n, const char *sep)
{
    for (int i = 0; cycle_times[i]; i++) {
        json_t *v = json_object_get(j->body, cycle_times[i]);
        if (!v) continue;
        if (!json_is_null(v) &&
            (!json_is_string(v) || admin_parse_time(json_string_value(v), tbuf[i])))
            return dk_error_set(&j->err, DK_EINVAL,
                                "%s 应为带时区的时间，例如 2024-05-10T00:00:00+08:00",
                                cycle_times[i]);
        admin_sqlb_cat(b, (*n)++ ? ", " : sep);
        admin_sqlb_cat(b, cycle_times[i]);
        admin_sqlb_cat(b, " = ?");
        admin_sqlb_param(b, json_is_null(v) ? DK_PNULL : DK_PSTR(tbuf[i]));
    }
    static const struct {
        const char *key;
        long long min, max;
    } ints[] = {{"length_years", 1, 5},
                {"photo_retention_days", 0, 3650},
                {"defer_even_year", 0, 1}}; /* seed [000]: even-year registrations wait a cycle */
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        json_t *v = json_object_get(j->body, ints[i].key);
        if (!v) continue;
        long long x;
        int rc = dk_json_int(j->body, ints[i].key, ints[i].min, ints[i].max, &x, &j->err);
        if (rc) return rc;
        admin_sqlb_cat(b, (*n)++ ? ", " : sep);
        admin_sqlb_cat(b, ints[i].key);
        admin_sqlb_cat(b, " = ?");
        admin_sqlb_param(b, DK_PINT(x));
    }
    json_t *th = json_object_get(j->body, "similarity_threshold");
    if (th) {
        if (!json_is_number(th) || json_number_value(th) < 0 || json_number_value(th) > 100)
            return dk_error_set(&j->err, DK_EINVAL, "similarity_threshold 应为 0 到 100");
        admin_sqlb_cat(b, (*n)++ ? ", similarity_threshold = ?" : " similarity_threshold = ?");
        snprintf(tbuf[15], 32, "%.2f", json_number_value(th));
        admin_sqlb_param(b, DK_PSTR(tbuf[15]));
    }
    static const char *const texts[] = {"code", "name", "status", NULL};
    for (int i = 0; texts[i]; i++) {
        const char *v = NULL;
        int rc =
            dk_json_str_opt(j->body, texts[i], !strcmp(texts[i], "name") ? 64 : 16, &v, &j->err);
        if (rc) return rc;
        if (!v) continue;
        if (!strcmp(texts[i], "status") && strcmp(v, "draft") && strcmp(v, "open") &&
            strcmp(v, "closed"))
            return dk_error_set(&j->err, DK_EINVAL, "status 应为 draft、open 或 closed");
        admin_sqlb_cat(b, (*n)++ ? ", " : sep);
        admin_sqlb_cat(b, texts[i]);
        admin_sqlb_cat(b, " = ?");
        admin_sqlb_param(b, DK_PSTR(v));
    }
    return 0;
}

static int cycle_error(admin_job *j, int rc)
{
    if (rc == DK_ECONFLICT) return dk_error_set(&j->err, DK_ECONFLICT, "周期编号已存在");
    if (rc == DK_EIO && strstr(j->err.msg, "CONSTRAINT"))
        return dk_error_set(&j->err, DK_EINVAL,
                            "时间窗口不合理：每个窗口的结束时间必须晚于开始时间");
    return rc;
}

static const char *const cycle_keys[] = {"code",
                                         "name",
                                         "length_years",
                                         "period_start",
                                         "period_end",
                                         "assessor_apply_start",
                                         "assessor_apply_end",
                                         "registration_start",
                                         "registration_end",
                                         "inst_review_start",
                                         "inst_review_end",
                                         "assessor_review_start",
                                         "assessor_review_end",
                                         "test_start",
                                         "test_end",
                                         "makeup_start",
                                         "makeup_end",
                                         "withdraw_deadline",
                                         "similarity_threshold",
                                         "photo_retention_days",
                                         "defer_even_year",
                                         "status",
                                         NULL};

int admin_cycle_create(admin_job *j, MYSQL *db)
{
    int rc;
    const char *code, *name;
    if ((rc = dk_json_only_keys(j->body, cycle_keys, &j->err)) ||
        (rc = dk_json_str(j->body, "code", 16, &code, &j->err)) ||
        (rc = dk_json_str(j->body, "name", 64, &name, &j->err)))
        return rc;
    if (!json_object_get(j->body, "period_start") || !json_object_get(j->body, "period_end"))
        return dk_error_set(&j->err, DK_EINVAL, "缺少考核周期起止时间 period_start / period_end");
    admin_sqlb b;
    char tbuf[16][32];
    int n = 0;
    admin_sqlb_init(&b, "INSERT INTO cycle SET authority_id = ?, created_by = ?");
    admin_sqlb_param(&b, DK_PINT(j->actor.authority_id));
    admin_sqlb_param(&b, DK_PINT(j->actor.id));
    n = 1;
    if (!json_object_get(j->body, "photo_retention_days")) {
        admin_sqlb_cat(&b, ", photo_retention_days = ?");
        admin_sqlb_param(&b, DK_PINT(dk_config_int(j->srv->cfg, "photo_retention_days")));
    }
    if ((rc = cycle_fields(j, &b, tbuf, &n, ", "))) goto out;
    if ((rc = admin_sql_exec(db, b.sql, b.p, b.np, NULL, &j->err))) {
        rc = cycle_error(j, rc);
        goto out;
    }
    long long id = (long long)mysql_insert_id(db);
    if ((rc = admin_audit(db, j, 0, "create_cycle", "cycle", id, NULL, NULL,
                          json_string_value(json_object_get(j->body, "status")), NULL, j->body,
                          &j->err)))
        goto out;
    dk_param p[] = {DK_PINT(id)};
    rc = admin_sql_row(db,
                       "SELECT " CYCLE_COLS " FROM cycle c JOIN authority au ON au.id = "
                       "c.authority_id WHERE c.id = ?",
                       p, 1, 0, NULL, &j->out, &j->err);
    j->status = 201;
out:
    admin_sqlb_free(&b);
    return rc;
}

int admin_cycle_update(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0), owner = 0;
    int rc;
    if ((rc = dk_json_only_keys(j->body, cycle_keys, &j->err))) return rc;
    dk_param p[] = {DK_PINT(id)};
    rc = admin_sql_ll(db, "SELECT authority_id FROM cycle WHERE id = ?", p, 1, &owner, &j->err);
    if (rc == DK_ENOTFOUND) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这个考核周期");
    if (rc) return rc;
    if (owner != j->actor.authority_id)
        return dk_error_set(&j->err, DK_EFORBIDDEN, "只有开设该周期的卫生行政部门可以修改");
    admin_sqlb b;
    char tbuf[16][32];
    int n = 0;
    admin_sqlb_init(&b, "UPDATE cycle SET");
    if ((rc = cycle_fields(j, &b, tbuf, &n, " "))) goto out;
    if (!n) {
        rc = dk_error_set(&j->err, DK_EINVAL, "没有要修改的字段");
        goto out;
    }
    admin_sqlb_cat(&b, " WHERE id = ?");
    admin_sqlb_param(&b, DK_PINT(id));
    if ((rc = admin_sql_exec(db, b.sql, b.p, b.np, NULL, &j->err))) {
        rc = cycle_error(j, rc);
        goto out;
    }
    if ((rc = admin_audit(db, j, 0, "update_cycle", "cycle", id, NULL, NULL,
                          json_string_value(json_object_get(j->body, "status")), NULL, j->body,
                          &j->err)))
        goto out;
    rc = admin_sql_row(db,
                       "SELECT " CYCLE_COLS " FROM cycle c JOIN authority au ON au.id = "
                       "c.authority_id WHERE c.id = ?",
                       p, 1, 0, NULL, &j->out, &j->err);
out:
    admin_sqlb_free(&b);
    return rc;
}

/* ---- authorities and institutions
 * -------------------------------------------------------------------- */

int admin_authorities(admin_job *j, MYSQL *db)
{
    dk_param p[] = {DK_PSTR(j->actor.path)};
    json_t *items;
    int rc =
        admin_sql_rows(db,
                       "SELECT id, parent_id, admin_level, code, name, contact_name, "
                       "contact_phone FROM authority WHERE path LIKE CONCAT(?, '%') ORDER BY path",
                       p, 1, 0, &items, &j->err);
    if (!rc) j->out = json_pack("{s:o}", "items", items);
    return rc;
}

int admin_auth_inst_list(admin_job *j, MYSQL *db)
{
    admin_sqlb b;
    admin_sqlb_init(&b, "FROM institution i JOIN authority au ON au.id = i.authority_id "
                        "WHERE au.path LIKE CONCAT(?, '%')");
    admin_sqlb_param(&b, DK_PSTR(j->actor.path));
    const char *name = admin_q(j, "name"), *code = admin_q(j, "code");
    const char *act = admin_q(j, "activated"); /* 0: still on the initial password */
    if (act && strcmp(act, "0") && strcmp(act, "1")) {
        admin_sqlb_free(&b);
        return dk_error_set(&j->err, DK_EINVAL, "activated 应为 0 或 1");
    }
    char like[2 * 96 + 3];
    if (name) { /* a name typed with % or _ means those characters, not wildcards */
        int rc = admin_like_any(j, "机构名称", name, 96, like, sizeof like);
        if (rc) {
            admin_sqlb_free(&b);
            return rc;
        }
        admin_sqlb_cat(&b, " AND i.name LIKE ?");
        admin_sqlb_param(&b, DK_PSTR(like));
    }
    if (code) {
        admin_sqlb_cat(&b, " AND i.code = ?");
        admin_sqlb_param(&b, DK_PSTR(code));
    }
    if (act)
        admin_sqlb_cat(&b, !strcmp(act, "0") ? " AND i.must_change_password = 1"
                                             : " AND i.must_change_password = 0");
    const char *assessor = admin_q(j, "is_assessor");
    if (assessor) {
        admin_sqlb_cat(&b, " AND i.is_assessor = ?");
        admin_sqlb_param(&b, DK_PINT(!strcmp(assessor, "1")));
    }
    int rc = admin_list(j, db,
                        "i.id, i.code, i.name, i.authority_id, au.name AS authority_name, "
                        "i.inst_type, i.inst_level, i.contact_name, i.contact_phone, i.can_apply, "
                        "i.is_assessor, i.enabled, i.must_change_password, i.last_login_at, "
                        "i.info_completed_at, i.must_change_password = 0 AS activated",
                        &b, "i.code", 0);
    admin_sqlb_free(&b);
    return rc;
}

/* An institution in the actor's region (403 outside it, 404 unknown); lock optional
 * (admin_internal.h). */
int admin_inst_in_region(admin_job *j, MYSQL *db, long long id, int lock)
{
    char path[256];
    dk_param p[] = {DK_PINT(id)};
    int rc = admin_sql_str(db,
                           lock ? "SELECT au.path FROM institution i JOIN authority au ON "
                                  "au.id = i.authority_id WHERE i.id = ? FOR UPDATE"
                                : "SELECT au.path FROM institution i JOIN authority au ON "
                                  "au.id = i.authority_id WHERE i.id = ?",
                           p, 1, path, sizeof path, &j->err);
    if (rc == DK_ENOTFOUND) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这个机构");
    if (rc) return rc;
    if (!dom_path_covers(j->actor.path, path))
        return dk_error_set(&j->err, DK_EFORBIDDEN, "该机构不在本部门辖区内");
    return 0;
}

int admin_inst_open(admin_job *j, MYSQL *db, long long auth, const char *acode,
                    const admin_inst_fields *f, const char *source, long long *id, char code[48],
                    char act_code[DOM_ACTIVATION_MAX])
{
    /* 行政区划代码 + H + the next 5-digit sequence of that code */
    long long max = 0;
    char like[16];
    snprintf(like, sizeof like, "%sH%%", acode);
    dk_param pl[] = {DK_PSTR(like)};
    int rc = admin_sql_ll(db,
                          "SELECT IFNULL(MAX(CAST(SUBSTRING(code, 8) AS UNSIGNED)), 0) FROM "
                          "institution WHERE code LIKE ? AND LENGTH(code) = 12",
                          pl, 1, &max, &j->err);
    if (rc) return rc;
    if (max >= 99999) return dk_error_set(&j->err, DK_ECONFLICT, "该地区的机构编号已用完");
    snprintf(code, 48, "%sH%05lld", acode, max + 1); /* 12 characters */
    /* the first login needs this code too: shown once, to the authority */
    char act_hash[DK_HASH_MAX];
    if ((rc = dom_activation_new(&j->srv->auth, act_code, act_hash, &j->err))) return rc;
#define S(x) ((x) ? DK_PSTR(x) : DK_PNULL)
    dk_param p[] = {DK_PSTR(code),    DK_PSTR(f->name), DK_PINT(auth),
                    S(f->type),       S(f->level),      S(f->ownership),
                    S(f->contact),    S(f->phone),      DK_PSTR(j->srv->initial_hash),
                    DK_PSTR(act_hash)};
#undef S
    if ((rc = admin_sql_exec(
             db,
             "INSERT INTO institution (code, name, authority_id, inst_type, inst_level, "
             "ownership, contact_name, contact_phone, password_hash, "
             "must_change_password, activation_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
             p, 10, NULL, &j->err)))
        return rc;
    *id = (long long)mysql_insert_id(db);
    json_t *d = json_pack("{s:s,s:s,s:s?}", "code", code, "name", f->name, "source", source);
    rc = admin_audit(db, j, 0, "create_institution", "institution", *id, NULL, NULL, NULL, NULL, d,
                     &j->err);
    json_decref(d);
    return rc;
}

int admin_auth_inst_create(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"name",      "authority_id", "inst_type",     "inst_level",
                                       "ownership", "contact_name", "contact_phone", NULL};
    const char *name, *type = NULL, *level = NULL, *own = NULL, *cn = NULL, *cp = NULL;
    long long auth;
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_str(j->body, "name", 128, &name, &j->err)) ||
        (rc = dk_json_int_opt(j->body, "authority_id", 1, 1LL << 53, j->actor.authority_id, &auth,
                              &j->err)) ||
        (rc = dk_json_str_opt(j->body, "inst_type", 32, &type, &j->err)) ||
        (rc = dk_json_str_opt(j->body, "inst_level", 16, &level, &j->err)) ||
        (rc = dk_json_str_opt(j->body, "ownership", 16, &own, &j->err)) ||
        (rc = dk_json_str_opt(j->body, "contact_name", 64, &cn, &j->err)) ||
        (rc = dk_json_str_opt(j->body, "contact_phone", 32, &cp, &j->err)) ||
        (rc = dk_mysql_begin(db, &j->err)))
        return rc;
    MYSQL_RES *res;
    dk_param pa[] = {DK_PINT(auth)};
    if ((rc = dk_mysql_exec(db, "SELECT code, path FROM authority WHERE id = ? FOR UPDATE", pa, 1,
                            &res, NULL, &j->err)))
        return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    char acode[8] = "", apath[256] = "";
    if (row)
        snprintf(acode, sizeof acode, "%s", row[0]), snprintf(apath, sizeof apath, "%s", row[1]);
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_EINVAL, "没有这个卫生行政部门");
    if (!dom_path_covers(j->actor.path, apath))
        return dk_error_set(&j->err, DK_EFORBIDDEN, "只能为本部门及下级部门辖区内的机构开设账号");
    const admin_inst_fields f = {name, type, level, own, cn, cp};
    char code[48], act_code[DOM_ACTIVATION_MAX];
    long long id;
    if ((rc = admin_inst_open(j, db, auth, acode, &f, NULL, &id, code, act_code)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->status = 201;
    j->out = json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)id, "code", code, "name", name,
                       "initial_password", ADMIN_INITIAL_PASSWORD, "activation_code", act_code);
    return 0;
}

int admin_auth_inst_reset(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    int rc = admin_inst_in_region(j, db, id, 0);
    if (rc) return rc;
    char act_code[DOM_ACTIVATION_MAX], act_hash[DK_HASH_MAX], code[32] = "";
    if ((rc = dom_activation_new(&j->srv->auth, act_code, act_hash, &j->err)) ||
        (rc = dk_mysql_begin(db, &j->err)))
        return rc;
    dk_param p[] = {DK_PSTR(j->srv->initial_hash), DK_PSTR(act_hash), DK_PINT(id)};
    dk_param q[] = {DK_PINT(id)};
    if ((rc =
             admin_sql_exec(db,
                            "UPDATE institution SET password_hash = ?, must_change_password = 1, "
                            "failed_logins = 0, locked_until = NULL, password_changed_at = NOW(3), "
                            "activation_hash = ? WHERE id = ?",
                            p, 3, NULL, &j->err)) ||
        (rc = admin_sql_str(db, "SELECT code FROM institution WHERE id = ?", q, 1, code,
                            sizeof code, &j->err)) ||
        (rc = admin_audit(db, j, 0, "reset_password", "institution", id, NULL, NULL, NULL, NULL,
                          NULL, &j->err)) ||
        (rc = dom_token_revoke(db, &j->srv->tokens, DOM_KIND_INSTITUTION, id, NULL, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->out =
        json_pack("{s:I,s:s,s:s,s:s,s:b}", "id", (json_int_t)id, "code", code, "initial_password",
                  ADMIN_INITIAL_PASSWORD, "activation_code", act_code, "must_change_password", 1);
    return 0;
}

int admin_auth_inst_apply_right(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    json_t *v = json_object_get(j->body, "can_apply");
    if (!json_is_boolean(v)) return dk_error_set(&j->err, DK_EINVAL, "can_apply 应为 true/false");
    int rc = admin_inst_in_region(j, db, id, 0);
    if (rc) return rc;
    int on = json_is_true(v);
    dk_param p[] = {DK_PINT(on), DK_PINT(id)};
    if ((rc = admin_sql_exec(db, "UPDATE institution SET can_apply = ? WHERE id = ?", p, 2, NULL,
                             &j->err)) ||
        (rc = admin_audit(db, j, 0, on ? "open_apply_right" : "close_apply_right", "institution",
                          id, NULL, NULL, NULL, NULL, NULL, &j->err)))
        return rc;
    j->out = json_pack("{s:I,s:b}", "id", (json_int_t)id, "can_apply", on);
    return 0;
}

/* ---- 考核机构 applications and assignments
 * ------------------------------------------------------------- */

int admin_auth_applications(admin_job *j, MYSQL *db)
{
    admin_sqlb b;
    admin_sqlb_init(&b, "FROM assessor_application x JOIN institution i ON i.id = x.institution_id "
                        "JOIN authority au ON au.id = i.authority_id LEFT JOIN cycle c ON "
                        "c.id = x.cycle_id WHERE au.path LIKE CONCAT(?, '%')");
    admin_sqlb_param(&b, DK_PSTR(j->actor.path));
    const char *status = admin_q(j, "status");
    if (status) {
        admin_sqlb_cat(&b, " AND x.status = ?");
        admin_sqlb_param(&b, DK_PSTR(status));
    }
    int rc = admin_list(j, db,
                        "x.id, x.institution_id, i.code AS institution_code, i.name AS "
                        "institution_name, c.code AS cycle_code, x.status, x.note, x.submitted_at, "
                        "x.decided_at, x.reason, (SELECT COUNT(*) FROM attachment a WHERE "
                        "a.owner_type = 'assessor_application' AND a.owner_id = x.id AND "
                        "a.deleted_at IS NULL) AS attachments, (SELECT JSON_ARRAYAGG(a.id) FROM "
                        "attachment a WHERE a.owner_type = 'assessor_application' AND "
                        "a.owner_id = x.id AND a.deleted_at IS NULL) AS attachment_ids",
                        &b, "x.status = '待审核' DESC, x.submitted_at DESC", 0);
    admin_sqlb_free(&b);
    return rc;
}

int admin_auth_application_action(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    if (!id) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这条申请");
    if (!strcmp(j->params[1], "apply"))
        return dk_error_set(&j->err, DK_ENOTFOUND, "没有这个操作：apply");
    return admin_flow_run(j, db, DOM_E_APPLICATION, j->params[1], id, NULL, j->body, &j->out);
}

int admin_assignment_list(admin_job *j, MYSQL *db)
{
    long long cycle;
    int rc = admin_cycle_for(j, db, j->actor.path, &cycle);
    if (rc) return rc;
    admin_sqlb b;
    admin_sqlb_init(&b, "FROM institution i JOIN authority au ON au.id = i.authority_id "
                        "LEFT JOIN assessor_assignment aa ON aa.institution_id = i.id AND "
                        "aa.cycle_id = ? LEFT JOIN institution asr ON asr.id = aa.assessor_id "
                        "WHERE au.path LIKE CONCAT(?, '%')");
    admin_sqlb_param(&b, DK_PINT(cycle));
    admin_sqlb_param(&b, DK_PSTR(j->actor.path));
    rc = admin_list(j, db,
                    "i.id AS institution_id, i.code, i.name, au.name AS authority_name, "
                    "aa.assessor_id, asr.name AS assessor_name, aa.assigned_at",
                    &b, "i.code", 0);
    if (!rc) json_object_set_new(j->out, "cycle_id", json_integer(cycle));
    admin_sqlb_free(&b);
    return rc;
}

int admin_assignment_set(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"institution_id", "assessor_id", "cycle_id", NULL};
    long long inst, assessor, cycle;
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_int(j->body, "institution_id", 1, 1LL << 53, &inst, &j->err)) ||
        (rc = dk_json_int(j->body, "assessor_id", 1, 1LL << 53, &assessor, &j->err)))
        return rc;
    /* an institution reviewed by itself would pass its own physicians (issue 12) */
    if (assessor == inst)
        return dk_error_set(&j->err, DK_ECONFLICT, "医疗卫生机构不能被指定为自身的考核机构");
    if ((rc = dk_mysql_begin(db, &j->err)) || (rc = admin_inst_in_region(j, db, inst, 1)) ||
        (rc = admin_cycle_for(j, db, j->actor.path, &cycle)))
        return rc;
    /* the 考核机构 must be one, and in the same province */
    char province[64] = "", apath[256] = "";
    const char *slash = strchr(j->actor.path + 1, '/');
    if (slash)
        snprintf(province, sizeof province, "%.*s", (int)(slash - j->actor.path + 1),
                 j->actor.path);
    long long is_assessor = 0;
    MYSQL_RES *res;
    dk_param pa[] = {DK_PINT(assessor)};
    if ((rc = dk_mysql_exec(db,
                            "SELECT i.is_assessor, au.path FROM institution i JOIN authority au ON "
                            "au.id = i.authority_id WHERE i.id = ?",
                            pa, 1, &res, NULL, &j->err)))
        return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row) is_assessor = atoi(row[0]), snprintf(apath, sizeof apath, "%s", row[1]);
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_EINVAL, "没有这个考核机构");
    if (!is_assessor)
        return dk_error_set(&j->err, DK_ECONFLICT, "该机构不是考核机构（申请尚未批准）");
    if (!dom_path_covers(province, apath))
        return dk_error_set(&j->err, DK_EFORBIDDEN, "考核机构不在本省");
    dk_param p[] = {DK_PINT(cycle), DK_PINT(inst), DK_PINT(assessor), DK_PINT(j->actor.id)};
    dk_param e[] = {DK_PINT(assessor), DK_PINT(cycle), DK_PINT(inst)};
    json_t *d = json_pack("{s:I,s:I,s:I}", "cycle_id", (json_int_t)cycle, "assessor_id",
                          (json_int_t)assessor, "institution_id", (json_int_t)inst);
    /* enrolments not yet with a 考核机构 follow the new assignment */
    if ((rc = admin_sql_exec(
             db,
             "INSERT INTO assessor_assignment (cycle_id, institution_id, assessor_id, "
             "assigned_by) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
             "assessor_id = VALUES(assessor_id), assigned_by = VALUES(assigned_by), "
             "assigned_at = NOW(3)",
             p, 4, NULL, &j->err)) ||
        (rc = admin_sql_exec(db,
                             "UPDATE enrolment SET assessor_id = ? WHERE cycle_id = ? AND "
                             "institution_id = ? AND status IN ('" DOM_ST_TO_REGISTER
                             "', '" DOM_ST_INST_REJECTED "', "
                             "'" DOM_ST_INST_REVIEW "', '" DOM_ST_INST_REVIEW_AGAIN "')",
                             e, 3, NULL, &j->err)) ||
        (rc = admin_audit(db, j, 0, "assign_assessor", "institution", inst, NULL, NULL, NULL, NULL,
                          d, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err))) {
        json_decref(d);
        return rc;
    }
    j->out = d;
    return 0;
}
