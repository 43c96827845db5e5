/* qb_import.c - `qbank import`: validates a JSON Lines file against the format and the
 * bank, reports every bad line as "FILE:LINE: reason: detail", and writes the questions
 * in one transaction (all of them, or with --skip-bad the good ones, groups whole).
 *
 * Blocking MariaDB calls: a tool's code, never an event loop's. The version of the bank
 * (qb_bank_version) is bumped in the same transaction, so a reload sees the new bank
 * and a new version together. */
#include <errno.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "dk_json.h"
#include "dk_log.h"
#include "dk_mysql.h"
#include "qb_internal.h"

#define MAX_FILE_BYTES ((size_t)1 << 30)
#define BATCH 100

int qb_bank_version_bump(MYSQL *db, dk_error *err)
{
    return dk_mysql_exec(db,
                         "INSERT INTO qb_bank_version (id, version, updated_at) VALUES "
                         "(1, 1, NOW(3)) ON DUPLICATE KEY UPDATE version = version + 1, "
                         "updated_at = NOW(3)",
                         NULL, 0, NULL, NULL, err);
}

int qb_bank_lock(MYSQL *db, dk_error *err)
{
    return dk_mysql_exec(db, "SELECT version FROM qb_bank_version WHERE id = 1 FOR UPDATE", NULL,
                         0, NULL, NULL, err);
}

