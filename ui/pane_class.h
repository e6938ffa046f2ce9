/* pane_class.h - the class pane: for a model with a classification head
 * (made by `gptscope finetune --task classify`), the probability of each
 * class for the text in the input line, recomputed as the user types (the
 * head on the final hidden state at the extract token, through the host's
 * classify callback). Hidden for every other model. Interface as in pane.h. */
#ifndef GPTSCOPE_UI_PANE_CLASS_H
#define GPTSCOPE_UI_PANE_CLASS_H

#include "pane.h"

typedef struct pane_class pane_class_t;

pane_class_t *pane_class_create(pane_view_t *v);
/* Rows the pane wants (frame included) for n_labels classes; 0 for none. */
int pane_class_rows(int n_labels);
void pane_class_resize(pane_class_t *p, layout_rect_t r);
/* Classifies text when it differs from the last one classified (or the
 * model changed: labels is compared too); 1 if the pane must be redrawn. */
int pane_class_update(pane_class_t *p, const char *text);
void pane_class_draw(pane_class_t *p);
void pane_class_free(pane_class_t *p);
WINDOW *pane_class_window(pane_class_t *p);

#endif
