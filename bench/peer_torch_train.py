#!/usr/bin/python3
"""peer_torch_train.py - the PyTorch training peer for bench_train: a
nanoGPT-style GPT-2 (pre-norm, tied output, tanh GELU, dropout 0.1) in
float32, forward + backward + gradient clipping + AdamW on random tokens,
timed per step. The same model and work as `build/bench/bench_train`, so the
two can be run side by side.

    /usr/bin/python3 bench/peer_torch_train.py --shape small|gpt2 [--steps N] [--threads N]
    /usr/bin/python3 bench/peer_torch_train.py --layers 6 --embd 320 --heads 5 --vocab 4096 \\
        --ctx 256 --batch 16 --seq 256          # any other shape, e.g. the default model's

Shapes: small = 6 layers x 384, 6 heads, vocab 2048, ctx 256, batch 8 x 256;
gpt2 = GPT-2 124M (12 x 768, 12 heads, vocab 50304 as nanoGPT/llm.c pad it,
ctx 1024), batch 4 x 64. Without --shape the flags (defaults: small) apply.

Prints the step time (ms, min and median over the timed steps, after
--warmup untimed ones), tokens/s and GFLOP/s = 6 x params x tokens/s at both.

Threads (../shared/PEERS.md: two thread pools on two cores fight, 2-3x
slower). torch's pool is OpenMP; its matrix products go to OpenBLAS through
libblas.so.3. With the OpenMP build of OpenBLAS (Debian's default when
libopenblas0-openmp is installed) both share one libgomp pool and
torch.set_num_threads(N) sets both. With the pthread build this script
re-executes itself with LD_LIBRARY_PATH pointing at the OpenMP build when it
is installed, and otherwise runs torch's own ops on 1 thread and OpenBLAS on
--threads (the two pools then take turns instead of fighting). The line
"BLAS:" in the output says which case ran.

libgomp's default wait policy spins at barriers. When another process keeps
the cores busy, a spinning thread waits for one that is not scheduled, and
torch with 2 threads became 2.5-5x slower (100x on a tiny model); with
OMP_WAIT_POLICY=passive in the environment it lost far less. The script
leaves the policy alone (set it for both engines when comparing on a busy
machine) and prints it and the load average."""

import argparse
import ctypes
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

OPENMP_BLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
SHAPES = {  # layers, embd, heads, vocab, ctx, batch, seq
    "small": (6, 384, 6, 2048, 256, 8, 256),
    "gpt2": (12, 768, 12, 50304, 1024, 4, 64),
}


class Block(nn.Module):
    def __init__(self, c, h, p):
        super().__init__()
        self.h, self.p = h, p
        self.ln_1, self.ln_2 = nn.LayerNorm(c), nn.LayerNorm(c)
        self.c_attn, self.c_proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.c_fc, self.mlp_proj = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.h)
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        att = F.dropout(F.softmax(att, dim=-1), self.p, self.training)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + F.dropout(self.c_proj(y), self.p, self.training)
        m = self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x + F.dropout(m, self.p, self.training)


class GPT(nn.Module):
    def __init__(self, L, C, H, V, ctx, p):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(ctx, C)
        self.blocks = nn.ModuleList(Block(C, H, p) for _ in range(L))
        self.ln_f, self.p = nn.LayerNorm(C), p
        for name, w in self.named_parameters():  # GPT-2's initialisation
            if w.dim() == 2:
                std = 0.02 / math.sqrt(2 * L) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(w, 0.0, std)
            elif name.endswith(".bias"):
                nn.init.zeros_(w)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = F.dropout(self.wte(idx) + self.wpe(torch.arange(T)), self.p, self.training)
        for b in self.blocks:
            x = b(x)
        logits = self.ln_f(x) @ self.wte.weight.T  # tied output matrix
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def openblas():
    """(config string, parallel mode: 0 sequential, 1 pthreads, 2 OpenMP) of
    the OpenBLAS torch has loaded, or None if it is not OpenBLAS."""
    try:
        lib = ctypes.CDLL("libblas.so.3")
        lib.openblas_get_config.restype = ctypes.c_char_p
        return lib, lib.openblas_get_config().decode(), lib.openblas_get_parallel()
    except (OSError, AttributeError):
        return None, "not OpenBLAS", -1


