/* bpe_train.c - learning byte-level BPE merges from a corpus (bpe_train.h).
 *
 * 1. Words. "<|endoftext|>" is cut out of every text, each piece is pre-split
 *    with the GPT-2 encoder's own scanner (bpe_gpt2_pretoken_end, so training
 *    and encoding see the same words), and the distinct words are counted in
 *    a hash map. A word points into the caller's text; nothing is copied.
 * 2. Pairs. Every distinct word becomes one symbol per byte; every adjacent
 *    pair is counted, weighted by the word's count (overlapping occurrences
 *    too: "aaa" holds (a, a) twice, as in every BPE trainer), and each pair
 *    keeps the list of words it occurs in.
 * 3. Merges. The most frequent pair becomes the next symbol, and only the
 *    words on its list are rewritten (left to right, non-overlapping), each
 *    by taking its pairs out of the counts and putting the new ones back. A
 *    max-heap with lazy deletion finds the best pair: an entry whose count is
 *    out of date is re-queued with the current count when it surfaces. That
 *    is exact because a merge only lowers the counts of old pairs (their
 *    stale entries sit too high and are corrected before they can win) and
 *    every pair that gains occurrences (those holding the new symbol) is
 *    queued afresh.
 *    Ties go to the smallest left id, then the smallest right id (Hugging
 *    Face's BpeTrainer uses the same rule on its own ids). Since merges get
 *    increasing ids, that favours pairs of older, shorter symbols.
 *
 * Symbol ids are the final vocabulary ids: the bytes 0..255 in GPT-2's order
 * (bytes_to_unicode's: the printable bytes first, then the rest), then one
 * per merge. tests/reference/bpe_train_ref.py is the same algorithm written
 * the slow way (recount everything every round); the tests compare. */
#include "bpe_train.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpe_gpt2.h"
#include "fileio.h"

static const char bt_eot[] = "<|endoftext|>";
#define BT_EOT_LEN (sizeof bt_eot - 1)

typedef struct bt_word {
    const char *bytes; /* into the caller's text */
    size_t n_bytes;
    uint64_t hash;
    size_t sym_off;    /* its symbols: bt.syms[sym_off .. sym_off + n_sym) */
    size_t n_sym;      /* shrinks as merges apply */
    int64_t count;     /* occurrences in the corpus */
} bt_word_t;

typedef struct bt_pair {
    int32_t left, right;
    int64_t count;     /* occurrences, weighted by word count */
    int32_t *words;    /* distinct words that hold, or once held, the pair */
    size_t n_words, cap_words;
    int32_t last_word; /* the word appended last, so none is listed twice */
    int32_t queued;    /* merge at which it was last marked for the heap */
} bt_pair_t;

typedef struct bt_cand { /* heap entry: a pair and its count when queued */
    int64_t count;
    int32_t left, right, pair;
} bt_cand_t;

typedef struct bt {
    bt_word_t *words;
    size_t n_words, cap_words;
    int32_t *word_slots; /* open addressing over words, -1 empty */
    size_t word_mask;
    int32_t *syms;       /* every word's symbols, one arena */
    bt_pair_t *pairs;
    size_t n_pairs, cap_pairs;
    int32_t *pair_slots; /* open addressing over pairs, -1 empty */
    size_t pair_mask;
    bt_cand_t *heap;
    size_t n_heap, cap_heap;
    int32_t *touched;    /* pairs that gained occurrences in this merge */
    size_t n_touched, cap_touched;
    int32_t (*merges)[2]; /* left, right of merge k (symbol 256 + k) */
    size_t n_merges, cap_merges;
} bt_t;

/* Makes room for need elements in the array *bufp of capacity *cap (bufp is
 * the address of the array pointer; copied with memcpy so any element type
 * works). 0, or -1 when out of memory (the old array is kept). */
static int bt_grow(void *bufp, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / elem) return -1;
        nc *= 2;
    }
    void *old;
    memcpy(&old, bufp, sizeof old);
    void *nb = realloc(old, nc * elem);
    if (!nb) return -1;
    memcpy(bufp, &nb, sizeof nb);
    *cap = nc;
    return 0;
}

/* Open-addressing table of n_slots (a power of two) int32 slots, all -1. */
static int32_t *bt_slots_new(size_t n_slots) {
    int32_t *s = malloc(n_slots * sizeof *s);
    if (s) memset(s, 0xff, n_slots * sizeof *s);
    return s;
}

/* ---- 1. words ---------------------------------------------------------- */

