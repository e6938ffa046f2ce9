/* test_train_data.c - the training data (core/train/dataset.h) against hand-worked
 * cases and the tokenizer itself:
 *   - the train/validation split: the first newline at or after the point,
 *     exactly on a newline, no newline left, inside a UTF-8 character,
 *     across files, explicit validation files, no validation; val.txt holds
 *     exactly the held-out bytes and the ids are the tokenizer's for each part;
 *   - the token cache: written, reused, rebuilt (with the reason) when a text,
 *     the file list, the split or the tokenizer changes, and rebuilt when
 *     truncated, garbage, or damaged in any header field, checksum or id;
 *   - batches: a function of (seed, step, micro-step), windows that are real
 *     slices of the training ids with targets shifted by one, every offset
 *     reachable and none out of range;
 *   - errors naming the file: missing, empty, invalid UTF-8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "rng.h"
#include "tap.h"

static char tmpdir[256];
static char tokdir[4096];

static void tmp_path(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", tmpdir, name);
}

static void write_file(const char *name, const void *data, size_t len) {
    char p[512];
    tmp_path(p, sizeof(p), name);
    FILE *fp = fopen(p, "wb");
    if (!fp) return;
    if (len) fwrite(data, 1, len, fp);
    fclose(fp);
}

/* Whole file (NUL-terminated), or NULL. */
static char *read_file(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf) buf[n] = 0;
    if (len) *len = (size_t)n;
    return buf;
}

typedef struct load_args {
    const char *files[4];
    int n_files;
    const char *val_files[2];
    int n_val;
    double val_frac;
    const char *tok_dir;
} load_args_t;

/* dataset_load with the cache and val.txt in tmpdir; file names are
 * relative to tmpdir. */
static int load(dataset_t *ds, tokenizer_t *tok, const load_args_t *a, char *err, size_t errlen) {
    static char paths[6][512];
    const char *files[4], *vals[2];
    for (int i = 0; i < a->n_files; i++) {
        tmp_path(paths[i], sizeof(paths[i]), a->files[i]);
        files[i] = paths[i];
    }
    for (int i = 0; i < a->n_val; i++) {
        tmp_path(paths[4 + i], sizeof(paths[4 + i]), a->val_files[i]);
        vals[i] = paths[4 + i];
    }
    char cache[512], valtxt[512];
    tmp_path(cache, sizeof(cache), "tokens.cache");
    tmp_path(valtxt, sizeof(valtxt), "val.txt");
    dataset_opts_t o = {files, a->n_files, vals, a->n_val, a->val_frac,
                        a->tok_dir ? a->tok_dir : tokdir, cache, valtxt, 0};
    return dataset_load(ds, tok, &o, err, errlen);
}

static int encode(tokenizer_t *tok, const char *text, size_t len, int **ids, size_t *n) {
    size_t cap = 0;
    char err[256];
    *ids = NULL;
    *n = 0;
    if (len == 0) return 0;
    return tokenizer_encode(tok, text, len, ids, n, &cap, err, sizeof(err));
}

static int same_ids(const int *a, size_t na, const int *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof(int)) == 0);
}

/* A reproducible multi-line text of about `bytes` bytes. */
static char *make_text(size_t bytes, uint64_t seed, size_t *len) {
    static const char *words[] = {"the", "king", "shall", "speak", "to", "thee", "of", "love",
                                  "and", "war,", "my", "lord."};
    rng_t r;
    rng_seed(&r, seed);
    char *s = malloc(bytes + 64);
    size_t n = 0;
    while (n < bytes) {
        const char *w = words[rng_next(&r) % 12];
        n += (size_t)snprintf(s + n, 64, "%s%s", w, rng_next(&r) % 7 == 0 ? "\n" : " ");
    }
    s[n - 1] = '\n';
    *len = n;
    return s;
}

/* ---- the split ---------------------------------------------------------- */

/* Loads text as one file with val_frac and checks val.txt == text + want_cut
 * and that the ids are the tokenizer's for each part. */
