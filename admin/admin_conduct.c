/* admin_conduct.c - two things an authority records about the physicians of its area:
 * 不良执业行为记录 (seeds 000, 002: the 不良记录 table of the review pages — 医疗卫生机构,
 * 结案时间, 处理结果 — plus 记分), entered one by one or imported from a CSV file, and what
 * was done about a 考核完成 不合格 result (seed 001: 由卫生健康行政部门注销注册，收回医师执业
 * 证书): the 不合格 list with the steps still due and one record per step (who, when, 文号;
 * 409 on a second recording). The list's query is one function (admin_failed_query) for the
 * page and the exports. Everything is scoped to the actor's area and audited. DB threads. */
#include <stdlib.h>
#include <string.h>

#include "admin_export.h"
#include "admin_internal.h"

#define CONDUCT_IMPORT_MAX_ROWS 5000
#define CONDUCT_POINTS_MAX 100

/* the steps a 不合格 result asks of the authority, in the order they are shown */
static const char *const failed_steps[] = {"注销注册", "收回执业证书", NULL};

/* ---- conduct records ------------------------------------------------------------------------- */

int admin_conduct_list(admin_job *j, MYSQL *db)
{
    admin_sqlb b;
    admin_sqlb_init(&b, "FROM conduct_record r JOIN physician p ON p.id = r.physician_id "
                        "LEFT JOIN department d ON d.id = p.department_id "
                        "JOIN institution i ON i.id = p.institution_id JOIN authority au ON "
                        "au.id = i.authority_id WHERE au.path LIKE CONCAT(?, '%')");
    admin_sqlb_param(&b, DK_PSTR(j->actor.path));
    admin_filter_bufs fb;
    long long pid = 0;
    int rc;
    if ((rc = admin_phys_filters(j, &b, &fb)) ||
        (rc = admin_q_int(j, "physician_id", 1, 1LL << 53, 0, &pid)))
        goto out;
    if (pid) {
        admin_sqlb_cat(&b, " AND r.physician_id = ?");
        admin_sqlb_param(&b, DK_PINT(pid));
    }
    const char *kind = admin_q(j, "kind");
    if (kind) {
        admin_sqlb_cat(&b, " AND r.kind = ?");
        admin_sqlb_param(&b, DK_PSTR(kind));
    }
    rc = admin_list(j, db,
                    ADMIN_PHYS_COLS ", r.id, r.kind, r.institution_id, r.institution_name, "
                                    "r.closed_on, r.outcome, r.points, r.source, r.created_at, "
                                    "i.name AS physician_institution",
                    &b, "r.id DESC", 0);
out:
    admin_sqlb_free(&b);
    return rc;
}

/* The physician (by id, or by ID number in either form) in the actor's area. */
/* By ID number only within the actor's province: a number on file elsewhere is "not found"
 * (no 403-vs-404 answer on whether it exists); look (NULL: none) collects the numbers. */
static int conduct_physician(admin_job *j, MYSQL *db, long long pid, const char *idn,
                             long long *out_pid, long long *inst, char name[72],
                             admin_id_lookups *look, char *msg, size_t msgsz)
{
    char other[20] = "", path[256] = "", province[64];
    if (idn) admin_id_other_form(idn, other);
    admin_province_of(j->actor.path, province);
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(pid), idn ? DK_PSTR(idn) : DK_PNULL,
                    DK_PSTR(other[0] ? other : (idn ? idn : "")), DK_PSTR(province)};
    int rc = dk_mysql_exec(db,
                           "SELECT p.id, p.institution_id, p.name, au.path FROM physician p JOIN "
                           "institution i ON i.id = p.institution_id JOIN authority au ON au.id = "
                           "i.authority_id WHERE (p.id = ? OR (p.id_number IN (?, ?) AND "
                           "au.path LIKE CONCAT(?, '%'))) AND p.deleted_at IS NULL LIMIT 1",
                           p, 4, &res, NULL, &j->err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (look && idn) admin_id_lookups_add(look, idn, row != NULL);
    if (row)
        *out_pid = strtoll(row[0], NULL, 10), *inst = strtoll(row[1], NULL, 10),
        snprintf(name, 72, "%s", row[2]), snprintf(path, sizeof path, "%s", row[3]);
    mysql_free_result(res);
    if (!row) return snprintf(msg, msgsz, "没有这名医师（证件号码或编号不存在）"), DK_ENOTFOUND;
    if (!dom_path_covers(j->actor.path, path))
        return snprintf(msg, msgsz, "该医师不在本部门辖区内"), DK_EFORBIDDEN;
    return 0;
}

