#!/usr/bin/env bash
# Issue 16 items 1, 4 and 10 against the real stack:
#   1. 简易程序 proofs: the physician uploads (PDF/JPG/PNG, attachment limits) and deletes
#      them on the enrolment while it is editable (409 after submit, 422 for other files);
#      the institution and its 考核机构 open them (each download audited), another
#      institution cannot (403); uploads and downloads are in the enrolment's log
#   4. 信息审核员: the institution creates, disables, enables, resets its reviewers; a
#      reviewer logs in (activation code, must change the password), reviews (inst_pass
#      names it in the audit row and in 评定人), cannot manage accounts or physicians (403,
#      on the loop and on the thread), cannot withdraw a physician; disabling or resetting
#      revokes its tokens; another institution cannot touch them (404); a 考核机构's own
#      reviewer re-reviews (audited as 考核机构信息审核员)
#  10. seed [000] deferral: a physician first registered in an even year of the cycle cannot
#      be confirmed (409 naming the year), the list marks it and filters on due=
ADMIND=$1
. "$(dirname "$0")/lib.sh"
need
[ "$(sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()
          AND table_name = 'institution_reviewer'")" = 1 ] ||
    { echo "SKIP: migration 011_proofs_reviewers.sql is not applied (deploy/migrate.sh)"; exit 77; }
start_admind
setup_world

# a small PDF and a file that is none of the accepted kinds
printf '%%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%%%EOF\n' >"$TMP/proof.pdf"
printf 'MZ not a document' >"$TMP/bad.exe"
audits() { sql "SELECT COUNT(*) FROM audit_log WHERE $1"; }

step "1. the physician uploads a proof while the registration is editable"
enrol "$H1" "$DEPT" 简易程序
upload POST "/physician/registration/attachments?file_name=proof.pdf&kind=%E7%AE%80%E6%98%93%E7%A8%8B%E5%BA%8F%E7%94%B3%E8%AF%B7%E6%9D%90%E6%96%99" \
    "$TMP/proof.pdf" application/pdf "$PT"
expect 201 "proof upload"
AID=$(j .id)
eq "$(sql "SELECT CONCAT(owner_type, ':', owner_id, ':', kind) FROM attachment WHERE id = $AID")" \
    "enrolment:$EID:简易程序申请材料" "stored on the enrolment"
eq "$(audits "action = 'upload_attachment' AND entity_type = 'enrolment' AND entity_id = '$EID'")" 1 "upload audited"
upload POST "/physician/registration/attachments?file_name=x.exe" "$TMP/bad.exe" application/octet-stream "$PT"
expect 422 "not a PDF/JPG/PNG"
upload POST "/physician/registration/attachments?file_name=x.pdf&kind=other" "$TMP/proof.pdf" application/pdf "$PT"
expect 400 "unknown kind"
api GET /physician/me "" "$PT"
expect 200
eq "$(j '.enrolment.attachments | map(.file_name) | join(",")')" proof.pdf "the physician's page lists it"
upload POST "/physician/registration/attachments?file_name=second.pdf" "$TMP/proof.pdf" application/pdf "$PT"
expect 201 "second upload"
A2=$(j .id)
api DELETE "/physician/registration/attachments/$A2" "" "$PT"
expect 200 "delete while editable"
api DELETE "/physician/registration/attachments/$A2" "" "$PT"
expect 404 "deleted once"
[ -f "$TMP/data/$(sql "SELECT path FROM attachment WHERE id = $AID")" ] || fail "the same content of a live proof was deleted"
printf '%%PDF-1.4\n%% another\n%%%%EOF\n' >"$TMP/other.pdf"
upload POST "/physician/registration/attachments?file_name=other.pdf" "$TMP/other.pdf" application/pdf "$PT"
expect 201 "a third upload"
A3=$(j .id) A3PATH=$(sql "SELECT path FROM attachment WHERE id = $(j .id)")
[ -f "$TMP/data/$A3PATH" ] || fail "the upload is not on disk"
api DELETE "/physician/registration/attachments/$A3" "" "$PT"
expect 200
[ -f "$TMP/data/$A3PATH" ] && fail "a deleted proof's file stays on disk"
api DELETE "/physician/registration/attachments/$AID" "" "$H1"
expect 403 "an institution cannot use the physician's route"

