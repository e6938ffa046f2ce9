#!/usr/bin/env python3
"""Multinomial naive Bayes written independently of core/task/naive_bayes.c, for
e2e_task.sh: the same word rule (runs of ASCII letters/digits and non-ASCII
bytes, lower-cased, cut at 128 bytes), add-alpha smoothing, unseen words
skipped. Prints the accuracy and the confusion matrix as JSON."""
import json, math, re, sys
from collections import Counter

WORD = re.compile(rb"[A-Za-z0-9\x80-\xff]+")

def words(fields):
    for f in fields:
        for w in WORD.findall(f.encode("utf-8")):
            yield w[:128].lower()

def read(path):
    for line in open(path, encoding="utf-8"):
        if line.strip():
            d = json.loads(line)
            yield [d["text"]], str(d["label"])

def main(train, test, alpha=1.0):
    counts, totals, docs = {}, Counter(), Counter()
    for fields, label in read(train):
        docs[label] += 1
        c = counts.setdefault(label, Counter())
        for w in words(fields):
            c[w] += 1
            totals[label] += 1
    labels = sorted(docs)
    vocab = set()
    for c in counts.values():
        vocab.update(c)
    V, n = len(vocab), sum(docs.values())
    conf = [[0] * len(labels) for _ in labels]
    for fields, label in read(test):
        best, best_k = -math.inf, 0
        ws = [w for w in words(fields) if w in vocab]
        for k, lab in enumerate(labels):
            s = math.log(docs[lab] / n)
            for w in ws:
                s += math.log((counts[lab][w] + alpha) / (totals[lab] + alpha * V))
            if s > best:
                best, best_k = s, k
        conf[labels.index(label)][best_k] += 1
    right = sum(conf[k][k] for k in range(len(labels)))
    print(json.dumps({"accuracy": right / sum(map(sum, conf)), "confusion": conf, "vocabulary": V}))

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
