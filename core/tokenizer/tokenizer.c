/* tokenizer.c - loading vocab.json + merges.txt and everything that turns ids
 * back into text (whole decode and the streaming decoder), and the choice of
 * encoder: bpe_gpt2.c (GPT-2's byte-level pre-split) or bpe_gpt1.c (GPT-1's
 * BERT-style pre-split), both on the merge engine of bpe.c. The files depend
 * one way: bpe.c <- bpe_gpt1.c, bpe_gpt2.c <- tokenizer.c.
 *
 * Checks made while loading, each a one-line error naming the file:
 * vocab.json must be UTF-8, an object of string -> integer whose ids are
 * exactly 0..n-1 once each; merges.txt must not be empty, and every line of
 * it must be two symbols that are tokens (or, for GPT-1, results of other
 * merges); GPT-2 needs a token for each of the 256 bytes, GPT-1 needs
 * "<unk>". */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "bpe_gpt1.h"
#include "bpe_gpt2.h"
#include "fileio.h"
#include "jsonx.h"

/* vocab.json and merges.txt are read whole and vocab.json parsed into a
 * cJSON tree of about 30 times its size: 64 MiB (GPT-2's are 1 MB and
 * 0.5 MB; a 250,000-token vocabulary is about 10 MB) bounds that at a few
 * GB for a hostile file instead of tens. */
#define BPE_MAX_FILE ((size_t)64 << 20)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static size_t pow2_at_least(size_t n) {
    size_t p = 16;
    while (p < n) p *= 2;
    return p;
}

/* --- symbols: string <-> id --- */

/* Adds a string not yet present as the next symbol id; -1 when out of memory.
 * The table was sized for every symbol up front, so it never fills. */
static int32_t symbol_add(tokenizer_t *tok, const char *s, size_t len) {
    if ((size_t)tok->n_sym >= tok->sym_cap || len > UINT32_MAX / 2) return -1;
    if (tok->strs_len + len + 1 > tok->strs_cap) {
        size_t cap = tok->strs_cap ? tok->strs_cap : 1 << 16;
        while (cap < tok->strs_len + len + 1) cap *= 2;
        char *grown = realloc(tok->strs, cap);
        if (!grown) return -1;
        tok->strs = grown;
        tok->strs_cap = cap;
    }
    int32_t id = tok->n_sym++;
    tok->sym_off[id] = (uint32_t)tok->strs_len;
    tok->sym_len[id] = (uint32_t)len;
    memcpy(tok->strs + tok->strs_len, s, len);
    tok->strs[tok->strs_len + len] = '\0';
    tok->strs_len += len + 1;
    size_t i = bpe_hash_bytes(s, len) & tok->sym_mask;
    while (tok->sym_slots[i] >= 0) i = (i + 1) & tok->sym_mask;
    tok->sym_slots[i] = id;
    return id;
}

static void pair_set(tokenizer_t *tok, int32_t left, int32_t right, int32_t rank, int32_t result) {
    size_t i = bpe_pair_slot(left, right, tok->pair_mask);
    while (tok->pairs[i].left != UINT32_MAX &&
           !(tok->pairs[i].left == (uint32_t)left && tok->pairs[i].right == (uint32_t)right))
        i = (i + 1) & tok->pair_mask;
    /* A pair listed twice keeps its last rank, as dict(zip(merges, range(n))) does. */
    tok->pairs[i] = (bpe_pair_t){(uint32_t)left, (uint32_t)right, rank, result};
}

/* --- vocab.json --- */

