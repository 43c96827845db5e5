#!/usr/bin/env bash
# The assessment workflow of DESIGN.md §1.1 and the seed manuals, end to end against the
# real stack, with admind for registration and reviews and examd for the tests:
#   A  一般程序: submit -> institution passes -> 考核机构 passes -> both tests passed -> 考核完成 合格, certificate
#   B  简易程序: institution 驳回, resubmit, 考核机构 驳回, institution 驳回 to the physician (seed
#      [004]), resubmit, 考核机构 驳回, institution re-decides (DESIGN), pass, test failed ->
#      待确认补考 -> province confirms (city may not: seed [004]) -> makeup passed -> 合格
#   C  一般程序 + 免考 of 业务水平 (institution then 考核机构 review it) -> 人文医学 only -> 合格
#   D  简易程序 + 免考 of 人文医学 -> no test left -> 考核完成 合格 at the re-review
#   E  一般程序, 职业道德 不合格 -> 考核完成 不合格 at the re-review
#   E2 简易程序, 工作成绩 不合格;  G2 一般程序, 业务水平 failed, makeup of that paper -> 合格
#   R  the authority 驳回s at 待参加考核
#   F  test failed -> province 不予补考 -> 考核完成 不合格;  G  makeup failed -> 考核完成 不合格
#   H  认定作弊 on a passed test -> 待确认补考 (exam_result, enrolment_test); 撤销认定 -> restored
#   P  the physician's results list the papers the procedure requires (+ 免考), no others
#   I  退出本周期 before its deadline, refused after; texts limited in characters, never cut
#      (profile, 执业经历, self-assessment, reasons);  J  取消参加 only before submitting,
#      after it the authority 驳回s;  K  windows: registration and review;  L  optimistic lock
#   M  403 out of scope / wrong role;  N  409 wrong status;  O  audit log;  Q  missed test
ADMIND=$1
EXAMD=$2
. "$(dirname "$0")/lib.sh"
need
[ -x "$EXAMD" ] || { echo "SKIP: examd is not built ($EXAMD)"; exit 77; }
[ "$(sql "SELECT COUNT(*) FROM qb_blueprint WHERE category = '临床'")" -ge 2 ] ||
    { echo "SKIP: no question bank / blueprints for 临床 (run deploy/demo/load.sh)"; exit 77; }
start_admind
start_examd
jpeg "$TMP/photo.jpg"
printf '%%PDF-1.4\n%% test attachment\n' >"$TMP/a.pdf"
# results_tests TOKEN EID: 测评情况 of that enrolment in the physician's own results
results_tests() {
    api GET /physician/results "" "$1"
    expect 200 "the physician's results"
    j ".items[] | select(.enrolment_id == $2) | .tests"
}
# rep TEXT N: TEXT N times
rep() { local s='' k; for ((k = 0; k < $2; k++)); do s+=$1; done; printf '%s' "$s"; }

# ---- the world ------------------------------------------------------------------------------------
step "regions, cycle, institutions, 考核机构 application and assignment"
make_region A
make_region B
PROV=$(login authority "t$RUN-A-prov" "$PASSWORD")
CITY=$(login authority "t$RUN-A-city" "$PASSWORD")
COUNTY=$(login authority "t$RUN-A-county" "$PASSWORD")
BPROV=$(login authority "t$RUN-B-prov" "$PASSWORD")
api POST /cycles '{"code":"X","name":"x","period_start":"2030-01-01T00:00:00Z","period_end":"2031-01-01T00:00:00Z"}' "$CITY"
expect 403 "a city cannot open a cycle"
make_cycle "$BPROV"
make_cycle "$PROV"
for n in 1 2 3; do
    api POST /authority/institutions "{\"name\":\"测试医院$n-$RUN\",\"inst_type\":\"医院\"}" "$COUNTY"
    expect 201 "institution $n"
    eval "H${n}_ID=$(j .id) H${n}_CODE=$(j .code)"
done
H1=$(first_login institution "$H1_CODE")
H2=$(first_login institution "$H2_CODE")
H3=$(first_login institution "$H3_CODE")
api POST /institution/assessor-applications '{"note":"申请成为考核机构"}' "$H2"
expect_msg 403 "申请考核机构权限" "apply without the right"
api POST "/authority/institutions/$H2_ID/apply-right" '{"can_apply":true}' "$COUNTY"
expect 200 "open the right"
api POST /institution/assessor-applications '{"note":"申请成为考核机构"}' "$H2"
expect 201 "apply"
APP=$(j .id)
eq "$(j .status)" 待审核 "application status"
upload POST "/institution/assessor-applications/$APP/attachments?file_name=apply.pdf&kind=考核机构申请表" "$TMP/a.pdf" application/pdf "$H2"
expect 201 "application attachment"
api POST /institution/assessor-applications '{"note":"again"}' "$H2"
expect 409 "a second pending application"
api POST "/authority/applications/$APP/actions/approve" '{}' "$BPROV"
expect 403 "approval by another province"
api GET "/authority/applications?status=待审核" "" "$COUNTY"
expect 200
eq "$(j "[.items[] | select(.id == $APP)] | length")" 1 "the application is in the county's queue"
api POST "/authority/applications/$APP/actions/approve" '{}' "$COUNTY"
expect 200 "approve"
eq "$(sql "SELECT is_assessor FROM institution WHERE id = $H2_ID")" 1 "is_assessor after approval"
api POST /authority/assignments "{\"institution_id\":$H1_ID,\"assessor_id\":$H3_ID}" "$COUNTY"
expect 409 "assigning an institution that is not a 考核机构"
api POST /authority/assignments "{\"institution_id\":$H1_ID,\"assessor_id\":$H2_ID}" "$COUNTY"
expect 200 "assign the 考核机构"
SUBJ=$(sql "SELECT id FROM subject WHERE code = '03'")
api POST /institution/departments "{\"name\":\"内科\",\"subject_ids\":[$SUBJ]}" "$H1"
expect 201 "department"
DEPT=$(j .id)
api POST /institution/departments "{\"name\":\"内科\",\"subject_ids\":[$SUBJ]}" "$H3"
expect 201
DEPT3=$(j .id)

