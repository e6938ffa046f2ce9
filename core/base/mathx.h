/* mathx.h - small maths helpers shared by the kernels that must vectorise.
 * libm's expf is a call the compiler will not vectorise without -ffast-math
 * (which would also break NaN handling elsewhere), so the loops over the
 * vocabulary (softmax) and the MLP (GELU) use this branch-free version. */
#ifndef GPTSCOPE_MATHX_H
#define GPTSCOPE_MATHX_H

#include <string.h>

/* exp(x) for x <= 88, written without branches or calls so that loops over
 * the vocabulary vectorise (libm's expf does not without -ffast-math).
 * exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln2 / 2, with ln 2 split
 * in two so r is exact to float precision; exp(r) by its Taylor series to
 * r^7 (truncation error < 6e-9 relative, below float rounding). 2^n is built
 * in the exponent bits. x <= -87.3 (2^n would leave the normal range) and
 * NaN give 0, and exp(0) is exactly 1. */
static inline float mathx_exp(float x) {
    /* NaN fails both tests and is clamped too, so (int)n below stays defined */
    float xc = x > -87.3f ? (x < 88.0f ? x : 88.0f) : -87.3f;
    /* round to nearest by the 1.5 * 2^23 trick: floorf would not vectorise
     * under strict IEEE flags; valid for |x / ln 2| < 2^22 */
    float n = (xc * 1.44269504f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693145752f - n * 1.42860677e-6f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int bits = ((int)n + 127) << 23;
    float two_n;
    memcpy(&two_n, &bits, sizeof two_n); /* a bit cast the vectoriser understands */
    return x > -87.3f ? p * two_n : 0.0f;
}

#endif
