/* test_zeroshot.c - GPT-1's zero-shot heuristic (core/task/zeroshot.c) on the
 * small reference GPT-2 (tests/reference/models/gpt2-f32, 64-token context):
 *   - each label's score, computed from the cached prompt, equals the sum of
 *     log-softmax terms of one plain forward pass over prompt + label, for
 *     one-token and several-token labels;
 *   - the probabilities are the softmax of the scores, the result the argmax;
 *   - a text longer than the context keeps its first tokens (counted), and
 *     gives the same answer as that cut text given whole;
 *   - bad templates and labels are refused with a message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt.h"
#include "sampler.h"
#include "tap.h"
#include "tokenizer.h"
#include "zeroshot.h"

static int encode(tokenizer_t *tok, const char *s, int *out, int max) {
    int *ids = NULL;
    size_t n = 0, cap = 0;
    char err[256];
    if (tokenizer_encode(tok, s, strlen(s), &ids, &n, &cap, err, sizeof err) != 0) return -1;
    int k = (int)n < max ? (int)n : max;
    memcpy(out, ids, (size_t)k * sizeof(int));
    free(ids);
    return k;
}

/* log P(label | prefix text suffix) from one fresh forward pass */
static double plain_score(const gpt_model_t *m, tokenizer_t *tok, const char *prompt,
                          const char *label) {
    const int V = m->cfg.n_vocab;
    int ids[128], np = encode(tok, prompt, ids, 64), nl = encode(tok, label, ids + np, 64 - np);
    char err[256];
    gpt_state_t *st = gpt_state_init(m, np + nl, 1, err, sizeof err);
    float *lg = malloc((size_t)(np + nl) * V * sizeof(float));
    double s = NAN;
    if (st && lg && np > 0 && nl > 0 && gpt_forward(st, ids, np + nl, lg, 1, NULL, err, sizeof err) == 0) {
        s = 0;
        for (int i = 0; i < nl; i++) {
            const float *row = lg + (size_t)(np - 1 + i) * V;
            s += (double)row[ids[np + i]] - (double)sampler_logsumexp(row, V);
        }
    }
    free(lg);
    gpt_state_free(st);
    return s;
}

int main(void) {
    tap_t t = {0};
    char dir[1024], err[512] = "";
    TAP_SRC(dir, "tests/reference/models/gpt2-f32");
    gpt_model_t *m = gpt_load(dir, err, sizeof err);
    char vocab[1100], merges[1100];
    snprintf(vocab, sizeof vocab, "%s/vocab.json", dir);
    snprintf(merges, sizeof merges, "%s/merges.txt", dir);
    tokenizer_t *tok = m ? tokenizer_load_files(vocab, merges, TOKENIZER_GPT2, err, sizeof err) : NULL;
    if (!tap_ok(&t, m && tok, "reference model and tokenizer load %s", err)) return tap_done(&t);

    const char *words[] = {" a", " the cat", " hello there"};
    zeroshot_t z;
    int ok = zeroshot_init(&z, m, tok, "Q: {text} A:", words, 3, 2, err, sizeof err) == 0;
    tap_ok(&t, ok, "init with three labels %s", err);
    if (ok) {
        tap_ok(&t, z.label_len[0] >= 1 && z.max_label_len >= 2, "labels of one and several tokens");
        float logp[3], probs[3];
        int best = zeroshot_classify(&z, "what is this", logp, probs, err, sizeof err);
        double worst = 0;
        for (int k = 0; k < 3; k++) {
            double want = plain_score(m, tok, "Q: what is this A:", words[k]);
            double d = fabs(want - (double)logp[k]);
            if (!(d <= worst)) worst = d; /* NaN counts as the worst */
        }
        tap_ok(&t, best >= 0 && worst < 1e-4,
               "scores from the cached prompt = one plain pass over prompt + label (max diff %.2e)",
               worst);
        double sum = 0, mx = -INFINITY;
        int arg = -1;
        for (int k = 0; k < 3; k++) {
            sum += probs[k];
            if (logp[k] > mx) mx = logp[k], arg = k;
        }
        double d01 = log((double)probs[0] / probs[1]) - ((double)logp[0] - logp[1]);
        tap_ok(&t, fabs(sum - 1) < 1e-5 && fabs(d01) < 1e-4 && arg == best,
               "probabilities: softmax of the scores (sum %.6f), result the argmax", sum);
        /* the same text twice: the cache is reset between examples */
        float logp2[3], probs2[3];
        zeroshot_classify(&z, "what is this", logp2, probs2, err, sizeof err);
        tap_ok(&t, memcmp(logp, logp2, sizeof logp) == 0, "a second call gives the same scores");

        /* longer than the context: the first tokens are kept */
        char longtext[4096] = "";
        for (int i = 0; i < 60; i++) strcat(longtext, i % 2 ? " dog" : " cat");
        int cut0 = z.n_cut;
        float lpl[3], ppl[3];
        int bl = zeroshot_classify(&z, longtext, lpl, ppl, err, sizeof err);
        int room = m->cfg.n_ctx - z.n_templ - z.max_label_len;
        int ids[256], n = encode(tok, longtext, ids, 256);
        char *kept = tokenizer_decode(tok, ids, (size_t)(room < n ? room : n), NULL, err, sizeof err);
        float lpk[3], ppk[3];
        int bk = kept ? zeroshot_classify(&z, kept, lpk, ppk, err, sizeof err) : -1;
        tap_ok(&t, bl >= 0 && z.n_cut == cut0 + 1 && n > room && bk == bl &&
                       fabsf(lpk[1] - lpl[1]) < 1e-5f,
               "a text over the context is cut to its first %d tokens (counted once)", room);
        free(kept);
        zeroshot_free(&z);
    }

    /* refusals */
    zeroshot_t b;
    const char *two[] = {" yes", " no"}, *empty[] = {" yes", ""};
    tap_ok(&t, zeroshot_init(&b, m, tok, "no placeholder", two, 2, 1, err, sizeof err) == -1 &&
                   strstr(err, "{text}"),
           "a template without {text} is refused: %s", err);
    tap_ok(&t, zeroshot_init(&b, m, tok, "{text} {text}", two, 2, 1, err, sizeof err) == -1,
           "{text} twice is refused: %s", err);
    tap_ok(&t, zeroshot_init(&b, m, tok, "{text}", two, 1, 1, err, sizeof err) == -1,
           "one label is refused: %s", err);
    tap_ok(&t, zeroshot_init(&b, m, tok, "{text}", empty, 2, 1, err, sizeof err) == -1 &&
                   strstr(err, "label 2"),
           "an empty label is refused: %s", err);
    char huge[2048] = "{text}";
    for (int i = 0; i < 100; i++) strcat(huge, " word");
    tap_ok(&t, zeroshot_init(&b, m, tok, huge, two, 2, 1, err, sizeof err) == -1 &&
                   strstr(err, "context"),
           "a template longer than the context is refused: %s", err);

    tokenizer_free(tok);
    gpt_free(m);
    return tap_done(&t);
}
