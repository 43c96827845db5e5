/* admin_enrol.c - enrolments and exemption requests as the review pages show them: the
 * detail page (personal and practice information with the whole ID number for those in
 * scope, 执业经历, 不良记录, self-assessment, evaluations, 多执业机构其它意见, exemptions,
 * tests, the 提交日志 / 操作日志), the actions endpoints (through admin_flow_run), the
 * review queues of institutions, 考核机构 and authorities, attachments and the pass
 * certificate. Database worker threads only. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "admin_export.h"

typedef struct enrol_scope {
    long long id, physician_id, institution_id, assessor_id, cycle_id, version;
    char status[64], path[256];
} enrol_scope;

/* The role a view of the enrolment's physician is audited in: an institution that is not
 * the physician's sees it as the enrolment's 考核机构. */
static unsigned id_view_role(const admin_job *j, const enrol_scope *s)
{
    return j->actor.kind == 'i' && s->institution_id != j->actor.institution_id ? ADMIN_R_ASSESSOR
                                                                                : 0;
}

/* Loads an enrolment and checks the actor may see it: its physician, its institution,
 * its 考核机构, or an authority above the institution. */
static int enrol_load(admin_job *j, MYSQL *db, long long eid, enrol_scope *s)
{
    memset(s, 0, sizeof *s);
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(eid)};
    int rc =
        dk_mysql_exec(db,
                      "SELECT e.id, e.physician_id, e.institution_id, IFNULL(e.assessor_id, 0), "
                      "e.cycle_id, e.status, au.path, e.lock_version FROM enrolment e "
                      "JOIN institution i ON i.id = e.institution_id "
                      "JOIN authority au ON au.id = i.authority_id WHERE e.id = ?",
                      p, 1, &res, NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row) {
        s->id = strtoll(row[0], NULL, 10);
        s->physician_id = strtoll(row[1], NULL, 10);
        s->institution_id = strtoll(row[2], NULL, 10);
        s->assessor_id = strtoll(row[3], NULL, 10);
        s->cycle_id = strtoll(row[4], NULL, 10);
        snprintf(s->status, sizeof s->status, "%s", row[5]);
        snprintf(s->path, sizeof s->path, "%s", row[6]);
        s->version = strtoll(row[7], NULL, 10);
    }
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这条报名记录");
    const admin_actor *a = &j->actor;
    int ok = (a->kind == 'p' && s->physician_id == a->id) ||
             (a->kind == 'i' && s->institution_id == a->institution_id) ||
             (a->kind == 'i' && a->is_assessor && s->assessor_id == a->institution_id) ||
             (a->kind == 'a' && dom_path_covers(a->path, s->path));
    return ok ? 0 : dk_error_set(&j->err, DK_EFORBIDDEN, "不在本账号的管辖范围内");
}

static int enrol_log_json(admin_job *j, MYSQL *db, long long eid, json_t **out)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", eid);
    dk_param p[] = {DK_PSTR(sid), DK_PINT(eid), DK_PINT(eid), DK_PINT(eid)};
    return admin_sql_rows(
        db,
        "SELECT l.id, l.created_at, l.actor_type, l.role, "
        "CASE l.actor_type WHEN 'physician' THEN (SELECT name FROM physician WHERE id = "
        "l.actor_id) "
        " WHEN 'authority' THEN (SELECT display_name FROM authority_account WHERE id = l.actor_id) "
        " WHEN 'system' THEN '系统' "
        " WHEN 'reviewer' THEN (SELECT CONCAT(r.display_name, '（', i.name, '信息审核员）') "
        "  FROM institution_reviewer r JOIN institution i ON i.id = r.institution_id "
        "  WHERE r.id = l.actor_id) "
        " ELSE (SELECT name FROM institution WHERE id = l.actor_id) END AS actor_name, "
        "l.action, l.entity_type, l.entity_id, l.from_status, l.to_status, l.reason "
        "FROM audit_log l WHERE (l.entity_type = 'enrolment' AND l.entity_id = ?) "
        "OR (l.entity_type = 'exemption_request' AND l.entity_id IN "
        " (SELECT CAST(id AS CHAR) COLLATE utf8mb4_unicode_ci FROM exemption_request WHERE "
        "enrolment_id = ?)) "
        "OR (l.entity_type IN ('exam_session', 'invigilation') AND l.entity_id IN "
        " (SELECT id FROM exam_session WHERE enrolment_id = ?)) "
        "OR (l.entity_type = 'attachment' AND l.entity_id IN (SELECT CAST(a.id AS CHAR) "
        " COLLATE utf8mb4_unicode_ci FROM attachment a WHERE a.owner_type = 'enrolment' AND "
        " a.owner_id = ?)) "
        "ORDER BY l.created_at, l.id",
        p, 4, 0, out, &j->err);
}

