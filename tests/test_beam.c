/* test_beam.c - beam search against brute force on a toy model.
 *
 * The toy "model" gives every token sequence a fixed next-token distribution
 * (log-softmax of logits drawn from an RNG seeded by a hash of the whole
 * sequence), so it behaves like a real model with a KV cache: each slot holds
 * the sequence fed so far, and copying a slot copies it. On it we check:
 *   - with enough beams the search is exhaustive, so its result must be the
 *     list of all complete sequences ranked by score, found by enumeration;
 *   - with few beams it must match a plain re-statement of the rules that
 *     never stops early and copies nothing (this checks slot reuse and the
 *     early-stopping bound);
 *   - one beam with length_penalty 0 is greedy decoding.
 * With the small GPT-2 reference model (if present) beam search with one beam
 * must equal greedy decoding through gpt_forward, and every hypothesis'
 * sum_logprob must match a fresh forward pass over it. */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "beam.h"
#include "gpt.h"
#include "rng.h"
#include "sampler.h"
#include "tap.h"

#define TOY_MAX_SEQ 32
#define TOY_MAX_SLOTS 256

typedef struct toy {
    int V;
    uint64_t salt;
    int seq[TOY_MAX_SLOTS][TOY_MAX_SEQ], len[TOY_MAX_SLOTS];
    int n_copies, fail_after; /* fail_after: steps until a forced error (-1 never) */
    int stop_after;           /* steps until *stop is set, as Ctrl-C would (-1 never) */
    volatile sig_atomic_t *stop;
} toy_t;

/* Next-token log-probs of seq[0..n): a pure function of the sequence. */
static void toy_logprobs(const toy_t *t, const int *seq, int n, float *lp) {
    uint64_t h = 1469598103934665603ULL ^ t->salt;
    for (int i = 0; i < n; i++) h = (h ^ (uint64_t)(seq[i] + 1)) * 1099511628211ULL;
    rng_t r;
    rng_seed(&r, h);
    float logits[64];
    for (int i = 0; i < t->V; i++) logits[i] = 1.5f * rng_normal(&r);
    float lse = sampler_logsumexp(logits, t->V);
    for (int i = 0; i < t->V; i++) lp[i] = logits[i] - lse;
}

static int toy_step(void *ctx, int slot, const int *ids, int n, float *lp, char *err,
                    size_t errlen) {
    toy_t *t = ctx;
    if (t->fail_after == 0) {
        snprintf(err, errlen, "toy: forced failure");
        return -1;
    }
    if (t->fail_after > 0) t->fail_after--;
    if (t->stop_after == 0 && t->stop) *t->stop = 1;
    if (t->stop_after > 0) t->stop_after--;
    for (int i = 0; i < n; i++) t->seq[slot][t->len[slot]++] = ids[i];
    toy_logprobs(t, t->seq[slot], t->len[slot], lp);
    return 0;
}

static int toy_copy(void *ctx, int dst, int src, char *err, size_t errlen) {
    (void)err, (void)errlen;
    toy_t *t = ctx;
    memcpy(t->seq[dst], t->seq[src], sizeof t->seq[src]);
    t->len[dst] = t->len[src];
    t->n_copies++;
    return 0;
}

static void toy_init(toy_t *t, int V, uint64_t salt) {
    memset(t, 0, sizeof *t);
    t->V = V;
    t->salt = salt;
    t->fail_after = -1;
    t->stop_after = -1;
}

/* ---- brute force ---------------------------------------------------------- */

typedef struct full_hyp {
    int ids[TOY_MAX_SEQ], n;
    double sum, score;
} full_hyp_t;

typedef struct enumeration {
    full_hyp_t *h;
    int n, cap;
} enumeration_t;

/* Every complete continuation: ends in eos, or reaches max_new tokens. The
 * sums add float log-probs in double in generation order, as the search does. */
static void enumerate(const toy_t *t, int *seq, int n_prompt, int depth, double sum,
                      const beam_params_t *p, enumeration_t *out) {
    float lp[64];
    toy_logprobs(t, seq, n_prompt + depth, lp);
    for (int tok = 0; tok < t->V; tok++) {
        seq[n_prompt + depth] = tok;
        double s = sum + lp[tok];
        if (tok == p->eos_id || depth + 1 == p->max_new) {
            full_hyp_t *h = &out->h[out->n++];
            h->n = depth + 1;
            memcpy(h->ids, seq + n_prompt, (size_t)h->n * sizeof(int));
            h->sum = s;
            h->score = s / pow(h->n, p->length_penalty);
        } else {
            enumerate(t, seq, n_prompt, depth + 1, s, p, out);
        }
    }
}

