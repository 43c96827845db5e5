/* admin_server.c - admind's route table, its pools, the job runner that carries a
 * request to a worker thread and its reply back, the maintenance timer, and start/stop.
 *
 * Adding an endpoint is adding a row to admin_apis: who may call it (roles), which
 * pool runs it, and its work function. The runner checks the token on the loop (HMAC,
 * microseconds, then the loop's table of revocations: domain/dom_token.h), then on a
 * database thread loads the actor (account still enabled, roles, authority path) and
 * refuses a role the row does not list, before the work function runs. A route named in
 * admin_route_limits is counted per caller in Redis on the loop before its job is queued,
 * so a refused call costs no thread. Nothing here blocks a loop. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_export.h"
#include "dk_clock.h"
#include "dk_serve.h"
#include "question_bank.h"

static void admin_healthz(dk_req *rq);
static void admin_metrics(dk_req *rq);
static void api_run(dk_req *rq);

#define R_P ADMIN_R_PHYS
#define R_I ADMIN_R_INST
#define R_S ADMIN_R_ASSESSOR
#define R_A (ADMIN_R_AUTH | ADMIN_R_PROVINCE)
#define R_PV ADMIN_R_PROVINCE
#define R_ALL ADMIN_R_ANY
#define R_QB (ADMIN_R_QBANK | ADMIN_R_PROVINCE) /* the question-bank pages */
#define F_PUB ADMIN_F_PUBLIC
#define F_MC ADMIN_F_MUST_CHANGE
#define F_RAW ADMIN_F_RAW
#define F_HASH ADMIN_F_HASH
#define F_PHOTO ADMIN_F_PHOTO