static void check_split(tap_t *t, tokenizer_t *tok, const char *text, size_t len, double frac,
                        size_t want_cut, const char *what) {
    write_file("split.txt", text, len);
    char p[512], err[512];
    tmp_path(p, sizeof(p), "tokens.cache");
    unlink(p);
    load_args_t a = {{"split.txt"}, 1, {0}, 0, frac, NULL};
    dataset_t ds;
    int rc = load(&ds, tok, &a, err, sizeof(err));
    if (!tap_ok(t, rc == 0, "%s: loads (%s)", what, rc ? err : "ok")) return;
    tmp_path(p, sizeof(p), "val.txt");
    size_t vlen = 0;
    char *val = read_file(p, &vlen);
    tap_ok(t, val && vlen == len - want_cut && memcmp(val, text + want_cut, vlen) == 0,
           "%s: val.txt is the text from byte %zu (%zu bytes, got %zu)", what, want_cut,
           len - want_cut, vlen);
    int *tr, *va;
    size_t ntr, nva;
    encode(tok, text, want_cut, &tr, &ntr);
    encode(tok, text + want_cut, len - want_cut, &va, &nva);
    tap_ok(t, same_ids(ds.train, ds.n_train, tr, ntr) && same_ids(ds.val, ds.n_val, va, nva),
           "%s: ids are the tokenizer's for each part (%zu + %zu)", what, ntr, nva);
    free(tr);
    free(va);
    free(val);
    dataset_free(&ds);
}

static void test_split(tap_t *t, tokenizer_t *tok) {
    /* 28 bytes, frac 0.3: the point is byte 19 ('f' of "five"); the first
     * newline at or after it is byte 23, so validation is "six\n" */
    check_split(t, tok, "one\ntwo three four\nfive\nsix\n", 28, 0.3, 24,
                "the first newline after the point");
    /* the only newline after the point ends the text: cut at the point (byte 36) */
    check_split(t, tok, "first line\nsecond line\nthird line\nending\n", 41, 0.1, 36,
                "the only newline after the point is the last byte");
    /* 11 bytes, frac 0.5: the point (byte 5) is a newline; it stays in training */
    check_split(t, tok, "aaaaa\nbbbb\n", 11, 0.5, 6, "the point exactly on a newline");
    /* no newline at or after the point: cut at the point */
    check_split(t, tok, "abcdefgh\nxyz", 12, 0.25, 9, "no newline after the point");
    /* the point falls inside a 2-byte character: moved past it */
    check_split(t, tok, "aaaa\n\xc3\xa9\xc3\xa9\xc3\xa9", 11, 0.4, 7, "inside a UTF-8 character");

    /* across files: the cut lands in the second file */
    const char *fa = "one two three\nfour five\n", *fb = "six seven\neight\nnine ten\n";
    size_t la = strlen(fa), lb = strlen(fb);
    write_file("a.txt", fa, la);
    write_file("b.txt", fb, lb);
    char p[512], err[512];
    tmp_path(p, sizeof(p), "tokens.cache");
    unlink(p);
    /* 49 bytes, frac 0.3: the point is byte 34 (b.txt byte 10, 'e'); the next
     * newline is b.txt byte 15, so the validation text is "nine ten\n" */
    load_args_t a = {{"a.txt", "b.txt"}, 2, {0}, 0, 0.3, NULL};
    dataset_t ds;
    int rc = load(&ds, tok, &a, err, sizeof(err));
    if (tap_ok(t, rc == 0, "two files: loads (%s)", rc ? err : "ok")) {
        tmp_path(p, sizeof(p), "val.txt");
        char *val = read_file(p, NULL);
        tap_ok(t, val && strcmp(val, "nine ten\n") == 0, "two files: val.txt is the end of b.txt");
        int *ia, *ib, *iv;
        size_t na, nb, nv;
        encode(tok, fa, la, &ia, &na);
        encode(tok, fb, 16, &ib, &nb);
        encode(tok, "nine ten\n", 9, &iv, &nv);
        int good = ds.n_train == na + nb && same_ids(ds.train, na, ia, na) &&
                   same_ids(ds.train + na, nb, ib, nb) && same_ids(ds.val, ds.n_val, iv, nv);
        tap_ok(t, good, "two files: each file tokenized on its own, split inside b.txt");
        free(ia);
        free(ib);
        free(iv);
        free(val);
        dataset_free(&ds);

        /* dataset_train_texts (what BPE learns from) is the same training part */
        char **texts;
        size_t *lens;
        char pa[512], pb[512];
        tmp_path(pa, sizeof(pa), "a.txt");
        tmp_path(pb, sizeof(pb), "b.txt");
        const char *files[2] = {pa, pb};
        dataset_opts_t o = {files, 2, NULL, 0, 0.3, tokdir, NULL, NULL, 0};
        rc = dataset_train_texts(&o, &texts, &lens, err, sizeof(err));
        tap_ok(t, rc == 0 && lens[0] == la && lens[1] == 16 && memcmp(texts[0], fa, la) == 0 &&
                      memcmp(texts[1], fb, 16) == 0,
               "dataset_train_texts gives exactly the training part of each file");
        if (rc == 0) dataset_texts_free(texts, lens, 2);
    }

    /* explicit validation files: val.txt is that text; all of a.txt trains */
    load_args_t e = {{"a.txt"}, 1, {"b.txt"}, 1, 0.1, NULL};
    rc = load(&ds, tok, &e, err, sizeof(err));
    if (tap_ok(t, rc == 0, "--val file: loads (%s)", rc ? err : "ok")) {
        tmp_path(p, sizeof(p), "val.txt");
        char *val = read_file(p, NULL);
        int *ia, *ib;
        size_t na, nb;
        encode(tok, fa, la, &ia, &na);
        encode(tok, fb, lb, &ib, &nb);
        tap_ok(t, val && strcmp(val, fb) == 0 && same_ids(ds.train, ds.n_train, ia, na) &&
                      same_ids(ds.val, ds.n_val, ib, nb),
               "--val file: all of a.txt trains, val.txt and the validation ids are b.txt's");
        free(ia);
        free(ib);
        free(val);
        dataset_free(&ds);
    }
    /* no validation set */
    load_args_t z = {{"a.txt"}, 1, {0}, 0, 0.0, NULL};
    rc = load(&ds, tok, &z, err, sizeof(err));
    tap_ok(t, rc == 0 && ds.n_val == 0 && ds.n_train > 0, "--val-frac 0: no validation tokens");
    dataset_free(&ds);
}

