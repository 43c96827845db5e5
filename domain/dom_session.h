/* dom_session.h - the layout of a live exam session in Redis, in one place: the keys (built
 * here and nowhere else), the fields of the session hash, the session-id rule, and the
 * Lua scripts that change a session, each with its KEYS/ARGV contract. examd writes a
 * session, the proctor adds capture results to it; both go through this header.
 *
 * Keys of one session share the hash tag {sid} (sess:{sid}, sess:{sid}:ans,
 * sess:{sid}:cap) so they sit in one slot of a Redis Cluster. The sets that list sessions
 * (DOM_KEY_DEADLINES, DOM_KEY_DIRTY, DOM_KEY_DUE) have sids as members. Time inside the
 * scripts is Redis's TIME: every node agrees on one clock. Answers are stored as
 * "CHOICE@ms" ("" = cleared). Run the scripts with dk_aredis_evalsha or dk_redis_evalsha:
 * they travel as their SHA-1, the text only when Redis lacks it (NOSCRIPT).
 * No I/O and no allocation here; everything is safe from any thread. */
#ifndef DOM_SESSION_H
#define DOM_SESSION_H

#include <stddef.h>

#include "dk_redis.h"

/* ---- the session id ------------------------------------------------------------------ */

/* A session id is 32 lower-case hex characters (16 random bytes, sodium_bin2hex), also
 * the primary key of exam_session. */
#define DOM_SID_LEN 32

/* 1 when s[0..n) is a session id: exactly DOM_SID_LEN characters of [0-9a-f]. Anything
 * else (upper case, other lengths, other characters) is refused before it reaches a key
 * or a query. s need not be NUL-terminated. */
int dom_sid_valid(const char *s, size_t n);

/* ---- keys ------------------------------------------------------------------------------ */

#define DOM_KEY_MAX 64 /* room for any key below built from a valid sid */

/* A key built for one session, by value: dom_key_sess(sid).s */
typedef struct dom_key {
    char s[DOM_KEY_MAX];
} dom_key;

/* The key builders take a valid sid (dom_sid_valid). */
dom_key dom_key_sess(const char *sid);    /* sess:{sid}: hash of DOM_F_* fields */
dom_key dom_key_ans(const char *sid);     /* sess:{sid}:ans: question no -> "CHOICE@ms" */
dom_key dom_key_cap(const char *sid);     /* sess:{sid}:cap: capture id -> result JSON */
dom_key dom_key_missing(const char *sid); /* proctor:missing:{sid}: flagged-once marker */
dom_key dom_key_dep(const char *sid);     /* sess:{sid}:dep: event id -> "kind|start_ms|dur_ms" */
dom_key dom_key_dev(const char *sid);     /* sess:{sid}:dev: device id -> "first|last|addr|ua" */
/* wait:{cycle}:{opens_ms}: zset of the physicians in the waiting room of one opening,
 * score = arrival (Redis ms), member = "pid:paper" */
dom_key dom_key_wait(long long cycle, long long opens_ms);
/* live:{pid}: hash paper -> sid of the physician's latest session of that paper, written
 * with the session (dom_lua_restore); lets a resume be answered from Redis alone */
dom_key dom_key_live(long long pid);

/* Keys that list sessions (members: sids). */
#define DOM_KEY_DEADLINES "exam:deadlines" /* zset, score = deadline (unix ms): the sweeper's */
#define DOM_KEY_DIRTY "exam:dirty"         /* set: answers not yet flushed to MariaDB */
#define DOM_KEY_DUE "proctor:due"          /* zset, score = when the next capture is due */
#define DOM_KEY_IDIRTY "exam:idirty" /* set: integrity signals not yet written to MariaDB */

/* ---- the session hash (sess:{sid}) ------------------------------------------------------ */

