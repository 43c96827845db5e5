#!/usr/bin/env bash
# Exports as spreadsheets and the PDF certificate with its public verification (issue 16,
# items 11 and 12):
#   - ?format=xlsx of 考核进度, 测评进度, 历史考核结果, 考核统计, the 不合格 list, 医师列表 and
#     the CME sign-in sheet opens as a workbook (read back through openpyxl, not by bytes):
#     title, header, rows, ID numbers masked;
#   - the formula attack: a name starting with = + - @ TAB is a string cell (never a
#     formula) in the text format, the same in the CSV (a leading ');
#   - scopes: a physician 403, an institution only its own, another region nothing, the
#     不合格 list the authority's; every export audited with its format and row count;
#   - export_max_rows: past it 413, nothing sent;
#   - the certificate as a PDF (pdftotext reads it back) and as seed [004]'s picture (PNG): physician, institution and authority
#     download it, the 考核机构 and other physicians do not, a 不合格 has none; audited;
#   - the public check by the code of the QR: genuine (masked ID), forged, malformed,
#     revoked (the enrolment no longer 合格), and its limit per address (429).
ADMIND=$1
. "$(dirname "$0")/lib.sh"
need
PY=/usr/bin/python3
$PY -c 'import openpyxl' 2>/dev/null || { echo "SKIP: /usr/bin/python3 has no openpyxl (python3-openpyxl)"; exit 77; }
command -v pdftotext >/dev/null || { echo "SKIP: pdftotext is not installed (poppler-utils)"; exit 77; }
[ "$(sql "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE()
          AND table_name = 'certificate' AND column_name = 'verify_code'")" = 1 ] ||
    { echo "SKIP: migration 013_certificate_verify.sql is not applied"; exit 77; }
export DK_CERT_VERIFY_URL="http://verify.example/verify.html?code="
start_admind

