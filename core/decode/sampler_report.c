/* sampler_report.c - the report of a draw (sampler.h: sampler_report_t):
 * the chosen token's probability, rank and log-probability, both entropies,
 * and the top candidates by final then raw probability, topped up with the
 * best filtered-out tokens when fewer were kept. Gathered in passes over the
 * kept set that vectorise, since it runs for every generated token. */
#include "sampler.h"
#include "sampler_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Report order: final probability (e) first, then raw probability (raw
 * logit), then id. Kept tokens come before filtered ones (final 0); a kept
 * token whose weight underflowed to 0 still counts as kept. */
typedef struct report_key {
    float e, raw;
    int id, kept;
} report_key_t;

static int key_before(const report_key_t *a, const report_key_t *b) {
    if (a->e != b->e) return a->e > b->e;
    if (a->raw != b->raw) return a->raw > b->raw;
    return a->id < b->id;
}

/* Inserts k into the sorted list top[0..*n) of capacity cap, if it belongs. */
static void key_insert(report_key_t *top, int *n, int cap, report_key_t k) {
    if (cap == 0 || (*n == cap && !key_before(&k, &top[cap - 1]))) return;
    int i = *n < cap ? (*n)++ : cap - 1;
    while (i > 0 && key_before(&k, &top[i - 1])) {
        top[i] = top[i - 1];
        i--;
    }
    top[i] = k;
}

static float finite_or_minus_inf(float logit) {
    return isnan(logit) ? -INFINITY : logit;
}

/* What one pass over the kept set gathers for the report. */
typedef struct report_scan {
    report_key_t top[SAMPLER_MAX_REPORT], chosen;
    int n_top, cap, rank;
    double sum_es; /* sum of e * s, for the entropy */
} report_scan_t;

static void report_visit(report_scan_t *rs, const float *logits, int id, float e, float s) {
    report_key_t k = {e, finite_or_minus_inf(logits[id]), id, 1};
    if (e > 0.0f) rs->sum_es += (double)e * s; /* e = 0 has s = -inf: 0 * -inf is NaN */
    if (key_before(&k, &rs->chosen)) rs->rank++;
    key_insert(rs->top, &rs->n_top, rs->cap, k);
}

/* The implicit kept set {i : e_i >= thr} is all or most of the vocabulary, so
 * the same gathering is split into loops that vectorise: the entropy sum and
 * the rank count over everything, and the top list over blocks whose largest
 * weight can still enter it (after the first few blocks, almost none). */
static void report_scan_implicit(sampler_t *s, const float *logits, float thr,
                                 report_scan_t *rs) {
    const int V = s->n_vocab;
    const float *ev = s->e, *sv = s->s;
    const float ce = rs->chosen.e;
    float *restrict es = s->work_a;
    for (int i = 0; i < V; i++) es[i] = ev[i] >= thr && ev[i] > 0.0f ? ev[i] * sv[i] : 0.0f;
    rs->sum_es = sum_f64(es, V);
    int n_above = 0, n_ties = 0;
    for (int i = 0; i < V; i++) n_above += ev[i] >= thr && ev[i] > ce;
    for (int i = 0; i < V; i++) n_ties += ev[i] >= thr && ev[i] == ce;
    rs->rank += n_above;
    if (n_ties > 1) /* equal final probability: ordered by raw probability, then id */
        for (int i = 0; i < V; i++)
            if (ev[i] == ce && i != rs->chosen.id) {
                report_key_t k = {ev[i], finite_or_minus_inf(logits[i]), i, 1};
                rs->rank += key_before(&k, &rs->chosen);
            }
    if (rs->cap == 0) return;
    enum { BLOCK = 16 };
    for (int b0 = 0; b0 < V; b0 += BLOCK) {
        int b1 = b0 + BLOCK < V ? b0 + BLOCK : V;
        float m = -1.0f;
        for (int k = b0; k < b1; k++) m = ev[k] > m ? ev[k] : m;
        if (rs->n_top == rs->cap && m < rs->top[rs->cap - 1].e) continue;
        for (int k = b0; k < b1; k++)
            if (ev[k] >= thr) {
                report_key_t key = {ev[k], finite_or_minus_inf(logits[k]), k, 1};
                key_insert(rs->top, &rs->n_top, rs->cap, key);
            }
    }
}

