/* chat.c - a conversation over one generation history (chat.h): turns,
 * replies token by token, restoring stored ones. Its settings (defaults,
 * checks, JSON) are chat_settings.c; forking at a token is chat_fork.c. */
#include "chat.h"
#include "chat_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beam.h"
#include "clockx.h"


double chat_now_ms(void) { return 1e3 * clockx_now(); }

/* ---- life cycle ----------------------------------------------------------- */

static int chat_make_gen(chat_t *c, int capture, char *err, size_t errlen) {
    gen_params_t gp = gen_params_default();
    /* the chat decides when a reply ends (its settings change between
       replies); the generator just runs every token it is given */
    gp.max_new = 0;
    gp.stop_at_eos = 0;
    gp.capture_attn = (capture & CHAT_CAPTURE_ATTN) != 0;
    gp.capture_hidden = (capture & CHAT_CAPTURE_HIDDEN) != 0;
    gp.n_threads = c->n_threads;
    gp.adaptive_threads = c->adaptive_threads;
    gen_free(c->gen);
    c->gen = gen_init(c->m, &gp, err, errlen);
    c->have_history = 0;
    return c->gen ? 0 : -1;
}

chat_t *chat_init(const gpt_model_t *m, tokenizer_t *tok, const chat_settings_t *s,
                  int n_threads, int capture, char *err, size_t errlen) {
    if (chat_settings_check(s, err, errlen) != 0) return NULL;
    chat_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "chat: out of memory");
        return NULL;
    }
    c->m = m;
    c->tok = tok;
    c->set = *s;
    c->n_threads = n_threads > 0 ? n_threads : n_threads < 0 ? -n_threads : 1;
    c->adaptive_threads = n_threads < 0;
    if (chat_make_gen(c, capture, err, errlen) != 0 ||
        !(c->smp = sampler_init(&s->sampling, m->cfg.n_vocab, err, errlen))) {
        chat_free(c);
        return NULL;
    }
    return c;
}

void chat_turn_free_hyps(chat_turn_t *t) {
    for (int k = 0; k < t->n_hyps; k++) free(t->hyps[k].ids);
    free(t->hyps);
    t->hyps = NULL;
    t->n_hyps = 0;
}

/* Copies hyps[0..n) into turn t (which has none). 0, or -1 out of memory. */
static int chat_turn_set_hyps(chat_turn_t *t, const chat_hyp_t *hyps, int n) {
    if (n <= 0) return 0;
    t->hyps = calloc((size_t)n, sizeof *t->hyps);
    if (!t->hyps) return -1;
    t->n_hyps = n;
    for (int k = 0; k < n; k++) {
        t->hyps[k] = hyps[k];
        t->hyps[k].ids = malloc((size_t)(hyps[k].n > 0 ? hyps[k].n : 1) * sizeof(int));
        if (!t->hyps[k].ids) {
            t->n_hyps = k;
            chat_turn_free_hyps(t);
            return -1;
        }
        if (hyps[k].n > 0) memcpy(t->hyps[k].ids, hyps[k].ids, (size_t)hyps[k].n * sizeof(int));
    }
    return 0;
}

void chat_free(chat_t *c) {
    if (!c) return;
    gen_free(c->gen);
    sampler_free(c->smp);
    free(c->toks);
    free(c->ids);
    for (int i = 0; i < c->n_turns; i++) chat_turn_free_hyps(&c->turns[i]);
    free(c->turns);
    free(c);
}

void chat_set_recorder(chat_t *c, const chat_recorder_t *r) {
    c->has_rec = r != NULL;
    if (r) c->rec = *r;
}

const chat_settings_t *chat_settings(const chat_t *c) { return &c->set; }

int chat_set_settings(chat_t *c, const chat_settings_t *s, char *err, size_t errlen) {
    if (chat_settings_check(s, err, errlen) != 0) return -1;
    if (sampler_set_params(c->smp, &s->sampling, err, errlen) != 0) return -1;
    c->set = *s;
    return 0;
}

int chat_set_sampler_hooks(chat_t *c, const sampler_hooks_t *h) {
    return sampler_set_hooks(c->smp, h);
}

