/* kernels.c - y = x @ W (+ b) for every weight layout and dtype, the f16/bf16
 * conversions, and the plain reference the fast paths are tested against.
 *
 * How each case runs (T = number of activation rows):
 *   T == 1, any dtype  kernels_avx512.c where the CPU has AVX-512, else
 *                      kernels_avx2.c where it has AVX2 + FMA + F16C: weights
 *                      streamed once, converted in registers, the same bits
 *                      for every thread count
 *   T == 1, portable   F32: OpenBLAS sgemv; F16/BF16: the T > 1 route
 *   T > 1,  F32        OpenBLAS sgemm straight on the (mapped) weights
 *   T > 1,  F16/BF16   weights converted to f32 one block of output columns
 *                      at a time into ctx scratch (stays in L2), then sgemm;
 *                      the conversion vectorised like the decode path
 *
 * Threads: Debian's OpenMP build of OpenBLAS runs its threads in the same
 * libgomp pool as our own `omp parallel` regions, so the two never fight
 * over the cores. The BLAS thread count is set from the ctx before each call
 * (openblas_set_num_threads also sets the OpenMP default for the calling
 * thread; our regions always name their count explicitly). */
#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_simd.h"

/* f32 bytes per converted weight block in the F16/BF16 sgemm path: small
 * enough to stay in L2 between the conversion and the sgemm that reads it,
 * large enough that each sgemm call has a few hundred columns to work on. */
#define KERNEL_BLOCK_BYTES ((size_t)1 << 20)

/* Which own SIMD code a ctx runs, in increasing order of preference. */
typedef enum {
    KERNEL_PATH_PORTABLE = 0,
    KERNEL_PATH_AVX2 = 1,
    KERNEL_PATH_AVX512 = 2
} kernel_path_t;

struct kernel_ctx {
    int n_threads;
    kernel_path_t path; /* decode kernels and weight conversion */
    float *wbuf;        /* converted weight block (F16/BF16, T > 1) */
    size_t wbuf_cap;    /* floats */
    float *partial;     /* per-thread partial sums (IN_OUT decode) */
    size_t partial_cap; /* floats */
};

kernel_ctx_t *kernel_ctx_init(int n_threads) {
    kernel_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->n_threads = n_threads > 0 ? n_threads : 1;
    /* GPTSCOPE_KERNELS caps the path, so tests and bench can check and time
     * each one on any machine: "portable" (no SIMD code of our own: what a CPU
     * without AVX2 runs), "avx2" (AVX2 even where AVX-512 is there), "avx512"
     * or unset or anything else (the best the CPU runs). A path the CPU cannot
     * run falls back to the next one down; kernel_ctx_path says which runs. */
    const char *force = getenv("GPTSCOPE_KERNELS");
    kernel_path_t cap = KERNEL_PATH_AVX512;
    if (force && strcmp(force, "portable") == 0) cap = KERNEL_PATH_PORTABLE;
    else if (force && strcmp(force, "avx2") == 0) cap = KERNEL_PATH_AVX2;
    if (cap >= KERNEL_PATH_AVX512 && kernel_simd_avx512_usable()) ctx->path = KERNEL_PATH_AVX512;
    else if (cap >= KERNEL_PATH_AVX2 && kernel_simd_avx2_usable()) ctx->path = KERNEL_PATH_AVX2;
    else ctx->path = KERNEL_PATH_PORTABLE;
    return ctx;
}

void kernel_ctx_free(kernel_ctx_t *ctx) {
    if (!ctx) return;
    free(ctx->wbuf);
    free(ctx->partial);
    free(ctx);
}

int kernel_ctx_threads(const kernel_ctx_t *ctx) { return ctx->n_threads; }

void kernel_ctx_set_threads(kernel_ctx_t *ctx, int n_threads) {
    ctx->n_threads = n_threads > 0 ? n_threads : 1;
}

int kernel_ctx_decode_invariant(const kernel_ctx_t *ctx) {
    return ctx->path != KERNEL_PATH_PORTABLE;
}

