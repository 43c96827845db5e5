/* admin_qbank.c - the question bank in the console (题库管理, issue 17): uploads checked
 * by the bank's own validator (libqb, the same code as `qbank import`), drafted releases
 * published into a new bank version, edits and retirements, the blueprint editor with its
 * feasibility, the reviewers' preview, and the province's 题库管理员 accounts.
 *
 * Who: the province (ADMIN_R_PROVINCE) and its 题库管理员 (ADMIN_R_QBANK, an authority
 * account of kind 'qbank' that has no other role); the route table says so. Every change
 * writes an audit row in its transaction; a view of keys (question, preview) writes one
 * too. Runs on database threads; libqb's writers join the transaction begun here. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"
#include "question_bank.h"

#define MAX_ISSUES 2000 /* issues listed in one report; the total is always given */
#define TITLE_MAX 200   /* characters of a release title (qb_release.title) */
#define MAX_RETIRE 500  /* questions of one retirement */

/* ---- uploads: JSON Lines, or the CSV template turned into JSON Lines ---------------------------
 */

/* CSV header names (English keys or the template's Chinese labels) -> import fields. */
static const struct {
    const char *field, *label;
} CSV_COLS[] = {
    {"id", "编号"},
    {"category", "执业类别"},
    {"paper", "试卷"},
    {"section", "科目"},
    {"type", "题型"},
    {"group", "组号"},
    {"case", "病例"},
    {"stem", "题干"},
    {"A", "A"},
    {"B", "B"},
    {"C", "C"},
    {"D", "D"},
    {"E", "E"},
    {"F", "F"},
    {"G", "G"},
    {"H", "H"},
    {"I", "I"},
    {"J", "J"},
    {"answer", "答案"},
    {"difficulty", "难度"},
    {"explanation", "解析"},
};
#define NCOLS (sizeof CSV_COLS / sizeof CSV_COLS[0])
#define CSV_MAX_FIELDS 40

static int csv_col(const char *name)
{
    while (*name == ' ')
        name++;
    for (size_t i = 0; i < NCOLS; i++)
        if (!strcmp(name, CSV_COLS[i].field) || !strcmp(name, CSV_COLS[i].label)) return (int)i;
    return -1;
}

/* CSV (UTF-8, BOM allowed, the template's header) -> one JSON line per data row, so that
 * line k of the result is row k + 1 of the sheet. Empty cells are left out; 难度 becomes
 * a number when it is one (else the validator says why). */
static int csv_to_jsonl(admin_job *j, const char *buf, size_t len, struct evbuffer *out)
{
    size_t pos = 0;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) pos = 3;
    char *f[CSV_MAX_FIELDS];
    int n = admin_csv_record(buf, len, &pos, f, CSV_MAX_FIELDS);
    if (n < 0) return dk_error_set(&j->err, DK_EINVAL, "CSV 文件为空或第 1 行格式错误");
    int map[CSV_MAX_FIELDS];
    for (int i = 0; i < n; i++) {
        map[i] = csv_col(f[i]);
        if (map[i] < 0 && f[i][0]) {
            dk_error_set(&j->err, DK_EINVAL, "CSV 第 1 行：不认识的列「%.*s」（请使用模板）",
                         dk_utf8_prefix(f[i], 20), f[i]);
            admin_csv_free_fields(f, n);
            return DK_EINVAL;
        }
    }
    int ncols = n;
    admin_csv_free_fields(f, n);
    for (long row = 2;; row++) {
        n = admin_csv_record(buf, len, &pos, f, CSV_MAX_FIELDS);
        if (n == -1) break;
        if (n == -2) return dk_error_set(&j->err, DK_EINVAL, "CSV 第 %ld 行格式错误", row);
        json_t *o = json_object(), *opts = json_object();
        for (int i = 0; i < n && i < ncols; i++) {
            if (map[i] < 0 || !f[i][0]) continue;
            const char *k = CSV_COLS[map[i]].field;
            char *end;
            long d;
            if (k[1] == '\0') /* an option letter */
                json_object_set_new(opts, k, json_string(f[i]));
            else if (!strcmp(k, "difficulty") && (d = strtol(f[i], &end, 10), !*end))
                json_object_set_new(o, k, json_integer(d));
            else
                json_object_set_new(o, k, json_string(f[i]));
        }
        if (json_object_size(opts)) json_object_set(o, "options", opts);
        json_decref(opts);
        char *s = json_object_size(o) ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        admin_csv_free_fields(f, n);
        if (s) evbuffer_add(out, s, strlen(s));
        evbuffer_add(out, "\n", 1);
        free(s);
    }
    return 0;
}

