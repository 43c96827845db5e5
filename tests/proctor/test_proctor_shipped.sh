#!/usr/bin/env bash
# test_proctor_shipped.sh FACESIM - issue 14: on a clone without ../shared, deploy/run.sh
# scores faces. The configuration is the one deploy/run.sh writes on a first run
# (`deploy/run.sh config FILE`); facesim reads it through the same dk_config ->
# proctor_options_from_config -> proctor_engine_new path as examd and proctord. The
# environment is emptied (no DK_PROCTOR_MODEL_DIR), the face is tests/proctor/data's, and
# the models must come from proctor/models, checked by sha256: nothing reads ../shared.
# A scored face means faces 1, a similarity, no "degraded", and no DEGRADED MODE in the log.
set -euo pipefail
FACESIM=$1
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/log" ] && sed 's/^/  log: /' "$tmp/log"; exit 1; }

DK_STACK_DIR=$tmp/stack "$repo/deploy/run.sh" config "$tmp/dingkao.conf"
grep -q '^proctor_model_dir *=' "$tmp/dingkao.conf" || fail "run.sh wrote no proctor_model_dir line"
grep -n 'shared' "$tmp/dingkao.conf" && fail "run.sh's configuration points at ../shared"

face=$here/data/astronaut.jpg
cp "$face" "$tmp/capture.jpg"
env -i PATH="$PATH" HOME="$tmp" "$FACESIM" --config "$tmp/dingkao.conf" "$face" "$tmp/capture.jpg" \
    >"$tmp/out" 2>"$tmp/log" || fail "facesim exited $?: $(cat "$tmp/out")"
models="$repo/proctor/models"
grep -q "face models loaded detector=$models/yunet_120x160.onnx recognizer=$models/MobileFaceNet.onnx kind=mobilefacenet sha256=verified" \
    "$tmp/log" || fail "the engine did not load the shipped models from $models"
grep -q "DEGRADED" "$tmp/log" && fail "the engine started in DEGRADED MODE"
jq -e '.faces == 1 and .flag == null and (.similarity | type) == "number" and .similarity >= 99
       and (.degraded // false) == false' "$tmp/out" >/dev/null ||
    fail "the face was not scored: $(cat "$tmp/out")"
echo "ok: run.sh's configuration scores a face with the shipped models: $(cat "$tmp/out")"
