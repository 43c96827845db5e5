#!/usr/bin/env bash
# multinode_redis_sentinel: examd follows a Redis failover under Sentinel and loses no
# acknowledged answer (DESIGN §2.1).
#
# A private Redis primary, one replica and a Sentinel (quorum 1) run on loopback; examd
# finds the primary through the Sentinel only (its redis_port points nowhere) and
# acknowledges an answer only once a replica has it (redis_wait_replicas = 1). A
# physician answers a third of the paper; then the primary is killed with kill -9. The
# physician goes on answering as the exam page does (a refused answer is retried): the
# Sentinel promotes the replica, examd's watcher moves every client to it, and with no
# replica left answers are refused (503, the page keeps them) until the old primary comes
# back (with its append-only file) and the Sentinel makes it a replica of the new one.
# On a loaded machine the Sentinel may fail over once more, back to the old primary:
# nothing acknowledged may be lost then either. At the end the session in
# Redis and, after submit, exam_answer in MariaDB hold exactly the acknowledged answers.
#
#   test_sentinel.sh EXAMD      (DK_SENTINEL_KEEP=DIR keeps the Redis, Sentinel and examd logs)
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
. "$here/../lib/fixture.sh"
fx_init multinode_redis_sentinel "${1:-}"
command -v redis-server >/dev/null || fx_skip "redis-server is not installed"

. "$here/redis_nodes.sh"
mkdir -p "$RS/s"
rs_cleanup() {
    local rc=$? p
    for p in "${RPID[@]}"; do kill -9 "$p" 2>/dev/null; done
    [ -n "${DK_SENTINEL_KEEP:-}" ] && cp -r "$RS" "$DK_SENTINEL_KEEP" && cp "${FX_LOG[A]}" "$DK_SENTINEL_KEEP/examd.log"
    if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
        echo "---- sentinel log"; tail -n 30 "$RS/s/log" 2>/dev/null
    fi
    (exit "$rc")
    fx_cleanup
}
trap rs_cleanup EXIT

P1=$(free_port)
P2=$(free_port)
PS=$(free_port)
start_redis p1 "$P1"
start_redis p2 "$P2" --replicaof 127.0.0.1 "$P1"
cat >"$RS/s/sentinel.conf" <<CONF
port $PS
bind 127.0.0.1
dir $RS/s
logfile $RS/s/log
sentinel monitor dk 127.0.0.1 $P1 1
sentinel down-after-milliseconds dk 2000
sentinel failover-timeout dk 10000
CONF
redis-server "$RS/s/sentinel.conf" --sentinel &
RPID[s]=$!
for _ in $(seq 300); do # the replica is in sync and the Sentinel has seen it
    [ "$(rcli "$P2" info replication | tr -d '\r' | grep -c 'master_link_status:up')" = 1 ] &&
        [ "$(rcli "$PS" sentinel replicas dk | grep -c "^$P2\$")" -ge 1 ] && break
    sleep 0.1
done
[ "$(rcli "$PS" sentinel get-master-addr-by-name dk | tail -n 1)" = "$P1" ] ||
    fx_fatal "the Sentinel does not name the primary"
[ "$(rcli "$PS" sentinel replicas dk | grep -c "^$P2\$")" -ge 1 ] ||
    fx_fatal "the Sentinel has not seen the replica"
echo "redis primary :$P1, replica :$P2, sentinel :$PS"

fx_examd_start A DK_REDIS_SENTINELS="127.0.0.1:$PS" DK_REDIS_MASTER_NAME=dk DK_REDIS_PORT=1 \
    DK_REDIS_SENTINEL_POLL_MS=200 DK_REDIS_WAIT_REPLICAS=1 DK_REDIS_WAIT_MS=500 \
    DK_REDIS_TIMEOUT_MS=1000 DK_PROCTOR_INPROCESS=0
grep -q "primary found host=127.0.0.1 port=$P1" "${FX_LOG[A]}" ||
    fx_fail_msg "examd did not log the primary the Sentinel named"

fx_sitting A
tok=$FX_TOKEN sid=$FX_SID
nq=$(jq '.paper_detail.questions | length' <<<"$FX_BODY")
[ "$nq" -ge 30 ] 2>/dev/null || fx_fatal "the paper has $nq questions"
fx_keys "$sid" >"$FX_TMP/keys"
awk '{print $1, ($1 % 2 ? $3 : $4)}' "$FX_TMP/keys" >"$FX_TMP/all"

