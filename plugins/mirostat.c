/* mirostat.c - the Mirostat 2.0 sampler (Basu, Ramachandran, Keskar and
 * Varshney, "Mirostat: a neural text decoding algorithm that directly
 * controls perplexity", ICLR 2021, Algorithm 2) as a gptscope plugin.
 *
 * Mirostat keeps the surprise of the generated text near a target tau (in
 * bits) with a feedback loop instead of a fixed truncation:
 *
 *   mu = 2 tau                                  (at the start of a run)
 *   each token:
 *     keep the tokens whose surprise -log2 p(x) <= mu (at least the top one)
 *     draw x from the kept tokens, renormalised
 *     e  = S(x) - tau,  S(x) = -log2 p(x)
 *     mu = mu - eta e
 *
 * p is the model's distribution as the sampler receives it (after the
 * temperature and any logits processors); S(x) is measured on it, not on
 * the truncated one, so that tau is the surprise of the text under the
 * model, which is what the paper sets out to control. The paper's values are
 * the defaults: tau = 3, eta = 0.1.
 *
 *   gptscope generate --sampler mirostat -p "..."
 *   gptscope repl --sampler "mirostat tau=4 eta=0.2" --seed 1
 *   /sampler mirostat tau=5        (in the TUI or the REPL)
 *   /mirostat                      the controller's state */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gptscope_plugin.h"

#define MIRO_DEFAULT_TAU 3.0
#define MIRO_DEFAULT_ETA 0.1

typedef struct miro_state {
    double tau, eta, mu;
    double last_surprise; /* bits, of the last token drawn (NAN before any) */
    int last_kept;
    long n_tokens;        /* drawn since the last reset */
    float *p;             /* [n_vocab] the distribution, grown as needed */
    int cap;
    struct miro_plugin *owner;
} miro_state_t;

typedef struct miro_plugin {
    gsp_plugin_t desc;    /* what the host reads; self points back here */
    const gsp_host_api_t *host;
    miro_state_t *active; /* the instance most recently made, for /mirostat */
} miro_plugin_t;

/* "tau=3 eta=0.1" (blanks or commas between). */
static int miro_parse(const char *params, double *tau, double *eta, char *err, size_t errlen) {
    *tau = MIRO_DEFAULT_TAU;
    *eta = MIRO_DEFAULT_ETA;
    const char *p = params ? params : "";
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t') p++;
        if (!*p) break;
        size_t klen = strcspn(p, "= ,\t");
        if (p[klen] != '=') {
            snprintf(err, errlen, "'%.*s' is not key=value (tau=3 eta=0.1)", (int)klen, p);
            return -1;
        }
        char *end;
        double v = strtod(p + klen + 1, &end);
        if (end == p + klen + 1 || (*end && *end != ' ' && *end != ',' && *end != '\t') ||
            !isfinite(v)) {
            snprintf(err, errlen, "%.*s needs a number", (int)klen, p);
            return -1;
        }
        if (klen == 3 && strncmp(p, "tau", 3) == 0) {
            if (!(v > 0 && v <= 100)) {
                snprintf(err, errlen, "tau must be in (0, 100] bits (got %g)", v);
                return -1;
            }
            *tau = v;
        } else if (klen == 3 && strncmp(p, "eta", 3) == 0) {
            if (!(v > 0 && v <= 10)) {
                snprintf(err, errlen, "eta must be in (0, 10] (got %g)", v);
                return -1;
            }
            *eta = v;
        } else {
            snprintf(err, errlen, "no parameter '%.*s' (tau, eta)", (int)klen, p);
            return -1;
        }
        p = end;
    }
    return 0;
}

static void miro_reset(void *state) {
    miro_state_t *s = state;
    s->mu = 2.0 * s->tau;
    s->last_surprise = NAN;
    s->last_kept = 0;
    s->n_tokens = 0;
}

static void *miro_create(void *self, const char *params, char *err, size_t errlen) {
    miro_plugin_t *pl = self;
    double tau, eta;
    if (miro_parse(params, &tau, &eta, err, errlen) != 0) return NULL;
    miro_state_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->tau = tau;
    s->eta = eta;
    s->owner = pl;
    miro_reset(s);
    pl->active = s;
    return s;
}

static void miro_destroy(void *state) {
    miro_state_t *s = state;
    if (!s) return;
    if (s->owner && s->owner->active == s) s->owner->active = NULL;
    free(s->p);
    free(s);
}