/* ---- GET /api/v1/enrolments/{id} ------------------------------------------------------------- */

int admin_enrolment_get(admin_job *j, MYSQL *db)
{
    long long eid = admin_param_id(j, 0);
    enrol_scope s;
    int rc = enrol_load(j, db, eid, &s);
    if (rc) return rc;
    json_t *e = NULL, *ph = NULL, *exp = NULL, *conduct = NULL, *ops = NULL, *ex = NULL,
           *att = NULL, *tests = NULL, *sess = NULL, *log = NULL;
    dk_param pe[] = {DK_PINT(eid)}, pp[] = {DK_PINT(s.physician_id)},
             p2[] = {DK_PINT(eid), DK_PINT(eid)};
    if ((rc = admin_sql_row(db,
                            "SELECT e.*, e.lock_version AS version, c.code AS cycle_code, "
                            "c.name AS cycle_name, i.name AS institution_name, "
                            "i.code AS institution_code, asr.name AS assessor_name "
                            "FROM enrolment e JOIN cycle c ON c.id = e.cycle_id "
                            "JOIN institution i ON i.id = e.institution_id "
                            "LEFT JOIN institution asr ON asr.id = e.assessor_id WHERE e.id = ?",
                            pe, 1, 0, NULL, &e, &j->err)) ||
        (rc = admin_sql_row(
             db,
             "SELECT p.id, p.id_type, p.id_number, p.name, p.sex, p.birth_date, "
             "TIMESTAMPDIFF(YEAR, p.birth_date, CURDATE()) AS age, p.ethnicity, p.education, "
             "p.email, p.mobile, p.account, p.department_id, d.name AS department_name, "
             "p.practice_level, p.practice_category, p.practice_scope, p.specialty, p.title, "
             "p.post, p.standardized_training, p.qualification_cert_no, p.qualification_date, "
             "p.practice_cert_no, p.practice_cert_date, p.first_registration_date, p.status, "
             "p.photo_path IS NOT NULL AS has_photo, p.face_embedding IS NOT NULL AS "
             "has_embedding, "
             "p.photo_updated_at FROM physician p LEFT JOIN department d ON d.id = p.department_id "
             "WHERE p.id = ?",
             pp, 1, ADMIN_SQL_FULL_ID, NULL, &ph, &j->err)) ||
        (rc = admin_sql_rows(db,
                             "SELECT id, start_date, end_date, institution_name, department, "
                             "position FROM physician_experience WHERE physician_id = ? "
                             "ORDER BY start_date",
                             pp, 1, 0, &exp, &j->err)) ||
        (rc = admin_sql_rows(db,
                             "SELECT id, kind, institution_name, closed_on, outcome, points, source "
                             "FROM conduct_record WHERE physician_id = ? ORDER BY id",
                             pp, 1, 0, &conduct, &j->err)) ||
        (rc = admin_sql_rows(db,
                             "SELECT id, other_institution_id, other_institution_name, opinion, "
                             "created_at FROM enrolment_opinion WHERE enrolment_id = ? ORDER BY id",
                             pe, 1, 0, &ops, &j->err)) ||
        (rc = admin_sql_rows(db,
                             "SELECT id, paper, exemption_type, reason AS description, status, "
                             "lock_version AS version, submitted_at, inst_result, inst_reason, "
                             "inst_decided_at, assessor_result, assessor_reason, "
                             "assessor_decided_at FROM exemption_request WHERE enrolment_id = ?",
                             pe, 1, 0, &ex, &j->err)) ||
        (rc = admin_sql_rows(db,
                             "SELECT id, owner_type, owner_id, kind, file_name, bytes, mime, "
                             "uploaded_at FROM attachment WHERE deleted_at IS NULL AND "
                             "((owner_type = 'enrolment' AND owner_id = ?) OR "
                             "(owner_type = 'exemption_request' AND owner_id IN "
                             "(SELECT id FROM exemption_request WHERE enrolment_id = ?)))",
                             p2, 2, 0, &att, &j->err)) ||
        (rc = admin_sql_rows(db,
                             "SELECT paper, IF(paper = '" DOM_PAPER_PUBLIC
                             "', '人文医学', paper) AS name, "
                             "required, exempted, result, attempts, last_session_id "
                             "FROM enrolment_test WHERE enrolment_id = ? ORDER BY paper",
                             pe, 1, 0, &tests, &j->err)) ||
        (rc = admin_sql_rows(db,
                             "SELECT s.id, s.paper, s.attempt, s.status, s.started_at, "
                             "s.submitted_at, r.score, r.total, r.pass_mark, r.passed, "
                             "r.cheating_confirmed, r.final_passed, "
                             "IFNULL(v.mark_status, '无') AS mark_status FROM exam_session s "
                             "LEFT JOIN exam_result r ON r.session_id = s.id "
                             "LEFT JOIN invigilation v ON v.session_id = s.id "
                             "WHERE s.enrolment_id = ? ORDER BY s.started_at",
                             pe, 1, 0, &sess, &j->err)) ||
        (rc = enrol_log_json(j, db, eid, &log)))
        goto fail;
    size_t i;
    json_t *x;
    json_array_foreach(ex, i, x)
    {
        json_object_set_new(x, "actions",
                            dom_flow_actions(&j->actor, DOM_E_EXEMPTION,
                                             json_string_value(json_object_get(x, "status"))));
    }
    /* 继续医学教育 annual verification of each year of the cycle, shown to every reviewer */
    json_t *cme;
    if ((rc = admin_cme_for_enrolment(j, db, eid, &cme))) goto fail;
    json_object_set_new(e, "cme", cme);
    j->out =
        json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "enrolment", e, "physician", ph,
                  "experience", exp, "conduct_records", conduct, "opinions", ops, "exemptions", ex,
                  "attachments", att, "tests", tests, "sessions", sess, "log", log, "actions",
                  dom_flow_actions(&j->actor, DOM_E_ENROLMENT, s.status));
    return admin_audit_id_view(db, j, id_view_role(j, &s), s.physician_id, &j->err);
