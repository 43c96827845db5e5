# tests/lib/fixture.sh - shared helpers of the integration tests (bash; source it).
#
# Integration tests run in parallel (ctest -j2) against one shared Redis and MariaDB,
# next to other modules' tests. So a test never flushes anything: it creates its own
# physicians (fx_new_physician), starts its own examd processes on ephemeral ports
# (fx_examd_start), talks to them from its own loopback source address (so that the
# per-address login limit of one test never locks out another), and on exit kills
# what it started and deletes the rows and Redis keys of its physicians (set
# FX_KEEP=1 to keep them for a post-mortem).
#
#   fx_init NAME EXAMD        checks the tools, the stack and the demo data (exit 77 and
#                             says what is missing), makes $FX_TMP, sets the EXIT trap
#   fx_sql SQL                runs SQL (UTC), tab-separated rows without headers
#   fx_redis ARGS...          redis-cli on the stack's Redis (--raw)
#   fx_password_hash [PW]     argon2id hash of PW (default $FX_PASSWORD), once per run
#   fx_new_physician [MUST_CHANGE] [PW]
#                             a physician of institution 140105H00001 (practice category
#                             临床) with an enrolment in the demo cycle (待参加考核,
#                             一般程序); prints "ID ACCOUNT"
#   fx_examd_start NAME [VAR=VALUE...]   an examd on an ephemeral port, waits until its
#                             /healthz is 200; sets FX_URL[NAME], FX_PID[NAME], FX_LOG[NAME]
#   fx_examd_stop NAME        SIGTERM; the exit code must be 0 (under ASan: no leak)
#   fx_examd_kill9 NAME       kill -9, no questions asked
#   fx_call NAME METHOD PATH [BODY|@FILE] [TOKEN]
#                             one request (from $FX_SRC, with $FX_EXTRA_HEADER if set);
#                             sets FX_CODE, FX_BODY and FX_HDRS (a file)
#   fx_login NAME ACCOUNT [PW]   prints the token (fails the test if login fails)
#   fx_keys SID               per question of the session's paper, from MariaDB (the key
#                             in original letters mapped through the displayed order):
#                             "NO QTYPE RIGHT WRONG NOPTS QID", RIGHT/WRONG in display letters
#   checks: fx_expect_code, fx_expect_error, fx_expect_eq, fx_check (record a failure and
#   go on), fx_fatal (record and stop); fx_finish prints PASS or the failures.
set -u

FX_INST_CODE=140105H00001
FX_PASSWORD='Passw0rd!x'
: "${DK_REDIS_PORT:=16379}" "${DK_MYSQL_PORT:=13306}"
export DK_REDIS_PORT DK_MYSQL_PORT
FX_MYSQL=(mariadb --protocol=TCP -h 127.0.0.1 -P "$DK_MYSQL_PORT" -u "${DK_MYSQL_USER:-dingkao}"
          "-p${DK_MYSQL_PASSWORD:-dingkao-dev}" "${DK_MYSQL_DB:-dingkao}")
FX_FAILURES=0
FX_TMP=
FX_SRC=127.0.0.1
declare -A FX_PID=() FX_URL=() FX_LOG=()

fx_skip() { echo "SKIP: $*"; exit 77; }
fx_now_ms() { date +%s%3N; }

fx_fail_msg() { # records one failed check
    FX_FAILURES=$((FX_FAILURES + 1))
    echo "FAIL: $*"
}

fx_fatal() {
    if [ "$BASH_SUBSHELL" -gt 0 ]; then # in $(...) or <(...): tell the test itself to stop
        echo "FAIL: $*" >&2
        kill -USR1 $$
        exit 1
    fi
    fx_fail_msg "$@"
    echo "FAIL: $FX_NAME stopped at the failure above"
    exit 1
}

fx_check() { # DESC CMD... : records a failure unless CMD succeeds
    local desc=$1
    shift
    "$@" || fx_fail_msg "$desc"
}

fx_expect_eq() { # GOT WANT DESC
    [ "$1" = "$2" ] || fx_fail_msg "$3: got '$1', want '$2'"
}

fx_expect_code() { # WANT DESC
    [ "$FX_CODE" = "$1" ] || fx_fail_msg "$2: HTTP $FX_CODE, want $1; body: ${FX_BODY:0:300}"
}

