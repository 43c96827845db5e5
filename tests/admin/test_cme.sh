#!/usr/bin/env bash
# The CME credit system 继续医学教育 (issue 15, seed [003]) against the real stack:
#   declaration at least 2 weeks ahead (13 days refused with the deadline, 15 accepted), input
#   limits; city 初审 (only the organiser's city; a provincial-direct unit skips it); the
#   province's result fed back on the Wednesday/Friday batch day, a holiday (data in
#   cme_calendar) moving it to the next working day, a 调休 Saturday counting as working;
#   cards (generated for staff without one, duplicates refused); swipes: outside a session's
#   time refused with the times, unknown cards refused by number, what a keyboard-wedge reader
#   types (number + Enter) and hand input accepted, a repeated swipe counted once; paper
#   attendees imported all or nothing with line-numbered errors; the sign-in sheet with the
#   electronic and paper attendees apart; feedback only after the end, once, late flagged;
#   grant refused without feedback and before the check, once, only to qualified attendees;
#   the annual verification under the national rule and a province's own rule; statistics
#   (JSON and CSV); the assessment: the verification in the enrolment pages and, when the
#   province requires it, no 一般程序 工作成绩 合格 before every ended year of the cycle is 达标.
# Time passing (a batch day arriving, a session starting, a project ending) is simulated by
# moving the rows' dates in MariaDB, as the other integration tests do with windows.
ADMIND=$1
. "$(dirname "$0")/lib.sh"
need
[ "$(sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()
          AND table_name = 'cme_project'")" = 1 ] ||
    { echo "SKIP: migration 009_cme.sql is not applied (deploy/migrate.sh)"; exit 77; }
export DK_CME_GRANT_BATCH=1 # a grant over several batches (cards one by one)
start_admind

step "world: region A, institutions H1 (staff, county), ORG (organiser, county), DIRECT (under the province)"
setup_world
api POST /authority/institutions "{\"name\":\"主办单位-$RUN\",\"inst_type\":\"学术组织\"}" "$COUNTY"
expect 201 "organiser"
ORG_ID=$(j .id)
ORG=$(first_login institution "$(j .code)")
api POST /authority/institutions "{\"name\":\"省直医院-$RUN\",\"inst_type\":\"医院\",\"authority_id\":$A_PROV_ID}" "$PROV"
expect 201 "provincial-direct unit"
DIRECT=$(first_login institution "$(j .code)")
TODAY=$(sql "SELECT DATE(UTC_TIMESTAMP() + INTERVAL 8 HOUR)")
YEAR=${TODAY:0:4}

# project JSON: LEVEL NO DAYS_AHEAD [NAME]
project() {
    printf '{"level":"%s","project_no":"%s","name":"%s","credits":10,"notice":"办班通知：请携带继教IC卡","sessions":[{"title":"开班与讲座","venue":"报告厅","starts_at":"%s","ends_at":"%s"},{"title":"病例讨论","starts_at":"%s","ends_at":"%s"}]}' \
        "$1" "$2" "${4:-心血管新进展$RUN}" "$(iso "+$3 days")" "$(iso "+$3 days +3 hours")" \
        "$(iso "+$3 days +1 day")" "$(iso "+$3 days +1 day +3 hours")"
}

step "declaration: 13 days ahead refused with the deadline, 15 days accepted; limits"
api POST /cme/projects "$(project 国家级 "N$RUN-1" 13)" "$ORG"
expect_msg 409 "至少提前 14 天" "a declaration 13 days ahead"
j .error.message | grep -q "申报截止时间为 20" || fail "the refusal names the deadline: $(j .error.message)"
api POST /cme/projects "$(project 国家级 "N$RUN-1" 15 "$(printf '长%.0s' $(seq 129))")" "$ORG"
expect_msg 400 "项目名称不能超过 128 字" "a name of 129 characters"
many=$(for i in $(seq 51); do printf '{"title":"第%d场","starts_at":"%s","ends_at":"%s"},' "$i" "$(iso '+20 days')" "$(iso '+20 days +1 hour')"; done)
api POST /cme/projects "{\"level\":\"省级\",\"project_no\":\"M$RUN\",\"name\":\"x\",\"credits\":5,\"notice\":\"n\",\"sessions\":[${many%,}]}" "$ORG"
expect_msg 400 "1 到 50 个场次" "51 sessions"
api POST /cme/projects "$(project 国家级 "N$RUN-1" 15)" "$ORG"
expect 201 "a declaration 15 days ahead"
P1=$(j .id)
eq "$(j .status)" 待初审 "status of a county organiser's project"
eq "$(j .category)" I类 "category of a national project"
api POST /cme/projects "$(project 国家级 "N$RUN-1" 15)" "$ORG"
expect_msg 409 "已申报过" "the same project number again"
api POST /cme/projects "$(project 省级 "S$RUN-2" 15 省直项目$RUN)" "$DIRECT"
expect 201 "a provincial-direct unit's declaration"
P2=$(j .id)
eq "$(j .status)" 待省级审核 "a provincial-direct unit skips 初审"
eq "$(j .provincial_direct)" true "provincial_direct"

