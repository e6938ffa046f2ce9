#!/usr/bin/python3
"""GPT-1's pre-split, written the way Hugging Face's BERT BasicTokenizer
(do_lower_case=True) does it, with Python's own str.lower(), unicodedata NFC/NFD
and categories: the oracle for bpe_gpt1.c's cleaning, CJK spacing, lower-casing,
accent stripping and punctuation splitting on tricky Unicode.

It writes tests/reference/gpt1-basic/: a vocabulary holding every character
("c" and "c</w>") of the expected words, no merges, and cases.jsonl with each
text and the token strings it must become (each word's characters, "</w>" on
the last). tests/test_tokenizer.c compares.

usage: /usr/bin/python3 tests/reference/gpt1_basic_ref.py
"""
import json
import os
import unicodedata

def _is_whitespace(c):
    if c in " \t\n\r": return True
    return unicodedata.category(c) == "Zs"
def _is_control(c):
    if c in "\t\n\r": return False
    return unicodedata.category(c).startswith("C")
def _is_punctuation(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126: return True
    return unicodedata.category(c).startswith("P")
def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)
def basic(text):
    out = []
    for c in text:
        cp = ord(c)
        if cp == 0 or cp == 0xFFFD or _is_control(c): continue
        out.append(" " if _is_whitespace(c) else c)
    text = "".join(out)
    text = "".join(" %s " % c if is_cjk(ord(c)) else c for c in text)
    text = unicodedata.normalize("NFC", text)
    toks = text.strip().split()
    split = []
    for t in toks:
        t = t.lower()
        t = "".join(c for c in unicodedata.normalize("NFD", t) if unicodedata.category(c) != "Mn")
        words = []
        start = True
        for c in t:
            if _is_punctuation(c):
                words.append([c]); start = True
            else:
                if start: words.append([])
                start = False
                words[-1].append(c)
        split.extend("".join(w) for w in words)
    return " ".join(split).strip().split()
texts = ["Hello, World!", "ΟΔΥΣΣΕΥΣ ΣΑΣ Σ. ΑΣ'Β", "İstanbul ǅemal Straße", "naïve café Ångström ñ", "東京タワー 한국어 日本語",
 "a\u2028b\u2029c", "x\u200by\ufeffz", "tab\there\x0bvt\x0cff\x1cfs", "e\u0301\u0323 \u1e69", "$5 + 3^2 = `x` ~ok",
 "«quoted» „low“ ‘single’ — dash … ellipsis", "ﬁne ﬀ ½ ² ℌ", "\u00a0nbsp\u3000ideo", "Ǆ ǅ ǆ", "ΣΣΣ σς", "\u0130I\u0131i",
 "\U0001F600 smile \U0001F44D", "豈更 compat", "Ω ohm \u2126", "AÅ\u030a", "\uac00\ud7a3 hangul"]
pieces = [basic(t) for t in texts]
chars = sorted({c for p in pieces for w in p for c in w})
vocab = {"<unk>": 0}
for c in chars:
    vocab.setdefault(c, len(vocab)); vocab.setdefault(c + "</w>", len(vocab))
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpt1-basic")
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
    json.dump(vocab, f, ensure_ascii=False)
with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as f:
    f.write("#version: 0.2\n")
with open(os.path.join(out, "cases.jsonl"), "w", encoding="utf-8") as f:
    for t, p in zip(texts, pieces):
        toks = [tok for w in p for tok in list(w[:-1]) + [w[-1] + "</w>"]]
        f.write(json.dumps({"text": t, "tokens": toks}) + "\n")
