/* shade.c - weights to block characters and gradient colours (shade.h). */
#include "shade.h"

#include <math.h>
#include <stdio.h>

int shade_level(float w, float wmax, int n_levels) {
    if (n_levels < 2 || !(w > 0) || !(wmax > 0)) return 0;
    if (w >= wmax) return n_levels - 1;
    /* levels 1..n-1 split (0, wmax] evenly: ceil keeps tiny weights at 1 */
    int l = (int)(w / wmax * (float)(n_levels - 1) + 0.999f);
    if (l < 1) l = 1;
    if (l > n_levels - 1) l = n_levels - 1;
    return l;
}

float shade_fraction(float w, float wmax, shade_scale_t scale) {
    if (!(w > 0) || !(wmax > 0)) return 0.0f;
    if (w >= wmax) return 1.0f;
    float f = w / wmax;
    if (scale != SHADE_SCALE_LOG) return f;
    float lf = 1.0f + log10f(f) / SHADE_LOG_DECADES;
    /* below the last decade: the smallest positive fraction, still visible */
    return lf > 1e-6f ? lf : 1e-6f;
}

const char *shade_scale_name(shade_scale_t scale) {
    return scale == SHADE_SCALE_ROW ? "row" : scale == SHADE_SCALE_LOG ? "log" : "linear";
}

int shade_dark_ink(int level) {
    unsigned c = shade_rgb(level);
    /* relative luminance (Rec. 709 weights) past the middle: dark text reads better */
    double y = 0.2126 * (c >> 16) + 0.7152 * ((c >> 8) & 0xff) + 0.0722 * (c & 0xff);
    return y > 110.0;
}

const char *shade_block(int level) {
    static const char *const blocks[SHADE_N_BLOCKS] = {" ", "\u2591", "\u2592", "\u2593",
                                                       "\u2588"};
    if (level < 0) level = 0;
    if (level >= SHADE_N_BLOCKS) level = SHADE_N_BLOCKS - 1;
    return blocks[level];
}

/* A short dark-blue -> teal -> yellow ramp (close to viridis, readable on
   dark and light backgrounds); steps between the stops are interpolated. */
unsigned shade_rgb(int level) {
    static const unsigned char stops[4][3] = {
        {0x10, 0x14, 0x3c}, {0x21, 0x5d, 0x8c}, {0x22, 0xa8, 0x84}, {0xfd, 0xe7, 0x25}};
    if (level < 0) level = 0;
    if (level >= SHADE_N_COLORS) level = SHADE_N_COLORS - 1;
    float t = (float)level / (float)(SHADE_N_COLORS - 1) * 3.0f;
    int s = (int)t;
    if (s > 2) s = 2;
    float f = t - (float)s;
    unsigned rgb = 0;
    for (int c = 0; c < 3; c++) {
        float v = (float)stops[s][c] + f * (float)(stops[s + 1][c] - stops[s][c]);
        rgb = (rgb << 8) | (unsigned)(v + 0.5f);
    }
    return rgb;
}

int shade_xterm256(unsigned rgb) {
    /* the 6x6x6 cube's channel values are 0, 95, 135, 175, 215, 255 */
    static const int steps[6] = {0, 95, 135, 175, 215, 255};
    int idx[3];
    for (int c = 0; c < 3; c++) {
        int v = (int)((rgb >> (16 - 8 * c)) & 0xff), best = 0;
        for (int k = 1; k < 6; k++)
            if ((v > steps[k] ? v - steps[k] : steps[k] - v) <
                (v > steps[best] ? v - steps[best] : steps[best] - v))
                best = k;
        idx[c] = best;
    }
    return 16 + 36 * idx[0] + 6 * idx[1] + idx[2];
}

void shade_legend(float wmax, char *out, size_t cap) {
    snprintf(out, cap, "0 %s%s%s%s %.3f", shade_block(1), shade_block(2), shade_block(3),
             shade_block(4), (double)wmax);
}

void shade_pool(const float *m, int n, int out_n, shade_pool_t how, float *out) {
    shade_pool_region(m, n, 0, n, 0, n, out_n, out_n, how, out);
}

void shade_pool_region(const float *m, int n, int q0, int nq, int k0, int nk, int out_q, int out_k,
                       shade_pool_t how, float *out) {
    for (int i = 0; i < out_q; i++) {
        int qa = q0 + (int)((long)i * nq / out_q), qb = q0 + (int)((long)(i + 1) * nq / out_q);
        for (int j = 0; j < out_k; j++) {
            int ka = k0 + (int)((long)j * nk / out_k), kb = k0 + (int)((long)(j + 1) * nk / out_k);
            float acc = 0.0f;
            int count = 0;
            for (int q = qa; q < qb; q++)
                for (int k = ka; k < kb && k <= q; k++) {
                    float v = m[(size_t)q * n + k];
                    if (how == SHADE_POOL_MAX) acc = count == 0 || v > acc ? v : acc;
                    else acc += v;
                    count++;
                }
            out[(size_t)i * out_k + j] =
                count == 0 ? -1.0f : how == SHADE_POOL_MEAN ? acc / (float)count : acc;
        }
    }
}
