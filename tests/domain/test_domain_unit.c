/* test_domain_unit.c - unit tests of domain/ that need no stack: every row of the
 * transition table allowed and refused by role, scope, status and version
 * (dom_flow_decide, the check dom_flow_run makes before any effect), and the rule of
 * an enrolment's tests (dom_tests_outcome). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dom_flow.h"
#include "dom_tests.h"

static const unsigned all_roles[] = {DOM_R_PHYS, DOM_R_INST, DOM_R_ASSESSOR, DOM_R_AUTH,
                                     DOM_R_PROVINCE};

/* every status any entity can be in, and some it cannot */
static const char *const statuses[] = {"",
                                       DOM_ST_TO_REGISTER,
                                       DOM_ST_INST_REJECTED,
                                       DOM_ST_INST_REVIEW,
                                       DOM_ST_INST_REVIEW_AGAIN,
                                       DOM_ST_ASSESSOR_REVIEW,
                                       DOM_ST_TO_TEST,
                                       DOM_ST_MAKEUP_CONFIRM,
                                       DOM_ST_TO_MAKEUP,
                                       DOM_ST_DONE,
                                       DOM_ST_WITHDRAWN,
                                       "驳回",
                                       "通过",
                                       "无",
                                       "疑似",
                                       "已认定",
                                       "已撤销",
                                       "待审核",
                                       "不存在的状态"};

/* The roles of every row of (e, action) together, and whether any row starts in from. */
static unsigned action_roles(dom_entity e, const char *action, int internal, const char *from,
                             int *starts, int *any)
{
    unsigned roles = 0;
    *starts = *any = 0;
    for (size_t i = 0; i < dom_flow_nrows(); i++) {
        dom_entity re;
        const char *ra, *rf;
        unsigned rr;
        int ri, rv;
        dom_flow_row_info(dom_flow_row_at(i), &re, &ra, &rf, &rr, &ri, &rv);
        if (re != e || strcmp(ra, action) || (ri && !internal)) continue;
        *any = 1;
        roles |= rr;
        if (from && !strcmp(rf, from)) *starts = 1;
    }
    return roles;
}

static int decide(dom_entity e, const char *action, unsigned roles, int in_scope,
                  const char *status, long long client_version, long long version, int internal,
                  const dom_flow_row **row)
{
    dom_flow_query q = {.entity = e,
                        .action = action,
                        .roles = roles,
                        .in_scope = in_scope,
                        .status = status,
                        .client_version = client_version,
                        .version = version,
                        .internal = internal};
    dk_error err = {0};
    int rc = dom_flow_decide(&q, row, &err);
    if (rc) assert_true(err.msg[0] != '\0'); /* every refusal says why */
    return rc;
}

static void test_every_row(void **st)
{
    (void)st;
    size_t n = dom_flow_nrows(), checked = 0;
    assert_true(n >= 40);
    for (size_t i = 0; i < n; i++) {
        const dom_flow_row *r = dom_flow_row_at(i), *got;
        dom_entity e;
        const char *action, *from;
        unsigned roles;
        int internal, versioned, starts, any;
        dom_flow_row_info(r, &e, &action, &from, &roles, &internal, &versioned);
        unsigned union_roles = action_roles(e, action, 1, NULL, &starts, &any);

        /* allowed: each of its roles, in scope, in its status, with the right version */
        for (size_t k = 0; k < sizeof all_roles / sizeof all_roles[0]; k++) {
            unsigned role = all_roles[k];
            if (!(roles & role)) continue;
            assert_int_equal(decide(e, action, role, 1, from, 7, 7, internal, &got), 0);
            dom_entity ge;
            const char *ga, *gf;
            unsigned gr;
            int gi, gv;
            dom_flow_row_info(got, &ge, &ga, &gf, &gr, &gi, &gv);
            assert_int_equal(ge, e);
            assert_string_equal(ga, action);
            assert_string_equal(gf, from);
            /* refused: out of the actor's scope */
            assert_int_equal(decide(e, action, role, 0, from, 7, 7, internal, &got), DK_EFORBIDDEN);
            assert_null(got);
            /* the version: wrong or missing refused where the row wants it, else ignored */
            assert_int_equal(decide(e, action, role, 1, from, 6, 7, internal, &got),
                             versioned ? DK_ECONFLICT : 0);
            assert_int_equal(decide(e, action, role, 1, from, -1, 7, internal, &got),
                             versioned ? DK_EINVAL : 0);
            /* refused: every status no row of this action starts from */
            for (size_t s = 0; s < sizeof statuses / sizeof statuses[0]; s++) {
                int ok;
                unsigned rr = action_roles(e, action, internal, statuses[s], &ok, &any);
                (void)rr;
                if (ok) continue;
                assert_int_equal(decide(e, action, role, 1, statuses[s], 7, 7, internal, &got),
                                 DK_ECONFLICT);
                checked++;
            }
            /* an internal row is not reachable from the actions endpoints */
            if (internal) {
                int pub_any;
                action_roles(e, action, 0, NULL, &starts, &pub_any);
                assert_int_equal(decide(e, action, role, 1, from, 7, 7, 0, &got),
                                 pub_any ? DK_ECONFLICT : DK_ENOTFOUND);
            }
            checked++;
        }
        /* refused: every role that no row of this action has */
        for (size_t k = 0; k < sizeof all_roles / sizeof all_roles[0]; k++) {
            unsigned role = all_roles[k];
            if (union_roles & role) continue;
            assert_int_equal(decide(e, action, role, 1, from, 7, 7, 1, &got), DK_EFORBIDDEN);
            checked++;
        }
        /* the system (examd's scoring, the sweeps) runs internal rows without role or scope,
         * and never skips the status */
        if (internal) {
            assert_int_equal(decide(e, action, 0, 0, from, -1, 7, 1, &got), 0);
            assert_int_equal(decide(e, action, 0, 0, "不存在的状态", -1, 7, 1, &got), DK_ECONFLICT);
        }
    }
    /* the rows of examd's scoring are the system's alone */
    const dom_flow_row *got;
    assert_int_equal(
        decide(DOM_E_ENROLMENT, "test_scored", DOM_R_PHYS, 1, DOM_ST_TO_TEST, 0, 0, 1, &got),
        DK_EFORBIDDEN);
    assert_int_equal(decide(DOM_E_ENROLMENT, "test_scored", 0, 1, DOM_ST_TO_TEST, -1, 0, 1, &got),
                     0);
    assert_int_equal(
        decide(DOM_E_ENROLMENT, "test_scored", 0, 1, DOM_ST_INST_REVIEW, -1, 0, 1, &got),
        DK_ECONFLICT);
    /* an action nobody has */
    assert_int_equal(decide(DOM_E_ENROLMENT, "no_such", DOM_R_INST, 1, "", 0, 0, 1, &got),
                     DK_ENOTFOUND);
    print_message("%zu rows, %zu decisions checked\n", n, checked);
}

