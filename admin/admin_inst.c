/* admin_inst.c - what an institution keeps: its own information (本机构信息, required
 * fields), departments (科室 with 关联诊疗科目, 启用/停用, delete only when empty), its
 * physicians (list with the seed's filters, add one, CSV import with per-row errors,
 * CSV export, 参加 / 批量参加 / 取消参加 through the workflow table, 重置密码, 离岗,
 * 删除, 调入 by a 15- or 18-digit ID number) and its 申请考核机构.
 * Every change is written to the audit log. Database worker threads only. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "admin_export.h"

#define IMPORT_MAX_ROWS 5000

/* ---- list filters ---------------------------------------------------------------------------- */

int admin_phys_filters(admin_job *j, admin_sqlb *b, admin_filter_bufs *fb)
{
    long long dept, amin, amax;
    int rc;
    if ((rc = admin_q_int(j, "department_id", 1, 1LL << 53, 0, &dept)) ||
        (rc = admin_q_int(j, "age_min", 0, 150, -1, &amin)) ||
        (rc = admin_q_int(j, "age_max", 0, 150, -1, &amax)))
        return rc;
    if (dept) {
        admin_sqlb_cat(b, " AND p.department_id = ?");
        admin_sqlb_param(b, DK_PINT(dept));
    }
    const char *name = admin_q(j, "name");
    if (name) {
        if ((rc = admin_like_any(j, "姓名", name, 64, fb->like, sizeof fb->like))) return rc;
        admin_sqlb_cat(b, " AND p.name LIKE ?");
        admin_sqlb_param(b, DK_PSTR(fb->like));
    }
    const char *id = admin_q(j, "id_number");
    if (id) {
        if (strlen(id) > 18) return dk_error_set(&j->err, DK_EINVAL, "证件号码过长");
        admin_id_other_form(id, fb->id2);
        admin_sqlb_cat(b, " AND p.id_number IN (?, ?)");
        admin_sqlb_param(b, DK_PSTR(id));
        admin_sqlb_param(b, DK_PSTR(fb->id2[0] ? fb->id2 : id));
    }
    if (amin >= 0) {
        admin_sqlb_cat(b, " AND TIMESTAMPDIFF(YEAR, p.birth_date, CURDATE()) >= ?");
        admin_sqlb_param(b, DK_PINT(amin));
    }
    if (amax >= 0) {
        admin_sqlb_cat(b, " AND TIMESTAMPDIFF(YEAR, p.birth_date, CURDATE()) <= ?");
        admin_sqlb_param(b, DK_PINT(amax));
    }
    const char *from = admin_q(j, "first_reg_from"), *to = admin_q(j, "first_reg_to");
    if ((from && admin_parse_date(from)) || (to && admin_parse_date(to)))
        return dk_error_set(&j->err, DK_EINVAL, "首次注册时间应为 YYYY-MM-DD");
    if (from) {
        admin_sqlb_cat(b, " AND p.first_registration_date >= ?");
        admin_sqlb_param(b, DK_PSTR(from));
    }
    if (to) {
        admin_sqlb_cat(b, " AND p.first_registration_date <= ?");
        admin_sqlb_param(b, DK_PSTR(to));
    }
    return 0;
}

/* ---- 本机构信息
 * ---------------------------------------------------------------------------------- */

static const struct {
    const char *key;
    size_t max;
    int required; /* the red * of the seed's form */
} inst_fields[] = {
    {"inst_type", 32, 1},     {"inst_level", 16, 1}, {"ownership", 16, 1},
    {"credit_code", 18, 0},   {"license_no", 64, 0}, {"legal_representative", 64, 1},
    {"address", 255, 1},      {"postcode", 6, 0},    {"contact_name", 64, 1},
    {"contact_phone", 32, 1}, {"email", 128, 0},
};
#define NINST (sizeof inst_fields / sizeof inst_fields[0])

int admin_inst_profile_get(admin_job *j, MYSQL *db)
{
    dk_param p[] = {DK_PINT(j->actor.institution_id)};
    json_t *row;
    int rc = admin_sql_row(db,
                           "SELECT i.id, i.code, i.name, i.inst_type, i.inst_level, i.ownership, "
                           "i.credit_code, i.license_no, i.legal_representative, i.address, "
                           "i.postcode, i.contact_name, i.contact_phone, i.email, "
                           "i.info_completed_at, i.can_apply, i.is_assessor, i.authority_id, "
                           "au.name AS authority_name, au.contact_name AS authority_contact_name, "
                           "au.contact_phone AS authority_contact_phone "
                           "FROM institution i JOIN authority au ON au.id = i.authority_id "
                           "WHERE i.id = ?",
                           p, 1, 0, NULL, &row, &j->err);
    if (rc) return rc;
    json_t *missing = json_array(), *required = json_array();
    for (size_t i = 0; i < NINST; i++) {
        if (!inst_fields[i].required) continue;
        json_array_append_new(required, json_string(inst_fields[i].key));
        json_t *v = json_object_get(row, inst_fields[i].key);
        if (!json_is_string(v) || !json_string_length(v))
            json_array_append_new(missing, json_string(inst_fields[i].key));
    }
    json_object_set_new(row, "required_fields", required);
    json_object_set_new(row, "missing_required", missing);
    j->out = row;
    return 0;
}

int admin_inst_profile_put(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"inst_type",     "inst_level", "ownership",
                                       "credit_code",   "license_no", "legal_representative",
                                       "address",       "postcode",   "contact_name",
                                       "contact_phone", "email",      NULL};
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err))) return rc;
    admin_sqlb b;
    admin_sqlb_init(
        &b, "UPDATE institution SET info_completed_at = COALESCE(info_completed_at, NOW(3))");
    char missing[256] = "";
    for (size_t i = 0; i < NINST; i++) {
        const char *v = NULL;
        if ((rc = dk_json_str_opt(j->body, inst_fields[i].key, inst_fields[i].max, &v, &j->err)))
            goto out;
        if (inst_fields[i].required && (!v || !*v)) {
            size_t l = strlen(missing);
            snprintf(missing + l, sizeof missing - l, "%s%s", l ? "、" : "", inst_fields[i].key);
            continue;
        }
        admin_sqlb_cat(&b, ", ");
        admin_sqlb_cat(&b, inst_fields[i].key);
        admin_sqlb_cat(&b, " = ?");
        admin_sqlb_param(&b, v && *v ? DK_PSTR(v) : DK_PNULL);
    }
    if (missing[0]) {
        rc = dk_error_set(&j->err, DK_EINVAL, "请填写必填项：%s", missing);
        goto out;
    }
    admin_sqlb_cat(&b, " WHERE id = ?");
    admin_sqlb_param(&b, DK_PINT(j->actor.institution_id));
    if ((rc = admin_sql_exec(db, b.sql, b.p, b.np, NULL, &j->err)) ||
        (rc = admin_audit(db, j, ADMIN_R_INST, "update_institution", "institution",
                          j->actor.institution_id, NULL, NULL, NULL, NULL, NULL, &j->err)))
        goto out;
    rc = admin_inst_profile_get(j, db);
out:
    admin_sqlb_free(&b);
    return rc;
}

/* ---- 科室
 * ---------------------------------------------------------------------------------------- */

int admin_subjects(admin_job *j, MYSQL *db)
{
    json_t *items;
    int rc = admin_sql_rows(db,
                            "SELECT id, code, name, parent_id FROM subject WHERE enabled = 1 "
                            "ORDER BY code",
                            NULL, 0, 0, &items, &j->err);
    if (!rc) j->out = json_pack("{s:o}", "items", items);
    return rc;
}

