/* generate.c - the generation session (see generate.h): history, window,
 * prefill in batches, one forward per generated token, sliding on overflow. */
#include "generate.h"

#include "threadtune.h"
#include "clockx.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gen {
    const gpt_model_t *m;
    gen_params_t p;
    gpt_state_t *state;
    int *ids;          /* history: prompt + generated */
    int n_ids, cap_ids;
    int win_start;     /* history index of window position 0 */
    int n_generated;
    int pending;       /* 1: ids[n_ids - 1] is not in the cache yet */
    int have_logits;   /* 0 before a prompt or after a failed forward */
    float *logits;     /* [n_vocab] */
    float *attn;       /* capture of one position, or NULL when capture is off */
    int attn_hist;     /* history index the capture belongs to, -1 if none */
    float *hidden;     /* residual stream of the newest run position, or NULL */
    int hidden_hist;   /* its history index, -1 if none */
    int tuning;        /* adaptive_threads asked for and the kernels allow it */
    threadtune_t tune;
    long long n_run;   /* positions run through the model (gen_n_run) */
};

gen_params_t gen_params_default(void) {
    gen_params_t p;
    memset(&p, 0, sizeof p);
    p.max_new = 0;
    p.eos_id = -1;
    p.stop_at_eos = 1;
    p.capture_attn = 0;
    p.capture_hidden = 0;
    p.n_threads = 1;
    p.max_batch = 0;
    return p;
}

gen_t *gen_init(const gpt_model_t *m, const gen_params_t *p, char *err, size_t errlen) {
    if (!m || !p) {
        snprintf(err, errlen, "generate: no model or parameters");
        return NULL;
    }
    const gpt_config_t *cfg = &m->cfg;
    if (p->max_new < 0 || p->n_threads < 1 || p->max_batch < 0) {
        snprintf(err, errlen, "generate: bad parameters (max_new %d, n_threads %d, max_batch %d)",
                 p->max_new, p->n_threads, p->max_batch);
        return NULL;
    }
    if (p->eos_id >= cfg->n_vocab) {
        snprintf(err, errlen, "generate: eos id %d outside the vocabulary (%d)", p->eos_id,
                 cfg->n_vocab);
        return NULL;
    }
    gen_t *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "generate: out of memory");
        return NULL;
    }
    g->m = m;
    g->p = *p;
    if (g->p.max_batch == 0) g->p.max_batch = cfg->n_ctx < 512 ? cfg->n_ctx : 512;
    if (g->p.max_batch > cfg->n_ctx) g->p.max_batch = cfg->n_ctx;
    g->attn_hist = -1;
    g->logits = malloc((size_t)cfg->n_vocab * sizeof *g->logits);
    if (!g->logits) goto oom;
    if (p->capture_attn) {
        g->attn = calloc(gpt_attn_capture_size(cfg, 1), sizeof *g->attn);
        if (!g->attn) goto oom;
    }
    g->hidden_hist = -1;
    if (p->capture_hidden) {
        g->hidden = calloc((size_t)(cfg->n_layer + 1) * (size_t)cfg->n_embd, sizeof *g->hidden);
        if (!g->hidden) goto oom;
    }
    g->state = gpt_state_init(m, g->p.max_batch, g->p.n_threads, err, errlen);
    if (g->state && g->hidden) gpt_state_capture_hidden(g->state, g->hidden);
    if (g->state && g->p.adaptive_threads && g->p.n_threads > 1 &&
        gpt_state_threads_invariant(g->state)) {
        g->tuning = 1;
        threadtune_init(&g->tune, g->p.n_threads);
    }
    if (!g->state) {
        gen_free(g);
        return NULL;
    }
    return g;
oom:
    snprintf(err, errlen, "generate: out of memory");
    gen_free(g);
    return NULL;
}

void gen_free(gen_t *g) {
    if (!g) return;
    gpt_state_free(g->state);
    free(g->ids);
    free(g->logits);
    free(g->attn);
    free(g->hidden);
    free(g);
}

static int reserve_ids(gen_t *g, int need, char *err, size_t errlen) {
    if (need <= g->cap_ids) return 0;
    int cap = g->cap_ids ? g->cap_ids : 256;
    while (cap < need) {
        if (cap > INT32_MAX / 2) {
            snprintf(err, errlen, "generate: history too long");
            return -1;
        }
        cap *= 2;
    }
    int *ids = realloc(g->ids, (size_t)cap * sizeof *ids);
    if (!ids) {
        snprintf(err, errlen, "generate: out of memory");
        return -1;
    }
    g->ids = ids;
    g->cap_ids = cap;
    return 0;
}

/* Runs history[start .. start+n) at the next cache positions and leaves the
 * logits of the last one in g->logits. Prefill goes in batches of max_batch
 * (the state's activation buffers are sized for that); with capture on, the
 * last token runs alone so that the capture buffer only needs one row per
 * head instead of n. */