typedef struct upload {
    struct evbuffer *conv; /* the CSV as JSON Lines */
    const char *buf;
    size_t len;
    int csv; /* report sheet rows: line + 1 */
} upload;

static int upload_open(admin_job *j, upload *u)
{
    memset(u, 0, sizeof *u);
    const char *fmt = admin_q(j, "format");
    if (fmt && strcmp(fmt, "csv") && strcmp(fmt, "jsonl"))
        return dk_error_set(&j->err, DK_EINVAL, "format 应为 jsonl 或 csv");
    if (!j->raw_len) return dk_error_set(&j->err, DK_EINVAL, "请选择要上传的文件");
    /* the file as uploaded (the route refuses more before reading it); a CSV's JSON Lines may
     * be larger */
    if (j->raw_len > QB_UPLOAD_MAX)
        return dk_error_set(&j->err, DK_ETOOBIG, "文件超过 %u MB", QB_UPLOAD_MAX >> 20);
    u->buf = (const char *)j->raw;
    u->len = j->raw_len;
    if (fmt && !strcmp(fmt, "csv")) {
        u->csv = 1;
        u->conv = evbuffer_new();
        int rc = csv_to_jsonl(j, u->buf, u->len, u->conv);
        if (rc) return rc;
        u->len = evbuffer_get_length(u->conv);
        u->buf = (const char *)evbuffer_pullup(u->conv, -1);
        if (!u->buf) u->buf = "";
    }
    return 0;
}

static void upload_close(upload *u)
{
    if (u->conv) evbuffer_free(u->conv);
}

/* {lines, bad_lines, questions, duplicates, issues:[{line, field, reason, text, detail}],
 * issues_total}: line is the sheet's row for a CSV. */
static json_t *report_json(const qb_check *c, int csv)
{
    json_t *issues = json_array();
    size_t n = qb_check_nissues(c), dups = 0;
    for (size_t i = 0; i < n; i++) {
        qb_issue x;
        qb_check_issue(c, i, &x);
        if (!strcmp(x.reason, "duplicate-id") || !strcmp(x.reason, "duplicate-question")) dups++;
        if (i >= MAX_ISSUES) continue;
        json_array_append_new(
            issues, json_pack("{s:I,s:s,s:s,s:s,s:s}", "line", (json_int_t)(x.line + csv), "field",
                              x.field, "reason", x.reason, "text", x.text, "detail", x.detail));
    }
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:o,s:I}", "format", csv ? "csv" : "jsonl", "lines",
                     (json_int_t)qb_check_lines(c), "bad_lines", (json_int_t)qb_check_bad_lines(c),
                     "questions", (json_int_t)qb_check_questions(c), "duplicates", (json_int_t)dups,
                     "issues", issues, "issues_total", (json_int_t)n);
}

/* POST /qbank/check?format=jsonl|csv: the dry run, nothing stored */
int admin_qb_check(admin_job *j, MYSQL *db)
{
    upload u;
    qb_check *c = NULL;
    int rc = upload_open(j, &u);
    if (!rc) rc = qb_check_upload(db, u.buf, u.len, &c, &j->err);
    if (!rc) j->out = report_json(c, u.csv);
    qb_check_free(c);
    upload_close(&u);
    return rc;
}

static int title_of(admin_job *j, const char *s, const char *dflt, char *out, size_t outsz)
{
    if (!s || !*s) s = dflt;
    int rc = dk_text_max(&j->err, "名称", s, TITLE_MAX);
    if (!rc) snprintf(out, outsz, "%s", s);
    return rc;
}

/* A refused change: 400 with the report, so that the page shows it (nothing stored). */
static int refuse_with_report(admin_job *j, const qb_check *c, int csv)
{
    j->err_fields = json_pack("{s:o}", "report", report_json(c, csv));
    return dk_error_set(&j->err, DK_EINVAL, "有 %ld 行不合格，未导入（请修改后重新上传）",
                        qb_check_bad_lines(c));
}

/* POST /qbank/releases?format=&name=: an upload with no bad line becomes a draft release */
int admin_qb_release_upload(admin_job *j, MYSQL *db)
{
    upload u;
    qb_check *c = NULL;
    char title[TITLE_MAX * 4 + 1];
    long long rid = 0;
    long written = 0;
    int rc = title_of(j, admin_q(j, "name"), "上传的题目", title, sizeof title);
    if (!rc)
        rc = upload_open(j, &u);
    else
        memset(&u, 0, sizeof u);
    if (!rc) rc = qb_check_upload(db, u.buf, u.len, &c, &j->err);
    if (!rc && (qb_check_bad_lines(c) || !qb_check_lines(c))) rc = refuse_with_report(j, c, u.csv);
    if (!rc) rc = dk_mysql_begin(db, &j->err);
    if (!rc) rc = qb_release_create(db, "import", title, j->actor.id, &rid, &j->err);
    if (!rc) rc = qb_release_add(db, rid, c, &written, &j->err);
    if (!rc) {
        json_t *d = json_pack("{s:I}", "questions", (json_int_t)written);
        rc = admin_audit(db, j, 0, "qbank_draft_import", "qb_release", rid, NULL, NULL, "draft",
                         title, d, &j->err);
        json_decref(d);
    }
    if (!rc) rc = dk_mysql_commit(db, &j->err);
    if (!rc) {
        j->status = 201;
        j->out = json_pack("{s:I,s:s,s:I,s:o}", "id", (json_int_t)rid, "status", "draft",
                           "questions", (json_int_t)written, "report", report_json(c, u.csv));
    }
    qb_check_free(c);
    upload_close(&u);
    return rc;
}

