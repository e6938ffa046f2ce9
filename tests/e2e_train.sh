#!/bin/bash
# e2e_train.sh - `gptscope bpe-train` and `gptscope train` end to end, as a
# user runs them: raw text -> vocabulary -> model; the loss falls; the
# checkpoint loads in info/generate/eval and eval reproduces the validation
# bits per byte; --resume continues bit for bit; a NaN stops the run and
# keeps the last checkpoint; Ctrl-C saves a loadable checkpoint (exit 130);
# the token cache is reused and rebuilt when the text changes; bad flags and
# files give one "gptscope: ..." line. TAP output.
set -u

BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SHARED=${GPTSCOPE_SHARED:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
unset GPTSCOPE_MODEL

TAP_QUIET_STDOUT=0 # train reports on stdout before an error
. "$(dirname "$0")/tap.sh"

CORPUS=$SHARED/tinyshakespeare.txt
if [ ! -f "$CORPUS" ]; then
    echo "1..0 # SKIP $CORPUS not found"
    exit 0
fi
head -c 60000 "$CORPUS" >"$TMP/text.txt"
# One thread: on a busy 2-core machine two spinning threads can run 20x slower.
# The resume test below runs on two threads, where bit-exactness is harder.
TINY=(--layers 2 --embd 32 --heads 2 --ctx 32 --batch 4 --vocab-size 300 --lr 3e-3
      --warmup 5 --eval-every 10 --save-every 10 --threads 1 --seed 7)

# ---------------------------------------------------------------- bpe-train
"$BIN" bpe-train "$TMP/text.txt" --vocab-size 300 -o "$TMP/bpe" >"$TMP/bpe.out" 2>&1
ok $? "bpe-train learns a vocabulary" "$(cat "$TMP/bpe.out")"
[ "$(head -1 "$TMP/bpe/merges.txt")" = "#version: 0.2" ] && [ "$(wc -l <"$TMP/bpe/merges.txt")" -eq 44 ]
ok $? "merges.txt: version line + 43 merges (300 = 256 bytes + 43 + <|endoftext|>)"
python3 -c "import json,sys; v=json.load(open(sys.argv[1])); assert len(v)==300 and v['<|endoftext|>']==299 and v['!']==0 and sorted(v.values())==list(range(300))" "$TMP/bpe/vocab.json"
ok $? "vocab.json: 300 ids, bytes first in GPT-2 order, <|endoftext|> last"
"$BIN" bpe-train "$TMP/text.txt" --vocab-size 300 -o "$TMP/bpe2" >/dev/null 2>&1
cmp -s "$TMP/bpe/merges.txt" "$TMP/bpe2/merges.txt" && cmp -s "$TMP/bpe/vocab.json" "$TMP/bpe2/vocab.json"
ok $? "bpe-train is deterministic"
# a corpus worked by hand: words "aaab", " aaab", " ab" (Ġ = space)
#   (a,a) 4 -> aa; (a,b) 3 -> ab; (aa,ab) 2 -> aaab; then (Ġ,aaab) 1 and (Ġ,ab) 1:
#   below --min-frequency 2 it stops (260 tokens); with 1 the tie goes to the
#   smaller right id (ab = 257 before aaab = 258)
printf 'aaab aaab ab' >"$TMP/hand.txt"
"$BIN" bpe-train "$TMP/hand.txt" --vocab-size 300 -o "$TMP/hand" >/dev/null 2>&1
[ "$(tail -n +2 "$TMP/hand/merges.txt" | tr '\n' '|')" = "a a|a b|aa ab|" ]
ok $? "hand-worked merges, min frequency 2" "$(cat "$TMP/hand/merges.txt")"
"$BIN" bpe-train "$TMP/hand.txt" --vocab-size 300 --min-frequency 1 -o "$TMP/hand1" >/dev/null 2>&1
[ "$(tail -n +2 "$TMP/hand1/merges.txt" | tr '\n' '|')" = "a a|a b|aa ab|Ġ ab|Ġ aaab|" ] &&
    python3 -c "import json,sys; v=json.load(open(sys.argv[1])); assert len(v)==262 and v['Ġaaab']==260 and v['<|endoftext|>']==261" "$TMP/hand1/vocab.json"
ok $? "hand-worked merges, min frequency 1 (tie-break, ids)" "$(cat "$TMP/hand1/merges.txt")"
expect_fail "bpe-train --vocab-size 100 refused" 2 "$BIN" bpe-train "$TMP/text.txt" --vocab-size 100 -o "$TMP/x"
expect_fail "bpe-train without -o refused" 2 "$BIN" bpe-train "$TMP/text.txt" --vocab-size 300
printf 'ok \xff\xfe bad' >"$TMP/bad.txt"
expect_fail "bpe-train on invalid UTF-8" 1 "$BIN" bpe-train "$TMP/bad.txt" --vocab-size 300 -o "$TMP/x"
grep -q "bad.txt: invalid UTF-8 at byte offset 3" "$TMP/err"
ok $? "the error names the file and the offset" "$(cat "$TMP/err")"

# ---------------------------------------------------------------- train
"$BIN" train --data "$TMP/text.txt" -o "$TMP/m" "${TINY[@]}" --steps 30 >"$TMP/train.out" 2>&1
rc=$?
ok $rc "train: 30 steps from raw text" "$(tail -5 "$TMP/train.out")"
for f in config.json model.safetensors vocab.json merges.txt optimizer.safetensors train_state.json val.txt tokens.cache; do
    [ -s "$TMP/m/$f" ] || { ok 1 "checkpoint has $f"; continue; }
    ok 0 "checkpoint has $f"
done
first=$(grep -m1 -o 'loss [0-9.]*' "$TMP/train.out" | awk '{print $2}')
last=$(grep -o 'loss [0-9.]*' "$TMP/train.out" | tail -1 | awk '{print $2}')
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a - 0.5) }'
ok $? "the loss falls ($first -> $last)"
# config.json records the dropout the run used (for Hugging Face training):
# GPT-2's 0.1 by default, else --dropout
python3 -c "import json,sys; c=json.load(open(sys.argv[1])); assert c['attn_pdrop']==c['embd_pdrop']==c['resid_pdrop']==0.1" "$TMP/m/config.json" 2>/dev/null
ok $? "config.json's attn/embd/resid_pdrop are 0.1 by default" "$(grep pdrop "$TMP/m/config.json")"
"$BIN" train --data "$TMP/text.txt" -o "$TMP/pd" "${TINY[@]}" --steps 2 --dropout 0.2 >/dev/null 2>&1 &&
    python3 -c "import json,sys; c=json.load(open(sys.argv[1])); assert c['attn_pdrop']==c['embd_pdrop']==c['resid_pdrop']==0.2" "$TMP/pd/config.json" 2>/dev/null
