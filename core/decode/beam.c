/* beam.c - beam search with length normalisation (see beam.h for the rules).
 *
 * The search (beam_search_fn) knows nothing about transformers: it sees
 * "slots" that it can feed tokens to, getting next-token log-probs back, and
 * that it can copy when a hypothesis forks. beam_search wires the slots to
 * gpt_state KV caches. Keeping the two apart lets the tests check the search
 * against brute-force enumeration on a toy model.
 *
 * Slots are reused rather than double-buffered: when the survivors of a step
 * are chosen, the first child of each parent takes over the parent's slot
 * (no copy), and further children are copied into the slots of parents that
 * had no children. A step with no forks therefore copies no KV cache at all. */
#include "beam.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

/* More beams than this is a mistake (n_beams * n_vocab floats of log-probs). */
#define BEAM_MAX_BEAMS 256

typedef struct beam_cand {
    double sum; /* sum_logprob of the hypothesis extended by tok */
    int beam;   /* index of the live parent */
    int tok;
} beam_cand_t;

typedef struct beam_live {
    double sum;
    int slot;
} beam_live_t;

/* Ranking: higher sum first, then lower parent, then lower token id. */
static int cand_cmp(const void *pa, const void *pb) {
    const beam_cand_t *a = pa, *b = pb;
    if (a->sum != b->sum) return a->sum > b->sum ? -1 : 1;
    if (a->beam != b->beam) return a->beam < b->beam ? -1 : 1;
    return (a->tok > b->tok) - (a->tok < b->tok);
}

/* "a is worse than b" for per-beam token proposals: lower log-prob, or equal
 * log-prob and higher id. The heap below keeps the worst at its root. */
static int tok_worse(const beam_cand_t *a, const beam_cand_t *b) {
    return a->sum < b->sum || (a->sum == b->sum && a->tok > b->tok);
}

static void heap_sift_down(beam_cand_t *h, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && tok_worse(&h[l], &h[w])) w = l;
        if (r < n && tok_worse(&h[r], &h[w])) w = r;
        if (w == i) return;
        beam_cand_t t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* Writes the k best tokens of logprobs[0..V) (by log-prob, ties to the lower
 * id) into out[0..k) in any order, as candidates extending beam b. A min-heap
 * of size k: O(V log k) worst case, O(V) when most tokens lose to the root. */
static void beam_propose(const float *logprobs, int V, int k, int b, double base,
                         beam_cand_t *out) {
    for (int i = 0; i < k; i++) out[i] = (beam_cand_t){logprobs[i], b, i};
    for (int i = k / 2 - 1; i >= 0; i--) heap_sift_down(out, k, i);
    for (int i = k; i < V; i++) {
        beam_cand_t c = {logprobs[i], b, i};
        if (!tok_worse(&out[0], &c)) continue;
        out[0] = c;
        heap_sift_down(out, k, 0);
    }
    for (int i = 0; i < k; i++) out[i].sum += base;
}

static double beam_score(double sum, int n, float length_penalty) {
    return sum / pow((double)n, (double)length_penalty);
}

/* The finished pool: at most n_beams hypotheses, ids stored max_new apart. */
typedef struct beam_pool {
    int cap, max_new, n;
    int *ids, *len;
    double *sum, *score;
} beam_pool_t;

static int pool_worst(const beam_pool_t *f) {
    int w = 0;
    for (int i = 1; i < f->n; i++)
        if (f->score[i] < f->score[w]) w = i;
    return w;
}

/* Adds prefix[0..n-1) + tok (n tokens in all) if it is among the best. */
static void pool_add(beam_pool_t *f, const int *prefix, int n, int tok, double sum,
                     float length_penalty) {
    double score = beam_score(sum, n, length_penalty);
    int at;
    if (f->n < f->cap) {
        at = f->n++;
    } else {
        at = pool_worst(f);
        if (!(score > f->score[at])) return; /* ties keep the earlier hypothesis */
    }
    int *dst = f->ids + (size_t)at * f->max_new;
    memcpy(dst, prefix, (size_t)(n - 1) * sizeof *dst);
    dst[n - 1] = tok;
    f->len[at] = n;
    f->sum[at] = sum;
    f->score[at] = score;
}

