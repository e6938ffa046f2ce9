/* test_tokenizer.c - both tokenizers against their references.
 *
 * GPT-2: the published tiktoken ids (shared/data/gpt2/tokenizer-cases.jsonl),
 * ids from the independent Python tokenizer (tests/reference/
 * gpt2_tokenizer_ref.py -> gpt2-tokenizer-cases.jsonl, including a hash of
 * all of tinyshakespeare's ids), pre-token splits worked out by hand from the
 * regex, invalid UTF-8, and the streaming decoder. GPT-1 and the merge
 * engine's ordering: small hand-made vocabularies whose answers follow from
 * the rules. Bad files: each load error, with the file and line named. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "tokenizer.h"

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    if (len) *len = (size_t)n;
    return buf;
}

static void write_file(const char *dir, const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* Quotes text for a one-line TAP description: control characters escaped,
 * cut after about 50 bytes at a character boundary. */
static const char *describe(char *buf, size_t cap, const char *text) {
    size_t o = 0;
    buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)text; *p && o + 8 < cap; p++) {
        if (o > 50 && (*p & 0xC0) != 0x80) {
            o += (size_t)snprintf(buf + o, cap - o, "...");
            break;
        }
        if (*p < 0x20 || *p == 0x7F) o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", *p);
        else buf[o++] = (char)*p;
    }
    snprintf(buf + o, cap - o, "\"");
    return buf;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Encodes text and compares with want[0..n_want). */
static int check_ids(tap_t *t, tokenizer_t *tok, const char *text, size_t len, const int *want,
                     size_t n_want, const char *what) {
    int *ids = NULL;
    size_t n = 0, cap = 0;
    char err[256] = "";
    int rc = tokenizer_encode(tok, text, len, &ids, &n, &cap, err, sizeof err);
    int same = rc == 0 && n == n_want && (n == 0 || memcmp(ids, want, n * sizeof *ids) == 0);
    tap_ok(t, same, "encode %s", what);
    if (!same) {
        tap_diag("rc %d (%s), got %zu ids, want %zu", rc, err, n, n_want);
        for (size_t i = 0; i < n && i < 40; i++) tap_diag("  got[%zu] = %d %s", i, ids[i],
                                                          i < n_want ? "" : "(extra)");
        for (size_t i = 0; i < n_want && i < 40; i++) tap_diag("  want[%zu] = %d", i, want[i]);
    }
    free(ids);
    return same;
}

static void check_decode(tap_t *t, tokenizer_t *tok, const int *ids, size_t n, const char *want,
                         size_t want_len, const char *what) {
    char err[256] = "";
    size_t len = 0;
    char *text = tokenizer_decode(tok, ids, n, &len, err, sizeof err);
    int same = text && len == want_len && memcmp(text, want, len) == 0 && text[len] == '\0';
    tap_ok(t, same, "decode %s", what);
    if (!same) tap_diag("got \"%s\" (%s)", text ? text : "(null)", err);
    free(text);
}

/* Every {"text", "ids"} line of a jsonl file: encode, then decode back. */
static void run_cases(tap_t *t, tokenizer_t *tok, const char *path, int *n_cases) {
    char *data = read_all(path, NULL);
    if (!tap_ok(t, data != NULL, "read %s", path)) return;
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *c = cJSON_Parse(line);
        const cJSON *text = cJSON_GetObjectItem(c, "text"), *ids = cJSON_GetObjectItem(c, "ids");
        if (cJSON_IsString(text) && cJSON_IsArray(ids)) {
            int n = cJSON_GetArraySize(ids);
            int *want = malloc(((size_t)n + 1) * sizeof *want);
            for (int i = 0; i < n; i++) want[i] = cJSON_GetArrayItem(ids, i)->valueint;
            char what[160];
            describe(what, sizeof what, text->valuestring);
            check_ids(t, tok, text->valuestring, strlen(text->valuestring), want, (size_t)n, what);
            check_decode(t, tok, want, (size_t)n, text->valuestring, strlen(text->valuestring),
                         what);
            (*n_cases)++;
            free(want);
        }
        cJSON_Delete(c);
    }
    free(data);
}

static uint64_t fnv1a64_ids(const int *ids, size_t n) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 4; b++) h = (h ^ (((uint32_t)ids[i] >> (8 * b)) & 0xFF)) * 0x100000001B3ull;
    return h;
}

