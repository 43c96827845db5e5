#!/usr/bin/env bash
# exam_clock (issue 13, faults): a node whose clock is 5 minutes off. Two examd nodes
# run under libfaketime (Debian's faketime), one 5 minutes behind and one 5 minutes
# ahead; session times come from Redis's clock (TIME), which examd measures against its
# own at start and every sweep tick (examd_clock_offset_ms). On each node: a paper
# started there has its full duration from Redis's now (started_at within 3 s of it, not
# 5 minutes off), server_time is Redis's, answers are acknowledged (a node behind does
# not take them for stale), and after the deadline by Redis's clock every answer is
# refused. Tokens too: one issued on the node ahead is refused on both nodes after a
# password change on the node behind. Skipped (77) without faketime.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_clock "$1"
lib=
for l in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 /usr/lib/*/faketime/libfaketimeMT.so.1; do
    [ -f "$l" ] && { lib=$l; break; }
done
[ -n "$lib" ] || fx_skip "libfaketime is not installed (deploy/setup.sh installs faketime)"

# a sanitizer's runtime must come first in the preload list
san=$(ldd "$FX_EXAMD" 2>/dev/null | awk '/lib[at]san/ {print $3; exit}')
lib="${san:+$san }$lib"
# DONT_FAKE_MONOTONIC: only the wall clock is off, as with a badly set node
fx_examd_start S LD_PRELOAD="$lib" FAKETIME=-300 DONT_FAKE_MONOTONIC=1 FAKETIME_NO_CACHE=1 \
    DK_EXAM_DURATION_S=8 DK_PROCTOR_INPROCESS=0
fx_examd_start F LD_PRELOAD="$lib" FAKETIME=+300 DONT_FAKE_MONOTONIC=1 FAKETIME_NO_CACHE=1 \
    DK_EXAM_DURATION_S=8 DK_PROCTOR_INPROCESS=0
redis_ms() { fx_redis time | awk 'NR == 1 {s = $1} NR == 2 {printf "%d\n", s * 1000 + int($1 / 1000)}'; }
near() { # A B: |A - B| <= 3000
    local d=$(($1 - $2))
    [ "${d#-}" -le 3000 ]
}
grep -q "clock is .* ms behind Redis" "${FX_LOG[S]}" || fx_fail_msg "node S did not log that its clock is behind"
grep -q "clock is .* ms ahead of Redis" "${FX_LOG[F]}" || fx_fail_msg "node F did not log that its clock is ahead"
off_s=$(fx_metric S examd_clock_offset_ms) off_f=$(fx_metric F examd_clock_offset_ms)
fx_check "node S measured Redis's clock ~300 s ahead of its own (examd_clock_offset_ms $off_s)" near "${off_s%.*}" 300000
fx_check "node F measured Redis's clock ~300 s behind its own (examd_clock_offset_ms $off_f)" near "${off_f%.*}" -300000

declare -A SID TOK DL
for n in S F; do
    fx_sitting "$n"
    SID[$n]=$FX_SID TOK[$n]=$FX_TOKEN
    now=$(redis_ms)
    started=$(jq .started_at <<<"$FX_BODY")
    DL[$n]=$(jq .deadline <<<"$FX_BODY")
    fx_expect_eq "$((DL[$n] - started))" 8000 "node $n: the paper has its 8 s"
    fx_check "node $n: started_at ($started) is Redis's now ($now), not 5 minutes off" near "$started" "$now"
    fx_call "$n" GET "/api/v1/sessions/${SID[$n]}" "" "${TOK[$n]}"
    st=$(jq .server_time <<<"$FX_BODY")
    fx_check "node $n: server_time ($st) is Redis's now" near "$st" "$(redis_ms)"
    fx_keys "${SID[$n]}" >"$FX_TMP/keys.$n"
    awk 'NR <= 3 {print $1, $3}' "$FX_TMP/keys.$n" >"$FX_TMP/a.$n"
    fx_put_answers "$n" "${SID[$n]}" "${TOK[$n]}" "$FX_TMP/a.$n" ||
        fx_fail_msg "node $n: answers within the time were not acknowledged"
done

# past both deadlines by Redis's clock
for _ in $(seq 200); do
    [ "$(redis_ms)" -gt $((DL[S] > DL[F] ? DL[S] : DL[F])) ] && break
    sleep 0.1
done
for n in S F; do
    no=$(awk 'NR == 4 {print $1}' "$FX_TMP/keys.$n") c=$(awk 'NR == 4 {print $3}' "$FX_TMP/keys.$n")
    fx_call "$n" PUT "/api/v1/sessions/${SID[$n]}/answers/$no" "{\"choice\":\"$c\"}" "${TOK[$n]}"
    fx_expect_error 409 "node $n: an answer after the deadline by Redis's clock" "考试已结束"
done
# tokens are issued and revoked on Redis's clock too: a token issued on the node 5 minutes
# ahead is refused on both nodes once the password is changed on the node 5 minutes
# behind (issued on its own clock it was 10 minutes newer than the revocation, and
# outlived it)
read -r _ acct < <(fx_new_physician 0)
tF=$(fx_login F "$acct")
iss=$(cut -d. -f4 <<<"$tF")
fx_check "node F issues a token at Redis's time (issued $iss, Redis $(redis_ms))" near "$iss" "$(redis_ms)"
fx_call F GET /api/v1/tests "" "$tF"
fx_expect_code 200 "the token works before the change"
tS=$(fx_login S "$acct")
fx_call S POST /api/v1/password "{\"old_password\":\"$FX_PASSWORD\",\"new_password\":\"Cl0ck#Skew9\"}" "$tS"
fx_expect_code 200 "the password changed on node S"
for n in S F; do
    for _ in $(seq 50); do # the nodes' revocation tables refresh every token_revocation_refresh_ms
        fx_call "$n" GET /api/v1/tests "" "$tF"
        [ "$FX_CODE" = 401 ] && break
        sleep 0.1
    done
    fx_expect_code 401 "node $n: the token from the node ahead is refused after the change"
done
fx_examd_stop S
fx_examd_stop F
fx_finish
