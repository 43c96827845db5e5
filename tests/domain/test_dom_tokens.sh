#!/usr/bin/env bash
# Token revocation (domain/dom_token, issue 12 finding 2) through both servers, against
# the real stack. For each trigger, a token issued before it is refused (401) by examd
# and by admind within 5 s, while the token the change returns, or one issued after, works:
# 1. a password change on examd (the must-change token of the first login ends too);
# 2. a password change on admind;
# 3. a reset by the institution (and the must-change token of the next login works);
# 4. a logout on examd, then 5. a logout on admind (each audited as "logout");
# 6. an institution's logout and its reset by the authority;
# 7. 离岗, and 8. a transfer in (the account's valid-after time moves);
# 9. a node started after the revocations refuses the revoked tokens at once;
# 10. fail closed: a node whose Redis is gone refuses tokens with 503 once its table is
#     older than token_revocation_stale_s, and not before the revocation could be missed;
# 11. a Redis that lost its data (here: a new, empty one): a node started on it publishes the
#     revocations again from MariaDB before it accepts any token, so every revoked token is
#     still refused (before, the empty set let them all in for the rest of their 12 hours).
# Before dom_token every old token kept working for its 12 hours (steps 1-8 fail), and
# nodes did not look at Redis for tokens at all (step 10 fails).
ADMIND=$1
EXAMD=$2
export DK_TOKEN_REVOCATION_STALE_S=3
. "$(dirname "$0")/../admin/lib.sh"
need
[ -x "$EXAMD" ] || { echo "SKIP: examd is not built at $EXAMD"; exit 77; }
command -v redis-server >/dev/null || { echo "SKIP: redis-server is not installed"; exit 77; }
start_admind
start_examd
PW2='Other#2024pw'
PW3='Third#2024pw'

# elogin ACCOUNT PASSWORD [PORT] -> prints examd's token (with the initial password, the
# identity step of a first login too)
elogin() {
    local extra=""
    [ "$2" = 666666 ] && extra=",$(proof physician "$1")"
    code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST "http://127.0.0.1:${3:-$EXAM_PORT}/api/v1/login" \
        -H 'Content-Type: application/json' --data-binary "{\"account\":\"$1\",\"password\":\"$2\"$extra}")
    [ "$code" = 200 ] || fail "examd login $1: HTTP $code $(cat "$TMP/body")"
    j .token
}
# acode TOKEN / ecode TOKEN [PORT]: the status of admind's GET /me (allowed to must-change
# tokens) and examd's GET /tests
acode() { command curl -s -o /dev/null -w '%{http_code}' --interface "$SRC" -H "Authorization: Bearer $1" \
    "http://127.0.0.1:$ADMIN_PORT/api/v1/me"; }
ecode() { command curl -s -o /dev/null -w '%{http_code}' --interface "$SRC" -H "Authorization: Bearer $1" \
    "http://127.0.0.1:${2:-$EXAM_PORT}/api/v1/tests"; }
# gone TOKEN WHAT [a]: refused (401) by admind and (unless a) by examd within 5 s
gone() {
    local a e
    for _ in $(seq 50); do
        a=$(acode "$1")
        e=401
        [ "${3:-}" = a ] || e=$(ecode "$1")
        [ "$a" = 401 ] && [ "$e" = 401 ] && return 0
        sleep 0.1
    done
    fail "$2: the earlier token still gets admind $a, examd $e after 5 s (expected 401 on both)"
}
# works TOKEN WHAT [a]: accepted by admind and (unless a) by examd
works() {
    local a e=200
    a=$(acode "$1")
    [ "${3:-}" = a ] || e=$(ecode "$1")
    [ "$a" = 200 ] && [ "$e" = 200 ] || fail "$2: admind $a, examd $e (expected 200 on both)"
}
epassword() { # TOKEN OLD NEW -> prints the new token
    code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST "http://127.0.0.1:$EXAM_PORT/api/v1/password" \
        -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
        --data-binary "{\"old_password\":\"$2\",\"new_password\":\"$3\"}")
    [ "$code" = 200 ] || fail "examd password change: HTTP $code $(cat "$TMP/body")"
    j .token
}
va() { sql "SELECT tokens_valid_after FROM $1 WHERE id = $2" 2>/dev/null; }

