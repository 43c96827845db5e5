/* admin_physician.c - the physician's own registration (the exam page's registration
 * part): personal and practice information, the registered photo and its face
 * embedding, procedure and self-assessment, the exemption request with attachments,
 * status and results. Submitting and withdrawing go through the workflow table
 * (POST /api/v1/enrolments/{id}/actions/submit|withdraw).
 *
 * Editing is allowed while the enrolment of the current cycle is 待报名 or 待报名（被机构
 * 驳回） and the registration window is open (or while not enrolled at all): a photo or
 * a self-assessment changed after review would change what was reviewed. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_internal.h"
#include "dom_tests.h"

typedef struct phys_state {
    long long cycle, enrolment, version;
    char status[64];
    int window_open, cycle_open;
} phys_state;

/* The physician's enrolment in the current cycle (enrolment = 0 when none). lock: FOR UPDATE. */
static int phys_state_load(admin_job *j, MYSQL *db, phys_state *st, int lock)
{
    memset(st, 0, sizeof *st);
    int rc = admin_cycle_for(j, db, j->actor.path, &st->cycle);
    if (rc == DK_ENOTFOUND) {
        dk_error_clear(&j->err);
        return 0;
    }
    if (rc) return rc;
    MYSQL_RES *res;
    dk_param pc[] = {DK_PINT(st->cycle)};
    rc = dk_mysql_exec(db,
                       "SELECT NOW(3) >= registration_start AND NOW(3) < registration_end, "
                       "status = 'open' FROM cycle WHERE id = ?",
                       pc, 1, &res, NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row) {
        st->window_open = row[0] && atoi(row[0]) == 1;
        st->cycle_open = row[1] && atoi(row[1]) == 1;
    }
    mysql_free_result(res);
    dk_param p[] = {DK_PINT(j->actor.id), DK_PINT(st->cycle)};
    rc = dk_mysql_exec(
        db,
        lock ? "SELECT id, lock_version, status FROM enrolment WHERE physician_id = ? "
               "AND cycle_id = ? FOR UPDATE"
             : "SELECT id, lock_version, status FROM enrolment WHERE physician_id = ? "
               "AND cycle_id = ?",
        p, 2, &res, NULL, &j->err);
    if (rc) return rc;
    row = mysql_fetch_row(res);
    if (row) {
        st->enrolment = strtoll(row[0], NULL, 10);
        st->version = strtoll(row[1], NULL, 10);
        snprintf(st->status, sizeof st->status, "%s", row[2]);
    }
    mysql_free_result(res);
    return 0;
}

static int phys_editable(admin_job *j, const phys_state *st, int need_enrolment)
{
    if (!st->enrolment) {
        if (need_enrolment)
            return dk_error_set(&j->err, DK_ECONFLICT, "所在机构尚未确认您参加本周期考核");
        return 0;
    }
    if (strcmp(st->status, DOM_ST_TO_REGISTER) && strcmp(st->status, DOM_ST_INST_REJECTED))
        return dk_error_set(&j->err, DK_ECONFLICT, "报名已提交（当前状态「%s」），不能再修改",
                            st->status);
    if (!st->cycle_open) return dk_error_set(&j->err, DK_ECONFLICT, "考核周期未开放或已结束");
    if (!st->window_open) return dk_error_set(&j->err, DK_ECONFLICT, "不在医师报名时间内");
    return 0;
}

/* ---- GET /api/v1/physician/me ---------------------------------------------------------------- */