/* Written by examd when the session starts or is rebuilt from MariaDB (dom_lua_restore). */
#define DOM_F_SID "sid"
#define DOM_F_PID "pid" /* the physician's id */
#define DOM_F_ENROL "enrol"
#define DOM_F_CYCLE "cycle"
#define DOM_F_PAPER "paper"
#define DOM_F_CATEGORY "category"
#define DOM_F_ATTEMPT "attempt"
#define DOM_F_STARTED_AT "started_at" /* unix ms */
#define DOM_F_DEADLINE "deadline"     /* unix ms */
#define DOM_F_STATUS "status"         /* DOM_SESS_* */
#define DOM_F_SHAPE "shape" /* per question 'S'|'M' and the last valid letter ("SDMEMD...") */
#define DOM_F_QP "qp"       /* the encoded paper (qb_paper_decode) */
/* Written by the submit (dom_lua_claim, dom_lua_finish). */
#define DOM_F_CLAIM_AT "claim_at"
#define DOM_F_CLAIM_BY "claim_by" /* DOM_BY_* */
#define DOM_F_SCORE "score"
#define DOM_F_TOTAL "total"
#define DOM_F_PASSED "passed" /* "1" | "0" */
#define DOM_F_ENROLMENT_STATUS "enrolment_status"
#define DOM_F_PASS_MARK "pass_mark"
/* Proctoring: examd schedules the next capture, the proctor records results. */
#define DOM_F_CAP_NEXT_DUE "cap_next_due" /* unix ms */
#define DOM_F_CAP_COUNT "cap_count"       /* captures accepted (dom_lua_capture_ok) */
#define DOM_F_CAP_LAST_AT "cap_last_at"   /* taken_at of the newest scored capture */
#define DOM_F_CAP_LAST_SIMILARITY "cap_last_similarity"
#define DOM_F_CAP_LAST_FLAG "cap_last_flag"
#define DOM_F_CAP_MISSING "cap_missing" /* unix ms when captures were found missing */
/* The proctor's quality gate asked for a new capture (proctor_worker.c): the reason
 * (PROCTOR_RETAKE_*) and the retaken capture's id; DOM_F_CAP_NEXT_DUE is brought forward
 * to then, so the page's new capture is not early. */
#define DOM_F_CAP_RETAKE "cap_retake"
#define DOM_F_CAP_RETAKE_ID "cap_retake_id"
/* A liveness challenge asked at a random moment (proctor_worker.c): the id of the capture
 * after which it was asked, "" or absent when none is pending; its outcome (examd,
 * POST .../liveness): "<verdict>@<unix ms>", verdict "passed", "not_left", "not_right",
 * "no_face", "multiple_faces", or the front frame's flag. */
#define DOM_F_CAP_CHALLENGE "cap_challenge"
#define DOM_F_CAP_CHALLENGE_RESULT "cap_challenge_result"
/* The flush's watermark (unix ms, Redis's clock, as the answers' "@ms"): MariaDB has every
 * answer saved before it (the time of the last take that was written). Absent (a new or rebuilt session, or one an older examd kept): 0,
 * and the next flush writes the whole paper. */
#define DOM_F_FLUSHED_MS "flushed_ms"
/* Integrity signals (issue 18). The cycle's rules, written with the session: */
#define DOM_F_DEP_WARN "dep_warn"     /* warn at this departure ("" or absent: never) */
#define DOM_F_DEP_SUBMIT "dep_submit" /* submit at this departure ("" or absent: never) */
#define DOM_F_FULLSCREEN "fs_req"     /* "1": the page asks for fullscreen */
/* and what happened (dom_lua_departure, dom_lua_answer): */
#define DOM_F_DEP_N "dep_n"   /* departures recorded */
#define DOM_F_DEP_MS "dep_ms" /* their total duration */
#define DOM_F_DEV "dev"       /* the device that answered last */
#define DOM_F_DEV_AT "dev_at" /* when (Redis ms; rewritten at most once a second) */
#define DOM_F_CONC "conc"     /* when two devices answered within the window (set once) */

/* DOM_F_STATUS values: live -> submitting (claimed) -> submitted; a failed claim goes
 * back to live (dom_lua_unclaim). */
#define DOM_SESS_LIVE "live"
#define DOM_SESS_SUBMITTING "submitting"
#define DOM_SESS_SUBMITTED "submitted"