static int load_vocab(tokenizer_t *tok, const char *path, const char *text, size_t len,
                      size_t n_merges, char *err, size_t errlen) {
    /* strict: invalid UTF-8, a key twice or data after the object is a
     * damaged file (cJSON would keep the bytes of an invalid token) */
    cJSON *root = jsonx_parse_utf8(text, len, path, err, errlen);
    if (!root) return -1;
    int rc = -1;
    /* token strings are shown escaped: they may hold control bytes */
    char shown[2][128];
    const cJSON **by_id = NULL;
    if (!cJSON_IsObject(root)) {
        set_err(err, errlen, "%s: expected a JSON object mapping token strings to ids", path);
        goto done;
    }
    int n = cJSON_GetArraySize(root);
    if (n <= 0) {
        set_err(err, errlen, "%s: the vocabulary is empty", path);
        goto done;
    }
    by_id = calloc((size_t)n, sizeof *by_id);
    tok->sym_cap = (size_t)n + n_merges;
    tok->sym_off = malloc(tok->sym_cap * sizeof *tok->sym_off);
    tok->sym_len = malloc(tok->sym_cap * sizeof *tok->sym_len);
    tok->sym_mask = pow2_at_least(2 * tok->sym_cap) - 1;
    tok->sym_slots = malloc((tok->sym_mask + 1) * sizeof *tok->sym_slots);
    if (!by_id || !tok->sym_off || !tok->sym_len || !tok->sym_slots) {
        set_err(err, errlen, "%s: out of memory", path);
        goto done;
    }
    memset(tok->sym_slots, 0xFF, (tok->sym_mask + 1) * sizeof *tok->sym_slots);
    for (const cJSON *item = root->child; item; item = item->next) {
        const char *s = item->string ? item->string : "";
        if (!cJSON_IsNumber(item)) {
            set_err(err, errlen, "%s: token \"%s\" has a value that is not a number", path,
                    jsonx_escape(s, shown[0], 64));
            goto done;
        }
        double v = item->valuedouble;
        if (v != floor(v) || v < 0 || v >= n) {
            set_err(err, errlen, "%s: token \"%s\" has id %.6g; ids must be integers 0..%d",
                    path, jsonx_escape(s, shown[0], 64), v, n - 1);
            goto done;
        }
        int id = (int)v;
        if (by_id[id]) {
            set_err(err, errlen, "%s: id %d is given to both \"%s\" and \"%s\"", path, id,
                    jsonx_escape(by_id[id]->string ? by_id[id]->string : "", shown[0], 64),
                    jsonx_escape(s, shown[1], 64));
            goto done;
        }
        by_id[id] = item;
    }
    /* n distinct ids in 0..n-1: every id is present, so symbol i is token i. */
    tok->n_vocab = n;
    for (int id = 0; id < n; id++) {
        const char *s = by_id[id]->string ? by_id[id]->string : "";
        size_t slen = strlen(s);
        if (bpe_symbol_find(tok, s, slen) >= 0) {
            set_err(err, errlen, "%s: token \"%s\" appears twice", path,
                    jsonx_escape(s, shown[0], 64));
            goto done;
        }
        if (symbol_add(tok, s, slen) != id) {
            set_err(err, errlen, "%s: out of memory", path);
            goto done;
        }
    }
    rc = 0;
done:
    free(by_id);
    cJSON_Delete(root);
    return rc;
}

/* --- merges.txt --- */

/* The first bytes of a symbol that is not NUL-terminated, escaped for a message. */
static const char *merge_shown(const char *sym, size_t n, char *buf, size_t cap) {
    char raw[64];
    if (n > sizeof raw - 1) n = sizeof raw - 1;
    memcpy(raw, sym, n);
    raw[n] = '\0';
    return jsonx_escape(raw, buf, cap);
}

typedef struct merge_line {
    const char *left, *right;
    uint32_t left_len, right_len;
    int line;
} merge_line_t;

/* Splits the text into merge lines (skipping the "#version" header and
 * blank lines). Returns the count, or -1 with err set. */
static long parse_merges(const char *path, char *text, size_t len, merge_line_t **out,
                         char *err, size_t errlen) {
    size_t n_lines = 1;
    for (size_t i = 0; i < len; i++) n_lines += text[i] == '\n';
    merge_line_t *lines = malloc(n_lines * sizeof *lines);
    if (!lines) {
        set_err(err, errlen, "%s: out of memory", path);
        return -1;
    }
    long count = 0;
    int line_no = 0;
    for (char *p = text; p < text + len;) {
        char *eol = memchr(p, '\n', (size_t)(text + len - p));
        if (!eol) eol = text + len;
        line_no++;
        char *line = p;
        p = eol + 1;
        if (line_no == 1 && eol - line >= 8 && memcmp(line, "#version", 8) == 0) continue;
        /* Fields are separated by spaces/tabs (str.split()); "\r" ends a CRLF line. */
        char *field[3];
        size_t flen[3];
        int nf = 0;
        for (char *q = line; q < eol;) {
            while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
            if (q == eol) break;
            char *start = q;
            while (q < eol && *q != ' ' && *q != '\t' && *q != '\r') q++;
            if (nf < 3) {
                field[nf] = start;
                flen[nf] = (size_t)(q - start);
            }
            nf++;
        }
        if (nf == 0) continue;
        if (nf != 2 || flen[0] > UINT32_MAX / 4 || flen[1] > UINT32_MAX / 4) {
            set_err(err, errlen, "%s:%d: expected two symbols separated by a space, found %d",
                    path, line_no, nf);
            free(lines);
            return -1;
        }
        lines[count++] = (merge_line_t){field[0], field[1], (uint32_t)flen[0],
                                        (uint32_t)flen[1], line_no};
    }
    *out = lines;
    return count;
}

