#!/usr/bin/env bash
# 试题分析 (item analysis) against the real stack: a fixture of 6 sittings x 4 questions
# written into MariaDB (display orders shuffled, an X question, an unanswered and a cleared
# answer, a sitting with 认定作弊 and a live one, both left out) is analysed by admind's
# analysis pool at the province's request, and every figure is compared with the values
# computed by hand (below, from the 0/1 matrix):
#
#            Q1(A1,B) Q2(A1,C) Q3(A2,A) Q4(X,AC)   T
#       P1      1        1        1        0       3
#       P2      1        1        1        -       3   (Q4 cleared: no answer)
#       P3      1        0        1        0       2
#       P4      0        1        0        1       2
#       P5      1        0        0        0       1
#       P6      0        0        0        1       1
#   p        .6667     .5       .5      .3333
#   rpb (item vs rest, Pearson)  Q1 -.1581  Q2 .3333  Q3 .3333  Q4 -.7462
#   upper 27% = round(1.62) = 2 sittings (P1 P2), lower = P5 P6:
#   UL       .5        1        1       -.5
#   KR-20 = 4/3 (1 - sum pq / var T) = 4/3 (1 - .9444 / .6667) = -.5556 (n = 6 > 2: computed;
#   sem = sd_sample sqrt(1 - KR-20), sd_sample = sqrt(.6667 * 6/5) = .8944, only for KR-20 in
#   [0, 1]: none here); sd_score is the population sd sqrt(.6667) = .8165
#   time to answer (s since the previous save): medians Q1 17.5, Q2 30, Q3 12.5, Q4 20
# and the defences: 403 for an institution, a county and a city; 404 for another province's
# cycle; 409 while a run is pending; 400 for bad filters and min_n; 413 for a large body;
# audit rows for the request, the run and the export.
ADMIND=$1
. "$(dirname "$0")/lib.sh"
need
[ "$(sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()
          AND table_name = 'item_stats_question'")" = 1 ] ||
    { echo "SKIP: migration 015_item_stats.sql is not applied (deploy/migrate.sh)"; exit 77; }
start_admind

step "two provinces; a cycle of A; an institution"
make_region A
make_region B
PROV=$(login authority "t$RUN-A-prov" "$PASSWORD")
CITY=$(login authority "t$RUN-A-city" "$PASSWORD")
COUNTY=$(login authority "t$RUN-A-county" "$PASSWORD")
PROVB=$(login authority "t$RUN-B-prov" "$PASSWORD")
make_cycle "$PROV"
api POST /authority/institutions "{\"name\":\"县医院-$RUN\"}" "$COUNTY"
expect 201 "institution"
H1_ID=$(j .id) H1_CODE=$(j .code)
H1=$(first_login institution "$H1_CODE")

step "the fixture: 4 questions, 8 physicians, 6 sittings that count"
# the questions are in sections no blueprint names, and their options are not the bank's
# form, so no other test on this stack ever draws them; they go at the end
Q=T$RUN
sql "INSERT INTO qb_question (id, category, paper, section, qtype, stem, options, answer) VALUES
  ('$Q-1', '临床', '业务水平', '测试内科', 'A1', '试题一', '[\"a\",\"b\",\"c\",\"d\"]', 'B'),
  ('$Q-2', '临床', '业务水平', '测试内科', 'A1', '试题二', '[\"a\",\"b\",\"c\",\"d\",\"e\"]', 'C'),
  ('$Q-3', '临床', '业务水平', '测试外科', 'A2', '试题三', '[\"a\",\"b\",\"c\",\"d\"]', 'A'),
  ('$Q-4', '临床', '业务水平', '测试外科', 'X', '试题四', '[\"a\",\"b\",\"c\",\"d\"]', 'AC')" ||
    fail "questions"
