/* test_train.c - the training engine checked against independent oracles:
 *   - finite differences of the loss (in double-checked f32, central
 *     differences) for sampled entries of every tensor, both families, with
 *     all three dropouts on (the masks are a function of the key, so the loss
 *     is a fixed smooth function of the weights);
 *   - the inference engine (gpt_forward on the saved checkpoint) for the
 *     forward pass, so training and inference agree on the model;
 *   - hand-computed AdamW and learning-rate schedule values;
 *   - gradient accumulation, determinism, and the loss falling on a
 *     learnable sequence.
 * The PyTorch gradient goldens are compared in test_train_reference.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rng.h"
#include "tap.h"
#include "train.h"
#include "train_ops.h"

enum { TB = 2, TT = 7, TV = 23 };

static gpt_config_t tiny_config(int gpt1) {
    gpt_config_t c;
    memset(&c, 0, sizeof(c));
    snprintf(c.model_type, sizeof(c.model_type), "%s", gpt1 ? "openai-gpt" : "gpt2");
    c.n_layer = 2;
    c.n_head = 2;
    c.n_embd = 12;
    c.n_ctx = 8;
    c.n_vocab = TV;
    c.n_inner = 4 * c.n_embd;
    c.ln_eps = 1e-5f;
    c.pre_norm = !gpt1;
    c.final_ln = !gpt1;
    c.eos_id = -1;
    return c;
}

/* Random weights with every kind of tensor non-trivial (gains != 1,
 * biases != 0), large enough that attention is not uniform. */
static train_model_t *tiny_model(int gpt1, uint64_t seed) {
    char err[256];
    gpt_config_t c = tiny_config(gpt1);
    train_model_t *m = train_model_init(&c, err, sizeof(err));
    if (!m) return NULL;
    rng_t r;
    rng_seed(&r, seed);
    for (int i = 0; i < m->n_tensors; i++) {
        train_tensor_t *t = &m->tensors[i];
        int gain = strstr(t->name, "ln_") && strstr(t->name, ".weight");
        for (size_t k = 0; k < t->numel; k++)
            t->data[k] = (gain ? 1.0f : 0.0f) + 0.3f * rng_normal(&r);
    }
    return m;
}

static void tiny_batch(int *in, int *tg, uint64_t seed) {
    rng_t r;
    rng_seed(&r, seed);
    for (int i = 0; i < TB * TT; i++) {
        in[i] = (int)(rng_next(&r) % TV);
        tg[i] = (int)(rng_next(&r) % TV);
    }
    tg[3] = -1; /* an ignored position */
}

static double loss_at(train_model_t *m, train_acts_t *a, const int *in, const int *tg,
                      const train_dropout_t *d) {
    char err[256];
    return train_forward(m, a, in, tg, TB, TT, d, 1234, err, sizeof(err));
}

