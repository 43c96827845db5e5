#!/usr/bin/env bash
# exam_kill9: nothing acknowledged is lost when examd dies. Answer 20 questions, then
# stream the other 80 over one connection and kill -9 examd in the middle of it;
# restart it: every answer that was acknowledged (200 with the choice echoed) is there
# (GET), the session id, started_at and deadline are unchanged, and the remaining time
# went down by the time that passed (the clock never stops). The token issued before
# the crash still works (nodes share the signing key), answering goes on, and the
# restarted examd stops cleanly.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_kill9 "$1"
fx_examd_start A

fx_sitting A
tok=$FX_TOKEN sid=$FX_SID
clock=$(jq -r '"\(.started_at) \(.deadline)"' <<<"$FX_BODY")

# a mix of right, wrong and multi-letter answers, and one changed answer
fx_keys "$sid" >"$FX_TMP/keys"
awk '{print $1, ($1 % 2 ? $3 : $4)}' "$FX_TMP/keys" >"$FX_TMP/all"
head -n 20 "$FX_TMP/all" >"$FX_TMP/first"
echo "3 $(awk '$1 == 3 {print $4}' "$FX_TMP/keys")" >>"$FX_TMP/first"
echo "3 $(awk '$1 == 3 {print $3}' "$FX_TMP/keys")" >>"$FX_TMP/first"
fx_put_answers A "$sid" "$tok" "$FX_TMP/first" || fx_fatal "the first answers were not all acknowledged"

fx_call A GET "/api/v1/sessions/$sid?brief=1" "" "$tok"
before=$(jq -r '"\(.server_time) \(.remaining_ms)"' <<<"$FX_BODY")
t1=$(fx_now_ms)

# stream answers 21..100 and kill -9 examd in the middle
tail -n +21 "$FX_TMP/all" >"$FX_TMP/rest"
fx_put_answers A "$sid" "$tok" "$FX_TMP/rest" >"$FX_TMP/stream.out" 2>&1 &
stream=$!
for _ in $(seq 3000); do
    [ "$(fx_redis hlen "sess:{$sid}:ans")" -ge 45 ] && break
    sleep 0.01
done
fx_examd_kill9 A
wait "$stream"
acked=$(awk '{a[$1] = $2} END {for (n in a) print n, a[n]}' "$FX_TMP/acked.$sid" | sort -n) # the last per question
nacked=$(wc -l <<<"$acked")
echo "acknowledged before the crash: $nacked answers (of 100)"
fx_check "the stream was cut by the crash (all 100 acknowledged: the kill came late)" [ "$nacked" -lt 100 ]

sleep 1 # a restart takes a moment in real life too; it makes the elapsed time measurable
fx_examd_start A2
fx_call A2 GET "/api/v1/sessions/$sid" "" "$tok"
fx_expect_code 200 "the session after the restart, with the token from before"
t2=$(fx_now_ms)
after=$(jq -r '"\(.server_time) \(.remaining_ms)"' <<<"$FX_BODY")
fx_expect_eq "$(jq -r '"\(.started_at) \(.deadline)"' <<<"$FX_BODY")" "$clock" "started_at and deadline unchanged"
fx_expect_eq "$(jq -r .status <<<"$FX_BODY")" live "still live"
fx_expect_eq "$(jq '.paper_detail.questions | length' <<<"$FX_BODY")" 100 "the paper is served again"
got=$(jq -r '.answers | to_entries[] | "\(.key) \(.value)"' <<<"$FX_BODY" | sort -n)
missing=$(join -v1 <(echo "$acked" | sed 's/ /:/' | sort) <(echo "$got" | sed 's/ /:/' | sort))
fx_expect_eq "$missing" "" "every acknowledged answer is there after kill -9 (missing or different: $(echo $missing))"
fx_check "no answer appears that was never sent" \
    [ -z "$(join -v1 <(echo "$got" | sed 's/ /:/' | sort) <(sed 's/ /:/' "$FX_TMP/all" | sort))" ]
read -r st1 rem1 <<<"$before"
read -r st2 rem2 <<<"$after"
drop=$((rem1 - rem2))
elapsed=$((t2 - t1))
echo "remaining went down by $drop ms over $elapsed ms of wall time"
fx_check "remaining_ms went down by the time that passed ($drop ms vs $elapsed ms)" \
    [ $((drop - elapsed <= 1500 && elapsed - drop <= 1500)) = 1 ]
fx_expect_eq "$drop" "$((st2 - st1))" "remaining = deadline - server time"

fx_call A2 POST /api/v1/sessions '{"paper":"业务水平"}' "$tok"
fx_expect_eq "$FX_CODE $(jq -r '"\(.session_id) \(.started_at) \(.deadline)"' <<<"$FX_BODY")" "200 $sid $clock" \
    "starting again after the crash resumes the same session"
echo "100 $(awk '$1 == 100 {print $3}' "$FX_TMP/keys")" >"$FX_TMP/last"
fx_check "answering goes on after the restart" fx_put_answers A2 "$sid" "$tok" "$FX_TMP/last"

fx_examd_stop A2
fx_finish
