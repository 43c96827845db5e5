#!/usr/bin/env bash
# test_qbank.sh - the question bank in the console (issue 17, items 1-4): the 题库管理员 role
# and its 403s, the upload report against `qbank import`'s for ../shared's bad_lines.jsonl
# (skipped, 77, only that part, when ../shared is absent), the CSV and JSONL templates, the
# size limit, drafts published into a new bank version (409 twice), an edit and a
# retirement, infeasible blueprints refused, the preview with keys, audit rows, and version
# isolation: a session started in examd before a publish keeps its paper and its keys.
#   test_qbank.sh ADMIND EXAMD QBANK
ADMIND=$1 EXAMD=$2 QBANK=$3
. "$(dirname "$0")/lib.sh"
need
[ "$(sql "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE()
          AND table_name = 'qb_question' AND column_name = 'state'")" = 1 ] ||
    { echo "SKIP: migration 014_qbank_console.sql is not applied"; exit 77; }
[ "$(sql "SELECT COUNT(*) FROM qb_question WHERE category = '临床' AND state = 'live'")" -gt 100 ] ||
    { echo "SKIP: the demo bank is not loaded (deploy/demo/load.sh)"; exit 77; }
SHARED=${DK_SHARED_DIR:-$(cd "$(dirname "$0")/../../.." && pwd -P)/shared}
export DK_BANK_RELOAD_PERIOD_MS=300
start_admind
start_examd
audits() { sql "SELECT COUNT(*) FROM audit_log WHERE action = '$1' AND entity_id = '$2'"; }

step "roles: the province makes a 题库管理员; others get 403"
setup_world
api POST /authority/qbank-admins "{\"username\":\"t$RUN-qb\",\"display_name\":\"题库员$RUN\"}" "$PROV"
expect 201 "create 题库管理员"
QBA_ID=$(j .id) ACT=$(j .activation_code)
[ "$(audits create_qbank_admin "$QBA_ID")" = 1 ] || fail "no audit row for the new account"
api POST /authority/qbank-admins '{"username":"x1234","display_name":"市里的"}' "$CITY"
expect 403 "a city makes a 题库管理员"
T=$(login authority "t$RUN-qb" 666666 "\"activation_code\":\"$ACT\"")
api POST /password "{\"old_password\":\"666666\",\"new_password\":\"$PASSWORD\"}" "$T"
expect 200 "password of the 题库管理员"
QB=$(j .token)
api GET /me "" "$QB"
expect 200
eq "$(j '.roles | join(",")')" qbank "roles of the 题库管理员"
api GET /qbank/overview "" "$QB"
expect 200 "overview as 题库管理员"
api GET /qbank/overview "" "$PROV"
expect 200 "overview as province"
api GET /item-analysis "" "$QB"
expect 200 "试题分析 as 题库管理员"
for t in CITY COUNTY H1; do
    api GET /qbank/overview "" "${!t}"
    expect 403 "overview as $t"
    api POST /qbank/check "" "${!t}"
    expect 403 "check as $t"
done
api GET /authority/institutions "" "$QB"
expect 403 "the 题库管理员 lists institutions"
api GET /authority/enrolments "" "$QB"
expect 403 "the 题库管理员 lists enrolments"
api POST "/authority/qbank-admins/$QBA_ID/disable" "" "$PROV"
expect 200
api GET /qbank/overview "" "$QB"
[ "$code" = 401 ] || fail "a disabled 题库管理员 still reaches the bank: HTTP $code"
api POST "/authority/qbank-admins/$QBA_ID/enable" "" "$PROV"
expect 200
QB=$(login authority "t$RUN-qb" "$PASSWORD")

step "the report of bad_lines.jsonl is qbank import's"
BAD=$SHARED/data/qbank/bad_lines.jsonl
if [ -f "$BAD" ]; then
    DK_MYSQL_PORT=$DK_MYSQL_PORT "$QBANK" import "$BAD" 2>"$TMP/cli.txt" && fail "qbank import took bad_lines.jsonl"
    grep "^$BAD:" "$TMP/cli.txt" | sed "s|^$BAD:||" >"$TMP/cli.report"
    upload POST "/qbank/check?format=jsonl" "$BAD" application/x-ndjson "$QB"
    expect 200 "check bad_lines.jsonl"
    jq -r '.issues[] | "\(.line): \(.reason)\(if .detail != "" then ": " + .detail else "" end)"' \
        "$TMP/body" >"$TMP/console.report"
    [ -s "$TMP/cli.report" ] || fail "qbank import reported nothing"
    diff "$TMP/cli.report" "$TMP/console.report" >"$TMP/diff" ||
        { cat "$TMP/diff"; fail "the console's report differs from qbank import's"; }
    eq "$(j .lines)" "$(wc -l <"$BAD")" "lines"
    jq -e '.issues | all(.field != "" and .text != "")' "$TMP/body" >/dev/null || fail "an issue without field or text"
    echo "   $(wc -l <"$TMP/cli.report") violations, identical"
