#!/bin/bash
# e2e_sessions.sh - `gptscope sessions` on a database of known content,
# written by tests/store_fill (no model, no chat needed): list (text and
# JSON, newest first, counts, first prompt), show, export as Markdown and as
# JSON (every token byte recovered, including half characters, candidates
# with their exact values), search (case, '%' and '_' taken literally, turn
# numbers as show prints them, one line per hit), delete, where the database
# is looked for (--db, $GPTSCOPE_DB, $XDG_DATA_HOME), and one "gptscope: ..."
# line with exit 1 (runtime) or 2 (usage) for every bad input, with reading
# commands never creating a database. TAP.
set -u

BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
FILL=${GPTSCOPE_STORE_FILL:?GPTSCOPE_STORE_FILL must point at tests/store_fill}
PY=python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
unset GPTSCOPE_DB XDG_DATA_HOME
export HOME=$TMP/home # the last default; nothing outside TMP is touched

. "$(dirname "$0")/tap.sh"

DB=$TMP/s.db
S=("$BIN" sessions --db "$DB")

# ---------------------------------------------------------------- help
"$BIN" sessions --help >"$TMP/help" 2>&1 && grep -q '^usage: gptscope sessions list' "$TMP/help" &&
    grep -q -- '--db PATH' "$TMP/help"
ok $? "sessions --help"
"$BIN" help sessions | cmp -s - "$TMP/help"
ok $? "gptscope help sessions prints the same text"
"$BIN" --help | grep -q '^  sessions '
ok $? "the command list names sessions"

# ---------------------------------------------------------------- fill
ids=$("$FILL" "$DB" 2>"$TMP/err")
ok $? "store_fill writes two sessions" "$(cat "$TMP/err")"
read -r A B <<<"$ids"
[ -n "${A:-}" ] && [ -n "${B:-}" ] || { A=1; B=2; }
# the list is sorted by last use and shows that time (it showed the creation
# time under a "newest first" sort by last use); a copy whose sessions were
# created years before their last use tells the two apart
cp "$DB" "$TMP/aged.db"
$PY -c "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute(\"UPDATE sessions SET created='2020-01-01T00:00:00.000Z'\"); db.commit()" "$TMP/aged.db"
"$BIN" sessions --db "$TMP/aged.db" list >"$TMP/l.txt" && "$BIN" sessions --db "$TMP/aged.db" list --json >"$TMP/l.json"
$PY - "$TMP/l.txt" "$TMP/l.json" <<'EOF'
import json, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
js = json.load(open(sys.argv[2]))
assert [int(r[0]) for r in rows] == [s["id"] for s in js], (rows, js)
shown = [r[1] for r in rows]
assert shown == [s["updated"][:19] for s in js], (shown, js)
assert shown == sorted(shown, reverse=True), shown
EOF
ok $? "sessions list shows the last-use time it is sorted by" "$(cat "$TMP/l.txt")"

# ---------------------------------------------------------------- list
"${S[@]}" list >"$TMP/list" 2>"$TMP/err"
ok $? "list" "$(cat "$TMP/err")"
[ "$(wc -l <"$TMP/list")" -eq 2 ] && head -1 "$TMP/list" | grep -Eq "^ *$B  " &&
    tail -1 "$TMP/list" | grep -Eq "^ *$A  [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}  tiny-gpt2 +4 turns +9 tokens  Tell me about the café's 100% menu_items$"
ok $? "list: newest first; id, created, model, turns, generated tokens, first prompt" "$(cat "$TMP/list")"
"${S[@]}" list --json >"$TMP/list.json" 2>"$TMP/err"
$PY - "$TMP/list.json" "$A" "$B" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
a, b = int(sys.argv[2]), int(sys.argv[3])
assert [s["id"] for s in v] == [b, a], v
assert [(s["turns"], s["tokens"]) for s in v] == [(2, 1), (4, 9)], v
assert v[1]["model_path"] == "/models/tiny-gpt2" and v[1]["title"].startswith("Tell me about the café"), v
for s in v:
    assert s["created"].endswith("Z") and len(s["created"]) == 24, s["created"]
PY
ok $? "list --json" "$(head -c 400 "$TMP/list.json")"

# ---------------------------------------------------------------- show
"${S[@]}" show "$A" >"$TMP/show" 2>"$TMP/err"
ok $? "show" "$(cat "$TMP/err")"
grep -q "^session $A, created .*Z, updated .*Z$" "$TMP/show" &&
    grep -qx 'model /models/tiny-gpt2 (checksum c0ffee00)' "$TMP/show" &&
    grep -qx 'settings {"temperature":0.8,"top_k":40}' "$TMP/show" &&
    grep -qx '\[0 user, 12 tokens\]' "$TMP/show" &&
    grep -qx "Tell me about the café's 100% menu_items" "$TMP/show" &&
    grep -qx '\[1 model, 7 tokens, eos, 57 ms, settings {"temperature":0.8,"top_k":40}\]' "$TMP/show" &&
    grep -qx ' It serves crême "brûlée"' "$TMP/show" && grep -qx 'Done' "$TMP/show" &&
    grep -q '^\[3 model, 2 tokens, interrupted, 12 ms' "$TMP/show"
