/* exam_db.c - the exam engine's MariaDB statements: eligibility, session
 * start/rebuild, answer flushes and the one submit transaction with the enrolment's
 * next status. Blocking: database worker threads only. Times cross this boundary as
 * unix milliseconds; every connection runs in UTC (dk_mysql_connect). */
#include "exam_db.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dom_audit.h"
#include "dom_flow.h"
#include "dom_status.h"
#include "dom_tests.h"
#include "dk_json.h"
#include "dk_log.h"

#define MS(col) "CAST(ROUND(UNIX_TIMESTAMP(" col ") * 1000) AS SIGNED)"

static long long ll(const char *s) { return s ? strtoll(s, NULL, 10) : 0; }

static void copy(char *dst, size_t sz, const char *src) { snprintf(dst, sz, "%s", src ? src : ""); }

static int audit(MYSQL *db, const char *actor_type, long long actor_id, const char *action,
                 const char *entity_type, const char *entity_id, const char *from,
                 const char *to, const char *reason, const char *ip, dk_error *err)
{
    dom_audit_row r = {.actor_type = actor_type,
                       .actor_id = actor_id,
                       .role = "医师",
                       .action = action,
                       .entity_type = entity_type,
                       .entity_sid = entity_id,
                       .from = from,
                       .to = to,
                       .reason = reason,
                       .ip = ip};
    return dom_audit(db, &r, err);
}

/* ---- eligibility -------------------------------------------------------------------- */

int exam_db_tests(MYSQL *db, long long pid, long long now_ms, long long lead_ms,
                  exam_test *out, int *n, dk_error *err)
{
    *n = 0;
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(pid)};
    int rc = dk_mysql_exec(
        db,
        "SELECT e.id, e.cycle_id, e.status, IFNULL(e.procedure_type, ''), p.practice_category, "
        MS("c.test_start") ", " MS("c.test_end") ", "
        MS("IFNULL(c.makeup_start, c.test_start)") ", " MS("IFNULL(c.makeup_end, c.test_end)")
        ", IFNULL(c.departure_warn_at, 0), IFNULL(c.departure_submit_at, 0), c.require_fullscreen"
        " FROM enrolment e JOIN cycle c ON c.id = e.cycle_id JOIN physician p ON p.id = e.physician_id"
        " WHERE e.physician_id = ? AND e.status IN ('" DOM_ST_TO_TEST "', '" DOM_ST_TO_MAKEUP "')"
        " AND c.status <> 'closed' ORDER BY e.id",
        p, 1, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row;
    typedef struct {
        long long enrol, cycle, ws, we;
        int makeup, warn_at, submit_at, fullscreen;
        char procedure[16], category[16];
    } cand;
    cand c[4];
    int nc = 0;
    while ((row = mysql_fetch_row(res)) && nc < 4) {
        cand *x = &c[nc];
        x->enrol = ll(row[0]);
        x->cycle = ll(row[1]);
        x->makeup = !strcmp(row[2], DOM_ST_TO_MAKEUP);
        copy(x->procedure, sizeof x->procedure, row[3]);
        copy(x->category, sizeof x->category, row[4]);
        x->ws = ll(row[x->makeup ? 7 : 5]);
        x->we = ll(row[x->makeup ? 8 : 6]);
        x->warn_at = atoi(row[9]);
        x->submit_at = atoi(row[10]);
        x->fullscreen = atoi(row[11]);
        if (row[5] && now_ms >= x->ws - lead_ms && now_ms < x->we) nc++;
    }
    mysql_free_result(res);
    for (int i = 0; i < nc && *n < EXAM_MAX_TESTS; i++) {
        dom_paper_state st[2];
        if ((rc = dom_paper_states(db, c[i].enrol, c[i].procedure, st, err))) return rc;
        for (int k = 0; k < 2 && *n < EXAM_MAX_TESTS; k++) {
            if (!st[k].required || st[k].exempted || !strcmp(st[k].result, DOM_RESULT_PASS)) continue;
            /* a makeup sits only what failed; a first sitting only what has no result */
            if (c[i].makeup ? strcmp(st[k].result, DOM_RESULT_FAIL) != 0 : st[k].result[0] != '\0')
                continue;
            exam_test *t = &out[(*n)++];
            memset(t, 0, sizeof *t);
            t->enrolment_id = c[i].enrol;
            t->cycle_id = c[i].cycle;
            copy(t->paper, sizeof t->paper, dom_papers[k]);
            copy(t->category, sizeof t->category, c[i].category);
            t->attempt = c[i].makeup ? 2 : 1;
            t->window_start_ms = c[i].ws;
            t->window_end_ms = c[i].we;
            t->warn_at = c[i].warn_at;
            t->submit_at = c[i].submit_at;
            t->fullscreen = c[i].fullscreen;
            MYSQL_RES *r2;
            dk_param q[] = {DK_PINT(pid), DK_PINT(t->cycle_id), DK_PSTR(t->paper),
                            DK_PINT(t->attempt)};
            if ((rc = dk_mysql_exec(db,
                                    "SELECT id, status FROM exam_session WHERE physician_id = ? "
                                    "AND cycle_id = ? AND paper = ? AND attempt = ?",
                                    q, 4, &r2, NULL, err)))
                return rc;
            MYSQL_ROW sr = mysql_fetch_row(r2);
            if (sr && !strcmp(sr[1], "live")) copy(t->live_session, sizeof t->live_session, sr[0]);
            if (sr && !strcmp(sr[1], "submitted")) t->submitted = 1;
            mysql_free_result(r2);
        }
    }
    return 0;
}

