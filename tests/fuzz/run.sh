#!/usr/bin/env bash
# One libFuzzer target as two TAP cases:
#   1. every input in its checked-in corpus (seeds, and inputs that once
#      crashed it) runs without a crash, leak or undefined behaviour;
#   2. fuzzing from that corpus for SECONDS finds none either.
# The corpus is copied first: a run never rewrites tests/fuzz/. A crash
# prints the input (hex) and where libFuzzer saved it; copy that file into
# the corpus directory once fixed (created then, if the target had none),
# so it stays a regression test. SEED_DIRs are read too: samples kept
# elsewhere (tests/posture/) seed a target without a second copy.
#
# usage: run.sh FUZZER CORPUS_DIR SECONDS [SEED_DIR...]
set -uo pipefail
fuzzer=$1 corpus=$2 seconds=$3
shift 3
sources=("$corpus" "$@")
name=$(basename "$fuzzer")
work=$(mktemp -d "/tmp/vigil-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts=$(dirname "$fuzzer")/artifacts/$name
mkdir -p "$artifacts" "$work/corpus"

# Undefined behaviour is a crash here, not a warning.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

echo "1..2"

diagnose() {
    local log=$1
    grep -E 'ERROR|WARNING|SUMMARY|runtime error|Test unit written|deadly signal|#[0-9]+ 0x' "$log" | head -40 | sed 's/^/# /'
    local crash
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if [ -n "$crash" ] && [ -f "$crash" ]; then
        echo "# input ($crash):"
        od -A d -t x1z -v "$crash" | head -20 | sed 's/^/#   /'
    fi
}

seeds=0
for dir in "${sources[@]}"; do
    [ -d "$dir" ] || continue
    n=$(find "$dir" -maxdepth 1 -type f | wc -l)
    [ "$n" -gt 0 ] && cp "$dir"/* "$work/corpus/"
    seeds=$((seeds + n))
done
if [ "$seeds" -eq 0 ]; then
    echo "not ok 1 - $name: no inputs in ${sources[*]}"
else
    if "$fuzzer" -runs=0 -artifact_prefix="$artifacts/" "$work/corpus" >"$work/replay.log" 2>&1; then
        echo "ok 1 - $name: all $seeds corpus inputs replay cleanly"
    else
        echo "not ok 1 - $name: a corpus input fails"
        diagnose "$work/replay.log"
    fi
fi

# -timeout: one input running 10 s is a hang, reported like a crash.
if "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+' "$work/fuzz.log" | tail -n 1)
    size=$(find "$work/corpus" -type f | wc -l)
    echo "ok 2 - $name: ${runs:-?} executions in ${seconds}s, no crash (${cov:-cov: ?}, corpus $seeds -> $size)"
else
    echo "not ok 2 - $name: fuzzing for ${seconds}s found a failure"
    diagnose "$work/fuzz.log"
fi
