#!/bin/bash
# e2e_task.sh - the labelled-task commands end to end: baseline-nb against
# an independent Python naive Bayes (tests/nb_reference.py) on the
# SpamAssassin split in ../shared, and its errors on malformed files;
# finetune reaching far-better-than-chance accuracy on a synthetic task with
# the tiny reference model, its output directory, and its refusals.
# TAP; the spam comparison skips without ../shared.
set -u
BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
SHARED=${GPTSCOPE_SHARED:-$SRC/../shared/data}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# finetune runs 2 OpenMP threads while meson runs another test beside it:
# spinning waits then cost a core each and a 2-second run can pass the
# timeout (a clean-clone run hung this way); passive waits, as e2e_repl
export OMP_WAIT_POLICY=passive
. "$(dirname "$0")/tap.sh"

# interrupt PID: SIGINT, then its exit status; a process still running 30 s
# later is killed (status 137) rather than hanging the suite
interrupt() {
    kill -INT "$1"
    for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$1" 2>/dev/null && kill -KILL "$1"
    wait "$1"
}

"$BIN" baseline-nb --help | grep -q '^usage: gptscope baseline-nb'
ok $? "baseline-nb --help"

# a small task worked by hand: "c" only in spam, "a" only in ham
cat >"$TMP/train.jsonl" <<'J'
{"text": "a a b", "label": "ham"}
{"text": "a b", "label": "ham"}
{"text": "c c b", "label": "spam"}
J
cat >"$TMP/test.jsonl" <<'J'
{"text": "A!", "label": "ham"}
{"text": "c", "label": "spam"}
{"text": "c a", "label": "ham"}
J
"$BIN" baseline-nb --train "$TMP/train.jsonl" --test "$TMP/test.jsonl" --json >"$TMP/o.json" 2>"$TMP/err"
python3 - "$TMP/o.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["n"] == 3 and d["labels"] == ["ham", "spam"] and d["vocabulary"] == 3, d
# "c a": ham 2/3 * 1/8 * 1/2 = 1/24 beats spam 1/3 * 1/2 * 1/6 = 1/36
assert d["confusion"] == [[2, 0], [0, 1]], d
assert d["accuracy"] == 1.0 and d["f1"]["spam"] == 1.0, d
PY
ok $? "baseline-nb --json on a hand-worked task" "$(cat "$TMP/o.json" "$TMP/err")"
"$BIN" baseline-nb --train "$TMP/train.jsonl" --test "$TMP/test.jsonl" >"$TMP/o.txt"
grep -q '^examples 3, accuracy 1.0000' "$TMP/o.txt" && grep -q '^confusion' "$TMP/o.txt"
ok $? "baseline-nb prints accuracy, the per-class table and the confusion matrix" "$(cat "$TMP/o.txt")"

if [ -f "$SHARED/spam/train.jsonl" ]; then
    "$BIN" baseline-nb --train "$SHARED/spam/train.jsonl" --test "$SHARED/spam/valid.jsonl" --json \
        >"$TMP/nb.json" 2>"$TMP/err"
    python3 "$SRC/tests/nb_reference.py" "$SHARED/spam/train.jsonl" "$SHARED/spam/valid.jsonl" >"$TMP/ref.json"
    python3 - "$TMP/nb.json" "$TMP/ref.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["confusion"] == b["confusion"] and a["vocabulary"] == b["vocabulary"], (a, b)
assert abs(a["accuracy"] - b["accuracy"]) < 1e-12 and a["accuracy"] > 0.9, (a, b)
PY
    ok $? "spam: baseline-nb equals an independent naive Bayes ($(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["accuracy"], 4))' "$TMP/nb.json" 2>/dev/null) accuracy)" \
        "$(cat "$TMP/nb.json" "$TMP/ref.json" "$TMP/err")"
else
    skip "spam: baseline-nb equals an independent naive Bayes" "no $SHARED/spam"
fi

