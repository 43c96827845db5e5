/* qb_stats.c - item analysis of a cycle's sittings (classical test theory, the formulas of
 * Moodle's quiz statistics): per paper (category x paper type x window) the score
 * distribution and KR-20, per question sat its facility, corrected point-biserial, upper-
 * lower 27% index, option counts, median time to answer and exposure, and the flags a
 * reviewer must look at. The only writer of item_stats_* (deploy/schema/015).
 *
 * Blocking: it reads MariaDB (answers streamed with mysql_use_result) and writes the
 * results in one transaction; run it on a worker thread (admind's analysis pool) or in a
 * program (qbank analyse), never on an event loop. Keys are read from qb_question here and
 * never leave the module: results carry the key letters only for the province's reviewers.
 *
 * Definitions (one sitting = one submitted exam_session without a confirmed cheating
 * determination; its score T = questions answered correctly, unanswered = 0, X only with
 * exactly every key letter, as qb_score):
 *   facility p      = correct / drawn
 *   rpb (corrected) = Pearson r between x (0/1) and R = T - x over the sittings that drew it
 *   ul_index        = p(upper) - p(lower); upper/lower = the round(0.27 N) best/worst sittings
 *                     of the paper by T (ties by session id), counted where they drew it
 *   KR-20           = k/(k-1) (1 - sum_s p_s q_s / var(T)) over the k positions s of the paper
 *                     (population variances; Moodle's CIC with its sample variances is equal),
 *                     only for more than 2 sittings (as Moodle)
 *   SEM             = sd_sample(T) sqrt(1 - KR-20), sd_sample = sqrt(var(T) n/(n-1)) (as
 *                     Moodle), when KR-20 is in [0, 1]; sd_score itself is the population sd
 *   time to answer  = saved_at of the answer - saved_at of the sitting's previous save (or
 *                     started_at for the first), i.e. the time since the last answer, with
 *                     answers taken in the order they were saved; the median over answers */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dk_log.h"
#include "dk_mysql.h"
#include "qb_internal.h"

#define ST_MAX_GROUPS (QB_NCATS * QB_NPAPERS * 2)
#define ST_UL_SHARE 0.27
#define ST_INSERT_ROWS 400

typedef struct st_q { /* a question of the bank that was sat: its key */
    char id[QB_MAX_ID + 1];
    char section[256];
    uint16_t key;
    uint8_t type;
    int known;
} st_q;

typedef struct st_item { /* one question in one paper group */
    uint32_t q;
    int group;
    uint8_t nopt;
    long drawn, answered, correct;
    double sr, sr2, sxr; /* sums of R, R^2, xR (R = T - x) */
    long up_n, up_c, lo_n, lo_c;
    long opt[QB_MAX_OPTIONS];
    float *times;
    size_t ntimes, cap;
} st_item;

typedef struct st_slot {
    uint32_t item;
    uint8_t nopt, has;
    uint8_t order[QB_MAX_OPTIONS]; /* display position -> original option */
    uint16_t choice;               /* display letters chosen (mask), 0 = none */
    long long ms;                  /* saved_at */
} st_slot;

typedef struct st_sess {
    char id[33];
    int group, n, score;
    long long start_ms;
    st_slot *slots;
} st_sess;

typedef struct st_group {
    int category, paper, attempt, present;
    long n; /* sittings */
    int k;  /* positions */
    long *pos_n, *pos_c;
    qb_strmap items; /* question id -> item (keys borrowed from qtab) */
} st_group;

typedef struct st_ctx {
    st_sess *sess;
    size_t nsess;
    qb_strmap sids;
    st_q *qs;
    size_t nqs, capqs;
    qb_strmap qids;
    st_item *items;
    size_t nitems, capitems;
    st_group groups[ST_MAX_GROUPS];
    long long answers;
    int min_n;
} st_ctx;

static int db_fail(MYSQL *db, dk_error *err, const char *what)
{
    return dk_error_set(err,
                        mysql_errno(db) == 2006 || mysql_errno(db) == 2013 ? DK_EIO : DK_EINTERNAL,
                        "item analysis: %s: %u %s", what, mysql_errno(db), mysql_error(db));
}