static int bt_word_rehash(bt_t *b) {
    size_t n_slots = b->word_slots ? 2 * (b->word_mask + 1) : (size_t)1 << 14;
    int32_t *slots = bt_slots_new(n_slots);
    if (!slots) return -1;
    for (size_t w = 0; w < b->n_words; w++) {
        size_t j = b->words[w].hash & (n_slots - 1);
        while (slots[j] >= 0) j = (j + 1) & (n_slots - 1);
        slots[j] = (int32_t)w;
    }
    free(b->word_slots);
    b->word_slots = slots;
    b->word_mask = n_slots - 1;
    return 0;
}

/* One more occurrence of the word bytes[0..len). 0 or -1 (out of memory). */
static int bt_word_count(bt_t *b, const char *bytes, size_t len) {
    if (!b->word_slots || 2 * (b->n_words + 1) > b->word_mask + 1) {
        if (b->n_words >= INT32_MAX - 1 || bt_word_rehash(b) != 0) return -1;
    }
    uint64_t h = bpe_hash_bytes(bytes, len);
    size_t j = h & b->word_mask;
    for (int32_t w; (w = b->word_slots[j]) >= 0; j = (j + 1) & b->word_mask) {
        bt_word_t *wd = &b->words[w];
        if (wd->hash == h && wd->n_bytes == len && memcmp(wd->bytes, bytes, len) == 0) {
            wd->count++;
            return 0;
        }
    }
    if (bt_grow(&b->words, &b->cap_words, b->n_words + 1, sizeof *b->words) != 0) return -1;
    b->words[b->n_words] = (bt_word_t){.bytes = bytes, .n_bytes = len, .hash = h, .count = 1};
    b->word_slots[j] = (int32_t)b->n_words++;
    return 0;
}

/* Counts the words of one text; -1 with err on invalid UTF-8 or no memory. */
static int bt_count_text(bt_t *b, const char *text, size_t len, const char *name, char *err,
                         size_t errlen) {
    size_t bad = bpe_utf8_invalid_at(text, len);
    if (bad < len) {
        snprintf(err, errlen, "%s: invalid UTF-8 at byte offset %zu", name, bad);
        return -1;
    }
    const unsigned char *s = (const unsigned char *)text;
    for (size_t start = 0; start < len;) {
        const char *hit = memmem(text + start, len - start, bt_eot, BT_EOT_LEN);
        size_t end = hit ? (size_t)(hit - text) : len;
        for (size_t i = start; i < end;) {
            size_t j = bpe_gpt2_pretoken_end(s, end, i);
            if (bt_word_count(b, text + i, j - i) != 0) goto oom;
            i = j;
        }
        start = hit ? end + BT_EOT_LEN : len;
    }
    return 0;
oom:
    snprintf(err, errlen, "%s: out of memory counting words", name);
    return -1;
}

/* ---- 2. pairs ---------------------------------------------------------- */

static int bt_pair_rehash(bt_t *b) {
    size_t n_slots = b->pair_slots ? 2 * (b->pair_mask + 1) : (size_t)1 << 16;
    int32_t *slots = bt_slots_new(n_slots);
    if (!slots) return -1;
    for (size_t p = 0; p < b->n_pairs; p++) {
        size_t j = bpe_pair_slot(b->pairs[p].left, b->pairs[p].right, n_slots - 1);
        while (slots[j] >= 0) j = (j + 1) & (n_slots - 1);
        slots[j] = (int32_t)p;
    }
    free(b->pair_slots);
    b->pair_slots = slots;
    b->pair_mask = n_slots - 1;
    return 0;
}

/* Index of the pair (left, right), created with count 0 if new; -1 when out
 * of memory. */
static int32_t bt_pair_get(bt_t *b, int32_t left, int32_t right) {
    if (!b->pair_slots || 2 * (b->n_pairs + 1) > b->pair_mask + 1) {
        if (b->n_pairs >= INT32_MAX - 1 || bt_pair_rehash(b) != 0) return -1;
    }
    size_t j = bpe_pair_slot(left, right, b->pair_mask);
    for (int32_t p; (p = b->pair_slots[j]) >= 0; j = (j + 1) & b->pair_mask)
        if (b->pairs[p].left == left && b->pairs[p].right == right) return p;
    if (bt_grow(&b->pairs, &b->cap_pairs, b->n_pairs + 1, sizeof *b->pairs) != 0) return -1;
    b->pairs[b->n_pairs] = (bt_pair_t){.left = left, .right = right, .last_word = -1, .queued = -1};
    b->pair_slots[j] = (int32_t)b->n_pairs;
    return (int32_t)b->n_pairs++;
}

