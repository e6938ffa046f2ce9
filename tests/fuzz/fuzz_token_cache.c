/* fuzz_token_cache.c - the training token cache reader (core/train/dataset.c):
 * dataset_load with an arbitrary file where the cache of a fixed text
 * (tokenized with the GPT-2 reference model) should be. A cache that does
 * not match or is damaged is rebuilt; one that is read back must hold only
 * ids inside the vocabulary.
 *
 * The cache carries checksums of its header and of its ids, which random
 * mutations almost never get right: when the first input byte is odd the
 * target writes them correctly into the rest of the input first, so the
 * fuzzer also explores what lies behind them. The text file has a fixed
 * path (the path is part of the cache's identity) so that a seed made by
 * tests/fuzz/make_corpus.py matches it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "fuzz.h"
#include "tokenizer.h"

#define TEXT "hello world\nthe end of the text\n"

/* The fixed text file: on /dev/shm when there is one (as make_corpus.py). */
static const char *text_path(void) {
    static char path[256];
    if (path[0]) return path;
    struct stat sb;
    const char *base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/gptscope-fuzz-cache-text.txt", base);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(TEXT, 1, sizeof TEXT - 1, f) != sizeof TEXT - 1 || fclose(f) != 0 ||
        rename(tmp, path) != 0) { /* every process writes the same bytes: a rename is safe */
        perror("fuzz_token_cache: text file");
        abort();
    }
    return path;
}

static uint64_t get64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static tokenizer_t *tok;
    static char tok_dir[1024];
    if (!tok) {
        char err[512];
        fuzz_src_path(tok_dir, sizeof tok_dir, "tests/reference/models/gpt2-f32");
        tok = tokenizer_load(tok_dir, TOKENIZER_GPT2, err, sizeof err);
        if (!tok) {
            fprintf(stderr, "fuzz_token_cache: %s\n", err);
            abort();
        }
    }
    if (size < 1) return 0;
    size_t n = size - 1;
    uint8_t *c = malloc(n ? n : 1);
    if (!c) return 0;
    memcpy(c, data + 1, n);
    if ((data[0] & 1) && n >= 80) {
        uint64_t table = get64(c + 56);
        if (table <= n - 80) {
            uint64_t ids_hash = dataset_hash(0, c + 80 + table, n - 80 - (size_t)table);
            memcpy(c + 64, &ids_hash, 8);
            uint64_t hh = dataset_hash(dataset_hash(0, c, 72), c + 80, (size_t)table);
            memcpy(c + 72, &hh, 8);
        }
    }
    const char *cache = fuzz_write(0, "tokens.cache", c, n);
    free(c);
    if (!cache) return 0;
    const char *files[1] = {text_path()};
    dataset_opts_t o = {files, 1, NULL, 0, 0.25, tok_dir, cache, NULL, 0};
    dataset_t ds;
    memset(&ds, 0, sizeof ds);
    char err[512];
    if (dataset_load(&ds, tok, &o, err, sizeof err) == 0) {
        int V = tokenizer_vocab_size(tok);
        for (size_t i = 0; i < ds.n_train; i++)
            if (ds.train[i] < 0 || ds.train[i] >= V) fuzz_fail("a training id outside the vocabulary");
        for (size_t i = 0; i < ds.n_val; i++)
            if (ds.val[i] < 0 || ds.val[i] >= V) fuzz_fail("a validation id outside the vocabulary");
        if (ds.n_train == 0) fuzz_fail("no training ids from a non-empty text");
    }
    dataset_free(&ds);
    return 0;
}
