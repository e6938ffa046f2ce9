/* bpe.c - the byte-pair merge engine both tokenizer families share (bpe.h):
 * symbol lookup, the ranked merge loop (with BPE-dropout), the word cache,
 * and UTF-8 validation. The families differ only in how a word becomes its
 * first symbols (bpe_gpt2.c: one per byte; bpe_gpt1.c: one per character,
 * "</w>" on the last); everything after that is here. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"

/* A 64-bit multiply-xorshift hash over 8-byte chunks; never returns 0 (the
 * cache's empty marker). */
uint64_t bpe_hash_bytes(const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (len * 0xA0761D6478BD642Full);
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        p += 8;
        len -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, p, len);
    h = (h ^ v) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    return h ? h : 1;
}

/* --- symbols --- */

int32_t bpe_symbol_find(const tokenizer_t *tok, const char *s, size_t len) {
    size_t i = bpe_hash_bytes(s, len) & tok->sym_mask;
    for (;;) {
        int32_t id = tok->sym_slots[i];
        if (id < 0) return -1;
        if (tok->sym_len[id] == len && memcmp(tok->strs + tok->sym_off[id], s, len) == 0)
            return id;
        i = (i + 1) & tok->sym_mask;
    }
}

/* --- the merge engine --- */

/* Candidate order: lowest rank first, then leftmost. */
static int cand_less(const bpe_cand_t *a, const bpe_cand_t *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(bpe_cand_t *heap, size_t *n, bpe_cand_t c) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!cand_less(&c, &heap[parent])) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = c;
}

static bpe_cand_t heap_pop(bpe_cand_t *heap, size_t *n) {
    bpe_cand_t top = heap[0], last = heap[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= *n) break;
        if (child + 1 < *n && cand_less(&heap[child + 1], &heap[child])) child++;
        if (!cand_less(&heap[child], &last)) break;
        heap[i] = heap[child];
        i = child;
    }
    if (*n) heap[i] = last;
    return top;
}

static const bpe_pair_t *pair_find(const tokenizer_t *tok, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return NULL;
    size_t i = bpe_pair_slot(left, right, tok->pair_mask);
    for (;;) {
        const bpe_pair_t *p = &tok->pairs[i];
        if (p->left == UINT32_MAX) return NULL;
        if (p->left == (uint32_t)left && p->right == (uint32_t)right) return p;
        i = (i + 1) & tok->pair_mask;
    }
}

static int work_reserve(bpe_work_t *w, size_t n) {
    if (n <= w->cap) return 0;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < n) cap *= 2;
    int32_t *prev = realloc(w->prev, cap * sizeof *prev);
    if (prev) w->prev = prev;
    int32_t *next = realloc(w->next, cap * sizeof *next);
    if (next) w->next = next;
    int32_t *merged = realloc(w->merged, cap * sizeof *merged);
    if (merged) w->merged = merged;
    /* Each merge pushes at most two candidates: 3n bounds the heap and so
     * also a batch popped from it. */
    bpe_cand_t *batch = realloc(w->batch, 3 * cap * sizeof *batch);
    if (batch) w->batch = batch;
    bpe_cand_t *heap = realloc(w->heap, 3 * cap * sizeof *heap);
    if (heap) w->heap = heap;
    bpe_cand_t *skip = realloc(w->skip, 3 * cap * sizeof *skip);
    if (skip) w->skip = skip;
    if (!prev || !next || !merged || !batch || !heap || !skip) return -1;
    w->cap = cap;
    return 0;
}

int bpe_work_reserve_syms(tokenizer_t *tok, size_t n) {
    bpe_work_t *w = &tok->work;
    if (n <= w->syms_cap) return 0;
    size_t cap = w->syms_cap ? w->syms_cap : 64;
    while (cap < n) cap *= 2;
    int32_t *syms = realloc(w->syms, cap * sizeof *syms);
    if (!syms) return -1;
    w->syms = syms;
    w->syms_cap = cap;
    return 0;
}

static void push_pair(const tokenizer_t *tok, bpe_work_t *w, size_t *n_heap, const int32_t *sym,
                      int32_t pos) {
    if (pos < 0) return;
    int32_t right = w->next[pos];
    if (right < 0) return;
    const bpe_pair_t *p = pair_find(tok, sym[pos], sym[right]);
    if (p) heap_push(w->heap, n_heap, (bpe_cand_t){p->rank, pos, sym[pos], sym[right], p->result});
}

