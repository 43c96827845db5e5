#!/usr/bin/env bash
# deploy/multinode/run.sh - K examd nodes on loopback behind one balancer, against the
# stack that is already up (deploy/stack.sh up, deploy/demo/load.sh): the multi-node
# layout of DESIGN §2.1 on one machine, to try failover by hand.
#
#   run.sh start        start the nodes and the balancer (stopping ours first)
#   run.sh stop         stop the balancer, then the nodes (SIGTERM: they drain)
#   run.sh status       what runs, and /healthz of each node and of the balancer
#   run.sh kill N       kill -9 node N (1..K), as a crash would
#   run.sh config       print the balancer configuration start would use
#
# Environment (defaults in brackets):
#   DK_MN_NODES [2]  DK_MN_NODE_PORT [18180] (node i listens on NODE_PORT+i-1)
#   DK_MN_LB [nginx] or haproxy   DK_MN_LB_PORT [18190]
#   DK_BUILD_DIR [$repo/build]  DK_STACK_DIR [$repo/.stack] (state in $DK_STACK_DIR/multinode)
#   DK_REDIS_PORT, DK_MYSQL_PORT, DK_CONFIG and other DK_<KEY> reach every node unchanged;
#   DK_CONFIG defaults to deploy/run.sh's $DK_STACK_DIR/dingkao.conf when that exists.
#   DK_TOKEN_SECRET: every node must sign with the same key; when unset, one is made once
#   and kept in $DK_STACK_DIR/multinode/token_secret (mode 600).
# Processes are ours when the pid in our pid file is alive and runs the program we
# started; nothing else is ever signalled.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)

DK_STACK_DIR=${DK_STACK_DIR:-$repo/.stack}
DK_BUILD_DIR=${DK_BUILD_DIR:-$repo/build}
nodes=${DK_MN_NODES:-2}
node_port=${DK_MN_NODE_PORT:-18180}
lb=${DK_MN_LB:-nginx}
lb_port=${DK_MN_LB_PORT:-18190}
run=$(realpath -m -- "$DK_STACK_DIR/multinode")
examd=$DK_BUILD_DIR/exam-engine/examd

log() { printf 'multinode: %s\n' "$*" >&2; }
die() { printf 'multinode: error: %s\n' "$*" >&2; exit 1; }

[[ $nodes =~ ^[1-9][0-9]?$ ]] || die "DK_MN_NODES must be 1..99"
[[ $node_port =~ ^[0-9]+$ && $lb_port =~ ^[0-9]+$ ]] || die "ports must be numbers"
((node_port + nodes - 1 <= 65535 && lb_port <= 65535)) || die "ports out of range"
case $lb in nginx | haproxy) ;; *) die "DK_MN_LB must be nginx or haproxy" ;; esac

# ---- processes ---------------------------------------------------------------------------