static const admin_api admin_apis[] = {
    /* method, pattern, loop handler, work, roles, flags, name, max body */
    {"GET", "/healthz", admin_healthz, NULL, 0, F_PUB, "healthz", 0},
    {"GET", "/metrics", admin_metrics, NULL, 0, F_PUB, "metrics", 0},
    /* accounts */
    {"GET", "/api/v1/captcha", admin_captcha, NULL, 0, F_PUB, "captcha", 0},
    {"POST", "/api/v1/login", admin_login, NULL, 0, F_PUB, "login", 4096},
    {"POST", "/api/v1/password", NULL, admin_password, R_ALL | ADMIN_R_QBANK, F_MC | F_HASH, "password",
     4096},
    {"POST", "/api/v1/logout", NULL, admin_logout, R_ALL | ADMIN_R_QBANK, F_MC, "logout", 0},
    {"GET", "/api/v1/me", NULL, admin_me, R_ALL | ADMIN_R_QBANK, F_MC, "me", 0},
    {"GET", "/api/v1/workflow", NULL, admin_workflow, R_ALL, 0, "workflow", 0},
    {"GET", "/api/v1/subjects", NULL, admin_subjects, R_ALL, 0, "subjects", 0},
    {"GET", "/api/v1/cycles", NULL, admin_cycle_list, R_ALL, 0, "cycles", 0},
    {"GET", "/api/v1/cycles/{}", NULL, admin_cycle_get, R_ALL, 0, "cycle_get", 0},
    /* the physician's own registration (the exam page) */
    {"GET", "/api/v1/physician/me", NULL, admin_phys_me, R_P, 0, "phys_me", 0},
    {"PUT", "/api/v1/physician/profile", NULL, admin_phys_profile, R_P, 0, "phys_profile", 0},
    {"PUT", "/api/v1/physician/registration", NULL, admin_phys_registration, R_P, 0,
     "phys_registration", 256 << 10},
    {"PUT", "/api/v1/physician/photo", NULL, admin_phys_photo_put, R_P, F_RAW | F_PHOTO,
     "phys_photo_put", ADMIN_PHOTO_MAX},
    {"GET", "/api/v1/physician/photo", NULL, admin_phys_photo_get, R_P, 0, "phys_photo_get", 0},
    {"POST", "/api/v1/physician/exemption", NULL, admin_phys_exemption, R_P, 0, "phys_exemption",
     0},
    {"POST", "/api/v1/physician/exemption/attachments", NULL, admin_phys_exemption_attach, R_P,
     F_RAW, "phys_exemption_attach", ADMIN_ATTACH_MAX},
    {"GET", "/api/v1/physician/results", NULL, admin_phys_results, R_P, 0, "phys_results", 0},
    {"POST", "/api/v1/physician/registration/attachments", NULL, admin_phys_proof_upload, R_P,
     F_RAW, "phys_proof_upload", ADMIN_ATTACH_MAX},
    {"DELETE", "/api/v1/physician/registration/attachments/{}", NULL, admin_phys_proof_delete, R_P,
     0, "phys_proof_delete", 0},
    /* enrolments and exemptions: every status change goes through the workflow table */
    {"GET", "/api/v1/enrolments/{}", NULL, admin_enrolment_get, R_ALL, 0, "enrolment_get", 0},
    {"POST", "/api/v1/enrolments/{}/actions/{}", NULL, admin_enrolment_action, R_ALL, 0,
     "enrolment_action", 0},
    {"POST", "/api/v1/enrolments/{}/opinions", NULL, admin_enrolment_opinion, R_I, 0,
     "enrolment_opinion", 0},
    {"GET", "/api/v1/enrolments/{}/log", NULL, admin_enrolment_log, R_ALL, 0, "enrolment_log", 0},
    {"GET", "/api/v1/enrolments/{}/certificate", NULL, admin_certificate, R_ALL, 0, "certificate",
     0},
    {"POST", "/api/v1/exemptions/{}/actions/{}", NULL, admin_exemption_action, R_I | R_S, 0,
     "exemption_action", 0},
    {"GET", "/api/v1/attachments/{}", NULL, admin_attachment_get, R_ALL, 0, "attachment_get", 0},
    /* institution */
    {"GET", "/api/v1/institution/profile", NULL, admin_inst_profile_get, R_I, 0, "inst_profile", 0},
    {"PUT", "/api/v1/institution/profile", NULL, admin_inst_profile_put, R_I, 0, "inst_profile_put",
     0},
    {"GET", "/api/v1/institution/home", NULL, admin_inst_home, R_I, 0, "inst_home", 0},
    {"GET", "/api/v1/institution/departments", NULL, admin_dept_list, R_I, 0, "dept_list", 0},
    {"POST", "/api/v1/institution/departments", NULL, admin_dept_create, R_I, 0, "dept_create", 0},
    {"PUT", "/api/v1/institution/departments/{}", NULL, admin_dept_update, R_I, 0, "dept_update",
     0},
    {"POST", "/api/v1/institution/departments/{}/enable", NULL, admin_dept_enable, R_I, 0,
     "dept_enable", 0},
    {"POST", "/api/v1/institution/departments/{}/disable", NULL, admin_dept_disable, R_I, 0,
     "dept_disable", 0},
    {"DELETE", "/api/v1/institution/departments/{}", NULL, admin_dept_delete, R_I, 0, "dept_delete",
     0},
    {"GET", "/api/v1/institution/physicians", NULL, admin_phys_list, R_I, 0, "phys_list", 0},
    {"POST", "/api/v1/institution/physicians", NULL, admin_phys_create, R_I, 0, "phys_create", 0},
    {"POST", "/api/v1/institution/physicians/import", NULL, admin_phys_import, R_I, F_RAW,
     "phys_import", ADMIN_CSV_MAX},
    {"GET", "/api/v1/institution/physicians/export", NULL, admin_phys_export, R_I, 0, "phys_export",
     0},
    {"POST", "/api/v1/institution/physicians/confirm-batch", NULL, admin_phys_confirm_batch, R_I, 0,
     "phys_confirm_batch", 0},
    {"GET", "/api/v1/institution/transfer-candidates", NULL, admin_phys_transfer_lookup, R_I, 0,
     "transfer_lookup", 0},
    {"POST", "/api/v1/institution/physicians/transfer-in", NULL, admin_phys_transfer_in, R_I, 0,
     "transfer_in", 0},
    {"GET", "/api/v1/institution/physicians/{}", NULL, admin_phys_detail, R_I, 0, "phys_detail", 0},
    {"POST", "/api/v1/institution/physicians/{}/confirm", NULL, admin_phys_confirm, R_I, 0,
     "phys_confirm", 0},
    {"POST", "/api/v1/institution/physicians/{}/cancel", NULL, admin_phys_cancel, R_I, 0,
     "phys_cancel", 0},
    {"POST", "/api/v1/institution/physicians/{}/reset-password", NULL, admin_phys_reset_password,
     R_I, 0, "phys_reset_password", 0},
    {"POST", "/api/v1/institution/physicians/{}/leave", NULL, admin_phys_leave, R_I, 0,
     "phys_leave", 0},
    {"DELETE", "/api/v1/institution/physicians/{}", NULL, admin_phys_delete, R_I, 0, "phys_delete",
     0},
    {"GET", "/api/v1/institution/reviews", NULL, admin_reviews, R_I, 0, "reviews", 0},
    {"GET", "/api/v1/institution/exemptions", NULL, admin_exemptions, R_I, 0, "exemptions", 0},
    {"GET", "/api/v1/institution/progress", NULL, admin_progress, R_I | R_A, 0, "progress", 0},
    {"GET", "/api/v1/institution/test-progress", NULL, admin_test_progress, R_I | R_A, 0,
     "test_progress", 0},
    {"GET", "/api/v1/institution/history", NULL, admin_history, R_I | R_A, 0, "history", 0},
    {"GET", "/api/v1/institution/assessor-applications", NULL, admin_application_list, R_I, 0,
     "applications", 0},
    {"POST", "/api/v1/institution/assessor-applications", NULL, admin_application_create, R_I, 0,
     "application_create", 0},
    {"POST", "/api/v1/institution/assessor-applications/{}/attachments", NULL,
     admin_application_attach, R_I, F_RAW, "application_attach", ADMIN_ATTACH_MAX},
    /* 信息审核员 accounts of the institution (admin_reviewer.c; never a reviewer's) */
    {"GET", "/api/v1/institution/reviewers", NULL, admin_reviewer_list, R_I, 0, "reviewers", 0},
    {"POST", "/api/v1/institution/reviewers", NULL, admin_reviewer_create, R_I, 0,
     "reviewer_create", 4096},
    {"POST", "/api/v1/institution/reviewers/{}/disable", NULL, admin_reviewer_disable, R_I, 0,
     "reviewer_disable", 0},
    {"POST", "/api/v1/institution/reviewers/{}/enable", NULL, admin_reviewer_enable, R_I, 0,
     "reviewer_enable", 0},
    {"POST", "/api/v1/institution/reviewers/{}/reset-password", NULL, admin_reviewer_reset, R_I, 0,
     "reviewer_reset", 0},
    /* assessment institution 考核机构 */
    {"GET", "/api/v1/assessor/reviews", NULL, admin_assessor_reviews, R_S, 0, "assessor_reviews",
     0},
    {"GET", "/api/v1/assessor/exemptions", NULL, admin_assessor_exemptions, R_S, 0,
     "assessor_exemptions", 0},
    /* invigilation 监考管理 */
    {"GET", "/api/v1/invigilation", NULL, admin_invig_list, R_I | R_A, 0, "invig_list", 0},
    {"GET", "/api/v1/invigilation/{}", NULL, admin_invig_get, R_I | R_A, 0, "invig_get", 0},
    {"POST", "/api/v1/invigilation/{}/actions/{}", NULL, admin_invig_action, R_I | R_A, 0,
     "invig_action", 0},
    {"GET", "/api/v1/captures/{}/photo", NULL, admin_capture_photo, R_I | R_A, 0, "capture_photo",
     0},
    {"GET", "/api/v1/physicians/{}/photo", NULL, admin_registered_photo, R_I | R_S | R_A, 0,
     "registered_photo", 0},
    /* health authority 卫生行政部门 */
    {"POST", "/api/v1/cycles", NULL, admin_cycle_create, R_PV, 0, "cycle_create", 0},
    {"PUT", "/api/v1/cycles/{}", NULL, admin_cycle_update, R_PV, 0, "cycle_update", 0},
    {"GET", "/api/v1/authority/home", NULL, admin_authority_home, R_A, 0, "authority_home", 0},
    {"GET", "/api/v1/authority/stats", NULL, admin_authority_stats, R_A, 0, "authority_stats", 0},
    {"GET", "/api/v1/authority/authorities", NULL, admin_authorities, R_A, 0, "authorities", 0},
    {"GET", "/api/v1/authority/institutions", NULL, admin_auth_inst_list, R_A, 0, "auth_insts", 0},
    {"POST", "/api/v1/authority/institutions", NULL, admin_auth_inst_create, R_A, 0,
     "auth_inst_create", 0},
    {"POST", "/api/v1/authority/institutions/{}/reset-password", NULL, admin_auth_inst_reset, R_A,
     0, "auth_inst_reset", 0},
    {"POST", "/api/v1/authority/institutions/{}/apply-right", NULL, admin_auth_inst_apply_right,
     R_A, 0, "auth_inst_apply_right", 0},
    {"GET", "/api/v1/authority/applications", NULL, admin_auth_applications, R_A, 0,
     "auth_applications", 0},
    {"POST", "/api/v1/authority/applications/{}/actions/{}", NULL, admin_auth_application_action,
     R_A, 0, "auth_application_action", 0},
    {"GET", "/api/v1/authority/assignments", NULL, admin_assignment_list, R_A, 0, "assignments", 0},
    {"POST", "/api/v1/authority/assignments", NULL, admin_assignment_set, R_A, 0, "assignment_set",
     0},
    {"GET", "/api/v1/authority/enrolments", NULL, admin_authority_enrolments, R_A, 0,
     "auth_enrolments", 0},
    {"POST", "/api/v1/authority/maintenance", NULL, admin_maintenance, R_PV, 0, "maintenance", 0},
    /* bulk actions with a count preview (admin_bulk.c) */
    {"GET", "/api/v1/authority/makeups/preview", NULL, admin_bulk_makeup_preview, R_PV, 0,
     "bulk_makeup_preview", 0},
    {"POST", "/api/v1/authority/makeups/bulk", NULL, admin_bulk_makeup, R_PV, 0, "bulk_makeup",
     8192},
    {"GET", "/api/v1/authority/absentees/preview", NULL, admin_bulk_absentee_preview, R_A, 0,
     "bulk_absentee_preview", 0},
    {"POST", "/api/v1/authority/absentees/mark", NULL, admin_bulk_absentees, R_A, 0,
     "bulk_absentees", 4096},
    /* continuing medical education 继续医学教育 (admin_cme*.c) */
    {"GET", "/api/v1/cme/projects", NULL, admin_cme_project_list, R_I | R_A, 0, "cme_projects", 0},
    {"POST", "/api/v1/cme/projects", NULL, admin_cme_project_create, R_I, 0, "cme_declare",
     256 << 10},
    {"GET", "/api/v1/cme/projects/{}", NULL, admin_cme_project_get, R_I | R_A, 0, "cme_project", 0},
    {"PUT", "/api/v1/cme/projects/{}", NULL, admin_cme_project_redeclare, R_I, 0, "cme_redeclare",
     256 << 10},
    {"POST", "/api/v1/cme/projects/{}/city-review", NULL, admin_cme_city_review, R_A, 0,
     "cme_city_review", 0},
    {"POST", "/api/v1/cme/projects/{}/province-review", NULL, admin_cme_province_review, R_PV, 0,
     "cme_province_review", 0},
    {"POST", "/api/v1/cme/projects/{}/swipes", NULL, admin_cme_swipe, R_I, 0, "cme_swipe", 4096},
    {"GET", "/api/v1/cme/projects/{}/attendance", NULL, admin_cme_attendance, R_I | R_A, 0,
     "cme_attendance", 0},
    {"POST", "/api/v1/cme/projects/{}/paper-attendees", NULL, admin_cme_paper_import, R_I, F_RAW,
     "cme_paper_import", ADMIN_CSV_MAX},
    {"GET", "/api/v1/cme/projects/{}/signin-sheet", NULL, admin_cme_signin_sheet, R_I | R_A, 0,
     "cme_signin_sheet", 0},
    {"POST", "/api/v1/cme/projects/{}/feedback", NULL, admin_cme_feedback, R_I, 0, "cme_feedback",
     256 << 10},
    {"POST", "/api/v1/cme/projects/{}/feedback/check", NULL, admin_cme_feedback_check, R_PV, 0,
     "cme_feedback_check", 0},
    {"POST", "/api/v1/cme/projects/{}/grant", NULL, admin_cme_grant, R_PV, 0, "cme_grant", 0},
    {"GET", "/api/v1/cme/cards", NULL, admin_cme_card_list, R_I | R_A, 0, "cme_cards", 0},
    {"POST", "/api/v1/cme/cards", NULL, admin_cme_card_create, R_I, 0, "cme_card_create", 0},
    {"GET", "/api/v1/cme/records", NULL, admin_cme_records, R_I | R_A, 0, "cme_records", 0},
    {"GET", "/api/v1/physician/cme", NULL, admin_cme_mine, R_P, 0, "cme_mine", 0},
    {"GET", "/api/v1/cme/rules", NULL, admin_cme_rule_get, R_I | R_A, 0, "cme_rule", 0},
    {"PUT", "/api/v1/cme/rules/{}", NULL, admin_cme_rule_put, R_PV, 0, "cme_rule_put", 0},
    {"GET", "/api/v1/cme/settings", NULL, admin_cme_settings_get, R_I | R_A, 0, "cme_settings", 0},
    {"PUT", "/api/v1/cme/settings", NULL, admin_cme_settings_put, R_PV, 0, "cme_settings_put", 0},
    {"GET", "/api/v1/cme/stats", NULL, admin_cme_stats, R_A, 0, "cme_stats", 0},
    {"GET", "/api/v1/cme/batch-date", NULL, admin_cme_batch_date, R_A, 0, "cme_batch_date", 0},
    {"GET", "/api/v1/cme/calendar", NULL, admin_cme_calendar_list, R_A, 0, "cme_calendar", 0},
    {"PUT", "/api/v1/cme/calendar/{}", NULL, admin_cme_calendar_put, R_PV, 0, "cme_calendar_put",
     0},
    {"DELETE", "/api/v1/cme/calendar/{}", NULL, admin_cme_calendar_delete, R_PV, 0,
     "cme_calendar_delete", 0},
    /* item analysis 试题分析 (admin_itemstats.c) */
    {"GET", "/api/v1/item-analysis", NULL, admin_items_summary, ADMIN_R_ITEMS, 0, "items_summary",
     0},
    {"GET", "/api/v1/item-analysis/questions", NULL, admin_items_questions, ADMIN_R_ITEMS, 0,
     "items_questions", 0},
    {"GET", "/api/v1/item-analysis/export", NULL, admin_items_export, ADMIN_R_ITEMS, 0,
     "items_export", 0},
    {"GET", "/api/v1/item-analysis/runs", NULL, admin_items_runs, ADMIN_R_ITEMS, 0, "items_runs", 0},
    {"POST", "/api/v1/item-analysis/runs", NULL, admin_items_request, ADMIN_R_ITEMS, 0,
     "items_request", 4096},
    /* issue 16: authority units and accounts below, institutions of the area (admin_region.c) */
    {"POST", "/api/v1/authority/authorities", NULL, admin_region_unit_create, R_A, 0,
     "region_unit_create", 0},
    {"PUT", "/api/v1/authority/authorities/{}", NULL, admin_region_unit_update, R_A, 0,
     "region_unit_update", 0},
    {"GET", "/api/v1/authority/accounts", NULL, admin_region_account_list, R_A, 0,
     "region_accounts", 0},
    {"POST", "/api/v1/authority/accounts", NULL, admin_region_account_create, R_A, 0,
     "region_account_create", 4096},
    {"PUT", "/api/v1/authority/accounts/{}", NULL, admin_region_account_update, R_A, 0,
     "region_account_update", 4096},
    {"POST", "/api/v1/authority/accounts/{}/enable", NULL, admin_region_account_enable, R_A, 0,
     "region_account_enable", 0},
    {"POST", "/api/v1/authority/accounts/{}/disable", NULL, admin_region_account_disable, R_A, 0,
     "region_account_disable", 0},
    {"POST", "/api/v1/authority/accounts/{}/reset-password", NULL, admin_region_account_reset,
     R_A, 0, "region_account_reset", 0},
    {"PUT", "/api/v1/authority/institutions/{}", NULL, admin_region_inst_update, R_A, 0,
     "region_inst_update", 8192},
    {"POST", "/api/v1/authority/institutions/{}/enable", NULL, admin_region_inst_enable, R_A, 0,
     "region_inst_enable", 0},
    {"POST", "/api/v1/authority/institutions/{}/disable", NULL, admin_region_inst_disable, R_A, 0,
     "region_inst_disable", 0},
    {"POST", "/api/v1/authority/institutions/import", NULL, admin_region_inst_import, R_A,
     F_RAW | F_HASH, "region_inst_import", 256 << 10},
    /* conduct records and the 不合格 list (admin_conduct.c) */
    {"GET", "/api/v1/authority/conduct-records", NULL, admin_conduct_list, R_A, 0,
     "conduct_records", 0},
    {"POST", "/api/v1/authority/conduct-records", NULL, admin_conduct_create, R_A, 0,
     "conduct_create", 8192},
    {"POST", "/api/v1/authority/conduct-records/import", NULL, admin_conduct_import, R_A, F_RAW,
     "conduct_import", ADMIN_CSV_MAX},
    {"GET", "/api/v1/authority/failed", NULL, admin_failed_list, R_A, 0, "failed_list", 0},
    {"POST", "/api/v1/authority/failed/{}/actions", NULL, admin_failed_record, R_A, 0,
     "failed_record", 4096},
    /* the 电子化注册 link (admin_registry.c) */
    {"GET", "/api/v1/registry", NULL, admin_registry_get, R_I | R_A, 0, "registry", 0},
    {"PUT", "/api/v1/registry", NULL, admin_registry_put, R_PV, 0, "registry_put", 1024},
    {"POST", "/api/v1/registry/import", NULL, admin_registry_import, R_A, F_RAW, "registry_import",
     ADMIN_CSV_MAX},
    /* 跟班带教修改申请 (admin_teaching.c) */
    {"POST", "/api/v1/physician/teaching-requests", NULL, admin_teaching_request_create, R_P, 0,
     "teaching_request", 8192},
    {"GET", "/api/v1/physician/teaching-requests", NULL, admin_teaching_request_mine, R_P, 0,
     "teaching_mine", 0},
    {"GET", "/api/v1/institution/teaching-requests", NULL, admin_teaching_request_list, R_I, 0,
     "teaching_requests", 0},
    {"POST", "/api/v1/institution/teaching-requests/{}/actions/{}", NULL,
     admin_teaching_request_action, R_I, 0, "teaching_action", 4096},
    /* the institution's 考核统计 and 补考管理 (admin_stats.c) */
    {"GET", "/api/v1/institution/stats", NULL, admin_inst_stats, R_I, 0, "inst_stats", 0},
    {"GET", "/api/v1/institution/makeups", NULL, admin_inst_makeups, R_I, 0, "inst_makeups", 0},
    /* exports (lists: ?format=xlsx|csv; the certificate: ?format=pdf) and the public check of
     * a certificate (admin_export.h) */
    {"GET", "/api/v1/public/certificates/{}", NULL, admin_cert_verify, 0, F_PUB, "cert_verify", 0},
    /* the question bank 题库管理 (admin_qbank.c): the province and its 题库管理员 */
    {"GET", "/api/v1/qbank/overview", NULL, admin_qb_overview, R_QB, 0, "qb_overview", 0},
    {"GET", "/api/v1/qbank/template", NULL, admin_qb_template, R_QB, 0, "qb_template", 0},
    {"POST", "/api/v1/qbank/check", NULL, admin_qb_check, R_QB, F_RAW, "qb_check", QB_UPLOAD_MAX},
    {"GET", "/api/v1/qbank/releases", NULL, admin_qb_release_list, R_QB, 0, "qb_releases", 0},
    {"POST", "/api/v1/qbank/releases", NULL, admin_qb_release_upload, R_QB, F_RAW, "qb_upload",
     QB_UPLOAD_MAX},
    {"GET", "/api/v1/qbank/releases/{}", NULL, admin_qb_release_get, R_QB, 0, "qb_release", 0},
    {"POST", "/api/v1/qbank/releases/{}/publish", NULL, admin_qb_release_publish, R_QB, 0,
     "qb_publish", 0},
    {"POST", "/api/v1/qbank/releases/{}/discard", NULL, admin_qb_release_discard, R_QB, 0,
     "qb_discard", 0},
    {"GET", "/api/v1/qbank/questions", NULL, admin_qb_question_list, R_QB, 0, "qb_questions", 0},
    {"GET", "/api/v1/qbank/questions/{}", NULL, admin_qb_question_get, R_QB, 0, "qb_question", 0},
    {"POST", "/api/v1/qbank/questions/{}/revise", NULL, admin_qb_question_revise, R_QB, 0,
     "qb_revise", 64 << 10},
    {"POST", "/api/v1/qbank/retirements", NULL, admin_qb_retire, R_QB, 0, "qb_retire", 64 << 10},
    {"GET", "/api/v1/qbank/blueprints", NULL, admin_qb_blueprints, R_QB, 0, "qb_blueprints", 0},
    {"POST", "/api/v1/qbank/blueprints/check", NULL, admin_qb_blueprint_check, R_QB, 0,
     "qb_blueprint_check", 64 << 10},
    {"PUT", "/api/v1/qbank/blueprints", NULL, admin_qb_blueprint_publish, R_QB, 0,
     "qb_blueprint_publish", 64 << 10},
    {"POST", "/api/v1/qbank/preview", NULL, admin_qb_preview, R_QB, 0, "qb_preview", 4096},
    {"GET", "/api/v1/authority/qbank-admins", NULL, admin_qb_admin_list, R_PV, 0, "qb_admins", 0},
    {"POST", "/api/v1/authority/qbank-admins", NULL, admin_qb_admin_create, R_PV, 0,
     "qb_admin_create", 4096},
    {"POST", "/api/v1/authority/qbank-admins/{}/{}", NULL, admin_qb_admin_enable, R_PV, 0,
     "qb_admin_enable", 0},
};

