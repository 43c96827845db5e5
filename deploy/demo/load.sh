#!/usr/bin/env bash
# deploy/demo/load.sh - loads the demo data into the stack named by DK_MYSQL_* (the
# defaults of deploy/stack.sh): people.sql (authorities, institutions, a cycle,
# physicians with the initial password 666666) and a synthetic question bank for every
# category x paper with its blueprints. Idempotent.
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
echo "demo: people loaded (every demo account's initial password is 666666)"

# the synthetic bank is deterministic (seed 1): importing it again skips what is there
bank=$(mktemp --suffix=.jsonl)
trap 'rm -f "$bank"' EXIT
"$build/question-bank/qbank" gen-demo --out "$bank" >/dev/null
"$build/question-bank/qbank" import --ignore-existing "$bank"
"$build/question-bank/qbank" blueprint set "$here/blueprints.json" >/dev/null
echo "demo: question bank has $(mariadb "${mysql_args[@]}" -N -e "SELECT COUNT(*) FROM qb_question") questions"