ok $? "with --dropout 0.2 they are 0.2" "$(grep pdrop "$TMP/pd/config.json" 2>&1)"
"$BIN" info -m "$TMP/m" >"$TMP/info" 2>&1 && grep -q "n_layer" "$TMP/info"
ok $? "gptscope info loads the trained model" "$(cat "$TMP/info")"
out=$("$BIN" generate -m "$TMP/m" -p "ROMEO:" -n 8 --seed 3 2>&1)
ok $? "gptscope generate runs on it" "$out"
val_bpb=$(grep -o '[0-9.]* bits per byte' "$TMP/train.out" | tail -1 | awk '{print $1}')
eval_bpb=$("$BIN" eval -m "$TMP/m" --json "$TMP/m/val.txt" 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['bpb'])")
# eval slides windows of n_ctx with stride n_ctx/2 (more context) while the
# trainer uses non-overlapping windows, so eval can only be a little better
awk -v a="$val_bpb" -v b="$eval_bpb" 'BEGIN { exit !(b <= a + 1e-3 && b > a - 0.3) }'
ok $? "eval on val.txt agrees with the trainer's validation ($val_bpb vs $eval_bpb bits/byte)"
# calibrate: the temperature fitted on val.txt, built into a copy of the
# model; eval of the copy measures what calibrate estimated, and the copy is
# no worse than the original on the text it was fitted on
"$BIN" calibrate -m "$TMP/m" -o "$TMP/cal" --json "$TMP/m/val.txt" >"$TMP/cal.json" 2>"$TMP/cal.err"
ok $? "calibrate -o writes a calibrated copy" "$(cat "$TMP/cal.json" "$TMP/cal.err")"
cal_eval=$("$BIN" eval -m "$TMP/cal" --json "$TMP/m/val.txt" 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['bpb'])")
python3 - "$TMP/cal.json" "$eval_bpb" "$cal_eval" "$TMP/cal/calibration.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
before, after = float(sys.argv[2]), float(sys.argv[3])
rec = json.load(open(sys.argv[4]))
assert abs(c["bpb_before"] - before) < 1e-4, ("bpb_before is eval's figure", c, before)
assert abs(c["bpb_after"] - after) < 2e-3, ("eval of the copy measures the estimate", c, after)
assert after <= before + 1e-4, ("no worse", before, after)
assert abs(c["temperature"] * c["scale"] - 1) < 1e-9 and 0.66 < c["temperature"] < 2.01, c
assert abs(rec["scale"] - c["scale"]) < 1e-12 and rec["calibrated_on"].endswith("val.txt"), rec
PY
ok $? "eval of the calibrated copy: $cal_eval bits/byte (was $eval_bpb), as estimated" "$(cat "$TMP/cal.json")"
for f in config.json vocab.json merges.txt; do cmp -s "$TMP/m/$f" "$TMP/cal/$f" || break; done
ok $? "the copy has the model's config and tokenizer files"
python3 - "$TMP/m/model.safetensors" "$TMP/cal/model.safetensors" "$TMP/cal.json" <<'PY'
import json, struct, sys
def tensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k: (v["dtype"], v["shape"], b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]) for k, v in h.items() if k != "__metadata__"}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
s = json.load(open(sys.argv[3]))["scale"]
assert a.keys() == b.keys()
for k in a:
    if k in ("ln_f.weight", "ln_f.bias"):
        x = struct.unpack("<%df" % (len(a[k][2]) // 4), a[k][2])
        y = struct.unpack("<%df" % (len(b[k][2]) // 4), b[k][2])
        assert all(abs(q - p * s) <= 1e-6 * abs(p * s) + 1e-30 for p, q in zip(x, y)), k
    else:
        assert a[k] == b[k], k + " changed"
PY
ok $? "only ln_f's gain and bias changed, by the fitted scale"
expect_fail "calibrate into the model's own directory refused" 1 "$BIN" calibrate -m "$TMP/m" -o "$TMP/m" "$TMP/m/val.txt"
grep -q "is the model's own directory" "$TMP/err"
ok $? "... with a message saying so" "$(cat "$TMP/err")"
expect_fail "calibrate without a FILE" 2 "$BIN" calibrate -m "$TMP/m"
expect_fail "calibrate on a missing file" 1 "$BIN" calibrate -m "$TMP/m" "$TMP/nope.txt"
grep -q "nope.txt" "$TMP/err"
ok $? "... names the file" "$(cat "$TMP/err")"
"$BIN" calibrate --help | grep -q "usage: gptscope calibrate"
ok $? "calibrate --help"
# --keep-best: OUT/best/ holds the model of the lowest validation loss logged
"$BIN" train --data "$TMP/text.txt" -o "$TMP/kb" "${TINY[@]}" --steps 30 --keep-best >"$TMP/kb.out" 2>&1
ok $? "train --keep-best" "$(tail -3 "$TMP/kb.out")"
minval=$(grep -o '| val [0-9.]*' "$TMP/kb.out" | awk '{print $3}' | sort -g | head -1)
python3 - "$TMP/kb/best/best.json" "$minval" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
assert abs(b["val_loss"] - float(sys.argv[2])) < 1e-4, (b, sys.argv[2])
assert b["step"] in (10, 20, 30)
PY
ok $? "best/best.json names the lowest logged validation loss ($minval)" "$(cat "$TMP/kb/best/best.json" 2>&1)"
best_step=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['step'])" "$TMP/kb/best/best.json" 2>/dev/null)
if [ "$best_step" = 30 ]; then
    cmp -s "$TMP/kb/best/model.safetensors" "$TMP/kb/model.safetensors" &&
        cmp -s "$TMP/kb/best/vocab.json" "$TMP/kb/vocab.json"
    ok $? "best/ at the last step equals the final checkpoint"
else
    skip "best/ at the last step equals the final checkpoint" "best at step $best_step"
fi
"$BIN" eval -m "$TMP/kb/best" "$TMP/kb/val.txt" >/dev/null 2>&1
ok $? "gptscope eval loads best/"
printf 'Hello there, friend' >"$TMP/rt.txt"
rt=$("$BIN" tokenize -m "$TMP/m" <"$TMP/rt.txt" | "$BIN" tokenize -m "$TMP/m" --decode)
[ "$rt" = "Hello there, friend" ]
ok $? "the learned tokenizer round-trips text ($rt)"

# token cache reused, then rebuilt when the text changes
"$BIN" train --data "$TMP/text.txt" -o "$TMP/m" "${TINY[@]}" --steps 2 --tokenizer "$TMP/m" >"$TMP/c1" 2>&1
grep -q "token cache reused" "$TMP/c1"
ok $? "the token cache is reused for the same text" "$(head -3 "$TMP/c1")"
echo "one more line" >>"$TMP/text2.txt"
cat "$TMP/text.txt" "$TMP/text2.txt" >"$TMP/text3.txt"
cp "$TMP/text3.txt" "$TMP/text.txt"
"$BIN" train --data "$TMP/text.txt" -o "$TMP/m" "${TINY[@]}" --steps 2 --tokenizer "$TMP/m" >"$TMP/c2" 2>&1
grep -q "cache written" "$TMP/c2"
ok $? "the token cache is rebuilt when the text changes" "$(head -3 "$TMP/c2")"
head -c 60000 "$CORPUS" >"$TMP/text.txt"

# resume: 15 + 15 steps == 30 steps, bit for bit
"$BIN" train --data "$TMP/text.txt" -o "$TMP/full" "${TINY[@]}" --threads 2 --steps 30 --tokenizer "$TMP/bpe" >"$TMP/full.out" 2>&1
"$BIN" train --data "$TMP/text.txt" -o "$TMP/part" "${TINY[@]}" --threads 2 --steps 30 --stop-after 15 --tokenizer "$TMP/bpe" >"$TMP/part.out" 2>&1
grep -q '"step":\s*15' "$TMP/part/train_state.json"
ok $? "--stop-after 15 stops with a checkpoint at step 15" "$(tail -2 "$TMP/part.out")"
cp -r "$TMP/part" "$TMP/nan" # a step-15 checkpoint for the NaN test below
"$BIN" train --resume "$TMP/part" --steps 30 >"$TMP/resume.out" 2>&1
ok $? "train --resume continues" "$(tail -3 "$TMP/resume.out")"
cmp -s "$TMP/full/model.safetensors" "$TMP/part/model.safetensors" && cmp -s "$TMP/full/optimizer.safetensors" "$TMP/part/optimizer.safetensors"
ok $? "15 steps + resume to 30 = 30 steps, bit for bit (weights and optimiser state)"
full_loss=$(grep '^step 30/30' "$TMP/full.out" | grep -o ' loss [0-9.]*')
res_loss=$(grep '^step 30/30' "$TMP/resume.out" | grep -o ' loss [0-9.]*')
[ -n "$full_loss" ] && [ "$full_loss" = "$res_loss" ]
ok $? "the resumed run's final loss is the uninterrupted run's ($res_loss vs $full_loss)"

# --ema: the saved model is the average (not the last weights), the
# optimiser file carries it, and a resume continues it bit for bit
"$BIN" train --data "$TMP/text.txt" -o "$TMP/ema" "${TINY[@]}" --threads 2 --steps 30 --ema 0.5 --tokenizer "$TMP/bpe" >"$TMP/ema.out" 2>&1 &&
    "$BIN" train --data "$TMP/text.txt" -o "$TMP/ema_part" "${TINY[@]}" --threads 2 --steps 30 --ema 0.5 --stop-after 15 --tokenizer "$TMP/bpe" >/dev/null 2>&1 &&
    "$BIN" train --resume "$TMP/ema_part" >"$TMP/ema_res.out" 2>&1 &&
    cmp -s "$TMP/ema/model.safetensors" "$TMP/ema_part/model.safetensors" &&
    cmp -s "$TMP/ema/optimizer.safetensors" "$TMP/ema_part/optimizer.safetensors"
ok $? "--ema 0.5: 15 steps + resume to 30 = 30 steps, bit for bit" "$(tail -3 "$TMP/ema_res.out")"
grep -q '"ema":\s*0.5' "$TMP/ema/train_state.json" && grep -q '"ema\.' "$TMP/ema/optimizer.safetensors" &&
    ! grep -q '"ema\.' "$TMP/full/optimizer.safetensors"
ok $? "train_state.json records ema; optimizer.safetensors holds the average only with --ema"
# same run without the average: the last weights are those of --ema's run
# (the average does not feed back), and the saved models differ
python3 - "$TMP/ema/optimizer.safetensors" "$TMP/full/optimizer.safetensors" "$TMP/ema/model.safetensors" "$TMP/full/model.safetensors" <<'PY'
import json, struct, sys
def tensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items() if k != "__metadata__"}
eo, fo, em, fm = (tensors(p) for p in sys.argv[1:])
same_params = all(eo[k] == fo[k] for k in fo if k.startswith("param.") or k.startswith("m.") or k.startswith("v."))
sys.exit(0 if same_params and em != fm and any(eo["ema." + k[6:]] != eo[k] for k in eo if k.startswith("param.")) else 1)
PY
ok $? "--ema leaves the training itself unchanged (weights, moments) and saves the average"

# --muon: the blocks' matrices move by Muon (no AdamW moments saved for them),
# the rest by AdamW; Muon's momentum is in optimizer.safetensors ("mu.", the
# eight block matrices only), and a resume continues it bit for bit
MU=(--data "$TMP/text.txt" "${TINY[@]}" --threads 2 --steps 30 --muon 0.02 --muon-ns 3 --tokenizer "$TMP/bpe")
"$BIN" train "${MU[@]}" -o "$TMP/mu" >"$TMP/mu.out" 2>&1 &&
    "$BIN" train "${MU[@]}" -o "$TMP/mu_part" --stop-after 15 >/dev/null 2>&1 &&
    cp -r "$TMP/mu_part" "$TMP/mu_bad" &&
    "$BIN" train --resume "$TMP/mu_part" >"$TMP/mu_res.out" 2>&1 &&
    cmp -s "$TMP/mu/model.safetensors" "$TMP/mu_part/model.safetensors" &&
    cmp -s "$TMP/mu/optimizer.safetensors" "$TMP/mu_part/optimizer.safetensors"
ok $? "--muon 0.02: 15 steps + resume to 30 = 30 steps, bit for bit" "$(tail -3 "$TMP/mu_res.out")"
mu_first=$(grep -o 'loss [0-9.]*' "$TMP/mu.out" | head -1 | awk '{print $2}')
mu_last=$(grep -o 'loss [0-9.]*' "$TMP/mu.out" | tail -1 | awk '{print $2}')
awk -v a="$mu_first" -v b="$mu_last" 'BEGIN { exit !(b < a - 0.5) }'
ok $? "--muon: the loss falls ($mu_first -> $mu_last)"
python3 -c "import json,sys; o=json.load(open(sys.argv[1]))['options']; assert abs(o['muon_lr']-0.02)<1e-7 and o['muon_ns']==3 and abs(o['muon_wd']-0.1)<1e-7 and abs(o['muon_momentum']-0.95)<1e-7, o" "$TMP/mu/train_state.json"
ok $? "train_state.json records the Muon options"
python3 - "$TMP/mu/optimizer.safetensors" "$TMP/full/optimizer.safetensors" <<'PY'
import json, struct, sys
def tensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items() if k != "__metadata__"}
mu, plain = tensors(sys.argv[1]), tensors(sys.argv[2])
mats = {"h.%d.%s.weight" % (l, s) for l in range(2) for s in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")}
assert {k[3:] for k in mu if k.startswith("mu.")} == mats, "mu. tensors are the block matrices"
assert not any(k.startswith("mu.") for k in plain), "no mu. tensors without --muon"
for k in mats:
    assert mu["mu." + k].count(0) < len(mu["mu." + k]), k + ": momentum is not zero"
    assert "m." + k not in mu and "v." + k not in mu, k + ": no AdamW moments for a Muon matrix"
    assert mu["param." + k] != plain["param." + k], k + ": trained differently from AdamW"
for k in ("wte.weight", "h.0.attn.c_attn.bias", "h.1.ln_2.weight"):
    assert mu["m." + k].count(0) < len(mu["m." + k]), k + ": AdamW moment should move"
PY
ok $? "Muon's momentum only for the block matrices, which have no AdamW moments"
python3 - "$TMP/mu_bad/optimizer.safetensors" <<'PY'
import json, struct, sys
p = sys.argv[1]
b = open(p, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h["mu_renamed.h.0.attn.c_attn.weight"] = h.pop("mu.h.0.attn.c_attn.weight")
hb = json.dumps(h).encode()
hb += b" " * (-len(hb) % 8)
open(p, "wb").write(struct.pack("<Q", len(hb)) + hb + b[8 + n:])
PY
# files written before Muon's matrices lost their (all-zero) AdamW moments
# still resume to the same bits: the extra m./v. tensors are ignored
cp -r "$TMP/mu_bad" "$TMP/mu_old"
python3 - "$TMP/mu_old/optimizer.safetensors" <<'PY'
import json, struct, sys
p = sys.argv[1]
b = open(p, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h["mu.h.0.attn.c_attn.weight"] = h.pop("mu_renamed.h.0.attn.c_attn.weight")
data = bytearray(b[8 + n:])
for k in [k for k in h if k.startswith("mu.")]:
    for pre in ("m.", "v."):
        size = h[k]["data_offsets"][1] - h[k]["data_offsets"][0]
        h[pre + k[3:]] = {"dtype": "F32", "shape": h[k]["shape"], "data_offsets": [len(data), len(data) + size]}
        data += bytes(size)
hb = json.dumps(h).encode()
hb += b" " * (-len(hb) % 8)
open(p, "wb").write(struct.pack("<Q", len(hb)) + hb + bytes(data))
PY
"$BIN" train --resume "$TMP/mu_old" >/dev/null 2>&1 &&
    cmp -s "$TMP/mu/model.safetensors" "$TMP/mu_old/model.safetensors"
ok $? "--resume of a Muon run saved with zero AdamW moments for its matrices: same bits"
"$BIN" train --resume "$TMP/mu_bad" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -eq 1 ] && tail -1 "$TMP/err" | grep -q "optimizer.safetensors: missing tensor mu.h.0.attn.c_attn.weight"
ok $? "--resume of a Muon run without its momentum: one clear line (rc $rc)" "$(cat "$TMP/err")"

# BPE-dropout: a 6000-byte text is ~25 steps per epoch here, so 40 steps
# re-tokenize once, and the resume at step 30 must redraw epoch 1's segmentation
head -c 6000 "$CORPUS" >"$TMP/small.txt"
BD=(--data "$TMP/small.txt" "${TINY[@]}" --tokenizer "$TMP/bpe" --steps 40)
"$BIN" train "${BD[@]}" --bpe-dropout 0.1 -o "$TMP/bd_full" >"$TMP/bd_full.out" 2>&1
ok $? "train --bpe-dropout 0.1" "$(tail -3 "$TMP/bd_full.out")"
grep -q '"bpe_dropout":\s*0.1' "$TMP/bd_full/train_state.json"
ok $? "train_state.json records bpe_dropout"
"$BIN" train "${BD[@]}" --bpe-dropout 0.1 -o "$TMP/bd_part" --stop-after 30 >"$TMP/bd_part.out" 2>&1 &&
    "$BIN" train --resume "$TMP/bd_part" >"$TMP/bd_res.out" 2>&1 &&
    cmp -s "$TMP/bd_full/model.safetensors" "$TMP/bd_part/model.safetensors" &&
    cmp -s "$TMP/bd_full/optimizer.safetensors" "$TMP/bd_part/optimizer.safetensors"
ok $? "BPE-dropout: 30 steps + resume to 40 = 40 steps, bit for bit (across a re-tokenized epoch)" "$(tail -3 "$TMP/bd_res.out")"
"$BIN" train "${BD[@]}" -o "$TMP/bd_none" >"$TMP/bd_none.out" 2>&1
! cmp -s "$TMP/bd_full/model.safetensors" "$TMP/bd_none/model.safetensors"
ok $? "BPE-dropout changes what the model is trained on"
v_drop=$(grep -o 'val [0-9.]*' "$TMP/bd_full.out" | tail -1)
v_none=$(grep -o 'val [0-9.]*' "$TMP/bd_none.out" | tail -1)
[ -n "$v_drop" ] && [ -n "$v_none" ]
ok $? "both runs report validation on the normal encoding ($v_drop vs $v_none)"
expect_fail "--bpe-dropout 1 refused" 2 "$BIN" train "${BD[@]}" --bpe-dropout 1 -o "$TMP/x"
expect_fail "--bpe-dropout with --family gpt1 refused" 2 "$BIN" train "${BD[@]}" --bpe-dropout 0.1 --family gpt1 -o "$TMP/x"

# a NaN stops the run with a message and leaves the last checkpoint as it was
python3 - "$TMP/nan/optimizer.safetensors" <<'PY'
import json, struct, sys
path = sys.argv[1]
raw = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
start = 8 + n + hdr["param.h.0.ln_1.weight"]["data_offsets"][0]
# huge but finite: a NaN is refused when the checkpoint is read; this one
# passes the checks and blows up in the first forward pass
for k in range(8):
    raw[start + 4 * k:start + 4 * k + 4] = struct.pack("<f", 3e38)
open(path, "wb").write(raw)
PY
cp "$TMP/nan/optimizer.safetensors" "$TMP/nan.opt"
cp "$TMP/nan/model.safetensors" "$TMP/nan.model"
expect_fail_late "a NaN loss stops the run (exit 1)" 1 "$BIN" train --resume "$TMP/nan" --steps 30
grep -q "became \(NaN\|infinite\) at step 16.*last good checkpoint (step 15)" "$TMP/err"
ok $? "the message says where and that the checkpoint is kept" "$(cat "$TMP/err")"
cmp -s "$TMP/nan/optimizer.safetensors" "$TMP/nan.opt" && cmp -s "$TMP/nan/model.safetensors" "$TMP/nan.model" &&
    grep -q '"step":\s*15' "$TMP/nan/train_state.json"
ok $? "the checkpoint is not overwritten"

# Ctrl-C: a checkpoint is saved, exit 130, and it loads
"$BIN" train --data "$TMP/text.txt" -o "$TMP/int" "${TINY[@]}" --steps 100000 --tokenizer "$TMP/bpe" --save-every 0 >"$TMP/int.out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "^step " "$TMP/int.out" 2>/dev/null && break; sleep 0.1; done
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] && grep -q "interrupted: checkpoint saved" "$TMP/int.out"
ok $? "Ctrl-C saves a checkpoint and exits 130 (rc $rc)" "$(tail -2 "$TMP/int.out")"
"$BIN" eval -m "$TMP/int" "$TMP/int/val.txt" >/dev/null 2>&1
ok $? "the interrupted checkpoint loads"

# GPT-1 family, on 1 thread, in two halves: a resume keeps the run's thread count
"$BIN" train --data "$TMP/text.txt" -o "$TMP/g1" "${TINY[@]}" --family gpt1 --steps 20 --stop-after 10 --threads 1 --tokenizer "$TMP/bpe" >"$TMP/g1.out" 2>&1 &&
    "$BIN" train --resume "$TMP/g1" >>"$TMP/g1.out" 2>&1 && grep -q 'openai-gpt' "$TMP/g1/config.json" &&
    grep -q '"step":\s*20' "$TMP/g1/train_state.json"
ok $? "train --family gpt1 writes an openai-gpt model" "$(tail -2 "$TMP/g1.out")"
[ "$(grep -c 'steps from step .*, 1 threads$' "$TMP/g1.out")" -eq 2 ]
ok $? "--resume without --threads uses the run's thread count" "$(grep '^training' "$TMP/g1.out")"

# mixed precision (AMX tiles, or AVX512-BF16 without them): trains and the
# loss falls like the f32 run's
if grep -qE 'amx_bf16|avx512_bf16' /proc/cpuinfo 2>/dev/null; then
    "$BIN" train --data "$TMP/text.txt" -o "$TMP/bf" "${TINY[@]}" --steps 30 --tokenizer "$TMP/bpe" --bf16 >"$TMP/bf.out" 2>&1
    rc=$?
    f32_last=$(grep -o 'loss [0-9.]*' "$TMP/train.out" | tail -1 | awk '{print $2}')
    bf_last=$(grep -o 'loss [0-9.]*' "$TMP/bf.out" | tail -1 | awk '{print $2}')
    [ $rc -eq 0 ] && awk -v a="$f32_last" -v b="$bf_last" 'BEGIN { exit !(b < a + 0.2) }'
    ok $? "train --bf16: final loss $bf_last (f32 run: $f32_last)" "$(tail -3 "$TMP/bf.out")"
else
    n=$((n + 1)); echo "ok $n - train --bf16 # SKIP no AMX-BF16 or AVX512-BF16"
fi

# errors
expect_fail "no --data" 2 "$BIN" train -o "$TMP/x"
expect_fail "no -o" 2 "$BIN" train --data "$TMP/text.txt"
expect_fail "--ema 1 refused (the average would never move)" 2 "$BIN" train --data "$TMP/text.txt" -o "$TMP/x" --ema 1
expect_fail "--muon -0.01 refused" 2 "$BIN" train --data "$TMP/text.txt" -o "$TMP/x" --muon -0.01
expect_fail "--muon-ns 0 refused" 2 "$BIN" train --data "$TMP/text.txt" -o "$TMP/x" --muon 0.01 --muon-ns 0
expect_fail "--muon-momentum 1 refused" 2 "$BIN" train --data "$TMP/text.txt" -o "$TMP/x" --muon 0.01 --muon-momentum 1
expect_fail "--lr 0 refused" 2 "$BIN" train --data "$TMP/text.txt" -o "$TMP/x" --lr 0
expect_fail "--embd not divisible by --heads" 2 "$BIN" train --data "$TMP/text.txt" -o "$TMP/x" --embd 30 --heads 4
expect_fail "unknown flag" 2 "$BIN" train --data "$TMP/text.txt" -o "$TMP/x" --bogus
expect_fail "missing data file" 1 "$BIN" train --data "$TMP/nope.txt" -o "$TMP/x" "${TINY[@]}"
expect_fail "--resume of a directory without a checkpoint" 1 "$BIN" train --resume "$TMP/bpe"
"$BIN" train --data "$TMP/rt.txt" -o "$TMP/x" "${TINY[@]}" --tokenizer "$TMP/bpe" >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 1 ] && tail -1 "$TMP/err" | grep -q '^gptscope: the training text has .* too few'
ok $? "text too short for the context (rc $rc)" "$(cat "$TMP/err")"

# damaged checkpoints: one clear line, no crash
cp -r "$TMP/part" "$TMP/bad1"
head -c 1000 "$TMP/part/optimizer.safetensors" >"$TMP/bad1/optimizer.safetensors"
expect_fail_late "--resume with a truncated optimizer.safetensors" 1 "$BIN" train --resume "$TMP/bad1"
grep -q "optimizer.safetensors" "$TMP/err"
ok $? "the error names optimizer.safetensors" "$(cat "$TMP/err")"
cp -r "$TMP/part" "$TMP/bad2"
echo '{"version": 1, "options": ' >"$TMP/bad2/train_state.json"
expect_fail "--resume with a broken train_state.json" 1 "$BIN" train --resume "$TMP/bad2"
cp -r "$TMP/part" "$TMP/bad3"
python3 - "$TMP/bad3/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["n_embd"] = 48; json.dump(c, open(sys.argv[1], "w"))
PY
expect_fail_late "--resume with a config that does not match the saved weights" 1 "$BIN" train --resume "$TMP/bad3"

# hostile checkpoints (issue 24): a resumed state is checked as the command
# line is, and optimizer.safetensors must hold exactly the model's tensors
edit_state() { # edit_state DIR PYTHON-EXPR-ON-s
    python3 - "$1/train_state.json" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); exec(sys.argv[2]); json.dump(s, open(sys.argv[1], "w"))
PY
}
edit_opt() { # edit_opt DIR PYTHON-ON-(h, data): h the header dict, data a bytearray
    python3 - "$1/optimizer.safetensors" "$2" <<'PY'
import json, struct, sys
p = sys.argv[1]; b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); data = bytearray(b[8 + n:])
exec(sys.argv[2])
hb = json.dumps(h).encode(); hb += b" " * (-len(hb) % 8)
open(p, "wb").write(struct.pack("<Q", len(hb)) + hb + bytes(data))
PY
}
hostile() { # hostile NAME WANT KIND CODE: copy part, edit, expect one clear line naming WANT
    rm -rf "$TMP/h"
    cp -r "$TMP/part" "$TMP/h"
    if [ "$3" = state ]; then edit_state "$TMP/h" "$4"; else edit_opt "$TMP/h" "$4"; fi
    expect_fail_late "--resume: $1" 1 "$BIN" train --resume "$TMP/h"
    grep -q -- "$2" "$TMP/err"
    ok $? "... says $2" "$(tail -1 "$TMP/err")"
}
hostile '"dropout": 2' '"dropout" is 2; it must be in \[0, 1)' state 's["options"]["dropout"] = 2'
hostile '"batch": 10000000' '"batch" is 1e+07; it must be an integer from 1 to 65536' state 's["options"]["batch"] = 10000000'
hostile '"lr": "fast"' '"lr" must be a number' state 's["options"]["lr"] = "fast"'
hostile '"threads": 1e300' '"threads" is 1e+300' state 's["options"]["threads"] = 1e300'
hostile 'step -7' '"step" must be an integer from 0' state 's["step"] = -7'
hostile 'step 2^62' '"step" must be an integer from 0' state 's["step"] = 2**62'
rm -rf "$TMP/h"; cp -r "$TMP/part" "$TMP/h"
sed -i 's/"step":/"step": 3, "step":/' "$TMP/h/train_state.json"
expect_fail_late "--resume: a duplicate key in train_state.json" 1 "$BIN" train --resume "$TMP/h"
grep -q 'duplicate key "step"' "$TMP/err"
ok $? "... says duplicate key" "$(tail -1 "$TMP/err")"
hostile 'optimizer step -7' 'step counter -7 is outside 0..30' opt 'o = h["step"]["data_offsets"][0]; data[o:o + 8] = struct.pack("<q", -7)'
hostile 'optimizer step 2^62' 'step counter 4611686018427387904 is outside' opt 'o = h["step"]["data_offsets"][0]; data[o:o + 8] = struct.pack("<q", 2**62)'
hostile 'a transposed param. tensor' 'param.h.0.mlp.c_fc.weight is F32 of' opt 'h["param.h.0.mlp.c_fc.weight"]["shape"].reverse()'
hostile 'a negative v. value' 'has a negative value' opt 'o = h["v.h.1.attn.c_attn.weight"]["data_offsets"][0]; data[o + 40:o + 44] = struct.pack("<f", -1.0)'
hostile 'a NaN m. value' 'm.wte.weight has a non-finite value nan at element 3' opt 'o = h["m.wte.weight"]["data_offsets"][0]; data[o + 12:o + 16] = struct.pack("<f", float("nan"))'
hostile 'an F16 param. tensor' 'is F16 of' opt 'h["param.ln_f.bias"]["dtype"] = "F16"; h["param.ln_f.bias"]["shape"] = [2 * h["param.ln_f.bias"]["shape"][0]]'

