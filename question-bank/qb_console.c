/* qb_console.c - what the console does to the bank besides checking lines (qb_import.c):
 * drafted releases (create, retire, publish, discard), blueprints checked against the live
 * bank before they are stored, and a sample paper with keys for reviewers.
 *
 * Blocking MariaDB calls on the caller's connection (admind's database threads). The
 * writers run in the caller's transaction, so its audit row commits with them. The rule
 * they keep: a live qb_question row is never changed, only retired (question_bank.h). */
#include <stdlib.h>
#include <string.h>

#include "dk_json.h"
#include "dk_log.h"
#include "dk_mysql.h"
#include "qb_internal.h"

static const char *state_zh(const char *s)
{
    return !strcmp(s, "draft")       ? "草稿"
           : !strcmp(s, "published") ? "已发布"
           : !strcmp(s, "discarded") ? "已放弃"
           : !strcmp(s, "retired")   ? "已退役"
           : !strcmp(s, "live")      ? "已发布"
                                     : s;
}

static json_t *bp_report(const qb_index *idx, int cp);
static void bp_why_zh(json_t *report, char *out, size_t outsz);

/* ---- releases ------------------------------------------------------------------------------ */

int qb_release_create(MYSQL *db, const char *kind, const char *title, long long by, long long *rid,
                      dk_error *err)
{
    dk_param p[] = {DK_PSTR(kind), DK_PSTR(title), DK_PINT(by)};
    int rc = dk_mysql_exec(db, "INSERT INTO qb_release (kind, title, created_by) VALUES (?, ?, ?)",
                           p, 3, NULL, NULL, err);
    *rid = rc ? 0 : (long long)mysql_insert_id(db);
    return rc;
}

int qb_question_live(MYSQL *db, const char *id, const char *what, char group[QB_MAX_ID + 1],
                     dk_error *err)
{
    MYSQL_RES *res;
    dk_param p[] = {DK_PSTR(id)};
    group[0] = '\0';
    int rc = dk_mysql_exec(db, "SELECT state, group_id FROM qb_question WHERE id = ?", p, 1, &res,
                           NULL, err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row)
        rc = dk_error_set(err, DK_ENOTFOUND, "题库中没有题目 %s", id);
    else if (strcmp(row[0], "live"))
        rc =
            dk_error_set(err, DK_ECONFLICT, "题目 %s 当前状态为%s，%s", id, state_zh(row[0]), what);
    else if (row[1])
        snprintf(group, QB_MAX_ID + 1, "%s", row[1]);
    mysql_free_result(res);
    return rc;
}

int qb_release_retire(MYSQL *db, long long rid, const char *id, long *added, dk_error *err)
{
    *added = 0;
    char group[QB_MAX_ID + 1];
    int rc = qb_question_live(db, id, "不能退役", group, err);
    if (rc) return rc;
    uint64_t n = 0;
    dk_param q[] = {DK_PINT(rid), DK_PSTR(group[0] ? group : id)};
    rc = dk_mysql_exec(db,
                       group[0] ? "INSERT IGNORE INTO qb_release_retire (release_id, question_id) "
                                  "SELECT ?, id FROM qb_question WHERE group_id = ?"
                                : "INSERT IGNORE INTO qb_release_retire (release_id, question_id) "
                                  "VALUES (?, ?)",
                       q, 2, NULL, &n, err);
    if (rc) return rc;
    dk_param u[] = {DK_PINT((long long)n), DK_PINT(rid)};
    rc = dk_mysql_exec(db, "UPDATE qb_release SET retirements = retirements + ? WHERE id = ?", u, 2,
                       NULL, NULL, err);
    if (!rc) *added = (long)n;
    return rc;
}

/* Locks release rid; DK_ECONFLICT naming its status unless it is a draft. *retirements (if
 * not NULL) gets the number of questions it retires. */
static int lock_draft(MYSQL *db, long long rid, long long *retirements, dk_error *err)
{
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(rid)};
    int rc = dk_mysql_exec(db, "SELECT status, retirements FROM qb_release WHERE id = ? FOR UPDATE",
                           p, 1, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row)
        rc = dk_error_set(err, DK_ENOTFOUND, "没有这个题库版本");
    else if (strcmp(row[0], "draft"))
        rc = dk_error_set(err, DK_ECONFLICT, "该版本当前状态为%s，只能处理草稿", state_zh(row[0]));
    else if (retirements)
        *retirements = row[1] ? strtoll(row[1], NULL, 10) : 0;
    mysql_free_result(res);
    return rc;
}