const char *kernel_ctx_path(const kernel_ctx_t *ctx) {
    switch (ctx->path) {
    case KERNEL_PATH_AVX512: return "avx512";
    case KERNEL_PATH_AVX2: return "avx2";
    default: return "portable";
    }
}

/* Grows *buf to hold n floats; the old contents are not kept. */
static int grow(float **buf, size_t *cap, size_t n) {
    if (n <= *cap) return 0;
    float *p = malloc(n * sizeof(float));
    if (!p) return -1;
    free(*buf);
    *buf = p;
    *cap = n;
    return 0;
}

/* ---- element types -------------------------------------------------- */

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits. A NaN comes
 * out quiet (f32 bit 22 set) with its payload kept, which is what F16C's
 * vcvtph2ps does: every path of kernel_row_to_f32 gives the same bits for
 * all 65536 halves (tests/test_kernels.c checks each). */
float kernel_f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu;
    if (exp == 0x1F) /* Inf; NaN quietened, payload kept */
        return bits_f32(sign | 0x7F800000u | (man ? 0x400000u : 0) | (man << 13));
    if (exp != 0) return bits_f32(sign | ((exp + 112u) << 23) | (man << 13)); /* 127 - 15 = 112 */
    /* zero or subnormal: man * 2^-24, exact in f32 */
    const float mag = (float)man * 0x1p-24f;
    return sign ? -mag : mag;
}

uint16_t kernel_f32_to_f16(float f) {
    const uint32_t u = f32_bits(f);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    const uint32_t a = u & 0x7FFFFFFFu;
    if (a >= 0x7F800000u) /* Inf stays Inf; NaN stays a quiet NaN */
        return (uint16_t)(sign | 0x7C00u | (a > 0x7F800000u ? 0x200u | ((a >> 13) & 0x3FFu) : 0));
    if (a >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); /* rounds past 65504 */
    const int e = (int)(a >> 23) - 127;
    if (e >= -14) {
        /* normal: drop 13 mantissa bits with round-to-nearest-even; a carry
         * out of the mantissa correctly bumps the exponent. */
        const uint32_t r = (uint32_t)(e + 15) << 10 | ((a >> 13) & 0x3FFu);
        const uint32_t rest = a & 0x1FFFu;
        return (uint16_t)(sign | (r + (rest > 0x1000u || (rest == 0x1000u && (r & 1u)))));
    }
    if (e < -25) return sign; /* below half the smallest subnormal: +-0 */
    /* subnormal: value = m * 2^-24 with m = full mantissa >> shift */
    const uint32_t full = (a & 0x7FFFFFu) | 0x800000u;
    const int shift = -e - 1; /* 14..24: puts 2^e at bit (24 + e) */
    const uint32_t m = full >> shift, rest = full & ((1u << shift) - 1u), half = 1u << (shift - 1);
    return (uint16_t)(sign | (m + (rest > half || (rest == half && (m & 1u)))));
}

