/* train_ops.h - the operations of a GPT training step, each as a forward and
 * a backward function (llm.c style), plus the activation store they share.
 * Used by train_forward.c and train_backward.c only; the public API is train.h.
 *
 * Shapes: N = B * T rows, C = n_embd, H heads of D = C / H, F = n_inner,
 * V = n_vocab. Matrices are row-major; Conv1D weights are [in, out]. */
#ifndef GPTSCOPE_TRAIN_OPS_H
#define GPTSCOPE_TRAIN_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels_amx.h"
#include "train.h"

/* Activations kept from forward for backward, for one micro-batch.
 * Per layer l (arrays of L blocks):
 *   GPT-2: a = ln_1(x);  r1 = x + drop(attn(a));  m = ln_2(r1);  r2 = r1 + drop(mlp(m));  out = r2
 *   GPT-1: r1 = x + drop(attn(x));  m = ln_1(r1);  r2 = m + drop(mlp(m));  out = ln_2(r2)
 * lnA is ln_1's output and lnB ln_2's in both families (GPT-1's out = lnB). */
struct train_acts {
    int max_B, max_T, n_threads;
    int B, T;                  /* shape of the last forward */
    int64_t count;             /* positions with a target */
    uint64_t key;              /* dropout key of the last forward */
    train_dropout_t drop;
    int *inputs, *targets;     /* [N] copies */
    float *x0;                 /* [N, C] embeddings after dropout */
    float *lnA, *lnA_mean, *lnA_rstd; /* [L][N, C], [L][N], [L][N] */
    float *qkv;                /* [L][N, 3C] */
    float *probs;              /* [L][B][H][T][T] softmax, before dropout */
    float *atty;               /* [L][N, C] attention output, heads side by side */
    float *r1;                 /* [L][N, C] */
    float *lnB, *lnB_mean, *lnB_rstd; /* [L][N, C], [L][N], [L][N] */
    float *fch, *fcg;          /* [L][N, F] before / after GELU */
    float *r2;                 /* [L][N, C] */
    float *lnf, *lnf_mean, *lnf_rstd; /* [N, C], [N], [N] (GPT-2) */
    float *logits;             /* [N, V]; probabilities after forward */
    float *row_loss;           /* [N] */
    /* backward scratch */
    float *dres, *dres2, *dtmp; /* [N, C] */
    float *dqkv;               /* [N, 3C] */
    float *dfc;                /* [N, F] */
    float *head_scratch;       /* [n_threads][2][T][T] per-thread attention buffers */
    amx_ctx_t *amx;            /* non-NULL: linear layers in bf16 on AMX (mixed precision) */
    amx_ctx_t **amx_head;      /* with amx: one context per thread for the attention products */
};

/* Dropout sites: each draws its mask from hash(key, site, element index). */
enum { TRAIN_SITE_EMBD = 0, TRAIN_SITE_ATTN = 1, TRAIN_SITE_RESID_ATTN = 2,
       TRAIN_SITE_RESID_MLP = 3, TRAIN_SITE_TASK_HEAD = 4 };
uint64_t train_site_key(uint64_t key, int layer, int site);
/* 1 if element idx survives dropout with probability p. */
static inline int train_keep(uint64_t site_key, uint64_t idx, uint32_t threshold) {
    uint64_t z = site_key + idx * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (uint32_t)(z >> 32) >= threshold;
}
uint32_t train_drop_threshold(float p); /* p * 2^32, saturated */

/* y = add + x * mask / (1 - p) over n elements in one pass (add NULL: no
 * sum; p <= 0: no mask, y = add + x). y may be x. A residual connection
 * after dropout, or backward's masked copy of a gradient, costs one pass
 * over memory instead of two or three. */
void train_dropout(float *y, const float *x, const float *add, size_t n, float p,
                   uint64_t site_key, int n_threads);

/* Y[N, out] = X[N, in] @ W[in, out] + b. The products of this and the
 * functions below run in bf16 on AMX when amx is non-NULL, else in f32. */
void train_matmul_forward(float *Y, const float *X, const float *W, const float *b, int N,
                          int in, int out, int n_threads, amx_ctx_t *amx);
/* dX (+)= dY @ W^T (accumulate != 0 adds), dW += X^T @ dY, db += colsum(dY). */
void train_matmul_backward(float *dX, int accumulate, float *dW, float *db, const float *dY,
                           const float *X, const float *W, int N, int in, int out, int n_threads,
                           amx_ctx_t *amx);

/* Tied output: logits[N, V] = h[N, C] @ wte[V, C]^T. */
void train_logits_forward(float *logits, const float *h, const float *wte, int N, int C, int V,
                          int n_threads, amx_ctx_t *amx);
/* dh = dlogits @ wte (overwrites), dwte += dlogits^T @ h. */
void train_logits_backward(float *dh, float *dwte, const float *dlogits, const float *h,
                           const float *wte, int N, int C, int V, int n_threads, amx_ctx_t *amx);

/* LayerNorm over rows: y = (x - mean) * rstd * g + b, rstd = 1/sqrt(var + eps). */
void train_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *g,
                             const float *b, int N, int C, float eps, int n_threads);
/* dx (+)= ..., dg += sum(dy * xhat), db += sum(dy). */
void train_layernorm_backward(float *dx, int accumulate, float *dg, float *db, const float *dy,
                              const float *x, const float *mean, const float *rstd,
                              const float *g, int N, int C, int n_threads);

/* GELU, tanh approximation. */
void train_gelu_forward(float *y, const float *x, size_t n, int n_threads);
void train_gelu_backward(float *dx, const float *x, const float *dy, size_t n, int n_threads);

/* Causal multi-head attention from qkv [N, 3C] into y [N, C]; probs
 * [B][H][T][T] keeps the softmax (before dropout). amx_head: NULL for f32
 * products, or one AMX context per thread (bf16 products, mixed precision). */
void train_attention_forward(float *y, float *probs, const float *qkv, int B, int T, int C,
                             int H, float p_drop, uint64_t site_key, float *scratch,
                             int n_threads, amx_ctx_t *const *amx_head);
/* dqkv = d(attention)/d(qkv) given dy [N, C] (overwrites dqkv). */
void train_attention_backward(float *dqkv, const float *dy, const float *qkv,
                              const float *probs, int B, int T, int C, int H, float p_drop,
                              uint64_t site_key, float *scratch, int n_threads,
                              amx_ctx_t *const *amx_head);

/* logits [N, V] -> probabilities in place; row_loss [N] gets each row's loss
 * (0 without a target); returns their sum and counts the rows with a target
 * (>= 0) in *count. */
double train_softmax_xent_forward(float *logits, float *row_loss, const int *targets, int N,
                                  int V, int64_t *count, int n_threads);
/* probs -> dlogits in place: (p - onehot(target)) * scale; rows without a target get 0. */
void train_softmax_xent_backward(float *probs, const int *targets, int N, int V, float scale,
                                 int n_threads);

#endif
