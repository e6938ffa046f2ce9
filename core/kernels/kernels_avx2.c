/* kernels_avx2.c - AVX2 + FMA + F16C matrix-vector kernels for decode (T == 1),
 * for CPUs without AVX-512 (AMD Zen 1-3, Intel before Skylake-X and the
 * client parts that dropped it).
 *
 * The design is kernels_avx512.c's, with 8-lane vectors: decode multiplies
 * one activation row by every weight matrix once, so the time is the time to
 * stream the weights; each weight byte is read exactly once, in one
 * contiguous run per thread, converted F16/BF16 -> f32 in registers.
 *
 * The split of the work never changes the order of any sum, so y is the same
 * to the bit for every thread count (generate's adaptive threads rely on
 * it): OUT_IN gives each output row to one thread, whole; IN_OUT sums fixed
 * bands of input rows, each into its own accumulator, added in band order.
 *
 * The whole file is compiled for AVX2/FMA/F16C whatever -march says;
 * kernels.c calls in only after kernel_simd_avx2_usable() said the CPU runs it. */
#include <cpuid.h>
#include <immintrin.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "kernels_simd.h"

/* Before the target below: the check itself must run on any x86-64. */
int kernel_simd_avx2_usable(void) {
    /* libgcc's check includes the OS having enabled the ymm state (XCR0).
       F16C is CPUID leaf 1, ECX bit 29 (clang's __builtin_cpu_supports does
       not know the name) */
    unsigned a, b, c, d;
    int f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
}

/* gcc takes the target for the rest of the file from its pragma; clang
 * ignores that pragma but applies a target attribute to every function
 * between push and pop (kernels_avx512.c does the same). */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC target("avx2,fma,f16c")
#endif

/* 8 consecutive weights from element index idx, as f32.
 * F16: vcvtph2ps, exact for every finite value (subnormals too, whatever
 * MXCSR says); a signalling NaN comes out quiet, payload kept, as
 * kernel_f16_to_f32 does. BF16: a bf16 is the top half of an f32, so widen to
 * 32 bits and shift left by 16 (exact, every bit kept, NaNs included). */
