# tests/admin/lib.sh - what the admind integration tests share (sourced, not run).
#
# Every test makes its own world so that it can run beside other tests on the shared
# test stack: a province -> city -> county tree with random codes, authority accounts
# named t<run>-*, institutions created through the API under those codes, physicians
# with fresh ID numbers. Nothing is truncated or flushed. A test that cannot reach the
# stack exits 77 naming the reason.
#   admind binary: $ADMIND; examd binary: $EXAMD (optional)
set -u
DK_MYSQL_PORT=${DK_MYSQL_PORT:-13306}
DK_REDIS_PORT=${DK_REDIS_PORT:-16379}
export DK_MYSQL_PORT DK_REDIS_PORT
RUN=$(od -An -tu4 -N4 /dev/urandom | tr -d ' ' | cut -c1-8)
TMP=$(mktemp -d /tmp/dk-admin-test.XXXXXX)
PIDS=()
PASSWORD='Test@2024pw'
STEP=0

cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
    echo "FAIL [step $STEP]: $*"
    [ -f "$TMP/body" ] && echo "last body: $(head -c 2000 "$TMP/body")"
    [ -f "$TMP/admind.log" ] && { echo "--- admind log (tail)"; tail -20 "$TMP/admind.log"; }
    exit 1
}
step() { STEP=$((STEP + 1)); echo "-- $STEP. $*"; }

need() {
    command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
    command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }
    command -v mariadb >/dev/null || { echo "SKIP: the mariadb client is not installed"; exit 77; }
    redis-cli -p "$DK_REDIS_PORT" ping >/dev/null 2>&1 ||
        { echo "SKIP: the test stack's Redis is not reachable on port $DK_REDIS_PORT"; exit 77; }
    sql "SELECT 1" >/dev/null 2>&1 ||
        { echo "SKIP: the test stack's MariaDB is not reachable on port $DK_MYSQL_PORT"; exit 77; }
    [ "$(sql "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE()
              AND table_name = 'exemption_request' AND column_name = 'lock_version'")" = 1 ] ||
        { echo "SKIP: migration 002_admin.sql is not applied (deploy/migrate.sh)"; exit 77; }
}

sql() {
    MYSQL_PWD=${DK_MYSQL_PASSWORD:-dingkao-dev} mariadb --no-defaults --protocol=TCP -h 127.0.0.1 \
        -P "$DK_MYSQL_PORT" -u "${DK_MYSQL_USER:-dingkao}" --default-character-set=utf8mb4 \
        -N -B "${DK_MYSQL_DB:-dingkao}" -e "SET time_zone = '+00:00'; $1"
}

# Every run talks from its own loopback address (127.0.0.2-254), so that the per-address
# login counters of one test (or of an earlier run) never reach another.
SRC=127.0.0.$(( $(od -An -tu2 -N2 /dev/urandom) % 253 + 2 ))
curl() { command curl --interface "$SRC" "$@"; }

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# ---- servers ------------------------------------------------------------------------------
SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export DK_TOKEN_SECRET=$SECRET DK_DATA_DIR=$TMP/data DK_PROCTOR_INPROCESS=0 DK_HTTP_LOOPS=2
# the grey test photos have no face: run the face engine degraded on purpose ('none'; empty
# would load the models shipped in proctor/models)
export DK_PROCTOR_MODEL_DIR=none
export DK_LOGIN_MAX_FAILURES=${DK_LOGIN_MAX_FAILURES:-5}
mkdir -p "$TMP/data"

start_admind() {
    ADMIN_PORT=$(free_port)
    DK_ADMIN_PORT=$ADMIN_PORT "$ADMIND" >"$TMP/admind.log" 2>&1 &
    ADMIND_PID=$!
    PIDS+=("$ADMIND_PID")
    for _ in $(seq 150); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/healthz")" = 200 ] && return 0
        sleep 0.1
    done
    cat "$TMP/admind.log"
    fail "admind did not become healthy"
}

stop_admind() { # SIGTERM must end admind with 0 (under ASan: no leak either)
    kill -TERM "$ADMIND_PID"
    wait "$ADMIND_PID"
    local rc=$?
    [ $rc = 0 ] || { tail -40 "$TMP/admind.log"; fail "admind exited $rc after SIGTERM"; }
    grep -q "ERROR: LeakSanitizer" "$TMP/admind.log" && fail "admind leaked memory"
    return 0
}

