/* admin_internal.h - what admind's files share: the server and its pools, the job that
 * carries one API call to a database thread, the actor (who calls, in which roles and
 * scope), the workflow engine and the SQL helpers. Not a public contract.
 *
 * Threads: a route's work function runs on a database (or hash, or photo) worker
 * thread with that thread's MYSQL connection; it fills j->out (JSON) or j->bytes and
 * never touches the event loop. The reply is sent on the loop by the job runner. */
#ifndef ADMIN_INTERNAL_H
#define ADMIN_INTERNAL_H

#include <event2/keyvalq_struct.h>
#include <stdatomic.h>

#include "admin.h"
#include "dk_auth.h"
#include "dk_http.h"
#include "dk_json.h"
#include "dk_log.h"
#include "dk_mysql.h"
#include "dk_workq.h"
#include "dom_account.h"
#include "dom_audit.h"
#include "dom_flow.h"
#include "dom_limit.h"
#include "dom_status.h"
#include "dom_token.h"
#include "proctor.h"

#define ADMIN_INITIAL_PASSWORD DOM_INITIAL_PASSWORD /* seeds [002][004]: initial and reset */
#define ADMIN_CAPTCHA_AFTER 2           /* failed logins (account or address) before a captcha */
#define ADMIN_PHOTO_MAX (4 << 20)       /* registered photo */
#define ADMIN_ATTACH_MAX (10 << 20)     /* one attachment */
#define ADMIN_CSV_MAX (4 << 20)         /* one import file */
#define ADMIN_MAINT_PERIOD_S 600        /* retention purge + absentee sweep */

/* ---- roles ----------------------------------------------------------------------------- */

#define ADMIN_R_PHYS DOM_R_PHYS         /* 医师 (token kind 'p', shared with examd) */
#define ADMIN_R_INST DOM_R_INST         /* 医疗卫生机构 (kind 'i') */
#define ADMIN_R_ASSESSOR DOM_R_ASSESSOR /* 考核机构: an institution with is_assessor = 1 */
#define ADMIN_R_AUTH DOM_R_AUTH         /* 卫生行政部门, any level (kind 'a') */
#define ADMIN_R_PROVINCE DOM_R_PROVINCE /* 省级卫生行政部门 */
#define ADMIN_R_QBANK DOM_R_QBANK       /* 题库管理员 (admin_qbank.c) */
#define ADMIN_R_ORG (ADMIN_R_INST | ADMIN_R_ASSESSOR)
#define ADMIN_R_STAFF (ADMIN_R_ORG | ADMIN_R_AUTH | ADMIN_R_PROVINCE)
#define ADMIN_R_ANY (ADMIN_R_PHYS | ADMIN_R_STAFF)

/* Who calls, in which roles and scope: the domain's actor (dom_flow.h). */
typedef dom_actor admin_actor;

/* ---- the server -------------------------------------------------------------------------- */

/* Rate limits of routes, counted per caller (the token's account id: the physician, the
 * institution) in Redis before the job is queued (dom_limit.h); the values come from
 * configuration (admin_start); which route counts against which is admin_server.c's
 * admin_route_limits. */
typedef enum admin_limit_id {
    ADMIN_LIMIT_NONE,
    ADMIN_LIMIT_PHOTO,     /* registered-photo uploads per physician */
    ADMIN_LIMIT_ID_LOOKUP, /* ID-number lookups and 调入 per institution */
    ADMIN_LIMIT_CERT_VERIFY, /* public certificate verifications per address (no account) */
    ADMIN_LIMIT_COUNT_
} admin_limit_id;

typedef struct admin_server {
    const dk_config *cfg;
    dk_http_server *http;
    dk_workq *db;    /* MariaDB threads (dk_dbconn) */
    dk_workq *hash;  /* argon2id threads, bounded: 503 beyond (each with a dk_dbconn) */
    dk_workq *photo; /* registered photos: one proctor_engine + dk_dbconn per thread */
    dk_workq *analysis; /* item analysis (admin_itemstats.c): one thread with a dk_dbconn */
    dk_auth auth;
    dom_login_env login;            /* the login check's limits and pools (dom_account.h) */
    dom_token_env tokens;           /* token revocation (dom_token.h); each loop's table of
                                     * revocations is its loop->app (dom_token_cache) */
    char initial_hash[DK_HASH_MAX]; /* argon2id of 666666 for resets, made once at start */
    proctor_options popts;
    dom_limit limits[ADMIN_LIMIT_COUNT_];         /* by admin_limit_id, from configuration */
    long long attach_max_count, attach_max_bytes; /* per attachment owner */
    struct event *maint; /* loop 0: retention purge and absentee sweep */
    struct event *clock; /* loop 0: Redis's clock against ours (dk_clock.h), every 10 s */
    _Atomic long long maint_inflight;
    _Atomic long long photos_purged, absentees;
} admin_server;

