/* test_sampler.c - the decoding pipeline against hand-computed cases, a plain
 * full-sort reference implementation, and the statistics of many draws.
 * Also times one sampler_sample over GPT-2's vocabulary (printed, not
 * asserted beyond a generous bound). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rng.h"
#include "sampler.h"
#include "tap.h"

static sampler_t *make(const sampler_params_t *p, int V) {
    char err[256];
    sampler_t *s = sampler_init(p, V, err, sizeof err);
    if (!s) tap_diag("sampler_init: %s", err);
    return s;
}

static double lse_double(const float *l, int n) {
    double m = -INFINITY, sum = 0.0;
    for (int i = 0; i < n; i++)
        if (l[i] > m) m = l[i];
    for (int i = 0; i < n; i++) sum += exp((double)l[i] - m);
    return m + log(sum);
}

static const sampler_candidate_t *find_cand(const sampler_report_t *r, int id) {
    for (int i = 0; i < r->n_cand; i++)
        if (r->cand[i].id == id) return &r->cand[i];
    return NULL;
}

/* ---- reference: the pipeline written the obvious way (full sort) ---------- */

typedef struct ref_entry {
    double s;
    int id;
} ref_entry_t;

static int ref_cmp(const void *pa, const void *pb) {
    const ref_entry_t *a = pa, *b = pb;
    if (a->s != b->s) return a->s > b->s ? -1 : 1;
    return a->id - b->id;
}

