/* admin_stats.c - what the home pages and progress pages show: the schedule (考核安排),
 * the pending tasks (待处理任务), the three rates of the seed home page (报名完成率 =
 * submitted / confirmed, 审核完成率 = reviewed by the institution / submitted, 最终完成率
 * = 考核完成 / confirmed), contacts, 考核进度 and 测评进度 lists, history results, and the
 * authority's statistics per institution of its region (each row with its authority, for
 * the console's drill-down). With no cycle open a home page answers cycle: null and what
 * needs no cycle. Each list and the statistics also download as a spreadsheet
 * (?format=xlsx, admin_export.c), as does the 不合格 list of a region. Database worker
 * threads only. */
#include <stdlib.h>
#include <string.h>

#include "admin_export.h"

/* statuses counted as submitted / reviewed by the institution */
#define SUBMITTED_SQL                                                                              \
    "e.status NOT IN ('" DOM_ST_TO_REGISTER "', '" DOM_ST_INST_REJECTED "', '" DOM_ST_WITHDRAWN "')"
#define REVIEWED_SQL                                                                               \
    "e.status IN ('" DOM_ST_ASSESSOR_REVIEW "', '" DOM_ST_TO_TEST "', '" DOM_ST_MAKEUP_CONFIRM     \
    "', '" DOM_ST_TO_MAKEUP "', '" DOM_ST_DONE "')"

#define COUNTS_COLS                                                                                \
    "CAST(IFNULL(SUM(e.status <> '" DOM_ST_WITHDRAWN "'), 0) AS SIGNED) AS confirmed, "            \
    "CAST(IFNULL(SUM(" SUBMITTED_SQL "), 0) AS SIGNED) AS submitted, "                             \
    "CAST(IFNULL(SUM(" REVIEWED_SQL "), 0) AS SIGNED) AS reviewed, "                               \
    "CAST(IFNULL(SUM(e.status = '" DOM_ST_DONE "'), 0) AS SIGNED) AS completed, "                  \
    "CAST(IFNULL(SUM(e.status = '" DOM_ST_DONE "' AND e.result = '" DOM_RESULT_PASS                \
    "'), 0) AS SIGNED) AS passed, "                                                                \
    "CAST(IFNULL(SUM(e.status = '" DOM_ST_DONE "' AND e.result = '" DOM_RESULT_FAIL                \
    "'), 0) AS SIGNED) AS failed, "                                                                \
    "CAST(IFNULL(SUM(e.status = '" DOM_ST_WITHDRAWN "'), 0) AS SIGNED) AS withdrawn"

static json_t *rate(json_t *counts, const char *label, const char *num, const char *den)
{
    long long n = json_integer_value(json_object_get(counts, num));
    long long d = json_integer_value(json_object_get(counts, den));
    return json_pack("{s:s,s:I,s:I,s:f}", "label", label, "numerator", (json_int_t)n, "denominator",
                     (json_int_t)d, "percent", d ? (double)(n * 1000 / d) / 10.0 : 0.0);
}

static json_t *rates(json_t *counts)
{
    return json_pack("{s:o,s:o,s:o}", "registration",
                     rate(counts, "报名完成率", "submitted", "confirmed"), "review",
                     rate(counts, "审核完成率", "reviewed", "submitted"), "final",
                     rate(counts, "最终完成率", "completed", "confirmed"));
}

static int schedule(admin_job *j, MYSQL *db, long long cycle, json_t **out)
{
    dk_param p[] = {DK_PINT(cycle)};
    return admin_sql_row(db,
                         "SELECT id, code, name, status, length_years, period_start, period_end, "
                         "assessor_apply_start, assessor_apply_end, registration_start, "
                         "registration_end, inst_review_start, inst_review_end, "
                         "assessor_review_start, assessor_review_end, test_start, test_end, "
                         "makeup_start, makeup_end, withdraw_deadline, similarity_threshold "
                         "FROM cycle WHERE id = ?",
                         p, 1, 0, NULL, out, &j->err);
}

static json_t *task(const char *kind, const char *label, long long n, const char *page)
{
    return json_pack("{s:s,s:s,s:I,s:s}", "kind", kind, "label", label, "count", (json_int_t)n,
                     "page", page);
}

/* The cycle a home page shows: ?cycle_id= (404 when it is not visible) or the open one of
 * the account's authorities; 0 when none is open, which a home page answers with
 * cycle: null and what it can show without one. */
static int home_cycle(admin_job *j, MYSQL *db, long long *cycle)
{
    *cycle = 0;
    int rc = admin_cycle_for(j, db, j->actor.path, cycle);
    if (rc == DK_ENOTFOUND && !admin_q(j, "cycle_id")) {
        dk_error_clear(&j->err);
        *cycle = 0;
        return 0;
    }
    return rc;
}