/* ---- tokens and turns ----------------------------------------------------- */

int chat_push_token(chat_t *c, int id, char *err, size_t errlen) {
    if (c->n_toks == c->cap_toks) {
        int cap = c->cap_toks ? 2 * c->cap_toks : 256;
        chat_token_t *t = realloc(c->toks, (size_t)cap * sizeof *t);
        if (t) c->toks = t;
        int *ids = t ? realloc(c->ids, (size_t)cap * sizeof *ids) : NULL;
        if (!ids) {
            snprintf(err, errlen, "chat: out of memory");
            return -1;
        }
        c->ids = ids;
        c->cap_toks = cap;
    }
    c->ids[c->n_toks] = id;
    chat_token_t *t = &c->toks[c->n_toks++];
    memset(t, 0, offsetof(chat_token_t, report));
    t->id = id;
    t->turn = c->n_turns - 1;
    t->window_start = -1;
    return 0;
}

/* Tokens the generator has run since the last call get the window they were
 * run in: the history is run in order, so they are the ones from n_windowed
 * up to the last run token (a pending one waits for its run). */
void chat_note_windows(chat_t *c) {
    int n_run = c->n_toks - (gen_pending(c->gen) ? 1 : 0), ws = gen_window_start(c->gen);
    for (int i = c->n_windowed; i < n_run; i++) c->toks[i].window_start = ws;
    if (n_run > c->n_windowed) c->n_windowed = n_run;
}

static int chat_push_turn(chat_t *c, chat_role_t role, char *err, size_t errlen) {
    if (c->n_turns == c->cap_turns) {
        int cap = c->cap_turns ? 2 * c->cap_turns : 16;
        chat_turn_t *t = realloc(c->turns, (size_t)cap * sizeof *t);
        if (!t) {
            snprintf(err, errlen, "chat: out of memory");
            return -1;
        }
        c->turns = t;
        c->cap_turns = cap;
    }
    chat_turn_t *t = &c->turns[c->n_turns++];
    memset(t, 0, sizeof *t);
    t->role = role;
    t->first = c->n_toks;
    t->settings = c->set;
    return 0;
}

/* The generator's history must equal our token list: feeds it what it lacks. */
static int chat_feed(chat_t *c, const int *ids, int n, char *err, size_t errlen) {
    if (!c->have_history) {
        if (gen_prefill(c->gen, c->ids, c->n_toks, NULL, err, errlen) != 0) return -1;
        c->have_history = 1;
    } else if (gen_extend(c->gen, ids, n, NULL, err, errlen) != 0) {
        return -1;
    }
    chat_note_windows(c);
    return 0;
}

/* The separator goes before the prompt when the last turn is a reply that
 * does not end with it and the prompt does not start with it. */
static int chat_needs_separator(const chat_t *c, const char *text, size_t len) {
    const char *sep = c->set.separator;
    size_t ns = strlen(sep);
    if (ns == 0 || c->n_turns == 0 || c->turns[c->n_turns - 1].role != CHAT_MODEL) return 0;
    if (len >= ns && memcmp(text, sep, ns) == 0) return 0;
    /* the reply's last bytes: enough tokens from its end to cover ns bytes */
    const chat_turn_t *r = &c->turns[c->n_turns - 1];
    char tail[CHAT_MAX_SEPARATOR];
    size_t have = 0;
    for (int i = r->first + r->n - 1; i >= r->first && have < ns; i--) {
        size_t tl = 0;
        const char *tb = tokenizer_token_bytes(c->tok, c->toks[i].id, &tl);
        if (!tb) break;
        size_t take = tl < ns - have ? tl : ns - have;
        /* tail is filled from its end: these bytes go before what we have */
        memmove(tail + (ns - have - take), tb + tl - take, take);
        have += take;
    }
    return have < ns || memcmp(tail, sep, ns) != 0;
}

