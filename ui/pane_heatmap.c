/* pane_heatmap.c - attention of the selected token, or the whole causal
 * matrix (pane_heatmap.h).
 *
 * The row of position pos holds, for every layer and head, the softmax
 * weights of query pos over keys start..pos, where start is the first token
 * of the model's window (or, for a token that has left the window, the
 * n_ctx tokens ending at it). A row for all layers and heads is cached, so
 * changing layer or head costs nothing; the matrix of one layer is cached
 * per (layer, head, sequence). Recomputing is a forward pass, so while a
 * reply streams the newest row is taken from generation itself and the
 * matrix waits for the reply to end. */
#include "pane_heatmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_probe.h"
#include "text.h"

typedef struct hm_key {
    float w;
    int k;
} hm_key_t;

struct pane_heatmap {
    pane_view_t *v;
    WINDOW *win;
    layout_rect_t r;
    attn_probe_t *probe;
    const gpt_model_t *probe_model;
    char err[256];
    /* row cache: [layer][head][key], keys start..pos */
    float *row;
    size_t row_cap;
    const chat_t *row_chat;
    int row_epoch, row_pos, row_start, row_ok;
    /* matrix cache: [q][k] of layer/head over tokens start..start+n */
    float *mat, *pooled;
    size_t mat_cap, pooled_cap;
    const chat_t *mat_chat;
    int mat_epoch, mat_start, mat_n, mat_layer, mat_head, mat_ok;
    int scroll;  /* row list: lines scrolled up from the end */
    int by_weight; /* row list sorted by weight */
    hm_key_t *keys; /* the row's keys with their weights, in the order shown */
    size_t keys_cap;
};

pane_heatmap_t *pane_heatmap_create(pane_view_t *v) {
    pane_heatmap_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->v = v;
    return p;
}

void pane_heatmap_free(pane_heatmap_t *p) {
    if (!p) return;
    if (p->win) delwin(p->win);
    attn_probe_free(p->probe);
    free(p->row);
    free(p->mat);
    free(p->pooled);
    free(p->keys);
    free(p);
}

WINDOW *pane_heatmap_window(pane_heatmap_t *p) { return p->win; }

void pane_heatmap_resize(pane_heatmap_t *p, layout_rect_t r) {
    p->r = r;
    pane_window(&p->win, r);
}

static int hm_grow(void **buf, size_t *cap, size_t bytes) {
    if (bytes <= *cap) return 0;
    void *nb = realloc(*buf, bytes);
    if (!nb) return -1;
    *buf = nb;
    *cap = bytes;
    return 0;
}

/* First token of the sequence position pos is seen in. */
static int hm_start(const pane_view_t *v, int pos) {
    /* the window this token ran in, live or restored from the store */
    const chat_token_t *t = chat_token(v->chat, pos);
    if (t && t->window_start >= 0 && t->window_start <= pos) return t->window_start;
    int ws = chat_window_start(v->chat), n_ctx = chat_model(v->chat)->cfg.n_ctx;
    if (pos >= ws && pos - ws < n_ctx) return ws;
    return pos + 1 > n_ctx ? pos + 1 - n_ctx : 0;
}

static int hm_probe(pane_heatmap_t *p) {
    const gpt_model_t *m = chat_model(p->v->chat);
    if (p->probe && p->probe_model == m) return 0;
    attn_probe_free(p->probe);
    p->probe = attn_probe_init(m, p->v->opts->n_threads, p->err, sizeof p->err);
    p->probe_model = p->probe ? m : NULL;
    return p->probe ? 0 : -1;
}

