/* dataset.h - training text as token ids: the train/validation split, the
 * token cache, and the batches.
 *
 * The text files are read, split (the validation set is the last val_frac of
 * their concatenation, cut at the first newline at or after that point, or
 * explicit validation files), tokenized once, and cached in a binary file
 * whose header identifies the tokenizer (a hash of vocab.json + merges.txt),
 * every source file (path, size, content hash) and the split; later runs
 * whose tokenizer, texts and split are byte-identical reuse it, anything
 * else (or a truncated or damaged cache) rebuilds it. Batches are random
 * windows chosen by a generator seeded from (seed, step, micro-step), so a
 * resumed run draws exactly the same ones. */
#ifndef GPTSCOPE_DATASET_H
#define GPTSCOPE_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer.h"

/* What dataset_load did with the token cache. */
typedef enum dataset_cache {
    DATASET_CACHE_OFF = 0,     /* no cache_path given */
    DATASET_CACHE_REUSED,      /* read back: tokenizer, texts and split unchanged */
    DATASET_CACHE_CREATED,     /* there was none: tokenized and written */
    DATASET_CACHE_REBUILT      /* stale or damaged (cache_note says why): rewritten */
} dataset_cache_t;

typedef struct dataset {
    int *train, *val;          /* token ids */
    size_t n_train, n_val;
    uint64_t key;              /* hash of tokenizer + texts + split: the cache's identity */
    char **texts;              /* with dataset_opts_t.keep_text: the training part of each */
    size_t *text_lens;         /* file (n_texts of them), for dataset_resegment */
    int n_texts;
    dataset_cache_t cache;
    char cache_note[320];      /* why a cache was rebuilt ("book.txt changed", "truncated") */
} dataset_t;

typedef struct dataset_opts {
    const char *const *files;  /* training text files */
    int n_files;
    const char *const *val_files; /* explicit validation files (n_val_files > 0), else split */
    int n_val_files;
    double val_frac;           /* 0..0.5; 0 = no validation set */
    const char *tokenizer_dir; /* vocab.json + merges.txt, hashed into the key */
    const char *cache_path;    /* the token cache file to read or write */
    const char *val_text_path; /* where to write the held-out text (NULL: don't) */
    int keep_text;             /* 1: keep the training texts in the dataset (BPE-dropout) */
} dataset_opts_t;

/* Reads the texts and the cache (rebuilding it when missing, stale or
 * damaged). Returns 0, or -1 with "FILE: problem" in err. */
int dataset_load(dataset_t *ds, tokenizer_t *tok, const dataset_opts_t *opts, char *err,
                 size_t errlen);
void dataset_free(dataset_t *ds);

/* Only the training part of the texts (as the split of dataset_load makes
 * it), one buffer per file, for learning a vocabulary before tokenizing:
 * texts[i] (malloc'd, free with dataset_texts_free) has lens[i] bytes. */
int dataset_train_texts(const dataset_opts_t *opts, char ***texts, size_t **lens, char *err,
                        size_t errlen);
void dataset_texts_free(char **texts, size_t *lens, int n);

/* B windows of T + 1 tokens from the training ids: inputs [B*T] and the
 * next-token targets [B*T]. Needs n_train > T. */
void dataset_batch(const dataset_t *ds, uint64_t seed, int64_t step, int micro, int B, int T,
                   int *inputs, int *targets);
/* The same from any id array of n > T ids. */
void dataset_batch_ids(const int *ids, size_t n, uint64_t seed, int64_t step, int micro, int B,
                       int T, int *inputs, int *targets);

/* Tokenizes the kept training texts again with BPE-dropout probability p and
 * the generator seeded with seed (tokenizer_set_dropout; the tokenizer is
 * deterministic again afterwards): *ids (malloc'd) gets *n ids, a new
 * segmentation of the same text. Needs keep_text; returns 0 or -1 with err. */
int dataset_resegment(const dataset_t *ds, tokenizer_t *tok, float p, uint64_t seed, int **ids,
                      size_t *n, char *err, size_t errlen);

/* Content hash (FNV-1a 64) used for cache keys. */
uint64_t dataset_hash(uint64_t h, const void *data, size_t n);

#endif
