/* zeroshot.h - GPT-1's zero-shot classification heuristic (Radford et al.
 * 2018, section 5, "zero-shot behaviors"): no training at all; put the
 * example in a template, and compare the language model's probability of
 * each label's words right after it (for sentiment the paper appends the
 * token "very" and restricts the output to "positive" and "negative").
 *
 * A label's score is the total log-probability of its tokens, one after the
 * other, after the prompt; the class probabilities are the softmax of the
 * scores over the labels (the LM's probability of each label word,
 * renormalised over the labels only). The prompt is run once through the
 * KV cache and each label continues from it. */
#ifndef GPTSCOPE_ZEROSHOT_H
#define GPTSCOPE_ZEROSHOT_H

#include <stddef.h>

#include "gpt.h"
#include "tokenizer.h"

typedef struct zeroshot {
    const gpt_model_t *model;
    tokenizer_t *tok;
    gpt_state_t *state;
    char *templ;
    int n_templ;        /* tokens of the template around "{text}" */
    int n_labels;
    int **label_ids, *label_len, max_label_len;
    float *logits;      /* [max_label_len, V] */
    int *prompt;        /* scratch, n_ctx ids */
    int n_cut;          /* texts cut so far to fit the context */
} zeroshot_t;

/* templ must contain "{text}" once (where the example goes); words[k] is
 * the text scored for label k, placed right after the template's end (give
 * it a leading space where a word boundary is wanted: " spam"). Returns 0,
 * or -1 with err (no {text}, an empty label, a label that does not fit). */
int zeroshot_init(zeroshot_t *z, const gpt_model_t *m, tokenizer_t *tok, const char *templ,
                  const char *const *words, int n_labels, int n_threads, char *err,
                  size_t errlen);
void zeroshot_free(zeroshot_t *z);

/* Scores one example: logp[k] (may be NULL) the label's total log
 * probability, probs[k] the softmax over the labels. A text too long for
 * the context keeps its first tokens (z->n_cut counts them). Returns the
 * best label, or -1 with err. The prompt is the template with the text in
 * it, tokenized as one string. */
int zeroshot_classify(zeroshot_t *z, const char *text, float *logp, float *probs, char *err,
                      size_t errlen);

#endif
