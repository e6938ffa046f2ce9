#!/usr/bin/python3
"""make_reference.py - small deterministic GPT-2 / GPT-1 checkpoints and the
outputs PyTorch computes for them, for tests/test_reference.c.

Run with Debian's torch (no transformers, no safetensors package needed):

    /usr/bin/python3 tests/reference/make_reference.py [--out tests/reference/models]

Each model directory has the exact Hugging Face layout (config.json,
model.safetensors, vocab.json, merges.txt) plus expected.json. Everything here
is written from the maths and the published formats, independently of the C
engine: the tokenizers are trained and applied by the plain BPE algorithm, the
forward pass is a direct transcription of the GPT-1/GPT-2 equations in float64,
and it is cross-checked against a second implementation built on
torch.nn.MultiheadAttention / F.layer_norm / F.gelu(approximate="tanh").
"""

import argparse
import json
import math
import os
import struct
import sys
import unicodedata

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------------------
# Text used to learn the merges, and the texts we encode. Plain English
# written for this file, so the byte pairs that get merged are the usual ones
# ("th", "e ", "ing", ...) and the prompts come out as a mix of merged tokens
# and single bytes.
TRAIN_TEXT = """\
The morning was cold and the river ran fast under the old stone bridge. A man
walked along the bank with his dog, and the dog ran ahead of him, then back
again, as dogs do. He was thinking of the letter he had written the night
before, and of the things he had not written in it. It's hard to say what
you mean when the words are the wrong shape for the thing you are trying to
hold. The sun came up over the hills and the water turned from grey to gold.
There were birds in the trees and a boat on the river, and the man stopped to
watch the boat go by. The people on the boat were laughing and one of them
waved to him. He waved back. Then he turned and walked home, and on the way he
decided that he would send the letter after all, and that the things he had
not written could wait for another morning. We don't always know the right
words, but we can find them if we're patient. They'll come in their own time,
the way the river comes to the sea: slowly, then all at once. In 1910 there
were 42 boats on this river; in 2024 there are only 7.
"""

GPT2_PROMPT = "The old man walked along the river.\n\nIt's 42  boats!<|endoftext|>We don't"
GPT2_EVAL = ("When the sun came up, the man and his dog walked home along the river. "
             "He didn't know the words yet.")
GPT1_PROMPT = "The Old man's boat, it's 42 ships... going ~fast!"
GPT1_EVAL = ("When the sun came up over the hills, the man walked home with his dog "
             "and thought about the letter he had written.")

N_MERGES = 80
GPT2_ARCH = dict(n_layer=2, n_head=4, n_embd=32, n_positions=64)
GPT1_ARCH = dict(n_layer=2, n_head=4, n_embd=32, n_positions=64)
LN_EPS = 1e-5
N_GREEDY = 20
MIN_MARGIN = 5e-3   # top-1 minus top-2 logit at every greedy step

