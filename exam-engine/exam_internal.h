/* exam_internal.h - what the exam engine's files share: the server, its pools, the
 * configuration it reads once and the handlers of the route table (not a public
 * contract). The Redis layout of a session is domain's (dom_session.h). */
#ifndef EXAM_INTERNAL_H
#define EXAM_INTERNAL_H

#include <stdatomic.h>

#include "dk_auth.h"
#include "dk_clock.h"
#include "dk_http.h"
#include "dk_json.h"
#include "dk_log.h"
#include "dk_mysql.h"
#include "dk_workq.h"
#include "dom_account.h"
#include "dom_limit.h"
#include "dom_session.h"
#include "dom_status.h"
#include "dom_token.h"
#include "exam_db.h"
#include "exam.h"
#include "proctor.h"
#include "question_bank.h"

struct exam_server {
    const dk_config *cfg;
    dk_http_server *http;
    dk_workq *db;   /* MariaDB threads (dk_dbconn contexts) */
    dk_workq *hash; /* password hashing threads, bounded: 503 beyond (each with a dk_dbconn) */
    dk_workq *face; /* camera checks: face-engine threads (exam_camera.c), bounded */
    dk_workq *capture; /* storing captures (exam_capture.c): own threads and connections */
    dk_workq *flush;   /* the answer flush (exam_timers.c): own threads and connections */
    dk_auth auth;
    dom_login_env login; /* the login check's limits and pools (domain/dom_account.h) */
    dom_token_env tokens; /* token revocation (domain/dom_token.h) */
    qb_bank *bank;
    struct proctor_pool *proctor; /* in-process capture workers, or NULL */
    long long duration_ms; /* from configuration when set there, else 0 = the blueprint's */
    /* configuration the handlers need, read once in exam_start: no lookup by name per
     * request */
    long long waiting_ms;          /* the waiting room opens this long before a window */
    long long release_spread_ms;   /* the pages fetch their papers spread over this */
    const char *login_queue;       /* the fair login queue's name (borrowed from cfg) */
    char node_name[96];            /* host-pid: this node in the login queue's rates */
    long long redis_wait_replicas; /* an answer is acknowledged once on this many replicas */
    long long redis_wait_ms;       /* ... waiting at most this long (WAIT) */
    long long session_ttl_s;       /* a submitted session stays in Redis this long */
    long long capture_grace_ms;    /* the first capture is due within this of the start */
    long long capture_interval_ms; /* the next one within [0.5, 1.5] x this */
    long long capture_early_slack_ms; /* taken from this long before the due time */
    long long capture_max_per_session;
    dom_limit camera_limit; /* camera checks per physician (dom_limit.h) */
    int camera_liveness;    /* 0: the liveness challenge's verdict is logged, not applied */
    long long sweeper_period_ms;
    long long capture_sweep_period_s; /* 0: files no row names are never swept */
    const char *data_dir;  /* borrowed from cfg: captures/<sid>/<id>.jpg below it */
    proctor_options photo; /* upload limits of exam_check_jpeg (strings borrowed from cfg) */
    dk_error photo_err;    /* code != 0: the proctor_* keys are invalid, uploads refused */
    _Atomic long long live_sessions;
    _Atomic long long sweeper_lag_ms;
    _Atomic long long sweeps_inflight;
    _Atomic long long submitted_by_sweeper;
    _Atomic long long resumes_from_redis; /* POST /sessions of a live session, no MariaDB */
    _Atomic long long flushed_answers;
    _Atomic long long answer_waits, answer_waited; /* WAITs sent, answers they acknowledged */
    _Atomic long long capture_backlog, capture_parked;
    /* where an answer save and a submit spend their time (/metrics histograms) */
    dk_hist answer_redis; /* the answer script's round trip to Redis */
    dk_hist submit_wait;  /* a claimed submit waiting for a database thread */
    dk_hist submit_db;    /* the submit's transaction, retries included */
    /* the login queue (exam_auth.c, domain/dom_queue.h): logins let in and not yet
     * answered; queued ones let in, and refusals with a place */
    _Atomic long long logins_admitted, queue_admitted, queue_refused;
    _Atomic long long queue_addr_refused; /* first arrivals refused a place: address full */
    int login_queue_max_per_addr;
    int departure_max;                /* departures kept per session (departure_max_per_session) */
    long long concurrent_window_ms;   /* concurrent_device_window_s */
    /* the clock offset last logged: Redis's clock (TIME) minus this node's is measured at
     * start and every sweep tick (dk_clock.h); session times (start, deadline, capture due
     * times, server_time) and token times are Redis's, so a node whose clock is minutes
     * off neither shortens nor lengthens a paper, nor issues a token that outlives a
     * revocation */
    _Atomic long long clock_logged_ms;
};