step "city 初审: the county cannot, the province cannot skip it, the city returns, the organiser corrects, the city passes; not for provincial-direct units"
V=$(sql "SELECT lock_version FROM cme_project WHERE id = $P1")
api POST "/cme/projects/$P1/city-review" "{\"decision\":\"通过\",\"version\":$V}" "$COUNTY"
expect_msg 403 "初审由主办单位所在市的卫生局进行" "a county's 初审"
api POST "/cme/projects/$P1/province-review" "{\"decision\":\"通过\",\"version\":$V}" "$PROV"
expect_msg 409 "待初审" "the province before 初审"
api POST "/cme/projects/$P1/city-review" "{\"decision\":\"退回\",\"version\":$V}" "$CITY"
expect_msg 400 "退回须填写初审意见" "a return without an opinion"
api POST "/cme/projects/$P1/city-review" "{\"decision\":\"退回\",\"opinion\":\"日程安排不完整\",\"version\":$V}" "$CITY"
expect 200 "city 初审 returns it"
eq "$(j .status)" 初审退回 "after the return"
api GET "/cme/projects/$P1" "" "$ORG"
eq "$(j .city_opinion)" 日程安排不完整 "the organiser reads the opinion"
V=$(sql "SELECT lock_version FROM cme_project WHERE id = $P1")
api PUT "/cme/projects/$P1" "$(project 国家级 "N$RUN-1" 13 | jq -c ". + {version: $V}")" "$ORG"
expect_msg 409 "至少提前 14 天" "a corrected declaration too late"
api PUT "/cme/projects/$P1" "$(project 国家级 "N$RUN-1" 15 | jq -c ". + {version: $V}")" "$ORG"
expect 200 "the corrected declaration"
eq "$(j .status)" 待初审 "back to 初审"
eq "$(j .city_opinion)" null "the old opinion is cleared"
api PUT "/cme/projects/$P1" "$(project 国家级 "N$RUN-1" 15 | jq -c ". + {version: $((V + 1))}")" "$ORG"
expect_msg 409 "只有「初审退回」或「审核不通过」" "declaring again while 待初审"
V=$(sql "SELECT lock_version FROM cme_project WHERE id = $P1")
api POST "/cme/projects/$P1/city-review" "{\"decision\":\"通过\",\"opinion\":\"同意\",\"version\":$V}" "$CITY"
expect 200 "city 初审"
eq "$(j .status)" 待省级审核 "after 初审"
V2=$(sql "SELECT lock_version FROM cme_project WHERE id = $P2")
api POST "/cme/projects/$P2/city-review" "{\"decision\":\"通过\",\"version\":$V2}" "$CITY"
expect 403 "the city on a provincial-direct unit's project"