int chat_user(chat_t *c, const char *text, size_t len, char *err, size_t errlen) {
    if (c->in_reply) {
        snprintf(err, errlen, "chat: a reply is still in progress");
        return -1;
    }
    if (len == 0) {
        if (c->n_toks == 0) {
            snprintf(err, errlen, "chat: the first prompt is empty");
            return -1;
        }
        return 0;
    }
    int *ids = NULL;
    size_t n = 0, cap = 0;
    char *joined = NULL;
    if (chat_needs_separator(c, text, len)) {
        size_t ns = strlen(c->set.separator);
        if (!(joined = malloc(ns + len))) {
            snprintf(err, errlen, "chat: out of memory");
            return -1;
        }
        memcpy(joined, c->set.separator, ns);
        memcpy(joined + ns, text, len);
        text = joined;
        len += ns;
    }
    int erc = tokenizer_encode(c->tok, text, len, &ids, &n, &cap, err, errlen);
    free(joined);
    if (erc != 0) return -1;
    if (n == 0) {
        free(ids);
        return 0;
    }
    if (n > CHAT_MAX_PROMPT_TOKENS) {
        snprintf(err, errlen,
                 "the prompt is %zu tokens, more than the %d a prompt may have (the model reads "
                 "only the last %d)",
                 n, CHAT_MAX_PROMPT_TOKENS, c->m->cfg.n_ctx - 1);
        free(ids);
        return -1;
    }
    int rc = chat_push_turn(c, CHAT_USER, err, errlen);
    for (size_t i = 0; rc == 0 && i < n; i++) rc = chat_push_token(c, ids[i], err, errlen);
    chat_turn_t *turn = &c->turns[c->n_turns - 1];
    turn->n = (int)n;
    if (rc == 0) rc = chat_feed(c, ids, (int)n, err, errlen);
    free(ids);
    if (rc != 0) {
        /* the model never saw it: take the turn back so that history == tokens */
        c->n_toks = turn->first;
        c->n_turns--;
        c->have_history = 0;
        if (c->n_windowed > c->n_toks) c->n_windowed = c->n_toks;
        return -1;
    }
    if (c->has_rec && c->rec.turn_begin &&
        c->rec.turn_begin(c->rec.user, c, c->n_turns - 1, err, errlen) != 0)
        return -1;
    if (c->has_rec && c->rec.turn_end &&
        c->rec.turn_end(c->rec.user, c, c->n_turns - 1, err, errlen) != 0)
        return -1;
    return 0;
}

int chat_beam_search(chat_t *c, chat_turn_t *turn, int max_new, char *err, size_t errlen) {
    int n_ctx = c->m->cfg.n_ctx;
    if (max_new > n_ctx - 1) max_new = n_ctx - 1;
    if (max_new < 1) max_new = 1;
    int start = c->n_toks - (n_ctx - max_new);
    if (start < 0) start = 0;
    beam_params_t bp = {c->set.beams, max_new, 1.0f, tokenizer_eot_id(c->tok), c->n_threads, NULL};
    if (!c->set.stop_at_eos) bp.eos_id = -1;
    beam_result_t res = {0};
    if (beam_search(c->m, chat_ids(c) + start, c->n_toks - start, &bp, &res, err, errlen))
        return -1;
    chat_hyp_t *h = calloc((size_t)(res.n_hyps > 0 ? res.n_hyps : 1), sizeof *h);
    for (int k = 0; h && k < res.n_hyps; k++)
        h[k] = (chat_hyp_t){res.hyps[k].n, res.hyps[k].ids, res.hyps[k].score,
                            res.hyps[k].sum_logprob};
    chat_turn_free_hyps(turn);
    int rc = h ? chat_turn_set_hyps(turn, h, res.n_hyps) : -1;
    free(h);
    beam_result_free(&res);
    if (rc != 0) {
        snprintf(err, errlen, "chat: out of memory");
        return -1;
    }
    c->n_beam = turn->n_hyps > 0 ? turn->hyps[0].n : 0;
    c->beam_next = 0;
    return 0;
}