#define NAPIS (sizeof admin_apis / sizeof admin_apis[0])
static dk_route admin_routes[NAPIS];

/* Routes counted per caller (by the route's name), beside the table so that its rows stay
 * as they are: the physician's photo uploads, the institution's ID-number lookups. */
static const struct {
    const char *route;
    admin_limit_id limit;
} admin_route_limits[] = {
    {"phys_photo_put", ADMIN_LIMIT_PHOTO},
    {"transfer_lookup", ADMIN_LIMIT_ID_LOOKUP},
    {"transfer_in", ADMIN_LIMIT_ID_LOOKUP},
    {"cert_verify", ADMIN_LIMIT_CERT_VERIFY}, /* public: counted per address */
};
static admin_limit_id route_limit[NAPIS]; /* by route index, filled in admin_start */

/* The routes an institution's 信息审核员 (token kind 'r') may call, by name: the reviews,
 * what they read, and its own password. Everything else (account management first of all)
 * is 403 for it, on the loop, before any job is queued. */
static const char *const admin_reviewer_routes[] = {
    "password",
    "logout",
    "me",
    "workflow",
    "subjects",
    "cycles",
    "cycle_get",
    "inst_home",
    "enrolment_get",
    "enrolment_action",
    "enrolment_opinion",
    "enrolment_log",
    "exemption_action",
    "attachment_get",
    "reviews",
    "exemptions",
    "assessor_reviews",
    "assessor_exemptions",
    "registered_photo",
};
static unsigned char route_reviewer[NAPIS]; /* by route index, filled in admin_start */