/* tinyshakespeare: ids against the Python reference's count and hash, the
 * round trip through decode and through the streaming decoder, and speed. */
static void test_shakespeare(tap_t *t, tokenizer_t *tok) {
    char path[512], ref_path[512];
    size_t len;
    char *text = read_all(TAP_SHARED(path, "tinyshakespeare.txt"), &len);
    char *ref = read_all(TAP_SRC(ref_path, "tests/reference/gpt2-tokenizer-cases.jsonl"), NULL);
    if (!tap_ok(t, text && ref, "read tinyshakespeare and the reference cases")) {
        free(text);
        free(ref);
        return;
    }
    cJSON *want = NULL;
    for (char *line = strtok(ref, "\n"); line && !want; line = strtok(NULL, "\n")) {
        cJSON *c = cJSON_Parse(line);
        if (cJSON_GetObjectItem(c, "file")) want = c;
        else cJSON_Delete(c);
    }
    int *ids = NULL;
    size_t n = 0, cap = 0;
    char err[256] = "";
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) { /* rep 0 fills the cache; later ones hit it */
        n = 0;
        double t0 = now_s();
        if (tokenizer_encode(tok, text, len, &ids, &n, &cap, err, sizeof err) != 0) break;
        double dt = now_s() - t0;
        if (dt < best) best = dt;
        if (rep == 0) tap_diag("first encode (cold cache): %.1f MB/s", (double)len / dt / 1e6);
    }
    tap_diag("encode tinyshakespeare: %zu bytes -> %zu ids, %.1f MB/s", len, n,
             (double)len / best / 1e6);
    const cJSON *wn = cJSON_GetObjectItem(want, "n_ids"), *wh = cJSON_GetObjectItem(want, "fnv1a64");
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)fnv1a64_ids(ids, n));
    tap_ok(t, cJSON_IsNumber(wn) && (size_t)wn->valuedouble == n, "tinyshakespeare id count %zu",
           n);
    tap_ok(t, cJSON_IsString(wh) && strcmp(wh->valuestring, hash) == 0,
           "tinyshakespeare ids hash %s matches the Python reference", hash);
    size_t out_len = 0;
    char *back = tokenizer_decode(tok, ids, n, &out_len, err, sizeof err);
    tap_ok(t, back && out_len == len && memcmp(back, text, len) == 0,
           "tinyshakespeare decode(encode(x)) == x");
    free(back);
    tokenizer_stream_t st;
    tokenizer_stream_init(&st, tok);
    char *streamed = malloc(len + 1);
    size_t at = 0;
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        char piece[512];
        int k = tokenizer_stream_push(&st, ids[i], piece, sizeof piece);
        ok = k >= 0 && at + (size_t)k <= len;
        if (ok) memcpy(streamed + at, piece, (size_t)k), at += (size_t)k;
    }
    tap_ok(t, ok && at == len && memcmp(streamed, text, len) == 0,
           "tinyshakespeare streamed decode == original");
    free(streamed);
    free(ids);
    cJSON_Delete(want);
    free(text);
    free(ref);
}

/* BPE-dropout: other segmentations of the same bytes, reproducible from the
 * seed, bytes only at p = 1, and the deterministic encoding (and its word
 * cache) untouched afterwards. */
