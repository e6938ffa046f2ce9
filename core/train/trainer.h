/* trainer.h - a training run: the loop of micro-batches, gradient
 * accumulation, clipping, AdamW and the schedule around train.h's engine,
 * periodic validation, and checkpoints that resume bit for bit.
 *
 * A checkpoint directory is a Hugging Face model directory (config.json,
 * model.safetensors, vocab.json, merges.txt: loads in gptscope and in
 * transformers) plus
 *   optimizer.safetensors  f32 master weights "param.NAME", AdamW moments
 *                          "m.NAME" / "v.NAME", the moving average "ema.NAME"
 *                          (with opts.ema), Muon's momentum "mu.NAME" (with
 *                          opts.muon_lr, block matrices only), and "step" (I64 [1])
 *   train_state.json       the run's options, step and best validation loss
 * Each file is written to a temporary name and renamed, optimizer state
 * first, so a crash mid-save leaves a loadable, consistent checkpoint.
 * The library never prints: progress and messages go through a callback. */
#ifndef GPTSCOPE_TRAINER_H
#define GPTSCOPE_TRAINER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "train.h"

typedef struct trainer_opts {
    /* shape of a new model (ignored with init_dir / resume) */
    int gpt1;                  /* 1: openai-gpt post-norm family, 0: gpt2 */
    int n_layer, n_head, n_embd, n_ctx, vocab_size;
    /* batches */
    int batch, accum, seq;     /* seq = tokens per row (default n_ctx) */
    int64_t steps, warmup;
    float lr, min_lr, weight_decay, beta1, beta2, eps, grad_clip, dropout;
    float bpe_dropout;         /* > 0: the training text is re-tokenized with this BPE-dropout
                                  probability every epoch (needs dataset keep_text) */
    int decay_embeddings, scaled_residual;
    uint64_t seed;
    int64_t eval_every, save_every;
    int64_t eval_tokens;       /* validation tokens per evaluation (0 = all) */
    int threads;
    kernel_dtype_t save_dtype; /* model.safetensors dtype */
    int bf16;                  /* mixed precision on AMX (train_acts_set_bf16) */
    float ema;                 /* > 0: keep a moving average of the weights with this decay
                                  (train_ema_t); validation, checkpoints' model.safetensors
                                  and best/ then hold the average, not the last weights */
    float muon_lr;             /* > 0: the blocks' matrices are trained by Muon (train_muon_t)
                                  at this peak rate, on the same schedule as lr */
    float muon_wd, muon_momentum;
    int muon_ns;               /* Newton-Schulz rounds */
    int keep_best;             /* 1: each validation that improves on the best so far also
                                  writes the model to OUT/best/ (HF layout + best.json) */
    int64_t stop_after;        /* > 0: save and return TRAINER_STOPPED after this step
                                  (not saved in the checkpoint: a resume runs on) */
} trainer_opts_t;

void trainer_opts_default(trainer_opts_t *o);

typedef struct trainer_progress {
    int64_t step, steps;       /* steps done / total */
    float loss, lr;
    double grad_norm;
    double tokens_per_s;       /* training throughput (validation and saving excluded) */
    double elapsed_s, eta_s;   /* wall clock of this run so far, and to the end */
    int evaluated;             /* val_loss / val_bpb are fresh */
    double val_loss, val_bpb;
    int saved;                 /* a checkpoint was written at this step */
    const char *message;       /* non-NULL: a note for the user */
} trainer_progress_t;
typedef void (*trainer_progress_fn)(void *user, const trainer_progress_t *p);

typedef struct trainer trainer_t;

/* A new run: model from opts (random init) or a copy of init (may be NULL),
 * its tokenizer and data already prepared by the caller. out_dir receives
 * the checkpoints; tokenizer_dir's vocab.json/merges.txt are copied there.
 * data_desc (a JSON text describing the data options) is stored in
 * train_state.json for --resume. */
trainer_t *trainer_init(const trainer_opts_t *opts, const gpt_config_t *cfg,
                        const gpt_model_t *init, const dataset_t *data, tokenizer_t *tok,
                        const char *tokenizer_dir, const char *out_dir, const char *data_desc,
                        char *err, size_t errlen);
/* Continues the run saved in dir (its options; opts_override->steps if > 0
 * extends it). */
trainer_t *trainer_resume(const char *dir, int64_t steps_override, int threads_override,
                          const dataset_t *data, tokenizer_t *tok, char *err, size_t errlen);
/* The options and data description of a saved run, for the caller to
 * rebuild its dataset before trainer_resume. data_desc is malloc'd.
 * data_key (may be NULL) gets the dataset_t.key the run was trained on (0 if
 * not recorded), so the caller can tell the user when the data changed.
 * best_val (may be NULL) gets the lowest validation loss seen (INFINITY if none). */
int trainer_read_state(const char *dir, trainer_opts_t *opts, char **data_desc, int64_t *step,
                       uint64_t *data_key, double *best_val, char *err, size_t errlen);
void trainer_free(trainer_t *t);

typedef enum {
    TRAINER_DONE = 0,          /* all steps taken, final checkpoint saved */
    TRAINER_STOPPED = 1,       /* *stop became non-zero: checkpoint saved */
    TRAINER_PAUSED = 3,        /* reached opts.stop_after: checkpoint saved */
    TRAINER_DIVERGED = 2,      /* NaN/inf loss or gradient: last good checkpoint kept */
    TRAINER_ERROR = -1         /* err says why */
} trainer_status_t;

trainer_status_t trainer_run(trainer_t *t, volatile sig_atomic_t *stop, trainer_progress_fn cb,
                             void *user, char *err, size_t errlen);
/* Validation loss (nats/token) and bits per byte over non-overlapping
 * windows of the validation tokens (at most max_tokens, 0 = all), of the
 * averaged weights when the run keeps an average. */
int trainer_eval(trainer_t *t, int64_t max_tokens, double *loss, double *bpb, char *err,
                 size_t errlen);
int64_t trainer_step(const trainer_t *t);
void trainer_set_stop_after(trainer_t *t, int64_t step);
const trainer_opts_t *trainer_get_opts(const trainer_t *t);
/* Writes a checkpoint of the current state now. */
int trainer_save(trainer_t *t, char *err, size_t errlen);

#endif
