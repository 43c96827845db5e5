/* test_qb_draw.c - the sampler and what is done with a paper: same seed same paper, every
 * blueprint row filled without replacement with whole groups, uniform question frequencies
 * (chi-square over many draws), shuffled options with B1 groups sharing one order, the
 * encoded form, the client JSON without keys, choices, scoring, retired questions (kept for
 * old papers, never drawn) and the atomic swap. */
#include <event2/buffer.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dk_log.h"
#include "qb_internal.h"

/* ---- a small bank built for the tests ------------------------------------------------------ */

typedef struct bank_text {
    char *p;
    size_t len;
    FILE *f;
    int seq, gseq;
} bank_text;

static const char *opt_texts[] = {"甲", "乙", "丙", "丁", "戊", "己", "庚"};

static void q_line(bank_text *b, const char *cat, const char *paper, const char *section,
                   const char *type, const char *group, const char *case_text, int nopt,
                   const char *answer, const char *opts_tag)
{
    int id = ++b->seq;
    fprintf(b->f,
            "{\"id\":\"T%05d\",\"category\":\"%s\",\"paper\":\"%s\",\"section\":\"%s\","
            "\"type\":\"%s\",",
            id, cat, paper, section, type);
    if (group) fprintf(b->f, "\"group\":\"%s\",", group);
    if (case_text) fprintf(b->f, "\"case\":\"%s\",", case_text);
    fprintf(b->f, "\"stem\":\"题干%d \\\"引号\\\"\",\"options\":{", id);
    for (int i = 0; i < nopt; i++)
        fprintf(b->f, "%s\"%c\":\"%s%s\"", i ? "," : "", 'A' + i, opt_texts[i],
                opts_tag ? opts_tag : "");
    fprintf(b->f, "},\"answer\":\"%s\"}\n", answer);
}

static void singles(bank_text *b, const char *cat, const char *paper, const char *section,
                    const char *type, int n)
{
    for (int i = 0; i < n; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "%d", b->seq + 1);
        q_line(b, cat, paper, section, type, NULL, NULL, 5, !strcmp(type, "X") ? "ACD" : "B", tag);
    }
}

static void groups(bank_text *b, const char *cat, const char *paper, const char *section,
                   const char *type, int ngroups, int size)
{
    for (int g = 0; g < ngroups; g++) {
        int gseq = ++b->gseq;
        char gid[32], tag[32], case_text[64];
        snprintf(gid, sizeof gid, "G%04d", gseq);
        snprintf(tag, sizeof tag, "g%d", gseq);
        snprintf(case_text, sizeof case_text, "病例%d", gseq);
        for (int m = 0; m < size; m++) {
            int is_b1 = !strcmp(type, "B1");
            char ans[2] = {(char)('A' + m % 5), 0};
            char mtag[40];
            snprintf(mtag, sizeof mtag, "%s-%d", tag, m);
            q_line(b, cat, paper, section, type, gid, is_b1 ? NULL : case_text, 5, ans,
                   is_b1 ? tag : mtag);
        }
    }
}

static qb_bp_def bp(int cat, int paper, int duration, ...)
{
    qb_bp_def d = {.category = cat, .paper = paper, .duration_min = duration};
    va_list ap;
    va_start(ap, duration);
    const char *section;
    while ((section = va_arg(ap, const char *))) {
        qb_bp_row *r = &d.rows[d.nrows++];
        r->section = dk_strdup(section);
        r->types = va_arg(ap, unsigned);
        r->count = va_arg(ap, int);
        d.question_count += r->count;
    }
    va_end(ap);
    d.pass_mark = d.question_count * 6 / 10;
    return d;
}

#define ANY 0u
#define TB(t) QB_TYPE_BIT(QB_##t)
#define LC "临床"
#define ZY "中医"
#define KQ "口腔"
#define YW "业务水平"
#define GG "公共知识"

static qb_index *test_bank_retired(uint64_t version, const char *const *retired, size_t nretired);

static qb_index *test_bank(uint64_t version)
{
    return test_bank_retired(version, NULL, 0);
}

/* The test bank with the questions named in retired marked retired (as qb_index_load marks
 * rows of state 'retired'). */