static inline __attribute__((always_inline)) __m256 load8(const void *w, kernel_dtype_t dt,
                                                          size_t idx) {
    if (dt == KERNEL_F32) return _mm256_loadu_ps((const float *)w + idx);
    const __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + idx));
    if (dt == KERNEL_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* The last n < 8 elements of a row from idx, lanes >= n zero. AVX2 has no
 * masked 16-bit load, so the tail goes through a zeroed copy (once a row). */
static inline __attribute__((always_inline)) __m256 load8_tail(const void *w, kernel_dtype_t dt,
                                                               size_t idx, int n) {
    if (dt == KERNEL_F32) {
        float buf[8] = {0};
        memcpy(buf, (const float *)w + idx, (size_t)n * sizeof(float));
        return _mm256_loadu_ps(buf);
    }
    uint16_t buf[8] = {0};
    memcpy(buf, (const uint16_t *)w + idx, (size_t)n * sizeof(uint16_t));
    return load8(buf, dt, 0);
}

/* Lanes [0, n) all ones: the mask of vmaskmovps for an f32 tail. */
static inline __attribute__((always_inline)) __m256i tail_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Software prefetch of the F16/BF16 weights the next pass over the rows will
 * read (idx: an element index one pass ahead), issued once per 64-byte line
 * (32 elements). On Zen 3 the hardware prefetchers alone left the 2-byte
 * types at ~2/3 of the f32 GB/s (twice the instructions per byte: fewer
 * misses in flight); a fixed distance of 1-4 kB within a row did no better,
 * the next pass's rows gave the model's layers ~30% (bench/). F32 gains
 * nothing. A prefetch never faults, so one past the matrix is harmless. */
static inline __attribute__((always_inline)) void prefetch_pass(const void *w, kernel_dtype_t dt,
                                                                size_t idx) {
    if (dt != KERNEL_F32) _mm_prefetch((const char *)((const uint16_t *)w + idx), _MM_HINT_T0);
}

/* Sum of the 8 lanes in a fixed order: (l0+l4 + l2+l6) + (l1+l5 + l3+l7). */
static inline __attribute__((always_inline)) float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* R (1 or 4) rows of OUT_IN from row r: y[r + j] = sum_k W[r + j, k] x[k].
 * Each row sums 16 columns a step into two accumulators (even and odd
 * 8-blocks: 8 independent FMA chains for R = 4, enough to cover the FMA
 * latency), then one 8-block, then the < 8 tail; the two are added and
 * reduced last. The order depends on `in` only, never on R, so a row gives
 * the same bits in the 4-row pass and in the 1-row remainder, whichever a
 * thread split puts it in. R is a compile-time constant at each call. */
static inline __attribute__((always_inline)) void dot_rows(float *y, const float *x, const void *w,
                                                           kernel_dtype_t dt, int in, int r,
                                                           int R) {
    const int in16 = in & ~15, in8 = in & ~7, tail = in - in8;
    size_t base[4];
    __m256 a[4], b[4];
    for (int j = 0; j < R; j++) {
        base[j] = (size_t)(r + j) * (size_t)in;
        a[j] = _mm256_setzero_ps();
        b[j] = _mm256_setzero_ps();
    }
    for (int k = 0; k < in16; k += 16) {
        const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
        for (int j = 0; j < R; j++) {
            if ((k & 31) == 0) prefetch_pass(w, dt, base[j] + (size_t)R * (size_t)in + (size_t)k);
            a[j] = _mm256_fmadd_ps(load8(w, dt, base[j] + (size_t)k), x0, a[j]);
            b[j] = _mm256_fmadd_ps(load8(w, dt, base[j] + (size_t)k + 8), x1, b[j]);
        }
    }
    if (in8 > in16) {
        const __m256 x0 = _mm256_loadu_ps(x + in16);
        for (int j = 0; j < R; j++)
            a[j] = _mm256_fmadd_ps(load8(w, dt, base[j] + (size_t)in16), x0, a[j]);
    }
    if (tail) {
        const __m256 x0 = _mm256_maskload_ps(x + in8, tail_mask(tail));
        for (int j = 0; j < R; j++)
            b[j] = _mm256_fmadd_ps(load8_tail(w, dt, base[j] + (size_t)in8, tail), x0, b[j]);
    }
    for (int j = 0; j < R; j++) y[r + j] = hsum8(_mm256_add_ps(a[j], b[j]));
}

/* Rows [r0, r1) of OUT_IN, four at a time (each load of x serves four rows). */
static inline __attribute__((always_inline)) void gemv_out_in_rows(float *y, const float *x,
                                                                   const void *w, kernel_dtype_t dt,
                                                                   int in, int r0, int r1) {
    int r = r0;
    for (; r + 4 <= r1; r += 4) dot_rows(y, x, w, dt, in, r, 4);
    for (; r < r1; r++) dot_rows(y, x, w, dt, in, r, 1);
}

/* Rows [i0, i1) of IN_OUT: acc[0..out) = sum_i x[i] W[i, :], the rows added
 * in order i0, i0 + 1, ... into every column. Four rows per pass over the
 * columns cut the accumulator loads/stores to one per four FMAs; the sum
 * per column is the same sequence of FMAs as one row per pass. acc (out
 * floats) stays in L1/L2. */
static inline __attribute__((always_inline)) void gemv_in_out_rows(float *acc, const float *x,
                                                                   const void *w, kernel_dtype_t dt,
                                                                   int out, int i0, int i1) {
    const int out8 = out & ~7, tail = out - out8;
    const __m256i m = tail_mask(tail);
    memset(acc, 0, (size_t)out * sizeof(float));
    int i = i0;
    for (; i + 4 <= i1; i += 4) {
        const size_t b0 = (size_t)i * (size_t)out, b1 = b0 + (size_t)out, b2 = b1 + (size_t)out,
                     b3 = b2 + (size_t)out;
        const __m256 x0 = _mm256_set1_ps(x[i]), x1 = _mm256_set1_ps(x[i + 1]);
        const __m256 x2 = _mm256_set1_ps(x[i + 2]), x3 = _mm256_set1_ps(x[i + 3]);
        for (int o = 0; o < out8; o += 8) {
            __m256 a = _mm256_loadu_ps(acc + o);
            if ((o & 31) == 0) { /* rows i + 4 .. i + 7 */
                prefetch_pass(w, dt, b0 + 4 * (size_t)out + (size_t)o);
                prefetch_pass(w, dt, b1 + 4 * (size_t)out + (size_t)o);
                prefetch_pass(w, dt, b2 + 4 * (size_t)out + (size_t)o);
                prefetch_pass(w, dt, b3 + 4 * (size_t)out + (size_t)o);
            }
            a = _mm256_fmadd_ps(load8(w, dt, b0 + (size_t)o), x0, a);
            a = _mm256_fmadd_ps(load8(w, dt, b1 + (size_t)o), x1, a);
            a = _mm256_fmadd_ps(load8(w, dt, b2 + (size_t)o), x2, a);
            a = _mm256_fmadd_ps(load8(w, dt, b3 + (size_t)o), x3, a);
            _mm256_storeu_ps(acc + o, a);
        }
        if (tail) {
            __m256 a = _mm256_maskload_ps(acc + out8, m);
            a = _mm256_fmadd_ps(load8_tail(w, dt, b0 + (size_t)out8, tail), x0, a);
            a = _mm256_fmadd_ps(load8_tail(w, dt, b1 + (size_t)out8, tail), x1, a);
            a = _mm256_fmadd_ps(load8_tail(w, dt, b2 + (size_t)out8, tail), x2, a);
            a = _mm256_fmadd_ps(load8_tail(w, dt, b3 + (size_t)out8, tail), x3, a);
            _mm256_maskstore_ps(acc + out8, m, a);
        }
    }
    for (; i < i1; i++) {
        const size_t b0 = (size_t)i * (size_t)out;
        const __m256 x0 = _mm256_set1_ps(x[i]);
        for (int o = 0; o < out8; o += 8)
            _mm256_storeu_ps(acc + o, _mm256_fmadd_ps(load8(w, dt, b0 + (size_t)o), x0,
                                                      _mm256_loadu_ps(acc + o)));
        if (tail)
            _mm256_maskstore_ps(acc + out8, m,
                                _mm256_fmadd_ps(load8_tail(w, dt, b0 + (size_t)out8, tail), x0,
                                                _mm256_maskload_ps(acc + out8, m)));
    }
}

/* Work of thread t of n on a dimension of length len: [*lo, *hi). */
static void split_range(int len, int t, int n, int *lo, int *hi) {
    *lo = (int)((int64_t)len * t / n);
    *hi = (int)((int64_t)len * (t + 1) / n);
}

/* IN_OUT is summed in bands of KERNEL_AVX2_BAND input rows; the bands are
 * fixed by the shape, not by the thread count (see the top of the file). */
#define KERNEL_AVX2_BAND 128

static int gemv_n_bands(int in) { return (in + KERNEL_AVX2_BAND - 1) / KERNEL_AVX2_BAND; }

size_t kernel_gemv_avx2_partial(const kernel_weight_t *W) {
    if (W->layout != KERNEL_IN_OUT) return 0;
    return (size_t)(gemv_n_bands(W->in) - 1) * (size_t)W->out;
}

/* Work t of n (rows of OUT_IN, or bands of IN_OUT), dt a compile-time
 * constant in each call so the conversion is chosen outside the loops. */
static inline __attribute__((always_inline)) void gemv_part(float *y, const float *x,
                                                            const kernel_weight_t *W,
                                                            float *partial, int t, int n,
                                                            kernel_dtype_t dt) {
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
        const int r0 = b * KERNEL_AVX2_BAND;
        const int r1 = r0 + KERNEL_AVX2_BAND < W->in ? r0 + KERNEL_AVX2_BAND : W->in;
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

/* Adds the band sums 1..nb-1 into y for columns [lo, hi), in band order
 * (element-wise adds: the same bits however the columns are split). */
static void reduce_partials(float *y, const float *partial, int out, int nb, int lo, int hi) {
    for (int p = 0; p < nb - 1; p++) {
        const float *src = partial + (size_t)p * (size_t)out;
        for (int o = lo; o < hi; o++) y[o] += src[o];
    }
}

/* y[out] = x[in] @ W: OUT_IN [out, in] y[o] = sum_k W[o, k] x[k];
 * IN_OUT [in, out] y = sum over bands B of (sum_{i in B} x[i] W[i, :]). */
void kernel_gemv_avx2(float *y, const float *x, const kernel_weight_t *W, float *partial,
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

/* dst[0..n) = f32(src[0..n)), src F16 or BF16; bit for bit what the scalar
 * kernel_f16_to_f32 / kernel_bf16_to_f32 give (see load8). */
void kernel_to_f32_avx2(float *dst, const void *src, kernel_dtype_t dtype, size_t n) {
    size_t i = 0;
    if (dtype == KERNEL_F16) {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8(src, KERNEL_F16, i));
    } else {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8(src, KERNEL_BF16, i));
    }
    if (i < n) {
        const int rest = (int)(n - i);
        const __m256 v = dtype == KERNEL_F16 ? load8_tail(src, KERNEL_F16, i, rest)
                                             : load8_tail(src, KERNEL_BF16, i, rest);
        _mm256_maskstore_ps(dst + i, tail_mask(rest), v);
    }
}

#if defined(__clang__)
#pragma clang attribute pop
#endif