else
    echo "   SKIP (this part): $BAD is absent"
fi

step "templates: every type, valid for qbank import and for the console"
api GET "/qbank/template?format=jsonl" "" "$QB"
expect 200
cp "$TMP/body" "$TMP/template.jsonl"
eq "$(jq -r .type "$TMP/template.jsonl" | sort -u | paste -sd,)" "A1,A2,A3,A4,B1,X" "template types"
"$QBANK" import --dry-run "$TMP/template.jsonl" 2>"$TMP/dry.txt" || { cat "$TMP/dry.txt"; fail "template refused by qbank"; }
api GET "/qbank/template?format=csv" "" "$QB"
expect 200
cp "$TMP/body" "$TMP/template.csv"
head -c 3 "$TMP/template.csv" | od -An -tx1 | grep -q 'ef bb bf' || fail "the CSV template has no BOM"
upload POST "/qbank/check?format=csv" "$TMP/template.csv" text/csv "$QB"
expect 200 "check the CSV template"
eq "$(j .questions)" 9 "questions of the CSV template"
eq "$(j .bad_lines)" 0 "bad lines of the CSV template ($(j '.issues'))"

step "size limit: 9 MiB refused before it is read"
head -c $((9 << 20)) /dev/zero | tr '\0' 'x' >"$TMP/big.jsonl"
upload POST "/qbank/check" "$TMP/big.jsonl" application/x-ndjson "$QB"
expect 413 "9 MiB upload"
# the limit is on the file as uploaded: a 7.5 MiB CSV (its JSON Lines are larger than 8 MiB)
# is checked, not refused
head -1 "$TMP/template.csv" >"$TMP/big.csv"
tail -n +2 "$TMP/template.csv" >"$TMP/rows.csv"
while [ "$(stat -c %s "$TMP/big.csv")" -lt $((15 << 19)) ]; do cat "$TMP/rows.csv" "$TMP/rows.csv" "$TMP/rows.csv" "$TMP/rows.csv" >>"$TMP/big.csv"; done
[ "$(stat -c %s "$TMP/big.csv")" -lt $((8 << 20)) ] || fail "big.csv is over 8 MiB"
upload POST "/qbank/check?format=csv" "$TMP/big.csv" text/csv "$QB"
expect 200 "7.5 MiB CSV"
[ "$(j .lines)" -gt 1000 ] || fail "7.5 MiB CSV: $(j .lines) lines"

step "hostile inputs: unknown CSV columns, long names, too many retirements, bad blueprints"
printf '编号,题干,密码\n1,2,3\n' >"$TMP/odd.csv"
upload POST "/qbank/check?format=csv" "$TMP/odd.csv" text/csv "$QB"
expect_msg 400 密码 "an unknown CSV column"
upload POST "/qbank/check?format=xlsx" "$TMP/odd.csv" text/csv "$QB"
expect 400 "an unknown format"
printf '' >"$TMP/empty.jsonl"
upload POST "/qbank/releases" "$TMP/empty.jsonl" application/x-ndjson "$QB"
expect 400 "an empty upload"
LONG=$(printf '题%.0s' $(seq 201))
upload POST "/qbank/releases?name=$(jq -rn --arg s "$LONG" '$s|@uri')" "$TMP/template.jsonl" application/x-ndjson "$QB"
expect_msg 400 200 "a 201-character release name"
api POST /qbank/retirements "{\"ids\":$(seq 501 | jq -Rs 'split("\n")[:-1]')}" "$QB"
expect 400 "501 retirements"
api POST /qbank/retirements '{"ids":["no-such-question"]}' "$QB"
expect 404 "retire an unknown question"
api POST "/qbank/questions/$(printf 'x%.0s' $(seq 40))/revise" '{"question":{}}' "$QB"
expect 404 "revise an over-long id"
api POST /qbank/blueprints/check '{"category":"临床","paper":"业务水平","question_count":1,"duration_min":60,"pass_mark":1,"sections":[{"section":"内科学","count":1}],"extra":1}' "$QB"
expect 400 "a blueprint with an unknown key"
api PUT /qbank/blueprints '{"category":"牙科","paper":"业务水平","question_count":1,"duration_min":60,"pass_mark":1,"sections":[{"section":"内科学","count":1}]}' "$QB"
expect 400 "a blueprint of an unknown category"
api POST /qbank/preview '{"category":"临床","paper":"综合"}' "$QB"
[ "$code" = 404 ] || [ "$code" = 400 ] || fail "preview of an unknown paper: HTTP $code"
api POST /qbank/releases/999999999/publish "" "$QB"
expect 404 "publish an unknown release"

