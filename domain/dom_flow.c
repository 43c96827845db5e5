/* dom_flow.c - the workflow: ONE table of every status change (enrolment DESIGN.md §1.1,
 * exemption request, invigilation mark, assessor application), whoever makes it: admind's
 * reviews and decisions, examd's scoring of a paper (test_scored), the institution's
 * release of a physician who leaves (release), the absentee sweep. Each row carries its
 * effect as a function.
 *
 * dom_flow_run_locked locks the entity, then checks in this order: the role (403), the
 * scope of the actor (403), the current status (409, saying which statuses allow the
 * action), the cycle and its time window (409), the optimistic lock version (409),
 * the required fields (400) and the row's preconditions (409); picks the first row
 * whose branch condition holds, applies its effect (the status written with
 * lock_version bumped), writes the audit log (actor, role, time, from, to, reason).
 * The role, scope, status and version part is dom_flow_decide, pure and unit-tested. */
#include "dom_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_json.h"
#include "dom_account.h"
#include "dom_audit.h"
#include "dom_tests.h"

/* ---- the table ------------------------------------------------------------------------ */

enum {
    W_NONE,
    W_CONFIRM,
    W_REGISTRATION,
    W_INST_REVIEW,
    W_ASSESSOR_REVIEW,
    W_WITHDRAW,
    W_ASSESSOR_APPLY
};

/* preconditions: 409 (or 403) when they do not hold */
#define P_VERSION 0x0001        /* body.version must equal the entity's lock_version */
#define P_CYCLE_OPEN 0x0002     /* the cycle's status is open */
#define P_NOT_SUBMITTED 0x0004  /* the physician never submitted (取消参加) */
#define P_NO_EXEMPT_INST 0x0008 /* no exemption waiting for the institution */
#define P_NO_EXEMPT_ASSR 0x0010 /* no exemption waiting for the 考核机构 */
#define P_HAS_ASSESSOR 0x0020   /* a 考核机构 is assigned for the institution and cycle */
#define P_NO_SESSIONS 0x0040    /* no test sat yet */
#define P_EXEMPT_MATCH 0x0080   /* a pending/approved exemption fits the procedure */
#define P_ENROL_EDITABLE 0x0100 /* the enrolment is 待报名 or 被机构驳回 */
#define P_PROCEDURE 0x0200      /* a procedure is chosen */
#define P_SESSION_DONE 0x0400   /* the session has a result */
#define P_CAN_APPLY 0x0800      /* 申请权限 opened by the authority */
#define P_NOT_ASSESSOR 0x1000   /* not yet a 考核机构 */
#define P_PHYS_ACTIVE 0x2000    /* physician 在岗, not deleted */
#define P_INTERNAL 0x4000       /* not reachable from the actions endpoints */
#define P_NOT_DEFERRED 0x40000  /* not deferred to the next cycle (DOM_DEFERRED_SQL) */
/* branch conditions: among rows of one (action, from), the first that holds wins */
#define B_EVAL_FAILED 0x10000 /* an institution evaluation is 不合格 */
#define B_NO_TESTS 0x20000    /* every test is exempted */

#define P_QUIET_SAME 0x8000 /* no write and no audit row when the status stays */
#define E_EN DOM_E_ENROLMENT
#define E_EX DOM_E_EXEMPTION
#define E_IV DOM_E_INVIGILATION
#define E_AP DOM_E_APPLICATION
#define RP DOM_R_PHYS
#define RI DOM_R_INST
#define RS DOM_R_ASSESSOR
#define RA DOM_R_AUTH
#define RV DOM_R_PROVINCE

#define NOT_IN_CYCLE "" /* from/to: no enrolment (or no pending request) */
#define BY_TESTS "*"    /* to: computed from the test results */

typedef struct flow_ctx flow_ctx;

/* the effects, one per kind of row (below) */
static int eff_confirm(flow_ctx *c), eff_cancel(flow_ctx *c), eff_submit(flow_ctx *c),
    eff_inst_reject(flow_ctx *c), eff_inst_pass(flow_ctx *c), eff_assessor_review(flow_ctx *c),
    eff_authority_reject(flow_ctx *c), eff_makeup(flow_ctx *c), eff_withdraw(flow_ctx *c),
    eff_tests(flow_ctx *c), eff_test_scored(flow_ctx *c), eff_ex_request(flow_ctx *c),
    eff_ex_decide(flow_ctx *c), eff_iv_mark(flow_ctx *c), eff_iv_unmark(flow_ctx *c),
    eff_iv_decide(flow_ctx *c), eff_ap_apply(flow_ctx *c), eff_ap_decide(flow_ctx *c);

struct dom_flow_row {
    dom_entity entity;
    const char *action;
    const char *from;
    unsigned roles;
    const char *to;
    /* required: "@col" is a stored column of the entity, "x" a body field; "/程序"
     * makes it required only for that procedure */
    const char *required;
    int window;
    unsigned flags;
    const char *label;
    int (*effect)(flow_ctx *c); /* what the row does: writes the entity, sets c->to */
};
typedef struct dom_flow_row flow_row;

#define SUBMIT_REQ                                                                                 \
    "@procedure_type,@department_id,@photo_path,@sa_work_text,@sa_ethics_text,"                    \
    "@sa_patient_visits/一般程序,@sa_simple_condition/简易程序"
#define INST_EVAL_REQ "work_result,ethics_result,quantity_result/一般程序"
#define REVIEW (P_VERSION | P_CYCLE_OPEN)

