/* test_task_head.c - GPT-1 fine-tuning's objective checked by central
 * differences: L = L_head + lambda * L_lm, where the head reads the final
 * hidden state at each sequence's extract token, with dropout on in the
 * transformer and on the head's input (the masks are a function of the key,
 * so L is a fixed smooth function of the weights). Both families, both head
 * shapes (classes over summed features; a softmax over choices), the head's
 * weights, its bias and sampled entries of every transformer tensor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "gpt.h"
#include "rng.h"
#include "tap.h"
#include "task_head.h"
#include "train.h"

enum { TB = 4, TT = 6, TV = 19, TC = 12 };

static train_model_t *tiny_model(int gpt1, uint64_t seed) {
    char err[256];
    gpt_config_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.model_type, sizeof c.model_type, "%s", gpt1 ? "openai-gpt" : "gpt2");
    c.n_layer = 2;
    c.n_head = 2;
    c.n_embd = TC;
    c.n_ctx = 8;
    c.n_vocab = TV;
    c.n_inner = 4 * TC;
    c.ln_eps = 1e-5f;
    c.pre_norm = !gpt1;
    c.final_ln = !gpt1;
    c.eos_id = -1;
    train_model_t *m = train_model_init(&c, err, sizeof err);
    if (!m) return NULL;
    rng_t r;
    rng_seed(&r, seed);
    for (int i = 0; i < m->n_tensors; i++) {
        train_tensor_t *t = &m->tensors[i];
        int gain = strstr(t->name, "ln_") && strstr(t->name, ".weight");
        for (size_t k = 0; k < t->numel; k++) t->data[k] = (gain ? 1.0f : 0.0f) + 0.3f * rng_normal(&r);
    }
    return m;
}

typedef struct fixture {
    train_model_t *m;
    train_acts_t *a;
    task_head_t h;
    int in[TB * TT], tg[TB * TT];
    int rows[TB], labels[TB];
    task_head_batch_t b;
    float W[3 * TC], bias[3], dW[3 * TC], dbias[3];
    float *dhidden;
    float lambda;
    train_dropout_t drop;
} fixture_t;

/* the whole objective at the current weights */
static double objective(fixture_t *f) {
    char err[256];
    float lm = train_forward(f->m, f->a, f->in, f->tg, TB, TT, &f->drop, 77, err, sizeof err);
    float hl = task_head_forward(&f->h, f->W, f->bias, train_last_hidden(f->m, f->a), &f->b, 0.2f,
                                 99, NULL, 1);
    return (double)hl + f->lambda * (double)lm;
}

static void gradients(fixture_t *f) {
    train_model_zero_grad(f->m);
    memset(f->dW, 0, sizeof f->dW);
    memset(f->dbias, 0, sizeof f->dbias);
    objective(f);
    memset(f->dhidden, 0, (size_t)TB * TT * TC * sizeof(float));
    task_head_backward(&f->h, f->W, f->dW, f->dbias, f->dhidden, 1.0f, 1);
    train_backward_with(f->m, f->a, f->lambda, f->dhidden);
}

static double fd(fixture_t *f, float *p) {
    float orig = *p, h = 1e-2f * fmaxf(1.0f, fabsf(orig));
    *p = orig + h;
    double lp = objective(f);
    *p = orig - h;
    double lm = objective(f);
    *p = orig;
    return (lp - lm) / (2.0 * h);
}

static double rel(double fdv, double g, double scale) {
    return fabs(fdv - g) / fmax(fmax(fabs(fdv), fabs(g)), 1e-2 * scale + 1e-6);
}

