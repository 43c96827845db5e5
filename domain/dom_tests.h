/* dom_tests.h - the rules of an enrolment's tests, shared by examd (a sitting is scored)
 * and admind (认定作弊 / 撤销认定, a missed test, the reviews): which papers are required,
 * exempted and passed, where the results put the enrolment (DESIGN §1.1), and the pass
 * certificate issued when it ends 考核完成 合格. One copy, so the two servers cannot drift
 * apart. dom_paper_states and dom_enrol_issue_certificate block (database threads only). */
#ifndef DOM_TESTS_H
#define DOM_TESTS_H

#include "dk_mysql.h"

/* [0] 公共知识 (the 人文医学 test), [1] 业务水平 */
extern const char *const dom_papers[2];

typedef struct dom_paper_state {
    int required, exempted, attempts;
    char result[16]; /* "", 合格, 不合格 */
} dom_paper_state;

/* Index of a paper name in dom_papers (anything but 业务水平 is 0). */
int dom_paper_index(const char *paper);

/* The procedure decides what is required (一般程序: both; 简易程序: 公共知识); enrolment_test
 * rows override it and carry results; an approved exemption (or enrolment_test.exempted)
 * drops a paper. */
int dom_paper_states(MYSQL *db, long long enrolment_id, const char *procedure,
                    dom_paper_state st[2], dk_error *err);

/* Where the results put an enrolment now in status from. While a required paper has no
 * result (or a failed one still has its makeup to come) it stays in its test status
 * (待参加考核 / 待参加补考, or the one the attempts imply); all passed: 考核完成 合格; a failure
 * after the makeup, or with makeup_decision 不予补考: 考核完成 不合格; a first failure:
 * 待确认补考. *result is NULL unless the enrolment is complete. */
void dom_tests_outcome(const dom_paper_state st[2], const char *from, const char *makeup_decision,
                      const char **to, const char **result);

/* Issues the 定期考核合格证书 of an enrolment that is 考核完成 合格 and has none yet, in the
 * caller's transaction: call it where that status is written (examd's scoring, admind's
 * workflow), with the enrolment row locked. Number <authority code>-<cycle code>-<enrolment
 * id, 8 digits> (deploy/schema/003_certificates.sql issues the same for enrolments that
 * passed before), 发证机关 the institution's authority, and an audit_log row (system,
 * issue_certificate, the number in detail). A certificate already issued is kept (a
 * 撤销认定 that restores the pass shows the same number). *issued: 1 if made now. */
int dom_enrol_issue_certificate(MYSQL *db, long long enrolment_id, int *issued, dk_error *err);

/* The public verification code of a certificate (deploy/schema/013_certificate_verify.sql):
 * DOM_CERT_CODE_LEN characters of Crockford's base32 from libsodium (100 bits), made when the
 * certificate is issued. dom_cert_verify_code reads the code of an enrolment's certificate,
 * giving one first to a certificate issued before 013 (DK_ENOTFOUND: no certificate). */
#define DOM_CERT_CODE_LEN 20
void dom_cert_new_code(char out[DOM_CERT_CODE_LEN + 1]);
int dom_cert_verify_code(MYSQL *db, long long enrolment_id, char out[DOM_CERT_CODE_LEN + 1],
                         dk_error *err);

#endif