static const flow_row flow[] = {
    /* entity, action, from, roles, to, required, window, flags, label */
    /* -- enrolment: participation (参加 / 取消参加) -- */
    {E_EN, "confirm", NOT_IN_CYCLE, RI, DOM_ST_TO_REGISTER, "", W_CONFIRM,
     P_CYCLE_OPEN | P_PHYS_ACTIVE | P_NOT_DEFERRED, "确认参加", eff_confirm},
    {E_EN, "cancel", DOM_ST_TO_REGISTER, RI, NOT_IN_CYCLE, "", W_NONE, P_NOT_SUBMITTED, "取消参加",
     eff_cancel},
    /* -- the physician submits registration + procedure + self-assessment -- */
    {E_EN, "submit", DOM_ST_TO_REGISTER, RP, DOM_ST_INST_REVIEW, SUBMIT_REQ, W_REGISTRATION,
     P_CYCLE_OPEN | P_EXEMPT_MATCH, "提交报名", eff_submit},
    {E_EN, "submit", DOM_ST_INST_REJECTED, RP, DOM_ST_INST_REVIEW, SUBMIT_REQ, W_REGISTRATION,
     P_CYCLE_OPEN | P_EXEMPT_MATCH, "重新提交报名", eff_submit},
    /* -- the institution reviews: 驳回 to the physician, or 提交 to the 考核机构 -- */
    {E_EN, "inst_reject", DOM_ST_INST_REVIEW, RI, DOM_ST_INST_REJECTED, "reason", W_INST_REVIEW,
     REVIEW, "机构驳回", eff_inst_reject},
    {E_EN, "inst_reject", DOM_ST_INST_REVIEW_AGAIN, RI, DOM_ST_INST_REJECTED, "reason",
     W_INST_REVIEW, REVIEW, "机构驳回至医师", eff_inst_reject},
    {E_EN, "inst_pass", DOM_ST_INST_REVIEW, RI, DOM_ST_ASSESSOR_REVIEW, INST_EVAL_REQ,
     W_INST_REVIEW, REVIEW | P_NO_EXEMPT_INST | P_HAS_ASSESSOR, "机构审核通过（提交考核机构）",
     eff_inst_pass},
    {E_EN, "inst_pass", DOM_ST_INST_REVIEW_AGAIN, RI, DOM_ST_ASSESSOR_REVIEW, INST_EVAL_REQ,
     W_INST_REVIEW, REVIEW | P_NO_EXEMPT_INST | P_HAS_ASSESSOR, "机构重新评定（提交考核机构）",
     eff_inst_pass},
    /* -- the 考核机构 re-reviews -- */
    {E_EN, "assessor_reject", DOM_ST_ASSESSOR_REVIEW, RS, DOM_ST_INST_REVIEW_AGAIN, "reason",
     W_ASSESSOR_REVIEW, REVIEW, "考核机构复核驳回", eff_assessor_review},
    {E_EN, "assessor_pass", DOM_ST_ASSESSOR_REVIEW, RS, DOM_ST_DONE, "", W_ASSESSOR_REVIEW,
     REVIEW | P_NO_EXEMPT_ASSR | B_EVAL_FAILED, "复核通过（评定不合格，考核完成）",
     eff_assessor_review},
    {E_EN, "assessor_pass", DOM_ST_ASSESSOR_REVIEW, RS, DOM_ST_DONE, "", W_ASSESSOR_REVIEW,
     REVIEW | P_NO_EXEMPT_ASSR | B_NO_TESTS, "复核通过（全部免考，考核完成）", eff_assessor_review},
    {E_EN, "assessor_pass", DOM_ST_ASSESSOR_REVIEW, RS, DOM_ST_TO_TEST, "", W_ASSESSOR_REVIEW,
     REVIEW | P_NO_EXEMPT_ASSR, "复核通过", eff_assessor_review},
    /* -- the authority: 驳回 a registration the institutions passed (seeds [002][004]) -- */
    {E_EN, "authority_reject", DOM_ST_INST_REVIEW, RA, DOM_ST_TO_REGISTER, "reason", W_NONE,
     P_VERSION, "卫生行政部门驳回", eff_authority_reject},
    {E_EN, "authority_reject", DOM_ST_INST_REVIEW_AGAIN, RA, DOM_ST_TO_REGISTER, "reason", W_NONE,
     P_VERSION, "卫生行政部门驳回", eff_authority_reject},
    {E_EN, "authority_reject", DOM_ST_ASSESSOR_REVIEW, RA, DOM_ST_TO_REGISTER, "reason", W_NONE,
     P_VERSION, "卫生行政部门驳回", eff_authority_reject},
    {E_EN, "authority_reject", DOM_ST_TO_TEST, RA, DOM_ST_TO_REGISTER, "reason", W_NONE,
     P_VERSION | P_NO_SESSIONS, "卫生行政部门驳回", eff_authority_reject},
    /* -- makeups: the provincial authority decides (seed [004] 省级卫生行政) -- */
    {E_EN, "makeup_confirm", DOM_ST_MAKEUP_CONFIRM, RV, DOM_ST_TO_MAKEUP, "", W_NONE, P_VERSION,
     "确认补考", eff_makeup},
    {E_EN, "makeup_refuse", DOM_ST_MAKEUP_CONFIRM, RV, DOM_ST_DONE, "reason", W_NONE, P_VERSION,
     "不予补考（考核不合格）", eff_makeup},
    /* -- 退出本周期, before its deadline (seed [001]) -- */
    {E_EN, "withdraw", DOM_ST_TO_REGISTER, RP | RI, DOM_ST_WITHDRAWN, "reason", W_WITHDRAW, 0,
     DOM_ST_WITHDRAWN, eff_withdraw},
    {E_EN, "withdraw", DOM_ST_INST_REJECTED, RP | RI, DOM_ST_WITHDRAWN, "reason", W_WITHDRAW, 0,
     DOM_ST_WITHDRAWN, eff_withdraw},
    {E_EN, "withdraw", DOM_ST_INST_REVIEW, RP | RI, DOM_ST_WITHDRAWN, "reason", W_WITHDRAW, 0,
     DOM_ST_WITHDRAWN, eff_withdraw},
    {E_EN, "withdraw", DOM_ST_INST_REVIEW_AGAIN, RP | RI, DOM_ST_WITHDRAWN, "reason", W_WITHDRAW, 0,
     DOM_ST_WITHDRAWN, eff_withdraw},
    {E_EN, "withdraw", DOM_ST_ASSESSOR_REVIEW, RP | RI, DOM_ST_WITHDRAWN, "reason", W_WITHDRAW, 0,
     DOM_ST_WITHDRAWN, eff_withdraw},
    /* -- tests: recomputed after 认定作弊 / 撤销认定 (province) and missed tests (system) -- */
    {E_EN, "tests", DOM_ST_TO_TEST, RV, BY_TESTS, "", W_NONE, P_INTERNAL, "测评结果变更",
     eff_tests},
    {E_EN, "tests", DOM_ST_MAKEUP_CONFIRM, RV, BY_TESTS, "", W_NONE, P_INTERNAL, "测评结果变更",
     eff_tests},
    {E_EN, "tests", DOM_ST_TO_MAKEUP, RV, BY_TESTS, "", W_NONE, P_INTERNAL, "测评结果变更",
     eff_tests},
    {E_EN, "tests", DOM_ST_DONE, RV, BY_TESTS, "", W_NONE, P_INTERNAL, "测评结果变更", eff_tests},
    /* -- examd: a paper was scored (dom_flow_test_scored; the system, in the submit) -- */
    {E_EN, "test_scored", DOM_ST_TO_TEST, 0, BY_TESTS, "", W_NONE, P_INTERNAL | P_QUIET_SAME,
     "测评交卷评分", eff_test_scored},
    {E_EN, "test_scored", DOM_ST_TO_MAKEUP, 0, BY_TESTS, "", W_NONE, P_INTERNAL | P_QUIET_SAME,
     "补考交卷评分", eff_test_scored},
    /* -- the institution releases a physician who leaves or is deleted (离岗 / 删除) -- */
    {E_EN, "release", DOM_ST_TO_REGISTER, RI, NOT_IN_CYCLE, "", W_NONE,
     P_INTERNAL | P_NOT_SUBMITTED, "离岗或删除时取消参加", eff_cancel},

    /* -- exemption requests 免考申请 (seeds [002][004]: institution, then 考核机构) -- */
    {E_EX, "request", NOT_IN_CYCLE, RP, DOM_ST_INST_REVIEW, "exemption_type", W_REGISTRATION,
     P_CYCLE_OPEN | P_ENROL_EDITABLE | P_PROCEDURE, "申请免考", eff_ex_request},
    {E_EX, "request", "驳回", RP, DOM_ST_INST_REVIEW, "exemption_type", W_REGISTRATION,
     P_CYCLE_OPEN | P_ENROL_EDITABLE | P_PROCEDURE, "重新申请免考", eff_ex_request},
    {E_EX, "inst_pass", DOM_ST_INST_REVIEW, RI, DOM_ST_ASSESSOR_REVIEW, "", W_INST_REVIEW, REVIEW,
     "免考审核通过", eff_ex_decide},
    {E_EX, "inst_reject", DOM_ST_INST_REVIEW, RI, "驳回", "reason", W_INST_REVIEW, REVIEW,
     "免考审核驳回", eff_ex_decide},
    {E_EX, "assessor_pass", DOM_ST_ASSESSOR_REVIEW, RS, "通过", "", W_ASSESSOR_REVIEW, REVIEW,
     "免考复核通过", eff_ex_decide},
    {E_EX, "assessor_reject", DOM_ST_ASSESSOR_REVIEW, RS, "驳回", "reason", W_ASSESSOR_REVIEW,
     REVIEW, "免考复核驳回", eff_ex_decide},

    /* -- invigilation 监考: institutions mark, only the authority unmarks; the province
     *    determines cheating and revokes it (seed [004]) -- */
    {E_IV, "mark", "无", RI | RA, "疑似", "", W_NONE, 0, "标记疑似", eff_iv_mark},
    {E_IV, "mark", "已撤销", RI | RA, "疑似", "", W_NONE, 0, "标记疑似", eff_iv_mark},
    {E_IV, "unmark", "疑似", RA, "无", "reason", W_NONE, P_VERSION, "取消疑似标记", eff_iv_unmark},
    {E_IV, "determine", "无", RV, "已认定", "reason", W_NONE, P_VERSION | P_SESSION_DONE,
     "认定作弊", eff_iv_decide},
    {E_IV, "determine", "疑似", RV, "已认定", "reason", W_NONE, P_VERSION | P_SESSION_DONE,
     "认定作弊", eff_iv_decide},
    {E_IV, "determine", "已撤销", RV, "已认定", "reason", W_NONE, P_VERSION | P_SESSION_DONE,
     "认定作弊", eff_iv_decide},
    {E_IV, "revoke", "已认定", RV, "已撤销", "reason", W_NONE, P_VERSION | P_SESSION_DONE,
     "撤销认定", eff_iv_decide},

    /* -- 申请考核机构 (seeds [002][004]): needs the 申请权限 -- */
    {E_AP, "apply", NOT_IN_CYCLE, RI, "待审核", "", W_ASSESSOR_APPLY,
     P_CYCLE_OPEN | P_CAN_APPLY | P_NOT_ASSESSOR, "申请考核机构", eff_ap_apply},
    {E_AP, "approve", "待审核", RA, "通过", "", W_NONE, 0, "批准考核机构申请", eff_ap_decide},
    {E_AP, "reject", "待审核", RA, "驳回", "reason", W_NONE, 0, "驳回考核机构申请", eff_ap_decide},
};

#define NFLOW (sizeof flow / sizeof flow[0])

static const char *const entity_names[] = {"enrolment", "exemption_request", "invigilation",
                                           "assessor_application"};

static const struct {
    const char *flag, *name, *start, *end;
} windows[] = {
    [W_NONE] = {NULL, NULL, NULL, NULL},
    [W_CONFIRM] = {"w_confirm", "确认参加（报名截止前）", NULL, "t_registration_end"},
    [W_REGISTRATION] = {"w_registration", "医师报名", "t_registration_start", "t_registration_end"},
    [W_INST_REVIEW] = {"w_inst_review", "机构审核", "t_inst_review_start", "t_inst_review_end"},
    [W_ASSESSOR_REVIEW] = {"w_assessor_review", "考核机构复核", "t_assessor_review_start",
                           "t_assessor_review_end"},
    [W_WITHDRAW] = {"w_withdraw", "退出本周期（截止前）", NULL, "t_withdraw_deadline"},
    [W_ASSESSOR_APPLY] = {"w_assessor_apply", "申请考核机构", "t_assessor_apply_start",
                          "t_assessor_apply_end"},
};

static const struct {
    const char *field, *label;
} field_labels[] = {
    {"procedure_type", "考核程序"},
    {"department_id", "科室"},
    {"photo_path", "本人照片"},
    {"sa_work_text", "工作成绩自评"},
    {"sa_ethics_text", "职业道德自评"},
    {"sa_patient_visits", "接诊病人数"},
    {"sa_simple_condition", "简易程序适用条件"},
    {"reason", "理由"},
    {"work_result", "工作成绩评定"},
    {"ethics_result", "职业道德评定"},
    {"quantity_result", "完成工作数量评定"},
    {"exemption_type", "免考条件"},
};

/* The free texts an action body may carry and their columns' sizes in characters. */
static const struct {
    const char *field, *label;
    size_t max;
} text_limits[] = {
    {"reason", "理由", 1000},
    {"note", "说明", 1000},
    {"work_reason", "工作成绩不合格理由", 1000},
    {"ethics_reason", "职业道德不合格理由", 1000},
    {"reviewer_name", "评定人", 64},
};

static const char *label_of(const char *f)
{
    for (size_t i = 0; i < sizeof field_labels / sizeof field_labels[0]; i++)
        if (!strcmp(field_labels[i].field, f)) return field_labels[i].label;
    return f;
}

static const char *role_names(unsigned roles, char *buf, size_t sz)
{
    buf[0] = '\0';
    static const struct {
        unsigned bit;
        const char *name;
    } n[] = {{RP, "医师"},
             {RI, "医疗卫生机构"},
             {RS, "考核机构"},
             {RA, "卫生行政部门"},
             {RV, "省级卫生行政部门"}};
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
        if (roles & n[i].bit) {
            if (n[i].bit == RV && (roles & RA)) continue;
            size_t l = strlen(buf);
            snprintf(buf + l, sz - l, "%s%s", l ? "或" : "", n[i].name);
        }
    return buf;
}

/* ---- the table as JSON ------------------------------------------------------------------- */

static json_t *roles_json(unsigned roles)
{
    json_t *a = json_array();
    if (roles & RP) json_array_append_new(a, json_string("physician"));
    if (roles & RI) json_array_append_new(a, json_string("institution"));
    if (roles & RS) json_array_append_new(a, json_string("assessor"));
    if (roles & RA)
        json_array_append_new(a, json_string("authority"));
    else if (roles & RV)
        json_array_append_new(a, json_string("province"));
    return a;
}

static json_t *row_json(const flow_row *r)
{
    json_t *req = json_array();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", r->required);
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(req, json_string(t[0] == '@' ? t + 1 : t));
    return json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:s?,s:b,s:s}", "entity", entity_names[r->entity],
                     "action", r->action, "from", r->from, "roles", roles_json(r->roles), "to",
                     !strcmp(r->to, BY_TESTS) ? "(测评结果)" : r->to, "required", req, "window",
                     windows[r->window].name, "version_required", (r->flags & P_VERSION) != 0,
                     "label", r->label);
}

json_t *dom_flow_table_json(void)
{
    json_t *a = json_array();
    for (size_t i = 0; i < NFLOW; i++)
        if (!(flow[i].flags & P_INTERNAL)) json_array_append_new(a, row_json(&flow[i]));
    return a;
}

json_t *dom_flow_actions(const dom_actor *a, dom_entity e, const char *status)
{
    json_t *out = json_array();
    const char *seen[16];
    size_t nseen = 0;
    for (size_t i = 0; i < NFLOW; i++) {
        const flow_row *r = &flow[i];
        if (r->entity != e || (r->flags & P_INTERNAL) || !(r->roles & a->roles) ||
            strcmp(r->from, status))
            continue;
        int dup = 0;
        for (size_t k = 0; k < nseen; k++)
            if (!strcmp(seen[k], r->action)) dup = 1;
        if (dup || nseen >= 16) continue;
        seen[nseen++] = r->action;
        json_array_append_new(out, row_json(r));
    }
    return out;
}

/* ---- snapshots: one locked row of named columns -------------------------------------------- */

typedef struct snap {
    MYSQL_RES *res;
    MYSQL_ROW row;
    MYSQL_FIELD *f;
    unsigned n;
} snap;