# part 1: a third, all acknowledged (the replica is there for WAIT)
head -n $((nq / 3)) "$FX_TMP/all" >"$FX_TMP/part1"
fx_put_answers A "$sid" "$tok" "$FX_TMP/part1" || fx_fatal "answers before the kill were not all acknowledged"
cp "$FX_TMP/acked.$sid" "$FX_TMP/acked"
fx_expect_eq "$(rcli "$P2" hlen "sess:{$sid}:ans")" "$((nq / 3))" \
    "the replica holds every acknowledged answer before the kill"

# part 2: the primary dies; the physician goes on, retrying what is refused
kill -9 "${RPID[p1]}"
wait "${RPID[p1]}" 2>/dev/null
unset 'RPID[p1]'
t_kill=$SECONDS
refused=0
restarted=0
tail -n +$((nq / 3 + 1)) "$FX_TMP/all" >"$FX_TMP/part2"
while read -r no c; do
    t0=$SECONDS
    while :; do
        fx_call A PUT "/api/v1/sessions/$sid/answers/$no" "{\"choice\":\"$c\"}" "$tok"
        if [ "$FX_CODE" = 200 ] && [ "$(jq -r .choice <<<"$FX_BODY")" = "$c" ]; then
            echo "$no $c" >>"$FX_TMP/acked"
            break
        fi
        case $FX_CODE in 503 | 504) ;; *) fx_fatal "answer $no: HTTP $FX_CODE $FX_BODY (the page would not retry that)" ;; esac
        refused=$((refused + 1))
        # once the Sentinel has promoted the replica, the old primary comes back: the
        # Sentinel turns it into a replica of the new primary and WAIT is satisfied again
        if [ $restarted = 0 ] && [ "$(rcli "$PS" sentinel get-master-addr-by-name dk | tail -n 1)" = "$P2" ]; then
            echo "failover after $((SECONDS - t_kill)) s; $refused answers refused so far; old primary restarts"
            start_redis p1 "$P1"
            restarted=1
        fi
        [ $((SECONDS - t0)) -lt 90 ] || fx_fatal "answer $no not acknowledged within 90 s (last: HTTP $FX_CODE $FX_BODY)"
        sleep 0.2
    done
done <"$FX_TMP/part2"
echo "after the kill: $((nq - nq / 3)) answers acknowledged, $refused refusals retried, $((SECONDS - t_kill)) s"
fx_check "the Sentinel promoted the replica" [ "$restarted" = 1 ]
grep -q "primary moved host=127.0.0.1 port=$P2" "${FX_LOG[A]}" || fx_fail_msg "examd did not log the move to :$P2"
now=$(rcli "$PS" sentinel get-master-addr-by-name dk | tail -n 1)
fx_expect_eq "$(rcli "$now" role | head -n 1)" master "the server the Sentinel names (:$now) is the primary"

# the session (from the new primary) holds exactly the acknowledged answers
fx_call A GET "/api/v1/sessions/$sid" "" "$tok"
[ "$FX_CODE" = 200 ] || fx_fatal "session: HTTP $FX_CODE $FX_BODY"
jq -r '.answers | to_entries[] | "\(.key) \(.value)"' <<<"$FX_BODY" | sort -n >"$FX_TMP/seen"
sort -n "$FX_TMP/acked" >"$FX_TMP/acked.sorted"
fx_check "the session shows every acknowledged answer, no other ($(wc -l <"$FX_TMP/seen") seen, $(wc -l <"$FX_TMP/acked") acknowledged)" \
    cmp -s "$FX_TMP/seen" "$FX_TMP/acked.sorted"

fx_call A POST "/api/v1/sessions/$sid/submit" '{}' "$tok"
[ "$FX_CODE" = 200 ] || fx_fatal "submit: HTTP $FX_CODE $FX_BODY"
fx_sql "SELECT question_no, choice FROM exam_answer WHERE session_id = '$sid' ORDER BY question_no" |
    tr '\t' ' ' >"$FX_TMP/stored"
fx_check "MariaDB holds every acknowledged answer, no other" cmp -s "$FX_TMP/stored" "$FX_TMP/acked.sorted"
fx_examd_stop A
fx_finish
