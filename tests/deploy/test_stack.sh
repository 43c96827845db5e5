#!/usr/bin/env bash
# tests/deploy/test_stack.sh - deploy/stack.sh on two private stacks of its own (never the
# dev stack): `up` twice is harmless, two stacks run side by side (the second with a
# directory too long for a unix socket path), `status` exit codes, stale pid files
# (a dead pid, and a live pid of another program, which must not be signalled), Redis
# data survives down/up (appendonly), and `down` leaves no process of a stack.
# Ports: DK_TEST_REDIS_PORT [27379] DK_TEST_MYSQL_PORT [24306] and the next two.
# Exits 77 (skipped) if the binaries are missing or the ports are taken.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
ra=${DK_TEST_REDIS_PORT:-27379} ma=${DK_TEST_MYSQL_PORT:-24306}
rb=$((ra + 1)) mb=$((ma + 1))

skip() { echo "SKIP test_stack: $*" >&2; exit 77; }
fail() { echo "FAIL test_stack: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

for b in redis-server redis-cli mariadbd mariadb mariadb-admin mariadb-install-db flock setsid; do
    command -v "$b" >/dev/null || skip "$b is not installed (deploy/setup.sh)"
done
for p in "$ra" "$ma" "$rb" "$mb"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        skip "port $p is in use (set DK_TEST_REDIS_PORT / DK_TEST_MYSQL_PORT)"
    fi
done

base=$(mktemp -d "${TMPDIR:-/tmp}/dk-test-stack.XXXXXX")
A=$base/a
# long enough that $B/mysql/mysqld.sock does not fit in a unix socket path
B=$base/$(printf 'a-directory-name-long-enough-%s/' 1 2 3 4)b
sleeper=
cleanup() {
    local rc=$?
    sA down >/dev/null 2>&1 || true
    sB down >/dev/null 2>&1 || true
    [[ -n $sleeper ]] && kill "$sleeper" 2>/dev/null
    if ((rc != 0)); then
        for f in "$A"/redis/redis.log "$A"/mysql/error.log "$B"/mysql/error.log; do
            [[ -f $f ]] && { echo "---- $f" >&2; tail -n 15 "$f" >&2; }
        done
    fi
    rm -rf "$base"
    return 0
}
trap cleanup EXIT

stack() { # DIR REDIS_PORT MYSQL_PORT CMD...
    local dir=$1 rp=$2 mp=$3; shift 3
    env -u DK_MYSQL_SOCKET -u DK_SCHEMA_DIR -u DK_REDIS_APPENDFSYNC DK_STACK_DIR="$dir" \
        DK_REDIS_PORT="$rp" DK_MYSQL_PORT="$mp" DK_MYSQL_USER=dingkao \
        DK_MYSQL_PASSWORD=test-pw DK_MYSQL_DB=dingkao DK_STACK_TIMEOUT=30 \
        "$repo/deploy/stack.sh" "$@"
}
sA() { stack "$A" "$ra" "$ma" "$@"; }
sB() { stack "$B" "$rb" "$mb" "$@"; }
pidof_file() { local p=; [[ -f $1 ]] && read -r p <"$1"; printf '%s' "$p"; }
# A process that has exited but is not reaped yet (a zombie: init reaps lazily on some
# machines) is not alive.
alive() {
    local st
    [[ -n $1 ]] && kill -0 "$1" 2>/dev/null || return 1
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ -n $st && $st != Z && $st != X ]]
}
redisA() { redis-cli -h 127.0.0.1 -p "$ra" "$@"; }
app_sql() { # PORT SQL
    MYSQL_PWD=test-pw mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$1" -u dingkao \
        --batch --skip-column-names dingkao -e "$2"
}
t0=$SECONDS

# ---- a fresh stack ---------------------------------------------------------------
if sA status >"$base/st0" 2>&1; then fail "status of a stack never started exited 0"; fi
grep -q stopped "$base/st0" || fail "status does not say stopped: $(cat "$base/st0")"
ok "status of a stopped stack exits 1 and says stopped"

sA up >"$base/up1" 2>&1 || { cat "$base/up1" >&2; fail "first up failed"; }
sA status >"$base/st1" 2>&1 || { cat "$base/st1" >&2; fail "status after up exited non-zero"; }
rpid=$(pidof_file "$A/redis/redis.pid") mpid=$(pidof_file "$A/mysql/mariadbd.pid")
alive "$rpid" && alive "$mpid" || fail "pid files do not name live processes ($rpid, $mpid)"
[[ $(app_sql "$ma" 'SELECT COUNT(*) FROM schema_migrations') -ge 1 ]] ||
    fail "the app user cannot read schema_migrations over TCP"
[[ $(redisA set dk:test:durable yes) == OK ]] || fail "cannot write to redis"
ok "up starts redis (pid $rpid) and mariadb (pid $mpid), creates the app user, migrates"

sA up >"$base/up2" 2>&1 || { cat "$base/up2" >&2; fail "second up failed"; }
grep -q 'already running' "$base/up2" || fail "second up did not notice the running daemons"
[[ $(pidof_file "$A/redis/redis.pid") == "$rpid" && $(pidof_file "$A/mysql/mariadbd.pid") == "$mpid" ]] ||
    fail "second up replaced the running daemons"
ok "up twice is harmless (same pids, migrations up to date)"