/* ---- sessions ----------------------------------------------------------------------- */

void exam_db_session_clear(exam_db_session *s)
{
    free(s->qp);
    s->qp = NULL;
}

static int load_answers(MYSQL *db, exam_db_session *s, dk_error *err)
{
    MYSQL_RES *res;
    dk_param p[] = {DK_PSTR(s->id)};
    int rc = dk_mysql_exec(db,
                           "SELECT question_no, IFNULL(choice, ''), " MS("saved_at")
                           " FROM exam_answer WHERE session_id = ? ORDER BY question_no",
                           p, 1, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row;
    s->nanswers = 0;
    while ((row = mysql_fetch_row(res)) && s->nanswers < QB_MAX_PAPER) {
        s->answer_no[s->nanswers] = atoi(row[0]);
        snprintf(s->answer[s->nanswers], sizeof s->answer[0], "%.7s@%s", row[1], row[2]);
        s->nanswers++;
    }
    mysql_free_result(res);
    return 0;
}

/* The session row (with its answers when with_answers). */
static int fill_session_row(MYSQL *db, const char *where, const dk_param *p, size_t np,
                            exam_db_session *s, int with_answers, dk_error *err)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT s.id, s.physician_id, s.enrolment_id, s.cycle_id, s.paper, s.attempt, "
             MS("s.started_at") ", " MS("s.deadline") ", JSON_UNQUOTE(JSON_EXTRACT(s.paper_json, '$.enc')), "
             "s.status, p.practice_category, c.departure_warn_at, c.departure_submit_at, "
             "c.require_fullscreen, s.departures, s.departure_ms, "
             "IFNULL(JSON_EXTRACT(s.paper_json, '$.pass_mark'), -1), "
             "IFNULL(JSON_EXTRACT(s.paper_json, '$.question_count'), -1) "
             "FROM exam_session s JOIN physician p ON p.id = s.physician_id "
             "JOIN cycle c ON c.id = s.cycle_id WHERE %s",
             where);
    MYSQL_RES *res;
    int rc = dk_mysql_exec(db, sql, p, np, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row) {
        mysql_free_result(res);
        return dk_error_set(err, DK_ENOTFOUND, "没有这场考试");
    }
    exam_db_session_clear(s);
    copy(s->id, sizeof s->id, row[0]);
    s->pid = ll(row[1]);
    s->enrolment_id = ll(row[2]);
    s->cycle_id = ll(row[3]);
    copy(s->paper, sizeof s->paper, row[4]);
    s->attempt = atoi(row[5]);
    s->started_ms = ll(row[6]);
    s->deadline_ms = ll(row[7]);
    s->qp = dk_strdup(row[8] ? row[8] : "");
    s->submitted = !strcmp(row[9], "submitted");
    copy(s->category, sizeof s->category, row[10]);
    copy(s->dep_warn, sizeof s->dep_warn, row[11]);
    copy(s->dep_submit, sizeof s->dep_submit, row[12]);
    s->fullscreen = row[13] && atoi(row[13]);
    s->departures = ll(row[14]);
    s->departure_ms = ll(row[15]);
    s->drawn_pass_mark = (int)ll(row[16]);
    s->drawn_question_count = (int)ll(row[17]);
    mysql_free_result(res);
    return with_answers ? load_answers(db, s, err) : 0;
}

