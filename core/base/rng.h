/* rng.h - small seeded random number generator (xoshiro256**, seeded through
 * splitmix64) so that a seed reproduces a run exactly on every machine. */
#ifndef GPTSCOPE_RNG_H
#define GPTSCOPE_RNG_H

#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
} rng_t;

void rng_seed(rng_t *r, uint64_t seed);
uint64_t rng_next(rng_t *r);
/* Uniform float in [0, 1) with 24 random bits. */
float rng_uniform(rng_t *r);
/* Standard normal (Box-Muller), for weight initialisation. */
float rng_normal(rng_t *r);

#endif
