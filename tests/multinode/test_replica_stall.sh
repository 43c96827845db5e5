#!/usr/bin/env bash
# multinode_redis_replica_stall: durable acknowledgement (redis_wait_replicas = 1) with a
# replica that stops answering (kill -STOP), on one event loop.
#
# A private Redis primary and one replica on loopback; examd with DK_HTTP_LOOPS=1 (every
# request on the same loop) writes answers on its second Redis connection and
# acknowledges them with one WAIT at a time for everything written before it (group
# commit, exam-engine/README.md).
#  1. With the replica up: answers sent together are acknowledged and on the replica.
#  2. Replica stopped: 6 answers sent together are all refused with 503 (the page keeps
#     and re-sends them), each within 2 x redis_wait_ms of its sending (a WAIT per answer
#     in line on one connection took up to 6 x), and a resume of the same session on the
#     same loop is answered while they wait: the WAIT blocks only the answer connection.
#     They went with fewer WAITs than answers (examd_answer_waits): group commit.
#  3. Replica continued: the refused answers, sent again, are acknowledged and on the
#     replica; the session and, after submit, MariaDB hold them.
#
#   test_replica_stall.sh EXAMD
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
. "$here/../lib/fixture.sh"
fx_init multinode_redis_replica_stall "${1:-}"
command -v redis-server >/dev/null || fx_skip "redis-server is not installed"

. "$here/redis_nodes.sh"
rs_cleanup() {
    local rc=$? p
    for p in "${RPID[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
    (exit "$rc")
    fx_cleanup
}
trap rs_cleanup EXIT

P1=$(free_port)
P2=$(free_port)
start_redis p1 "$P1"
start_redis p2 "$P2" --replicaof 127.0.0.1 "$P1"
for _ in $(seq 300); do
    [ "$(rcli "$P2" info replication | tr -d '\r' | grep -c 'master_link_status:up')" = 1 ] && break
    sleep 0.1
done
[ "$(rcli "$P2" info replication | tr -d '\r' | grep -c 'master_link_status:up')" = 1 ] ||
    fx_fatal "the replica is not in sync"

WAIT_MS=2000
fx_examd_start A DK_REDIS_PORT="$P1" DK_HTTP_LOOPS=1 DK_REDIS_WAIT_REPLICAS=1 \
    DK_REDIS_WAIT_MS=$WAIT_MS DK_REDIS_TIMEOUT_MS=5000 DK_PROCTOR_INPROCESS=0

fx_sitting A
tok=$FX_TOKEN sid=$FX_SID
fx_keys "$sid" >"$FX_TMP/keys"
nq=$(wc -l <"$FX_TMP/keys")
[ "$nq" -ge 30 ] 2>/dev/null || fx_fatal "the paper has $nq questions"

put() { # NO CHOICE OUT: one answer, in the background by the caller; OUT gets "code ms"
    local t0 code
    t0=$(fx_now_ms)
    code=$(curl -s --max-time 30 --interface "$FX_SRC" -X PUT -o /dev/null -w '%{http_code}' \
        -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
        --data-binary "{\"choice\":\"$2\"}" "${FX_URL[A]}/api/v1/sessions/$sid/answers/$1")
    echo "$code $(($(fx_now_ms) - t0)) $(fx_now_ms)" >"$3"
}

# 1. replica up: 12 answers sent together
puts=()
for no in $(seq 1 12); do
    put "$no" "$(awk -v n="$no" '$1 == n {print $3}' "$FX_TMP/keys")" "$FX_TMP/up.$no" &
    puts+=($!)
done
wait "${puts[@]}" # (not a bare wait: the Redis servers are background jobs too)
fx_expect_eq "$(cat "$FX_TMP"/up.* | awk '$1 == 200' | wc -l)" 12 "with the replica up, 12 answers sent together are acknowledged"
fx_expect_eq "$(rcli "$P2" hlen "sess:{$sid}:ans")" 12 "the replica holds the 12 acknowledged answers"
waits=$(fx_metric A examd_answer_waits)
replicated=$(fx_metric A examd_answers_replicated)
fx_expect_eq "$replicated" 12 "examd_answers_replicated counts the 12"
fx_check "the 12 went with at most 12 WAITs ($waits)" [ "$waits" -ge 1 ] && [ "$waits" -le 12 ]

# 2. replica stopped
kill -STOP "${RPID[p2]}"
puts=()
for no in $(seq 13 18); do
    put "$no" "$(awk -v n="$no" '$1 == n {print $3}' "$FX_TMP/keys")" "$FX_TMP/stop.$no" &
    puts+=($!)
done
sleep 0.3
t0=$(fx_now_ms)
fx_call A GET "/api/v1/sessions/$sid" "" "$tok"
resume_code=$FX_CODE resume_ms=$(($(fx_now_ms) - t0)) resume_done=$(fx_now_ms)
wait "${puts[@]}"
fx_expect_eq "$resume_code" 200 "a resume on the same loop while the replica is stopped"
fx_expect_eq "$(cat "$FX_TMP"/stop.* | awk '$1 == 503' | wc -l)" 6 "with the replica stopped, the 6 answers are refused with 503"
first_refused=$(cat "$FX_TMP"/stop.* | awk '{print $3}' | sort -n | head -n 1)
fx_check "the resume (${resume_ms} ms) was answered before the first refused answer came back: the WAIT blocks only the answer connection" \
    [ "$resume_done" -lt "$first_refused" ]
slowest=$(cat "$FX_TMP"/stop.* | awk '{print $2}' | sort -n | tail -n 1)
fx_check "every refused answer came back within 2 x redis_wait_ms (slowest ${slowest} ms, redis_wait_ms $WAIT_MS)" \
    [ "$slowest" -lt $((2 * WAIT_MS)) ]
fx_expect_eq "$(fx_metric A examd_answers_replicated)" 12 "nothing more was counted as replicated"
# group commit: the first answer's WAIT is out; the 5 others are written behind it and,
# once it returns, go with one or two more WAITs, not one each
stopped_waits=$(($(fx_metric A examd_answer_waits) - waits))
fx_check "the 6 answers written while the replica was stopped went with fewer WAITs ($stopped_waits) than answers" \
    [ "$stopped_waits" -ge 1 ] && [ "$stopped_waits" -lt 6 ]
echo "12 answers acknowledged with $waits WAIT(s); replica stopped: 6 answers, $stopped_waits WAIT(s), resume ${resume_ms} ms, slowest refusal ${slowest} ms (redis_wait_ms $WAIT_MS)"

# 3. replica continued: the page sends the refused answers again
kill -CONT "${RPID[p2]}"
awk '$1 >= 13 && $1 <= 18 {print $1, $3}' "$FX_TMP/keys" >"$FX_TMP/again"
fx_put_answers A "$sid" "$tok" "$FX_TMP/again" || fx_fail_msg "the re-sent answers were not acknowledged"
fx_expect_eq "$(rcli "$P2" hlen "sess:{$sid}:ans")" 18 "the replica holds all 18 acknowledged answers"
fx_call A POST "/api/v1/sessions/$sid/submit" '{}' "$tok"
fx_expect_code 200 "submit"
fx_expect_eq "$(fx_sql "SELECT COUNT(choice) FROM exam_answer WHERE session_id = '$sid'")" 18 \
    "MariaDB holds the 18 answers"
fx_examd_stop A
fx_finish