int admin_dept_list(admin_job *j, MYSQL *db)
{
    dk_param p[] = {DK_PINT(j->actor.institution_id)};
    json_t *items, *links;
    int rc = admin_sql_rows(
        db,
        "SELECT d.id, d.name, d.enabled, IF(d.enabled, '正常', '已停用') AS state, "
        "(SELECT COUNT(*) FROM physician p WHERE p.department_id = d.id AND "
        "p.institution_id = d.institution_id AND p.deleted_at IS NULL) AS physicians "
        "FROM department d WHERE d.institution_id = ? ORDER BY d.id",
        p, 1, 0, &items, &j->err);
    if (rc) return rc;
    if ((rc = admin_sql_rows(
             db,
             "SELECT ds.department_id, s.id, s.code, s.name FROM department_subject ds "
             "JOIN subject s ON s.id = ds.subject_id JOIN department d ON "
             "d.id = ds.department_id WHERE d.institution_id = ? ORDER BY s.code",
             p, 1, 0, &links, &j->err))) {
        json_decref(items);
        return rc;
    }
    size_t i, k;
    json_t *d, *l;
    json_array_foreach(items, i, d)
    {
        json_t *subs = json_array();
        json_int_t id = json_integer_value(json_object_get(d, "id"));
        json_array_foreach(links, k,
                           l) if (json_integer_value(json_object_get(l, "department_id")) == id)
            json_array_append_new(subs, json_pack("{s:O,s:O,s:O}", "id", json_object_get(l, "id"),
                                                  "code", json_object_get(l, "code"), "name",
                                                  json_object_get(l, "name")));
        json_object_set_new(d, "subjects", subs);
    }
    json_decref(links);
    j->out = json_pack("{s:o}", "items", items);
    return 0;
}

static int dept_owned(admin_job *j, MYSQL *db, long long id, int lock)
{
    long long found;
    dk_param p[] = {DK_PINT(id), DK_PINT(j->actor.institution_id)};
    int rc = admin_sql_ll(
        db,
        lock ? "SELECT id FROM department WHERE id = ? AND institution_id = ? FOR UPDATE"
             : "SELECT id FROM department WHERE id = ? AND institution_id = ?",
        p, 2, &found, &j->err);
    if (rc != DK_ENOTFOUND) return rc;
    /* someone else's department is 403, an unknown one 404 */
    dk_param q[] = {DK_PINT(id)};
    if (admin_sql_ll(db, "SELECT id FROM department WHERE id = ?", q, 1, &found, &j->err) == 0)
        return dk_error_set(&j->err, DK_EFORBIDDEN, "不是本机构的科室");
    return dk_error_set(&j->err, DK_ENOTFOUND, "没有这个科室");
}

static int dept_subjects(admin_job *j, MYSQL *db, long long dept, json_t *ids)
{
    if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > 40)
        return dk_error_set(&j->err, DK_EINVAL, "请选择 1 到 40 个关联诊疗科目（subject_ids）");
    dk_param p[] = {DK_PINT(dept)};
    int rc = admin_sql_exec(db, "DELETE FROM department_subject WHERE department_id = ?", p, 1,
                            NULL, &j->err);
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        if (rc) break;
        if (!json_is_integer(v))
            return dk_error_set(&j->err, DK_EINVAL, "subject_ids 应为整数数组");
        long long ok = 0;
        dk_param q[] = {DK_PINT(json_integer_value(v))};
        if ((rc = admin_sql_ll(db, "SELECT COUNT(*) FROM subject WHERE id = ? AND enabled = 1", q,
                               1, &ok, &j->err)))
            return rc;
        if (!ok)
            return dk_error_set(&j->err, DK_EINVAL, "没有诊疗科目 %lld",
                                (long long)json_integer_value(v));
        dk_param r[] = {DK_PINT(dept), DK_PINT(json_integer_value(v))};
        rc = admin_sql_exec(db,
                            "INSERT IGNORE INTO department_subject (department_id, subject_id) "
                            "VALUES (?, ?)",
                            r, 2, NULL, &j->err);
    }
    return rc;
}

int admin_dept_create(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"name", "subject_ids", NULL};
    const char *name;
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_str(j->body, "name", 64, &name, &j->err)) ||
        (rc = dk_mysql_begin(db, &j->err)))
        return rc;
    dk_param p[] = {DK_PINT(j->actor.institution_id), DK_PSTR(name)};
    rc = admin_sql_exec(db, "INSERT INTO department (institution_id, name) VALUES (?, ?)", p, 2,
                        NULL, &j->err);
    if (rc == DK_ECONFLICT) return dk_error_set(&j->err, DK_ECONFLICT, "已有同名科室「%s」", name);
    if (rc) return rc;
    long long id = (long long)mysql_insert_id(db);
    json_t *d = json_pack("{s:s,s:O}", "name", name, "subject_ids",
                          json_object_get(j->body, "subject_ids"));
    if (!(rc = dept_subjects(j, db, id, json_object_get(j->body, "subject_ids"))))
        rc = admin_audit(db, j, ADMIN_R_INST, "create_department", "department", id, NULL, NULL,
                         "正常", NULL, d, &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    j->status = 201;
    j->out = json_pack("{s:I}", "id", (json_int_t)id);
    return 0;
}