# bad input: one line naming the file, the line and the field
printf '{"text": "a", "label": "ham"}\n{"label": "ham"}\n' >"$TMP/nofield.jsonl"
expect_fail "a line without \"text\"" 1 "$BIN" baseline-nb --train "$TMP/nofield.jsonl" --test "$TMP/test.jsonl"
grep -q "nofield.jsonl:2: \"text\" is missing" "$TMP/err"
ok $? "... names the file, line 2 and the field" "$(cat "$TMP/err")"
printf '{"text": "a", "label": "eggs"}\n' >"$TMP/eggs.jsonl"
expect_fail "a test label the training set does not have" 1 "$BIN" baseline-nb --train "$TMP/train.jsonl" --test "$TMP/eggs.jsonl"
grep -q 'eggs.jsonl:1: label "eggs" is not one of' "$TMP/err"
ok $? "... says which label and which are known" "$(cat "$TMP/err")"
printf '{"text": "a", "label": "x"\n' >"$TMP/trunc.jsonl"
expect_fail "a truncated JSON line" 1 "$BIN" baseline-nb --train "$TMP/trunc.jsonl" --test "$TMP/test.jsonl"
printf '{"text": "\xff", "label": "x"}\n' >"$TMP/utf.jsonl"
expect_fail "invalid UTF-8 in a text" 1 "$BIN" baseline-nb --train "$TMP/utf.jsonl" --test "$TMP/test.jsonl"
expect_fail "a missing file" 1 "$BIN" baseline-nb --train "$TMP/none.jsonl" --test "$TMP/test.jsonl"
expect_fail "no --test" 2 "$BIN" baseline-nb --train "$TMP/train.jsonl"
expect_fail "--task choice" 2 "$BIN" baseline-nb --task choice --train "$TMP/train.jsonl" --test "$TMP/test.jsonl"
expect_fail "--alpha 0" 2 "$BIN" baseline-nb --alpha 0 --train "$TMP/train.jsonl" --test "$TMP/test.jsonl"
# ------------------------------------------------------------ finetune
M=$SRC/tests/reference/models/gpt2-f32
"$BIN" finetune --help | grep -q '^usage: gptscope finetune'
ok $? "finetune --help"
if [ -f "$M/model.safetensors" ]; then
    # a synthetic task the tiny reference model can learn: "good" or "bad"
    # somewhere among random words decides the label
    python3 - "$TMP" <<'PY'
import json, random, sys
random.seed(1)
words = "the cat sat on a mat dog ran far away old man sea boat".split()
def ex():
    w = [random.choice(words) for _ in range(random.randint(3, 8))]
    lab = random.choice(["neg", "pos"])
    w.insert(random.randint(0, len(w)), "good" if lab == "pos" else "bad")
    return {"text": " ".join(w), "label": lab}
for name, n in (("syn_train", 400), ("syn_valid", 100)):
    with open(f"{sys.argv[1]}/{name}.jsonl", "w") as f:
        for _ in range(n):
            f.write(json.dumps(ex()) + "\n")
PY
    "$BIN" finetune --init "$M" --task classify --train "$TMP/syn_train.jsonl" \
        --valid "$TMP/syn_valid.jsonl" -o "$TMP/ft" --epochs 30 --lr 2e-3 --batch 16 -t 2 \
        --pretrain off >"$TMP/ft.out" 2>"$TMP/ft.err"
    acc=$(sed -n 's/^finetune: best valid accuracy \([0-9.]*\).*/\1/p' "$TMP/ft.out")
    python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.9 else 1)" "${acc:-0}"
    ok $? "finetune on a synthetic task: valid accuracy ${acc:-none} (chance 0.5, want >= 0.9)" \
        "$(tail -5 "$TMP/ft.err"; cat "$TMP/ft.out")"
    grep -q '^epoch 1: valid accuracy [0-9.]*, F1 [0-9.]*' "$TMP/ft.err"
    ok $? "finetune logs validation accuracy and F1 every epoch"
    python3 - "$TMP/ft" <<'PY'
