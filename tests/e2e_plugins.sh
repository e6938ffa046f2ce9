#!/bin/bash
# e2e_plugins.sh - plugins end to end: discovery from the build tree,
# `plugins list|info`, refusals (another ABI version, an entry that fails,
# no entry symbol, not a shared object, a malformed descriptor) that leave
# gptscope running, each hook's effect through the test plugin (a banned
# token is never generated, observers see every token, a failing hook is one
# clear error, a pane drawn as text, an exporter with attention), the
# mirostat sampler (reproducible with --seed, holds the surprise near tau,
# recorded in the session), and the logit lens (its last row is the model's
# own prediction). TAP.
set -u

BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
TP=${GPTSCOPE_TEST_PLUGINS:?GPTSCOPE_TEST_PLUGINS must point at the test plugins}
M=$SRC/tests/reference/models/gpt2-f32
BUNDLED=$SRC/assets/default-model
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
unset GPTSCOPE_MODEL GPTSCOPE_DB GPTSCOPE_TEST_BAN GPTSCOPE_TEST_FAIL
export XDG_DATA_HOME=$TMP/xdg HOME=$TMP/home OMP_WAIT_POLICY=passive
. "$(dirname "$0")/tap.sh"

if [ ! -f "$M/model.safetensors" ]; then
    echo "1..0 # SKIP reference model missing"
    exit 0
fi

# ------------------------------------------------------------ discovery
"$BIN" plugins list >"$TMP/list" 2>"$TMP/err"
rc=$?
good=0
for p in logit-lens mirostat html-export; do
    grep -Eq "^$p +1\.0\.0 +/.*/plugins/$p\.so  [a-zA-Z]" "$TMP/list" || good=1
done
[ $rc -eq 0 ] && [ ! -s "$TMP/err" ] || good=1
ok $good "plugins list: the three shipped plugins, found in the build tree (name, version, path, description)" "$(cat "$TMP/list" "$TMP/err")"

"$BIN" plugins list --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
names = sorted(p["name"] for p in d["plugins"])
assert names == ["html-export", "logit-lens", "mirostat"], names
assert all(p["origin"] == "build tree" and p["version"] and p["description"] for p in d["plugins"])
assert d["left_out"] == []' 2>"$TMP/err"
ok $? "plugins list --json" "$(cat "$TMP/err")"

"$BIN" plugins info mirostat >"$TMP/info" 2>&1 && grep -q "sampler: mirostat tau=3 eta=0.1" "$TMP/info" &&
    grep -q "command: /mirostat" "$TMP/info" && grep -q "ABI version: 1" "$TMP/info"
ok $? "plugins info mirostat: its sampler, parameters and command" "$(cat "$TMP/info")"
"$BIN" plugins info logit-lens 2>&1 | grep -q 'pane: logit-lens'
ok $? "plugins info logit-lens: its pane"
"$BIN" plugins info html-export 2>&1 | grep -q 'export format: html'
ok $? "plugins info html-export: its export format"
expect_fail "plugins info of a name not loaded" 1 "$BIN" plugins info nosuch
expect_fail "plugins with an unknown action" 2 "$BIN" plugins frobnicate
"$BIN" plugins list --no-plugins >"$TMP/list" 2>&1 && grep -q '^no plugins found' "$TMP/list"
ok $? "--no-plugins: nothing discovered" "$(cat "$TMP/list")"
mkdir -p "$XDG_DATA_HOME/gptscope/plugins"
cp "$TP/test_ban.so" "$XDG_DATA_HOME/gptscope/plugins/"
"$BIN" plugins list >"$TMP/list" 2>&1 && grep -Eq "^test-ban .*$XDG_DATA_HOME/gptscope/plugins/test_ban.so" "$TMP/list"
ok $? "a plugin in \$XDG_DATA_HOME/gptscope/plugins is found" "$(cat "$TMP/list")"
rm -rf "$XDG_DATA_HOME/gptscope/plugins"
"$BIN" plugins list --plugin "$BIN.d/../../plugins/mirostat.so" --plugin "$TP/test_ban.so" >"$TMP/list" 2>&1
grep -q '^test-ban' "$TMP/list" && [ "$(grep -c '^mirostat ' "$TMP/list")" -eq 1 ]
ok $? "--plugin adds one; the same plugin twice is loaded once" "$(cat "$TMP/list")"