/* After a release's changes (in the transaction): every blueprint the bank could fill
 * before must still be fillable (a retirement must not leave 09:00 without a paper). */
static int blueprints_still_drawable(MYSQL *db, const qb_index *before, dk_error *err)
{
    qb_index *after;
    int rc = qb_index_load_in_txn(db, NULL, 0, &after, err);
    if (rc) return rc;
    for (size_t i = 0; i < QB_NCATS * QB_NPAPERS && !rc; i++) {
        const qb_bp_entry *b = &before->bps[i], *a = &after->bps[i];
        if (b->present && b->pub.satisfiable && a->present && !a->pub.satisfiable) {
            char why[256];
            json_t *r = bp_report(after, (int)i);
            bp_why_zh(r, why, sizeof why);
            json_decref(r);
            rc = dk_error_set(err, DK_ECONFLICT,
                              "发布后题库无法按 %s %s 的蓝图组卷（%s），请先调整蓝图或少退役题目",
                              a->pub.category, a->pub.paper, why);
        }
    }
    qb_index_unref(after);
    return rc;
}

int qb_release_publish(MYSQL *db, long long rid, long long by, uint64_t *version, dk_error *err)
{
    *version = 0;
    long long retirements = 0;
    /* the bank first: a publish running at the same time waits here, and what follows reads
     * the bank with its changes committed */
    int rc = qb_bank_lock(db, err);
    if (!rc) rc = lock_draft(db, rid, &retirements, err);
    if (rc) return rc;
    /* a question it retires that is no longer live: another release got there first */
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(rid)};
    if ((rc = dk_mysql_exec(db,
                            "SELECT q.id, q.state FROM qb_release_retire r JOIN qb_question q ON "
                            "q.id = r.question_id WHERE r.release_id = ? AND q.state <> 'live' "
                            "LIMIT 1 FOR UPDATE",
                            p, 1, &res, NULL, err)))
        return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row)
        rc = dk_error_set(err, DK_ECONFLICT, "题目 %s 当前状态为%s（其他版本已处理），不能发布",
                          row[0], state_zh(row[1]));
    mysql_free_result(res);
    if (rc) return rc;
    qb_index *before;
    if ((rc = qb_index_load_in_txn(db, NULL, 0, &before, err))) return rc;
    dk_param p2[] = {DK_PINT(rid), DK_PINT(rid)};
    uint64_t nretired = 0;
    /* only live questions: one another release retired keeps its retired_release */
    if ((rc = dk_mysql_exec(db,
                            "UPDATE qb_question SET state = 'retired', retired_release = ? WHERE "
                            "state = 'live' AND id IN (SELECT question_id FROM qb_release_retire "
                            "WHERE release_id = ?)",
                            p2, 2, NULL, &nretired, err)) ||
        ((long long)nretired != retirements &&
         (rc = dk_error_set(err, DK_ECONFLICT,
                            "该版本要退役 %lld 道题，其中 %lld 道已不是已发布状态（其他版本已处理），"
                            "不能发布",
                            retirements, retirements - (long long)nretired))) ||
        (rc = dk_mysql_exec(db,
                            "UPDATE qb_group SET state = 'retired' WHERE id IN (SELECT group_id "
                            "FROM qb_question WHERE retired_release = ? AND group_id IS NOT "
                            "NULL)",
                            p, 1, NULL, NULL, err)) ||
        (rc = dk_mysql_exec(db,
                            "UPDATE qb_group SET state = 'live' WHERE release_id = ? AND state = "
                            "'draft'",
                            p, 1, NULL, NULL, err)) ||
        (rc = dk_mysql_exec(db,
                            "UPDATE qb_question SET state = 'live' WHERE release_id = ? AND "
                            "state = 'draft'",
                            p, 1, NULL, NULL, err)) ||
        (rc = blueprints_still_drawable(db, before, err)) || (rc = qb_bank_version_bump(db, err))) {
        qb_index_unref(before);
        return rc;
    }
    qb_index_unref(before);
    if ((rc = dk_mysql_exec(db, "SELECT version FROM qb_bank_version WHERE id = 1", NULL, 0, &res,
                            NULL, err)))
        return rc;
    row = mysql_fetch_row(res);
    *version = row && row[0] ? strtoull(row[0], NULL, 10) : 0;
    mysql_free_result(res);
    dk_param u[] = {DK_PINT((long long)*version), DK_PINT(by), DK_PINT(rid)};
    return dk_mysql_exec(db,
                         "UPDATE qb_release SET status = 'published', bank_version = ?, "
                         "decided_by = ?, decided_at = NOW(3) WHERE id = ?",
                         u, 3, NULL, NULL, err);
}