/* ---- the job runner ------------------------------------------------------------------------ */

const char *admin_q(admin_job *j, const char *key)
{
    const char *v = evhttp_find_header(&j->query, key);
    return v && *v ? v : NULL;
}

int admin_q_int(admin_job *j, const char *key, long long min, long long max, long long dflt,
                long long *out)
{
    const char *v = admin_q(j, key);
    if (!v) {
        *out = dflt;
        return 0;
    }
    char *end;
    long long x = strtoll(v, &end, 10);
    if (*end || x < min || x > max)
        return dk_error_set(&j->err, DK_EINVAL, "参数 %s 应为 %lld 到 %lld 之间的整数", key, min,
                            max);
    *out = x;
    return 0;
}

long long admin_param_id(admin_job *j, int i)
{
    const char *s = j->params[i];
    if (!s || !*s || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s)) return 0;
    return strtoll(s, NULL, 10);
}

/* Who a route's limit counts: the caller's account, or for a public route its address (IPv4
 * as a number; IPv6 by its /64, hashed), which is all there is to go by. */
static long long limit_who(const admin_job *j)
{
    if (!(j->api->flags & ADMIN_F_PUBLIC)) return j->claims.id;
    unsigned char a[16];
    if (inet_pton(AF_INET, j->ip, a) == 1)
        return ((long long)a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3];
    unsigned long long h = 1469598103934665603ULL; /* FNV-1a of the /64 */
    if (inet_pton(AF_INET6, j->ip, a) == 1)
        for (int i = 0; i < 8; i++)
            h = (h ^ a[i]) * 1099511628211ULL;
    return (long long)(h >> 1) | (1LL << 40); /* apart from every IPv4 number */
}

