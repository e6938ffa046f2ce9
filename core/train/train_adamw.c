/* train_adamw.c - the optimiser (AdamW, decoupled weight decay) and the
 * learning-rate schedule (linear warm-up, cosine decay to a floor), as in
 * GPT-1's paper and its successors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "memx.h"
#include "train.h"

int train_adamw_init(train_adamw_t *opt, const train_model_t *m, float beta1, float beta2,
                     float eps, float weight_decay, int decay_embeddings) {
    memset(opt, 0, sizeof(*opt));
    opt->beta1 = beta1;
    opt->beta2 = beta2;
    opt->eps = eps;
    opt->weight_decay = weight_decay;
    opt->decay_embeddings = decay_embeddings;
    opt->n_params = m->n_params;
    opt->m = memx_floats(m->n_params);
    opt->v = memx_floats(m->n_params);
    if (!opt->m || !opt->v) {
        train_adamw_free(opt);
        return -1;
    }
    return 0;
}

void train_adamw_free(train_adamw_t *opt) {
    if (!opt) return;
    free(opt->m);
    free(opt->v);
    opt->m = opt->v = NULL;
}

/* One step over every tensor; t = step + 1 for the bias corrections
 * (m and v start at 0, so early averages are scaled up by 1 / (1 - beta^t)).
 * Decay is decoupled: it shrinks the weight directly (p -= lr * wd * p)
 * instead of entering the gradient, so Adam's scaling does not touch it. */
void train_adamw_step(train_adamw_t *opt, train_model_t *m, float lr) {
    opt->step++;
    double t = (double)opt->step;
    float bc1 = (float)(1.0 - pow(opt->beta1, t));
    float bc2 = (float)(1.0 - pow(opt->beta2, t));
    float b1 = opt->beta1, b2 = opt->beta2, eps = opt->eps;
    for (int ti = 0; ti < m->n_tensors; ti++) {
        const train_tensor_t *tt = &m->tensors[ti];
        if (opt->skip_muon && train_muon_applies(tt)) continue;
        int decay = tt->is_matrix || (tt->is_embedding && opt->decay_embeddings);
        float wd = decay ? opt->weight_decay : 0.0f;
        size_t off = (size_t)(tt->data - m->params), n = tt->numel;
        float *p = tt->data, *mm = opt->m + off, *vv = opt->v + off;
        const float *g = tt->grad;
#pragma omp parallel for schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) {
            float gi = g[i];
            float mi = b1 * mm[i] + (1.0f - b1) * gi;
            float vi = b2 * vv[i] + (1.0f - b2) * gi * gi;
            mm[i] = mi;
            vv[i] = vi;
            float mh = mi / bc1, vh = vi / bc2;
            p[i] -= lr * (mh / (sqrtf(vh) + eps) + wd * p[i]);
        }
    }
}

float train_lr_at(int64_t step, int64_t warmup, int64_t total, float lr_max, float lr_min) {
    if (warmup > 0 && step < warmup) return lr_max * (float)(step + 1) / (float)warmup;
    if (step >= total) return lr_min;
    double span = (double)(total - warmup);
    double frac = span > 0 ? (double)(step - warmup) / span : 1.0;
    double cosv = 0.5 * (1.0 + cos(3.141592653589793 * frac));
    return lr_min + (float)cosv * (lr_max - lr_min);
}