fail:
    json_decref(e);
    json_decref(ph);
    json_decref(exp);
    json_decref(conduct);
    json_decref(ops);
    json_decref(ex);
    json_decref(att);
    json_decref(tests);
    json_decref(sess);
    json_decref(log);
    return rc;
}

int admin_enrolment_log(admin_job *j, MYSQL *db)
{
    long long eid = admin_param_id(j, 0);
    enrol_scope s;
    int rc = enrol_load(j, db, eid, &s);
    json_t *log;
    if (rc || (rc = enrol_log_json(j, db, eid, &log))) return rc;
    j->out = json_pack("{s:o}", "items", log);
    return 0;
}

/* ---- actions --------------------------------------------------------------------------------- */

int admin_enrolment_action(admin_job *j, MYSQL *db)
{
    long long eid = admin_param_id(j, 0);
    const char *action = j->params[1];
    if (!eid) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这条报名记录");
    if (!strcmp(action, "confirm"))
        return dk_error_set(&j->err, DK_ENOTFOUND,
                            "确认参加请使用 POST /api/v1/institution/physicians/{id}/confirm");
    /* a 信息审核员 reviews: 审核 and 复核 only (not 退出本周期 for a physician, nor 驳回 as an
     * authority would) */
    if (j->actor.reviewer_id && strcmp(action, "inst_pass") && strcmp(action, "inst_reject") &&
        strcmp(action, "assessor_pass") && strcmp(action, "assessor_reject"))
        return dk_error_set(&j->err, DK_EFORBIDDEN, "信息审核员只能进行审核、复核操作");
    if (!strcmp(action, "inst_pass")) { /* a province may require the CME verification */
        int rc = admin_cme_assessment_check(j, db, eid);
        if (rc) return rc;
    }
    return admin_flow_run(j, db, DOM_E_ENROLMENT, action, eid, NULL, j->body, &j->out);
}

int admin_exemption_action(admin_job *j, MYSQL *db)
{
    long long xid = admin_param_id(j, 0);
    const char *action = j->params[1];
    if (!xid) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这条免考申请");
    if (!strcmp(action, "request"))
        return dk_error_set(&j->err, DK_ENOTFOUND,
                            "申请免考请使用 POST /api/v1/physician/exemption");
    return admin_flow_run(j, db, DOM_E_EXEMPTION, action, xid, NULL, j->body, &j->out);
}