/* Can any descendant of the live beams (currently t tokens long) beat the
 * worst finished score? Future log-probs are <= 0, so a descendant's sum is
 * at most the current one; sum / L^lp is monotone in L, so the best case is
 * at one end of the reachable lengths [t + 1, max_new]. */
static int live_can_improve(const beam_live_t *live, int n_live, int t, const beam_params_t *p,
                            double worst) {
    for (int b = 0; b < n_live; b++) {
        double s1 = beam_score(live[b].sum, t + 1, p->length_penalty);
        double s2 = beam_score(live[b].sum, p->max_new, p->length_penalty);
        if (s1 > worst || s2 > worst) return 1;
    }
    return 0;
}

static int check_params(const beam_params_t *p, int n_vocab, int n_prompt, char *err,
                        size_t errlen) {
    if (p->n_beams < 1 || p->n_beams > BEAM_MAX_BEAMS)
        snprintf(err, errlen, "beam: n_beams must be in [1, %d] (got %d)", BEAM_MAX_BEAMS,
                 p->n_beams);
    else if (p->max_new < 1)
        snprintf(err, errlen, "beam: max_new must be >= 1 (got %d)", p->max_new);
    else if (!isfinite(p->length_penalty))
        snprintf(err, errlen, "beam: length_penalty must be finite");
    else if (p->eos_id < -1 || p->eos_id >= n_vocab)
        snprintf(err, errlen, "beam: eos_id %d is outside the vocabulary of %d", p->eos_id,
                 n_vocab);
    else if (n_prompt < 1)
        snprintf(err, errlen, "beam: the prompt must hold at least one token");
    else
        return 0;
    return -1;
}

