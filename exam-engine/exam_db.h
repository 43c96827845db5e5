/* exam_db.h - the exam engine's MariaDB work. Every function here blocks: they run on
 * the database worker threads (dk_workq), never on an event loop. */
#ifndef EXAM_DB_H
#define EXAM_DB_H

#include <stdint.h>

#include "dk_mysql.h"
#include "question_bank.h"

#define EXAM_MAX_TESTS 4

/* One test the physician may sit now. */
typedef struct exam_test {
    long long enrolment_id, cycle_id;
    char paper[16];    /* 公共知识 | 业务水平 */
    char category[16]; /* 执业类别 */
    int attempt;       /* 1 first sitting, 2 makeup */
    long long window_start_ms, window_end_ms;
    char live_session[33]; /* a session already started for it, or "" */
    int submitted;         /* that attempt's session is already submitted */
    int warn_at, submit_at, fullscreen; /* the cycle's departure rules (0: none) */
} exam_test;

/* Integrity signals of one session (issue 18) as Redis keeps them, for MariaDB. */
#define EXAM_DEP_MAX 200 /* departures kept per session (departure_max_per_session <= this) */
#define EXAM_DEV_MAX 8   /* devices kept per session */
typedef struct exam_departure {
    char id[65];
    char kind[12]; /* hidden | blur | fullscreen */
    long long start_ms, dur_ms;
} exam_departure;
typedef struct exam_device {
    char id[65];
    char addr[48];
    char ua[256];
    long long first_ms, last_ms;
} exam_device;
typedef struct exam_integrity {
    long long departures, departure_ms;
    int concurrent;
    int ndep, ndev;
    exam_departure dep[EXAM_DEP_MAX];
    exam_device dev[EXAM_DEV_MAX];
} exam_integrity;

/* Writes them: the departures and devices (new ones inserted, known ones kept), and the
 * session's counts (never lowered). In the caller's transaction, if any. */
int exam_db_integrity(MYSQL *db, const char *sid, const exam_integrity *ig, dk_error *err);

/* A session as MariaDB knows it (for starting, resuming and rebuilding Redis). */
typedef struct exam_db_session {
    char id[33];
    long long pid, enrolment_id, cycle_id;
    char paper[16], category[16];
    int attempt;
    long long started_ms, deadline_ms;
    char dep_warn[8], dep_submit[8]; /* the cycle's departure rules ("" = none) */
    int fullscreen;                  /* the cycle asks for fullscreen */
    long long departures, departure_ms;
    int drawn_pass_mark, drawn_question_count; /* the blueprint's when drawn (-1: before 014) */
    char *qp; /* encoded qb_paper, malloc'd */
    int submitted;
    int nanswers;
    int answer_no[QB_MAX_PAPER];
    char answer[QB_MAX_PAPER][QB_CHOICE_MAX + 16]; /* "CHOICE@ms" as Redis keeps it */
} exam_db_session;

/* Tests the physician may sit at now_ms (status 待参加考核/待参加补考, inside the window
 * or at most lead_ms before it opens (the waiting room), required, not exempted, not
 * passed). */
int exam_db_tests(MYSQL *db, long long pid, long long now_ms, long long lead_ms,
                  exam_test *out, int *n, dk_error *err);

/* Finds or creates the session of (physician, paper) for the current eligible attempt.
 * A new one is drawn from idx with a random seed; two racing starts (any node) end
 * with the same row thanks to the unique key. duration_ms: from configuration, or 0
 * for the blueprint's. Fills s (with its flushed answers). DK_EFORBIDDEN: nothing to sit now.
 * Before the window opens (at most lead_ms before, the waiting room) the paper is drawn
 * ahead and the session starts at the opening: started_at = the window's start, so its
 * time runs from the release, not from the arrival. */
int exam_db_start(MYSQL *db, const qb_index *idx, long long pid, const char *paper,
                  long long now_ms, long long lead_ms, long long duration_ms,
                  exam_db_session *s, dk_error *err);
/* The session by id (owner checked by the caller), with its flushed answers. */
int exam_db_load_session(MYSQL *db, const char *sid, exam_db_session *s, dk_error *err);
void exam_db_session_clear(exam_db_session *s);

/* Writes answers ("CHOICE@ms", "" choice = cleared) of one session, keeping the newest
 * per question whatever order flushes arrive in. */
int exam_db_flush_answers(MYSQL *db, const char *sid, int n, const int *nos,
                          const char *const *vals, dk_error *err);

/* One answer of some session, for exam_db_flush_rows. */
typedef struct exam_flush_row {
    const char *sid;
    int no;
    const char *val; /* "CHOICE@ms" */
} exam_flush_row;

/* Writes answers of several sessions in one transaction (multi-row upserts of at most a
 * few hundred rows each), with the same newest-wins rule. */
int exam_db_flush_rows(MYSQL *db, const exam_flush_row *rows, int n, dk_error *err);

typedef struct exam_result {
    int score, total, pass_mark, passed;
    char enrolment_status[48];
    int already; /* the session had been submitted before: these are the stored figures */
} exam_result;

/* The stored result of a submitted session (already = 1). */
int exam_db_result(MYSQL *db, const char *sid, exam_result *out, dk_error *err);

/* Scores and records a submitted session in one transaction: every answer, the result,
 * the session's status, the enrolment's next status and the audit log. Exactly once:
 * a second call for the same session returns the stored result with already = 1. */
int exam_db_finalize(MYSQL *db, const qb_index *idx, const char *sid, const char *by, int n,
                     const int *nos, const char *const *vals, const exam_integrity *ig,
                     exam_result *out, dk_error *err);
/* exam_db_finalize on the database thread's connection, run again on the first live node
 * after a lost connection, a Galera node that is not ready or a certification conflict
 * (dk_dbconn_run). Safe because finalize is exactly once: when the lost COMMIT did land,
 * the retry finds the session submitted and returns its stored result (already = 1). */
int exam_db_submit(dk_dbconn *c, const qb_index *idx, const char *sid, const char *by, int n,
                   const int *nos, const char *const *vals, const exam_integrity *ig,
                   exam_result *out, dk_error *err);

#endif
