/* test_train_reference.c - the training engine against PyTorch: for a small
 * GPT-2 and GPT-1 model (tests/reference/train/, made by
 * make_train_reference.py in float64), the loss, the gradient of every
 * tensor (relative error <= 1e-3: ||g - g_ref|| / ||g_ref||), the global
 * gradient norm, and the parameters after one clipped AdamW step
 * (torch.optim.AdamW) must match. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"
#include "tap.h"
#include "train.h"

static cJSON *read_json(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = 0;
    return cJSON_Parse(buf);
}

static int *json_ints(const cJSON *arr, int n) {
    int *v = calloc((size_t)n, sizeof(int));
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (i < n) v[i] = (int)it->valuedouble;
        i++;
    }
    if (i != n) {
        free(v);
        return NULL;
    }
    return v;
}

static double json_num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* ||a - ref|| / ||ref|| over the tensor; with skip_g, the elements whose
 * reference gradient is (numerically) zero are left out: there Adam's first
 * step g / (|g| + eps) is decided by rounding noise (the key bias of
 * attention has an exactly zero gradient, since softmax ignores a constant
 * added to every score, and f32 leaves ~1e-9 where f64 leaves ~1e-17). */
static double rel_err(const float *a, const float *ref, size_t n, const float *skip_g,
                      size_t *skipped) {
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        if (skip_g && fabsf(skip_g[i]) < 1e-6f) {
            (*skipped)++;
            continue;
        }
        d += ((double)a[i] - ref[i]) * ((double)a[i] - ref[i]);
        r += (double)ref[i] * ref[i];
    }
    return sqrt(d) / (sqrt(r) + 1e-30);
}

/* Compares every tensor of the model (data or grad) with the file's. */
static void compare_tensors(tap_t *t, const train_model_t *m, const st_file_t *st, int grads,
                            const st_file_t *skip_grads, double tol, const char *what) {
    int missing = 0, bad = 0;
    size_t skipped = 0;
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < m->n_tensors; i++) {
        const train_tensor_t *tt = &m->tensors[i];
        const st_tensor_t *ref = st_find(st, tt->name);
        if (!ref || ref->dtype != ST_F32 || (size_t)st_numel(ref) != tt->numel) {
            tap_diag("%s: %s missing or wrong shape in the reference", what, tt->name);
            missing++;
            continue;
        }
        const st_tensor_t *sg = skip_grads ? st_find(skip_grads, tt->name) : NULL;
        double e = rel_err(grads ? tt->grad : tt->data, (const float *)ref->data, tt->numel,
                           sg ? (const float *)sg->data : NULL, &skipped);
        if (e > worst) {
            worst = e;
            worst_name = tt->name;
        }
        if (e > tol) {
            tap_diag("%s: %s relative error %.3g", what, tt->name, e);
            bad++;
        }
    }
    tap_ok(t, !missing && !bad, "%s: %d tensors, worst relative error %.2g (%s)%s", what,
           m->n_tensors, worst, worst_name, skipped ? " (zero-gradient entries left out)" : "");
}

static void run_family(tap_t *t, const char *fam) {
    char dir[1024], path[1100], err[512];
    snprintf(dir, sizeof(dir), "%s/tests/reference/train/%s",
             getenv("GPTSCOPE_SRC") ? getenv("GPTSCOPE_SRC") : ".", fam);
    gpt_model_t *g = gpt_load(dir, err, sizeof(err));
    if (!tap_ok(t, g != NULL, "%s: reference model loads (%s)", fam, g ? "ok" : err)) return;
    train_model_t *m = train_model_from_gpt(g, err, sizeof(err));
    gpt_free(g);
    snprintf(path, sizeof(path), "%s/batch.json", dir);
    cJSON *batch = read_json(path);
    snprintf(path, sizeof(path), "%s/expected.json", dir);
    cJSON *exp = read_json(path);
    if (!tap_ok(t, m && batch && exp, "%s: batch.json and expected.json read", fam)) goto out;
    int B = (int)json_num(batch, "B"), T = (int)json_num(batch, "T");
    int *in = json_ints(cJSON_GetObjectItemCaseSensitive(batch, "inputs"), B * T);
    int *tg = json_ints(cJSON_GetObjectItemCaseSensitive(batch, "targets"), B * T);
    train_acts_t *a = in && tg ? train_acts_init(m, B, T, 2, err, sizeof(err)) : NULL;
    if (tap_ok(t, a != NULL, "%s: batch %d x %d", fam, B, T)) {
        train_model_zero_grad(m);
        float loss = train_forward(m, a, in, tg, B, T, NULL, 0, err, sizeof(err));
        train_backward(m, a, 1.0f);
        double want = json_num(exp, "loss");
        tap_ok(t, fabs(loss - want) <= 1e-5 * fmax(1.0, fabs(want)),
               "%s: loss %.7f matches torch %.7f", fam, loss, want);
        snprintf(path, sizeof(path), "%s/grads.safetensors", dir);
        st_file_t *gs = st_open(path, err, sizeof(err));
        if (tap_ok(t, gs != NULL, "%s: grads.safetensors opens", fam)) {
            compare_tensors(t, m, gs, 1, NULL, 1e-3, fam);
        }
        /* one clipped AdamW step as torch.optim.AdamW does it */
        double norm = train_clip_grad_norm(m, json_num(exp, "clip"));
        double want_norm = json_num(exp, "grad_norm");
        tap_ok(t, fabs(norm - want_norm) <= 1e-4 * want_norm, "%s: grad norm %.6f vs torch %.6f",
               fam, norm, want_norm);
        train_adamw_t opt;
        train_adamw_init(&opt, m, (float)json_num(exp, "beta1"), (float)json_num(exp, "beta2"),
                         (float)json_num(exp, "eps"), (float)json_num(exp, "weight_decay"), 1);
        train_adamw_step(&opt, m, (float)json_num(exp, "lr"));
        train_adamw_free(&opt);
        snprintf(path, sizeof(path), "%s/after_adamw.safetensors", dir);
        st_file_t *as = st_open(path, err, sizeof(err));
        if (tap_ok(t, as != NULL, "%s: after_adamw.safetensors opens", fam)) {
            compare_tensors(t, m, as, 0, gs, 1e-5, "after one AdamW step");
            st_close(as);
        }
        st_close(gs);
    }
    train_acts_free(a);
    free(in);
    free(tg);
out:
    cJSON_Delete(batch);
    cJSON_Delete(exp);
    train_model_free(m);
}

int main(void) {
    tap_t t = {0};
    run_family(&t, "gpt2");
    run_family(&t, "gpt1");
    return tap_done(&t);
}
