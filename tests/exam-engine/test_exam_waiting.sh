#!/usr/bin/env bash
# exam_waiting: the waiting room. A cycle of the test's own opens 12 s after the test
# starts. Before the opening, two physicians start their paper on node A (60 minutes of
# waiting room): each gets a session with no questions, "waiting", the opening by the
# server's clock, and a place in arrival order that does not change when they come back.
# The paper is drawn ahead (exam_session row with started_at = the opening, deadline =
# the opening + the duration), but answers, a submit and a capture are refused with 409
# and a Chinese reason, and the first capture is due only after the opening. Node B,
# with no waiting room (exam_waiting_room_min = 0), neither lists the test nor starts it.
# When Redis loses a waiting session, the database's view says "waiting" too, with no
# questions. At the opening the same session shows its questions on both nodes, its clock
# runs from the opening (not from the arrival), and answers are saved; the lost one comes
# back, questions and all, when its physician starts again.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_waiting "$1"

wcycle=
wr_cleanup() {
    local rc=$?
    if [ -n "$FX_TMP" ] && [ -s "$FX_TMP/physicians" ]; then
        fx_delete_physicians $(cat "$FX_TMP/physicians")
        : >"$FX_TMP/physicians"
    fi
    if [ -n "$wcycle" ]; then
        fx_redis --scan --pattern "wait:$wcycle:*" | while read -r k; do fx_redis del "$k" >/dev/null; done
        fx_sql "DELETE FROM cycle WHERE id = $wcycle" || echo "note: could not delete cycle $wcycle"
    fi
    (exit "$rc")
    fx_cleanup
}
trap wr_cleanup EXIT

fx_examd_start A DK_EXAM_WAITING_ROOM_MIN=60
fx_examd_start B DK_EXAM_WAITING_ROOM_MIN=0

