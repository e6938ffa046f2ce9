# mirror.py - one training run in PyTorch that mirrors gptscope's trainer, for
# searching hyperparameters on a GPU (bench/sweep/README.md): GPT-2 pre-norm
# blocks, tied head, dropout on embeddings / attention probabilities /
# residuals, AdamW (decay on matrices and embeddings), linear warm-up then
# cosine to a floor, clipping at 1.0, random windows, and a new BPE-dropout
# segmentation each epoch (ids from sweep_segments, so the same as the
# trainer's). It reports held-out bits per byte with sliding windows (stride
# ctx/2), as `gptscope eval` computes them, for the weights and for an
# exponential moving average of them. Products in bf16 (autocast) on CUDA.
#
#   python3 mirror.py CONFIG_JSON LOG DEADLINE_UNIX_TIME [cuda|cpu]
import json, math, os, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

cfg = json.loads(sys.argv[1])
out = sys.argv[2]
deadline = float(sys.argv[3])
dev = sys.argv[4] if len(sys.argv) > 4 else "cuda"
torch.set_num_threads(1)
torch.manual_seed(cfg.get("seed", 1))
np.random.seed(cfg.get("seed", 1))
D = cfg["dir"]
V = cfg["vocab"]
L, E, H, C = cfg["layers"], cfg["embd"], cfg["heads"], cfg["ctx"]
B, T = cfg["batch"], cfg["ctx"]
steps, warm = cfg["steps"], cfg["warmup"]
lr_max, lr_min = cfg["lr"], cfg["min_lr"]
drop, wd, p = cfg["dropout"], cfg["wd"], cfg["bpe_p"]
HELD_BYTES = cfg["heldout_bytes"]

def load(path):
    return torch.from_numpy(np.fromfile(path, dtype=np.uint16).astype(np.int64)).to(dev)

det = load(f"{D}/v{V}_det.0.u16")
val = load(f"{D}/v{V}_val.0.u16")
K = cfg.get("k", 60)
segs = [load(f"{D}/v{V}_p{int(round(p * 100))}.{e}.u16") for e in range(K)] if p > 0 else None