int chat_reply_begin(chat_t *c, char *err, size_t errlen) {
    if (c->in_reply) {
        snprintf(err, errlen, "chat: a reply is already in progress");
        return -1;
    }
    if (c->n_toks == 0) {
        snprintf(err, errlen, "chat: nothing to reply to (type a prompt first)");
        return -1;
    }
    if (!c->have_history && chat_feed(c, NULL, 0, err, errlen) != 0) return -1;
    c->n_beam = c->beam_next = 0;
    if (chat_push_turn(c, CHAT_MODEL, err, errlen) != 0) return -1;
    if (c->set.beams > 1) {
        int n_ctx = c->m->cfg.n_ctx;
        int max_new = c->set.max_tokens < n_ctx - 1 ? c->set.max_tokens : n_ctx - 1;
        if (chat_beam_search(c, &c->turns[c->n_turns - 1], max_new, err, errlen) != 0) {
            c->n_turns--;
            return -1;
        }
    }
    c->in_reply = 1;
    c->reply_base = 0;
    c->reply_stop = CHAT_STOP_NONE;
    c->reply_t0 = chat_now_ms();
    if (c->has_rec && c->rec.turn_begin &&
        c->rec.turn_begin(c->rec.user, c, c->n_turns - 1, err, errlen) != 0)
        return -1;
    return 0;
}

int chat_reply_step(chat_t *c, chat_stop_t *stop, char *err, size_t errlen) {
    if (stop) *stop = CHAT_STOP_NONE;
    if (!c->in_reply) {
        snprintf(err, errlen, "chat: no reply in progress");
        return -1;
    }
    chat_turn_t *turn = &c->turns[c->n_turns - 1];
    if (c->reply_stop != CHAT_STOP_NONE) {
        if (stop) *stop = c->reply_stop;
        return 0;
    }
    if (c->set.beams > 1 && c->beam_next >= c->n_beam) {
        c->reply_stop = CHAT_STOP_MAX;
        if (stop) *stop = c->reply_stop;
        return 0;
    }
    gen_step_t st;
    sampler_report_t rep;
    int rc;
    if (c->set.beams > 1) {
        /* the distribution at this position, before the search's token is
         * appended: what the search ranked its proposals by */
        int id = turn->hyps[0].ids[c->beam_next++];
        rc = gen_sync(c->gen, err, errlen);
        if (rc == 0) sampler_describe(c->smp, gen_logits(c->gen), id, &rep);
        if (rc == 0) rc = gen_accept(c->gen, id, &st, err, errlen);
    } else {
        rc = gen_step(c->gen, c->smp, &rep, &st, err, errlen);
    }
    if (rc != 0) {
        c->reply_stop = CHAT_STOP_ERROR;
        return -1;
    }
    if (chat_push_token(c, st.id, err, errlen) != 0) {
        c->have_history = 0; /* the generator has a token we lack: rebuild it next time */
        c->reply_stop = CHAT_STOP_ERROR;
        return -1;
    }
    chat_note_windows(c);
    chat_token_t *t = &c->toks[c->n_toks - 1];
    t->t_ms = chat_now_ms() - c->reply_t0;
    t->has_report = 1;
    t->report = rep;
    turn->n++;
    int eos = tokenizer_eot_id(c->tok);
    if (c->set.stop_at_eos && eos >= 0 && st.id == eos)
        c->reply_stop = CHAT_STOP_EOS;
    else if (turn->n - c->reply_base >= c->set.max_tokens)
        c->reply_stop = CHAT_STOP_MAX;
    else if (c->set.beams > 1 && c->beam_next >= c->n_beam)
        c->reply_stop = CHAT_STOP_MAX;
    if (stop) *stop = c->reply_stop;
    if (c->has_rec && c->rec.token && c->rec.token(c->rec.user, c, c->n_toks - 1, err, errlen))
        return -1;
    return 0;
}

int chat_reply_end(chat_t *c, chat_stop_t why, char *err, size_t errlen) {
    if (!c->in_reply) return 0;
    chat_turn_t *turn = &c->turns[c->n_turns - 1];
    turn->stop = c->reply_stop != CHAT_STOP_NONE ? c->reply_stop : why;
    if (turn->stop == CHAT_STOP_NONE) turn->stop = CHAT_STOP_INTERRUPTED;
    turn->elapsed_ms = chat_now_ms() - c->reply_t0;
    c->in_reply = 0;
    if (c->has_rec && c->rec.turn_end &&
        c->rec.turn_end(c->rec.user, c, c->n_turns - 1, err, errlen) != 0)
        return -1;
    return 0;
}