# WANT DESC [MESSAGE_SUBSTRING]: status WANT with a JSON body {"error":{"code","message"}}
fx_expect_error() {
    if [ "$FX_CODE" != "$1" ]; then
        fx_fail_msg "$2: HTTP $FX_CODE, want $1; body: ${FX_BODY:0:300}"
        return
    fi
    if ! grep -qi '^content-type: *application/json' "$FX_HDRS" ||
        ! jq -e '(.error.code|type=="string" and length>0) and (.error.message|type=="string" and length>0)' \
            <<<"$FX_BODY" >/dev/null 2>&1; then
        fx_fail_msg "$2: HTTP $1 without a JSON error body: $(grep -i '^content-type' "$FX_HDRS" | tr -d '\r') ${FX_BODY:0:200}"
        return
    fi
    if [ $# -ge 3 ] && [[ $(jq -r .error.message <<<"$FX_BODY") != *"$3"* ]]; then
        fx_fail_msg "$2: error message '$(jq -r .error.message <<<"$FX_BODY")' does not say '$3'"
    fi
}

fx_finish() {
    if [ "$FX_FAILURES" -gt 0 ]; then
        echo "FAIL: $FX_NAME: $FX_FAILURES check(s) failed"
        exit 1
    fi
    echo "PASS: $FX_NAME"
    exit 0
}

fx_sql() { "${FX_MYSQL[@]}" -N -B --init-command="SET time_zone='+00:00'" -e "$1"; }
fx_redis() { redis-cli -p "$DK_REDIS_PORT" --raw "$@"; }

fx_init() { # NAME EXAMD
    FX_NAME=$1
    FX_EXAMD=$2
    local t
    for t in curl jq mariadb redis-cli openssl; do
        command -v "$t" >/dev/null || fx_skip "$t is not installed"
    done
    [ -x "$FX_EXAMD" ] || fx_skip "examd is not built at $FX_EXAMD"
    [ "$(fx_redis ping 2>/dev/null)" = PONG ] ||
        fx_skip "the test stack's Redis is not reachable on port $DK_REDIS_PORT (deploy/stack.sh up)"
    fx_sql "SELECT 1" >/dev/null 2>&1 ||
        fx_skip "the test stack's MariaDB is not reachable on port $DK_MYSQL_PORT (deploy/stack.sh up)"
    local n
    n=$(fx_sql "SELECT COUNT(*) FROM institution WHERE code = '$FX_INST_CODE'" 2>/dev/null)
    [ "$n" = 1 ] || fx_skip "the demo institution $FX_INST_CODE is missing (run deploy/demo/load.sh)"
    n=$(fx_sql "SELECT COUNT(*) FROM cycle c JOIN authority a ON a.id = c.authority_id
                WHERE a.code = '140000' AND c.code = '01' AND c.status = 'open'
                AND c.test_start <= NOW(3) AND c.test_end > NOW(3) + INTERVAL 2 HOUR" 2>/dev/null)
    [ "$n" = 1 ] || fx_skip "the demo cycle '01' with an open test window is missing (run deploy/demo/load.sh)"
    n=$(fx_sql "SELECT COUNT(*) FROM qb_blueprint WHERE category = '临床'" 2>/dev/null)
    [ "$n" = 2 ] || fx_skip "the question bank has no 临床 blueprints (run deploy/demo/load.sh)"
    FX_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dk-$FX_NAME.XXXXXX")
    : >"$FX_TMP/physicians"
    trap fx_cleanup EXIT
    trap 'echo "FAIL: $FX_NAME stopped at the failure above"; exit 1' USR1
    # a loopback source address of our own: the per-address login counter is ours alone
    local src="127.$((RANDOM % 250 + 2)).$((RANDOM % 254 + 1)).$((RANDOM % 254 + 1))"
    if curl -s -o /dev/null --max-time 2 --interface "$src" "http://127.0.0.1:1/" 2>/dev/null ||
        [ $? -ne 45 ]; then
        FX_SRC=$src
    fi
    # one signing key for every node of this test, so a token works on all of them
    FX_SECRET=$(openssl rand -hex 32)
}

fx_cleanup() {
    local rc=$?
    local name pid
    for name in "${!FX_PID[@]}"; do
        pid=${FX_PID[$name]}
        kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -n "$FX_TMP" ]; then
        for name in "${!FX_LOG[@]}"; do
            echo "---- last lines of examd $name (${FX_LOG[$name]})"
            tail -n 25 "${FX_LOG[$name]}" 2>/dev/null
        done
    fi
    if [ -n "$FX_TMP" ] && [ -s "$FX_TMP/physicians" ]; then
        if [ "${FX_KEEP:-0}" = 1 ]; then
            echo "kept physicians: $(tr '\n' ' ' <"$FX_TMP/physicians")"
        else
            fx_delete_physicians $(cat "$FX_TMP/physicians")
        fi
    fi
    [ "$FX_SRC" != 127.0.0.1 ] && fx_redis del "rl:login:ips:$FX_SRC" >/dev/null 2>&1
    [ -n "$FX_TMP" ] && rm -rf "$FX_TMP"
    exit "$rc"
}

# Deletes physicians made by fx_new_physician with their sessions, in Redis and MariaDB.
fx_delete_physicians() {
    local pid sid ids
    ids=$(IFS=,; echo "$*")
    [ -n "$ids" ] || return 0
    for sid in $(fx_sql "SELECT id FROM exam_session WHERE physician_id IN ($ids)"); do
        fx_redis del "sess:{$sid}" "sess:{$sid}:ans" "sess:{$sid}:dep" "sess:{$sid}:dev" >/dev/null
        fx_redis zrem exam:deadlines "$sid" >/dev/null
        fx_redis srem exam:dirty "$sid" >/dev/null
        fx_redis srem exam:idirty "$sid" >/dev/null
        fx_redis zrem proctor:due "$sid" >/dev/null
    done
    for pid in "$@"; do
        fx_redis del "live:$pid" >/dev/null # the physician's resume index (dom_key_live)
        fx_redis --scan --pattern "live:$pid:*" | while read -r k; do fx_redis del "$k" >/dev/null; done
    done
    fx_sql "
        SET @ids = '$ids';
        DELETE FROM audit_log WHERE entity_type = 'exam_session' AND entity_id IN
            (SELECT id FROM exam_session WHERE FIND_IN_SET(physician_id, @ids));
        DELETE FROM audit_log WHERE entity_type = 'enrolment' AND entity_id IN
            (SELECT id FROM enrolment WHERE FIND_IN_SET(physician_id, @ids));
        DELETE FROM audit_log WHERE (entity_type = 'physician' AND FIND_IN_SET(entity_id, @ids))
            OR (actor_type = 'physician' AND FIND_IN_SET(actor_id, @ids));
        DELETE FROM enrolment_test WHERE enrolment_id IN
            (SELECT id FROM enrolment WHERE FIND_IN_SET(physician_id, @ids));
        DELETE FROM exam_result WHERE session_id IN
            (SELECT id FROM exam_session WHERE FIND_IN_SET(physician_id, @ids));
        DELETE FROM exam_answer WHERE session_id IN
            (SELECT id FROM exam_session WHERE FIND_IN_SET(physician_id, @ids));
        DELETE FROM proctor_suspect WHERE session_id IN
            (SELECT id FROM exam_session WHERE FIND_IN_SET(physician_id, @ids));
        DELETE FROM proctor_capture WHERE session_id IN
            (SELECT id FROM exam_session WHERE FIND_IN_SET(physician_id, @ids));
        DELETE FROM exam_departure WHERE session_id IN
            (SELECT id FROM exam_session WHERE FIND_IN_SET(physician_id, @ids));
        DELETE FROM exam_device WHERE session_id IN
            (SELECT id FROM exam_session WHERE FIND_IN_SET(physician_id, @ids));
        DELETE FROM exam_session WHERE FIND_IN_SET(physician_id, @ids);
        DELETE FROM enrolment WHERE FIND_IN_SET(physician_id, @ids);
        DELETE FROM physician WHERE FIND_IN_SET(id, @ids);" ||
        echo "note: could not delete the test physicians $ids"
}

fx_password_hash() { # [PW] -> argon2id hash, computed once per password and test run
    local pw=${1:-$FX_PASSWORD} f
    f="$FX_TMP/hash.$(printf '%s' "$pw" | sha256sum | cut -c1-16)"
    if [ ! -s "$f" ]; then
        printf '%s\n' "$pw" | "$FX_EXAMD" --hash-password >"$f" 2>/dev/null ||
            fx_fatal "examd --hash-password failed"
    fi
    cat "$f"
}

fx_digits() { # N random digits
    local s=""
    while [ ${#s} -lt "$1" ]; do s+=$(od -An -N4 -tu4 /dev/urandom | tr -dc 0-9); done
    printf '%s' "${s:0:$1}"
}

fx_new_physician() { # [MUST_CHANGE 0|1] [PASSWORD] -> "ID ACCOUNT"
    local must=${1:-0} pw=${2:-$FX_PASSWORD} hash try suffix acct idn out
    hash=$(fx_password_hash "$pw")
    for try in $(seq 30); do
        suffix=$(printf '%05d' $((10#$(fx_digits 6) % 90000 + 10000)))
        acct="$FX_INST_CODE$suffix"
        idn="99$(fx_digits 16)"
        out=$("${FX_MYSQL[@]}" -N -B 2>&1 <<SQL
SET time_zone = '+00:00';
START TRANSACTION;
SET @inst = (SELECT id FROM institution WHERE code = '$FX_INST_CODE');
SET @cycle = (SELECT c.id FROM cycle c JOIN authority a ON a.id = c.authority_id
              WHERE a.code = '140000' AND c.code = '01');
INSERT INTO physician (id_number, name, sex, birth_date, account, password_hash,
                       must_change_password, institution_id, practice_level, practice_category,
                       practice_scope, title, first_registration_date)
VALUES ('$idn', '测试医师$suffix', '女', '1985-05-05', '$acct', '$hash', $must, @inst,
        '执业医师', '临床', '内科专业', '中级', '2010-07-01');
SET @pid = LAST_INSERT_ID();
INSERT INTO enrolment (cycle_id, physician_id, institution_id, assessor_id, status,
                       procedure_type, submitted_at)
VALUES (@cycle, @pid, @inst, (SELECT assessor_id FROM assessor_assignment
                              WHERE institution_id = @inst AND cycle_id = @cycle),
        '待参加考核', '一般程序', NOW(3));
COMMIT;
SELECT @pid;
SQL
        )
        if [[ $out =~ ^[0-9]+$ ]]; then
            echo "$out" >>"$FX_TMP/physicians"
            echo "$out $acct"
            return 0
        fi
        [[ $out == *"Duplicate entry"* ]] || fx_fatal "cannot insert a physician: $out"
    done
    fx_fatal "no free physician account after 30 tries"
}

# ---- examd processes ---------------------------------------------------------------------

# A new physician (no forced password change) who logs in on NODE and starts PAPER
# (业务水平): sets FX_P (the physician's id), FX_TOKEN and FX_SID; FX_BODY is the start's reply.
fx_sitting() { # NODE [PAPER]
    local acct
    read -r FX_P acct < <(fx_new_physician 0)
    [ -n "${FX_P:-}" ] || fx_fatal "could not create a physician"
    FX_TOKEN=$(fx_login "$1" "$acct")
    fx_call "$1" POST /api/v1/sessions "{\"paper\":\"${2:-业务水平}\"}" "$FX_TOKEN"
    [ "$FX_CODE" = 200 ] || fx_fatal "start on $1: HTTP $FX_CODE $FX_BODY"
    FX_SID=$(jq -r .session_id <<<"$FX_BODY")
}

fx_examd_start() { # NAME [VAR=VALUE...]
    local name=$1
    shift
    local log="$FX_TMP/examd-$name.log"
    # defaults: ephemeral port, two loops, the test's signing key, and sweepers that stay
    # out of the way (so that they never take another test's sessions: the tests about
    # the sweepers set DK_SWEEPER_PERIOD_MS / DK_ORPHAN_SWEEP_PERIOD_MS), and the face
    # engine degraded on purpose (the grey test captures have no face; empty would load the
    # models shipped in proctor/models)
    env DK_EXAM_PORT=0 DK_HTTP_LOOPS=2 DK_TOKEN_SECRET="$FX_SECRET" DK_SWEEPER_PERIOD_MS=600000 \
        DK_ORPHAN_SWEEP_PERIOD_MS=600000 DK_LOG_LEVEL=info DK_PROCTOR_MODEL_DIR=none "$@" \
        "$FX_EXAMD" >>"$log" 2>&1 &
    local pid=$!
    FX_PID[$name]=$pid
    FX_LOG[$name]=$log
    local port="" i
    for i in $(seq 600); do # 60 s: an ASan build on a loaded machine starts slowly
        port=$(sed -n 's/.*listening host=[^ ]* port=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] || { tail -n 30 "$log"; fx_fatal "examd $name did not start"; }
    FX_URL[$name]="http://127.0.0.1:$port"
    for i in $(seq 300); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${FX_URL[$name]}/healthz")" = 200 ] &&
            return 0
        sleep 0.1
    done
    fx_fatal "examd $name does not report healthy: $(curl -s "${FX_URL[$name]}/healthz")"
}

fx_examd_stop() { # NAME: SIGTERM, the exit code must be 0
    local name=$1 pid=${FX_PID[$1]} rc
    kill -TERM "$pid" 2>/dev/null
    local i
    for i in $(seq 900); do # 90 s, then it is hung: kill -9
        fx_exited "$pid" && break
        sleep 0.1
    done
    fx_exited "$pid" || { echo "examd $name hangs after SIGTERM"; kill -9 "$pid"; }
    wait "$pid"
    rc=$?
    unset 'FX_PID[$name]'
    if [ "$rc" != 0 ]; then
        tail -n 40 "${FX_LOG[$name]}"
        fx_fail_msg "examd $name exited $rc after SIGTERM (under ASan: a leak or an error above)"
    fi
}

fx_exited() { # PID: gone or a zombie (not yet reaped by wait)
    [ ! -e "/proc/$1/stat" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

fx_examd_kill9() {
    local name=$1 pid=${FX_PID[$1]}
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    unset 'FX_PID[$name]'
}

# ---- HTTP ---------------------------------------------------------------------------------

fx_call() { # NAME METHOD PATH [BODY|@FILE] [TOKEN]
    local name=$1 method=$2 path=$3 body=${4-} tok=${5-}
    FX_HDRS="$FX_TMP/headers"
    local args=(-s --max-time 30 --interface "$FX_SRC" -X "$method" -o "$FX_TMP/body"
                -D "$FX_HDRS" -w '%{http_code}')
    [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
    [ -n "${FX_EXTRA_HEADER:-}" ] && args+=(-H "$FX_EXTRA_HEADER")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    FX_CODE=$(curl "${args[@]}" "${FX_URL[$name]}$path")
    FX_BODY=$(cat "$FX_TMP/body" 2>/dev/null)
}

fx_login() { # NAME ACCOUNT [PW] -> token (666666: with the identity step, ID number and name)
    local body
    body=$(jq -cn --arg a "$2" --arg p "${3:-$FX_PASSWORD}" '{account:$a,password:$p}')
    if [ "${3:-}" = 666666 ]; then
        body=$("${FX_MYSQL[@]}" -N -B -e "SELECT id_number, name FROM physician WHERE account = '$2'
                                        OR id_number = '$2'" |
            jq -cR --argjson b "$body" 'split("\t") | $b + {id_number: .[0], name: .[1]}')
    fi
    fx_call "$1" POST /api/v1/login "$body"
    [ "$FX_CODE" = 200 ] || fx_fatal "login of $2 on $1: HTTP $FX_CODE $FX_BODY"
    jq -r .token <<<"$FX_BODY"
}

fx_header() { # NAME -> value of that header of the last response
    grep -i "^$1:" "$FX_HDRS" | head -n 1 | cut -d: -f2- | tr -d ' \r'
}

fx_metric() { # NODE METRIC -> its value (0 when absent)
    local v
    v=$(curl -s --max-time 10 "${FX_URL[$1]}/metrics" | awk -v m="$2" '$1 == m {print $2}' | head -n 1)
    printf '%.0f' "${v:-0}"
}

# ---- the paper of a session ------------------------------------------------------------------

fx_keys() { # SID -> "NO QTYPE RIGHT WRONG NOPTS QID" per question, in question order
    local sid=$1 enc
    enc=$(fx_sql "SELECT JSON_UNQUOTE(JSON_EXTRACT(paper_json, '\$.enc')) FROM exam_session WHERE id = '$sid'")
    [ -n "$enc" ] || fx_fatal "session $sid has no paper_json in MariaDB"
    local items ids
    items=$(cut -d';' -f5- <<<"$enc" | tr ',' '\n')
    ids=$(cut -d: -f1 <<<"$items" | sed "s/.*/'&'/" | paste -sd,)
    fx_sql "SELECT id, qtype, answer FROM qb_question WHERE id IN ($ids)" >"$FX_TMP/qkeys"
    awk -F'\t' '
        NR == FNR { qt[$1] = $2; key[$1] = $3; next }
        {
            split($0, p, ":"); id = p[1]; ord = p[2]; n = length(ord)
            right = ""
            for (d = 1; d <= n; d++)
                if (index(key[id], substr(ord, d, 1))) right = right substr("ABCDEFGHIJ", d, 1)
            if (length(right) > 1) wrong = substr(right, 1, 1)
            else for (d = 1; d <= n; d++) {
                wrong = substr("ABCDEFGHIJ", d, 1)
                if (wrong != right) break
            }
            print FNR, qt[id], right, wrong, n, id
        }' "$FX_TMP/qkeys" - <<<"$items"
}

# Saves many answers over one keep-alive connection (one curl for the lot).
# NODE SID TOKEN FILE: FILE has "NO CHOICE" lines (an empty CHOICE clears). Every answer
# must be acknowledged (200, the choice echoed); the acknowledged ones are appended to
# $FX_TMP/acked.SID as "NO CHOICE".
fx_put_answers() {
    local node=$1 sid=$2 tok=$3 file=$4 cfg="$FX_TMP/curl.cfg" no c i=0
    : >"$cfg"
    rm -rf "$FX_TMP/put" && mkdir -p "$FX_TMP/put"
    while read -r no c; do
        [ $i -gt 0 ] && printf 'next\n' >>"$cfg"
        i=$((i + 1))
        printf 'url = "%s/api/v1/sessions/%s/answers/%s"\nrequest = "PUT"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata-binary = "{\\"choice\\":\\"%s\\"}"\noutput = "%s/put/%d"\nwrite-out = "%%{http_code} %s %s\\n"\ninterface = "%s"\nmax-time = 30\nsilent\n' \
            "${FX_URL[$node]}" "$sid" "$no" "$tok" "${c-}" "$FX_TMP" "$i" "$no" "${c-}" "$FX_SRC" >>"$cfg"
    done <"$file"
    [ "$i" -gt 0 ] || return 0
    curl -K "$cfg" >"$FX_TMP/put/codes"
    local code got k=0 bad=0
    while read -r code no c; do
        k=$((k + 1))
        got=$(sed -n 's/.*"choice":"\([^"]*\)".*/\1/p' "$FX_TMP/put/$k")
        if [ "$code" = 200 ] && [ "$got" = "${c-}" ]; then
            echo "$no ${c-}" >>"$FX_TMP/acked.$sid"
        else
            bad=$((bad + 1))
            [ $bad -le 5 ] && fx_fail_msg "answer $no='${c-}': HTTP $code $(cat "$FX_TMP/put/$k" 2>/dev/null)"
        fi
    done <"$FX_TMP/put/codes"
    [ "$k" = "$i" ] || fx_fail_msg "$i answers sent, $k replies"
    [ $bad = 0 ]
}

fx_grey_jpeg() { # FILE: a valid 32x32 flat grey baseline JPEG, the smallest photo the proctor accepts
    base64 -d >"$1" <<'B64'
/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB
AQEBAQEBAQEBAQEBAQEBAQH/wAALCAAgACABAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAA
AAD/2gAIAQEAAD8AAAAAAP/Z
B64
}

fx_post_jpeg() { # NODE PATH TOKEN FILE: POST the file as image/jpeg; sets FX_CODE, FX_BODY, FX_HDRS
    FX_HDRS="$FX_TMP/headers"
    FX_CODE=$(curl -s --max-time 30 --interface "$FX_SRC" -X POST -o "$FX_TMP/body" -D "$FX_HDRS" \
        -w '%{http_code}' -H "Authorization: Bearer $3" -H 'Content-Type: image/jpeg' \
        --data-binary "@$4" "${FX_URL[$1]}$2")
    FX_BODY=$(cat "$FX_TMP/body" 2>/dev/null)
}

fx_blueprint() { # PAPER -> "QUESTION_COUNT PASS_MARK DURATION_MS" of the 临床 blueprint
    fx_sql "SELECT question_count, pass_mark, duration_min * 60000 FROM qb_blueprint
            WHERE category = '临床' AND paper = '$1'" | tr '\t' ' '
}

# Number of examd processes not started by this test that may share our Redis (their
# sweepers compete for our sessions): those with our DK_REDIS_PORT, or a --config file,
# or an environment we cannot read.
fx_foreign_examds() {
    local n=0 pid mine env
    for pid in $(pgrep -x examd 2>/dev/null); do
        mine=0
        for p in "${FX_PID[@]}"; do [ "$p" = "$pid" ] && mine=1; done
        [ $mine = 1 ] && continue
        if ! env=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null); then n=$((n + 1)); continue; fi
        if grep -qx "DK_REDIS_PORT=$DK_REDIS_PORT" <<<"$env" ||
            { [ "$DK_REDIS_PORT" = 16379 ] && ! grep -q '^DK_REDIS_PORT=' <<<"$env"; } ||
            tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- '--config' ||
            grep -q '^DK_CONFIG=' <<<"$env"; then
            n=$((n + 1))
        fi
    done
    echo "$n"
}
