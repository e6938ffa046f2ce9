/* bpe_train.c - learning byte-level BPE merges from a corpus (bpe_train.h).
 *
 * 1. Pre-split every text with GPT-2's pre-tokenizer (the same scanner the
 *    encoder uses, so training and encoding see the same words) and count the
 *    distinct words; "<|endoftext|>" is cut out first, never learned from.
 * 2. Each distinct word becomes a sequence of symbols (one per byte); every
 *    adjacent pair is counted, weighted by the word's frequency, and each pair
 *    keeps the list of words it occurs in.
 * 3. Repeatedly take the most frequent pair (ties: the smallest left symbol
 *    id, then the smallest right id), give it the next id, and rewrite only the
 *    words in its list, moving their pair counts. A max-heap with lazy
 *    deletion finds the best pair: stale entries (count changed since they
 *    were pushed) are re-pushed with the current count when popped.
 * Symbol ids are the final vocabulary ids: bytes 0..255 in GPT-2's order
 * (printable bytes first, as bytes_to_unicode lists them), then merges. */
#include "bpe_train.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpe_internal.h"

/* ---- distinct words ---------------------------------------------------- */

typedef struct bt_word {
    int32_t *sym;   /* current symbols */
    int32_t n;      /* symbol count */
    int64_t count;  /* occurrences in the corpus */
    int64_t stamp;  /* last merge that rewrote it (dedupes the pair lists) */
} bt_word_t;

typedef struct bt_wordmap { /* open addressing: bytes -> word index */
    uint64_t *hash;
    int32_t *idx;
    size_t cap;
    char **bytes;
    size_t *lens;
} bt_wordmap_t;

/* ---- pairs --------------------------------------------------------------- */

typedef struct bt_pair {
    int32_t left, right;
    int64_t count;
    int32_t *words; /* word indices (may repeat; deduped by stamp) */
    int32_t n_words, cap_words;
} bt_pair_t;

typedef struct bt_heap_item {
    int64_t count;
    int32_t pair;
} bt_heap_item_t;

typedef struct bt {
    bt_word_t *words;
    int32_t n_words, cap_words;
    bt_wordmap_t wm;
    bt_pair_t *pairs;
    int32_t n_pairs, cap_pairs;
    int32_t *pslot; /* pair hash table -> pair index, -1 empty */
    size_t pcap;
    bt_heap_item_t *heap;
    size_t n_heap, cap_heap;
    int oom;
} bt_t;

static uint64_t bt_hash(const void *p, size_t n) { return bpe_hash_bytes(p, n); }

static void *bt_grow(void *buf, int32_t *cap, int32_t need, size_t elem, int *oom) {
    if (need <= *cap) return buf;
    int32_t nc = *cap ? *cap : 16;
    while (nc < need) nc *= 2;
    void *nb = realloc(buf, (size_t)nc * elem);
    if (!nb) {
        *oom = 1;
        return buf;
    }
    *cap = nc;
    return nb;
}

/* ---- word counting ------------------------------------------------------- */

static int wm_rehash(bt_t *b) {
    size_t nc = b->wm.cap ? 2 * b->wm.cap : 1 << 14;
    uint64_t *nh = calloc(nc, sizeof(*nh));
    int32_t *ni = malloc(nc * sizeof(*ni));
    if (!nh || !ni) {
        free(nh);
        free(ni);
        return -1;
    }
    for (size_t i = 0; i < nc; i++) ni[i] = -1;
    for (size_t i = 0; i < b->wm.cap; i++) {
        if (b->wm.idx[i] < 0) continue;
        size_t j = b->wm.hash[i] & (nc - 1);
        while (ni[j] >= 0) j = (j + 1) & (nc - 1);
        nh[j] = b->wm.hash[i];
        ni[j] = b->wm.idx[i];
    }
    free(b->wm.hash);
    free(b->wm.idx);
    b->wm.hash = nh;
    b->wm.idx = ni;
    b->wm.cap = nc;
    return 0;
}