static const char *sget(const snap *s, const char *name)
{
    for (unsigned i = 0; i < s->n; i++)
        if (!strcmp(s->f[i].name, name)) return s->row[i];
    return NULL;
}

static long long sint(const snap *s, const char *name)
{
    const char *v = sget(s, name);
    return v ? strtoll(v, NULL, 10) : 0;
}

static const char *sstr(const snap *s, const char *name)
{
    const char *v = sget(s, name);
    return v ? v : "";
}

static void snap_free(snap *s)
{
    if (s->res) mysql_free_result(s->res);
    memset(s, 0, sizeof *s);
}

static int snap_load(MYSQL *db, const char *sql, const dk_param *p, size_t n, snap *s,
                     const char *notfound, dk_error *err)
{
    memset(s, 0, sizeof *s);
    int rc = dk_mysql_exec(db, sql, p, n, &s->res, NULL, err);
    if (rc) return rc;
    s->row = s->res ? mysql_fetch_row(s->res) : NULL;
    if (!s->row) {
        snap_free(s);
        return dk_error_set(err, DK_ENOTFOUND, "%s", notfound);
    }
    s->n = mysql_num_fields(s->res);
    s->f = mysql_fetch_fields(s->res);
    return 0;
}

#define BJ(col, as) "DATE_FORMAT(" col " + INTERVAL 8 HOUR, '%Y-%m-%d %H:%i') AS " as
/* clang-format off */
#define WINDOWS                                                                                    \
    "c.status AS cycle_status, "                                                                   \
    "(NOW(3) < c.registration_end) AS w_confirm, "                                                 \
    "(NOW(3) >= c.registration_start AND NOW(3) < c.registration_end) AS w_registration, "         \
    "(NOW(3) >= c.inst_review_start AND NOW(3) < c.inst_review_end) AS w_inst_review, "            \
    "(NOW(3) >= c.assessor_review_start AND NOW(3) < c.assessor_review_end) "                      \
    "AS w_assessor_review, "                                                                       \
    "(NOW(3) < IFNULL(c.withdraw_deadline, c.inst_review_end)) AS w_withdraw, "                    \
    "(NOW(3) >= c.assessor_apply_start AND NOW(3) < c.assessor_apply_end) AS w_assessor_apply, "   \
    BJ("c.registration_start", "t_registration_start") ", "                                        \
    BJ("c.registration_end", "t_registration_end") ", "                                            \
    BJ("c.inst_review_start", "t_inst_review_start") ", "                                          \
    BJ("c.inst_review_end", "t_inst_review_end") ", "                                              \
    BJ("c.assessor_review_start", "t_assessor_review_start") ", "                                  \
    BJ("c.assessor_review_end", "t_assessor_review_end") ", "                                      \
    BJ("IFNULL(c.withdraw_deadline, c.inst_review_end)", "t_withdraw_deadline") ", "               \
    BJ("c.assessor_apply_start", "t_assessor_apply_start") ", "                                    \
    BJ("c.assessor_apply_end", "t_assessor_apply_end")
/* clang-format on */

/* The enrolment of (physician, cycle), or what it would be ('' status) when absent. */
static const char sql_enrol_snap[] =
    "SELECT IFNULL(e.status, '') AS status, IFNULL(e.lock_version, 0) AS version, "
    "IFNULL(e.id, 0) AS enrolment_id, c.id AS cycle_id, p.id AS physician_id, "
    "i.id AS institution_id, IFNULL(e.assessor_id, 0) AS assessor_id, au.path AS inst_path, "
    "IFNULL(e.procedure_type, '') AS procedure_type, e.submitted_at, e.sa_work_text, "
    "e.sa_ethics_text, e.sa_patient_visits, e.sa_simple_condition, e.inst_work_result, "
    "e.inst_ethics_result, e.inst_quantity_result, e.makeup_decision, p.department_id, "
    "p.photo_path, p.status = '" DOM_PHYS_ACTIVE
    "' AND p.deleted_at IS NULL AS phys_active, " DOM_DEFERRED_SQL(
        "p",
        "c") " AS deferred, YEAR(p.first_registration_date) AS first_reg_year, "
             "(SELECT COUNT(*) FROM exemption_request x WHERE x.enrolment_id = e.id "
             " AND x.status = '" DOM_ST_INST_REVIEW "') AS ex_inst, "
             "(SELECT COUNT(*) FROM exemption_request x WHERE x.enrolment_id = e.id "
             " AND x.status = '" DOM_ST_ASSESSOR_REVIEW "') AS ex_assessor, "
             "(SELECT x.paper FROM exemption_request x WHERE x.enrolment_id = e.id "
             " AND x.status <> '驳回' LIMIT 1) AS ex_paper, "
             "(SELECT COUNT(*) FROM exemption_request x WHERE x.enrolment_id = e.id "
             " AND x.status = '通过') AS ex_passed, "
             "(SELECT COUNT(*) FROM exam_session s WHERE s.enrolment_id = e.id) AS sessions, "
             "IFNULL((SELECT aa.assessor_id FROM assessor_assignment aa WHERE aa.cycle_id = c.id "
             " AND aa.institution_id = i.id), 0) AS assigned_assessor, " WINDOWS
             " FROM physician p JOIN cycle c ON c.id = ? "
             "LEFT JOIN enrolment e ON e.physician_id = p.id AND e.cycle_id = c.id "
             "JOIN institution i ON i.id = IFNULL(e.institution_id, p.institution_id) "
             "JOIN authority au ON au.id = i.authority_id WHERE p.id = ?";

/* What examd's scoring (test_scored, on every submit) reads of the enrolment it locked:
 * the rest of the snapshot above (windows, exemptions, assignments) is for people's
 * actions, and its optimisation alone cost the 09:00 submits tens of milliseconds. */
static const char sql_enrol_scored_snap[] =
    "SELECT status, lock_version AS version, id AS enrolment_id, cycle_id, physician_id, "
    "institution_id, IFNULL(procedure_type, '') AS procedure_type, makeup_decision "
    "FROM enrolment WHERE id = ?";

static const char sql_exempt_snap[] =
    "SELECT IFNULL(x.status, '') AS status, IFNULL(x.lock_version, 0) AS version, "
    "IFNULL(x.id, 0) AS exemption_id, e.id AS enrolment_id, e.status AS enrol_status, "
    "IFNULL(e.procedure_type, '') AS procedure_type, e.physician_id, e.institution_id, "
    "IFNULL(e.assessor_id, 0) AS assessor_id, au.path AS inst_path, x.exemption_type, "
    "? AS paper, " WINDOWS " FROM enrolment e JOIN cycle c ON c.id = e.cycle_id "
    "JOIN institution i ON i.id = e.institution_id JOIN authority au ON au.id = i.authority_id "
    "LEFT JOIN exemption_request x ON x.enrolment_id = e.id AND x.paper = ? WHERE e.id = ?";

static const char sql_invig_snap[] =
    "SELECT v.mark_status AS status, v.lock_version AS version, s.id AS session_id, "
    "s.enrolment_id, s.paper, s.attempt, r.session_id IS NOT NULL AS has_result, "
    "IFNULL(r.passed, 0) AS passed, e.physician_id, e.institution_id, "
    "IFNULL(e.assessor_id, 0) AS assessor_id, au.path AS inst_path, e.cycle_id, "
    "IFNULL(t.last_session_id, '') AS last_session_id, i.authority_id AS inst_authority, " WINDOWS
    " FROM exam_session s JOIN invigilation v ON v.session_id = s.id "
    "JOIN enrolment e ON e.id = s.enrolment_id JOIN cycle c ON c.id = e.cycle_id "
    "JOIN institution i ON i.id = e.institution_id JOIN authority au ON au.id = i.authority_id "
    "LEFT JOIN exam_result r ON r.session_id = s.id "
    "LEFT JOIN enrolment_test t ON t.enrolment_id = e.id AND t.paper = s.paper WHERE s.id = ?";

static const char sql_app_snap[] =
    "SELECT x.status, 0 AS version, x.id AS application_id, x.institution_id, "
    "0 AS physician_id, 0 AS assessor_id, au.path AS inst_path, i.can_apply, i.is_assessor, "
    "x.cycle_id FROM assessor_application x JOIN institution i ON i.id = x.institution_id "
    "JOIN authority au ON au.id = i.authority_id WHERE x.id = ?";

static const char sql_apply_snap[] =
    "SELECT IFNULL((SELECT x.status FROM assessor_application x WHERE x.institution_id = i.id "
    " AND x.status = '待审核' LIMIT 1), '') AS status, 0 AS version, i.id AS institution_id, "
    "0 AS physician_id, 0 AS assessor_id, au.path AS inst_path, i.can_apply, i.is_assessor, "
    "i.authority_id, c.id AS cycle_id, " WINDOWS
    " FROM institution i JOIN authority au ON au.id = i.authority_id JOIN cycle c ON c.id = ? "
    "WHERE i.id = ?";

/* ---- the tests rule (the same as exam-engine/exam_db.c advance_enrolment) ------------------ */

/* Where the test results put an enrolment now in status from (the rule is dom_tests'). */
static int tests_outcome(MYSQL *db, long long eid, const char *procedure, const char *from,
                         const char *makeup_decision, const char **to, const char **result,
                         dk_error *err)
{
    dom_paper_state st[2];
    int rc = dom_paper_states(db, eid, procedure, st, err);
    if (rc) return rc;
    dom_tests_outcome(st, from, makeup_decision, to, result);
    return 0;
}

/* ---- running one action ---------------------------------------------------------------------- */

struct flow_ctx {
    const dom_actor *a; /* NULL: the system */
    const dom_flow_target *t;
    MYSQL *db;
    dk_error *err;
    dom_entity e;
    const flow_row *row;
    unsigned acting;
    snap s;
    json_t *body;
    const char *reason;
    const char *to;
    const char *result, *result_reason;
    long long id; /* entity id (0 for invigilation) */
    char sid[40];
    char why[128];
    json_t *detail;
};

/* The role an actor acts in for rows open to rows_roles: an institution that is also a
 * 考核机构 acts as one only where the rows are the 考核机构's alone. */
static unsigned acting_role(const dom_actor *a, unsigned rows_roles)
{
    switch (a->kind) {
    case DOM_KIND_PHYSICIAN: return RP;
    case DOM_KIND_AUTHORITY: return (rows_roles & RA) ? RA : RV;
    default: return (rows_roles & a->roles & RS) && !(rows_roles & RI) ? RS : RI;
    }
}

static int in_scope(const dom_actor *a, unsigned acting, const snap *s)
{
    switch (acting) {
    case RP: return sint(s, "physician_id") == a->id;
    case RI: return sint(s, "institution_id") == a->institution_id;
    case RS: return a->is_assessor && sint(s, "assessor_id") == a->institution_id;
    default: return dom_path_covers(a->path, sstr(s, "inst_path"));
    }
}

const char *dom_actor_type(const dom_actor *a, unsigned acting)
{
    if (!a) return DOM_ACTOR_SYSTEM;
    return a->reviewer_id                  ? DOM_ACTOR_REVIEWER
           : a->kind == DOM_KIND_PHYSICIAN ? DOM_ACTOR_PHYSICIAN
           : a->kind == DOM_KIND_AUTHORITY ? DOM_ACTOR_AUTHORITY
           : acting == RS                  ? DOM_ACTOR_ASSESSOR
                                           : DOM_ACTOR_INSTITUTION;
}