/* ---- the cache ---------------------------------------------------------- */

typedef struct ref_ids {
    int *train, *val;
    size_t n_train, n_val;
} ref_ids_t;

/* Loads main.txt (frac 0.1) and expects the given cache outcome, the note
 * to contain note (if non-NULL) and the ids to equal ref. */
static void expect_load(tap_t *t, tokenizer_t *tok, const load_args_t *a, dataset_cache_t want,
                        const char *note, const ref_ids_t *ref, const char *what) {
    dataset_t ds;
    char err[512];
    int rc = load(&ds, tok, a, err, sizeof(err));
    if (!tap_ok(t, rc == 0, "%s: loads (%s)", what, rc ? err : "ok")) return;
    int good = ds.cache == want && (!note || strstr(ds.cache_note, note));
    if (ref)
        good = good && same_ids(ds.train, ds.n_train, ref->train, ref->n_train) &&
               same_ids(ds.val, ds.n_val, ref->val, ref->n_val);
    tap_ok(t, good, "%s: cache %s%s%s%s", what,
           want == DATASET_CACHE_REUSED    ? "reused"
           : want == DATASET_CACHE_CREATED ? "created"
                                           : "rebuilt",
           note ? " (" : "", note ? note : "", note ? ")" : "");
    if (!good) tap_diag("got status %d, note '%s'", (int)ds.cache, ds.cache_note);
    dataset_free(&ds);
}

/* Recomputes the cache's header checksum after a deliberate edit, so that
 * the check under test is the one that fires. */
static void rehash_header(unsigned char *c, size_t len) {
    uint64_t table_len;
    memcpy(&table_len, c + 56, 8);
    if (80 + table_len > len) return;
    uint64_t h = dataset_hash(dataset_hash(0, c, 72), c + 80, (size_t)table_len);
    memcpy(c + 72, &h, 8);
}