step "1. after submit: no upload, no delete (409); the reviewers open it, audited"
submit "$EID" "$PT"
upload POST "/physician/registration/attachments?file_name=late.pdf" "$TMP/proof.pdf" application/pdf "$PT"
expect_msg 409 "报名已提交" "upload after submit"
api DELETE "/physician/registration/attachments/$AID" "" "$PT"
expect 409 "delete after submit"
code=$(curl -s -o "$TMP/got.pdf" -w '%{http_code}' -H "Authorization: Bearer $H1" \
    "http://127.0.0.1:$ADMIN_PORT/api/v1/attachments/$AID")
eq "$code" 200 "the institution opens the proof"
cmp -s "$TMP/got.pdf" "$TMP/proof.pdf" || fail "the proof came back changed"
eq "$(audits "action = 'attachment_download' AND entity_id = '$AID' AND actor_type = 'institution' AND actor_id = $H1_ID")" 1 \
    "the institution's view audited"
api GET "/enrolments/$EID" "" "$H1"
expect 200
eq "$(j "[.attachments[] | select(.owner_type == \"enrolment\")] | length")" 1 "review page lists the proof"
api POST /authority/institutions "{\"name\":\"旁观医院-$RUN\"}" "$COUNTY"
expect 201
H3_CODE=$(j .code) H3_ID=$(j .id)
H3=$(first_login institution "$H3_CODE")
api GET "/attachments/$AID" "" "$H3"
expect 403 "another institution cannot open the proof"
eq "$(audits "action = 'attachment_download' AND entity_id = '$AID' AND actor_id = $H3_ID")" 0 "a refused view is no view"

step "4. the institution creates a reviewer; the reviewer's first login"
api POST /institution/reviewers '{"display_name":"王审核","mobile":"13900000000"}' "$H1"
expect 201 "create reviewer"
RID=$(j .id) RUSER=$(j .username) RCODE=$(j .activation_code)
eq "$(j .initial_password)" 666666 "initial password"
case "$RUSER" in "${H1_CODE}R001") ;; *) fail "reviewer user name $RUSER" ;; esac
eq "$(audits "action = 'create_reviewer' AND entity_type = 'institution_reviewer' AND entity_id = '$RID'")" 1 "creation audited"
api POST /institution/reviewers "{\"display_name\":\"$(printf '长%.0s' $(seq 33))\"}" "$H1"
expect_msg 400 "不能超过 32 字" "a name longer than 32 characters"
api POST /institution/reviewers "{\"display_name\":\"$(printf '长%.0s' $(seq 32))\"}" "$H3"
expect 201 "a 32-character reviewer name (of H3)"
LRUSER=$(j .username) LRCODE=$(j .activation_code)
LRT=$(login reviewer "$LRUSER" 666666 "\"activation_code\":\"$LRCODE\"")
api POST /password "{\"old_password\":\"666666\",\"new_password\":\"$PASSWORD\"}" "$LRT"
expect 200 "the long-named reviewer changes its password"
LRT=$(j .token)
api GET /me "" "$LRT"
expect 200 "me of a reviewer with a 32-character name"
eq "$(j '.reviewer.name | length')" 32 "the name whole in the actor (no half character)"
api POST /login "{\"type\":\"reviewer\",\"account\":\"$RUSER\",\"password\":\"666666\"}" ""
expect 400 "the identity step is asked"
RT0=$(login reviewer "$RUSER" 666666 "\"activation_code\":\"$RCODE\"")
api GET /institution/reviews "" "$RT0"
expect_msg 403 "修改初始密码" "must change first"
api POST /password "{\"old_password\":\"666666\",\"new_password\":\"$PASSWORD\"}" "$RT0"
expect 200 "reviewer changes its password"
RT=$(j .token)
eq "$(audits "action = 'change_password' AND actor_type = 'reviewer' AND actor_id = $RID")" 1 "its own password"
api GET /me "" "$RT"
expect 200
eq "$(j '[.type, .reviewer.name, .institution.id, (.roles | index("reviewer") != null)] | map(tostring) | join(",")')" \
    "reviewer,王审核,$H1_ID,true" "me of a reviewer"

step "4. a reviewer cannot manage accounts, physicians or the institution (403)"
for r in "GET /institution/reviewers" "POST /institution/reviewers" "POST /institution/reviewers/$RID/disable" \
         "POST /institution/reviewers/$RID/reset-password" "GET /institution/physicians" \
         "POST /institution/physicians/$PID/reset-password" "PUT /institution/profile" \
         "POST /institution/departments" "GET /institution/progress" "POST /cme/cards"; do
    api ${r% *} "${r#* }" '{"display_name":"x"}' "$RT"
    expect_msg 403 "信息审核员" "reviewer: $r"