# ---- A ----------------------------------------------------------------------------------------------
step "A 一般程序 all the way to 考核完成 合格 and the certificate"
enrol "$H1" "$DEPT" 一般程序
A_EID=$EID A_PT=$PT A_PID=$PID A_IDN=$PIDN
api GET "/enrolments/$A_EID/certificate" "" "$H1"
expect 409 "certificate before passing"
submit "$A_EID" "$A_PT"
expect_status "$A_EID" 待医疗卫生机构审核
api GET "/institution/reviews?procedure=一般程序" "" "$H1"
expect 200 "review queue"
MASKED=$(j ".items[] | select(.enrolment_id == $A_EID) | .id_number")
[ -n "$MASKED" ] && [ "$MASKED" != "$A_IDN" ] && [[ $MASKED == ${A_IDN:0:4}*${A_IDN:16:2} ]] && [[ $MASKED == *'*'* ]] ||
    fail "ID number in the list is '$MASKED', expected masked ${A_IDN:0:4}…${A_IDN:16:2}"
api GET "/enrolments/$A_EID" "" "$H1"
eq "$(j .physician.id_number)" "$A_IDN" "whole ID number on the detail page"
eq "$(j '[.actions[].action] | sort | join(",")')" "inst_pass,inst_reject,withdraw" "institution actions offered"
api POST "/enrolments/$A_EID/opinions" "{\"other_institution_name\":\"太原市第二医院\",\"opinion\":\"在我院多点执业期间表现良好\"}" "$H1"
expect 201 "多执业机构其它意见"
api POST "/enrolments/$A_EID/opinions" '{"other_institution_name":"x","opinion":"y"}' "$H3"
expect 403 "another institution's opinion"
api GET "/enrolments/$A_EID" "" "$H1"
eq "$(j '.opinions[0].other_institution_name')" 太原市第二医院 "opinion shown on the review page"
act "$A_EID" inst_pass "$H1" '"work_result":"合格","ethics_result":"合格"'
expect_msg 400 "完成工作数量" "一般程序 needs 完成工作数量"
inst_pass "$A_EID"
expect 200 "institution passes"
expect_status "$A_EID" 待考核机构复核
act "$A_EID" assessor_pass "$H1"
expect_msg 403 "考核机构" "an institution that is not the 考核机构"
act "$A_EID" assessor_pass "$H2"
expect 200 "考核机构 passes"
expect_status "$A_EID" 待参加考核
eq "$(sql "SELECT GROUP_CONCAT(CONCAT(paper, required, exempted) ORDER BY paper) FROM enrolment_test WHERE enrolment_id = $A_EID")" \
    "公共知识10,业务水平10" "required tests of 一般程序"
sit "$A_PT" 公共知识 pass
expect_status "$A_EID" 待参加考核
sit "$A_PT" 业务水平 pass
expect_status "$A_EID" 考核完成
eq "$(sql "SELECT result FROM enrolment WHERE id = $A_EID")" 合格 "result of A"
api GET "/enrolments/$A_EID/certificate" "" "$H1"
expect 200 "certificate"
CERT=$(j .cert_no)
[ -n "$CERT" ] && [ "$(j .physician.id_number)" = "$A_IDN" ] && [ "$(j .result)" = 合格 ] || fail "certificate content"
j .issuer.name | grep -q 测试县 || fail "the issuing authority is the institution's own"
api GET "/enrolments/$A_EID/certificate" "" "$A_PT"
expect 200 "the physician's own certificate"
eq "$(j .cert_no)" "$CERT" "the same certificate number"
api GET "/enrolments/$A_EID/certificate" "" "$H3"
expect 403 "another institution's certificate"
api GET /physician/results "" "$A_PT"
expect 200 "the physician's results"
eq "$(j ".items[] | select(.enrolment_id == $A_EID) | [.result, .certificate] | map(tostring) | join(\",\")")" "合格,true" "results page"
eq "$(results_tests "$A_PT" "$A_EID")" "人文医学:合格；业务水平:合格" "P 一般程序: both papers in the results"
api GET /workflow "" "$A_PT"
expect 200 "the workflow table"
[ "$(j '[.transitions[] | select(.entity == "enrolment")] | length')" -ge 20 ] || fail "workflow table"