/* bfloat16: the top 16 bits of an f32. */
float kernel_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t kernel_f32_to_bf16(float f) {
    const uint32_t u = f32_bits(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    /* adding 0x7FFF plus the lowest kept bit rounds to nearest, ties to even;
     * overflow of the largest finite values into Inf is the correct result. */
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

/* dst = f32(src) on the given path; every path gives the same bits. */
static void row_to_f32_path(kernel_path_t path, float *dst, const void *src, kernel_dtype_t dtype,
                            size_t n) {
    if (dtype == KERNEL_F32) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    if (path == KERNEL_PATH_AVX512) {
        kernel_to_f32_avx512(dst, src, dtype, n);
        return;
    }
    if (path == KERNEL_PATH_AVX2) {
        kernel_to_f32_avx2(dst, src, dtype, n);
        return;
    }
    const uint16_t *h = src;
    if (dtype == KERNEL_F16)
        for (size_t i = 0; i < n; i++) dst[i] = kernel_f16_to_f32(h[i]);
    else
        for (size_t i = 0; i < n; i++) dst[i] = kernel_bf16_to_f32(h[i]);
}

void kernel_row_to_f32(float *dst, const void *src, kernel_dtype_t dtype, size_t n) {
    /* cheap: the checks read libgcc's cached CPUID */
    const kernel_path_t path = kernel_simd_avx512_usable() ? KERNEL_PATH_AVX512
                               : kernel_simd_avx2_usable() ? KERNEL_PATH_AVX2
                                                           : KERNEL_PATH_PORTABLE;
    row_to_f32_path(path, dst, src, dtype, n);
}

/* ---- reference ------------------------------------------------------ */

/* W[i, o] in the mathematical [in, out] sense, whatever the storage. */
static float weight_at(const kernel_weight_t *W, int i, int o) {
    const size_t idx = W->layout == KERNEL_IN_OUT ? (size_t)i * (size_t)W->out + (size_t)o
                                                  : (size_t)o * (size_t)W->in + (size_t)i;
    switch (W->dtype) {
    case KERNEL_F16: return kernel_f16_to_f32(((const uint16_t *)W->data)[idx]);
    case KERNEL_BF16: return kernel_bf16_to_f32(((const uint16_t *)W->data)[idx]);
    default: return ((const float *)W->data)[idx];
    }
}

/* y[t, o] = sum_i x[t, i] W[i, o] + b[o], summed in double so the oracle is
 * more accurate than anything it checks. */
void kernel_linear_ref(float *y, const float *x, int T, const kernel_weight_t *W, const float *b) {
    for (int t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * (size_t)W->in;
        for (int o = 0; o < W->out; o++) {
            double s = b ? b[o] : 0.0;
            for (int i = 0; i < W->in; i++) s += (double)xt[i] * (double)weight_at(W, i, o);
            y[(size_t)t * (size_t)W->out + (size_t)o] = (float)s;
        }
    }
}

/* ---- fast paths ----------------------------------------------------- */

static void blas_threads(const kernel_ctx_t *ctx) {
    if (openblas_get_num_threads() != ctx->n_threads) openblas_set_num_threads(ctx->n_threads);
}

void kernel_gemm(kernel_ctx_t *ctx, int trans_b, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float *C, int ldc) {
    blas_threads(ctx);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha,
                A, lda, B, ldb, 0.0f, C, ldc);
}

void kernel_gemm_ref(int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                     const float *B, int ldb, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++)
                acc += (double)A[(size_t)i * lda + k] *
                       (trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
            C[(size_t)i * ldc + j] = (float)(alpha * acc);
        }
}

/* F32 weights straight through BLAS. Row-major y[T, out] = x[T, in] @ W:
 * IN_OUT W is [in, out] (no transpose); OUT_IN W is [out, in] (transposed). */
static void linear_f32_blas(float *y, const float *x, int T, const kernel_weight_t *W) {
    const float *w = W->data;
    if (T == 1) {
        if (W->layout == KERNEL_IN_OUT)
            cblas_sgemv(CblasRowMajor, CblasTrans, W->in, W->out, 1.0f, w, W->out, x, 1, 0.0f, y, 1);
        else
            cblas_sgemv(CblasRowMajor, CblasNoTrans, W->out, W->in, 1.0f, w, W->in, x, 1, 0.0f, y,
                        1);
    } else if (W->layout == KERNEL_IN_OUT) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, W->out, W->in, 1.0f, x, W->in, w,
                    W->out, 0.0f, y, W->out);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, W->out, W->in, 1.0f, x, W->in, w,
                    W->in, 0.0f, y, W->out);
    }
}

/* Converts columns [o0, o0 + nb) of W to f32 into dst, laid out as the same
 * layout restricted to those columns: IN_OUT -> [in, nb], OUT_IN -> [nb, in]. */
