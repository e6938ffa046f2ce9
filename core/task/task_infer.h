/* task_infer.h - a fine-tuned classifier's class probabilities for one text
 * on the inference path (KV-cached gpt_forward, the model's own dtypes), as
 * the terminal UI shows them while the user types: [start] text [extract]
 * (task_encode, cut to the head's max_len), the final hidden state at the
 * extract token, the head, a softmax. The same numbers finetune_predict
 * computes on the training path. Classify heads only. */
#ifndef GPTSCOPE_TASK_INFER_H
#define GPTSCOPE_TASK_INFER_H

#include <stddef.h>

#include "gpt.h"
#include "task_info.h"
#include "tokenizer.h"

typedef struct task_infer {
    const gpt_model_t *m;
    tokenizer_t *tok;
    const task_info_t *info;
    gpt_state_t *state;
    float *h;    /* [n_embd] */
} task_infer_t;

/* m must have a head (m->clf_w) and info must be a classify task of it.
 * Returns 0, or -1 with err. */
int task_infer_init(task_infer_t *ti, const gpt_model_t *m, tokenizer_t *tok,
                    const task_info_t *info, int n_threads, char *err, size_t errlen);
void task_infer_free(task_infer_t *ti);

/* probs [info->n_labels] for text (len bytes, UTF-8). Returns the most
 * probable class, or -1 with err. */
int task_infer_text(task_infer_t *ti, const char *text, size_t len, float *probs, char *err,
                    size_t errlen);

#endif
