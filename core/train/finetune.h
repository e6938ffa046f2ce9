/* finetune.h - GPT-1's supervised fine-tuning: the pre-trained transformer
 * plus a task head (task_head.h) trained on labelled examples with the
 * language-modelling loss kept as an auxiliary objective,
 *     L = L_task + lm_coef * L_lm,
 * AdamW with a linear warm-up then linear decay to 0 (the paper's recipe:
 * lr 6.25e-5, batch 32, 3 epochs, warm-up over 0.2 % of the steps, lambda
 * 0.5, dropout 0.1 on the classifier), gradient norm clipped at 1.
 * Validation accuracy after every epoch; the caller is told when it is the
 * best so far (to keep that checkpoint). */
#ifndef GPTSCOPE_FINETUNE_H
#define GPTSCOPE_FINETUNE_H

#include <stddef.h>
#include <stdint.h>

#include "task_data.h"
#include "task_encode.h"
#include "train.h"

typedef struct finetune_opts {
    task_kind_t kind;
    float lr;            /* 6.25e-5 */
    int batch;           /* examples per optimiser step, 32 */
    int micro;           /* examples per forward pass (memory), 8; gradients accumulate */
    int epochs;          /* 3 */
    int64_t steps;       /* > 0: this many optimiser steps instead of epochs */
    float warmup;        /* fraction of the steps, 0.002 */
    float lm_coef;       /* lambda, 0.5 */
    float clf_pdrop;     /* 0.1 */
    float pdrop;         /* the transformer's dropout, 0.1 */
    float weight_decay;  /* 0.01 */
    int max_len;         /* tokens per sequence, <= n_ctx */
    uint64_t seed;
    int n_threads;
    int bf16;            /* products in bf16 (kernels_amx.h), as the trainer's --bf16; 0 */
} finetune_opts_t;

finetune_opts_t finetune_opts_default(void);

/* Examples encoded once: each example's sequences (task_encode). */
typedef struct finetune_set {
    int n;
    task_seqs_t *seqs;
    int *labels;
    int n_truncated;   /* examples that had to be cut to max_len */
    int n_seq;         /* sequences per example (choice: the same for all) */
} finetune_set_t;

int finetune_set_encode(finetune_set_t *s, tokenizer_t *tok, const task_tokens_t *sp,
                        const task_data_t *d, int max_len, char *err, size_t errlen);
void finetune_set_free(finetune_set_t *s);

typedef struct finetune_report {
    int64_t step, total;
    int epoch;             /* 1-based */
    float loss, task_loss, lm_loss, lr;
    double tok_per_s, elapsed_s;
    /* set on the reports that follow a validation */
    int validated, is_best;
    double accuracy, f1;   /* f1: of class 1 for two classes, else macro */
} finetune_report_t;

/* Called after every step (and after each validation); a non-zero return
 * stops the run. On is_best the caller saves the model (m holds the weights
 * just validated). */
typedef int (*finetune_cb_t)(void *user, const train_model_t *m, const finetune_report_t *r);

/* Runs the recipe on m (a task model: train_model_for_task). valid may be
 * NULL (no validation). n_classes: the head's outputs for SUM tasks.
 * Returns 0, or -1 with err. */
int finetune_run(train_model_t *m, const finetune_set_t *train, const finetune_set_t *valid,
                 int n_classes, const finetune_opts_t *o, finetune_cb_t cb, void *user,
                 char *err, size_t errlen);

/* Class (or choice) probabilities of every example of s into probs
 * [s->n * n_out] (n_out: n_classes, or n_seq for choice) with dropout off;
 * pred (may be NULL) gets the argmax. bf16: the products in bf16. Returns 0
 * or -1. */
int finetune_predict(train_model_t *m, const finetune_set_t *s, task_kind_t kind, int n_classes,
                     int micro, int n_threads, int bf16, float *probs, int *pred, char *err,
                     size_t errlen);

#endif
