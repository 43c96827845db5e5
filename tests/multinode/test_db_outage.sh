#!/usr/bin/env bash
# multinode_db_outage: MariaDB down for 60 s in the middle of a paper loses nothing. A
# private MariaDB and Redis (db_nodes.sh), examd flushing every 300 ms. A physician
# answers 30 questions, which the flush writes to exam_answer; then mariadbd is killed
# with kill -9 and stays down for DK_TEST_DB_OUTAGE_S seconds (60 in CTest). Meanwhile
# the physician answers questions 31..100 and changes 1..5, in six batches spread over
# the outage: every answer must be acknowledged (Redis has it), and the session's clock
# reads go on. MariaDB comes back: within 30 s the flush has written exactly the
# acknowledged answers (the same rows, the same choices, nothing more), the submit
# scores them, and examd stops cleanly.
#
#   test_db_outage.sh EXAMD   (exit 77 when the tools are missing)
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
outage=${DK_TEST_DB_OUTAGE_S:-60}
. "$here/db_nodes.sh"
db_init multinode_db_outage "${1:-}"
t_start=$SECONDS
db_single_up

. "$here/../lib/fixture.sh"
fx_init multinode_db_outage "${1:-}"
db_trap

fx_examd_start A DK_FLUSH_PERIOD_MS=300 DK_MYSQL_TIMEOUT_MS=2000

fx_sitting A
sid=$FX_SID tok=$FX_TOKEN
fx_keys "$sid" >"$FX_TMP/keys"
# 1..30 right on odd numbers, wrong on even, before the outage
awk '$1 <= 30 {print $1, ($1 % 2 ? $3 : $4)}' "$FX_TMP/keys" >"$FX_TMP/before"
fx_put_answers A "$sid" "$tok" "$FX_TMP/before" || fx_fatal "answers before the outage were not acknowledged"
for _ in $(seq 100); do
    [ "$(fx_sql "SELECT COUNT(*) FROM exam_answer WHERE session_id = '$sid'")" = 30 ] && break
    sleep 0.1
done
fx_expect_eq "$(fx_sql "SELECT COUNT(*) FROM exam_answer WHERE session_id = '$sid'")" 30 \
    "answers flushed before the outage"

# ==== MariaDB down =====================================================================
t_down=$SECONDS
db_kill9 1
echo "MariaDB killed; down for $outage s"
# during the outage: 31..100 right on odd, wrong on even; 1..5 changed (odd now wrong,
# even now right); in six batches, one every outage/6 seconds
{
    awk '$1 > 30 {print $1, ($1 % 2 ? $3 : $4)}' "$FX_TMP/keys"
    awk '$1 <= 5 {print $1, ($1 % 2 ? $4 : $3)}' "$FX_TMP/keys"
} >"$FX_TMP/during"
split -n l/6 -d "$FX_TMP/during" "$FX_TMP/batch."
for b in "$FX_TMP"/batch.*; do
    fx_put_answers A "$sid" "$tok" "$b" ||
        fx_fail_msg "answers not acknowledged $((SECONDS - t_down)) s into the outage"
    fx_call A GET "/api/v1/sessions/$sid?brief=1" "" "$tok"
    fx_expect_code 200 "the session's clock $((SECONDS - t_down)) s into the outage"
    sleep "$(awk -v o="$outage" 'BEGIN { print o / 6 }')"
done
while [ $((SECONDS - t_down)) -lt "$outage" ]; do sleep 0.5; done
[ -z "$(db_sql 1 "SELECT 1" 2>/dev/null)" ] || fx_fatal "MariaDB answered during the outage"
echo "acknowledged during the outage: $(grep -c '' "$FX_TMP/during") answers"

# ==== MariaDB back: the flush catches up ================================================
db_start 1
t_up=$SECONDS
cat "$FX_TMP/before" "$FX_TMP/during" |
    awk '{a[$1] = $2} END {for (n in a) print n, a[n]}' | sort -n >"$FX_TMP/want" # the last per question
got() {
    fx_sql "SELECT question_no, IFNULL(choice, '') FROM exam_answer WHERE session_id = '$sid'
            ORDER BY question_no" | tr '\t' ' '
}
for _ in $(seq 300); do # 30 s
    [ "$(got)" = "$(cat "$FX_TMP/want")" ] && break
    sleep 0.1
done
got >"$FX_TMP/db"
echo "after the restart: $(grep -c '' "$FX_TMP/db") rows in exam_answer in $((SECONDS - t_up)) s"
fx_expect_eq "$(grep -c '' "$FX_TMP/db")" 100 "rows in exam_answer after the outage"
fx_expect_eq "$(diff "$FX_TMP/want" "$FX_TMP/db" | grep -c '^[<>]')" 0 \
    "answers whose row differs from the acknowledged choice (diff want db: $(diff "$FX_TMP/want" "$FX_TMP/db" | head -n 4 | tr '\n' ' '))"

fx_call A POST "/api/v1/sessions/$sid/submit" "" "$tok"
fx_expect_code 200 "the submit after the outage"
# right: odd 7..99 and even 2, 4 (changed): 47 + 2
want=$(awk '{ r = $1 % 2; if ($1 <= 5) r = !r; s += r } END { print s }' "$FX_TMP/keys")
fx_expect_eq "$(jq -r .result.score <<<"$FX_BODY")" "$want" "the score of the acknowledged answers"
fx_expect_eq "$(fx_sql "SELECT COUNT(*), MAX(score) FROM exam_result WHERE session_id = '$sid'" | tr '\t' ' ')" \
    "1 $want" "one exam_result"

fx_examd_stop A
echo "total $((SECONDS - t_start)) s"
fx_finish
