#!/usr/bin/env bash
# Installs dependencies, builds gptscope and starts it. Extra arguments are
# passed to the gptscope command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
exec ./build/app/gptscope "$@"
