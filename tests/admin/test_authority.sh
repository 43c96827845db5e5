#!/usr/bin/env bash
# What an authority manages below itself and records about its area (issue 16 items 2, 3, 5,
# 6, 7, 9), against the real stack: units and accounts strictly below (403 for its own level,
# above it or another province), first login with 666666 + activation code, disable and reset
# revoking tokens (409 when already so), institutions edited, disabled and created from CSV
# (all or nothing, line-numbered errors, the row limit), conduct records (scope, limits, CSV,
# seen on the review page), the province's 电子化注册 link (manual adds and imports 409, the
# register import's added / changed / unchanged lines, dry run), 跟班带教修改申请 (states,
# version, scope, the home tile), the institution's 考核统计 and 补考管理, and the 不合格 list
# with its two recorded steps (409 on a second recording). Audit rows for each change.
ADMIND=$1
. "$(dirname "$0")/lib.sh"
need
[ "$(sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()
          AND table_name = 'result_action'")" = 1 ] ||
    { echo "SKIP: migration 012_authority.sql is not applied (deploy/migrate.sh)"; exit 77; }
start_admind

# wait_revoked PATH TOKEN: the token is refused (401) within seconds of a disable or reset
wait_revoked() {
    for _ in $(seq 50); do
        api GET "$1" "" "$2"
        [ "$code" = 401 ] && return 0
        sleep 0.1
    done
    fail "a revoked token still works on $1 (HTTP $code)"
}
audits() { sql "SELECT COUNT(*) FROM audit_log WHERE action = '$1' AND entity_type = '$2' AND entity_id = '$3'"; }

step "world: region A with its cycle and institutions, region B elsewhere"
setup_world
make_region B
BPROV=$(login authority "t$RUN-B-prov" "$PASSWORD")
BCOUNTY=$(login authority "t$RUN-B-county" "$PASSWORD")

step "units: a city opens a county; a county cannot; edits only below"
api POST /authority/authorities "{\"code\":\"$(printf '8%05d' $((RANDOM % 100000)))\",\"name\":\"新区卫健局$RUN\",\"contact_name\":\"王\"}" "$CITY"
expect 201 "city opens a county"
eq "$(j .admin_level)" county "level of the new unit"
NEWK=$(j .id)
eq "$(sql "SELECT path FROM authority WHERE id = $NEWK")" "/$A_PROV_ID/$A_CITY_ID/$NEWK/" "path of the new unit"
api POST /authority/authorities "{\"code\":\"$(printf '8%05d' $((RANDOM % 100000)))\",\"name\":\"不该有\"}" "$COUNTY"
expect 409 "a county has no units below"
api PUT "/authority/authorities/$A_PROV_ID" '{"name":"改省名"}' "$CITY"
expect 403 "a city edits the province"
api PUT "/authority/authorities/$A_CITY_ID" '{"name":"改市名"}' "$CITY"
expect 403 "a city edits itself"
api PUT "/authority/authorities/$NEWK" '{"contact_phone":"0351-2"}' "$PROV"
expect 200 "the province edits a county"
[ "$(audits create_authority authority "$NEWK")" = 1 ] || fail "audit of the unit"

step "accounts: the province opens a city account, scopes, duplicates, limits"
api POST /authority/accounts "{\"authority_id\":$A_CITY_ID,\"username\":\"t$RUN-newcity\",\"display_name\":\"市新账号\"}" "$PROV"
expect 201 "province creates a city account"
NEWCITY_ID=$(j .id)
eq "$(j .initial_password)" 666666
api POST /authority/accounts "{\"authority_id\":$A_CITY_ID,\"username\":\"t$RUN-newcity\",\"display_name\":\"重名\"}" "$PROV"
expect 409 "duplicate user name"
api POST /authority/accounts "{\"authority_id\":$A_PROV_ID,\"username\":\"t$RUN-prov2\",\"display_name\":\"省\"}" "$PROV"
expect 403 "an account at its own level"
api POST /authority/accounts "{\"authority_id\":$A_CITY_ID,\"username\":\"t$RUN-c2\",\"display_name\":\"市\"}" "$CITY"
expect 403 "a city opens a city account"
api POST /authority/accounts "{\"authority_id\":$B_COUNTY_ID,\"username\":\"t$RUN-b2\",\"display_name\":\"外省\"}" "$CITY"
expect 403 "another province's county"
api POST /authority/accounts "{\"authority_id\":$A_COUNTY_ID,\"username\":\"t$RUN-k2\",\"display_name\":\"县\"}" "$COUNTY"
expect 403 "a county opens accounts"
api POST /authority/accounts "{\"authority_id\":$A_COUNTY_ID,\"username\":\"a b\",\"display_name\":\"县\"}" "$CITY"
expect 400 "a user name with a blank"
LONG=$(printf '名%.0s' $(seq 65))
api POST /authority/accounts "{\"authority_id\":$A_COUNTY_ID,\"username\":\"t$RUN-k3\",\"display_name\":\"$LONG\"}" "$CITY"
expect_msg 400 "65 字" "a 65-character name"

