/* pane_status.h - the status bar: model, sampling settings, speed of the
 * last or current reply, context used, session id, and a short message from
 * the last command (shown for a few seconds). Interface as in pane.h; the
 * screen manager feeds it the message and the reply timing. */
#ifndef GPTSCOPE_UI_PANE_STATUS_H
#define GPTSCOPE_UI_PANE_STATUS_H

#include "pane.h"

typedef struct pane_status pane_status_t;

pane_status_t *pane_status_create(pane_view_t *v);
void pane_status_resize(pane_status_t *p, layout_rect_t r);
void pane_status_draw(pane_status_t *p);
int pane_status_handle_key(pane_status_t *p, int key); /* takes no keys */
void pane_status_free(pane_status_t *p);
WINDOW *pane_status_window(pane_status_t *p);

/* A message for a few seconds (is_error: shown as an error). */
void pane_status_message(pane_status_t *p, const char *msg, int is_error);
/* 1 while a message is showing (the manager wakes up to take it down). */
int pane_status_has_message(pane_status_t *p);
/* Speed of the reply in progress or the last one. */
void pane_status_speed(pane_status_t *p, int n_tokens, double seconds);

#endif
