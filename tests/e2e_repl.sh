#!/bin/bash
# e2e_repl.sh - `gptscope repl` as a script drives it (stdin not a terminal),
# on the tiny reference model: a reply equals `gptscope generate` with the
# same seed, multi-turn context, slash commands (settings, /probs, /attn,
# /help, errors), backslash continuation, Ctrl-C stopping a reply without
# leaving, and that every turn and token lands in the session database
# (read back with `gptscope sessions`), /open continuing a stored session,
# and bad input giving one "gptscope: ..." line. TAP.
set -u

BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
M=$SRC/tests/reference/models/gpt2-f32
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
unset GPTSCOPE_MODEL GPTSCOPE_DB
export XDG_DATA_HOME=$TMP/xdg HOME=$TMP/home OMP_WAIT_POLICY=passive
. "$(dirname "$0")/tap.sh"

# tmux_wait SOCKET SESSION PATTERN FILE TRIES PAUSE: captures the pane into
# FILE until it matches PATTERN (grep); fails after TRIES captures
tmux_wait() {
    local i
    for i in $(seq 1 "$5"); do
        tmux -S "$1" capture-pane -t "$2" -p >"$4" 2>/dev/null
        grep -q -- "$3" "$4" && return 0
        sleep "$6"
    done
    return 1
}

if [ ! -f "$M/model.safetensors" ]; then
    echo "1..0 # SKIP reference model missing"
    exit 0
fi
DB=$TMP/s.db
R=("$BIN" repl -m "$M" --db "$DB" -t 1 --seed 3)

# ---------------------------------------------------------------- help
"$BIN" repl --help >"$TMP/help" 2>&1 && grep -q '^usage: gptscope repl' "$TMP/help" &&
    grep -q -- '--no-save' "$TMP/help"
ok $? "repl --help"
"$BIN" help repl | cmp -s - "$TMP/help"
ok $? "gptscope help repl prints the same text"

# ---------------------------------------------------------------- a reply
printf 'hello world\n' | "${R[@]}" --max-tokens 10 >"$TMP/r1" 2>"$TMP/r1.err"
ok $? "one prompt, exit 0" "$(cat "$TMP/r1.err")"
"$BIN" generate -m "$M" -p "hello world" --seed 3 -n 10 -t 1 >"$TMP/g1" 2>/dev/null
cmp -s "$TMP/r1" "$TMP/g1"
ok $? "the reply equals gptscope generate with the same seed" "$(od -c "$TMP/r1" | head -3)"
[ ! -s "$TMP/r1.err" ]
ok $? "nothing on stderr when stdin is not a terminal" "$(cat "$TMP/r1.err")"

# ---------------------------------------------------------------- commands
printf '%s\n' '/top-k 5' 'hello world' '/probs' '/attn 1 2' '/attn' '/temp 0.5' '/settings' '/help' |
    "${R[@]}" --max-tokens 10 --no-save >"$TMP/c" 2>"$TMP/c.err"