# the cycle: a copy of the demo cycle whose window opens in 12 s
opens_in=12
wcycle=$(fx_sql "
    INSERT INTO cycle (authority_id, code, name, length_years, period_start, period_end,
                       test_start, test_end, status)
    SELECT authority_id, CONCAT('W', LPAD(FLOOR(RAND() * 1000000), 6, '0')), '候考室测试周期',
           length_years, period_start, period_end,
           NOW(3) + INTERVAL $opens_in SECOND, NOW(3) + INTERVAL 3 HOUR, 'open'
    FROM cycle WHERE id = (SELECT c.id FROM cycle c JOIN authority a ON a.id = c.authority_id
                           WHERE a.code = '140000' AND c.code = '01');
    SELECT LAST_INSERT_ID();")
[[ $wcycle =~ ^[0-9]+$ ]] && [ "$wcycle" != 0 ] || fx_fatal "could not create the cycle: $wcycle"
opens=$(fx_sql "SELECT CAST(ROUND(UNIX_TIMESTAMP(test_start) * 1000) AS SIGNED) FROM cycle WHERE id = $wcycle")

read -r p acct < <(fx_new_physician 0)
read -r q acctq < <(fx_new_physician 0)
[ -n "${p:-}" ] && [ -n "${q:-}" ] || fx_fatal "could not create the physicians"
fx_sql "UPDATE enrolment SET cycle_id = $wcycle WHERE physician_id IN ($p, $q)"
tok=$(fx_login A "$acct")
tokq=$(fx_login A "$acctq")

fx_call A GET /api/v1/tests "" "$tok"
fx_expect_eq "$(jq -c '[.tests[] | select(.paper == "业务水平") | .waiting, .window_start]' <<<"$FX_BODY")" \
    "[true,$opens]" "A lists the test as waiting, with its opening"
fx_call B GET /api/v1/tests "" "$tok"
fx_expect_eq "$(jq -c '[.tests[] | select(.paper == "业务水平")] | length' <<<"$FX_BODY")" 0 \
    "B (no waiting room) does not list the test before the opening"
fx_call B POST /api/v1/sessions '{"paper":"业务水平"}' "$tok"
fx_expect_error 403 "a start on B before the opening" "不在测评时间内"

fx_call A POST /api/v1/sessions '{"paper":"业务水平"}' "$tok"
[ "$FX_CODE" = 200 ] || fx_fatal "start in the waiting room: HTTP $FX_CODE $FX_BODY"
sid=$(jq -r .session_id <<<"$FX_BODY")
fx_expect_eq "$(jq -c '[.waiting, .opens_at == .started_at, .started_at, .place, .waiting_count, has("paper_detail")]' <<<"$FX_BODY")" \
    "[true,true,$opens,1,1,false]" "the first arrival waits, place 1 of 1, no questions"
read -r _ _ dur_ms < <(fx_blueprint 业务水平)
fx_expect_eq "$(jq '.deadline - .started_at' <<<"$FX_BODY")" "$dur_ms" "the clock is the full duration from the opening"
fx_expect_eq "$(jq '.remaining_ms' <<<"$FX_BODY")" "$dur_ms" "nothing of the time is used while waiting"
fx_expect_eq "$(jq '.release_spread_ms' <<<"$FX_BODY")" 3000 "the page is told how to spread its release"
fx_check "the server's time is before the opening" jq -e ".server_time < $opens" <<<"$FX_BODY" >/dev/null

fx_call A POST /api/v1/sessions '{"paper":"业务水平"}' "$tokq"
[ "$FX_CODE" = 200 ] || fx_fatal "second start in the waiting room: HTTP $FX_CODE $FX_BODY"
sidq=$(jq -r .session_id <<<"$FX_BODY")
fx_expect_eq "$(jq -c '[.place, .waiting_count]' <<<"$FX_BODY")" "[2,2]" "the second arrival is place 2 of 2"
fx_call A GET "/api/v1/sessions/$sid" "" "$tok"
fx_expect_eq "$(jq -c '[.waiting, .place, .waiting_count, has("paper_detail")]' <<<"$FX_BODY")" \
    "[true,1,2,false]" "coming back keeps place 1, still no questions"

# drawn ahead, stored, not visible
fx_expect_eq "$(fx_sql "SELECT CONCAT(status, ' ', CAST(ROUND(UNIX_TIMESTAMP(started_at) * 1000) AS SIGNED),
                               ' ', JSON_LENGTH(paper_json) > 0) FROM exam_session WHERE id = '$sid'")" \
    "live $opens 1" "the paper is drawn ahead in MariaDB with started_at = the opening"
due=$(fx_redis zscore proctor:due "$sid")
grace_ms=$(( $(sed -n 's/^ *proctor_capture_grace_s *= *\([0-9]*\).*/\1/p' "${FX_LOG[A]}" | head -n 1) * 1000 ))
fx_check "the first capture is due the grace after the opening ($grace_ms ms), not after the arrival" \
    test "${due%.*}" -ge $((opens + grace_ms)) -a "$grace_ms" -gt 0

fx_call A PUT "/api/v1/sessions/$sid/answers/1" '{"choice":"A"}' "$tok"
fx_expect_error 409 "an answer in the waiting room" "考试尚未开始"
fx_call A POST "/api/v1/sessions/$sid/submit" "" "$tok"
fx_expect_error 409 "a submit in the waiting room" "考试尚未开始"
fx_grey_jpeg "$FX_TMP/grey.jpg"
fx_post_jpeg A "/api/v1/sessions/$sid/captures" "$tok" "$FX_TMP/grey.jpg"
fx_expect_error 409 "a capture in the waiting room" "考试尚未开始"
fx_expect_eq "$(fx_redis hlen "sess:{$sid}:ans")" 0 "nothing was saved while waiting"

# the live store loses the second session while it waits: the database's view says
# waiting too, without the questions (the page then starts again, which rebuilds it)
fx_redis del "sess:{$sidq}" "sess:{$sidq}:ans" >/dev/null
fx_call A GET "/api/v1/sessions/$sidq" "" "$tokq"
fx_expect_eq "$(jq -c '[.status, .waiting, .opens_at, has("paper_detail"), .remaining_ms]' <<<"$FX_BODY")" \
    "[\"live\",true,$opens,false,$dur_ms]" "the database's view of a waiting session"

# the opening, by the server's clock
for _ in $(seq 300); do
    fx_call B GET "/api/v1/sessions/$sid" "" "$tok"
    [ "$(jq -r '.waiting // false' <<<"$FX_BODY")" = false ] && break
    sleep 0.1
done
fx_expect_eq "$(jq -c '[has("waiting"), has("paper_detail"), .started_at]' <<<"$FX_BODY")" \
    "[false,true,$opens]" "after the opening B shows the questions of the paper drawn ahead"
fx_check "the clock runs from the opening" \
    jq -e ".remaining_ms <= $dur_ms - (.server_time - $opens) and .server_time >= $opens" <<<"$FX_BODY" >/dev/null
fx_call A POST /api/v1/sessions '{"paper":"业务水平"}' "$tokq"
fx_expect_eq "$(jq -c "[.session_id == \"$sidq\", has(\"paper_detail\")]" <<<"$FX_BODY")" "[true,true]" \
    "the second physician's start after the opening returns the same paper with its questions"
fx_keys "$sid" | sed -n 1,3p | awk '{print $1, $3}' >"$FX_TMP/a"
fx_put_answers A "$sid" "$tok" "$FX_TMP/a" || fx_fatal "answers after the opening were refused"
fx_expect_eq "$(fx_redis hlen "sess:{$sid}:ans")" 3 "answers after the opening are saved"
fx_finish