int admin_phys_me(admin_job *j, MYSQL *db)
{
    phys_state st;
    int rc = phys_state_load(j, db, &st, 0);
    if (rc) return rc;
    json_t *me = NULL, *inst = NULL, *depts = NULL, *exp = NULL, *cycle = json_null(),
           *enrol = json_null(), *ex = json_array(), *tests = json_array();
    dk_param pp[] = {DK_PINT(j->actor.id)}, pi[] = {DK_PINT(j->actor.institution_id)};
    if ((rc = admin_sql_row(
             db,
             "SELECT p.id, p.account, p.id_type, p.id_number, p.name, p.sex, p.birth_date, "
             "p.ethnicity, p.education, p.email, p.mobile, p.department_id, d.name AS "
             "department_name, "
             "p.practice_level, p.practice_category, p.practice_scope, p.specialty, p.title, "
             "p.post, "
             "p.standardized_training, p.qualification_cert_no, p.qualification_date, "
             "p.practice_cert_no, p.practice_cert_date, p.first_registration_date, p.status, "
             "p.photo_path IS NOT NULL AS has_photo, p.face_embedding IS NOT NULL AS "
             "has_embedding, "
             "p.photo_updated_at FROM physician p LEFT JOIN department d ON d.id = p.department_id "
             "WHERE p.id = ?",
             pp, 1, ADMIN_SQL_FULL_ID, NULL, &me, &j->err)) ||
        (rc = admin_sql_row(db,
                            "SELECT i.id, i.code, i.name, i.contact_name, i.contact_phone, "
                            "au.name AS authority_name FROM institution i "
                            "JOIN authority au ON au.id = i.authority_id WHERE i.id = ?",
                            pi, 1, 0, NULL, &inst, &j->err)) ||
        (rc = admin_sql_rows(
             db,
             "SELECT d.id, d.name, GROUP_CONCAT(s.name ORDER BY s.code SEPARATOR '、') "
             "AS subjects FROM department d LEFT JOIN department_subject ds ON "
             "ds.department_id = d.id LEFT JOIN subject s ON s.id = ds.subject_id "
             "WHERE d.institution_id = ? AND d.enabled = 1 GROUP BY d.id ORDER BY d.id",
             pi, 1, 0, &depts, &j->err)) ||
        (rc = admin_sql_rows(
             db,
             "SELECT id, start_date, end_date, institution_name, department, position "
             "FROM physician_experience WHERE physician_id = ? ORDER BY start_date",
             pp, 1, 0, &exp, &j->err)))
        goto fail;
    if (st.cycle) {
        dk_param pc[] = {DK_PINT(st.cycle)};
        json_decref(cycle);
        if ((rc = admin_sql_row(db, "SELECT * FROM cycle WHERE id = ?", pc, 1, 0, NULL, &cycle,
                                &j->err)))
            goto fail;
    }
    if (st.enrolment) {
        dk_param pe[] = {DK_PINT(st.enrolment)};
        json_decref(enrol);
        json_decref(ex);
        json_decref(tests);
        ex = tests = NULL;
        if ((rc = admin_sql_row(
                 db,
                 "SELECT e.*, e.lock_version AS version, asr.name AS assessor_name "
                 "FROM enrolment e LEFT JOIN institution asr ON asr.id = e.assessor_id "
                 "WHERE e.id = ?",
                 pe, 1, 0, NULL, &enrol, &j->err)) ||
            (rc = admin_sql_rows(
                 db,
                 "SELECT id, paper, exemption_type, reason AS description, status, "
                 "lock_version AS version, submitted_at, inst_result, inst_reason, "
                 "assessor_result, assessor_reason, (SELECT COUNT(*) FROM attachment a "
                 "WHERE a.owner_type = 'exemption_request' AND a.owner_id = x.id AND "
                 "a.deleted_at IS NULL) AS attachments FROM exemption_request x "
                 "WHERE enrolment_id = ?",
                 pe, 1, 0, &ex, &j->err)) ||
            (rc = admin_sql_rows(db,
                                 "SELECT paper, IF(paper = '" DOM_PAPER_PUBLIC
                                 "', '人文医学', paper) AS name, "
                                 "required, exempted, result, attempts FROM enrolment_test "
                                 "WHERE enrolment_id = ? ORDER BY paper",
                                 pe, 1, 0, &tests, &j->err)))
            goto fail;
        json_t *proofs;
        if ((rc = admin_sql_rows(db,
                                 "SELECT id, kind, file_name, bytes, mime, uploaded_at FROM "
                                 "attachment WHERE owner_type = 'enrolment' AND owner_id = ? AND "
                                 "deleted_at IS NULL ORDER BY id",
                                 pe, 1, 0, &proofs, &j->err)))
            goto fail;
        json_object_set_new(enrol, "attachments", proofs);
        json_object_set_new(enrol, "actions",
                            dom_flow_actions(&j->actor, DOM_E_ENROLMENT, st.status));
        json_object_set_new(enrol, "editable", json_boolean(phys_editable(j, &st, 1) == 0));
        dk_error_clear(&j->err);
        /* 继续医学教育: the annual verification of each year of the cycle (self-assessment) */
        json_t *cme;
        if ((rc = admin_cme_for_enrolment(j, db, st.enrolment, &cme))) goto fail;
        json_object_set_new(enrol, "cme", cme);
    }
    j->out = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "physician", me, "institution", inst,
                       "departments", depts, "experience", exp, "cycle", cycle, "enrolment", enrol,
                       "exemptions", ex ? ex : json_array(), "tests", tests ? tests : json_array());
    return admin_audit_id_view(db, j, 0, j->actor.id, &j->err);
fail:
    json_decref(me);
    json_decref(inst);
    json_decref(depts);
    json_decref(exp);
    json_decref(cycle);
    json_decref(enrol);
    json_decref(ex);
    json_decref(tests);
    return rc;
}

/* ---- PUT /api/v1/physician/profile ----------------------------------------------------------- */

typedef enum { T_TEXT, T_DATE, T_BOOL, T_ENUM } ftype;

