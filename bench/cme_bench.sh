#!/usr/bin/env bash
# bench/cme_bench.sh - the CME credit system's loads of issue 15, against a running stack and
# an admind started here (the binary of DK_BENCH_ADMIND, default build/admin/admind):
#   1. swipes: N_SWIPE (3000) attendees swipe at one venue within one session, by C (8)
#      concurrent readers (each a keep-alive HTTP connection, as the organiser's pages are);
#      prints the wall time, swipes per second and the latency percentiles, and checks that
#      MariaDB has one attendance row per card;
#   2. grant: one grant for N_GRANT (100,000) qualified attendees (cards and attendance
#      written by SQL); prints the time of the one POST and the rows it wrote;
#   3. reports: N_REPORT (1,000,000) credit rows (N_GRANT cards x 10 projects) and the three
#      statistics (by unit, city, level) and the CSV export over them; prints each time.
# It never fails on a time. The world it makes (authority codes 8xxxxx, accounts b<run>-*)
# is left in the database; run it on a private stack:
#   export DK_STACK_DIR=$PWD/.stack-test DK_REDIS_PORT=... DK_MYSQL_PORT=...
#   deploy/stack.sh up && bench/cme_bench.sh | tee bench/results/cme-$(date -u +%Y%m%dT%H%M%SZ).txt
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(dirname "$here")
ADMIND=${DK_BENCH_ADMIND:-$repo/build/admin/admind}
N_SWIPE=${N_SWIPE:-3000}
N_GRANT=${N_GRANT:-100000}
C=${C:-8}
DK_MYSQL_PORT=${DK_MYSQL_PORT:-13306}
DK_REDIS_PORT=${DK_REDIS_PORT:-16379}
export DK_MYSQL_PORT DK_REDIS_PORT
TMP=$(mktemp -d /tmp/dk-cme-bench.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill -TERM $PID 2>/dev/null; rm -rf "$TMP"' EXIT
sql() {
    MYSQL_PWD=${DK_MYSQL_PASSWORD:-dingkao-dev} mariadb --no-defaults --protocol=TCP -h 127.0.0.1 \
        -P "$DK_MYSQL_PORT" -u "${DK_MYSQL_USER:-dingkao}" --default-character-set=utf8mb4 \
        -N -B "${DK_MYSQL_DB:-dingkao}" -e "SET time_zone = '+00:00'; $1"
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "cme_bench: commit $(git -C "$repo" rev-parse --short HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cme_bench: admind $ADMIND ($(file -b "$ADMIND" | cut -c1-40)); ASan build: $(if [ "$(ldd "$ADMIND" | grep -c libasan)" -gt 0 ]; then echo yes; else echo no; fi)"
RUN=$(od -An -tu4 -N4 /dev/urandom | tr -d ' ' | cut -c1-6)
PASSWORD='Bench@2024pw'
HASH=$(echo "$PASSWORD" | "$ADMIND" --hash-password)
for _ in $(seq 20); do
    codes=$(for _ in 1 2; do printf '8%05d\n' $(( $(od -An -tu4 -N4 /dev/urandom) % 100000 )); done)
    p=$(echo "$codes" | sed -n 1p) c=$(echo "$codes" | sed -n 2p)
    [ "$p" != "$c" ] && [ "$(sql "SELECT COUNT(*) FROM authority WHERE code IN ('$p','$c')")" = 0 ] && break
done
sql "INSERT INTO authority (parent_id, admin_level, code, name) VALUES (NULL, 'province', '$p', '压测省$RUN');
     SET @p = LAST_INSERT_ID(); UPDATE authority SET path = CONCAT('/', @p, '/') WHERE id = @p;
     INSERT INTO authority (parent_id, admin_level, code, name) VALUES (@p, 'city', '$c', '压测市$RUN');
     SET @c = LAST_INSERT_ID(); UPDATE authority SET path = CONCAT('/', @p, '/', @c, '/') WHERE id = @c;
     INSERT INTO authority_account (authority_id, username, display_name, password_hash, must_change_password)
       VALUES (@p, 'b$RUN-prov', '压测省管理员', '$HASH', 0);
     INSERT INTO institution (code, name, authority_id, password_hash, must_change_password)
       VALUES ('${c}H90001', '压测主办单位$RUN', @c, '$HASH', 0);"
PROV_ID=$(sql "SELECT id FROM authority WHERE code = '$p'")
ORG_ID=$(sql "SELECT id FROM institution WHERE code = '${c}H90001'")

PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
DK_ADMIN_PORT=$PORT DK_TOKEN_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n') DK_PROCTOR_MODEL_DIR=none \
    DK_DATA_DIR=$TMP/data DK_LOG_LEVEL=warn "$ADMIND" >"$TMP/admind.log" 2>&1 &
PID=$!
for _ in $(seq 150); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
tok() { curl -s "http://127.0.0.1:$PORT/api/v1/login" -H 'Content-Type: application/json' \
    -d "{\"type\":\"$1\",\"account\":\"$2\",\"password\":\"$PASSWORD\"}" | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])'; }
ORG=$(tok institution "${c}H90001")
PROV=$(tok authority "b$RUN-prov")

# a project of the organiser under way now (approved, released), cards 1..N_GRANT of one unit
project() { # NO -> id
    sql "INSERT INTO cme_project (level, project_no, name, category, credits, notice, organiser_id, province_id,
           city_id, start_at, end_at, status, release_on)
         VALUES ('国家级', '$1', '压测项目 $1', 'I类', 2.5, '压测', $ORG_ID, $PROV_ID, NULL,
           UTC_TIMESTAMP(3) - INTERVAL 10 MINUTE, UTC_TIMESTAMP(3) + INTERVAL 2 HOUR, '审核通过', DATE(UTC_TIMESTAMP()));
         SET @x = LAST_INSERT_ID();
         INSERT INTO cme_session (project_id, seq, title, starts_at, ends_at)
           VALUES (@x, 1, '全天', UTC_TIMESTAMP(3) - INTERVAL 10 MINUTE, UTC_TIMESTAMP(3) + INTERVAL 2 HOUR);
         SELECT @x"
}
t0=$(now)
sql "INSERT INTO cme_card (card_no, institution_id, name, generated)
     SELECT CONCAT('$p', LPAD(seq, 10, '0')), $ORG_ID, CONCAT('学员', seq), 1 FROM seq_1_to_$N_GRANT"
