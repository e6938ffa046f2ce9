/* dataset.c - text -> cached token ids -> batches (see dataset.h).
 *
 * Token cache layout (little-endian):
 *   header, 80 bytes
 *      0  "GPTSCTOK"
 *      8  u32 version (2)         12  u32 width: 2 (u16 ids, vocabularies up to 65536) or 4
 *     16  u32 n_vocab             20  u32 n_files (training files, then validation files)
 *     24  u64 tokenizer hash (vocab.json, merges.txt)
 *     32  f64 val_frac (-1: explicit validation files)
 *     40  u64 n_train             48  u64 n_val
 *     56  u64 table bytes         64  u64 hash of the stored ids
 *     72  u64 hash of bytes 0..71 and the file table
 *   file table, n_files entries:
 *     u64 size, u64 content hash, u32 role (0 train, 1 validation), u32 path length, path
 *   n_train ids, then n_val ids (width bytes each)
 * Every field is checked on read. A cache for another tokenizer, other text
 * or another split is stale, and one whose size, checksums or ids are wrong
 * is damaged: either way it is rebuilt, and dataset_t.cache_note says why.
 * Files are identified by content, not modification time: touching a file
 * does not retokenize it, and an edit that keeps the mtime is still seen. */
#include "dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "rng.h"

#define DS_MAGIC "GPTSCTOK"
#define DS_VERSION 2u
#define DS_HEADER 80
#define DS_MAX_IDS (1ULL << 40)     /* per part: far beyond any text we read */
#define DS_MAX_TABLE (1ULL << 24)

