# tests/multinode/redis_nodes.sh - private redis-server processes on loopback for the
# tests of this folder; sourced after tests/lib/fixture.sh and fx_init. Each test sets
# its own EXIT trap: kill every pid in RPID, then fx_cleanup.
#   RS           the servers' folders ($FX_TMP/redis/<name>)
#   RPID[name]   each server's pid
#   free_port    a free loopback port
#   rcli PORT …  redis-cli --raw on that port, errors dropped
#   start_redis NAME PORT [ARGS...]   started, and answering PING, or the test stops
RS=$FX_TMP/redis
declare -A RPID=()

free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    fx_fatal "no free port"
}

rcli() { redis-cli -p "$1" --raw "${@:2}" 2>/dev/null; }

start_redis() {
    local name=$1 port=$2
    shift 2
    mkdir -p "$RS/$name"
    # as in production (deploy/multinode/redis/primary.conf): an append-only file, here
    # synced on every write, so a restarted server comes back with what it had
    redis-server --port "$port" --bind 127.0.0.1 --dir "$RS/$name" --save "" \
        --appendonly yes --appendfsync always \
        --logfile "$RS/$name/log" "$@" &
    RPID[$name]=$!
    for _ in $(seq 100); do
        [ "$(rcli "$port" ping)" = PONG ] && return 0
        sleep 0.1
    done
    fx_fatal "redis $name did not start on port $port"
}