# down (or up) with other ports than the stack was started with: the pid file names our
# live redis on another port; it is neither signalled nor forgotten
other=$((ra + 7))
if stack "$A" "$other" "$ma" down >"$base/down-other" 2>&1; then fail "down with another redis port succeeded"; fi
grep -q "was this stack started with other" "$base/down-other" || { cat "$base/down-other" >&2; fail "down with another port: no clear message"; }
alive "$rpid" || fail "down with another port stopped redis"
[[ $(pidof_file "$A/redis/redis.pid") == "$rpid" ]] || fail "down with another port removed the pid file"
ok "down with other ports than up's refuses, names the running redis, keeps its pid file"

# ---- a second stack side by side, socket moved to /tmp ------------------------------
sB up >"$base/upB" 2>&1 || { cat "$base/upB" >&2; fail "up of the second stack failed"; }
grep -q 'too long for a unix socket' "$base/upB" || fail "the long directory was not noticed"
sB status >"$base/stB" 2>&1 || { cat "$base/stB" >&2; fail "status of the second stack"; }
sock=$(awk '$1 == "mariadb" { print $NF }' "$base/stB")
[[ $sock == /tmp/dk-mysqld-*.sock && -S $sock ]] || fail "second stack socket is not under /tmp: $sock"
sA status >/dev/null 2>&1 || fail "the first stack stopped when the second started"
[[ $(app_sql "$mb" 'SELECT 1') == 1 && $(redis-cli -p "$rb" ping) == PONG ]] ||
    fail "second stack does not answer"
rpidB=$(pidof_file "$B/redis/redis.pid") mpidB=$(pidof_file "$B/mysql/mariadbd.pid")
[[ $rpidB != "$rpid" && $mpidB != "$mpid" ]] || fail "the stacks share a process"
sB down >"$base/downB" 2>&1 || { cat "$base/downB" >&2; fail "down of the second stack failed"; }
alive "$rpidB" && fail "redis of the second stack still runs after down"
alive "$mpidB" && fail "mariadbd of the second stack still runs after down"
[[ -e $sock ]] && fail "down left the socket $sock"
sA status >/dev/null 2>&1 || fail "down of the second stack touched the first"
ok "two stacks side by side (second socket $sock); down of one leaves the other"

# ---- down ------------------------------------------------------------------------
sA down >"$base/down1" 2>&1 || { cat "$base/down1" >&2; fail "down failed"; }
alive "$rpid" && fail "redis (pid $rpid) still runs after down"
alive "$mpid" && fail "mariadbd (pid $mpid) still runs after down"
[[ -e $A/redis/redis.pid || -e $A/mysql/mariadbd.pid ]] && fail "down left pid files"
if sA status >/dev/null 2>&1; then fail "status after down exited 0"; fi
sA down >"$base/down2" 2>&1 || fail "down of a stopped stack failed"
ok "down stops both pids; down again is harmless; status exits 1"

# ---- stale pid files ----------------------------------------------------------------
sleep 300 >/dev/null 2>&1 &
sleeper=$!
true &
dead=$!
wait "$dead" || true
echo "$sleeper" >"$A/redis/redis.pid"   # alive, but not our redis-server
echo "$dead" >"$A/mysql/mariadbd.pid"   # gone
if sA status >"$base/st2" 2>&1; then fail "status counted bogus pids as running"; fi
sA down >"$base/down3" 2>&1 || { cat "$base/down3" >&2; fail "down with stale pid files failed"; }
alive "$sleeper" || fail "down signalled a process that is not ours (pid $sleeper)"
echo "$sleeper" >"$A/redis/redis.pid"
echo "$dead" >"$A/mysql/mariadbd.pid"
sA up >"$base/up3" 2>&1 || { cat "$base/up3" >&2; fail "up with stale pid files failed"; }
grep -q 'stale pid file' "$base/up3" || fail "up did not report the stale pid files"
alive "$sleeper" || fail "up signalled a process that is not ours (pid $sleeper)"
sA status >/dev/null 2>&1 || fail "status after up with stale pid files"
rpid=$(pidof_file "$A/redis/redis.pid") mpid=$(pidof_file "$A/mysql/mariadbd.pid")
[[ $rpid != "$sleeper" && $mpid != "$dead" ]] || fail "pid files were not rewritten"
[[ $(redisA get dk:test:durable) == yes ]] || fail "redis lost a key across down/up (appendonly)"
[[ $(redisA config get appendfsync | tail -n 1) == everysec ]] || fail "appendfsync is not everysec"
ok "stale pid files (dead pid, foreign live pid) are removed, never signalled; data kept"

# ---- a killed daemon -------------------------------------------------------------------
kill -KILL "$mpid"
while alive "$mpid"; do sleep 0.1; done
if sA status >/dev/null 2>&1; then fail "status exited 0 with mariadbd killed"; fi
sA up >"$base/up4" 2>&1 || { cat "$base/up4" >&2; fail "up after kill -9 of mariadbd failed"; }
mpid=$(pidof_file "$A/mysql/mariadbd.pid")
sA status >/dev/null 2>&1 || fail "status after restarting a killed mariadbd"
ok "up after kill -9 of mariadbd restarts it"

sA down >"$base/down4" 2>&1 || { cat "$base/down4" >&2; fail "final down failed"; }
alive "$rpid" && fail "redis (pid $rpid) still runs after the final down"
alive "$mpid" && fail "mariadbd (pid $mpid) still runs after the final down"
left=$(pgrep -f -- "$base" || true)
[[ -z $left ]] || fail "processes of the test stacks are still running: $left"
alive "$sleeper" || fail "the unrelated process died"
ok "no process of either stack is left"

echo "PASS test_stack ($((SECONDS - t0)) s)"
