#!/usr/bin/env bash
# exam_script_flush: examd sends its Lua scripts as EVALSHA and keeps working when Redis
# forgets them. examd runs against a Redis of this test's own (the shared one serves
# other tests, whose clients would load the scripts back at any moment and whose calls
# would blur the command counts), with MariaDB shared as usual:
#   - in normal operation answers go as EVALSHA only: answering 10 more questions adds
#     no EVAL to Redis's command counts;
#   - SCRIPT FLUSH in the middle of the session (what a failover to a replica that never
#     ran the scripts looks like): the next answers are acknowledged, the first one after
#     the flush loads the script again with one EVAL, the rest go as EVALSHA;
#   - Redis restarted (its AOF keeps the data, not the script cache): after the
#     reconnection answers save again;
#   - the view shows every acknowledged answer, submit works (its scripts reload too)
#     and exam_answer holds every answer.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fixture.sh"
fx_init exam_script_flush "$1"
command -v redis-server >/dev/null || fx_skip "redis-server is not installed"

# ---- a Redis of our own, on a free port ----------------------------------------------------
rdir="$FX_TMP/redis"
mkdir -p "$rdir"
rport=
# Starts redis-server on $rport in $rdir (AOF on) and waits until it answers. The server
# that answers must be ours (its process_id): this test flushes and shuts it down.
redis_start() {
    [ -n "$(rr ping 2>/dev/null)" ] && return 1 # someone else's port
    redis-server --port "$rport" --bind 127.0.0.1 --dir "$rdir" --appendonly yes \
        --appendfsync always --save '' --logfile "$rdir/redis.log" &
    FX_PID[redis]=$!
    local i
    for i in $(seq 300); do
        if [ "$(rr ping 2>/dev/null)" = PONG ]; then
            [ "$(rr info server | tr -d '\r' | sed -n 's/^process_id://p')" = "${FX_PID[redis]}" ]
            return
        fi
        kill -0 "${FX_PID[redis]}" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
redis_forget() { # a redis_start that failed: its process, if any, goes
    kill -9 "${FX_PID[redis]}" 2>/dev/null
    wait "${FX_PID[redis]}" 2>/dev/null
    unset 'FX_PID[redis]'
}
rr() { redis-cli -p "$rport" --raw "$@"; }
for _ in $(seq 20); do
    rport=$((30000 + RANDOM % 20000))
    [ "$rport" = "$DK_REDIS_PORT" ] && continue
    redis_start && break
    redis_forget
    rport=
done
[ -n "$rport" ] || fx_fatal "could not start a private redis-server"

calls() { # CMD -> calls of that command since Redis started (0 if never)
    rr info commandstats | tr -d '\r' | sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p" |
        grep . || echo 0
}

fx_examd_start A DK_REDIS_PORT="$rport" DK_PROCTOR_INPROCESS=0
fx_sitting A
tok=$FX_TOKEN sid=$FX_SID
fx_keys "$sid" >"$FX_TMP/keys"
answers() { awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b {print $1, $3}' "$FX_TMP/keys"; }

# first answer: Redis has never seen the answer script (a fresh Redis), so this one may
# load it; from then on only EVALSHA
answers 1 1 >"$FX_TMP/a"
fx_put_answers A "$sid" "$tok" "$FX_TMP/a" || fx_fatal "the first answer was not acknowledged"
eval0=$(calls eval) sha0=$(calls evalsha)
answers 2 11 >"$FX_TMP/a"
fx_put_answers A "$sid" "$tok" "$FX_TMP/a" || fx_fatal "answers 2-11 were not acknowledged"
fx_expect_eq "$(calls eval)" "$eval0" "no EVAL for ten answers in normal operation"
fx_check "ten answers went as EVALSHA ($sha0 -> $(calls evalsha))" \
    [ "$(calls evalsha)" -ge $((sha0 + 10)) ]

# the script cache is emptied in the middle of the session
fx_expect_eq "$(rr script flush)" OK "SCRIPT FLUSH"
answers 12 21 >"$FX_TMP/a"
fx_put_answers A "$sid" "$tok" "$FX_TMP/a"
fx_expect_eq "$(calls eval)" "$((eval0 + 1))" \
    "after SCRIPT FLUSH the answer script is loaded again by exactly one EVAL"

# Redis restarts: the data comes back from the AOF, the script cache does not
rr shutdown >/dev/null 2>&1
wait "${FX_PID[redis]}" 2>/dev/null
unset 'FX_PID[redis]'
redis_start || { redis_forget; fx_fatal "the private redis-server did not come back on $rport"; }
fx_expect_eq "$(rr exists "sess:{$sid}")" 1 "the session is in Redis after the restart"
code=
for _ in $(seq 300); do # examd reconnects with a back-off of at most 2 s
    fx_call A PUT "/api/v1/sessions/$sid/answers/22" \
        "{\"choice\":\"$(answers 22 22 | cut -d' ' -f2)\"}" "$tok"
    code=$FX_CODE
    [ "$code" = 200 ] && break
    sleep 0.1
done
fx_expect_eq "$code" 200 "an answer is acknowledged once examd has reconnected"
answers 22 22 >>"$FX_TMP/acked.$sid"
answers 23 30 >"$FX_TMP/a"
fx_put_answers A "$sid" "$tok" "$FX_TMP/a"
fx_expect_eq "$(calls eval)" 1 "after the restart: one EVAL loaded the answer script again"
fx_check "the answers after the restart went as EVALSHA" [ "$(calls evalsha)" -ge 9 ]

# every acknowledged answer is there, and the session ends normally
fx_call A GET "/api/v1/sessions/$sid?brief=1" "" "$tok"
fx_expect_code 200 "the view after the flush and the restart"
sort -n "$FX_TMP/acked.$sid" | awk '{last[$1] = $2} END {for (n in last) print n, last[n]}' |
    sort -n >"$FX_TMP/expect"
fx_expect_eq "$(jq -r '.answers | to_entries[] | "\(.key) \(.value)"' <<<"$FX_BODY" | sort -n)" \
    "$(cat "$FX_TMP/expect")" "the view shows the 30 acknowledged answers"
fx_call A POST "/api/v1/sessions/$sid/submit" "" "$tok"
fx_expect_code 200 "submit (its claim and finish scripts load again after the restart)"
fx_expect_eq "$(jq .result.score <<<"$FX_BODY")" 30 "score: the 30 right answers"
fx_expect_eq "$(fx_sql "SELECT COUNT(choice) FROM exam_answer WHERE session_id = '$sid'")" 30 \
    "exam_answer holds the 30 answers"

fx_examd_stop A
fx_finish