static int full_cmp(const void *pa, const void *pb) {
    const full_hyp_t *a = pa, *b = pb;
    return (a->score < b->score) - (a->score > b->score);
}

/* ---- the rules restated, without slots or early stopping ----------------- */

typedef struct ref_cand {
    double sum;
    int beam, tok;
} ref_cand_t;

static int ref_cand_cmp(const void *pa, const void *pb) {
    const ref_cand_t *a = pa, *b = pb;
    if (a->sum != b->sum) return a->sum > b->sum ? -1 : 1;
    if (a->beam != b->beam) return a->beam - b->beam;
    return a->tok - b->tok;
}

static void ref_pool_add(full_hyp_t *pool, int *n_pool, int cap, const int *ids, int n, double sum,
                         float lpen) {
    double score = sum / pow(n, lpen);
    int at = *n_pool;
    if (*n_pool == cap) {
        at = 0;
        for (int i = 1; i < cap; i++)
            if (pool[i].score < pool[at].score) at = i;
        if (!(score > pool[at].score)) return;
    } else {
        (*n_pool)++;
    }
    memcpy(pool[at].ids, ids, (size_t)n * sizeof *ids);
    pool[at].n = n;
    pool[at].sum = sum;
    pool[at].score = score;
}

static int ref_beam(const toy_t *t, const int *prompt, int n_prompt, const beam_params_t *p,
                    full_hyp_t *pool) {
    const int B = p->n_beams, V = t->V, K = 2 * B < V ? 2 * B : V;
    static full_hyp_t live[TOY_MAX_SLOTS], next[TOY_MAX_SLOTS];
    static ref_cand_t cand[TOY_MAX_SLOTS * 64];
    int n_live = 1, n_pool = 0;
    live[0].n = 0;
    live[0].sum = 0.0;
    for (int step = 0; step < p->max_new && n_live > 0; step++) {
        int n_cand = 0;
        for (int b = 0; b < n_live; b++) {
            int seq[TOY_MAX_SEQ + 16];
            memcpy(seq, prompt, (size_t)n_prompt * sizeof *seq);
            memcpy(seq + n_prompt, live[b].ids, (size_t)live[b].n * sizeof *seq);
            float lp[64];
            toy_logprobs(t, seq, n_prompt + live[b].n, lp);
            ref_cand_t all[64];
            for (int tok = 0; tok < V; tok++) all[tok] = (ref_cand_t){lp[tok], b, tok};
            qsort(all, (size_t)V, sizeof *all, ref_cand_cmp); /* same beam: by lp, then id */
            for (int k = 0; k < K; k++) {
                all[k].sum += live[b].sum;
                cand[n_cand++] = all[k];
            }
        }
        qsort(cand, (size_t)n_cand, sizeof *cand, ref_cand_cmp);
        int n_next = 0;
        for (int r = 0; r < n_cand && n_next < B; r++) {
            full_hyp_t h = live[cand[r].beam];
            h.ids[h.n++] = cand[r].tok;
            h.sum = cand[r].sum;
            if (cand[r].tok == p->eos_id) {
                if (r < B) ref_pool_add(pool, &n_pool, B, h.ids, h.n, h.sum, p->length_penalty);
                continue;
            }
            if (step + 1 == p->max_new)
                ref_pool_add(pool, &n_pool, B, h.ids, h.n, h.sum, p->length_penalty);
            next[n_next++] = h;
        }
        memcpy(live, next, (size_t)n_next * sizeof *next);
        n_live = step + 1 == p->max_new ? 0 : n_next;
    }
    qsort(pool, (size_t)n_pool, sizeof *pool, full_cmp);
    return n_pool;
}

/* ---- checks ---------------------------------------------------------------- */

static int same_hyp(const beam_hyp_t *a, const full_hyp_t *b) {
    return a->n == b->n && memcmp(a->ids, b->ids, (size_t)a->n * sizeof(int)) == 0 &&
           fabs(a->score - b->score) <= 1e-5 * (1.0 + fabs(b->score)) &&
           fabs(a->sum_logprob - b->sum) <= 1e-5 * (1.0 + fabs(b->sum));
}

