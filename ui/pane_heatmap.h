/* pane_heatmap.h - the attention pane: for the selected token, its causal
 * attention over every earlier token it sees (one layer, one head or the
 * mean of the heads), or the whole sequence's lower-triangular matrix.
 * Rows come from generation itself for the newest token while streaming
 * (gen_attn) and from an attention probe (core/attn_probe.h) otherwise,
 * cached. Interface as in pane.h. */
#ifndef GPTSCOPE_UI_PANE_HEATMAP_H
#define GPTSCOPE_UI_PANE_HEATMAP_H

#include "pane.h"

typedef struct pane_heatmap pane_heatmap_t;

pane_heatmap_t *pane_heatmap_create(pane_view_t *v);
void pane_heatmap_resize(pane_heatmap_t *p, layout_rect_t r);
void pane_heatmap_draw(pane_heatmap_t *p);
/* [ ] layer, { } head, a mean of heads, m row/matrix view, p max/mean
   pooling, s sort by position/weight, arrows/jk scroll the row list. The
   first five work from any pane (the screen manager passes them on). */
int pane_heatmap_handle_key(pane_heatmap_t *p, int key);
void pane_heatmap_free(pane_heatmap_t *p);
WINDOW *pane_heatmap_window(pane_heatmap_t *p);

#endif