ok $? "settings, /probs, /attn, /help: exit 0" "$(cat "$TMP/c.err")"
grep -q '^token [0-9]* ".*": p [0-9.]* after filters .* 5 candidates kept' "$TMP/c" &&
    [ "$(grep -c '^  [0-9]\+ \+"' "$TMP/c")" -eq 60 ] && grep -q '<- chosen' "$TMP/c" &&
    grep -q '^entropy [0-9.]* nats raw' "$TMP/c" &&
    [ "$(awk '/^  [0-9]+ +"/{n++} /cut off by top-k/{print n}' "$TMP/c")" = 5 ]
ok $? "/probs (top-k 5): the chosen token, 60 candidates (the default), the cut after 5, entropy" "$(head -16 "$TMP/c")"
want_rows=$(($(grep -m1 -o '^attention of position [0-9]*' "$TMP/c" | awk '{print $4}') + 1))
rows=$(awk '/^attention of position .* layer 1, head 2/{f=1; next} /^attention/{f=0} f && /^ +[0-9]+ /' "$TMP/c" | wc -l)
[ "$rows" -eq "$want_rows" ]
ok $? "/attn 1 2: one row per token in the window ($rows, want $want_rows)"
python3 - "$TMP/c" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
blocks = re.split(r"^attention of position", text, flags=re.M)[1:]
for b in blocks[:2]:
    ws = [float(m.group(1)) for m in re.finditer(r'^ +\d+ +".*?" +([0-9.]+)', b, re.M)]
    assert ws and abs(sum(ws) - 1) < 0.01, sum(ws)
PY
ok $? "/attn weights sum to 1 (head and mean of heads)"
grep -q 'layer 1, mean of 4 heads' "$TMP/c"
ok $? "/attn without arguments: the last layer, mean of the heads"
grep -q '^temp 0.5, top-k 5, ' "$TMP/c" && grep -q '^  /top-p P ' "$TMP/c" && grep -q '^  /open ID ' "$TMP/c"
ok $? "/settings and /help (generated from the command table)"

printf '%s\n' '/bogus' '/temp abc' '/top-p 2' '/attn 9' |
    "${R[@]}" --no-save >"$TMP/e" 2>"$TMP/e.err"
rc=$?
[ $rc -eq 1 ] && grep -q "^gptscope: repl: unknown command '/bogus'" "$TMP/e.err" &&
    grep -q "^gptscope: repl: /temp: 'abc' is not a number" "$TMP/e.err" &&
    grep -q "^gptscope: repl: /top-p: 2 is out of range" "$TMP/e.err" &&
    grep -q "^gptscope: repl: /attn: the model has layers 0..1" "$TMP/e.err" &&
    [ "$(wc -l <"$TMP/e.err")" -eq 4 ]
ok $? "bad commands: one message each, exit 1 (rc $rc)" "$(cat "$TMP/e.err")"

# continuation: "a\" + "b" is one prompt "a\nb"
printf 'hello\\\nworld\n' | "${R[@]}" --max-tokens 5 --no-save >"$TMP/k" 2>&1
"$BIN" generate -m "$M" -p "$(printf 'hello\nworld')" --seed 3 -n 5 -t 1 >"$TMP/k2" 2>/dev/null
cmp -s "$TMP/k" "$TMP/k2"
ok $? "a trailing backslash continues the prompt on the next line"

# ---------------------------------------------------------------- the store
printf '%s\n' 'hello world' 'and again' | "${R[@]}" --max-tokens 6 >"$TMP/s" 2>"$TMP/s.err"
ok $? "two turns stored" "$(cat "$TMP/s.err")"
"$BIN" sessions list --db "$DB" >"$TMP/list" 2>&1
ok $? "sessions list reads the database" "$(cat "$TMP/list")"
last=$("$BIN" sessions list --db "$DB" --json 2>/dev/null | python3 -c "import json,sys; print(max(s['id'] for s in json.load(sys.stdin)))" 2>/dev/null)
"$BIN" sessions export "$last" --db "$DB" --format json >"$TMP/x.json" 2>"$TMP/x.err"
python3 - "$TMP/x.json" "$TMP/s" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
turns = d["turns"]
assert [t["role"] for t in turns] == ["user", "model", "user", "model"], [t["role"] for t in turns]
# the separator (default a newline) starts the second prompt unless the reply ended with one
sep = "" if turns[1]["text"].endswith("\n") else "\n"
assert turns[0]["text"] == "hello world" and turns[2]["text"] == sep + "and again", turns[2]["text"]
for t in turns[1::2]:
    toks = t["tokens"]
    assert len(toks) == 6 and t["stop"] == "max"
    for k in toks:
        c = k["candidates"]
        assert len(c) == 60
        assert k["chosen_rank"] >= 10 or any(x["id"] == k["id"] for x in c)
        assert 0 < k["chosen_prob"] <= 1
PY
ok $? "every turn and token is stored with its candidates" "$(head -c 600 "$TMP/x.json")"

# /open continues the session: the next reply sees the whole history
printf '%s\n' "/open $last" 'third' | "${R[@]}" --max-tokens 4 >"$TMP/o" 2>"$TMP/o.err"
ok $? "/open ID then a prompt" "$(cat "$TMP/o.err")"
grep -q "^session $last: 4 turns" "$TMP/o"
ok $? "/open says what it restored" "$(head -3 "$TMP/o")"
"$BIN" sessions export "$last" --db "$DB" --format json 2>/dev/null |
    python3 -c "import json,sys; t=json.load(sys.stdin)['turns']; assert len(t)==6 and t[4]['text']==('' if t[3]['text'].endswith(chr(10)) else chr(10))+'third', (len(t), t[4]['text'])"
ok $? "the continued session has 6 turns"
printf '%s\n' '/open 999999' | "${R[@]}" >/dev/null 2>"$TMP/o2.err"
[ $? -eq 1 ] && grep -q '999999' "$TMP/o2.err"
ok $? "/open of a missing session is an error naming it" "$(cat "$TMP/o2.err")"

# ---------------------------------------------------------------- Ctrl-C
mkfifo "$TMP/fifo"
"${R[@]}" --max-tokens 1000000 --no-eos-stop <"$TMP/fifo" >"$TMP/i" 2>"$TMP/i.err" &
pid=$!
exec 3>"$TMP/fifo"
echo 'a long one' >&3
for _ in $(seq 1 100); do [ -s "$TMP/i" ] && break; sleep 0.1; done
sleep 0.3
kill -INT $pid
sleep 0.3
echo '/settings' >&3
exec 3>&-
wait $pid
rc=$?
[ $rc -eq 0 ] && grep -q '^temp 1, ' "$TMP/i"
ok $? "Ctrl-C stops the reply, the repl goes on to the next line (rc $rc)" "$(tail -c 300 "$TMP/i"; cat "$TMP/i.err")"
"$BIN" sessions export "$("$BIN" sessions list --db "$DB" --json | python3 -c "import json,sys; print(max(s['id'] for s in json.load(sys.stdin)))")" \
    --db "$DB" --format json 2>/dev/null |
    python3 -c "import json,sys; t=json.load(sys.stdin)['turns'][-1]; assert t['stop']=='interrupted' and 0 < len(t['tokens']) < 1000000, t['stop']"
ok $? "the interrupted reply is stored, marked interrupted"

# ---------------------------------------------------------------- sessions CLI
"$BIN" sessions show "$last" --db "$DB" >"$TMP/show" 2>&1 &&
    grep -q "^session $last, created " "$TMP/show" && grep -q '^\[0 user, ' "$TMP/show" &&
    grep -q '^\[1 model, 6 tokens, max, ' "$TMP/show" && grep -q '^hello world$' "$TMP/show"
ok $? "sessions show: the transcript with roles, token counts, stop reasons" "$(head -8 "$TMP/show")"
# the seed-3 reply holds an ESC byte (see the generate comparison above)
! grep -q $'\x1b' "$TMP/show" && grep -q 'an\\x1b' "$TMP/show"
ok $? "sessions show escapes control bytes from the model (no raw ESC reaches the terminal)"
[ "$(stat -c %a "$DB")" = 600 ] && [ "$(stat -c %a "$XDG_DATA_HOME/gptscope" 2>/dev/null || echo 700)" = 700 ]
ok $? "the session database is private (mode $(stat -c %a "$DB"))"
"$BIN" sessions export "$last" --db "$DB" >"$TMP/x.md" 2>&1 &&
    grep -q "^# gptscope session $last" "$TMP/x.md" && grep -q '^## Prompt' "$TMP/x.md" &&
    grep -q '^## Reply (6 tokens, stopped: max)' "$TMP/x.md" && grep -q '^and again$' "$TMP/x.md"
ok $? "sessions export: Markdown" "$(head -12 "$TMP/x.md")"
"$BIN" sessions export "$last" --db "$DB" --format json -o "$TMP/x2.json" >/dev/null 2>&1 &&
    python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$TMP/x2.json"
ok $? "sessions export -o FILE writes valid JSON"
"$BIN" sessions search "AGAIN" --db "$DB" >"$TMP/search" 2>&1 &&
    grep -q "^$last/[0-9]* user: *and again" "$TMP/search"
ok $? "sessions search is case-insensitive and names session/turn" "$(cat "$TMP/search")"
GPTSCOPE_DB=$DB "$BIN" sessions list >"$TMP/envlist" 2>&1 && grep -q "hello world" "$TMP/envlist"
ok $? "GPTSCOPE_DB names the database" "$(cat "$TMP/envlist")"
printf 'x\n' | "$BIN" repl -m "$M" -t 1 --max-tokens 2 >/dev/null 2>&1 &&
    [ -f "$XDG_DATA_HOME/gptscope/sessions.db" ]
ok $? "without --db the database is \$XDG_DATA_HOME/gptscope/sessions.db"
n_before=$("$BIN" sessions list --db "$DB" --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")
"$BIN" sessions delete "$last" --db "$DB" >"$TMP/del" 2>&1 && grep -q "deleted session $last" "$TMP/del" &&
    [ "$("$BIN" sessions list --db "$DB" --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" -eq $((n_before - 1)) ]
ok $? "sessions delete" "$(cat "$TMP/del")"
expect_fail "show of a deleted session" 1 "$BIN" sessions show "$last" --db "$DB"
expect_fail "sessions with no action" 2 "$BIN" sessions --db "$DB"
expect_fail "an unknown action" 2 "$BIN" sessions frob --db "$DB"
expect_fail "show without an id" 2 "$BIN" sessions show --db "$DB"
expect_fail "a session id that is not a number" 2 "$BIN" sessions show abc --db "$DB"
expect_fail "--format other than md/json" 2 "$BIN" sessions export 1 --format pdf --db "$DB"
expect_fail "list on a missing database (not created)" 1 "$BIN" sessions list --db "$TMP/none.db"
[ ! -e "$TMP/none.db" ]
ok $? "a reading command does not create the database"
echo "not a database, only text here to fill a page" >"$TMP/text.db"
expect_fail "list on a text file" 1 "$BIN" sessions list --db "$TMP/text.db"
grep -q 'text.db' "$TMP/err"
ok $? "the error names the file" "$(cat "$TMP/err")"

# ---------------------------------------------------------------- replay, other weights
# replay recomputes attention only from the weights the session was made with
if command -v tmux >/dev/null 2>&1; then
    sid=$("$BIN" sessions list --db "$DB" --json | python3 -c "import json,sys; print(max(s['id'] for s in json.load(sys.stdin)))")
    sock=$TMP/tmux.sock
    cmd=$(printf '%q ' env LANG=C.UTF-8 "$BIN" replay "$sid" -m "$SRC/tests/reference/models/gpt2-f16" --db "$DB" --speed 0 -t 1 --history "$TMP/h")
    tmux -S "$sock" new-session -d -s rp -x 120 -y 40 "$cmd; sleep 60"
    tmux_wait "$sock" rp 'attention not shown' "$TMP/rp" 50 0.2
    ok $? "replay with other weights says the attention cannot be shown" "$(cat "$TMP/rp")"
    tmux -S "$sock" kill-server 2>/dev/null
else
    skip "replay with other weights says the attention cannot be shown" "no tmux"
fi


# ------------------------------------------- the session deleted under the REPL
# another process deletes the active session: the next prompt used to fail
# with "FOREIGN KEY constraint failed" until /new; now the conversation is
# stored again as a new session and the user is told
DB2=$TMP/del.db
mkfifo "$TMP/in"
"$BIN" repl -m "$M" --db "$DB2" -t 1 --seed 3 --max-tokens 4 <"$TMP/in" >"$TMP/del.out" 2>"$TMP/del.err" &
rpid=$!
exec 7>"$TMP/in"
echo "first prompt" >&7
for _ in $(seq 50); do [ -s "$TMP/del.out" ] && break; sleep 0.1; done
sleep 0.3
"$BIN" sessions delete 1 --db "$DB2" >/dev/null 2>&1
echo "second prompt" >&7
exec 7>&-
wait $rpid
rc=$?
turns=$("$BIN" sessions list --db "$DB2" --json | python3 -c 'import json,sys; s=json.load(sys.stdin); print(len(s), s[0]["turns"])' 2>&1)
[ $rc -eq 0 ] && grep -q 'session 1 was deleted elsewhere; this conversation is stored again, as session [0-9]' "$TMP/del.err" &&
    [ "$turns" = "1 4" ] && ! grep -q 'FOREIGN KEY' "$TMP/del.err"
ok $? "a session deleted by another process is stored again, with a note" "rc $rc turns '$turns' $(cat "$TMP/del.err")"
sid2=$("$BIN" sessions list --db "$DB2" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
"$BIN" sessions export "$sid2" --db "$DB2" --format json | python3 -c '
import json,sys
d=json.load(sys.stdin)
t=d["turns"]
assert [x["role"] for x in t]==["user","model","user","model"], [x["role"] for x in t]
sep = "" if t[1]["text"].endswith("\n") else "\n"
assert t[0]["text"]=="first prompt" and t[2]["text"]==sep+"second prompt", t
assert len(t[1]["tokens"])==4 and len(t[3]["tokens"])==4, t'
ok $? "... with every turn and token of the conversation"

# /probs counts ranks from 1 in its header and its table alike (the header
# said "rank 0" for the row the table numbered 1)
printf 'hello\n/probs\n' | "$BIN" repl -m "$M" --no-save --temp 0 --max-tokens 2 >"$TMP/pr.out" 2>&1
grep -qE '^token [0-9]+ .*, rank 1; ' "$TMP/pr.out" && grep -qE '^  1 +".*<- chosen$' "$TMP/pr.out"
ok $? "/probs: the greedy choice is rank 1 in the header and the table" "$(head -6 "$TMP/pr.out")"
# the banner of a session not stored yet names no session (it said "...f320.")
if command -v tmux >/dev/null 2>&1; then
    sock=$TMP/banner.sock
    cmd=$(printf '%q ' env LANG=C.UTF-8 "$BIN" repl -m "$M" --no-save)
    tmux -S "$sock" new-session -d -s bn -x 100 -y 10 "$cmd; sleep 30"
    tmux_wait "$sock" bn '^gptscope repl - model ' "$TMP/bn" 50 0.1 &&
        grep -q '^gptscope repl - model gpt2-f32\. /help' "$TMP/bn"
    ok $? "the REPL banner of an unsaved session names the model only" "$(head -2 "$TMP/bn")"
    tmux -S "$sock" kill-server 2>/dev/null
else
    skip "the REPL banner of an unsaved session names the model only" "no tmux"
fi

# the same flag names in chat/repl as in generate (-n/--max-new, the penalties)
printf '/settings\n' | "${R[@]}" --no-save -n 7 --presence-penalty 0.5 --frequency-penalty 0.25 >"$TMP/fl.out" 2>&1
grep -q 'presence-penalty 0.5, frequency-penalty 0.25, .*max-tokens 7,' "$TMP/fl.out"
ok $? "repl takes -n and the presence/frequency penalties" "$(cat "$TMP/fl.out")"
printf '/settings\n' | "${R[@]}" --no-save --max-new 9 >"$TMP/fl.out" 2>&1
grep -q 'max-tokens 9,' "$TMP/fl.out"
ok $? "repl takes --max-new" "$(cat "$TMP/fl.out")"
nlines=$("$BIN" generate -m "$M" -p hi --max-tokens 4 --no-eos-stop --json 2>/dev/null | wc -l)
[ "$nlines" -eq 4 ]
ok $? "generate takes --max-tokens ($nlines lines)"
printf '/temp\n/set temperature 0.3\n/temp\n' | "${R[@]}" --no-save >"$TMP/set.out" 2>&1
[ "$(sed -n 1p "$TMP/set.out")" = "temp 1 (/temp X changes it)" ] && grep -q '^temp 0.3 (/temp' "$TMP/set.out"
ok $? "/temp alone shows the value; /set NAME VALUE sets it" "$(cat "$TMP/set.out")"

# a prompt longer than the context: the user is told the model read only its end
python3 -c "print(' '.join(['word'] * 200))" | "${R[@]}" --no-save -n 3 >/dev/null 2>"$TMP/long.err"
grep -qE '^gptscope: note: the prompt is [0-9]+ tokens; the model read only its last 63 \(its context is 64 tokens\)$' "$TMP/long.err"
ok $? "a prompt longer than the context: a note says how much the model read" "$(cat "$TMP/long.err")"
printf 'short prompt\n' | "${R[@]}" --no-save -n 3 >/dev/null 2>"$TMP/short.err"
! grep -q 'note:' "$TMP/short.err"
ok $? "... and no note for a prompt that fits"

# every token's window is stored (schema 2): a reply that slid past the
# 64-token context shows windows that start later, never after the token
printf 'The old man\nagain\n' | "$BIN" repl -m "$M" --db "$TMP/win.db" -t 1 --seed 2 -n 50 >/dev/null 2>&1
"$BIN" sessions export 1 --db "$TMP/win.db" --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
ws, i = [], 0
for t in d["turns"]:
    for k in t["tokens"]:
        w = k["window_start"]
        assert w is None or 0 <= w <= i, (i, w)
        ws.append(w); i += 1
known = [w for w in ws if w is not None]
assert known == sorted(known) and max(known) > 0 and len(known) >= len(ws) - 1, ws'
ok $? "each stored token has the window it ran in, and the windows slide"
# a schema-1 database (before windows were stored) is still read by the
# reading commands, and the REPL upgrades it
cp "$TMP/win.db" "$TMP/v1.db"
python3 -c "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute('DROP TABLE beam_hyps'); db.execute('ALTER TABLE tokens DROP COLUMN window_start'); [db.execute(q) for q in ('DROP INDEX turns_branch', 'DROP INDEX turns_parent', 'ALTER TABLE sessions DROP COLUMN branch')]; [db.execute('ALTER TABLE turns DROP COLUMN ' + c) for c in ('parent_id', 'branch', 'pos', 'fork_of', 'fork_at')]; db.execute('PRAGMA user_version = 1'); db.commit()" "$TMP/v1.db"
"$BIN" sessions export 1 --db "$TMP/v1.db" --format json >"$TMP/v1.json" 2>"$TMP/v1.err" &&
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert all(k["window_start"] is None for t in d["turns"] for k in t["tokens"])' "$TMP/v1.json"
ok $? "a schema-1 database is read as it is (windows unknown)" "$(cat "$TMP/v1.err")"
printf 'more\n' | "$BIN" repl -m "$M" --db "$TMP/v1.db" -t 1 -n 2 >/dev/null 2>"$TMP/v1.err"
[ "$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA user_version').fetchone()[0])" "$TMP/v1.db")" = 4 ]
ok $? "the REPL upgrades a schema-1 database to 4" "$(cat "$TMP/v1.err")"

# how many candidates each token keeps: --candidates and /cands
printf '/cands\nhello\n/probs\n/cands 70\n' | "${R[@]}" --no-save --candidates 12 -n 2 >"$TMP/cd.out" 2>"$TMP/cd.err"
grep -q '^cands 12 (/cands N' "$TMP/cd.out" && [ "$(grep -c '^  [0-9]\+ \+"' "$TMP/cd.out")" -eq 12 ] &&
    grep -q 'cands: 70 is out of range' "$TMP/cd.err"
ok $? "--candidates 12 keeps 12 per token; /cands shows it and refuses 70" "$(cat "$TMP/cd.out" "$TMP/cd.err" | head -20)"

# beam search: /probs describes the raw distribution and lists the hypotheses
printf '/beams 3\nThe old man\n/probs\n' | "${R[@]}" --no-save -n 5 >"$TMP/bm.out" 2>"$TMP/bm.err"
grep -q '^chosen by beam search; entropy [0-9.]* nats' "$TMP/bm.out" &&
    grep -q '^beam hypotheses' "$TMP/bm.out" && [ "$(grep -cE '^  [1-3] +-[0-9.]+  "' "$TMP/bm.out")" -eq 3 ] &&
    grep -qE '^  1 +-[0-9.]+  ".*"  <- reply$' "$TMP/bm.out"
ok $? "/probs after a beam reply: the raw distribution and the 3 hypotheses" "$(tail -8 "$TMP/bm.out"; cat "$TMP/bm.err")"

# ---------------------------------------------------------------- bad input
expect_fail "a model directory that does not exist" 1 "$BIN" repl -m "$TMP/nope" --no-save
expect_fail "an unknown flag" 2 "$BIN" repl --bogus
expect_fail "--open without a number" 2 "$BIN" repl --open x --no-save
echo "not a database" >"$TMP/bad.db"
expect_fail "a --db that is not a database" 1 "$BIN" repl -m "$M" --db "$TMP/bad.db"
printf 'ok \xff bad\n' | "${R[@]}" --no-save >/dev/null 2>"$TMP/u.err"
[ $? -eq 1 ] && grep -q 'invalid UTF-8' "$TMP/u.err"
ok $? "a prompt with invalid UTF-8 is refused with a message" "$(cat "$TMP/u.err")"
printf 'hello\0world\n' | "${R[@]}" --no-save >"$TMP/z.out" 2>"$TMP/z.err"
[ $? -eq 1 ] && grep -q 'NUL byte' "$TMP/z.err" && [ ! -s "$TMP/z.out" ]
ok $? "a line with a NUL byte is refused, not cut short" "$(cat "$TMP/z.err")"
printf '/temp \033[2Jx\377\n' | "${R[@]}" --no-save >/dev/null 2>"$TMP/esc.err"
! grep -q "$(printf '\033')" "$TMP/esc.err" && ! grep -qa "$(printf '\377')" "$TMP/esc.err" &&
    [ "$(wc -l <"$TMP/esc.err")" -eq 1 ] && grep -q "x1b\[2Jx.xff" "$TMP/esc.err"
ok $? "an error quoting the input escapes control and invalid bytes" "$(od -c "$TMP/esc.err" | head -5)"

tap_finish
