#!/usr/bin/env bash
# Limits and audit of admind (issue 12, findings 7, 8, 10, 11) against the real stack:
#   - registered-photo uploads: at most photo_upload_max per physician per window (429 +
#     Retry-After); another physician is not affected
#   - attachments: at most attachment_max_count per owner (409) and
#     attachment_max_total_bytes per owner (413)
#   - every attachment download and every view of a full ID number is in the audit log
#   - ID-number lookups (调入) only within the institution's own province, each one audited
#     with the number masked, at most id_lookup_max per institution per window (429); a
#     physician transferred in must change the password at the next login
#   - an institution cannot be its own 考核机构
#   - the CSV export guards fields that start with TAB, CR or full-width ＝＋－＠
ADMIND=$1
. "$(dirname "$0")/lib.sh"
need
export DK_PHOTO_UPLOAD_MAX=3 DK_PHOTO_UPLOAD_WINDOW_S=600 DK_ID_LOOKUP_MAX=5 \
    DK_ID_LOOKUP_WINDOW_S=600 DK_ATTACHMENT_MAX_COUNT=3 DK_ATTACHMENT_MAX_TOTAL_BYTES=1000
start_admind
jpeg "$TMP/photo.jpg"
# raw METHOD PATH FILE TOKEN: the body from FILE, headers in $TMP/headers
raw() {
    code=$(curl -s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' -X "$1" \
        "http://127.0.0.1:$ADMIN_PORT/api/v1$2" -H "Authorization: Bearer $4" \
        -H 'Content-Type: application/octet-stream' --data-binary "@$3")
}
retry_after() { grep -i '^Retry-After:' "$TMP/headers" | cut -d: -f2 | tr -d ' \r'; }
audits() { # ACTION ENTITY_TYPE ENTITY_ID -> rows
    sql "SELECT COUNT(*) FROM audit_log WHERE action = '$1' AND entity_type = '$2' AND entity_id = '$3'"
}

step "world: region A (H1, H2 考核机构 of H1, H3 applying), region B (HB)"
setup_world
api POST /authority/institutions "{\"name\":\"测试医院3-$RUN\",\"inst_type\":\"医院\"}" "$COUNTY"
expect 201 "institution 3"
H3_ID=$(j .id)
H3=$(first_login institution "$(j .code)")
make_region B
BCOUNTY=$(login authority "t$RUN-B-county" "$PASSWORD")
api POST /authority/institutions "{\"name\":\"外省医院-$RUN\",\"inst_type\":\"医院\"}" "$BCOUNTY"
expect 201 "institution of region B"
HB=$(first_login institution "$(j .code)")

step "registered photo: at most 3 uploads per physician per window"
mkphys "$H1"
P1=$PID P1IDN=$PIDN
api POST "/institution/physicians/$P1/confirm" "" "$H1"
expect 201
PT=$(first_login physician "$PACCT")
for i in 1 2 3; do
    raw PUT /physician/photo "$TMP/photo.jpg" "$PT"
    expect 200 "photo upload $i"
done
raw PUT /physician/photo "$TMP/photo.jpg" "$PT"
expect_msg 429 "次数" "the fourth photo upload in the window"
ra=$(retry_after)
[ -n "$ra" ] && [ "$ra" -ge 1 ] && [ "$ra" -le 600 ] || fail "Retry-After '$ra' of the photo limit"
mkphys "$H1"
api POST "/institution/physicians/$PID/confirm" "" "$H1"
PT2=$(first_login physician "$PACCT")
raw PUT /physician/photo "$TMP/photo.jpg" "$PT2"
expect 200 "another physician's upload"

step "attachments: count and total size per owner"
api POST "/authority/institutions/$H3_ID/apply-right" '{"can_apply":true}' "$COUNTY"
expect 200 "apply right of H3"
api POST /institution/assessor-applications '{"note":"申请"}' "$H3"
expect 201 "application of H3"
APP=$(j .id)
{ cat "$TMP/photo.jpg"; head -c 900 /dev/zero; } >"$TMP/big.jpg" # 1062 bytes > 1000
raw POST "/institution/assessor-applications/$APP/attachments?file_name=a.jpg" "$TMP/photo.jpg" "$H3"
expect 201 "attachment 1"
ATT1=$(j .id)
raw POST "/institution/assessor-applications/$APP/attachments?file_name=big.jpg" "$TMP/big.jpg" "$H3"
expect_msg 413 "总大小" "an attachment over the owner's total size"
for i in 2 3; do
    raw POST "/institution/assessor-applications/$APP/attachments?file_name=a$i.jpg" "$TMP/photo.jpg" "$H3"
    expect 201 "attachment $i"
done
raw POST "/institution/assessor-applications/$APP/attachments?file_name=a4.jpg" "$TMP/photo.jpg" "$H3"
expect_msg 409 "数量" "the fourth attachment of one owner"
eq "$(sql "SELECT COUNT(*) FROM attachment WHERE owner_type = 'assessor_application' AND owner_id = $APP")" 3 "attachments stored"

step "attachment downloads are audited"
code=$(curl -s -o "$TMP/att" -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/api/v1/attachments/$ATT1" -H "Authorization: Bearer $H3")
expect 200 "download"
cmp -s "$TMP/att" "$TMP/photo.jpg" || fail "the attachment bytes differ"
eq "$(audits attachment_download attachment "$ATT1")" 1 "the download in the audit log"
api GET "/attachments/$ATT1" "" "$H1"
expect 403 "another institution's download"
eq "$(audits attachment_download attachment "$ATT1")" 1 "a refused download is not a view"

step "full ID numbers: every view audited"
api GET "/institution/physicians/$P1" "" "$H1"
expect 200
eq "$(j .physician.id_number)" "$P1IDN" "the detail shows the full number"
eq "$(audits view_id_number physician "$P1")" 1 "the institution's view of the full number"
api GET /physician/me "" "$PT"
expect 200
eq "$(audits view_id_number physician "$P1")" 2 "the physician's own view"
api GET /institution/physicians "" "$H1"
eq "$(audits view_id_number physician "$P1")" 2 "a list (masked numbers) is not a view of a full number"

step "调入: own province only, audited with the number masked, limited per institution"
api POST "/institution/physicians/$P1/leave" '{"reason":"调动"}' "$H1"
expect 200 "离岗"
N0=$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'id_lookup'")
api GET "/institution/transfer-candidates?id_number=$P1IDN" "" "$HB"
expect 200 "a lookup from another province"
eq "$(j '.items | length')" 0 "another province sees nobody"
api POST /institution/physicians/transfer-in "{\"id_number\":\"$P1IDN\"}" "$HB"
expect 404 "another province cannot take the physician"
eq "$(sql "SELECT institution_id FROM physician WHERE id = $P1")" "$H1_ID" "still with H1"
api GET "/institution/transfer-candidates?id_number=$P1IDN" "" "$H3"
expect 200 "a lookup in the province"
eq "$(j '.items[0] | [.physician_id, .can_transfer] | map(tostring) | join(",")')" "$P1,true" "found in the province"
j '.items[0].id_number' | grep -q '\*' || fail "the candidate's number is not masked"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'id_lookup'")" $((N0 + 2)) "both lookups audited"
D=$(sql "SELECT detail FROM audit_log WHERE action = 'id_lookup' ORDER BY id DESC LIMIT 1")
echo "$D" | grep -q "$P1IDN" && fail "the audit row holds the full number: $D"
echo "$D" | grep -q "${P1IDN:0:4}" || fail "the audit row does not name the (masked) number: $D"
sql "UPDATE physician SET must_change_password = 0 WHERE id = $P1"
api POST /institution/physicians/transfer-in "{\"id_number\":\"$P1IDN\"}" "$H3"
expect 200 "调入 in the province"
eq "$(sql "SELECT must_change_password FROM physician WHERE id = $P1")" 1 "the transferred physician must change the password"
for i in 3 4 5; do
    api GET "/institution/transfer-candidates?id_number=$(new_id "$A_COUNTY")" "" "$HB"
    expect 200 "lookup $i of HB"
done
code=$(curl -s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' -H "Authorization: Bearer $HB" \
    "http://127.0.0.1:$ADMIN_PORT/api/v1/institution/transfer-candidates?id_number=$P1IDN")
expect_msg 429 "查询" "the sixth lookup of HB in the window"
[ -n "$(retry_after)" ] || fail "no Retry-After on the lookup limit"
api GET "/institution/transfer-candidates?id_number=$P1IDN" "" "$H1"
expect 200 "another institution is not limited by HB's lookups"

step "an institution is not its own 考核机构"
api POST /authority/assignments "{\"institution_id\":$H2_ID,\"assessor_id\":$H2_ID}" "$COUNTY"
expect_msg 409 "自身" "H2 assigned to itself"

step "CSV export: TAB, CR and full-width formula starts are guarded"
for nm in '＝1+1' '＋1' '－1' '＠SUM(1)'; do
    api POST /institution/physicians "{\"name\":\"$nm\",\"id_number\":\"$(new_id "$A_COUNTY")\",\"practice_level\":\"执业医师\",\"practice_category\":\"临床\",\"practice_scope\":\"内科专业\",\"first_registration_date\":\"2010-07-01\"}" "$H1"
    expect 201 "physician named $nm"
done
code=$(curl -s -o "$TMP/export.csv" -w '%{http_code}' -H "Authorization: Bearer $H1" \
    "http://127.0.0.1:$ADMIN_PORT/api/v1/institution/physicians/export")
expect 200 "export"
for nm in '＝1+1' '＋1' '－1' '＠SUM(1)'; do
    grep -qF ",\"'$nm\"," "$TMP/export.csv" || fail "the export does not guard '$nm'"
done

step "SIGTERM"
stop_admind
echo "PASS: photo and lookup limits, attachment caps, audits of downloads and full ID numbers, 调入 in the province, no self-assignment, CSV guard"
