/* test_state.c - the inference state (gpt_state_t) grows its attention
 * cache with the context actually used (issue 24: a 1M-position model
 * committed gigabytes for a 3-token prompt):
 *   - a state that starts small and grows gives logits bit-identical to one
 *     sized for the whole context from the start, at every position;
 *   - gpt_state_copy works across capacities (beam search forks);
 *   - a state that could never fit is refused up front, with a message
 *     saying how much it needs, and allocates nothing. TAP output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt.h"
#include "tap.h"

static void test_growth(tap_t *t, const gpt_model_t *m) {
    char err[512] = "";
    int n_ctx = m->cfg.n_ctx, V = m->cfg.n_vocab;
    gpt_state_t *big = gpt_state_init(m, n_ctx, 1, err, sizeof err);
    gpt_state_t *small = gpt_state_init(m, 1, 1, err, sizeof err);
    float *a = malloc((size_t)V * sizeof *a), *b = malloc((size_t)V * sizeof *b);
    if (!tap_ok(t, big && small && a && b, "two states (%s)", err)) goto done;
    /* both fed one token at a time: the same arithmetic, so the same bits */
    int same = 1, at = -1;
    for (int pos = 0; pos < n_ctx; pos++) {
        int id = (pos * 37 + 11) % V;
        if (gpt_forward(big, &id, 1, a, 0, NULL, err, sizeof err) != 0 ||
            gpt_forward(small, &id, 1, b, 0, NULL, err, sizeof err) != 0) {
            same = 0;
            at = pos;
            break;
        }
        if (memcmp(a, b, (size_t)V * sizeof *a) != 0) {
            same = 0;
            at = pos;
            break;
        }
    }
    tap_ok(t, same, "a growing cache gives the logits of a full-size one at all %d positions "
                    "(first difference at %d: %s)", n_ctx, at, err);
    /* copy a full state into a fresh small one, then run both on */
    gpt_state_t *fork = gpt_state_init(m, 1, 1, err, sizeof err);
    gpt_state_truncate(big, n_ctx / 2);
    int ok = fork && gpt_state_copy(fork, big) == 0 && gpt_state_n_past(fork) == n_ctx / 2;
    for (int pos = n_ctx / 2; ok && pos < n_ctx; pos++) {
        int id = (pos * 13 + 5) % V;
        ok = gpt_forward(big, &id, 1, a, 0, NULL, err, sizeof err) == 0 &&
             gpt_forward(fork, &id, 1, b, 0, NULL, err, sizeof err) == 0 &&
             memcmp(a, b, (size_t)V * sizeof *a) == 0;
    }
    tap_ok(t, ok, "gpt_state_copy into a smaller state, then on to the end: same logits (%s)",
           err);
    /* and a multi-token call into a small state (the sgemm attention path) */
    gpt_state_t *pre = gpt_state_init(m, 16, 1, err, sizeof err);
    gpt_state_reset(big);
    int ids[16];
    for (int i = 0; i < 16; i++) ids[i] = (i * 7 + 3) % V;
    ok = pre != NULL;
    for (int chunk = 0; ok && chunk < n_ctx / 16; chunk++) {
        ok = gpt_forward(pre, ids, 16, a, 0, NULL, err, sizeof err) == 0;
        for (int i = 0; ok && i < 16; i++)
            ok = gpt_forward(big, &ids[i], 1, b, 0, NULL, err, sizeof err) == 0;
        /* prefill and token-by-token differ in summation order: close, not equal */
        for (int k = 0; ok && k < V; k++) ok = a[k] - b[k] < 1e-3f && b[k] - a[k] < 1e-3f;
    }
    tap_ok(t, ok, "16-token calls through a growing cache match token-by-token (%s)", err);
    gpt_state_free(pre);
    gpt_state_free(fork);
done:
    free(a);
    free(b);
    gpt_state_free(big);
    gpt_state_free(small);
}

/* A state for the whole context of a 1000-layer, 1M-position model is
 * terabytes: refused by gpt_state_init, which only reads the config. */
static void test_refusal(tap_t *t) {
    gpt_model_t fake;
    memset(&fake, 0, sizeof fake);
    fake.cfg.n_layer = 1000;
    fake.cfg.n_head = 8;
    fake.cfg.n_embd = 1024;
    fake.cfg.n_inner = 4096;
    fake.cfg.n_ctx = 1 << 20;
    fake.cfg.n_vocab = 100;
    char err[512] = "";
    gpt_state_t *s = gpt_state_init(&fake, fake.cfg.n_ctx, 1, err, sizeof err);
    tap_ok(t, !s && strstr(err, "GiB of inference state") && strstr(err, "1000 layers"),
           "a state that cannot fit is refused, saying how much it needs: %s", err);
    gpt_state_free(s);
    /* a small max_tokens of the same model starts small: 16 positions */
    fake.cfg.n_layer = 20;
    fake.cfg.n_embd = 8;
    fake.cfg.n_inner = 32;
    err[0] = 0;
    s = gpt_state_init(&fake, 1, 1, err, sizeof err);
    tap_ok(t, s != NULL, "a 20-layer 1M-position state for one token at a time starts (%s)", err);
    gpt_state_free(s);
}

int main(void) {
    tap_t t = {0};
    char dir[1024], err[512] = "";
    TAP_SRC(dir, "tests/reference/models/gpt2-f32");
    gpt_model_t *m = gpt_load(dir, err, sizeof err);
    if (tap_ok(&t, m != NULL, "load %s (%s)", dir, m ? "ok" : err)) test_growth(&t, m);
    gpt_free(m);
    test_refusal(&t);
    return tap_done(&t);
}
