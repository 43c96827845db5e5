#!/usr/bin/env bash
# multinode_failover_<lb>: two examd nodes behind a load balancer (nginx or HAProxy, run
# from deploy/multinode/'s template) on loopback, one killed with kill -9 mid-exam.
# A physician logs in, starts and answers through the balancer (both nodes serve); while
# answers stream in at a physician's pace and the page polls its clock, node A is frozen
# until requests (a resume of the session among them) wait inside it, then killed: the
# balancer must resend them to B. The physician goes on answering, changes earlier
# answers and submits, all through the balancer. A PUT that fails is retried by the
# client as the exam page does, and every answer must end acknowledged; the test reports
# how many failed. Then MariaDB holds every acknowledged answer in exam_answer of the
# submitted session, one exam_result with their score and one submit in the audit log.
# A second physician who starts after the kill is served by the survivor from login to
# result without a single error.
#
#   test_failover.sh EXAMD [nginx|haproxy]   (exit 77 when the balancer is not installed)
set -u
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
render=$here/../../deploy/multinode/render.sh
lb_kind=${2:-nginx}
case $lb_kind in
nginx) lb_pkg=nginx ;;
haproxy) lb_pkg=haproxy ;;
*) echo "usage: test_failover.sh EXAMD [nginx|haproxy]"; exit 2 ;;
esac
if ! command -v "$lb_kind" >/dev/null || ! "$lb_kind" -v >/dev/null 2>&1; then
    echo "SKIP: $lb_kind is not installed (or does not run): this test runs examd behind it" \
        "(apt-get install $lb_pkg)"
    exit 77
fi

. "$here/../lib/fixture.sh"
fx_init "multinode_failover_$lb_kind" "${1:-}"

LB_PID=
LB_DIR=$FX_TMP/lb
LB_LOG= # one line per request: ... "METHOD PATH" STATUS up=[ADDR(, ADDR)*] ...

mn_cleanup() {
    local rc=$?
    mn_lb_stop
    if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -n "$LB_LOG" ]; then
        echo "---- last lines of the $lb_kind log"
        tail -n 30 "$LB_DIR/error.log" "$LB_DIR/lb.out" 2>/dev/null
        echo "---- last requests through the $lb_kind"
        tail -n 30 "$LB_LOG" 2>/dev/null
    fi
    (exit "$rc")
    fx_cleanup
}
trap mn_cleanup EXIT

# The balancer was started with setsid: it leads its own process group, which holds its
# workers too. A graceful stop first (nginx QUIT, haproxy USR1), then SIGKILL to the group.
mn_lb_stop() {
    [ -n "$LB_PID" ] || return 0
    local sig=QUIT i
    [ "$lb_kind" = haproxy ] && sig=USR1
    kill -"$sig" "$LB_PID" 2>/dev/null
    for i in $(seq 100); do
        fx_exited "$LB_PID" && break
        sleep 0.1
    done
    fx_exited "$LB_PID" || echo "note: $lb_kind (pid $LB_PID) ignored SIG$sig; SIGKILL"
    kill -KILL -- "-$LB_PID" 2>/dev/null
    wait "$LB_PID" 2>/dev/null
    LB_PID=
}

