/* qb_sim.c - synthetic sittings for the demo and the item-analysis benchmark: for every
 * enrolment of a cycle that has a procedure and no session yet, the papers its procedure
 * requires (简易程序: 公共知识; 一般程序: 公共知识 + 业务水平) are drawn from the index and
 * answered by a simulated physician, then written as submitted exam_session, exam_answer,
 * exam_result and enrolment_test rows (multi-row INSERTs).
 *
 * The answers follow a three-parameter logistic model: ability theta ~ N(0,1) per
 * physician; per question (from a hash of its id, so every run agrees) difficulty from its
 * 1-5 difficulty, discrimination 0.4-2.0, guessing 0.2, and about 3 in 100 questions
 * "miskeyed" (negative discrimination); a wrong answer picks a distractor by fixed weights,
 * one of them rarely chosen; about 2 in 100 questions are left unanswered. Times per answer
 * are log-normal around 20-50 s by difficulty. Blocking; tools only (qbank sim-sittings).
 * It writes tables other modules own, as deploy/demo's SQL does: synthetic data only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_log.h"
#include "dk_mysql.h"
#include "qb_internal.h"

#define SIM_BATCH_SESSIONS 100

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static double unit(uint64_t *s) /* [0, 1) */
{
    *s = mix(*s);
    return (double)(*s >> 11) / 9007199254740992.0;
}

static double gauss(uint64_t *s)
{
    double u = unit(s), v = unit(s);
    return sqrt(-2.0 * log(u + 1e-12)) * cos(6.283185307179586 * v);
}

static uint64_t hash_str(const char *s)
{
    return qb_hash_bytes(1469598103934665603ULL, s, strlen(s));
}

typedef struct sim_enrol {
    long long id, pid;
    int category, general;
    long long test_start_ms, test_end_ms;
} sim_enrol;

