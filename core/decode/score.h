/* score.h - a model's next-token predictions over a long token sequence, as
 * `gptscope eval` and `gptscope calibrate` score a text.
 *
 * Windows of n_ctx tokens with a stride of n_ctx/2: the first window predicts
 * every token in it; each later window predicts only the tokens the previous
 * ones did not, so every token after the first is predicted exactly once and,
 * past the first window, with at least n_ctx/2 tokens of context (the
 * "sliding window" evaluation of the Hugging Face perplexity guide). It costs
 * about twice the forward passes of non-overlapping windows, whose first
 * tokens would be predicted from almost nothing and inflate the loss. */
#ifndef GPTSCOPE_SCORE_H
#define GPTSCOPE_SCORE_H

#include <stddef.h>

#include "gpt.h"
#include "tokenizer.h"

/* Called once per prediction, in order of position: logits [n_vocab] (raw,
 * before any softmax) of the position pos, which predicts ids[pos + 1] =
 * target. Returns 0 to go on, non-zero to stop score_windows (which then
 * returns -1 with err as the callback left it). */
typedef int (*score_row_fn)(void *ctx, const float *logits, int n_vocab, int pos, int target,
                            char *err, size_t errlen);

/* Scores positions 0..n-2 of ids (n >= 2) with n_threads threads. Returns 0,
 * or -1 with err set (out of memory, a forward error, or the callback's). */
int score_windows(const gpt_model_t *m, const int *ids, int n, int n_threads, score_row_fn fn,
                  void *ctx, char *err, size_t errlen);

/* The next-token loss -log softmax(logits)[target] summed over every
 * prediction of score_windows into *nats, and their count (n - 1) into
 * *n_pred: what `eval` reports and finetune measures. Returns 0 or -1. */
int score_nats(const gpt_model_t *m, const int *ids, int n, int n_threads, double *nats,
               long *n_pred, char *err, size_t errlen);

/* The log-probability of every prediction of score_windows: lp[pos] =
 * ln p(ids[pos + 1] | the window before it) for pos 0..n-2 (n - 1 entries;
 * `gptscope compare` and /compare). Returns 0 or -1. */
int score_logprobs(const gpt_model_t *m, const int *ids, int n, int n_threads, double *lp,
                   char *err, size_t errlen);

/* Bytes of the predicted tokens ids[1..n) as tok decodes them: the divisor
 * of bits per byte. */
double score_predicted_bytes(const tokenizer_t *tok, const int *ids, size_t n);

#endif