static int fill_session(MYSQL *db, const char *where, const dk_param *p, size_t np,
                        exam_db_session *s, dk_error *err)
{
    return fill_session_row(db, where, p, np, s, 1, err);
}

int exam_db_load_session(MYSQL *db, const char *sid, exam_db_session *s, dk_error *err)
{
    dk_param p[] = {DK_PSTR(sid)};
    return fill_session(db, "s.id = ?", p, 1, s, err);
}

int exam_db_start(MYSQL *db, const qb_index *idx, long long pid, const char *paper,
                  long long now_ms, long long lead_ms, long long duration_ms,
                  exam_db_session *s, dk_error *err)
{
    exam_test tests[EXAM_MAX_TESTS];
    int n, rc;
    if ((rc = exam_db_tests(db, pid, now_ms, lead_ms, tests, &n, err))) return rc;
    exam_test *t = NULL;
    for (int i = 0; i < n; i++)
        if (!strcmp(tests[i].paper, paper)) t = &tests[i];
    if (!t) return dk_error_set(err, DK_EFORBIDDEN, "当前没有可参加的%s考试（不在测评时间内，或无需参加）",
                                !strcmp(paper, DOM_PAPER_PUBLIC) ? "人文医学" : paper);
    dk_param key[] = {DK_PINT(pid), DK_PINT(t->cycle_id), DK_PSTR(paper), DK_PINT(t->attempt)};
    const char *where = "s.physician_id = ? AND s.cycle_id = ? AND s.paper = ? AND s.attempt = ?";
    rc = fill_session(db, where, key, 4, s, err);
    if (rc != DK_ENOTFOUND) return rc;

    /* none yet: draw one, and let the unique key pick the winner of a race */
    uint64_t seed;
    randombytes_buf(&seed, sizeof seed);
    seed &= 0x7fffffffffffffffULL; /* fits a signed BIGINT parameter */
    qb_paper *qp;
    if ((rc = qb_draw(idx, t->category, paper, seed, &qp, err))) return rc;
    size_t qlen;
    char *enc = qb_paper_encode(idx, qp, &qlen);
    qb_paper_free(qp);
    unsigned char rnd[16];
    char sid[33];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(sid, sizeof sid, rnd, sizeof rnd);
    if (duration_ms <= 0) { /* not configured: the blueprint's duration */
        const qb_blueprint *bp = qb_blueprint_find(idx, t->category, paper);
        duration_ms = (bp && bp->duration_min > 0 ? bp->duration_min : 60) * 60000LL;
    }
    /* in the waiting room: the time starts at the opening, for everyone who waited */
    long long started = now_ms < t->window_start_ms ? t->window_start_ms : now_ms;
    long long deadline = started + duration_ms;
    if (deadline > t->window_end_ms) deadline = t->window_end_ms;
    /* the pass mark and question count the paper was drawn under: a blueprint published
     * during the sitting does not change how it is judged */
    const qb_blueprint *dbp = qb_blueprint_find(idx, t->category, paper);
    json_t *pj = json_pack("{s:s}", "enc", enc);
    if (dbp) {
        json_object_set_new(pj, "pass_mark", json_integer(dbp->pass_mark));
        json_object_set_new(pj, "question_count", json_integer(dbp->question_count));
    }
    char *pjs = json_dumps(pj, JSON_COMPACT);
    json_decref(pj);
    free(enc);
    dk_param ins[] = {DK_PSTR(sid),
                      DK_PINT(pid),
                      DK_PINT(t->enrolment_id),
                      DK_PINT(t->cycle_id),
                      DK_PSTR(paper),
                      DK_PINT(t->attempt),
                      DK_PINT((long long)seed),
                      DK_PINT((long long)qb_index_version(idx)),
                      DK_PSTR(pjs),
                      DK_PINT(started),
                      DK_PINT(deadline)};
    rc = dk_mysql_exec(db,
                       "INSERT IGNORE INTO exam_session (id, physician_id, enrolment_id, cycle_id, "
                       "paper, attempt, seed, bank_version, paper_json, started_at, deadline) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(? / 1000), "
                       "FROM_UNIXTIME(? / 1000))",
                       ins, 11, NULL, NULL, err);
    free(pjs);
    if (rc) return rc;
    return fill_session(db, where, key, 4, s, err);
}

