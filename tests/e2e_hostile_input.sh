#!/bin/bash
# e2e_hostile_input.sh - hostile prompts, ids, flags and training files for
# generate, repl, tokenize, eval and train (what tests/e2e_cli.sh and
# tests/e2e_train.sh do not cover already): invalid UTF-8 and NUL bytes in a
# prompt (stdin, file), a 10 MB prompt (generate keeps its last tokens, repl
# refuses more than 65536 tokens with one line, both fast), --ids that are
# out of range, negative, not numbers or empty, extreme sampling values,
# training on empty, binary, 1-byte and directory inputs, and resuming from
# a garbled checkpoint. Each case is one "gptscope: ..." line with exit 1
# (2 for usage), or the documented behaviour; never a crash (every command
# runs under timeout, so never a hang either). TAP.
set -u

BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
SHARED=${GPTSCOPE_SHARED:-$SRC/../shared/data}
M=$SRC/tests/reference/models/gpt2-f32
PY=python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
unset GPTSCOPE_MODEL GPTSCOPE_DB
export XDG_DATA_HOME=$TMP/xdg HOME=$TMP/home OMP_WAIT_POLICY=passive
. "$(dirname "$0")/tap.sh"

if [ ! -f "$M/model.safetensors" ]; then
    echo "1..0 # SKIP reference model missing"
    exit 0
fi
TO=(timeout 60)
G=("${TO[@]}" "$BIN" generate -m "$M" -t 1)
R=("${TO[@]}" "$BIN" repl -m "$M" -t 1 --no-save)

# runs CMD with stdin from FILE; passes on exit 0 with output and a quiet stderr
ok_run() { # ok_run DESC FILE CMD...
    local d=$1 in=$2
    shift 2
    "$@" <"$in" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    [ $rc -eq 0 ] && [ -s "$TMP/out" ]
    ok $? "$d (rc $rc)" "$(head -c 300 "$TMP/err")"
}

# ---------------------------------------------------------------- prompts
printf 'ab\0cd' >"$TMP/nul.txt"
# a NUL is a character like any other to the byte-level tokenizer
# (GPT-2's token 188 is byte 0); generate and tokenize take it
ok_run "generate: a NUL byte in the prompt on stdin is a token" "$TMP/nul.txt" "${G[@]}" -n 3
ok_run "generate -p -: the same" "$TMP/nul.txt" "${G[@]}" -p - -n 3
"${TO[@]}" "$BIN" tokenize -m "$M" <"$TMP/nul.txt" >"$TMP/out" 2>&1
[ "$(cat "$TMP/out")" = "64 65 188 66 67" ]
ok $? "tokenize: a NUL byte is token 188" "$(cat "$TMP/out")"
"${TO[@]}" "$BIN" tokenize -m "$M" <"$TMP/nul.txt" | "${TO[@]}" "$BIN" tokenize -m "$M" --decode |
    cmp -s - "$TMP/nul.txt"
ok $? "tokenize --decode gives the NUL byte back"
"${TO[@]}" "$BIN" eval -m "$M" --json "$TMP/nul.txt" >"$TMP/out" 2>"$TMP/err" &&
    $PY -c 'import json,sys; assert json.load(open(sys.argv[1]))["tokens"] == 5' "$TMP/out"
ok $? "eval of a file with a NUL byte" "$(cat "$TMP/err")"
# from FILE CMD...: CMD with stdin from FILE (expect_fail gives /dev/null)
from() { sh -c 'f=$1; shift; exec "$@" <"$f"' sh "$@"; }
# the repl reads lines: a line with a NUL cannot be told from a shorter one
printf 'ab\0cd\n' >"$TMP/nul.line"
expect_fail "repl: a line with a NUL byte is refused" 1 from "$TMP/nul.line" "${R[@]}" -n 3
grep -q 'NUL byte' "$TMP/err"
ok $? "... and says NUL byte" "$(cat "$TMP/err")"
printf 'ok \377\376 bad\n' >"$TMP/bad.txt"
expect_fail "repl: an invalid UTF-8 line" 1 from "$TMP/bad.txt" "${R[@]}" -n 3
grep -q 'invalid UTF-8 at byte offset 3' "$TMP/err"
ok $? "... names the offset" "$(cat "$TMP/err")"
expect_fail "generate: invalid UTF-8 in -p" 1 "${G[@]}" -p "$(printf 'a\377b')" -n 2
expect_fail "generate: invalid UTF-8 in a prompt file on stdin" 1 from "$TMP/bad.txt" "${G[@]}" -n 2
expect_fail "eval: an invalid UTF-8 file" 1 "${TO[@]}" "$BIN" eval -m "$M" "$TMP/bad.txt"
head -c 4096 /dev/urandom >"$TMP/random.bin"
expect_fail "eval: a file of random bytes" 1 "${TO[@]}" "$BIN" eval -m "$M" "$TMP/random.bin"
expect_fail "tokenize: random bytes" 1 from "$TMP/random.bin" "${TO[@]}" "$BIN" tokenize -m "$M"
mkdir -p "$TMP/adir"
expect_fail "generate: a directory on stdin" 1 from "$TMP/adir" "${G[@]}" -n 2
expect_fail "tokenize: a directory on stdin" 1 from "$TMP/adir" "${TO[@]}" "$BIN" tokenize -m "$M"
expect_fail "eval: a directory" 1 "${TO[@]}" "$BIN" eval -m "$M" "$TMP/adir"
printf 'a' >"$TMP/one.txt"
expect_fail "eval: a 1-byte file (one token, nothing to predict)" 1 "${TO[@]}" "$BIN" eval -m "$M" "$TMP/one.txt"

