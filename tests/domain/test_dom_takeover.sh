#!/usr/bin/env bash
# Account takeover and lockout (issue 12, findings 1, 3 and 4) through both servers,
# against the real stack:
# 1. a first login with the initial password 666666 needs proof of identity: a physician
#    the ID number and name on file, an institution the one-time activation code shown to
#    its authority; a wrong part is refused with one message whichever part it was (and
#    for an unknown account too); the right proof logs in with the forced password change;
# 2. an initial password expires after login_initial_ttl_s (403, a reset is needed);
# 3. one address trying 666666 on more than login_initial_max_accounts_ip accounts is
#    stopped (429), the same accounts from another address are not;
# 4. the owner with the device token of an earlier success logs in while an attacker has
#    used up the account's budget; the attacker (no token, or another account's token)
#    stays at 429;
# 5. an exam room behind one address: more physicians than login_max_failures_ip each
#    mistype once and then all get in;
# 6. the console lists the accounts not yet activated (activated=0);
# 7. a physician transferred in must activate again (666666 + ID number and name).
# Every step failed on the code before (666666 alone logged in, no expiry, one counter
# per address, the owner locked out with the attacker, no filter, transfers kept the
# old password).
ADMIND=$1
EXAMD=$2
export DK_LOGIN_WINDOW_S=300 DK_LOGIN_MAX_FAILURES=5 DK_LOGIN_MAX_FAILURES_IP=10
export DK_LOGIN_INITIAL_MAX_ACCOUNTS_IP=3 DK_LOGIN_INITIAL_TTL_S=86400
. "$(dirname "$0")/../admin/lib.sh"
need
[ -x "$EXAMD" ] || { echo "SKIP: examd is not built at $EXAMD"; exit 77; }
start_admind
start_examd

addr() { echo "127.$((RANDOM % 250 + 2)).$((RANDOM % 254 + 1)).$((RANDOM % 254 + 1))"; }
# epost SRC JSON -> $code, $TMP/body (examd's POST /login from address SRC)
epost() {
    code=$(command curl -s --interface "$1" -o "$TMP/body" -w '%{http_code}' -X POST \
        "http://127.0.0.1:$EXAM_PORT/api/v1/login" -H 'Content-Type: application/json' --data-binary "$2")
}
# apost SRC JSON -> the same on admind, with a solved captcha
apost() {
    command curl -s --interface "$1" -o "$TMP/cap" "http://127.0.0.1:$ADMIN_PORT/api/v1/captcha"
    local cid ans
    cid=$(jq -r .captcha_id "$TMP/cap")
    ans=$(redis-cli -p "$DK_REDIS_PORT" GET "captcha:$cid")
    code=$(command curl -s --interface "$1" -o "$TMP/body" -w '%{http_code}' -X POST \
        "http://127.0.0.1:$ADMIN_PORT/api/v1/login" -H 'Content-Type: application/json' \
        --data-binary "$(jq -c --arg c "$cid" --arg n "$ans" '. + {captcha_id:$c,captcha_answer:$n}' <<<"$2")")
}
pj() { jq -cn "$@"; }
idn_of() { sql "SELECT id_number FROM physician WHERE id = $1"; }
name_of() { sql "SELECT name FROM physician WHERE id = $1"; }

step "a region, two institutions (their activation codes) and physicians"
make_region A
COUNTY=$(login authority "t$RUN-A-county" "$PASSWORD")
for n in 1 2; do
    api POST /authority/institutions "{\"name\":\"接管测试医院$n-$RUN\",\"inst_type\":\"医院\"}" "$COUNTY"
    expect 201 "institution $n"
    eval "H${n}_ID=$(j .id) H${n}_CODE=$(j .code) H${n}_ACT=$(j .activation_code)"
done
[ -n "$H1_ACT" ] && [ "$H1_ACT" != null ] || fail "creating an institution shows no activation code"

step "1a. an institution: 666666 alone, or with a wrong code, is refused; the code logs in"
s=$(addr)
apost "$s" "$(pj --arg a "$H1_CODE" '{type:"institution",account:$a,password:"666666"}')"
[ "$code" != 200 ] || fail "an institution logged in with 666666 and no activation code"
eq "$(j .error.activation_required)" true "the refusal asks for the activation step"
apost "$s" "$(pj --arg a "$H1_CODE" '{type:"institution",account:$a,password:"666666",activation_code:"ABCDE-FGHJK"}')"
expect 401 "a wrong activation code"
apost "$s" "$(pj --arg a "$H1_CODE" --arg c "$H1_ACT" '{type:"institution",account:$a,password:"666666",activation_code:$c}')"
expect 200 "the right activation code"
eq "$(j .must_change_password)" true "the forced change after activation"
H1=$(first_login institution "$H1_CODE")
H2=$(first_login institution "$H2_CODE")

