#!/usr/bin/env bash
# test_http_edge.sh PART EXAMD ADMIND - the HTTP edge both servers share (common/dk_http.c),
# against the real stack, each check on examd and on admind (issue 12, findings 5, 6, 9):
#   limits     a body announced above the route's limit is refused with a JSON 413 before
#              it is sent (the client gets the reply having sent only headers), also far
#              above http_max_body; a chunked body is cut as soon as it passes the limit
#   slowloris  100 connections trickling a byte every 2 s (50 never end their headers, 50
#              never end a body) are all closed within the deadlines (5 s + 5 s here) plus
#              20 s of slack, while /healthz answers 200 within 2 s throughout
#   cap        with http_max_connections=20, a 21st connection is refused (503 or closed),
#              counted in /metrics, and /healthz answers on an existing connection and after
#   headers    security headers on both web roots and on API replies; /metrics only for
#              metrics_allow; /healthz names no backend error when Redis or MariaDB is down
set -u
part=$1 examd=$2 admind=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
client=(perl "$here/edge_client.pl")
for t in curl jq perl; do
    command -v $t >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
done
redis-cli -p "${DK_REDIS_PORT:-16379}" ping >/dev/null 2>&1 || {
    echo "SKIP: the test stack's Redis is not reachable on port ${DK_REDIS_PORT:-16379}"; exit 77; }
tmp=$(mktemp -d /tmp/dk-edge.XXXXXX)
pids=()
failures=0
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# start NAME BINARY [VAR=VALUE...]: the server on a port the kernel picks; sets $port, $pid
start() {
    local name=$1 bin=$2 portkey=DK_EXAM_PORT
    shift 2
    [ "$name" = admind ] && portkey=DK_ADMIN_PORT
    log="$tmp/$name.log"
    env $portkey=0 DK_HTTP_LOOPS=2 DK_PROCTOR_INPROCESS=0 DK_DATA_DIR="$tmp/data" "$@" "$bin" \
        >"$log" 2>&1 &
    pid=$!
    pids+=("$pid")
    port=
    for _ in $(seq 300); do
        port=$(sed -n 's/.* listening host=[^ ]* port=\([0-9]*\).*/\1/p' "$log" | head -1)
        [ -n "$port" ] && curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/metrics" && return 0
        sleep 0.1
    done
    cat "$log"
    echo "FAIL: $name did not start"
    exit 1
}
stop() { # SIGTERM must end it with 0 (under ASan: no leak either)
    kill -TERM "$pid"
    wait "$pid"
    local rc=$?
    [ $rc = 0 ] || { tail -n 30 "$log"; fail "$1 exited $rc after SIGTERM"; }
}
hdr() { grep -i "^$1:" "$tmp/h" | head -n 1 | cut -d: -f2- | sed 's/^ *//; s/\r$//'; }
dead_port() {
    local p=$((40000 + RANDOM % 20000))
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
    echo $p
}