/* POST /api/v1/enrolments/{id}/opinions: 多执业机构其它意见, while the institution reviews. */
int admin_enrolment_opinion(admin_job *j, MYSQL *db)
{
    long long eid = admin_param_id(j, 0);
    static const char *const keys[] = {"other_institution_name", "other_institution_id", "opinion",
                                       NULL};
    const char *name, *opinion;
    long long other;
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_str(j->body, "other_institution_name", 128, &name, &j->err)) ||
        (rc = dk_json_str(j->body, "opinion", 2000, &opinion, &j->err)) ||
        (rc = dk_json_int_opt(j->body, "other_institution_id", 1, 1LL << 53, 0, &other, &j->err)))
        return rc;
    if ((rc = dk_mysql_begin(db, &j->err))) return rc;
    dk_param pl[] = {DK_PINT(eid)};
    if ((rc = dk_mysql_exec(db, "SELECT id FROM enrolment WHERE id = ? FOR UPDATE", pl, 1, NULL,
                            NULL, &j->err)))
        return rc;
    enrol_scope s;
    if ((rc = enrol_load(j, db, eid, &s))) return rc;
    if (s.institution_id != j->actor.institution_id)
        return dk_error_set(&j->err, DK_EFORBIDDEN, "只有医师所在的医疗卫生机构可以录入其它意见");
    if (strcmp(s.status, DOM_ST_INST_REVIEW) && strcmp(s.status, DOM_ST_INST_REVIEW_AGAIN))
        return dk_error_set(&j->err, DK_ECONFLICT, "当前状态为「%s」，只有待机构审核时可以新增意见",
                            s.status);
    if (other) {
        long long found;
        dk_param q[] = {DK_PINT(other)};
        if ((rc = admin_sql_ll(db, "SELECT id FROM institution WHERE id = ?", q, 1, &found,
                               &j->err)))
            return rc == DK_ENOTFOUND ? dk_error_set(&j->err, DK_EINVAL, "没有这个机构") : rc;
    }
    dk_param p[] = {DK_PINT(eid), other ? DK_PINT(other) : DK_PNULL, DK_PSTR(name),
                    DK_PSTR(opinion)};
    if ((rc = admin_sql_exec(db,
                             "INSERT INTO enrolment_opinion (enrolment_id, other_institution_id, "
                             "other_institution_name, opinion) VALUES (?, ?, ?, ?)",
                             p, 4, NULL, &j->err)))
        return rc;
    long long oid = (long long)mysql_insert_id(db);
    json_t *d = json_pack("{s:I,s:s}", "opinion_id", (json_int_t)oid, "other_institution", name);
    rc = admin_audit(db, j, ADMIN_R_INST, "add_opinion", "enrolment", eid, NULL, s.status, s.status,
                     opinion, d, &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    j->status = 201;
    j->out = json_pack("{s:I}", "id", (json_int_t)oid);
    return 0;
}

/* ---- review queues
 * -------------------------------------------------------------------------------- */

#define ENROL_COLS                                                                                 \
    "e.id AS enrolment_id, e.lock_version AS version, e.status, e.procedure_type, "                \
    "e.submitted_at, e.result, " ADMIN_PHYS_COLS ", "                                              \
    "(SELECT x.status FROM exemption_request x WHERE x.enrolment_id = e.id LIMIT 1) "              \
    "AS exemption_status"

int admin_enrol_queue_sql(admin_job *j, MYSQL *db, admin_sqlb *b, admin_filter_bufs *fb,
                          const char *scope_sql, long long scope_id, const char *scope_path,
                          const char *default_status1, const char *default_status2,
                          long long *cycle)
{
    admin_sqlb_init(b, "FROM enrolment e JOIN physician p ON p.id = e.physician_id "
                       "LEFT JOIN department d ON d.id = p.department_id "
                       "JOIN institution i ON i.id = e.institution_id "
                       "JOIN authority au ON au.id = i.authority_id WHERE e.cycle_id = ? AND ");
    int rc = admin_cycle_for(j, db, j->actor.path, cycle);
    if (rc) return rc;
    admin_sqlb_param(b, DK_PINT(*cycle));
    admin_sqlb_cat(b, scope_sql);
    if (scope_path)
        admin_sqlb_param(b, DK_PSTR(scope_path));
    else
        admin_sqlb_param(b, DK_PINT(scope_id));
    const char *status = admin_q(j, "status"), *procedure = admin_q(j, "procedure");
    long long inst;
    if ((rc = admin_q_int(j, "institution_id", 1, 1LL << 53, 0, &inst))) return rc;
    if (status) {
        admin_sqlb_cat(b, " AND e.status = ?");
        admin_sqlb_param(b, DK_PSTR(status));
    } else if (default_status1) {
        admin_sqlb_cat(b, " AND e.status IN (?, ?)");
        admin_sqlb_param(b, DK_PSTR(default_status1));
        admin_sqlb_param(b, DK_PSTR(default_status2 ? default_status2 : default_status1));
    }
    if (procedure) {
        admin_sqlb_cat(b, " AND e.procedure_type = ?");
        admin_sqlb_param(b, DK_PSTR(procedure));
    }
    if (inst) {
        admin_sqlb_cat(b, " AND e.institution_id = ?");
        admin_sqlb_param(b, DK_PINT(inst));
    }
    return admin_phys_filters(j, b, fb);
}

/* Lists enrolments of cycle where <scope_col> = scope_id, with the status filter (or the
 * default statuses), procedure and the physician filters. */
