/* dataset.c - text -> cached token ids -> batches (see dataset.h).
 *
 * Cache file layout (little-endian):
 *   "GPTSTOK1"  u32 version (1)  u32 width (2: u16 ids, 4: u32 ids)
 *   u64 key  u64 n_train  u64 n_val
 *   n_train ids, then n_val ids
 * The key hashes the tokenizer files, every text file's name and content and
 * the split, so any change rebuilds the cache; a file whose size does not
 * match its header is treated as damaged and rebuilt too. */
#include "dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rng.h"

#define DS_MAGIC "GPTSTOK1"
#define DS_VERSION 1u
#define DS_HEADER 40

uint64_t dataset_hash(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    if (h == 0) h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int ds_read_file(const char *path, char **data, size_t *len, char *err, size_t errlen) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (!buf || bad) {
        snprintf(err, errlen, "%s: %s", path, buf ? "read error" : "out of memory");
        free(buf);
        return -1;
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return 0;
}

typedef struct ds_ids {
    int *v;
    size_t n, cap;
} ds_ids_t;

/* Tokenizes text[0..len) onto out; errors name the file. */
static int ds_encode(tokenizer_t *tok, const char *name, const char *text, size_t len,
                     ds_ids_t *out, char *err, size_t errlen) {
    if (len == 0) return 0;
    char sub[512];
    if (tokenizer_encode(tok, text, len, &out->v, &out->n, &out->cap, sub, sizeof(sub)) != 0) {
        snprintf(err, errlen, "%s: %s", name, sub);
        return -1;
    }
    return 0;
}

static int ds_cache_read(dataset_t *ds, const char *path, uint64_t key) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    unsigned char h[DS_HEADER];
    int ok = fread(h, 1, DS_HEADER, fp) == DS_HEADER && memcmp(h, DS_MAGIC, 8) == 0;
    uint32_t version = 0, width = 0;
    uint64_t k = 0, nt = 0, nv = 0;
    if (ok) {
        memcpy(&version, h + 8, 4);
        memcpy(&width, h + 12, 4);
        memcpy(&k, h + 16, 8);
        memcpy(&nt, h + 24, 8);
        memcpy(&nv, h + 32, 8);
        ok = version == DS_VERSION && (width == 2 || width == 4) && k == key &&
             nt < (1ULL << 40) && nv < (1ULL << 40);
    }
    if (ok) { /* the size must be exactly what the header promises */
        long want = DS_HEADER + (long)((nt + nv) * width);
        ok = fseek(fp, 0, SEEK_END) == 0 && ftell(fp) == want && fseek(fp, DS_HEADER, SEEK_SET) == 0;
    }
    int *ids = NULL;
    if (ok) {
        size_t n = (size_t)(nt + nv);
        ids = malloc((n ? n : 1) * sizeof(int));
        void *raw = malloc((n ? n : 1) * width);
        ok = ids && raw && fread(raw, width, n, fp) == n;
        for (size_t i = 0; ok && i < n; i++) {
            uint32_t v;
            if (width == 2) {
                uint16_t s;
                memcpy(&s, (char *)raw + 2 * i, 2);
                v = s;
            } else {
                memcpy(&v, (char *)raw + 4 * i, 4);
            }
            ids[i] = (int)v;
        }
        free(raw);
    }
    fclose(fp);
    if (!ok) {
        free(ids);
        return -1;
    }
    ds->train = ids;
    ds->n_train = (size_t)nt;
    ds->n_val = (size_t)nv;
    ds->val = malloc((nv ? nv : 1) * sizeof(int));
    if (!ds->val) {
        free(ids);
        ds->train = NULL;
        return -1;
    }
    memcpy(ds->val, ids + nt, (size_t)nv * sizeof(int));
    return 0;
}

