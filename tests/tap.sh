# tap.sh - TAP helpers shared by the end-to-end scripts (sourced, not run).
# The sourcing script sets TMP (a scratch directory) first, calls ok/skip/
# check/expect_fail for each test, and ends with tap_finish.
#
# expect_fail's contract is the product's error rule: a bad input gives
# exactly one stderr line "gptscope: ..." and a clean non-zero exit.
# Set TAP_QUIET_STDOUT=0 for commands that may print progress on stdout first.

n=0
failed=0
: "${TAP_QUIET_STDOUT:=1}"

ok() { # ok STATUS DESCRIPTION [DIAGNOSTIC]
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=$((failed + 1))
        [ $# -ge 3 ] && printf '%s\n' "$3" | sed 's/^/# /'
    fi
}

skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

check() { # check DESCRIPTION CMD...: passes when CMD exits 0 (output discarded)
    local d=$1
    shift
    if "$@" >/dev/null 2>&1; then ok 0 "$d"; else ok 1 "$d"; fi
}

# expect_fail DESC WANT_RC CMD...: exit code WANT_RC, or "any" for any code in
# 1..127; exactly one stderr line "gptscope: ..."; nothing on stdout unless
# TAP_QUIET_STDOUT=0.
expect_fail() {
    local desc=$1 want=$2
    shift 2
    "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    local rc=$? good=1
    if [ "$want" = any ]; then
        [ $rc -ge 1 ] && [ $rc -lt 128 ] || good=0
    else
        [ $rc -eq "$want" ] || good=0
    fi
    [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q '^gptscope: ' "$TMP/err" || good=0
    [ "$TAP_QUIET_STDOUT" = 1 ] && [ -s "$TMP/out" ] && good=0
    ok $((1 - good)) "$desc (rc $rc)" "stderr: $(head -c 400 "$TMP/err")"
}

# expect_fail_late DESC WANT_RC CMD...: as expect_fail for commands that print
# progress on stderr first: the error is the one and last "gptscope: " line.
expect_fail_late() {
    local desc=$1 want=$2
    shift 2
    "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    local rc=$? good=1
    [ $rc -eq "$want" ] || good=0
    [ "$(grep -c '^gptscope: ' "$TMP/err")" -eq 1 ] && tail -1 "$TMP/err" | grep -q '^gptscope: ' ||
        good=0
    ok $((1 - good)) "$desc (rc $rc)" "stderr: $(head -c 400 "$TMP/err")"
}

tap_finish() { # prints the plan; the script's exit status says whether all passed
    echo "1..$n"
    [ $failed -eq 0 ]
}
