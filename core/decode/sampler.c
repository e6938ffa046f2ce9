/* sampler.c - the decoding pipeline: penalties, temperature, top-k, top-p,
 * min-p, then a seeded draw (the report the probability pane shows is
 * sampler_report.c).
 *
 * Working representation. After penalties, s_i = (l_i - l_max) / T, so the
 * best token has s = 0 and weight e = exp(s) = 1 exactly; softmax is e / Z
 * with Z the sum of the kept weights. Subtracting l_max before dividing by T
 * keeps a tiny temperature from overflowing to inf (softmax is invariant to
 * the shift) and turns min-p, "p >= min_p * p_max", into "e >= min_p".
 *
 * Cost. V = 50257 for GPT-2 and this runs once per generated token, so the
 * vocabulary is never sorted. The full-V passes are plain loops over s[] and
 * e[] that the compiler vectorises (exp included, see mathx_exp in mathx.h). top-k and
 * top-p use a histogram of s over buckets: walking the buckets from the top
 * finds the one bucket where the k-th token (or the mass p) falls; tokens in
 * better buckets are kept without ordering them, and only the boundary bucket
 * is resolved exactly (quickselect, then a sort of the growing prefix it
 * needs). Since bucket order is s order, the result is exactly that of a
 * full sort. All buffers are allocated in sampler_init. */
#include "sampler.h"
#include "sampler_internal.h"

#include "mathx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sampler_params_t sampler_params_default(void) {
    sampler_params_t p;
    memset(&p, 0, sizeof p);
    p.temperature = 1.0f;
    p.top_p = 1.0f;
    p.repetition_penalty = 1.0f;
    p.n_report = 10;
    return p;
}

int sampler_params_check(const sampler_params_t *p, char *err, size_t errlen) {
    /* Written so that NaN fails every test (comparisons with NaN are false). */
    if (!(p->temperature >= 0.0f) || isinf(p->temperature))
        snprintf(err, errlen, "sampler: temperature must be >= 0 and finite (got %g)",
                 (double)p->temperature);
    else if (p->top_k < 0)
        snprintf(err, errlen, "sampler: top_k must be >= 0 (got %d)", p->top_k);
    else if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        snprintf(err, errlen, "sampler: top_p must be in (0, 1] (got %g)", (double)p->top_p);
    else if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        snprintf(err, errlen, "sampler: min_p must be in [0, 1] (got %g)", (double)p->min_p);
    else if (!(p->repetition_penalty > 0.0f) || isinf(p->repetition_penalty))
        snprintf(err, errlen, "sampler: repetition_penalty must be > 0 and finite (got %g)",
                 (double)p->repetition_penalty);
    else if (!isfinite(p->presence_penalty))
        snprintf(err, errlen, "sampler: presence_penalty must be finite");
    else if (!isfinite(p->frequency_penalty))
        snprintf(err, errlen, "sampler: frequency_penalty must be finite");
    else if (p->n_report < 0 || p->n_report > SAMPLER_MAX_REPORT)
        snprintf(err, errlen, "sampler: n_report must be in [0, %d] (got %d)", SAMPLER_MAX_REPORT,
                 p->n_report);
    else
        return 0;
    return -1;
}

sampler_t *sampler_init(const sampler_params_t *p, int n_vocab, char *err, size_t errlen) {
    if (n_vocab <= 0) {
        snprintf(err, errlen, "sampler: n_vocab must be positive (got %d)", n_vocab);
        return NULL;
    }
    if (sampler_params_check(p, err, errlen) != 0) return NULL;
    sampler_t *s = calloc(1, sizeof *s);
    size_t V = (size_t)n_vocab;
    if (s) {
        s->s = malloc(V * sizeof *s->s);
        s->e = malloc(V * sizeof *s->e);
        s->entry = malloc(V * sizeof *s->entry);
        s->count = calloc(V, sizeof *s->count);
        s->touched = malloc(V * sizeof *s->touched);
        s->work_a = malloc(V * sizeof *s->work_a);
        s->work_b = malloc(V * sizeof *s->work_b);
        s->bucket_count = malloc(SAMPLER_N_BUCKETS * sizeof *s->bucket_count);
        s->bucket_mass = malloc(SAMPLER_N_BUCKETS * sizeof *s->bucket_mass);
    }
    if (!s || !s->s || !s->e || !s->entry || !s->count || !s->touched || !s->work_a ||
        !s->work_b || !s->bucket_count || !s->bucket_mass) {
        sampler_free(s);
        snprintf(err, errlen, "sampler: out of memory for a vocabulary of %d", n_vocab);
        return NULL;
    }
    s->n_vocab = n_vocab;
    s->params = *p;
    rng_seed(&s->rng, p->seed);
    return s;
}