/* ---- GET /api/v1/institution/home ------------------------------------------------------------ */

int admin_inst_home(admin_job *j, MYSQL *db)
{
    long long cycle, inst = j->actor.institution_id;
    int rc = home_cycle(j, db, &cycle);
    if (rc) return rc;
    json_t *sched = NULL, *counts = NULL, *assessor = NULL, *authority = NULL;
    dk_param pa[] = {DK_PINT(j->actor.authority_id)};
    if (!cycle) { /* nothing to review or count: the authority's contact still helps */
        if ((rc = admin_sql_row(
                 db, "SELECT id, name, contact_name, contact_phone FROM authority WHERE id = ?", pa,
                 1, 0, NULL, &authority, &j->err)))
            return rc;
        j->out =
            json_pack("{s:n,s:n,s:[],s:n,s:n,s:{s:n,s:o}}", "cycle", "schedule", "pending_tasks",
                      "progress", "counts", "contacts", "assessor", "authority", authority);
        return 0;
    }
    dk_param p[] = {DK_PINT(cycle), DK_PINT(inst)};
    if ((rc = schedule(j, db, cycle, &sched)) ||
        (rc = admin_sql_row(db,
                            "SELECT " COUNTS_COLS " FROM enrolment e WHERE e.cycle_id = ? AND "
                            "e.institution_id = ?",
                            p, 2, 0, NULL, &counts, &j->err)))
        goto fail;
    long long general = 0, simple = 0, exempt = 0, areview = 0, aexempt = 0;
    if ((rc = admin_sql_ll(db,
                           "SELECT COUNT(*) FROM enrolment e WHERE e.cycle_id = ? AND "
                           "e.institution_id = ? AND e.procedure_type = '" DOM_PROC_GENERAL
                           "' AND e.status IN "
                           "('" DOM_ST_INST_REVIEW "', '" DOM_ST_INST_REVIEW_AGAIN "')",
                           p, 2, &general, &j->err)) ||
        (rc = admin_sql_ll(db,
                           "SELECT COUNT(*) FROM enrolment e WHERE e.cycle_id = ? AND "
                           "e.institution_id = ? AND e.procedure_type = '" DOM_PROC_SIMPLE
                           "' AND e.status IN "
                           "('" DOM_ST_INST_REVIEW "', '" DOM_ST_INST_REVIEW_AGAIN "')",
                           p, 2, &simple, &j->err)) ||
        (rc = admin_sql_ll(db,
                           "SELECT COUNT(*) FROM exemption_request x JOIN enrolment e ON "
                           "e.id = x.enrolment_id WHERE e.cycle_id = ? AND e.institution_id = ? "
                           "AND x.status = '" DOM_ST_INST_REVIEW "'",
                           p, 2, &exempt, &j->err)))
        goto fail;
    json_t *tasks = json_array();
    json_array_append_new(tasks, task("general_review", "一般程序待审核", general,
                                      "/api/v1/institution/reviews?procedure=一般程序"));
    json_array_append_new(tasks, task("simple_review", "简易程序待审核", simple,
                                      "/api/v1/institution/reviews?procedure=简易程序"));
    json_array_append_new(tasks, task("exemption_review", "免考申请待审核", exempt,
                                      "/api/v1/institution/exemptions"));
    /* the seed's fourth task [002]: 跟班带教修改申请 waiting at the institution (admin_teaching.c)
     */
    long long teaching = 0;
    if ((rc = admin_sql_ll(db,
                           "SELECT COUNT(*) FROM teaching_change_request t JOIN enrolment e ON "
                           "e.id = t.enrolment_id WHERE e.cycle_id = ? AND t.institution_id = ? "
                           "AND t.status = '待审核'",
                           p, 2, &teaching, &j->err))) {
        json_decref(tasks);
        goto fail;
    }
    json_array_append_new(tasks, task("teaching_change", "跟班带教修改申请", teaching,
                                      "/api/v1/institution/teaching-requests?status=待审核"));
    if (j->actor.is_assessor) {
        if ((rc = admin_sql_ll(db,
                               "SELECT COUNT(*) FROM enrolment e WHERE e.cycle_id = ? AND "
                               "e.assessor_id = ? AND e.status = '" DOM_ST_ASSESSOR_REVIEW "'",
                               p, 2, &areview, &j->err)) ||
            (rc = admin_sql_ll(db,
                               "SELECT COUNT(*) FROM exemption_request x JOIN enrolment e ON "
                               "e.id = x.enrolment_id WHERE e.cycle_id = ? AND e.assessor_id = ? "
                               "AND x.status = '" DOM_ST_ASSESSOR_REVIEW "'",
                               p, 2, &aexempt, &j->err))) {
            json_decref(tasks);
            goto fail;
        }
        json_array_append_new(
            tasks, task("assessor_review", "考核机构待复核", areview, "/api/v1/assessor/reviews"));
        json_array_append_new(tasks, task("assessor_exemption", "免考申请待复核", aexempt,
                                          "/api/v1/assessor/exemptions"));
    }
    int ra = admin_sql_row(db,
                           "SELECT i.id, i.name, i.contact_name, i.contact_phone FROM "
                           "assessor_assignment aa JOIN institution i ON i.id = aa.assessor_id "
                           "WHERE aa.cycle_id = ? AND aa.institution_id = ?",
                           p, 2, 0, NULL, &assessor, &j->err);
    if (ra && ra != DK_ENOTFOUND) {
        rc = ra;
        json_decref(tasks);
        goto fail;
    }
    if ((rc = admin_sql_row(
             db, "SELECT id, name, contact_name, contact_phone FROM authority WHERE id = ?", pa, 1,
             0, NULL, &authority, &j->err))) {
        json_decref(tasks);
        goto fail;
    }
    dk_error_clear(&j->err);
    j->out =
        json_pack("{s:O,s:o,s:o,s:o,s:o,s:{s:o,s:o}}", "cycle", sched, "schedule", sched,
                  "pending_tasks", tasks, "progress", rates(counts), "counts", counts, "contacts",
                  "assessor", assessor ? assessor : json_null(), "authority", authority);
    return 0;
fail:
    json_decref(sched);
    json_decref(counts);
    json_decref(assessor);
    json_decref(authority);
    return rc;
}