step "upload: a bad line and a repeat are reported, nothing stored; fixed, it is a draft"
S="测试$RUN"
q() { # id stem answer
    printf '{"id":"%s","category":"临床","paper":"业务水平","section":"内科学","type":"A1","stem":"%s","options":{"A":"甲%s","B":"乙%s","C":"丙%s","D":"丁%s"},"answer":"%s"}\n' \
        "$1" "$2" "$RUN" "$RUN" "$RUN" "$RUN" "$3"
}
{ q "T$RUN-1" "$S 第一题" A; q "T$RUN-2" "$S 第二题" B
  echo "{\"id\":\"T$RUN-3\",\"category\":\"临床\",\"paper\":\"业务水平\",\"section\":\"内科学\",\"type\":\"A1\",\"stem\":\"$S 第三题\",\"options\":{\"A\":\"1\",\"B\":\"2\"}}"
  q "T$RUN-4" "$S 第一题" A; } >"$TMP/up.jsonl"
upload POST "/qbank/check" "$TMP/up.jsonl" application/x-ndjson "$QB"
expect 200
eq "$(j .bad_lines)" 2 "bad lines"
eq "$(j '[.issues[] | select(.line == 3)][0].reason')" missing-field "line 3"
eq "$(j '[.issues[] | select(.line == 3)][0].field')" answer "line 3 field"
eq "$(j '[.issues[] | select(.line == 4)][0].reason')" duplicate-question "line 4"
eq "$(j .duplicates)" 1 "duplicates"
upload POST "/qbank/releases?name=bad.jsonl" "$TMP/up.jsonl" application/x-ndjson "$QB"
expect 400 "import with bad lines"
eq "$(j .error.report.bad_lines)" 2 "report of the refused import"
eq "$(sql "SELECT COUNT(*) FROM qb_question WHERE id LIKE 'T$RUN-%'")" 0 "rows after a refused import"
g() { # id stem answer case: a member of the A3 group G$RUN
    printf '{"id":"%s","category":"临床","paper":"业务水平","section":"外科学","type":"A3","group":"G%s","case":"%s","stem":"%s","options":{"A":"甲","B":"乙","C":"丙"},"answer":"%s"}\n' \
        "$1" "$RUN" "$4" "$2" "$3"
}
CASE="病例$RUN：男，35岁，右下腹痛。"
{ q "T$RUN-1" "$S 第一题" A; q "T$RUN-2" "$S 第二题" B; q "T$RUN-3" "$S 第三题" C
  g "T$RUN-G1" "$S 组题一" A "$CASE"; g "T$RUN-G2" "$S 组题二" B "$CASE"; } >"$TMP/up.jsonl"