/* POST /qbank/questions/{id}/revise {question:{…the import fields…}, note?} */
int admin_qb_question_revise(admin_job *j, MYSQL *db)
{
    const char *id = j->params[0];
    json_t *q = json_object_get(j->body, "question");
    if (!id || strlen(id) > 32) return dk_error_set(&j->err, DK_ENOTFOUND, "题库中没有这道题");
    if (!json_is_object(q)) return dk_error_set(&j->err, DK_EINVAL, "缺少修改后的题目 question");
    char *line = dk_json_dump(q);
    qb_check *c = NULL;
    long long rid = 0;
    long written = 0;
    char title[TITLE_MAX * 4 + 1];
    int rc = qb_check_revision(db, id, line, strlen(line), &c, &j->err);
    free(line);
    if (!rc && qb_check_bad_lines(c)) rc = refuse_with_report(j, c, 0);
    if (!rc) {
        snprintf(title, sizeof title, "修改 %s → %s", id, qb_check_new_id(c));
        rc = dk_mysql_begin(db, &j->err);
    }
    if (!rc) rc = qb_release_create(db, "edit", title, j->actor.id, &rid, &j->err);
    if (!rc) rc = qb_release_add(db, rid, c, &written, &j->err);
    if (!rc) {
        json_t *d = json_pack("{s:s,s:s}", "question", id, "revision", qb_check_new_id(c));
        rc = admin_audit(db, j, 0, "qbank_draft_edit", "qb_release", rid, NULL, NULL, "draft",
                         title, d, &j->err);
        json_decref(d);
    }
    if (!rc) rc = dk_mysql_commit(db, &j->err);
    if (!rc) {
        j->status = 201;
        j->out = json_pack("{s:I,s:s,s:s}", "id", (json_int_t)rid, "status", "draft", "new_id",
                           qb_check_new_id(c));
    }
    qb_check_free(c);
    return rc;
}

/* POST /qbank/retirements {ids:[…], note?}: a draft release that retires them */
int admin_qb_retire(admin_job *j, MYSQL *db)
{
    json_t *ids = json_object_get(j->body, "ids");
    const char *note = NULL;
    int rc = dk_json_str_opt(j->body, "note", TITLE_MAX * 4, &note, &j->err);
    if (rc) return rc;
    if (!json_is_array(ids) || !json_array_size(ids) || json_array_size(ids) > MAX_RETIRE)
        return dk_error_set(&j->err, DK_EINVAL, "请选择 1 到 %d 道要退役的题目", MAX_RETIRE);
    char title[TITLE_MAX * 4 + 1];
    char dflt[96];
    snprintf(dflt, sizeof dflt, "退役 %zu 道题", json_array_size(ids));
    if ((rc = title_of(j, note, dflt, title, sizeof title))) return rc;
    long long rid;
    long total = 0, added;
    if ((rc = dk_mysql_begin(db, &j->err)) ||
        (rc = qb_release_create(db, "retire", title, j->actor.id, &rid, &j->err)))
        return rc;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) > 32)
            return dk_error_set(&j->err, DK_EINVAL, "题目编号格式错误");
        if ((rc = qb_release_retire(db, rid, json_string_value(v), &added, &j->err))) return rc;
        total += added;
    }
    json_t *d = json_pack("{s:O,s:I}", "ids", ids, "retired", (json_int_t)total);
    rc = admin_audit(db, j, 0, "qbank_draft_retire", "qb_release", rid, NULL, NULL, "draft", title,
                     d, &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    j->status = 201;
    j->out = json_pack("{s:I,s:s,s:I}", "id", (json_int_t)rid, "status", "draft", "retirements",
                       (json_int_t)total);
    return 0;
}

/* ---- releases -------------------------------------------------------------------------------- */

