#!/usr/bin/env python3
"""Seed corpus for the fuzz targets (tests/fuzz/fuzz_*.c), made from files
in the tree, so no binary blob is committed that cannot be made again:

    python3 tests/fuzz/make_corpus.py OUT [--target NAME] [--store-fill BIN]

writes OUT/NAME/ for every target (or just NAME). The store target's seed
is a database written by the test program store_fill (--store-fill; without
it that target gets only a few hand-made inputs)."""
import argparse
import json
import os
import struct
import subprocess
import tempfile

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.path.join(SRC, "tests", "reference", "models")
TARGETS = ["safetensors", "model", "config", "vocab", "encode_gpt2", "encode_gpt1", "store",
           "token_cache"]


def read(*parts):
    with open(os.path.join(*parts), "rb") as f:
        return f.read()


def put(out, name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def st_file(tensors):
    """A small safetensors file: {name: (dtype, shape, bytes)}."""
    header, off, blob = {}, 0, b""
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        blob += data
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob


def seeds_safetensors(out):
    for m in ("gpt2-f32", "gpt1-f32", "gpt2-f16", "gpt2-bf16", "gpt2-prefixed"):
        put(out, m, read(MODELS, m, "model.safetensors"))
    put(out, "small", st_file({"a": ("F32", [2, 2], b"\0" * 16), "b": ("BF16", [3], b"\0" * 6)}))
    put(out, "meta", st_file({}).replace(b"{}", b'{"__metadata__":{"format":"pt"}}'))
    put(out, "empty-table", st_file({}))


def seeds_model(out):
    put(out, "gpt2", b"\0" + read(MODELS, "gpt2-f32", "model.safetensors"))
    put(out, "gpt1", b"\1" + read(MODELS, "gpt1-f32", "model.safetensors"))
    put(out, "gpt2-bf16", b"\0" + read(MODELS, "gpt2-bf16", "model.safetensors"))


def seeds_config(out):
    for m in ("gpt2-f32", "gpt1-f32"):
        put(out, m, read(MODELS, m, "config.json"))
    put(out, "bundled", read(SRC, "assets", "default-model", "config.json"))


def seeds_vocab(out):
    put(out, "gpt2", b"\0" + read(MODELS, "gpt2-f32", "vocab.json") + b"\0" +
        read(MODELS, "gpt2-f32", "merges.txt"))
    put(out, "gpt1", b"\1" + read(MODELS, "gpt1-f32", "vocab.json") + b"\0" +
        read(MODELS, "gpt1-f32", "merges.txt"))


def seeds_text(out):
    cases = os.path.join(SRC, "..", "shared", "data", "gpt2", "tokenizer-cases.jsonl")
    texts = ["Hello world", "caf\u00e9 na\u00efve \u65e5\u672c\u8a9e \U0001f600", "<|endoftext|>x",
             "  spaces\t\ttabs\r\nnewlines\n\n", "'s 're 've 'll 'd 123456 ..."]
    if os.path.exists(cases):
        for line in open(cases, encoding="utf-8"):
            if line.strip():
                texts.append(json.loads(line)["text"])
            if len(texts) >= 60:
                break
    for i, t in enumerate(texts):
        put(out, f"text{i:02d}", t.encode("utf-8"))
    put(out, "invalid", b"ab\xc3(\xff\xfe")


def seeds_store(out, store_fill):
    put(out, "not-sqlite", b"not a database\n" * 8)
    put(out, "header-only", b"SQLite format 3\0" + b"\0" * 84)
    if store_fill:
        with tempfile.TemporaryDirectory() as d:
            db = os.path.join(d, "s.db")
            subprocess.run([store_fill, db], check=True, stdout=subprocess.DEVNULL)
            put(out, "store_fill", read(db))
            db2 = os.path.join(d, "e.db")
            subprocess.run([store_fill, db2, "--empty"], check=True, stdout=subprocess.DEVNULL)
            put(out, "empty", read(db2))
            db3 = os.path.join(d, "f.db")
            subprocess.run([store_fill, db3, "--fork"], check=True, stdout=subprocess.DEVNULL)
            put(out, "forked", read(db3))


def fnv(h, data):
    if h == 0:
        h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def seeds_token_cache(out):
    """A valid cache for the fuzz target's text, tokenizer and split (the
    layout of core/train/dataset.c), and a damaged copy."""
    text = b"hello world\nthe end of the text\n"
    base = "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp"
    path = f"{base}/gptscope-fuzz-cache-text.txt".encode()
    d = os.path.join(MODELS, "gpt2-f32")
    vocab, merges = read(d, "vocab.json"), read(d, "merges.txt")
    n_vocab = len(json.loads(vocab))
    tok = fnv(0, struct.pack("<i", 0))  # tokenizer kind GPT-2
    for data in (vocab, merges):
        tok = fnv(tok, struct.pack("<Q", len(data)))
        tok = fnv(tok, data)
    table = struct.pack("<QQII", len(text), fnv(0, text), 0, len(path)) + path
    ids = [5, 6, 7, 8, 9, 10, 11, 12]
    nt, nv = 6, 2
    raw = b"".join(struct.pack("<H", i % n_vocab) for i in ids)
    h = b"GPTSCTOK" + struct.pack("<IIII", 2, 2, n_vocab, 1) + struct.pack("<Q", tok)
    h += struct.pack("<d", 0.25) + struct.pack("<QQQQ", nt, nv, len(table), fnv(0, raw))
    h += struct.pack("<Q", fnv(fnv(0, h), table))
    cache = h + table + raw
    put(out, "valid", b"\0" + cache)
    put(out, "valid-fix", b"\1" + cache)
    put(out, "truncated", b"\1" + cache[:-3])
    put(out, "not-a-cache", b"\0" + b"x" * 100)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--target", choices=TARGETS)
    ap.add_argument("--store-fill")
    a = ap.parse_args()
    for t in [a.target] if a.target else TARGETS:
        out = os.path.join(a.out, t)
        os.makedirs(out, exist_ok=True)
        if t == "store":
            seeds_store(out, a.store_fill)
        elif t in ("encode_gpt2", "encode_gpt1"):
            seeds_text(out)
        else:
            globals()["seeds_" + t](out)


if __name__ == "__main__":
    main()