step "batch days: Wednesday and Friday, holidays (calendar data) move them to the next working day"
# 2091-03-05 is a Monday (checked), far from real dates so that no other test's days interfere
eq "$(date -u -d 2091-03-05 +%A)" Monday "the test week"
batch() { api GET "/cme/batch-date?decided_on=$1" "" "$PROV"; expect 200 "batch date of $1"; j .release_on; }
eq "$(batch 2091-03-05)" 2091-03-07 "decided on a Monday: Wednesday"
eq "$(batch 2091-03-07)" 2091-03-07 "decided on a Wednesday: the same day"
eq "$(batch 2091-03-08)" 2091-03-09 "decided on a Thursday: Friday"
eq "$(batch 2091-03-10)" 2091-03-14 "decided on a Saturday: next Wednesday"
api PUT /cme/calendar/2091-03-07 '{"kind":"节假日","name":"测试假日"}' "$PROV"
expect 200 "a holiday on the Wednesday"
api PUT /cme/calendar/2091-03-07 '{"kind":"节假日","name":"测试假日"}' "$CITY"
expect 403 "the city edits the calendar"
eq "$(batch 2091-03-05)" 2091-03-08 "Wednesday a holiday: Thursday"
eq "$(j .weekday)" 星期四 "weekday of the moved batch"
api PUT /cme/calendar/2091-03-09 '{"kind":"节假日","name":"测试假日"}' "$PROV"
api PUT /cme/calendar/2091-03-12 '{"kind":"节假日","name":"测试假日"}' "$PROV"
eq "$(batch 2091-03-09)" 2091-03-13 "Friday and Monday holidays: Tuesday"
api PUT /cme/calendar/2091-03-10 '{"kind":"调休工作日","name":"测试调休"}' "$PROV"
eq "$(batch 2091-03-09)" 2091-03-10 "Friday a holiday, Saturday a 调休 working day: Saturday"
api PUT /cme/calendar/2091-03-10 '{"kind":"周末","name":"x"}' "$PROV"
expect_msg 400 "节假日" "an unknown calendar kind"
for d in 07 09 10 12; do api DELETE "/cme/calendar/2091-03-$d" "" "$PROV"; expect 200 "delete 2091-03-$d"; done
eq "$(batch 2091-03-05)" 2091-03-07 "back to Wednesday without the holiday"

step "province review: the result waits for its batch day"
api GET "/cme/batch-date" "" "$PROV"
REL=$(j .release_on)
V=$(sql "SELECT lock_version FROM cme_project WHERE id = $P1")
api POST "/cme/projects/$P1/province-review" "{\"decision\":\"通过\",\"version\":$((V + 7))}" "$PROV"
expect_msg 409 "已被他人处理" "a stale version"
api POST "/cme/projects/$P1/province-review" "{\"decision\":\"通过\",\"opinion\":\"同意举办\",\"version\":$V}" "$PROV"
expect 200 "province review"
eq "$(j .release_on)" "$REL" "release day of a decision made today"
api GET "/cme/projects/$P1" "" "$ORG"
expect 200
if [[ $REL > $TODAY ]]; then
    eq "$(j .status)" 待省级审核 "the organiser before the batch day"
    eq "$(j .province_opinion)" null "the opinion before the batch day"
    api POST "/cme/projects/$P1/swipes" '{"card_no":"123456"}' "$ORG"
    expect_msg 409 "尚未通过" "a swipe before the result is fed back"
fi
sql "UPDATE cme_project SET release_on = '$TODAY' WHERE id IN ($P1, $P2)" # the batch day came
api GET "/cme/projects/$P1" "" "$ORG"
eq "$(j .status)" 审核通过 "the organiser on the batch day"
eq "$(j .province_opinion)" 同意举办 "the opinion on the batch day"
V2=$(sql "SELECT lock_version FROM cme_project WHERE id = $P2")
api POST "/cme/projects/$P2/province-review" "{\"decision\":\"通过\",\"version\":$V2}" "$PROV"
expect 200 "province review of the provincial-direct project"
sql "UPDATE cme_project SET release_on = '$TODAY' WHERE id = $P2"

step "cards: generated for staff without one, a held card registered, duplicates refused"
mkphys "$H1"
PA=$PID
api POST /cme/cards "{\"physician_id\":$PA}" "$H1"
expect 201 "a generated card"
CARD1=$(j .card_no)
[[ $CARD1 =~ ^${A_PROV}[0-9]{10}$ ]] || fail "generated number '$CARD1' (province code + 10 digits)"
api POST /cme/cards "{\"physician_id\":$PA}" "$H1"
expect_msg 409 "已有继教IC卡" "a second card for one physician"
CARD2="C$RUN"
api POST /cme/cards "{\"name\":\"护士甲\",\"card_no\":\"${CARD2,,}\"}" "$H1"
expect 201 "a held card (lower case typed)"
eq "$(j .card_no)" "$CARD2" "card numbers are upper-cased"
api POST /cme/cards "{\"name\":\"护士乙\",\"card_no\":\"$CARD2\"}" "$H1"
expect_msg 409 "已登记" "the same card number twice"
api POST /cme/cards '{"name":"护士丙","card_no":"12-34"}' "$H1"
expect_msg 400 "6 到 20 位" "a malformed card number"
api POST /cme/cards "{\"physician_id\":$PA}" "$ORG"
expect_msg 404 "本单位没有这名医师" "another unit's physician"
mkphys "$H1"
PB=$PID
api POST /cme/cards "{\"physician_id\":$PB}" "$H1"
CARD3=$(j .card_no)