static int load_merges(tokenizer_t *tok, const char *path, const merge_line_t *lines, long n,
                       char *err, size_t errlen) {
    tok->pair_mask = pow2_at_least(2 * (size_t)n + 2) - 1;
    tok->pairs = malloc((tok->pair_mask + 1) * sizeof *tok->pairs);
    int32_t *result = malloc(((size_t)n + 1) * sizeof *result);
    char *joined = NULL;
    size_t joined_cap = 0;
    int rc = -1;
    if (!tok->pairs || !result) goto oom;
    memset(tok->pairs, 0xFF, (tok->pair_mask + 1) * sizeof *tok->pairs);
    /* Pass 1: the symbol each merge produces. GPT-1 may produce strings that
     * are not tokens (such a word becomes <unk>); GPT-2's tables never do. */
    for (long i = 0; i < n; i++) {
        size_t jl = (size_t)lines[i].left_len + lines[i].right_len;
        if (jl + 1 > joined_cap) {
            joined_cap = 2 * jl + 64;
            char *grown = realloc(joined, joined_cap);
            if (!grown) goto oom;
            joined = grown;
        }
        memcpy(joined, lines[i].left, lines[i].left_len);
        memcpy(joined + lines[i].left_len, lines[i].right, lines[i].right_len);
        result[i] = bpe_symbol_find(tok, joined, jl);
        if (result[i] < 0) {
            if (tok->kind == TOKENIZER_GPT2) {
                char shown[256];
                set_err(err, errlen, "%s:%d: merged symbol \"%s\" is not in the vocabulary",
                        path, lines[i].line, merge_shown(joined, jl, shown, sizeof shown));
                goto done;
            }
            result[i] = symbol_add(tok, joined, jl);
            if (result[i] < 0) goto oom;
        }
    }
    /* Pass 2: both halves must be known symbols; the rank is the line order. */
    for (long i = 0; i < n; i++) {
        int32_t l = bpe_symbol_find(tok, lines[i].left, lines[i].left_len);
        int32_t r = bpe_symbol_find(tok, lines[i].right, lines[i].right_len);
        if (l < 0 || r < 0) {
            const char *bad = l < 0 ? lines[i].left : lines[i].right;
            uint32_t bad_len = l < 0 ? lines[i].left_len : lines[i].right_len;
            char shown[256];
            set_err(err, errlen, "%s:%d: unknown symbol \"%s\"", path, lines[i].line,
                    merge_shown(bad, bad_len, shown, sizeof shown));
            goto done;
        }
        pair_set(tok, l, r, (int32_t)i, result[i]);
    }
    rc = 0;
    goto done;
oom:
    set_err(err, errlen, "%s: out of memory", path);
done:
    free(result);
    free(joined);
    return rc;
}

/* The bytes each token decodes to. GPT-2: undo bytes_to_unicode (a code point
 * outside that table, as in an added token, stands for its own UTF-8).
 * GPT-1: "</w>" becomes a space. */
static int build_token_bytes(tokenizer_t *tok) {
    size_t cap = tok->strs_len + 1;
    tok->bytes = malloc(cap);
    tok->bytes_off = malloc((size_t)tok->n_vocab * sizeof *tok->bytes_off);
    tok->bytes_len = malloc((size_t)tok->n_vocab * sizeof *tok->bytes_len);
    if (!tok->bytes || !tok->bytes_off || !tok->bytes_len) return -1;
    int16_t cp_to_byte[512];
    memset(cp_to_byte, 0xFF, sizeof cp_to_byte);
    uint32_t byte_to_cp[256];
    bpe_gpt2_byte_table(byte_to_cp);
    for (int b = 0; b < 256; b++) cp_to_byte[byte_to_cp[b]] = (int16_t)b;
    size_t at = 0;
    for (int id = 0; id < tok->n_vocab; id++) {
        const unsigned char *s = (const unsigned char *)tok->strs + tok->sym_off[id];
        size_t n = tok->sym_len[id], start = at;
        for (size_t i = 0; i < n;) {
            uint32_t cp;
            int k = bpe_utf8_next(s + i, n - i, &cp);
            if (tok->kind == TOKENIZER_GPT2 && k > 0 && cp < 512 && cp_to_byte[cp] >= 0) {
                tok->bytes[at++] = (char)cp_to_byte[cp];
                i += (size_t)k;
            } else if (tok->kind == TOKENIZER_GPT1 && n - i >= 4 && memcmp(s + i, "</w>", 4) == 0) {
                tok->bytes[at++] = ' ';
                i += 4;
            } else {
                size_t step = k > 0 ? (size_t)k : 1;
                memcpy(tok->bytes + at, s + i, step);
                at += step;
                i += step;
            }
        }
        tok->bytes_off[id] = (uint32_t)start;
        tok->bytes_len[id] = (uint32_t)(at - start);
        tok->bytes[at++] = '\0';
    }
    return 0;
}

