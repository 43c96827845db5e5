#!/usr/bin/env bash
# exam_integrity (issue 18): departures from the exam page (切屏) and two devices at once,
# on two examd nodes sharing Redis and MariaDB.
#  - the cycle's rules reach the page: warn at the 2nd departure, submit at the 4th;
#  - an event id counts once, on either node; the 2nd departure says warned;
#  - the 4th and 5th sent at once to two nodes: the paper is submitted once
#    (submitted_by departures, one result, one submit in the audit log);
#  - an event sent late from the outbox (after the submit, earlier start) is still recorded
#    and reaches MariaDB with the counts (the flush);
#  - bad input is refused: kind, event id, duration, another physician's session;
#  - two devices answering within the window (3 s here) flag concurrent_devices, with both
#    devices and their user agents kept; a resume on a new device after the old one went
#    quiet is not flagged.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_integrity "$1"
fx_examd_start A DK_FLUSH_PERIOD_MS=300 DK_CONCURRENT_DEVICE_WINDOW_S=3
fx_examd_start B DK_FLUSH_PERIOD_MS=300 DK_CONCURRENT_DEVICE_WINDOW_S=3
redis_ms() { fx_redis time | awk 'NR == 1 {s = $1} NR == 2 {printf "%d\n", s * 1000 + int($1 / 1000)}'; }
dep() { # NODE SID TOKEN EVENT KIND START DURATION
    fx_call "$1" PUT "/api/v1/sessions/$2/departures/$4" \
        "{\"kind\":\"$5\",\"started_at\":$6,\"duration_ms\":$7}" "$3"
}
start() { # NODE TOKEN -> the start's reply in FX_BODY
    fx_call "$1" POST /api/v1/sessions '{"paper":"业务水平"}' "$2"
    [ "$FX_CODE" = 200 ] || fx_fatal "start on $1: HTTP $FX_CODE $FX_BODY"
}

# ---- the rules, set on the physician's cycle only while the session starts ------------------
read -r p acct < <(fx_new_physician 0)
[ -n "${p:-}" ] || fx_fatal "could not create a physician"
cyc=$(fx_sql "SELECT cycle_id FROM enrolment WHERE physician_id = $p LIMIT 1")
tok=$(fx_login A "$acct")
fx_sql "UPDATE cycle SET departure_warn_at = 2, departure_submit_at = 4 WHERE id = $cyc"
fx_call A POST /api/v1/sessions '{"paper":"业务水平"}' "$tok"
code=$FX_CODE body=$FX_BODY
fx_sql "UPDATE cycle SET departure_warn_at = NULL, departure_submit_at = NULL WHERE id = $cyc"
[ "$code" = 200 ] || fx_fatal "start: HTTP $code $body"
sid=$(jq -r .session_id <<<"$body")
fx_expect_eq "$(jq -c '.integrity | [.warn_at, .submit_at, .departures, .require_fullscreen]' <<<"$body")" \
    '[2,4,0,false]' "the start shows the cycle's rules"

t=$(redis_ms)
dep A "$sid" "$tok" ev-000000001 hidden $((t - 5000)) 1500
fx_expect_code 200 "the first departure"
fx_expect_eq "$(jq -c '[.departures, .departure_ms, .warned, .auto_submit]' <<<"$FX_BODY")" \
    '[1,1500,false,false]' "counted, no warning yet"
dep B "$sid" "$tok" ev-000000001 hidden $((t - 5000)) 1500
fx_expect_code 200 "the same event again, on the other node"
fx_expect_eq "$(jq .departures <<<"$FX_BODY")" 1 "an event id counts once"
dep B "$sid" "$tok" ev-000000002 blur $((t - 4000)) 800
fx_expect_eq "$(jq -c '[.departures, .warned]' <<<"$FX_BODY")" '[2,true]' "the 2nd departure: warned"
dep A "$sid" "$tok" ev-000000003 fullscreen $((t - 3000)) 600
fx_expect_eq "$(jq -c '[.departures, .auto_submit]' <<<"$FX_BODY")" '[3,false]' "the 3rd: not yet"

# the 4th and the 5th at once, one per node
for n in A B; do
    i=$([ "$n" = A ] && echo 4 || echo 5)
    curl -s --max-time 30 --interface "$FX_SRC" -X PUT -o "$FX_TMP/dep.$n" -w '%{http_code}' \
        -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
        --data-binary "{\"kind\":\"hidden\",\"started_at\":$((t - 2000)),\"duration_ms\":100}" \
        "${FX_URL[$n]}/api/v1/sessions/$sid/departures/ev-00000000$i" >"$FX_TMP/dep.$n.code" &
    pids+=($!)
done
wait "${pids[@]}"
fx_expect_eq "$(cat "$FX_TMP/dep.A.code" "$FX_TMP/dep.B.code" | tr -d '\n')" 200200 "both recorded"
fx_check "at least one of them asked for the submit" \
    grep -q '"auto_submit":true' "$FX_TMP/dep.A" "$FX_TMP/dep.B"
for _ in $(seq 100); do
    [ "$(fx_sql "SELECT status FROM exam_session WHERE id = '$sid'")" = submitted ] && break
    sleep 0.1
done
fx_expect_eq "$(fx_sql "SELECT CONCAT(status, ' ', submitted_by) FROM exam_session WHERE id = '$sid'")" \
    "submitted departures" "submitted by the departure rule"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM exam_result WHERE session_id = '$sid'")" 1 "one result"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'exam_session' AND entity_id = '$sid' AND action = 'submit'")" \
    1 "one submit in the audit log"
fx_call A GET "/api/v1/sessions/$sid" "" "$tok"
fx_expect_eq "$(jq -r .status <<<"$FX_BODY")" submitted "the page sees the paper submitted"