import json, sys
d = sys.argv[1]
c = json.load(open(d + "/config.json"))
t = c["gptscope_task"]
v = json.load(open(d + "/vocab.json"))
assert t["task"] == "classify" and t["labels"] == ["neg", "pos"] and t["n_out"] == 2, t
assert c["vocab_size"] == len(v) and v["<|extract|>"] == t["extract_id"] == c["vocab_size"] - 1, (c, t)
PY
    ok $? "the output is a model directory: labels, special tokens and the head in config.json"
    # eval-task on the validation file: the same accuracy the fine-tuner saw
    "$BIN" eval-task -m "$TMP/ft" --json "$TMP/syn_valid.jsonl" -t 2 >"$TMP/ev.json" 2>"$TMP/ev.err"
    python3 - "$TMP/ev.json" "${acc:-0}" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["n"] == 100 and d["labels"] == ["neg", "pos"] and abs(d["accuracy"] - float(sys.argv[2])) < 1e-4, d
assert sum(map(sum, d["confusion"])) == 100 and set(d["f1"]) == {"neg", "pos"}, d
PY
    ok $? "eval-task --json: n, labels, confusion, and the accuracy finetune reported" "$(cat "$TMP/ev.json" "$TMP/ev.err")"
    "$BIN" eval-task -m "$TMP/ft" "$TMP/syn_valid.jsonl" -t 2 | grep -q '^confusion (rows: true label'
    ok $? "eval-task prints the per-class table and the confusion matrix"
    printf 'the cat good sat\n{"text": "a dog bad ran"}\n' | "$BIN" classify -m "$TMP/ft" -t 2 >"$TMP/cl.out" 2>"$TMP/cl.err"
    [ "$(cut -f1 "$TMP/cl.out" | tr '\n' ' ')" = "pos neg " ] && grep -qE '^pos	neg 0\.[0-9]{4}	pos 0\.[0-9]{4}$' "$TMP/cl.out"
    ok $? "classify: raw lines and JSON objects from stdin, label then class probabilities" "$(cat "$TMP/cl.out" "$TMP/cl.err")"
    printf 'the cat good sat\n' | "$BIN" classify -m "$TMP/ft" --json -t 2 | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert d["label"] == "pos" and abs(sum(d["probs"].values()) - 1) < 1e-5, d'
    ok $? "classify --json: label and probabilities summing to 1"
    expect_fail "classify with a model that has no head" 1 "$BIN" classify -m "$M" /dev/null
    expect_fail "eval-task --task that is not the model's" 1 "$BIN" eval-task -m "$TMP/ft" --task entail "$TMP/syn_valid.jsonl"
    expect_fail "eval-task with an unlabelled line" 1 "$BIN" eval-task -m "$TMP/ft" <(printf '{"text": "a"}\n')
    expect_fail "eval-task without a file" 2 "$BIN" eval-task -m "$TMP/ft"
    "$BIN" generate -m "$TMP/ft" -p "the cat" -n 3 -t 1 >/dev/null 2>"$TMP/g.err"
    ok $? "the fine-tuned model still loads as a language model" "$(cat "$TMP/g.err")"
    expect_fail "fine-tuning a model that already has a head" 1 \
        "$BIN" finetune --init "$TMP/ft" --task classify --train "$TMP/syn_train.jsonl" -o "$TMP/ft2"
    printf '{"text": "a", "label": "x"}\n' >"$TMP/one.jsonl"
    TAP_QUIET_STDOUT=1 expect_fail_late "a training file with one label" 1 \
        "$BIN" finetune --init "$M" --task classify --train "$TMP/one.jsonl" -o "$TMP/ft3"
    expect_fail_late "--max-len beyond the context" 1 \
        "$BIN" finetune --init "$M" --task classify --train "$TMP/syn_train.jsonl" -o "$TMP/ft4" --max-len 999
    expect_fail_late "a malformed training line" 1 \
        "$BIN" finetune --init "$M" --task classify --train "$TMP/nofield.jsonl" -o "$TMP/ft5"

    # the unsupervised stage: train --init on the examples' text, then the
    # supervised stage from it; the same command again reuses it
    "$BIN" finetune --init "$M" --task classify --train "$TMP/syn_train.jsonl" -o "$TMP/ftp" \
        --pretrain 6 --epochs 1 -t 2 >"$TMP/ftp.out" 2>"$TMP/ftp.err"
    rc=$?
    [ $rc = 0 ] && grep -q "^  gptscope train --init $M --data $TMP/ftp/pretrain-text.txt -o $TMP/ftp/pretrain --steps 6 " "$TMP/ftp.err" &&
        grep -q "^finetune: the supervised stage starts from $TMP/ftp/pretrain" "$TMP/ftp.err" &&
        [ -f "$TMP/ftp/pretrain/model.safetensors" ] && [ -f "$TMP/ftp/model.safetensors" ] &&
        grep -q '"gptscope_task"' "$TMP/ftp/config.json" && ! grep -q gptscope_task "$TMP/ftp/pretrain/config.json" &&
        [ "$(grep -c . "$TMP/ftp/pretrain-text.txt")" = 400 ]
    ok $? "finetune --pretrain 6: train --init on the 400 texts first (the command in the log), then the head" "$(tail -5 "$TMP/ftp.err")"
    "$BIN" finetune --init "$M" --task classify --train "$TMP/syn_train.jsonl" -o "$TMP/ftp" \
        --epochs 1 -t 2 >"$TMP/ftp.out" 2>"$TMP/ftp.err"
    grep -q "^finetune: reusing the finished pre-training stage in $TMP/ftp/pretrain (6 steps)" "$TMP/ftp.err" &&
        ! grep -q "gptscope train --init" "$TMP/ftp.err"
    ok $? "the same finetune command again reuses the finished stage" "$(head -5 "$TMP/ftp.err")"
    "$BIN" finetune --init "$M" --task classify --train "$TMP/syn_train.jsonl" -o "$TMP/fta" \
        --steps 1 -t 2 >"$TMP/fta.out" 2>"$TMP/fta.err"
    grep -qE "^finetune: $M reads the training text at [0-9]+\.[0-9]{2} bits per byte \((over|at most) 3\.0\)" "$TMP/fta.err"
    ok $? "--pretrain auto measures the model's bits per byte on the text and says what it decided" "$(head -3 "$TMP/fta.err")"
    "$BIN" finetune --init "$M" --task classify --train "$TMP/syn_train.jsonl" -o "$TMP/fts" \
        --steps 2 --from-scratch -t 2 >"$TMP/fts.out" 2>"$TMP/fts.err"
    rc=$?
    [ $rc = 0 ] && grep -q -- "--from-scratch: $M's shape and tokenizer, random weights" "$TMP/fts.err" &&
        [ ! -d "$TMP/fts/pretrain" ] && ! cmp -s "$TMP/fts/model.safetensors" "$TMP/ftp/model.safetensors"
    ok $? "finetune --from-scratch: random weights, no unsupervised stage" "$(tail -3 "$TMP/fts.err")"
    expect_fail "--from-scratch with --pretrain N" 2 \
        "$BIN" finetune --init "$M" --task classify --train "$TMP/syn_train.jsonl" -o "$TMP/fts2" --from-scratch --pretrain 3
    # Ctrl-C: in the unsupervised stage (its checkpoint is kept, the same
    # command resumes it), and in the supervised one (the best model so far)
    "$BIN" finetune --init "$M" --task classify --train "$TMP/syn_train.jsonl" -o "$TMP/fti" \
        --pretrain 100000 --epochs 1 -t 2 >"$TMP/fti.out" 2>&1 &
    pid=$!
    for _ in $(seq 200); do grep -q "^step " "$TMP/fti.out" 2>/dev/null && break; sleep 0.1; done
    interrupt $pid
    rc=$?
    [ $rc = 130 ] && grep -q "interrupted in the pre-training stage; the same command continues it" "$TMP/fti.out" &&
        [ -f "$TMP/fti/pretrain/train_state.json" ]
    ok $? "Ctrl-C in the unsupervised stage: exit 130, its checkpoint kept (rc $rc)" "$(tail -3 "$TMP/fti.out")"
    "$BIN" finetune --init "$M" --task classify --train "$TMP/syn_train.jsonl" -o "$TMP/fti" \
        --pretrain 100000 --epochs 1 -t 2 >"$TMP/fti.out" 2>&1 &
    pid=$!
    # Ctrl-C only once the trainer has its handler (a step printed): before
    # that a background job of a script ignores SIGINT, as shells set it up
    for _ in $(seq 300); do
        grep -q "^finetune: resuming the pre-training stage" "$TMP/fti.out" 2>/dev/null &&
            grep -q "^step " "$TMP/fti.out" && break
        sleep 0.1
    done
    interrupt $pid
    rc=$?
    grep -q "^finetune: resuming the pre-training stage in $TMP/fti/pretrain at step [1-9][0-9]* of 100000" "$TMP/fti.out" &&
        [ $rc = 130 ]
    ok $? "the same command resumes the interrupted stage (rc $rc)" "$(head -3 "$TMP/fti.out")"
    "$BIN" finetune --init "$M" --task classify --train "$TMP/syn_train.jsonl" -o "$TMP/ftj" \
        --valid "$TMP/syn_valid.jsonl" --epochs 10000 --pretrain off -t 2 >"$TMP/ftj.out" 2>&1 &
    pid=$!
    for _ in $(seq 300); do grep -q "^epoch 1: valid accuracy" "$TMP/ftj.out" 2>/dev/null && break; sleep 0.1; done
    interrupt $pid
    rc=$?
    [ $rc = 130 ] && grep -q "^finetune: interrupted; the best model so far is in the output" "$TMP/ftj.out" &&
        "$BIN" eval-task -m "$TMP/ftj" "$TMP/syn_valid.jsonl" -t 1 >/dev/null 2>&1
    ok $? "Ctrl-C in the supervised stage: exit 130, the best model so far loads (rc $rc)" "$(tail -3 "$TMP/ftj.out")"
    expect_fail "--precision nonsense" 2 "$BIN" finetune --init "$M" --task classify --train x -o y --precision f8

    # zero-shot: no head, the LM's probability of each label word
    "$BIN" eval-task --zero-shot --labels neg=bad,pos=good --template "{text} is" -m "$M" --json \
        "$TMP/syn_valid.jsonl" -t 2 >"$TMP/zs.json" 2>"$TMP/zs.err"
    python3 - "$TMP/zs.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["n"] == 100 and d["labels"] == ["neg", "pos"] and sum(map(sum, d["confusion"])) == 100, d
