#!/usr/bin/env bash
# exam_flow: one physician's whole first sitting, as the exam page drives it.
# Login with the initial password 666666 -> every route but /password is 403 -> the
# password policy (400s) -> change -> the tests list -> start 业务水平 (starting again
# returns the same session) -> answer every question, right on a chosen set (no mod 10
# < 7: 70 of 100) and wrong on the rest (the right display letter comes from
# qb_question.answer mapped through the option order in exam_session.paper_json; X
# questions need all their letters) -> submit -> the score is the hand count, and
# exam_result, exam_answer, audit_log, enrolment_test are right;
# then 公共知识 all right -> 考核完成 / 合格. A second physician passes 公共知识 with
# exactly the pass mark and fails 业务水平 by one point -> 待确认补考.
# Question count, pass mark and duration come from the 临床 blueprints (the demo
# ones: 100 questions, 60 points, 60 minutes).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_flow "$1"
fx_examd_start A
read -r QB PMB DURB <<<"$(fx_blueprint 业务水平)"
read -r QG PMG DURG <<<"$(fx_blueprint 公共知识)"
[ -n "${DURG:-}" ] && [ "$PMB" -lt "$QB" ] && [ "$PMG" -gt 1 ] ||
    fx_fatal "unusable 临床 blueprints: 业务水平 '$QB $PMB $DURB', 公共知识 '$QG $PMG $DURG'"

json() { jq -cn "$@"; }

put_answer() { # SID NO CHOICE TOKEN [WANT_CHOICE]
    fx_call A PUT "/api/v1/sessions/$1/answers/$2" "$(json --arg c "$3" '{choice:$c}')" "$4"
    if [ "$FX_CODE" != 200 ]; then
        fx_fail_msg "answer $2=$3: HTTP $FX_CODE $FX_BODY"
        return 1
    fi
    local got
    got=$(jq -r '"\(.no) \(.choice) \(.saved_at|type)"' <<<"$FX_BODY")
    [ "$got" = "$2 ${5-$3} number" ] || fx_fail_msg "answer $2=$3 acknowledged as '$got'"
}

start_session() { # PAPER TOKEN -> sets SID, SESSION
    fx_call A POST /api/v1/sessions "$(json --arg p "$1" '{paper:$p}')" "$2"
    [ "$FX_CODE" = 200 ] || fx_fatal "start $1: HTTP $FX_CODE $FX_BODY"
    SESSION=$FX_BODY
    SID=$(jq -r .session_id <<<"$SESSION")
    [[ $SID =~ ^[0-9a-f]{32}$ ]] || fx_fatal "start $1: session id '$SID'"
}

# Answers the paper of SID: right where the awk expression RIGHT_EXPR (over $1, the
# question number, and pm, the pass mark $PM) holds, wrong elsewhere, or unanswered
# there when BLANK_OTHERS is 1.
# Writes the expected final answers to $FX_TMP/expect.$SID ("NO CHOICE"), sets RIGHT.
answer_paper() { # SID TOKEN QUESTIONS RIGHT_EXPR [BLANK_OTHERS]
    local sid=$1 tok=$2 q=$3 expr=$4 blank=${5:-0}
    fx_keys "$sid" >"$FX_TMP/keys.$sid"
    [ "$(wc -l <"$FX_TMP/keys.$sid")" = "$q" ] || fx_fatal "paper of $sid has $(wc -l <"$FX_TMP/keys.$sid") keys, want $q"
    awk -v blank="$blank" -v pm="$PM" "{ r = ($expr) ? 1 : 0
        if (r) print \$1, \$3, 1; else if (!blank) print \$1, \$4, 0 }" "$FX_TMP/keys.$sid" >"$FX_TMP/plan.$sid"
    RIGHT=$(awk '$3 == 1' "$FX_TMP/plan.$sid" | wc -l)
    cut -d' ' -f1,2 "$FX_TMP/plan.$sid" >"$FX_TMP/expect.$sid"
    fx_put_answers A "$sid" "$tok" "$FX_TMP/expect.$sid"
}

# ---- 1. login with the initial password, forced change ----------------------------------
read -r p1 acct1 < <(fx_new_physician 1 666666)
[ -n "${p1:-}" ] || fx_fatal "could not create a physician"
idn1=$(fx_sql "SELECT id_number FROM physician WHERE id = $p1")
name1=$(fx_sql "SELECT name FROM physician WHERE id = $p1")