typedef struct admin_photo_ctx {
    dk_dbconn *conn;
    proctor_engine *engine; /* NULL if it could not be made: degraded */
} admin_photo_ctx;

struct admin_job;
typedef int (*admin_work_fn)(struct admin_job *j, MYSQL *db);

#define ADMIN_F_PUBLIC 0x01      /* no token */
#define ADMIN_F_MUST_CHANGE 0x02 /* allowed with a must-change-password token */
#define ADMIN_F_RAW 0x04         /* body is bytes (JPEG, CSV, attachment), not JSON */
#define ADMIN_F_HASH 0x08        /* runs on the hash pool */
#define ADMIN_F_PHOTO 0x10       /* runs on the photo pool */

/* One row of the route table: a loop handler (fn) or a work function run on a pool. */
typedef struct admin_api {
    const char *method, *pattern;
    dk_handler fn; /* on the loop; NULL: the job runner with work */
    admin_work_fn work;
    unsigned roles;   /* who may call (ADMIN_R_*) */
    unsigned flags;   /* ADMIN_F_* */
    const char *name; /* metrics label */
    size_t max_body;
} admin_api;

typedef struct admin_job {
    admin_server *srv;
    dk_req *rq;
    const admin_api *api;
    dk_claims claims;
    admin_actor actor;
    json_t *body;           /* parsed JSON body (an empty object if none) */
    struct evkeyvalq query; /* parsed query string */
    const char *params[DK_HTTP_MAX_PARAMS];
    const unsigned char *raw; /* the request body (owned by rq) */
    size_t raw_len;
    char ip[48];
    void *thread_ctx; /* admin_photo_ctx on the photo pool */
    /* the reply */
    int status; /* 200 unless set */
    json_t *out;
    char *bytes; /* malloc'd raw reply, instead of out */
    size_t bytes_len;
    const char *ctype;
    char filename[96]; /* Content-Disposition attachment name (ASCII) */
    int rc;
    dk_error err;
    json_t *err_fields; /* members added to the error object of a failed reply, or NULL */
} admin_job;

static inline admin_server *admin_of(dk_req *rq)
{
    return dk_http_udata(rq->loop->server);
}

/* ---- admin_server.c ------------------------------------------------------------------------ */

const char *admin_q(admin_job *j, const char *key); /* query parameter or NULL */
/* Query parameter as an integer in [min, max]; dflt when absent; DK_EINVAL otherwise. */
int admin_q_int(admin_job *j, const char *key, long long min, long long max, long long dflt,
                long long *out);
long long admin_param_id(admin_job *j, int i); /* {} segment i as a positive id, 0 if not */

/* ---- admin_auth.c ------------------------------------------------------------------------ */

void admin_login(dk_req *rq);
void admin_captcha(dk_req *rq);
int admin_password(admin_job *j, MYSQL *db);
int admin_logout(admin_job *j, MYSQL *db);
int admin_me(admin_job *j, MYSQL *db);
/* Loads j->actor from j->claims (account still there and enabled). */
int admin_load_actor(admin_job *j, MYSQL *db);
/* Role names and the region rule: dom_role_name, dom_path_covers (dom_flow.h). */

/* ---- admin_sql.c -------------------------------------------------------------------------- */

#define ADMIN_SQL_FULL_ID 0x01 /* do not mask id_number columns: audit it (admin_audit_id_view) */

/* Every row as an object keyed by column name. Integers, decimals, TINYINT(1) and
 * comparisons (x IS NULL) as
 * booleans, DATETIME as ISO 8601 UTC ("2024-06-03T11:39:05.000Z"), DATE as
 * "YYYY-MM-DD", NULL as null; a column named id_number is masked unless FULL_ID. */
int admin_sql_rows(MYSQL *db, const char *sql, const dk_param *p, size_t n, unsigned flags,
                   json_t **out, dk_error *err);
/* The first row as an object; DK_ENOTFOUND (with msg) when there is none. */
int admin_sql_row(MYSQL *db, const char *sql, const dk_param *p, size_t n, unsigned flags,
                  const char *notfound, json_t **out, dk_error *err);