upload POST "/qbank/releases?name=fixed.jsonl" "$TMP/up.jsonl" application/x-ndjson "$QB"
expect 201 "import the fixed file"
R1=$(j .id)
eq "$(sql "SELECT GROUP_CONCAT(DISTINCT state) FROM qb_question WHERE id LIKE 'T$RUN-%'")" draft "state before publish"
upload POST "/qbank/check" "$TMP/up.jsonl" application/x-ndjson "$QB"
eq "$(j '[.issues[] | select(.reason == "duplicate-id")] | length')" 6 "drafts count as the bank's (5 ids, 1 group)"
V0=$(sql "SELECT version FROM qb_bank_version")
api POST "/qbank/releases/$R1/publish" "" "$H1"
expect 403 "an institution publishes"
api POST "/qbank/releases/$R1/publish" "" "$QB"
expect 200 "publish"
[ "$(j .bank_version)" -gt "$V0" ] || fail "publishing did not bump the bank version"
eq "$(sql "SELECT GROUP_CONCAT(DISTINCT state) FROM qb_question WHERE id LIKE 'T$RUN-%'")" live "state after publish"
api POST "/qbank/releases/$R1/publish" "" "$QB"
expect_msg 409 已发布 "publish twice"
api POST "/qbank/releases/$R1/discard" "" "$PROV"
expect_msg 409 已发布 "discard a published release"
[ "$(audits qbank_draft_import "$R1")" = 1 ] && [ "$(audits qbank_publish "$R1")" = 1 ] ||
    fail "audit rows of the import"

step "an edit and a retirement: drafts, then published; the old rows stay readable"
api GET "/qbank/questions/T$RUN-2" "" "$QB"
expect 200
eq "$(j .answer)" B "key of T$RUN-2"
[ "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'qbank_view_question' AND entity_id = 'T$RUN-2'")" = 1 ] ||
    fail "the view of a key is not audited"
api POST "/qbank/questions/T$RUN-2/revise" "{\"question\":$(q "x" "$S 第二题（修订）" C)}" "$QB"
expect 201 "revise"
R2=$(j .id)
eq "$(j .new_id)" "T$RUN-2-R2" "revision id"
api POST "/qbank/questions/T$RUN-1/revise" "{\"question\":$(q "x" "$S 第一题" E)}" "$QB"
expect 400 "a revision with a bad answer"
api POST /qbank/retirements "{\"ids\":[\"T$RUN-3\"]}" "$QB"
expect 201 "retire"
R3=$(j .id)
# a second release retiring the same question: whichever publishes second gets 409 and the
# question keeps the first one's retired_release
api POST /qbank/retirements "{\"ids\":[\"T$RUN-3\"]}" "$QB"
expect 201 "retire the same question in a second release"
R3B=$(j .id)
api POST "/qbank/releases/$R2/publish" "" "$QB"
expect 200
api POST "/qbank/releases/$R3/publish" "" "$QB"
expect 200
api POST "/qbank/releases/$R3B/publish" "" "$QB"
expect_msg 409 已退役 "publish a second retirement of the same question"
eq "$(sql "SELECT retired_release FROM qb_question WHERE id = 'T$RUN-3'")" "$R3" "retired_release after two retirements"
eq "$(sql "SELECT status FROM qb_release WHERE id = $R3B")" draft "the refused release"
eq "$(sql "SELECT CONCAT(state, '/', IFNULL(replaces, '')) FROM qb_question WHERE id = 'T$RUN-2-R2'")" "live/T$RUN-2" "revision"
eq "$(sql "SELECT state FROM qb_question WHERE id = 'T$RUN-2'")" retired "revised question"
eq "$(sql "SELECT state FROM qb_question WHERE id = 'T$RUN-3'")" retired "retired question"
api POST /qbank/retirements "{\"ids\":[\"T$RUN-3\"]}" "$QB"
expect_msg 409 已退役 "retire twice"
api POST "/qbank/questions/T$RUN-3/revise" "{\"question\":$(q "x" "$S 第三题" A)}" "$QB"
expect_msg 409 已退役 "revise a retired question"
for r in "$R2" "$R3"; do
    [ "$(audits qbank_publish "$r")" = 1 ] || fail "no audit row for publishing $r"
done

step "an edit of a group member: the whole group revised, the old group retired"
api POST "/qbank/questions/T$RUN-G2/revise" "{\"question\":$(g x "$S 组题二（修订）" C "$CASE（修订）" | jq -c 'del(.group)')}" "$QB"
expect 201 "revise a group member"
RGR=$(j .id)
eq "$(j .new_id)" "T$RUN-G2-R2" "revision id of the member"
api POST "/qbank/releases/$RGR/publish" "" "$QB"
expect 200
eq "$(sql "SELECT GROUP_CONCAT(CONCAT(id, ':', state, ':', IFNULL(replaces, '')) ORDER BY group_pos) FROM qb_question WHERE group_id = 'G$RUN-R2'")" \
   "T$RUN-G1-R2:live:T$RUN-G1,T$RUN-G2-R2:live:T$RUN-G2" "the revised group"