# ---------------------------------------------------------------------------
# GPT-2 byte-level BPE.


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character table: printable
    Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in order."""
    keep = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1))
            + list(range(ord("\xae"), ord("\xff") + 1)))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def _cat(c):
    return unicodedata.category(c)[0]


def gpt2_presplit(text):
    """GPT-2's pre-tokenizer, written out as a scanner. It implements the
    pattern  's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
    alternative by alternative (Python's re has no \\p{L}; the texts here are
    ASCII, where this is exact)."""
    out, i, n = [], 0, len(text)
    is_l = lambda c: _cat(c) == "L"
    is_n = lambda c: _cat(c) == "N"
    is_s = lambda c: c.isspace()
    is_o = lambda c: not (is_s(c) or is_l(c) or is_n(c))
    while i < n:
        c = text[i]
        if c == "'":
            m = next((s for s in ("s", "t", "re", "ve", "m", "ll", "d")
                      if text.startswith(s, i + 1)), None)
            if m is not None:
                out.append(text[i:i + 1 + len(m)])
                i += 1 + len(m)
                continue
        matched = False
        for cls in (is_l, is_n, is_o):
            j = i + 1 if (c == " " and i + 1 < n and cls(text[i + 1])) else i
            if j < n and cls(text[j]):
                k = j
                while k < n and cls(text[k]):
                    k += 1
                out.append(text[i:k])
                i = k
                matched = True
                break
        if matched:
            continue
        # whitespace run: \s+(?!\S) keeps the last space for the next word.
        k = i
        while k < n and is_s(text[k]):
            k += 1
        if k < n and k - i >= 2:
            k -= 1
        out.append(text[i:k])
        i = k
    return out


def learn_merges(words, n_merges):
    """Classic BPE training: repeatedly merge the most frequent adjacent pair
    (ties broken by the smaller pair, so the result is deterministic).
    words: {tuple of symbols: count}."""
    words = dict(words)
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for w, cnt in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + cnt
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        new = {}
        for w, cnt in words.items():
            w2 = merge_word(w, best)
            new[w2] = new.get(w2, 0) + cnt
        words = new
    return merges


def merge_word(word, pair):
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(word[i] + word[i + 1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def bpe_apply(word, ranks):
    """Applies ranked merges the way both OpenAI encoders do: always merge the
    lowest-ranked pair present (all its occurrences), until none is ranked."""
    word = tuple(word)
    while len(word) > 1:
        pairs = set(zip(word, word[1:]))
        best = min(pairs, key=lambda p: ranks.get(p, math.inf))
        if best not in ranks:
            break
        word = merge_word(word, best)
    return word


class Gpt2Tokenizer:
    EOT = "<|endoftext|>"

    def __init__(self, train_text, n_merges):
        self.b2u = bytes_to_unicode()
        counts = {}
        for piece in gpt2_presplit(train_text):
            w = tuple(self.b2u[b] for b in piece.encode("utf-8"))
            counts[w] = counts.get(w, 0) + 1
        self.merges = learn_merges(counts, n_merges)
        # ids 0..255: the 256 byte symbols ordered by code point, which is
        # GPT-2's own order in encoder.json ("!" = 0 ... "Ń" = 255).
        vocab = {}
        for ch in sorted(self.b2u.values()):
            vocab[ch] = len(vocab)
        for a, b in self.merges:
            if a + b not in vocab:
                vocab[a + b] = len(vocab)
        vocab[self.EOT] = len(vocab)
        self.vocab = vocab
        self.inv = {i: s for s, i in vocab.items()}
        self.u2b = {u: b for b, u in self.b2u.items()}
        self.ranks = {p: r for r, p in enumerate(self.merges)}
        self.eot_id = vocab[self.EOT]

    def encode(self, text):
        ids = []
        parts = text.split(self.EOT)
        for k, part in enumerate(parts):
            if k > 0:
                ids.append(self.eot_id)
            for piece in gpt2_presplit(part):
                w = tuple(self.b2u[b] for b in piece.encode("utf-8"))
                ids.extend(self.vocab[s] for s in bpe_apply(w, self.ranks))
        return ids

    def decode(self, ids):
        data = bytearray()
        for i in ids:
            s = self.inv[i]
            data += s.encode("utf-8") if s == self.EOT else bytes(self.u2b[c] for c in s)
        return data.decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------
# GPT-1 BPE, as Hugging Face's OpenAIGPTTokenizer does without ftfy/spaCy:
# BERT's BasicTokenizer (clean, lower-case, strip accents, split punctuation),
# then BPE per word with "</w>" on the last symbol, unknown symbols -> <unk>.


def _is_punct(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def basic_tokenize(text):
    clean = []
    for c in text:
        cp = ord(c)
        if cp == 0 or cp == 0xFFFD or (unicodedata.category(c).startswith("C")
                                       and c not in "\t\n\r"):
            continue
        clean.append(" " if (c in " \t\n\r" or unicodedata.category(c) == "Zs") else c)
    out = []
    for tok in "".join(clean).split():
        tok = unicodedata.normalize("NFD", tok.lower())
        tok = "".join(c for c in tok if unicodedata.category(c) != "Mn")
        cur = ""
        for c in tok:
            if _is_punct(c):
                if cur:
                    out.append(cur)
                out.append(c)
                cur = ""
            else:
                cur += c
        if cur:
            out.append(cur)
    return out


class Gpt1Tokenizer:
    UNK = "<unk>"

    def __init__(self, train_text, n_merges):
        counts = {}
        for tok in basic_tokenize(train_text):
            w = self._word(tok)
            counts[w] = counts.get(w, 0) + 1
        self.merges = learn_merges(counts, n_merges)
        chars = sorted({c for tok in basic_tokenize(train_text) for c in tok})
        vocab = {}
        for c in chars:
            vocab[c] = len(vocab)
        for c in chars:
            vocab[c + "</w>"] = len(vocab)
        for a, b in self.merges:
            if a + b not in vocab:
                vocab[a + b] = len(vocab)
        vocab[self.UNK] = len(vocab)
        self.vocab = vocab
        self.inv = {i: s for s, i in vocab.items()}
        self.ranks = {p: r for r, p in enumerate(self.merges)}
        self.unk_id = vocab[self.UNK]

    @staticmethod
    def _word(tok):
        return tuple(tok[:-1]) + (tok[-1] + "</w>",)

    def encode(self, text):
        ids = []
        for tok in basic_tokenize(text):
            for s in bpe_apply(self._word(tok), self.ranks):
                ids.append(self.vocab.get(s, self.unk_id))
        return ids

    def decode(self, ids):
        # Hugging Face: "".join(tokens).replace("</w>", " ").strip()
        return "".join(self.inv[i] for i in ids).replace("</w>", " ").strip()


def write_merges(path, merges):
    # Both HF tokenizers read merges as read().split("\n")[1:-1]: a version
    # line first and a final newline are required.
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")


# ---------------------------------------------------------------------------
# safetensors writer (the format, not the package): u64 LE header length,
# JSON header padded with spaces to a multiple of 8, then the data area.

ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16; the bits are what we want
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors):
    """tensors: list of (name, torch tensor), written in that order."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors:
        data = tensor_bytes(t)
        header[name] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Reads back what write_safetensors wrote, to prove the file is sound."""
    with open(path, "rb") as f:
        raw = f.read()
    (hlen,) = struct.unpack("<Q", raw[:8])
    assert hlen % 8 == 0
    header = json.loads(raw[8:8 + hlen].decode("utf-8"))
    data = raw[8 + hlen:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        buf = bytearray(data[b:e])
        if info["dtype"] == "BF16":
            t = torch.frombuffer(buf, dtype=torch.int16).view(torch.bfloat16)
        else:
            dt = {"F32": torch.float32, "F16": torch.float16}[info["dtype"]]
            t = torch.frombuffer(buf, dtype=dt)
        out[name] = t.reshape(info["shape"]).clone()
    assert len(data) == max(i["data_offsets"][1] for k, i in header.items()
                            if k != "__metadata__")
    return out


# ---------------------------------------------------------------------------
# Weights and the forward pass.


def make_weights(seed, arch, vocab_size, gpt1):
    """Random weights, HF names without prefix, Conv1D layout [in, out]."""
    g = torch.Generator().manual_seed(seed)
    C, L, P = arch["n_embd"], arch["n_layer"], arch["n_positions"]
    rn = lambda *shape, std: torch.randn(*shape, generator=g, dtype=torch.float64) * std
    w = {}
    w["tokens_embed.weight" if gpt1 else "wte.weight"] = rn(vocab_size, C, std=0.3)
    # Strong position embeddings and sharp attention keep the greedy
    # continuations from settling into one repeated token, so they test the
    # KV cache over many different positions.
    w["positions_embed.weight" if gpt1 else "wpe.weight"] = rn(P, C, std=0.8)
    for i in range(L):
        p = f"h.{i}."
        w[p + "ln_1.weight"] = 1.0 + rn(C, std=0.1)
        w[p + "ln_1.bias"] = rn(C, std=0.1)
        w[p + "attn.c_attn.weight"] = rn(C, 3 * C, std=0.5)
        w[p + "attn.c_attn.bias"] = rn(3 * C, std=0.05)
        w[p + "attn.c_proj.weight"] = rn(C, C, std=0.2)
        w[p + "attn.c_proj.bias"] = rn(C, std=0.05)
        w[p + "ln_2.weight"] = 1.0 + rn(C, std=0.1)
        w[p + "ln_2.bias"] = rn(C, std=0.1)
        w[p + "mlp.c_fc.weight"] = rn(C, 4 * C, std=0.2)
        w[p + "mlp.c_fc.bias"] = rn(4 * C, std=0.05)
        w[p + "mlp.c_proj.weight"] = rn(4 * C, C, std=0.1)
        w[p + "mlp.c_proj.bias"] = rn(C, std=0.05)
    if not gpt1:
        w["ln_f.weight"] = 1.0 + rn(C, std=0.1)
        w["ln_f.bias"] = rn(C, std=0.1)
    return w


def layer_norm(x, g, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)  # biased, as LayerNorm uses
    return (x - mean) / torch.sqrt(var + eps) * g + b


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def attention(x, w, p, n_head):
    """Causal multi-head self-attention. x [T, C]; c_attn [C, 3C] gives q|k|v,
    head h owns dims h*D..(h+1)*D. Returns the output [T, C] and the softmax
    weights [H, T, T]."""
    T, C = x.shape
    D = C // n_head
    qkv = x @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
    q, k, v = qkv[:, :C], qkv[:, C:2 * C], qkv[:, 2 * C:]
    q = q.reshape(T, n_head, D).transpose(0, 1)
    k = k.reshape(T, n_head, D).transpose(0, 1)
    v = v.reshape(T, n_head, D).transpose(0, 1)
    scores = q @ k.transpose(1, 2) / math.sqrt(D)
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(future, -math.inf)
    att = torch.softmax(scores, dim=-1)
    y = (att @ v).transpose(0, 1).reshape(T, C)
    return y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"], att


def mlp(x, w, p):
    h = gelu_tanh(x @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
    return h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]


def forward(w, arch, ids, gpt1):
    """logits [T, V] and attention weights [L, H, T, T] for one sequence."""
    wte = w["tokens_embed.weight" if gpt1 else "wte.weight"]
    wpe = w["positions_embed.weight" if gpt1 else "wpe.weight"]
    T = len(ids)
    x = wte[torch.tensor(ids)] + wpe[:T]
    atts = []
    for i in range(arch["n_layer"]):
        p = f"h.{i}."
        if gpt1:   # post-norm: n = ln_1(x + attn(x)); x = ln_2(n + mlp(n))
            a, att = attention(x, w, p, arch["n_head"])
            n = layer_norm(x + a, w[p + "ln_1.weight"], w[p + "ln_1.bias"], LN_EPS)
            x = layer_norm(n + mlp(n, w, p), w[p + "ln_2.weight"], w[p + "ln_2.bias"], LN_EPS)
        else:      # pre-norm: x += attn(ln_1(x)); x += mlp(ln_2(x))
            a, att = attention(layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], LN_EPS),
                               w, p, arch["n_head"])
            x = x + a
            x = x + mlp(layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], LN_EPS), w, p)
        atts.append(att)
    if not gpt1:
        x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], LN_EPS)
    return x @ wte.T, torch.stack(atts)


def forward_nn(w, arch, ids, gpt1):
    """Second implementation from torch's own modules, to check forward()."""
    wte = w["tokens_embed.weight" if gpt1 else "wte.weight"]
    wpe = w["positions_embed.weight" if gpt1 else "wpe.weight"]
    T, C, H = len(ids), arch["n_embd"], arch["n_head"]
    x = (wte[torch.tensor(ids)] + wpe[:T]).unsqueeze(1)          # [T, 1, C]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    ln = lambda t, p: F.layer_norm(t, (C,), w[p + ".weight"], w[p + ".bias"], LN_EPS)
    atts = []
    for i in range(arch["n_layer"]):
        p = f"h.{i}."
        mha = torch.nn.MultiheadAttention(C, H, dtype=torch.float64)
        with torch.no_grad():
            mha.in_proj_weight.copy_(w[p + "attn.c_attn.weight"].T)
            mha.in_proj_bias.copy_(w[p + "attn.c_attn.bias"])
            mha.out_proj.weight.copy_(w[p + "attn.c_proj.weight"].T)
            mha.out_proj.bias.copy_(w[p + "attn.c_proj.bias"])
        ffn = lambda t: F.linear(F.gelu(F.linear(t, w[p + "mlp.c_fc.weight"].T,
                                                 w[p + "mlp.c_fc.bias"]), approximate="tanh"),
                                 w[p + "mlp.c_proj.weight"].T, w[p + "mlp.c_proj.bias"])
        if gpt1:
            a, att = mha(x, x, x, attn_mask=mask, average_attn_weights=False)
            n = ln(x + a, p + "ln_1")
            x = ln(n + ffn(n), p + "ln_2")
        else:
            hx = ln(x, p + "ln_1")
            a, att = mha(hx, hx, hx, attn_mask=mask, average_attn_weights=False)
            x = x + a
            x = x + ffn(ln(x, p + "ln_2"))
        atts.append(att[0])
    if not gpt1:
        x = ln(x, "ln_f")
    return F.linear(x[:, 0], wte), torch.stack(atts)