/* ---- the scope of list pages: the institution's own, or the authority's region --------------- */

static int scope_sql(admin_job *j, admin_sqlb *b, long long *inst_filter)
{
    int rc = admin_q_int(j, "institution_id", 1, 1LL << 53, 0, inst_filter);
    if (rc) return rc;
    if (j->actor.kind == 'i') {
        admin_sqlb_cat(b, " AND e.institution_id = ?");
        admin_sqlb_param(b, DK_PINT(j->actor.institution_id));
    } else {
        admin_sqlb_cat(b, " AND au.path LIKE CONCAT(?, '%')");
        admin_sqlb_param(b, DK_PSTR(j->actor.path));
        if (*inst_filter) {
            admin_sqlb_cat(b, " AND e.institution_id = ?");
            admin_sqlb_param(b, DK_PINT(*inst_filter));
        }
    }
    return 0;
}

/* What an export of the caller's lists is audited on: its institution, or its authority. */
static void scope_entity(const admin_job *j, const char **type, long long *id)
{
    *type = j->actor.kind == 'i' ? "institution" : "authority";
    *id = j->actor.kind == 'i' ? j->actor.institution_id : j->actor.authority_id;
}

/* "<what> · <cycle name>" for the title row of an export. */
static void cycle_title(admin_job *j, MYSQL *db, long long cycle, const char *what, char *out,
                        size_t outsz)
{
    char name[160] = "";
    dk_param p[] = {DK_PINT(cycle)};
    if (cycle && admin_sql_str(db, "SELECT name FROM cycle WHERE id = ?", p, 1, name, sizeof name,
                               &j->err) != 0)
        dk_error_clear(&j->err), name[0] = '\0';
    snprintf(out, outsz, "%s%s%s", what, *name ? " · " : "", name);
}

