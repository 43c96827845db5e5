#!/usr/bin/env bash
# The pass certificate (定期考核合格证书) is issued when the enrolment reaches 考核完成 合格,
# in the transaction that writes it, wherever that happens; reading it changes nothing:
#   A  admind: 简易程序 with 人文医学 exempted passes at the 考核机构's re-review
#   B  examd: the last required test passed (submit)
#   C  认定作弊 takes the pass away (no certificate shown, the record kept); 撤销认定 gives
#      it back with the same number, issued once
#   D  a failed assessment has none
#   E  a pass from before this rule (certificate missing): GET says so and still issues
#      nothing; deploy/schema/003_certificates.sql issues the same number, once
ADMIND=$1
EXAMD=$2
. "$(dirname "$0")/lib.sh"
need
[ -x "$EXAMD" ] || { echo "SKIP: examd is not built ($EXAMD)"; exit 77; }
[ "$(sql "SELECT COUNT(*) FROM qb_blueprint WHERE category = '临床'")" -ge 1 ] ||
    { echo "SKIP: no question bank / blueprints for 临床 (run deploy/demo/load.sh)"; exit 77; }
MIGRATION=$(cd "$(dirname "$0")/../.." && pwd)/deploy/schema/003_certificates.sql
[ -f "$MIGRATION" ] || fail "no $MIGRATION"
start_admind
start_examd

certs() { sql "SELECT COUNT(*) FROM certificate WHERE enrolment_id = $1"; }
issues() { sql "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'enrolment' AND entity_id = '$1' AND action = 'issue_certificate'"; }
logged() { sql "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'enrolment' AND entity_id = '$1'"; }
cert_no() { sql "SELECT cert_no FROM certificate WHERE enrolment_id = $1"; }
# read_twice EID TOKEN: two GETs of the certificate change nothing; $CERT is its number
read_twice() {
    local rows0 log0 at0
    rows0=$(certs "$1") log0=$(logged "$1") at0=$(sql "SELECT issued_at FROM certificate WHERE enrolment_id = $1")
    for _ in 1 2; do
        api GET "/enrolments/$1/certificate" "" "$2"
        expect 200 "certificate of $1"
    done
    CERT=$(j .cert_no)
    eq "$CERT" "$(cert_no "$1")" "the number shown is the one issued"
    eq "$(certs "$1")/$(logged "$1")" "$rows0/$log0" "reading the certificate wrote nothing"
    eq "$(sql "SELECT issued_at FROM certificate WHERE enrolment_id = $1")" "$at0" "issued_at unchanged"
}

step "world"
setup_world
AU_CODE=$A_COUNTY
CY_CODE=$(sql "SELECT code FROM cycle WHERE id = $CYCLE_ID")

step "A admind: all tests exempted, 考核完成 合格 at the re-review"
exempted_to_last_review
A_EID=$EID A_PT=$PT
eq "$(certs "$A_EID")" 0 "no certificate before the pass"
act "$A_EID" assessor_pass "$H2"
expect 200 "re-review"
eq "$(sql "SELECT CONCAT(status, result) FROM enrolment WHERE id = $A_EID")" 考核完成合格 "A passed"
eq "$(cert_no "$A_EID")" "$(printf '%s-%s-%08d' "$AU_CODE" "$CY_CODE" "$A_EID")" "issued with the pass, before any GET"
eq "$(sql "SELECT authority_id FROM certificate WHERE enrolment_id = $A_EID")" "$A_COUNTY_ID" "发证机关: the institution's authority"
eq "$(sql "SELECT CONCAT(actor_type, '/', JSON_UNQUOTE(JSON_EXTRACT(detail, '\$.cert_no'))) FROM audit_log WHERE entity_type = 'enrolment' AND entity_id = '$A_EID' AND action = 'issue_certificate'")" \
    "system/$(cert_no "$A_EID")" "the issue is in the audit log"
read_twice "$A_EID" "$H1"
read_twice "$A_EID" "$A_PT"
j .issuer.name | grep -q "测试县" || fail "issuer on the certificate"

step "B examd: the last required test passed"
to_tests
B_EID=$EID B_PT=$PT
eq "$(certs "$B_EID")" 0 "no certificate while the test is to come"
sit "$B_PT" 公共知识 pass
B_SID=$SID
eq "$(sql "SELECT CONCAT(status, result) FROM enrolment WHERE id = $B_EID")" 考核完成合格 "B passed"
eq "$(certs "$B_EID")/$(issues "$B_EID")" 1/1 "issued by examd's scoring, before any GET"
eq "$(cert_no "$B_EID")" "$(printf '%s-%s-%08d' "$AU_CODE" "$CY_CODE" "$B_EID")" "the same numbering in examd"
read_twice "$B_EID" "$H1"
B_CERT=$CERT

