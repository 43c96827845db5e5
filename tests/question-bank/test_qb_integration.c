/* test_qb_integration.c - the bank against the stack's MariaDB: import in one transaction
 * (version bumped), refusal of ids and questions already in the bank, --skip-bad with whole
 * groups, reload into an index, draw, a second reload drawing the same paper, and the
 * blueprint round trip. Every test imports its own ids (a prefix unique to the run) and
 * deletes them at the end, so runs and other tests sharing the database do not collide.
 * Exits 77 when MariaDB is not reachable (DK_MYSQL_PORT etc. from the environment). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "dk_config.h"
#include "dk_log.h"
#include "dk_mysql.h"
#include "qb_internal.h"

static dk_config *cfg;
static MYSQL *db;
static char run_tag[24]; /* "IT" + 8 hex digits */

/* ---- helpers --------------------------------------------------------------------------------- */

static uint64_t bank_version(void)
{
    MYSQL_RES *res;
    dk_error err;
    assert_int_equal(dk_mysql_exec(db, "SELECT version FROM qb_bank_version WHERE id = 1", NULL, 0,
                                   &res, NULL, &err),
                     0);
    MYSQL_ROW row = mysql_fetch_row(res);
    uint64_t v = row && row[0] ? strtoull(row[0], NULL, 10) : 0;
    mysql_free_result(res);
    return v;
}

static long count_prefix(const char *prefix)
{
    char like[64];
    snprintf(like, sizeof like, "%s-%%", prefix);
    dk_param p[] = {DK_PSTR(like)};
    MYSQL_RES *res;
    dk_error err;
    assert_int_equal(dk_mysql_exec(db, "SELECT COUNT(*) FROM qb_question WHERE id LIKE ?", p, 1,
                                   &res, NULL, &err),
                     0);
    MYSQL_ROW row = mysql_fetch_row(res);
    long n = atol(row[0]);
    mysql_free_result(res);
    return n;
}

static void delete_prefix(const char *prefix)
{
    char like[64];
    snprintf(like, sizeof like, "%s-%%", prefix);
    dk_param p[] = {DK_PSTR(like)};
    dk_error err;
    dk_mysql_exec(db, "DELETE FROM qb_question WHERE id LIKE ?", p, 1, NULL, NULL, &err);
    dk_mysql_exec(db, "DELETE FROM qb_group WHERE id LIKE ?", p, 1, NULL, NULL, &err);
    qb_bank_version_bump(db, &err);
}

/* Writes a bank of 口腔 业务水平 questions in section "<prefix>口腔内科": singles A1, two
 * A3 groups of 3 and two B1 groups of 2. Returns the number of lines. */
static int write_bank(const char *path, const char *prefix, int nsingles)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    int n = 0;
    const char *head = "\"category\":\"口腔\",\"paper\":\"业务水平\"";
    for (int i = 0; i < nsingles; i++, n++)
        fprintf(f,
                "{\"id\":\"%s-Q%04d\",%s,\"section\":\"%s口腔内科\",\"type\":\"A1\",\"stem\":\"%s "
                "题%d\",\"options\":{\"A\":\"甲%d\",\"B\":\"乙%d\",\"C\":\"丙%d\",\"D\":\"丁%d\"},"
                "\"answer\":\"B\",\"difficulty\":2}\n",
                prefix, i, head, prefix, prefix, i, i, i, i, i);
    for (int g = 0; g < 2; g++)
        for (int m = 0; m < 3; m++, n++)
            fprintf(f,
                    "{\"id\":\"%s-A%d%d\",%s,\"section\":\"%s口腔内科\",\"type\":\"A3\",\"group\":"
                    "\"%s-GA%d\",\"case\":\"%s 病例%d：患者，男，40岁。\",\"stem\":\"问%d\","
                    "\"options\":{\"A\":\"一\",\"B\":\"二\",\"C\":\"三\",\"D\":\"四\",\"E\":"
                    "\"五\"},\"answer\":\"%c\"}\n",
                    prefix, g, m, head, prefix, prefix, g, prefix, g, m, 'A' + m);
    for (int g = 0; g < 2; g++)
        for (int m = 0; m < 2; m++, n++)
            fprintf(f,
                    "{\"id\":\"%s-B%d%d\",%s,\"section\":\"%s口腔内科\",\"type\":\"B1\",\"group\":"
                    "\"%s-GB%d\",\"stem\":\"%s 配伍%d-%d\",\"options\":{\"A\":\"龋病%d\",\"B\":"
                    "\"牙髓炎\",\"C\":\"牙周炎\",\"D\":\"冠周炎\",\"E\":\"根尖周炎\"},\"answer\":"
                    "\"%c\"}\n",
                    prefix, g, m, head, prefix, prefix, g, prefix, g, m, g, 'C' + m);
    fclose(f);
    return n;
}