static void rehash_ids(unsigned char *c, size_t len) {
    uint64_t table_len;
    memcpy(&table_len, c + 56, 8);
    size_t at = 80 + (size_t)table_len;
    uint64_t h = dataset_hash(0, c + at, len - at);
    memcpy(c + 64, &h, 8);
    rehash_header(c, len);
}

static void test_cache(tap_t *t, tokenizer_t *tok) {
    size_t len;
    char *text = make_text(4000, 3, &len);
    write_file("main.txt", text, len);
    char cache[512], err[512];
    tmp_path(cache, sizeof(cache), "tokens.cache");
    unlink(cache);
    load_args_t a = {{"main.txt"}, 1, {0}, 0, 0.1, NULL};

    dataset_t ds;
    int rc = load(&ds, tok, &a, err, sizeof(err));
    struct stat sb;
    if (!tap_ok(t, rc == 0 && ds.cache == DATASET_CACHE_CREATED && stat(cache, &sb) == 0,
                "no cache: tokenized and written (%s)", rc ? err : "ok"))
        return;
    ref_ids_t ref = {ds.train, ds.val, ds.n_train, ds.n_val};
    ds.train = ds.val = NULL;
    dataset_free(&ds);
    tap_ok(t, (size_t)sb.st_size == 80 + 24 + strlen(tmpdir) + 9 + 2 * (ref.n_train + ref.n_val),
           "u16 ids for a %d-token vocabulary: %lld bytes", tokenizer_vocab_size(tok),
           (long long)sb.st_size);
    expect_load(t, tok, &a, DATASET_CACHE_REUSED, NULL, &ref, "same text");

    /* the same size, one byte different */
    text[len / 2] = text[len / 2] == 'e' ? 'a' : 'e';
    write_file("main.txt", text, len);
    expect_load(t, tok, &a, DATASET_CACHE_REBUILT, "main.txt changed", NULL, "edited text");
    expect_load(t, tok, &a, DATASET_CACHE_REUSED, NULL, NULL, "edited text, again");
    text[len / 2] = text[len / 2] == 'e' ? 'a' : 'e';
    write_file("main.txt", text, len);
    expect_load(t, tok, &a, DATASET_CACHE_REBUILT, "main.txt changed", &ref, "text restored");

    load_args_t a2 = a;
    a2.val_frac = 0.2;
    expect_load(t, tok, &a2, DATASET_CACHE_REBUILT, "validation split changed", NULL,
                "--val-frac 0.2");
    write_file("extra.txt", "more text\n", 10);
    load_args_t a3 = {{"main.txt", "extra.txt"}, 2, {0}, 0, 0.1, NULL};
    expect_load(t, tok, &a3, DATASET_CACHE_REBUILT, "list of text files changed", NULL,
                "another file");
    /* a tokenizer with the same vocabulary but other bytes in vocab.json */
    char tok2[512], src[4200], dst[600];
    tmp_path(tok2, sizeof(tok2), "tok2");
    mkdir(tok2, 0755);
    snprintf(src, sizeof(src), "%s/merges.txt", tokdir);
    size_t n;
    char *m = read_file(src, &n);
    snprintf(dst, sizeof(dst), "%s/merges.txt", tok2);
    FILE *fp = fopen(dst, "wb");
    if (fp && m) fwrite(m, 1, n, fp);
    if (fp) fclose(fp);
    free(m);
    snprintf(src, sizeof(src), "%s/vocab.json", tokdir);
    m = read_file(src, &n);
    snprintf(dst, sizeof(dst), "%s/vocab.json", tok2);
    fp = fopen(dst, "wb");
    if (fp && m) {
        fwrite(m, 1, n, fp);
        fputs("\n\n", fp);
    }
    if (fp) fclose(fp);
    free(m);
    load_args_t a4 = a;
    a4.tok_dir = tok2;
    expect_load(t, tok, &a4, DATASET_CACHE_REBUILT, "tokenizer changed", &ref, "other tokenizer");
    expect_load(t, tok, &a, DATASET_CACHE_REBUILT, "tokenizer changed", &ref, "back to the first");

    /* damaged caches: every one rebuilt with the right ids, with the reason */
    size_t clen;
    unsigned char *good = (unsigned char *)read_file(cache, &clen);
    expect_load(t, tok, &a, DATASET_CACHE_REUSED, NULL, &ref, "a good cache");
    uint64_t table_len;
    memcpy(&table_len, good + 56, 8);
    size_t ids_at = 80 + (size_t)table_len;
    struct {
        const char *what, *note;
        int kind; /* 0 truncate to arg, 1 garbage, 2 flip byte arg, 3 append,
                     4 u32 at arg = val (+rehash header), 5 id out of range (+rehash all) */
        size_t arg;
        uint32_t val;
    } cases[] = {
        {"empty file", "truncated", 0, 0, 0},
        {"cut inside the header", "truncated", 0, 50, 0},
        {"cut inside the file table", "truncated", 0, 90, 0},
        {"cut inside the ids", "truncated", 0, 0, 1},
        {"garbage", "not a gptscope token cache", 1, 0, 0},
        {"a flipped bit in n_train", "header checksum", 2, 40, 0},
        {"a flipped bit in a path", "header checksum", 2, 90, 0},
        {"a flipped bit in the ids", "token checksum", 2, 0, 1},
        {"a byte appended", "damaged", 3, 0, 0},
        {"version 3", "format version 3", 4, 8, 3},
        {"width 4 for a small vocabulary", "damaged (width", 4, 12, 4},
        {"another vocabulary size", "tokenizer changed", 4, 16, 50000},
        {"another file count", "list of text files changed", 4, 20, 2},
        {"an id beyond the vocabulary", "token id", 5, 0, 0},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        unsigned char *c = malloc(clen + 1);
        memcpy(c, good, clen);
        size_t cl = clen;
        switch (cases[k].kind) {
        case 0: cl = cases[k].val ? clen - 1 : cases[k].arg; break;
        case 1: {
            rng_t r;
            rng_seed(&r, 9);
            for (size_t i = 0; i < cl; i++) c[i] = (unsigned char)rng_next(&r);
            break;
        }
        case 2: c[cases[k].val ? ids_at + 3 : cases[k].arg] ^= 0x10; break;
        case 3: c[cl++] = 0; break;
        case 4:
            memcpy(c + cases[k].arg, &cases[k].val, 4);
            rehash_header(c, cl);
            break;
        case 5: {
            uint16_t bad = (uint16_t)tokenizer_vocab_size(tok);
            memcpy(c + ids_at + 2 * 5, &bad, 2);
            rehash_ids(c, cl);
            break;
        }
        }
        fp = fopen(cache, "wb");
        if (fp) {
            if (cl) fwrite(c, 1, cl, fp);
            fclose(fp);
        }
        free(c);
        expect_load(t, tok, &a, DATASET_CACHE_REBUILT, cases[k].note, &ref, cases[k].what);
    }
    unsigned char *after = (unsigned char *)read_file(cache, &n);
    tap_ok(t, after && n == clen && memcmp(after, good, n) == 0,
           "the rebuilt cache is byte-identical to the first one");
    free(after);
    free(good);
    /* a directory where the cache should be: a clear error, not a crash */
    unlink(cache);
    mkdir(cache, 0755);
    rc = load(&ds, tok, &a, err, sizeof(err));
    tap_ok(t, rc != 0 && strstr(err, "tokens.cache"), "cache path is a directory: %s", err);
    rmdir(cache);
    free(ref.train);
    free(ref.val);
    free(text);
}

