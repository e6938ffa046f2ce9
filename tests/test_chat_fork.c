/* test_chat_fork.c - forking a conversation at a generated token
 * (core/decode/chat_fork.c, gen_rewind) on the tiny GPT-2 reference model (n_ctx
 * 64, so a long conversation slides its window).
 *
 * The reference is an independent path through the engine: a fresh
 * generator prefilled with the history up to the fork plus the chosen
 * candidate, decoding greedily, must give the tokens and the logits the
 * forked chat gives. gen_n_run counts the positions each path ran, which
 * shows the cache before the fork is kept rather than recomputed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "generate.h"
#include "tap.h"

typedef struct fork_log {
    int forks, tokens, fork_turn, fork_shared, first_token_after_fork;
} fork_log_t;

static int rec_token(void *u, const chat_t *c, int index, char *err, size_t errlen) {
    (void)c, (void)err, (void)errlen;
    fork_log_t *l = u;
    if (l->forks && l->first_token_after_fork < 0) l->first_token_after_fork = index;
    l->tokens++;
    return 0;
}
static int rec_fork(void *u, const chat_t *c, int turn, int n_shared, char *err, size_t errlen) {
    (void)c, (void)err, (void)errlen;
    fork_log_t *l = u;
    l->forks++;
    l->fork_turn = turn;
    l->fork_shared = n_shared;
    return 0;
}

static int run_reply(chat_t *c, int begin, char *err, size_t errlen) {
    if (begin && chat_reply_begin(c, err, errlen) != 0) return -1;
    chat_stop_t stop = CHAT_STOP_NONE;
    for (int k = 0; stop == CHAT_STOP_NONE && k < 1000; k++)
        if (chat_reply_step(c, &stop, err, errlen) != 0) return -1;
    return chat_reply_end(c, CHAT_STOP_INTERRUPTED, err, errlen);
}

/* Greedy continuation of ids[0..n) (window from ws) by a fresh generator:
 * n_more ids into out, and the logits after the last. */
static int fresh_greedy(const gpt_model_t *m, const int *ids, int n, int ws, int n_more, int *out,
                        float *logits, long long *n_run) {
    char err[256];
    gen_params_t gp = gen_params_default();
    gp.stop_at_eos = 0;
    gen_t *g = gen_init(m, &gp, err, sizeof err);
    sampler_params_t sp = sampler_params_default();
    sp.temperature = 0;
    sampler_t *smp = sampler_init(&sp, m->cfg.n_vocab, err, sizeof err);
    int rc = g && smp ? gen_prefill(g, ids + ws, n - ws, NULL, err, sizeof err) : -1;
    if (n_run) *n_run = g ? gen_n_run(g) : 0;
    for (int k = 0; rc == 0 && k < n_more; k++) {
        gen_step_t st;
        rc = gen_step(g, smp, NULL, &st, err, sizeof err);
        out[k] = st.id;
    }
    if (rc == 0) memcpy(logits, gen_logits(g), (size_t)m->cfg.n_vocab * sizeof *logits);
    gen_free(g);
    sampler_free(smp);
    return rc;
}

/* Forks at reply token `at` (an index into the chat) with candidate cand and
 * checks the continuation against a fresh greedy run. */
