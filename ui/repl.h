/* repl.h - the plain line-oriented front end (`gptscope repl`): the same
 * engine and slash commands as the TUI, replies streamed to stdout, GNU
 * readline for editing and history when stdin is a terminal, plain line
 * reading when it is not (scripts, pipes). /probs prints the candidate table
 * of the last generated token, /attn [layer] [head] a text heatmap of its
 * attention. A trailing backslash continues a prompt on the next line. */
#ifndef GPTSCOPE_UI_REPL_H
#define GPTSCOPE_UI_REPL_H

#include <stddef.h>

#include "host.h"

typedef struct repl_options {
    const char *history_path; /* NULL: no history file */
    int n_threads;            /* for the attention probe */
    int quiet;                /* 1: no banner or per-reply statistics */
} repl_options_t;

/* Runs until end of input or /quit. Returns 0, 1 when a non-interactive run
 * hit an error (a bad command, a model error: scripts can tell), or -1 with
 * err when it could not start. */
int repl_run(const ui_host_t *host, const repl_options_t *opts, char *err, size_t errlen);

#endif