static int run_tokens(gen_t *g, int start, int n, char *err, size_t errlen) {
    const int *ids = g->ids + start;
    int bulk = g->attn ? n - 1 : n;
    g->have_logits = 0;
    g->n_run += n;
    for (int done = 0; done < bulk;) {
        int k = bulk - done < g->p.max_batch ? bulk - done : g->p.max_batch;
        float *logits = (done + k == bulk && !g->attn) ? g->logits : NULL;
        if (gpt_forward(g->state, ids + done, k, logits, 0, NULL, err, errlen)) return -1;
        done += k;
    }
    if (g->attn) {
        if (gpt_forward(g->state, ids + n - 1, 1, g->logits, 0, g->attn, err, errlen)) return -1;
        g->attn_hist = start + n - 1;
    }
    if (g->hidden) g->hidden_hist = start + n - 1;
    g->have_logits = 1;
    return 0;
}

/* Runs the pending last id, sliding the window first if the cache is full. */
static int run_pending(gen_t *g, int *n_dropped, char *err, size_t errlen) {
    int n_ctx = g->m->cfg.n_ctx;
    *n_dropped = 0;
    if (!g->pending) return 0;
    int rc;
    if (gpt_state_n_past(g->state) >= n_ctx) {
        int keep = n_ctx / 2 > 0 ? n_ctx / 2 : 1;
        int new_start = g->n_ids - keep;
        *n_dropped = new_start - g->win_start;
        g->win_start = new_start;
        gpt_state_reset(g->state);
        rc = run_tokens(g, new_start, keep, err, errlen);
    } else if (g->tuning) {
        /* one decode step: on the count the tuner picks, timed for it */
        gpt_state_set_threads(g->state, threadtune_threads(&g->tune));
        double t0 = clockx_now();
        rc = run_tokens(g, g->n_ids - 1, 1, err, errlen);
        threadtune_record(&g->tune, clockx_now() - t0);
        gpt_state_set_threads(g->state, g->p.n_threads); /* prefills and slides: all */
    } else {
        rc = run_tokens(g, g->n_ids - 1, 1, err, errlen);
    }
    if (rc) return -1;
    g->pending = 0;
    return 0;
}

int gen_prefill(gen_t *g, const int *ids, int n, int *n_truncated, char *err, size_t errlen) {
    if (n_truncated) *n_truncated = 0;
    if (n < 1) {
        snprintf(err, errlen, "generate: the prompt is empty");
        return -1;
    }
    const gpt_config_t *cfg = &g->m->cfg;
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= cfg->n_vocab) {
            snprintf(err, errlen, "generate: prompt token %d is id %d, outside the vocabulary (%d)",
                     i, ids[i], cfg->n_vocab);
            return -1;
        }
    }
    if (reserve_ids(g, n, err, errlen)) return -1;
    memcpy(g->ids, ids, (size_t)n * sizeof *ids);
    g->n_ids = n;
    g->n_generated = 0;
    g->pending = 0;
    g->attn_hist = -1;
    int limit = cfg->n_ctx > 1 ? cfg->n_ctx - 1 : 1;
    g->win_start = n > limit ? n - limit : 0;
    if (n_truncated) *n_truncated = g->win_start;
    gpt_state_reset(g->state);
    return run_tokens(g, g->win_start, n - g->win_start, err, errlen);
}

int gen_extend(gen_t *g, const int *ids, int n, int *n_dropped, char *err, size_t errlen) {
    if (n_dropped) *n_dropped = 0;
    if (!g->have_logits && !g->pending) {
        snprintf(err, errlen, "generate: no prompt has been processed");
        return -1;
    }
    const gpt_config_t *cfg = &g->m->cfg;
    if (n < 1) {
        snprintf(err, errlen, "generate: nothing to append");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= cfg->n_vocab) {
            snprintf(err, errlen, "generate: token %d is id %d, outside the vocabulary (%d)", i,
                     ids[i], cfg->n_vocab);
            return -1;
        }
    }
    int dropped = 0;
    if (run_pending(g, &dropped, err, errlen)) return -1;
    if (reserve_ids(g, g->n_ids + n, err, errlen)) return -1;
    int old_n = g->n_ids;
    memcpy(g->ids + old_n, ids, (size_t)n * sizeof *ids);
    g->n_ids += n;
    g->n_generated = 0;
    int limit = cfg->n_ctx > 1 ? cfg->n_ctx - 1 : 1;
    int rc;
    if (g->n_ids - g->win_start <= limit) {
        rc = run_tokens(g, old_n, n, err, errlen);
    } else {
        int keep = n > cfg->n_ctx / 2 ? n : cfg->n_ctx / 2;
        if (keep > limit) keep = limit;
        if (keep < 1) keep = 1;
        int new_start = g->n_ids - keep;
        dropped += new_start - g->win_start;
        g->win_start = new_start;
        gpt_state_reset(g->state);
        rc = run_tokens(g, new_start, keep, err, errlen);
    }
    if (n_dropped) *n_dropped = dropped;
    return rc;
}