start_examd() {
    EXAM_PORT=$(free_port)
    DK_EXAM_PORT=$EXAM_PORT "$EXAMD" >"$TMP/examd.log" 2>&1 &
    EXAMD_PID=$!
    PIDS+=("$EXAMD_PID")
    for _ in $(seq 150); do
        curl -s -o /dev/null "http://127.0.0.1:$EXAM_PORT/metrics" && return 0
        sleep 0.1
    done
    cat "$TMP/examd.log"
    fail "examd did not start"
}

stop_examd() {
    kill -TERM "$EXAMD_PID"
    wait "$EXAMD_PID" || fail "examd exited non-zero"
}

# ---- HTTP --------------------------------------------------------------------------------------
# api METHOD PATH [JSON] [TOKEN]: $code and $TMP/body
api() {
    local m=$1 p=$2 d=${3:-} t=${4:-${TOKEN:-}}
    local args=(-s -o "$TMP/body" -w '%{http_code}' -X "$m" "http://127.0.0.1:$ADMIN_PORT/api/v1$p")
    [ -n "$t" ] && args+=(-H "Authorization: Bearer $t")
    [ -n "$d" ] && args+=(-H 'Content-Type: application/json' --data-binary "$d")
    code=$(curl "${args[@]}")
    keep_activation_code
}
# An answer that shows an institution's one-time activation code (creation, reset): kept in
# $TMP/act/<code>, as the authority would write it down, for first_login.
keep_activation_code() {
    grep -q '"activation_code"' "$TMP/body" 2>/dev/null || return 0
    local c a
    c=$(jq -r '.code // empty' "$TMP/body") a=$(jq -r '.activation_code // empty' "$TMP/body")
    [ -n "$c" ] && [ -n "$a" ] && mkdir -p "$TMP/act" && echo "$a" >"$TMP/act/$c"
    return 0
}
# upload METHOD PATH FILE CONTENT_TYPE [TOKEN]
upload() {
    code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X "$1" "http://127.0.0.1:$ADMIN_PORT/api/v1$2" \
        -H "Authorization: Bearer ${5:-$TOKEN}" -H "Content-Type: $4" --data-binary "@$3")
}
exam() { # examd: exam METHOD PATH [JSON] TOKEN
    local args=(-s -o "$TMP/body" -w '%{http_code}' -X "$1" "http://127.0.0.1:$EXAM_PORT/api/v1$2"
                -H "Authorization: Bearer $4")
    [ -n "$3" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    code=$(curl "${args[@]}")
}
j() { jq -r "$1" "$TMP/body"; }
expect() { # expect CODE [what]
    [ "$code" = "$1" ] || fail "${2:-request}: HTTP $code, expected $1"
}
expect_msg() { # expect CODE substring-of-message [what]
    expect "$1" "${3:-}"
    j .error.message | grep -q -- "$2" || fail "${3:-request}: message '$(j .error.message)' lacks '$2'"
}
eq() { [ "$1" = "$2" ] || fail "${3:-value}: '$1', expected '$2'"; }

# login TYPE ACCOUNT PASSWORD [EXTRA_JSON_FIELDS] -> prints the token (solves the captcha
# through Redis when asked)
login() {
    local body="{\"type\":\"$1\",\"account\":\"$2\",\"password\":\"$3\"${4:+,$4}}"
    api POST /login "$body" ""
    if [ "$code" = 400 ] && [ "$(j .error.captcha_required)" = true ]; then
        api GET /captcha "" ""
        local cid; cid=$(j .captcha_id)
        local ans; ans=$(redis-cli -p "$DK_REDIS_PORT" GET "captcha:$cid")
        api POST /login "{\"type\":\"$1\",\"account\":\"$2\",\"password\":\"$3\",\"captcha_id\":\"$cid\",\"captcha_answer\":\"$ans\"${4:+,$4}}" ""
    fi
    [ "$code" = 200 ] || fail "login $1 $2: HTTP $code $(cat "$TMP/body")"
    j .token
}

# proof TYPE ACCOUNT -> the identity step of a first login as JSON fields: a physician's ID
# number and name on file, an institution's activation code as its creation or reset showed it
proof() {
    if [ "$1" = physician ]; then
        sql "SELECT id_number, name FROM physician WHERE (account = '$2' OR id_number = '$2')
             AND deleted_at IS NULL" | jq -Rr 'split("\t") | "\"id_number\":\(.[0] | tojson),\"name\":\(.[1] | tojson)"'
    else
        jq -Rr '"\"activation_code\":\(tojson)"' "$TMP/act/$2" 2>/dev/null || echo '"activation_code":"none"'
    fi
}

# first_login TYPE ACCOUNT -> logs in with 666666 and the proof of identity, changes the
# password to $PASSWORD, prints the token
first_login() {
    local t; t=$(login "$1" "$2" 666666 "$(proof "$1" "$2")")
    api POST /password "{\"old_password\":\"666666\",\"new_password\":\"$PASSWORD\"}" "$t"
    expect 200 "password change of $2"
    j .token
}

# ---- the world -----------------------------------------------------------------------------------
hash_of() { echo "$1" | "$ADMIND" --hash-password; }

# make_region NAME -> sets ${NAME}_PROV ${NAME}_CITY ${NAME}_COUNTY (codes), ${NAME}_*_ID and
# accounts t$RUN-NAME-prov/city/county with password $PASSWORD (no forced change)
make_region() {
    local name=$1 hash codes
    hash=$(hash_of "$PASSWORD")
    for _ in $(seq 20); do
        codes=$(for _ in 1 2 3; do printf '9%05d\n' $(( $(od -An -tu4 -N4 /dev/urandom) % 100000 )); done)
        [ "$(echo "$codes" | sort -u | wc -l)" = 3 ] || continue
        local in; in=$(echo "$codes" | sed "s/.*/'&'/" | paste -sd,)
        [ "$(sql "SELECT COUNT(*) FROM authority WHERE code IN ($in)")" = 0 ] && break
    done
    local p c k
    p=$(echo "$codes" | sed -n 1p); c=$(echo "$codes" | sed -n 2p); k=$(echo "$codes" | sed -n 3p)
    sql "INSERT INTO authority (parent_id, admin_level, code, name, contact_name, contact_phone)
           VALUES (NULL, 'province', '$p', '测试省$RUN$name', '省医政处', '0351-1');
         SET @p = LAST_INSERT_ID(); UPDATE authority SET path = CONCAT('/', @p, '/') WHERE id = @p;
         INSERT INTO authority (parent_id, admin_level, code, name) VALUES (@p, 'city', '$c', '测试市$RUN$name');
         SET @c = LAST_INSERT_ID(); UPDATE authority SET path = CONCAT('/', @p, '/', @c, '/') WHERE id = @c;
         INSERT INTO authority (parent_id, admin_level, code, name) VALUES (@c, 'county', '$k', '测试县$RUN$name');
         SET @k = LAST_INSERT_ID(); UPDATE authority SET path = CONCAT('/', @p, '/', @c, '/', @k, '/') WHERE id = @k;
         INSERT INTO authority_account (authority_id, username, display_name, password_hash, must_change_password)
           VALUES (@p, 't$RUN-$name-prov', '省管理员', '$hash', 0), (@c, 't$RUN-$name-city', '市管理员', '$hash', 0),
                  (@k, 't$RUN-$name-county', '县管理员', '$hash', 0);" || fail "cannot create the region"
    eval "${name}_PROV=$p ${name}_CITY=$c ${name}_COUNTY=$k"
    eval "${name}_PROV_ID=$(sql "SELECT id FROM authority WHERE code = '$p'")"
    eval "${name}_CITY_ID=$(sql "SELECT id FROM authority WHERE code = '$c'")"
    eval "${name}_COUNTY_ID=$(sql "SELECT id FROM authority WHERE code = '$k'")"
}

iso() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; } # iso '-1 day'

