/* chat_internal.h - the chat's state, for the files that make up the chat
 * (chat.c: turns, replies, restoring; chat_fork.c: forking at a token).
 * Nothing outside core/chat*.c includes it: the rest of the program goes
 * through chat.h. */
#ifndef GPTSCOPE_CHAT_INTERNAL_H
#define GPTSCOPE_CHAT_INTERNAL_H

#include "chat.h"

struct chat {
    const gpt_model_t *m;
    tokenizer_t *tok;
    gen_t *gen;
    sampler_t *smp;
    chat_settings_t set;
    int n_threads;
    int adaptive_threads; /* chat_init got a negative count */
    chat_token_t *toks;
    int *ids;               /* toks[i].id, contiguous for the model */
    int n_toks, cap_toks;
    chat_turn_t *turns;
    int n_turns, cap_turns;
    int in_reply;
    int reply_base;         /* tokens the reply had before this run: a fork's shared part */
    chat_stop_t reply_stop; /* set when the reply stopped by itself */
    double reply_t0;        /* monotonic ms when the reply began */
    int n_beam, beam_next;  /* a searched reply being handed out: the turn's hyps[0] */
    int have_history;       /* the generator holds a processed prompt */
    int n_windowed;         /* toks[0..n_windowed) have their window_start */
    int sim_have, sim_ws;   /* the sliding window replayed over restored turns */
    chat_recorder_t rec;
    int has_rec;
};

/* Appends id as a token of the last turn (no report yet). 0 or -1. */
int chat_push_token(chat_t *c, int id, char *err, size_t errlen);
/* Gives the tokens run since the last call the window they ran in. */
void chat_note_windows(chat_t *c);
/* Runs a beam search for up to max_new tokens after the history and gives
 * turn its hypotheses (best first) to hand out: c->n_beam, c->beam_next. */
int chat_beam_search(chat_t *c, chat_turn_t *turn, int max_new, char *err, size_t errlen);
/* Frees a turn's hypotheses. */
void chat_turn_free_hyps(chat_turn_t *t);
double chat_now_ms(void);

#endif