# a 10 MB prompt: generate keeps its last n_ctx - 1 tokens and says so;
# the repl (and chat) keep a prompt whole, so they refuse one of more than
# 65536 tokens (core/decode/chat.h says why) in one line; both at once
$PY - "$TMP/big.txt" <<'PY'
import random, sys
random.seed(1)
w = ["the", "king", "sea", "of", "and", "to", "café", "😀"]
out, size = [], 0
while size < 10 * 1024 * 1024:
    x = random.choice(w); out.append(x); size += len(x.encode()) + 1
open(sys.argv[1], "w", encoding="utf-8").write(" ".join(out))
PY
t0=$SECONDS
"${G[@]}" -n 3 -p - <"$TMP/big.txt" >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 0 ] && [ -s "$TMP/out" ] && grep -qx 'gptscope: note: the prompt is longer than the context; using its last 61 tokens' "$TMP/err" &&
    [ $((SECONDS - t0)) -le 20 ]
ok $? "generate: a 10 MB prompt keeps its last tokens, says so ($((SECONDS - t0)) s, rc $rc)" "$(cat "$TMP/err")"
t0=$SECONDS
"${TO[@]}" "$BIN" tokenize -m "$M" <"$TMP/big.txt" | wc -w >"$TMP/nt"
[ "$(cat "$TMP/nt")" -gt 1000000 ] && [ $((SECONDS - t0)) -le 20 ]
ok $? "tokenize: a 10 MB text ($(cat "$TMP/nt") tokens, $((SECONDS - t0)) s)"
(cat "$TMP/big.txt"; echo) >"$TMP/big.line"
for save in --no-save "--db $TMP/big.db"; do
    t0=$SECONDS
    # shellcheck disable=SC2086
    expect_fail "repl $save: a 10 MB prompt is refused" 1 from "$TMP/big.line" "${TO[@]}" "$BIN" repl -m "$M" -t 1 $save -n 3
    grep -q 'the prompt is [0-9]* tokens, more than the 65536 a prompt may have' "$TMP/err" &&
        [ $((SECONDS - t0)) -le 20 ]
    ok $? "... says how many tokens and the limit ($((SECONDS - t0)) s)" "$(cat "$TMP/err")"
done
# just under the limit it is kept whole, in the store too, in one transaction
head -c 100000 "$TMP/big.txt" | sed 's/ [^ ]*$//' >"$TMP/mid.txt"
echo >>"$TMP/mid.txt"
t0=$SECONDS
"${TO[@]}" "$BIN" repl -m "$M" -t 1 --db "$TMP/mid.db" -n 3 <"$TMP/mid.txt" >"$TMP/out" 2>"$TMP/err"
rc=$?
$PY - "$TMP/mid.db" "$TMP/mid.txt" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
text = bytes(db.execute("SELECT text FROM turns WHERE idx = 0").fetchone()[0])
assert text == open(sys.argv[2], "rb").read().rstrip(b"\n"), len(text)
n = db.execute("SELECT count(*) FROM tokens k JOIN turns t ON k.turn_id = t.id WHERE t.idx = 0").fetchone()[0]
assert n > 40000, n
PY
[ $? -eq 0 ] && [ $rc -eq 0 ] && grep -q 'the model read only its last 63' "$TMP/err" && [ $((SECONDS - t0)) -le 20 ]
ok $? "repl: a 100 kB prompt is stored whole, quickly ($((SECONDS - t0)) s; it took 40 s token by token)" \
    "rc $rc $(cat "$TMP/err")"