static void test_exhaustive(tap_t *tp) {
    static toy_t t;
    static full_hyp_t all[4096];
    const float penalties[3] = {0.0f, 1.0f, 2.0f};
    int prompt[3] = {1, 0, 2};
    for (int pi = 0; pi < 3; pi++)
        for (int with_eos = 0; with_eos < 2; with_eos++) {
            toy_init(&t, 5, 100 + (uint64_t)pi);
            beam_params_t p = {125, 3, penalties[pi], with_eos ? 4 : -1, 1, NULL};
            enumeration_t en = {all, 0, 4096};
            int seq[TOY_MAX_SEQ];
            memcpy(seq, prompt, sizeof prompt);
            enumerate(&t, seq, 3, 0, 0.0, &p, &en);
            qsort(all, (size_t)en.n, sizeof *all, full_cmp);
            beam_ops_t ops = {&t, t.V, toy_step, toy_copy};
            beam_result_t res;
            char err[256] = "";
            int rc = beam_search_fn(&ops, prompt, 3, &p, &res, err, sizeof err);
            int ok = rc == 0 && res.n_hyps == en.n;
            for (int i = 0; ok && i < res.n_hyps; i++) ok = same_hyp(&res.hyps[i], &all[i]);
            tap_ok(tp, ok,
                   "exhaustive beam = enumeration of %d sequences (length_penalty %g, eos %s)%s%s",
                   en.n, (double)p.length_penalty, with_eos ? "4" : "none", rc ? ": " : "", err);
            /* The best sequence by brute force, stated on its own. */
            if (pi == 1 && with_eos)
                tap_ok(tp, rc == 0 && res.n_hyps > 0 && same_hyp(&res.hyps[0], &all[0]),
                       "best mean-log-prob sequence found (score %.4f, %d tokens)", all[0].score,
                       all[0].n);
            beam_result_free(&res);
        }
}

static void test_against_rules(tap_t *tp) {
    static toy_t t;
    static full_hyp_t pool[TOY_MAX_SLOTS];
    rng_t g;
    rng_seed(&g, 2024);
    int n_bad = 0, n_trials = 400, copies = 0, early = 0;
    for (int trial = 0; trial < n_trials; trial++) {
        int V = 3 + (int)(rng_next(&g) % 30);
        toy_init(&t, V, 7000 + (uint64_t)trial);
        const float penalties[4] = {0.0f, 1.0f, 2.0f, -0.5f};
        beam_params_t p = {1 + (int)(rng_next(&g) % 6), 1 + (int)(rng_next(&g) % 10),
                           penalties[trial % 4], trial % 3 ? (int)(rng_next(&g) % (uint64_t)V) : -1,
                           1, NULL};
        int prompt[2] = {trial % V, (trial / 3) % V};
        int n_ref = ref_beam(&t, prompt, 2, &p, pool);
        beam_ops_t ops = {&t, V, toy_step, toy_copy};
        beam_result_t res;
        char err[256] = "";
        int rc = beam_search_fn(&ops, prompt, 2, &p, &res, err, sizeof err);
        int ok = rc == 0 && res.n_hyps == n_ref;
        for (int i = 0; ok && i < n_ref; i++) ok = same_hyp(&res.hyps[i], &pool[i]);
        if (!ok && n_bad++ < 3)
            tap_diag("trial %d: V=%d beams=%d max_new=%d lp=%g eos=%d: %d hyps, want %d %s", trial,
                     V, p.n_beams, p.max_new, (double)p.length_penalty, p.eos_id, res.n_hyps,
                     n_ref, err);
        copies += t.n_copies;
        int longest = 0;
        for (int i = 0; i < res.n_hyps; i++)
            if (res.hyps[i].n > longest) longest = res.hyps[i].n;
        early += longest < p.max_new;
        beam_result_free(&res);
    }
    tap_ok(tp, n_bad == 0, "%d random searches match the rules restated (%d KV copies in all, "
           "%d stopped early)", n_trials, copies, early);
}

/* Greedy continuation of seq[0..1) on the toy model, stopping after eos. */
static int toy_greedy(const toy_t *t, int *seq, int max_new, int eos, double *sum) {
    int n = 1;
    *sum = 0.0;
    for (int i = 0; i < max_new; i++) {
        float lp[64];
        toy_logprobs(t, seq, n, lp);
        int best = 0;
        for (int k = 1; k < t->V; k++)
            if (lp[k] > lp[best]) best = k;
        seq[n++] = best;
        *sum += lp[best];
        if (best == eos) break;
    }
    return n - 1;
}

