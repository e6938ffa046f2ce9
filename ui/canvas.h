/* canvas.h - the drawing API of plugins/gptscope_plugin.h on the two
 * surfaces gptscope has: a rectangle of a curses window (a plugin pane in
 * the TUI) and a grid of text cells (the REPL's /pane, and tests), so the
 * same plugin code draws on both. Text from a plugin is cleaned on the way
 * in: control characters and bytes that are not UTF-8 show as '?'. */
#ifndef GPTSCOPE_UI_CANVAS_H
#define GPTSCOPE_UI_CANVAS_H

#include <curses.h>
#include <stdio.h>

#include "gptscope_plugin.h"

/* The table every canvas is drawn through. */
const gsp_draw_api_t *canvas_api(void);

/* The canvas itself (gptscope_plugin.h keeps it opaque for plugins). */
struct gsp_canvas {
    int rows, cols;
    /* curses: the window and the rectangle's origin in it */
    WINDOW *win;
    int y0, x0;
    attr_t style[5];            /* attribute of each gsp_style_t */
    int shade_pair0, n_shades;  /* colour pairs of the shade levels; 0 = none (characters) */
    /* text: rows x cols cells of one character (up to 4 bytes; "" right of a
     * wide one) */
    char (*cells)[5];
};

/* A curses canvas over rows x cols of win from (y0, x0). style gives the
 * attribute of each style; shade_pair0 > 0: shade cells use colour pairs
 * shade_pair0 .. + n_shades - 1 (a blank cell on that background), else
 * the characters " .:-=+*#&@". */
void canvas_curses_init(gsp_canvas_t *c, WINDOW *win, int y0, int x0, int rows, int cols,
                        const attr_t style[5], int shade_pair0, int n_shades);

/* A text canvas of rows x cols blank cells. Returns 0 or -1 (out of memory). */
int canvas_text_init(gsp_canvas_t *c, int rows, int cols);
void canvas_text_free(gsp_canvas_t *c);
/* Writes the rows, trailing blanks cut, trailing blank rows dropped. */
void canvas_text_print(const gsp_canvas_t *c, FILE *out);

#endif