# ---- B ----------------------------------------------------------------------------------------------
step "B 简易程序 through every rejection, a failed test and a confirmed makeup"
enrol "$H1" "$DEPT" 简易程序
B_EID=$EID B_PT=$PT
submit "$B_EID" "$B_PT"
api POST "/enrolments/$B_EID/actions/submit" '{}' "$B_PT"
expect_msg 409 "当前状态为「待医疗卫生机构审核」" "submit twice"
act "$B_EID" inst_reject "$H1"
expect_msg 400 "理由" "驳回 needs a reason"
act "$B_EID" inst_reject "$H1" '"reason":"执业信息填写不完整"'
expect 200 "institution 驳回"
expect_status "$B_EID" 待报名（被机构驳回）
api GET /physician/me "" "$B_PT"
eq "$(j .enrolment.inst_reject_reason)" 执业信息填写不完整 "the physician sees the reason"
eq "$(j .enrolment.editable)" true "editable after 驳回"
api PUT /physician/registration '{"sa_work_text":"补充：完成门诊 2000 人次"}' "$B_PT"
expect 200 "edit after 驳回"
submit "$B_EID" "$B_PT"
act "$B_EID" inst_pass "$H1" '"work_result":"合格","ethics_result":"合格"'
expect 200 "简易程序 pass without 完成工作数量"
act "$B_EID" assessor_reject "$H2" '"reason":"简易程序申请材料不符合条件"'
expect 200 "考核机构 驳回"
expect_status "$B_EID" 待医疗卫生机构审核（被考核机构驳回）
act "$B_EID" inst_reject "$H1" '"reason":"请按考核机构意见修改"'
expect 200 "institution 驳回 to the physician (seed [004])"
expect_status "$B_EID" 待报名（被机构驳回）
submit "$B_EID" "$B_PT"
act "$B_EID" inst_pass "$H1" '"work_result":"合格","ethics_result":"合格"'
act "$B_EID" assessor_reject "$H2" '"reason":"再次复核驳回"'
expect 200
act "$B_EID" inst_pass "$H1" '"work_result":"合格","ethics_result":"合格"'
expect 200 "institution re-decides (DESIGN)"
expect_status "$B_EID" 待考核机构复核
act "$B_EID" assessor_pass "$H2" '"reason":"同意"'
expect 200
expect_status "$B_EID" 待参加考核
eq "$(sql "SELECT GROUP_CONCAT(CONCAT(paper, required) ORDER BY paper) FROM enrolment_test WHERE enrolment_id = $B_EID")" \
    "公共知识1,业务水平0" "简易程序 sits 人文医学 only"
eq "$(results_tests "$B_PT" "$B_EID")" "人文医学:未测评" "P 简易程序: no 业务水平 in the results"
sit "$B_PT" 公共知识 fail
expect_status "$B_EID" 待确认补考
act "$B_EID" makeup_confirm "$CITY"
expect_msg 403 "省级" "a city cannot confirm a makeup (seed [004])"
act "$B_EID" makeup_confirm "$BPROV"
expect 403 "another province"
act "$B_EID" makeup_confirm "$PROV"
expect 200 "province confirms the makeup"
expect_status "$B_EID" 待参加补考
sit "$B_PT" 公共知识 pass
expect_status "$B_EID" 考核完成
eq "$(sql "SELECT CONCAT(result, attempts) FROM enrolment_test WHERE enrolment_id = $B_EID AND paper = '公共知识'")" 合格2 "makeup recorded"
eq "$(results_tests "$B_PT" "$B_EID")" "人文医学:合格" "P 简易程序 after the makeup"

step "O  the audit log of B"
api GET "/enrolments/$B_EID/log" "" "$H1"
expect 200 "log"
N=$(j '[.items[] | select(.entity_type == "enrolment" and .from_status != null and .to_status != null)] | length')
[ "$N" -ge 14 ] || fail "only $N status changes in the log of B"
eq "$(j '[.items[] | select(.action == "inst_reject")][0].reason')" 执业信息填写不完整 "reason in the log"
eq "$(j '[.items[] | select(.action == "assessor_reject")][0].role')" 考核机构 "role in the log"
eq "$(j '[.items[] | select(.action == "makeup_confirm")][0].actor_type')" authority "actor in the log"
eq "$(j '[.items[] | select(.action == "makeup_confirm")][0].from_status')" 待确认补考 "from in the log"
j '.items[0].created_at' | grep -qE '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T.*Z$' || fail "time in the log"

