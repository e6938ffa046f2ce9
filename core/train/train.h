/* core/train/ - training: the parameters and activations (this header),
 * every operation's forward and backward (train_ops.h), AdamW, Muon and
 * the weight average, the dataset and its token cache (dataset.h), the
 * loop with validation and checkpoints (trainer.h), and GPT-1's
 * fine-tuning (task_head.h, finetune.h). May include: task, model,
 * tokenizer, kernels, base. Nothing else in core includes train. This is
 * its main header.
 *
 * train.h - training a GPT-1 or GPT-2 model in f32: parameters with their
 * gradients in one block each, activations planned once for a [B, T] batch,
 * forward with loss, backward for every operation, dropout from a
 * counter-based hash (so a run is reproducible whatever the thread count and
 * the masks need no storage: backward regenerates them).
 *
 * Parameters are named and shaped exactly as in a Hugging Face checkpoint
 * (Conv1D weights [in, out]), so saving is writing the block out as it is:
 *   gpt2:       wte.weight [V, C], wpe.weight [n_ctx, C], h.L.*, ln_f.*
 *   openai-gpt: tokens_embed.weight, positions_embed.weight, h.L.*
 *   h.L.ln_1.{weight,bias} [C], h.L.attn.c_attn.{weight [C, 3C], bias [3C]},
 *   h.L.attn.c_proj.{weight [C, C], bias}, h.L.ln_2.*, h.L.mlp.c_fc.{weight
 *   [C, F], bias [F]}, h.L.mlp.c_proj.{weight [F, C], bias [C]}; a fine-tuned
 *   model's task head clf.weight [n_clf, C] (nn.Linear's layout) and
 *   clf.bias [n_clf] come last.
 * The output matrix is wte (tied), so wte's gradient has both uses. */
#ifndef GPTSCOPE_TRAIN_H
#define GPTSCOPE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "gpt.h"

typedef struct train_tensor {
    char name[64];          /* Hugging Face name, without "transformer." */
    float *data, *grad;     /* into train_model_t.params / .grads */
    int n_dims;
    int64_t shape[2];
    size_t numel;
    int is_matrix;          /* a 2-D weight: weight decay applies */
    int is_embedding;       /* wte / wpe (and GPT-1's names) */
} train_tensor_t;

typedef struct train_layer {
    float *ln1_g, *ln1_b, *qkv_w, *qkv_b, *proj_w, *proj_b;
    float *ln2_g, *ln2_b, *fc_w, *fc_b, *fc2_w, *fc2_b;
} train_layer_t;

typedef struct train_model {
    gpt_config_t cfg;
    float *params, *grads;       /* n_params floats each, 64-byte aligned */
    size_t n_params;
    train_tensor_t *tensors;     /* in checkpoint order */
    int n_tensors;
    float *wte, *wpe, *lnf_g, *lnf_b;   /* lnf NULL for GPT-1 */
    train_layer_t *layers, *dlayers;    /* views into params / grads */
    float *dwte, *dwpe, *dlnf_g, *dlnf_b;
    float *clf_w, *clf_b, *dclf_w, *dclf_b; /* the task head (cfg.n_clf > 0), else NULL */
    char *task_json;             /* config.json's "gptscope_task" object as text (malloc'd,
                                    owned; NULL: none): what a fine-tuned model's head is for */
    float pdrop;                 /* the dropout it is trained with, saved as config.json's
                                    attn/embd/resid_pdrop (0.1, GPT-2's, until set) */
} train_model_t;

/* Allocates a model of this shape (parameters zeroed; see train_model_init_weights).
 * NULL with a message on a bad config or out of memory. */
train_model_t *train_model_init(const gpt_config_t *cfg, char *err, size_t errlen);
void train_model_free(train_model_t *m);
/* GPT initialisation: matrices and embeddings N(0, 0.02), biases 0, LayerNorm
 * gains 1. scaled_residual: the two projections that write into the residual
 * stream (attn.c_proj, mlp.c_proj) get std 0.02 / sqrt(2 n_layer) (GPT-2). */