ok $? "show: turns with role, token count, stop reason, settings; text joined across tokens" \
    "$(cat "$TMP/show")"
grep -qx "$(printf ' partial \xef\xbf\xbd')" "$TMP/show" && iconv -f UTF-8 -t UTF-8 "$TMP/show" >/dev/null
ok $? "show: a reply cut inside a character ends in U+FFFD, the output is valid UTF-8"
"${S[@]}" show "$B" >"$TMP/showb" 2>&1 && grep -q '^\[1 model, 1 tokens, unfinished, ' "$TMP/showb"
ok $? "show: a reply without a stop reason is unfinished" "$(cat "$TMP/showb")"

# ---------------------------------------------------------------- export md
"${S[@]}" export "$A" >"$TMP/a.md" 2>"$TMP/err"
ok $? "export (Markdown by default)" "$(cat "$TMP/err")"
grep -qx "# gptscope session $A" "$TMP/a.md" &&
    grep -qx -- '- model: `/models/tiny-gpt2` (checksum `c0ffee00`)' "$TMP/a.md" &&
    grep -qx -- '- settings: `{"temperature":0.8,"top_k":40}`' "$TMP/a.md" &&
    [ "$(grep -cx '## Prompt' "$TMP/a.md")" -eq 2 ] &&
    grep -qx '## Reply (7 tokens, stopped: eos)' "$TMP/a.md" &&
    grep -qx '## Reply (2 tokens, stopped: interrupted)' "$TMP/a.md" &&
    [ "$(grep -cx '```text' "$TMP/a.md")" -eq 4 ] && iconv -f UTF-8 -t UTF-8 "$TMP/a.md" >/dev/null
ok $? "export md: header with model and settings, every turn fenced, valid UTF-8" "$(cat "$TMP/a.md")"
"${S[@]}" export "$A" --format md | cmp -s - "$TMP/a.md"
ok $? "--format md is the default"

# ---------------------------------------------------------------- export json
"${S[@]}" export "$A" --format json >"$TMP/a.json" 2>"$TMP/err"
ok $? "export --format json" "$(cat "$TMP/err")"
$PY - "$TMP/a.json" "$A" <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
raw.decode("utf-8")  # strict: the file itself is valid UTF-8
d = json.loads(raw)

def exact(x):  # the stored bytes: "bytes" when the text is not whole characters
    return bytes(x["bytes"]) if "bytes" in x else x["text"].encode("utf-8")

assert d["id"] == int(sys.argv[2]) and d["model_path"] == "/models/tiny-gpt2"
assert d["model_checksum"] == "c0ffee00" and d["settings"] == {"temperature": 0.8, "top_k": 40}
t = d["turns"]
assert [x["role"] for x in t] == ["user", "model", "user", "model"]
assert [x["stop"] for x in t] == [None, "eos", None, "interrupted"]
assert t[1]["elapsed_ms"] == 57.25 and t[1]["settings"] == {"temperature": 0.8, "top_k": 40}
want = [
    [b"Tell", b" me", b" about", b" the", b" caf", b"\xc3", b"\xa9", b"'s", b" 100", b"%", b" menu", b"_items"],
    [b" It", b" serves", b" cr\xc3", b"\xaame", b' "br\xc3\xbbl\xc3\xa9e"', b"\n", b"Done"],
    [b"SECOND", b" question"],
    [b" partial", b" \xe2\x82"],
]
next_id = 100
for turn, w in zip(t, want):
    toks = turn["tokens"]
    assert [exact(k) for k in toks] == w, [exact(k) for k in toks]
    assert exact(turn) == b"".join(w), exact(turn)
    assert [k["idx"] for k in toks] == list(range(len(w)))
    assert [k["id"] for k in toks] == list(range(next_id, next_id + len(w)))
    assert [k["t_ms"] for k in toks] == [12.5 * i for i in range(len(w))]
    next_id += len(w)
    for k in toks:
        if turn["role"] == "user":
            assert "candidates" not in k and "chosen_prob" not in k, k
            continue
        assert (k["chosen_prob"], k["chosen_raw_logprob"], k["entropy_raw"], k["entropy_final"],
                k["n_kept"], k["chosen_rank"]) == (0.5, -1.25, 2.5, 0.75, 2, 0), k
        c = k["candidates"]
        assert [x["id"] for x in c] == [k["id"], 901, 902], c
        assert [exact(x) for x in c] == [exact(k), b"\xe2\x82", b'"q\n'], c
        assert [x["logit"] for x in c] == [4.0, 3.0, None], c  # -inf has no JSON number
        assert [x["raw_prob"] for x in c] == [0.5, 0.25, 0.0] and [x["prob"] for x in c] == [0.5, 0.25, 0.0]
        assert [x["kept"] for x in c] == [True, True, False], c
