/* train_ema.c - a moving average of the weights (train.h). It costs one
 * pass over the parameters per step (about 1% of a step at the bundled
 * model's shape) and, in the sweeps of bench/sweep, lowered held-out bits per
 * byte by about 0.01 at the end of a one-hour schedule (bench/sweep/README.md). */
#include <stdlib.h>
#include <string.h>

#include "memx.h"
#include "train.h"

int train_ema_init(train_ema_t *e, const train_model_t *m, float decay) {
    memset(e, 0, sizeof(*e));
    e->decay = decay;
    e->n_params = m->n_params;
    e->avg = memx_floats(m->n_params);
    if (!e->avg) return -1;
    memcpy(e->avg, m->params, m->n_params * sizeof(float));
    return 0;
}

void train_ema_free(train_ema_t *e) {
    if (!e) return;
    free(e->avg);
    e->avg = NULL;
}

void train_ema_update(train_ema_t *e, const train_model_t *m) {
    if (!e->avg) return;
    float k = 1.0f - e->decay, *a = e->avg;
    const float *w = m->params;
    size_t n = e->n_params;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) a[i] += k * (w[i] - a[i]);
}

void train_ema_swap(train_ema_t *e, train_model_t *m) {
    if (!e->avg) return;
    float *a = e->avg, *w = m->params;
    size_t n = e->n_params;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float x = a[i];
        a[i] = w[i];
        w[i] = x;
    }
}
