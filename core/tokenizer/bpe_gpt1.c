/* bpe_gpt1.c - GPT-1 (openai-gpt) encoding as Hugging Face's
 * OpenAIGPTTokenizer does when ftfy and spaCy are not installed: BERT's
 * BasicTokenizer(do_lower_case=True) splits the text into words, then each
 * word is BPE-merged from its characters with "</w>" glued to the last one.
 *
 * BasicTokenizer, step by step (transformers' tokenization_bert.py):
 *   clean:   drop NUL, U+FFFD and control characters (category C*, except
 *            tab/newline/CR); every whitespace character becomes a space;
 *   CJK:     put spaces around each CJK ideograph so it is its own word;
 *   split:   on whitespace;
 *   lower:   str.lower() (U+0130 -> "i\u0307", final sigma -> U+03C2), then
 *            NFD and drop the combining marks (category Mn): accents go;
 *   punct:   every punctuation character becomes a word of its own.
 * Literal "<unk>" in the text is the unknown token (HF splits special tokens
 * out before the BasicTokenizer sees the text). HF also NFC-normalises the
 * text before splitting; NFD follows, and NFD(NFC(x)) == NFD(x), so that
 * step is left out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "bpe_gpt1.h"

static utf8proc_category_t category(uint32_t cp) {
    return utf8proc_category((utf8proc_int32_t)cp);
}

/* BERT's _is_control: category C*, but tab, newline and CR count as space. */
static int is_control(uint32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return 0;
    switch (category(cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN: return 1;
    default: return 0;
    }
}

/* Where BasicTokenizer splits words: its _is_whitespace (space, \t, \n, \r,
 * Zs), plus U+2028/U+2029, which survive cleaning but str.split() splits on. */
static int is_word_break(uint32_t cp) {
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0x2028 || cp == 0x2029 ||
           category(cp) == UTF8PROC_CATEGORY_ZS;
}

/* BERT's _is_chinese_char: the CJK Unified Ideographs blocks. */
static int is_cjk(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* BERT's _is_punctuation: all non-alphanumeric ASCII (so "$", "+", "^", "`"
 * count although they are symbols in Unicode) and every P* category. */
static int is_punct(uint32_t cp) {
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
        (cp >= 123 && cp <= 126))
        return 1;
    switch (category(cp)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO: return 1;
    default: return 0;
    }
}

int bpe_gpt1_is_py_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 ||
           cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Unicode's Cased and Case_Ignorable, as far as Python's final-sigma rule
 * needs them (letters with case; marks, format characters, modifiers and the
 * word-internal punctuation ' . : and friends). */
static int is_cased(uint32_t cp) {
    utf8proc_category_t c = category(cp);
    return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT ||
           utf8proc_tolower((utf8proc_int32_t)cp) != (utf8proc_int32_t)cp ||
           utf8proc_toupper((utf8proc_int32_t)cp) != (utf8proc_int32_t)cp;
}

static int is_case_ignorable(uint32_t cp) {
    switch (cp) {
    case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x55F: case 0x5F4:
    case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52:
    case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A: return 1;
    default: break;
    }
    utf8proc_category_t c = category(cp);
    return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME || c == UTF8PROC_CATEGORY_CF ||
           c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_SK;
}

/* Python lowers a capital sigma to final sigma when a cased letter precedes
 * it and none follows (case-ignorable characters in between are skipped). */
static int is_final_sigma(const uint32_t *w, size_t n, size_t i) {
    size_t j = i;
    while (j > 0 && is_case_ignorable(w[j - 1])) j--;
    if (j == 0 || !is_cased(w[j - 1])) return 0;
    for (j = i + 1; j < n && is_case_ignorable(w[j]); j++) {}
    return j == n || !is_cased(w[j]);
}

typedef struct gpt1_buf {
    uint32_t *word, *norm; /* the current whitespace word; its normalised form */
    size_t n_word, cap_word, n_norm, cap_norm;
    char *piece;           /* UTF-8 of one punctuation-split piece */
    size_t cap_piece;
} gpt1_buf_t;

static int reserve_u32(uint32_t **a, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    uint32_t *p = realloc(*a, n * sizeof *p);
    if (!p) return -1;
    *a = p;
    *cap = n;
    return 0;
}

/* Initial symbols of a piece: its characters, "</w>" glued to the last one
 * (HF: tuple(token[:-1]) + (token[-1] + "</w>",)). A character the tables do
 * not know is -1 and ends up as <unk>. */
static int gpt1_syms(tokenizer_t *tok, const char *word, size_t len) {
    if (len > INT32_MAX / 4 || bpe_work_reserve_syms(tok, len) != 0) return -1;
    int n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int k = bpe_utf8_next((const unsigned char *)word + i, len - i, &cp);
        char sym[8];
        memcpy(sym, word + i, (size_t)k);
        size_t sl = (size_t)k;
        i += (size_t)k;
        if (i == len) {
            memcpy(sym + sl, "</w>", 4);
            sl += 4;
        }
        tok->work.syms[n++] = bpe_symbol_find(tok, sym, sl);
    }
    return n;
}