/* ---- answers ------------------------------------------------------------------------ */

/* Splits "CHOICE@ms" into its parts. */
static void split_answer(const char *v, char choice[QB_CHOICE_MAX], long long *ms)
{
    const char *at = strchr(v, '@');
    size_t n = at ? (size_t)(at - v) : strlen(v);
    if (n >= QB_CHOICE_MAX) n = QB_CHOICE_MAX - 1;
    memcpy(choice, v, n);
    choice[n] = '\0';
    *ms = at ? ll(at + 1) : 0;
}

#define FLUSH_ROWS_PER_INSERT 500

/* A multi-row INSERT's text: head, then n times tuple (its placeholders) joined by commas,
 * then tail. malloc'd. */
static char *multirow(const char *head, const char *tuple, int n, const char *tail)
{
    size_t tl = strlen(tuple), cap = strlen(head) + (size_t)n * (tl + 1) + strlen(tail) + 1;
    char *sql = dk_malloc(cap), *o = sql;
    o += snprintf(o, cap, "%s", head);
    for (int i = 0; i < n; i++) {
        if (i) *o++ = ',';
        memcpy(o, tuple, tl);
        o += tl;
    }
    snprintf(o, cap - (size_t)(o - sql), "%s", tail);
    return sql;
}

/* One multi-row upsert of rows[0..n); the newest saved_at wins whatever the order of
 * flushes. */
static int upsert(MYSQL *db, const exam_flush_row *rows, int n, dk_error *err)
{
    char *sql = multirow("INSERT INTO exam_answer (session_id, question_no, choice, saved_at) "
                         "VALUES ",
                         "(?, ?, NULLIF(?, ''), FROM_UNIXTIME(? / 1000))", n,
                         " ON DUPLICATE KEY UPDATE choice = IF(VALUES(saved_at) >= saved_at, "
                         "VALUES(choice), choice), saved_at = GREATEST(saved_at, VALUES(saved_at))");
    dk_param *p = dk_calloc((size_t)n * 4, sizeof *p);
    char(*choices)[QB_CHOICE_MAX] = dk_calloc((size_t)n, sizeof *choices);
    for (int i = 0; i < n; i++) {
        long long ms;
        split_answer(rows[i].val, choices[i], &ms);
        p[i * 4] = DK_PSTR(rows[i].sid);
        p[i * 4 + 1] = DK_PINT(rows[i].no);
        p[i * 4 + 2] = DK_PSTR(choices[i]);
        p[i * 4 + 3] = DK_PINT(ms);
    }
    int rc = dk_mysql_exec(db, sql, p, (size_t)n * 4, NULL, NULL, err);
    free(sql);
    free(p);
    free(choices);
    return rc;
}

int exam_db_flush_answers(MYSQL *db, const char *sid, int n, const int *nos,
                          const char *const *vals, dk_error *err)
{
    if (n <= 0) return 0;
    exam_flush_row *rows = dk_calloc((size_t)n, sizeof *rows);
    for (int i = 0; i < n; i++) rows[i] = (exam_flush_row){sid, nos[i], vals[i]};
    int rc = upsert(db, rows, n, err);
    free(rows);
    return rc;
}