static void job_free(void *p)
{
    admin_job *j = p;
    json_decref(j->body);
    json_decref(j->out);
    json_decref(j->err_fields);
    free(j->bytes);
    evhttp_clear_headers(&j->query);
    free(j);
}

/* admind's transactions run in READ COMMITTED: no gap locks between unrelated rows (two
 * physicians saving their 执业经历 at once), and plain reads after a lock see what is
 * committed. Set once per connection (the server's thread id changes on a reconnect). */
static int read_committed(MYSQL *db, dk_error *err)
{
    static __thread MYSQL *done_db;
    static __thread unsigned long done_id;
    if (done_db == db && done_id == mysql_thread_id(db)) return 0;
    int rc = dk_mysql_exec(db, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", NULL, 0,
                           NULL, NULL, err);
    if (!rc) done_db = db, done_id = mysql_thread_id(db);
    return rc;
}

static void job_reset(admin_job *j)
{
    json_decref(j->out);
    j->out = NULL;
    json_decref(j->err_fields);
    j->err_fields = NULL;
    free(j->bytes);
    j->bytes = NULL;
    j->bytes_len = 0;
    j->status = 0;
    j->filename[0] = '\0';
    dk_error_clear(&j->err);
}

static void job_work(void *ctx, void *arg)
{
    admin_job *j = arg;
    dk_dbconn *conn = ctx;
    if (j->api->flags & ADMIN_F_PHOTO) {
        admin_photo_ctx *pc = ctx;
        j->thread_ctx = pc;
        conn = pc->conn;
    }
    MYSQL *db = dk_dbconn_get(conn, &j->err);
    if (!db) {
        j->rc = j->err.code ? j->err.code : DK_EIO;
        return;
    }
    if (!(j->api->flags & ADMIN_F_PUBLIC)) {
        j->rc = admin_load_actor(j, db);
        if (!j->rc && !(j->actor.roles & j->api->roles))
            j->rc = dk_error_set(&j->err, DK_EFORBIDDEN, "当前账号（%s）无权使用此功能",
                                 dom_role_name(&j->actor, 0));
    }
    if (!j->rc) j->rc = read_committed(db, &j->err);
    /* a deadlock or lock wait lost to another transaction: roll back and run it again */
    for (int attempt = 0; !j->rc; attempt++) {
        j->rc = j->api->work(j, db);
        if (!j->rc) break;
        dk_mysql_rollback(db); /* whatever the work left open */
        int lost = j->rc == DK_ECONFLICT && (strstr(j->err.msg, ": 1213 ") || /* deadlock */
                                             strstr(j->err.msg, ": 1205 "));  /* lock wait */
        if (!lost || attempt >= 2) break;
        DK_INFO("admind", "retrying after a lock conflict route=%s err=\"%s\"", j->api->name,
                j->err.msg);
        job_reset(j);
        j->rc = 0;
    }
    if (j->rc == DK_EIO) dk_dbconn_drop(conn);
}