int qb_release_discard(MYSQL *db, long long rid, long long by, dk_error *err)
{
    int rc = lock_draft(db, rid, NULL, err);
    if (rc) return rc;
    dk_param p[] = {DK_PINT(rid)};
    dk_param u[] = {DK_PINT(by), DK_PINT(rid)};
    if ((rc = dk_mysql_exec(db, "DELETE FROM qb_question WHERE release_id = ? AND state = 'draft'",
                            p, 1, NULL, NULL, err)) ||
        (rc = dk_mysql_exec(db, "DELETE FROM qb_group WHERE release_id = ? AND state = 'draft'", p,
                            1, NULL, NULL, err)))
        return rc;
    return dk_mysql_exec(db,
                         "UPDATE qb_release SET status = 'discarded', decided_by = ?, decided_at "
                         "= NOW(3) WHERE id = ?",
                         u, 2, NULL, NULL, err);
}

/* ---- blueprints -------------------------------------------------------------------------------
 */

static json_t *types_json(unsigned types)
{
    json_t *a = json_array();
    for (int t = 0; t < QB_NTYPES; t++)
        if (types & QB_TYPE_BIT(t)) json_array_append_new(a, json_string(qb_type_names[t]));
    return a;
}

/* The blueprint of cp in idx with its pools: available vs needed per row. */
static json_t *bp_report(const qb_index *idx, int cp)
{
    const qb_bp_entry *e = &idx->bps[cp];
    if (!e->present) return json_null();
    json_t *rows = json_array();
    for (size_t r = 0; r < e->def.nrows; r++) {
        const qb_pool *p = &e->pools[r];
        json_array_append_new(
            rows, json_pack("{s:s, s:o, s:i, s:i, s:b}", "section", e->def.rows[r].section, "type",
                            types_json(e->def.rows[r].types), "count", p->count, "available",
                            (int)p->nquestions, "feasible", p->feasible));
    }
    return json_pack("{s:s, s:s, s:i, s:i, s:i, s:b, s:s, s:o}", "category",
                     qb_category_names[e->def.category], "paper", qb_paper_names[e->def.paper],
                     "question_count", e->def.question_count, "duration_min", e->def.duration_min,
                     "pass_mark", e->def.pass_mark, "feasible", e->pub.satisfiable, "why",
                     e->pub.satisfiable ? "" : e->why, "sections", rows);
}

/* Parses bp into def and reports it against the bank: in a snapshot of its own, or (in_txn)
 * in the caller's transaction, after its locks. */
static int bp_check(MYSQL *db, json_t *bp, int in_txn, qb_bp_def *def, json_t **out,
                    dk_error *err)
{
    *out = NULL;
    dk_error e1 = {0};
    int rc = qb_bp_parse(bp, def, &e1);
    if (rc) return dk_error_set(err, DK_EINVAL, "蓝图不合格：%s", e1.msg);
    qb_index *idx;
    if ((rc = in_txn ? qb_index_load_in_txn(db, def, 1, &idx, err)
                     : qb_index_load_with(db, def, 1, &idx, err))) {
        qb_bp_clear(def);
        return rc;
    }
    *out = bp_report(idx, def->category * QB_NPAPERS + def->paper);
    qb_index_unref(idx);
    return 0;
}

int qb_blueprint_check(MYSQL *db, json_t *bp, json_t **out, dk_error *err)
{
    qb_bp_def def;
    int rc = bp_check(db, bp, 0, &def, out, err);
    if (!rc) qb_bp_clear(&def);
    return rc;
}

/* The rows the bank cannot fill, in Chinese: "内科学 需要 30 道，题库可用 12 道；…". */
static void bp_why_zh(json_t *report, char *out, size_t outsz)
{
    size_t o = 0, i;
    json_t *row;
    out[0] = '\0';
    json_array_foreach(json_object_get(report, "sections"), i, row)
    {
        if (json_is_true(json_object_get(row, "feasible")) || o >= outsz) continue;
        long long need = json_integer_value(json_object_get(row, "count"));
        long long have = json_integer_value(json_object_get(row, "available"));
        const char *sec = json_string_value(json_object_get(row, "section"));
        if (have < need)
            o += (size_t)snprintf(out + o, outsz - o, "%s%s 需要 %lld 道，题库可用 %lld 道",
                                  o ? "；" : "", sec, need, have);
        else
            o += (size_t)snprintf(out + o, outsz - o, "%s%s 的整组题无法恰好凑成 %lld 道",
                                  o ? "；" : "", sec, need);
    }
}

