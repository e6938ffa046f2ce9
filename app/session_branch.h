/* session_branch.h - branching in chat and repl: the ui_host_t callbacks
 * for /fork, /branches (and the TUI's tree pane) and /branch on an
 * app_session_t, and the one conversion from the store's branch record to
 * the ui's (`gptscope sessions tree` lists branches the same way). */
#ifndef GPTSCOPE_APP_SESSION_BRANCH_H
#define GPTSCOPE_APP_SESSION_BRANCH_H

#include <stddef.h>

#include "branch_list.h"
#include "store.h"

/* ui_host_t.fork / .branches / .switch_branch (host.h); user is the
 * app_session_t. */
int app_session_fork(void *user, int index, int cand, char *msg, size_t msglen);
int app_session_branches(void *user, ui_branch_t *out, int cap, char *msg, size_t msglen);
int app_session_switch_branch(void *user, int branch, char *msg, size_t msglen);

/* b as the ui lists it (texts escaped; current: the one on screen). */
void app_branch_to_ui(const store_branch_t *b, int current, ui_branch_t *out);
/* All of session's branches in tree order, malloc'd into *out (free()). */
int app_branches_load(store_t *st, int64_t session, int current, ui_branch_t **out, int *n,
                      char *err, size_t errlen);

#endif