static void test_dropout(tap_t *t, tokenizer_t *tok) {
    char path[512], err[256] = "";
    size_t len;
    char *text = read_all(TAP_SHARED(path, "tinyshakespeare.txt"), &len);
    if (!tap_ok(t, text != NULL, "read tinyshakespeare for BPE-dropout")) return;
    len = 200000; /* a fifth is plenty */
    while (len && ((unsigned char)text[len] & 0xC0) == 0x80) len--;
    int *base = NULL, *a = NULL, *b = NULL, *c = NULL, *after = NULL;
    size_t nb = 0, na = 0, n2 = 0, nc = 0, n_after = 0, cap[5] = {0};
    tokenizer_encode(tok, text, len, &base, &nb, &cap[0], err, sizeof err);
    tokenizer_set_dropout(tok, 0.1f, 7);
    int rc = tokenizer_encode(tok, text, len, &a, &na, &cap[1], err, sizeof err);
    tokenizer_set_dropout(tok, 0.1f, 7);
    rc |= tokenizer_encode(tok, text, len, &b, &n2, &cap[2], err, sizeof err);
    tokenizer_set_dropout(tok, 0.1f, 8);
    size_t n8 = 0, cap8 = 0;
    int *d = NULL;
    rc |= tokenizer_encode(tok, text, len, &d, &n8, &cap8, err, sizeof err);
    tap_ok(t, rc == 0 && na > nb && na < nb * 3 / 2,
           "p = 0.1: %zu ids where the deterministic encoding has %zu", na, nb);
    tap_ok(t, na == n2 && memcmp(a, b, na * sizeof *a) == 0, "same seed, same segmentation");
    tap_ok(t, n8 != na || memcmp(a, d, na * sizeof *a) != 0, "another seed, another segmentation");
    size_t out_len = 0;
    char *back = tokenizer_decode(tok, a, na, &out_len, err, sizeof err);
    tap_ok(t, back && out_len == len && memcmp(back, text, len) == 0,
           "p = 0.1: decode gives the text back");
    free(back);
    tokenizer_set_dropout(tok, 1.0f, 1);
    rc = tokenizer_encode(tok, text, len, &c, &nc, &cap[3], err, sizeof err);
    int bytes_only = rc == 0 && nc == len;
    for (size_t i = 0; bytes_only && i < nc; i++) {
        size_t bl = 0;
        bytes_only = tokenizer_token_bytes(tok, c[i], &bl) && bl == 1;
    }
    tap_ok(t, bytes_only, "p = 1: one byte per token (%zu ids for %zu bytes)", nc, len);
    tokenizer_set_dropout(tok, 0, 0);
    rc = tokenizer_encode(tok, text, len, &after, &n_after, &cap[4], err, sizeof err);
    tap_ok(t, rc == 0 && n_after == nb && memcmp(after, base, nb * sizeof *base) == 0,
           "p = 0 again: the deterministic ids, word cache unharmed");
    free(base), free(a), free(b), free(c), free(d), free(after);
    free(text);
}

/* Pre-token splits worked out from the regex by hand; each piece here is a
 * single vocabulary entry, so the ids are their lookups. */