/* max: characters (the column's VARCHAR(n)); label: the page's name of the field */
static const struct {
    const char *key, *label;
    ftype type;
    size_t max;
    const char *values; /* T_ENUM: '|'-separated */
    int notnull;
} profile_fields[] = {
    {"sex", "性别", T_ENUM, 0, "男|女", 0},
    {"practice_level", "医师级别", T_ENUM, 0, "执业医师|执业助理医师", 1},
    {"practice_category", "执业类别", T_ENUM, 0, "临床|中医|口腔|公共卫生", 1},
    {"birth_date", "出生日期", T_DATE, 0, NULL, 0},
    {"ethnicity", "民族", T_TEXT, 16, NULL, 0},
    {"education", "学历", T_TEXT, 16, NULL, 0},
    {"email", "电子邮箱", T_TEXT, 128, NULL, 0},
    {"mobile", "手机号码", T_TEXT, 20, NULL, 0},
    {"specialty", "从事专业", T_TEXT, 64, NULL, 0},
    {"title", "职称", T_TEXT, 32, NULL, 0},
    {"post", "职务", T_TEXT, 32, NULL, 0},
    {"practice_scope", "执业范围", T_TEXT, 64, NULL, 0},
    {"standardized_training", "住院医师规范化培训", T_BOOL, 0, NULL, 0},
    {"qualification_cert_no", "医师资格证书编码", T_TEXT, 32, NULL, 0},
    {"qualification_date", "资格证书取得时间", T_DATE, 0, NULL, 0},
    {"practice_cert_no", "医师执业证书编码", T_TEXT, 32, NULL, 0},
    {"practice_cert_date", "执业证书取得时间", T_DATE, 0, NULL, 0},
    {"first_registration_date", "首次注册时间", T_DATE, 0, NULL, 0},
};

static int enum_ok(const char *values, const char *v)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", values);
    for (char *save, *t = strtok_r(buf, "|", &save); t; t = strtok_r(NULL, "|", &save))
        if (!strcmp(t, v)) return 1;
    return 0;
}

/* Appends "col = ?" for each present field of the table to b. */
static int set_fields(admin_job *j, admin_sqlb *b, int *nset, json_t *changed)
{
    for (size_t i = 0; i < sizeof profile_fields / sizeof profile_fields[0]; i++) {
        json_t *v = json_object_get(j->body, profile_fields[i].key);
        if (!v) continue;
        admin_sqlb_cat(b, *nset ? ", " : " ");
        admin_sqlb_cat(b, profile_fields[i].key);
        admin_sqlb_cat(b, " = ?");
        (*nset)++;
        json_array_append_new(changed, json_string(profile_fields[i].key));
        const char *k = profile_fields[i].label;
        if (json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
            if (profile_fields[i].notnull) return dk_error_set(&j->err, DK_EINVAL, "%s不能为空", k);
            admin_sqlb_param(b, DK_PNULL);
            continue;
        }
        switch (profile_fields[i].type) {
        case T_BOOL:
            if (!json_is_boolean(v))
                return dk_error_set(&j->err, DK_EINVAL, "%s应为是或否（true/false）", k);
            admin_sqlb_param(b, DK_PINT(json_is_true(v)));
            continue;
        default: break;
        }
        if (!json_is_string(v)) return dk_error_set(&j->err, DK_EINVAL, "%s应为文字", k);
        const char *s = json_string_value(v);
        int rc;
        if (profile_fields[i].type == T_DATE && admin_parse_date(s))
            return dk_error_set(&j->err, DK_EINVAL, "%s应为日期（年-月-日，如 2010-07-01）", k);
        if (profile_fields[i].type == T_ENUM && !enum_ok(profile_fields[i].values, s))
            return dk_error_set(&j->err, DK_EINVAL, "%s应为 %s 之一", k, profile_fields[i].values);
        if (profile_fields[i].type == T_TEXT &&
            (rc = dk_text_max(&j->err, k, s, profile_fields[i].max)))
            return rc;
        admin_sqlb_param(b, DK_PSTR(s));
    }
    return 0;
}

/* One text of 执业经历 row i (0-based): *out NULL when absent (or "", unless required). */
static int exp_str(admin_job *j, json_t *row, size_t i, const char *key, const char *label,
                   size_t max, int required, const char **out)
{
    json_t *v = json_is_object(row) ? json_object_get(row, key) : NULL;
    *out = NULL;
    if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
        if (required)
            return dk_error_set(&j->err, DK_EINVAL, "执业经历第 %zu 条缺少%s", i + 1, label);
        return 0;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return dk_error_set(&j->err, DK_EINVAL, "执业经历第 %zu 条的%s应为文字", i + 1, label);
    size_t n = dk_utf8_chars(json_string_value(v), json_string_length(v));
    if (n > max)
        return dk_error_set(&j->err, DK_EINVAL,
                            "执业经历第 %zu 条的%s不能超过 %zu 字（现有 %zu 字）", i + 1, label,
                            max, n);
    *out = json_string_value(v);
    return 0;
}