#define RELEASE_COLS                                                                               \
    "r.id, r.kind, r.status, r.title, r.questions, r.retirements, r.bank_version, r.created_at, "  \
    "r.decided_at, (SELECT display_name FROM authority_account WHERE id = r.created_by) AS "       \
    "created_by_name, (SELECT display_name FROM authority_account WHERE id = r.decided_by) AS "    \
    "decided_by_name"

int admin_qb_release_list(admin_job *j, MYSQL *db)
{
    admin_sqlb b;
    admin_sqlb_init(&b, "FROM qb_release r WHERE 1 = 1");
    const char *st = admin_q(j, "status");
    if (st && strcmp(st, "draft") && strcmp(st, "published") && strcmp(st, "discarded")) {
        admin_sqlb_free(&b);
        return dk_error_set(&j->err, DK_EINVAL, "status 应为 draft、published 或 discarded");
    }
    if (st) {
        admin_sqlb_cat(&b, " AND r.status = ?");
        admin_sqlb_param(&b, DK_PSTR(st));
    }
    int rc = admin_list(j, db, RELEASE_COLS, &b, "r.id DESC", 0);
    admin_sqlb_free(&b);
    return rc;
}

/* GET /qbank/releases/{id}: the release, the questions it adds and those it retires */
int admin_qb_release_get(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    dk_param p[] = {DK_PINT(id)};
    json_t *r, *added, *retired;
    int rc = admin_sql_row(db, "SELECT " RELEASE_COLS " FROM qb_release r WHERE r.id = ?", p, 1, 0,
                           "没有这个题库版本", &r, &j->err);
    if (rc) return rc;
    if ((rc = admin_sql_rows(db,
                             "SELECT id, category, paper, section, qtype, group_id, stem, state, "
                             "replaces FROM qb_question WHERE release_id = ? ORDER BY id LIMIT 500",
                             p, 1, 0, &added, &j->err))) {
        json_decref(r);
        return rc;
    }
    if ((rc = admin_sql_rows(db,
                             "SELECT q.id, q.category, q.paper, q.section, q.qtype, q.group_id, "
                             "q.stem, q.state FROM qb_release_retire x JOIN qb_question q ON q.id "
                             "= x.question_id WHERE x.release_id = ? ORDER BY q.id LIMIT 500",
                             p, 1, 0, &retired, &j->err))) {
        json_decref(r);
        json_decref(added);
        return rc;
    }
    json_object_set_new(r, "added", added);
    json_object_set_new(r, "retired", retired);
    j->out = r;
    return 0;
}

static int release_decide(admin_job *j, MYSQL *db, int publish)
{
    long long id = admin_param_id(j, 0);
    if (!id) return dk_error_set(&j->err, DK_ENOTFOUND, "没有这个题库版本");
    uint64_t version = 0;
    int rc = dk_mysql_begin(db, &j->err);
    if (!rc)
        rc = publish ? qb_release_publish(db, id, j->actor.id, &version, &j->err)
                     : qb_release_discard(db, id, j->actor.id, &j->err);
    if (!rc) {
        json_t *d = publish ? json_pack("{s:I}", "bank_version", (json_int_t)version) : NULL;
        rc = admin_audit(db, j, 0, publish ? "qbank_publish" : "qbank_discard", "qb_release", id,
                         NULL, "draft", publish ? "published" : "discarded", NULL, d, &j->err);
        json_decref(d);
    }
    if (!rc) rc = dk_mysql_commit(db, &j->err);
    if (!rc)
        j->out =
            json_pack("{s:I,s:s,s:I}", "id", (json_int_t)id, "status",
                      publish ? "published" : "discarded", "bank_version", (json_int_t)version);
    return rc;
}

int admin_qb_release_publish(admin_job *j, MYSQL *db)
{
    return release_decide(j, db, 1);
}
int admin_qb_release_discard(admin_job *j, MYSQL *db)
{
    return release_decide(j, db, 0);
}

/* ---- the bank
 * ------------------------------------------------------------------------------------ */

int admin_qb_overview(admin_job *j, MYSQL *db)
{
    json_t *counts, *drafts;
    long long version = 0;
    int rc = admin_sql_ll(db, "SELECT version FROM qb_bank_version WHERE id = 1", NULL, 0, &version,
                          &j->err);
    if (rc && rc != DK_ENOTFOUND) return rc;
    if ((rc = admin_sql_rows(db,
                             "SELECT category, paper, section, qtype, SUM(state = 'live') AS "
                             "live, SUM(state = 'retired') AS retired, SUM(state = 'draft') AS "
                             "draft FROM qb_question GROUP BY category, paper, section, qtype "
                             "ORDER BY category, paper, section, qtype",
                             NULL, 0, 0, &counts, &j->err)))
        return rc;
    if ((rc = admin_sql_rows(db, "SELECT COUNT(*) AS drafts FROM qb_release WHERE status = 'draft'",
                             NULL, 0, 0, &drafts, &j->err))) {
        json_decref(counts);
        return rc;
    }
    j->out = json_pack("{s:I,s:o,s:O}", "bank_version", (json_int_t)version, "counts", counts,
                       "drafts", json_object_get(json_array_get(drafts, 0), "drafts"));
    json_decref(drafts);
    return 0;
}