/* The first column of the first row as an integer; DK_ENOTFOUND when no row. */
int admin_sql_ll(MYSQL *db, const char *sql, const dk_param *p, size_t n, long long *out,
                 dk_error *err);
int admin_sql_str(MYSQL *db, const char *sql, const dk_param *p, size_t n, char *out, size_t outsz,
                  dk_error *err);
int admin_sql_exec(MYSQL *db, const char *sql, const dk_param *p, size_t n, uint64_t *affected,
                   dk_error *err);

/* A statement built piece by piece with its parameters (strings are borrowed). */
#define ADMIN_SQLB_PARAMS 64
typedef struct admin_sqlb {
    char *sql;
    size_t len, cap;
    dk_param p[ADMIN_SQLB_PARAMS];
    size_t np;
} admin_sqlb;
void admin_sqlb_init(admin_sqlb *b, const char *start);
void admin_sqlb_cat(admin_sqlb *b, const char *frag);
void admin_sqlb_param(admin_sqlb *b, dk_param p);
void admin_sqlb_free(admin_sqlb *b);
/* text as a LIKE pattern that finds it anywhere: %text%, with % _ \ escaped (typed, they mean
 * themselves). DK_EINVAL "<label>过长" beyond max bytes; out needs 2 * max + 3 bytes. */
int admin_like_any(admin_job *j, const char *label, const char *text, size_t max, char *out,
                   size_t outsz);

/* A paged list: SELECT <cols> <from_where> ORDER BY <order> LIMIT; j->out =
 * {"items":[..],"total":N,"page":P,"page_size":S}. page / page_size (default 10, at
 * most 500) come from the query string. */
int admin_list(admin_job *j, MYSQL *db, const char *cols, admin_sqlb *from_where, const char *order,
               unsigned flags);

/* Time input: ISO 8601 with a zone ("2024-05-10T00:00:00+08:00", "...Z") -> UTC
 * "YYYY-MM-DD HH:MM:SS.mmm". Date input "YYYY-MM-DD" checked. 0 or DK_EINVAL. */
int admin_parse_time(const char *s, char out[32]);
int admin_parse_date(const char *s);

/* Writes one audit_log row for the actor of j (NULL: system). acting_role picks the
 * actor type for an institution acting as 考核机构. detail may be NULL (not stolen). */
int admin_audit(MYSQL *db, admin_job *j, unsigned acting_role, const char *action,
                const char *entity_type, long long entity_id, const char *entity_sid,
                const char *from, const char *to, const char *reason, json_t *detail,
                dk_error *err);

/* Every answer that shows a full ID number (ADMIN_SQL_FULL_ID) writes one of these:
 * action view_id_number on the physician, the route's name in the detail. */
int admin_audit_id_view(MYSQL *db, admin_job *j, unsigned acting_role, long long pid,
                        dk_error *err);

/* Files under data_dir: mkdir -p, write + fsync, read whole (malloc'd). */
int admin_mkdirs(const char *path);
int admin_write_file(const char *path, const unsigned char *b, size_t n);
int admin_read_file(const char *path, size_t max, char **out, size_t *len);

/* ---- admin_id.c (pure; unit-tested) ---------------------------------------------------------- */

/* 居民身份证: 18 characters (check digit verified, last may be X) or 15 digits. */
int admin_id_valid(const char *id);
/* The other form of an ID number for searching: 15 -> 18 (with check digit), 18 whose
 * year starts with 19 -> 15. out "" when there is none. */
void admin_id_other_form(const char *id, char out[20]);
/* Birth date "YYYY-MM-DD" and sex (男/女) from an ID number; 0 or DK_EINVAL. */
int admin_id_birth(const char *id, char out[11]);
const char *admin_id_sex(const char *id);

/* ---- admin_csv.c (pure; unit-tested) --------------------------------------------------------- */

/* RFC 4180 fields of one record starting at *pos (quotes, doubled quotes, CRLF or LF).
 * Returns the number of fields (at most max), -1 at the end of input, or -2 for a
 * malformed record. Fields are malloc'd into out (admin_csv_free_fields). */
int admin_csv_record(const char *buf, size_t len, size_t *pos, char **out, int max);
void admin_csv_free_fields(char **f, int n);
/* Appends a field, quoted if needed, and a formula-injection guard (a ' before a start
 * of = + - @, TAB, CR or the full-width ＝＋－＠). */
void admin_csv_field(struct evbuffer *b, const char *s, int last);

