/* pane_plugin.c - a plugin's pane (pane_plugin.h). */
#include "pane_plugin.h"

#include <stdio.h>
#include <stdlib.h>

#include "canvas.h"

struct pane_plugin {
    pane_view_t *v;
    WINDOW *win;
    layout_rect_t r;
};

pane_plugin_t *pane_plugin_create(pane_view_t *v) {
    pane_plugin_t *p = calloc(1, sizeof *p);
    if (p) p->v = v;
    return p;
}

void pane_plugin_free(pane_plugin_t *p) {
    if (!p) return;
    if (p->win) delwin(p->win);
    free(p);
}

WINDOW *pane_plugin_window(pane_plugin_t *p) { return p->win; }

void pane_plugin_resize(pane_plugin_t *p, layout_rect_t r) {
    p->r = r;
    pane_window(&p->win, r);
}

void pane_plugin_draw(pane_plugin_t *p) {
    const pane_view_t *v = p->v;
    const ui_host_t *h = v->host;
    if (!p->win) return;
    const char *title = NULL;
    const char *name = h->pane_name ? h->pane_name(h->user, v->plugin_pane, &title) : NULL;
    char frame[96];
    snprintf(frame, sizeof frame, "%s (/pane off)", title ? title : name ? name : "plugin");
    pane_frame(v, p->win, frame, v->focus == LAYOUT_FOCUS_PROBS);
    int rows = getmaxy(p->win) - 2, cols = getmaxx(p->win) - 2;
    if (!name || !h->pane_draw || rows < 1 || cols < 1) return;
    const attr_t style[5] = {0, pane_attr(v, PANE_PAIR_DIM, A_DIM), A_BOLD,
                             pane_attr(v, PANE_PAIR_CHOSEN, A_REVERSE),
                             pane_attr(v, PANE_PAIR_ERROR, A_BOLD)};
    gsp_canvas_t c;
    canvas_curses_init(&c, p->win, 1, 1, rows, cols, style,
                       v->color && v->shade != SHADE_MONO ? PANE_PAIR_SHADE0 : 0, SHADE_N_COLORS);
    gsp_view_t gv = {chat_n_tokens(v->chat), pane_view_pos(v), v->generating};
    char err[300] = "";
    if (h->pane_draw(h->user, v->plugin_pane, canvas_api(), &c, &gv, err, sizeof err) != 0)
        pane_put_wrapped(p->win, 1, 1, err, cols, rows);
}
