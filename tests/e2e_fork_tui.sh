#!/bin/bash
# e2e_fork_tui.sh - branching in the chat screen, driven through tmux on
# the bundled model (NO_COLOR, seed 7, one thread, a scratch database): a
# reply, F on one of its tokens (a prompt token refused, Esc cancels), the
# second candidate chosen: the reply goes on from it and the token there is
# that candidate at rank 2 (screen, `sessions tree`); the tree pane (b)
# lists both branches and redraws at 80x24 and 200x60; Enter on branch 0
# shows the original text again; ( ) step between branches; /fork N K typed
# at the prompt; /branches; /compare with the same model: log-ratio 0 and
# equal sums; --no-save forks without a tree. Every wait polls with a
# timeout. TAP; skips without tmux or the bundled model.
set -u

BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
M=$SRC/assets/default-model
TMP=$(mktemp -d)
SOCK=gptscope-fork-$$
T() { tmux -L "$SOCK" -f /dev/null "$@"; }
cleanup() {
    T kill-server >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
unset GPTSCOPE_MODEL TMUX
export OMP_WAIT_POLICY=passive

. "$(dirname "$0")/tap.sh"

if ! command -v tmux >/dev/null 2>&1; then
    echo "1..0 # SKIP tmux is not installed"
    exit 0
fi
if [ ! -f "$M/model.safetensors" ]; then
    echo "1..0 # SKIP the bundled model is not in assets/"
    exit 0
fi

DB=$TMP/s.db
# start NAME COLSxROWS ARGS...: gptscope chat in its own window
start() {
    local name=$1 w=${2%x*} h=${2#*x}
    shift 2
    local cmd
    cmd=$(printf '%q ' env NO_COLOR=1 LANG=C.UTF-8 LC_ALL=C.UTF-8 OMP_WAIT_POLICY=passive \
        "$BIN" chat -m "$M" --history "$TMP/h" --threads 1 --seed 7 --max-tokens 30 "$@")
    T new-session -d -s "$name" -x "$w" -y "$h" "$cmd; echo \$? >$TMP/$name.exit; sleep 600"
}
W=a
wait_for() { # wait_for PATTERN [SECONDS]: until the screen matches (grep -E)
    local end=$((SECONDS + ${2:-15}))
    while :; do
        T capture-pane -p -t "$W" >"$TMP/screen" 2>/dev/null
        grep -qE -- "$1" "$TMP/screen" && return 0
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
wait_gone() { # wait_gone PATTERN [SECONDS]: until the screen no longer matches
    local end=$((SECONDS + ${2:-15}))
    while :; do
        T capture-pane -p -t "$W" >"$TMP/screen" 2>/dev/null
        grep -qE -- "$1" "$TMP/screen" || return 0
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
keys() { T send-keys -t "$W" "$@"; }
type_line() { T send-keys -t "$W" -l "$1"; T send-keys -t "$W" Enter; }
shown() { cat "$TMP/screen"; }
re() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'; } # text as a literal grep -E pattern
# the reply has ended: a speed is shown and the title no longer says generating
reply_done() { wait_for '[0-9.]+ tok/s' 60 && wait_gone 'Transcript · gen' 60; }
# the transcript's text: what lies between the first two frame bars, rows 2..12
transcript() { sed -n '2,12p' "$TMP/screen" | sed -E 's/^│([^│]*)│.*/\1/'; }

# --------------------------------------------------------- a reply, a token
start a 100x30 --db "$DB"
wait_for 'F1: help' 20
ok $? "the chat screen starts on the bundled model"
type_line "ROMEO:"
reply_done
ok $? "the reply to \"ROMEO:\" is generated" "$(shown)"
transcript >"$TMP/original"

keys Tab Home
wait_for 'a prompt token' 5
keys F
wait_for 'token 0 was typed, no fork' 5
ok $? "F on a prompt token: one line says it cannot fork" "$(tail -2 "$TMP/screen")"

keys End Left Left Left Left
wait_for 'Transcript · token [1-9][0-9]* of' 5
sel=$(grep -oE 'Transcript · token [0-9]+' "$TMP/screen" | grep -oE '[0-9]+$')
wait_for "│token $sel \"[^│]*\"  p [0-9]" 5
drawn=$(grep -oE "│token $sel \"[^│]*\"  p" "$TMP/screen" | sed -E "s/^│token $sel (.*)  p\$/\\1/")
ok $? "the cursor on generated token $sel ($drawn)"

keys F
wait_for "Fork at token $sel " 5 && wait_for 'Enter forks' 5
ok $? "F opens the candidates of token $sel" "$(shown)"
keys Escape
wait_gone 'Fork at token' 5
ok $? "Esc closes them without forking" "$(shown)"

keys F
wait_for "Fork at token $sel " 5
# rank 2's row: "     2 \" I\"  8.4% ..."; the cursor row starts with '>'
cand=$(grep -oE '[> ]    2 "[^│]*" +[0-9.]+%' "$TMP/screen" | head -1 |
    sed -E 's/^[> ]    2 (".*") +[0-9.]+%$/\1/; s/ +$//')
[ -n "$cand" ]
ok $? "candidate 2 is listed ($cand)" "$(shown)"
keys 2 Enter
wait_for "branch 1: token $sel " 10
ok $? "2 and Enter fork there (the status line names branch 1)" "$(tail -1 "$TMP/screen")"
reply_done
ok $? "the reply goes on from the fork" "$(shown)"
transcript >"$TMP/forked"
! cmp -s "$TMP/original" "$TMP/forked"
ok $? "the transcript changed from token $sel on" "$(cat "$TMP/forked")"
type_line "/probs $sel"
wait_for "│token $sel $(re "$cand")  p [0-9.]+  rank 2 " 5
ok $? "token $sel is now candidate 2 ($cand, rank 2)" "$(shown)"

# the store's view of it (the chat keeps its database open; reading is fine)
"$BIN" sessions tree 1 --db "$DB" >"$TMP/tree" 2>&1
grep -q '2 branches' "$TMP/tree" && grep -qE "<- 0 at token $sel .*\(rank 2\)" "$TMP/tree"
ok $? "sessions tree: 2 branches, the second forked at token $sel with rank 2" "$(cat "$TMP/tree")"

# ------------------------------------------------------------ the tree pane
keys b
wait_for 'Branches · 2 · showing 1' 5
ok $? "b shows the tree: 2 branches, branch 1 on screen" "$(shown)"
wait_for '│\* +1 +'"$sel"' +#2 ' 5 && wait_for '│  0 +\(first\)' 5
ok $? "one line per branch: branch 0, and 1 forked at token $sel with rank 2 (marked *)" "$(shown)"
T resize-window -t a -x 80 -y 24
wait_for 'Branches · 2 · showing 1' 5 && wait_for '│\* +1 +'"$sel"' ' 5 && wait_for '│  0 ' 5
ok $? "the tree redraws at 80x24" "$(shown)"
T resize-window -t a -x 200 -y 60
wait_for "parent's" 5 && wait_for "│\\* +1 +$sel +#2 +$(re "$cand") +$(re "$drawn") " 5
ok $? "and at 200x60, with the parent's token ($drawn) in a column of its own" "$(shown)"
T resize-window -t a -x 100 -y 30
wait_for 'Branches · 2 · showing 1' 5 && wait_gone "parent's" 5
keys k Enter
wait_for 'Branches · 2 · showing 0' 10
ok $? "k and Enter in the tree show branch 0" "$(shown)"
transcript >"$TMP/back"
cmp -s "$TMP/original" "$TMP/back"
ok $? "branch 0 shows the original reply again" "$(diff "$TMP/original" "$TMP/back")"
keys ')'
wait_for 'Branches · 2 · showing 1' 10
ok $? ") shows the next branch in tree order" "$(tail -8 "$TMP/screen")"
keys '('
wait_for 'Branches · 2 · showing 0' 10
ok $? "( the previous one" "$(tail -8 "$TMP/screen")"
keys '('
wait_for 'this is the first branch' 5
ok $? "( on the first branch says so" "$(tail -1 "$TMP/screen")"

# ----------------------------------------------------------- slash commands
keys b
wait_gone 'Branches ·' 5
ok $? "b hides the tree" "$(shown)"
type_line "/fork 5 2"
wait_for 'branch 2: token 5 ' 10
ok $? "/fork 5 2 typed at the prompt forks (branch 2)" "$(tail -1 "$TMP/screen")"
reply_done
ok $? "and its reply streams to the end" "$(shown)"
type_line "/branches"
wait_for 'Branches · 3 · showing 2' 10
ok $? "/branches shows the tree: 3 branches" "$(shown)"
keys Escape
wait_gone 'Enter shows' 5

type_line "/compare $M"
wait_for 'compare: sum ln p' 30
ok $? "/compare with the same model" "$(tail -1 "$TMP/screen")"
# the probability pane: "A default-model p 0.0206 Σ -93.54", then B's line
wait_for '│B default-model +p [0-9.]+ Σ -?[0-9.]+' 5
a=$(grep -oE '│A default-model +p [0-9.]+ Σ -?[0-9.]+' "$TMP/screen" | grep -oE -- '-?[0-9.]+$')
b=$(grep -oE '│B default-model +p [0-9.]+ Σ -?[0-9.]+' "$TMP/screen" | grep -oE -- '-?[0-9.]+$')
[ -n "$a" ] && [ "$a" = "$b" ]
ok $? "both models' sums of log-probabilities agree ($a, $b)" "$(shown)"
wait_for 'compare tint' 5 && wait_for 'ln pA/pB [+-]0\.000 about equal' 5
ok $? "the compare tint, and log-ratio 0 for the token shown" "$(shown)"
keys Tab t
wait_gone 'compare tint' 5
ok $? "t ends the compare tint" "$(head -1 "$TMP/screen")"

type_line "/quit"
end=$((SECONDS + 10))
while [ ! -s "$TMP/a.exit" ] && [ $SECONDS -lt $end ]; do sleep 0.1; done
[ "$(cat "$TMP/a.exit" 2>/dev/null)" = 0 ]
ok $? "/quit leaves with status 0"
"$BIN" sessions tree 1 --db "$DB" >"$TMP/tree" 2>&1
grep -q '3 branches' "$TMP/tree" && grep -qE '<- 0 at token 5 .*\(rank 2\)' "$TMP/tree"
ok $? "sessions tree: the third branch forked at token 5" "$(cat "$TMP/tree")"

# ------------------------------------------------------------------ --no-save
W=n
start n 100x30 --no-save
wait_for 'F1: help' 20
type_line "ROMEO:"
reply_done
type_line "/fork 5 2"
wait_for 'forked: token 5 ' 10
ok $? "--no-save: the fork happens (not stored)" "$(tail -1 "$TMP/screen")"
reply_done
keys Tab b
wait_for 'not being saved' 5
ok $? "--no-save: the tree pane says there is only this branch" "$(shown)"
tap_finish
