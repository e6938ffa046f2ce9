/* train_ops.c - forward and backward of every operation in a GPT training
 * step: linear layers (sgemm), LayerNorm, GELU, causal attention, dropout,
 * fused softmax + cross-entropy. Each backward is the exact derivative of its
 * forward; the formulas are in the comments. Row loops run on OpenMP with a
 * static schedule and every reduction has a fixed order, so a run gives the
 * same bits for the same thread count. */
#include "train_ops.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "kernels_amx.h"
#include "mathx.h"

uint64_t train_site_key(uint64_t key, int layer, int site) {
    uint64_t z = key ^ ((uint64_t)(layer * 4 + site + 1) * 0xd1b54a32d192ed03ULL);
    z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdULL;
    z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ULL;
    return z ^ (z >> 33);
}

uint32_t train_drop_threshold(float p) {
    double t = (double)p * 4294967296.0;
    return t >= 4294967295.0 ? 4294967295u : (uint32_t)t;
}

void train_dropout(float *y, const float *x, const float *add, size_t n, float p,
                   uint64_t site_key, int n_threads) {
    if (p <= 0.0f) {
        if (add) {
#pragma omp parallel for num_threads(n_threads) schedule(static)
            for (size_t i = 0; i < n; i++) y[i] = add[i] + x[i];
        } else if (y != x) {
            memcpy(y, x, n * sizeof(float));
        }
        return;
    }
    uint32_t thr = train_drop_threshold(p);
    float scale = 1.0f / (1.0f - p);
    /* without add, no "+ 0": it would turn -0 into +0 */
    if (add) {
#pragma omp parallel for num_threads(n_threads) schedule(static)
        for (size_t i = 0; i < n; i++)
            y[i] = add[i] + (train_keep(site_key, i, thr) ? x[i] * scale : 0.0f);
    } else {
#pragma omp parallel for num_threads(n_threads) schedule(static)
        for (size_t i = 0; i < n; i++) y[i] = train_keep(site_key, i, thr) ? x[i] * scale : 0.0f;
    }
}

/* BLAS runs on the same OpenMP pool; inside our own parallel regions it
 * runs single-threaded by itself. */
static void ops_blas_threads(int n_threads) {
    if (openblas_get_num_threads() != n_threads) openblas_set_num_threads(n_threads);
}

/* C = alpha op(A) op(B) + beta C: on AMX tiles in bf16 when the caller
 * turned mixed precision on (amx != NULL) and it works here, else sgemm. */
