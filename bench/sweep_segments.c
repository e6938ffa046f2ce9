/* sweep_segments.c - writes the token ids that gptscope's trainer would see,
 * for the PyTorch hyperparameter sweep in bench/sweep/ (which has no
 * tokenizer of its own, and must see exactly the segmentations that
 * `gptscope train --bpe-dropout P` produces).
 *
 *   sweep_segments TOKDIR TEXT P K PREFIX
 *
 * encodes TEXT with TOKDIR's vocab.json + merges.txt: with P = 0 once (the
 * deterministic encoding) into PREFIX.0.u16, else K times with BPE-dropout
 * P, seeded 1000 + k, into PREFIX.k.u16. Files are raw little-endian uint16
 * ids (the vocabulary must have at most 65536 tokens). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fileio.h"
#include "tokenizer.h"

static int seg_write(const char *path, const int *ids, size_t n, char *err, size_t errlen) {
    uint16_t *u = malloc(n * sizeof(*u) + 1);
    if (!u) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < n; i++) u[i] = (uint16_t)ids[i];
    int rc = fileio_write_atomic(path, u, n * sizeof(*u), err, errlen);
    free(u);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: sweep_segments TOKDIR TEXT P K PREFIX\n");
        return 2;
    }
    char err[4352]; /* room for a message about a PATH_MAX-long path */
    float p = strtof(argv[3], NULL);
    int k = atoi(argv[4]);
    if (p < 0.0f || p >= 1.0f || k < 1) {
        fprintf(stderr, "sweep_segments: P must be in [0, 1) and K >= 1\n");
        return 2;
    }
    tokenizer_t *tok = tokenizer_load(argv[1], TOKENIZER_GPT2, err, sizeof err);
    if (!tok) {
        fprintf(stderr, "sweep_segments: %s\n", err);
        return 1;
    }
    if (tokenizer_vocab_size(tok) > 65536) {
        fprintf(stderr, "sweep_segments: %s: more than 65536 tokens\n", argv[1]);
        tokenizer_free(tok);
        return 1;
    }
    size_t len = 0;
    char *text = NULL;
    if (fileio_read_file(argv[2], 0, &text, &len, err, sizeof err) != 0) {
        fprintf(stderr, "sweep_segments: %s\n", err);
        tokenizer_free(tok);
        return 1;
    }
    int rc = 0;
    int passes = p > 0.0f ? k : 1;
    for (int e = 0; e < passes && rc == 0; e++) {
        tokenizer_set_dropout(tok, p, 1000u + (uint64_t)e);
        int *ids = NULL;
        size_t n = 0, cap = 0;
        char path[4096];
        snprintf(path, sizeof path, "%s.%d.u16", argv[5], e);
        if (tokenizer_encode(tok, text, len, &ids, &n, &cap, err, sizeof err) != 0 ||
            seg_write(path, ids, n, err, sizeof err) != 0) {
            fprintf(stderr, "sweep_segments: %s\n", err);
            rc = 1;
        } else {
            fprintf(stderr, "%s: %zu tokens\n", path, n);
        }
        free(ids);
    }
    free(text);
    tokenizer_free(tok);
    return rc;
}