/* Written to PATH.tmp and renamed: a killed run never leaves half a cache. */
static int ds_cache_write(const dataset_t *ds, const char *path, int max_id, char *err,
                          size_t errlen) {
    char tmp[4300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    unsigned char h[DS_HEADER];
    uint32_t version = DS_VERSION, width = max_id < 65536 ? 2 : 4;
    uint64_t nt = ds->n_train, nv = ds->n_val;
    memcpy(h, DS_MAGIC, 8);
    memcpy(h + 8, &version, 4);
    memcpy(h + 12, &width, 4);
    memcpy(h + 16, &ds->key, 8);
    memcpy(h + 24, &nt, 8);
    memcpy(h + 32, &nv, 8);
    int bad = fwrite(h, 1, DS_HEADER, fp) != DS_HEADER;
    for (int part = 0; part < 2 && !bad; part++) {
        const int *ids = part ? ds->val : ds->train;
        size_t n = part ? ds->n_val : ds->n_train;
        for (size_t i = 0; i < n && !bad; i++) {
            if (width == 2) {
                uint16_t s = (uint16_t)ids[i];
                bad = fwrite(&s, 2, 1, fp) != 1;
            } else {
                uint32_t v = (uint32_t)ids[i];
                bad = fwrite(&v, 4, 1, fp) != 1;
            }
        }
    }
    int saved = errno;
    bad |= fclose(fp) != 0;
    if (bad || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write the token cache: %s", path,
                 strerror(saved ? saved : errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int ds_write_text(const char *path, const char *a, size_t na, char *err, size_t errlen) {
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int bad = na && fwrite(a, 1, na, fp) != na;
    bad |= fclose(fp) != 0;
    if (bad) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
}

/* Where the validation part starts in the concatenation of the files: the
 * first newline at or after (1 - frac) of the bytes (moved past any UTF-8
 * continuation bytes, so both halves stay valid text). */
static size_t ds_cut(const dataset_opts_t *o, char **texts, const size_t *lens, size_t total) {
    if (o->n_val_files > 0 || o->val_frac <= 0) return total;
    size_t at = (size_t)((double)total * (1.0 - o->val_frac)), pos = 0, cut = total;
    for (int i = 0; i < o->n_files && cut == total; i++) {
        for (size_t k = 0; k < lens[i]; k++)
            if (pos + k >= at && texts[i][k] == '\n') {
                cut = pos + k + 1;
                break;
            }
        pos += lens[i];
    }
    if (cut >= total) cut = at; /* no newline after the point: cut there */
    pos = 0;
    for (int i = 0; i < o->n_files; i++) {
        size_t a = pos, b = pos + lens[i];
        if (cut > a && cut < b)
            while (cut < b && ((unsigned char)texts[i][cut - a] & 0xC0) == 0x80) cut++;
        pos = b;
    }
    return cut;
}

void dataset_texts_free(char **texts, size_t *lens, int n) {
    for (int i = 0; texts && i < n; i++) free(texts[i]);
    free(texts);
    free(lens);
}

int dataset_train_texts(const dataset_opts_t *o, char ***texts_out, size_t **lens_out, char *err,
                        size_t errlen) {
    char **texts = calloc((size_t)o->n_files + 1, sizeof(char *));
    size_t *lens = calloc((size_t)o->n_files + 1, sizeof(size_t));
    size_t total = 0;
    if (!texts || !lens) {
        snprintf(err, errlen, "out of memory");
        dataset_texts_free(texts, lens, o->n_files);
        return -1;
    }
    for (int i = 0; i < o->n_files; i++) {
        if (ds_read_file(o->files[i], &texts[i], &lens[i], err, errlen) != 0) {
            dataset_texts_free(texts, lens, o->n_files);
            return -1;
        }
        total += lens[i];
    }
    size_t cut = ds_cut(o, texts, lens, total), pos = 0;
    for (int i = 0; i < o->n_files; i++) {
        size_t a = pos;
        pos += lens[i];
        lens[i] = cut <= a ? 0 : cut >= pos ? lens[i] : cut - a;
    }
    *texts_out = texts;
    *lens_out = lens;
    return 0;
}

void dataset_free(dataset_t *ds) {
    if (!ds) return;
    free(ds->train);
    free(ds->val);
    memset(ds, 0, sizeof(*ds));
}

int dataset_load(dataset_t *ds, tokenizer_t *tok, const dataset_opts_t *o, char *err,
                 size_t errlen) {
    memset(ds, 0, sizeof(*ds));
    if (o->n_files <= 0) {
        snprintf(err, errlen, "no training text given");
        return -1;
    }
    int n_all = o->n_files + o->n_val_files;
    char **texts = calloc((size_t)n_all, sizeof(char *));
    size_t *lens = calloc((size_t)n_all, sizeof(size_t));
    ds_ids_t tr = {0}, va = {0};
    char *valtext = NULL;
    int rc = -1;
    if (!texts || !lens) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    /* the key: tokenizer files, then every text with its name, then the split */
    uint64_t key = dataset_hash(0, "gptscope-tokens-v1", 18);
    const char *tok_files[2] = {"vocab.json", "merges.txt"};
    for (int i = 0; i < 2; i++) {
        char path[4200], *data;
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", o->tokenizer_dir, tok_files[i]);
        if (ds_read_file(path, &data, &len, err, errlen) != 0) goto done;
        key = dataset_hash(key, data, len);
        free(data);
    }
    size_t total = 0;
    for (int i = 0; i < n_all; i++) {
        const char *name = i < o->n_files ? o->files[i] : o->val_files[i - o->n_files];
        if (ds_read_file(name, &texts[i], &lens[i], err, errlen) != 0) goto done;
        key = dataset_hash(key, name, strlen(name) + 1);
        key = dataset_hash(key, texts[i], lens[i]);
        key = dataset_hash(key, &lens[i], sizeof(lens[i]));
        if (i < o->n_files) total += lens[i];
    }
    double frac = o->n_val_files > 0 ? -1.0 : o->val_frac;
    key = dataset_hash(key, &frac, sizeof(frac));
    if (total == 0) {
        snprintf(err, errlen, "%s: the training text is empty", o->files[0]);
        goto done;
    }
    size_t cut = ds_cut(o, texts, lens, total);
    /* the held-out text, for `gptscope eval` to reproduce the figure */
    size_t n_valtext = 0, need = total + 1;
    for (int i = o->n_files; i < n_all; i++) need += lens[i];
    valtext = malloc(need);
    if (!valtext) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    size_t pos = 0;
    for (int i = 0; i < o->n_files; i++) {
        size_t a = pos, b = pos + lens[i];
        size_t split = cut <= a ? 0 : cut >= b ? lens[i] : cut - a;
        memcpy(valtext + n_valtext, texts[i] + split, lens[i] - split);
        n_valtext += lens[i] - split;
        pos = b;
    }
    for (int i = o->n_files; i < n_all; i++) {
        memcpy(valtext + n_valtext, texts[i], lens[i]);
        n_valtext += lens[i];
    }
    if (o->val_text_path &&
        ds_write_text(o->val_text_path, valtext, n_valtext, err, errlen) != 0)
        goto done;

    ds->key = key;
    if (o->cache_path && ds_cache_read(ds, o->cache_path, key) == 0) {
        ds->from_cache = 1;
        rc = 0;
        goto done;
    }
    pos = 0;
    for (int i = 0; i < o->n_files; i++) {
        size_t a = pos, b = pos + lens[i];
        size_t split = cut <= a ? 0 : cut >= b ? lens[i] : cut - a;
        if (ds_encode(tok, o->files[i], texts[i], split, &tr, err, errlen) != 0 ||
            ds_encode(tok, o->files[i], texts[i] + split, lens[i] - split, &va, err, errlen) != 0)
            goto done;
        pos = b;
    }
    for (int i = o->n_files; i < n_all; i++)
        if (ds_encode(tok, o->val_files[i - o->n_files], texts[i], lens[i], &va, err, errlen))
            goto done;
    ds->train = tr.v ? tr.v : malloc(sizeof(int));
    ds->n_train = tr.n;
    ds->val = va.v ? va.v : malloc(sizeof(int));
    ds->n_val = va.n;
    tr.v = va.v = NULL;
    if (!ds->train || !ds->val) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    rc = o->cache_path ? ds_cache_write(ds, o->cache_path, tokenizer_vocab_size(tok), err, errlen)
                       : 0;
done:
    if (rc != 0) dataset_free(ds);
    for (int i = 0; texts && i < n_all; i++) free(texts[i]);
    free(texts);
    free(lens);
    free(tr.v);
    free(va.v);
    free(valtext);
    return rc;
}

void dataset_batch(const dataset_t *ds, uint64_t seed, int64_t step, int micro, int B, int T,
                   int *inputs, int *targets) {
    rng_t r;
    uint64_t s = seed * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)step << 20) ^ (uint64_t)micro;
    rng_seed(&r, s);
    uint64_t span = ds->n_train - (size_t)T; /* offsets 0..n_train-T-1 */
    for (int b = 0; b < B; b++) {
        size_t o = (size_t)(rng_next(&r) % span);
        memcpy(inputs + (size_t)b * T, ds->train + o, (size_t)T * sizeof(int));
        memcpy(targets + (size_t)b * T, ds->train + o + 1, (size_t)T * sizeof(int));
    }
}
