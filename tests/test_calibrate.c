/* test_calibrate.c - temperature calibration (core/decode/calibrate.h) and the
 * sliding-window scorer it shares with eval (core/decode/score.h):
 *   - the fit finds the scale that generated the data, and its losses are
 *     the directly computed ones;
 *   - a model written with the scale built in gives exactly scaled logits,
 *     for both families (GPT-2's ln_f, GPT-1's last ln_2) and F32/F16;
 *   - score_windows predicts every position once, in order. TAP output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calibrate.h"
#include "rng.h"
#include "score.h"
#include "tap.h"
#include "train.h"

enum { SV = 64, SN = 4000 };

/* mean over rows of logsumexp(s z) - s z[target], in double */
static double direct_loss(const float *z, const int *tg, int n, int V, double s) {
    double tot = 0;
    for (int i = 0; i < n; i++) {
        const float *r = z + (size_t)i * V;
        double mx = r[0], sum = 0;
        for (int k = 1; k < V; k++) mx = fmax(mx, r[k]);
        for (int k = 0; k < V; k++) sum += exp(s * (r[k] - mx));
        tot += s * mx + log(sum) - s * r[tg[i]];
    }
    return tot / n;
}

/* Targets drawn from softmax(s_true z): the fit should find s_true. */
static void test_fit(tap_t *t) {
    float *z = malloc(sizeof(float) * SN * SV);
    int *tg = malloc(sizeof(int) * SN);
    rng_t r;
    rng_seed(&r, 5);
    const double s_true = 0.8;
    for (int i = 0; i < SN; i++) {
        float *row = z + (size_t)i * SV;
        double p[SV], sum = 0;
        for (int k = 0; k < SV; k++) {
            row[k] = 3.0f * rng_normal(&r);
            p[k] = exp(s_true * row[k]);
            sum += p[k];
        }
        double u = rng_uniform(&r) * sum, c = 0;
        tg[i] = SV - 1;
        for (int k = 0; k < SV; k++)
            if ((c += p[k]) >= u) {
                tg[i] = k;
                break;
            }
    }
    calib_t c;
    char err[256];
    tap_ok(t, calib_init(&c, SV) == 0, "calib_init");
    calib_fit_t f;
    tap_ok(t, calib_fit(&c, &f, err, sizeof err) == -1 && strstr(err, "no predictions"),
           "fit with nothing added refused: %s", err);
    for (int i = 0; i < SN; i++) calib_add(&c, z + (size_t)i * SV, tg[i]);
    tap_ok(t, calib_fit(&c, &f, err, sizeof err) == 0 && !f.at_edge, "fit");
    tap_near(t, f.scale, s_true, 0.05, "scale found is the generating one");
    tap_near(t, f.nats_before, direct_loss(z, tg, SN, SV, 1.0), 1e-6, "loss before = direct at s = 1");
    double at = direct_loss(z, tg, SN, SV, f.scale);
    tap_near(t, f.nats_after, at, 2e-5, "estimated loss after = direct at the fitted scale");
    /* the fitted scale is the minimum: both sides are worse */
    tap_ok(t, at <= direct_loss(z, tg, SN, SV, f.scale - 0.01) &&
                  at <= direct_loss(z, tg, SN, SV, f.scale + 0.01),
           "the fitted scale is a minimum of the direct loss");
    calib_free(&c);

    /* always the arg max: sharper is always better, the top of the grid */
    tap_ok(t, calib_init(&c, SV) == 0, "calib_init again");
    for (int i = 0; i < SN; i++) {
        const float *row = z + (size_t)i * SV;
        int am = 0;
        for (int k = 1; k < SV; k++) am = row[k] > row[am] ? k : am;
        calib_add(&c, row, am);
    }
    int frc = calib_fit(&c, &f, err, sizeof err);
    tap_ok(t, frc == 0 && f.at_edge && fabs(f.scale - 1.5) < 1e-12,
           "always-right predictions: at_edge, scale 1.5 (got %d, %g)", f.at_edge, f.scale);
    calib_free(&c);
    calib_free(NULL);
    free(z);
    free(tg);
}

static gpt_config_t tiny_config(int gpt1) {
    gpt_config_t c;
    memset(&c, 0, sizeof(c));
    snprintf(c.model_type, sizeof(c.model_type), "%s", gpt1 ? "openai-gpt" : "gpt2");
    c.n_layer = 2;
    c.n_head = 2;
    c.n_embd = 16;
    c.n_ctx = 8;
    c.n_vocab = 40;
    c.n_inner = 64;
    c.ln_eps = 1e-5f;
    c.pre_norm = !gpt1;
    c.final_ln = !gpt1;
    c.eos_id = -1;
    return c;
}

typedef struct positions {
    int n, in_order, bad_target;
    const int *ids;
} positions_t;

static int record_pos(void *ctx, const float *logits, int n_vocab, int pos, int target,
                      char *err, size_t errlen) {
    positions_t *p = ctx;
    (void)logits, (void)n_vocab, (void)err, (void)errlen;
    if (pos != p->n) p->in_order = 0;
    if (target != p->ids[pos + 1]) p->bad_target = 1;
    p->n++;
    return 0;
}

static int stop_at_5(void *ctx, const float *logits, int n_vocab, int pos, int target, char *err,
                     size_t errlen) {
    (void)ctx, (void)logits, (void)n_vocab, (void)target;
    if (pos == 5) {
        snprintf(err, errlen, "stopped at 5");
        return 1;
    }
    return 0;
}

