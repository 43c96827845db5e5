/* test_admin_unit.c - admind's pure parts: ID numbers (check digit, 15 <-> 18 forms,
 * birth date and sex), the import CSV reader and the export writer, time input with
 * zones, text limits in characters, and the workflow table (every status of DESIGN.md §1.1
 * reachable and every non-final one with a way out). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin_internal.h"

static void test_id_numbers(void **state)
{
    (void)state;
    assert_true(admin_id_valid("11010519491231002X"));  /* GB 11643 example */
    assert_false(admin_id_valid("110105194912310021")); /* wrong check digit */
    assert_false(admin_id_valid("11010519491331002X")); /* month 13 */
    assert_true(admin_id_valid("110105491231002"));     /* 15 digits */
    assert_false(admin_id_valid("11010549123100"));
    assert_false(admin_id_valid("1101051949123100x2"));
    char other[20];
    admin_id_other_form("110105491231002", other);
    assert_string_equal(other, "11010519491231002X");
    admin_id_other_form("11010519491231002X", other);
    assert_string_equal(other, "110105491231002");
    admin_id_other_form("110105200001010017", other); /* born in 2000: no 15-digit form */
    assert_string_equal(other, "");
    char birth[11];
    assert_int_equal(admin_id_birth("11010519491231002X", birth), 0);
    assert_string_equal(birth, "1949-12-31");
    assert_int_equal(admin_id_birth("110105491231002", birth), 0);
    assert_string_equal(birth, "1949-12-31");
    assert_string_equal(admin_id_sex("11010519491231002X"), "女");
    assert_string_equal(admin_id_sex("110105491231001"), "男");
}

static void test_csv_read(void **state)
{
    (void)state;
    const char in[] = "\xEF\xBB\xBF姓名,证件号码\r\n\"张,三\",\"a\"\"b\"\n\nx\"y,z\nlast,row";
    size_t pos = 0, len = strlen(in);
    char *f[8];
    assert_int_equal(admin_csv_record(in, len, &pos, f, 8), 2);
    assert_string_equal(f[0], "姓名");
    admin_csv_free_fields(f, 2);
    assert_int_equal(admin_csv_record(in, len, &pos, f, 8), 2);
    assert_string_equal(f[0], "张,三");
    assert_string_equal(f[1], "a\"b");
    admin_csv_free_fields(f, 2);
    assert_int_equal(admin_csv_record(in, len, &pos, f, 8), 1); /* empty line */
    assert_string_equal(f[0], "");
    admin_csv_free_fields(f, 1);
    assert_int_equal(admin_csv_record(in, len, &pos, f, 8), -2); /* quote inside a field */
    assert_int_equal(admin_csv_record(in, len, &pos, f, 8), 2);  /* and the next record */
    assert_string_equal(f[1], "row");
    admin_csv_free_fields(f, 2);
    assert_int_equal(admin_csv_record(in, len, &pos, f, 8), -1);
    const char many[] = "a,b,c\n";
    pos = 0;
    assert_int_equal(admin_csv_record(many, strlen(many), &pos, f, 2), -2);
    const char open[] = "\"never closed";
    pos = 0;
    assert_int_equal(admin_csv_record(open, strlen(open), &pos, f, 2), -2);
}

