#!/usr/bin/env python3
"""Golden values for gptscope's Muon optimiser (core/train/train_muon.c).

Muon written the way PyTorch users write it (torch.nn.Linear orientation
[out, in], Newton-Schulz on the wide orientation, Nesterov momentum, decoupled
weight decay, rate scaled by sqrt(max(1, out / in))), in float64, for three
steps of two matrices stored as gptscope stores them (Conv1D [in, out]): one
with out > in, one with out < in. Writes train/muon.json. Deterministic.

    /usr/bin/python3 tests/reference/make_muon_reference.py
"""
import json
import os

import torch

A, B, C = 3.4445, -4.7750, 2.0315


def newton_schulz(g, iters):
    x = g.clone()
    tr = x.shape[0] > x.shape[1]
    if tr:
        x = x.t()
    x = x / (x.norm() + 1e-7)
    for _ in range(iters):
        a = x @ x.t()
        x = A * x + (B * a + C * a @ a) @ x
    return x.t() if tr else x


def main():
    torch.manual_seed(7)
    hp = {"lr": 0.02, "weight_decay": 0.1, "momentum": 0.95, "ns_iters": 5, "steps": 3}
    cases = []
    for n_in, n_out in ((6, 10), (12, 5)):
        q = torch.randn(n_out, n_in, dtype=torch.float64) * 0.2   # torch layout [out, in]
        buf = torch.zeros_like(q)
        grads = [torch.randn(n_out, n_in, dtype=torch.float64) for _ in range(hp["steps"])]
        case = {"rows": n_in, "cols": n_out,
                "param": q.t().reshape(-1).tolist(),                 # Conv1D [in, out]
                "grads": [g.t().reshape(-1).tolist() for g in grads], "after": []}
        for g in grads:
            buf = hp["momentum"] * buf + g
            u = newton_schulz(g + hp["momentum"] * buf, hp["ns_iters"])
            q = q * (1 - hp["lr"] * hp["weight_decay"])
            q = q - hp["lr"] * max(1.0, n_out / n_in) ** 0.5 * u
            case["after"].append(q.t().reshape(-1).tolist())
        cases.append(case)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train", "muon.json")
    with open(out, "w") as f:
        json.dump({"hyper": hp, "cases": cases}, f, indent=None)
        f.write("\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