tokenizer_t *tokenizer_load_files(const char *vocab_json, const char *merges_txt,
                                  tokenizer_kind_t kind, char *err, size_t errlen) {
    if (kind != TOKENIZER_GPT2 && kind != TOKENIZER_GPT1) {
        set_err(err, errlen, "tokenizer: unknown kind %d", (int)kind);
        return NULL;
    }
    size_t vlen = 0, mlen = 0;
    char *vtext = NULL, *mtext = NULL;
    merge_line_t *lines = NULL;
    tokenizer_t *tok = calloc(1, sizeof *tok);
    if (!tok) {
        set_err(err, errlen, "tokenizer: out of memory");
        return NULL;
    }
    tok->kind = kind;
    tok->eot_id = tok->unk_id = -1;
    if (fileio_read_regular(vocab_json, BPE_MAX_FILE, &vtext, &vlen, err, errlen) != 0 ||
        fileio_read_regular(merges_txt, BPE_MAX_FILE, &mtext, &mlen, err, errlen) != 0)
        goto fail;
    long n_merges = parse_merges(merges_txt, mtext, mlen, &lines, err, errlen);
    if (n_merges < 0) goto fail;
    if (n_merges >= INT32_MAX / 2) {
        set_err(err, errlen, "%s: too many merges", merges_txt);
        goto fail;
    }
    if (load_vocab(tok, vocab_json, vtext, vlen, (size_t)n_merges, err, errlen) != 0) goto fail;
    free(vtext);
    vtext = NULL;
    if (kind == TOKENIZER_GPT2) {
        uint32_t byte_to_cp[256];
        bpe_gpt2_byte_table(byte_to_cp);
        for (int b = 0; b < 256; b++) {
            char u[4];
            int k = bpe_utf8_put(byte_to_cp[b], u);
            tok->byte_sym[b] = bpe_symbol_find(tok, u, (size_t)k);
            if (tok->byte_sym[b] < 0) {
                set_err(err, errlen, "%s: no token for byte 0x%02x (\"%.*s\"); not a GPT-2 byte-level vocabulary",
                        vocab_json, b, k, u);
                goto fail;
            }
        }
    } else {
        /* Optional: without it, characters outside the vocabulary are dropped. */
        tok->unk_id = bpe_symbol_find(tok, "<unk>", 5);
    }
    tok->eot_id = bpe_symbol_find(tok, "<|endoftext|>", 13);
    /* Zero bytes is what an interrupted download or a stray `touch` leaves;
     * a tokenizer without merges still has its "#version" line. (Checked
     * after the vocabulary, whose problems are the likelier news.) */
    if (mlen == 0) {
        set_err(err, errlen, "%s: empty file (a merges file starts with \"#version\")",
                merges_txt);
        goto fail;
    }
    if (load_merges(tok, merges_txt, lines, n_merges, err, errlen) != 0) goto fail;
    free(lines);
    lines = NULL;
    free(mtext);
    mtext = NULL;
    if (build_token_bytes(tok) != 0) {
        set_err(err, errlen, "%s: out of memory", vocab_json);
        goto fail;
    }
    return tok;
fail:
    free(vtext);
    free(mtext);
    free(lines);
    tokenizer_free(tok);
    return NULL;
}

