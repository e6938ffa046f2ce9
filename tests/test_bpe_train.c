/* test_bpe_train.c - the BPE trainer (core/tokenizer/bpe_train.c) against references.
 *
 * - Small corpora worked out by hand: the exact merges, in order, including
 *   the tie-break (smallest left id, then right id), counts that a merge
 *   lowers, "<|endoftext|>" cut out, and texts that never join.
 * - Golden files from the slow Python trainer (tests/reference/
 *   bpe_train_ref.py, recounting every pair every round): two vocabularies
 *   of a hand-made multilingual corpus and the merges of the first 100 kB of
 *   tinyshakespeare, which must come out identical.
 * - A naive trainer in this file (every pre-token kept separately, every
 *   pair recounted every round in a dense table) against the fast one on
 *   hundreds of random corpora full of ties, repeats and multibyte text.
 * - tinyshakespeare at 1000 tokens: the files load in the project's GPT-2
 *   tokenizer, encode -> decode gives back the whole text, the compression
 *   is sane, two runs write identical files, and ids 0..255 spell the bytes
 *   exactly as GPT-2's published vocab.json does.
 * - Errors: invalid UTF-8 (file and offset named), too small a vocabulary,
 *   an output directory that cannot be written. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bpe_gpt2.h"
#include "bpe_train.h"
#include "tap.h"
#include "tokenizer.h"

static char tmp_root[] = "/tmp/test_bpe_train.XXXXXX";

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    if (buf && len) *len = (size_t)n;
    return buf;
}

/* tmp_root/name, removed first (with the files the trainer writes). */
static const char *out_dir(char *buf, size_t cap, const char *name) {
    static const char *const files[] = {"vocab.json", "merges.txt", "vocab.json.tmp",
                                        "merges.txt.tmp"};
    snprintf(buf, cap, "%s/%s", tmp_root, name);
    char p[600];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", buf, files[i]);
        unlink(p);
    }
    rmdir(buf);
    return buf;
}

static void remove_dir(const char *name) {
    char d[512];
    out_dir(d, sizeof d, name);
}

static int train(const char *const *texts, int n, int vocab, int min_freq, const char *dir,
                 char *err, size_t errlen) {
    size_t lens[16];
    for (int i = 0; i < n; i++) lens[i] = strlen(texts[i]);
    bpe_train_opts_t o = {vocab, min_freq, NULL, NULL};
    return bpe_train(texts, lens, NULL, n, &o, dir, err, errlen);
}

/* The merges of dir/merges.txt after the version line, "|"-joined. */
static char *merges_joined(const char *dir) {
    char p[600];
    snprintf(p, sizeof p, "%s/merges.txt", dir);
    char *s = read_all(p, NULL);
    if (!s) return NULL;
    if (strncmp(s, "#version: 0.2\n", 14) != 0) {
        free(s);
        return NULL;
    }
    memmove(s, s + 14, strlen(s + 14) + 1);
    for (char *c = s; *c; c++)
        if (*c == '\n') *c = '|';
    return s;
}

static void check_merges(tap_t *t, const char *const *texts, int n, int vocab, int min_freq,
                         int want_rc, const char *want, const char *what) {
    char dir[512], err[512] = "";
    out_dir(dir, sizeof dir, "hand");
    int rc = train(texts, n, vocab, min_freq, dir, err, sizeof err);
    char *got = rc > 0 ? merges_joined(dir) : NULL;
    int same = rc == want_rc && got && strcmp(got, want) == 0;
    tap_ok(t, same, "%s", what);
    if (!same) tap_diag("rc %d (want %d) %s; merges \"%s\", want \"%s\"", rc, want_rc, err,
                        got ? got : "(none)", want);
    free(got);
    remove_dir("hand");
}

