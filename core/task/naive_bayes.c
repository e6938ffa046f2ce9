/* naive_bayes.c - multinomial naive Bayes over words (naive_bayes.h). The
 * vocabulary is an open-addressing hash table of word -> index. */
#include "naive_bayes.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nb_model {
    int n_classes;
    double alpha;
    /* vocabulary */
    char **words;
    int n_words, cap_words;
    int *slots; /* hash table of word indices, -1 empty; n_slots a power of two */
    size_t n_slots;
    double *counts;      /* [n_words * n_classes]: occurrences of word w in class k */
    double *class_words; /* [n_classes]: all word occurrences in class k */
    double *class_docs;  /* [n_classes]: training examples of class k */
    double n_docs;
};

static uint64_t nb_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The slot holding word s[0..n) or the empty slot where it would go. */
static size_t nb_slot(const nb_model_t *m, const char *s, size_t n) {
    size_t mask = m->n_slots - 1, i = (size_t)nb_hash(s, n) & mask;
    while (m->slots[i] >= 0) {
        const char *w = m->words[m->slots[i]];
        if (strlen(w) == n && memcmp(w, s, n) == 0) break;
        i = (i + 1) & mask;
    }
    return i;
}

static int nb_grow(nb_model_t *m) {
    size_t n_slots = m->n_slots ? 2 * m->n_slots : 1u << 14;
    int *slots = malloc(n_slots * sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < n_slots; i++) slots[i] = -1;
    free(m->slots);
    m->slots = slots;
    m->n_slots = n_slots;
    for (int w = 0; w < m->n_words; w++) m->slots[nb_slot(m, m->words[w], strlen(m->words[w]))] = w;
    return 0;
}

/* Index of the word, added when add; -1 when unknown (or out of memory). */
static int nb_word(nb_model_t *m, const char *s, size_t n, int add) {
    if (add && (size_t)(m->n_words + 1) * 2 > m->n_slots && nb_grow(m) != 0) return -1;
    size_t i = nb_slot(m, s, n);
    if (m->slots[i] >= 0 || !add) return m->slots[i];
    if (m->n_words == m->cap_words) {
        int cap = m->cap_words ? 2 * m->cap_words : 4096;
        char **w = realloc(m->words, (size_t)cap * sizeof *w);
        double *c = realloc(m->counts, (size_t)cap * m->n_classes * sizeof *c);
        if (w) m->words = w;
        if (c) m->counts = c;
        if (!w || !c) return -1;
        m->cap_words = cap;
    }
    char *copy = malloc(n + 1);
    if (!copy) return -1;
    memcpy(copy, s, n);
    copy[n] = '\0';
    int id = m->n_words++;
    m->words[id] = copy;
    memset(m->counts + (size_t)id * m->n_classes, 0, (size_t)m->n_classes * sizeof *m->counts);
    m->slots[i] = id;
    return id;
}