/* Final probabilities (0 = filtered) into prob[V]; returns the kept count. */
static int ref_pipeline(const sampler_params_t *p, const float *logits, int V, const int *hist,
                        int n_hist, double *prob) {
    double *l = malloc((size_t)V * sizeof *l);
    int *cnt = calloc((size_t)V, sizeof *cnt);
    ref_entry_t *e = malloc((size_t)V * sizeof *e);
    for (int i = 0; i < n_hist; i++) cnt[hist[i]]++;
    for (int i = 0; i < V; i++) {
        float x = logits[i]; /* float arithmetic, step for step as the sampler */
        if (cnt[i] > 0) {
            x = x > 0 ? x / p->repetition_penalty : x * p->repetition_penalty;
            x -= p->presence_penalty + p->frequency_penalty * (float)cnt[i];
        }
        l[i] = x;
    }
    double m = -INFINITY;
    for (int i = 0; i < V; i++)
        if (l[i] > m) m = l[i];
    for (int i = 0; i < V; i++) e[i] = (ref_entry_t){((float)((float)l[i] - (float)m)) / p->temperature, i};
    qsort(e, (size_t)V, sizeof *e, ref_cmp);
    int n = V;
    if (p->top_k > 0 && p->top_k < n) n = p->top_k;
    double z = 0.0;
    for (int i = 0; i < n; i++) z += exp(e[i].s);
    if (p->top_p < 1.0f) {
        double mass = 0.0;
        for (int i = 0; i < n; i++) {
            mass += exp(e[i].s);
            if (mass >= p->top_p * z) {
                n = i + 1;
                break;
            }
        }
    }
    if (p->min_p > 0.0f)
        while (n > 1 && exp(e[n - 1].s) < p->min_p) n--;
    z = 0.0;
    for (int i = 0; i < n; i++) z += exp(e[i].s);
    for (int i = 0; i < V; i++) prob[i] = 0.0;
    for (int i = 0; i < n; i++) prob[e[i].id] = exp(e[i].s) / z;
    free(l);
    free(cnt);
    free(e);
    return n;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_params(tap_t *t) {
    char err[256];
    sampler_params_t d = sampler_params_default();
    tap_ok(t, sampler_params_check(&d, err, sizeof err) == 0, "default parameters are valid");
    tap_ok(t, d.temperature == 1.0f && d.top_k == 0 && d.top_p == 1.0f && d.min_p == 0.0f &&
                  d.repetition_penalty == 1.0f && d.n_report == 10,
           "defaults: T=1, no filters, no penalties, report 10");
    struct {
        sampler_params_t p;
        const char *name;
    } bad[10];
    for (int i = 0; i < 10; i++) bad[i].p = d;
    bad[0].p.temperature = -0.5f, bad[0].name = "temperature";
    bad[1].p.temperature = NAN, bad[1].name = "temperature";
    bad[2].p.top_p = 0.0f, bad[2].name = "top_p";
    bad[3].p.top_p = 1.5f, bad[3].name = "top_p";
    bad[4].p.min_p = -0.1f, bad[4].name = "min_p";
    bad[5].p.min_p = 1.1f, bad[5].name = "min_p";
    bad[6].p.repetition_penalty = 0.0f, bad[6].name = "repetition_penalty";
    bad[7].p.n_report = SAMPLER_MAX_REPORT + 1, bad[7].name = "n_report";
    bad[8].p.top_k = -1, bad[8].name = "top_k";
    bad[9].p.frequency_penalty = INFINITY, bad[9].name = "frequency_penalty";
    for (int i = 0; i < 10; i++) {
        err[0] = 0;
        int rc = sampler_params_check(&bad[i].p, err, sizeof err);
        tap_ok(t, rc == -1 && strstr(err, bad[i].name), "bad %s rejected: %s", bad[i].name, err);
    }
    tap_ok(t, sampler_init(&bad[0].p, 10, err, sizeof err) == NULL, "init refuses bad params");
    tap_ok(t, sampler_init(&d, 0, err, sizeof err) == NULL && strstr(err, "n_vocab"),
           "init refuses n_vocab 0: %s", err);
    sampler_t *s = make(&d, 10);
    tap_ok(t, sampler_set_params(s, &bad[2].p, err, sizeof err) == -1 &&
                  sampler_get_params(s)->top_p == 1.0f,
           "set_params refuses bad params and keeps the old ones");
    sampler_free(s);
    sampler_free(NULL);
}

static void test_logsumexp(tap_t *t) {
    float a[2] = {0.0f, logf(3.0f)};
    tap_near(t, sampler_logsumexp(a, 2), log(4.0), 1e-6, "logsumexp(0, ln 3) = ln 4");
    float b[3] = {1000.0f, 1000.0f, -INFINITY};
    tap_near(t, sampler_logsumexp(b, 3), 1000.0 + log(2.0), 1e-4, "logsumexp does not overflow");
    /* log(e^x + 1) over the whole useful range: checks the exp used inside */
    double worst = 0.0;
    for (int i = 0; i <= 20000; i++) {
        float d[2] = {-90.0f + 0.0045f * (float)i, 0.0f};
        double want = log1p(exp((double)d[0]));
        double got = sampler_logsumexp(d, 2);
        if (fabs(got - want) > worst) worst = fabs(got - want);
    }
    tap_ok(t, worst < 2e-7, "logsumexp(x, 0) = log(1 + e^x) for x in [-90, 0] (max error %.2g)",
           worst);
    float c[2] = {-INFINITY, -INFINITY};
    tap_ok(t, sampler_logsumexp(c, 2) == -INFINITY, "logsumexp of all -inf is -inf");
}

static void test_greedy(tap_t *t) {
    sampler_params_t p = sampler_params_default();
    p.temperature = 0.0f;
    p.n_report = 5;
    float l[6] = {0.5f, 3.0f, -1.0f, 3.0f, 2.9f, 1.0f};
    sampler_t *s = make(&p, 6);
    sampler_report_t r;
    int id = sampler_sample(s, l, NULL, 0, &r);
    tap_ok(t, id == 1, "greedy picks the argmax, ties to the lowest id (got %d)", id);
    tap_ok(t, r.chosen == 1 && r.chosen_prob == 1.0f && r.chosen_rank == 0 && r.n_kept == 1 &&
                  r.entropy_final == 0.0f,
           "greedy report: point mass on the choice");
    tap_ok(t, r.n_cand == 5 && r.cand[0].id == 1 && r.cand[0].kept && r.cand[1].id == 3 &&
                  !r.cand[1].kept && r.cand[1].prob == 0.0f && r.cand[2].id == 4,
           "greedy report lists the rest by raw probability, not kept");
    /* A repetition penalty moves the argmax: 3.0 / 2 = 1.5 for ids 1 and 3. */
    p.repetition_penalty = 2.0f;
    char err[256];
    sampler_set_params(s, &p, err, sizeof err);
    int hist[2] = {1, 3};
    id = sampler_sample(s, l, hist, 2, NULL);
    tap_ok(t, id == 4, "greedy uses the penalised logits (got %d, want 4)", id);
    sampler_free(s);

    /* T = 0 and a tiny T agree; top-k = 1 is greedy, also with penalties. */
    int V = 1000, agree_t = 1, agree_k = 1;
    float *x = malloc((size_t)V * sizeof *x);
    rng_t g;
    rng_seed(&g, 7);
    sampler_params_t pg = sampler_params_default(), pt = pg, pk = pg;
    pg.temperature = 0.0f;
    pt.temperature = 1e-6f;
    pk.top_k = 1;
    pg.frequency_penalty = pt.frequency_penalty = pk.frequency_penalty = 0.3f;
    sampler_t *sg = make(&pg, V), *st = make(&pt, V), *sk = make(&pk, V);
    int h[8];
    for (int trial = 0; trial < 200; trial++) {
        for (int i = 0; i < V; i++) x[i] = 100.0f * rng_normal(&g); /* large: T = 1e-6 overflows if unshifted */
        for (int i = 0; i < 8; i++) h[i] = (int)(rng_next(&g) % (uint64_t)V);
        int a = sampler_sample(sg, x, h, 8, NULL);
        agree_t &= sampler_sample(st, x, h, 8, NULL) == a;
        agree_k &= sampler_sample(sk, x, h, 8, NULL) == a;
    }
    tap_ok(t, agree_t, "temperature 1e-6 picks the argmax like temperature 0 (200 trials)");
    tap_ok(t, agree_k, "top-k 1 picks the argmax like greedy (200 trials)");
    sampler_free(sg);
    sampler_free(st);
    sampler_free(sk);
    free(x);
}

/* Draws with a report and returns it; the draw itself is irrelevant here. */
static void report_of(const sampler_params_t *p, const float *l, int V, const int *h, int nh,
                      sampler_report_t *r) {
    sampler_t *s = make(p, V);
    sampler_sample(s, l, h, (size_t)nh, r);
    sampler_free(s);
}

static void test_filters(tap_t *t) {
    /* probabilities 0.1, 0.4, 0.2, 0.3 on ids 0..3 */
    float l[4] = {logf(0.1f), logf(0.4f), logf(0.2f), logf(0.3f)};
    sampler_params_t p = sampler_params_default();
    p.n_report = 4;
    sampler_report_t r;

    p.top_p = 0.65f; /* 0.4 < 0.65 <= 0.4 + 0.3 */
    report_of(&p, l, 4, NULL, 0, &r);
    tap_ok(t, r.n_kept == 2 && r.cand[0].id == 1 && r.cand[1].id == 3 && r.cand[0].kept &&
                  r.cand[1].kept && !r.cand[2].kept && !r.cand[3].kept,
           "top-p 0.65 keeps exactly {0.4, 0.3}");
    tap_near(t, r.cand[0].prob, 0.4 / 0.7, 1e-6, "top-p renormalises: 0.4 / 0.7");
    tap_ok(t, r.cand[2].id == 2 && r.cand[3].id == 0 && r.cand[2].prob == 0.0f,
           "filtered tokens follow by raw probability with prob 0");
    p.top_p = 0.35f;
    report_of(&p, l, 4, NULL, 0, &r);
    tap_ok(t, r.n_kept == 1 && r.chosen == 1, "top-p 0.35 keeps only the top token");
    p.top_p = 0.75f;
    report_of(&p, l, 4, NULL, 0, &r);
    tap_ok(t, r.n_kept == 3, "top-p 0.75 keeps three tokens (mass 0.9)");

    p.top_p = 1.0f;
    p.top_k = 2;
    report_of(&p, l, 4, NULL, 0, &r);
    tap_ok(t, r.n_kept == 2 && find_cand(&r, 1)->kept && find_cand(&r, 3)->kept,
           "top-k 2 keeps the two largest");
    p.top_p = 0.5f; /* relative to top-k's renormalised {4/7, 3/7}: 4/7 >= 0.5 */
    report_of(&p, l, 4, NULL, 0, &r);
    tap_ok(t, r.n_kept == 1, "top-p applies to the distribution top-k left");

    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.45f; /* threshold 0.18: keeps 0.4, 0.3, 0.2 */
    report_of(&p, l, 4, NULL, 0, &r);
    tap_ok(t, r.n_kept == 3 && !find_cand(&r, 0)->kept, "min-p 0.45 drops only p=0.1");
    tap_near(t, find_cand(&r, 2)->prob, 0.2 / 0.9, 1e-6, "min-p renormalises: 0.2 / 0.9");
    p.min_p = 0.8f; /* threshold 0.32 */
    report_of(&p, l, 4, NULL, 0, &r);
    tap_ok(t, r.n_kept == 1 && r.chosen == 1, "min-p 0.8 keeps only the top token");

    /* Temperature 0.5 squares and renormalises the probabilities. */
    p = sampler_params_default();
    p.n_report = 4;
    p.temperature = 0.5f;
    report_of(&p, l, 4, NULL, 0, &r);
    tap_near(t, find_cand(&r, 1)->prob, 0.16 / 0.30, 1e-6, "T=0.5: p^2 / sum p^2");
    tap_near(t, find_cand(&r, 1)->raw_prob, 0.4, 1e-6, "raw probability ignores temperature");
    double h = 0.0, q[4] = {0.01 / 0.3, 0.16 / 0.3, 0.04 / 0.3, 0.09 / 0.3};
    for (int i = 0; i < 4; i++) h -= q[i] * log(q[i]);
    tap_near(t, r.entropy_final, h, 1e-5, "final entropy in nats");
    tap_near(t, r.entropy_raw, -(0.1 * log(0.1) + 0.4 * log(0.4) + 0.2 * log(0.2) + 0.3 * log(0.3)),
             1e-5, "raw entropy in nats");
}

static void test_penalties(tap_t *t) {
    float l[4] = {2.0f, -2.0f, 1.0f, 0.5f};
    int hist[4] = {0, 1, 1, 9999}; /* 9999 is outside the vocabulary: ignored */
    sampler_params_t p = sampler_params_default();
    p.n_report = 4;
    p.repetition_penalty = 2.0f;
    sampler_report_t r;
    report_of(&p, l, 4, hist, 4, &r);
    /* penalised: 2 / 2 = 1, -2 * 2 = -4, 1, 0.5 */
    double w[4] = {exp(1.0), exp(-4.0), exp(1.0), exp(0.5)}, z = w[0] + w[1] + w[2] + w[3];
    int ok = 1;
    for (int i = 0; i < 4; i++) ok &= fabs(find_cand(&r, i)->prob - w[i] / z) < 1e-6;
    tap_ok(t, ok, "repetition penalty divides positive and multiplies negative logits");
    tap_ok(t, r.cand[0].id == 0 && r.cand[1].id == 2,
           "equal final probabilities are ordered by raw probability");
    tap_near(t, find_cand(&r, 0)->raw_prob, exp(2.0) / (exp(2.0) + exp(-2.0) + exp(1.0) + exp(0.5)),
             1e-6, "raw probability comes from the unmodified logits");

    p.repetition_penalty = 1.0f;
    p.presence_penalty = 0.5f;
    p.frequency_penalty = 0.25f;
    report_of(&p, l, 4, hist, 4, &r);
    /* id 0 seen once: 2 - 0.5 - 0.25; id 1 seen twice: -2 - 0.5 - 0.5 */
    double v[4] = {exp(1.25), exp(-3.0), exp(1.0), exp(0.5)}, zv = v[0] + v[1] + v[2] + v[3];
    ok = 1;
    for (int i = 0; i < 4; i++) ok &= fabs(find_cand(&r, i)->prob - v[i] / zv) < 1e-6;
    tap_ok(t, ok, "presence and frequency penalties subtract p*[n>0] + f*n");

    /* The count buffer is cleared between calls: a second call with no
     * history sees the plain logits. */
    sampler_t *s = make(&p, 4);
    sampler_sample(s, l, hist, 4, NULL);
    sampler_sample(s, l, NULL, 0, &r);
    double u[4] = {exp(2.0), exp(-2.0), exp(1.0), exp(0.5)}, zu = u[0] + u[1] + u[2] + u[3];
    tap_near(t, find_cand(&r, 1)->prob, u[1] / zu, 1e-7, "penalty counts do not leak into the next call");
    sampler_free(s);
}

/* Random parameters and logits, every final probability against the
 * reference. V = 1500 with flat logits makes top-p need several chunks. */
static void test_against_reference(tap_t *t) {
    rng_t g;
    rng_seed(&g, 99);
    int worst_kept = 0, n_bad = 0, n_trials = 300;
    for (int trial = 0; trial < n_trials; trial++) {
        int V = trial % 3 == 0 ? 1500 : 24;
        float *l = malloc((size_t)V * sizeof *l);
        double *prob = malloc((size_t)V * sizeof *prob);
        float spread = trial % 2 ? 0.3f : 3.0f;
        for (int i = 0; i < V; i++) l[i] = spread * rng_normal(&g);
        if (trial % 5 == 0) l[3] = l[7]; /* a tie */
        sampler_params_t p = sampler_params_default();
        p.n_report = V < SAMPLER_MAX_REPORT ? V : SAMPLER_MAX_REPORT;
        p.temperature = 0.3f + 1.5f * rng_uniform(&g);
        p.top_k = trial % 4 == 0 ? 0 : 1 + (int)(rng_next(&g) % (uint64_t)V);
        p.top_p = trial % 3 == 1 ? 1.0f : 0.05f + 0.95f * rng_uniform(&g);
        p.min_p = trial % 4 == 2 ? 0.2f * rng_uniform(&g) : 0.0f;
        p.repetition_penalty = 1.0f + rng_uniform(&g);
        p.presence_penalty = 0.3f * rng_uniform(&g);
        p.frequency_penalty = 0.3f * rng_uniform(&g);
        int hist[20];
        for (int i = 0; i < 20; i++) hist[i] = (int)(rng_next(&g) % 12);
        int n_ref = ref_pipeline(&p, l, V, hist, 20, prob);
        sampler_report_t r;
        report_of(&p, l, V, hist, 20, &r);
        int bad = r.n_kept != n_ref || prob[r.chosen] == 0.0 ||
                  fabs(r.chosen_prob - prob[r.chosen]) > 1e-5;
        for (int i = 0; i < r.n_cand; i++) {
            const sampler_candidate_t *c = &r.cand[i];
            bad |= fabs(c->prob - prob[c->id]) > 1e-5 || c->kept != (prob[c->id] > 0.0);
            if (i > 0) bad |= c->prob > r.cand[i - 1].prob; /* sorted by final probability */
        }
        if (bad && n_bad++ < 3)
            tap_diag("trial %d: V=%d kept %d want %d (k=%d p=%g minp=%g T=%g)", trial, V, r.n_kept,
                     n_ref, p.top_k, (double)p.top_p, (double)p.min_p, (double)p.temperature);
        if (n_ref > worst_kept) worst_kept = n_ref;
        free(l);
        free(prob);
    }
    tap_ok(t, n_bad == 0, "%d random pipelines match the full-sort reference (largest kept set %d)",
           n_trials, worst_kept);
}

/* 200k draws at T = 1: counts against softmax by chi-square (5 degrees of
 * freedom; 20.5 is the 0.1% critical value), and again through top-k + T. */
static void test_frequencies(tap_t *t) {
    float l[6] = {1.0f, 0.0f, 2.0f, -1.0f, 0.5f, 1.5f};
    double z = 0.0;
    for (int i = 0; i < 6; i++) z += exp(l[i]);
    for (int pass = 0; pass < 2; pass++) {
        sampler_params_t p = sampler_params_default();
        p.seed = 12345 + (uint64_t)pass;
        double want[6];
        if (pass == 1) {
            /* top-k 4 at T = 0.7: ids 2, 5, 0, 4 survive */
            p.top_k = 4;
            p.temperature = 0.7f;
            double zk = 0.0;
            for (int i = 0; i < 6; i++) want[i] = (i == 1 || i == 3) ? 0.0 : exp(l[i] / 0.7);
            for (int i = 0; i < 6; i++) zk += want[i];
            for (int i = 0; i < 6; i++) want[i] /= zk;
        } else {
            for (int i = 0; i < 6; i++) want[i] = exp(l[i]) / z;
        }
        sampler_t *s = make(&p, 6);
        long cnt[6] = {0};
        const int N = 200000;
        for (int i = 0; i < N; i++) cnt[sampler_sample(s, l, NULL, 0, NULL)]++;
        double chi2 = 0.0;
        int df = -1, impossible = 0;
        for (int i = 0; i < 6; i++) {
            if (want[i] == 0.0) {
                impossible += cnt[i] != 0;
                continue;
            }
            double e = want[i] * N;
            chi2 += (cnt[i] - e) * (cnt[i] - e) / e;
            df++;
        }
        tap_ok(t, chi2 < (df == 5 ? 20.5 : 16.3) && !impossible,
               "%s: 200k draws match the distribution (chi2 %.2f, %d df)",
               pass ? "top-k 4, T 0.7" : "T 1", chi2, df);
        sampler_free(s);
    }
}

static void test_seeds(tap_t *t) {
    const int V = 1000, N = 500;
    float *l = malloc((size_t)V * sizeof *l);
    int *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    rng_t g;
    rng_seed(&g, 3);
    for (int i = 0; i < V; i++) l[i] = rng_normal(&g);
    sampler_params_t p = sampler_params_default();
    p.seed = 42;
    p.top_p = 0.9f;
    p.repetition_penalty = 1.3f;
    char err[256];
    sampler_t *s = make(&p, V);
    for (int i = 0; i < N; i++) a[i] = sampler_sample(s, l, a, (size_t)i, NULL);
    sampler_set_params(s, &p, err, sizeof err); /* reseeds */
    int same = 1;
    for (int i = 0; i < N; i++) {
        b[i] = sampler_sample(s, l, b, (size_t)i, NULL);
        same &= a[i] == b[i];
    }
    tap_ok(t, same, "set_params reseeds: the same seed reproduces %d tokens", N);
    sampler_t *s2 = make(&p, V);
    same = 1;
    for (int i = 0; i < N; i++) same &= sampler_sample(s2, l, a, (size_t)i, NULL) == a[i];
    tap_ok(t, same, "a second sampler with the same seed gives the same tokens");
    p.seed = 43;
    sampler_set_params(s2, &p, err, sizeof err);
    int differ = 0;
    for (int i = 0; i < N; i++) differ += sampler_sample(s2, l, a, (size_t)i, NULL) != a[i];
    tap_ok(t, differ > N / 2, "a different seed gives a different sequence (%d/%d differ)", differ, N);
    /* The generator itself: fixed first outputs for seed 0 pin the algorithm. */
    rng_t r;
    rng_seed(&r, 0);
    uint64_t x0 = rng_next(&r);
    rng_seed(&r, 0);
    tap_ok(t, rng_next(&r) == x0 && x0 != 0, "rng_seed restarts the stream");
    double mean = 0.0, var = 0.0;
    for (int i = 0; i < 100000; i++) {
        double u = rng_normal(&r);
        mean += u;
        var += u * u;
    }
    mean /= 100000;
    var = var / 100000 - mean * mean;
    tap_ok(t, fabs(mean) < 0.02 && fabs(var - 1.0) < 0.03, "rng_normal: mean %.4f, variance %.4f",
           mean, var);
    sampler_free(s);
    sampler_free(s2);
    free(l);
    free(a);
    free(b);
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* GPT-2's vocabulary: exact raw log-probs, a consistent report, and timing. */
static void test_gpt2_vocab(tap_t *t) {
    const int V = 50257, N = 200;
    float *l = malloc((size_t)V * sizeof *l);
    rng_t g;
    rng_seed(&g, 5);
    for (int i = 0; i < V; i++) l[i] = 2.5f * rng_normal(&g) - 5.0f;
    double lse = lse_double(l, V);
    sampler_params_t p = sampler_params_default();
    p.top_p = 0.9f;
    p.top_k = 0;
    p.n_report = SAMPLER_MAX_REPORT;
    sampler_t *s = make(&p, V);
    sampler_report_t r;
    int id = sampler_sample(s, l, NULL, 0, &r);
    double worst = fabs(r.chosen_raw_logprob - (l[id] - lse));
    int sorted = 1;
    for (int i = 0; i < r.n_cand; i++) {
        double d = fabs(r.cand[i].raw_logprob - (l[r.cand[i].id] - lse));
        if (d > worst) worst = d;
        if (i > 0) sorted &= r.cand[i].prob <= r.cand[i - 1].prob;
    }
    tap_ok(t, worst <= 1e-6, "raw_logprob = logit - logsumexp (max error %.2g)", worst);
    tap_ok(t, id >= 0 && id < V && r.n_cand == SAMPLER_MAX_REPORT && sorted && r.n_kept > 1000,
           "V=50257 top-p 0.9: %d kept, candidates sorted", r.n_kept);
    tap_ok(t, r.chosen_rank < r.n_cand ? r.cand[r.chosen_rank].id == id : r.chosen_rank < r.n_kept,
           "chosen_rank %d points at the chosen id", r.chosen_rank);

    double t0 = now_us();
    for (int i = 0; i < N; i++) sampler_sample(s, l, NULL, 0, &r);
    double with_report = (now_us() - t0) / N;
    t0 = now_us();
    for (int i = 0; i < N; i++) sampler_sample(s, l, NULL, 0, NULL);
    double no_report = (now_us() - t0) / N;
    /* A peaked distribution, as a trained model gives: top-p stops early. */
    for (int i = 0; i < V; i++) l[i] = 4.0f * rng_normal(&g);
    t0 = now_us();
    for (int i = 0; i < N; i++) sampler_sample(s, l, NULL, 0, &r);
    double peaked = (now_us() - t0) / N;
    tap_diag("sampler_sample, V=50257, top-p 0.9: %.1f us (report 32), %.1f us (no report), "
             "%.1f us (peaked logits, report)", with_report, no_report, peaked);
    tap_ok(t, with_report < 20000.0, "one sampler_sample takes %.0f us", with_report);
    sampler_free(s);
    free(l);
}

/* sampler_describe: a token chosen elsewhere (beam search), described by the
 * raw distribution; the draw sequence is not disturbed. */
static void test_describe(tap_t *t) {
    sampler_params_t p = sampler_params_default();
    p.top_k = 2; /* the filters are not applied to a description */
    p.temperature = 0.5f;
    p.n_report = 4;
    p.seed = 11;
    float l[6] = {0.5f, 3.0f, -1.0f, 3.0f, 2.9f, NAN};
    sampler_t *a = make(&p, 6), *b = make(&p, 6);
    sampler_report_t r;
    sampler_describe(a, l, 4, &r);
    double z = 0, h = 0;
    for (int i = 0; i < 5; i++) z += exp(l[i]);
    for (int i = 0; i < 5; i++) h -= exp(l[i]) / z * (l[i] - log(z));
    int ok = r.chosen == 4 && r.chosen_rank == 2 && r.n_kept == 6 && r.n_cand == 4 &&
             r.cand[0].id == 1 && r.cand[1].id == 3 && r.cand[2].id == 4 && r.cand[3].id == 0;
    for (int k = 0; ok && k < r.n_cand; k++)
        ok = fabs(r.cand[k].raw_prob - exp(l[r.cand[k].id]) / z) < 1e-6 &&
             r.cand[k].prob == r.cand[k].raw_prob && r.cand[k].kept;
    tap_ok(t, ok, "describe: raw softmax at temperature 1, nothing cut, chosen's rank 3 (got %d)",
           r.chosen_rank + 1);
    tap_ok(t, fabs(r.entropy_raw - h) < 1e-5 && fabs(r.entropy_final - r.entropy_raw) < 1e-6 &&
                  fabs(r.chosen_raw_logprob - (l[4] - log(z))) < 1e-6,
           "describe: one entropy (%.5f, want %.5f), the chosen log-prob", (double)r.entropy_raw, h);
    int same = 1;
    for (int i = 0; i < 20; i++) same &= sampler_sample(a, l, NULL, 0, NULL) == sampler_sample(b, l, NULL, 0, NULL);
    tap_ok(t, same, "describe leaves the seeded draws as they were");
    float dead[3] = {-INFINITY, -INFINITY, NAN};
    sampler_t *c = make(&p, 3);
    sampler_describe(c, dead, 2, &r);
    tap_ok(t, r.chosen == 2 && r.chosen_prob == 1.0f && r.entropy_raw == r.entropy_raw,
           "describe over nothing finite: a point mass on the chosen id, no NaN");
    sampler_free(a);
    sampler_free(b);
    sampler_free(c);
}

/* ---- hooks (the app's plugins) ------------------------------------------------ */

typedef struct hook_ctx {
    int ban;        /* id process sets to -inf */
    int fail;       /* 1: process fails */
    int resets, chooses;
    int pick;       /* what choose returns */
    double u;       /* the uniform it drew */
} hook_ctx_t;

static int hook_process(void *user, float *logits, int n, const int *h, size_t nh, char *err,
                        size_t errlen) {
    hook_ctx_t *c = user;
    (void)h;
    (void)nh;
    if (c->fail) {
        snprintf(err, errlen, "process refused");
        return -1;
    }
    if (c->ban >= 0 && c->ban < n) logits[c->ban] = -INFINITY;
    return 0;
}

/* choose: draws from {pick, pick + 1} with probabilities 0.75 / 0.25 and
 * says so in probs. */
static int hook_choose(void *user, const float *logits, int n, const int *h, size_t nh,
                       double (*uniform)(void *), void *rng, float *probs, char *err, size_t el) {
    hook_ctx_t *c = user;
    (void)logits;
    (void)h;
    (void)nh;
    (void)err;
    (void)el;
    c->chooses++;
    c->u = uniform(rng);
    if (c->pick < n) probs[c->pick] = 0.75f;
    if (c->pick + 1 < n) probs[c->pick + 1] = 0.25f;
    return c->u < 0.75 ? c->pick : c->pick + 1;
}

static void hook_reset(void *user) { ((hook_ctx_t *)user)->resets++; }

static void test_hooks(tap_t *t) {
    enum { V = 8 };
    float l[V] = {3.0f, 2.5f, 0.1f, -1.0f, 0.4f, 2.9f, -3.0f, 1.0f};
    sampler_params_t p = sampler_params_default();
    p.temperature = 0.0f;
    p.n_report = V;
    sampler_t *s = make(&p, V);
    hook_ctx_t c = {.ban = 0, .pick = 2};
    sampler_hooks_t h = {&c, hook_process, NULL, hook_reset};
    tap_ok(t, s && sampler_set_hooks(s, &h) == 0, "hooks set");
    sampler_report_t r;
    int id = sampler_sample(s, l, NULL, 0, &r);
    const sampler_candidate_t *b = find_cand(&r, 0);
    tap_ok(t, id == 5 && b && b->kept == 0 && b->prob == 0.0f &&
                  fabsf(b->raw_prob - (float)exp(3.0 - lse_double(l, V))) < 1e-6f,
           "greedy with id 0 banned picks the next best; the report keeps the model's raw "
           "probability of the banned id, filtered out (id %d)", id);
    p.temperature = 1.0f;
    sampler_set_params(s, &p, NULL, 0);
    tap_ok(t, c.resets == 1, "sampler_set_params calls reset");
    int seen0 = 0;
    for (int i = 0; i < 2000; i++) seen0 += sampler_sample(s, l, NULL, 0, &r) == 0;
    b = find_cand(&r, 0);
    tap_ok(t, seen0 == 0 && b && !b->kept && r.n_kept == V - 1,
           "sampling: a banned id is never drawn and is reported filtered (kept %d)", r.n_kept);
    c.fail = 1;
    tap_ok(t, sampler_sample(s, l, NULL, 0, &r) == -1 && strstr(sampler_error(s), "process refused"),
           "a failing process hook fails the call with its message (%s)", sampler_error(s));
    c.fail = 0;

    /* choose: replaces the draw; its distribution is what the report shows */
    h.choose = hook_choose;
    sampler_set_hooks(s, &h);
    int n2 = 0, n3 = 0;
    for (int i = 0; i < 4000; i++) {
        id = sampler_sample(s, l, NULL, 0, &r);
        n2 += id == 2;
        n3 += id == 3;
    }
    tap_ok(t, n2 + n3 == 4000 && fabs(n2 / 4000.0 - 0.75) < 0.03 && c.chooses == 4000,
           "choose decides the token, drawing with the sampler's generator (%d / %d)", n2, n3);
    const sampler_candidate_t *c2 = find_cand(&r, 2), *c3 = find_cand(&r, 3);
    tap_ok(t, c2 && c3 && fabsf(c2->prob - 0.75f) < 1e-6f && fabsf(c3->prob - 0.25f) < 1e-6f &&
                  r.n_kept == 2 && c2->kept && c3->kept,
           "the report's final probabilities are choose's distribution");
    /* reproducible: the same seed, the same draws */
    p.seed = 77;
    sampler_set_params(s, &p, NULL, 0);
    int a[50], bb[50];
    for (int i = 0; i < 50; i++) a[i] = sampler_sample(s, l, NULL, 0, NULL);
    sampler_set_params(s, &p, NULL, 0);
    for (int i = 0; i < 50; i++) bb[i] = sampler_sample(s, l, NULL, 0, NULL);
    tap_ok(t, memcmp(a, bb, sizeof a) == 0, "choose's draws repeat with the seed");
    c.pick = V; /* outside the vocabulary */
    tap_ok(t, sampler_sample(s, l, NULL, 0, NULL) == -1 && strstr(sampler_error(s), "outside"),
           "an id outside the vocabulary from choose is an error (%s)", sampler_error(s));
    sampler_set_hooks(s, NULL);
    p.temperature = 0.0f;
    sampler_set_params(s, &p, NULL, 0);
    tap_ok(t, sampler_sample(s, l, NULL, 0, NULL) == 0, "hooks removed: plain greedy again");
    sampler_free(s);
}

int main(void) {
    tap_t t = {0, 0};
    test_describe(&t);
    test_params(&t);
    test_logsumexp(&t);
    test_greedy(&t);
    test_filters(&t);
    test_penalties(&t);
    test_against_reference(&t);
    test_frequencies(&t);
    test_seeds(&t);
    test_gpt2_vocab(&t);
    test_hooks(&t);
    return tap_done(&t);
}