/* ---- admin_flow.c: admind's side of the workflow (the table is domain/dom_flow.c) ------- */

typedef dom_entity admin_entity;

/* Runs one action through the domain's table (dom_flow_run) as the actor of j, after
 * resolving the cycle of "confirm" and "apply" (admin_cycle_for). key: the entity id
 * (enrolment, exemption, application) or session id skey (invigilation); for "confirm"
 * the physician id (cycle in ?cycle_id= / body.cycle_id or the current one); for
 * "request" (exemption) the enrolment id; for "apply" the institution id. out: the
 * entity's new state {status, version, ...}. */
int admin_flow_run(admin_job *j, MYSQL *db, admin_entity e, const char *action, long long key,
                   const char *skey, json_t *body, json_t **out);

/* The current cycle for an authority path: ?cycle_id= when given and visible, else
 * the open cycle of an ancestor-or-self authority. DK_ENOTFOUND when none. */
int admin_cycle_for(admin_job *j, MYSQL *db, const char *path, long long *cycle_id);

/* ---- shared list pieces (admin_inst.c) ------------------------------------------------------- */

/* The physician columns of every list (p = physician, d = department). */
#define ADMIN_PHYS_COLS                                                                            \
    "p.id AS physician_id, p.name, p.sex, TIMESTAMPDIFF(YEAR, p.birth_date, CURDATE()) AS age, "   \
    "p.id_number, p.practice_category, p.practice_level, p.title, p.practice_cert_date, "          \
    "p.first_registration_date, p.department_id, d.name AS department_name"

typedef struct admin_filter_bufs {
    char like[200];
    char id2[20];
} admin_filter_bufs;
/* The province part of an authority path ("/1/5/" -> "/1/"): what an ID-number lookup may
 * reach. A path without one gives a prefix that matches no authority. */
void admin_province_of(const char *path, char out[64]);

/* The FROM ... WHERE of an enrolment queue (admin_enrol.c): enrolments of the current cycle
 * (*cycle) where scope_sql holds for scope_id (or scope_path), in ?status= (else the one or
 * two default statuses; none: any), ?procedure=, ?institution_id= and the physician filters.
 * Aliases e, p, d, i, au. b is initialised even when it fails (admin_sqlb_free it). */
int admin_enrol_queue_sql(admin_job *j, MYSQL *db, admin_sqlb *b, admin_filter_bufs *fb,
                          const char *scope_sql, long long scope_id, const char *scope_path,
                          const char *default_status1, const char *default_status2,
                          long long *cycle);

/* Appends the list filters of the seeds (科室 department_id, 姓名 name, 证件号码
 * id_number in its 15- and 18-digit forms, 年龄 age_min/age_max, 首次注册时间
 * first_reg_from/first_reg_to) as " AND ..." on p (physician). */
int admin_phys_filters(admin_job *j, admin_sqlb *b, admin_filter_bufs *fb);

/* ---- route work functions -------------------------------------------------------------------- */

/* admin_enrol.c */
int admin_enrolment_get(admin_job *j, MYSQL *db);
int admin_enrolment_action(admin_job *j, MYSQL *db);
int admin_enrolment_opinion(admin_job *j, MYSQL *db);
int admin_enrolment_log(admin_job *j, MYSQL *db);
int admin_exemption_action(admin_job *j, MYSQL *db);
int admin_reviews(admin_job *j, MYSQL *db);
int admin_exemptions(admin_job *j, MYSQL *db);
int admin_assessor_reviews(admin_job *j, MYSQL *db);
int admin_assessor_exemptions(admin_job *j, MYSQL *db);
int admin_authority_enrolments(admin_job *j, MYSQL *db);
int admin_attachment_get(admin_job *j, MYSQL *db);
int admin_workflow(admin_job *j, MYSQL *db);
int admin_certificate(admin_job *j, MYSQL *db);
/* Stores an upload as an attachment row + file; fills *id. */
int admin_attachment_store(admin_job *j, MYSQL *db, const char *owner_type, long long owner_id,
                           long long *id);

/* admin_physician.c (the physician's own pages) */
int admin_phys_me(admin_job *j, MYSQL *db);
int admin_phys_profile(admin_job *j, MYSQL *db);
int admin_phys_registration(admin_job *j, MYSQL *db);
int admin_phys_photo_put(admin_job *j, MYSQL *db);
int admin_phys_photo_get(admin_job *j, MYSQL *db);
int admin_phys_exemption(admin_job *j, MYSQL *db);
int admin_phys_exemption_attach(admin_job *j, MYSQL *db);
int admin_phys_results(admin_job *j, MYSQL *db);