static int save_experience(admin_job *j, MYSQL *db, json_t *list)
{
    if (!json_is_array(list) || json_array_size(list) > 30)
        return dk_error_set(&j->err, DK_EINVAL, "执业经历最多 30 条（experience 应为数组）");
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        const char *sd, *ed = NULL, *inst, *dept = NULL, *pos = NULL;
        int rc;
        if ((rc = exp_str(j, x, i, "start_date", "起始日期", 10, 1, &sd)) ||
            (rc = exp_str(j, x, i, "end_date", "终止日期", 10, 0, &ed)) ||
            (rc = exp_str(j, x, i, "institution_name", "执业机构", 128, 1, &inst)) ||
            (rc = exp_str(j, x, i, "department", "科室", 64, 0, &dept)) ||
            (rc = exp_str(j, x, i, "position", "职务", 64, 0, &pos)))
            return rc;
        if (admin_parse_date(sd) || (ed && (admin_parse_date(ed) || strcmp(ed, sd) < 0)))
            return dk_error_set(&j->err, DK_EINVAL, "执业经历第 %zu 条的日期不正确", i + 1);
    }
    dk_param p[] = {DK_PINT(j->actor.id)};
    int rc = admin_sql_exec(db, "DELETE FROM physician_experience WHERE physician_id = ?", p, 1,
                            NULL, &j->err);
    json_array_foreach(list, i, x)
    {
        if (rc) break;
        const char *ed = json_string_value(json_object_get(x, "end_date"));
        const char *dept = json_string_value(json_object_get(x, "department"));
        const char *pos = json_string_value(json_object_get(x, "position"));
        if (ed && !*ed) ed = NULL; /* "" is absent, as exp_str read it */
        if (dept && !*dept) dept = NULL;
        if (pos && !*pos) pos = NULL;
        dk_param q[] = {DK_PINT(j->actor.id),
                        DK_PSTR(json_string_value(json_object_get(x, "start_date"))),
                        ed ? DK_PSTR(ed) : DK_PNULL,
                        DK_PSTR(json_string_value(json_object_get(x, "institution_name"))),
                        dept ? DK_PSTR(dept) : DK_PNULL,
                        pos ? DK_PSTR(pos) : DK_PNULL};
        rc = admin_sql_exec(db,
                            "INSERT INTO physician_experience (physician_id, start_date, end_date, "
                            "institution_name, department, position) VALUES (?, ?, ?, ?, ?, ?)",
                            q, 6, NULL, &j->err);
    }
    return rc;
}

int admin_phys_profile(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"sex",
                                       "birth_date",
                                       "ethnicity",
                                       "education",
                                       "email",
                                       "mobile",
                                       "department_id",
                                       "specialty",
                                       "title",
                                       "post",
                                       "practice_scope",
                                       "standardized_training",
                                       "qualification_cert_no",
                                       "qualification_date",
                                       "practice_cert_no",
                                       "practice_cert_date",
                                       "first_registration_date",
                                       "experience",
                                       NULL};
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err))) return rc;
    if ((rc = dk_mysql_begin(db, &j->err))) return rc;
    phys_state st;
    if ((rc = phys_state_load(j, db, &st, 1)) || (rc = phys_editable(j, &st, 0))) return rc;
    admin_sqlb b;
    admin_sqlb_init(&b, "UPDATE physician SET");
    int nset = 0;
    json_t *changed = json_array();
    long long dept = 0;
    json_t *dv = json_object_get(j->body, "department_id");
    if (dv) {
        if (!json_is_integer(dv)) {
            rc = dk_error_set(&j->err, DK_EINVAL, "department_id 应为整数");
            goto out;
        }
        dept = json_integer_value(dv);
        long long ok = 0;
        dk_param q[] = {DK_PINT(dept), DK_PINT(j->actor.institution_id)};
        rc = admin_sql_ll(db,
                          "SELECT COUNT(*) FROM department WHERE id = ? AND institution_id = ? "
                          "AND enabled = 1",
                          q, 2, &ok, &j->err);
        if (rc) goto out;
        if (!ok) {
            rc = dk_error_set(&j->err, DK_EINVAL, "请选择本机构已启用的科室");
            goto out;
        }
        admin_sqlb_cat(&b, " department_id = ?");
        admin_sqlb_param(&b, DK_PINT(dept));
        nset++;
        json_array_append_new(changed, json_string("department_id"));
    }
    if ((rc = set_fields(j, &b, &nset, changed))) goto out;
    if (nset) {
        admin_sqlb_cat(&b, " WHERE id = ?");
        admin_sqlb_param(&b, DK_PINT(j->actor.id));
        if ((rc = admin_sql_exec(db, b.sql, b.p, b.np, NULL, &j->err))) goto out;
    }
    json_t *exp = json_object_get(j->body, "experience");
    if (exp) {
        if ((rc = save_experience(j, db, exp))) goto out;
        json_array_append_new(changed, json_string("experience"));
    }
    json_t *d = json_pack("{s:O}", "fields", changed);
    rc = admin_audit(db, j, 0, "update_profile", "physician", j->actor.id, NULL, NULL, NULL, NULL,
                     d, &j->err);
    json_decref(d);
    if (!rc) rc = dk_mysql_commit(db, &j->err);
    if (!rc) j->out = json_pack("{s:O}", "updated", changed);