/* A saved random model, calibrated copy written, both loaded: logits of the
 * copy = scale x logits of the original. */
static void test_write(tap_t *t, int gpt1, kernel_dtype_t dtype) {
    const char *fam = gpt1 ? "gpt1" : "gpt2", *dt = dtype == KERNEL_F32 ? "f32" : "f16";
    char err[512], src[256], dst[300];
    snprintf(src, sizeof src, "/tmp/gptscope-test-calib-%d-%s-%s", (int)getpid(), fam, dt);
    snprintf(dst, sizeof dst, "%s-cal", src);
    gpt_config_t cfg = tiny_config(gpt1);
    train_model_t *m = train_model_init(&cfg, err, sizeof err);
    if (!tap_ok(t, m != NULL, "%s: model", fam)) return;
    rng_t r;
    rng_seed(&r, 9);
    for (int i = 0; i < m->n_tensors; i++) {
        train_tensor_t *tt = &m->tensors[i];
        int gain = strstr(tt->name, "ln_") && strstr(tt->name, ".weight");
        for (size_t k = 0; k < tt->numel; k++)
            tt->data[k] = (gain ? 1.0f : 0.0f) + 0.3f * rng_normal(&r);
    }
    int rc = train_model_save(m, src, dtype, err, sizeof err);
    train_model_free(m);
    if (!tap_ok(t, rc == 0, "%s %s: saved (%s)", fam, dt, rc ? err : src)) return;
    const double s = 0.8125;
    rc = calib_write_model(src, dst, &cfg, s, err, sizeof err);
    tap_ok(t, rc == 0, "%s %s: calibrated copy written (%s)", fam, dt, rc ? err : dst);
    gpt_model_t *a = gpt_load(src, err, sizeof err), *b = a ? gpt_load(dst, err, sizeof err) : NULL;
    if (!tap_ok(t, a && b, "%s %s: both load (%s)", fam, dt, a && b ? "ok" : err)) {
        gpt_free(a);
        return;
    }
    int ids[8] = {1, 5, 22, 0, 7, 7, 3, 19};
    float la[8 * 40], lb[8 * 40];
    gpt_state_t *sa = gpt_state_init(a, 8, 1, err, sizeof err);
    gpt_state_t *sb = gpt_state_init(b, 8, 1, err, sizeof err);
    gpt_forward(sa, ids, 8, la, 1, NULL, err, sizeof err);
    gpt_forward(sb, ids, 8, lb, 1, NULL, err, sizeof err);
    double worst = 0, big = 0;
    for (int i = 0; i < 8 * 40; i++) {
        worst = fmax(worst, fabs(lb[i] - s * la[i]));
        big = fmax(big, fabs(la[i]));
    }
    /* s = 0.8125 is exact in f16, but gain x s and bias x s are rounded again */
    double tol = (dtype == KERNEL_F32 ? 1e-5 : 2e-3) * big;
    tap_ok(t, worst <= tol, "%s %s: logits of the copy = %.4f x the original (max diff %.3g, tol %.3g)",
           fam, dt, s, worst, tol);
    /* the scorer walks windows of n_ctx = 8 (stride 4) over 30 tokens */
    int seq[30];
    for (int i = 0; i < 30; i++) seq[i] = (i * 7 + 3) % 40;
    positions_t p = {0, 1, 0, seq};
    rc = score_windows(a, seq, 30, 2, record_pos, &p, err, sizeof err);
    tap_ok(t, rc == 0 && p.n == 29 && p.in_order && !p.bad_target,
           "%s %s: score_windows predicts positions 0..28 once, in order (%d)", fam, dt, p.n);
    rc = score_windows(a, seq, 30, 1, stop_at_5, NULL, err, sizeof err);
    tap_ok(t, rc == -1 && strcmp(err, "stopped at 5") == 0, "%s %s: a callback stops it", fam, dt);
    tap_ok(t, score_windows(a, seq, 1, 1, record_pos, &p, err, sizeof err) == -1,
           "%s %s: one token is refused: %s", fam, dt, err);
    /* not into the source itself, and a clear error for a missing model */
    rc = calib_write_model(src, src, &cfg, s, err, sizeof err);
    tap_ok(t, rc == -1 && strstr(err, "own directory"), "%s %s: same directory refused: %s", fam,
           dt, err);
    gpt_state_free(sa);
    gpt_state_free(sb);
    gpt_free(a);
    gpt_free(b);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", src, dst);
    if (system(cmd) != 0) tap_diag("could not remove %s", src);
}

static void test_write_errors(tap_t *t) {
    char err[512];
    gpt_config_t cfg = tiny_config(0);
    int rc = calib_write_model("/nonexistent-gptscope-model", "/tmp/gptscope-calib-never", &cfg,
                               0.9, err, sizeof err);
    tap_ok(t, rc == -1 && strstr(err, "/nonexistent-gptscope-model"),
           "a missing model directory is named: %s", err);
    rmdir("/tmp/gptscope-calib-never");
    rc = calib_write_model("/tmp", "/tmp/x", &cfg, -1.0, err, sizeof err);
    tap_ok(t, rc == -1 && strstr(err, "not a positive number"), "a bad scale refused: %s", err);
}

int main(void) {
    tap_t t = {0};
    test_fit(&t);
    test_write(&t, 0, KERNEL_F32);
    test_write(&t, 0, KERNEL_F16);
    test_write(&t, 1, KERNEL_F32);
    test_write(&t, 1, KERNEL_F16);
    test_write_errors(&t);
    return tap_done(&t);
}