/* admin_inst.c (institution: itself, departments, physicians) */
/* One new physician as a page, the import or the registry import gives it (strings
 * borrowed). institution_id 0: the actor's institution. */
typedef struct admin_phys_in {
    const char *name, *id_type, *id_number, *sex, *birth_date, *practice_level, *practice_category,
        *practice_scope, *specialty, *title, *first_registration_date, *practice_cert_date,
        *practice_cert_no, *mobile, *department;
    long long department_id, institution_id;
    char birth_buf[11];
} admin_phys_in;
/* Validates one new physician; msg gets the user-facing reason (DK_EINVAL, DK_ECONFLICT). */
int admin_phys_validate(admin_job *j, MYSQL *db, admin_phys_in *in, char *msg, size_t msgsz);
/* Inserts a validated physician with the next account of its institution, audited. In the
 * caller's transaction. */
int admin_phys_insert(admin_job *j, MYSQL *db, const admin_phys_in *in, const char *source,
                      long long *id, char account[40]);
int admin_inst_profile_get(admin_job *j, MYSQL *db);
int admin_inst_profile_put(admin_job *j, MYSQL *db);
int admin_subjects(admin_job *j, MYSQL *db);
int admin_dept_list(admin_job *j, MYSQL *db);
int admin_dept_create(admin_job *j, MYSQL *db);
int admin_dept_update(admin_job *j, MYSQL *db);
int admin_dept_enable(admin_job *j, MYSQL *db);
int admin_dept_disable(admin_job *j, MYSQL *db);
int admin_dept_delete(admin_job *j, MYSQL *db);
int admin_phys_list(admin_job *j, MYSQL *db);
int admin_phys_export(admin_job *j, MYSQL *db);
int admin_phys_create(admin_job *j, MYSQL *db);
int admin_phys_import(admin_job *j, MYSQL *db);
int admin_phys_detail(admin_job *j, MYSQL *db);
int admin_phys_confirm(admin_job *j, MYSQL *db);
int admin_phys_confirm_batch(admin_job *j, MYSQL *db);
int admin_phys_cancel(admin_job *j, MYSQL *db);
int admin_phys_reset_password(admin_job *j, MYSQL *db);
int admin_phys_leave(admin_job *j, MYSQL *db);
int admin_phys_delete(admin_job *j, MYSQL *db);
int admin_phys_transfer_lookup(admin_job *j, MYSQL *db);
int admin_phys_transfer_in(admin_job *j, MYSQL *db);
int admin_application_list(admin_job *j, MYSQL *db);
int admin_application_create(admin_job *j, MYSQL *db);
int admin_application_attach(admin_job *j, MYSQL *db);

/* admin_physician.c: 简易程序 proofs on the enrolment */
int admin_phys_proof_upload(admin_job *j, MYSQL *db);
int admin_phys_proof_delete(admin_job *j, MYSQL *db);

/* admin_bulk.c: an authority's bulk actions with a count preview */
int admin_bulk_makeup_preview(admin_job *j, MYSQL *db);
int admin_bulk_makeup(admin_job *j, MYSQL *db);
int admin_bulk_absentee_preview(admin_job *j, MYSQL *db);
int admin_bulk_absentees(admin_job *j, MYSQL *db);

/* admin_reviewer.c: 信息审核员 accounts */
int admin_reviewer_list(admin_job *j, MYSQL *db);
int admin_reviewer_create(admin_job *j, MYSQL *db);
int admin_reviewer_disable(admin_job *j, MYSQL *db);
int admin_reviewer_enable(admin_job *j, MYSQL *db);
int admin_reviewer_reset(admin_job *j, MYSQL *db);

/* admin_stats.c */
int admin_inst_home(admin_job *j, MYSQL *db);
int admin_progress(admin_job *j, MYSQL *db);
int admin_test_progress(admin_job *j, MYSQL *db);
int admin_history(admin_job *j, MYSQL *db);
int admin_authority_home(admin_job *j, MYSQL *db);
int admin_authority_stats(admin_job *j, MYSQL *db);

/* admin_invig.c */
int admin_invig_list(admin_job *j, MYSQL *db);
int admin_invig_get(admin_job *j, MYSQL *db);
int admin_invig_action(admin_job *j, MYSQL *db);
int admin_capture_photo(admin_job *j, MYSQL *db);
int admin_registered_photo(admin_job *j, MYSQL *db);
int admin_maintenance(admin_job *j, MYSQL *db);
/* Deletes capture photos past retention of cycles whose determinations are final, over
 * the cycles of the authorities under path (NULL: every cycle). */