static uint32_t q_of(st_ctx *c, const char *id, size_t len)
{
    uint32_t v = qb_strmap_get(&c->qids, id, len);
    if (v != QB_NONE) return v;
    if (c->nqs == c->capqs) {
        /* the map borrows the ids: never move them, so grow in fixed blocks of pointers */
        c->capqs = c->capqs ? c->capqs * 2 : 1024;
        st_q *nq = dk_calloc(c->capqs, sizeof *nq);
        if (c->nqs) memcpy(nq, c->qs, c->nqs * sizeof *nq);
        free(c->qs);
        c->qs = nq;
        qb_strmap_free(&c->qids); /* rebuilt over the moved ids */
        qb_strmap_init(&c->qids, c->capqs);
        for (size_t i = 0; i < c->nqs; i++)
            qb_strmap_put(&c->qids, c->qs[i].id, (uint32_t)i);
    }
    st_q *q = &c->qs[c->nqs];
    memcpy(q->id, id, len);
    q->id[len] = '\0';
    qb_strmap_put(&c->qids, q->id, (uint32_t)c->nqs);
    return (uint32_t)c->nqs++;
}

static uint32_t item_of(st_ctx *c, int g, uint32_t q, uint8_t nopt)
{
    st_group *gr = &c->groups[g];
    uint32_t v = qb_strmap_get(&gr->items, c->qs[q].id, strlen(c->qs[q].id));
    if (v != QB_NONE) return v;
    if (c->nitems == c->capitems) {
        c->capitems = c->capitems ? c->capitems * 2 : 1024;
        c->items = dk_realloc(c->items, c->capitems * sizeof *c->items);
    }
    st_item *it = &c->items[c->nitems];
    memset(it, 0, sizeof *it);
    it->q = q;
    it->group = g;
    it->nopt = nopt;
    /* the map's key must not move: c->qs may be reallocated later, so key on a copy */
    qb_strmap_put(&gr->items, dk_strdup(c->qs[q].id), (uint32_t)c->nitems);
    return (uint32_t)c->nitems++;
}

/* "qb1;<category>;<paper>;<seed>;<id>:<order>,..." (qb_paper_encode) into s's slots. */
static int parse_paper(st_ctx *c, st_sess *s, const char *enc, int attempt)
{
    const char *f[5];
    const char *p = enc;
    for (int i = 0; i < 4; i++) {
        f[i] = p;
        p = strchr(p, ';');
        if (!p) return -1;
        p++;
    }
    f[4] = p;
    if (strncmp(f[0], "qb1;", 4)) return -1;
    char cat[32], pap[32];
    size_t cl = (size_t)(f[2] - f[1] - 1), pl = (size_t)(f[3] - f[2] - 1);
    if (cl >= sizeof cat || pl >= sizeof pap) return -1;
    memcpy(cat, f[1], cl);
    cat[cl] = '\0';
    memcpy(pap, f[2], pl);
    pap[pl] = '\0';
    int ci = qb_category_find(cat), pi = qb_paper_find(pap);
    if (ci < 0 || pi < 0 || attempt < 1 || attempt > 2) return -1;
    int g = (ci * QB_NPAPERS + pi) * 2 + (attempt - 1);
    st_group *gr = &c->groups[g];
    if (!gr->present) {
        gr->present = 1;
        gr->category = ci;
        gr->paper = pi;
        gr->attempt = attempt;
        qb_strmap_init(&gr->items, 256);
    }
    s->group = g;
    int n = 1;
    for (const char *x = f[4]; *x; x++)
        n += *x == ',';
    if (n > QB_MAX_PAPER) return -1;
    s->slots = dk_calloc((size_t)n, sizeof *s->slots);
    s->n = 0;
    for (const char *x = f[4]; *x && s->n < n;) {
        const char *colon = strchr(x, ':');
        if (!colon || colon == x || colon - x > QB_MAX_ID) return -1;
        const char *end = colon + 1;
        while (*end && *end != ',')
            end++;
        size_t ol = (size_t)(end - colon - 1);
        if (!ol || ol > QB_MAX_OPTIONS) return -1;
        st_slot *sl = &s->slots[s->n];
        sl->nopt = (uint8_t)ol;
        for (size_t i = 0; i < ol; i++) {
            int o = colon[1 + i] - 'A';
            if (o < 0 || o >= QB_MAX_OPTIONS) return -1;
            sl->order[i] = (uint8_t)o;
        }
        uint32_t q = q_of(c, x, (size_t)(colon - x));
        sl->item = item_of(c, g, q, sl->nopt);
        s->n++;
        x = *end ? end + 1 : end;
    }
    if (s->n > gr->k) gr->k = s->n;
    gr->n++;
    return 0;
}

