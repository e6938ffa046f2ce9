#!/usr/bin/python3
"""make_task_reference.py - goldens for GPT-1's fine-tuning objective
(tests/test_task_reference.c), by PyTorch's autograd in float64.

Run with Debian's torch, after make_train_reference.py (whose small models
and batch it reuses):

    /usr/bin/python3 tests/reference/make_task_reference.py [--out tests/reference/train]

For each family (gpt2, gpt1) and each head shape it writes
OUT/<family>/task_<shape>.safetensors and task_<shape>.json:
  classify  each of the 2 rows is an example; the head reads the final
            hidden state at its extract position, logits = W h + b over
            K = 3 classes (nn.Linear layout, W [K, C]);
  choice    the 2 rows are the 2 choices of one example, each scored
            s_j = w . h_j + b (K = 1), softmax over the choices.
The objective is L = L_task + LM_COEF * L_lm (the paper's lambda = 0.5):
L_task the mean cross-entropy over the examples, L_lm the mean next-token
cross-entropy over the positions with a target (the batch's -1 targets are
left out), both on the same forward pass. The .safetensors file holds the
head ("clf.weight", "clf.bias", random) and the gradient of L with respect
to every parameter ("grad.NAME", the transformer's and the head's); the
.json the extract positions, labels, lm_coef, and L, L_task, L_lm.

The hidden state the head reads is the transformer's output after the final
LayerNorm (GPT-2's ln_f; GPT-1 has none), computed by make_train_reference's
equations. Central finite differences are checked against autograd on
sampled entries of every tensor, and the safetensors files read back.
"""

import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_train_reference as tr  # noqa: E402
from make_reference import read_safetensors, write_safetensors  # noqa: E402

LM_COEF = 0.5
K = 3
EXTRACT = [9, 15]        # extract position of row 0 and row 1
LABELS = {"classify": [2, 0], "choice": [1]}


def hidden(p, inputs, gpt1):
    """The final hidden states [B, T, C]: tr.forward without the logits."""
    B, T, C = tr.B, tr.T, tr.C
    wte = p["tokens_embed.weight" if gpt1 else "wte.weight"]
    wpe = p["positions_embed.weight" if gpt1 else "wpe.weight"]
    x = wte[inputs] + wpe[torch.arange(T)]
    for l in range(tr.L):
        g = lambda n: p[f"h.{l}.{n}"]
        attn = lambda h: tr.attention(h, g("attn.c_attn.weight"), g("attn.c_attn.bias"),
                                      g("attn.c_proj.weight"), g("attn.c_proj.bias"))
        mlp = lambda h: tr.gelu_tanh(h @ g("mlp.c_fc.weight") + g("mlp.c_fc.bias")) \
            @ g("mlp.c_proj.weight") + g("mlp.c_proj.bias")
        if gpt1:
            n = tr.layer_norm(x + attn(x), g("ln_1.weight"), g("ln_1.bias"))
            x = tr.layer_norm(n + mlp(n), g("ln_2.weight"), g("ln_2.bias"))
        else:
            x = x + attn(tr.layer_norm(x, g("ln_1.weight"), g("ln_1.bias")))
            x = x + mlp(tr.layer_norm(x, g("ln_2.weight"), g("ln_2.bias")))
    if not gpt1:
        x = tr.layer_norm(x, p["ln_f.weight"], p["ln_f.bias"])
    return x


def losses(p, inputs, targets, gpt1, shape):
    """(L, L_task, L_lm) with the same forward pass feeding both."""
    wte = p["tokens_embed.weight" if gpt1 else "wte.weight"]
    h = hidden(p, inputs, gpt1)
    logits = (h @ wte.T).reshape(tr.B * tr.T, tr.V)
    tg = targets.reshape(-1)
    keep = tg >= 0
    logp = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
    lm = -logp[keep, tg[keep]].sum() / keep.sum()
    feats = torch.stack([h[b, EXTRACT[b]] for b in range(tr.B)])  # [2, C]
    z = feats @ p["clf.weight"].T + p["clf.bias"]                 # [2, K] or [2, 1]
    if shape == "classify":
        y = torch.tensor(LABELS["classify"])
        task = (torch.logsumexp(z, dim=-1) - z[torch.arange(tr.B), y]).mean()
    else:
        s = z[:, 0]  # one example, the rows are its choices
        task = torch.logsumexp(s, dim=0) - s[LABELS["choice"][0]]
    return task + LM_COEF * lm, task, lm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "train"))
    a = ap.parse_args()
    for family in ("gpt2", "gpt1"):
        gpt1 = family == "gpt1"
        d = os.path.join(a.out, family)
        params = {n: t.to(torch.float64) for n, t in read_safetensors(os.path.join(d, "model.safetensors")).items()}
        batch = json.load(open(os.path.join(d, "batch.json")))
        inputs = torch.tensor(batch["inputs"]).view(tr.B, tr.T)
        targets = torch.tensor(batch["targets"]).view(tr.B, tr.T)
        for shape, k in (("classify", K), ("choice", 1)):
            g = torch.Generator().manual_seed(300 + 10 * gpt1 + k)
            p = dict(params)
            p["clf.weight"] = (0.5 * torch.randn(k, tr.C, generator=g, dtype=torch.float64)).float().double()
            p["clf.bias"] = (0.5 * torch.randn(k, generator=g, dtype=torch.float64)).float().double()
            leaves = {n: t.clone().requires_grad_(True) for n, t in p.items()}
            total, task, lm = losses(leaves, inputs, targets, gpt1, shape)
            total.backward()
            grads = {n: t.grad.detach().clone() for n, t in leaves.items()}
            for n, gr in grads.items():
                # a choice head's bias adds the same to every choice: softmax
                # ignores it, so its gradient is zero (to rounding)
                zero = shape == "choice" and n == "clf.bias"
                assert (gr.norm() < 1e-12) if zero else (gr.norm() > 1e-6), (family, shape, n)
            # central differences on sampled entries of every tensor
            gen = torch.Generator().manual_seed(11)
            hstep = 1e-6
            with torch.no_grad():
                for n, gr in grads.items():
                    flat = p[n].view(-1)
                    for i in torch.randint(0, flat.numel(), (3,), generator=gen).tolist():
                        old = flat[i].item()
                        flat[i] = old + hstep
                        up = losses(p, inputs, targets, gpt1, shape)[0].item()
                        flat[i] = old - hstep
                        down = losses(p, inputs, targets, gpt1, shape)[0].item()
                        flat[i] = old
                        fd, ad = (up - down) / (2 * hstep), gr.view(-1)[i].item()
                        assert abs(fd - ad) <= 1e-7 + 1e-5 * abs(ad), (family, shape, n, i, fd, ad)
            named = {"clf.weight": p["clf.weight"].float(), "clf.bias": p["clf.bias"].float()}
            for n, gr in grads.items():
                named["grad." + n] = gr.float()
            path = os.path.join(d, f"task_{shape}.safetensors")
            write_safetensors(path, list(named.items()))
            back = read_safetensors(path)
            for n, t in named.items():
                assert torch.equal(back[n], t), (path, n)
            meta = {"shape": shape, "K": k, "extract": EXTRACT, "labels": LABELS[shape],
                    "lm_coef": LM_COEF, "loss": total.item(), "task_loss": task.item(),
                    "lm_loss": lm.item()}
            with open(os.path.join(d, f"task_{shape}.json"), "w") as f:
                json.dump(meta, f, indent=1)
                f.write("\n")
            print(f"{family} {shape}: loss {total.item():.6f} (task {task.item():.6f}, lm {lm.item():.6f})")


if __name__ == "__main__":
    main()