static void job_done(void *arg)
{
    admin_job *j = arg;
    dk_req *rq = j->rq;
    if (j->rc) {
        dk_error e = j->err;
        if (!e.code) e.code = j->rc;
        if (dk_err_http_status(e.code) >= 500 && e.code != DK_EBUSY) {
            DK_WARN("admind", "request failed route=%s code=%s msg=\"%s\"", j->api->name,
                    dk_err_name(e.code), e.msg);
            snprintf(e.msg, sizeof e.msg, "服务暂时不可用，请稍后重试");
        } else if (e.code == DK_ECONFLICT && !strncmp(e.msg, "mysql ", 6)) {
            DK_INFO("admind", "conflict route=%s msg=\"%s\"", j->api->name, e.msg);
            snprintf(e.msg, sizeof e.msg,
                     "数据冲突（记录已存在、仍被引用或已被他人修改），请刷新后重试");
        }
        if (j->err_fields && dk_err_http_status(e.code) < 500) { /* e.g. the photo's faces */
            json_t *body =
                json_pack("{s:{s:s,s:s}}", "error", "code", dk_err_name(e.code), "message", e.msg);
            if (body) {
                json_object_update_missing(json_object_get(body, "error"), j->err_fields);
                dk_http_reply_json(rq, dk_err_http_status(e.code), body);
                return;
            }
        }
        dk_http_fail(rq, &e);
        return;
    }
    if (j->bytes) {
        if (j->filename[0]) {
            char cd[160];
            snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", j->filename);
            evhttp_add_header(evhttp_request_get_output_headers(rq->req), "Content-Disposition",
                              cd);
        }
        dk_http_reply(rq, j->status ? j->status : 200,
                      j->ctype ? j->ctype : "application/octet-stream", j->bytes, j->bytes_len);
        return;
    }
    json_t *out = j->out ? j->out : json_object();
    j->out = NULL;
    dk_http_reply_json(rq, j->status ? j->status : 200, out);
}

/* Queues the job on its pool once its route's limit (if any) let it through. */
static void job_queue(int rc, const dk_error *err, void *arg)
{
    admin_job *j = arg;
    dk_req *rq = j->rq;
    admin_server *srv = j->srv;
    if (rc) {
        dk_http_fail(rq, err);
        return;
    }
    dk_workq *pool = j->api->flags & ADMIN_F_HASH    ? srv->hash
                     : j->api->flags & ADMIN_F_PHOTO ? srv->photo
                                                     : srv->db;
    if (dk_workq_submit(pool, rq->loop->mailbox, job_work, job_done, j)) {
        if (route_limit[rq->route] != ADMIN_LIMIT_NONE) /* we were busy: not the caller's */
            dom_limit_refund(rq->loop->redis, &srv->limits[route_limit[rq->route]], limit_who(j));
        dk_error busy = {.code = DK_EBUSY, .retry_after = 2};
        snprintf(busy.msg, sizeof busy.msg, "服务器繁忙，请稍后重试");
        dk_http_fail(rq, &busy);
    }
}