/* Who submits (ARGV "by" of dom_lua_claim/dom_lua_unclaim, exam_session.submitted_by). */
#define DOM_BY_PHYSICIAN "physician"
#define DOM_BY_SWEEPER "sweeper"
#define DOM_BY_DEPARTURES "departures" /* the cycle's departure_submit_at was reached */

/* ---- the scripts ---------------------------------------------------------------------- */
/* Each comment: KEYS, ARGV, the reply. "sess", "ans", "cap" are dom_key_sess/ans/cap of
 * the session; the other keys are the constants named. */

/* Saves one answer. KEYS: sess, ans, DOM_KEY_DIRTY, DOM_KEY_IDIRTY. ARGV: pid, no, choice,
 * sid, arrival (the node's unix ms when the request arrived), device ("" when the page
 * sent none), window_ms: an answer from another device than the last one within this
 * time sets DOM_F_CONC once (and lists the session in DOM_KEY_IDIRTY); after a longer
 * quiet it is a resume on a new device, not flagged.
 * -> {1, "ok", now} | {0, reason, now}; reasons: nosession, closed, notopen (drawn in
 * the waiting room, before DOM_F_STARTED_AT), badno, badchoice, stale (the request waited over 20 s in a node that froze: the client retries, so an
 * old choice never lands over a newer one) */
extern dk_script dom_lua_answer;

/* Reads a session. KEYS: sess, ans. ARGV: pid ("" = any, for the sweeper).
 * -> {1, now, {session fields...}, {answer pairs...}} | {0, "nosession"} */
extern dk_script dom_lua_view;

/* Writes a session started or rebuilt from MariaDB. KEYS: sess, ans, DOM_KEY_DEADLINES,
 * DOM_KEY_DUE, dom_key_live of the session's physician (paper -> sid, kept until a day
 * after the latest deadline). ARGV: the session fields as pairs, "|", answer pairs, then the ms until the
 * first capture is due (counted from DOM_F_STARTED_AT when that is later than now: a
 * paper drawn in the waiting room). Writes only what is missing (a rebuild never overwrites newer
 * state); a live session is listed in both zsets. A resume of a live session clears
 * DOM_F_CAP_NEXT_DUE: the capture the page sends right after it is never early.
 * -> same as dom_lua_view. */
extern dk_script dom_lua_restore;

/* A resume answered from Redis: the physician's live session of a paper, as dom_lua_restore
 * shows it when the session exists (clears DOM_F_CAP_NEXT_DUE). KEYS: sess, ans. ARGV: pid,
 * paper. -> same as dom_lua_view | {0, reason, now}; reasons: nosession (none, another
 * physician's or another paper's), or the session's status when it is not live (the
 * caller then asks MariaDB: a submitted paper, a next attempt) */
extern dk_script dom_lua_resume;

/* The integrity signals of a session as MariaDB stores them. KEYS: sess, dep, dev.
 * -> {{dep_n, dep_ms, conc}, {departure pairs}, {device pairs}} (strings; "" when unset) */
extern dk_script dom_lua_integrity;

/* Records a device that opened the session (a start or a resume), at most max of them.
 * KEYS: sess, dev. ARGV: device id, address, user agent (no '|' in the address), max.
 * -> 1 | 0 (max devices already) */
extern dk_script dom_lua_device;

/* Records one departure from the page, once per event id. KEYS: sess, dep, DOM_KEY_IDIRTY.
 * ARGV: pid, event id, kind, start ms, duration ms, max events per session, sid.
 * -> {1, dep_n, dep_ms, warn_at, submit_at, action ("submit": live and dep_n reached
 * submit_at), status} | {0, reason, now}; reasons: nosession, notopen, toomany. A late
 * event (after the submit) is still recorded. */
extern dk_script dom_lua_departure;

/* Claims a session for submitting. KEYS: sess, ans, dep, dev. ARGV: pid ("" = the sweeper), by
 * (DOM_BY_*), stale_ms (a claim older than this may be taken over).
 * -> {1, now, qp, {answer pairs}, then dom_lua_integrity's three}: only the answers saved at or after DOM_F_FLUSHED_MS
 * (the older ones are committed in MariaDB: the flush moves the mark after its COMMIT) | {0, reason}; reasons: nosession, submitted, busy,
 * notdue (the sweeper before the deadline), notopen (a physician before DOM_F_STARTED_AT) */
