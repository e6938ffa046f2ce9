/* heat_row.c - the selected token's attention as a list of its keys, each
 * with its shade, weight, position and text, by position (newest at the
 * bottom) or by weight (heaviest first) (heat.h). */
#include "heat.h"

#include <stdio.h>
#include <stdlib.h>

/* heaviest first; equal weights in position order */
static int hr_by_weight(const void *a, const void *b) {
    const heat_key_t *x = a, *y = b;
    if (x->w != y->w) return x->w < y->w ? 1 : -1;
    return (x->k > y->k) - (x->k < y->k);
}

void heat_row_free(heat_row_t *r) { free(r->keys); }

void heat_row_draw(heat_row_t *r, const heat_ctx_t *c, int pos) {
    pane_view_t *v = c->v;
    const chat_t *ch = v->chat;
    char line[256], label[128];
    if (heat_need_row(c, pos) != 0) return;
    int start = attn_cache_row_start(v->attn), nk = attn_cache_row_keys(v->attn);
    heat_label(ch, pos, label, 40);
    snprintf(line, sizeof line, "token %d \"%s\" over %d token%s", pos, label, nk, nk == 1 ? "" : "s");
    pane_put(c->win, 1, 1, line, c->w);
    if ((size_t)nk > r->cap) {
        heat_key_t *nb = realloc(r->keys, (size_t)nk * sizeof *nb);
        if (!nb) return;
        r->keys = nb;
        r->cap = (size_t)nk;
    }
    float wmax = 0;
    for (int k = 0; k < nk; k++) {
        r->keys[k].k = k;
        r->keys[k].w = attn_cache_weight(v->attn, v->layer, v->head, k);
        if (r->keys[k].w > wmax) wmax = r->keys[k].w;
    }
    if (r->by_weight) qsort(r->keys, (size_t)nk, sizeof(heat_key_t), hr_by_weight);
    int rows = c->h - 2; /* header and legend */
    if (rows < 1) return;
    /* by position: show the end (the newest keys) unless scrolled; by weight: the top */
    int first = r->by_weight ? 0 : nk > rows ? nk - rows : 0;
    if (r->by_weight) first += r->scroll;
    else first -= r->scroll;
    if (first > nk - rows) first = nk - rows;
    if (first < 0) first = 0;
    r->scroll = r->by_weight ? first : (nk > rows ? nk - rows : 0) - first; /* no run-off */
    for (int i = 0; i < rows && first + i < nk; i++) {
        int k = r->keys[first + i].k;
        float x = r->keys[first + i].w;
        heat_cell(c, 2 + i, 1, shade_fraction(x, wmax, v->scale), 2);
        heat_label(ch, start + k, label, sizeof label);
        snprintf(line, sizeof line, " %.3f %5d %s", (double)x, start + k, label);
        attr_t a = start + k == pos ? A_BOLD : 0;
        wattron(c->win, a);
        pane_put(c->win, 2 + i, 3, line, c->w - 2);
        wattroff(c->win, a);
    }
    char extra[48];
    snprintf(extra, sizeof extra, "%s%s", r->by_weight ? "  by weight" : "  by position",
             first > 0 && !r->by_weight ? "  \xe2\x86\x91 more" : "");
    heat_legend(c, c->h, wmax, extra);
}