out:
    json_decref(changed);
    admin_sqlb_free(&b);
    return rc;
}

/* ---- PUT /api/v1/physician/registration: procedure + self-assessment (a draft) --------------- */

int admin_phys_registration(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"procedure_type",
                                       "sa_patient_visits",
                                       "sa_operations",
                                       "sa_examinations",
                                       "sa_other_workload",
                                       "sa_work_text",
                                       "sa_ethics_text",
                                       "sa_report_text",
                                       "sa_simple_condition",
                                       "sa_good_record",
                                       "sa_bad_record",
                                       "version",
                                       NULL};
    static const struct {
        const char *key, *label;
        int kind;   /* 0 text, 1 count, 2 bool */
        size_t max; /* text: characters (VARCHAR(n); MEDIUMTEXT holds far more than 60000) */
    } f[] = {{"procedure_type", "考核程序", 0, 16},
             {"sa_patient_visits", "接诊病人数", 1, 9999999},
             {"sa_operations", "手术量", 1, 9999999},
             {"sa_examinations", "检验/检查量", 1, 99999999},
             {"sa_other_workload", "其他工作量", 0, 1000},
             {"sa_work_text", "工作成绩自评", 0, 60000},
             {"sa_ethics_text", "职业道德自评", 0, 60000},
             {"sa_report_text", "个人述职报告", 0, 60000},
             {"sa_simple_condition", "简易程序适用条件", 0, 255},
             {"sa_good_record", "良好执业行为记录", 2, 0},
             {"sa_bad_record", "不良执业行为记录", 2, 0}};
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err))) return rc;
    const char *proc = json_string_value(json_object_get(j->body, "procedure_type"));
    if (proc && strcmp(proc, DOM_PROC_SIMPLE) && strcmp(proc, DOM_PROC_GENERAL))
        return dk_error_set(&j->err, DK_EINVAL, "procedure_type 应为「简易程序」或「一般程序」");
    if ((rc = dk_mysql_begin(db, &j->err))) return rc;
    phys_state st;
    if ((rc = phys_state_load(j, db, &st, 1)) || (rc = phys_editable(j, &st, 1))) return rc;
    json_t *ver = json_object_get(j->body, "version");
    if (ver && (!json_is_integer(ver) || json_integer_value(ver) != st.version))
        return dk_error_set(&j->err, DK_ECONFLICT, "报名信息已在别处修改，请刷新后重试");
    admin_sqlb b;
    admin_sqlb_init(&b, "UPDATE enrolment SET lock_version = lock_version + 1");
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        json_t *v = json_object_get(j->body, f[i].key);
        if (!v) continue;
        admin_sqlb_cat(&b, ", ");
        admin_sqlb_cat(&b, f[i].key);
        admin_sqlb_cat(&b, " = ?");
        if (json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
            admin_sqlb_param(&b, DK_PNULL);
        } else if (f[i].kind == 1) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > (long long)f[i].max) {
                rc = dk_error_set(&j->err, DK_EINVAL, "%s应为 0 到 %zu 之间的整数", f[i].label,
                                  f[i].max);
                goto out;
            }
            admin_sqlb_param(&b, DK_PINT(json_integer_value(v)));
        } else if (f[i].kind == 2) {
            if (!json_is_boolean(v)) {
                rc = dk_error_set(&j->err, DK_EINVAL, "%s应为有或无（true/false）", f[i].label);
                goto out;
            }
            admin_sqlb_param(&b, DK_PINT(json_is_true(v)));
        } else {
            if (!json_is_string(v)) {
                rc = dk_error_set(&j->err, DK_EINVAL, "%s应为文字", f[i].label);
                goto out;
            }
            if ((rc = dk_text_max(&j->err, f[i].label, json_string_value(v), f[i].max))) goto out;
            admin_sqlb_param(&b, DK_PSTR(json_string_value(v)));
        }
    }
    admin_sqlb_cat(&b, " WHERE id = ?");
    admin_sqlb_param(&b, DK_PINT(st.enrolment));
    if ((rc = admin_sql_exec(db, b.sql, b.p, b.np, NULL, &j->err)) ||
        (rc = admin_audit(db, j, 0, "save_registration", "enrolment", st.enrolment, NULL, st.status,
                          st.status, NULL, NULL, &j->err)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        goto out;
    j->out = json_pack("{s:I,s:I,s:s}", "enrolment_id", (json_int_t)st.enrolment, "version",
                       (json_int_t)(st.version + 1), "status", st.status);
out:
    admin_sqlb_free(&b);
    return rc;
}

/* ---- the registered photo -------------------------------------------------------------------- */

/* A photo that cannot be registered: 422 (413 when too large) with a Chinese message the
 * physician can act on and, beside it, what was found, as examd's camera check reports it:
 * {"faces": N, "flag": "no_face" | "multiple_faces" | "bad_image"}. Pages use the fields. */
static int photo_refused(admin_job *j, int code, int faces, proctor_flag flag)
{
    if (code != DK_ETOOBIG) code = DK_EUNPROCESSABLE;
    if (flag == PROCTOR_FLAG_NONE || flag == PROCTOR_FLAG_LOW_SIMILARITY)
        flag = PROCTOR_FLAG_BAD_IMAGE;
    json_decref(j->err_fields);
    j->err_fields = json_pack("{s:i,s:s}", "faces", faces, "flag", proctor_flag_name(flag));
    if (code == DK_ETOOBIG)
        return dk_error_set(
            &j->err, code, "照片过大：请上传不超过 %d MB、宽和高不超过 %d×%d 像素的 JPEG 照片",
            ADMIN_PHOTO_MAX >> 20, j->srv->popts.max_width, j->srv->popts.max_height);
    if (flag == PROCTOR_FLAG_NO_FACE)
        return dk_error_set(&j->err, code,
                            "照片中没有检测到人脸：请上传本人近期正面免冠照片，面部完整清晰、"
                            "光线充足");
    if (flag == PROCTOR_FLAG_MULTIPLE_FACES)
        return dk_error_set(&j->err, code,
                            "照片中检测到 %d 张人脸：照片中只能有本人一人，请重新拍摄或另选照片",
                            faces);
    return dk_error_set(&j->err, code, "照片无法识别：请上传一张清晰的 JPEG 照片");
}

int admin_phys_photo_put(admin_job *j, MYSQL *db)
{
    int w = 0, h = 0, rc;
    dk_error perr = {0};
    if (proctor_jpeg_check(j->raw, j->raw_len, &j->srv->popts, &w, &h, &perr)) {
        DK_INFO("admind", "registered photo refused physician=%lld reason=\"%s\"", j->actor.id,
                perr.msg);
        return photo_refused(j, perr.code, 0, PROCTOR_FLAG_BAD_IMAGE);
    }
    if ((rc = dk_mysql_begin(db, &j->err))) return rc;
    phys_state st;
    if ((rc = phys_state_load(j, db, &st, 1)) || (rc = phys_editable(j, &st, 0))) return rc;
    char old[512] = "";
    dk_param pp[] = {DK_PINT(j->actor.id)};
    if ((rc = admin_sql_str(db,
                            "SELECT IFNULL(photo_path, '') FROM physician WHERE id = ? FOR UPDATE",
                            pp, 1, old, sizeof old, &j->err)))
        return rc;
    /* The face first: a refused photo changes nothing. Degraded (no models here): the
     * photo is stored without its embedding, which the proctor workers compute later. */
    admin_photo_ctx *pc = j->thread_ctx;
    int degraded = !(pc && pc->engine && !proctor_engine_degraded(pc->engine));
    proctor_embedding emb;
    unsigned char packed[PROCTOR_EMB_MAX * 4];
    size_t npacked = 0;
    if (!degraded) {
        proctor_result res;
        dk_error e = {0};
        rc = proctor_embed(pc->engine, j->raw, j->raw_len, &emb, &res, &e);
        if (rc == DK_EUNPROCESSABLE || rc == DK_ETOOBIG) {
            DK_INFO("admind", "registered photo refused physician=%lld faces=%d reason=\"%s\"",
                    j->actor.id, res.faces, e.msg);
            return photo_refused(j, rc, res.faces, res.flag);
        }
        if (rc == DK_EBUSY)
            degraded = 1;
        else if (rc) {
            j->err = e;
            return rc;
        } else if (!(npacked = proctor_embedding_pack(&emb, packed, sizeof packed)))
            return dk_error_set(&j->err, DK_EINTERNAL, "empty embedding");
    }
    unsigned char digest[32];
    char hex[65], dir[512], path[600];
    crypto_hash_sha256(digest, j->raw, j->raw_len);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    snprintf(dir, sizeof dir, "%s/photos/%lld", dk_config_str(j->srv->cfg, "data_dir"),
             j->actor.id);
    snprintf(path, sizeof path, "%s/%s.jpg", dir, hex);
    if (admin_mkdirs(dir) || admin_write_file(path, j->raw, j->raw_len)) {
        DK_ERROR("admind", "cannot store registered photo dir=%s", dir);
        return dk_error_set(&j->err, DK_EIO, "照片保存失败，请稍后重试");
    }
    /* the embedding as proctor stores it (proctor_embedding_pack, the model's name) */
    dk_param u[] = {DK_PSTR(path), DK_PSTR(hex),
                    npacked ? DK_PSTRN((const char *)packed, npacked) : DK_PNULL,
                    npacked ? DK_PSTR(emb.model) : DK_PNULL, DK_PINT(j->actor.id)};
    if ((rc = admin_sql_exec(db,
                             "UPDATE physician SET photo_path = ?, photo_sha256 = ?, "
                             "photo_updated_at = NOW(3), face_embedding = ?, face_model = ? "
                             "WHERE id = ?",
                             u, 5, NULL, &j->err)))
        goto undo;
    int embedded = npacked > 0;
    json_t *d = json_pack("{s:s,s:I,s:b}", "sha256", hex, "bytes", (json_int_t)j->raw_len,
                          "embedded", embedded);
    rc = admin_audit(db, j, 0, "upload_photo", "physician", j->actor.id, NULL, NULL, NULL, NULL, d,
                     &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) goto undo;
    if (old[0] && strcmp(old, path)) unlink(old); /* the old photo is no longer needed */
    j->out = json_pack("{s:b,s:b,s:b,s:s,s:i,s:i}", "has_photo", 1, "embedded", embedded,
                       "degraded", degraded, "sha256", hex, "width", w, "height", h);
    return 0;
undo:
    dk_mysql_rollback(db);
    if (strcmp(old, path)) unlink(path);
    return rc ? rc : j->err.code;
}

int admin_phys_photo_get(admin_job *j, MYSQL *db)
{
    char path[512] = "";
    dk_param p[] = {DK_PINT(j->actor.id)};
    int rc = admin_sql_str(db, "SELECT IFNULL(photo_path, '') FROM physician WHERE id = ?", p, 1,
                           path, sizeof path, &j->err);
    if (rc) return rc;
    size_t len;
    if (!path[0] || admin_read_file(path, ADMIN_PHOTO_MAX, &j->bytes, &len))
        return dk_error_set(&j->err, DK_ENOTFOUND, "尚未上传本人照片");
    j->bytes_len = len;
    j->ctype = "image/jpeg";
    return 0;
}

/* ---- exemption
 * ------------------------------------------------------------------------------------ */

int admin_phys_exemption(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"exemption_type", "description", NULL};
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err))) return rc;
    phys_state st;
    if ((rc = phys_state_load(j, db, &st, 0))) return rc;
    if (!st.enrolment)
        return dk_error_set(&j->err, DK_ECONFLICT, "所在机构尚未确认您参加本周期考核");
    if ((rc = admin_flow_run(j, db, DOM_E_EXEMPTION, "request", st.enrolment, NULL, j->body,
                             &j->out)))
        return rc;
    j->status = 201;
    return 0;
}