for name in examd admind; do
    bin=$examd web=$repo/exam-engine/web
    [ $name = admind ] && bin=$admind web=$repo/admin/web
    case $part in
    limits)
        start $name "$bin"
        # (a) far above the login route's limit (4 KiB on admind, http_max_body on examd)
        # but below 4x the largest route: today's code waits for the body
        for len in 1000000 50000000; do
            out=$("${client[@]}" bigcl "$port" /api/v1/login $len)
            status=$(head -n 1 <<<"$out")
            [[ $status == "HTTP/1.1 413"* ]] || fail "$name: Content-Length $len: '$status', want 413 before the body"
            grep -qi '^content-type: application/json' <<<"$out" &&
                tail -n 1 <<<"$out" | jq -e '.error.code == "too_large"' >/dev/null 2>&1 ||
                fail "$name: Content-Length $len: not the JSON error: $(tail -n 1 <<<"$out" | head -c 200)"
            grep -qi '^connection: close' <<<"$out" || fail "$name: Content-Length $len: connection not closed"
        done
        # within the limit the request goes through as before (400: not valid JSON)
        code=$(curl -s -o "$tmp/b" -w '%{http_code}' -H 'Content-Type: application/json' \
            --data-binary '{"account":' "http://127.0.0.1:$port/api/v1/login")
        [ "$code" = 400 ] || fail "$name: small bad login gave $code"
        # curl's own upload of a too-large body (Expect: 100-continue) gets the JSON 413
        head -c 3000000 /dev/zero >"$tmp/big"
        code=$(curl -s -o "$tmp/b" -w '%{http_code}' --max-time 20 -H 'Content-Type: application/json' \
            --data-binary @"$tmp/big" "http://127.0.0.1:$port/api/v1/login")
        [ "$code" = 413 ] && jq -e '.error.code == "too_large"' "$tmp/b" >/dev/null ||
            fail "$name: curl upload of 3 MB gave $code $(head -c 200 "$tmp/b")"
        # (b) a chunked body announcing 1 MiB to a route of at most 64 KiB: cut at once
        out=$("${client[@]}" chunked "$port" /api/v1/login)
        [[ $out == "HTTP/1.1 413"* || $out == CLOSED ]] || fail "$name: chunked 1 MiB: '$out', want 413 or closed"
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/healthz")
        [ "$code" = 200 ] || fail "$name: healthz after the limits: $code"
        stop $name
        ;;
    slowloris)
        start $name "$bin" DK_HTTP_HEADER_TIMEOUT_S=5 DK_HTTP_BODY_TIMEOUT_S=5
        t0=$(date +%s)
        "${client[@]}" slowloris "$port" 50 headers 2 40 >"$tmp/sl-h" &
        c1=$!
        "${client[@]}" slowloris "$port" 50 body 2 40 >"$tmp/sl-b" &
        c2=$!
        slow=0
        while kill -0 $c1 2>/dev/null || kill -0 $c2 2>/dev/null; do
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/healthz")
            [ "$code" = 200 ] || slow=$((slow + 1))
            sleep 1
        done
        wait $c1 $c2
        echo "$name: headers: $(cat "$tmp/sl-h"); body: $(cat "$tmp/sl-b"); $(($(date +%s) - t0)) s"
        for f in sl-h sl-b; do
            read -r closed open last < <(sed 's/[a-z]*=//g' "$tmp/$f")
            [ "$open" = 0 ] || fail "$name: $f: $open of 50 slow connections still open after 40 s"
            awk -v l="$last" 'BEGIN { exit !(l <= 30) }' ||
                fail "$name: $f: the last slow connection closed after $last s (deadline 5 s + 5 s, slack 20 s)"
        done
        [ $slow = 0 ] || fail "$name: /healthz missed 2 s $slow time(s) during the slowloris"
        m=$(curl -s "http://127.0.0.1:$port/metrics" | awk -v m="${name}_request_timeouts_total" '$1 ~ "^"m {s += $2} END {print s+0}')
        [ "$m" -ge 100 ] || fail "$name: ${name}_request_timeouts_total is $m, want >= 100"
        stop $name
        ;;
    cap)
        start $name "$bin" DK_HTTP_MAX_CONNECTIONS=20 DK_HTTP_HEADER_TIMEOUT_S=60
        out=$("${client[@]}" cap "$port" 20)
        echo "$name: $(tr '\n' ' ' <<<"$out")"
        extra=$(sed -n 's/^extra=//p' <<<"$out")
        [[ $extra == "HTTP/1.1 503"* || $extra == CLOSED ]] ||
            fail "$name: a 21st connection beyond http_max_connections=20: '$extra'"
        first=$(sed -n 's/^first=//p' <<<"$out")
        [[ $first == "HTTP/1.1 200"* ]] || fail "$name: /healthz on an existing connection: '$first'"
        sleep 1
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/healthz")
        [ "$code" = 200 ] || fail "$name: /healthz after the connections went: $code"
        m=$(curl -s "http://127.0.0.1:$port/metrics" | awk -v m="${name}_connections_refused_total" '$1 == m {print $2}')
        [ "${m:-0}" -ge 1 ] || fail "$name: ${name}_connections_refused_total is '${m:-}'"
        curl -s "http://127.0.0.1:$port/metrics" | grep -q "^${name}_connections_open " ||
            fail "$name: no ${name}_connections_open gauge"
        stop $name
        ;;
    headers)
        start $name "$bin" DK_WEB_ROOT="$web" DK_ADMIN_URL=http://admin.example:9000
        # (e) the web root's pages and scripts
        for path in / /index.html /js/app.js; do
            code=$(curl -s -o /dev/null -D "$tmp/h" -w '%{http_code}' "http://127.0.0.1:$port$path")
            [ "$code" = 200 ] || { fail "$name: GET $path: $code"; continue; }
            csp=$(hdr Content-Security-Policy)
            for d in "default-src 'self'" "script-src 'self'" "frame-ancestors 'none'" "object-src 'none'" \
                "base-uri 'none'"; do
                [[ $csp == *"$d"* ]] || fail "$name: GET $path: CSP '$csp' lacks $d"
            done
            [[ $csp == *unsafe-inline* || $csp == *unsafe-eval* ]] && fail "$name: CSP allows unsafe-*: $csp"
            [ $name = examd ] && [[ $csp != *"connect-src 'self' http://admin.example:9000"* ]] &&
                fail "$name: the exam page's CSP does not let it call admind: $csp"
            [[ $csp == *"img-src 'self' blob: data:"* ]] || fail "$name: CSP img-src: $csp"
            [ "$(hdr X-Frame-Options)" = DENY ] || fail "$name: GET $path: X-Frame-Options '$(hdr X-Frame-Options)'"
            [ "$(hdr X-Content-Type-Options)" = nosniff ] || fail "$name: GET $path: no nosniff"
            [ "$(hdr Referrer-Policy)" = no-referrer ] || fail "$name: GET $path: Referrer-Policy '$(hdr Referrer-Policy)'"
        done
        # API replies (and errors) carry nosniff and no framing either
        for path in /api/v1/nothing /healthz; do
            curl -s -o /dev/null -D "$tmp/h" "http://127.0.0.1:$port$path"
            [ "$(hdr X-Content-Type-Options)" = nosniff ] || fail "$name: GET $path: no nosniff"
            [ "$(hdr X-Frame-Options)" = DENY ] || fail "$name: GET $path: X-Frame-Options '$(hdr X-Frame-Options)'"
        done
        # (f) /metrics: loopback (127.0.0.0/8) is allowed by default
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")
        [ "$code" = 200 ] || fail "$name: /metrics from 127.0.0.1 by default: $code"
        stop $name
        start $name "$bin" DK_METRICS_ALLOW="192.0.2.0/24, 10.9.8.7"
        code=$(curl -s -o "$tmp/b" -w '%{http_code}' "http://127.0.0.1:$port/metrics")
        [[ $code == 403 || $code == 404 ]] || fail "$name: /metrics from an address not allowed: $code"
        grep -q "_requests_total" "$tmp/b" && fail "$name: /metrics body shown to an address not allowed"
        stop $name
        start $name "$bin" DK_METRICS_ALLOW="192.0.2.0/24,127.0.0.0/8"
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")
        [ "$code" = 200 ] || fail "$name: /metrics from 127.0.0.1 inside 127.0.0.0/8: $code"
        stop $name
        # (g) /healthz with a backend down: 503, a flag per backend, no error text
        for down in DK_REDIS_PORT DK_MYSQL_PORT; do
            start $name "$bin" "$down=$(dead_port)" DK_MYSQL_TIMEOUT_MS=1000
            code=$(curl -s -o "$tmp/b" -w '%{http_code}' --max-time 15 "http://127.0.0.1:$port/healthz")
            [ "$code" = 503 ] || fail "$name: healthz with $down closed: $code"
            jq -e '(.redis|type) == "boolean" and (.mysql|type) == "boolean" and ([.redis, .mysql] | index(false) != null)' \
                "$tmp/b" >/dev/null || fail "$name: healthz with $down closed: $(cat "$tmp/b")"
            jq -e '[paths(scalars) as $p | getpath($p) | strings] - ["ok", "degraded"] | length == 0' \
                "$tmp/b" >/dev/null || fail "$name: healthz with $down closed shows text: $(cat "$tmp/b")"
            grep -qi 'refused\|connect\|error\|errno\|mysql_\|redis_' "$tmp/b" &&
                fail "$name: healthz with $down closed names an error: $(cat "$tmp/b")"
            stop $name
        done
        ;;
    *) echo "unknown part $part"; exit 2 ;;
    esac
done
[ $failures = 0 ] || { echo "FAIL: http edge $part: $failures check(s) failed"; exit 1; }
echo "PASS: http edge $part (examd and admind)"
