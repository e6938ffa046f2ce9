#!/bin/bash
# compare.sh: gptscope against the PyTorch peer, side by side in one run.
#
# The 2-core machine is shared and noisy (the same binary varies by up to
# 2x between runs), so engines are only compared inside one invocation:
# each round runs gptscope f32, gptscope bf16 and bench/peer_torch.py f32 on
# the same model and prompt, in an order that flips every round so slow
# drift does not favour one engine.  The table gives the best and the median
# over all samples, and the decode bound from the measured sgemv bandwidth.
#
# usage: bench/compare.sh [-m F32_DIR] [-b BF16_DIR] [-r ROUNDS] [-k RUNS]
#          [-n NEW] [-t THREADS] [-B BUILD_DIR] [-T] [-g GGML_GPT2_BIN -f GGML_F32 -F GGML_F16]
#
# -T adds peer_torch.py with bf16 weights and bf16 compute (oneDNN).
# -g/-f/-F add ggml's examples/gpt-2 (gpt-2-backend, built outside this tree;
# see bench/README.md) with the same model converted to its f32/f16 files.
# It must print "PEER_PREFILL_US <us>" after its first eval (a one-line local
# instrumentation, also in the README): its own summary lumps prefill and
# decode together.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
f32_dir=/tmp/gpt2-124m
bf16_dir=/tmp/gpt2-124m-bf16
rounds=3        # rounds of (gptscope f32, gptscope bf16, torch f32)
runs=3          # samples per engine per round
n_new=128
prompt_len=128
threads=2
build="$root/build"
python=/usr/bin/python3
ggml_bin=""
ggml_f32=""
ggml_f16=""
torch_bf16=0

usage() { sed -n '11,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "m:b:r:k:n:t:B:g:f:F:Th" opt; do
    case $opt in
        m) f32_dir=$OPTARG ;; b) bf16_dir=$OPTARG ;; r) rounds=$OPTARG ;;
        k) runs=$OPTARG ;; n) n_new=$OPTARG ;; t) threads=$OPTARG ;;
        B) build=$OPTARG ;; g) ggml_bin=$OPTARG ;; f) ggml_f32=$OPTARG ;;
        F) ggml_f16=$OPTARG ;; T) torch_bf16=1 ;; *) usage ;;
    esac
done

gptscope="$build/app/gptscope"
bench="$build/bench/bench"
for f in "$gptscope" "$bench"; do
    [[ -x $f ]] || { echo "compare.sh: $f: not built (meson setup build && ninja -C build)" >&2; exit 1; }