# a late event from the outbox: after the submit, with an earlier start
dep B "$sid" "$tok" ev-000000000 hidden $((t - 9000)) 2000
fx_expect_code 200 "a late event is recorded"
fx_expect_eq "$(jq -c '[.departures, .auto_submit]' <<<"$FX_BODY")" '[6,false]' "counted, no second submit"
for _ in $(seq 100); do
    [ "$(fx_sql "SELECT departures FROM exam_session WHERE id = '$sid'")" = 6 ] && break
    sleep 0.1
done
fx_expect_eq "$(fx_sql "SELECT CONCAT(departures, ' ', departure_ms) FROM exam_session WHERE id = '$sid'")" \
    "6 5100" "MariaDB has the counts (the flush)"
fx_expect_eq "$(fx_sql "SELECT COUNT(*), SUM(duration_ms) FROM exam_departure WHERE session_id = '$sid'" | tr '\t' ' ')" \
    "6 5100" "and every departure"
fx_expect_eq "$(fx_sql "SELECT kind FROM exam_departure WHERE session_id = '$sid' ORDER BY started_at LIMIT 1")" \
    hidden "the late one in its place"
fx_expect_eq "$(fx_sql "SELECT score FROM proctor_suspect WHERE session_id = '$sid' AND reason = 'departures'")" \
    6 "a suspect for the invigilators (past the cycle's warning), with the count"

# ---- bad input -------------------------------------------------------------------------------
fx_sitting A
sid2=$FX_SID tok2=$FX_TOKEN
t=$(redis_ms)
dep A "$sid2" "$tok2" ev-badkind01 paste "$t" 10
fx_expect_code 400 "an unknown kind"
dep A "$sid2" "$tok2" short hidden "$t" 10
fx_expect_code 400 "an event id too short"
dep A "$sid2" "$tok2" "$(printf 'e%.0s' $(seq 65))" hidden "$t" 10
fx_expect_code 404 "an event id over 64 characters (the router takes at most 64 of [A-Za-z0-9_-])"
dep A "$sid2" "$tok2" ev-neg00001 hidden "$t" -5
fx_expect_code 400 "a negative duration"
dep A "$sid2" "$tok2" ev-old00001 hidden $((t - 2 * 86400000)) 5
fx_expect_code 400 "a start two days ago"
dep A "$sid" "$tok2" ev-other001 hidden "$t" 5
fx_expect_code 404 "another physician's session"
fx_call A PUT "/api/v1/sessions/$sid2/departures/ev-nobody01" '{"kind":"hidden","started_at":1,"duration_ms":1}'
fx_expect_code 401 "no token"

# ---- two devices at once -------------------------------------------------------------------
two_devices() { # NODE: a session opened on devices D1 and D2; prints "sid token keys-file"
    local a k
    read -r _ a < <(fx_new_physician 0)
    k=$(fx_login "$1" "$a")
    FX_EXTRA_HEADER="X-DK-Device: dev-one-$a" start "$1" "$k"
    local s
    s=$(jq -r .session_id <<<"$FX_BODY")
    FX_EXTRA_HEADER="X-DK-Device: dev-two-$a" start "$1" "$k"
    fx_keys "$s" >"$FX_TMP/keys.$s"
    echo "$s $k $a"
}
answer() { # NODE SID TOKEN DEVICE NO KEYS
    local c
    c=$(awk -v n="$5" '$1 == n {print $3}' "$6")
    FX_EXTRA_HEADER="X-DK-Device: $4" fx_call "$1" PUT "/api/v1/sessions/$2/answers/$5" \
        "{\"choice\":\"$c\"}" "$3"
    fx_expect_code 200 "answer $5 from $4"
}
read -r s3 k3 a3 < <(two_devices A)
answer A "$s3" "$k3" "dev-one-$a3" 1 "$FX_TMP/keys.$s3"
answer B "$s3" "$k3" "dev-two-$a3" 2 "$FX_TMP/keys.$s3"
answer A "$s3" "$k3" "dev-one-$a3" 3 "$FX_TMP/keys.$s3"
fx_check "flagged in Redis" test -n "$(fx_redis hget "sess:{$s3}" conc)"
fx_call B POST "/api/v1/sessions/$s3/submit" "" "$k3"
fx_expect_code 200 "submit"
fx_expect_eq "$(fx_sql "SELECT concurrent_devices FROM exam_session WHERE id = '$s3'")" 1 \
    "two devices within the window: concurrent_devices"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM exam_device WHERE session_id = '$s3' AND user_agent LIKE 'curl/%' AND address <> ''")" \
    2 "both devices kept, with user agent and address"
fx_expect_eq "$(fx_sql "SELECT score FROM proctor_suspect WHERE session_id = '$s3' AND reason = 'concurrent_devices'")" \
    2 "a suspect for the invigilators, with the number of devices"

read -r s4 k4 a4 < <(two_devices B)
answer A "$s4" "$k4" "dev-one-$a4" 1 "$FX_TMP/keys.$s4"
sleep 3.5 # the first device goes quiet for longer than the window: a resume on another
answer B "$s4" "$k4" "dev-two-$a4" 2 "$FX_TMP/keys.$s4"
answer B "$s4" "$k4" "dev-two-$a4" 3 "$FX_TMP/keys.$s4"
fx_call A POST "/api/v1/sessions/$s4/submit" "" "$k4"
fx_expect_code 200 "submit"
fx_expect_eq "$(fx_sql "SELECT concurrent_devices FROM exam_session WHERE id = '$s4'")" 0 \
    "a resume on a new device after a quiet: not flagged"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM exam_device WHERE session_id = '$s4'")" 2 \
    "its two devices are kept all the same"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM proctor_suspect WHERE session_id = '$s4'")" 0 "and no suspect"
fx_finish