static void test_gradcheck(tap_t *t, int gpt1, const train_dropout_t *drop, const char *what) {
    char err[256];
    train_model_t *m = tiny_model(gpt1, 7);
    train_acts_t *a = m ? train_acts_init(m, TB, TT, 2, err, sizeof(err)) : NULL;
    if (!tap_ok(t, m && a, "%s: model and activations", what)) return;
    int in[TB * TT], tg[TB * TT];
    tiny_batch(in, tg, 99);
    train_model_zero_grad(m);
    float loss = (float)loss_at(m, a, in, tg, drop);
    train_backward(m, a, 1.0f);
    tap_ok(t, isfinite(loss) && loss > 0, "%s: loss %.5f is finite", what, loss);
    /* Every tensor: the worst relative error over sampled entries, using
     * max(|fd|, |g|, 1e-2 * tensor grad scale) as the denominator so entries
     * with tiny gradients do not dominate. */
    rng_t r;
    rng_seed(&r, 5);
    int all_ok = 1;
    for (int ti = 0; ti < m->n_tensors; ti++) {
        train_tensor_t *tt = &m->tensors[ti];
        double gmax = 0;
        for (size_t k = 0; k < tt->numel; k++) gmax = fmax(gmax, fabs(tt->grad[k]));
        double worst = 0;
        int samples = tt->numel < 6 ? (int)tt->numel : 6;
        for (int s = 0; s < samples; s++) {
            size_t k = (size_t)(rng_next(&r) % tt->numel);
            /* embeddings: pick a row that is used */
            if (strstr(tt->name, "wte") || strstr(tt->name, "tokens_embed"))
                k = (size_t)in[s % (TB * TT)] * tt->shape[1] + k % (size_t)tt->shape[1];
            float orig = tt->data[k];
            float h = 1e-2f * fmaxf(1.0f, fabsf(orig));
            tt->data[k] = orig + h;
            double lp = loss_at(m, a, in, tg, drop);
            tt->data[k] = orig - h;
            double lm = loss_at(m, a, in, tg, drop);
            tt->data[k] = orig;
            double fd = (lp - lm) / (2.0 * h);
            double g = tt->grad[k];
            double den = fmax(fmax(fabs(fd), fabs(g)), 1e-2 * gmax + 1e-6);
            worst = fmax(worst, fabs(fd - g) / den);
        }
        if (worst > 2e-2) {
            all_ok = 0;
            tap_diag("%s: %s relative error %.3g", what, tt->name, worst);
        }
        if (gmax == 0) {
            all_ok = 0;
            tap_diag("%s: %s has an all-zero gradient", what, tt->name);
        }
    }
    tap_ok(t, all_ok, "%s: every tensor's gradient matches central differences", what);
    train_acts_free(a);
    train_model_free(m);
}

/* The training forward and the inference engine must agree: save, load with
 * gpt_load, run gpt_forward with all logits, compare softmax. */
static void test_matches_inference(tap_t *t, int gpt1) {
    char err[256], dir[256];
    snprintf(dir, sizeof(dir), "/tmp/gptscope-test-train-%d-%d", (int)getpid(), gpt1);
    train_model_t *m = tiny_model(gpt1, 11);
    train_acts_t *a = train_acts_init(m, 1, 8, 1, err, sizeof(err));
    int in[8] = {1, 5, 22, 0, 7, 7, 3, 19}, tg[8] = {5, 22, 0, 7, 7, 3, 19, 2};
    float loss = train_forward(m, a, in, tg, 1, 8, NULL, 0, err, sizeof(err));
    int rc = train_model_save(m, dir, KERNEL_F32, err, sizeof(err));
    if (!tap_ok(t, rc == 0, "gpt%d: checkpoint saved (%s)", gpt1 ? 1 : 2, rc ? err : dir)) return;
    /* a vocab is not needed by gpt_load */
    gpt_model_t *g = gpt_load(dir, err, sizeof(err));
    if (!tap_ok(t, g != NULL, "gpt%d: saved checkpoint loads (%s)", gpt1 ? 1 : 2,
                g ? "ok" : err)) {
        train_acts_free(a);
        train_model_free(m);
        return;
    }
    gpt_state_t *s = gpt_state_init(g, 8, 1, err, sizeof(err));
    float logits[8 * TV];
    gpt_forward(s, in, 8, logits, 1, NULL, err, sizeof(err));
    double maxdiff = 0, ref_loss = 0;
    for (int i = 0; i < 8; i++) {
        float *row = logits + i * TV;
        double mx = row[0], sum = 0;
        for (int j = 1; j < TV; j++) mx = fmax(mx, row[j]);
        for (int j = 0; j < TV; j++) sum += exp(row[j] - mx);
        for (int j = 0; j < TV; j++) {
            double p = exp(row[j] - mx) / sum;
            maxdiff = fmax(maxdiff, fabs(p - a->logits[(size_t)i * TV + j]));
        }
        ref_loss += log(sum) + mx - row[tg[i]];
    }
    tap_ok(t, maxdiff < 2e-5, "gpt%d: training probabilities match inference (max diff %.2g)",
           gpt1 ? 1 : 2, maxdiff);
    tap_near(t, loss, ref_loss / 8, 1e-4, gpt1 ? "gpt1: loss matches inference"
                                               : "gpt2: loss matches inference");
    gpt_state_free(s);
    gpt_free(g);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) tap_diag("could not remove %s", dir);
    train_acts_free(a);
    train_model_free(m);
}

