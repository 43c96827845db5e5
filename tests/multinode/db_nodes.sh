# tests/multinode/db_nodes.sh - private MariaDB servers for the tests of this folder: one
# server, or a Galera cluster of three nodes on loopback. Each node is a deploy/stack.sh
# stack of its own under $DB_DIR (node 1's stack also gives the test its private Redis),
# loaded with the schema (stack.sh runs deploy/migrate.sh) and the demo data
# (deploy/demo/load.sh). Sourced BEFORE tests/lib/fixture.sh, which reads DK_REDIS_PORT and
# DK_MYSQL_PORT when it is sourced; after fx_init, call db_trap so that one EXIT trap
# stops the examd processes (fx_cleanup) and every server, and deletes both folders.
#
#   db_init NAME EXAMD     makes $DB_DIR, sets the EXIT trap (db_down)
#   db_single_up           one MariaDB and the Redis; exports DK_MYSQL_PORT, DK_REDIS_PORT
#   db_galera_up           three Galera nodes: node 1 bootstraps the cluster, 2 and 3 join
#                          it (rsync state transfer); waits until all three say
#                          wsrep_cluster_size=3, wsrep_ready=ON, Synced; exports as above
#                          (DK_MYSQL_PORT = node 1) and DB_HOSTS (the nodes as mysql_hosts)
#   DB_PORT[i]             MariaDB port of node i (1..3)
#   db_sql I SQL           SQL on node I as the app user, tab-separated rows
#   db_status I VAR        SHOW GLOBAL STATUS value of VAR on node I
#   db_kill9 I             kill -9 the mariadbd of node I
#   db_start I             start node I again (a Galera node rejoins the cluster)
#   db_fx_on I             fx_sql and the other fixture helpers talk to node I from now on
#   db_trap                (after fx_init) one EXIT trap for the fixture and the servers
# DB_KEEP=1 keeps $DB_DIR (the servers' data and logs) for a post-mortem.
set -u
DB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
DB_REPO=$(cd "$DB_HERE/../.." && pwd -P)
DB_DIR=
DB_NODES=0
DB_GALERA=0
DB_HOSTS=
declare -A DB_PORT=() DB_GPORT=() DB_IST=() DB_SST=() DB_RPORT=()
DB_TAKEN=" "

db_die() { echo "FAIL: $*"; exit 1; }

db_free_port() { # a free loopback port not handed out before in this test
    local p
    for _ in $(seq 100); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        [[ $DB_TAKEN == *" $p "* ]] && continue
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
        DB_TAKEN+="$p "
        echo "$p"
        return 0
    done
    db_die "no free port"
}

db_init() { # NAME EXAMD
    local t
    for t in mariadbd mariadb redis-server; do
        command -v "$t" >/dev/null || { echo "SKIP: $t is not installed (deploy/setup.sh)"; exit 77; }
    done
    [ -x "${2:-}" ] || { echo "SKIP: examd is not built at ${2:-}"; exit 77; }
    DB_BUILD=$(cd "$(dirname "$2")/.." && pwd -P)
    DB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dk-$1-db.XXXXXX")
    trap db_down EXIT
}

db_stack() { # I ARGS...: deploy/stack.sh for node I
    local i=$1
    shift
    env -u DK_CONFIG DK_STACK_DIR="$DB_DIR/n$i" DK_REDIS_PORT="${DB_RPORT[$i]}" \
        DK_MYSQL_PORT="${DB_PORT[$i]}" DK_MARIADB_CNF="$DB_DIR/n$i.cnf" DK_STACK_TIMEOUT=120 \
        "$DB_REPO/deploy/stack.sh" "$@"
}

db_sql() { # I SQL
    mariadb --protocol=TCP -h 127.0.0.1 -P "${DB_PORT[$1]}" -u dingkao -pdingkao-dev dingkao \
        --connect-timeout=3 -N -B --init-command="SET time_zone='+00:00'" -e "$2"
}

