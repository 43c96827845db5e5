/* test_qb_shared_data.c - the validator against the real question files and the negative
 * file of ../shared/data/qbank (never copied into the repository): bad_lines.jsonl must
 * fail exactly as bad_lines.expected.tsv says, the four real files must pass as one bank,
 * and papers drawn from the real questions must be whole. Exits 77 when the data is absent
 * (QB_SHARED_DATA overrides the folder). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dk_log.h"
#include "qb_internal.h"

static const char *dir;

static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static qb_validator *validate(const char *buf, size_t len, long *lines)
{
    qb_validator *v = qb_validator_new();
    long n = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - buf) : len;
        qb_validator_line(v, ++n, buf + at, end - at);
        at = end + 1;
    }
    qb_validator_finish(v);
    *lines = n;
    return v;
}

static void test_bad_lines_as_expected(void **state)
{
    (void)state;
    size_t len, tlen;
    char *buf = slurp("bad_lines.jsonl", &len), *tsv = slurp("bad_lines.expected.tsv", &tlen);
    long lines;
    qb_validator *v = validate(buf, len, &lines);
    int checked = 0, mismatches = 0;
    for (char *row = strtok(tsv, "\n"); row; row = strtok(NULL, "\n")) {
        long line = atol(row);
        if (line <= 0) continue; /* the header */
        char want[64];
        if (sscanf(row, "%*d\t%63[^\t\n]", want) != 1) continue;
        char got[256] = "";
        for (size_t i = 0; i < qb_validator_nviolations(v); i++) {
            const qb_violation *x = qb_validator_violation(v, i);
            if (x->line != line) continue;
            if (got[0]) strcat(got, ",");
            strcat(got, x->reason);
        }
        if (strcmp(want, "ok") ? strcmp(got, want) : got[0] != '\0') {
            print_error("line %ld: expected %s, got %s\n", line, want, got[0] ? got : "ok");
            mismatches++;
        }
        checked++;
    }
    assert_int_equal(checked, lines);
    assert_int_equal(mismatches, 0);
    qb_validator_free(v);
    free(buf);
    free(tsv);
}

static const char *const real_files[] = {"TCMBench.jsonl", "CNMLEQA.jsonl", "MTCMB.jsonl",
                                         "PULSE-EVAL.jsonl"};

static char *all_real(size_t *len)
{
    char *all = NULL;
    size_t n = 0;
    for (size_t i = 0; i < 4; i++) {
        size_t l;
        char *b = slurp(real_files[i], &l);
        all = realloc(all, n + l + 1);
        memcpy(all + n, b, l);
        n += l;
        free(b);
    }
    *len = n;
    return all;
}

static void test_real_files_valid(void **state)
{
    (void)state;
    size_t len;
    char *all = all_real(&len);
    long lines;
    qb_validator *v = validate(all, len, &lines);
    for (size_t i = 0; i < qb_validator_nviolations(v) && i < 10; i++)
        print_error("line %ld: %s: %s\n", qb_validator_violation(v, i)->line,
                    qb_validator_violation(v, i)->reason, qb_validator_violation(v, i)->detail);
    assert_int_equal(qb_validator_nviolations(v), 0);
    assert_int_equal(lines, 13161);
    qb_validator_free(v);
    free(all);
}

static void test_draw_real_questions(void **state)
{
    (void)state;
    size_t len;
    char *all = all_real(&len);
    qb_bp_def bps[3] = {
        {.category = 1, .paper = 1, .question_count = 100, .duration_min = 60, .pass_mark = 60},
        {.category = 1, .paper = 0, .question_count = 100, .duration_min = 60, .pass_mark = 60},
        {.category = 2, .paper = 1, .question_count = 100, .duration_min = 60, .pass_mark = 60},
    };
    const char *zy[] = {"中医内科学", "方剂学", "中药学", "针灸学", "中医诊断学"};
    const int zyc[] = {30, 20, 20, 15, 15};
    for (int i = 0; i < 5; i++)
        bps[0].rows[bps[0].nrows++] = (qb_bp_row){strdup(zy[i]), 0, zyc[i]};
    bps[1].rows[bps[1].nrows++] = (qb_bp_row){strdup("卫生法规"), 0, 60};
    bps[1].rows[bps[1].nrows++] = (qb_bp_row){strdup("医学伦理学"), 0, 40};
    bps[2].rows[bps[2].nrows++] = (qb_bp_row){strdup("口腔内科学"), 0, 100};
    size_t bad;
    qb_index *idx = qb_index_from_jsonl(all, len, bps, 3, 1, &bad);
    free(all);
    assert_int_equal(bad, 0);
    assert_int_equal(qb_index_question_count(idx), 13161);
    for (int k = 0; k < 2; k++) {
        const qb_blueprint *b = qb_blueprint_find(idx, "中医", qb_paper_names[1 - k]);
        assert_true(b->satisfiable);
        for (uint64_t s = 0; s < 300; s++) {
            qb_paper *p;
            dk_error err;
            assert_int_equal(qb_draw(idx, "中医", b->paper, s, &p, &err), 0);
            assert_int_equal(qb_paper_count(p), 100);
            for (int i = 0; i < 100; i++) { /* groups whole: a member's neighbours */
                const qb_q *q = &idx->qs[p->items[i].q];
                if (q->group == QB_NONE) continue;
                const qb_g *g = &idx->groups[q->group];
                uint32_t m = p->items[i].q - g->first;
                if (m) assert_int_equal(p->items[i - 1].q, p->items[i].q - 1);
                if (m + 1 < g->size) assert_int_equal(p->items[i + 1].q, p->items[i].q + 1);
            }
            qb_paper_free(p);
        }
    }
    qb_paper *p = NULL;
    dk_error err;
    assert_int_equal(qb_draw(idx, "口腔", "业务水平", 1, &p, &err), DK_ECONFLICT);
    assert_non_null(strstr(err.msg, "the bank has 0"));
    for (int i = 0; i < 3; i++)
        qb_bp_clear(&bps[i]);
    qb_index_unref(idx);
}

int main(void)
{
    dk_log_set_level(DK_LOG_ERROR);
    dir = getenv("QB_SHARED_DATA");
    if (!dir || !*dir) dir = QB_SHARED_DIR;
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/bad_lines.expected.tsv", dir);
    if (access(probe, R_OK)) {
        fprintf(stderr, "SKIP: qb_shared_data: the question data is absent (%s)\n", probe);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_lines_as_expected),
        cmocka_unit_test(test_real_files_valid),
        cmocka_unit_test(test_draw_real_questions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
