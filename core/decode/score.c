/* score.c - sliding-window scoring of a token sequence (score.h). */
#include "score.h"

#include <stdio.h>
#include <stdlib.h>

#include "sampler.h"

/* positions per gpt_forward call: bounds the [batch, V] logits buffer */
#define SCORE_BATCH 256

/* One window: inputs [b, e), reported from position first_scored on. */
static int score_window(gpt_state_t *st, const int *ids, int b, int e, int first_scored,
                        float *logits, int n_vocab, score_row_fn fn, void *ctx, char *err,
                        size_t errlen) {
    gpt_state_reset(st);
    for (int p0 = b; p0 < e; p0 += SCORE_BATCH) {
        int k = e - p0 < SCORE_BATCH ? e - p0 : SCORE_BATCH;
        int want = p0 + k > first_scored;
        /* positions before first_scored only fill the cache */
        if (gpt_forward(st, ids + p0, k, want ? logits : NULL, want, NULL, err, errlen)) return -1;
        if (!want) continue;
        for (int i = 0; i < k; i++) {
            int p = p0 + i;
            if (p < first_scored) continue;
            if (fn(ctx, logits + (size_t)i * (size_t)n_vocab, n_vocab, p, ids[p + 1], err, errlen))
                return -1;
        }
    }
    return 0;
}

double score_predicted_bytes(const tokenizer_t *tok, const int *ids, size_t n) {
    double bytes = 0;
    for (size_t i = 1; i < n; i++) {
        size_t len = 0;
        if (tokenizer_token_bytes(tok, ids[i], &len)) bytes += (double)len;
    }
    return bytes;
}

int score_windows(const gpt_model_t *m, const int *ids, int n, int n_threads, score_row_fn fn,
                  void *ctx, char *err, size_t errlen) {
    const gpt_config_t *c = &m->cfg;
    int n_ctx = c->n_ctx, n_vocab = c->n_vocab;
    if (n < 2) {
        snprintf(err, errlen, "need at least 2 tokens to score, got %d", n);
        return -1;
    }
    int batch = n_ctx < SCORE_BATCH ? n_ctx : SCORE_BATCH;
    int stride = n_ctx / 2 > 0 ? n_ctx / 2 : 1;
    float *logits = malloc((size_t)batch * (size_t)n_vocab * sizeof *logits);
    if (!logits) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    gpt_state_t *st = gpt_state_init(m, batch, n_threads, err, errlen);
    int rc = -1;
    if (!st) goto done;
    /* Window inputs are positions [b, e); position p predicts ids[p + 1], so
     * the last input position is n - 2. scored_to: positions below it have
     * already been scored by an earlier window. */
    int scored_to = 0;
    for (int b = 0;; b += stride) {
        int e = b + n_ctx < n - 1 ? b + n_ctx : n - 1;
        if (score_window(st, ids, b, e, scored_to, logits, n_vocab, fn, ctx, err, errlen))
            goto done;
        scored_to = e;
        if (e == n - 1) break;
    }
    rc = 0;
done:
    gpt_state_free(st);
    free(logits);
    return rc;
}

typedef struct score_sum {
    double nats;
    long n;
} score_sum_t;

static int score_sum_row(void *ctx, const float *logits, int n_vocab, int pos, int target,
                         char *err, size_t errlen) {
    score_sum_t *s = ctx;
    (void)pos, (void)err, (void)errlen;
    s->nats += (double)sampler_logsumexp(logits, n_vocab) - (double)logits[target];
    s->n++;
    return 0;
}

int score_nats(const gpt_model_t *m, const int *ids, int n, int n_threads, double *nats,
               long *n_pred, char *err, size_t errlen) {
    score_sum_t s = {0, 0};
    if (score_windows(m, ids, n, n_threads, score_sum_row, &s, err, errlen) != 0) return -1;
    *nats = s.nats;
    *n_pred = s.n;
    return 0;
}

/* lp[pos] = logits[target] - logsumexp(logits): the exact log-softmax of
 * the target, in double. */
static int score_logprob_row(void *ctx, const float *logits, int n_vocab, int pos, int target,
                             char *err, size_t errlen) {
    (void)err, (void)errlen;
    double *lp = ctx;
    lp[pos] = (double)logits[target] - (double)sampler_logsumexp(logits, n_vocab);
    return 0;
}

int score_logprobs(const gpt_model_t *m, const int *ids, int n, int n_threads, double *lp,
                   char *err, size_t errlen) {
    return score_windows(m, ids, n, n_threads, score_logprob_row, lp, err, errlen);
}