void sampler_free(sampler_t *s) {
    if (!s) return;
    free(s->s);
    free(s->e);
    free(s->entry);
    free(s->count);
    free(s->touched);
    free(s->work_a);
    free(s->work_b);
    free(s->bucket_count);
    free(s->bucket_mass);
    free(s->hook_logits);
    free(s->hook_probs);
    free(s);
}

int sampler_set_hooks(sampler_t *s, const sampler_hooks_t *h) {
    if (!h) {
        memset(&s->hooks, 0, sizeof s->hooks);
        return 0;
    }
    if (!s->hook_logits) s->hook_logits = malloc((size_t)s->n_vocab * sizeof *s->hook_logits);
    if (!s->hook_probs) s->hook_probs = malloc((size_t)s->n_vocab * sizeof *s->hook_probs);
    if (!s->hook_logits || !s->hook_probs) return -1;
    s->hooks = *h;
    return 0;
}

const char *sampler_error(const sampler_t *s) {
    return s->error;
}

static double sampler_uniform(void *rng) {
    return (double)rng_uniform((rng_t *)rng);
}

int sampler_set_params(sampler_t *s, const sampler_params_t *p, char *err, size_t errlen) {
    if (sampler_params_check(p, err, errlen) != 0) return -1;
    s->params = *p;
    rng_seed(&s->rng, p->seed);
    if (s->hooks.reset) s->hooks.reset(s->hooks.user);
    return 0;
}

const sampler_params_t *sampler_get_params(const sampler_t *s) {
    return &s->params;
}

float sampler_logsumexp(const float *logits, int n) {
    return (float)logsumexp_f64(logits, n);
}

/* ---- selection over an explicit candidate set --------------------------- */

/* Total order "a ranks before b": larger s first, ties to the lower id, so
 * every selection and sort is deterministic. */
static int entry_before(const sampler_entry_t *a, const sampler_entry_t *b) {
    return a->s > b->s || (a->s == b->s && a->id < b->id);
}

static int entry_cmp(const void *pa, const void *pb) {
    const sampler_entry_t *a = pa, *b = pb;
    return entry_before(a, b) ? -1 : entry_before(b, a) ? 1 : 0;
}

static void entry_swap(sampler_entry_t *a, sampler_entry_t *b) {
    sampler_entry_t t = *a;
    *a = *b;
    *b = t;
}

/* Quickselect: permutes x[0..n) so that x[0..k) are the k best, in any
 * order. Expected O(n); median-of-three avoids the quadratic case on
 * already-ordered input. Ids are unique, so the order is strict. */
static void entry_select(sampler_entry_t *x, int n, int k) {
    int lo = 0, hi = n - 1;
    if (k <= 0 || k >= n) return;
    while (hi > lo) {
        int mid = lo + (hi - lo) / 2;
        if (entry_before(&x[mid], &x[lo])) entry_swap(&x[mid], &x[lo]);
        if (entry_before(&x[hi], &x[lo])) entry_swap(&x[hi], &x[lo]);
        if (entry_before(&x[hi], &x[mid])) entry_swap(&x[hi], &x[mid]);
        entry_swap(&x[mid], &x[hi]); /* the median of three is the pivot */
        sampler_entry_t pivot = x[hi];
        int store = lo;
        for (int i = lo; i < hi; i++)
            if (entry_before(&x[i], &pivot)) entry_swap(&x[i], &x[store++]);
        entry_swap(&x[store], &x[hi]);
        /* x[lo..store) rank before the pivot, x[store] is the pivot. */
        if (store == k || store + 1 == k) return;
        if (store > k) hi = store - 1;
        else lo = store + 1;
    }
}

/* Reorders x[0..n) so that a sorted prefix holds the fewest best tokens whose
 * weights add up to target; returns its length. Only what is needed gets
 * sorted: select the next `chunk` best of the unsorted tail, sort them,
 * accumulate, and grow the chunk geometrically. */
