#!/bin/bash
# e2e_branch.sh - sessions as trees, end to end on the tiny reference model:
# the REPL's /fork N K continues from candidate K of token N (the forked
# reply equals `gptscope generate` greedy on the forked history), /branches
# lists both, /branch B switches and new turns continue it, --open ID
# --branch B; `sessions tree` (text and JSON), `show --branch`, and
# `export` (Markdown and JSON) holding every branch; replay --branch in
# tmux; a database written by the release before branching (schema 3) read
# as it is and migrated in place, its transcript unchanged; and one
# "gptscope: ..." line for each bad request. TAP.
set -u

BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
M=$SRC/tests/reference/models/gpt2-f32
TMP=$(mktemp -d)
S=$TMP/tmux.sock
trap 'tmux -S "$S" kill-server 2>/dev/null; rm -rf "$TMP"' EXIT
unset GPTSCOPE_MODEL GPTSCOPE_DB
export XDG_DATA_HOME=$TMP/xdg HOME=$TMP/home OMP_WAIT_POLICY=passive
PY=python3
. "$(dirname "$0")/tap.sh"

if [ ! -f "$M/model.safetensors" ]; then
    echo "1..0 # SKIP reference model missing"
    exit 0
fi
DB=$TMP/s.db
R=("$BIN" repl -m "$M" --db "$DB" -t 1 --seed 3 --temp 0 -n 8 --no-plugins)

# ---------------------------------------------------------------- fork in the REPL
printf 'hello world\n/cands 5\n/fork 6 2\n/branches\n' | "${R[@]}" >"$TMP/out" 2>"$TMP/err"
ok $? "repl: a reply, then /fork 6 2 and /branches" "$(cat "$TMP/err")"
grep -q '^gptscope: note: branch 1: token 6 is ' "$TMP/err"
ok $? "/fork says which branch and which token" "$(cat "$TMP/err")"
grep -q '^2 branches' "$TMP/out" && grep -q '^\* *1 *<- 0 at token 6 (turn 1): .*(rank 2)' "$TMP/out"
ok $? "/branches lists both, the fork current, its rank 2" "$(cat "$TMP/out")"
"$BIN" sessions export 1 --db "$DB" --format json >"$TMP/s.json" 2>"$TMP/err"
ok $? "export --format json" "$(cat "$TMP/err")"
# the forked reply: its first tokens are the old ones, token 6 is candidate
# 2 of the old token 6's distribution, and the rest is what greedy
# generation makes of that history
$PY - "$TMP/s.json" >"$TMP/check" 2>&1 <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["branch"] == 1 and d["n_branches"] == 2, (d["branch"], d["n_branches"])
b = {x["branch"]: x for x in d["branches"]}
old = b[0]["own_turns"][1]["tokens"]
new = d["turns"][1]["tokens"]
n_user = len(d["turns"][0]["tokens"])
k = 6 - n_user
assert [t["id"] for t in new[:k]] == [t["id"] for t in old[:k]], "shared part"
assert new[k]["id"] == old[k]["candidates"][1]["id"], "candidate 2"
assert new[k]["chosen_rank"] == 1 and new[k]["candidates"] == old[k]["candidates"]
assert new[k]["id"] != old[k]["id"]
assert b[1]["parent"] == 0 and b[1]["fork_index"] == 6 and b[1]["fork_turn"] == 1 and b[1]["fork_at"] == k
assert b[1]["token"]["id"] == new[k]["id"] and b[1]["instead_of"]["id"] == old[k]["id"]
assert len(new) == k + 8, len(new)
ids = [t["id"] for t in d["turns"][0]["tokens"]] + [t["id"] for t in new[:k + 1]]
print(" ".join(map(str, ids)))
print(" ".join(str(t["id"]) for t in new[k + 1:]))
PYEOF
ok $? "the forked reply keeps the shared tokens and takes candidate 2 at token 6" "$(cat "$TMP/check")"
HIST=$(sed -n 1p "$TMP/check")
WANT=$(sed -n 2p "$TMP/check")
GOT=$("$BIN" generate -m "$M" --ids "$HIST" --temp 0 -n 7 --json -t 1 2>/dev/null |
    $PY -c 'import json,sys; print(" ".join(str(json.loads(l)["id"]) for l in sys.stdin if l.strip()))' 2>&1)
[ -n "$WANT" ] && [ "$GOT" = "$WANT" ]
ok $? "and the rest is what generate makes of the forked history, greedy" "want '$WANT' got '$GOT'"