# ---------------------------------------------------------------- --ids
expect_fail "--ids negative" 1 "${G[@]}" --ids "5 -3" -n 2
expect_fail "--ids too large for an int" 1 "${G[@]}" --ids "99999999999999999999" -n 2
expect_fail "--ids with commas" 1 "${G[@]}" --ids "1,2" -n 2
# documented: an empty prompt starts from <|endoftext|> (README)
"${G[@]}" --ids "" -n 3 --seed 1 >"$TMP/a" 2>"$TMP/err" && "${G[@]}" -p "" -n 3 --seed 1 >"$TMP/b" 2>>"$TMP/err" &&
    cmp -s "$TMP/a" "$TMP/b"
ok $? "--ids '' is the empty prompt, as -p '' (starts from <|endoftext|>)" "$(cat "$TMP/err")"
printf '5 -1 3' >"$TMP/neg.ids"
expect_fail "eval --ids with a negative id" 1 "${TO[@]}" "$BIN" eval -m "$M" --ids "$TMP/neg.ids"
printf '5 400 3' >"$TMP/big.ids"
expect_fail "eval --ids outside the vocabulary" 1 "${TO[@]}" "$BIN" eval -m "$M" --ids "$TMP/big.ids"
: >"$TMP/empty.ids"
expect_fail "eval --ids of an empty file" 1 "${TO[@]}" "$BIN" eval -m "$M" --ids "$TMP/empty.ids"
printf 'abc' >"$TMP/abc.ids"
expect_fail "tokenize --decode of a word" 1 from "$TMP/abc.ids" "${TO[@]}" "$BIN" tokenize -m "$M" --decode
printf '99999999999999999999999' >"$TMP/huge.ids"
expect_fail "tokenize --decode of a huge number" 1 from "$TMP/huge.ids" "${TO[@]}" "$BIN" tokenize -m "$M" --decode
: >"$TMP/empty.txt"
from "$TMP/empty.txt" "${TO[@]}" "$BIN" tokenize -m "$M" --decode >"$TMP/out" 2>"$TMP/err"
[ $? -eq 0 ] && [ ! -s "$TMP/out" ] && [ ! -s "$TMP/err" ]
ok $? "tokenize --decode of nothing: nothing, exit 0"

# ---------------------------------------------------------------- flags
# generate: 0 new tokens is a valid request (the reply is empty)
"${G[@]}" -p hi -n 0 >"$TMP/out" 2>"$TMP/err"
[ $? -eq 0 ] && [ "$(od -An -c "$TMP/out" | tr -d ' ')" = '\n' ]
ok $? "generate -n 0: an empty reply, exit 0"
for bad in "--temp 1e30" "--temp nan" "--temp inf" "--top-k -1" "--beams 10000" "--threads 100000" \
    "--seed 99999999999999999999999" "--seed 18446744073709551616" "--seed 0x10" \
    "-n 99999999999999999999"; do
    # shellcheck disable=SC2086
    expect_fail "generate $bad" 2 "${G[@]}" -p hi $bad
done
"${G[@]}" -p hi -n 3 --seed 18446744073709551615 >/dev/null 2>&1
ok $? "generate --seed 2^64-1 is taken"
# the repl refuses the same values, on its command line and as commands
for bad in "-n 0" "-n -1" "--temp 1e30" "--temp -1" "--temp nan" "--top-p 0" "--top-p 1.5" \
    "--top-k -1" "--beams 10000" "--threads 0" "--threads 100000" "--seed -1" \
    "--seed 99999999999999999999999"; do
    # shellcheck disable=SC2086
    expect_fail "repl $bad" 2 "${R[@]}" $bad
done
for cmd in "/temp nan" "/temp 1e30" "/top-p 1.5" "/top-p 0" "/beams 10000" "/top-k -1" \
    "/max-tokens -1" "/max-tokens 0" "/seed -1" "/seed 99999999999999999999999" "/threads 0"; do
    printf '%s\n' "$cmd" >"$TMP/cmd"
    expect_fail "repl command $cmd" 1 from "$TMP/cmd" "${R[@]}"
done
for bad in "-t 0" "-t 100000" "--threads -1"; do
    # shellcheck disable=SC2086
    expect_fail "eval $bad" 2 "${TO[@]}" "$BIN" eval -m "$M" $bad "$TMP/nul.txt"
done

# ---------------------------------------------------------------- train
TAP_QUIET_STDOUT=0 # train reports on stdout before an error
TINY=(--layers 2 --embd 32 --heads 2 --ctx 32 --batch 4 --vocab-size 300 --lr 3e-3
    --warmup 2 --eval-every 2 --save-every 2 --threads 1 --seed 7)
