/* task_head.c - the task head's forward and backward (task_head.h). The
 * sizes are small (a batch of extract states times K outputs), so plain
 * loops; the dropout mask is the trainer's counter hash, regenerated in
 * backward. */
#include "task_head.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memx.h"
#include "train_ops.h"

int task_head_init(task_head_t *h, int C, int K, int max_features, char *err, size_t errlen) {
    memset(h, 0, sizeof *h);
    if (C < 1 || K < 1 || max_features < 1) {
        snprintf(err, errlen, "task head: bad sizes (width %d, %d outputs, %d features)", C, K,
                 max_features);
        return -1;
    }
    h->C = C;
    h->K = K;
    h->max_features = max_features;
    h->x = memx_floats((size_t)max_features * C);
    h->dx = memx_floats((size_t)max_features * C);
    h->z = memx_floats((size_t)max_features * K);
    if (!h->x || !h->dx || !h->z) {
        task_head_free(h);
        snprintf(err, errlen, "task head: out of memory");
        return -1;
    }
    return 0;
}

void task_head_free(task_head_t *h) {
    if (!h) return;
    free(h->x);
    free(h->dx);
    free(h->z);
    memset(h, 0, sizeof *h);
}

/* features per example and outputs per feature for the mode */
static int th_n_features(const task_head_batch_t *b) {
    return b->mode == TASK_HEAD_SUM ? b->n_examples : b->n_examples * b->n_seq;
}

/* row i of the example's logits: n_out values starting at z + e * n_out */
static int th_n_out(const task_head_t *h, const task_head_batch_t *b) {
    return b->mode == TASK_HEAD_SUM ? h->K : b->n_seq;
}

float task_head_forward(task_head_t *h, const float *W, const float *bias, const float *hidden,
                        const task_head_batch_t *b, float pdrop, uint64_t key, float *probs,
                        int n_threads) {
    const int C = h->C, K = h->K, nf = th_n_features(b), n_out = th_n_out(h, b);
    if (nf > h->max_features || nf < 1 || (b->mode == TASK_HEAD_CHOICE && K != 1)) return NAN;
    h->b = *b;
    h->pdrop = pdrop;
    h->key = key;
    /* gather: SUM adds the example's sequences, CHOICE keeps each */
    for (int f = 0; f < nf; f++) {
        float *x = h->x + (size_t)f * C;
        if (b->mode == TASK_HEAD_SUM) {
            memset(x, 0, (size_t)C * sizeof(float));
            for (int s = 0; s < b->n_seq; s++) {
                const float *src = hidden + (size_t)b->rows[f * b->n_seq + s] * C;
                for (int k = 0; k < C; k++) x[k] += src[k];
            }
        } else {
            memcpy(x, hidden + (size_t)b->rows[f] * C, (size_t)C * sizeof(float));
        }
    }
    if (pdrop > 0.0f)
        train_dropout(h->x, h->x, NULL, (size_t)nf * C, pdrop,
                      train_site_key(key, 0, TRAIN_SITE_TASK_HEAD), n_threads);
    /* z[f, k] = W[k] . x[f] + b[k]; CHOICE lays the n_seq scores of an
     * example side by side, which is the same array */
    for (int f = 0; f < nf; f++) {
        const float *x = h->x + (size_t)f * C;
        for (int k = 0; k < K; k++) {
            const float *w = W + (size_t)k * C;
            double s = bias ? bias[k] : 0.0;
            for (int j = 0; j < C; j++) s += (double)w[j] * x[j];
            h->z[(size_t)f * K + k] = (float)s;
        }
    }
    /* softmax per example; z becomes the probabilities */
    double loss = 0.0;
    h->n_labelled = 0;
    for (int e = 0; e < b->n_examples; e++) {
        float *z = h->z + (size_t)e * n_out;
        float mx = z[0];
        for (int k = 1; k < n_out; k++) mx = z[k] > mx ? z[k] : mx;
        double sum = 0.0;
        for (int k = 0; k < n_out; k++) sum += exp((double)z[k] - mx);
        int y = b->labels ? b->labels[e] : -1;
        if (y >= 0 && y < n_out) {
            loss += log(sum) + mx - z[y];
            h->n_labelled++;
        }
        for (int k = 0; k < n_out; k++) z[k] = (float)(exp((double)z[k] - mx) / sum);
        if (probs) memcpy(probs + (size_t)e * n_out, z, (size_t)n_out * sizeof(float));
    }
    return h->n_labelled ? (float)(loss / h->n_labelled) : NAN;
}

void task_head_backward(task_head_t *h, const float *W, float *dW, float *dbias, float *dhidden,
                        float loss_scale, int n_threads) {
    const task_head_batch_t *b = &h->b;
    const int C = h->C, K = h->K, nf = th_n_features(b), n_out = th_n_out(h, b);
    if (h->n_labelled == 0) return;
    float scale = loss_scale / (float)h->n_labelled;
    /* dz = (p - onehot(y)) * scale; unlabelled examples contribute nothing */
    for (int e = 0; e < b->n_examples; e++) {
        float *z = h->z + (size_t)e * n_out;
        int y = b->labels ? b->labels[e] : -1;
        for (int k = 0; k < n_out; k++)
            z[k] = y >= 0 && y < n_out ? (z[k] - (k == y ? 1.0f : 0.0f)) * scale : 0.0f;
    }
    for (int f = 0; f < nf; f++) {
        const float *x = h->x + (size_t)f * C, *dz = h->z + (size_t)f * K;
        float *dx = h->dx + (size_t)f * C;
        memset(dx, 0, (size_t)C * sizeof(float));
        for (int k = 0; k < K; k++) {
            if (dz[k] == 0.0f) continue;
            float *dw = dW + (size_t)k * C;
            const float *w = W + (size_t)k * C;
            for (int j = 0; j < C; j++) {
                dw[j] += dz[k] * x[j];
                dx[j] += dz[k] * w[j];
            }
            if (dbias) dbias[k] += dz[k];
        }
    }
    /* through the dropout mask (the same draw), then to the extract rows */
    if (h->pdrop > 0.0f)
        train_dropout(h->dx, h->dx, NULL, (size_t)nf * C, h->pdrop,
                      train_site_key(h->key, 0, TRAIN_SITE_TASK_HEAD), n_threads);
    for (int f = 0; f < nf; f++) {
        const float *dx = h->dx + (size_t)f * C;
        int n_rows = b->mode == TASK_HEAD_SUM ? b->n_seq : 1;
        for (int s = 0; s < n_rows; s++) {
            float *dh = dhidden + (size_t)b->rows[f * n_rows + s] * C;
            for (int j = 0; j < C; j++) dh[j] += dx[j];
        }
    }
}