# empty training text: nothing is created or written (vocab.json was)
: >"$TMP/empty.txt"
expect_fail "train on empty text" 1 "$BIN" train --data "$TMP/empty.txt" -o "$TMP/empty_out" "${TINY[@]}"
[ ! -e "$TMP/empty_out" ]
ok $? "... leaves no output directory" "$(ls -la "$TMP/empty_out" 2>&1)"
expect_fail "train on empty text with --tokenizer" 1 "$BIN" train --data "$TMP/empty.txt" -o "$TMP/empty_out" "${TINY[@]}" --tokenizer "$TMP/bpe"
[ ! -e "$TMP/empty_out" ]
ok $? "... leaves no output directory either" "$(ls -la "$TMP/empty_out" 2>&1)"

# damaged token cache: rebuilt, not trusted
head -c 100 "$TMP/m/tokens.cache" >"$TMP/trunc" && cp "$TMP/trunc" "$TMP/m/tokens.cache"
"$BIN" train --data "$TMP/text.txt" -o "$TMP/m" "${TINY[@]}" --steps 2 --tokenizer "$TMP/m" >"$TMP/c3" 2>&1
grep -q "cache written" "$TMP/c3"
ok $? "a truncated token cache is rebuilt" "$(head -3 "$TMP/c3")"