fx_call A POST /api/v1/login "$(json --arg a "$acct1" '{account:$a,password:"666667"}')"
fx_expect_error 401 "login with a wrong password"
fx_call A POST /api/v1/login "$(json --arg a "$acct1" '{account:$a,password:"666666"}')"
fx_expect_error 400 "666666 without the identity step"
fx_call A POST /api/v1/login "$(json --arg a "$idn1" --arg n "$name1" '{account:$a,password:"666666",id_number:$a,name:$n}')"
fx_expect_code 200 "login with the ID number"
fx_call A POST /api/v1/login "$(json --arg a "$acct1" --arg i "$idn1" --arg n "$name1" '{account:$a,password:"666666",id_number:$i,name:$n}')"
fx_expect_code 200 "login with the account, 666666, the ID number and the name"
fx_expect_eq "$(jq -r '"\(.must_change_password) \(.physician.id) \(.physician.category)"' <<<"$FX_BODY")" \
    "true $p1 临床" "login reply (must_change_password, id, category)"
t0=$(jq -r .token <<<"$FX_BODY")

fx_call A GET /api/v1/tests "" "$t0"
fx_expect_error 403 "tests with a must-change token" "修改初始密码"
fx_expect_eq "$(jq -r .error.code <<<"$FX_BODY")" password_change_required \
    "the must-change 403 has its own code"
fx_call A POST /api/v1/sessions '{"paper":"业务水平"}' "$t0"
fx_expect_error 403 "start with a must-change token"
fx_expect_eq "$(jq -r .error.code <<<"$FX_BODY")" password_change_required \
    "the must-change 403 of POST /sessions"

newpw='Flow#2026abc'
for bad in 'Ab1!' 'abcdefgh1' 'abcdefghij' 'ABCDEFGH12' '12345678!!'; do
    fx_call A POST /api/v1/password "$(json --arg n "$bad" '{old_password:"666666",new_password:$n}')" "$t0"
    fx_expect_error 400 "password policy: '$bad' must be refused"
done
fx_call A POST /api/v1/password '{"old_password":"666666"}' "$t0"
fx_expect_error 400 "password change without new_password"
fx_call A POST /api/v1/password "$(json --arg n "$newpw" '{old_password:"666665",new_password:$n}')" "$t0"
fx_expect_error 401 "password change with a wrong old password"
fx_expect_eq "$(fx_sql "SELECT must_change_password FROM physician WHERE id = $p1")" 1 \
    "refused changes leave must_change_password"
fx_call A POST /api/v1/password "$(json --arg n "$newpw" '{old_password:"666666",new_password:$n}')" "$t0"
fx_expect_code 200 "password change"
fx_expect_eq "$(jq -r .must_change_password <<<"$FX_BODY")" false "token after the change"
fx_expect_eq "$(fx_sql "SELECT CONCAT(must_change_password, ' ', password_changed_at IS NOT NULL,
                        ' ', password_hash LIKE '\$argon2id\$%') FROM physician WHERE id = $p1")" \
    "0 1 1" "physician row after the change"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM audit_log WHERE action = 'change_password'
                        AND entity_type = 'physician' AND entity_id = '$p1'")" 1 "change_password audit row"
fx_call A POST /api/v1/login "$(json --arg a "$acct1" --arg i "$idn1" --arg n "$name1" '{account:$a,password:"666666",id_number:$i,name:$n}')"
fx_expect_error 401 "the initial password (and the identity step) after the change"
t1=$(fx_login A "$acct1" "$newpw")
# revocations reach every loop within token_revocation_refresh_ms (1 s): wait up to 5 s
for _ in $(seq 50); do
    fx_call A GET /api/v1/tests "" "$t0"
    [ "$FX_CODE" = 401 ] && break
    sleep 0.1
done
fx_expect_error 401 "the old must-change token ends with the change (dom_token)"

# ---- 2. the tests list ----------------------------------------------------------------------
fx_call A GET /api/v1/tests "" "$t1"
fx_expect_code 200 "tests"
fx_expect_eq "$(jq -c '[.tests[] | [.paper, .name, .attempt, .duration_ms, .live_session, .submitted]] | sort' <<<"$FX_BODY")" \
    "[[\"业务水平\",\"业务水平\",1,$DURB,null,false],[\"公共知识\",\"人文医学\",1,$DURG,null,false]]" "tests list"
