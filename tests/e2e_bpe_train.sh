#!/bin/bash
# e2e_bpe_train.sh - `gptscope bpe-train` as a user runs it: the files it
# writes (the Python reference's merges for the golden corpus, GPT-2's byte
# order, <|endoftext|> last), an independent GPT-2 tokenizer in Python
# (tests/reference/gpt2_tokenizer_ref.py, OpenAI's encoder.py algorithm, which
# Hugging Face's GPT2Tokenizer follows) reading them and agreeing with
# `gptscope tokenize`, stdin and several files, the summary line, progress on
# a terminal and silence in a log, the speed on tinyshakespeare, and one
# "gptscope: ..." line with the right exit code for every bad input. TAP.
set -u

BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
SHARED=${GPTSCOPE_SHARED:-$SRC/../shared/data}
REF=$SRC/tests/reference
GOLD=$REF/bpe-train
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
unset GPTSCOPE_MODEL
export PYTHONDONTWRITEBYTECODE=1

. "$(dirname "$0")/tap.sh"

# ---------------------------------------------------------------- help
"$BIN" bpe-train --help >"$TMP/help" 2>&1 && grep -q '^usage: gptscope bpe-train CORPUS' "$TMP/help" &&
    grep -q -- '--min-frequency' "$TMP/help"
ok $? "bpe-train --help"
"$BIN" help bpe-train | cmp -s - "$TMP/help"
ok $? "gptscope help bpe-train prints the same text"

# ---------------------------------------------------------------- golden corpus
# two files, learned exactly as tests/reference/bpe_train_ref.py learns them
"$BIN" bpe-train "$GOLD/corpus-a.txt" "$GOLD/corpus-b.txt" --vocab-size 400 -o "$TMP/v400" \
    >"$TMP/out" 2>"$TMP/err"
ok $? "bpe-train on two files" "$(cat "$TMP/out" "$TMP/err")"
cmp -s "$TMP/v400/merges.txt" "$GOLD/v400/merges.txt" && cmp -s "$TMP/v400/vocab.json" "$GOLD/v400/vocab.json"
ok $? "merges.txt and vocab.json identical to the Python reference's"
[ ! -s "$TMP/err" ]
ok $? "a short run writes nothing on stderr when it is not a terminal" "$(cat "$TMP/err")"
grep -Eq '^bpe-train: 400 tokens \(143 merges\) in [0-9.]+ s; 1865 bytes -> [0-9]+ tokens, [0-9.]+ bytes/token; wrote .*/vocab.json and .*/merges.txt$' "$TMP/out"
ok $? "the summary line" "$(cat "$TMP/out")"
ls "$TMP/v400" | grep -q tmp
ok $((1 - $?)) "no temporary files left behind"

cat "$GOLD/corpus-a.txt" | "$BIN" bpe-train - "$GOLD/corpus-b.txt" --vocab-size 400 -o "$TMP/stdin" >/dev/null 2>&1 &&
    cmp -s "$TMP/stdin/merges.txt" "$GOLD/v400/merges.txt"
ok $? "'-' reads stdin"

"$BIN" bpe-train "$GOLD/corpus-a.txt" "$GOLD/corpus-b.txt" --vocab-size 100000 --min-frequency 1 \
    -o "$TMP/all" >"$TMP/out" 2>&1 &&
    cmp -s "$TMP/all/merges.txt" "$GOLD/all/merges.txt" &&
    grep -q '^bpe-train: 878 tokens (621 merges) .*stopped early: no pair left occurs 1 time or more' "$TMP/out"
ok $? "--min-frequency 1 until no pair is left: reference merges, and the summary says so" "$(cat "$TMP/out")"

# ---------------------------------------------------------------- an independent reader
# The Python GPT-2 tokenizer reads the files and must give the ids gptscope gives.
SAMPLE=$TMP/sample.txt
{
    head -c 3000 "$GOLD/corpus-a.txt"
    printf '\nunseen words: zebra quixotic 12345 \xc3\xa9t\xc3\xa9 \xf0\x9f\x99\x82<|endoftext|>the end\n'
} >"$SAMPLE"
python3 - "$REF/models/gpt2-f32/config.json" "$TMP/v400" <<'EOF'
import json, sys
cfg = json.load(open(sys.argv[1]))
vocab = json.load(open(sys.argv[2] + "/vocab.json"))
cfg["vocab_size"] = len(vocab)
cfg["bos_token_id"] = cfg["eos_token_id"] = vocab["<|endoftext|>"]
json.dump(cfg, open(sys.argv[2] + "/config.json", "w"))
EOF
"$BIN" tokenize -m "$TMP/v400" <"$SAMPLE" >"$TMP/ids_c" 2>"$TMP/err"
rc=$?
python3 -c '
import sys
sys.path.insert(0, sys.argv[1])
from gpt2_tokenizer_ref import Encoder
text = open(sys.argv[3], encoding="utf-8", newline="").read()
print(" ".join(map(str, Encoder(sys.argv[2]).encode(text))))
' "$REF" "$TMP/v400" "$SAMPLE" >"$TMP/ids_py" 2>&1
[ $rc -eq 0 ] && [ -s "$TMP/ids_c" ] && [ "$(tr -s ' \n' '  ' <"$TMP/ids_c" | sed 's/ $//')" = "$(tr -s ' \n' '  ' <"$TMP/ids_py" | sed 's/ $//')" ]
ok $? "OpenAI's encoder algorithm (Python) reads the files and gives gptscope's ids" \
    "gptscope: $(head -c 300 "$TMP/ids_c") $(cat "$TMP/err")
