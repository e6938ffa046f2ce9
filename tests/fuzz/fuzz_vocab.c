/* fuzz_vocab.c - the vocabulary and merges loaders (core/tokenizer/tokenizer.c,
 * bpe_gpt2.c, bpe_gpt1.c). Input: one byte for the tokenizer kind (GPT-2 or
 * GPT-1), then vocab.json, a NUL byte, then merges.txt. A tokenizer that
 * loads must encode and decode a fixed text without error or give an error,
 * and every id it gives must be inside its vocabulary. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    tokenizer_kind_t kind = (data[0] & 1) ? TOKENIZER_GPT1 : TOKENIZER_GPT2;
    const uint8_t *v = data + 1, *nul = memchr(v, 0, size - 1);
    size_t vlen = nul ? (size_t)(nul - v) : size - 1;
    const uint8_t *mg = nul ? nul + 1 : v + vlen;
    size_t mlen = (size_t)(data + size - mg);
    const char *vp = fuzz_write(0, "vocab.json", v, vlen);
    const char *mp = fuzz_write(1, "merges.txt", mg, mlen);
    if (!vp || !mp) return 0;
    char err[512];
    tokenizer_t *tok = tokenizer_load_files(vp, mp, kind, err, sizeof err);
    if (!tok) return 0;
    static const char text[] = "Hello world, the caf\xc3\xa9 isn't open.\n<|endoftext|> 123";
    int *ids = NULL;
    size_t n = 0, cap = 0;
    if (tokenizer_encode(tok, text, sizeof text - 1, &ids, &n, &cap, err, sizeof err) == 0) {
        int V = tokenizer_vocab_size(tok);
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || ids[i] >= V) fuzz_fail("an id outside the vocabulary");
        size_t len = 0;
        free(tokenizer_decode(tok, ids, n, &len, err, sizeof err));
    }
    free(ids);
    tokenizer_free(tok);
    return 0;
}