db_status() { db_sql "$1" "SHOW GLOBAL STATUS LIKE '$2'" 2>/dev/null | cut -f2; }

db_pid() { cat "$DB_DIR/n$1/mysql/mariadbd.pid" 2>/dev/null; }

# The node's options: deploy/mariadb.cnf, smaller (three servers on one small machine),
# and for Galera the wsrep settings. CLUSTER_ADDRESS: gcomm:// bootstraps a new cluster.
db_cnf() { # I [CLUSTER_ADDRESS]
    local i=$1
    {
        cat "$DB_REPO/deploy/mariadb.cnf"
        printf '%s\n' "innodb-buffer-pool-size = 64M" "innodb-log-file-size = 32M" \
            "max-connections = 100"
        if [ "$DB_GALERA" = 1 ]; then
            # Galera: row binlog format, interleaved auto-increment locks; failure
            # detection within a few seconds (the defaults are 5 s suspect, 15 s inactive)
            printf '%s\n' "wsrep-on = ON" "wsrep-provider = /usr/lib/galera/libgalera_smm.so" \
                "wsrep-cluster-name = $DB_CLUSTER" "wsrep-cluster-address = $2" \
                "wsrep-node-name = node$i" "wsrep-node-address = 127.0.0.1:${DB_GPORT[$i]}" \
                "wsrep-sst-method = rsync" "wsrep-sst-receive-address = 127.0.0.1:${DB_SST[$i]}" \
                "wsrep-provider-options = gmcast.listen_addr=tcp://127.0.0.1:${DB_GPORT[$i]};ist.recv_addr=127.0.0.1:${DB_IST[$i]};gcache.size=64M;evs.keepalive_period=PT0.5S;evs.suspect_timeout=PT2S;evs.inactive_timeout=PT4S;evs.inactive_check_period=PT0.5S;evs.install_timeout=PT4S" \
                "binlog-format = ROW" "innodb-autoinc-lock-mode = 2"
            # causal reads: the tests' own SQL (db_fx_on) writes through another node than
            # the one examd reads from, and a row committed there is applied here a moment
            # later (a physician made on node 2 and logged in on node 1 was once not found)
            printf '%s\n' "wsrep-sync-wait = 1"
        fi
    } >"$DB_DIR/n$i.cnf"
}

db_ports() { # I
    DB_PORT[$1]=$(db_free_port)
    DB_RPORT[$1]=$(db_free_port)
    DB_GPORT[$1]=$(db_free_port)
    DB_IST[$1]=$(db_free_port)
    DB_SST[$1]=$(db_free_port)
}

db_load_demo() {
    DK_MYSQL_PORT=${DB_PORT[1]} DK_BUILD_DIR=$DB_BUILD "$DB_REPO/deploy/demo/load.sh" \
        >"$DB_DIR/demo.log" 2>&1 || { tail -n 20 "$DB_DIR/demo.log"; db_die "deploy/demo/load.sh failed"; }
    export DK_MYSQL_PORT=${DB_PORT[1]} DK_REDIS_PORT=${DB_RPORT[1]}
}

db_single_up() {
    DB_NODES=1
    db_ports 1
    db_cnf 1
    db_stack 1 up >"$DB_DIR/stack1.log" 2>&1 || { tail -n 30 "$DB_DIR/stack1.log"; db_die "stack.sh up failed"; }
    db_load_demo
}

db_synced() { # I: the node is in a cluster of three, ready and synced
    [ "$(db_status "$1" wsrep_cluster_size)" = 3 ] && [ "$(db_status "$1" wsrep_ready)" = ON ] &&
        [ "$(db_status "$1" wsrep_local_state_comment)" = Synced ]
}