done
for d in "$f32_dir" "$bf16_dir"; do
    [[ -f $d/model.safetensors ]] || { echo "compare.sh: $d/model.safetensors: missing" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The prompt: token ids spread over the vocabulary, the same rule as peer_torch.py.
ids=$("$python" -c "print(' '.join(str((i * 7919) % 50000) for i in range($prompt_len)))")

# One gptscope run -> "prefill_ms decode_tok_s" appended to $work/<label>.
run_gptscope() {  # label model_dir
    local line
    line=$("$gptscope" generate -m "$2" --ids "$ids" -n "$n_new" --temp 0 --no-eos-stop \
           --stats --threads "$threads" 2>&1 >/dev/null | grep 'stats:')
    sed -E 's/.*prefill [0-9]+ tokens in ([0-9.]+) ms.*generated [0-9]+ tokens in [0-9.]+ s \(([0-9.]+) tokens\/s\).*/\1 \2/' \
        <<<"$line" >>"$work/$1"
}

# One peer_torch.py process with $runs timed repeats; it prints its per-run
# figures with --samples, one "prefill_ms decode_tok_s" line each.
run_torch() {  # label model_dir [extra flags]
    "$python" "$here/peer_torch.py" -m "$2" --ids "$ids" -n "$n_new" --repeats "$runs" \
        --samples "$work/$1" "${@:3}" >/dev/null
}

# One ggml gpt-2-backend run.  Its tokenizer is its own, so the prompt is
# text that it splits into exactly $prompt_len tokens (" hello" is one GPT-2
# token); -b makes the prompt one batch.  Decode = the single-token evals
# after the prompt, timed by its predict total minus the first eval.
run_ggml() {  # label model_file
    local out pre tot
    out=$("$ggml_bin" -m "$2" -p "$ggml_prompt" -n $((n_new + 1)) -b "$prompt_len" \
          -t "$threads" --ignore-eos 2>&1)
    pre=$(sed -nE 's/^PEER_PREFILL_US ([0-9]+) tokens.*/\1/p' <<<"$out")
    tot=$(sed -nE 's/.*predict time = *([0-9.]+) ms.*/\1/p' <<<"$out")
    [[ -n $pre && -n $tot ]] || { echo "compare.sh: $ggml_bin: no PEER_PREFILL_US / predict time in its output" >&2; return 1; }
    awk -v p="$pre" -v t="$tot" -v n="$n_new" 'BEGIN { printf "%.3f %.4f\n", p / 1e3, n / ((t - p / 1e3) / 1e3) }' >>"$work/$1"
}

bandwidth() {  # best sgemv GB/s at $threads threads over a 1 GiB matrix
    "$bench" --no-model --threads "$threads" 2>/dev/null |
        sed -nE 's/.*sgemv [0-9x]+ f32 \([0-9.]+ GB\): ([0-9.]+) GB\/s.*/\1/p' | head -1
}

# Bytes of weights read per decoded token: every tensor once, except the
# position table (one row per token); the tied wte is read once as the
# output matrix.  Same rule as ../shared/PEERS.md.
weight_bytes() {  # model_dir
    "$python" - "$1/model.safetensors" <<'EOF'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    h = json.loads(f.read(n))
print(sum(v["data_offsets"][1] - v["data_offsets"][0] for k, v in h.items()
          if k != "__metadata__" and not k.endswith("wpe.weight")))
EOF
}

echo "compare.sh: $rounds rounds x $runs runs, prompt $prompt_len ids, $n_new new tokens, $threads threads"
echo "  f32 model $f32_dir, bf16 model $bf16_dir"
uptime | sed 's/^/  load:/'

# Greedy agreement: the peer is independent code, so matching continuations
# show both engines compute the same model (and that the timings are of
# equal work).
"$python" "$here/peer_torch.py" -m "$f32_dir" --ids "$ids" -n 32 --repeats 1 \
    --ids-out "$work/torch.ids" >/dev/null
"$gptscope" generate -m "$f32_dir" --ids "$ids" -n 33 --temp 0 --no-eos-stop --json --top 1 \
    --threads "$threads" 2>/dev/null | sed -E 's/^\{"id":([0-9]+).*/\1/' | tr '\n' ' ' >"$work/gptscope.ids"
if [[ $(tr -s ' \n' '  ' <"$work/torch.ids" | sed 's/ *$//') == $(sed 's/ *$//' "$work/gptscope.ids") ]]; then
    echo "  greedy check: gptscope f32 and peer_torch agree on 33 tokens"
else
    echo "  greedy check: MISMATCH"
    echo "    torch:    $(cat "$work/torch.ids")"
    echo "    gptscope: $(cat "$work/gptscope.ids")"
fi

ggml_prompt=$("$python" -c "print(' hello' * $prompt_len)")
if [[ -n $ggml_bin ]]; then
    [[ -x $ggml_bin && -f $ggml_f32 && -f $ggml_f16 ]] || { echo "compare.sh: -g needs -f and -F model files" >&2; exit 1; }
    echo "  ggml: $ggml_bin ($ggml_f32, $ggml_f16)"
fi

bw1=$(bandwidth)
for ((r = 1; r <= rounds; r++)); do
    order=("gptscope-f32" "gptscope-bf16" "torch-f32")
    ((torch_bf16)) && order+=("torch-bf16")
    [[ -n $ggml_bin ]] && order+=("ggml-f32" "ggml-f16")
    if ((r % 2 == 0)); then  # reverse the order on even rounds
        rev=()
        for ((i = ${#order[@]} - 1; i >= 0; i--)); do rev+=("${order[i]}"); done
        order=("${rev[@]}")
    fi
    for e in "${order[@]}"; do
        case $e in
            gptscope-f32) for ((k = 0; k < runs; k++)); do run_gptscope "$e" "$f32_dir"; done ;;
            gptscope-bf16) for ((k = 0; k < runs; k++)); do run_gptscope "$e" "$bf16_dir"; done ;;
            torch-f32) run_torch "$e" "$f32_dir" ;;
            torch-bf16) run_torch "$e" "$bf16_dir" --dtype bf16 ;;
            ggml-f32) for ((k = 0; k < runs; k++)); do run_ggml "$e" "$ggml_f32"; done ;;
            ggml-f16) for ((k = 0; k < runs; k++)); do run_ggml "$e" "$ggml_f16"; done ;;
        esac
    done
    echo "  round $r done"
done
bw2=$(bandwidth)

wb_f32=$(weight_bytes "$f32_dir")
wb_bf16=$(weight_bytes "$bf16_dir")

"$python" - "$work" "$bw1" "$bw2" "$wb_f32" "$wb_bf16" <<'EOF'
import statistics, sys, os
work, bw1, bw2, wb32, wb16 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
bw = max(bw1, bw2)
rows = [("gptscope", "f32", "gptscope-f32", wb32), ("gptscope", "bf16", "gptscope-bf16", wb16),
        ("PyTorch 1.13 (peer_torch.py)", "f32", "torch-f32", wb32),
        ("PyTorch 1.13 (peer_torch.py, bf16 compute)", "bf16", "torch-bf16", wb16),
        ("ggml examples/gpt-2 (gpt-2-backend)", "f32", "ggml-f32", wb32),
        ("ggml examples/gpt-2 (gpt-2-backend)", "f16", "ggml-f16", wb16)]
print(f"\nsgemv bandwidth (1 GiB matrix): {bw1:.1f} GB/s before, {bw2:.1f} GB/s after; bound uses {bw:.1f}")
print(f"weights per token: f32 {wb32 / 1e6:.1f} MB -> bound {bw * 1e9 / wb32:.1f} tok/s; "
      f"bf16 {wb16 / 1e6:.1f} MB -> bound {bw * 1e9 / wb16:.1f} tok/s\n")
print("| engine | weights | runs | prefill ms (min / median) | decode tok/s (max / median) | % of bound (max) |")
print("| --- | --- | --- | --- | --- | --- |")
for name, dt, label, wb in rows:
    path = os.path.join(work, label)
    s = [tuple(map(float, l.split())) for l in open(path) if l.strip()] if os.path.exists(path) else []
    if not s:
        if not label.startswith("ggml") and label != "torch-bf16":
            print(f"| {name} | {dt} | 0 | - | - | - |")
        continue
    p = [a for a, _ in s]; d = [b for _, b in s]
    bound = bw * 1e9 / wb
    print(f"| {name} | {dt} | {len(s)} | {min(p):.1f} / {statistics.median(p):.1f} | "
          f"{max(d):.2f} / {statistics.median(d):.2f} | {100 * max(d) / bound:.0f}% |")
EOF