static qb_index *test_bank_retired(uint64_t version, const char *const *retired, size_t nretired)
{
    bank_text b = {0};
    b.f = open_memstream(&b.p, &b.len);
    singles(&b, LC, YW, "内科学", "A1", 20);
    singles(&b, LC, YW, "内科学", "A2", 6);
    singles(&b, LC, YW, "内科学", "X", 4);
    groups(&b, LC, YW, "内科学", "A3", 5, 3);
    groups(&b, LC, YW, "内科学", "B1", 5, 2);
    groups(&b, LC, YW, "外科学", "B1", 8, 2);
    groups(&b, LC, YW, "外科学", "A4", 4, 3);
    singles(&b, LC, YW, "儿科学", "A1", 15);
    groups(&b, LC, YW, "儿科学", "B1", 4, 2);
    singles(&b, LC, GG, "卫生法规", "A1", 10);
    singles(&b, ZY, YW, "中药学", "A1", 5);
    groups(&b, KQ, YW, "口腔内科学", "A3", 3, 3);
    fclose(b.f);
    qb_bp_def bps[] = {
        bp(0, 1, 60, "内科学", ANY, 20, "外科学", ANY, 10, "儿科学", TB(A1), 5, "儿科学", TB(B1), 4,
           NULL),
        bp(0, 0, 30, "卫生法规", ANY, 10, NULL),
        bp(1, 1, 60, "中药学", ANY, 10, NULL),
        bp(2, 1, 60, "口腔内科学", ANY, 4, NULL),
    };
    qb_validator *v = qb_validator_new();
    long lineno = 0;
    for (size_t at = 0; at < b.len;) {
        const char *nl = memchr(b.p + at, '\n', b.len - at);
        size_t end = nl ? (size_t)(nl - b.p) : b.len;
        qb_validator_line(v, ++lineno, b.p + at, end - at);
        at = end + 1;
    }
    qb_validator_finish(v);
    assert_int_equal(qb_validator_nviolations(v), 0);
    size_t n = qb_validator_nrecs(v);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < nretired; k++)
            if (!strcmp(qb_validator_rec(v, i)->id, retired[k])) qb_validator_rec(v, i)->retired = 1;
    qb_index *idx = qb_index_build(n ? qb_validator_rec(v, 0) : NULL, n, bps, 4, version);
    qb_validator_free(v);
    for (size_t i = 0; i < 4; i++)
        qb_bp_clear(&bps[i]);
    free(b.p);
    return idx;
}

/* ---- checks of one paper ------------------------------------------------------------------- */

static const uint8_t rank[QB_NTYPES] = {0, 1, 3, 4, 5, 2};

static void check_paper(const qb_index *idx, const qb_paper *p, const qb_blueprint *bpub)
{
    assert_int_equal(qb_paper_count(p), bpub->question_count);
    unsigned char *seen = calloc(idx->nq, 1);
    int at = 0;
    for (size_t r = 0; r < bpub->nsections; r++) {
        const qb_bp_section *row = &bpub->sections[r];
        int last_rank = -1;
        for (int k = 0; k < row->count; k++, at++) {
            const qb_item *it = &p->items[at];
            const qb_q *q = &idx->qs[it->q];
            assert_false(seen[it->q]);
            seen[it->q] = 1;
            assert_string_equal(idx->sections[q->section], row->section);
            assert_true(!row->types || (row->types & QB_TYPE_BIT(q->type)));
            assert_true(rank[q->type] >= last_rank);
            last_rank = rank[q->type];
            /* the option order is a permutation */
            unsigned mask = 0;
            assert_int_equal(it->nopt, q->nopt);
            for (int o = 0; o < it->nopt; o++)
                mask |= 1u << it->order[o];
            assert_int_equal(mask, (1u << q->nopt) - 1);
            if (q->group != QB_NONE) {
                const qb_g *g = &idx->groups[q->group];
                uint32_t m = it->q - g->first;
                if (m > 0) { /* members follow each other in order */
                    assert_true(at > 0);
                    assert_int_equal(p->items[at - 1].q, it->q - 1);
                    if (g->type == QB_B1)
                        assert_memory_equal(p->items[at - 1].order, it->order, QB_MAX_OPTIONS);
                }
                if (m + 1 < g->size) { /* and the group ends inside this row */
                    assert_true(k + 1 < row->count);
                    assert_int_equal(p->items[at + 1].q, it->q + 1);
                }
            }
        }
    }
    free(seen);
}

