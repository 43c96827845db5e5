#!/usr/bin/env bash
# bench/multinode_examd.sh - stands in for examd in bench/run_exam_bench.sh: K examd nodes
# behind HAProxy (deploy/multinode/run.sh) listening where examd would (DK_EXAM_PORT),
# each with its in-process proctor workers. While it runs it samples, every 2 s, each
# node's CPU time (/proc/<pid>/stat) and its request counters (/metrics); on SIGTERM it
# stops the nodes and writes the per-node cost to DK_BENCH_MN_OUT
# [bench/results/multinode-<UTC time>.txt]:
#   - CPU per answer save: over the samples in which answers were saved and no paper was
#     started (the steady phase), node CPU / answer saves of that node;
#   - CPU per start: over the samples in which papers were started (the setup phase: each
#     start comes with a login (argon2id), the tests list and a camera check), node CPU /
#     starts of that node.
#
#   DK_BENCH_EXAMD=bench/multinode_examd.sh DK_BENCH_PHYSICIANS=20000 \
#       bench/run_exam_bench.sh --scenario steady
#
# Environment: DK_BENCH_NODES [3], DK_BENCH_NODE_PORT [DK_EXAM_PORT + 10], DK_BUILD_DIR
# (run_exam_bench.sh exports it), and everything run_exam_bench.sh exports (the stack's
# ports, DK_TOKEN_SECRET shared by the nodes).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(dirname "$here")
nodes=${DK_BENCH_NODES:-3}
node_port=${DK_BENCH_NODE_PORT:-$((DK_EXAM_PORT + 10))}
out=${DK_BENCH_MN_OUT:-$here/results/multinode-$(date -u +%Y-%m-%dT%H%MZ).txt}
samples=$(mktemp /tmp/dk-mn-samples.XXXXXX)
export DK_MN_NODES=$nodes DK_MN_LB=haproxy DK_MN_LB_PORT=$DK_EXAM_PORT DK_MN_NODE_PORT=$node_port
# the nodes' state (pid files, logs) in the bench's private stack
mn() { "$repo/deploy/multinode/run.sh" "$@"; }

ticks=$(getconf CLK_TCK)
sample() { # one line per node: time_ms node cpu_ticks answers starts
    local i pid t
    t=$(date +%s%3N)
    for ((i = 1; i <= nodes; i++)); do
        pid=$(cat "$DK_STACK_DIR/multinode/node$i.pid" 2>/dev/null) || continue
        [[ -r /proc/$pid/stat ]] || continue
        local cpu metrics answers starts
        cpu=$(awk '{print $14 + $15}' "/proc/$pid/stat")
        metrics=$(curl -s --max-time 2 "http://127.0.0.1:$((node_port + i - 1))/metrics" || true)
        answers=$(awk -F'[{} ]' '/_requests_total\{route="answer",code="2xx"\}/ {s += $NF} END {print s + 0}' <<<"$metrics")
        starts=$(awk -F'[{} ]' '/_requests_total\{route="session_start",code="2xx"\}/ {s += $NF} END {print s + 0}' <<<"$metrics")
        echo "$t $i $cpu $answers $starts"
    done >>"$samples"
}

report() {
    {
        echo "# bench/multinode_examd.sh: $nodes examd nodes behind HAProxy (port $DK_EXAM_PORT), commit $(git -C "$repo" rev-parse --short HEAD)"
        echo "# machine: nproc $(nproc), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
        awk -v ticks="$ticks" -v nodes="$nodes" '
            { t = $1; n = $2; cpu = $3; a = $4; s = $5
              if (n in last_t) {
                  dc = (cpu - last_c[n]) / ticks; da = a - last_a[n]; ds = s - last_s[n]
                  if (ds > 0) { scpu[n] += dc; sn[n] += ds }
                  else if (da > 0) { acpu[n] += dc; an[n] += da }
                  tot[n] += dc
              }
              last_t[n] = t; last_c[n] = cpu; last_a[n] = a; last_s[n] = s }
            END {
              printf "node  cpu_s_total  answers(steady)  cpu_ms_per_answer  starts  cpu_ms_per_start(with login+camera)\n"
              for (n = 1; n <= nodes; n++)
                  printf "%d     %.1f        %d              %.3f              %d    %.1f\n", n, tot[n], an[n],
                      an[n] ? acpu[n] * 1000 / an[n] : 0, sn[n], sn[n] ? scpu[n] * 1000 / sn[n] : 0
            }' "$samples"
    } | tee "$out" >&2
}

stopping=0
on_term() {
    stopping=1
    sample
    report || true # first: run_exam_bench.sh waits 10 s before SIGKILL
    mn stop >&2 || true
    rm -f "$samples"
    exit 0
}
trap on_term TERM INT

mn start >&2
# run_exam_bench.sh records examd's effective configuration from this output: node 1's
echo "(node 1 of $nodes behind HAProxy; every node has the same settings but its port)"
sed -n '/effective configuration/,/listening/p' "$DK_STACK_DIR/multinode/logs/node1.log"
while ((!stopping)); do
    sample
    sleep 2 &
    wait $! || true
done
