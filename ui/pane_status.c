/* pane_status.c - the status bar (pane_status.h). */
#include "pane_status.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text.h"
#include "clockx.h"

#define STATUS_MESSAGE_S 5.0

struct pane_status {
    pane_view_t *v;
    WINDOW *win;
    layout_rect_t r;
    char msg[512];
    int msg_error;
    double msg_until;
    double tok_per_s;
    int have_speed;
};

pane_status_t *pane_status_create(pane_view_t *v) {
    pane_status_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->v = v;
    return p;
}

void pane_status_free(pane_status_t *p) {
    if (!p) return;
    if (p->win) delwin(p->win);
    free(p);
}

WINDOW *pane_status_window(pane_status_t *p) { return p->win; }

void pane_status_resize(pane_status_t *p, layout_rect_t r) {
    p->r = r;
    pane_window(&p->win, r);
}

int pane_status_handle_key(pane_status_t *p, int key) {
    (void)p;
    (void)key;
    return 0;
}

void pane_status_message(pane_status_t *p, const char *msg, int is_error) {
    /* one line: the first line of a longer message */
    snprintf(p->msg, sizeof p->msg, "%s", msg);
    char *nl = strchr(p->msg, '\n');
    if (nl) *nl = '\0';
    p->msg_error = is_error;
    p->msg_until = clockx_now() + STATUS_MESSAGE_S;
}

int pane_status_has_message(pane_status_t *p) {
    if (p->msg[0] && clockx_now() > p->msg_until) p->msg[0] = '\0';
    return p->msg[0] != '\0';
}

void pane_status_speed(pane_status_t *p, int n_tokens, double seconds) {
    if (n_tokens <= 0 || seconds <= 0) return;
    p->tok_per_s = n_tokens / seconds;
    p->have_speed = 1;
}

void pane_status_draw(pane_status_t *p) {
    if (!p->win) return;
    pane_view_t *v = p->v;
    const chat_t *c = v->chat;
    const chat_settings_t *s = chat_settings(c);
    const sampler_params_t *sp = &s->sampling;
    const char *model = v->host->model_name ? v->host->model_name(v->host->user) : NULL;
    int64_t sid = v->host->session_id ? v->host->session_id(v->host->user) : 0;
    char speed[32] = "- tok/s", session[32] = "not stored";
    if (p->have_speed) snprintf(speed, sizeof speed, "%.1f tok/s", p->tok_per_s);
    if (sid > 0) snprintf(session, sizeof session, "session %" PRId64, sid);
    int n_ctx = chat_model(c)->cfg.n_ctx;
    char line[768];
    /* the settings first: a message may cover what follows them */
    int n_settings = snprintf(line, sizeof line,
             " %s \xe2\x94\x82 temp %g top-k %d top-p %g min-p %g seed %" PRIu64
             " max %d beams %d \xe2\x94\x82", model ? model : "model", (double)sp->temperature,
             sp->top_k, (double)sp->top_p, (double)sp->min_p, sp->seed, s->max_tokens, s->beams);
    if (n_settings < 0 || (size_t)n_settings >= sizeof line) n_settings = 0;
    int settings_w = text_width(line, (size_t)n_settings);
    snprintf(line + n_settings, sizeof line - (size_t)n_settings,
             " %s \xe2\x94\x82 ctx %d/%d \xe2\x94\x82 %s ", speed,
             v->n_visible > chat_window_start(c) ? v->n_visible - chat_window_start(c) : 0,
             n_ctx, session);
    int w = p->r.w;
    attr_t base = pane_attr(v, PANE_PAIR_STATUS, A_REVERSE);
    wbkgdset(p->win, ' ' | base);
    werase(p->win);
    wattron(p->win, base);
    int msg_w = 0;
    if (pane_status_has_message(p)) {
        char m[520];
        snprintf(m, sizeof m, " %s ", p->msg);
        msg_w = text_width(m, strlen(m));
        int room = w - settings_w; /* after the settings, but at least 30 columns */
        if (room < 30) room = 30;
        if (msg_w > room) msg_w = room;
        attr_t ma = p->msg_error ? pane_attr(v, PANE_PAIR_ERROR, A_BOLD) | A_BOLD : A_BOLD;
        pane_put(p->win, 0, 0, line, w - msg_w);
        wattroff(p->win, base);
        wattron(p->win, ma);
        pane_put(p->win, 0, w - msg_w, m, msg_w);
        wattroff(p->win, ma);
        return;
    }
    pane_put(p->win, 0, 0, line, w);
    int lw = text_width(line, strlen(line));
    const char *hint = v->generating ? " Esc: stop " : " F1: help ";
    if (lw + 10 < w) pane_put(p->win, 0, w - 10, hint, 10);
    wattroff(p->win, base);
}
