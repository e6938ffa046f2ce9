/* session.h - one interactive session as `chat`, `repl` and `replay` run it:
 * the model, the conversation (core/decode/chat.h), and its record in the session
 * store (store.h), joined by the chat recorder so that every turn and token
 * is stored as it happens. It also implements the ui_host_t the front ends
 * call for /new, /open, /sessions, /export, /model and settings changes.
 *
 * A session row is created lazily at the first turn, so starting and quitting
 * without typing leaves nothing behind. */
#ifndef GPTSCOPE_APP_SESSION_H
#define GPTSCOPE_APP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "cli.h"
#include "host.h"
#include "plugin_host.h"
#include "store.h"
#include "task_infer.h"
#include "task_info.h"

typedef struct app_session {
    cli_model_t cm;
    char checksum[32];        /* of the model (app_model_checksum) */
    chat_t *chat;
    store_t *store;           /* NULL: nothing is stored (--no-save) */
    int64_t session_id;       /* 0 until the first turn is stored */
    int branch;               /* the stored branch on screen (store.h: sessions are trees) */
    int store_failed;         /* a write failed (a full disk): the rest of this session is not
                                 stored, so the store never holds a conversation with holes */
    int64_t *turn_ids;        /* store turn id of each chat turn */
    int cap_turn_ids;
    int n_threads;
    ui_host_t host;           /* callbacks on this session */
    char notice[640];         /* for the user, taken by host.take_notice */
    /* the model's classify head, when it has one (the ui's class pane) */
    int has_cls;
    task_info_t cls_info;
    task_infer_t cls;
    plugin_host_t plugins;    /* loaded by app_session_open */
    int capture;              /* CHAT_CAPTURE_* the chat was made with */
} app_session_t;

/* Opens the model (cli_model_open: -m, $GPTSCOPE_MODEL or the bundled one),
 * loads the plugins (po may be NULL: discovery only), makes the chat with
 * settings (settings->sampler names a plugin sampler, or ""), and opens the
 * store at db_path (NULL: no store). Prints the error ("gptscope: ...") and
 * returns -1 on failure. */
int app_session_open(app_session_t *s, const char *model_dir, const chat_settings_t *settings,
                     const char *db_path, int n_threads, int capture_attn,
                     const plugin_opts_t *po);
void app_session_close(app_session_t *s);

/* Continues stored session id: its turns are restored into the chat (with
 * their reports and timings) and new turns are added to it. *note gets a
 * warning when it was stored with a different model (checksum), else "".
 * Returns 0 or -1 with err. */
int app_session_load(app_session_t *s, int64_t id, char *note, size_t notelen, char *err,
                     size_t errlen);
/* The same on branch (-1: the one last continued), which becomes the one
 * new turns continue. */
int app_session_load_branch(app_session_t *s, int64_t id, int branch, char *note, size_t notelen,
                            char *err, size_t errlen);

/* A checksum of a model directory: 64-bit FNV-1a over config.json, the size
 * of model.safetensors, its header and 4 KiB samples every 4 MiB (enough to
 * tell different weights apart without reading 500 MB at start-up), as 16
 * hex digits. Returns 0 or -1 with err. */
int app_model_checksum(const char *dir, char out[32], char *err, size_t errlen);

/* $XDG_DATA_HOME/gptscope/FILE (or ~/.local/share/gptscope/FILE). */
int app_data_path(const char *file, char *buf, size_t len);

#endif
