/* trainer_internal.h - the trainer's state, shared by trainer.c (set-up,
 * validation, the loop) and trainer_checkpoint.c (saving, reading and
 * resuming checkpoints). Only core/train/trainer*.c include it. */
#ifndef GPTSCOPE_TRAINER_INTERNAL_H
#define GPTSCOPE_TRAINER_INTERNAL_H

#include "trainer.h"

struct trainer {
    trainer_opts_t o;
    train_model_t *m;
    train_acts_t *acts;
    train_adamw_t opt;
    train_ema_t ema;           /* avg is NULL unless o.ema > 0 */
    train_muon_t muon;         /* buf is NULL unless o.muon_lr > 0 */
    const dataset_t *data;
    tokenizer_t *tok;
    char out_dir[4096];
    char *data_desc;
    int64_t step;
    double best_val;
    int B, T;
    int *inputs, *targets;
    int *seg;                  /* BPE-dropout: this epoch's segmentation of the training text */
    size_t n_seg;
    int64_t seg_epoch;         /* the epoch seg belongs to (when seg is not NULL) */
};

/* Common set-up once the model exists (activations, optimiser, batches). */
int tr_setup(trainer_t *t, char *err, size_t errlen);
/* Keeps the weights as OUT/best when val_bpb is the best so far. */
int tr_save_best(trainer_t *t, double val_bpb, char *err, size_t errlen);

#endif
