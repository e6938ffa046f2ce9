/* memx.h - the one way core allocates large float arrays (weights, grads,
 * optimiser state, activations): 64-byte aligned, so AVX-512 loads and AMX
 * tile loads never split a cache line, and zeroed, so a fresh buffer is a
 * valid all-zero state (AdamW's moments, gradients, dropout-free padding).
 * aligned_alloc wants a size that is a multiple of the alignment (C11), so
 * the size is rounded up; the padding past n is zero too. Free with free(). */
#ifndef GPTSCOPE_MEMX_H
#define GPTSCOPE_MEMX_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* n zeroed floats, or NULL when out of memory or n * 4 overflows. */
static inline float *memx_floats(size_t n) {
    if (n > (SIZE_MAX - 63) / sizeof(float)) return NULL;
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    if (bytes == 0) bytes = 64;
    float *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

#endif
