/* trainer.c - the training loop, validation and checkpoints (trainer.h).
 *
 * Reproducibility: the batch of (step, micro-step) and its dropout masks are
 * functions of (seed, step, micro-step) only, the engine's reductions have a
 * fixed order, and a checkpoint holds the exact f32 weights and AdamW
 * moments, so a resumed run repeats the uninterrupted one bit for bit (with
 * the same thread count, since BLAS splits its sums by thread). Saving and
 * resuming checkpoints is trainer_checkpoint.c. */
#include "trainer.h"
#include "trainer_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "jsonx.h"
#include "safetensors.h"
#include "trainer_opts.h"
#include "clockx.h"


void trainer_opts_default(trainer_opts_t *o) {
    memset(o, 0, sizeof(*o));
    o->n_layer = 6;
    o->n_head = 6;
    o->n_embd = 384;
    o->n_ctx = 256;
    o->vocab_size = 4096;
    o->batch = 8;
    o->accum = 1;
    o->steps = 1000;
    o->warmup = 100;
    o->lr = 1e-3f;
    o->min_lr = -1.0f; /* lr / 10 */
    o->weight_decay = 0.1f;
    o->beta1 = 0.9f;
    o->beta2 = 0.95f;
    o->eps = 1e-8f;
    o->grad_clip = 1.0f;
    o->dropout = 0.1f;
    o->decay_embeddings = 1;
    o->scaled_residual = 1;
    o->seed = 1;
    o->eval_every = 250;
    o->save_every = 500;
    o->save_dtype = KERNEL_F32;
    o->muon_wd = 0.1f;
    o->muon_momentum = 0.95f;
    o->muon_ns = 5;
}

int64_t trainer_step(const trainer_t *t) { return t->step; }
void trainer_set_stop_after(trainer_t *t, int64_t step) { t->o.stop_after = step; }
const trainer_opts_t *trainer_get_opts(const trainer_t *t) { return &t->o; }

void trainer_free(trainer_t *t) {
    if (!t) return;
    train_model_free(t->m);
    train_acts_free(t->acts);
    train_adamw_free(&t->opt);
    train_ema_free(&t->ema);
    train_muon_free(&t->muon);
    free(t->data_desc);
    free(t->inputs);
    free(t->seg);
    free(t->targets);
    free(t);
}

/* Common set-up once the model exists. */
int tr_setup(trainer_t *t, char *err, size_t errlen) {
    t->m->pdrop = t->o.dropout;
    t->B = t->o.batch;
    t->T = t->o.seq > 0 ? t->o.seq : t->m->cfg.n_ctx;
    if (t->T > t->m->cfg.n_ctx) {
        snprintf(err, errlen, "--seq %d is longer than the model's context (%d)", t->T,
                 t->m->cfg.n_ctx);
        return -1;
    }
    if (t->data->n_train <= (size_t)t->T + 1) {
        snprintf(err, errlen,
                 "the training text has %zu tokens, too few for windows of %d tokens (use a "
                 "smaller --seq or more text)",
                 t->data->n_train, t->T);
        return -1;
    }
    if (t->o.threads <= 0) t->o.threads = 1;
    t->acts = train_acts_init(t->m, t->B, t->T, t->o.threads, err, errlen);
    if (!t->acts) return -1;
    if (t->o.bf16 && train_acts_set_bf16(t->acts, 1, err, errlen) != 0) return -1;
    t->inputs = malloc((size_t)t->B * t->T * sizeof(int));
    t->targets = malloc((size_t)t->B * t->T * sizeof(int));
    if (!t->inputs || !t->targets ||
        train_adamw_init(&t->opt, t->m, t->o.beta1, t->o.beta2, t->o.eps, t->o.weight_decay,
                         t->o.decay_embeddings) != 0) {
        snprintf(err, errlen, "out of memory allocating the optimiser state");
        return -1;
    }
    if (t->o.ema > 0 && train_ema_init(&t->ema, t->m, t->o.ema) != 0) {
        snprintf(err, errlen, "out of memory allocating the weight average");
        return -1;
    }
    if (t->o.muon_lr > 0) {
        if (train_muon_init(&t->muon, t->m, t->o.muon_momentum, t->o.muon_wd, t->o.muon_ns,
                            t->o.bf16, t->o.threads) != 0) {
            snprintf(err, errlen, "out of memory allocating Muon's state");
            return -1;
        }
        t->opt.skip_muon = 1;
    }
    if (t->o.min_lr < 0) t->o.min_lr = t->o.lr / 10.0f;
    return 0;
}

