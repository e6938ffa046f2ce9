/* text.c - display widths, escaping, token bytes to glyphs, word wrap (text.h). */
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

int text_cp_width(int32_t cp) {
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 1; /* shown as a replacement */
    int w = utf8proc_charwidth(cp);
    return w < 0 ? 1 : w > 2 ? 2 : w;
}

/* Length of the valid UTF-8 character at s[0..n) and its code point, or 0
   when the bytes there do not start one (utf8proc also rejects overlong
   forms and surrogates). */
static int text_char_at(const char *s, size_t n, int32_t *cp) {
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, cp);
    return k > 0 ? (int)k : 0;
}

int text_width(const char *s, size_t n) {
    int w = 0;
    size_t i = 0;
    while (i < n) {
        int32_t cp;
        int k = text_char_at(s + i, n - i, &cp);
        if (k == 0) {
            w += 1;
            i++;
        } else {
            w += text_cp_width(cp);
            i += (size_t)k;
        }
    }
    return w;
}

size_t text_fit(const char *s, size_t n, int max_cols, int *cols) {
    int w = 0;
    size_t i = 0;
    while (i < n) {
        int32_t cp;
        int k = text_char_at(s + i, n - i, &cp);
        int cw = k ? text_cp_width(cp) : 1;
        if (w + cw > max_cols) break;
        w += cw;
        i += k ? (size_t)k : 1;
    }
    if (cols) *cols = w;
    return i;
}

size_t text_escape(const char *b, size_t n, char *out, size_t cap) {
    size_t o = 0;
    if (cap == 0) return 0;
    size_t i = 0;
    while (i < n) {
        char piece[8];
        size_t plen;
        int32_t cp;
        int k = text_char_at(b + i, n - i, &cp);
        unsigned char ch = (unsigned char)b[i];
        if (k == 1 && ch == '\n') plen = (size_t)snprintf(piece, sizeof piece, "\\n");
        else if (k == 1 && ch == '\t') plen = (size_t)snprintf(piece, sizeof piece, "\\t");
        else if (k == 1 && ch == '\r') plen = (size_t)snprintf(piece, sizeof piece, "\\r");
        else if (k == 1 && ch == '\\') plen = (size_t)snprintf(piece, sizeof piece, "\\\\");
        else if (k == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
            /* a C1 control is two bytes: escape each */
            plen = (size_t)snprintf(piece, sizeof piece, "\\x%02x", ch);
            k = 1;
        } else {
            memcpy(piece, b + i, (size_t)k);
            plen = (size_t)k;
        }
        if (o + plen + 1 > cap) break;
        memcpy(out + o, piece, plen);
        o += plen;
        i += k ? (size_t)k : 1;
    }
    out[o] = '\0';
    return o;
}

void text_glyphs_free(text_glyphs_t *gs) {
    free(gs->g);
    gs->g = NULL;
    gs->n = gs->cap = 0;
}

void text_glyphs_clear(text_glyphs_t *gs) { gs->n = 0; }

static text_glyph_t *text_glyph_new(text_glyphs_t *gs) {
    if (gs->n == gs->cap) {
        int cap = gs->cap ? gs->cap * 2 : 256;
        text_glyph_t *g = realloc(gs->g, (size_t)cap * sizeof *g);
        if (!g) return NULL;
        gs->g = g;
        gs->cap = cap;
    }
    text_glyph_t *g = &gs->g[gs->n++];
    memset(g, 0, sizeof *g);
    return g;
}

static const char text_replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/* Appends the character cp (bytes s[0..k)) made by tokens tok0..tok1. */
static int text_emit(text_glyphs_t *gs, int tok0, int tok1, int32_t cp, const char *s, int k) {
    int w = text_cp_width(cp);
    if (w == 0 && gs->n > 0) {
        /* a combining mark or joiner rides on the character before it */
        text_glyph_t *prev = &gs->g[gs->n - 1];
        if (prev->tok_first >= 0 && !prev->newline &&
            (size_t)prev->n_bytes + (size_t)k <= sizeof prev->bytes) {
            memcpy(prev->bytes + prev->n_bytes, s, (size_t)k);
            prev->n_bytes = (unsigned char)(prev->n_bytes + k);
            if (tok1 > prev->tok_last) prev->tok_last = tok1;
            return 0;
        }
    }
    text_glyph_t *g = text_glyph_new(gs);
    if (!g) return -1;
    g->tok_first = tok0;
    g->tok_last = tok1;
    g->width = 1;
    if (cp == '\n') {
        g->newline = 1;
        g->bytes[0] = ' ';
        g->n_bytes = 1;
    } else if (cp == ' ' || cp == '\t') {
        g->space = 1;
        g->bytes[0] = ' ';
        g->n_bytes = 1;
    } else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || w == 0) {
        memcpy(g->bytes, text_replacement, 3);
        g->n_bytes = 3;
    } else {
        memcpy(g->bytes, s, (size_t)k);
        g->n_bytes = (unsigned char)k;
        g->width = (unsigned char)w;
    }
    return 0;
}