step "the new city account: 666666 + activation code, must change, then opens a county account"
NC=$(login authority "t$RUN-newcity" 666666 "$(proof authority "t$RUN-newcity")")
api GET /authority/accounts "" "$NC"
expect 403 "must change the password first"
eq "$(j .error.code)" password_change_required
api POST /password "{\"old_password\":\"666666\",\"new_password\":\"$PASSWORD\"}" "$NC"
expect 200
NC=$(j .token)
api POST /authority/accounts "{\"authority_id\":$A_COUNTY_ID,\"username\":\"t$RUN-newcounty\",\"display_name\":\"县新账号\"}" "$NC"
expect 201 "the city opens a county account"
NEWCOUNTY_ID=$(j .id)
NK=$(first_login authority "t$RUN-newcounty")
api GET /authority/accounts "" "$NC"
expect 200
eq "$(j "[.items[] | select(.id == $NEWCOUNTY_ID)] | length")" 1 "the city lists its county's account"
eq "$(j "[.items[] | select(.id == $NEWCITY_ID)] | length")" 0 "the city does not list its own level"
api PUT "/authority/accounts/$NEWCOUNTY_ID" '{"display_name":"县改名"}' "$NC"
expect 200 "edit"
eq "$(j .display_name)" 县改名

step "disable revokes the tokens; twice is 409; enable; reset back to 666666"
api POST "/authority/accounts/$NEWCOUNTY_ID/disable" "" "$CITY"
expect 200 "disable"
api POST "/authority/accounts/$NEWCOUNTY_ID/disable" "" "$CITY"
expect_msg 409 "停用" "disable twice"
wait_revoked /authority/home "$NK"
api POST /login "{\"type\":\"authority\",\"account\":\"t$RUN-newcounty\",\"password\":\"$PASSWORD\"}" ""
expect 403 "a disabled account logs in"
api POST "/authority/accounts/$NEWCOUNTY_ID/enable" "" "$NC"
expect 200 "enable"
NK=$(login authority "t$RUN-newcounty" "$PASSWORD")
api POST "/authority/accounts/$NEWCOUNTY_ID/reset-password" "" "$NC"
expect 200 "reset"
[ -n "$(j .activation_code)" ] || fail "reset without an activation code"
wait_revoked /authority/home "$NK"
NK=$(first_login authority "t$RUN-newcounty")
api POST "/authority/accounts/$NEWCITY_ID/reset-password" "" "$NK"
expect 403 "a county resets its city"
for a in create_authority_account disable_account enable_account reset_password; do
    [ "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = '$a' AND entity_type = 'authority_account' AND entity_id IN ('$NEWCITY_ID', '$NEWCOUNTY_ID')")" -ge 1 ] || fail "no audit row $a"
done

