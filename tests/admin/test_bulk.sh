#!/usr/bin/env bash
# Issue 16 item 8, bulk actions with a count preview, against the real stack:
#   - absentees (seed [001]): after the test window an authority previews who missed a
#     required test (count + digest, its region only) and marks exactly that set: each
#     enrolment moves by the workflow's "tests" row (待确认补考, audited) plus one summary row
#   - makeups: the province previews the 待确认补考 of a filtered list and confirms or refuses
#     them; a city gets 403; a set that changed since the preview gets 409 and nothing
#     happens; a refusal needs a reason (400); every row is audited as the province's
ADMIND=$1
. "$(dirname "$0")/lib.sh"
need
start_admind
setup_world
make_region B
BPROV=$(login authority "t$RUN-B-prov" "$PASSWORD")
audits() { sql "SELECT COUNT(*) FROM audit_log WHERE $1"; }

step "three physicians wait for their test (待参加考核) at H1"
EIDS=()
NAMES=()
for n in 1 2 3; do
    to_tests
    EIDS+=("$EID")
    NAMES+=("$(sql "SELECT p.name FROM physician p JOIN enrolment e ON e.physician_id = p.id WHERE e.id = $EID")")
done
IN=$(IFS=,; echo "${EIDS[*]}")

step "before the window ends nobody is an absentee"
api GET "/authority/absentees/preview?institution_id=$H1_ID" "" "$COUNTY"
expect 200 "preview"
eq "$(j .count)" 0 "no absentee yet"

