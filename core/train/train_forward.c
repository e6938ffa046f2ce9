/* train_forward.c - the activation store and the forward pass of a training
 * step: embeddings -> blocks -> (ln_f) -> logits -> softmax cross-entropy,
 * keeping every activation the backward pass needs (train_ops.h lists them).
 * Memory is planned once in train_acts_init from the largest batch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memx.h"
#include "train_ops.h"

static float *acts_alloc(size_t n, int *fail) {
    float *p = memx_floats(n);
    if (!p) *fail = 1;
    return p;
}

static void acts_head_ctx_free(train_acts_t *a) {
    if (!a->amx_head) return;
    for (int i = 0; i < a->n_threads; i++) amx_ctx_free(a->amx_head[i]);
    free(a->amx_head);
    a->amx_head = NULL;
}

void train_acts_free(train_acts_t *a) {
    if (!a) return;
    float *bufs[] = {a->x0,   a->lnA,  a->lnA_mean, a->lnA_rstd, a->qkv,      a->probs,
                     a->atty, a->r1,   a->lnB,      a->lnB_mean, a->lnB_rstd, a->fch,
                     a->fcg,  a->r2,   a->lnf,      a->lnf_mean, a->lnf_rstd, a->logits,
                     a->row_loss, a->dres, a->dres2, a->dtmp, a->dqkv, a->dfc,
                     a->head_scratch};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) free(bufs[i]);
    free(a->inputs);
    free(a->targets);
    acts_head_ctx_free(a);
    amx_ctx_free(a->amx);
    free(a);
}

int train_acts_set_bf16(train_acts_t *a, int on, char *err, size_t errlen) {
    if (!on) {
        acts_head_ctx_free(a);
        amx_ctx_free(a->amx);
        a->amx = NULL;
        return 0;
    }
    if (amx_best_backend() == AMX_BACKEND_NONE) {
        snprintf(err, errlen, "bf16 training needs a CPU with AMX-BF16 or AVX512-BF16; this one "
                              "has neither");
        return -1;
    }
    if (!a->amx && !(a->amx = amx_ctx_init(a->n_threads))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!a->amx_head) {
        /* the attention products run inside a parallel region over (b, h):
         * each thread packs into its own context */
        a->amx_head = calloc((size_t)a->n_threads, sizeof(*a->amx_head));
        for (int i = 0; a->amx_head && i < a->n_threads; i++)
            if (!(a->amx_head[i] = amx_ctx_init(1))) {
                acts_head_ctx_free(a);
                break;
            }
        if (!a->amx_head) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