/* ---- batches ------------------------------------------------------------- */

static void test_batches(tap_t *t) {
    enum { N = 40, T = 8, B = 4 };
    int train[N];
    for (int i = 0; i < N; i++) train[i] = 1000 + i; /* the id says where it is */
    dataset_t ds = {0};
    ds.train = train;
    ds.n_train = N;
    int in1[B * T], tg1[B * T], in2[B * T], tg2[B * T];
    dataset_batch(&ds, 7, 12, 1, B, T, in1, tg1);
    dataset_batch(&ds, 7, 12, 1, B, T, in2, tg2);
    tap_ok(t, !memcmp(in1, in2, sizeof(in1)) && !memcmp(tg1, tg2, sizeof(tg1)),
           "batches: the same (seed, step, micro-step) draws the same batch");
    int slices = 1;
    for (int b = 0; b < B; b++)
        for (int k = 0; k < T; k++) {
            int o = in1[b * T] - 1000;
            slices &= in1[b * T + k] == train[o + k] && tg1[b * T + k] == train[o + k + 1];
        }
    tap_ok(t, slices, "batches: each row is a window of the text, targets shifted by one");
    int differ = 0;
    dataset_batch(&ds, 7, 13, 1, B, T, in2, tg2);
    differ += memcmp(in1, in2, sizeof(in1)) != 0;
    dataset_batch(&ds, 7, 12, 0, B, T, in2, tg2);
    differ += memcmp(in1, in2, sizeof(in1)) != 0;
    dataset_batch(&ds, 8, 12, 1, B, T, in2, tg2);
    differ += memcmp(in1, in2, sizeof(in1)) != 0;
    tap_ok(t, differ == 3, "batches: another step, micro-step or seed draws another batch");
    /* offsets 0 .. N-T-1 all reachable, nothing beyond */
    int seen[N] = {0}, in_range = 1;
    for (int s = 0; s < 400; s++) {
        dataset_batch(&ds, 1, s, 0, B, T, in2, tg2);
        for (int b = 0; b < B; b++) {
            int o = in2[b * T] - 1000;
            in_range &= o >= 0 && o + T < N;
            if (o >= 0 && o < N) seen[o] = 1;
        }
    }
    int all = 1;
    for (int o = 0; o + T < N; o++) all &= seen[o];
    tap_ok(t, in_range && all, "batches: every offset 0..%d drawn, none beyond", N - T - 1);
}