static int read_file(const char *path, char **out, size_t *len, dk_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return dk_error_set(err, DK_EIO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = dk_malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            if (cap >= MAX_FILE_BYTES) {
                free(buf);
                fclose(f);
                return dk_error_set(err, DK_ETOOBIG, "%s is over %zu bytes", path, MAX_FILE_BYTES);
            }
            cap *= 2;
            buf = dk_realloc(buf, cap);
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return dk_error_set(err, DK_EIO, "cannot read %s", path);
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Seeds the validator with the content of every question already in the bank, live or
 * drafted (a retired one may come back; the question being revised and its group too:
 * `except` and `except_group`, NULL for none). */
static int load_bank_content(MYSQL *db, qb_validator *v, const char *except,
                             const char *except_group, dk_error *err)
{
    MYSQL_RES *res;
    dk_param p[] = {DK_PSTR(except ? except : ""), DK_PSTR(except_group ? except_group : "")};
    int rc = dk_mysql_exec(db,
                           "SELECT q.id, q.category, q.stem, q.options, g.case_text FROM "
                           "qb_question q LEFT JOIN qb_group g ON g.id = q.group_id "
                           "WHERE q.state <> 'retired' AND q.id <> ? AND "
                           "(q.group_id IS NULL OR q.group_id <> ?)",
                           p, 2, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        qb_rec r = {0};
        json_error_t je;
        json_t *o = row[3] ? json_loads(row[3], 0, &je) : NULL;
        const char *k;
        json_t *val;
        r.category = row[1] ? qb_category_find(row[1]) : -1;
        if (r.category >= 0 && row[2] && json_is_object(o)) {
            json_object_foreach(o, k, val)
            {
                if (r.nopt < QB_MAX_OPTIONS && json_is_string(val))
                    r.opt[r.nopt++] = (char *)json_string_value(val);
            }
            r.stem = row[2];
            r.case_text = row[4];
            qb_validator_known_content(v, qb_rec_content_hash(&r), row[0]);
        }
        json_decref(o);
    }
    mysql_free_result(res);
    return 0;
}

/* Reports ids (or group ids) of the file that the bank already has; with `existing`, ids
 * are not reported but their lines marked there (indexed by line). */
static int check_ids_in_bank(MYSQL *db, qb_validator *v, int groups, unsigned char *existing,
                             dk_error *err)
{
    size_t n = qb_validator_nrecs(v);
    const char **ids = dk_malloc((n ? n : 1) * sizeof *ids);
    long *lines = dk_malloc((n ? n : 1) * sizeof *lines);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        qb_rec *r = qb_validator_rec(v, i);
        const char *id = groups ? r->group : r->id;
        if (!id || (groups && r->group_pos != 1)) continue;
        ids[m] = id;
        lines[m++] = r->line;
    }
    int rc = 0;
    char *sql = dk_malloc(64 + BATCH * 3);
    dk_param p[BATCH];
    for (size_t at = 0; at < m && !rc; at += BATCH) {
        size_t k = m - at < BATCH ? m - at : BATCH, o;
        o = (size_t)sprintf(sql, "SELECT id FROM %s WHERE id IN (",
                            groups ? "qb_group" : "qb_question");
        for (size_t i = 0; i < k; i++) {
            o += (size_t)sprintf(sql + o, i ? ",?" : "?");
            p[i] = DK_PSTR(ids[at + i]);
        }
        strcpy(sql + o, ")");
        MYSQL_RES *res;
        if ((rc = dk_mysql_exec(db, sql, p, k, &res, NULL, err))) break;
        MYSQL_ROW row;
        while ((row = mysql_fetch_row(res)))
            for (size_t i = 0; i < k; i++)
                if (row[0] && !strcmp(row[0], ids[at + i]) && existing && !groups)
                    existing[lines[at + i]] = 1;
                else if (row[0] && !strcmp(row[0], ids[at + i]))
                    qb_validator_report(v, lines[at + i], "duplicate-id",
                                        "%s%s is already in the bank", groups ? "group " : "",
                                        ids[at + i]);
        mysql_free_result(res);
    }
    free(sql);
    free(ids);
    free(lines);
    return rc;
}

static char *options_json(const qb_rec *r)
{
    json_t *o = json_object();
    for (int i = 0; i < r->nopt; i++) {
        char k[2] = {(char)('A' + i), 0};
        json_object_set_new(o, k, json_string(r->opt[i]));
    }
    char *s = dk_json_dump(o);
    json_decref(o);
    return s;
}

/* Where written rows go: live (qbank import) or drafts of a release (the console). */
typedef struct dest {
    const char *state;    /* "live" or "draft" */
    long long release_id; /* 0: none */
} dest;

#define DEST_PARAMS(d) DK_PSTR((d)->state), (d)->release_id ? DK_PINT((d)->release_id) : DK_PNULL

static int insert_group(MYSQL *db, const qb_rec *r, const dest *d, dk_error *err)
{
    char *opts = r->type == QB_B1 ? options_json(r) : NULL;
    dk_param p[] = {DK_PSTR(r->group),
                    DK_PSTR(qb_category_names[r->category]),
                    DK_PSTR(qb_paper_names[r->paper]),
                    DK_PSTR(r->section),
                    DK_PSTR(qb_type_names[r->type]),
                    r->case_text ? DK_PSTR(r->case_text) : DK_PNULL,
                    opts ? DK_PSTR(opts) : DK_PNULL,
                    DEST_PARAMS(d)};
    int rc = dk_mysql_exec(db,
                           "INSERT INTO qb_group (id, category, paper, section, qtype, case_text, "
                           "shared_options, state, release_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           p, 9, NULL, NULL, err);
    free(opts);
    return rc;
}

#define QCOLS 14

static int insert_questions(MYSQL *db, qb_rec **recs, size_t n, const dest *d, dk_error *err)
{
    static const char head[] = "INSERT INTO qb_question (id, category, paper, section, qtype, "
                               "group_id, group_pos, stem, options, answer, difficulty, "
                               "explanation, state, release_id, imported_at) VALUES ";
    static const char tuple[] = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,NOW(3))";
    char *sql = dk_malloc(sizeof head + BATCH * sizeof tuple);
    dk_param *p = dk_malloc(BATCH * QCOLS * sizeof *p);
    char *opts[BATCH];
    char keys[BATCH][QB_MAX_OPTIONS + 1];
    int rc = 0;
    for (size_t at = 0; at < n && !rc; at += BATCH) {
        size_t k = n - at < BATCH ? n - at : BATCH;
        size_t o = (size_t)sprintf(sql, "%s", head);
        for (size_t i = 0; i < k; i++) {
            const qb_rec *r = recs[at + i];
            o += (size_t)sprintf(sql + o, "%s%s", i ? "," : "", tuple);
            opts[i] = options_json(r);
            qb_key_letters(r->key, keys[i]);
            dk_param *q = &p[i * QCOLS];
            q[0] = DK_PSTR(r->id);
            q[1] = DK_PSTR(qb_category_names[r->category]);
            q[2] = DK_PSTR(qb_paper_names[r->paper]);
            q[3] = DK_PSTR(r->section);
            q[4] = DK_PSTR(qb_type_names[r->type]);
            q[5] = r->group ? DK_PSTR(r->group) : DK_PNULL;
            q[6] = r->group ? DK_PINT(r->group_pos) : DK_PNULL;
            q[7] = DK_PSTR(r->stem);
            q[8] = DK_PSTR(opts[i]);
            q[9] = DK_PSTR(keys[i]);
            q[10] = DK_PINT(r->difficulty);
            q[11] = r->explanation ? DK_PSTR(r->explanation) : DK_PNULL;
            q[12] = DK_PSTR(d->state);
            q[13] = d->release_id ? DK_PINT(d->release_id) : DK_PNULL;
        }
        rc = dk_mysql_exec(db, sql, p, k * QCOLS, NULL, NULL, err);
        for (size_t i = 0; i < k; i++)
            free(opts[i]);
    }
    free(p);
    free(sql);
    return rc;
}

/* ---- the check: one for `qbank import` and the console -----------------------------------------
 */

struct qb_check {
    qb_validator *v;
    long lines, bad_lines, existing;
    unsigned char *old;      /* per line: its id is in the bank (QB_IMPORT_IGNORE_EXISTING) */
    char *replaces, *new_id; /* a revision: the question edited, and its new id */
    char *except_group;      /* a revision of a group member: the group it replaces */
    char **pairs;            /* a revision: old id, new id, ... of every row it replaces */
    size_t npairs;
};

/* Validates buf line by line, then against the bank (db not NULL): ids and group ids
 * already there, questions repeating a live or drafted one (but `except`). */
static int check_run(MYSQL *db, const char *buf, size_t len, unsigned flags, const char *except,
                     qb_check *c, dk_error *err)
{
    int rc;
    c->v = qb_validator_new();
    if (db && (rc = load_bank_content(db, c->v, except, c->except_group, err))) return rc;
    long lineno = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - buf) : len, n = end - at;
        if (n && buf[at + n - 1] == '\r') n--;
        qb_validator_line(c->v, ++lineno, buf + at, n);
        at = end + 1;
    }
    qb_validator_finish(c->v);
    c->lines = lineno;
    if (db && (flags & QB_IMPORT_IGNORE_EXISTING)) c->old = dk_calloc((size_t)lineno + 1, 1);
    if (db && ((rc = check_ids_in_bank(db, c->v, 0, c->old, err)) ||
               (rc = check_ids_in_bank(db, c->v, 1, c->old, err))))
        return rc;
    for (long l = 1; c->old && l <= lineno; l++)
        if (c->old[l]) {
            qb_validator_forgive(c->v, l); /* its duplicate-question is the bank's copy */
            c->existing++;
        }
    for (long l = 1; l <= lineno; l++)
        c->bad_lines += qb_validator_bad(c->v, l);
    return 0;
}

