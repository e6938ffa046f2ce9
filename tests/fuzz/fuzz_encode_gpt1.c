/* fuzz_encode_gpt1.c - the GPT-1 encoder (openai-gpt BPE: lower-cased,
 * split into words, "</w>" word ends) on arbitrary bytes, with the GPT-1
 * reference model's vocabulary. GPT-1's text normalisation loses case and
 * spacing, so there is no exact round trip: invalid UTF-8 must be refused,
 * every id of valid text be in the vocabulary and decode without error. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static tokenizer_t *tok;
    if (!tok) {
        char dir[1024], err[512];
        fuzz_src_path(dir, sizeof dir, "tests/reference/models/gpt1-f32");
        tok = tokenizer_load(dir, TOKENIZER_GPT1, err, sizeof err);
        if (!tok) {
            fprintf(stderr, "fuzz_encode_gpt1: %s\n", err);
            abort();
        }
    }
    int *ids = NULL;
    size_t n = 0, cap = 0;
    char err[512];
    if (tokenizer_encode(tok, (const char *)data, size, &ids, &n, &cap, err, sizeof err) == 0) {
        int V = tokenizer_vocab_size(tok);
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || ids[i] >= V) fuzz_fail("an id outside the vocabulary");
        size_t len = 0;
        char *back = tokenizer_decode(tok, ids, n, &len, err, sizeof err);
        if (!back) fuzz_fail("the ids of an encoded text do not decode");
        free(back);
    }
    free(ids);
    return 0;
}
