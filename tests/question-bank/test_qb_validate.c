/* test_qb_validate.c - the import validator: every rule of the import format, one line at a
 * time and across lines (ids, groups, repeated questions), and the records it keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qb_internal.h"

#define BASE_FIELDS "\"category\":\"临床\",\"paper\":\"业务水平\",\"section\":\"内科学\""
#define OPTS5 "{\"A\":\"甲\",\"B\":\"乙\",\"C\":\"丙\",\"D\":\"丁\",\"E\":\"戊\"}"
#define A1(id, stem)                                                                               \
    "{\"id\":\"" id "\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"" stem "\",\"options\":" OPTS5  \
    ",\"answer\":\"C\"}"

/* Validates the lines (separated by \n) and returns the reasons of line `line`, joined by
 * ',' ("" when the line is valid). */
static const char *reasons(const char *text, long line)
{
    static char out[512];
    qb_validator *v = qb_validator_new();
    long n = 0;
    const char *p = text;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        qb_validator_line(v, ++n, p, len);
        if (!nl) break;
        p = nl + 1;
    }
    qb_validator_finish(v);
    out[0] = '\0';
    for (size_t i = 0; i < qb_validator_nviolations(v); i++) {
        const qb_violation *x = qb_validator_violation(v, i);
        if (x->line != line) continue;
        if (out[0]) strcat(out, ",");
        strcat(out, x->reason);
    }
    assert_int_equal(qb_validator_bad(v, line), out[0] != '\0');
    qb_validator_free(v);
    return out;
}

static void test_valid_line_and_record(void **state)
{
    (void)state;
    const char *line = "{\"id\":\"Q-1_a\"," BASE_FIELDS ",\"type\":\"X\",\"stem\":\"下列正确的有\","
                       "\"options\":" OPTS5 ",\"answer\":\"ACD\",\"explanation\":\"因为\"}";
    qb_validator *v = qb_validator_new();
    qb_validator_line(v, 1, line, strlen(line));
    qb_validator_finish(v);
    assert_int_equal(qb_validator_nviolations(v), 0);
    assert_int_equal(qb_validator_nrecs(v), 1);
    qb_rec *r = qb_validator_rec(v, 0);
    assert_string_equal(r->id, "Q-1_a");
    assert_int_equal(r->category, 0);
    assert_int_equal(r->paper, 1);
    assert_int_equal(r->type, QB_X);
    assert_int_equal(r->nopt, 5);
    assert_string_equal(r->opt[4], "戊");
    assert_int_equal(r->key, (1 << 0) | (1 << 2) | (1 << 3));
    assert_int_equal(r->difficulty, 3);
    assert_string_equal(r->explanation, "因为");
    qb_validator_free(v);
}

typedef struct line_case {
    const char *line;
    const char *want;
} line_case;