static void test_greedy_toy(tap_t *tp) {
    static toy_t t;
    const int max_new = 12;
    int seq[TOY_MAX_SEQ] = {3};
    double sum;
    toy_init(&t, 17, 55);
    toy_greedy(&t, seq, max_new, -1, &sum);
    /* eos = the fourth greedy token, so greedy decoding stops on it */
    for (int with_eos = 0; with_eos < 2; with_eos++) {
        int eos = with_eos ? seq[4] : -1;
        int n = toy_greedy(&t, seq, max_new, eos, &sum);
        beam_params_t p = {1, max_new, 0.0f, eos, 1, NULL};
        beam_ops_t ops = {&t, t.V, toy_step, toy_copy};
        beam_result_t res;
        char err[256] = "";
        toy_init(&t, 17, 55);
        int rc = beam_search_fn(&ops, seq, 1, &p, &res, err, sizeof err);
        tap_ok(tp, rc == 0 && res.n_hyps == 1 && res.hyps[0].n == n &&
                       memcmp(res.hyps[0].ids, seq + 1, (size_t)n * sizeof(int)) == 0 &&
                       fabs(res.hyps[0].sum_logprob - sum) < 1e-5,
               "one beam, length_penalty 0 = greedy on the toy model (%d tokens, eos %d)", n, eos);
        tap_ok(tp, t.n_copies == 0, "one beam never copies a state");
        beam_result_free(&res);
    }
}

static void test_errors(tap_t *tp) {
    static toy_t t;
    toy_init(&t, 6, 1);
    beam_ops_t ops = {&t, 6, toy_step, toy_copy};
    beam_result_t res;
    char err[256];
    int prompt[1] = {0};
    struct {
        beam_params_t p;
        int n_prompt;
        const char *what;
    } bad[5] = {{{0, 4, 1.0f, -1, 1, NULL}, 1, "n_beams"},
                {{2, 0, 1.0f, -1, 1, NULL}, 1, "max_new"},
                {{2, 4, 1.0f, 6, 1, NULL}, 1, "eos_id"},
                {{2, 4, NAN, -1, 1, NULL}, 1, "length_penalty"},
                {{2, 4, 1.0f, -1, 1, NULL}, 0, "prompt"}};
    for (int i = 0; i < 5; i++) {
        err[0] = 0;
        int rc = beam_search_fn(&ops, prompt, bad[i].n_prompt, &bad[i].p, &res, err, sizeof err);
        tap_ok(tp, rc == -1 && strstr(err, bad[i].what) && res.n_hyps == 0 && !res.hyps,
               "bad %s rejected: %s", bad[i].what, err);
    }
    t.fail_after = 3;
    beam_params_t p = {3, 6, 1.0f, -1, 1, NULL};
    int rc = beam_search_fn(&ops, prompt, 1, &p, &res, err, sizeof err);
    tap_ok(tp, rc == -1 && strstr(err, "forced failure") && !res.hyps,
           "a failing step is reported: %s", err);
    beam_result_free(&res);
    beam_result_free(NULL);
}

/* Ctrl-C mid-search: the search ends before its next step and returns the
 * best of the finished and live hypotheses, each as long as it got. */
static void test_stop(tap_t *tp) {
    toy_t t;
    toy_init(&t, 9, 4242);
    volatile sig_atomic_t stop = 0;
    t.stop = &stop;
    beam_ops_t ops = {&t, 9, toy_step, toy_copy};
    int prompt[2] = {1, 2};
    beam_result_t res, full;
    char err[256] = "";
    beam_params_t p = {3, 20, 1.0f, -1, 1, &stop};
    /* step calls: 1 for the prompt, then 3 per token; the flag is set during
     * the 4th token's, so the search ends with 4 tokens */
    t.stop_after = 1 + 3 * 3 + 1;
    int rc = beam_search_fn(&ops, prompt, 2, &p, &res, err, sizeof err);
    int ok = rc == 0 && res.interrupted == 1 && res.n_hyps == 3;
    for (int h = 0; ok && h < res.n_hyps; h++) ok = res.hyps[h].n == 4;
    tap_ok(tp, ok, "a stop flag ends the search with the live beams as they stand (rc %d, %d hyps, "
                   "n %d)", rc, res.n_hyps, res.n_hyps ? res.hyps[0].n : -1);
    /* they are the beams a search had after 4 tokens: a 4-token run agrees */
    toy_init(&t, 9, 4242);
    beam_params_t p4 = {3, 4, 1.0f, -1, 1, NULL};
    rc = beam_search_fn(&ops, prompt, 2, &p4, &full, err, sizeof err);
    ok = rc == 0 && full.n_hyps == res.n_hyps && !full.interrupted;
    for (int h = 0; ok && h < full.n_hyps; h++)
        ok = memcmp(full.hyps[h].ids, res.hyps[h].ids, 4 * sizeof(int)) == 0 &&
             full.hyps[h].sum_logprob == res.hyps[h].sum_logprob;
    tap_ok(tp, ok, "... and they are the hypotheses of a 4-token search");
    beam_result_free(&full);
    beam_result_free(&res);
    /* set before the first token: nothing generated, no hypotheses, no error */
    toy_init(&t, 9, 4242);
    stop = 1;
    rc = beam_search_fn(&ops, prompt, 2, &p, &res, err, sizeof err);
    tap_ok(tp, rc == 0 && res.interrupted && res.n_hyps == 0, "stopped before the first token");
    beam_result_free(&res);
}