# ---- C ----------------------------------------------------------------------------------------------
step "C 一般程序 with 免考 of 业务水平"
enrol "$H1" "$DEPT" 一般程序
C_EID=$EID C_PT=$PT
api POST /physician/exemption '{"exemption_type":"省级卫生行政部门规定的其他情形","description":"高级职称"}' "$C_PT"
expect 201 "exemption request"
XID=$(j .id)
eq "$(sql "SELECT paper FROM exemption_request WHERE id = $XID")" 业务水平 "一般程序 is exempted from 业务水平"
upload POST "/physician/exemption/attachments?file_name=cert.pdf&kind=免考材料" "$TMP/a.pdf" application/pdf "$C_PT"
expect 201 "exemption attachment"
ATT=$(j .id)
upload POST "/physician/exemption/attachments?file_name=x.txt" /etc/hostname text/plain "$C_PT"
expect 422 "attachment that is not PDF/JPG/PNG"
submit "$C_EID" "$C_PT"
inst_pass "$C_EID"
expect_msg 409 "免考申请" "institution pass with the exemption pending"
api GET /institution/exemptions "" "$H1"
eq "$(j "[.items[] | select(.exemption_id == $XID)] | length")" 1 "exemption queue"
api GET "/attachments/$ATT" "" "$H1"
expect 200 "institution reads the attachment"
api GET "/attachments/$ATT" "" "$H3"
expect 403 "another institution reads the attachment"
xact "$XID" assessor_pass "$H2"
expect 409 "考核机构 before the institution"
xact "$XID" inst_pass "$H1"
expect 200 "institution passes the exemption"
inst_pass "$C_EID"
expect 200
act "$C_EID" assessor_pass "$H2"
expect_msg 409 "复核该医师的免考申请" "re-review with the exemption pending"
api GET /assessor/exemptions "" "$H2"
eq "$(j "[.items[] | select(.exemption_id == $XID)] | length")" 1 "assessor exemption queue"
xact "$XID" assessor_pass "$H2"
expect 200 "考核机构 passes the exemption"
act "$C_EID" assessor_pass "$H2"
expect 200
expect_status "$C_EID" 待参加考核
eq "$(sql "SELECT exempted FROM enrolment_test WHERE enrolment_id = $C_EID AND paper = '业务水平'")" 1 "业务水平 exempted"
exam GET /tests "" "$C_PT"
eq "$(j '[.tests[].paper] | join(",")')" 公共知识 "examd offers 人文医学 only"
sit "$C_PT" 公共知识 pass
expect_status "$C_EID" 考核完成
eq "$(sql "SELECT result FROM enrolment WHERE id = $C_EID")" 合格 "result of C"
eq "$(results_tests "$C_PT" "$C_EID")" "人文医学:合格；业务水平:免考" "P 一般程序 with 业务水平 exempted"

# ---- D ----------------------------------------------------------------------------------------------
step "D 简易程序 with 免考 of 人文医学: no test left"
enrol "$H1" "$DEPT" 简易程序
D_EID=$EID
api POST /physician/exemption '{"exemption_type":"其他情形"}' "$PT"
expect 201
XID=$(j .id)
submit "$D_EID" "$PT"
xact "$XID" inst_reject "$H1" '"reason":"材料不全"'
expect 200 "exemption 驳回"
act "$D_EID" inst_reject "$H1" '"reason":"请补充免考材料"'
api POST /physician/exemption '{"exemption_type":"其他情形","description":"补充"}' "$PT"
expect 201 "exemption again after 驳回"
submit "$D_EID" "$PT"
xact "$XID" inst_pass "$H1"
inst_pass "$D_EID"
xact "$XID" assessor_pass "$H2"
act "$D_EID" assessor_pass "$H2"
expect 200
expect_status "$D_EID" 考核完成
eq "$(sql "SELECT CONCAT(result, '/', result_reason) FROM enrolment WHERE id = $D_EID")" 合格/免考 "D result"
eq "$(results_tests "$PT" "$D_EID")" "人文医学:免考" "P 简易程序 with 人文医学 exempted"

# ---- E ----------------------------------------------------------------------------------------------
step "E 职业道德 不合格 -> 考核完成 不合格"
enrol "$H1" "$DEPT" 一般程序
E_EID=$EID
submit "$E_EID" "$PT"
act "$E_EID" inst_pass "$H1" '"work_result":"合格","ethics_result":"不合格","quantity_result":"合格"'
expect_msg 400 "不合格理由" "不合格 without a reason"
act "$E_EID" inst_pass "$H1" "\"work_result\":\"合格\",\"ethics_result\":\"不合格\",\"ethics_reason\":\"$(rep 红 1001)\",\"quantity_result\":\"合格\""
expect_msg 400 "职业道德不合格理由不能超过 1000 字（现有 1001 字）" "a reason longer than its column is refused, not cut"
act "$E_EID" inst_pass "$H1" '"work_result":"合格","ethics_result":"不合格","ethics_reason":"收受红包","quantity_result":"合格"'
expect 200
act "$E_EID" assessor_pass "$H2"
expect 200
expect_status "$E_EID" 考核完成
sql "SELECT CONCAT(result, '/', result_reason) FROM enrolment WHERE id = $E_EID" | grep -q '^不合格/.*职业道德不合格' ||
    fail "E result: $(sql "SELECT CONCAT(result, '/', result_reason) FROM enrolment WHERE id = $E_EID")"

step "E2 简易程序, 工作成绩 不合格 -> 考核完成 不合格"
enrol "$H1" "$DEPT" 简易程序
submit "$EID" "$PT"
act "$EID" inst_pass "$H1" '"work_result":"不合格","work_reason":"工作量不足","ethics_result":"合格"'
expect 200
act "$EID" assessor_pass "$H2"
expect 200
expect_status "$EID" 考核完成
sql "SELECT CONCAT(result, '/', result_reason) FROM enrolment WHERE id = $EID" | grep -q '^不合格/.*工作成绩不合格' ||
    fail "E2 result"

