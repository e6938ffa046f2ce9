/* pane_heatmap.c - the attention pane: a frame naming layer and head, one
 * of four views of the attention (heat.h), and their keys
 * (pane_heatmap.h). The attention itself comes from the view's shared
 * cache (attn_cache.h), which the transcript tint reads too. */
#include "pane_heatmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heat.h"

struct pane_heatmap {
    pane_view_t *v;
    WINDOW *win;
    layout_rect_t r;
    heat_row_t row;
    heat_matrix_t matrix;
    heat_heads_t heads;
    heat_grid_t grid;
};

pane_heatmap_t *pane_heatmap_create(pane_view_t *v) {
    pane_heatmap_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->v = v;
    return p;
}

void pane_heatmap_free(pane_heatmap_t *p) {
    if (!p) return;
    if (p->win) delwin(p->win);
    heat_row_free(&p->row);
    heat_matrix_free(&p->matrix);
    heat_heads_free(&p->heads);
    free(p);
}

WINDOW *pane_heatmap_window(pane_heatmap_t *p) { return p->win; }

void pane_heatmap_resize(pane_heatmap_t *p, layout_rect_t r) {
    p->r = r;
    pane_window(&p->win, r);
}

static const char *const hm_view_names[PANE_ATTN_N_VIEWS] = {"Attention", "Matrix", "Heads",
                                                              "Overview"};

void pane_heatmap_draw(pane_heatmap_t *p) {
    if (!p->win) return;
    pane_view_t *v = p->v;
    char title[128];
    heat_ctx_t c = {v, p->win, p->r.w - 2, p->r.h - 2};
    if (!v->opts->attn_available) {
        pane_frame(v, p->win, "Attention", v->focus == LAYOUT_FOCUS_ATTN);
        pane_put_wrapped(p->win, 1, 1, v->opts->attn_note ? v->opts->attn_note : "attention not available",
                         c.w, c.h);
        return;
    }
    pane_view_clamp(v);
    const gpt_config_t *cfg = &chat_model(v->chat)->cfg;
    char hs[32];
    if (v->head >= 0) snprintf(hs, sizeof hs, "head %d/%d", v->head, cfg->n_head);
    else snprintf(hs, sizeof hs, "head mean");
    snprintf(title, sizeof title, "%s \xc2\xb7 layer %d/%d \xc2\xb7 %s", hm_view_names[v->attn_view],
             v->layer, cfg->n_layer, hs);
    pane_frame(v, p->win, title, v->focus == LAYOUT_FOCUS_ATTN);
    int pos = pane_view_pos(v);
    if (pos < 0) {
        pane_put(p->win, 1, 1, "(no tokens yet)", c.w);
        return;
    }
    switch (v->attn_view) {
    case PANE_ATTN_MATRIX: heat_matrix_draw(&p->matrix, &c, pos); break;
    case PANE_ATTN_HEADS: heat_heads_draw(&p->heads, &c, pos); break;
    case PANE_ATTN_GRID: heat_grid_draw(&p->grid, &c, pos); break;
    default: heat_row_draw(&p->row, &c, pos); break;
    }
}

int pane_heatmap_handle_key(pane_heatmap_t *p, int key) {
    pane_view_t *v = p->v;
    const gpt_config_t *cfg = &chat_model(v->chat)->cfg;
    if (v->attn_view == PANE_ATTN_MATRIX && heat_matrix_key(&p->matrix, key))
        return PANE_CONSUMED | PANE_REDRAW;
    if (v->attn_view == PANE_ATTN_GRID && heat_grid_key(&p->grid, v, key))
        return PANE_CONSUMED | PANE_REDRAW;
    heat_row_t *r = &p->row;
    switch (key) {
    case '[': v->layer = (v->layer + cfg->n_layer - 1) % cfg->n_layer; break;
    case ']': v->layer = (v->layer + 1) % cfg->n_layer; break;
    case '{': v->head = v->head <= 0 ? cfg->n_head - 1 : v->head - 1; break;
    case '}': v->head = v->head < 0 || v->head >= cfg->n_head - 1 ? 0 : v->head + 1; break;
    case 'a': v->head = v->head < 0 ? 0 : -1; break;
    case 'm': v->attn_view = v->attn_view == PANE_ATTN_MATRIX ? PANE_ATTN_ROW : PANE_ATTN_MATRIX; break;
    case 'H': v->attn_view = v->attn_view == PANE_ATTN_HEADS ? PANE_ATTN_ROW : PANE_ATTN_HEADS; break;
    case 'o':
        v->attn_view = v->attn_view == PANE_ATTN_GRID ? PANE_ATTN_ROW : PANE_ATTN_GRID;
        if (v->head < 0) v->head = 0;
        break;
    case 'p': v->pool = v->pool == SHADE_POOL_MAX ? SHADE_POOL_MEAN : SHADE_POOL_MAX; break;
    case 'n': v->scale = (shade_scale_t)((v->scale + 1) % SHADE_N_SCALES); break;
    case 's':
        r->by_weight = !r->by_weight;
        r->scroll = 0;
        break;
    case KEY_UP:
    case 'k':
        if (v->attn_view == PANE_ATTN_HEADS) v->head = v->head < 0 ? cfg->n_head - 1 : v->head - 1;
        else r->scroll += r->by_weight ? -1 : 1;
        break;
    case KEY_DOWN:
    case 'j':
        if (v->attn_view == PANE_ATTN_HEADS) v->head = v->head >= cfg->n_head - 1 ? -1 : v->head + 1;
        else r->scroll += r->by_weight ? 1 : -1;
        break;
    default: return 0;
    }
    if (r->scroll < 0) r->scroll = 0;
    return PANE_CONSUMED | PANE_REDRAW;
}