static void ops_gemm(amx_ctx_t *amx, int ta, int tb, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc) {
    if (amx && amx_sgemm_bf16(amx, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == 0)
        return;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* ---- linear: Y[N, out] = X[N, in] @ W[in, out] + b ----------------------- */

void train_matmul_forward(float *Y, const float *X, const float *W, const float *b, int N,
                          int in, int out, int n_threads, amx_ctx_t *amx) {
    ops_blas_threads(n_threads);
    if (b && amx && amx_sgemm_bf16_bias(amx, 0, 0, N, out, in, X, in, W, out, b, Y, out) == 0)
        return;
    if (b) {
#pragma omp parallel for num_threads(n_threads) schedule(static)
        for (int i = 0; i < N; i++) memcpy(Y + (size_t)i * out, b, (size_t)out * sizeof(float));
    }
    ops_gemm(amx, 0, 0, N, out, in, 1.0f, X, in, W, out, b ? 1.0f : 0.0f, Y, out);
}

/* dX = dY @ W^T   [N, out] x [out, in]
 * dW += X^T @ dY  [in, N] x [N, out]
 * db += sum over rows of dY (columns split between threads: no races, and
 * each column sums its rows in order). */
void train_matmul_backward(float *dX, int accumulate, float *dW, float *db, const float *dY,
                           const float *X, const float *W, int N, int in, int out, int n_threads,
                           amx_ctx_t *amx) {
    ops_blas_threads(n_threads);
    if (dX) ops_gemm(amx, 0, 1, N, in, out, 1.0f, dY, out, W, out, accumulate ? 1.0f : 0.0f, dX, in);
    ops_gemm(amx, 1, 0, in, out, N, 1.0f, X, in, dY, out, 1.0f, dW, out);
    if (db) {
        int nb = (out + 15) / 16;
#pragma omp parallel for num_threads(n_threads) schedule(static)
        for (int blk = 0; blk < nb; blk++) {
            int j0 = blk * 16, j1 = j0 + 16 < out ? j0 + 16 : out;
            float acc[16] = {0};
            for (int i = 0; i < N; i++) {
                const float *row = dY + (size_t)i * out;
                for (int j = j0; j < j1; j++) acc[j - j0] += row[j];
            }
            for (int j = j0; j < j1; j++) db[j] += acc[j - j0];
        }
    }
}

/* ---- tied output matrix ------------------------------------------------- */

void train_logits_forward(float *logits, const float *h, const float *wte, int N, int C, int V,
                          int n_threads, amx_ctx_t *amx) {
    ops_blas_threads(n_threads);
    ops_gemm(amx, 0, 1, N, V, C, 1.0f, h, C, wte, C, 0.0f, logits, V);
}

/* dh = dlogits [N, V] @ wte [V, C];  dwte += dlogits^T [V, N] @ h [N, C] */
void train_logits_backward(float *dh, float *dwte, const float *dlogits, const float *h,
                           const float *wte, int N, int C, int V, int n_threads, amx_ctx_t *amx) {
    ops_blas_threads(n_threads);
    ops_gemm(amx, 0, 0, N, C, V, 1.0f, dlogits, V, wte, C, 0.0f, dh, C);
    ops_gemm(amx, 1, 0, V, C, N, 1.0f, dlogits, V, h, C, 1.0f, dwte, C);
}

/* ---- LayerNorm ------------------------------------------------------------ */

void train_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *g,
                             const float *b, int N, int C, float eps, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * C;
        float *yi = y + (size_t)i * C;
        float s = 0.0f;
        for (int k = 0; k < C; k++) s += xi[k];
        float mu = s / (float)C;
        float v = 0.0f;
        for (int k = 0; k < C; k++) {
            float d = xi[k] - mu;
            v += d * d;
        }
        float rs = 1.0f / sqrtf(v / (float)C + eps);
        for (int k = 0; k < C; k++) yi[k] = (xi[k] - mu) * rs * g[k] + b[k];
        mean[i] = mu;
        rstd[i] = rs;
    }
}

/* With xhat = (x - mean) * rstd and dxhat = dy * g:
 *   dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
 *   dg = sum_rows dy * xhat,  db = sum_rows dy */
void train_layernorm_backward(float *dx, int accumulate, float *dg, float *db, const float *dy,
                              const float *x, const float *mean, const float *rstd,
                              const float *g, int N, int C, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int i = 0; i < N; i++) {
        const float *dyi = dy + (size_t)i * C, *xi = x + (size_t)i * C;
        float *dxi = dx + (size_t)i * C;
        float mu = mean[i], rs = rstd[i];
        float s1 = 0.0f, s2 = 0.0f;
        for (int k = 0; k < C; k++) {
            float dxh = dyi[k] * g[k];
            s1 += dxh;
            s2 += dxh * (xi[k] - mu) * rs;
        }
        s1 /= (float)C;
        s2 /= (float)C;
        for (int k = 0; k < C; k++) {
            float xh = (xi[k] - mu) * rs;
            float v = rs * (dyi[k] * g[k] - s1 - xh * s2);
            dxi[k] = accumulate ? dxi[k] + v : v;
        }
    }
    int nb = (C + 15) / 16;
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int blk = 0; blk < nb; blk++) {
        int k0 = blk * 16, k1 = k0 + 16 < C ? k0 + 16 : C;
        float ag[16] = {0}, ab[16] = {0};
        for (int i = 0; i < N; i++) {
            const float *dyi = dy + (size_t)i * C, *xi = x + (size_t)i * C;
            float mu = mean[i], rs = rstd[i];
            for (int k = k0; k < k1; k++) {
                ag[k - k0] += dyi[k] * (xi[k] - mu) * rs;
                ab[k - k0] += dyi[k];
            }
        }
        for (int k = k0; k < k1; k++) {
            dg[k] += ag[k - k0];
            db[k] += ab[k - k0];
        }
    }
}

