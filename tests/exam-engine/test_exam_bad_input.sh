#!/usr/bin/env bash
# exam_bad_input: every bad request gets a clear 4xx with a JSON error body
# {"error":{"code","message"}}, changes nothing, and the process goes on: malformed
# JSON, wrong types, unknown and duplicate fields, deep nesting, unknown question
# numbers, bad choices, oversized bodies (413), missing / malformed / forged / expired
# / foreign-key tokens (401), a token of another kind (403), another physician's
# session (404), the login rate limit per account and per address (429 with
# Retry-After; a client's own X-Real-IP does not get round it), a must-change token
# (403). Then /healthz still answers and examd exits 0 on SIGTERM (under ASan: no leak).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_bad_input "$1"
fx_examd_start A DK_LOGIN_WINDOW_S=60 DK_LOGIN_MAX_FAILURES=5 DK_LOGIN_MAX_FAILURES_IP=5

json() { jq -cn "$@"; }

read -r p1 acct1 < <(fx_new_physician 0)
read -r p2 acct2 < <(fx_new_physician 0)
read -r p3 acct3 < <(fx_new_physician 1 666666)
read -r p4 acct4 < <(fx_new_physician 0)
[ -n "${p4:-}" ] || fx_fatal "could not create the physicians"
t1=$(fx_login A "$acct1")
t2=$(fx_login A "$acct2")
t3=$(fx_login A "$acct3" 666666)
fx_call A POST /api/v1/sessions '{"paper":"业务水平"}' "$t1"
[ "$FX_CODE" = 200 ] || fx_fatal "start: HTTP $FX_CODE $FX_BODY"
sid=$(jq -r .session_id <<<"$FX_BODY")
fx_keys "$sid" >"$FX_TMP/keys"
past=$(($(wc -l <"$FX_TMP/keys") + 1)) # the first number after the paper's last question
read -r ns _ _ _ nopt_s _ < <(awk '$2 != "X"' "$FX_TMP/keys" | head -n 1)
read -r nx _ _ _ nopt_x _ < <(awk '$2 == "X"' "$FX_TMP/keys" | head -n 1)
beyond_s=$(printf "\\x$(printf %x $((65 + nopt_s)))")
[ -n "${nx:-}" ] && beyond_x=$(printf "\\x$(printf %x $((65 + nopt_x)))")

# ---- malformed JSON, wrong types, unknown fields -------------------------------------------
bodies=('{' '[]' '"account"' '{}' 'null' '{"account":123,"password":"x"}'
        '{"account":"a","password":["x"]}' '{"account":"","password":"x"}'
        "{\"account\":\"$acct1\",\"password\":\"$FX_PASSWORD\",\"remember\":true}"
        "{\"account\":\"$acct1\",\"account\":\"$acct2\",\"password\":\"$FX_PASSWORD\"}"
        "{\"account\":\"$acct1\",\"password\":\"$FX_PASSWORD\"} trailing"
        "$(printf '{"account":"\xff\xfe","password":"x"}')"
        "{\"account\":\"a\\u0000b\",\"password\":\"x\"}")
for b in "${bodies[@]}"; do
    fx_call A POST /api/v1/login "$b"
    fx_expect_error 400 "login body ${b:0:60}"
done
fx_call A POST /api/v1/login ""
fx_expect_error 400 "login without a body"
deep=$(printf '%*s' 2000 '' | tr ' ' '['; printf '%*s' 2000 '' | tr ' ' ']')
fx_call A POST /api/v1/password "$deep" "$t1"
fx_expect_error 400 "2000 nested arrays"
fx_call A POST /api/v1/password '{"old_password":"x","new_password":12345678}' "$t1"
fx_expect_error 400 "new_password of the wrong type"
for b in '{"paper":"外语"}' '{"paper":1}' '{"paper":null}' '{"paper":"业务水平","x":1}' '{"Paper":"业务水平"}' '' '[' ; do
    fx_call A POST /api/v1/sessions "$b" "$t2"
    fx_expect_error 400 "start body '$b'"
done
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM exam_session WHERE physician_id = $p2")" 0 "bad starts create no session"

put() { fx_call A PUT "/api/v1/sessions/$1/answers/$2" "$3" "${4:-$t1}"; }
for b in '{"choice":1}' '{"choice":null}' '{}' '{"choice":["A"]}' '{"choice":"A","extra":1}' 'nope' '' \
         '{"choice":{"A":true}}' '{"choice":true}'; do
    put "$sid" "$ns" "$b"
    fx_expect_error 400 "answer body '$b'"
done

# ---- unknown question numbers and bad choices ------------------------------------------------
for no in 0 "$past" -1 abc 501 1abc 99999999999999999999 1.5 %00; do
    put "$sid" "$no" '{"choice":"A"}'
    fx_expect_error 404 "question number '$no'"