static void test_same_seed_same_paper(void **state)
{
    (void)state;
    qb_index *idx = test_bank(7), *again = test_bank(7);
    qb_paper *a, *b, *c, *d;
    dk_error err;
    assert_int_equal(qb_draw(idx, LC, YW, 42, &a, &err), 0);
    assert_int_equal(qb_draw(idx, LC, YW, 42, &b, &err), 0);
    assert_int_equal(qb_draw(again, LC, YW, 42, &d, &err), 0); /* a reload of the same bank */
    assert_int_equal(qb_draw(idx, LC, YW, 43, &c, &err), 0);
    char *ea = qb_paper_encode(idx, a, NULL), *eb = qb_paper_encode(idx, b, NULL);
    char *ec = qb_paper_encode(idx, c, NULL), *ed = qb_paper_encode(again, d, NULL);
    assert_string_equal(ea, eb);
    assert_string_equal(ea, ed);
    assert_string_not_equal(ea, ec);
    assert_int_equal(strncmp(ea, "qb1;临床;业务水平;42;", strlen("qb1;临床;业务水平;42;")), 0);
    assert_null(qb_paper_encode(again, a, NULL)); /* a paper belongs to its index */
    free(ea), free(eb), free(ec), free(ed);
    qb_paper_free(a), qb_paper_free(b), qb_paper_free(c), qb_paper_free(d);
    qb_index_unref(idx);
    qb_index_unref(again);
}

static void test_paper_structure(void **state)
{
    (void)state;
    qb_index *idx = test_bank(1);
    const qb_blueprint *b = qb_blueprint_find(idx, LC, YW);
    assert_non_null(b);
    assert_true(b->satisfiable);
    assert_int_equal(b->question_count, 39);
    assert_int_equal(b->duration_min, 60);
    for (uint64_t seed = 0; seed < 2000; seed++) {
        qb_paper *p;
        dk_error err;
        assert_int_equal(qb_draw(idx, LC, YW, seed * 7919, &p, &err), 0);
        check_paper(idx, p, b);
        qb_paper_free(p);
    }
    qb_index_unref(idx);
}

/* Per unit (a single question or a whole group) of a row's pool: how often it was drawn. */
static void test_uniform_chi_square(void **state)
{
    (void)state;
    qb_index *idx = test_bank(1);
    const qb_bp_entry *e = &idx->bps[0 * QB_NPAPERS + 1];
    const qb_pool *pool = &e->pools[0]; /* 内科学: 30 singles, 10 groups, 55 questions */
    assert_int_equal(pool->nsingles, 30);
    assert_int_equal(pool->ngroups, 10);
    assert_int_equal(pool->nquestions, 55);
    const int draws = 20000;
    long *freq = calloc(idx->nq, sizeof *freq);
    long *sfreq = calloc(idx->nq, sizeof *sfreq); /* 外科学: groups only */
    for (int d = 0; d < draws; d++) {
        qb_paper *p;
        dk_error err;
        assert_int_equal(qb_draw(idx, LC, YW, (uint64_t)d, &p, &err), 0);
        for (int i = 0; i < qb_paper_count(p); i++) {
            freq[p->items[i].q]++;
            sfreq[p->items[i].q]++;
        }
        qb_paper_free(p);
    }
    double pr = 20.0 / 55.0, var = draws * pr * (1 - pr), stat = 0, single_sum = 0, group_sum = 0;
    int units = 0;
    for (uint32_t i = 0; i < pool->nsingles; i++, units++) {
        double o = (double)freq[pool->singles[i]];
        stat += (o - draws * pr) * (o - draws * pr) / var;
        single_sum += o;
    }
    for (uint32_t i = 0; i < pool->ngroups; i++, units++) {
        const qb_g *g = &idx->groups[pool->groups[i]];
        double o = (double)freq[g->first];
        for (uint32_t m = 1; m < g->size; m++)
            assert_int_equal(freq[g->first + m], (long)o);
        stat += (o - draws * pr) * (o - draws * pr) / var;
        group_sum += o;
    }
    double limit = units + 6 * sqrt(2.0 * units);
    print_message("chi-square over %d units: %.1f (limit %.1f); mean frequency singles %.4f, "
                  "groups %.4f, expected %.4f\n",
                  units, stat, limit, single_sum / pool->nsingles / draws,
                  group_sum / pool->ngroups / draws, pr);
    assert_true(stat < limit);
    assert_true(fabs(single_sum / pool->nsingles / draws - pr) < 0.01);
    assert_true(fabs(group_sum / pool->ngroups / draws - pr) < 0.02);

    /* the groups-only row (greedy): every group gets drawn, sizes always add up (checked
     * by check_paper); its frequencies are only roughly even */
    const qb_pool *gp = &e->pools[1];
    assert_int_equal(gp->nsingles, 0);
    for (uint32_t i = 0; i < gp->ngroups; i++)
        assert_true(sfreq[idx->groups[gp->groups[i]].first] > draws / 10);
    free(freq);
    free(sfreq);
    qb_index_unref(idx);
}

