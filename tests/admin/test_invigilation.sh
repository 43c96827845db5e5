#!/usr/bin/env bash
# Invigilation 监考管理 and the photos' retention against the real stack. Sessions come
# from the workflow (through examd's test results, written here as examd writes them) and
# captures are written as examd + the proctor write them (rows, files and similarities),
# so that no capture job ever enters the shared Redis stream of the proctor tests.
#   - the list with the similarity filter (< 40%), 标记状态 and 查看状态
#   - a capture photo is served only in scope, and every view is in the audit log
#   - the registered photo beside it, also audited; the 考核机构 that re-reviews the
#     physician's enrolment sees it too (its 复核 page), no other 考核机构 or institution
#   - the system warnings (the proctor's session decisions) with the frames behind them
#   - an institution marks 疑似, only the authority unmarks
#   - photos are deleted after the cycle's retention, and not while a 疑似 mark waits
ADMIND=$1
. "$(dirname "$0")/lib.sh"
need
start_admind

# a submitted session of EID as examd records it (score out of 100, pass mark 60)
fake_session() { # EID PID CYCLE SCORE -> SID
    SID=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    local passed=$(( $4 >= 60 ))
    sql "INSERT INTO exam_session (id, physician_id, enrolment_id, cycle_id, paper, attempt, seed, bank_version,
           paper_json, started_at, deadline, submitted_at, submitted_by, status)
         VALUES ('$SID', $2, $1, $3, '公共知识', 1, 1, 1, '{}', NOW(3) - INTERVAL 50 MINUTE,
                 NOW(3) + INTERVAL 10 MINUTE, NOW(3), 'physician', 'submitted');
         INSERT INTO exam_result (session_id, score, total, pass_mark, passed, final_passed)
         VALUES ('$SID', $4, 100, 60, $passed, $passed);
         UPDATE enrolment_test SET result = IF($passed, '合格', '不合格'), attempts = 1, last_session_id = '$SID'
         WHERE enrolment_id = $1 AND paper = '公共知识';
         UPDATE enrolment SET status = IF($passed, '考核完成', '待确认补考'), result = IF($passed, '合格', NULL),
           completed_at = IF($passed, NOW(3), NULL), lock_version = lock_version + 1 WHERE id = $1;" ||
        fail "cannot write the session"
}
# capture SID PID SIMILARITY -> CAP (a stored photo with its score)
capture() {
    local dir="$TMP/data/captures/$1"
    mkdir -p "$dir"
    local f="$dir/$RANDOM$RANDOM.jpg"
    jpeg "$f"
    sql "INSERT INTO proctor_capture (session_id, physician_id, purpose, taken_at, photo_path, photo_sha256, bytes,
           width, height, faces, similarity, flag, scored_at)
         VALUES ('$1', $2, 'random', NOW(3), '$f', SHA2('x', 256), $(stat -c %s "$f"), 32, 32, 1, $3,
                 IF($3 < 40, 'low_similarity', NULL), NOW(3))"
    CAP=$(sql "SELECT MAX(id) FROM proctor_capture WHERE session_id = '$1'")
    CAPFILE=$f
}

step "world: two physicians through the reviews, each with a sitting and captures"
setup_world
make_region B
BPROV=$(login authority "t$RUN-B-prov" "$PASSWORD")
# H3: an approved 考核机构 assigned to nobody; H4: a plain institution
for n in 3 4; do
    api POST /authority/institutions "{\"name\":\"测试医院$n-$RUN\",\"inst_type\":\"医院\"}" "$COUNTY"
    expect 201 "institution $n"
    eval "H${n}_ID=$(j .id) H${n}_CODE=$(j .code)"
done
H3=$(first_login institution "$H3_CODE")
H4=$(first_login institution "$H4_CODE")
api POST "/authority/institutions/$H3_ID/apply-right" '{"can_apply":true}' "$COUNTY"
expect 200 "apply right of H3"
api POST /institution/assessor-applications '{"note":"申请"}' "$H3"
expect 201 "application of H3"
api POST "/authority/applications/$(j .id)/actions/approve" '{}' "$COUNTY"
expect 200 "H3 approved as 考核机构"
to_tests
E1=$EID P1=$PID
fake_session "$E1" "$P1" "$CYCLE_ID" 90
S1=$SID
capture "$S1" "$P1" 85.5
capture "$S1" "$P1" 25.0
C1=$CAP C1FILE=$CAPFILE
to_tests
E2=$EID P2=$PID
fake_session "$E2" "$P2" "$CYCLE_ID" 75
S2=$SID
capture "$S2" "$P2" 80
capture "$S2" "$P2" 92
C4=$CAP C4FILE=$CAPFILE