typedef struct conduct_in {
    long long physician_id, institution_id;
    const char *id_number, *name, *inst_code, *kind, *closed_on, *outcome, *points;
} conduct_in;

/* Validates and (unless skip) inserts one record with its audit row. */
static int conduct_add(admin_job *j, MYSQL *db, const conduct_in *in, const char *source, int skip,
                       admin_id_lookups *look, long long *id, char *msg, size_t msgsz)
{
    long long pid = 0, pinst = 0, inst = in->institution_id, points = -1;
    char pname[72] = "";
    const char *kind = in->kind ? in->kind : "不良";
    if (strcmp(kind, "不良") && strcmp(kind, "良好"))
        return snprintf(msg, msgsz, "类别应为「不良」或「良好」"), DK_EINVAL;
    if (!in->closed_on || admin_parse_date(in->closed_on))
        return snprintf(msg, msgsz, "结案时间应为 YYYY-MM-DD"), DK_EINVAL;
    dk_error e = {0};
    if (!in->outcome || !*in->outcome) return snprintf(msg, msgsz, "处理结果不能为空"), DK_EINVAL;
    if (dk_text_max(&e, "处理结果", in->outcome, 1000))
        return snprintf(msg, msgsz, "%s", e.msg), DK_EINVAL;
    if (in->points) {
        char *end;
        points = strtoll(in->points, &end, 10);
        if (*end || end == in->points || points < 0 || points > CONDUCT_POINTS_MAX)
            return snprintf(msg, msgsz, "记分应为 0 到 %d 的整数", CONDUCT_POINTS_MAX), DK_EINVAL;
    }
    if (in->id_number && strlen(in->id_number) > 18)
        return snprintf(msg, msgsz, "证件号码过长"), DK_EINVAL;
    int rc =
        conduct_physician(j, db, in->physician_id, in->id_number, &pid, &pinst, pname, look,
                          msg, msgsz);
    if (rc) return rc;
    if (in->name && strcmp(in->name, pname))
        return snprintf(msg, msgsz, "姓名与证件号码不符（系统中为「%s」）", pname), DK_EINVAL;
    if (in->inst_code) {
        dk_param q[] = {DK_PSTR(in->inst_code)};
        rc = admin_sql_ll(db, "SELECT id FROM institution WHERE code = ?", q, 1, &inst, &j->err);
        if (rc == DK_ENOTFOUND)
            return snprintf(msg, msgsz, "没有机构编码为「%.*s」的机构",
                            dk_utf8_prefix(in->inst_code, 20), in->inst_code), DK_EINVAL;
        if (rc) return rc;
    }
    if (!inst) inst = pinst;
    if ((rc = admin_inst_in_region(j, db, inst, 0)))
        return snprintf(msg, msgsz, "%s", j->err.msg), rc;
    if (skip) return 0;
    /* the institution's name as it is now, whole (no C buffer to cut it) */
    dk_param p[] = {DK_PINT(pid),
                    DK_PSTR(kind),
                    DK_PINT(inst),
                    DK_PSTR(in->closed_on),
                    DK_PSTR(in->outcome),
                    points >= 0 ? DK_PINT(points) : DK_PNULL,
                    DK_PSTR(source),
                    DK_PINT(j->actor.authority_id),
                    DK_PINT(j->actor.id),
                    DK_PINT(inst)};
    if ((rc = admin_sql_exec(db,
                             "INSERT INTO conduct_record (physician_id, kind, institution_id, "
                             "institution_name, closed_on, outcome, points, source, authority_id, "
                             "entered_by) SELECT ?, ?, ?, name, ?, ?, ?, ?, ?, ? FROM institution "
                             "WHERE id = ?",
                             p, 10, NULL, &j->err)))
        return rc;
    *id = (long long)mysql_insert_id(db);
    json_t *d =
        json_pack("{s:I,s:s,s:I,s:s,s:s}", "physician_id", (json_int_t)pid, "kind", kind,
                  "institution_id", (json_int_t)inst, "closed_on", in->closed_on, "source", source);
    if (points >= 0) json_object_set_new(d, "points", json_integer(points));
    rc = admin_audit(db, j, 0, "create_conduct_record", "conduct_record", *id, NULL, NULL, kind,
                     NULL, d, &j->err);
    json_decref(d);
    return rc;
}