/* Makes the row cache hold position pos; 0 when it does. */
static int hm_row(pane_heatmap_t *p, int pos) {
    const pane_view_t *v = p->v;
    const chat_t *c = v->chat;
    int start = hm_start(v, pos);
    if (p->row_ok && p->row_chat == c && p->row_epoch == v->epoch && p->row_pos == pos &&
        p->row_start == start)
        return 0;
    const gpt_config_t *cfg = &chat_model(c)->cfg;
    int nk = pos - start + 1;
    size_t per = (size_t)cfg->n_layer * cfg->n_head;
    if (hm_grow((void **)&p->row, &p->row_cap, per * (size_t)nk * sizeof(float))) {
        snprintf(p->err, sizeof p->err, "out of memory");
        return -1;
    }
    int gpos, hist;
    const float *ga = gen_attn(chat_gen(c), &gpos, &hist);
    if (ga && hist == pos && hist - gpos == start) {
        /* generation keeps [layer][head][key] with key stride n_ctx */
        for (size_t lh = 0; lh < per; lh++)
            memcpy(p->row + lh * (size_t)nk, ga + lh * (size_t)cfg->n_ctx, (size_t)nk * sizeof(float));
    } else {
        /* a forward pass: fine when idle or asked for, not on every streamed token */
        if (v->generating && v->sel < 0) return p->row_ok ? 0 : -1;
        if (hm_probe(p) != 0) return -1;
        if (attn_probe_row(p->probe, chat_ids(c) + start, nk - 1, p->row, p->err, sizeof p->err))
            return -1;
    }
    p->row_chat = c;
    p->row_epoch = v->epoch;
    p->row_pos = pos;
    p->row_start = start;
    p->row_ok = 1;
    return 0;
}

static int hm_matrix(pane_heatmap_t *p, int layer, int head) {
    const pane_view_t *v = p->v;
    const chat_t *c = v->chat;
    int last = v->n_visible - 1;
    int start = hm_start(v, last), n = last - start + 1;
    if (p->mat_ok && p->mat_chat == c && p->mat_epoch == v->epoch && p->mat_start == start &&
        p->mat_n == n && p->mat_layer == layer && p->mat_head == head)
        return 0;
    if (v->generating) return p->mat_ok && p->mat_chat == c && p->mat_epoch == v->epoch ? 1 : -2;
    if (hm_grow((void **)&p->mat, &p->mat_cap, (size_t)n * (size_t)n * sizeof(float))) {
        snprintf(p->err, sizeof p->err, "out of memory");
        return -1;
    }
    if (hm_probe(p) != 0) return -1;
    if (attn_probe_matrix(p->probe, chat_ids(c) + start, n, layer, head, p->mat, p->err,
                          sizeof p->err))
        return -1;
    p->mat_chat = c;
    p->mat_epoch = v->epoch;
    p->mat_start = start;
    p->mat_n = n;
    p->mat_layer = layer;
    p->mat_head = head;
    p->mat_ok = 1;
    return 0;
}

/* Draws one shaded cell of cols columns for weight w of wmax. */
static void hm_cell(const pane_heatmap_t *p, int y, int x, float w, float wmax, int cols) {
    const pane_view_t *v = p->v;
    if (w < 0) return;
    if (v->shade != SHADE_MONO && v->color) {
        int l = shade_level(w, wmax, SHADE_N_COLORS);
        wattron(p->win, COLOR_PAIR(PANE_PAIR_SHADE0 + l));
        for (int i = 0; i < cols; i++) mvwaddch(p->win, y, x + i, ' ');
        wattroff(p->win, COLOR_PAIR(PANE_PAIR_SHADE0 + l));
    } else {
        const char *b = shade_block(shade_level(w, wmax, SHADE_N_BLOCKS));
        for (int i = 0; i < cols; i++) mvwaddstr(p->win, y, x + i, b);
    }
}

static void hm_legend(const pane_heatmap_t *p, int y, float wmax, const char *extra) {
    const pane_view_t *v = p->v;
    int w = p->r.w - 2;
    char text[96];
    if (v->shade != SHADE_MONO && v->color) {
        mvwaddstr(p->win, y, 1, "0 ");
        for (int l = 0; l < SHADE_N_COLORS && 3 + l < w; l++)
            hm_cell(p, y, 3 + l, (float)l / (SHADE_N_COLORS - 1), 1.0f, 1);
        snprintf(text, sizeof text, " %.3f%s", (double)wmax, extra);
        pane_put(p->win, y, 3 + SHADE_N_COLORS, text, w - 2 - SHADE_N_COLORS);
    } else {
        char lg[64];
        shade_legend(wmax, lg, sizeof lg);
        snprintf(text, sizeof text, "%s%s", lg, extra);
        pane_put(p->win, y, 1, text, w);
    }
}

static void hm_label(const chat_t *c, int tok, char *out, size_t cap) {
    size_t n;
    const char *b = chat_token_bytes(c, tok, &n);
    text_escape(b ? b : "", b ? n : 0, out, cap);
}

