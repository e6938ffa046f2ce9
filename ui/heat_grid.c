/* heat_grid.c - the layer x head overview: one shaded cell per head of
 * every layer for the selected token, each summarising that head's
 * attention by one measure (heat.h):
 *   entropy    H = -sum w ln w over the keys, shaded as H / ln(keys): a
 *              bright cell is a head spread over everything, a dark one a
 *              head that looks at one key;
 *   max        the largest weight: how focused the head is;
 *   key        the weight on one key, counted back from the token (1 = the
 *              previous token; < > move it): previous-token heads, or the
 *              heads that read a chosen word.
 * The cursor (arrows, h j k l) is the layer and head the other views and
 * the transcript tint show. Cells are as wide as the pane allows (one
 * column at 80 x 24), and only the cached row is read: nothing is computed
 * while a reply streams beyond what generation hands over. */
#include "heat.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const grid_names[HEAT_GRID_N] = {"entropy", "max weight", "weight on key"};

/* The measure of one head, in [0, 1] for shading; *value its own figure. */
static float grid_measure(const pane_view_t *v, const heat_grid_t *g, int layer, int head, int nk,
                          float *value) {
    if (g->measure == HEAT_GRID_KEY) {
        int k = nk - 1 - g->back;
        *value = k >= 0 ? attn_cache_weight(v->attn, layer, head, k) : 0.0f;
        return k >= 0 ? *value : -1.0f;
    }
    float h = 0, mx = 0;
    for (int k = 0; k < nk; k++) {
        float w = attn_cache_weight(v->attn, layer, head, k);
        if (w > 0) h -= w * logf(w);
        if (w > mx) mx = w;
    }
    if (g->measure == HEAT_GRID_MAX) {
        *value = mx;
        return mx;
    }
    *value = h;
    return nk > 1 ? h / logf((float)nk) : 0.0f;
}

void heat_grid_draw(heat_grid_t *g, const heat_ctx_t *c, int pos) {
    pane_view_t *v = c->v;
    const chat_t *ch = v->chat;
    const gpt_config_t *cfg = &chat_model(ch)->cfg;
    char line[192], lab[40];
    if (heat_need_row(c, pos) != 0) return;
    int nk = attn_cache_row_keys(v->attn), start = attn_cache_row_start(v->attn);
    if (g->back >= nk) g->back = nk - 1;
    if (g->back < 1 && nk > 1) g->back = 1;
    heat_label(ch, pos, lab, 16);
    if (g->measure == HEAT_GRID_KEY && nk - 1 - g->back >= 0) {
        char key[40];
        heat_label(ch, start + nk - 1 - g->back, key, 12);
        snprintf(line, sizeof line, "token %d \"%s\" \xc2\xb7 weight on \"%s\" (%d back)", pos, lab,
                 key, g->back);
    } else {
        snprintf(line, sizeof line, "token %d \"%s\" \xc2\xb7 %s", pos, lab, grid_names[g->measure]);
    }
    pane_put(c->win, 1, 1, line, c->w);
    /* columns: "L12 " then n_head cells; rows: layers, the selected one kept in view */
    int lw = cfg->n_layer > 100 ? 5 : cfg->n_layer > 10 ? 4 : 3;
    int cw = (c->w - lw) / cfg->n_head;
    if (cw > 4) cw = 4;
    if (cw < 1) cw = 1;
    int heads_shown = (c->w - lw) / cw < cfg->n_head ? (c->w - lw) / cw : cfg->n_head;
    int rows = c->h - 3; /* the header, the head numbers, the footer */
    if (rows < 1 || heads_shown < 1) return;
    int first = cfg->n_layer > rows ? v->layer - rows / 2 : 0;
    if (first > cfg->n_layer - rows) first = cfg->n_layer - rows;
    if (first < 0) first = 0;
    int hfirst = v->head >= heads_shown ? v->head - heads_shown + 1 : 0;
    /* head numbers over the columns where they fit */
    for (int j = 0; j < heads_shown; j++) {
        int h = hfirst + j;
        if (cw >= 2 || h % 5 == 0) {
            snprintf(lab, sizeof lab, "%d", h);
            if ((int)strlen(lab) <= (cw >= 2 ? cw : 5) && 1 + lw + j * cw + (int)strlen(lab) <= c->w)
                pane_put(c->win, 2, 1 + lw + j * cw, lab, cw >= 2 ? cw : 5);
        }
    }
    float sel_value = 0;
    for (int r = 0; r < rows && first + r < cfg->n_layer; r++) {
        int layer = first + r, y = 3 + r;
        snprintf(lab, sizeof lab, "L%d", layer);
        attr_t a = layer == v->layer ? A_BOLD : 0;
        wattron(c->win, a);
        pane_put(c->win, y, 1, lab, lw);
        wattroff(c->win, a);
        for (int j = 0; j < heads_shown; j++) {
            int head = hfirst + j, x = 1 + lw + j * cw;
            float value, f = grid_measure(v, g, layer, head, nk, &value);
            heat_cell(c, y, x, f, cw);
            if (layer == v->layer && head == v->head) {
                sel_value = value;
                /* the cursor: a mark on the cell (its shade stays visible around it) */
                wattron(c->win, A_REVERSE | A_BOLD);
                mvwaddstr(c->win, y, x + (cw - 1) / 2, "\xe2\x97\x86");
                wattroff(c->win, A_REVERSE | A_BOLD);
            }
        }
    }
    snprintf(line, sizeof line, "L%d H%d: %s %.3f%s  \xc2\xb7 c measure%s", v->layer, v->head,
             g->measure == HEAT_GRID_ENTROPY ? "entropy (nats)" : grid_names[g->measure],
             (double)sel_value, g->measure == HEAT_GRID_KEY ? "  < > key" : "",
             cfg->n_layer > rows || heads_shown < cfg->n_head ? "  more \xe2\x86\x95" : "");
    pane_put(c->win, c->h, 1, line, c->w);
}

int heat_grid_key(heat_grid_t *g, pane_view_t *v, int key) {
    const gpt_config_t *cfg = &chat_model(v->chat)->cfg;
    if (v->head < 0) v->head = 0; /* the grid has no "mean" column */
    switch (key) {
    case KEY_UP:
    case 'k': v->layer = v->layer > 0 ? v->layer - 1 : cfg->n_layer - 1; break;
    case KEY_DOWN:
    case 'j': v->layer = v->layer < cfg->n_layer - 1 ? v->layer + 1 : 0; break;
    case KEY_LEFT:
    case 'h': v->head = v->head > 0 ? v->head - 1 : cfg->n_head - 1; break;
    case KEY_RIGHT:
    case 'l': v->head = v->head < cfg->n_head - 1 ? v->head + 1 : 0; break;
    case 'c': g->measure = (g->measure + 1) % HEAT_GRID_N; break;
    case '<': g->back++; break;
    case '>':
        if (g->back > 1) g->back--;
        break;
    default: return 0;
    }
    return 1;
}
