/* kernels_amx.h - matrix products in bfloat16 on Intel AMX (the tile unit of
 * Sapphire Rapids and later), for the trainer's mixed-precision option:
 * f32 inputs are rounded to bf16 (nearest even) while they are packed into
 * tiles, products accumulate in f32. About 8 bits of mantissa per input, so
 * this is for training (where PyTorch's autocast does the same), never for
 * the reference path. */
#ifndef GPTSCOPE_KERNELS_AMX_H
#define GPTSCOPE_KERNELS_AMX_H

#include <stddef.h>

/* Packing buffers, grown on demand; one per caller (no globals). */
typedef struct amx_ctx amx_ctx_t;
amx_ctx_t *amx_ctx_init(int n_threads);
void amx_ctx_free(amx_ctx_t *ctx);

/* 1 if the CPU has AMX-BF16 and the kernel let this process use the tile
 * registers (Linux asks for it with arch_prctl; asked once per process). */
int amx_available(void);

/* C[M, N] = alpha * op(A) @ op(B) + beta * C, row-major, as cblas_sgemm with
 * CblasRowMajor: op(A) is A [M, K] (trans_a = 0, row stride lda) or A^T with
 * A [K, M]; op(B) is B [K, N] (trans_b = 0) or B^T with B [N, K].
 * Returns 0, or -1 when AMX is not available or memory runs out (nothing
 * written: the caller falls back to sgemm). */
int amx_sgemm_bf16(amx_ctx_t *ctx, int trans_a, int trans_b, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C,
                   int ldc);

/* The same product computed plainly from the same bf16-rounded inputs, in
 * double: the test oracle. */
void amx_sgemm_bf16_ref(int trans_a, int trans_b, int M, int N, int K, float alpha,
                        const float *A, int lda, const float *B, int ldb, float beta, float *C,
                        int ldc);

#endif
