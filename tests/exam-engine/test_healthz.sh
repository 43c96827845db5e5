#!/usr/bin/env bash
# examd's /healthz against the real test stack: 200 with both backends reachable, 503
# naming Redis when Redis cannot be reached, /metrics in Prometheus text, and a clean
# exit 0 on SIGTERM (under ASan that also means no leak); CORS preflights and headers.
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
for g in examd_db_queue_depth examd_hash_queue_depth examd_live_sessions examd_capture_requeued; do
    curl -s "http://127.0.0.1:$port/metrics" | grep -q "^$g " || fail "metrics lack the gauge $g"
done
code=$(curl -s -o /tmp/dk-hz.$$ -w '%{http_code}' "http://127.0.0.1:$port/no/such/route")
[ "$code" = 404 ] && grep -q '"code":"not_found"' /tmp/dk-hz.$$ || fail "unknown route gave $code"

# CORS (the HTTP layer both servers share): a listed origin gets a preflight and may read
# replies; another origin gets neither; /api/v1/site tells the page where admind is
kill -TERM "$pid"; wait "$pid"
start_examd env DK_HTTP_LOOPS=1 DK_HTTP_CORS_ORIGINS="http://exam.example:8080, http://b.example" \
    DK_ADMIN_URL=http://admin.example:9000 || { cat "$log"; fail "examd did not start (CORS)"; }
hdr() { grep -i "^$1:" /tmp/dk-hz.$$.h | head -n 1 | cut -d: -f2- | sed 's/^ *//; s/\r$//'; }
pre() { # ORIGIN PATH -> HTTP code, headers in /tmp/dk-hz.$$.h
    curl -s -o /dev/null -D /tmp/dk-hz.$$.h -w '%{http_code}' -X OPTIONS -H "Origin: $1" \
        -H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: authorization' \
        "http://127.0.0.1:$port$2"
}
code=$(pre http://exam.example:8080 /api/v1/sessions/abc/answers/3)
[ "$code" = 204 ] || fail "preflight of a listed origin gave $code"
[ "$(hdr Access-Control-Allow-Origin)" = http://exam.example:8080 ] || fail "preflight: no Allow-Origin"
[ "$(hdr Access-Control-Allow-Methods)" = PUT ] || fail "preflight methods: $(hdr Access-Control-Allow-Methods)"
hdr Access-Control-Allow-Headers | grep -qi authorization || fail "preflight does not allow Authorization"
[ "$(pre http://b.example /api/v1/sessions)" = 204 ] || fail "second listed origin refused"
[ "$(pre http://evil.example /api/v1/sessions)" = 403 ] || fail "preflight of an unlisted origin not refused"
[ -z "$(hdr Access-Control-Allow-Origin)" ] || fail "an unlisted origin got Allow-Origin"
[ "$(pre http://exam.example:8080x /api/v1/sessions)" = 403 ] || fail "a prefix-extended origin was accepted"
[ "$(pre http://exam.example:8080 /api/v1/nothing)" = 404 ] || fail "preflight of an unknown path not 404"
code=$(curl -s -o /tmp/dk-hz.$$ -D /tmp/dk-hz.$$.h -w '%{http_code}' -H 'Origin: http://b.example' \
    "http://127.0.0.1:$port/api/v1/site")
[ "$code" = 200 ] && [ "$(hdr Access-Control-Allow-Origin)" = http://b.example ] \
    || fail "GET with a listed origin: $code, Allow-Origin '$(hdr Access-Control-Allow-Origin)'"
hdr Access-Control-Expose-Headers | grep -q Retry-After || fail "Retry-After not exposed to pages"
[ "$(jq -r .admin_url /tmp/dk-hz.$$)" = http://admin.example:9000 ] || fail "site: $(cat /tmp/dk-hz.$$)"
jq -e '.server_time > 0' /tmp/dk-hz.$$ >/dev/null || fail "site has no server_time"
curl -s -o /dev/null -D /tmp/dk-hz.$$.h -H 'Origin: http://evil.example' "http://127.0.0.1:$port/api/v1/site"
[ -z "$(hdr Access-Control-Allow-Origin)" ] || fail "GET from an unlisted origin got Allow-Origin"
rm -f /tmp/dk-hz.$$.h
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
echo "PASS: healthz, metrics, CORS, shutdown"