static int mass_prefix(sampler_entry_t *x, int n, double target) {
    double mass = 0.0;
    int done = 0, chunk = 64;
    while (done < n) {
        int m = chunk < n - done ? chunk : n - done;
        entry_select(x + done, n - done, m);
        qsort(x + done, (size_t)m, sizeof *x, entry_cmp);
        for (int i = done; i < done + m; i++) {
            mass += (double)x[i].e;
            if (mass >= target) return i + 1;
        }
        done += m;
        chunk *= 4;
    }
    return n; /* rounding left the total a hair short: keep everything */
}

/* ---- histogram filtering over the whole vocabulary ---------------------- */

/* Bucket of s (<= 0): floor(-s * scale), clamped. Monotone in s, so a
 * better bucket only holds better tokens; -inf lands in the last bucket. */
static int bucket_of(float s, float scale) {
    float f = -s * scale;
    return f < (float)(SAMPLER_N_BUCKETS - 1) ? (int)f : SAMPLER_N_BUCKETS - 1;
}

/* Keeps the top_k best tokens (top_k > 0) or the fewest best tokens with
 * mass >= top_p * z (top_k == 0) of the whole vocabulary, into entry[0..n);
 * returns n. */
static int hist_filter(sampler_t *s, int top_k, float top_p, double z) {
    const int V = s->n_vocab;
    const float *sv = s->s, *ev = s->e;
    float s_min = min_f32(sv, V);
    float span = -s_min < SAMPLER_BUCKET_SPAN ? -s_min : SAMPLER_BUCKET_SPAN;
    float scale = span > 0.0f ? (float)(SAMPLER_N_BUCKETS - 1) / span : 0.0f;
    memset(s->bucket_count, 0, SAMPLER_N_BUCKETS * sizeof *s->bucket_count);
    memset(s->bucket_mass, 0, SAMPLER_N_BUCKETS * sizeof *s->bucket_mass);
    for (int i = 0; i < V; i++) {
        int b = bucket_of(sv[i], scale);
        s->bucket_count[b]++;
        s->bucket_mass[b] += ev[i];
    }
    /* Walk from the best bucket to the one where the target is reached. */
    int edge = SAMPLER_N_BUCKETS - 1, n_before = 0;
    double mass_before = 0.0, target = (double)top_p * z;
    for (int b = 0; b < SAMPLER_N_BUCKETS - 1; b++) { /* the last is the fallback edge */
        int reached = top_k > 0 ? n_before + s->bucket_count[b] >= top_k
                                : mass_before + s->bucket_mass[b] >= target;
        if (reached) {
            edge = b;
            break;
        }
        n_before += s->bucket_count[b];
        mass_before += s->bucket_mass[b];
    }
    /* Better buckets to the front, the edge bucket behind them. */
    sampler_entry_t *x = s->entry;
    int front = 0, back = n_before;
    for (int i = 0; i < V; i++) {
        int b = bucket_of(sv[i], scale);
        if (b < edge) x[front++] = (sampler_entry_t){sv[i], ev[i], i};
        else if (b == edge) x[back++] = (sampler_entry_t){sv[i], ev[i], i};
    }
    int n_edge = back - n_before;
    if (top_k > 0) {
        entry_select(x + n_before, n_edge, top_k - n_before);
        return top_k;
    }
    return n_before + mass_prefix(x + n_before, n_edge, target - mass_before);
}

/* ---- the pipeline -------------------------------------------------------- */

/* Step 1: copies the logits into s[] (NaN becomes -inf so the order stays
 * total) and applies the penalties to every id in the history. Counts are
 * gathered in s->count and cleared again through s->touched, so a call costs
 * O(V + n_history) and allocates nothing. */