/* POST /authority/conduct-records {physician_id | id_number, kind?, institution_id?,
 * closed_on, outcome, points?} */
int admin_conduct_create(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"physician_id", "id_number", "kind",   "institution_id",
                                       "closed_on",    "outcome",   "points", NULL};
    conduct_in in = {0};
    long long points = -1;
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = dk_json_int_opt(j->body, "physician_id", 1, 1LL << 53, 0, &in.physician_id,
                              &j->err)) ||
        (rc = dk_json_int_opt(j->body, "institution_id", 1, 1LL << 53, 0, &in.institution_id,
                              &j->err)) ||
        (rc = dk_json_int_opt(j->body, "points", 0, CONDUCT_POINTS_MAX, -1, &points, &j->err)) ||
        (rc = dk_json_str_opt(j->body, "id_number", 18, &in.id_number, &j->err)) ||
        (rc = dk_json_str_opt(j->body, "kind", 8, &in.kind, &j->err)) ||
        (rc = dk_json_str_opt(j->body, "closed_on", 10, &in.closed_on, &j->err)) ||
        (rc = admin_cme_text(j, "outcome", "处理结果", 1000, 1, &in.outcome)))
        return rc;
    if (!in.physician_id && !in.id_number)
        return dk_error_set(&j->err, DK_EINVAL, "请指定医师（physician_id 或证件号码 id_number）");
    char pts[24];
    if (points >= 0) snprintf(pts, sizeof pts, "%lld", points), in.points = pts;
    char msg[256] = "";
    long long id = 0;
    if ((rc = dk_mysql_begin(db, &j->err))) return rc;
    rc = conduct_add(j, db, &in, "卫生行政部门录入", 0, NULL, &id, msg, sizeof msg);
    if (rc && msg[0]) return dk_error_set(&j->err, rc, "%s", msg);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    dk_param p[] = {DK_PINT(id)};
    j->status = 201;
    return admin_sql_row(db,
                         "SELECT id, physician_id, kind, institution_id, institution_name, "
                         "closed_on, outcome, points, source, created_at FROM conduct_record "
                         "WHERE id = ?",
                         p, 1, 0, NULL, &j->out, &j->err);
}

static const admin_import_col conduct_cols[] = {{"证件号码", 1}, {"姓名", 1},     {"机构编码", 0},
                                                {"结案时间", 1}, {"处理结果", 1}, {"记分", 0},
                                                {"类别", 0},     {NULL, 0}};

static int conduct_row(admin_job *j, MYSQL *db, void *ctx, int line, const char *const *v, int skip,
                       char *msg, size_t msgsz)
{
    (void)line;
    conduct_in in = {.id_number = v[0],
                     .name = v[1],
                     .inst_code = v[2],
                     .closed_on = v[3],
                     .outcome = v[4],
                     .points = v[5],
                     .kind = v[6]};
    long long id;
    return conduct_add(j, db, &in, "卫生行政部门导入", skip, ctx, &id, msg, msgsz);
}

