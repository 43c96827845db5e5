#!/usr/bin/env bash
# exam_sched: the proctor's scoring threads inside examd yield the cores. With a backlog of
# captures they used to take most of both cores at nice 10, and Redis and MariaDB,
# preempted in the middle of a script or a commit, held answer saves and submits for tens
# of milliseconds (bench/README.md, "Steady at the 09:00 load"). Under SCHED_IDLE
# (proctor_sched_idle, on by default) they run only on time no other thread wants.
#   - every scoring thread of an examd with in-process workers runs under SCHED_IDLE;
#   - no other thread does (the event loops, the database, hash and face pools);
#   - proctor_sched_idle=0 turns it off (so the check above can fail);
#   - /metrics shows where the time goes: the loops' lag, the answer script's round trip
#     to Redis, and a submit's wait for a database thread and its transaction.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_sched "$1"

# threads of PID whose scheduling policy (field 41 of /proc/PID/task/TID/stat) is POLICY
threads_with_policy() {
    local pid=$1 want=$2 n=0 f rest
    for f in /proc/"$pid"/task/*/stat; do
        rest=$(sed 's/.*) //' "$f" 2>/dev/null) || continue
        # after the name, fields start at 3 (state): policy is the 39th of them
        [ "$(awk '{print $39}' <<<"$rest")" = "$want" ] && n=$((n + 1))
    done
    echo "$n"
}
SCHED_IDLE=5

fx_examd_start A DK_PROCTOR_INPROCESS=1 DK_PROCTOR_WORKERS=3
sleep 0.5 # the workers set their policy as they start
pid=${FX_PID[A]}
fx_expect_eq "$(threads_with_policy "$pid" $SCHED_IDLE)" 3 \
    "the 3 scoring threads run under SCHED_IDLE"
total=$(ls /proc/"$pid"/task | wc -l)
fx_check "examd has other threads, which keep the normal policy" [ "$total" -gt 3 ]
fx_expect_eq "$(threads_with_policy "$pid" 0)" $((total - 3)) \
    "every other thread keeps the normal policy (SCHED_OTHER)"

# the metrics that split an answer's and a submit's time
fx_sitting A
sid=$FX_SID tok=$FX_TOKEN
fx_call A PUT "/api/v1/sessions/$sid/answers/1" '{"choice":"A"}' "$tok"
fx_expect_code 200 "an answer is saved"
fx_call A POST "/api/v1/sessions/$sid/submit" "" "$tok"
fx_expect_code 200 "the paper is submitted"
m=$(curl -s "${FX_URL[A]}/metrics")
for h in examd_loop_lag_seconds examd_answer_redis_seconds examd_submit_wait_seconds \
    examd_submit_db_seconds; do
    n=$(sed -n "s/^${h}_count{} \([0-9]*\)$/\1/p" <<<"$m")
    fx_check "/metrics has $h with at least one observation (got '${n}')" [ "${n:-0}" -ge 1 ]
done
fx_examd_stop A

fx_examd_start B DK_PROCTOR_INPROCESS=1 DK_PROCTOR_WORKERS=3 DK_PROCTOR_SCHED_IDLE=0
sleep 0.5
fx_expect_eq "$(threads_with_policy "${FX_PID[B]}" $SCHED_IDLE)" 0 \
    "proctor_sched_idle=0: no thread under SCHED_IDLE"
fx_examd_stop B
fx_finish