step "G2 一般程序: 业务水平 failed, makeup of that paper only -> 合格"
enrol "$H1" "$DEPT" 一般程序
G2_EID=$EID G2_PT=$PT
submit "$G2_EID" "$G2_PT"
inst_pass "$G2_EID"
act "$G2_EID" assessor_pass "$H2"
expect 200
sit "$G2_PT" 公共知识 pass
sit "$G2_PT" 业务水平 fail
expect_status "$G2_EID" 待确认补考
act "$G2_EID" makeup_confirm "$PROV"
expect 200
exam GET /tests "" "$G2_PT"
eq "$(j '[.tests[] | "\(.paper)\(.attempt)"] | join(",")')" 业务水平2 "the makeup offers the failed paper only"
sit "$G2_PT" 业务水平 pass
expect_status "$G2_EID" 考核完成
eq "$(sql "SELECT result FROM enrolment WHERE id = $G2_EID")" 合格 "G2"

step "R the authority 驳回s a registration the reviews passed (待参加考核, no test sat)"
to_tests
R_EID=$EID
act "$R_EID" authority_reject "$CITY" '"reason":"执业注册信息有误"'
expect 200
expect_status "$R_EID" 待报名
eq "$(sql "SELECT COUNT(*) FROM enrolment_test WHERE enrolment_id = $R_EID")" 0 "tests dropped"
api GET /physician/me "" "$PT"
j .enrolment.inst_reject_reason | grep -q 卫生行政部门驳回 || fail "the physician sees the authority's reason"

step "F makeup refused -> 考核完成 不合格"
to_tests
sit "$PT" 公共知识 fail
expect_status "$EID" 待确认补考
act "$EID" makeup_refuse "$PROV"
expect_msg 400 "理由" "不予补考 needs a reason"
act "$EID" makeup_refuse "$PROV" '"reason":"无正当理由缺考"'
expect 200
expect_status "$EID" 考核完成
eq "$(sql "SELECT CONCAT(result, '/', makeup_decision) FROM enrolment WHERE id = $EID")" 不合格/不予补考 "F"

step "G makeup failed -> 考核完成 不合格"
to_tests
sit "$PT" 公共知识 fail
act "$EID" makeup_confirm "$PROV"
expect 200
sit "$PT" 公共知识 fail
expect_status "$EID" 考核完成
eq "$(sql "SELECT result FROM enrolment WHERE id = $EID")" 不合格 "G"

# ---- H ----------------------------------------------------------------------------------------------
step "H 认定作弊 and 撤销认定"
to_tests
H_EID=$EID
sit "$PT" 公共知识 pass
expect_status "$H_EID" 考核完成
api POST "/invigilation/$SID/actions/mark" '{"note":"照片与本人不符"}' "$H3"
expect 403 "another institution marks"
api POST "/invigilation/$SID/actions/mark" '{"note":"照片与本人不符"}' "$H1"
expect 200 "institution marks 疑似"
api POST "/invigilation/$SID/actions/unmark" '{"version":1,"reason":"x"}' "$H1"
expect_msg 403 "卫生行政部门" "an institution cannot unmark (seed [004])"
IV=$(sql "SELECT lock_version FROM invigilation WHERE session_id = '$SID'")
api POST "/invigilation/$SID/actions/determine" "{\"version\":$IV,\"reason\":\"替考\"}" "$CITY"
expect_msg 403 "省级" "a city cannot determine cheating"
api POST "/invigilation/$SID/actions/determine" '{"reason":"替考"}' "$PROV"
expect_msg 400 "version" "determine without a version"
api POST "/invigilation/$SID/actions/determine" "{\"version\":$IV,\"reason\":\"经核实为替考\"}" "$PROV"
expect 200 "认定作弊"
eq "$(sql "SELECT CONCAT(cheating_confirmed, final_passed, passed) FROM exam_result WHERE session_id = '$SID'")" 101 "exam_result after 认定作弊"
eq "$(sql "SELECT result FROM enrolment_test WHERE enrolment_id = $H_EID AND paper = '公共知识'")" 不合格 "test failed"
expect_status "$H_EID" 待确认补考
eq "$(sql "SELECT mark_status FROM invigilation WHERE session_id = '$SID'")" 已认定 "mark"
api POST "/invigilation/$SID/actions/revoke" "{\"version\":$IV,\"reason\":\"stale\"}" "$PROV"
expect_msg 409 "已被他人处理" "revoke with a stale version"
IV=$(sql "SELECT lock_version FROM invigilation WHERE session_id = '$SID'")
api POST "/invigilation/$SID/actions/revoke" "{\"version\":$IV,\"reason\":\"复查为本人\"}" "$PROV"
expect 200 "撤销认定"
eq "$(sql "SELECT CONCAT(cheating_confirmed, final_passed) FROM exam_result WHERE session_id = '$SID'")" 01 "exam_result restored"
eq "$(sql "SELECT result FROM enrolment_test WHERE enrolment_id = $H_EID AND paper = '公共知识'")" 合格 "test restored"
expect_status "$H_EID" 考核完成
eq "$(sql "SELECT result FROM enrolment WHERE id = $H_EID")" 合格 "result restored"
eq "$(sql "SELECT GROUP_CONCAT(decision ORDER BY id) FROM cheating_determination WHERE session_id = '$SID'")" "认定作弊,撤销认定" "determinations"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'invigilation' AND entity_id = '$SID' AND action IN ('determine', 'revoke')")" 2 "both audited"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'enrolment' AND entity_id = '$H_EID' AND action = 'tests'")" 2 "both moved the enrolment in the log"