step "C 认定作弊 takes the pass away, 撤销认定 restores it with the same number"
api POST "/invigilation/$B_SID/actions/mark" '{"note":"复核"}' "$H1"
expect 200 "mark"
IV=$(sql "SELECT lock_version FROM invigilation WHERE session_id = '$B_SID'")
api POST "/invigilation/$B_SID/actions/determine" "{\"version\":$IV,\"reason\":\"替考\"}" "$PROV"
expect 200 "认定作弊"
expect_status "$B_EID" 待确认补考
api GET "/enrolments/$B_EID/certificate" "" "$H1"
expect_msg 409 "考核合格" "no certificate after 认定作弊"
eq "$(certs "$B_EID")" 1 "the record is kept"
IV=$(sql "SELECT lock_version FROM invigilation WHERE session_id = '$B_SID'")
api POST "/invigilation/$B_SID/actions/revoke" "{\"version\":$IV,\"reason\":\"复查为本人\"}" "$PROV"
expect 200 "撤销认定"
expect_status "$B_EID" 考核完成
read_twice "$B_EID" "$H1"
eq "$CERT" "$B_CERT" "the same number after 撤销认定"
eq "$(issues "$B_EID")" 1 "issued once"

step "D a failed assessment has no certificate"
to_tests
D_EID=$EID
sit "$PT" 公共知识 fail
act "$D_EID" makeup_refuse "$PROV" '"reason":"无正当理由"'
expect 200
eq "$(sql "SELECT CONCAT(status, result) FROM enrolment WHERE id = $D_EID")" 考核完成不合格 "D failed"
eq "$(certs "$D_EID")" 0 "no certificate for 不合格"
api GET "/enrolments/$D_EID/certificate" "" "$H1"
expect 409 "no certificate page for 不合格"

step "E a pass from before the rule: GET issues nothing, the migration does"
E_CERT=$(cert_no "$A_EID")
E_DONE=$(sql "SELECT completed_at FROM enrolment WHERE id = $A_EID")
sql "DELETE FROM certificate WHERE enrolment_id = $A_EID" # as if it had passed before this change
N0=$(logged "$A_EID")
api GET "/enrolments/$A_EID/certificate" "" "$H1"
expect_msg 404 "尚未签发" "a pass without its certificate"
eq "$(certs "$A_EID")/$(logged "$A_EID")" "0/$N0" "the GET issued nothing"
api GET /institution/history "" "$H1"
eq "$(j ".items[] | select(.enrolment_id == $A_EID) | .certificate")" false "no 合格证书 button without a certificate"
# the migration as deploy/migrate.sh applies it (here under READ COMMITTED: no locks on the
# rows other tests write meanwhile), twice: the second run issues nothing
for run in 1 2; do
    { echo "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED;"; cat "$MIGRATION"; } |
        MYSQL_PWD=${DK_MYSQL_PASSWORD:-dingkao-dev} mariadb --no-defaults --protocol=TCP -h 127.0.0.1 \
            -P "$DK_MYSQL_PORT" -u "${DK_MYSQL_USER:-dingkao}" --default-character-set=utf8mb4 \
            "${DK_MYSQL_DB:-dingkao}" || fail "003_certificates.sql failed (run $run)"
    eq "$(certs "$A_EID")/$(issues "$A_EID")" 1/2 "issued by the migration, once (run $run)"
done
eq "$(cert_no "$A_EID")" "$E_CERT" "the migration's number is the code's"
eq "$(sql "SELECT issued_at FROM certificate WHERE enrolment_id = $A_EID")" "$E_DONE" "dated at the completion"
sql "SELECT reason FROM audit_log WHERE entity_type = 'enrolment' AND entity_id = '$A_EID' AND action = 'issue_certificate' ORDER BY id DESC LIMIT 1" |
    grep -q 003_certificates || fail "the migration's issue is audited"
read_twice "$A_EID" "$H1"
eq "$CERT" "$E_CERT" "the certificate is back"
api GET /physician/results "" "$A_PT"
eq "$(j ".items[] | select(.enrolment_id == $A_EID) | .certificate")" true "the physician's results offer it again"

step "SIGTERM: both servers exit 0"
stop_examd
stop_admind
echo "PASS: certificates issued at 考核完成 合格 by admind and examd, GET without side effects, the migration's fallback"
