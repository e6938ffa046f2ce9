/* term.h - the terminal under the TUI, set up and given back as a pair:
 * the character locale, the curses screen (with 24-bit colour when the
 * terminal has it), raw keys, the panes' colour pairs, mouse reports,
 * bracketed paste, and the signals. SIGINT only sets a flag (it stops a
 * reply, never the program); SIGTERM and SIGHUP ask the UI to end. */
#ifndef GPTSCOPE_UI_TERM_H
#define GPTSCOPE_UI_TERM_H

#include <signal.h>
#include <stddef.h>

#include "pane.h"

typedef struct term {
    SCREEN *screen;
    int paste;               /* bracketed paste was switched on */
    struct sigaction old[3]; /* SIGINT, SIGTERM, SIGHUP as they were */
} term_t;

/* Sets v->color and v->shade from what the terminal can do (no_color: none).
 * Returns 0, or -1 with err when curses cannot start (nothing to close then). */
int term_open(term_t *tm, int no_color, int mouse, pane_view_t *v, char *err, size_t errlen);
/* Restores the terminal and the signal handlers. */
void term_close(term_t *tm);
/* 1 once for each SIGINT since the last call. */
int term_take_sigint(void);
/* 1 after SIGTERM or SIGHUP. */
int term_ended(void);

#endif
