/* text.h - text as the terminal shows it, as pure functions (no curses):
 * display widths (wide CJK and emoji take two columns, combining marks none;
 * utf8proc decides), escaping token text for one-line table labels, turning
 * the bytes of a token stream into whole characters (a GPT-2 token may hold
 * half a UTF-8 character: the bytes wait for the token that completes it, and
 * bytes that can never form one show as U+FFFD), and word-wrapping those
 * characters into lines with each one's line and column, which the
 * transcript uses to draw, to move the cursor and to hit-test mouse clicks. */
#ifndef GPTSCOPE_UI_TEXT_H
#define GPTSCOPE_UI_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Display columns of s[0..n): invalid bytes count 1 each (shown as U+FFFD),
 * control characters 1. */
int text_width(const char *s, size_t n);
/* Columns of one code point: 0, 1 or 2 (controls 1, as their replacement). */
int text_cp_width(int32_t cp);
/* Bytes of the longest prefix of s[0..n) (whole characters) that fits in
 * max_cols columns; *cols (may be NULL) gets its width. */
size_t text_fit(const char *s, size_t n, int max_cols, int *cols);

/* A token's bytes as a one-line label: '\n' -> "\n", '\t' -> "\t", '\r' ->
 * "\r", other control bytes and bytes that are not part of valid UTF-8 ->
 * "\xNN", a backslash -> "\\"; valid characters copied. NUL-terminated and
 * cut at a character boundary when cap is short. Returns the length. */
size_t text_escape(const char *b, size_t n, char *out, size_t cap);
/* s cut or padded with spaces to cols display columns, into out (at most
 * cap - 1 bytes): the label columns of the panes' tables. */
void text_pad(const char *s, int cols, char *out, size_t cap);

/* One character on screen. tok_first..tok_last are the tokens whose bytes
 * make it (more than one when a character spans tokens); -1 for decoration
 * (turn separators). line and col are set by text_wrap. */
typedef struct text_glyph {
    int tok_first, tok_last;
    int line, col;
    unsigned char width;    /* columns: 1 or 2 (0 never: marks join the previous glyph) */
    unsigned char n_bytes;  /* UTF-8 in bytes[] */
    unsigned char newline;  /* a line break follows this glyph (it draws as a blank) */
    unsigned char space;    /* a break opportunity follows it */
    char bytes[14];
} text_glyph_t;

/* Growing array of glyphs. */
typedef struct text_glyphs {
    text_glyph_t *g;
    int n, cap;
} text_glyphs_t;

void text_glyphs_free(text_glyphs_t *gs);
void text_glyphs_clear(text_glyphs_t *gs);

/* Streaming decoder from token bytes to glyphs. */
typedef struct text_decoder {
    unsigned char pending[4];
    int n_pending;
    int pending_tok; /* token that began the pending character */
} text_decoder_t;

void text_decoder_init(text_decoder_t *d);
/* Appends the characters that bytes b[0..n) of token tok complete. Returns 0
 * or -1 (out of memory). */
int text_decode_push(text_decoder_t *d, text_glyphs_t *gs, int tok, const char *b, size_t n);
/* Emits a pending partial character as U+FFFD (end of a turn). */
int text_decode_flush(text_decoder_t *d, text_glyphs_t *gs);
/* Appends one decoration glyph (tok -1) of UTF-8 s, or a line break when s is "\n". */
int text_glyphs_add_decor(text_glyphs_t *gs, const char *s);

/* Word wrap in progress; text_wrap continues where the last call stopped, so
 * streaming tokens wrap only what is new. Start again (text_wrap_init) when
 * the width changes. */
typedef struct text_wrap {
    int width;
    int done;        /* glyphs placed so far */
    int line, col;   /* where the next glyph goes */
    int word_start;  /* first glyph after the last break opportunity on this line */
    int line_start;  /* first glyph of the current line */
} text_wrap_t;

void text_wrap_init(text_wrap_t *w, int width);
/* Places glyphs [w->done, gs->n): greedy, breaking after spaces; a word wider
 * than the line breaks anywhere. Returns the number of lines (line of the
 * next glyph + 1). */
int text_wrap(text_wrap_t *w, text_glyphs_t *gs);
/* Index of the first glyph on line, or gs->n when none (binary search). */
int text_first_on_line(const text_glyphs_t *gs, int line);

#endif