step "a region, two institutions and a physician"
make_region A
COUNTY=$(login authority "t$RUN-A-county" "$PASSWORD")
api POST /authority/institutions "{\"name\":\"令牌测试医院$RUN\",\"inst_type\":\"医院\"}" "$COUNTY"
expect 201 "institution"
HCODE=$(j .code) HID=$(j .id)
api POST /authority/institutions "{\"name\":\"令牌测试二院$RUN\",\"inst_type\":\"医院\"}" "$COUNTY"
expect 201 "second institution"
H2CODE=$(j .code)
H=$(first_login institution "$HCODE")
H2=$(first_login institution "$H2CODE")
mkphys "$H"
P=$PID PA=$PACCT PN=$PIDN

step "a password change on examd ends the first login's must-change token"
T0=$(elogin "$PA" 666666)
eq "$(acode "$T0")" 200 "the must-change token on admind's /me before the change"
T1=$(epassword "$T0" 666666 "$PASSWORD")
gone "$T0" "examd password change"
works "$T1" "the token examd's password change returned"

step "a password change on admind ends the tokens of both servers"
T2=$(login physician "$PA" "$PASSWORD")
T3=$(elogin "$PA" "$PASSWORD")
api POST /password "{\"old_password\":\"$PASSWORD\",\"new_password\":\"$PW2\"}" "$T2"
expect 200 "admind password change"
T4=$(j .token)
for t in "$T1" "$T2" "$T3"; do gone "$t" "admind password change"; done
works "$T4" "the token admind's password change returned"

step "a reset by the institution"
T5=$(elogin "$PA" "$PW2")
api POST "/institution/physicians/$P/reset-password" '{}' "$H"
expect 200 "reset"
for t in "$T4" "$T5"; do gone "$t" "reset by the institution"; done
T6=$(login physician "$PA" 666666 "$(proof physician "$PA")")
eq "$(acode "$T6")" 200 "the must-change token of the login after the reset"
api POST /password "{\"old_password\":\"666666\",\"new_password\":\"$PW3\"}" "$T6"
expect 200 "password set again"
T7=$(j .token)
gone "$T6" "the password set after the reset"
works "$T7" "the token after the reset"

step "a logout on examd"
T8=$(elogin "$PA" "$PW3")
T9=$(login physician "$PA" "$PW3")
code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $T8" \
    "http://127.0.0.1:$EXAM_PORT/api/v1/logout")
expect 200 "examd logout"
for t in "$T7" "$T8" "$T9"; do gone "$t" "examd logout"; done
T10=$(elogin "$PA" "$PW3")
works "$T10" "a token issued after the logout"

step "a logout on admind"
T11=$(login physician "$PA" "$PW3")
api POST /logout '' "$T11"
expect 200 "admind logout"
for t in "$T10" "$T11"; do gone "$t" "admind logout"; done
T12=$(elogin "$PA" "$PW3")
works "$T12" "a token issued after the admind logout"
eq "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'logout' AND actor_type = 'physician'
           AND actor_id = $P")" 2 "logout audit rows"

step "an institution's logout, and its reset by the authority"
api POST /logout '' "$H"
expect 200 "institution logout"
gone "$H" "institution logout" a
H=$(login institution "$HCODE" "$PASSWORD")
works "$H" "the institution's next token" a
api POST "/authority/institutions/$HID/reset-password" '{}' "$COUNTY"
expect 200 "institution reset"
gone "$H" "institution reset by the authority" a
H=$(first_login institution "$HCODE")
works "$H" "the institution's token after the reset" a