int admin_purge_photos(MYSQL *db, const char *path, int *deleted, dk_error *err);

/* admin_authority.c */
int admin_cycle_list(admin_job *j, MYSQL *db);
int admin_cycle_get(admin_job *j, MYSQL *db);
int admin_cycle_create(admin_job *j, MYSQL *db);
int admin_cycle_update(admin_job *j, MYSQL *db);
int admin_auth_inst_list(admin_job *j, MYSQL *db);
int admin_auth_inst_create(admin_job *j, MYSQL *db);
int admin_auth_inst_reset(admin_job *j, MYSQL *db);
int admin_auth_inst_apply_right(admin_job *j, MYSQL *db);
int admin_auth_applications(admin_job *j, MYSQL *db);
int admin_auth_application_action(admin_job *j, MYSQL *db);
int admin_assignment_list(admin_job *j, MYSQL *db);
int admin_assignment_set(admin_job *j, MYSQL *db);
int admin_authorities(admin_job *j, MYSQL *db);

/* admin_cme.c, admin_cme_att.c, admin_cme_rec.c: continuing medical education 继续医学教育 */
int admin_cme_text(admin_job *j, const char *key, const char *label, size_t max_chars,
                   int required, const char **out); /* a text field limited in characters */
long long admin_cme_province_of(const char *path);   /* "/1/5/" -> 1 */
int admin_cme_is_province(const admin_job *j);
void admin_cme_csv_reply(admin_job *j, struct evbuffer *b, const char *filename);
int admin_cme_decision(admin_job *j, const char *const *keys, const char *what, const char *yes,
                       const char *no, int *pass, const char **op);
long admin_cme_day(const char *ymd); /* days since 1970-01-01 */
void admin_cme_ymd(long day, char out[11]);
/* The batch day (Wednesday or Friday, moved past non-working days) on which a decision of
 * day d is fed back; kinds[i] is the calendar of day first + i (0 ordinary, 1 节假日,
 * 2 调休工作日). Pure. */
long admin_cme_release_day(long d, long first, const unsigned char *kinds, long n);
int admin_cme_today(admin_job *j, MYSQL *db, char out[11]); /* Beijing date */
int admin_cme_project_scope(admin_job *j, MYSQL *db, long long id, int lock, json_t **out);
int admin_cme_card_norm(const char *in, char out[24]);
/* {required, card_no, years:[…]} of the enrolment's physician over the cycle's years */
int admin_cme_for_enrolment(admin_job *j, MYSQL *db, long long eid, json_t **out);
/* inst_pass: 409 when the province requires the verification and a year is not 达标 */
int admin_cme_assessment_check(admin_job *j, MYSQL *db, long long eid);
int admin_cme_batch_date(admin_job *j, MYSQL *db);
int admin_cme_calendar_list(admin_job *j, MYSQL *db);
int admin_cme_calendar_put(admin_job *j, MYSQL *db);
int admin_cme_calendar_delete(admin_job *j, MYSQL *db);
int admin_cme_project_create(admin_job *j, MYSQL *db);
int admin_cme_project_redeclare(admin_job *j, MYSQL *db);
int admin_cme_project_list(admin_job *j, MYSQL *db);
int admin_cme_project_get(admin_job *j, MYSQL *db);
int admin_cme_city_review(admin_job *j, MYSQL *db);
int admin_cme_province_review(admin_job *j, MYSQL *db);
int admin_cme_card_list(admin_job *j, MYSQL *db);
int admin_cme_card_create(admin_job *j, MYSQL *db);
int admin_cme_swipe(admin_job *j, MYSQL *db);
int admin_cme_attendance(admin_job *j, MYSQL *db);
int admin_cme_paper_import(admin_job *j, MYSQL *db);
int admin_cme_signin_sheet(admin_job *j, MYSQL *db);
int admin_cme_feedback(admin_job *j, MYSQL *db);
int admin_cme_feedback_check(admin_job *j, MYSQL *db);
int admin_cme_grant(admin_job *j, MYSQL *db);
int admin_cme_records(admin_job *j, MYSQL *db);
int admin_cme_mine(admin_job *j, MYSQL *db);
int admin_cme_rule_get(admin_job *j, MYSQL *db);
int admin_cme_rule_put(admin_job *j, MYSQL *db);
int admin_cme_settings_get(admin_job *j, MYSQL *db);
int admin_cme_settings_put(admin_job *j, MYSQL *db);
int admin_cme_stats(admin_job *j, MYSQL *db);

