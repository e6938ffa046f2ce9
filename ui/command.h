/* command.h - the slash commands typed at the prompt (/temp 0.7, /open 3),
 * shared by the TUI and the REPL. One descriptor table holds every command
 * with its arguments and help; /help is generated from it.
 *
 * command_run parses a line, applies settings to the host's chat, calls the
 * host for session and model actions, and hands back what only the front
 * end can do (show help, print probabilities, draw attention, quit). */
#ifndef GPTSCOPE_UI_COMMAND_H
#define GPTSCOPE_UI_COMMAND_H

#include <stddef.h>

#include "host.h"

typedef enum {
    COMMAND_DONE = 0,   /* handled; show result.msg */
    COMMAND_ERROR,      /* bad command or argument, or the action failed; show result.msg */
    COMMAND_HELP,       /* show the help (command_help_text) */
    COMMAND_QUIT,       /* leave */
    COMMAND_PROBS,      /* show the candidates of the selected / last token */
    COMMAND_ATTN,       /* show attention: result.layer, result.head (-1 = all heads' mean,
                           -2 = not given) */
    COMMAND_SESSIONS,   /* show result.text (a listing; malloc'd, caller frees) */
    COMMAND_CLEARED,    /* the transcript changed wholesale (/clear, /new, /open, /model) */
    COMMAND_PANE,       /* show plugin pane result.pane (-1: back to the probabilities) */
    COMMAND_FORKED,     /* the host forked the chat (/fork): stream the reply in progress */
    COMMAND_BRANCHES,   /* show the session's branches (host->branches) */
    COMMAND_COMPARE     /* show result.lp_self / lp_other (/compare DIR) */
} command_status_t;

typedef struct command_result {
    command_status_t status;
    char msg[512];
    char *text;         /* COMMAND_SESSIONS: the listing; COMMAND_HELP: the plugins'
                           commands (NULL if none); the caller frees it */
    int layer, head;    /* COMMAND_ATTN */
    int pane;           /* COMMAND_PANE */
    int token;          /* COMMAND_PROBS: the token index asked for, -1: selected / last */
    /* COMMAND_COMPARE: per-token log-probabilities under this model and the
     * other (host.h: compare), n_lp of each, label the other's name; the
     * caller frees lp_self and lp_other */
    double *lp_self, *lp_other;
    int n_lp;
    char label[128];
} command_result_t;

/* 1 if line is a slash command (first non-blank character '/'). */
int command_is_command(const char *line);
/* Runs one command line. Never fails silently: an unknown command or a bad
 * value gives COMMAND_ERROR with a message naming it. A name that is not
 * one of the table's goes to the host's plugin commands. */
void command_run(const ui_host_t *host, const char *line, command_result_t *res);
/* The /help text: one line per command, "  /temp X       sampling temperature ..." */
const char *command_help_text(void);
/* Names of the commands, NULL-terminated, for tab completion. */
const char *const *command_names(void);

#endif