/* The good records (a group with a bad member stays out whole, reported as skipped). */
static qb_rec **good_recs(const qb_check *c, const char *path, FILE *report, size_t *m)
{
    size_t n = qb_validator_nrecs(c->v);
    qb_rec **good = dk_malloc((n ? n : 1) * sizeof *good);
    qb_strmap badgroups;
    qb_strmap_init(&badgroups, 64);
    *m = 0;
    for (size_t i = 0; i < n; i++) {
        qb_rec *r = qb_validator_rec(c->v, i);
        if (r->group && qb_validator_bad(c->v, r->line)) qb_strmap_put(&badgroups, r->group, 1);
    }
    for (size_t i = 0; i < n; i++) {
        qb_rec *r = qb_validator_rec(c->v, i);
        if (qb_validator_bad(c->v, r->line) || (c->old && c->old[r->line])) continue;
        if (r->group && qb_strmap_get(&badgroups, r->group, strlen(r->group)) != QB_NONE) {
            if (report)
                fprintf(report, "%s:%ld: skipped: group %s has a bad member\n", path, r->line,
                        r->group);
            continue;
        }
        good[(*m)++] = r;
    }
    qb_strmap_free(&badgroups);
    return good;
}

static int write_recs(MYSQL *db, qb_rec **good, size_t m, const dest *d, dk_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < m && !rc; i++)
        if (good[i]->group && good[i]->group_pos == 1) rc = insert_group(db, good[i], d, err);
    if (!rc) rc = insert_questions(db, good, m, d, err);
    return rc;
}