/* ---- GELU (tanh approximation) ------------------------------------------- */
/* gelu(x) = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
 * 0.5 (1 + tanh(u)) = 1 / (1 + exp(-2u)) = s, so gelu = x s and
 * d/dx = s + x s (1 - s) 2 du/dx, du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
 * (0.5 (1 - tanh^2 u) = 2 s (1 - s).) */
#define GELU_K 0.7978845608028654f

void train_gelu_forward(float *y, const float *x, size_t n, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float u = GELU_K * (v + 0.044715f * v * v * v);
        y[i] = v / (1.0f + mathx_exp(-2.0f * u));
    }
}

void train_gelu_backward(float *dx, const float *x, const float *dy, size_t n, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float u = GELU_K * (v + 0.044715f * v * v * v);
        float s = 1.0f / (1.0f + mathx_exp(-2.0f * u));
        float du = GELU_K * (1.0f + 3.0f * 0.044715f * v * v);
        dx[i] = dy[i] * (s + v * s * (1.0f - s) * 2.0f * du);
    }
}

/* ---- causal attention ------------------------------------------------------ */
/* For one (b, h): q, k, v are [T, D] slices of qkv (row stride 3C),
 *   S = q k^T / sqrt(D);  P = softmax over keys j <= i (row i);  Pd = dropout(P)
 *   y = Pd v   (written to columns h*D.. of y, row stride C)
 * The (b, h) pairs are independent, so threads take whole pairs. */

static void attn_mask_rows(float *S, const float *P, int T, float p_drop, uint64_t site_key,
                           uint64_t base) {
    uint32_t thr = train_drop_threshold(p_drop);
    float scale = 1.0f / (1.0f - p_drop);
    for (int i = 0; i < T; i++)
        for (int j = 0; j <= i; j++) {
            size_t e = (size_t)i * T + j;
            S[e] = train_keep(site_key, base + e, thr) ? P[e] * scale : 0.0f;
        }
}

/* Causal blocks: rows are taken ATTN_RB at a time, and row block r only
 * needs keys 0..end of the block (the rest of its scores are masked), so
 * the products skip the upper triangle in whole blocks: with T = 256 about
 * 5/8 of the full T x T work. Entries past the diagonal inside a block are
 * computed and then ignored (softmax reads j <= i, zeroes the rest). */
#define ATTN_RB 64

/* End of the block of ATTN_RB rows (or columns) that starts at r0. */
static inline int attn_block_end(int r0, int T) { return r0 + ATTN_RB < T ? r0 + ATTN_RB : T; }

/* One per-(b, h) product: on AMX tiles in bf16 with this thread's context
 * when mixed precision is on, else sgemm (single-threaded inside our
 * parallel region). */
static void attn_gemm(amx_ctx_t *const *amx_head, int ta, int tb, int M, int N, int K,
                      float alpha, const float *A, int lda, const float *B, int ldb, float *C,
                      int ldc) {
    amx_ctx_t *ctx = amx_head ? amx_head[omp_get_thread_num()] : NULL;
    ops_gemm(ctx, ta, tb, M, N, K, alpha, A, lda, B, ldb, 0.0f, C, ldc);
}

