/* finetune.c - the fine-tuning loop and the task model's predictions
 * (finetune.h). Batches hold whole examples: a SUM task's sequences of one
 * example stay together so their features can be added, a choice task's
 * so the softmax runs over them. Sequences are padded to the longest in the
 * micro-batch; padding has no LM target and is never an extract row. */
#include "finetune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clockx.h"
#include "rng.h"
#include "task_head.h"
#include "task_metrics.h"

finetune_opts_t finetune_opts_default(void) {
    finetune_opts_t o;
    memset(&o, 0, sizeof o);
    o.kind = TASK_CLASSIFY;
    o.lr = 6.25e-5f;
    o.batch = 32;
    o.micro = 8;
    o.epochs = 3;
    o.warmup = 0.002f;
    o.lm_coef = 0.5f;
    o.clf_pdrop = 0.1f;
    o.pdrop = 0.1f;
    o.weight_decay = 0.01f;
    o.max_len = 256;
    o.seed = 1;
    o.n_threads = 1;
    return o;
}

void finetune_set_free(finetune_set_t *s) {
    if (!s) return;
    for (int i = 0; s->seqs && i < s->n; i++) task_seqs_free(&s->seqs[i]);
    free(s->seqs);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

int finetune_set_encode(finetune_set_t *s, tokenizer_t *tok, const task_tokens_t *sp,
                        const task_data_t *d, int max_len, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->seqs = calloc((size_t)(d->n > 0 ? d->n : 1), sizeof *s->seqs);
    s->labels = calloc((size_t)(d->n > 0 ? d->n : 1), sizeof *s->labels);
    if (!s->seqs || !s->labels) {
        finetune_set_free(s);
        snprintf(err, errlen, "out of memory encoding examples");
        return -1;
    }
    for (int i = 0; i < d->n; i++) {
        char sub[384];
        if (task_encode(tok, sp, d->kind, &d->ex[i], max_len, &s->seqs[i], sub, sizeof sub) != 0) {
            snprintf(err, errlen, "%s", sub);
            finetune_set_free(s);
            return -1;
        }
        s->n = i + 1;
        s->labels[i] = d->ex[i].label;
        s->n_truncated += s->seqs[i].truncated;
        if (i == 0) s->n_seq = s->seqs[i].n_seq;
        else if (s->seqs[i].n_seq != s->n_seq) {
            snprintf(err, errlen,
                     "line %d: %d choices, but the first example has %d (every example of a "
                     "choice task needs the same number)",
                     d->ex[i].line, s->seqs[i].n_seq, s->n_seq);
            finetune_set_free(s);
            return -1;
        }
    }
    return 0;
}

/* The tensors a micro-batch needs, sized once for the largest. */
typedef struct ft_batch {
    int max_rows, max_T;
    int *inputs, *targets, *rows, *labels;
    float *dhidden;
    int R, T;          /* this micro-batch: sequences and their padded length */
    int64_t n_tokens;  /* real tokens in it */
} ft_batch_t;

static void ft_batch_free(ft_batch_t *b) {
    free(b->inputs);
    free(b->targets);
    free(b->rows);
    free(b->labels);
    free(b->dhidden);
}

static int ft_batch_init(ft_batch_t *b, int max_rows, int max_T, int C) {
    memset(b, 0, sizeof *b);
    b->max_rows = max_rows;
    b->max_T = max_T;
    size_t N = (size_t)max_rows * max_T;
    b->inputs = malloc(N * sizeof(int));
    b->targets = malloc(N * sizeof(int));
    b->rows = malloc((size_t)max_rows * sizeof(int));
    b->labels = malloc((size_t)max_rows * sizeof(int));
    b->dhidden = malloc(N * (size_t)C * sizeof(float));
    return b->inputs && b->targets && b->rows && b->labels && b->dhidden ? 0 : -1;
}

/* Lays examples idx[0..n) out as rows of T tokens, next-token targets on
 * the real tokens, the extract rows and the labels. */
static void ft_batch_fill(ft_batch_t *b, const finetune_set_t *s, const int *idx, int n) {
    int T = 1;
    for (int i = 0; i < n; i++)
        for (int q = 0; q < s->n_seq; q++)
            if (s->seqs[idx[i]].len[q] > T) T = s->seqs[idx[i]].len[q];
    b->T = T;
    b->R = n * s->n_seq;
    b->n_tokens = 0;
    for (int i = 0; i < n; i++) {
        const task_seqs_t *q = &s->seqs[idx[i]];
        b->labels[i] = s->labels[idx[i]];
        for (int k = 0; k < s->n_seq; k++) {
            int r = i * s->n_seq + k, len = q->len[k];
            const int *ids = q->ids + q->off[k];
            int *in = b->inputs + (size_t)r * T, *tg = b->targets + (size_t)r * T;
            for (int j = 0; j < T; j++) {
                in[j] = j < len ? ids[j] : ids[len - 1]; /* padding: any valid id */
                tg[j] = j + 1 < len ? ids[j + 1] : -1;
            }
            b->rows[r] = r * T + len - 1;
            b->n_tokens += len;
        }
    }
}

static task_head_batch_t ft_head_batch(const ft_batch_t *b, const finetune_set_t *s,
                                       task_kind_t kind, int n) {
    task_head_batch_t hb = {kind == TASK_CHOICE ? TASK_HEAD_CHOICE : TASK_HEAD_SUM, n, s->n_seq,
                            b->rows, b->labels};
    return hb;
}

/* the longest sequence of the set: what the activations are sized for */
static int ft_max_len(const finetune_set_t *s) {
    int max_T = 1;
    for (int i = 0; i < s->n; i++)
        for (int k = 0; k < s->n_seq; k++) max_T = s->seqs[i].len[k] > max_T ? s->seqs[i].len[k] : max_T;
    return max_T;
}

int finetune_predict(train_model_t *m, const finetune_set_t *s, task_kind_t kind, int n_classes,
                     int micro, int n_threads, int bf16, float *probs, int *pred, char *err,
                     size_t errlen) {
    int max_T = ft_max_len(s);
    err[0] = '\0';
    if (micro < 1) micro = 1;
    if (micro > 4096) micro = 4096;
    int K = kind == TASK_CHOICE ? 1 : n_classes, n_out = kind == TASK_CHOICE ? s->n_seq : n_classes;
    ft_batch_t b;
    task_head_t h = {0};
    train_acts_t *a = NULL;
    int rc = -1;
    if (ft_batch_init(&b, micro * s->n_seq, max_T, m->cfg.n_embd) != 0 ||
        task_head_init(&h, m->cfg.n_embd, K, micro * s->n_seq, err, errlen) != 0 ||
        !(a = train_acts_init(m, micro * s->n_seq, max_T, n_threads, err, errlen)) ||
        (bf16 && train_acts_set_bf16(a, 1, err, errlen) != 0)) {
        if (!err[0]) snprintf(err, errlen, "out of memory");
        goto done;
    }
    int idx[4096];
    for (int i0 = 0; i0 < s->n; i0 += micro) {
        int n = s->n - i0 < micro ? s->n - i0 : micro;
        for (int i = 0; i < n; i++) idx[i] = i0 + i;
        ft_batch_fill(&b, s, idx, n);
        err[0] = '\0';
        train_forward(m, a, b.inputs, b.targets, b.R, b.T, NULL, 0, err, errlen);
        if (err[0]) goto done;
        task_head_batch_t hb = ft_head_batch(&b, s, kind, n);
        hb.labels = NULL;
        task_head_forward(&h, m->clf_w, m->clf_b, train_last_hidden(m, a), &hb, 0.0f, 0,
                          probs + (size_t)i0 * n_out, n_threads);
        for (int i = 0; pred && i < n; i++) {
            const float *p = probs + (size_t)(i0 + i) * n_out;
            int best = 0;
            for (int k = 1; k < n_out; k++) best = p[k] > p[best] ? k : best;
            pred[i0 + i] = best;
        }
    }
    rc = 0;
done:
    train_acts_free(a);
    task_head_free(&h);
    ft_batch_free(&b);
    return rc;
}

/* accuracy and F1 (class 1 for two classes, else macro) of predictions */
static int ft_score(const finetune_set_t *s, const int *pred, int n_out, double *acc, double *f1) {
    task_metrics_t met;
    if (task_metrics_init(&met, n_out) != 0) return -1;
    for (int i = 0; i < s->n; i++) task_metrics_add(&met, s->labels[i], pred[i]);
    *acc = task_metrics_accuracy(&met);
    if (n_out == 2) task_metrics_class(&met, 1, NULL, NULL, f1);
    else *f1 = task_metrics_macro_f1(&met);
    task_metrics_free(&met);
    return 0;
}

static float ft_lr(int64_t step, int64_t warm, int64_t total, float lr) {
    if (step < warm) return lr * (float)(step + 1) / (float)warm;
    if (total <= warm) return lr;
    double left = (double)(total - step) / (double)(total - warm);
    return (float)(lr * (left > 0 ? left : 0));
}

int finetune_run(train_model_t *m, const finetune_set_t *train, const finetune_set_t *valid,
                 int n_classes, const finetune_opts_t *o, finetune_cb_t cb, void *user,
                 char *err, size_t errlen) {
    task_kind_t kind = o->kind;
    int K = kind == TASK_CHOICE ? 1 : n_classes, n_out = kind == TASK_CHOICE ? train->n_seq : n_classes;
    if (!m->clf_w || m->cfg.n_clf != K) {
        snprintf(err, errlen, "the model's head has %d outputs, the task needs %d", m->cfg.n_clf, K);
        return -1;
    }
    if (train->n < 1 || o->batch < 1 || o->micro < 1 || o->micro > 4096) {
        snprintf(err, errlen, "nothing to train on (%d examples, batch %d)", train->n, o->batch);
        return -1;
    }
    int micro = o->micro < o->batch ? o->micro : o->batch;
    int64_t per_epoch = (train->n + o->batch - 1) / o->batch;
    int64_t total = o->steps > 0 ? o->steps : per_epoch * (o->epochs > 0 ? o->epochs : 1);
    int64_t warm = (int64_t)ceil((double)o->warmup * (double)total);
    if (warm < 1) warm = 1;
    int max_T = ft_max_len(train);
    ft_batch_t b;
    task_head_t h = {0};
    train_acts_t *a = NULL;
    train_adamw_t opt = {0};
    int *order = malloc((size_t)train->n * sizeof(int)), rc = -1;
    float *vprobs = valid ? malloc((size_t)valid->n * n_out * sizeof(float)) : NULL;
    int *vpred = valid ? malloc((size_t)valid->n * sizeof(int)) : NULL;
    err[0] = '\0';
    if (!order || (valid && (!vprobs || !vpred)) ||
        ft_batch_init(&b, micro * train->n_seq, max_T, m->cfg.n_embd) != 0 ||
        task_head_init(&h, m->cfg.n_embd, K, micro * train->n_seq, err, errlen) != 0 ||
        !(a = train_acts_init(m, micro * train->n_seq, max_T, o->n_threads, err, errlen)) ||
        (o->bf16 && train_acts_set_bf16(a, 1, err, errlen) != 0) ||
        train_adamw_init(&opt, m, 0.9f, 0.999f, 1e-8f, o->weight_decay, 1) != 0) {
        if (!err[0]) snprintf(err, errlen, "out of memory for fine-tuning");
        goto done;
    }
    for (int i = 0; i < train->n; i++) order[i] = i;
    rng_t r;
    rng_seed(&r, o->seed);
    train_dropout_t drop = {o->pdrop, o->pdrop, o->pdrop};
    double t0 = clockx_now(), best = -1, best_f1 = -1;
    int64_t tokens = 0;
    for (int64_t step = 0; step < total; step++) {
        int64_t in_epoch = step % per_epoch;
        int epoch = (int)(step / per_epoch) + 1;
        if (in_epoch == 0) /* a new epoch: a new order (Fisher-Yates) */
            for (int i = train->n - 1; i > 0; i--) {
                int j = (int)(rng_next(&r) % (uint64_t)(i + 1)), tmp = order[i];
                order[i] = order[j];
                order[j] = tmp;
            }
        int first = (int)(in_epoch * o->batch);
        int n_batch = train->n - first < o->batch ? train->n - first : o->batch;
        train_model_zero_grad(m);
        double task_sum = 0, lm_sum = 0;
        for (int c0 = 0; c0 < n_batch; c0 += micro) {
            int n = n_batch - c0 < micro ? n_batch - c0 : micro;
            ft_batch_fill(&b, train, order + first + c0, n);
            uint64_t key = o->seed * 0x9e3779b97f4a7c15ULL + (uint64_t)step * 4099 + (uint64_t)c0;
            float lm = train_forward(m, a, b.inputs, b.targets, b.R, b.T, &drop, key, err, errlen);
            if (isnan(lm) && err[0]) goto done;
            task_head_batch_t hb = ft_head_batch(&b, train, kind, n);
            float tl = task_head_forward(&h, m->clf_w, m->clf_b, train_last_hidden(m, a), &hb,
                                         o->clf_pdrop, key ^ 0x5bd1e995ULL, NULL, o->n_threads);
            float share = (float)n / (float)n_batch;
            memset(b.dhidden, 0, (size_t)b.R * b.T * m->cfg.n_embd * sizeof(float));
            task_head_backward(&h, m->clf_w, m->dclf_w, m->dclf_b, b.dhidden, share, o->n_threads);
            train_backward_with(m, a, isnan(lm) ? 0.0f : o->lm_coef * share, b.dhidden);
            task_sum += isnan(tl) ? 0 : tl * share;
            lm_sum += isnan(lm) ? 0 : lm * share;
            tokens += b.n_tokens;
        }
        train_clip_grad_norm(m, 1.0);
        float lr = ft_lr(step, warm, total, o->lr);
        train_adamw_step(&opt, m, lr);
        double el = clockx_now() - t0;
        finetune_report_t rep = {step + 1, total, epoch, (float)(task_sum + o->lm_coef * lm_sum),
                                 (float)task_sum, (float)lm_sum, lr, el > 0 ? tokens / el : 0, el,
                                 0, 0, 0, 0};
        if (cb && cb(user, m, &rep) != 0) {
            rc = 0;
            goto done;
        }
        int epoch_end = in_epoch == per_epoch - 1 || step == total - 1;
        if (valid && epoch_end) {
            if (finetune_predict(m, valid, kind, n_classes, micro, o->n_threads, o->bf16, vprobs,
                                 vpred, err, errlen) != 0)
                goto done;
            if (ft_score(valid, vpred, n_out, &rep.accuracy, &rep.f1) != 0) {
                snprintf(err, errlen, "out of memory scoring the validation set");
                goto done;
            }
            rep.validated = 1;
            /* ties on accuracy go to the higher F1 */
            rep.is_best = rep.accuracy > best || (rep.accuracy == best && rep.f1 > best_f1);
            if (rep.is_best) best = rep.accuracy, best_f1 = rep.f1;
            if (cb && cb(user, m, &rep) != 0) {
                rc = 0;
                goto done;
            }
        }
    }
    rc = 0;
done:
    train_adamw_free(&opt);
    train_acts_free(a);
    task_head_free(&h);
    ft_batch_free(&b);
    free(order);
    free(vprobs);
    free(vpred);
    return rc;
}