void train_model_init_weights(train_model_t *m, uint64_t seed, int scaled_residual);
/* f32 copy of a loaded model (any dtype), for --init. */
train_model_t *train_model_from_gpt(const gpt_model_t *g, char *err, size_t errlen);
/* The model fine-tuning starts from: base's weights with n_new_tokens more
 * embedding rows (the task's special tokens, N(0, 0.02) as GPT-1's) and a
 * task head of n_clf outputs (weights N(0, 0.02), bias 0; base's own head is
 * not kept). NULL with err on a bad size or out of memory. */
train_model_t *train_model_for_task(const train_model_t *base, int n_new_tokens, int n_clf,
                                    uint64_t seed, char *err, size_t errlen);
/* Writes DIR/config.json and DIR/model.safetensors (F32, or F16/BF16 with
 * dtype) through temporary files renamed into place; creates DIR if needed.
 * The tokenizer files are the caller's. Returns 0 or -1 with err. */
int train_model_save(const train_model_t *m, const char *dir, kernel_dtype_t dtype, char *err,
                     size_t errlen);
const train_tensor_t *train_model_find(const train_model_t *m, const char *name);
void train_model_zero_grad(train_model_t *m);

/* Dropout probabilities (0 = off); GPT-1 and GPT-2 use 0.1 for all three. */
typedef struct train_dropout {
    float embd, attn, resid;
} train_dropout_t;

/* Activations and scratch for batches of up to B rows of T tokens. */
typedef struct train_acts train_acts_t;
train_acts_t *train_acts_init(const train_model_t *m, int B, int T, int n_threads, char *err,
                              size_t errlen);
void train_acts_free(train_acts_t *a);
/* Mixed precision: the matrix products of the linear layers and the output
 * run in bf16 on AMX tiles (f32 accumulation); weights, gradients, optimiser
 * state, attention, LayerNorm and softmax stay f32. The f32 path is the
 * reference. Returns -1 with a message where the CPU has no AMX-BF16. */
int train_acts_set_bf16(train_acts_t *a, int on, char *err, size_t errlen);

/* Forward over inputs[B*T] (row b = one sequence, positions 0..T-1) with the
 * next-token targets[B*T] (-1 = no loss at that position). Returns the mean
 * cross-entropy (nats) over the positions with a target, NAN if none.
 * dropout_key seeds this micro-batch's masks (pass a different key for every
 * micro-batch of a run; drop NULL or all-zero probabilities for evaluation).
 * An id outside the vocabulary, or B/T beyond what acts was sized for,
 * returns NAN with err filled. */
float train_forward(train_model_t *m, train_acts_t *a, const int *inputs, const int *targets,
                    int B, int T, const train_dropout_t *dropout, uint64_t dropout_key, char *err,
                    size_t errlen);
/* Backward of the last train_forward: grads += d(loss * loss_scale)/dparams
 * (loss_scale = 1 / accumulation steps), so micro-batches accumulate. */
void train_backward(train_model_t *m, train_acts_t *a, float loss_scale);
/* The final hidden states of the last train_forward, [B*T, C]: after ln_f
 * (GPT-2) or the last block (GPT-1), what the LM head reads and what a task
 * head (GPT-1 fine-tuning) reads at its extract token. Valid until the next
 * forward. */
const float *train_last_hidden(const train_model_t *m, const train_acts_t *a);
/* train_backward plus a gradient dhidden [B*T, C] (NULL: none) on those
 * hidden states from another loss, added to the LM loss's: the fine-tuning
 * objective L_task + lambda L_lm is backward(lambda, dL_task/dhidden). With
 * loss_scale 0 (or no LM targets) only dhidden flows back. */
void train_backward_with(train_model_t *m, train_acts_t *a, float loss_scale,
                         const float *dhidden);
/* Number of positions with a target in the last forward. */
int64_t train_last_count(const train_acts_t *a);

/* Global L2 norm of all gradients; if max_norm > 0 and the norm exceeds it,
 * the gradients are scaled by max_norm / norm. Returns the norm before
 * clipping (NaN/inf when a gradient is). */