fx_check "every test window contains server_time" \
    jq -e '.server_time as $t | all(.tests[]; .window_start <= $t and $t < .window_end)' <<<"$FX_BODY" >/dev/null

# ---- 3. start 业务水平; starting again returns the same session ------------------------------
start_session 业务水平 "$t1"
sid=$SID
fx_expect_eq "$(jq -c '[.status, .paper, .attempt, .deadline - .started_at, .answers, (.paper_detail.questions | length)]' <<<"$SESSION")" \
    "[\"live\",\"业务水平\",1,$DURB,{},$QB]" "new session (status, paper, attempt, duration, answers, questions)"
fx_check "remaining_ms is the whole duration less a moment" \
    jq -e ".remaining_ms <= $DURB and .remaining_ms > $DURB - 60000 and .remaining_ms == .deadline - .server_time" <<<"$SESSION" >/dev/null
fx_check "the paper shown to the client carries no answer key" \
    jq -e '[.paper_detail | .. | objects | has("answer") or has("key") or has("explanation")] | any | not' <<<"$SESSION" >/dev/null
deadline=$(jq -r .deadline <<<"$SESSION")
started=$(jq -r .started_at <<<"$SESSION")
start_session 业务水平 "$t1"
fx_expect_eq "$SID $(jq -r '"\(.started_at) \(.deadline)"' <<<"$SESSION")" "$sid $started $deadline" \
    "starting again resumes the same session, same clock"
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', status, paper, attempt,
                          CAST(ROUND(UNIX_TIMESTAMP(deadline) * 1000) AS SIGNED))
                        FROM exam_session WHERE physician_id = $p1")" "live 业务水平 1 $deadline" \
    "one exam_session row, live, with the deadline shown"
fx_call A GET /api/v1/tests "" "$t1"
fx_expect_eq "$(jq -r '.tests[] | select(.paper == "业务水平") | .live_session' <<<"$FX_BODY")" "$sid" \
    "tests list names the live session"

# ---- 4. answer: right where no mod 10 < 7 (70 of 100), wrong elsewhere -------------------------
fx_keys "$sid" >"$FX_TMP/keys.$sid"
fx_expect_eq "$(awk '{print $1, $2, $5}' "$FX_TMP/keys.$sid" | md5sum)" \
    "$(jq -r '.paper_detail.questions[] | "\(.no) \(.type) \(.options | length)"' <<<"$SESSION" | md5sum)" \
    "question types and option counts of the paper match the bank (keys are computed right)"
fx_check "the paper has X questions (several letters)" grep -q ' X ' "$FX_TMP/keys.$sid"
# changing, clearing and repeating answers before the final ones
read -r n1 _ r1 w1 _ < <(awk '$2 != "X"' "$FX_TMP/keys.$sid" | head -n 1)
put_answer "$sid" "$n1" "$w1" "$t1"
put_answer "$sid" "$n1" "" "$t1"
put_answer "$sid" "$n1" "$r1" "$t1"
put_answer "$sid" "$n1" "$r1" "$t1" # idempotent
read -r nx _ rx _ _ < <(awk '$2 == "X" && length($3) > 1' "$FX_TMP/keys.$sid" | head -n 1)
if [ -n "${nx:-}" ]; then # lower case and any order are forgiven: the server stores it canonical
    put_answer "$sid" "$nx" "$(rev <<<"$rx" | tr A-J a-j)" "$t1" "$rx"
fi
right='$1 % 10 < 7'
[ "$(seq "$QB" | awk "$right" | wc -l)" -ge "$PMB" ] || right='$1 <= pm' # a blueprint with a high pass mark
PM=$PMB answer_paper "$sid" "$t1" "$QB" "$right"
score1=$RIGHT
fx_check "some answers are wrong ($score1 of $QB right)" [ "$score1" -lt "$QB" ]

fx_call A GET "/api/v1/sessions/$sid?brief=1" "" "$t1"
fx_expect_code 200 "session view"
fx_expect_eq "$(jq -r '.answers | to_entries[] | "\(.key) \(.value)"' <<<"$FX_BODY" | sort -n | md5sum)" \
    "$(sort -n "$FX_TMP/expect.$sid" | md5sum)" "the server shows every answer as sent"