int admin_dept_update(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"name", "subject_ids", NULL};
    long long id = admin_param_id(j, 0);
    const char *name = NULL;
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_str_opt(j->body, "name", 64, &name, &j->err)) ||
        (rc = dk_mysql_begin(db, &j->err)) || (rc = dept_owned(j, db, id, 1)))
        return rc;
    if (name) {
        dk_param p[] = {DK_PSTR(name), DK_PINT(id)};
        rc = admin_sql_exec(db, "UPDATE department SET name = ? WHERE id = ?", p, 2, NULL, &j->err);
        if (rc == DK_ECONFLICT)
            return dk_error_set(&j->err, DK_ECONFLICT, "已有同名科室「%s」", name);
        if (rc) return rc;
    }
    json_t *ids = json_object_get(j->body, "subject_ids");
    if (ids && (rc = dept_subjects(j, db, id, ids))) return rc;
    if ((rc = admin_audit(db, j, ADMIN_R_INST, "update_department", "department", id, NULL, NULL,
                          NULL, NULL, j->body, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->out = json_pack("{s:I}", "id", (json_int_t)id);
    return 0;
}

static int dept_set_enabled(admin_job *j, MYSQL *db, int enabled)
{
    long long id = admin_param_id(j, 0);
    int rc = dept_owned(j, db, id, 0);
    if (rc) return rc;
    dk_param p[] = {DK_PINT(enabled), DK_PINT(id)};
    if ((rc = admin_sql_exec(db, "UPDATE department SET enabled = ? WHERE id = ?", p, 2, NULL,
                             &j->err)) ||
        (rc = admin_audit(db, j, ADMIN_R_INST, enabled ? "enable_department" : "disable_department",
                          "department", id, NULL, enabled ? "已停用" : "正常",
                          enabled ? "正常" : "已停用", NULL, NULL, &j->err)))
        return rc;
    j->out = json_pack("{s:I,s:b}", "id", (json_int_t)id, "enabled", enabled);
    return 0;
}

int admin_dept_enable(admin_job *j, MYSQL *db)
{
    return dept_set_enabled(j, db, 1);
}
int admin_dept_disable(admin_job *j, MYSQL *db)
{
    return dept_set_enabled(j, db, 0);
}

int admin_dept_delete(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    int rc;
    if ((rc = dk_mysql_begin(db, &j->err)) || (rc = dept_owned(j, db, id, 1))) return rc;
    long long n = 0;
    dk_param p[] = {DK_PINT(id)};
    if ((rc = admin_sql_ll(
             db, "SELECT COUNT(*) FROM physician WHERE department_id = ? AND deleted_at IS NULL", p,
             1, &n, &j->err)))
        return rc;
    if (n)
        return dk_error_set(&j->err, DK_ECONFLICT,
                            "科室中还有 %lld 位医师，不能删除；可先停用，再为医师选择新的科室", n);
    /* deleted physicians keep their history but not this department */
    if ((rc =
             admin_sql_exec(db, "UPDATE physician SET department_id = NULL WHERE department_id = ?",
                            p, 1, NULL, &j->err)) ||
        (rc = admin_sql_exec(db, "DELETE FROM department WHERE id = ?", p, 1, NULL, &j->err)) ||
        (rc = admin_audit(db, j, ADMIN_R_INST, "delete_department", "department", id, NULL, NULL,
                          NULL, NULL, NULL, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->status = 200;
    j->out = json_pack("{s:I,s:b}", "id", (json_int_t)id, "deleted", 1);
    return 0;
}

/* ---- physicians: list, export
 * ---------------------------------------------------------------------- */

/* FROM/WHERE of the physician list: the institution's physicians (在岗 unless
 * status=离岗), tab confirmed/unconfirmed for the current cycle, and the filters. */
static int phys_list_sql(admin_job *j, MYSQL *db, admin_sqlb *b, admin_filter_bufs *fb,
                         long long *cycle)
{
    int rc = admin_cycle_for(j, db, j->actor.path, cycle);
    if (rc == DK_ENOTFOUND) {
        *cycle = 0;
        dk_error_clear(&j->err);
    } else if (rc) {
        return rc;
    }
    admin_sqlb_init(b, "FROM physician p LEFT JOIN department d ON d.id = p.department_id "
                       "LEFT JOIN enrolment e ON e.physician_id = p.id AND e.cycle_id = ? "
                       "LEFT JOIN cycle cy ON cy.id = ? "
                       "WHERE p.institution_id = ? AND p.deleted_at IS NULL AND p.status = ?");
    admin_sqlb_param(b, DK_PINT(*cycle));
    admin_sqlb_param(b, DK_PINT(*cycle));
    admin_sqlb_param(b, DK_PINT(j->actor.institution_id));
    const char *status = admin_q(j, "status");
    if (status && strcmp(status, DOM_PHYS_ACTIVE) && strcmp(status, DOM_PHYS_LEFT))
        return dk_error_set(&j->err, DK_EINVAL, "status 应为「在岗」或「离岗」");
    admin_sqlb_param(b, DK_PSTR(status ? status : DOM_PHYS_ACTIVE));
    const char *tab = admin_q(j, "tab");
    if (tab && !strcmp(tab, "confirmed"))
        admin_sqlb_cat(b, " AND e.id IS NOT NULL");
    else if (tab && !strcmp(tab, "unconfirmed"))
        admin_sqlb_cat(b, " AND e.id IS NULL");
    else if (tab && strcmp(tab, "all"))
        return dk_error_set(&j->err, DK_EINVAL, "tab 应为 unconfirmed、confirmed 或 all");
    /* due=1: due in the cycle (not deferred, seed [000] via DOM_DEFERRED_SQL); due=0: deferred */
    const char *due = admin_q(j, "due");
    if (due && strcmp(due, "0") && strcmp(due, "1"))
        return dk_error_set(&j->err, DK_EINVAL, "due 应为 0 或 1");
    if (due)
        admin_sqlb_cat(b, !strcmp(due, "1") ? " AND NOT IFNULL(" DOM_DEFERRED_SQL("p", "cy") ", 0)"
                                            : " AND IFNULL(" DOM_DEFERRED_SQL("p", "cy") ", 0)");
    /* activated=0: accounts still on the initial password (created, reset, transferred in) */
    const char *act = admin_q(j, "activated");
    if (act && strcmp(act, "0") && strcmp(act, "1"))
        return dk_error_set(&j->err, DK_EINVAL, "activated 应为 0 或 1");
    if (act)
        admin_sqlb_cat(b, !strcmp(act, "0") ? " AND p.must_change_password = 1"
                                            : " AND p.must_change_password = 0");
    return admin_phys_filters(j, b, fb);
}

#define PHYS_LIST_COLS                                                                             \
    ADMIN_PHYS_COLS ", p.account, p.practice_scope, p.status AS physician_status, p.source, "      \
                    "e.id AS enrolment_id, e.status AS enrolment_status, e.procedure_type, "       \
                    "p.must_change_password = 0 AS activated, "                                    \
                    "IFNULL(" DOM_DEFERRED_SQL("p", "cy") ", 0) = 1 AS deferred"

int admin_phys_list(admin_job *j, MYSQL *db)
{
    admin_sqlb b = {0};
    admin_filter_bufs fb;
    long long cycle;
    int rc = phys_list_sql(j, db, &b, &fb, &cycle);
    if (!rc) rc = admin_list(j, db, PHYS_LIST_COLS, &b, "p.id", 0);
    if (!rc) json_object_set_new(j->out, "cycle_id", cycle ? json_integer(cycle) : json_null());
    admin_sqlb_free(&b);
    return rc;
}

/* GET /api/v1/institution/physicians/export: the list's rows (its tab and filters) as CSV
 * (the default of this route) or ?format=xlsx (admin_export.c), ID numbers masked. */
int admin_phys_export(admin_job *j, MYSQL *db)
{
    admin_sqlb b = {0};
    admin_filter_bufs fb;
    long long cycle;
    admin_fmt fmt;
    int rc = admin_export_fmt(j, ADMIN_FMT_ALLOW_XLSX | ADMIN_FMT_ALLOW_CSV, &fmt);
    if (rc || (rc = phys_list_sql(j, db, &b, &fb, &cycle))) goto out;
    static const admin_col cols[] = {{"序号", NULL, 0, 6},
                                     {"账号", "account", 0, 20},
                                     {"科室", "department_name", 0, 14},
                                     {"姓名", "name", 0, 10},
                                     {"性别", "sex", 0, 6},
                                     {"年龄", "age", 0, 6},
                                     {"证件号码", "id_number", 0, 22},
                                     {"执业类别", "practice_category", 0, 10},
                                     {"医师级别", "practice_level", 0, 14},
                                     {"执业范围", "practice_scope", 0, 16},
                                     {"职称", "title", 0, 14},
                                     {"执业证取得时间", "practice_cert_date", 0, 14},
                                     {"首次注册时间", "first_registration_date", 0, 14},
                                     {"本周期状态", "enrolment_status_shown", 0, 24}};
    char base[64];
    snprintf(base, sizeof base, "physicians-%.40s", j->actor.login);
    rc = admin_export_list(j, db, fmt == ADMIN_FMT_JSON ? ADMIN_FMT_CSV : fmt, "医师列表", NULL,
                           cols, sizeof cols / sizeof cols[0],
                           PHYS_LIST_COLS ", IFNULL(e.status, '未确认参加') AS enrolment_status_shown",
                           &b, "p.id", base, "export_physicians", "institution",
                           j->actor.institution_id);
out:
    admin_sqlb_free(&b);
    return rc;
}

/* ---- physicians: add one, import ------------------------------------------------------------- */

typedef admin_phys_in phys_in;

static int in_set(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(v, *set)) return 1;
    return 0;
}

/* Validates one new physician; msg gets the user-facing reason. */
int admin_phys_validate(admin_job *j, MYSQL *db, phys_in *in, char *msg, size_t msgsz)
{
    if (!in->institution_id) in->institution_id = j->actor.institution_id;
    static const char *const levels[] = {"执业医师", "执业助理医师", NULL};
    static const char *const cats[] = {"临床", "中医", "口腔", "公共卫生", NULL};
    static const char *const sexes[] = {"男", "女", NULL};
    if (!in->name || !*in->name || strlen(in->name) > 64)
        return snprintf(msg, msgsz, "姓名必填（不超过 64 字节）"), DK_EINVAL;
    if (!in->id_type || !*in->id_type) in->id_type = "居民身份证";
    if (strlen(in->id_type) > 16) return snprintf(msg, msgsz, "证件类型过长"), DK_EINVAL;
    if (!in->id_number || !*in->id_number) return snprintf(msg, msgsz, "证件号码必填"), DK_EINVAL;
    if (!strcmp(in->id_type, "居民身份证")) {
        if (!admin_id_valid(in->id_number))
            return snprintf(msg, msgsz, "证件号码不是有效的 15 位或 18 位居民身份证号码"),
                   DK_EINVAL;
        if (!in->birth_date || !*in->birth_date) {
            admin_id_birth(in->id_number, in->birth_buf);
            in->birth_date = in->birth_buf;
        }
        if (!in->sex || !*in->sex) in->sex = admin_id_sex(in->id_number);
    } else if (strlen(in->id_number) > 32) {
        return snprintf(msg, msgsz, "证件号码过长"), DK_EINVAL;
    }
    if (in->sex && *in->sex && !in_set(in->sex, sexes))
        return snprintf(msg, msgsz, "性别应为「男」或「女」"), DK_EINVAL;
    if (!in->practice_level || !in_set(in->practice_level, levels))
        return snprintf(msg, msgsz, "医师级别应为「执业医师」或「执业助理医师」"), DK_EINVAL;
    if (!in->practice_category || !in_set(in->practice_category, cats))
        return snprintf(msg, msgsz, "执业类别应为 临床、中医、口腔、公共卫生 之一"), DK_EINVAL;
    const char *dates[] = {in->birth_date, in->first_registration_date, in->practice_cert_date};
    for (int i = 0; i < 3; i++)
        if (dates[i] && *dates[i] && admin_parse_date(dates[i]))
            return snprintf(msg, msgsz, "日期应为 YYYY-MM-DD：%.40s", dates[i]), DK_EINVAL;
    const char *texts[] = {in->practice_scope, in->specialty, in->title, in->practice_cert_no,
                           in->mobile};
    const size_t max[] = {64, 64, 32, 32, 20};
    for (int i = 0; i < 5; i++)
        if (texts[i] && strlen(texts[i]) > max[i])
            return snprintf(msg, msgsz, "字段过长：%.40s", texts[i]), DK_EINVAL;
    if (in->department && *in->department && !in->department_id) {
        dk_param p[] = {DK_PINT(in->institution_id), DK_PSTR(in->department)};
        int rc = admin_sql_ll(db,
                              "SELECT id FROM department WHERE institution_id = ? AND name = ? "
                              "AND enabled = 1",
                              p, 2, &in->department_id, &j->err);
        if (rc == DK_ENOTFOUND)
            return snprintf(msg, msgsz, "本机构没有启用的科室「%.64s」", in->department), DK_EINVAL;
        if (rc) return rc;
    } else if (in->department_id) {
        long long ok = 0;
        dk_param p[] = {DK_PINT(in->department_id), DK_PINT(in->institution_id)};
        int rc = admin_sql_ll(db,
                              "SELECT COUNT(*) FROM department WHERE id = ? AND institution_id = ? "
                              "AND enabled = 1",
                              p, 2, &ok, &j->err);
        if (rc) return rc;
        if (!ok) return snprintf(msg, msgsz, "请选择本机构已启用的科室"), DK_EINVAL;
    }
    char other[20];
    admin_id_other_form(in->id_number, other);
    long long dup = 0;
    dk_param q[] = {DK_PSTR(in->id_number), DK_PSTR(other[0] ? other : in->id_number)};
    int rc = admin_sql_ll(db, "SELECT COUNT(*) FROM physician WHERE id_number IN (?, ?)", q, 2,
                          &dup, &j->err);
    if (rc) return rc;
    if (dup)
        return snprintf(msg, msgsz, "证件号码已存在（从其他机构调入的医师请使用「调入」）"),
               DK_ECONFLICT;
    return 0;
}

/* Inserts a validated physician with the next account of the institution. In the caller's
 * transaction. */
int admin_phys_insert(admin_job *j, MYSQL *db, const phys_in *in, const char *source,
                      long long *id, char account[40])
{
    MYSQL_RES *res;
    dk_param pi[] = {DK_PINT(in->institution_id ? in->institution_id : j->actor.institution_id)};
    int rc = dk_mysql_exec(
        db, "SELECT code, next_physician_seq FROM institution WHERE id = ? FOR UPDATE", pi, 1, &res,
        NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    long long seq = row ? strtoll(row[1], NULL, 10) : 0;
    if (row) snprintf(account, 40, "%s%05lld", row[0], seq);
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_ENOTFOUND, "机构不存在");
    if (seq > 99999) return dk_error_set(&j->err, DK_ECONFLICT, "本机构的医师账号序号已用完");
#define S(x) ((x) && *(x) ? DK_PSTR(x) : DK_PNULL)
    dk_param p[] = {S(in->id_type),
                    DK_PSTR(in->id_number),
                    DK_PSTR(in->name),
                    S(in->sex),
                    S(in->birth_date),
                    S(in->mobile),
                    DK_PSTR(account),
                    DK_PSTR(j->srv->initial_hash),
                    pi[0],
                    in->department_id ? DK_PINT(in->department_id) : DK_PNULL,
                    DK_PSTR(in->practice_level),
                    DK_PSTR(in->practice_category),
                    S(in->practice_scope),
                    S(in->specialty),
                    S(in->title),
                    S(in->practice_cert_no),
                    S(in->practice_cert_date),
                    S(in->first_registration_date),
                    DK_PSTR(source)};
#undef S
    rc = admin_sql_exec(db,
                        "INSERT INTO physician (id_type, id_number, name, sex, birth_date, mobile, "
                        "account, password_hash, must_change_password, institution_id, "
                        "department_id, practice_level, practice_category, practice_scope, "
                        "specialty, title, practice_cert_no, practice_cert_date, "
                        "first_registration_date, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, "
                        "?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        p, 19, NULL, &j->err);
    if (rc == DK_ECONFLICT) return dk_error_set(&j->err, DK_ECONFLICT, "证件号码或账号已存在");
    if (rc) return rc;
    *id = (long long)mysql_insert_id(db);
    dk_param u[] = {pi[0]};
    if ((rc = admin_sql_exec(db,
                             "UPDATE institution SET next_physician_seq = next_physician_seq + 1 "
                             "WHERE id = ?",
                             u, 1, NULL, &j->err)))
        return rc;
    json_t *d = json_pack("{s:s,s:s}", "account", account, "source", source);
    rc = admin_audit(db, j, j->actor.kind == 'i' ? ADMIN_R_INST : 0, "create_physician",
                     "physician", *id, NULL, NULL,
                     DOM_PHYS_ACTIVE, NULL, d, &j->err);
    json_decref(d);
    return rc;
}

int admin_phys_create(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"name",
                                       "id_type",
                                       "id_number",
                                       "sex",
                                       "birth_date",
                                       "department_id",
                                       "practice_level",
                                       "practice_category",
                                       "practice_scope",
                                       "specialty",
                                       "title",
                                       "first_registration_date",
                                       "practice_cert_date",
                                       "practice_cert_no",
                                       "mobile",
                                       NULL};
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = admin_registry_refuse_manual(j, db, j->actor.path)))
        return rc;
    phys_in in = {0};
#define G(k) in.k = json_string_value(json_object_get(j->body, #k))
    G(name), G(id_type), G(id_number), G(sex), G(birth_date), G(practice_level);
    G(practice_category), G(practice_scope), G(specialty), G(title), G(first_registration_date);
    G(practice_cert_date), G(practice_cert_no), G(mobile);
#undef G
    json_t *dv = json_object_get(j->body, "department_id");
    if (dv && !json_is_integer(dv) && !json_is_null(dv))
        return dk_error_set(&j->err, DK_EINVAL, "department_id 应为整数");
    in.department_id = json_is_integer(dv) ? json_integer_value(dv) : 0;
    char msg[256];
    if ((rc = dk_mysql_begin(db, &j->err))) return rc;
    rc = admin_phys_validate(j, db, &in, msg, sizeof msg);
    if (rc == DK_EINVAL || rc == DK_ECONFLICT) return dk_error_set(&j->err, rc, "%s", msg);
    long long id;
    char account[40];
    if (rc || (rc = admin_phys_insert(j, db, &in, "手动", &id, account)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->status = 201;
    j->out = json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "account", account,
                       "initial_password", ADMIN_INITIAL_PASSWORD);
    return 0;
}

/* CSV columns of 批量导入医师 (header names, * = required). */
static const struct {
    const char *head;
    size_t off;
    int required;
} import_cols[] = {
    {"姓名", offsetof(phys_in, name), 1},
    {"证件类型", offsetof(phys_in, id_type), 0},
    {"证件号码", offsetof(phys_in, id_number), 1},
    {"性别", offsetof(phys_in, sex), 0},
    {"出生日期", offsetof(phys_in, birth_date), 0},
    {"科室", offsetof(phys_in, department), 0},
    {"医师级别", offsetof(phys_in, practice_level), 1},
    {"执业类别", offsetof(phys_in, practice_category), 1},
    {"执业范围", offsetof(phys_in, practice_scope), 0},
    {"从事专业", offsetof(phys_in, specialty), 0},
    {"职称", offsetof(phys_in, title), 0},
    {"首次注册时间", offsetof(phys_in, first_registration_date), 0},
    {"执业证取得时间", offsetof(phys_in, practice_cert_date), 0},
    {"执业证书编码", offsetof(phys_in, practice_cert_no), 0},
    {"手机号码", offsetof(phys_in, mobile), 0},
};
#define NIMPORT (sizeof import_cols / sizeof import_cols[0])
#define MAXF 32

int admin_phys_import(admin_job *j, MYSQL *db)
{
    const char *buf = (const char *)j->raw;
    size_t len = j->raw_len, pos = 0;
    int dry = admin_q(j, "dry_run") && !strcmp(admin_q(j, "dry_run"), "1");
    int refused = admin_registry_refuse_manual(j, db, j->actor.path);
    if (refused) return refused;
    if (!len) return dk_error_set(&j->err, DK_EINVAL, "请上传 CSV 文件（UTF-8，第一行为表头）");
    char *f[MAXF];
    int map[MAXF];
    int nh = admin_csv_record(buf, len, &pos, f, MAXF);
    if (nh <= 0) return dk_error_set(&j->err, DK_EINVAL, "CSV 表头无法读取");
    int seen[NIMPORT] = {0};
    for (int i = 0; i < nh; i++) {
        map[i] = -1;
        for (size_t c = 0; c < NIMPORT; c++) {
            char h[64];
            snprintf(h, sizeof h, "%s", f[i]);
            char *star = strchr(h, '*');
            if (star) *star = '\0';
            if (!strcmp(h, import_cols[c].head)) map[i] = (int)c, seen[c] = 1;
        }
        if (map[i] < 0 && *f[i]) {
            int rc = dk_error_set(&j->err, DK_EINVAL, "CSV 表头有未知的列「%.60s」", f[i]);
            admin_csv_free_fields(f, nh);
            return rc;
        }
    }
    admin_csv_free_fields(f, nh);
    for (size_t c = 0; c < NIMPORT; c++)
        if (import_cols[c].required && !seen[c])
            return dk_error_set(&j->err, DK_EINVAL, "CSV 缺少必需的列「%s」", import_cols[c].head);
    json_t *errors = json_array(), *created = json_array();
    int line = 1, imported = 0, failed = 0, rc = 0;
    for (;;) {
        int n = admin_csv_record(buf, len, &pos, f, MAXF);
        if (n == -1) break;
        line++;
        if (line > IMPORT_MAX_ROWS + 1) {
            rc = dk_error_set(&j->err, DK_ETOOBIG, "一次最多导入 %d 行", IMPORT_MAX_ROWS);
            if (n > 0) admin_csv_free_fields(f, n);
            break;
        }
        if (n == -2) {
            json_array_append_new(errors, json_pack("{s:i,s:s}", "row", line, "error",
                                                    "这一行的 CSV 格式不正确（引号或列数）"));
            failed++;
            continue;
        }
        if (n == 1 && !*f[0]) { /* an empty line */
            admin_csv_free_fields(f, n);
            line--;
            continue;
        }
        phys_in in = {0};
        for (int i = 0; i < n && i < nh; i++)
            if (map[i] >= 0 && *f[i])
                *(const char **)((char *)&in + import_cols[map[i]].off) = f[i];
        char msg[256] = "";
        if (n != nh) {
            snprintf(msg, sizeof msg, "列数（%d）与表头（%d）不一致", n, nh);
            rc = DK_EINVAL;
        } else {
            if ((rc = dk_mysql_begin(db, &j->err)) == 0) {
                rc = admin_phys_validate(j, db, &in, msg, sizeof msg);
                long long id = 0;
                char account[40] = "";
                if (!rc && !dry) rc = admin_phys_insert(j, db, &in, "批量导入", &id, account);
                if (!rc && !dry)
                    rc = dk_mysql_commit(db, &j->err);
                else
                    dk_mysql_rollback(db);
                if (!rc) {
                    imported++;
                    json_array_append_new(created, json_pack("{s:i,s:I,s:s}", "row", line, "id",
                                                             (json_int_t)id, "account", account));
                }
            }
        }
        if (rc == DK_EINVAL || rc == DK_ECONFLICT) {
            if (!msg[0]) snprintf(msg, sizeof msg, "%s", j->err.msg);
            json_array_append_new(errors, json_pack("{s:i,s:s}", "row", line, "error", msg));
            failed++;
            rc = 0;
        }
        admin_csv_free_fields(f, n);
        if (rc) break; /* a backend error: stop */
    }
    if (!rc && !dry) {
        json_t *d = json_pack("{s:i,s:i}", "imported", imported, "failed", failed);
        rc = admin_audit(db, j, ADMIN_R_INST, "import_physicians", "institution",
                         j->actor.institution_id, NULL, NULL, NULL, NULL, d, &j->err);
        json_decref(d);
    }
    if (rc) {
        json_decref(errors);
        json_decref(created);
        return rc;
    }
    j->out = json_pack("{s:b,s:i,s:i,s:o,s:o}", "dry_run", dry, "imported", imported, "failed",
                       failed, "errors", errors, "created", created);
    return 0;
}

/* ---- physicians: one
 * ---------------------------------------------------------------------------------- */

/* The physician of this institution (403 for another institution's, 404 unknown). */
static int phys_owned(admin_job *j, MYSQL *db, long long pid, int lock, char status[16])
{
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(pid)};
    int rc = dk_mysql_exec(db,
                           lock ? "SELECT institution_id, status FROM physician WHERE id = ? AND "
                                  "deleted_at IS NULL FOR UPDATE"
                                : "SELECT institution_id, status FROM physician WHERE id = ? AND "
                                  "deleted_at IS NULL",
                           p, 1, &res, NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    long long inst = row ? strtoll(row[0], NULL, 10) : 0;
    if (row && status) snprintf(status, 16, "%s", row[1]);
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这位医师");
    if (inst != j->actor.institution_id)
        return dk_error_set(&j->err, DK_EFORBIDDEN, "不是本机构的医师");
    return 0;
}

int admin_phys_detail(admin_job *j, MYSQL *db)
{
    long long pid = admin_param_id(j, 0);
    int rc = phys_owned(j, db, pid, 0, NULL);
    if (rc) return rc;
    json_t *ph, *enrols = NULL, *transfers = NULL, *log = NULL;
    dk_param p[] = {DK_PINT(pid)};
    char pidbuf[24];
    snprintf(pidbuf, sizeof pidbuf, "%lld", pid);
    if ((rc = admin_sql_row(
             db,
             "SELECT p.id, p.account, p.id_type, p.id_number, p.name, p.sex, p.birth_date, "
             "TIMESTAMPDIFF(YEAR, p.birth_date, CURDATE()) AS age, p.ethnicity, p.education, "
             "p.email, p.mobile, p.department_id, d.name AS department_name, p.practice_level, "
             "p.practice_category, p.practice_scope, p.specialty, p.title, p.post, "
             "p.standardized_training, p.qualification_cert_no, p.qualification_date, "
             "p.practice_cert_no, p.practice_cert_date, p.first_registration_date, p.source, "
             "p.status, p.must_change_password, p.last_login_at, "
             "p.photo_path IS NOT NULL AS has_photo, p.face_embedding IS NOT NULL AS has_embedding "
             "FROM physician p LEFT JOIN department d ON d.id = p.department_id WHERE p.id = ?",
             p, 1, ADMIN_SQL_FULL_ID, NULL, &ph, &j->err)))
        return rc;
    if ((rc = admin_sql_rows(
             db,
             "SELECT e.id AS enrolment_id, e.lock_version AS version, c.code AS "
             "cycle_code, c.name AS cycle_name, e.status, e.procedure_type, e.result "
             "FROM enrolment e JOIN cycle c ON c.id = e.cycle_id "
             "WHERE e.physician_id = ? ORDER BY c.period_start DESC",
             p, 1, 0, &enrols, &j->err)) ||
        (rc = admin_sql_rows(db,
                             "SELECT t.kind, t.reason, t.created_at, fi.name AS from_institution, "
                             "ti.name AS to_institution FROM physician_transfer t "
                             "LEFT JOIN institution fi ON fi.id = t.from_institution_id "
                             "LEFT JOIN institution ti ON ti.id = t.to_institution_id "
                             "WHERE t.physician_id = ? ORDER BY t.id",
                             p, 1, 0, &transfers, &j->err)) ||
        (rc = admin_sql_rows(db,
                             "SELECT created_at, actor_type, role, action, from_status, to_status, "
                             "reason FROM audit_log WHERE entity_type = 'physician' AND "
                             "entity_id = ? AND action NOT IN ('view_id_number', 'id_lookup') "
                             "ORDER BY id",
                             (dk_param[]){DK_PSTR(pidbuf)}, 1, 0, &log, &j->err))) {
        json_decref(ph);
        json_decref(enrols);
        json_decref(transfers);
        return rc;
    }
    j->out = json_pack("{s:o,s:o,s:o,s:o}", "physician", ph, "enrolments", enrols, "transfers",
                       transfers, "log", log);
    return admin_audit_id_view(db, j, 0, pid, &j->err);
}

int admin_phys_confirm(admin_job *j, MYSQL *db)
{
    long long pid = admin_param_id(j, 0);
    int rc = phys_owned(j, db, pid, 0, NULL);
    if (rc) return rc;
    if ((rc = admin_flow_run(j, db, DOM_E_ENROLMENT, "confirm", pid, NULL, j->body, &j->out)))
        return rc;
    j->status = 201;
    return 0;
}

int admin_phys_confirm_batch(admin_job *j, MYSQL *db)
{
    json_t *ids = json_object_get(j->body, "physician_ids");
    if (!json_is_array(ids) || !json_array_size(ids) || json_array_size(ids) > 500)
        return dk_error_set(&j->err, DK_EINVAL, "physician_ids 应为 1 到 500 个医师 id 的数组");
    json_t *results = json_array();
    int ok = 0, failed = 0;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        long long pid = json_is_integer(v) ? json_integer_value(v) : 0;
        json_t *out = NULL;
        dk_error_clear(&j->err);
        int rc = pid ? phys_owned(j, db, pid, 0, NULL)
                     : dk_error_set(&j->err, DK_EINVAL, "医师 id 应为正整数");
        if (!rc) rc = admin_flow_run(j, db, DOM_E_ENROLMENT, "confirm", pid, NULL, j->body, &out);
        if (rc == DK_EIO || rc == DK_EINTERNAL || rc == DK_EBUSY) {
            json_decref(results);
            return rc;
        }
        if (rc) {
            failed++;
            json_array_append_new(results, json_pack("{s:O,s:b,s:{s:s,s:s}}", "physician_id", v,
                                                     "ok", 0, "error", "code", dk_err_name(rc),
                                                     "message", j->err.msg));
        } else {
            ok++;
            json_array_append_new(
                results, json_pack("{s:O,s:b,s:o}", "physician_id", v, "ok", 1, "enrolment", out));
        }
    }
    dk_error_clear(&j->err);
    j->out = json_pack("{s:i,s:i,s:o}", "confirmed", ok, "failed", failed, "results", results);
    return 0;
}

/* The enrolment of a physician of this institution in the current cycle. */
static int current_enrolment(admin_job *j, MYSQL *db, long long pid, long long *eid,
                             char status[64])
{
    long long cycle;
    *eid = 0;
    status[0] = '\0';
    int rc = admin_cycle_for(j, db, j->actor.path, &cycle);
    if (rc == DK_ENOTFOUND) {
        dk_error_clear(&j->err);
        return 0;
    }
    if (rc) return rc;
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(pid), DK_PINT(cycle)};
    if ((rc = dk_mysql_exec(
             db, "SELECT id, status FROM enrolment WHERE physician_id = ? AND cycle_id = ?", p, 2,
             &res, NULL, &j->err)))
        return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row) *eid = strtoll(row[0], NULL, 10), snprintf(status, 64, "%s", row[1]);
    mysql_free_result(res);
    return 0;
}