/* ---- BPE-dropout ----------------------------------------------------------- */

/* Kept texts are exactly the training part (p = 0 gives the cached ids back);
 * p > 0 gives another segmentation of the same bytes, fixed by the seed. */
static void test_resegment(tap_t *t, tokenizer_t *tok) {
    size_t la, lb;
    char *ta = make_text(3000, 11, &la), *tb = make_text(2000, 12, &lb);
    write_file("a.txt", ta, la);
    write_file("b.txt", tb, lb);
    char p[512];
    tmp_path(p, sizeof(p), "tokens.cache");
    unlink(p);
    static char pa[512], pb[512], cache[512];
    tmp_path(pa, sizeof(pa), "a.txt");
    tmp_path(pb, sizeof(pb), "b.txt");
    tmp_path(cache, sizeof(cache), "tokens.cache");
    const char *files[2] = {pa, pb};
    char err[512] = "";
    for (int pass = 0; pass < 2; pass++) { /* tokenized, then the cache reused */
        dataset_opts_t o = {files, 2, NULL, 0, 0.3, tokdir, cache, NULL, 1};
        dataset_t ds;
        if (!tap_ok(t, dataset_load(&ds, tok, &o, err, sizeof(err)) == 0,
                    "keep_text load, pass %d (%s)", pass, err))
            break;
        size_t kept = 0;
        for (int i = 0; i < ds.n_texts; i++) kept += ds.text_lens[i];
        tap_ok(t, ds.n_texts == 2 && ds.text_lens[0] == la && kept < la + lb && kept > la,
               "the training part of both files is kept (%zu of %zu bytes)", kept, la + lb);
        int *ids = NULL, *ids2 = NULL, *ids3 = NULL;
        size_t n = 0, n2 = 0, n3 = 0;
        int rc = dataset_resegment(&ds, tok, 0, 1, &ids, &n, err, sizeof(err));
        tap_ok(t, rc == 0 && same_ids(ids, n, ds.train, ds.n_train),
               "p = 0: the kept texts encode to the training ids (%s)",
               ds.cache == DATASET_CACHE_REUSED ? "cache reused" : "just tokenized");
        free(ids);
        rc = dataset_resegment(&ds, tok, 0.5f, 9, &ids, &n, err, sizeof(err));
        rc |= dataset_resegment(&ds, tok, 0.5f, 9, &ids2, &n2, err, sizeof(err));
        rc |= dataset_resegment(&ds, tok, 0.5f, 10, &ids3, &n3, err, sizeof(err));
        tap_ok(t, rc == 0 && n > ds.n_train && same_ids(ids, n, ids2, n2) &&
                      !same_ids(ids, n, ids3, n3),
               "p = 0.5: %zu ids instead of %zu, the same for the same seed, not for another",
               n, ds.n_train);
        size_t out_len = 0;
        char *back = tokenizer_decode(tok, ids, n, &out_len, err, sizeof(err));
        int same = back && out_len == kept && memcmp(back, ta, la) == 0 &&
                   memcmp(back + la, tb, kept - la) == 0;
        tap_ok(t, same, "p = 0.5: the ids decode to the training text");
        free(back), free(ids), free(ids2), free(ids3);
        dataset_free(&ds);
    }
    dataset_opts_t o = {files, 2, NULL, 0, 0.3, tokdir, cache, NULL, 0};
    dataset_t ds;
    int *ids = NULL;
    size_t n = 0;
    if (dataset_load(&ds, tok, &o, err, sizeof(err)) == 0) {
        int rc = dataset_resegment(&ds, tok, 0.1f, 1, &ids, &n, err, sizeof(err));
        tap_ok(t, rc != 0 && strstr(err, "not kept"), "without keep_text: %s", err);
        dataset_free(&ds);
    }
    free(ta), free(tb);
}

