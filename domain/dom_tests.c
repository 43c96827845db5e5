/* dom_tests.c - the tests of an enrolment: their state from MariaDB, the outcome, and the
 * pass certificate of an enrolment that ended 考核完成 合格. */
#include "dom_tests.h"

#include "dom_audit.h"
#include "dom_status.h"

#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

const char *const dom_papers[2] = {DOM_PAPER_PUBLIC, DOM_PAPER_PRACTICE};

int dom_paper_index(const char *paper)
{
    return paper && !strcmp(paper, dom_papers[1]);
}

int dom_paper_states(MYSQL *db, long long enrolment_id, const char *procedure,
                     dom_paper_state st[2], dk_error *err)
{
    memset(st, 0, 2 * sizeof *st);
    st[0].required = procedure && *procedure; /* 人文医学 for both procedures */
    st[1].required = procedure && !strcmp(procedure, DOM_PROC_GENERAL);
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(enrolment_id)};
    int rc = dk_mysql_exec(db,
                           "SELECT paper, required, exempted, IFNULL(result, ''), attempts "
                           "FROM enrolment_test WHERE enrolment_id = ?",
                           p, 1, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        dom_paper_state *s = &st[dom_paper_index(row[0])];
        s->required = atoi(row[1]);
        s->exempted = atoi(row[2]);
        snprintf(s->result, sizeof s->result, "%s", row[3]);
        s->attempts = atoi(row[4]);
    }
    mysql_free_result(res);
    rc = dk_mysql_exec(
        db, "SELECT paper FROM exemption_request WHERE enrolment_id = ? AND status = '通过'", p, 1,
        &res, NULL, err);
    if (rc) return rc;
    while ((row = mysql_fetch_row(res)))
        st[dom_paper_index(row[0])].exempted = 1;
    mysql_free_result(res);
    return 0;
}

void dom_tests_outcome(const dom_paper_state st[2], const char *from, const char *makeup_decision,
                       const char **to, const char **result)
{
    int makeup = !strcmp(from, DOM_ST_TO_MAKEUP);
    for (int i = 0; i < 2; i++)
        if (st[i].attempts >= 2) makeup = 1;
    int pending = 0, failed = 0;
    for (int i = 0; i < 2; i++) {
        if (!st[i].required || st[i].exempted) continue;
        if (!st[i].result[0])
            pending = 1;
        else if (strcmp(st[i].result, DOM_RESULT_PASS) != 0) {
            failed = 1;
            if (makeup && st[i].attempts < 2) pending = 1; /* its makeup is still to come */
        }
    }
    *result = NULL;
    if (pending)
        *to = !strcmp(from, DOM_ST_TO_TEST) || !strcmp(from, DOM_ST_TO_MAKEUP) ? from
              : makeup                                                         ? DOM_ST_TO_MAKEUP
                                                                               : DOM_ST_TO_TEST;
    else if (!failed)
        *to = DOM_ST_DONE, *result = DOM_RESULT_PASS;
    else if (makeup || (makeup_decision && !strcmp(makeup_decision, "不予补考")))
        *to = DOM_ST_DONE, *result = DOM_RESULT_FAIL;
    else
        *to = DOM_ST_MAKEUP_CONFIRM;
}

void dom_cert_new_code(char out[DOM_CERT_CODE_LEN + 1])
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford base32 */
    unsigned char r[DOM_CERT_CODE_LEN];
    randombytes_buf(r, sizeof r);
    for (size_t i = 0; i < DOM_CERT_CODE_LEN; i++)
        out[i] = alphabet[r[i] & 31];
    out[DOM_CERT_CODE_LEN] = '\0';
}

int dom_cert_verify_code(MYSQL *db, long long enrolment_id, char out[DOM_CERT_CODE_LEN + 1],
                         dk_error *err)
{
    dk_param p[] = {DK_PINT(enrolment_id)};
    int rc = dk_mysql_str(db, "SELECT IFNULL(verify_code, '') FROM certificate WHERE enrolment_id = ?",
                          p, 1, out, DOM_CERT_CODE_LEN + 1, err);
    if (rc || out[0]) return rc;
    char code[DOM_CERT_CODE_LEN + 1];
    dom_cert_new_code(code);
    dk_param u[] = {DK_PSTR(code), DK_PINT(enrolment_id)};
    if ((rc = dk_mysql_exec(db,
                            "UPDATE certificate SET verify_code = ? WHERE enrolment_id = ? AND "
                            "verify_code IS NULL",
                            u, 2, NULL, NULL, err)))
        return rc;
    /* another thread may have set one first: read what is there */
    return dk_mysql_str(db, "SELECT verify_code FROM certificate WHERE enrolment_id = ?", p, 1, out,
                        DOM_CERT_CODE_LEN + 1, err);
}

int dom_enrol_issue_certificate(MYSQL *db, long long enrolment_id, int *issued, dk_error *err)
{
    *issued = 0;
    MYSQL_RES *res;
    dk_param p[] = {DK_PINT(enrolment_id)};
    /* a plain read: no locks on the cycle, institution and authority rows */
    int rc = dk_mysql_exec(db,
                           "SELECT au.code, c.code, i.authority_id FROM enrolment e "
                           "JOIN cycle c ON c.id = e.cycle_id JOIN institution i ON "
                           "i.id = e.institution_id JOIN authority au ON au.id = i.authority_id "
                           "WHERE e.id = ? AND e.status = '" DOM_ST_DONE
                           "' AND e.result = '" DOM_RESULT_PASS "'",
                           p, 1, &res, NULL, err);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    char no[96];
    long long authority = 0;
    if (row) { /* the number as deploy/schema/003_certificates.sql makes it: keep them alike */
        snprintf(no, sizeof no, "%s-%s-%08lld", row[0], row[1], enrolment_id);
        authority = strtoll(row[2], NULL, 10);
    }
    mysql_free_result(res);
    if (!row) return 0;
    uint64_t n = 0;
    char code[DOM_CERT_CODE_LEN + 1];
    dom_cert_new_code(code);
    dk_param ins[] = {DK_PINT(enrolment_id), DK_PSTR(no), DK_PINT(authority), DK_PSTR(code)};
    if ((rc = dk_mysql_exec(db,
                            "INSERT IGNORE INTO certificate (enrolment_id, cert_no, authority_id, "
                            "verify_code) VALUES (?, ?, ?, ?)",
                            ins, 4, NULL, &n, err)) ||
        !n)
        return rc;
    *issued = 1;
    json_t *detail = json_pack("{s:s}", "cert_no", no);
    dom_audit_row r = {.action = "issue_certificate",
                       .entity_type = "enrolment",
                       .entity_id = enrolment_id,
                       .detail = detail};
    rc = dom_audit(db, &r, err);
    json_decref(detail);
    return rc;
}