/* the table as the console reads it leaves the internal rows out */
static void test_table_json(void **st)
{
    (void)st;
    json_t *t = dom_flow_table_json();
    size_t pub = 0;
    for (size_t i = 0; i < dom_flow_nrows(); i++) {
        dom_entity e;
        const char *a, *f;
        unsigned r;
        int in, v;
        dom_flow_row_info(dom_flow_row_at(i), &e, &a, &f, &r, &in, &v);
        pub += !in;
    }
    assert_int_equal(json_array_size(t), pub);
    json_decref(t);
}

static void outcome(const char *r0, int a0, const char *r1, int a1, int req1, const char *from,
                    const char *decision, const char *want_to, const char *want_result)
{
    dom_paper_state st[2] = {{.required = 1, .attempts = a0}, {.required = req1, .attempts = a1}};
    snprintf(st[0].result, sizeof st[0].result, "%s", r0);
    snprintf(st[1].result, sizeof st[1].result, "%s", r1);
    const char *to, *result;
    dom_tests_outcome(st, from, decision, &to, &result);
    assert_string_equal(to, want_to);
    if (want_result)
        assert_string_equal(result, want_result);
    else
        assert_null(result);
}

static void test_tests_outcome(void **st)
{
    (void)st;
    /* general procedure, first sitting */
    outcome(DOM_RESULT_PASS, 1, "", 0, 1, "待参加考核", NULL, "待参加考核",
            NULL); /* one still to sit */
    outcome(DOM_RESULT_PASS, 1, DOM_RESULT_PASS, 1, 1, "待参加考核", NULL, "考核完成",
            DOM_RESULT_PASS);
    outcome(DOM_RESULT_FAIL, 1, "", 0, 1, "待参加考核", NULL, "待参加考核", NULL);
    outcome(DOM_RESULT_FAIL, 1, DOM_RESULT_PASS, 1, 1, "待参加考核", NULL, "待确认补考", NULL);
    outcome(DOM_RESULT_FAIL, 1, DOM_RESULT_PASS, 1, 1, "待确认补考", "不予补考", "考核完成",
            DOM_RESULT_FAIL);
    /* simple procedure: 业务水平 not required */
    outcome(DOM_RESULT_PASS, 1, "", 0, 0, "待参加考核", NULL, "考核完成", DOM_RESULT_PASS);
    /* makeup */
    outcome(DOM_RESULT_PASS, 2, DOM_RESULT_PASS, 1, 1, "待参加补考", NULL, "考核完成",
            DOM_RESULT_PASS);
    outcome(DOM_RESULT_FAIL, 2, DOM_RESULT_PASS, 1, 1, "待参加补考", NULL, "考核完成",
            DOM_RESULT_FAIL);
    outcome(DOM_RESULT_FAIL, 2, DOM_RESULT_FAIL, 1, 1, "待参加补考", NULL, "待参加补考", NULL);
    /* exempted papers do not count */
    dom_paper_state ex[2] = {{.required = 1, .exempted = 1}, {.required = 1, .attempts = 1}};
    snprintf(ex[1].result, sizeof ex[1].result, DOM_RESULT_PASS);
    const char *to, *result;
    dom_tests_outcome(ex, "待参加考核", NULL, &to, &result);
    assert_string_equal(to, "考核完成");
    assert_int_equal(dom_paper_index("业务水平"), 1);
    assert_int_equal(dom_paper_index("公共知识"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_row),
        cmocka_unit_test(test_table_json),
        cmocka_unit_test(test_tests_outcome),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