step "institutions: edit, another province 403, disable revokes, twice 409, enable"
api PUT "/authority/institutions/$H1_ID" "{\"name\":\"测试医院1改-$RUN\",\"contact_phone\":\"0351-9\"}" "$COUNTY"
expect 200 "edit the institution"
eq "$(j .name)" "测试医院1改-$RUN"
api PUT "/authority/institutions/$H1_ID" '{"name":"外省改"}' "$BPROV"
expect 403 "another province edits"
api PUT "/authority/institutions/$H1_ID" '{"name":""}' "$COUNTY"
expect 400 "an empty name"
api POST "/authority/institutions/$H2_ID/disable" "" "$CITY"
expect 200 "disable H2"
api POST "/authority/institutions/$H2_ID/disable" "" "$CITY"
expect 409 "disable twice"
wait_revoked /institution/home "$H2"
api POST "/authority/institutions/$H2_ID/enable" "" "$BCOUNTY"
expect 403 "another province enables"
api POST "/authority/institutions/$H2_ID/enable" "" "$CITY"
expect 200 "enable H2"
H2=$(login institution "$H2_CODE" "$PASSWORD")
[ "$(audits disable_institution institution "$H2_ID")" = 1 ] || fail "audit of the disable"

step "institutions from CSV: all or nothing, line numbers, the area, the row limit"
printf '机构名称*,行政区划代码,机构类别,联系人\n批量医院A%s,%s,医院,张\n批量医院B%s,%s,,\n外省医院%s,%s,医院,李\n' \
    "$RUN" "$A_COUNTY" "$RUN" "$A_CITY" "$RUN" "$B_COUNTY" >"$TMP/inst.csv"
upload POST /authority/institutions/import "$TMP/inst.csv" text/csv "$CITY"
expect 400 "a row outside the area"
eq "$(j '.error.errors[0].row')" 4 "line of the error"
eq "$(sql "SELECT COUNT(*) FROM institution WHERE name LIKE '批量医院%$RUN'")" 0 "nothing imported"
printf '机构名称*,行政区划代码,机构类别,联系人\n批量医院A%s,%s,医院,张\n批量医院B%s,%s,,\n' \
    "$RUN" "$A_COUNTY" "$RUN" "$A_CITY" >"$TMP/inst.csv"
upload POST /authority/institutions/import "$TMP/inst.csv" text/csv "$CITY"
expect 201 "import"
eq "$(j .imported)" 2
BCODE=$(j '.created[0].code')
mkdir -p "$TMP/act" && j '.created[0].activation_code' >"$TMP/act/$BCODE"
first_login institution "$BCODE" >/dev/null
upload POST /authority/institutions/import "$TMP/inst.csv" text/csv "$CITY"
expect 400 "the same names again"
j '.error.errors[0].error' | grep -q 同名 || fail "the error names the duplicate"
{ echo '机构名称'; for i in $(seq 201); do echo "超限医院$i-$RUN"; done; } >"$TMP/big.csv"
upload POST /authority/institutions/import "$TMP/big.csv" text/csv "$CITY"
expect 413 "201 rows"
eq "$(sql "SELECT COUNT(*) FROM institution WHERE name LIKE '超限医院%-$RUN'")" 0 "nothing of the big file"
head -c 300000 /dev/zero | tr '\0' 'x' >"$TMP/huge.csv"
upload POST /authority/institutions/import "$TMP/huge.csv" text/csv "$CITY"
expect 413 "a body over the route's 256 KiB"
upload POST /authority/institutions/import "$TMP/inst.csv" text/csv "$H1"
expect 403 "an institution opens institutions"
[ "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'import_institutions' AND entity_id = '$A_CITY_ID'")" = 1 ] || fail "audit of the import"

