#!/usr/bin/env bash
# examd's /healthz against the real test stack: 200 with both backends reachable, 503
# naming Redis when Redis cannot be reached, /metrics in Prometheus text, and a clean
# exit 0 on SIGTERM (under ASan that also means no leak).
set -u
examd=$1
command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
redis-cli -p "${DK_REDIS_PORT:-16379}" ping >/dev/null 2>&1 || {
    echo "SKIP: the test stack's Redis is not reachable on port ${DK_REDIS_PORT:-16379}"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
log=$(mktemp)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -f "$log"' EXIT

# starts examd on a port the kernel picks (DK_EXAM_PORT=0) and sets $port from its log
start_examd() {
    DK_EXAM_PORT=0 "$@" "$examd" >"$log" 2>&1 &
    pid=$!; pids+=("$pid")
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/.*examd listening host=[^ ]* port=\([0-9]*\).*/\1/p' "$log" | head -1)
        [ -n "$port" ] && curl -s -o /dev/null "http://127.0.0.1:$port/metrics" && return 0
        sleep 0.1
    done
    return 1
}

# 1. both reachable: 200
start_examd env DK_HTTP_LOOPS=2 || { cat "$log"; fail "examd did not start"; }
grep -q "effective configuration" "$log" || fail "examd did not print its configuration"
grep -q "mysql_password.*\*\*\*" "$log" || fail "the password is not masked in the printed configuration"
grep -q "dingkao-dev" "$log" && fail "the password appears in the log"
ok=0
for _ in $(seq 50); do # the Redis link is made asynchronously at start
    code=$(curl -s -o /tmp/dk-hz.$$ -w '%{http_code}' "http://127.0.0.1:$port/healthz")
    [ "$code" = 200 ] && { ok=1; break; }; sleep 0.1
done
[ $ok = 1 ] || { cat /tmp/dk-hz.$$; fail "healthz is $code with the stack up"; }
grep -q '"redis":true' /tmp/dk-hz.$$ && grep -q '"mysql":true' /tmp/dk-hz.$$ || fail "healthz body: $(cat /tmp/dk-hz.$$)"
curl -s "http://127.0.0.1:$port/metrics" | grep -q '^examd_requests_total{route="healthz",code="2xx"}' \
    || fail "metrics do not count the healthz requests"
code=$(curl -s -o /tmp/dk-hz.$$ -w '%{http_code}' "http://127.0.0.1:$port/no/such/route")
[ "$code" = 404 ] && grep -q '"code":"not_found"' /tmp/dk-hz.$$ || fail "unknown route gave $code"
kill -TERM "$pid"; wait "$pid"; rc=$?
[ $rc = 0 ] || { cat "$log"; fail "examd exited $rc after SIGTERM"; }

# 2. Redis unreachable (a port nothing listens on): 503 naming Redis, MariaDB still fine
# a port nothing listens on: bind one and close it
dead=$(( 40000 + RANDOM % 20000 ))
while (exec 3<>"/dev/tcp/127.0.0.1/$dead") 2>/dev/null; do dead=$(( dead + 1 )); done
start_examd env DK_REDIS_PORT=$dead DK_HTTP_LOOPS=1 || { cat "$log"; fail "examd did not start without Redis"; }
code=$(curl -s -o /tmp/dk-hz.$$ -w '%{http_code}' "http://127.0.0.1:$port/healthz")
[ "$code" = 503 ] || fail "healthz is $code with Redis unreachable"
grep -q '"redis":false' /tmp/dk-hz.$$ && grep -q '"mysql":true' /tmp/dk-hz.$$ || fail "healthz body: $(cat /tmp/dk-hz.$$)"
kill -TERM "$pid"; wait "$pid"; rc=$?
[ $rc = 0 ] || { cat "$log"; fail "examd exited $rc after SIGTERM"; }
rm -f /tmp/dk-hz.$$
echo "PASS: healthz, metrics, shutdown"