static int enrol_queue(admin_job *j, MYSQL *db, const char *scope_sql, long long scope_id,
                       const char *scope_path, const char *default_status1,
                       const char *default_status2, int with_inst)
{
    long long cycle;
    admin_sqlb b;
    admin_filter_bufs fb;
    int rc = admin_enrol_queue_sql(j, db, &b, &fb, scope_sql, scope_id, scope_path, default_status1,
                                   default_status2, &cycle);
    if (rc) goto out;
    rc = admin_list(
        j, db, with_inst ? ENROL_COLS ", e.institution_id, i.name AS institution_name" : ENROL_COLS,
        &b, "e.submitted_at IS NULL, e.submitted_at, e.id", 0);
    if (!rc) json_object_set_new(j->out, "cycle_id", json_integer(cycle));
out:
    admin_sqlb_free(&b);
    return rc;
}

int admin_reviews(admin_job *j, MYSQL *db)
{
    return enrol_queue(j, db, "e.institution_id = ?", j->actor.institution_id, NULL,
                       DOM_ST_INST_REVIEW, DOM_ST_INST_REVIEW_AGAIN, 0);
}

int admin_assessor_reviews(admin_job *j, MYSQL *db)
{
    return enrol_queue(j, db, "e.assessor_id = ?", j->actor.institution_id, NULL,
                       DOM_ST_ASSESSOR_REVIEW, NULL, 1);
}

int admin_authority_enrolments(admin_job *j, MYSQL *db)
{
    return enrol_queue(j, db, "au.path LIKE CONCAT(?, '%')", 0, j->actor.path, NULL, NULL, 1);
}

static int exemption_queue(admin_job *j, MYSQL *db, const char *scope_sql, const char *dflt)
{
    long long cycle;
    int rc = admin_cycle_for(j, db, j->actor.path, &cycle);
    if (rc) return rc;
    admin_sqlb b;
    admin_sqlb_init(&b, "FROM exemption_request x JOIN enrolment e ON e.id = x.enrolment_id "
                        "JOIN physician p ON p.id = e.physician_id "
                        "LEFT JOIN department d ON d.id = p.department_id "
                        "JOIN institution i ON i.id = e.institution_id WHERE e.cycle_id = ? AND ");
    admin_sqlb_param(&b, DK_PINT(cycle));
    admin_sqlb_cat(&b, scope_sql);
    admin_sqlb_param(&b, DK_PINT(j->actor.institution_id));
    const char *status = admin_q(j, "status");
    admin_sqlb_cat(&b, " AND x.status = ?");
    admin_sqlb_param(&b, DK_PSTR(status ? status : dflt));
    admin_filter_bufs fb;
    if (!(rc = admin_phys_filters(j, &b, &fb)))
        rc = admin_list(
            j, db,
            "x.id AS exemption_id, x.lock_version AS version, x.paper, "
            "x.exemption_type, x.status, x.submitted_at, e.id AS enrolment_id, "
            "e.procedure_type, e.status AS enrolment_status, i.name AS institution_name, "
            "(SELECT COUNT(*) FROM attachment a WHERE a.owner_type = 'exemption_request' "
            "AND a.owner_id = x.id AND a.deleted_at IS NULL) AS attachments, " ADMIN_PHYS_COLS,
            &b, "x.submitted_at, x.id", 0);
    admin_sqlb_free(&b);
    return rc;
}

int admin_exemptions(admin_job *j, MYSQL *db)
{
    return exemption_queue(j, db, "e.institution_id = ?", DOM_ST_INST_REVIEW);
}

int admin_assessor_exemptions(admin_job *j, MYSQL *db)
{
    return exemption_queue(j, db, "e.assessor_id = ?", DOM_ST_ASSESSOR_REVIEW);
}

int admin_workflow(admin_job *j, MYSQL *db)
{
    (void)db;
    j->out = json_pack("{s:o}", "transitions", dom_flow_table_json());
    return 0;
}

/* ---- attachments
 * ------------------------------------------------------------------------------------ */

static const struct {
    const unsigned char magic[4];
    size_t n;
    const char *mime, *ext;
} file_types[] = {
    {{'%', 'P', 'D', 'F'}, 4, "application/pdf", ".pdf"},
    {{0xFF, 0xD8, 0xFF, 0}, 3, "image/jpeg", ".jpg"},
    {{0x89, 'P', 'N', 'G'}, 4, "image/png", ".png"},
};

/* The owner's attachments so far, against attachment_max_count (409) and
 * attachment_max_total_bytes (413) with this upload of n bytes. */
