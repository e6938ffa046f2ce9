/* pane.c - helpers every pane uses (pane.h). */
#include "pane.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compare_view.h"
#include "text.h"

int pane_view_pos(const pane_view_t *v) {
    if (v->sel >= 0 && v->sel < v->n_visible) return v->sel;
    return v->n_visible - 1;
}

void pane_view_clamp(pane_view_t *v) {
    const gpt_config_t *cfg = &chat_model(v->chat)->cfg;
    if (v->layer < 0 || v->layer >= cfg->n_layer) v->layer = cfg->n_layer - 1;
    if (v->head >= cfg->n_head) v->head = cfg->n_head - 1;
    if (v->head < -1) v->head = -1;
}

int pane_view_may_compute(const pane_view_t *v) { return !(v->generating && v->sel < 0); }

int pane_view_compare(const pane_view_t *v, int i, double *log_ratio) {
    double r = NAN;
    if (v->cmp_self && v->cmp_other && i >= 0 && i < v->cmp_n && isfinite(v->cmp_self[i]) &&
        isfinite(v->cmp_other[i]))
        r = v->cmp_self[i] - v->cmp_other[i];
    if (log_ratio) *log_ratio = r;
    return compare_view_tint(r);
}

attr_t pane_attr(const pane_view_t *v, int pair, attr_t mono_attr) {
    return v->color ? (attr_t)COLOR_PAIR(pair) : mono_attr;
}

int pane_put(WINDOW *win, int y, int x, const char *s, int max_cols) {
    if (max_cols <= 0) return 0;
    int cols;
    size_t n = text_fit(s, strlen(s), max_cols, &cols);
    mvwaddnstr(win, y, x, s, (int)n);
    return cols;
}

int pane_put_wrapped(WINDOW *win, int y, int x, const char *s, int max_cols, int max_rows) {
    int rows = 0;
    size_t len = strlen(s);
    while (len > 0 && rows < max_rows && max_cols > 0) {
        size_t n = text_fit(s, len, max_cols, NULL);
        if (n < len) { /* break at the last space that fits, if any */
            size_t sp = n;
            while (sp > 0 && s[sp] != ' ') sp--;
            if (sp > 0) n = sp;
        }
        if (n == 0) n = 1; /* a character wider than the pane */
        mvwaddnstr(win, y + rows, x, s, (int)n);
        rows++;
        s += n;
        len -= n;
        while (len > 0 && *s == ' ') s++, len--;
    }
    return rows;
}

void pane_frame(const pane_view_t *v, WINDOW *win, const char *title, int focused) {
    werase(win);
    attr_t a = focused ? (pane_attr(v, PANE_PAIR_FOCUS, 0) | A_BOLD) : 0;
    wattron(win, a);
    box(win, 0, 0);
    int w = getmaxx(win);
    if (title && w > 6) {
        mvwaddstr(win, 0, 2, " ");
        int used = pane_put(win, 0, 3, title, w - 6);
        mvwaddstr(win, 0, 3 + used, " ");
    }
    wattroff(win, a);
}

void pane_window(WINDOW **win, layout_rect_t r) {
    if (*win) delwin(*win);
    *win = r.h > 0 && r.w > 0 ? newwin(r.h, r.w, r.y, r.x) : NULL;
}

void pane_token_label(const chat_t *c, int id, char *out, size_t cap) {
    size_t n;
    const char *b = tokenizer_token_bytes(chat_tokenizer(c), id, &n);
    char esc[96];
    text_escape(b ? b : "", b ? n : 0, esc, sizeof esc);
    snprintf(out, cap, "\"%s\"", esc);
}
