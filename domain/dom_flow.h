/* dom_flow.h - the state machines of the workflow, ONE table for every status change any
 * server makes: the enrolment of DESIGN.md §1.1 (admind's reviews and decisions, examd's
 * scoring of a paper, the institution's release of a physician who leaves), exemption
 * requests, invigilation marks and assessor applications. The only writer of
 * enrolment.status (and of those tables' status columns).
 *
 * One locking rule: the entity's row is locked (SELECT ... FOR UPDATE) before anything is
 * read; the status is then written with UPDATE ... WHERE lock_version = <the version read>,
 * which bumps it. A row marked "version" also wants the client's version to match (409).
 * Blocking: database threads only. */
#ifndef DOM_FLOW_H
#define DOM_FLOW_H

#include <jansson.h>

#include "dk_mysql.h"
#include "dom_status.h"

/* ---- roles and the actor -------------------------------------------------------------- */

#define DOM_R_PHYS 0x01     /* 医师 (token kind 'p') */
#define DOM_R_INST 0x02     /* 医疗卫生机构 (kind 'i') */
#define DOM_R_ASSESSOR 0x04 /* 考核机构: an institution with is_assessor = 1 */
#define DOM_R_AUTH 0x08     /* 卫生行政部门, any level (kind 'a') */
#define DOM_R_PROVINCE 0x10 /* 省级卫生行政部门 */
#define DOM_R_QBANK 0x20 /* 题库管理员: an authority account of kind 'qbank' (no other role) */

/* Who acts: loaded from a token by the server (admin_load_actor). */
typedef struct dom_actor {
    char kind;      /* 'p', 'i', 'a' */
    long long id;   /* physician / institution / authority_account id */
    unsigned roles; /* DOM_R_* */
    char name[160];
    char login[72];           /* account, institution code or user name */
    long long institution_id; /* 'i': itself; 'p': its current institution */
    long long authority_id;   /* 'a': its authority; 'i'/'p': the institution's authority */
    char path[256];           /* authority path of authority_id ("/1/5/") */
    char level[16];           /* 'a': province / city / county */
    char authority_code[8];
    int is_assessor, can_apply;
    char ip[48]; /* the caller's address, for the audit log */
    /* an institution's 信息审核员 (token kind 'r') acts as its institution (kind 'i', id and
     * scope the institution's) and is audited as itself: reviewer_id > 0 */
    long long reviewer_id;
    char reviewer_name[32 * 4 + 1]; /* up to 32 characters of UTF-8 */
} dom_actor;

/* The role name the pages and the audit log show ("医师", "考核机构", "省级卫生行政部门"...);
 * acting_role DOM_R_ASSESSOR names an institution acting as 考核机构; NULL actor: 系统. */
const char *dom_role_name(const dom_actor *a, unsigned acting_role);
/* The audit actor type and id of an actor (a reviewer as itself; NULL: the system). */
const char *dom_actor_type(const dom_actor *a, unsigned acting_role);
long long dom_actor_id(const dom_actor *a);
/* 1 if an authority path (the actor's) covers the other path. */
int dom_path_covers(const char *actor_path, const char *path);

/* ---- eligibility ------------------------------------------------------------------------ */

/* Seed [000]: 对于偶数年取得相应资质的人员，推迟一年纳入考核范围，以后按规定周期进行考核.
 * A physician first registered (首次注册时间) in an even year that is the year the cycle's
 * period starts (Beijing) or later is not due in that cycle but in the following one
 * (cycle.defer_even_year, on by default). Registered in an even year before the cycle, it
 * was deferred from the cycle before and is due now. As SQL over a physician alias p and a
 * cycle alias c: 1 when deferred. */
#define DOM_DEFERRED_SQL(p, c)                                                                     \
    "(" c ".defer_even_year = 1 AND " p ".first_registration_date IS NOT NULL AND "                \
    "YEAR(" p ".first_registration_date) % 2 = 0 AND YEAR(" p ".first_registration_date) >= "      \
    "YEAR(" c ".period_start + INTERVAL 8 HOUR))"

/* ---- the machine ------------------------------------------------------------------------ */

typedef enum dom_entity {
    DOM_E_ENROLMENT = 0, /* enrolment.status (DESIGN.md §1.1) */
    DOM_E_EXEMPTION,     /* exemption_request.status */
    DOM_E_INVIGILATION,  /* invigilation.mark_status */
    DOM_E_APPLICATION,   /* assessor_application.status */
} dom_entity;

