/* admin_itemstats.c - 试题分析 (item analysis) in the console: who may see it, the request
 * of a recomputation, the results of a cycle (papers, questions, flags) and their export.
 *
 * The statistics are computed by question-bank/qb_stats.c on admind's one-thread
 * `analysis` pool (admin_server.c), never on a loop nor on the request's db thread: a
 * request only queues a run (item_analysis_run) and nudges the pool, which also queues a
 * run by itself after a cycle's test or makeup window has ended. Work functions here run on
 * db threads; admin_items_pool_work on the analysis thread. */
#include <string.h>

#include <event2/buffer.h>

#include "admin_export.h"
#include "admin_internal.h"
#include "question_bank.h"

#define ITEMS_EXPORT_MAX 50000

/* The one gate of every item-analysis route (a new 题库管理员 role joins here and in
 * ADMIN_R_ITEMS). */
int admin_can_view_items(const admin_job *j)
{
    return j->actor.kind == 'a' && (j->actor.roles & (ADMIN_R_PROVINCE | ADMIN_R_QBANK));
}

static int gate(admin_job *j)
{
    if (admin_can_view_items(j)) return 0;
    return dk_error_set(&j->err, DK_EFORBIDDEN, "试题分析仅限省级卫生行政部门和题库管理员使用（当前账号：%s）",
                        dom_role_name(&j->actor, 0));
}

/* ?cycle_id= (visible to the caller), else the latest visible cycle with results, else the
 * current one. */
static int items_cycle(admin_job *j, MYSQL *db, long long *cycle)
{
    if (admin_q(j, "cycle_id") || json_object_get(j->body, "cycle_id"))
        return admin_cycle_for(j, db, j->actor.path, cycle);
    dk_param p[] = {DK_PSTR(j->actor.path)};
    int rc = admin_sql_ll(db,
                          "SELECT c.id FROM cycle c JOIN authority a ON a.id = c.authority_id "
                          "JOIN item_analysis_run r ON r.cycle_id = c.id AND r.status = 'done' "
                          "WHERE ? LIKE CONCAT(a.path, '%') ORDER BY c.period_start DESC, c.id "
                          "DESC LIMIT 1",
                          p, 1, cycle, &j->err);
    if (rc != DK_ENOTFOUND) return rc;
    memset(&j->err, 0, sizeof j->err);
    return admin_cycle_for(j, db, j->actor.path, cycle);
}

/* ---- the analysis pool ------------------------------------------------------------------ */

/* Queues runs for windows that ended since the cycle's last run, then runs every queued
 * run, oldest first, each audited (actor system). On the analysis thread. */
void admin_items_pool_work(void *ctx, void *arg)
{
    (void)arg;
    dk_dbconn *conn = ctx;
    dk_error err = {0};
    MYSQL *db = dk_dbconn_get(conn, &err);
    if (!db) {
        DK_WARN("admind", "item analysis: no database err=\"%s\"", err.msg);
        return;
    }
    if (qb_stats_recover(db, &err) || qb_stats_queue_finished(db, &err)) {
        DK_WARN("admind", "item analysis: queueing failed err=\"%s\"", err.msg);
        if (err.code == DK_EIO) dk_dbconn_drop(conn);
        return;
    }
    /* any failure but "taken" ends the round: the next nudge tries again (an immediate retry
     * of a failing database would loop, an audit row a turn) */
    for (;;) {
        qb_stats_summary s;
        memset(&s, 0, sizeof s);
        memset(&err, 0, sizeof err);
        int rc = qb_stats_run_next(db, &s, &err);
        if (rc == DK_ENOTFOUND) break;
        if (rc == QB_STATS_TAKEN) continue; /* another admind took it: the next one */
        if (rc && !s.run_id) {             /* no run claimed: nothing to audit, still queued */
            DK_WARN("admind", "item analysis: no run claimed err=\"%s\"", err.msg);
            if (rc == DK_EIO) dk_dbconn_drop(conn);
            break;
        }
        json_t *d = rc ? json_pack("{s:I,s:s}", "run_id", (json_int_t)s.run_id, "error", err.msg)
                       : json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "run_id", (json_int_t)s.run_id,
                                   "sessions", (json_int_t)s.sessions, "answers",
                                   (json_int_t)s.answers, "questions", (json_int_t)s.questions,
                                   "flagged", (json_int_t)s.flagged, "ms", (json_int_t)s.ms);
        dk_error e2 = {0};
        admin_audit(db, NULL, 0, rc ? "item_analysis_failed" : "item_analysis_done",
                    "item_analysis_run", s.run_id, NULL, "running", rc ? "failed" : "done", NULL, d,
                    &e2);
        json_decref(d);
        if (rc) {
            DK_WARN("admind", "item analysis failed run=%lld err=\"%s\"", s.run_id, err.msg);
            if (rc == DK_EIO) dk_dbconn_drop(conn);
            break;
        }
        DK_INFO("admind", "item analysis done run=%lld sessions=%ld answers=%lld ms=%lld", s.run_id,
                s.sessions, s.answers, s.ms);
    }
}