step "swipes: outside the session's time refused with the times"
api POST "/cme/projects/$P1/swipes" "{\"card_no\":\"$CARD1\"}" "$ORG"
expect_msg 409 "现在不在签到时间内" "a swipe two weeks early"
j .error.message | grep -q "北京时间" || fail "the refusal gives the session's times"
# the first session is under way (started 10 minutes ago), the second tomorrow
sql "UPDATE cme_session SET starts_at = UTC_TIMESTAMP(3) - INTERVAL 10 MINUTE, ends_at = UTC_TIMESTAMP(3) + INTERVAL 50 MINUTE WHERE project_id = $P1 AND seq = 1;
     UPDATE cme_session SET starts_at = UTC_TIMESTAMP(3) + INTERVAL 1 DAY, ends_at = UTC_TIMESTAMP(3) + INTERVAL 1 DAY + INTERVAL 3 HOUR WHERE project_id = $P1 AND seq = 2"
S1=$(sql "SELECT id FROM cme_session WHERE project_id = $P1 AND seq = 1")
S2=$(sql "SELECT id FROM cme_session WHERE project_id = $P1 AND seq = 2")
api POST "/cme/projects/$P1/swipes" "{\"card_no\":\"$CARD1\\r\\n\"}" "$ORG"
expect 200 "a wedge reader's number + Enter"
eq "$(j .duplicate)" false "first swipe"
eq "$(j .seq)" 1 "the session under way"
api POST "/cme/projects/$P1/swipes" "{\"card_no\":\"$CARD1\"}" "$ORG"
expect 200 "a repeated swipe"
eq "$(j .duplicate)" true "repeated swipe"
eq "$(sql "SELECT COUNT(*) FROM cme_attendance WHERE session_id = $S1")" 1 "attendance rows after two swipes"
eq "$(sql "SELECT swipes FROM cme_attendance WHERE session_id = $S1")" 2 "swipes counted"
api POST "/cme/projects/$P1/swipes" '{"card_no":"999999999999"}' "$ORG"
expect_msg 404 "卡号 999999999999 未登记" "an unknown card"
api POST "/cme/projects/$P1/swipes" '{"card_no":"abc"}' "$ORG"
expect_msg 400 "格式不正确" "a malformed number"
api POST "/cme/projects/$P1/swipes" "{\"card_no\":\"$CARD2\",\"method\":\"手工录入\"}" "$ORG"
expect 200 "hand input"
api POST "/cme/projects/$P1/swipes" "{\"card_no\":\"$CARD3\"}" "$ORG"
expect 200 "card 3"
api POST "/cme/projects/$P1/swipes" "{\"card_no\":\"$CARD1\",\"session_id\":$S2}" "$ORG"
expect_msg 409 "第 2 场" "the second session before its time"
api POST "/cme/projects/$P1/swipes" "{\"card_no\":\"$CARD1\"}" "$H1"
expect 403 "another unit swipes on the organiser's project"
# the second session under way: cards 1 and 3 attend it, card 2 does not
sql "UPDATE cme_session SET starts_at = UTC_TIMESTAMP(3) - INTERVAL 5 MINUTE, ends_at = UTC_TIMESTAMP(3) + INTERVAL 1 HOUR WHERE id = $S2;
     UPDATE cme_session SET starts_at = UTC_TIMESTAMP(3) - INTERVAL 3 HOUR, ends_at = UTC_TIMESTAMP(3) - INTERVAL 2 HOUR WHERE id = $S1"
api POST "/cme/projects/$P1/swipes" "{\"card_no\":\"$CARD1\",\"session_id\":$S1}" "$ORG"
expect_msg 409 "第 1 场" "the first session after its end"
for c in "$CARD1" "$CARD3"; do
    api POST "/cme/projects/$P1/swipes" "{\"card_no\":\"$c\"}" "$ORG"
    expect 200 "second session $c"