step "the list: similarity below 40%, masked ID numbers, view state"
api GET "/invigilation?max_similarity=40" "" "$H1"
expect 200
eq "$(j '[.items[].session_id] | join(",")')" "$S1" "sessions below 40%"
eq "$(j '.items[0].min_similarity')" 25 "lowest similarity"
eq "$(j '.items[0].viewed')" false "not viewed yet"
j '.items[0].id_number' | grep -q '\*' || fail "ID number not masked in the list"
api GET /invigilation "" "$H1"
eq "$(j .total)" 2 "all sessions of the institution"
api GET "/invigilation?max_similarity=40" "" "$H2"
eq "$(j .total)" 0 "another institution sees none"
api GET "/invigilation?max_similarity=40" "" "$CITY"
eq "$(j '[.items[].session_id] | join(",")')" "$S1" "the city sees its region"
api GET "/invigilation?max_similarity=40" "" "$BPROV"
expect 404 "another province has no cycle here"

step "one session: captures beside the registered photo"
api GET "/invigilation/$S1" "" "$H1"
expect 200
eq "$(j '.captures | length')" 2 "captures"
eq "$(j '.session.has_registered_photo')" true "registered photo"
eq "$(j '[.actions[].action] | join(",")')" mark "an institution may only mark"
api GET "/invigilation/$S1" "" "$PROV"
eq "$(j '[.actions[].action] | sort | join(",")')" "determine,mark" "the province may determine or mark"
api GET "/invigilation/$S1" "" "$H2"
expect 403 "another institution"

step "system warnings: each session decision with the frames behind it"
# as the proctor's session rule writes them (proctor/proctor_queue.c, proctor_session_update)
sql "INSERT INTO proctor_suspect (session_id, physician_id, capture_id, frames, reason, score, occurrences)
     VALUES ('$S1', $P1, $C1, '[$C1]', 'low_similarity_run', 25.0, 1),
            ('$S1', $P1, NULL, NULL, 'missing_captures', 1, 1)" || fail "cannot write the suspects"
api GET "/invigilation?suspect=1" "" "$H1"
expect 200
eq "$(j '[.items[].session_id] | join(",")')" "$S1" "sessions with a warning"
eq "$(j '.items[0].suspect_frames')" "low_similarity_run:1,missing_captures:0" "warnings with their frame counts"
api GET "/invigilation/$S1" "" "$H1"
expect 200
eq "$(j '[.suspects[].reason] | join(",")')" "low_similarity_run,missing_captures" "warnings of the session"
eq "$(j '.suspects[0].frames | tostring')" "[$C1]" "the frames behind the decision"
eq "$(j '.suspects[1].frames | tostring')" "[]" "missing captures: no frame"
eq "$(j "[.captures[] | select(.id == $C1)] | length")" 1 "the frame is among the captures shown"

step "the exam page's signals (issue 18): departures and devices, next to the face flags"
# as examd writes them (exam-engine/exam_db.c, exam_db_integrity)
sql "UPDATE exam_session SET departures = 4, departure_ms = 95000, concurrent_devices = 1 WHERE id = '$S2';
     INSERT INTO exam_departure (session_id, event_id, kind, started_at, duration_ms) VALUES
       ('$S2', 'ev-a0000001', 'hidden', NOW(3) - INTERVAL 30 MINUTE, 60000),
       ('$S2', 'ev-a0000002', 'fullscreen', NOW(3) - INTERVAL 20 MINUTE, 35000);
     INSERT INTO exam_device (session_id, device_id, user_agent, address, first_seen, last_seen) VALUES
       ('$S2', 'dev-aaaaaaaa', 'Mozilla/5.0 A', '10.20.30.40', NOW(3) - INTERVAL 40 MINUTE, NOW(3)),
       ('$S2', 'dev-bbbbbbbb', 'Mozilla/5.0 B', '172.16.5.6', NOW(3) - INTERVAL 10 MINUTE, NOW(3));
     INSERT INTO proctor_suspect (session_id, physician_id, reason, score) VALUES
       ('$S2', $P2, 'departures', 4), ('$S2', $P2, 'concurrent_devices', 2)" ||
    fail "cannot write the page's signals"