/* One paper answered: answers appended to ab, the session's row to sb. */
static int sim_paper(const qb_index *idx, MYSQL *db, const sim_enrol *e, int paper, uint64_t seed,
                     int first, qb_sqlbuf *sb, qb_sqlbuf *ab, qb_sqlbuf *rb, qb_sqlbuf *tb,
                     int *nans, dk_error *err)
{
    uint64_t rs = mix(seed ^ (uint64_t)e->id * 0x100000001B3ULL ^ (uint64_t)paper);
    qb_paper *qp;
    int rc = qb_draw(idx, qb_category_names[e->category], qb_paper_names[paper], rs & INT64_MAX,
                     &qp, err);
    if (rc) return rc;
    uint64_t ps = mix(seed ^ (uint64_t)e->pid); /* the physician's ability, both papers */
    double theta = gauss(&ps);
    char sid[33];
    uint64_t h1 = mix(rs), h2 = mix(h1);
    snprintf(sid, sizeof sid, "%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
    long long span = e->test_end_ms - e->test_start_ms - 2 * 3600 * 1000LL;
    long long start = e->test_start_ms + (span > 0 ? (long long)(unit(&rs) * (double)span) : 0);
    long long t = start;
    int n = qb_paper_count(qp), score = 0;
    for (int no = 1; no <= n; no++) {
        const qb_item *it = qb_paper_item(idx, qp, no);
        const qb_q *q = &idx->qs[it->q];
        const char *qid = qb_arena(idx, q->id);
        uint64_t qh = hash_str(qid);
        double b = (q->difficulty - 3) * 0.7 + (unit(&qh) - 0.5) * 0.8;
        double a = 0.4 + 1.6 * unit(&qh);
        if (unit(&qh) < 0.03) a = -0.9; /* a miskeyed question */
        int rare = (int)(unit(&qh) * it->nopt);
        t += (long long)(1000.0 * (15.0 + 8.0 * q->difficulty) * exp(0.5 * gauss(&rs)));
        if (unit(&rs) < 0.02) continue; /* left unanswered */
        double pc = 0.2 + 0.8 / (1.0 + exp(-1.7 * a * (theta - b)));
        uint16_t m; /* original letters chosen */
        if (unit(&rs) < pc) {
            m = q->key;
        } else {
            double w[QB_MAX_OPTIONS], tw = 0;
            for (int o = 0; o < it->nopt; o++) {
                w[o] = (q->key & (1u << o)) ? 0 : o == rare ? 0.03 : 1.0 + o % 3;
                tw += w[o];
            }
            double r = unit(&rs) * tw;
            int pick = 0;
            for (int o = 0; o < it->nopt; o++) {
                if (w[o] <= 0) continue;
                pick = o;
                if ((r -= w[o]) < 0) break;
            }
            m = q->type == QB_X ? (uint16_t)((q->key & (q->key - 1)) | (1u << pick))
                                : (uint16_t)(1u << pick);
            if (m == q->key) m = (uint16_t)(1u << pick);
        }
        score += m == q->key;
        char choice[QB_MAX_OPTIONS + 1];
        int nc = 0;
        for (int d = 0; d < it->nopt; d++)
            if (m & (1u << it->order[d])) choice[nc++] = (char)('A' + d);
        choice[nc] = '\0';
        qb_sb_cat(ab, "%s('%s',%d,'%s',FROM_UNIXTIME(%lld/1000))", *nans ? "," : "", sid, no,
                  choice, t);
        (*nans)++;
    }
    const qb_blueprint *bp =
        qb_blueprint_find(idx, qb_category_names[e->category], qb_paper_names[paper]);
    int pass_mark = bp ? bp->pass_mark : 60,
        qcount = bp && bp->question_count ? bp->question_count : n;
    int passed = (long long)score * qcount >= (long long)pass_mark * n;
    char *enc = qb_paper_encode(idx, qp, NULL);
    const char *sep = first ? "" : ",";
    qb_sb_cat(sb, "%s('%s',%lld,%lld,", sep, sid, e->pid, e->id);
    qb_sb_cat(sb, "(SELECT cycle_id FROM enrolment WHERE id = %lld),'%s',1,%llu,%llu,", e->id,
              qb_paper_names[paper], (unsigned long long)(rs & INT64_MAX),
              (unsigned long long)qb_index_version(idx));
    size_t el = strlen(enc);
    char *pjs = dk_malloc(el + 16);
    snprintf(pjs, el + 16, "{\"enc\":\"%s\"}", enc);
    qb_sb_str(sb, db, pjs);
    free(pjs);
    free(enc);
    long long end = t + 5000;
    qb_sb_cat(sb,
              ",FROM_UNIXTIME(%lld/1000),FROM_UNIXTIME(%lld/1000),FROM_UNIXTIME(%lld/1000),"
              "'physician','submitted')",
              start, start + 3600 * 1000LL, end);
    qb_sb_cat(rb, "%s('%s',%d,%d,%d,%d,%d)", sep, sid, score, n, pass_mark, passed, passed);
    qb_sb_cat(tb, "%s(%lld,'%s',1,1,'%s','%s')", sep, e->id, qb_paper_names[paper],
              passed ? "合格" : "不合格", sid);
    qb_paper_free(qp);
    return 0;
}

static void heads(qb_sqlbuf *sb, qb_sqlbuf *ab, qb_sqlbuf *rb, qb_sqlbuf *tb)
{
    sb->len = ab->len = rb->len = tb->len = 0;
    qb_sb_cat(sb, "INSERT INTO exam_session (id, physician_id, enrolment_id, cycle_id, paper, "
                  "attempt, seed, bank_version, paper_json, started_at, deadline, submitted_at, "
                  "submitted_by, status) VALUES ");
    qb_sb_cat(ab, "INSERT INTO exam_answer (session_id, question_no, choice, saved_at) VALUES ");
    qb_sb_cat(rb, "INSERT INTO exam_result (session_id, score, total, pass_mark, passed, "
                  "final_passed) VALUES ");
    qb_sb_cat(tb, "INSERT INTO enrolment_test (enrolment_id, paper, required, attempts, result, "
                  "last_session_id) VALUES ");
}

int qb_sim_sittings(MYSQL *db, const qb_index *idx, long long cycle_id, uint64_t seed,
                    long *sessions, long long *answers, dk_error *err)
{
    *sessions = 0;
    *answers = 0;
    char sql[768];
    snprintf(sql, sizeof sql,
             "SELECT e.id, e.physician_id, e.procedure_type = '一般程序', p.practice_category, "
             "CAST(UNIX_TIMESTAMP(c.test_start) * 1000 AS SIGNED), "
             "CAST(UNIX_TIMESTAMP(c.test_end) * 1000 AS SIGNED) FROM enrolment e "
             "JOIN physician p ON p.id = e.physician_id JOIN cycle c ON c.id = e.cycle_id "
             "WHERE e.cycle_id = %lld AND e.procedure_type IS NOT NULL AND c.test_start IS NOT "
             "NULL AND NOT EXISTS (SELECT 1 FROM exam_session s WHERE s.enrolment_id = e.id) "
             "ORDER BY e.id",
             cycle_id);
    MYSQL_RES *res;
    int rc = dk_mysql_exec(db, sql, NULL, 0, &res, NULL, err);
    if (rc) return rc;
    size_t n = (size_t)mysql_num_rows(res), k = 0;
    sim_enrol *es = dk_calloc(n ? n : 1, sizeof *es);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        es[k] = (sim_enrol){atoll(row[0]), atoll(row[1]), qb_category_find(row[3]),
                            atoi(row[2]),  atoll(row[4]), atoll(row[5])};
        if (es[k].category >= 0) k++;
    }
    mysql_free_result(res);
    qb_sqlbuf sb = {0}, ab = {0}, rb = {0}, tb = {0};
    heads(&sb, &ab, &rb, &tb);
    int nans = 0, in_batch = 0;
    for (size_t i = 0; i < k && !rc; i++) {
        for (int paper = 0; paper < QB_NPAPERS && !rc; paper++) {
            if (paper == 1 && !es[i].general) continue; /* qb_paper_names: 公共知识, 业务水平 */
            rc = sim_paper(idx, db, &es[i], paper, seed, !in_batch, &sb, &ab, &rb, &tb, &nans, err);
            if (rc) break;
            (*sessions)++;
            in_batch++;
        }
        if (!rc && (in_batch >= SIM_BATCH_SESSIONS || i + 1 == k) && in_batch) {
            *answers += nans;
            if ((rc = qb_sb_run(&sb, db, err)) || (nans && (rc = qb_sb_run(&ab, db, err))) ||
                (rc = qb_sb_run(&rb, db, err)) || (rc = qb_sb_run(&tb, db, err)))
                break;
            heads(&sb, &ab, &rb, &tb);
            nans = 0;
            in_batch = 0;
        }
    }
    free(sb.s);
    free(ab.s);
    free(rb.s);
    free(tb.s);
    free(es);
    if (rc) return rc;
    /* the enrolments' results follow their tests */
    dk_param p[] = {DK_PINT(cycle_id)};
    return dk_mysql_exec(db,
                         "UPDATE enrolment e SET e.result = IF(EXISTS (SELECT 1 FROM "
                         "enrolment_test t WHERE t.enrolment_id = e.id AND t.result = '不合格'), "
                         "'不合格', '合格'), e.result_reason = IF(EXISTS (SELECT 1 FROM "
                         "enrolment_test t WHERE t.enrolment_id = e.id AND t.result = '不合格'), "
                         "'测评不合格', NULL) WHERE e.cycle_id = ? AND e.status = '考核完成'",
                         p, 1, NULL, NULL, err);
}
