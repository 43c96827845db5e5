#!/bin/sh
# bench_alternate.sh - proctorbench and the reference pipeline (shared/anchors/facepipe),
# run one after the other N times, so that both see the same load; prints one row per
# run (with the load average at its start) and the median and range of each column.
#
#   proctor/bench_alternate.sh [-n RUNS] [-b BUILD_DIR] [-r ROUNDS] [-p PASSES] [-q QUEUE_N]
#                              [-i]
#
#   -n  alternations (default 3)
#   -b  a Release build tree with bench/proctorbench (default build-rel)
#   -r  proctorbench --rounds (default 4: 4 passes over its 69 webcam captures per figure)
#   -p  facepipe --bench passes (default 3: 3 passes over its 58 webcam captures)
#   -q  captures through the queue per run (default 300; 0 = no queue figure). The queue
#       needs the stack (deploy/stack.sh up, same DK_* environment); without it
#       proctorbench says so and the queue column stays empty.
#   -i  proctorbench --identity-only: its webcam set without _no_face/_multi_face, the same
#       work mix as the reference's (every capture embedded)
#
# The reference is built once into $FACEPIPE_BUILD (default /tmp/facepipe-build-$USER) from
# ../shared/anchors/facepipe; its models are ../shared/models (the same files as
# proctor/models). Column "proctor" = proctorbench "pipeline webcam ... workers=2",
# "queue" = its queue figure, "reference" = facepipe "tput webcam w2_cv1": captures/s with
# two workers, one OpenCV thread each. Nothing here fails on a time.
set -eu
cd "$(dirname "$0")/.."
repo=$PWD
shared="$repo/../shared"
runs=3 build=build-rel rounds=4 passes=3 qn=300 ident=""
while getopts n:b:r:p:q:i o; do
    case $o in
    n) runs=$OPTARG ;;
    b) build=$OPTARG ;;
    r) rounds=$OPTARG ;;
    p) passes=$OPTARG ;;
    q) qn=$OPTARG ;;
    i) ident="--identity-only" ;;
    *) sed -n 2,25p "$0" >&2; exit 2 ;;
    esac
done
[ -d "$shared/anchors/facepipe" ] && [ -d "$shared/data/faces" ] || {
    echo "bench_alternate: $shared/anchors/facepipe or data/faces missing" >&2
    exit 77
}
pb="$build/bench/proctorbench"
[ -x "$pb" ] || { echo "bench_alternate: build $pb first (Release)" >&2; exit 2; }
fp_build=${FACEPIPE_BUILD:-/tmp/facepipe-build-$(id -un)}
if [ ! -x "$fp_build/facepipe" ]; then
    cmake -S "$shared/anchors/facepipe" -B "$fp_build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$fp_build" -j2 >/dev/null
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "proctor: $pb --set webcam --repeat 1 --rounds $rounds --queue $qn $ident"
echo "reference: $fp_build/facepipe --models $shared/models --faces $shared/data/faces --bench $passes --set webcam"
printf '%-4s %-22s %9s %9s %10s %7s %7s\n' run load_1_5_15 proctor queue reference ratio q/pipe
i=1
while [ "$i" -le "$runs" ]; do
    load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/')
    "$pb" --faces "$shared/data/faces" --set webcam --repeat 1 --rounds "$rounds" \
        --queue "$qn" $ident >"$out/p$i" 2>&1 || true
    p=$(awk '/^pipeline webcam/ && /workers=2/ {print $6}' "$out/p$i")
    q=$(awk '/^queue / {print $6}' "$out/p$i")
    "$fp_build/facepipe" --models "$shared/models" --faces "$shared/data/faces" \
        --bench "$passes" --set webcam >"$out/f$i" 2>&1 || true
    f=$(awk -F'\t' '$1 == "tput" && $2 == "webcam" && $3 == "w2_cv1" {print $4}' "$out/f$i")
    ratio=$(awk -v a="${p:-0}" -v b="${f:-0}" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')
    qr=$(awk -v a="${q:-0}" -v b="${p:-0}" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')
    printf '%-4s %-22s %9s %9s %10s %7s %7s\n' "$i" "$load" "${p:--}" "${q:--}" "${f:--}" "$ratio" "$qr" |
        tee -a "$out/rows"
    # per-stage medians (proctorbench, 1 thread) and means (facepipe, 1 thread) of the run
    sed -n 's/^ *webcam 640x480 q80 *stages (median ms, 1 thread): /proctor   /p' "$out/p$i" |
        sed "s/^/$i /" >>"$out/stages"
    awk -F'\t' -v i="$i" '$1 == "stage" && $2 == "webcam" { sub(/_ms$/, "", $3); s = s "  " $3 " " $4 }
        END { print i " reference (mean ms)" s }' "$out/f$i" >>"$out/stages"
    [ -n "$p" ] || { echo "proctorbench printed no webcam figure:" >&2; cat "$out/p$i" >&2; }
    [ -n "$f" ] || { echo "facepipe printed no w2_cv1 figure:" >&2; cat "$out/f$i" >&2; }
    i=$((i + 1))
done
# median and range of each numeric column (3 proctor, 4 queue, 5 reference, 6, 7 ratios)
for c in 3 4 5 6 7; do
    awk -v c="$c" '$c != "-" {print $c}' "$out/rows" | sort -g >"$out/c$c"
done
stat() {
    awk '{v[NR] = $1} END {
        if (NR == 0) { print "-"; exit }
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.2f [%s-%s]", m, v[1], v[NR] }' "$1"
}
echo "median [range]: proctor $(stat "$out/c3")  queue $(stat "$out/c4")  reference $(stat "$out/c5")"
echo "                proctor/reference $(stat "$out/c6")  queue/proctor $(stat "$out/c7")"
echo "stages, 1 thread (run, pipeline, ms):"
cat "$out/stages"