int admin_phys_exemption_attach(admin_job *j, MYSQL *db)
{
    phys_state st;
    int rc = phys_state_load(j, db, &st, 0);
    if (rc) return rc;
    if ((rc = phys_editable(j, &st, 1))) return rc;
    long long xid = 0;
    dk_param p[] = {DK_PINT(st.enrolment)};
    rc = admin_sql_ll(db,
                      "SELECT id FROM exemption_request WHERE enrolment_id = ? AND "
                      "status = '" DOM_ST_INST_REVIEW "' LIMIT 1",
                      p, 1, &xid, &j->err);
    if (rc == DK_ENOTFOUND)
        return dk_error_set(&j->err, DK_ECONFLICT, "请先提交免考申请，再上传附件");
    long long aid;
    if (rc || (rc = admin_attachment_store(j, db, "exemption_request", xid, &aid))) return rc;
    j->status = 201;
    j->out = json_pack("{s:I,s:I}", "id", (json_int_t)aid, "exemption_id", (json_int_t)xid);
    return 0;
}

/* ---- 简易程序 proofs (seed [002] 查看医师上传的凭证): files on the enrolment itself,
 * uploaded and deleted while the registration is editable; the institution and the 考核机构
 * open them from the review page (GET /attachments/{id}, audited) ------------------------- */