/* ---- hand-worked corpora ---- */
static void test_hand(tap_t *t) {
    /* Words: low x2, " lower", newest, widest (the marker splits the last two).
     * Counts: (l,o) 3, (o,w) 3, (w,e) 2, (e,s) 2, (s,t) 2, the rest 1.
     * 1. (l,o) 3 ties (o,w) 3: l (id 75) < o (78)         -> lo
     * 2. (lo,w) 3                                           -> low
     *    " lower" is now [Ġ low e r]: (w,e) falls to 1
     * 3. (e,s) 2 ties (s,t) 2: e (68) < s (82)             -> es
     * 4. (es,t) 2                                           -> est
     * then every pair occurs once: below min frequency 2, 261 tokens. */
    const char *lower[] = {"low lower", "newest<|endoftext|>widest", "low"};
    check_merges(t, lower, 3, 1000, 2, 261, "l o|lo w|e s|es t|",
                 "hand-worked: ties by left id, a merge lowers (w,e), min frequency stops");
    check_merges(t, lower, 3, 259, 2, 259, "l o|lo w|", "vocab size 259 stops after 2 merges");
    /* min frequency 1: the count-1 pairs follow, each round the smallest
     * (left, right) id: d 67, e 68 (r 81 < w 86), i 72, n 77, w 86, then
     * Ġ 220 < new 264 < Ġlow 266 among the merged symbols. */
    check_merges(t, lower, 3, 1000, 1, 270,
                 "l o|lo w|e s|es t|d est|e r|e w|i dest|n ew|w idest|Ġ low|new est|Ġlow er|",
                 "min frequency 1: every word ends as one token, ties by (left, right) id");
    /* <|endoftext|> is cut out: uncut, "<|" "endoftext" "|><|" ... would give
     * pairs that occur twice */
    const char *eot[] = {"<|endoftext|><|endoftext|>"};
    check_merges(t, eot, 1, 1000, 2, 257, "", "<|endoftext|> is never learned from");
    /* texts do not join: "ab" "ab" "ab" has (a,b) 3 and nothing else; as one
     * text "ababab" would merge (ab,ab) too */
    const char *sep[] = {"ab", "ab", "ab"};
    check_merges(t, sep, 3, 1000, 2, 258, "a b|", "a word never spans two texts");
    /* overlapping pairs count: "aaaa" x1 holds (a,a) 3 times -> aa; then
     * [aa aa] holds (aa,aa) once, below 2 */
    const char *run[] = {"aaaa"};
    check_merges(t, run, 1, 1000, 2, 258, "a a|",
                 "overlapping occurrences counted, merged left to right");
    const char *empty[] = {""};
    check_merges(t, empty, 1, 1000, 2, 257, "",
                 "an empty corpus gives the 256 bytes + <|endoftext|>");
}

/* ---- golden files from the Python reference ---- */

static int same_vocab(const char *got_path, const char *want_path, char *why, size_t cap) {
    char *a = read_all(got_path, NULL), *b = read_all(want_path, NULL);
    cJSON *ja = a ? cJSON_Parse(a) : NULL, *jb = b ? cJSON_Parse(b) : NULL;
    int ok = ja && jb && cJSON_GetArraySize(ja) == cJSON_GetArraySize(jb);
    snprintf(why, cap, "%s", ok ? "" : "missing, unparsable or of different sizes");
    const cJSON *ia = ja ? ja->child : NULL, *ib = jb ? jb->child : NULL;
    for (; ok && ia && ib; ia = ia->next, ib = ib->next) { /* same keys, same ids, same order */
        ok = strcmp(ia->string, ib->string) == 0 && cJSON_IsNumber(ia) &&
             ia->valueint == ib->valueint;
        if (!ok) snprintf(why, cap, "\"%s\": %d vs \"%s\": %d", ia->string, ia->valueint,
                          ib->string, ib->valueint);
    }
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    free(a);
    free(b);
    return ok;
}

static int same_file(const char *got_path, const char *want_path) {
    size_t la = 0, lb = 0;
    char *a = read_all(got_path, &la), *b = read_all(want_path, &lb);
    int same = a && b && la == lb && memcmp(a, b, la) == 0;
    free(a);
    free(b);
    return same;
}

static void check_golden(tap_t *t, const char *const *texts, const size_t *lens, int n,
                         int vocab, int min_freq, const char *golden, int want_vocab_json) {
    char dir[512], err[512] = "", got[600], want[600], gold[512];
    out_dir(dir, sizeof dir, "golden");
    TAP_SRC(gold, golden);
    bpe_train_opts_t o = {vocab, min_freq, NULL, NULL};
    int rc = bpe_train(texts, lens, NULL, n, &o, dir, err, sizeof err);
    if (!tap_ok(t, rc > 0, "train for %s: %s", golden, rc > 0 ? "ok" : err)) return;
    snprintf(got, sizeof got, "%s/merges.txt", dir);
    snprintf(want, sizeof want, "%s/merges.txt", gold);
    tap_ok(t, same_file(got, want), "%s/merges.txt: identical to the Python reference", golden);
    if (want_vocab_json) {
        char why[300];
        snprintf(got, sizeof got, "%s/vocab.json", dir);
        snprintf(want, sizeof want, "%s/vocab.json", gold);
        tap_ok(t, same_vocab(got, want, why, sizeof why),
               "%s/vocab.json: the same tokens and ids in the same order %s", golden, why);
    }
    remove_dir("golden");
}