def mean_nll(logits, ids):
    """Mean next-token cross-entropy (nats) over the T-1 predictions."""
    lp = torch.log_softmax(logits[:-1], dim=-1)
    return -lp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].mean().item()


def greedy(w, arch, prompt, n, gpt1):
    """Greedy continuation (full recompute per step) and the smallest gap
    between the best and second-best logit over all steps."""
    ids, margin = list(prompt), math.inf
    for _ in range(n):
        logits, _ = forward(w, arch, ids, gpt1)
        top = torch.topk(logits[-1], 2)
        margin = min(margin, (top.values[0] - top.values[1]).item())
        ids.append(int(top.indices[0]))
    return ids[len(prompt):], margin


# ---------------------------------------------------------------------------
# Output.


def fmt(v):
    """float32 value as %.8g (enough digits to round-trip a float32)."""
    v = float(torch.tensor(v, dtype=torch.float32))
    s = "%.8g" % v
    return "0" if s == "-0" else s


def dump(obj, indent=0):
    """JSON with float32 values as %.8g and one matrix row per line."""
    pad = "  " * indent
    if isinstance(obj, dict):
        items = [f'{pad}  {json.dumps(k)}: {dump(v, indent + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, torch.Tensor):
        if obj.dim() == 1:
            return "[" + ",".join(fmt(x) for x in obj.tolist()) + "]"
        rows = [pad + "  " + dump(r, indent + 1) for r in obj]
        return "[\n" + ",\n".join(rows) + "\n" + pad + "]"
    if isinstance(obj, float):
        return repr(obj)
    return json.dumps(obj, ensure_ascii=False)


def gpt2_config(arch, vocab_size, eot):
    return {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": eot,
        "embd_pdrop": 0.1,
        "eos_token_id": eot,
        "initializer_range": 0.02,
        "layer_norm_epsilon": LN_EPS,
        "model_type": "gpt2",
        "n_ctx": arch["n_positions"],
        "n_embd": arch["n_embd"],
        "n_head": arch["n_head"],
        "n_inner": None,
        "n_layer": arch["n_layer"],
        "n_positions": arch["n_positions"],
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "use_cache": True,
        "vocab_size": vocab_size,
    }


def gpt1_config(arch, vocab_size):
    return {
        "afn": "gelu",
        "architectures": ["OpenAIGPTLMHeadModel"],
        "attn_pdrop": 0.1,
        "embd_pdrop": 0.1,
        "initializer_range": 0.02,
        "layer_norm_epsilon": LN_EPS,
        "model_type": "openai-gpt",
        "n_ctx": arch["n_positions"],
        "n_embd": arch["n_embd"],
        "n_head": arch["n_head"],
        "n_layer": arch["n_layer"],
        "n_positions": arch["n_positions"],
        "n_special": 0,
        "predict_special_tokens": True,
        "resid_pdrop": 0.1,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "vocab_size": vocab_size,
    }


def rounded(w, dtype):
    """The weights as the file stores them, upcast back to float64."""
    return {k: v.to(dtype).to(torch.float64) for k, v in w.items()}


def build_expected(name, w, arch, tok, gpt1, dtype_name, prompt_text, eval_text):
    ids = tok.encode(prompt_text)
    logits, att = forward(w, arch, ids, gpt1)
    logits2, att2 = forward_nn(w, arch, ids, gpt1)
    assert (logits - logits2).abs().max() < 1e-9, "forward() disagrees with torch.nn"
    assert (att - att2).abs().max() < 1e-12, "attention disagrees with torch.nn"
    eval_ids = tok.encode(eval_text)
    assert len(eval_ids) <= arch["n_positions"]
    eval_logits, _ = forward(w, arch, eval_ids, gpt1)
    loss = mean_nll(eval_logits, eval_ids)
    gprompt = ids[:8]
    gids, margin = greedy(w, arch, gprompt, N_GREEDY, gpt1)
    V = logits.shape[1]
    cfg = {"n_layer": arch["n_layer"], "n_head": arch["n_head"], "n_embd": arch["n_embd"],
           "n_ctx": arch["n_positions"], "n_vocab": V, "pre_norm": 0 if gpt1 else 1,
           "final_ln": 0 if gpt1 else 1, "ln_eps": LN_EPS,
           "eos_id": -1 if gpt1 else tok.eot_id}
    exp = {
        "model": name,
        "model_type": "openai-gpt" if gpt1 else "gpt2",
        "dtype": dtype_name,
        "config": cfg,
        "text": prompt_text,
        "decoded": tok.decode(ids),
        "ids": ids,
        "incremental": {"prefill": 5, "note": "the C test feeds ids[0:prefill] in one call, "
                        "then one id per call; every position's logits must equal the "
                        "'logits' row, and each decode step's attention row the 'attn' row"},
        "logits": logits,
        "attn": {"shape": list(att.shape), "weights": att},
        "eval": {"text": eval_text, "ids": eval_ids, "tokens": len(eval_ids),
                 "predictions": len(eval_ids) - 1, "loss": loss, "ppl": math.exp(loss)},
        "greedy": {"prompt_ids": gprompt, "ids": gids, "min_margin": margin},
    }
    return exp, margin


def write_model(outdir, name, tensors, config, tok, exp):
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "model.safetensors"), tensors)
    back = read_safetensors(os.path.join(d, "model.safetensors"))
    for n, t in tensors:
        assert back[n].dtype == t.dtype and torch.equal(back[n], t), n
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(tok.vocab, f, ensure_ascii=False)
    write_merges(os.path.join(d, "merges.txt"), tok.merges)
    with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
        f.write(dump(exp) + "\n")


