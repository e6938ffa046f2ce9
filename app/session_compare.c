/* session_compare.c - /compare DIR (session_compare.h): the conversation's
 * whole token list scored by the session's model and by the model in DIR,
 * in the sliding windows of `gptscope eval` (core/decode/score.h), so the numbers
 * are those `gptscope eval` and `gptscope compare` give for the same tokens.
 *
 * The other model is loaded for each call and freed before it returns: the
 * weights are memory-mapped, so loading costs little next to scoring, and a
 * cached model would hold its memory for a command typed once in a while. */
#include "session_compare.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "score.h"
#include "session.h"

/* The model's name for the user: the last component of its directory's real
 * path (so "." and "models/x/" read as the directory's name). */
static void sc_label(const char *dir, char *label, size_t labellen) {
    char real[PATH_MAX];
    const char *p = realpath(dir, real) ? real : dir;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && p[b - 1] != '/') b--;
    snprintf(label, labellen, "%.*s", (int)(n - b), p + b);
}

/* lp[0..n): NAN, then the scores of m over ids; -1 with msg on failure. */
static int sc_score(const gpt_model_t *m, const int *ids, int n, int n_threads, double *lp,
                    char *msg, size_t msglen) {
    for (int i = 0; i < n; i++) lp[i] = NAN;
    /* lp[i] is about token i: the prediction made at position i - 1 */
    return score_logprobs(m, ids, n, n_threads, lp + 1, msg, msglen);
}

int app_session_compare(void *user, const char *dir, double **lp_self, double **lp_other, int *n,
                        char *label, size_t labellen, char *msg, size_t msglen) {
    app_session_t *s = user;
    *lp_self = *lp_other = NULL;
    *n = 0;
    if (labellen) label[0] = '\0';
    if (!dir || !*dir) {
        snprintf(msg, msglen, "/compare needs a model directory: /compare DIR");
        return -1;
    }
    if (chat_in_reply(s->chat)) {
        snprintf(msg, msglen, "/compare: a reply is in progress; compare when it has finished");
        return -1;
    }
    int n_tok = chat_n_tokens(s->chat);
    if (n_tok == 0) {
        snprintf(msg, msglen, "/compare: no conversation yet: type a prompt first");
        return -1;
    }
    if (n_tok < 2) {
        snprintf(msg, msglen, "/compare: the conversation has one token: nothing to predict yet");
        return -1;
    }
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(msg, msglen, "/compare: %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(msg, msglen, "/compare: %s is not a model directory", dir);
        return -1;
    }
    /* the config first: a directory without one is not a model, and saying
     * so beats the tokenizer check's complaint about a missing vocab.json */
    char path[4200], err[1024];
    gpt_config_t cfg;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (gpt_config_load(&cfg, path, err, sizeof err) != 0) {
        snprintf(msg, msglen, "/compare: %s is not a model directory (%s)", dir, err);
        return -1;
    }
    if (cli_same_tokenizer(s->cm.dir, dir, err, sizeof err) != 0) {
        snprintf(msg, msglen, "/compare: %s", err);
        return -1;
    }
    gpt_model_t *other = gpt_load(dir, err, sizeof err);
    if (!other) {
        snprintf(msg, msglen, "/compare: %s", err);
        return -1;
    }
    const int *ids = chat_ids(s->chat);
    for (int i = 0; i < n_tok; i++)
        if (ids[i] < 0 || ids[i] >= other->cfg.n_vocab) {
            snprintf(msg, msglen, "/compare: %s: token %d is outside its embedding of %d", dir,
                     ids[i], other->cfg.n_vocab);
            gpt_free(other);
            return -1;
        }
    int n_threads = s->n_threads < 0 ? -s->n_threads : s->n_threads;
    if (n_threads == 0) n_threads = cli_default_threads();
    double *self = malloc((size_t)n_tok * sizeof *self);
    double *oth = malloc((size_t)n_tok * sizeof *oth);
    if (!self || !oth) {
        snprintf(msg, msglen, "/compare: out of memory");
        goto fail;
    }
    if (sc_score(s->cm.model, ids, n_tok, n_threads, self, err, sizeof err) != 0 ||
        sc_score(other, ids, n_tok, n_threads, oth, err, sizeof err) != 0) {
        snprintf(msg, msglen, "/compare: %s", err);
        goto fail;
    }
    gpt_free(other);
    sc_label(dir, label, labellen);
    /* a one-line summary for a front end's status line */
    double sa = 0, sb = 0;
    for (int i = 1; i < n_tok; i++) sa += self[i], sb += oth[i];
    snprintf(msg, msglen, "compared %d tokens with %s: sum ln p %.4f here, %.4f there", n_tok - 1,
             label, sa, sb);
    *lp_self = self;
    *lp_other = oth;
    *n = n_tok;
    return 0;
fail:
    free(self);
    free(oth);
    gpt_free(other);
    return -1;
}