/* Two micro-batches with loss_scale 1/2 give the same gradient as the mean
 * of their separate gradients (equal target counts), and reruns are bitwise
 * identical. */
static void test_accumulation(tap_t *t) {
    char err[256];
    train_model_t *m = tiny_model(0, 3);
    train_acts_t *a = train_acts_init(m, TB, TT, 2, err, sizeof(err));
    int in1[TB * TT], tg1[TB * TT], in2[TB * TT], tg2[TB * TT];
    tiny_batch(in1, tg1, 1);
    tiny_batch(in2, tg2, 2);
    train_dropout_t d = {0.1f, 0.1f, 0.1f};
    size_t n = m->n_params;
    float *g1 = malloc(n * sizeof(float)), *g2 = malloc(n * sizeof(float));
    train_model_zero_grad(m);
    train_forward(m, a, in1, tg1, TB, TT, &d, 1, err, sizeof(err));
    train_backward(m, a, 1.0f);
    memcpy(g1, m->grads, n * sizeof(float));
    train_model_zero_grad(m);
    train_forward(m, a, in2, tg2, TB, TT, &d, 2, err, sizeof(err));
    train_backward(m, a, 1.0f);
    memcpy(g2, m->grads, n * sizeof(float));
    train_model_zero_grad(m);
    train_forward(m, a, in1, tg1, TB, TT, &d, 1, err, sizeof(err));
    train_backward(m, a, 0.5f);
    train_forward(m, a, in2, tg2, TB, TT, &d, 2, err, sizeof(err));
    train_backward(m, a, 0.5f);
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs(m->grads[i] - 0.5 * (g1[i] + g2[i])) /
                                (fabs(0.5 * (g1[i] + g2[i])) + 1e-4));
    tap_ok(t, worst < 1e-4, "accumulated gradient = mean of micro-batch gradients (%.2g)", worst);
    /* determinism */
    memcpy(g2, m->grads, n * sizeof(float));
    train_model_zero_grad(m);
    train_forward(m, a, in1, tg1, TB, TT, &d, 1, err, sizeof(err));
    train_backward(m, a, 0.5f);
    train_forward(m, a, in2, tg2, TB, TT, &d, 2, err, sizeof(err));
    train_backward(m, a, 0.5f);
    tap_ok(t, memcmp(g2, m->grads, n * sizeof(float)) == 0, "a rerun gives bitwise equal grads");
    /* a different dropout key gives different gradients */
    train_model_zero_grad(m);
    train_forward(m, a, in1, tg1, TB, TT, &d, 77, err, sizeof(err));
    train_backward(m, a, 1.0f);
    tap_ok(t, memcmp(g1, m->grads, n * sizeof(float)) != 0, "the dropout key changes the masks");
    free(g1);
    free(g2);
    train_acts_free(a);
    train_model_free(m);
}