/* Lists word w under pair p (once). 0 or -1. */
static int bt_pair_index(bt_t *b, int32_t p, int32_t w) {
    bt_pair_t *pp = &b->pairs[p];
    if (pp->last_word == w) return 0;
    if (bt_grow(&pp->words, &pp->cap_words, pp->n_words + 1, sizeof *pp->words) != 0) return -1;
    pp->words[pp->n_words++] = w;
    pp->last_word = w;
    return 0;
}

/* Heap order: the larger count first; ties to the smaller (left, right). */
static int bt_before(const bt_cand_t *x, const bt_cand_t *y) {
    if (x->count != y->count) return x->count > y->count;
    if (x->left != y->left) return x->left < y->left;
    return x->right < y->right;
}

static int bt_heap_push(bt_t *b, int32_t p) {
    if (bt_grow(&b->heap, &b->cap_heap, b->n_heap + 1, sizeof *b->heap) != 0) return -1;
    const bt_pair_t *pp = &b->pairs[p];
    bt_cand_t c = {pp->count, pp->left, pp->right, p};
    size_t i = b->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!bt_before(&c, &b->heap[parent])) break;
        b->heap[i] = b->heap[parent];
        i = parent;
    }
    b->heap[i] = c;
    return 0;
}

static bt_cand_t bt_heap_pop(bt_t *b) {
    bt_cand_t top = b->heap[0], last = b->heap[--b->n_heap];
    size_t i = 0, n = b->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && bt_before(&b->heap[c + 1], &b->heap[c])) c++;
        if (!bt_before(&b->heap[c], &last)) break;
        b->heap[i] = b->heap[c];
        i = c;
    }
    if (n) b->heap[i] = last;
    return top;
}

/* Every word as one symbol per byte; every pair counted, indexed, queued. */
static int bt_init_pairs(bt_t *b, const int32_t id_of_byte[256]) {
    size_t total = 0;
    for (size_t w = 0; w < b->n_words; w++) total += b->words[w].n_bytes;
    b->syms = malloc((total ? total : 1) * sizeof *b->syms);
    if (!b->syms) return -1;
    size_t off = 0;
    for (size_t w = 0; w < b->n_words; w++) {
        bt_word_t *wd = &b->words[w];
        int32_t *s = b->syms + off;
        wd->sym_off = off;
        wd->n_sym = wd->n_bytes;
        off += wd->n_bytes;
        for (size_t i = 0; i < wd->n_bytes; i++) s[i] = id_of_byte[(unsigned char)wd->bytes[i]];
        for (size_t i = 0; i + 1 < wd->n_sym; i++) {
            int32_t p = bt_pair_get(b, s[i], s[i + 1]);
            if (p < 0 || bt_pair_index(b, p, (int32_t)w) != 0) return -1;
            b->pairs[p].count += wd->count;
        }
    }
    for (size_t p = 0; p < b->n_pairs; p++)
        if (bt_heap_push(b, (int32_t)p) != 0) return -1;
    return 0;
}

/* ---- 3. merges ---------------------------------------------------------- */

/* Rewrites word w with pair (L, R) -> id, moving its pair counts. */
static int bt_rewrite_word(bt_t *b, int32_t w, int32_t L, int32_t R, int32_t id) {
    bt_word_t *wd = &b->words[w];
    int32_t *s = b->syms + wd->sym_off;
    size_t n = wd->n_sym, first = 0;
    while (first + 1 < n && !(s[first] == L && s[first + 1] == R)) first++;
    if (first + 1 >= n) return 0; /* an earlier merge took the pair out of this word */
    for (size_t i = 0; i + 1 < n; i++) {
        int32_t p = bt_pair_get(b, s[i], s[i + 1]); /* exists: it is counted */
        if (p < 0) return -1;
        b->pairs[p].count -= wd->count;
    }
    size_t o = first;
    for (size_t i = first; i < n;) {
        if (i + 1 < n && s[i] == L && s[i + 1] == R) {
            s[o++] = id;
            i += 2;
        } else {
            s[o++] = s[i++];
        }
    }
    wd->n_sym = o;
    for (size_t i = 0; i + 1 < o; i++) {
        int32_t p = bt_pair_get(b, s[i], s[i + 1]);
        if (p < 0) return -1;
        b->pairs[p].count += wd->count;
        if (s[i] != id && s[i + 1] != id) continue;
        /* a pair holding the new symbol: index the word, queue the pair */
        if (bt_pair_index(b, p, w) != 0) return -1;
        if (b->pairs[p].queued != id) {
            b->pairs[p].queued = id;
            if (bt_grow(&b->touched, &b->cap_touched, b->n_touched + 1, sizeof *b->touched) != 0)
                return -1;
            b->touched[b->n_touched++] = p;
        }
    }
    return 0;
}