int chat_in_reply(const chat_t *c) { return c->in_reply; }

/* Window starts for a restored turn, by the policy generate.c applies live
 * (the chat's generator never stops by itself, so no token is left pending):
 * a first prompt keeps its last n_ctx - 1 tokens; a later prompt that does
 * not fit keeps the last max(n_ctx / 2, n) of them (at most n_ctx - 1); a
 * reply token arriving with the cache full keeps the last n_ctx / 2. */
static void chat_sim_turn(chat_t *c, chat_role_t role, int first, int n) {
    int n_ctx = c->m->cfg.n_ctx, limit = n_ctx > 1 ? n_ctx - 1 : 1;
    if (!c->sim_have && c->have_history) {
        c->sim_ws = gen_window_start(c->gen); /* live turns came first */
        c->sim_have = 1;
    }
    if (!c->sim_have) {
        /* the first run is a prefill of everything so far */
        int upto = role == CHAT_USER ? first + n : first;
        c->sim_ws = upto > limit ? upto - limit : 0;
        for (int i = c->n_windowed; i < upto; i++) c->toks[i].window_start = c->sim_ws;
        c->sim_have = 1;
        if (role == CHAT_USER) {
            c->n_windowed = first + n;
            return;
        }
    }
    if (role == CHAT_USER) {
        int n_ids = first + n;
        if (n_ids - c->sim_ws > limit) {
            int keep = n > n_ctx / 2 ? n : n_ctx / 2;
            if (keep > limit) keep = limit;
            if (keep < 1) keep = 1;
            c->sim_ws = n_ids - keep;
        }
        for (int i = first; i < n_ids; i++) c->toks[i].window_start = c->sim_ws;
    } else {
        for (int i = first; i < first + n; i++) {
            if (i - c->sim_ws >= n_ctx) c->sim_ws = i + 1 - (n_ctx / 2 > 0 ? n_ctx / 2 : 1);
            c->toks[i].window_start = c->sim_ws;
        }
    }
    c->n_windowed = first + n;
}

int chat_restore_turn(chat_t *c, chat_role_t role, const int *ids, int n,
                      const sampler_report_t *reports, const double *t_ms, chat_stop_t stop,
                      double elapsed_ms, const chat_settings_t *settings, char *err,
                      size_t errlen) {
    if (c->in_reply) {
        snprintf(err, errlen, "chat: a reply is in progress");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= c->m->cfg.n_vocab) {
            snprintf(err, errlen, "chat: stored token id %d is outside this model's vocabulary (%d)",
                     ids[i], c->m->cfg.n_vocab);
            return -1;
        }
    }
    if (chat_push_turn(c, role, err, errlen) != 0) return -1;
    chat_turn_t *turn = &c->turns[c->n_turns - 1];
    if (settings) turn->settings = *settings;
    turn->stop = stop;
    turn->elapsed_ms = elapsed_ms;
    for (int i = 0; i < n; i++) {
        if (chat_push_token(c, ids[i], err, errlen) != 0) return -1;
        chat_token_t *t = &c->toks[c->n_toks - 1];
        if (reports) {
            t->has_report = 1;
            t->report = reports[i];
        }
        if (t_ms) t->t_ms = t_ms[i];
        turn->n++;
    }
    chat_sim_turn(c, role, turn->first, turn->n);
    c->have_history = 0; /* chat_sync (or the next turn) runs the model over it */
    return 0;
}

int chat_restore_windows(chat_t *c, int first, int n, const int *window_starts, char *err,
                         size_t errlen) {
    if (first < 0 || n < 0 || first > c->n_toks - n) {
        snprintf(err, errlen, "chat: window starts for tokens %d..%d, but there are %d tokens",
                 first, first + n - 1, c->n_toks);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (window_starts[i] < 0) {
            snprintf(err, errlen, "chat: token %d has a negative window start (%d)", first + i,
                     window_starts[i]);
            return -1;
        }
    }
    for (int i = 0; i < n; i++) c->toks[first + i].window_start = window_starts[i];
    return 0;
}