static int load_sessions(st_ctx *c, MYSQL *db, long long cycle_id, dk_error *err)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT s.id, s.attempt, JSON_UNQUOTE(JSON_EXTRACT(s.paper_json, '$.enc')), "
             "CAST(UNIX_TIMESTAMP(s.started_at) * 1000 AS SIGNED) FROM exam_session s "
             "JOIN exam_result r ON r.session_id = s.id WHERE s.cycle_id = %lld AND "
             "s.status = 'submitted' AND r.cheating_confirmed = 0",
             cycle_id);
    if (mysql_real_query(db, sql, strlen(sql))) return db_fail(db, err, "sessions");
    MYSQL_RES *res = mysql_store_result(db);
    if (!res) return db_fail(db, err, "sessions");
    size_t n = (size_t)mysql_num_rows(res);
    c->sess = dk_calloc(n ? n : 1, sizeof *c->sess);
    qb_strmap_init(&c->sids, n);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        st_sess *s = &c->sess[c->nsess];
        if (!row[0] || strlen(row[0]) >= sizeof s->id || !row[2]) continue;
        snprintf(s->id, sizeof s->id, "%s", row[0]);
        s->start_ms = row[3] ? atoll(row[3]) : 0;
        if (parse_paper(c, s, row[2], atoi(row[1]))) {
            DK_WARN("qb", "item analysis: skipping a session whose paper is malformed sid=%s",
                    s->id);
            free(s->slots);
            memset(s, 0, sizeof *s);
            continue;
        }
        qb_strmap_put(&c->sids, s->id, (uint32_t)c->nsess);
        c->nsess++;
    }
    mysql_free_result(res);
    return 0;
}

/* Streams the rows of sql (mysql_use_result) into fn, one at a time. */
static int stream(st_ctx *c, MYSQL *db, const char *sql, const char *what,
                  void (*fn)(st_ctx *c, MYSQL_ROW row), dk_error *err)
{
    if (mysql_real_query(db, sql, strlen(sql))) return db_fail(db, err, what);
    MYSQL_RES *res = mysql_use_result(db);
    if (!res) return db_fail(db, err, what);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        fn(c, row);
    int bad = mysql_errno(db) != 0;
    mysql_free_result(res);
    return bad ? db_fail(db, err, what) : 0;
}

static void key_row(st_ctx *c, MYSQL_ROW row) /* id, answer, qtype, section */
{
    uint32_t q = qb_strmap_get(&c->qids, row[0], strlen(row[0]));
    if (q == QB_NONE) return;
    st_q *x = &c->qs[q];
    x->known = 1;
    x->key = 0;
    for (const char *a = row[1]; *a; a++)
        if (*a >= 'A' && *a < 'A' + QB_MAX_OPTIONS) x->key |= (uint16_t)(1u << (*a - 'A'));
    int t = qb_type_find(row[2]);
    x->type = (uint8_t)(t < 0 ? QB_A1 : t);
    snprintf(x->section, sizeof x->section, "%s", row[3]);
}

static void answer_row(st_ctx *c, MYSQL_ROW row) /* session_id, question_no, choice, ms */
{
    c->answers++;
    uint32_t si = qb_strmap_get(&c->sids, row[0], strlen(row[0]));
    if (si == QB_NONE) return; /* cheating confirmed, or a malformed paper */
    st_sess *s = &c->sess[si];
    int no = atoi(row[1]);
    if (no < 1 || no > s->n) return;
    st_slot *sl = &s->slots[no - 1];
    sl->has = 1;
    sl->ms = row[3] ? atoll(row[3]) : 0;
    sl->choice = 0;
    for (const char *x = row[2] ? row[2] : ""; *x; x++) {
        int d = *x - 'A';
        if (d >= 0 && d < sl->nopt) sl->choice |= (uint16_t)(1u << d);
    }
}