# A port below the ephemeral range (where the kernel puts examd's port 0 and every
# client's source port); when the bind still fails, another one.
mn_lb_start() { # NODE_URL...
    local nodes=() u lo port try code i
    for u in "$@"; do nodes+=("${u#http://}"); done
    lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    [[ ${lo:-} =~ ^[0-9]+$ ]] && [ "$lo" -gt 12000 ] || lo=32768
    mkdir -p "$LB_DIR/tmp"
    for try in $(seq 20); do
        port=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
        "$render" "$lb_kind" --listen "127.0.0.1:$port" --run-dir "$LB_DIR" --user "$(id -un)" \
            --workers 1 "${nodes[@]}" >"$LB_DIR/$lb_kind.conf" || fx_fatal "render.sh failed"
        : >"$LB_DIR/lb.out"
        if [ "$lb_kind" = nginx ]; then
            LB_LOG=$LB_DIR/access.log
            setsid nginx -p "$LB_DIR" -c "$LB_DIR/nginx.conf" -e "$LB_DIR/error.log" \
                -g 'daemon off;' </dev/null >>"$LB_DIR/lb.out" 2>&1 &
        else
            LB_LOG=$LB_DIR/lb.out # haproxy logs its requests to stderr
            setsid haproxy -db -f "$LB_DIR/haproxy.conf" </dev/null >>"$LB_DIR/lb.out" 2>&1 &
        fi
        LB_PID=$!
        FX_URL[LB]="http://127.0.0.1:$port"
        for i in $(seq 300); do # 30 s
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${FX_URL[LB]}/healthz")
            [ "$code" = 200 ] && return 0
            fx_exited "$LB_PID" && break
            sleep 0.1
        done
        if fx_exited "$LB_PID" &&
            grep -qiE 'address already in use|cannot bind' "$LB_DIR/lb.out" "$LB_DIR/error.log" 2>/dev/null; then
            wait "$LB_PID" 2>/dev/null
            LB_PID=
            continue
        fi
        fx_fatal "$lb_kind does not answer /healthz on port $port (last: $code)"
    done
    fx_fatal "no free port for $lb_kind after 20 tries"
}

# ---- what the balancer's log says ----------------------------------------------------------

mn_served() { # FROM_LINE METHOD_RE NODE_URL -> requests from line FROM_LINE on answered by NODE
    tail -n +"$1" "$LB_LOG" | grep -E "\"$2 " | grep -cE "up=\[([^]]*, )?${3#http://}\]"
}
mn_resent() { # FROM_LINE -> requests that the balancer sent to a second node
    if [ "$lb_kind" = nginx ]; then
        tail -n +"$1" "$LB_LOG" | grep -c 'up=\[[^]]*, '
    else
        tail -n +"$1" "$LB_LOG" | grep -cE 'retries=\+?[1-9]'
    fi
}
mn_lines() { grep -c '' "$LB_LOG" 2>/dev/null || echo 0; }
# mn_unread PORT: how many connections to PORT hold bytes that no process has read yet
# (/proc/net/tcp: local address :PORT in hex, state 01 established, rx_queue not zero)
mn_unread() {
    awk -v p=":$(printf '%04X' "$1")" \
        'substr($2, length($2) - 4) == p && $4 == "01" && substr($5, 10) != "00000000" { n++ }
         END { print n + 0 }' /proc/net/tcp
}
# A balancer logs a request once its reply is out: wait until the log stops growing.
mn_settle() {
    local n=-1 m i
    for i in $(seq 50); do
        m=$(mn_lines)
        [ "$m" = "$n" ] && return 0
        n=$m
        sleep 0.2
    done
}

# ---- the client ----------------------------------------------------------------------------

# One PUT through the balancer until it is acknowledged (200 with the choice echoed), as
# the exam page retries a failed save: 0.2 s, 0.4 s, ... up to 45 s in all.
# NO CHOICE; prints the number of failed attempts; appends "NO CHOICE" to acked.
mn_put_until_acked() {
    local no=$1 c=$2 fails=0 delay=0.2 t0=$SECONDS
    while :; do
        fx_call LB PUT "/api/v1/sessions/$sid/answers/$no" "{\"choice\":\"$c\"}" "$tok"
        if [ "$FX_CODE" = 200 ] && [ "$(jq -r .choice <<<"$FX_BODY" 2>/dev/null)" = "$c" ]; then
            echo "$no $c" >>"$FX_TMP/acked"
            echo "$fails"
            return 0
        fi
        fails=$((fails + 1))
        echo "  answer $no='$c' failed (HTTP $FX_CODE ${FX_BODY:0:120}); retrying" >&2
        [ $((SECONDS - t0)) -lt 45 ] || { echo "$fails"; return 1; }
        sleep "$delay"
        delay=$(awk -v d="$delay" 'BEGIN { d *= 2; print (d > 3 ? 3 : d) }')
    done
}

