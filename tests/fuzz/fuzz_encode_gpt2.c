/* fuzz_encode_gpt2.c - the GPT-2 encoder (byte-level BPE) on arbitrary
 * bytes, with GPT-2's real vocabulary (../shared/data/gpt2, else the
 * reference model's): invalid UTF-8 must be refused; valid UTF-8 must
 * encode, every id be in the vocabulary, and decoding give back exactly the
 * input (byte-level BPE loses nothing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "tokenizer.h"

static int utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!k || i + k > n) return 0;
        uint32_t cp = k == 1 ? c : k == 2 ? c & 0x1f : k == 3 ? c & 0x0f : c & 0x07;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static tokenizer_t *tok;
    if (!tok) {
        char dir[1024], probe[1100], err[512];
        fuzz_src_path(dir, sizeof dir, "../shared/data/gpt2");
        snprintf(probe, sizeof probe, "%s/vocab.json", dir);
        struct stat sb;
        if (stat(probe, &sb) != 0) fuzz_src_path(dir, sizeof dir, "tests/reference/models/gpt2-f32");
        tok = tokenizer_load(dir, TOKENIZER_GPT2, err, sizeof err);
        if (!tok) {
            fprintf(stderr, "fuzz_encode_gpt2: %s\n", err);
            abort();
        }
    }
    int *ids = NULL;
    size_t n = 0, cap = 0;
    char err[512];
    int rc = tokenizer_encode(tok, (const char *)data, size, &ids, &n, &cap, err, sizeof err);
    int valid = utf8_valid(data, size);
    if (!valid && rc == 0) fuzz_fail("invalid UTF-8 was encoded");
    if (valid && rc != 0) fuzz_fail("valid UTF-8 was refused");
    if (rc == 0) {
        int V = tokenizer_vocab_size(tok);
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || ids[i] >= V) fuzz_fail("an id outside the vocabulary");
        size_t len = 0;
        char *back = tokenizer_decode(tok, ids, n, &len, err, sizeof err);
        if (!back || len != size || memcmp(back, data, size) != 0)
            fuzz_fail("decode(encode(text)) is not the text");
        free(back);
    }
    free(ids);
    return 0;
}