/* The kinds a physician may upload on the enrolment (attachment.kind). */
static const char *const proof_kinds[] = {"简易程序申请材料", "个人述职报告", NULL};

int admin_phys_proof_upload(admin_job *j, MYSQL *db)
{
    const char *kind = admin_q(j, "kind");
    int known = !kind;
    for (int i = 0; kind && proof_kinds[i]; i++)
        known |= !strcmp(kind, proof_kinds[i]);
    if (!known)
        return dk_error_set(&j->err, DK_EINVAL, "kind 应为 简易程序申请材料 或 个人述职报告");
    phys_state st;
    long long aid;
    int rc;
    /* the enrolment row is locked: a submit waits for the upload, never sees half of it */
    if ((rc = dk_mysql_begin(db, &j->err)) || (rc = phys_state_load(j, db, &st, 1)) ||
        (rc = phys_editable(j, &st, 1)) ||
        (rc = admin_attachment_store(j, db, "enrolment", st.enrolment, &aid)) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->status = 201;
    j->out = json_pack("{s:I,s:I,s:s}", "id", (json_int_t)aid, "enrolment_id",
                       (json_int_t)st.enrolment, "kind", kind ? kind : "附件");
    return 0;
}

int admin_phys_proof_delete(admin_job *j, MYSQL *db)
{
    long long aid = admin_param_id(j, 0);
    phys_state st;
    uint64_t n = 0;
    int rc;
    if ((rc = dk_mysql_begin(db, &j->err)) || (rc = phys_state_load(j, db, &st, 1)) ||
        (rc = phys_editable(j, &st, 1)))
        return rc;
    char name[256] = "", path[512] = "";
    dk_param p[] = {DK_PINT(aid), DK_PINT(st.enrolment)};
    MYSQL_RES *res;
    if ((rc = dk_mysql_exec(db,
                            "SELECT file_name, path FROM attachment WHERE id = ? AND owner_type = "
                            "'enrolment' AND owner_id = ? AND deleted_at IS NULL FOR UPDATE",
                            p, 2, &res, NULL, &j->err)))
        return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row) snprintf(name, sizeof name, "%s", row[0]), snprintf(path, sizeof path, "%s", row[1]);
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_ENOTFOUND, "本次报名没有这个附件");
    json_t *d = json_pack("{s:I,s:s}", "attachment_id", (json_int_t)aid, "file_name", name);
    if (!(rc = admin_sql_exec(db, "UPDATE attachment SET deleted_at = NOW(3) WHERE id = ?", p, 1,
                              &n, &j->err)))
        rc = admin_audit(db, j, 0, "delete_attachment", "enrolment", st.enrolment, NULL, NULL,
                         NULL, NULL, d, &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    /* the file goes too (nothing reads a deleted attachment; repeated uploads and deletions
     * must not fill the disk), unless another live row holds the same content. Only after the
     * commit (a failed commit keeps the row, so it must keep its file), counted afresh then. */
    long long others = 1;
    dk_param pp[] = {DK_PSTR(path)};
    dk_error e = {0};
    if (admin_sql_ll(db, "SELECT COUNT(*) FROM attachment WHERE path = ? AND deleted_at IS NULL",
                     pp, 1, &others, &e))
        DK_WARN("admind", "cannot count the rows of attachment file id=%lld: %s", aid, e.msg);
    else if (!others) {
        char full[800];
        snprintf(full, sizeof full, "%s/%s", dk_config_str(j->srv->cfg, "data_dir"), path);
        if (unlink(full) != 0) DK_WARN("admind", "cannot delete attachment file id=%lld", aid);
    }
    j->out = json_pack("{s:I,s:b}", "id", (json_int_t)aid, "deleted", 1);
    return 0;
}