static void test_single_line_rules(void **state)
{
    (void)state;
    char long_stem[4002 * 3 + 512], ok_stem[4000 * 3 + 512], tmp[4001 * 3 + 1];
    tmp[0] = '\0';
    for (int i = 0; i < 4001; i++)
        strcat(tmp, "字");
    snprintf(long_stem, sizeof long_stem, A1("LONG", "%s"), tmp);
    tmp[4000 * 3] = '\0';
    snprintf(ok_stem, sizeof ok_stem, A1("OKLEN", "%s"), tmp);
    const line_case cases[] = {
        {A1("Q1", "下列哪项正确"), ""},
        {"", "empty-line"},
        {" \t", "empty-line"},
        {"{\"id\":\"Q1\",\"stem\":\"\xff\xfe\"}", "invalid-utf8"},
        {"{\"id\":\"Q1\",\"stem\":\"\xed\xa0\x80\"}", "invalid-utf8"}, /* a surrogate */
        {"{\"id\":\"Q1\",", "invalid-json"},
        {A1("Q1", "x") " trailing", "invalid-json"},
        {"{\"id\":\"Q1\",\"id\":\"Q2\"}", "duplicate-key"},
        {"[1,2]", "not-object"},
        {"\"text\"", "not-object"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5 "}",
         "missing-field"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"C\",\"score\":1}",
         "unknown-field"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":5,\"options\":" OPTS5
         ",\"answer\":\"C\"}",
         "wrong-type"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"C\",\"explanation\":null}",
         "wrong-type"},
        {A1("a b", "s"), "bad-id"},
        {A1("-a", "s"), "bad-id"},
        {A1("Q0123456789012345678901234567890123", "s"), "bad-id"}, /* over the bank's 32 */
        {"{\"id\":\"Q1\",\"category\":\"西医\",\"paper\":\"业务水平\",\"section\":\"内科学\","
         "\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5 ",\"answer\":\"C\"}",
         "unknown-category"},
        {"{\"id\":\"Q1\",\"category\":\"临床\",\"paper\":\"综合\",\"section\":\"内科学\","
         "\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5 ",\"answer\":\"C\"}",
         "unknown-paper"},
        {"{\"id\":\"Q1\",\"category\":\"临床\",\"paper\":\"业务水平\",\"section\":\" \","
         "\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5 ",\"answer\":\"C\"}",
         "bad-section"},
        {"{\"id\":\"Q1\",\"category\":\"临床\",\"paper\":\"业务水平\",\"section\":\"卫生法规\","
         "\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5 ",\"answer\":\"C\"}",
         "paper-section-mismatch"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A5\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"C\"}",
         "unknown-type"},
        {A1("Q1", "   "), "empty-stem"},
        {A1("Q1", "\u3000\\n"), "empty-stem"},
        {long_stem, "stem-too-long"},
        {ok_stem, ""},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"C\",\"explanation\":\" \"}",
         "empty-explanation"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":[\"a\",\"b\"],"
         "\"answer\":\"A\"}",
         "bad-options"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":{\"A\":\"a\","
         "\"B\":2},\"answer\":\"A\"}",
         "bad-options"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":{\"A\":\"a\"},"
         "\"answer\":\"A\"}",
         "too-few-options"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":{\"A\":\"1\","
         "\"B\":\"2\",\"C\":\"3\",\"D\":\"4\",\"E\":\"5\",\"F\":\"6\",\"G\":\"7\",\"H\":\"8\","
         "\"I\":\"9\",\"J\":\"10\",\"K\":\"11\"},\"answer\":\"A\"}",
         "too-many-options"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":{\"A\":\"a\","
         "\"B\":\"b\",\"D\":\"d\",\"E\":\"e\"},\"answer\":\"A\"}",
         "bad-option-letters"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":{\"A\":\"a\","
         "\"B\":\" \"},\"answer\":\"A\"}",
         "empty-option"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":{\"A\":\"同\","
         "\"B\":\" 同 \"},\"answer\":\"A\"}",
         "duplicate-option-text"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"c\"}",
         "bad-answer-format"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"X\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"CA\"}",
         "bad-answer-format"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"\"}",
         "bad-answer-format"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"F\"}",
         "answer-not-in-options"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A2\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"AC\"}",
         "multiple-answers"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"X\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"C\"}",
         ""},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"C\",\"difficulty\":6}",
         "bad-difficulty"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"C\",\"difficulty\":\"3\"}",
         "bad-difficulty"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"C\",\"difficulty\":true}",
         "bad-difficulty"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"C\",\"difficulty\":2.0}",
         "bad-difficulty"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"C\",\"difficulty\":1}",
         ""},
        {A1("Q1", "如图所示，箭头所指的是"), "image-reference"},
        {A1("Q1", "见 scan.PNG"), "image-reference"},
        {A1("Q1", "<img src=x>"), "image-reference"},
        {A1("Q1", "文件 a.pngx 不是图片"), ""},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"B1\",\"stem\":\"s\",\"options\":" OPTS5
         ",\"answer\":\"C\"}",
         "missing-group"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"group\":\"G1\",\"stem\":\"s\","
         "\"options\":" OPTS5 ",\"answer\":\"C\"}",
         "unexpected-group"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"case\":\"c\",\"stem\":\"s\","
         "\"options\":" OPTS5 ",\"answer\":\"C\"}",
         "unexpected-case"},
        {"{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"X\",\"stem\":\"s\",\"options\":{\"A\":\"1\","
         "\"B\":\"2\",\"C\":\"3\",\"D\":\"4\",\"E\":\"5\",\"F\":\"6\",\"G\":\"7\",\"H\":\"8\"},"
         "\"answer\":\"ABCDEFGH\"}",
         "bad-answer-format"}, /* more letters than a choice can hold */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = reasons(cases[i].line, 1);
        if (strcmp(got, cases[i].want))
            fail_msg("case %zu: want '%s', got '%s' for %.120s", i, cases[i].want, got,
                     cases[i].line);
    }
}