/* An export of a list page of this file: its sheet and title, audited on the caller's scope. */
static int list_export(admin_job *j, MYSQL *db, admin_fmt fmt, long long cycle, const char *what,
                       const admin_col *cols, size_t ncols, const char *sql_cols, admin_sqlb *fw,
                       const char *order, const char *file, const char *action)
{
    char title[256], base[64];
    const char *et;
    long long eid;
    cycle_title(j, db, cycle, what, title, sizeof title);
    scope_entity(j, &et, &eid);
    snprintf(base, sizeof base, "%s-%lld", file, cycle);
    return admin_export_list(j, db, fmt, what, title, cols, ncols, sql_cols, fw, order,
                             cycle ? base : file, action, et, eid);
}

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* The physician columns of every export (ADMIN_PHYS_COLS' keys). */
#define PHYS_XCOLS                                                                                 \
    {"姓名", "name", 0, 10}, {"性别", "sex", 0, 6}, {"年龄", "age", 0, 6},                         \
        {"证件号码", "id_number", 0, 22}, {"科室", "department_name", 0, 14},                      \
        {"执业类别", "practice_category", 0, 10}, {"医师级别", "practice_level", 0, 14},           \
        {"职称", "title", 0, 14}

#define ENROL_FROM                                                                                 \
    "FROM enrolment e JOIN physician p ON p.id = e.physician_id "                                  \
    "LEFT JOIN department d ON d.id = p.department_id "                                            \
    "JOIN institution i ON i.id = e.institution_id JOIN authority au ON au.id = i.authority_id "   \
    "LEFT JOIN institution asr ON asr.id = e.assessor_id "

/* GET /api/v1/institution/progress: 考核进度 (filters procedure, status + physician filters) */
int admin_progress(admin_job *j, MYSQL *db)
{
    long long cycle, inst;
    admin_fmt fmt;
    int rc = admin_export_fmt(j, ADMIN_FMT_ALLOW_XLSX | ADMIN_FMT_ALLOW_CSV, &fmt);
    if (rc || (rc = admin_cycle_for(j, db, j->actor.path, &cycle))) return rc;
    admin_sqlb b;
    admin_sqlb_init(&b, ENROL_FROM "WHERE e.cycle_id = ?");
    admin_sqlb_param(&b, DK_PINT(cycle));
    admin_filter_bufs fb;
    if ((rc = scope_sql(j, &b, &inst)) || (rc = admin_phys_filters(j, &b, &fb))) goto out;
    const char *procedure = admin_q(j, "procedure"), *status = admin_q(j, "status");
    if (procedure) {
        admin_sqlb_cat(&b, " AND e.procedure_type = ?");
        admin_sqlb_param(&b, DK_PSTR(procedure));
    }
    if (status) {
        admin_sqlb_cat(&b, " AND e.status = ?");
        admin_sqlb_param(&b, DK_PSTR(status));
    }
#define PROGRESS_COLS                                                                              \
    ADMIN_PHYS_COLS ", e.id AS enrolment_id, e.lock_version AS version, "                          \
                    "e.procedure_type, e.status, e.result, e.result_reason, "                      \
                    "e.institution_id, i.name AS institution_name, "                               \
                    "asr.name AS assessor_name"
    if (fmt != ADMIN_FMT_JSON) {
        static const admin_col cols[] = {
            {"序号", NULL, 0, 6},           {"医疗卫生机构", "institution_name", 0, 28},
            PHYS_XCOLS,                     {"考核程序", "procedure_type", 0, 10},
            {"考核状态", "status", 0, 24},  {"考核结果", "result", 0, 10},
            {"结果说明", "result_reason", 0, 24}, {"考核机构", "assessor_name", 0, 28}};
        rc = list_export(j, db, fmt, cycle, "考核进度", cols, NCOLS(cols), PROGRESS_COLS, &b,
                         "e.id", "progress", "export_progress");
    } else {
        rc = admin_list(j, db, PROGRESS_COLS, &b, "e.id", 0);
    }
out:
    admin_sqlb_free(&b);
    return rc;
}

/* GET /api/v1/institution/test-progress: 测评进度, one row per physician and paper */
int admin_test_progress(admin_job *j, MYSQL *db)
{
    long long cycle, inst;
    admin_fmt fmt;
    int rc = admin_export_fmt(j, ADMIN_FMT_ALLOW_XLSX | ADMIN_FMT_ALLOW_CSV, &fmt);
    if (rc || (rc = admin_cycle_for(j, db, j->actor.path, &cycle))) return rc;
    admin_sqlb b;
    admin_sqlb_init(&b, ENROL_FROM "JOIN enrolment_test t ON t.enrolment_id = e.id "
                                   "LEFT JOIN exam_result r ON r.session_id = t.last_session_id "
                                   "WHERE e.cycle_id = ? AND t.required = 1");
    admin_sqlb_param(&b, DK_PINT(cycle));
    admin_filter_bufs fb;
    if ((rc = scope_sql(j, &b, &inst)) || (rc = admin_phys_filters(j, &b, &fb))) goto out;
    const char *procedure = admin_q(j, "procedure"), *paper = admin_q(j, "paper"),
               *result = admin_q(j, "result"), *state = admin_q(j, "test_status");
    if (procedure) {
        admin_sqlb_cat(&b, " AND e.procedure_type = ?");
        admin_sqlb_param(&b, DK_PSTR(procedure));
    }
    if (paper) {
        admin_sqlb_cat(&b, " AND t.paper = ?");
        admin_sqlb_param(&b, DK_PSTR(!strcmp(paper, "人文医学") ? DOM_PAPER_PUBLIC : paper));
    }
    if (result) {
        admin_sqlb_cat(&b, " AND t.result = ?");
        admin_sqlb_param(&b, DK_PSTR(result));
    }
    if (state && !strcmp(state, "已完成"))
        admin_sqlb_cat(&b, " AND t.result IS NOT NULL");
    else if (state && !strcmp(state, "未完成"))
        admin_sqlb_cat(&b, " AND t.result IS NULL AND t.exempted = 0");
    else if (state && !strcmp(state, "免考"))
        admin_sqlb_cat(&b, " AND t.exempted = 1");
#define TEST_PROGRESS_COLS                                                                         \
    ADMIN_PHYS_COLS ", e.id AS enrolment_id, e.procedure_type, e.status, "                         \
                    "i.name AS institution_name, asr.name AS assessor_name, "                      \
                    "t.paper, IF(t.paper = '" DOM_PAPER_PUBLIC "', '人文医学', t.paper) AS "       \
                    "paper_name, t.result, t.attempts, t.exempted, "                               \
                    "IF(t.exempted, '免考', IF(t.result IS NULL, '未完成', '已完成')) "            \
                    "AS test_status, r.score, r.total, r.cheating_confirmed"
    if (fmt != ADMIN_FMT_JSON) {
        static const admin_col cols[] = {
            {"序号", NULL, 0, 6},         {"医疗卫生机构", "institution_name", 0, 28},
            PHYS_XCOLS,                   {"考核程序", "procedure_type", 0, 10},
            {"测评科目", "paper_name", 0, 12}, {"测评状态", "test_status", 0, 10},
            {"测评结果", "result", 0, 10}, {"得分", "score", 0, 8},
            {"满分", "total", 0, 8},      {"测评次数", "attempts", 0, 8},
            {"认定作弊", "cheating_confirmed", 0, 8}, {"考核状态", "status", 0, 24}};
        rc = list_export(j, db, fmt, cycle, "测评进度", cols, NCOLS(cols), TEST_PROGRESS_COLS,
                         &b, "e.id, t.paper", "test-progress", "export_test_progress");
    } else {
        rc = admin_list(j, db, TEST_PROGRESS_COLS, &b, "e.id, t.paper", 0);
    }
out:
    admin_sqlb_free(&b);
    return rc;
}

/* GET /api/v1/institution/history: 历史考核结果 of every cycle (or ?cycle_id=) */
int admin_history(admin_job *j, MYSQL *db)
{
    long long inst, cycle;
    admin_fmt fmt;
    int rc = admin_export_fmt(j, ADMIN_FMT_ALLOW_XLSX | ADMIN_FMT_ALLOW_CSV, &fmt);
    if (rc || (rc = admin_q_int(j, "cycle_id", 1, 1LL << 53, 0, &cycle))) return rc;
    admin_sqlb b;
    admin_sqlb_init(&b, ENROL_FROM "JOIN cycle c ON c.id = e.cycle_id WHERE 1 = 1");
    admin_filter_bufs fb;
    if ((rc = scope_sql(j, &b, &inst)) || (rc = admin_phys_filters(j, &b, &fb))) goto out;
    if (cycle) {
        admin_sqlb_cat(&b, " AND e.cycle_id = ?");
        admin_sqlb_param(&b, DK_PINT(cycle));
    }
    const char *result = admin_q(j, "result");
    if (result) {
        admin_sqlb_cat(&b, " AND e.result = ?");
        admin_sqlb_param(&b, DK_PSTR(result));
    }
#define HISTORY_COLS                                                                               \
    ADMIN_PHYS_COLS ", e.id AS enrolment_id, c.code AS cycle_code, "                               \
                    "c.name AS cycle_name, e.procedure_type, e.status, e.result, "                 \
                    "e.result_reason, e.completed_at, i.name AS institution_name, "                \
                    "IFNULL((SELECT x.status FROM exemption_request x WHERE "                      \
                    "x.enrolment_id = e.id LIMIT 1), '无') AS exemption_status, "                  \
                    "(e.status = '" DOM_ST_DONE "' AND e.result = '" DOM_RESULT_PASS               \
                    "' AND EXISTS "                                                                \
                    "(SELECT 1 FROM certificate x WHERE x.enrolment_id = e.id)) "                  \
                    "AS certificate"
    if (fmt != ADMIN_FMT_JSON) {
        static const admin_col cols[] = {
            {"序号", NULL, 0, 6},            {"考核周期", "cycle_name", 0, 24},
            {"医疗卫生机构", "institution_name", 0, 28}, PHYS_XCOLS,
            {"考核程序", "procedure_type", 0, 10}, {"免考申请", "exemption_status", 0, 14},
            {"考核状态", "status", 0, 24},   {"考核结果", "result", 0, 10},
            {"结果说明", "result_reason", 0, 24}, {"完成时间", "completed_at", ADMIN_COL_TIME, 18},
            {"合格证书", "certificate", 0, 8}};
        rc = list_export(j, db, fmt, cycle, "历史考核结果", cols, NCOLS(cols), HISTORY_COLS, &b,
                         "c.period_start DESC, e.id", "history", "export_history");
    } else {
        rc = admin_list(j, db, HISTORY_COLS, &b, "c.period_start DESC, e.id", 0);
    }
out:
    admin_sqlb_free(&b);
    return rc;
}

/* ---- authority
 * ------------------------------------------------------------------------------------- */

/* Applications to be a 考核机构 wait for the authority whether or not a cycle is open. */
static int pending_applications(admin_job *j, MYSQL *db, long long *n)
{
    dk_param pa[] = {DK_PSTR(j->actor.path)};
    return admin_sql_ll(db,
                        "SELECT COUNT(*) FROM assessor_application x JOIN institution i ON "
                        "i.id = x.institution_id JOIN authority au ON au.id = i.authority_id "
                        "WHERE au.path LIKE CONCAT(?, '%') AND x.status = '待审核'",
                        pa, 1, n, &j->err);
}

int admin_authority_home(admin_job *j, MYSQL *db)
{
    long long cycle, apps = 0;
    int rc = home_cycle(j, db, &cycle);
    if (rc) return rc;
    if (!cycle) {
        if ((rc = pending_applications(j, db, &apps))) return rc;
        j->out = json_pack("{s:n,s:n,s:[o],s:n,s:n,s:[]}", "cycle", "schedule", "pending_tasks",
                           task("assessor_application", "考核机构申请待审核", apps,
                                "/api/v1/authority/applications"),
                           "progress", "counts", "by_status");
        return 0;
    }
    json_t *sched = NULL, *counts = NULL, *by_status = NULL;
    dk_param p[] = {DK_PINT(cycle), DK_PSTR(j->actor.path)};
#define REGION                                                                                     \
    " FROM enrolment e JOIN institution i ON i.id = e.institution_id "                             \
    "JOIN authority au ON au.id = i.authority_id WHERE e.cycle_id = ? AND au.path LIKE CONCAT(?, " \
    "'%')"
    if ((rc = schedule(j, db, cycle, &sched)) ||
        (rc = admin_sql_row(db, "SELECT " COUNTS_COLS REGION, p, 2, 0, NULL, &counts, &j->err)) ||
        (rc = admin_sql_rows(db, "SELECT e.status, COUNT(*) AS count" REGION " GROUP BY e.status",
                             p, 2, 0, &by_status, &j->err)))
        goto fail;
    long long makeup = 0, suspect = 0, inst_review = 0, assessor_review = 0;
    if ((rc = admin_sql_ll(db,
                           "SELECT COUNT(*)" REGION " AND e.status = '" DOM_ST_MAKEUP_CONFIRM "'",
                           p, 2, &makeup, &j->err)) ||
        (rc = admin_sql_ll(db,
                           "SELECT COUNT(*)" REGION " AND e.status IN ('" DOM_ST_INST_REVIEW "', "
                           "'" DOM_ST_INST_REVIEW_AGAIN "')",
                           p, 2, &inst_review, &j->err)) ||
        (rc = admin_sql_ll(db,
                           "SELECT COUNT(*)" REGION " AND e.status = '" DOM_ST_ASSESSOR_REVIEW "'",
                           p, 2, &assessor_review, &j->err)) ||
        (rc = admin_sql_ll(db,
                           "SELECT COUNT(*) FROM invigilation v JOIN exam_session s ON "
                           "s.id = v.session_id JOIN enrolment e ON e.id = s.enrolment_id "
                           "JOIN institution i ON i.id = e.institution_id JOIN authority au ON "
                           "au.id = i.authority_id WHERE e.cycle_id = ? AND au.path LIKE "
                           "CONCAT(?, '%') AND v.mark_status = '疑似'",
                           p, 2, &suspect, &j->err)))
        goto fail;
    if ((rc = pending_applications(j, db, &apps))) goto fail;
#undef REGION
    json_t *tasks = json_array();
    json_array_append_new(tasks, task("makeup_confirm", DOM_ST_MAKEUP_CONFIRM, makeup,
                                      "/api/v1/authority/enrolments?status=待确认补考"));
    json_array_append_new(tasks, task("cheating_review", "疑似作弊待认定", suspect,
                                      "/api/v1/invigilation?mark_status=疑似"));
    json_array_append_new(tasks, task("assessor_application", "考核机构申请待审核", apps,
                                      "/api/v1/authority/applications"));
    json_array_append_new(tasks, task("inst_review", "医疗卫生机构审核中", inst_review,
                                      "/api/v1/authority/enrolments?status=待医疗卫生机构审核"));
    json_array_append_new(tasks, task("assessor_review", "考核机构复核中", assessor_review,
                                      "/api/v1/authority/enrolments?status=待考核机构复核"));
    j->out =
        json_pack("{s:O,s:o,s:o,s:o,s:o,s:o}", "cycle", sched, "schedule", sched, "pending_tasks",
                  tasks, "progress", rates(counts), "counts", counts, "by_status", by_status);
    return 0;
fail:
    json_decref(sched);
    json_decref(counts);
    json_decref(by_status);
    return rc;
}

/* The statistics as a sheet: one row per institution, then the total; the three rates as
 * percentages (each row's rates flattened into rate_* keys). */
static int stats_export(admin_job *j, MYSQL *db, admin_fmt fmt, long long cycle, json_t *items,
                        json_t *total)
{
    static const admin_col cols[] = {
        {"序号", NULL, 0, 6},
        {"机构代码", "code", 0, 16},
        {"医疗卫生机构", "name", 0, 30},
        {"所属卫生行政部门", "authority_name", 0, 22},
        {"确认参加", "confirmed", 0, 0},
        {"已报名", "submitted", 0, 0},
        {"机构已审核", "reviewed", 0, 0},
        {"考核完成", "completed", 0, 0},
        {"合格", "passed", 0, 0},
        {"不合格", "failed", 0, 0},
        {"退出本周期", "withdrawn", 0, 0},
        {"报名完成率(%)", "rate_registration", ADMIN_COL_PERCENT, 0},
        {"审核完成率(%)", "rate_review", ADMIN_COL_PERCENT, 0},
        {"最终完成率(%)", "rate_final", ADMIN_COL_PERCENT, 0}};
    static const char *const keys[] = {"registration", "review", "final"};
    char title[256];
    cycle_title(j, db, cycle, "考核统计", title, sizeof title);
    admin_export *e = admin_export_begin(j, fmt);
    if (!e) return j->err.code ? j->err.code : DK_EIO;
    int rc = admin_export_sheet(e, "考核统计", title, cols, NCOLS(cols));
    size_t i;
    json_t *x;
    json_array_append(items, total);
    json_array_foreach(items, i, x)
    {
        if (rc) break;
        for (size_t k = 0; k < 3; k++) {
            char key[32];
            snprintf(key, sizeof key, "rate_%s", keys[k]);
            json_t *r = json_object_get(json_object_get(x, "rates"), keys[k]);
            json_object_set(x, key, json_object_get(r, "percent"));
        }
        rc = admin_export_row(e, x);
    }
    if (rc) {
        admin_export_free(e);
        return rc;
    }
    char base[48];
    snprintf(base, sizeof base, "stats-%lld", cycle);
    return admin_export_end(e, db, base, "export_stats", "authority", j->actor.authority_id, NULL);
}

/* The statistics pages: the rows of items_sql (grouped COUNTS_COLS) and the total of total_sql,
 * both over (cycle, scope), each with its rates; formats: the ?format= allowed (the
 * authority's sheet is per institution: stats_export). */
static int stats_reply(admin_job *j, MYSQL *db, const char *items_sql, const char *total_sql,
                       dk_param scope, unsigned formats)
{
    long long cycle;
    admin_fmt fmt;
    int rc = admin_export_fmt(j, formats, &fmt);
    if (rc || (rc = admin_cycle_for(j, db, j->actor.path, &cycle))) return rc;
    json_t *items, *total;
    dk_param p[] = {DK_PINT(cycle), scope};
    if ((rc = admin_sql_rows(db, items_sql, p, 2, 0, &items, &j->err))) return rc;
    if ((rc = admin_sql_row(db, total_sql, p, 2, 0, NULL, &total, &j->err))) {
        json_decref(items);
        return rc;
    }
    size_t i;
    json_t *x;
    json_array_foreach(items, i, x) json_object_set_new(x, "rates", rates(x));
    json_t *tr = rates(total);
    if (fmt != ADMIN_FMT_JSON) {
        json_object_set_new(total, "name", json_string("合计"));
        json_object_set(total, "rates", tr);
        rc = stats_export(j, db, fmt, cycle, items, total);
        json_decref(items);
        json_decref(total);
        json_decref(tr);
        return rc;
    }
    j->out = json_pack("{s:I,s:o,s:o,s:o}", "cycle_id", (json_int_t)cycle, "items", items, "total",
                       total, "rates", tr);
    return 0;
}

/* GET /api/v1/authority/stats: per institution of the region */
int admin_authority_stats(admin_job *j, MYSQL *db)
{
    return stats_reply(j, db,
                       "SELECT i.id AS institution_id, i.code, i.name, "
                       "i.authority_id, au.name AS authority_name, " COUNTS_COLS
                       " FROM institution i JOIN authority au ON au.id = i.authority_id "
                       "LEFT JOIN enrolment e ON e.institution_id = i.id AND e.cycle_id = ? "
                       "WHERE au.path LIKE CONCAT(?, '%') GROUP BY i.id ORDER BY i.code",
                       "SELECT " COUNTS_COLS " FROM enrolment e JOIN institution i ON "
                       "i.id = e.institution_id JOIN authority au ON au.id = i.authority_id "
                       "WHERE e.cycle_id = ? AND au.path LIKE CONCAT(?, '%')",
                       DK_PSTR(j->actor.path), ADMIN_FMT_ALLOW_XLSX | ADMIN_FMT_ALLOW_CSV);
}

/* ---- the institution's 考核统计 and 补考管理 (seed 002's menus) -------------------------------
 */

/* GET /api/v1/institution/stats: its own physicians by department, with the totals and rates */
int admin_inst_stats(admin_job *j, MYSQL *db)
{
    return stats_reply(j, db,
                       "SELECT p.department_id, IFNULL(d.name, '未选科室') AS "
                       "department_name, " COUNTS_COLS
                       " FROM enrolment e JOIN physician p ON p.id = e.physician_id "
                       "LEFT JOIN department d ON d.id = p.department_id WHERE "
                       "e.cycle_id = ? AND e.institution_id = ? GROUP BY p.department_id, "
                       "d.name ORDER BY d.name",
                       "SELECT " COUNTS_COLS " FROM enrolment e WHERE e.cycle_id = ? AND "
                       "e.institution_id = ?",
                       DK_PINT(j->actor.institution_id), 0);
}

/* GET /api/v1/institution/makeups: its physicians on the makeup path (待确认补考, 待参加补考,
 * or decided), with the province's decision and the failed tests; status= narrows */
int admin_inst_makeups(admin_job *j, MYSQL *db)
{
    long long cycle, inst;
    int rc = admin_cycle_for(j, db, j->actor.path, &cycle);
    if (rc) return rc;
    admin_sqlb b;
    admin_sqlb_init(&b, ENROL_FROM "WHERE e.cycle_id = ? AND (e.status IN ('" DOM_ST_MAKEUP_CONFIRM
                                   "', '" DOM_ST_TO_MAKEUP "') OR e.makeup_decision IS NOT NULL)");
    admin_sqlb_param(&b, DK_PINT(cycle));
    admin_filter_bufs fb;
    if ((rc = scope_sql(j, &b, &inst)) || (rc = admin_phys_filters(j, &b, &fb))) goto out;
    const char *status = admin_q(j, "status");
    if (status) {
        admin_sqlb_cat(&b, " AND e.status = ?");
        admin_sqlb_param(&b, DK_PSTR(status));
    }
    rc = admin_list(j, db,
                    ADMIN_PHYS_COLS ", e.id AS enrolment_id, e.procedure_type, e.status, e.result, "
                                    "e.result_reason, e.makeup_decision, e.makeup_decided_at, "
                                    "e.makeup_reason, (SELECT GROUP_CONCAT(t.paper ORDER BY "
                                    "t.paper) FROM enrolment_test t WHERE t.enrolment_id = e.id "
                                    "AND t.result = '" DOM_RESULT_FAIL "') AS failed_papers",
                    &b, "e.id", 0);
out:
    admin_sqlb_free(&b);
    return rc;
}

/* The 不合格 list as a sheet (GET /authority/failed?format=xlsx|csv, admin_conduct.c): the
 * rows of admin_failed_query, the page's scope and filters, each with the dates the steps of
 * seed [001] (注销注册, 收回执业证书) were recorded. */
int admin_failed_export(admin_job *j, MYSQL *db, admin_fmt fmt)
{
    static const admin_col cols[] = {{"序号", NULL, 0, 6},
                                     {"所属卫生行政部门", "authority_name", 0, 22},
                                     {"医疗卫生机构", "institution_name", 0, 28},
                                     PHYS_XCOLS,
                                     {"执业证书编号", "practice_cert_no", 0, 20},
                                     {"考核程序", "procedure_type", 0, 10},
                                     {"考核结果", "result", 0, 10},
                                     {"不合格原因", "result_reason", 0, 28},
                                     {"完成时间", "completed_at", ADMIN_COL_TIME, 18},
                                     {"注销注册办理日期", "cancel_done_on", 0, 14},
                                     {"收回执业证书办理日期", "recall_done_on", 0, 14}};
    long long cycle = 0;
    admin_sqlb b;
    admin_sqlb_init(&b, "");
    admin_filter_bufs fb;
    int rc = admin_failed_query(j, db, &b, &fb);
    if (!rc) rc = admin_q_int(j, "cycle_id", 1, 1LL << 53, 0, &cycle);
    if (!rc)
        rc = list_export(j, db, fmt, cycle, "考核不合格名单", cols, NCOLS(cols),
                         ADMIN_PHYS_COLS ", au.name AS authority_name, i.name AS institution_name, "
                                         "p.practice_cert_no, e.procedure_type, e.result, "
                                         "e.result_reason, e.completed_at, " ADMIN_FAILED_STEP_COLS,
                         &b, "e.completed_at DESC, e.id DESC", "unqualified", "export_unqualified");
    admin_sqlb_free(&b);
    return rc;
}