step "conduct records: entered in the area, seen on the review page, limits, scope"
enrol "$H1" "$DEPT" 一般程序
CPID=$PID CEID=$EID CPT=$PT CIDN=$PIDN
api POST /authority/conduct-records "{\"physician_id\":$CPID,\"closed_on\":\"2024-03-01\",\"outcome\":\"警告\",\"points\":6}" "$COUNTY"
expect 201 "a conduct record"
CR=$(j .id)
eq "$(j .institution_id)" "$H1_ID" "the physician's institution by default"
api POST /authority/conduct-records "{\"physician_id\":$CPID,\"closed_on\":\"2024-03-01\",\"outcome\":\"外省\"}" "$BPROV"
expect 403 "another province's authority"
api POST /authority/conduct-records "{\"physician_id\":$CPID,\"closed_on\":\"2024-03-01\",\"outcome\":\"x\"}" "$H1"
expect 403 "an institution"
api POST /authority/conduct-records "{\"physician_id\":$CPID,\"closed_on\":\"2024-03-01\",\"outcome\":\"$(printf '字%.0s' $(seq 1001))\"}" "$COUNTY"
expect_msg 400 "1001 字" "a 1001-character outcome"
api POST /authority/conduct-records "{\"physician_id\":$CPID,\"closed_on\":\"2024-13-01\",\"outcome\":\"x\"}" "$COUNTY"
expect 400 "a bad date"
api POST /authority/conduct-records "{\"physician_id\":$CPID,\"closed_on\":\"2024-03-01\",\"outcome\":\"x\",\"points\":101}" "$COUNTY"
expect 400 "points over the limit"
api GET "/enrolments/$CEID" "" "$H1"
expect 200
eq "$(j '.conduct_records[0].outcome')" 警告 "the review page shows it"
eq "$(j '.conduct_records[0].points')" 6
[ "$(audits create_conduct_record conduct_record "$CR")" = 1 ] || fail "audit of the record"
NAME=$(sql "SELECT name FROM physician WHERE id = $CPID")
printf '证件号码*,姓名*,结案时间*,处理结果*,记分\n%s,%s,2024-05-01,通报批评,3\n%s,错名字,2024-05-01,罚款,2\n' \
    "$CIDN" "$NAME" "$CIDN" >"$TMP/conduct.csv"
upload POST /authority/conduct-records/import "$TMP/conduct.csv" text/csv "$COUNTY"
expect 400 "a wrong name"
eq "$(j '.error.errors[0].row')" 3
eq "$(sql "SELECT COUNT(*) FROM conduct_record WHERE physician_id = $CPID")" 1 "nothing imported"
printf '证件号码*,姓名*,结案时间*,处理结果*,记分\n%s,%s,2024-05-01,通报批评,3\n' "$CIDN" "$NAME" >"$TMP/conduct.csv"
upload POST /authority/conduct-records/import "$TMP/conduct.csv" text/csv "$BCOUNTY"
expect 400 "another province's import"
j '.error.errors[0].error' | grep -q '没有这名医师' ||
    fail "another province's import learns the number is on file: $(j '.error.errors[0].error')"
eq "$(sql "SELECT JSON_VALUE(detail, '$.found') FROM audit_log WHERE action = 'id_lookup' AND entity_id = '$B_COUNTY_ID' ORDER BY id DESC LIMIT 1")" 0 "the lookup audited, nothing found"
upload POST /authority/conduct-records/import "$TMP/conduct.csv" text/csv "$COUNTY"
expect 201 "import"
# a row whose error quotes user text cut by characters: a 7+ character 机构编码 once made a
# half character, the error row was dropped and the rest of the file committed
printf '证件号码*,姓名*,机构编码,结案时间*,处理结果*\n%s,%s,,2024-06-01,通报\n%s,%s,不存在的七个汉字机构编码,2024-06-01,罚款\n' \
    "$CIDN" "$NAME" "$CIDN" "$NAME" >"$TMP/conduct.csv"
upload POST /authority/conduct-records/import "$TMP/conduct.csv" text/csv "$COUNTY"
expect 400 "a long Chinese 机构编码"
eq "$(j '.error.errors[0].row')" 3 "the long code's row is reported"
j '.error.errors[0].error' | grep -q '没有机构编码为「不存在的七个汉字' || fail "the code, cut by characters"
eq "$(sql "SELECT COUNT(*) FROM conduct_record WHERE physician_id = $CPID")" 2 "nothing of that file imported"
# an unknown column whose Chinese name is longer than the message quotes: cut by characters
# (a cut at 60 bytes split the 20th character after the x: the message was invalid UTF-8
# and the page read "invalid message encoding")
printf '证件号码*,姓名*,结案时间*,处理结果*,x这是一个非常非常非常长的不认识的中文列名称啊啊\n' >"$TMP/conduct.csv"
upload POST /authority/conduct-records/import "$TMP/conduct.csv" text/csv "$COUNTY"
expect 400 "an unknown long column"
j '.error.message' | grep -q '未知的列「x这是一个非常非常非常长的不认识的中文列」' ||
    fail "the unknown column, cut by characters: $(j '.error.message')"