#define GROUP_LINE(id, type, gid, extra, stem, opts)                                               \
    "{\"id\":\"" id "\"," BASE_FIELDS ",\"type\":\"" type "\",\"group\":\"" gid "\"" extra         \
    ",\"stem\":\"" stem "\",\"options\":" opts ",\"answer\":\"A\"}"
#define OPTS5B "{\"A\":\"甲\",\"B\":\"乙\",\"C\":\"丙\",\"D\":\"丁\",\"E\":\"己\"}"

static void test_cross_line_rules(void **state)
{
    (void)state;
    const char *g_ok =
        GROUP_LINE("Q1", "A3", "G1", ",\"case\":\"病例\"", "问一",
                   OPTS5) "\n" GROUP_LINE("Q2", "A3", "G1", ",\"case\":\"病例\"", "问二", OPTS5);
    assert_string_equal(reasons(g_ok, 1), "");
    assert_string_equal(reasons(g_ok, 2), "");

    const char *dup = A1("Q1", "一") "\n" A1("Q1", "二");
    assert_string_equal(reasons(dup, 1), "");
    assert_string_equal(reasons(dup, 2), "duplicate-id");

    const char *miss = GROUP_LINE("Q1", "A3", "G1", ",\"case\":\"病例\"", "一",
                                  OPTS5) "\n" GROUP_LINE("Q2", "A3", "G1", "", "二", OPTS5);
    assert_string_equal(reasons(miss, 2), "missing-case");

    const char *empty_case =
        GROUP_LINE("Q1", "A4", "G1", ",\"case\":\" \"", "一",
                   OPTS5) "\n" GROUP_LINE("Q2", "A4", "G1", ",\"case\":\" \"", "二", OPTS5);
    assert_string_equal(reasons(empty_case, 1), "empty-case");

    const char *b1_case = GROUP_LINE("Q1", "B1", "G1", "", "一", OPTS5) "\n" GROUP_LINE(
        "Q2", "B1", "G1", ",\"case\":\"c\"", "二", OPTS5);
    assert_string_equal(reasons(b1_case, 2), "unexpected-case");

    assert_string_equal(reasons(GROUP_LINE("Q1", "B1", "G1", "", "一", OPTS5), 1),
                        "singleton-group");

    const char *tmis = GROUP_LINE("Q1", "A3", "G1", ",\"case\":\"c\"", "一", OPTS5) "\n" GROUP_LINE(
        "Q2", "A4", "G1", ",\"case\":\"c\"", "二", OPTS5);
    assert_string_equal(reasons(tmis, 2), "group-type-mismatch");

    const char *gmis = GROUP_LINE(
        "Q1", "B1", "G1", "", "一",
        OPTS5) "\n"
               "{\"id\":\"Q2\",\"category\":\"中医\",\"paper\":\"业务水平\",\"section\":\"内科学\","
               "\"type\":\"B1\",\"group\":\"G1\",\"stem\":\"二\",\"options\":" OPTS5
               ",\"answer\":\"A\"}";
    assert_string_equal(reasons(gmis, 2), "group-mismatch");

    const char *cmis =
        GROUP_LINE("Q1", "A3", "G1", ",\"case\":\"20年\"", "一",
                   OPTS5) "\n" GROUP_LINE("Q2", "A3", "G1", ",\"case\":\"10年\"", "二", OPTS5);
    assert_string_equal(reasons(cmis, 2), "case-mismatch");

    const char *omis = GROUP_LINE("Q1", "B1", "G1", "", "一",
                                  OPTS5) "\n" GROUP_LINE("Q2", "B1", "G1", "", "二", OPTS5B);
    assert_string_equal(reasons(omis, 2), "options-mismatch");

    /* the same question: full-width punctuation, spaces, case and option order differ */
    const char *same =
        "{\"id\":\"Q1\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"下列哪项, 正确? ABC\","
        "\"options\":{\"A\":\"甲\",\"B\":\"乙\"},\"answer\":\"A\"}\n"
        "{\"id\":\"Q2\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"下列哪项，正确？abc\","
        "\"options\":{\"A\":\"乙\",\"B\":\"甲。\"},\"answer\":\"B\"}\n"
        "{\"id\":\"Q3\",\"category\":\"中医\",\"paper\":\"业务水平\",\"section\":\"内科学\","
        "\"type\":\"A1\",\"stem\":\"下列哪项，正确？abc\",\"options\":{\"A\":\"乙\",\"B\":\"甲\"},"
        "\"answer\":\"B\"}\n"
        "{\"id\":\"Q4\"," BASE_FIELDS ",\"type\":\"A1\",\"stem\":\"下列哪项，正确？abd\","
        "\"options\":{\"A\":\"乙\",\"B\":\"甲\"},\"answer\":\"B\"}";
    assert_string_equal(reasons(same, 2), "duplicate-question");
    assert_string_equal(reasons(same, 3), ""); /* another category */
    assert_string_equal(reasons(same, 4), "");
}