static void check(tap_t *t, int gpt1, task_head_mode_t mode, float lambda) {
    char err[256], what[96];
    snprintf(what, sizeof what, "%s, %s head, lambda %g", gpt1 ? "GPT-1" : "GPT-2",
             mode == TASK_HEAD_SUM ? "class" : "choice", (double)lambda);
    fixture_t f;
    memset(&f, 0, sizeof f);
    f.m = tiny_model(gpt1, 3);
    f.a = f.m ? train_acts_init(f.m, TB, TT, 1, err, sizeof err) : NULL;
    f.dhidden = calloc((size_t)TB * TT * TC, sizeof(float));
    int K = mode == TASK_HEAD_SUM ? 3 : 1;
    if (!tap_ok(t, f.m && f.a && f.dhidden && task_head_init(&f.h, TC, K, TB, err, sizeof err) == 0,
                "%s: set-up", what))
        return;
    f.lambda = lambda;
    f.drop = (train_dropout_t){0.1f, 0.1f, 0.1f};
    rng_t r;
    rng_seed(&r, 11);
    for (int i = 0; i < TB * TT; i++) {
        f.in[i] = (int)(rng_next(&r) % TV);
        f.tg[i] = i % TT == TT - 1 ? -1 : f.in[i + 1]; /* the LM loss on each sequence */
    }
    for (int k = 0; k < K * TC; k++) f.W[k] = 0.5f * rng_normal(&r);
    for (int k = 0; k < K; k++) f.bias[k] = 0.1f * rng_normal(&r);
    /* extract positions differ per sequence, as with texts of other lengths */
    int ext[TB] = {5, 3, 4, 5};
    for (int s = 0; s < TB; s++) f.rows[s] = s * TT + ext[s];
    if (mode == TASK_HEAD_SUM) {
        /* two examples of two sequences each (similar: both orders), one unlabelled */
        f.b = (task_head_batch_t){mode, 2, 2, f.rows, f.labels};
        f.labels[0] = 2;
        f.labels[1] = 0;
    } else {
        /* one example of four choices, the third right */
        f.b = (task_head_batch_t){mode, 1, 4, f.rows, f.labels};
        f.labels[0] = 2;
    }
    gradients(&f);
    double worst_head = 0, gmax = 0;
    for (int k = 0; k < K * TC; k++) gmax = fmax(gmax, fabs(f.dW[k]));
    for (int k = 0; k < K * TC; k += 5) worst_head = fmax(worst_head, rel(fd(&f, &f.W[k]), f.dW[k], gmax));
    for (int k = 0; k < K; k++) worst_head = fmax(worst_head, rel(fd(&f, &f.bias[k]), f.dbias[k], gmax));
    tap_ok(t, worst_head < 2e-2 && gmax > 0, "%s: head weight and bias gradients (worst %.2g)", what,
           worst_head);
    int all_ok = 1;
    for (int ti = 0; ti < f.m->n_tensors; ti++) {
        train_tensor_t *tt = &f.m->tensors[ti];
        double tmax = 0, worst = 0;
        for (size_t k = 0; k < tt->numel; k++) tmax = fmax(tmax, fabs(tt->grad[k]));
        for (int s = 0; s < 4; s++) {
            size_t k = (size_t)(rng_next(&r) % tt->numel);
            if (strstr(tt->name, "wte") || strstr(tt->name, "tokens_embed"))
                k = (size_t)f.in[f.rows[s]] * tt->shape[1] + k % (size_t)tt->shape[1];
            worst = fmax(worst, rel(fd(&f, &tt->data[k]), tt->grad[k], tmax));
        }
        if (worst > 3e-2 || tmax == 0) {
            all_ok = 0;
            tap_diag("%s: %s relative error %.3g (max grad %.3g)", what, tt->name, worst, tmax);
        }
    }
    tap_ok(t, all_ok, "%s: every transformer tensor's gradient matches central differences", what);
    task_head_free(&f.h);
    free(f.dhidden);
    train_acts_free(f.a);
    train_model_free(f.m);
}

/* A model with a head is saved in the Hugging Face layout plus clf.* and
 * config.json's "gptscope_task", and loads back for inference and training. */
