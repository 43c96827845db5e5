#!/usr/bin/env bash
# deploy/run.sh - the system on this machine with demo data, in one command:
# installs dependencies, builds (release), starts the stack (deploy/stack.sh), loads
# the demo data, starts the servers in the background and prints where they listen.
#   deploy/run.sh          start (or restart the servers of) everything
#   deploy/run.sh stop     stop the servers and the stack
#   deploy/run.sh status   what is running
#   deploy/run.sh config FILE   write the configuration a first run makes, and nothing else
# Settings: .stack/dingkao.conf (made on first run with a random token secret) and
# DK_<KEY> variables; logs in .stack/logs/.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(dirname "$here")
cd "$repo"
export DK_STACK_DIR=${DK_STACK_DIR:-$repo/.stack}
run="$DK_STACK_DIR/run"; logs="$DK_STACK_DIR/logs"
servers=(exam-engine/examd admin/admind)
# each server's static pages (the exam page; the console)
web_of() { case $1 in exam-engine/examd) echo "$repo/exam-engine/web" ;; admin/admind) echo "$repo/admin/web" ;; esac; }

stop_servers() {
    for s in "${servers[@]}"; do
        local pidf="$run/$(basename "$s").pid"
        [ -f "$pidf" ] || continue
        local pid; pid=$(cat "$pidf")
        if kill -0 "$pid" 2>/dev/null && grep -q "$(basename "$s")" "/proc/$pid/cmdline" 2>/dev/null; then
            kill -TERM "$pid"
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
        fi
        rm -f "$pidf"
    done
}

# The configuration of a first run. The face models are the ones shipped in proctor/models
# (proctor_model_dir left empty): nothing here reads ../shared, which an operator does not have.
write_conf() { # FILE
    local secret; secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
    cat > "$1" <<CONF
# made by deploy/run.sh on $(date -u +%F); every key is listed in common/dk_config.c
token_secret = $secret
redis_port = ${DK_REDIS_PORT:-16379}
mysql_port = ${DK_MYSQL_PORT:-13306}
data_dir = $DK_STACK_DIR/data
# face models: empty = the ones shipped in proctor/models (checked by sha256 before loading)
proctor_model_dir =
CONF
    chmod 600 "$1"
}

case "${1:-start}" in
config) [ -n "${2:-}" ] || { echo "usage: deploy/run.sh config FILE" >&2; exit 2; }
    write_conf "$2"; exit 0 ;;
stop) stop_servers; "$here/stack.sh" down; exit 0 ;;
status)
    for s in "${servers[@]}"; do
        pidf="$run/$(basename "$s").pid"
        if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then echo "$(basename "$s"): running (pid $(cat "$pidf"))"
        else echo "$(basename "$s"): stopped"; fi
    done
    exec "$here/stack.sh" status ;;
start) ;;
*) echo "usage: deploy/run.sh [start|stop|status|config FILE]" >&2; exit 2 ;;
esac

echo "== setup (Debian packages)"
"$here/setup.sh"
echo "== build (release) in build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDK_SANITIZE=OFF -DDK_TSAN=OFF >/dev/null
cmake --build build -j"$(nproc)"
echo "== stack"
"$here/stack.sh" up
mkdir -p "$run" "$logs" "$DK_STACK_DIR/data"
conf="$DK_STACK_DIR/dingkao.conf"
[ -f "$conf" ] || write_conf "$conf"
export DK_CONFIG="$conf"
echo "== demo data"
DK_BUILD_DIR="$repo/build" "$here/demo/load.sh"

echo "== servers"
stop_servers
wait_healthy() { # name port
    local code=
    for _ in $(seq 150); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$2/healthz" || true)
        [ "$code" = 200 ] && return 0
        sleep 0.2
    done
    echo "$1 did not become healthy (last /healthz: $code); see $logs/$1.log" >&2
    return 1
}
exam_port=${DK_EXAM_PORT:-18080}
admin_port=${DK_ADMIN_PORT:-18081}
# the exam page calls admind for the physician's registration: where admind is, and that
# the page's origin may call it (CORS), follow the ports
export DK_ADMIN_URL=${DK_ADMIN_URL:-http://127.0.0.1:$admin_port}
export DK_HTTP_CORS_ORIGINS=${DK_HTTP_CORS_ORIGINS:-http://127.0.0.1:$exam_port,http://localhost:$exam_port}
for s in "${servers[@]}"; do
    [ -x "build/$s" ] || { echo "skipping $s: not built" >&2; continue; }
    name=$(basename "$s")
    DK_WEB_ROOT=$(web_of "$s") nohup "build/$s" >>"$logs/$name.log" 2>&1 &
    echo $! > "$run/$name.pid"
done
wait_healthy examd "$exam_port"
[ -x build/admin/admind ] && wait_healthy admind "$admin_port"
cat <<MSG

定考 is running:
  exam page + API (examd)   http://127.0.0.1:$exam_port/      (GET /healthz, /metrics, /api/v1/...)
  console + API (admind)    http://127.0.0.1:$admin_port/
  logs                      $logs/
  demo accounts             physicians 140105H0000100001 … 00006 (or their ID numbers),
                            institutions 140105H00001, 140100H00002 (考核机构),
                            authorities sx-admin, ty-admin, xd-admin — all with password 666666
                            (the first login asks for a new one)
  stop everything           deploy/run.sh stop
MSG