PY
ok $? "export json: every token's exact bytes, ids, times, sampler values and candidates" \
    "$(head -c 600 "$TMP/a.json")"
"${S[@]}" export "$A" --format json -o "$TMP/a2.json" >"$TMP/out" 2>"$TMP/err" &&
    [ ! -s "$TMP/out" ] && cmp -s "$TMP/a.json" "$TMP/a2.json"
ok $? "export -o FILE writes the same JSON and nothing on stdout" "$(cat "$TMP/err")"
"${S[@]}" export "$B" --format json | $PY -c '
import json, sys
t = json.load(sys.stdin)["turns"]
assert t[1]["stop"] is None and t[1]["settings"] is None and t[1]["tokens"][0]["text"] == " Waves", t'
ok $? "export json: an unfinished reply has stop null"

# ---------------------------------------------------------------- search
"${S[@]}" search about >"$TMP/search" 2>"$TMP/err"
[ $? -eq 0 ] && [ "$(cat "$TMP/search")" = "$B/0 user: Another session about the sea
$A/0 user: Tell me about the café's 100% menu_items" ]
ok $? "search: SESSION/TURN role: text, newest session first" "$(cat "$TMP/search" "$TMP/err")"
"${S[@]}" search 'ABOUT THE CAF' | grep -qx "$A/0 user: Tell me about the café's 100% menu_items"
ok $? "search ignores ASCII case"
"${S[@]}" search 'brûlée"' >"$TMP/search" 2>&1 &&
    [ "$(cat "$TMP/search")" = "$A/1 model:  It serves crême \"brûlée\" Done" ]
ok $? "search: a model turn, numbered as show numbers it; the newline becomes a space" \
    "$(cat "$TMP/search")"
"${S[@]}" search '100% m' | grep -q "^$A/0 user: " &&
    [ -z "$("${S[@]}" search '1%' 2>/dev/null)" ] &&
    "${S[@]}" search 'menu_items' | grep -q "^$A/0 user: " &&
    [ -z "$("${S[@]}" search 's_' 2>/dev/null)" ]
ok $? "search: '%' and '_' are plain characters, not wildcards"
"${S[@]}" search 'nothing like this' >"$TMP/out" 2>"$TMP/err"
[ $? -eq 0 ] && [ ! -s "$TMP/out" ]
ok $? "search without hits: exit 0, nothing on stdout" "$(cat "$TMP/err")"

# ---------------------------------------------------------------- where the database is
GPTSCOPE_DB=$DB "$BIN" sessions list | cmp -s - "$TMP/list"
ok $? "GPTSCOPE_DB names the database"
XDG_DATA_HOME=$TMP/xdg "$BIN" sessions list >/dev/null 2>&1
[ $? -eq 1 ] && [ ! -e "$TMP/xdg" ]
ok $? "default place missing: list fails and creates nothing"
"$FILL" "$TMP/xdg/gptscope/sessions.db" >/dev/null 2>&1 &&
    XDG_DATA_HOME=$TMP/xdg "$BIN" sessions list | grep -q 'tiny-gpt2'
ok $? "without --db: \$XDG_DATA_HOME/gptscope/sessions.db"
"$FILL" "$HOME/.local/share/gptscope/sessions.db" >/dev/null 2>&1 &&
    "$BIN" sessions list | grep -q 'tiny-gpt2'
ok $? "without --db and XDG_DATA_HOME: ~/.local/share/gptscope/sessions.db"
"$FILL" "$TMP/empty.db" --empty && "$BIN" sessions list --db "$TMP/empty.db" >"$TMP/out" 2>&1 &&
    grep -q '^no sessions in ' "$TMP/out" &&
    [ "$("$BIN" sessions list --db "$TMP/empty.db" --json)" = "[]" ]
ok $? "an empty database lists no sessions" "$(cat "$TMP/out")"

# ---------------------------------------------------------------- delete
"${S[@]}" delete "$A" >"$TMP/out" 2>"$TMP/err" && grep -qx "deleted session $A" "$TMP/out"
ok $? "delete" "$(cat "$TMP/out" "$TMP/err")"
"${S[@]}" list --json | $PY -c "import json,sys; v=json.load(sys.stdin); assert [s['id'] for s in v]==[$B], v"
ok $? "the deleted session is no longer listed"
$PY - "$DB" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("turns", "tokens", "candidates")]
assert n == [2, 6, 3], n  # session B only: 5 prompt tokens + 1 reply token with 3 candidates
assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
PY
ok $? "its turns, tokens and candidates went with it"
expect_fail "show of the deleted session" 1 "${S[@]}" show "$A"
grep -q "no session $A" "$TMP/err"
ok $? "the error says which session" "$(cat "$TMP/err")"
expect_fail "delete of a missing session" 1 "${S[@]}" delete 9999