static int bt_count_word(bt_t *b, const char *w, size_t len) {
    if ((size_t)b->n_words * 2 >= b->wm.cap && wm_rehash(b) != 0) return -1;
    uint64_t h = bt_hash(w, len);
    size_t j = h & (b->wm.cap - 1);
    for (;;) {
        int32_t k = b->wm.idx[j];
        if (k < 0) break;
        if (b->wm.hash[j] == h && b->wm.lens[k] == len && memcmp(b->wm.bytes[k], w, len) == 0) {
            b->words[k].count++;
            return 0;
        }
        j = (j + 1) & (b->wm.cap - 1);
    }
    int32_t k = b->n_words;
    int32_t cap = b->cap_words;
    b->words = bt_grow(b->words, &cap, k + 1, sizeof(*b->words), &b->oom);
    int32_t cap2 = b->cap_words;
    b->wm.bytes = bt_grow(b->wm.bytes, &cap2, k + 1, sizeof(*b->wm.bytes), &b->oom);
    int32_t cap3 = b->cap_words;
    b->wm.lens = bt_grow(b->wm.lens, &cap3, k + 1, sizeof(*b->wm.lens), &b->oom);
    if (b->oom) return -1;
    b->cap_words = cap;
    char *copy = malloc(len ? len : 1);
    if (!copy) return -1;
    memcpy(copy, w, len);
    b->wm.bytes[k] = copy;
    b->wm.lens[k] = len;
    memset(&b->words[k], 0, sizeof(b->words[k]));
    b->words[k].count = 1;
    b->words[k].stamp = -1;
    b->wm.hash[j] = h;
    b->wm.idx[j] = k;
    b->n_words++;
    return 0;
}

/* ---- pair table and heap ----------------------------------------------------- */

static size_t bt_pslot(const bt_t *b, int32_t l, int32_t r) {
    uint64_t k = ((uint64_t)(uint32_t)l << 32) | (uint32_t)r;
    k *= 0x9e3779b97f4a7c15ULL;
    return (size_t)(k >> 20) & (b->pcap - 1);
}

static int bt_prehash(bt_t *b) {
    size_t nc = b->pcap ? 2 * b->pcap : 1 << 16;
    int32_t *ns = malloc(nc * sizeof(*ns));
    if (!ns) return -1;
    for (size_t i = 0; i < nc; i++) ns[i] = -1;
    free(b->pslot);
    b->pslot = ns;
    b->pcap = nc;
    for (int32_t p = 0; p < b->n_pairs; p++) {
        size_t j = bt_pslot(b, b->pairs[p].left, b->pairs[p].right);
        while (b->pslot[j] >= 0) j = (j + 1) & (nc - 1);
        b->pslot[j] = p;
    }
    return 0;
}

static int32_t bt_pair_get(bt_t *b, int32_t l, int32_t r) {
    if ((size_t)b->n_pairs * 2 >= b->pcap && bt_prehash(b) != 0) {
        b->oom = 1;
        return -1;
    }
    size_t j = bt_pslot(b, l, r);
    for (;;) {
        int32_t p = b->pslot[j];
        if (p < 0) break;
        if (b->pairs[p].left == l && b->pairs[p].right == r) return p;
        j = (j + 1) & (b->pcap - 1);
    }
    int32_t cap = b->cap_pairs;
    b->pairs = bt_grow(b->pairs, &cap, b->n_pairs + 1, sizeof(*b->pairs), &b->oom);
    if (b->oom) return -1;
    b->cap_pairs = cap;
    int32_t p = b->n_pairs++;
    memset(&b->pairs[p], 0, sizeof(b->pairs[p]));
    b->pairs[p].left = l;
    b->pairs[p].right = r;
    b->pslot[j] = p;
    return p;
}

/* Heap order: larger count first; ties by smaller (left, right). */
static int bt_before(const bt_t *b, bt_heap_item_t x, bt_heap_item_t y) {
    if (x.count != y.count) return x.count > y.count;
    const bt_pair_t *px = &b->pairs[x.pair], *py = &b->pairs[y.pair];
    if (px->left != py->left) return px->left < py->left;
    return px->right < py->right;
}

static void bt_heap_push(bt_t *b, int32_t pair) {
    if (b->n_heap == b->cap_heap) {
        size_t nc = b->cap_heap ? 2 * b->cap_heap : 1 << 16;
        bt_heap_item_t *nh = realloc(b->heap, nc * sizeof(*nh));
        if (!nh) {
            b->oom = 1;
            return;
        }
        b->heap = nh;
        b->cap_heap = nc;
    }
    bt_heap_item_t it = {b->pairs[pair].count, pair};
    size_t i = b->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!bt_before(b, it, b->heap[parent])) break;
        b->heap[i] = b->heap[parent];
        i = parent;
    }
    b->heap[i] = it;
}

