/* plugin_export.c - stored sessions for plugin exporters (plugin_export.h). */
#include "plugin_export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_probe.h"

/* What attention() needs: every id of the session in order, each token's
 * window start, and a probe on the model. */
typedef struct export_ctx {
    const gpt_model_t *m;
    attn_probe_t *probe;
    int n_threads;
    int *ids, *window;
    int n;
} export_ctx_t;

static int export_attention(const gsp_session_t *s, int index, float *out, size_t cap,
                            int *n_keys, int *key0, char *err, size_t errlen) {
    export_ctx_t *x = s->host_data;
    if (!x || !x->m) {
        snprintf(err, errlen, "the session's model is not available");
        return -1;
    }
    if (index < 0 || index >= x->n || !out || !n_keys || !key0) {
        snprintf(err, errlen, "no token %d in the session", index);
        return -1;
    }
    const gpt_config_t *c = &x->m->cfg;
    int ws = x->window[index];
    if (ws < 0 || ws > index || index - ws >= c->n_ctx) ws = index >= c->n_ctx ? index - c->n_ctx + 1 : 0;
    int keys = index - ws + 1;
    size_t need = (size_t)c->n_layer * (size_t)c->n_head * (size_t)keys;
    if (cap < need) {
        snprintf(err, errlen, "attention of token %d needs %zu floats, the buffer holds %zu", index,
                 need, cap);
        return -1;
    }
    if (!x->probe && !(x->probe = attn_probe_init(x->m, x->n_threads, err, errlen))) return -1;
    if (attn_probe_row(x->probe, x->ids + ws, keys - 1, out, err, errlen) != 0) return -1;
    *n_keys = keys;
    *key0 = ws;
    return 0;
}

typedef struct export_sink {
    FILE *f;
} export_sink_t;

static int export_write(void *out, const void *data, size_t len) {
    export_sink_t *s = out;
    if (len == 0) return 0;
    if (!data) return -1;
    return fwrite(data, 1, len, s->f) == len ? 0 : -1;
}

int plugin_export_session(plugin_host_t *ph, const gsp_exporter_t *ex, int owner,
                          const store_session_data_t *d, const gpt_model_t *m, int n_threads,
                          char **out, size_t *out_len, char *err, size_t errlen) {
    *out = NULL;
    *out_len = 0;
    int n_tok = 0, n_cand = 0;
    for (int t = 0; t < d->n_turns; t++) {
        n_tok += d->turns[t].n_tokens;
        for (int k = 0; k < d->turns[t].n_tokens; k++) n_cand += d->turns[t].tokens[k].n_cand;
    }
    gsp_turn_t *turns = calloc((size_t)d->n_turns + 1, sizeof *turns);
    gsp_token_t *toks = calloc((size_t)n_tok + 1, sizeof *toks);
    gsp_candidate_t *cands = calloc((size_t)n_cand + 1, sizeof *cands);
    export_ctx_t x = {m, NULL, n_threads, malloc(((size_t)n_tok + 1) * sizeof(int)),
                      malloc(((size_t)n_tok + 1) * sizeof(int)), n_tok};
    int rc = -1;
    if (!turns || !toks || !cands || !x.ids || !x.window) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    int ti = 0, ci = 0;
    for (int t = 0; t < d->n_turns; t++) {
        const store_turn_data_t *st = &d->turns[t];
        turns[t] = (gsp_turn_t){strcmp(st->role, "user") == 0 ? 0 : 1, st->stop,
                                st->settings_json, ti, st->n_tokens, toks + ti};
        for (int k = 0; k < st->n_tokens; k++, ti++) {
            const store_token_t *s = &st->tokens[k];
            gsp_token_t *g = &toks[ti];
            g->id = s->id;
            g->text = s->text ? s->text : "";
            g->text_len = s->text ? s->text_len : 0;
            g->has_sample = s->has_sample;
            g->prob = s->chosen_prob;
            g->raw_prob = (float)exp((double)s->chosen_raw_logprob);
            g->entropy = s->entropy_raw;
            g->rank = s->chosen_rank;
            g->n_cand = s->n_cand;
            g->cand = cands + ci;
            for (int j = 0; j < s->n_cand; j++, ci++)
                cands[ci] = (gsp_candidate_t){s->cand[j].id, s->cand[j].text, s->cand[j].raw_prob,
                                              s->cand[j].prob, s->cand[j].kept};
            x.ids[ti] = s->id;
            x.window[ti] = s->window_start;
        }
    }
    const store_session_info_t *i = &d->info;
    gsp_session_t gs = {i->id, i->created, i->updated, i->title ? i->title : "",
                        i->model_path ? i->model_path : "", i->settings_json ? i->settings_json : "{}",
                        d->n_turns, n_tok, turns, m ? m->cfg.n_layer : 0, m ? m->cfg.n_head : 0,
                        export_attention, &x};
    if (m)
        for (int k = 0; k < n_tok; k++)
            if (x.ids[k] < 0 || x.ids[k] >= m->cfg.n_vocab) { /* another vocabulary: no attention */
                gs.n_layer = gs.n_head = 0;
                x.m = NULL;
                break;
            }
    export_sink_t sink = {open_memstream(out, out_len)};
    if (!sink.f) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    char msg[300] = "";
    int er = ex->run(ph->v[owner].desc->self, &gs, export_write, &sink, msg, sizeof msg);
    if (fclose(sink.f) != 0 && er == 0) {
        snprintf(msg, sizeof msg, "out of memory");
        er = -1;
    }
    if (er != 0) {
        plugin_host_hook_error(ph, owner, msg, err, errlen);
        free(*out);
        *out = NULL;
        *out_len = 0;
        goto done;
    }
    rc = 0;
done:
    attn_probe_free(x.probe);
    free(x.ids);
    free(x.window);
    free(turns);
    free(toks);
    free(cands);
    return rc;
}
