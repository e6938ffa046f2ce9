#!/bin/bash
# e2e_crash.sh - the session store under crashes and hostile media: a
# `gptscope repl` and a `gptscope chat` (in tmux) killed with SIGKILL in the
# middle of a long reply leave a database that passes integrity_check, that
# `sessions show` reads, and that holds every token the program had shown
# (the store commits one transaction per token before the token is shown);
# `sessions list`/`show` while another process writes (WAL); a read-only
# database refused by repl at start with one line; a full disk (a 256 KiB
# tmpfs, root only) giving one line naming the database and "full", exit 1,
# a database that still passes integrity_check; garbage, text and
# newer-schema databases refused by repl and chat and left byte for byte
# unchanged. Every wait is a polling loop with a timeout, every background
# process has a watchdog. TAP.
set -u

BIN=${GPTSCOPE_BIN:?GPTSCOPE_BIN must point at the gptscope binary}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
M=$SRC/tests/reference/models/gpt2-f32
BUNDLED=$SRC/assets/default-model
PY=python3
TMP=$(mktemp -d)
SOCK=gptscope-crash-$$
T() { tmux -L "$SOCK" -f /dev/null "$@"; }
MNT=
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    T kill-server >/dev/null 2>&1
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
unset GPTSCOPE_MODEL GPTSCOPE_DB TMUX
export XDG_DATA_HOME=$TMP/xdg HOME=$TMP/home OMP_WAIT_POLICY=passive LANG=C.UTF-8 LC_ALL=C.UTF-8
. "$(dirname "$0")/tap.sh"

if [ ! -f "$M/model.safetensors" ]; then
    echo "1..0 # SKIP reference model missing"
    exit 0
fi

# integrity DB: "ok" from PRAGMA integrity_check (opened read-write, so a
# WAL left by the killed writer is recovered as the next user would)
integrity() {
    $PY -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' "$1" 2>&1
}

# bg_repl NAME DB ARGS...: a repl reading the FIFO $TMP/NAME.in (held open
# on fd 3 of this shell... by the caller), output in $TMP/NAME.out; sets PID.
# A watchdog kills it after 60 s whatever happens.
bg_repl() {
    local name=$1 db=$2
    shift 2
    mkfifo "$TMP/$name.in"
    "$BIN" repl -m "$M" --db "$db" -t 1 --seed 3 "$@" <"$TMP/$name.in" >"$TMP/$name.out" \
        2>"$TMP/$name.err" &
    PID=$!
    PIDS+=("$PID")
    (sleep 60; kill -KILL "$PID") >/dev/null 2>&1 &
    PIDS+=("$!")
}
# wait_size FILE BYTES SECONDS: until FILE holds at least BYTES
wait_size() {
    local end=$((SECONDS + $3))
    while [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -lt "$2" ]; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
}

# ---------------------------------------------------------------- repl, kill -9
DB=$TMP/kill.db
bg_repl kill "$DB" -n 100000 --no-eos-stop
exec 3>"$TMP/kill.in"
echo 'hello world' >&3
wait_size "$TMP/kill.out" 6000 30
ok $? "a long repl reply streams" "$(head -c 300 "$TMP/kill.err")"
kill -KILL "$PID"
wait "$PID" 2>/dev/null
rc=$?
exec 3>&-
[ $rc -eq 137 ]
ok $? "the repl died of SIGKILL (rc $rc)"
cp "$TMP/kill.out" "$TMP/kill.shown" # everything it had written before dying
[ "$(integrity "$DB")" = ok ]
ok $? "after kill -9: integrity_check ok" "$(integrity "$DB")"
"$BIN" sessions show 1 --db "$DB" >"$TMP/show" 2>"$TMP/err"
rc=$?
[ $rc -eq 0 ] && grep -q '^\[1 model, [0-9]* tokens, unfinished' "$TMP/show"
ok $? "after kill -9: sessions show works, the reply is unfinished (rc $rc)" \
    "$(head -c 300 "$TMP/err") $(grep '^\[' "$TMP/show")"
# The repl prints a token's complete characters after chat_reply_step has
# stored it (one committed transaction per token), so what it showed is a
# prefix of the stored reply decoded as it decodes (U+FFFD for broken bytes;
# e2e_cli checks generate decodes like Python's "replace"). The tokens stored
# beyond what was shown are at most those whose bytes the stream held back
# (a partial character) plus the one being printed when the signal came.
$PY - "$DB" "$TMP/kill.shown" >"$TMP/py" 2>&1 <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
toks = [bytes(r[0]) for r in db.execute(
    "SELECT k.text FROM tokens k JOIN turns t ON k.turn_id = t.id"
    " WHERE t.role = 'model' ORDER BY k.idx")]