# ---- I ----------------------------------------------------------------------------------------------
step "I 退出本周期 before its deadline, not after"
mkphys "$H1"
api POST "/institution/physicians/$PID/confirm" "" "$H1"
I_EID=$(j .id)
PT=$(first_login physician "$PACCT")
# limits are characters, as the columns and the page count them (心 is 3 bytes, 1 字)
api PUT /physician/profile "{\"specialty\":\"$(rep 心 65)\"}" "$PT"
expect_msg 400 "从事专业不能超过 64 字（现有 65 字）" "a 从事专业 of 65 characters"
api PUT /physician/profile "{\"specialty\":\"$(rep 心 64)\",\"title\":\"主任医师\"}" "$PT"
expect 200 "a 从事专业 of 64 characters (192 bytes)"
eq "$(sql "SELECT CONCAT(CHAR_LENGTH(specialty), ' ', title) FROM physician WHERE id = $PID")" "64 主任医师" "stored whole"
api PUT /physician/profile "{\"experience\":[{\"start_date\":\"2010-07-01\",\"institution_name\":\"$(rep 院 129)\"}]}" "$PT"
expect_msg 400 "执业经历第 1 条的执业机构不能超过 128 字（现有 129 字）" "a 执业机构 of 129 characters"
api PUT /physician/profile '{"experience":[{"start_date":"2010-07-01","end_date":"","department":""}]}' "$PT"
expect_msg 400 "执业经历第 1 条缺少执业机构" "a row without its institution"
api PUT /physician/profile "{\"experience\":[{\"start_date\":\"2010-07-01\",\"end_date\":\"\",\"institution_name\":\"$(rep 院 128)\"}]}" "$PT"
expect 200 "a 执业机构 of 128 characters; an empty end date is 至今"
eq "$(sql "SELECT CONCAT(CHAR_LENGTH(institution_name), ' ', end_date IS NULL) FROM physician_experience WHERE physician_id = $PID")" "128 1" "the row stored"
api PUT /physician/profile '{"birth_date":"1980-13-01"}' "$PT"
expect_msg 400 "出生日期应为日期" "errors name the field as the page does"
api PUT /physician/registration "{\"sa_other_workload\":\"$(rep 量 1001)\"}" "$PT"
expect_msg 400 "其他工作量不能超过 1000 字（现有 1001 字）" "其他工作量 of 1001 characters"
api POST "/enrolments/$I_EID/actions/withdraw" '{}' "$PT"
expect_msg 400 "理由" "withdraw needs a reason"
api POST "/enrolments/$I_EID/actions/withdraw" "{\"reason\":\"$(rep 退 1001)\"}" "$PT"
expect_msg 400 "理由不能超过 1000 字（现有 1001 字）" "a withdraw reason of 1001 characters is refused, not cut"
expect_status "$I_EID" 待报名
api PUT "/cycles/$CYCLE_ID" "{\"withdraw_deadline\":\"$(iso '-1 hour')\"}" "$PROV"
expect 200 "deadline in the past"
api POST "/enrolments/$I_EID/actions/withdraw" '{"reason":"本周期不需考核"}' "$PT"
expect_msg 409 "截止" "withdraw after the deadline"
api PUT "/cycles/$CYCLE_ID" "{\"withdraw_deadline\":\"$(iso '+20 days')\"}" "$PROV"
api POST "/enrolments/$I_EID/actions/withdraw" "{\"reason\":\"$(rep 退 1000)\"}" "$PT"
expect 200 "withdraw with a reason of 1000 characters (3000 bytes)"
expect_status "$I_EID" 退出本周期
eq "$(sql "SELECT CHAR_LENGTH(withdraw_reason) FROM enrolment WHERE id = $I_EID")" 1000 "the reason stored whole"

# ---- J ----------------------------------------------------------------------------------------------
step "J 取消参加 before submitting only; after it the authority 驳回s"
mkphys "$H1"
api POST "/institution/physicians/$PID/confirm" "" "$H1"
expect 201
api POST "/institution/physicians/$PID/confirm" "" "$H1"
expect_msg 409 "待报名" "confirm twice"
api POST "/institution/physicians/$PID/cancel" "" "$H1"
expect 200 "cancel"
eq "$(sql "SELECT COUNT(*) FROM enrolment WHERE physician_id = $PID")" 0 "cancelled"
enrol "$H1" "$DEPT" 一般程序
J_EID=$EID J_PID=$PID J_PT=$PT
submit "$J_EID" "$J_PT"
api POST "/institution/physicians/$J_PID/cancel" "" "$H1"
expect_msg 409 "当前状态" "cancel after submitting"
act "$J_EID" authority_reject "$BPROV" '"reason":"x"'
expect 403 "authority of another region"
act "$J_EID" authority_reject "$COUNTY" '"reason":"该医师本周期无需考核"'
expect 200 "authority 驳回"
expect_status "$J_EID" 待报名
api POST "/institution/physicians/$J_PID/cancel" "" "$H1"
expect 200 "cancel once the authority 驳回ed (seeds [002][004])"
eq "$(sql "SELECT COUNT(*) FROM enrolment WHERE id = $J_EID")" 0 "cancelled after the 驳回"
api POST "/institution/physicians/$J_PID/confirm" "" "$H1"
expect 201 "confirm again"
J_EID=$(j .id)
act "$J_EID" withdraw "$H1" '"reason":"本周期不需考核"'
expect 200 "the institution withdraws the physician"
expect_status "$J_EID" 退出本周期

