/* beam.h - beam search over a gpt_model, with length normalisation.
 *
 * Keeps n_beams hypotheses, each with its own KV cache (gpt_state_copy when a
 * hypothesis forks). At every step each live beam proposes its 2 * n_beams
 * best next tokens by log-probability of the model's raw distribution, and
 * all proposals are ranked by sum_logprob (ties: lower beam, then lower id).
 * Walking that ranking as Hugging Face does: an eos proposal ranked among the
 * first n_beams finishes a hypothesis; other proposals become the next live
 * beams until there are n_beams of them (proposing 2 * n_beams per beam means
 * eos proposals cannot starve the beam). A live beam that reaches max_new
 * tokens is finished too. Each finished hypothesis is scored
 *     score = sum_logprob / (n_generated ^ length_penalty)
 * where n_generated and sum_logprob include the eos token when there is one
 * (length_penalty 1.0 = mean log-prob, 0 = raw sum, as in Hugging Face). The
 * n_beams best finished hypotheses are kept.
 * Search stops when n_beams hypotheses are finished and no live beam can beat
 * the worst of them (an exact bound: log-probs are <= 0, so a live beam's
 * best reachable score is its current sum at the most favourable length up to
 * max_new), or at max_new. Deterministic: no RNG. */
#ifndef GPTSCOPE_BEAM_H
#define GPTSCOPE_BEAM_H

#include <signal.h>
#include <stddef.h>

#include "gpt.h"

typedef struct beam_params {
    int n_beams;          /* >= 1 */
    int max_new;          /* tokens to generate at most */
    float length_penalty; /* exponent on the generated length */
    int eos_id;           /* -1: none */
    int n_threads;
    /* Non-NULL: checked before each step; once *stop is set (by a SIGINT
     * handler, say) the search ends early with the best hypotheses so far:
     * the finished ones and the live beams as they stand. */
    const volatile sig_atomic_t *stop;
} beam_params_t;

typedef struct beam_hyp {
    int *ids;            /* generated ids only (malloc'd) */
    int n;
    float sum_logprob;
    float score;
} beam_hyp_t;

typedef struct beam_result {
    beam_hyp_t *hyps;    /* n_hyps, best first */
    int n_hyps;
    int interrupted;     /* 1: ended early by *stop */
} beam_result_t;

/* Runs beam search after prompt[0..n_prompt). The prompt plus max_new must
 * fit in n_ctx (the caller trims the prompt). Returns 0, or -1 with err. */
int beam_search(const gpt_model_t *m, const int *prompt, int n_prompt, const beam_params_t *p,
                beam_result_t *out, char *err, size_t errlen);
void beam_result_free(beam_result_t *r);

/* The search itself, over an abstract model, so it can be tested without
 * weights and reused with any scorer. A "slot" is one hypothesis' state
 * (for gpt: a KV cache); there are n_beams slots, numbered 0..n_beams-1.
 *   step: appends ids[0..n) to the state in slot and writes the log-probs of
 *         the next token (n_vocab floats, log-softmax of the model's raw
 *         distribution) into logprobs. The prompt is fed to slot 0 first.
 *   copy: makes slot dst a copy of slot src (a hypothesis forks).
 * Both return 0, or -1 with err set; the search then fails with that err. */
typedef struct beam_ops {
    void *ctx;
    int n_vocab;
    int (*step)(void *ctx, int slot, const int *ids, int n, float *logprobs, char *err,
                size_t errlen);
    int (*copy)(void *ctx, int dst, int src, char *err, size_t errlen);
} beam_ops_t;

int beam_search_fn(const beam_ops_t *ops, const int *prompt, int n_prompt,
                   const beam_params_t *p, beam_result_t *out, char *err, size_t errlen);

#endif