# alive PIDFILE PROGRAM: prints the pid when it runs PROGRAM (by executable name)
alive() {
    local pid exe
    [[ -f $1 ]] && read -r pid <"$1" 2>/dev/null || return 1
    [[ $pid =~ ^[0-9]+$ ]] && ((pid > 1)) && kill -0 "$pid" 2>/dev/null || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    exe=${exe% (deleted)}
    [[ ${exe##*/} == "$2" ]] || return 1
    echo "$pid"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time "${2:-3}" "$1" 2>/dev/null || true; }

# stop_pid PID SIGNAL WAIT_S: SIGNAL, then SIGKILL to its process group after WAIT_S
# (the balancer's workers share the master's group: setsid made it a leader)
stop_pid() {
    local pid=$1 sig=$2 wait_s=$3 i
    kill "-$sig" "$pid" 2>/dev/null || return 0
    for ((i = 0; i < wait_s * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid did not stop within ${wait_s}s; SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
}

lb_prog() { [[ $lb == nginx ]] && echo nginx || echo haproxy; }

node_addrs() { local i; for ((i = 0; i < nodes; i++)); do echo "127.0.0.1:$((node_port + i))"; done; }

render() {
    # shellcheck disable=SC2046
    "$here/render.sh" "$lb" --listen "127.0.0.1:$lb_port" --run-dir "$run/lb" \
        --user "$(id -un)" --workers 1 $(node_addrs)
}

# ---- commands ----------------------------------------------------------------------------

cmd_stop() {
    local pid i
    for prog in nginx haproxy; do
        if pid=$(alive "$run/lb.pid" "$prog"); then
            # nginx: SIGQUIT finishes the requests in flight; haproxy: SIGUSR1 likewise
            [[ $prog == nginx ]] && stop_pid "$pid" QUIT 15 || stop_pid "$pid" USR1 15
            log "$prog stopped (pid $pid)"
        fi
    done
    rm -f "$run/lb.pid"
    for ((i = 1; i <= 99; i++)); do
        [[ -f $run/node$i.pid ]] || continue
        if pid=$(alive "$run/node$i.pid" examd); then
            stop_pid "$pid" TERM 30
            log "node $i stopped (pid $pid)"
        fi
        rm -f "$run/node$i.pid"
    done
}

cmd_start() {
    command -v "$(lb_prog)" >/dev/null ||
        die "$(lb_prog) is not installed (apt-get install $(lb_prog))"
    [[ -x $examd ]] || die "examd is not built at $examd (cmake --build build --target examd)"
    command -v curl >/dev/null || die "curl is not installed"
    cmd_stop
    mkdir -p "$run/lb/tmp" "$run/logs"
    local secret=${DK_TOKEN_SECRET:-}
    if [[ -z $secret ]]; then
        [[ -s $run/token_secret ]] ||
            (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$run/token_secret")
        secret=$(cat "$run/token_secret")
    fi
    local i port pid
    for ((i = 1; i <= nodes; i++)); do
        port=$((node_port + i - 1))
        port_in_use "$port" && die "port $port (node $i) is in use: set DK_MN_NODE_PORT"
    done
    port_in_use "$lb_port" && die "port $lb_port (balancer) is in use: set DK_MN_LB_PORT"

    # deploy/run.sh's settings when they exist (the environment still wins); relative
    # paths in them (data_dir) are the repository's
    if [[ -z ${DK_CONFIG:-} && -f $DK_STACK_DIR/dingkao.conf ]]; then
        export DK_CONFIG=$DK_STACK_DIR/dingkao.conf
    fi
    cd "$repo"
    for ((i = 1; i <= nodes; i++)); do
        port=$((node_port + i - 1))
        # the balancer's address is trusted for X-Real-IP (per-address login limits)
        DK_EXAM_PORT=$port DK_TOKEN_SECRET=$secret DK_HTTP_TRUSTED_PROXIES=127.0.0.1 \
            setsid "$examd" </dev/null >>"$run/logs/node$i.log" 2>&1 &
        echo $! >"$run/node$i.pid"
    done
    for ((i = 1; i <= nodes; i++)); do
        port=$((node_port + i - 1))
        local code=
        for _ in $(seq 150); do
            code=$(http_code "http://127.0.0.1:$port/healthz")
            [[ $code == 200 ]] && break
            alive "$run/node$i.pid" examd >/dev/null || break
            sleep 0.2
        done
        [[ $code == 200 ]] || {
            tail -n 20 "$run/logs/node$i.log" >&2
            cmd_stop
            die "node $i (port $port) is not healthy (last /healthz: ${code:-none}); see $run/logs/node$i.log"
        }
    done

    render >"$run/lb/$lb.conf"
    if [[ $lb == nginx ]]; then
        setsid nginx -p "$run/lb" -c "$run/lb/nginx.conf" -e "$run/lb/error.log" -g 'daemon off;' \
            </dev/null >>"$run/logs/lb.log" 2>&1 &
    else
        setsid haproxy -db -f "$run/lb/haproxy.conf" </dev/null >>"$run/logs/lb.log" 2>&1 &
    fi
    echo $! >"$run/lb.pid"
    local code=
    for _ in $(seq 100); do
        code=$(http_code "http://127.0.0.1:$lb_port/healthz")
        [[ $code == 200 ]] && break
        alive "$run/lb.pid" "$(lb_prog)" >/dev/null || break
        sleep 0.1
    done
    [[ $code == 200 ]] || {
        tail -n 20 "$run/logs/lb.log" "$run/lb/error.log" 2>/dev/null >&2
        cmd_stop
        die "$lb did not answer /healthz on port $lb_port"
    }
    cat <<MSG

定考, $nodes examd nodes behind $lb:
  balancer        http://127.0.0.1:$lb_port   (config $run/lb/$lb.conf)
  nodes           $(node_addrs | paste -sd' ')
  logs            $run/logs/  (balancer access log: $run/lb/access.log)
  crash a node    $0 kill 1
  stop            $0 stop
MSG
}

cmd_status() {
    local rc=0 i pid
    for ((i = 1; i <= nodes; i++)); do
        if pid=$(alive "$run/node$i.pid" examd); then
            printf 'node %-3s pid %-8s 127.0.0.1:%-6s healthz %s\n' "$i" "$pid" \
                "$((node_port + i - 1))" "$(http_code "http://127.0.0.1:$((node_port + i - 1))/healthz")"
        else
            printf 'node %-3s stopped\n' "$i"; rc=1
        fi
    done
    if pid=$(alive "$run/lb.pid" "$(lb_prog)"); then
        printf '%-8s pid %-8s 127.0.0.1:%-6s healthz %s\n' "$lb" "$pid" "$lb_port" \
            "$(http_code "http://127.0.0.1:$lb_port/healthz")"
    else
        printf '%-8s stopped\n' "$lb"; rc=1
    fi
    return $rc
}

cmd_kill() {
    local n=${1:-} pid
    [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= nodes)) || die "usage: run.sh kill N (1..$nodes)"
    pid=$(alive "$run/node$n.pid" examd) || die "node $n is not running"
    kill -KILL "$pid"
    log "node $n (pid $pid) killed with SIGKILL; the balancer sends its requests to the others"
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
kill) cmd_kill "${2:-}" ;;
config) render ;;
*) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