/* ---- GET /api/v1/physician/results: every cycle
 * ---------------------------------------------------- */

/* 测评情况 of one enrolment as the results list says it: the papers its procedure requires
 * (dom_paper_states: 一般程序 人文医学 + 业务水平, 简易程序 人文医学), each with its result or
 * 未测评, and the exempted ones as 免考 ("人文医学:合格；业务水平:免考"). NULL before a
 * procedure is chosen. */
static int results_tests(MYSQL *db, json_t *item, dk_error *err)
{
    const char *proc = json_string_value(json_object_get(item, "procedure_type"));
    json_t *eid = json_object_get(item, "enrolment_id");
    if (!proc || !*proc || !json_is_integer(eid)) {
        json_object_set_new(item, "tests", json_null());
        return 0;
    }
    dom_paper_state st[2];
    int rc = dom_paper_states(db, json_integer_value(eid), proc, st, err);
    if (rc) return rc;
    char buf[128] = "";
    size_t n = 0;
    for (int i = 0; i < 2; i++) {
        if (!st[i].required && !st[i].exempted) continue;
        const char *what = st[i].exempted ? "免考" : st[i].result[0] ? st[i].result : "未测评";
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s:%s", n ? "；" : "",
                              i == 0 ? "人文医学" : dom_papers[i], what);
        if (n >= sizeof buf) n = sizeof buf - 1;
    }
    json_object_set_new(item, "tests", n ? json_string(buf) : json_null());
    return 0;
}

int admin_phys_results(admin_job *j, MYSQL *db)
{
    dk_param p[] = {DK_PINT(j->actor.id)};
    json_t *items, *it;
    int rc = admin_sql_rows(
        db,
        "SELECT e.id AS enrolment_id, c.code AS cycle_code, c.name AS cycle_name, c.period_start, "
        "c.period_end, e.status, e.procedure_type, e.result, e.result_reason, e.completed_at, "
        "(SELECT x.status FROM exemption_request x WHERE x.enrolment_id = e.id LIMIT 1) "
        "AS exemption_status, (e.status = '" DOM_ST_DONE "' AND e.result = '" DOM_RESULT_PASS
        "' AND EXISTS (SELECT 1 "
        "FROM certificate x WHERE x.enrolment_id = e.id)) AS certificate "
        "FROM enrolment e JOIN cycle c ON c.id = e.cycle_id WHERE e.physician_id = ? "
        "ORDER BY c.period_start DESC",
        p, 1, 0, &items, &j->err);
    if (rc) return rc;
    size_t i;
    json_array_foreach(items, i, it)
    {
        if ((rc = results_tests(db, it, &j->err))) break;
    }
    if (rc) {
        json_decref(items);
        return rc;
    }
    j->out = json_pack("{s:o}", "items", items);
    return 0;
}
