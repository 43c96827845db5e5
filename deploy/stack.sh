#!/usr/bin/env bash
# deploy/stack.sh - a private Redis and MariaDB for one checkout (or one test run).
#
#   deploy/stack.sh up | down | status | env | sql [mariadb args...]
#
# Our own daemons, never the system's services: everything lives under $DK_STACK_DIR
# (data, logs, pid files, the socket), they listen on 127.0.0.1 only, on their own
# ports, so several stacks run side by side (the dev one on the defaults, a test one
# with another DK_STACK_DIR and other ports). A daemon is "ours" when the pid in its
# pid file is alive, is the right program and carries our port (redis) or datadir
# (mariadbd); a live redis-server / mariadbd with another port or datadir makes up and
# down refuse (the stack was started with other DK_* ports); anything else in a pid file
# is stale and is removed, never signalled.
#
# Environment (defaults in brackets):
#   DK_STACK_DIR [$repo/.stack]  DK_REDIS_PORT [16379]  DK_MYSQL_PORT [13306]
#   DK_MYSQL_USER [dingkao]  DK_MYSQL_PASSWORD [dingkao-dev]  DK_MYSQL_DB [dingkao]
#   DK_REDIS_APPENDFSYNC [everysec, from deploy/redis.conf]  DK_STACK_TIMEOUT [60]
#   DK_REDIS_CONF [deploy/redis.conf]  DK_MARIADB_CNF [deploy/mariadb.cnf]
#
# `up` starts what is not running, waits until both answer, creates the database and
# the app user (at 127.0.0.1 and localhost) and runs deploy/migrate.sh. `down` stops
# both (SIGKILL after the timeout). `status` exits 0 only if both answer. `env` prints
# export lines for this stack; `sql` opens an admin client (unix_socket auth as the
# current OS user) over the stack's socket.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(dirname "$here")

DK_STACK_DIR=${DK_STACK_DIR:-$repo/.stack}
DK_REDIS_PORT=${DK_REDIS_PORT:-16379}
DK_MYSQL_PORT=${DK_MYSQL_PORT:-13306}
DK_MYSQL_USER=${DK_MYSQL_USER:-dingkao}
DK_MYSQL_PASSWORD=${DK_MYSQL_PASSWORD:-dingkao-dev}
DK_MYSQL_DB=${DK_MYSQL_DB:-dingkao}
DK_STACK_TIMEOUT=${DK_STACK_TIMEOUT:-60}
DK_REDIS_CONF=${DK_REDIS_CONF:-$here/redis.conf}
DK_MARIADB_CNF=${DK_MARIADB_CNF:-$here/mariadb.cnf}
DK_STACK_DIR=$(realpath -m -- "$DK_STACK_DIR")

log() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

check_port() {
    [[ $2 =~ ^[0-9]{1,5}$ ]] && (($2 >= 1 && $2 <= 65535)) || die "$1=$2 is not a port number"
}
check_port DK_REDIS_PORT "$DK_REDIS_PORT"
check_port DK_MYSQL_PORT "$DK_MYSQL_PORT"
[[ $DK_REDIS_PORT != "$DK_MYSQL_PORT" ]] || die "DK_REDIS_PORT and DK_MYSQL_PORT are both $DK_MYSQL_PORT"
[[ $DK_MYSQL_USER =~ ^[A-Za-z0-9_]{1,32}$ ]] || die "DK_MYSQL_USER must match [A-Za-z0-9_]{1,32}"
[[ $DK_MYSQL_DB =~ ^[A-Za-z0-9_]{1,64}$ ]] || die "DK_MYSQL_DB must match [A-Za-z0-9_]{1,64}"
[[ $DK_STACK_TIMEOUT =~ ^[0-9]+$ ]] || die "DK_STACK_TIMEOUT must be a number of seconds"

me=$(id -un)
redis_dir=$DK_STACK_DIR/redis
redis_conf=$redis_dir/redis.conf
redis_pidf=$redis_dir/redis.pid
redis_log=$redis_dir/redis.log
my_dir=$DK_STACK_DIR/mysql
my_data=$my_dir/data
my_tmp=$my_dir/tmp
my_pidf=$my_dir/mariadbd.pid
my_log=$my_dir/error.log

