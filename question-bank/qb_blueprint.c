/* qb_blueprint.c - blueprints: what a paper of one category x paper type is made of
 * (question count, minutes, pass mark, and rows of "so many questions of this section,
 * optionally of these types"), their JSON form, and storing and showing them.
 *
 * A blueprint is checked whole before it is stored: known names, counts adding up to
 * question_count, rows that never overlap (so sampling without replacement per row is
 * sampling without replacement per paper). Storing blocks on MariaDB (tools only). */
#include <stdlib.h>
#include <string.h>

#include "dk_json.h"
#include "dk_log.h"
#include "dk_mysql.h"
#include "qb_internal.h"

void qb_types_str(unsigned types, char *out)
{
    size_t o = 0;
    out[0] = '\0';
    for (int t = 0; t < QB_NTYPES; t++) {
        if (!(types & QB_TYPE_BIT(t))) continue;
        o += (size_t)snprintf(out + o, 32 - o, "%s%s", o ? "+" : "", qb_type_names[t]);
    }
}

void qb_bp_clear(qb_bp_def *bp)
{
    for (size_t i = 0; i < bp->nrows; i++)
        free(bp->rows[i].section);
    memset(bp, 0, sizeof *bp);
}

static int parse_types(json_t *t, unsigned *out, size_t row, dk_error *err)
{
    *out = 0;
    if (!t || json_is_null(t) || (json_is_array(t) && !json_array_size(t)))
        return 0; /* every type */
    json_t *one;
    size_t i;
    if (json_is_string(t)) {
        int ty = qb_type_find(json_string_value(t));
        if (ty < 0)
            return dk_error_set(err, DK_EINVAL, "sections[%zu]: unknown type '%.16s'", row,
                                json_string_value(t));
        *out = QB_TYPE_BIT(ty);
        return 0;
    }
    if (!json_is_array(t) || !json_array_size(t))
        return dk_error_set(err, DK_EINVAL,
                            "sections[%zu]: type must be a type name or a list of them", row);
    json_array_foreach(t, i, one)
    {
        int ty = json_is_string(one) ? qb_type_find(json_string_value(one)) : -1;
        if (ty < 0) return dk_error_set(err, DK_EINVAL, "sections[%zu]: unknown type", row);
        *out |= QB_TYPE_BIT(ty);
    }
    return 0;
}

int qb_bp_parse_sections(json_t *arr, qb_bp_def *bp, dk_error *err)
{
    static const char *const keys[] = {"section", "count", "type", NULL};
    if (!json_is_array(arr) || !json_array_size(arr))
        return dk_error_set(err, DK_EINVAL, "sections must be a non-empty list");
    if (json_array_size(arr) > QB_MAX_BP_SECTIONS)
        return dk_error_set(err, DK_EINVAL, "more than %d sections", QB_MAX_BP_SECTIONS);
    int sum = 0, rc;
    size_t i;
    json_t *row;
    json_array_foreach(arr, i, row)
    {
        const char *name;
        long long count;
        unsigned types;
        if ((rc = dk_json_only_keys(row, keys, err)) ||
            (rc = dk_json_str(row, "section", 256, &name, err)) ||
            (rc = dk_json_int(row, "count", 1, QB_MAX_PAPER, &count, err)) ||
            (rc = parse_types(json_object_get(row, "type"), &types, i, err))) {
            char m[sizeof err->msg];
            snprintf(m, sizeof m, "%s", err ? err->msg : "");
            return dk_error_set(err, rc, "sections[%zu]: %s", i, m);
        }
        if (qb_is_blank(name) || qb_utf8_chars(name) > QB_MAX_SECTION)
            return dk_error_set(err, DK_EINVAL, "sections[%zu]: bad section name", i);
        if (qb_section_is_public(name) && bp->paper == 1)
            return dk_error_set(err, DK_EINVAL, "sections[%zu]: %s belongs to %s, not %s", i, name,
                                qb_paper_names[0], qb_paper_names[1]);
        for (size_t j = 0; j < bp->nrows; j++) {
            const qb_bp_row *o = &bp->rows[j];
            unsigned a = o->types ? o->types : ~0u, b = types ? types : ~0u;
            if (!strcmp(o->section, name) && (a & b))
                return dk_error_set(err, DK_EINVAL,
                                    "sections[%zu] overlaps sections[%zu] (%s): rows of one "
                                    "section must name disjoint types",
                                    i, j, name);
        }
        qb_bp_row *r = &bp->rows[bp->nrows++];
        r->section = dk_strdup(name);
        r->types = types;
        r->count = (int)count;
        sum += (int)count;
    }
    if (sum != bp->question_count)
        return dk_error_set(err, DK_EINVAL, "section counts add up to %d, question_count is %d",
                            sum, bp->question_count);
    return 0;
}

