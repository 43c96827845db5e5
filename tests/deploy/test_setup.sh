#!/usr/bin/env bash
# tests/deploy/test_setup.sh - deploy/setup.sh takes its fast path: when every package is
# installed it exits 0 without calling apt-get (a fake apt-get on PATH would fail the
# test), unattended (CI=true, no stdin). Exits 77 (skipped) when packages are missing,
# since installing them is not a test's business.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)

command -v dpkg-query >/dev/null || { echo "SKIP test_setup: not a Debian system (no dpkg-query)" >&2; exit 77; }
if ! missing=$("$repo/deploy/setup.sh" --check 2>&1); then
    echo "SKIP test_setup: packages are missing, run deploy/setup.sh as root: $missing" >&2
    exit 77
fi

fake=$(mktemp -d "${TMPDIR:-/tmp}/dk-test-setup.XXXXXX")
trap 'rm -rf "$fake"' EXIT
for tool in apt-get apt sudo; do
    printf '#!/bin/sh\necho "%s called: $*" >>"%s/calls"\nexit 1\n' "$tool" "$fake" >"$fake/$tool"
    chmod +x "$fake/$tool"
done

if ! CI=true PATH="$fake:$PATH" "$repo/deploy/setup.sh" </dev/null >"$fake/out" 2>&1; then
    cat "$fake/out" >&2
    echo "FAIL test_setup: setup.sh failed although every package is installed" >&2
    exit 1
fi
if [[ -e $fake/calls ]]; then
    cat "$fake/calls" >&2
    echo "FAIL test_setup: the fast path called apt-get/sudo" >&2
    exit 1
fi
grep -q 'packages are installed' "$fake/out" || { cat "$fake/out" >&2; echo "FAIL test_setup: no summary line" >&2; exit 1; }
echo "ok - setup.sh with everything installed: exit 0, no apt-get, no sudo"
echo "PASS test_setup"