/* The option orders: over many papers every original letter shows in every position. */
static void test_option_shuffle(void **state)
{
    (void)state;
    qb_index *idx = test_bank(1);
    long pos[5][5] = {{0}};
    const int draws = 4000;
    for (int d = 0; d < draws; d++) {
        qb_paper *p;
        dk_error err;
        assert_int_equal(qb_draw(idx, LC, GG, (uint64_t)d, &p, &err), 0);
        for (int o = 0; o < 5; o++)
            pos[o][p->items[0].order[o]]++;
        qb_paper_free(p);
    }
    for (int o = 0; o < 5; o++)
        for (int l = 0; l < 5; l++)
            assert_true(labs(pos[o][l] - draws / 5) < draws / 10);
    qb_index_unref(idx);
}

static void test_unsatisfiable(void **state)
{
    (void)state;
    qb_index *idx = test_bank(1);
    qb_paper *p = (qb_paper *)1;
    dk_error err = {0};
    assert_int_equal(qb_draw(idx, ZY, YW, 1, &p, &err), DK_ECONFLICT);
    assert_null(p);
    assert_non_null(strstr(err.msg, "中药学"));
    assert_non_null(strstr(err.msg, "needs 10 questions, the bank has 5"));
    assert_false(qb_blueprint_find(idx, ZY, YW)->satisfiable);
    assert_int_equal(qb_draw(idx, KQ, YW, 1, &p, &err), DK_ECONFLICT);
    assert_non_null(strstr(err.msg, "cannot add up"));
    assert_int_equal(qb_draw(idx, "公共卫生", YW, 1, &p, &err), DK_ENOTFOUND);
    assert_int_equal(qb_draw(idx, "西医", YW, 1, &p, &err), DK_ENOTFOUND);
    assert_null(qb_blueprint_find(idx, "公共卫生", GG));
    qb_index_unref(idx);
}

