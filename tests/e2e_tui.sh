#!/bin/bash
# e2e_tui.sh - drives the real `gptscope chat` terminal UI inside a detached
# tmux session (its own server socket, a 120x40 window) on the tiny reference
# model, and reads the screen back with capture-pane: start-up, a prompt
# streaming into the transcript with both panes filled, the token cursor,
# layer and head keys, the matrix view, resizing (and the too-small
# message), Ctrl-C stopping a long reply without leaving, the help overlay,
# /temp in the status bar, history across runs, multi-line input, NO_COLOR
# blocks, SIGINT/SIGTERM, quitting; then what was stored, read back with
# `gptscope sessions`. Also Ctrl-R, Alt-Enter, bracketed paste, a mouse
# click, beam-search tokens, /attn, /sessions, /clear. Every wait is a
# polling loop with a timeout.
# TAP; skips cleanly without tmux, the chat command or the model.
set -u

BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
M=$SRC/tests/reference/models/gpt2-f32
TMP=$(mktemp -d)
SOCK=gptscope-e2e-$$
T() { tmux -L "$SOCK" -f /dev/null "$@"; }
cleanup() {
    T kill-server >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
unset GPTSCOPE_MODEL TMUX

. "$(dirname "$0")/tap.sh"

if ! command -v tmux >/dev/null 2>&1; then
    echo "1..0 # SKIP tmux is not installed"
    exit 0
fi
if ! "$BIN" chat --help >/dev/null 2>&1; then
    echo "1..0 # SKIP this gptscope has no chat command"
    exit 0
fi
if ! command -v pgrep >/dev/null 2>&1; then
    echo "1..0 # SKIP pgrep (procps) is not installed"
    exit 0
fi
if [ ! -f "$M/model.safetensors" ]; then
    echo "1..0 # SKIP $M not built"
    exit 0
fi

DB=$TMP/sessions.db
HIST=$TMP/history

# start NAME [ENV...] -- ARGS...: gptscope chat in a new 120x40 window; its
# exit status lands in $TMP/NAME.exit
start() {
    local name=$1
    shift
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    local cmd
    cmd=$(printf '%q ' env LANG=C.UTF-8 LC_ALL=C.UTF-8 OMP_WAIT_POLICY=passive "${envs[@]}" \
        "$BIN" chat -m "$M" --db "$DB" --history "$HIST" --threads 1 "$@")
    T new-session -d -s "$name" -x 120 -y 40 \
        "$cmd; echo \$? >$TMP/$name.exit; sleep 600"
}
screen() { T capture-pane -p -t "$1" >"$TMP/screen" 2>/dev/null; }
# wait_for NAME PATTERN [SECONDS]: until the screen matches (grep -E)
wait_for() {
    local name=$1 pat=$2 end=$((SECONDS + ${3:-15}))
    while :; do
        screen "$name"
        grep -qE -- "$pat" "$TMP/screen" && return 0
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
# wait_gone NAME PATTERN [SECONDS]: until the screen no longer matches
wait_gone() {
    local name=$1 pat=$2 end=$((SECONDS + ${3:-15}))
    while :; do
        screen "$name"
        grep -qE -- "$pat" "$TMP/screen" || return 0
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
wait_exit() { # wait_exit NAME [SECONDS]: until the chat has exited
    local end=$((SECONDS + ${2:-15}))
    while [ ! -s "$TMP/$1.exit" ]; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
keys() { T send-keys -t "$1" "${@:2}"; }
type_text() { T send-keys -t "$1" -l "$2"; }
shown() { cat "$TMP/screen"; }
# the PID of gptscope in window NAME (child of the pane's shell)
chat_pid() { pgrep -P "$(T list-panes -t "$1" -F '#{pane_pid}')" | head -1; }

# ------------------------------------------------------------------ start
t0=$(date +%s%N)
start a -- --seed 7
wait_for a 'F1: help' 10
ok $? "starts and draws the panes and the status bar" "$(shown)"
ms=$((($(date +%s%N) - t0) / 1000000))
[ $ms -lt 3000 ]
ok $? "on screen in ${ms} ms (including tmux start-up)"
wait_for a 'Transcript' 5 && wait_for a 'Attention · layer' 5 &&
    wait_for a 'Probabilities' 5 && wait_for a 'gpt2-f32' 5
ok $? "transcript, attention, probabilities, model name in the status bar" "$(shown)"

# ------------------------------------------------------- a prompt streams in
type_text a "The old man"
keys a Enter
wait_for a '[0-9.]+ tok/s' 20
ok $? "a reply is generated (tokens/s in the status bar)" "$(shown)"
wait_for a 'The old man' 5
ok $? "the prompt is in the transcript"
wait_for a 'token [0-9]+ ".*" over [0-9]+ token' 5
ok $? "the attention pane shows the newest token's row" "$(shown)"
wait_for a 'entropy [0-9.]+ nats raw|a prompt token' 5
ok $? "the probability pane describes the newest token"
wait_for a 'ctx [0-9]+/64' 5
ok $? "context used / n_ctx in the status bar"

# ------------------------------------------------------------- the cursor
keys a Tab
keys a Left Left
wait_for a 'Transcript · token [0-9]+ of [0-9]+' 5
ok $? "Tab then Left: the transcript cursor selects a token" "$(head -2 "$TMP/screen")"
sel=$(grep -oE 'Transcript · token [0-9]+' "$TMP/screen" | grep -oE '[0-9]+$')
# the probability pane is below the attention pane: once its row shows the
# token, the screen update has reached the attention row too
wait_for a "│token $sel \"[^│]*\"(  p [0-9]| *│\$)" 5 && grep -qE "│token $sel \".*\" over" "$TMP/screen"
ok $? "attention and probabilities follow the selected token ($sel)"
keys a Home
wait_for a 'a prompt token' 5
ok $? "Home: the first token is a prompt token, and the probability pane says so"
keys a End
# an unbound letter typed in a pane moves to the input and shows at once
# (the screen was redrawn only at the next key)
keys a Tab
sleep 0.3
type_text a "w"
wait_for a '^> w *$' 3
ok $? "a letter typed in a pane appears in the input without another key" "$(tail -3 "$TMP/screen")"
keys a BSpace
keys a Tab End # back in the transcript, as the tests below expect
# ------------------------------------------------------------ layer / head
wait_for a 'layer 1/2 · head mean' 5
ok $? "starts on the last layer, mean of the heads"
keys a ']'
wait_for a 'layer 0/2' 5
ok $? "] changes the layer"
keys a '}'
wait_for a 'head 0/4' 5
ok $? "} picks a head"
keys a '}'
wait_for a 'head 1/4' 5
ok $? "} again: the next head"
keys a a
wait_for a 'layer 0/2 · head mean' 5
ok $? "a: back to the mean of the heads"
keys a m
wait_for a '─ Matrix · layer' 5 && wait_for a 'tokens [0-9]+\.\.[0-9]+' 5
ok $? "m: the whole-sequence matrix view" "$(shown)"
keys a m
wait_for a '─ Attention · layer' 5
ok $? "m again: the row view"

# ------------------------------------------------------------------ mouse
# an X10 mouse report (ESC [ M button+32 column+33 row+33), as a terminal
# sends it: a press then a release on the first character of the transcript
oct() { printf "\\$(printf %o "$1")"; }
type_text a "$(printf '\033[M '; oct 34; oct 34)"
type_text a "$(printf '\033[M#'; oct 34; oct 34)"
wait_for a 'Transcript · token 0 of' 5
ok $? "a click selects the token under the mouse" "$(head -2 "$TMP/screen")"
keys a End

# ----------------------------------------------------------------- resize
T resize-window -t a -x 90 -y 30
wait_for a '^┌─ Transcript.*┐┌─ Attention · layer 0/2 · head mean ─+┐$' 5 &&
    [ "$(head -1 "$TMP/screen" | wc -m)" -eq 91 ] && [ "$(wc -l <"$TMP/screen")" -eq 30 ] &&
    wait_for a '^ gpt2-f32 │ temp 1 ' 5
ok $? "resized to 90x30: laid out again" "$(head -3 "$TMP/screen")"
T resize-window -t a -x 60 -y 15
wait_for a 'Terminal too small: 60x15' 5
ok $? "below the minimum: a clear message" "$(shown)"
T resize-window -t a -x 120 -y 40
wait_for a 'F1: help' 5 && wait_gone a 'too small' 5
ok $? "back to 120x40: the panes return"

# ---------------------------------------------------------- stop a reply
keys a Enter # back to the input
type_text a "/max-tokens 100000"
keys a Enter
type_text a "/eos 0"
keys a Enter
wait_for a 'max 100000' 5
ok $? "/max-tokens shows in the status bar"
type_text a "Once upon a time"
keys a Enter
wait_for a 'Transcript · generating' 10
ok $? "a long reply is generating"
keys a C-c
wait_gone a 'Transcript · generating' 10
ok $? "Ctrl-C stops it" "$(head -2 "$TMP/screen")"
wait_for a 'stopped' 5 && [ ! -s "$TMP/a.exit" ]
ok $? "... without leaving" "$(tail -2 "$TMP/screen")"
# SIGINT from outside while idle is ignored; during a reply it stops it
pid=$(chat_pid a)
[ -n "$pid" ] && kill -INT "$pid" && sleep 0.3 && [ ! -s "$TMP/a.exit" ] && kill -0 "$pid"
ok $? "SIGINT while idle does not kill it"
type_text a "/max-tokens 50"
keys a Enter

# ------------------------------------------------------------- help, /temp
keys a F1
wait_for a 'Slash commands' 5 && wait_for a '/temp X' 5 && wait_for a 'row / matrix view' 5
ok $? "F1: help overlay with the keys and the slash commands"
keys a x
wait_gone a 'Slash commands' 5
ok $? "any key closes it"
keys a '?'
wait_for a 'Slash commands' 5
ok $? "? on an empty input shows the help too"
keys a Escape
wait_gone a 'Slash commands' 5
type_text a "/temp 0.5"
keys a Enter
wait_for a '│ temp 0.5 top-k' 5
ok $? "/temp 0.5 shows in the status bar"
type_text a "/bogus"
keys a Enter
wait_for a "unknown command" 5
ok $? "an unknown command shows its error"
type_text a "/attn 0 2"
keys a Enter
wait_for a '─ Attention · layer 0/2 · head 2/4 ─' 5
ok $? "/attn 0 2: layer 0, head 2"
type_text a "/sessions" # typed while the attention pane has focus: goes to the input
keys a Enter
wait_for a '─ Sessions ─' 5
ok $? "/sessions lists the stored sessions in an overlay" "$(shown)"
keys a q
wait_gone a '─ Sessions ─' 5 && [ ! -s "$TMP/a.exit" ]
ok $? "a key closes it (q there does not quit)"

# ---------------------------------------------------------- multi-line input
type_text a 'first line\'
keys a Enter
wait_for a '^  second|^> first line$' 5
type_text a 'second'
wait_for a '^  second' 5
ok $? "a trailing backslash continues the input on a new line" "$(tail -4 "$TMP/screen")"
keys a Enter
wait_for a '[0-9.]+ tok/s' 20 && wait_for a '│first line ' 10 && wait_for a '│second' 5
ok $? "the two lines are one prompt" "$(shown)"

# ------------------------------------------------------------------- quit
keys a C-d
wait_exit a 10 && [ "$(cat "$TMP/a.exit")" = 0 ]
ok $? "Ctrl-D on an empty input quits with status 0"

# ------------------------------------------ second run: history, NO_COLOR
start b NO_COLOR=1 -- --seed 8
wait_for b 'F1: help' 10
keys b Up
wait_for b '^> first line' 5 && keys b Up && wait_for b '^> /sessions' 5
ok $? "history from the last run: Up recalls the earlier lines" "$(tail -3 "$TMP/screen")"
keys b C-u # kill the line
keys b C-c
keys b C-r
type_text b "bog"
wait_for b "^\(reverse-i-search\)\`bog': /bogus" 5
ok $? "Ctrl-R searches the history" "$(tail -3 "$TMP/screen")"
keys b C-g
keys b C-c
type_text b "abc"
keys b M-Enter
type_text b "def"
wait_for b '^> abc$' 5 && wait_for b '^  def$' 5
ok $? "Alt-Enter inserts a newline" "$(tail -3 "$TMP/screen")"
keys b C-c
T set-buffer -b clip "$(printf 'pasted one\npasted two')"
T paste-buffer -p -b clip -t b # bracketed, as the program asked for
wait_for b '^> pasted one$' 5 && wait_for b '^  pasted two$' 5 && grep -q 'Type a prompt below' "$TMP/screen"
ok $? "a pasted newline does not send the prompt" "$(tail -3 "$TMP/screen")"
keys b C-c
type_text b "Hello"
keys b Enter
wait_for b '[0-9.]+ tok/s' 20 && wait_for b '0 ░▒▓█ [0-9.]+' 5
ok $? "NO_COLOR: the heatmap legend is made of blocks" "$(shown)"
# settings cannot change while a reply streams: let "Hello"'s reply end
wait_gone b 'Transcript · gen' 60
pid=$(chat_pid b)
type_text b "/max-tokens 100000"
keys b Enter
type_text b "/eos 0"
keys b Enter
type_text b "and on"
keys b Enter
wait_for b 'Transcript · generating' 10
kill -INT "$pid"
wait_gone b 'Transcript · generating' 10 && [ ! -s "$TMP/b.exit" ]
ok $? "SIGINT during a reply stops the reply, not the program"
type_text b "/beams 3"
keys b Enter
type_text b "/max-tokens 4"
keys b Enter
wait_for b 'max 4 beams 3' 10
type_text b "beam"
keys b Enter
# the pane describes a beam token by the raw distribution and lists the
# search's three hypotheses (the reply first) above the candidates
wait_for b 'beam +score +here' 15 && wait_for b '│> 1 +-[0-9]+\.[0-9]{3}  "[^│]*" +reply' 5 &&
    wait_for b '│  3 +-[0-9]+\.[0-9]{3}  ' 5 && wait_for b 'nats \(beam: raw = final\)' 5 &&
    wait_for b '│  token +raw +final +logp' 5
ok $? "/beams 3: the probability pane shows the hypotheses and the raw candidates" "$(shown)"
type_text b "/clear"
keys b Enter
wait_for b 'Type a prompt below' 5
ok $? "/clear empties the transcript" "$(shown)"
kill -TERM "$pid"
wait_exit b 10 && [ "$(cat "$TMP/b.exit")" = 0 ]
ok $? "SIGTERM: clean exit, status 0"

# -------------------------------------------------------------- the store
if "$BIN" sessions --help >/dev/null 2>&1; then
    "$BIN" sessions list --db "$DB" --json >"$TMP/list.json" 2>"$TMP/list.err"
    python3 - "$TMP/list.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert len(s) == 2, s
PY
    ok $? "two sessions stored" "$(cat "$TMP/list.json" "$TMP/list.err")"
    first=$(python3 -c "import json,sys; print(min(s['id'] for s in json.load(open(sys.argv[1]))))" "$TMP/list.json" 2>/dev/null)
    "$BIN" sessions show "${first:-1}" --db "$DB" >"$TMP/show" 2>&1
    grep -q 'The old man' "$TMP/show" && grep -q 'Once upon a time' "$TMP/show"
    ok $? "sessions show: the prompts typed in the TUI" "$(head -c 600 "$TMP/show")"
    "$BIN" sessions export "${first:-1}" --db "$DB" --format json >"$TMP/x.json" 2>/dev/null
    python3 - "$TMP/x.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["turns"]
roles = [x["role"] for x in t]
assert roles == ["user", "model"] * 3, roles
def sep(k):  # the separator (a newline) starts a prompt unless the reply ended with one
    return "" if t[k - 1]["text"].endswith("\n") else "\n"
assert t[0]["text"] == "The old man" and t[2]["text"] == sep(2) + "Once upon a time", t
assert t[3]["stop"] == "interrupted", t[3]["stop"]
assert t[4]["text"] == sep(4) + "first line\nsecond", repr(t[4]["text"])
assert all(len(x["tokens"]) > 0 for x in t[1::2])
PY
    ok $? "every turn stored as it happened; the stopped reply is 'interrupted'"
    second=$(python3 -c "import json,sys; print(max(s['id'] for s in json.load(open(sys.argv[1]))))" "$TMP/list.json" 2>/dev/null)
    "$BIN" sessions export "${second:-2}" --db "$DB" --format json >"$TMP/b.json" 2>/dev/null
    python3 - "$TMP/b.json" <<'PY'
import json, sys
t = [x for x in json.load(open(sys.argv[1]))["turns"] if "beams" in x]
assert len(t) == 1, len(t)
b = t[0]["beams"]
assert len(b) == 3 and b[0]["ids"] == [k["id"] for k in t[0]["tokens"]], b
assert [x["score"] for x in b] == sorted((x["score"] for x in b), reverse=True), b
assert all(k["n_kept"] > 1 and k["chosen_prob"] > 0 for k in t[0]["tokens"]), t[0]["tokens"]
PY
    ok $? "the beam reply is stored with its 3 hypotheses, the reply first"
    cmd=$(printf '%q ' env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$BIN" replay "${second:-2}" -m "$M" \
        --db "$DB" --history "$HIST" --threads 1 --speed 0)
    T new-session -d -s rb -x 120 -y 40 "$cmd; sleep 600"
    wait_for rb 'replay finished' 15
    keys rb Tab End
    wait_for rb 'beam +score +here' 5 && wait_for rb '│  3 +-[0-9]+\.[0-9]{3}  ' 5
    ok $? "replay: the stored hypotheses in the probability pane" "$(shown)"
    keys rb C-d
    # replay: the stored session comes back in the TUI
    cmd=$(printf '%q ' env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$BIN" replay "${first:-1}" -m "$M" \
        --db "$DB" --history "$HIST" --threads 1 --speed 0)
    T new-session -d -s r -x 120 -y 40 "$cmd; echo \$? >$TMP/r.exit; sleep 600"
    wait_for r 'replay finished' 15
    ok $? "replay reveals the stored session, then hands over to the prompt" "$(shown)"
    keys r Tab Home # the first token: the transcript scrolls to the top
    wait_for r '│The old man' 5 && wait_for r 'a prompt token' 5
    ok $? "the replayed transcript starts with the first prompt" "$(shown)"
    keys r C-d
    wait_exit r 10
    ok $? "replay quits with Ctrl-D"
    # replay after the context slid: the attention of a token is computed
    # over the window the model saw live (it was recomputed over the last
    # n_ctx tokens before the windows were stored)
    start sl -- --seed 3 --max-tokens 90
    wait_for sl 'F1: help' 10
    type_text sl "The old man"
    keys sl Enter
    # a speed is shown once tokens come; the title says "generating" until the end
    wait_for sl '[0-9.]+ tok/s' 30 && wait_gone sl 'Transcript · gen' 30
    # End, then Left once the End is drawn: sent together, the screen can be
    # read between the two keys
    keys sl Tab End
    wait_for sl 'Transcript · token [0-9]+ of' 5
    last=$(grep -oE 'Transcript · token [0-9]+' "$TMP/screen" | grep -oE '[0-9]+$')
    keys sl Left
    wait_for sl "Transcript · token $((${last:-1} - 1)) of" 5 &&
        wait_for sl "token $((${last:-1} - 1)) \"[^│]*\" over [0-9]+ token" 5
    live=$(grep -oE 'token [0-9]+ "[^│]*" over [0-9]+ token' "$TMP/screen" | sed 's/ ".*"//')
    keys sl C-d
    wait_exit sl 10
    slid=$("$BIN" sessions list --db "$DB" --json | python3 -c "import json,sys; print(max(s['id'] for s in json.load(sys.stdin)))")
    cmd=$(printf '%q ' env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$BIN" replay "$slid" -m "$M" \
        --db "$DB" --history "$HIST" --threads 1 --speed 0)
    T new-session -d -s r3 -x 120 -y 40 "$cmd; sleep 600"
    wait_for r3 'replay finished' 15
    keys r3 Tab End
    wait_for r3 'Transcript · token [0-9]+ of' 5
    last=$(grep -oE 'Transcript · token [0-9]+' "$TMP/screen" | grep -oE '[0-9]+$')
    keys r3 Left
    wait_for r3 "Transcript · token $((${last:-1} - 1)) of" 5 &&
        wait_for r3 "token $((${last:-1} - 1)) \"[^│]*\" over [0-9]+ token" 5
    again=$(grep -oE 'token [0-9]+ "[^│]*" over [0-9]+ token' "$TMP/screen" | sed 's/ ".*"//')
    [ -n "$live" ] && [ "$live" = "$again" ] && [ "${live##* over }" != "64 token" ]
    ok $? "replay after a slide: attention over the window seen live ($live / $again)"
    keys r3 C-d
    # other weights than the session's: the attention pane says why it shows nothing
    M16=$SRC/tests/reference/models/gpt2-f16
    cmd=$(printf '%q ' env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$BIN" replay "${first:-1}" -m "$M16" \
        --db "$DB" --history "$HIST" --threads 1 --speed 0)
    if [ -f "$M16/model.safetensors" ]; then
        T new-session -d -s r2 -x 120 -y 40 "$cmd; echo \$? >$TMP/r2.exit; sleep 600"
        wait_for r2 'attention not shown' 15
        ok $? "replay with other weights: the attention pane says so" "$(shown)"
        keys r2 C-d
        wait_exit r2 10
    else
        skip "replay with other weights" "$M16 not built"
    fi
else
    for d in "two sessions stored" "sessions show" "turns stored" "replay reveals" "replay start" "replay quits" "replay with other weights"; do
        skip "$d" "this gptscope has no sessions command"
    done
fi

# the transcript shows what the model reads: the next prompt starts on a new
# line because the separator (a newline by default) is part of its turn, and
# /sep shows and changes it
start sp -- --no-save --seed 3 --max-tokens 4
wait_for sp 'F1: help' 10
type_text sp "Romeo said"
keys sp Enter
wait_for sp '[0-9.]+ tok/s' 20
type_text sp "QQJ"
keys sp Enter
wait_for sp '│QQJ' 20
ok $? "the next prompt starts on a line of its own: the default separator" "$(shown)"
type_text sp "/sep"
keys sp Enter
wait_for sp 'sep \\n \(/sep' 5
ok $? "/sep shows the separator" "$(tail -2 "$TMP/screen")"
# with none, a prompt follows the reply on the same line, as the model reads
# it (seed 3 gives a reply that does not end in a newline)
type_text sp "/sep none"
keys sp Enter
type_text sp "ZZK"
keys sp Enter
wait_for sp '[^│ ]ZZK' 20
ok $? "/sep none: the prompt is shown right after the reply, as it is fed" "$(shown)"
keys sp C-d
wait_exit sp 10

# views NAME SIZE: each way of reading attention, on a finished reply
views() {
    local z=$1 sz=$2
    # the transcript tinted by the newest token's attention (the default):
    # the prompt's tokens carry background shades (256-colour or direct)
    T capture-pane -e -p -t "$z" >"$TMP/escreen"
    local l2 rest
    l2=$(sed -n 2p "$TMP/escreen")
    grep -qE 'attention tint|· attn ' "$TMP/escreen" &&
        [[ $l2 =~ $'\e'\[48\;(5\;[0-9]+|2\;[0-9\;]+)m[^│]*The ]]
    ok $? "$sz: the transcript is tinted by attention, the prompt's words shaded" "$(head -3 "$TMP/escreen" | cat -v)"
    keys "$z" Tab # the transcript
    keys "$z" Home
    wait_for "$z" 'token 0 of|· 0/' 5
    T capture-pane -e -p -t "$z" >"$TMP/escreen"
    # the first token reads only itself: the tokens after it are dim, unshaded
    l2=$(sed -n 2p "$TMP/escreen")
    rest=${l2#*The}
    rest=${rest%%│*}
    [ "$rest" != "$l2" ] && [[ $rest == *old* ]] && [[ $rest != *$'\e[48;'* ]]
    ok $? "$sz: the first token selected: the tokens after it are not shaded" "$(echo "$rest" | cat -v)"
    keys "$z" End
    keys "$z" t
    wait_for "$z" 'probability tint|· prob ' 5
    ok $? "$sz: t: tint by probability" "$(head -1 "$TMP/screen")"
    keys "$z" t
    wait_for "$z" '─ Transcript · (token [0-9]+ of [0-9]+|[0-9]+/[0-9]+) ─' 5
    ok $? "$sz: t again: no tint" "$(head -1 "$TMP/screen")"
    keys "$z" t
    wait_for "$z" 'attention tint|· attn ' 5
    ok $? "$sz: t again: attention tint" "$(head -1 "$TMP/screen")"
    # the matrix, its token axes, zoom and key panning
    keys "$z" Tab # the attention pane
    keys "$z" m
    wait_for "$z" 'tokens 0\.\.[0-9]+' 5 && wait_for "$z" '│The +[^│]*│' 5
    ok $? "$sz: m: the matrix, its rows labelled with tokens" "$(shown)"
    keys "$z" +
    wait_for "$z" 'zoom [0-9]+ of [0-9]+' 5
    ok $? "$sz: +: zoomed in around the selected token" "$(shown)"
    keys "$z" + + +
    keys "$z" '<'
    wait_for "$z" 'keys [0-9]+\.\.[0-9]+' 5
    ok $? "$sz: <: the keys move left of the queries" "$(shown)"
    keys "$z" -
    keys "$z" - - - -
    wait_for "$z" 'tokens 0\.\.[0-9]+(, max-pooled)? ' 5 && ! grep -q 'zoom [0-9]' "$TMP/screen"
    ok $? "$sz: -: back to the whole window" "$(shown)"
    keys "$z" n
    wait_for "$z" '[0-9]\.[0-9]{3} log ' 5
    ok $? "$sz: n: log shading, named in the legend" "$(shown)"
    keys "$z" n
    wait_for "$z" '[0-9]\.[0-9]{3}  ' 5
    ok $? "$sz: n again: linear" "$(shown)"
    keys "$z" n
    # every head of the layer at once
    keys "$z" H
    wait_for "$z" 'all 4 heads' 5 && wait_for "$z" '▶mean' 5 &&
        [ "$(grep -cE '│ h[0-3] ' "$TMP/screen")" -ge 2 ]
    ok $? "$sz: H: one strip per head, the mean selected" "$(shown)"
    keys "$z" j j
    wait_for "$z" '▶h1' 5 && wait_for "$z" 'Heads · layer [0-9]+/2 · head 1/4' 5
    ok $? "$sz: j in the heads view picks a head (the title follows)" "$(shown)"
    keys "$z" H
    wait_for "$z" 'Attention · layer [0-9]+/2 · head 1/4' 5 && wait_for "$z" 'over [0-9]+ tokens' 5
    ok $? "$sz: H again: the row of that head" "$(shown)"
    keys "$z" Enter
}

# terminal sizes: 200x60 fills the probability pane (60 candidates are kept
# per token, it showed 10 and left the rest empty) with a cumulative column;
# 80x24 still draws every pane
for size in 200x60 80x24; do
    cols=${size%x*}
    rows=${size#*x}
    cmd=$(printf '%q ' env LANG=C.UTF-8 LC_ALL=C.UTF-8 OMP_WAIT_POLICY=passive "$BIN" chat -m "$M" \
        --no-save --threads 1 --seed 1 --max-tokens 5)
    T new-session -d -s "z$cols" -x "$cols" -y "$rows" "$cmd; sleep 600"
    wait_for "z$cols" 'F1: help' 10
    type_text "z$cols" "The old man"
    keys "z$cols" Enter
    wait_for "z$cols" '[0-9.]+ tok/s' 20
    [ "$cols" = 200 ] && wait_for "z$cols" 'entropy [0-9.]+ nats raw' 5
    n_rows=$(grep -cE '[0-9.]+% +-?[0-9.]+ +[0-9.]+%│$' "$TMP/screen")
    if [ "$cols" = 200 ]; then
        [ "$n_rows" -ge 20 ] && grep -qE 'logp +cum│' "$TMP/screen"
        ok $? "200x60: the probability pane fills its $n_rows rows, with the cumulative mass" "$(shown)"
    else
        grep -q 'Transcript' "$TMP/screen" && grep -q 'Probabilities' "$TMP/screen" &&
            grep -q 'Attention' "$TMP/screen" && [ "$(wc -l <"$TMP/screen")" -le 24 ]
        ok $? "80x24: transcript, attention and probabilities all drawn" "$(shown)"
    fi
    views "z$cols" "${cols}x$rows"
    keys "z$cols" C-d
done

# a prompt longer than the 64-token context: the status line says how much
# of it the model read
start lp -- --no-save --seed 3 --max-tokens 3
wait_for lp 'F1: help' 10
type_text lp "$(python3 -c "print(' '.join(['word'] * 120))")"
keys lp Enter
wait_for lp 'read only the last 63 of [0-9]+ prompt' 20
ok $? "a prompt longer than the context: the TUI says the model read only its end" "$(tail -3 "$TMP/screen")"
keys lp C-d
wait_exit lp 10

# a fine-tuned classifier: the class pane shows each class's probability for
# the input line, recomputed as it is typed
python3 - "$TMP" <<'PY'
import json, random, sys
random.seed(3)
words = "the cat sat on a mat dog ran far away".split()
with open(sys.argv[1] + "/cls.jsonl", "w") as f:
    for _ in range(64):
        lab = random.choice(["neg", "pos"])
        w = [random.choice(words) for _ in range(4)] + ["good" if lab == "pos" else "bad"]
        f.write(json.dumps({"text": " ".join(w), "label": lab}) + "\n")
PY
OMP_WAIT_POLICY=passive "$BIN" finetune --init "$M" --task classify --train "$TMP/cls.jsonl" -o "$TMP/clsm" \
    --steps 3 --pretrain off -t 1 >/dev/null 2>"$TMP/cls.err"
ok $? "a small classifier to look at" "$(tail -2 "$TMP/cls.err")"
start cls -- -m "$TMP/clsm" --no-save
wait_for cls 'Classifier · 2 classes' 10
ok $? "a model with a classify head: the class pane is shown" "$(shown)"
grep -qE '^.*│[ >]neg .* +[0-9]+\.[0-9]%│' "$TMP/screen" && grep -qE '│[ >]pos .* +[0-9]+\.[0-9]%│' "$TMP/screen" &&
    grep -q 'the start and extract tokens only' "$TMP/screen"
ok $? "both classes with a bar and a percentage for the empty input" "$(shown)"
before=$(grep -E '│[ >](neg|pos) ' "$TMP/screen")
type_text cls "the cat sat good"
wait_for cls '│the cat sat good' 5
after=$(grep -E '│[ >](neg|pos) ' "$TMP/screen")
[ -n "$after" ] && [ "$before" != "$after" ]
ok $? "typing recomputes the probabilities for the new text" "$(printf '%s\n--\n%s\n' "$before" "$after")"
keys cls C-u
keys cls C-d
wait_exit cls 10
start nocls -- --no-save
wait_for nocls 'F1: help' 10
! grep -q 'Classifier' "$TMP/screen"
ok $? "a plain language model has no class pane"
keys nocls C-d
wait_exit nocls 10

tap_finish
