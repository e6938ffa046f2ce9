/* kernels_avx512.c - AVX-512 matrix-vector kernels for decode (T == 1).
 *
 * Decoding one token multiplies a single activation row by every weight
 * matrix once, so the time is the time to stream the weights from memory:
 * these kernels are built to read each weight byte exactly once, in long
 * sequential runs, one contiguous run per thread (what the hardware
 * prefetchers follow best), converting F16/BF16 to f32 in registers.
 *
 * The whole file is compiled for AVX-512F whatever -march says; kernels.c
 * calls in only after kernel_simd_avx512_usable() said the CPU runs it. */
#include <immintrin.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

/* gcc takes the target for the rest of the file from its pragma; clang
 * ignores that pragma (and then refuses the intrinsics when -march lacks
 * AVX-512, as on an AVX2-only host) but applies a target attribute to every
 * function between push and pop. */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")
#endif

#include "kernels_simd.h"

int kernel_simd_avx512_usable(void) {
    /* libgcc's check includes the OS having enabled the zmm state (XCR0). */
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
}

/* 16 consecutive weights from element index idx, as f32.
 * F16: vcvtph2ps. BF16: a bf16 is the top half of an f32, so widen to 32
 * bits and shift left by 16 (exact, including NaN/Inf/subnormals). */