done
eq "$(sql "SELECT COUNT(*) FROM institution_reviewer WHERE institution_id = $H1_ID")" 1 "nothing created by the reviewer"

step "4. the reviewer reviews; the audit row and 评定人 name it"
api GET /institution/reviews "" "$RT"
expect 200 "review queue"
eq "$(j "[.items[] | select(.enrolment_id == $EID or .id == $EID)] | length")" 1 "the enrolment is in its queue"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $RT" "http://127.0.0.1:$ADMIN_PORT/api/v1/attachments/$AID")
eq "$code" 200 "the reviewer opens the proof"
eq "$(audits "action = 'attachment_download' AND entity_id = '$AID' AND actor_type = 'reviewer' AND actor_id = $RID")" 1 \
    "the reviewer's view is audited as itself"
# an assessor application's attachment is not review material: not for the reviewer
api POST "/authority/institutions/$H3_ID/apply-right" '{"can_apply":true}' "$COUNTY"
expect 200 "H3 may apply"
api POST /institution/assessor-applications '{"note":"申请"}' "$H3"
expect 201 "an assessor application"
XAPP=$(j .id)
jpeg "$TMP/xapp.jpg"
upload POST "/institution/assessor-applications/$XAPP/attachments?file_name=a.jpg" "$TMP/xapp.jpg" image/jpeg "$H3"
expect 201 "its attachment"
XAID=$(j .id)
api GET "/attachments/$XAID" "" "$LRT"
expect 403 "a reviewer opens an assessor application's attachment"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $H3" "http://127.0.0.1:$ADMIN_PORT/api/v1/attachments/$XAID")
eq "$code" 200 "the institution opens it"
act "$EID" withdraw "$RT" '"reason":"不属于本周期"'
expect_msg 403 "审核、复核" "a reviewer cannot withdraw a physician"
act "$EID" inst_pass "$RT" '"work_result":"合格","ethics_result":"合格"'
expect 200 "the reviewer passes the enrolment"
expect_status "$EID" 待考核机构复核
eq "$(sql "SELECT CONCAT(actor_type, ':', actor_id, ':', role, ':', JSON_UNQUOTE(JSON_EXTRACT(detail, '\$.reviewer.name')))
           FROM audit_log WHERE action = 'inst_pass' AND entity_type = 'enrolment' AND entity_id = '$EID'")" \
    "reviewer:$RID:医疗卫生机构信息审核员:王审核" "the audit row names the reviewer"
eq "$(sql "SELECT inst_reviewed_by FROM enrolment WHERE id = $EID")" 王审核 "评定人 is the reviewer"
api GET "/enrolments/$EID/log" "" "$H1"
expect 200
eq "$(j '[.items[] | select(.action == "inst_pass") | .actor_name] | .[0]')" "王审核（测试医院1-$RUN信息审核员）" "the log names the reviewer"
eq "$(j '[.items[] | select(.action == "upload_attachment" or .action == "attachment_download" or .action == "delete_attachment")] | length')" 7 \
    "the log lists the three uploads, the two deletions and the two views"

step "1+4. the 考核机构 opens the proof (audited as 考核机构); its own reviewer re-reviews"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $H2" "http://127.0.0.1:$ADMIN_PORT/api/v1/attachments/$AID")
eq "$code" 200 "the 考核机构 opens the proof"
eq "$(audits "action = 'attachment_download' AND entity_id = '$AID' AND actor_type = 'assessor' AND actor_id = $H2_ID")" 1 \
    "the 考核机构's view audited"
api POST /institution/reviewers '{"display_name":"赵复核"}' "$H2"
expect 201 "the 考核机构 creates its reviewer"
R2USER=$(j .username) R2ID=$(j .id)
R2T=$(login reviewer "$R2USER" 666666 "\"activation_code\":\"$(j .activation_code)\"")
api POST /password "{\"old_password\":\"666666\",\"new_password\":\"$PASSWORD\"}" "$R2T"
expect 200
R2T=$(j .token)
api GET /assessor/reviews "" "$R2T"
expect 200 "the 复核 queue for the 考核机构's reviewer"
act "$EID" assessor_pass "$R2T"
expect 200 "the 考核机构's reviewer passes the re-review"
eq "$(sql "SELECT CONCAT(actor_type, ':', actor_id, ':', role) FROM audit_log WHERE action = 'assessor_pass' AND entity_id = '$EID'")" \
    "reviewer:$R2ID:考核机构信息审核员" "the re-review names the 考核机构's reviewer"

