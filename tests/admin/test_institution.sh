#!/usr/bin/env bash
# An institution's own work against the real stack: departments (关联诊疗科目, 停用/启用,
# delete only when empty), physicians (add, CSV import with per-row errors and a dry run,
# list filters of the seed: 科室, 姓名, 证件号码 in its 15- and 18-digit forms, 年龄,
# 首次注册时间; masked ID numbers; CSV export), 批量参加 with per-physician results, 取消参加,
# 重置密码, 离岗 then 调入 by another institution, 删除, and the 403s of another institution.
ADMIND=$1
. "$(dirname "$0")/lib.sh"
need
start_admind

# new_id15 REGION_CODE -> a fresh 15-digit number whose 18-digit form is free too
new_id15() {
    local id full
    for _ in $(seq 50); do
        local days=$(( $(od -An -tu4 -N4 /dev/urandom) % 12000 ))
        id="$1$(date -u -d "1940-01-01 + $days days" +%y%m%d)$(printf '%03d' $(( $(od -An -tu4 -N4 /dev/urandom) % 1000 )))"
        full=$(sql "SELECT 1 FROM physician WHERE id_number = '$id'")
        [ -z "$full" ] && { echo "$id"; return; }
    done
    fail "no free 15-digit ID"
}

step "world"
setup_world
api POST /authority/institutions "{\"name\":\"测试医院3-$RUN\"}" "$COUNTY"
H3_CODE=$(j .code)
H3=$(first_login institution "$H3_CODE")

step "departments: subjects, 停用/启用, another institution's is 403"
api GET /subjects "" "$H1"
expect 200
[ "$(j '.items | length')" -ge 30 ] || fail "subjects"
S04=$(j '.items[] | select(.code == "04") | .id')
S05=$(j '.items[] | select(.code == "05") | .id')
api POST /institution/departments "{\"name\":\"外科\",\"subject_ids\":[$S04]}" "$H1"
expect 201
SURG=$(j .id)
api POST /institution/departments "{\"name\":\"外科\",\"subject_ids\":[$S04]}" "$H1"
expect_msg 409 "同名" "duplicate department"
api POST /institution/departments '{"name":"空科室","subject_ids":[]}' "$H1"
expect 400 "a department needs a subject"
api PUT "/institution/departments/$SURG" "{\"name\":\"普外科\",\"subject_ids\":[$S04,$S05]}" "$H1"
expect 200
api GET /institution/departments "" "$H1"
eq "$(j ".items[] | select(.id == $SURG) | [.name, (.subjects | length)] | join(\",\")")" "普外科,2" "department edited"
api POST "/institution/departments/$SURG/disable" "" "$H3"
expect 403 "another institution's department"
api POST "/institution/departments/$SURG/disable" "" "$H1"
expect 200
api GET /institution/departments "" "$H1"
eq "$(j ".items[] | select(.id == $SURG) | .state")" 已停用 "disabled"

step "physicians: add (18 and 15 digits), invalid and duplicate ID numbers"
ID18=$(new_id "$A_COUNTY")
api POST /institution/physicians "{\"name\":\"甲医师\",\"id_number\":\"$ID18\",\"practice_level\":\"执业医师\",\"practice_category\":\"临床\",\"department_id\":$DEPT,\"first_registration_date\":\"2005-03-01\"}" "$H1"
expect 201
P1=$(j .id)
ID15=$(new_id15 "$A_COUNTY")
api POST /institution/physicians "{\"name\":\"乙医师\",\"id_number\":\"$ID15\",\"practice_level\":\"执业助理医师\",\"practice_category\":\"中医\",\"department_id\":$DEPT,\"first_registration_date\":\"2015-03-01\"}" "$H1"
expect 201
P2=$(j .id)
eq "$(sql "SELECT CONCAT(birth_date, sex IS NOT NULL) FROM physician WHERE id = $P2")" \
    "19${ID15:6:2}-${ID15:8:2}-${ID15:10:2}1" "birth date and sex from the ID number"
last=${ID18:17:1}
WRONG=${ID18:0:17}$([ "$last" = X ] && echo 0 || echo $(( (last + 1) % 10 )))
api POST /institution/physicians "{\"name\":\"丙\",\"id_number\":\"$WRONG\",\"practice_level\":\"执业医师\",\"practice_category\":\"临床\"}" "$H1"
expect_msg 400 "有效" "wrong check digit"
api POST /institution/physicians "{\"name\":\"丙\",\"id_number\":\"$ID18\",\"practice_level\":\"执业医师\",\"practice_category\":\"临床\"}" "$H3"
expect_msg 409 "调入" "the same ID number elsewhere"
api POST /institution/physicians "{\"name\":\"丙\",\"id_number\":\"$(new_id "$A_COUNTY")\",\"practice_level\":\"执业医师\",\"practice_category\":\"临床\",\"department_id\":$SURG}" "$H1"
expect_msg 400 "已启用的科室" "a disabled department"
api POST "/institution/departments/$SURG/enable" "" "$H1"
expect 200