# after `meson install` (into a scratch destdir: the binary finds the
# plugins relative to itself, so a moved install works too)
BUILD=$(cd "$(dirname "$BIN")/.." && pwd)
if command -v meson >/dev/null 2>&1 && [ -f "$BUILD/meson-info/meson-info.json" ]; then
    meson install -C "$BUILD" --no-rebuild --destdir "$TMP/dest" --tags runtime >"$TMP/install" 2>&1
    IBIN=$(find "$TMP/dest" -path '*/bin/gptscope' | head -1)
    [ -n "$IBIN" ] && "$IBIN" plugins list --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
got = sorted((p["name"], p["origin"]) for p in d["plugins"])
assert got == [("html-export", "installed"), ("logit-lens", "installed"), ("mirostat", "installed")], got
assert all("/gptscope/plugins/" in p["path"] and p["path"].startswith(sys.argv[1]) for p in d["plugins"])' "$TMP/dest" 2>"$TMP/err"
    ok $? "after meson install the installed gptscope finds the installed plugins" "$(tail -5 "$TMP/install"; cat "$TMP/err")"
else
    skip "after meson install the installed gptscope finds the installed plugins" "meson or the build tree not found"
fi

# ------------------------------------------------------------ refusals
# each: gptscope says why on one line and goes on without the plugin
refused() { # refused DESC PLUGIN PATTERN
    "$BIN" generate -m "$M" -p "Hello" -n 4 --seed 1 -t 1 --plugin "$2" >"$TMP/out" 2>"$TMP/err"
    local rc=$? good=0
    [ $rc -eq 0 ] && [ -s "$TMP/out" ] || good=1
    [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "^gptscope: plugin $2: .*$3" "$TMP/err" || good=1
    ok $good "$1 (rc $rc)" "$(cat "$TMP/err")"
}
refused "a plugin built for ABI 999 is refused naming both versions" "$TP/test_badabi.so" \
    "built for plugin ABI version 999, this gptscope has version 1"
refused "a plugin whose entry fails: its reason, and gptscope goes on" "$TP/test_refuse.so" \
    "it refused to start: the test plugin refuses to start"
refused "a shared object without the entry symbol" "$TP/test_noentry.so" \
    "not a gptscope plugin (no gptscope_plugin_entry symbol)"
refused "a malformed descriptor (a name with a space, a pane with no draw)" "$TP/test_badname.so" \
    "its name must be"
printf 'not an ELF file\n' >"$TMP/fake.so"
refused "a file that is not a shared object" "$TMP/fake.so" "cannot load it"
refused "a missing file" "$TMP/missing.so" "No such file"
refused "a directory" "$TMP" "not a regular file"
"$BIN" plugins list --plugin "$TP/test_badabi.so" >"$TMP/list" 2>&1 &&
    grep -q "^left out: $TP/test_badabi.so: built for plugin ABI version 999" "$TMP/list"
ok $? "plugins list says what was left out and why" "$(cat "$TMP/list")"

# ------------------------------------------------------------ logits processor
G=("$BIN" generate -m "$M" -p "The" -n 24 --temp 0 -t 1 --json --top 0)
"${G[@]}" >"$TMP/free.json" 2>"$TMP/err"
BAN=$(python3 -c '
import json, sys, collections
ids = [json.loads(l)["id"] for l in open(sys.argv[1])]
print(collections.Counter(ids).most_common(1)[0][0])' "$TMP/free.json")
GPTSCOPE_TEST_BAN=$BAN "${G[@]}" --plugin "$TP/test_ban.so" >"$TMP/ban.json" 2>"$TMP/err"
python3 - "$TMP/free.json" "$TMP/ban.json" "$BAN" <<'PY'
import json, sys
free = [json.loads(l)["id"] for l in open(sys.argv[1])]
ban = [json.loads(l)["id"] for l in open(sys.argv[2])]
b = int(sys.argv[3])
assert b in free and len(ban) == len(free) == 24, (free, ban)
assert b not in ban, ban
# greedy: the same tokens up to where the banned one came first
k = free.index(b)
assert ban[:k] == free[:k] and ban[k] != b
PY
ok $? "a banned token is never generated (greedy run; token $BAN was the most frequent)" "$(cat "$TMP/err")"
GPTSCOPE_TEST_BAN=$BAN "$BIN" generate -m "$M" -p "The" -n 200 --seed 9 -t 1 --json --top 0 --no-eos-stop \
    --plugin "$TP/test_ban.so" 2>"$TMP/err" | python3 -c '
import json, sys
ids = [json.loads(l)["id"] for l in sys.stdin]
assert len(ids) == 200 and int(sys.argv[1]) not in ids' "$BAN"
ok $? "nor in 200 sampled tokens" "$(cat "$TMP/err")"
TAP_QUIET_STDOUT=0 GPTSCOPE_TEST_FAIL=1 expect_fail_late "a logits processor that fails: one line naming the plugin" 1 \
    "$BIN" generate -m "$M" -p "The" -n 4 -t 1 --plugin "$TP/test_ban.so"
grep -q "^gptscope: plugin test-ban: logits refused" "$TMP/err"
ok $? "... with the plugin's message" "$(cat "$TMP/err")"

# the README's minimal plugin, built from the header alone as a user would
if command -v cc >/dev/null 2>&1; then
    python3 - "$SRC/README.md" >"$TMP/no-the.c" <<'PY'
import sys
s = open(sys.argv[1]).read()
i = s.index('#include "gptscope_plugin.h"')
print(s[s.rfind("```c\n", 0, i) + 5:s.index("```", i)])
PY
    sed "s/262/$BAN/g" "$TMP/no-the.c" >"$TMP/no-x.c"
    cc -Wall -Wextra -Werror -shared -fPIC -I"$SRC/plugins" -o "$TMP/no-the.so" "$TMP/no-the.c" 2>"$TMP/err" &&
        cc -Wall -Wextra -Werror -shared -fPIC -I"$SRC/plugins" -o "$TMP/no-x.so" "$TMP/no-x.c" 2>>"$TMP/err" &&
        "${G[@]}" --plugin "$TMP/no-x.so" 2>>"$TMP/err" | python3 -c '
import json, sys
ids = [json.loads(l)["id"] for l in sys.stdin]
assert len(ids) == 24 and int(sys.argv[1]) not in ids, ids' "$BAN"
    ok $? "the README's example plugin builds from the header alone and bans its token" "$(cat "$TMP/err")"
else
    skip "the README's example plugin builds from the header alone" "no C compiler"
fi

# ------------------------------------------------------------ the REPL: commands, observers, panes
cat >"$TMP/in" <<EOF
/ban $BAN
The
/seen
/pane test-pane
/pane
/pane nope
/help
EOF
"$BIN" repl -m "$M" --no-save -n 12 --temp 0 -t 1 -q --plugin "$TP/test_ban.so" <"$TMP/in" \
    >"$TMP/repl" 2>"$TMP/err"
grep -q "^banned $BAN" "$TMP/repl"
ok $? "a plugin's slash command (/ban)" "$(cat "$TMP/repl" "$TMP/err")"
grep -Eq "^seen hidden 12 \(ok 12\) attention 12 \(ok 12\)" "$TMP/repl"
ok $? "observers: the residual stream and attention of each of the 12 tokens, once each, well formed" "$(grep seen "$TMP/repl")"
grep -q "^test pane: 13 tokens, pos 12, 80x60" "$TMP/repl" && grep -q '^ \.:-=+\*#&@$' "$TMP/repl" &&
    grep -q '^ctl?bad?end$' "$TMP/repl"
ok $? "/pane draws a plugin's pane as text (shades, control bytes and bad UTF-8 cleaned)" "$(cat "$TMP/repl")"
grep -q "plugin panes: .*test-pane" "$TMP/repl" && grep -q "no pane 'nope'" "$TMP/err"
ok $? "/pane lists the panes; an unknown one is an error" "$(cat "$TMP/err")"
grep -q "/ban ID .*(plugin test-ban)" "$TMP/repl"
ok $? "/help lists the plugins' commands"

# ------------------------------------------------------------ mirostat
MG=("$BIN" generate -m "$BUNDLED" -p "ROMEO:" -n 200 -t 1 --json --top 0)
"${MG[@]}" --seed 5 --sampler mirostat >"$TMP/m1" 2>"$TMP/err" &&
    "${MG[@]}" --seed 5 --sampler mirostat >"$TMP/m2" 2>>"$TMP/err" &&
    "${MG[@]}" --seed 6 --sampler mirostat >"$TMP/m3" 2>>"$TMP/err"
cmp -s "$TMP/m1" "$TMP/m2" && ! cmp -s "$TMP/m1" "$TMP/m3"
ok $? "mirostat is reproducible with --seed (and another seed differs)" "$(cat "$TMP/err")"
"${MG[@]}" --seed 5 --sampler "mirostat tau=1" >"$TMP/m_lo" 2>>"$TMP/err"
"${MG[@]}" --seed 5 >"$TMP/m_plain" 2>>"$TMP/err"
python3 - "$TMP/m1" "$TMP/m_lo" "$TMP/m_plain" <<'PY' >"$TMP/surprise" 2>&1
import json, math, sys
def bits(path):
    lp = [json.loads(l)["logprob"] for l in open(path)]
    assert len(lp) == 200
    return -sum(lp) / len(lp) / math.log(2)
tau3, tau1, plain = (bits(p) for p in sys.argv[1:])
print(f"mean surprise: tau=3 {tau3:.2f} bits, tau=1 {tau1:.2f}, plain sampling {plain:.2f}")
assert abs(tau3 - 3.0) < 0.6, tau3
assert tau1 < tau3 < plain
PY
ok $? "mirostat holds the text's surprise near tau ($(cat "$TMP/surprise" | head -1))" "$(cat "$TMP/surprise")"
expect_fail "--sampler with an unknown name" 2 "$BIN" generate -m "$M" -p x --sampler nope
expect_fail "--sampler with a bad parameter" 2 "$BIN" generate -m "$M" -p x --sampler "mirostat tau=-1"
expect_fail "--sampler with --beams" 2 "$BIN" generate -m "$M" -p x --sampler mirostat --beams 2
DB=$TMP/s.db
printf 'ROMEO:\n/mirostat\n' | "$BIN" repl -m "$BUNDLED" --db "$DB" -n 8 --seed 2 -t 1 -q \
    --sampler "mirostat tau=4" >"$TMP/repl" 2>"$TMP/err"
grep -q "mirostat: tau 4 bits, eta 0.1, mu .*8 tokens" "$TMP/repl"
ok $? "repl --sampler: mirostat in use (/mirostat shows its state)" "$(cat "$TMP/repl" "$TMP/err")"
"$BIN" sessions export 1 --db "$DB" --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
js = lambda v: v if isinstance(v, dict) else json.loads(v)
assert js(d["settings"])["sampler"] == "mirostat tau=4", d["settings"]
assert any(js(t["settings"]).get("sampler") == "mirostat tau=4" for t in d["turns"] if t["role"] == "model")' 2>"$TMP/err"
ok $? "the sampler is recorded in the session" "$(cat "$TMP/err")"
printf 'JULIET:\n/mirostat\n' | "$BIN" repl -m "$BUNDLED" --db "$DB" --open 1 -n 4 -t 1 -q \
    >"$TMP/repl" 2>"$TMP/err"
grep -q "mirostat: tau 4 bits.*; 8 tokens" "$TMP/repl"
ok $? "--open continues with the session's sampler (and its -n 8)" "$(cat "$TMP/repl" "$TMP/err")"
printf 'JULIET:\n' | "$BIN" repl -m "$BUNDLED" --db "$DB" --open 1 -n 4 -t 1 -q --no-plugins \
    >"$TMP/repl" 2>"$TMP/err"
[ $? -eq 0 ] && grep -q "sampler 'mirostat tau=4' is not available" "$TMP/err"
ok $? "a session whose sampler is not loaded goes on with the built-in one, and says so" "$(cat "$TMP/err")"
printf '/sampler mirostat eta=0.5\n/sampler\n/sampler default\n/sampler\n' |
    "$BIN" repl -m "$M" --no-save -t 1 -q >"$TMP/repl" 2>"$TMP/err"
grep -q "^sampler: mirostat eta=0.5" "$TMP/repl" && grep -q "^sampler: default (built-in)" "$TMP/repl" &&
    grep -q "^  mirostat .*(plugin mirostat)" "$TMP/repl"
ok $? "/sampler picks, lists and drops a plugin sampler" "$(cat "$TMP/repl" "$TMP/err")"

# ------------------------------------------------------------ logit lens
# the lens's last row is the model's own next-token distribution: its top
# token is what greedy decoding picks next
"$BIN" generate -m "$M" -p "The" -n 2 --temp 0 -t 1 --json --top 0 >"$TMP/g2" 2>"$TMP/err"
NEXT=$(python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
t = rows[1]["text"].replace("\n", "\\n").replace("\t", "\\t")
print(repr(t)[1:-1] if False else t)' "$TMP/g2")
printf 'The\n/pane logit-lens\n/lens 3\n/pane logit-lens\n/lens 99\n' |
    "$BIN" repl -m "$M" --no-save -n 1 --temp 0 -t 1 -q >"$TMP/repl" 2>"$TMP/err"
LAST=$(awk '/^-- Logit lens/{c++} c==1 && /^L[0-9]/{l=$0} END{print l}' "$TMP/repl")
case "$LAST" in *"'$NEXT' "*) good=0 ;; *) good=1 ;; esac
[ "${LAST%%\'*}" != "$LAST" ] && [ "$(echo "$LAST" | awk '{print $1}')" = "L$(python3 -c "import json;print(json.load(open('$M/config.json'))['n_layer']-1)")" ] || good=1
ok $good "logit lens: the last layer's top token is the greedy next token ('$NEXT')" "$LAST"
grep -q "^emb " "$TMP/repl"
ok $? "logit lens: a row for the embeddings"
[ "$(awk '/^-- Logit lens/{c++} c==2 && /^L[0-9]/' "$TMP/repl" | tail -1 | grep -o "%" | wc -l)" -eq 3 ]
ok $? "/lens 3: three tokens a row" "$(tail -3 "$TMP/repl")"
grep -q "/lens needs a number of tokens from 1 to 10" "$TMP/err"
ok $? "/lens 99 is refused with the range" "$(cat "$TMP/err")"

# ------------------------------------------------------------ exporters
printf 'The\n' | "$BIN" repl -m "$M" --db "$DB" -n 6 --seed 1 -t 1 -q >/dev/null 2>&1
SID=$("$BIN" sessions list --db "$DB" --json | python3 -c 'import json,sys; print(max(s["id"] for s in json.load(sys.stdin)))')
"$BIN" sessions export "$SID" --db "$DB" --format count --plugin "$TP/test_ban.so" >"$TMP/count" 2>"$TMP/err"
N=$("$BIN" sessions export "$SID" --db "$DB" --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(len(t["tokens"]) for t in d["turns"]))')
grep -q "^turns 2 tokens $N sampled 6 attention $N$" "$TMP/count"
ok $? "a plugin exporter gets every turn and token, and each token's attention" "$(cat "$TMP/count" "$TMP/err")"
"$BIN" sessions export "$SID" --db "$DB" --format count --plugin "$TP/test_ban.so" -o "$TMP/count.txt" 2>"$TMP/err" &&
    cmp -s "$TMP/count" "$TMP/count.txt"
ok $? "-o FILE writes the same" "$(cat "$TMP/err")"
expect_fail "--format that no plugin exports" 2 "$BIN" sessions export "$SID" --db "$DB" --format nope
"$BIN" sessions export "$SID" --db "$DB" --format html -o "$TMP/s.html" 2>"$TMP/err" &&
    grep -qi '<!doctype html' "$TMP/s.html" && ! grep -Eq '(src|href)="https?:' "$TMP/s.html"
ok $? "sessions export --format html: one self-contained page" "$(head -c 300 "$TMP/err")"
if command -v chromium >/dev/null 2>&1; then
    mkdir -p "$TMP/chome"
    HOME=$TMP/chome timeout 60 chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
        --user-data-dir="$TMP/cprofile" --dump-dom "file://$TMP/s.html" >"$TMP/dom" 2>/dev/null
    grep -q '<body[^>]*data-ready="1"' "$TMP/dom" && [ "$(grep -o 'data-i="' "$TMP/dom" | wc -l)" -ge "$N" ]
    ok $? "the exported page of a real session runs in Chromium (its script built every token)"
else
    skip "the exported page of a real session runs in Chromium" "chromium not installed"
fi

# ------------------------------------------------------------ the TUI pane
if command -v tmux >/dev/null 2>&1; then
    S=$TMP/tmux.sock
    tmux -S "$S" new-session -d -s p -x 120 -y 40 \
        "env NO_COLOR=1 $BIN chat -m $M --no-save -n 4 --seed 1 -t 1 --plugin $TP/test_ban.so; sleep 30"
    sleep 1
    tmux -S "$S" send-keys -t p 'The' Enter
    sleep 1
    tmux -S "$S" send-keys -t p '/pane test-pane' Enter
    good=1
    for _ in $(seq 1 40); do
        tmux -S "$S" capture-pane -t p -p >"$TMP/screen" 2>/dev/null
        grep -q "Test pane (/pane off)" "$TMP/screen" && grep -q "test pane: 5 tokens" "$TMP/screen" &&
            { good=0; break; }
        sleep 0.25
    done
    ok $good "the TUI draws a plugin's pane in the probabilities' place" "$(cat "$TMP/screen")"
    tmux -S "$S" send-keys -t p '/pane off' Enter
    good=1
    for _ in $(seq 1 40); do
        tmux -S "$S" capture-pane -t p -p >"$TMP/screen" 2>/dev/null
        ! grep -q "Test pane" "$TMP/screen" && { good=0; break; }
        sleep 0.25
    done
    ok $good "/pane off brings the probabilities back" "$(cat "$TMP/screen")"
    tmux -S "$S" kill-server 2>/dev/null
else
    skip "the TUI draws a plugin's pane" "tmux not installed"
    skip "/pane off brings the probabilities back" "tmux not installed"
fi

tap_finish
