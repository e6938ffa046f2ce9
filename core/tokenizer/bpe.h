/* bpe.h - the shared BPE header of core/tokenizer/: the tokenizer struct
 * (the vocabulary, merges and scratch every encoder reads), the
 * ranked-merge engine and its word cache (bpe.c), and UTF-8 helpers. The
 * two families differ only in how text becomes the initial symbols of a
 * word (bpe_gpt2.c: bytes; bpe_gpt1.c: characters + "</w>"); merging,
 * caching and id lookup are here. Internal to the folder: the rest of the
 * program uses tokenizer.h.
 *
 * Symbols: every vocabulary string is a symbol whose id is its token id; a
 * merge result that is not in the vocabulary (GPT-1 allows this, the word
 * then maps to <unk>) gets an extra symbol id >= n_vocab. Merges are a hash
 * map (left symbol, right symbol) -> (rank, result symbol). */
#ifndef GPTSCOPE_BPE_H
#define GPTSCOPE_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "tokenizer.h"

typedef struct bpe_pair {
    uint32_t left, right; /* left == UINT32_MAX: empty slot */
    int32_t rank, result;
} bpe_pair_t;

typedef struct bpe_cache_slot {
    uint64_t hash;    /* 0: empty slot */
    uint32_t key_off; /* into cache.keys */
    uint32_t key_len;
    uint32_t ids_off; /* into cache.ids */
    uint32_t n_ids;
} bpe_cache_slot_t;

/* Word -> ids memo. Natural text repeats a few thousand words, so almost
 * every word is a hit; the cache is cleared when it reaches its limits so
 * that memory stays bounded on adversarial input. */
typedef struct bpe_cache {
    bpe_cache_slot_t *slots;
    size_t mask, count;
    char *keys;
    size_t keys_len, keys_cap;
    int *ids;
    size_t ids_len, ids_cap;
} bpe_cache_t;

/* Heap entry of the merge loop: a candidate pair starting at symbol pos. */
typedef struct bpe_cand {
    int32_t rank, pos;
    int32_t left, right, result;
} bpe_cand_t;

/* Scratch memory of the merge loop, grown to the longest word seen. */
typedef struct bpe_work {
    int32_t *prev, *next;
    bpe_cand_t *heap, *batch;
    bpe_cand_t *skip;  /* candidates dropped by BPE-dropout, tried again after a merge */
    int32_t *merged;
    size_t cap, heap_cap;
    int32_t *syms; /* initial symbols of the word being encoded */
    size_t syms_cap;
} bpe_work_t;

struct tokenizer {
    tokenizer_kind_t kind;
    int n_vocab;    /* token ids are 0..n_vocab-1 */
    int n_sym;      /* n_vocab + merge results outside the vocabulary */
    int eot_id;     /* "<|endoftext|>" or -1 */
    int unk_id;     /* GPT-1 "<unk>" or -1 */
    char *strs;     /* arena of NUL-terminated symbol strings (vocab.json form) */
    size_t strs_len, strs_cap;
    uint32_t *sym_off, *sym_len; /* [n_sym] */
    size_t sym_cap;
    char *bytes;    /* arena of NUL-terminated decoded token bytes */
    uint32_t *bytes_off, *bytes_len; /* [n_vocab] */
    int32_t *sym_slots; /* open addressing over symbol ids, -1 empty */
    size_t sym_mask;
    bpe_pair_t *pairs;
    size_t pair_mask;
    int32_t byte_sym[256]; /* GPT-2: symbol of each byte's one-char token */
    bpe_cache_t cache;
    bpe_work_t work;
    float dropout;  /* BPE-dropout probability (0: the deterministic encoding) */
    rng_t drop_rng; /* draws of BPE-dropout, seeded by tokenizer_set_dropout */
};

/* Growable output of tokenizer_encode (the caller's vector). */
typedef struct bpe_out {
    int **ids;
    size_t *n, *cap;
} bpe_out_t;

/* --- bpe.c --- */
/* A 64-bit hash of len bytes, never 0 (the cache's empty marker). */
uint64_t bpe_hash_bytes(const void *data, size_t len);

/* Slot of a (left, right) pair: a multiplicative hash, cheaper than hashing
 * the 8 bytes, and ids are small dense integers so it spreads well. */
static inline size_t bpe_pair_slot(int32_t left, int32_t right, size_t mask) {
    uint64_t key = ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}
/* Symbol id of an exact string, or -1. */
int32_t bpe_symbol_find(const tokenizer_t *tok, const char *s, size_t len);
/* Appends k ids; returns 0 or -1 when out of memory. */
int bpe_out_push(bpe_out_t *out, const int *ids, size_t k);
/* Encodes one pre-token (its bytes are the cache key); syms_of builds the
 * initial symbols into tok->work.syms on a cache miss and returns their count
 * (or -1 when out of memory). Returns 0 or -1 (out of memory). */
typedef int (*bpe_syms_fn)(tokenizer_t *tok, const char *word, size_t len);
int bpe_encode_word(tokenizer_t *tok, const char *word, size_t len, bpe_syms_fn syms_of,
                    bpe_out_t *out);
/* Makes room for n initial symbols in tok->work.syms; 0 or -1. */
int bpe_work_reserve_syms(tokenizer_t *tok, size_t n);

/* --- UTF-8 --- */

/* Length of the UTF-8 character at s (n bytes available), checked as
 * Unicode's "maximal subpart" rule (the one Python's decoder follows):
 *   > 0  a valid character of that many bytes, its code point in *cp;
 *   < 0  an invalid sequence whose maximal subpart is -ret bytes (one U+FFFD);
 *   0    a valid but unfinished prefix: all n bytes belong to it. */
static inline int bpe_utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned b0 = s[0];
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    int need;
    unsigned lo = 0x80, hi = 0xBF;
    uint32_t c;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 1;
        c = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 2;
        c = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0; /* no overlongs */
        if (b0 == 0xED) hi = 0x9F; /* no surrogates */
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 3;
        c = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90; /* no overlongs */
        if (b0 == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return -1;
    }
    for (int k = 1; k <= need; k++) {
        if ((size_t)k >= n) return 0;
        unsigned b = s[k];
        if (b < lo || b > hi) return -k;
        lo = 0x80;
        hi = 0xBF;
        c = (c << 6) | (b & 0x3F);
    }
    *cp = c;
    return need + 1;
}

/* Writes cp as UTF-8 into out (room for 4); returns the byte count. */
static inline int bpe_utf8_put(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Offset of the first byte that is not valid UTF-8 in s, or len if all is. */
size_t bpe_utf8_invalid_at(const char *s, size_t len); /* bpe.c */

#endif
