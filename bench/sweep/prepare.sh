#!/usr/bin/env bash
# prepare.sh - writes what sweep.py needs into DIR: the corpus split as the
# trainer splits it (the last 10% from the first line break after 90% of the
# bytes held out), a BPE vocabulary per size learned from the training part
# by `gptscope bpe-train`, the deterministic ids of both parts, and the
# sweep_segments tool with its shared libraries (for a machine without them).
#
#   bash bench/sweep/prepare.sh BUILD CORPUS DIR [VOCAB...]   (default vocabularies: 1024 2048 4096)
set -euo pipefail
build=$1 corpus=$2 dir=$3
shift 3
vocabs=${*:-1024 2048 4096}
mkdir -p "$dir/bin" "$dir/lib"
python3 - "$corpus" "$dir" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
cut = data.index(b"\n", int(len(data) * 0.9)) + 1
open(sys.argv[2] + "/train.txt", "wb").write(data[:cut])
open(sys.argv[2] + "/heldout.txt", "wb").write(data[cut:])
print(f"{len(data)} bytes: {cut} training, {len(data) - cut} held out")
PY
cp "$build/bench/sweep_segments" "$dir/bin/"
# the libraries it needs beyond glibc's own
ldd "$build/bench/sweep_segments" | awk '/=> \// {print $3}' |
  grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' | xargs -r -I{} cp -L {} "$dir/lib/"
for v in $vocabs; do
  "$build/app/gptscope" bpe-train "$dir/train.txt" --vocab-size "$v" -o "$dir/tok$v" | tail -1
  "$build/bench/sweep_segments" "$dir/tok$v" "$dir/train.txt" 0 1 "$dir/v${v}_det"
  "$build/bench/sweep_segments" "$dir/tok$v" "$dir/heldout.txt" 0 1 "$dir/v${v}_val"
done
du -sh "$dir"