step "4. another institution cannot touch H1's reviewers (404)"
api POST "/institution/reviewers/$RID/disable" "" "$H3"
expect 404 "another institution"

step "4. disabling revokes the reviewer's tokens; enabled again it logs in"
api POST "/institution/reviewers/$RID/disable" "" "$H1"
expect 200 "disable"
api POST "/institution/reviewers/$RID/disable" "" "$H1"
expect_msg 409 "停用" "disabled twice"
sleep 1.5 # each loop refreshes its table of revocations every second (dom_token.h)
api GET /institution/reviews "" "$RT"
expect 401 "a disabled reviewer's token"
api POST /login "{\"type\":\"reviewer\",\"account\":\"$RUSER\",\"password\":\"$PASSWORD\"}" ""
expect 403 "a disabled reviewer cannot log in"
api POST "/institution/reviewers/$RID/enable" "" "$H1"
expect 200 "enable"
RT=$(login reviewer "$RUSER" "$PASSWORD")
api GET /institution/reviews "" "$RT"
expect 200 "enabled again"

step "4. reset: 666666 with a new activation code, tokens revoked"
api POST "/institution/reviewers/$RID/reset-password" "" "$H1"
expect 200 "reset"
RCODE=$(j .activation_code)
eq "$(j .must_change_password)" true "must change after a reset"
sleep 1.5
api GET /institution/reviews "" "$RT"
expect 401 "the token before the reset"
RT=$(login reviewer "$RUSER" 666666 "\"activation_code\":\"$RCODE\"")
eq "$(audits "action = 'reset_password' AND entity_type = 'institution_reviewer' AND entity_id = '$RID'")" 1 "reset audited"
api GET /institution/reviewers "" "$H1"
expect 200
eq "$(j '.items[0] | [.username, .enabled, .must_change_password] | map(tostring) | join(",")')" "$RUSER,true,true" "the list"

step "10. seed [000]: first registered in an even year of the cycle -> next cycle"
YEAR=$(sql "SELECT YEAR(period_start + INTERVAL 8 HOUR) FROM cycle WHERE id = $CYCLE_ID")
EVEN=$(( YEAR % 2 == 0 ? YEAR : YEAR + 1 ))
ODD=$(( EVEN + 1 ))
for y in $EVEN $ODD; do
    idn=$(new_id "$A_COUNTY")
    api POST /institution/physicians "{\"name\":\"新注册$y\",\"id_number\":\"$idn\",\"practice_level\":\"执业医师\",\"practice_category\":\"临床\",\"first_registration_date\":\"$y-03-01\"}" "$H1"
    expect 201 "physician first registered $y"
    eval "P$y=$(j .id)"
done
eval "PE=\$P$EVEN PO=\$P$ODD"
api POST "/institution/physicians/$PE/confirm" "" "$H1"
expect_msg 409 "$EVEN 年（偶数年）" "an even-year registration is not due in this cycle"
api POST "/institution/physicians/$PO/confirm" "" "$H1"
expect 201 "an odd-year registration is due"
api GET "/institution/physicians?tab=unconfirmed&due=0&page_size=500" "" "$H1"
expect 200
eq "$(j "[.items[] | .physician_id] | index($PE) != null")" true "due=0 lists the deferred one"
eq "$(j "[.items[] | select(.physician_id == $PE) | .deferred] | .[0]")" true "marked deferred"
api GET "/institution/physicians?tab=unconfirmed&due=1&page_size=500" "" "$H1"
expect 200
eq "$(j "[.items[] | .physician_id] | index($PE)")" null "due=1 leaves it out"
api GET "/institution/physicians?due=2" "" "$H1"
expect 400 "due is 0 or 1"
api PUT "/cycles/$CYCLE_ID" '{"defer_even_year":0}' "$PROV"
expect 200 "the province turns the rule off for its cycle"
api POST "/institution/physicians/$PE/confirm" "" "$H1"
expect 201 "without the rule the even-year registration is due"
api PUT "/cycles/$CYCLE_ID" '{"defer_even_year":1}' "$PROV"
expect 200

stop_admind
echo "PASS"