# A unix socket path must stay under 107 bytes (sun_path is 108 with the NUL).
my_sock=$my_dir/mysqld.sock
sock_note=
if (( $(LC_ALL=C; printf '%s' "$my_sock" | wc -c) >= 107 )); then
    my_sock=/tmp/dk-mysqld-$(printf '%s' "$DK_STACK_DIR" | sha256sum | cut -c1-16).sock
    sock_note="DK_STACK_DIR is too long for a unix socket path; the socket is $my_sock"
fi

# ---- processes -------------------------------------------------------------------

# The executable behind a program name (Debian's redis-server is a symlink to
# redis-check-rdb, and /proc/PID/exe shows the target).
real_exe() { local p; p=$(command -v "$1" 2>/dev/null) && realpath -e -- "$p" 2>/dev/null || true; }
redis_exe=$(real_exe redis-server)
mysql_exe=$(real_exe mariadbd)

# proc_is PID PROGRAM PATTERN: PID is alive, runs PROGRAM (its executable has that
# name or is the file the name resolves to) and its command line matches the
# extended regex PATTERN.
proc_is() {
    local pid=$1 prog=$2 pat=$3 exe cmd want
    [[ $pid =~ ^[0-9]+$ ]] && ((pid > 1)) || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    exe=${exe% (deleted)}
    case $prog in redis-server) want=$redis_exe ;; mariadbd) want=$mysql_exe ;; *) want= ;; esac
    [[ ${exe##*/} == "$prog" || (-n $want && $exe == "$want") ]] || return 1
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmd =~ $pat ]]
}

read_pidfile() { # prints the first line of a pid file, or nothing
    local p=
    [[ -f $1 ]] && read -r p <"$1" 2>/dev/null || true
    printf '%s' "$p"
}

ere_quote() { printf '%s' "$1" | sed 's/[][\.|$(){}?+*^]/\\&/g'; }
redis_pat=":$DK_REDIS_PORT( |\$)"
my_pat="--datadir=$(ere_quote "$my_data")( |\$)"

redis_pid() { local p; p=$(read_pidfile "$redis_pidf"); proc_is "$p" redis-server "$redis_pat" && echo "$p"; }
mysql_pid() { local p; p=$(read_pidfile "$my_pidf"); proc_is "$p" mariadbd "$my_pat" && echo "$p"; }

# A pid file naming a live process of our program that is not ours by its port or data
# directory: most likely this stack was started with other DK_REDIS_PORT / DK_MYSQL_PORT.
# Neither signalled nor forgotten (removing its pid file would leave it running unseen).
refuse_foreign() { # PIDFILE PROGRAM WHAT
    local p
    p=$(read_pidfile "$1")
    proc_is "$p" "$2" "." || return 0
    die "$1 names a running $2 (pid $p) that is not on $3: was this stack started with other" \
        "DK_REDIS_PORT / DK_MYSQL_PORT? Run stack.sh with those, or stop pid $p yourself"
}