# ---- K ----------------------------------------------------------------------------------------------
step "K windows: no registration outside its window, no review after its window"
enrol "$H1" "$DEPT" 一般程序
K_EID=$EID K_PT=$PT
api PUT "/cycles/$CYCLE_ID" "{\"registration_end\":\"$(iso '-1 minute')\"}" "$PROV"
expect 200
api POST "/enrolments/$K_EID/actions/submit" '{}' "$K_PT"
expect_msg 409 "不在医师报名时间内" "submit outside the registration window"
api PUT /physician/registration '{"sa_work_text":"x"}' "$K_PT"
expect_msg 409 "不在医师报名时间内" "edit outside the window"
api PUT "/cycles/$CYCLE_ID" "{\"registration_end\":\"$(iso '+30 days')\"}" "$PROV"
submit "$K_EID" "$K_PT"
api PUT "/cycles/$CYCLE_ID" "{\"inst_review_end\":\"$(iso '-1 minute')\"}" "$PROV"
inst_pass "$K_EID"
expect_msg 409 "不在机构审核时间内" "review after the window"
api PUT "/cycles/$CYCLE_ID" "{\"inst_review_end\":\"$(iso '+40 days')\"}" "$PROV"

# ---- L ----------------------------------------------------------------------------------------------
step "L optimistic lock: two reviewers cannot both decide"
V=$(ver "$K_EID" "$H1")
act "$K_EID" inst_reject "$H1" '"reason":"第一位审核员驳回"'
expect 200
submit "$K_EID" "$K_PT"
api POST "/enrolments/$K_EID/actions/inst_pass" "{\"version\":$V,\"work_result\":\"合格\",\"ethics_result\":\"合格\",\"quantity_result\":\"合格\"}" "$H1"
expect_msg 409 "已被他人处理" "a decision on a stale version"
V=$(ver "$K_EID" "$H1")
RACE=()
for i in 1 2 3; do
    curl -s -o "$TMP/race$i" -w '%{http_code}\n' -X POST "http://127.0.0.1:$ADMIN_PORT/api/v1/enrolments/$K_EID/actions/inst_pass" \
        -H "Authorization: Bearer $H1" --data-binary "{\"version\":$V,\"work_result\":\"合格\",\"ethics_result\":\"合格\",\"quantity_result\":\"合格\"}" >"$TMP/code$i" &
    RACE+=($!)
done
wait "${RACE[@]}"
eq "$(cat "$TMP"/code? | sort | tr '\n' ' ')" "200 409 409 " "three concurrent decisions"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'enrolment' AND entity_id = '$K_EID' AND action = 'inst_pass'")" 1 "one decision logged"

# ---- M ----------------------------------------------------------------------------------------------
step "M 403: out of scope, wrong role"
mkphys "$H3"
P3=$PID
api PUT "/institution/departments/$DEPT3" '{"name":"x"}' "$H1"
expect 403 "another institution's department"
api POST "/institution/physicians/$P3/confirm" "" "$H3"
E3=$(j .id)
api GET "/enrolments/$E3" "" "$H1"
expect 403 "another institution's enrolment"
api POST "/enrolments/$E3/actions/inst_reject" '{"version":0,"reason":"x"}' "$H1"
expect_msg 403 "管辖范围" "decision on another institution's enrolment"
api GET "/institution/physicians/$P3" "" "$H1"
expect 403 "another institution's physician"
api POST "/institution/physicians/$P3/reset-password" "" "$H1"
expect 403 "reset another institution's physician"
api GET "/enrolments/$E3" "" "$A_PT"
expect 403 "a physician reads another's enrolment"
api POST "/enrolments/$K_EID/actions/inst_pass" '{"version":0}' "$K_PT"
expect 403 "a physician decides"
P3T=$(first_login physician "$PACCT")
api PUT /physician/profile "{\"department_id\":$DEPT3}" "$P3T"
upload PUT /physician/photo "$TMP/photo.jpg" image/jpeg "$P3T"
api PUT /physician/registration '{"procedure_type":"简易程序","sa_work_text":"w","sa_ethics_text":"e","sa_simple_condition":"c"}' "$P3T"
submit "$E3" "$P3T"
act "$E3" inst_pass "$H3" '"work_result":"合格","ethics_result":"合格"'
expect_msg 409 "尚未分配考核机构" "no 考核机构 assigned"
api POST /authority/assignments "{\"institution_id\":$H3_ID,\"assessor_id\":$H2_ID}" "$BPROV"
expect 403 "assignment by another province"
api POST /authority/assignments "{\"institution_id\":$H3_ID,\"assessor_id\":$H1_ID}" "$COUNTY"
expect 409
# H2 is not H3's 考核机构 (nothing assigned): a re-review there is out of its scope
sql "UPDATE enrolment SET status = '待考核机构复核', lock_version = lock_version + 1 WHERE id = $E3" # a direct write: only to set up the scope check
act "$E3" assessor_pass "$H2"
expect_msg 403 "管辖范围" "a 考核机构 on an institution it does not assess"
api GET "/authority/enrolments?status=待确认补考" "" "$BPROV"
expect 200
eq "$(j .total)" 0 "another province sees none of our enrolments"

