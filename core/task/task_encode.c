/* task_encode.c - examples to token sequences, and the vocabulary with the
 * special tokens (task_encode.h). */
#include "task_encode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "jsonx.h"

void task_seqs_free(task_seqs_t *s) {
    if (!s) return;
    free(s->ids);
    free(s->off);
    free(s->len);
    memset(s, 0, sizeof *s);
}

typedef struct te_text {
    int *ids;
    size_t n, cap;
} te_text_t;

/* One sequence: [s] a ([$] b) [e], the longer text cut first to fit. */
static int te_append(task_seqs_t *o, const task_tokens_t *sp, const te_text_t *a,
                     const te_text_t *b, int max_len, size_t *cap) {
    size_t na = a->n, nb = b ? b->n : 0, fixed = b ? 3 : 2;
    while (na + nb + fixed > (size_t)max_len) {
        o->truncated = 1;
        if (na >= nb) na--;
        else nb--;
    }
    size_t need = na + nb + fixed, at = o->n_seq ? (size_t)o->off[o->n_seq - 1] + o->len[o->n_seq - 1] : 0;
    if (at + need > *cap) {
        size_t c = (at + need) * 2;
        int *v = realloc(o->ids, c * sizeof *v);
        if (!v) return -1;
        o->ids = v;
        *cap = c;
    }
    int *p = o->ids + at;
    *p++ = sp->start_id;
    if (na) memcpy(p, a->ids, na * sizeof *p); /* an empty text has no ids array */
    p += na;
    if (b) {
        *p++ = sp->delim_id;
        if (nb) memcpy(p, b->ids, nb * sizeof *p);
        p += nb;
    }
    *p++ = sp->extract_id;
    o->off[o->n_seq] = (int)at;
    o->len[o->n_seq] = (int)need;
    o->n_seq++;
    return 0;
}

int task_encode(tokenizer_t *tok, const task_tokens_t *sp, task_kind_t kind,
                const task_example_t *e, int max_len, task_seqs_t *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (max_len < 4) {
        snprintf(err, errlen, "max length %d is too short for the special tokens", max_len);
        return -1;
    }
    int nf = e->n_fields, rc = -1;
    te_text_t *t = calloc((size_t)(nf > 0 ? nf : 1), sizeof *t);
    int n_seq = kind == TASK_CLASSIFY || kind == TASK_ENTAIL ? 1
                : kind == TASK_SIMILAR                       ? 2
                                                             : nf - 1;
    out->off = calloc((size_t)(n_seq > 0 ? n_seq : 1), sizeof *out->off);
    out->len = calloc((size_t)(n_seq > 0 ? n_seq : 1), sizeof *out->len);
    if (!t || !out->off || !out->len) goto oom;
    for (int f = 0; f < nf; f++) {
        char sub[256];
        if (tokenizer_encode(tok, e->fields[f], strlen(e->fields[f]), &t[f].ids, &t[f].n, &t[f].cap,
                             sub, sizeof sub) != 0) {
            snprintf(err, errlen, "line %d: %s", e->line, sub);
            goto done;
        }
    }
    size_t cap = 0;
    int bad = 0;
    switch (kind) {
    case TASK_CLASSIFY: bad = nf < 1 || te_append(out, sp, &t[0], NULL, max_len, &cap); break;
    case TASK_ENTAIL: bad = nf < 2 || te_append(out, sp, &t[0], &t[1], max_len, &cap); break;
    case TASK_SIMILAR:
        bad = nf < 2 || te_append(out, sp, &t[0], &t[1], max_len, &cap) ||
              te_append(out, sp, &t[1], &t[0], max_len, &cap);
        break;
    case TASK_CHOICE:
        for (int k = 1; k < nf && !bad; k++) bad = te_append(out, sp, &t[0], &t[k], max_len, &cap);
        break;
    }
    if (bad) goto oom;
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "line %d: out of memory", e->line);
done:
    for (int f = 0; t && f < nf; f++) free(t[f].ids);
    free(t);
    if (rc != 0) task_seqs_free(out);
    return rc;
}

int task_vocab_extend(const char *vocab_in, const char *vocab_out, task_tokens_t *sp, char *err,
                      size_t errlen) {
    char *text = NULL;
    size_t len = 0;
    if (fileio_read_regular(vocab_in, (size_t)1 << 30, &text, &len, err, errlen) != 0) return -1;
    cJSON *v = jsonx_parse(text, len, vocab_in, err, errlen);
    free(text);
    if (!v) return -1;
    int rc = -1;
    if (!cJSON_IsObject(v)) {
        snprintf(err, errlen, "%s: not a JSON object of token -> id", vocab_in);
        goto done;
    }
    /* the new ids follow the largest one (ids are 0..n-1 in a sane file) */
    int n = 0;
    for (const cJSON *it = v->child; it; it = it->next) {
        int64_t id;
        if (jsonx_int(it, 0, 1 << 30, &id) != JSONX_OK) {
            snprintf(err, errlen, "%s: the id of a token is not an integer", vocab_in);
            goto done;
        }
        if (id + 1 > n) n = (int)id + 1;
    }
    const char *names[3] = {TASK_START_TOKEN, TASK_DELIM_TOKEN, TASK_EXTRACT_TOKEN};
    for (int k = 0; k < 3; k++) {
        if (cJSON_GetObjectItemCaseSensitive(v, names[k])) {
            snprintf(err, errlen, "%s: already has %s (a fine-tuned model's vocabulary?)", vocab_in,
                     names[k]);
            goto done;
        }
        cJSON_AddNumberToObject(v, names[k], n + k);
    }
    char *out = cJSON_PrintUnformatted(v);
    if (!out) {
        snprintf(err, errlen, "%s: out of memory", vocab_out);
        goto done;
    }
    rc = fileio_write_atomic(vocab_out, out, strlen(out), err, errlen);
    free(out);
    if (rc == 0) *sp = (task_tokens_t){n, n + 1, n + 2};
done:
    cJSON_Delete(v);
    return rc;
}