static int nb_is_word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/* Calls fn for every word of text (lower-cased into buf). */
typedef int (*nb_word_fn)(void *ctx, const char *w, size_t n);
static int nb_words(const char *text, nb_word_fn fn, void *ctx) {
    char buf[128];
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        while (*p && !nb_is_word_byte(*p)) p++;
        size_t n = 0;
        while (*p && nb_is_word_byte(*p)) {
            unsigned char c = *p++;
            if (n < sizeof buf) buf[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        /* longer words are cut: a 128-byte prefix still tells them apart */
        if (n > 0 && fn(ctx, buf, n) != 0) return -1;
    }
    return 0;
}

typedef struct nb_train_ctx {
    nb_model_t *m;
    int k;
} nb_train_ctx_t;

static int nb_train_word(void *ctx, const char *w, size_t n) {
    nb_train_ctx_t *c = ctx;
    int id = nb_word(c->m, w, n, 1);
    if (id < 0) return -1;
    c->m->counts[(size_t)id * c->m->n_classes + c->k] += 1.0;
    c->m->class_words[c->k] += 1.0;
    return 0;
}

nb_model_t *nb_train(const task_data_t *d, double alpha, char *err, size_t errlen) {
    int K = d->n_labels;
    if (K < 1) {
        snprintf(err, errlen, "naive Bayes needs labelled classes (a classify, entail or similar task)");
        return NULL;
    }
    nb_model_t *m = calloc(1, sizeof *m);
    if (!m) goto oom;
    m->n_classes = K;
    m->alpha = alpha > 0 ? alpha : 1.0;
    m->class_words = calloc((size_t)K, sizeof *m->class_words);
    m->class_docs = calloc((size_t)K, sizeof *m->class_docs);
    if (!m->class_words || !m->class_docs || nb_grow(m) != 0) goto oom;
    for (int i = 0; i < d->n; i++) {
        const task_example_t *e = &d->ex[i];
        if (e->label < 0 || e->label >= K) continue;
        nb_train_ctx_t c = {m, e->label};
        for (int f = 0; f < e->n_fields; f++)
            if (nb_words(e->fields[f], nb_train_word, &c) != 0) goto oom;
        m->class_docs[e->label] += 1.0;
        m->n_docs += 1.0;
    }
    if (m->n_docs == 0) {
        nb_free(m);
        snprintf(err, errlen, "naive Bayes: no labelled examples to train on");
        return NULL;
    }
    return m;
oom:
    nb_free(m);
    snprintf(err, errlen, "naive Bayes: out of memory");
    return NULL;
}

void nb_free(nb_model_t *m) {
    if (!m) return;
    for (int w = 0; w < m->n_words; w++) free(m->words[w]);
    free(m->words);
    free(m->slots);
    free(m->counts);
    free(m->class_words);
    free(m->class_docs);
    free(m);
}

int nb_n_classes(const nb_model_t *m) { return m->n_classes; }
int nb_n_words(const nb_model_t *m) { return m->n_words; }

typedef struct nb_score_ctx {
    const nb_model_t *m;
    double *logp;
} nb_score_ctx_t;

static int nb_score_word(void *ctx, const char *w, size_t n) {
    nb_score_ctx_t *c = ctx;
    const nb_model_t *m = c->m;
    int id = nb_word((nb_model_t *)m, w, n, 0); /* add 0: only reads */
    if (id < 0) return 0;                       /* unseen in training: skipped */
    double V = (double)m->n_words;
    for (int k = 0; k < m->n_classes; k++)
        c->logp[k] += log((m->counts[(size_t)id * m->n_classes + k] + m->alpha) /
                          (m->class_words[k] + m->alpha * V));
    return 0;
}

static int nb_finish(const nb_model_t *m, double *logp, double *probs) {
    int best = 0;
    double mx = -INFINITY;
    for (int k = 0; k < m->n_classes; k++)
        if (logp[k] > mx) {
            mx = logp[k];
            best = k;
        }
    double z = 0;
    for (int k = 0; k < m->n_classes; k++) z += exp(logp[k] - mx);
    for (int k = 0; probs && k < m->n_classes; k++) probs[k] = exp(logp[k] - mx) / z;
    return best;
}

static void nb_prior(const nb_model_t *m, double *logp) {
    for (int k = 0; k < m->n_classes; k++)
        /* a class with no examples gets a vanishing prior, not log 0 */
        logp[k] = log((m->class_docs[k] + 1e-9) / (m->n_docs + 1e-9 * m->n_classes));
}

int nb_predict_example(const nb_model_t *m, const task_example_t *e, double *probs) {
    double logp[64], *lp = m->n_classes <= 64 ? logp : malloc((size_t)m->n_classes * sizeof *lp);
    if (!lp) return 0;
    nb_prior(m, lp);
    nb_score_ctx_t c = {m, lp};
    for (int f = 0; f < e->n_fields; f++) nb_words(e->fields[f], nb_score_word, &c);
    int best = nb_finish(m, lp, probs);
    if (lp != logp) free(lp);
    return best;
}

int nb_predict(const nb_model_t *m, const char *text, double *probs) {
    char *field = (char *)text; /* read only */
    task_example_t e = {1, &field, -1, 0};
    return nb_predict_example(m, &e, probs);
}
