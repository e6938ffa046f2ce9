/* rng.c - xoshiro256** seeded through splitmix64.
 *
 * Why this generator: it is tiny, fast, has 256 bits of state (no short
 * cycles for any seed), and is fully specified by integer arithmetic, so a
 * seed gives the same stream on every compiler and machine. That is what
 * makes `--seed S` reproduce a generation exactly. The state lives in the
 * caller's rng_t; there is no global generator. */
#include "rng.h"

#include <math.h>

static uint64_t rotl64(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

/* splitmix64 spreads a possibly low-entropy seed (0, 1, 2, ...) over the four
 * state words; xoshiro must never start from the all-zero state, and
 * splitmix64 never produces four zero outputs in a row. */
static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_seed(rng_t *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t rng_next(rng_t *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* The top 24 bits (the best-mixed ones) scaled by 2^-24: every value is an
 * exact float in [0, 1), and 1.0 can never come out, so u * total < total. */
float rng_uniform(rng_t *r) {
    return (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

/* Box-Muller: z = sqrt(-2 ln u1) cos(2 pi u2). u1 is taken in (0, 1] so the
 * log is finite. One of the pair is discarded so the generator needs no cached
 * state beyond s[4]; initialisation is not on a hot path. */
float rng_normal(rng_t *r) {
    double u1 = ((double)(rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
