#!/usr/bin/env bash
# test_qb_cli.sh QBANK REPO SHARED - the qbank tool without a database: usage, gen-demo
# (valid by the tool's own rules; the committed deploy/demo/blueprints.json is what the
# generator writes), and import --dry-run of ../shared/data/qbank/bad_lines.jsonl against
# bad_lines.expected.tsv (skipped with 77, by name, when that data is absent).
set -uo pipefail
qbank=$1 repo=$2 shared=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$qbank" >/dev/null 2>&1; [[ $? == 64 ]] || fail "no arguments should exit 64"
"$qbank" draw --category 临床 >/dev/null 2>&1; [[ $? == 64 ]] || fail "draw without seed should exit 64"

"$qbank" gen-demo --out "$tmp/demo.jsonl" --per-section 40 --seed 9 --blueprints "$tmp/bp.json" 2>/dev/null ||
    fail "gen-demo"
"$qbank" import --dry-run "$tmp/demo.jsonl" 2>"$tmp/err" || fail "demo bank is not valid: $(head -3 "$tmp/err")"
"$qbank" gen-demo --out "$tmp/demo2.jsonl" --per-section 40 --seed 9 2>/dev/null
cmp -s "$tmp/demo.jsonl" "$tmp/demo2.jsonl" || fail "gen-demo is not deterministic"
cmp -s "$tmp/bp.json" "$repo/deploy/demo/blueprints.json" ||
    fail "deploy/demo/blueprints.json differs from 'qbank gen-demo --blueprints'"
for t in A1 A2 A3 A4 B1 X; do grep -q "\"type\":\"$t\"" "$tmp/demo.jsonl" || fail "no $t in the demo bank"; done

if [[ ! -r $shared/bad_lines.jsonl || ! -r $shared/bad_lines.expected.tsv ]]; then
    echo "SKIP: qb_cli bad_lines part: $shared/bad_lines.jsonl is absent"
    exit 77
fi
"$qbank" import --dry-run "$shared/bad_lines.jsonl" 2>"$tmp/err"
[[ $? == 1 ]] || fail "import of bad_lines.jsonl should exit 1"
# every line: the reasons printed as FILE:LINE: reason must be exactly the expected one
while IFS=$'\t' read -r line want _; do
    [[ $line =~ ^[0-9]+$ ]] || continue
    got=$(grep -E "^$shared/bad_lines.jsonl:$line: " "$tmp/err" | sed -E 's/^[^:]+:[0-9]+: ([a-z0-9-]+).*/\1/' | sort -u | paste -sd,)
    [[ $want == ok ]] && want=""
    [[ $got == "$want" ]] || fail "line $line: expected '${want:-ok}', got '${got:-ok}'"
done <"$shared/bad_lines.expected.tsv"
grep -q "nothing imported" "$tmp/err" || fail "no 'nothing imported' message"
"$qbank" import --dry-run --skip-bad "$shared/bad_lines.jsonl" 2>"$tmp/err" || fail "--skip-bad should exit 0"
grep -q "skipped: group" "$tmp/err" || fail "--skip-bad should say which group members it left out"
echo "qb_cli: all checks passed"