extern dk_script dom_lua_claim;

/* Records the result of a submitted session and lets its keys expire. KEYS: sess, ans,
 * DOM_KEY_DEADLINES, DOM_KEY_DIRTY, DOM_KEY_DUE, dep, dev. ARGV: sid, score, total, passed,
 * enrolment_status, ttl_s, pass_mark. -> 1 */
extern dk_script dom_lua_finish;

/* The flush's take: the answers saved at or after the session's DOM_F_FLUSHED_MS (all of
 * them when it has none), and Redis's time of the take. Nothing is written.
 * KEYS: sess, ans. -> {now, {no, "CHOICE@ms", ...}} (no pairs: nothing to write) */
extern dk_script dom_lua_flush_take;

/* After MariaDB has a take: the watermark moves up to the take's time (never down; nothing
 * when the session is gone). Every answer saved after the take has a Redis time at or
 * after it (one clock), so the next take returns it; a take whose write failed leaves the
 * watermark, and the next take returns its answers again.
 * KEYS: sess. ARGV: the take's now. -> 1 | 0 (no session) */
extern dk_script dom_lua_flush_settle;

/* Gives a failed claim back so it can be claimed again. KEYS: sess. ARGV: by. -> 1 */
extern dk_script dom_lua_unclaim;

/* May this physician send a capture now? KEYS: sess. ARGV: pid, slack_ms, max (0 = no
 * maximum). A capture is early while now < DOM_F_CAP_NEXT_DUE - slack_ms; a session that
 * has had max captures accepted takes no more. An accepted one is counted
 * (DOM_F_CAP_COUNT) before it is stored, so parallel uploads cannot pass the maximum.
 * -> {verdict, next due (unix ms, 0 = none yet), now}; verdicts: ok, nosession (not
 * there, or another physician's), closed (not live), notopen (before DOM_F_STARTED_AT),
 * early, toomany */
extern dk_script dom_lua_capture_ok;

/* A physician in the waiting room keeps their place: the first arrival is kept (NX).
 * KEYS: dom_key_wait. ARGV: member ("pid:paper"), expiry (unix ms: the window's end).
 * -> {place (1 = first), how many wait} */
extern dk_script dom_lua_wait_join;
/* Gives back what dom_lua_capture_ok counted, for a capture the server failed to store
 * (its disk, its database): the physician's budget is not spent on the server's faults.
 * KEYS: sess. -> 1 | 0 (nothing counted, or no session) */
extern dk_script dom_lua_capture_refund;

/* Records one scored capture, exactly once. KEYS: the capture stream, cap, sess, the
 * suspect stream, the attempts hash. ARGV: group, entry id, capture id, result JSON,
 * taken_at, similarity ("" = none), flag ("" = none), suspect reason ("" = none), sid,
 * physician id, score, now (unix ms).
 * XACKs the entry; only if that took: XDELs it, drops its attempt notes, stores the result
 * in cap (which expires with sess, 7 days when sess is gone), sets the DOM_F_CAP_LAST_*
 * fields when this capture is the newest, and pushes the suspect entry when the result
 * was not there before. -> 1 recorded | 2 acknowledged, recorded before (a second job of
 * one capture) | 0 another worker had the entry */
extern dk_script dom_lua_capture_result;

/* Flags a session whose captures are missing, once. KEYS: DOM_KEY_DUE, missing, sess, the
 * suspect stream. ARGV: sid, cutoff (unix ms: still due before it?), now, marker ttl_s,
 * physician id, overdue_ms. Drops the session from DOM_KEY_DUE, sets the marker (SET NX),
 * DOM_F_CAP_MISSING and pushes a missing_captures suspect entry.
 * -> 1 flagged by this call | 0 not overdue or flagged before */
extern dk_script dom_lua_missing;

#endif