fx_expect_eq "$(jq -c '[.answered, has("paper_detail"), .status]' <<<"$FX_BODY")" "[$QB,false,\"live\"]" \
    "brief view (answered, no paper, live)"

# ---- 5. submit ---------------------------------------------------------------------------------
fx_call A POST "/api/v1/sessions/$sid/submit" "" "$t1"
fx_expect_code 200 "submit"
fx_expect_eq "$(jq -c '[.status, .result.score, .result.total, .result.pass_mark, .result.passed, .result.enrolment_status]' <<<"$FX_BODY")" \
    "[\"submitted\",$score1,$QB,$PMB,true,\"待参加考核\"]" "submit result (score = the $score1 chosen right)"
fx_call A POST "/api/v1/sessions/$sid/submit" "" "$t1"
fx_expect_code 200 "submitting again"
fx_expect_eq "$(jq -c '[.status, .result.score, .result.passed]' <<<"$FX_BODY")" "[\"submitted\",$score1,true]" \
    "submitting again shows the result"
put_answer_code() { fx_call A PUT "/api/v1/sessions/$1/answers/$2" '{"choice":"A"}' "$3"; }
put_answer_code "$sid" 1 "$t1"
fx_expect_error 409 "an answer after submit"
fx_call A GET "/api/v1/sessions/$sid?brief=1" "" "$t1"
fx_expect_eq "$(jq -c '[.status, .remaining_ms, .result.score]' <<<"$FX_BODY")" "[\"submitted\",0,$score1]" "view after submit"
fx_call A POST /api/v1/sessions '{"paper":"业务水平"}' "$t1"
fx_expect_error 403 "starting a passed paper again"

fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', score, total, pass_mark, passed, cheating_confirmed, final_passed)
                        FROM exam_result WHERE session_id = '$sid'")" "$score1 $QB $PMB 1 0 1" "exam_result row"
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', status, submitted_by, submitted_at IS NOT NULL)
                        FROM exam_session WHERE id = '$sid'")" "submitted physician 1" "exam_session after submit"
fx_expect_eq "$(fx_sql "SELECT question_no, IFNULL(choice, 'NULL') FROM exam_answer WHERE session_id = '$sid'
                        ORDER BY question_no" | tr '\t' ' ' | md5sum)" \
    "$(sort -n "$FX_TMP/expect.$sid" | md5sum)" "exam_answer has all $QB answers as sent"
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', COUNT(*), MIN(actor_type), MIN(actor_id), MIN(from_status), MIN(to_status))
                        FROM audit_log WHERE action = 'submit' AND entity_type = 'exam_session'
                        AND entity_id = '$sid'")" "1 physician $p1 live submitted" "submit audit row"
eid=$(fx_sql "SELECT id FROM enrolment WHERE physician_id = $p1")
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', paper, required, exempted, result, attempts, last_session_id)
                        FROM enrolment_test WHERE enrolment_id = $eid")" "业务水平 1 0 合格 1 $sid" "enrolment_test row"
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', status, IFNULL(result, 'NULL')) FROM enrolment WHERE id = $eid")" \
    "待参加考核 NULL" "enrolment waits for the other paper"
fx_expect_eq "$(fx_redis hget "sess:{$sid}" status)" submitted "Redis session status"
fx_check "the submitted session expires from Redis" [ "$(fx_redis ttl "sess:{$sid}")" -gt 0 ]
fx_expect_eq "$(fx_redis zscore exam:deadlines "$sid")$(fx_redis sismember exam:dirty "$sid")" "0" \
    "the session left exam:deadlines and exam:dirty"
cycle=$(fx_sql "SELECT cycle_id FROM enrolment WHERE id = $eid")
live_ttl=$(fx_redis ttl "live:$p1:$cycle:业务水平:1")
fx_check "live:$p1:$cycle:业务水平:1 is removed or expires after submit (TTL $live_ttl): it is never read again" \
    [ "$live_ttl" != -1 ]
fx_call A GET /api/v1/tests "" "$t1"
fx_expect_eq "$(jq -c '[.tests[].paper]' <<<"$FX_BODY")" '["公共知识"]' "tests left after 业务水平"