# ---------------------------------------------------------------- switching
printf '/branch 0\n/branches\n again\n' | "${R[@]}" --open 1 >"$TMP/out" 2>"$TMP/err"
ok $? "repl --open 1: /branch 0, then a prompt" "$(cat "$TMP/err")"
grep -q '^branch 0 of session 1' "$TMP/out" && grep -q '^\* 0 ' "$TMP/out"
ok $? "/branch 0 says so and /branches marks it" "$(cat "$TMP/out")"
"$BIN" sessions show 1 --db "$DB" >"$TMP/show0" 2>&1 && grep -q '^branch 0 of 2' "$TMP/show0" &&
    grep -q '^\[3 model' "$TMP/show0"
ok $? "the new turns continue branch 0 (show: branch 0 of 2, turns 0..3)" "$(cat "$TMP/show0")"
"$BIN" sessions show 1 --db "$DB" --branch 1 >"$TMP/show1" 2>&1 && grep -q '^branch 1 of 2' "$TMP/show1" &&
    ! grep -q '^\[2 ' "$TMP/show1"
ok $? "show --branch 1: the fork, two turns" "$(cat "$TMP/show1")"
printf '/branches\n' | "${R[@]}" --open 1 --branch 1 >"$TMP/out" 2>"$TMP/err" && grep -q '^\* *1 ' "$TMP/out"
ok $? "repl --open 1 --branch 1 continues branch 1" "$(cat "$TMP/out" "$TMP/err")"

# ---------------------------------------------------------------- sessions tree, export
"$BIN" sessions tree 1 --db "$DB" >"$TMP/tree" 2>"$TMP/err" &&
    grep -q '^session 1: 2 branches' "$TMP/tree" && grep -q '^ *0 *the first line; 4 turns' "$TMP/tree" &&
    grep -q '^\* *1 *<- 0 at token 6 (turn 1)' "$TMP/tree"
ok $? "sessions tree: both branches, where 1 forked, the current one marked" "$(cat "$TMP/tree" "$TMP/err")"
"$BIN" sessions tree 1 --db "$DB" --json | $PY -c '
import json, sys
v = json.load(sys.stdin)
assert [b["branch"] for b in v] == [0, 1] and v[1]["parent"] == 0 and v[1]["current"]
assert v[0]["n_turns"] == 4 and v[1]["n_turns"] == 2 and v[1]["rank"] == 2
assert v[1]["sum_logprob"] < 0 and v[1]["n_generated"] == 8' 2>"$TMP/err"
ok $? "sessions tree --json" "$(cat "$TMP/err")"
"$BIN" sessions export 1 --db "$DB" >"$TMP/s.md" 2>&1 && grep -q '^## Branch 0 (the first line)' "$TMP/s.md" &&
    [ "$(grep -c '^### Reply' "$TMP/s.md")" -eq 2 ]
ok $? "the Markdown export holds the other branch too" "$(head -c 600 "$TMP/s.md")"
"$BIN" sessions export 1 --db "$DB" --format json | $PY -c '
import json, sys
d = json.load(sys.stdin)
assert len(d["branches"]) == 2 and [len(b["own_turns"]) for b in d["branches"]] == [4, 1]' 2>"$TMP/err"
ok $? "the JSON export holds every branch's own turns (4, and the forked reply)" "$(cat "$TMP/err")"

# ---------------------------------------------------------------- refusals
expect_fail "show --branch 9: no such branch" 1 "$BIN" sessions show 1 --db "$DB" --branch 9
expect_fail "show --branch x: not a number" 2 "$BIN" sessions show 1 --db "$DB" --branch x
expect_fail "tree of a session that is not there" 1 "$BIN" sessions tree 7 --db "$DB"
expect_fail "repl --branch without --open" 2 "$BIN" repl -m "$M" --db "$DB" --branch 1
expect_fail "repl --open 1 --branch 5" 1 "$BIN" repl -m "$M" --db "$DB" --open 1 --branch 5
printf '/fork 0 2\n/fork 6\n/fork 6 99\n/branch 4\n' | "${R[@]}" --open 1 >"$TMP/out" 2>"$TMP/err"
[ "$(grep -c '^gptscope: ' "$TMP/err")" -eq 4 ] && grep -q 'part of a prompt' "$TMP/err" &&
    grep -q '/fork needs N K' "$TMP/err" && grep -q 'no candidate 99' "$TMP/err" &&
    grep -q 'no branch 4' "$TMP/err"
