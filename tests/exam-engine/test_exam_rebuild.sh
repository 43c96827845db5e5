#!/usr/bin/env bash
# exam_rebuild: a lost Redis loses nothing older than the last flush. With
# DK_FLUSH_PERIOD_MS=300: answer (with one answer changed and one cleared), wait until
# the flush has put them in exam_answer, then delete the session's Redis state
# (sess:{SID}, sess:{SID}:ans and its exam:deadlines member; nothing
# else: other tests share this Redis). POST /sessions again: the same session id, the
# same clock, the same paper, the flushed answers back (the cleared one stays cleared),
# the session back on the deadline list; answering and submitting go on and the
# score counts the rebuilt answers. Between the two: the flush writes only the answers
# saved since the last one (a row the test removed from MariaDB is not written again until
# it is saved again), the watermark follows, and a session without one is written whole.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_rebuild "$1"
fx_examd_start A DK_FLUSH_PERIOD_MS=300

fx_sitting A
p=$FX_P tok=$FX_TOKEN sid=$FX_SID first=$FX_BODY
clock=$(jq -r '"\(.started_at) \(.deadline)"' <<<"$first")
deadline=$(jq -r .deadline <<<"$first")

fx_keys "$sid" >"$FX_TMP/keys"
# 1..15: right on odd, wrong on even; 2 first right then wrong; 16 answered then cleared
{
    awk '$1 == 2 {print $1, $3}' "$FX_TMP/keys"
    awk '$1 <= 15 {print $1, ($1 % 2 ? $3 : $4)}' "$FX_TMP/keys"
    awk '$1 == 16 {print $1, $3}' "$FX_TMP/keys"
    echo "16 "
} >"$FX_TMP/answers"
fx_put_answers A "$sid" "$tok" "$FX_TMP/answers" || fx_fatal "answers were not acknowledged"
awk '$1 <= 15 {print $1, ($1 % 2 ? $3 : $4)}' "$FX_TMP/keys" >"$FX_TMP/expect"
awk '$1 <= 15 {print $1, ($1 % 2 ? $3 : $4)} $1 == 16 {print 16, "NULL"}' "$FX_TMP/keys" >"$FX_TMP/expect.db"

