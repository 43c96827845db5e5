#!/usr/bin/env bash
# exam_disk_full (issue 13, faults): the captures' disk full. examd's data_dir is a small
# tmpfs of its own, filled up before the first capture: the capture is refused with 503,
# Retry-After and a clear message, nothing of it stays (no proctor_capture row, no file,
# no temporary file), examd keeps serving (an answer save, /healthz); once there is
# room again the next capture is stored whole: one row, one <capture id>.jpg, the same
# bytes. The refused one is not counted against capture_max_per_session. Skipped (77) where tmpfs cannot be mounted (not root, no CAP_SYS_ADMIN).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_disk_full "$1"
D=$FX_TMP/data
mkdir -p "$D"
mount -t tmpfs -o size=1m,mode=0755 dkdiskfull "$D" 2>/dev/null || fx_skip "cannot mount a tmpfs here"
df_cleanup() {
    local rc=$?
    umount "$D" 2>/dev/null || umount -l "$D" 2>/dev/null
    (exit "$rc")
    fx_cleanup
}
trap df_cleanup EXIT

fx_examd_start A DK_DATA_DIR="$D" DK_PROCTOR_INPROCESS=0

fx_grey_jpeg "$FX_TMP/grey.jpg"
capture() { fx_post_jpeg A "/api/v1/sessions/$1/captures" "$2" "$FX_TMP/grey.jpg"; } # SID TOKEN
rows() { fx_sql "SELECT COUNT(*) FROM proctor_capture WHERE session_id = '$1'"; }
files() { find "$D/captures" -type f 2>/dev/null | wc -l; }

fx_sitting A
sid=$FX_SID tok=$FX_TOKEN
fx_keys "$sid" >"$FX_TMP/keys"

# the session's folder first (a full tmpfs may still create a directory), then fill the disk
mkdir -p "$D/captures/$sid"
dd if=/dev/zero of="$D/fill" bs=4k 2>/dev/null
fx_check "the disk is full" [ "$(df --output=avail -B1 "$D" | tail -n 1 | tr -d ' ')" -lt 4096 ]

capture "$sid" "$tok"
fx_expect_error 503 "a capture on a full disk" "存储空间不足"
ra=$(fx_header Retry-After)
fx_check "the refusal has a Retry-After ('$ra')" [ -n "$ra" ] && [ "$ra" -ge 1 ] 2>/dev/null
fx_expect_eq "$(rows "$sid")" 0 "a refused capture leaves no proctor_capture row"
fx_expect_eq "$(files)" 0 "a refused capture leaves no file, not even a temporary one"
fx_expect_eq "$(fx_redis hget "sess:{$sid}" cap_count)" 0 \
    "a capture the server failed to store does not count against capture_max_per_session"
grep -q "cannot store capture: write" "${FX_LOG[A]}" || fx_fail_msg "examd did not log why the capture was not stored"

# examd goes on serving
awk 'NR == 1 {print $1, $3}' "$FX_TMP/keys" >"$FX_TMP/a1"
fx_put_answers A "$sid" "$tok" "$FX_TMP/a1" || fx_fail_msg "an answer after the refused capture was not acknowledged"
fx_call A GET /healthz
fx_expect_code 200 "/healthz after the refused capture"

# room again: the capture the page sends again is stored whole
rm -f "$D/fill"
capture "$sid" "$tok"
fx_expect_code 202 "the capture once there is room"
id=$(jq -r .capture_id <<<"$FX_BODY")
fx_expect_eq "$(rows "$sid")" 1 "one proctor_capture row"
fx_expect_eq "$(fx_sql "SELECT photo_path FROM proctor_capture WHERE id = $id")" "$D/captures/$sid/$id.jpg" \
    "the row names the stored file"
fx_check "the stored file has the bytes sent" cmp -s "$FX_TMP/grey.jpg" "$D/captures/$sid/$id.jpg"
fx_expect_eq "$(files)" 1 "one file, no temporary one left"
fx_expect_eq "$(fx_redis hget "sess:{$sid}" cap_count)" 1 "the stored capture counts once"

fx_examd_stop A
fx_finish