/* Applies the ranked merges to sym[0..n) in place and returns the new count.
 *
 * The reference (encoder.py bpe()) repeatedly takes the lowest-ranked pair
 * present and merges all its occurrences left to right in one pass. Here a
 * heap of candidate pairs (rank, position) gives the lowest rank; all its
 * occurrences are popped together (same rank = same pair, in position order)
 * and merged before any pair they create is considered, which is exactly the
 * reference's order, in O(n log n) rather than O(n^2). Stale heap entries
 * are detected by re-checking the two symbols at merge time. A sym of -1 is a
 * symbol outside the tables (GPT-1's unknown characters): it never merges.
 *
 * With BPE-dropout each applicable occurrence is dropped with probability
 * tok->dropout; dropped ones wait in w->skip and go back into the heap after
 * the next batch that merges something (as Hugging Face's BPE does), so a
 * dropped merge can still happen later, and the loop ends when nothing but
 * dropped candidates is left. */
static int bpe_merge(tokenizer_t *tok, int32_t *sym, int n) {
    if (n < 2) return n;
    bpe_work_t *w = &tok->work;
    if (work_reserve(w, (size_t)n) != 0) return -1;
    for (int i = 0; i < n; i++) {
        w->prev[i] = i - 1;
        w->next[i] = i + 1 < n ? i + 1 : -1;
    }
    size_t n_heap = 0, n_skip = 0;
    float drop = tok->dropout;
    for (int i = 0; i + 1 < n; i++) push_pair(tok, w, &n_heap, sym, i);
    while (n_heap) {
        bpe_cand_t first = heap_pop(w->heap, &n_heap);
        size_t n_batch = 0;
        w->batch[n_batch++] = first;
        while (n_heap && w->heap[0].rank == first.rank)
            w->batch[n_batch++] = heap_pop(w->heap, &n_heap);
        size_t n_merged = 0;
        for (size_t b = 0; b < n_batch; b++) {
            const bpe_cand_t *c = &w->batch[b];
            int32_t right = w->next[c->pos];
            if (sym[c->pos] != c->left || right < 0 || sym[right] != c->right) continue;
            if (drop > 0 && rng_uniform(&tok->drop_rng) < drop) {
                w->skip[n_skip++] = *c;
                continue;
            }
            sym[c->pos] = c->result;
            sym[right] = -2; /* consumed */
            w->next[c->pos] = w->next[right];
            if (w->next[right] >= 0) w->prev[w->next[right]] = c->pos;
            w->merged[n_merged++] = c->pos;
        }
        for (size_t m = 0; m < n_merged; m++) {
            int32_t pos = w->merged[m];
            push_pair(tok, w, &n_heap, sym, w->prev[pos]);
            push_pair(tok, w, &n_heap, sym, pos);
        }
        if (n_merged && n_skip) { /* stale ones are filtered when popped again */
            for (size_t k = 0; k < n_skip; k++) heap_push(w->heap, &n_heap, w->skip[k]);
            n_skip = 0;
        }
    }
    int out = 0;
    for (int i = 0; i >= 0; i = w->next[i]) sym[out++] = sym[i];
    return out;
}

/* --- the word cache --- */

#define BPE_CACHE_MAX_WORDS ((size_t)1 << 18)
#define BPE_CACHE_MAX_WORD_LEN 256 /* longer words are rare and not worth keeping */

static void cache_clear(bpe_cache_t *c) {
    if (c->slots) memset(c->slots, 0, (c->mask + 1) * sizeof *c->slots);
    c->count = c->keys_len = c->ids_len = 0;
}

static const bpe_cache_slot_t *cache_find(const bpe_cache_t *c, const char *word, size_t len,
                                          uint64_t h) {
    if (!c->slots) return NULL;
    for (size_t i = h & c->mask;; i = (i + 1) & c->mask) {
        const bpe_cache_slot_t *s = &c->slots[i];
        if (!s->hash) return NULL;
        if (s->hash == h && s->key_len == len && memcmp(c->keys + s->key_off, word, len) == 0)
            return s;
    }
}

static int grow(void **buf, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < need) n *= 2;
    void *p = realloc(*buf, n * elem);
    if (!p) return -1;
    *buf = p;
    *cap = n;
    return 0;
}

