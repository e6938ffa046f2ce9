/* test_hidden.c - the residual stream the logit lens reads, against PyTorch:
 * gpt_state_capture_hidden's rows (embeddings, then every block's output at
 * the last position) and gpt_unembed on each row (ln_f where the model has
 * one, then the tied unembedding) equal tests/reference/lens/{gpt2,gpt1}.json
 * (make_lens_reference.py, float64, an independent forward pass); the last
 * row's head equals the forward pass's own logits; attn_probe_hidden (what
 * the plugin host's hidden_states uses) gives the same rows. GPT-2 and
 * GPT-1. TAP output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_probe.h"
#include "gpt.h"
#include "tap.h"
#include "tap_json.h"

static float max_diff_row(const cJSON *row, const float *v, int n) {
    float d = cJSON_GetArraySize(row) == n ? 0.0f : INFINITY;
    for (int i = 0; i < n && d < INFINITY; i++) {
        float e = fabsf((float)cJSON_GetArrayItem(row, i)->valuedouble - v[i]);
        if (!(e <= d)) d = e; /* NaN too */
    }
    return d;
}

static void test_model(tap_t *t, const char *name) {
    char dir[1024], path[200], err[512] = "";
    snprintf(path, sizeof path, "tests/reference/models/%s-f32", name);
    TAP_SRC(dir, path);
    gpt_model_t *m = gpt_load(dir, err, sizeof err);
    snprintf(path, sizeof path, "tests/reference/lens/%s.json", name);
    char golden[1024];
    TAP_SRC(golden, path);
    cJSON *j = tap_read_json(golden);
    if (!tap_ok(t, m && j, "%s: model and golden file (%s)", name, err)) {
        gpt_free(m);
        cJSON_Delete(j);
        return;
    }
    const gpt_config_t *c = &m->cfg;
    const int L = c->n_layer, C = c->n_embd, V = c->n_vocab;
    const cJSON *jids = cJSON_GetObjectItem(j, "ids"), *jh = cJSON_GetObjectItem(j, "hidden"),
                *jl = cJSON_GetObjectItem(j, "lens_logits");
    int n = cJSON_GetArraySize(jids);
    int *ids = malloc((size_t)n * sizeof *ids);
    float *hidden = calloc((size_t)(L + 1) * C, sizeof *hidden);
    float *probe_h = calloc((size_t)(L + 1) * C, sizeof *probe_h);
    float *logits = malloc((size_t)V * sizeof *logits), *lens = malloc((size_t)V * sizeof *lens);
    for (int i = 0; i < n; i++) ids[i] = cJSON_GetArrayItem(jids, i)->valueint;
    gpt_state_t *s = gpt_state_init(m, n, 1, err, sizeof err);
    attn_probe_t *p = attn_probe_init(m, 1, err, sizeof err);
    if (!tap_ok(t, s && p && ids && hidden && probe_h && logits && lens, "%s: state (%s)", name, err))
        goto done;
    gpt_state_capture_hidden(s, hidden);
    int rc = gpt_forward(s, ids, n, logits, 0, NULL, err, sizeof err);
    tap_ok(t, rc == 0 && cJSON_GetArraySize(jh) == L + 1, "%s: forward with the capture on (%s)",
           name, err);
    float dh = 0.0f, dl = 0.0f;
    for (int l = 0; l <= L; l++) {
        float e = max_diff_row(cJSON_GetArrayItem(jh, l), hidden + (size_t)l * C, C);
        if (!(e <= dh)) dh = e;
        if (gpt_unembed(s, hidden + (size_t)l * C, lens, err, sizeof err) != 0) dl = INFINITY;
        e = max_diff_row(cJSON_GetArrayItem(jl, l), lens, V);
        if (!(e <= dl)) dl = e;
    }
    tap_ok(t, dh < 2e-4f, "%s: embeddings and every block's output equal PyTorch (max |diff| %.2g)",
           name, (double)dh);
    tap_ok(t, dl < 5e-4f, "%s: the head on every row (the logit lens) equals PyTorch (max |diff| %.2g)",
           name, (double)dl);
    gpt_unembed(s, hidden + (size_t)L * C, lens, err, sizeof err);
    float dself = 0.0f;
    for (int v = 0; v < V; v++) dself = fmaxf(dself, fabsf(lens[v] - logits[v]));
    tap_ok(t, dself < 1e-5f, "%s: the last row's head is the forward pass's own logits (%.2g)", name,
           (double)dself);
    /* the probe: the prefix cached, then the last token alone */
    rc = attn_probe_hidden(p, ids, n - 1, probe_h, err, sizeof err);
    float dp = 0.0f;
    for (int i = 0; i < (L + 1) * C; i++) dp = fmaxf(dp, fabsf(probe_h[i] - hidden[i]));
    tap_ok(t, rc == 0 && dp < 1e-5f, "%s: attn_probe_hidden gives the same rows (%.2g) %s", name,
           (double)dp, rc ? err : "");
    gpt_state_capture_hidden(s, NULL);
    gpt_state_reset(s);
    memset(hidden, 0, (size_t)(L + 1) * C * sizeof *hidden);
    rc = gpt_forward(s, ids, n, logits, 0, NULL, err, sizeof err);
    int untouched = 1;
    for (int i = 0; i < (L + 1) * C; i++) untouched &= hidden[i] == 0.0f;
    tap_ok(t, rc == 0 && untouched, "%s: capture off: the buffer is left alone", name);
done:
    attn_probe_free(p);
    gpt_state_free(s);
    free(ids);
    free(hidden);
    free(probe_h);
    free(logits);
    free(lens);
    cJSON_Delete(j);
    gpt_free(m);
}

int main(void) {
    tap_t t = {0, 0};
    test_model(&t, "gpt2");
    test_model(&t, "gpt1");
    return tap_done(&t);
}