int chat_turn_unseen(const chat_t *c, int turn) {
    const chat_turn_t *t = chat_turn(c, turn);
    if (!t || t->n == 0) return 0;
    int ws = c->toks[t->first + t->n - 1].window_start;
    if (ws <= t->first) return 0;
    return (ws < t->first + t->n ? ws : t->first + t->n) - t->first;
}

int chat_sync(chat_t *c, char *err, size_t errlen) {
    if (c->have_history || c->n_toks == 0) return 0;
    return chat_feed(c, NULL, 0, err, errlen);
}

int chat_restore_hyps(chat_t *c, int turn, const chat_hyp_t *hyps, int n, char *err,
                      size_t errlen) {
    if (turn < 0 || turn >= c->n_turns || c->turns[turn].role != CHAT_MODEL) {
        snprintf(err, errlen, "chat: turn %d is not a reply", turn);
        return -1;
    }
    for (int k = 0; k < n; k++) {
        if (hyps[k].n < 0 || (hyps[k].n > 0 && !hyps[k].ids)) {
            snprintf(err, errlen, "chat: beam hypothesis %d of turn %d has no ids", k + 1, turn);
            return -1;
        }
        for (int i = 0; i < hyps[k].n; i++)
            if (hyps[k].ids[i] < 0 || hyps[k].ids[i] >= c->m->cfg.n_vocab) {
                snprintf(err, errlen,
                         "chat: beam hypothesis %d of turn %d: token id %d is outside this "
                         "model's vocabulary (%d)",
                         k + 1, turn, hyps[k].ids[i], c->m->cfg.n_vocab);
                return -1;
            }
    }
    chat_turn_free_hyps(&c->turns[turn]);
    if (chat_turn_set_hyps(&c->turns[turn], hyps, n) != 0) {
        snprintf(err, errlen, "chat: out of memory");
        return -1;
    }
    return 0;
}

void chat_clear(chat_t *c) {
    for (int i = 0; i < c->n_turns; i++) chat_turn_free_hyps(&c->turns[i]);
    c->n_windowed = 0;
    c->sim_have = c->sim_ws = 0;
    c->n_toks = 0;
    c->n_turns = 0;
    c->in_reply = 0;
    c->have_history = 0;
}

/* ---- access --------------------------------------------------------------- */

int chat_n_tokens(const chat_t *c) { return c->n_toks; }
const chat_token_t *chat_token(const chat_t *c, int i) {
    return i >= 0 && i < c->n_toks ? &c->toks[i] : NULL;
}
int chat_n_turns(const chat_t *c) { return c->n_turns; }
const chat_turn_t *chat_turn(const chat_t *c, int i) {
    return i >= 0 && i < c->n_turns ? &c->turns[i] : NULL;
}

const int *chat_ids(const chat_t *c) { return c->ids; }

int chat_window_start(const chat_t *c) { return c->have_history ? gen_window_start(c->gen) : 0; }

const char *chat_token_bytes(const chat_t *c, int i, size_t *len) {
    if (i < 0 || i >= c->n_toks) return NULL;
    return tokenizer_token_bytes(c->tok, c->toks[i].id, len);
}

char *chat_turn_text(const chat_t *c, int turn) {
    const chat_turn_t *t = chat_turn(c, turn);
    if (!t) return NULL;
    int *ids = malloc(((size_t)t->n + 1) * sizeof(int));
    if (!ids) return NULL;
    for (int i = 0; i < t->n; i++) ids[i] = c->toks[t->first + i].id;
    char err[128];
    char *text = tokenizer_decode(c->tok, ids, (size_t)t->n, NULL, err, sizeof err);
    free(ids);
    return text;
}

const gpt_model_t *chat_model(const chat_t *c) { return c->m; }
tokenizer_t *chat_tokenizer(const chat_t *c) { return c->tok; }
const gen_t *chat_gen(const chat_t *c) { return c->gen; }
