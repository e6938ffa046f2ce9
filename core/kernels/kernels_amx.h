/* kernels_amx.h - matrix products in bfloat16 on Intel AMX (the tile unit of
 * Sapphire Rapids and later), for the trainer's mixed-precision option:
 * f32 inputs are rounded to bf16 (nearest even) while they are packed into
 * tiles, products accumulate in f32. About 8 bits of mantissa per input, so
 * this is for training (where PyTorch's autocast does the same), never for
 * the reference path. On a CPU without AMX everything here still links and
 * runs: amx_available() says 0 and amx_sgemm_bf16 refuses (-1) without
 * executing a single AMX or AVX-512 instruction. */
#ifndef GPTSCOPE_KERNELS_AMX_H
#define GPTSCOPE_KERNELS_AMX_H

#include <stddef.h>

/* What computes the products: AMX tiles (TDPBF16PS), or, on a CPU with
 * AVX512_BF16 but no AMX (AMD Zen 4, Intel Cooper Lake), an AVX-512
 * micro-kernel (VDPBF16PS) on the same packed bf16 tiles, about half the
 * tiles' speed per core but some 1.5-2x f32 sgemm's. Both give each product
 * bf16(a) * bf16(b) exactly and sum in f32 (in different orders). */
typedef enum { AMX_BACKEND_NONE = 0, AMX_BACKEND_TILES, AMX_BACKEND_AVX512 } amx_backend_t;

/* Per-caller state: the thread count, the backend (asked once, at
 * init), and the bf16 packing buffers, grown on demand and kept for the next
 * call (a bf16 copy of the largest op(B) so far, plus up to 1 MB per
 * thread). No globals; one call at a time per context (from inside a
 * parallel region, give each thread its own). amx_ctx_free(NULL) is a no-op. */
typedef struct amx_ctx amx_ctx_t;
amx_ctx_t *amx_ctx_init(int n_threads);  /* amx_best_backend() */
/* A context on a given backend (tests, benchmarks); one the CPU lacks gives
 * a context on AMX_BACKEND_NONE, which refuses every product. */
amx_ctx_t *amx_ctx_init_backend(int n_threads, amx_backend_t backend);
amx_backend_t amx_ctx_backend(const amx_ctx_t *ctx);
void amx_ctx_free(amx_ctx_t *ctx);

/* Tiles where amx_available(), else AVX-512 where amx_avx512bf16_available(),
 * else none (then nothing here runs and the callers use f32 sgemm). */
amx_backend_t amx_best_backend(void);
const char *amx_backend_name(amx_backend_t b);  /* "AMX tiles", "AVX512-BF16", "none" */

/* 1 if the CPU has AVX512_BF16 with AVX-512F/BW/VL and the OS saves zmm. */
int amx_avx512bf16_available(void);

/* 1 if the CPU has AMX-TILE, AMX-BF16 and AVX512-BF16 and the kernel granted
 * this process the tile data state (Linux: arch_prctl(ARCH_REQ_XCOMP_PERM,
 * XFEATURE_XTILEDATA), requested on every call: it is idempotent and cheap,
 * and the answer is kept in each context rather than in a global). */
int amx_available(void);

/* C[M, N] = alpha * op(A) @ op(B) + beta * C, row-major, as cblas_sgemm with
 * CblasRowMajor: op(A) is A [M, K] (trans_a = 0, row stride lda) or A^T with
 * A [K, M]; op(B) is B [K, N] (trans_b = 0) or B^T with B [N, K]; ldc is C's
 * row stride. Any sizes (padded internally); beta = 0 never reads C. Each
 * product is bf16(a) * bf16(b), exact in f32, summed in f32; f32 inputs below
 * 2^-126 (subnormals) count as zero, as the hardware takes them.
 * Runs on up to the context's n_threads (OpenMP), fewer for small products.
 * Returns 0, or -1 with C untouched when AMX is not usable, M, N or K is not
 * positive, a stride is too small, or memory runs out: the caller then uses
 * sgemm. */
int amx_sgemm_bf16(amx_ctx_t *ctx, int trans_a, int trans_b, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C,
                   int ldc);

/* C[M, N] = op(A) @ op(B) + bias, bias [N] added to every row, as above with
 * alpha 1 and beta 0 (C is never read): a linear layer's output in one pass,
 * without first copying the bias into C (which would also stop the
 * streaming stores for a large C). Returns 0, or -1 as above (bias NULL
 * too). */
int amx_sgemm_bf16_bias(amx_ctx_t *ctx, int trans_a, int trans_b, int M, int N, int K,
                        const float *A, int lda, const float *B, int ldb, const float *bias,
                        float *C, int ldc);

/* The same product computed plainly from the same bf16-rounded inputs, in
 * double: the test oracle. Returns 0, or -1 if memory runs out. */
int amx_sgemm_bf16_ref(int trans_a, int trans_b, int M, int N, int K, float alpha,
                       const float *A, int lda, const float *B, int ldb, float beta, float *C,
                       int ldc);

#endif