redis_cli() { redis-cli -h 127.0.0.1 -p "$DK_REDIS_PORT" "$@"; }
redis_ping() { [[ $(redis_cli ping 2>/dev/null) == PONG ]]; }
# The Redis answering on our port is the process of our pid file.
redis_is_ours() {
    local want=$1 got
    got=$(redis_cli info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')
    [[ $got == "$want" ]]
}

mysql_admin() { mariadb --no-defaults --socket="$my_sock" --user="$me" --default-character-set=utf8mb4 "$@"; }
mysql_ping() {
    mariadb-admin --no-defaults --socket="$my_sock" --user="$me" --connect-timeout=2 ping \
        >/dev/null 2>&1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

log_tail() { # FILE: the last lines of a log, indented, on stderr
    [[ -f $1 ]] && { echo "---- last lines of $1:"; tail -n 25 "$1" | sed 's/^/    /'; } >&2
    return 0
}

# wait_until SECONDS CMD...: polls CMD every 0.2 s.
wait_until() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# ---- redis -----------------------------------------------------------------------

redis_up() {
    local pid
    mkdir -p "$redis_dir"
    if pid=$(redis_pid); then
        wait_until "$DK_STACK_TIMEOUT" redis_ping ||
            { log_tail "$redis_log"; die "redis (pid $pid) runs but does not answer on port $DK_REDIS_PORT"; }
        redis_is_ours "$pid" || die "port $DK_REDIS_PORT answers for another Redis than pid $pid"
        log "redis already running (pid $pid, port $DK_REDIS_PORT)"
        return 0
    fi
    refuse_foreign "$redis_pidf" redis-server "port $DK_REDIS_PORT"
    if [[ -e $redis_pidf ]]; then
        log "redis: removing stale pid file (pid '$(read_pidfile "$redis_pidf")' is not our redis-server)"
        rm -f "$redis_pidf"
    fi
    port_in_use "$DK_REDIS_PORT" && die "port $DK_REDIS_PORT is already in use by another process (set DK_REDIS_PORT)"
    [[ -r $DK_REDIS_CONF ]] || die "cannot read $DK_REDIS_CONF"
    {
        echo "# written by deploy/stack.sh; edit $DK_REDIS_CONF instead"
        echo "include \"$DK_REDIS_CONF\""
        echo "bind 127.0.0.1"
        echo "port $DK_REDIS_PORT"
        echo "daemonize yes"
        echo "dir \"$redis_dir\""
        echo "pidfile \"$redis_pidf\""
        echo "logfile \"$redis_log\""
        [[ -n ${DK_REDIS_APPENDFSYNC:-} ]] && echo "appendfsync $DK_REDIS_APPENDFSYNC"
        true
    } >"$redis_conf"
    if ! redis-server "$redis_conf" </dev/null >"$redis_dir/start.out" 2>&1 9>&-; then
        log_tail "$redis_dir/start.out"; log_tail "$redis_log"
        die "redis-server did not start"
    fi
    if ! wait_until "$DK_STACK_TIMEOUT" redis_started; then
        log_tail "$redis_dir/start.out"; log_tail "$redis_log"
        die "redis did not answer on port $DK_REDIS_PORT within ${DK_STACK_TIMEOUT}s"
    fi
    log "redis started (pid $(redis_pid), port $DK_REDIS_PORT, dir $redis_dir)"
}
redis_started() { local p; p=$(redis_pid) && redis_ping && redis_is_ours "$p"; }

# ---- mariadb ---------------------------------------------------------------------

# deploy/mariadb.cnf's [mariadbd] lines become --key=value options (mariadbd runs
# with --no-defaults so no other option file is read).
cnf_args() {
    local line in=0
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%%#*}
        line=$(printf '%s' "$line" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
        [[ -z $line ]] && continue
        if [[ $line =~ ^\[(.*)\]$ ]]; then
            case ${BASH_REMATCH[1]} in mariadbd | mysqld | server) in=1 ;; *) in=0 ;; esac
            continue
        fi
        ((in)) || continue
        if [[ $line =~ ^([A-Za-z0-9_-]+)[[:space:]]*=[[:space:]]*(.*)$ ]]; then
            printf -- '--%s=%s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
        else
            printf -- '--%s\n' "$line"
        fi
    done <"$DK_MARIADB_CNF"
}

mysql_up() {
    local pid user_opt=() args=() spawned log_from
    mkdir -p "$my_dir" "$my_tmp"
    [[ -n $sock_note ]] && log "$sock_note"
    if pid=$(mysql_pid); then
        wait_until "$DK_STACK_TIMEOUT" mysql_ping ||
            { log_tail "$my_log"; die "mariadbd (pid $pid) runs but does not answer on $my_sock"; }
        log "mariadb already running (pid $pid, port $DK_MYSQL_PORT)"
        return 0
    fi
    refuse_foreign "$my_pidf" mariadbd "datadir $my_data"
    if [[ -e $my_pidf ]]; then
        log "mariadb: removing stale pid file (pid '$(read_pidfile "$my_pidf")' is not our mariadbd)"
        rm -f "$my_pidf"
    fi
    port_in_use "$DK_MYSQL_PORT" && die "port $DK_MYSQL_PORT is already in use by another process (set DK_MYSQL_PORT)"
    # A socket file left by a killed server of ours would make mariadbd refuse to start.
    if [[ -S $my_sock ]] && ! mysql_ping; then rm -f "$my_sock" "$my_sock.lock"; fi
    ((EUID == 0)) && user_opt=(--user=root)

    if [[ ! -f $my_dir/.installed ]]; then
        log "mariadb: initialising $my_data"
        rm -rf "$my_data"
        mkdir -p "$my_data"
        if ! mariadb-install-db --no-defaults --datadir="$my_data" --tmpdir="$my_tmp" \
            --auth-root-authentication-method=socket --auth-root-socket-user="$me" \
            --skip-test-db --skip-name-resolve "${user_opt[@]}" \
            </dev/null >"$my_dir/install.log" 2>&1 9>&-; then
            log_tail "$my_dir/install.log"
            die "mariadb-install-db failed"
        fi
        touch "$my_dir/.installed"
    fi

    [[ -r $DK_MARIADB_CNF ]] || die "cannot read $DK_MARIADB_CNF"
    mapfile -t args < <(cnf_args)
    args+=(--datadir="$my_data" --tmpdir="$my_tmp" --bind-address=127.0.0.1
        --port="$DK_MYSQL_PORT" --socket="$my_sock" --pid-file="$my_pidf"
        --log-error="$my_log" "${user_opt[@]}")
    log_from=$(($( [[ -f $my_log ]] && wc -l <"$my_log" || echo 0) + 1))
    setsid mariadbd --no-defaults "${args[@]}" </dev/null >>"$my_dir/mariadbd.out" 2>&1 9>&- &
    spawned=$!
    disown "$spawned" 2>/dev/null || true
    local deadline=$((SECONDS + DK_STACK_TIMEOUT))
    until mysql_pid >/dev/null && mysql_ping; do
        if ! kill -0 "$spawned" 2>/dev/null && ! mysql_pid >/dev/null; then
            sleep 1
            mysql_pid >/dev/null || {
                log_tail "$my_log"
                die "mariadbd exited during start-up (see $my_log from line $log_from)"
            }
        fi
        if ((SECONDS >= deadline)); then
            log_tail "$my_log"
            die "mariadb did not answer on $my_sock within ${DK_STACK_TIMEOUT}s"
        fi
        sleep 0.2
    done
    log "mariadb started (pid $(mysql_pid), port $DK_MYSQL_PORT, socket $my_sock)"
}

sql_string() { # a single-quoted SQL string literal
    local s=${1//\\/\\\\}
    printf "'%s'" "${s//\'/\'\'}"
}

mysql_bootstrap() {
    local pw db=$DK_MYSQL_DB u=$DK_MYSQL_USER
    pw=$(sql_string "$DK_MYSQL_PASSWORD")
    mysql_admin --batch <<SQL || die "could not create database $db / user $u"
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$u'@'127.0.0.1' IDENTIFIED BY $pw;
CREATE USER IF NOT EXISTS '$u'@'localhost' IDENTIFIED BY $pw;
ALTER USER '$u'@'127.0.0.1' IDENTIFIED BY $pw;
ALTER USER '$u'@'localhost' IDENTIFIED BY $pw;
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$u'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$u'@'localhost';
SQL
}

# ---- stop ------------------------------------------------------------------------

# stop_daemon NAME PIDFILE PIDFN PROGRAM PATTERN: SIGTERM (after a polite redis
# SHUTDOWN), SIGKILL once the timeout has passed; signals only a pid that is ours and
# waits for that process itself to end (redis removes its pid file before it exits).
stop_daemon() {
    local name=$1 pidf=$2 pidfn=$3 prog=$4 pat=$5 pid
    if ! pid=$($pidfn); then
        if [[ -e $pidf ]]; then
            log "$name: not running; removing stale pid file (pid '$(read_pidfile "$pidf")')"
            rm -f "$pidf"
        else
            log "$name: not running"
        fi
        return 0
    fi
    if [[ $name == redis ]] && redis_is_ours "$pid"; then
        redis_cli shutdown >/dev/null 2>&1 || true
    fi
    proc_is "$pid" "$prog" "$pat" && kill -TERM "$pid" 2>/dev/null || true
    if ! wait_until "$DK_STACK_TIMEOUT" pid_gone "$pid" "$prog" "$pat"; then
        log "$name (pid $pid) did not stop within ${DK_STACK_TIMEOUT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_until 10 pid_gone "$pid" "$prog" "$pat" || die "$name (pid $pid) survived SIGKILL"
    fi
    rm -f "$pidf"
    log "$name stopped (pid $pid)"
}
pid_gone() { ! proc_is "$@"; }

# ---- commands --------------------------------------------------------------------

lock_stack() {
    mkdir -p "$DK_STACK_DIR"
    exec 9>>"$DK_STACK_DIR/.lock"
    flock -w $((DK_STACK_TIMEOUT * 3)) 9 || die "another stack.sh holds $DK_STACK_DIR/.lock"
}

cmd_up() {
    for b in redis-server redis-cli mariadbd mariadb mariadb-admin mariadb-install-db; do
        command -v "$b" >/dev/null || die "$b not found: run deploy/setup.sh"
    done
    lock_stack
    # Both ports first, so that a taken one stops us before anything starts.
    if ! redis_pid >/dev/null && port_in_use "$DK_REDIS_PORT"; then
        die "port $DK_REDIS_PORT is already in use by another process (set DK_REDIS_PORT)"
    fi
    if ! mysql_pid >/dev/null && port_in_use "$DK_MYSQL_PORT"; then
        die "port $DK_MYSQL_PORT is already in use by another process (set DK_MYSQL_PORT)"
    fi
    redis_up
    mysql_up
    mysql_bootstrap
    env -u DK_MYSQL_SOCKET DK_MYSQL_HOST=127.0.0.1 DK_MYSQL_PORT="$DK_MYSQL_PORT" \
        DK_MYSQL_USER="$DK_MYSQL_USER" DK_MYSQL_PASSWORD="$DK_MYSQL_PASSWORD" \
        DK_MYSQL_DB="$DK_MYSQL_DB" "$here/migrate.sh" 9>&- ||
        die "migrations failed"
    log "up: redis 127.0.0.1:$DK_REDIS_PORT, mariadb 127.0.0.1:$DK_MYSQL_PORT db $DK_MYSQL_DB ($DK_STACK_DIR)"
}

cmd_down() {
    [[ -d $DK_STACK_DIR ]] || { log "down: $DK_STACK_DIR does not exist; nothing runs"; return 0; }
    lock_stack
    # stop nothing when either pid file names a daemon of another port / data directory
    mysql_pid >/dev/null || refuse_foreign "$my_pidf" mariadbd "datadir $my_data"
    redis_pid >/dev/null || refuse_foreign "$redis_pidf" redis-server "port $DK_REDIS_PORT"
    stop_daemon mariadb "$my_pidf" mysql_pid mariadbd "$my_pat"
    [[ -S $my_sock ]] && rm -f "$my_sock" "$my_sock.lock"
    stop_daemon redis "$redis_pidf" redis_pid redis-server "$redis_pat"
}

cmd_status() {
    local rc=0 pid state
    if pid=$(redis_pid); then
        redis_ping && state=running || { state="not answering"; rc=1; }
    else
        state=stopped pid=-; rc=1
    fi
    printf '%-8s %-14s pid %-8s port %-6s %s\n' redis "$state" "$pid" "$DK_REDIS_PORT" "$redis_dir"
    if pid=$(mysql_pid); then
        mysql_ping && state=running || { state="not answering"; rc=1; }
    else
        state=stopped pid=-; rc=1
    fi
    printf '%-8s %-14s pid %-8s port %-6s %s\n' mariadb "$state" "$pid" "$DK_MYSQL_PORT" "$my_sock"
    return $rc
}

cmd_env() {
    printf 'export DK_STACK_DIR=%q\n' "$DK_STACK_DIR"
    printf 'export DK_REDIS_HOST=127.0.0.1 DK_REDIS_PORT=%q\n' "$DK_REDIS_PORT"
    printf 'export DK_MYSQL_HOST=127.0.0.1 DK_MYSQL_PORT=%q\n' "$DK_MYSQL_PORT"
    printf 'export DK_MYSQL_USER=%q DK_MYSQL_PASSWORD=%q DK_MYSQL_DB=%q\n' \
        "$DK_MYSQL_USER" "$DK_MYSQL_PASSWORD" "$DK_MYSQL_DB"
    printf '# admin socket (unix_socket auth as %s): %s\n' "$me" "$my_sock"
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
sql) shift; mysql_admin "$@" ;;
-h | --help | help) usage ;;
*) usage ;;
esac