long long dom_actor_id(const dom_actor *a)
{
    return !a ? 0 : a->reviewer_id ? a->reviewer_id : a->id;
}

const char *dom_role_name(const dom_actor *a, unsigned acting_role)
{
    if (!a) return "系统";
    switch (a->kind) {
    case DOM_KIND_PHYSICIAN: return "医师";
    case DOM_KIND_INSTITUTION:
        if (a->reviewer_id)
            return acting_role == RS ? "考核机构信息审核员" : "医疗卫生机构信息审核员";
        return acting_role == RS ? "考核机构" : "医疗卫生机构";
    case DOM_KIND_AUTHORITY:
        if (a->roles == DOM_R_QBANK) return "题库管理员";
        return !strcmp(a->level, "province") ? "省级卫生行政部门"
               : !strcmp(a->level, "city")   ? "市级卫生行政部门"
                                             : "县级卫生行政部门";
    default: return "系统";
    }
}

int dom_path_covers(const char *actor_path, const char *path)
{
    size_t n = strlen(actor_path);
    return n > 1 && path && !strncmp(actor_path, path, n);
}

static int body_has(json_t *body, const char *f)
{
    json_t *v = json_object_get(body, f);
    if (!v || json_is_null(v)) return 0;
    if (json_is_string(v)) return json_string_length(v) > 0;
    return 1;
}

/* Checks the row's required fields; lists what is missing. */
static int check_required(flow_ctx *c)
{
    char buf[256], missing[256] = "";
    snprintf(buf, sizeof buf, "%s", c->row->required);
    const char *procedure = sstr(&c->s, "procedure_type");
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *only = strchr(t, '/');
        if (only) {
            *only++ = '\0';
            if (strcmp(only, procedure) != 0) continue;
        }
        int stored = t[0] == '@';
        const char *name = stored ? t + 1 : t;
        const char *v = stored ? sget(&c->s, name) : NULL;
        int ok = stored ? (v && *v) : body_has(c->body, name);
        if (!ok) {
            size_t l = strlen(missing);
            snprintf(missing + l, sizeof missing - l, "%s%s", l ? "、" : "", label_of(name));
        }
    }
    if (missing[0]) return dk_error_set(c->err, DK_EINVAL, "缺少必填项：%s", missing);
    return 0;
}

static int check_window(flow_ctx *c)
{
    int w = c->row->window;
    if (w == W_NONE || sint(&c->s, windows[w].flag) == 1) return 0;
    const char *st = windows[w].start ? sget(&c->s, windows[w].start) : NULL;
    const char *en = sget(&c->s, windows[w].end);
    if (!en) return dk_error_set(c->err, DK_ECONFLICT, "本周期尚未开放%s时间", windows[w].name);
    if (st)
        return dk_error_set(c->err, DK_ECONFLICT, "不在%s时间内（北京时间 %s 至 %s）",
                            windows[w].name, st, en);
    return dk_error_set(c->err, DK_ECONFLICT, "已过%s截止时间（北京时间 %s）", windows[w].name, en);
}

static int exemption_paper(const char *procedure, const char **paper)
{
    *paper = !strcmp(procedure, DOM_PROC_SIMPLE)    ? DOM_PAPER_PUBLIC
             : !strcmp(procedure, DOM_PROC_GENERAL) ? DOM_PAPER_PRACTICE
                                                    : NULL;
    return *paper ? 0 : DK_EINVAL;
}

static int check_preconditions(flow_ctx *c)
{
    unsigned f = c->row->flags;
    const snap *s = &c->s;
    if ((f & P_CYCLE_OPEN) && strcmp(sstr(s, "cycle_status"), "open") != 0)
        return dk_error_set(c->err, DK_ECONFLICT, "考核周期未开放或已结束");
    if ((f & P_PHYS_ACTIVE) && sint(s, "phys_active") != 1)
        return dk_error_set(c->err, DK_ECONFLICT, "医师已离岗或已删除，不能参加本周期考核");
    if ((f & P_NOT_DEFERRED) && sint(s, "deferred") == 1)
        return dk_error_set(c->err, DK_ECONFLICT,
                            "该医师首次注册时间为 %lld 年（偶数年），按规定推迟一年纳入考核范围，"
                            "不参加本周期考核，从下一周期开始参加",
                            sint(s, "first_reg_year"));
    if ((f & P_NOT_SUBMITTED) && sget(s, "submitted_at"))
        return dk_error_set(c->err, DK_ECONFLICT,
                            "医师已提交过报名，不能取消参加；如需取消请联系上级卫生行政部门驳回");
    if ((f & P_NO_EXEMPT_INST) && sint(s, "ex_inst") > 0)
        return dk_error_set(c->err, DK_ECONFLICT, "请先审核该医师的免考申请");
    if ((f & P_NO_EXEMPT_ASSR) && sint(s, "ex_assessor") > 0)
        return dk_error_set(c->err, DK_ECONFLICT, "请先复核该医师的免考申请");
    if ((f & P_HAS_ASSESSOR) && !sint(s, "assessor_id") && !sint(s, "assigned_assessor"))
        return dk_error_set(c->err, DK_ECONFLICT,
                            "本机构在本周期尚未分配考核机构，请联系卫生行政部门");
    if ((f & P_NO_SESSIONS) && sint(s, "sessions") > 0)
        return dk_error_set(c->err, DK_ECONFLICT, "医师已参加测评，不能驳回");
    if (f & P_EXEMPT_MATCH) {
        const char *ex = sget(s, "ex_paper"), *want = NULL;
        exemption_paper(sstr(s, "procedure_type"), &want);
        if (ex && want && strcmp(ex, want) != 0)
            return dk_error_set(c->err, DK_ECONFLICT,
                                "免考申请的测评（%s）与所选考核程序不符，请重新申请免考",
                                !strcmp(ex, DOM_PAPER_PUBLIC) ? "人文医学" : ex);
    }
    if (f & P_ENROL_EDITABLE) {
        const char *es = sstr(s, "enrol_status");
        if (strcmp(es, DOM_ST_TO_REGISTER) && strcmp(es, DOM_ST_INST_REJECTED))
            return dk_error_set(c->err, DK_ECONFLICT, "报名状态为「%s」，不能再申请免考", es);
    }
    if ((f & P_PROCEDURE) && !*sstr(s, "procedure_type"))
        return dk_error_set(c->err, DK_ECONFLICT, "请先选择考核程序");
    if ((f & P_SESSION_DONE) && sint(s, "has_result") != 1)
        return dk_error_set(c->err, DK_ECONFLICT, "该场测评尚未交卷，不能认定");
    if ((f & P_CAN_APPLY) && sint(s, "can_apply") != 1)
        return dk_error_set(c->err, DK_EFORBIDDEN, "卫生行政部门尚未为本机构开通申请考核机构权限");
    if ((f & P_NOT_ASSESSOR) && sint(s, "is_assessor") == 1)
        return dk_error_set(c->err, DK_ECONFLICT, "本机构已是考核机构");
    return 0;
}

static int branch_holds(flow_ctx *c, const flow_row *r)
{
    if (r->flags & B_EVAL_FAILED) {
        const char *w = sget(&c->s, "inst_work_result"), *e = sget(&c->s, "inst_ethics_result"),
                   *q = sget(&c->s, "inst_quantity_result");
        if (!((w && !strcmp(w, DOM_RESULT_FAIL)) || (e && !strcmp(e, DOM_RESULT_FAIL)) ||
              (q && !strcmp(q, DOM_RESULT_FAIL))))
            return 0;
    }
    if (r->flags & B_NO_TESTS) {
        /* 简易程序 sits 人文医学 only: an approved exemption of it leaves no test */
        if (strcmp(sstr(&c->s, "procedure_type"), DOM_PROC_SIMPLE) || sint(&c->s, "ex_passed") == 0)
            return 0;
    }
    return 1;
}

/* ---- effects per entity ---------------------------------------------------------------------- */

static const char *opt_str(json_t *body, const char *k)
{
    json_t *v = json_object_get(body, k);
    return json_is_string(v) && json_string_length(v) ? json_string_value(v) : NULL;
}

static int result_value(flow_ctx *c, const char *k, const char **out, int required)
{
    *out = opt_str(c->body, k);
    if (!*out) return required ? dk_error_set(c->err, DK_EINVAL, "缺少%s", label_of(k)) : 0;
    if (strcmp(*out, DOM_RESULT_PASS) && strcmp(*out, DOM_RESULT_FAIL))
        return dk_error_set(c->err, DK_EINVAL, "%s应为「合格」或「不合格」", label_of(k));
    return 0;
}

static int write_tests(flow_ctx *c, long long eid)
{
    dom_paper_state st[2];
    int rc = dom_paper_states(c->db, eid, sstr(&c->s, "procedure_type"), st, c->err);
    for (int i = 0; !rc && i < 2; i++) {
        dk_param p[] = {DK_PINT(eid), DK_PSTR(dom_papers[i]), DK_PINT(st[i].required),
                        DK_PINT(st[i].exempted)};
        rc = dk_mysql_exec(c->db,
                           "INSERT INTO enrolment_test (enrolment_id, paper, required, exempted) "
                           "VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE required = "
                           "VALUES(required), exempted = VALUES(exempted)",
                           p, 4, NULL, NULL, c->err);
    }
    return rc;
}

/* The one write of enrolment.status (and its result), under the locking rule: the row is
 * locked (load_entity) and lock_version must still be the one read, which this bumps. A
 * 考核完成 合格 issues the pass certificate in the same transaction. */
static int enrol_set_status(flow_ctx *c)
{
    long long eid = sint(&c->s, "enrolment_id"), ver = sint(&c->s, "version");
    uint64_t n = 0;
    dk_param up[] = {DK_PSTR(c->to),
                     c->result ? DK_PSTR(c->result) : DK_PNULL,
                     c->result_reason ? DK_PSTR(c->result_reason) : DK_PNULL,
                     c->result ? DK_PINT(1) : DK_PNULL,
                     DK_PINT(eid),
                     DK_PINT(ver)};
    int rc = dk_mysql_exec(c->db,
                           "UPDATE enrolment SET status = ?, result = ?, result_reason = "
                           "LEFT(?, 255), completed_at = IF(? IS NULL, NULL, NOW(3)), "
                           "lock_version = lock_version + 1 WHERE id = ? AND lock_version = ?",
                           up, 6, NULL, &n, c->err);
    if (rc) return rc;
    if (!n) return dk_error_set(c->err, DK_ECONFLICT, "该记录已被他人处理，请刷新后重试");
    if (c->result && !strcmp(c->to, DOM_ST_DONE) && !strcmp(c->result, DOM_RESULT_PASS)) {
        int issued;
        return dom_enrol_issue_certificate(c->db, eid, &issued, c->err);
    }
    return 0;
}

