/* store_fill.c - writes two known sessions into a session database through
 * the store API (app/store.h), so that tests/e2e_sessions.sh can check what
 * `gptscope sessions` prints without a model or a chat. Test-only, not
 * installed.
 *
 *   store_fill DB          adds session A (4 turns) then B (2 turns), prints "A B"
 *   store_fill DB --empty  only creates the database
 *   store_fill DB --fork   as the first, then forks A's first reply after
 *                          two tokens (branch 1, one new token): a tree, for
 *                          the fuzzer's seed
 *
 * Session A holds what is easy to get wrong on the way out: a character
 * split over two tokens (c3 | a9), a reply that stops half-way through a
 * character, quotes and newlines in token and candidate texts, a candidate
 * masked to -inf, '%' and '_' for search. B is left unfinished (no stop
 * reason), as after a crash mid-reply. e2e_sessions.sh spells the same
 * bytes out again; keep the two in step. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "store.h"

#define FILL_MAX_CAND 3

/* One turn: its role, settings, stop reason and token texts (NULL-ended). */
typedef struct fill_turn {
    const char *role, *settings, *stop;
    double elapsed_ms;
    const char *tokens[16];
} fill_turn_t;

static const char *const fill_cand_text[FILL_MAX_CAND] = {NULL /* the token itself */,
                                                          "\xe2\x82" /* half of U+20AC */,
                                                          "\"q\n"};

/* Generated tokens get sampler data that e2e_sessions.sh checks exactly:
 * values that binary floating point holds without rounding. */
static void fill_sample(store_token_t *t, store_cand_t *cand) {
    t->has_sample = 1;
    t->chosen_prob = 0.5f;
    t->chosen_raw_logprob = -1.25f;
    t->entropy_raw = 2.5f;
    t->entropy_final = 0.75f;
    t->n_kept = 2;
    t->chosen_rank = 0;
    t->n_cand = FILL_MAX_CAND;
    t->cand = cand;
    for (int k = 0; k < FILL_MAX_CAND; k++) {
        memset(&cand[k], 0, sizeof cand[k]);
        cand[k].id = k == 0 ? t->id : 900 + k;
        snprintf(cand[k].text, sizeof cand[k].text, "%s", k == 0 ? t->text : fill_cand_text[k]);
        cand[k].logit = k == 2 ? -INFINITY : 4.0f - (float)k;
        cand[k].raw_prob = k == 2 ? 0.0f : 0.5f / (float)(k + 1);
        cand[k].prob = k == 0 ? 0.5f : k == 1 ? 0.25f : 0.0f;
        cand[k].kept = k < 2;
    }
}

static int fill_session(store_t *s, const char *model, const char *checksum,
                        const char *settings, const fill_turn_t *turns, int n_turns,
                        int64_t *id, char *err, size_t errlen) {
    *id = store_session_new(s, model, checksum, settings, err, errlen);
    if (*id < 0) return -1;
    int next_id = 100;
    for (int i = 0; i < n_turns; i++) {
        const fill_turn_t *ft = &turns[i];
        int model_turn = strcmp(ft->role, "model") == 0;
        int64_t turn = store_turn_begin(s, *id, ft->role, "", ft->settings, err, errlen);
        if (turn < 0) return -1;
        for (int k = 0; ft->tokens[k]; k++) {
            store_token_t t;
            store_cand_t cand[FILL_MAX_CAND];
            memset(&t, 0, sizeof t);
            t.idx = k;
            t.id = next_id++;
            t.text = ft->tokens[k];
            t.t_ms = 12.5 * k;
            if (model_turn) fill_sample(&t, cand);
            if (store_token_add(s, turn, &t, err, errlen)) return -1;
        }
        if (ft->stop || !model_turn) {
            if (store_turn_end(s, turn, ft->stop, ft->elapsed_ms, err, errlen)) return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    int empty = argc == 3 && strcmp(argv[2], "--empty") == 0;
    int fork = argc == 3 && strcmp(argv[2], "--fork") == 0;
    if (argc < 2 || argc > 3 || (argc == 3 && !empty && !fork)) {
        fprintf(stderr, "usage: store_fill DB [--empty | --fork]\n");
        return 2;
    }
    static const fill_turn_t session_a[] = {
        {"user", NULL, NULL, 0,
         {"Tell", " me", " about", " the", " caf", "\xc3", "\xa9", "'s", " 100", "%", " menu",
          "_items", NULL}},
        {"model", "{\"temperature\":0.8,\"top_k\":40}", "eos", 57.25,
         {" It", " serves", " cr\xc3", "\xaame", " \"br\xc3\xbbl\xc3\xa9" "e\"", "\n", "Done",
          NULL}},
        {"user", NULL, NULL, 0, {"SECOND", " question", NULL}},
        {"model", "{\"temperature\":0.8,\"top_k\":40}", "interrupted", 12,
         {" partial", " \xe2\x82", NULL}},
    };
    static const fill_turn_t session_b[] = {
        {"user", NULL, NULL, 0, {"Another", " session", " about", " the", " sea", NULL}},
        {"model", NULL, NULL /* unfinished */, 0, {" Waves", NULL}},
    };
    char err[1024];
    store_t *s = store_open(argv[1], 0, err, sizeof err);
    if (!s) {
        fprintf(stderr, "store_fill: %s\n", err);
        return 1;
    }
    int64_t a = 0, b = 0;
    int rc = 0;
    if (!empty)
        rc = fill_session(s, "/models/tiny-gpt2", "c0ffee00", "{\"temperature\":0.8,\"top_k\":40}",
                          session_a, 4, &a, err, sizeof err) ||
             fill_session(s, "/models/other-model", "beef", NULL, session_b, 2, &b, err,
                          sizeof err);
    if (rc == 0 && fork) {
        store_session_data_t d;
        int64_t f = -1;
        rc = store_session_load(s, a, &d, err, sizeof err);
        if (rc == 0) f = store_fork(s, d.turns[1].id, 2, NULL, NULL, err, sizeof err);
        if (rc == 0) store_session_data_free(&d);
        store_token_t t = {.idx = 2, .id = 9, .text = " instead", .text_len = 8, .window_start = -1};
        rc = rc != 0 || f <= 0 || store_token_add(s, f, &t, err, sizeof err) != 0;
    }
    store_close(s);
    if (rc) {
        fprintf(stderr, "store_fill: %s\n", err);
        return 1;
    }
    if (!empty) printf("%lld %lld\n", (long long)a, (long long)b);
    return 0;
}
