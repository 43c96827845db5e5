/* exam_internal.h - what the exam engine's files share: the server, its pools, the
 * Redis key names and the handlers of the route table. Not a public contract. */
#ifndef EXAM_INTERNAL_H
#define EXAM_INTERNAL_H

#include <stdatomic.h>

#include "dk_auth.h"
#include "dk_http.h"
#include "dk_json.h"
#include "dk_log.h"
#include "dk_mysql.h"
#include "dk_workq.h"
#include "dom_account.h"
#include "dom_status.h"
#include "exam.h"
#include "proctor.h"
#include "question_bank.h"

struct exam_server {
    const dk_config *cfg;
    dk_http_server *http;
    dk_workq *db;   /* MariaDB threads (dk_dbconn contexts) */
    dk_workq *hash; /* password hashing threads, bounded: 503 beyond (each with a dk_dbconn) */
    dk_workq *face; /* camera checks: face-engine threads (exam_camera.c), bounded */
    dk_auth auth;
    dom_login_env login; /* the login check's limits and pools (domain/dom_account.h) */
    qb_bank *bank;
    struct proctor_pool *proctor; /* in-process capture workers, or NULL */
    long long duration_ms; /* from configuration when set there, else 0 = the blueprint's */
    _Atomic long long live_sessions;
    _Atomic long long sweeper_lag_ms;
    _Atomic long long sweeps_inflight;
    _Atomic long long submitted_by_sweeper;
    _Atomic long long flushed_answers;
    _Atomic long long capture_backlog, capture_parked;
};

/* Per event loop. */
typedef struct exam_loop {
    struct event *sweep, *flush, *reload, *orphans; /* loop 0 only */
} exam_loop;

#define EXAM_DEADLINES "exam:deadlines"
#define EXAM_DIRTY "exam:dirty"

static inline exam_server *exam_of(dk_req *rq) { return dk_http_udata(rq->loop->server); }

/* Checks the bearer token; on failure replies (401/403) and returns nonzero. A token
 * that still must change its password passes only when allow_must_change. */
int exam_authenticate(dk_req *rq, dk_claims *c, int allow_must_change);

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

void exam_login(dk_req *rq);
void exam_password(dk_req *rq);
void exam_tests(dk_req *rq);
void exam_session_start(dk_req *rq);
void exam_session_get(dk_req *rq);
void exam_answer_put(dk_req *rq);
void exam_submit(dk_req *rq);
void exam_capture_post(dk_req *rq);
void exam_camera_check(dk_req *rq);
void *exam_face_thread_init(void *cfg);
void exam_face_thread_fini(void *ctx);
/* Tries to submit one expired session for its physician (exactly one node wins). */
void exam_sweep_one(dk_loop *loop, const char *sid);

/* Timers of loop 0: the deadline sweeper, the answer flush and the gauges. */
void exam_timers_start(dk_loop *loop);
void exam_timers_stop(dk_loop *loop);

#endif