train_acts_t *train_acts_init(const train_model_t *m, int B, int T, int n_threads, char *err,
                              size_t errlen) {
    const gpt_config_t *c = &m->cfg;
    if (B <= 0 || T <= 0 || T > c->n_ctx) {
        snprintf(err, errlen, "batch %d x %d tokens: T must be in 1..n_ctx (%d)", B, T, c->n_ctx);
        return NULL;
    }
    if (n_threads <= 0) n_threads = 1;
    train_acts_t *a = calloc(1, sizeof(*a));
    if (!a) goto oom;
    a->max_B = B;
    a->max_T = T;
    a->n_threads = n_threads;
    size_t N = (size_t)B * T, C = (size_t)c->n_embd, F = (size_t)c->n_inner;
    size_t L = (size_t)c->n_layer, H = (size_t)c->n_head, V = (size_t)c->n_vocab;
    int fail = 0;
    a->inputs = malloc(N * sizeof(int));
    a->targets = malloc(N * sizeof(int));
    if (!a->inputs || !a->targets) fail = 1;
    a->x0 = acts_alloc(N * C, &fail);
    a->lnA = acts_alloc(L * N * C, &fail);
    a->lnA_mean = acts_alloc(L * N, &fail);
    a->lnA_rstd = acts_alloc(L * N, &fail);
    a->qkv = acts_alloc(L * N * 3 * C, &fail);
    a->probs = acts_alloc(L * B * H * (size_t)T * T, &fail);
    a->atty = acts_alloc(L * N * C, &fail);
    a->r1 = acts_alloc(L * N * C, &fail);
    a->lnB = acts_alloc(L * N * C, &fail);
    a->lnB_mean = acts_alloc(L * N, &fail);
    a->lnB_rstd = acts_alloc(L * N, &fail);
    a->fch = acts_alloc(L * N * F, &fail);
    a->fcg = acts_alloc(L * N * F, &fail);
    a->r2 = acts_alloc(L * N * C, &fail);
    a->lnf = acts_alloc(N * C, &fail);
    a->lnf_mean = acts_alloc(N, &fail);
    a->lnf_rstd = acts_alloc(N, &fail);
    a->logits = acts_alloc(N * V, &fail);
    a->row_loss = acts_alloc(N, &fail);
    a->dres = acts_alloc(N * C, &fail);
    a->dres2 = acts_alloc(N * C, &fail);
    a->dtmp = acts_alloc(N * C, &fail);
    a->dqkv = acts_alloc(N * 3 * C, &fail);
    a->dfc = acts_alloc(N * F, &fail);
    a->head_scratch = acts_alloc((size_t)n_threads * 2 * (size_t)T * T, &fail);
    if (fail) goto oom;
    return a;
oom:
    snprintf(err, errlen, "out of memory allocating training activations for a batch of %d x %d",
             B, T);
    train_acts_free(a);
    return NULL;
}

int64_t train_last_count(const train_acts_t *a) { return a->count; }

/* The residual stream entering layer l. */
static const float *fwd_layer_input(const train_model_t *m, const train_acts_t *a, int l,
                                    size_t NC) {
    if (l == 0) return a->x0;
    return m->cfg.pre_norm ? a->r2 + (size_t)(l - 1) * NC : a->lnB + (size_t)(l - 1) * NC;
}