/* GET /qbank/questions?category&paper&section&type&state&q (stem contains)&id */
int admin_qb_question_list(admin_job *j, MYSQL *db)
{
    static const char *const eq[][2] = {{"category", "q.category"}, {"paper", "q.paper"},
                                        {"section", "q.section"},   {"type", "q.qtype"},
                                        {"state", "q.state"},       {"id", "q.id"}};
    admin_sqlb b;
    admin_sqlb_init(&b, "FROM qb_question q WHERE 1 = 1");
    int rc = 0;
    for (size_t i = 0; i < sizeof eq / sizeof eq[0] && !rc; i++) {
        const char *v = admin_q(j, eq[i][0]);
        if (!v) continue;
        if (strlen(v) > 64) rc = dk_error_set(&j->err, DK_EINVAL, "参数 %s 过长", eq[i][0]);
        admin_sqlb_cat(&b, " AND ");
        admin_sqlb_cat(&b, eq[i][1]);
        admin_sqlb_cat(&b, " = ?");
        admin_sqlb_param(&b, DK_PSTR(v));
    }
    char like[2 * 100 + 3];
    const char *text = admin_q(j, "q");
    if (!rc && text && !(rc = admin_like_any(j, "搜索内容", text, 100, like, sizeof like))) {
        admin_sqlb_cat(&b, " AND q.stem LIKE ?");
        admin_sqlb_param(&b, DK_PSTR(like));
    }
    if (!rc)
        rc = admin_list(j, db,
                        "q.id, q.category, q.paper, q.section, q.qtype, q.group_id, "
                        "LEFT(q.stem, 80) AS stem, q.difficulty, q.state, q.release_id, "
                        "q.replaces",
                        &b, "q.id", 0);
    admin_sqlb_free(&b);
    return rc;
}

/* GET /qbank/questions/{id}: the whole question with its key (a view, audited) */
int admin_qb_question_get(admin_job *j, MYSQL *db)
{
    const char *id = j->params[0];
    if (!id || strlen(id) > 32) return dk_error_set(&j->err, DK_ENOTFOUND, "题库中没有这道题");
    dk_param p[] = {DK_PSTR(id)};
    json_t *q;
    int rc = admin_sql_row(db,
                           "SELECT q.id, q.category, q.paper, q.section, q.qtype AS type, "
                           "q.group_id AS `group`, q.group_pos, g.case_text AS `case`, q.stem, "
                           "q.options, q.answer, q.difficulty, q.explanation, q.state, "
                           "q.release_id, q.replaces, q.retired_release, q.imported_at FROM "
                           "qb_question q LEFT JOIN qb_group g ON g.id = q.group_id WHERE q.id = ?",
                           p, 1, 0, "题库中没有这道题", &q, &j->err);
    if (rc) return rc;
    /* options arrive as JSON text */
    json_t *o = json_object_get(q, "options");
    if (json_is_string(o)) {
        json_t *parsed = json_loads(json_string_value(o), 0, NULL);
        if (parsed) json_object_set_new(q, "options", parsed);
    }
    if ((rc = admin_audit(db, j, 0, "qbank_view_question", "qb_question", 0, id, NULL, NULL, NULL,
                          NULL, &j->err))) {
        json_decref(q);
        return rc;
    }
    j->out = q;
    return 0;
}

/* ---- blueprints and preview
 * ------------------------------------------------------------------------- */

int admin_qb_blueprints(admin_job *j, MYSQL *db)
{
    return qb_blueprint_all(db, &j->out, &j->err);
}

int admin_qb_blueprint_check(admin_job *j, MYSQL *db)
{
    return qb_blueprint_check(db, j->body, &j->out, &j->err);
}

/* PUT /qbank/blueprints: published only if the bank can fill it (409 naming the rows) */
int admin_qb_blueprint_publish(admin_job *j, MYSQL *db)
{
    json_t *report = NULL;
    int rc = qb_blueprint_publish(db, j->body, &report, &j->err);
    if (rc == DK_ECONFLICT && report) j->err_fields = json_pack("{s:O}", "feasibility", report);
    if (!rc) {
        char key[64];
        snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(j->body, "category")),
                 json_string_value(json_object_get(j->body, "paper")));
        rc = admin_audit(db, j, 0, "qbank_blueprint_publish", "qb_blueprint", 0, key, NULL,
                         "published", NULL, j->body, &j->err);
    }
    if (!rc) rc = dk_mysql_commit(db, &j->err);
    if (!rc) j->out = json_incref(report);
    json_decref(report);
    return rc;
}