done
api GET "/cme/projects/$P1/attendance?page_size=50" "" "$ORG"
eq "$(j .total)" 5 "attendance rows (3 + 2)"

step "paper attendees: a bad file imports nothing and names its lines; a good one imports"
printf '姓名*,单位*,类别*,证件号码\n张三,外省医院,省外人员,\n李四,某卫生院,外星人员,\n王五,,单位未使用系统,\n' >"$TMP/bad.csv"
upload POST "/cme/projects/$P1/paper-attendees" "$TMP/bad.csv" text/csv "$ORG"
expect_msg 400 "未导入任何一行" "a file with bad lines"
eq "$(j '[.error.errors[].row] | join(",")')" "3,4" "line numbers of the errors"
eq "$(sql "SELECT COUNT(*) FROM cme_paper_attendee WHERE project_id = $P1")" 0 "nothing imported"
printf '姓名,单位\n张三,外省医院\n' >"$TMP/nohead.csv"
upload POST "/cme/projects/$P1/paper-attendees" "$TMP/nohead.csv" text/csv "$ORG"
expect_msg 400 "缺少必需的列「类别」" "a file without the 类别 column"
{ echo '姓名*,单位*,类别*,证件号码'; for i in $(seq 5001); do echo "学员$i,外省医院,省外人员,"; done; } >"$TMP/big.csv"
upload POST "/cme/projects/$P1/paper-attendees" "$TMP/big.csv" text/csv "$ORG"
expect_msg 413 "一次最多导入 5000 行" "a file of 5,001 rows, refused before any row is written"
eq "$(sql "SELECT COUNT(*) FROM cme_paper_attendee WHERE project_id = $P1")" 0 "nothing imported"
printf '\xef\xbb\xbf姓名*,单位*,类别*,证件号码\n张三,外省医院,省外人员,\n李四,某卫生院,单位未使用系统,\n' >"$TMP/good.csv"
upload POST "/cme/projects/$P1/paper-attendees" "$TMP/good.csv" text/csv "$ORG"
expect 200 "a good file"
eq "$(j .imported)" 2 "imported"

step "searches: a typed % or _ means itself, not a wildcard; a term too long is refused"
api GET "/cme/projects?q=%25" "" "$ORG"
expect 200 "a search for %"
eq "$(j .total)" 0 "no project name holds a %: it matched nothing, not everything"
api GET "/cme/cards?name=_" "" "$ORG"
eq "$(j .total)" 0 "a card search for _ matches no name"
api GET "/cme/projects?q=$(printf 'x%.0s' $(seq 129))" "" "$ORG"
expect_msg 400 "搜索内容过长" "a search term over 128 bytes"