double train_clip_grad_norm(train_model_t *m, double max_norm);

/* AdamW with decoupled weight decay:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  mh = m / (1-b1^t); vh = v / (1-b2^t)
 *   p -= lr * (mh / (sqrt(vh) + eps) + wd * p)      (wd only where it applies)
 * wd applies to 2-D matrices, and to the embeddings unless decay_embeddings = 0;
 * never to biases and LayerNorm gains. */
typedef struct train_adamw {
    float beta1, beta2, eps, weight_decay;
    int decay_embeddings;
    int skip_muon;             /* 1: leave the tensors train_muon_applies to alone */
    int64_t step;              /* steps taken so far */
    float *m, *v;              /* n_params each */
    size_t n_params;
} train_adamw_t;
int train_adamw_init(train_adamw_t *opt, const train_model_t *m, float beta1, float beta2,
                     float eps, float weight_decay, int decay_embeddings);
void train_adamw_free(train_adamw_t *opt);
void train_adamw_step(train_adamw_t *opt, train_model_t *m, float lr);

/* Exponential moving average of the weights (Polyak averaging): after each
 * optimiser step, avg += (1 - decay) (w - avg), starting from the weights at
 * initialisation. The average generalises better than the last weights when
 * the learning rate is still high; the trainer validates and saves it. */
typedef struct train_ema {
    float decay;
    float *avg;                /* n_params, the layout of train_model_t.params */
    size_t n_params;
} train_ema_t;
int train_ema_init(train_ema_t *e, const train_model_t *m, float decay);
void train_ema_free(train_ema_t *e);
/* Both do nothing when no average is kept (avg NULL: a zeroed or freed
 * train_ema_t), so a trainer calls them whether or not it averages. */
void train_ema_update(train_ema_t *e, const train_model_t *m);
/* Exchanges the model's weights with the average (twice restores both). */
void train_ema_swap(train_ema_t *e, train_model_t *m);

/* Muon for the blocks' weight matrices (attn.c_attn, attn.c_proj, mlp.c_fc,
 * mlp.c_proj of every layer; embeddings, biases and gains stay with AdamW):
 *   buf = momentum buf + g;  X = NS(g + momentum buf)   (Nesterov)
 *   p = p (1 - lr wd) - lr sqrt(max(1, out / in)) X
 * where NS is ns_iters rounds of the quintic Newton-Schulz iteration on
 * X / ||X||_F (singular values pushed to about 1). bf16: the iteration's
 * matrix products on AMX (falls back to sgemm where AMX is missing). */
typedef struct train_muon {
    float momentum, weight_decay;
    int ns_iters, n_threads;
    float *buf;                /* momentum, n_params in params' layout (block matrices used) */
    size_t n_params;
    float *x, *y, *gram, *poly;   /* scratch: the largest matrix twice, its Gram matrix twice */
    struct amx_ctx *amx;       /* NULL: f32 sgemm */
} train_muon_t;
/* 1 for the tensors Muon updates (the trainer's AdamW skips them). */
int train_muon_applies(const train_tensor_t *t);
int train_muon_init(train_muon_t *mu, const train_model_t *m, float momentum, float weight_decay,
                    int ns_iters, int bf16, int n_threads);
void train_muon_free(train_muon_t *mu);
/* One step of every tensor train_muon_applies to; nothing when buf is NULL. */
void train_muon_step(train_muon_t *mu, train_model_t *m, float lr);
/* One step of one [rows, cols] matrix (Conv1D layout [in, out]) with its
 * gradient and momentum: the unit the tests check against PyTorch. */
void train_muon_update(train_muon_t *mu, float *p, const float *g, float *buf, int rows,
                       int cols, float lr);

/* Learning rate at step (0-based): linear warm-up over `warmup` steps to
 * lr_max, then cosine decay to lr_min at `total`, lr_min after. */
float train_lr_at(int64_t step, int64_t warmup, int64_t total, float lr_max, float lr_min);

#endif