def pick_seed(make, expect, check_dtypes, start):
    """First seed from `start` whose greedy runs all have clear margins, in
    every dtype the weights will be stored in. expect(w, dtype, name) returns
    (expected, margin)."""
    for seed in range(start, start + 100):
        w = make(seed)
        results = []
        for dt_name, dt in check_dtypes:
            e, margin = expect(w, dt, dt_name)
            if margin <= MIN_MARGIN:
                break
            results.append((dt_name, dt, e))
        else:
            return seed, w, results
        print(f"seed {seed}: greedy margin {margin:.2e} too small, trying the next",
              file=sys.stderr)
    raise SystemExit("no seed with clear greedy margins")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "models"))
    args = ap.parse_args()
    torch.set_num_threads(1)

    # --- GPT-2 family ------------------------------------------------------
    tok2 = Gpt2Tokenizer(TRAIN_TEXT, N_MERGES)
    assert tok2.decode(tok2.encode(GPT2_PROMPT)) == GPT2_PROMPT
    V2 = len(tok2.vocab)
    expect2 = lambda w, dt, dn: build_expected(
        "gpt2-" + dn.lower(), rounded(w, dt), GPT2_ARCH, tok2, False, dn,
        GPT2_PROMPT, GPT2_EVAL)
    seed2, w2, res2 = pick_seed(lambda s: make_weights(s, GPT2_ARCH, V2, False), expect2,
                                [("F32", torch.float32), ("F16", torch.float16),
                                 ("BF16", torch.bfloat16)], 1234)
    cfg2 = gpt2_config(GPT2_ARCH, V2, tok2.eot_id)
    for dn, dt, exp in res2:
        exp["seed"] = seed2
        name = "gpt2-" + dn.lower()
        exp["model"] = name
        cfg = dict(cfg2, torch_dtype={"F32": "float32", "F16": "float16",
                                      "BF16": "bfloat16"}[dn])
        write_model(args.out, name, [(k, v.to(dt)) for k, v in w2.items()], cfg, tok2, exp)
        if dn == "F32":
            # Same weights under the names GPT2LMHeadModel.save_pretrained
            # uses, with the tied lm_head.weight and the causal-mask buffers
            # older exports carry; the loader must take the first and skip
            # the rest.
            P = GPT2_ARCH["n_positions"]
            mask = torch.tril(torch.ones(P, P)).reshape(1, 1, P, P)
            tensors = [("transformer." + k, v.to(dt)) for k, v in w2.items()]
            for i in range(GPT2_ARCH["n_layer"]):
                tensors.append((f"transformer.h.{i}.attn.bias", mask))
            tensors.append(("lm_head.weight", w2["wte.weight"].to(dt)))
            exp = dict(exp, model="gpt2-prefixed")
            write_model(args.out, "gpt2-prefixed", tensors, cfg, tok2, exp)
    print(f"gpt2: seed {seed2}, vocab {V2}, {len(tok2.merges)} merges, prompt "
          f"{len(res2[0][2]['ids'])} ids, margins "
          + ", ".join(f"{dn} {e['greedy']['min_margin']:.3g}" for dn, _, e in res2))

    # --- GPT-1 family ------------------------------------------------------
    tok1 = Gpt1Tokenizer(TRAIN_TEXT, N_MERGES)
    V1 = len(tok1.vocab)
    expect1 = lambda w, dt, dn: build_expected(
        "gpt1-f32", rounded(w, dt), GPT1_ARCH, tok1, True, dn, GPT1_PROMPT, GPT1_EVAL)
    seed1, w1, res1 = pick_seed(lambda s: make_weights(s, GPT1_ARCH, V1, True), expect1,
                                [("F32", torch.float32)], 4321)
    exp1 = res1[0][2]
    exp1["seed"] = seed1
    assert tok1.unk_id in exp1["ids"], "the GPT-1 prompt should exercise <unk>"
    write_model(args.out, "gpt1-f32", [(k, v.float()) for k, v in w1.items()],
                gpt1_config(GPT1_ARCH, V1), tok1, exp1)
    print(f"gpt1: seed {seed1}, vocab {V1}, prompt {len(exp1['ids'])} ids, "
          f"margin {exp1['greedy']['min_margin']:.3g}")

if __name__ == "__main__":
    main()
