/* exam_scripts.h - the Lua scripts that make each session step one atomic Redis call.
 *
 * Keys of one session share the hash tag {sid} (sess:{sid}, sess:{sid}:ans) so they sit
 * in one slot of a Redis Cluster. Time inside the scripts is Redis's TIME: every node
 * of examd agrees on one clock. Answers are stored as "CHOICE@ms" ("" = cleared).
 * Run them with dk_aredis_evalsha: they travel as their SHA-1, the text only when
 * Redis does not have it (NOSCRIPT). */
#ifndef EXAM_SCRIPTS_H
#define EXAM_SCRIPTS_H

#include "dk_redis.h"

/* KEYS: sess, ans, exam:dirty. ARGV: pid, no, choice, sid, arrival (node's unix ms).
 * -> {1, "ok", now} | {0, reason, now}; reasons: nosession, closed, badno, badchoice,
 * stale (the request waited over 20 s in a node that froze: the client retries, so an
 * old choice never lands over a newer one) */
extern dk_script exam_lua_answer;
/* KEYS: sess, ans. ARGV: pid ("" = any, for the sweeper).
 * -> {1, now, {session fields...}, {answer pairs...}} | {0, "nosession"} */
extern dk_script exam_lua_view;
/* KEYS: sess, ans, exam:deadlines, proctor:due. ARGV: the session fields as
 * pairs, "|", answer pairs, then the ms until the first capture is due. Writes only what
 * is missing (a rebuild never overwrites newer state). -> same as view. */
extern dk_script exam_lua_restore;
/* KEYS: sess, ans. ARGV: pid ("" = sweeper), by, stale_ms.
 * -> {1, now, qp, {answer pairs}} | {0, reason}; reasons: nosession, submitted, busy, notdue */
extern dk_script exam_lua_claim;
/* KEYS: sess, ans, exam:deadlines, exam:dirty, proctor:due. ARGV: sid, score, total,
 * passed, enrolment_status, ttl_s, pass_mark. */
extern dk_script exam_lua_finish;
/* KEYS: sess. ARGV: by. Gives a failed claim back so it can be claimed again. */
extern dk_script exam_lua_unclaim;

#endif
