#!/bin/bash
# bench/contention.sh - decode speed beside a competing busy process.
#
#   bench/contention.sh [-m MODEL] [-n TOKENS] [-r RUNS] [-B BUILD_DIR]
#
# Runs `gptscope generate --stats` on MODEL (default: the bundled model) for
# each thread setting (adaptive = no -t, then -t 1 .. -t nproc), first on a
# quiet machine, then beside a competitor that keeps every core busy with an
# OpenMP job of its own (a `gptscope train` run, the load that made fixed
# threads collapse: libgomp threads spin at barriers while a core is taken).
# Prints decode tokens/s (best and median of RUNS) per setting and load.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
MODEL=$SRC/assets/default-model
N=250
RUNS=3
BUILD=$SRC/build
while getopts "m:n:r:B:" o; do
    case $o in
    m) MODEL=$OPTARG ;;
    n) N=$OPTARG ;;
    r) RUNS=$OPTARG ;;
    B) BUILD=$OPTARG ;;
    *) echo "usage: $0 [-m MODEL] [-n TOKENS] [-r RUNS] [-B BUILD_DIR]" >&2; exit 2 ;;
    esac
done
BIN=$BUILD/app/gptscope
TMP=$(mktemp -d)
comp=
trap '[ -n "$comp" ] && kill $comp 2>/dev/null; rm -rf "$TMP"' EXIT

speed() { # speed ARGS...: decode tokens/s of one run
    "$BIN" generate -m "$MODEL" -p "ROMEO:" -n "$N" --no-eos-stop --seed 1 --stats "$@" 2>&1 >/dev/null |
        sed -n 's/.*generated [0-9]* tokens in [0-9.]* s (\([0-9.]*\) tokens\/s).*/\1/p'
}

settings=("adaptive")
for t in $(seq 1 "$(nproc)"); do settings+=("-t $t"); done

measure() { # measure LOAD
    for s in "${settings[@]}"; do
        args=()
        [ "$s" != adaptive ] && read -r -a args <<<"$s"
        vals=()
        for _ in $(seq "$RUNS"); do vals+=("$(speed "${args[@]}")"); done
        printf '%s\n' "${vals[@]}" | sort -n | awk -v load="$1" -v set="$s" '
            { v[NR] = $1 } END { printf "| %-6s | %-9s | %8.1f | %8.1f |\n", load, set, v[NR], v[int((NR + 1) / 2)] }'
    done
}

echo "model $MODEL, $N tokens, best/median of $RUNS runs, $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "| load   | threads   | best tok/s | median |"
echo "| --- | --- | --- | --- |"
measure quiet
corpus=$SRC/../shared/data/tinyshakespeare.txt
[ -f "$corpus" ] || corpus=$SRC/README.md
"$BIN" train -d "$corpus" -o "$TMP/comp" --steps 1000000 \
    --tokenizer "$SRC/assets/default-model" --layers 4 --embd 256 --heads 4 >/dev/null 2>&1 &
comp=$!
sleep 8 # past tokenizing, into the training steps
measure busy