step "the window ends: the county previews 3 absentees; another province sees none"
api PUT "/cycles/$CYCLE_ID" "{\"test_start\":\"$(iso '-2 days')\",\"test_end\":\"$(iso '-1 minute')\"}" "$PROV"
expect 200 "test window closed"
api GET "/authority/absentees/preview?institution_id=$H1_ID&page_size=2" "" "$COUNTY"
expect 200 "preview"
eq "$(j '[.count, .total, (.items | length), .max] | map(tostring) | join(",")')" "3,3,2,5000" "count and first page"
DIGEST=$(j .digest)
[ ${#DIGEST} = 64 ] || fail "digest $DIGEST"
api GET "/authority/absentees/preview?cycle_id=$CYCLE_ID" "" "$BPROV"
[ "$code" = 404 ] || { expect 200; eq "$(j .count)" 0 "another province sees none"; }
api GET "/authority/absentees/preview?status=%E5%BE%85%E5%8F%82%E5%8A%A0%E8%80%83%E6%A0%B8" "" "$COUNTY"
expect 400 "no status filter on a bulk set"

step "a stale count or digest is refused (409) and nothing moves"
api POST "/authority/absentees/mark?institution_id=$H1_ID" "{\"count\":2,\"digest\":\"$DIGEST\"}" "$COUNTY"
expect_msg 409 "预览时 2 条，现在 3 条" "stale count"
api POST "/authority/absentees/mark?institution_id=$H1_ID" "{\"count\":3,\"digest\":\"$(printf 0%.0s $(seq 64))\"}" "$COUNTY"
expect_msg 409 "已被他人处理" "stale digest"
eq "$(sql "SELECT COUNT(*) FROM enrolment WHERE id IN ($IN) AND status = '待参加考核'")" 3 "nothing moved"
api POST "/authority/absentees/mark?institution_id=$H1_ID" "{\"count\":3,\"digest\":\"$DIGEST\"}" "$H1"
expect 403 "an institution cannot"

step "the county marks the previewed absentees"
api POST "/authority/absentees/mark?institution_id=$H1_ID" "{\"count\":3,\"digest\":\"$DIGEST\"}" "$COUNTY"
expect 200 "mark absentees"
eq "$(j '[.count, .processed] | map(tostring) | join(",")')" "3,3" "processed"
eq "$(sql "SELECT COUNT(*) FROM enrolment WHERE id IN ($IN) AND status = '待确认补考'")" 3 "all 待确认补考"
eq "$(audits "action = 'tests' AND entity_type = 'enrolment' AND entity_id IN ($(echo "$IN" | sed "s/[0-9]*/'&'/g")) AND to_status = '待确认补考'")" 3 \
    "one workflow audit row per enrolment"
eq "$(audits "action = 'bulk_mark_absentees' AND entity_type = 'cycle' AND entity_id = '$CYCLE_ID' AND actor_type = 'authority'")" 1 "the summary row"
api POST "/authority/absentees/mark?institution_id=$H1_ID" "{\"count\":0,\"digest\":\"$DIGEST\"}" "$COUNTY"
expect 409 "nothing left"

step "makeups: the province previews; a city may not"
api GET "/authority/makeups/preview?institution_id=$H1_ID" "" "$CITY"
expect 403 "makeups are the province's"
api GET "/authority/makeups/preview?institution_id=$H1_ID" "" "$PROV"
expect 200 "preview makeups"
eq "$(j .count)" 3 "3 待确认补考"
D3=$(j .digest)
api GET "/authority/makeups/preview?institution_id=$H1_ID&name=$(jq -rn --arg n "${NAMES[0]}" '$n|@uri')" "" "$PROV"
expect 200
eq "$(j .count)" 1 "the name filter narrows the set"
D1=$(j .digest)

step "one is decided alone meanwhile: the previewed set is stale (409), nothing happens"
act "${EIDS[2]}" makeup_confirm "$PROV"
expect 200 "a single confirmation"
api POST "/authority/makeups/bulk?institution_id=$H1_ID" "{\"action\":\"makeup_confirm\",\"count\":3,\"digest\":\"$D3\"}" "$PROV"
expect_msg 409 "预览时 3 条，现在 2 条" "stale set"
eq "$(sql "SELECT COUNT(*) FROM enrolment WHERE id IN (${EIDS[0]}, ${EIDS[1]}) AND status = '待确认补考'")" 2 "nothing happened"
api POST "/authority/makeups/bulk?institution_id=$H1_ID" '{"action":"makeup_refuse","count":2,"digest":"x"}' "$PROV"
expect_msg 400 "理由" "a refusal needs a reason"
api POST "/authority/makeups/bulk?institution_id=$H1_ID" '{"action":"determine","count":2,"digest":"x"}' "$PROV"
expect 400 "unknown action"

step "bulk confirm of the filtered one, bulk refusal of the rest"
api POST "/authority/makeups/bulk?institution_id=$H1_ID&name=$(jq -rn --arg n "${NAMES[0]}" '$n|@uri')" \
    "{\"action\":\"makeup_confirm\",\"count\":1,\"digest\":\"$D1\"}" "$PROV"
expect 200 "bulk confirm"
expect_status "${EIDS[0]}" 待参加补考
api GET "/authority/makeups/preview?institution_id=$H1_ID" "" "$PROV"
expect 200
eq "$(j .count)" 1 "one left"
api POST "/authority/makeups/bulk?institution_id=$H1_ID" "{\"action\":\"makeup_refuse\",\"count\":1,\"digest\":\"$(j .digest)\",\"reason\":\"无正当理由缺考\"}" "$PROV"
expect 200 "bulk refusal"
expect_status "${EIDS[1]}" 考核完成
eq "$(sql "SELECT result FROM enrolment WHERE id = ${EIDS[1]}")" 不合格 "refused: 不合格"
eq "$(audits "action = 'makeup_refuse' AND entity_id = '${EIDS[1]}' AND actor_type = 'authority' AND reason = '无正当理由缺考'")" 1 \
    "the refusal is audited on the enrolment with its reason"
eq "$(audits "action IN ('bulk_makeup_confirm', 'bulk_makeup_refuse') AND entity_id = '$CYCLE_ID'")" 2 "two summary rows"

api PUT "/cycles/$CYCLE_ID" "{\"test_end\":\"$(iso '+60 days')\"}" "$PROV"
stop_admind
echo "PASS"