done
for c in AB "$beyond_s" 1 AA Z "!" "ABCDEABCDEABCDEABC" "A,B" "é"; do
    put "$sid" "$ns" "$(json --arg c "$c" '{choice:$c}')"
    fx_expect_error 400 "choice '$c' for single-answer question $ns ($nopt_s options)"
done
if [ -n "${nx:-}" ]; then
    for c in "A$beyond_x" AAB 12; do
        put "$sid" "$nx" "$(json --arg c "$c" '{choice:$c}')"
        fx_expect_error 400 "choice '$c' for X question $nx ($nopt_x options)"
    done
else
    fx_fail_msg "the paper has no X question"
fi
fx_call A GET "/api/v1/sessions/$sid?brief=1" "" "$t1"
fx_expect_eq "$FX_CODE $(jq -c .answers <<<"$FX_BODY")" "200 {}" "no bad answer was saved"
fx_expect_eq "$(fx_redis hlen "sess:{$sid}:ans")" 0 "nothing in Redis either"
for b in '[]' 'x' '"done"'; do
    fx_call A POST "/api/v1/sessions/$sid/submit" "$b" "$t1"
    fx_expect_error 400 "submit body '$b'"
done

# ---- unknown and foreign sessions -----------------------------------------------------------------
for s in xyz "$(openssl rand -hex 16)" "$(tr a-f A-F <<<"$sid")" "${sid}0" "../$sid"; do
    fx_call A GET "/api/v1/sessions/$s" "" "$t1"
    fx_expect_error 404 "session '$s'"
done
fx_call A GET "/api/v1/sessions/$sid" "" "$t2"
fx_expect_error 404 "another physician's session: view"
put "$sid" "$ns" '{"choice":"A"}' "$t2"
fx_expect_error 404 "another physician's session: answer"
fx_call A POST "/api/v1/sessions/$sid/submit" "" "$t2"
fx_expect_error 404 "another physician's session: submit"
fx_call A GET "/api/v1/sessions/$sid?brief=1" "" "$t1"
fx_expect_eq "$(jq -c '[.status, .answers]' <<<"$FX_BODY")" '["live",{}]' "the session is untouched by the other physician"

# ---- oversized bodies ---------------------------------------------------------------------------------
big() { head -c "$1" /dev/zero | tr '\0' ' ' >"$FX_TMP/big"; printf '{"choice":"A"}' >>"$FX_TMP/big"; }
big 2000
put "$sid" "$ns" "@$FX_TMP/big"
fx_expect_error 413 "a 2 KB answer body (route limit 1 KB)"
big 5000
fx_call A POST /api/v1/login "@$FX_TMP/big"
fx_expect_error 413 "a 5 KB login body (route limit 4 KB)"
big 70000
put "$sid" "$ns" "@$FX_TMP/big"
fx_expect_error 413 "a 70 KB answer body (over http_max_body 64 KB)"
# beyond the largest limit of any route (4 MiB for captures) libevent itself refuses it
big 5000000
fx_call A POST /api/v1/sessions "@$FX_TMP/big" "$t2"
fx_expect_error 413 "a 5 MB body (over every route's limit)"