static float hm_weight(const pane_heatmap_t *p, const gpt_config_t *cfg, int layer, int head,
                       int nk, int k) {
    const float *lw = p->row + (size_t)layer * cfg->n_head * nk;
    if (head >= 0) return lw[(size_t)head * nk + k];
    float s = 0;
    for (int h = 0; h < cfg->n_head; h++) s += lw[(size_t)h * nk + k];
    return s / (float)cfg->n_head;
}

/* heaviest first; equal weights in position order */
static int hm_by_weight(const void *a, const void *b) {
    const hm_key_t *x = a, *y = b;
    if (x->w != y->w) return x->w < y->w ? 1 : -1;
    return (x->k > y->k) - (x->k < y->k);
}

static void hm_draw_row(pane_heatmap_t *p, int pos, int layer, int head) {
    pane_view_t *v = p->v;
    const chat_t *c = v->chat;
    const gpt_config_t *cfg = &chat_model(c)->cfg;
    int w = p->r.w - 2, h = p->r.h - 2;
    char line[256], label[128];
    if (hm_row(p, pos) != 0 || p->row_pos != pos) {
        pane_put(p->win, 1, 1,
                 p->err[0] ? p->err : v->generating ? "(shown when the reply ends)" : "(no attention)",
                 w);
        return;
    }
    int nk = pos - p->row_start + 1;
    hm_label(c, pos, label, 40);
    snprintf(line, sizeof line, "token %d \"%s\" over %d token%s", pos, label, nk, nk == 1 ? "" : "s");
    pane_put(p->win, 1, 1, line, w);
    if (hm_grow((void **)&p->keys, &p->keys_cap, (size_t)nk * sizeof(hm_key_t))) return;
    float wmax = 0;
    for (int k = 0; k < nk; k++) {
        p->keys[k].k = k;
        p->keys[k].w = hm_weight(p, cfg, layer, head, nk, k);
        if (p->keys[k].w > wmax) wmax = p->keys[k].w;
    }
    if (p->by_weight) qsort(p->keys, (size_t)nk, sizeof(hm_key_t), hm_by_weight);
    int rows = h - 2; /* header and legend */
    if (rows < 1) return;
    /* by position: show the end (the newest keys) unless scrolled; by weight: the top */
    int first = p->by_weight ? 0 : nk > rows ? nk - rows : 0;
    if (p->by_weight) first += p->scroll;
    else first -= p->scroll;
    if (first > nk - rows) first = nk - rows;
    if (first < 0) first = 0;
    p->scroll = p->by_weight ? first : (nk > rows ? nk - rows : 0) - first; /* no run-off */
    for (int r = 0; r < rows && first + r < nk; r++) {
        int k = p->keys[first + r].k;
        float x = p->keys[first + r].w;
        hm_cell(p, 2 + r, 1, x, wmax, 2);
        hm_label(c, p->row_start + k, label, sizeof label);
        snprintf(line, sizeof line, " %.3f %5d %s", (double)x, p->row_start + k, label);
        attr_t a = p->row_start + k == pos ? A_BOLD : 0;
        wattron(p->win, a);
        pane_put(p->win, 2 + r, 3, line, w - 2);
        wattroff(p->win, a);
    }
    char extra[48];
    snprintf(extra, sizeof extra, "%s%s", p->by_weight ? "  by weight" : "  by position",
             first > 0 && !p->by_weight ? "  \xe2\x86\x91 more" : "");
    hm_legend(p, h, wmax, extra);
}