static qb_index *load_with_blueprint(const char *prefix, int count)
{
    qb_bp_def bp = {.category = 2,
                    .paper = 1,
                    .question_count = count,
                    .duration_min = 60,
                    .pass_mark = count * 6 / 10,
                    .nrows = 1};
    char section[64];
    snprintf(section, sizeof section, "%s口腔内科", prefix);
    bp.rows[0] = (qb_bp_row){dk_strdup(section), 0, count};
    qb_index *idx;
    dk_error err = {0};
    int rc = qb_index_load_with(db, &bp, 1, &idx, &err);
    qb_bp_clear(&bp);
    if (rc) fail_msg("load: %s", err.msg);
    return idx;
}

static char *read_all(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *s = calloc(1, (size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    return s;
}

static void prefix_of(char *out, size_t n, const char *what)
{
    snprintf(out, n, "%s%s", run_tag, what);
}

/* ---- tests -------------------------------------------------------------------------------------
 */

static void test_import_reload_draw(void **state)
{
    (void)state;
    char prefix[32], path[128];
    prefix_of(prefix, sizeof prefix, "a");
    snprintf(path, sizeof path, "/tmp/%s.jsonl", prefix);
    int lines = write_bank(path, prefix, 26);
    uint64_t v0 = bank_version();
    long imported, bad, existing;
    dk_error err = {0};
    FILE *report = tmpfile();
    int rc = qb_import_file(db, path, 0, report, &imported, &bad, &existing, &err);
    if (rc) fail_msg("import: %s", err.msg);
    assert_int_equal(imported, lines);
    assert_int_equal(bad, 0);
    assert_int_equal(count_prefix(prefix), lines);
    assert_true(bank_version() > v0);
    fclose(report);

    qb_index *idx = load_with_blueprint(prefix, 20);
    assert_int_equal(qb_index_version(idx), bank_version());
    const qb_blueprint *b = qb_blueprint_find(idx, "口腔", "业务水平");
    assert_true(b->satisfiable);
    qb_paper *first = NULL;
    for (uint64_t s = 1; s <= 50; s++) {
        qb_paper *p;
        assert_int_equal(qb_draw(idx, "口腔", "业务水平", s, &p, &err), 0);
        assert_int_equal(qb_paper_count(p), 20);
        for (int no = 1; no <= 20; no++)
            assert_int_equal(strncmp(qb_paper_question_id(idx, p, no), prefix, strlen(prefix)), 0);
        /* answering with the keys scores every point */
        const char *choices[20];
        char right[20][QB_CHOICE_MAX];
        for (int i = 0; i < 20; i++) {
            const qb_item *it = &p->items[i];
            int k = 0;
            for (int d = 0; d < it->nopt; d++)
                if (idx->qs[it->q].key & (1u << it->order[d])) right[i][k++] = (char)('A' + d);
            right[i][k] = '\0';
            choices[i] = right[i];
        }
        int score, total;
        assert_int_equal(qb_score(idx, p, choices, &score, &total), 0);
        assert_int_equal(score, 20);
        if (s == 1)
            first = p;
        else
            qb_paper_free(p);
    }
    /* the client sees the case of an A3 group from the database */
    struct evbuffer *eb = evbuffer_new();
    qb_paper *big;
    qb_index *all = load_with_blueprint(prefix, lines);
    assert_int_equal(qb_draw(all, "口腔", "业务水平", 3, &big, &err), 0);
    assert_int_equal(qb_paper_client_json(all, big, eb), 0);
    char needle[64];
    snprintf(needle, sizeof needle, "%s 病例1", prefix);
    assert_non_null(
        memmem(evbuffer_pullup(eb, -1), evbuffer_get_length(eb), needle, strlen(needle)));
    assert_null(memmem(evbuffer_pullup(eb, -1), evbuffer_get_length(eb), "\"answer\"", 8));
    evbuffer_free(eb);
    qb_paper_free(big);
    qb_index_unref(all);

    /* a reload swaps in a new index; draws on the old one go on, and the new one redraws
     * the same paper (the pool is this run's section only) and decodes the old one's */
    qb_bank *bank = qb_bank_new(qb_index_ref(idx));
    qb_bank_swap(bank, load_with_blueprint(prefix, 20));
    qb_index *cur = qb_bank_current(bank);
    assert_ptr_not_equal(cur, idx);
    char *e0 = qb_paper_encode(idx, first, NULL);
    assert_non_null(e0);
    qb_paper *again, *decoded;
    assert_int_equal(qb_draw(cur, "口腔", "业务水平", 1, &again, &err), 0);
    char *e1 = qb_paper_encode(cur, again, NULL);
    assert_string_equal(e0, e1);
    assert_int_equal(qb_paper_decode(cur, e0, strlen(e0), &decoded, &err), 0);
    char *e2 = qb_paper_encode(cur, decoded, NULL);
    assert_string_equal(e0, e2);
    free(e0);
    free(e1);
    free(e2);
    qb_paper_free(first);
    qb_paper_free(again);
    qb_paper_free(decoded);
    qb_index_unref(idx);
    qb_index_unref(cur);
    qb_bank_free(bank);

    /* the bank's own blueprints load too */
    qb_index *plain;
    assert_int_equal(qb_index_load(db, &plain, &err), 0);
    assert_true(qb_index_question_count(plain) >= (size_t)lines);
    qb_index_unref(plain);
    delete_prefix(prefix);
    assert_int_equal(count_prefix(prefix), 0);
    unlink(path);
}

static void test_reimport_refused(void **state)
{
    (void)state;
    char prefix[32], path[128];
    prefix_of(prefix, sizeof prefix, "b");
    snprintf(path, sizeof path, "/tmp/%s.jsonl", prefix);
    int lines = write_bank(path, prefix, 4);
    long imported, bad, existing;
    dk_error err = {0};
    FILE *report = tmpfile();
    assert_int_equal(qb_import_file(db, path, 0, report, &imported, &bad, &existing, &err), 0);
    uint64_t v1 = bank_version();
    FILE *report2 = tmpfile();
    assert_int_equal(qb_import_file(db, path, 0, report2, &imported, &bad, &existing, &err),
                     DK_EINVAL);
    assert_int_equal(imported, 0);
    assert_int_equal(bad, lines);
    char *text = read_all(report2);
    char want[512];
    snprintf(want, sizeof want, "%s:1: duplicate-id: %s-Q0000 is already in the bank", path,
             prefix);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "%s:5: duplicate-id: group %s-GA0 is already in the bank", path,
             prefix);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "duplicate-question: same as"));
    assert_int_equal(bank_version(), v1); /* nothing written */
    assert_int_equal(count_prefix(prefix), lines);
    /* --ignore-existing: the lines already there are left out, not errors */
    FILE *report3 = tmpfile();
    assert_int_equal(qb_import_file(db, path, QB_IMPORT_IGNORE_EXISTING, report3, &imported, &bad,
                                    &existing, &err),
                     0);
    assert_int_equal(imported, 0);
    assert_int_equal(bad, 0);
    assert_int_equal(existing, lines);
    assert_int_equal(bank_version(), v1);
    fclose(report3);
    free(text);
    fclose(report);
    fclose(report2);
    delete_prefix(prefix);
    unlink(path);
}