static void test_gpt2_hand(tap_t *t, tokenizer_t *tok) {
    static const struct {
        const char *text;
        const char *pieces[8];
    } cases[] = {
        /* 't is a contraction; the regex is case-sensitive, so 'T is not */
        {"don't", {"don", "'t"}},
        {"DON'T", {"DON", "'", "T"}},
        /* "  " before "b": \s+(?!\S) leaves the last space to lead " b" */
        {"a  b", {"a", "\xc4\xa0", "\xc4\xa0" "b"}},
        /* a single tab before a letter: only \s+ matches, alone */
        {"x\ty", {"x", "\xc4\x89", "y"}},
        /* a run at the very end is one pre-token: "\n\n" is one token */
        {"\n\n", {"\xc4\x8a\xc4\x8a"}},
        /* " " leads a run of any class: letters, digits, other */
        {" hello 42 !!", {"\xc4\xa0" "hello", "\xc4\xa0" "42", "\xc4\xa0!!"}},
        /* digits and letters are separate runs */
        {"abc123", {"abc", "123"}},
        /* NBSP (U+00A0) is \s but not the literal space of " ?" */
        {"a\xc2\xa0" "b", {"a", "\xc3\x82\xc5\x82", "b"}},
        /* a contraction only starts a pre-token: after a space, " ?[^\s\p{L}\p{N}]+"
         * takes " '" first */
        {"'ll 're", {"'ll", "\xc4\xa0'", "re"}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int want[8];
        size_t n = 0;
        int known = 1;
        for (; n < 8 && cases[c].pieces[n]; n++) {
            want[n] = tokenizer_lookup(tok, cases[c].pieces[n]);
            known &= want[n] >= 0;
        }
        char what[160], quoted[96];
        snprintf(what, sizeof what, "hand case %zu (%s)", c,
                 describe(quoted, sizeof quoted, cases[c].text));
        if (!tap_ok(t, known, "%s: expected pieces are tokens", what)) continue;
        check_ids(t, tok, cases[c].text, strlen(cases[c].text), want, n, what);
    }
}

static void test_invalid_utf8(tap_t *t, tokenizer_t *tok) {
    static const struct {
        const char *text;
        size_t offset;
    } bad[] = {
        {"abc\xff", 3},             /* never valid */
        {"ok\xe2\x82", 2},          /* cut short at the end */
        {"\xc0\xaf", 0},            /* overlong "/" */
        {"x\xed\xa0\x80", 1},       /* surrogate */
        {"\xf4\x90\x80\x80", 0},    /* above U+10FFFF */
        {"caf\xc3" "e", 3},         /* lead byte without continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int *ids = NULL;
        size_t n = 0, cap = 0;
        char err[256] = "", want[64];
        int rc = tokenizer_encode(tok, bad[i].text, strlen(bad[i].text), &ids, &n, &cap, err,
                                  sizeof err);
        snprintf(want, sizeof want, "byte offset %zu", bad[i].offset);
        tap_ok(t, rc == -1 && strstr(err, want) != NULL, "invalid UTF-8 case %zu rejected (%s)", i,
               err);
        free(ids);
    }
}

static void test_stream(tap_t *t, tokenizer_t *tok) {
    tokenizer_stream_t st;
    char out[64];
    tokenizer_stream_init(&st, tok);
    int k1 = tokenizer_stream_push(&st, 41840, out, sizeof out);
    tap_ok(t, k1 == 0 && out[0] == '\0', "stream 41840 gives nothing yet (3 of 4 bytes)");
    int k2 = tokenizer_stream_push(&st, 235, out, sizeof out);
    tap_ok(t, k2 == 4 && strcmp(out, "\xf0\x9f\x91\x8d") == 0, "stream 235 completes the emoji");
    tap_ok(t, tokenizer_stream_flush(&st, out, sizeof out) == 0, "nothing left to flush");
    /* An unfinished character at the end becomes one U+FFFD. */
    tokenizer_stream_push(&st, 41840, out, sizeof out);
    tap_ok(t, tokenizer_stream_flush(&st, out, sizeof out) == 3 && strcmp(out, "\xef\xbf\xbd") == 0,
           "flush of an unfinished character gives U+FFFD");
    /* A lone continuation byte can never start a character: U+FFFD at once. */
    int k3 = tokenizer_stream_push(&st, 235, out, sizeof out);
    tap_ok(t, k3 == 3 && strcmp(out, "\xef\xbf\xbd") == 0, "lone continuation byte -> U+FFFD");
    /* The unfinished prefix is replaced when the next token does not continue it. */
    int hi = tokenizer_lookup(tok, "hi");
    tokenizer_stream_push(&st, 41840, out, sizeof out);
    int k4 = tokenizer_stream_push(&st, hi, out, sizeof out);
    tap_ok(t, k4 == 5 && strcmp(out, "\xef\xbf\xbdhi") == 0, "broken prefix then \"hi\"");
    /* Too small a buffer: -1 and the state is kept for a retry. */
    tokenizer_stream_push(&st, 41840, out, sizeof out);
    tap_ok(t, tokenizer_stream_push(&st, 235, out, 3) == -1, "too small a buffer -> -1");
    tap_ok(t, tokenizer_stream_push(&st, 235, out, sizeof out) == 4, "retry succeeds");
    tap_ok(t, tokenizer_stream_push(&st, 1 << 20, out, sizeof out) == -1, "bad id -> -1");

    int one[] = {41840}, two[] = {41840, 235}, bad[] = {5, -1};
    check_decode(t, tok, one, 1, "\xef\xbf\xbd", 3, "unfinished emoji -> U+FFFD");
    check_decode(t, tok, two, 2, "\xf0\x9f\x91\x8d", 4, "41840 235");
    char err[256] = "";
    char *s = tokenizer_decode(tok, bad, 2, NULL, err, sizeof err);
    tap_ok(t, s == NULL && strstr(err, "-1") != NULL, "decode of a bad id fails (%s)", err);
    size_t len = 0;
    const char *b = tokenizer_token_bytes(tok, 41840, &len);
    tap_ok(t, b && len == 3 && memcmp(b, "\xf0\x9f\x91", 3) == 0, "token_bytes(41840) is raw bytes");
    tap_ok(t, tokenizer_token_bytes(tok, 50257, &len) == NULL, "token_bytes out of range");
    const char *str = tokenizer_token_str(tok, 262);
    tap_ok(t, str && strcmp(str, "\xc4\xa0the") == 0, "token_str(262) == \"Ġthe\"");
}

/* GPT-2 style tables of one symbol per byte plus a few merges, to pin the
 * merge order. bytes_to_unicode: printable Latin-1 maps to itself. */
static char *byte_vocab_json(const char *extra) {
    size_t cap = 8192, at = 0;
    char *s = malloc(cap);
    int next = 256, id = 0;
    at += (size_t)snprintf(s + at, cap - at, "{");
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        int cp = printable ? b : next++;
        if (cp == '"' || cp == '\\') at += (size_t)snprintf(s + at, cap - at, "\"\\%c\":%d,", cp, id++);
        else at += (size_t)snprintf(s + at, cap - at, "\"\\u%04x\":%d,", cp, id++);
    }
    snprintf(s + at, cap - at, "%s}", extra);
    return s;
}

static void test_merge_order(tap_t *t, const char *dir) {
    /* Line order is rank. "abc a" outranks "a bc", but "abc" only exists once
     * "a bc" has run: encoder.py merges every "a bc" in "abcabc" before it
     * looks again, so the answer is [abc, abc], not [abca, bc]. */
    char *vocab = byte_vocab_json("\"bc\":256,\"abc\":257,\"abca\":258,\"aa\":259");
    write_file(dir, "vocab.json", vocab);
    free(vocab);
    write_file(dir, "merges.txt", "#version: 0.2\nb c\nabc a\na bc\na a\n");
    char err[256] = "";
    tokenizer_t *tok = tokenizer_load(dir, TOKENIZER_GPT2, err, sizeof err);
    if (!tap_ok(t, tok != NULL, "load byte-level test tables (%s)", err)) return;
    int want1[] = {257, 257}, want3[] = {259, 259};
    check_ids(t, tok, "abcabc", 6, want1, 2, "merges apply one rank at a time");
    int a = tokenizer_lookup(tok, "a");
    int want_aaa[] = {259, a};
    check_ids(t, tok, "aaa", 3, want_aaa, 2, "\"aaa\" merges left to right");
    check_ids(t, tok, "aaaa", 4, want3, 2, "\"aaaa\" -> aa aa");
    tap_ok(t, tokenizer_eot_id(tok) == -1, "no <|endoftext|> -> eot -1");
    tokenizer_free(tok);
}

/* A GPT-1 style vocabulary: characters, characters ending a word ("</w>"),
 * and what the merges below build. "rd</w>" is a merge result that is not a
 * token (HF then gives <unk>). */
static const char gpt1_vocab[] =
    "{\"<unk>\":0,\"h\":1,\"e\":2,\"l\":3,\"o\":4,\"w\":5,\"r\":6,\"d\":7,\"c\":8,\"a\":9,"
    "\"f\":10,\"o</w>\":11,\"d</w>\":12,\"e</w>\":13,\",</w>\":14,\"!</w>\":15,\"he\":16,"
    "\"ll\":17,\"hell\":18,\"hello</w>\":19,\"wo\":20,\"wor\":21,\"ld</w>\":22,"
    "\"world</w>\":23,\"ca\":24,\"caf\":25,\"cafe</w>\":26,\"\xce\xb1\":27,"
    "\"\xcf\x82</w>\":28,\"\xcf\x83\":29,\"\xce\xb1</w>\":30,\"\xcf\x83</w>\":31}";
static const char gpt1_merges[] =
    "#version: 0.2\nh e\nl l\nhe ll\nhell o</w>\nw o\nwo r\nl d</w>\nwor ld</w>\n"
    "c a\nca f\ncaf e</w>\nr d</w>\n";

static void test_gpt1(tap_t *t, const char *dir) {
    write_file(dir, "vocab.json", gpt1_vocab);
    write_file(dir, "merges.txt", gpt1_merges);
    char err[256] = "";
    tokenizer_t *tok = tokenizer_load(dir, TOKENIZER_GPT1, err, sizeof err);
    if (!tap_ok(t, tok != NULL, "load GPT-1 test tables (%s)", err)) return;
    tap_ok(t, tokenizer_kind(tok) == TOKENIZER_GPT1 && tokenizer_vocab_size(tok) == 32 &&
              tokenizer_eot_id(tok) == -1, "GPT-1 kind, size 32, no eot");
    static const struct {
        const char *text;
        int ids[8];
        int n;
    } cases[] = {
        {"Hello, World!", {19, 14, 23, 15}, 4},       /* lower-case, punctuation split */
        {"  hello\t\nworld  ", {19, 23}, 2},          /* whitespace of any kind splits */
        {"Caf\xc3\xa9 CAF\xc3\x89", {26, 26}, 2},     /* accents stripped after NFD */
        {"cafe\xcc\x81", {26}, 1},                    /* a combining accent goes too */
        {"hel\x01lo", {19}, 1},                       /* control characters dropped */
        {"helloz", {18, 4, 0}, 3},                    /* unknown "z</w>" -> <unk> */
        {"hello<unk>world", {19, 0, 23}, 3},          /* literal <unk> is the token */
        {"hello\xe4\xb8\x96\xe7\x95\x8c", {19, 0, 0}, 3}, /* CJK: one word per ideograph */
        {"he$", {1, 13, 0}, 3},                       /* ASCII "$" splits like punctuation */
        {"rd", {0}, 1},                               /* merge result outside the vocab */
        {"\xce\x91\xce\xa3", {27, 28}, 2},            /* final sigma: "ΑΣ" -> "ας" */
        {"\xce\xa3\xce\x91", {29, 30}, 2},            /* not final: "ΣΑ" -> "σα" */
        {"", {0}, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char what[160], quoted[96];
        snprintf(what, sizeof what, "GPT-1 case %zu (%s)", c,
                 describe(quoted, sizeof quoted, cases[c].text));
        check_ids(t, tok, cases[c].text, strlen(cases[c].text), cases[c].ids, (size_t)cases[c].n,
                  what);
    }
    /* A GPT-1 vocabulary without "<unk>" loads; unknown pieces are dropped. */
    write_file(dir, "vocab.json", "{\"a</w>\":0}");
    write_file(dir, "merges.txt", "#version: 0.2\n");
    tokenizer_t *nounk = tokenizer_load(dir, TOKENIZER_GPT1, err, sizeof err);
    if (tap_ok(t, nounk != NULL, "GPT-1 vocabulary without <unk> loads (%s)", err)) {
        int want_a[] = {0, 0};
        check_ids(t, nounk, "a z A", 5, want_a, 2, "no <unk>: unknown \"z\" dropped");
        check_ids(t, nounk, "<unk>", 5, want_a, 0, "no <unk>: literal <unk> is plain text");
    }
    tokenizer_free(nounk);
    /* HF decode: "".join(tokens).replace("</w>", " ").strip() */
    int ids[] = {19, 14, 23, 15};
    check_decode(t, tok, ids, 4, "hello , world !", 15, "GPT-1 \"</w>\" -> space, stripped");
    int ids2[] = {16, 18};
    check_decode(t, tok, ids2, 2, "hehell", 6, "GPT-1 pieces without </w> join");
    size_t len = 0;
    const char *b = tokenizer_token_bytes(tok, 19, &len);
    tap_ok(t, b && len == 6 && memcmp(b, "hello ", 6) == 0, "GPT-1 token_bytes: \"hello \"");
    tap_ok(t, tokenizer_lookup(tok, "world</w>") == 23 && tokenizer_lookup(tok, "rd</w>") == -1,
           "GPT-1 lookup (merge-only symbols are not tokens)");
    tokenizer_stream_t st;
    char out[32];
    tokenizer_stream_init(&st, tok);
    tap_ok(t, tokenizer_stream_push(&st, 19, out, sizeof out) == 6 && strcmp(out, "hello ") == 0,
           "GPT-1 stream gives the word and its space");
    tokenizer_free(tok);
}

/* The Python BasicTokenizer's words on tricky Unicode (final sigma, dotted
 * I, ligatures, Hangul, compatibility ideographs, U+2028, format characters):
 * with one token per character, the ids spell out the pre-split. */
static void test_gpt1_basic_reference(tap_t *t) {
    char dir[512], path[600], err[256] = "";
    TAP_SRC(dir, "tests/reference/gpt1-basic");
    tokenizer_t *tok = tokenizer_load(dir, TOKENIZER_GPT1, err, sizeof err);
    snprintf(path, sizeof path, "%s/cases.jsonl", dir);
    char *data = read_all(path, NULL);
    if (!tap_ok(t, tok && data, "load %s (%s)", dir, err)) {
        tokenizer_free(tok);
        free(data);
        return;
    }
    int n_cases = 0;
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *c = cJSON_Parse(line);
        const cJSON *text = cJSON_GetObjectItem(c, "text"), *toks = cJSON_GetObjectItem(c, "tokens");
        if (cJSON_IsString(text) && cJSON_IsArray(toks)) {
            int n = cJSON_GetArraySize(toks), known = 1;
            int *want = malloc(((size_t)n + 1) * sizeof *want);
            for (int i = 0; i < n; i++) {
                want[i] = tokenizer_lookup(tok, cJSON_GetArrayItem(toks, i)->valuestring);
                known &= want[i] > 0;
            }
            char what[160], quoted[96];
            snprintf(what, sizeof what, "GPT-1 BasicTokenizer reference %s",
                     describe(quoted, sizeof quoted, text->valuestring));
            if (tap_ok(t, known, "%s: tokens known", what))
                check_ids(t, tok, text->valuestring, strlen(text->valuestring), want, (size_t)n,
                          what);
            n_cases++;
            free(want);
        }
        cJSON_Delete(c);
    }
    tap_ok(t, n_cases >= 20, "%d GPT-1 reference cases checked", n_cases);
    free(data);
    tokenizer_free(tok);
}

/* Each broken input must fail to load with a message naming the file and
 * the problem (and the line, for merges.txt). */
static void test_bad_files(tap_t *t, const char *dir) {
    static const struct {
        tokenizer_kind_t kind;
        const char *vocab, *merges; /* NULL: file absent */
        const char *want1, *want2;  /* substrings of the message */
    } cases[] = {
        {TOKENIZER_GPT1, NULL, "#version: 0.2\n", "vocab.json", "No such file"},
        {TOKENIZER_GPT1, "{\"<unk>\":0}", NULL, "merges.txt", "No such file"},
        {TOKENIZER_GPT1, "{\"<unk>\":0,", "", "vocab.json", "not valid JSON"},
        {TOKENIZER_GPT1, "[1, 2]", "", "vocab.json", "JSON object"},
        {TOKENIZER_GPT1, "{}", "", "vocab.json", "empty"},
        {TOKENIZER_GPT1, "{\"<unk>\":\"0\"}", "", "vocab.json", "not a number"},
        {TOKENIZER_GPT1, "{\"<unk>\":-1}", "", "vocab.json", "ids must be integers 0..0"},
        {TOKENIZER_GPT1, "{\"<unk>\":0,\"a\":2}", "", "vocab.json", "has id 2"},
        {TOKENIZER_GPT1, "{\"<unk>\":0,\"a\":0.5}", "", "vocab.json", "has id 0.5"},
        {TOKENIZER_GPT1, "{\"<unk>\":0,\"a\":0}", "", "vocab.json", "id 0 is given to both"},
        {TOKENIZER_GPT1, "{\"<unk>\":0,\"<unk>\":1}", "", "vocab.json", "duplicate key \"<unk>\""},
        {TOKENIZER_GPT1, "{\"<unk>\":0,\"a\":1,\"a\":1}", "", "vocab.json", "duplicate key \"a\""},
        {TOKENIZER_GPT1, "{\"<unk>\":0} {\"a\":1}", "", "vocab.json", "unexpected data after"},
        {TOKENIZER_GPT1, "{\"<unk>\":0,\"a\\u001b[31m\":5}", "", "vocab.json",
         "token \"a\\x1b[31m\" has id 5"},
        {TOKENIZER_GPT1, "{\"<unk>\":0,\"a\":1e300}", "", "vocab.json", "has id 1e+300;"},
        {TOKENIZER_GPT1, "{\"<unk>\":0,\"a\":1}", "#version: 0.2\na a\na \x01\xff\n",
         "merges.txt:3:", "unknown symbol \"\\x01\\xff\""},
        {TOKENIZER_GPT1, "{\"<unk>\":0,\"a\":1}", "#version: 0.2\na a a\n", "merges.txt:2:",
         "two symbols"},
        {TOKENIZER_GPT1, "{\"<unk>\":0,\"a\":1}", "#version: 0.2\na a\na\n", "merges.txt:3:",
         "two symbols"},
        {TOKENIZER_GPT1, "{\"<unk>\":0,\"a\":1}", "#version: 0.2\na a\na zz\n", "merges.txt:3:",
         "unknown symbol \"zz\""},
        {TOKENIZER_GPT2, "{\"a\":0}", "", "vocab.json", "no token for byte 0x00"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char vpath[512], mpath[512], err[512] = "";
        snprintf(vpath, sizeof vpath, "%s/vocab.json", dir);
        snprintf(mpath, sizeof mpath, "%s/merges.txt", dir);
        unlink(vpath);
        unlink(mpath);
        if (cases[c].vocab) write_file(dir, "vocab.json", cases[c].vocab);
        if (cases[c].merges) write_file(dir, "merges.txt", cases[c].merges);
        tokenizer_t *tok = tokenizer_load(dir, cases[c].kind, err, sizeof err);
        tap_ok(t, tok == NULL && strstr(err, cases[c].want1) && strstr(err, cases[c].want2) &&
                  !strchr(err, '\n'),
               "bad file case %zu: %s", c, err);
        tokenizer_free(tok);
    }
    /* a FIFO is refused, not waited on */
    {
        char vpath[512], err[512] = "";
        snprintf(vpath, sizeof vpath, "%s/vocab.json", dir);
        unlink(vpath);
        alarm(20);
        tap_ok(t, mkfifo(vpath, 0600) == 0, "mkfifo vocab.json");
        tokenizer_t *tok = tokenizer_load(dir, TOKENIZER_GPT1, err, sizeof err);
        tap_ok(t, !tok && strstr(err, "vocab.json: not a regular file"), "FIFO vocab.json: %s", err);
        tokenizer_free(tok);
        alarm(0);
        unlink(vpath);
    }
    /* GPT-2: a merge whose result is not a token. */
    char *vocab = byte_vocab_json("\"bc\":256");
    write_file(dir, "vocab.json", vocab);
    free(vocab);
    write_file(dir, "merges.txt", "#version: 0.2\nb c\nbc d\n");
    char err[512] = "";
    tokenizer_t *tok = tokenizer_load(dir, TOKENIZER_GPT2, err, sizeof err);
    tap_ok(t, tok == NULL && strstr(err, "merges.txt:3:") && strstr(err, "\"bcd\" is not in"),
           "GPT-2 merge result outside the vocabulary: %s", err);
    tokenizer_free(tok);
    tokenizer_free(NULL);
    tap_ok(t, 1, "tokenizer_free(NULL) is a no-op");
}

int main(void) {
    tap_t t = {0};
    char path[512], err[512] = "";
    tokenizer_t *tok = tokenizer_load(TAP_SHARED(path, "gpt2"), TOKENIZER_GPT2, err, sizeof err);
    if (tap_ok(&t, tok != NULL, "load GPT-2 tokenizer (%s)", err)) {
        tap_ok(&t, tokenizer_vocab_size(tok) == 50257 && tokenizer_eot_id(tok) == 50256 &&
                   tokenizer_kind(tok) == TOKENIZER_GPT2,
               "GPT-2: 50257 tokens, <|endoftext|> = 50256");
        int n_pub = 0, n_ref = 0;
        run_cases(&t, tok, TAP_SHARED(path, "gpt2/tokenizer-cases.jsonl"), &n_pub);
        tap_ok(&t, n_pub >= 10, "%d published cases checked", n_pub);
        run_cases(&t, tok, TAP_SRC(path, "tests/reference/gpt2-tokenizer-cases.jsonl"), &n_ref);
        tap_ok(&t, n_ref >= 30, "%d reference-script cases checked", n_ref);
        test_gpt2_hand(&t, tok);
        test_invalid_utf8(&t, tok);
        test_stream(&t, tok);
        test_shakespeare(&t, tok);
        test_dropout(&t, tok);
        tokenizer_free(tok);
    }
    char dir[] = "/tmp/gptscope-tok-XXXXXX";
    if (tap_ok(&t, mkdtemp(dir) != NULL, "temp dir")) {
        test_merge_order(&t, dir);
        test_gpt1(&t, dir);
        test_gpt1_basic_reference(&t);
        test_bad_files(&t, dir);
        char p[600];
        snprintf(p, sizeof p, "%s/vocab.json", dir);
        unlink(p);
        snprintf(p, sizeof p, "%s/merges.txt", dir);
        unlink(p);
        rmdir(dir);
    }
    return tap_done(&t);
}
