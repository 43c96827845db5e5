#!/usr/bin/env bash
# exam_capture_sweep: a crash between a capture's write and its row's commit leaves a photo
# no row names (a .part, or a <id>.jpg renamed in a transaction that never committed). No
# retention purge would ever find it: the purge follows rows. examd's capture sweep
# (capture_sweep_period_s) removes such files once they are 10 minutes old, and nothing
# else: a stored capture (its row exists) stays, however old; a young orphan stays (it may
# be a capture in flight); a file of another shape stays.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_capture_sweep "$1"
D=$FX_TMP/data
mkdir -p "$D"
fx_examd_start A DK_DATA_DIR="$D" DK_PROCTOR_INPROCESS=0 DK_CAPTURE_SWEEP_PERIOD_S=2

fx_grey_jpeg "$FX_TMP/grey.jpg"
fx_sitting A
sid=$FX_SID tok=$FX_TOKEN
fx_post_jpeg A "/api/v1/sessions/$sid/captures" "$tok" "$FX_TMP/grey.jpg"
fx_expect_code 202 "a capture is stored"
id=$(jq -r .capture_id <<<"$FX_BODY")
S=$D/captures/$sid
fx_check "the stored capture's file is there" [ -f "$S/$id.jpg" ]

# what a kill -9 leaves, as if hours ago; an id far beyond any row
orphan=$((id + 100000000))
cp "$FX_TMP/grey.jpg" "$S/.1700000000000-deadbeef.part"
cp "$FX_TMP/grey.jpg" "$S/$orphan.jpg"
cp "$FX_TMP/grey.jpg" "$S/$((orphan + 1)).jpg"   # young: may be a capture in flight
cp "$FX_TMP/grey.jpg" "$S/notes.txt"              # not a capture's name
touch -d '2 hours ago' "$S/.1700000000000-deadbeef.part" "$S/$orphan.jpg" "$S/$id.jpg" "$S/notes.txt"

# the first sweep runs period (2 s) after the start, the next every 2 s
for _ in $(seq 1 40); do
    [ ! -e "$S/$orphan.jpg" ] && [ ! -e "$S/.1700000000000-deadbeef.part" ] && break
    sleep 0.5
done
fx_check "an old .part left by a crash is removed" [ ! -e "$S/.1700000000000-deadbeef.part" ]
fx_check "an old <id>.jpg no row names is removed" [ ! -e "$S/$orphan.jpg" ]
fx_check "a stored capture (its row exists) stays, however old" [ -f "$S/$id.jpg" ]
fx_check "a young file no row names stays (a capture in flight)" [ -f "$S/$((orphan + 1)).jpg" ]
fx_check "a file of another name stays" [ -f "$S/notes.txt" ]
grep -q "removed a capture photo no row names" "${FX_LOG[A]}" ||
    fx_fail_msg "examd did not log the removed orphan"
grep -q "capture sweep checked=" "${FX_LOG[A]}" || fx_fail_msg "examd did not log the sweep"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM proctor_capture WHERE session_id = '$sid'")" 1 \
    "the sweep touches no row"

fx_examd_stop A
fx_finish
