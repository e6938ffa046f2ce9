/* task_infer.c - a classifier's probabilities on the inference path
 * (task_infer.h). */
#include "task_infer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_encode.h"

int task_infer_init(task_infer_t *ti, const gpt_model_t *m, tokenizer_t *tok,
                    const task_info_t *info, int n_threads, char *err, size_t errlen) {
    memset(ti, 0, sizeof *ti);
    if (!m->clf_w || info->kind != TASK_CLASSIFY || info->n_labels != m->cfg.n_clf) {
        snprintf(err, errlen, "not a classification model (the head shows for classify tasks)");
        return -1;
    }
    ti->m = m;
    ti->tok = tok;
    ti->info = info;
    ti->h = malloc((size_t)m->cfg.n_embd * sizeof(float));
    if (!ti->h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!(ti->state = gpt_state_init(m, info->max_len, n_threads, err, errlen))) {
        task_infer_free(ti);
        return -1;
    }
    return 0;
}

void task_infer_free(task_infer_t *ti) {
    if (!ti) return;
    gpt_state_free(ti->state);
    free(ti->h);
    memset(ti, 0, sizeof *ti);
}

int task_infer_text(task_infer_t *ti, const char *text, size_t len, float *probs, char *err,
                    size_t errlen) {
    err[0] = '\0';
    char *copy = malloc(len + 1);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    char *fields[1] = {copy};
    task_example_t e = {1, fields, -1, 0};
    task_seqs_t seq = {0};
    int rc = task_encode(ti->tok, &ti->info->sp, TASK_CLASSIFY, &e, ti->info->max_len, &seq, err,
                         errlen);
    free(copy);
    if (rc != 0) return -1;
    gpt_state_reset(ti->state);
    rc = gpt_forward(ti->state, seq.ids + seq.off[0], seq.len[0], NULL, 0, NULL, err, errlen);
    task_seqs_free(&seq);
    if (rc != 0 || gpt_state_final_hidden(ti->state, ti->h) != 0) {
        if (!err[0]) snprintf(err, errlen, "no hidden state");
        return -1;
    }
    const int C = ti->m->cfg.n_embd, K = ti->info->n_labels;
    double z[64], mx = -INFINITY, sum = 0;
    if (K > 64) {
        snprintf(err, errlen, "more than 64 classes");
        return -1;
    }
    int best = 0;
    for (int k = 0; k < K; k++) {
        double s = ti->m->clf_b[k];
        const float *w = ti->m->clf_w + (size_t)k * C;
        for (int c = 0; c < C; c++) s += (double)w[c] * ti->h[c];
        z[k] = s;
        if (s > mx) mx = s, best = k;
    }
    for (int k = 0; k < K; k++) sum += exp(z[k] - mx);
    for (int k = 0; k < K; k++) probs[k] = (float)(exp(z[k] - mx) / sum);
    return best;
}
