/* attn_cache.c - attention rows and matrices shared by the panes (attn_cache.h). */
#include "attn_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_probe.h"

struct attn_cache {
    attn_probe_t *probe;
    const gpt_model_t *probe_model;
    char err[256];
    /* row: [layer][head][key], keys start..pos */
    float *row;
    size_t row_cap;
    const chat_t *row_chat;
    int row_epoch, row_pos, row_start, row_ok, row_layers, row_heads;
    /* matrix: [q][k] of one layer/head over tokens start..start+n-1 */
    float *mat;
    size_t mat_cap;
    const chat_t *mat_chat;
    int mat_epoch, mat_start, mat_n, mat_layer, mat_head, mat_ok;
};

attn_cache_t *attn_cache_create(void) { return calloc(1, sizeof(attn_cache_t)); }

void attn_cache_free(attn_cache_t *a) {
    if (!a) return;
    attn_probe_free(a->probe);
    free(a->row);
    free(a->mat);
    free(a);
}

const char *attn_cache_error(const attn_cache_t *a) { return a->err; }

static int ac_grow(float **buf, size_t *cap, size_t n) {
    if (n <= *cap) return 0;
    float *nb = realloc(*buf, n * sizeof(float));
    if (!nb) return -1;
    *buf = nb;
    *cap = n;
    return 0;
}

int attn_window_start(const chat_t *c, int pos) {
    /* the window this token ran in, live or restored from the store */
    const chat_token_t *t = chat_token(c, pos);
    if (t && t->window_start >= 0 && t->window_start <= pos) return t->window_start;
    int ws = chat_window_start(c), n_ctx = chat_model(c)->cfg.n_ctx;
    if (pos >= ws && pos - ws < n_ctx) return ws;
    return pos + 1 > n_ctx ? pos + 1 - n_ctx : 0;
}

static int ac_probe(attn_cache_t *a, const gpt_model_t *m, int n_threads) {
    if (a->probe && a->probe_model == m) return 0;
    attn_probe_free(a->probe);
    a->probe = attn_probe_init(m, n_threads, a->err, sizeof a->err);
    a->probe_model = a->probe ? m : NULL;
    return a->probe ? 0 : -1;
}

int attn_cache_row(attn_cache_t *a, const chat_t *c, int epoch, int pos, int may_compute,
                   int n_threads) {
    int start = attn_window_start(c, pos);
    if (a->row_ok && a->row_chat == c && a->row_epoch == epoch && a->row_pos == pos &&
        a->row_start == start)
        return 0;
    const gpt_config_t *cfg = &chat_model(c)->cfg;
    int nk = pos - start + 1;
    size_t per = (size_t)cfg->n_layer * cfg->n_head;
    int gpos, hist;
    const float *ga = gen_attn(chat_gen(c), &gpos, &hist);
    int from_gen = ga && hist == pos && hist - gpos == start;
    if (!from_gen && !may_compute) return 1;
    if (ac_grow(&a->row, &a->row_cap, per * (size_t)nk)) {
        snprintf(a->err, sizeof a->err, "out of memory");
        return -1;
    }
    a->row_ok = 0;
    if (from_gen) {
        /* generation keeps [layer][head][key] with key stride n_ctx */
        for (size_t lh = 0; lh < per; lh++)
            memcpy(a->row + lh * (size_t)nk, ga + lh * (size_t)cfg->n_ctx, (size_t)nk * sizeof(float));
    } else {
        if (ac_probe(a, chat_model(c), n_threads) != 0) return -1;
        if (attn_probe_row(a->probe, chat_ids(c) + start, nk - 1, a->row, a->err, sizeof a->err))
            return -1;
    }
    a->row_chat = c;
    a->row_epoch = epoch;
    a->row_pos = pos;
    a->row_start = start;
    a->row_layers = cfg->n_layer;
    a->row_heads = cfg->n_head;
    a->row_ok = 1;
    return 0;
}

int attn_cache_row_pos(const attn_cache_t *a, const chat_t *c, int epoch) {
    return a->row_ok && a->row_chat == c && a->row_epoch == epoch ? a->row_pos : -1;
}

int attn_cache_row_start(const attn_cache_t *a) { return a->row_start; }
int attn_cache_row_keys(const attn_cache_t *a) { return a->row_ok ? a->row_pos - a->row_start + 1 : 0; }

float attn_cache_weight(const attn_cache_t *a, int layer, int head, int k) {
    int nk = a->row_pos - a->row_start + 1;
    if (!a->row_ok || layer < 0 || layer >= a->row_layers || k < 0 || k >= nk) return 0.0f;
    const float *lw = a->row + (size_t)layer * a->row_heads * nk;
    if (head >= 0 && head < a->row_heads) return lw[(size_t)head * nk + k];
    float s = 0;
    for (int h = 0; h < a->row_heads; h++) s += lw[(size_t)h * nk + k];
    return s / (float)a->row_heads;
}

int attn_cache_matrix(attn_cache_t *a, const chat_t *c, int epoch, int last, int layer, int head,
                      int may_compute, int n_threads, const float **m, int *start, int *n) {
    int st = attn_window_start(c, last), nn = last - st + 1;
    int rc = 0;
    if (!(a->mat_ok && a->mat_chat == c && a->mat_epoch == epoch && a->mat_start == st &&
          a->mat_n == nn && a->mat_layer == layer && a->mat_head == head)) {
        if (!may_compute) {
            if (!(a->mat_ok && a->mat_chat == c && a->mat_epoch == epoch)) return -2;
            rc = 1;
        } else {
            if (ac_grow(&a->mat, &a->mat_cap, (size_t)nn * (size_t)nn)) {
                snprintf(a->err, sizeof a->err, "out of memory");
                return -1;
            }
            a->mat_ok = 0;
            if (ac_probe(a, chat_model(c), n_threads) != 0) return -1;
            if (attn_probe_matrix(a->probe, chat_ids(c) + st, nn, layer, head, a->mat, a->err,
                                  sizeof a->err))
                return -1;
            a->mat_chat = c;
            a->mat_epoch = epoch;
            a->mat_start = st;
            a->mat_n = nn;
            a->mat_layer = layer;
            a->mat_head = head;
            a->mat_ok = 1;
        }
    }
    *m = a->mat;
    *start = a->mat_start;
    *n = a->mat_n;
    return rc;
}