# resuming on changed text works, and says it is no longer the same run
echo "a line added after the checkpoint" >>"$TMP/text.txt"
"$BIN" train --resume "$TMP/part" --steps 32 >"$TMP/c4" 2>&1 && grep -q "^note: the text or the tokenizer changed" "$TMP/c4"
ok $? "--resume on changed text continues with a note" "$(head -4 "$TMP/c4")"

# ---------------------------------------------------------------- the bundled model
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
if [ -f "$SRC/assets/default-model/config.json" ]; then
    out=$("$BIN" generate -p "ROMEO:" -n 12 --seed 1 2>&1)
    ok $? "generate without -m uses the bundled model" "$out"
    # the held-out text of its training run: the last 10% of tinyshakespeare,
    # from the first newline at or after 90% of the bytes
    python3 - "$CORPUS" "$TMP/heldout.txt" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
cut = data.index(b"\n", int(len(data) * 0.9)) + 1
open(sys.argv[2], "wb").write(data[cut:])
PY
    head -c 6000 "$TMP/heldout.txt" >"$TMP/heldout6k.txt"
    field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$SRC/assets/default-model/training.json" "$1" 2>/dev/null; }
    near() { awk -v a="$1" -v w="$2" 'BEGIN { exit !(a != "" && w != "" && a <= w + 0.001 && a >= w - 0.001) }'; }
    bpb=$("$BIN" eval --json "$TMP/heldout6k.txt" 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['bpb'])")
    want=$(field heldout_first6000_bpb)
    near "$bpb" "$want"
    ok $? "eval of the bundled model on the first 6000 held-out bytes gives the recorded $want bits/byte (got $bpb)"
    # the whole held-out text (about a minute of evaluation): optimised builds only
    if [ "${GPTSCOPE_BUILDTYPE:-release}" = release ]; then
        bpb=$("$BIN" eval --json "$TMP/heldout.txt" 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['bpb'])")
        want=$(field heldout_bpb)
        near "$bpb" "$want"
        ok $? "eval of the bundled model on held-out tinyshakespeare reproduces the reported $want bits per byte (got $bpb)"
    else
        n=$((n + 1)); echo "ok $n - full held-out evaluation # SKIP ${GPTSCOPE_BUILDTYPE} build (slow)"
    fi
else
    n=$((n + 1)); echo "ok $n - bundled model # SKIP assets/default-model not present"
fi

tap_finish
