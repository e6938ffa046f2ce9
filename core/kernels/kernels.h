/* core/kernels/ - the dense maths: kernel_linear and kernel_gemm on
 * OpenBLAS, the AVX-512 and AVX2 decode kernels (kernels_simd.h, internal),
 * AMX / AVX512-BF16 bf16 products for training (kernels_amx.h), which
 * OpenBLAS kernels run (blas_core.h), and the per-token thread choice
 * (threadtune.h). May include: base. Used by model, decode, train. This is
 * its main header.
 *
 * kernels.h - the dense maths the transformer spends its time in.
 *
 * A weight matrix is used in place (memory-mapped from model.safetensors when
 * the dtype allows), in one of two layouts:
 *   KERNEL_IN_OUT: [in, out] row-major, Hugging Face's Conv1D (c_attn, c_fc, c_proj)
 *   KERNEL_OUT_IN: [out, in] row-major, an nn.Linear / embedding used as output (lm_head = wte)
 * and one of three element types (F32, F16, BF16). Activations are always f32.
 *
 * kernel_linear: y[T, out] = x[T, in] @ W (+ b), any layout and dtype.
 * T == 1 (decode) is matrix-vector work bound by memory bandwidth; T > 1
 * (prefill, training) is sgemm work. Each fast path has a plain reference
 * version (kernel_linear_ref) that the tests compare it against. */
#ifndef GPTSCOPE_KERNELS_H
#define GPTSCOPE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { KERNEL_F32 = 0, KERNEL_F16 = 1, KERNEL_BF16 = 2 } kernel_dtype_t;
typedef enum { KERNEL_IN_OUT = 0, KERNEL_OUT_IN = 1 } kernel_layout_t;

typedef struct kernel_weight {
    const void *data;
    kernel_dtype_t dtype;
    kernel_layout_t layout;
    int in, out;
} kernel_weight_t;

/* Execution context: thread count and scratch space owned by the caller's
 * model state (no globals). */
typedef struct kernel_ctx kernel_ctx_t;
kernel_ctx_t *kernel_ctx_init(int n_threads);
/* Changes the thread count of later calls (scratch grows as needed). */
void kernel_ctx_set_threads(kernel_ctx_t *ctx, int n_threads);
/* 1 when one-row kernel_linear (decode) gives the same bits for every
 * thread count: the AVX-512 and AVX2 kernels do; OpenBLAS's sgemv is not
 * promised to. */
int kernel_ctx_decode_invariant(const kernel_ctx_t *ctx);
/* The decode path this ctx runs: "avx512", "avx2" or "portable" (the best the
 * CPU runs, capped by $GPTSCOPE_KERNELS=portable|avx2|avx512). */
const char *kernel_ctx_path(const kernel_ctx_t *ctx);
void kernel_ctx_free(kernel_ctx_t *ctx);
int kernel_ctx_threads(const kernel_ctx_t *ctx);

/* y[T, out] = x[T, in] @ W + b (b may be NULL). y must not alias x.
 * Returns 0, or -1 if scratch memory could not be allocated. */
int kernel_linear(kernel_ctx_t *ctx, float *y, const float *x, int T, const kernel_weight_t *W,
                  const float *b);
/* Strided f32 matrix product on the ctx's threads (attention over many
 * positions): C[M, N] = alpha * A[M, K] @ op(B) with op(B) = B^T ([N, K],
 * trans_b = 1) or B ([K, N], trans_b = 0); lda/ldb/ldc are row strides. */
void kernel_gemm(kernel_ctx_t *ctx, int trans_b, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float *C, int ldc);
void kernel_gemm_ref(int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                     const float *B, int ldb, float *C, int ldc);

/* Plain triple loop, the documentation and the test oracle. */
void kernel_linear_ref(float *y, const float *x, int T, const kernel_weight_t *W, const float *b);

/* Element type helpers. */
float kernel_f16_to_f32(uint16_t h);
uint16_t kernel_f32_to_f16(float f);  /* round to nearest even */
float kernel_bf16_to_f32(uint16_t h);
uint16_t kernel_f32_to_bf16(float f); /* round to nearest even */
/* One row of any dtype into f32 (embedding lookups). */
void kernel_row_to_f32(float *dst, const void *src, kernel_dtype_t dtype, size_t n);

#endif