turn = bytes(db.execute("SELECT text FROM turns WHERE role = 'model'").fetchone()[0])
shown = open(sys.argv[2], "rb").read().decode("utf-8")  # strict: never half a character
assert turn == b"".join(toks), "turn text is not its tokens"
stored = turn.decode("utf-8", "replace")
assert stored.startswith(shown), (len(stored), len(shown))
# the fewest stored tokens that cover what was shown
n = 0
while b"".join(toks[:n]).decode("utf-8", "replace")[:len(shown)] != shown or \
        len(b"".join(toks[:n]).decode("utf-8", "replace")) < len(shown):
    n += 1
extra = len(toks) - n
print(f"shown {len(shown)} chars = {n} tokens, stored {len(toks)} tokens, {extra} beyond")
assert extra <= 4, extra
PY
ok $? "every token shown before the kill is stored, in order ($(tail -1 "$TMP/py"))" \
    "$(cat "$TMP/py")"
$PY -c 'import sys; sys.exit(0 if b"\0" in open(sys.argv[1],"rb").read() else 1)' "$TMP/kill.shown"
if [ $? -eq 0 ]; then
    ok 0 "a NUL byte token shown was stored too (it used to be cut at the NUL)"
else
    skip "a NUL byte token shown was stored too" "this run printed no NUL byte"
fi

# ---------------------------------------------------------------- WAL readers
DB=$TMP/wal.db
bg_repl wal "$DB" -n 100000 --no-eos-stop
exec 3>"$TMP/wal.in"
echo 'hello world' >&3
wait_size "$TMP/wal.out" 500 30
bad=0
for i in $(seq 20); do
    "$BIN" sessions list --db "$DB" >"$TMP/wl" 2>"$TMP/wle" &&
        "$BIN" sessions show 1 --db "$DB" >"$TMP/ws" 2>"$TMP/wse" &&
        grep -q 'hello world' "$TMP/wl" || { bad=1; break; }
done
kill -0 "$PID" 2>/dev/null
alive=$?
n1=$(grep -o '[0-9]* tokens' "$TMP/wl" | head -1)
sleep 0.3
n2=$("$BIN" sessions list --db "$DB" 2>/dev/null | grep -o '[0-9]* tokens' | head -1)
[ $bad -eq 0 ] && [ $alive -eq 0 ] && [ "$n1" != "$n2" ]
ok $? "sessions list and show while a repl writes: 20 x exit 0, the count grows ($n1, $n2)" \
    "$(cat "$TMP/wle" "$TMP/wse")"
kill -KILL "$PID"
wait "$PID" 2>/dev/null
exec 3>&-

# ---------------------------------------------------------------- chat, kill -9
# The bundled model writes readable lines, so the screen can be compared with
# the store; the attention pane titles the newest token: "token N" is its
# index in the session, so N + 1 tokens had been shown.
if ! command -v tmux >/dev/null 2>&1 || ! command -v pgrep >/dev/null 2>&1; then
    skip "chat killed mid-reply" "tmux or pgrep missing"
elif [ ! -f "$BUNDLED/model.safetensors" ]; then
    skip "chat killed mid-reply" "no bundled model"
else
    DB=$TMP/chat.db
    cmd=$(printf '%q ' env LANG=C.UTF-8 LC_ALL=C.UTF-8 OMP_WAIT_POLICY=passive "$BIN" chat \
        -m "$BUNDLED" --db "$DB" --history "$TMP/hist" --threads 1 --seed 5 -n 100000 --no-eos-stop)
    T new-session -d -s c -x 120 -y 40 "$cmd; echo \$? >$TMP/chat.exit; sleep 600"
    end=$((SECONDS + 20))
    until T capture-pane -p -t c 2>/dev/null | grep -q 'type a prompt'; do
        [ $SECONDS -ge $end ] && break
        sleep 0.1
    done
    T send-keys -t c 'ROMEO:' Enter
    # until the reply has filled some lines
    end=$((SECONDS + 30))
    while :; do
        T capture-pane -p -t c >"$TMP/cs" 2>/dev/null
        idx=$(grep -o 'token [0-9]* ' "$TMP/cs" | head -1 | grep -o '[0-9]*')
        [ "${idx:-0}" -ge 120 ] && break
        [ $SECONDS -ge $end ] && break
        sleep 0.05
    done
    pid=$(pgrep -P "$(T list-panes -t c -F '#{pane_pid}')" | head -1)
    T capture-pane -p -t c >"$TMP/cs"
    kill -KILL "$pid" 2>/dev/null
    end=$((SECONDS + 10))
    until [ -s "$TMP/chat.exit" ] || [ $SECONDS -ge $end ]; do sleep 0.1; done
    idx=$(grep -o 'token [0-9]* ' "$TMP/cs" | head -1 | grep -o '[0-9]*')
    [ "$(cat "$TMP/chat.exit" 2>/dev/null)" = 137 ] && [ "${idx:-0}" -ge 120 ] &&
        grep -q 'generating' "$TMP/cs"
    ok $? "chat streamed $idx+ tokens and died of SIGKILL mid-reply" "$(cat "$TMP/cs")"
    [ "$(integrity "$DB")" = ok ]
    ok $? "chat after kill -9: integrity_check ok" "$(integrity "$DB")"
    "$BIN" sessions show 1 --db "$DB" >"$TMP/show" 2>"$TMP/err" &&
        grep -q '^\[1 model, [0-9]* tokens, unfinished' "$TMP/show"
    ok $? "chat after kill -9: sessions show works, the reply is unfinished" \
        "$(head -c 300 "$TMP/err")"
    # the transcript pane is the left box: its text lines, whole ones only
    # (not the last, which may be a line being written)
    $PY - "$DB" "$TMP/cs" "$idx" >"$TMP/py" 2>&1 <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("SELECT count(*) FROM tokens").fetchone()[0]