tokenizer_t *tokenizer_load(const char *dir, tokenizer_kind_t kind, char *err, size_t errlen) {
    size_t dl = strlen(dir);
    char *vocab = malloc(dl + 16), *merges = malloc(dl + 16);
    tokenizer_t *tok = NULL;
    if (vocab && merges) {
        snprintf(vocab, dl + 16, "%s/vocab.json", dir);
        snprintf(merges, dl + 16, "%s/merges.txt", dir);
        tok = tokenizer_load_files(vocab, merges, kind, err, errlen);
    } else {
        set_err(err, errlen, "tokenizer: out of memory");
    }
    free(vocab);
    free(merges);
    return tok;
}

void tokenizer_free(tokenizer_t *tok) {
    if (!tok) return;
    free(tok->strs);
    free(tok->sym_off);
    free(tok->sym_len);
    free(tok->bytes);
    free(tok->bytes_off);
    free(tok->bytes_len);
    free(tok->sym_slots);
    free(tok->pairs);
    free(tok->cache.slots);
    free(tok->cache.keys);
    free(tok->cache.ids);
    free(tok->work.prev);
    free(tok->work.next);
    free(tok->work.heap);
    free(tok->work.batch);
    free(tok->work.skip);
    free(tok->work.merged);
    free(tok->work.syms);
    free(tok);
}

tokenizer_kind_t tokenizer_kind(const tokenizer_t *tok) { return tok->kind; }
int tokenizer_vocab_size(const tokenizer_t *tok) { return tok->n_vocab; }
int tokenizer_eot_id(const tokenizer_t *tok) { return tok->eot_id; }

int tokenizer_lookup(const tokenizer_t *tok, const char *token_str) {
    int32_t id = bpe_symbol_find(tok, token_str, strlen(token_str));
    return id < tok->n_vocab ? id : -1;
}

const char *tokenizer_token_bytes(const tokenizer_t *tok, int id, size_t *len) {
    if (id < 0 || id >= tok->n_vocab) return NULL;
    if (len) *len = tok->bytes_len[id];
    return tok->bytes + tok->bytes_off[id];
}

const char *tokenizer_token_str(const tokenizer_t *tok, int id) {
    if (id < 0 || id >= tok->n_vocab) return NULL;
    return tok->strs + tok->sym_off[id];
}

void tokenizer_set_dropout(tokenizer_t *tok, float p, uint64_t seed) {
    tok->dropout = tok->kind == TOKENIZER_GPT2 && p > 0 ? (p < 1 ? p : 1.0f) : 0.0f;
    rng_seed(&tok->drop_rng, seed);
}

int tokenizer_encode(tokenizer_t *tok, const char *text, size_t len, int **ids, size_t *n,
                     size_t *cap, char *err, size_t errlen) {
    if (len && !text) {
        set_err(err, errlen, "tokenizer: no text");
        return -1;
    }
    size_t bad = bpe_utf8_invalid_at(text, len);
    if (bad < len) {
        set_err(err, errlen, "text: invalid UTF-8 at byte offset %zu", bad);
        return -1;
    }
    bpe_out_t out = {ids, n, cap};
    return tok->kind == TOKENIZER_GPT2 ? bpe_gpt2_encode(tok, text, len, &out, err, errlen)
                                       : bpe_gpt1_encode(tok, text, len, &out, err, errlen);
}

/* --- decoding --- */

/* Copies in[0..n) to out, replacing each invalid sequence's maximal subpart
 * (and an unfinished character at the end) by U+FFFD, as Python's
 * bytes.decode("utf-8", errors="replace") does. out needs room for 3n. */
static size_t utf8_repair(const unsigned char *in, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = bpe_utf8_next(in + i, n - i, &cp);
        if (k > 0) {
            memcpy(out + o, in + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
        } else {
            o += (size_t)bpe_utf8_put(0xFFFD, out + o);
            i += k < 0 ? (size_t)-k : n - i;
        }
    }
    return o;
}

