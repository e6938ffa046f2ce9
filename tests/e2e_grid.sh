#!/bin/bash
# e2e_grid.sh - the attention pane's layer x head overview in the TUI under
# tmux: o shows every layer and head of the selected token, the arrows move
# its cursor (the layer and head the pane's title and the other views
# follow), c cycles the measure, and it redraws at 80x24 and 200x60. TAP.
set -u
BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
M=$SRC/tests/reference/models/gpt2-f32
TMP=$(mktemp -d)
S=$TMP/tmux.sock
trap 'tmux -S "$S" kill-server 2>/dev/null; rm -rf "$TMP"' EXIT
export OMP_WAIT_POLICY=passive
. "$(dirname "$0")/tap.sh"
if ! command -v tmux >/dev/null 2>&1; then
    echo "1..0 # SKIP tmux not installed"
    exit 0
fi
screen_has() { # PATTERN...: waits up to 10 s for the screen to match every pattern
    local i p all
    for i in $(seq 1 40); do
        tmux -S "$S" capture-pane -t g -p >"$TMP/screen" 2>/dev/null
        all=1
        for p in "$@"; do grep -q -- "$p" "$TMP/screen" || all=0; done
        [ $all -eq 1 ] && return 0
        sleep 0.25
    done
    return 1
}
tmux -S "$S" new-session -d -s g -x 80 -y 24 \
    "env NO_COLOR=1 $BIN chat -m $M --no-save -n 6 --seed 1 -t 1; sleep 60"
screen_has "type a prompt"
tmux -S "$S" send-keys -t g 'The' Enter
screen_has "Probabilities"
tmux -S "$S" send-keys -t g Tab o
screen_has "Overview" "L0 " "L1 " "entropy"
ok $? "o shows the layer x head overview at 80x24 (both layers of the model)" "$(cat "$TMP/screen")"
tmux -S "$S" send-keys -t g Tab  # from the transcript to the attention pane
tmux -S "$S" send-keys -t g Down Right Right
screen_has "L0 H2: entropy"
ok $? "the arrows move the cursor: layer, head (wrapping from the last layer)" "$(cat "$TMP/screen")"
screen_has "layer 0/2 . head 2/4"
ok $? "the pane's title follows the cursor (layer and head of the other views)" "$(cat "$TMP/screen")"
tmux -S "$S" send-keys -t g c
screen_has "max weight"
ok $? "c: the max-weight measure" "$(cat "$TMP/screen")"
tmux -S "$S" send-keys -t g c
screen_has "weight on .*(1 back"
ok $? "c again: the weight on the previous token" "$(cat "$TMP/screen")"
tmux -S "$S" resize-window -t g -x 200 -y 60
screen_has "Overview" "L1 " "L0 H2: weight on key"
ok $? "it redraws at 200x60" "$(head -5 "$TMP/screen")"
tmux -S "$S" resize-window -t g -x 80 -y 24
screen_has "Overview" "L0 H2"
ok $? "and back at 80x24" "$(cat "$TMP/screen")"
tmux -S "$S" send-keys -t g o
screen_has "Attention . layer 0/2"
ok $? "o again: back to the row view on the chosen layer" "$(cat "$TMP/screen")"
tap_finish