/* ---- the real model --------------------------------------------------------- */

static void test_gpt(tap_t *tp) {
    char dir[1024], err[512] = "";
    TAP_SRC(dir, "tests/reference/models/gpt2-f32");
    char cfg[1100];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    FILE *f = fopen(cfg, "r");
    if (!f) {
        printf("ok %d - # SKIP no reference model at %s\n", ++tp->n_run, dir);
        return;
    }
    fclose(f);
    gpt_model_t *m = gpt_load(dir, err, sizeof err);
    if (!tap_ok(tp, m != NULL, "load %s %s", dir, err)) return;
    const int V = m->cfg.n_vocab, max_new = 10;
    int prompt[4] = {5, 17, 42, 7}, greedy[16];
    float *logits = malloc((size_t)V * sizeof *logits);
    gpt_state_t *st = gpt_state_init(m, 4, 1, err, sizeof err);
    int ok = st && logits && gpt_forward(st, prompt, 4, logits, 0, NULL, err, sizeof err) == 0;
    for (int i = 0; ok && i < max_new; i++) {
        int best = 0;
        for (int k = 1; k < V; k++)
            if (logits[k] > logits[best]) best = k;
        greedy[i] = best;
        ok = gpt_forward(st, &best, 1, logits, 0, NULL, err, sizeof err) == 0;
    }
    beam_params_t p = {1, max_new, 0.0f, -1, 1, NULL};
    beam_result_t res = {0};
    ok = ok && beam_search(m, prompt, 4, &p, &res, err, sizeof err) == 0;
    tap_ok(tp, ok && res.n_hyps == 1 && res.hyps[0].n == max_new &&
                   memcmp(res.hyps[0].ids, greedy, sizeof(int) * max_new) == 0,
           "gpt2-f32: beam search with one beam = greedy decoding %s", err);
    beam_result_free(&res);

    /* Four beams fork KV caches; each hypothesis' sum must match a fresh
     * forward pass over prompt + hypothesis. */
    p = (beam_params_t){4, max_new, 1.0f, m->cfg.eos_id, 1, NULL};
    ok = beam_search(m, prompt, 4, &p, &res, err, sizeof err) == 0 && res.n_hyps == 4;
    double worst = 0.0;
    float *all = malloc((size_t)(4 + max_new) * V * sizeof *all);
    for (int h = 0; ok && h < res.n_hyps; h++) {
        int seq[4 + 16];
        memcpy(seq, prompt, sizeof prompt);
        memcpy(seq + 4, res.hyps[h].ids, (size_t)res.hyps[h].n * sizeof(int));
        gpt_state_t *fresh = gpt_state_init(m, 4 + max_new, 1, err, sizeof err);
        ok = fresh && gpt_forward(fresh, seq, 4 + res.hyps[h].n, all, 1, NULL, err, sizeof err) == 0;
        double sum = 0.0;
        for (int i = 0; ok && i < res.hyps[h].n; i++) {
            const float *row = all + (size_t)(3 + i) * V;
            sum += row[seq[4 + i]] - sampler_logsumexp(row, V);
        }
        if (fabs(sum - res.hyps[h].sum_logprob) > worst) worst = fabs(sum - res.hyps[h].sum_logprob);
        ok = ok && (h == 0 || res.hyps[h].score <= res.hyps[h - 1].score);
        gpt_state_free(fresh);
    }
    tap_ok(tp, ok && worst < 1e-3,
           "gpt2-f32: 4 beams, each sum_logprob matches a fresh forward (max diff %.2g) %s", worst,
           err);
    beam_result_free(&res);
    free(all);
    free(logits);
    gpt_state_free(st);
    gpt_free(m);
}

int main(void) {
    tap_t t = {0, 0};
    test_exhaustive(&t);
    test_against_rules(&t);
    test_greedy_toy(&t);
    test_errors(&t);
    test_stop(&t);
    test_gpt(&t);
    return tap_done(&t);
}
