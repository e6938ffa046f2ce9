/* pane_class.c - the class pane (pane_class.h). */
#include "pane_class.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define CLASS_MAX 16   /* classes shown; a head with more shows the first 16 */
#define CLASS_LIMIT 64 /* classes the pane computes at most */

struct pane_class {
    pane_view_t *v;
    WINDOW *win;
    layout_rect_t r;
    char *text;                  /* what probs are for (NULL: nothing yet) */
    const char *const *labels;   /* the host's, as of the last update */
    int n_labels;
    float probs[CLASS_LIMIT];
    int best;
    char err[256];
};

pane_class_t *pane_class_create(pane_view_t *v) {
    pane_class_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->v = v;
    return p;
}

void pane_class_free(pane_class_t *p) {
    if (!p) return;
    if (p->win) delwin(p->win);
    free(p->text);
    free(p);
}

WINDOW *pane_class_window(pane_class_t *p) { return p->win; }

int pane_class_rows(int n_labels) {
    if (n_labels <= 0) return 0;
    return (n_labels < CLASS_MAX ? n_labels : CLASS_MAX) + 3; /* frame, the text line */
}

void pane_class_resize(pane_class_t *p, layout_rect_t r) {
    p->r = r;
    pane_window(&p->win, r);
}

int pane_class_update(pane_class_t *p, const char *text) {
    const ui_host_t *h = p->v->host;
    const char *const *labels = NULL;
    int n = h->class_labels ? h->class_labels(h->user, &labels) : 0;
    if (n <= 0 || !h->classify) {
        int changed = p->n_labels != 0;
        p->n_labels = 0;
        return changed;
    }
    if (p->text && labels == p->labels && n == p->n_labels && !strcmp(p->text, text)) return 0;
    free(p->text);
    p->text = strdup(text);
    p->labels = labels;
    p->n_labels = n;
    p->err[0] = '\0';
    if (n > CLASS_LIMIT) {
        snprintf(p->err, sizeof p->err, "%d classes: too many to show", n);
        return 1;
    }
    p->best = h->classify(h->user, text, strlen(text), p->probs, p->err, sizeof p->err);
    return 1;
}

void pane_class_draw(pane_class_t *p) {
    if (!p->win) return;
    char title[96];
    snprintf(title, sizeof title, "Classifier · %d classes · the input line", p->n_labels);
    pane_frame(p->v, p->win, title, 0);
    const int w = getmaxx(p->win) - 2, rows = getmaxy(p->win) - 2;
    if (w < 10 || rows < 1) return;
    if (p->err[0] || p->best < 0) {
        pane_put(p->win, 1, 1, p->err[0] ? p->err : "no result", w);
        return;
    }
    char line[512];
    const char *t = p->text ? p->text : "";
    snprintf(line, sizeof line, "%s", t[0] ? t : "(empty: the start and extract tokens only)");
    char shown[1024];
    text_escape(line, strlen(line), shown, sizeof shown);
    pane_put(p->win, 1, 1, shown, w);
    int namew = 4;
    for (int k = 0; k < p->n_labels && k < CLASS_MAX; k++) {
        int lw = text_width(p->labels[k], strlen(p->labels[k]));
        if (lw > namew) namew = lw;
    }
    if (namew > w / 3) namew = w / 3;
    const int barw = w - namew - 12;
    for (int k = 0; k < p->n_labels && k < CLASS_MAX && k + 2 <= rows; k++) {
        const int y = 2 + k;
        attr_t a = k == p->best ? A_BOLD : 0;
        wattron(p->win, a);
        mvwaddstr(p->win, y, 1, k == p->best ? ">" : " ");
        pane_put(p->win, y, 2, p->labels[k], namew);
        wattroff(p->win, a);
        const float pr = p->probs[k];
        if (barw > 0) {
            /* eighths of a cell, as the probability pane's bars */
            static const char *eighth[8] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
            int units = (int)(pr * (float)barw * 8.0f + 0.5f);
            wmove(p->win, y, 3 + namew);
            for (int i = 0; i < units / 8 && i < barw; i++) waddstr(p->win, "█");
            if (units / 8 < barw) waddstr(p->win, eighth[units % 8]);
        }
        snprintf(line, sizeof line, "%6.1f%%", (double)(100.0f * pr));
        mvwaddstr(p->win, y, 1 + w - 7, line);
    }
}