int beam_search_fn(const beam_ops_t *ops, const int *prompt, int n_prompt,
                   const beam_params_t *p, beam_result_t *out, char *err, size_t errlen) {
    const int V = ops->n_vocab, B = p->n_beams, T = p->max_new;
    out->hyps = NULL;
    out->n_hyps = 0;
    out->interrupted = 0;
    if (V < 1) {
        snprintf(err, errlen, "beam: n_vocab must be positive (got %d)", V);
        return -1;
    }
    if (check_params(p, V, n_prompt, err, errlen) != 0) return -1;
    const int K = 2 * B < V ? 2 * B : V; /* proposals per beam */

    int rc = -1;
    float *logprobs = malloc((size_t)B * V * sizeof *logprobs); /* [slot][V] */
    beam_cand_t *cand = malloc((size_t)B * K * sizeof *cand);
    beam_cand_t *next = malloc((size_t)B * sizeof *next);
    beam_live_t *live = malloc((size_t)B * sizeof *live);
    beam_live_t *live_next = malloc((size_t)B * sizeof *live_next);
    int *ids = malloc((size_t)B * T * sizeof *ids); /* [beam][T], generated ids */
    int *ids_next = malloc((size_t)B * T * sizeof *ids_next);
    int *slot_busy = malloc((size_t)B * sizeof *slot_busy);
    int *claimed = malloc((size_t)B * sizeof *claimed);
    int *free_slots = malloc((size_t)B * sizeof *free_slots);
    beam_pool_t pool = {B, T, 0, malloc((size_t)B * T * sizeof(int)), malloc((size_t)B * sizeof(int)),
                        malloc((size_t)B * sizeof(double)), malloc((size_t)B * sizeof(double))};
    if (!logprobs || !cand || !next || !live || !live_next || !ids || !ids_next || !slot_busy ||
        !claimed || !free_slots || !pool.ids || !pool.len || !pool.sum || !pool.score) {
        snprintf(err, errlen, "beam: out of memory for %d beams over a vocabulary of %d", B, V);
        goto done;
    }

    if (ops->step(ops->ctx, 0, prompt, n_prompt, logprobs, err, errlen) != 0) goto done;
    int n_live = 1;
    live[0] = (beam_live_t){0.0, 0};

    /* At the top of iteration t every live beam holds t generated tokens and
     * its slot's log-probs for token t + 1. */
    for (int t = 0; t < T; t++) {
        if (p->stop && *p->stop) {
            /* stopped: the live beams join the pool as they stand */
            for (int b = 0; b < n_live && t > 0; b++) {
                const int *own = ids + (size_t)b * T;
                pool_add(&pool, own, t, own[t - 1], live[b].sum, p->length_penalty);
            }
            out->interrupted = 1;
            break;
        }
        if (pool.n == B && !live_can_improve(live, n_live, t, p, pool.score[pool_worst(&pool)]))
            break;
        int n_cand = 0;
        for (int b = 0; b < n_live; b++) {
            beam_propose(logprobs + (size_t)live[b].slot * V, V, K, b, live[b].sum,
                         cand + n_cand);
            n_cand += K;
        }
        qsort(cand, (size_t)n_cand, sizeof *cand, cand_cmp);

        int n_next = 0;
        const int last = t + 1 == T;
        for (int r = 0; r < n_cand && n_next < B; r++) {
            const beam_cand_t *c = &cand[r];
            const int *prefix = ids + (size_t)c->beam * T;
            if (c->tok == p->eos_id) {
                /* Only eos proposals ranked among the first B finish; lower
                 * ones would not have survived as beams either. */
                if (r < B) pool_add(&pool, prefix, t + 1, c->tok, c->sum, p->length_penalty);
                continue;
            }
            if (last) pool_add(&pool, prefix, t + 1, c->tok, c->sum, p->length_penalty);
            next[n_next++] = *c;
        }
        if (last || n_next == 0) break;

        /* Assign slots: the first child of a parent inherits its slot; other
         * children get copies in the slots of parents without children. */
        memset(slot_busy, 0, (size_t)B * sizeof *slot_busy);
        memset(claimed, 0, (size_t)B * sizeof *claimed);
        for (int j = 0; j < n_next; j++) slot_busy[live[next[j].beam].slot] = 1;
        int n_free = 0;
        for (int sl = 0; sl < B; sl++)
            if (!slot_busy[sl]) free_slots[n_free++] = sl;
        for (int j = 0; j < n_next; j++) {
            const beam_live_t *parent = &live[next[j].beam];
            int slot = parent->slot;
            if (claimed[next[j].beam]) {
                slot = free_slots[--n_free];
                if (ops->copy(ops->ctx, slot, parent->slot, err, errlen) != 0) goto done;
            }
            claimed[next[j].beam] = 1;
            live_next[j] = (beam_live_t){next[j].sum, slot};
            int *dst = ids_next + (size_t)j * T;
            memcpy(dst, ids + (size_t)next[j].beam * T, (size_t)t * sizeof *dst);
            dst[t] = next[j].tok;
        }
        /* Copies are all made before any slot advances, so no source changed. */
        for (int j = 0; j < n_next; j++) {
            const int *tok = ids_next + (size_t)j * T + t;
            if (ops->step(ops->ctx, live_next[j].slot, tok, 1,
                          logprobs + (size_t)live_next[j].slot * V, err, errlen) != 0)
                goto done;
        }
        beam_live_t *tl = live;
        live = live_next;
        live_next = tl;
        int *ti = ids;
        ids = ids_next;
        ids_next = ti;
        n_live = n_next;
    }

    /* Hand the pool back best first (ties: earlier found first). */
    out->hyps = calloc((size_t)pool.n, sizeof *out->hyps);
    if (!out->hyps && pool.n > 0) {
        snprintf(err, errlen, "beam: out of memory for the result");
        goto done;
    }
    for (int i = 0; i < pool.n; i++) {
        int best = -1;
        for (int j = 0; j < pool.n; j++)
            if (pool.len[j] > 0 && (best < 0 || pool.score[j] > pool.score[best])) best = j;
        beam_hyp_t *h = &out->hyps[i];
        h->ids = malloc((size_t)pool.len[best] * sizeof *h->ids);
        if (!h->ids) {
            snprintf(err, errlen, "beam: out of memory for the result");
            beam_result_free(out);
            goto done;
        }
        memcpy(h->ids, pool.ids + (size_t)best * T, (size_t)pool.len[best] * sizeof *h->ids);
        h->n = pool.len[best];
        h->sum_logprob = (float)pool.sum[best];
        h->score = (float)pool.score[best];
        out->n_hyps++;
        pool.len[best] = 0; /* taken */
    }
    rc = 0;
done:
    free(logprobs);
    free(cand);
    free(next);
    free(live);
    free(live_next);
    free(ids);
    free(ids_next);
    free(slot_busy);
    free(claimed);
    free(free_slots);
    free(pool.ids);
    free(pool.len);
    free(pool.sum);
    free(pool.score);
    return rc;
}

