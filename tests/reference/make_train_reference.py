#!/usr/bin/python3
"""make_train_reference.py - gradient and optimiser goldens for the C trainer
(tests/test_train_reference.c), computed by PyTorch's autograd in float64.

Run with Debian's torch (no transformers or safetensors package needed):

    /usr/bin/python3 tests/reference/make_train_reference.py [--out tests/reference/train]

For each family it writes OUT/<family>/:
  config.json, model.safetensors   a small random model in the Hugging Face
                                   layout (F32; every tensor random, LayerNorm
                                   gains and biases included, so every gradient
                                   is non-trivial)
  batch.json                       {"B","T","inputs","targets"}; targets of -1
                                   are positions without a loss
  expected.json                    loss (mean cross-entropy over the positions
                                   with a target), grad_norm (global L2 norm
                                   before clipping) and the AdamW settings
  grads.safetensors                d loss / d parameter, named as the parameters
  after_adamw.safetensors          parameters after clip_grad_norm_ + one
                                   torch.optim.AdamW step
The model is written here from the equations (GPT-2: pre-norm blocks and a
final ln_f; GPT-1: post-norm blocks n = ln_1(x + attn(x)), x = ln_2(n +
mlp(n)), no final norm; causal attention scaled by 1/sqrt(head_dim); tanh
GELU; logits = h @ wte^T, tied), independently of the C code.
"""

import argparse
import json
import math
import os
import struct

import torch

L, H, C, P, V = 2, 2, 16, 16, 37  # layers, heads, width, positions, vocabulary (odd on purpose)
B, T = 2, 16
LR, BETAS, EPS, WD, CLIP = 1e-2, (0.9, 0.95), 1e-8, 0.1, 1.0


def param_shapes(gpt1):
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


def layer_norm(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)  # biased, as torch's LayerNorm
    return (x - mu) / torch.sqrt(var + eps) * g + b


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def attention(x, w, b, pw, pb):
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


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors:
        data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for d in blobs:
            f.write(d)


def make(family, out, seed):
    gpt1 = family == "gpt1"
    g = torch.Generator().manual_seed(seed)
    shapes = param_shapes(gpt1)
    params = {}
    for name, shape in shapes:
        base = 1.0 if (".ln_" in name or name.startswith("ln_")) and name.endswith(".weight") else 0.0
        t = base + 0.25 * torch.randn(*shape, generator=g, dtype=torch.float64)
        params[name] = t.to(torch.float32).to(torch.float64).requires_grad_(True)  # f32 values
    inputs = torch.randint(0, V, (B, T), generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)
    targets[0, 3] = -1
    targets[1, 10] = -1
    logits = forward(params, inputs, gpt1)
    loss = torch.nn.functional.cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-1)
    loss.backward()
    grads = [(n, params[n].grad.clone()) for n, _ in shapes]
    ordered = [params[n] for n, _ in shapes]
    norm = torch.nn.utils.clip_grad_norm_(ordered, CLIP)
    decay = [params[n] for n, s in shapes if len(s) == 2]
    no_decay = [params[n] for n, s in shapes if len(s) == 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=BETAS, eps=EPS)
    opt.step()

    d = os.path.join(out, family)
    os.makedirs(d, exist_ok=True)
    cfg = {"model_type": "openai-gpt" if gpt1 else "gpt2", "n_layer": L, "n_head": H, "n_embd": C,
           "n_positions": P, "n_ctx": P, "vocab_size": V, "layer_norm_epsilon": 1e-5}
    cfg["afn" if gpt1 else "activation_function"] = "gelu" if gpt1 else "gelu_new"
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    # the starting weights were captured before the step: rebuild them from the grads' run
    write_safetensors(os.path.join(d, "grads.safetensors"), grads)
    write_safetensors(os.path.join(d, "after_adamw.safetensors"), [(n, params[n]) for n, _ in shapes])
    with open(os.path.join(d, "batch.json"), "w") as f:
        json.dump({"B": B, "T": T, "inputs": inputs.view(-1).tolist(),
                   "targets": targets.view(-1).tolist()}, f)
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({"loss": loss.item(), "grad_norm": norm.item(), "clip": CLIP, "lr": LR,
                   "beta1": BETAS[0], "beta2": BETAS[1], "eps": EPS, "weight_decay": WD,
                   "decay": "2-D tensors (matrices and both embeddings); not biases or LayerNorm"},
                  f, indent=2)
    return shapes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "train"))
    a = ap.parse_args()
    for i, fam in enumerate(["gpt2", "gpt1"]):
        # the initial weights: regenerate them with the same seed (make() changes them in place)
        g = torch.Generator().manual_seed(100 + i)
        init = []
        for name, shape in param_shapes(fam == "gpt1"):
            base = 1.0 if (".ln_" in name or name.startswith("ln_")) and name.endswith(".weight") else 0.0
            init.append((name, (base + 0.25 * torch.randn(*shape, generator=g, dtype=torch.float64))))
        make(fam, a.out, 100 + i)
        write_safetensors(os.path.join(a.out, fam, "model.safetensors"), init)
        print("wrote", os.path.join(a.out, fam))


if __name__ == "__main__":
    main()
