/* tui.h - the ncurses front end: transcript with live streaming, input line
 * with readline editing, attention heatmap pane, probability pane, status
 * bar, help overlay. The app builds a ui_host_t (host.h) and calls tui_run;
 * it returns when the user quits.
 *
 * Replay: with opts.replay set, the host's chat already holds the whole
 * stored conversation (chat_restore_turn); the TUI reveals its tokens at
 * their recorded pace (chat_token_t.t_ms, divided by replay_speed), and the
 * input line continues the session once the replay has finished. */
#ifndef GPTSCOPE_UI_TUI_H
#define GPTSCOPE_UI_TUI_H

#include <stddef.h>

#include "host.h"

typedef struct tui_options {
    const char *history_path;  /* readline history file (NULL: none) */
    int n_threads;             /* for the attention probe */
    int no_color;              /* 1: monochrome (NO_COLOR set, or --no-color) */
    int mouse;                 /* 1: ask the terminal for mouse events */
    int replay;                /* 1: replay the host's chat */
    double replay_speed;       /* > 0; 1 = recorded pace; very large = at once */
    int attn_available;        /* 0: the attention pane shows attn_note instead */
    const char *attn_note;     /* why attention cannot be shown (replay, other model) */
} tui_options_t;

void tui_options_default(tui_options_t *o);

/* Runs until the user quits. Returns 0, or -1 with err (the terminal could
 * not be set up, e.g. not a terminal). */
int tui_run(const ui_host_t *host, const tui_options_t *opts, char *err, size_t errlen);

#endif