uint64_t dataset_hash(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    if (h == 0) h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
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

/* What the cache must match: the tokenizer, the sources and the split. */
typedef struct ds_ident {
    uint64_t tok_hash;
    uint32_t n_vocab, n_files;
    double val_frac;
    unsigned char *table;      /* the file table as stored */
    size_t table_len;
    const char *const *names;  /* n_files paths, for messages */
} ds_ident_t;

static void ds_put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void ds_put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t ds_get32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t ds_get64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Appends one file-table entry; returns -1 when out of memory. */
static int ds_table_add(ds_ident_t *id, const char *path, uint64_t size, uint64_t hash,
                        uint32_t role) {
    size_t plen = strlen(path), add = 24 + plen;
    unsigned char *t = realloc(id->table, id->table_len + add);
    if (!t) return -1;
    unsigned char *e = t + id->table_len;
    ds_put64(e, size);
    ds_put64(e + 8, hash);
    ds_put32(e + 16, role);
    ds_put32(e + 20, (uint32_t)plen);
    memcpy(e + 24, path, plen);
    id->table = t;
    id->table_len += add;
    return 0;
}

/* Why a stored file table differs from the current one, as a note. */
static void ds_table_diff(const ds_ident_t *want, const unsigned char *got, size_t got_len,
                          uint32_t got_files, char *note, size_t nn) {
    size_t a = 0, b = 0;
    if (got_files != want->n_files) {
        snprintf(note, nn, "the list of text files changed");
        return;
    }
    for (uint32_t i = 0; i < want->n_files; i++) {
        if (b + 24 > got_len) break;
        const unsigned char *w = want->table + a, *g = got + b;
        uint32_t wl = ds_get32(w + 20), gl = ds_get32(g + 20);
        if (b + 24 + gl > got_len) break;
        if (wl != gl || memcmp(w + 24, g + 24, wl) != 0 || ds_get32(w + 16) != ds_get32(g + 16)) {
            snprintf(note, nn, "the list of text files changed");
            return;
        }
        if (memcmp(w, g, 16) != 0) {
            snprintf(note, nn, "%s changed", want->names[i]);
            return;
        }
        a += 24 + wl;
        b += 24 + gl;
    }
    snprintf(note, nn, "the list of text files changed");
}

/* Reads the cache at path into ds if it matches id in every field.
 * Returns 0, or -1 with note saying why not ("" when there is no file). */
static int ds_cache_read(dataset_t *ds, const char *path, const ds_ident_t *id, char *note,
                         size_t nn) {
    note[0] = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (errno != ENOENT) snprintf(note, nn, "unreadable: %s", strerror(errno));
        return -1;
    }
    struct stat sb;
    unsigned char h[DS_HEADER], *table = NULL;
    void *raw = NULL;
    int *ids = NULL;
    if (fstat(fileno(fp), &sb) != 0 || sb.st_size < DS_HEADER ||
        fread(h, 1, DS_HEADER, fp) != DS_HEADER) {
        snprintf(note, nn, "truncated");
        goto fail;
    }
    if (memcmp(h, DS_MAGIC, 8) != 0) {
        snprintf(note, nn, "not a gptscope token cache");
        goto fail;
    }
    uint32_t version = ds_get32(h + 8), width = ds_get32(h + 12), n_vocab = ds_get32(h + 16);
    uint32_t n_files = ds_get32(h + 20);
    uint64_t tok_hash = ds_get64(h + 24), nt = ds_get64(h + 40), nv = ds_get64(h + 48);
    uint64_t table_len = ds_get64(h + 56), ids_hash = ds_get64(h + 64);
    double val_frac;
    memcpy(&val_frac, h + 32, 8);
    if (version != DS_VERSION) {
        snprintf(note, nn, "format version %u, this gptscope writes %u", version, DS_VERSION);
        goto fail;
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (table_len > DS_MAX_TABLE || table_len > size - DS_HEADER) {
        if (table_len > DS_MAX_TABLE)
            snprintf(note, nn, "damaged (file table of %llu bytes)", (unsigned long long)table_len);
        else
            snprintf(note, nn, "truncated (%llu bytes)", (unsigned long long)size);
        goto fail;
    }
    table = malloc(table_len ? table_len : 1);
    if (!table || fread(table, 1, table_len, fp) != table_len) {
        snprintf(note, nn, table ? "truncated" : "out of memory");
        goto fail;
    }
    uint64_t hh = dataset_hash(dataset_hash(0, h, 72), table, table_len);
    if (hh != ds_get64(h + 72)) {
        snprintf(note, nn, "damaged (header checksum)");
        goto fail;
    }
    /* identity: tokenizer, sources, split */
    if (tok_hash != id->tok_hash || n_vocab != id->n_vocab) {
        snprintf(note, nn, "the tokenizer changed");
        goto fail;
    }
    if (n_files != id->n_files || table_len != id->table_len ||
        memcmp(table, id->table, table_len) != 0) {
        ds_table_diff(id, table, table_len, n_files, note, nn);
        goto fail;
    }
    if (memcmp(&val_frac, &id->val_frac, 8) != 0) {
        snprintf(note, nn, "the validation split changed");
        goto fail;
    }
    /* the ids: width, count against the file size, checksum, range */
    if (width != (n_vocab <= 65536 ? 2u : 4u) || nt >= DS_MAX_IDS || nv >= DS_MAX_IDS) {
        snprintf(note, nn, "damaged (width %u for %u tokens, %llu + %llu ids)", width, n_vocab,
                 (unsigned long long)nt, (unsigned long long)nv);
        goto fail;
    }
    uint64_t want = DS_HEADER + table_len + (nt + nv) * width;
    if (size != want) {
        snprintf(note, nn, "%s (%llu bytes, the header promises %llu)",
                 size < want ? "truncated" : "damaged", (unsigned long long)size,
                 (unsigned long long)want);
        goto fail;
    }
    size_t n = (size_t)(nt + nv);
    raw = malloc(n ? n * width : 1);
    ids = malloc((n ? n : 1) * sizeof(int));
    ds->val = malloc((nv ? nv : 1) * sizeof(int));
    if (!raw || !ids || !ds->val) {
        snprintf(note, nn, "out of memory");
        goto fail;
    }
    if (fread(raw, width, n, fp) != n) {
        snprintf(note, nn, "truncated");
        goto fail;
    }
    if (dataset_hash(0, raw, n * width) != ids_hash) {
        snprintf(note, nn, "damaged (token checksum)");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t v = width == 2 ? ((const uint16_t *)raw)[i] : ((const uint32_t *)raw)[i];
        if (v >= n_vocab) {
            snprintf(note, nn, "damaged (token id %u at %zu, vocabulary %u)", v, i, n_vocab);
            goto fail;
        }
        ids[i] = (int)v;
    }
    fclose(fp);
    free(raw);
    free(table);
    memcpy(ds->val, ids + nt, (size_t)nv * sizeof(int));
    ds->train = ids;
    ds->n_train = (size_t)nt;
    ds->n_val = (size_t)nv;
    return 0;
fail:
    fclose(fp);
    free(raw);
    free(ids);
    free(table);
    free(ds->val);
    ds->val = NULL;
    return -1;
}

/* Written to PATH.tmp and renamed: a killed run never leaves half a cache. */
static int ds_cache_write(const dataset_t *ds, const char *path, const ds_ident_t *id,
                          char *err, size_t errlen) {
    uint32_t width = id->n_vocab <= 65536 ? 2 : 4;
    size_t n = ds->n_train + ds->n_val;
    unsigned char *raw = malloc(n ? n * width : 1);
    if (!raw) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)(i < ds->n_train ? ds->train[i] : ds->val[i - ds->n_train]);
        if (width == 2) ((uint16_t *)raw)[i] = (uint16_t)v;
        else ((uint32_t *)raw)[i] = v;
    }
    unsigned char h[DS_HEADER];
    memcpy(h, DS_MAGIC, 8);
    ds_put32(h + 8, DS_VERSION);
    ds_put32(h + 12, width);
    ds_put32(h + 16, id->n_vocab);
    ds_put32(h + 20, id->n_files);
    ds_put64(h + 24, id->tok_hash);
    memcpy(h + 32, &id->val_frac, 8);
    ds_put64(h + 40, ds->n_train);
    ds_put64(h + 48, ds->n_val);
    ds_put64(h + 56, id->table_len);
    ds_put64(h + 64, dataset_hash(0, raw, n * width));
    ds_put64(h + 72, dataset_hash(dataset_hash(0, h, 72), id->table, id->table_len));

    char tmp[4300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        free(raw);
        return -1;
    }
    int bad = fwrite(h, 1, DS_HEADER, fp) != DS_HEADER ||
              fwrite(id->table, 1, id->table_len, fp) != id->table_len ||
              (n && fwrite(raw, width, n, fp) != n);
    int saved = errno;
    bad |= fclose(fp) != 0;
    free(raw);
    if (bad || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write the token cache: %s", path,
                 strerror(saved ? saved : errno));
        unlink(tmp);
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

