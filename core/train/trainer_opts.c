/* trainer_opts.c - ranges of the training options (trainer_opts.h). */
#include "trainer_opts.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TRO(key, flag, type, field, lo, hi, lo_open, hi_open) \
    {key, flag, type, offsetof(trainer_opts_t, field), lo, hi, lo_open, hi_open, NAN}
#define TRO_UNSET(key, flag, type, field, lo, hi, lo_open, hi_open, unset) \
    {key, flag, type, offsetof(trainer_opts_t, field), lo, hi, lo_open, hi_open, unset}

/* Ranges as the flags have always had them; beta1 and eps have no flag. */
static const trainer_opt_range_t tro_table[] = {
    TRO("layers", "layers", TRO_INT, n_layer, 1, 256, 0, 0),
    TRO("heads", "heads", TRO_INT, n_head, 1, 256, 0, 0),
    TRO("embd", "embd", TRO_INT, n_embd, 1, 16384, 0, 0),
    TRO("ctx", "ctx", TRO_INT, n_ctx, 2, 65536, 0, 0),
    TRO("vocab_size", "vocab-size", TRO_INT, vocab_size, 257, 1 << 20, 0, 0),
    TRO("batch", "batch", TRO_INT, batch, 1, 1 << 16, 0, 0),
    TRO("accum", "accum", TRO_INT, accum, 1, 1 << 16, 0, 0),
    TRO_UNSET("seq", "seq", TRO_INT, seq, 1, 65536, 0, 0, 0),
    TRO("steps", "steps", TRO_I64, steps, 1, 1 << 30, 0, 0),
    TRO("warmup", "warmup", TRO_I64, warmup, 0, 1 << 30, 0, 0),
    TRO("lr", "lr", TRO_FLOAT, lr, 0, 1, 1, 0),
    TRO_UNSET("min_lr", "min-lr", TRO_FLOAT, min_lr, 0, 1, 0, 0, -1),
    TRO("wd", "wd", TRO_FLOAT, weight_decay, 0, 10, 0, 0),
    TRO("beta1", "", TRO_FLOAT, beta1, 0, 1, 1, 1),
    TRO("beta2", "beta2", TRO_FLOAT, beta2, 0, 1, 1, 1),
    TRO("eps", "", TRO_FLOAT, eps, 0, 1, 1, 0),
    TRO("grad_clip", "grad-clip", TRO_FLOAT, grad_clip, 0, 1e6, 0, 0),
    TRO("dropout", "dropout", TRO_FLOAT, dropout, 0, 1, 0, 1),
    TRO("bpe_dropout", "bpe-dropout", TRO_FLOAT, bpe_dropout, 0, 1, 0, 1),
    TRO("ema", "ema", TRO_FLOAT, ema, 0, 1, 0, 1),
    TRO("muon_lr", "muon", TRO_FLOAT, muon_lr, 0, 1, 0, 0),
    TRO("muon_wd", "muon-wd", TRO_FLOAT, muon_wd, 0, 10, 0, 0),
    TRO("muon_momentum", "muon-momentum", TRO_FLOAT, muon_momentum, 0, 1, 0, 1),
    TRO("muon_ns", "muon-ns", TRO_INT, muon_ns, 1, 20, 0, 0),
    TRO("eval_every", "eval-every", TRO_I64, eval_every, 0, 1 << 30, 0, 0),
    TRO("eval_tokens", "eval-tokens", TRO_I64, eval_tokens, 0, 1 << 30, 0, 0),
    TRO("save_every", "save-every", TRO_I64, save_every, 0, 1 << 30, 0, 0),
    TRO("keep_best", "", TRO_INT, keep_best, 0, 1, 0, 0),
    TRO("threads", "threads", TRO_INT, threads, 1, 1024, 0, 0),
};

const trainer_opt_range_t *trainer_opt_find(const char *key) {
    for (size_t i = 0; i < sizeof tro_table / sizeof tro_table[0]; i++)
        if (strcmp(tro_table[i].key, key) == 0 ||
            (tro_table[i].flag[0] && strcmp(tro_table[i].flag, key) == 0))
            return &tro_table[i];
    return NULL;
}

void trainer_opt_store(const trainer_opt_range_t *r, trainer_opts_t *o, double v) {
    char *p = (char *)o + r->offset;
    switch (r->type) {
    case TRO_INT: *(int *)(void *)p = (int)v; break;
    case TRO_I64: *(int64_t *)(void *)p = (int64_t)v; break;
    case TRO_FLOAT: *(float *)(void *)p = (float)v; break;
    }
}

int trainer_opt_ok(const trainer_opt_range_t *r, double v, char *why, size_t whylen) {
    if (!isnan(r->unset) && v == r->unset) return 1;
    int in = isfinite(v) && (r->lo_open ? v > r->lo : v >= r->lo) &&
             (r->hi_open ? v < r->hi : v <= r->hi);
    if (in && r->type != TRO_FLOAT && v != floor(v)) {
        snprintf(why, whylen, "must be an integer");
        return 0;
    }
    if (in) return 1;
    if (r->type == TRO_FLOAT)
        snprintf(why, whylen, "must be in %s%g, %g%s", r->lo_open ? "(" : "[", r->lo, r->hi,
                 r->hi_open ? ")" : "]");
    else
        snprintf(why, whylen, "must be an integer from %.0f to %.0f", r->lo, r->hi);
    return 0;
}

int trainer_opts_read_json(trainer_opts_t *o, const cJSON *j, const char *name, char *err,
                           size_t errlen) {
    for (size_t i = 0; i < sizeof tro_table / sizeof tro_table[0]; i++) {
        const trainer_opt_range_t *r = &tro_table[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, r->key);
        if (!v) continue; /* older states lack newer options: keep the default */
        char why[96];
        if (!cJSON_IsNumber(v)) {
            snprintf(err, errlen, "%s: \"%s\" must be a number", name, r->key);
            return -1;
        }
        if (!trainer_opt_ok(r, v->valuedouble, why, sizeof why)) {
            snprintf(err, errlen, "%s: \"%s\" is %.6g; it %s", name, r->key, v->valuedouble, why);
            return -1;
        }
        trainer_opt_store(r, o, v->valuedouble);
    }
    return 0;
}
