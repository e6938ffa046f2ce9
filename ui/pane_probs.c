/* pane_probs.c - candidates of a sampled token (pane_probs.h).
 *
 *   token 41 " the"  p 0.312  rank 1  12 kept
 *   entropy 3.10 nats raw, 2.01 final
 *     token       raw            final          logp
 *   > " the"      ████  31.2%   ██████ 45.0%  -1.17
 *     " a"        ██    12.0%   ███    20.1%  -2.12
 *   --- cut by top-k/top-p/min-p ---
 *     " an"       ▌      2.0%           0.0%  -3.91
 *
 * A beam-search token is described by the raw distribution the search
 * ranked by (nothing filtered, final = raw), and above its candidates the
 * turn's hypotheses say what each would have put here:
 *     beam  score  here
 *   > 1    -2.201  ","         reply
 *     2    -2.250  " the"      from 43     (left the reply at token 43)   */
#include "pane_probs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

struct pane_probs {
    pane_view_t *v;
    WINDOW *win;
    layout_rect_t r;
    int scroll;
};

pane_probs_t *pane_probs_create(pane_view_t *v) {
    pane_probs_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->v = v;
    return p;
}

void pane_probs_free(pane_probs_t *p) {
    if (!p) return;
    if (p->win) delwin(p->win);
    free(p);
}

WINDOW *pane_probs_window(pane_probs_t *p) { return p->win; }

void pane_probs_resize(pane_probs_t *p, layout_rect_t r) {
    p->r = r;
    pane_window(&p->win, r);
}

/* A bar of frac * cols columns in eighths (U+2588..U+258F). */
static void pp_bar(double frac, int cols, char *out, size_t cap) {
    static const char *const eighth[8] = {"", "\u258f", "\u258e", "\u258d",
                                          "\u258c", "\u258b", "\u258a", "\u2589"};
    size_t o = 0;
    int units = (int)(frac * cols * 8 + 0.5);
    if (units > cols * 8) units = cols * 8;
    int used = 0;
    for (; units >= 8 && o + 4 < cap; units -= 8, used++) o += (size_t)snprintf(out + o, cap - o, "\u2588");
    if (units > 0 && o + 4 < cap) {
        o += (size_t)snprintf(out + o, cap - o, "%s", eighth[units]);
        used++;
    }
    for (; used < cols && o + 1 < cap; used++) out[o++] = ' ';
    out[o] = '\0';
}

/* The hypotheses of beam turn tu at token pos, from row y; returns the rows
 * used (at most max_rows). */
static int pp_beams(pane_probs_t *p, const chat_turn_t *tu, int pos, int y, int w, int label_w,
                    int max_rows) {
    pane_view_t *v = p->v;
    const chat_t *c = v->chat;
    if (max_rows < 2 || tu->n_hyps == 0) return 0;
    int j = pos - tu->first; /* index in the reply */
    const chat_hyp_t *best = &tu->hyps[0];
    char line[256], label[128], lab[160];
    text_pad("here", label_w, lab, sizeof lab);
    snprintf(line, sizeof line, "  %-4s%7s  %s", "beam", "score", lab);
    wattron(p->win, A_BOLD);
    pane_put(p->win, y, 1, line, w);
    wattroff(p->win, A_BOLD);
    int shown = tu->n_hyps, room = max_rows - 1;
    if (shown > room) shown = room - 1; /* the last row says how many are left */
    for (int k = 0; k < shown; k++) {
        const chat_hyp_t *hy = &tu->hyps[k];
        const char *tail = "";
        char from[32];
        if (j >= hy->n) {
            snprintf(label, sizeof label, "(ended)");
        } else {
            pane_token_label(c, hy->ids[j], label, sizeof label);
            int d = 0; /* first index where it leaves the reply */
            while (d <= j && d < best->n && hy->ids[d] == best->ids[d]) d++;
            if (k == 0) tail = "reply";
            else if (d > j) tail = "same so far";
            else {
                snprintf(from, sizeof from, "from %d", tu->first + d);
                tail = from;
            }
        }
        text_pad(label, label_w, lab, sizeof lab);
        snprintf(line, sizeof line, "%c %-4d%7.3f  %s  %s", k == 0 ? '>' : ' ', k + 1,
                 (double)hy->score, lab, tail);
        attr_t a = k == 0 ? pane_attr(v, PANE_PAIR_CHOSEN, A_REVERSE) | A_BOLD : 0;
        wattron(p->win, a);
        pane_put(p->win, y + 1 + k, 1, line, w);
        wattroff(p->win, a);
    }
    if (shown < tu->n_hyps) {
        snprintf(line, sizeof line, "  + %d more hypotheses", tu->n_hyps - shown);
        wattron(p->win, pane_attr(v, PANE_PAIR_DIM, A_DIM));
        pane_put(p->win, y + 1 + shown, 1, line, w);
        wattroff(p->win, pane_attr(v, PANE_PAIR_DIM, A_DIM));
        shown++;
    }
    return 1 + shown;
}