static void apply_penalties(sampler_t *s, const float *logits, const int *history,
                            size_t n_history) {
    const sampler_params_t *p = &s->params;
    float *sv = s->s;
    for (int i = 0; i < s->n_vocab; i++) sv[i] = logits[i] == logits[i] ? logits[i] : -INFINITY;
    if (!history || (p->repetition_penalty == 1.0f && p->presence_penalty == 0.0f &&
                     p->frequency_penalty == 0.0f))
        return;
    int n_touched = 0;
    for (size_t i = 0; i < n_history; i++) {
        int id = history[i];
        if (id < 0 || id >= s->n_vocab) continue; /* not a token of this vocabulary */
        if (s->count[id]++ == 0) s->touched[n_touched++] = id;
    }
    for (int j = 0; j < n_touched; j++) {
        int id = s->touched[j];
        float l = sv[id];
        /* CTRL's rule: dividing a positive logit and multiplying a negative one
         * both make the token less likely when the penalty is > 1. */
        if (p->repetition_penalty != 1.0f)
            l = l > 0.0f ? l / p->repetition_penalty : l * p->repetition_penalty;
        l -= p->presence_penalty + p->frequency_penalty * (float)s->count[id];
        sv[id] = l;
        s->count[id] = 0;
    }
}

/* After a process hook, the implicit kept set would count a token it banned
 * (e = 0 >= thr = 0) as kept: list the tokens it left finite explicitly
 * instead, with their (unchanged) weights. */
static kept_set_t kept_finite(sampler_t *s, double *z) {
    kept_set_t ks = {1, 0, 0.0f};
    double zk = 0.0;
    for (int i = 0; i < s->n_vocab; i++) {
        if (!(s->s[i] > -INFINITY) || s->e[i] < s->params.min_p) continue;
        s->entry[ks.n++] = (sampler_entry_t){s->s[i], s->e[i], i};
        zk += s->e[i];
    }
    if (ks.n > 0) *z = zk;
    return ks;
}

/* Steps 3-6 by the choose hook: the kept set is what it drew from (the ids
 * it gave a probability), or every id when it gave none. */
static int hook_choose(sampler_t *s, const int *history, size_t n_history, kept_set_t *ks,
                       double *z, int *chosen) {
    const int V = s->n_vocab;
    float *probs = s->hook_probs;
    memset(probs, 0, (size_t)V * sizeof *probs);
    int id = s->hooks.choose(s->hooks.user, s->s, V, history, n_history, sampler_uniform,
                             &s->rng, probs, s->error, sizeof s->error);
    if (id < 0) {
        if (!s->error[0]) snprintf(s->error, sizeof s->error, "the sampler hook failed");
        return -1;
    }
    if (id >= V) {
        snprintf(s->error, sizeof s->error, "the sampler hook chose id %d, outside the vocabulary of %d",
                 id, V);
        return -1;
    }
    *chosen = id;
    int n = 0;
    double zp = 0.0;
    for (int i = 0; i < V; i++)
        if (probs[i] > 0.0f) {
            s->entry[n++] = (sampler_entry_t){logf(probs[i]), probs[i], i};
            zp += probs[i];
        }
    if (n == 0 || probs[id] <= 0.0f) { /* no distribution given (or not the one drawn from) */
        *ks = (kept_set_t){0, V, 0.0f};
        return 0;
    }
    *ks = (kept_set_t){1, n, 0.0f};
    *z = zp;
    return 0;
}