static void test_golden(tap_t *t) {
    char pa[512], pb[512];
    size_t lens[2];
    char *a = read_all(TAP_SRC(pa, "tests/reference/bpe-train/corpus-a.txt"), &lens[0]);
    char *b = read_all(TAP_SRC(pb, "tests/reference/bpe-train/corpus-b.txt"), &lens[1]);
    if (tap_ok(t, a && b, "read the golden corpora")) {
        const char *texts[2] = {a, b};
        check_golden(t, texts, lens, 2, 400, 2, "tests/reference/bpe-train/v400", 1);
        check_golden(t, texts, lens, 2, 100000, 1, "tests/reference/bpe-train/all", 1);
    }
    free(a);
    free(b);
    size_t len;
    char *ts = read_all(TAP_SHARED(pa, "tinyshakespeare.txt"), &len);
    if (!ts) {
        printf("ok %d - # SKIP %s not found\n", ++t->n_run, pa);
        return;
    }
    const char *texts[1] = {ts};
    size_t head = len < 100000 ? len : 100000;
    check_golden(t, texts, &head, 1, 1000, 2, "tests/reference/bpe-train/shakespeare-100k-v1000",
                 0);
    free(ts);
}

/* ---- a naive trainer, against the fast one on random corpora ---- */

#define NAIVE_MAX_SYM 512 /* 256 bytes + at most 256 merges */

typedef struct naive_word {
    int32_t sym[256];
    int n;
} naive_word_t;

/* Merges of texts (every pre-token kept on its own, every pair recounted
 * each round) as the merges.txt text; returns the vocabulary size. */
static int naive_train(const char *const *texts, int n_texts, int vocab, int min_freq,
                       char *out, size_t cap) {
    uint32_t b2cp[256];
    bpe_gpt2_byte_table(b2cp);
    int32_t id_of_byte[256];
    static unsigned char tok[NAIVE_MAX_SYM][256];
    static int tok_len[NAIVE_MAX_SYM];
    int next = 0;
    for (int printable = 1; printable >= 0; printable--)
        for (int x = 0; x < 256; x++)
            if ((b2cp[x] == (uint32_t)x) == printable) {
                id_of_byte[x] = next;
                tok[next][0] = (unsigned char)x;
                tok_len[next++] = 1;
            }
    static naive_word_t words[4096];
    int n_words = 0;
    for (int t = 0; t < n_texts; t++) {
        const unsigned char *s = (const unsigned char *)texts[t];
        size_t len = strlen(texts[t]);
        for (size_t start = 0; start < len;) {
            const char *hit = strstr((const char *)s + start, "<|endoftext|>");
            size_t end = hit ? (size_t)((const unsigned char *)hit - s) : len;
            for (size_t i = start; i < end;) {
                size_t j = bpe_gpt2_pretoken_end(s, end, i);
                if (n_words == 4096 || j - i > 256) return -1; /* the test's own limits */
                naive_word_t *w = &words[n_words++];
                w->n = (int)(j - i);
                for (size_t k = i; k < j; k++) w->sym[k - i] = id_of_byte[s[k]];
                i = j;
            }
            start = hit ? end + 13 : len;
        }
    }
    static int64_t count[NAIVE_MAX_SYM][NAIVE_MAX_SYM]; /* all zero between rounds */
    size_t o = (size_t)snprintf(out, cap, "#version: 0.2\n");
    int n_tok = 256;
    while (n_tok + 1 < vocab && n_tok < NAIVE_MAX_SYM) {
        for (int w = 0; w < n_words; w++)
            for (int i = 0; i + 1 < words[w].n; i++) count[words[w].sym[i]][words[w].sym[i + 1]]++;
        int64_t best = 0;
        int bl = -1, br = -1;
        for (int w = 0; w < n_words; w++)
            for (int i = 0; i + 1 < words[w].n; i++) {
                int l = words[w].sym[i], r = words[w].sym[i + 1];
                int64_t c = count[l][r];
                if (c > best || (c == best && (l < bl || (l == bl && r < br)))) {
                    best = c;
                    bl = l;
                    br = r;
                }
            }
        for (int w = 0; w < n_words; w++)
            for (int i = 0; i + 1 < words[w].n; i++) count[words[w].sym[i]][words[w].sym[i + 1]] = 0;
        if (best == 0 || best < min_freq) break;
        int id = n_tok++;
        memcpy(tok[id], tok[bl], (size_t)tok_len[bl]);
        memcpy(tok[id] + tok_len[bl], tok[br], (size_t)tok_len[br]);
        tok_len[id] = tok_len[bl] + tok_len[br];
        for (int side = 0; side < 2; side++) {
            int s = side ? br : bl;
            for (int k = 0; k < tok_len[s]; k++)
                o += (size_t)bpe_utf8_put(b2cp[tok[s][k]], out + o);
            out[o++] = side ? '\n' : ' ';
        }
        for (int w = 0; w < n_words; w++) {
            int m = 0;
            for (int i = 0; i < words[w].n;) {
                if (i + 1 < words[w].n && words[w].sym[i] == bl && words[w].sym[i + 1] == br) {
                    words[w].sym[m++] = id;
                    i += 2;
                } else {
                    words[w].sym[m++] = words[w].sym[i++];
                }
            }
            words[w].n = m;
        }
    }
    out[o] = '\0';
    (void)cap;
    return n_tok + 1;
}

