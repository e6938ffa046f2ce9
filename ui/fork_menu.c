/* fork_menu.c - the candidate chooser for a fork (fork_menu.h).
 *
 *   ┌─ Fork at token 37 " the" ─────────────────────────────┐
 *   │drawn: rank 1. Enter puts the one under the cursor there│
 *   │  rank token              raw   final    logp           │
 *   │     1 " the"           31.2%   45.0%   -1.17  drawn    │
 *   │>    2 " a"             12.0%   20.1%   -2.12           │
 *   │    17 " an"             2.0%    0.0%   -3.91  cut      │
 *   └─ 1-9 rank · Enter forks · Esc cancels ────────────────┘
 *
 * A candidate the filters cut (top-k / top-p / min-p) may be chosen too:
 * the fork puts exactly that token there, whatever the sampler would do. */
#include "fork_menu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

struct fork_menu {
    pane_view_t *v;
    layout_rect_t screen;
    int shown;
    int index;      /* the token forked at */
    int cursor;     /* the candidate under the cursor (its 0-based rank) */
    int top;        /* first candidate line shown */
    int typed;      /* the rank being typed, digit by digit; 0: none */
    int chosen;     /* after Enter */
};

fork_menu_t *fork_menu_create(pane_view_t *v) {
    fork_menu_t *m = calloc(1, sizeof *m);
    if (m) m->v = v;
    return m;
}

void fork_menu_free(fork_menu_t *m) { free(m); }

void fork_menu_resize(fork_menu_t *m, layout_rect_t screen) { m->screen = screen; }

int fork_menu_shown(const fork_menu_t *m) { return m->shown; }

void fork_menu_choice(const fork_menu_t *m, int *index, int *cand) {
    *index = m->index;
    *cand = m->chosen;
}

/* The report of the token the menu is on, or NULL when the chat no longer
 * has it (it changed under the menu). */
static const sampler_report_t *fm_report(const fork_menu_t *m) {
    const chat_t *c = m->v->chat;
    if (!c || m->index < 0 || m->index >= chat_n_tokens(c)) return NULL;
    const chat_token_t *t = chat_token(c, m->index);
    const chat_turn_t *tu = chat_turn(c, t->turn);
    if (!t->has_report || !tu || tu->role != CHAT_MODEL || t->report.n_cand <= 0) return NULL;
    return &t->report;
}

int fork_menu_open(fork_menu_t *m, int index, char *msg, size_t msglen) {
    const chat_t *c = m->v->chat;
    if (index < 0 || !c || index >= chat_n_tokens(c)) {
        snprintf(msg, msglen, "no token selected: move the cursor onto a generated token first");
        return -1;
    }
    m->index = index;
    const sampler_report_t *rep = fm_report(m);
    if (!rep) {
        const chat_token_t *t = chat_token(c, index);
        const chat_turn_t *tu = chat_turn(c, t->turn);
        /* short: the status bar may have 30 columns for it */
        snprintf(msg, msglen, tu && tu->role == CHAT_USER ? "token %d was typed, no fork"
                                                         : "token %d has no distribution",
                 index);
        return -1;
    }
    /* the cursor starts on the likeliest candidate that was not drawn */
    m->cursor = rep->chosen_rank == 0 && rep->n_cand > 1 ? 1 : 0;
    m->top = 0;
    m->typed = 0;
    m->shown = 1;
    return 0;
}