/* 确认参加: a new enrolment in 待报名. */
static int eff_confirm(flow_ctx *c)
{
    long long assigned = sint(&c->s, "assigned_assessor");
    dk_param p[] = {DK_PINT(sint(&c->s, "cycle_id")), DK_PINT(sint(&c->s, "physician_id")),
                    DK_PINT(sint(&c->s, "institution_id")),
                    assigned ? DK_PINT(assigned) : DK_PNULL};
    int rc = dk_mysql_exec(c->db,
                           "INSERT INTO enrolment (cycle_id, physician_id, institution_id, "
                           "assessor_id, status) VALUES (?, ?, ?, ?, '" DOM_ST_TO_REGISTER "')",
                           p, 4, NULL, NULL, c->err);
    if (!rc) c->id = (long long)mysql_insert_id(c->db);
    return rc;
}

/* 取消参加, and the release of a physician who leaves: the enrolment goes. */
static int eff_cancel(flow_ctx *c)
{
    long long eid = sint(&c->s, "enrolment_id");
    c->id = eid;
    dk_param p[] = {DK_PINT(eid)};
    int rc = dk_mysql_exec(c->db, "DELETE FROM exemption_request WHERE enrolment_id = ?", p, 1,
                           NULL, NULL, c->err);
    if (rc) return rc;
    uint64_t n = 0;
    dk_param q[] = {DK_PINT(eid), DK_PINT(sint(&c->s, "version"))};
    if ((rc = dk_mysql_exec(c->db, "DELETE FROM enrolment WHERE id = ? AND lock_version = ?", q, 2,
                            NULL, &n, c->err)))
        return rc;
    return n ? 0 : dk_error_set(c->err, DK_ECONFLICT, "该记录已被他人处理，请刷新后重试");
}

static int eff_submit(flow_ctx *c)
{
    long long eid = sint(&c->s, "enrolment_id"), assigned = sint(&c->s, "assigned_assessor");
    c->id = eid;
    int rc = enrol_set_status(c);
    if (rc) return rc;
    dk_param p[] = {assigned ? DK_PINT(assigned) : DK_PNULL, DK_PINT(eid)};
    return dk_mysql_exec(c->db,
                         "UPDATE enrolment SET submitted_at = NOW(3), "
                         "assessor_id = COALESCE(assessor_id, ?) WHERE id = ?",
                         p, 2, NULL, NULL, c->err);
}

/* The status, then the row's reason and the time of it (sql: the UPDATE of the two columns,
 * parameters reason and enrolment id). */
static int status_with_reason(flow_ctx *c, const char *sql)
{
    long long eid = sint(&c->s, "enrolment_id");
    c->id = eid;
    int rc = enrol_set_status(c);
    if (rc) return rc;
    dk_param p[] = {DK_PSTR(c->reason), DK_PINT(eid)};
    return dk_mysql_exec(c->db, sql, p, 2, NULL, NULL, c->err);
}

static int eff_inst_reject(flow_ctx *c)
{
    return status_with_reason(c, "UPDATE enrolment SET inst_reject_reason = LEFT(?, 1000), "
                                 "inst_rejected_at = NOW(3) WHERE id = ?");
}

/* 机构审核通过: the institution's evaluation, validated before anything is written. */
static int eff_inst_pass(flow_ctx *c)
{
    long long eid = sint(&c->s, "enrolment_id"), assigned = sint(&c->s, "assigned_assessor");
    c->id = eid;
    const char *wr, *er, *qr, *wreason, *ereason;
    int general = !strcmp(sstr(&c->s, "procedure_type"), DOM_PROC_GENERAL);
    int rc;
    if ((rc = result_value(c, "work_result", &wr, 1)) ||
        (rc = result_value(c, "ethics_result", &er, 1)) ||
        (rc = result_value(c, "quantity_result", &qr, general)))
        return rc;
    wreason = opt_str(c->body, "work_reason");
    ereason = opt_str(c->body, "ethics_reason");
    if ((!strcmp(wr, DOM_RESULT_FAIL) || (qr && !strcmp(qr, DOM_RESULT_FAIL))) && !wreason)
        return dk_error_set(c->err, DK_EINVAL,
                            "工作成绩（或完成工作数量）不合格时请填写不合格理由");
    if (!strcmp(er, DOM_RESULT_FAIL) && !ereason)
        return dk_error_set(c->err, DK_EINVAL, "职业道德不合格时请填写不合格理由");
    if ((rc = enrol_set_status(c))) return rc;
    const char *by = opt_str(c->body, "reviewer_name");
    if (!by && c->a && c->a->reviewer_id) by = c->a->reviewer_name; /* 评定人: the 信息审核员 */
    dk_param p[] = {qr ? DK_PSTR(qr) : DK_PNULL,
                    DK_PSTR(wr),
                    wreason ? DK_PSTR(wreason) : DK_PNULL,
                    DK_PSTR(er),
                    ereason ? DK_PSTR(ereason) : DK_PNULL,
                    by ? DK_PSTR(by) : DK_PNULL,
                    assigned ? DK_PINT(assigned) : DK_PNULL,
                    DK_PINT(eid)};
    json_object_set_new(c->detail, "evaluation",
                        json_pack("{s:s?,s:s,s:s?,s:s,s:s?}", "quantity", qr, "work", wr,
                                  "work_reason", wreason, "ethics", er, "ethics_reason", ereason));
    return dk_mysql_exec(c->db,
                         "UPDATE enrolment SET inst_quantity_result = ?, inst_work_result = ?, "
                         "inst_work_reason = LEFT(?, 1000), inst_ethics_result = ?, "
                         "inst_ethics_reason = LEFT(?, 1000), inst_reviewed_by = LEFT(?, 64), "
                         "inst_reviewed_at = NOW(3), assessor_result = NULL, "
                         "assessor_reason = NULL, assessor_reviewed_at = NULL, "
                         "assessor_id = COALESCE(assessor_id, ?) WHERE id = ?",
                         p, 8, NULL, NULL, c->err);
}

/* 复核通过 / 复核驳回. A pass that ends the enrolment (an evaluation 不合格, or every test
 * exempted) gives its result; a pass to 待参加考核 records which tests are due. */
static int eff_assessor_review(flow_ctx *c)
{
    long long eid = sint(&c->s, "enrolment_id");
    int pass = !strcmp(c->row->action, "assessor_pass");
    c->id = eid;
    if (!strcmp(c->to, DOM_ST_DONE)) {
        if (c->row->flags & B_EVAL_FAILED) {
            const char *w = sget(&c->s, "inst_work_result"), *e = sget(&c->s, "inst_ethics_result"),
                       *q = sget(&c->s, "inst_quantity_result");
            snprintf(c->why, sizeof c->why, "%s%s%s",
                     q && !strcmp(q, DOM_RESULT_FAIL) ? "完成工作数量不合格 " : "",
                     w && !strcmp(w, DOM_RESULT_FAIL) ? "工作成绩不合格 " : "",
                     e && !strcmp(e, DOM_RESULT_FAIL) ? "职业道德不合格" : "");
            c->result = DOM_RESULT_FAIL;
            c->result_reason = c->why;
        } else {
            c->result = DOM_RESULT_PASS;
            c->result_reason = "免考";
        }
    }
    int rc = enrol_set_status(c);
    if (rc) return rc;
    dk_param p[] = {DK_PSTR(pass ? "通过" : "驳回"), c->reason ? DK_PSTR(c->reason) : DK_PNULL,
                    DK_PINT(eid)};
    if ((rc = dk_mysql_exec(c->db,
                            "UPDATE enrolment SET assessor_result = ?, assessor_reason = "
                            "LEFT(?, 1000), assessor_reviewed_at = NOW(3) WHERE id = ?",
                            p, 3, NULL, NULL, c->err)))
        return rc;
    return pass ? write_tests(c, eid) : 0;
}

/* 卫生行政部门驳回: back to 待报名, every review undone. */
static int eff_authority_reject(flow_ctx *c)
{
    long long eid = sint(&c->s, "enrolment_id");
    c->id = eid;
    /* the physician reads it after a 9-character prefix, in the same VARCHAR(1000) */
    int rc = dk_text_max(c->err, "理由", c->reason, 1000 - 9);
    if (rc || (rc = enrol_set_status(c))) return rc;
    dk_param p[] = {DK_PSTR(c->reason), DK_PINT(eid)};
    if ((rc =
             dk_mysql_exec(c->db,
                           "UPDATE enrolment SET submitted_at = NULL, inst_quantity_result = NULL, "
                           "inst_work_result = NULL, inst_work_reason = NULL, "
                           "inst_ethics_result = NULL, inst_ethics_reason = NULL, "
                           "inst_reviewed_at = NULL, assessor_result = NULL, "
                           "assessor_reason = NULL, assessor_reviewed_at = NULL, "
                           "inst_reject_reason = LEFT(CONCAT('卫生行政部门驳回：', ?), 1000), "
                           "inst_rejected_at = NOW(3) WHERE id = ?",
                           p, 2, NULL, NULL, c->err)))
        return rc;
    dk_param q[] = {DK_PINT(eid)};
    return dk_mysql_exec(c->db, "DELETE FROM enrolment_test WHERE enrolment_id = ?", q, 1, NULL,
                         NULL, c->err);
}

/* 确认补考 / 不予补考 (the latter ends the enrolment 不合格). */
static int eff_makeup(flow_ctx *c)
{
    long long eid = sint(&c->s, "enrolment_id");
    int confirm = !strcmp(c->row->action, "makeup_confirm");
    c->id = eid;
    if (!confirm) {
        c->result = DOM_RESULT_FAIL;
        c->result_reason = "不予补考";
    }
    int rc = enrol_set_status(c);
    if (rc) return rc;
    dk_param p[] = {DK_PSTR(confirm ? "允许补考" : "不予补考"), DK_PINT(c->a ? c->a->id : 0),
                    c->reason ? DK_PSTR(c->reason) : DK_PNULL, DK_PINT(eid)};
    return dk_mysql_exec(c->db,
                         "UPDATE enrolment SET makeup_decision = ?, makeup_decided_by = ?, "
                         "makeup_decided_at = NOW(3), makeup_reason = LEFT(?, 1000) WHERE id = ?",
                         p, 4, NULL, NULL, c->err);
}

static int eff_withdraw(flow_ctx *c)
{
    return status_with_reason(c, "UPDATE enrolment SET withdrawn_at = NOW(3), withdraw_reason = "
                                 "LEFT(?, 1000) WHERE id = ?");
}

/* Where the recorded test results put the enrolment (dom_tests_outcome). */
static int to_by_tests(flow_ctx *c, long long eid)
{
    const char *to, *res;
    int rc = tests_outcome(c->db, eid, sstr(&c->s, "procedure_type"), sstr(&c->s, "status"),
                           sget(&c->s, "makeup_decision"), &to, &res, c->err);
    if (rc) return rc;
    c->to = to;
    c->result = res;
    if (res && !strcmp(res, DOM_RESULT_FAIL)) {
        c->result_reason = opt_str(c->body, "result_reason");
        if (!c->result_reason) c->result_reason = "测评不合格";
    }
    return 0;
}

/* 测评结果变更: after 认定作弊 / 撤销认定 or a missed test. */
static int eff_tests(flow_ctx *c)
{
    long long eid = sint(&c->s, "enrolment_id");
    c->id = eid;
    int rc = to_by_tests(c, eid);
    return rc ? rc : enrol_set_status(c);
}