/* What an action is run on. */
typedef struct dom_flow_target {
    dom_entity entity;
    const char *action;
    /* the entity id (enrolment, exemption, application); for enrolment "confirm" the
     * physician id, for exemption "request" the enrolment id, for "apply" the institution */
    long long key;
    const char *sid;    /* invigilation: the session id */
    long long cycle_id; /* "confirm" and "apply": the cycle, resolved by the caller */
} dom_flow_target;

/* Runs one action in its own transaction: locks the entity, checks role, scope,
 * status, window, version, required fields and preconditions, picks the row, applies its
 * effect, writes the audit row, commits. actor NULL: the system (no role or scope check).
 * body: the request's fields (reason, version, evaluations...). out (may be NULL): the
 * entity's new state {entity, id|session_id, from, status, version, result}. */
int dom_flow_run(MYSQL *db, const dom_actor *actor, const dom_flow_target *t, json_t *body,
                 json_t **out, dk_error *err);
/* The same inside the caller's transaction (it commits or rolls back), and able to run
 * the internal rows (examd's "test_scored", the institution's "release", "tests"). */
int dom_flow_run_locked(MYSQL *db, const dom_actor *actor, const dom_flow_target *t, json_t *body,
                        int internal, json_t **out, dk_error *err);

/* examd, inside its submit transaction: a paper of the enrolment was scored (session sid,
 * attempt's result passed). Records the test result and moves the enrolment where the
 * results put it (DESIGN §1.1), issuing the pass certificate on 考核完成 合格. status_out:
 * the enrolment's status afterwards. */
int dom_flow_test_scored(MYSQL *db, long long enrolment_id, const char *paper, int passed,
                         const char *sid, char *status_out, size_t outsz, dk_error *err);

/* The table as JSON (GET /api/v1/workflow), internal rows left out. */
json_t *dom_flow_table_json(void);
/* Actions the actor may take on an entity in status (for detail pages). */
json_t *dom_flow_actions(const dom_actor *a, dom_entity e, const char *status);
/* The periodic sweep of absentees (seed [001]: missing a test is failing it), over the
 * cycles of the authorities under path (NULL: every cycle). */
int dom_flow_absentees(MYSQL *db, const char *path, int *moved, dk_error *err);
/* Who the sweep moves, as SQL over an enrolment alias e and its cycle c: waiting for a test
 * after test_end, or for a makeup after makeup_end. */
#define DOM_ABSENTEE_SQL(e, c)                                                                     \
    "((" e ".status = '" DOM_ST_TO_TEST "' AND " c ".test_end < NOW(3)) OR (" e                    \
    ".status = '" DOM_ST_TO_MAKEUP "' AND IFNULL(" c ".makeup_end, " c ".test_end) < NOW(3)))"
/* One absentee inside the caller's transaction: locks the enrolment and, when it is still
 * in status expect (待参加考核 / 待参加补考) with no live session, fails its missed tests and
 * moves it by the "tests" row (audited, actor system). *moved: 1 when moved. */
int dom_flow_absentee_locked(MYSQL *db, long long eid, const char *expect, int *moved,
                             dk_error *err);

/* ---- the pure check, for tests and for the engine --------------------------------------- */

/* One row of the table, opaque outside dom_flow.c but for what tests need. */
typedef struct dom_flow_row dom_flow_row;
size_t dom_flow_nrows(void);
const dom_flow_row *dom_flow_row_at(size_t i);
/* A row's entity, action, from, roles and whether it wants the client's version. */
void dom_flow_row_info(const dom_flow_row *r, dom_entity *e, const char **action, const char **from,
                       unsigned *roles, int *internal, int *versioned);

/* The decision before any effect: may an actor with these roles (0: the system), in scope
 * or not, run action on an entity of e in status, with the client's version (-1: none
 * given) against the entity's? 0 and *row (the first candidate row) when allowed;
 * otherwise DK_ENOTFOUND (no such action), DK_EFORBIDDEN (role or scope), DK_ECONFLICT
 * (status or version) or DK_EINVAL (version missing), with a message in err. */
typedef struct dom_flow_query {
    dom_entity entity;
    const char *action;
    unsigned roles; /* the actor's roles; 0: the system */
    int in_scope;   /* the entity is in the actor's scope */
    const char *status;
    long long client_version; /* -1: not given */
    long long version;        /* the entity's lock_version */
    int internal;             /* internal rows allowed */
} dom_flow_query;
int dom_flow_decide(const dom_flow_query *q, const dom_flow_row **row, dk_error *err);

#endif
