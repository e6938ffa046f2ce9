/* pane_tree.h - the branch tree pane: a forked session's branches (host.h:
 * branches), one line each in tree order, indented under the branch each
 * was forked from, with where it forked (token index and rank), its first
 * own token and the parent's token there, its sum of log-probabilities and
 * its length; the branch on screen is marked '*', and a cursor picks one to
 * show. The screen manager shows it under the transcript (key b, /branches)
 * and asks it to refresh after anything that changes the tree (a fork, a
 * switch, the end of a reply): the list comes from the store, so it is the
 * one thing the pane keeps. Interface as in pane.h. */
#ifndef GPTSCOPE_UI_PANE_TREE_H
#define GPTSCOPE_UI_PANE_TREE_H

#include "pane.h"

typedef struct pane_tree pane_tree_t;

pane_tree_t *pane_tree_create(pane_view_t *v);
void pane_tree_resize(pane_tree_t *p, layout_rect_t r);
void pane_tree_draw(pane_tree_t *p);
/* arrows / j k / Home End / g G move the cursor; Enter returns
 * PANE_CONSUMED | PANE_REDRAW | PANE_ACTION: show pane_tree_cursor(). */
int pane_tree_handle_key(pane_tree_t *p, int key);
void pane_tree_free(pane_tree_t *p);
WINDOW *pane_tree_window(pane_tree_t *p);

/* Asks the host for the branches again; the cursor goes to the current
 * one. Returns how many (0: nothing stored yet), or -1 with msg. */
int pane_tree_refresh(pane_tree_t *p, char *msg, size_t msglen);
/* Rows the pane wants out of avail (the transcript column's height):
 * its frame, a header and a line per branch, at most two fifths of avail. */
int pane_tree_rows(const pane_tree_t *p, int avail);
/* The branch id under the cursor, or -1 when the list is empty. */
int pane_tree_cursor(const pane_tree_t *p);
/* The branch step places from the current one in tree order (-1 before,
 * 1 after, 0 the current one itself), or -1 when there is none. */
int pane_tree_neighbour(const pane_tree_t *p, int step);
/* A click at screen cell (y, x): the cursor goes to that line. Returns
 * PANE_REDRAW when it was on one, 0 otherwise. */
int pane_tree_hit(pane_tree_t *p, int y, int x);

#endif