static void test_adamw_and_schedule(tap_t *t) {
    char err[256];
    train_model_t *m = tiny_model(0, 4);
    train_adamw_t opt;
    tap_ok(t, train_adamw_init(&opt, m, 0.9f, 0.95f, 1e-8f, 0.1f, 1) == 0, "adamw init");
    const train_tensor_t *w = train_model_find(m, "h.0.attn.c_attn.weight");
    const train_tensor_t *b = train_model_find(m, "transformer.h.0.attn.c_attn.bias");
    tap_ok(t, w && b && w->is_matrix && !b->is_matrix, "tensors found by HF name");
    float p0 = w->data[5], q0 = b->data[2];
    train_model_zero_grad(m);
    w->grad[5] = 0.5f;
    b->grad[2] = -2.0f;
    train_adamw_step(&opt, m, 0.01f);
    /* step 1: mh = g, vh = g^2, update = lr * (sign(g) + wd * p) */
    tap_near(t, w->data[5], p0 - 0.01 * (0.5 / (0.5 + 1e-8) + 0.1 * p0), 1e-6,
             "adamw step 1, matrix with decay");
    tap_near(t, b->data[2], q0 - 0.01 * (-1.0), 1e-6, "adamw step 1, bias without decay");
    float p1 = w->data[5];
    w->grad[5] = -0.25f;
    train_adamw_step(&opt, m, 0.01f);
    double m2 = 0.9 * 0.05 + 0.1 * -0.25, v2 = 0.95 * 0.95 * 0 + 0.95 * 0.05 * 0.25 + 0.05 * 0.0625;
    double mh = m2 / (1 - 0.81), vh = v2 / (1 - 0.9025);
    tap_near(t, w->data[5], p1 - 0.01 * (mh / (sqrt(vh) + 1e-8) + 0.1 * p1), 1e-6,
             "adamw step 2 (bias corrections)");
    train_adamw_free(&opt);
    train_model_free(m);
    (void)err;
    tap_near(t, train_lr_at(0, 10, 100, 1e-3f, 1e-4f), 1e-4, 1e-9, "lr warm-up step 0");
    tap_near(t, train_lr_at(9, 10, 100, 1e-3f, 1e-4f), 1e-3, 1e-9, "lr warm-up end");
    tap_near(t, train_lr_at(55, 10, 100, 1e-3f, 1e-4f), 5.5e-4, 1e-7, "lr cosine midpoint");
    tap_near(t, train_lr_at(100, 10, 100, 1e-3f, 1e-4f), 1e-4, 1e-9, "lr floor at the end");
    tap_near(t, train_lr_at(500, 10, 100, 1e-3f, 1e-4f), 1e-4, 1e-9, "lr floor after the end");
}

/* The average starts at the weights, follows avg += (1-d)(w - avg), and a
 * swap exchanges it with the weights (twice: both back). */
static void test_ema(tap_t *t) {
    train_model_t *m = tiny_model(0, 4);
    train_ema_t e;
    tap_ok(t, train_ema_init(&e, m, 0.75f) == 0, "ema init");
    size_t last = m->n_params - 1;
    float w0 = m->params[7], wl = m->params[last];
    tap_ok(t, e.avg[7] == w0 && e.avg[last] == wl, "ema starts at the weights");
    m->params[7] = w0 + 1.0f;
    m->params[last] = wl - 2.0f;
    train_ema_update(&e, m);
    tap_near(t, e.avg[7], w0 + 0.25, 1e-6, "ema update, first element");
    tap_near(t, e.avg[last], wl - 0.5, 1e-6, "ema update, last element");
    train_ema_update(&e, m);
    tap_near(t, e.avg[7], w0 + 0.25 + 0.25 * 0.75, 1e-6, "ema second update");
    float a7 = e.avg[7];
    train_ema_swap(&e, m);
    tap_ok(t, m->params[7] == a7 && e.avg[7] == w0 + 1.0f, "swap puts the average in the model");
    train_ema_swap(&e, m);
    tap_ok(t, m->params[7] == w0 + 1.0f && e.avg[7] == a7, "swapping twice restores both");
    train_ema_free(&e);
    train_model_free(m);
}

/* 300 AdamW steps on a fixed cyclic sequence: the loss must fall
 * far below chance (ln 23 = 3.14). */
static void test_loss_falls(tap_t *t, int gpt1) {
    char err[256];
    gpt_config_t c = tiny_config(gpt1);
    train_model_t *m = train_model_init(&c, err, sizeof(err));
    train_model_init_weights(m, 1, 1);
    train_acts_t *a = train_acts_init(m, TB, TT, 2, err, sizeof(err));
    train_adamw_t opt;
    train_adamw_init(&opt, m, 0.9f, 0.95f, 1e-8f, 0.01f, 1);
    int in[TB * TT], tg[TB * TT];
    float first = 0, last = 0;
    train_dropout_t d = {0.0f, 0.0f, 0.0f};
    for (int step = 0; step < 300; step++) {
        for (int i = 0; i < TB * TT; i++) {
            int s = (i / TT) * 5 + i % TT + step;
            in[i] = (s * 7) % TV;
            tg[i] = ((s + 1) * 7) % TV;
        }
        train_model_zero_grad(m);
        float loss = train_forward(m, a, in, tg, TB, TT, &d, (uint64_t)step, err, sizeof(err));
        train_backward(m, a, 1.0f);
        train_clip_grad_norm(m, 1.0);
        train_adamw_step(&opt, m, train_lr_at(step, 10, 300, 2e-2f, 1e-3f));
        if (step == 0) first = loss;
        last = loss;
    }
    tap_ok(t, first > 2.5f && last < 0.3f, "gpt%d: loss falls from %.3f to %.3f", gpt1 ? 1 : 2,
           first, last);
    train_adamw_free(&opt);
    train_acts_free(a);
    train_model_free(m);
}