static int row_cmp(const void *a, const void *b)
{
    const exam_flush_row *x = a, *y = b;
    int c = strcmp(x->sid, y->sid);
    return c ? c : (x->no > y->no) - (x->no < y->no);
}

int exam_db_flush_rows(MYSQL *db, const exam_flush_row *rows, int n, dk_error *err)
{
    if (n <= 0) return 0;
    /* in key order: two flushes that share sessions (two nodes, or a retry beside a slow
     * one) take their row locks in the same order and cannot deadlock */
    exam_flush_row *sorted = dk_malloc((size_t)n * sizeof *sorted);
    memcpy(sorted, rows, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, row_cmp);
    int rc = dk_mysql_begin(db, err);
    for (int i = 0; !rc && i < n; i += FLUSH_ROWS_PER_INSERT)
        rc = upsert(db, sorted + i, n - i < FLUSH_ROWS_PER_INSERT ? n - i : FLUSH_ROWS_PER_INSERT,
                    err);
    if (!rc) rc = dk_mysql_commit(db, err);
    if (rc) dk_mysql_rollback(db);
    free(sorted);
    return rc;
}

/* ---- submit ------------------------------------------------------------------------- */

int exam_db_result(MYSQL *db, const char *sid, exam_result *out, dk_error *err)
{
    MYSQL_RES *res;
    dk_param p[] = {DK_PSTR(sid)};
    int rc = dk_mysql_exec(db,
                           "SELECT r.score, r.total, r.pass_mark, r.final_passed, e.status "
                           "FROM exam_result r JOIN exam_session s ON s.id = r.session_id "
                           "JOIN enrolment e ON e.id = s.enrolment_id WHERE r.session_id = ?",
                           p, 1, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row) {
        out->score = atoi(row[0]);
        out->total = atoi(row[1]);
        out->pass_mark = atoi(row[2]);
        out->passed = atoi(row[3]);
        copy(out->enrolment_status, sizeof out->enrolment_status, row[4]);
        out->already = 1;
    }
    mysql_free_result(res);
    return row ? 0 : dk_error_set(err, DK_EINTERNAL, "submitted session %s has no result", sid);
}

