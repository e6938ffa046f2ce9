/* canvas.c - the plugin drawing API on curses and on text (canvas.h). */
#include "canvas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "text.h"

static const char canvas_ramp[] = " .:-=+*#&@";

/* One character of s[0..n) at s: its bytes are copied to out (a clean
 * replacement '?' for control characters and invalid bytes); returns the
 * bytes consumed (>= 1) and its width in *w (0..2). */
static size_t canvas_next(const char *s, size_t n, char out[5], int *w) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &cp);
    if (k <= 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
        out[0] = '?';
        out[1] = 0;
        *w = 1;
        return k > 0 ? (size_t)k : 1;
    }
    memcpy(out, s, (size_t)k);
    out[k] = 0;
    *w = text_cp_width(cp);
    return (size_t)k;
}

static int canvas_width(gsp_canvas_t *c) { return c ? c->cols : 0; }
static int canvas_height(gsp_canvas_t *c) { return c ? c->rows : 0; }

static int canvas_text(gsp_canvas_t *c, int row, int col, const char *s, gsp_style_t style) {
    if (!c || !s || row < 0 || row >= c->rows || col < 0 || col >= c->cols) return 0;
    if ((unsigned)style > GSP_STYLE_ERROR) style = GSP_STYLE_NORMAL;
    size_t n = strlen(s), off = 0;
    int x = col;
    if (c->win) wattron(c->win, c->style[style]);
    while (off < n) {
        char ch[5];
        int w;
        off += canvas_next(s + off, n - off, ch, &w);
        if (w == 0) continue; /* combining marks: the cell grid has no room for them */
        if (x + w > c->cols) break;
        if (c->win) {
            mvwaddstr(c->win, c->y0 + row, c->x0 + x, ch);
        } else {
            char (*cell)[5] = c->cells + (size_t)row * c->cols + x;
            memcpy(cell[0], ch, sizeof ch);
            if (w == 2) cell[1][0] = 0;
        }
        x += w;
    }
    if (c->win) wattroff(c->win, c->style[style]);
    return x - col;
}

static void canvas_shade(gsp_canvas_t *c, int row, int col, float level) {
    if (!c || row < 0 || row >= c->rows || col < 0 || col >= c->cols) return;
    if (!(level >= 0.0f)) level = 0.0f; /* NaN too */
    if (level > 1.0f) level = 1.0f;
    if (c->win && c->shade_pair0 > 0 && c->n_shades > 0) {
        int k = (int)lroundf(level * (float)(c->n_shades - 1));
        wattron(c->win, COLOR_PAIR(c->shade_pair0 + k));
        mvwaddch(c->win, c->y0 + row, c->x0 + col, ' ');
        wattroff(c->win, COLOR_PAIR(c->shade_pair0 + k));
        return;
    }
    int k = (int)lroundf(level * (float)(sizeof canvas_ramp - 2));
    char ch[2] = {canvas_ramp[k], 0};
    if (c->win) mvwaddstr(c->win, c->y0 + row, c->x0 + col, ch);
    else memcpy(c->cells[(size_t)row * c->cols + col], ch, 2);
}

const gsp_draw_api_t *canvas_api(void) {
    static const gsp_draw_api_t api = {canvas_width, canvas_height, canvas_text, canvas_shade};
    return &api;
}

void canvas_curses_init(gsp_canvas_t *c, WINDOW *win, int y0, int x0, int rows, int cols,
                        const attr_t style[5], int shade_pair0, int n_shades) {
    memset(c, 0, sizeof *c);
    c->win = win;
    c->y0 = y0;
    c->x0 = x0;
    c->rows = rows > 0 ? rows : 0;
    c->cols = cols > 0 ? cols : 0;
    memcpy(c->style, style, sizeof c->style);
    c->shade_pair0 = shade_pair0;
    c->n_shades = n_shades;
}

int canvas_text_init(gsp_canvas_t *c, int rows, int cols) {
    memset(c, 0, sizeof *c);
    if (rows <= 0 || cols <= 0) return 0;
    c->cells = malloc((size_t)rows * (size_t)cols * sizeof *c->cells);
    if (!c->cells) return -1;
    c->rows = rows;
    c->cols = cols;
    for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++) memcpy(c->cells[i], " ", 2);
    return 0;
}

void canvas_text_free(gsp_canvas_t *c) {
    free(c->cells);
    c->cells = NULL;
}

void canvas_text_print(const gsp_canvas_t *c, FILE *out) {
    int last = c->rows - 1;
    while (last >= 0) { /* trailing blank rows */
        int blank = 1;
        for (int x = 0; blank && x < c->cols; x++)
            blank = strcmp(c->cells[(size_t)last * c->cols + x], " ") == 0;
        if (!blank) break;
        last--;
    }
    for (int y = 0; y <= last; y++) {
        int end = c->cols;
        while (end > 0 && strcmp(c->cells[(size_t)y * c->cols + end - 1], " ") == 0) end--;
        for (int x = 0; x < end; x++) fputs(c->cells[(size_t)y * c->cols + x], out);
        fputc('\n', out);
    }
}
