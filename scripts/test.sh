#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: install dependencies,
# build (warnings are errors), run every test, then the same tests again in an
# AddressSanitizer + UndefinedBehaviorSanitizer build, and a short run of
# every fuzz target (GPTSCOPE_FUZZ_SECONDS, default 25; 0 skips). Ends with the line
# "N passed, N failed" counted from meson's own test logs.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

status=0
run_build() { # dir, extra meson options...
  local dir=$1; shift
  rm -rf "$dir"
  meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  # meson's configuration summary
  sed -n '/^gptscope /,$p' "$dir.setup.log"
  ninja -C "$dir" || return 1
  meson test -C "$dir" --print-errorlogs --num-processes 2 || return 1
}

run_build build-test || status=1
# The sanitizer build checks memory and UB on the same tests; the release
# build's bench is not needed there.
run_build build-san -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false || status=1

# Short fuzz runs (about 25 s a target; scripts/fuzz.sh), each target one
# result in the count: it passes when it ran and found no defect.
fuzz_secs=${GPTSCOPE_FUZZ_SECONDS:-25}
rm -f build-fuzz/fuzz-results.json
if [ "$fuzz_secs" != 0 ]; then
  echo "fuzz: every target for ${fuzz_secs}s"
  bash scripts/fuzz.sh "$fuzz_secs" || status=1
fi

python3 - build-test build-san <<'PY'
import json, os, sys
passed = failed = skipped = 0
fuzz = "build-fuzz/fuzz-results.json"
if os.environ.get("GPTSCOPE_FUZZ_SECONDS", "25") != "0":
    if os.path.exists(fuzz):
        for r in json.load(open(fuzz)):
            if r["defects"] == 0 and r["executions"] > 0: passed += 1
            else: failed += 1
    else:
        failed += 1  # the fuzz build itself failed
for d in sys.argv[1:]:
    log = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        failed += 1  # the build itself failed: count it
        continue
    for line in open(log):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"): passed += 1
        elif r == "SKIP": skipped += 1
        else: failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
rc=$?
[ $status -ne 0 ] && rc=1
exit $rc
