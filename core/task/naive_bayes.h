/* naive_bayes.h - the bag-of-words baseline fine-tuning is judged against:
 * multinomial naive Bayes with Laplace (add-alpha) smoothing.
 *
 * Words are maximal runs of ASCII letters and digits (lower-cased) and of
 * non-ASCII bytes (so a UTF-8 word stays one word); everything else
 * separates. For a text with word counts c_w,
 *     log P(k | text) = log prior_k + sum_w c_w log P(w | k) + const,
 *     P(w | k) = (n_kw + alpha) / (n_k + alpha |V|),
 * over the training vocabulary V (unseen words are skipped, as usual). */
#ifndef GPTSCOPE_NAIVE_BAYES_H
#define GPTSCOPE_NAIVE_BAYES_H

#include <stddef.h>

#include "task_data.h"

typedef struct nb_model nb_model_t;

/* Trains on every labelled example of d (fields joined by a space). NULL
 * with err when none is labelled or out of memory. */
nb_model_t *nb_train(const task_data_t *d, double alpha, char *err, size_t errlen);
void nb_free(nb_model_t *m); /* NULL is a no-op */
int nb_n_classes(const nb_model_t *m);
int nb_n_words(const nb_model_t *m);
/* Class probabilities of a text into probs[n_classes]; returns the most
 * likely class (ties: the lower index). */
int nb_predict(const nb_model_t *m, const char *text, double *probs);
/* The same for an example (its fields joined). */
int nb_predict_example(const nb_model_t *m, const task_example_t *e, double *probs);

#endif