echo "setup: $N_GRANT cards written in $(secs "$t0" "$(now)") s"

# ---- 1. swipes --------------------------------------------------------------------------------
P1=$(project "B$RUN-1")
python3 - "$PORT" "$ORG" "$P1" "$p" "$N_SWIPE" "$C" <<'PY'
import http.client, json, sys, threading, time
port, tok, pid, prov, n, c = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
cards = ['%s%010d' % (prov, i + 1) for i in range(n)]
lat, errs, lock = [], [], threading.Lock()
def reader(k):
    conn = http.client.HTTPConnection('127.0.0.1', int(port))
    for i in range(k, n, c):
        body = json.dumps({'card_no': cards[i] + '\r\n'})
        t = time.perf_counter()
        conn.request('POST', '/api/v1/cme/projects/%s/swipes' % pid, body,
                     {'Authorization': 'Bearer ' + tok, 'Content-Type': 'application/json'})
        r = conn.getresponse(); r.read()
        d = time.perf_counter() - t
        with lock:
            lat.append(d)
            if r.status != 200: errs.append(r.status)
t0 = time.perf_counter()
ts = [threading.Thread(target=reader, args=(k,)) for k in range(c)]
for t in ts: t.start()
for t in ts: t.join()
wall = time.perf_counter() - t0
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
print('swipes: %d attendees, %d readers: %.2f s wall, %.0f swipes/s, latency p50 %.1f ms p95 %.1f ms p99 %.1f ms max %.1f ms, non-200: %d'
      % (n, c, wall, n / wall, q(.5), q(.95), q(.99), lat[-1] * 1000, len(errs)))