void train_attention_forward(float *y, float *probs, const float *qkv, int B, int T, int C,
                             int H, float p_drop, uint64_t site_key, float *scratch,
                             int n_threads, amx_ctx_t *const *amx_head) {
    int D = C / H;
    float scale = 1.0f / sqrtf((float)D);
    size_t TT = (size_t)T * T;
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        const float *q = qkv + (size_t)b * T * 3 * C + (size_t)h * D;
        const float *k = q + C, *v = q + 2 * C;
        float *P = probs + (size_t)bh * TT;
        for (int r0 = 0; r0 < T; r0 += ATTN_RB) {
            int r1 = attn_block_end(r0, T);
            attn_gemm(amx_head, 0, 1, r1 - r0, r1, D, scale, q + (size_t)r0 * 3 * C, 3 * C, k,
                      3 * C, P + (size_t)r0 * T, T);
        }
        for (int i = 0; i < T; i++) {
            float *row = P + (size_t)i * T;
            float mx = row[0];
            for (int j = 1; j <= i; j++) mx = row[j] > mx ? row[j] : mx;
            float sum = 0.0f;
            for (int j = 0; j <= i; j++) {
                row[j] = mathx_exp(row[j] - mx);
                sum += row[j];
            }
            float inv = 1.0f / sum;
            for (int j = 0; j <= i; j++) row[j] *= inv;
            for (int j = i + 1; j < T; j++) row[j] = 0.0f;
        }
        const float *Pd = P;
        if (p_drop > 0.0f) {
            float *S = scratch + (size_t)omp_get_thread_num() * 2 * TT;
            memset(S, 0, TT * sizeof(float));
            attn_mask_rows(S, P, T, p_drop, site_key, (uint64_t)bh * TT);
            Pd = S;
        }
        float *yh = y + (size_t)b * T * C + (size_t)h * D;
        for (int r0 = 0; r0 < T; r0 += ATTN_RB) {
            int r1 = attn_block_end(r0, T);
            attn_gemm(amx_head, 0, 0, r1 - r0, D, r1, 1.0f, Pd + (size_t)r0 * T, T, v, 3 * C,
                      yh + (size_t)r0 * C, C);
        }
    }
}

/* Backward for one (b, h), dy the [T, D] slice of the output gradient:
 *   dPd = dy v^T;  dv = Pd^T dy
 *   dP = dPd * mask / (1 - p)
 *   dS_ij = P_ij (dP_ij - sum_k dP_ik P_ik)     (softmax backward, row i)
 *   dq = dS k / sqrt(D);  dk = dS^T q / sqrt(D)
 * Row blocks (dPd, dq) need keys up to the block's end; column blocks of
 * Pd^T / dS^T (dv, dk) need only the rows from the block's start on. */
