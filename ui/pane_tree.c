/* pane_tree.c - the branches of the session (pane_tree.h).
 *
 *   ┌─ Branches · 3 · showing 2 ─────────────────────────────┐
 *   │  branch  fork at rank token       parent's      logp   │
 *   │  0                    (first)                  -91.20  │
 *   │    1          37   #2 " Romeo"    " the"       -88.75  │
 *   │*   2          41   #5 ","         " and"       -90.02  │
 *   └────────────────────────────────────────────────────────┘
 *
 * Columns are dropped from the right of a priority list when the pane is
 * narrow: branch, fork index, first token and logp always, then tokens,
 * rank, the parent's token and turns as room allows. */
#include "pane_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

struct pane_tree {
    pane_view_t *v;
    WINDOW *win;
    layout_rect_t r;
    ui_branch_t *list; /* host->branches() at the last refresh, tree order */
    int n, cap;
    int status;        /* the last refresh: 0 ok, -1 failed (err says why) */
    char err[256];
    int cursor, top;   /* index in list; first line shown */
};

/* The columns, in the order they are drawn. */
typedef enum {
    PT_COL_BRANCH, PT_COL_AT, PT_COL_RANK, PT_COL_TOKEN, PT_COL_WAS, PT_COL_LOGP, PT_COL_TOKENS,
    PT_COL_TURNS, PT_N_COLS
} pt_col_t;

static const char *const pt_col_head[PT_N_COLS] = {"branch", "fork at", "rank", "token",
                                                   "parent's", "logp", "tokens", "turns"};
/* which columns are added first when there is room */
static const pt_col_t pt_col_priority[PT_N_COLS] = {PT_COL_BRANCH, PT_COL_AT, PT_COL_TOKEN,
                                                    PT_COL_LOGP, PT_COL_TOKENS, PT_COL_RANK,
                                                    PT_COL_WAS, PT_COL_TURNS};
#define PT_N_ALWAYS 4

pane_tree_t *pane_tree_create(pane_view_t *v) {
    pane_tree_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->v = v;
    return p;
}

void pane_tree_free(pane_tree_t *p) {
    if (!p) return;
    if (p->win) delwin(p->win);
    free(p->list);
    free(p);
}

WINDOW *pane_tree_window(pane_tree_t *p) { return p->win; }

void pane_tree_resize(pane_tree_t *p, layout_rect_t r) {
    p->r = r;
    pane_window(&p->win, r);
}

int pane_tree_refresh(pane_tree_t *p, char *msg, size_t msglen) {
    const ui_host_t *h = p->v->host;
    p->status = 0;
    p->err[0] = '\0';
    if (!h->branches) {
        snprintf(p->err, sizeof p->err, "branches are not available here");
        p->status = -1;
        p->n = 0;
        snprintf(msg, msglen, "%s", p->err);
        return -1;
    }
    for (;;) {
        int n = h->branches(h->user, p->list, p->cap, p->err, sizeof p->err);
        if (n < 0) {
            p->status = -1;
            p->n = 0;
            snprintf(msg, msglen, "%s", p->err);
            return -1;
        }
        if (n <= p->cap) {
            p->n = n;
            break;
        }
        /* more than the buffer holds: grow it and ask again */
        ui_branch_t *bigger = realloc(p->list, (size_t)n * sizeof *bigger);
        if (!bigger) {
            p->n = p->cap; /* the first cap of them */
            break;
        }
        p->list = bigger;
        p->cap = n;
    }
    p->cursor = 0;
    for (int i = 0; i < p->n; i++)
        if (p->list[i].current) p->cursor = i;
    return p->n;
}

int pane_tree_rows(const pane_tree_t *p, int avail) {
    int want = 2 + 1 + (p->n > 0 ? p->n : 1); /* frame, header, lines */
    int most = avail * 2 / 5;
    if (most < 4) most = avail >= 12 ? 4 : 0;
    return want < most ? want : most;
}

int pane_tree_cursor(const pane_tree_t *p) {
    return p->cursor >= 0 && p->cursor < p->n ? p->list[p->cursor].id : -1;
}

int pane_tree_neighbour(const pane_tree_t *p, int step) {
    for (int i = 0; i < p->n; i++) {
        if (!p->list[i].current) continue;
        int j = i + step;
        return j >= 0 && j < p->n ? p->list[j].id : -1;
    }
    return -1;
}

#define PT_MAX_INDENT 4 /* deeper branches are indented as much as depth 4 */