# ---- 6. 公共知识, all right -> 考核完成 / 合格 ---------------------------------------------------
start_session 公共知识 "$t1"
sid2=$SID
PM=$PMG answer_paper "$sid2" "$t1" "$QG" '1'
fx_call A POST "/api/v1/sessions/$sid2/submit" '{}' "$t1"
fx_expect_code 200 "submit 公共知识"
fx_expect_eq "$(jq -c '[.result.score, .result.total, .result.passed, .result.enrolment_status]' <<<"$FX_BODY")" \
    "[$QG,$QG,true,\"考核完成\"]" "公共知识 all right"
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', status, result, completed_at IS NOT NULL) FROM enrolment WHERE id = $eid")" \
    "考核完成 合格 1" "enrolment after both papers passed"
# (ORDER BY an ENUM is its declared order: 公共知识 first)
fx_expect_eq "$(fx_sql "SELECT GROUP_CONCAT(CONCAT(paper, ':', result, ':', attempts) ORDER BY paper)
                        FROM enrolment_test WHERE enrolment_id = $eid")" "公共知识:合格:1,业务水平:合格:1" \
    "enrolment_test rows"
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', COUNT(*), MIN(from_status), MIN(to_status)) FROM audit_log
                        WHERE action = 'test_scored' AND entity_type = 'enrolment' AND entity_id = '$eid'")" \
    "1 待参加考核 考核完成" "the enrolment's status change is audited"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM exam_answer WHERE session_id = '$sid2'")" "$QG" "exam_answer rows of 公共知识"
fx_call A GET /api/v1/tests "" "$t1"
fx_expect_eq "$(jq -c .tests <<<"$FX_BODY")" '[]' "no tests left"

# ---- 7. a second physician: 公共知识 at exactly the pass mark, 业务水平 one below -> 待确认补考 ----
read -r p2 acct2 < <(fx_new_physician 0)
[ -n "${p2:-}" ] || fx_fatal "could not create the second physician"
t2=$(fx_login A "$acct2")
start_session 公共知识 "$t2"
sid3=$SID
PM=$PMG answer_paper "$sid3" "$t2" "$QG" '$1 <= pm' 1
fx_call A POST "/api/v1/sessions/$sid3/submit" "" "$t2"
fx_expect_eq "$(jq -c '[.result.score, .result.passed, .result.enrolment_status]' <<<"$FX_BODY")" \
    "[$PMG,true,\"待参加考核\"]" "公共知识 with exactly the pass mark passes (the pass mark is inclusive)"
start_session 业务水平 "$t2"
sid4=$SID
PM=$PMB answer_paper "$sid4" "$t2" "$QB" '$1 < pm'
fx_call A POST "/api/v1/sessions/$sid4/submit" "" "$t2"
fx_expect_eq "$(jq -c '[.result.score, .result.passed, .result.enrolment_status]' <<<"$FX_BODY")" \
    "[$((PMB - 1)),false,\"待确认补考\"]" "业务水平 one point below the pass mark fails"
eid2=$(fx_sql "SELECT id FROM enrolment WHERE physician_id = $p2")
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', status, IFNULL(result, 'NULL')) FROM enrolment WHERE id = $eid2")" \
    "待确认补考 NULL" "enrolment of the physician who failed one paper"
fx_expect_eq "$(fx_sql "SELECT GROUP_CONCAT(CONCAT(paper, ':', result) ORDER BY paper) FROM enrolment_test
                        WHERE enrolment_id = $eid2")" "公共知识:合格,业务水平:不合格" "enrolment_test of the failed paper"
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', passed, final_passed) FROM exam_result WHERE session_id = '$sid4'")" \
    "0 0" "exam_result of the failed paper"
fx_expect_eq "$(fx_sql "SELECT CONCAT_WS(' ', from_status, to_status) FROM audit_log WHERE action = 'test_scored'
                        AND entity_type = 'enrolment' AND entity_id = '$eid2'")" "待参加考核 待确认补考" \
    "audit of 待确认补考"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM exam_answer WHERE session_id = '$sid3'")" "$PMG" \
    "only answered questions have exam_answer rows"
fx_call A GET /api/v1/tests "" "$t2"
fx_expect_eq "$(jq -c .tests <<<"$FX_BODY")" '[]' "nothing to sit while the makeup is not confirmed"

fx_examd_stop A
fx_finish
