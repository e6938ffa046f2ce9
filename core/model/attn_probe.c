/* attn_probe.c - attention of any position, recomputed (attn_probe.h). */
#include "attn_probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Positions per forward call when capturing a whole matrix: the capture
   buffer holds n_layer * n_head * CHUNK * n_ctx floats (GPT-2 small: 37 MB). */
#define ATTN_PROBE_CHUNK 64

struct attn_probe {
    const gpt_model_t *m;
    gpt_state_t *state;
    int *ids;     /* what the state's cache holds: ids[0..n_cached) */
    int n_cached;
    float *capture; /* n_layer * n_head * CHUNK * n_ctx */
};

attn_probe_t *attn_probe_init(const gpt_model_t *m, int n_threads, char *err, size_t errlen) {
    attn_probe_t *p = calloc(1, sizeof *p);
    const gpt_config_t *cfg = &m->cfg;
    if (p) {
        p->m = m;
        p->ids = malloc((size_t)cfg->n_ctx * sizeof(int));
        p->capture = malloc(gpt_attn_capture_size(cfg, ATTN_PROBE_CHUNK) * sizeof(float));
    }
    if (!p || !p->ids || !p->capture) {
        snprintf(err, errlen, "attention probe: out of memory");
        attn_probe_free(p);
        return NULL;
    }
    p->state = gpt_state_init(m, ATTN_PROBE_CHUNK, n_threads, err, errlen);
    if (!p->state) {
        attn_probe_free(p);
        return NULL;
    }
    return p;
}

void attn_probe_free(attn_probe_t *p) {
    if (!p) return;
    gpt_state_free(p->state);
    free(p->ids);
    free(p->capture);
    free(p);
}

static int probe_check(const attn_probe_t *p, const int *ids, int n, char *err, size_t errlen) {
    const gpt_config_t *cfg = &p->m->cfg;
    if (n < 1 || n > cfg->n_ctx) {
        snprintf(err, errlen, "attention probe: %d positions, the model takes 1..%d", n, cfg->n_ctx);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= cfg->n_vocab) {
            snprintf(err, errlen, "attention probe: id %d outside the vocabulary", ids[i]);
            return -1;
        }
    }
    return 0;
}

/* Makes the cache hold exactly ids[0..n): keeps the common prefix with what
   it holds and runs the rest without capture. */
static int probe_prefix(attn_probe_t *p, const int *ids, int n, char *err, size_t errlen) {
    int same = 0;
    while (same < n && same < p->n_cached && p->ids[same] == ids[same]) same++;
    gpt_state_truncate(p->state, same);
    p->n_cached = same;
    while (p->n_cached < n) {
        int k = n - p->n_cached < ATTN_PROBE_CHUNK ? n - p->n_cached : ATTN_PROBE_CHUNK;
        if (gpt_forward(p->state, ids + p->n_cached, k, NULL, 0, NULL, err, errlen) != 0) {
            gpt_state_reset(p->state);
            p->n_cached = 0;
            return -1;
        }
        memcpy(p->ids + p->n_cached, ids + p->n_cached, (size_t)k * sizeof(int));
        p->n_cached += k;
    }
    return 0;
}

int attn_probe_row(attn_probe_t *p, const int *ids, int pos, float *out, char *err,
                   size_t errlen) {
    if (probe_check(p, ids, pos + 1, err, errlen) != 0) return -1;
    if (probe_prefix(p, ids, pos, err, errlen) != 0) return -1;
    if (gpt_forward(p->state, ids + pos, 1, NULL, 0, p->capture, err, errlen) != 0) {
        gpt_state_reset(p->state);
        p->n_cached = 0;
        return -1;
    }
    p->ids[pos] = ids[pos];
    p->n_cached = pos + 1;
    const gpt_config_t *cfg = &p->m->cfg;
    int lh = cfg->n_layer * cfg->n_head;
    /* capture layout for one query: [layer][head][key] with key stride n_ctx */
    for (int i = 0; i < lh; i++)
        memcpy(out + (size_t)i * (pos + 1), p->capture + (size_t)i * cfg->n_ctx,
               (size_t)(pos + 1) * sizeof(float));
    return 0;
}

int attn_probe_matrix(attn_probe_t *p, const int *ids, int n, int layer, int head, float *out,
                      char *err, size_t errlen) {
    const gpt_config_t *cfg = &p->m->cfg;
    if (probe_check(p, ids, n, err, errlen) != 0) return -1;
    if (layer < 0 || layer >= cfg->n_layer || head < -1 || head >= cfg->n_head) {
        snprintf(err, errlen, "attention probe: no layer %d head %d (the model has %d x %d)", layer,
                 head, cfg->n_layer, cfg->n_head);
        return -1;
    }
    memset(out, 0, (size_t)n * n * sizeof(float));
    gpt_state_reset(p->state);
    p->n_cached = 0;
    int h0 = head < 0 ? 0 : head, h1 = head < 0 ? cfg->n_head : head + 1;
    float scale = 1.0f / (float)(h1 - h0);
    for (int done = 0; done < n;) {
        int k = n - done < ATTN_PROBE_CHUNK ? n - done : ATTN_PROBE_CHUNK;
        if (gpt_forward(p->state, ids + done, k, NULL, 0, p->capture, err, errlen) != 0) {
            gpt_state_reset(p->state);
            p->n_cached = 0;
            return -1;
        }
        /* capture: [layer][head][i][key], i over this call's k queries */
        for (int h = h0; h < h1; h++) {
            const float *src = p->capture + ((size_t)(layer * cfg->n_head + h) * k) * cfg->n_ctx;
            for (int i = 0; i < k; i++) {
                float *row = out + (size_t)(done + i) * n;
                const float *s = src + (size_t)i * cfg->n_ctx;
                for (int key = 0; key <= done + i; key++) row[key] += scale * s[key];
            }
        }
        memcpy(p->ids + done, ids + done, (size_t)k * sizeof(int));
        done += k;
        p->n_cached = done;
    }
    return 0;
}

int attn_probe_hidden(attn_probe_t *p, const int *ids, int pos, float *out, char *err,
                      size_t errlen) {
    if (probe_check(p, ids, pos + 1, err, errlen) != 0) return -1;
    if (probe_prefix(p, ids, pos, err, errlen) != 0) return -1;
    gpt_state_capture_hidden(p->state, out);
    int rc = gpt_forward(p->state, ids + pos, 1, NULL, 0, NULL, err, errlen);
    gpt_state_capture_hidden(p->state, NULL);
    if (rc != 0) {
        gpt_state_reset(p->state);
        p->n_cached = 0;
        return -1;
    }
    p->ids[pos] = ids[pos];
    p->n_cached = pos + 1;
    return 0;
}

int attn_probe_unembed(attn_probe_t *p, const float *h, float *logits, char *err,
                       size_t errlen) {
    return gpt_unembed(p->state, h, logits, err, errlen);
}