/* ---- POST /api/v1/item-analysis/runs {cycle_id?, min_n?} ----------------------------------- */

int admin_items_request(admin_job *j, MYSQL *db)
{
    long long cycle, run, min_n = QB_STATS_MIN_N;
    int rc;
    if ((rc = gate(j)) || (rc = items_cycle(j, db, &cycle))) return rc;
    json_t *mn = json_object_get(j->body, "min_n");
    if (mn) {
        if (!json_is_integer(mn) || json_integer_value(mn) < 1 || json_integer_value(mn) > 10000)
            return dk_error_set(&j->err, DK_EINVAL,
                                "最少作答人数（min_n）应为 1 到 10000 之间的整数");
        min_n = json_integer_value(mn);
    }
    if ((rc = dk_mysql_begin(db, &j->err))) return rc;
    /* one pending run per cycle: the cycle row is the lock */
    dk_param pc[] = {DK_PINT(cycle)};
    long long locked;
    if ((rc = admin_sql_ll(db, "SELECT id FROM cycle WHERE id = ? FOR UPDATE", pc, 1, &locked,
                           &j->err)))
        return rc;
    char status[16] = "";
    rc = admin_sql_str(db,
                       "SELECT status FROM item_analysis_run WHERE cycle_id = ? AND status IN "
                       "('queued','running') ORDER BY id LIMIT 1",
                       pc, 1, status, sizeof status, &j->err);
    if (!rc)
        return dk_error_set(&j->err, DK_ECONFLICT, "该周期的试题分析%s，完成后才能再次计算",
                            !strcmp(status, "running") ? "正在计算" : "已在排队");
    if (rc != DK_ENOTFOUND) return rc;
    memset(&j->err, 0, sizeof j->err);
    if ((rc = qb_stats_queue(db, cycle, j->actor.id, (int)min_n, &run, &j->err))) return rc;
    json_t *d = json_pack("{s:I,s:I}", "cycle_id", (json_int_t)cycle, "min_n", (json_int_t)min_n);
    rc = admin_audit(db, j, 0, "item_analysis_request", "item_analysis_run", run, NULL, NULL,
                     "queued", NULL, d, &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    admin_items_kick(j->srv);
    j->status = 202;
    j->out = json_pack("{s:s,s:I,s:I,s:s}", "entity", "item_analysis_run", "id", (json_int_t)run,
                       "cycle_id", (json_int_t)cycle, "status", "queued");
    return 0;
}

/* ---- GET /api/v1/item-analysis/runs?cycle_id= ------------------------------------------------ */

#define RUN_COLS                                                                                   \
    "r.id, r.cycle_id, r.status, r.requested_at, r.started_at, r.finished_at, r.min_n, "           \
    "r.sessions, r.answers, r.duration_ms, r.error, IFNULL(aa.display_name, '系统') AS "         \
    "requested_by"
#define RUN_FROM                                                                                   \
    " FROM item_analysis_run r LEFT JOIN authority_account aa ON aa.id = r.requested_by "

int admin_items_runs(admin_job *j, MYSQL *db)
{
    long long cycle;
    int rc;
    if ((rc = gate(j)) || (rc = items_cycle(j, db, &cycle))) return rc;
    admin_sqlb b;
    admin_sqlb_init(&b, RUN_FROM "WHERE r.cycle_id = ?");
    admin_sqlb_param(&b, DK_PINT(cycle));
    rc = admin_list(j, db, RUN_COLS, &b, "r.id DESC", 0);
    admin_sqlb_free(&b);
    return rc;
}

/* ---- GET /api/v1/item-analysis?cycle_id= ------------------------------------------------------
 */

/* The first row of sql, or JSON null when there is none. */
static int row_or_null(admin_job *j, MYSQL *db, const char *sql, const dk_param *p, size_t n,
                       json_t **out)
{
    int rc = admin_sql_row(db, sql, p, n, 0, "", out, &j->err);
    if (rc != DK_ENOTFOUND) return rc;
    memset(&j->err, 0, sizeof j->err);
    *out = json_null();
    return 0;
}

int admin_items_summary(admin_job *j, MYSQL *db)
{
    long long cycle, run = 0;
    int rc;
    if ((rc = gate(j)) || (rc = items_cycle(j, db, &cycle))) return rc;
    dk_param pc[] = {DK_PINT(cycle)};
    json_t *cyc = NULL, *last = NULL, *pending = NULL, *papers = NULL, *cycles = NULL;
    if ((rc = admin_sql_row(db,
                            "SELECT id, code, name, status, test_start, test_end, "
                            "makeup_start, makeup_end FROM cycle WHERE id = ?",
                            pc, 1, 0, "没有这个考核周期", &cyc, &j->err)))
        goto fail;
    if ((rc = row_or_null(j, db,
                          "SELECT " RUN_COLS RUN_FROM "WHERE r.cycle_id = ? AND r.status = "
                          "'done' ORDER BY r.id DESC LIMIT 1",
                          pc, 1, &last)) ||
        (rc = row_or_null(j, db,
                          "SELECT " RUN_COLS RUN_FROM "WHERE r.cycle_id = ? AND r.status IN "
                          "('queued','running') ORDER BY r.id DESC LIMIT 1",
                          pc, 1, &pending)))
        goto fail;
    if (json_is_object(last)) run = json_integer_value(json_object_get(last, "id"));
    dk_param pr[] = {DK_PINT(run)};
    if ((rc = admin_sql_rows(db,
                             "SELECT category, paper, attempt, sittings, questions, mean_score, "
                             "sd_score, median, min_score, max_score, kr20, sem, distribution, "
                             "items, flagged FROM item_stats_paper WHERE run_id = ? ORDER BY "
                             "FIELD(category, '临床', '中医', '口腔', '公共卫生'), paper, attempt",
                             pr, 1, 0, &papers, &j->err)))
        goto fail;
    size_t i;
    json_t *o;
    json_array_foreach(papers, i, o)
    {
        json_t *d = json_loads(json_string_value(json_object_get(o, "distribution")), 0, NULL);
        json_object_set_new(o, "distribution", d ? d : json_array());
    }
    dk_param pp[] = {DK_PSTR(j->actor.path)};
    if ((rc = admin_sql_rows(db,
                             "SELECT c.id, c.code, c.name, c.status, EXISTS (SELECT 1 FROM "
                             "item_analysis_run r WHERE r.cycle_id = c.id AND r.status = 'done') "
                             "AS analysed FROM cycle c JOIN authority a ON a.id = c.authority_id "
                             "WHERE ? LIKE CONCAT(a.path, '%') AND c.status <> 'draft' ORDER BY "
                             "c.period_start DESC, c.id DESC LIMIT 50",
                             pp, 1, 0, &cycles, &j->err)))
        goto fail;
    j->out = json_pack("{s:o,s:o,s:o,s:o,s:o,s:{s:f,s:f,s:i}}", "cycle", cyc, "run", last,
                       "pending", pending, "papers", papers, "cycles", cycles, "thresholds", "easy",
                       QB_STATS_EASY, "hard", QB_STATS_HARD, "min_n_default", QB_STATS_MIN_N);
    return 0;
fail:
    json_decref(cyc);
    json_decref(last);
    json_decref(pending);
    json_decref(papers);
    json_decref(cycles);
    return rc;
}

/* ---- the question table (the page, and the export) -------------------------------------- */

static const char *const item_categories[] = {"临床", "中医", "口腔", "公共卫生", NULL};
static const char *const item_papers[] = {"公共知识", "业务水平", NULL};
static const char *const item_flags[] = {"negative_discrimination", "too_easy", "too_hard",
                                         "unused_distractor", NULL};

static int one_of(admin_job *j, const char *key, const char *const *allowed, const char **out)
{
    const char *v = admin_q(j, key);
    *out = NULL;
    if (!v) return 0;
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(v, allowed[i])) {
            *out = allowed[i];
            return 0;
        }
    return dk_error_set(&j->err, DK_EINVAL, "参数 %s 的取值无效", key);
}