static void test_checkpoint(tap_t *t, int gpt1) {
    char err[512], dir[] = "/tmp/gptscope-head-XXXXXX";
    if (!mkdtemp(dir)) return;
    train_model_t *m = tiny_model(gpt1, 5);
    train_model_t *h = NULL;
    if (m) {
        gpt_config_t c = m->cfg;
        c.n_clf = 3;
        h = train_model_init(&c, err, sizeof err);
    }
    if (!tap_ok(t, h != NULL, "a %s model with a 3-output head (%s)", gpt1 ? "GPT-1" : "GPT-2", h ? "" : err))
        return;
    train_model_init_weights(h, 9, 1);
    h->task_json = strdup("{\"task\": \"classify\", \"labels\": [\"a\", \"b\", \"c\"], \"n_out\": 7}");
    int rc = train_model_save(h, dir, KERNEL_F32, err, sizeof err);
    gpt_model_t *g = rc == 0 ? gpt_load(dir, err, sizeof err) : NULL;
    int same = g && g->cfg.n_clf == 3 && g->clf_w && g->clf_b &&
               memcmp(g->clf_w, h->clf_w, 3 * TC * sizeof(float)) == 0 &&
               memcmp(g->clf_b, h->clf_b, 3 * sizeof(float)) == 0;
    tap_ok(t, same, "saved and loaded: clf.weight [3, %d] and clf.bias [3] as they were (%s)", TC,
           g ? "" : err);
    char path[512], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/config.json", dir);
    tap_ok(t, fileio_read_file(path, 0, &text, &len, err, sizeof err) == 0 &&
                  strstr(text, "\"gptscope_task\"") && strstr(text, "\"labels\"") &&
                  strstr(text, "\"n_out\":\t3") && !strstr(text, "\"n_out\":\t7"),
           "config.json keeps the task's labels, with n_out made to agree with the tensors");
    free(text);
    train_model_t *back = g ? train_model_from_gpt(g, err, sizeof err) : NULL;
    tap_ok(t, back && back->clf_w && memcmp(back->clf_w, h->clf_w, 3 * TC * sizeof(float)) == 0,
           "train_model_from_gpt copies the head (fine-tuning goes on from it)");
    train_model_free(back);
    gpt_free(g);
    /* a head the config promises but the weights lack: the plain model's
     * weights under the head model's config.json */
    char dir2[] = "/tmp/gptscope-head2-XXXXXX";
    if (mkdtemp(dir2) && train_model_save(m, dir2, KERNEL_F32, err, sizeof err) == 0) {
        char from[600], to[600];
        snprintf(from, sizeof from, "%s/model.safetensors", dir2);
        snprintf(to, sizeof to, "%s/model.safetensors", dir);
        rc = fileio_copy_atomic(from, to, err, sizeof err);
        g = rc == 0 ? gpt_load(dir, err, sizeof err) : NULL;
        tap_ok(t, !g && strstr(err, "clf.weight"), "a missing clf.weight is named: %s", err);
        gpt_free(g);
        char cmd[1300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir2);
        if (system(cmd) != 0) tap_diag("could not remove %s", dir2);
    }
    /* a "gptscope_task" that is not an object */
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (fileio_read_file(path, 0, &text, &len, err, sizeof err) == 0) {
        char *at = strstr(text, "\"gptscope_task\":");
        if (at) {
            *at = '\0';
            char bad[8192];
            snprintf(bad, sizeof bad, "%s\"gptscope_task\": 5\n}\n", text);
            fileio_write_atomic(path, bad, strlen(bad), err, sizeof err);
            g = gpt_load(dir, err, sizeof err);
            tap_ok(t, !g && strstr(err, "\"gptscope_task\" must be an object"), "%s", err);
            gpt_free(g);
        }
        free(text);
    }
    train_model_free(h);
    train_model_free(m);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) tap_diag("could not remove %s", dir);
}

int main(void) {
    tap_t t = {0};
    test_checkpoint(&t, 0);
    test_checkpoint(&t, 1);
    for (int gpt1 = 0; gpt1 <= 1; gpt1++) {
        check(&t, gpt1, TASK_HEAD_SUM, 0.5f);
        check(&t, gpt1, TASK_HEAD_CHOICE, 0.5f);
    }
    check(&t, 1, TASK_HEAD_SUM, 0.0f); /* only the head's gradient flows back */
    /* probabilities: softmax per example, sums to 1 */
    task_head_t h;
    char err[128];
    float hid[2 * TC], W[2 * TC], probs[2];
    for (int i = 0; i < 2 * TC; i++) hid[i] = 0.1f * (float)i, W[i] = i < TC ? 0.2f : -0.1f;
    int rows[1] = {1}, lab[1] = {1};
    task_head_batch_t b = {TASK_HEAD_SUM, 1, 1, rows, lab};
    int ok = task_head_init(&h, TC, 2, 1, err, sizeof err) == 0;
    float loss = ok ? task_head_forward(&h, W, NULL, hid, &b, 0.0f, 0, probs, 1) : NAN;
    double z0 = 0, z1 = 0;
    for (int j = 0; j < TC; j++) z0 += 0.2 * hid[TC + j], z1 += -0.1 * hid[TC + j];
    double p1 = 1.0 / (1.0 + exp(z0 - z1));
    tap_ok(&t, ok && fabs(probs[1] - p1) < 1e-6 && fabs(loss + log(p1)) < 1e-5,
           "a hand-computed two-class case: p = %.6f (want %.6f), loss -log p", probs[1], p1);
    task_head_free(&h);
    tap_ok(&t, task_head_init(&h, 0, 2, 1, err, sizeof err) == -1, "bad sizes refused: %s", err);
    return tap_done(&t);
}
