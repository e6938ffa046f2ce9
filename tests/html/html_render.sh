#!/usr/bin/env bash
# html_render.sh - the html-export page as a browser shows it: writes the
# sample session's page (test_html_export --write), has a headless Chromium
# screenshot it and dump its DOM after the page's script ran, and leaves the
# judging to check_render.py (TAP). Skips without chromium or python3.
#
#   html_render.sh TEST_HTML_EXPORT PLUGIN.so CHECK_RENDER.py
set -u
if ! command -v chromium > /dev/null 2>&1; then
    echo "1..0 # SKIP chromium not installed"
    exit 0
fi
if ! command -v python3 > /dev/null 2>&1; then
    echo "1..0 # SKIP python3 not installed"
    exit 0
fi
test_bin=$1 plugin=$2 check=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
page=$tmp/page.html
if ! "$test_bin" "$plugin" --write "$page" > "$tmp/write.log" 2>&1; then
    echo "not ok 1 - the sample page is written"
    sed 's/^/# /' "$tmp/write.log"
    echo "1..1"
    exit 1
fi
mkdir -p "$tmp/home"
# Root in a container: hence --no-sandbox; a throwaway profile and HOME.
chrome() {
    HOME=$tmp/home timeout 60 chromium --headless=new --no-sandbox --disable-gpu \
        --hide-scrollbars --no-first-run --user-data-dir="$tmp/profile" \
        --window-size=1200,900 "$@"
}
# A hover on token 22 (a script appended to a copy: the page's own CSP
# allows inline scripts), and a copy whose CSP forbids scripts (the marker
# must then be missing: the policy is in force).
sed 's|</body>|<script>document.querySelector("[data-i=\\"22\\"]").dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));</script></body>|' \
    "$page" > "$tmp/hover.html"
sed "s|script-src 'unsafe-inline'|script-src 'none'|" "$page" > "$tmp/blocked.html"
chrome --screenshot="$tmp/shot.png" "file://$page" > "$tmp/shot.log" 2>&1
echo $? > "$tmp/shot.rc"
for v in page hover blocked; do
    chrome --dump-dom "file://$tmp/$v.html" > "$tmp/dom-$v.html" 2> "$tmp/dom-$v.log"
    echo $? > "$tmp/dom-$v.rc"
done
python3 "$check" "$page" "$tmp"