int exam_db_finalize(MYSQL *db, const qb_index *idx, const char *sid, const char *by, int n,
                     const int *nos, const char *const *vals, const exam_integrity *ig,
                     exam_result *out, dk_error *err)
{
    memset(out, 0, sizeof *out);
    exam_db_session *s = dk_calloc(1, sizeof *s);
    qb_paper *qp = NULL;
    int rc;
    /* READ COMMITTED, as dom_flow wants: after its locks, every read sees what is
     * committed now (two papers of one enrolment submitted at once see each other) */
    if ((rc = dk_mysql_exec(db, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED", NULL, 0, NULL,
                            NULL, err)) ||
        (rc = dk_mysql_begin(db, err)))
        goto done;
    MYSQL_RES *res;
    dk_param p[] = {DK_PSTR(sid)};
    if ((rc = dk_mysql_exec(db, "SELECT status FROM exam_session WHERE id = ? FOR UPDATE", p, 1,
                            &res, NULL, err)))
        goto fail;
    MYSQL_ROW row = mysql_fetch_row(res);
    int exists = row != NULL, submitted = row && !strcmp(row[0], "submitted");
    mysql_free_result(res);
    if (!exists) {
        rc = dk_error_set(err, DK_ENOTFOUND, "没有这场考试");
        goto fail;
    }
    if (submitted) {
        dk_mysql_rollback(db);
        rc = exam_db_result(db, sid, out, err);
        goto done;
    }
    /* the row only: its answers are read once, after the last ones are written */
    if ((rc = fill_session_row(db, "s.id = ?", p, 1, s, 0, err))) goto fail;
    if ((rc = qb_paper_decode(idx, s->qp, strlen(s->qp), &qp, err))) goto fail;
    if ((rc = exam_db_flush_answers(db, sid, n, nos, vals, err))) goto fail;
    if (ig && (rc = exam_db_integrity(db, sid, ig, err))) goto fail;
    if ((rc = load_answers(db, s, err))) goto fail; /* everything MariaDB now has */

    int count = qb_paper_count(qp);
    const char **choices = dk_calloc((size_t)count, sizeof *choices);
    char(*buf)[QB_CHOICE_MAX] = dk_calloc((size_t)count, sizeof *buf);
    for (int i = 0; i < s->nanswers; i++) {
        int no = s->answer_no[i];
        long long ms;
        if (no < 1 || no > count) continue;
        split_answer(s->answer[i], buf[no - 1], &ms);
        choices[no - 1] = buf[no - 1][0] ? buf[no - 1] : NULL;
    }
    rc = qb_score(idx, qp, choices, &out->score, &out->total);
    free(choices);
    free(buf);
    if (rc) goto fail;
    const qb_blueprint *bp = qb_blueprint_find(idx, s->category, s->paper);
    out->pass_mark = bp ? bp->pass_mark : 60;
    int qcount = bp && bp->question_count > 0 ? bp->question_count : out->total;
    /* as drawn (sessions started before 014 fall back to the current blueprint) */
    if (s->drawn_pass_mark >= 0) out->pass_mark = s->drawn_pass_mark;
    if (s->drawn_question_count > 0) qcount = s->drawn_question_count;
    /* the pass mark is a score out of the blueprint's question count */
    out->passed = (long long)out->score * qcount >= (long long)out->pass_mark * out->total;

    dk_param pr[] = {DK_PSTR(sid), DK_PINT(out->score), DK_PINT(out->total),
                     DK_PINT(out->pass_mark), DK_PINT(out->passed), DK_PINT(out->passed)};
    if ((rc = dk_mysql_exec(db,
                            "INSERT INTO exam_result (session_id, score, total, pass_mark, passed, "
                            "final_passed) VALUES (?, ?, ?, ?, ?, ?)",
                            pr, 6, NULL, NULL, err)))
        goto fail;
    dk_param ps[] = {DK_PSTR(by), DK_PSTR(sid)};
    if ((rc = dk_mysql_exec(db,
                            "UPDATE exam_session SET status = 'submitted', submitted_at = NOW(3), "
                            "submitted_by = ? WHERE id = ?",
                            ps, 2, NULL, NULL, err)))
        goto fail;
    /* the enrolment moves as the domain's table says (test_scored) */
    if ((rc = dom_flow_test_scored(db, s->enrolment_id, s->paper, out->passed, sid,
                                   out->enrolment_status, sizeof out->enrolment_status, err)))
        goto fail;
    char reason[96];
    snprintf(reason, sizeof reason, "score=%d/%d passed=%d by=%s", out->score, out->total,
             out->passed, by);
    if ((rc = audit(db, !strcmp(by, "physician") ? "physician" : "system",
                    !strcmp(by, "physician") ? s->pid : 0, "submit", "exam_session", sid, "live",
                    "submitted", reason, NULL, err)))
        goto fail;
    rc = dk_mysql_commit(db, err);
    if (rc) goto fail;
    goto done;
fail:
    dk_mysql_rollback(db);
done:
    qb_paper_free(qp);
    exam_db_session_clear(s);
    free(s);
    return rc;
}

typedef struct submit_args {
    const qb_index *idx;
    const char *sid, *by;
    int n;
    const int *nos;
    const char *const *vals;
    const exam_integrity *ig;
    exam_result *out;
} submit_args;

static int submit_once(MYSQL *db, void *arg, dk_error *err)
{
    submit_args *a = arg;
    return exam_db_finalize(db, a->idx, a->sid, a->by, a->n, a->nos, a->vals, a->ig, a->out, err);
}

int exam_db_submit(dk_dbconn *c, const qb_index *idx, const char *sid, const char *by, int n,
                   const int *nos, const char *const *vals, const exam_integrity *ig,
                   exam_result *out, dk_error *err)
{
    submit_args a = {idx, sid, by, n, nos, vals, ig, out};
    return dk_dbconn_run(c, submit_once, &a, err);
}

/* ---- integrity signals ---------------------------------------------------------------- */

/* Departures that make a session a suspect when its cycle sets no rule. */
#define EXAM_DEPARTURE_SUSPECT_AT "3"