static void convert_block(const kernel_ctx_t *ctx, float *dst, const kernel_weight_t *W, int o0,
                          int nb) {
    const uint16_t *w = W->data;
    const size_t in = (size_t)W->in, out = (size_t)W->out;
    if (W->layout == KERNEL_OUT_IN) {
        /* the rows o0.. are contiguous: split the run evenly between threads */
        const size_t n = (size_t)nb * in, start = (size_t)o0 * in;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if (ctx->n_threads > 1)
        for (int t = 0; t < ctx->n_threads; t++) {
            const size_t lo = n * (size_t)t / (size_t)ctx->n_threads;
            const size_t hi = n * (size_t)(t + 1) / (size_t)ctx->n_threads;
            row_to_f32_path(ctx->path, dst + lo, w + start + lo, W->dtype, hi - lo);
        }
    } else {
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if (ctx->n_threads > 1)
        for (int i = 0; i < W->in; i++)
            row_to_f32_path(ctx->path, dst + (size_t)i * (size_t)nb,
                            w + (size_t)i * out + (size_t)o0, W->dtype, (size_t)nb);
    }
}

/* F16/BF16 weights with BLAS: y[:, o0:o0+nb] = x @ f32(W[:, o0:o0+nb]) block by
 * block, each block converted just before the BLAS call that reads it. */
static int linear_half_blocked(kernel_ctx_t *ctx, float *y, const float *x, int T,
                               const kernel_weight_t *W) {
    int nb = (int)(KERNEL_BLOCK_BYTES / sizeof(float) / (size_t)W->in);
    nb = nb < 64 ? 64 : nb & ~15;
    if (nb > W->out) nb = W->out;
    if (grow(&ctx->wbuf, &ctx->wbuf_cap, (size_t)nb * (size_t)W->in) != 0) return -1;
    for (int o0 = 0; o0 < W->out; o0 += nb) {
        const int n = W->out - o0 < nb ? W->out - o0 : nb;
        convert_block(ctx, ctx->wbuf, W, o0, n);
        blas_threads(ctx);
        float *yb = y + o0;
        if (T == 1) {
            /* y[o0..o0+n) is contiguous; ldc does not apply */
            if (W->layout == KERNEL_IN_OUT)
                cblas_sgemv(CblasRowMajor, CblasTrans, W->in, n, 1.0f, ctx->wbuf, n, x, 1, 0.0f, yb,
                            1);
            else
                cblas_sgemv(CblasRowMajor, CblasNoTrans, n, W->in, 1.0f, ctx->wbuf, W->in, x, 1,
                            0.0f, yb, 1);
        } else if (W->layout == KERNEL_IN_OUT) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, n, W->in, 1.0f, x, W->in,
                        ctx->wbuf, n, 0.0f, yb, W->out);
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n, W->in, 1.0f, x, W->in,
                        ctx->wbuf, W->in, 0.0f, yb, W->out);
        }
    }
    return 0;
}

int kernel_linear(kernel_ctx_t *ctx, float *y, const float *x, int T, const kernel_weight_t *W,
                  const float *b) {
    if (T <= 0 || W->in <= 0 || W->out <= 0) return 0;
    if (T == 1 && ctx->path != KERNEL_PATH_PORTABLE) {
        /* Own kernel for every dtype: it streams at the memory's speed with
         * F16/BF16 and matches or beats OpenBLAS's sgemv on F32 (bench/), and
         * unlike sgemv its bits do not depend on the thread count. */
        const int avx512 = ctx->path == KERNEL_PATH_AVX512;
        float *partial = NULL;
        const size_t n = avx512 ? kernel_gemv_avx512_partial(W) : kernel_gemv_avx2_partial(W);
        if (n > 0) {
            if (grow(&ctx->partial, &ctx->partial_cap, n) != 0) return -1;
            partial = ctx->partial;
        }
        if (avx512) kernel_gemv_avx512(y, x, W, partial, ctx->n_threads);
        else kernel_gemv_avx2(y, x, W, partial, ctx->n_threads);
    } else if (W->dtype == KERNEL_F32) {
        blas_threads(ctx);
        linear_f32_blas(y, x, T, W);
    } else if (linear_half_blocked(ctx, y, x, T, W) != 0) {
        return -1;
    }
    if (b) {
        for (int t = 0; t < T; t++) {
            float *yt = y + (size_t)t * (size_t)W->out;
            for (int o = 0; o < W->out; o++) yt[o] += b[o];
        }
    }
    return 0;
}