text = b"".join(bytes(r[0]) for r in db.execute(
    "SELECT t.text FROM turns t ORDER BY t.idx")).decode("utf-8", "replace")
need = int(sys.argv[3]) + 1
assert n >= need, f"stored {n} tokens, the screen showed {need}"
lines = []
for l in open(sys.argv[2], encoding="utf-8").read().split("\n"):
    if not l.startswith("│"):
        continue
    inner = l[1:].split("│")[0].rstrip()
    lines.append(inner)
while lines and not lines[-1]:
    lines.pop()
lines = [l for l in lines[:-1] if l.strip()]
assert len(lines) >= 5, lines
missing = [l for l in lines if l.strip() not in text]
assert not missing, missing
print(f"{n} tokens stored, {need} shown, {len(lines)} screen lines found in the store")
PY
    ok $? "chat: every token on screen is stored ($(tail -1 "$TMP/py"))" "$(cat "$TMP/py")"
    T kill-server >/dev/null 2>&1
fi

# ---------------------------------------------------------------- read-only
# chmod does not stop root: the repl runs as nobody (setpriv). Decided:
# a database that cannot be written is refused at start with one line
# (before, repl started and failed at the first prompt, leaving -wal and
# -shm behind in a writable directory); --no-save is the way to run.
as=()
if [ "$(id -u)" = 0 ]; then
    command -v setpriv >/dev/null && as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
