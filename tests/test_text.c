/* test_text.c - text as the terminal shows it (ui/text.h): display widths of
 * ASCII, CJK, emoji and combining marks; escaping control bytes, newlines
 * and invalid bytes; token bytes that split a UTF-8 character; invalid
 * bytes as U+FFFD; word wrap with wide characters, long words and newlines,
 * and wrapping in pieces giving the same lines as wrapping at once. */
#include "tap.h"
#include "text.h"

#include <string.h>

static const char FFFD[] = "\xef\xbf\xbd";

/* glyphs of tokens given as byte strings (one decoder, as the transcript does) */
static void decode(text_glyphs_t *gs, const char *const *toks, int n) {
    text_decoder_t d;
    text_decoder_init(&d);
    text_glyphs_clear(gs);
    for (int i = 0; i < n; i++) text_decode_push(&d, gs, i, toks[i], strlen(toks[i]));
    text_decode_flush(&d, gs);
}

/* the glyphs' bytes joined */
static void joined(const text_glyphs_t *gs, char *out, size_t cap) {
    size_t o = 0;
    for (int i = 0; i < gs->n && o + gs->g[i].n_bytes < cap; i++) {
        memcpy(out + o, gs->g[i].bytes, gs->g[i].n_bytes);
        o += gs->g[i].n_bytes;
    }
    out[o] = '\0';
}

/* line i of a wrapped glyph array as text (newline glyphs as '|') */
static void line_text(const text_glyphs_t *gs, int line, char *out, size_t cap) {
    size_t o = 0;
    for (int i = text_first_on_line(gs, line); i < gs->n && gs->g[i].line == line; i++) {
        if (o + gs->g[i].n_bytes + 1 >= cap) break;
        if (gs->g[i].newline) out[o++] = '|';
        else {
            memcpy(out + o, gs->g[i].bytes, gs->g[i].n_bytes);
            o += gs->g[i].n_bytes;
        }
    }
    out[o] = '\0';
}