int admin_phys_cancel(admin_job *j, MYSQL *db)
{
    long long pid = admin_param_id(j, 0), eid;
    char st[64];
    int rc = phys_owned(j, db, pid, 0, NULL);
    if (rc || (rc = current_enrolment(j, db, pid, &eid, st))) return rc;
    if (!eid) return dk_error_set(&j->err, DK_ECONFLICT, "该医师未确认参加本周期考核");
    return admin_flow_run(j, db, DOM_E_ENROLMENT, "cancel", eid, NULL, j->body, &j->out);
}

int admin_phys_reset_password(admin_job *j, MYSQL *db)
{
    long long pid = admin_param_id(j, 0);
    int rc = phys_owned(j, db, pid, 0, NULL);
    if (rc || (rc = dk_mysql_begin(db, &j->err))) return rc;
    dk_param p[] = {DK_PSTR(j->srv->initial_hash), DK_PINT(pid)};
    if ((rc = admin_sql_exec(db,
                             "UPDATE physician SET password_hash = ?, must_change_password = 1, "
                             "failed_logins = 0, locked_until = NULL, password_changed_at = NOW(3) "
                             "WHERE id = ?",
                             p, 2, NULL, &j->err)) ||
        (rc = admin_audit(db, j, ADMIN_R_INST, "reset_password", "physician", pid, NULL, NULL, NULL,
                          NULL, NULL, &j->err)) ||
        (rc = dom_token_revoke(db, &j->srv->tokens, DOM_KIND_PHYSICIAN, pid, NULL, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->out = json_pack("{s:I,s:s,s:b}", "id", (json_int_t)pid, "initial_password",
                       ADMIN_INITIAL_PASSWORD, "must_change_password", 1);
    return 0;
}

/* 离岗 and 删除 need the current cycle not under way: no enrolment, or one not yet
 * submitted (which is cancelled), or one finished. */
static int phys_release(admin_job *j, MYSQL *db, long long pid, const char *what)
{
    long long eid;
    char st[64];
    int rc = current_enrolment(j, db, pid, &eid, st);
    if (rc || !eid || !strcmp(st, DOM_ST_DONE) || !strcmp(st, DOM_ST_WITHDRAWN)) return rc;
    if (strcmp(st, DOM_ST_TO_REGISTER) != 0)
        return dk_error_set(
            &j->err, DK_ECONFLICT,
            "该医师本周期考核正在进行（「%s」），不能%s；请先退出本周期或由卫生行政部门驳回", st,
            what);
    /* the domain's "release" row: 取消参加 under the locking rule, refused once submitted */
    dom_flow_target t = {.entity = DOM_E_ENROLMENT, .action = "release", .key = eid};
    json_t *body = json_pack("{s:s}", "reason", what);
    snprintf(j->actor.ip, sizeof j->actor.ip, "%s", j->ip);
    rc = dom_flow_run_locked(db, &j->actor, &t, body, 1, NULL, &j->err);
    json_decref(body);
    return rc;
}

int admin_phys_leave(admin_job *j, MYSQL *db)
{
    long long pid = admin_param_id(j, 0);
    const char *reason = NULL;
    char st[16];
    int rc;
    if ((rc = dk_json_str_opt(j->body, "reason", 255, &reason, &j->err)) ||
        (rc = dk_mysql_begin(db, &j->err)) || (rc = phys_owned(j, db, pid, 1, st)))
        return rc;
    if (strcmp(st, DOM_PHYS_ACTIVE)) return dk_error_set(&j->err, DK_ECONFLICT, "该医师已离岗");
    if ((rc = phys_release(j, db, pid, DOM_PHYS_LEFT))) return rc;
    dk_param p[] = {DK_PINT(pid)};
    dk_param t[] = {DK_PINT(pid), DK_PINT(j->actor.institution_id),
                    reason ? DK_PSTR(reason) : DK_PNULL};
    if ((rc = admin_sql_exec(db, "UPDATE physician SET status = '" DOM_PHYS_LEFT "' WHERE id = ?",
                             p, 1, NULL, &j->err)) ||
        (rc = admin_sql_exec(
             db,
             "INSERT INTO physician_transfer (physician_id, kind, from_institution_id, "
             "reason) VALUES (?, '" DOM_PHYS_LEFT "', ?, ?)",
             t, 3, NULL, &j->err)) ||
        (rc = admin_audit(db, j, ADMIN_R_INST, "leave", "physician", pid, NULL, DOM_PHYS_ACTIVE,
                          DOM_PHYS_LEFT, reason, NULL, &j->err)) ||
        (rc = dom_token_revoke(db, &j->srv->tokens, DOM_KIND_PHYSICIAN, pid, NULL, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->out = json_pack("{s:I,s:s}", "id", (json_int_t)pid, "status", DOM_PHYS_LEFT);
    return 0;
}

int admin_phys_delete(admin_job *j, MYSQL *db)
{
    long long pid = admin_param_id(j, 0);
    char st[16];
    int rc;
    if ((rc = dk_mysql_begin(db, &j->err)) || (rc = phys_owned(j, db, pid, 1, st)) ||
        (rc = phys_release(j, db, pid, "删除")))
        return rc;
    dk_param p[] = {DK_PINT(pid)};
    if ((rc = admin_sql_exec(db, "UPDATE physician SET deleted_at = NOW(3) WHERE id = ?", p, 1,
                             NULL, &j->err)) ||
        (rc = admin_audit(db, j, ADMIN_R_INST, "delete_physician", "physician", pid, NULL, st,
                          "已删除", admin_q(j, "reason"), NULL, &j->err)) ||
        (rc = dom_token_revoke(db, &j->srv->tokens, DOM_KIND_PHYSICIAN, pid, NULL, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->out = json_pack("{s:I,s:b}", "id", (json_int_t)pid, "deleted", 1);
    return 0;
}

/* ---- 调入: by ID number, 15 or 18 digits
 * ----------------------------------------------------------------
 * Only within the institution's own province (a physician elsewhere is not found), at most
 * id_lookup_max per institution per window (admin_server.c counts both routes), and every
 * lookup and transfer is in the audit log with the number masked. */

void admin_province_of(const char *path, char out[64])
{
    const char *slash = path && path[0] == '/' ? strchr(path + 1, '/') : NULL;
    if (slash && slash - path + 1 < 64)
        snprintf(out, 64, "%.*s", (int)(slash - path + 1), path);
    else
        snprintf(out, 64, "%s", "/-/"); /* no province: matches no authority */
}

/* The audit row of one ID-number lookup (found: how many physicians it showed). */
static int audit_lookup(admin_job *j, MYSQL *db, const char *action, const char *id, long long pid,
                        long long found)
{
    char masked[32];
    dk_mask_id(id, masked, sizeof masked);
    json_t *d = json_pack("{s:s,s:I}", "id_number", masked, "found", (json_int_t)found);
    int rc = admin_audit(db, j, ADMIN_R_INST, action, "physician", pid, NULL, NULL, NULL, NULL, d,
                         &j->err);
    json_decref(d);
    return rc;
}

int admin_phys_transfer_lookup(admin_job *j, MYSQL *db)
{
    const char *id = admin_q(j, "id_number");
    if (!id || strlen(id) < 15 || strlen(id) > 18)
        return dk_error_set(&j->err, DK_EINVAL, "请输入 15 位或 18 位证件号码");
    char other[20], province[64];
    admin_id_other_form(id, other);
    admin_province_of(j->actor.path, province);
    dk_param p[] = {DK_PSTR(id), DK_PSTR(other[0] ? other : id), DK_PSTR(province)};
    json_t *items;
    int rc =
        admin_sql_rows(db,
                       "SELECT p.id AS physician_id, p.name, p.sex, p.id_number, "
                       "p.practice_category, p.practice_level, p.status, "
                       "i.name AS institution_name, p.status = '" DOM_PHYS_LEFT "' AS can_transfer "
                       "FROM physician p JOIN institution i ON i.id = p.institution_id "
                       "JOIN authority au ON au.id = i.authority_id "
                       "WHERE p.id_number IN (?, ?) AND p.deleted_at IS NULL "
                       "AND au.path LIKE CONCAT(?, '%')",
                       p, 3, 0, &items, &j->err);
    if (rc) return rc;
    long long pid = json_array_size(items) == 1 ? (long long)json_integer_value(json_object_get(
                                                      json_array_get(items, 0), "physician_id"))
                                                : 0;
    j->out = json_pack("{s:o}", "items", items);
    return audit_lookup(j, db, "id_lookup", id, pid, (long long)json_array_size(items));
}

int admin_phys_transfer_in(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"id_number", "department_id", NULL};
    const char *id;
    long long dept;
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_str(j->body, "id_number", 18, &id, &j->err)) ||
        (rc = dk_json_int_opt(j->body, "department_id", 1, 1LL << 53, 0, &dept, &j->err)))
        return rc;
    if (strlen(id) != 15 && strlen(id) != 18)
        return dk_error_set(&j->err, DK_EINVAL, "请输入 15 位或 18 位证件号码");
    char other[20], province[64];
    admin_id_other_form(id, other);
    admin_province_of(j->actor.path, province);
    if ((rc = dk_mysql_begin(db, &j->err))) return rc;
    MYSQL_RES *res;
    dk_param p[] = {DK_PSTR(id), DK_PSTR(other[0] ? other : id), DK_PSTR(province)};
    if ((rc = dk_mysql_exec(
             db,
             "SELECT p.id, p.institution_id, p.status FROM physician p JOIN institution i ON "
             "i.id = p.institution_id JOIN authority au ON au.id = i.authority_id "
             "WHERE p.id_number IN (?, ?) AND p.deleted_at IS NULL "
             "AND au.path LIKE CONCAT(?, '%') FOR UPDATE",
             p, 3, &res, NULL, &j->err)))
        return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    long long pid = 0, from = 0;
    char st[16] = "";
    if (row) {
        pid = strtoll(row[0], NULL, 10);
        from = strtoll(row[1], NULL, 10);
        snprintf(st, sizeof st, "%s", row[2]);
    }
    mysql_free_result(res);
    if (!row) {
        /* the failed attempt is audited too (its own statement, after the rollback) */
        dk_mysql_rollback(db);
        if ((rc = audit_lookup(j, db, "transfer_in_refused", id, 0, 0))) return rc;
        return dk_error_set(&j->err, DK_ENOTFOUND, "本省没有找到该证件号码的医师");
    }
    if (strcmp(st, DOM_PHYS_LEFT))
        return dk_error_set(&j->err, DK_ECONFLICT, "该医师仍在原机构在岗，需原机构先办理离岗");
    if (dept) {
        long long ok = 0;
        dk_param q[] = {DK_PINT(dept), DK_PINT(j->actor.institution_id)};
        if ((rc =
                 admin_sql_ll(db,
                              "SELECT COUNT(*) FROM department WHERE id = ? AND institution_id = ? "
                              "AND enabled = 1",
                              q, 2, &ok, &j->err)))
            return rc;
        if (!ok) return dk_error_set(&j->err, DK_EINVAL, "请选择本机构已启用的科室");
    }
    /* a transferred physician activates again (the initial password and the identity step of
     * the first login): the new institution does not inherit a password it never saw set */
    dk_param u[] = {DK_PINT(j->actor.institution_id), dept ? DK_PINT(dept) : DK_PNULL,
                    DK_PSTR(j->srv->initial_hash), DK_PINT(pid)};
    dk_param t[] = {DK_PINT(pid), DK_PINT(from), DK_PINT(j->actor.institution_id)};
    char masked[32];
    dk_mask_id(id, masked, sizeof masked);
    json_t *d =
        json_pack("{s:I,s:s}", "from_institution_id", (json_int_t)from, "id_number", masked);
    if ((rc = admin_sql_exec(db,
                             "UPDATE physician SET institution_id = ?, department_id = ?, "
                             "status = '" DOM_PHYS_ACTIVE "', password_hash = ?, "
                             "must_change_password = 1, failed_logins = 0, "
                             "password_changed_at = NOW(3) WHERE id = ?",
                             u, 4, NULL, &j->err)) ||
        (rc = admin_sql_exec(
             db,
             "INSERT INTO physician_transfer (physician_id, kind, from_institution_id, "
             "to_institution_id) VALUES (?, '调入', ?, ?)",
             t, 3, NULL, &j->err)) ||
        (rc = admin_audit(db, j, ADMIN_R_INST, "transfer_in", "physician", pid, NULL, DOM_PHYS_LEFT,
                          DOM_PHYS_ACTIVE, NULL, d, &j->err)) ||
        (rc = dom_token_revoke(db, &j->srv->tokens, DOM_KIND_PHYSICIAN, pid, NULL, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err))) {
        json_decref(d);
        return rc;
    }
    json_decref(d);
    j->out = json_pack("{s:I,s:s,s:s,s:b}", "id", (json_int_t)pid, "status", DOM_PHYS_ACTIVE,
                       "initial_password", ADMIN_INITIAL_PASSWORD, "must_change_password", 1);
    return 0;
}

/* ---- 申请考核机构
 * ------------------------------------------------------------------------------------------ */

int admin_application_list(admin_job *j, MYSQL *db)
{
    dk_param p[] = {DK_PINT(j->actor.institution_id)};
    json_t *items;
    int rc =
        admin_sql_rows(db,
                       "SELECT x.id, c.code AS cycle_code, x.cycle_id, x.status, x.note, "
                       "x.submitted_at, x.decided_at, x.reason, (SELECT COUNT(*) FROM attachment a "
                       "WHERE a.owner_type = 'assessor_application' AND a.owner_id = x.id AND "
                       "a.deleted_at IS NULL) AS attachments FROM assessor_application x "
                       "LEFT JOIN cycle c ON c.id = x.cycle_id WHERE x.institution_id = ? "
                       "ORDER BY x.id DESC",
                       p, 1, 0, &items, &j->err);
    if (rc) return rc;
    j->out = json_pack("{s:o,s:b,s:b}", "items", items, "can_apply", j->actor.can_apply,
                       "is_assessor", j->actor.is_assessor);
    return 0;
}

int admin_application_create(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"note", "cycle_id", NULL};
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err))) return rc;
    if ((rc = admin_flow_run(j, db, DOM_E_APPLICATION, "apply", j->actor.institution_id, NULL,
                             j->body, &j->out)))
        return rc;
    j->status = 201;
    return 0;
}

int admin_application_attach(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0), inst = 0;
    char st[16] = "";
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(id)};
    int rc =
        dk_mysql_exec(db, "SELECT institution_id, status FROM assessor_application WHERE id = ?", p,
                      1, &res, NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row) inst = strtoll(row[0], NULL, 10), snprintf(st, sizeof st, "%s", row[1]);
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这条申请");
    if (inst != j->actor.institution_id)
        return dk_error_set(&j->err, DK_EFORBIDDEN, "不是本机构的申请");
    if (strcmp(st, "待审核"))
        return dk_error_set(&j->err, DK_ECONFLICT, "申请已审核（%s），不能再上传附件", st);
    long long aid;
    if ((rc = admin_attachment_store(j, db, "assessor_application", id, &aid))) return rc;
    j->status = 201;
    j->out = json_pack("{s:I}", "id", (json_int_t)aid);
    return 0;
}