step "1b. a physician: 666666 alone, a wrong name, a wrong ID number are refused alike"
for n in 1 2 3 4 5 6; do
    mkphys "$H1"
    eval "P$n=$PID A$n=$PACCT"
done
s=$(addr)
epost "$s" "$(pj --arg a "$A1" '{account:$a,password:"666666"}')"
[ "$code" != 200 ] || fail "examd: a physician logged in with 666666 alone"
eq "$(j .error.activation_required)" true "examd asks for the identity step"
apost "$s" "$(pj --arg a "$A1" '{type:"physician",account:$a,password:"666666"}')"
[ "$code" != 200 ] || fail "admind: a physician logged in with 666666 alone"
I1=$(idn_of "$P1") N1=$(name_of "$P1")
epost "$s" "$(pj --arg a "$A1" --arg i "$I1" '{account:$a,password:"666666",id_number:$i,name:"错名字"}')"
expect 401 "examd: the right ID number and a wrong name"
m_name=$(j .error.message)
epost "$s" "$(pj --arg a "$A1" --arg n "$N1" '{account:$a,password:"666666",id_number:"110101199001011237",name:$n}')"
expect 401 "examd: a wrong ID number and the right name"
m_idn=$(j .error.message)
epost "$s" "$(pj --arg a "${A1}9" --arg i "$I1" --arg n "$N1" '{account:$a,password:"666666",id_number:$i,name:$n}')"
expect 401 "examd: an unknown account"
m_unknown=$(j .error.message)
eq "$m_name" "$m_idn" "the message of a wrong name against a wrong ID number"
eq "$m_name" "$m_unknown" "the message of a wrong name against an unknown account"
epost "$(addr)" "$(pj --arg a "$A1" --arg i "$I1" --arg n "$N1" '{account:$a,password:"666666",id_number:$i,name:$n}')"
expect 200 "examd: 666666 with the right ID number and name"
eq "$(j .must_change_password)" true "the forced change after activation"
apost "$(addr)" "$(pj --arg a "$A1" --arg i "$I1" --arg n "$N1" '{type:"physician",account:$a,password:"666666",id_number:$i,name:$n}')"
expect 200 "admind: 666666 with the right ID number and name"

step "2. an initial password expires (login_initial_ttl_s)"
sql "UPDATE physician SET password_changed_at = NOW(3) - INTERVAL 2 DAY WHERE id = $P2"
epost "$(addr)" "$(pj --arg a "$A2" --arg i "$(idn_of "$P2")" --arg n "$(name_of "$P2")" '{account:$a,password:"666666",id_number:$i,name:$n}')"
expect_msg 403 "过期" "an expired initial password with the right proof"

step "3. one address trying 666666 on several accounts is stopped"
s=$(addr)
for n in 3 4 5; do
    eval "pa=\$A$n"
    epost "$s" "$(pj --arg a "$pa" '{account:$a,password:"666666",id_number:"110101199001011237",name:"张三"}')"
    expect 401 "a guessed identity on account $n"
done
epost "$s" "$(pj --arg a "$A6" '{account:$a,password:"666666",id_number:"110101199001011237",name:"张三"}')"
expect 429 "the fourth account with 666666 from one address"
epost "$s" "$(pj --arg a "$A6" --arg i "$(idn_of "$P6")" --arg n "$(name_of "$P6")" '{account:$a,password:"666666",id_number:$i,name:$n}')"
expect 429 "still stopped with the right proof from that address"
epost "$(addr)" "$(pj --arg a "$A6" --arg i "$(idn_of "$P6")" --arg n "$(name_of "$P6")" '{account:$a,password:"666666",id_number:$i,name:$n}')"
expect 200 "the same account from another address"

step "4. the owner's device token against an attack on the account"
T3=$(first_login physician "$A3")
T4=$(first_login physician "$A4")
epost "$(addr)" "$(pj --arg a "$A3" --arg p "$PASSWORD" '{account:$a,password:$p}')"
expect 200 "the owner's earlier success"
DEV3=$(j .device_token)
[ -n "$DEV3" ] && [ "$DEV3" != null ] || fail "a success gives no device token"
epost "$(addr)" "$(pj --arg a "$A4" --arg p "$PASSWORD" '{account:$a,password:$p}')"
DEV4=$(j .device_token)
for i in $(seq 5); do
    epost "$(addr)" "$(pj --arg a "$A3" --arg p "Guess-$i-x" '{account:$a,password:$p}')"
    expect 401 "attacker's guess $i"