/* Moves the training part of each file (texts[i] up to the cut) into ds;
 * the moved entries of texts become NULL. */
static int ds_keep_texts(dataset_t *ds, const dataset_opts_t *o, char **texts, const size_t *lens,
                         size_t cut, char *err, size_t errlen) {
    ds->texts = calloc((size_t)o->n_files, sizeof(char *));
    ds->text_lens = calloc((size_t)o->n_files, sizeof(size_t));
    if (!ds->texts || !ds->text_lens) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t pos = 0;
    for (int i = 0; i < o->n_files; i++) {
        size_t a = pos, b = pos + lens[i];
        ds->texts[i] = texts[i];
        ds->text_lens[i] = cut <= a ? 0 : cut >= b ? lens[i] : cut - a;
        texts[i] = NULL;
        ds->n_texts = i + 1;
        pos = b;
    }
    return 0;
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
        if (fileio_read_file(o->files[i], 0, &texts[i], &lens[i], err, errlen) != 0) {
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
    for (int i = 0; i < ds->n_texts; i++) free(ds->texts[i]);
    free(ds->texts);
    free(ds->text_lens);
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
    const char **names = calloc((size_t)n_all, sizeof(char *));
    ds_ids_t tr = {0}, va = {0};
    ds_ident_t id = {0};
    char *valtext = NULL;
    int rc = -1;
    if (!texts || !lens || !names) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    /* identity: the tokenizer (its files and how they are read) ... */
    int kind = (int)tokenizer_kind(tok);
    id.tok_hash = dataset_hash(0, &kind, sizeof(kind));
    const char *tok_files[2] = {"vocab.json", "merges.txt"};
    for (int i = 0; i < 2; i++) {
        char path[4200], *data;
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", o->tokenizer_dir ? o->tokenizer_dir : ".",
                 tok_files[i]);
        if (fileio_read_file(path, 0, &data, &len, err, errlen) != 0) goto done;
        uint64_t n64 = len;
        id.tok_hash = dataset_hash(id.tok_hash, &n64, sizeof(n64));
        id.tok_hash = dataset_hash(id.tok_hash, data, len);
        free(data);
    }
    id.n_vocab = (uint32_t)tokenizer_vocab_size(tok);
    /* ... every source file, and the split */
    size_t total = 0;
    for (int i = 0; i < n_all; i++) {
        names[i] = i < o->n_files ? o->files[i] : o->val_files[i - o->n_files];
        if (fileio_read_file(names[i], 0, &texts[i], &lens[i], err, errlen) != 0) goto done;
        if (ds_table_add(&id, names[i], lens[i], dataset_hash(0, texts[i], lens[i]),
                         i < o->n_files ? 0 : 1) != 0) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        if (i < o->n_files) total += lens[i];
    }
    id.n_files = (uint32_t)n_all;
    id.names = names;
    id.val_frac = o->n_val_files > 0 ? -1.0 : o->val_frac;
    ds->key = dataset_hash(dataset_hash(id.tok_hash, id.table, id.table_len), &id.val_frac, 8);
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
        fileio_write_atomic(o->val_text_path, valtext, n_valtext, err, errlen) != 0)
        goto done;

    if (o->cache_path) {
        if (ds_cache_read(ds, o->cache_path, &id, ds->cache_note, sizeof(ds->cache_note)) == 0) {
            ds->cache = DATASET_CACHE_REUSED;
            rc = 0;
            goto done;
        }
        ds->cache = ds->cache_note[0] ? DATASET_CACHE_REBUILT : DATASET_CACHE_CREATED;
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
    rc = o->cache_path ? ds_cache_write(ds, o->cache_path, &id, err, errlen) : 0;
done:
    if (rc == 0 && o->keep_text) rc = ds_keep_texts(ds, o, texts, lens, cut, err, errlen);
    if (rc != 0) dataset_free(ds);
    for (int i = 0; texts && i < n_all; i++) free(texts[i]);
    free(texts);
    free(lens);
    free(names);
    free(id.table);
    free(tr.v);
    free(va.v);
    free(valtext);
    return rc;
}