static int miro_choose(void *state, const float *logits, int n_vocab, const int *history,
                       int n_history, gsp_uniform_fn uniform, void *rng, float *probs, char *err,
                       size_t errlen) {
    (void)history;
    (void)n_history;
    miro_state_t *s = state;
    if (n_vocab <= 0) {
        snprintf(err, errlen, "empty vocabulary");
        return -1;
    }
    if (n_vocab > s->cap) {
        float *p = realloc(s->p, (size_t)n_vocab * sizeof *p);
        if (!p) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        s->p = p;
        s->cap = n_vocab;
    }
    /* p = softmax(logits), in double for the sum (the maximum is taken
     * out first, so no exp overflows) */
    float lmax = -INFINITY;
    int best = 0;
    for (int i = 0; i < n_vocab; i++)
        if (logits[i] > lmax) lmax = logits[i], best = i;
    if (lmax == -INFINITY) {
        snprintf(err, errlen, "every token is banned (all logits are -inf)");
        return -1;
    }
    double z = 0.0;
    for (int i = 0; i < n_vocab; i++) {
        s->p[i] = logits[i] == logits[i] ? expf(logits[i] - lmax) : 0.0f;
        z += s->p[i];
    }
    for (int i = 0; i < n_vocab; i++) s->p[i] = (float)(s->p[i] / z);
    /* keep the tokens with -log2 p <= mu, i.e. p >= 2^-mu */
    double thr = exp2(-s->mu);
    double zk = 0.0;
    int kept = 0;
    for (int i = 0; i < n_vocab; i++)
        if (s->p[i] >= thr && s->p[i] > 0.0f) zk += s->p[i], kept++;
    if (kept == 0) { /* mu below the top token's surprise: the top token alone */
        thr = INFINITY;
        zk = s->p[best];
        kept = 1;
    }
    double target = uniform(rng) * zk, mass = 0.0;
    int chosen = best;
    for (int i = 0; i < n_vocab; i++) {
        int keep = thr == INFINITY ? i == best : (s->p[i] >= thr && s->p[i] > 0.0f);
        if (!keep) continue;
        probs[i] = (float)(s->p[i] / zk);
        if (mass <= target) {
            mass += s->p[i];
            if (mass > target) chosen = i;
        }
    }
    double surprise = -log2((double)s->p[chosen]);
    s->mu -= s->eta * (surprise - s->tau);
    s->last_surprise = surprise;
    s->last_kept = kept;
    s->n_tokens++;
    return chosen;
}

static int miro_cmd(void *self, const char *args, char *msg, size_t msglen) {
    miro_plugin_t *pl = self;
    if (args && *args) {
        snprintf(msg, msglen, "/mirostat takes no argument (/sampler mirostat tau=T eta=E sets it)");
        return -1;
    }
    const miro_state_t *s = pl->active;
    if (!s) {
        snprintf(msg, msglen, "mirostat is not the sampler (/sampler mirostat picks it)");
        return 0;
    }
    if (s->n_tokens == 0)
        snprintf(msg, msglen, "mirostat: tau %g bits, eta %g, mu %.3f (no token yet)", s->tau,
                 s->eta, s->mu);
    else
        snprintf(msg, msglen,
                 "mirostat: tau %g bits, eta %g, mu %.3f; last token: surprise %.2f bits, %d "
                 "tokens kept; %ld tokens",
                 s->tau, s->eta, s->mu, s->last_surprise, s->last_kept, s->n_tokens);
    return 0;
}

static void miro_plugin_destroy(void *self) {
    free(self);
}

static const gsp_sampler_t miro_samplers[] = {
    {"mirostat", "tau=3 eta=0.1 (target surprise in bits, learning rate)", miro_create,
     miro_destroy, miro_reset, miro_choose},
};

static const gsp_command_t miro_commands[] = {
    {"mirostat", "", "Mirostat's state: target, mu, the last token's surprise", miro_cmd},
};

int gptscope_plugin_entry(uint32_t host_abi, const gsp_host_api_t *host, const gsp_plugin_t **out,
                          char *err, size_t errlen) {
    if (host_abi != GSP_ABI_VERSION) {
        snprintf(err, errlen, "mirostat is built for plugin ABI %u, the host has %u",
                 (unsigned)GSP_ABI_VERSION, (unsigned)host_abi);
        return -1;
    }
    miro_plugin_t *pl = calloc(1, sizeof *pl);
    if (!pl) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pl->host = host;
    pl->desc = (gsp_plugin_t){
        .abi_version = GSP_ABI_VERSION,
        .name = "mirostat",
        .version = "1.0.0",
        .description = "Mirostat 2.0 sampling: keeps the text's surprise near a target "
                       "(--sampler mirostat)",
        .self = pl,
        .destroy = miro_plugin_destroy,
        .n_samplers = 1,
        .samplers = miro_samplers,
        .n_commands = 1,
        .commands = miro_commands,
    };
    *out = &pl->desc;
    return 0;
}
