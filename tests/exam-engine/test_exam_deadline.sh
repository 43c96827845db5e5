#!/usr/bin/env bash
# exam_deadline: a 4-second test on two nodes (DK_EXAM_DURATION_S=4), both sweeping
# every 200 ms. After the deadline every answer is refused with 409 and the Chinese
# message on both nodes; the sweeper submits the session for the physician exactly
# once: one exam_result row with the score of the saved answers, one 'submit' audit
# row, exam_session.submitted_by = 'sweeper', one enrolment_test attempt, and the
# examd_sweeper_submitted gauges of the two nodes add up to 1. A submit by the
# physician afterwards shows the same result.
# A second session, flushed to MariaDB and then lost from Redis before its deadline,
# is submitted from MariaDB by the orphan sweep (both nodes, every 500 ms) exactly
# once too, with the flushed answers; the gauges then add up to 2.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_deadline "$1"
t0=$(fx_now_ms)
timers=(DK_EXAM_DURATION_S=4 DK_SWEEPER_PERIOD_MS=200 DK_FLUSH_PERIOD_MS=200 DK_ORPHAN_SWEEP_PERIOD_MS=500)
fx_examd_start A "${timers[@]}"
fx_examd_start B "${timers[@]}"

read -r p acct < <(fx_new_physician 0)
read -r q acctq < <(fx_new_physician 0)
[ -n "${p:-}" ] && [ -n "${q:-}" ] || fx_fatal "could not create the physicians"
tok=$(fx_login A "$acct")
tokq=$(fx_login B "$acctq")
fx_call B GET /api/v1/tests "" "$tok"
fx_expect_eq "$(jq -c '[.tests[].duration_ms] | unique' <<<"$FX_BODY")" "[4000]" "the configured duration is listed"
fx_call A POST /api/v1/sessions '{"paper":"业务水平"}' "$tok"
[ "$FX_CODE" = 200 ] || fx_fatal "start: HTTP $FX_CODE $FX_BODY"
sid=$(jq -r .session_id <<<"$FX_BODY")
fx_expect_eq "$(jq '.deadline - .started_at' <<<"$FX_BODY")" 4000 "a 4-second clock"
deadline=$(jq .deadline <<<"$FX_BODY")

fx_keys "$sid" >"$FX_TMP/keys"
sed -n 1,3p "$FX_TMP/keys" | awk '{print $1, $3}' >"$FX_TMP/a" # 3 right on A
sed -n 4,5p "$FX_TMP/keys" | awk '{print $1, $4}' >"$FX_TMP/b" # 2 wrong on B
fx_put_answers A "$sid" "$tok" "$FX_TMP/a" || fx_fatal "answers on A within the time were refused"
fx_put_answers B "$sid" "$tok" "$FX_TMP/b" || fx_fatal "answers on B within the time were refused"

# the second session: 2 right answers, flushed, then its Redis state is lost
fx_call B POST /api/v1/sessions '{"paper":"公共知识"}' "$tokq"
[ "$FX_CODE" = 200 ] || fx_fatal "start of the second session: HTTP $FX_CODE $FX_BODY"
sid2=$(jq -r .session_id <<<"$FX_BODY")
deadline2=$(jq .deadline <<<"$FX_BODY")
fx_keys "$sid2" | sed -n 1,2p | awk '{print $1, $3}' >"$FX_TMP/q"
fx_put_answers B "$sid2" "$tokq" "$FX_TMP/q" || fx_fatal "answers of the second session were refused"
for _ in $(seq 100); do
    [ "$(fx_sql "SELECT COUNT(*) FROM exam_answer WHERE session_id = '$sid2'")" = 2 ] && break
    sleep 0.05
done
cycle=$(fx_sql "SELECT cycle_id FROM exam_session WHERE id = '$sid2'")
fx_redis del "sess:{$sid2}" "sess:{$sid2}:ans" "live:$q:$cycle:公共知识:1" >/dev/null
fx_redis zrem exam:deadlines "$sid2" >/dev/null
[ "$(fx_sql "SELECT COUNT(*) FROM exam_answer WHERE session_id = '$sid2'")" = 2 ] ||
    fx_fatal "the second session's answers were not flushed in 5 s"
[ "$(fx_now_ms)" -lt "$deadline2" ] ||
    fx_fatal "this machine is too slow: the second session's deadline passed before its Redis state could be removed"

# wait for the deadline by the server's clock
for _ in $(seq 300); do
    fx_call B GET "/api/v1/sessions/$sid?brief=1" "" "$tok"
    [ "$(jq .remaining_ms <<<"$FX_BODY")" = 0 ] && break
    sleep 0.05
done
fx_check "server_time reached the deadline" jq -e ".server_time >= $deadline" <<<"$FX_BODY" >/dev/null
for n in A B; do
    fx_call "$n" PUT "/api/v1/sessions/$sid/answers/6" '{"choice":"A"}' "$tok"
    fx_expect_error 409 "an answer after the deadline on $n" "考试已结束"
    fx_call "$n" PUT "/api/v1/sessions/$sid/answers/1" '{"choice":""}' "$tok"
    fx_expect_error 409 "clearing an answer after the deadline on $n" "考试已结束"