/* Applies the merge of pair p as symbol id to every word on its list. */
static int bt_merge(bt_t *b, int32_t p, int32_t id) {
    int32_t L = b->pairs[p].left, R = b->pairs[p].right;
    if (bt_grow(&b->merges, &b->cap_merges, b->n_merges + 1, sizeof *b->merges) != 0) return -1;
    b->merges[b->n_merges][0] = L;
    b->merges[b->n_merges][1] = R;
    b->n_merges++;
    b->n_touched = 0;
    /* b->pairs may move (new pairs), but p's list does not grow: every new
     * pair holds the new symbol, p does not. */
    for (size_t k = 0; k < b->pairs[p].n_words; k++)
        if (bt_rewrite_word(b, b->pairs[p].words[k], L, R, id) != 0) return -1;
    /* No (L, R) is left (the rewrite takes every one, and later merges only
     * make pairs with their own new symbol), so its list is done with. */
    bt_pair_t *pp = &b->pairs[p];
    pp->count = 0;
    free(pp->words);
    pp->words = NULL;
    pp->n_words = pp->cap_words = 0;
    for (size_t k = 0; k < b->n_touched; k++)
        if (bt_heap_push(b, b->touched[k]) != 0) return -1;
    return 0;
}

/* Merges until max_merges, no pairs left, or the best is below min_freq. */
static int bt_learn(bt_t *b, size_t max_merges, int64_t min_freq, const bpe_train_opts_t *opts) {
    while (b->n_merges < max_merges && b->n_heap > 0) {
        bt_cand_t top = bt_heap_pop(b);
        int64_t now = b->pairs[top.pair].count;
        if (top.count != now) { /* out of date: re-queue with the current count */
            if (now > 0 && bt_heap_push(b, top.pair) != 0) return -1;
            continue;
        }
        if (now < min_freq) break;
        if (bt_merge(b, top.pair, (int32_t)(256 + b->n_merges)) != 0) return -1;
        if (opts->progress && b->n_merges % 64 == 0 && b->n_merges < max_merges)
            opts->progress(opts->user, (int)b->n_merges, (int)max_merges);
    }
    /* exactly one call with done == total, the last */
    if (opts->progress) opts->progress(opts->user, (int)b->n_merges, (int)b->n_merges);
    return 0;
}


/* ---- 4. output ----------------------------------------------------------- */

/* Appends the vocabulary spelling of bytes[0..n) (GPT-2's printable code
 * point per byte, at most 2 UTF-8 bytes each) to out; returns its length. */
static size_t bt_spell(const unsigned char *bytes, size_t n, const uint32_t b2cp[256], char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) o += (size_t)bpe_utf8_put(b2cp[bytes[i]], out + o);
    return o;
}

/* Writes vocab.json (spelling -> id, ids in order, <|endoftext|> last) and
 * merges.txt ("#version: 0.2", then "left right" per merge). */
