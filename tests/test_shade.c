/* test_shade.c - attention shading (ui/shade.h): levels grow with the
 * weight, the extremes are exact, block characters in monochrome, the
 * legend, the colour ramp, and max/mean pooling of a hand-computed causal
 * matrix, a region of it, and the linear / log scales. */
#include "shade.h"
#include "tap.h"

#include <string.h>

int main(void) {
    tap_t t = {0};
    /* monotonic over a fine sweep, for both level counts */
    int mono = 1;
    for (int nl = 0; nl < 2; nl++) {
        int n = nl ? SHADE_N_COLORS : SHADE_N_BLOCKS, prev = 0;
        for (int i = 0; i <= 1000; i++) {
            int l = shade_level((float)i / 1000.0f * 0.5f, 0.5f, n);
            if (l < prev || l < 0 || l >= n) mono = 0;
            prev = l;
        }
    }
    tap_ok(&t, mono, "levels never decrease as the weight grows");
    tap_ok(&t, shade_level(0.0f, 0.5f, 5) == 0 && shade_level(-1.0f, 0.5f, 5) == 0,
           "zero and negative weights are level 0");
    tap_ok(&t, shade_level(0.5f, 0.5f, 5) == 4 && shade_level(0.7f, 0.5f, 5) == 4,
           "the maximum (and above) is the top level");
    tap_ok(&t, shade_level(1e-6f, 0.5f, 5) == 1, "a tiny non-zero weight stays visible (level 1)");
    tap_ok(&t, shade_level(0.25f, 0.5f, 5) == 2 && shade_level(0.26f, 0.5f, 5) == 3,
           "half the maximum: level 2 of 0..4, just above it level 3");
    tap_ok(&t, shade_level(0.3f, 0.0f, 5) == 0, "no maximum: level 0");

    tap_ok(&t, strcmp(shade_block(0), " ") == 0 && strcmp(shade_block(1), "\u2591") == 0 &&
                   strcmp(shade_block(2), "\u2592") == 0 && strcmp(shade_block(3), "\u2593") == 0 &&
                   strcmp(shade_block(4), "\u2588") == 0,
           "block characters ' ', light, medium, dark, full");
    tap_ok(&t, strcmp(shade_block(-3), " ") == 0 && strcmp(shade_block(99), "\u2588") == 0,
           "out-of-range levels clamp");
    char lg[64];
    shade_legend(0.5321f, lg, sizeof lg);
    tap_ok(&t, strcmp(lg, "0 \u2591\u2592\u2593\u2588 0.532") == 0, "legend '%s'", lg);

    /* colour ramp: dark to bright, ends as specified */
    int brighter = 1;
    double prev = -1;
    for (int l = 0; l < SHADE_N_COLORS; l++) {
        unsigned c = shade_rgb(l);
        double y = 0.2126 * (c >> 16) + 0.7152 * ((c >> 8) & 0xff) + 0.0722 * (c & 0xff);
        if (y <= prev) brighter = 0;
        prev = y;
    }
    tap_ok(&t, brighter, "gradient luminance rises with the level");
    tap_ok(&t, shade_rgb(0) == 0x10143c && shade_rgb(SHADE_N_COLORS - 1) == 0xfde725,
           "gradient ends (0x%06x, 0x%06x)", shade_rgb(0), shade_rgb(SHADE_N_COLORS - 1));
    tap_ok(&t, shade_xterm256(0x000000) == 16 && shade_xterm256(0xffffff) == 231 &&
                   shade_xterm256(0xff0000) == 196 && shade_xterm256(0x5f87af) == 16 + 36 + 12 + 3,
           "xterm-256 cube indexes");

    /* pooling a 4x4 causal matrix into 2x2:
         q0: 1.0
         q1: 0.4 0.6
         q2: 0.1 0.2 0.7
         q3: 0.3 0.1 0.2 0.4
       cell (0,0) = q0..1 x k0..1 causal entries {1.0, 0.4, 0.6}: max 1.0, mean 2/3
       cell (0,1) = q0..1 x k2..3: none -> -1
       cell (1,0) = q2..3 x k0..1: {0.1, 0.2, 0.3, 0.1}: max 0.3, mean 0.175
       cell (1,1) = q2..3 x k2..3: {0.7, 0.2, 0.4}: max 0.7, mean 1.3/3 */
    const float m[16] = {1.0f, 0, 0, 0, 0.4f, 0.6f, 0, 0, 0.1f, 0.2f, 0.7f, 0, 0.3f, 0.1f, 0.2f, 0.4f};
    float out[4];
    shade_pool(m, 4, 2, SHADE_POOL_MAX, out);
    tap_ok(&t, out[0] == 1.0f && out[1] == -1.0f && out[2] == 0.3f && out[3] == 0.7f,
           "max pooling (%g %g %g %g)", out[0], out[1], out[2], out[3]);
    shade_pool(m, 4, 2, SHADE_POOL_MEAN, out);
    tap_near(&t, out[0], 2.0 / 3.0, 1e-6, "mean pooling, cell (0,0)");
    tap_ok(&t, out[1] == -1.0f, "mean pooling: the block above the diagonal is empty");
    tap_near(&t, out[2], 0.175, 1e-6, "mean pooling, cell (1,0)");
    tap_near(&t, out[3], 1.3 / 3.0, 1e-6, "mean pooling, cell (1,1)");
    /* no pooling (out_n == n) gives the matrix back, -1 above the diagonal */
    float same[16];
    shade_pool(m, 4, 4, SHADE_POOL_MAX, same);
    int ok = 1;
    for (int q = 0; q < 4; q++)
        for (int k = 0; k < 4; k++) ok &= same[q * 4 + k] == (k <= q ? m[q * 4 + k] : -1.0f);
    tap_ok(&t, ok, "pooling to the same size is the identity on the causal part");
    /* uneven blocks: 5 -> 2 covers rows {0,1} and {2,3,4} */
    float five[25] = {0};
    for (int q = 0; q < 5; q++) five[q * 5 + q] = (float)(q + 1);
    shade_pool(five, 5, 2, SHADE_POOL_MAX, out);
    tap_ok(&t, out[0] == 2.0f && out[3] == 5.0f && out[1] == -1.0f,
           "uneven blocks (5 -> 2): max of the diagonal per block");

    /* a region: queries 2..3 by keys 1..2, unpooled and pooled to one column */
    float reg[4];
    shade_pool_region(m, 4, 2, 2, 1, 2, 2, 2, SHADE_POOL_MAX, reg);
    tap_ok(&t, reg[0] == 0.2f && reg[1] == 0.7f && reg[2] == 0.1f && reg[3] == 0.2f,
           "a region q2..3 x k1..2 is those entries (%g %g %g %g)", reg[0], reg[1], reg[2], reg[3]);
    shade_pool_region(m, 4, 0, 2, 1, 2, 2, 1, SHADE_POOL_MAX, reg);
    tap_ok(&t, reg[0] == -1.0f && reg[1] == 0.6f,
           "a region's cells above the diagonal are empty (%g %g)", reg[0], reg[1]);

    /* scales */
    tap_near(&t, shade_fraction(0.25f, 0.5f, SHADE_SCALE_LINEAR), 0.5, 1e-6, "linear: w / wmax");
    tap_near(&t, shade_fraction(0.25f, 0.5f, SHADE_SCALE_ROW), 0.5, 1e-6, "row: linear in the given max");
    tap_near(&t, shade_fraction(0.005f, 0.5f, SHADE_SCALE_LOG), 1.0 - 2.0 / 3.0, 1e-5,
             "log: two decades below the max is a third of the way up");
    tap_ok(&t, shade_fraction(1e-9f, 0.5f, SHADE_SCALE_LOG) > 0 &&
                   shade_level(shade_fraction(1e-9f, 0.5f, SHADE_SCALE_LOG), 1.0f, 5) == 1,
           "log: a weight below the last decade is still visible");
    tap_ok(&t, shade_fraction(0.5f, 0.5f, SHADE_SCALE_LOG) == 1.0f &&
                   shade_fraction(0.0f, 0.5f, SHADE_SCALE_LOG) == 0.0f,
           "log: the max is 1, zero is 0");
    int logmono = 1;
    float prevf = 0;
    for (int i = 1; i <= 1000; i++) {
        float f = shade_fraction((float)i / 1000.0f, 1.0f, SHADE_SCALE_LOG);
        if (f < prevf) logmono = 0;
        prevf = f;
    }
    tap_ok(&t, logmono, "log scale never decreases");
    tap_ok(&t, !shade_dark_ink(0) && shade_dark_ink(SHADE_N_COLORS - 1),
           "light text on the dark end of the ramp, dark text on the bright end");
    return tap_done(&t);
}