# display orders: Q1 shows original B first (BADC); P4 sees Q3 reversed (DCBA)
order() { # order P Q
    case "$2" in 1) echo BADC ;; 2) echo ABCDE ;; 3) [ "$1" = 4 ] && echo DCBA || echo ABCD ;; 4) echo ABCD ;; esac
}
# display letters of original letters through an order
disp() {
    local o=$1 s=$2 out="" i c k
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:$i:1}
        for ((k = 0; k < ${#o}; k++)); do [ "${o:$k:1}" = "$c" ] && out+=$(printf "\\x$(printf %x $((65 + k)))"); done
    done
    echo "$out" | grep -o . | sort | tr -d '\n'
}
# answers (original letters; '-' = cleared) and seconds from the start, in save order per P
ANS=(
    "1:B:20 2:C:50 3:A:60 4:A:100"
    "1:B:30 2:C:40 3:A:80 4:-:90"
    "1:B:10 3:A:25 2:A:55 4:C:65"
    "1:A:40 2:C:100 3:B:130 4:AC:150"
    "1:B:15 2:D:45 3:C:50 4:AD:80"
    "1:C:5 2:A:10 3:D:20 4:AC:30"
    "1:B:5 2:C:6 3:A:7 4:AC:8"
    "1:C:5"
)
SCORES=(3 3 2 2 1 1 4 0)
for p in 1 2 3 4 5 6 7 8; do
    idn=$(new_id "$A_COUNTY")
    sql "INSERT INTO physician (id_number, name, account, password_hash, institution_id, practice_level,
           practice_category) VALUES ('$idn', '医师$p', '${H1_CODE}9$(printf %04d "$p")', 'x', $H1_ID, '执业医师', '临床');
         INSERT INTO enrolment (cycle_id, physician_id, institution_id, status, procedure_type)
           VALUES ($CYCLE_ID, LAST_INSERT_ID(), $H1_ID, '待参加考核', '一般程序')" || fail "physician $p"
    pid=$(sql "SELECT id FROM physician WHERE id_number = '$idn'")
    eid=$(sql "SELECT id FROM enrolment WHERE physician_id = $pid")
    sid=$(printf '%s' "$RUN-P$p" | md5sum | cut -c1-32)
    enc="qb1;临床;业务水平;$p;$Q-1:$(order $p 1),$Q-2:$(order $p 2),$Q-3:$(order $p 3),$Q-4:$(order $p 4)"
    status=submitted sub="'2026-01-01 02:00:00'"
    [ "$p" = 8 ] && status=live sub=NULL
    rows=""
    for a in ${ANS[$((p - 1))]}; do
        IFS=: read -r no orig sec <<<"$a"
        ch=NULL
        [ "$orig" != - ] && ch="'$(disp "$(order $p "$no")" "$orig")'"
        rows+="${rows:+,}('$sid', $no, $ch, '2026-01-01 01:00:00' + INTERVAL $sec SECOND)"
    done
    sql "INSERT INTO exam_session (id, physician_id, enrolment_id, cycle_id, paper, attempt, seed,
           bank_version, paper_json, started_at, deadline, submitted_at, status)
         VALUES ('$sid', $pid, $eid, $CYCLE_ID, '业务水平', 1, $p, 1, JSON_OBJECT('enc', '$enc'),
           '2026-01-01 01:00:00', '2026-01-01 02:00:00', $sub, '$status');
         INSERT INTO exam_answer (session_id, question_no, choice, saved_at) VALUES $rows" ||
        fail "sitting $p"
    if [ "$p" != 8 ]; then
        s=${SCORES[$((p - 1))]} cheat=$([ "$p" = 7 ] && echo 1 || echo 0)
        passed=$([ "$s" -ge 3 ] && echo 1 || echo 0)
        final=$([ "$cheat" = 1 ] && echo 0 || echo "$passed")
        sql "INSERT INTO exam_result (session_id, score, total, pass_mark, passed, cheating_confirmed,
               final_passed) VALUES ('$sid', $s, 4, 3, $passed, $cheat, $final)" || fail "result $p"
    fi
done

step "who may see it: 403 for an institution, a county, a city; 404 for another province"
api GET "/item-analysis?cycle_id=$CYCLE_ID" "" "$H1"
expect 403 "institution"
for t in "$COUNTY" "$CITY"; do
    api GET "/item-analysis?cycle_id=$CYCLE_ID" "" "$t"
    expect_msg 403 "无权" "a lower authority"
    api POST /item-analysis/runs "{\"cycle_id\":$CYCLE_ID}" "$t"
    expect 403 "a lower authority requests a run"
    api GET "/item-analysis/export?cycle_id=$CYCLE_ID" "" "$t"
    expect 403 "a lower authority exports"
done
api GET "/item-analysis?cycle_id=$CYCLE_ID" "" "$PROVB"
expect 404 "another province's cycle"
api POST /item-analysis/runs "{\"cycle_id\":$CYCLE_ID}" "$PROVB"
expect 404 "another province requests a run of A's cycle"
api GET "/item-analysis/questions?cycle_id=$CYCLE_ID" ""
expect 401 "no token"

step "bad input: min_n, filters, a large body"
api POST /item-analysis/runs "{\"cycle_id\":$CYCLE_ID,\"min_n\":0}" "$PROV"
expect_msg 400 "min_n" "min_n 0"
api POST /item-analysis/runs "{\"cycle_id\":$CYCLE_ID,\"min_n\":\"5\"}" "$PROV"
expect 400 "min_n as a string"
for q in "category=%E5%A4%96%E7%A7%91" "paper=x" "attempt=3" "flag=bogus" "page_size=501"; do
    api GET "/item-analysis/questions?cycle_id=$CYCLE_ID&$q" "" "$PROV"
    expect 400 "filter $q"