/* POST /authority/conduct-records/import (CSV, all or nothing) */
int admin_conduct_import(admin_job *j, MYSQL *db)
{
    int rows = 0;
    admin_id_lookups look = {0};
    int rc =
        admin_import_csv(j, db, conduct_cols, CONDUCT_IMPORT_MAX_ROWS, conduct_row, &look, &rows);
    admin_id_lookups_audit(j, db, &look, "conduct_import", !rc);
    if (rc) return rc;
    json_t *d = json_pack("{s:i}", "imported", rows);
    rc = admin_audit(db, j, 0, "import_conduct_records", "authority", j->actor.authority_id, NULL,
                     NULL, NULL, NULL, d, &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    j->status = 201;
    j->out = json_pack("{s:i,s:i}", "imported", rows, "failed", 0);
    return 0;
}

/* ---- the 不合格 list and what was done about it ------------------------------------------------
 */

int admin_failed_query(admin_job *j, MYSQL *db, admin_sqlb *b, admin_filter_bufs *fb)
{
    (void)db;
    admin_sqlb_cat(b, "FROM enrolment e JOIN physician p ON p.id = e.physician_id "
                      "LEFT JOIN department d ON d.id = p.department_id "
                      "JOIN institution i ON i.id = e.institution_id JOIN authority au ON "
                      "au.id = i.authority_id JOIN cycle c ON c.id = e.cycle_id "
                      "WHERE e.status = '" DOM_ST_DONE "' AND e.result = '" DOM_RESULT_FAIL
                      "' AND au.path LIKE CONCAT(?, '%')");
    admin_sqlb_param(b, DK_PSTR(j->actor.path));
    long long cycle = 0, inst = 0, done = -1;
    int rc;
    if ((rc = admin_q_int(j, "cycle_id", 1, 1LL << 53, 0, &cycle)) ||
        (rc = admin_q_int(j, "institution_id", 1, 1LL << 53, 0, &inst)) ||
        (rc = admin_q_int(j, "done", 0, 1, -1, &done)) || (rc = admin_phys_filters(j, b, fb)))
        return rc;
    if (cycle) {
        admin_sqlb_cat(b, " AND e.cycle_id = ?");
        admin_sqlb_param(b, DK_PINT(cycle));
    }
    if (inst) {
        admin_sqlb_cat(b, " AND e.institution_id = ?");
        admin_sqlb_param(b, DK_PINT(inst));
    }
    if (done >= 0) {
        admin_sqlb_cat(b, done ? " AND (SELECT COUNT(*) FROM result_action ra WHERE "
                                 "ra.enrolment_id = e.id) >= 2"
                               : " AND (SELECT COUNT(*) FROM result_action ra WHERE "
                                 "ra.enrolment_id = e.id) < 2");
    }
    return 0;
}

/* GET /authority/failed: the 不合格 list, each row with next:[steps still due];
 * ?format=xlsx|csv: the same rows as a sheet (admin_failed_export) */
int admin_failed_list(admin_job *j, MYSQL *db)
{
    admin_fmt fmt;
    int rc = admin_export_fmt(j, ADMIN_FMT_ALLOW_XLSX | ADMIN_FMT_ALLOW_CSV, &fmt);
    if (rc) return rc;
    if (fmt != ADMIN_FMT_JSON) return admin_failed_export(j, db, fmt);
    admin_sqlb b;
    admin_sqlb_init(&b, "");
    admin_filter_bufs fb;
    rc = admin_failed_query(j, db, &b, &fb);
    if (!rc) rc = admin_list(j, db, ADMIN_FAILED_COLS, &b, "e.completed_at DESC, e.id DESC", 0);
    admin_sqlb_free(&b);
    if (rc) return rc;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(j->out, "items"), i, row)
    {
        json_t *done = json_object_get(row, "actions_done"), *next = json_array();
        if (json_is_string(done)) { /* JSON_ARRAYAGG comes back as text */
            json_t *parsed = json_loads(json_string_value(done), 0, NULL);
            json_object_set_new(row, "actions_done", parsed ? parsed : json_array());
            done = json_object_get(row, "actions_done");
        } else if (!json_is_array(done)) {
            json_object_set_new(row, "actions_done", json_array());
            done = json_object_get(row, "actions_done");
        }
        for (int s = 0; failed_steps[s]; s++) {
            int have = 0;
            size_t k;
            json_t *a;
            json_array_foreach(done, k, a)
            {
                const char *act = json_string_value(json_object_get(a, "action"));
                if (act && !strcmp(act, failed_steps[s])) have = 1;
            }
            if (!have) json_array_append_new(next, json_string(failed_steps[s]));
        }
        json_object_set_new(row, "next", next);
    }
    json_object_set_new(j->out, "steps", json_pack("[s,s]", failed_steps[0], failed_steps[1]));
    return 0;
}

