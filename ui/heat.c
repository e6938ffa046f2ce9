/* heat.c - drawing shared by the attention views (heat.h). */
#include "heat.h"

#include <stdio.h>
#include <string.h>

#include "text.h"

void heat_cell(const heat_ctx_t *c, int y, int x, float f, int cols) {
    const pane_view_t *v = c->v;
    if (f < 0) return;
    if (v->shade != SHADE_MONO && v->color) {
        int l = shade_level(f, 1.0f, SHADE_N_COLORS);
        wattron(c->win, COLOR_PAIR(PANE_PAIR_SHADE0 + l));
        for (int i = 0; i < cols; i++) mvwaddch(c->win, y, x + i, ' ');
        wattroff(c->win, COLOR_PAIR(PANE_PAIR_SHADE0 + l));
    } else {
        const char *b = shade_block(shade_level(f, 1.0f, SHADE_N_BLOCKS));
        for (int i = 0; i < cols; i++) mvwaddstr(c->win, y, x + i, b);
    }
}

void heat_legend(const heat_ctx_t *c, int y, float wmax, const char *extra) {
    const pane_view_t *v = c->v;
    char text[128];
    const char *scale = v->scale == SHADE_SCALE_LOG ? " log" : v->scale == SHADE_SCALE_ROW ? " row" : "";
    if (v->shade != SHADE_MONO && v->color) {
        mvwaddstr(c->win, y, 1, "0 ");
        for (int l = 0; l < SHADE_N_COLORS && 3 + l < c->w; l++)
            heat_cell(c, y, 3 + l, (float)l / (SHADE_N_COLORS - 1), 1);
        snprintf(text, sizeof text, " %.3f%s%s", (double)wmax, scale, extra);
        pane_put(c->win, y, 3 + SHADE_N_COLORS, text, c->w - 2 - SHADE_N_COLORS);
    } else {
        char lg[64];
        shade_legend(wmax, lg, sizeof lg);
        snprintf(text, sizeof text, "%s%s%s", lg, scale, extra);
        pane_put(c->win, y, 1, text, c->w);
    }
}

void heat_label(const chat_t *ch, int tok, char *out, size_t cap) {
    size_t n;
    const char *b = chat_token_bytes(ch, tok, &n);
    text_escape(b ? b : "", b ? n : 0, out, cap);
}

int heat_need_row(const heat_ctx_t *c, int pos) {
    const pane_view_t *v = c->v;
    int rc = attn_cache_row(v->attn, v->chat, v->epoch, pos, pane_view_may_compute(v), v->opts->n_threads);
    if (rc == 0) return 0;
    pane_put(c->win, 1, 1, rc > 0 ? "(shown when the reply ends)" : attn_cache_error(v->attn), c->w);
    return -1;
}
