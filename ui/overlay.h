/* overlay.h - a framed text shown over the panes (the help, the /sessions
 * listing) until a key closes it; arrows and PgUp/PgDn scroll it. Same
 * interface as the panes (pane.h), the screen as its rectangle. */
#ifndef GPTSCOPE_UI_OVERLAY_H
#define GPTSCOPE_UI_OVERLAY_H

#include "pane.h"

typedef struct overlay overlay_t;

overlay_t *overlay_create(pane_view_t *v);
void overlay_resize(overlay_t *o, layout_rect_t screen);
void overlay_draw(overlay_t *o); /* nothing when not shown */
/* While shown: scroll keys scroll, any other key closes; PANE_CONSUMED |
   PANE_REDRAW. Not shown: 0. is_code: key is a curses KEY_ code. */
int overlay_handle_key(overlay_t *o, int is_code, int key);
void overlay_free(overlay_t *o);

/* Shows text (malloc'd; the overlay frees it) under title (a literal). */
void overlay_show(overlay_t *o, const char *title, char *text);
int overlay_shown(const overlay_t *o);

#endif