static void test_csv_write(void **state)
{
    (void)state;
    struct evbuffer *b = evbuffer_new();
    admin_csv_field(b, "plain", 0);
    admin_csv_field(b, "a,\"b\"", 0);
    admin_csv_field(b, "=SUM(A1)", 0);
    admin_csv_field(b, NULL, 1);
    size_t n = evbuffer_get_length(b);
    char *s = calloc(1, n + 1);
    evbuffer_remove(b, s, n);
    assert_string_equal(s, "plain,\"a,\"\"b\"\"\",\"'=SUM(A1)\",\r\n");
    free(s);
    /* a leading TAB or CR, and the full-width ＝＋－＠ that spreadsheets also read as a
     * formula start, are guarded too; the same characters inside a field are not */
    admin_csv_field(b, "\t=1+1", 0);
    admin_csv_field(b, "\r=1", 0);
    admin_csv_field(b, "＝1+1", 0);
    admin_csv_field(b, "＋1", 0);
    admin_csv_field(b, "－1", 0);
    admin_csv_field(b, "＠A1", 0);
    admin_csv_field(b, "张＝三", 1);
    n = evbuffer_get_length(b);
    s = calloc(1, n + 1);
    evbuffer_remove(b, s, n);
    assert_string_equal(s,
                        "\"'\t=1+1\",\"'\r=1\",\"'＝1+1\",\"'＋1\",\"'－1\",\"'＠A1\",张＝三\r\n");
    free(s);
    evbuffer_free(b);
}

static void test_times(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(admin_parse_time("2024-05-10T08:00:00+08:00", out), 0);
    assert_string_equal(out, "2024-05-10 00:00:00.000");
    assert_int_equal(admin_parse_time("2024-05-10T00:00:00.5Z", out), 0);
    assert_string_equal(out, "2024-05-10 00:00:00.500");
    assert_int_equal(admin_parse_time("2024-01-01T01:00:00-02:30", out), 0);
    assert_string_equal(out, "2024-01-01 03:30:00.000");
    assert_int_equal(admin_parse_time("2024-05-10T00:00:00", out), DK_EINVAL); /* no zone */
    assert_int_equal(admin_parse_time("2024-02-30T00:00:00Z", out), DK_EINVAL);
    assert_int_equal(admin_parse_date("2024-02-29"), 0);
    assert_int_equal(admin_parse_date("2023-02-29"), DK_EINVAL);
    assert_int_equal(admin_parse_date("2023-2-28"), DK_EINVAL);
}

static const char *const statuses[] = {"待报名",
                                       "待报名（被机构驳回）",
                                       "待医疗卫生机构审核",
                                       "待医疗卫生机构审核（被考核机构驳回）",
                                       "待考核机构复核",
                                       "待参加考核",
                                       "待确认补考",
                                       "待参加补考",
                                       "考核完成",
                                       "退出本周期",
                                       NULL};

static int known(const char *s)
{
    if (!*s || !strcmp(s, "(测评结果)")) return 1;
    for (const char *const *p = statuses; *p; p++)
        if (!strcmp(*p, s)) return 1;
    return 0;
}

static void test_text_limits(void **state)
{
    (void)state;
    /* characters, as VARCHAR(n) of utf8mb4 and the pages count them: 心 is 3 bytes, 𠀀 4 */
    assert_int_equal(dk_utf8_chars("", 0), 0);
    assert_int_equal(dk_utf8_chars("abc", 3), 3);
    assert_int_equal(dk_utf8_chars("心血管内科", strlen("心血管内科")), 5);
    assert_int_equal(dk_utf8_chars("a\U00020000b", 6), 3);
    char buf[4 * 65 + 1] = "";
    for (int i = 0; i < 64; i++)
        strcat(buf, "心");
    dk_error e = {0};
    assert_int_equal(dk_text_max(&e, "从事专业", buf, 64), 0); /* 192 bytes, 64 characters */
    assert_int_equal(dk_text_max(&e, "从事专业", NULL, 64), 0);
    strcat(buf, "心");
    assert_int_equal(dk_text_max(&e, "从事专业", buf, 64), DK_EINVAL);
    assert_string_equal(e.msg, "从事专业不能超过 64 字（现有 65 字）");
}