static void test_skip_bad(void **state)
{
    (void)state;
    char prefix[32], path[128];
    prefix_of(prefix, sizeof prefix, "c");
    snprintf(path, sizeof path, "/tmp/%s.jsonl", prefix);
    FILE *f = fopen(path, "w");
    const char *head = "\"category\":\"口腔\",\"paper\":\"业务水平\",\"section\":\"口腔修复学\"";
    for (int i = 0; i < 5; i++)
        fprintf(f,
                "{\"id\":\"%s-Q%d\",%s,\"type\":\"A1\",\"stem\":\"%s 好题%d\",\"options\":"
                "{\"A\":\"a\",\"B\":\"b\"},\"answer\":\"A\"}\n",
                prefix, i, head, prefix, i);
    fprintf(
        f,
        "{\"id\":\"%s-BAD\",\"category\":\"西医\",\"paper\":\"业务水平\",\"section\":\"x\","
        "\"type\":\"A1\",\"stem\":\"s\",\"options\":{\"A\":\"a\",\"B\":\"b\"},\"answer\":\"A\"}\n",
        prefix);
    for (int m = 0; m < 2; m++)
        fprintf(f,
                "{\"id\":\"%s-G%d\",%s,\"type\":\"A3\",\"group\":\"%s-G\",\"case\":\"%s 病例%d\","
                "\"stem\":\"%s 问%d\",\"options\":{\"A\":\"a\",\"B\":\"b\"},\"answer\":\"A\"}\n",
                prefix, m, head, prefix, prefix, m, prefix, m);
    fclose(f);
    long imported, bad, existing;
    dk_error err = {0};
    FILE *report = tmpfile();
    assert_int_equal(
        qb_import_file(db, path, QB_IMPORT_SKIP_BAD, report, &imported, &bad, &existing, &err), 0);
    assert_int_equal(imported, 5);
    assert_int_equal(bad, 2); /* the unknown category and the case that differs */
    char *text = read_all(report);
    assert_non_null(strstr(text, ":6: unknown-category"));
    assert_non_null(strstr(text, ":8: case-mismatch"));
    assert_non_null(strstr(text, ":7: skipped: group"));
    assert_int_equal(count_prefix(prefix), 5);
    free(text);
    fclose(report);
    delete_prefix(prefix);
    unlink(path);
}

