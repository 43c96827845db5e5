#!/usr/bin/env bash
# test_facesim_sessions.sh FACESIM SHARED - issue 14 item 4's done-when: facesim
# --eval-sessions on ../shared's photos, with the configured (default = fitted) session
# rule, flags < 1 % of genuine sessions, >= 99 % of whole-session stand-ins and >= 95 % of
# half-session stand-ins. Also: the simulation has bad frames (the per-frame rule it
# replaces flags most genuine sessions), and the rule printed is the configuration's.
# Exit 77 without ../shared's photos.
set -euo pipefail
FACESIM=$1
faces=$2/data/faces
[ -d "$faces/fr_obama" ] || { echo "SKIP: no shared face photos at $faces"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

rc=0
env -u DK_PROCTOR_MODEL_DIR "$FACESIM" --eval-sessions "$faces" --sessions 2000 --seed 14 \
    >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" = 0 ] || fail "facesim --eval-sessions exited $rc: $(cat "$tmp/out" "$tmp/err")"
jq -c '{genuine: .genuine.rate, standin_whole: .standin_whole.rate,
        standin_half: .standin_half.rate, rule: .rule}' "$tmp/out"
jq -e '.identities == 13 and .photos == 58 and .sessions_per_kind == 2000 and
       .captures_per_session == 12 and .genuine.sessions == 2000' "$tmp/out" >/dev/null ||
    fail "unexpected simulation: $(cat "$tmp/out")"
jq -e '.genuine.rate < 0.01 and .standin_whole.rate >= 0.99 and .standin_half.rate >= 0.95 and
       .met == true' "$tmp/out" >/dev/null || fail "targets not met: $(cat "$tmp/out")"
# the rates are the counts'
jq -e '.genuine.rate == (.genuine.flagged / .genuine.sessions) and
       .standin_half.rate == (.standin_half.flagged / .standin_half.sessions)' "$tmp/out" \
    >/dev/null || fail "rates are not flagged / sessions"
# the rule evaluated is the configuration's defaults (dk_config.c)
jq -e '.rule == {"low":40,"low_run":4,"low_share":50,"low_share_min":6,"median":0,
                 "median_min":4,"no_face_s":600,"multiple_faces":1}' "$tmp/out" >/dev/null ||
    fail "rule is not the configured default: $(jq -c .rule "$tmp/out")"
# bad frames are there: a genuine frame is low now and then, and the per-frame rule fails
jq -e '.frames.genuine.low_rate > 0.05 and
       (.candidates[] | select(.name | startswith("per_frame")) | .met == false and
        .genuine > 0.5)' "$tmp/out" >/dev/null || fail "the simulation has no bad frames"
# a folder that is not there: usage error
rc=0
"$FACESIM" --eval-sessions "$tmp/nowhere" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "missing folder: exit $rc, want 2"
echo "ok: session targets met on $faces"
