#!/usr/bin/env python3
"""Golden files for the logit lens and the residual-stream capture
(gpt_state_capture_hidden, gpt_unembed): for the two f32 reference models,
the residual stream of the last position of a fixed sequence after the
embeddings and after every block, and the output head applied to each row
(ln_f where the model has one, then the tied unembedding). Computed in
float64 with the independent forward pass of make_reference.py, from the
committed weights. Run with Debian's python3-torch:

    /usr/bin/python3 tests/reference/make_lens_reference.py

writes tests/reference/lens/{gpt2,gpt1}.json (small; CI only reads them)."""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_reference import LN_EPS, attention, layer_norm, mlp, read_safetensors  # noqa: E402

IDS = [3, 17, 42, 5, 9, 100, 7, 64, 1, 120, 33]


def residuals(w, cfg, ids, gpt1):
    """Rows of the residual stream at the last position: [L + 1, C]."""
    wte = w["tokens_embed.weight" if gpt1 else "wte.weight"]
    wpe = w["positions_embed.weight" if gpt1 else "wpe.weight"]
    x = wte[torch.tensor(ids)] + wpe[:len(ids)]
    rows = [x[-1].clone()]
    for i in range(cfg["n_layer"]):
        p = f"h.{i}."
        if gpt1:
            a, _ = attention(x, w, p, cfg["n_head"])
            n = layer_norm(x + a, w[p + "ln_1.weight"], w[p + "ln_1.bias"], LN_EPS)
            x = layer_norm(n + mlp(n, w, p), w[p + "ln_2.weight"], w[p + "ln_2.bias"], LN_EPS)
        else:
            a, _ = attention(layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], LN_EPS),
                             w, p, cfg["n_head"])
            x = x + a
            x = x + mlp(layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], LN_EPS), w, p)
        rows.append(x[-1].clone())
    return torch.stack(rows)


def main():
    for name, gpt1 in (("gpt2", False), ("gpt1", True)):
        d = os.path.join(HERE, "models", name + "-f32")
        cfg = json.load(open(os.path.join(d, "config.json")))
        w = {k: v.to(torch.float64) for k, v in
             read_safetensors(os.path.join(d, "model.safetensors")).items()}
        h = residuals(w, cfg, IDS, gpt1)
        wte = w["tokens_embed.weight" if gpt1 else "wte.weight"]
        hn = h if gpt1 else layer_norm(h, w["ln_f.weight"], w["ln_f.bias"], LN_EPS)
        lens = hn @ wte.T
        out = {"model": name + "-f32", "ids": IDS,
               "hidden": [[round(float(v), 7) for v in r] for r in h],
               "lens_logits": [[round(float(v), 6) for v in r] for r in lens]}
        os.makedirs(os.path.join(HERE, "lens"), exist_ok=True)
        with open(os.path.join(HERE, "lens", name + ".json"), "w") as f:
            json.dump(out, f, separators=(",", ":"))
            f.write("\n")
        print(name, "rows", len(out["hidden"]), "top of the last row",
              int(torch.argmax(lens[-1])))


if __name__ == "__main__":
    main()