static void check_fork(tap_t *t, const gpt_model_t *m, chat_t *c, int at, int cand,
                       const char *what, long long want_run) {
    char err[256];
    int V = m->cfg.n_vocab;
    const chat_token_t *orig = chat_token(c, at);
    sampler_report_t rep = orig->report;
    int ws = orig->window_start, turn = orig->turn;
    int first = chat_turn(c, turn)->first;
    int *before = malloc((size_t)at * sizeof *before);
    memcpy(before, chat_ids(c), (size_t)at * sizeof *before);
    long long run0 = gen_n_run(chat_gen(c));
    int rc = chat_fork(c, at, cand, err, sizeof err);
    long long ran = gen_n_run(chat_gen(c)) - run0;
    tap_ok(t, rc == 0 && chat_in_reply(c), "%s: chat_fork at token %d, candidate %d (%s)", what,
           at, cand + 1, rc ? err : "");
    if (rc != 0) {
        free(before);
        return;
    }
    const chat_token_t *ft = chat_token(c, at);
    tap_ok(t, chat_n_tokens(c) == at + 1 && ft->id == rep.cand[cand].id &&
                  ft->report.chosen == rep.cand[cand].id && ft->report.chosen_rank == cand &&
                  ft->report.chosen_raw_logprob == rep.cand[cand].raw_logprob &&
                  ft->report.n_cand == rep.n_cand && ft->report.cand[0].id == rep.cand[0].id,
           "%s: the token at the fork is the candidate, with the distribution it was drawn from",
           what);
    tap_ok(t, memcmp(before, chat_ids(c), (size_t)at * sizeof *before) == 0 &&
                  chat_n_turns(c) == turn + 1 && chat_turn(c, turn)->first == first,
           "%s: everything before the fork is kept, the turns after it dropped", what);
    tap_ok(t, ran == want_run, "%s: the fork ran %lld positions (want %lld)", what, ran,
           want_run);
    rc = run_reply(c, 0, err, sizeof err);
    int n = chat_n_tokens(c);
    int n_more = n - at - 1;
    int *ids = malloc((size_t)(at + 1) * sizeof *ids), *cont = malloc((size_t)(n_more + 1) * sizeof *cont);
    memcpy(ids, before, (size_t)at * sizeof *ids);
    ids[at] = rep.cand[cand].id;
    float *lg = malloc((size_t)V * sizeof *lg);
    int fws = ws >= 0 && ws < at ? ws : 0;
    int frc = fresh_greedy(m, ids, at + 1, fws, n_more, cont, lg, NULL);
    int same = rc == 0 && frc == 0 && n_more > 0;
    for (int k = 0; same && k < n_more; k++) same = chat_ids(c)[at + 1 + k] == cont[k];
    tap_ok(t, same, "%s: the %d tokens after it are a fresh greedy run from the forked history",
           what, n_more);
    /* the chat's generator runs every token it is given: its logits are
       those after the reply's last token, as the fresh run's are */
    const float *cl = gen_logits(chat_gen(c));
    float d = same && cl ? tap_max_abs_diff(cl, lg, V) : INFINITY;
    tap_ok(t, d < 1e-4f, "%s: and the logits after them agree (max diff %.2g)", what, (double)d);
    free(ids);
    free(cont);
    free(lg);
    free(before);
}