void beam_result_free(beam_result_t *r) {
    if (!r) return;
    for (int i = 0; i < r->n_hyps; i++) free(r->hyps[i].ids);
    free(r->hyps);
    r->hyps = NULL;
    r->n_hyps = 0;
}

/* ---- wiring to the transformer ------------------------------------------- */

/* Longest prompt chunk slot 0 processes per gpt_forward call; the other slots
 * only ever take one token, so their activation buffers stay small. */
#define BEAM_PREFILL_CHUNK 512

typedef struct beam_gpt {
    const gpt_model_t *m;
    gpt_state_t **state; /* [n_beams] */
    int *max_tokens;     /* [n_beams] tokens per forward call each state allows */
} beam_gpt_t;

static int beam_gpt_step(void *ctx, int slot, const int *ids, int n, float *logprobs, char *err,
                         size_t errlen) {
    beam_gpt_t *g = ctx;
    for (int off = 0; off < n;) {
        int len = n - off < g->max_tokens[slot] ? n - off : g->max_tokens[slot];
        int is_last = off + len == n;
        if (gpt_forward(g->state[slot], ids + off, len, is_last ? logprobs : NULL, 0, NULL, err,
                        errlen) != 0)
            return -1;
        off += len;
    }
    /* log-softmax in place: log p_i = l_i - logsumexp(l) */
    int V = g->m->cfg.n_vocab;
    float lse = sampler_logsumexp(logprobs, V);
    for (int i = 0; i < V; i++) logprobs[i] -= lse;
    return 0;
}

static int beam_gpt_copy(void *ctx, int dst, int src, char *err, size_t errlen) {
    beam_gpt_t *g = ctx;
    if (gpt_state_copy(g->state[dst], g->state[src]) != 0) {
        snprintf(err, errlen, "beam: could not copy a KV cache");
        return -1;
    }
    return 0;
}

int beam_search(const gpt_model_t *m, const int *prompt, int n_prompt, const beam_params_t *p,
                beam_result_t *out, char *err, size_t errlen) {
    out->hyps = NULL;
    out->n_hyps = 0;
    if (check_params(p, m->cfg.n_vocab, n_prompt, err, errlen) != 0) return -1;
    if ((long)n_prompt + p->max_new > m->cfg.n_ctx) {
        snprintf(err, errlen,
                 "beam: prompt (%d tokens) + max_new (%d) exceeds the context of %d tokens",
                 n_prompt, p->max_new, m->cfg.n_ctx);
        return -1;
    }
    int B = p->n_beams, rc = -1;
    beam_gpt_t g = {m, calloc((size_t)B, sizeof(gpt_state_t *)), calloc((size_t)B, sizeof(int))};
    if (!g.state || !g.max_tokens) {
        snprintf(err, errlen, "beam: out of memory for %d beams", B);
        goto done;
    }
    for (int b = 0; b < B; b++) {
        g.max_tokens[b] = b == 0 ? (n_prompt < BEAM_PREFILL_CHUNK ? n_prompt : BEAM_PREFILL_CHUNK)
                                 : 1;
        g.state[b] = gpt_state_init(m, g.max_tokens[b], p->n_threads, err, errlen);
        if (!g.state[b]) goto done;
    }
    beam_ops_t ops = {&g, m->cfg.n_vocab, beam_gpt_step, beam_gpt_copy};
    rc = beam_search_fn(&ops, prompt, n_prompt, p, out, err, errlen);
done:
    if (g.state)
        for (int b = 0; b < B; b++) gpt_state_free(g.state[b]);
    free(g.state);
    free(g.max_tokens);
    return rc;
}
