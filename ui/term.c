/* term.c - terminal set-up and restore for the TUI (term.h). */
#include "term.h"

#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Signals can only set flags; the event loop looks at them. Process-wide
   by nature, so the one place with static state. */
static volatile sig_atomic_t term_sigint, term_sigterm;

static void term_on_sigint(int sig) {
    (void)sig;
    term_sigint = 1;
}

static void term_on_sigterm(int sig) {
    (void)sig;
    term_sigterm = 1;
}

int term_take_sigint(void) {
    int s = term_sigint != 0;
    term_sigint = 0;
    return s;
}

int term_ended(void) { return term_sigterm != 0; }

static void term_signals(term_t *tm, int install) {
    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        if (install) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = sigs[i] == SIGINT ? term_on_sigint : term_on_sigterm;
            sigemptyset(&sa.sa_mask);
            sigaction(sigs[i], &sa, &tm->old[i]);
        } else {
            sigaction(sigs[i], &tm->old[i], NULL);
        }
    }
}

/* Wide-character curses needs a UTF-8 character type. Only LC_CTYPE: the
   numeric locale must stay "C" so that /temp 0.5 and stored settings keep
   their decimal point. */
static void term_locale(void) {
    setlocale(LC_CTYPE, "");
    const char *cs = nl_langinfo(CODESET);
    if (!cs || strcmp(cs, "UTF-8") != 0) setlocale(LC_CTYPE, "C.UTF-8");
}

static void term_colors(int no_color, pane_view_t *v) {
    v->color = 0;
    v->shade = SHADE_MONO;
    if (no_color || !has_colors() || start_color() != OK) return;
    use_default_colors();
    v->color = 1;
    short dim = COLORS >= 16 ? 8 : COLOR_BLUE;
    init_pair(PANE_PAIR_FOCUS, COLOR_YELLOW, -1);
    init_pair(PANE_PAIR_USER, COLOR_CYAN, -1);
    init_pair(PANE_PAIR_DIM, dim, -1);
    init_pair(PANE_PAIR_STATUS, COLOR_BLACK, COLOR_WHITE);
    init_pair(PANE_PAIR_ERROR, COLOR_WHITE, COLOR_RED);
    init_pair(PANE_PAIR_CHOSEN, COLOR_BLACK, COLOR_YELLOW);
    init_pair(PANE_PAIR_BAR, COLOR_CYAN, -1);
    static const short tint[PANE_N_TINT] = {COLOR_RED, COLOR_MAGENTA, COLOR_YELLOW, -1, COLOR_GREEN};
    for (int l = 0; l < PANE_N_TINT; l++) init_pair((short)(PANE_PAIR_TINT0 + l), tint[l], -1);
    /* the heatmap gradient: direct colour (a 24-bit terminfo such as
       xterm-direct), else the xterm-256 cube, else blocks */
    if (COLORS >= 0x1000000) v->shade = SHADE_RGB;
    else if (COLORS >= 256) v->shade = SHADE_256;
    if (v->shade == SHADE_MONO || COLOR_PAIRS < PANE_N_PAIRS) {
        v->shade = SHADE_MONO;
        return;
    }
    for (int l = 0; l < SHADE_N_COLORS; l++) {
        unsigned rgb = shade_rgb(l);
        int bg = v->shade == SHADE_RGB ? (int)rgb : shade_xterm256(rgb);
        init_extended_pair(PANE_PAIR_SHADE0 + l, -1, bg);
        init_extended_pair(PANE_PAIR_INK0 + l, shade_dark_ink(l) ? COLOR_BLACK : COLOR_WHITE, bg);
    }
}

int term_open(term_t *tm, int no_color, int mouse, pane_view_t *v, char *err, size_t errlen) {
    memset(tm, 0, sizeof *tm);
    term_locale();
    term_sigint = term_sigterm = 0;
    term_signals(tm, 1);
    /* newterm, unlike initscr, returns NULL instead of exiting. A terminal
       that announces 24-bit colour (COLORTERM) under a 256-colour TERM gets
       the "-direct" terminfo of the same family when it is installed, so
       that curses can send RGB colours; otherwise the 256-colour palette */
    char direct[128] = "";
    const char *term = getenv("TERM"), *ct = getenv("COLORTERM");
    if (!no_color && term && ct && (!strcmp(ct, "truecolor") || !strcmp(ct, "24bit"))) {
        const char *dash = strstr(term, "-256color");
        if (dash && dash[9] == '\0')
            snprintf(direct, sizeof direct, "%.*s-direct", (int)(dash - term), term);
    }
    tm->screen = direct[0] ? newterm(direct, stdout, stdin) : NULL;
    if (!tm->screen) tm->screen = newterm(NULL, stdout, stdin);
    if (!tm->screen) {
        term_signals(tm, 0);
        snprintf(err, errlen, "cannot set up the terminal (TERM=%s)", term ? term : "unset");
        return -1;
    }
    raw(); /* Ctrl-C, Ctrl-S, Ctrl-Z arrive as keys */
    noecho();
    nonl();
    set_escdelay(25);
    term_colors(no_color, v);
    if (mouse) {
        mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
        mouseinterval(0);
    }
    /* bracketed paste: pasted text arrives between ESC[200~ and ESC[201~ */
    tm->paste = term && strcmp(term, "dumb") != 0 && strcmp(term, "linux") != 0;
    if (tm->paste) {
        fputs("\033[?2004h", stdout);
        fflush(stdout);
    }
    return 0;
}

void term_close(term_t *tm) {
    if (!tm->screen) return;
    if (tm->paste) {
        fputs("\033[?2004l", stdout);
        fflush(stdout);
    }
    endwin();
    delscreen(tm->screen);
    tm->screen = NULL;
    term_signals(tm, 0);
}