db_galera_up() {
    [ -r /usr/lib/galera/libgalera_smm.so ] ||
        { echo "SKIP: Galera is not installed (apt-get install galera-4)"; exit 77; }
    command -v rsync >/dev/null || { echo "SKIP: rsync is not installed (state transfers)"; exit 77; }
    DB_NODES=3
    DB_GALERA=1
    DB_CLUSTER="dk-test-$$"
    local i all=
    for i in 1 2 3; do
        db_ports "$i"
        all+="${all:+,}127.0.0.1:${DB_GPORT[$i]}"
        DB_HOSTS+="${DB_HOSTS:+,}127.0.0.1:${DB_PORT[$i]}"
    done
    db_cnf 1 gcomm:// # the first node starts a new cluster (as --wsrep-new-cluster would)
    db_stack 1 up >"$DB_DIR/stack1.log" 2>&1 || { tail -n 30 "$DB_DIR/stack1.log"; db_die "node 1 did not start"; }
    db_cnf 1 "gcomm://$all" # started again later, node 1 joins the others
    for i in 2 3; do
        db_cnf "$i" "gcomm://$all"
        # A joiner starts empty and takes node 1's data by rsync (no mariadb-install-db).
        # Run by root, rsync's daemon writes as 'nobody': the folders must let it.
        mkdir -p "$DB_DIR/n$i/mysql/data"
        touch "$DB_DIR/n$i/mysql/.installed"
        if [ "$EUID" = 0 ]; then
            chmod 755 "$DB_DIR" "$DB_DIR/n$i" "$DB_DIR/n$i/mysql"
            chown nobody "$DB_DIR/n$i/mysql/data"
        fi
        db_stack "$i" up >"$DB_DIR/stack$i.log" 2>&1 ||
            { tail -n 30 "$DB_DIR/stack$i.log" "$DB_DIR/n$i/mysql/error.log"; db_die "node $i did not join"; }
    done
    for _ in $(seq 600); do
        db_synced 1 && db_synced 2 && db_synced 3 && break
        sleep 0.1
    done
    for i in 1 2 3; do
        db_synced "$i" || db_die "node $i: wsrep_cluster_size=$(db_status "$i" wsrep_cluster_size)" \
            "wsrep_ready=$(db_status "$i" wsrep_ready) $(db_status "$i" wsrep_local_state_comment)"
    done
    db_load_demo
    export DB_HOSTS
}

db_kill9() {
    local pid
    pid=$(db_pid "$1")
    [ -n "$pid" ] && kill -9 "$pid"
    for _ in $(seq 100); do
        [ -e "/proc/$pid" ] || return 0
        sleep 0.1
    done
}

db_start() {
    # a Galera node that was killed may need a full state transfer (rsync as 'nobody')
    [ "$DB_GALERA" = 1 ] && [ "$EUID" = 0 ] && chown -R nobody "$DB_DIR/n$1/mysql/data"
    db_stack "$1" up >>"$DB_DIR/stack$1.log" 2>&1 ||
        { tail -n 30 "$DB_DIR/stack$1.log"; db_die "node $1 did not start again"; }
}

db_fx_on() { FX_MYSQL[5]=${DB_PORT[$1]}; }

db_down() {
    local rc=$? i
    for ((i = 1; i <= DB_NODES; i++)); do
        db_stack "$i" down >/dev/null 2>&1
    done
    # what has no pid file yet (a node still joining, an rsync of a state transfer)
    local pid
    if [ -n "$DB_DIR" ]; then
        for pid in $(grep -lF -- "$DB_DIR/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
            [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
        done
    fi
    if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -n "$DB_DIR" ]; then
        for ((i = 1; i <= DB_NODES; i++)); do
            echo "---- last lines of MariaDB node $i"
            tail -n 15 "$DB_DIR/n$i/mysql/error.log" 2>/dev/null
        done
    fi
    if [ "${DB_KEEP:-0}" = 1 ]; then echo "kept $DB_DIR"; else [ -n "$DB_DIR" ] && rm -rf "$DB_DIR"; fi
    DB_NODES=0
    return "$rc"
}

db_trap() {
    # the whole database goes away: the fixture has no physicians to delete
    trap 'rc=$?; : >"$FX_TMP/physicians"; (exit $rc); db_down; fx_cleanup' EXIT
}