int qb_bp_parse(json_t *obj, qb_bp_def *out, dk_error *err)
{
    static const char *const keys[] = {
        "category", "paper", "question_count", "duration_min", "pass_mark", "sections", NULL};
    memset(out, 0, sizeof *out);
    const char *cat, *paper;
    long long qc, dur, pass;
    int rc;
    if ((rc = dk_json_only_keys(obj, keys, err)) ||
        (rc = dk_json_str(obj, "category", 64, &cat, err)) ||
        (rc = dk_json_str(obj, "paper", 64, &paper, err)))
        return rc;
    out->category = qb_category_find(cat);
    out->paper = qb_paper_find(paper);
    if (out->category < 0) return dk_error_set(err, DK_EINVAL, "unknown category '%s'", cat);
    if (out->paper < 0) return dk_error_set(err, DK_EINVAL, "unknown paper '%s'", paper);
    if ((rc = dk_json_int(obj, "question_count", 1, QB_MAX_PAPER, &qc, err)) ||
        (rc = dk_json_int(obj, "duration_min", 1, 600, &dur, err)) ||
        (rc = dk_json_int(obj, "pass_mark", 0, qc, &pass, err)))
        return rc;
    out->question_count = (int)qc;
    out->duration_min = (int)dur;
    out->pass_mark = (int)pass;
    rc = qb_bp_parse_sections(json_object_get(obj, "sections"), out, err);
    if (rc) qb_bp_clear(out);
    return rc;
}