int exam_db_integrity(MYSQL *db, const char *sid, const exam_integrity *ig, dk_error *err)
{
    int rc = 0;
    dk_param *p = dk_calloc((size_t)(ig->ndep * 5 + ig->ndev * 6 + 1), sizeof *p);
    if (ig->ndep > 0) {
        char *sql = multirow("INSERT IGNORE INTO exam_departure (session_id, event_id, kind, "
                             "started_at, duration_ms) VALUES ",
                             "(?, ?, ?, FROM_UNIXTIME(? / 1000), ?)", ig->ndep, "");
        for (int i = 0; i < ig->ndep; i++) {
            const exam_departure *d = &ig->dep[i];
            dk_param *q = p + i * 5;
            q[0] = DK_PSTR(sid), q[1] = DK_PSTR(d->id), q[2] = DK_PSTR(d->kind);
            q[3] = DK_PINT(d->start_ms), q[4] = DK_PINT(d->dur_ms);
        }
        rc = dk_mysql_exec(db, sql, p, (size_t)ig->ndep * 5, NULL, NULL, err);
        free(sql);
    }
    if (!rc && ig->ndev > 0) {
        char *sql = multirow("INSERT INTO exam_device (session_id, device_id, user_agent, address, "
                             "first_seen, last_seen) VALUES ",
                             "(?, ?, ?, ?, FROM_UNIXTIME(? / 1000), FROM_UNIXTIME(? / 1000))",
                             ig->ndev,
                             " ON DUPLICATE KEY UPDATE last_seen = GREATEST(last_seen, "
                             "VALUES(last_seen))");
        for (int i = 0; i < ig->ndev; i++) {
            const exam_device *d = &ig->dev[i];
            dk_param *q = p + i * 6;
            q[0] = DK_PSTR(sid), q[1] = DK_PSTR(d->id), q[2] = DK_PSTR(d->ua);
            q[3] = DK_PSTR(d->addr), q[4] = DK_PINT(d->first_ms), q[5] = DK_PINT(d->last_ms);
        }
        rc = dk_mysql_exec(db, sql, p, (size_t)ig->ndev * 6, NULL, NULL, err);
        free(sql);
    }
    if (!rc) {
        dk_param u[] = {DK_PINT(ig->departures), DK_PINT(ig->departure_ms), DK_PINT(ig->concurrent),
                        DK_PSTR(sid)};
        rc = dk_mysql_exec(db,
                           "UPDATE exam_session SET departures = GREATEST(departures, ?), "
                           "departure_ms = GREATEST(departure_ms, ?), concurrent_devices = "
                           "GREATEST(concurrent_devices, ?) WHERE id = ?",
                           u, 4, NULL, NULL, err);
    }
    /* 监考管理's 系统预警: departures once they reach the cycle's warning (its automatic
     * submit, or EXAM_DEPARTURE_SUSPECT_AT without a rule), and two devices at once */
    dk_param q[] = {DK_PSTR(sid)};
    if (!rc && ig->departures > 0)
        rc = dk_mysql_exec(db,
                           "INSERT INTO proctor_suspect (session_id, physician_id, reason, score) "
                           "SELECT s.id, s.physician_id, 'departures', s.departures FROM "
                           "exam_session s JOIN cycle c ON c.id = s.cycle_id WHERE s.id = ? AND "
                           "s.departures >= COALESCE(c.departure_warn_at, c.departure_submit_at, "
                           EXAM_DEPARTURE_SUSPECT_AT ") ON DUPLICATE KEY UPDATE score = "
                           "VALUES(score), occurrences = VALUES(score)",
                           q, 1, NULL, NULL, err);
    if (!rc && ig->concurrent)
        rc = dk_mysql_exec(db,
                           "INSERT INTO proctor_suspect (session_id, physician_id, reason, score) "
                           "SELECT s.id, s.physician_id, 'concurrent_devices', (SELECT COUNT(*) "
                           "FROM exam_device d WHERE d.session_id = s.id) FROM exam_session s "
                           "WHERE s.id = ? ON DUPLICATE KEY UPDATE score = VALUES(score)",
                           q, 1, NULL, NULL, err);
    free(p);
    return rc;
}