/* POST /qbank/preview {category, paper, seed?}: a sample paper with keys, not stored; the
 * view of its keys is audited (not as a sitting) */
int admin_qb_preview(admin_job *j, MYSQL *db)
{
    const char *cat, *paper;
    long long seed;
    int rc;
    if ((rc = dk_json_str(j->body, "category", 32, &cat, &j->err)) ||
        (rc = dk_json_str(j->body, "paper", 32, &paper, &j->err)) ||
        (rc = dk_json_int_opt(j->body, "seed", 0, (1LL << 53), -1, &seed, &j->err)))
        return rc;
    if (seed < 0) {
        uint64_t r;
        randombytes_buf(&r, sizeof r);
        seed = (long long)(r & ((1ULL << 53) - 1));
    }
    if ((rc = qb_preview(db, cat, paper, (uint64_t)seed, &j->out, &j->err))) return rc;
    json_t *d =
        json_pack("{s:s,s:s,s:I}", "category", cat, "paper", paper, "seed", (json_int_t)seed);
    rc = admin_audit(db, j, 0, "qbank_preview", "qb_blueprint", 0, cat, NULL, NULL, paper, d,
                     &j->err);
    json_decref(d);
    return rc;
}

/* ---- 题库管理员 accounts, made by the province
 * ------------------------------------------------------ */

int admin_qb_admin_list(admin_job *j, MYSQL *db)
{
    dk_param p[] = {DK_PINT(j->actor.authority_id)};
    json_t *rows;
    int rc = admin_sql_rows(db,
                            "SELECT id, username, display_name, enabled, last_login_at, created_at "
                            "FROM authority_account WHERE authority_id = ? AND account_kind = "
                            "'qbank' ORDER BY id",
                            p, 1, 0, &rows, &j->err);
    if (!rc) j->out = json_pack("{s:o}", "items", rows);
    return rc;
}

/* POST /authority/qbank-admins {username, display_name}: initial password and a one-time
 * activation code, shown once */
int admin_qb_admin_create(admin_job *j, MYSQL *db)
{
    const char *user, *name;
    int rc;
    if ((rc = dk_json_str(j->body, "username", 64, &user, &j->err)) ||
        (rc = dk_json_str(j->body, "display_name", 256, &name, &j->err)) ||
        (rc = dk_text_max(&j->err, "姓名", name, 64)))
        return rc;
    if (strspn(user, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
            strlen(user) ||
        strlen(user) < 4)
        return dk_error_set(&j->err, DK_EINVAL, "用户名应为 4 到 64 位字母、数字或 _ - .");
    char act_code[DOM_ACTIVATION_MAX], act_hash[DK_HASH_MAX];
    if ((rc = dom_activation_new(&j->srv->auth, act_code, act_hash, &j->err)) ||
        (rc = dk_mysql_begin(db, &j->err)))
        return rc;
    dk_param p[] = {DK_PINT(j->actor.authority_id), DK_PSTR(user), DK_PSTR(name),
                    DK_PSTR(j->srv->initial_hash), DK_PSTR(act_hash)};
    rc = admin_sql_exec(db,
                        "INSERT INTO authority_account (authority_id, username, display_name, "
                        "password_hash, must_change_password, activation_hash, account_kind) "
                        "VALUES (?, ?, ?, ?, 1, ?, 'qbank')",
                        p, 5, NULL, &j->err);
    if (rc == DK_ECONFLICT) return dk_error_set(&j->err, DK_ECONFLICT, "用户名 %s 已被使用", user);
    if (rc) return rc;
    long long id = (long long)mysql_insert_id(db);
    json_t *d = json_pack("{s:s,s:s}", "username", user, "display_name", name);
    rc = admin_audit(db, j, 0, "create_qbank_admin", "authority_account", id, NULL, NULL, NULL,
                     NULL, d, &j->err);
    json_decref(d);
    if (rc || (rc = dk_mysql_commit(db, &j->err))) return rc;
    j->status = 201;
    j->out = json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)id, "username", user,
                       "initial_password", ADMIN_INITIAL_PASSWORD, "activation_code", act_code);
    return 0;
}

