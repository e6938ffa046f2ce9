/* heat_heads.c - every head of the selected layer for the selected token at
 * once: one strip per head (keys in position order, newest at the right,
 * pooled by max when there are more keys than columns), with the head's
 * heaviest key and its entropy, and the mean of the heads on top. A head
 * that attends to one key shows one bright cell and a low entropy; { }
 * picks a head here and the other views and the transcript tint follow it
 * (heat.h). Linear shading compares the heads on one scale, row gives each
 * head its own maximum, log spreads the small weights. */
#include "heat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void heat_heads_free(heat_heads_t *hh) { free(hh->strip); }

void heat_heads_draw(heat_heads_t *hh, const heat_ctx_t *c, int pos) {
    pane_view_t *v = c->v;
    const chat_t *ch = v->chat;
    const gpt_config_t *cfg = &chat_model(ch)->cfg;
    char line[192], lab[64];
    if (heat_need_row(c, pos) != 0) return;
    int start = attn_cache_row_start(v->attn), nk = attn_cache_row_keys(v->attn);
    heat_label(ch, pos, lab, 32);
    snprintf(line, sizeof line, "all %d heads \xc2\xb7 token %d \"%s\" over %d", cfg->n_head, pos, lab, nk);
    pane_put(c->win, 1, 1, line, c->w);
    int rows = c->h - 2;
    int tw = c->w >= 60 ? 24 : c->w >= 34 ? 6 : 0; /* the tail: weight, key, entropy */
    int lw = 6;                                       /* marker and "mean " */
    int sw = c->w - lw - tw;
    if (rows < 1 || sw < 1) return;
    int out = nk < sw ? nk : sw;
    int n_lines = cfg->n_head + 1; /* the mean, then each head */
    if ((size_t)out * (size_t)n_lines > hh->cap) {
        float *nb = realloc(hh->strip, (size_t)out * (size_t)n_lines * sizeof *nb);
        if (!nb) return;
        hh->strip = nb;
        hh->cap = (size_t)out * (size_t)n_lines;
    }
    /* pooled strips, and the largest weight over all of them */
    float gmax = 0;
    for (int li = 0; li < n_lines; li++) {
        int head = li - 1;
        for (int j = 0; j < out; j++) {
            int ka = (int)((long)j * nk / out), kb = (int)((long)(j + 1) * nk / out);
            float mx = 0;
            for (int k = ka; k < kb; k++) {
                float w = attn_cache_weight(v->attn, v->layer, head, k);
                if (w > mx) mx = w;
            }
            hh->strip[(size_t)li * out + j] = mx;
            if (mx > gmax) gmax = mx;
        }
    }
    int sel_line = v->head + 1;
    int first = n_lines > rows ? sel_line - rows / 2 : 0;
    if (first > n_lines - rows) first = n_lines - rows;
    if (first < 0) first = 0;
    for (int r = 0; r < rows && first + r < n_lines; r++) {
        int li = first + r, head = li - 1, y = 2 + r;
        /* the head's heaviest key and its entropy (nats) over all its keys */
        float best = -1, hsum = 0;
        int best_k = 0;
        for (int k = 0; k < nk; k++) {
            float w = attn_cache_weight(v->attn, v->layer, head, k);
            if (w > best) best = w, best_k = k;
            if (w > 0) hsum -= w * logf(w);
        }
        const float *s = hh->strip + (size_t)li * out;
        float smax = 0;
        for (int j = 0; j < out; j++)
            if (s[j] > smax) smax = s[j];
        attr_t a = li == sel_line ? A_BOLD : 0;
        wattron(c->win, a);
        if (li == sel_line) mvwaddstr(c->win, y, 1, "\xe2\x96\xb6");
        if (head < 0) snprintf(lab, sizeof lab, "mean");
        else snprintf(lab, sizeof lab, "h%d", head);
        pane_put(c->win, y, 2, lab, lw - 2);
        wattroff(c->win, a);
        for (int j = 0; j < out; j++) {
            float f = v->scale == SHADE_SCALE_ROW ? shade_fraction(s[j], smax, SHADE_SCALE_LINEAR)
                                                  : shade_fraction(s[j], gmax, v->scale);
            heat_cell(c, y, 1 + lw - 1 + j, f, 1);
        }
        if (tw > 0) {
            if (tw >= 24) {
                char tok[40];
                heat_label(ch, start + best_k, tok, 12);
                snprintf(line, sizeof line, " %.2f %-10s H%.1f", (double)best, tok, (double)hsum);
            } else {
                snprintf(line, sizeof line, " %.2f", (double)best);
            }
            wattron(c->win, a);
            pane_put(c->win, y, lw + out, line, tw);
            wattroff(c->win, a);
        }
    }
    char extra[64];
    snprintf(extra, sizeof extra, "  { } head%s", n_lines > rows ? ", more \xe2\x86\x95" : "");
    heat_legend(c, c->h, gmax, extra);
}