/* admin_itemstats.c: 试题分析 (item analysis) */
#define ADMIN_R_ITEMS (ADMIN_R_PROVINCE | ADMIN_R_QBANK) /* route rows; admin_can_view_items decides */
int admin_can_view_items(const admin_job *j);
void admin_items_kick(admin_server *srv);           /* nudges the analysis pool (admin_server.c) */
void admin_items_pool_work(void *conn, void *arg);  /* on the analysis thread */
int admin_items_table(admin_job *j, MYSQL *db, json_t **rows, long long *run);
int admin_items_request(admin_job *j, MYSQL *db);
int admin_items_runs(admin_job *j, MYSQL *db);
int admin_items_summary(admin_job *j, MYSQL *db);
int admin_items_questions(admin_job *j, MYSQL *db);
int admin_items_export(admin_job *j, MYSQL *db);
/* ---- issue 16: authority accounts, conduct records, the registry, 不合格 actions, 跟班带教 -- */

/* admin_import.c: the all-or-nothing CSV import of the authority pages. cols ends with a
 * NULL head; fn gets each data row's values by column (NULL: absent or empty), skip = 1 once
 * a row is in error (validate, write nothing); it returns 0, a user error (DK_EINVAL,
 * DK_ECONFLICT, DK_EFORBIDDEN, DK_ENOTFOUND: msg or j->err names it, the row is reported) or
 * a backend error (the import stops). On success the transaction is still open for the
 * caller's audit row and commit; *rows is the number of data rows. */
typedef struct admin_import_col {
    const char *head;
    int required;
} admin_import_col;
typedef int (*admin_import_row_fn)(admin_job *j, MYSQL *db, void *ctx, int line,
                                   const char *const *v, int skip, char *msg, size_t msgsz);
int admin_import_csv(admin_job *j, MYSQL *db, const admin_import_col *cols, int max_rows,
                     admin_import_row_fn fn, void *ctx, int *rows);
/* The ID numbers an import file looked up (only within the actor's province): add each
 * one with whether it was on file; admin_id_lookups_audit writes one id_lookup row for the
 * file (the numbers masked, how many, how many found), rolling back first unless commit is
 * still to come (ok && !dry), and frees the list. */
typedef struct admin_id_lookups {
    json_t *ids;
    int found;
} admin_id_lookups;
void admin_id_lookups_add(admin_id_lookups *l, const char *id, int found);
void admin_id_lookups_audit(admin_job *j, MYSQL *db, admin_id_lookups *l, const char *file,
                            int in_txn);

/* admin_region.c: authority units and accounts below the actor, institutions of its area */
int admin_region_unit_create(admin_job *j, MYSQL *db);
int admin_region_unit_update(admin_job *j, MYSQL *db);
int admin_region_account_list(admin_job *j, MYSQL *db);
int admin_region_account_create(admin_job *j, MYSQL *db);
int admin_region_account_update(admin_job *j, MYSQL *db);
int admin_region_account_enable(admin_job *j, MYSQL *db);
int admin_region_account_disable(admin_job *j, MYSQL *db);
int admin_region_account_reset(admin_job *j, MYSQL *db);
int admin_region_inst_update(admin_job *j, MYSQL *db);
int admin_region_inst_enable(admin_job *j, MYSQL *db);
int admin_region_inst_disable(admin_job *j, MYSQL *db);
int admin_region_inst_import(admin_job *j, MYSQL *db);
/* admin_authority.c: opens an institution account under authority auth (its code acode):
 * the next code (acode + H + 5 digits), a one-time activation code (shown once), the row and
 * its audit (source in the detail, may be NULL). In the caller's transaction. */
typedef struct admin_inst_fields {
    const char *name, *type, *level, *ownership, *contact, *phone; /* NULL: not given */
} admin_inst_fields;
int admin_inst_open(admin_job *j, MYSQL *db, long long auth, const char *acode,
                    const admin_inst_fields *f, const char *source, long long *id, char code[48],
                    char act_code[DOM_ACTIVATION_MAX]);
/* An institution in the actor's region (403 outside it, 404 unknown), optionally locked. */
int admin_inst_in_region(admin_job *j, MYSQL *db, long long id, int lock);