api GET "/authority/conduct-records?physician_id=$CPID" "" "$CITY"
expect 200
eq "$(j .total)" 2
j '.items[0].id_number' | grep -q '\*\*\*\*\*' || fail "the list shows a whole ID number"
api GET "/authority/conduct-records?physician_id=$CPID" "" "$BPROV"
eq "$(j .total)" 0 "another province sees nothing"

step "跟班带教修改申请: before submit 409, request, one at a time, scope, version, approve"
api POST /physician/teaching-requests '{"trainees":3,"hours":40,"description":"带教规培生","reason":"漏填"}' "$CPT"
expect_msg 409 "待报名" "before the submission"
submit "$CEID" "$CPT"
# the old values kept on the request are JSON from the row itself: a 1000-character
# description once overflowed a C buffer into invalid JSON
sql "UPDATE enrolment SET sa_teaching_text = REPEAT('教', 1000) WHERE id = $CEID"
api POST /physician/teaching-requests '{"trainees":3,"hours":40,"description":"带教规培生 3 名","reason":"漏填"}' "$CPT"
expect 201 "request"
TR=$(j .id)
eq "$(sql "SELECT CHAR_LENGTH(JSON_VALUE(old_json, '$.description')) FROM teaching_change_request WHERE id = $TR")" 1000 "the old 1000-character description kept whole"
api GET "/institution/teaching-requests?status=待审核" "" "$H1"
expect 200 "the list with a long old description"
api POST /physician/teaching-requests '{"trainees":4,"hours":40,"description":"再来","reason":"再改"}' "$CPT"
expect 409 "a second pending request"
api GET /institution/home "" "$H1"
eq "$(j '.pending_tasks[] | select(.kind == "teaching_change") | .count')" 1 "the home tile"
api GET "/institution/teaching-requests?status=待审核" "" "$H1"
eq "$(j .total)" 1
api POST "/institution/teaching-requests/$TR/actions/approve" '{"version":0}' "$H2"
expect 403 "another institution"
api POST "/institution/teaching-requests/$TR/actions/approve" '{"version":7}' "$H1"
expect 409 "a stale version"
api POST "/institution/teaching-requests/$TR/actions/reject" '{"version":0}' "$H1"
expect 400 "a rejection without a reason"
api POST "/institution/teaching-requests/$TR/actions/approve" '{"version":0}' "$H1"
expect 200 "approve"
eq "$(sql "SELECT CONCAT(sa_teaching_trainees, '/', sa_teaching_hours) FROM enrolment WHERE id = $CEID")" 3/40 "values applied"
api POST "/institution/teaching-requests/$TR/actions/approve" '{"version":1}' "$H1"
expect_msg 409 "通过" "approve twice"
[ "$(audits teaching_change_approve enrolment "$CEID")" = 1 ] || fail "audit of the approval"
api GET /physician/teaching-requests "" "$CPT"
eq "$(j .current.trainees)" 3

step "不合格: the list with its steps, recorded once each, scope, status"
act "$CEID" inst_pass "$H1" '"work_result":"不合格","work_reason":"工作量不足","ethics_result":"合格","quantity_result":"合格","reviewer_name":"李审核"'
expect 200 "inst_pass 不合格"
act "$CEID" assessor_pass "$H2"
expect 200 "assessor_pass"
expect_status "$CEID" 考核完成
# a request still waiting when the enrolment finished: approving it is 409, naming the status
sql "INSERT INTO teaching_change_request (enrolment_id, institution_id, trainees, hours, description, reason)
     VALUES ($CEID, $H1_ID, 9, 99, '迟到的申请', '补')"
