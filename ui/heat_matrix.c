/* heat_matrix.c - the causal attention matrix of one layer and head over
 * the newest token's window (heat.h).
 *
 * Rows are queries, columns keys, both labelled with their tokens (the left
 * axis with text, the top axis with the first characters of each key; when
 * a block of tokens shares a cell, with positions). A long window is pooled
 * (max or mean) into the cells the pane has; + zooms in to a region around
 * the selected token so each cell is one token again, and < > move the keys
 * left to look at what the region's queries read earlier (the first tokens
 * often hold most of the weight). Shading is linear over the whole matrix,
 * per row (each query's largest weight is full), or log. */
#include "heat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

void heat_matrix_free(heat_matrix_t *m) { free(m->cells); }

int heat_matrix_key(heat_matrix_t *m, int key) {
    int n = m->n_last > 0 ? m->n_last : 1;
    int cur = m->span > 0 && m->span < n ? m->span : n;
    int step = cur / 4 > 1 ? cur / 4 : 1;
    switch (key) {
    case '+':
    case '=': m->span = cur / 2 > 4 ? cur / 2 : 4; break;
    case '-':
    case '_': m->span = cur * 2 >= n ? 0 : cur * 2; break;
    case '<':
    case ',': m->key_shift += step; break;
    case '>':
    case '.': m->key_shift = m->key_shift > step ? m->key_shift - step : 0; break;
    default: return 0;
    }
    if (m->span == 0) m->key_shift = 0;
    return 1;
}

/* Axis text of a token: its escaped text without the leading space a GPT-2
 * word carries, so that two columns show letters. */
static void hmx_axis_label(const chat_t *ch, int tok, char *out, size_t cap) {
    char b[64];
    heat_label(ch, tok, b, sizeof b);
    const char *s = b;
    while (*s == ' ') s++;
    snprintf(out, cap, "%s", *s ? s : "\xc2\xb7");
}

void heat_matrix_draw(heat_matrix_t *hm, const heat_ctx_t *c, int pos) {
    pane_view_t *v = c->v;
    const chat_t *ch = v->chat;
    const float *m;
    int st, n;
    int rc = attn_cache_matrix(v->attn, ch, v->epoch, v->n_visible - 1, v->layer, v->head,
                               !v->generating, v->opts->n_threads, &m, &st, &n);
    if (rc < 0) {
        pane_put(c->win, 1, 1, rc == -2 ? "(shown when the reply ends)" : attn_cache_error(v->attn), c->w);
        return;
    }
    hm->n_last = n;
    int lw = c->w >= 60 ? 10 : c->w >= 30 ? 6 : 0; /* left axis labels */
    int gx = 2 + lw;                                /* after the labels and the row marker */
    int gw = c->w - lw - 1, gh = c->h - 3;          /* header, top axis, legend */
    if (gh < 1 || gw < 1) return;
    /* the region: the whole window, or span tokens around the selection */
    int span = hm->span > 0 && hm->span < n ? hm->span : n;
    int sel = pos >= st && pos < st + n ? pos - st : -1;
    int q0 = 0;
    if (span < n) {
        q0 = (sel >= 0 ? sel : n - 1) - span / 2;
        if (q0 > n - span) q0 = n - span;
        if (q0 < 0) q0 = 0;
    }
    int k0 = q0 - hm->key_shift;
    if (k0 < 0) k0 = 0;
    hm->key_shift = q0 - k0; /* no run-off past the first token */
    int nq = span, nk = span;
    int out_q = nq < gh ? nq : gh;
    int cw = nk * 2 <= gw ? 2 : 1;
    int out_k = nk * cw <= gw ? nk : gw / cw;
    size_t cells_n = (size_t)out_q * (size_t)out_k;
    if (cells_n > hm->cap) {
        float *nb = realloc(hm->cells, cells_n * sizeof *nb);
        if (!nb) return;
        hm->cells = nb;
        hm->cap = cells_n;
    }
    shade_pool_region(m, n, q0, nq, k0, nk, out_q, out_k, v->pool, hm->cells);
    float wmax = 0;
    for (size_t i = 0; i < cells_n; i++)
        if (hm->cells[i] > wmax) wmax = hm->cells[i];

    char line[192], lab[64];
    int n_pos = snprintf(line, sizeof line, "tokens %d..%d", st + q0, st + q0 + nq - 1);
    if (k0 != q0)
        n_pos += snprintf(line + n_pos, sizeof line - (size_t)n_pos, ", keys %d..%d", st + k0, st + k0 + nk - 1);
    if (span < n) n_pos += snprintf(line + n_pos, sizeof line - (size_t)n_pos, ", zoom %d of %d", span, n);
    if (out_q < nq || out_k < nk)
        n_pos += snprintf(line + n_pos, sizeof line - (size_t)n_pos, ", %s",
                          v->pool == SHADE_POOL_MAX ? "max-pooled" : "mean-pooled");
    if (rc == 1) snprintf(line + n_pos, sizeof line - (size_t)n_pos, " (updates when the reply ends)");
    pane_put(c->win, 1, 1, line, c->w);

    /* top axis: key tokens, or positions every few cells when pooled */
    if (out_k == nk) {
        for (int j = 0; j < out_k; j++) {
            hmx_axis_label(ch, st + k0 + j, lab, sizeof lab);
            pane_put(c->win, 2, gx + j * cw, lab, cw);
        }
    } else {
        for (int j = 0; j < out_k; j += 10) {
            int ka = k0 + (int)((long)j * nk / out_k);
            int len = snprintf(lab, sizeof lab, "%d", st + ka);
            if (len <= (out_k - j) * cw) pane_put(c->win, 2, gx + j * cw, lab, len); /* never cut */
        }
    }
    for (int i = 0; i < out_q; i++) {
        int qa = q0 + (int)((long)i * nq / out_q), qb = q0 + (int)((long)(i + 1) * nq / out_q);
        int is_sel = sel >= qa && sel < qb;
        if (lw > 0) {
            if (out_q == nq) heat_label(ch, st + qa, lab, sizeof lab);
            else snprintf(lab, sizeof lab, "%d", st + qa);
            attr_t a = is_sel ? A_BOLD : 0;
            wattron(c->win, a);
            pane_put(c->win, 3 + i, 1, lab, lw);
            wattroff(c->win, a);
        }
        if (is_sel) mvwaddstr(c->win, 3 + i, 1 + lw, "\xe2\x96\xb6");
        const float *row = hm->cells + (size_t)i * out_k;
        float rmax = 0;
        for (int j = 0; j < out_k; j++)
            if (row[j] > rmax) rmax = row[j];
        for (int j = 0; j < out_k; j++) {
            float f = v->scale == SHADE_SCALE_ROW ? shade_fraction(row[j], rmax, SHADE_SCALE_LINEAR)
                                                  : shade_fraction(row[j], wmax, v->scale);
            heat_cell(c, 3 + i, gx + j * cw, row[j] < 0 ? -1.0f : f, cw);
        }
    }
    heat_legend(c, c->h, wmax, span < n ? "  +- zoom <> keys" : "  + zooms in");
}