static void test_fork(tap_t *t, const gpt_model_t *m, tokenizer_t *tok) {
    char err[256];
    chat_settings_t s = chat_settings_default();
    s.sampling.temperature = 0; /* greedy: the continuation has one right answer */
    s.sampling.n_report = 8;
    s.max_tokens = 10;
    s.stop_at_eos = 0;
    chat_t *c = chat_init(m, tok, &s, 1, 0, err, sizeof err);
    if (!tap_ok(t, c != NULL, "chat_init (%s)", c ? "" : err)) return;
    fork_log_t log = {0, 0, -1, -1, -1};
    chat_recorder_t rec = {&log, NULL, rec_token, NULL, rec_fork};
    chat_set_recorder(c, &rec);
    int rc = chat_user(c, "hello world", 11, err, sizeof err);
    rc |= run_reply(c, 1, err, sizeof err);
    int n_user = chat_turn(c, 0)->n;
    rc |= chat_user(c, " again", 6, err, sizeof err);
    rc |= run_reply(c, 1, err, sizeof err);
    tap_ok(t, rc == 0 && chat_n_turns(c) == 4, "two turns of greedy conversation (%s)",
           rc ? err : "");

    /* refusals leave the conversation alone */
    int n_before = chat_n_tokens(c);
    tap_ok(t, chat_fork(c, 1, 1, err, sizeof err) == -1 && strstr(err, "prompt"),
           "a prompt token does not fork (%s)", err);
    tap_ok(t, chat_fork(c, n_user + 2, 8, err, sizeof err) == -1 && strstr(err, "candidate"),
           "a candidate that is not stored is refused (%s)", err);
    tap_ok(t, chat_fork(c, n_before, 1, err, sizeof err) == -1 && strstr(err, "no token"),
           "a token past the end is refused (%s)", err);
    tap_ok(t, chat_n_tokens(c) == n_before && chat_n_turns(c) == 4, "refusals change nothing");

    /* fork in the first reply: its window has not moved, so the cache up to
       the fork is kept (ids[at - 1] runs again for its logits, then the
       candidate: two positions) */
    int at = n_user + 3;
    check_fork(t, m, c, at, 1, "first reply", 2);
    tap_ok(t, log.forks == 1 && log.fork_turn == 1 && log.fork_shared == 3 &&
                  log.first_token_after_fork == at,
           "the recorder hears fork(turn 1, 3 shared) and then the token at %d", at);
    tap_ok(t, chat_turn(c, 1)->n == 3 + 10, "max_tokens counts from the chosen token (%d)",
           chat_turn(c, 1)->n);
    tap_ok(t, chat_in_reply(c) == 0 && chat_turn(c, 1)->stop == CHAT_STOP_MAX,
           "the forked reply ends as a reply does");

    /* a long conversation slides the window past the first reply; a fork
       there runs its old window afresh */
    for (int k = 0; k < 6 && rc == 0; k++) {
        rc = chat_user(c, " and more", 9, err, sizeof err);
        rc |= run_reply(c, 1, err, sizeof err);
    }
    const chat_token_t *old = chat_token(c, at + 2);
    tap_ok(t, rc == 0 && chat_window_start(c) > at + 2 && old && old->has_report,
           "the window slid past token %d (starts at %d)", at + 2, chat_window_start(c));
    if (old) check_fork(t, m, c, at + 2, 2, "after a slide", at + 2 - old->window_start + 1);

    /* a reply in progress does not fork */
    rc = chat_user(c, " x", 2, err, sizeof err);
    rc |= chat_reply_begin(c, err, sizeof err);
    chat_stop_t stop;
    rc |= chat_reply_step(c, &stop, err, sizeof err);
    tap_ok(t, rc == 0 && chat_fork(c, at, 1, err, sizeof err) == -1 && strstr(err, "in progress"),
           "no fork while a reply runs (%s)", err);
    chat_reply_end(c, CHAT_STOP_INTERRUPTED, err, sizeof err);
    chat_free(c);
}

/* With beams, the continuation after the chosen token is a search. */
static void test_fork_beams(tap_t *t, const gpt_model_t *m, tokenizer_t *tok) {
    char err[256];
    chat_settings_t s = chat_settings_default();
    s.sampling.temperature = 0;
    s.max_tokens = 6;
    s.stop_at_eos = 0;
    chat_t *c = chat_init(m, tok, &s, 1, 0, err, sizeof err);
    int rc = c ? chat_user(c, "hello", 5, err, sizeof err) : -1;
    rc |= c ? run_reply(c, 1, err, sizeof err) : -1;
    s.beams = 3;
    rc |= c ? chat_set_settings(c, &s, err, sizeof err) : -1;
    int at = c ? chat_turn(c, 0)->n + 1 : 0;
    rc |= c ? chat_fork(c, at, 1, err, sizeof err) : -1;
    const chat_turn_t *tu = c ? chat_turn(c, 1) : NULL;
    int n_hyps = tu ? tu->n_hyps : 0, want = n_hyps ? tu->hyps[0].n : -1;
    rc |= c ? run_reply(c, 0, err, sizeof err) : -1;
    tap_ok(t, rc == 0 && n_hyps > 0 && chat_turn(c, 1)->n == 2 + want &&
                  memcmp(chat_ids(c) + at + 1, chat_turn(c, 1)->hyps[0].ids,
                         (size_t)want * sizeof(int)) == 0,
           "with beams the fork searches on from the chosen token (%d hypotheses) (%s)", n_hyps,
           rc ? err : "");
    chat_free(c);
}

int main(void) {
    tap_t t = {0, 0};
    char dir[4096], err[512];
    TAP_SRC(dir, "tests/reference/models/gpt2-f32");
    gpt_model_t *m = gpt_load(dir, err, sizeof err);
    tokenizer_t *tok = m ? tokenizer_load(dir, TOKENIZER_GPT2, err, sizeof err) : NULL;
    if (!m || !tok) {
        printf("# SKIP: reference model not available (%s)\n", err);
    } else {
        test_fork(&t, m, tok);
        test_fork_beams(&t, m, tok);
    }
    tokenizer_free(tok);
    gpt_free(m);
    return tap_done(&t);
}