flushed=
for _ in $(seq 200); do # the flush runs every 300 ms
    flushed=$(fx_sql "SELECT question_no, IFNULL(choice, 'NULL') FROM exam_answer WHERE session_id = '$sid'
                      ORDER BY question_no" | tr '\t' ' ')
    [ "$flushed" = "$(cat "$FX_TMP/expect.db")" ] && break
    sleep 0.1
done
fx_expect_eq "$flushed" "$(cat "$FX_TMP/expect.db")" "exam_answer has the answers after the flush"
# (not checked: examd_answers_flushed of this node; exam:dirty is shared, so any node of
# a parallel test may be the one that flushed them)

# The flush writes what changed since the last one, nothing more: after it, the session's
# watermark (flushed_ms, the time of the last written take) is past every answer so far.
# Question 1 is saved once more (same choice) so that the watermark is strictly past 16's.
awk '$1 == 1 {print $1, $3}' "$FX_TMP/keys" >"$FX_TMP/q1"
sleep 0.01
fx_put_answers A "$sid" "$tok" "$FX_TMP/q1" || fx_fatal "question 1 was not acknowledged"
newest=$(fx_redis hvals "sess:{$sid}:ans" | sed 's/.*@//' | sort -n | tail -1)
wm=0
for _ in $(seq 100); do
    wm=$(fx_redis hget "sess:{$sid}" flushed_ms)
    [ "${wm:-0}" -ge "$newest" ] 2>/dev/null && break
    sleep 0.1
done
fx_check "after the flush the watermark ($wm) is at or past the newest answer ($newest)" \
    [ "${wm:-0}" -ge "$newest" ]
t3=$(fx_sql "SELECT UNIX_TIMESTAMP(saved_at) * 1000 FROM exam_answer WHERE session_id = '$sid' AND question_no = 3")
fx_sql "DELETE FROM exam_answer WHERE session_id = '$sid' AND question_no = 16" >/dev/null
{ awk '$1 == 3 {print $1, $4}' "$FX_TMP/keys"; awk '$1 == 3 {print $1, $3}' "$FX_TMP/keys"; } >"$FX_TMP/q3"
fx_put_answers A "$sid" "$tok" "$FX_TMP/q3" || fx_fatal "question 3 was not acknowledged"
t3b=
for _ in $(seq 100); do
    t3b=$(fx_sql "SELECT UNIX_TIMESTAMP(saved_at) * 1000 > $t3 FROM exam_answer WHERE session_id = '$sid' AND question_no = 3")
    [ "$t3b" = 1 ] && break
    sleep 0.1
done
fx_expect_eq "$t3b" 1 "question 3, changed twice, was flushed again"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM exam_answer WHERE session_id = '$sid' AND question_no = 16")" 0 \
    "the flush wrote only what changed (question 16, removed from MariaDB by the test, was not written again)"
echo "16 " >"$FX_TMP/q16"
fx_put_answers A "$sid" "$tok" "$FX_TMP/q16" || fx_fatal "question 16 was not acknowledged"
for _ in $(seq 100); do
    flushed=$(fx_sql "SELECT question_no, IFNULL(choice, 'NULL') FROM exam_answer WHERE session_id = '$sid'
                      ORDER BY question_no" | tr '\t' ' ')
    [ "$flushed" = "$(cat "$FX_TMP/expect.db")" ] && break
    sleep 0.1
done
fx_expect_eq "$flushed" "$(cat "$FX_TMP/expect.db")" "exam_answer has every answer again after question 16 was saved again"

# A session without a watermark (rebuilt, or kept by an older examd that had none): the
# next flush writes the whole paper, question 16 (removed again from MariaDB) included.
fx_sql "DELETE FROM exam_answer WHERE session_id = '$sid' AND question_no = 16" >/dev/null
fx_redis hdel "sess:{$sid}" flushed_ms >/dev/null
# ... popped among 200 sessions that have nothing to write (no such session): more takes
# than a round keeps in flight (FLUSH_TAKE_WINDOW, 32). SPOP's order is random, so in
# 169 of 201 runs the real session is past the first window, and its paper is written
# only if the round goes on (a round stuck at its first window fails the check below)
others=$(for i in $(seq 200); do printf 'ffff%028x ' "$i"; done)
# shellcheck disable=SC2086
fx_redis sadd exam:dirty $others "$sid" >/dev/null
for _ in $(seq 100); do
    flushed=$(fx_sql "SELECT question_no, IFNULL(choice, 'NULL') FROM exam_answer WHERE session_id = '$sid'
                      ORDER BY question_no" | tr '\t' ' ')
    [ "$flushed" = "$(cat "$FX_TMP/expect.db")" ] && break
    sleep 0.1
done
fx_expect_eq "$flushed" "$(cat "$FX_TMP/expect.db")" "without a watermark the flush writes the whole paper"

# Redis loses the session
cycle=$(fx_sql "SELECT cycle_id FROM exam_session WHERE id = '$sid'")
live="live:$p:$cycle:业务水平:1"
fx_expect_eq "$(fx_redis exists "$live")" "0" "no never-expiring live:* key is written (start always asks MariaDB)"
fx_redis del "sess:{$sid}" "sess:{$sid}:ans" "$live" >/dev/null
fx_redis zrem exam:deadlines "$sid" >/dev/null
fx_expect_eq "$(fx_redis exists "sess:{$sid}" "sess:{$sid}:ans" "$live")" 0 "the session is gone from Redis"

fx_call A POST /api/v1/sessions '{"paper":"业务水平"}' "$tok"
fx_expect_code 200 "starting again after the loss"
fx_expect_eq "$(jq -r '"\(.session_id) \(.started_at) \(.deadline) \(.status)"' <<<"$FX_BODY")" "$sid $clock live" \
    "the same session with the same clock"
fx_expect_eq "$(jq -r '.answers | to_entries[] | "\(.key) \(.value)"' <<<"$FX_BODY" | sort -n)" \
    "$(cat "$FX_TMP/expect")" "the flushed answers are back (the cleared one stays cleared)"
fx_expect_eq "$(jq -c .paper_detail <<<"$FX_BODY" | md5sum)" "$(jq -c .paper_detail <<<"$first" | md5sum)" \
    "the same paper"
fx_expect_eq "$(fx_redis zscore exam:deadlines "$sid")" "$deadline" "the session is back on the deadline list"
fx_expect_eq "$(fx_redis exists "$live")" "0" "still no live:* key after the rebuild"

# the exam goes on: 17..20 right, then submit
awk '$1 >= 17 && $1 <= 20 {print $1, $3}' "$FX_TMP/keys" >"$FX_TMP/more"
fx_put_answers A "$sid" "$tok" "$FX_TMP/more"
fx_call A POST "/api/v1/sessions/$sid/submit" "" "$tok"
fx_expect_code 200 "submit after the rebuild"
fx_expect_eq "$(jq .result.score <<<"$FX_BODY")" 12 "score: 8 odd of 1..15 and 17..20 right"
fx_expect_eq "$(fx_sql "SELECT COUNT(choice) FROM exam_answer WHERE session_id = '$sid'")" 19 \
    "exam_answer holds the 19 answers"

fx_examd_stop A
fx_finish