def set_threads(n):
    """One thread pool: see the module comment. Returns the BLAS line."""
    lib, cfg, par = openblas()
    if par == 1 and os.path.isdir(OPENMP_BLAS_DIR) and not os.environ.get("PEER_REEXEC"):
        env = dict(os.environ, PEER_REEXEC="1",
                   LD_LIBRARY_PATH=OPENMP_BLAS_DIR + ":" + os.environ.get("LD_LIBRARY_PATH", ""))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    if par == 1:  # pthread OpenBLAS and no OpenMP build to switch to
        torch.set_num_threads(1)
        lib.openblas_set_num_threads(n)
        return f"BLAS: {cfg}; pthread pool: torch ops 1 thread, OpenBLAS {n}"
    torch.set_num_threads(n)
    wait = os.environ.get("OMP_WAIT_POLICY", "unset")
    return (f"BLAS: {cfg}; one OpenMP pool of {torch.get_num_threads()} threads, "
            f"OMP_WAIT_POLICY {wait}")


def main():
    ap = argparse.ArgumentParser(description="PyTorch training peer (see the module comment)")
    ap.add_argument("--shape", choices=sorted(SHAPES), default=None)
    names = ["layers", "embd", "heads", "vocab", "ctx", "batch", "seq"]
    for k, d in zip(names, SHAPES["small"]):
        ap.add_argument("--" + k, type=int, default=None, help=f"default {d} (small)")
    ap.add_argument("--steps", type=int, default=5, help="timed steps (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=1e-4)
    a = ap.parse_args()
    base = SHAPES[a.shape or "small"]
    L, C, H, V, ctx, B, T = (getattr(a, k) if getattr(a, k) is not None else d
                             for k, d in zip(names, base))
    shape = a.shape if a.shape and all(getattr(a, k) is None for k in names) else "custom"
    ctx = max(ctx, T)
    if C % H or a.steps < 1 or min(L, C, H, V, B, T, a.threads) < 1:
        ap.error("need embd divisible by heads and positive sizes, steps and threads")

    blas = set_threads(a.threads)
    torch.manual_seed(1)
    model = GPT(L, C, H, V, ctx, a.dropout)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() == 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": other, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    print(f"torch {torch.__version__} training {shape}: {L} layers x {C}, {H} heads, vocab {V}, "
          f"ctx {ctx}, batch {B} x {T}, {n_params / 1e6:.2f} M params, float32, "
          f"dropout {a.dropout:g}")
    print("  " + blas)
    print("  load average before the run: %.2f %.2f %.2f (other work makes figures noisy)"
          % os.getloadavg())
    times = []
    for step in range(a.warmup + a.steps):
        idx = torch.randint(0, V, (B, T))
        tgt = torch.randint(0, V, (B, T))
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(idx, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        if not math.isfinite(loss.item()):
            sys.exit(f"peer_torch_train: loss is not finite at step {step}")
        if step >= a.warmup:
            times.append(dt)
    tok = B * T
    best, med = min(times), statistics.median(times)
    gf = lambda s: 6 * n_params * tok / s / 1e9
    print(f"  step ms: min {best * 1e3:.0f}, median {med * 1e3:.0f} over {a.steps} steps "
          f"(+{a.warmup} warm-up)")
    print(f"  tokens/s: {tok / best:.0f} (median {tok / med:.0f}); "
          f"{gf(best):.1f} GFLOP/s (median {gf(med):.1f}), 6 x params x tokens/s")


if __name__ == "__main__":
    main()
