#!/usr/bin/env bash
# test_facesim_eval.sh FACESIM - facesim --eval takes paths in the pairs file as they are
# when absolute and against the file's folder when relative (issue 14: absolute paths were
# joined to the folder and failed). Shipped models, tests/proctor/data's face; no ../shared.
set -euo pipefail
FACESIM=$1
here=$(cd "$(dirname "$0")" && pwd -P)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir "$tmp/pairs"
cp "$here/data/astronaut.jpg" "$tmp/pairs/copy.jpg"
printf 'path_a\tpath_b\tsame\n%s\tcopy.jpg\t1\n' "$here/data/astronaut.jpg" >"$tmp/pairs/pairs.tsv"
rc=0
env -u DK_PROCTOR_MODEL_DIR "$FACESIM" --eval "$tmp/pairs/pairs.tsv" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" = 0 ] || fail "facesim --eval exited $rc: $(cat "$tmp/out" "$tmp/err")"
jq -e '.pairs == 1 and .images == 2 and .failed_images == 0 and .skipped_pairs == 0 and
       .genuine == 1 and .false_rejects == 0' "$tmp/out" >/dev/null ||
    fail "unexpected result: $(cat "$tmp/out")"
# a path that does not exist is still reported, with its real (absolute) name
printf 'path_a\tpath_b\tsame\n%s\tcopy.jpg\t1\n' "$tmp/nowhere.jpg" >"$tmp/pairs/missing.tsv"
rc=0
env -u DK_PROCTOR_MODEL_DIR "$FACESIM" --eval "$tmp/pairs/missing.tsv" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" = 1 ] || fail "a missing image: exit $rc, want 1"
grep -q "^facesim: $tmp/nowhere.jpg: cannot open" "$tmp/err" || fail "missing image not named: $(cat "$tmp/err")"
echo "ok: absolute and relative paths in the pairs file"
