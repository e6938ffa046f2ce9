/* heat.h - the four views of the attention pane (pane_heatmap.c picks one)
 * and the drawing they share: a shaded cell, the legend, a token's label.
 *
 *   heat_row:    the selected token's keys as a list, by position or weight
 *   heat_matrix: the causal matrix of one layer and head, with token axes,
 *                a zoomed region, and linear / row / log scales
 *   heat_heads:  every head of the layer for the selected token, one strip
 *                each (small multiples), to find the head that matters
 *   heat_grid:   every layer x head at once, one cell each summarising the
 *                head (entropy, max weight, weight on a key)
 *
 * Each view draws inside the frame of win (rows 1..h, columns 1..w). */
#ifndef GPTSCOPE_UI_HEAT_H
#define GPTSCOPE_UI_HEAT_H

#include "pane.h"

typedef struct heat_ctx {
    pane_view_t *v;
    WINDOW *win;
    int w, h; /* inside the frame */
} heat_ctx_t;

/* A shaded cell of cols columns at fraction f in [0, 1] (f < 0: nothing). */
void heat_cell(const heat_ctx_t *c, int y, int x, float f, int cols);
/* The legend on row y: the ramp, wmax, the scale's name, then extra. */
void heat_legend(const heat_ctx_t *c, int y, float wmax, const char *extra);
/* Token tok's text, escaped (a newline shows as \n), in out. */
void heat_label(const chat_t *ch, int tok, char *out, size_t cap);
/* The row of the selected token pos in the cache: 0, or draws why not and returns -1. */
int heat_need_row(const heat_ctx_t *c, int pos);

typedef struct heat_key {
    float w;
    int k;
} heat_key_t;

typedef struct heat_row {
    int scroll;       /* lines scrolled: up from the end by position, down from the top by weight */
    int by_weight;    /* sorted by weight */
    heat_key_t *keys; /* the keys in the order shown */
    size_t cap;
} heat_row_t;

void heat_row_draw(heat_row_t *r, const heat_ctx_t *c, int pos);
void heat_row_free(heat_row_t *r);

typedef struct heat_matrix {
    int span;       /* tokens per axis shown; 0: the whole window */
    int key_shift;  /* keys start this many tokens before the queries (zoomed) */
    int n_last;     /* tokens in the window at the last draw */
    float *cells;
    size_t cap;
} heat_matrix_t;

void heat_matrix_draw(heat_matrix_t *m, const heat_ctx_t *c, int pos);
/* + zooms in around the selected token, - out, < > move the keys left and
 * right; returns 1 when the key was one of these. */
int heat_matrix_key(heat_matrix_t *m, int key);
void heat_matrix_free(heat_matrix_t *m);

typedef struct heat_heads {
    float *strip;
    size_t cap;
} heat_heads_t;

void heat_heads_draw(heat_heads_t *hh, const heat_ctx_t *c, int pos);
void heat_heads_free(heat_heads_t *hh);

typedef enum { HEAT_GRID_ENTROPY = 0, HEAT_GRID_MAX, HEAT_GRID_KEY, HEAT_GRID_N } heat_grid_measure_t;

typedef struct heat_grid {
    int measure; /* heat_grid_measure_t */
    int back;    /* HEAT_GRID_KEY: the key this many tokens before the selected one */
} heat_grid_t;

void heat_grid_draw(heat_grid_t *g, const heat_ctx_t *c, int pos);
/* Arrows / h j k l move the layer x head cursor (v->layer, v->head), c
 * cycles the measure, < > move the key; returns 1 when the key was one. */
int heat_grid_key(heat_grid_t *g, pane_view_t *v, int key);

#endif
