/* admin_teaching.c - 跟班带教修改申请, the fourth task of the institution's home page (seed
 * 002). The seeds name it and say no more; the model chosen here (admin/README.md):
 * 跟班带教 is the teaching a physician did in the cycle (trainees taught alongside, hours,
 * a description), part of 工作成绩 on the enrolment (sa_teaching_*). Once the registration
 * is submitted the physician cannot edit it, so a change is asked for: the physician files
 * a request with the new values and a reason, the enrolment's institution approves it (the
 * values are written to the enrolment, the old ones kept on the request) or rejects it with
 * a reason. One request waits at a time; a finished or withdrawn enrolment takes none.
 * Every step is audited on the enrolment, so its 操作日志 shows it. DB threads. */
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"

#define TEACH_PENDING "待审核"
#define TEACH_APPROVED "通过"
#define TEACH_REJECTED "驳回"

#define TEACH_COLS                                                                                 \
    "t.id, t.enrolment_id, t.trainees, t.hours, t.description, t.reason, t.old_json, t.status, "   \
    "t.decided_at, t.reject_reason, t.lock_version AS version, t.created_at"

/* POST /physician/teaching-requests {trainees, hours, description, reason} */
int admin_teaching_request_create(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"trainees", "hours", "description", "reason", NULL};
    long long trainees, hours, cycle, eid = 0, inst = 0;
    const char *desc, *reason;
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_int(j->body, "trainees", 0, 1000, &trainees, &j->err)) ||
        (rc = dk_json_int(j->body, "hours", 0, 10000, &hours, &j->err)) ||
        (rc = admin_cme_text(j, "description", "带教情况说明", 1000, 1, &desc)) ||
        (rc = admin_cme_text(j, "reason", "修改原因", 1000, 1, &reason)) ||
        (rc = admin_cycle_for(j, db, j->actor.path, &cycle)) || (rc = dk_mysql_begin(db, &j->err)))
        return rc;
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(j->actor.id), DK_PINT(cycle)};
    if ((rc = dk_mysql_exec(db,
                            "SELECT id, institution_id, status FROM enrolment WHERE "
                            "physician_id = ? AND cycle_id = ? FOR UPDATE",
                            p, 2, &res, NULL, &j->err)))
        return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    char status[96] = "";
    if (row)
        eid = strtoll(row[0], NULL, 10), inst = strtoll(row[1], NULL, 10),
        snprintf(status, sizeof status, "%s", row[2]);
    mysql_free_result(res);
    if (!eid) return dk_error_set(&j->err, DK_ECONFLICT, "所在机构尚未确认您参加本周期考核");
    if (!strcmp(status, DOM_ST_TO_REGISTER) || !strcmp(status, DOM_ST_INST_REJECTED) ||
        !strcmp(status, DOM_ST_DONE) || !strcmp(status, DOM_ST_WITHDRAWN))
        return dk_error_set(&j->err, DK_ECONFLICT,
                            "当前状态为「%s」：跟班带教修改申请只能在报名提交之后、考核完成之前"
                            "提出（报名提交前请直接修改报名信息）",
                            status);
    long long pending = 0;
    dk_param pe[] = {DK_PINT(eid)};
    if ((rc = admin_sql_ll(db,
                           "SELECT COUNT(*) FROM teaching_change_request WHERE enrolment_id = ? "
                           "AND status = '" TEACH_PENDING "'",
                           pe, 1, &pending, &j->err)))
        return rc;
    if (pending)
        return dk_error_set(&j->err, DK_ECONFLICT,
                            "已有一条待审核的跟班带教修改申请，请等待所在机构审核");
    /* the old values straight from the row: a 1000-character description is ~3000 bytes of
     * JSON, never copied through a C buffer */
    dk_param pi[] = {DK_PINT(inst),  DK_PINT(trainees), DK_PINT(hours),
                     DK_PSTR(desc), DK_PSTR(reason),   DK_PINT(eid)};
    if ((rc = admin_sql_exec(db,
                             "INSERT INTO teaching_change_request (enrolment_id, institution_id, "
                             "trainees, hours, description, reason, old_json) SELECT id, ?, ?, ?, "
                             "?, ?, JSON_OBJECT('trainees', sa_teaching_trainees, 'hours', "
                             "sa_teaching_hours, 'description', sa_teaching_text) FROM enrolment "
                             "WHERE id = ?",
                             pi, 6, NULL, &j->err)))
        return rc;
    long long id = (long long)mysql_insert_id(db);
    json_t *d = json_pack("{s:I,s:I,s:I,s:s}", "request_id", (json_int_t)id, "trainees",
                          (json_int_t)trainees, "hours", (json_int_t)hours, "description", desc);
    rc = admin_audit(db, j, 0, "teaching_change_request", "enrolment", eid, NULL, NULL,
                     TEACH_PENDING, reason, d, &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    dk_param q[] = {DK_PINT(id)};
    j->status = 201;
    return admin_sql_row(db, "SELECT " TEACH_COLS " FROM teaching_change_request t WHERE t.id = ?",
                         q, 1, 0, NULL, &j->out, &j->err);
}