step "CSV import: dry run, then per-row errors and the good rows"
GOOD1=$(new_id "$A_COUNTY"); GOOD2=$(new_id "$A_COUNTY")
cat >"$TMP/import.csv" <<CSV
姓名*,证件号码*,科室,医师级别*,执业类别*,首次注册时间,手机号码
丁医师,$GOOD1,内科,执业医师,临床,2012-07-01,13900000001
戊医师,12345,内科,执业医师,临床,2012-07-01,
己医师,$ID18,内科,执业医师,临床,,
庚医师,$(new_id "$A_COUNTY"),眼科,执业医师,临床,,
辛医师,$(new_id "$A_COUNTY"),内科,主任医师,临床,,
,$(new_id "$A_COUNTY"),内科,执业医师,临床,,
"壬,医师",$GOOD2,普外科,执业医师,口腔,2013-07-01,
癸医师,$(new_id "$A_COUNTY"),内科
CSV
upload POST "/institution/physicians/import?dry_run=1" "$TMP/import.csv" text/csv "$H1"
expect 200 "dry run"
eq "$(j '[.dry_run, .imported, .failed] | map(tostring) | join(",")')" "true,2,6" "dry run counts"
eq "$(sql "SELECT COUNT(*) FROM physician WHERE id_number IN ('$GOOD1', '$GOOD2')")" 0 "a dry run creates nobody"
upload POST /institution/physicians/import "$TMP/import.csv" text/csv "$H1"
expect 200 "import"
eq "$(j '[.imported, .failed] | map(tostring) | join(",")')" "2,6" "import counts"
eq "$(j '[.errors[].row] | map(tostring) | join(",")')" "3,4,5,6,7,9" "rows with errors"
j '.errors[] | select(.row == 4) | .error' | grep -q 调入 || fail "duplicate row message"
j '.errors[] | select(.row == 5) | .error' | grep -q 眼科 || fail "unknown department message"
j '.errors[] | select(.row == 9) | .error' | grep -q 列数 || fail "column count message"
eq "$(sql "SELECT COUNT(*) FROM physician WHERE id_number IN ('$GOOD1', '$GOOD2') AND source = '批量导入'")" 2 "imported rows"
printf '姓名,证件号码,血型\n' >"$TMP/bad.csv"
upload POST /institution/physicians/import "$TMP/bad.csv" text/csv "$H1"
expect_msg 400 "血型" "unknown column"

