/* host.h - what a front end (the TUI, the REPL) asks of the program that
 * hosts it. Data flows app -> ui -> core: the ui cannot reach the session
 * store or load models itself, so the app hands it this table of callbacks.
 * The current chat can change under the ui (after /open, /new, /model), so
 * the ui asks for it each time instead of keeping the pointer.
 *
 * Callbacks return 0 with a short confirmation in msg, or -1 with a one-line
 * error in msg; the ui shows either. Any callback may be NULL (the command
 * then says it is not available here). */
#ifndef GPTSCOPE_UI_HOST_H
#define GPTSCOPE_UI_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "branch_list.h"
#include "chat.h"
#include "gptscope_plugin.h"

typedef struct ui_host {
    void *user;
    chat_t *(*chat)(void *user);               /* the conversation on screen */
    const char *(*model_name)(void *user);     /* for the status bar */
    int64_t (*session_id)(void *user);         /* 0 when not stored */
    /* the settings of the current chat changed (store them) */
    int (*settings_changed)(void *user, char *msg, size_t msglen);
    int (*new_session)(void *user, char *msg, size_t msglen);               /* /new */
    int (*open_session)(void *user, int64_t id, char *msg, size_t msglen);  /* /open ID */
    /* /sessions: *text (malloc'd) gets a listing, one session per line */
    int (*list_sessions)(void *user, char **text, char *msg, size_t msglen);
    /* /export [PATH]: Markdown of the current session (PATH NULL: a default name) */
    int (*export_session)(void *user, const char *path, char *msg, size_t msglen);
    int (*set_model)(void *user, const char *dir, char *msg, size_t msglen); /* /model DIR */
    /* something happened behind the ui's back that the user must hear of
     * (the stored session was deleted by another process, say): 1 with the
     * text in msg, once; 0 when there is nothing. Asked after each reply. */
    int (*take_notice)(void *user, char *msg, size_t msglen);
    /* A fine-tuned classifier (a model with a classify head): its class
     * names into *labels, returning how many (0: the model has none, and
     * the class pane stays hidden). Asked on every layout. */
    int (*class_labels)(void *user, const char *const **labels);
    /* The class probabilities [class_labels()] of text (len bytes) by the
     * model's head. Returns the best class, or -1 with msg. */
    int (*classify)(void *user, const char *text, size_t len, float *probs, char *msg,
                    size_t msglen);

    /* Plugins (the app loads them; plugins/gptscope_plugin.h).
     * /sampler SPEC: "NAME key=value ..." or "default"; SPEC NULL: msg gets
     * the sampler in use and the list of plugin samplers. */
    int (*set_sampler)(void *user, const char *spec, char *msg, size_t msglen);
    /* /NAME ARGS when NAME is a plugin's command: 1 done, -1 it failed
     * (msg says why either way), 0 no plugin has it. */
    int (*plugin_command)(void *user, const char *name, const char *args, char *msg,
                          size_t msglen);
    /* The plugins' lines for /help (malloc'd). */
    char *(*plugin_help)(void *user);
    /* Plugin panes: how many, pane i's name (and *title), and drawing it
     * through the drawing API onto a canvas (0, or -1 with msg). */
    int (*n_panes)(void *user);
    const char *(*pane_name)(void *user, int i, const char **title);
    int (*pane_draw)(void *user, int i, const gsp_draw_api_t *d, gsp_canvas_t *c,
                     const gsp_view_t *v, char *msg, size_t msglen);
    /* 1 while a full-screen front end owns the terminal (plugins' log lines
     * then wait for take_notice instead of going to stderr). */
    void (*screen)(void *user, int on);
    /* Branching (a session is a tree of turns; app/store.h keeps it).
     * /fork: forks the conversation at token index with candidate cand of
     * its stored distribution (0 = the most likely; chat_fork) and leaves a
     * reply running from there, which the front end streams as it does any
     * reply (chat_reply_step .. chat_reply_end); the store keeps both. */
    int (*fork)(void *user, int index, int cand, char *msg, size_t msglen);
    /* The session's branches in tree order (branch_list_order), at most
     * cap of them into out, the one on screen marked current. Returns how
     * many there are (>= 1 once anything is stored; 0 before), or -1. */
    int (*branches)(void *user, ui_branch_t *out, int cap, char *msg, size_t msglen);
    /* /branch B: shows branch B instead (the chat is rebuilt from the store
     * and new turns continue it). */
    int (*switch_branch)(void *user, int branch, char *msg, size_t msglen);
    /* /compare DIR: the log-probability of every token of the conversation
     * under this model (*lp_self) and under the model in DIR (*lp_other),
     * both malloc'd [*n = chat_n_tokens]; entry i is ln p(token i | tokens
     * before it), NAN for token 0 and for tokens no window reached. The
     * models must share a tokenizer. label gets DIR's model name. */
    int (*compare)(void *user, const char *dir, double **lp_self, double **lp_other, int *n,
                   char *label, size_t labellen, char *msg, size_t msglen);
} ui_host_t;

#endif