char *tokenizer_decode(const tokenizer_t *tok, const int *ids, size_t n, size_t *out_len,
                       char *err, size_t errlen) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= tok->n_vocab) {
            set_err(err, errlen, "decode: token id %d at position %zu is outside 0..%d", ids[i],
                    i, tok->n_vocab - 1);
            return NULL;
        }
        total += tok->bytes_len[ids[i]];
    }
    unsigned char *raw = malloc(total + 1);
    char *text = total < SIZE_MAX / 4 ? malloc(3 * total + 1) : NULL;
    if (!raw || !text) {
        free(raw);
        free(text);
        set_err(err, errlen, "decode: out of memory");
        return NULL;
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(raw + at, tok->bytes + tok->bytes_off[ids[i]], tok->bytes_len[ids[i]]);
        at += tok->bytes_len[ids[i]];
    }
    size_t len = utf8_repair(raw, total, text);
    free(raw);
    size_t start = 0;
    if (tok->kind == TOKENIZER_GPT1) {
        /* HF: "".join(tokens).replace("</w>", " ").strip(). The strip drops the
         * space after the last word, and any whitespace at either end. */
        while (start < len) {
            uint32_t cp;
            int k = bpe_utf8_next((unsigned char *)text + start, len - start, &cp);
            if (k <= 0 || !bpe_gpt1_is_py_space(cp)) break;
            start += (size_t)k;
        }
        while (len > start) {
            size_t b = len - 1;
            while (b > start && ((unsigned char)text[b] & 0xC0) == 0x80) b--;
            uint32_t cp;
            int k = bpe_utf8_next((unsigned char *)text + b, len - b, &cp);
            if (k <= 0 || !bpe_gpt1_is_py_space(cp)) break;
            len = b;
        }
        memmove(text, text + start, len - start);
        len -= start;
    }
    text[len] = '\0';
    if (out_len) *out_len = len;
    return text;
}

void tokenizer_stream_init(tokenizer_stream_t *st, const tokenizer_t *tok) {
    memset(st, 0, sizeof *st);
    st->tok = tok;
}

typedef struct stream_out {
    char *out;
    size_t cap, len;
    int overflow;
} stream_out_t;

static void stream_put(stream_out_t *so, const void *s, size_t k) {
    if (so->len + k >= so->cap) {
        so->overflow = 1;
        return;
    }
    memcpy(so->out + so->len, s, k);
    so->len += k;
}

/* Emits the character at s (avail bytes) or a U+FFFD for an invalid one;
 * returns the bytes consumed, or 0 for an unfinished character (final: an
 * unfinished character is replaced too). */
static size_t stream_step(stream_out_t *so, const unsigned char *s, size_t avail, int final) {
    uint32_t cp;
    int k = bpe_utf8_next(s, avail, &cp);
    if (k > 0) {
        stream_put(so, s, (size_t)k);
        return (size_t)k;
    }
    if (k == 0 && !final) return 0;
    stream_put(so, "\xEF\xBF\xBD", 3);
    return k < 0 ? (size_t)-k : avail;
}

/* Emits the complete characters of pending + bytes into out and keeps an
 * unfinished tail (at most 3 bytes, always a valid prefix) as the new pending.
 * The state changes only when everything fits, so a caller can retry. */
static int stream_emit(tokenizer_stream_t *st, const unsigned char *bytes, size_t n, int final,
                       char *out, size_t outcap) {
    if (!out || outcap == 0) return -1;
    stream_out_t so = {out, outcap, 0, 0};
    /* A character may straddle pending and bytes; a character is at most 4
     * bytes, so pending + the first 4 new bytes always hold it. */
    unsigned char head[8], keep[8];
    size_t np = st->n_pending, take = n < 4 ? n : 4, nh = np + take, n_keep = 0, i = 0;
    memcpy(head, st->pending, np);
    if (take) memcpy(head + np, bytes, take);
    while (i < np) {
        size_t step = stream_step(&so, head + i, nh - i, final);
        if (!step) { /* only when take == n: everything is in head */
            n_keep = nh - i;
            memcpy(keep, head + i, n_keep);
            i = np + n;
            break;
        }
        i += step;
    }
    while (i < np + n) {
        size_t j = i - np, step = stream_step(&so, bytes + j, n - j, final);
        if (!step) {
            n_keep = n - j;
            memcpy(keep, bytes + j, n_keep);
            break;
        }
        i += step;
    }
    if (so.overflow) return -1;
    out[so.len] = '\0';
    memcpy(st->pending, keep, n_keep);
    st->n_pending = n_keep;
    return (int)so.len;
}

int tokenizer_stream_push(tokenizer_stream_t *st, int id, char *out, size_t outcap) {
    size_t len;
    const char *bytes = tokenizer_token_bytes(st->tok, id, &len);
    if (!bytes) return -1;
    return stream_emit(st, (const unsigned char *)bytes, len, 0, out, outcap);
}

int tokenizer_stream_flush(tokenizer_stream_t *st, char *out, size_t outcap) {
    return stream_emit(st, NULL, 0, 1, out, outcap);
}
