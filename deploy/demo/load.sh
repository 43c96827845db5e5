#!/usr/bin/env bash
# deploy/demo/load.sh - loads the demo data into the stack named by DK_MYSQL_* (the
# defaults of deploy/stack.sh): people.sql (authorities, institutions, a cycle,
# physicians with the initial password 666666), a synthetic question bank for every
# category x paper with its blueprints, and a finished window for 试题分析 (history.sql:
# the previous cycle with DK_DEMO_HISTORY_PHYSICIANS (600) synthetic physicians, their
# simulated sittings and their item analysis). Idempotent.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
build=${DK_BUILD_DIR:-$repo/build}
mysql_args=(--protocol=TCP -h 127.0.0.1 -P "${DK_MYSQL_PORT:-13306}" -u "${DK_MYSQL_USER:-dingkao}"
            "-p${DK_MYSQL_PASSWORD:-dingkao-dev}" "${DK_MYSQL_DB:-dingkao}")

pw=$(echo 666666 | "$build/exam-engine/examd" --hash-password)
{ echo "SET @pw = '$pw';"; cat "$here/people.sql"; } | mariadb "${mysql_args[@]}"
# work waiting for each role of the console (re-review, makeup, exemption)
{ echo "SET @pw = '$pw';"; cat "$here/admin.sql"; } | mariadb "${mysql_args[@]}"
# The first login with 666666 proves identity (domain/dom_account.h): physicians with their
# ID number and name (people.sql, listed in README.md), institutions and authority accounts
# with an activation code, for the demo one code for all: DEMO-2024. The initial passwords'
# validity (login_initial_ttl_s) starts again at every load.
act=$(echo DEMO2024 | "$build/exam-engine/examd" --hash-password)
mariadb "${mysql_args[@]}" -e "
  UPDATE institution SET activation_hash = '$act', password_changed_at = NOW(3) WHERE must_change_password = 1;
  UPDATE authority_account SET activation_hash = '$act', password_changed_at = NOW(3) WHERE must_change_password = 1;
  UPDATE physician SET password_changed_at = NOW(3) WHERE must_change_password = 1;"
echo "demo: people loaded (initial password 666666; activation code DEMO-2024; physicians: ID number and name)"

# the synthetic bank is deterministic (seed 1): importing it again skips what is there
bank=$(mktemp --suffix=.jsonl)
trap 'rm -f "$bank"' EXIT
"$build/question-bank/qbank" gen-demo --out "$bank" >/dev/null
"$build/question-bank/qbank" import --ignore-existing "$bank"
"$build/question-bank/qbank" blueprint set "$here/blueprints.json" >/dev/null
echo "demo: question bank has $(mariadb "${mysql_args[@]}" -N -e "SELECT COUNT(*) FROM qb_question") questions"

# a finished window for 试题分析 (history.sql: the previous cycle, synthetic physicians): its
# sittings are simulated once (sim-sittings skips enrolments that have them) and analysed
# whenever it has no results yet, so that the page shows something real on first start
hist=$({ echo "SET @pw = '$pw'; SET @n = ${DK_DEMO_HISTORY_PHYSICIANS:-600};"; cat "$here/history.sql"; } |
       mariadb -N "${mysql_args[@]}")
"$build/question-bank/qbank" sim-sittings --cycle "$hist" --seed 1 >/dev/null
if [ "$(mariadb -N "${mysql_args[@]}" -e "SELECT COUNT(*) FROM item_analysis_run WHERE cycle_id = $hist AND status = 'done'")" = 0 ]; then
    "$build/question-bank/qbank" analyse --cycle "$hist" | sed 's/^/demo: item analysis /'
fi
echo "demo: finished window: cycle 00 with $(mariadb -N "${mysql_args[@]}" -e "SELECT COUNT(*) FROM exam_session WHERE cycle_id = $hist") sittings (试题分析 as sx-admin)"