class Block(nn.Module):
    def __init__(s):
        super().__init__()
        s.ln1, s.ln2 = nn.LayerNorm(E), nn.LayerNorm(E)
        s.qkv, s.proj = nn.Linear(E, 3 * E), nn.Linear(E, E)
        s.fc, s.fc2 = nn.Linear(E, 4 * E), nn.Linear(4 * E, E)

    def forward(s, x):
        b, t, _ = x.shape
        q, k, v = s.qkv(s.ln1(x)).split(E, 2)
        q, k, v = (z.view(b, t, H, E // H).transpose(1, 2) for z in (q, k, v))
        if hasattr(F, "scaled_dot_product_attention"):
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                               dropout_p=drop if s.training else 0.0)
        else:  # old torch (local test only)
            a = (q @ k.transpose(-1, -2)) / math.sqrt(E // H)
            a = a.masked_fill(torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
            y = F.dropout(a.softmax(-1), drop, s.training) @ v
        y = y.transpose(1, 2).reshape(b, t, E)
        x = x + F.dropout(s.proj(y), drop, s.training)
        x = x + F.dropout(s.fc2(F.gelu(s.fc(s.ln2(x)), approximate="tanh")), drop, s.training)
        return x


class GPT(nn.Module):
    def __init__(s):
        super().__init__()
        s.wte, s.wpe = nn.Embedding(V, E), nn.Embedding(C, E)
        s.blocks = nn.ModuleList(Block() for _ in range(L))
        s.lnf = nn.LayerNorm(E)
        for n_, m in s.named_modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                std = 0.02
                if n_.endswith("proj") or n_.endswith("fc2"):
                    std = 0.02 / math.sqrt(2 * L)
                nn.init.normal_(m.weight, 0.0, std)
                if isinstance(m, nn.Linear):
                    nn.init.zeros_(m.bias)

    def forward(s, idx):
        t = idx.shape[1]
        x = s.wte(idx) + s.wpe(torch.arange(t, device=idx.device))
        x = F.dropout(x, drop, s.training)
        for blk in s.blocks:
            x = blk(x)
        return s.lnf(x) @ s.wte.weight.t()


model = GPT().to(dev)
# muon_lr > 0: the blocks' matrices are updated by Muon (momentum, then the
# update orthogonalised by a quintic Newton-Schulz iteration), the rest by AdamW
muon_lr = cfg.get("muon_lr", 0.0)
muon_wd = cfg.get("muon_wd", 0.0)
muon_mom = cfg.get("muon_mom", 0.95)
hidden = [q for n_, q in model.named_parameters() if q.dim() == 2 and n_.startswith("blocks")] if muon_lr > 0 else []
hid_ids = {id(q) for q in hidden}
decay = [q for n_, q in model.named_parameters() if q.dim() == 2 and id(q) not in hid_ids]
nodecay = [q for n_, q in model.named_parameters() if q.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                         {"params": nodecay, "weight_decay": 0.0}],
                        lr=lr_max, betas=(0.9, cfg.get("beta2", 0.95)), eps=1e-8,
                        **({"fused": True} if dev == "cuda" else {}))
mbuf = [torch.zeros_like(q) for q in hidden]


def newton_schulz(g, iters=cfg.get("ns_iters", 5)):
    a, b, c = 3.4445, -4.7750, 2.0315
    x = g.bfloat16() if dev == "cuda" else g.clone()
    tr = x.shape[0] > x.shape[1]
    if tr:
        x = x.t()
    x = x / (x.norm() + 1e-7)
    for _ in range(iters):
        A = x @ x.t()
        x = a * x + (b * A + c * A @ A) @ x
    return (x.t() if tr else x).float()


@torch.no_grad()
def muon_step(lr):
    for q, m in zip(hidden, mbuf):
        m.mul_(muon_mom).add_(q.grad)
        u = newton_schulz(q.grad + muon_mom * m)
        q.mul_(1 - lr * muon_wd)
        q.add_(u, alpha=-lr * max(1.0, q.shape[0] / q.shape[1]) ** 0.5)
params = [q for q in model.parameters()]
ema_decay = cfg.get("ema", 0.998)
ema = [q.detach().clone() for q in params]


def lr_at(step):
    if warm > 0 and step < warm:
        return lr_max * (step + 1) / warm
    if step >= steps:
        return lr_min
    frac = (step - warm) / max(1, steps - warm)
    return lr_min + 0.5 * (1 + math.cos(math.pi * frac)) * (lr_max - lr_min)


@torch.no_grad()
def heldout_bpb(stride=C // 2):
    model.eval()
    n = val.numel()
    starts = list(range(0, max(1, n - C), stride))
    if starts[-1] + C < n - 1:
        starts.append(n - 1 - C)
    nats, scored_to, cnt = 0.0, 1, 0
    ar = torch.arange(C, device=dev)
    for i in range(0, len(starts), 64):
        ss = torch.tensor(starts[i:i + 64], device=dev)
        xi = val[ss[:, None] + ar]
        yi = val[ss[:, None] + ar + 1]
        with torch.autocast(device_type=dev, dtype=torch.bfloat16, enabled=(dev == "cuda")):
            lg = model(xi)
        lp = F.log_softmax(lg.float(), -1).gather(-1, yi[..., None])[..., 0]
        for j, s0 in enumerate(starts[i:i + 64]):
            first = max(scored_to, s0 + 1)  # target index
            last = s0 + C  # inclusive target index
            if last >= first:
                nats -= lp[j, first - s0 - 1:last - s0].sum().item()
                cnt += last - first + 1
                scored_to = last + 1
    model.train()
    return nats / math.log(2) / HELD_BYTES, cnt


def swap_ema():
    for q, e in zip(params, ema):
        tmp = q.data.clone()
        q.data.copy_(e)
        e.copy_(tmp)


epoch_steps = math.ceil(det.numel() / (B * T))
ar1 = torch.arange(T + 1, device=dev)
log = open(out, "w", buffering=1)
log.write(json.dumps(cfg) + "\n")
t0 = time.time()
run_loss, run_n = 0.0, 0
best = (9.0, 0)
step = 0
while step < steps:
    seg = det if segs is None else segs[(step // epoch_steps) % K]
    offs = torch.randint(0, seg.numel() - T - 1, (B,), device=dev)
    w = seg[offs[:, None] + ar1]
    for g in opt.param_groups:
        g["lr"] = lr_at(step)
    with torch.autocast(device_type=dev, dtype=torch.bfloat16, enabled=(dev == "cuda")):
        lg = model(w[:, :-1])
    loss = F.cross_entropy(lg.float().view(-1, V), w[:, 1:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    if hidden:
        muon_step(muon_lr * lr_at(step) / lr_max)
    with torch.no_grad():
        if hasattr(torch, "_foreach_lerp_"):
            torch._foreach_lerp_(ema, params, 1.0 - ema_decay)
        else:
            for e_, q_ in zip(ema, params):
                e_.lerp_(q_, 1.0 - ema_decay)
    run_loss += loss.item() if step % 50 == 0 else 0.0
    run_n += 1 if step % 50 == 0 else 0
    step += 1
    late = time.time() > deadline
    if step % cfg.get("eval_every", 200) == 0 or step == steps or late:
        vb, cnt = heldout_bpb()
        swap_ema()
        eb, _ = heldout_bpb()
        swap_ema()
        if vb < best[0]:
            best = (vb, step)
        log.write(f"step {step} loss {run_loss / max(1, run_n):.4f} val_bpb {vb:.4f} ema_bpb {eb:.4f} "
                  f"t {time.time() - t0:.0f}s scored {cnt}\n")
        run_loss, run_n = 0.0, 0
    if late:
        log.write("DEADLINE\n")
        break
sb, _ = heldout_bpb(C // 8)
swap_ema()
se, _ = heldout_bpb(C // 8)
swap_ema()
log.write(f"stride {C // 8}: val_bpb {sb:.4f} ema_bpb {se:.4f}\n")
log.write(f"FINAL {cfg['name']} step {step} val_bpb {vb:.4f} ema_bpb {eb:.4f} best {best[0]:.4f}@{best[1]}\n")