python: $(head -c 300 "$TMP/ids_py")"
"$BIN" tokenize -m "$TMP/v400" <"$SAMPLE" | "$BIN" tokenize -m "$TMP/v400" --decode | cmp -s - "$SAMPLE"
ok $? "tokenize | tokenize --decode gives the text back"

# ---------------------------------------------------------------- tinyshakespeare
CORPUS=$SHARED/tinyshakespeare.txt
if [ -f "$CORPUS" ]; then
    "$BIN" bpe-train "$CORPUS" --vocab-size 4096 -o "$TMP/ts" >"$TMP/out" 2>"$TMP/err"
    ok $? "tinyshakespeare at 4096 tokens: $(cat "$TMP/out")" "$(cat "$TMP/err")"
    secs=$(grep -o 'in [0-9.]* s' "$TMP/out" | awk '{print $2}')
    bpt=$(grep -o '[0-9.]* bytes/token' "$TMP/out" | awk '{print $1}')
    # seconds, not minutes (about 0.1 s in a release build; the bound leaves
    # room for the sanitizer build)
    awk -v s="${secs:-999}" 'BEGIN { exit !(s < 10) }'
    ok $? "learned in ${secs:-?} s (< 10)"
    awk -v b="${bpt:-0}" 'BEGIN { exit !(b > 3.0) }'
    ok $? "compression ${bpt:-?} bytes/token (> 3.0)"
    [ "$(wc -l <"$TMP/ts/merges.txt")" -eq 3840 ] && [ "$(head -1 "$TMP/ts/merges.txt")" = "#version: 0.2" ]
    ok $? "merges.txt: the version line and 3839 merges"
    if [ -f "$SHARED/gpt2/vocab.json" ]; then
        python3 -c '
import json, sys
v = json.load(open(sys.argv[1])); g = json.load(open(sys.argv[2]))
assert sorted(v.values()) == list(range(4096)), "ids not 0..4095"
assert v["<|endoftext|>"] == 4095, "<|endoftext|> not last"
ours = sorted((i, t) for t, i in v.items() if i < 256)
gpt2 = sorted((i, t) for t, i in g.items() if i < 256)
assert ours == gpt2, "byte ids differ from GPT-2"
' "$TMP/ts/vocab.json" "$SHARED/gpt2/vocab.json" 2>"$TMP/err"
        ok $? "vocab.json: ids 0..4095, bytes as in GPT-2's vocab.json, <|endoftext|> last" "$(cat "$TMP/err")"
    else
        skip "vocab.json against GPT-2's" "$SHARED/gpt2/vocab.json not found"
    fi
    # a terminal gets a progress line redrawn in place, cleared at the end
    if command -v script >/dev/null 2>&1; then
        script -qec "\"$BIN\" bpe-train \"$CORPUS\" --vocab-size 1000 -o \"$TMP/tty\"" /dev/null \
            >"$TMP/tty.out" 2>&1 </dev/null
        grep -aq $'\r\033\[Kbpe-train: 64/743 merges' "$TMP/tty.out" &&
            grep -aq $'\r\033\[Kbpe-train: 1000 tokens (743 merges)' "$TMP/tty.out"
        ok $? "on a terminal: a progress line, cleared before the summary" "$(od -c "$TMP/tty.out" | head -5)"
    else
        skip "progress on a terminal" "no script(1)"
    fi
else
    skip "tinyshakespeare runs" "$CORPUS not found"
fi

# ---------------------------------------------------------------- bad input
C=$GOLD/corpus-a.txt
expect_fail "no corpus" 2 "$BIN" bpe-train --vocab-size 300 -o "$TMP/x"
expect_fail "no -o" 2 "$BIN" bpe-train "$C" --vocab-size 300
expect_fail "no --vocab-size" 2 "$BIN" bpe-train "$C" -o "$TMP/x"
expect_fail "--vocab-size 256" 2 "$BIN" bpe-train "$C" --vocab-size 256 -o "$TMP/x"
expect_fail "--vocab-size abc" 2 "$BIN" bpe-train "$C" --vocab-size abc -o "$TMP/x"
expect_fail "--min-frequency 0" 2 "$BIN" bpe-train "$C" --vocab-size 300 --min-frequency 0 -o "$TMP/x"
expect_fail "unknown option" 2 "$BIN" bpe-train "$C" --vocab-size 300 -o "$TMP/x" --bogus
expect_fail "missing corpus file" 1 "$BIN" bpe-train "$TMP/nope.txt" --vocab-size 300 -o "$TMP/x"
expect_fail "a directory as corpus" 1 "$BIN" bpe-train "$TMP" --vocab-size 300 -o "$TMP/x"
printf 'fine\n' >"$TMP/good.txt"
printf 'ok \xff\xfe bad' >"$TMP/bad.txt"
expect_fail "invalid UTF-8" 1 "$BIN" bpe-train "$TMP/good.txt" "$TMP/bad.txt" --vocab-size 300 -o "$TMP/x"
grep -q "bad.txt: invalid UTF-8 at byte offset 3$" "$TMP/err"
ok $? "the error names the file and the offset" "$(cat "$TMP/err")"
[ ! -e "$TMP/x" ]
ok $? "nothing is created on bad input"
expect_fail "-o below a regular file" 1 "$BIN" bpe-train "$C" --vocab-size 300 -o "$TMP/good.txt/sub"
grep -q "good.txt/sub: cannot create directory" "$TMP/err"
ok $? "the error names the directory" "$(cat "$TMP/err")"
expect_fail "-o is a regular file" 1 "$BIN" bpe-train "$C" --vocab-size 300 -o "$TMP/good.txt"

tap_finish