ok $? "/fork on a prompt token, without K, a missing candidate, /branch 4: one line each" "$(cat "$TMP/err")"
printf 'hi\n/fork 3 2\n/branches\n/branch 0\n' | "$BIN" repl -m "$M" --no-save -t 1 --seed 1 --temp 0 -n 4 \
    >"$TMP/out" 2>"$TMP/err"
grep -q 'not stored, so the old branch is gone' "$TMP/err" && grep -q 'one branch' "$TMP/out" &&
    grep -q 'no other branch' "$TMP/err"
ok $? "--no-save: /fork works, and says the old branch is not kept" "$(cat "$TMP/out" "$TMP/err")"

# ---------------------------------------------------------------- a schema-3 database
cp "$SRC/tests/fixtures/sessions-v3.db" "$TMP/v3.db"
"$BIN" sessions show 1 --db "$TMP/v3.db" >"$TMP/v3show" 2>"$TMP/err" &&
    cmp -s "$TMP/v3show" "$SRC/tests/fixtures/sessions-v3.show1.txt"
ok $? "a schema-3 database (the release before branching) shows as that release showed it" \
    "$(diff "$TMP/v3show" "$SRC/tests/fixtures/sessions-v3.show1.txt" | head -20)"
[ "$($PY -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA user_version').fetchone()[0])" "$TMP/v3.db")" = 3 ]
ok $? "reading it changed nothing (still schema 3)"
"$BIN" sessions tree 1 --db "$TMP/v3.db" >"$TMP/out" 2>&1 && grep -q '^\* 0 *the first line; 4 turns, 37 tokens' "$TMP/out"
ok $? "its tree is one branch" "$(cat "$TMP/out")"
printf '/fork 5 2\n' | "$BIN" repl -m "$SRC/assets/default-model" --db "$TMP/v3.db" --open 1 -t 1 --seed 1 -n 3 \
    --no-plugins >"$TMP/out" 2>"$TMP/err"
ok $? "repl --open on it, and a fork" "$(cat "$TMP/err")"
[ "$($PY -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA user_version').fetchone()[0])" "$TMP/v3.db")" = 4 ]
ok $? "the writer migrated it in place to schema 4"
"$BIN" sessions show 1 --db "$TMP/v3.db" --branch 0 >"$TMP/v4show" 2>&1
grep -v '^branch 0 of 2 ' "$TMP/v4show" | sed 's/updated [^ ]*$//' >"$TMP/a"
sed 's/updated [^ ]*$//' "$SRC/tests/fixtures/sessions-v3.show1.txt" >"$TMP/b"
cmp -s "$TMP/a" "$TMP/b"
ok $? "after the migration branch 0 is the old transcript, turn for turn" "$(diff "$TMP/a" "$TMP/b" | head)"
"$BIN" sessions export 1 --db "$TMP/v3.db" --branch 0 --format json >"$TMP/v4.json" 2>&1
$PY - "$TMP/v4.json" "$SRC/tests/fixtures/sessions-v3.export1.json" <<'PYEOF' >"$TMP/err" 2>&1
import json, sys
new, old = (json.load(open(p)) for p in sys.argv[1:])
assert new["turns"] == old["turns"], "turns differ"
assert len(new["branches"]) == 2
PYEOF
ok $? "and its JSON export's turns equal the old release's, every token and candidate" "$(cat "$TMP/err")"

# ---------------------------------------------------------------- replay a branch (tmux)
if ! command -v tmux >/dev/null 2>&1; then
    skip "replay --branch 0 plays the old reply" "tmux not installed"
else
    W0=$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["branches"][0]["own_turns"][1]["text"].split()[0])' "$TMP/s.json")
    tmux -S "$S" new-session -d -s r -x 120 -y 40 \
        "'$BIN' replay 1 --db '$DB' -m '$M' --branch 0 --speed 0 --no-plugins -t 1; sleep 30"
    found=1
    for i in $(seq 1 50); do
        tmux -S "$S" capture-pane -t r -p >"$TMP/screen" 2>/dev/null
        grep -qF -- "$W0" "$TMP/screen" && grep -q 'again' "$TMP/screen" && { found=0; break; }
        sleep 0.2
    done
    ok $found "replay --branch 0 plays branch 0 (its reply and later prompt)" "$(cat "$TMP/screen")"
    tmux -S "$S" kill-server 2>/dev/null
fi
tap_finish
