#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET ...] - runs every fuzz target of
# tests/fuzz (or the ones named) for SECONDS each (default 60), two at a
# time, in a clang build with libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer (build-fuzz/, made on first use). Starts from
# the seed corpus of tests/fuzz/make_corpus.py plus what earlier runs kept
# (build-fuzz/fuzz-corpus). An input that crashes, leaks, times out or
# allocates over 512 MB is copied to tests/fuzz/regressions/TARGET/, where
# the ordinary suite replays it on every build; the run then fails.
# Prints one line per target (executions, executions/s, corpus size, new
# defects) and writes build-fuzz/fuzz-results.json.
set -uo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(safetensors model config vocab encode_gpt2 encode_gpt1 store token_cache)
B=build-fuzz
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang is not installed (Debian: clang libclang-rt-14-dev libomp-dev)" >&2
    exit 2
fi
if [ ! -f "$B/build.ninja" ]; then
    CC=clang meson setup "$B" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debugoptimized >"$B.setup.log" 2>&1 || { cat "$B.setup.log"; exit 2; }
fi
ninja -C "$B" tests/store_fill $(printf 'tests/fuzz/fuzz_%s ' "${TARGETS[@]}") >"$B.ninja.log" 2>&1 ||
    { tail -30 "$B.ninja.log"; exit 2; }
C=$B/fuzz-corpus
python3 tests/fuzz/make_corpus.py "$C" --store-fill "$B/tests/store_fill" || exit 2
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive

run_one() { # target: fuzz it, then keep what it found
    local t=$1 art=$B/fuzz-artifacts/$t
    rm -rf "$art"
    mkdir -p "$art" "$C/$t"
    "$B/tests/fuzz/fuzz_$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=512 -max_len=65536 -print_final_stats=1 -artifact_prefix="$art/" \
        "$C/$t" >"$B/fuzz-$t.log" 2>&1
    echo $? >"$B/fuzz-$t.rc"
}
running=0
for t in "${TARGETS[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if [ $running -ge 2 ]; then wait -n; running=$((running - 1)); fi
done
wait

status=0
json="["
printf '%-12s %12s %9s %8s  %s\n' target executions exec/s corpus "new defects"
for t in "${TARGETS[@]}"; do
    log=$B/fuzz-$t.log
    execs=$(grep 'stat::number_of_executed_units:' "$log" | tail -1 | awk '{print $2}')
    rate=$(grep 'stat::average_exec_per_sec:' "$log" | tail -1 | awk '{print $2}')
    files=$(find "$C/$t" -type f | wc -l)
    found=0
    for f in "$B/fuzz-artifacts/$t"/*; do
        [ -f "$f" ] || continue
        mkdir -p "tests/fuzz/regressions/$t"
        cp "$f" "tests/fuzz/regressions/$t/$(basename "$f")"
        found=$((found + 1))
    done
    rc=$(cat "$B/fuzz-$t.rc")
    [ "$rc" -ne 0 ] && [ $found -eq 0 ] && found=1 # died without an artifact: still a defect
    [ $found -gt 0 ] && { status=1; grep -m3 -E 'ERROR|SUMMARY|wrong result' "$log" | sed 's/^/    /'; }
    printf '%-12s %12s %9s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$files" "$found"
    json="$json{\"target\":\"$t\",\"executions\":${execs:-0},\"exec_per_s\":${rate:-0},\"defects\":$found},"
done
echo "${json%,}]" >"$B/fuzz-results.json"
[ $status -ne 0 ] && echo "fuzz: defects found; the inputs are in tests/fuzz/regressions/ (logs: $B/fuzz-*.log)"
exit $status
