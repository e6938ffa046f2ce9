/* kernels_simd.h - private interface between core/kernels.c (dispatch, BLAS,
 * reference) and core/kernels_avx512.c (the AVX-512 matrix-vector kernels).
 * kernels_avx512.c is compiled with an AVX-512 target pragma, so its functions
 * may only be called after kernel_simd_avx512_usable() returned 1. */
#ifndef GPTSCOPE_KERNELS_SIMD_H
#define GPTSCOPE_KERNELS_SIMD_H

#include <stddef.h>

#include "kernels.h"

/* 1 if this CPU (and OS) runs the AVX-512F kernels. */
int kernel_simd_avx512_usable(void);

/* y[out] = x[in] @ W, T == 1, any dtype and layout, on n_threads OpenMP
 * threads; y is the same to the bit for every n_threads. partial: scratch of
 * kernel_gemv_avx512_partial(W) floats (0 for OUT_IN: may be NULL). */
void kernel_gemv_avx512(float *y, const float *x, const kernel_weight_t *W, float *partial,
                        int n_threads);
size_t kernel_gemv_avx512_partial(const kernel_weight_t *W);

/* dst[0..n) = src[0..n) as f32, src F16 or BF16. */
void kernel_to_f32_avx512(float *dst, const void *src, kernel_dtype_t dtype, size_t n);

#endif