static void hm_draw_matrix(pane_heatmap_t *p, int pos, int layer, int head) {
    pane_view_t *v = p->v;
    int w = p->r.w - 2, h = p->r.h - 2;
    int st = hm_matrix(p, layer, head);
    if (st < 0) {
        pane_put(p->win, 1, 1, st == -2 ? "(shown when the reply ends)" : p->err, w);
        return;
    }
    int n = p->mat_n;
    int gh = h - 2, gw = w - 1; /* header, legend; a column for the row marker */
    if (gh < 1 || gw < 1) return;
    /* square-looking cells are two columns wide (a terminal cell is about
       twice as tall as wide); one column when the pane is too narrow */
    int out_n = n < gh ? n : gh;
    int cw = out_n * 2 <= gw ? 2 : 1;
    if (out_n * cw > gw) out_n = gw / cw;
    const float *cells = p->mat;
    if (out_n < n) {
        if (hm_grow((void **)&p->pooled, &p->pooled_cap, (size_t)out_n * out_n * sizeof(float)))
            return;
        shade_pool(p->mat, n, out_n, v->pool, p->pooled);
        cells = p->pooled;
    }
    float wmax = 0;
    for (size_t i = 0; i < (size_t)out_n * out_n; i++)
        if (cells[i] > wmax) wmax = cells[i];
    char line[160];
    snprintf(line, sizeof line, "tokens %d..%d%s%s", p->mat_start, p->mat_start + n - 1,
             out_n < n ? (v->pool == SHADE_POOL_MAX ? ", max-pooled" : ", mean-pooled") : "",
             st == 1 ? " (updates when the reply ends)" : "");
    pane_put(p->win, 1, 1, line, w);
    int sel_row = pos >= p->mat_start ? (int)((long)(pos - p->mat_start) * out_n / n) : -1;
    for (int i = 0; i < out_n; i++) {
        if (i == sel_row) mvwaddstr(p->win, 2 + i, 1, "\xe2\x96\xb6");
        for (int j = 0; j <= i; j++) hm_cell(p, 2 + i, 2 + j * cw, cells[(size_t)i * out_n + j], wmax, cw);
    }
    hm_legend(p, h, wmax, "");
}

void pane_heatmap_draw(pane_heatmap_t *p) {
    if (!p->win) return;
    pane_view_t *v = p->v;
    char title[128];
    int w = p->r.w - 2;
    if (!v->opts->attn_available) {
        pane_frame(v, p->win, "Attention", v->focus == LAYOUT_FOCUS_ATTN);
        pane_put_wrapped(p->win, 1, 1, v->opts->attn_note ? v->opts->attn_note : "attention not available",
                         w, p->r.h - 2);
        return;
    }
    const gpt_config_t *cfg = &chat_model(v->chat)->cfg;
    if (v->layer < 0 || v->layer >= cfg->n_layer) v->layer = cfg->n_layer - 1;
    if (v->head >= cfg->n_head) v->head = cfg->n_head - 1;
    if (v->head < -1) v->head = -1;
    char hs[32];
    if (v->head >= 0) snprintf(hs, sizeof hs, "head %d/%d", v->head, cfg->n_head);
    else snprintf(hs, sizeof hs, "head mean");
    snprintf(title, sizeof title, "%s \xc2\xb7 layer %d/%d \xc2\xb7 %s",
             v->matrix ? "Matrix" : "Attention", v->layer, cfg->n_layer, hs);
    pane_frame(v, p->win, title, v->focus == LAYOUT_FOCUS_ATTN);
    int pos = pane_view_pos(v);
    if (pos < 0) {
        pane_put(p->win, 1, 1, "(no tokens yet)", w);
        return;
    }
    p->err[0] = '\0';
    if (v->matrix) hm_draw_matrix(p, pos, v->layer, v->head);
    else hm_draw_row(p, pos, v->layer, v->head);
}

int pane_heatmap_handle_key(pane_heatmap_t *p, int key) {
    pane_view_t *v = p->v;
    const gpt_config_t *cfg = &chat_model(v->chat)->cfg;
    switch (key) {
    case '[': v->layer = (v->layer + cfg->n_layer - 1) % cfg->n_layer; break;
    case ']': v->layer = (v->layer + 1) % cfg->n_layer; break;
    case '{': v->head = v->head <= 0 ? cfg->n_head - 1 : v->head - 1; break;
    case '}': v->head = v->head < 0 || v->head >= cfg->n_head - 1 ? 0 : v->head + 1; break;
    case 'a': v->head = v->head < 0 ? 0 : -1; break;
    case 'm': v->matrix = !v->matrix; break;
    case 'p': v->pool = v->pool == SHADE_POOL_MAX ? SHADE_POOL_MEAN : SHADE_POOL_MAX; break;
    case 's':
        p->by_weight = !p->by_weight;
        p->scroll = 0;
        break;
    case KEY_UP:
    case 'k': p->scroll += p->by_weight ? -1 : 1; break;
    case KEY_DOWN:
    case 'j': p->scroll += p->by_weight ? 1 : -1; break;
    default: return 0;
    }
    if (p->scroll < 0) p->scroll = 0;
    return PANE_CONSUMED | PANE_REDRAW;
}