# make_cycle TOKEN -> $CYCLE_ID: every window open now
make_cycle() {
    api POST /cycles "{\"code\":\"T$RUN\",\"name\":\"测试周期 $RUN\",\"length_years\":3,
      \"period_start\":\"$(iso '-30 days')\",\"period_end\":\"$(iso '+700 days')\",
      \"assessor_apply_start\":\"$(iso '-10 days')\",\"assessor_apply_end\":\"$(iso '+30 days')\",
      \"registration_start\":\"$(iso '-10 days')\",\"registration_end\":\"$(iso '+30 days')\",
      \"inst_review_start\":\"$(iso '-10 days')\",\"inst_review_end\":\"$(iso '+40 days')\",
      \"assessor_review_start\":\"$(iso '-10 days')\",\"assessor_review_end\":\"$(iso '+45 days')\",
      \"test_start\":\"$(iso '-1 day')\",\"test_end\":\"$(iso '+60 days')\",
      \"makeup_start\":\"$(iso '-1 day')\",\"makeup_end\":\"$(iso '+90 days')\",
      \"withdraw_deadline\":\"$(iso '+20 days')\",\"status\":\"open\"}" "$1"
    expect 201 "create cycle"
    CYCLE_ID=$(j .id)
}

# new_id REGION_CODE -> a fresh valid 18-digit 居民身份证 number
new_id() {
    local w=(7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2) map=(1 0 X 9 8 7 6 5 4 3 2) id sum i
    for _ in $(seq 50); do
        local days=$(( $(od -An -tu4 -N4 /dev/urandom) % 14000 ))
        local birth; birth=$(date -u -d "1965-01-01 + $days days" +%Y%m%d)
        id="$1$birth$(printf '%03d' $(( $(od -An -tu4 -N4 /dev/urandom) % 1000 )))"
        sum=0
        for i in $(seq 0 16); do sum=$((sum + ${id:$i:1} * ${w[$i]})); done
        id="$id${map[$((sum % 11))]}"
        [ "$(sql "SELECT COUNT(*) FROM physician WHERE id_number = '$id'")" = 0 ] && { echo "$id"; return; }
    done
    fail "no free ID number"
}