trainer_t *trainer_init(const trainer_opts_t *opts, const gpt_config_t *cfg,
                        const gpt_model_t *init, const dataset_t *data, tokenizer_t *tok,
                        const char *tokenizer_dir, const char *out_dir, const char *data_desc,
                        char *err, size_t errlen) {
    trainer_t *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->o = *opts;
    t->data = data;
    t->tok = tok;
    t->best_val = INFINITY;
    snprintf(t->out_dir, sizeof(t->out_dir), "%s", out_dir);
    t->data_desc = strdup(data_desc ? data_desc : "{}");
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create directory: %s", out_dir, strerror(errno));
        goto fail;
    }
    if (init) {
        t->m = train_model_from_gpt(init, err, errlen);
    } else {
        t->m = train_model_init(cfg, err, errlen);
        if (t->m) train_model_init_weights(t->m, opts->seed, opts->scaled_residual);
    }
    if (!t->m || !t->data_desc) {
        if (!t->data_desc) snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (tokenizer_vocab_size(tok) > t->m->cfg.n_vocab) {
        snprintf(err, errlen, "the tokenizer has %d tokens, more than the model's vocabulary (%d)",
                 tokenizer_vocab_size(tok), t->m->cfg.n_vocab);
        goto fail;
    }
    /* the tokenizer travels with every checkpoint */
    const char *files[2] = {"vocab.json", "merges.txt"};
    for (int i = 0; i < 2; i++) {
        char src[4200], dst[4200], rs[PATH_MAX], rd[PATH_MAX];
        snprintf(src, sizeof(src), "%s/%s", tokenizer_dir, files[i]);
        snprintf(dst, sizeof(dst), "%s/%s", out_dir, files[i]);
        if (realpath(src, rs) && realpath(dst, rd) && strcmp(rs, rd) == 0) continue;
        if (fileio_copy_atomic(src, dst, err, errlen) != 0) goto fail;
    }
    if (tr_setup(t, err, errlen) != 0) goto fail;
    return t;
fail:
    trainer_free(t);
    return NULL;
}

/* ---- validation ------------------------------------------------------------ */

static int tr_eval_weights(trainer_t *t, int64_t max_tokens, double *loss, double *bpb,
                           char *err, size_t errlen) {
    const dataset_t *d = t->data;
    size_t n = d->n_val;
    if (max_tokens > 0 && (size_t)max_tokens + 1 < n) n = (size_t)max_tokens + 1;
    if (n < 2) {
        *loss = *bpb = NAN;
        return 0;
    }
    double nats = 0, bytes = 0;
    int64_t count = 0;
    size_t o = 0;
    while (o + 1 < n) {
        /* up to B windows of T predictions each; the last may be shorter */
        int nb = 0, T = t->T;
        size_t left = n - 1 - o;
        if (left < (size_t)T) T = (int)left;
        while (nb < t->B && o + (size_t)T < n) {
            memcpy(t->inputs + (size_t)nb * T, d->val + o, (size_t)T * sizeof(int));
            memcpy(t->targets + (size_t)nb * T, d->val + o + 1, (size_t)T * sizeof(int));
            for (int k = 0; k < T; k++) {
                size_t len = 0;
                tokenizer_token_bytes(t->tok, d->val[o + 1 + k], &len);
                bytes += (double)len;
            }
            o += (size_t)T;
            nb++;
        }
        float l = train_forward(t->m, t->acts, t->inputs, t->targets, nb, T, NULL, 0, err, errlen);
        if (isnan(l)) return -1;
        nats += (double)l * (double)train_last_count(t->acts);
        count += train_last_count(t->acts);
    }
    *loss = nats / (double)count;
    *bpb = bytes > 0 ? nats / log(2.0) / bytes : NAN;
    return 0;
}

int trainer_eval(trainer_t *t, int64_t max_tokens, double *loss, double *bpb, char *err,
                 size_t errlen) {
    train_ema_swap(&t->ema, t->m);
    int rc = tr_eval_weights(t, max_tokens, loss, bpb, err, errlen);
    train_ema_swap(&t->ema, t->m);
    return rc;
}

/* ---- the loop --------------------------------------------------------------- */

static uint64_t tr_dropout_key(uint64_t seed, int64_t step, int micro) {
    uint64_t z = seed ^ 0x5851f42d4c957f2dULL;
    z += (uint64_t)step * 0x9e3779b97f4a7c15ULL + (uint64_t)micro * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 31)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 29);
}

/* BPE-dropout: the segmentation of the training text for this step's epoch
 * (an epoch = the steps that draw as many tokens as the deterministic
 * encoding has). It depends only on (seed, epoch), so a resumed run draws
 * the same one. */
static int tr_segment(trainer_t *t, char *err, size_t errlen) {
    const trainer_opts_t *o = &t->o;
    int64_t per_step = (int64_t)t->B * t->T * o->accum;
    int64_t epoch_steps = ((int64_t)t->data->n_train + per_step - 1) / per_step;
    int64_t epoch = t->step / (epoch_steps > 0 ? epoch_steps : 1);
    if (t->seg && epoch == t->seg_epoch) return 0;
    free(t->seg);
    t->seg = NULL;
    if (dataset_resegment(t->data, t->tok, o->bpe_dropout, tr_dropout_key(o->seed, epoch, -1),
                          &t->seg, &t->n_seg, err, errlen) != 0)
        return -1;
    if (t->n_seg <= (size_t)t->T) {
        snprintf(err, errlen, "BPE-dropout: the training text has only %zu tokens", t->n_seg);
        return -1;
    }
    t->seg_epoch = epoch;
    return 0;
}