static bt_heap_item_t bt_heap_pop(bt_t *b) {
    bt_heap_item_t top = b->heap[0], last = b->heap[--b->n_heap];
    size_t i = 0, n = b->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && bt_before(b, b->heap[c + 1], b->heap[c])) c++;
        if (!bt_before(b, b->heap[c], last)) break;
        b->heap[i] = b->heap[c];
        i = c;
    }
    if (n) b->heap[i] = last;
    return top;
}

/* Adds delta occurrences of the pairs of word w (delta = +count or -count). */
static void bt_word_pairs(bt_t *b, int32_t w, int sign, int add_index) {
    bt_word_t *wd = &b->words[w];
    for (int32_t i = 0; i + 1 < wd->n; i++) {
        int32_t p = bt_pair_get(b, wd->sym[i], wd->sym[i + 1]);
        if (p < 0) return;
        bt_pair_t *pp = &b->pairs[p];
        pp->count += sign * wd->count;
        if (sign > 0 && add_index) {
            pp->words = bt_grow(pp->words, &pp->cap_words, pp->n_words + 1, sizeof(int32_t),
                                &b->oom);
            if (b->oom) return;
            pp->words[pp->n_words++] = w;
        }
    }
}

static void bt_free(bt_t *b) {
    for (int32_t i = 0; i < b->n_words; i++) {
        free(b->words[i].sym);
        free(b->wm.bytes[i]);
    }
    for (int32_t p = 0; p < b->n_pairs; p++) free(b->pairs[p].words);
    free(b->words);
    free(b->wm.bytes);
    free(b->wm.lens);
    free(b->wm.hash);
    free(b->wm.idx);
    free(b->pairs);
    free(b->pslot);
    free(b->heap);
}

/* ---- output -------------------------------------------------------------------- */

/* Appends the vocabulary spelling of bytes (GPT-2's printable code points). */
static size_t bt_spell(const unsigned char *bytes, size_t n, const uint32_t *b2cp, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) o += (size_t)bpe_utf8_put(b2cp[bytes[i]], out + o);
    return o;
}