static void test_encode_decode(void **state)
{
    (void)state;
    qb_index *idx = test_bank(1), *other = test_bank(2);
    qb_paper *p, *d;
    dk_error err;
    assert_int_equal(qb_draw(idx, LC, YW, 99, &p, &err), 0);
    size_t len;
    char *enc = qb_paper_encode(idx, p, &len);
    assert_int_equal(strlen(enc), len);
    /* decoded against another index of the same bank: the same paper */
    assert_int_equal(qb_paper_decode(other, enc, len, &d, &err), 0);
    char *enc2 = qb_paper_encode(other, d, NULL);
    assert_string_equal(enc, enc2);
    assert_int_equal(qb_paper_seed(d), 99);
    assert_string_equal(qb_paper_category(d), LC);
    assert_string_equal(qb_paper_paper(d), YW);
    char order[QB_MAX_OPTIONS + 1];
    assert_int_equal(qb_paper_question_order(d, 1, order), 0);
    assert_int_equal(strlen(order), 5);
    assert_non_null(strstr(enc, qb_paper_question_id(other, d, 1)));
    free(enc2);
    qb_paper_free(d);

    /* not NUL-terminated input */
    char *copy = malloc(len);
    memcpy(copy, enc, len);
    assert_int_equal(qb_paper_decode(idx, copy, len, &d, &err), 0);
    qb_paper_free(d);
    free(copy);

    /* a question that vanished */
    char *gone = strdup(enc);
    char *first = strchr(strrchr(gone, ';'), 'T');
    first[1] = 'X';
    assert_int_equal(qb_paper_decode(idx, gone, strlen(gone), &d, &err), DK_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no longer in the bank"));
    free(gone);

    const char *bad[] = {"",
                         "qb2;临床;业务水平;1;T00001:ABCDE",
                         "qb1;西医;业务水平;1;T00001:ABCDE",
                         "qb1;临床;业务水平;x;T00001:ABCDE",
                         "qb1;临床;业务水平;1;",
                         "qb1;临床;业务水平;1;T00001:ABCD",
                         "qb1;临床;业务水平;1;T00001:ABCDA",
                         "qb1;临床;业务水平;1;T00001:ABCDF",
                         "qb1;临床;业务水平;1;T00001",
                         "qb1;临床;业务水平;1;T00001:ABCDE,,T00002:ABCDE",
                         "qb1;临床;业务水平;1;:ABCDE"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = (qb_paper *)1;
        if (qb_paper_decode(idx, bad[i], strlen(bad[i]), &d, &err) != DK_EINVAL)
            fail_msg("decoded '%s'", bad[i]);
        assert_null(d);
    }
    free(enc);
    qb_paper_free(p);
    qb_index_unref(idx);
    qb_index_unref(other);
}

/* Display letters that answer item it correctly. */
static void correct_choice(const qb_index *idx, const qb_item *it, char *out)
{
    int n = 0;
    for (int d = 0; d < it->nopt; d++)
        if (idx->qs[it->q].key & (1u << it->order[d])) out[n++] = (char)('A' + d);
    out[n] = '\0';
}

static void test_choices_and_score(void **state)
{
    (void)state;
    qb_index *idx = test_bank(1);
    qb_paper *p;
    dk_error err;
    assert_int_equal(qb_draw(idx, LC, YW, 5, &p, &err), 0);
    int n = qb_paper_count(p), x_no = 0, single_no = 0;
    for (int i = 1; i <= n; i++) {
        if (qb_paper_question_type(idx, p, i) == QB_X && !x_no) x_no = i;
        if (qb_paper_question_type(idx, p, i) == QB_A1 && !single_no) single_no = i;
    }
    assert_true(x_no && single_no);
    char out[QB_CHOICE_MAX];
    assert_int_equal(qb_choice_normalise(idx, p, single_no, " c ", 3, out, &err), 0);
    assert_string_equal(out, "C");
    assert_int_equal(qb_choice_normalise(idx, p, single_no, "AB", 2, out, &err), DK_EINVAL);
    assert_int_equal(qb_choice_normalise(idx, p, single_no, "F", 1, out, &err), DK_EINVAL);
    assert_int_equal(qb_choice_normalise(idx, p, single_no, "", 0, out, &err), DK_EINVAL);
    assert_int_equal(qb_choice_normalise(idx, p, single_no, "1", 1, out, &err), DK_EINVAL);
    assert_int_equal(qb_choice_normalise(idx, p, x_no, "eca", 3, out, &err), 0);
    assert_string_equal(out, "ACE");
    assert_int_equal(qb_choice_normalise(idx, p, x_no, "AA", 2, out, &err), DK_EINVAL);
    assert_int_equal(qb_choice_normalise(idx, p, 0, "A", 1, out, &err), DK_ENOTFOUND);
    assert_int_equal(qb_choice_normalise(idx, p, n + 1, "A", 1, out, &err), DK_ENOTFOUND);

    char(*right)[QB_CHOICE_MAX] = calloc((size_t)n, QB_CHOICE_MAX);
    const char **choices = calloc((size_t)n, sizeof *choices);
    for (int i = 0; i < n; i++) {
        correct_choice(idx, &p->items[i], right[i]);
        choices[i] = right[i];
    }
    int score, total;
    assert_int_equal(qb_score(idx, p, choices, &score, &total), 0);
    assert_int_equal(score, n);
    assert_int_equal(total, n);
    /* the key's original letter, not remapped, is wrong unless the order kept it in place */
    int expect = n;
    char wrong[QB_CHOICE_MAX] = "";
    for (int d = 0; d < p->items[single_no - 1].nopt; d++)
        if (!strchr(right[single_no - 1], 'A' + d)) {
            wrong[0] = (char)('A' + d);
            break;
        }
    choices[single_no - 1] = wrong;
    expect--;
    choices[x_no - 1] = NULL; /* unanswered */
    expect--;
    assert_int_equal(qb_score(idx, p, choices, &score, &total), 0);
    assert_int_equal(score, expect);
    /* X: only every correct letter scores */
    char partial[QB_CHOICE_MAX];
    snprintf(partial, sizeof partial, "%.*s", (int)strlen(right[x_no - 1]) - 1, right[x_no - 1]);
    choices[x_no - 1] = partial;
    assert_int_equal(qb_score(idx, p, choices, &score, &total), 0);
    assert_int_equal(score, expect);
    /* several letters on a single-answer question never score */
    char two[3] = {right[single_no - 1][0], right[single_no - 1][0] == 'A' ? 'B' : 'A', 0};
    choices[single_no - 1] = two;
    assert_int_equal(qb_score(idx, p, choices, &score, &total), 0);
    assert_int_equal(score, expect);
    assert_int_equal(qb_score(idx, p, NULL, &score, &total), 0);
    assert_int_equal(score, 0);

    qb_index *other = test_bank(1);
    assert_int_equal(qb_score(other, p, choices, &score, &total), DK_EINVAL);
    qb_index_unref(other);
    free(right);
    free(choices);
    qb_paper_free(p);
    qb_index_unref(idx);
}

/* Retired questions (an edit or a retirement published from the console): a paper drawn
 * before still decodes, renders and scores the same against the new index; no new paper
 * holds one. */
static void test_retired(void **state)
{
    (void)state;
    qb_index *idx = test_bank(1);
    qb_paper *p, *d;
    dk_error err;
    assert_int_equal(qb_draw(idx, LC, YW, 99, &p, &err), 0);
    int n = qb_paper_count(p);
    const char **ids = calloc((size_t)n, sizeof *ids);
    for (int no = 1; no <= n; no++)
        ids[no - 1] = qb_paper_question_id(idx, p, no);
    qb_index *ret = test_bank_retired(2, ids, (size_t)n);
    char *enc = qb_paper_encode(idx, p, NULL);
    assert_int_equal(qb_paper_decode(ret, enc, strlen(enc), &d, &err), 0);
    struct evbuffer *a = evbuffer_new(), *b = evbuffer_new();
    assert_int_equal(qb_paper_client_json(idx, p, a), 0);
    assert_int_equal(qb_paper_client_json(ret, d, b), 0);
    assert_int_equal(evbuffer_get_length(a), evbuffer_get_length(b));
    assert_memory_equal(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1), evbuffer_get_length(a));
    char **choices = calloc((size_t)n, sizeof *choices);
    for (int no = 1; no <= n; no++) {
        choices[no - 1] = malloc(QB_CHOICE_MAX);
        correct_choice(ret, qb_paper_item(ret, d, no), choices[no - 1]);
    }
    int score, total;
    assert_int_equal(qb_score(ret, d, (const char *const *)choices, &score, &total), 0);
    assert_int_equal(score, total);
    for (uint64_t seed = 0; seed < 300; seed++) { /* never drawn again */
        qb_paper *q;
        assert_int_equal(qb_draw(ret, LC, YW, seed, &q, &err), 0);
        for (int no = 1; no <= qb_paper_count(q); no++)
            for (int k = 0; k < n; k++)
                assert_string_not_equal(qb_paper_question_id(ret, q, no), ids[k]);
        qb_paper_free(q);
    }
    for (int no = 1; no <= n; no++)
        free(choices[no - 1]);
    free(choices);
    evbuffer_free(a);
    evbuffer_free(b);
    free(enc);
    free(ids);
    qb_paper_free(d);
    qb_paper_free(p);
    qb_index_unref(ret);
    qb_index_unref(idx);
}

