#!/usr/bin/python3
"""peer_torch_train.py - the PyTorch training peer for bench_train: a GPT-2
(pre-norm, tied output, tanh GELU, dropout 0.1) in float32, forward +
backward + clip + AdamW on random tokens, timed per step. The same model and
work as `build/bench/bench_train`, so the two can be run side by side.

    /usr/bin/python3 bench/peer_torch_train.py --shape small|gpt2 [--steps N] [--threads N]
    /usr/bin/python3 bench/peer_torch_train.py --layers 6 --embd 320 --heads 5 --vocab 4096 \\
        --ctx 256 --batch 16 --seq 256

Prints tokens/s (best step and median) and GFLOP/s = 6 x params x tokens/s.
Threads: torch intra-op threads = --threads, one OpenMP pool (PEERS.md: two
pools on two cores fight)."""

import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


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
    def __init__(self, L, C, H, V, ctx, p=0.1):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(ctx, C)
        self.blocks = nn.ModuleList(Block(C, H, p) for _ in range(L))
        self.ln_f, self.p = nn.LayerNorm(C), p

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = F.dropout(self.wte(idx) + self.wpe(torch.arange(T)), self.p, self.training)
        for b in self.blocks:
            x = b(x)
        logits = self.ln_f(x) @ self.wte.weight.T
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=["small", "gpt2"], default=None)
    for k, d in [("layers", 6), ("embd", 384), ("heads", 6), ("vocab", 2048), ("ctx", 256),
                 ("batch", 8), ("seq", 256), ("steps", 6), ("threads", 2)]:
        ap.add_argument("--" + k, type=int, default=d)
    a = ap.parse_args()
    if a.shape == "gpt2":
        a.layers, a.embd, a.heads, a.vocab, a.ctx, a.batch, a.seq = 12, 768, 12, 50304, 1024, 4, 64
    elif a.shape == "small":
        a.layers, a.embd, a.heads, a.vocab, a.ctx, a.batch, a.seq = 6, 384, 6, 2048, 256, 8, 256
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = GPT(a.layers, a.embd, a.heads, a.vocab, a.ctx)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() == 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": other, "weight_decay": 0.0}], lr=1e-4, betas=(0.9, 0.95))
    times = []
    for step in range(a.steps + 1):  # step 0 warms up
        idx = torch.randint(0, a.vocab, (a.batch, a.seq))
        tgt = torch.randint(0, a.vocab, (a.batch, a.seq))
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(idx, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step:
            times.append(time.perf_counter() - t0)
    tok = a.batch * a.seq
    best, med = min(times), statistics.median(times)
    print(f"torch {torch.__version__} training: {a.layers} layers x {a.embd}, {a.heads} heads, "
          f"vocab {a.vocab}, batch {a.batch} x {a.seq}, {n_params / 1e6:.2f} M params, "
          f"{a.threads} threads")
    print(f"  step {best:.3f} s (median {med:.3f}): {tok / best:.0f} tokens/s "
          f"(median {tok / med:.0f}); {6 * n_params * tok / best / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