static void check_clear(qb_check *c)
{
    qb_validator_free(c->v);
    free(c->old);
    free(c->replaces);
    free(c->new_id);
    free(c->except_group);
    for (size_t i = 0; i < 2 * c->npairs; i++)
        free(c->pairs[i]);
    free(c->pairs);
}

static void print_violations(const qb_validator *v, const char *path, FILE *report)
{
    for (size_t i = 0; i < qb_validator_nviolations(v); i++) {
        const qb_violation *x = qb_validator_violation(v, i);
        fprintf(report, "%s:%ld: %s%s%s\n", path, x->line, x->reason, x->detail[0] ? ": " : "",
                x->detail);
    }
}

int qb_import_file(MYSQL *db, const char *path, unsigned flags, FILE *report, long *imported,
                   long *bad_lines, long *existing, dk_error *err)
{
    int skip_bad = !!(flags & QB_IMPORT_SKIP_BAD);
    *imported = 0;
    *bad_lines = 0;
    *existing = 0;
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len, err);
    if (rc) return rc;
    qb_check c = {0};
    qb_rec **good = NULL;
    if ((rc = check_run(db, buf, len, flags, NULL, &c, err))) goto done;
    *existing = c.existing;
    *bad_lines = c.bad_lines;
    print_violations(c.v, path, report);
    if (c.lines == 0) {
        rc = dk_error_set(err, DK_EINVAL, "%s has no question", path);
        goto done;
    }
    if (*bad_lines && !skip_bad) {
        rc = dk_error_set(err, DK_EINVAL, "%ld of %ld lines are bad: nothing imported", *bad_lines,
                          c.lines);
        goto done;
    }
    size_t m;
    good = good_recs(&c, path, report, &m);
    if (!m && *existing && !*bad_lines) goto done; /* everything is there already */
    if (!m) {
        rc = dk_error_set(err, DK_EINVAL, "no good question in %s: nothing imported", path);
        goto done;
    }
    if (!db) { /* a dry run */
        *imported = (long)m;
        goto done;
    }
    dest live = {"live", 0};
    if ((rc = dk_mysql_begin(db, err))) goto done;
    rc = write_recs(db, good, m, &live, err);
    if (!rc) rc = qb_bank_version_bump(db, err);
    if (!rc) rc = dk_mysql_commit(db, err);
    if (rc) {
        dk_mysql_rollback(db);
        goto done;
    }
    *imported = (long)m;
done:
    free(good);
    check_clear(&c);
    free(buf);
    return rc;
}

/* ---- the console's side -----------------------------------------------------------------------
 */

int qb_check_upload(MYSQL *db, const char *buf, size_t len, qb_check **out, dk_error *err)
{
    qb_check *c = dk_calloc(1, sizeof *c);
    *out = c;
    return check_run(db, buf, len, 0, NULL, c, err);
}

/* The next free revision id of id in table (qb_question or qb_group): <base>-R<n>, base
 * without an earlier -R<n>. */