static void test_client_json(void **state)
{
    (void)state;
    qb_index *idx = test_bank(1);
    qb_paper *p;
    dk_error err;
    assert_int_equal(qb_draw(idx, LC, YW, 11, &p, &err), 0);
    struct evbuffer *b = evbuffer_new();
    assert_int_equal(qb_paper_client_json(idx, p, b), 0);
    size_t len = evbuffer_get_length(b);
    char *text = (char *)evbuffer_pullup(b, -1);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) fail_msg("client JSON does not parse: %s", je.text);
    assert_null(memmem(text, len, "\"answer\"", 8));
    assert_null(memmem(text, len, "\"key\"", 5));
    assert_string_equal(json_string_value(json_object_get(root, "category")), LC);
    assert_int_equal(json_integer_value(json_object_get(root, "count")), qb_paper_count(p));
    assert_int_equal(json_integer_value(json_object_get(root, "duration_min")), 60);
    json_t *qs = json_object_get(root, "questions");
    assert_int_equal(json_array_size(qs), qb_paper_count(p));
    for (int i = 0; i < qb_paper_count(p); i++) {
        json_t *q = json_array_get(qs, (size_t)i);
        const qb_item *it = &p->items[i];
        const qb_q *qq = &idx->qs[it->q];
        assert_int_equal(json_integer_value(json_object_get(q, "no")), i + 1);
        assert_string_equal(json_string_value(json_object_get(q, "type")), qb_type_names[qq->type]);
        assert_string_equal(json_string_value(json_object_get(q, "section")),
                            idx->sections[qq->section]);
        assert_non_null(strstr(json_string_value(json_object_get(q, "stem")), "\"引号\""));
        json_t *opts = json_object_get(q, "options");
        assert_int_equal(json_array_size(opts), it->nopt);
        for (int d = 0; d < it->nopt; d++) {
            json_t *o = json_array_get(opts, (size_t)d);
            char label[2] = {(char)('A' + d), 0};
            assert_string_equal(json_string_value(json_object_get(o, "label")), label);
            /* the text shown at d is the original option order[d] */
            const char *t = json_string_value(json_object_get(o, "text"));
            assert_int_equal(strncmp(t, opt_texts[it->order[d]], strlen(opt_texts[it->order[d]])),
                             0);
        }
        json_t *g = json_object_get(q, "group");
        assert_true(qq->group == QB_NONE ? json_is_null(g) : json_is_string(g));
    }
    size_t gi;
    json_t *g;
    int grouped = 0;
    json_array_foreach(json_object_get(root, "groups"), gi, g)
    {
        const char *type = json_string_value(json_object_get(g, "type"));
        json_t *nos = json_object_get(g, "nos");
        assert_true(json_array_size(nos) >= 2);
        long first = json_integer_value(json_array_get(nos, 0));
        for (size_t k = 0; k < json_array_size(nos); k++) {
            long no = json_integer_value(json_array_get(nos, k));
            assert_int_equal(no, first + (long)k);
            json_t *q = json_array_get(qs, (size_t)no - 1);
            assert_string_equal(json_string_value(json_object_get(q, "group")),
                                json_string_value(json_object_get(g, "id")));
            if (!strcmp(type, "B1"))
                assert_true(
                    json_equal(json_object_get(q, "options"), json_object_get(g, "options")));
            grouped++;
        }
        if (!strcmp(type, "A3") || !strcmp(type, "A4"))
            assert_non_null(strstr(json_string_value(json_object_get(g, "case")), "病例"));
        else
            assert_null(json_object_get(g, "case"));
    }
    assert_true(grouped > 0);
    json_decref(root);

    /* one question alone is the same object as in the paper */
    struct evbuffer *one = evbuffer_new();
    assert_int_equal(qb_paper_question_json(idx, p, 3, one), 0);
    json_t *q3 = json_loadb((char *)evbuffer_pullup(one, -1), evbuffer_get_length(one), 0, &je);
    assert_non_null(q3);
    assert_int_equal(json_integer_value(json_object_get(q3, "no")), 3);
    json_decref(q3);
    assert_int_equal(qb_paper_question_json(idx, p, 0, one), DK_ENOTFOUND);
    evbuffer_free(one);
    evbuffer_free(b);
    qb_paper_free(p);
    qb_index_unref(idx);
}

