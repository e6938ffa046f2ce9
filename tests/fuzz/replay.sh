#!/bin/bash
# replay.sh TARGET REPLAY_BIN [STORE_FILL] - the ordinary suite's run of a
# fuzz target: its seed corpus (made now by make_corpus.py) and every
# regression input in tests/fuzz/regressions/TARGET, each run once through
# the target's checks by its replay binary (replay_main.c). TAP.
set -u
T=$1 BIN=$2 FILL=${3:-}
SRC=${GPTSCOPE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if ! python3 "$SRC/tests/fuzz/make_corpus.py" "$TMP" --target "$T" ${FILL:+--store-fill "$FILL"} \
        >"$TMP/log" 2>&1; then
    echo "not ok 1 - the seed corpus of $T"
    sed 's/^/# /' "$TMP/log"
    echo "1..1"
    exit 1
fi
mkdir -p "$TMP/none"
R=$SRC/tests/fuzz/regressions/$T
[ -d "$R" ] || R=$TMP/none
exec "$BIN" "$TMP/$T" "$R"
