#!/usr/bin/env bash
# deploy/test.sh - every test, from a fresh Debian 12 machine or a clean clone:
# installs dependencies (deploy/setup.sh), builds with ASan + UBSan and -Werror, starts
# a private test stack on its own ports and folder (.stack-test), runs CTest (unit,
# integration, browser), stops the stack, and exits non-zero on any failure.
#   DK_TEST_JOBS [2]   CTest parallelism
#   DK_TEST_ARGS       extra ctest arguments, e.g. "-L unit" or "-R exam"
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(dirname "$here")
cd "$repo"
t0=$(date +%s)

echo "== setup (Debian packages)"
"$here/setup.sh"

echo "== build (ASan + UBSan, -Werror) in build/"
cmake -S . -B build -DDK_SANITIZE=ON -DDK_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

echo "== test stack"
export DK_STACK_DIR="$repo/.stack-test"
export DK_REDIS_PORT=${DK_TEST_REDIS_PORT:-26379}
export DK_MYSQL_PORT=${DK_TEST_MYSQL_PORT:-23306}
export DK_DATA_DIR="$DK_STACK_DIR/data"
# examd runs proctor workers in-process by default; tests that share one Redis must not
# have every examd they start consuming the capture stream of the proctor tests
export DK_PROCTOR_INPROCESS=0
unset DK_CONFIG
cleanup() { "$here/stack.sh" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
"$here/stack.sh" up
echo "== demo data into the test stack"
DK_BUILD_DIR="$repo/build" "$here/demo/load.sh"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$repo/tests/lsan.supp:print_suppressions=0}
rc=0
# The threaded code (worker pools, mailboxes, the proctor workers) once more under
# ThreadSanitizer, in its own build tree.
if [ -z "${DK_TEST_ARGS:-}" ] && [ "${DK_SKIP_TSAN:-0}" != 1 ]; then
    echo "== ThreadSanitizer: common_unit, test_proctor_queue (build-tsan/)"
    cmake -S . -B build-tsan -DDK_TSAN=ON -DDK_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build-tsan -j"$(nproc)" --target test_common_unit test_proctor_queue proctord
    (cd build-tsan && TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
        ctest --output-on-failure --timeout 600 -R '^(common_unit|test_proctor_queue)$') || rc=$?
fi

echo "== ctest"
(cd build && ctest --output-on-failure -j"${DK_TEST_JOBS:-2}" --timeout 900 ${DK_TEST_ARGS:-}) || rc=$?

# CTest's summary above is the last thing printed (CI reads it); the time goes to stderr.
echo "deploy/test.sh: $(( $(date +%s) - t0 )) s, exit $rc" >&2
exit $rc
