#!/usr/bin/env bash
# exam_resume_redis: a resume of a live session is answered from Redis alone, and a submit
# sends MariaDB only what the flush has not written yet (issue 13, item 3: resume and
# submit no longer queue behind the database pool for work Redis already has).
#  - the resume (POST /sessions again, as a reload does) returns the same session, paper
#    and answers, and counts in examd_resumes_from_redis (no database job);
#  - the physician's index (live:{pid}) pointed at another physician's session: the resume
#    never shows that session; it goes to MariaDB, returns the caller's own, and the index
#    is mended;
#  - the index pointed at a session Redis lost: MariaDB rebuilds it, answers kept;
#  - the flush writes answers 1-21, then (no flush any more) answer 1 changes and 22-30
#    come: the submit scores every answer (29), exam_answer holds all 30 with the change;
#  - a resume after the submit goes to MariaDB, which has no test left to sit (403).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_resume_redis "$1"
fx_examd_start A DK_FLUSH_PERIOD_MS=300

fx_sitting A
tok=$FX_TOKEN sid=$FX_SID pid=$FX_P
first=$FX_BODY
fx_keys "$sid" >"$FX_TMP/keys"
head -n 20 "$FX_TMP/keys" | awk '{print $1, $3}' >"$FX_TMP/a1"
fx_put_answers A "$sid" "$tok" "$FX_TMP/a1" || fx_fatal "answers 1-20 were not acknowledged"
fx_expect_eq "$(fx_redis hget "live:$pid" 业务水平)" "$sid" "the start wrote the physician's index"
ttl=$(fx_redis pttl "live:$pid")
fx_check "the index expires (pttl $ttl ms) after the deadline" [ "${ttl:-0}" -gt 3600000 ]

# ---- the resume from Redis ------------------------------------------------------------------
r0=$(fx_metric A examd_resumes_from_redis)
fx_call A POST /api/v1/sessions '{"paper":"业务水平"}' "$tok"
fx_expect_code 200 "resume"
fx_expect_eq "$(jq -r '"\(.session_id) \(.started_at) \(.deadline)"' <<<"$FX_BODY")" \
    "$(jq -r '"\(.session_id) \(.started_at) \(.deadline)"' <<<"$first")" "the same session and clock"
fx_expect_eq "$(jq -c .paper_detail <<<"$FX_BODY" | md5sum)" "$(jq -c .paper_detail <<<"$first" | md5sum)" \
    "the same paper"
fx_expect_eq "$(jq -r '.answers | to_entries[] | "\(.key) \(.value)"' <<<"$FX_BODY" | sort -n | md5sum)" \
    "$(sort -n "$FX_TMP/a1" | md5sum)" "the 20 answers"
fx_expect_eq "$(fx_metric A examd_resumes_from_redis)" "$((r0 + 1))" "answered from Redis"

# ---- a forged index never shows another physician's session --------------------------------
fx_sitting A
other=$FX_SID
fx_redis hset "live:$pid" 业务水平 "$other" >/dev/null
fx_call A POST /api/v1/sessions '{"paper":"业务水平"}' "$tok"
fx_expect_code 200 "resume with the index pointing at another physician's session"
fx_expect_eq "$(jq -r .session_id <<<"$FX_BODY")" "$sid" "the caller's own session, not the other"
fx_expect_eq "$(fx_metric A examd_resumes_from_redis)" "$((r0 + 1))" "that one went to MariaDB"
fx_expect_eq "$(fx_redis hget "live:$pid" 业务水平)" "$sid" "the index is mended"

# ---- the index outlives a session Redis lost ------------------------------------------------
# wait until the flush has the 20 answers, then lose the session's keys
for _ in $(seq 100); do
    [ "$(fx_sql "SELECT COUNT(*) FROM exam_answer WHERE session_id = '$sid'")" = 20 ] && break
    sleep 0.1
done
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM exam_answer WHERE session_id = '$sid'")" 20 \
    "the flush wrote answers 1-20"
for _ in $(seq 50); do # the watermark moves after the flush's COMMIT
    [ -n "$(fx_redis hget "sess:{$sid}" flushed_ms)" ] && break
    sleep 0.1
done
fx_redis del "sess:{$sid}" "sess:{$sid}:ans" >/dev/null
fx_call A POST /api/v1/sessions '{"paper":"业务水平"}' "$tok"
fx_expect_code 200 "resume after Redis lost the session"
fx_expect_eq "$(jq -r .session_id <<<"$FX_BODY")" "$sid" "rebuilt from MariaDB"
fx_expect_eq "$(jq -r '.answers | length' <<<"$FX_BODY")" 20 "with the 20 answers"

# ---- the submit sends only the answers the flush has not written ------------------------------
# answer 21 makes the rebuilt session dirty: the flush writes it and sets the watermark
sed -n 21p "$FX_TMP/keys" | awk '{print $1, $3}' >"$FX_TMP/a21"
fx_put_answers A "$sid" "$tok" "$FX_TMP/a21" || fx_fatal "answer 21 was not acknowledged"
for _ in $(seq 100); do
    [ -n "$(fx_redis hget "sess:{$sid}" flushed_ms)" ] &&
        [ "$(fx_sql "SELECT COUNT(*) FROM exam_answer WHERE session_id = '$sid'")" = 21 ] && break
    sleep 0.1
done
fx_check "the session has a flush watermark" [ -n "$(fx_redis hget "sess:{$sid}" flushed_ms)" ]
# no flush from here on: the change and answers 22-30 reach MariaDB through the submit only
fx_examd_stop A
fx_examd_start B DK_FLUSH_PERIOD_MS=3600000
wrong1=$(sed -n 1p "$FX_TMP/keys" | awk '{print $4}')
{ echo "1 $wrong1"; sed -n 22,30p "$FX_TMP/keys" | awk '{print $1, $3}'; } >"$FX_TMP/a2"
fx_put_answers B "$sid" "$tok" "$FX_TMP/a2" || fx_fatal "answers 22-30 were not acknowledged"
fx_call B POST "/api/v1/sessions/$sid/submit" "" "$tok"
fx_expect_code 200 "submit"
fx_expect_eq "$(jq .result.score <<<"$FX_BODY")" 29 "score: 19 of the flushed answers and 10 new"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM exam_answer WHERE session_id = '$sid'")" 30 \
    "exam_answer has the 30 answers"
fx_expect_eq "$(fx_sql "SELECT choice FROM exam_answer WHERE session_id = '$sid' AND question_no = 1")" \
    "$wrong1" "with the changed answer 1"

# ---- a resume after the submit -----------------------------------------------------------------
fx_call B POST /api/v1/sessions '{"paper":"业务水平"}' "$tok"
fx_expect_code 403 "resume after the submit (the enrolment has moved on: no test to sit)"
fx_finish