static void api_run(dk_req *rq)
{
    admin_server *srv = admin_of(rq);
    const admin_api *api = &admin_apis[rq->route];
    if (api->fn) {
        api->fn(rq);
        return;
    }
    admin_job *j = dk_calloc(1, sizeof *j);
    j->srv = srv;
    j->rq = rq;
    j->api = api;
    rq->state = j;
    rq->state_free = job_free;
    snprintf(j->ip, sizeof j->ip, "%s", rq->peer);
    for (size_t i = 0; i < rq->nparams && i < DK_HTTP_MAX_PARAMS; i++)
        j->params[i] = rq->params[i];
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(rq->req));
    if (evhttp_parse_query_str(q ? q : "", &j->query) != 0) {
        dk_http_failf(rq, DK_EINVAL, "查询参数格式错误");
        return;
    }
    dk_error err = {0};
    if (!(api->flags & ADMIN_F_PUBLIC)) {
        size_t len;
        const char *tok = dk_bearer(dk_http_header(rq, "Authorization"), &len);
        if (!tok) {
            dk_http_failf(rq, DK_EAUTH, "请先登录");
            return;
        }
        if (dk_token_check(&srv->auth, tok, len, dk_clock_ms() / 1000, &j->claims, &err) ||
            dom_token_cache_check(rq->loop->app, &j->claims, &err)) {
            dk_http_fail(rq, &err);
            return;
        }
        if (j->claims.must_change && !(api->flags & ADMIN_F_MUST_CHANGE)) {
            dk_http_failf(rq, DK_EPWCHANGE, "首次登录请先修改初始密码");
            return;
        }
        unsigned kind_roles =
            j->claims.kind == DOM_KIND_PHYSICIAN     ? ADMIN_R_PHYS
            : j->claims.kind == DOM_KIND_INSTITUTION ? ADMIN_R_ORG
            : j->claims.kind == DOM_KIND_REVIEWER    ? (route_reviewer[rq->route] ? ADMIN_R_ORG : 0)
            : j->claims.kind == DOM_KIND_AUTHORITY   ? (ADMIN_R_AUTH | ADMIN_R_PROVINCE | ADMIN_R_QBANK)
                                                     : 0;
        if (!(kind_roles & api->roles)) {
            dk_http_failf(rq, DK_EFORBIDDEN, "%s",
                          j->claims.kind == DOM_KIND_REVIEWER
                              ? "信息审核员只能进行审核工作，不能使用此功能（如账号管理）"
                              : "当前账号无权使用此功能");
            return;
        }
    }
    if (api->flags & ADMIN_F_RAW) {
        j->raw = rq->body;
        j->raw_len = rq->body_len;
    } else if (rq->body_len) {
        if (dk_http_body_json(rq, &j->body, &err)) {
            dk_http_fail(rq, &err);
            return;
        }
        if (!json_is_object(j->body)) {
            dk_http_failf(rq, DK_EINVAL, "请求内容应为 JSON 对象");
            return;
        }
    }
    if (!j->body) j->body = json_object();
    if (route_limit[rq->route] != ADMIN_LIMIT_NONE) {
        dom_limit_hit(rq->loop->redis, &srv->limits[route_limit[rq->route]], limit_who(j),
                      job_queue, j);
        return;
    }
    dk_error none = {0};
    job_queue(0, &none, j);
}

/* ---- health and metrics ---------------------------------------------------------------------- */

static void admin_healthz(dk_req *rq) { dk_serve_healthz(rq, admin_of(rq)->db); }

static void admin_metrics(dk_req *rq) { dk_serve_metrics(rq); }

#define GAUGE(fn, expr)                                                                            \
    static double fn(dk_http_server *h, void *arg)                                                 \
    {                                                                                              \
        (void)h;                                                                                   \
        admin_server *s = arg;                                                                     \
        return (double)(expr);                                                                     \
    }
GAUGE(g_purged, atomic_load(&s->photos_purged))
GAUGE(g_absentees, atomic_load(&s->absentees))

/* ---- maintenance: retention purge and absentee sweep (loop 0)
 * ------------------------------------ */

typedef struct maint_job {
    admin_server *srv;
    int purged, moved, rc;
    dk_error err;
} maint_job;

static void maint_work(void *ctx, void *arg)
{
    maint_job *m = arg;
    MYSQL *db = dk_dbconn_get(ctx, &m->err);
    if (!db) {
        m->rc = m->err.code;
        return;
    }
    m->rc = admin_purge_photos(db, NULL, &m->purged, &m->err);
    if (!m->rc) m->rc = dom_flow_absentees(db, NULL, &m->moved, &m->err);
    if (m->rc) dk_mysql_rollback(db);
    if (m->rc == DK_EIO) dk_dbconn_drop(ctx);
    admin_items_kick(m->srv); /* windows that ended, and runs still queued */
}

/* The analysis pool's nudge: its one job runs every queued run. A full queue means nudges
 * are already waiting, and one of them will find the run. */
void admin_items_kick(admin_server *srv)
{
    (void)dk_workq_submit(srv->analysis, NULL, admin_items_pool_work, NULL, NULL);
}

static void maint_done(void *arg)
{
    maint_job *m = arg;
    if (m->rc) DK_WARN("admind", "maintenance failed err=\"%s\"", m->err.msg);
    atomic_fetch_add(&m->srv->photos_purged, m->purged);
    atomic_fetch_add(&m->srv->absentees, m->moved);
    atomic_fetch_sub(&m->srv->maint_inflight, 1);
    free(m);
}

static void on_maint(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dk_loop *loop = arg;
    admin_server *s = dk_http_udata(loop->server);
    if (atomic_load(&s->maint_inflight)) return;
    maint_job *m = dk_calloc(1, sizeof *m);
    m->srv = s;
    atomic_fetch_add(&s->maint_inflight, 1);
    if (dk_workq_submit(s->db, loop->mailbox, maint_work, maint_done, m)) {
        atomic_fetch_sub(&s->maint_inflight, 1);
        free(m);
    }
}

/* Token times are read from the deployment's clock (dk_clock.h): measured again every
 * 10 s, as examd does at each sweep tick. */
static void on_clock(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dk_loop *loop = arg;
    dk_clock_probe(loop->redis, NULL, NULL);
}

static void loop_init(dk_loop *loop, void *udata)
{
    admin_server *s = udata;
    loop->app = dom_token_cache_new(&s->tokens, loop->base, loop->redis, s->db, loop->mailbox);
    if (loop->index != 0) return;
    s->maint = event_new(loop->base, -1, EV_PERSIST, on_maint, loop);
    struct timeval tv = {ADMIN_MAINT_PERIOD_S, 0};
    event_add(s->maint, &tv);
    s->clock = event_new(loop->base, -1, EV_PERSIST, on_clock, loop);
    struct timeval ct = {10, 0};
    event_add(s->clock, &ct);
}

static void loop_fini(dk_loop *loop, void *udata)
{
    admin_server *s = udata;
    dom_token_cache_free(loop->app);
    loop->app = NULL;
    if (loop->index != 0 || !s->maint) return;
    event_free(s->maint);
    s->maint = NULL;
    event_free(s->clock);
    s->clock = NULL;
}

static void quiesce(dk_http_server *h, void *udata)
{
    (void)h;
    admin_server *s = udata;
    for (int i = 0; i < 1000; i++) { /* at most 10 s */
        if (!dk_workq_depth(s->db) && !dk_workq_depth(s->hash) && !dk_workq_depth(s->photo) &&
            !dk_workq_depth(s->analysis) && !atomic_load(&s->maint_inflight))
            return;
        usleep(10000);
    }
    DK_WARN("admind", "stopping with background work unfinished");
}