eq "$(sql "SELECT COUNT(*) FROM qb_question WHERE group_id = 'G$RUN' AND state = 'retired'")" 2 "the old group's members"
eq "$(sql "SELECT CONCAT(state, '/', case_text) FROM qb_group WHERE id = 'G$RUN-R2'")" "live/$CASE（修订）" "the new group's case"
eq "$(sql "SELECT state FROM qb_group WHERE id = 'G$RUN'")" retired "the old group"

step "blueprints: feasibility per section; an infeasible one is refused (409)"
api GET /qbank/blueprints "" "$QB"
expect 200
eq "$(j '.blueprints | length')" 8 "blueprints"
jq -c '.blueprints[] | select(.category == "临床" and .paper == "业务水平")
       | {category, paper, question_count, duration_min, pass_mark,
          sections: [.sections[] | {section, count, type}]}' "$TMP/body" >"$TMP/bp.json"
jq -e '.sections | length > 1' "$TMP/bp.json" >/dev/null || fail "no 临床 业务水平 blueprint"
BEFORE=$(sql "SELECT sections FROM qb_blueprint WHERE category = '临床' AND paper = '业务水平'")
jq -c '.sections[0].count -= 1 | .sections += [{"section":"不存在的科目","count":1,"type":[]}]' \
    "$TMP/bp.json" >"$TMP/bad-bp.json"
api POST /qbank/blueprints/check "$(cat "$TMP/bad-bp.json")" "$QB"
expect 200
eq "$(j .feasible)" false "feasible"
eq "$(j '.sections[-1].available')" 0 "available in the missing section"
api PUT /qbank/blueprints "$(cat "$TMP/bad-bp.json")" "$QB"
expect 409 "publish an infeasible blueprint"
eq "$(j .error.feasibility.feasible)" false "the 409 carries the check"
eq "$(sql "SELECT sections FROM qb_blueprint WHERE category = '临床' AND paper = '业务水平'")" "$BEFORE" "blueprint after the 409"
api PUT /qbank/blueprints "$(cat "$TMP/bp.json")" "$QB"
expect 200 "publish the same feasible blueprint"
[ "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'qbank_blueprint_publish' AND actor_id = $QBA_ID")" = 1 ] ||
    fail "no audit row for the blueprint"

step "a retirement that would leave a published blueprint unfillable is not published (409)"
SEC=$(jq -r '.sections[0].section' "$TMP/bp.json")
sql "SELECT id FROM qb_question WHERE category = '临床' AND paper = '业务水平' AND section = '$SEC'
     AND state = 'live' LIMIT 500" | jq -Rsc 'split("\n")[:-1] | {ids: ., note: "全部退役"}' >"$TMP/all.json"
api POST /qbank/retirements "$(cat "$TMP/all.json")" "$QB"
expect 201 "draft retiring all of $SEC"
RALL=$(j .id)
api POST "/qbank/releases/$RALL/publish" "" "$QB"
if [ "$code" != 409 ]; then # never leave the shared bank without the section
    sql "UPDATE qb_question SET state = 'live', retired_release = NULL WHERE retired_release = $RALL;
         UPDATE qb_group SET state = 'live' WHERE id IN (SELECT group_id FROM qb_question WHERE id IN
           (SELECT question_id FROM qb_release_retire WHERE release_id = $RALL))"
    fail "publishing a retirement of all of $SEC: HTTP $code"
fi
j .error.message | grep -q "无法按 临床 业务水平 的蓝图组卷" || fail "409 message: $(j .error.message)"
eq "$(sql "SELECT status FROM qb_release WHERE id = $RALL")" draft "the refused release"
eq "$(sql "SELECT COUNT(*) FROM qb_question WHERE retired_release = $RALL")" 0 "questions retired by the refused release"
api POST "/qbank/releases/$RALL/discard" "" "$QB"
expect 200 "discard it"

