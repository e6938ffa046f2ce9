/* pane_heatmap.h - the attention pane: for the selected token, its causal
 * attention over every earlier token it sees (one layer, one head or the
 * mean of the heads), the whole sequence's lower-triangular matrix, or all
 * heads of the layer at once (heat.h has the views). Interface as in pane.h. */
#ifndef GPTSCOPE_UI_PANE_HEATMAP_H
#define GPTSCOPE_UI_PANE_HEATMAP_H

#include "pane.h"

typedef struct pane_heatmap pane_heatmap_t;

pane_heatmap_t *pane_heatmap_create(pane_view_t *v);
void pane_heatmap_resize(pane_heatmap_t *p, layout_rect_t r);
void pane_heatmap_draw(pane_heatmap_t *p);
/* [ ] layer, { } head, a mean of heads, m row/matrix view, H row/heads
   view, p max/mean pooling, n linear/row/log scale, s sort by
   position/weight, arrows/jk scroll the row list (pick the head in the
   heads view), + - zoom and < > move the keys in the matrix. All but the
   last three groups work from any pane (the screen manager passes them on). */
int pane_heatmap_handle_key(pane_heatmap_t *p, int key);
void pane_heatmap_free(pane_heatmap_t *p);
WINDOW *pane_heatmap_window(pane_heatmap_t *p);

#endif
