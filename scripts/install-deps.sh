#!/usr/bin/env bash
# Installs the Debian packages gptscope builds and tests with. Idempotent.
set -euo pipefail
pkgs=(build-essential meson ninja-build pkg-config python3
      libopenblas-openmp-dev libcjson-dev libpcre2-dev libutf8proc-dev
      libncurses-dev libreadline-dev libsqlite3-dev tmux
      chromium clang libclang-rt-14-dev libomp-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