T=("${TO[@]}" "$BIN" train)
expect_fail_late "train on a binary file" 1 "${T[@]}" --data "$TMP/random.bin" -o "$TMP/t1" "${TINY[@]}" --steps 2
grep -q 'random.bin: invalid UTF-8' "$TMP/err" && [ ! -e "$TMP/t1" ]
ok $? "... names the file, creates nothing" "$(tail -1 "$TMP/err")"
expect_fail "train on a 1-byte file" 1 "${T[@]}" --data "$TMP/one.txt" -o "$TMP/t2" "${TINY[@]}" --steps 2
[ ! -e "$TMP/t2" ]
ok $? "... creates nothing"
expect_fail "train on a directory" 1 "${T[@]}" --data "$TMP/adir" -o "$TMP/t3" "${TINY[@]}" --steps 2
grep -q 'adir: is a directory' "$TMP/err"
ok $? "... says it is a directory" "$(cat "$TMP/err")"
printf '\0\0\0\0' >"$TMP/nul4.txt"
expect_fail_late "train on a file of 4 NUL bytes" 1 "${T[@]}" --data "$TMP/nul4.txt" -o "$TMP/t4" "${TINY[@]}" --steps 2
CORPUS=$SHARED/tinyshakespeare.txt
if [ -f "$CORPUS" ]; then
    head -c 20000 "$CORPUS" >"$TMP/text.txt"
    "${T[@]}" --data "$TMP/text.txt" -o "$TMP/part" "${TINY[@]}" --steps 4 --stop-after 2 >"$TMP/out" 2>&1
    ok $? "a 2-step checkpoint to damage" "$(tail -3 "$TMP/out")"
    garble() { # garble NAME FILE PYTHON-ON-b(bytearray): a copy of part with FILE changed
        rm -rf "$TMP/g"
        cp -r "$TMP/part" "$TMP/g"
        $PY - "$TMP/g/$2" "$3" <<'PY'
import random, sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); random.seed(3)
exec(sys.argv[2])
open(p, "wb").write(b)
PY
        expect_fail_late "--resume: $1" 1 "${T[@]}" --resume "$TMP/g"
    }
    # documented: a resume reads the weights from optimizer.safetensors (its
    # param. tensors); model.safetensors is the export, written again
    for how in 'del b[100:]' 'del b[:]' 'b[0:8] = (2**62).to_bytes(8, "little")'; do
        rm -rf "$TMP/g"
        cp -r "$TMP/part" "$TMP/g"
        $PY -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); exec(sys.argv[2]); open(p, "wb").write(b)' \
            "$TMP/g/model.safetensors" "$how"
        "${T[@]}" --resume "$TMP/g" >"$TMP/out" 2>&1 && "${TO[@]}" "$BIN" info -m "$TMP/g" >/dev/null 2>&1
        ok $? "--resume with model.safetensors damaged ($how): runs and writes it again" "$(tail -3 "$TMP/out")"
    done
    garble "optimizer.safetensors of random bytes" optimizer.safetensors 'b[:] = bytes(random.randrange(256) for _ in range(len(b)))'
    garble "optimizer.safetensors empty" optimizer.safetensors 'del b[:]'
    garble "train_state.json empty" train_state.json 'del b[:]'
    garble "train_state.json of random bytes" train_state.json 'b[:] = bytes(random.randrange(256) for _ in range(200))'
    garble "config.json cut in half" config.json 'del b[len(b) // 2:]'
    garble "vocab.json of random bytes" vocab.json 'b[:] = bytes(random.randrange(256) for _ in range(len(b)))'
    garble "merges.txt of random bytes" merges.txt 'b[:] = bytes(random.randrange(256) for _ in range(len(b)))'
    rm -rf "$TMP/g" && cp -r "$TMP/part" "$TMP/g" && rm "$TMP/g/optimizer.safetensors"
    expect_fail_late "--resume: optimizer.safetensors missing" 1 "${T[@]}" --resume "$TMP/g"
    rm -rf "$TMP/g" && cp -r "$TMP/part" "$TMP/g" && rm "$TMP/g/optimizer.safetensors" &&
        mkdir "$TMP/g/optimizer.safetensors"
    expect_fail_late "--resume: optimizer.safetensors a directory" 1 "${T[@]}" --resume "$TMP/g"
    # a damaged token cache is not trusted (e2e_train truncates it): random bytes
    garble_cache() {
        rm -rf "$TMP/g"
        cp -r "$TMP/part" "$TMP/g"
        head -c "$(stat -c %s "$TMP/part/tokens.cache")" /dev/urandom >"$TMP/g/tokens.cache"
        "${T[@]}" --resume "$TMP/g" >"$TMP/out" 2>&1
    }
    garble_cache
    ok $? "--resume with a tokens.cache of random bytes rebuilds it and runs" "$(tail -3 "$TMP/out")"
else
    skip "damaged checkpoints" "no $CORPUS"
fi

tap_finish
