#!/bin/bash
# e2e_hostile_files.sh - gptscope on broken and hostile model directories.
#
# make_hostile_models.py rewrites one file of a small valid reference model
# per case (safetensors header lengths, JSON that is not an object or nested
# 10,000 deep, offsets and shapes that overflow, bad config values and types,
# vocabularies and merges that are damaged or disagree with the weights; see
# its cases.tsv). For each case `gptscope info` and `gptscope generate` must
# exit 1 with exactly one stderr line "gptscope: ..." naming the file at
# fault, and nothing on stdout: never a crash, a sanitizer report, or a wild
# allocation. Under ASan any allocation over 512 MiB aborts the run (a loader
# must size nothing from a header the file cannot back); in a release build
# each command runs under ulimit -v 4000000, so one fails instead of swapping.
# Every command has a time limit too: a header of many tensors must not make
# the loader quadratic (st-many-tensors).
#
# Cases that are meant to load (expect "ok" in cases.tsv), as a demanding
# user would want it and as Hugging Face does:
#   st-extra-tensor      a tensor the architecture does not use is ignored, as
#                        lm_head.weight and old exports' attn.bias buffers are
#                        (a tensor of a layer beyond n_layer is refused, though:
#                        the config and the weights then disagree)
#   merges-no-version    without "#version" on line 1, every line is a merge
#                        (the tokenizers library reads it so; real GPT-2 files
#                        have the line, and then it is skipped)
#   merges-crlf          CRLF line ends, as a file edited on Windows has
#   merges-version-only  no merges at all: a valid byte-level tokenizer
# Everything else, an empty merges.txt included (what an interrupted download
# leaves; a merge-free tokenizer still writes its "#version" line), is an error.
# TAP output.
set -u

BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
PY=python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
unset GPTSCOPE_MODEL

. "$(dirname "$0")/tap.sh"

if [ ! -f "$SRC/tests/reference/models/gpt2-f32/model.safetensors" ] ||
    [ ! -f "$SRC/tests/reference/models/gpt1-f32/model.safetensors" ]; then
    skip "hostile model files" "reference models not built"
    tap_finish
    exit
fi
CASES=$TMP/cases
if ! $PY "$SRC/tests/make_hostile_models.py" "$CASES" >"$TMP/gen.log" 2>&1; then
    ok 1 "make_hostile_models.py" "$(cat "$TMP/gen.log")"
    tap_finish
    exit
fi

# A sanitizer build aborts on a huge allocation; a release build runs each
# command with its address space capped.
if ldd "$BIN" 2>/dev/null | grep -q libasan || [ "${GPTSCOPE_BUILDTYPE:-}" = debug ]; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:-}:max_allocation_size_mb=512:allocator_may_return_null=0"
    capped() { timeout 60 "$@"; }
else
    capped() { (ulimit -v 4000000 && exec timeout 30 "$@"); }
fi

while IFS=$'\t' read -r id want what; do
    dir=$CASES/$id
    for cmd in info generate; do
        args=(info -m "$dir")
        [ $cmd = generate ] && args=(generate -m "$dir" -p hi -n 2 -t 1)
        if [ "$want" = ok ]; then
            capped "$BIN" "${args[@]}" >"$TMP/out" 2>"$TMP/err" </dev/null
            rc=$?
            [ $rc -eq 0 ] && [ -s "$TMP/out" ] && ! grep -q '^gptscope: ' "$TMP/err"
            ok $? "$id: $cmd loads ($what)" "rc $rc; stderr: $(head -c 400 "$TMP/err")"
        else
            expect_fail "$id: $cmd fails ($what)" 1 capped "$BIN" "${args[@]}"
            grep -qF "$want" "$TMP/err"
            ok $? "$id: $cmd names $want" "stderr: $(head -c 400 "$TMP/err")"
        fi
    done
done <"$CASES/cases.tsv"

tap_finish