# ---------------------------------------------------------------- bad input
expect_fail "show of a missing session" 1 "${S[@]}" show 9999
expect_fail "export of a missing session" 1 "${S[@]}" export 9999 --format json
expect_fail "no action" 2 "$BIN" sessions --db "$DB"
expect_fail "unknown action" 2 "${S[@]}" frobnicate
expect_fail "show without an id" 2 "${S[@]}" show
expect_fail "export without an id" 2 "${S[@]}" export
expect_fail "delete without an id" 2 "${S[@]}" delete
expect_fail "search without text" 2 "${S[@]}" search
expect_fail "an id that is not a number" 2 "${S[@]}" show abc
expect_fail "an id of 0" 2 "${S[@]}" show 0
expect_fail "--format other than md or json" 2 "${S[@]}" export "$B" --format pdf
expect_fail "an unknown option" 2 "${S[@]}" list --frob
expect_fail "--db without a value" 2 "$BIN" sessions list --db
expect_fail "an extra argument" 2 "${S[@]}" show "$B" "$A"
for cmd in list "show 1" "search x" "delete 1"; do
    # shellcheck disable=SC2086
    expect_fail "$cmd on a missing database" 1 "$BIN" sessions $cmd --db "$TMP/none.db"
done
[ ! -e "$TMP/none.db" ]
ok $? "no command creates a missing database (delete included)"
grep -q 'none.db' "$TMP/err"
ok $? "the error names the file" "$(cat "$TMP/err")"
echo "not a database, only some text to fill the first page of it" >"$TMP/text.db"
expect_fail "list on a text file" 1 "$BIN" sessions list --db "$TMP/text.db"
grep -q 'text.db' "$TMP/err"
ok $? "the error names the text file" "$(cat "$TMP/err")"
expect_fail "delete on a text file" 1 "$BIN" sessions delete 1 --db "$TMP/text.db"
mkdir "$TMP/dir.db"
expect_fail "a directory as --db" 1 "$BIN" sessions list --db "$TMP/dir.db"
cp "$DB" "$TMP/newer.db"
$PY -c "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute('PRAGMA user_version = 99'); db.commit()" \
    "$TMP/newer.db"
expect_fail "a database of a newer schema" 1 "$BIN" sessions list --db "$TMP/newer.db"
grep -q 'newer' "$TMP/err"
ok $? "the error says the database is newer" "$(cat "$TMP/err")"
$PY -c "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute('CREATE TABLE t (x)'); db.commit()" \
    "$TMP/foreign.db"
expect_fail "another program's database" 1 "$BIN" sessions list --db "$TMP/foreign.db"
expect_fail "export -o into a missing directory" 1 "${S[@]}" export "$B" -o "$TMP/no/such/dir/x.md"

# a WAL database on read-only media: the reading commands open it read-only
# (and immutable where its -shm cannot be made); they used to fail outright.
# As root a 0555 directory is still writable, so the commands run as nobody.
mkdir -p "$TMP/ro"
cp "$DB" "$TMP/ro/s.db"
chmod 0644 "$TMP/ro/s.db"
chmod 0555 "$TMP/ro"
chmod o+x "$TMP"
as=()
if [ "$(id -u)" = 0 ]; then
    if command -v setpriv >/dev/null; then as=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
fi
if [ "$(id -u)" != 0 ] || [ ${#as[@]} -gt 0 ]; then
    $PY -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode').fetchone()[0])" \
        "$TMP/ro/s.db" >"$TMP/jm" 2>&1
    "${as[@]}" "$BIN" sessions list --db "$TMP/ro/s.db" >"$TMP/ro.list" 2>"$TMP/ro.err"
    rc1=$?
    "${as[@]}" "$BIN" sessions export "$B" --db "$TMP/ro/s.db" >"$TMP/ro.md" 2>>"$TMP/ro.err"
    rc2=$?
    [ "$(cat "$TMP/jm")" = wal ] && [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ -s "$TMP/ro.list" ] &&
        grep -q '^# gptscope session' "$TMP/ro.md" && [ "$(ls "$TMP/ro")" = s.db ]
    ok $? "a WAL database in a read-only directory can be listed and exported" \
        "jm $(cat "$TMP/jm") rc $rc1 $rc2 $(cat "$TMP/ro.err") $(ls "$TMP/ro")"
else
    skip "a WAL database in a read-only directory can be listed and exported" "root without setpriv"
fi
chmod 0755 "$TMP/ro"

tap_finish