int qb_blueprint_publish(MYSQL *db, json_t *bp, json_t **out, dk_error *err)
{
    qb_bp_def def;
    *out = NULL;
    /* the caller commits, with its audit row; the bank is locked before it is read, so a
     * release published at the same time cannot empty the pools this check counted */
    int rc = dk_mysql_begin(db, err);
    if (!rc) rc = qb_bank_lock(db, err);
    if (!rc) rc = bp_check(db, bp, 1, &def, out, err);
    if (rc) return rc;
    if (!json_is_true(json_object_get(*out, "feasible"))) {
        char why[256];
        bp_why_zh(*out, why, sizeof why);
        rc = dk_error_set(err, DK_ECONFLICT, "题库无法按此蓝图组卷，不能发布：%s", why);
    }
    if (!rc) rc = qb_bp_store(db, &def, err);
    if (!rc) rc = qb_bank_version_bump(db, err);
    qb_bp_clear(&def);
    return rc;
}

int qb_blueprint_all(MYSQL *db, json_t **out, dk_error *err)
{
    qb_index *idx;
    int rc = qb_index_load(db, &idx, err);
    if (rc) return rc;
    json_t *list = json_array();
    for (int c = 0; c < QB_NCATS; c++)
        for (int p = 0; p < QB_NPAPERS; p++) {
            json_t *b = bp_report(idx, c * QB_NPAPERS + p);
            if (json_is_null(b))
                b = json_pack("{s:s, s:s, s:n}", "category", qb_category_names[c], "paper",
                              qb_paper_names[p], "sections");
            json_array_append_new(list, b);
        }
    *out = json_pack("{s:I, s:o}", "bank_version", (json_int_t)idx->version, "blueprints", list);
    qb_index_unref(idx);
    return 0;
}

/* ---- preview ------------------------------------------------------------------------------------
 */

int qb_preview(MYSQL *db, const char *category, const char *paper, uint64_t seed, json_t **out,
               dk_error *err)
{
    *out = NULL;
    qb_index *idx;
    int rc = qb_index_load(db, &idx, err);
    if (rc) return rc;
    qb_paper *p = NULL;
    char *sql = NULL;
    dk_param *params = NULL;
    MYSQL_RES *res = NULL;
    if ((rc = qb_draw(idx, category, paper, seed, &p, err))) goto done;
    int n = qb_paper_count(p);
    static const char head[] =
        "SELECT q.id, q.qtype, q.section, q.group_id, g.case_text, q.stem, q.options, q.answer, "
        "q.explanation, q.difficulty FROM qb_question q LEFT JOIN qb_group g ON g.id = "
        "q.group_id WHERE q.id IN (";
    sql = dk_malloc(sizeof head + (size_t)n * 2 + 2);
    size_t o = (size_t)sprintf(sql, "%s", head);
    params = dk_malloc((size_t)(n ? n : 1) * sizeof *params);
    for (int no = 1; no <= n; no++) {
        o += (size_t)sprintf(sql + o, no > 1 ? ",?" : "?");
        params[no - 1] = DK_PSTR(qb_paper_question_id(idx, p, no));
    }
    strcpy(sql + o, ")");
    if ((rc = dk_mysql_exec(db, sql, params, (size_t)n, &res, NULL, err))) goto done;
    json_t *byid = json_object();
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        json_error_t je;
        json_t *opts = json_loads(row[6], 0, &je);
        json_object_set_new(byid, row[0],
                            json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:o, s:s, s:s?, s:i}", "type",
                                      row[1], "section", row[2], "group", row[3], "case", row[4],
                                      "stem", row[5], "options", opts ? opts : json_object(),
                                      "answer", row[7], "explanation", row[8], "difficulty",
                                      row[9] ? atoi(row[9]) : 3));
    }
    json_t *qs = json_array();
    for (int no = 1; no <= n; no++) {
        const char *id = qb_paper_question_id(idx, p, no);
        json_t *q = json_object_get(byid, id);
        if (!q) continue;
        json_object_set_new(q, "no", json_integer(no));
        json_object_set_new(q, "id", json_string(id));
        json_array_append(qs, q);
    }
    json_decref(byid);
    *out = json_pack("{s:s, s:s, s:I, s:I, s:o}", "category", category, "paper", paper, "seed",
                     (json_int_t)seed, "bank_version", (json_int_t)idx->version, "questions", qs);
done:
    if (res) mysql_free_result(res);
    free(params);
    free(sql);
    qb_paper_free(p);
    qb_index_unref(idx);
    return rc;
}