static int bt_write_file(const char *dir, const char *name, const char *text, size_t len,
                         char *err, size_t errlen) {
    char path[4200], tmp[4300];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    int bad = fwrite(text, 1, len, fp) != len;
    bad |= fclose(fp) != 0;
    if (bad || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int bpe_train(const char *const *texts, const size_t *lens, const char *const *names, int n_texts,
              const bpe_train_opts_t *opts, const char *out_dir, char *err, size_t errlen) {
    if (opts->vocab_size < 257) {
        snprintf(err, errlen, "vocabulary size %d is too small (at least 257: 256 bytes and "
                              "<|endoftext|>)",
                 opts->vocab_size);
        return -1;
    }
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create directory: %s", out_dir, strerror(errno));
        return -1;
    }
    bt_t b;
    memset(&b, 0, sizeof(b));
    int rc = -1;
    char *vocab_text = NULL, *merges_text = NULL;
    int32_t (*merges)[2] = NULL;
    /* 1. words */
    static const char eot[] = "<|endoftext|>";
    for (int t = 0; t < n_texts; t++) {
        size_t bad = bpe_utf8_invalid_at(texts[t], lens[t]);
        if (bad < lens[t]) {
            snprintf(err, errlen, "%s: invalid UTF-8 at byte offset %zu", names[t], bad);
            goto done;
        }
        const unsigned char *s = (const unsigned char *)texts[t];
        size_t n = lens[t], seg = 0;
        while (seg < n) {
            const char *e = memmem(s + seg, n - seg, eot, sizeof(eot) - 1);
            size_t end = e ? (size_t)((const unsigned char *)e - s) : n;
            for (size_t i = seg; i < end;) {
                size_t j = bpe_gpt2_pretoken_end(s, end, i);
                if (j <= i) j = i + 1;
                if (bt_count_word(&b, (const char *)s + i, j - i) != 0) goto oom;
                i = j;
            }
            seg = e ? end + sizeof(eot) - 1 : n;
        }
    }
    /* 2. symbols and pairs; byte b starts as symbol id_of_byte[b] */
    uint32_t b2cp[256];
    bpe_gpt2_byte_table(b2cp);
    int32_t id_of_byte[256];
    unsigned char byte_of_id[256];
    {
        int32_t next = 0;
        for (int pass = 0; pass < 2; pass++) /* printable bytes first, as GPT-2 */
            for (int x = 0; x < 256; x++)
                if ((b2cp[x] < 256) == (pass == 0)) {
                    id_of_byte[x] = next;
                    byte_of_id[next++] = (unsigned char)x;
                }
    }
    for (int32_t w = 0; w < b.n_words; w++) {
        size_t len = b.wm.lens[w];
        b.words[w].sym = malloc((len ? len : 1) * sizeof(int32_t));
        if (!b.words[w].sym) goto oom;
        for (size_t i = 0; i < len; i++)
            b.words[w].sym[i] = id_of_byte[(unsigned char)b.wm.bytes[w][i]];
        b.words[w].n = (int32_t)len;
        bt_word_pairs(&b, w, +1, 1);
        if (b.oom) goto oom;
    }
    for (int32_t p = 0; p < b.n_pairs; p++) bt_heap_push(&b, p);
    if (b.oom) goto oom;

    /* 3. merges */
    int n_merges_max = opts->vocab_size - 257;
    int min_freq = opts->min_frequency > 0 ? opts->min_frequency : 2;
    merges = malloc(((size_t)n_merges_max + 1) * sizeof(*merges));
    if (!merges) goto oom;
    int n_merges = 0;
    int32_t *tmp = NULL;
    int32_t tmp_cap = 0;
    while (n_merges < n_merges_max && b.n_heap > 0) {
        bt_heap_item_t top = bt_heap_pop(&b);
        bt_pair_t *bp = &b.pairs[top.pair];
        if (top.count != bp->count) { /* stale: re-queue with the current count */
            if (bp->count > 0) bt_heap_push(&b, top.pair);
            if (b.oom) goto oom;
            continue;
        }
        if (bp->count < min_freq) break;
        int32_t L = bp->left, R = bp->right, id = 256 + n_merges;
        merges[n_merges][0] = L;
        merges[n_merges][1] = R;
        int32_t pair_idx = top.pair;
        /* the list may grow while we rewrite (new pairs), so index by position */
        for (int32_t k = 0; k < b.pairs[pair_idx].n_words; k++) {
            int32_t w = b.pairs[pair_idx].words[k];
            bt_word_t *wd = &b.words[w];
            if (wd->stamp == n_merges) continue;
            wd->stamp = n_merges;
            int has = 0;
            for (int32_t i = 0; i + 1 < wd->n && !has; i++)
                has = wd->sym[i] == L && wd->sym[i + 1] == R;
            if (!has) continue;
            bt_word_pairs(&b, w, -1, 0);
            tmp = bt_grow(tmp, &tmp_cap, wd->n, sizeof(int32_t), &b.oom);
            if (b.oom) goto oom_tmp;
            int32_t o = 0;
            for (int32_t i = 0; i < wd->n;) {
                if (i + 1 < wd->n && wd->sym[i] == L && wd->sym[i + 1] == R) {
                    tmp[o++] = id;
                    i += 2;
                } else {
                    tmp[o++] = wd->sym[i++];
                }
            }
            memcpy(wd->sym, tmp, (size_t)o * sizeof(int32_t));
            wd->n = o;
            /* add back; index the word under the pairs that contain the new symbol */
            for (int32_t i = 0; i + 1 < wd->n; i++) {
                int32_t p = bt_pair_get(&b, wd->sym[i], wd->sym[i + 1]);
                if (p < 0) goto oom_tmp;
                bt_pair_t *pp = &b.pairs[p];
                pp->count += wd->count;
                if (wd->sym[i] == id || wd->sym[i + 1] == id) {
                    pp->words = bt_grow(pp->words, &pp->cap_words, pp->n_words + 1,
                                        sizeof(int32_t), &b.oom);
                    if (b.oom) goto oom_tmp;
                    pp->words[pp->n_words++] = w;
                    bt_heap_push(&b, p);
                }
            }
        }
        b.pairs[pair_idx].count = 0;
        n_merges++;
        if (opts->progress && (n_merges % 64 == 0 || n_merges == n_merges_max))
            opts->progress(opts->user, n_merges, n_merges_max);
    }
    free(tmp);
    tmp = NULL;
    if (opts->progress) opts->progress(opts->user, n_merges, n_merges);

    /* 4. spell every symbol and write the files */
    {
        int n_vocab = 256 + n_merges + 1;
        size_t *off = malloc(((size_t)n_vocab + 1) * sizeof(size_t));
        unsigned char *raw = NULL; /* the bytes of every symbol, concatenated */
        size_t raw_len = 0, raw_cap = 0;
        if (!off) goto oom;
        for (int i = 0; i < 256 + n_merges; i++) {
            const unsigned char *src;
            size_t la, lb = 0;
            unsigned char one;
            if (i < 256) {
                one = byte_of_id[i];
                src = &one;
                la = 1;
            } else {
                la = off[merges[i - 256][0] + 1] - off[merges[i - 256][0]];
                lb = off[merges[i - 256][1] + 1] - off[merges[i - 256][1]];
                src = NULL;
            }
            if (raw_len + la + lb > raw_cap) {
                size_t nc = raw_cap ? 2 * raw_cap : 1 << 16;
                while (nc < raw_len + la + lb) nc *= 2;
                unsigned char *nr = realloc(raw, nc);
                if (!nr) {
                    free(off);
                    free(raw);
                    goto oom;
                }
                raw = nr;
                raw_cap = nc;
            }
            off[i] = raw_len;
            if (src) {
                memcpy(raw + raw_len, src, la);
            } else {
                memcpy(raw + raw_len, raw + off[merges[i - 256][0]], la);
                memcpy(raw + raw_len + la, raw + off[merges[i - 256][1]], lb);
            }
            raw_len += la + lb;
            off[i + 1] = raw_len;
        }
        cJSON *vj = cJSON_CreateObject();
        char *spell = malloc(raw_len * 2 + 64), *line = malloc(raw_len * 4 + 64);
        size_t mcap = 64 + raw_len * 4 + (size_t)n_merges * 2, mlen = 0;
        merges_text = malloc(mcap);
        int ok = vj && spell && line && merges_text;
        for (int i = 0; ok && i < 256 + n_merges; i++) {
            size_t n = bt_spell(raw + off[i], off[i + 1] - off[i], b2cp, spell);
            spell[n] = 0;
            ok = cJSON_AddNumberToObject(vj, spell, i) != NULL;
        }
        if (ok) ok = cJSON_AddNumberToObject(vj, "<|endoftext|>", 256 + n_merges) != NULL;
        if (ok) mlen = (size_t)snprintf(merges_text, mcap, "#version: 0.2\n");
        for (int m = 0; ok && m < n_merges; m++) {
            int32_t l = merges[m][0], r = merges[m][1];
            size_t n = bt_spell(raw + off[l], off[l + 1] - off[l], b2cp, line);
            line[n++] = ' ';
            n += bt_spell(raw + off[r], off[r + 1] - off[r], b2cp, line + n);
            line[n++] = '\n';
            if (mlen + n + 1 > mcap) {
                mcap = 2 * (mlen + n + 1);
                char *nm = realloc(merges_text, mcap);
                if (!nm) {
                    ok = 0;
                    break;
                }
                merges_text = nm;
            }
            memcpy(merges_text + mlen, line, n);
            mlen += n;
        }
        vocab_text = ok ? cJSON_PrintUnformatted(vj) : NULL;
        cJSON_Delete(vj);
        free(spell);
        free(line);
        free(off);
        free(raw);
        if (!vocab_text) goto oom;
        size_t vlen = strlen(vocab_text);
        if (bt_write_file(out_dir, "vocab.json", vocab_text, vlen, err, errlen) != 0 ||
            bt_write_file(out_dir, "merges.txt", merges_text, mlen, err, errlen) != 0)
            goto done;
        rc = n_vocab;
    }
    goto done;
oom_tmp:
    free(tmp);
oom:
    snprintf(err, errlen, "out of memory learning the vocabulary");
done:
    bt_free(&b);
    free(merges);
    free(vocab_text);
    free(merges_text);
    return rc;
}