/* GET /physician/teaching-requests: the current values and the physician's requests */
int admin_teaching_request_mine(admin_job *j, MYSQL *db)
{
    long long cycle;
    int rc = admin_cycle_for(j, db, j->actor.path, &cycle);
    if (rc) return rc;
    json_t *cur = NULL, *items = NULL;
    dk_param p[] = {DK_PINT(j->actor.id), DK_PINT(cycle)};
    rc = admin_sql_row(db,
                       "SELECT id AS enrolment_id, status, sa_teaching_trainees AS trainees, "
                       "sa_teaching_hours AS hours, sa_teaching_text AS description FROM "
                       "enrolment WHERE physician_id = ? AND cycle_id = ?",
                       p, 2, 0, NULL, &cur, &j->err);
    if (rc == DK_ENOTFOUND) {
        dk_error_clear(&j->err);
        j->out = json_pack("{s:n,s:[]}", "current", "items");
        return 0;
    }
    if (rc) return rc;
    dk_param q[] = {DK_PINT(json_integer_value(json_object_get(cur, "enrolment_id")))};
    if ((rc = admin_sql_rows(db,
                             "SELECT " TEACH_COLS " FROM teaching_change_request t WHERE "
                             "t.enrolment_id = ? ORDER BY t.id DESC",
                             q, 1, 0, &items, &j->err))) {
        json_decref(cur);
        return rc;
    }
    j->out = json_pack("{s:o,s:o}", "current", cur, "items", items);
    return 0;
}

/* GET /institution/teaching-requests?status=: the requests of the institution's physicians */
int admin_teaching_request_list(admin_job *j, MYSQL *db)
{
    admin_sqlb b;
    admin_sqlb_init(&b, "FROM teaching_change_request t JOIN enrolment e ON e.id = t.enrolment_id "
                        "JOIN physician p ON p.id = e.physician_id LEFT JOIN department d ON "
                        "d.id = p.department_id JOIN cycle c ON c.id = e.cycle_id "
                        "WHERE t.institution_id = ?");
    admin_sqlb_param(&b, DK_PINT(j->actor.institution_id));
    admin_filter_bufs fb;
    int rc = admin_phys_filters(j, &b, &fb);
    const char *status = admin_q(j, "status");
    if (!rc && status) {
        admin_sqlb_cat(&b, " AND t.status = ?");
        admin_sqlb_param(&b, DK_PSTR(status));
    }
    if (!rc)
        rc = admin_list(j, db,
                        ADMIN_PHYS_COLS ", " TEACH_COLS ", c.code AS cycle_code, e.status AS "
                                        "enrolment_status, e.sa_teaching_trainees AS "
                                        "current_trainees, e.sa_teaching_hours AS current_hours, "
                                        "e.sa_teaching_text AS current_description",
                        &b, "t.status = '" TEACH_PENDING "' DESC, t.id DESC", 0);
    admin_sqlb_free(&b);
    return rc;
}