done

# the sweeper submits it
status=
for _ in $(seq 200); do
    fx_call A GET "/api/v1/sessions/$sid?brief=1" "" "$tok"
    status=$(jq -r .status <<<"$FX_BODY")
    [ "$status" = submitted ] && break
    sleep 0.1
done
fx_expect_eq "$status" submitted "the sweeper submitted the session within 20 s"
fx_expect_eq "$(jq -c '[.result.score, .result.total, .result.passed]' <<<"$FX_BODY")" '[3,100,false]' \
    "the result counts the answers saved in time"
sleep 1.5 # several more sweeps on both nodes: none may submit it again

fx_expect_eq "$(fx_sql "SELECT COUNT(*), MIN(score) FROM exam_result WHERE session_id = '$sid'" | tr '\t' ' ')" \
    "1 3" "one exam_result row"
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', COUNT(*), MIN(actor_type), IFNULL(MIN(actor_id), 'NULL'))
                        FROM audit_log WHERE action = 'submit' AND entity_type = 'exam_session'
                        AND entity_id = '$sid'")" "1 system NULL" "one 'submit' audit row, by the system"
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', status, submitted_by) FROM exam_session WHERE id = '$sid'")" \
    "submitted sweeper" "exam_session.submitted_by"
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', e.result, e.attempts) FROM enrolment_test e JOIN enrolment n
                        ON n.id = e.enrolment_id WHERE n.physician_id = $p AND e.paper = '业务水平'")" \
    "不合格 1" "one enrolment_test attempt"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM exam_answer WHERE session_id = '$sid'")" 5 "the 5 answers are in exam_answer"
fx_expect_eq "$(fx_redis zscore exam:deadlines "$sid")" "" "the session left exam:deadlines"

# examd_sweeper_submitted over both nodes: ours, plus the orphan if already done. On a
# shared stack two things can blur it, and both are accounted for, never assumed:
# sessions of other tests that came due meanwhile may be swept by our nodes (MariaDB
# says how many were swept by anyone), and an examd of another test running at the same
# time may win the claim for ours (then it is not counted here; the rows above still
# prove exactly once).
check_swept() { # OURS
    local swept others foreign lo
    swept=$(( $(fx_metric A examd_sweeper_submitted) + $(fx_metric B examd_sweeper_submitted) ))
    others=$(fx_sql "SELECT COUNT(*) FROM exam_session WHERE submitted_by = 'sweeper' AND id NOT IN ('$sid', '$sid2')
                     AND submitted_at >= FROM_UNIXTIME($t0 / 1000)")
    foreign=$(fx_foreign_examds)
    if [ "$others" = 0 ] && [ "$foreign" = 0 ]; then
        fx_expect_eq "$swept" "$1" "examd_sweeper_submitted summed over both nodes"
        return
    fi
    lo=$1
    [ "$foreign" = 0 ] || lo=0
    echo "note: $others other session(s) swept meanwhile, $foreign other examd process(es) on this Redis"
    [ "$swept" -ge "$lo" ] && [ "$swept" -le $(($1 + others)) ] ||
        fx_fail_msg "examd_sweeper_submitted over both nodes is $swept, want $1 (between $lo and $(($1 + others)) here)"
}
check_swept $((1 + $(fx_sql "SELECT COUNT(*) FROM exam_session WHERE id = '$sid2' AND status = 'submitted'")))

fx_call B POST "/api/v1/sessions/$sid/submit" "" "$tok"
fx_expect_eq "$FX_CODE $(jq -c '[.status, .result.score]' <<<"$FX_BODY")" '200 ["submitted",3]' \
    "the physician's submit after the sweeper shows the result"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM exam_result WHERE session_id = '$sid'")" 1 "still one exam_result row"

# the lost session: submitted from MariaDB some seconds after its deadline
st=
for _ in $(seq 300); do
    st=$(fx_sql "SELECT status FROM exam_session WHERE id = '$sid2'")
    [ "$st" = submitted ] && break
    sleep 0.1
done
fx_expect_eq "$st" submitted "the session lost from Redis is submitted after its deadline"
sleep 1.5 # more orphan sweeps on both nodes: none may submit it again
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', COUNT(*), MIN(score)) FROM exam_result WHERE session_id = '$sid2'")" \
    "1 2" "one exam_result row for the lost session, with its 2 flushed answers"
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', submitted_by, submitted_at >= deadline) FROM exam_session WHERE id = '$sid2'")" \
    "sweeper 1" "the lost session is submitted by the sweeper, after its deadline"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM audit_log WHERE action = 'submit' AND entity_type = 'exam_session'
                        AND entity_id = '$sid2'")" 1 "one 'submit' audit row for the lost session"
check_swept 2

fx_examd_stop A
fx_examd_stop B
fx_finish
