#!/usr/bin/env bash
# test_qb_cli_db.sh QBANK REPO SHARED - the qbank tool against the stack's MariaDB (reads
# DK_MYSQL_PORT etc.): a bad file imports nothing and exits 1 with FILE:LINE: reasons, a bad
# blueprint file is refused, stats/show/draw answer with the documented exit codes. Writes
# nothing to the database. Skipped (77) when MariaDB is not reachable.
set -uo pipefail
qbank=$1 repo=$2 shared=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

if ! "$qbank" blueprint show >"$tmp/show" 2>"$tmp/err"; then
    echo "SKIP: qb_cli_db: MariaDB is not reachable: $(tail -1 "$tmp/err")"
    exit 77
fi
"$qbank" stats >"$tmp/stats" 2>"$tmp/err" || fail "stats: $(cat "$tmp/err")"
grep -q "^blueprints:" "$tmp/stats" || fail "stats prints no blueprint section"
grep -qE "^  公共卫生 业务水平: " "$tmp/stats" || fail "stats does not list every category x paper"

"$qbank" draw --category 西医 --paper 业务水平 --seed 1 >/dev/null 2>"$tmp/err"
[[ $? == 1 ]] || fail "draw of an unknown category should exit 1"
grep -q "no blueprint" "$tmp/err" || fail "draw of an unknown category: no clear message"
"$qbank" draw --category 临床 --paper 业务水平 --seed -3 >/dev/null 2>&1
[[ $? == 64 ]] || fail "a negative seed should exit 64"
# a blueprint the bank cannot satisfy exits 2 (or 0 when the bank can; never anything else)
"$qbank" draw --category 临床 --paper 业务水平 --seed 42 >"$tmp/p1" 2>"$tmp/err"; rc=$?
if [[ $rc == 0 ]]; then
    "$qbank" draw --category 临床 --paper 业务水平 --seed 42 >"$tmp/p2" 2>/dev/null
    cmp -s "$tmp/p1" "$tmp/p2" || fail "the same seed drew two papers"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["seed"]==42 and d["questions"][0]["no"]==1' "$tmp/p1" ||
        fail "draw output is not the documented JSON"
elif [[ $rc == 2 ]]; then
    grep -qE "cannot fill|no blueprint" "$tmp/err" || fail "exit 2 without a reason"
else
    fail "draw exited $rc: $(cat "$tmp/err")"
fi

echo '{"blueprints":[{"category":"口腔","paper":"业务水平","question_count":100,"duration_min":60,"pass_mark":60,"sections":[{"section":"口腔内科学","count":90}]}]}' >"$tmp/bad.json"
"$qbank" blueprint set "$tmp/bad.json" 2>"$tmp/err" && fail "a blueprint adding up to 90 of 100 was stored"
grep -q "add up to 90" "$tmp/err" || fail "bad blueprint: no clear message"
"$qbank" blueprint show >"$tmp/show2" 2>/dev/null
cmp -s "$tmp/show" "$tmp/show2" || fail "a refused blueprint changed the stored ones"

if [[ ! -r $shared/bad_lines.jsonl ]]; then
    echo "SKIP: qb_cli_db bad_lines part: $shared/bad_lines.jsonl is absent"
    exit 77
fi
"$qbank" import "$shared/bad_lines.jsonl" 2>"$tmp/err"
[[ $? == 1 ]] || fail "import of bad_lines.jsonl should exit 1"
for kw in invalid-json case-mismatch stem-too-long invalid-utf8 singleton-group duplicate-key; do
    grep -qE "^$shared/bad_lines.jsonl:[0-9]+: $kw" "$tmp/err" || fail "no $kw reported"
done
grep -q "nothing imported" "$tmp/err" || fail "no 'nothing imported' message"
echo "qb_cli_db: all checks passed"
