#!/usr/bin/python3
"""make_train_reference.py - gradient and optimiser goldens for the C trainer
(tests/test_train_reference.c), computed by PyTorch's autograd in float64.

Run with Debian's torch (no transformers or safetensors package needed):

    /usr/bin/python3 tests/reference/make_train_reference.py [--out tests/reference/train]

For each family (gpt2, gpt1) it writes OUT/<family>/:
  config.json, model.safetensors   a small random model in the Hugging Face
                                   layout (F32; every tensor random, LayerNorm
                                   gains and biases included, so every gradient
                                   is non-trivial). No vocab.json/merges.txt:
                                   the trainer test works on ids only.
  batch.json                       {"B","T","inputs","targets"}, row-major
                                   [B, T]; a target of -1 is a position
                                   without a loss (ignore_index)
  expected.json                    loss (mean cross-entropy over the positions
                                   with a target), grad_norm (global L2 norm
                                   before clipping) and the AdamW settings
  grads.safetensors                d loss / d parameter, named as the parameters
  after_adamw.safetensors          parameters after clip_grad_norm_ + one
                                   torch.optim.AdamW step

The model is written here from the equations (GPT-2: pre-norm blocks and a
final ln_f; GPT-1: post-norm blocks n = ln_1(x + attn(x)), x = ln_2(n +
mlp(n)), no final norm; causal attention scaled by 1/sqrt(head_dim); tanh
GELU; LayerNorm with the biased variance; logits = h @ wte^T, tied),
independently of the C code. On the way the script asserts that
  - a second implementation built from torch.nn.functional (embedding,
    layer_norm, linear, multi_head_attention_forward, gelu(approximate="tanh"),
    cross_entropy(ignore_index=-1)) gives the same loss and gradients;
  - central finite differences agree with autograd on sampled entries of every
    tensor;
  - every gradient tensor is non-zero and the norm exceeds the clip threshold
    (so clipping is exercised);
  - torch.optim.AdamW's step equals the written-out update;
  - every safetensors file reads back to the tensors meant.
The output is deterministic (fixed torch.Generator seeds).
"""

import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference import read_safetensors, write_safetensors  # noqa: E402

L, H, C, P, V = 2, 2, 16, 16, 37  # layers, heads, width, positions, vocabulary (odd on purpose)
B, T = 2, 16                      # T = n_positions: every position embedding gets a gradient
LN_EPS = 1e-5
LR, BETAS, EPS, WD, CLIP = 1e-2, (0.9, 0.95), 1e-8, 0.1, 1.0
IGNORED = [(0, 3), (1, 10)]       # (row, position) whose target is -1
SEEDS = {"gpt2": 100, "gpt1": 101}
INIT_STD = 0.25


def param_shapes(gpt1):
    """(name, shape) in file order; Conv1D weights are [in, out]."""
    wte = "tokens_embed.weight" if gpt1 else "wte.weight"
    wpe = "positions_embed.weight" if gpt1 else "wpe.weight"
    shapes = [(wte, (V, C)), (wpe, (P, C))]
    for l in range(L):
        p = f"h.{l}."
        shapes += [(p + "ln_1.weight", (C,)), (p + "ln_1.bias", (C,)),
                   (p + "attn.c_attn.weight", (C, 3 * C)), (p + "attn.c_attn.bias", (3 * C,)),
                   (p + "attn.c_proj.weight", (C, C)), (p + "attn.c_proj.bias", (C,)),
                   (p + "ln_2.weight", (C,)), (p + "ln_2.bias", (C,)),
                   (p + "mlp.c_fc.weight", (C, 4 * C)), (p + "mlp.c_fc.bias", (4 * C,)),
                   (p + "mlp.c_proj.weight", (4 * C, C)), (p + "mlp.c_proj.bias", (C,))]
    if not gpt1:
        shapes += [("ln_f.weight", (C,)), ("ln_f.bias", (C,))]
    return shapes


def is_ln_gain(name):
    return (".ln_" in name or name.startswith("ln_")) and name.endswith(".weight")


def make_inputs(family):
    """Random float64 parameters whose values are exactly float32 (so the C
    engine, which loads F32, sees the same model), and the batch."""
    g = torch.Generator().manual_seed(SEEDS[family])
    params = {}
    for name, shape in param_shapes(family == "gpt1"):
        base = 1.0 if is_ln_gain(name) else 0.0
        t = base + INIT_STD * torch.randn(*shape, generator=g, dtype=torch.float64)
        params[name] = t.to(torch.float32).to(torch.float64)
    inputs = torch.randint(0, V, (B, T), generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)
    for b, t in IGNORED:
        targets[b, t] = -1
    return params, inputs, targets


# ---------------------------------------------------------------------------
# Implementation 1: the equations.