PY
echo "swipes: attendance rows in MariaDB: $(sql "SELECT COUNT(*) FROM cme_attendance WHERE project_id = $P1") (expected $N_SWIPE)"

# ---- 2. the grant ----------------------------------------------------------------------------------
P2=$(project "B$RUN-2")
S2=$(sql "SELECT id FROM cme_session WHERE project_id = $P2")
t0=$(now)
sql "INSERT INTO cme_attendance (project_id, session_id, card_id, method) SELECT $P2, $S2, id, '刷卡' FROM cme_card WHERE institution_id = $ORG_ID;
     INSERT INTO cme_feedback (project_id, summary, signin_sheet_sent, failed_cards, late, status) VALUES ($P2, '压测', 1, '[]', 0, '核查通过')"
echo "grant: $N_GRANT attendance rows and the checked feedback written in $(secs "$t0" "$(now)") s"
t0=$(now)
curl -s -o "$TMP/grant.json" -X POST "http://127.0.0.1:$PORT/api/v1/cme/projects/$P2/grant" -H "Authorization: Bearer $PROV" \
    -H 'Content-Type: application/json' -d "{\"committee_ref\":\"压测$RUN\",\"committee_approved_on\":\"$(date -u +%F)\"}" &
GP=$!
while kill -0 $GP 2>/dev/null; do # the progress, as the page polls it
    sleep 1
    pr=$(curl -s "http://127.0.0.1:$PORT/api/v1/cme/projects/$P2" -H "Authorization: Bearer $PROV" |
        python3 -c 'import json,sys; f=json.load(sys.stdin)["feedback"]; print("%s/%s" % (f["grant_progress"], f["grant_total"]))' 2>/dev/null || true)
    echo "grant: progress $pr after $(secs "$t0" "$(now)") s"
done
wait $GP || true
echo "grant: one POST for $N_GRANT qualified attendees: $(secs "$t0" "$(now)") s, answer $(cat "$TMP/grant.json")"

# ---- 3. reports over 1,000,000 credit rows -------------------------------------------------------------------
t0=$(now)
for k in 3 4 5 6 7 8 9 10 11; do
    P=$(project "B$RUN-$k")
    sql "INSERT INTO cme_credit (card_id, project_id, year, category, credits)
         SELECT id, $P, YEAR(UTC_TIMESTAMP()), IF($k % 2, 'I类', 'II类'), 2.5 FROM cme_card WHERE institution_id = $ORG_ID"
done
total=$(sql "SELECT COUNT(*) FROM cme_credit cr JOIN cme_card c ON c.id = cr.card_id WHERE c.institution_id = $ORG_ID")
echo "reports: $total credit rows of this world written in $(secs "$t0" "$(now)") s ($(sql "SELECT COUNT(*) FROM cme_credit") in the table)"
Y=$(date -u +%Y)
for by in unit city level; do
    t0=$(now)
    code=$(curl -s -o "$TMP/r.json" -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/cme/stats?year=$Y&by=$by" -H "Authorization: Bearer $PROV")
    echo "reports: stats by $by: HTTP $code in $(secs "$t0" "$(now)") s: $(head -c 300 "$TMP/r.json")"
done
t0=$(now)
code=$(curl -s -o "$TMP/r.csv" -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/cme/stats?year=$Y&by=unit&format=csv" -H "Authorization: Bearer $PROV")
echo "reports: CSV export by unit: HTTP $code in $(secs "$t0" "$(now)") s, $(wc -c <"$TMP/r.csv") bytes"
t0=$(now)
code=$(curl -s -o "$TMP/r.json" -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/cme/records?card_no=${p}0000000001" -H "Authorization: Bearer $PROV")
echo "reports: one person's record: HTTP $code in $(secs "$t0" "$(now)") s"
echo "cme_bench: done, load $(cut -d' ' -f1-3 /proc/loadavg)"
