#!/usr/bin/python3
"""An independent GPT-2 tokenizer in pure Python (standard library only), used
to produce expected ids for tests/test_tokenizer.c beyond the published
tokenizer-cases.jsonl.

It runs GPT-2's real pre-split regex with Python's `re` engine (Debian's
python3 lacks the `regex` module, so \\p{L}, \\p{N} and \\s are spelled out as
character classes built from unicodedata; \\s is Unicode's White_Space
property, as in tiktoken), and the merge loop is encoder.py's bpe() as
published by OpenAI. Nothing here shares code or logic with the C scanner.

usage: gpt2_tokenizer_ref.py VOCAB_DIR TINYSHAKESPEARE > tests/reference/gpt2-tokenizer-cases.jsonl
"""
import json
import sys
import unicodedata

WHITE_SPACE = [(0x09, 0x0D), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680),
               (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F),
               (0x3000, 0x3000)]


def ranges_where(pred):
    out, start = [], None
    for cp in range(0x110000):
        if pred(chr(cp)):
            if start is None:
                start = cp
        elif start is not None:
            out.append((start, cp - 1))
            start = None
    if start is not None:
        out.append((start, 0x10FFFF))
    return out


def char_class(ranges):
    def esc(cp):
        return "\\U%08x" % cp
    return "".join(esc(a) if a == b else esc(a) + "-" + esc(b) for a, b in ranges)


def build_pattern():
    import re
    letters = char_class(ranges_where(lambda c: unicodedata.category(c).startswith("L")))
    numbers = char_class(ranges_where(lambda c: unicodedata.category(c).startswith("N")))
    space = char_class(WHITE_SPACE)
    pat = (r"'s|'t|'re|'ve|'m|'ll|'d| ?[%s]+| ?[%s]+| ?[^%s%s%s]+|[%s]+(?![^%s])|[%s]+"
           % (letters, numbers, space, letters, numbers, space, space, space))
    return re.compile(pat)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def get_pairs(word):
    return set(zip(word, word[1:]))


class Encoder:
    def __init__(self, directory):
        with open(directory + "/vocab.json", encoding="utf-8") as f:
            self.encoder = json.load(f)
        with open(directory + "/merges.txt", encoding="utf-8") as f:
            merges = f.read().split("\n")[1:-1]
        self.bpe_ranks = dict(zip([tuple(m.split()) for m in merges], range(len(merges))))
        self.byte_encoder = bytes_to_unicode()
        self.pat = build_pattern()
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        pairs = get_pairs(word)
        if not pairs:
            return [token]
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        self.cache[token] = list(word)
        return list(word)

    def encode_ordinary(self, text):
        ids = []
        for tok in self.pat.findall(text):
            mapped = "".join(self.byte_encoder[b] for b in tok.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(mapped))
        return ids

    def encode(self, text):
        ids = []
        parts = text.split("<|endoftext|>")
        for k, part in enumerate(parts):
            if k:
                ids.append(self.encoder["<|endoftext|>"])
            ids.extend(self.encode_ordinary(part))
        return ids


def fnv1a64_ids(ids):
    h = 0xCBF29CE484222325
    for i in ids:
        for b in i.to_bytes(4, "little"):
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


CASES = [
    "don't DON'T Don't", "I'll we've they're he'd I'm she's it'd", "'s' ''s '''",
    "a   b", "\n\n\n", "trailing  ", "  \n  x", "a \tb", "x\ty", "a\u00a0b", "a \u3000 b",
    "12345", "1234567890 3.14159 -42", "\uff13\u216b\u00bd", "e\u0301t\u00e9",
    "Hello \u043c\u0438\u0440 \u4e16\u754c \U0001F600!", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "a<|endoftext|>b", "<|endoftext|<|endoftext|>>", "tab\t\tend\t", "\r\n\r\n",
    "\x01\x02 \x7f", "#include <stdio.h>\nint main(void) { return 0; }\n",
    "    indented code", "emoji \U0001F44D\U0001F3FD\u200d\u2640\ufe0f", "\u00e6\u00f8\u00e5 \u00df \u0130stanbul",
    " ", "", "!!!???", " !!!", "$$ 100$", "caf\u00e9 na\u00efve r\u00e9sum\u00e9", "\u0085x\u2028y",
    "x \u0085y", "a\u0085\u0085b", "x \u00a0y", "x\x1c\x1d y", "x \u180ey", "x\u2029\u2029 y",
]


def main():
    enc = Encoder(sys.argv[1])
    for text in CASES:
        print(json.dumps({"text": text, "ids": enc.encode(text)}))
    with open(sys.argv[2], encoding="utf-8") as f:
        ids = enc.encode(f.read())
    print(json.dumps({"file": "tinyshakespeare.txt", "n_ids": len(ids),
                      "fnv1a64": "%016x" % fnv1a64_ids(ids)}))


if __name__ == "__main__":
    main()