# a valid 32x32 flat grey baseline JPEG (162 bytes): the smallest photo the proctor accepts
jpeg() {
    base64 -d >"$1" <<'B64'
/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB
AQEBAQEBAQEBAQEBAQEBAQH/wAALCAAgACABAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAA
AAD/2gAIAQEAAD8AAAAAAP/Z
B64
}

# ---- the workflow, as the pages drive it ------------------------------------------------------------------------------------
st() { sql "SELECT status FROM enrolment WHERE id = $1"; }
expect_status() { eq "$(st "$1")" "$2" "status of enrolment $1"; }
ver() { api GET "/enrolments/$1" "" "$2"; expect 200 "read enrolment $1"; j .enrolment.version; }
# act EID ACTION TOKEN [extra JSON fields]: with the current version (as the page read it)
act() {
    local v; v=$(sql "SELECT lock_version FROM enrolment WHERE id = $1")
    api POST "/enrolments/$1/actions/$2" "{\"version\":$v${4:+,$4}}" "$3"
}
xver() { sql "SELECT lock_version FROM exemption_request WHERE id = $1"; }
xact() { api POST "/exemptions/$1/actions/$2" "{\"version\":$(xver "$1")${4:+,$4}}" "$3"; }

# mkphys INST_TOKEN -> PID PACCT (a new physician of that institution, 临床)
mkphys() {
    local idn; idn=$(new_id "$A_COUNTY")
    api POST /institution/physicians "{\"name\":\"医师$RANDOM\",\"id_number\":\"$idn\",\"practice_level\":\"执业医师\",\"practice_category\":\"临床\",\"practice_scope\":\"内科专业\",\"first_registration_date\":\"2010-07-01\"}" "$1"
    expect 201 "add physician"
    PID=$(j .id)
    PACCT=$(j .account)
    PIDN=$idn
}
# enrol INST_TOKEN DEPT PROCEDURE -> PID, EID, PT (physician token): confirmed, registered
enrol() {
    [ -f "$TMP/photo.jpg" ] || jpeg "$TMP/photo.jpg"
    mkphys "$1"
    api POST "/institution/physicians/$PID/confirm" "" "$1"
    expect 201 "confirm participation"
    EID=$(j .id)
    eq "$(j .status)" 待报名 "status after 参加"
    PT=$(first_login physician "$PACCT")
    api PUT /physician/profile "{\"department_id\":$2,\"specialty\":\"心血管内科\",\"title\":\"中级（主治）\",\"mobile\":\"13800000000\",\"experience\":[{\"start_date\":\"2010-07-01\",\"institution_name\":\"测试医院\",\"department\":\"内科\",\"position\":\"住院医师\"}]}" "$PT"
    expect 200 "profile"
    upload PUT /physician/photo "$TMP/photo.jpg" image/jpeg "$PT"
    expect 200 "registered photo"
    api PUT /physician/registration "{\"procedure_type\":\"$3\",\"sa_patient_visits\":2000,\"sa_operations\":0,\"sa_work_text\":\"完成门诊和病房工作\",\"sa_ethics_text\":\"遵守职业道德\",\"sa_simple_condition\":\"省级以上卫生行政部门规定的其他情形\",\"sa_good_record\":true,\"sa_bad_record\":false}" "$PT"
    expect 200 "registration"
}
submit() { api POST "/enrolments/$1/actions/submit" '{}' "$2"; expect 200 "submit $1"; }
inst_pass() { act "$1" inst_pass "$H1" '"work_result":"合格","ethics_result":"合格","quantity_result":"合格","reviewer_name":"李审核"'; }

