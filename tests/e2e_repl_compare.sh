#!/bin/bash
# e2e_repl_compare.sh - `/compare DIR` in `gptscope repl` (stdin a script):
# against the session's own model every log-ratio is 0 and the sums agree;
# against a model with other weights and the same tokenizer (the reference
# model in bf16) each sum equals `gptscope eval --ids` on the conversation's
# tokens (read back from the session store), a conversation past the
# 64-token context included; a model with another tokenizer, a missing
# directory, one that is not a model, and /compare before any prompt are
# refused with one "gptscope: repl: /compare: ..." line. TAP.
set -u
BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
R=$SRC/tests/reference/models
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
unset GPTSCOPE_MODEL GPTSCOPE_DB NO_COLOR
export XDG_DATA_HOME=$TMP/xdg HOME=$TMP/home OMP_WAIT_POLICY=passive
. "$(dirname "$0")/tap.sh"
if [ ! -f "$R/gpt2-f32/model.safetensors" ] || [ ! -f "$R/gpt2-bf16/model.safetensors" ]; then
    echo "1..0 # SKIP reference models missing"
    exit 0
fi
A=$R/gpt2-f32 B=$R/gpt2-bf16
REPL=("$BIN" repl -m "$A" -t 1 --seed 5 --max-tokens 8)
# a prompt longer than the 64-token context, so /compare needs eval's windows
LONG=$(python3 -c 'print(" ".join("the quick brown fox jumps over the lazy dog".split() * 10))')

# sums FILE: "A B N" from the last "sum of log-probabilities" line
sums() {
    sed -n 's/^sum of log-probabilities over \([0-9]*\) tokens: A \(.*\), B \(.*\)$/\2 \3 \1/p' "$1" |
        tail -1
}

# ---------------------------------------------------------------- the same model
printf '%s\n' "$LONG" "/compare $A" | "${REPL[@]}" --no-save >"$TMP/same" 2>"$TMP/same.err"
ok $? "/compare with the session's own model: exit 0" "$(cat "$TMP/same.err")"
read -r sa sb n_same <<<"$(sums "$TMP/same")"
python3 - "$TMP/same" "$sa" "$sb" "$n_same" <<'PY' 2>"$TMP/err"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
rows = [l for l in lines if re.match(r"^ +[0-9]+  \"", l)]
n = int(sys.argv[4])
assert n > 64 and len(rows) == n, (n, len(rows))
for l in rows:
    assert l.split()[-1] in ("+0.000", "-0.000"), l
    p = l.split()[-3:-1]
    assert p[0] == p[1], l
assert sys.argv[2] == sys.argv[3], sys.argv[2:4]
assert "the models agree on the text" in lines
PY
ok $? "... every ln(A/B) is 0, p(A) = p(B), equal sums, past the context" \
    "$(cat "$TMP/err"; head -c 600 "$TMP/same")"
grep -q '^A: gpt2-f32 (this session), B: gpt2-f32$' "$TMP/same"
ok $? "... the header names both models" "$(head -3 "$TMP/same")"
! grep -q $'\033' "$TMP/same"
ok $? "... no colour when stdout is not a terminal"

# ---------------------------------------------------------------- another model
DB=$TMP/s.db
printf '%s\n' "$LONG" 'and then' "/compare $B/" | "${REPL[@]}" --db "$DB" >"$TMP/other" \
    2>"$TMP/other.err"
ok $? "/compare with a model of other weights and the same tokenizer: exit 0" \
    "$(cat "$TMP/other.err")"
grep -q '^A: gpt2-f32 (this session), B: gpt2-bf16$' "$TMP/other"
ok $? "... B named by its directory (a trailing / dropped)" "$(head -3 "$TMP/other")"
"$BIN" sessions export 1 --db "$DB" --format json >"$TMP/s.json" 2>"$TMP/err" &&
    python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(" ".join(str(t["id"]) for u in d["turns"] for t in u["tokens"]))' "$TMP/s.json" \
        >"$TMP/ids" 2>>"$TMP/err" &&
    "$BIN" eval -m "$A" --ids "$TMP/ids" --json -t 1 >"$TMP/ea.json" 2>>"$TMP/err" &&
    "$BIN" eval -m "$B" --ids "$TMP/ids" --json -t 1 >"$TMP/eb.json" 2>>"$TMP/err"
ok $? "the conversation's ids from the store, eval on them" "$(cat "$TMP/err")"
read -r sa sb n_other <<<"$(sums "$TMP/other")"
python3 - "$TMP/ea.json" "$TMP/eb.json" "$sa" "$sb" "$n_other" <<'PY' 2>"$TMP/err"
import json, sys
ea, eb = (json.load(open(p)) for p in sys.argv[1:3])
sa, sb, n = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
assert n == ea["predictions"] == eb["predictions"] > 64, (n, ea, eb)
for s, e in ((sa, ea), (sb, eb)):
    assert abs(-s - e["loss"] * e["predictions"]) < 1e-3, (s, e)
assert sa != sb  # f32 and bf16 weights differ a little
PY
ok $? "... each model's sum is eval's total nats on the same tokens (1e-3)" \
    "$(cat "$TMP/err"; tail -3 "$TMP/other")"
python3 - "$TMP/other" <<'PY' 2>"$TMP/err"
import math, re, sys
rows = [l.split() for l in open(sys.argv[1]) if re.match(r"^ +[0-9]+  \"", l)]
assert rows
for r in rows:
    pa, pb, lr = float(r[-3]), float(r[-2]), float(r[-1])
    assert abs(math.log(pa / pb) - lr) < 2e-2, r  # p printed to 3 digits
PY
ok $? "... ln(A/B) is ln p(A) - ln p(B) in the table" "$(cat "$TMP/err")"

# ---------------------------------------------------------------- refusals
# refused DESC PATTERN LINES...: the repl exits 1 with exactly one stderr
# line "gptscope: repl: /compare: ..." matching PATTERN
refused() {
    local desc=$1 pat=$2
    shift 2
    printf '%s\n' "$@" | "${REPL[@]}" --no-save >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    [ $rc -eq 1 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
        grep -q "^gptscope: repl: /compare: .*$pat" "$TMP/err"
    ok $? "$desc (rc $rc)" "stderr: $(head -c 400 "$TMP/err")"
}
if [ -f "$R/gpt1-f32/model.safetensors" ]; then
    refused "a model with another tokenizer is refused" "do not share a tokenizer" \
        hello "/compare $R/gpt1-f32"
else
    skip "a model with another tokenizer is refused" "gpt1-f32 missing"
fi
refused "/compare before any conversation" "no conversation yet" "/compare $B"
refused "a directory that does not exist" "No such file or directory" hello "/compare $TMP/none"
mkdir -p "$TMP/empty"
refused "a directory that is not a model" "is not a model directory" hello "/compare $TMP/empty"
printf '%s\n' hello "/compare $TMP/none" "/compare $B" | "${REPL[@]}" --no-save >"$TMP/out" \
    2>/dev/null
grep -q '^A: gpt2-f32 (this session), B: gpt2-bf16$' "$TMP/out"
ok $? "the session goes on after a refusal"
tap_finish
