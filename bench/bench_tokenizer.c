/* bench_tokenizer.c - GPT-2 encoding speed on a text file (default:
 * ../shared/data/tinyshakespeare.txt), single thread. "cold" loads a fresh
 * tokenizer for each run, as one `gptscope tokenize` does; "warm" encodes
 * again with the word cache filled.
 *
 * usage: bench_tokenizer [MODEL_DIR [TEXT_FILE [RUNS]]] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tokenizer.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "../shared/data/gpt2";
    const char *path = argc > 2 ? argv[2] : "../shared/data/tinyshakespeare.txt";
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench_tokenizer: cannot open %s\n", path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len);
    if (!text || fread(text, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "bench_tokenizer: cannot read %s\n", path);
        return 1;
    }
    fclose(f);
    double best_cold = 1e9, best_warm = 1e9, best_load = 1e9;
    size_t n = 0;
    for (int r = 0; r < runs; r++) {
        char err[256];
        double t0 = now_s();
        tokenizer_t *tok = tokenizer_load(dir, TOKENIZER_GPT2, err, sizeof err);
        double t1 = now_s();
        if (!tok) {
            fprintf(stderr, "bench_tokenizer: %s\n", err);
            return 1;
        }
        int *ids = NULL;
        size_t cap = 0;
        for (int pass = 0; pass < 2; pass++) {
            n = 0;
            double a = now_s();
            if (tokenizer_encode(tok, text, (size_t)len, &ids, &n, &cap, err, sizeof err) != 0) {
                fprintf(stderr, "bench_tokenizer: %s\n", err);
                return 1;
            }
            double dt = now_s() - a;
            if (pass == 0 && dt < best_cold) best_cold = dt;
            if (pass == 1 && dt < best_warm) best_warm = dt;
        }
        if (t1 - t0 < best_load) best_load = t1 - t0;
        free(ids);
        tokenizer_free(tok);
    }
    printf("tokenizer load: %.1f ms\n", best_load * 1e3);
    printf("encode %s: %ld bytes -> %zu ids\n", path, len, n);
    printf("  cold cache: %.1f MB/s (%.1f ms)\n", (double)len / best_cold / 1e6, best_cold * 1e3);
    printf("  warm cache: %.1f MB/s (%.1f ms)\n", (double)len / best_warm / 1e6, best_warm * 1e3);
    free(text);
    return 0;
}