int main(void) {
    tap_t t = {0};
    /* widths */
    tap_ok(&t, text_width("hello", 5) == 5, "ASCII width");
    tap_ok(&t, text_width("\xe6\xbc\xa2\xe5\xad\x97", 6) == 4, "two CJK characters are 4 columns");
    tap_ok(&t, text_width("\xf0\x9f\x98\x80", 4) == 2, "an emoji is 2 columns");
    tap_ok(&t, text_width("e\xcc\x81", 3) == 1, "e + combining acute is 1 column");
    tap_ok(&t, text_width("a\xff" "b", 3) == 3, "an invalid byte counts 1 (U+FFFD)");
    tap_ok(&t, text_width("\xe6\xbc", 2) == 2, "a truncated character counts 1 per byte");
    tap_ok(&t, text_cp_width(0x07) == 1 && text_cp_width(0x4e00) == 2 && text_cp_width('x') == 1 &&
                   text_cp_width(0x301) == 0,
           "code point widths: control 1, CJK 2, ASCII 1, combining 0");
    int cols;
    size_t nb = text_fit("ab\xe6\xbc\xa2" "c", 6, 3, &cols);
    tap_ok(&t, nb == 2 && cols == 2, "fitting 3 columns stops before a wide character");
    nb = text_fit("ab\xe6\xbc\xa2" "c", 6, 4, &cols);
    tap_ok(&t, nb == 5 && cols == 4, "4 columns take it");

    /* escaping */
    char buf[256];
    text_escape("a\nb\tc\rd\\e", 9, buf, sizeof buf);
    tap_ok(&t, strcmp(buf, "a\\nb\\tc\\rd\\\\e") == 0, "escape \\n \\t \\r \\\\ (%s)", buf);
    text_escape("\x01\x1b[0m\x7f", 6, buf, sizeof buf);
    tap_ok(&t, strcmp(buf, "\\x01\\x1b[0m\\x7f") == 0, "control bytes as \\xNN (%s)", buf);
    text_escape("\xe6\xbc\xa2\xff\xc3", 5, buf, sizeof buf);
    tap_ok(&t, strcmp(buf, "\xe6\xbc\xa2\\xff\\xc3") == 0, "valid UTF-8 kept, invalid as \\xNN (%s)",
           buf);
    text_escape("\xc2\x85", 2, buf, sizeof buf);
    tap_ok(&t, strcmp(buf, "\\xc2\\x85") == 0, "a C1 control is escaped (%s)", buf);
    size_t len = text_escape("abcdef", 6, buf, 4);
    tap_ok(&t, len == 3 && strcmp(buf, "abc") == 0, "a short buffer cuts and terminates");
    len = text_escape("a\xe6\xbc\xa2", 4, buf, 4);
    tap_ok(&t, len == 1 && strcmp(buf, "a") == 0, "never half a character");

    /* decoding token bytes */
    text_glyphs_t gs = {0};
    const char *plain[] = {"Hello", " world"};
    decode(&gs, plain, 2);
    joined(&gs, buf, sizeof buf);
    tap_ok(&t, gs.n == 11 && strcmp(buf, "Hello world") == 0 && gs.g[5].tok_first == 1 &&
                   gs.g[5].space,
           "plain tokens: one glyph per character, the space marks a break");
    /* U+6F22 split over three tokens, then an emoji split in two */
    const char *split[] = {"\xe6", "\xbc", "\xa2x", "\xf0\x9f", "\x98\x80"};
    decode(&gs, split, 5);
    joined(&gs, buf, sizeof buf);
    tap_ok(&t, gs.n == 3 && strcmp(buf, "\xe6\xbc\xa2x\xf0\x9f\x98\x80") == 0,
           "characters split across tokens come out whole");
    tap_ok(&t, gs.g[0].tok_first == 0 && gs.g[0].tok_last == 2 && gs.g[0].width == 2 &&
                   gs.g[2].tok_first == 3 && gs.g[2].tok_last == 4 && gs.g[2].width == 2,
           "a split character knows every token that made it");
    /* partial token at the end: nothing shown until flushed as U+FFFD */
    text_decoder_t d;
    text_decoder_init(&d);
    text_glyphs_clear(&gs);
    text_decode_push(&d, &gs, 0, "ok\xe6\xbc", 4);
    int before = gs.n;
    text_decode_flush(&d, &gs);
    tap_ok(&t, before == 2 && gs.n == 3 && memcmp(gs.g[2].bytes, FFFD, 3) == 0,
           "an unfinished character waits, and becomes U+FFFD when flushed");
    /* invalid bytes */
    const char *bad[] = {"a\xff", "\xe6z", "\x80"};
    decode(&gs, bad, 3);
    joined(&gs, buf, sizeof buf);
    tap_ok(&t, strcmp(buf, "a\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd") == 0,
           "0xff, a lead byte without continuation, a stray continuation: U+FFFD each");
    const char *overlong[] = {"\xe0\x80\x80", "\xed\xa0\x80"};
    decode(&gs, overlong, 2);
    int all_fffd = gs.n > 0;
    for (int i = 0; i < gs.n; i++) all_fffd &= memcmp(gs.g[i].bytes, FFFD, 3) == 0;
    tap_ok(&t, all_fffd, "overlong forms and surrogates are not characters");
    const char *ctl[] = {"a\x1b[m", "\n", "b\tc"};
    decode(&gs, ctl, 3);
    tap_ok(&t, memcmp(gs.g[1].bytes, FFFD, 3) == 0 && gs.g[4].newline && gs.g[4].tok_first == 1 &&
                   gs.g[6].space,
           "ESC shows as U+FFFD, a newline token is a line break glyph, a tab a space");
    const char *comb[] = {"e", "\xcc\x81!"};
    decode(&gs, comb, 2);
    tap_ok(&t, gs.n == 2 && gs.g[0].n_bytes == 3 && gs.g[0].tok_last == 1 && gs.g[0].width == 1,
           "a combining mark joins the character before it");

    /* wrapping */
    const char *words[] = {"The", " quick", " brown", " fox", " jumps"};
    decode(&gs, words, 5);
    text_wrap_t w;
    text_wrap_init(&w, 10);
    int n_lines = text_wrap(&w, &gs);
    char l0[64], l1[64], l2[64];
    line_text(&gs, 0, l0, sizeof l0);
    line_text(&gs, 1, l1, sizeof l1);
    line_text(&gs, 2, l2, sizeof l2);
    tap_ok(&t, n_lines == 3 && strcmp(l0, "The quick ") == 0 && strcmp(l1, "brown fox ") == 0 &&
                   strcmp(l2, "jumps") == 0,
           "word wrap at 10: '%s' '%s' '%s'", l0, l1, l2);
    /* wide characters: 5 CJK (10 columns) at width 9 -> 4 + 1 */
    const char *cjk[] = {"\xe6\xbc\xa2\xe6\xbc\xa2\xe6\xbc\xa2\xe6\xbc\xa2\xe6\xbc\xa2"};
    decode(&gs, cjk, 1);
    text_wrap_init(&w, 9);
    n_lines = text_wrap(&w, &gs);
    tap_ok(&t, n_lines == 2 && gs.g[3].line == 0 && gs.g[3].col == 6 && gs.g[4].line == 1 &&
                   gs.g[4].col == 0,
           "a wide character that would cross the edge moves to the next line");
    int max_end = 0;
    for (int i = 0; i < gs.n; i++)
        if (gs.g[i].col + gs.g[i].width > max_end) max_end = gs.g[i].col + gs.g[i].width;
    tap_ok(&t, max_end <= 9, "no glyph crosses the right edge (%d)", max_end);
    /* a word longer than the line breaks anywhere */
    const char *longw[] = {"ab", " cdefghijklmn"};
    decode(&gs, longw, 2);
    text_wrap_init(&w, 5);
    n_lines = text_wrap(&w, &gs);
    line_text(&gs, 0, l0, sizeof l0);
    line_text(&gs, 1, l1, sizeof l1);
    tap_ok(&t, strcmp(l0, "ab ") == 0 && strcmp(l1, "cdefg") == 0 && n_lines == 4,
           "a long word: '%s' '%s' ... (%d lines)", l0, l1, n_lines);
    /* newlines */
    const char *nl[] = {"one\n", "\ntwo"};
    decode(&gs, nl, 2);
    text_wrap_init(&w, 20);
    n_lines = text_wrap(&w, &gs);
    line_text(&gs, 2, l2, sizeof l2);
    tap_ok(&t, n_lines == 3 && strcmp(l2, "two") == 0, "newlines start lines (blank line between)");
    tap_ok(&t, text_first_on_line(&gs, 1) == 4 && text_first_on_line(&gs, 9) == gs.n,
           "first glyph of a line, and of a line past the end");
    /* wrapping piecewise (streaming) equals wrapping at once */
    const char *stream[] = {"Lorem", " ipsum", " dolor", " sit", " amet,", " consectetur",
                            " adipiscing", " \xe6\xbc\xa2\xe5\xad\x97", " elit", "\n", "sed", " do"};
    decode(&gs, stream, 12);
    text_wrap_init(&w, 13);
    text_wrap(&w, &gs);
    text_glyphs_t gs2 = {0};
    text_decoder_t d2;
    text_decoder_init(&d2);
    text_wrap_t w2;
    text_wrap_init(&w2, 13);
    for (int i = 0; i < 12; i++) {
        text_decode_push(&d2, &gs2, i, stream[i], strlen(stream[i]));
        text_wrap(&w2, &gs2);
    }
    int same = gs.n == gs2.n;
    for (int i = 0; same && i < gs.n; i++)
        same = gs.g[i].line == gs2.g[i].line && gs.g[i].col == gs2.g[i].col;
    tap_ok(&t, same, "token-by-token wrapping matches wrapping the whole text");
    text_glyphs_free(&gs);
    text_glyphs_free(&gs2);
    return tap_done(&t);
}
