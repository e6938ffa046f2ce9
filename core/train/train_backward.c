/* train_backward.c - the backward pass of a training step, the forward of
 * train_forward.c read in reverse, and the global gradient norm.
 *
 * The gradient of the residual stream flows down through one buffer (dout):
 * each residual connection is an identity, so a branch's gradient is added
 * into it in place. Dropout masks are regenerated from the forward's key
 * (train_keep), never stored. */
#include <math.h>
#include <string.h>

#include "train_ops.h"

/* The dropout-masked copy of a branch gradient: d(drop(y))/dy = mask / (1 - p). */
static const float *bwd_dropout(float *dst, const float *src, size_t n, float p,
                                uint64_t site_key, int n_threads) {
    if (p <= 0.0f) return src;
    train_dropout(dst, src, NULL, n, p, site_key, n_threads);
    return dst;
}

const float *train_last_hidden(const train_model_t *m, const train_acts_t *a) {
    const gpt_config_t *c = &m->cfg;
    size_t NC = (size_t)a->B * a->T * c->n_embd;
    if (c->final_ln) return a->lnf;
    return c->pre_norm ? a->r2 + (size_t)(c->n_layer - 1) * NC
                       : a->lnB + (size_t)(c->n_layer - 1) * NC;
}

/* dst += src over n floats */
static void bwd_add(float *dst, const float *src, size_t n, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

void train_backward(train_model_t *m, train_acts_t *a, float loss_scale) {
    train_backward_with(m, a, loss_scale, NULL);
}

void train_backward_with(train_model_t *m, train_acts_t *a, float loss_scale,
                         const float *dhidden) {
    const gpt_config_t *c = &m->cfg;
    int B = a->B, T = a->T, N = B * T, nt = a->n_threads;
    int C = c->n_embd, F = c->n_inner, V = c->n_vocab, H = c->n_head;
    size_t NC = (size_t)N * C;
    int lm = a->count > 0 && loss_scale != 0.0f;
    if (!lm && !dhidden) return;
    float *dout = a->dres, *dbuf = a->dres2, *dtmp = a->dtmp;

    /* loss -> logits -> final hidden state, plus the task head's gradient
     * there: the hidden state feeds both, so their gradients add */
    if (lm)
        train_softmax_xent_backward(a->logits, a->targets, N, V, loss_scale / (float)a->count, nt);
    const float *last = c->pre_norm ? a->r2 + (size_t)(c->n_layer - 1) * NC
                                    : a->lnB + (size_t)(c->n_layer - 1) * NC;
    float *dh = c->final_ln ? dbuf : dout;
    if (lm) train_logits_backward(dh, m->dwte, a->logits, c->final_ln ? a->lnf : last, m->wte, N,
                                  C, V, nt, a->amx);
    else memset(dh, 0, NC * sizeof(float));
    if (dhidden) bwd_add(dh, dhidden, NC, nt);
    if (c->final_ln)
        train_layernorm_backward(dout, 0, m->dlnf_g, m->dlnf_b, dbuf, last, a->lnf_mean,
                                 a->lnf_rstd, m->lnf_g, N, C, nt);

    for (int l = c->n_layer - 1; l >= 0; l--) {
        const train_layer_t *Lw = &m->layers[l];
        train_layer_t *dL = &m->dlayers[l];
        const float *x = l == 0 ? a->x0
                                : (c->pre_norm ? a->r2 + (size_t)(l - 1) * NC
                                               : a->lnB + (size_t)(l - 1) * NC);
        const float *lnA = a->lnA + l * NC, *lnB = a->lnB + l * NC;
        const float *lnA_mean = a->lnA_mean + (size_t)l * N, *lnA_rstd = a->lnA_rstd + (size_t)l * N;
        const float *lnB_mean = a->lnB_mean + (size_t)l * N, *lnB_rstd = a->lnB_rstd + (size_t)l * N;
        const float *qkv = a->qkv + l * NC * 3, *atty = a->atty + l * NC;
        const float *probs = a->probs + (size_t)l * B * H * T * T;
        const float *r1 = a->r1 + l * NC, *r2 = a->r2 + l * NC;
        const float *fch = a->fch + (size_t)l * N * F, *fcg = a->fcg + (size_t)l * N * F;
        uint64_t k_attn = train_site_key(a->key, l, TRAIN_SITE_ATTN);
        uint64_t k_ra = train_site_key(a->key, l, TRAIN_SITE_RESID_ATTN);
        uint64_t k_rm = train_site_key(a->key, l, TRAIN_SITE_RESID_MLP);

        /* dout is d/d(out). After the MLP part it holds d/d(r1). */
        const float *mlp_in;
        float *d_mlp_base; /* where the MLP input's gradient is added */
        if (c->pre_norm) {
            /* out = r2 = r1 + drop(mlp(ln_2(r1))): d/dr2 = dout, the identity carries it to r1 */
            mlp_in = lnB;
            d_mlp_base = NULL;
        } else {
            /* out = ln_2(r2), r2 = m + drop(mlp(m)), m = ln_1(r1) */
            train_layernorm_backward(dbuf, 0, dL->ln2_g, dL->ln2_b, dout, r2, lnB_mean, lnB_rstd,
                                     Lw->ln2_g, N, C, nt);
            mlp_in = lnA;
            d_mlp_base = dbuf; /* d/dr2, becoming d/dm */
        }
        const float *d_r2 = c->pre_norm ? dout : dbuf;
        const float *dmlp = bwd_dropout(dtmp, d_r2, NC, a->drop.resid, k_rm, nt);
        train_matmul_backward(a->dfc, 0, dL->fc2_w, dL->fc2_b, dmlp, fcg, Lw->fc2_w, N, F, C, nt, a->amx);
        train_gelu_backward(a->dfc, fch, a->dfc, (size_t)N * F, nt);
        if (c->pre_norm) {
            /* d/d(lnB) into dbuf, then through ln_2 added to d/dr1 (= dout) */
            train_matmul_backward(dbuf, 0, dL->fc_w, dL->fc_b, a->dfc, mlp_in, Lw->fc_w, N, C, F,
                                  nt, a->amx);
            train_layernorm_backward(dout, 1, dL->ln2_g, dL->ln2_b, dbuf, r1, lnB_mean, lnB_rstd,
                                     Lw->ln2_g, N, C, nt);
        } else {
            /* d/dm = d/dr2 + branch; then d/dr1 = ln_1 backward, into dout */
            train_matmul_backward(d_mlp_base, 1, dL->fc_w, dL->fc_b, a->dfc, mlp_in, Lw->fc_w, N,
                                  C, F, nt, a->amx);
            train_layernorm_backward(dout, 0, dL->ln1_g, dL->ln1_b, d_mlp_base, r1, lnA_mean,
                                     lnA_rstd, Lw->ln1_g, N, C, nt);
        }

        /* attention part: r1 = x + drop(proj(attn(in))); dout = d/dr1 */
        const float *dproj = bwd_dropout(dtmp, dout, NC, a->drop.resid, k_ra, nt);
        train_matmul_backward(dbuf, 0, dL->proj_w, dL->proj_b, dproj, atty, Lw->proj_w, N, C, C,
                              nt, a->amx);
        train_attention_backward(a->dqkv, dbuf, qkv, probs, B, T, C, H, a->drop.attn, k_attn,
                                 a->head_scratch, nt, a->amx_head);
        if (c->pre_norm) {
            train_matmul_backward(dbuf, 0, dL->qkv_w, dL->qkv_b, a->dqkv, lnA, Lw->qkv_w, N, C,
                                  3 * C, nt, a->amx);
            train_layernorm_backward(dout, 1, dL->ln1_g, dL->ln1_b, dbuf, x, lnA_mean, lnA_rstd,
                                     Lw->ln1_g, N, C, nt);
        } else {
            train_matmul_backward(dout, 1, dL->qkv_w, dL->qkv_b, a->dqkv, x, Lw->qkv_w, N, C,
                                  3 * C, nt, a->amx);
        }
        /* dout now holds d/dx, the gradient of layer l's input */
    }

    /* embeddings: x0 = drop(wte[id] + wpe[pos]) */
    if (a->drop.embd > 0.0f)
        train_dropout(dout, dout, NULL, NC, a->drop.embd,
                      train_site_key(a->key, 0, TRAIN_SITE_EMBD), nt);
    /* Column blocks per thread: rows sharing a token id never race, and each
     * element sums its rows in order. */
    int nb = (C + 15) / 16;
    const int *ids = a->inputs;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int blk = 0; blk < nb; blk++) {
        int k0 = blk * 16, k1 = k0 + 16 < C ? k0 + 16 : C;
        for (int i = 0; i < N; i++) {
            const float *d = dout + (size_t)i * C;
            float *te = m->dwte + (size_t)ids[i] * C, *pe = m->dwpe + (size_t)(i % T) * C;
            for (int k = k0; k < k1; k++) {
                te[k] += d[k];
                pe[k] += d[k];
            }
        }
    }
}

double train_clip_grad_norm(train_model_t *m, double max_norm) {
    /* Fixed chunks summed in order: the same bits for every run. */
    enum { CHUNKS = 64 };
    double part[CHUNKS];
    size_t n = m->n_params, per = (n + CHUNKS - 1) / CHUNKS;
    const float *g = m->grads;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < CHUNKS; ch++) {
        size_t i0 = (size_t)ch * per, i1 = i0 + per < n ? i0 + per : n;
        double s = 0.0;
        for (size_t i = i0; i < i1; i++) s += (double)g[i] * g[i];
        part[ch] = s;
    }
    double ss = 0.0;
    for (int ch = 0; ch < CHUNKS; ch++) ss += part[ch];
    double norm = sqrt(ss);
    if (max_norm > 0.0 && norm > max_norm && isfinite(norm)) {
        float s = (float)(max_norm / norm);
        float *gw = m->grads;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) gw[i] *= s;
    }
    return norm;
}