static int attachment_room(admin_job *j, MYSQL *db, const char *owner_type, long long owner_id,
                           size_t n)
{
    MYSQL_RES *res;
    dk_param p[] = {DK_PSTR(owner_type), DK_PINT(owner_id)};
    int rc = dk_mysql_exec(db,
                           "SELECT COUNT(*), IFNULL(SUM(bytes), 0) FROM attachment WHERE "
                           "owner_type = ? AND owner_id = ? AND deleted_at IS NULL",
                           p, 2, &res, NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    long long count = row ? strtoll(row[0], NULL, 10) : 0,
              bytes = row ? strtoll(row[1], NULL, 10) : 0;
    mysql_free_result(res);
    const admin_server *s = j->srv;
    if (count >= s->attach_max_count)
        return dk_error_set(&j->err, DK_ECONFLICT, "附件数量已达上限（%lld 个），不能再上传",
                            s->attach_max_count);
    if (bytes + (long long)n > s->attach_max_bytes)
        return dk_error_set(&j->err, DK_ETOOBIG,
                            "附件总大小超过上限（%lld KB），已用 %lld KB，本文件 %zu KB",
                            s->attach_max_bytes / 1024, bytes / 1024, n / 1024);
    return 0;
}

static int attachment_store_room(admin_job *j, MYSQL *db, const char *owner_type,
                                 long long owner_id, long long *id);

/* Two uploads to one owner at once must not both fit in the room left: the check and
 * the insert run under a MariaDB named lock per owner ("dk_attach:<type>:<id>"). */
int admin_attachment_store(admin_job *j, MYSQL *db, const char *owner_type, long long owner_id,
                           long long *id)
{
    char lock[96];
    snprintf(lock, sizeof lock, "dk_attach:%s:%lld", owner_type, owner_id);
    long long got = 0;
    dk_param l[] = {DK_PSTR(lock)};
    int rc = admin_sql_ll(db, "SELECT GET_LOCK(?, 10)", l, 1, &got, &j->err);
    if (rc) return rc;
    if (got != 1) {
        dk_error busy = {.code = DK_EBUSY, .retry_after = 2};
        snprintf(busy.msg, sizeof busy.msg, "附件正在上传，请稍后重试");
        j->err = busy;
        return DK_EBUSY;
    }
    rc = attachment_store_room(j, db, owner_type, owner_id, id);
    dk_error ignore = {0};
    dk_mysql_exec(db, "DO RELEASE_LOCK(?)", l, 1, NULL, NULL, &ignore);
    return rc;
}

static int attachment_store_room(admin_job *j, MYSQL *db, const char *owner_type,
                                 long long owner_id, long long *id)
{
    const char *name = admin_q(j, "file_name"), *kind = admin_q(j, "kind");
    if (!name || strlen(name) > 255)
        return dk_error_set(&j->err, DK_EINVAL, "请在 file_name 参数中给出文件名");
    if (!kind) kind = "附件";
    if (strlen(kind) > 32) return dk_error_set(&j->err, DK_EINVAL, "kind 过长");
    if (!j->raw_len) return dk_error_set(&j->err, DK_EINVAL, "附件内容为空");
    int t = -1;
    for (size_t i = 0; i < sizeof file_types / sizeof file_types[0]; i++)
        if (j->raw_len >= file_types[i].n && !memcmp(j->raw, file_types[i].magic, file_types[i].n))
            t = (int)i;
    if (t < 0) return dk_error_set(&j->err, DK_EUNPROCESSABLE, "附件只支持 PDF、JPG、PNG 文件");
    int rc = attachment_room(j, db, owner_type, owner_id, j->raw_len);
    if (rc) return rc;
    unsigned char digest[32];
    char hex[65], rel[256], dir[512], full[600];
    crypto_hash_sha256(digest, j->raw, j->raw_len);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    const char *root = dk_config_str(j->srv->cfg, "data_dir");
    snprintf(rel, sizeof rel, "attachments/%s/%lld", owner_type, owner_id);
    snprintf(dir, sizeof dir, "%s/%s", root, rel);
    snprintf(full, sizeof full, "%s/%s%s", dir, hex, file_types[t].ext);
    if (admin_mkdirs(dir) || admin_write_file(full, j->raw, j->raw_len)) {
        DK_ERROR("admind", "cannot store attachment dir=%s", dir);
        return dk_error_set(&j->err, DK_EIO, "附件保存失败");
    }
    char relfile[400];
    snprintf(relfile, sizeof relfile, "%s/%s%s", rel, hex, file_types[t].ext);
    const char *by = j->actor.kind == 'p'   ? "physician"
                     : j->actor.kind == 'a' ? "authority"
                                            : "institution";
    dk_param p[] = {
        DK_PSTR(owner_type), DK_PINT(owner_id),   DK_PSTR(kind),       DK_PSTR(name),
        DK_PSTR(relfile),    DK_PSTR(hex),        DK_PINT(j->raw_len), DK_PSTR(file_types[t].mime),
        DK_PSTR(by),         DK_PINT(j->actor.id)};
    rc = admin_sql_exec(db,
                        "INSERT INTO attachment (owner_type, owner_id, kind, file_name, path, "
                        "sha256, bytes, mime, uploaded_by_type, uploaded_by_id) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        p, 10, NULL, &j->err);
    if (rc) return rc;
    *id = (long long)mysql_insert_id(db);
    json_t *d = json_pack("{s:s,s:s,s:I}", "kind", kind, "file_name", name, "bytes",
                          (json_int_t)j->raw_len);
    rc = admin_audit(db, j, 0, "upload_attachment", owner_type, owner_id, NULL, NULL, NULL, NULL, d,
                     &j->err);
    json_decref(d);
    return rc;
}

int admin_attachment_get(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(id)};
    int rc = dk_mysql_exec(db,
                           "SELECT owner_type, owner_id, path, mime FROM attachment WHERE id = ? "
                           "AND deleted_at IS NULL",
                           p, 1, &res, NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    char type[32] = "", path[512] = "", mime[64] = "";
    long long owner = 0;
    unsigned acting = 0; /* the role the download is audited in */
    if (row) {
        snprintf(type, sizeof type, "%s", row[0]);
        owner = strtoll(row[1], NULL, 10);
        snprintf(path, sizeof path, "%s", row[2]);
        snprintf(mime, sizeof mime, "%s", row[3]);
    }
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这个附件");
    if (!strcmp(type, "assessor_application")) {
        char ipath[256] = "";
        long long inst = 0;
        dk_param q[] = {DK_PINT(owner)};
        MYSQL_RES *r2;
        if ((rc = dk_mysql_exec(db,
                                "SELECT x.institution_id, au.path FROM assessor_application x "
                                "JOIN institution i ON i.id = x.institution_id "
                                "JOIN authority au ON au.id = i.authority_id WHERE x.id = ?",
                                q, 1, &r2, NULL, &j->err)))
            return rc;
        MYSQL_ROW r = mysql_fetch_row(r2);
        if (r) inst = strtoll(r[0], NULL, 10), snprintf(ipath, sizeof ipath, "%s", r[1]);
        mysql_free_result(r2);
        /* an assessor application is not review material: not for a 信息审核员 */
        int ok = (j->actor.kind == 'i' && !j->actor.reviewer_id &&
                  j->actor.institution_id == inst) ||
                 (j->actor.kind == 'a' && dom_path_covers(j->actor.path, ipath));
        if (!ok) return dk_error_set(&j->err, DK_EFORBIDDEN, "不在本账号的管辖范围内");
    } else {
        long long eid = owner;
        if (!strcmp(type, "exemption_request")) {
            dk_param q[] = {DK_PINT(owner)};
            if ((rc = admin_sql_ll(db, "SELECT enrolment_id FROM exemption_request WHERE id = ?", q,
                                   1, &eid, &j->err)))
                return rc;
        }
        enrol_scope s;
        if ((rc = enrol_load(j, db, eid, &s))) return rc;
        if (j->actor.kind == 'i' && s.institution_id != j->actor.institution_id)
            acting = ADMIN_R_ASSESSOR; /* its 复核 of another institution's physician */
    }
    char full[800];
    snprintf(full, sizeof full, "%s/%s", dk_config_str(j->srv->cfg, "data_dir"), path);
    size_t len;
    if (admin_read_file(full, ADMIN_ATTACH_MAX, &j->bytes, &len) != 0)
        return dk_error_set(&j->err, DK_ENOTFOUND, "附件文件已不存在");
    j->bytes_len = len;
    j->ctype = !strcmp(mime, "application/pdf") ? "application/pdf"
               : !strcmp(mime, "image/png")     ? "image/png"
                                                : "image/jpeg";
    snprintf(j->filename, sizeof j->filename, "attachment-%lld%s", id, strrchr(path, '.'));
    /* every download is in the audit log, as photo views are */
    json_t *d = json_pack("{s:s,s:I}", "owner_type", type, "owner_id", (json_int_t)owner);
    rc = admin_audit(db, j, acting, "attachment_download", "attachment", id, NULL, NULL, NULL, NULL,
                     d, &j->err);
    json_decref(d);
    if (rc) {
        free(j->bytes);
        j->bytes = NULL;
    }
    return rc;
}

/* ---- GET /api/v1/enrolments/{id}/certificate: 定期考核合格证书, as issued when the enrolment
 * ended 考核完成 合格 (a GET issues nothing); ?format=pdf|png renders it (admin_cert.c) ------ */

int admin_certificate(admin_job *j, MYSQL *db)
{
    long long eid = admin_param_id(j, 0);
    const char *format = admin_q(j, "format");
    int png = format && !strcmp(format, "png"), pdf = png || (format && !strcmp(format, "pdf"));
    if (format && !pdf && strcmp(format, "json"))
        return dk_error_set(&j->err, DK_EINVAL, "format 应为 pdf 或 png");
    enrol_scope s;
    int rc = enrol_load(j, db, eid, &s);
    if (rc) return rc;
    if (j->actor.kind == 'i' && s.institution_id != j->actor.institution_id)
        return dk_error_set(&j->err, DK_EFORBIDDEN, "只有医师所在的医疗卫生机构可以打印合格证书");
    json_t *row;
    dk_param p[] = {DK_PINT(eid)};
    if ((rc =
             admin_sql_row(db,
                           "SELECT e.status, e.result, e.completed_at, e.procedure_type, "
                           "c.code AS cycle_code, c.name AS cycle_name, c.period_start, "
                           "c.period_end, i.name AS institution_name, "
                           "p.name, p.sex, p.id_type, p.id_number, p.birth_date, p.practice_level, "
                           "p.practice_category, p.practice_scope, p.practice_cert_no, "
                           "p.photo_path IS NOT NULL AS has_photo, p.id AS physician_id "
                           "FROM enrolment e JOIN cycle c ON c.id = e.cycle_id "
                           "JOIN physician p ON p.id = e.physician_id "
                           "JOIN institution i ON i.id = e.institution_id WHERE e.id = ?",
                           p, 1, ADMIN_SQL_FULL_ID, NULL, &row, &j->err)))
        return rc;
    const char *st = json_string_value(json_object_get(row, "status"));
    const char *res = json_string_value(json_object_get(row, "result"));
    if (!st || strcmp(st, DOM_ST_DONE) || !res || strcmp(res, DOM_RESULT_PASS)) {
        json_decref(row);
        return dk_error_set(&j->err, DK_ECONFLICT,
                            "只有考核合格（考核完成）的医师可以打印合格证书");
    }
    /* issued when the enrolment reached 考核完成 合格 (dom_enrol_issue_certificate; for
     * earlier ones deploy/schema/003_certificates.sql): reading it changes nothing */
    json_t *cert;
    if ((rc = admin_sql_row(db,
                            "SELECT x.cert_no, x.issued_at, au.name AS issuer_name, au.code AS "
                            "issuer_code FROM certificate x JOIN authority au ON "
                            "au.id = x.authority_id WHERE x.enrolment_id = ?",
                            p, 1, 0, "合格证书尚未签发，请联系卫生行政部门", &cert, &j->err))) {
        json_decref(row);
        return rc;
    }
    json_object_set_new(cert, "title", json_string("医师定期考核合格证书"));
    json_object_set_new(cert, "physician",
                        json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "id",
                                  json_object_get(row, "physician_id"), "name",
                                  json_object_get(row, "name"), "sex", json_object_get(row, "sex"),
                                  "id_type", json_object_get(row, "id_type"), "id_number",
                                  json_object_get(row, "id_number"), "birth_date",
                                  json_object_get(row, "birth_date"), "practice_level",
                                  json_object_get(row, "practice_level"), "practice_category",
                                  json_object_get(row, "practice_category"), "practice_scope",
                                  json_object_get(row, "practice_scope"), "practice_cert_no",
                                  json_object_get(row, "practice_cert_no")));
    json_object_set_new(cert, "has_photo", json_incref(json_object_get(row, "has_photo")));
    json_object_set_new(cert, "cycle",
                        json_pack("{s:O,s:O,s:O,s:O}", "code", json_object_get(row, "cycle_code"),
                                  "name", json_object_get(row, "cycle_name"), "period_start",
                                  json_object_get(row, "period_start"), "period_end",
                                  json_object_get(row, "period_end")));
    json_object_set_new(cert, "institution_name",
                        json_incref(json_object_get(row, "institution_name")));
    json_object_set_new(cert, "procedure_type",
                        json_incref(json_object_get(row, "procedure_type")));
    json_object_set_new(cert, "result", json_string(DOM_RESULT_PASS));
    json_object_set_new(cert, "completed_at", json_incref(json_object_get(row, "completed_at")));
    json_object_set_new(cert, "issuer",
                        json_pack("{s:O,s:O}", "name", json_object_get(cert, "issuer_name"), "code",
                                  json_object_get(cert, "issuer_code")));
    json_object_del(cert, "issuer_name");
    json_object_del(cert, "issuer_code");
    json_object_set_new(cert, "seal_note", json_string("本证书加盖发证机关印章后有效"));
    json_object_set_new(cert, "enrolment_id", json_integer(eid));
    json_decref(row);
    if ((rc = admin_audit_id_view(db, j, id_view_role(j, &s), s.physician_id, &j->err))) {
        json_decref(cert);
        return rc;
    }
    if (!pdf) {
        j->out = cert;
        return 0;
    }
    rc = admin_certificate_render(j, db, eid, cert, png); /* ?format=pdf|png (admin_cert.c) */
    json_decref(cert);
    return rc;
}