/* examd scored a paper: body {paper, passed, session_id}. The test's result is recorded
 * (a second sitting is the makeup), then the enrolment moves if the results say so. */
static int eff_test_scored(flow_ctx *c)
{
    long long eid = sint(&c->s, "enrolment_id");
    c->id = eid;
    const char *paper = opt_str(c->body, "paper"), *sid = opt_str(c->body, "session_id");
    int passed = json_is_true(json_object_get(c->body, "passed"));
    if (!paper || !sid) return dk_error_set(c->err, DK_EINTERNAL, "test_scored without paper");
    dom_paper_state st[2];
    int rc = dom_paper_states(c->db, eid, sstr(&c->s, "procedure_type"), st, c->err);
    if (rc) return rc;
    int k = dom_paper_index(paper);
    dk_param up[] = {DK_PINT(eid),
                     DK_PSTR(paper),
                     DK_PINT(st[k].required),
                     DK_PINT(st[k].exempted),
                     DK_PSTR(passed ? DOM_RESULT_PASS : DOM_RESULT_FAIL),
                     DK_PSTR(sid)};
    if ((rc = dk_mysql_exec(c->db,
                            "INSERT INTO enrolment_test (enrolment_id, paper, required, exempted, "
                            "result, attempts, last_session_id) VALUES (?, ?, ?, ?, ?, 1, ?) "
                            "ON DUPLICATE KEY UPDATE result = VALUES(result), attempts = "
                            "attempts + 1, last_session_id = VALUES(last_session_id)",
                            up, 6, NULL, NULL, c->err)))
        return rc;
    c->reason = paper;
    if ((rc = to_by_tests(c, eid))) return rc;
    if (!strcmp(c->to, sstr(&c->s, "status"))) return 0; /* P_QUIET_SAME */
    return enrol_set_status(c);
}

/* 申请免考 (again after a 驳回): one request per paper, back to the institution. */
static int eff_ex_request(flow_ctx *c)
{
    MYSQL *db = c->db;
    long long xid = sint(&c->s, "exemption_id");
    int rc;
    {
        const char *type = opt_str(c->body, "exemption_type"),
                   *desc = opt_str(c->body, "description");
        if ((rc = dk_text_max(c->err, "免考条件", type, 64)) ||
            (rc = dk_text_max(c->err, "情况说明", desc, 2000)))
            return rc;
        dk_param p[] = {DK_PINT(sint(&c->s, "enrolment_id")), DK_PSTR(sstr(&c->s, "paper")),
                        DK_PSTR(type), desc ? DK_PSTR(desc) : DK_PNULL};
        if ((rc = dk_mysql_exec(
                 db,
                 "INSERT INTO exemption_request (enrolment_id, paper, exemption_type, "
                 "reason) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
                 "exemption_type = VALUES(exemption_type), reason = VALUES(reason), "
                 "status = '" DOM_ST_INST_REVIEW "', submitted_at = NOW(3), "
                 "inst_result = NULL, inst_reason = NULL, inst_decided_at = NULL, "
                 "assessor_result = NULL, assessor_reason = NULL, "
                 "assessor_decided_at = NULL, lock_version = lock_version + 1",
                 p, 4, NULL, NULL, c->err)))
            return rc;
        if (!xid) xid = (long long)mysql_insert_id(db);
        c->id = xid;
        return 0;
    }
}

/* The institution's or the 考核机构's decision on an exemption request; an approval
 * drops the paper from the enrolment's tests. */
static int eff_ex_decide(flow_ctx *c)
{
    MYSQL *db = c->db;
    const char *a = c->row->action, *r = c->reason;
    long long xid = sint(&c->s, "exemption_id"), ver = sint(&c->s, "version");
    int rc;
    c->id = xid;
    uint64_t n = 0;
    int inst = !strncmp(a, "inst_", 5), pass = strstr(a, "_pass") != NULL;
    char sql[400];
    snprintf(sql, sizeof sql,
             "UPDATE exemption_request SET status = ?, %s_result = ?, %s_reason = LEFT(?, 1000), "
             "%s_decided_at = NOW(3), lock_version = lock_version + 1 "
             "WHERE id = ? AND lock_version = ?",
             inst ? "inst" : "assessor", inst ? "inst" : "assessor", inst ? "inst" : "assessor");
    dk_param p[] = {DK_PSTR(c->to), DK_PSTR(pass ? "通过" : "驳回"), r ? DK_PSTR(r) : DK_PNULL,
                    DK_PINT(xid), DK_PINT(ver)};
    if ((rc = dk_mysql_exec(db, sql, p, 5, NULL, &n, c->err))) return rc;
    if (!n) return dk_error_set(c->err, DK_ECONFLICT, "该记录已被他人处理，请刷新后重试");
    if (!strcmp(c->to, "通过")) {
        dk_param q[] = {DK_PINT(sint(&c->s, "enrolment_id")), DK_PSTR(sstr(&c->s, "paper"))};
        return dk_mysql_exec(db,
                             "UPDATE enrolment_test SET exempted = 1 WHERE enrolment_id = ? AND "
                             "paper = ?",
                             q, 2, NULL, NULL, c->err);
    }
    return 0;
}

/* An invigilation row changed under the locking rule: 0 rows is someone else's change. */
static int iv_changed(flow_ctx *c, int rc, uint64_t n)
{
    if (rc) return rc;
    return n ? 0 : dk_error_set(c->err, DK_ECONFLICT, "该记录已被他人处理，请刷新后重试");
}

/* 标记疑似 (an institution or an authority). */
static int eff_iv_mark(flow_ctx *c)
{
    const char *sid = sstr(&c->s, "session_id");
    uint64_t n = 0;
    snprintf(c->sid, sizeof c->sid, "%s", sid);
    long long inst = c->a && c->a->kind == DOM_KIND_INSTITUTION ? c->a->institution_id : 0;
    const char *note = opt_str(c->body, "note");
    dk_param p[] = {inst ? DK_PINT(inst) : DK_PNULL, note ? DK_PSTR(note) : DK_PNULL, DK_PSTR(sid),
                    DK_PINT(sint(&c->s, "version"))};
    int rc = dk_mysql_exec(c->db,
                           "UPDATE invigilation SET mark_status = '疑似', marked_by = ?, "
                           "marked_at = NOW(3), mark_note = LEFT(?, 1000), lock_version = "
                           "lock_version + 1 WHERE session_id = ? AND lock_version = ?",
                           p, 4, NULL, &n, c->err);
    return iv_changed(c, rc, n);
}

/* 取消疑似标记 (an authority). */
static int eff_iv_unmark(flow_ctx *c)
{
    const char *sid = sstr(&c->s, "session_id");
    uint64_t n = 0;
    snprintf(c->sid, sizeof c->sid, "%s", sid);
    dk_param p[] = {DK_PSTR(sid), DK_PINT(sint(&c->s, "version"))};
    int rc = dk_mysql_exec(c->db,
                           "UPDATE invigilation SET mark_status = '无', lock_version = "
                           "lock_version + 1 WHERE session_id = ? AND lock_version = ?",
                           p, 2, NULL, &n, c->err);
    return iv_changed(c, rc, n);
}

/* 认定作弊 / 撤销认定 (the province): the session's result, the test's, and the enrolment
 * through its "tests" row. */
static int eff_iv_decide(flow_ctx *c)
{
    MYSQL *db = c->db;
    const char *sid = sstr(&c->s, "session_id");
    long long ver = sint(&c->s, "version");
    int rc;
    uint64_t n = 0;
    snprintf(c->sid, sizeof c->sid, "%s", sid);
    if (!c->a) return dk_error_set(c->err, DK_EINTERNAL, "a determination needs an actor");
    {
        int confirm = !strcmp(c->row->action, "determine");
        dk_param p[] = {DK_PSTR(c->to), DK_PINT(c->a->id), DK_PSTR(sid), DK_PINT(ver)};
        if ((rc = dk_mysql_exec(db,
                                "UPDATE invigilation SET mark_status = ?, decided_by = ?, "
                                "decided_at = NOW(3), lock_version = lock_version + 1 "
                                "WHERE session_id = ? AND lock_version = ?",
                                p, 4, NULL, &n, c->err)))
            return rc;
        if (!n) return dk_error_set(c->err, DK_ECONFLICT, "该记录已被他人处理，请刷新后重试");
        dk_param d[] = {DK_PSTR(sid), DK_PSTR(confirm ? "认定作弊" : "撤销认定"),
                        DK_PINT(c->a->authority_id), DK_PINT(c->a->id), DK_PSTR(c->reason)};
        if ((rc = dk_mysql_exec(
                 db,
                 "INSERT INTO cheating_determination (session_id, decision, "
                 "authority_id, decided_by, reason) VALUES (?, ?, ?, ?, LEFT(?, 1000))",
                 d, 5, NULL, NULL, c->err)))
            return rc;
        dk_param r[] = {DK_PINT(confirm), DK_PINT(confirm), DK_PSTR(sid)};
        if ((rc = dk_mysql_exec(db,
                                "UPDATE exam_result SET cheating_confirmed = ?, "
                                "final_passed = IF(?, 0, passed) WHERE session_id = ?",
                                r, 3, NULL, NULL, c->err)))
            return rc;
        /* the test's result, when this session is the one that decides it */
        if (!strcmp(sstr(&c->s, "last_session_id"), sid)) {
            const char *res = confirm || !sint(&c->s, "passed") ? DOM_RESULT_FAIL : DOM_RESULT_PASS;
            dk_param t[] = {DK_PSTR(res), DK_PINT(sint(&c->s, "enrolment_id")),
                            DK_PSTR(sstr(&c->s, "paper"))};
            if ((rc = dk_mysql_exec(db,
                                    "UPDATE enrolment_test SET result = ? WHERE enrolment_id = ? "
                                    "AND paper = ?",
                                    t, 3, NULL, NULL, c->err)))
                return rc;
        }
        /* and the enrolment moves as a failed (or, revoked, a passed) test would */
        char why[2100];
        snprintf(why, sizeof why, "%s：%s", confirm ? "认定作弊" : "撤销认定", c->reason);
        json_t *eb = json_pack("{s:s,s:s}", "reason", why, "result_reason",
                               confirm ? "认定作弊" : "测评不合格");
        json_t *eo = NULL;
        dom_flow_target t = {
            .entity = DOM_E_ENROLMENT, .action = "tests", .key = sint(&c->s, "enrolment_id")};
        rc = dom_flow_run_locked(db, c->a, &t, eb, 1, &eo, c->err);
        json_decref(eb);
        if (!rc) json_object_set_new(c->detail, "enrolment", eo);
        return rc;
    }
}

/* 申请考核机构. */
static int eff_ap_apply(flow_ctx *c)
{
    const char *note = opt_str(c->body, "note");
    dk_param p[] = {DK_PINT(sint(&c->s, "institution_id")), DK_PINT(sint(&c->s, "cycle_id")),
                    DK_PINT(sint(&c->s, "authority_id")), note ? DK_PSTR(note) : DK_PNULL};
    int rc = dk_mysql_exec(c->db,
                           "INSERT INTO assessor_application (institution_id, cycle_id, "
                           "authority_id, note) VALUES (?, ?, ?, LEFT(?, 1000))",
                           p, 4, NULL, NULL, c->err);
    if (!rc) c->id = (long long)mysql_insert_id(c->db);
    return rc;
}