float train_forward(train_model_t *m, train_acts_t *a, const int *inputs, const int *targets,
                    int B, int T, const train_dropout_t *dropout, uint64_t dropout_key, char *err,
                    size_t errlen) {
    const gpt_config_t *c = &m->cfg;
    if (B <= 0 || T <= 0 || B > a->max_B || T > a->max_T) {
        snprintf(err, errlen, "batch %d x %d is larger than the %d x %d the trainer was sized for",
                 B, T, a->max_B, a->max_T);
        return NAN;
    }
    int C = c->n_embd, F = c->n_inner, V = c->n_vocab, H = c->n_head, nt = a->n_threads;
    int N = B * T;
    size_t NC = (size_t)N * C;
    for (int i = 0; i < N; i++) {
        if (inputs[i] < 0 || inputs[i] >= V || targets[i] < -1 || targets[i] >= V) {
            int bad = inputs[i] < 0 || inputs[i] >= V ? inputs[i] : targets[i];
            snprintf(err, errlen, "token id %d at position %d is outside the vocabulary (%d)", bad,
                     i, V);
            return NAN;
        }
    }
    a->B = B;
    a->T = T;
    a->key = dropout_key;
    a->drop = dropout ? *dropout : (train_dropout_t){0, 0, 0};
    memcpy(a->inputs, inputs, (size_t)N * sizeof(int));
    memcpy(a->targets, targets, (size_t)N * sizeof(int));

    /* x0 = wte[id] + wpe[pos], then embedding dropout */
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int i = 0; i < N; i++) {
        const float *te = m->wte + (size_t)inputs[i] * C, *pe = m->wpe + (size_t)(i % T) * C;
        float *x = a->x0 + (size_t)i * C;
        for (int k = 0; k < C; k++) x[k] = te[k] + pe[k];
    }
    if (a->drop.embd > 0.0f)
        train_dropout(a->x0, a->x0, NULL, NC, a->drop.embd,
                      train_site_key(dropout_key, 0, TRAIN_SITE_EMBD), nt);

    for (int l = 0; l < c->n_layer; l++) {
        const train_layer_t *Lw = &m->layers[l];
        const float *x = fwd_layer_input(m, a, l, NC);
        float *lnA = a->lnA + l * NC, *lnB = a->lnB + l * NC;
        float *lnA_mean = a->lnA_mean + (size_t)l * N, *lnA_rstd = a->lnA_rstd + (size_t)l * N;
        float *lnB_mean = a->lnB_mean + (size_t)l * N, *lnB_rstd = a->lnB_rstd + (size_t)l * N;
        float *qkv = a->qkv + l * NC * 3, *atty = a->atty + l * NC;
        float *probs = a->probs + (size_t)l * B * H * T * T;
        float *r1 = a->r1 + l * NC, *r2 = a->r2 + l * NC;
        float *fch = a->fch + (size_t)l * N * F, *fcg = a->fcg + (size_t)l * N * F;

        /* attention sub-block: r1 = x + drop(proj(attn(in))), the sum in
         * dropout's pass */
        const float *attn_in = x;
        if (c->pre_norm) {
            train_layernorm_forward(lnA, lnA_mean, lnA_rstd, x, Lw->ln1_g, Lw->ln1_b, N, C,
                                    c->ln_eps, nt);
            attn_in = lnA;
        }
        train_matmul_forward(qkv, attn_in, Lw->qkv_w, Lw->qkv_b, N, C, 3 * C, nt, a->amx);
        train_attention_forward(atty, probs, qkv, B, T, C, H, a->drop.attn,
                                train_site_key(dropout_key, l, TRAIN_SITE_ATTN), a->head_scratch,
                                nt, a->amx_head);
        train_matmul_forward(r1, atty, Lw->proj_w, Lw->proj_b, N, C, C, nt, a->amx);
        train_dropout(r1, r1, x, NC, a->drop.resid,
                      train_site_key(dropout_key, l, TRAIN_SITE_RESID_ATTN), nt);

        /* MLP sub-block: r2 = base + drop(fc2(gelu(fc(in)))) */
        const float *mlp_in;
        if (c->pre_norm) {
            train_layernorm_forward(lnB, lnB_mean, lnB_rstd, r1, Lw->ln2_g, Lw->ln2_b, N, C,
                                    c->ln_eps, nt);
            mlp_in = lnB;
        } else {
            train_layernorm_forward(lnA, lnA_mean, lnA_rstd, r1, Lw->ln1_g, Lw->ln1_b, N, C,
                                    c->ln_eps, nt);
            mlp_in = lnA;
        }
        train_matmul_forward(fch, mlp_in, Lw->fc_w, Lw->fc_b, N, C, F, nt, a->amx);
        train_gelu_forward(fcg, fch, (size_t)N * F, nt);
        train_matmul_forward(r2, fcg, Lw->fc2_w, Lw->fc2_b, N, F, C, nt, a->amx);
        train_dropout(r2, r2, c->pre_norm ? r1 : lnA, NC, a->drop.resid,
                      train_site_key(dropout_key, l, TRAIN_SITE_RESID_MLP), nt);
        if (!c->pre_norm)
            train_layernorm_forward(lnB, lnB_mean, lnB_rstd, r2, Lw->ln2_g, Lw->ln2_b, N, C,
                                    c->ln_eps, nt);
    }

    const float *h = fwd_layer_input(m, a, c->n_layer, NC);
    if (c->final_ln) {
        train_layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, h, m->lnf_g, m->lnf_b, N, C,
                                c->ln_eps, nt);
        h = a->lnf;
    }
    /* logits [N, V] = h [N, C] @ wte^T */
    train_logits_forward(a->logits, h, m->wte, N, C, V, nt, a->amx);
    double total = train_softmax_xent_forward(a->logits, a->row_loss, targets, N, V, &a->count,
                                              nt);
    return a->count > 0 ? (float)(total / (double)a->count) : NAN;
}