static void test_workflow_table(void **state)
{
    (void)state;
    json_t *t = dom_flow_table_json();
    size_t i;
    json_t *r;
    int reach[16] = {0}, out[16] = {0};
    json_array_foreach(t, i, r)
    {
        assert_true(json_string_length(json_object_get(r, "label")) > 0);
        assert_true(json_array_size(json_object_get(r, "roles")) > 0);
        if (strcmp(json_string_value(json_object_get(r, "entity")), "enrolment")) continue;
        const char *from = json_string_value(json_object_get(r, "from"));
        const char *to = json_string_value(json_object_get(r, "to"));
        assert_true(known(from));
        assert_true(known(to));
        for (int k = 0; statuses[k]; k++) {
            if (!strcmp(statuses[k], to)) reach[k] = 1;
            if (!strcmp(statuses[k], from)) out[k] = 1;
        }
    }
    /* 待确认补考 is reached through examd's test results (and the internal tests row) */
    for (int k = 0; statuses[k]; k++) {
        if (strcmp(statuses[k], "待确认补考")) assert_true(reach[k]);
        int final = !strcmp(statuses[k], "考核完成") || !strcmp(statuses[k], "退出本周期");
        int tests = !strcmp(statuses[k], "待参加考核") || !strcmp(statuses[k], "待参加补考");
        if (!final && !tests) assert_true(out[k]);
    }
    json_decref(t);
}

/* CME: the Wednesday/Friday batch day, moved by holidays (kinds: 1 节假日, 2 调休工作日) */
static long rel(const char *decided, const char *first, const unsigned char *kinds, long n)
{
    return admin_cme_release_day(admin_cme_day(decided), admin_cme_day(first), kinds, n);
}

static void test_cme_batches(void **state)
{
    (void)state;
    char out[11];
    /* 2024-10-01 was a Tuesday, the first day of 国庆 */
    assert_int_equal(admin_cme_day("1970-01-01"), 0);
    admin_cme_ymd(admin_cme_day("2024-02-29"), out);
    assert_string_equal(out, "2024-02-29");
    unsigned char none[1] = {0};
    assert_int_equal(rel("2024-10-01", "2024-10-01", none, 0), admin_cme_day("2024-10-02"));
    assert_int_equal(rel("2024-10-02", "2024-10-01", none, 0), admin_cme_day("2024-10-02"));
    assert_int_equal(rel("2024-10-03", "2024-10-01", none, 0), admin_cme_day("2024-10-04"));
    assert_int_equal(rel("2024-10-05", "2024-10-01", none, 0), admin_cme_day("2024-10-09"));
    /* 10-01..10-07 holidays, 10-12 (Saturday) a 调休工作日: Wednesday 10-02 and Friday 10-04
     * move to Tuesday 10-08 */
    unsigned char k[14] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 0, 0};
    assert_int_equal(rel("2024-09-30", "2024-10-01", k, 14), admin_cme_day("2024-10-08"));
    assert_int_equal(rel("2024-10-03", "2024-10-01", k, 14), admin_cme_day("2024-10-08"));
    assert_int_equal(rel("2024-10-09", "2024-10-01", k, 14), admin_cme_day("2024-10-09"));
    /* Friday 10-11 is ordinary; a holiday on it would move it to the 调休 Saturday */
    k[10] = 1;
    assert_int_equal(rel("2024-10-10", "2024-10-01", k, 14), admin_cme_day("2024-10-12"));
}

static void test_cme_cards(void **state)
{
    (void)state;
    char c[24];
    assert_int_equal(admin_cme_card_norm("  3400001234567890\r\n", c), 0);
    assert_string_equal(c, "3400001234567890");
    assert_int_equal(admin_cme_card_norm("ab12cd", c), 0);
    assert_string_equal(c, "AB12CD");
    assert_int_equal(admin_cme_card_norm("12345", c), DK_EINVAL);
    assert_int_equal(admin_cme_card_norm("123456789012345678901", c), DK_EINVAL);
    assert_int_equal(admin_cme_card_norm("1234-5678", c), DK_EINVAL);
    assert_int_equal(admin_cme_card_norm("卡123456", c), DK_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_numbers),     cmocka_unit_test(test_csv_read),
        cmocka_unit_test(test_csv_write),      cmocka_unit_test(test_times),
        cmocka_unit_test(test_workflow_table), cmocka_unit_test(test_text_limits),
        cmocka_unit_test(test_cme_batches),    cmocka_unit_test(test_cme_cards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