int gen_sync(gen_t *g, char *err, size_t errlen) {
    int dropped;
    return run_pending(g, &dropped, err, errlen);
}

int gen_rewind(gen_t *g, int n, int window_start, char *err, size_t errlen) {
    if (!g->have_logits && !g->pending) {
        snprintf(err, errlen, "generate: no prompt has been processed");
        return -1;
    }
    if (n < 1 || n > g->n_ids) {
        snprintf(err, errlen, "generate: cannot go back to %d tokens of %d", n, g->n_ids);
        return -1;
    }
    int n_ctx = g->m->cfg.n_ctx, limit = n_ctx > 1 ? n_ctx - 1 : 1;
    /* the window must hold ids[ws .. n) and one slot for the id that follows */
    int ws = window_start;
    if (ws < 0 || ws >= n || n - ws > limit) ws = n > limit ? n - limit : 0;
    g->n_generated = 0;
    g->attn_hist = g->hidden_hist = -1;
    int in_cache = g->n_ids - (g->pending ? 1 : 0) - g->win_start; /* positions held */
    if (ws == g->win_start && n - 1 - ws < in_cache) {
        /* the cache up to ids[n - 2] is what a fresh run would compute:
           keep it, and run ids[n - 1] again for the logits after it */
        gpt_state_truncate(g->state, n - 1 - ws);
        g->n_ids = n;
        g->pending = 1;
        int dropped;
        return run_pending(g, &dropped, err, errlen);
    }
    g->n_ids = n;
    g->pending = 0;
    g->win_start = ws;
    gpt_state_reset(g->state);
    return run_tokens(g, ws, n - ws, err, errlen);
}

long long gen_n_run(const gen_t *g) { return g->n_run; }

int gen_accept(gen_t *g, int id, gen_step_t *out, char *err, size_t errlen) {
    gen_step_t step = {id, 0, GEN_STOP_NONE};
    if (!g->have_logits) {
        snprintf(err, errlen, "generate: no prompt has been processed");
        return -1;
    }
    if (id < 0 || id >= g->m->cfg.n_vocab) {
        snprintf(err, errlen, "generate: id %d outside the vocabulary (%d)", id,
                 g->m->cfg.n_vocab);
        return -1;
    }
    int dropped = 0;
    if (run_pending(g, &dropped, err, errlen)) return -1; /* continuing after a stop */
    step.n_dropped += dropped;
    if (reserve_ids(g, g->n_ids + 1, err, errlen)) return -1;
    g->ids[g->n_ids++] = id;
    g->n_generated++;
    g->pending = 1;
    if (g->p.stop_at_eos && g->p.eos_id >= 0 && id == g->p.eos_id)
        step.stop = GEN_STOP_EOS;
    else if (g->p.max_new > 0 && g->n_generated >= g->p.max_new)
        step.stop = GEN_STOP_MAX;
    if (step.stop == GEN_STOP_NONE) {
        if (run_pending(g, &dropped, err, errlen)) return -1;
        step.n_dropped += dropped;
    }
    if (out) *out = step;
    return 0;
}

int gen_step(gen_t *g, sampler_t *smp, sampler_report_t *report, gen_step_t *out, char *err,
             size_t errlen) {
    if (!g->have_logits) {
        snprintf(err, errlen, "generate: no prompt has been processed");
        return -1;
    }
    int dropped = 0;
    if (run_pending(g, &dropped, err, errlen)) return -1;
    const int *window = g->ids + g->win_start;
    int id = sampler_sample(smp, g->logits, window, (size_t)(g->n_ids - g->win_start), report);
    if (id < 0) {
        snprintf(err, errlen, "%s", sampler_error(smp));
        return -1;
    }
    if (gen_accept(g, id, out, err, errlen)) return -1;
    if (out) out->n_dropped += dropped;
    return 0;
}

const int *gen_history(const gen_t *g, int *n) {
    if (n) *n = g->n_ids;
    return g->ids;
}

int gen_window_start(const gen_t *g) { return g->win_start; }
int gen_n_generated(const gen_t *g) { return g->n_generated; }
int gen_pending(const gen_t *g) { return g->pending; }
const float *gen_logits(const gen_t *g) { return g->have_logits ? g->logits : NULL; }
const gpt_model_t *gen_model(const gen_t *g) { return g->m; }

int gen_threads_mostly(const gen_t *g) {
    return g->tuning ? threadtune_mostly(&g->tune) : g->p.n_threads;
}
int gen_threads_adaptive(const gen_t *g) { return g->tuning; }

const float *gen_hidden(const gen_t *g, int *hist_index) {
    if (!g->hidden || g->hidden_hist < 0) return NULL;
    if (hist_index) *hist_index = g->hidden_hist;
    return g->hidden;
}

const float *gen_attn(const gen_t *g, int *pos, int *hist_index) {
    if (!g->attn || g->attn_hist < 0 || g->attn_hist < g->win_start) return NULL;
    if (pos) *pos = g->attn_hist - g->win_start;
    if (hist_index) *hist_index = g->attn_hist;
    return g->attn;
}