/* 批准 / 驳回 an application; approval makes the institution a 考核机构. */
static int eff_ap_decide(flow_ctx *c)
{
    MYSQL *db = c->db;
    int rc;
    c->id = sint(&c->s, "application_id");
    dk_param p[] = {DK_PSTR(c->to), DK_PINT(c->a ? c->a->id : 0),
                    c->reason ? DK_PSTR(c->reason) : DK_PNULL, DK_PINT(c->id)};
    if ((rc = dk_mysql_exec(db,
                            "UPDATE assessor_application SET status = ?, decided_by = ?, "
                            "decided_at = NOW(3), reason = LEFT(?, 1000) WHERE id = ? "
                            "AND status = '待审核'",
                            p, 4, NULL, NULL, c->err)))
        return rc;
    if (!strcmp(c->to, "通过")) {
        dk_param q[] = {DK_PINT(sint(&c->s, "institution_id"))};
        return dk_mysql_exec(db, "UPDATE institution SET is_assessor = 1 WHERE id = ?", q, 1, NULL,
                             NULL, c->err);
    }
    return 0;
}

/* ---- locking and loading the entity ---------------------------------------------------------- */

/* Locks the entity's row (and the enrolment it belongs to) and loads its snapshot. */
static int load_entity(flow_ctx *c, const char *action, long long key, const char *skey)
{
    MYSQL *db = c->db;
    dk_error *err = c->err;
    int rc;
    long long eid = 0, pid = 0, cycle = 0;
    switch (c->e) {
    case DOM_E_ENROLMENT:
        if (!strcmp(action, "confirm")) {
            pid = key;
            dk_param p[] = {DK_PINT(pid)};
            if ((rc = dk_mysql_ll(db,
                                  "SELECT id FROM physician WHERE id = ? AND deleted_at IS NULL "
                                  "FOR UPDATE",
                                  p, 1, &pid, err)))
                return rc == DK_ENOTFOUND ? dk_error_set(err, DK_ENOTFOUND, "没有这位医师") : rc;
            if (!(cycle = c->t->cycle_id))
                return dk_error_set(err, DK_ENOTFOUND, "当前没有开放的考核周期");
        } else {
            dk_param p[] = {DK_PINT(key)};
            MYSQL_RES *res;
            if ((rc = dk_mysql_exec(db,
                                    "SELECT physician_id, cycle_id FROM enrolment WHERE id = ? "
                                    "FOR UPDATE",
                                    p, 1, &res, NULL, err)))
                return rc;
            MYSQL_ROW row = mysql_fetch_row(res);
            if (row) pid = strtoll(row[0], NULL, 10), cycle = strtoll(row[1], NULL, 10);
            mysql_free_result(res);
            if (!row) return dk_error_set(err, DK_ENOTFOUND, "没有这条报名记录");
        }
        if (!strcmp(action, "test_scored")) {
            dk_param p[] = {DK_PINT(key)};
            return snap_load(db, sql_enrol_scored_snap, p, 1, &c->s, "没有这条报名记录", err);
        }
        {
            dk_param p[] = {DK_PINT(cycle), DK_PINT(pid)};
            return snap_load(db, sql_enrol_snap, p, 2, &c->s, "没有这条报名记录", err);
        }
    case DOM_E_EXEMPTION: {
        const char *paper = NULL;
        char pbuf[16] = "";
        if (!strcmp(action, "request")) {
            eid = key;
            char proc[16] = "";
            dk_param p[] = {DK_PINT(eid)};
            if ((rc = dk_mysql_str(db,
                                   "SELECT IFNULL(procedure_type, '') FROM enrolment WHERE id = ? "
                                   "FOR UPDATE",
                                   p, 1, proc, sizeof proc, err)))
                return rc == DK_ENOTFOUND ? dk_error_set(err, DK_ENOTFOUND, "没有这条报名记录")
                                          : rc;
            exemption_paper(proc, &paper);
            if (!paper) paper = "";
        } else {
            MYSQL_RES *res;
            dk_param p[] = {DK_PINT(key)};
            if ((rc = dk_mysql_exec(
                     db, "SELECT enrolment_id, paper FROM exemption_request WHERE id = ?", p, 1,
                     &res, NULL, err)))
                return rc;
            MYSQL_ROW row = mysql_fetch_row(res);
            if (row) eid = strtoll(row[0], NULL, 10), snprintf(pbuf, sizeof pbuf, "%s", row[1]);
            mysql_free_result(res);
            if (!row) return dk_error_set(err, DK_ENOTFOUND, "没有这条免考申请");
            paper = pbuf;
            dk_param q[] = {DK_PINT(eid)};
            if ((rc = dk_mysql_exec(db, "SELECT id FROM enrolment WHERE id = ? FOR UPDATE", q, 1,
                                    NULL, NULL, err)) ||
                (rc = dk_mysql_exec(db, "SELECT id FROM exemption_request WHERE id = ? FOR UPDATE",
                                    p, 1, NULL, NULL, err)))
                return rc;
        }
        dk_param p[] = {DK_PSTR(paper), DK_PSTR(paper), DK_PINT(eid)};
        return snap_load(db, sql_exempt_snap, p, 3, &c->s, "没有这条免考申请", err);
    }
    case DOM_E_INVIGILATION: {
        dk_param p[] = {DK_PSTR(skey)};
        if ((rc = dk_mysql_ll(db, "SELECT enrolment_id FROM exam_session WHERE id = ?", p, 1, &eid,
                              err)))
            return rc == DK_ENOTFOUND ? dk_error_set(err, DK_ENOTFOUND, "没有这场测评") : rc;
        dk_param q[] = {DK_PINT(eid)};
        if ((rc = dk_mysql_exec(db, "SELECT id FROM enrolment WHERE id = ? FOR UPDATE", q, 1, NULL,
                                NULL, err)) ||
            (rc = dk_mysql_exec(db, "INSERT IGNORE INTO invigilation (session_id) VALUES (?)", p, 1,
                                NULL, NULL, err)) ||
            (rc = dk_mysql_exec(db,
                                "SELECT session_id FROM invigilation WHERE session_id = ? "
                                "FOR UPDATE",
                                p, 1, NULL, NULL, err)))
            return rc;
        return snap_load(db, sql_invig_snap, p, 1, &c->s, "没有这场测评", err);
    }
    case DOM_E_APPLICATION:
        if (!strcmp(action, "apply")) {
            dk_param p[] = {DK_PINT(key)};
            if ((rc = dk_mysql_exec(db, "SELECT id FROM institution WHERE id = ? FOR UPDATE", p, 1,
                                    NULL, NULL, err)))
                return rc;
            if (!(cycle = c->t->cycle_id))
                return dk_error_set(err, DK_ENOTFOUND, "当前没有开放的考核周期");
            dk_param q[] = {DK_PINT(cycle), DK_PINT(key)};
            return snap_load(db, sql_apply_snap, q, 2, &c->s, "没有这个机构", err);
        } else {
            dk_param p[] = {DK_PINT(key)};
            if ((rc = dk_mysql_exec(db,
                                    "SELECT id FROM assessor_application WHERE id = ? FOR UPDATE",
                                    p, 1, NULL, NULL, err)))
                return rc;
            return snap_load(db, sql_app_snap, p, 1, &c->s, "没有这条考核机构申请", err);
        }
    }
    return dk_error_set(err, DK_EINTERNAL, "unknown entity");
}

/* ---- the engine ------------------------------------------------------------------------------ */

static json_t *entity_state(flow_ctx *c)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "entity", entity_names[c->e], "from",
                          sstr(&c->s, "status"), "status", c->to);
    if (c->e == DOM_E_INVIGILATION)
        json_object_set_new(o, "session_id", json_string(c->sid));
    else
        json_object_set_new(o, "id", json_integer(c->id));
    if (c->e != DOM_E_APPLICATION && strcmp(c->to, NOT_IN_CYCLE) != 0) {
        int fresh = !strcmp(c->row->action, "confirm") ||
                    (!strcmp(c->row->action, "request") && !sint(&c->s, "exemption_id"));
        int same = (c->row->flags & P_QUIET_SAME) && !strcmp(c->to, sstr(&c->s, "status"));
        json_object_set_new(o, "version",
                            json_integer(fresh ? 0 : sint(&c->s, "version") + (same ? 0 : 1)));
    }
    if (c->result) json_object_set_new(o, "result", json_string(c->result));
    return o;
}

/* Does a row answer this (entity, action), for these roles (0: the system)? */
static int row_matches(const flow_row *r, dom_entity e, const char *action, unsigned roles,
                       int internal)
{
    return r->entity == e && !strcmp(r->action, action) && (internal || !(r->flags & P_INTERNAL)) &&
           (!roles || (r->roles & roles));
}

/* The roles that may run an action; 0 and *any = 0 when there is no such action. */
static unsigned action_roles(dom_entity e, const char *action, int internal, int *any)
{
    unsigned roles = 0;
    *any = 0;
    for (size_t i = 0; i < NFLOW; i++)
        if (row_matches(&flow[i], e, action, 0, internal)) {
            *any = 1;
            roles |= flow[i].roles;
        }
    return roles;
}

static int check_role(dom_entity e, const char *action, unsigned roles, int internal, dk_error *err)
{
    int any;
    unsigned rows_roles = action_roles(e, action, internal, &any);
    if (!any) return dk_error_set(err, DK_ENOTFOUND, "没有这个操作：%s", action);
    char rn[96];
    if (roles && !(rows_roles & roles))
        return dk_error_set(err, DK_EFORBIDDEN, "此操作只能由%s执行",
                            role_names(rows_roles, rn, sizeof rn));
    return 0;
}

int dom_flow_decide(const dom_flow_query *q, const flow_row **row, dk_error *err)
{
    *row = NULL;
    int rc = check_role(q->entity, q->action, q->roles, q->internal, err);
    if (rc) return rc;
    if (q->roles && !q->in_scope) return dk_error_set(err, DK_EFORBIDDEN, "不在本账号的管辖范围内");
    /* the status: which rows start here */
    char allowed[256] = "";
    for (size_t i = 0; i < NFLOW && !*row; i++) {
        const flow_row *r = &flow[i];
        if (!row_matches(r, q->entity, q->action, q->roles, q->internal)) continue;
        if (!strcmp(r->from, q->status))
            *row = r;
        else if (!strstr(allowed, r->from[0] ? r->from : "未参加")) {
            size_t l = strlen(allowed);
            snprintf(allowed + l, sizeof allowed - l, "%s「%s」", l ? "、" : "",
                     r->from[0] ? r->from : "未参加");
        }
    }
    if (!*row) {
        const flow_row *any_row = NULL;
        for (size_t i = 0; i < NFLOW && !any_row; i++)
            if (row_matches(&flow[i], q->entity, q->action, 0, 1)) any_row = &flow[i];
        return dk_error_set(err, DK_ECONFLICT, "当前状态为「%s」，不能执行「%s」（仅限状态：%s）",
                            q->status[0] ? q->status
                                         : (q->entity == DOM_E_ENROLMENT ? "未参加本周期" : "无"),
                            any_row ? any_row->label : q->action, allowed);
    }
    if (q->roles && ((*row)->flags & P_VERSION)) {
        if (q->client_version < 0)
            rc = dk_error_set(err, DK_EINVAL,
                              "缺少 version（请先读取记录，再带着它的 version 提交）");
        else if (q->client_version != q->version)
            rc = dk_error_set(err, DK_ECONFLICT,
                              "该记录已被他人处理（版本 %lld，当前 %lld），请刷新后重试",
                              q->client_version, q->version);
        if (rc) *row = NULL;
    }
    return rc;
}

