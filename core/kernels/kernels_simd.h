/* kernels_simd.h - private interface between core/kernels/kernels.c (dispatch, BLAS,
 * reference) and the SIMD matrix-vector kernels: core/kernels/kernels_avx512.c and
 * core/kernels/kernels_avx2.c (AVX2 + FMA + F16C, for CPUs without AVX-512). Each file
 * is compiled with its own target pragma, so its functions may only be called
 * after its kernel_simd_*_usable() returned 1. */
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

/* dst[0..n) = src[0..n) as f32, src F16 or BF16; bit for bit the scalar
 * kernel_f16_to_f32 / kernel_bf16_to_f32. */
void kernel_to_f32_avx512(float *dst, const void *src, kernel_dtype_t dtype, size_t n);

/* The same for AVX2 + FMA + F16C (8-lane vectors; y is again the same
 * to the bit for every n_threads, though not the same bits as AVX-512's). */
int kernel_simd_avx2_usable(void);
void kernel_gemv_avx2(float *y, const float *x, const kernel_weight_t *W, float *partial,
                      int n_threads);
size_t kernel_gemv_avx2_partial(const kernel_weight_t *W);
/* Bit for bit the scalar kernel_f16_to_f32 / kernel_bf16_to_f32. */
void kernel_to_f32_avx2(float *dst, const void *src, kernel_dtype_t dtype, size_t n);

#endif