static void test_known_bank_content(void **state)
{
    (void)state;
    const char *line = A1("NEW1", "下列哪项正确");
    qb_validator *v = qb_validator_new();
    qb_validator_line(v, 1, line, strlen(line));
    qb_validator_finish(v);
    uint64_t h = qb_rec_content_hash(qb_validator_rec(v, 0));
    qb_validator_free(v);

    v = qb_validator_new();
    qb_validator_known_content(v, h, "OLD1");
    qb_validator_line(v, 1, line, strlen(line));
    qb_validator_finish(v);
    assert_int_equal(qb_validator_nviolations(v), 1);
    assert_string_equal(qb_validator_violation(v, 0)->reason, "duplicate-question");
    assert_non_null(strstr(qb_validator_violation(v, 0)->detail, "OLD1"));
    qb_validator_report(v, 1, "duplicate-id", "NEW1 is already in the bank");
    assert_int_equal(qb_validator_nviolations(v), 2);
    qb_validator_free(v);
}

static void test_group_positions(void **state)
{
    (void)state;
    const char *text =
        GROUP_LINE("Q1", "B1", "G1", "", "一", OPTS5) "\n" A1("Q9", "独立") "\n" GROUP_LINE(
            "Q2", "B1", "G1", "", "二", OPTS5) "\n" GROUP_LINE("Q3", "B1", "G1", "", "三", OPTS5);
    qb_validator *v = qb_validator_new();
    long n = 0;
    for (const char *p = text;;) {
        const char *nl = strchr(p, '\n');
        qb_validator_line(v, ++n, p, nl ? (size_t)(nl - p) : strlen(p));
        if (!nl) break;
        p = nl + 1;
    }
    qb_validator_finish(v);
    assert_int_equal(qb_validator_nviolations(v), 0);
    assert_int_equal(qb_validator_rec(v, 0)->group_pos, 1);
    assert_int_equal(qb_validator_rec(v, 1)->group_pos, 0);
    assert_int_equal(qb_validator_rec(v, 2)->group_pos, 2);
    assert_int_equal(qb_validator_rec(v, 3)->group_pos, 3);
    qb_validator_free(v);
}

static void test_text_helpers(void **state)
{
    (void)state;
    assert_true(qb_utf8_valid("中文abc", strlen("中文abc")));
    assert_false(qb_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(qb_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    assert_false(qb_utf8_valid("\xe4\xb8", 2));         /* cut off */
    assert_int_equal(qb_utf8_chars("中文ab"), 4);
    assert_true(qb_is_blank(" \t\u3000"));
    assert_false(qb_is_blank(" a "));
    const char *b;
    size_t n;
    qb_strip("\u3000 同 \n", &b, &n);
    assert_int_equal(n, strlen("同"));
    assert_int_equal(qb_hash_norm(1, "Ａｂｃ，１２"), qb_hash_norm(1, "abc12"));
    assert_int_not_equal(qb_hash_norm(1, "abc"), qb_hash_norm(1, "abd"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_line_and_record), cmocka_unit_test(test_single_line_rules),
        cmocka_unit_test(test_cross_line_rules),      cmocka_unit_test(test_known_bank_content),
        cmocka_unit_test(test_group_positions),       cmocka_unit_test(test_text_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