static void test_bad_input(tap_t *t) {
    char err[256] = "";
    train_model_t *m = tiny_model(0, 1);
    train_acts_t *a = train_acts_init(m, TB, TT, 1, err, sizeof(err));
    int in[TB * TT], tg[TB * TT];
    tiny_batch(in, tg, 1);
    in[4] = TV;
    float l = train_forward(m, a, in, tg, TB, TT, NULL, 0, err, sizeof(err));
    tap_ok(t, isnan(l) && strstr(err, "outside the vocabulary"), "bad id: %s", err);
    l = train_forward(m, a, in, tg, TB + 1, TT, NULL, 0, err, sizeof(err));
    tap_ok(t, isnan(l) && strstr(err, "larger"), "oversized batch: %s", err);
    train_acts_t *big = train_acts_init(m, 1, 9, 1, err, sizeof(err));
    tap_ok(t, big == NULL && strstr(err, "n_ctx"), "T beyond n_ctx refused: %s", err);
    gpt_config_t c = tiny_config(0);
    c.n_head = 5;
    tap_ok(t, train_model_init(&c, err, sizeof(err)) == NULL, "bad config refused: %s", err);
    for (int i = 0; i < TB * TT; i++) tg[i] = -1;
    tiny_batch(in, tg + 0, 1);
    for (int i = 0; i < TB * TT; i++) tg[i] = -1;
    l = train_forward(m, a, in, tg, TB, TT, NULL, 0, err, sizeof(err));
    tap_ok(t, isnan(l) && train_last_count(a) == 0, "no targets: NaN loss, count 0");
    train_backward(m, a, 1.0f); /* must be a no-op, not a division by zero */
    train_acts_free(a);
    train_model_free(m);
}

/* Mixed precision: the bf16 products (AMX tiles, or AVX512-BF16 where there
 * are none) must give gradients close to the f32 ones (bf16 keeps 8 bits of
 * mantissa: ~1% per tensor) and train as well. Skipped without either. */
static void test_bf16(tap_t *t) {
    char err[256];
    train_model_t *m = tiny_model(0, 21);
    train_acts_t *a = train_acts_init(m, TB, TT, 2, err, sizeof(err));
    if (train_acts_set_bf16(a, 1, err, sizeof(err)) != 0) {
        tap_ok(t, strstr(err, "AVX512-BF16") != NULL,
               "bf16 refused without AMX or AVX512-BF16: %s # SKIP", err);
        train_acts_free(a);
        train_model_free(m);
        return;
    }
    int in[TB * TT], tg[TB * TT];
    tiny_batch(in, tg, 4);
    size_t n = m->n_params;
    float *g32 = malloc(n * sizeof(float));
    train_acts_set_bf16(a, 0, err, sizeof(err));
    train_model_zero_grad(m);
    float l32 = train_forward(m, a, in, tg, TB, TT, NULL, 0, err, sizeof(err));
    train_backward(m, a, 1.0f);
    memcpy(g32, m->grads, n * sizeof(float));
    train_acts_set_bf16(a, 1, err, sizeof(err));
    train_model_zero_grad(m);
    float l16 = train_forward(m, a, in, tg, TB, TT, NULL, 0, err, sizeof(err));
    train_backward(m, a, 1.0f);
    double worst = 0;
    const char *wname = "";
    for (int i = 0; i < m->n_tensors; i++) {
        const train_tensor_t *tt = &m->tensors[i];
        size_t off = (size_t)(tt->data - m->params);
        double d = 0, r = 0;
        for (size_t k = 0; k < tt->numel; k++) {
            d += (double)(tt->grad[k] - g32[off + k]) * (tt->grad[k] - g32[off + k]);
            r += (double)g32[off + k] * g32[off + k];
        }
        double e = sqrt(d) / (sqrt(r) + 1e-30);
        if (e > worst) {
            worst = e;
            wname = tt->name;
        }
    }
    tap_ok(t, fabsf(l16 - l32) < 0.02f * l32, "bf16 loss %.5f vs f32 %.5f", l16, l32);
    tap_ok(t, worst < 0.05, "bf16 gradients within %.3f of f32 (worst %s)", worst, wname);
    free(g32);
    train_acts_free(a);
    train_model_free(m);
}