static int emit_piece(tokenizer_t *tok, gpt1_buf_t *b, const uint32_t *cps, size_t n,
                      bpe_out_t *out) {
    if (n == 0) return 0;
    if (4 * n > b->cap_piece) {
        char *p = realloc(b->piece, 4 * n);
        if (!p) return -1;
        b->piece = p;
        b->cap_piece = 4 * n;
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i++) len += (size_t)bpe_utf8_put(cps[i], b->piece + len);
    return bpe_encode_word(tok, b->piece, len, gpt1_syms, out);
}

/* Lower-cases, strips accents and punctuation-splits the current word. */
static int flush_word(tokenizer_t *tok, gpt1_buf_t *b, bpe_out_t *out) {
    size_t n = b->n_word;
    b->n_word = 0;
    if (n == 0) return 0;
    b->n_norm = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t lower[2];
        int n_lower = 1;
        if (b->word[i] == 0x130) { /* the one unconditional special lowercase */
            lower[0] = 'i';
            lower[1] = 0x307;
            n_lower = 2;
        } else if (b->word[i] == 0x3A3 && is_final_sigma(b->word, n, i)) {
            lower[0] = 0x3C2;
        } else {
            lower[0] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)b->word[i]);
        }
        for (int l = 0; l < n_lower; l++) {
            utf8proc_int32_t dec[32];
            int bound = 0;
            utf8proc_ssize_t nd = utf8proc_decompose_char((utf8proc_int32_t)lower[l], dec, 32,
                                                          UTF8PROC_DECOMPOSE, &bound);
            if (nd < 0 || nd > 32) { /* cannot happen for valid code points */
                dec[0] = (utf8proc_int32_t)lower[l];
                nd = 1;
            }
            if (reserve_u32(&b->norm, &b->cap_norm, b->n_norm + (size_t)nd) != 0) return -1;
            for (utf8proc_ssize_t d = 0; d < nd; d++) {
                /* Canonical ordering: a combining mark moves before marks of a
                 * higher class, which NFD requires across decomposed pieces. */
                uint32_t c = (uint32_t)dec[d];
                int ccc = utf8proc_get_property(dec[d])->combining_class;
                size_t at = b->n_norm++;
                while (ccc && at > 0 &&
                       utf8proc_get_property((utf8proc_int32_t)b->norm[at - 1])->combining_class > ccc) {
                    b->norm[at] = b->norm[at - 1];
                    at--;
                }
                b->norm[at] = c;
            }
        }
    }
    /* Drop the marks (accents), then split off punctuation. */
    size_t start = 0, m = 0;
    for (size_t i = 0; i < b->n_norm; i++)
        if (category(b->norm[i]) != UTF8PROC_CATEGORY_MN) b->norm[m++] = b->norm[i];
    for (size_t i = 0; i < m; i++) {
        if (!is_punct(b->norm[i])) continue;
        if (emit_piece(tok, b, b->norm + start, i - start, out) != 0 ||
            emit_piece(tok, b, b->norm + i, 1, out) != 0)
            return -1;
        start = i + 1;
    }
    return emit_piece(tok, b, b->norm + start, m - start, out);
}

static int push_cp(gpt1_buf_t *b, uint32_t cp) {
    if (reserve_u32(&b->word, &b->cap_word, b->n_word + 1) != 0) return -1;
    b->word[b->n_word++] = cp;
    return 0;
}

static int gpt1_encode_span(tokenizer_t *tok, gpt1_buf_t *b, const char *text, size_t len,
                            bpe_out_t *out) {
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        i += (size_t)bpe_utf8_next(s + i, len - i, &cp); /* text is valid UTF-8 */
        if (cp == 0 || cp == 0xFFFD || is_control(cp)) continue;
        if (is_word_break(cp)) {
            if (flush_word(tok, b, out) != 0) return -1;
        } else if (is_cjk(cp)) {
            if (flush_word(tok, b, out) != 0 || push_cp(b, cp) != 0 ||
                flush_word(tok, b, out) != 0)
                return -1;
        } else if (push_cp(b, cp) != 0) {
            return -1;
        }
    }
    return flush_word(tok, b, out);
}

int bpe_gpt1_encode(tokenizer_t *tok, const char *text, size_t len, bpe_out_t *out, char *err,
                    size_t errlen) {
    gpt1_buf_t b = {0};
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0;) {
        const char *hit = tok->unk_id >= 0 ? memmem(text + i, len - i, "<unk>", 5) : NULL;
        size_t span_end = hit ? (size_t)(hit - text) : len;
        rc = gpt1_encode_span(tok, &b, text + i, span_end - i, out);
        if (!hit || rc != 0) break;
        rc = bpe_out_push(out, &tok->unk_id, 1);
        i = span_end + 5;
    }
    free(b.word);
    free(b.norm);
    free(b.piece);
    if (rc != 0 && err && errlen) snprintf(err, errlen, "tokenizer: out of memory");
    return rc;
}
