#!/usr/bin/env bash
# exam_login_queue: the fair login queue (domain/dom_queue.h) on two nodes sharing a queue
# of this test's own (login_queue), each with room for 2 logins in flight (hash_queue=2).
# With 5 holders already waiting (tickets written into Redis as other nodes would), a
# new arrival is not let in: 503, Retry-After, "排队中，前面还有 5 人" and a ticket. Its place
# is kept when it comes back, on either node; an arrival after it is behind it; a forged
# ticket (well-formed, not issued) or a malformed one only joins at the back. As the ones
# ahead go through, the count falls, and it is let in once fewer than the node's room are
# ahead: then the login is judged as any other (a wrong password is still 401); its used
# ticket gives no second place. Holders not back by the time they were given are dropped,
# so nobody waits behind them; one who is told to wait gets that time (Retry-After) and
# its place is kept for twice that plus 5 s. With nobody waiting, a login goes straight
# in with no ticket; a burst of simultaneous first arrivals is let in only up to the
# node's room, the rest get places. One address holds at most login_queue_max_per_addr
# places: beyond, a first arrival from it gets 429 and no place (a holder coming back
# keeps its own), and once one of its places is gone it may take one again.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_login_queue "$1"
q="t$(fx_digits 8)"
live="queue:$q:live" seen="queue:$q:seen" seqk="queue:$q:seq" ratesk="queue:$q:rates"
ownerk="queue:$q:owner" addrsk="queue:$q:addrs"
lq_cleanup() {
    local rc=$?
    fx_redis del "$live" "$seen" "$seqk" "$ratesk" "$ownerk" "$addrsk" >/dev/null 2>&1
    (exit "$rc")
    fx_cleanup
}
trap lq_cleanup EXIT

fx_examd_start A DK_LOGIN_QUEUE="$q" DK_HASH_QUEUE=2
fx_examd_start B DK_LOGIN_QUEUE="$q" DK_HASH_QUEUE=2
read -r p acct < <(fx_new_physician 0)
read -r p2 acct2 < <(fx_new_physician 0)
[ -n "${p:-}" ] && [ -n "${p2:-}" ] || fx_fatal "could not create the physicians"

login_body() { # ACCOUNT [TICKET] [PASSWORD]
    jq -cn --arg a "$1" --arg t "${2:-}" --arg p "${3:-$FX_PASSWORD}" \
        '{account:$a,password:$p} + (if $t == "" then {} else {queue_ticket:$t} end)'
}
now_ms() { fx_redis time | { read -r s; read -r us; echo $((s * 1000 + us / 1000)); }; }

# nobody waits: straight in, no ticket
fx_call A POST /api/v1/login "$(login_body "$acct")"
fx_expect_code 200 "a login with nobody waiting"
fx_expect_eq "$(fx_redis zcard "$live")" 0 "no ticket is issued when nobody waits"

# five holders wait already (each due back within a minute)
fx_redis set "$seqk" 5 >/dev/null
t=$(now_ms)
for i in 1 2 3 4 5; do
    fx_redis zadd "$live" "$i" "$(printf 'a%031d' "$i")" >/dev/null
    fx_redis zadd "$seen" $((t + 60000)) "$(printf 'a%031d' "$i")" >/dev/null
done

t0=$(now_ms)
fx_call A POST /api/v1/login "$(login_body "$acct")"
t1=$(now_ms)
fx_expect_error 503 "a new arrival behind five" "排队中，前面还有 5 人"
ticket=$(jq -r .error.queue_ticket <<<"$FX_BODY")
fx_check "the ticket is 32 hex characters" grep -Eq '^[0-9a-f]{32}$' <<<"$ticket"
ra=$(fx_header Retry-After)
fx_check "Retry-After is 1..15 s (got '$ra')" test "${ra:-0}" -ge 1 -a "${ra:-99}" -le 15
fx_expect_eq "$(jq .error.ahead <<<"$FX_BODY")" 5 "the reply counts the five ahead"
due=$(fx_redis zscore "$seen" "$ticket")
# due = the script's now + 2 Retry-After + 5 s, and the script ran between t0 and t1
fx_check "the place is kept for twice Retry-After plus 5 s (due $((due - t0)) ms after the call began, Retry-After $ra s)" \
    test "$((due - 2 * ra * 1000 - 5000))" -ge "$t0" -a "$((due - 2 * ra * 1000 - 5000))" -le "$t1"

fx_call B POST /api/v1/login "$(login_body "$acct" "$ticket")"
fx_expect_error 503 "the same ticket on the other node" "前面还有 5 人"
fx_expect_eq "$(jq -r .error.queue_ticket <<<"$FX_BODY")" "$ticket" "the place is kept on B"

fx_call B POST /api/v1/login "$(login_body "$acct2")"
fx_expect_error 503 "a later arrival" "前面还有 6 人"
fx_expect_eq "$(fx_redis hlen "$ratesk")" 2 "both nodes' rates count in the wait told (with K nodes, not K times too long)"
ticket2=$(jq -r .error.queue_ticket <<<"$FX_BODY")
fx_call A POST /api/v1/login "$(login_body "$acct2" "$(printf 'f%031d' 0)")"
fx_expect_error 503 "a forged ticket" "前面还有 7 人"
fx_call A POST /api/v1/login "$(login_body "$acct2" '../../etc')"
fx_expect_error 503 "a malformed ticket" "前面还有 8 人"