/* The login queue: a holder is told to come back within EXAM_QUEUE_POLL_MAX_S, and keeps
 * the place for twice the time given plus EXAM_QUEUE_GRACE_MS (the page's jitter, the
 * network). */
#define EXAM_QUEUE_POLL_MAX_S 15
#define EXAM_QUEUE_GRACE_MS 5000

/* Per event loop. */
typedef struct exam_loop {
    struct event *sweep, *flush, *reload, *orphans; /* loop 0 only */
    struct event *capture_sweep, *capture_sweep_every; /* the first, then every period */
    long long capture_swept_at; /* unix s the last capture sweep was queued (0: none yet) */
    dom_token_cache *tokens; /* this loop's revocations, read by the route runner */
    /* With redis_wait_replicas > 0: a second connection carries the answer writes and
     * their WAIT, so a WAIT blocks nothing else of the loop; one WAIT in flight at a time
     * acknowledges every answer written before it (group commit, exam_session.c). */
    dk_aredis *answers;  /* NULL: answers go on loop->redis, unreplicated */
    dk_req **acks;       /* written on `answers`, waiting for the next WAIT */
    int nacks, acks_cap;
    int wait_out;        /* a WAIT is in flight */
    int stopping;        /* exam_timers_stop: no new WAIT */
} exam_loop;

/* Answers still waiting for a WAIT when the loop stops: refused (exam_session.c). */
void exam_acks_fail_all(dk_loop *loop);

static inline exam_server *exam_of(dk_req *rq) { return dk_http_udata(rq->loop->server); }

/* Now on Redis's clock (dk_clock.h). */
static inline long long exam_now_ms(exam_server *s)
{
    (void)s;
    return dk_clock_ms();
}
/* Logs the offset dk_clock measured when this node is a second or more off (again only
 * when that changes by another second). */
void exam_clock_note(exam_server *s, long long offset_ms);

/* ---- the route table (exam_server.c): a row per endpoint, read by one runner ---- */

#define EXAM_R_PHYS 0x01        /* 医师: token kind 'p' */
#define EXAM_F_PUBLIC 0x01      /* no token */
#define EXAM_F_MUST_CHANGE 0x02 /* allowed with a must-change-password token */

/* Where a route's blocking work runs; its handler submits to exam_pool(rq). */
typedef enum exam_pool_id {
    EXAM_POOL_LOOP, /* none: Redis only, on the loop */
    EXAM_POOL_DB,
    EXAM_POOL_HASH,
    EXAM_POOL_FACE,
    EXAM_POOL_CAPTURE, /* storing captures: threads with database connections of their own */
} exam_pool_id;

/* A route's handler, on the loop. who: the caller the runner checked against the row's
 * roles and flags (token valid, kind, password changed); NULL on a public route. */
typedef void (*exam_handler)(dk_req *rq, const dk_claims *who);

/* The pool of rq's route (NULL for EXAM_POOL_LOOP). */
dk_workq *exam_pool(dk_req *rq);

/* Answers 503 with Retry-After: a bounded pool is full (the client waits and retries). */
void exam_busy(dk_req *rq, int retry_after_s, const char *msg);
/* 503 for a request the full pool q refused, with the pool's paced Retry-After
 * (dk_workq_retry_after, at most EXAM_RETRY_MAX_S). */