done
for q in "cycle_id=abc" "cycle_id=-1"; do
    api GET "/item-analysis/questions?$q" "" "$PROV"
    expect 400 "filter $q"
done
big=$(head -c 5000 /dev/zero | tr '\0' a)
api POST /item-analysis/runs "{\"cycle_id\":$CYCLE_ID,\"x\":\"$big\"}" "$PROV"
expect 413 "a body over 4 KiB"
eq "$(sql "SELECT COUNT(*) FROM item_analysis_run WHERE cycle_id = $CYCLE_ID")" 0 "nothing queued"

step "409 while a run is pending (its status named)"
sql "INSERT INTO item_analysis_run (cycle_id, status, started_at) VALUES ($CYCLE_ID, 'running', NOW(3))"
api POST /item-analysis/runs "{\"cycle_id\":$CYCLE_ID}" "$PROV"
expect_msg 409 "正在计算" "a run is running"
sql "UPDATE item_analysis_run SET status = 'failed' WHERE cycle_id = $CYCLE_ID"

step "the province requests a run: 202, computed off the request path, audited"
api POST /item-analysis/runs "{\"cycle_id\":$CYCLE_ID,\"min_n\":5}" "$PROV"
expect 202 "request"
RUN_ID=$(j .id)
eq "$(j .status)" queued "reply"
for _ in $(seq 100); do
    [ "$(sql "SELECT status FROM item_analysis_run WHERE id = $RUN_ID")" = done ] && break
    sleep 0.2
done
api GET "/item-analysis/runs?cycle_id=$CYCLE_ID" "" "$PROV"
expect 200 "runs"
eq "$(j '.items[0] | "\(.id) \(.status) \(.sessions) \(.min_n)"')" "$RUN_ID done 6 5" "the run"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'item_analysis_request' AND entity_id = $RUN_ID
           AND actor_type = 'authority'")" 1 "request audited"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'item_analysis_done' AND entity_id = $RUN_ID")" 1 \
    "run audited"

step "the paper: 6 sittings (认定作弊 and live left out), distribution, KR-20"
api GET "/item-analysis?cycle_id=$CYCLE_ID" "" "$PROV"
expect 200 "summary"
eq "$(j '.papers | length')" 1 "one paper"
eq "$(j '.papers[0] | "\(.category) \(.paper) \(.attempt) \(.sittings) \(.questions) \(.min_score) \(.max_score) \(.median) \(.items) \(.flagged)"')" \
    "临床 业务水平 1 6 4 1 3 2 4 3" "paper figures"
eq "$(j '.papers[0].distribution | map(tostring) | join(",")')" "0,2,2,2,0" "distribution"
near() { # near VALUE EXPECTED WHAT (to 0.001)
    awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "null" && d < 0.001) }' ||
        fail "$3: $1, expected $2"
}
near "$(j .papers[0].mean_score)" 2 "mean"
near "$(j .papers[0].sd_score)" 0.8165 "sd"
near "$(j .papers[0].kr20)" -0.5556 "KR-20"
eq "$(j .papers[0].sem)" null "no sem for a negative KR-20"

