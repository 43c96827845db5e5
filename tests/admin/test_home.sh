#!/usr/bin/env bash
# The home pages (首页) and the authority's statistics against the real stack:
#   - with no cycle open (none yet, or the only one closed) every home page answers 200
#     with cycle: null and what it can still show: the authority's contact, the
#     考核机构 applications waiting for the authority; ?cycle_id= of a cycle that is not
#     visible is still 404
#   - with the cycle open: the cycle, its schedule, the pending tasks (the seed's four, with
#     跟班带教修改申请) and the rates
#   - /authority/stats rows name the authority of their institution (authority_id), so the
#     console can drill down by area; the rows of an area add up to the totals
ADMIND=$1
. "$(dirname "$0")/lib.sh"
need
start_admind

step "a region with no cycle: H1 of the county, H2 of the city"
make_region A
PROV=$(login authority "t$RUN-A-prov" "$PASSWORD")
CITY=$(login authority "t$RUN-A-city" "$PASSWORD")
COUNTY=$(login authority "t$RUN-A-county" "$PASSWORD")
api POST /authority/institutions "{\"name\":\"县医院-$RUN\"}" "$COUNTY"
expect 201 "institution of the county"
H1_ID=$(j .id) H1_CODE=$(j .code)
api POST /authority/institutions "{\"name\":\"市医院-$RUN\",\"authority_id\":$A_CITY_ID}" "$CITY"
expect 201 "institution of the city"
H2_ID=$(j .id) H2_CODE=$(j .code)
H1=$(first_login institution "$H1_CODE")
H2=$(first_login institution "$H2_CODE")

# no_cycle_homes APPS: every home page says cycle: null (APPS applications pending at the
# city and the province; H2, who applies, is the city's, so the county sees none)
no_cycle_homes() {
    api GET /institution/home "" "$H1"
    expect 200 "institution home without a cycle"
    eq "$(j '[.cycle, .schedule, .progress, .counts, .contacts.assessor] | map(tostring) | join(",")')" \
        "null,null,null,null,null" "nothing of a cycle"
    eq "$(j '.pending_tasks | length')" 0 "no tasks without a cycle"
    eq "$(j .contacts.authority.id)" "$A_COUNTY_ID" "the authority's contact"
    for t in "$PROV" "$CITY" "$COUNTY"; do
        local apps=$1
        [ "$t" = "$COUNTY" ] && apps=0
        api GET /authority/home "" "$t"
        expect 200 "authority home without a cycle"
        eq "$(j '[.cycle, .schedule, .progress, .counts] | map(tostring) | join(",")')" "null,null,null,null" \
            "authority: nothing of a cycle"
        eq "$(j '.by_status | length')" 0 "no statuses"
        eq "$(j '[.pending_tasks[] | "\(.kind)=\(.count)"] | join(",")')" "assessor_application=$apps" \
            "applications wait without a cycle"
    done
}

step "no cycle yet: 200 with cycle null"
no_cycle_homes 0
api GET /institution/home?cycle_id=999999999999 "" "$H1"
expect_msg 404 "没有这个考核周期" "a cycle that is not there"
api GET /authority/stats "" "$PROV"
expect_msg 404 "当前没有开放的考核周期" "statistics need a cycle"

step "the cycle opens: cycle, schedule, tasks; an application waits"
make_cycle "$PROV"
api POST "/authority/institutions/$H2_ID/apply-right" '{"can_apply":true}' "$CITY"
expect 200 "apply right"
api POST /institution/assessor-applications '{"note":"申请成为考核机构"}' "$H2"
expect 201 "application"
api GET /institution/home "" "$H1"
expect 200 "institution home"
eq "$(j '[.cycle.id, .schedule.id] | join(",")')" "$CYCLE_ID,$CYCLE_ID" "the open cycle"
eq "$(j '[.pending_tasks[].kind] | join(",")')" "general_review,simple_review,exemption_review,teaching_change" "tasks of an institution (the seed's four)"
eq "$(j '.pending_tasks[] | select(.kind == "teaching_change") | .label')" 跟班带教修改申请 "the fourth tile"
eq "$(j .progress.final.denominator)" 0 "nobody confirmed yet"
api GET /authority/home "" "$CITY"
expect 200 "authority home"
eq "$(j .cycle.id)" "$CYCLE_ID" "the authority's cycle"
eq "$(j '.pending_tasks[] | select(.kind == "assessor_application") | .count')" 1 "the application waits"

step "statistics: every row names its institution's authority"
confirm_one() { # INST_TOKEN: a new physician, 参加
    api POST /institution/physicians "{\"name\":\"医师$RANDOM\",\"id_number\":\"$(new_id "$A_COUNTY")\",\"practice_level\":\"执业医师\",\"practice_category\":\"临床\"}" "$1"
    expect 201 "physician"
    api POST "/institution/physicians/$(j .id)/confirm" "" "$1"
    expect 201 "参加"
}
confirm_one "$H1"
confirm_one "$H2"
confirm_one "$H2"
api GET /authority/stats "" "$PROV"
expect 200 "province statistics"
eq "$(j ".items[] | select(.institution_id == $H1_ID) | \"\(.authority_id)/\(.authority_name)/\(.confirmed)\"")" \
    "$A_COUNTY_ID/测试县${RUN}A/1" "H1 is the county's"
eq "$(j ".items[] | select(.institution_id == $H2_ID) | \"\(.authority_id)/\(.authority_name)/\(.confirmed)\"")" \
    "$A_CITY_ID/测试市${RUN}A/2" "H2 is the city's"
eq "$(j '[.items[].authority_id | type] | unique | join(",")')" number "authority_id on every row"
# the drill-down of the console: the city's area adds up its own and the county's rows
eq "$(j "[.items[] | select(.authority_id == $A_CITY_ID or .authority_id == $A_COUNTY_ID) | .confirmed] | add")" \
    "$(j .total.confirmed)" "the rows add up to the total"
api GET /authority/stats "" "$COUNTY"
eq "$(j '[.items[].institution_id] | join(",")')" "$H1_ID" "the county sees its own institution only"

step "the cycle closes: home pages are 200 again, without it"
api PUT "/cycles/$CYCLE_ID" '{"status":"closed"}' "$PROV"
expect 200 "close the cycle"
no_cycle_homes 1
api GET "/institution/home?cycle_id=$CYCLE_ID" "" "$H1"
expect 200 "a closed cycle chosen by id"
eq "$(j '[.cycle.id, .cycle.status, .counts.confirmed] | join(",")')" "$CYCLE_ID,closed,1" "the closed cycle's home"

step "SIGTERM"
stop_admind
echo "PASS: home pages with and without an open cycle, the four tiles, statistics by authority"