static int next_revision_id(MYSQL *db, const char *table, const char *id, char out[QB_MAX_ID + 1],
                            dk_error *err)
{
    size_t n = strlen(id), b = n;
    const char *r = strrchr(id, '-');
    if (r && r[1] == 'R' && r[2] && strspn(r + 2, "0123456789") == strlen(r + 2))
        b = (size_t)(r - id);
    for (int k = 2; k < 1000; k++) {
        char cand[QB_MAX_ID + 16];
        snprintf(cand, sizeof cand, "%.*s-R%d", (int)b, id, k);
        if (strlen(cand) > 32)
            return dk_error_set(err, DK_EINVAL, "题目编号 %s 过长，无法生成修订编号", id);
        MYSQL_RES *res;
        dk_param p[] = {DK_PSTR(cand)};
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id = ?", table);
        int rc = dk_mysql_exec(db, sql, p, 1, &res, NULL, err);
        if (rc) return rc;
        int taken = mysql_num_rows(res) > 0;
        mysql_free_result(res);
        if (!taken) {
            snprintf(out, QB_MAX_ID + 1, "%s", cand);
            return 0;
        }
    }
    return dk_error_set(err, DK_ECONFLICT, "题目 %s 的修订过多", id);
}

static void add_pair(qb_check *c, const char *old, const char *nid)
{
    c->pairs = dk_realloc(c->pairs, 2 * (c->npairs + 1) * sizeof *c->pairs);
    c->pairs[2 * c->npairs] = dk_strdup(old);
    c->pairs[2 * c->npairs + 1] = dk_strdup(nid);
    c->npairs++;
}

/* The lines of a revised group: every live member under a new id in a new group gid, the
 * edited member as given; the edited member's case (A3/A4) or options (B1) become the
 * group's, so that the members stay alike. */
static int group_lines(MYSQL *db, const char *group, const char *id, json_t *edited, qb_check *c,
                       struct evbuffer *out, dk_error *err)
{
    char ngid[QB_MAX_ID + 1];
    int rc = next_revision_id(db, "qb_group", group, ngid, err);
    if (rc) return rc;
    MYSQL_RES *res;
    dk_param p[] = {DK_PSTR(group)};
    if ((rc = dk_mysql_exec(db,
                            "SELECT q.id, q.category, q.paper, q.section, q.qtype, q.stem, "
                            "q.options, q.answer, q.difficulty, q.explanation, g.case_text FROM "
                            "qb_question q JOIN qb_group g ON g.id = q.group_id WHERE q.group_id "
                            "= ? AND q.state = 'live' ORDER BY q.group_pos",
                            p, 1, &res, NULL, err)))
        return rc;
    json_t *members = json_array();
    MYSQL_ROW row;
    while (!rc && (row = mysql_fetch_row(res))) {
        char nid[QB_MAX_ID + 1];
        if ((rc = next_revision_id(db, "qb_question", row[0], nid, err))) break;
        json_t *o;
        if (!strcmp(row[0], id)) {
            o = json_copy(edited);
            c->new_id = dk_strdup(nid);
        } else {
            json_t *opts = json_loads(row[6], 0, NULL);
            o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:i}", "category", row[1], "paper", row[2],
                          "section", row[3], "type", row[4], "stem", row[5], "options",
                          opts ? opts : json_object(), "answer", row[7], "difficulty",
                          row[8] ? atoi(row[8]) : 3);
            if (row[9]) json_object_set_new(o, "explanation", json_string(row[9]));
            if (row[10]) json_object_set_new(o, "case", json_string(row[10]));
        }
        json_object_set_new(o, "id", json_string(nid));
        json_object_set_new(o, "group", json_string(ngid));
        json_array_append_new(members, o);
        add_pair(c, row[0], nid);
    }
    mysql_free_result(res);
    size_t i;
    json_t *o;
    json_t *ecase = json_object_get(edited, "case"), *eopts = json_object_get(edited, "options");
    const char *type = json_string_value(json_object_get(edited, "type"));
    json_array_foreach(members, i, o)
    {
        if (rc) break;
        if (ecase) json_object_set(o, "case", ecase);
        if (type && !strcmp(type, "B1") && eopts) json_object_set(o, "options", eopts);
        char *line = dk_json_dump(o);
        evbuffer_add_printf(out, "%s\n", line);
        free(line);
    }
    json_decref(members);
    return rc;
}