# three of the five go through: two ahead, room for two: still waiting
fx_redis zrem "$live" "$(printf 'a%031d' 1)" "$(printf 'a%031d' 2)" "$(printf 'a%031d' 3)" >/dev/null
fx_call A POST /api/v1/login "$(login_body "$acct" "$ticket")"
fx_expect_error 503 "two ahead with room for two" "前面还有 2 人"
# the fourth goes through: in, and the password is still judged
fx_redis zrem "$live" "$(printf 'a%031d' 4)" >/dev/null
fx_call B POST /api/v1/login "$(login_body "$acct" "$ticket" 'Wrong#Passw0rd')"
fx_expect_code 401 "let in from the queue, a wrong password is refused"
fx_check "the ticket left the queue when it was let in" \
    test -z "$(fx_redis zscore "$live" "$ticket")"
fx_call A POST /api/v1/login "$(login_body "$acct" "$ticket")"
fx_expect_error 503 "a used ticket gives no place: it waits behind the others as a new arrival" "排队中"
fx_check "the used ticket was not taken again" test "$(jq -r .error.queue_ticket <<<"$FX_BODY")" != "$ticket"

# the fifth holder and the ones behind are not back by their time: dropped; the second
# physician's place is now first, and the login goes in
t=$(now_ms)
for id in $(fx_redis zrange "$live" 0 -1); do
    [ "$id" = "$ticket2" ] || fx_redis zadd "$seen" $((t - 1)) "$id" >/dev/null
done
fx_call A POST /api/v1/login "$(login_body "$acct2" "$ticket2")"
fx_expect_code 200 "once the quiet holders are dropped, the one who kept coming back goes in"
fx_expect_eq "$(fx_redis zcard "$live")" 0 "the queue is empty"
fx_check "the node counts a refusal with a place" test "$(fx_metric A examd_login_queue_told_to_wait)" -ge 1
fx_check "the node counts a queued login let in" test "$(fx_metric A examd_login_queue_admitted)" -ge 1

# a burst: 12 first arrivals at once on a node with room for 2 (their argon2id keeps the
# first ones in flight): never more than the room let in at once, the others get places
fx_expect_eq "$(fx_redis zcard "$live")" 0 "the queue is empty before the burst"
burst=()
for i in $(seq 12); do
    curl -s --max-time 30 --interface "$FX_SRC" -o "$FX_TMP/burst.$i" -w '%{http_code}\n' \
        -H 'Content-Type: application/json' --data-binary "$(login_body "$acct")" \
        "${FX_URL[A]}/api/v1/login" >"$FX_TMP/burst.$i.code" &
    burst+=($!)
done
wait "${burst[@]}" # not a bare wait: the examd nodes are our children too
codes=$(cat "$FX_TMP"/burst.*.code | sort | uniq -c | tr -s ' ' | tr '\n' ';')
in=$(cat "$FX_TMP"/burst.*.code | grep -c '^200$')
queued=$(grep -l '"queue_ticket":"[0-9a-f]\{32\}"' "$FX_TMP"/burst.[0-9]* | wc -l)
echo "burst of 12: $codes"
fx_check "the burst: at least one let in ($codes)" test "$in" -ge 1
fx_check "the burst: the others got places, none a bare 503 ($codes; $queued with a ticket)" \
    test $((in + queued)) -eq 12
for n in A B; do
    fx_expect_eq "$(fx_metric "$n" examd_logins_in_flight)" 0 "no login is left counted in flight on $n"
done

# one address holds at most login_queue_max_per_addr places (2 on node C)
fx_redis del "$live" "$seen" "$ownerk" "$addrsk" >/dev/null
fx_examd_start C DK_LOGIN_QUEUE="$q" DK_HASH_QUEUE=2 DK_LOGIN_QUEUE_MAX_PER_ADDR=2
t=$(now_ms)
for i in 1 2 3 4 5; do # five holders from elsewhere
    fx_redis zadd "$live" "$i" "$(printf 'b%031d' "$i")" >/dev/null # ahead of any new arrival
    fx_redis zadd "$seen" $((t + 60000)) "$(printf 'b%031d' "$i")" >/dev/null
done
fx_call C POST /api/v1/login "$(login_body "$acct")"
fx_expect_error 503 "the address's first place" "排队中"
tA=$(jq -r .error.queue_ticket <<<"$FX_BODY")
fx_call C POST /api/v1/login "$(login_body "$acct2")"
fx_expect_error 503 "the address's second place" "排队中"
tB=$(jq -r .error.queue_ticket <<<"$FX_BODY")
fx_expect_eq "$(fx_redis hget "$addrsk" "$FX_SRC")" 2 "the address holds two places"
fx_call C POST /api/v1/login "$(login_body "$acct")"
fx_expect_error 429 "a third first arrival from the address" "排队登录的人数过多"
fx_check "429 with a Retry-After" test -n "$(fx_header Retry-After)"
fx_expect_eq "$(jq -r '.error.queue_ticket // ""' <<<"$FX_BODY")" "" "and no ticket"
fx_expect_eq "$(fx_redis zcard "$live")" 7 "no place was taken: the five and the address's two"
fx_call C POST /api/v1/login "$(login_body "$acct" "$tA")"
fx_expect_error 503 "a holder from that address coming back keeps its place" "前面还有 5 人"
fx_expect_eq "$(jq -r .error.queue_ticket <<<"$FX_BODY")" "$tA" "the same ticket"
fx_redis zadd "$seen" $(($(now_ms) - 1)) "$tB" >/dev/null # tB's holder did not come back
fx_call C POST /api/v1/login "$(login_body "$acct2")"
fx_expect_error 503 "once one of its places is gone, the address may take one again" "排队中"
fx_check "a new ticket" test "$(jq -r .error.queue_ticket <<<"$FX_BODY")" != "$tB"
fx_expect_eq "$(fx_redis hget "$addrsk" "$FX_SRC")" 2 "the count followed: one dropped, one taken"
fx_expect_eq "$(fx_metric C examd_login_queue_addr_refused)" 1 "the node counts the refusal"
fx_finish