/* Column widths for an inner width w; 0 for a column left out. The branch
 * column is as wide as its deepest indent and longest id need. */
static void pt_widths(const pane_tree_t *p, int w, int *width) {
    int tok_w = w >= 100 ? 18 : w >= 60 ? 14 : 10, branch_w = 7; /* "branch" and a space */
    for (int i = 0; i < p->n; i++) {
        int d = p->list[i].depth < PT_MAX_INDENT ? p->list[i].depth : PT_MAX_INDENT;
        int need = 2 * d + snprintf(NULL, 0, "%d", p->list[i].id);
        if (need > branch_w) branch_w = need;
    }
    const int natural[PT_N_COLS] = {branch_w, 7, 4, tok_w, tok_w, 9, 6, 5};
    int used = 2; /* the '*' marker and a space */
    for (int c = 0; c < PT_N_COLS; c++) width[c] = 0;
    for (int k = 0; k < PT_N_ALWAYS; k++) {
        pt_col_t c = pt_col_priority[k];
        width[c] = natural[c];
        used += natural[c] + (k > 0 ? 1 : 0);
    }
    /* too narrow for those (deep indents): the token column gives way first */
    int give = used - w < width[PT_COL_TOKEN] - 6 ? used - w : width[PT_COL_TOKEN] - 6;
    if (give > 0) {
        width[PT_COL_TOKEN] -= give;
        used -= give;
    }
    for (int k = PT_N_ALWAYS; k < PT_N_COLS; k++) {
        pt_col_t c = pt_col_priority[k];
        if (used + 1 + natural[c] > w) continue;
        width[c] = natural[c];
        used += 1 + natural[c];
    }
}

/* Appends s to out[*o] padded (right: aligned right) or cut to cols columns. */
static void pt_cell(char *out, size_t cap, size_t *o, const char *s, int cols, int right) {
    int w;
    size_t n = text_fit(s, strlen(s), cols, &w);
    int pad = cols - w;
    if (*o + n + (size_t)pad + 2 >= cap) return;
    if (right) {
        memset(out + *o, ' ', (size_t)pad);
        *o += (size_t)pad;
    }
    memcpy(out + *o, s, n);
    *o += n;
    if (!right) {
        memset(out + *o, ' ', (size_t)pad);
        *o += (size_t)pad;
    }
    out[*o] = '\0';
}

/* One line of the table: b, or the header when b is NULL. */
static void pt_line(const ui_branch_t *b, const int *width, char *out, size_t cap) {
    size_t o = 0;
    out[0] = '\0';
    pt_cell(out, cap, &o, b && b->current ? "*" : " ", 1, 0);
    pt_cell(out, cap, &o, " ", 1, 0);
    int first = 1;
    for (int c = 0; c < PT_N_COLS; c++) {
        if (!width[c]) continue;
        if (!first) pt_cell(out, cap, &o, " ", 1, 0);
        first = 0;
        char cell[128] = "";
        int right = c == PT_COL_AT || c == PT_COL_RANK || c == PT_COL_LOGP ||
                    c == PT_COL_TOKENS || c == PT_COL_TURNS;
        int root = b && b->parent < 0;
        if (!b) {
            snprintf(cell, sizeof cell, "%s", pt_col_head[c]);
        } else {
            switch ((pt_col_t)c) {
            case PT_COL_BRANCH: {
                int d = b->depth < PT_MAX_INDENT ? b->depth : PT_MAX_INDENT;
                snprintf(cell, sizeof cell, "%*s%d", 2 * d, "", b->id);
                break;
            }
            case PT_COL_AT:
                if (!root) snprintf(cell, sizeof cell, "%d", b->fork_index);
                break;
            case PT_COL_RANK:
                if (!root) snprintf(cell, sizeof cell, "#%d", b->fork_rank);
                break;
            case PT_COL_TOKEN:
                if (root) snprintf(cell, sizeof cell, "(first)");
                else snprintf(cell, sizeof cell, "\"%s\"", b->first);
                break;
            case PT_COL_WAS:
                if (!root) snprintf(cell, sizeof cell, "\"%s\"", b->other);
                break;
            case PT_COL_LOGP: snprintf(cell, sizeof cell, "%.2f", b->sum_logprob); break;
            case PT_COL_TOKENS: snprintf(cell, sizeof cell, "%d", b->n_tokens); break;
            case PT_COL_TURNS: snprintf(cell, sizeof cell, "%d", b->n_turns); break;
            case PT_N_COLS: break;
            }
        }
        pt_cell(out, cap, &o, cell, width[c], right);
    }
}