#define ITEM_COLS                                                                                  \
    "s.category, s.paper, s.attempt, s.question_id, s.qtype, s.section, s.drawn, s.exposure, "     \
    "s.answered, s.correct, s.facility, s.rpb, s.ul_index, s.upper_n, s.lower_n, s.options, "      \
    "s.answer, s.median_time_s, s.flags, LEFT(q.stem, 60) AS stem"

/* FROM ... WHERE of the latest results of the cycle, with the filters of the query string
 * (category, paper, attempt, flag = one flag or "any"). */
static int items_where(admin_job *j, MYSQL *db, admin_sqlb *b, long long *run)
{
    long long cycle, attempt;
    const char *cat, *paper, *flag = NULL;
    int rc;
    if ((rc = gate(j)) || (rc = items_cycle(j, db, &cycle)) ||
        (rc = one_of(j, "category", item_categories, &cat)) ||
        (rc = one_of(j, "paper", item_papers, &paper)) ||
        (rc = admin_q_int(j, "attempt", 1, 2, 0, &attempt)))
        return rc;
    const char *fv = admin_q(j, "flag");
    if (fv && strcmp(fv, "any") && (rc = one_of(j, "flag", item_flags, &flag))) return rc;
    dk_param pc[] = {DK_PINT(cycle)};
    rc = admin_sql_ll(db,
                      "SELECT id FROM item_analysis_run WHERE cycle_id = ? AND status = 'done' "
                      "ORDER BY id DESC LIMIT 1",
                      pc, 1, run, &j->err);
    if (rc == DK_ENOTFOUND) {
        memset(&j->err, 0, sizeof j->err);
        *run = 0; /* no results yet: an empty list */
    } else if (rc) {
        return rc;
    }
    admin_sqlb_init(b, " FROM item_stats_question s LEFT JOIN qb_question q ON q.id = "
                       "s.question_id WHERE s.run_id = ?");
    admin_sqlb_param(b, DK_PINT(*run));
    if (cat) admin_sqlb_cat(b, " AND s.category = ?"), admin_sqlb_param(b, DK_PSTR(cat));
    if (paper) admin_sqlb_cat(b, " AND s.paper = ?"), admin_sqlb_param(b, DK_PSTR(paper));
    if (attempt) admin_sqlb_cat(b, " AND s.attempt = ?"), admin_sqlb_param(b, DK_PINT(attempt));
    if (flag)
        admin_sqlb_cat(b, " AND FIND_IN_SET(?, s.flags)"), admin_sqlb_param(b, DK_PSTR(flag));
    else if (fv)
        admin_sqlb_cat(b, " AND s.flags <> ''");
    return 0;
}