if [ "$(id -u)" = 0 ] && [ ${#as[@]} -eq 0 ]; then
    for d in "file in a read-only directory" "file in a writable directory"; do
        skip "read-only database, $d" "root without setpriv"
    done
else
    "$BIN" sessions list --db "$TMP/kill.db" >/dev/null 2>&1 # leaves no -wal behind
    chmod o+x "$TMP"
    for kind in rodir rwdir; do
        mkdir -p "$TMP/$kind"
        cp "$TMP/kill.db" "$TMP/$kind/s.db"
        chmod 0444 "$TMP/$kind/s.db"
        if [ $kind = rwdir ]; then
            chmod 0777 "$TMP/$kind"
            d="file in a writable directory"
        else
            chmod 0555 "$TMP/$kind"
            d="file in a read-only directory"
        fi
        cp "$TMP/$kind/s.db" "$TMP/ro.orig"
        expect_fail "repl on a read-only database, $d" 1 sh -c \
            "echo hi | $(printf '%q ' "${as[@]}" "$BIN") repl -m '$M' --db '$TMP/$kind/s.db' -n 3"
        grep -q "s.db: the database is read-only" "$TMP/err" && cmp -s "$TMP/ro.orig" "$TMP/$kind/s.db" &&
            [ "$(ls "$TMP/$kind")" = s.db ]
        ok $? "... says read-only, names the file, leaves it and its directory as they were" \
            "$(cat "$TMP/err"; ls "$TMP/$kind")"
        chmod 0755 "$TMP/$kind"
    done
    echo hi | "${as[@]}" "$BIN" repl -m "$M" --db "$TMP/rodir/s.db" --no-save -n 3 >"$TMP/out" 2>"$TMP/err"
    ok $? "... and --no-save runs beside it" "$(cat "$TMP/err")"
fi

# ---------------------------------------------------------------- full disk
if [ "$(id -u)" != 0 ]; then
    skip "full disk" "not root (needs a tmpfs mount)"
elif ! { mkdir -p "$TMP/mnt" && mount -t tmpfs -o size=256k tmpfs "$TMP/mnt" 2>/dev/null; }; then
    skip "full disk" "cannot mount a tmpfs here"
else
    MNT=$TMP/mnt
    # the first reply fills the disk; the repl goes on without saving
    timeout 60 sh -c "printf '%s\n' 'hello world' '/max-tokens 5' 'the second prompt' | '$BIN' repl \
        -m '$M' --db '$MNT/s.db' -t 1 --seed 3 -n 100000 --no-eos-stop" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    [ $rc -eq 1 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
        grep -q "^gptscope: repl: $MNT/s.db: .*full; the rest of this session is not saved$" "$TMP/err"
    ok $? "a full disk: exit 1 and one line naming the database, 'full', and that saving stopped (rc $rc)" \
        "$(head -c 600 "$TMP/err")"
    [ "$(integrity "$MNT/s.db")" = ok ]
    ok $? "after a full disk: integrity_check ok" "$(integrity "$MNT/s.db")"
    "$BIN" sessions show 1 --db "$MNT/s.db" >"$TMP/show" 2>&1 && grep -qx 'hello world' "$TMP/show" &&
        grep -Eq '^\[1 model, [0-9]* tokens, (error|unfinished)' "$TMP/show" &&
        ! grep -q 'second prompt' "$TMP/show"
    # the stop reason is one more write: when the disk has no room left even
    # for it, the reply reads back as unfinished, as after a kill
    ok $? "after a full disk: what was stored reads back, the cut reply says error (or unfinished when even that could not be written), nothing after it" \
        "$(grep '^\[' "$TMP/show")"
    [ "$(tail -c 1 "$TMP/out" | od -An -c | tr -d ' ')" = '\n' ] && [ "$(wc -l <"$TMP/out")" -ge 2 ]
    ok $? "... and the second prompt was still answered" "$(tail -c 200 "$TMP/out" | od -c | tail -3)"
    umount "$MNT" && MNT=
fi

# ---------------------------------------------------------------- foreign files
# tests/e2e_sessions.sh covers the sessions commands; here repl and chat.
head -c 8192 /dev/urandom >"$TMP/random.db"
echo "not a database, only some text to fill the first page of it" >"$TMP/text.db"
cp "$TMP/kill.db" "$TMP/newer.db"
$PY -c "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute('PRAGMA user_version = 99'); db.commit(); db.close()" \
    "$TMP/newer.db"
for f in random text newer; do
    cp "$TMP/$f.db" "$TMP/$f.orig"
    expect_fail "repl on a $f .db" 1 sh -c "echo hi | '$BIN' repl -m '$M' --db '$TMP/$f.db' -n 3"
    want="not a database"
    [ $f = newer ] && want="newer gptscope"
    grep -q "$f.db: .*$want" "$TMP/err" && cmp -s "$TMP/$f.db" "$TMP/$f.orig" &&
        [ ! -e "$TMP/$f.db-wal" ] && [ ! -e "$TMP/$f.db-journal" ]
    ok $? "... says '$want' and leaves it byte for byte" "$(cat "$TMP/err")"
    expect_fail "repl --open 1 on a $f .db" 1 "$BIN" repl -m "$M" --db "$TMP/$f.db" --open 1
    cmp -s "$TMP/$f.db" "$TMP/$f.orig"
    ok $? "... unchanged"
done
if command -v tmux >/dev/null 2>&1; then
    for f in random newer; do
        cmd=$(printf '%q ' "$BIN" chat -m "$M" --db "$TMP/$f.db" --history "$TMP/hist")
        T new-session -d -s "f$f" -x 100 -y 30 "$cmd 2>$TMP/chat_$f.err; echo \$? >$TMP/chat_$f.exit"
        end=$((SECONDS + 20))
        until [ -s "$TMP/chat_$f.exit" ] || [ $SECONDS -ge $end ]; do sleep 0.1; done
        [ "$(cat "$TMP/chat_$f.exit" 2>/dev/null)" = 1 ] && [ "$(wc -l <"$TMP/chat_$f.err")" -eq 1 ] &&
            grep -q "^gptscope: .*$f.db" "$TMP/chat_$f.err" && cmp -s "$TMP/$f.db" "$TMP/$f.orig"
        ok $? "chat on a $f .db: exit 1, one line, the file unchanged" \
            "exit $(cat "$TMP/chat_$f.exit" 2>/dev/null) $(cat "$TMP/chat_$f.err")"
    done
    T kill-server >/dev/null 2>&1
else
    skip "chat on a random .db" "no tmux"
    skip "chat on a newer .db" "no tmux"
fi

tap_finish
