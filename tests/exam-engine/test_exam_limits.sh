#!/usr/bin/env bash
# exam_limits (issue 12, finding 7): what one physician may cost examd.
#   - captures of a session: none earlier than the server's next due time minus
#     capture_early_slack_s (429 with Retry-After and the due time, next_capture_at, so
#     the page waits for it), at most capture_max_per_session per session (then 409);
#     refused captures store nothing (no row, no file)
#   - the camera check: at most camera_check_max per physician per camera_check_window_s
#     (429 with Retry-After); another physician is not affected; the answer is pass or
#     fail with the face count, never a similarity; a check refused because the node's
#     own pool is full (503) does not count against the physician
#   - the liveness challenge (issue 14): its body is exactly three length-prefixed JPEGs,
#     each within the capture's limits, or 422 before anything is decoded or counted
#   - GET .../captures/{id}: the proctor's word on one capture, the physician's own only;
#     a retake the worker recorded in the session is shown with its reason, and a challenge
#     it asked for; POST .../liveness answers that challenge once, its outcome in the session
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_limits "$1"
fx_examd_start A DK_PROCTOR_CAPTURE_INTERVAL_S=600 DK_CAPTURE_EARLY_SLACK_S=30 \
    DK_CAPTURE_MAX_PER_SESSION=3 DK_CAMERA_CHECK_MAX=3 DK_CAMERA_CHECK_WINDOW_S=600

fx_grey_jpeg "$FX_TMP/grey.jpg"
jpeg_post() { fx_post_jpeg A "$1" "$2" "$FX_TMP/grey.jpg"; } # PATH TOKEN
rows() { fx_sql "SELECT COUNT(*) FROM proctor_capture WHERE session_id = '$1'"; }

fx_sitting A
sid=$FX_SID tok=$FX_TOKEN

# ---- captures: the first one is taken, the next only near the server's time -------------------
jpeg_post "/api/v1/sessions/$sid/captures" "$tok"
fx_expect_code 202 "the first capture"
cid=$(jq -r .capture_id <<<"$FX_BODY")
due=$(jq -r .next_capture_at <<<"$FX_BODY")
now=$(fx_now_ms)
[ "$due" -gt $((now + 200000)) ] 2>/dev/null ||
    fx_fail_msg "next_capture_at $due is not minutes ahead (interval 600 s: 300-900 s)"
jpeg_post "/api/v1/sessions/$sid/captures" "$tok"
fx_expect_error 429 "a capture long before the due time"
ra=$(fx_header Retry-After)
[ -n "$ra" ] && [ "$ra" -ge 200 ] 2>/dev/null ||
    fx_fail_msg "Retry-After '$ra' does not send the page to the due time (~$(((due - now) / 1000 - 30)) s)"
fx_expect_eq "$(jq -r .error.next_capture_at <<<"$FX_BODY")" "$due" "the refusal names the due time"
fx_expect_eq "$(rows "$sid")" 1 "a refused capture stores nothing"

# within the slack before the due time: taken
fx_redis hset "sess:{$sid}" cap_next_due $(($(fx_now_ms) + 20000)) >/dev/null
jpeg_post "/api/v1/sessions/$sid/captures" "$tok"
fx_expect_code 202 "a capture 20 s before its due time (slack 30 s)"
fx_redis hset "sess:{$sid}" cap_next_due $(($(fx_now_ms) - 1000)) >/dev/null
jpeg_post "/api/v1/sessions/$sid/captures" "$tok"
fx_expect_code 202 "a capture after its due time"
# the fourth of a session (max 3): refused for good, even when due
fx_redis hset "sess:{$sid}" cap_next_due $(($(fx_now_ms) - 1000)) >/dev/null
jpeg_post "/api/v1/sessions/$sid/captures" "$tok"
fx_expect_error 409 "the fourth capture of a session (capture_max_per_session=3)" "上限"
fx_expect_eq "$(rows "$sid")" 3 "three captures stored"

