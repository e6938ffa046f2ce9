#!/bin/bash
# readme_screen.sh - the screen captures in README.md come from the real
# program: this drives `gptscope chat` on the bundled model in tmux (92x26,
# NO_COLOR, fixed seed, one thread), captures the screens the README shows
# (the attention row and the all-heads view of one token, then a fork's
# candidate list on it and the branch tree after the fork) and compares each
# with the README block between its markers
#   <!-- screen:NAME -->  ```  ...  ```  <!-- /screen -->
# The tokens/s figure (and the status bar after it) is the only part masked:
# it is a timing.
# With --update the README's blocks are rewritten from the captures instead:
#   GPTSCOPE_BIN=build/app/gptscope bash tests/readme_screen.sh --update
# TAP; skips without tmux or the bundled model.
set -u

BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
README=$SRC/README.md
UPDATE=0
[ "${1:-}" = --update ] && UPDATE=1
TMP=$(mktemp -d)
SOCK=gptscope-readme-$$
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
if [ ! -f "$SRC/assets/default-model/model.safetensors" ]; then
    echo "1..0 # SKIP the bundled model is not in assets/"
    exit 0
fi

wait_for() { # wait_for PATTERN [SECONDS]: until the screen matches (grep -E)
    local end=$((SECONDS + ${2:-15}))
    while :; do
        T capture-pane -p -t a >"$TMP/screen" 2>/dev/null
        grep -qE -- "$1" "$TMP/screen" && return 0
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
wait_gone() { # wait_gone PATTERN [SECONDS]: until the screen no longer matches
    local end=$((SECONDS + ${2:-15}))
    while :; do
        T capture-pane -p -t a >"$TMP/screen" 2>/dev/null
        grep -qE -- "$1" "$TMP/screen" || return 0
        [ $SECONDS -ge $end ] && return 1
        sleep 0.1
    done
}
keys() { T send-keys -t a "$@"; }

cmd=$(printf '%q ' env NO_COLOR=1 LANG=C.UTF-8 LC_ALL=C.UTF-8 OMP_WAIT_POLICY=passive \
    "$BIN" chat --db "$TMP/s.db" --history "$TMP/h" --threads 1 --seed 7 --max-tokens 60)
T new-session -d -s a -x 92 -y 26 "$cmd; sleep 600"
wait_for 'F1: help' 20
ok $? "the chat screen starts on the bundled model"
T send-keys -t a -l "ROMEO:"
keys Enter
# a speed is shown once tokens come; the title says "generating" until the end
wait_for '[0-9.]+ tok/s' 60 && wait_gone 'Transcript · gen' 60
ok $? "the reply to \"ROMEO:\" is generated"
# the cursor on a generated token four before the end
keys Tab End
wait_for 'Transcript · token [0-9]+ of' 5
last=$(grep -oE 'Transcript · token [0-9]+' "$TMP/screen" | grep -oE '[0-9]+$')
sel=$((${last:-4} - 4))
keys Left Left Left Left
# the probability pane is drawn last: once it shows the token, all is drawn
wait_for "│token $sel \"[^│]*\"  p [0-9]" 5
ok $? "the cursor on token $sel"
cp "$TMP/screen" "$TMP/row.txt"
keys H
wait_for "all [0-9]+ heads · token $sel " 5 && wait_for "│token $sel \"[^│]*\"  p [0-9]" 5
ok $? "the all-heads view of the layer"
cp "$TMP/screen" "$TMP/heads.txt"
# branching: F on the same token, its second candidate, the reply from
# there, then the tree (b) once the fork's message has left the status bar
keys H
wait_for "Attention · layer [0-9]+/[0-9]+ · head mean" 5
keys F
wait_for "Fork at token $sel " 5 && wait_for 'Enter forks' 5
ok $? "F: the candidates of token $sel"
cp "$TMP/screen" "$TMP/fork.txt"
keys 2 Enter
wait_for "branch 1: token $sel " 10 && wait_gone 'Transcript · gen' 60
ok $? "2, Enter: the fork and its reply"
keys b
wait_for 'Branches · 2 · showing 1' 5 && wait_for '[0-9.]+ tok/s' 10
ok $? "b: the branch tree"
cp "$TMP/screen" "$TMP/tree.txt"
keys C-d

# mask: the tokens/s figure is a timing, and its width moves what the
# status bar has room for after it
mask() { sed -E 's/[0-9]+\.[0-9] tok\/s.*/#.# tok\/s .../' "$1"; }
# block NAME: the lines of README's fenced block under <!-- screen:NAME -->
block() {
    awk -v name="$1" '
        $0 == "<!-- screen:" name " -->" { on = 1; next }
        on && /^<!-- \/screen -->/ { exit }
        on && /^```/ { inside = !inside; next }
        on && inside { print }' "$README"
}

for name in row heads fork tree; do
    # trailing blank lines of the capture are not part of the screen
    sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$TMP/$name.txt" >"$TMP/$name.cap"
    if [ $UPDATE = 1 ]; then
        python3 - "$README" "$name" "$TMP/$name.cap" <<'PY'
import sys
path, name, cap = sys.argv[1:]
text = open(path, encoding="utf-8").read()
begin, end = f"<!-- screen:{name} -->\n", "<!-- /screen -->"
i = text.index(begin) + len(begin)
j = text.index(end, i)
body = open(cap, encoding="utf-8").read().rstrip("\n")
text = text[:i] + "```\n" + body + "\n```\n" + text[j:]
open(path, "w", encoding="utf-8").write(text)
PY
        ok $? "README block '$name' rewritten"
    else
        block "$name" >"$TMP/$name.readme"
        if [ ! -s "$TMP/$name.readme" ]; then
            ok 1 "README has a block <!-- screen:$name -->"
            continue
        fi
        diff <(mask "$TMP/$name.readme") <(mask "$TMP/$name.cap") >"$TMP/$name.diff"
        ok $? "README's '$name' screen is what the program draws (tests/readme_screen.sh --update rewrites it)" \
            "$(head -20 "$TMP/$name.diff")"
    fi
done
tap_finish