/* Remembers word -> ids. Failing to remember only costs speed, so running
 * out of memory here is not an error. */
static void cache_put(bpe_cache_t *c, const char *word, size_t len, uint64_t h, const int *ids,
                      size_t n_ids) {
    if (len > BPE_CACHE_MAX_WORD_LEN) return;
    if (c->count >= BPE_CACHE_MAX_WORDS) cache_clear(c);
    if (!c->slots || 2 * (c->count + 1) > c->mask + 1) {
        size_t cap = c->slots ? 2 * (c->mask + 1) : 4096;
        bpe_cache_slot_t *slots = calloc(cap, sizeof *slots);
        if (!slots) return;
        for (size_t i = 0; c->slots && i <= c->mask; i++) {
            if (!c->slots[i].hash) continue;
            size_t j = c->slots[i].hash & (cap - 1);
            while (slots[j].hash) j = (j + 1) & (cap - 1);
            slots[j] = c->slots[i];
        }
        free(c->slots);
        c->slots = slots;
        c->mask = cap - 1;
    }
    if (grow((void **)&c->keys, &c->keys_cap, c->keys_len + len, 1) != 0 ||
        grow((void **)&c->ids, &c->ids_cap, c->ids_len + n_ids, sizeof *c->ids) != 0)
        return;
    size_t j = h & c->mask;
    while (c->slots[j].hash) j = (j + 1) & c->mask;
    c->slots[j] = (bpe_cache_slot_t){h, (uint32_t)c->keys_len, (uint32_t)len,
                                     (uint32_t)c->ids_len, (uint32_t)n_ids};
    memcpy(c->keys + c->keys_len, word, len);
    if (n_ids) memcpy(c->ids + c->ids_len, ids, n_ids * sizeof *ids);
    c->keys_len += len;
    c->ids_len += n_ids;
    c->count++;
}

int bpe_out_push(bpe_out_t *out, const int *ids, size_t k) {
    if (k == 0) return 0; /* a word whose pieces were all dropped; *out->ids may be NULL */
    if (*out->n + k > *out->cap) {
        size_t cap = *out->cap ? *out->cap : 256;
        while (cap < *out->n + k) cap *= 2;
        int *grown = realloc(*out->ids, cap * sizeof *grown);
        if (!grown) return -1;
        *out->ids = grown;
        *out->cap = cap;
    }
    memcpy(*out->ids + *out->n, ids, k * sizeof *ids);
    *out->n += k;
    return 0;
}

int bpe_encode_word(tokenizer_t *tok, const char *word, size_t len, bpe_syms_fn syms_of,
                    bpe_out_t *out) {
    /* BPE-dropout draws a new segmentation every time: no memo either way. */
    int memo = !(tok->dropout > 0);
    uint64_t h = bpe_hash_bytes(word, len);
    const bpe_cache_slot_t *hit = memo ? cache_find(&tok->cache, word, len, h) : NULL;
    /* a word that encodes to nothing (GPT-1 symbols outside a vocabulary
     * without "<unk>") is cached with no ids, maybe before the id store exists */
    if (hit) return hit->n_ids ? bpe_out_push(out, tok->cache.ids + hit->ids_off, hit->n_ids) : 0;
    int n = syms_of(tok, word, len);
    if (n < 0) return -1;
    int32_t *sym = tok->work.syms;
    n = bpe_merge(tok, sym, n);
    if (n < 0) return -1;
    /* Symbols outside the vocabulary (GPT-1 only) are the unknown token; a
     * vocabulary without "<unk>" drops them, as Hugging Face's fast BPE does
     * when no unknown token is configured. */
    int kept = 0;
    for (int i = 0; i < n; i++) {
        int32_t id = sym[i];
        if (id < 0 || id >= tok->n_vocab) id = tok->unk_id;
        if (id >= 0) sym[kept++] = id;
    }
    n = kept;
    if (memo) cache_put(&tok->cache, word, len, h, sym, (size_t)n);
    return bpe_out_push(out, sym, (size_t)n);
}

/* --- UTF-8 --- */

size_t bpe_utf8_invalid_at(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (len - i >= 8) { /* ASCII fast path */
            uint64_t v;
            memcpy(&v, u + i, 8);
            if (!(v & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        uint32_t cp;
        int k = bpe_utf8_next(u + i, len - i, &cp);
        if (k <= 0) return i;
        i += (size_t)k;
    }
    return len;
}