/* options and flags as JSON, not text */
static void items_shape(json_t *items)
{
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        json_t *opt = json_loads(json_string_value(json_object_get(o, "options")), 0, NULL);
        json_object_set_new(o, "options", opt ? opt : json_object());
        const char *f = json_string_value(json_object_get(o, "flags"));
        json_t *fl = json_array();
        for (int k = 0; f && item_flags[k]; k++) {
            size_t n = strlen(item_flags[k]);
            for (const char *p = f; (p = strstr(p, item_flags[k])); p += n)
                if ((p == f || p[-1] == ',') && (p[n] == ',' || !p[n])) {
                    json_array_append_new(fl, json_string(item_flags[k]));
                    break;
                }
        }
        json_object_set_new(o, "flags", fl);
    }
}

/* flagged first, the most often drawn (the surest figures) first among them */
#define ITEM_ORDER "s.flags = '', s.drawn DESC, s.category, s.paper, s.attempt, s.question_id"

int admin_items_questions(admin_job *j, MYSQL *db)
{
    admin_sqlb b = {0};
    long long run;
    int rc = items_where(j, db, &b, &run);
    if (!rc) rc = admin_list(j, db, ITEM_COLS, &b, ITEM_ORDER, 0);
    admin_sqlb_free(&b);
    if (!rc) items_shape(json_object_get(j->out, "items"));
    return rc;
}

/* The rows of the export as a table: columns (header, key) and rows (objects). A writer of
 * another format (XLSX) takes the same. */
typedef struct items_col {
    const char *header, *key;
} items_col;

static const items_col items_cols[] = {
    {"执业类别", "category"},
    {"试卷", "paper"},
    {"场次(1测评/2补考)", "attempt"},
    {"试题编号", "question_id"},
    {"题型", "qtype"},
    {"科目", "section"},
    {"抽中次数", "drawn"},
    {"曝光率", "exposure"},
    {"作答数", "answered"},
    {"答对数", "correct"},
    {"难度(通过率p)", "facility"},
    {"区分度(校正点二列)", "rpb"},
    {"高低分组区分度", "ul_index"},
    {"答案", "answer"},
    {"选项分布", "options"},
    {"作答用时中位数(秒)", "median_time_s"},
    {"标记", "flags"},
    {NULL, NULL},
};