step "sign-in sheet: electronic and paper attendees apart"
code=$(curl -s -o "$TMP/sheet.csv" -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/api/v1/cme/projects/$P1/signin-sheet" -H "Authorization: Bearer $ORG")
eq "$code" 200 "sign-in sheet"
grep -q "电子化授分学员（3 人）" "$TMP/sheet.csv" || fail "electronic section: $(cat "$TMP/sheet.csv")"
grep -q "纸质证书学员（2 人）" "$TMP/sheet.csv" || fail "paper section"
e=$(grep -n "电子化授分学员" "$TMP/sheet.csv" | cut -d: -f1) p=$(grep -n "纸质证书学员" "$TMP/sheet.csv" | cut -d: -f1)
c1=$(grep -n "$CARD1" "$TMP/sheet.csv" | cut -d: -f1) z=$(grep -n "张三" "$TMP/sheet.csv" | cut -d: -f1)
[ "$e" -lt "$c1" ] && [ "$c1" -lt "$p" ] && [ "$p" -lt "$z" ] || fail "sections out of order"

step "feedback: not before the end; grant refused without feedback"
api POST "/cme/projects/$P1/grant" "{\"committee_ref\":\"皖继委$RUN\",\"committee_approved_on\":\"$TODAY\"}" "$PROV"
expect_msg 409 "尚未报送执行情况反馈，不能授予学分" "a grant without feedback"
api POST "/cme/projects/$P1/feedback" "{\"summary\":\"按计划举办\",\"signin_sheet_sent\":true}" "$ORG"
expect_msg 409 "尚未结束" "feedback before the end"
sql "UPDATE cme_session SET starts_at = UTC_TIMESTAMP(3) - INTERVAL 2 HOUR, ends_at = UTC_TIMESTAMP(3) - INTERVAL 1 HOUR WHERE id = $S2;
     UPDATE cme_project SET end_at = UTC_TIMESTAMP(3) - INTERVAL 1 HOUR, start_at = UTC_TIMESTAMP(3) - INTERVAL 3 HOUR WHERE id = $P1"
api POST "/cme/projects/$P1/feedback" "{\"summary\":\"$(printf '长%.0s' $(seq 2001))\",\"signin_sheet_sent\":true}" "$ORG"
expect_msg 400 "不能超过 2000 字" "a summary of 2001 characters"
api POST "/cme/projects/$P1/feedback" "{\"summary\":\"按计划举办\",\"signin_sheet_sent\":true,\"failed_cards\":[\"$CARD3\"]}" "$ORG"
expect 201 "feedback in time"
eq "$(j .late)" false "feedback in time is not late"
api POST "/cme/projects/$P1/feedback" "{\"summary\":\"再报一次\",\"signin_sheet_sent\":true}" "$ORG"
expect_msg 409 "不能重复报送" "repeated feedback"
api POST "/cme/projects/$P1/grant" "{\"committee_ref\":\"皖继委$RUN\",\"committee_approved_on\":\"$TODAY\"}" "$PROV"
expect_msg 409 "核查通过后" "a grant before the check"

step "late feedback is accepted and flagged (project ended 20 days ago)"
sql "UPDATE cme_session SET starts_at = UTC_TIMESTAMP(3) - INTERVAL 21 DAY, ends_at = UTC_TIMESTAMP(3) - INTERVAL 20 DAY WHERE project_id = $P2;
     UPDATE cme_project SET start_at = UTC_TIMESTAMP(3) - INTERVAL 21 DAY, end_at = UTC_TIMESTAMP(3) - INTERVAL 20 DAY WHERE id = $P2"
api POST "/cme/projects/$P2/feedback" '{"summary":"按计划举办","signin_sheet_sent":false}' "$DIRECT"
expect 201 "late feedback"
eq "$(j .late)" true "late flag"
eq "$(sql "SELECT late FROM cme_feedback WHERE project_id = $P2")" 1 "late flag stored"

step "check and grant: only qualified attendees, once"
api POST "/cme/projects/$P1/feedback/check" '{"decision":"通过"}' "$CITY"
expect 403 "the city checks feedback"
api POST "/cme/projects/$P1/feedback/check" '{"decision":"通过","opinion":"签到簿已核"}' "$PROV"
expect 200 "check"
api POST "/cme/projects/$P1/grant" "{\"committee_ref\":\"皖继委$RUN\",\"committee_approved_on\":\"2100-01-01\"}" "$PROV"
expect_msg 400 "不能晚于今天" "an approval in the future"
api POST "/cme/projects/$P1/grant" "{\"committee_ref\":\"皖继委$RUN\",\"committee_approved_on\":\"$TODAY\"}" "$PROV"
expect 200 "grant"
# card 1: both sessions; card 2: one of two; card 3: both but 考核不合格
eq "$(j .granted)" 1 "qualified attendees granted"
eq "$(j .late)" false "grant in time"
eq "$(j .attendees)" 3 "attendees the grant looked at"
eq "$(sql "SELECT CONCAT(grant_progress, '/', grant_total, '/', granted_count) FROM cme_feedback WHERE project_id = $P1")" 3/3/1 "grant progress stored"
eq "$(sql "SELECT COUNT(*) FROM cme_credit cr JOIN cme_card c ON c.id = cr.card_id WHERE cr.project_id = $P1 AND c.card_no = '$CARD1'")" 1 "card 1 granted"
api POST "/cme/projects/$P1/grant" "{\"committee_ref\":\"皖继委$RUN\",\"committee_approved_on\":\"$TODAY\"}" "$PROV"
expect_msg 409 "不能重复授予" "a second grant"
api POST "/cme/projects/$P2/feedback/check" '{"decision":"退回","opinion":"签到簿未报送"}' "$PROV"
expect 200 "feedback returned"
api POST "/cme/projects/$P2/feedback" '{"summary":"补报签到簿","signin_sheet_sent":true}' "$DIRECT"
expect 201 "feedback again after a return"
api POST "/cme/projects/$P2/feedback/check" '{"decision":"通过"}' "$PROV"
expect 200
api POST "/cme/projects/$P2/grant" "{\"committee_ref\":\"皖继委$RUN-2\",\"committee_approved_on\":\"$(date -u -d "$TODAY -15 days" +%F)\"}" "$PROV"
expect 200 "a grant 15 days after the approval"
eq "$(j .late)" true "late grant flagged"

step "annual verification: national rule (≥ 25, I类 5-10, II类 15-20) and the province's own"
api GET "/cme/records?card_no=$CARD1&from_year=$YEAR&to_year=$YEAR" "" "$H1"
expect 200 "record"
eq "$(j '.years[0].i_credits')" 10 "I类 of the year"
eq "$(j '.years[0].status')" 未达标 "10 I类 alone"
j '.years[0].shortfall' | grep -q "II类差 15.0 分" || fail "shortfall: $(j '.years[0].shortfall')"
eq "$(j '.years[0].rule.source')" 全国规定 "rule source"
api GET "/cme/records?card_no=$CARD1" "" "$ORG"
expect 403 "another unit reads the record"
# four more people of H1 in 2090, credits placed as a grant would (projects P1, P2)
for k in 4 5 6 7; do api POST /cme/cards "{\"name\":\"学员$k\",\"card_no\":\"R$RUN$k\"}" "$H1"; expect 201; done
credit() { sql "INSERT INTO cme_credit (card_id, project_id, year, category, credits) SELECT id, $2, 2090, '$3', $4 FROM cme_card WHERE card_no = '$1'"; }
credit "R${RUN}4" "$P1" I类 30;  credit "R${RUN}4" "$P2" II类 0
credit "R${RUN}5" "$P1" I类 10;  credit "R${RUN}5" "$P2" II类 15
credit "R${RUN}6" "$P1" I类 5;   credit "R${RUN}6" "$P2" II类 20
credit "R${RUN}7" "$P1" I类 4;   credit "R${RUN}7" "$P2" II类 25
verdict() { api GET "/cme/records?card_no=$1&from_year=2090&to_year=2090" "" "$H1"; expect 200; j '.years[0].status'; }
eq "$(verdict "R${RUN}4")" 未达标 "30 I类, no II类 (I类 counts 10 at most)"
eq "$(verdict "R${RUN}5")" 达标 "10 I类 + 15 II类"
eq "$(verdict "R${RUN}6")" 达标 "5 I类 + 20 II类"
eq "$(verdict "R${RUN}7")" 未达标 "4 I类 + 25 II类"
j '.years[0].shortfall' | grep -q "I类差 1.0 分" || fail "shortfall of 4 I类"
api PUT /cme/rules/2090 '{"total_min":20,"i_min":4,"i_max":10,"ii_min":10,"ii_max":20}' "$CITY"
expect 403 "a city sets the rule"
api PUT /cme/rules/2090 '{"total_min":20,"i_min":12,"i_max":10,"ii_min":10,"ii_max":20}' "$PROV"
expect_msg 400 "下限不能大于上限" "a rule with min > max"
api PUT /cme/rules/2090 '{"total_min":20,"i_min":4,"i_max":10,"ii_min":10,"ii_max":20}' "$PROV"
expect 200 "the province's rule for 2090"
eq "$(verdict "R${RUN}7")" 达标 "4 I类 + 25 II类 under the province's rule"
eq "$(j '.years[0].rule.source')" 本省规定 "rule source"

step "statistics by unit, city and level, JSON and CSV"
api GET "/cme/stats?year=2090&by=unit" "" "$PROV"
expect 200 "stats by unit"
eq "$(j "[.items[] | select(.institution_id == $H1_ID)][0].achieved")" 3 "H1 达标 in 2090 (cards 5, 6, 7)"
eq "$(j "[.items[] | select(.institution_id == $H1_ID)][0].persons")" 7 "H1 card holders"
eq "$(j "[.items[] | select(.institution_id == $H1_ID)][0].rate")" 42.9 "H1 completion rate"
api GET "/cme/stats?year=2090&by=city" "" "$PROV"
expect 200 "stats by city"
eq "$(j "[.items[] | select(.city_id == $A_CITY_ID)][0].persons")" 7 "the city's card holders"
api GET "/cme/stats?year=$YEAR&by=level" "" "$PROV"
expect 200 "stats by level"
eq "$(j '[.items[] | select(.name == "国家级")][0].achieved')" 1 "national credits granted"
eq "$(j '[.items[] | select(.name == "国家级")][0].persons')" 3 "national attendees"
code=$(curl -s -o "$TMP/stats.csv" -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/api/v1/cme/stats?year=2090&by=unit&format=csv" -H "Authorization: Bearer $PROV")
eq "$code" 200 "stats CSV"
grep -q "单位,学员数,达标人数,完成率(%)" "$TMP/stats.csv" || fail "CSV header: $(head -2 "$TMP/stats.csv")"
grep -q "测试医院1-$RUN,7,3,42.9" "$TMP/stats.csv" || fail "CSV row of H1"
api GET "/cme/stats?by=nation" "" "$PROV"
expect_msg 400 "by 应为" "an unknown grouping"

step "assessment: the verification in the self-assessment and the review; required by the province"
enrol "$H1" "$DEPT" 一般程序
api POST /cme/cards "{\"physician_id\":$PID}" "$H1"
expect 201
PCARD=$(j .card_no)
# the cycle began last year: that year has ended
sql "UPDATE cycle SET period_start = CONCAT(YEAR(UTC_TIMESTAMP()) - 1, '-01-01') WHERE id = $CYCLE_ID"
submit "$EID" "$PT"
api GET "/enrolments/$EID" "" "$H1"
expect 200
eq "$(j '.enrolment.cme.card_no')" "$PCARD" "card in the review page"
eq "$(j '.enrolment.cme.years[0].year')" $((YEAR - 1)) "first year of the cycle"
eq "$(j '.enrolment.cme.years[0].status')" 未达标 "last year without credits"
[ "$(j '.enrolment.cme.years | length')" -ge 2 ] || fail "years of the cycle in the review page"
api GET /physician/me "" "$PT"
eq "$(j '.enrolment.cme.years[0].year')" $((YEAR - 1)) "self-assessment page shows the years"
api GET /physician/cme "" "$PT"
expect 200 "我的学分"
eq "$(j .card.card_no)" "$PCARD" "own card"
api PUT /cme/settings '{"require_verification":true}' "$PROV"
expect 200 "province requires the verification"
act "$EID" inst_pass "$H1" '"work_result":"合格","ethics_result":"合格","quantity_result":"合格","reviewer_name":"李审核"'
expect_msg 409 "年度验证" "合格 without the verification"
j .error.message | grep -q "$((YEAR - 1)) 年未达标" || fail "the refusal names the year"
expect_status "$EID" 待医疗卫生机构审核
# last year's credits: 10 I类 + 15 II类
sql "INSERT INTO cme_credit (card_id, project_id, year, category, credits) SELECT id, $P1, $((YEAR - 1)), 'I类', 10 FROM cme_card WHERE card_no = '$PCARD';
     INSERT INTO cme_credit (card_id, project_id, year, category, credits) SELECT id, $P2, $((YEAR - 1)), 'II类', 15 FROM cme_card WHERE card_no = '$PCARD'"
act "$EID" inst_pass "$H1" '"work_result":"合格","ethics_result":"合格","quantity_result":"合格","reviewer_name":"李审核"'
expect 200 "合格 once the ended year is 达标"
api PUT /cme/settings '{"require_verification":false}' "$PROV"
expect 200

step "audit: declarations, reviews, swipes, feedback, grants, calendar and rules are in the log"
for a in cme_declare cme_city_review cme_province_review cme_swipe cme_swipe_repeat cme_paper_import cme_export_signin cme_feedback cme_feedback_check cme_grant; do
    [ "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = '$a' AND entity_type = 'cme_project' AND entity_id IN ('$P1', '$P2')")" -ge 1 ] || fail "no audit row $a"
done
[ "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'cme_rule_set' AND actor_type = 'authority'")" -ge 1 ] || fail "no audit row cme_rule_set"
[ "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'cme_card_create' AND actor_id = $H1_ID")" -ge 6 ] || fail "card creations not audited"

sql "DELETE FROM cme_rule WHERE year = 2090 AND province_id = $A_PROV_ID"
stop_admind
echo "PASS"