step "离岗 and a transfer in"
T13=$(elogin "$PA" "$PW3")
works "$T13" "before 离岗"
api POST "/institution/physicians/$P/leave" '{"reason":"调出"}' "$H"
expect 200 "离岗"
gone "$T13" "离岗"
before=$(va physician "$P")
sleep 0.01
api POST /institution/physicians/transfer-in "{\"id_number\":\"$PN\"}" "$H2"
expect 200 "transfer in"
after=$(va physician "$P")
[ -n "$after" ] && [ "$after" -gt "${before:-0}" ] ||
    fail "transfer in: valid-after '$before' -> '$after' (expected it to move)"
# the transfer in sends the physician through activation again (666666 + identity)
T14=$(elogin "$PA" 666666)
api POST /password "{\"old_password\":\"666666\",\"new_password\":\"$PW3\"}" "$T14"
expect 200 "password set again after the transfer"
T14=$(j .token)
works "$T14" "a token after the transfer in"

step "a node started after the revocations refuses them at once"
stop_examd
start_examd
for _ in $(seq 20); do [ "$(ecode "$T14")" = 200 ] && break; sleep 0.05; done
eq "$(ecode "$T14")" 200 "a valid token on the new node"
for t in "$T1" "$T3" "$T5" "$T8" "$T10" "$T12" "$T13"; do
    eq "$(ecode "$t")" 401 "a revoked token on the node started after its revocation"
done

step "fail closed: a node whose Redis is gone refuses tokens after token_revocation_stale_s"
RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no >"$TMP/redis.log" 2>&1 &
RPID=$!
PIDS+=("$RPID")
for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
E2PORT=$(free_port)
DK_REDIS_PORT=$RPORT DK_EXAM_PORT=$E2PORT "$EXAMD" >"$TMP/examd2.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 150); do curl -s -o /dev/null "http://127.0.0.1:$E2PORT/metrics" && break; sleep 0.1; done
T15=$(elogin "$PA" "$PW3" "$E2PORT")
for _ in $(seq 20); do [ "$(ecode "$T15" "$E2PORT")" = 200 ] && break; sleep 0.05; done
eq "$(ecode "$T15" "$E2PORT")" 200 "the node with its own Redis, while it refreshes"
kill -9 "$RPID"
t0=$(date +%s%N)
c=200
while [ "$c" = 200 ] && [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 10000 ]; do
    c=$(ecode "$T15" "$E2PORT")
    sleep 0.1
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
eq "$c" 503 "a token on the node that cannot refresh"
echo "   refused with 503 ${ms} ms after its Redis died (bound: ${DK_TOKEN_REVOCATION_STALE_S} s)"
[ "$ms" -ge 1000 ] || fail "refused after ${ms} ms: the bound ($DK_TOKEN_REVOCATION_STALE_S s) was not waited for"
eq "$(ecode "$T15")" 200 "the same token on the node whose Redis is up"

echo "PASS"

step "a Redis that lost the revocations: a node started on it refills them from MariaDB"
R3PORT=$(free_port)
redis-server --port "$R3PORT" --bind 127.0.0.1 --save '' --appendonly no >"$TMP/redis3.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 50); do redis-cli -p "$R3PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
E3PORT=$(free_port)
DK_REDIS_PORT=$R3PORT DK_EXAM_PORT=$E3PORT "$EXAMD" >"$TMP/examd3.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 150); do curl -s -o /dev/null "http://127.0.0.1:$E3PORT/metrics" && break; sleep 0.1; done
for _ in $(seq 100); do [ "$(ecode "$T14" "$E3PORT")" = 200 ] && break; sleep 0.05; done
eq "$(ecode "$T14" "$E3PORT")" 200 "a valid token on the node whose Redis lost everything"
for t in "$T1" "$T3" "$T5" "$T8" "$T10" "$T12" "$T13"; do
    eq "$(ecode "$t" "$E3PORT")" 401 "a token revoked before the loss, on a node started after it"
done
eq "$(redis-cli -p "$R3PORT" exists tok:seeded)" 1 "the refilled set is marked complete"
n=$(redis-cli -p "$R3PORT" zrange tok:revoked 0 -1 | grep -c "^p:$P:")
[ "$n" -ge 1 ] || fail "the physician's revocation is not in the refilled set"
grep -q "published again from MariaDB" "$TMP/examd3.log" || fail "the node did not log the refill"