static int kept_contains(const sampler_t *s, const kept_set_t *ks, int id) {
    if (!ks->is_explicit) return s->e[id] >= ks->thr;
    for (int j = 0; j < ks->n; j++)
        if (s->entry[j].id == id) return 1;
    return 0;
}

/* Raw distribution: returns lse = log sum exp(l) (in double, so each
 * raw_logprob = l - lse is rounded once) and the entropy H = lse - sum p l. */
static double raw_stats(sampler_t *s, const float *logits, float *entropy) {
    const int V = s->n_vocab;
    float m = max_f32(logits, V); /* NaN never wins a > comparison */
    float *restrict w = s->work_a, *restrict wd = s->work_b;
    for (int i = 0; i < V; i++) {
        float l = logits[i];
        float d = l == l ? l - m : -INFINITY; /* NaN counts as -inf */
        w[i] = mathx_exp(d);
        wd[i] = w[i] > 0.0f ? w[i] * d : 0.0f; /* 0 * -inf would be NaN */
    }
    double sum = sum_f64(w, V), sum_el = sum_f64(wd, V);
    *entropy = (float)(log(sum) - sum_el / sum);
    return (double)m + log(sum);
}

void sampler_fill_report(sampler_t *s, const float *logits, const kept_set_t *ks, double z,
                         int chosen, float chosen_e, sampler_report_t *r) {
    const int V = s->n_vocab;
    report_scan_t rs = {.cap = s->params.n_report};
    rs.chosen = (report_key_t){chosen_e, finite_or_minus_inf(logits[chosen]), chosen, 1};
    double lse = raw_stats(s, logits, &r->entropy_raw);

    if (ks->is_explicit) {
        for (int i = 0; i < ks->n; i++)
            report_visit(&rs, logits, s->entry[i].id, s->entry[i].e, s->entry[i].s);
    } else {
        report_scan_implicit(s, logits, ks->thr, &rs);
    }
    r->entropy_final = (float)(log(z) - rs.sum_es / z);
    if (r->entropy_final < 0.0f) r->entropy_final = 0.0f; /* rounding of a point mass */
    r->chosen = chosen;
    r->chosen_raw_logprob = (float)((double)logits[chosen] - lse);
    r->chosen_prob = (float)(chosen_e / z);
    r->chosen_rank = rs.rank;
    r->n_kept = ks->n;

    /* Fewer kept than requested: fill with the best filtered-out tokens by raw
     * probability (n_kept < cap <= 32 here, so membership tests are short). */
    if (rs.n_top < rs.cap) {
        report_key_t *fill = rs.top + rs.n_top;
        int n_fill = 0, fill_cap = rs.cap - rs.n_top;
        for (int id = 0; id < V; id++) {
            report_key_t k = {0.0f, finite_or_minus_inf(logits[id]), id, 0};
            if (n_fill == fill_cap && !key_before(&k, &fill[fill_cap - 1])) continue;
            if (!kept_contains(s, ks, id)) key_insert(fill, &n_fill, fill_cap, k);
        }
        rs.n_top += n_fill;
    }
    r->n_cand = rs.n_top;
    for (int i = 0; i < rs.n_top; i++) {
        sampler_candidate_t *c = &r->cand[i];
        c->id = rs.top[i].id;
        c->logit = logits[c->id];
        c->raw_logprob = (float)((double)c->logit - lse);
        c->raw_prob = (float)exp((double)c->logit - lse);
        c->prob = (float)(rs.top[i].e / z);
        c->kept = rs.top[i].kept;
    }
}