void text_decoder_init(text_decoder_t *d) { memset(d, 0, sizeof *d); }

/* Bytes a UTF-8 character starting with lead byte c has, 0 if c cannot lead. */
static int text_lead_len(unsigned char c) {
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) return 2;
    if (c >= 0xe0 && c <= 0xef) return 3;
    if (c >= 0xf0 && c <= 0xf4) return 4;
    return 0;
}

int text_decode_flush(text_decoder_t *d, text_glyphs_t *gs) {
    if (d->n_pending == 0) return 0;
    d->n_pending = 0;
    return text_emit(gs, d->pending_tok, d->pending_tok, 0xfffd, text_replacement, 3);
}

int text_decode_push(text_decoder_t *d, text_glyphs_t *gs, int tok, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b[i];
        if (d->n_pending > 0) {
            d->pending[d->n_pending++] = c;
            int need = text_lead_len(d->pending[0]);
            int32_t cp;
            int k = text_char_at((const char *)d->pending, (size_t)d->n_pending, &cp);
            if (k == d->n_pending) { /* complete and valid */
                d->n_pending = 0;
                if (text_emit(gs, d->pending_tok, tok, cp, (const char *)d->pending, k)) return -1;
                continue;
            }
            /* still a valid prefix? (continuation byte and the right second-byte range) */
            int prefix_ok = (c & 0xc0) == 0x80 && d->n_pending < need;
            if (prefix_ok && d->n_pending == 2) {
                unsigned char l = d->pending[0];
                if ((l == 0xe0 && c < 0xa0) || (l == 0xed && c > 0x9f) || (l == 0xf0 && c < 0x90) ||
                    (l == 0xf4 && c > 0x8f))
                    prefix_ok = 0;
            }
            if (prefix_ok) continue;
            /* the pending bytes can never form a character: one U+FFFD for
               them, then this byte starts afresh */
            d->n_pending--;
            if (text_decode_flush(d, gs)) return -1;
        }
        int len = text_lead_len(c);
        if (len == 1) {
            if (text_emit(gs, tok, tok, c, (const char *)&b[i], 1)) return -1;
        } else if (len == 0) {
            if (text_emit(gs, tok, tok, 0xfffd, text_replacement, 3)) return -1;
        } else {
            d->pending[0] = c;
            d->n_pending = 1;
            d->pending_tok = tok;
        }
    }
    return 0;
}

int text_glyphs_add_decor(text_glyphs_t *gs, const char *s) {
    int32_t cp = '\n';
    int k = 1;
    if (strcmp(s, "\n") != 0) {
        k = text_char_at(s, strlen(s), &cp);
        if (k == 0) return -1;
    }
    if (text_emit(gs, -1, -1, cp, s, k)) return -1;
    return 0;
}

void text_wrap_init(text_wrap_t *w, int width) {
    memset(w, 0, sizeof *w);
    w->width = width < 1 ? 1 : width;
}

int text_wrap(text_wrap_t *w, text_glyphs_t *gs) {
    for (int i = w->done; i < gs->n; i++) {
        text_glyph_t *g = &gs->g[i];
        int gw = g->width;
        if (w->col + gw > w->width && w->col > 0) {
            if (!g->space && w->word_start > w->line_start) {
                /* carry the word begun after the last space to the next line */
                w->line++;
                w->col = 0;
                w->line_start = w->word_start;
                for (int j = w->word_start; j < i; j++) {
                    gs->g[j].line = w->line;
                    gs->g[j].col = w->col;
                    w->col += gs->g[j].width;
                }
            }
            if (w->col + gw > w->width && w->col > 0) {
                w->line++;
                w->col = 0;
                w->line_start = w->word_start = i;
            }
        }
        g->line = w->line;
        g->col = w->col;
        w->col += gw;
        if (g->newline) {
            w->line++;
            w->col = 0;
            w->line_start = w->word_start = i + 1;
        } else if (g->space) {
            w->word_start = i + 1;
        }
    }
    w->done = gs->n;
    return w->line + 1;
}

int text_first_on_line(const text_glyphs_t *gs, int line) {
    int lo = 0, hi = gs->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (gs->g[mid].line < line) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

void text_pad(const char *s, int cols, char *out, size_t cap) {
    if (cap == 0) return;
    int w;
    size_t n = text_fit(s, strlen(s), cols, &w);
    if (n > cap - 1) n = text_fit(s, strlen(s), 0, &w); /* never: labels are short */
    size_t pad = (size_t)(cols - w);
    if (n + pad > cap - 1) pad = cap - 1 - n;
    memcpy(out, s, n);
    memset(out + n, ' ', pad);
    out[n + pad] = '\0';
}