# ---- the camera check: per physician, and the answer is coarse -----------------------------------
read -r p2 acct2 < <(fx_new_physician 0)
t2=$(fx_login A "$acct2")
for i in 1 2 3; do
    jpeg_post /api/v1/camera-check "$tok"
    fx_expect_code 200 "camera check $i"
    jq -e 'has("similarity") | not' <<<"$FX_BODY" >/dev/null ||
        fx_fail_msg "camera check $i shows a similarity: $FX_BODY"
    jq -e '(.ok | type) == "boolean" and (.faces | type) == "number"' <<<"$FX_BODY" >/dev/null ||
        fx_fail_msg "camera check $i lacks ok/faces: $FX_BODY"
done
jpeg_post /api/v1/camera-check "$tok"
fx_expect_error 429 "the fourth camera check within the window (camera_check_max=3)" "次数"
ra=$(fx_header Retry-After)
[ -n "$ra" ] && [ "$ra" -ge 1 ] && [ "$ra" -le 600 ] 2>/dev/null ||
    fx_fail_msg "Retry-After '$ra' of the camera check limit"
jpeg_post /api/v1/camera-check "$t2"
fx_expect_code 200 "another physician's camera check is not limited by the first one's"
fx_redis del "limit:camera_check:$FX_P" "limit:camera_check:$p2" >/dev/null

# ---- the liveness challenge's body: three JPEGs, each after its length (4 bytes, big-endian) ----
be32() { local n=$1; printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((n >> 24 & 255)) $((n >> 16 & 255)) $((n >> 8 & 255)) $((n & 255)))"; }
frames() { # OUT FILE...: the files as one challenge body
    local out=$1
    shift
    : >"$out"
    for f in "$@"; do
        be32 "$(stat -c %s "$f")" >>"$out"
        cat "$f" >>"$out"
    done
}
printf 'not a jpeg' >"$FX_TMP/text.jpg"
g=$FX_TMP/grey.jpg
frames "$FX_TMP/three" "$g" "$g" "$g"
jpeg_lv() { fx_post_jpeg A /api/v1/camera-check/liveness "$tok" "$1"; }
jpeg_lv "$FX_TMP/three"
fx_expect_code 200 "a challenge of three grey frames is answered"
jq -e '.ok == false and .faces == 0 and (has("similarity") | not) and (has("liveness") | not)' \
    <<<"$FX_BODY" >/dev/null || fx_fail_msg "three faceless frames: $FX_BODY"
frames "$FX_TMP/two" "$g" "$g"
cp "$FX_TMP/three" "$FX_TMP/extra" && printf 'x' >>"$FX_TMP/extra"
frames "$FX_TMP/badframe" "$g" "$FX_TMP/text.jpg" "$g"
{ be32 5000; cat "$g"; } >"$FX_TMP/short"
: >"$FX_TMP/empty"
for b in two extra short empty; do
    jpeg_lv "$FX_TMP/$b"
    fx_expect_error 422 "a challenge body '$b' is refused" "需要 3 张照片"
done
jpeg_lv "$FX_TMP/badframe"
fx_expect_error 422 "a challenge whose second frame is not a JPEG" "第 2 张"
fx_expect_eq "$(fx_redis get "limit:camera_check:$FX_P")" 1 \
    "refused challenge bodies do not count against camera_check_max"
fx_redis del "limit:camera_check:$FX_P" >/dev/null

# ---- the proctor's word on one capture ----------------------------------------------------------
fx_call A GET "/api/v1/sessions/$sid/captures/$cid" "" "$tok"
fx_expect_code 200 "the state of the first capture"
jq -e '(.scored | type) == "boolean" and .retake == null and .live == true' <<<"$FX_BODY" \
    >/dev/null || fx_fail_msg "capture state: $FX_BODY"
# what the worker writes for a retake (proctor_worker.c record_retake)
fx_redis hset "sess:{$sid}" cap_retake blurred cap_retake_id "$cid" >/dev/null
fx_call A GET "/api/v1/sessions/$sid/captures/$cid" "" "$tok"
fx_expect_eq "$(jq -r .retake <<<"$FX_BODY")" blurred "the retake reason reaches the page"
fx_call A GET "/api/v1/sessions/$sid/captures/$((cid + 1))" "" "$tok"
fx_expect_eq "$(jq -r .retake <<<"$FX_BODY")" null "a retake is only the retaken capture's"
fx_call A GET "/api/v1/sessions/$sid/captures/$cid" "" "$t2"
fx_expect_error 404 "another physician's capture"
fx_call A GET "/api/v1/sessions/$sid/captures/1x" "" "$tok"
fx_expect_error 404 "a capture id that is not a number"