static inline __attribute__((always_inline)) __m512 load16(const void *w, kernel_dtype_t dt,
                                                           size_t idx) {
    if (dt == KERNEL_F32) return _mm512_loadu_ps((const float *)w + idx);
    __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)w + idx));
    if (dt == KERNEL_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* The same for the last n < 16 elements of a row; lanes >= n are 0. */
static inline __attribute__((always_inline)) __m512 load16_tail(const void *w, kernel_dtype_t dt,
                                                                size_t idx, __mmask16 m) {
    if (dt == KERNEL_F32) return _mm512_maskz_loadu_ps(m, (const float *)w + idx);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)w + idx);
    if (dt == KERNEL_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* Software prefetch 2 kB ahead in each row stream. With F16/BF16 the
 * hardware prefetchers alone left the kernels at ~75% of the f32 GB/s (twice
 * the instructions per byte, so fewer misses in flight); with the prefetch
 * they stream as fast as f32. F32 gains nothing from it (bench/). */
static inline __attribute__((always_inline)) void prefetch_ahead(const void *w, kernel_dtype_t dt,
                                                                 size_t idx) {
    if (dt != KERNEL_F32) _mm_prefetch((const char *)((const uint16_t *)w + idx) + 2048, _MM_HINT_T0);
}

/* Rows [r0, r1) of OUT_IN: y[r] = sum_k W[r, k] x[k], a dot product per row.
 * Four rows at once share each load of x and give four independent FMA
 * chains; x (at most a few kB) stays in L1. */
static inline __attribute__((always_inline)) void gemv_out_in_rows(float *y, const float *x,
                                                                   const void *w, kernel_dtype_t dt,
                                                                   int in, int r0, int r1) {
    const int in16 = in & ~15;
    const __mmask16 tail = (__mmask16)((1u << (in - in16)) - 1u);
    int r = r0;
    for (; r + 4 <= r1; r += 4) {
        const size_t b0 = (size_t)r * (size_t)in, b1 = b0 + (size_t)in, b2 = b1 + (size_t)in,
                     b3 = b2 + (size_t)in;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
        for (int k = 0; k < in16; k += 16) {
            const __m512 xv = _mm512_loadu_ps(x + k);
            prefetch_ahead(w, dt, b0 + (size_t)k);
            prefetch_ahead(w, dt, b1 + (size_t)k);
            prefetch_ahead(w, dt, b2 + (size_t)k);
            prefetch_ahead(w, dt, b3 + (size_t)k);
            a0 = _mm512_fmadd_ps(load16(w, dt, b0 + (size_t)k), xv, a0);
            a1 = _mm512_fmadd_ps(load16(w, dt, b1 + (size_t)k), xv, a1);
            a2 = _mm512_fmadd_ps(load16(w, dt, b2 + (size_t)k), xv, a2);
            a3 = _mm512_fmadd_ps(load16(w, dt, b3 + (size_t)k), xv, a3);
        }
        if (tail) {
            const __m512 xv = _mm512_maskz_loadu_ps(tail, x + in16);
            a0 = _mm512_fmadd_ps(load16_tail(w, dt, b0 + (size_t)in16, tail), xv, a0);
            a1 = _mm512_fmadd_ps(load16_tail(w, dt, b1 + (size_t)in16, tail), xv, a1);
            a2 = _mm512_fmadd_ps(load16_tail(w, dt, b2 + (size_t)in16, tail), xv, a2);
            a3 = _mm512_fmadd_ps(load16_tail(w, dt, b3 + (size_t)in16, tail), xv, a3);
        }
        y[r] = _mm512_reduce_add_ps(a0);
        y[r + 1] = _mm512_reduce_add_ps(a1);
        y[r + 2] = _mm512_reduce_add_ps(a2);
        y[r + 3] = _mm512_reduce_add_ps(a3);
    }
    for (; r < r1; r++) {
        const size_t b0 = (size_t)r * (size_t)in;
        __m512 a0 = _mm512_setzero_ps();
        for (int k = 0; k < in16; k += 16)
            a0 = _mm512_fmadd_ps(load16(w, dt, b0 + (size_t)k), _mm512_loadu_ps(x + k), a0);
        if (tail)
            a0 = _mm512_fmadd_ps(load16_tail(w, dt, b0 + (size_t)in16, tail),
                                 _mm512_maskz_loadu_ps(tail, x + in16), a0);
        y[r] = _mm512_reduce_add_ps(a0);
    }
}

/* Rows [i0, i1) of IN_OUT: acc[0..out) = sum_i x[i] W[i, :]. Each thread takes
 * a contiguous band of rows (one sequential stream) and sums into its own
 * out-long accumulator, which stays in L1/L2; the bands are added afterwards.
 * Four rows per pass cut the accumulator loads/stores to one per 4 FMAs. */
static inline __attribute__((always_inline)) void gemv_in_out_rows(float *acc, const float *x,
                                                                   const void *w, kernel_dtype_t dt,
                                                                   int out, int i0, int i1) {
    const int out16 = out & ~15;
    const __mmask16 tail = (__mmask16)((1u << (out - out16)) - 1u);
    memset(acc, 0, (size_t)out * sizeof(float));
    int i = i0;
    for (; i + 4 <= i1; i += 4) {
        const size_t b0 = (size_t)i * (size_t)out, b1 = b0 + (size_t)out, b2 = b1 + (size_t)out,
                     b3 = b2 + (size_t)out;
        const __m512 x0 = _mm512_set1_ps(x[i]), x1 = _mm512_set1_ps(x[i + 1]);
        const __m512 x2 = _mm512_set1_ps(x[i + 2]), x3 = _mm512_set1_ps(x[i + 3]);
        for (int o = 0; o < out16; o += 16) {
            __m512 a = _mm512_loadu_ps(acc + o);
            prefetch_ahead(w, dt, b0 + (size_t)o);
            prefetch_ahead(w, dt, b1 + (size_t)o);
            prefetch_ahead(w, dt, b2 + (size_t)o);
            prefetch_ahead(w, dt, b3 + (size_t)o);
            a = _mm512_fmadd_ps(load16(w, dt, b0 + (size_t)o), x0, a);
            a = _mm512_fmadd_ps(load16(w, dt, b1 + (size_t)o), x1, a);
            a = _mm512_fmadd_ps(load16(w, dt, b2 + (size_t)o), x2, a);
            a = _mm512_fmadd_ps(load16(w, dt, b3 + (size_t)o), x3, a);
            _mm512_storeu_ps(acc + o, a);
        }
        if (tail) {
            __m512 a = _mm512_maskz_loadu_ps(tail, acc + out16);
            a = _mm512_fmadd_ps(load16_tail(w, dt, b0 + (size_t)out16, tail), x0, a);
            a = _mm512_fmadd_ps(load16_tail(w, dt, b1 + (size_t)out16, tail), x1, a);
            a = _mm512_fmadd_ps(load16_tail(w, dt, b2 + (size_t)out16, tail), x2, a);
            a = _mm512_fmadd_ps(load16_tail(w, dt, b3 + (size_t)out16, tail), x3, a);
            _mm512_mask_storeu_ps(acc + out16, tail, a);
        }
    }
    for (; i < i1; i++) {
        const size_t b0 = (size_t)i * (size_t)out;
        const __m512 x0 = _mm512_set1_ps(x[i]);
        for (int o = 0; o < out16; o += 16)
            _mm512_storeu_ps(acc + o, _mm512_fmadd_ps(load16(w, dt, b0 + (size_t)o), x0,
                                                      _mm512_loadu_ps(acc + o)));
        if (tail)
            _mm512_mask_storeu_ps(acc + out16, tail,
                                  _mm512_fmadd_ps(load16_tail(w, dt, b0 + (size_t)out16, tail), x0,
                                                  _mm512_maskz_loadu_ps(tail, acc + out16)));
    }
}

/* Work of thread t of n on a dimension of length len: [*lo, *hi). */
static void split_range(int len, int t, int n, int *lo, int *hi) {
    *lo = (int)((int64_t)len * t / n);
    *hi = (int)((int64_t)len * (t + 1) / n);
}

/* IN_OUT is summed in bands of KERNEL_GEMV_BAND rows, each band into its
 * own accumulator, the bands then added in order. The bands do not depend
 * on the thread count, so neither does a single bit of y: a run may change
 * its thread count between tokens (generate's adaptive threads) and still
 * give the output a fixed count gives. */
#define KERNEL_GEMV_BAND 128

static int gemv_n_bands(int in) { return (in + KERNEL_GEMV_BAND - 1) / KERNEL_GEMV_BAND; }

size_t kernel_gemv_avx512_partial(const kernel_weight_t *W) {
    if (W->layout != KERNEL_IN_OUT) return 0;
    return (size_t)(gemv_n_bands(W->in) - 1) * (size_t)W->out;
}

/* Work t of n (rows of OUT_IN, or bands of IN_OUT). The dtype is a
 * compile-time constant in each call so the conversion is chosen outside
 * the inner loops. */
static void gemv_part(float *y, const float *x, const kernel_weight_t *W, float *partial, int t,
                      int n, kernel_dtype_t dt) {
    int lo, hi;
    if (W->layout == KERNEL_OUT_IN) {
        split_range(W->out, t, n, &lo, &hi);
        gemv_out_in_rows(y, x, W->data, dt, W->in, lo, hi);
        return;
    }
    /* IN_OUT: band 0 sums straight into y, band b > 0 into partial[b-1]. */
    const int nb = gemv_n_bands(W->in);
    split_range(nb, t, n, &lo, &hi);
    for (int b = lo; b < hi; b++) {
        const int r0 = b * KERNEL_GEMV_BAND;
        const int r1 = r0 + KERNEL_GEMV_BAND < W->in ? r0 + KERNEL_GEMV_BAND : W->in;
        gemv_in_out_rows(b == 0 ? y : partial + (size_t)(b - 1) * (size_t)W->out, x, W->data, dt,
                         W->out, r0, r1);
    }
}

static void gemv_part_dispatch(float *y, const float *x, const kernel_weight_t *W, float *partial,
                               int t, int n) {
    switch (W->dtype) {
    case KERNEL_F32: gemv_part(y, x, W, partial, t, n, KERNEL_F32); break;
    case KERNEL_F16: gemv_part(y, x, W, partial, t, n, KERNEL_F16); break;
    case KERNEL_BF16: gemv_part(y, x, W, partial, t, n, KERNEL_BF16); break;
    }
}

/* Adds the band sums 1..nb-1 into y for columns [lo, hi), in band order. */
static void reduce_partials(float *y, const float *partial, int out, int nb, int lo, int hi) {
    for (int p = 0; p < nb - 1; p++) {
        const float *src = partial + (size_t)p * (size_t)out;
        for (int o = lo; o < hi; o++) y[o] += src[o];
    }
}

void kernel_gemv_avx512(float *y, const float *x, const kernel_weight_t *W, float *partial,
                        int n_threads) {
    const int in_out = W->layout == KERNEL_IN_OUT, nb = in_out ? gemv_n_bands(W->in) : 1;
    if (n_threads <= 1) {
        gemv_part_dispatch(y, x, W, partial, 0, 1);
        if (in_out) reduce_partials(y, partial, W->out, nb, 0, W->out);
        return;
    }
#pragma omp parallel num_threads(n_threads)
    {
        const int t = omp_get_thread_num(), n = omp_get_num_threads();
        gemv_part_dispatch(y, x, W, partial, t, n);
        if (in_out && nb > 1) {
            int lo, hi;
#pragma omp barrier
            split_range(W->out, t, n, &lo, &hi);
            reduce_partials(y, partial, W->out, nb, lo, hi);
        }
    }
}

void kernel_to_f32_avx512(float *dst, const void *src, kernel_dtype_t dtype, size_t n) {
    size_t i = 0;
    if (dtype == KERNEL_F16) {
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, load16(src, KERNEL_F16, i));
    } else {
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, load16(src, KERNEL_BF16, i));
    }
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        const __m512 v = dtype == KERNEL_F16 ? load16_tail(src, KERNEL_F16, i, m)
                                             : load16_tail(src, KERNEL_BF16, i, m);
        _mm512_mask_storeu_ps(dst + i, m, v);
    }
}

#if defined(__clang__)
#pragma clang attribute pop
#endif