static int load_keys(st_ctx *c, MYSQL *db, dk_error *err)
{
    return stream(c, db, "SELECT id, answer, qtype, section FROM qb_question", "keys", key_row,
                  err);
}

static int load_answers(st_ctx *c, MYSQL *db, long long cycle_id, dk_error *err)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT a.session_id, a.question_no, a.choice, "
             "CAST(UNIX_TIMESTAMP(a.saved_at) * 1000 AS SIGNED) FROM exam_session s "
             "JOIN exam_answer a ON a.session_id = s.id WHERE s.cycle_id = %lld AND "
             "s.status = 'submitted'",
             cycle_id);
    return stream(c, db, sql, "answers", answer_row, err);
}

/* The choice in original letters, and whether it is the key. */
static uint16_t original(const st_slot *sl)
{
    uint16_t m = 0;
    for (int d = 0; d < sl->nopt; d++)
        if (sl->choice & (1u << d)) m |= (uint16_t)(1u << sl->order[d]);
    return m;
}

static int slot_correct(const st_ctx *c, const st_slot *sl)
{
    const st_q *q = &c->qs[c->items[sl->item].q];
    return sl->choice && q->known && original(sl) == q->key;
}

static void add_time(st_item *it, float t)
{
    if (it->ntimes == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 16;
        it->times = dk_realloc(it->times, it->cap * sizeof *it->times);
    }
    it->times[it->ntimes++] = t;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Sittings by score, best first; ties by session id. */
static const st_ctx *rank_ctx;
static int cmp_rank(const void *a, const void *b)
{
    const st_sess *x = &rank_ctx->sess[*(const uint32_t *)a],
                  *y = &rank_ctx->sess[*(const uint32_t *)b];
    if (x->score != y->score) return y->score - x->score;
    return strcmp(x->id, y->id);
}

static void compute(st_ctx *c)
{
    long long *order = dk_malloc((QB_MAX_PAPER + 1) * sizeof *order);
    for (size_t i = 0; i < c->nsess; i++) {
        st_sess *s = &c->sess[i];
        st_group *gr = &c->groups[s->group];
        if (!gr->pos_n) {
            gr->pos_n = dk_calloc((size_t)gr->k, sizeof *gr->pos_n);
            gr->pos_c = dk_calloc((size_t)gr->k, sizeof *gr->pos_c);
        }
        s->score = 0;
        for (int k = 0; k < s->n; k++)
            s->score += slot_correct(c, &s->slots[k]);
        /* time to answer: saves in the order they were made (ms, slot packed) */
        int nsave = 0;
        for (int k = 0; k < s->n; k++)
            if (s->slots[k].has) order[nsave++] = s->slots[k].ms * 1024 + k;
        qsort(order, (size_t)nsave, sizeof *order, cmp_ll);
        long long prev = s->start_ms;
        for (int j = 0; j < nsave; j++) {
            int k = (int)(order[j] % 1024);
            st_slot *sl = &s->slots[k];
            long long t = sl->ms - prev;
            prev = sl->ms;
            if (sl->choice && t >= 0) add_time(&c->items[sl->item], (float)t / 1000.0f);
        }
        for (int k = 0; k < s->n; k++) {
            st_slot *sl = &s->slots[k];
            st_item *it = &c->items[sl->item];
            int x = slot_correct(c, sl);
            double r = s->score - x;
            it->drawn++;
            it->correct += x;
            it->sr += r;
            it->sr2 += r * r;
            it->sxr += x * r;
            gr->pos_n[k]++;
            gr->pos_c[k] += x;
            if (!sl->choice) continue;
            it->answered++;
            uint16_t m = original(sl);
            for (int o = 0; o < QB_MAX_OPTIONS; o++)
                if (m & (1u << o)) it->opt[o]++;
        }
    }
    free(order);
    /* upper and lower 27% of each paper */
    for (int g = 0; g < ST_MAX_GROUPS; g++) {
        st_group *gr = &c->groups[g];
        if (!gr->present || !gr->n) continue;
        uint32_t *rank = dk_malloc((size_t)gr->n * sizeof *rank);
        long n = 0;
        for (size_t i = 0; i < c->nsess; i++)
            if (c->sess[i].group == g) rank[n++] = (uint32_t)i;
        rank_ctx = c;
        qsort(rank, (size_t)n, sizeof *rank, cmp_rank);
        long ng = (long)floor(ST_UL_SHARE * (double)n + 0.5);
        if (2 * ng > n) ng = n / 2;
        for (long r = 0; r < n; r++) {
            int up = r < ng, lo = r >= n - ng;
            if (!up && !lo) continue;
            st_sess *s = &c->sess[rank[r]];
            for (int k = 0; k < s->n; k++) {
                st_item *it = &c->items[s->slots[k].item];
                int x = slot_correct(c, &s->slots[k]);
                if (up)
                    it->up_n++, it->up_c += x;
                else
                    it->lo_n++, it->lo_c += x;
            }
        }
        free(rank);
    }
}

/* ---- storing ------------------------------------------------------------------------------ */

/* SQL text built piece by piece (results go in as multi-row INSERTs); shared with qb_sim.c. */
void qb_sb_cat(qb_sqlbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)(n > 0 ? n : 0) + 1) * 2;
        b->s = dk_realloc(b->s, b->cap);
    }
}

