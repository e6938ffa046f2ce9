/* sampler_internal.h - the sampler's state and the pieces its two files
 * share: sampler.c (the pipeline and the draw) and sampler_report.c (what
 * the probability pane shows of a draw). Only core/decode/sampler*.c
 * include it; everything else uses sampler.h. */
#ifndef GPTSCOPE_SAMPLER_INTERNAL_H
#define GPTSCOPE_SAMPLER_INTERNAL_H

#include <math.h>

#include "mathx.h"
#include "sampler.h"

#define SAMPLER_N_BUCKETS 1024
/* Histogram span in nats below the best token: e^-64 ~ 1.6e-28 relative
 * weight; anything lower shares the last bucket. */
#define SAMPLER_BUCKET_SPAN 64.0f

typedef struct sampler_entry {
    float s; /* penalised, shifted, temperature-scaled logit */
    float e; /* exp(s), the unnormalised probability */
    int id;
} sampler_entry_t;

struct sampler {
    sampler_params_t params;
    int n_vocab;
    rng_t rng;
    float *s;               /* [n_vocab] s by id */
    float *e;               /* [n_vocab] e by id */
    sampler_entry_t *entry; /* [n_vocab] an explicit candidate set, permuted in place */
    int *count;             /* [n_vocab] occurrences in the history; all-zero between calls */
    int *touched;           /* [n_vocab] ids counted this call, so clearing is O(history) */
    float *work_a, *work_b; /* [n_vocab] scratch for the report's vectorised passes */
    int *bucket_count;      /* [SAMPLER_N_BUCKETS] */
    double *bucket_mass;    /* [SAMPLER_N_BUCKETS] */
    sampler_hooks_t hooks;  /* all NULL: none */
    float *hook_logits;     /* [n_vocab] the logits process changes; NULL until hooks */
    float *hook_probs;      /* [n_vocab] what choose drew from */
    char error[256];        /* of the last failed sampler_sample */
};

/* The kept set is either explicit (entry[0..n)) or, when only min-p (or no
 * filter) applies, implicit: every id with e[id] >= thr. The implicit form
 * spares building a V-sized entry list for the default settings. */
typedef struct kept_set {
    int is_explicit;
    int n;
    float thr;
} kept_set_t;

/* ---- vectorisable building blocks --------------------------------------- */

/* Sum in double through eight independent accumulators: independent lanes
 * vectorise without reassociating one long dependency chain, and double
 * keeps 50257 terms free of visible rounding. */
static inline double sum_f64(const float *x, int n) {
    double acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += x[i + j];
    for (; i < n; i++) acc[0] += x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static inline float max_f32(const float *x, int n) {
    float acc[8];
    for (int j = 0; j < 8; j++) acc[j] = -INFINITY;
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
    for (; i < n; i++) acc[0] = x[i] > acc[0] ? x[i] : acc[0];
    float m = acc[0];
    for (int j = 1; j < 8; j++) m = acc[j] > m ? acc[j] : m;
    return m;
}

static inline float min_f32(const float *x, int n) {
    float acc[8];
    for (int j = 0; j < 8; j++) acc[j] = INFINITY;
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] = x[i + j] < acc[j] ? x[i + j] : acc[j];
    for (; i < n; i++) acc[0] = x[i] < acc[0] ? x[i] : acc[0];
    float m = acc[0];
    for (int j = 1; j < 8; j++) m = acc[j] < m ? acc[j] : m;
    return m;
}

/* logsumexp(x) = m + log(sum exp(x - m)), m = max x: every exponent is <= 0,
 * so nothing overflows and the largest term is exactly 1 (no underflow of the
 * whole sum). Accumulated in double in blocks of 8 (see sum_f64). */
static inline double logsumexp_f64(const float *x, int n) {
    float m = max_f32(x, n);
    if (m == -INFINITY || isnan(m)) return m;
    double acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += mathx_exp(x[i + j] - m);
    for (; i < n; i++) acc[0] += mathx_exp(x[i] - m);
    double sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    return (double)m + log(sum);
}

/* Fills the report r of a draw of chosen (weight chosen_e) from the kept
 * set ks with normaliser z, for the logits as the model gave them. */
void sampler_fill_report(sampler_t *s, const float *logits, const kept_set_t *ks, double z,
                         int chosen, float chosen_e, sampler_report_t *r);

#endif
