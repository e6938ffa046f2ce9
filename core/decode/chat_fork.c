/* chat_fork.c - forking a conversation at one of its generated tokens
 * (chat.h: chat_fork). The chat keeps one line of history, the branch on
 * screen; a fork cuts it back to the chosen token, puts another candidate
 * of that token's stored distribution in its place, and leaves a reply
 * running from there. Keeping the other branches is the caller's business
 * (the app stores a tree of turns). */
#include "chat.h"
#include "chat_internal.h"

#include <stdio.h>
#include <string.h>

/* The report of the token at the fork with cand chosen instead: the
 * distribution is the same (same history, same model, same settings), only
 * the choice differs. */
static void chat_fork_report(const sampler_report_t *orig, int cand, sampler_report_t *out) {
    *out = *orig;
    const sampler_candidate_t *cd = &orig->cand[cand];
    out->chosen = cd->id;
    out->chosen_raw_logprob = cd->raw_logprob;
    out->chosen_prob = cd->prob;
    out->chosen_rank = cand;
}

static int chat_fork_check(const chat_t *c, int index, int cand, char *err, size_t errlen) {
    if (c->in_reply) {
        snprintf(err, errlen, "chat: a reply is in progress (stop it first)");
        return -1;
    }
    if (index < 0 || index >= c->n_toks) {
        snprintf(err, errlen, "chat: there is no token %d (the conversation has %d)", index,
                 c->n_toks);
        return -1;
    }
    const chat_token_t *t = &c->toks[index];
    if (c->turns[t->turn].role != CHAT_MODEL || !t->has_report) {
        snprintf(err, errlen, "chat: token %d is part of a prompt; only a generated token can fork",
                 index);
        return -1;
    }
    if (cand < 0 || cand >= t->report.n_cand) {
        snprintf(err, errlen, "chat: token %d has %d candidates stored; there is no candidate %d",
                 index, t->report.n_cand, cand + 1);
        return -1;
    }
    return 0;
}

int chat_fork(chat_t *c, int index, int cand, char *err, size_t errlen) {
    if (chat_fork_check(c, index, cand, err, errlen) != 0) return -1;
    const chat_token_t *at = &c->toks[index];
    int turn = at->turn, ws = at->window_start;
    double t_ms = at->t_ms;
    sampler_report_t rep;
    chat_fork_report(&at->report, cand, &rep);
    /* the model first, so that a failure leaves the conversation as it was
       (only the generator needs rebuilding then) */
    if (!c->have_history) {
        if (gen_prefill(c->gen, c->ids, index, NULL, err, errlen) != 0) return -1;
        c->have_history = 1;
    }
    gen_step_t st;
    if (gen_rewind(c->gen, index, ws, err, errlen) != 0 ||
        gen_accept(c->gen, rep.chosen, &st, err, errlen) != 0) {
        c->have_history = 0;
        return -1;
    }
    for (int k = turn + 1; k < c->n_turns; k++) chat_turn_free_hyps(&c->turns[k]);
    c->n_turns = turn + 1;
    chat_turn_t *tu = &c->turns[turn];
    chat_turn_free_hyps(tu);
    c->n_toks = index;
    tu->n = index - tu->first;
    tu->settings = c->set;
    tu->stop = CHAT_STOP_NONE;
    tu->elapsed_ms = 0;
    if (c->n_windowed > index) c->n_windowed = index;
    c->sim_have = 0;
    if (chat_push_token(c, rep.chosen, err, errlen) != 0) {
        c->have_history = 0;
        return -1;
    }
    chat_note_windows(c);
    chat_token_t *t = &c->toks[c->n_toks - 1];
    t->t_ms = t_ms;
    t->has_report = 1;
    t->report = rep;
    tu->n++;
    c->in_reply = 1;
    c->reply_base = tu->n - 1; /* max_tokens counts from the chosen token */
    c->reply_t0 = chat_now_ms() - t_ms;
    c->reply_stop = CHAT_STOP_NONE;
    c->n_beam = c->beam_next = 0;
    int eos = tokenizer_eot_id(c->tok);
    if (c->set.stop_at_eos && eos >= 0 && rep.chosen == eos)
        c->reply_stop = CHAT_STOP_EOS;
    else if (c->set.max_tokens <= 1)
        c->reply_stop = CHAT_STOP_MAX;
    else if (c->set.beams > 1 &&
             chat_beam_search(c, tu, c->set.max_tokens - 1, err, errlen) != 0) {
        c->reply_stop = CHAT_STOP_ERROR;
        return -1;
    }
    if (c->has_rec && c->rec.fork &&
        c->rec.fork(c->rec.user, c, turn, tu->n - 1, err, errlen) != 0)
        return -1;
    if (c->has_rec && c->rec.token && c->rec.token(c->rec.user, c, c->n_toks - 1, err, errlen))
        return -1;
    return 0;
}
