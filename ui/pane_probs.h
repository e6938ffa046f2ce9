/* pane_probs.h - the probability pane: for the selected generated token,
 * the top candidates before (raw) and after temperature / top-k / top-p /
 * min-p, where the filters cut, which one was drawn, and the entropies.
 * Everything comes from the token's sampler report (core/decode/sampler.h).
 * After /compare (tint PANE_TINT_COMPARE) its first lines give the token's
 * probability under both models, their log-ratio and each model's sum of
 * ln p. Interface as in pane.h. */
#ifndef GPTSCOPE_UI_PANE_PROBS_H
#define GPTSCOPE_UI_PANE_PROBS_H

#include "pane.h"

typedef struct pane_probs pane_probs_t;

pane_probs_t *pane_probs_create(pane_view_t *v);
void pane_probs_resize(pane_probs_t *p, layout_rect_t r);
void pane_probs_draw(pane_probs_t *p);
/* arrows / jk scroll the candidate list */
int pane_probs_handle_key(pane_probs_t *p, int key);
void pane_probs_free(pane_probs_t *p);
WINDOW *pane_probs_window(pane_probs_t *p);

#endif