/* POST /authority/qbank-admins/{id}/enable|disable (a disabled account's tokens end) */
int admin_qb_admin_enable(admin_job *j, MYSQL *db)
{
    long long id = admin_param_id(j, 0);
    const char *act = j->params[1];
    int on = act && !strcmp(act, "enable");
    if (!act || (!on && strcmp(act, "disable")))
        return dk_error_set(&j->err, DK_ENOTFOUND, "没有这个操作");
    int rc = dk_mysql_begin(db, &j->err);
    if (rc) return rc;
    uint64_t n = 0;
    dk_param p[] = {DK_PINT(on), DK_PINT(id), DK_PINT(j->actor.authority_id)};
    if ((rc = admin_sql_exec(db,
                             "UPDATE authority_account SET enabled = ? WHERE id = ? AND "
                             "authority_id = ? AND account_kind = 'qbank'",
                             p, 3, &n, &j->err)))
        return rc;
    if (!n) {
        long long found = 0;
        dk_param q[] = {DK_PINT(id), DK_PINT(j->actor.authority_id)};
        if (admin_sql_ll(db,
                         "SELECT COUNT(*) FROM authority_account WHERE id = ? AND authority_id = ? "
                         "AND account_kind = 'qbank'",
                         q, 2, &found, &j->err) == 0 &&
            !found)
            return dk_error_set(&j->err, DK_ENOTFOUND, "本部门没有这个题库管理员账号");
    }
    if ((rc = admin_audit(db, j, 0, on ? "enable_qbank_admin" : "disable_qbank_admin",
                          "authority_account", id, NULL, NULL, NULL, NULL, NULL, &j->err)) ||
        (!on &&
         (rc = dom_token_revoke(db, &j->srv->tokens, DOM_KIND_AUTHORITY, id, NULL, &j->err))) ||
        (rc = dk_mysql_commit(db, &j->err)))
        return rc;
    j->out = json_pack("{s:I,s:b}", "id", (json_int_t)id, "enabled", on);
    return 0;
}

/* ---- the template -----------------------------------------------------------------------------
 */

/* One example of every type, A1 to X (groups of two), valid for `qbank import`. */
static const char *const TEMPLATE_JSONL[] = {
    "{\"id\":\"EX-A1-0001\",\"category\":\"临床\",\"paper\":\"业务水平\",\"section\":\"内科学\","
    "\"type\":\"A1\",\"stem\":\"（示例）成人腋测法正常体温的范围是\",\"options\":{\"A\":\"35.0～36."
    "0℃\","
    "\"B\":\"36.0～37.0℃\",\"C\":\"37.0～38.0℃\",\"D\":\"38.0～39.0℃\",\"E\":\"39.0～40.0℃\"},"
    "\"answer\":\"B\",\"difficulty\":2,\"explanation\":\"腋测法正常值为 36.0～37.0℃。\"}",
    "{\"id\":\"EX-A2-0001\",\"category\":\"临床\",\"paper\":\"业务水平\",\"section\":\"内科学\","
    "\"type\":\"A2\",\"stem\":"
    "\"（示例）男，60岁。劳累后胸骨后压榨性疼痛3年，休息数分钟可缓解。最可能的诊断是\","
    "\"options\":{\"A\":\"稳定型心绞痛\",\"B\":\"急性心肌梗死\",\"C\":\"主动脉夹层\",\"D\":"
    "\"肺栓塞\","
    "\"E\":\"反流性食管炎\"},\"answer\":\"A\"}",
    "{\"id\":\"EX-A3-0001\",\"category\":\"临床\",\"paper\":\"业务水平\",\"section\":\"外科学\","
    "\"type\":\"A3\",\"group\":\"EX-GA3-01\",\"case\":\"（示例病例）男，35岁。转移性右下腹痛8小时，"
    "右下腹固定压痛。\",\"stem\":\"最可能的诊断是\",\"options\":{\"A\":\"急性阑尾炎\",\"B\":"
    "\"急性胆囊炎\","
    "\"C\":\"输尿管结石\",\"D\":\"急性胰腺炎\",\"E\":\"胃穿孔\"},\"answer\":\"A\"}",
    "{\"id\":\"EX-A3-0002\",\"category\":\"临床\",\"paper\":\"业务水平\",\"section\":\"外科学\","
    "\"type\":\"A3\",\"group\":\"EX-GA3-01\",\"case\":\"（示例病例）男，35岁。转移性右下腹痛8小时，"
    "右下腹固定压痛。\",\"stem\":\"首选的治疗是\",\"options\":{\"A\":\"阑尾切除术\",\"B\":"
    "\"胆囊切除术\","
    "\"C\":\"体外冲击波碎石\",\"D\":\"禁食补液观察\",\"E\":\"胃大部切除术\"},\"answer\":\"A\"}",
    "{\"id\":\"EX-A4-0001\",\"category\":\"临床\",\"paper\":\"业务水平\",\"section\":\"儿科学\","
    "\"type\":\"A4\",\"group\":\"EX-GA4-01\",\"case\":\"（示例病例）女孩，2岁。发热3天，皮疹1天，"
    "耳后首先出现红色斑丘疹。\",\"stem\":\"最可能的诊断是\",\"options\":{\"A\":\"麻疹\",\"B\":"
    "\"风疹\","
    "\"C\":\"幼儿急疹\",\"D\":\"猩红热\",\"E\":\"水痘\"},\"answer\":\"A\"}",
    "{\"id\":\"EX-A4-0002\",\"category\":\"临床\",\"paper\":\"业务水平\",\"section\":\"儿科学\","
    "\"type\":\"A4\",\"group\":\"EX-GA4-01\",\"case\":\"（示例病例）女孩，2岁。发热3天，皮疹1天，"
    "耳后首先出现红色斑丘疹。\",\"stem\":\"出疹前可见的特征性体征是\",\"options\":{\"A\":"
    "\"麻疹黏膜斑\","
    "\"B\":\"草莓舌\",\"C\":\"杨梅舌\",\"D\":\"口周苍白圈\",\"E\":\"帕氏线\"},\"answer\":\"A\"}",
    "{\"id\":\"EX-B1-0001\",\"category\":\"临床\",\"paper\":\"业务水平\",\"section\":\"内科学\","
    "\"type\":\"B1\",\"group\":\"EX-GB1-01\",\"stem\":\"（示例）夜盲症的病因是缺乏\","
    "\"options\":{\"A\":\"维生素A\",\"B\":\"维生素B1\",\"C\":\"维生素C\",\"D\":\"维生素D\","
    "\"E\":\"烟酸\"},\"answer\":\"A\"}",
    "{\"id\":\"EX-B1-0002\",\"category\":\"临床\",\"paper\":\"业务水平\",\"section\":\"内科学\","
    "\"type\":\"B1\",\"group\":\"EX-GB1-01\",\"stem\":\"（示例）坏血病的病因是缺乏\","
    "\"options\":{\"A\":\"维生素A\",\"B\":\"维生素B1\",\"C\":\"维生素C\",\"D\":\"维生素D\","
    "\"E\":\"烟酸\"},\"answer\":\"C\"}",
    "{\"id\":\"EX-X-0001\",\"category\":\"临床\",\"paper\":\"公共知识\",\"section\":\"卫生法规\","
    "\"type\":\"X\",\"stem\":\"（示例）医师在执业活动中享有的权利包括\",\"options\":{\"A\":"
    "\"获取劳动报酬\","
    "\"B\":\"参加专业培训\",\"C\":\"拒绝一切急诊\",\"D\":\"从事医学研究\"},\"answer\":\"ABD\"}",
};
#define NTEMPLATE (sizeof TEMPLATE_JSONL / sizeof TEMPLATE_JSONL[0])