trainer_status_t trainer_run(trainer_t *t, volatile sig_atomic_t *stop, trainer_progress_fn cb,
                             void *user, char *err, size_t errlen) {
    trainer_opts_t *o = &t->o;
    train_dropout_t drop = {o->dropout, o->dropout, o->dropout};
    double t_start = clockx_now(), t_aside = 0; /* t_aside: time in validation and saving */
    int64_t first = t->step, last_saved = t->step;
    char msg[4400];
    while (t->step < o->steps) {
        if (stop && *stop) {
            if (trainer_save(t, err, errlen) != 0) return TRAINER_ERROR;
            return TRAINER_STOPPED;
        }
        train_model_zero_grad(t->m);
        double loss_sum = 0;
        if (o->bpe_dropout > 0 && tr_segment(t, err, errlen) != 0) return TRAINER_ERROR;
        for (int micro = 0; micro < o->accum; micro++) {
            if (o->bpe_dropout > 0)
                dataset_batch_ids(t->seg, t->n_seg, o->seed, t->step, micro, t->B, t->T,
                                  t->inputs, t->targets);
            else
                dataset_batch(t->data, o->seed, t->step, micro, t->B, t->T, t->inputs,
                              t->targets);
            err[0] = 0;
            float l = train_forward(t->m, t->acts, t->inputs, t->targets, t->B, t->T, &drop,
                                    tr_dropout_key(o->seed, t->step, micro), err, errlen);
            if (!isfinite(l)) {
                if (isnan(l) && err[0]) return TRAINER_ERROR;
                snprintf(err, errlen,
                         "the loss became %s at step %lld; stopped, the last good checkpoint "
                         "(step %lld) in %s is kept",
                         isnan(l) ? "NaN" : "infinite", (long long)t->step + 1,
                         (long long)last_saved, t->out_dir);
                return TRAINER_DIVERGED;
            }
            train_backward(t->m, t->acts, 1.0f / (float)o->accum);
            loss_sum += l;
        }
        double norm = train_clip_grad_norm(t->m, o->grad_clip);
        if (!isfinite(norm)) {
            snprintf(err, errlen,
                     "the gradient norm became %s at step %lld; stopped, the last good "
                     "checkpoint (step %lld) in %s is kept",
                     isnan(norm) ? "NaN" : "infinite", (long long)t->step + 1,
                     (long long)last_saved, t->out_dir);
            return TRAINER_DIVERGED;
        }
        float lr = train_lr_at(t->step, o->warmup, o->steps, o->lr, o->min_lr);
        train_adamw_step(&t->opt, t->m, lr);
        train_muon_step(&t->muon, t->m, o->lr > 0 ? o->muon_lr * lr / o->lr : 0.0f);
        train_ema_update(&t->ema, t->m);
        t->step++;

        trainer_progress_t p = {0};
        p.step = t->step;
        p.steps = o->steps;
        p.loss = (float)(loss_sum / o->accum);
        p.lr = lr;
        p.grad_norm = norm;
        double now = clockx_now();
        double per_step = (now - t_start) / (double)(t->step - first);
        p.tokens_per_s = (double)t->B * t->T * o->accum * (double)(t->step - first) /
                         fmax(now - t_start - t_aside, 1e-9);
        p.val_loss = p.val_bpb = NAN;
        int at_end = t->step == o->steps;
        if ((o->eval_every > 0 && t->step % o->eval_every == 0) || at_end) {
            if (trainer_eval(t, o->eval_tokens, &p.val_loss, &p.val_bpb, err, errlen) != 0)
                return TRAINER_ERROR;
            p.evaluated = isfinite(p.val_loss);
            if (p.evaluated && p.val_loss < t->best_val) {
                t->best_val = p.val_loss;
                if (o->keep_best && tr_save_best(t, p.val_bpb, err, errlen) != 0)
                    return TRAINER_ERROR;
            }
        }
        int save_now = (o->save_every > 0 && t->step % o->save_every == 0) || at_end;
        if (save_now && trainer_save(t, err, errlen) != 0) return TRAINER_ERROR;
        t_aside += clockx_now() - now;
        p.elapsed_s = clockx_now() - t_start;
        p.eta_s = per_step * (double)(o->steps - t->step);
        if (save_now) {
            p.saved = 1;
            last_saved = t->step;
            snprintf(msg, sizeof(msg), "checkpoint saved to %s (step %lld)", t->out_dir,
                     (long long)t->step);
            p.message = msg;
        }
        if (o->stop_after > 0 && t->step >= o->stop_after && !at_end) {
            if (!p.saved && trainer_save(t, err, errlen) != 0) return TRAINER_ERROR;
            p.saved = 1;
            if (cb) cb(user, &p);
            return TRAINER_PAUSED;
        }
        if (cb) cb(user, &p);
    }
    return TRAINER_DONE;
}
