/* task_head.h - GPT-1's task head: a linear layer on the transformer's final
 * hidden state at each sequence's extract token, with dropout on its input,
 * trained by softmax cross-entropy (the fine-tuning objective adds lambda
 * times the LM loss, train_backward_with).
 *
 * Two shapes, following the paper's input transformations:
 *   TASK_HEAD_SUM    each example is n_seq sequences whose extract states
 *                    are added (classify, entail: 1; similar: 2, both
 *                    orders), then logits[K] = W x + b;
 *   TASK_HEAD_CHOICE each example is n_seq sequences (one per choice), each
 *                    scored s_j = w . h_j + b (K = 1), softmax over the j.
 * W is [K, C] (nn.Linear's layout), b [K]. For example e with features x
 * (after dropout, mask m / (1 - p)) and label y:
 *     loss = mean_e (logsumexp(z_e) - z_e[y_e]),
 *     dz = (softmax(z) - onehot(y)) / n_labelled,
 *     dW += dz^T x, db += sum dz, dx = dz W, dh = dropout-backward(dx)
 * scattered to the extract rows (SUM: every sequence of the example gets dx). */
#ifndef GPTSCOPE_TASK_HEAD_H
#define GPTSCOPE_TASK_HEAD_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TASK_HEAD_SUM = 0, TASK_HEAD_CHOICE = 1 } task_head_mode_t;

typedef struct task_head_batch {
    task_head_mode_t mode;
    int n_examples, n_seq;
    const int *rows;   /* [n_examples * n_seq]: the row (b * T + extract position) in hidden */
    const int *labels; /* [n_examples]: class (SUM) or right choice (CHOICE); -1: no loss */
} task_head_batch_t;

typedef struct task_head {
    int C, K;          /* hidden width; outputs per feature (CHOICE: 1) */
    int max_features;  /* the largest n_examples * n_seq planned for */
    float *x;          /* [max_features, C] features after dropout */
    float *z;          /* [max_features * max(K, 1)] logits, then their gradient */
    float *dx;         /* [max_features, C] */
    /* the last forward, for backward */
    task_head_batch_t b;
    int n_labelled;
    float pdrop;
    uint64_t key;
} task_head_t;

/* Scratch for batches of up to max_features extract states. 0 or -1. */
int task_head_init(task_head_t *h, int C, int K, int max_features, char *err, size_t errlen);
void task_head_free(task_head_t *h); /* zeroes h */
/* Logits of every example into probs (softmax, [n_examples * n_out] with
 * n_out = K for SUM, n_seq for CHOICE) when probs is non-NULL; returns the
 * mean loss over labelled examples (NAN if none). pdrop 0 for evaluation. */
float task_head_forward(task_head_t *h, const float *W, const float *bias, const float *hidden,
                        const task_head_batch_t *b, float pdrop, uint64_t key, float *probs,
                        int n_threads);
/* Backward of the last forward: dW, db accumulate (+=); dhidden [N, C]
 * accumulates at the extract rows (the caller zeroes it). loss_scale
 * multiplies the loss (1 / accumulation steps). */
void task_head_backward(task_head_t *h, const float *W, float *dW, float *dbias, float *dhidden,
                        float loss_scale, int n_threads);

#endif