# A stream of answers over one keep-alive connection to the balancer at RATE per second
# (a physician's pace, compressed): FILE of "NO CHOICE" -> $FX_TMP/stream/codes with
# "HTTP_CODE NO CHOICE" per answer and the bodies in $FX_TMP/stream/N.
mn_stream() { # FILE RATE
    local cfg=$FX_TMP/stream.cfg no c i=0
    rm -rf "$FX_TMP/stream" && mkdir -p "$FX_TMP/stream"
    : >"$cfg"
    while read -r no c; do
        [ $i -gt 0 ] && printf 'next\n' >>"$cfg"
        i=$((i + 1))
        printf 'url = "%s/api/v1/sessions/%s/answers/%s"\nrequest = "PUT"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata-binary = "{\\"choice\\":\\"%s\\"}"\noutput = "%s/stream/%d"\nwrite-out = "%%{http_code} %s %s\\n"\ninterface = "%s"\nmax-time = 40\nsilent\n' \
            "${FX_URL[LB]}" "$sid" "$no" "$tok" "$c" "$FX_TMP" "$i" "$no" "$c" "$FX_SRC" >>"$cfg"
    done <"$1"
    curl --rate "$2/s" -K "$cfg" >"$FX_TMP/stream/codes"
}

# The exam page polls its clock meanwhile (GET, brief): N polls at RATE per second;
# prints how many did not get a 200.
mn_poll() { # N RATE
    local cfg=$FX_TMP/poll.cfg i
    : >"$cfg"
    for i in $(seq "$1"); do
        [ "$i" -gt 1 ] && printf 'next\n' >>"$cfg"
        printf 'url = "%s/api/v1/sessions/%s?brief=1"\nheader = "Authorization: Bearer %s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\ninterface = "%s"\nmax-time = 40\nsilent\n' \
            "${FX_URL[LB]}" "$sid" "$tok" "$FX_SRC" >>"$cfg"
    done
    curl --rate "$2/s" -K "$cfg" | grep -vc '^200$'
}

# ==== two nodes, one balancer =================================================================

node_env=(DK_HTTP_TRUSTED_PROXIES=127.0.0.1 DK_PROCTOR_INPROCESS=0)
fx_examd_start A "${node_env[@]}"
fx_examd_start B "${node_env[@]}"
mn_lb_start "${FX_URL[A]}" "${FX_URL[B]}"
echo "nodes A=${FX_URL[A]} B=${FX_URL[B]} behind $lb_kind at ${FX_URL[LB]}"

# ==== physician 1: start and answer through the balancer ======================================

fx_sitting LB
tok=$FX_TOKEN sid=$FX_SID
clock=$(jq -r '"\(.started_at) \(.deadline)"' <<<"$FX_BODY")
nq=$(jq '.paper_detail.questions | length' <<<"$FX_BODY")
[ "$nq" -ge 60 ] 2>/dev/null || fx_fatal "the paper has $nq questions; the test needs at least 60"
fx_keys "$sid" >"$FX_TMP/keys"
# right answers on odd numbers, wrong ones on even numbers (multi-letter X answers too)
awk '{print $1, ($1 % 2 ? $3 : $4)}' "$FX_TMP/keys" >"$FX_TMP/all"
: >"$FX_TMP/acked"

# part 1: a third of the paper, over one connection; round robin spreads it over A and B
from=$(($(mn_lines) + 1))
head -n $((nq / 3)) "$FX_TMP/all" >"$FX_TMP/part1"
fx_put_answers LB "$sid" "$tok" "$FX_TMP/part1" || fx_fatal "answers before the kill were not all acknowledged"
cat "$FX_TMP/acked.$sid" >>"$FX_TMP/acked"
mn_settle
onA=$(mn_served "$from" PUT "${FX_URL[A]}")
onB=$(mn_served "$from" PUT "${FX_URL[B]}")
echo "before the kill: $((nq / 3)) answers acknowledged, $onA served by A and $onB by B"
fx_check "both nodes served answers before the kill (A $onA, B $onB)" [ "$onA" -gt 0 ] && [ "$onB" -gt 0 ]

