/* test_task_reference.c - GPT-1's fine-tuning objective against PyTorch:
 * L = L_task + lambda L_lm on the small GPT-2 and GPT-1 models of
 * tests/reference/train/ (goldens by make_task_reference.py, float64
 * autograd), through the same calls finetune makes (train_forward,
 * task_head_forward / _backward, train_backward_with): the three losses and
 * the gradient of every tensor, the head's included (relative error
 * ||g - g_ref|| / ||g_ref|| <= 1e-3), for a classification head (K = 3,
 * two examples) and a multiple-choice head (one example, two choices; its
 * bias's gradient is exactly zero, checked to 1e-3 absolute). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"
#include "tap.h"
#include "tap_json.h"
#include "task_head.h"
#include "train.h"

static int json_ints(const cJSON *arr, int *v, int max) {
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (i < max) v[i] = (int)it->valuedouble;
        i++;
    }
    return i;
}

static double rel_err(const float *a, const float *ref, size_t n) {
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - ref[i]) * ((double)a[i] - ref[i]);
        r += (double)ref[i] * ref[i];
    }
    return sqrt(d) / (sqrt(r) + 1e-30);
}

static void run(tap_t *t, const char *fam, const char *shape) {
    char dir[1024], path[1200], err[512] = "", what[64];
    snprintf(dir, sizeof dir, "%s/tests/reference/train/%s",
             getenv("GPTSCOPE_SRC") ? getenv("GPTSCOPE_SRC") : ".", fam);
    snprintf(what, sizeof what, "%s %s", fam, shape);
    snprintf(path, sizeof path, "%s/task_%s.json", dir, shape);
    cJSON *meta = tap_read_json(path);
    snprintf(path, sizeof path, "%s/batch.json", dir);
    cJSON *batch = tap_read_json(path);
    snprintf(path, sizeof path, "%s/task_%s.safetensors", dir, shape);
    st_file_t *st = st_open(path, err, sizeof err);
    gpt_model_t *g = gpt_load(dir, err, sizeof err);
    train_model_t *base = g ? train_model_from_gpt(g, err, sizeof err) : NULL;
    const int K = meta ? (int)tap_json_num(meta, "K") : 0;
    train_model_t *m = base && K > 0 ? train_model_for_task(base, 0, K, 1, err, sizeof err) : NULL;
    const st_tensor_t *w = st ? st_find(st, "clf.weight") : NULL, *b = st ? st_find(st, "clf.bias") : NULL;
    if (!tap_ok(t, meta && batch && st && m && w && b && st_numel(w) == (int64_t)K * m->cfg.n_embd,
                "%s: reference, model and head load %s", what, err))
        goto out;
    memcpy(m->clf_w, w->data, (size_t)st_numel(w) * sizeof(float));
    memcpy(m->clf_b, b->data, (size_t)K * sizeof(float));
    int B = (int)tap_json_num(batch, "B"), T = (int)tap_json_num(batch, "T"), C = m->cfg.n_embd;
    int in[64], tg[64], ext[8], labels[8];
    int ok = B * T <= 64 && json_ints(cJSON_GetObjectItemCaseSensitive(batch, "inputs"), in, 64) == B * T &&
             json_ints(cJSON_GetObjectItemCaseSensitive(batch, "targets"), tg, 64) == B * T;
    int n_ext = json_ints(cJSON_GetObjectItemCaseSensitive(meta, "extract"), ext, 8);
    int n_lab = json_ints(cJSON_GetObjectItemCaseSensitive(meta, "labels"), labels, 8);
    train_acts_t *a = ok && n_ext == B ? train_acts_init(m, B, T, 2, err, sizeof err) : NULL;
    float *dh = calloc((size_t)B * T * C, sizeof(float));
    task_head_t h = {0};
    if (!tap_ok(t, a && dh && task_head_init(&h, C, K, B, err, sizeof err) == 0,
                "%s: batch %d x %d %s", what, B, T, err))
        goto free_acts;
    int rows[8];
    for (int i = 0; i < B; i++) rows[i] = i * T + ext[i];
    const int choice = !strcmp(shape, "choice");
    task_head_batch_t hb = {choice ? TASK_HEAD_CHOICE : TASK_HEAD_SUM, choice ? 1 : B,
                            choice ? B : 1, rows, labels};
    if (n_lab != hb.n_examples) {
        tap_ok(t, 0, "%s: %d labels for %d examples", what, n_lab, hb.n_examples);
        goto free_acts;
    }
    const float lambda = (float)tap_json_num(meta, "lm_coef");
    train_model_zero_grad(m);
    float lm = train_forward(m, a, in, tg, B, T, NULL, 0, err, sizeof err);
    float task = task_head_forward(&h, m->clf_w, m->clf_b, train_last_hidden(m, a), &hb, 0.0f, 0,
                                   NULL, 1);
    task_head_backward(&h, m->clf_w, m->dclf_w, m->dclf_b, dh, 1.0f, 1);
    train_backward_with(m, a, lambda, dh);
    double want_lm = tap_json_num(meta, "lm_loss"), want_task = tap_json_num(meta, "task_loss");
    double want = tap_json_num(meta, "loss"), total = task + lambda * lm;
    tap_ok(t, fabs(lm - want_lm) <= 1e-5 * fabs(want_lm) && fabs(task - want_task) <= 1e-5 * fabs(want_task) &&
                  fabs(total - want) <= 1e-5 * fabs(want),
           "%s: loss %.6f = task %.6f + %.1f lm %.6f, torch %.6f = %.6f + %.1f x %.6f", what, total, task,
           lambda, lm, want, want_task, lambda, want_lm);
    int missing = 0, bad = 0, n_head = 0;
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < m->n_tensors; i++) {
        const train_tensor_t *tt = &m->tensors[i];
        char name[160];
        snprintf(name, sizeof name, "grad.%s", tt->name);
        const st_tensor_t *ref = st_find(st, name);
        if (!ref || (size_t)st_numel(ref) != tt->numel) {
            tap_diag("%s: %s missing or wrong shape in the reference", what, name);
            missing++;
            continue;
        }
        n_head += !strncmp(tt->name, "clf.", 4);
        /* a choice head's bias has an exactly zero gradient (softmax ignores
         * a constant added to every choice): there the error is absolute */
        double e = rel_err(tt->grad, (const float *)ref->data, tt->numel);
        if (choice && !strcmp(tt->name, "clf.bias")) e = fabs(tt->grad[0]);
        if (e > worst) worst = e, worst_name = tt->name;
        if (e > 1e-3) {
            tap_diag("%s: %s relative error %.3g", what, tt->name, e);
            bad++;
        }
    }
    tap_ok(t, !missing && !bad && n_head == 2,
           "%s: gradients of all %d tensors (the head's 2 included) match torch, worst %.2g (%s)",
           what, m->n_tensors, worst, worst_name);
free_acts:
    task_head_free(&h);
    free(dh);
    train_acts_free(a);
out:
    train_model_free(m);
    train_model_free(base);
    gpt_free(g);
    st_close(st);
    cJSON_Delete(meta);
    cJSON_Delete(batch);
}

int main(void) {
    tap_t t = {0};
    run(&t, "gpt2", "classify");
    run(&t, "gpt2", "choice");
    run(&t, "gpt1", "classify");
    run(&t, "gpt1", "choice");
    return tap_done(&t);
}