/* admin_conduct.c: 不良执业行为记录 and the 不合格 list */
int admin_conduct_list(admin_job *j, MYSQL *db);
int admin_conduct_create(admin_job *j, MYSQL *db);
int admin_conduct_import(admin_job *j, MYSQL *db);
/* The 不合格 list's FROM ... WHERE for the actor's region and the query's filters (cycle_id,
 * institution_id, name, id_number, done=0|1): one place for the JSON page and the exports.
 * Columns: ADMIN_FAILED_COLS. */
#define ADMIN_FAILED_COLS                                                                          \
    "e.id AS enrolment_id, e.cycle_id, c.code AS cycle_code, p.id AS physician_id, p.name, "       \
    "p.id_number, p.practice_level, p.practice_category, p.practice_cert_no, "                     \
    "i.id AS institution_id, i.name AS institution_name, au.name AS authority_name, "              \
    "e.procedure_type, e.result, e.result_reason, e.completed_at, "                                \
    "(SELECT JSON_ARRAYAGG(JSON_OBJECT('action', ra.action, 'done_on', ra.done_on, "               \
    "'document_no', ra.document_no, 'note', ra.note, 'done_by', acc.display_name, "                \
    "'recorded_at', ra.created_at)) FROM result_action ra JOIN authority_account acc ON "          \
    "acc.id = ra.done_by WHERE ra.enrolment_id = e.id) AS actions_done"
/* The date each step was recorded, one column per step (the export's) */
#define ADMIN_FAILED_STEP_COLS                                                                     \
    "(SELECT ra.done_on FROM result_action ra WHERE ra.enrolment_id = e.id AND ra.action = "       \
    "'注销注册') AS cancel_done_on, (SELECT ra.done_on FROM result_action ra WHERE "               \
    "ra.enrolment_id = e.id AND ra.action = '收回执业证书') AS recall_done_on"
int admin_failed_query(admin_job *j, MYSQL *db, admin_sqlb *b, admin_filter_bufs *fb);
int admin_failed_list(admin_job *j, MYSQL *db);
int admin_failed_record(admin_job *j, MYSQL *db);

/* admin_registry.c: the province's 电子化注册 link and the register import */
int admin_registry_get(admin_job *j, MYSQL *db);
int admin_registry_put(admin_job *j, MYSQL *db);
int admin_registry_import(admin_job *j, MYSQL *db);
/* 409 with the reason when the province of path takes its physicians from the registry */
int admin_registry_refuse_manual(admin_job *j, MYSQL *db, const char *path);

/* admin_teaching.c: 跟班带教修改申请 */
int admin_teaching_request_create(admin_job *j, MYSQL *db);
int admin_teaching_request_mine(admin_job *j, MYSQL *db);
int admin_teaching_request_list(admin_job *j, MYSQL *db);
int admin_teaching_request_action(admin_job *j, MYSQL *db);

/* admin_stats.c: the institution's 考核统计 and 补考管理 */
int admin_inst_stats(admin_job *j, MYSQL *db);
int admin_inst_makeups(admin_job *j, MYSQL *db);
/* admin_qbank.c (the question bank: uploads, releases, blueprints, preview, 题库管理员) */
int admin_qb_overview(admin_job *j, MYSQL *db);
int admin_qb_template(admin_job *j, MYSQL *db);
int admin_qb_check(admin_job *j, MYSQL *db);
int admin_qb_release_upload(admin_job *j, MYSQL *db);
int admin_qb_release_list(admin_job *j, MYSQL *db);
int admin_qb_release_get(admin_job *j, MYSQL *db);
int admin_qb_release_publish(admin_job *j, MYSQL *db);
int admin_qb_release_discard(admin_job *j, MYSQL *db);
int admin_qb_question_list(admin_job *j, MYSQL *db);
int admin_qb_question_get(admin_job *j, MYSQL *db);
int admin_qb_question_revise(admin_job *j, MYSQL *db);
int admin_qb_retire(admin_job *j, MYSQL *db);
int admin_qb_blueprints(admin_job *j, MYSQL *db);
int admin_qb_blueprint_check(admin_job *j, MYSQL *db);
int admin_qb_blueprint_publish(admin_job *j, MYSQL *db);
int admin_qb_preview(admin_job *j, MYSQL *db);
int admin_qb_admin_list(admin_job *j, MYSQL *db);
int admin_qb_admin_create(admin_job *j, MYSQL *db);
int admin_qb_admin_enable(admin_job *j, MYSQL *db);

#endif