# ---- N ----------------------------------------------------------------------------------------------
step "N 409: wrong status says why"
act "$A_EID" inst_pass "$H1" '"work_result":"合格","ethics_result":"合格","quantity_result":"合格"'
expect_msg 409 "当前状态为「考核完成」" "decision on a finished enrolment"
j .error.message | grep -q "仅限状态" || fail "the 409 names the allowed statuses"
act "$A_EID" makeup_confirm "$PROV"
expect_msg 409 "待确认补考" "makeup when no test failed"
api POST "/enrolments/$A_EID/actions/no_such" '{}' "$H1"
expect 404 "unknown action"

# ---- stats ------------------------------------------------------------------------------------------
step "home pages: pending tasks and the three rates"
api GET /institution/home "" "$H1"
expect 200 "institution home"
C=$(sql "SELECT SUM(status <> '退出本周期'), SUM(status NOT IN ('待报名', '待报名（被机构驳回）', '退出本周期')),
              SUM(status IN ('待考核机构复核', '待参加考核', '待确认补考', '待参加补考', '考核完成')), SUM(status = '考核完成')
         FROM enrolment WHERE cycle_id = $CYCLE_ID AND institution_id = $H1_ID")
read -r CONF SUBM REV DONE <<<"$C"
eq "$(j '.progress.registration | "\(.numerator)/\(.denominator)"')" "$SUBM/$CONF" "报名完成率"
eq "$(j '.progress.review | "\(.numerator)/\(.denominator)"')" "$REV/$SUBM" "审核完成率"
eq "$(j '.progress.final | "\(.numerator)/\(.denominator)"')" "$DONE/$CONF" "最终完成率"
# the seed's four tiles [002], 跟班带教修改申请 among them (admin_teaching.c)
eq "$(j '[.pending_tasks[].label] | join(",")')" "一般程序待审核,简易程序待审核,免考申请待审核,跟班带教修改申请" "pending task kinds"
eq "$(j '.cycle.id')" "$CYCLE_ID" "the home page's cycle"
eq "$(j '.pending_tasks[] | select(.kind == "general_review") | .count')" \
    "$(sql "SELECT COUNT(*) FROM enrolment WHERE cycle_id = $CYCLE_ID AND institution_id = $H1_ID AND procedure_type = '一般程序' AND status IN ('待医疗卫生机构审核', '待医疗卫生机构审核（被考核机构驳回）')")" "一般程序待审核"
eq "$(j .contacts.assessor.id)" "$H2_ID" "the 考核机构 contact"
api GET /authority/home "" "$PROV"
expect 200 "authority home"
eq "$(j '.progress.final.denominator')" "$(sql "SELECT COUNT(*) FROM enrolment WHERE cycle_id = $CYCLE_ID AND status <> '退出本周期'")" "region denominator"
api GET /authority/stats "" "$COUNTY"
expect 200 "authority stats"
eq "$(j ".items[] | select(.institution_id == $H1_ID) | .completed")" "$DONE" "stats per institution"
api GET "/institution/test-progress?paper=人文医学&result=合格" "" "$H1"
expect 200 "测评进度"
[ "$(j .total)" -ge 4 ] || fail "测评进度 lists $(j .total) passed 人文医学 rows"
api GET "/institution/progress?procedure=简易程序&status=考核完成" "" "$H1"
expect 200 "考核进度"
eq "$(j '[.items[].status] | unique | join(",")')" 考核完成 "progress filter"
api GET /institution/history "" "$H1"
expect 200 "history"
[ "$(j '[.items[] | select(.certificate == true)] | length')" -ge 4 ] || fail "history certificates"

# ---- Q ----------------------------------------------------------------------------------------------
step "Q a missed test is a failed test (seed [001])"
to_tests
Q_EID=$EID
api PUT "/cycles/$CYCLE_ID" "{\"test_start\":\"$(iso '-2 days')\",\"test_end\":\"$(iso '-1 minute')\"}" "$PROV"
expect 200
api POST /authority/maintenance '{}' "$CITY"
expect 403 "maintenance is the province's"
api POST /authority/maintenance '{}' "$PROV"
expect 200 "maintenance"
[ "$(j .absentees_moved)" -ge 1 ] || fail "no absentee moved"
expect_status "$Q_EID" 待确认补考
eq "$(sql "SELECT CONCAT(result, attempts) FROM enrolment_test WHERE enrolment_id = $Q_EID AND paper = '公共知识'")" 不合格1 "missed test"
api PUT "/cycles/$CYCLE_ID" "{\"test_end\":\"$(iso '+60 days')\"}" "$PROV"

step "SIGTERM: both servers exit 0"
stop_examd
stop_admind
echo "PASS: the §1.1 workflow, both procedures, exemptions, makeups, cheating, windows, locks, scopes"