step "list filters of the seed, masked ID numbers, export"
api GET "/institution/physicians?tab=unconfirmed&page_size=50" "" "$H1"
expect 200
eq "$(j .total)" 4 "four unconfirmed physicians"
j '.items[].id_number' | grep -qv '\*' && fail "an ID number in the list is not masked"
ID15_18=$(sql "SELECT CONCAT(LEFT('$ID15', 6), '19', SUBSTRING('$ID15', 7))")  # without the check digit
api GET "/institution/physicians?id_number=$ID15" "" "$H1"
eq "$(j '.items[0].physician_id')" "$P2" "search by the 15-digit number"
FULL18=$(python3 -c "
w=[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2];s='$ID15_18'
print(s+'10X98765432'[sum(int(c)*x for c,x in zip(s,w))%11])")
api GET "/institution/physicians?id_number=$FULL18" "" "$H1"
eq "$(j '.items[0].physician_id')" "$P2" "a 15-digit record found by its 18-digit form"
api GET "/institution/physicians?name=甲" "" "$H1"
eq "$(j .total)" 1 "name filter"
api GET "/institution/physicians?department_id=$SURG" "" "$H1"
eq "$(j '.items[0].name')" "壬,医师" "department filter"
api GET "/institution/physicians?first_reg_from=2014-01-01&first_reg_to=2016-12-31" "" "$H1"
eq "$(j '[.items[].physician_id] | join(",")')" "$P2" "首次注册时间 filter"
AGE=$(sql "SELECT TIMESTAMPDIFF(YEAR, birth_date, CURDATE()) FROM physician WHERE id = $P1")
api GET "/institution/physicians?age_min=$AGE&age_max=$AGE&name=甲" "" "$H1"
eq "$(j .total)" 1 "age filter"
api GET "/institution/physicians?age_min=abc" "" "$H1"
expect 400 "bad filter"
code=$(curl -s -D "$TMP/h" -o "$TMP/export.csv" -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/api/v1/institution/physicians/export" -H "Authorization: Bearer $H1")
expect 200 "export"
grep -qi '^Content-Type: text/csv' "$TMP/h" || fail "export content type"
grep -qi '^Content-Disposition: attachment' "$TMP/h" || fail "export disposition"
head -1 "$TMP/export.csv" | grep -q '证件号码' || fail "export header"
eq "$(($(wc -l <"$TMP/export.csv") - 1))" 4 "export rows"
grep -q "$ID18" "$TMP/export.csv" && fail "the export shows a whole ID number"
grep -q '"壬,医师"' "$TMP/export.csv" || fail "export quoting"

step "批量参加 with per-physician results, 取消参加"
api POST /institution/physicians "{\"name\":\"外院医师\",\"id_number\":\"$(new_id "$A_COUNTY")\",\"practice_level\":\"执业医师\",\"practice_category\":\"临床\"}" "$H3"
P_OTHER=$(j .id)
api POST /institution/physicians/confirm-batch "{\"physician_ids\":[$P1,$P2,$P_OTHER,$P1]}" "$H1"
expect 200 "batch"
eq "$(j '[.confirmed, .failed] | map(tostring) | join(",")')" "2,2" "batch counts"
eq "$(j '[.results[] | select(.ok == false) | .error.code] | join(",")')" "forbidden,conflict" "batch errors"
api GET "/institution/physicians?tab=confirmed" "" "$H1"
eq "$(j .total)" 2 "confirmed tab"
api POST "/institution/physicians/$P2/cancel" "" "$H1"
expect 200 "cancel"
api GET "/institution/physicians?tab=confirmed" "" "$H1"
eq "$(j .total)" 1 "after the cancel"

step "重置密码"
ACCT=$(sql "SELECT account FROM physician WHERE id = $P1")
PT=$(first_login physician "$ACCT")
api POST "/institution/physicians/$P1/reset-password" "" "$H3"
expect 403 "another institution resets"
api POST "/institution/physicians/$P1/reset-password" "" "$H1"
expect 200
api POST /login "{\"type\":\"physician\",\"account\":\"$ACCT\",\"password\":\"666666\",$(proof physician "$ACCT")}" ""
expect 200 "login with the initial password (and the identity step) again"
eq "$(j .must_change_password)" true "forced change after the reset"

step "离岗, then 调入 by another institution (with the 15-digit number); 删除"
api POST "/institution/physicians/$P2/leave" '{"reason":"调动"}' "$H3"
expect 403 "another institution's physician leaves"
api POST "/institution/physicians/$P2/leave" '{"reason":"调动"}' "$H1"
expect 200 "离岗"
api GET "/institution/physicians?status=离岗" "" "$H1"
eq "$(j '.items[0].physician_id')" "$P2" "离岗 list"
api GET "/institution/transfer-candidates?id_number=$FULL18" "" "$H3"
expect 200
eq "$(j '.items[0] | [.physician_id, .can_transfer] | map(tostring) | join(",")')" "$P2,true" "candidate found by the other form"
api POST /institution/physicians/transfer-in "{\"id_number\":\"$ID15\",\"department_id\":$DEPT}" "$H3"
expect 400 "another institution's department"
api POST /institution/physicians/transfer-in "{\"id_number\":\"$ID15\"}" "$H3"
expect 200 "调入"
eq "$(sql "SELECT CONCAT(p.status, i.code) FROM physician p JOIN institution i ON i.id = p.institution_id WHERE p.id = $P2")" "在岗$H3_CODE" "moved"
eq "$(sql "SELECT GROUP_CONCAT(kind ORDER BY id) FROM physician_transfer WHERE physician_id = $P2")" "离岗,调入" "transfer history"
api GET "/institution/physicians/$P2" "" "$H1"
expect 403 "the old institution no longer sees the physician"
api POST /institution/physicians/transfer-in "{\"id_number\":\"$ID18\"}" "$H3"
expect_msg 409 "在岗" "调入 of a physician still at work"
api POST "/institution/physicians/$P1/leave" '{}' "$H1"
expect 200 "离岗 of a confirmed, unsubmitted physician cancels the participation"
eq "$(sql "SELECT COUNT(*) FROM enrolment WHERE physician_id = $P1")" 0 "participation cancelled by 离岗"
GOOD1_ID=$(sql "SELECT id FROM physician WHERE id_number = '$GOOD1'")
api DELETE "/institution/physicians/$GOOD1_ID" "" "$H1"
expect 200 "删除"
api GET "/institution/physicians/$GOOD1_ID" "" "$H1"
expect 404 "deleted"

step "a department with physicians cannot be deleted"
api DELETE "/institution/departments/$SURG" "" "$H1"
expect_msg 409 "还有" "department with a physician"
api POST /institution/departments "{\"name\":\"眼科\",\"subject_ids\":[$S04]}" "$H1"
EYE=$(j .id)
api DELETE "/institution/departments/$EYE" "" "$H1"
expect 200 "empty department deleted"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'department' AND entity_id = '$EYE'")" 2 "department audit"

step "SIGTERM"
stop_admind
echo "PASS: departments, physicians, import/export, batch, transfers"