# answer_right TOKEN SID: answers every question of the session with the keys its
# questions have in the bank (a published question row never changes: the paper's keys)
answer_right() {
    local enc items ids
    enc=$(sql "SELECT JSON_UNQUOTE(JSON_EXTRACT(paper_json, '\$.enc')) FROM exam_session WHERE id = '$2'")
    items=$(echo "$enc" | cut -d';' -f5)
    ids=$(echo "$items" | tr ',' '\n' | cut -d: -f1 | sed "s/.*/'&'/" | paste -sd,)
    sql "SELECT id, answer FROM qb_question WHERE id IN ($ids)" >"$TMP/keys"
    echo "$items" | tr ',' '\n' |
        awk 'NR == FNR { k[$1] = $2; next }
             { a = k[$1]; out = ""
               for (i = 1; i <= length(a); i++) out = out sprintf("%c", 64 + index($2, substr(a, i, 1)))
               print FNR, out }' FS='\t' "$TMP/keys" FS=':' - >"$TMP/answers"
    while read -r n choice; do
        exam PUT "/sessions/$2/answers/$n" "{\"choice\":\"$choice\"}" "$1"
        expect 200 "answer $n"
    done <"$TMP/answers"
}

# sit TOKEN PAPER pass|fail: one sitting in examd (pass = the right answers from the bank)
sit() {
    exam POST /sessions "{\"paper\":\"$2\"}" "$1"
    [ "$code" = 200 ] || [ "$code" = 201 ] || fail "start $2: HTTP $code $(cat "$TMP/body")"
    SID=$(j .session_id)
    [ "$3" = pass ] && answer_right "$1" "$SID"
    exam POST "/sessions/$SID/submit" "" "$1"
    expect 200 "submit session"
    local passed; passed=$(sql "SELECT passed FROM exam_result WHERE session_id = '$SID'")
    [ "$3" = pass ] && [ "$passed" != 1 ] && fail "sitting $2 with the right answers did not pass"
    [ "$3" = fail ] && [ "$passed" != 0 ] && fail "an empty sitting passed"
    return 0
}

# passed through the reviews to 待参加考核 (simple procedure)
to_tests() {
    enrol "$H1" "$DEPT" 简易程序
    submit "$EID" "$PT"
    act "$EID" inst_pass "$H1" '"work_result":"合格","ethics_result":"合格"'
    expect 200
    act "$EID" assessor_pass "$H2"
    expect 200
    expect_status "$EID" 待参加考核
}

# a 简易程序 physician of H1 with 人文医学 exempted, through every review but the 考核机构's
# last one (act "$EID" assessor_pass "$H2" ends it 考核完成 合格): EID PT PID PIDN as enrol
# sets them, XID the exemption request
exempted_to_last_review() {
    enrol "$H1" "$DEPT" 简易程序
    api POST /physician/exemption '{"exemption_type":"其他情形"}' "$PT"
    expect 201 "exemption"
    XID=$(j .id)
    submit "$EID" "$PT"
    xact "$XID" inst_pass "$H1"
    expect 200
    inst_pass "$EID"
    expect 200
    xact "$XID" assessor_pass "$H2"
    expect 200
}

# setup_world: region A (PROV CITY COUNTY tokens), an open cycle, institutions H1 and H2
# (H2 an approved 考核机构 assigned to H1: tokens H1 H2, ids H1_ID H2_ID), department DEPT of H1
setup_world() {
    make_region A
    PROV=$(login authority "t$RUN-A-prov" "$PASSWORD")
    CITY=$(login authority "t$RUN-A-city" "$PASSWORD")
    COUNTY=$(login authority "t$RUN-A-county" "$PASSWORD")
    make_cycle "$PROV"
    for n in 1 2; do
        api POST /authority/institutions "{\"name\":\"测试医院$n-$RUN\",\"inst_type\":\"医院\"}" "$COUNTY"
        expect 201 "institution $n"
        eval "H${n}_ID=$(j .id) H${n}_CODE=$(j .code)"
    done
    H1=$(first_login institution "$H1_CODE")
    H2=$(first_login institution "$H2_CODE")
    api POST "/authority/institutions/$H2_ID/apply-right" '{"can_apply":true}' "$COUNTY"
    expect 200 "apply right"
    api POST /institution/assessor-applications '{"note":"申请"}' "$H2"
    expect 201 "application"
    api POST "/authority/applications/$(j .id)/actions/approve" '{}' "$COUNTY"
    expect 200 "approval"
    api POST /authority/assignments "{\"institution_id\":$H1_ID,\"assessor_id\":$H2_ID}" "$COUNTY"
    expect 200 "assignment"
    api POST /institution/departments "{\"name\":\"内科\",\"subject_ids\":[$(sql "SELECT id FROM subject WHERE code = '03'")]}" "$H1"
    expect 201 "department"
    DEPT=$(j .id)
}
