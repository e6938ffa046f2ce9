/* calibrate.c - temperature calibration (calibrate.h). */
#include "calibrate.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "kernels.h"
#include "mathx.h"
#include "safetensors.h"

int calib_init(calib_t *c, int n_vocab) {
    memset(c, 0, sizeof(*c));
    if (n_vocab <= 0) return -1;
    c->n_vocab = n_vocab;
    c->work = malloc(2 * (size_t)n_vocab * sizeof(float));
    return c->work ? 0 : -1;
}

void calib_free(calib_t *c) {
    if (!c) return;
    free(c->work);
    c->work = NULL;
}

/* The grid's scales in exact decimal steps (s = 1 is exactly 1.0). */
static double calib_scale(int j) { return (CALIB_S_LO / CALIB_S_STEP + j) * CALIB_S_STEP; }

/* sum(e) and then e *= r, in one pass; 16 partial sums let the compiler use
 * vector adds without reassociating a single float accumulator. */
static double calib_sum_step(float *e, const float *r, int n) {
    float acc[16] = {0};
    int k = 0;
    for (; k + 16 <= n; k += 16)
        for (int l = 0; l < 16; l++) {
            acc[l] += e[k + l];
            e[k + l] *= r[k + l];
        }
    double s = 0.0;
    for (; k < n; k++) {
        s += e[k];
        e[k] *= r[k];
    }
    for (int l = 0; l < 16; l++) s += acc[l];
    return s;
}

/* For every grid scale s: logsumexp(s z) - s z[target], with
 * logsumexp(s z) = s max + log sum exp(s (z - max)). Rather than V
 * exponentials per scale, exp(s d) steps from one scale to the next by a
 * factor exp(step d); the chain restarts from exact exponentials at s = 1, so
 * the loss there is the plain one and each chain is 50 products long
 * (relative error ~50 float roundings, far below the loss differences the
 * fit reads). */
void calib_add(calib_t *c, const float *z, int target) {
    int V = c->n_vocab;
    float *e = c->work, *r = c->work + V;
    float mx = z[0];
    for (int k = 1; k < V; k++) mx = z[k] > mx ? z[k] : mx;
    const float s0 = (float)CALIB_S_LO, ds = (float)CALIB_S_STEP;
    for (int k = 0; k < V; k++) {
        float d = z[k] - mx;
        e[k] = mathx_exp(s0 * d);
        r[k] = mathx_exp(ds * d);
    }
    for (int j = 0; j < CALIB_GRID; j++) {
        if (j == CALIB_ONE)
            for (int k = 0; k < V; k++) e[k] = mathx_exp(z[k] - mx);
        double s = calib_scale(j);
        double lse = s * (double)mx + log(calib_sum_step(e, r, V));
        c->nats[j] += lse - s * (double)z[target];
    }
    c->n++;
}

int calib_fit(const calib_t *c, calib_fit_t *fit, char *err, size_t errlen) {
    memset(fit, 0, sizeof(*fit));
    if (c->n <= 0) {
        snprintf(err, errlen, "no predictions to calibrate on");
        return -1;
    }
    int best = 0;
    for (int j = 1; j < CALIB_GRID; j++)
        if (c->nats[j] < c->nats[best]) best = j;
    double n = (double)c->n;
    fit->nats_before = c->nats[CALIB_ONE] / n;
    fit->scale = calib_scale(best);
    fit->nats_after = c->nats[best] / n;
    if (best == 0 || best == CALIB_GRID - 1) {
        fit->at_edge = 1;
        return 0;
    }
    /* parabola through (-1, fm), (0, f0), (1, fp): vertex at
     * x = (fm - fp) / (2 (fm - 2 f0 + fp)), value f0 - (fm - fp) x / 4 */
    double fm = c->nats[best - 1] / n, f0 = c->nats[best] / n, fp = c->nats[best + 1] / n;
    double curv = fm - 2.0 * f0 + fp;
    if (curv > 0.0) {
        double x = (fm - fp) / (2.0 * curv);
        if (x > 0.5) x = 0.5; /* the best grid point is the lowest: |x| <= 1/2 */
        if (x < -0.5) x = -0.5;
        fit->scale = calib_scale(best) + x * CALIB_S_STEP;
        fit->nats_after = f0 - 0.25 * (fm - fp) * x;
    }
    return 0;
}

/* ---- writing the calibrated model ---------------------------------------- */

