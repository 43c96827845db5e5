#!/usr/bin/env bash
# multinode_galera_submit: a submit in flight when its MariaDB node is killed completes
# exactly once on another node. Three Galera nodes on loopback (db_nodes.sh), examd given
# them as mysql_hosts. A physician starts and answers 40 questions. A connection of the
# test holds the session's row lock on node 1 (SELECT ... FOR UPDATE in an open
# transaction), so the submit's transaction, started on node 1, waits inside it: the test
# sees its SELECT ... FOR UPDATE waiting in node 1's process list, then kills node 1 with
# kill -9. The submit must reply 200 with the score of the acknowledged answers (examd
# retried it on node 2, its log says so); node 2 and node 3 hold one exam_result, one
# submit in the audit log, the enrolment's test with one attempt; submitting again
# shows the same result. Meanwhile every examd connection is on node 2 (none on node 3:
# one node takes the writes). A second physician sits and submits on the two nodes left.
# Node 1 rejoins; examd's connections move back to it, and a third submit lands there.
# Then nodes 2 and 3 are killed: node 1 alone has no majority (wsrep_ready OFF, 1047), a
# submit gets 503 (after examd's retries) and examd's log says why; node 1 bootstrapped
# as a cluster of its own (pc.bootstrap), the client's retry of that submit gets its
# result, recorded once.
#
#   test_galera_submit.sh EXAMD   (exit 77 when Galera, rsync or the tools are missing)
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
. "$here/db_nodes.sh"
db_init multinode_galera_submit "${1:-}"
t_start=$SECONDS
db_galera_up
echo "three Galera nodes up and loaded in $((SECONDS - t_start)) s: $DB_HOSTS"

. "$here/../lib/fixture.sh"
fx_init multinode_galera_submit "${1:-}"
db_trap

# answers 1..40: right on odd numbers, wrong on even: 20 right
answer_40() { # NODE SID TOKEN
    awk '$1 <= 40 {print $1, ($1 % 2 ? $3 : $4)}' "$FX_TMP/keys.$2" >"$FX_TMP/answers.$2"
    fx_put_answers "$1" "$2" "$3" "$FX_TMP/answers.$2" || fx_fatal "answers were not acknowledged"
}

fx_examd_start A DK_MYSQL_HOSTS="$DB_HOSTS" DK_MYSQL_TIMEOUT_MS=5000 DK_DB_WORKERS=2

fx_sitting A
sid=$FX_SID tok=$FX_TOKEN
fx_keys "$sid" >"$FX_TMP/keys.$sid"
answer_40 A "$sid" "$tok"

# ==== the submit waits inside its transaction on node 1; node 1 is killed ====================