/* POST /authority/failed/{enrolment}/actions {action, done_on?, document_no?, note?} */
int admin_failed_record(admin_job *j, MYSQL *db)
{
    static const char *const keys[] = {"action", "done_on", "document_no", "note", NULL};
    long long eid = admin_param_id(j, 0);
    const char *action, *done_on = NULL, *doc = NULL, *note = NULL;
    int rc;
    if ((rc = dk_json_only_keys(j->body, keys, &j->err)) ||
        (rc = admin_cme_text(j, "action", "操作", 16, 1, &action)) ||
        (rc = dk_json_str_opt(j->body, "done_on", 10, &done_on, &j->err)) ||
        (rc = admin_cme_text(j, "document_no", "文号", 64, 0, &doc)) ||
        (rc = admin_cme_text(j, "note", "备注", 1000, 0, &note)))
        return rc;
    int known = 0;
    for (int s = 0; failed_steps[s]; s++)
        known |= !strcmp(action, failed_steps[s]);
    if (!known) return dk_error_set(&j->err, DK_EINVAL, "操作应为「注销注册」或「收回执业证书」");
    if (done_on && admin_parse_date(done_on))
        return dk_error_set(&j->err, DK_EINVAL, "办理日期应为 YYYY-MM-DD");
    char today[11];
    if (!done_on) {
        if ((rc = admin_cme_today(j, db, today))) return rc;
        done_on = today;
    }
    MYSQL_RES *res;
    dk_param pe[] = {DK_PINT(eid)};
    if ((rc = dk_mysql_begin(db, &j->err)) ||
        (rc = dk_mysql_exec(db,
                            "SELECT e.status, IFNULL(e.result, ''), au.path FROM enrolment e JOIN "
                            "institution i ON i.id = e.institution_id JOIN authority au ON au.id = "
                            "i.authority_id WHERE e.id = ? FOR UPDATE",
                            pe, 1, &res, NULL, &j->err)))
        return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    char status[96] = "", result[16] = "", path[256] = "";
    if (row)
        snprintf(status, sizeof status, "%s", row[0]),
            snprintf(result, sizeof result, "%s", row[1]),
            snprintf(path, sizeof path, "%s", row[2]);
    mysql_free_result(res);
    if (!row) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这条考核记录");
    if (!dom_path_covers(j->actor.path, path))
        return dk_error_set(&j->err, DK_EFORBIDDEN, "该医师不在本部门辖区内");
    if (strcmp(status, DOM_ST_DONE) || strcmp(result, DOM_RESULT_FAIL))
        return dk_error_set(&j->err, DK_ECONFLICT,
                            "当前状态为「%s%s%s」：只有「考核完成 不合格」的医师需要%s", status,
                            *result ? " " : "", result, action);
    /* a second recording of the same step names the first */
    dk_param pd[] = {DK_PINT(eid), DK_PSTR(action)};
    if ((rc = dk_mysql_exec(db,
                            "SELECT DATE_FORMAT(ra.done_on, '%Y-%m-%d'), acc.display_name FROM "
                            "result_action ra JOIN authority_account acc ON acc.id = ra.done_by "
                            "WHERE ra.enrolment_id = ? AND ra.action = ?",
                            pd, 2, &res, NULL, &j->err)))
        return rc;
    row = mysql_fetch_row(res);
    if (row) {
        rc = dk_error_set(&j->err, DK_ECONFLICT, "「%s」已由 %s 记录（办理日期 %s），不能重复记录",
                          action, row[1], row[0]);
        mysql_free_result(res);
        return rc;
    }
    mysql_free_result(res);
    dk_param p[] = {DK_PINT(eid),
                    DK_PSTR(action),
                    DK_PINT(j->actor.authority_id),
                    DK_PINT(j->actor.id),
                    DK_PSTR(done_on),
                    doc ? DK_PSTR(doc) : DK_PNULL,
                    note ? DK_PSTR(note) : DK_PNULL};
    rc = admin_sql_exec(db,
                        "INSERT INTO result_action (enrolment_id, action, authority_id, done_by, "
                        "done_on, document_no, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        p, 7, NULL, &j->err);
    if (rc == DK_ECONFLICT) /* recorded at the same moment by someone else */
        return dk_error_set(&j->err, DK_ECONFLICT, "「%s」已被记录，不能重复记录", action);
    if (rc) return rc;
    json_t *d = json_pack("{s:s,s:s?,s:s?}", "done_on", done_on, "document_no", doc, "note", note);
    rc = admin_audit(db, j, 0, "result_action", "enrolment", eid, NULL, NULL, action, NULL, d,
                     &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    j->status = 201;
    j->out = json_pack("{s:I,s:s,s:s,s:s?,s:s}", "enrolment_id", (json_int_t)eid, "action", action,
                       "done_on", done_on, "document_no", doc, "done_by", j->actor.name);
    return 0;
}
