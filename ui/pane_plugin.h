/* pane_plugin.h - a plugin's pane in the TUI: drawn by the plugin through
 * the drawing API (canvas.h) inside a framed window, in the probability
 * pane's place while /pane NAME has it shown (pane_view_t.plugin_pane).
 * Same interface as the other panes (pane.h). */
#ifndef GPTSCOPE_UI_PANE_PLUGIN_H
#define GPTSCOPE_UI_PANE_PLUGIN_H

#include "pane.h"

typedef struct pane_plugin pane_plugin_t;

pane_plugin_t *pane_plugin_create(pane_view_t *v);
void pane_plugin_resize(pane_plugin_t *p, layout_rect_t r);
void pane_plugin_draw(pane_plugin_t *p);
void pane_plugin_free(pane_plugin_t *p);
WINDOW *pane_plugin_window(pane_plugin_t *p);

#endif
