/* session_branch.c - /fork, /branches and /branch for chat and repl
 * (session_branch.h). The chat holds the branch on screen (core/decode/chat.h:
 * chat_fork); the store holds the tree (store.h), so listing and switching
 * branches read it, and a session that is not stored (--no-save) can fork
 * but keeps only the branch it is on. */
#include "session_branch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "text.h"

int app_session_fork(void *user, int index, int cand, char *msg, size_t msglen) {
    app_session_t *s = user;
    const chat_token_t *t = chat_token(s->chat, index);
    int from = t ? t->id : -1;
    if (chat_fork(s->chat, index, cand, msg, msglen) != 0) {
        /* the store refused after the chat forked: end the reply there */
        if (chat_in_reply(s->chat)) {
            char e2[256];
            chat_reply_end(s->chat, CHAT_STOP_ERROR, e2, sizeof e2);
        }
        return -1;
    }
    tokenizer_t *tok = chat_tokenizer(s->chat);
    char now[64] = "", was[64] = "";
    size_t n = 0;
    const char *b = tokenizer_token_bytes(tok, chat_token(s->chat, index)->id, &n);
    text_escape(b ? b : "", b ? n : 0, now, sizeof now);
    b = from >= 0 ? tokenizer_token_bytes(tok, from, &n) : NULL;
    text_escape(b ? b : "", b ? n : 0, was, sizeof was);
    if (s->store && !s->store_failed)
        snprintf(msg, msglen, "branch %d: token %d is '%s' (candidate %d) instead of '%s'",
                 s->branch, index, now, cand + 1, was);
    else
        snprintf(msg, msglen,
                 "forked: token %d is '%s' (candidate %d) instead of '%s'; not stored, so the old "
                 "branch is gone",
                 index, now, cand + 1, was);
    return 0;
}

void app_branch_to_ui(const store_branch_t *b, int current, ui_branch_t *out) {
    memset(out, 0, sizeof *out);
    out->id = b->branch;
    out->parent = b->parent;
    out->fork_index = b->fork_index;
    out->fork_turn = b->fork_of > 0 ? b->fork_pos : -1;
    out->fork_rank = b->rank >= 0 ? b->rank + 1 : 0;
    if (b->token_id >= 0) text_escape(b->token_text, (size_t)b->token_len, out->first, sizeof out->first);
    if (b->other_id >= 0) text_escape(b->other_text, (size_t)b->other_len, out->other, sizeof out->other);
    out->n_turns = b->n_turns;
    out->n_tokens = b->n_tokens;
    out->n_sampled = b->n_sampled;
    out->sum_logprob = b->sum_logprob;
    out->current = b->branch == current;
}

int app_branches_load(store_t *st, int64_t session, int current, ui_branch_t **out, int *n,
                      char *err, size_t errlen) {
    store_branch_t *v = NULL;
    *out = NULL;
    *n = 0;
    if (store_branches(st, session, &v, n, err, errlen) != 0) return -1;
    *out = calloc((size_t)(*n > 0 ? *n : 1), sizeof **out);
    if (!*out) {
        free(v);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < *n; i++) app_branch_to_ui(&v[i], current, &(*out)[i]);
    free(v);
    branch_list_order(*out, *n);
    return 0;
}

int app_session_branches(void *user, ui_branch_t *out, int cap, char *msg, size_t msglen) {
    app_session_t *s = user;
    if (!s->store) {
        snprintf(msg, msglen, "sessions are not being saved here (--no-save): only this branch");
        return 0;
    }
    if (s->session_id <= 0) {
        snprintf(msg, msglen, "nothing stored yet");
        return 0;
    }
    ui_branch_t *v = NULL;
    int n = 0;
    if (app_branches_load(s->store, s->session_id, s->branch, &v, &n, msg, msglen) != 0) return -1;
    for (int i = 0; i < n && i < cap; i++) out[i] = v[i];
    free(v);
    snprintf(msg, msglen, "%d branch%s", n, n == 1 ? "" : "es");
    return n;
}

int app_session_switch_branch(void *user, int branch, char *msg, size_t msglen) {
    app_session_t *s = user;
    if (!s->store || s->session_id <= 0) {
        snprintf(msg, msglen, "nothing is stored%s, so there is no other branch",
                 s->store ? " yet" : " (--no-save)");
        return -1;
    }
    if (chat_in_reply(s->chat)) {
        snprintf(msg, msglen, "wait for the reply to finish");
        return -1;
    }
    int64_t id = s->session_id;
    char note[256] = "";
    if (app_session_load_branch(s, id, branch, note, sizeof note, msg, msglen) != 0) {
        /* back to the branch it was on, so the store and the screen agree */
        char e2[256], n2[256];
        if (app_session_load(s, id, n2, sizeof n2, e2, sizeof e2) != 0) s->session_id = id;
        return -1;
    }
    snprintf(msg, msglen, "branch %d of session %lld: %d turns, %d tokens%s%s", s->branch,
             (long long)id, chat_n_turns(s->chat), chat_n_tokens(s->chat), note[0] ? "; " : "",
             note);
    return 0;
}
