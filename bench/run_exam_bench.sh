#!/usr/bin/env bash
# bench/run_exam_bench.sh - the whole load benchmark of examd in one command:
# a release build (build-bench/), a private Redis + MariaDB (deploy/stack.sh), the demo
# data and N bench physicians, a release examd, `dkbench run --scenario all`, then
# everything stopped again. The output goes to bench/results/exam-<UTC date-time>.txt.
#
#   bench/run_exam_bench.sh [dkbench run options...]      e.g. --physicians 2000
#
# Environment (defaults in brackets): DK_BENCH_PHYSICIANS [5000], DK_BENCH_CONNECTIONS [500:
# keep-alive connections, and the size of the saturation group], DK_BENCH_BUILD [1: build
# first], DK_BENCH_BUILD_DIR [build-bench], DK_BENCH_EXAMD [the build's examd; another
# binary, e.g. an older commit's, for a before/after on the same load],
# DK_BENCH_STACK_DIR [/tmp/dk-bench-stack], DK_REDIS_PORT [17395],
# DK_MYSQL_PORT [14395], DK_EXAM_PORT [18395], DK_HTTP_LOOPS [0 = one per core],
# DK_LOGIN_QUEUE_MAX_PER_ADDR [0: every simulated physician comes from 127.0.0.1],
# DK_PROCTOR_MODEL_DIR [../shared/models if there], DK_BENCH_JPEG [a one-face photo of
# ../shared/data/faces if there: camera checks and captures], and any other DK_* setting
# of examd (DK_HASH_WORKERS, DK_DB_WORKERS, ...), passed through.
# DK_BENCH_REPLICA [0; 1: a replica redis-server, `replicaof` the stack's Redis, on
# DK_BENCH_REPLICA_PORT [DK_REDIS_PORT + 1] in $DK_STACK_DIR/redis-replica, started after
# the stack and waited for until it is in sync; the primary then gets the replication
# settings of deploy/multinode/redis/primary.conf. With DK_REDIS_WAIT_REPLICAS=1 examd
# acknowledges an answer only once it is on the replica (WAIT).]
# Only processes this script started are stopped, by their pid.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(dirname "$here")
build=${DK_BENCH_BUILD_DIR:-$repo/build-bench}

export DK_STACK_DIR=${DK_BENCH_STACK_DIR:-/tmp/dk-bench-stack}
export DK_REDIS_PORT=${DK_REDIS_PORT:-17395}
export DK_MYSQL_PORT=${DK_MYSQL_PORT:-14395}
export DK_EXAM_PORT=${DK_EXAM_PORT:-18395}
export DK_HTTP_LOOPS=${DK_HTTP_LOOPS:-0}
export DK_LOGIN_QUEUE_MAX_PER_ADDR=${DK_LOGIN_QUEUE_MAX_PER_ADDR:-0}
export DK_BUILD_DIR=$build
export DK_DATA_DIR=${DK_DATA_DIR:-$DK_STACK_DIR/data} # capture photos stay in the private stack
shared=$(cd "$repo/.." && pwd -P)/shared
if [[ -z ${DK_PROCTOR_MODEL_DIR:-} && -f $shared/models/yunet_120x160.onnx ]]; then
    export DK_PROCTOR_MODEL_DIR=$shared/models
fi
jpeg=${DK_BENCH_JPEG:-$shared/data/faces/deepface_img03/2.jpg}
jpeg_opt=() photo_opt=()
if [[ -f $jpeg ]]; then
    jpeg_opt=(--capture-jpeg "$jpeg")
    photo_opt=(--photo "$jpeg") # registered for every bench physician: faces are compared