/* ---- the holder: draws in flight keep their index across swaps ---------------------------- */

typedef struct drawer {
    qb_bank *bank;
    atomic_int *stop;
    long draws;
} drawer;

static void *draw_loop(void *arg)
{
    drawer *d = arg;
    for (uint64_t s = 0; !atomic_load(d->stop); s++) {
        qb_index *idx = qb_bank_current(d->bank);
        qb_paper *p;
        dk_error err;
        if (qb_draw(idx, LC, YW, s, &p, &err) == 0) {
            int score, total;
            qb_score(idx, p, NULL, &score, &total);
            qb_paper_free(p);
            d->draws++;
        }
        qb_index_unref(idx);
    }
    return NULL;
}

static void test_bank_swap(void **state)
{
    (void)state;
    qb_bank *bank = qb_bank_new(test_bank(1));
    qb_index *held = qb_bank_current(bank);
    assert_int_equal(qb_index_version(held), 1);
    atomic_int stop = 0;
    drawer d[2] = {{bank, &stop, 0}, {bank, &stop, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, draw_loop, &d[i]);
    for (uint64_t v = 2; v < 40; v++)
        qb_bank_swap(bank, test_bank(v));
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_true(d[0].draws + d[1].draws > 0);
    /* the index taken before the swaps is still whole */
    qb_paper *p;
    dk_error err;
    assert_int_equal(qb_draw(held, LC, YW, 1, &p, &err), 0);
    qb_paper_free(p);
    qb_index_unref(held);
    qb_index *cur = qb_bank_current(bank);
    assert_int_equal(qb_index_version(cur), 39);
    qb_index_unref(cur);
    qb_bank_free(bank);
}

static void test_demo_bank(void **state)
{
    (void)state;
    qb_bp_def bps[QB_NCATS * QB_NPAPERS];
    size_t nbp = qb_gen_demo_blueprints(bps, QB_NCATS * QB_NPAPERS);
    assert_int_equal(nbp, 8);
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    qb_gen_demo(f, 60, 3);
    fclose(f);
    size_t bad;
    qb_index *idx = qb_index_from_jsonl(buf, len, bps, nbp, 1, &bad);
    free(buf);
    assert_int_equal(bad, 0);
    int types_seen = 0;
    for (size_t i = 0; i < idx->nq; i++)
        types_seen |= 1 << idx->qs[i].type;
    assert_int_equal(types_seen, (1 << QB_NTYPES) - 1);
    for (size_t i = 0; i < nbp; i++) {
        const qb_blueprint *b = qb_blueprint_find(idx, qb_category_names[bps[i].category],
                                                  qb_paper_names[bps[i].paper]);
        assert_non_null(b);
        assert_true(b->satisfiable);
        assert_int_equal(b->question_count, 100);
        for (uint64_t s = 0; s < 50; s++) {
            qb_paper *p;
            dk_error err;
            assert_int_equal(qb_draw(idx, b->category, b->paper, s, &p, &err), 0);
            check_paper(idx, p, b);
            qb_paper_free(p);
        }
        qb_bp_clear(&bps[i]);
    }
    qb_index_unref(idx);
}

int main(void)
{
    dk_log_set_level(DK_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_paper),
        cmocka_unit_test(test_paper_structure),
        cmocka_unit_test(test_uniform_chi_square),
        cmocka_unit_test(test_option_shuffle),
        cmocka_unit_test(test_unsatisfiable),
        cmocka_unit_test(test_encode_decode),
        cmocka_unit_test(test_choices_and_score),
        cmocka_unit_test(test_client_json),
        cmocka_unit_test(test_retired),
        cmocka_unit_test(test_bank_swap),
        cmocka_unit_test(test_demo_bank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