/* The attention kernels skip the masked upper triangle in blocks of rows;
 * with T = 150 (three blocks, the last partial) and dropout on, their
 * output and gradients must equal a plain double-precision computation of
 * the whole T x T, in f32 (tight) and with the bf16 products (loose). */
enum { AB = 2, AH = 2, AC = 16, AT = 150 };

static void attn_plain(const float *qkv, const float *dy, float p_drop, uint64_t key, double *y,
                       double *dqkv) {
    int D = AC / AH;
    double scale = 1.0 / sqrt((double)D);
    size_t TT = (size_t)AT * AT;
    uint32_t thr = train_drop_threshold(p_drop);
    double ks = 1.0 / (1.0 - p_drop);
    double *P = malloc(TT * sizeof(double)), *M = malloc(TT * sizeof(double));
    double *dS = malloc(TT * sizeof(double));
    memset(dqkv, 0, (size_t)AB * AT * 3 * AC * sizeof(double));
    for (int bh = 0; bh < AB * AH; bh++) {
        int b = bh / AH, h = bh % AH;
#define Q(i, d) qkv[((size_t)b * AT + (i)) * 3 * AC + (size_t)h * D + (d)]
#define K(i, d) qkv[((size_t)b * AT + (i)) * 3 * AC + AC + (size_t)h * D + (d)]
#define VV(i, d) qkv[((size_t)b * AT + (i)) * 3 * AC + 2 * AC + (size_t)h * D + (d)]
#define DY(i, d) dy[((size_t)b * AT + (i)) * AC + (size_t)h * D + (d)]
        for (int i = 0; i < AT; i++) {
            double mx = -1e300, sum = 0;
            for (int j = 0; j <= i; j++) {
                double sc = 0;
                for (int d = 0; d < D; d++) sc += (double)Q(i, d) * K(j, d);
                P[(size_t)i * AT + j] = sc * scale;
                if (sc * scale > mx) mx = sc * scale;
            }
            for (int j = 0; j <= i; j++) sum += (P[(size_t)i * AT + j] = exp(P[(size_t)i * AT + j] - mx));
            for (int j = 0; j <= i; j++) {
                size_t e = (size_t)i * AT + j;
                P[e] /= sum;
                M[e] = train_keep(key, (uint64_t)bh * TT + e, thr) ? ks : 0.0;
            }
            for (int d = 0; d < D; d++) {
                double acc = 0;
                for (int j = 0; j <= i; j++) acc += P[(size_t)i * AT + j] * M[(size_t)i * AT + j] * VV(j, d);
                y[((size_t)b * AT + i) * AC + (size_t)h * D + d] = acc;
            }
        }
        for (int i = 0; i < AT; i++) {
            double dot = 0;
            for (int j = 0; j <= i; j++) {
                size_t e = (size_t)i * AT + j;
                double dpd = 0;
                for (int d = 0; d < D; d++) dpd += (double)DY(i, d) * VV(j, d);
                dS[e] = dpd * M[e];
                dot += dS[e] * P[e];
                for (int d = 0; d < D; d++)
                    dqkv[((size_t)b * AT + j) * 3 * AC + 2 * AC + (size_t)h * D + d] += P[e] * M[e] * DY(i, d);
            }
            for (int j = 0; j <= i; j++) {
                size_t e = (size_t)i * AT + j;
                double g = P[e] * (dS[e] - dot) * scale;
                for (int d = 0; d < D; d++) {
                    dqkv[((size_t)b * AT + i) * 3 * AC + (size_t)h * D + d] += g * K(j, d);
                    dqkv[((size_t)b * AT + j) * 3 * AC + AC + (size_t)h * D + d] += g * Q(i, d);
                }
            }
        }
#undef Q
#undef K
#undef VV
#undef DY
    }
    free(P);
    free(M);
    free(dS);
}