PY
    ok $? "eval-task --zero-shot --labels NAME=WORDS --template: scores the heuristic on labelled JSONL" "$(cat "$TMP/zs.json" "$TMP/zs.err")"
    printf 'the cat good sat\n{"text": "a dog bad ran"}\n' | "$BIN" classify --zero-shot --labels neg,pos -m "$M" --json -t 2 |
        python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == 2, rows
for d in rows:
    assert d["label"] in ("neg", "pos") and set(d["probs"]) == {"neg", "pos"} and abs(sum(d["probs"].values()) - 1) < 1e-5, d'
    ok $? "classify --zero-shot --json: a label and probabilities over the given labels"
    expect_fail "--zero-shot without --labels" 2 "$BIN" classify --zero-shot -m "$M" /dev/null
    expect_fail "--labels without --zero-shot" 2 "$BIN" classify --labels a,b -m "$M" /dev/null
    expect_fail "--zero-shot with one label" 2 "$BIN" classify --zero-shot --labels a -m "$M" /dev/null
    expect_fail "--zero-shot --labels with an empty label" 2 "$BIN" classify --zero-shot --labels a,,b -m "$M" /dev/null
    expect_fail "--zero-shot --template without {text}" 1 "$BIN" classify --zero-shot --labels a,b --template "x" -m "$M" /dev/null
    expect_fail "eval-task --zero-shot with a label outside --labels" 1 \
        "$BIN" eval-task --zero-shot --labels neg,other -m "$M" "$TMP/syn_valid.jsonl"
else
    skip "finetune on a synthetic task" "$M not built"
fi
expect_fail "finetune without --task" 2 "$BIN" finetune --train x -o y
expect_fail "finetune --task bogus" 2 "$BIN" finetune --task bogus --train x -o y

tap_finish