/* n values of a tensor's data (any alignment) times s, in its own dtype. */
static void *calib_scaled_copy(const st_tensor_t *t, double s, int64_t n) {
    size_t esz = st_dtype_size(t->dtype);
    unsigned char *out = malloc((size_t)n * esz + 1);
    if (!out) return NULL;
    const unsigned char *in = t->data;
    for (int64_t i = 0; i < n; i++) {
        if (t->dtype == ST_F32) {
            float v;
            memcpy(&v, in + i * 4, 4);
            v = (float)((double)v * s);
            memcpy(out + i * 4, &v, 4);
        } else {
            uint16_t h;
            memcpy(&h, in + i * 2, 2);
            float v = t->dtype == ST_F16 ? kernel_f16_to_f32(h) : kernel_bf16_to_f32(h);
            v = (float)((double)v * s);
            h = t->dtype == ST_F16 ? kernel_f32_to_f16(v) : kernel_f32_to_bf16(v);
            memcpy(out + i * 2, &h, 2);
        }
    }
    return out;
}

/* config.json is required; the tokenizer's files are copied when present. */
static const char *const calib_files[] = {"config.json", "vocab.json", "merges.txt",
                                          "tokenizer.json", "tokenizer_config.json",
                                          "special_tokens_map.json", "generation_config.json"};

int calib_write_model(const char *src_dir, const char *dst_dir, const gpt_config_t *cfg,
                      double scale, char *err, size_t errlen) {
    char src[PATH_MAX], dst[PATH_MAX], path[PATH_MAX + 64];
    if (!(scale > 0.0) || !isfinite(scale)) {
        snprintf(err, errlen, "calibration scale %g is not a positive number", scale);
        return -1;
    }
    if (mkdir(dst_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create directory: %s", dst_dir, strerror(errno));
        return -1;
    }
    if (!realpath(src_dir, src)) {
        snprintf(err, errlen, "%s: %s", src_dir, strerror(errno));
        return -1;
    }
    if (!realpath(dst_dir, dst)) {
        snprintf(err, errlen, "%s: %s", dst_dir, strerror(errno));
        return -1;
    }
    if (strcmp(src, dst) == 0) {
        snprintf(err, errlen, "%s: is the model's own directory; write the calibrated copy "
                              "somewhere else", dst_dir);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/model.safetensors", src);
    st_file_t *st = st_open(path, err, errlen);
    if (!st) return -1;
    char gname[64], bname[64];
    if (cfg->final_ln) {
        snprintf(gname, sizeof(gname), "ln_f.weight");
        snprintf(bname, sizeof(bname), "ln_f.bias");
    } else {
        snprintf(gname, sizeof(gname), "h.%d.ln_2.weight", cfg->n_layer - 1);
        snprintf(bname, sizeof(bname), "h.%d.ln_2.bias", cfg->n_layer - 1);
    }
    const st_tensor_t *tg = gpt_find_tensor(st, gname), *tb = gpt_find_tensor(st, bname);
    void *g = NULL, *b = NULL;
    st_writer_t *w = NULL;
    int rc = -1;
    for (int k = 0; k < 2; k++) {
        const st_tensor_t *t = k ? tb : tg;
        const char *nm = k ? bname : gname;
        if (!t || t->n_dims != 1 || t->shape[0] != cfg->n_embd) {
            snprintf(err, errlen, "%s: no tensor %s of shape [%d] (the final LayerNorm)", path,
                     nm, cfg->n_embd);
            goto done;
        }
        if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
            snprintf(err, errlen, "%s: tensor %s is %s; calibrate handles F32, F16 and BF16",
                     path, nm, st_dtype_name(t->dtype));
            goto done;
        }
    }
    g = calib_scaled_copy(tg, scale, cfg->n_embd);
    b = calib_scaled_copy(tb, scale, cfg->n_embd);
    w = st_writer_init();
    if (!g || !b || !w) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < st->n_tensors; i++) {
        const st_tensor_t *t = &st->tensors[i];
        const void *data = t == tg ? g : t == tb ? b : t->data;
        if (st_writer_add(w, t->name, t->dtype, t->n_dims, t->shape, data) != 0) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
    }
    snprintf(path, sizeof(path), "%s/model.safetensors", dst);
    if (st_writer_write(w, path, err, errlen) != 0) goto done;
    for (size_t i = 0; i < sizeof(calib_files) / sizeof(calib_files[0]); i++) {
        char from[PATH_MAX + 64];
        snprintf(from, sizeof(from), "%s/%s", src, calib_files[i]);
        snprintf(path, sizeof(path), "%s/%s", dst, calib_files[i]);
        if (i > 0 && access(from, F_OK) != 0) continue;
        if (fileio_copy_atomic(from, path, err, errlen) != 0) goto done;
    }
    rc = 0;
done:
    st_writer_free(w);
    free(g);
    free(b);
    st_close(st);
    return rc;
}