/* After /compare: the selected token's probability under both models, the
 * log-ratio, and each model's sum of ln p over the tokens both scored, from
 * row 1; returns the rows used (0 when no comparison is shown). */
static int pp_compare(pane_probs_t *p, int pos, int w) {
    pane_view_t *v = p->v;
    if (v->tint != PANE_TINT_COMPARE || !v->cmp_self || !v->cmp_other || v->cmp_n <= 0) return 0;
    double sum[2] = {0, 0};
    int n_scored = 0;
    for (int i = 0; i < v->cmp_n; i++) {
        if (!isfinite(v->cmp_self[i]) || !isfinite(v->cmp_other[i])) continue;
        sum[0] += v->cmp_self[i];
        sum[1] += v->cmp_other[i];
        n_scored++;
    }
    const char *self = v->host->model_name ? v->host->model_name(v->host->user) : NULL;
    const char *names[2] = {self ? self : "this model", v->cmp_label[0] ? v->cmp_label : "other"};
    const double *lp[2] = {v->cmp_self, v->cmp_other};
    double ratio;
    int pref = pane_view_compare(v, pos, &ratio);
    char line[256], name[64];
    int name_w = w - 23 < 6 ? 6 : w - 23 > 20 ? 20 : w - 23;
    for (int m = 0; m < 2; m++) {
        text_pad(names[m], name_w, name, sizeof name);
        double x = pos >= 0 && pos < v->cmp_n ? lp[m][pos] : NAN;
        char pr[32] = "p -     ";
        if (isfinite(x)) snprintf(pr, sizeof pr, "p %.4f", exp(x));
        snprintf(line, sizeof line, "%c %s %s \xce\xa3 %.2f", 'A' + m, name, pr, sum[m]);
        attr_t a = pane_attr(v, PANE_PAIR_TINT0 + (m == 0 ? PANE_N_TINT - 1 : 0), 0);
        wattron(p->win, a);
        pane_put(p->win, 1 + m, 1, line, w);
        wattroff(p->win, a);
    }
    if (isfinite(ratio))
        snprintf(line, sizeof line, "ln pA/pB %+.3f %s  (\xce\xa3 over %d tokens)", ratio,
                 pref > 0 ? "A preferred" : pref < 0 ? "B preferred" : "about equal", n_scored);
    else
        snprintf(line, sizeof line, "token %d: not scored by both  (\xce\xa3 over %d tokens)", pos,
                 n_scored);
    wattron(p->win, A_BOLD);
    pane_put(p->win, 3, 1, line, w);
    wattroff(p->win, A_BOLD);
    return 3;
}