def layer_norm(x, g, b):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)  # biased, as torch's LayerNorm
    return (x - mu) / torch.sqrt(var + LN_EPS) * g + b


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def attention(x, w, b, pw, pb):
    """x [B, T, C] -> [B, T, C]; c_attn gives q|k|v, head h owns dims h*D..(h+1)*D."""
    q, k, v = (x @ w + b).split(C, dim=-1)
    D = C // H
    heads = lambda t: t.view(B, T, H, D).transpose(1, 2)
    q, k, v = heads(q), heads(k), heads(v)
    s = q @ k.transpose(-1, -2) / math.sqrt(D)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    s = s.masked_fill(~mask, float("-inf"))
    y = torch.softmax(s, dim=-1) @ v
    return y.transpose(1, 2).reshape(B, T, C) @ pw + pb


def forward(p, inputs, gpt1):
    """logits [B, T, V]."""
    wte = p["tokens_embed.weight" if gpt1 else "wte.weight"]
    wpe = p["positions_embed.weight" if gpt1 else "wpe.weight"]
    x = wte[inputs] + wpe[torch.arange(T)]
    for l in range(L):
        g = lambda n: p[f"h.{l}.{n}"]
        attn = lambda h: attention(h, g("attn.c_attn.weight"), g("attn.c_attn.bias"),
                                   g("attn.c_proj.weight"), g("attn.c_proj.bias"))
        mlp = lambda h: gelu_tanh(h @ g("mlp.c_fc.weight") + g("mlp.c_fc.bias")) \
            @ g("mlp.c_proj.weight") + g("mlp.c_proj.bias")
        if gpt1:
            n = layer_norm(x + attn(x), g("ln_1.weight"), g("ln_1.bias"))
            x = layer_norm(n + mlp(n), g("ln_2.weight"), g("ln_2.bias"))
        else:
            x = x + attn(layer_norm(x, g("ln_1.weight"), g("ln_1.bias")))
            x = x + mlp(layer_norm(x, g("ln_2.weight"), g("ln_2.bias")))
    if not gpt1:
        x = layer_norm(x, p["ln_f.weight"], p["ln_f.bias"])
    return x @ wte.T


def mean_loss(p, inputs, targets, gpt1):
    """Mean of -log softmax(logits)[target] over the positions whose target
    is not -1."""
    logits = forward(p, inputs, gpt1).reshape(B * T, V)
    tg = targets.reshape(-1)
    keep = tg >= 0
    logp = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
    return -logp[keep, tg[keep]].sum() / keep.sum()


# ---------------------------------------------------------------------------
# Implementation 2: torch.nn.functional building blocks, to check the first.


def mean_loss_nn(p, inputs, targets, gpt1):
    wte = p["tokens_embed.weight" if gpt1 else "wte.weight"]
    wpe = p["positions_embed.weight" if gpt1 else "wpe.weight"]
    x = (F.embedding(inputs, wte) + F.embedding(torch.arange(T), wpe)).transpose(0, 1)  # [T,B,C]
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    for l in range(L):
        g = lambda n: p[f"h.{l}.{n}"]
        ln = lambda t, n: F.layer_norm(t, (C,), g(n + ".weight"), g(n + ".bias"), LN_EPS)

        def attn(h):
            out, _ = F.multi_head_attention_forward(
                h, h, h, C, H, g("attn.c_attn.weight").T, g("attn.c_attn.bias"), None, None,
                False, 0.0, g("attn.c_proj.weight").T, g("attn.c_proj.bias"),
                training=False, need_weights=False, attn_mask=future)
            return out

        def mlp(h):
            u = F.gelu(F.linear(h, g("mlp.c_fc.weight").T, g("mlp.c_fc.bias")), approximate="tanh")
            return F.linear(u, g("mlp.c_proj.weight").T, g("mlp.c_proj.bias"))

        if gpt1:
            n = ln(x + attn(x), "ln_1")
            x = ln(n + mlp(n), "ln_2")
        else:
            x = x + attn(ln(x, "ln_1"))
            x = x + mlp(ln(x, "ln_2"))
    if not gpt1:
        x = F.layer_norm(x, (C,), p["ln_f.weight"], p["ln_f.bias"], LN_EPS)
    logits = F.linear(x.transpose(0, 1), wte)
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-1)


def grads_of(loss_fn, params, inputs, targets, gpt1):
    leaves = {n: t.clone().requires_grad_(True) for n, t in params.items()}
    loss = loss_fn(leaves, inputs, targets, gpt1)
    loss.backward()
    return loss.item(), {n: t.grad.detach().clone() for n, t in leaves.items()}


def check(family, params, inputs, targets, loss, grads):
    gpt1 = family == "gpt1"
    loss2, grads2 = grads_of(mean_loss_nn, params, inputs, targets, gpt1)
    assert abs(loss - loss2) <= 1e-12 * abs(loss), (family, loss, loss2)
    scale = max(g.abs().max().item() for g in grads.values())
    for n, g in grads.items():
        assert torch.allclose(g, grads2[n], rtol=1e-9, atol=1e-13 * scale), (family, n)
        assert g.norm() > 1e-3, f"{family}: {n} has a (near) zero gradient"
    # central differences on a few entries of every tensor
    gen = torch.Generator().manual_seed(7)
    h = 1e-6
    with torch.no_grad():
        for n, g in grads.items():
            flat = params[n].view(-1)
            for i in torch.randint(0, flat.numel(), (3,), generator=gen).tolist():
                old = flat[i].item()
                flat[i] = old + h
                up = mean_loss(params, inputs, targets, gpt1).item()
                flat[i] = old - h
                down = mean_loss(params, inputs, targets, gpt1).item()
                flat[i] = old
                fd, ad = (up - down) / (2 * h), g.view(-1)[i].item()
                assert abs(fd - ad) <= 1e-7 + 1e-5 * abs(ad), (family, n, i, fd, ad)