json_t *qb_bp_sections_json(const qb_bp_def *bp)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < bp->nrows; i++) {
        const qb_bp_row *r = &bp->rows[i];
        json_t *o = json_pack("{s:s, s:i}", "section", r->section, "count", r->count);
        if (r->types) {
            json_t *t = json_array();
            for (int ty = 0; ty < QB_NTYPES; ty++)
                if (r->types & QB_TYPE_BIT(ty))
                    json_array_append_new(t, json_string(qb_type_names[ty]));
            json_object_set_new(o, "type", t);
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

/* ---- the commands -------------------------------------------------------------------------- */

int qb_bp_store(MYSQL *db, const qb_bp_def *bp, dk_error *err)
{
    json_t *secs = qb_bp_sections_json(bp);
    char *s = dk_json_dump(secs);
    json_decref(secs);
    dk_param p[] = {DK_PSTR(qb_category_names[bp->category]),
                    DK_PSTR(qb_paper_names[bp->paper]),
                    DK_PINT(bp->question_count),
                    DK_PINT(bp->duration_min),
                    DK_PINT(bp->pass_mark),
                    DK_PSTR(s)};
    int rc = dk_mysql_exec(db,
                           "INSERT INTO qb_blueprint (category, paper, question_count, "
                           "duration_min, pass_mark, sections, updated_at) VALUES "
                           "(?, ?, ?, ?, ?, ?, NOW(3)) ON DUPLICATE KEY UPDATE "
                           "question_count = VALUES(question_count), duration_min = "
                           "VALUES(duration_min), pass_mark = VALUES(pass_mark), sections = "
                           "VALUES(sections), updated_at = VALUES(updated_at)",
                           p, 6, NULL, NULL, err);
    free(s);
    return rc;
}

int qb_blueprint_store_file(MYSQL *db, const char *path, int *stored, dk_error *err)
{
    *stored = 0;
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) return dk_error_set(err, DK_EINVAL, "%s:%d: %s", path, je.line, je.text);
    json_t *list = json_is_array(root) ? root : json_object_get(root, "blueprints");
    if (!json_is_array(list) || !json_array_size(list)) {
        json_decref(root);
        return dk_error_set(err, DK_EINVAL,
                            "%s: expected a list of blueprints or "
                            "{\"blueprints\": [...]}",
                            path);
    }
    size_t n = json_array_size(list);
    qb_bp_def *bps = dk_calloc(n, sizeof *bps);
    int rc = 0;
    size_t parsed = 0;
    for (; parsed < n; parsed++) {
        dk_error e1;
        if ((rc = qb_bp_parse(json_array_get(list, parsed), &bps[parsed], &e1))) {
            dk_error_set(err, rc, "%s: blueprints[%zu]: %s", path, parsed, e1.msg);
            goto done;
        }
        for (size_t j = 0; j < parsed; j++)
            if (bps[j].category == bps[parsed].category && bps[j].paper == bps[parsed].paper) {
                rc = dk_error_set(err, DK_EINVAL, "%s: blueprints[%zu] repeats %s %s", path, parsed,
                                  qb_category_names[bps[j].category], qb_paper_names[bps[j].paper]);
                parsed++;
                goto done;
            }
    }
    if ((rc = dk_mysql_begin(db, err))) goto done;
    for (size_t i = 0; i < n && !rc; i++)
        rc = qb_bp_store(db, &bps[i], err);
    if (!rc) rc = qb_bank_version_bump(db, err);
    if (!rc) rc = dk_mysql_commit(db, err);
    if (rc)
        dk_mysql_rollback(db);
    else
        *stored = (int)n;
done:
    for (size_t i = 0; i < parsed && i < n; i++)
        qb_bp_clear(&bps[i]);
    free(bps);
    json_decref(root);
    return rc;
}

void qb_blueprint_print(const qb_bp_def *bp, FILE *out)
{
    fprintf(out, "%s %s: %d questions, %d minutes, pass mark %d\n", qb_category_names[bp->category],
            qb_paper_names[bp->paper], bp->question_count, bp->duration_min, bp->pass_mark);
    for (size_t i = 0; i < bp->nrows; i++) {
        char t[32];
        qb_types_str(bp->rows[i].types, t);
        fputs("    ", out);
        qb_fpad(out, bp->rows[i].section, 24);
        qb_fpad(out, t[0] ? t : "any type", 12);
        fprintf(out, "%3d\n", bp->rows[i].count);
    }
}

static int cmp_bp(const void *a, const void *b)
{
    const qb_bp_def *x = a, *y = b;
    if (x->category != y->category) return x->category - y->category;
    return x->paper - y->paper;
}

int qb_blueprint_load_all(MYSQL *db, qb_bp_def **out, size_t *n, dk_error *err)
{
    MYSQL_RES *res;
    *out = NULL;
    *n = 0;
    int rc = dk_mysql_exec(db,
                           "SELECT category, paper, question_count, duration_min, pass_mark, "
                           "sections FROM qb_blueprint",
                           NULL, 0, &res, NULL, err);
    if (rc) return rc;
    size_t rows = (size_t)mysql_num_rows(res), k = 0;
    qb_bp_def *bps = dk_calloc(rows ? rows : 1, sizeof *bps);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        qb_bp_def *bp = &bps[k];
        bp->category = row[0] ? qb_category_find(row[0]) : -1;
        bp->paper = row[1] ? qb_paper_find(row[1]) : -1;
        if (bp->category < 0 || bp->paper < 0) {
            DK_WARN("qb", "blueprint with unknown category or paper ignored");
            continue;
        }
        bp->question_count = row[2] ? atoi(row[2]) : 0;
        bp->duration_min = row[3] ? atoi(row[3]) : 0;
        bp->pass_mark = row[4] ? atoi(row[4]) : 0;
        json_error_t je;
        json_t *secs = row[5] ? json_loads(row[5], 0, &je) : NULL;
        dk_error e1;
        if (!secs || qb_bp_parse_sections(secs, bp, &e1)) {
            DK_WARN("qb", "blueprint %s %s has bad sections, ignored", row[0], row[1]);
            qb_bp_clear(bp);
            json_decref(secs);
            continue;
        }
        json_decref(secs);
        k++;
    }
    mysql_free_result(res);
    qsort(bps, k, sizeof *bps, cmp_bp);
    *out = bps;
    *n = k;
    return 0;
}
