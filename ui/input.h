/* input.h - the prompt line of the terminal UI: GNU readline driven through
 * its callback interface inside curses. Keys read by the screen manager are
 * fed in as bytes (function keys as the escape sequences readline binds);
 * readline edits, searches history (Ctrl-R), completes slash commands, and
 * this module draws its line buffer into a curses window.
 *
 * Readline is one per process (its state is global), so there is at most
 * one input_t at a time.
 *
 * Beyond readline's own keys: a trailing backslash continues the input on a
 * new line, Alt-Enter inserts a newline, bracketed paste inserts pasted text
 * (newlines included) without submitting it. History is read from and
 * appended to history_path, one entry per submitted line. */
#ifndef GPTSCOPE_UI_INPUT_H
#define GPTSCOPE_UI_INPUT_H

#include <stddef.h>

#include "pane.h"

typedef struct input input_t;

/* NULL with err when another input_t exists or memory runs out. */
input_t *input_create(pane_view_t *v, const char *history_path, char *err, size_t errlen);
void input_resize(input_t *in, layout_rect_t r);
/* Draws the prompt and line; with focus, leaves the window's cursor at the
 * editing point (refresh the input window last). */
void input_draw(input_t *in);
/* Feeds n bytes to readline. Returns PANE_CONSUMED | PANE_REDRAW. */
int input_feed(input_t *in, const char *bytes, size_t n);
/* Feeds a curses key code (KEY_LEFT, KEY_BACKSPACE, ...): PANE_CONSUMED |
 * PANE_REDRAW, or 0 when the key means nothing to the line. */
int input_handle_key(input_t *in, int key);
void input_free(input_t *in); /* NULL is a no-op; writes nothing more */

/* The line submitted by the last feed (malloc'd, caller frees), or NULL.
 * *eof is set when Ctrl-D was pressed on an empty line. */
char *input_take_line(input_t *in, int *eof);
int input_is_empty(const input_t *in);
/* Text of the line being edited (valid until the next feed). */
const char *input_text(const input_t *in);
/* Forgets the line being edited (Ctrl-C). */
void input_clear(input_t *in);
/* Screen lines the input needs at this width (>= 1). */
int input_wanted_lines(const input_t *in, int width);
/* A note readline wants shown (completion candidates): copied to out and
 * cleared, returns 1; 0 when there is none. */
int input_take_note(input_t *in, char *out, size_t cap);
WINDOW *input_window(input_t *in);

#endif