int sampler_sample(sampler_t *s, const float *logits, const int *history, size_t n_history,
                   sampler_report_t *report) {
    const sampler_params_t *p = &s->params;
    const int V = s->n_vocab;
    float *sv = s->s, *ev = s->e;

    s->error[0] = 0;
    const float *model_logits = logits; /* the report's raw distribution */
    if (s->hooks.process) {
        memcpy(s->hook_logits, logits, (size_t)V * sizeof *logits);
        if (s->hooks.process(s->hooks.user, s->hook_logits, V, history, n_history, s->error,
                             sizeof s->error) != 0)
            return -1;
        logits = s->hook_logits;
    }
    apply_penalties(s, logits, history, n_history);
    /* Argmax, ties to the lowest id: the first index holding the maximum. */
    float l_max = max_f32(sv, V);
    int best = 0;
    while (best < V - 1 && sv[best] != l_max) best++;

    kept_set_t ks = {1, 1, 0.0f};
    int chosen = best;
    float chosen_e = 1.0f;
    double z = 1.0;
    if (p->temperature == 0.0f || l_max == -INFINITY) {
        /* Greedy (or nothing finite to sample from): a point mass on the
         * argmax. Every filter keeps the argmax, so none changes the answer. */
        s->entry[0] = (sampler_entry_t){0.0f, 1.0f, best};
    } else {
        /* 2. temperature, the maximum shifted to 0 (see the top comment) */
        const float T = p->temperature;
        float *restrict sr = sv, *restrict er = ev; /* distinct buffers: lets it vectorise */
        for (int i = 0; i < V; i++) {
            sr[i] = (sr[i] - l_max) / T;
            er[i] = mathx_exp(sr[i]);
        }
        z = sum_f64(ev, V);
        int use_k = p->top_k > 0 && p->top_k < V;
        if (s->hooks.choose) {
            if (hook_choose(s, history, n_history, &ks, &z, &chosen) != 0) return -1;
            chosen_e = ks.is_explicit ? s->hook_probs[chosen] : ev[chosen];
            if (report) sampler_fill_report(s, model_logits, &ks, z, chosen, chosen_e, report);
            return chosen;
        }
        if (use_k || p->top_p < 1.0f) {
            /* 3. top-k, then 4. top-p relative to what top-k left (as HF) */
            ks.n = hist_filter(s, use_k ? p->top_k : 0, p->top_p, z);
            if (use_k && p->top_p < 1.0f) {
                double zk = 0.0;
                for (int i = 0; i < ks.n; i++) zk += s->entry[i].e;
                ks.n = mass_prefix(s->entry, ks.n, (double)p->top_p * zk);
            }
            /* 5. min-p: p_i >= min_p * p_max <=> e_i >= min_p since e_max = 1;
             * the argmax always survives (min_p <= 1). */
            if (p->min_p > 0.0f) {
                int j = 0;
                for (int i = 0; i < ks.n; i++)
                    if (s->entry[i].e >= p->min_p) entry_swap(&s->entry[i], &s->entry[j++]);
                ks.n = j;
            }
            z = 0.0;
            for (int i = 0; i < ks.n; i++) z += s->entry[i].e;
        } else {
            ks = (kept_set_t){0, V, p->min_p};
            if (p->min_p > 0.0f) {
                int n = 0;
                double zm = 0.0;
                for (int i = 0; i < V; i++) {
                    int keep = ev[i] >= p->min_p;
                    n += keep;
                    zm += keep ? ev[i] : 0.0f;
                }
                ks.n = n;
                z = zm;
            }
        }
        /* 6. draw: walk the kept set until the running mass passes u * z.
         * u < 1, so a token with e > 0 is always reached before the end; the
         * argmax is only a guard against rounding. */
        double target = (double)rng_uniform(&s->rng) * z, mass = 0.0;
        if (ks.is_explicit) {
            for (int i = 0; i < ks.n; i++) {
                mass += s->entry[i].e;
                if (mass > target) {
                    chosen = s->entry[i].id;
                    break;
                }
            }
        } else {
            for (int i = 0; i < V; i++) {
                if (ev[i] < ks.thr) continue;
                mass += ev[i];
                if (mass > target) {
                    chosen = i;
                    break;
                }
            }
        }
        chosen_e = ev[chosen];
    }
    if (s->hooks.process && !ks.is_explicit) ks = kept_finite(s, &z);
    if (report) sampler_fill_report(s, model_logits, &ks, z, chosen, chosen_e, report);
    return chosen;
}

/* The raw distribution at temperature 1 with nothing filtered: the pipeline's
 * report path with every id kept, so a token chosen by other means (beam
 * search ranks by these very log-probabilities) is described the same way. */
void sampler_describe(sampler_t *s, const float *logits, int chosen, sampler_report_t *report) {
    const int V = s->n_vocab;
    float *restrict sv = s->s, *restrict ev = s->e;
    for (int i = 0; i < V; i++) sv[i] = logits[i] == logits[i] ? logits[i] : -INFINITY;
    float l_max = max_f32(sv, V);
    if (l_max == -INFINITY) { /* nothing finite: a point mass on the chosen id */
        for (int i = 0; i < V; i++) {
            sv[i] = i == chosen ? 0.0f : -INFINITY;
            ev[i] = i == chosen ? 1.0f : 0.0f;
        }
    } else {
        for (int i = 0; i < V; i++) {
            sv[i] -= l_max;
            ev[i] = mathx_exp(sv[i]);
        }
    }
    kept_set_t ks = {0, V, 0.0f};
    double z = sum_f64(ev, V);
    sampler_fill_report(s, logits, &ks, z, chosen, ev[chosen], report);
    if (l_max == -INFINITY) /* no raw distribution to measure */
        report->entropy_raw = report->entropy_final = 0.0f;
}
