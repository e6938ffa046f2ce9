/* pane_transcript.h - the conversation pane: tokens as they stream in,
 * word-wrapped, tinted by their probability, with a cursor that selects a
 * token for the attention and probability panes. Interface as in pane.h,
 * plus mouse hit-testing and scrolling for the screen manager. */
#ifndef GPTSCOPE_UI_PANE_TRANSCRIPT_H
#define GPTSCOPE_UI_PANE_TRANSCRIPT_H

#include "pane.h"

typedef struct pane_transcript pane_transcript_t;

pane_transcript_t *pane_transcript_create(pane_view_t *v);
void pane_transcript_resize(pane_transcript_t *p, layout_rect_t r);
void pane_transcript_draw(pane_transcript_t *p);
/* arrows / hjkl move the cursor, Home/End (g/G) first/last token, PgUp/PgDn
   scroll, f or Esc follows the newest token again. */
int pane_transcript_handle_key(pane_transcript_t *p, int key);
void pane_transcript_free(pane_transcript_t *p);

/* The token under screen cell (y, x), or -1. */
int pane_transcript_hit(pane_transcript_t *p, int y, int x);
/* Scrolls by lines (negative: up); returns PANE_REDRAW when it moved. */
int pane_transcript_scroll(pane_transcript_t *p, int lines);
/* WINDOW of the pane (for the final refresh order), may be NULL. */
WINDOW *pane_transcript_window(pane_transcript_t *p);

#endif