void dataset_batch_ids(const int *ids, size_t n, uint64_t seed, int64_t step, int micro, int B,
                       int T, int *inputs, int *targets) {
    rng_t r;
    uint64_t s = seed * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)step << 20) ^ (uint64_t)micro;
    rng_seed(&r, s);
    uint64_t span = n - (size_t)T; /* offsets 0..n-T-1 */
    for (int b = 0; b < B; b++) {
        size_t o = (size_t)(rng_next(&r) % span);
        memcpy(inputs + (size_t)b * T, ids + o, (size_t)T * sizeof(int));
        memcpy(targets + (size_t)b * T, ids + o + 1, (size_t)T * sizeof(int));
    }
}

void dataset_batch(const dataset_t *ds, uint64_t seed, int64_t step, int micro, int B, int T,
                   int *inputs, int *targets) {
    dataset_batch_ids(ds->train, ds->n_train, seed, step, micro, B, T, inputs, targets);
}

int dataset_resegment(const dataset_t *ds, tokenizer_t *tok, float p, uint64_t seed, int **ids,
                      size_t *n, char *err, size_t errlen) {
    ds_ids_t out = {0};
    if (!ds->texts) {
        snprintf(err, errlen, "BPE-dropout: the training texts were not kept");
        return -1;
    }
    tokenizer_set_dropout(tok, p, seed);
    int rc = 0;
    for (int i = 0; i < ds->n_texts && rc == 0; i++)
        rc = ds_encode(tok, "training text", ds->texts[i], ds->text_lens[i], &out, err, errlen);
    tokenizer_set_dropout(tok, 0, 0);
    if (rc != 0) {
        free(out.v);
        return -1;
    }
    *ids = out.v ? out.v : malloc(sizeof(int));
    *n = out.n;
    if (!*ids) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}