db_sql 1 "START TRANSACTION; SELECT id FROM exam_session WHERE id = '$sid' FOR UPDATE;
          SELECT SLEEP(120)" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 100); do
    [ "$(db_sql 1 "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(120)'")" = 1 ] &&
        break
    sleep 0.1
done
(
    fx_call A POST "/api/v1/sessions/$sid/submit" "" "$tok"
    printf '%s\n%s\n' "$FX_CODE" "$FX_BODY" >"$FX_TMP/submit1"
) &
submitter=$!
waiting=0
for _ in $(seq 200); do # 20 s
    waiting=$(db_sql 1 "SELECT COUNT(*) FROM information_schema.PROCESSLIST
                        WHERE INFO LIKE 'SELECT status FROM exam_session WHERE id = %FOR UPDATE'")
    [ "$waiting" = 1 ] && break
    sleep 0.1
done
[ "$waiting" = 1 ] || fx_fatal "the submit never waited on node 1's row lock"
t_kill=$(fx_now_ms)
db_kill9 1
wait "$holder" 2>/dev/null
wait "$submitter"
took=$(($(fx_now_ms) - t_kill))
code=$(sed -n 1p "$FX_TMP/submit1")
body=$(sed -n 2p "$FX_TMP/submit1")
echo "submit in flight on node 1, node 1 killed: HTTP $code after $took ms: $body"
db_fx_on 2
fx_expect_eq "$code" 200 "the submit whose node was killed"
want=$(awk '$1 <= 40 && $1 % 2 {n++} END {print n + 0}' "$FX_TMP/keys.$sid")
fx_expect_eq "$(jq -r .result.score <<<"$body")" "$want" "the score (20 right answers)"
grep -q 'retrying (attempt 2)' "${FX_LOG[A]}" ||
    fx_fail_msg "examd's log does not show the submit retried"
grep -q 'node 1 of mysql_hosts .* is down' "${FX_LOG[A]}" ||
    fx_fail_msg "examd's log does not say node 1 is down"

for n in 2 3; do
    fx_expect_eq "$(db_sql "$n" "SELECT COUNT(*), MAX(score) FROM exam_result WHERE session_id = '$sid'" | tr '\t' ' ')" \
        "1 $want" "node $n: one exam_result with the score"
    fx_expect_eq "$(db_sql "$n" "SELECT status FROM exam_session WHERE id = '$sid'")" submitted \
        "node $n: the session"
    fx_expect_eq "$(db_sql "$n" "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'exam_session'
                               AND entity_id = '$sid' AND to_status = 'submitted'")" 1 \
        "node $n: submits in the audit log"
    fx_expect_eq "$(db_sql "$n" "SELECT COUNT(*), MAX(attempts), MAX(last_session_id) FROM enrolment_test t
                               JOIN exam_session s ON s.enrolment_id = t.enrolment_id
                               WHERE s.id = '$sid' AND t.paper = s.paper" | tr '\t' ' ')" \
        "1 1 $sid" "node $n: the enrolment's test (one row, one attempt)"
    fx_expect_eq "$(db_sql "$n" "SELECT COUNT(*) FROM exam_answer WHERE session_id = '$sid'")" 40 \
        "node $n: answers in exam_answer"
done
same='.result | {score, total, passed, enrolment_status}'
fx_call A POST "/api/v1/sessions/$sid/submit" "" "$tok"
fx_expect_eq "$FX_CODE $(jq -c "$same" <<<"$FX_BODY")" "200 $(jq -c "$same" <<<"$body")" \
    "submitting again shows the same result"

# ==== the two nodes left serve a whole sitting; one of them takes the writes =================

fx_sitting A
sid2=$FX_SID tok2=$FX_TOKEN
fx_keys "$sid2" >"$FX_TMP/keys.$sid2"
answer_40 A "$sid2" "$tok2"
fx_call A POST "/api/v1/sessions/$sid2/submit" "" "$tok2"
fx_expect_code 200 "a submit with node 1 down"
fx_expect_eq "$(jq -r .result.score <<<"$FX_BODY")" "$want" "the second physician's score"
on2=$(db_sql 2 "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'dingkao' AND ID <> CONNECTION_ID()")
on3=$(db_sql 3 "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'dingkao' AND ID <> CONNECTION_ID()")
echo "examd's connections with node 1 down: node 2 $on2, node 3 $on3"
[ "$on2" -ge 1 ] || fx_fail_msg "examd has no connection to node 2 (the first live node)"
fx_expect_eq "$on3" 0 "examd's connections to node 3 (all writes go to the first live node)"

# ==== node 1 rejoins: examd moves back to it ================================================

t_join=$SECONDS
db_start 1
for _ in $(seq 300); do db_synced 1 && break; sleep 0.1; done
db_synced 1 || fx_fatal "node 1 did not rejoin the cluster"
echo "node 1 rejoined in $((SECONDS - t_join)) s"
fx_sitting A # a job on each database thread, after the down mark of node 1 ran out
sleep 3.5
fx_sitting A
sid3=$FX_SID tok3=$FX_TOKEN
fx_call A POST "/api/v1/sessions/$sid3/submit" "" "$tok3"
fx_expect_code 200 "a submit after node 1 rejoined"
on1=$(db_sql 1 "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'dingkao' AND ID <> CONNECTION_ID()")
echo "examd's connections after node 1 rejoined: node 1 $on1"
[ "$on1" -ge 1 ] || fx_fail_msg "examd did not move back to node 1"
fx_expect_eq "$(db_sql 1 "SELECT COUNT(*) FROM exam_result WHERE session_id IN ('$sid', '$sid2', '$sid3')")" 3 \
    "node 1 has the three results"

# ==== two nodes lost: node 1 alone is not ready (1047); the cluster back, the submit goes ==

fx_sitting A
sid4=$FX_SID tok4=$FX_TOKEN
fx_keys "$sid4" >"$FX_TMP/keys.$sid4"
answer_40 A "$sid4" "$tok4"
db_kill9 2
db_kill9 3
for _ in $(seq 100); do [ "$(db_status 1 wsrep_ready)" = OFF ] && break; sleep 0.1; done
fx_expect_eq "$(db_status 1 wsrep_ready)" OFF "node 1 alone (no majority): wsrep_ready"
t0=$(fx_now_ms)
fx_call A POST "/api/v1/sessions/$sid4/submit" "" "$tok4"
echo "submit with no node ready: HTTP $FX_CODE after $(($(fx_now_ms) - t0)) ms"
fx_expect_error 503 "a submit while no node is ready" "服务器"
fx_check "the page is not shown the driver's English error (log only)" \
    bash -c '! grep -qiE "mysql|wsrep|lost connection" <<<"$1"' _ "$FX_BODY"
grep -q 'node not ready (wsrep_ready=OFF)' "${FX_LOG[A]}" ||
    fx_fail_msg "examd's log does not say node 1 is not ready"
# what an operator does when the others are lost for good: node 1 becomes the cluster
db_stack 1 sql -e "SET GLOBAL wsrep_provider_options = 'pc.bootstrap=YES'" ||
    fx_fatal "could not bootstrap node 1 again"
for _ in $(seq 300); do [ "$(db_status 1 wsrep_ready)" = ON ] && break; sleep 0.1; done
fx_expect_eq "$(db_status 1 wsrep_ready)" ON "node 1 bootstrapped alone: wsrep_ready"
sleep 3.5 # node 1's down mark runs out
fx_call A POST "/api/v1/sessions/$sid4/submit" "" "$tok4"
fx_expect_code 200 "the client's retry of the submit once two nodes are back"
fx_expect_eq "$(jq -r .result.score <<<"$FX_BODY")" "$want" "its score"
db_fx_on 1
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM exam_result WHERE session_id = '$sid4'")" 1 \
    "one exam_result for the submit refused, then retried"

fx_examd_stop A
echo "total $((SECONDS - t_start)) s"
fx_finish
