/* sampler.h - turns a logits vector into the next token, and reports why.
 *
 * Pipeline, in this order (the order Hugging Face applies them):
 *   1. penalties on the raw logits, from the history of ids:
 *        repetition (CTRL): l > 0 ? l / r : l * r, for every id seen;
 *        presence / frequency (OpenAI): l -= presence * [count > 0] + frequency * count
 *   2. temperature: l / T  (T == 0 means greedy: argmax, no randomness)
 *   3. top-k: keep the k largest (0 = off)
 *   4. top-p: keep the smallest prefix of the sorted distribution whose mass >= p (1 = off)
 *   5. min-p: keep tokens with p >= min_p * p_max (0 = off)
 *   6. renormalise and draw with the seeded RNG.
 * Every step fills a report: the top candidates with their raw probability
 * (softmax of the unmodified logits) and final probability (after 1-5), which
 * were filtered out, which was chosen, and the entropies. The probability pane
 * and `generate --json` are built on it. */
#ifndef GPTSCOPE_SAMPLER_H
#define GPTSCOPE_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#define SAMPLER_MAX_REPORT 64

typedef struct sampler_params {
    float temperature;        /* 0 = greedy; default 1 */
    int top_k;                /* 0 = off */
    float top_p;              /* 1 = off */
    float min_p;              /* 0 = off */
    float repetition_penalty; /* 1 = off */
    float presence_penalty;   /* 0 = off */
    float frequency_penalty;  /* 0 = off */
    uint64_t seed;
    int n_report;             /* candidates to report, <= SAMPLER_MAX_REPORT */
} sampler_params_t;

/* Defaults: temperature 1, no filtering, no penalties, seed 0, report 10. */
sampler_params_t sampler_params_default(void);
/* Checks ranges (temperature >= 0, top_p in (0,1], min_p in [0,1],
 * repetition_penalty > 0, n_report in [0, SAMPLER_MAX_REPORT]); returns 0 or -1
 * with a message naming the parameter. */
int sampler_params_check(const sampler_params_t *p, char *err, size_t errlen);

typedef struct sampler_candidate {
    int id;
    float logit;       /* raw logit from the model */
    float raw_prob;    /* softmax of the raw logits */
    float raw_logprob; /* log of raw_prob (exact, computed as logit - logsumexp) */
    float prob;        /* final probability the draw used (0 when filtered out) */
    int kept;          /* 1 if it survived top-k / top-p / min-p */
} sampler_candidate_t;

typedef struct sampler_report {
    int chosen;              /* the id drawn */
    float chosen_raw_logprob;
    float chosen_prob;       /* final probability of the chosen id */
    int chosen_rank;         /* rank of the chosen id by final probability (0 = top) */
    int n_kept;              /* ids that survived filtering */
    float entropy_raw;       /* nats, raw distribution */
    float entropy_final;     /* nats, after the pipeline */
    int n_cand;              /* candidates below, sorted by final then raw probability */
    sampler_candidate_t cand[SAMPLER_MAX_REPORT];
} sampler_report_t;

typedef struct sampler sampler_t;

/* n_vocab sized work buffers are allocated once here. NULL on failure with err. */
sampler_t *sampler_init(const sampler_params_t *p, int n_vocab, char *err, size_t errlen);
void sampler_free(sampler_t *s);
/* Reseeds and changes the parameters (for /temp, /seed in the UI). */
int sampler_set_params(sampler_t *s, const sampler_params_t *p, char *err, size_t errlen);
const sampler_params_t *sampler_get_params(const sampler_t *s);

/* Chooses the next token. logits (n_vocab) are not modified. history holds the
 * ids the penalties look at (prompt + generated). report may be NULL.
 * Returns the chosen id, or -1 when a hook failed (sampler_error says why;
 * without hooks it cannot fail). */
int sampler_sample(sampler_t *s, const float *logits, const int *history, size_t n_history,
                   sampler_report_t *report);
/* The message of the last failed sampler_sample. */
const char *sampler_error(const sampler_t *s);

/* Extension points for code the sampler does not know (the app's plugins):
 *   process  runs first, on a copy of the logits it may change (a banned
 *            token gets -INFINITY); the report's raw probabilities stay the
 *            model's, and a token it sets to -inf is reported filtered out.
 *   choose   replaces steps 3-6 when the temperature is > 0: it gets the
 *            penalised, temperature-scaled logits (shifted so the maximum is
 *            0), draws with uniform(rng) (the sampler's seeded generator),
 *            and may put the distribution it drew from in probs[n_vocab]
 *            (zeroed before the call; left zero: the softmax of the logits).
 *            Returns the id, or -1 with err.
 *   reset    called by sampler_set_params (a new seed, new settings).
 * Each may be NULL; a hook's -1 makes sampler_sample return -1. */
typedef struct sampler_hooks {
    void *user;
    int (*process)(void *user, float *logits, int n_vocab, const int *history,
                   size_t n_history, char *err, size_t errlen);
    int (*choose)(void *user, const float *logits, int n_vocab, const int *history,
                  size_t n_history, double (*uniform)(void *rng), void *rng, float *probs,
                  char *err, size_t errlen);
    void (*reset)(void *user);
} sampler_hooks_t;
/* h is copied; NULL removes the hooks. Returns 0, or -1 out of memory. */
int sampler_set_hooks(sampler_t *s, const sampler_hooks_t *h);

/* Fills report for a token chosen by other means (beam search): the raw
 * distribution (softmax of logits, no penalties, temperature or filters, so
 * final = raw and every id is kept), chosen = the given id with its rank in
 * it. The parameters' n_report sets the number of candidates; the RNG is not
 * touched. chosen must be in [0, n_vocab). */
void sampler_describe(sampler_t *s, const float *logits, int chosen, sampler_report_t *report);

/* log softmax helpers shared by eval and beam search:
 * returns logsumexp(logits[0..n)) computed stably (max subtracted first). */
float sampler_logsumexp(const float *logits, int n);

#endif
