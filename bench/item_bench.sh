#!/usr/bin/env bash
# bench/item_bench.sh - the item analysis of issue 17 over about 1,000,000 answers: a cycle of
# its own (deploy/demo/history.sql with code IB, N physicians, default 5,700: 一般程序 sit
# both papers, every fifth 简易程序 one, ~10,300 sittings x 100 questions less the ~2% left
# unanswered) is filled once by `qbank sim-sittings` (timed, not part of the figure), then
# `qbank analyse` runs RUNS times (default 3): each run reads every answer of the cycle from
# MariaDB, computes the statistics and stores them (the same code admind's analysis pool
# runs). Prints each run's time with the load average before it. Never fails on a time.
# Needs the demo data (deploy/demo/load.sh: the province, the bank); run it on a private stack:
#   export DK_STACK_DIR=$PWD/.stack-me DK_REDIS_PORT=... DK_MYSQL_PORT=...
#   deploy/stack.sh up && DK_BUILD_DIR=$PWD/build-rel deploy/demo/load.sh
#   DK_BUILD_DIR=$PWD/build-rel bench/item_bench.sh | tee bench/results/items-$(date -u +%Y%m%dT%H%M%SZ).txt
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(dirname "$here")
build=${DK_BUILD_DIR:-$repo/build}
QBANK=$build/question-bank/qbank
N=${N:-5700}
RUNS=${RUNS:-3}
DK_MYSQL_PORT=${DK_MYSQL_PORT:-13306}
export DK_MYSQL_PORT
sql() {
    MYSQL_PWD=${DK_MYSQL_PASSWORD:-dingkao-dev} mariadb --no-defaults --protocol=TCP -h 127.0.0.1 \
        -P "$DK_MYSQL_PORT" -u "${DK_MYSQL_USER:-dingkao}" --default-character-set=utf8mb4 \
        -N -B "${DK_MYSQL_DB:-dingkao}" -e "SET time_zone = '+00:00'; $1"
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

[ -x "$QBANK" ] || { echo "item_bench: no $QBANK (DK_BUILD_DIR)"; exit 1; }
[ "$(sql "SELECT COUNT(*) FROM authority WHERE code = '140000'")" = 1 ] ||
    { echo "item_bench: the demo data is not loaded (deploy/demo/load.sh)"; exit 1; }
echo "item_bench: commit $(git -C "$repo" rev-parse --short HEAD), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), build type $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null)"
echo "item_bench: the machine is shared with other sessions: the load average is printed with each run"

cycle=$(sql "SET @pw = 'x', @n = $N, @hcode = 'IB', @hinst_code = '140105S00098',
               @hname = '基准测试医院（模拟数据）', @idp = '9900001971';
             $(cat "$repo/deploy/demo/history.sql")" | tail -1)
t0=$(now)
"$QBANK" sim-sittings --cycle "$cycle" --seed 7 | sed 's/^/item_bench: sim-sittings: /'
echo "item_bench: data ready in $(secs "$t0" "$(now)") s (written now or before)"
answers=$(sql "SELECT COUNT(*) FROM exam_answer a JOIN exam_session s ON s.id = a.session_id WHERE s.cycle_id = $cycle")
sessions=$(sql "SELECT COUNT(*) FROM exam_session WHERE cycle_id = $cycle")
echo "item_bench: cycle $cycle: $sessions sittings, $answers answers"
for r in $(seq "$RUNS"); do
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    t0=$(now)
    out=$("$QBANK" analyse --cycle "$cycle" 2>/dev/null)
    echo "item_bench: run $r: $(secs "$t0" "$(now)") s wall (load before: $load) | $out"
done