/* POST /institution/teaching-requests/{id}/actions/{approve|reject} {version, reason} */
int admin_teaching_request_action(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0), version, eid = 0, inst = 0, cur = 0;
    const char *action = j->params[1], *reason = NULL;
    int approve = !strcmp(action, "approve");
    if (!approve && strcmp(action, "reject"))
        return dk_error_set(&j->err, DK_ENOTFOUND, "没有这个操作：%.*s",
                            dk_utf8_prefix(action, 32), action);
    static const char *const keys[] = {"version", "reason", NULL};
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_int(j->body, "version", 0, 1LL << 31, &version, &j->err)) ||
        (rc = admin_cme_text(j, "reason", "驳回理由", 1000, !approve, &reason)) ||
        (rc = dk_mysql_begin(db, &j->err)))
        return rc;
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(id)};
    if ((rc = dk_mysql_exec(db,
                            "SELECT enrolment_id, institution_id, status, lock_version FROM "
                            "teaching_change_request WHERE id = ? FOR UPDATE",
                            p, 1, &res, NULL, &j->err)))
        return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    char status[16] = "";
    if (row)
        eid = strtoll(row[0], NULL, 10), inst = strtoll(row[1], NULL, 10),
        snprintf(status, sizeof status, "%s", row[2]), cur = strtoll(row[3], NULL, 10);
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这条申请");
    if (inst != j->actor.institution_id)
        return dk_error_set(&j->err, DK_EFORBIDDEN, "这条申请不是本机构医师的");
    if (strcmp(status, TEACH_PENDING))
        return dk_error_set(&j->err, DK_ECONFLICT,
                            "该申请当前状态为「%s」，只有「待审核」的可以审核", status);
    if (cur != version)
        return dk_error_set(&j->err, DK_ECONFLICT, "该记录已被他人处理，请刷新后重试");
    if (approve) { /* the enrolment may have finished or been withdrawn since the request */
        char est[96] = "";
        dk_param pe[] = {DK_PINT(eid)};
        if ((rc = admin_sql_str(db, "SELECT status FROM enrolment WHERE id = ? FOR UPDATE", pe,
                                1, est, sizeof est, &j->err)))
            return rc;
        if (!strcmp(est, DOM_ST_DONE) || !strcmp(est, DOM_ST_WITHDRAWN))
            return dk_error_set(&j->err, DK_ECONFLICT,
                                "该医师的报名当前状态为「%s」，不能再修改跟班带教，请驳回该申请",
                                est);
    }
    dk_param u[] = {DK_PSTR(approve ? TEACH_APPROVED : TEACH_REJECTED),
                    reason ? DK_PSTR(reason) : DK_PNULL, DK_PINT(id)};
    dk_param a[] = {DK_PINT(id), DK_PINT(eid)};
    if ((rc = admin_sql_exec(db,
                             "UPDATE teaching_change_request SET status = ?, reject_reason = ?, "
                             "decided_at = NOW(3), lock_version = lock_version + 1 WHERE id = ?",
                             u, 3, NULL, &j->err)) ||
        (approve && (rc = admin_sql_exec(db,
                                         "UPDATE enrolment e JOIN teaching_change_request t ON "
                                         "t.id = ? SET e.sa_teaching_trainees = t.trainees, "
                                         "e.sa_teaching_hours = t.hours, e.sa_teaching_text = "
                                         "t.description, e.lock_version = e.lock_version "
                                         "+ 1 WHERE e.id = ?",
                                         a, 2, NULL, &j->err))))
        return rc;
    json_t *d = json_pack("{s:I}", "request_id", (json_int_t)id);
    rc = admin_audit(db, j, ADMIN_R_INST,
                     approve ? "teaching_change_approve" : "teaching_change_reject", "enrolment",
                     eid, NULL, TEACH_PENDING, approve ? TEACH_APPROVED : TEACH_REJECTED, reason, d,
                     &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    j->out = json_pack("{s:s,s:I,s:s,s:s,s:I}", "entity", "teaching_change_request", "id",
                       (json_int_t)id, "from", TEACH_PENDING, "status",
                       approve ? TEACH_APPROVED : TEACH_REJECTED, "version", (json_int_t)(cur + 1));
    return 0;
}