void train_attention_backward(float *dqkv, const float *dy, const float *qkv,
                              const float *probs, int B, int T, int C, int H, float p_drop,
                              uint64_t site_key, float *scratch, int n_threads,
                              amx_ctx_t *const *amx_head) {
    int D = C / H;
    float scale = 1.0f / sqrtf((float)D);
    size_t TT = (size_t)T * T;
    uint32_t thr = train_drop_threshold(p_drop);
    float keep_scale = p_drop > 0.0f ? 1.0f / (1.0f - p_drop) : 1.0f;
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        size_t qoff = (size_t)b * T * 3 * C + (size_t)h * D;
        const float *q = qkv + qoff, *k = q + C, *v = q + 2 * C;
        float *dq = dqkv + qoff, *dk = dq + C, *dv = dq + 2 * C;
        const float *dyh = dy + (size_t)b * T * C + (size_t)h * D;
        const float *P = probs + (size_t)bh * TT;
        float *dP = scratch + (size_t)omp_get_thread_num() * 2 * TT;
        float *Pd = dP + TT;
        const float *Puse = P;
        if (p_drop > 0.0f) {
            memset(Pd, 0, TT * sizeof(float));
            attn_mask_rows(Pd, P, T, p_drop, site_key, (uint64_t)bh * TT);
            Puse = Pd;
        }
        for (int c0 = 0; c0 < T; c0 += ATTN_RB) {
            int c1 = attn_block_end(c0, T);
            /* dv[c0:c1] = Pd[c0:T, c0:c1]^T dy[c0:T] */
            attn_gemm(amx_head, 1, 0, c1 - c0, D, T - c0, 1.0f, Puse + (size_t)c0 * T + c0, T,
                      dyh + (size_t)c0 * C, C, dv + (size_t)c0 * 3 * C, 3 * C);
        }
        for (int r0 = 0; r0 < T; r0 += ATTN_RB) {
            int r1 = attn_block_end(r0, T);
            attn_gemm(amx_head, 0, 1, r1 - r0, r1, D, 1.0f, dyh + (size_t)r0 * C, C, v, 3 * C,
                      dP + (size_t)r0 * T, T);
        }
        for (int i = 0; i < T; i++) {
            float *row = dP + (size_t)i * T;
            const float *prow = P + (size_t)i * T;
            if (p_drop > 0.0f)
                for (int j = 0; j <= i; j++)
                    row[j] = train_keep(site_key, (uint64_t)bh * TT + (size_t)i * T + j, thr)
                                 ? row[j] * keep_scale
                                 : 0.0f;
            float dot = 0.0f;
            for (int j = 0; j <= i; j++) dot += row[j] * prow[j];
            for (int j = 0; j <= i; j++) row[j] = prow[j] * (row[j] - dot);
            for (int j = i + 1; j < T; j++) row[j] = 0.0f;
        }
        for (int r0 = 0; r0 < T; r0 += ATTN_RB) {
            int r1 = attn_block_end(r0, T);
            attn_gemm(amx_head, 0, 0, r1 - r0, D, r1, scale, dP + (size_t)r0 * T, T, k, 3 * C,
                      dq + (size_t)r0 * 3 * C, 3 * C);
            /* dk[c0:c1] = dS[c0:T, c0:c1]^T q[c0:T], c = this block */
            attn_gemm(amx_head, 1, 0, r1 - r0, D, T - r0, scale, dP + (size_t)r0 * T + r0, T,
                      q + (size_t)r0 * 3 * C, 3 * C, dk + (size_t)r0 * 3 * C, 3 * C);
        }
    }
}

/* ---- softmax + cross-entropy --------------------------------------------- */
/* loss_i = logsumexp(z_i) - z_i[t_i]; p = softmax(z); dz = (p - onehot(t)) * scale.
 * Subtracting the row max before exp keeps it exact (softmax is shift-invariant)
 * and in range. */
double train_softmax_xent_forward(float *logits, float *row_loss, const int *targets, int N,
                                  int V, int64_t *count, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int i = 0; i < N; i++) {
        float *row = logits + (size_t)i * V;
        float mx = row[0];
        for (int j = 1; j < V; j++) mx = row[j] > mx ? row[j] : mx;
        int t = targets[i];
        float zt = t >= 0 ? row[t] : 0.0f;
        float sum = 0.0f;
        for (int j = 0; j < V; j++) {
            row[j] = mathx_exp(row[j] - mx);
            sum += row[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < V; j++) row[j] *= inv;
        row_loss[i] = t >= 0 ? logf(sum) + mx - zt : 0.0f;
    }
    /* summed in row order, so the reported loss has the same bits every run */
    double total = 0.0;
    int64_t cnt = 0;
    for (int i = 0; i < N; i++) {
        total += row_loss[i];
        cnt += targets[i] >= 0;
    }
    *count = cnt;
    return total;
}

void train_softmax_xent_backward(float *probs, const int *targets, int N, int V, float scale,
                                 int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int i = 0; i < N; i++) {
        float *row = probs + (size_t)i * V;
        int t = targets[i];
        if (t < 0) {
            memset(row, 0, (size_t)V * sizeof(float));
            continue;
        }
        for (int j = 0; j < V; j++) row[j] *= scale;
        row[t] -= scale;
    }
}
