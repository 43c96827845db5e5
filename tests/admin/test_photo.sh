#!/usr/bin/env bash
# The registered photo with the face models shipped in proctor/models: a photo with exactly one
# face is stored with its embedding (proctor_embed on admind's photo thread); a photo with
# no face or several faces is refused (422 with a Chinese message and what was found,
# {faces, flag}, as examd's camera check says it) and the previous photo is kept; a photo
# of 3 MB (under the route's 4 MB, over the 2 MB of a capture) is taken; a replaced photo's
# file is deleted. Skipped (77) when the test photos of ../shared are absent; degraded
# mode (no models) is covered by the other admin tests. Then examd's
# camera check against that registered photo answers pass or fail with the face count,
# never the similarity (a stand-in could tune a photo against it).
ADMIND=$1 EXAMD=$2
. "$(dirname "$0")/lib.sh"
SHARED=${DK_SHARED_DIR:-$(cd "$(dirname "$0")/../../.." && pwd -P)/shared}
FACES=$SHARED/data/faces
for f in "$FACES/deepface_img01/1.jpg" "$FACES/deepface_img01/2.jpg" "$FACES/_multi_face/6.jpg"; do
    [ -f "$f" ] || { echo "SKIP: $f is absent (test photos of ../shared)"; exit 77; }
done
need
export DK_PROCTOR_MODEL_DIR= # the shipped models
start_admind
for _ in $(seq 100); do grep -q "face engine for registered photos" "$TMP/admind.log" && break; sleep 0.1; done
grep -q "registered photos model=MobileFaceNet.onnx degraded=0" "$TMP/admind.log" ||
    fail "admind did not load the face models"

step "a physician ready to register"
make_region A
PROV=$(login authority "t$RUN-A-prov" "$PASSWORD")
COUNTY=$(login authority "t$RUN-A-county" "$PASSWORD")
make_cycle "$PROV"
api POST /authority/institutions "{\"name\":\"测试医院$RUN\"}" "$COUNTY"
H1=$(first_login institution "$(j .code)")
mkphys "$H1"
api POST "/institution/physicians/$PID/confirm" "" "$H1"
expect 201
PT=$(first_login physician "$PACCT")

step "one face: stored with its embedding"
upload PUT /physician/photo "$FACES/deepface_img01/1.jpg" image/jpeg "$PT"
expect 200 "a face photo"
eq "$(j '[.embedded, .degraded] | map(tostring) | join(",")')" "true,false" "embedded"
eq "$(sql "SELECT face_embedding IS NOT NULL AND face_model = 'MobileFaceNet.onnx' FROM physician WHERE id = $PID")" 1 "embedding stored"
FIRST=$(sql "SELECT photo_path FROM physician WHERE id = $PID")
[ -f "$FIRST" ] || fail "photo file"

step "no face, several faces: refused, the previous photo kept"
# the message is Chinese only (no English from the face engine) and says what to do
chinese() { j .error.message | grep -qE '[a-z]{2,}' && fail "${1}: English in '$(j .error.message)'"; return 0; }
jpeg "$TMP/grey.jpg"
upload PUT /physician/photo "$TMP/grey.jpg" image/jpeg "$PT"
expect_msg 422 "没有检测到人脸" "a photo without a face"
eq "$(j '[.error.code, .error.faces, .error.flag] | map(tostring) | join(",")')" "unprocessable,0,no_face" "no face: the fields"
chinese "no face"
upload PUT /physician/photo "$FACES/_multi_face/6.jpg" image/jpeg "$PT"
expect_msg 422 "只能有本人一人" "a photo with several faces"
eq "$(j .error.flag)" multiple_faces "several faces: flag"
N=$(j .error.faces)
[ "$N" -ge 2 ] 2>/dev/null || fail "several faces: faces is '$N'"
j .error.message | grep -q "检测到 $N 张人脸" || fail "the message names the $N faces: $(j .error.message)"
chinese "several faces"
eq "$(sql "SELECT photo_path FROM physician WHERE id = $PID")" "$FIRST" "the previous photo is kept"
eq "$(sql "SELECT face_embedding IS NOT NULL FROM physician WHERE id = $PID")" 1 "and its embedding"
upload PUT /physician/photo /etc/hostname image/jpeg "$PT"
expect 422 "not a JPEG"
eq "$(j '[.error.faces, .error.flag] | map(tostring) | join(",")')" "0,bad_image" "not a JPEG: the fields"
chinese "not a JPEG"

step "a photo of 3 MB: under the route's 4 MB, though over a capture's 2 MB"
# the one-face photo with 3 MB of comment segments after SOI (a JPEG decoders skip them)
python3 - "$FACES/deepface_img01/1.jpg" "$TMP/big.jpg" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
seg = b'\xff\xfe' + (65535).to_bytes(2, 'big') + b'x' * 65533
open(sys.argv[2], 'wb').write(b[:2] + seg * 48 + b[2:])
PY
[ "$(stat -c %s "$TMP/big.jpg")" -gt 3000000 ] || fail "the big photo is not big"
upload PUT /physician/photo "$TMP/big.jpg" image/jpeg "$PT"
expect 200 "a 3 MB photo"
eq "$(j .embedded)" true "embedded"
FIRST=$(sql "SELECT photo_path FROM physician WHERE id = $PID")

step "a new photo replaces the old one, whose file is deleted"
upload PUT /physician/photo "$FACES/deepface_img01/2.jpg" image/jpeg "$PT"
expect 200
[ -f "$FIRST" ] && fail "the replaced photo's file is still there"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'physician' AND entity_id = '$PID' AND action = 'upload_photo'")" 3 "uploads audited"

step "examd's camera check: pass or fail against the registered photo, never the score"
start_examd
camera_check() { # FILE TOKEN
    code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST "http://127.0.0.1:$EXAM_PORT/api/v1/camera-check" \
        -H "Authorization: Bearer $2" -H 'Content-Type: image/jpeg' --data-binary "@$1")
}
camera_check "$FACES/deepface_img01/1.jpg" "$PT"
expect 200 "camera check of the registered person"
eq "$(j '[.ok, .faces, .degraded] | map(tostring) | join(",")')" "true,1,false" "the same person passes"
j 'has("similarity")' | grep -q false || fail "the camera check shows the similarity: $(cat "$TMP/body")"
camera_check "$FACES/deepface_img03/1.jpg" "$PT"
expect 200 "camera check of another person"
eq "$(j '[.ok, .flag] | map(tostring) | join(",")')" "false,low_similarity" "another person fails"
j 'has("similarity")' | grep -q false || fail "a failed camera check shows the similarity: $(cat "$TMP/body")"
stop_examd

step "SIGTERM"
stop_admind
echo "PASS: registered photos with face embeddings, examd's coarse camera check"