fi
physicians=${DK_BENCH_PHYSICIANS:-5000}
connections=${DK_BENCH_CONNECTIONS:-500}
# tokens must verify across the whole run (examd would otherwise pick a random key)
DK_TOKEN_SECRET=${DK_TOKEN_SECRET:-$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')}
export DK_TOKEN_SECRET

mkdir -p "$here/results"
out=$here/results/exam-$(date -u +%Y-%m-%dT%H%MZ).txt
examd_log=$(mktemp /tmp/dkbench-examd.XXXXXX.log)
examd_pid=
stack_started=0
replica=${DK_BENCH_REPLICA:-0}
replica_port=${DK_BENCH_REPLICA_PORT:-$((DK_REDIS_PORT + 1))}
replica_dir=$DK_STACK_DIR/redis-replica
replica_pid=

log() { printf 'run_exam_bench: %s\n' "$*" >&2; }

cleanup() {
    local rc=$?
    if [[ -n $examd_pid ]] && kill -0 "$examd_pid" 2>/dev/null; then
        kill -TERM "$examd_pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$examd_pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$examd_pid" 2>/dev/null; then kill -KILL "$examd_pid" 2>/dev/null || true; fi
    fi
    if [[ -n $replica_pid ]] && kill -0 "$replica_pid" 2>/dev/null; then
        kill -TERM "$replica_pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$replica_pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$replica_pid" 2>/dev/null; then kill -KILL "$replica_pid" 2>/dev/null || true; fi
    fi
    if ((stack_started)); then "$repo/deploy/stack.sh" down >/dev/null 2>&1 || true; fi
    rm -f "$examd_log"
    exit "$rc"
}
trap cleanup EXIT INT TERM

if [[ ${DK_BENCH_BUILD:-1} == 1 ]]; then
    log "release build in $build"
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j"$(nproc)" --target examd qbank dkbench >/dev/null
fi
for b in exam-engine/examd question-bank/qbank bench/dkbench; do
    [[ -x $build/$b ]] || { log "missing $build/$b (build first)"; exit 1; }
done
examd_bin=${DK_BENCH_EXAMD:-$build/exam-engine/examd}
[[ -x $examd_bin ]] || { log "missing $examd_bin"; exit 1; }

log "private stack in $DK_STACK_DIR (redis $DK_REDIS_PORT, mariadb $DK_MYSQL_PORT)"
stack_started=1
"$repo/deploy/stack.sh" up >/dev/null

# the replica (DK_BENCH_REPLICA=1): our own redis-server in the foreground of a background
# job, so its pid is ours; in sync before any data is loaded
replica_info() { redis-cli -h 127.0.0.1 -p "$replica_port" INFO replication 2>/dev/null | tr -d '\r'; }
primary_info() { redis-cli -h 127.0.0.1 -p "$DK_REDIS_PORT" INFO replication 2>/dev/null | tr -d '\r'; }
replica_in_sync() {
    local r p
    r=$(replica_info) && p=$(primary_info) || return 1
    grep -q '^master_link_status:up$' <<<"$r" && grep -q '^master_sync_in_progress:0$' <<<"$r" &&
        grep -q "^slave0:ip=127.0.0.1,port=$replica_port,state=online," <<<"$p"
}
if [[ $replica == 1 ]]; then
    [[ $replica_port =~ ^[0-9]{1,5}$ ]] || { log "DK_BENCH_REPLICA_PORT=$replica_port is not a port"; exit 1; }
    if redis-cli -h 127.0.0.1 -p "$replica_port" ping >/dev/null 2>&1; then
        log "port $replica_port already answers (set DK_BENCH_REPLICA_PORT)"; exit 1
    fi
    mkdir -p "$replica_dir"
    rm -f "$replica_dir"/*.rdb "$replica_dir"/appendonly* 2>/dev/null || true
    rm -rf "$replica_dir/appendonlydir"
    {
        echo "# written by bench/run_exam_bench.sh (DK_BENCH_REPLICA=1)"
        echo "include \"$repo/deploy/redis.conf\""
        echo "bind 127.0.0.1"
        echo "port $replica_port"
        echo "daemonize no"
        echo "dir \"$replica_dir\""
        echo "logfile \"$replica_dir/redis.log\""
        echo "replicaof 127.0.0.1 $DK_REDIS_PORT"
        echo "replica-read-only yes"
        echo "repl-timeout 30"
    } >"$replica_dir/redis.conf"
    log "replica redis on 127.0.0.1:$replica_port (replicaof 127.0.0.1:$DK_REDIS_PORT, $replica_dir)"
    redis-server "$replica_dir/redis.conf" </dev/null >"$replica_dir/start.out" 2>&1 &
    replica_pid=$!
    # the primary's replication settings of deploy/multinode/redis/primary.conf
    redis-cli -h 127.0.0.1 -p "$DK_REDIS_PORT" CONFIG SET repl-diskless-sync yes >/dev/null
    redis-cli -h 127.0.0.1 -p "$DK_REDIS_PORT" CONFIG SET repl-backlog-size 268435456 >/dev/null
    redis-cli -h 127.0.0.1 -p "$DK_REDIS_PORT" CONFIG SET repl-timeout 30 >/dev/null
    synced=0
    for _ in $(seq 300); do
        kill -0 "$replica_pid" 2>/dev/null || { cat "$replica_dir/start.out" "$replica_dir/redis.log" >&2; exit 1; }
        if replica_in_sync; then synced=1; break; fi
        sleep 0.2
    done
    ((synced)) || { log "the replica is not in sync after 60 s"; tail -20 "$replica_dir/redis.log" >&2; exit 1; }
    redis-cli -h 127.0.0.1 -p "$DK_REDIS_PORT" CONFIG SET min-replicas-to-write 1 >/dev/null
    redis-cli -h 127.0.0.1 -p "$DK_REDIS_PORT" CONFIG SET min-replicas-max-lag 5 >/dev/null
    log "replica in sync (pid $replica_pid)"
fi

log "demo data"
if ! "$repo/deploy/demo/load.sh" >/dev/null 2>"$examd_log.load"; then
    # load.sh stores the demo blueprints from deploy/demo/blueprints.json; where that
    # file is not there yet, store the same demo blueprints from qbank itself
    if [[ ! -f $repo/deploy/demo/blueprints.json ]]; then
        bp=$(mktemp --suffix=.json)
        "$build/question-bank/qbank" gen-demo --blueprints "$bp" >/dev/null 2>&1
        "$build/question-bank/qbank" blueprint set "$bp" >/dev/null 2>&1
        rm -f "$bp"
        log "deploy/demo/blueprints.json is missing: stored qbank's demo blueprints instead"
    else
        cat "$examd_log.load" >&2
        exit 1
    fi
fi
rm -f "$examd_log.load"
# the physicians who sit the exam, then one per connection for the saturation rounds
"$build/bench/dkbench" setup --physicians $((physicians + connections)) "${photo_opt[@]}" >/dev/null

log "examd on 127.0.0.1:$DK_EXAM_PORT"
"$examd_bin" >"$examd_log" 2>&1 &
examd_pid=$!
for _ in $(seq 600); do # 60 s: DK_BENCH_EXAMD may start several nodes
    curl -fsS "http://127.0.0.1:$DK_EXAM_PORT/healthz" >/dev/null 2>&1 && break
    kill -0 "$examd_pid" 2>/dev/null || { cat "$examd_log" >&2; exit 1; }
    sleep 0.1
done

# a stand-in for examd (DK_BENCH_EXAMD) may print the configuration after it answers
for _ in $(seq 100); do grep -q 'listening' "$examd_log" 2>/dev/null && break; sleep 0.1; done
cmd=("$build/bench/dkbench" run --scenario all --physicians "$physicians" --connections "$connections"
     "${jpeg_opt[@]}" "$@")
{
    echo "# dkbench results, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo" diff --quiet 2>/dev/null || echo ' (with local changes)')"
    echo "# command: bench/run_exam_bench.sh $*"
    echo "#   which ran: ${cmd[*]}"
    echo "# machine: nproc $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), $(free -m | awk '/^Mem:/ {print $2 " MiB RAM"}')"
    if [[ $replica == 1 ]]; then
        echo "# replica: redis-server pid $replica_pid on 127.0.0.1:$replica_port, replicaof 127.0.0.1:$DK_REDIS_PORT, in sync before the data was loaded;" \
            "primary: repl-diskless-sync yes, repl-backlog-size 256mb, min-replicas-to-write 1, min-replicas-max-lag 5"
    else
        echo "# replica: none (DK_BENCH_REPLICA=1 for one)"
    fi
    echo "# examd ($examd_bin): its effective configuration:"
    { sed -n '/effective configuration/,/listening/p' "$examd_log" | grep -v -e token_secret -e mysql_password | sed 's/^/#   /'; } || true
    echo
} >"$out"
# what Redis received during the run alone (the stack may have served earlier runs):
# bytes, commands, EVAL and EVALSHA calls
redis_counters() {
    local info b c e s
    info=$(redis-cli -h 127.0.0.1 -p "$DK_REDIS_PORT" INFO all 2>/dev/null | tr -d '\r' || true)
    b=$(sed -n 's/^total_net_input_bytes://p' <<<"$info")
    c=$(sed -n 's/^total_commands_processed://p' <<<"$info")
    e=$(sed -n 's/^cmdstat_eval:calls=\([0-9]*\),.*/\1/p' <<<"$info")
    s=$(sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p' <<<"$info")
    echo "${b:-0} ${c:-0} ${e:-0} ${s:-0}"
}
read -r bytes0 cmds0 eval0 evalsha0 < <(redis_counters)
log "dkbench run (output in ${out#"$repo"/})"
set +e
"${cmd[@]}" 2>&1 | tee -a "$out"
rc=${PIPESTATUS[0]}
set -e
read -r bytes1 cmds1 eval1 evalsha1 < <(redis_counters)
{
    echo
    echo "# examd's own view at the end (GET /metrics, examd_* lines):"
    curl -fsS "http://127.0.0.1:$DK_EXAM_PORT/metrics" 2>/dev/null | grep -E '^examd_' |
        grep -v '_bucket' | sed 's/^/#   /' || true
    echo "# Redis at the end (INFO commandstats for the scripts, bytes received):"
    redis-cli -h 127.0.0.1 -p "$DK_REDIS_PORT" INFO commandstats 2>/dev/null |
        grep -E '^cmdstat_(eval|evalsha|hset|hmget|spop|xadd|wait):' | tr -d '\r' | sed 's/^/#   /' || true
    redis-cli -h 127.0.0.1 -p "$DK_REDIS_PORT" INFO stats 2>/dev/null |
        grep -E '^total_(net_input_bytes|commands_processed):' | tr -d '\r' | sed 's/^/#   /' || true
    echo "# Redis during the dkbench run alone (INFO, after minus before):"
    echo "#   net_input_bytes=$((bytes1 - bytes0)) commands=$((cmds1 - cmds0))" \
        "eval=$((eval1 - eval0)) evalsha=$((evalsha1 - evalsha0))"
    if [[ $replica == 1 ]]; then
        echo "# the replica at the end (primary's INFO replication, then the replica's):"
        primary_info | grep -E '^(connected_slaves|slave0|master_repl_offset|min_slaves_good_slaves):' | sed 's/^/#   primary /' || true
        replica_info | grep -E '^(master_link_status|master_repl_offset|master_last_io_seconds_ago|master_sync_in_progress):' | sed 's/^/#   replica /' || true
        grep -E 'MASTER <-> REPLICA|Connection with master lost|timeout' "$replica_dir/redis.log" | tail -5 | sed 's/^/#   replica log: /' || true
    fi
    echo "# examd warnings and errors during the run (count, level, message; ids elided):"
    grep -E ' (WARN|ERROR) ' "$examd_log" | cut -d' ' -f2- |
        sed -E 's/(sid|capture_id|id|pid|no|session|overdue_ms)=[^ ]+/\1=…/g' | sort | uniq -c | sort -rn | head -20 |
        sed 's/^/#   /' || true
} >>"$out"
log "done: ${out#"$repo"/} (dkbench exit status $rc)"
exit "$rc"