/* ---- errors -------------------------------------------------------------- */

static void test_errors(tap_t *t, tokenizer_t *tok) {
    dataset_t ds;
    char err[512];
    load_args_t a = {{"nope.txt"}, 1, {0}, 0, 0.1, NULL};
    int rc = load(&ds, tok, &a, err, sizeof(err));
    tap_ok(t, rc != 0 && strstr(err, "nope.txt: No such file"), "missing file: %s", err);
    write_file("empty.txt", "", 0);
    load_args_t e = {{"empty.txt"}, 1, {0}, 0, 0.1, NULL};
    rc = load(&ds, tok, &e, err, sizeof(err));
    tap_ok(t, rc != 0 && strstr(err, "empty.txt: the training text is empty"), "empty text: %s",
           err);
    const char *bad = "fine\nthen \xff\xfe here\nand more text here\n";
    write_file("bad.txt", bad, strlen(bad));
    load_args_t b = {{"bad.txt"}, 1, {0}, 0, 0.0, NULL};
    rc = load(&ds, tok, &b, err, sizeof(err));
    tap_ok(t, rc != 0 && strstr(err, "bad.txt: ") && strstr(err, "UTF-8"),
           "invalid UTF-8: %s", err);
    load_args_t v = {{"main.txt"}, 1, {"nope.txt"}, 1, 0.1, NULL};
    rc = load(&ds, tok, &v, err, sizeof(err));
    tap_ok(t, rc != 0 && strstr(err, "nope.txt"), "missing --val file: %s", err);
}

int main(void) {
    tap_t t = {0};
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gptscope-test-data-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    TAP_SRC(tokdir, "tests/reference/models/gpt2-f32");
    char err[512];
    tokenizer_t *tok = tokenizer_load(tokdir, TOKENIZER_GPT2, err, sizeof(err));
    if (!tap_ok(&t, tok != NULL, "tokenizer loads (%s)", tok ? tokdir : err)) return tap_done(&t);

    test_split(&t, tok);
    test_cache(&t, tok);
    test_batches(&t);
    test_resegment(&t, tok);
    test_errors(&t, tok);

    tokenizer_free(tok);
    const char *names[] = {"split.txt", "a.txt",    "b.txt",     "main.txt",   "extra.txt",
                           "val.txt",   "empty.txt", "bad.txt",  "tokens.cache",
                           "tok2/vocab.json", "tok2/merges.txt"};
    char p[512];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        tmp_path(p, sizeof(p), names[i]);
        unlink(p);
    }
    tmp_path(p, sizeof(p), "tok2");
    rmdir(p);
    rmdir(tmpdir);
    return tap_done(&t);
}