int admin_items_table(admin_job *j, MYSQL *db, json_t **rows, long long *run)
{
    admin_sqlb b = {0};
    int rc = items_where(j, db, &b, run);
    if (!rc) {
        char lim[32];
        snprintf(lim, sizeof lim, " LIMIT %d", ITEMS_EXPORT_MAX + 1);
        admin_sqlb_cat(&b, " ORDER BY " ITEM_ORDER);
        admin_sqlb_cat(&b, lim);
        char *sql = dk_malloc(strlen(b.sql) + sizeof ITEM_COLS + 16);
        sprintf(sql, "SELECT " ITEM_COLS "%s", b.sql);
        rc = admin_sql_rows(db, sql, b.p, b.np, 0, rows, &j->err);
        free(sql);
    }
    admin_sqlb_free(&b);
    if (rc) return rc;
    if (json_array_size(*rows) > ITEMS_EXPORT_MAX) {
        json_decref(*rows);
        *rows = NULL;
        return dk_error_set(&j->err, DK_ETOOBIG, "导出超过 %d 行，请按执业类别或试卷筛选后再导出",
                            ITEMS_EXPORT_MAX);
    }
    return 0;
}

static void csv_cell(struct evbuffer *b, json_t *v, int last)
{
    char buf[64];
    if (json_is_string(v)) {
        admin_csv_field(b, json_string_value(v), last);
        return;
    }
    /* numbers are ours: written as they are (a guard would turn -0.5 into text) */
    if (json_is_integer(v))
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, sizeof buf, "%.3f", json_real_value(v));
    else
        buf[0] = '\0';
    evbuffer_add_printf(b, "%s%s", buf, last ? "\r\n" : ",");
}

/* ---- GET /api/v1/item-analysis/export (CSV; ?format=xlsx a workbook) ----------------------------------------------------
 */

/* The same rows as a workbook (admin_export.h: numbers as numbers, text never a formula). */
static int items_xlsx(admin_job *j, MYSQL *db, json_t *rows, long long run)
{
    admin_col cols[sizeof items_cols / sizeof items_cols[0]];
    size_t n = 0;
    for (; items_cols[n].header; n++)
        cols[n] = (admin_col){items_cols[n].header, items_cols[n].key, ADMIN_COL_AUTO, 0};
    admin_export *e = admin_export_begin(j, ADMIN_FMT_XLSX);
    if (!e) {
        json_decref(rows);
        return j->err.code ? j->err.code : DK_EIO;
    }
    char title[96];
    snprintf(title, sizeof title, "试题分析（第 %lld 次计算）", run);
    int rc = admin_export_sheet(e, "试题分析", title, cols, n);
    size_t i;
    json_t *o;
    json_array_foreach(rows, i, o)
    {
        if (rc) break;
        rc = admin_export_row(e, o);
    }
    json_decref(rows);
    if (rc) {
        admin_export_free(e);
        return rc;
    }
    char base[48];
    snprintf(base, sizeof base, "item-analysis-%lld", run);
    return admin_export_end(e, db, base, "item_analysis_export", "item_analysis_run", run, NULL);
}

int admin_items_export(admin_job *j, MYSQL *db)
{
    admin_fmt fmt; /* no format: CSV, as before the workbooks */
    int rc = admin_export_fmt(j, ADMIN_FMT_ALLOW_CSV | ADMIN_FMT_ALLOW_XLSX, &fmt);
    if (rc) return rc;
    json_t *rows;
    long long run;
    if ((rc = admin_items_table(j, db, &rows, &run))) return rc;
    if (fmt == ADMIN_FMT_XLSX) return items_xlsx(j, db, rows, run);
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, "\xEF\xBB\xBF", 3);
    for (int c = 0; items_cols[c].header; c++)
        admin_csv_field(b, items_cols[c].header, !items_cols[c + 1].header);
    size_t i;
    json_t *o;
    json_array_foreach(rows, i, o)
    {
        for (int c = 0; items_cols[c].key; c++)
            csv_cell(b, json_object_get(o, items_cols[c].key), !items_cols[c + 1].key);
    }
    size_t n = json_array_size(rows);
    json_decref(rows);
    char fn[64];
    snprintf(fn, sizeof fn, "item-analysis-%lld.csv", run);
    admin_cme_csv_reply(j, b, fn);
    json_t *d = json_pack("{s:I}", "rows", (json_int_t)n);
    rc = admin_audit(db, j, 0, "item_analysis_export", "item_analysis_run", run, NULL, NULL, NULL,
                     NULL, d, &j->err);
    json_decref(d);
    return rc;
}