static uint64_t xs_next(uint64_t *s) { /* xorshift64* */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

static void test_random(tap_t *t) {
    static const char *const frags[] = {"a", "b", "ab", "ba", "aa", "c", " ", " ", "  ", "\n",
                                        "\t", "é", "\xF0\x9F\x99\x82", "'s", "'ll", "1", "22",
                                        ".", "!", "<|endoftext|>", "x", "A", "\xE6\x97\xA5"};
    const int n_frags = (int)(sizeof frags / sizeof frags[0]);
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    int n_trials = 300, n_bad = 0, n_merges_total = 0;
    static char want[1 << 16];
    char dir[512], err[512];
    out_dir(dir, sizeof dir, "random");
    for (int trial = 0; trial < n_trials; trial++) {
        char buf[3][1024]; /* 60 pieces of at most 13 bytes */
        const char *texts[3];
        int n_texts = 1 + (int)(xs_next(&seed) % 3);
        int alphabet = 3 + (int)(xs_next(&seed) % (uint64_t)(n_frags - 3)); /* some use few */
        for (int k = 0; k < n_texts; k++) {
            size_t o = 0;
            int n_pieces = (int)(xs_next(&seed) % 60);
            for (int p = 0; p < n_pieces; p++) {
                const char *f = frags[xs_next(&seed) % (uint64_t)alphabet];
                size_t fl = strlen(f);
                memcpy(buf[k] + o, f, fl);
                o += fl;
            }
            buf[k][o] = '\0';
            texts[k] = buf[k];
        }
        int vocab = 257 + (int)(xs_next(&seed) % 80);
        int min_freq = 1 + (int)(xs_next(&seed) % 3);
        int want_vocab = naive_train(texts, n_texts, vocab, min_freq, want, sizeof want);
        int rc = train(texts, n_texts, vocab, min_freq, dir, err, sizeof err);
        char path[600];
        snprintf(path, sizeof path, "%s/merges.txt", dir);
        char *got = read_all(path, NULL);
        int same = rc == want_vocab && got && strcmp(got, want) == 0;
        if (!same && n_bad++ < 3) {
            tap_diag("trial %d: rc %d want %d (%s); texts:", trial, rc, want_vocab, err);
            for (int k = 0; k < n_texts; k++) tap_diag("  \"%s\"", texts[k]);
            tap_diag("got:\n%s\nwant:\n%s", got ? got : "(none)", want);
        }
        n_merges_total += want_vocab - 257;
        free(got);
    }
    tap_ok(t, n_bad == 0, "%d random corpora (%d merges): the same merges as the naive trainer",
           n_trials, n_merges_total);
    remove_dir("random");
}

/* ---- tinyshakespeare ---- */

typedef struct progress_log {
    int calls, last_done, monotonic, last_total, finals;
} progress_log_t;

static void on_progress(void *user, int done, int total) {
    progress_log_t *p = user;
    if (done < p->last_done || done > total || p->finals) p->monotonic = 0;
    p->calls++;
    p->finals += done == total;
    p->last_done = done;
    p->last_total = total;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void test_shakespeare(tap_t *t) {
    char path[512], dir[512], dir2[512], err[512] = "";
    size_t len;
    char *text = read_all(TAP_SHARED(path, "tinyshakespeare.txt"), &len);
    if (!text) {
        printf("ok %d - # SKIP %s not found\n", ++t->n_run, path);
        return;
    }
    const char *texts[1] = {text};
    const char *names[1] = {"tinyshakespeare.txt"};
    progress_log_t log = {0, 0, 1, 0, 0};
    bpe_train_opts_t o = {1000, 2, on_progress, &log};
    out_dir(dir, sizeof dir, "ts1");
    double t0 = now_s();
    int rc = bpe_train(texts, &len, names, 1, &o, dir, err, sizeof err);
    double secs = now_s() - t0;
    tap_ok(t, rc == 1000, "tinyshakespeare at 1000 tokens (%.3f s): %d %s", secs, rc, err);
    tap_ok(t, log.calls >= 2 && log.monotonic && log.last_done == 743 && log.last_total == 743,
           "progress: %d calls, increasing, ending at %d/%d", log.calls, log.last_done,
           log.last_total);
    /* 64 merges: the periodic call (every 64) must not also claim the end */
    progress_log_t log64 = {0, 0, 1, 0, 0};
    bpe_train_opts_t o64 = {257 + 64, 2, on_progress, &log64};
    out_dir(dir2, sizeof dir2, "ts64");
    rc = bpe_train(texts, &len, names, 1, &o64, dir2, err, sizeof err);
    tap_ok(t, rc == 321 && log64.finals == 1 && log64.monotonic && log64.last_done == 64,
           "progress at exactly 64 merges: one final call (%d), ending at %d", log64.finals,
           log64.last_done);
    remove_dir("ts64");

    tokenizer_t *tok = tokenizer_load(dir, TOKENIZER_GPT2, err, sizeof err);
    if (tap_ok(t, tok != NULL, "the project's GPT-2 tokenizer loads the result %s",
               tok ? "" : err)) {
        tap_ok(t, tokenizer_vocab_size(tok) == 1000 && tokenizer_eot_id(tok) == 999,
               "1000 tokens, <|endoftext|> = 999 (got %d, %d)", tokenizer_vocab_size(tok),
               tokenizer_eot_id(tok));
        int *ids = NULL;
        size_t n = 0, cap = 0, out_len = 0;
        int enc = tokenizer_encode(tok, text, len, &ids, &n, &cap, err, sizeof err);
        char *back = enc == 0 ? tokenizer_decode(tok, ids, n, &out_len, err, sizeof err) : NULL;
        tap_ok(t, back && out_len == len && memcmp(back, text, len) == 0,
               "encode -> decode gives back all %zu bytes", len);
        /* 2.41 measured; bytes alone would be 1.0, GPT-2's 50257 tokens give 3.3 */
        double bpt = n ? (double)len / (double)n : 0;
        tap_ok(t, bpt > 2.3, "compression at 1000 tokens: %.3f bytes/token (> 2.3)", bpt);
        free(back);
        free(ids);
        /* ids 0..255 against GPT-2's published vocab.json */
        char *gv = read_all(TAP_SHARED(path, "gpt2/vocab.json"), NULL);
        cJSON *g = gv ? cJSON_Parse(gv) : NULL;
        if (g) {
            int same = 0;
            for (const cJSON *it = g->child; it; it = it->next)
                if (it->valueint >= 0 && it->valueint < 256) {
                    const char *s = tokenizer_token_str(tok, it->valueint);
                    same += s && strcmp(s, it->string) == 0;
                }
            tap_ok(t, same == 256, "ids 0..255 spelled as in GPT-2's vocab.json (%d/256)", same);
        } else {
            printf("ok %d - # SKIP %s not found\n", ++t->n_run, path);
        }
        cJSON_Delete(g);
        free(gv);
    }
    tokenizer_free(tok);

    out_dir(dir2, sizeof dir2, "ts2");
    bpe_train_opts_t o2 = {1000, 2, NULL, NULL};
    rc = bpe_train(texts, &len, names, 1, &o2, dir2, err, sizeof err);
    char a[600], b[600], c[600], d[600];
    snprintf(a, sizeof a, "%s/vocab.json", dir);
    snprintf(b, sizeof b, "%s/vocab.json", dir2);
    snprintf(c, sizeof c, "%s/merges.txt", dir);
    snprintf(d, sizeof d, "%s/merges.txt", dir2);
    tap_ok(t, rc == 1000 && same_file(a, b) && same_file(c, d),
           "deterministic: a second run writes identical files");
    remove_dir("ts1");
    remove_dir("ts2");

    /* speed at the size the README quotes (no bound asserted: sanitizer builds are slow) */
    bpe_train_opts_t o4 = {4096, 2, NULL, NULL};
    out_dir(dir, sizeof dir, "ts4k");
    t0 = now_s();
    rc = bpe_train(texts, &len, names, 1, &o4, dir, err, sizeof err);
    tap_ok(t, rc == 4096, "tinyshakespeare at 4096 tokens: %.3f s %s", now_s() - t0, err);
    tok = tokenizer_load(dir, TOKENIZER_GPT2, err, sizeof err);
    int *ids = NULL;
    size_t n = 0, cap = 0;
    if (tok) tokenizer_encode(tok, text, len, &ids, &n, &cap, err, sizeof err);
    double bpt = n ? (double)len / (double)n : 0; /* 3.24 measured */
    tap_ok(t, bpt > 3.0, "compression at 4096 tokens: %.3f bytes/token (> 3.0)", bpt);
    free(ids);
    tokenizer_free(tok);
    remove_dir("ts4k");
    free(text);
}

/* ---- errors ---- */
static void test_errors(tap_t *t) {
    char dir[512], err[512];
    const char *good = "hello hello world";
    const char *bad = "ok \xff\xfe bad";
    const char *cut = "caf\xc3"; /* unfinished character at the end */
    size_t lens[2];
    const char *names[2] = {"good.txt", "bad.txt"};
    bpe_train_opts_t o = {300, 2, NULL, NULL};
    struct stat st;

    const char *texts[2] = {good, bad};
    lens[0] = strlen(good);
    lens[1] = strlen(bad);
    out_dir(dir, sizeof dir, "bad");
    err[0] = '\0';
    int rc = bpe_train(texts, lens, names, 2, &o, dir, err, sizeof err);
    tap_ok(t, rc == -1 && strcmp(err, "bad.txt: invalid UTF-8 at byte offset 3") == 0,
           "invalid UTF-8 names the file and the offset: \"%s\"", err);
    tap_ok(t, stat(dir, &st) != 0, "nothing is created on bad input");

    texts[1] = cut;
    lens[1] = strlen(cut);
    rc = bpe_train(texts, lens, names, 2, &o, dir, err, sizeof err);
    tap_ok(t, rc == -1 && strstr(err, "bad.txt: invalid UTF-8 at byte offset 3"),
           "an unfinished character at the end: \"%s\"", err);

    o.vocab_size = 256;
    rc = bpe_train(texts, lens, names, 1, &o, dir, err, sizeof err);
    tap_ok(t, rc == -1 && strstr(err, "256") && strstr(err, "257"),
           "vocab size 256 refused: \"%s\"", err);
    o.vocab_size = 300;

    /* a regular file where the directory (or its parent) should be; works as
     * root too, where permission bits would not stop the write */
    char file[600], below[700];
    snprintf(file, sizeof file, "%s/plain-file", tmp_root);
    FILE *f = fopen(file, "w");
    if (f) fclose(f);
    rc = bpe_train(texts, lens, names, 1, &o, file, err, sizeof err);
    tap_ok(t, rc == -1 && strstr(err, file) != NULL, "output dir is a file: \"%s\"", err);
    snprintf(below, sizeof below, "%s/sub", file);
    rc = bpe_train(texts, lens, names, 1, &o, below, err, sizeof err);
    tap_ok(t, rc == -1 && strstr(err, below) != NULL && strstr(err, "cannot create directory"),
           "output dir cannot be created: \"%s\"", err);
    unlink(file);
}

int main(void) {
    tap_t t = {0, 0};
    if (!mkdtemp(tmp_root)) {
        printf("Bail out! cannot create a temporary directory\n");
        return 1;
    }
    test_hand(&t);
    test_golden(&t);
    test_random(&t);
    test_shakespeare(&t);
    test_errors(&t);
    rmdir(tmp_root);
    return tap_done(&t);
}