void pane_probs_draw(pane_probs_t *p) {
    if (!p->win) return;
    pane_view_t *v = p->v;
    pane_frame(v, p->win, v->tint == PANE_TINT_COMPARE ? "Probabilities \xc2\xb7 compare" : "Probabilities",
               v->focus == LAYOUT_FOCUS_PROBS);
    int w = p->r.w - 2, h = p->r.h - 2;
    int pos = pane_view_pos(v);
    const chat_t *c = v->chat;
    if (pos < 0) {
        pane_put(p->win, 1, 1, "(no tokens yet)", w);
        return;
    }
    int y0 = 1 + pp_compare(p, pos, w); /* the first row of the token's own lines */
    const chat_token_t *t = chat_token(c, pos);
    const chat_turn_t *tu = chat_turn(c, t->turn);
    char line[512], label[128], lab[160];
    pane_token_label(c, t->id, label, sizeof label);
    if (!t->has_report) {
        snprintf(line, sizeof line, "token %d %s", pos, label);
        pane_put(p->win, y0, 1, line, w);
        const char *why = tu && tu->role == CHAT_USER
                              ? "a prompt token: it was typed, not sampled"
                              : "no sampler report stored for this token";
        wattron(p->win, pane_attr(v, PANE_PAIR_DIM, A_DIM));
        pane_put(p->win, y0 + 1, 1, why, w);
        wattroff(p->win, pane_attr(v, PANE_PAIR_DIM, A_DIM));
        return;
    }
    const sampler_report_t *rep = &t->report;
    int beam = tu && tu->role == CHAT_MODEL && tu->settings.beams > 1;
    int n = snprintf(line, sizeof line, "token %d %s  p %.3f  rank %d", pos, label,
                     (double)rep->chosen_prob, rep->chosen_rank + 1); /* 1 = the most likely */
    char kept[32];
    int nk = beam ? snprintf(kept, sizeof kept, "  beam search")
                  : snprintf(kept, sizeof kept, "  %d kept", rep->n_kept);
    /* the kept count only when it fits whole */
    if (n > 0 && (size_t)n + (size_t)nk < sizeof line &&
        text_width(line, (size_t)n) + nk <= w)
        memcpy(line + n, kept, (size_t)nk + 1);
    pane_put(p->win, y0, 1, line, w);
    if (beam) /* the search ranks by the raw distribution: nothing is filtered */
        snprintf(line, sizeof line, "entropy %.2f nats (beam: raw = final)",
                 (double)rep->entropy_raw);
    else
        snprintf(line, sizeof line, "entropy %.2f nats raw, %.2f final", (double)rep->entropy_raw,
                 (double)rep->entropy_final);
    pane_put(p->win, y0 + 1, 1, line, w);
    /* columns: marker 2, label, raw bar + " 00.0%", final bar + " 00.0%", " -00.00",
     * and where there is room " 100.0%", the final mass of this row and all above */
    int label_w = w >= 60 ? 16 : w >= 44 ? 10 : 8;
    int show_cum = w >= 40 + label_w;
    int fixed = 25 + label_w + (show_cum ? 7 : 0); /* marker, label, numbers, spaces */
    int bar_w = (w - fixed) / 2;
    if (bar_w > 20) bar_w = 20;
    if (bar_w < 0) bar_w = 0;
    /* a beam token's hypotheses take at most half of the rows below */
    int top = y0 + 2;
    if (beam) top += pp_beams(p, tu, pos, top, w, label_w, (h - 2) / 2);
    char head[256];
    text_pad("token", label_w, lab, sizeof lab);
    snprintf(head, sizeof head, "  %s %*s %*s %6s%s", lab, bar_w + 7, "raw", bar_w + 7, "final",
             "logp", show_cum ? "    cum" : "");
    wattron(p->win, A_BOLD);
    pane_put(p->win, top, 1, head, w);
    wattroff(p->win, A_BOLD);
    int rows = h - top;
    int n_lines = rep->n_cand + (rep->n_kept < rep->n_cand ? 1 : 0);
    if (p->scroll > n_lines - rows) p->scroll = n_lines - rows > 0 ? n_lines - rows : 0;
    int line_i = 0, y = top + 1, cut_done = 0;
    double cum = 0; /* final probability of the rows so far, scrolled-off ones included */
    for (int k = 0; k < rep->n_cand && y <= h; k++) {
        const sampler_candidate_t *cd = &rep->cand[k];
        cum += cd->prob;
        if (!cd->kept && !cut_done) {
            cut_done = 1;
            if (line_i++ >= p->scroll) {
                wattron(p->win, pane_attr(v, PANE_PAIR_DIM, A_DIM));
                pane_put(p->win, y++, 1, "  --- cut by top-k / top-p / min-p ---", w);
                wattroff(p->win, pane_attr(v, PANE_PAIR_DIM, A_DIM));
            }
            if (y > h) break;
        }
        if (line_i++ < p->scroll) continue;
        char rb[128], fb[128];
        pp_bar(cd->raw_prob, bar_w, rb, sizeof rb);
        pp_bar(cd->prob, bar_w, fb, sizeof fb);
        pane_token_label(c, cd->id, label, sizeof label);
        text_pad(label, label_w, lab, sizeof lab);
        int chosen = cd->id == rep->chosen;
        attr_t a = chosen ? pane_attr(v, PANE_PAIR_CHOSEN, A_REVERSE) | A_BOLD : 0;
        wattron(p->win, a);
        pane_put(p->win, y, 1, chosen ? "> " : "  ", 2);
        pane_put(p->win, y, 3, lab, label_w);
        wattroff(p->win, a);
        int x = 3 + label_w + 1;
        attr_t ba = pane_attr(v, PANE_PAIR_BAR, 0);
        wattron(p->win, ba);
        x += pane_put(p->win, y, x, rb, bar_w);
        wattroff(p->win, ba);
        snprintf(line, sizeof line, " %5.1f%%", 100.0 * cd->raw_prob);
        x += pane_put(p->win, y, x, line, 7);
        x += pane_put(p->win, y, x, " ", 1);
        if (cd->kept) wattron(p->win, ba);
        x += pane_put(p->win, y, x, fb, bar_w);
        if (cd->kept) wattroff(p->win, ba);
        snprintf(line, sizeof line, " %5.1f%% %6.2f", 100.0 * cd->prob, (double)cd->raw_logprob);
        if (show_cum) {
            size_t ln = strlen(line);
            snprintf(line + ln, sizeof line - ln, " %5.1f%%", 100.0 * (cum > 1 ? 1 : cum));
        }
        pane_put(p->win, y, x, line, w + 1 - x);
        y++;
    }
}

int pane_probs_handle_key(pane_probs_t *p, int key) {
    switch (key) {
    case KEY_UP:
    case 'k':
        if (p->scroll > 0) p->scroll--;
        return PANE_CONSUMED | PANE_REDRAW;
    case KEY_DOWN:
    case 'j': p->scroll++; return PANE_CONSUMED | PANE_REDRAW;
    default: return 0;
    }
}