# download PATH TOKEN FILE -> $code, headers in $TMP/h
download() {
    code=$(curl -s -D "$TMP/h" -o "$3" -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/api/v1$1" \
        ${2:+-H "Authorization: Bearer $2"})
}
# xlsx FILE -> JSON {sheets:[{title, rows:[[…]], types:[[…]], formats:[[…]]}]} via openpyxl
xlsx() {
    $PY - "$1" <<'PY'
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = []
for ws in wb.worksheets:
    rows, types, fmts = [], [], []
    for r in ws.iter_rows():
        rows.append([c.value for c in r]); types.append([c.data_type for c in r])
        fmts.append([c.number_format for c in r])
    out.append({"title": ws.title, "rows": rows, "types": types, "formats": fmts})
print(json.dumps({"sheets": out}, ensure_ascii=False))
PY
}
audits() { sql "SELECT COUNT(*) FROM audit_log WHERE action = '$1' AND actor_id = $2"; }

step "world: A passes (certificate), B fails (不合格), names that attack a spreadsheet"
setup_world
exempted_to_last_review
A_EID=$EID A_PT=$PT A_PID=$PID A_IDN=$PIDN
act "$A_EID" assessor_pass "$H2"
expect 200
eq "$(sql "SELECT CONCAT(status, result) FROM enrolment WHERE id = $A_EID")" 考核完成合格 "A passed"
enrol "$H1" "$DEPT" 一般程序
B_EID=$EID B_PT=$PT B_PID=$PID B_IDN=$PIDN
submit "$B_EID" "$B_PT"
act "$B_EID" inst_pass "$H1" '"work_result":"合格","ethics_result":"不合格","ethics_reason":"收受红包","quantity_result":"合格"'
expect 200
act "$B_EID" assessor_pass "$H2"
expect 200
eq "$(sql "SELECT CONCAT(status, result) FROM enrolment WHERE id = $B_EID")" 考核完成不合格 "B failed"
# the attack as stored data (an import, a registry file): it must come out as text
ATTACK_A='=HYPERLINK("http://evil.example","点我")' ATTACK_B='@SUM(1+1)'
sql "UPDATE physician SET name = '=HYPERLINK(\"http://evil.example\",\"点我\")' WHERE id = $A_PID;
     UPDATE physician SET name = '@SUM(1+1)', title = CONCAT(CHAR(9), '+cmd|x'), practice_scope = '-2+3' WHERE id = $B_PID"

step "考核进度 as XLSX: title, header, rows, masked ID numbers, the formula guard"
download "/institution/progress?format=xlsx" "$H1" "$TMP/p.xlsx"
expect 200 "progress xlsx"
grep -qi '^Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' "$TMP/h" || fail "xlsx content type"
grep -qi "^Content-Disposition: attachment; filename=\"progress-$CYCLE_ID.xlsx\"" "$TMP/h" || fail "xlsx file name"
xlsx "$TMP/p.xlsx" >"$TMP/p.json" || fail "openpyxl cannot open the progress export"
P=$TMP/p.json
eq "$(jq -r '.sheets[0].title' "$P")" 考核进度 "sheet name"
jq -r '.sheets[0].rows[0][0]' "$P" | grep -q "^考核进度 · 测试周期 $RUN" || fail "title row: $(jq -c '.sheets[0].rows[0]' "$P")"
eq "$(jq -r '.sheets[0].rows[1][0:4] | join(",")' "$P")" "序号,医疗卫生机构,姓名,性别" "header row"
eq "$(jq '.sheets[0].rows | length' "$P")" 4 "title + header + 2 physicians"
eq "$(jq -r '.sheets[0].rows[2][0]' "$P")" 1 "序号 is a number"
grep -q "$A_IDN\|$B_IDN" "$P" && fail "a whole ID number in the export"
jq -r '.sheets[0].rows[2][5]' "$P" | grep -q '\*' || fail "ID number masked: $(jq -r '.sheets[0].rows[2][5]' "$P")"
jq -e '[.sheets[].types[][]] | index("f") | not' "$P" >/dev/null || fail "a formula cell in the export"
# the attacking cells: strings, exactly as stored, in the text format
$PY - "$P" "$ATTACK_A" "$ATTACK_B" <<'PY' || fail "formula guard"
import json, sys
d = json.load(open(sys.argv[1]))["sheets"][0]
want = {sys.argv[2], sys.argv[3], "\t+cmd|x"}
seen = set()
for r, t, f in zip(d["rows"], d["types"], d["formats"]):
    for v, ty, fm in zip(r, t, f):
        if isinstance(v, str) and v in want:
            assert ty == "s", (v, ty)
            assert fm == "@", (v, fm)
            seen.add(v)
assert seen == want, seen
PY
eq "$(audits export_progress "$H1_ID")" 1 "the export is audited"
eq "$(sql "SELECT CONCAT(JSON_VALUE(detail, '\$.format'), '/', JSON_VALUE(detail, '\$.rows'), '/', entity_type, '/', entity_id) FROM audit_log WHERE action = 'export_progress' AND actor_id = $H1_ID")" \
    "xlsx/2/institution/$H1_ID" "audit detail"

step "the same list as CSV: the guard there is a leading '"
download "/institution/progress?format=csv" "$H1" "$TMP/p.csv"
expect 200 "progress csv"
grep -q "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"点我\"\")\"" "$TMP/p.csv" || fail "CSV guard: $(cat "$TMP/p.csv")"
grep -q "\"'@SUM(1+1)\"" "$TMP/p.csv" || fail "CSV guard of @"
download "/institution/progress?format=pdf" "$H1" "$TMP/x"
expect 400 "an unknown format"

step "测评进度, 历史考核结果, 医师列表 as XLSX"
download "/institution/test-progress?format=xlsx" "$H1" "$TMP/t.xlsx"
expect 200 "test progress xlsx"
xlsx "$TMP/t.xlsx" >"$TMP/t.json" || fail "openpyxl: test progress"
eq "$(jq -r '.sheets[0].rows[1] | index("测评科目") != null' "$TMP/t.json")" true "test progress header"
download "/institution/history?format=xlsx" "$H1" "$TMP/hi.xlsx"
expect 200 "history xlsx"
xlsx "$TMP/hi.xlsx" >"$TMP/hi.json" || fail "openpyxl: history"
eq "$(jq '.sheets[0].rows | length' "$TMP/hi.json")" 4 "history rows"
jq -r '.sheets[0].rows[2:][] | map(tostring) | join("|")' "$TMP/hi.json" | grep -q "合格|.*|是$" ||
    fail "history: the passed one shows its certificate: $(jq -c '.sheets[0].rows' "$TMP/hi.json")"
jq -r '.sheets[0].rows[2:][] | map(tostring) | join("|")' "$TMP/hi.json" | grep -q "20[0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]" ||
    fail "history: completion time in Beijing time"
download "/institution/physicians/export?format=xlsx&tab=confirmed" "$H1" "$TMP/ph.xlsx"
expect 200 "physicians xlsx"
xlsx "$TMP/ph.xlsx" >"$TMP/ph.json" || fail "openpyxl: physicians"
eq "$(jq -r '.sheets[0].rows[0][6]' "$TMP/ph.json")" 证件号码 "physicians header (no title row)"
grep -q "$A_IDN\|$B_IDN" "$TMP/ph.json" && fail "a whole ID number in the physician export"
eq "$(audits export_physicians "$H1_ID")" 1 "physician export audited"

step "scopes: a physician 403; 考核机构 H2 sees none of H1's; another region nothing"
download "/institution/progress?format=xlsx" "$A_PT" "$TMP/x"
expect 403 "a physician exports nothing"
download "/authority/failed?format=xlsx" "$H1" "$TMP/x"
expect 403 "the 不合格 list is the authority's"
download "/institution/progress?format=xlsx" "$H2" "$TMP/h2.xlsx"
expect 200 "H2's own progress"
xlsx "$TMP/h2.xlsx" >"$TMP/h2.json"
eq "$(jq '.sheets[0].rows | length' "$TMP/h2.json")" 2 "H2 exports no row of H1"
download "/institution/progress?format=xlsx" "" "$TMP/x"
expect 401 "no token"
make_region Z
ZP=$(login authority "t$RUN-Z-prov" "$PASSWORD") || fail "login of the other province: $ZP"
download "/institution/history?format=xlsx" "$ZP" "$TMP/z.xlsx"
expect 200 "another province's history"
xlsx "$TMP/z.xlsx" >"$TMP/z.json"
eq "$(jq '.sheets[0].rows | length' "$TMP/z.json")" 2 "another province exports none of ours"
download "/institution/progress?format=xlsx&cycle_id=$CYCLE_ID" "$ZP" "$TMP/x"
expect 404 "another province's cycle is not visible"

step "考核统计 and the 不合格 list (authority)"
download "/authority/stats?format=xlsx" "$CITY" "$TMP/s.xlsx"
expect 200 "stats xlsx"
xlsx "$TMP/s.xlsx" >"$TMP/s.json" || fail "openpyxl: stats"
$PY - "$TMP/s.json" "测试医院1-$RUN" <<'PY' || fail "stats rows: $(jq -c '.sheets[0].rows' "$TMP/s.json")"
import json, sys
rows = json.load(open(sys.argv[1]))["sheets"][0]["rows"]
head = rows[1]
h1 = [r for r in rows[2:] if r[2] == sys.argv[2]][0]
total = rows[-1]
assert head[4] == "确认参加" and head[-1] == "最终完成率(%)", head
assert h1[head.index("确认参加")] == 2 and h1[head.index("合格")] == 1 and h1[head.index("不合格")] == 1, h1
assert h1[head.index("最终完成率(%)")] == 100, h1
assert total[2] == "合计" and total[head.index("考核完成")] >= 2, total
PY
eq "$(audits export_stats "$(sql "SELECT id FROM authority_account WHERE username = 't$RUN-A-city'")")" 1 "stats export audited"
api GET /authority/failed "" "$COUNTY"
expect 200 "不合格 list"
eq "$(j '[.items[].enrolment_id] | join(",")')" "$B_EID" "only B is 不合格"
download "/authority/failed?format=xlsx" "$COUNTY" "$TMP/u.xlsx"
expect 200 "不合格 xlsx"
xlsx "$TMP/u.xlsx" >"$TMP/u.json" || fail "openpyxl: 不合格"
eq "$(jq '.sheets[0].rows | length' "$TMP/u.json")" 3 "title + header + B"
eq "$(jq -r '.sheets[0].rows[1][-2:] | join(",")' "$TMP/u.json")" "注销注册办理日期,收回执业证书办理日期" \
    "the sheet has the dates of the steps the authority recorded"
eq "$(jq -r '.sheets[0].rows[2][3]' "$TMP/u.json")" "$ATTACK_B" "B's name, as text"
jq -r '.sheets[0].rows[2] | map(tostring) | join("|")' "$TMP/u.json" | grep -q 职业道德不合格 || fail "the reason is in the list"
download "/authority/failed?format=xlsx" "$ZP" "$TMP/x"
[ "$code" = 404 ] || [ "$code" = 200 ] || fail "another region: HTTP $code"

step "the PDF certificate: who may download it"
download "/enrolments/$A_EID/certificate?format=pdf" "$A_PT" "$TMP/a.pdf"
expect 200 "the physician's PDF"
grep -qi '^Content-Type: application/pdf' "$TMP/h" || fail "pdf content type"
head -c 5 "$TMP/a.pdf" | grep -q '%PDF-' || fail "not a PDF"
pdftotext -layout "$TMP/a.pdf" "$TMP/a.txt" || fail "pdftotext cannot read the certificate"
CERT=$(sql "SELECT cert_no FROM certificate WHERE enrolment_id = $A_EID")
CODE=$(sql "SELECT verify_code FROM certificate WHERE enrolment_id = $A_EID")
[ ${#CODE} = 20 ] || fail "verification code '$CODE'"
tr -d ' \n' <"$TMP/a.txt" >"$TMP/a.flat" # the address may wrap
for want in 医师定期考核合格证书 "$CERT" "测试县${RUN}A" "验证码：$CODE" "http://verify.example/verify.html?code=$CODE" 发证机关 合格; do
    grep -qF -- "$want" "$TMP/a.flat" || fail "the PDF lacks '$want': $(cat "$TMP/a.txt")"
done
download "/enrolments/$A_EID/certificate?format=png" "$H1" "$TMP/a1.png"
expect 200 "the institution's picture (seed [004] 下载证书)"
grep -qi '^Content-Type: image/png' "$TMP/h" || fail "png content type"
eq "$($PY -c 'import struct,sys; b=open(sys.argv[1],"rb").read(24); assert b[:8]==b"\x89PNG\r\n\x1a\n", b; print("%dx%d" % struct.unpack(">II", b[16:24]))' "$TMP/a1.png")" 1684x1190 "the picture: A4 landscape, twice the points"
download "/enrolments/$A_EID/certificate?format=pdf" "$H1" "$TMP/a1.pdf"
expect 200 "the institution's PDF"
download "/enrolments/$A_EID/certificate?format=pdf" "$COUNTY" "$TMP/a2.pdf"
expect 200 "the authority's PDF"
download "/enrolments/$A_EID/certificate?format=pdf" "$PROV" "$TMP/a3.pdf"
expect 200 "the province's PDF"
download "/enrolments/$A_EID/certificate?format=pdf" "$H2" "$TMP/x"
expect 403 "the 考核机构 does not print the certificate"
download "/enrolments/$A_EID/certificate?format=pdf" "$B_PT" "$TMP/x"
expect 403 "another physician"
download "/enrolments/$A_EID/certificate?format=pdf" "$ZP" "$TMP/x"
expect 403 "another province"
download "/enrolments/$B_EID/certificate?format=pdf" "$H1" "$TMP/x"
expect 409 "不合格 has no certificate"
download "/enrolments/$A_EID/certificate?format=docx" "$H1" "$TMP/x"
expect 400 "an unknown format"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'certificate_download' AND entity_id = '$A_EID'")" 5 "five downloads audited"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'certificate_download' AND entity_id = '$A_EID' AND JSON_VALUE(detail, '\$.format') = 'png'")" 1 "the picture's download names its format"
eq "$(sql "SELECT COUNT(DISTINCT verify_code) FROM certificate WHERE enrolment_id = $A_EID")" 1 "one code, kept"

step "the public check: genuine, forged, malformed, revoked"
download "/public/certificates/$CODE" "" "$TMP/v.json"
expect 200 "genuine"
eq "$(jq -r '[.status, .valid, .cert_no, .result] | join("/")' "$TMP/v.json")" "valid/true/$CERT/合格" "genuine answer"
eq "$(jq -r .name "$TMP/v.json")" "$ATTACK_A" "the name"
jq -r .id_number "$TMP/v.json" | grep -q '\*' || fail "the ID number is masked"
grep -q "$A_IDN" "$TMP/v.json" && fail "the whole ID number on the public page"
jq -r .cycle "$TMP/v.json" | grep -q "测试周期 $RUN" || fail "the cycle"
download "/public/certificates/$(echo "$CODE" | tr 'A-Z' 'a-z')" "" "$TMP/v.json"
expect 200 "the code in lower case"
FORGED=$(echo "$CODE" | rev)
[ "$FORGED" = "$CODE" ] && FORGED=00000000000000000000
download "/public/certificates/$FORGED" "" "$TMP/v.json"
expect 404 "a forged code"
jq -r .error.message "$TMP/v.json" | grep -q 伪造 || fail "forged: $(cat "$TMP/v.json")"
download "/public/certificates/$CERT" "" "$TMP/v.json"
expect 404 "the (guessable) certificate number is not a key"
download "/public/certificates/..%2F..%2Fetc" "" "$TMP/v.json"
expect 404 "a malformed code"
sql "UPDATE enrolment SET status = '待确认补考', result = NULL WHERE id = $A_EID"
download "/public/certificates/$CODE" "" "$TMP/v.json"
expect 200 "revoked"
eq "$(jq -r '[.status, .valid] | join("/")' "$TMP/v.json")" "revoked/false" "a certificate no longer 合格"
jq -r .message "$TMP/v.json" | grep -q 已撤销 || fail "revoked message"
jq -r '[.message, .result] | join(" ")' "$TMP/v.json" | grep -q '作弊\|待确认补考\|不合格' &&
    fail "the public page tells why a certificate was revoked or the holder's status: $(cat "$TMP/v.json")"
sql "UPDATE enrolment SET status = '考核完成', result = '合格' WHERE id = $A_EID"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'certificate_verify' AND entity_id = '$A_EID'")" 3 "named answers audited"

step "limits: export_max_rows (413) and public checks per address (429)"
stop_admind
export DK_EXPORT_MAX_ROWS=1 DK_CERT_VERIFY_MAX=2
start_admind
N0=$(audits export_progress "$H1_ID")
download "/institution/progress?format=xlsx" "$H1" "$TMP/x"
expect 413 "two rows past a cap of one"
grep -q "导出行数超过上限（1 行）" "$TMP/x" || fail "cap message: $(cat "$TMP/x")"
eq "$(audits export_progress "$H1_ID")" "$N0" "a refused export is not audited as sent"
download "/institution/progress?format=xlsx&name=$(jq -rn --arg n "$ATTACK_B" '$n|@uri')" "$H1" "$TMP/one.xlsx"
expect 200 "one row fits"
# the counter of this address starts afresh (the checks above counted under the default)
redis-cli -p "$DK_REDIS_PORT" DEL "limit:cert_verify:$((2130706432 + ${SRC##*.}))" >/dev/null
for i in 1 2; do
    download "/public/certificates/$CODE" "" "$TMP/x"
    expect 200 "check $i"
done
download "/public/certificates/$CODE" "" "$TMP/x"
expect 429 "the third check from one address"

step "SIGTERM"
stop_admind
echo "PASS: XLSX exports (openpyxl), formula guard, scopes, audit, caps; PDF certificate and its public check"