step "the questions against the hand computation"
api GET "/item-analysis/questions?cycle_id=$CYCLE_ID&page_size=10" "" "$PROV"
expect 200 "questions"
eq "$(j .total)" 4 "four questions"
check() { # check N p rpb ul median drawn answered correct options flags
    local o; o=$(jq -c ".items[] | select(.question_id == \"$Q-$1\")" "$TMP/body")
    [ -n "$o" ] || fail "question $1 missing"
    near "$(jq -r .facility <<<"$o")" "$2" "p of Q$1"
    near "$(jq -r .rpb <<<"$o")" "$3" "rpb of Q$1"
    near "$(jq -r .ul_index <<<"$o")" "$4" "UL of Q$1"
    near "$(jq -r .median_time_s <<<"$o")" "$5" "median time of Q$1"
    eq "$(jq -r '"\(.drawn) \(.answered) \(.correct) \(.exposure) \(.upper_n) \(.lower_n)"' <<<"$o")" "$6 $7 $8 1 2 2" "counts of Q$1"
    eq "$(jq -c .options <<<"$o")" "$9" "options of Q$1"
    eq "$(jq -r '.flags | join(",")' <<<"$o")" "${10}" "flags of Q$1"
}
check 1 0.6667 -0.1581 0.5 17.5 6 6 4 '{"A":1,"B":4,"C":1,"D":0}' "negative_discrimination,unused_distractor"
check 2 0.5 0.3333 1 30 6 6 3 '{"A":2,"B":0,"C":3,"D":1,"E":0}' "unused_distractor"
check 3 0.5 0.3333 1 12.5 6 6 3 '{"A":3,"B":1,"C":1,"D":1}' ""
check 4 0.3333 -0.7462 -0.5 20 6 5 2 '{"A":4,"B":0,"C":3,"D":1}' "negative_discrimination,unused_distractor"
eq "$(j '[.items[] | .answer] | join(",")' | tr ',' '\n' | sort | paste -sd,)" "A,AC,B,C" "keys for the province"
api GET "/item-analysis/questions?cycle_id=$CYCLE_ID&flag=negative_discrimination" "" "$PROV"
expect 200 "filter by flag"
eq "$(j '[.items[].question_id] | sort | join(",")')" "$Q-1,$Q-4" "negatively discriminating"
api GET "/item-analysis/questions?cycle_id=$CYCLE_ID&flag=any&category=%E4%B8%B4%E5%BA%8A" "" "$PROV"
expect 200 "flagged of 临床"
eq "$(j .total)" 3 "flagged questions"

step "the default min_n (20) flags nothing on 6 sittings"
api POST /item-analysis/runs "{\"cycle_id\":$CYCLE_ID}" "$PROV"
expect 202 "second request"
RUN2=$(j .id)
for _ in $(seq 100); do
    [ "$(sql "SELECT status FROM item_analysis_run WHERE id = $RUN2")" = done ] && break
    sleep 0.2
done
api GET "/item-analysis?cycle_id=$CYCLE_ID" "" "$PROV"
eq "$(j '"\(.run.id) \(.papers[0].flagged)"')" "$RUN2 0" "latest run, nothing flagged"
eq "$(sql "SELECT COUNT(*) FROM item_stats_question WHERE run_id = $RUN_ID")" 0 "older results removed"

step "export: CSV with the same rows, audited"
code=$(curl -s -o "$TMP/items.csv" -w '%{http_code}' -H "Authorization: Bearer $PROV" \
    "http://127.0.0.1:$ADMIN_PORT/api/v1/item-analysis/export?cycle_id=$CYCLE_ID")
expect 200 "export"
eq "$(head -c 3 "$TMP/items.csv" | od -An -tx1 | tr -d ' ')" efbbbf "UTF-8 BOM"
eq "$(wc -l <"$TMP/items.csv")" 5 "header and 4 rows"
grep -q "^临床,业务水平,1,$Q-4,X,测试外科,6,1.000,5,2,0.333,-0.746,-0.500,AC," "$TMP/items.csv" ||
    fail "Q4's row: $(grep "$Q-4" "$TMP/items.csv")"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'item_analysis_export' AND entity_id = $RUN2")" 1 \
    "export audited"

step "export as XLSX: read back through openpyxl, numbers as numbers"
if /usr/bin/python3 -c 'import openpyxl' 2>/dev/null; then
    code=$(curl -s -o "$TMP/items.xlsx" -w '%{http_code}' -H "Authorization: Bearer $PROV" \
        "http://127.0.0.1:$ADMIN_PORT/api/v1/item-analysis/export?cycle_id=$CYCLE_ID&format=xlsx")
    expect 200 "xlsx export"
    /usr/bin/python3 - "$TMP/items.xlsx" "$Q-4" <<'PY' || fail "the workbook's Q4 row"
import sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1]).worksheets[0]
rows = [[c.value for c in r] for r in ws.iter_rows()]
head = rows[1]
q4 = [r for r in rows[2:] if r[head.index("试题编号")] == sys.argv[2]][0]
assert len(rows) == 6, len(rows)  # title, header, 4 questions
assert abs(q4[head.index("难度(通过率p)")] - 0.333) < 0.001, q4
assert abs(q4[head.index("区分度(校正点二列)")] - (-0.746)) < 0.001, q4
assert q4[head.index("答案")] == "AC", q4
PY
    eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'item_analysis_export' AND entity_id = $RUN2")" 2 \
        "both exports audited"
    api GET "/item-analysis/export?cycle_id=$CYCLE_ID&format=pdf" "" "$PROV"
    expect 400 "an unknown format"
else
    echo "   (no openpyxl for /usr/bin/python3: the XLSX step is not run)"
fi

sql "DELETE FROM qb_question WHERE id LIKE '$Q-%'"
stop_admind
echo "PASS"
