#!/usr/bin/python3
"""peer_torch.py: an independent PyTorch GPT-2 inference, the speed peer of gptscope.

Loads the same Hugging Face model directory gptscope loads (config.json +
model.safetensors; the safetensors file is parsed here, not with the
safetensors package, which Debian does not ship), then times a prompt
prefill (logits of the last position only, as gptscope does) and greedy
decode steps with a KV cache.  It prints best and median over --repeats runs:

    prefill 128 tokens: min 339.1 ms, median 359.0 ms
    decode 128 tokens: max 27.7 tok/s, median 27.2 tok/s

and, with --ids-out, the greedy continuation of the last run, so a caller can
check it token for token against gptscope (bench/compare.sh does).

Thread setting: on the 2-core machine two thread pools fight (PyTorch's
OpenMP pool and the pthread OpenBLAS that Debian's torch calls through
libblas.so.3).  The default here is the best one found (see bench/README.md):
--threads 1 (torch's own pool) and --blas-threads 2 (OpenBLAS's pool), with
decode matrices kept [out, in] so every decode linear is one BLAS sgemv.

Run with Debian's torch: /usr/bin/python3 bench/peer_torch.py -m DIR
"""
import argparse
import json
import math
import mmap
import os
import statistics
import struct
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-m", "--model", required=True, help="HF GPT-2 model directory")
    ap.add_argument("--prompt-len", type=int, default=128, help="prompt tokens (default 128)")
    ap.add_argument("--ids", default=None,
                    help="prompt as whitespace-separated token ids (overrides --prompt-len)")
    ap.add_argument("-n", "--new", type=int, default=128, help="decode steps (default 128)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs (default 3)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch.set_num_threads (default 1 for f32, 2 for bf16)")
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="OPENBLAS_NUM_THREADS, set before torch loads "
                         "(default 2 for f32, 1 for bf16)")
    ap.add_argument("--layout", choices=("out_in", "in_out"), default="out_in",
                    help="decode weight layout: out_in = transposed copy, y = W x is a "
                         "'T' sgemv; in_out = the checkpoint's Conv1D layout as is")
    ap.add_argument("--dtype", choices=("f32", "bf16"), default="f32",
                    help="compute dtype (bf16 on CPU in torch 1.13 is slow; for reference)")
    ap.add_argument("--ids-out", default=None,
                    help="write the greedy continuation ids of the last run to this file")
    ap.add_argument("--samples", default=None,
                    help="append one 'prefill_ms decode_tok_s' line per timed run to this file")
    a = ap.parse_args()
    # f32 matrix work goes to OpenBLAS (give it the cores); bf16 goes to
    # oneDNN, which runs on torch's own OpenMP pool (give that the cores).
    if a.threads is None:
        a.threads = 1 if a.dtype == "f32" else 2
    if a.blas_threads is None:
        a.blas_threads = 2 if a.dtype == "f32" else 1
    return a


ARGS = parse_args()
# The BLAS pool size must be in the environment before libopenblas is loaded.
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.blas_threads)
os.environ.setdefault("OMP_NUM_THREADS", str(ARGS.threads))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def load_safetensors(path):
    """Returns {name: tensor} (float32 copies) from a safetensors file."""
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    (hlen,) = struct.unpack("<Q", mm[:8])
    header = json.loads(mm[8:8 + hlen])
    base = 8 + hlen
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dt = ST_DTYPES.get(meta["dtype"])
        if dt is None:
            sys.exit(f"{path}: tensor {name}: unsupported dtype {meta['dtype']}")
        a, b = meta["data_offsets"]
        n = math.prod(meta["shape"])
        esz = torch.tensor([], dtype=dt).element_size()
        if (b - a) != n * esz:
            sys.exit(f"{path}: tensor {name}: size does not match its shape")
        t = torch.frombuffer(mm, dtype=dt, count=n, offset=base + a).reshape(meta["shape"])
        if name.startswith("transformer."):
            name = name[len("transformer."):]
        # A private float32 copy, as load_state_dict would make; the map can go.
        out[name] = t.to(torch.float32).clone()
    del t
    mm.close()
    return out