void qb_sb_str(qb_sqlbuf *b, MYSQL *db, const char *s)
{
    size_t n = strlen(s);
    char *e = dk_malloc(2 * n + 1);
    mysql_real_escape_string(db, e, s, (unsigned long)n);
    qb_sb_cat(b, "'%s'", e);
    free(e);
}

static void sb_num(qb_sqlbuf *b, double v, int defined)
{
    if (defined && isfinite(v))
        qb_sb_cat(b, "%.6f", v);
    else
        qb_sb_cat(b, "NULL");
}

int qb_sb_run(qb_sqlbuf *b, MYSQL *db, dk_error *err)
{
    int rc = mysql_real_query(db, b->s, (unsigned long)b->len)
                 ? dk_error_set(err,
                                mysql_errno(db) == 2006 || mysql_errno(db) == 2013 ? DK_EIO
                                                                                   : DK_EINTERNAL,
                                "qb: %u %s", mysql_errno(db), mysql_error(db))
                 : 0;
    b->len = 0;
    return rc;
}

static double item_rpb(const st_item *it, int *ok)
{
    double n = (double)it->drawn, sx = (double)it->correct;
    double num = n * it->sxr - sx * it->sr;
    double den = (n * sx - sx * sx) * (n * it->sr2 - it->sr * it->sr);
    *ok = it->drawn >= 2 && den > 0;
    return *ok ? num / sqrt(den) : 0;
}

