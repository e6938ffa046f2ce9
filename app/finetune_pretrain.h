/* finetune_pretrain.h - the unsupervised stage of `gptscope finetune`.
 *
 * GPT-1 fine-tunes a model that was pre-trained on text like the task's.
 * When the starting model is far from the task text (the bundled model knows
 * only Shakespeare; an e-mail corpus costs it ~8 bits per byte), finetune
 * first continues the language-model pre-training on the unlabelled text of
 * the training examples, exactly as `gptscope train --init MODEL` would: it
 * runs that command (the log shows it), into OUT/pretrain/, whose checkpoint
 * a second run of the same finetune command reuses or resumes. */
#ifndef GPTSCOPE_FINETUNE_PRETRAIN_H
#define GPTSCOPE_FINETUNE_PRETRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "task_data.h"

/* Above this many bits per byte on the task text, --pretrain auto runs the
 * unsupervised stage. For scale: the bundled model reads Shakespeare at ~2.0
 * and e-mail at ~8; GPT-2 124M reads English web text at about 1. */
#define FT_PRETRAIN_BPB 3.0

typedef struct ft_pretrain {
    int64_t steps;     /* optimiser steps (batch 8 x 256 tokens, or the context) */
    float lr;          /* peak rate, cosine to lr / 10 */
    int bf16, threads;
    uint64_t seed;
} ft_pretrain_t;

/* Bits per byte of cm's model on the first ~max_tokens tokens of text
 * (ft_task_text's). Returns 0 with *bpb, or -1 with err. */
int ft_text_bpb(const cli_model_t *cm, const char *text, size_t len, int max_tokens, int n_threads,
                double *bpb, char *err, size_t errlen);

/* Steps for --pretrain auto: about one pass over the text (n_bytes of it, at
 * ~2.3 bytes a token), at most 600 (about 7 minutes of the bundled model on
 * two Zen 4 cores in bf16). */
int64_t ft_pretrain_auto_steps(size_t n_bytes, int n_ctx);

/* The examples' text, an example per paragraph, into *text (malloc'd). */
int ft_task_text(const task_data_t *d, char **text, size_t *len);

/* 1 when out_dir/pretrain holds a run of the stage (finished or not). */
int ft_pretrain_started(const char *out_dir);

/* Runs (or resumes, or finds finished) `gptscope train --init init_dir` on
 * text (ft_task_text's, written to out_dir/pretrain-text.txt) into
 * out_dir/pretrain; *model_dir gets that directory. Returns a CLI exit
 * code: CLI_EXIT_OK when the stage is complete. */
int ft_pretrain_run(const char *init_dir, const char *text, size_t len, const char *out_dir,
                    const ft_pretrain_t *p, char *model_dir, size_t model_dir_len);

#endif
