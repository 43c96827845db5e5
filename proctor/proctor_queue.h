/* proctor_queue.h - the capture queue in Redis (a stream with one consumer group), the
 * missing-capture check, captures stored but never queued, registered photos. The live
 * session's keys and scripts are domain's (dom_session.h); the proctor's own queue keys
 * are named here.
 * Threads: the functions take a sync redisContext and a MYSQL handle that belong to the
 * calling thread; never an event loop, except proctor_job_argv (no I/O, no allocation). */
#ifndef PROCTOR_QUEUE_H
#define PROCTOR_QUEUE_H

#include <hiredis/hiredis.h>
#include <mysql.h>
#include <stddef.h>

#include "dk_err.h"
#include "proctor_engine.h"
#include "proctor_session.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the queue (Redis streams) ----------------------------------------------------- */

#define PROCTOR_STREAM "proctor:captures"
#define PROCTOR_GROUP "proctor"
#define PROCTOR_PARKED "proctor:parked"
#define PROCTOR_SUSPECTS "proctor:suspects"
#define PROCTOR_ATTEMPTS "proctor:attempts"  /* hash: "<entry id>:err" = last failure */
#define PROCTOR_REQUEUED "proctor:requeued:" /* + capture id: queued again once (7 days) */
#define PROCTOR_FLAGGED "proctor:flagged:"   /* + sid:reason: suspect entry pushed once (7 days) */

typedef struct proctor_job {
    long long capture_id;   /* proctor_capture.id */
    const char *session_id; /* exam_session.id (32 hex characters) */
    long long physician_id;
    const char *path;   /* the stored photo: absolute, or relative to data_dir */
    long long taken_at; /* unix ms */
} proctor_job;

#define PROCTOR_JOB_ARGC 13 /* XADD proctor:captures * + 5 field/value pairs */
#define PROCTOR_JOB_NBUFS 3 /* number buffers proctor_job_argv needs */

/* Fills argv/argvlen (PROCTOR_JOB_ARGC entries) with the XADD of a job, for an async
 * client; numbers are written into bufs, path is borrowed. No allocation, no I/O.
 * Returns the argument count, 0 if a field is missing. No MAXLEN: a job is never trimmed away;
 * workers XDEL what they acknowledged, so XLEN of the stream is the backlog. */
size_t proctor_job_argv(const proctor_job *job, const char **argv, size_t *argvlen,
                        char bufs[][32]);
/* XADD with a sync connection. */
int proctor_enqueue(redisContext *c, const proctor_job *job, dk_error *err);
/* Creates the consumer group (MKSTREAM) unless it exists. */
int proctor_queue_init(redisContext *c, dk_error *err);

typedef struct proctor_lag {
    long long length;    /* XLEN: jobs not yet acknowledged (queued + in hand) */
    long long pending;   /* delivered, not yet acknowledged */
    long long parked;    /* XLEN proctor:parked */
    long long oldest_ms; /* age of the oldest entry, 0 if empty */
} proctor_lag;
/* For /metrics. */
int proctor_queue_lag(redisContext *c, long long now_ms, proctor_lag *out, dk_error *err);

/* Flags each session of DOM_KEY_DUE overdue by more than grace_ms, once per session
 * (dom_lua_missing): suspect entry, proctor_suspect row, DOM_F_CAP_MISSING in the session.
 * The physician is the exam_session row's, else (db NULL, or no row) the session hash's
 * DOM_F_PID. *flagged = sessions flagged by this call. */
int proctor_check_missing(redisContext *c, MYSQL *db, long long now_ms, long long grace_ms,
                          int *flagged, dk_error *err);

/* Session decisions (proctor_session.h), run by the worker after each scored capture:
 * reads the session's proctor_capture rows (unscored ones as pending), decides, and for each flag upserts the
 * proctor_suspect row (session, reason) with the frames behind it (frames = their capture
 * ids, capture_id = the worst, score, occurrences = the frame count), then pushes the
 * suspect entry once per session and reason (SET NX PROCTOR_FLAGGED<sid>:<reason> and XADD
 * in one script). Idempotent: run again (a retried job, a second job of one capture) it
 * writes the same rows and pushes nothing twice. A flag stays once raised: later captures
 * may extend its frames, never remove the row. *pushed = entries pushed by this call. */
int proctor_session_update(redisContext *c, MYSQL *db, const proctor_session_params *p,
                           const char *sid, long long physician_id, long long now_ms, int *pushed,
                           dk_error *err);

/* Captures stored but never queued (examd's XADD failed after the row and file were
 * written: Redis down or slow) are queued again. A proctor_capture row is queued when it
 * is unscored (scored_at and error NULL), still has its photo (photo_path set,
 * photo_deleted_at NULL), was taken before now_ms - after_ms, and cannot be in the
 * stream: taken more than after_ms before the oldest entry still there (entries are
 * XDELed when acknowledged, so the oldest remaining one bounds what is still queued).
 * Each is queued once (SET NX proctor:requeued:<capture id>, 7 days, in the same Lua
 * script as the XADD, which re-checks the oldest entry). At most max_backlog - XLEN jobs
 * per call, oldest first (the stream is topped up, never flooded). *queued = jobs added.
 * A job queued twice all the same is scored once (the worker's guarded UPDATE). */
int proctor_requeue_unqueued(redisContext *c, MYSQL *db, long long now_ms, long long after_ms,
                             long long max_backlog, int *queued, dk_error *err);

/* Computes the embedding of a registered photo (exactly one face) and stores it with
 * the model name in the physician row. */
int proctor_register_photo(proctor_engine *e, MYSQL *db, long long physician_id,
                           const unsigned char *jpeg, size_t len, dk_error *err);

#ifdef __cplusplus
}
#endif

#endif