static double median_of(float *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_float);
    return n % 2 ? v[n / 2] : ((double)v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static int store_items(st_ctx *c, MYSQL *db, long long run_id, long *flagged_by_group,
                       long *nitems_by_group, dk_error *err)
{
    qb_sqlbuf b = {0};
    int rows = 0, rc = 0;
    for (size_t i = 0; i < c->nitems && !rc; i++) {
        st_item *it = &c->items[i];
        st_group *gr = &c->groups[it->group];
        const st_q *q = &c->qs[it->q];
        double p = it->drawn ? (double)it->correct / (double)it->drawn : 0;
        int rok;
        double rpb = item_rpb(it, &rok);
        int ulok = it->up_n > 0 && it->lo_n > 0;
        double ul = ulok ? (double)it->up_c / it->up_n - (double)it->lo_c / it->lo_n : 0;
        char flags[96] = "";
        if (it->drawn >= c->min_n) {
            if (rok && rpb < 0) strcat(flags, ",negative_discrimination");
            if (p > QB_STATS_EASY) strcat(flags, ",too_easy");
            if (p < QB_STATS_HARD) strcat(flags, ",too_hard");
            for (int o = 0; o < it->nopt; o++)
                if (!(q->key & (1u << o)) && it->opt[o] == 0) {
                    strcat(flags, ",unused_distractor");
                    break;
                }
        }
        nitems_by_group[it->group]++;
        if (flags[0]) flagged_by_group[it->group]++;
        char key[QB_MAX_OPTIONS + 1];
        qb_key_letters(q->key, key);
        if (!rows)
            qb_sb_cat(&b, "INSERT INTO item_stats_question (run_id, category, paper, attempt, "
                          "question_id, qtype, section, drawn, exposure, answered, correct, "
                          "facility, rpb, ul_index, upper_n, lower_n, options, answer, "
                          "median_time_s, flags) VALUES ");
        else
            qb_sb_cat(&b, ",");
        qb_sb_cat(&b, "(%lld,'%s','%s',%d,", run_id, qb_category_names[gr->category],
                  qb_paper_names[gr->paper], gr->attempt);
        qb_sb_str(&b, db, q->id);
        qb_sb_cat(&b, ",'%s',", qb_type_names[q->type]);
        qb_sb_str(&b, db, q->known ? q->section : "");
        qb_sb_cat(&b, ",%ld,%.6f,%ld,%ld,", it->drawn, gr->n ? (double)it->drawn / gr->n : 0,
                  it->answered, it->correct);
        sb_num(&b, p, it->drawn > 0);
        qb_sb_cat(&b, ",");
        sb_num(&b, rpb, rok);
        qb_sb_cat(&b, ",");
        sb_num(&b, ul, ulok);
        qb_sb_cat(&b, ",%ld,%ld,'{", it->up_n, it->lo_n);
        for (int o = 0; o < it->nopt; o++)
            qb_sb_cat(&b, "%s\"%c\":%ld", o ? "," : "", 'A' + o, it->opt[o]);
        qb_sb_cat(&b, "}','%s',", key);
        sb_num(&b, it->ntimes ? median_of(it->times, it->ntimes) : 0, it->ntimes > 0);
        qb_sb_cat(&b, ",'%s')", flags[0] ? flags + 1 : "");
        if (++rows == ST_INSERT_ROWS) {
            rc = qb_sb_run(&b, db, err);
            rows = 0;
        }
    }
    if (!rc && rows) rc = qb_sb_run(&b, db, err);
    free(b.s);
    return rc;
}

static int store_papers(st_ctx *c, MYSQL *db, long long run_id, const long *flagged,
                        const long *nitems, dk_error *err)
{
    qb_sqlbuf b = {0};
    int rc = 0;
    for (int g = 0; g < ST_MAX_GROUPS && !rc; g++) {
        st_group *gr = &c->groups[g];
        if (!gr->present || !gr->n) continue;
        long *dist = dk_calloc((size_t)gr->k + 1, sizeof *dist);
        int *scores = dk_malloc((size_t)gr->n * sizeof *scores);
        long n = 0;
        double sum = 0, sum2 = 0;
        for (size_t i = 0; i < c->nsess; i++) {
            if (c->sess[i].group != g) continue;
            int t = c->sess[i].score;
            scores[n++] = t;
            dist[t]++;
            sum += t;
            sum2 += (double)t * t;
        }
        double mean = sum / n, var = sum2 / n - mean * mean;
        if (var < 0) var = 0;
        int lo = gr->k, hi = 0;
        long cum = 0;
        double med = 0;
        for (int t = 0; t <= gr->k; t++) {
            if (!dist[t]) continue;
            if (t < lo) lo = t;
            if (t > hi) hi = t;
        }
        /* median from the distribution: the mean of the two middle scores when n is even */
        long m1 = (n - 1) / 2, m2 = n / 2;
        int v1 = -1, v2 = -1;
        for (int t = 0; t <= gr->k; t++) {
            cum += dist[t];
            if (v1 < 0 && cum > m1) v1 = t;
            if (v2 < 0 && cum > m2) v2 = t;
        }
        med = (v1 + v2) / 2.0;
        double spq = 0;
        for (int k = 0; k < gr->k; k++)
            if (gr->pos_n[k]) {
                double p = (double)gr->pos_c[k] / gr->pos_n[k];
                spq += p * (1 - p);
            }
        /* as Moodle: KR-20 and SEM only for more than two sittings; SEM with the sample sd */
        int krok = gr->k > 1 && n > 2 && var > 0;
        double kr20 = krok ? (double)gr->k / (gr->k - 1) * (1 - spq / var) : 0;
        double sd_sample = n > 1 ? sqrt(var * n / (n - 1)) : 0;
        qb_sb_cat(&b,
                  "INSERT INTO item_stats_paper (run_id, category, paper, attempt, sittings, "
                  "questions, mean_score, sd_score, median, min_score, max_score, kr20, sem, "
                  "distribution, items, flagged) VALUES (%lld,'%s','%s',%d,%ld,%d,%.6f,%.6f,%.1f,"
                  "%d,%d,",
                  run_id, qb_category_names[gr->category], qb_paper_names[gr->paper], gr->attempt,
                  n, gr->k, mean, sqrt(var), med, lo, hi);
        sb_num(&b, kr20, krok);
        qb_sb_cat(&b, ",");
        sb_num(&b, sd_sample * sqrt(kr20 < 1 ? 1 - kr20 : 0), krok && kr20 <= 1 && kr20 >= 0);
        qb_sb_cat(&b, ",'[");
        for (int t = 0; t <= gr->k; t++)
            qb_sb_cat(&b, "%s%ld", t ? "," : "", dist[t]);
        qb_sb_cat(&b, "]',%ld,%ld)", nitems[g], flagged[g]);
        free(dist);
        free(scores);
        rc = qb_sb_run(&b, db, err);
    }
    free(b.s);
    return rc;
}

static void ctx_free(st_ctx *c)
{
    for (size_t i = 0; i < c->nsess; i++)
        free(c->sess[i].slots);
    free(c->sess);
    qb_strmap_free(&c->sids);
    for (size_t i = 0; i < c->nitems; i++)
        free(c->items[i].times);
    free(c->items);
    for (int g = 0; g < ST_MAX_GROUPS; g++) {
        st_group *gr = &c->groups[g];
        if (!gr->present) continue;
        for (size_t i = 0; i < gr->items.cap; i++)
            free((char *)gr->items.keys[i]);
        qb_strmap_free(&gr->items);
        free(gr->pos_n);
        free(gr->pos_c);
    }
    free(c->qs);
    qb_strmap_free(&c->qids);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- runs ------------------------------------------------------------------------------------ */

int qb_stats_queue(MYSQL *db, long long cycle_id, long long requested_by, int min_n,
                   long long *run_id, dk_error *err)
{
    dk_param p[] = {DK_PINT(cycle_id), requested_by > 0 ? DK_PINT(requested_by) : DK_PNULL,
                    DK_PINT(min_n > 0 ? min_n : QB_STATS_MIN_N)};
    int rc = dk_mysql_exec(db,
                           "INSERT INTO item_analysis_run (cycle_id, requested_by, min_n) "
                           "VALUES (?, ?, ?)",
                           p, 3, NULL, NULL, err);
    if (!rc) *run_id = (long long)mysql_insert_id(db);
    return rc;
}

static void run_failed(MYSQL *db, long long run_id, const char *msg)
{
    dk_mysql_rollback(db);
    size_t n = strlen(msg);
    if (n > 250)
        for (n = 250; n && ((unsigned char)msg[n] & 0xC0) == 0x80; n--) /* a whole character */
            ;
    dk_param p[] = {DK_PSTRN(msg, n), DK_PINT(run_id)};
    dk_error e2 = {0};
    dk_mysql_exec(db,
                  "UPDATE item_analysis_run SET status = 'failed', finished_at = NOW(3), "
                  "error = ? WHERE id = ?",
                  p, 2, NULL, NULL, &e2);
}

int qb_stats_run(MYSQL *db, long long run_id, qb_stats_summary *sum, dk_error *err)
{
    memset(sum, 0, sizeof *sum);
    long long t0 = now_ms();
    uint64_t claimed = 0;
    dk_param p[] = {DK_PINT(run_id)};
    int rc = dk_mysql_exec(db,
                           "UPDATE item_analysis_run SET status = 'running', started_at = NOW(3) "
                           "WHERE id = ? AND status = 'queued'",
                           p, 1, NULL, &claimed, err);
    if (rc) return rc; /* not claimed: it stays queued, sum->run_id stays 0 */
    if (!claimed) {
        dk_error_set(err, DK_ECONFLICT, "该分析任务已在运行或已完成");
        return QB_STATS_TAKEN;
    }
    sum->run_id = run_id; /* claimed: from here every failure marks it failed */
    st_ctx *c = dk_calloc(1, sizeof *c);
    qb_strmap_init(&c->qids, 1024);
    MYSQL_RES *res;
    if ((rc = dk_mysql_exec(db, "SELECT cycle_id, min_n FROM item_analysis_run WHERE id = ?", p, 1,
                            &res, NULL, err)))
        goto fail;
    MYSQL_ROW row = mysql_fetch_row(res);
    long long cycle_id = row ? atoll(row[0]) : 0;
    int min_n = row ? atoi(row[1]) : QB_STATS_MIN_N;
    mysql_free_result(res);

    c->min_n = min_n;
    long flagged[ST_MAX_GROUPS] = {0}, nitems[ST_MAX_GROUPS] = {0};
    if ((rc = load_sessions(c, db, cycle_id, err)) || (rc = load_keys(c, db, err)) ||
        (rc = load_answers(c, db, cycle_id, err)))
        goto fail;
    compute(c);
    if ((rc = dk_mysql_begin(db, err)) || (rc = store_items(c, db, run_id, flagged, nitems, err)) ||
        (rc = store_papers(c, db, run_id, flagged, nitems, err)))
        goto fail;
    for (int g = 0; g < ST_MAX_GROUPS; g++) {
        sum->papers += c->groups[g].present && c->groups[g].n;
        sum->flagged += flagged[g];
    }
    sum->sessions = (long)c->nsess;
    sum->answers = c->answers;
    sum->questions = (long)c->nitems;
    sum->ms = now_ms() - t0;
    dk_param done[] = {DK_PINT(sum->sessions), DK_PINT(sum->answers), DK_PINT(sum->ms),
                       DK_PINT(run_id)};
    if ((rc = dk_mysql_exec(db,
                            "UPDATE item_analysis_run SET status = 'done', finished_at = NOW(3), "
                            "sessions = ?, answers = ?, duration_ms = ? WHERE id = ?",
                            done, 4, NULL, NULL, err)))
        goto fail;
    /* older results of the cycle give way (their run rows stay, as history) */
    dk_param old[] = {DK_PINT(cycle_id), DK_PINT(run_id)};
    if ((rc = dk_mysql_exec(db,
                            "DELETE q FROM item_stats_question q JOIN item_analysis_run r ON "
                            "r.id = q.run_id WHERE r.cycle_id = ? AND r.id < ?",
                            old, 2, NULL, NULL, err)) ||
        (rc = dk_mysql_exec(db,
                            "DELETE q FROM item_stats_paper q JOIN item_analysis_run r ON "
                            "r.id = q.run_id WHERE r.cycle_id = ? AND r.id < ?",
                            old, 2, NULL, NULL, err)) ||
        (rc = dk_mysql_commit(db, err)))
        goto fail;
    ctx_free(c);
    free(c);
    return 0;
fail:
    run_failed(db, run_id, err->msg);
    ctx_free(c);
    free(c);
    return rc;
}

int qb_stats_run_next(MYSQL *db, qb_stats_summary *sum, dk_error *err)
{
    long long id;
    int rc = dk_mysql_ll(db,
                         "SELECT id FROM item_analysis_run WHERE status = 'queued' ORDER BY id "
                         "LIMIT 1",
                         NULL, 0, &id, err);
    if (rc) return rc;
    return qb_stats_run(db, id, sum, err);
}

int qb_stats_queue_finished(MYSQL *db, dk_error *err)
{
    /* the last window that has ended: the makeup window once it is over, else the test window */
    return dk_mysql_exec(db,
                         "INSERT INTO item_analysis_run (cycle_id) SELECT c.id FROM cycle c "
                         "WHERE c.test_end < NOW(3) AND EXISTS (SELECT 1 FROM exam_session s "
                         "WHERE s.cycle_id = c.id AND s.status = 'submitted') AND NOT EXISTS "
                         "(SELECT 1 FROM item_analysis_run r WHERE r.cycle_id = c.id AND "
                         "r.requested_at >= IF(c.makeup_end < NOW(3), c.makeup_end, c.test_end))",
                         NULL, 0, NULL, NULL, err);
}

int qb_stats_recover(MYSQL *db, dk_error *err)
{
    return dk_mysql_exec(db,
                         "UPDATE item_analysis_run SET status = 'queued', started_at = NULL "
                         "WHERE status = 'running' AND started_at < NOW(3) - INTERVAL 1 HOUR",
                         NULL, 0, NULL, NULL, err);
}