/* GET /qbank/template?format=jsonl|csv: the JSON Lines, or the same rows as the CSV
 * template (UTF-8 with BOM for Excel; Chinese header) */
int admin_qb_template(admin_job *j, MYSQL *db)
{
    (void)db;
    const char *fmt = admin_q(j, "format");
    int csv = fmt && !strcmp(fmt, "csv");
    if (fmt && !csv && strcmp(fmt, "jsonl"))
        return dk_error_set(&j->err, DK_EINVAL, "format 应为 jsonl 或 csv");
    struct evbuffer *b = evbuffer_new();
    if (!csv) {
        for (size_t i = 0; i < NTEMPLATE; i++)
            evbuffer_add_printf(b, "%s\n", TEMPLATE_JSONL[i]);
    } else {
        evbuffer_add(b, "\xEF\xBB\xBF", 3);
        for (size_t c = 0; c < NCOLS; c++)
            admin_csv_field(b, CSV_COLS[c].label, c + 1 == NCOLS);
        for (size_t i = 0; i < NTEMPLATE; i++) {
            json_t *o = json_loads(TEMPLATE_JSONL[i], 0, NULL);
            json_t *opts = json_object_get(o, "options");
            for (size_t c = 0; c < NCOLS; c++) {
                const char *k = CSV_COLS[c].field;
                json_t *v = k[1] ? json_object_get(o, k) : json_object_get(opts, k);
                char num[24] = "";
                if (json_is_integer(v))
                    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
                admin_csv_field(b, json_is_string(v) ? json_string_value(v) : num, c + 1 == NCOLS);
            }
            json_decref(o);
        }
    }
    j->bytes_len = evbuffer_get_length(b);
    j->bytes = dk_malloc(j->bytes_len + 1);
    evbuffer_remove(b, j->bytes, j->bytes_len);
    evbuffer_free(b);
    j->ctype = csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8";
    snprintf(j->filename, sizeof j->filename, "qbank-template.%s", csv ? "csv" : "jsonl");
    return 0;
}