size_t dom_flow_nrows(void)
{
    return NFLOW;
}

const dom_flow_row *dom_flow_row_at(size_t i)
{
    return i < NFLOW ? &flow[i] : NULL;
}

void dom_flow_row_info(const dom_flow_row *r, dom_entity *e, const char **action, const char **from,
                       unsigned *roles, int *internal, int *versioned)
{
    *e = r->entity;
    *action = r->action;
    *from = r->from;
    *roles = r->roles;
    *internal = (r->flags & P_INTERNAL) != 0;
    *versioned = (r->flags & P_VERSION) != 0;
}

int dom_flow_run_locked(MYSQL *db, const dom_actor *a, const dom_flow_target *t, json_t *body,
                        int internal, json_t **out, dk_error *err)
{
    dom_entity e = t->entity;
    const char *action = t->action;
    unsigned roles = a ? a->roles : 0;
    /* who may run it, before any lock is taken */
    int rc = check_role(e, action, roles, internal, err);
    if (rc) return rc;
    int any;
    flow_ctx c = {.a = a, .t = t, .db = db, .err = err, .e = e, .body = body};
    c.acting = a ? acting_role(a, action_roles(e, action, internal, &any)) : 0;
    if ((rc = load_entity(&c, action, t->key, t->sid))) return rc;
    const char *status = sstr(&c.s, "status");
    json_t *v = json_object_get(body, "version");
    dom_flow_query q = {.entity = e,
                        .action = action,
                        .roles = roles,
                        .in_scope = a ? in_scope(a, c.acting, &c.s) : 1,
                        .status = status,
                        .client_version = json_is_integer(v) ? json_integer_value(v) : -1,
                        .version = sint(&c.s, "version"),
                        .internal = internal};
    /* role, scope, status and version; then the time window, the fields and the rest */
    if ((rc = dom_flow_decide(&q, &c.row, err))) goto done;
    if (a && (rc = check_window(&c))) goto done;
    if ((rc = check_required(&c))) goto done;
    if (a && (rc = check_preconditions(&c))) goto done;
    /* among the rows of this (action, from), the first whose branch condition holds */
    const flow_row *first = c.row;
    c.row = NULL;
    for (const flow_row *r = first; r < flow + NFLOW && !c.row; r++)
        if (row_matches(r, e, action, roles, internal) && !strcmp(r->from, status) &&
            branch_holds(&c, r))
            c.row = r;
    if (!c.row) {
        rc = dk_error_set(err, DK_ECONFLICT, "当前情况下不能执行此操作");
        goto done;
    }
    c.reason = opt_str(body, "reason");
    /* the texts of an action land in VARCHAR(n) columns: refuse a longer one rather than
     * cut it (the columns count characters, so does dk_text_max) */
    for (size_t i = 0; i < sizeof text_limits / sizeof text_limits[0]; i++)
        if ((rc = dk_text_max(err, text_limits[i].label, opt_str(body, text_limits[i].field),
                              text_limits[i].max)))
            goto done;
    c.to = c.row->to;
    c.detail = json_object();
    rc = c.row->effect(&c);
    int quiet = (c.row->flags & P_QUIET_SAME) && !strcmp(c.to, status);
    if (!rc && !quiet) {
        json_object_set_new(c.detail, "label", json_string(c.row->label));
        if (c.result) json_object_set_new(c.detail, "result", json_string(c.result));
        if (c.result_reason)
            json_object_set_new(c.detail, "result_reason", json_string(c.result_reason));
        if (a && a->reviewer_id)
            json_object_set_new(c.detail, "reviewer",
                                json_pack("{s:I,s:s,s:I}", "id", (json_int_t)a->reviewer_id, "name",
                                          a->reviewer_name, "institution_id",
                                          (json_int_t)a->institution_id));
        dom_audit_row ar = {.actor_type = dom_actor_type(a, c.acting),
                            .actor_id = dom_actor_id(a),
                            .role = dom_role_name(a, c.acting),
                            .action = action,
                            .entity_type = entity_names[e],
                            .entity_id = c.id,
                            .entity_sid = e == DOM_E_INVIGILATION ? c.sid : NULL,
                            .from = status,
                            .to = c.to[0] ? c.to : "未参加",
                            .reason = c.reason,
                            .detail = c.detail,
                            .ip = a ? a->ip : NULL};
        rc = dom_audit(db, &ar, err);
    }
    if (!rc && out) *out = entity_state(&c);
done:
    json_decref(c.detail);
    snap_free(&c.s);
    return rc;
}

int dom_flow_run(MYSQL *db, const dom_actor *a, const dom_flow_target *t, json_t *body,
                 json_t **out, dk_error *err)
{
    if (out) *out = NULL;
    /* the caller's connection runs in READ COMMITTED (dom_flow.h): each plain read after
     * the locks sees what is committed now */
    int rc = dk_mysql_begin(db, err);
    if (rc) return rc;
    rc = dom_flow_run_locked(db, a, t, body, 0, out, err);
    if (!rc) rc = dk_mysql_commit(db, err);
    if (rc) {
        dk_mysql_rollback(db);
        if (out && *out) {
            json_decref(*out);
            *out = NULL;
        }
    }
    return rc;
}

int dom_flow_test_scored(MYSQL *db, long long enrolment_id, const char *paper, int passed,
                         const char *sid, char *status_out, size_t outsz, dk_error *err)
{
    dom_flow_target t = {.entity = DOM_E_ENROLMENT, .action = "test_scored", .key = enrolment_id};
    json_t *body = json_pack("{s:s,s:b,s:s}", "paper", paper, "passed", passed, "session_id", sid);
    json_t *out = NULL;
    int rc = dom_flow_run_locked(db, NULL, &t, body, 1, &out, err);
    json_decref(body);
    if (!rc) snprintf(status_out, outsz, "%s", json_string_value(json_object_get(out, "status")));
    json_decref(out);
    return rc;
}

/* ---- the absentee sweep (seed [001]: "未参加…测评被判定为考核不合格") ------------------ */

/* After the test window, a required test nobody sat is failed (attempt 1) and the
 * enrolment moves on (待确认补考); after the makeup window, a failed test not sat again
 * counts as the makeup failed (考核完成 不合格). Sessions still live are left to examd. */
int dom_flow_absentee_locked(MYSQL *db, long long eid, const char *expect, int *moved,
                             dk_error *err)
{
    *moved = 0;
    int makeup = !strcmp(expect, DOM_ST_TO_MAKEUP);
    char proc[16] = "", status[48] = "";
    dk_param p[] = {DK_PINT(eid)};
    MYSQL_RES *r1;
    int rc = dk_mysql_exec(db,
                           "SELECT IFNULL(procedure_type, ''), status FROM enrolment "
                           "WHERE id = ? FOR UPDATE",
                           p, 1, &r1, NULL, err);
    if (rc) return rc;
    MYSQL_ROW er = mysql_fetch_row(r1);
    if (er) snprintf(proc, sizeof proc, "%s", er[0]), snprintf(status, sizeof status, "%s", er[1]);
    mysql_free_result(r1);
    if (!er || strcmp(status, expect)) return 0;
    long long live = 0;
    if ((rc = dk_mysql_ll(db,
                          "SELECT COUNT(*) FROM exam_session WHERE enrolment_id = ? AND "
                          "status = 'live'",
                          p, 1, &live, err)))
        return rc;
    if (live) return 0;
    dom_paper_state st[2];
    if ((rc = dom_paper_states(db, eid, proc, st, err))) return rc;
    for (int k = 0; k < 2; k++) {
        if (!st[k].required || st[k].exempted) continue;
        int absent = makeup ? !strcmp(st[k].result, DOM_RESULT_FAIL) && st[k].attempts < 2
                            : !st[k].result[0];
        if (!absent) continue;
        dk_param t[] = {DK_PINT(eid), DK_PSTR(dom_papers[k]), DK_PINT(st[k].required),
                        DK_PINT(makeup ? 2 : 1)};
        if ((rc = dk_mysql_exec(db,
                                "INSERT INTO enrolment_test (enrolment_id, paper, required, "
                                "exempted, result, attempts) VALUES (?, ?, ?, 0, '" DOM_RESULT_FAIL
                                "', ?) ON DUPLICATE KEY UPDATE result = '" DOM_RESULT_FAIL "', "
                                "attempts = VALUES(attempts)",
                                t, 4, NULL, NULL, err)))
            return rc;
    }
    const char *why = makeup ? "未参加补考" : "未参加测评";
    json_t *body = json_pack("{s:s,s:s}", "reason", why, "result_reason", why);
    dom_flow_target t = {.entity = DOM_E_ENROLMENT, .action = "tests", .key = eid};
    rc = dom_flow_run_locked(db, NULL, &t, body, 1, NULL, err);
    json_decref(body);
    if (!rc) *moved = 1;
    return rc;
}

int dom_flow_absentees(MYSQL *db, const char *path, int *moved, dk_error *err)

{
    *moved = 0;
    MYSQL_RES *res;
    dk_param pp[] = {DK_PSTR(path ? path : "/")};
    int rc =
        dk_mysql_exec(db,
                      "SELECT e.id, e.status FROM enrolment e JOIN cycle c ON c.id = e.cycle_id "
                      "JOIN authority au ON au.id = c.authority_id WHERE au.path LIKE "
                      "CONCAT(?, '%') AND " DOM_ABSENTEE_SQL("e", "c") " LIMIT 500",
                      pp, 1, &res, NULL, err);
    if (rc) return rc;
    long long ids[500];
    int makeup[500], n = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) && n < 500) {
        ids[n] = strtoll(row[0], NULL, 10);
        makeup[n++] = !strcmp(row[1], DOM_ST_TO_MAKEUP);
    }
    mysql_free_result(res);
    for (int i = 0; i < n; i++) {
        int one = 0;
        if ((rc = dk_mysql_exec(db, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED", NULL, 0, NULL,
                                NULL, err)) ||
            (rc = dk_mysql_begin(db, err)))
            return rc;
        if ((rc = dom_flow_absentee_locked(
                 db, ids[i], makeup[i] ? DOM_ST_TO_MAKEUP : DOM_ST_TO_TEST, &one, err)))
            goto fail;
        if ((rc = dk_mysql_commit(db, err))) goto fail;
        *moved += one;
    }
    return 0;
fail:
    dk_mysql_rollback(db);
    return rc;
}