# ---------------------------------------------------------------------------
# One optimiser step.


def adamw_step(shapes, params, grads):
    """clip_grad_norm_(CLIP) then one torch.optim.AdamW step; returns the
    pre-clipping norm and the new parameters."""
    leaves = {n: params[n].clone().requires_grad_(True) for n, _ in shapes}
    for n, _ in shapes:
        leaves[n].grad = grads[n].clone()
    norm = torch.nn.utils.clip_grad_norm_([leaves[n] for n, _ in shapes], CLIP).item()
    opt = torch.optim.AdamW(
        [{"params": [leaves[n] for n, s in shapes if len(s) == 2], "weight_decay": WD},
         {"params": [leaves[n] for n, s in shapes if len(s) != 2], "weight_decay": 0.0}],
        lr=LR, betas=BETAS, eps=EPS)
    opt.step()
    after = {n: t.detach().clone() for n, t in leaves.items()}

    # The same step written out (step 1, so m_hat = g and v_hat = g^2):
    # g <- g * min(1, clip / (norm + 1e-6)); p <- p * (1 - lr * wd);
    # p <- p - lr * m_hat / (sqrt(v_hat) + eps).
    coef = min(1.0, CLIP / (norm + 1e-6))
    for n, s in shapes:
        gc = grads[n] * coef
        m = (1 - BETAS[0]) * gc / (1 - BETAS[0])
        v = (1 - BETAS[1]) * gc * gc / (1 - BETAS[1])
        want = params[n] * (1 - LR * (WD if len(s) == 2 else 0.0)) - LR * m / (v.sqrt() + EPS)
        assert torch.allclose(after[n], want, rtol=1e-12, atol=1e-15), n
    return norm, after


def write_checked(path, named):
    """Writes F32 tensors and asserts they read back exactly."""
    tensors = [(n, t.to(torch.float32)) for n, t in named]
    write_safetensors(path, tensors)
    back = read_safetensors(path)
    assert list(back) == [n for n, _ in tensors]
    for n, t in tensors:
        assert back[n].dtype == torch.float32 and torch.equal(back[n], t), (path, n)


def make(family, out):
    gpt1 = family == "gpt1"
    shapes = param_shapes(gpt1)
    params, inputs, targets = make_inputs(family)
    loss, grads = grads_of(mean_loss, params, inputs, targets, gpt1)
    check(family, params, inputs, targets, loss, grads)
    norm, after = adamw_step(shapes, params, grads)
    assert norm > CLIP, f"{family}: gradient norm {norm} does not exercise clipping"

    d = os.path.join(out, family)
    os.makedirs(d, exist_ok=True)
    cfg = {"model_type": "openai-gpt" if gpt1 else "gpt2", "n_layer": L, "n_head": H, "n_embd": C,
           "n_positions": P, "n_ctx": P, "vocab_size": V, "layer_norm_epsilon": LN_EPS}
    cfg["afn" if gpt1 else "activation_function"] = "gelu" if gpt1 else "gelu_new"
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_checked(os.path.join(d, "model.safetensors"), [(n, params[n]) for n, _ in shapes])
    write_checked(os.path.join(d, "grads.safetensors"), [(n, grads[n]) for n, _ in shapes])
    write_checked(os.path.join(d, "after_adamw.safetensors"), [(n, after[n]) for n, _ in shapes])
    with open(os.path.join(d, "batch.json"), "w") as f:
        json.dump({"B": B, "T": T, "inputs": inputs.view(-1).tolist(),
                   "targets": targets.view(-1).tolist()}, f)
        f.write("\n")
    n_targets = int((targets >= 0).sum())
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({"loss": loss, "n_targets": n_targets, "ignore_index": -1,
                   "grad_norm": norm, "clip": CLIP, "lr": LR,
                   "beta1": BETAS[0], "beta2": BETAS[1], "eps": EPS, "weight_decay": WD,
                   "decay": "2-D tensors (matrices and both embeddings); not biases or LayerNorm",
                   "clip_rule": "g *= min(1, clip / (grad_norm + 1e-6)) (torch clip_grad_norm_)",
                   "seed": SEEDS[family]}, f, indent=2)
        f.write("\n")
    print(f"wrote {d}: loss {loss:.6f} over {n_targets} targets, grad norm {norm:.6f}")


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "train"))
    a = ap.parse_args()
    torch.set_num_threads(1)
    for fam in ("gpt2", "gpt1"):
        make(fam, a.out)


if __name__ == "__main__":
    main()