#define EXAM_RETRY_MAX_S 30
void exam_busy_pool(dk_req *rq, dk_workq *q, const char *msg);
/* On a database thread: its connection and the current bank index (qb_index_unref it).
 * Nonzero with err set when either is missing. */
int exam_db_and_bank(void *ctx, exam_server *s, MYSQL **db, qb_index **idx, dk_error *err);
/* Checks an uploaded JPEG's header against the proctor limits; on failure replies
 * (413/422, Chinese message) and returns nonzero. */
int exam_check_jpeg(dk_req *rq, int *width, int *height);

void exam_login(dk_req *rq, const dk_claims *who);
void exam_password(dk_req *rq, const dk_claims *who);
void exam_logout(dk_req *rq, const dk_claims *who);
void exam_tests(dk_req *rq, const dk_claims *who);
void exam_session_start(dk_req *rq, const dk_claims *who);
void exam_session_get(dk_req *rq, const dk_claims *who);
void exam_answer_put(dk_req *rq, const dk_claims *who);
void exam_submit(dk_req *rq, const dk_claims *who);
void exam_capture_post(dk_req *rq, const dk_claims *who);
void exam_capture_get(dk_req *rq, const dk_claims *who);
/* The sweep of capture files no row names (a crash between write and commit); a job of the
 * capture pool: ctx is a pool thread's dk_dbconn, arg an exam_capture_sweep; it looks only
 * at the session folders changed since `since` (unix s; 0: all of them). */
typedef struct exam_capture_sweep {
    exam_server *srv;
    long long since;
    int removed, checked, rc;
    dk_error err;
} exam_capture_sweep;
void exam_capture_sweep_work(void *ctx, void *arg);
void exam_camera_check(dk_req *rq, const dk_claims *who);
void exam_camera_liveness(dk_req *rq, const dk_claims *who);
void exam_session_liveness(dk_req *rq, const dk_claims *who);
void *exam_face_thread_init(void *cfg);
void exam_face_thread_fini(void *ctx);
/* Tries to submit one expired session for its physician (exactly one node wins). */
void exam_auto_submit(dk_loop *loop, const char *sid, const char *by, long long pid);
/* The sweeper's: the deadline passed. */
#define exam_sweep_one(loop, sid) exam_auto_submit(loop, sid, DOM_BY_SWEEPER, 0)

/* The value of a field in a HGETALL-shaped reply (name, value, ...), or NULL. */
const char *exam_field(const redisReply *pairs, const char *name);

/* ---- integrity signals (exam_integrity.c, issue 18) ---- */

/* The page's device id (header X-DK-Device: 8..64 of [A-Za-z0-9_-]), or "" when absent or
 * malformed. */
#define EXAM_DEVICE_ID_MAX 64
void exam_device_id(dk_req *rq, char out[EXAM_DEVICE_ID_MAX + 1]);
/* Records the device that opened session sid (start or resume; fire and forget). */
void exam_record_device(dk_req *rq, const char *sid);
/* PUT /api/v1/sessions/{id}/departures/{event}: one departure from the page. */
void exam_departure_put(dk_req *rq, const dk_claims *who);
/* The rules and counts of a session's fields (a view's reply), for the page. */
json_t *exam_integrity_json(redisReply *fields);
/* Fills ig from dom_lua_integrity's three replies (counts, departure pairs, device pairs). */
void exam_integrity_from_reply(exam_integrity *ig, const redisReply *counts,
                               const redisReply *deps, const redisReply *devs);
/* Loop 0, each flush tick: writes the sessions listed in DOM_KEY_IDIRTY to MariaDB. */
void exam_integrity_flush(dk_loop *loop);

/* Timers of loop 0: the deadline sweeper, the answer flush and the gauges. */
void exam_timers_start(dk_loop *loop);
void exam_timers_stop(dk_loop *loop);

#endif