class GPT2:
    """Pre-norm GPT-2 with a KV cache; weights from the HF Conv1D layout [in, out]."""

    def __init__(self, model_dir, layout, dtype):
        cfg = json.load(open(os.path.join(model_dir, "config.json")))
        if cfg.get("model_type", "gpt2") != "gpt2":
            sys.exit(f"{model_dir}: model_type {cfg.get('model_type')} is not gpt2")
        self.L, self.H, self.C = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
        self.n_ctx = cfg.get("n_positions", cfg.get("n_ctx", 1024))
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        self.hd = self.C // self.H
        self.dt = torch.float32 if dtype == "f32" else torch.bfloat16
        w = load_safetensors(os.path.join(model_dir, "model.safetensors"))
        cast = lambda t: t.to(self.dt).contiguous()  # noqa: E731
        self.wte, self.wpe = cast(w["wte.weight"]), cast(w["wpe.weight"])
        self.lnf = (cast(w["ln_f.weight"]), cast(w["ln_f.bias"]))
        self.layers = []
        for l in range(self.L):
            p = f"h.{l}."
            lay = {k: cast(w[p + k]) for k in (
                "ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias",
                "attn.c_attn.bias", "attn.c_proj.bias", "mlp.c_fc.bias", "mlp.c_proj.bias")}
            for k in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
                W = w[p + k + ".weight"]
                # Prefill wants [in, out] (x @ W is one sgemm); decode with
                # out_in reads a transposed copy: one contiguous row per output.
                lay[k + ".w"] = cast(W)
                lay[k + ".wt"] = cast(W.t()) if layout == "out_in" else None
            self.layers.append(lay)
        del w
        self.layout = layout
        self.k = torch.zeros(self.L, self.H, self.n_ctx, self.hd, dtype=self.dt)
        self.v = torch.zeros_like(self.k)
        self.pos = 0

    def _lin1(self, lay, k, x):
        """One-token linear: x [C_in] -> [C_out], as a matrix-vector product."""
        W = lay[k + ".wt"] if self.layout == "out_in" else lay[k + ".w"].t()
        return torch.addmv(lay[k + ".bias"], W, x)

    def _block(self, l, x):
        """x [T, C] for positions pos..pos+T-1; fills the cache, returns [T, C]."""
        lay, T, H, hd, p0 = self.layers[l], x.shape[0], self.H, self.hd, self.pos
        h = F.layer_norm(x, (self.C,), lay["ln_1.weight"], lay["ln_1.bias"], self.eps)
        if T == 1:
            qkv = self._lin1(lay, "attn.c_attn", h[0]).unsqueeze(0)
        else:
            qkv = torch.addmm(lay["attn.c_attn.bias"], h, lay["attn.c_attn.w"])
        q, k, v = qkv.split(self.C, dim=1)
        self.k[l, :, p0:p0 + T] = k.view(T, H, hd).transpose(0, 1)
        self.v[l, :, p0:p0 + T] = v.view(T, H, hd).transpose(0, 1)
        K, V = self.k[l, :, :p0 + T], self.v[l, :, :p0 + T]
        q = q.view(T, H, hd).transpose(0, 1)                   # [H, T, hd]
        att = torch.matmul(q, K.transpose(1, 2)) * (1.0 / math.sqrt(hd))  # [H, T, S]
        if T > 1:
            S = p0 + T
            mask = torch.ones(T, S, dtype=torch.bool).triu(diagonal=p0 + 1)
            att = att.masked_fill(mask, float("-inf"))
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, V).transpose(0, 1).reshape(T, self.C)
        if T == 1:
            x = x + self._lin1(lay, "attn.c_proj", y[0]).unsqueeze(0)
        else:
            x = x + torch.addmm(lay["attn.c_proj.bias"], y, lay["attn.c_proj.w"])
        h = F.layer_norm(x, (self.C,), lay["ln_2.weight"], lay["ln_2.bias"], self.eps)
        if T == 1:
            h = F.gelu(self._lin1(lay, "mlp.c_fc", h[0]), approximate="tanh")
            x = x + self._lin1(lay, "mlp.c_proj", h).unsqueeze(0)
        else:
            h = F.gelu(torch.addmm(lay["mlp.c_fc.bias"], h, lay["mlp.c_fc.w"]),
                       approximate="tanh")
            x = x + torch.addmm(lay["mlp.c_proj.bias"], h, lay["mlp.c_proj.w"])
        return x

    def forward(self, ids):
        """ids: list of token ids at positions pos...; returns the last position's logits."""
        T = len(ids)
        if self.pos + T > self.n_ctx:
            sys.exit(f"context overflow: {self.pos + T} > {self.n_ctx}")
        idx = torch.tensor(ids, dtype=torch.long)
        x = self.wte[idx] + self.wpe[self.pos:self.pos + T]
        for l in range(self.L):
            x = self._block(l, x)
        self.pos += T
        h = F.layer_norm(x[-1], (self.C,), self.lnf[0], self.lnf[1], self.eps)
        return torch.mv(self.wte, h)                            # tied output matrix

    def reset(self):
        self.pos = 0


def run_once(model, prompt, n_new):
    model.reset()
    t0 = time.perf_counter()
    logits = model.forward(prompt)
    nxt = int(torch.argmax(logits))
    t1 = time.perf_counter()
    out = [nxt]
    for _ in range(n_new):
        logits = model.forward([nxt])
        nxt = int(torch.argmax(logits))
        out.append(nxt)
    t2 = time.perf_counter()
    return (t1 - t0) * 1e3, n_new / (t2 - t1), out


def main():
    torch.set_num_threads(ARGS.threads)
    torch.set_num_interop_threads(1)
    model = GPT2(ARGS.model, ARGS.layout, ARGS.dtype)
    if ARGS.ids:
        prompt = [int(t) for t in ARGS.ids.split()]
    else:
        # Deterministic, spread over the vocabulary; same rule as bench/compare.sh.
        prompt = [(i * 7919) % 50000 for i in range(ARGS.prompt_len)]
    if len(prompt) + ARGS.new + 1 > model.n_ctx:
        sys.exit(f"prompt + new tokens exceed the context ({model.n_ctx})")
    pre, dec = [], []
    with torch.inference_mode():
        run_once(model, prompt[:16], 8)                        # warm-up: pools, pages
        for _ in range(ARGS.repeats):
            p, d, out = run_once(model, prompt, ARGS.new)
            pre.append(p)
            dec.append(d)
    print(f"peer_torch: torch {torch.__version__}, torch threads {torch.get_num_threads()}, "
          f"OPENBLAS_NUM_THREADS {ARGS.blas_threads}, layout {ARGS.layout}, {ARGS.dtype}")
    print(f"prefill {len(prompt)} tokens: min {min(pre):.1f} ms, "
          f"median {statistics.median(pre):.1f} ms")
    print(f"decode {ARGS.new} tokens: max {max(dec):.2f} tok/s, "
          f"median {statistics.median(dec):.2f} tok/s")
    if ARGS.samples:
        with open(ARGS.samples, "a") as f:
            for p, d in zip(pre, dec):
                f.write(f"{p:.3f} {d:.4f}\n")
    if ARGS.ids_out:
        with open(ARGS.ids_out, "w") as f:
            f.write(" ".join(map(str, out)) + "\n")


if __name__ == "__main__":
    main()