api GET "/invigilation?suspect=departures" "" "$PROV"
expect 200
eq "$(j '[.items[].session_id] | join(",")')" "$S2" "filter: 切屏"
eq "$(j '.items[0] | [.departures, .departure_ms, .concurrent_devices] | tostring')" "[4,95000,true]" "the list has the counts"
api GET "/invigilation?suspect=concurrent_devices" "" "$PROV"
eq "$(j '[.items[].session_id] | join(",")')" "$S2" "filter: 多设备同时作答"
api GET "/invigilation?suspect=face" "" "$PROV"
eq "$(j '[.items[].session_id] | join(",")')" "$S1" "filter: the face flags only"
api GET "/invigilation?suspect=bogus" "" "$PROV"
expect 400 "an unknown warning filter"
api GET "/invigilation/$S2" "" "$PROV"
expect 200
eq "$(j '[.departures[] | .kind] | join(",")')" "hidden,fullscreen" "the departures, in order"
eq "$(j '[.devices[] | .address] | join(",")')" "10.20.*.*,172.16.*.*" "the devices' addresses, masked"
eq "$(j '[.suspects[] | .reason] | sort | join(",")')" "concurrent_devices,departures" "the page's warnings"

step "photos only in scope, every view audited"
N0=$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'photo_view' AND entity_type = 'proctor_capture' AND entity_id = '$C1'")
code=$(curl -s -o "$TMP/got.jpg" -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/api/v1/captures/$C1/photo" -H "Authorization: Bearer $H1")
expect 200 "capture photo"
cmp -s "$TMP/got.jpg" "$C1FILE" || fail "the photo bytes differ"
api GET "/captures/$C1/photo" "" "$H2"
expect 403 "another institution's capture"
api GET "/captures/$C1/photo" "" "$BPROV"
expect 403 "another province's capture"
api GET "/captures/$C1/photo" "" "$CITY"
expect 200 "the city"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'photo_view' AND entity_type = 'proctor_capture' AND entity_id = '$C1'")" \
    $((N0 + 2)) "views in the audit log (refused ones are not views)"
eq "$(sql "SELECT GROUP_CONCAT(actor_type ORDER BY id) FROM audit_log WHERE action = 'photo_view' AND entity_id = '$C1'")" \
    "institution,authority" "who viewed"
eq "$(sql "SELECT CONCAT(view_count, first_viewed_at IS NOT NULL) FROM invigilation WHERE session_id = '$S1'")" 21 "查看状态"
api GET "/invigilation?viewed=1" "" "$H1"
eq "$(j '[.items[].session_id] | join(",")')" "$S1" "viewed filter"
api GET "/physicians/$P1/photo" "" "$H1"
expect 200 "registered photo"
# the 考核机构 re-reviews P1's enrolment (H2 is assigned to H1): its 复核 page shows the photo
eq "$(sql "SELECT assessor_id FROM enrolment WHERE id = $E1")" "$H2_ID" "H2 is the 考核机构 of the enrolment"
code=$(curl -s -o "$TMP/reg.jpg" -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/api/v1/physicians/$P1/photo" -H "Authorization: Bearer $H2")
expect 200 "the 考核机构 of the enrolment sees the registered photo"
cmp -s "$TMP/reg.jpg" "$TMP/photo.jpg" || fail "the registered photo bytes differ"
api GET "/physicians/$P1/photo" "" "$H3"
expect 403 "a 考核机构 not assigned to the physician's institution"
api GET "/physicians/$P1/photo" "" "$H4"
expect 403 "another institution's registered photo"
api GET "/physicians/$P1/photo" "" "$BPROV"
expect 403 "another province's registered photo"
eq "$(sql "SELECT GROUP_CONCAT(CONCAT(actor_type, ':', role) ORDER BY id) FROM audit_log WHERE action = 'photo_view' AND entity_type = 'physician' AND entity_id = '$P1'")" \
    "institution:医疗卫生机构,assessor:考核机构" "registered photo views audited, the 考核机构's as 考核机构"

step "mark 疑似; only the authority unmarks"
api POST "/invigilation/$S1/actions/mark" '{"note":"相似度 25%"}' "$H1"
expect 200 "mark"
api POST "/invigilation/$S1/actions/mark" '{}' "$H1"
expect_msg 409 "疑似" "mark twice"
api GET "/invigilation?mark_status=疑似" "" "$PROV"
eq "$(j '[.items[].session_id] | join(",")')" "$S1" "the province's 疑似 list"
api GET /authority/home "" "$PROV"
eq "$(j '.pending_tasks[] | select(.kind == "cheating_review") | .count')" 1 "疑似作弊待认定"
V=$(sql "SELECT lock_version FROM invigilation WHERE session_id = '$S1'")
api POST "/invigilation/$S1/actions/unmark" "{\"version\":$V,\"reason\":\"误标\"}" "$H1"
expect 403 "an institution unmarks"

step "retention: not while a 疑似 mark waits; then deleted"
api PUT "/cycles/$CYCLE_ID" "{\"test_start\":\"$(iso '-3 days')\",\"test_end\":\"$(iso '-2 days')\",\"makeup_start\":\"$(iso '-2 days')\",\"makeup_end\":\"$(iso '-1 day')\",\"photo_retention_days\":0}" "$PROV"
expect 200 "cycle ended, retention 0 days"
api POST /authority/maintenance '{}' "$PROV"
expect 200
eq "$(j .photos_deleted)" 0 "nothing deleted while a decision is pending"
[ -f "$C1FILE" ] || fail "a photo was deleted too early"
api POST "/invigilation/$S1/actions/unmark" "{\"version\":$V,\"reason\":\"复查为本人\"}" "$CITY"
expect 200 "the city unmarks"
# S2 moves to a second cycle (a copy of the first, as ended), so that one purge spans two
# cycles; one of S2's photo files cannot be deleted (a directory stands in its place)
CYCLE2=$(sql "CREATE TEMPORARY TABLE c2 SELECT * FROM cycle WHERE id = $CYCLE_ID;
              UPDATE c2 SET id = 0, code = CONCAT(code, 'b'), name = CONCAT(name, ' b');
              INSERT INTO cycle SELECT * FROM c2; SELECT LAST_INSERT_ID();")
sql "UPDATE exam_session SET cycle_id = $CYCLE2 WHERE id = '$S2'"
rm -f "$C4FILE" && mkdir -p "$C4FILE/stuck" || fail "cannot block the photo file of $C4"
api POST /authority/maintenance '{}' "$PROV"
expect 200
eq "$(j .photos_deleted)" 4 "photos deleted"
[ -f "$C1FILE" ] && fail "the photo file is still there"
eq "$(sql "SELECT COUNT(*) FROM proctor_capture WHERE session_id IN ('$S1', '$S2') AND photo_path IS NULL AND photo_deleted_at IS NOT NULL")" 3 "rows kept, photos gone"
eq "$(sql "SELECT CONCAT(photo_path IS NOT NULL, photo_deleted_at IS NOT NULL) FROM proctor_capture WHERE id = $C4")" 11 \
    "a file that could not be deleted is purged and still remembered"
api GET "/captures/$C1/photo" "" "$H1"
expect_msg 404 "保存期限" "a deleted photo"
api GET "/captures/$C4/photo" "" "$H1"
expect_msg 404 "保存期限" "a purged photo whose file is still there"
# one audit row per cycle, each with the count it purged
eq "$(sql "SELECT GROUP_CONCAT(CONCAT(entity_id, ':', JSON_VALUE(detail, '$.deleted')) ORDER BY entity_id + 0) FROM audit_log WHERE action = 'photo_purge' AND entity_type = 'cycle' AND entity_id IN ('$CYCLE_ID', '$CYCLE2')")" \
    "$CYCLE_ID:2,$CYCLE2:2" "purge audited per cycle with its count"
rm -rf "$C4FILE" && jpeg "$C4FILE"
api POST /authority/maintenance '{}' "$PROV"
expect 200
[ -e "$C4FILE" ] && fail "the file that failed to delete is not deleted on the next run"
eq "$(sql "SELECT COUNT(*) FROM proctor_capture WHERE session_id IN ('$S1', '$S2') AND photo_path IS NULL AND photo_deleted_at IS NOT NULL")" 4 "every photo gone after the retry"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'photo_purge' AND entity_type = 'cycle' AND entity_id IN ('$CYCLE_ID', '$CYCLE2')")" 2 "the retry purges nothing new"

step "SIGTERM"
stop_admind
echo "PASS: invigilation list, scoped and audited photos, marks, retention"