# ==== part 2: answers stream in, the page polls, and node A dies in the middle ================

tail -n +$((nq / 3 + 1)) "$FX_TMP/all" >"$FX_TMP/part2"
n2=$(grep -c '' "$FX_TMP/part2")
from=$(($(mn_lines) + 1))
mn_stream "$FX_TMP/part2" 25 &
stream=$!
mn_poll 60 20 >"$FX_TMP/poll.failed" &
poll=$!
# Once a quarter of the stream has gone through, node A is frozen (SIGSTOP): the stream
# and the poll soon wait on it. The page then resumes the session (POST /sessions, as
# after a reload) until one resume waits inside A too; then A is killed. So requests
# are inside the node when it dies, every time, a start among them (resent under
# non_idempotent / as replayable), not only when the timing happens to fall that way.
for _ in $(seq 3000); do # 60 s at most
    [ "$(tail -n +"$from" "$LB_LOG" | grep -c '"PUT ')" -ge $((n2 / 4)) ] && break
    fx_exited "$stream" && break
    sleep 0.02
done
fx_exited "$stream" && fx_fail_msg "the answer stream ended before the kill (the kill came late)"
portA=${FX_URL[A]##*:}
kill -STOP "${FX_PID[A]}"
sleep 0.3
resume=
for try in 1 2 3 4 5 6; do
    n0=$(mn_unread "$portA")
    curl -s --max-time 40 --interface "$FX_SRC" -X POST -H "Authorization: Bearer $tok" \
        -H 'Content-Type: application/json' --data-binary '{"paper":"业务水平"}' \
        -o "$FX_TMP/resume.$try" -w '%{http_code}' "${FX_URL[LB]}/api/v1/sessions" \
        >"$FX_TMP/resume.$try.code" &
    r=$!
    for _ in $(seq 100); do # 2 s
        fx_exited "$r" && break
        [ "$(mn_unread "$portA")" -gt "$n0" ] && { resume=$r; break 2; }
        sleep 0.02
    done
    wait "$r" # answered by B: the same session
    fx_expect_eq "$(cat "$FX_TMP/resume.$try.code") $(jq -r .session_id "$FX_TMP/resume.$try")" "200 $sid" \
        "resuming while node A is frozen"
done
inside=$(mn_unread "$portA")
killed_at=$(mn_lines)
before_kill_A=$(mn_served "$from" PUT "${FX_URL[A]}")
fx_examd_kill9 A
echo "node A killed with SIGKILL after $((killed_at - from + 1)) requests of part 2" \
    "($before_kill_A answers on A); $inside request(s) were inside it, a resume among them: ${resume:+yes}"
fx_check "requests reached node A while it was frozen, before the kill" [ "$inside" -gt 0 ]
if [ -n "$resume" ]; then
    wait "$resume"
    fx_expect_eq "$(cat "$FX_TMP/resume.$try.code") $(jq -r '"\(.session_id) \(.started_at) \(.deadline)"' "$FX_TMP/resume.$try")" \
        "200 $sid $clock" "the resume that was inside node A when it died: the same session and clock"
else
    fx_fail_msg "no resume reached node A in 6 tries (round robin should send every other one)"
fi
wait "$stream"
wait "$poll"
poll_failed=$(cat "$FX_TMP/poll.failed")

# what the stream got: acknowledged, or retried by the client until acknowledged
failed_puts=0
retried=0
k=0
while read -r code no c; do
    k=$((k + 1))
    got=$(jq -r .choice "$FX_TMP/stream/$k" 2>/dev/null)
    if [ "$code" = 200 ] && [ "$got" = "$c" ]; then
        echo "$no $c" >>"$FX_TMP/acked"
    else
        echo "  answer $no='$c' was not acknowledged in the stream (HTTP $code $(head -c 120 "$FX_TMP/stream/$k" 2>/dev/null))"
        failed_puts=$((failed_puts + 1))
        f=$(mn_put_until_acked "$no" "$c") || fx_fail_msg "answer $no was never acknowledged (45 s of retries)"
        retried=$((retried + ${f:-0}))
    fi
done <"$FX_TMP/stream/codes"
fx_expect_eq "$k" "$n2" "replies to the answer stream"
mn_settle
after_kill=$(tail -n +"$((killed_at + 1))" "$LB_LOG" | grep -c '"PUT ')
fx_check "answers went on after the kill ($after_kill PUTs after it)" [ "$after_kill" -gt 0 ]
resent_inside=$(mn_resent "$((killed_at + 1))")
if [ "$lb_kind" = nginx ]; then
    resent_start=$(tail -n +"$((killed_at + 1))" "$LB_LOG" | grep '"POST /api/v1/sessions"' | grep -c 'up=\[[^]]*, ')
else
    resent_start=$(tail -n +"$((killed_at + 1))" "$LB_LOG" | grep '"POST /api/v1/sessions"' | grep -cE 'retries=\+?[1-9]')
fi
fx_check "the balancer resent the start that was inside node A" [ "$resent_start" -gt 0 ]
echo "resent after the kill (first 3):"
if [ "$lb_kind" = nginx ]; then
    tail -n +"$((killed_at + 1))" "$LB_LOG" | grep 'up=\[[^]]*, ' | head -n 3 | sed 's/^/  /'
else
    tail -n +"$((killed_at + 1))" "$LB_LOG" | grep -E 'retries=\+?[1-9]' | head -n 3 | sed 's/^/  /'
fi
fx_check "the request inside node A when it died was resent by the balancer" [ "$resent_inside" -gt 0 ]

# part 3: the physician changes the first five answers (some were saved by A, now dead)
: >"$FX_TMP/part3"
for no in 1 2 3 4 5; do
    awk -v n="$no" '$1 == n {print $1, ($1 % 2 ? $4 : $3)}' "$FX_TMP/keys" >>"$FX_TMP/part3"
done
while read -r no c; do
    f=$(mn_put_until_acked "$no" "$c") || fx_fail_msg "changed answer $no was never acknowledged"
    failed_puts=$((failed_puts + ${f:-0}))
done <"$FX_TMP/part3"

resent=$(mn_resent 1)
echo "after the kill: $failed_puts answer PUT(s) failed at the client and were retried" \
    "($retried retry failures), $poll_failed of 60 clock polls failed; the balancer resent" \
    "$resent request(s) to the other node itself"

# the last acknowledged choice of every question; the server must show exactly that
awk '{a[$1] = $2} END {for (n in a) print n, a[n]}' "$FX_TMP/acked" | sort -n >"$FX_TMP/final"
fx_expect_eq "$(grep -c '' "$FX_TMP/final")" "$nq" "questions with an acknowledged answer"
fx_call LB GET "/api/v1/sessions/$sid?brief=1" "" "$tok"
fx_expect_code 200 "the session through the balancer after the kill"
fx_expect_eq "$(jq -r '"\(.started_at) \(.deadline)"' <<<"$FX_BODY")" "$clock" "started_at and deadline unchanged"
fx_check "time remains ($(jq -r .remaining_ms <<<"$FX_BODY") ms)" [ "$(jq -r '.remaining_ms > 0' <<<"$FX_BODY")" = true ]
jq -r '.answers | to_entries[] | "\(.key) \(.value)"' <<<"$FX_BODY" | sort -n >"$FX_TMP/shown"
fx_check "the session shows every acknowledged answer, as acknowledged ($(diff "$FX_TMP/final" "$FX_TMP/shown" | grep -c '^[<>]') differences)" \
    cmp -s "$FX_TMP/final" "$FX_TMP/shown"

# ==== physician 2 starts after the kill: the survivor serves every step =======================

from=$(($(mn_lines) + 1))
read -r p2 acct2 < <(fx_new_physician 0)
[ -n "${p2:-}" ] || fx_fatal "could not create the second physician"
tok2=$(fx_login LB "$acct2")
fx_call LB POST /api/v1/sessions '{"paper":"业务水平"}' "$tok2"
fx_expect_code 200 "the second physician starts after the kill"
sid2=$(jq -r .session_id <<<"$FX_BODY")
if [ "$FX_CODE" = 200 ]; then
    fx_keys "$sid2" | head -n 10 | awk '{print $1, $3}' >"$FX_TMP/p2answers"
    fx_check "the second physician's answers are acknowledged" \
        fx_put_answers LB "$sid2" "$tok2" "$FX_TMP/p2answers"
    fx_call LB POST "/api/v1/sessions/$sid2/submit" "" "$tok2"
    fx_expect_code 200 "the second physician submits"
    fx_expect_eq "$(jq -r '.result.score' <<<"$FX_BODY")" 10 "the second physician's score (10 right answers)"
    fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM exam_result WHERE session_id = '$sid2'")" 1 \
        "the second physician's result in MariaDB"
fi
mn_settle
servedB=$(mn_served "$from" '[A-Z]+' "${FX_URL[B]}")
total2=$(tail -n +"$from" "$LB_LOG" | grep -c '"[A-Z]* /api/')
fx_expect_eq "$servedB" "$total2" "requests of the second physician answered by the survivor"
bad2=$(tail -n +"$from" "$LB_LOG" | grep '"[A-Z]* /api/' | grep -cvE '" (200|202) ')
fx_expect_eq "$bad2" 0 "errors seen by the second physician"

# ==== physician 1 submits through the balancer; MariaDB has it all, once =====================

fx_call LB POST "/api/v1/sessions/$sid/submit" "" "$tok"
[ "$FX_CODE" = 200 ] || fx_fatal "submit through the balancer: HTTP $FX_CODE $FX_BODY"
result=$(jq -c .result <<<"$FX_BODY")
# (the repeat is read back from Redis, which does not keep pass_mark: compare the rest)
same='.result | {score, total, passed, enrolment_status}'
fx_call LB POST "/api/v1/sessions/$sid/submit" "" "$tok"
fx_expect_eq "$FX_CODE $(jq -c "$same" <<<"$FX_BODY")" "200 $(jq -c "{result: .} | $same" <<<"$result")" \
    "submitting again shows the same result"

fx_expect_eq "$(fx_sql "SELECT status, submitted_by FROM exam_session WHERE id = '$sid'" | tr '\t' ' ')" \
    "submitted physician" "the session in MariaDB"
fx_sql "SELECT question_no, IFNULL(choice, '') FROM exam_answer WHERE session_id = '$sid'
        ORDER BY question_no" | tr '\t' ' ' >"$FX_TMP/db"
missing=$(join -v1 <(sed 's/ /:/' "$FX_TMP/final" | sort) <(sed 's/ /:/' "$FX_TMP/db" | sort) | tr '\n' ' ')
fx_expect_eq "$missing" "" "acknowledged answers missing from exam_answer (or with another choice)"
extra=$(join -v2 <(sed 's/ /:/' "$FX_TMP/final" | sort) <(sed 's/ /:/' "$FX_TMP/db" | sort) | tr '\n' ' ')
fx_expect_eq "$extra" "" "rows of exam_answer that were never acknowledged"
# one point per right answer: the odd ones and the changed 2 and 4, not the changed 1, 3, 5
want=$(awk '{ r = $1 % 2; if ($1 <= 5) r = !r; s += r } END { print s }' "$FX_TMP/keys")
fx_expect_eq "$(jq -r .score <<<"$result")" "$want" "the score of the acknowledged answers"
fx_expect_eq "$(fx_sql "SELECT COUNT(*), MAX(score) FROM exam_result WHERE session_id = '$sid'" | tr '\t' ' ')" \
    "1 $(jq -r .score <<<"$result")" "one exam_result with the score the physician was shown"
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'exam_session'
                        AND entity_id = '$sid' AND to_status = 'submitted'")" 1 "submits in the audit log"
echo "physician 1: $(grep -c '' "$FX_TMP/db") answers in exam_answer, result $result"

# ==== the survivor and the balancer stop cleanly =============================================

fx_examd_stop B
mn_lb_stop
fx_finish