step "preview: a sample paper with keys, the same for the same seed, not stored"
# a stored preview would be a session with its seed (42); the tests beside this one make
# sessions of their own with random seeds, so the whole table's count is not this test's
N0=$(sql "SELECT COUNT(*) FROM exam_session WHERE seed = 42")
api POST /qbank/preview '{"category":"临床","paper":"业务水平","seed":42}' "$QB"
expect 200
eq "$(j '.questions | length')" "$(jq .question_count "$TMP/bp.json")" "questions of the preview"
jq -e '.questions | all(.answer != null and .options.A != null)' "$TMP/body" >/dev/null || fail "a question without its key"
A=$(j '[.questions[].id] | join(",")')
api POST /qbank/preview '{"category":"临床","paper":"业务水平","seed":42}' "$PROV"
expect 200
eq "$(j '[.questions[].id] | join(",")')" "$A" "same seed, same paper"
eq "$(sql "SELECT COUNT(*) FROM exam_session WHERE seed = 42")" "$N0" "sessions of the previews' seed after them"
[ "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'qbank_preview' AND actor_id = $QBA_ID")" = 1 ] ||
    fail "the preview is not audited as a view"

step "version isolation: a session started before a publish keeps its paper and keys"
to_tests
exam POST /sessions '{"paper":"公共知识"}' "$PT"
[ "$code" = 200 ] || [ "$code" = 201 ] || fail "start: HTTP $code $(cat "$TMP/body")"
SID=$(j .session_id)
[ "$(sql "SELECT JSON_EXTRACT(paper_json, '\$.pass_mark') IS NOT NULL FROM exam_session WHERE id = '$SID'")" = 1 ] ||
    fail "the session does not keep the pass mark it was drawn under"
exam GET "/sessions/$SID" "" "$PT"
expect 200
jq -c .paper_detail "$TMP/body" >"$TMP/paper-before.json"
ENC=$(sql "SELECT JSON_UNQUOTE(JSON_EXTRACT(paper_json, '\$.enc')) FROM exam_session WHERE id = '$SID'")
IDS=$(echo "$ENC" | cut -d';' -f5 | tr ',' '\n' | cut -d: -f1)
IN=$(echo "$IDS" | sed "s/.*/'&'/" | paste -sd,)
EDIT=$(sql "SELECT id FROM qb_question WHERE id IN ($IN) AND group_id IS NULL AND qtype <> 'X' ORDER BY id LIMIT 1")
GONE=$(sql "SELECT id FROM qb_question WHERE id IN ($IN) AND id <> '$EDIT' AND group_id IS NULL ORDER BY id DESC LIMIT 1")
[ -n "$EDIT" ] && [ -n "$GONE" ] || fail "no single question in the paper"
api GET "/qbank/questions/$EDIT" "" "$QB"
expect 200
OLDKEY=$(j .answer)
NEWKEY=$([ "$OLDKEY" = A ] && echo B || echo A)
jq -c "{question: {id, category, paper, section, type, stem: (.stem + \"（修订$RUN）\"), options, answer: \"$NEWKEY\"}}" \
    "$TMP/body" >"$TMP/rev.json"
api POST "/qbank/questions/$EDIT/revise" "$(cat "$TMP/rev.json")" "$QB"
expect 201 "revise a question of the live paper"
RE=$(j .id)
api POST /qbank/retirements "{\"ids\":[\"$GONE\"]}" "$QB"
expect 201
RG=$(j .id)
api POST "/qbank/releases/$RE/publish" "" "$QB"
expect 200
api POST "/qbank/releases/$RG/publish" "" "$QB"
expect 200
V=$(j .bank_version)
for _ in $(seq 100); do # examd reloads the new version
    grep -q "question bank reloaded .*version=$V" "$TMP/examd.log" && break
    sleep 0.1
done
grep -q "question bank reloaded .*version=$V" "$TMP/examd.log" || fail "examd did not reload version $V"
exam GET "/sessions/$SID" "" "$PT"
expect 200
jq -c .paper_detail "$TMP/body" >"$TMP/paper-after.json"
cmp -s "$TMP/paper-before.json" "$TMP/paper-after.json" || fail "the live paper changed after the publish"
grep -q "修订$RUN" "$TMP/paper-after.json" && fail "the live paper shows the revised text"
# answer every question with the keys the paper was drawn with (the old key of $EDIT)
answer_right "$PT" "$SID"
exam POST "/sessions/$SID/submit" "" "$PT"
expect 200 "submit"
eq "$(sql "SELECT CONCAT(score, '/', total) FROM exam_result WHERE session_id = '$SID'")" \
   "$(wc -l <"$TMP/answers")/$(wc -l <"$TMP/answers")" "score with the keys it was drawn with"

stop_examd
stop_admind
echo "PASS test_qbank"
