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

/* Level 0..n_levels-1 of w relative to wmax: 0 for w <= 0 (or wmax <= 0),
 * n_levels-1 for w >= wmax, any w > 0 at least level 1 so that a small but
 * non-zero weight stays visible. Monotonic in w. */
int shade_level(float w, float wmax, int n_levels);
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

#endif
