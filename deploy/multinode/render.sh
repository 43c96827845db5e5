#!/usr/bin/env bash
# deploy/multinode/render.sh - prints a balancer configuration for a list of examd nodes.
#
#   render.sh nginx|haproxy --listen ADDR:PORT --run-dir DIR [--user NAME] [--workers N]
#             NODE_ADDR:PORT...
#
# Fills the @LISTEN@, @RUN_DIR@, @USER@, @WORKERS@ and @SERVERS@ fields of nginx.conf.in
# or haproxy.cfg.in (next to this script) and writes the result to stdout; nothing else
# is touched. Nodes are IP:PORT (examd connects to IPs and so do its balancers: no DNS).
# Defaults: --user www-data (nginx drops to it when started as root), --workers auto.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

die() { printf 'render: error: %s\n' "$*" >&2; exit 2; }

kind=${1:-}
case $kind in
nginx) tmpl=$here/nginx.conf.in ;;
haproxy) tmpl=$here/haproxy.cfg.in ;;
*) die "usage: render.sh nginx|haproxy --listen ADDR:PORT --run-dir DIR [--user NAME] [--workers N] NODE..." ;;
esac
shift
listen='' run_dir='' user=www-data workers=auto nodes=()
while (($#)); do
    case $1 in
    --listen) listen=${2:-}; shift 2 ;;
    --run-dir) run_dir=${2:-}; shift 2 ;;
    --user) user=${2:-}; shift 2 ;;
    --workers) workers=${2:-}; shift 2 ;;
    -*) die "unknown option $1" ;;
    *) nodes+=("$1"); shift ;;
    esac
done

ipport='^[0-9]{1,3}(\.[0-9]{1,3}){3}:[0-9]{1,5}$'
[[ $listen =~ $ipport ]] || die "--listen wants IP:PORT, got '$listen'"
[[ $run_dir =~ ^/[A-Za-z0-9/._+-]*$ ]] ||
    die "--run-dir wants an absolute path of letters, digits and /._+-, got '$run_dir'"
[[ $user =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "--user wants a user name, got '$user'"
[[ $workers == auto || $workers =~ ^[1-9][0-9]{0,2}$ ]] || die "--workers wants auto or a number"
((${#nodes[@]})) || die "no examd node given"
for n in "${nodes[@]}"; do [[ $n =~ $ipport ]] || die "a node is IP:PORT, got '$n'"; done

servers=$(
    i=0
    for n in "${nodes[@]}"; do
        i=$((i + 1))
        case $kind in
        nginx) printf '        server %s max_fails=2 fail_timeout=5s;\n' "$n" ;;
        haproxy) printf '    server examd%d %s\n' "$i" "$n" ;;
        esac
    done
)

# @SERVERS@ stands alone on its line; the other fields are replaced where they stand
awk -v servers="$servers" -v listen="$listen" -v run_dir="$run_dir" -v user="$user" \
    -v workers="$workers" '
    $0 == "@SERVERS@" { print servers; next }
    {
        gsub(/@LISTEN@/, listen); gsub(/@RUN_DIR@/, run_dir)
        gsub(/@USER@/, user); gsub(/@WORKERS@/, workers)
        print
    }' "$tmpl"
