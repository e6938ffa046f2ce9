/* zeroshot.c - GPT-1's zero-shot classification heuristic (zeroshot.h). */
#include "zeroshot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

/* ids of text[0..len) into *ids (malloc'd, may be empty) */
static int zs_encode(tokenizer_t *tok, const char *text, size_t len, int **ids, int *n, char *err,
                     size_t errlen) {
    size_t got = 0, cap = 0;
    *ids = NULL;
    if (len > 0 && tokenizer_encode(tok, text, len, ids, &got, &cap, err, errlen) != 0) return -1;
    if (!*ids && !(*ids = malloc(sizeof(int)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *n = (int)got;
    return 0;
}

void zeroshot_free(zeroshot_t *z) {
    if (!z) return;
    gpt_state_free(z->state);
    free(z->templ);
    for (int k = 0; z->label_ids && k < z->n_labels; k++) free(z->label_ids[k]);
    free(z->label_ids);
    free(z->label_len);
    free(z->logits);
    free(z->prompt);
    memset(z, 0, sizeof *z);
}

int zeroshot_init(zeroshot_t *z, const gpt_model_t *m, tokenizer_t *tok, const char *templ,
                  const char *const *words, int n_labels, int n_threads, char *err,
                  size_t errlen) {
    memset(z, 0, sizeof *z);
    z->model = m;
    z->tok = tok;
    if (!(z->templ = strdup(templ))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *at = strstr(templ, "{text}");
    if (!at || strstr(at + 6, "{text}")) {
        snprintf(err, errlen, "the template must contain {text} once (where the example goes)");
        goto fail;
    }
    if (n_labels < 2) {
        snprintf(err, errlen, "give at least two labels");
        goto fail;
    }
    const int n_ctx = m->cfg.n_ctx, V = m->cfg.n_vocab;
    z->n_labels = n_labels;
    z->label_ids = calloc((size_t)n_labels, sizeof *z->label_ids);
    z->label_len = calloc((size_t)n_labels, sizeof *z->label_len);
    z->prompt = malloc((size_t)n_ctx * sizeof *z->prompt);
    if (!z->label_ids || !z->label_len || !z->prompt) goto oom;
    /* the template's own tokens (the two sides of {text}): the room left for
     * a text */
    int *side = NULL, n_before = 0, n_after = 0;
    int bad = zs_encode(tok, templ, (size_t)(at - templ), &side, &n_before, err, errlen);
    free(side);
    side = NULL;
    bad = bad || zs_encode(tok, at + 6, strlen(at + 6), &side, &n_after, err, errlen);
    free(side);
    if (bad) goto fail;
    z->n_templ = n_before + n_after;
    for (int k = 0; k < n_labels; k++) {
        if (zs_encode(tok, words[k], strlen(words[k]), &z->label_ids[k], &z->label_len[k], err,
                      errlen))
            goto fail;
        if (z->label_len[k] == 0) {
            snprintf(err, errlen, "label %d has no text to score", k + 1);
            goto fail;
        }
        if (z->label_len[k] > z->max_label_len) z->max_label_len = z->label_len[k];
    }
    /* at least one token of the example must fit beside the rest */
    if (z->n_templ + z->max_label_len + 1 > n_ctx) {
        snprintf(err, errlen, "the template and the longest label take %d tokens: the context "
                              "holds %d",
                 z->n_templ + z->max_label_len, n_ctx);
        goto fail;
    }
    z->logits = malloc((size_t)z->max_label_len * (size_t)V * sizeof *z->logits);
    if (!z->logits) goto oom;
    if (!(z->state = gpt_state_init(m, n_ctx, n_threads, err, errlen))) goto fail;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    zeroshot_free(z);
    return -1;
}

/* ids of prefix + text[0..len) + suffix, encoded as one string (a template
 * that ends in a space before {text} then tokenizes as the whole prompt
 * would, not as two pieces). Returns the count, or -1 with err. */
static int zs_prompt(zeroshot_t *z, const char *text, size_t len, int max, char *err,
                     size_t errlen) {
    const char *at = strstr(z->templ, "{text}");
    size_t pl = (size_t)(at - z->templ), sl = strlen(at + 6);
    char *buf = malloc(pl + len + sl + 1);
    int *ids = NULL, n;
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(buf, z->templ, pl);
    memcpy(buf + pl, text, len);
    memcpy(buf + pl + len, at + 6, sl + 1);
    int rc = zs_encode(z->tok, buf, pl + len + sl, &ids, &n, err, errlen);
    free(buf);
    if (rc != 0) return -1;
    if (n <= max) memcpy(z->prompt, ids, (size_t)n * sizeof(int));
    free(ids);
    return n;
}

int zeroshot_classify(zeroshot_t *z, const char *text, float *logp, float *probs, char *err,
                      size_t errlen) {
    const int n_ctx = z->model->cfg.n_ctx, V = z->model->cfg.n_vocab;
    const int max = n_ctx - z->max_label_len;
    int n = zs_prompt(z, text, strlen(text), max, err, errlen);
    if (n < 0) return -1;
    if (n > max) {
        /* too long: keep the text's first tokens (the start of an e-mail or
         * a review says the most), as many as leave room for the template */
        int *tids = NULL, nt = 0;
        if (zs_encode(z->tok, text, strlen(text), &tids, &nt, err, errlen) != 0) return -1;
        int keep = max - z->n_templ;
        while (n > max && keep > 0) {
            size_t kl = 0;
            char *kept = tokenizer_decode(z->tok, tids, (size_t)keep, &kl, err, errlen);
            if (!kept) {
                free(tids);
                return -1;
            }
            n = zs_prompt(z, kept, kl, max, err, errlen);
            free(kept);
            if (n < 0) {
                free(tids);
                return -1;
            }
            keep -= n > max ? n - max : 0;
        }
        free(tids);
        if (n > max) {
            snprintf(err, errlen, "the prompt does not fit in the context");
            return -1;
        }
        z->n_cut++;
    }
    if (n < 1) {
        snprintf(err, errlen, "an empty prompt: nothing to condition on");
        return -1;
    }
    gpt_state_reset(z->state);
    /* the prompt once; last position's logits predict each label's first token */
    float *first = z->logits;
    if (gpt_forward(z->state, z->prompt, n, first, 0, NULL, err, errlen) != 0) return -1;
    const float lse0 = sampler_logsumexp(first, V);
    float score[64], *sc = z->n_labels <= 64 ? score : malloc((size_t)z->n_labels * sizeof(float));
    if (!sc) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int k = 0; k < z->n_labels; k++) sc[k] = first[z->label_ids[k][0]] - lse0;
    /* later tokens of a label: its tokens but the last, from the cached prompt */
    for (int k = 0; k < z->n_labels; k++) {
        const int L = z->label_len[k];
        if (L < 2) continue;
        if (gpt_forward(z->state, z->label_ids[k], L - 1, z->logits, 1, NULL, err, errlen) != 0) {
            if (sc != score) free(sc);
            return -1;
        }
        for (int i = 1; i < L; i++) {
            const float *row = z->logits + (size_t)(i - 1) * V;
            sc[k] += row[z->label_ids[k][i]] - sampler_logsumexp(row, V);
        }
        gpt_state_truncate(z->state, n);
    }
    float mx = -INFINITY;
    int best = 0;
    for (int k = 0; k < z->n_labels; k++) {
        if (sc[k] > mx) mx = sc[k], best = k;
        if (logp) logp[k] = sc[k];
    }
    double sum = 0;
    for (int k = 0; k < z->n_labels; k++) sum += exp((double)(sc[k] - mx));
    for (int k = 0; k < z->n_labels; k++) probs[k] = (float)(exp((double)(sc[k] - mx)) / sum);
    if (sc != score) free(sc);
    return best;
}
