#!/usr/bin/env bash
# deploy/setup.sh - installs the Debian packages that build, run and test 定考.
#
#   deploy/setup.sh           install what is missing (root, or sudo without a password)
#   deploy/setup.sh --check   list what is missing; exit 1 if anything is, change nothing
#
# Idempotent: when every package is already installed it does nothing at all (not even
# apt-get update). Besides the Debian packages, the browser tests need playwright-core
# from npm in tests/browser/node_modules: `npm ci` runs there when node_modules is absent
# or older than package-lock.json (it never downloads a browser: the tests drive Debian's
# /usr/bin/chromium). Runs unattended (CI=true, no tty, no stdin). The MariaDB and Redis
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
    # exports, certificates (admin/): spreadsheets, PDF in Noto CJK, QR codes
    libxlsxwriter-dev
    libcairo2-dev
    libpango1.0-dev
    libqrencode-dev
    # tests: an export is read back as XLSX through a library (/usr/bin/python3)
    python3-openpyxl
    # tests: the PDF certificate is read back as text (pdftotext, pdftoppm)
    poppler-utils
    # the stack (deploy/stack.sh) and its clients
    mariadb-server
    mariadb-client
    redis-server
    redis-tools
    # scripts (and the tests' helpers)
    curl
    jq
    python3
    ca-certificates
    # the multi-node layout and its failover test (deploy/multinode, tests/multinode)
    nginx
    haproxy
    # MariaDB with Galera: three nodes on loopback, rsync state transfers (tests/multinode)
    galera-4
    rsync
    # a node's clock off by minutes (tests/exam-engine/test_exam_clock.sh)
    faketime
    # browser tests (tests/browser) and the exam page's Chinese fonts
    chromium
    chromium-l10n
    fonts-noto-cjk
    nodejs
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
# npm comes with some builds of nodejs (NodeSource) and separately in Debian's
command -v npm >/dev/null || missing+=(npm)

browser_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/browser" 2>/dev/null && pwd -P || true)
npm_needed() { # 0 when tests/browser/node_modules is absent or older than the lock file
    [[ -n $browser_dir && -f $browser_dir/package-lock.json ]] || return 1
    [[ -f $browser_dir/node_modules/.package-lock.json ]] || return 0
    [[ $browser_dir/package-lock.json -nt $browser_dir/node_modules/.package-lock.json ]]
}
npm_missing=0
npm_needed && npm_missing=1

if ((${#missing[@]} == 0 && npm_missing == 0)); then
    log "all ${#DK_PACKAGES[@]} packages are installed (and the browser tests' npm modules)"
    exit 0
fi
((${#missing[@]} == 0)) || log "missing: ${missing[*]}"
((npm_missing == 0)) || log "missing: npm modules of tests/browser (npm ci)"
((check_only == 0)) || exit 1

install_npm_modules() {
    log "npm ci in tests/browser (playwright-core; no browser download)"
    (cd "$browser_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts \
        --loglevel=error </dev/null) || die "npm ci in tests/browser failed"
}
if ((${#missing[@]} == 0)); then
    install_npm_modules
    exit 0
fi

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
command -v npm >/dev/null || die "npm is missing after the installation"
if npm_needed; then install_npm_modules; fi