# ---- a challenge during the test: only when the proctor asked, once per ask -----------------
lv() { fx_post_jpeg A "/api/v1/sessions/$sid/liveness" "$1" "$FX_TMP/three"; }
lv "$tok"
fx_expect_error 409 "a challenge nobody asked for" "没有待完成"
fx_redis hset "sess:{$sid}" cap_challenge "$cid" >/dev/null # what the worker writes
fx_call A GET "/api/v1/sessions/$sid/captures/$cid" "" "$tok"
fx_expect_eq "$(jq -r .challenge <<<"$FX_BODY")" true "the page learns that a challenge is asked"
lv "$t2"
fx_expect_error 404 "another physician answers the challenge"
fx_post_jpeg A "/api/v1/sessions/$sid/liveness" "$tok" "$FX_TMP/two"
fx_expect_error 422 "a challenge answer of two frames" "需要 3 张照片"
lv "$tok"
fx_expect_code 200 "the challenge answered with three frames"
jq -e '.ok == false and (has("similarity") | not)' <<<"$FX_BODY" >/dev/null ||
    fx_fail_msg "three faceless frames during the test: $FX_BODY"
res=$(fx_redis hget "sess:{$sid}" cap_challenge_result)
# no_face with the face models; degraded when this node runs without them (it cannot judge)
case "$res" in no_face@* | degraded@*) ;; *) fx_fail_msg "the session records the challenge's outcome: '$res'" ;; esac
fx_expect_eq "$(fx_redis hget "sess:{$sid}" cap_challenge)" "" "the ask is taken by its answer"
lv "$tok"
fx_expect_error 409 "a second answer to one ask" "没有待完成"

# A check the server refuses because its own pool is full (503) is given back: a busy
# node does not use up the physician's budget. Node B: one face thread, a queue of one,
# 40 checks at once; the counter must equal the checks that were not refused with 503.
fx_examd_start B DK_CAMERA_CHECK_QUEUE=1 DK_CAMERA_CHECK_WORKERS=1 DK_CAMERA_CHECK_MAX=100 \
    DK_CAMERA_CHECK_WINDOW_S=600
: >"$FX_TMP/cfg40"
for i in $(seq 40); do
    [ "$i" -gt 1 ] && echo next >>"$FX_TMP/cfg40"
    printf 'url = "%s/api/v1/camera-check"\nrequest = "POST"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: image/jpeg"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\ninterface = "%s"\nmax-time = 30\nsilent\n' \
        "${FX_URL[B]}" "$t2" "$FX_TMP/grey.jpg" "$FX_SRC" >>"$FX_TMP/cfg40"
done
curl --parallel --parallel-max 40 -K "$FX_TMP/cfg40" >"$FX_TMP/codes40"
n503=$(grep -c '^503$' "$FX_TMP/codes40")
n200=$(grep -c '^200$' "$FX_TMP/codes40")
fx_expect_eq "$((n503 + n200))" 40 "40 parallel camera checks answered 200 or 503"
[ "$n503" -gt 0 ] || fx_fail_msg "no 503 among 40 parallel checks with a queue of one: the refund was not exercised"
counted=""
for _ in $(seq 50); do # the refunds are sent after the 503s: let them land
    counted=$(fx_redis get "limit:camera_check:$p2")
    [ "${counted:-0}" = "$n200" ] && break
    sleep 0.1
done
fx_expect_eq "${counted:-0}" "$n200" "the camera-check counter holds the $n200 checks done, not the $n503 the busy pool refused"
fx_redis del "limit:camera_check:$p2" >/dev/null
fx_examd_stop B

fx_examd_stop A
# the fixture deletes the physicians' sessions; their captures go first
fx_sql "DELETE FROM proctor_capture WHERE session_id = '$sid'"
fx_finish
