#!/usr/bin/env bash
# deploy/setup.sh - installs the Debian packages that build, run and test 定考.
#
#   deploy/setup.sh           install what is missing (root, or sudo without a password)
#   deploy/setup.sh --check   list what is missing; exit 1 if anything is, change nothing
#
# Idempotent: when every package is already installed it does nothing at all (not even
# apt-get update). Runs unattended (CI=true, no tty, no stdin). The MariaDB and Redis
# servers are installed for their binaries only: deploy/stack.sh runs our own daemons
# on their own ports, data directories and sockets, so the system services may run or
# not; the stack never uses them and never collides with them (ports 3306/6379,
# /run/mysqld are theirs). Add a package by adding a line to DK_PACKAGES.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

DK_PACKAGES=(
    # build
    build-essential
    cmake
    pkg-config
    # libraries (common/, exam-engine/, proctor/, question-bank/, admin/)
    libevent-dev
    libhiredis-dev
    libmariadb-dev
    libsodium-dev
    libturbojpeg0-dev
    libjpeg62-turbo-dev
    libopencv-dev
    opencv-data
    libjansson-dev
    # tests
    libcmocka-dev
    # the stack (deploy/stack.sh) and its clients
    mariadb-server
    mariadb-client
    redis-server
    redis-tools
    # scripts
    curl
    jq
    ca-certificates
)

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

check_only=0
case ${1:-} in
"") ;;
--check) check_only=1 ;;
-h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
*) die "unknown argument '$1' (try --help)" ;;
esac

command -v dpkg-query >/dev/null || die "dpkg-query not found: this script is for Debian (12) and derivatives"

missing=()
for p in "${DK_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
    log "all ${#DK_PACKAGES[@]} packages are installed"
    exit 0
fi
log "missing: ${missing[*]}"
((check_only == 0)) || exit 1

if ((EUID == 0)); then
    as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    die "installing needs root (or sudo without a password): sudo $0"
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q --no-install-recommends -o Dpkg::Use-Pty=0
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update </dev/null ||
    die "apt-get update failed"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "${missing[@]}" </dev/null ||
    die "apt-get install failed"

still=()
for p in "${missing[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || still+=("$p")
done
((${#still[@]} == 0)) || die "still not installed: ${still[*]}"

for b in mariadbd mariadb-install-db mariadb mariadb-admin mariadb-dump redis-server redis-cli; do
    command -v "$b" >/dev/null || die "$b is missing after the installation"
done
log "installed: ${missing[*]}"
log "note: the system mariadb/redis services are not used; deploy/stack.sh up starts our own"