done
epost "$(addr)" "$(pj --arg a "$A3" --arg p "$PASSWORD" '{account:$a,password:$p}')"
expect 429 "the right password without a device token, budget used up"
epost "$(addr)" "$(pj --arg a "$A3" --arg p "Guess-6-x" --arg d "$DEV4" '{account:$a,password:$p,device_token:$d}')"
expect 429 "the attacker with another account's device token"
epost "$(addr)" "$(pj --arg a "$A3" --arg p "Guess-7-x" --arg d "${DEV3}x" '{account:$a,password:$p,device_token:$d}')"
expect 429 "the attacker with a forged device token"
epost "$(addr)" "$(pj --arg a "$A3" --arg p "$PASSWORD" --arg d "$DEV3" '{account:$a,password:$p,device_token:$d}')"
expect 200 "examd: the owner with the device token during the attack"
apost "$(addr)" "$(pj --arg a "$A3" --arg p "$PASSWORD" --arg d "$DEV3" '{type:"physician",account:$a,password:$p,device_token:$d}')"
expect 200 "admind: the owner with the device token during the attack"
for i in 8 9 10; do
    epost "$(addr)" "$(pj --arg a "$A3" --arg p "Guess-$i-x" '{account:$a,password:$p}')"
    expect 429 "the attacker stays bounded ($i)"
done

step "5. an exam room behind one address: 12 physicians mistype once, then all get in"
room=$(addr)
for n in $(seq 12); do
    mkphys "$H1"
    first_login physician "$PACCT" >/dev/null
    epost "$room" "$(pj --arg a "$PACCT" '{account:$a,password:"Mistyped-1"}')"
    expect 401 "room physician $n mistypes"
    epost "$room" "$(pj --arg a "$PACCT" --arg p "$PASSWORD" '{account:$a,password:$p}')"
    expect 200 "room physician $n logs in"
done

step "6. the accounts not yet activated"
api GET "/institution/physicians?activated=0&page_size=100" "" "$H1"
expect 200 "list of physicians not activated"
ids=$(jq -r '[.items[].physician_id] | map(tostring) | join(" ")' "$TMP/body")
for n in 1 5; do eval "want=\$P$n"; [[ " $ids " == *" $want "* ]] || fail "physician $n is not activated but not listed ($ids)"; done
for n in 3 4; do eval "want=\$P$n"; [[ " $ids " != *" $want "* ]] || fail "physician $n is activated but listed"; done
api GET "/institution/physicians?page_size=100" "" "$H1"
[ "$(jq -r --argjson p "$P5" '.items[] | select(.physician_id == $p) | .activated' "$TMP/body")" = false ] ||
    fail "the physician list has no activated column"
api POST /authority/institutions "{\"name\":\"未激活医院-$RUN\",\"inst_type\":\"医院\"}" "$COUNTY"
expect 201 "a third institution"
H3_ID=$(j .id)
api GET "/authority/institutions?activated=0&page_size=100" "" "$COUNTY"
expect 200 "list of institutions not activated"
eq "$(jq -r '[.items[].id] | map(tostring) | join(" ")' "$TMP/body")" "$H3_ID" "the institutions not activated"

step "7. a physician transferred in activates again"
api POST "/institution/physicians/$P4/leave" '{"reason":"调动"}' "$H1"
expect 200 "离岗"
api POST /institution/physicians/transfer-in "{\"id_number\":\"$(idn_of "$P4")\"}" "$H2"
expect 200 "transfer in"
epost "$(addr)" "$(pj --arg a "$A4" --arg p "$PASSWORD" '{account:$a,password:$p}')"
expect 401 "the old password after a transfer"
epost "$(addr)" "$(pj --arg a "$(idn_of "$P4")" '{account:$a,password:"666666"}')"
eq "$(j .error.activation_required)" true "666666 alone after a transfer"
epost "$(addr)" "$(pj --arg a "$(idn_of "$P4")" --arg n "$(name_of "$P4")" '{account:$a,password:"666666",id_number:$a,name:$n}')"
expect 200 "the first-login path after a transfer"
eq "$(j .must_change_password)" true "the forced change after a transfer"

stop_examd
stop_admind
echo "PASS: identity on first login, expiry, initial-password sweeps, device tokens, exam rooms, activation lists, transfers"