static void test_blueprint_round_trip(void **state)
{
    (void)state;
    qb_bp_def *before;
    size_t n;
    dk_error err = {0};
    assert_int_equal(qb_blueprint_load_all(db, &before, &n, &err), 0);
    char path[128];
    snprintf(path, sizeof path, "/tmp/%sbp.json", run_tag);
    /* a bad file changes nothing */
    FILE *f = fopen(path, "w");
    fprintf(f,
            "{\"blueprints\":[{\"category\":\"口腔\",\"paper\":\"业务水平\",\"question_count\""
            ":100,\"duration_min\":60,\"pass_mark\":60,\"sections\":[{\"section\":\"口腔内科学\","
            "\"count\":99}]}]}");
    fclose(f);
    int stored;
    assert_int_equal(qb_blueprint_store_file(db, path, &stored, &err), DK_EINVAL);
    assert_non_null(strstr(err.msg, "add up to 99"));
    /* storing what is there (or, on an empty bank, the demo blueprints) reads back equal */
    json_t *list = json_array();
    qb_bp_def demo[QB_NCATS * QB_NPAPERS];
    size_t ndemo = 0;
    if (!n) ndemo = qb_gen_demo_blueprints(demo, QB_NCATS * QB_NPAPERS);
    const qb_bp_def *src = n ? before : demo;
    size_t nsrc = n ? n : ndemo;
    for (size_t i = 0; i < nsrc; i++)
        json_array_append_new(list, json_pack("{s:s,s:s,s:i,s:i,s:i,s:o}", "category",
                                              qb_category_names[src[i].category], "paper",
                                              qb_paper_names[src[i].paper], "question_count",
                                              src[i].question_count, "duration_min",
                                              src[i].duration_min, "pass_mark", src[i].pass_mark,
                                              "sections", qb_bp_sections_json(&src[i])));
    json_dump_file(list, path, 0);
    json_decref(list);
    uint64_t v0 = bank_version();
    assert_int_equal(qb_blueprint_store_file(db, path, &stored, &err), 0);
    assert_int_equal(stored, (int)nsrc);
    assert_true(bank_version() > v0);
    qb_bp_def *after;
    size_t n2;
    assert_int_equal(qb_blueprint_load_all(db, &after, &n2, &err), 0);
    assert_true(n2 >= nsrc);
    for (size_t i = 0; i < nsrc; i++) {
        const qb_bp_def *a = NULL;
        for (size_t j = 0; j < n2; j++)
            if (after[j].category == src[i].category && after[j].paper == src[i].paper)
                a = &after[j];
        assert_non_null(a);
        assert_int_equal(a->question_count, src[i].question_count);
        assert_int_equal(a->nrows, src[i].nrows);
        for (size_t r = 0; r < a->nrows; r++) {
            assert_string_equal(a->rows[r].section, src[i].rows[r].section);
            assert_int_equal(a->rows[r].types, src[i].rows[r].types);
            assert_int_equal(a->rows[r].count, src[i].rows[r].count);
        }
    }
    for (size_t i = 0; i < n; i++)
        qb_bp_clear(&before[i]);
    for (size_t i = 0; i < n2; i++)
        qb_bp_clear(&after[i]);
    for (size_t i = 0; i < ndemo; i++)
        qb_bp_clear(&demo[i]);
    free(before);
    free(after);
    unlink(path);
}

int main(void)
{
    dk_log_set_level(DK_LOG_WARN);
    dk_error err = {0};
    if (dk_config_load(&cfg, NULL, &err)) {
        fprintf(stderr, "config: %s\n", err.msg);
        return 1;
    }
    db = dk_mysql_connect(cfg, &err);
    if (!db) {
        fprintf(stderr,
                "SKIP: qb_integration: MariaDB is not reachable (%s); start the stack with "
                "deploy/stack.sh up\n",
                err.msg);
        dk_config_free(cfg);
        return 77;
    }
    MYSQL_RES *res;
    if (dk_mysql_exec(db, "SELECT 1 FROM qb_question LIMIT 1", NULL, 0, &res, NULL, &err)) {
        fprintf(stderr, "SKIP: qb_integration: no question tables (%s); run the migrations\n",
                err.msg);
        dk_mysql_close(db);
        dk_config_free(cfg);
        return 77;
    }
    mysql_free_result(res);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(
        run_tag, sizeof run_tag, "IT%08x",
        (unsigned)((uint64_t)getpid() * 2654435761u ^ (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_reload_draw),
        cmocka_unit_test(test_reimport_refused),
        cmocka_unit_test(test_skip_bad),
        cmocka_unit_test(test_blueprint_round_trip),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    dk_mysql_close(db);
    dk_config_free(cfg);
    return rc;
}
