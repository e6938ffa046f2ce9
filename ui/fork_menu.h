/* fork_menu.h - "what if the model had chosen another token here?": the
 * candidate chooser the key F opens over the panes on a generated token.
 * It lists that token's stored distribution (its sampler report), best
 * first, with the drawn candidate marked; arrows or a typed rank move the
 * cursor, Enter asks the screen manager to fork the conversation there with
 * the candidate under it (host.h: fork), Esc cancels. It draws from the
 * chat each time and keeps only the token index and the cursor. Same
 * interface as the overlay (overlay.h), the screen as its rectangle. */
#ifndef GPTSCOPE_UI_FORK_MENU_H
#define GPTSCOPE_UI_FORK_MENU_H

#include <stddef.h>

#include "pane.h"

typedef struct fork_menu fork_menu_t;

fork_menu_t *fork_menu_create(pane_view_t *v);
void fork_menu_resize(fork_menu_t *m, layout_rect_t screen);
void fork_menu_draw(fork_menu_t *m); /* nothing when not shown */
/* While shown it takes every key: PANE_CONSUMED | PANE_REDRAW, and
 * PANE_ACTION when Enter chose (fork_menu_choice says what; the menu has
 * closed). Not shown: 0. is_code: key is a curses KEY_ code. */
int fork_menu_handle_key(fork_menu_t *m, int is_code, int key);
void fork_menu_free(fork_menu_t *m);

/* Opens the chooser on token index of the chat on screen. Returns 0, or -1
 * with a one-line msg when that token was not sampled (a prompt token, a
 * token without a stored distribution). */
int fork_menu_open(fork_menu_t *m, int index, char *msg, size_t msglen);
int fork_menu_shown(const fork_menu_t *m);
/* The token and the candidate (0 = the most likely) of the last Enter. */
void fork_menu_choice(const fork_menu_t *m, int *index, int *cand);

#endif