/* ---- the photo pool's threads: a MariaDB connection and a proctor engine each ---------------- */

static void *photo_thread_init(void *udata)
{
    admin_server *s = udata;
    admin_photo_ctx *pc = dk_calloc(1, sizeof *pc);
    pc->conn = dk_dbconn_thread_init((void *)s->cfg);
    dk_error err = {0};
    if (proctor_engine_new(&pc->engine, &s->popts, &err) != 0) {
        DK_ERROR("admind", "face engine not loaded, registered photos get no embedding err=\"%s\"",
                 err.msg);
        pc->engine = NULL;
    } else {
        DK_INFO("admind", "face engine for registered photos model=%s degraded=%d",
                proctor_engine_model(pc->engine), proctor_engine_degraded(pc->engine));
    }
    return pc;
}

static void photo_thread_fini(void *ctx)
{
    admin_photo_ctx *pc = ctx;
    if (pc->engine) proctor_engine_free(pc->engine);
    dk_dbconn_thread_fini(pc->conn);
    free(pc);
}

/* ---- start / stop
 * ---------------------------------------------------------------------------------- */

admin_server *admin_start(const dk_config *cfg, dk_error *err)
{
    admin_server *s = dk_calloc(1, sizeof *s);
    s->cfg = cfg;
    if (dk_auth_init(&s->auth, cfg, err) || proctor_options_from_config(&s->popts, cfg, err) ||
        dk_password_hash(&s->auth, ADMIN_INITIAL_PASSWORD, strlen(ADMIN_INITIAL_PASSWORD),
                         s->initial_hash, err)) {
        free(s);
        return NULL;
    }
    /* popts judge registered photos only: as large as the route takes (4 MiB), not
     * proctor_max_bytes, which is meant for the captures of a test (2 MiB) */
    s->popts.max_bytes = ADMIN_PHOTO_MAX;
    dom_limit_load(&s->limits[ADMIN_LIMIT_PHOTO], cfg, "photo_upload", "photo_upload_max",
                   "photo_upload_window_s", "上传照片次数过多，请约 %d 分钟后再试");
    dom_limit_load(&s->limits[ADMIN_LIMIT_ID_LOOKUP], cfg, "id_lookup", "id_lookup_max",
                   "id_lookup_window_s", "证件号码查询（调入）次数过多，请约 %d 分钟后再试");
    dom_limit_load(&s->limits[ADMIN_LIMIT_CERT_VERIFY], cfg, "cert_verify", "cert_verify_max",
                   "cert_verify_window_s", "证书验证次数过多，请约 %d 分钟后再试");
    s->attach_max_count = dk_config_int(cfg, "attachment_max_count");
    s->attach_max_bytes = dk_config_int(cfg, "attachment_max_total_bytes");
    for (size_t i = 0; i < NAPIS; i++) {
        admin_routes[i] = (dk_route){admin_apis[i].method, admin_apis[i].pattern, api_run,
                                     admin_apis[i].name, admin_apis[i].max_body};
        for (size_t k = 0; k < sizeof admin_route_limits / sizeof admin_route_limits[0]; k++)
            if (!strcmp(admin_route_limits[k].route, admin_apis[i].name))
                route_limit[i] = admin_route_limits[k].limit;
        for (size_t k = 0; k < sizeof admin_reviewer_routes / sizeof admin_reviewer_routes[0]; k++)
            if (!strcmp(admin_reviewer_routes[k], admin_apis[i].name)) route_reviewer[i] = 1;
    }
    proctor_set_cv_threads(1);
    dk_clock_sync(cfg); /* before any token is made or checked */
    dk_serve_pools(cfg, &s->db, &s->hash);
    if (dom_login_env_init(&s->login, cfg, &s->auth, s->db, s->hash, ADMIN_CAPTCHA_AFTER, err) ||
        dom_token_env_init(&s->tokens, cfg, &s->auth, err)) {
        dk_workq_free(s->db);
        dk_workq_free(s->hash);
        free(s);
        return NULL;
    }
    s->photo = dk_workq_new("photo", 1, 32, photo_thread_init, photo_thread_fini, s);
    s->analysis = dk_workq_new("analysis", 1, 4, dk_dbconn_thread_init, dk_dbconn_thread_fini,
                               (void *)cfg);
    const dk_gauge gauges[] = {
        {"admind_db_queue_depth", "database jobs waiting or running", dk_serve_queue_depth, s->db},
        {"admind_hash_queue_depth", "password hashes waiting or running", dk_serve_queue_depth,
         s->hash},
        {"admind_photo_queue_depth", "registered photos waiting or running", dk_serve_queue_depth,
         s->photo},
        {"admind_analysis_queue_depth", "item-analysis nudges waiting or running",
         dk_serve_queue_depth, s->analysis},
        {"admind_photos_purged", "capture photos deleted after retention", g_purged, s},
        {"admind_absentees", "enrolments moved because a test was missed", g_absentees, s},
    };
    dk_http_opts o = {
        .name = "admind",
        .port_key = "admin_port",
        .routes = admin_routes,
        .nroutes = NAPIS,
        .loop_init = loop_init,
        .loop_fini = loop_fini,
        .quiesce = quiesce,
        .udata = s,
        .gauges = gauges,
        .ngauges = sizeof gauges / sizeof gauges[0],
    };
    s->http = dk_http_start(cfg, &o, err);
    if (!s->http) {
        dk_workq_free(s->db);
        dk_workq_free(s->hash);
        dk_workq_free(s->photo);
        dk_workq_free(s->analysis);
        free(s);
        return NULL;
    }
    admin_items_kick(s); /* runs queued before a restart */
    return s;
}

int admin_port(const admin_server *s)
{
    return dk_http_port(s->http);
}

void admin_stop(admin_server *s)
{
    if (!s) return;
    dk_http_stop(s->http, 5000);
    dk_workq_free(s->db);
    dk_workq_free(s->hash);
    dk_workq_free(s->photo);
    dk_workq_free(s->analysis);
    free(s);
}