static int bt_write(const bt_t *b, const unsigned char byte_of_id[256], const char *dir,
                    char *err, size_t errlen) {
    size_t n_tok = 256 + b->n_merges;
    uint32_t b2cp[256];
    bpe_gpt2_byte_table(b2cp);
    /* the bytes of token t are raw[off[t] .. off[t + 1]) */
    size_t *off = malloc((n_tok + 1) * sizeof *off);
    unsigned char *raw = NULL;
    size_t raw_cap = 0, raw_len = 0, max_len = 1;
    char *spell = NULL, *merges_txt = NULL, *vocab_txt = NULL;
    size_t merges_cap = 0, merges_len = 0;
    cJSON *vocab = cJSON_CreateObject();
    int rc = -1;
    if (!off || !vocab) goto oom;
    off[0] = 0;
    for (size_t t = 0; t < n_tok; t++) {
        size_t a = t < 256 ? 0 : (size_t)b->merges[t - 256][0];
        size_t c = t < 256 ? 0 : (size_t)b->merges[t - 256][1];
        size_t len = t < 256 ? 1 : (off[a + 1] - off[a]) + (off[c + 1] - off[c]);
        if (bt_grow(&raw, &raw_cap, raw_len + len, 1) != 0) goto oom;
        if (t < 256) {
            raw[raw_len] = byte_of_id[t];
        } else {
            memcpy(raw + raw_len, raw + off[a], off[a + 1] - off[a]);
            memcpy(raw + raw_len + (off[a + 1] - off[a]), raw + off[c], off[c + 1] - off[c]);
        }
        raw_len += len;
        off[t + 1] = raw_len;
        if (len > max_len) max_len = len;
    }
    spell = malloc(4 * max_len + 2);
    if (!spell) goto oom;
    for (size_t t = 0; t < n_tok; t++) {
        size_t n = bt_spell(raw + off[t], off[t + 1] - off[t], b2cp, spell);
        spell[n] = '\0';
        if (!cJSON_AddNumberToObject(vocab, spell, (double)t)) goto oom;
    }
    if (!cJSON_AddNumberToObject(vocab, bt_eot, (double)n_tok)) goto oom;
    vocab_txt = cJSON_PrintUnformatted(vocab);
    static const char version[] = "#version: 0.2\n";
    if (!vocab_txt || bt_grow(&merges_txt, &merges_cap, sizeof version, 1) != 0) goto oom;
    memcpy(merges_txt, version, sizeof version - 1);
    merges_len = sizeof version - 1;
    for (size_t m = 0; m < b->n_merges; m++) {
        size_t l = (size_t)b->merges[m][0], r = (size_t)b->merges[m][1];
        size_t n = bt_spell(raw + off[l], off[l + 1] - off[l], b2cp, spell);
        spell[n++] = ' ';
        size_t n2 = bt_spell(raw + off[r], off[r + 1] - off[r], b2cp, spell + n);
        n += n2;
        spell[n++] = '\n';
        if (bt_grow(&merges_txt, &merges_cap, merges_len + n, 1) != 0) goto oom;
        memcpy(merges_txt + merges_len, spell, n);
        merges_len += n;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    if (fileio_write_atomic(path, vocab_txt, strlen(vocab_txt), err, errlen) != 0)
        goto done;
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    if (fileio_write_atomic(path, merges_txt, merges_len, err, errlen) != 0)
        goto done;
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "%s: out of memory writing the vocabulary", dir);
done:
    cJSON_Delete(vocab);
    free(vocab_txt);
    free(merges_txt);
    free(spell);
    free(raw);
    free(off);
    return rc;
}

static void bt_free(bt_t *b) {
    for (size_t p = 0; p < b->n_pairs; p++) free(b->pairs[p].words);
    free(b->words);
    free(b->word_slots);
    free(b->syms);
    free(b->pairs);
    free(b->pair_slots);
    free(b->heap);
    free(b->touched);
    free(b->merges);
}

int bpe_train(const char *const *texts, const size_t *lens, const char *const *names, int n_texts,
              const bpe_train_opts_t *opts, const char *out_dir, char *err, size_t errlen) {
    if (opts->vocab_size < 257) {
        snprintf(err, errlen, "vocabulary size %d is too small (at least 257: the 256 bytes and "
                              "<|endoftext|>)", opts->vocab_size);
        return -1;
    }
    bt_t b = {0};
    int rc = -1;
    for (int t = 0; t < n_texts; t++) {
        char fallback[32];
        snprintf(fallback, sizeof fallback, "text %d", t + 1);
        const char *name = names && names[t] ? names[t] : fallback;
        if (bt_count_text(&b, texts[t], lens[t], name, err, errlen) != 0) goto done;
    }
    /* symbol id <-> byte: GPT-2's order, the bytes that stand for themselves
     * (printable) first, then the rest, each group by byte value */
    uint32_t b2cp[256];
    bpe_gpt2_byte_table(b2cp);
    int32_t id_of_byte[256];
    unsigned char byte_of_id[256];
    int32_t next = 0;
    for (int printable = 1; printable >= 0; printable--)
        for (int x = 0; x < 256; x++)
            if ((b2cp[x] == (uint32_t)x) == printable) {
                id_of_byte[x] = next;
                byte_of_id[next++] = (unsigned char)x;
            }
    if (bt_init_pairs(&b, id_of_byte) != 0) {
        snprintf(err, errlen, "out of memory counting pairs (%zu distinct words)", b.n_words);
        goto done;
    }
    int64_t min_freq = opts->min_frequency > 0 ? opts->min_frequency : 2;
    if (bt_learn(&b, (size_t)opts->vocab_size - 257, min_freq, opts) != 0) {
        snprintf(err, errlen, "out of memory after %zu merges", b.n_merges);
        goto done;
    }
    /* created only now, so that bad input leaves no empty directory behind */
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create directory: %s", out_dir, strerror(errno));
        goto done;
    }
    if (bt_write(&b, byte_of_id, out_dir, err, errlen) != 0) goto done;
    rc = (int)(257 + b.n_merges);
done:
    bt_free(&b);
    return rc;
}