void pane_tree_draw(pane_tree_t *p) {
    if (!p->win) return;
    pane_view_t *v = p->v;
    int focused = v->focus == LAYOUT_FOCUS_TREE;
    char title[128];
    int cur = -1;
    for (int i = 0; i < p->n; i++)
        if (p->list[i].current) cur = p->list[i].id;
    if (p->n > 0 && cur >= 0) {
        snprintf(title, sizeof title, "Branches \xc2\xb7 %d \xc2\xb7 showing %d%s", p->n, cur,
                 focused ? " \xc2\xb7 Enter shows" : "");
        if (text_width(title, strlen(title)) > p->r.w - 6) /* the hint only where it fits */
            snprintf(title, sizeof title, "Branches \xc2\xb7 %d \xc2\xb7 showing %d", p->n, cur);
    } else {
        snprintf(title, sizeof title, "Branches");
    }
    pane_frame(v, p->win, title, focused);
    int w = p->r.w - 2, h = p->r.h - 2;
    if (w <= 0 || h <= 0) return;
    attr_t dim = pane_attr(v, PANE_PAIR_DIM, A_DIM);
    if (p->status != 0 || p->n == 0) {
        wattron(p->win, p->status != 0 ? 0 : dim);
        /* the host says why there is nothing (not stored yet, --no-save) */
        char why[320];
        if (p->status != 0) snprintf(why, sizeof why, "%s", p->err);
        else snprintf(why, sizeof why, "%s; F on a generated token forks",
                      p->err[0] ? p->err : "no branches yet");
        pane_put_wrapped(p->win, 1, 1, why, w, h);
        wattroff(p->win, p->status != 0 ? 0 : dim);
        return;
    }
    int width[PT_N_COLS];
    pt_widths(p, w, width);
    char line[512];
    pt_line(NULL, width, line, sizeof line);
    wattron(p->win, A_BOLD);
    pane_put(p->win, 1, 1, line, w);
    wattroff(p->win, A_BOLD);
    int rows = h - 1;
    if (rows <= 0) return;
    if (p->cursor < p->top) p->top = p->cursor;
    if (p->cursor >= p->top + rows) p->top = p->cursor - rows + 1;
    if (p->top > p->n - rows) p->top = p->n - rows > 0 ? p->n - rows : 0;
    for (int k = 0; k < rows && p->top + k < p->n; k++) {
        const ui_branch_t *b = &p->list[p->top + k];
        pt_line(b, width, line, sizeof line);
        attr_t a = b->current ? A_BOLD : 0;
        if (focused && p->top + k == p->cursor) a |= A_REVERSE;
        wattron(p->win, a);
        /* the whole row, so the cursor's bar spans the pane */
        mvwhline(p->win, 2 + k, 1, ' ', w);
        pane_put(p->win, 2 + k, 1, line, w);
        wattroff(p->win, a);
    }
    if (p->top + rows < p->n) {
        char more[32];
        snprintf(more, sizeof more, " %d more \xe2\x86\x93 ", p->n - p->top - rows);
        pane_put(p->win, p->r.h - 1, p->r.w - 2 - text_width(more, strlen(more)), more, 20);
    }
}

int pane_tree_handle_key(pane_tree_t *p, int key) {
    int old = p->cursor;
    switch (key) {
    case KEY_UP:
    case 'k':
        if (p->cursor > 0) p->cursor--;
        break;
    case KEY_DOWN:
    case 'j':
        if (p->cursor < p->n - 1) p->cursor++;
        break;
    case KEY_HOME:
    case 'g': p->cursor = 0; break;
    case KEY_END:
    case 'G': p->cursor = p->n > 0 ? p->n - 1 : 0; break;
    case '\r':
    case '\n':
    case KEY_ENTER:
        return p->n > 0 ? PANE_CONSUMED | PANE_REDRAW | PANE_ACTION : PANE_CONSUMED;
    default: return 0;
    }
    return PANE_CONSUMED | (p->cursor != old ? PANE_REDRAW : 0);
}

int pane_tree_hit(pane_tree_t *p, int y, int x) {
    if (!layout_contains(&p->r, y, x)) return 0;
    int k = p->top + (y - p->r.y - 2); /* below the frame and the header */
    if (y - p->r.y < 2 || k < 0 || k >= p->n) return 0;
    p->cursor = k;
    return PANE_REDRAW;
}
