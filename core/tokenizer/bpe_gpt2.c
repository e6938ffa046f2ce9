/* bpe_gpt2.c - GPT-2's byte-level encoder (bpe_gpt2.h): the pre-split regex
 * of OpenAI's encoder.py / tiktoken "gpt2",
 *
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * written out as a scanner (same matches, no regex engine, ~10x faster),
 * then each pre-token's bytes are BPE-merged starting from one symbol per
 * byte. "<|endoftext|>" in the text is cut out first and becomes its id.
 *
 * \s is Unicode's White_Space property (what tiktoken's Rust regex and the
 * Python `regex` module use), \p{L} and \p{N} are utf8proc's categories. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "bpe_gpt2.h"

/* --- GPT-2 --- */

void bpe_gpt2_byte_table(uint32_t byte_to_cp[256]) {
    /* Printable Latin-1 bytes stand for themselves; the other 68 (controls,
     * space, DEL, NBSP, soft hyphen) get U+0100.. in byte order, so that
     * every vocabulary string is printable. */
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        byte_to_cp[b] = printable ? (uint32_t)b : next++;
    }
}

enum { CC_LETTER, CC_NUMBER, CC_SPACE, CC_OTHER };

static int is_white_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

static int char_class(uint32_t cp) {
    if (cp < 0x80) {
        if ((cp | 0x20) - 'a' < 26) return CC_LETTER;
        if (cp - '0' < 10) return CC_NUMBER;
        if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return CC_SPACE;
        return CC_OTHER;
    }
    if (is_white_space(cp)) return CC_SPACE;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: return CC_LETTER;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return CC_NUMBER;
    default: return CC_OTHER;
    }
}

/* Class of the (valid) character at s[i], its length in *len. */
static int class_at(const unsigned char *s, size_t n, size_t i, int *len) {
    if (s[i] < 0x80) {
        *len = 1;
        return char_class(s[i]);
    }
    uint32_t cp = 0;
    *len = bpe_utf8_next(s + i, n - i, &cp);
    return char_class(cp);
}

/* End of the pre-token starting at i: the first alternative of the regex
 * that matches there, as a backtracking engine would choose it. */
static size_t pretoken_end(const unsigned char *s, size_t n, size_t i) {
    if (s[i] == '\'' && i + 1 < n) { /* 's 't 'm 'd 're 've 'll, case-sensitive */
        unsigned char a = s[i + 1], b = i + 2 < n ? s[i + 2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    }
    int len;
    int cls = class_at(s, n, i, &len);
    size_t j = i + (size_t)len;
    if (s[i] == ' ' && j < n) { /* " ?X+": an ASCII space may lead a run of X */
        int len2;
        int cls2 = class_at(s, n, j, &len2);
        if (cls2 != CC_SPACE) {
            cls = cls2;
            j += (size_t)len2;
        }
    }
    if (cls != CC_SPACE) { /* \p{L}+, \p{N}+ or [^\s\p{L}\p{N}]+ */
        while (j < n) {
            int l;
            if (class_at(s, n, j, &l) != cls) break;
            j += (size_t)l;
        }
        return j;
    }
    /* Whitespace run [i, k). \s+(?!\S): at the end of the text the whole run;
     * before a non-space, the run minus its last character (which then leads
     * the next pre-token), unless that would leave nothing: then \s+ takes
     * the single character. */
    size_t last = i, k = j;
    while (k < n) {
        int l;
        if (class_at(s, n, k, &l) != CC_SPACE) break;
        last = k;
        k += (size_t)l;
    }
    if (k == n || last == i) return k;
    return last;
}

size_t bpe_gpt2_pretoken_end(const unsigned char *s, size_t n, size_t i) {
    return pretoken_end(s, n, i);
}

static int gpt2_syms(tokenizer_t *tok, const char *word, size_t len) {
    if (len > INT32_MAX / 4 || bpe_work_reserve_syms(tok, len) != 0) return -1;
    for (size_t i = 0; i < len; i++) tok->work.syms[i] = tok->byte_sym[(unsigned char)word[i]];
    return (int)len;
}

static int gpt2_encode_span(tokenizer_t *tok, const char *text, size_t len, bpe_out_t *out) {
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        size_t end = pretoken_end(s, len, i);
        if (bpe_encode_word(tok, text + i, end - i, gpt2_syms, out) != 0) return -1;
        i = end;
    }
    return 0;
}

int bpe_gpt2_encode(tokenizer_t *tok, const char *text, size_t len, bpe_out_t *out, char *err,
                    size_t errlen) {
    static const char eot[] = "<|endoftext|>";
    const size_t eot_len = sizeof eot - 1;
    size_t i = 0;
    while (i < len) {
        const char *hit = tok->eot_id >= 0 ? memmem(text + i, len - i, eot, eot_len) : NULL;
        size_t span_end = hit ? (size_t)(hit - text) : len;
        if (gpt2_encode_span(tok, text + i, span_end - i, out) != 0) goto oom;
        if (!hit) break;
        if (bpe_out_push(out, &tok->eot_id, 1) != 0) goto oom;
        i = span_end + eot_len;
    }
    return 0;
oom:
    if (err && errlen) snprintf(err, errlen, "tokenizer: out of memory");
    return -1;
}
