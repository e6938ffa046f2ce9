/* shade.h - attention weights to shades, as pure functions: a weight in
 * [0, max] becomes a level, the level a block character (' ' U+2591 U+2592
 * U+2593 U+2588) or a colour on a dark-blue-to-yellow gradient (24-bit RGB,
 * or its nearest xterm-256 index). Also the legend line and the pooling that
 * shrinks a long causal matrix into the cells a pane has.
 *
 * Levels are linear in the weight relative to the largest weight shown: the
 * pane labels that maximum in the legend, so a reader can read values off. */
#ifndef GPTSCOPE_UI_SHADE_H
#define GPTSCOPE_UI_SHADE_H

#include <stddef.h>

#define SHADE_N_BLOCKS 5  /* ' ', light, medium, dark, full */
#define SHADE_N_COLORS 16 /* gradient steps in colour mode */

typedef enum {
    SHADE_MONO = 0, /* block characters only (no colour, NO_COLOR) */
    SHADE_256,      /* xterm-256 palette indexes */
    SHADE_RGB       /* 24-bit colour */
} shade_mode_t;

typedef enum { SHADE_POOL_MAX = 0, SHADE_POOL_MEAN = 1 } shade_pool_t;

/* How a weight maps to a shade: linear in w / wmax over the whole view, the
 * same per matrix row (each query's own largest weight is full), or log10
 * of w / wmax over SHADE_LOG_DECADES decades, so that the many small weights
 * beside one dominant key (the first token often takes most) are told apart. */
typedef enum { SHADE_SCALE_LINEAR = 0, SHADE_SCALE_ROW, SHADE_SCALE_LOG, SHADE_N_SCALES } shade_scale_t;
#define SHADE_LOG_DECADES 3.0f

/* Level 0..n_levels-1 of w relative to wmax: 0 for w <= 0 (or wmax <= 0),
 * n_levels-1 for w >= wmax, any w > 0 at least level 1 so that a small but
 * non-zero weight stays visible. Monotonic in w. */
int shade_level(float w, float wmax, int n_levels);
/* w / wmax as a fraction in [0, 1] under scale (ROW is linear here: the
 * caller passes the row's maximum): 0 for w <= 0 or wmax <= 0, 1 for w >= wmax;
 * in log scale any w > 0 gives a positive fraction, however small. */
float shade_fraction(float w, float wmax, shade_scale_t scale);
/* Short name of a scale for titles: "linear", "row", "log". */
const char *shade_scale_name(shade_scale_t scale);
/* 1 when text on the gradient colour of level should be dark (a bright
 * background), 0 when light. */
int shade_dark_ink(int level);

/* UTF-8 block character of a level 0..SHADE_N_BLOCKS-1 (clamped). */
const char *shade_block(int level);
/* Gradient colour of level 0..SHADE_N_COLORS-1: 0xRRGGBB. */
unsigned shade_rgb(int level);
/* Nearest xterm-256 colour-cube index (16..231) of 0xRRGGBB. */
int shade_xterm256(unsigned rgb);
/* Legend text for the mono view: "0 ░▒▓█ 0.532" (wmax printed with 3 digits). */
void shade_legend(float wmax, char *out, size_t cap);

/* Pools the causal matrix m[q * n + k] (k <= q) into an out_n x out_n grid:
 * cell (i, j) covers queries [i*n/out_n, (i+1)*n/out_n) and keys likewise,
 * and gets the max or the mean of its causal entries, or -1 when the block
 * holds none (entirely above the diagonal). out_n <= n. */
void shade_pool(const float *m, int n, int out_n, shade_pool_t how, float *out);
/* The same over a region of it: queries q0..q0+nq-1 by keys k0..k0+nk-1 into
 * out_q x out_k cells (out_q <= nq, out_k <= nk); entries with k > q are not
 * causal and never counted. */
void shade_pool_region(const float *m, int n, int q0, int nq, int k0, int nk, int out_q, int out_k,
                       shade_pool_t how, float *out);

#endif
