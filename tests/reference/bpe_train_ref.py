#!/usr/bin/python3
"""A slow, obviously-correct byte-level BPE trainer in plain Python, the
reference for core/tokenizer/bpe_train.c (tests/test_bpe_train.c compares against the
golden files it writes).

It shares no code with the C trainer: the pre-split is GPT-2's real regex
(built by gpt2_tokenizer_ref.py with the standard library's `re`), and every
round recounts every pair of every word from scratch ("naive" BPE), where the
C code keeps incremental counts, a pair -> words index and a heap.

The rules both must follow:
- "<|endoftext|>" is cut out of the text; each piece, and each file, is
  pre-split on its own, so no word spans a cut or two files.
- Symbol ids: the 256 bytes in GPT-2's order (the order of bytes_to_unicode:
  printable bytes first), then 256, 257, ... for the merges in order.
- Each round merges the pair with the highest count (occurrences weighted by
  word frequency, overlapping ones included: "aaa" holds (a, a) twice). Ties
  go to the smallest left id, then the smallest right id.
- A merge rewrites every word left to right, non-overlapping.
- Stop when the vocabulary (bytes + merges + "<|endoftext|>") reaches
  vocab_size, no pair is left, or the best count is below min_frequency.

usage: bpe_train_ref.py --vocab-size N [--min-frequency F] [--head BYTES] -o DIR FILE...
writes DIR/vocab.json and DIR/merges.txt (GPT-2's format). --head keeps only
the first BYTES bytes of each file.
"""
import argparse
import collections
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_tokenizer_ref import build_pattern, bytes_to_unicode  # noqa: E402

EOT = "<|endoftext|>"


def count_words(texts):
    pat = build_pattern()
    words = collections.Counter()
    for text in texts:
        for piece in text.split(EOT):
            for w in pat.findall(piece):
                words[w.encode("utf-8")] += 1
    return words


def merge_word(word, pair, new_id):
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == pair[0] and word[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def train(texts, vocab_size, min_frequency):
    b2u = bytes_to_unicode()
    byte_order = list(b2u)                      # id -> byte, GPT-2's order
    id_of_byte = {b: i for i, b in enumerate(byte_order)}
    token_bytes = [bytes([b]) for b in byte_order]
    words = collections.Counter()
    for w, c in count_words(texts).items():
        words[tuple(id_of_byte[b] for b in w)] += c
    merges = []
    while 256 + len(merges) + 1 < vocab_size:
        counts = collections.Counter()
        for w, c in words.items():
            for pair in zip(w, w[1:]):
                counts[pair] += c
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p[0], p[1]))
        if counts[best] < min_frequency:
            break
        new_id = 256 + len(merges)
        merges.append(best)
        token_bytes.append(token_bytes[best[0]] + token_bytes[best[1]])
        rewritten = collections.Counter()
        for w, c in words.items():
            rewritten[merge_word(w, best, new_id)] += c
        words = rewritten
    spell = ["".join(b2u[b] for b in t) for t in token_bytes]
    if len(set(spell)) != len(spell):
        raise SystemExit("two merges produced the same token")
    vocab = {s: i for i, s in enumerate(spell)}
    vocab[EOT] = len(spell)
    merges_txt = "#version: 0.2\n" + "".join("%s %s\n" % (spell[a], spell[b]) for a, b in merges)
    return vocab, merges_txt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--vocab-size", type=int, required=True)
    ap.add_argument("--min-frequency", type=int, default=2)
    ap.add_argument("--head", type=int, default=0)
    ap.add_argument("-o", required=True)
    a = ap.parse_args()
    texts = []
    for path in a.files:
        with open(path, "rb") as f:
            data = f.read()
        if a.head:
            data = data[:a.head]
        texts.append(data.decode("utf-8"))
    vocab, merges_txt = train(texts, a.vocab_size, a.min_frequency)
    os.makedirs(a.o, exist_ok=True)
    with open(os.path.join(a.o, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(a.o, "merges.txt"), "w", encoding="utf-8") as f:
        f.write(merges_txt)
    print("%s: %d tokens, %d merges" % (a.o, len(vocab), len(vocab) - 257), file=sys.stderr)


if __name__ == "__main__":
    main()
