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

#include "chat.h"

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
} ui_host_t;

#endif