# ---- tokens ---------------------------------------------------------------------------------------------
mac() { printf '%s' "$1" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$2" -binary | base64 -w0 | tr '+/' '-_' | tr -d '='; }
token() { local m="v2.$1.$2.$(($(date +%s) * 1000)).$3.$4"; printf '%s.%s' "$m" "$(mac "$m" "${5:-$FX_SECRET}")"; } # KIND ID EXP FLAG [KEY]
now=$(date +%s)
fx_call A GET /api/v1/tests "" "$(token p "$p1" $((now + 600)) n)"
fx_expect_code 200 "a token made here with the node's key works (so the forged ones below are well-formed)"
declare -A bad_tokens=(
    [garbage]="garbage"
    [expired]="$(token p "$p1" $((now - 5)) n)"
    [other_key]="$(token p "$p1" $((now + 600)) n "$(openssl rand -hex 32)")"
    [id_edited]="$(sed "s/^v2\.p\.$p1\./v2.p.$p2./" <<<"$t1")"
    [flag_edited]="$(sed 's/\.c\./.n./' <<<"$t3")"
    [expiry_edited]="$(awk -F. -v OFS=. '{$5 = $5 + 86400; print}' <<<"$t1")"
    [issued_edited]="$(awk -F. -v OFS=. '{$4 = $4 + 1000; print}' <<<"$t1")"
    [v1]="$(m="v1.p.$p1.$((now + 600)).n"; printf '%s.%s' "$m" "$(mac "$m" "$FX_SECRET")")"
    [mac_cut]="${t1%?}"
    [long]="$t1$(printf '%*s' 300 '' | tr ' ' x)"
)
for k in "${!bad_tokens[@]}"; do
    for route in "GET /api/v1/tests" "GET /api/v1/sessions/$sid" "POST /api/v1/sessions/$sid/submit"; do
        fx_call A ${route% *} "${route#* }" "" "${bad_tokens[$k]}"
        fx_expect_error 401 "token $k on $route"
    done
done
fx_call A GET /api/v1/tests "" "${bad_tokens[expired]}"
fx_expect_error 401 "expired token" "过期"
for route in "GET /api/v1/tests" "POST /api/v1/sessions" "GET /api/v1/sessions/$sid" \
             "PUT /api/v1/sessions/$sid/answers/1" "POST /api/v1/sessions/$sid/submit" "POST /api/v1/password"; do
    fx_call A ${route% *} "${route#* }" '{}'
    fx_expect_error 401 "no token on $route"
done
FX_HDRS="$FX_TMP/headers"
FX_CODE=$(curl -s --interface "$FX_SRC" -o "$FX_TMP/body" -D "$FX_HDRS" -w '%{http_code}' \
    -H "Authorization: Basic $(printf 'a:b' | base64)" "${FX_URL[A]}/api/v1/tests")
FX_BODY=$(cat "$FX_TMP/body")
fx_expect_error 401 "a Basic authorization"
fx_call A GET /api/v1/tests "" "$(token i 1 $((now + 600)) n)"
fx_expect_error 403 "a valid institution token on a physician route"
fx_call A GET /api/v1/tests "" "$t3"
fx_expect_error 403 "a must-change token on /tests" "修改初始密码"
fx_call A PUT "/api/v1/sessions/$sid/answers/1" '{"choice":"A"}' "$t3"
fx_expect_error 403 "a must-change token on an answer"
fx_call A GET /api/v1/tests "" "$t1"
fx_expect_code 200 "the real token still works"

# ---- login rate limits (each from a loopback address of its own) --------------------------------------
# DK_LOGIN_MAX_FAILURES=5 per account and DK_LOGIN_MAX_FAILURES_IP=5 per address here
addr() { echo "127.$((RANDOM % 250 + 2)).$((RANDOM % 254 + 1)).$((RANDOM % 254 + 1))"; }
own_src=$FX_SRC
s1=$(addr) s2=$(addr) s3=$(addr) s4=$(addr)
[ "$own_src" = 127.0.0.1 ] && fx_fatal "cannot send from loopback addresses other than 127.0.0.1: the per-address limit cannot be told apart"
login_from() { # SRC ACCOUNT PW
    FX_SRC=$1 fx_call A POST /api/v1/login "$(json --arg a "$2" --arg p "$3" '{account:$a,password:$p}')"
}
check_429() { # DESC
    fx_expect_error 429 "$1"
    local ra
    ra=$(fx_header Retry-After)
    [[ $ra =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] && [ "$ra" -le 60 ] ||
        fx_fail_msg "$1: Retry-After '$ra' is not a number of seconds within the 60 s window"
}
# per account: 5 failures from s1, then even the right password from s2 is refused
for i in 1 2 3 4 5; do
    login_from "$s1" "$acct4" "Wrong#pass$i"
    fx_expect_error 401 "failed login $i of $acct4"
done
login_from "$s2" "$acct4" "$FX_PASSWORD"
check_429 "the right password after 5 failures of the account (another address)"
# per address: 5 failures from s3 with unknown accounts (new ones: the per-account
# counters outlive a run), then a good login from s3 is refused
for i in 1 2 3 4 5; do
    login_from "$s3" "${FX_INST_CODE}9$(fx_digits 4)" "Wrong#pass$i"
    fx_expect_error 401 "failed login $i from $s3"
done
login_from "$s3" "$acct2" "$FX_PASSWORD"
check_429 "a good login from an address with 5 failures"
FX_EXTRA_HEADER="X-Real-IP: 10.$((RANDOM % 250)).1.1" login_from "$s3" "$acct2" "$FX_PASSWORD"
fx_expect_error 429 "X-Real-IP from a client that is no trusted proxy is ignored"
login_from "$s4" "$acct2" "$FX_PASSWORD"
fx_expect_code 200 "the same account from another address"
FX_SRC=$own_src
for s in "$s1" "$s2" "$s3" "$s4"; do fx_redis del "rl:login:ips:$s" >/dev/null; done

# ---- still alive and well ---------------------------------------------------------------------------------
fx_call A GET /healthz
fx_expect_code 200 "healthz after all the bad input"
fx_call A GET "/api/v1/sessions/$sid?brief=1" "" "$t1"
fx_expect_code 200 "the session is still served"
fx_check "the 4xx replies are counted in the metrics" \
    bash -c "curl -s '${FX_URL[A]}/metrics' | grep -q '^examd_requests_total{route=\"answer\",code=\"4xx\"}'"
fx_examd_stop A
fx_finish