void fork_menu_draw(fork_menu_t *m) {
    if (!m->shown) return;
    const sampler_report_t *rep = fm_report(m);
    if (!rep) {
        m->shown = 0;
        return;
    }
    pane_view_t *v = m->v;
    const chat_t *c = v->chat;
    int w = m->screen.w - 6, h = m->screen.h - 4;
    if (w > 64) w = 64;
    if (h > rep->n_cand + 4) h = rep->n_cand + 4; /* frame, intro, header */
    if (h < 5 || w < 30) return;
    WINDOW *win = newwin(h, w, 2, (m->screen.w - w) / 2);
    if (!win) return;
    char title[160], label[128], lab[160], line[256];
    pane_token_label(c, chat_token(c, m->index)->id, label, sizeof label);
    snprintf(title, sizeof title, "Fork at token %d %s", m->index, label);
    pane_frame(v, win, title, 1);
    int iw = w - 2, rows = h - 4;
    snprintf(line, sizeof line, "drawn: rank %d. Enter puts the one under the cursor there",
             rep->chosen_rank + 1);
    pane_put(win, 1, 1, line, iw);
    int label_w = iw >= 56 ? 16 : 10;
    text_pad("token", label_w, lab, sizeof lab);
    snprintf(line, sizeof line, "  rank %s %6s %7s %7s", lab, "raw", "final", "logp");
    wattron(win, A_BOLD);
    pane_put(win, 2, 1, line, iw);
    wattroff(win, A_BOLD);
    if (m->cursor < m->top) m->top = m->cursor;
    if (m->cursor >= m->top + rows) m->top = m->cursor - rows + 1;
    for (int k = 0; k < rows && m->top + k < rep->n_cand; k++) {
        int i = m->top + k;
        const sampler_candidate_t *cd = &rep->cand[i];
        pane_token_label(c, cd->id, label, sizeof label);
        text_pad(label, label_w, lab, sizeof lab);
        snprintf(line, sizeof line, "%c %4d %s %5.1f%% %6.1f%% %7.2f  %s", i == m->cursor ? '>' : ' ',
                 i + 1, lab, 100.0 * cd->raw_prob, 100.0 * cd->prob, (double)cd->raw_logprob,
                 i == rep->chosen_rank ? "drawn" : cd->kept ? "" : "cut");
        attr_t a = i == m->cursor ? A_REVERSE | A_BOLD
                   : !cd->kept    ? pane_attr(v, PANE_PAIR_DIM, A_DIM)
                                  : 0;
        wattron(win, a);
        mvwhline(win, 3 + k, 1, ' ', iw);
        pane_put(win, 3 + k, 1, line, iw);
        wattroff(win, a);
    }
    pane_put(win, h - 1, 2, " 1-9 rank \xc2\xb7 Enter forks \xc2\xb7 Esc cancels ", w - 4);
    wnoutrefresh(win);
    delwin(win);
}

int fork_menu_handle_key(fork_menu_t *m, int is_code, int key) {
    if (!m->shown) return 0;
    const sampler_report_t *rep = fm_report(m);
    if (!rep) {
        m->shown = 0;
        return PANE_CONSUMED | PANE_REDRAW;
    }
    int n = rep->n_cand, page = m->screen.h > 12 ? m->screen.h - 12 : 1;
    if (!is_code && key >= '0' && key <= '9') {
        /* ranks are typed from 1; "1" "2" is rank 12 when there is one */
        int d = key - '0', r = m->typed * 10 + d;
        if (r > n || r == 0) r = d;
        if (r >= 1 && r <= n) {
            m->typed = r;
            m->cursor = r - 1;
        }
        return PANE_CONSUMED | PANE_REDRAW;
    }
    m->typed = 0;
    int enter = 0;
    if (is_code) {
        switch (key) {
        case KEY_UP: m->cursor--; break;
        case KEY_DOWN: m->cursor++; break;
        case KEY_PPAGE: m->cursor -= page; break;
        case KEY_NPAGE: m->cursor += page; break;
        case KEY_HOME: m->cursor = 0; break;
        case KEY_END: m->cursor = n - 1; break;
        case KEY_ENTER: enter = 1; break;
        default: break; /* modal: other keys do nothing */
        }
    } else {
        switch (key) {
        case 'k': m->cursor--; break;
        case 'j': m->cursor++; break;
        case 'g': m->cursor = 0; break;
        case 'G': m->cursor = n - 1; break;
        case '\r':
        case '\n': enter = 1; break;
        case 27:
        case 'q':
        case 0x03: /* Ctrl-C */ m->shown = 0; break;
        default: break;
        }
    }
    if (m->cursor < 0) m->cursor = 0;
    if (m->cursor > n - 1) m->cursor = n - 1;
    if (!enter) return PANE_CONSUMED | PANE_REDRAW;
    m->chosen = m->cursor;
    m->shown = 0;
    return PANE_CONSUMED | PANE_REDRAW | PANE_ACTION;
}
