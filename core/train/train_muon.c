/* train_muon.c - Muon, the optimiser for the blocks' weight matrices
 * (train.h): momentum, then the update replaced by the nearest
 * semi-orthogonal matrix (all singular values ~1) computed by a quintic
 * Newton-Schulz iteration, so that every direction of the matrix moves by
 * the same amount however skewed the gradient's spectrum is.
 *
 * Why here: in the GPU sweeps of bench/sweep (bench/sweep/README.md) Muon at
 * a low rate was ahead of AdamW at equal steps on the bundled model's
 * shape. The iteration costs three matrix products per round on the small
 * side of each matrix (the Gram matrix is min(rows, cols) square), which is
 * why the product runs on AMX in bf16 when the caller has it, as
 * PyTorch's reference implementations run it in bf16 on GPUs. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_amx.h"
#include "memx.h"
#include "train.h"

/* The quintic's coefficients (Keller Jordan's Muon): they push every
 * singular value in (0, 1] towards a band around 1 in a few rounds rather
 * than converging exactly, which is all an update direction needs. */
#define MU_A 3.4445f
#define MU_B (-4.7750f)
#define MU_C 2.0315f

int train_muon_applies(const train_tensor_t *t) { return t->is_matrix && !t->is_embedding; }

int train_muon_init(train_muon_t *mu, const train_model_t *m, float momentum, float weight_decay,
                    int ns_iters, int bf16, int n_threads) {
    memset(mu, 0, sizeof(*mu));
    mu->momentum = momentum;
    mu->weight_decay = weight_decay;
    mu->ns_iters = ns_iters;
    mu->n_threads = n_threads > 0 ? n_threads : 1;
    mu->n_params = m->n_params;
    size_t big = 0, gram = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const train_tensor_t *t = &m->tensors[i];
        if (!train_muon_applies(t)) continue;
        size_t s = (size_t)(t->shape[0] < t->shape[1] ? t->shape[0] : t->shape[1]);
        if (t->numel > big) big = t->numel;
        if (s * s > gram) gram = s * s;
    }
    mu->buf = memx_floats(m->n_params);
    mu->x = memx_floats(big);
    mu->y = memx_floats(big);
    mu->gram = memx_floats(gram);
    mu->poly = memx_floats(gram);
    if (bf16) {
        mu->amx = amx_ctx_init(mu->n_threads);
        if (!mu->amx) {
            train_muon_free(mu);
            return -1;
        }
    }
    if (!mu->buf || !mu->x || !mu->y || !mu->gram || !mu->poly) {
        train_muon_free(mu);
        return -1;
    }
    return 0;
}

void train_muon_free(train_muon_t *mu) {
    if (!mu) return;
    free(mu->buf);
    free(mu->x);
    free(mu->y);
    free(mu->gram);
    free(mu->poly);
    amx_ctx_free(mu->amx);
    mu->buf = mu->x = mu->y = mu->gram = mu->poly = NULL;
    mu->amx = NULL;
}

static void mu_gemm(train_muon_t *mu, int ta, int tb, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb, float beta, float *C,
                    int ldc) {
    if (mu->amx && amx_sgemm_bf16(mu->amx, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C,
                                  ldc) == 0)
        return;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* X <- the Newton-Schulz iterate of X / ||X||_F, X [rows, cols] row-major in
 * mu->x; the result ends in mu->x. Each round is
 *   X <- a X + b (X X^T) X + c (X X^T)^2 X  =  a X + X (b A + c A^2), A = X^T X,
 * taken in the form whose Gram matrix A is the smaller one. */
static void mu_orthogonalise(train_muon_t *mu, int rows, int cols) {
    size_t n = (size_t)rows * cols;
    float *x = mu->x, *y = mu->y, *A = mu->gram, *P = mu->poly;
    double ss = 0;
#pragma omp parallel for num_threads(mu->n_threads) reduction(+ : ss) schedule(static)
    for (size_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float inv = (float)(1.0 / (sqrt(ss) + 1e-7));
#pragma omp parallel for num_threads(mu->n_threads) schedule(static)
    for (size_t i = 0; i < n; i++) x[i] *= inv;
    int wide = rows <= cols, s = wide ? rows : cols;
    for (int it = 0; it < mu->ns_iters; it++) {
        if (wide) /* A = X X^T [rows, rows] */
            mu_gemm(mu, 0, 1, s, s, cols, 1.0f, x, cols, x, cols, 0.0f, A, s);
        else /* A = X^T X [cols, cols] */
            mu_gemm(mu, 1, 0, s, s, rows, 1.0f, x, cols, x, cols, 0.0f, A, s);
        /* P = b A + c A A */
        memcpy(P, A, (size_t)s * s * sizeof(float));
        mu_gemm(mu, 0, 0, s, s, s, MU_C, A, s, A, s, MU_B, P, s);
        /* Y = a X + P X (wide) or a X + X P (tall) */
        memcpy(y, x, n * sizeof(float));
        if (wide)
            mu_gemm(mu, 0, 0, rows, cols, rows, 1.0f, P, s, x, cols, MU_A, y, cols);
        else
            mu_gemm(mu, 0, 0, rows, cols, cols, 1.0f, x, cols, P, s, MU_A, y, cols);
        float *t = x;
        x = y;
        y = t;
    }
    if (x != mu->x) memcpy(mu->x, x, n * sizeof(float));
}

void train_muon_update(train_muon_t *mu, float *p, const float *g, float *buf, int rows,
                       int cols, float lr) {
    size_t n = (size_t)rows * cols;
    float b = mu->momentum, *x = mu->x;
    /* Nesterov: the direction is g + b * (the momentum after this step) */
#pragma omp parallel for num_threads(mu->n_threads) schedule(static)
    for (size_t i = 0; i < n; i++) {
        float v = b * buf[i] + g[i];
        buf[i] = v;
        x[i] = g[i] + b * v;
    }
    mu_orthogonalise(mu, rows, cols);
    /* A semi-orthogonal [in, out] matrix with out > in has rows of norm 1 but
     * a smaller RMS than a square one: sqrt(out / in) restores the scale so
     * that one rate suits every shape (Conv1D layout: rows = in). */
    float scale = lr * sqrtf(fmaxf(1.0f, (float)cols / (float)rows));
    float shrink = 1.0f - lr * mu->weight_decay;
#pragma omp parallel for num_threads(mu->n_threads) schedule(static)
    for (size_t i = 0; i < n; i++) p[i] = p[i] * shrink - scale * x[i];
}

void train_muon_step(train_muon_t *mu, train_model_t *m, float lr) {
    if (!mu->buf) return;
    if (openblas_get_num_threads() != mu->n_threads) openblas_set_num_threads(mu->n_threads);
    for (int i = 0; i < m->n_tensors; i++) {
        const train_tensor_t *t = &m->tensors[i];
        if (!train_muon_applies(t)) continue;
        size_t off = (size_t)(t->data - m->params);
        train_muon_update(mu, t->data, t->grad, mu->buf + off, (int)t->shape[0],
                          (int)t->shape[1], lr);
    }
}