/* largest |a - b| over the largest |b| */
static double rel_err(const float *a, const double *b, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(a[i] - b[i]) > d) d = fabs(a[i] - b[i]);
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return d / (m + 1e-30);
}

static void test_attention_blocks(tap_t *t) {
    size_t nq = (size_t)AB * AT * 3 * AC, ny = (size_t)AB * AT * AC, TT = (size_t)AT * AT;
    float *qkv = malloc(nq * sizeof(float)), *dy = malloc(ny * sizeof(float));
    float *y = malloc(ny * sizeof(float)), *dq = malloc(nq * sizeof(float));
    float *probs = malloc((size_t)AB * AH * TT * sizeof(float));
    float *scratch = malloc(2 * 2 * TT * sizeof(float));
    double *yr = malloc(ny * sizeof(double)), *dqr = malloc(nq * sizeof(double));
    rng_t r;
    rng_seed(&r, 31);
    for (size_t i = 0; i < nq; i++) qkv[i] = 2.0f * rng_uniform(&r) - 1.0f;
    for (size_t i = 0; i < ny; i++) dy[i] = 2.0f * rng_uniform(&r) - 1.0f;
    uint64_t key = train_site_key(77, 0, 1);
    attn_plain(qkv, dy, 0.1f, key, yr, dqr);
    train_attention_forward(y, probs, qkv, AB, AT, AC, AH, 0.1f, key, scratch, 2, NULL);
    train_attention_backward(dq, dy, qkv, probs, AB, AT, AC, AH, 0.1f, key, scratch, 2, NULL);
    double ey = rel_err(y, yr, ny), eg = rel_err(dq, dqr, nq);
    tap_ok(t, ey < 1e-5 && eg < 1e-5, "blocked causal attention (T=%d) = plain: output %.1e, grads %.1e",
           AT, ey, eg);
    if (amx_best_backend() != AMX_BACKEND_NONE) {
        amx_ctx_t *ctx[2] = {amx_ctx_init(1), amx_ctx_init(1)};
        train_attention_forward(y, probs, qkv, AB, AT, AC, AH, 0.1f, key, scratch, 2, ctx);
        train_attention_backward(dq, dy, qkv, probs, AB, AT, AC, AH, 0.1f, key, scratch, 2, ctx);
        ey = rel_err(y, yr, ny);
        eg = rel_err(dq, dqr, nq);
        tap_ok(t, ey < 2e-2 && eg < 2e-2, "bf16 blocked attention close to plain: output %.1e, grads %.1e",
               ey, eg);
        amx_ctx_free(ctx[0]);
        amx_ctx_free(ctx[1]);
    } else {
        tap_ok(t, 1, "bf16 attention: no AMX or AVX512-BF16 here # SKIP");
    }
    free(qkv);
    free(dy);
    free(y);
    free(dq);
    free(probs);
    free(scratch);
    free(yr);
    free(dqr);
}

int main(void) {
    tap_t t = {0};
    test_attention_blocks(&t);
    test_bf16(&t);
    train_dropout_t none = {0, 0, 0}, all = {0.1f, 0.1f, 0.1f};
    test_gradcheck(&t, 0, &none, "gpt2");
    test_gradcheck(&t, 1, &none, "gpt1");
    test_gradcheck(&t, 0, &all, "gpt2 with dropout");
    test_gradcheck(&t, 1, &all, "gpt1 with dropout");
    test_matches_inference(&t, 0);
    test_matches_inference(&t, 1);
    test_accumulation(&t);
    test_adamw_and_schedule(&t);
    test_ema(&t);
    test_loss_falls(&t, 0);
    test_loss_falls(&t, 1);
    test_bad_input(&t);
    return tap_done(&t);
}
