#!/usr/bin/env bash
# bench/run_pairs.sh - a before/after comparison that the machine's noise cannot fake:
# run_exam_bench.sh N times for each of two examd binaries, alternating (new, old, new,
# old, ...), then one table of the figures that decide, per run, with the load average
# at each run's start, and the median and spread (min..max) per binary.
#
#   bench/run_pairs.sh OLD_EXAMD SCENARIO [N] [dkbench run options...]
#   e.g. bench/run_pairs.sh /work/wt-before/build-rel/exam-engine/examd start 3
#
# NEW is this checkout's release examd (build-bench/, built first unless DK_BENCH_BUILD=0).
# SCENARIO: saturation (answer saves / bare ratio), start (last paper, arrival -> paper
# p50, 429/503 retries), waiting (start with the window opening DK_BENCH_OPENING_S [240]
# after the phase begins, arrivals before it: opening -> paper max and p99, papers within
# 10 s of the opening), steady (answer p99 from due time and on the wire, resume p50,
# submit p50). Every run's full output stays in bench/results/ as run_exam_bench.sh writes
# it; the table goes to stdout and to bench/results/pairs-<scenario>-<UTC time>.txt.
# Environment: as run_exam_bench.sh (DK_BENCH_PHYSICIANS, ...).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(dirname "$here")
[[ $# -ge 2 ]] || { sed -n '2,16p' "$0" >&2; exit 2; }
old=$1 scenario=$2 n=${3:-3}
shift 2; [[ $# -gt 0 ]] && shift
[[ -x $old ]] || { echo "run_pairs: $old is not an executable" >&2; exit 2; }
case $scenario in saturation | start | steady | waiting) ;; *) echo "run_pairs: scenario saturation, start, waiting or steady" >&2; exit 2 ;; esac
run_scenario=$scenario extra=()
if [[ $scenario == waiting ]]; then
    run_scenario=start extra=(--opening-in-s "${DK_BENCH_OPENING_S:-240}")
fi
new=${DK_BENCH_BUILD_DIR:-$repo/build-bench}/exam-engine/examd
if [[ ${DK_BENCH_BUILD:-1} != 0 ]]; then
    cmake -S "$repo" -B "${DK_BENCH_BUILD_DIR:-$repo/build-bench}" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "${DK_BENCH_BUILD_DIR:-$repo/build-bench}" -j"$(nproc)" >/dev/null
fi
jsons=$(mktemp /tmp/dk-pairs.XXXXXX)
trap 'rm -f "$jsons"' EXIT
for i in $(seq "$n"); do
    for which in new old; do
        bin=$new; [[ $which == old ]] && bin=$old
        echo "run_pairs: run $i of $n, $which ($bin)" >&2
        line=$(DK_BENCH_BUILD=0 DK_BENCH_EXAMD=$bin "$here/run_exam_bench.sh" --scenario "$run_scenario" "${extra[@]}" "$@" |
            sed -n 's/^DKBENCH_JSON //p' | tail -1)
        [[ -n $line ]] || { echo "run_pairs: run $i ($which) printed no DKBENCH_JSON" >&2; exit 1; }
        jq -c --arg which "$which" --argjson run "$i" '{which: $which, run: $run, j: .}' <<<"$line" >>"$jsons"
    done
done
out=$here/results/pairs-$scenario-$(date -u +%Y-%m-%dT%H%MZ).txt
case $scenario in
saturation) cols='["ratio", "answers/s", "bare/s"]'
    pick='[.j.targets.saturation.ratio, .j.targets.saturation.answers_per_s, .j.targets.saturation.bare_per_s]' ;;
start) cols='["last paper s", "arrival->paper p50 s", "login p50 ms", "retries"]'
    pick='[.j.targets.start.last_paper_s, .j.targets.start.arrival_to_paper.p50_ms / 1000,
           .j.phases.start.routes.login.latency.p50_ms, .j.targets.start.retried_429_503]' ;;
waiting) cols='["opening->paper max s", "p99 s", "within 10 s", "got paper"]'
    pick='[.j.targets.waiting.opening_to_paper.max_ms / 1000, .j.targets.waiting.opening_to_paper.p99_ms / 1000,
           .j.targets.waiting.within_10s, .j.targets.waiting.got_paper]' ;;
steady) cols='["answer p99 ms", "on the wire p99 ms", "resume p50 ms", "submit p50 ms"]'
    pick='[.j.targets.steady.answer_p99_ms, .j.targets.steady.answer_service_p99_ms,
           .j.phases.steady.routes.resume.latency.p50_ms, .j.phases.steady.routes.submit.latency.p50_ms]' ;;
esac
{
    echo "# bench/run_pairs.sh $old $scenario $n $*"
    echo "# new: $new (commit $(git -C "$repo" rev-parse --short HEAD)); old: $old"
    jq -rs --argjson cols "$cols" "
        def r: . * 100 | round / 100;
        def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
        (\"run  which  load1  \" + (\$cols | join(\"  |  \"))),
        (.[] | \"\(.run)    \(.which)    \(.j.machine.load_start[0] | r)    \" + ($pick | map(r | tostring) | join(\"  |  \"))),
        \"\",
        (group_by(.which)[] | .[0].which as \$w | [.[] | $pick] as \$rows |
            \"\(\$w): median (min..max) of \(\$rows | length) runs: \" +
            ([range(\$cols | length)] | map(. as \$c | [\$rows[][\$c]] |
                \"\(\$cols[\$c]) \(med | r) (\(min | r)..\(max | r))\") | join(\"; \")))
    " "$jsons"
} | tee "$out"
