/* dom_status.h - the names of every status the domain writes, once (DESIGN §1.1; the
 * seed manuals' own words, so they are Chinese). Use the constants, never the literal:
 * SQL text takes them by string concatenation ("... status = '" DOM_ST_TO_TEST "'"). */
#ifndef DOM_STATUS_H
#define DOM_STATUS_H

/* enrolment.status */
#define DOM_ST_NONE ""                                         /* no enrolment in the cycle */
#define DOM_ST_TO_REGISTER "待报名"                           /* confirmed, not submitted */
#define DOM_ST_INST_REJECTED "待报名（被机构驳回）"           /* back to the physician */
#define DOM_ST_INST_REVIEW "待医疗卫生机构审核"               /* submitted */
#define DOM_ST_INST_REVIEW_AGAIN "待医疗卫生机构审核（被考核机构驳回）"
#define DOM_ST_ASSESSOR_REVIEW "待考核机构复核"
#define DOM_ST_TO_TEST "待参加考核"
#define DOM_ST_MAKEUP_CONFIRM "待确认补考"
#define DOM_ST_TO_MAKEUP "待参加补考"
#define DOM_ST_DONE "考核完成"
#define DOM_ST_WITHDRAWN "退出本周期"

/* enrolment.result, enrolment_test.result, evaluations */
#define DOM_RESULT_PASS "合格"
#define DOM_RESULT_FAIL "不合格"

/* physician.status */
#define DOM_PHYS_ACTIVE "在岗"
#define DOM_PHYS_LEFT "离岗"

/* procedures and papers */
#define DOM_PROC_GENERAL "一般程序"
#define DOM_PROC_SIMPLE "简易程序"
#define DOM_PAPER_PUBLIC "公共知识" /* the 人文医学 test */
#define DOM_PAPER_PRACTICE "业务水平"

#endif