LATE=$(sql "SELECT MAX(id) FROM teaching_change_request WHERE enrolment_id = $CEID")
EV=$(sql "SELECT lock_version FROM enrolment WHERE id = $CEID")
api POST "/institution/teaching-requests/$LATE/actions/approve" '{"version":0}' "$H1"
expect_msg 409 "考核完成" "approving a request of a finished enrolment"
eq "$(sql "SELECT CONCAT(sa_teaching_trainees, '/', lock_version) FROM enrolment WHERE id = $CEID")" "3/$EV" "nothing applied"
api POST "/institution/teaching-requests/$LATE/actions/reject" '{"version":0,"reason":"已考核完成"}' "$H1"
expect 200 "rejecting it"
api GET "/authority/failed?cycle_id=$CYCLE_ID" "" "$COUNTY"
expect 200
eq "$(j "[.items[] | select(.enrolment_id == $CEID) | .next | join(\",\")][0]")" "注销注册,收回执业证书" "the steps due"
api GET "/authority/failed?cycle_id=$CYCLE_ID" "" "$BPROV"
eq "$(j "[.items[] | select(.enrolment_id == $CEID)] | length")" 0 "another province sees nothing"
api POST "/authority/failed/$CEID/actions" '{"action":"注销注册","document_no":"晋卫〔2026〕1号"}' "$BPROV"
expect 403 "another province records"
api POST "/authority/failed/$CEID/actions" '{"action":"吊销"}' "$COUNTY"
expect 400 "an unknown step"
api POST "/authority/failed/$CEID/actions" '{"action":"注销注册","document_no":"晋卫〔2026〕1号"}' "$COUNTY"
expect 201 "注销注册"
api POST "/authority/failed/$CEID/actions" '{"action":"注销注册"}' "$CITY"
expect_msg 409 "不能重复记录" "recorded twice"
api GET "/authority/failed?done=0&cycle_id=$CYCLE_ID" "" "$COUNTY"
eq "$(j "[.items[] | select(.enrolment_id == $CEID) | .next[]] | join(\",\")")" 收回执业证书 "one step left"
api POST "/authority/failed/$CEID/actions" '{"action":"收回执业证书","done_on":"2026-12-01"}' "$CITY"
expect 201
api GET "/authority/failed?done=1&cycle_id=$CYCLE_ID" "" "$COUNTY"
eq "$(j "[.items[] | select(.enrolment_id == $CEID) | .actions_done | length][0]")" 2 "both recorded"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'result_action' AND entity_type = 'enrolment' AND entity_id = '$CEID'")" 2 "audit rows"
to_tests
api POST "/authority/failed/$EID/actions" '{"action":"注销注册"}' "$COUNTY"
expect_msg 409 "待参加考核" "a physician who has not failed"

step "the institution's 考核统计 and 补考管理"
api GET /institution/stats "" "$H1"
expect 200
[ "$(j .total.confirmed)" -ge 2 ] || fail "stats total"
eq "$(j .total.failed)" 1 "one failed"
api GET /institution/makeups "" "$H1"
expect 200
api GET /institution/stats "" "$PROV"
expect 403 "an authority on the institution's stats"

step "电子化注册: the province links, manual adds and imports are 409, the register import"
api POST /institution/physicians "{\"name\":\"手工医师\",\"id_number\":\"$(new_id "$A_COUNTY")\",\"practice_level\":\"执业医师\",\"practice_category\":\"临床\"}" "$H1"
expect 201 "a manual add while not linked"
api PUT /registry '{"linked":true}' "$CITY"
expect 403 "a city sets the link"
api PUT /registry '{"linked":true}' "$PROV"
expect 200 "the province links"
eq "$(j .linked)" true
api GET /registry "" "$H1"
eq "$(j .linked)" true "the institution sees it"
api POST /institution/physicians "{\"name\":\"手工医师\",\"id_number\":\"$(new_id "$A_COUNTY")\",\"practice_level\":\"执业医师\",\"practice_category\":\"临床\"}" "$H1"
expect_msg 409 "电子化注册" "a manual add while linked"
printf '姓名,证件号码,医师级别,执业类别\n导入,%s,执业医师,临床\n' "$(new_id "$A_COUNTY")" >"$TMP/phys.csv"
upload POST /institution/physicians/import "$TMP/phys.csv" text/csv "$H1"
expect_msg 409 "电子化注册" "an import while linked"
NEWIDN=$(new_id "$A_COUNTY")
OLDSCOPE=$(sql "SELECT IFNULL(practice_scope, '') FROM physician WHERE id = $CPID")
printf '证件号码*,姓名*,机构编码*,医师级别*,执业类别*,执业范围,首次注册时间\n%s,注册新医师,%s,执业医师,临床,内科专业,2020-07-01\n%s,%s,%s,执业医师,临床,外科专业,\n%s,%s,%s,执业医师,临床,%s,\n' \
    "$NEWIDN" "$H1_CODE" "$CIDN" "$NAME" "$H1_CODE" "$PIDN" "$(sql "SELECT name FROM physician WHERE id = $PID")" "$H1_CODE" \
    "$(sql "SELECT IFNULL(practice_scope, '') FROM physician WHERE id = $PID")" >"$TMP/reg.csv"
upload POST "/registry/import?dry_run=1" "$TMP/reg.csv" text/csv "$COUNTY"
expect 200 "dry run"
eq "$(j '[.added, .changed, .unchanged] | join(",")')" 1,1,1 "dry run counts"
eq "$(sql "SELECT COUNT(*) FROM physician WHERE id_number = '$NEWIDN'")" 0 "a dry run writes nothing"
upload POST /registry/import "$TMP/reg.csv" text/csv "$H1"
expect 403 "an institution imports the register"
upload POST /registry/import "$TMP/reg.csv" text/csv "$BCOUNTY"
expect 400 "another province's register import"
# a physician of another province is not revealed: B's county names its own institution and
# A's physician's number: at most "证件号码已存在" (as a manual add says), never the
# institution and status on file in province A
printf '机构名称*,行政区划代码\n外省医院%s,%s\n' "$RUN" "$B_COUNTY" >"$TMP/binst.csv"
upload POST /authority/institutions/import "$TMP/binst.csv" text/csv "$BCOUNTY"
expect 201 "an institution of province B"
printf '证件号码*,姓名*,机构编码*,医师级别*,执业类别*\n%s,某医师,%s,执业医师,临床\n' "$CIDN" "$(j '.created[0].code')" >"$TMP/breg.csv"
upload POST "/registry/import?dry_run=1" "$TMP/breg.csv" text/csv "$BCOUNTY"
grep -q "$H1_CODE\|该医师在系统中属于" "$TMP/body" && fail "province B learns the institution of A's physician"
eq "$(sql "SELECT CONCAT(JSON_VALUE(detail, '$.count'), '/', JSON_VALUE(detail, '$.found')) FROM audit_log WHERE action = 'id_lookup' AND entity_id = '$B_COUNTY_ID' ORDER BY id DESC LIMIT 1")" 1/0 "the dry run's lookup audited"
sql "SELECT detail FROM audit_log WHERE action = 'id_lookup' AND entity_id = '$B_COUNTY_ID'" | grep -q "$CIDN" && fail "a whole ID number in the audit"
upload POST /registry/import "$TMP/reg.csv" text/csv "$COUNTY"
expect 200 "register import"
eq "$(j '[.lines[].outcome] | join(",")')" "新增,变更,无变化" "outcome per line"
eq "$(j '.lines[1].changes[0] | [.label, .to] | join(",")')" "执业范围,外科专业" "what changed"
eq "$(sql "SELECT source FROM physician WHERE id_number = '$NEWIDN'")" 电子化注册 "source of the new physician"
eq "$(sql "SELECT practice_scope FROM physician WHERE id = $CPID")" 外科专业 "the change applied"
[ "$(audits registry_update physician "$CPID")" = 1 ] || fail "audit of the change"
printf '证件号码*,姓名*,机构编码*,医师级别*,执业类别*\n%s,坏级别,%s,主任医师,临床\n' "$(new_id "$A_COUNTY")" "$H1_CODE" >"$TMP/reg.csv"
upload POST /registry/import "$TMP/reg.csv" text/csv "$COUNTY"
expect 400 "a bad level"
eq "$(j '.error.errors[0].row')" 2
api PUT /registry '{"linked":false}' "$PROV"
expect 200 "unlink"
[ "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'set_registry_link' AND entity_id = '$A_PROV_ID'")" = 2 ] || fail "audit of the link"
: "$OLDSCOPE"

stop_admind
echo "PASS"