int qb_check_revision(MYSQL *db, const char *id, const char *line, size_t len, qb_check **out,
                      dk_error *err)
{
    qb_check *c = dk_calloc(1, sizeof *c);
    *out = c;
    char group[QB_MAX_ID + 1];
    int rc = qb_question_live(db, id, "只能修改使用中的题目", group, err);
    if (rc) return rc;
    json_error_t je;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return dk_error_set(err, DK_EINVAL, "修改内容应为一道题的 JSON 对象");
    }
    c->replaces = dk_strdup(id);
    /* the revised line(s) under new ids: then exactly an upload */
    struct evbuffer *b = evbuffer_new();
    if (group[0]) {
        c->except_group = dk_strdup(group);
        rc = group_lines(db, group, id, o, c, b, err);
    } else {
        char nid[QB_MAX_ID + 1];
        if (!(rc = next_revision_id(db, "qb_question", id, nid, err))) {
            json_object_set_new(o, "id", json_string(nid));
            char *s = dk_json_dump(o);
            evbuffer_add_printf(b, "%s\n", s);
            free(s);
            c->new_id = dk_strdup(nid);
            add_pair(c, id, nid);
        }
    }
    json_decref(o);
    size_t n = evbuffer_get_length(b);
    if (!rc) rc = check_run(db, (const char *)evbuffer_pullup(b, -1), n, 0, id, c, err);
    evbuffer_free(b);
    return rc;
}

void qb_check_free(qb_check *c)
{
    if (!c) return;
    check_clear(c);
    free(c);
}

long qb_check_lines(const qb_check *c)
{
    return c->lines;
}
long qb_check_bad_lines(const qb_check *c)
{
    return c->bad_lines;
}
const char *qb_check_new_id(const qb_check *c)
{
    return c->new_id;
}

long qb_check_questions(const qb_check *c)
{
    if (!c->v) return 0;
    size_t m;
    free(good_recs(c, NULL, NULL, &m));
    return (long)m;
}

size_t qb_check_nissues(const qb_check *c)
{
    return c->v ? qb_validator_nviolations(c->v) : 0;
}

void qb_check_issue(const qb_check *c, size_t i, qb_issue *out)
{
    const qb_violation *x = qb_validator_violation(c->v, i);
    out->line = x->line;
    out->reason = x->reason;
    out->detail = x->detail;
    qb_reason_info(x->reason, x->detail, out->field, &out->text);
}

int qb_release_add(MYSQL *db, long long rid, const qb_check *c, long *written, dk_error *err)
{
    *written = 0;
    if (!c->v || c->bad_lines || !c->lines)
        return dk_error_set(err, DK_EINVAL, "有 %ld 行不合格，未写入题库", c->bad_lines);
    size_t m;
    qb_rec **good = good_recs(c, NULL, NULL, &m);
    dest d = {"draft", rid};
    int rc = write_recs(db, good, m, &d, err);
    free(good);
    for (size_t i = 0; i < c->npairs && !rc; i++) { /* each new row names the one it revises */
        dk_param p[] = {DK_PSTR(c->pairs[2 * i]), DK_PSTR(c->pairs[2 * i + 1])};
        rc = dk_mysql_exec(db, "UPDATE qb_question SET replaces = ? WHERE id = ?", p, 2, NULL, NULL,
                           err);
    }
    if (!rc && c->replaces) { /* a group member retires its whole group */
        long added;
        rc = qb_release_retire(db, rid, c->replaces, &added, err);
    }
    if (!rc) {
        dk_param p[] = {DK_PINT((long long)m), DK_PINT(rid)};
        rc = dk_mysql_exec(db, "UPDATE qb_release SET questions = questions + ? WHERE id = ?", p, 2,
                           NULL, NULL, err);
    }
    if (!rc) *written = (long)m;
    return rc;
}
