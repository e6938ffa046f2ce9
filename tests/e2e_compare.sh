#!/bin/bash
# e2e_compare.sh - `gptscope compare -m A -m B`: each model's sum of
# log-probabilities equals `gptscope eval`'s total on the same text (long
# texts included: the same sliding windows), the per-token log-ratio is the
# difference of the two, tokens A samples with -n equal `generate`'s with
# the same seed, and models with different tokenizers are refused. TAP.
set -u
BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
R=$SRC/tests/reference/models
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
unset GPTSCOPE_MODEL
export OMP_WAIT_POLICY=passive
. "$(dirname "$0")/tap.sh"
if [ ! -f "$R/gpt2-f32/model.safetensors" ]; then
    echo "1..0 # SKIP reference models missing"
    exit 0
fi
A=$R/gpt2-f32 B=$R/gpt2-bf16
"$BIN" compare --help | grep -q '^usage: gptscope compare'
ok $? "compare --help"
# a text longer than the 64-token context: eval's sliding windows
python3 -c 'print(" ".join("the quick brown fox jumps over the lazy dog".split() * 12))' >"$TMP/t.txt"
"$BIN" compare -m "$A" -m "$B" "$TMP/t.txt" --json -t 1 >"$TMP/c.json" 2>"$TMP/err" &&
    "$BIN" eval -m "$A" "$TMP/t.txt" --json -t 1 >"$TMP/ea.json" &&
    "$BIN" eval -m "$B" "$TMP/t.txt" --json -t 1 >"$TMP/eb.json"
python3 - "$TMP/c.json" "$TMP/ea.json" "$TMP/eb.json" <<'PY' 2>>"$TMP/err"
import json, math, sys
c, ea, eb = (json.load(open(p)) for p in sys.argv[1:])
assert c["n"] == ea["predictions"] == len(c["tokens"]) > 64, (c["n"], ea)
for s, e in ((c["sum_logprob_a"], ea), (c["sum_logprob_b"], eb)):
    assert abs(-s / e["predictions"] - e["loss"]) < 1e-5 * e["loss"], (s, e)
for t in c["tokens"]:
    assert abs(math.log(t["p_a"]) - math.log(t["p_b"]) - t["log_ratio"]) < 1e-4, t
assert abs(sum(math.log(t["p_a"]) for t in c["tokens"]) - c["sum_logprob_a"]) < 1e-3
assert c["sum_logprob_a"] != c["sum_logprob_b"]  # f32 and bf16 weights differ a little
PY
ok $? "each model's sum of log-probabilities is eval's total (a text past the context); log_ratio = ln pA - ln pB" "$(cat "$TMP/err")"
"$BIN" compare -m "$A" -m "$B" -p "The" -n 12 --seed 4 --no-such 2>/dev/null
[ $? -eq 2 ]
ok $? "an unknown flag is a usage error"
"$BIN" compare -m "$A" -m "$B" -p "The" -n 12 --seed 4 --json -t 1 >"$TMP/s.json" 2>"$TMP/err" &&
    "$BIN" generate -m "$A" -p "The" -n 12 --seed 4 --json --top 0 -t 1 >"$TMP/g.json" 2>>"$TMP/err"
python3 - "$TMP/s.json" "$TMP/g.json" <<'PY' 2>>"$TMP/err"
import json, sys
c = json.load(open(sys.argv[1]))
g = [json.loads(l)["id"] for l in open(sys.argv[2])]
ids = [t["id"] for t in c["tokens"]]
assert ids[-len(g):] == g, (ids, g)
PY
ok $? "-n N: the tokens A samples are generate's with the same seed" "$(cat "$TMP/err")"
"$BIN" compare -m "$A" -m "$B" -p "Hello world" >"$TMP/out" 2>&1 &&
    grep -q "^sum of log-probabilities over [0-9]* tokens: A -" "$TMP/out" && grep -q 'ln(A/B)' "$TMP/out"
ok $? "the table and the sums" "$(cat "$TMP/out")"
expect_fail "models with different tokenizers are refused" 1 "$BIN" compare -m "$A" -m "$R/gpt1-f32" -p hi
grep -q "do not share a tokenizer" "$TMP/err"
ok $? "... saying so" "$(cat "$TMP/err")"
expect_fail "one model is a usage error" 2 "$BIN" compare -m "$A" -p hi
expect_fail "three models are a usage error" 2 "$BIN" compare -m "$A" -m "$B" -m "$A" -p hi
expect_fail "an empty text" 1 "$BIN" compare -m "$A" -m "$B" -p ""
tap_finish
