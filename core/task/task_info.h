/* task_info.h - what a fine-tuned model's head is for: config.json's
 * "gptscope_task" object ({"task", "labels", "start_id", "delim_id",
 * "extract_id", "max_len", "n_out"}, written by `gptscope finetune`), read
 * and checked against the model's shape. */
#ifndef GPTSCOPE_TASK_INFO_H
#define GPTSCOPE_TASK_INFO_H

#include <stddef.h>

#include "gpt.h"
#include "task_data.h"
#include "task_encode.h"

typedef struct task_info {
    task_kind_t kind;
    char **labels;     /* class names (choice: none) */
    int n_labels;
    task_tokens_t sp;  /* the special tokens' ids */
    int max_len;       /* tokens per sequence it was trained with */
} task_info_t;

/* Reads config_path's "gptscope_task" for a model of shape cfg (which must
 * have a head: cfg->n_clf > 0). Returns 0, or -1 with err naming the file. */
int task_info_load(task_info_t *ti, const char *config_path, const gpt_config_t *cfg, char *err,
                   size_t errlen);
void task_info_free(task_info_t *ti); /* zeroes ti */

#endif
