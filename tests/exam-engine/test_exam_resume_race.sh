#!/usr/bin/env bash
# exam_resume_race: two examd nodes on the same Redis and MariaDB (one token key).
#  - resume on another node: start on A, answer some, POST /sessions on B returns the
#    same session id, the same started_at and deadline (the clock did not restart), the
#    same paper and the answers; answers saved on B show on A and the other way round;
#    a submit on B is seen on A.
#  - the start race: for fresh physicians, four POST /sessions fired at once (two at A,
#    two at B, one curl --parallel) all get one session id, and MariaDB has one
#    exam_session row for it.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_resume_race "$1"
fx_examd_start A
fx_examd_start B

# ---- resume on the other node --------------------------------------------------------------
read -r p1 acct1 < <(fx_new_physician 0)
[ -n "${p1:-}" ] || fx_fatal "could not create a physician"
tok=$(fx_login A "$acct1")

fx_call A POST /api/v1/sessions '{"paper":"业务水平"}' "$tok"
[ "$FX_CODE" = 200 ] || fx_fatal "start on A: HTTP $FX_CODE $FX_BODY"
sA=$FX_BODY
sid=$(jq -r .session_id <<<"$sA")
fx_keys "$sid" >"$FX_TMP/keys"
head -n 20 "$FX_TMP/keys" | awk '{print $1, $3}' >"$FX_TMP/first"
fx_put_answers A "$sid" "$tok" "$FX_TMP/first"
sleep 1.2 # so that a clock restarted by the resume would show

fx_call B POST /api/v1/sessions '{"paper":"业务水平"}' "$tok"
fx_expect_code 200 "resume on B with A's token"
sB=$FX_BODY
fx_expect_eq "$(jq -r '"\(.session_id) \(.started_at) \(.deadline) \(.status)"' <<<"$sB")" \
    "$(jq -r '"\(.session_id) \(.started_at) \(.deadline) \(.status)"' <<<"$sA")" \
    "B resumes the same session with the same clock"
fx_expect_eq "$(jq -c .paper_detail <<<"$sB" | md5sum)" "$(jq -c .paper_detail <<<"$sA" | md5sum)" \
    "B shows the same paper"
fx_expect_eq "$(jq -r '.answers | to_entries[] | "\(.key) \(.value)"' <<<"$sB" | sort -n | md5sum)" \
    "$(sort -n "$FX_TMP/first" | md5sum)" "B shows the 20 answers saved on A"
fx_check "time kept running across the resume" \
    [ $(( $(jq .remaining_ms <<<"$sA") - $(jq .remaining_ms <<<"$sB") )) -ge 1000 ]

sed -n 21,30p "$FX_TMP/keys" | awk '{print $1, $3}' >"$FX_TMP/second"
fx_put_answers B "$sid" "$tok" "$FX_TMP/second"
echo "1 $(sed -n 1p "$FX_TMP/keys" | awk '{print $4}')" >"$FX_TMP/change" # A changes answer 1
fx_put_answers A "$sid" "$tok" "$FX_TMP/change"
{ sed 1d "$FX_TMP/first"; cat "$FX_TMP/change" "$FX_TMP/second"; } | sort -n >"$FX_TMP/expect"
for n in A B; do
    fx_call "$n" GET "/api/v1/sessions/$sid?brief=1" "" "$tok"
    fx_expect_code 200 "view on $n"
    fx_expect_eq "$(jq -r '.answers | to_entries[] | "\(.key) \(.value)"' <<<"$FX_BODY" | sort -n | md5sum)" \
        "$(md5sum <"$FX_TMP/expect")" "node $n shows the answers saved on both nodes"
done
fx_call B POST "/api/v1/sessions/$sid/submit" "" "$tok"
fx_expect_code 200 "submit on B"
score=$(jq .result.score <<<"$FX_BODY")
fx_expect_eq "$score" 29 "score: 20 right on A, one changed to wrong, 10 right on B"
fx_call A GET "/api/v1/sessions/$sid?brief=1" "" "$tok"
fx_expect_eq "$(jq -c '[.status, .result.score]' <<<"$FX_BODY")" "[\"submitted\",$score]" "A sees B's submit"
fx_call A POST /api/v1/sessions '{"paper":"业务水平"}' "$tok"
fx_expect_error 403 "a paper already sat cannot be started again"

# ---- the start race -------------------------------------------------------------------------
race() { # TOKEN PAPER PID: four simultaneous starts, two per node
    local tok=$1 paper=$2 pid=$3 cfg="$FX_TMP/race.cfg" i n
    : >"$cfg"
    i=0
    for n in A B A B; do
        i=$((i + 1))
        [ $i -gt 1 ] && echo next >>"$cfg"
        printf 'url = "%s/api/v1/sessions"\nrequest = "POST"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata-binary = "{\\"paper\\":\\"%s\\"}"\noutput = "%s/race.%d"\nwrite-out = "%%{http_code}\\n"\ninterface = "%s"\nmax-time = 30\nsilent\n' \
            "${FX_URL[$n]}" "$tok" "$paper" "$FX_TMP" "$i" "$FX_SRC" >>"$cfg"
    done
    curl -s -Z --parallel-immediate --parallel-max 4 -K "$cfg" >"$FX_TMP/race.codes" 2>/dev/null
    fx_expect_eq "$(sort "$FX_TMP/race.codes" | uniq -c | awk '{print $1, $2}')" "4 200" \
        "race $paper: every start succeeds"
    local ids
    ids=$(for i in 1 2 3 4; do jq -r .session_id "$FX_TMP/race.$i" 2>/dev/null; done | sort -u)
    fx_expect_eq "$(wc -l <<<"$ids")" 1 "race $paper: one session id for the four starts ($(echo $ids))"
    fx_expect_eq "$(fx_sql "SELECT GROUP_CONCAT(id) FROM exam_session WHERE physician_id = $pid AND paper = '$paper'")" \
        "$ids" "race $paper: one exam_session row"
    local cycle
    cycle=$(fx_sql "SELECT cycle_id FROM enrolment WHERE physician_id = $pid")
    fx_expect_eq "$(fx_redis hget "sess:{$ids}" sid)" "$ids" "race $paper: Redis holds that one session"
    fx_check "race $paper: the session is on the deadline list" [ -n "$(fx_redis zscore exam:deadlines "$ids")" ]
    fx_expect_eq "$(jq -r '.deadline - .started_at' "$FX_TMP/race.1")" "$(fx_blueprint "$paper" | cut -d' ' -f3)" \
        "race $paper: the blueprint's duration"
}
for k in 1 2; do
    read -r q acct < <(fx_new_physician 0)
    [ -n "${q:-}" ] || fx_fatal "could not create a physician"
    tq=$(fx_login B "$acct")
    race "$tq" 业务水平 "$q"
    race "$tq" 公共知识 "$q"
done

fx_examd_stop A
fx_examd_stop B
fx_finish
