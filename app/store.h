/* store.h - session history in SQLite: every prompt and reply from `chat`
 * and `repl`, and for each generated token what the sampler saw.
 *
 * Layout (schema version in PRAGMA user_version, upgraded by migrations on
 * open; see store.c):
 *   sessions  (id, created, updated, model_path, model_checksum, settings JSON, title)
 *   turns     (id, session_id, idx, role 'user'|'model', text, created, settings JSON,
 *              stop reason, elapsed_ms)
 *   tokens    (turn_id, idx, token id, text, t_ms since the turn began, chosen prob,
 *              raw logprob, entropies, n_kept, settings JSON in force,
 *              candidates JSON: [{id,text,logit,raw_prob,prob,kept}, ...])
 * User turns store their prompt token ids too (tokens rows without sampler
 * data), so a replay can rebuild the exact token sequence the model saw.
 *
 * A session is a tree of turns (schema 4): every turn knows its parent (the
 * turn before it, NULL for the first) and its branch. Branch 0 is the first
 * line; a fork at a token of a reply makes a new branch whose first turn
 * copies the reply's tokens before that token (fork_of, fork_at say from
 * where) and goes on differently. A branch is read from its newest turn up
 * through the parents. The session remembers the branch last continued
 * (sessions.branch): new turns go to its end. turns.idx numbers turns in
 * the order they were made; turns.pos is a turn's position on its branch,
 * which is what `sessions show` prints. Older files are migrated in place:
 * each becomes branch 0, a line, every turn's parent the one before it.
 *
 * Durability: WAL mode, synchronous=NORMAL, one transaction per call, so a
 * killed process (kill -9 mid-reply) keeps every token stored before it;
 * another process may read the database while a writer runs (busy timeout).
 * Every function returns 0 (or an id > 0) on success, -1 with a one-line
 * message naming the database file in err. */
#ifndef GPTSCOPE_STORE_H
#define GPTSCOPE_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 4

typedef struct store store_t;

/* The default database path: $GPTSCOPE_DB, else $XDG_DATA_HOME/gptscope/sessions.db,
 * else $HOME/.local/share/gptscope/sessions.db. Returns 0, or -1 with err when
 * none can be formed (no HOME). Does not create anything. */
int store_default_path(char *buf, size_t len, char *err, size_t errlen);

/* Opens (readonly = 0: creating the file and its parent directories and
 * migrating the schema) a database. readonly = 1 never writes and fails on
 * a missing file. A database of a newer schema version than this build's is
 * refused with a message. NULL with err on failure. */
store_t *store_open(const char *path, int readonly, char *err, size_t errlen);
void store_close(store_t *s); /* NULL is a no-op */
const char *store_path(const store_t *s);

/* ---- writing, as a conversation happens ---------------------------------- */

/* A new session; returns its id (> 0) or -1. settings_json may be NULL ("{}"). */
int64_t store_session_new(store_t *s, const char *model_path, const char *model_checksum,
                          const char *settings_json, char *err, size_t errlen);
/* Changes the session's settings (after /temp etc.) and its updated time. */
int store_session_set_settings(store_t *s, int64_t session, const char *settings_json,
                               char *err, size_t errlen);

/* Starts a turn (role "user" or "model") with its text so far at the end of
 * the session's current branch; returns its id. */
int64_t store_turn_begin(store_t *s, int64_t session, const char *role, const char *text,
                         const char *settings_json, char *err, size_t errlen);

typedef struct store_cand {
    int id;
    char text[64];   /* token text (UTF-8, may be a partial character, escaped on output) */
    int text_len;    /* its bytes (a text may hold NUL: GPT-2's token for byte 0); 0: up to
                        the first NUL. The loader always sets it. */
    float logit, raw_prob, prob;
    int kept;
} store_cand_t;

typedef struct store_token {
    int idx;         /* position in the turn, 0.. */
    int id;          /* token id */
    const char *text;
    size_t text_len; /* its bytes, as store_cand_t.text_len */
    double t_ms;     /* milliseconds since the turn began (replay pace) */
    /* sampler data; has_sample = 0 for prompt tokens */
    int has_sample;
    float chosen_prob, chosen_raw_logprob, entropy_raw, entropy_final;
    int n_kept, chosen_rank;
    const char *settings_json; /* sampling settings in force (NULL = the turn's) */
    int window_start;  /* session token index the model's window began at when it ran
                          this token; -1 = not known (not run yet, or an older store) */
    int n_cand;
    const store_cand_t *cand;
} store_token_t;

/* Appends one token to a turn and the token's text to the turn's text, in
 * one transaction (committed before returning). */
int store_token_add(store_t *s, int64_t turn, const store_token_t *t, char *err, size_t errlen);

/* Appends n tokens (a whole prompt) to a turn and their texts to its text,
 * in one transaction: a long prompt costs one commit, not one per token. */
int store_tokens_add(store_t *s, int64_t turn, const store_token_t *t, int n, char *err,
                     size_t errlen);
/* Records the window token idx of turn ran in, for a token stored before it
 * ran (a reply's last token runs when the next prompt is fed). */
int store_token_set_window(store_t *s, int64_t turn, int idx, int window_start, char *err,
                           size_t errlen);
/* One beam-search hypothesis of a model turn: the ids it would have replied
 * with and its scores (beam.h). */
typedef struct store_hyp {
    int n;
    int *ids;
    double score, sum_logprob;
} store_hyp_t;

/* Stores the hypotheses of a model turn, best first (rank 0 is the reply),
 * in one transaction. */
int store_turn_hyps(store_t *s, int64_t turn, const store_hyp_t *hyps, int n, char *err,
                    size_t errlen);
/* Ends a turn: why it stopped ("eos", "max", "interrupted", "error", or NULL
 * for a user turn) and how long it took. */
int store_turn_end(store_t *s, int64_t turn, const char *stop, double elapsed_ms, char *err,
                   size_t errlen);

/* ---- reading ------------------------------------------------------------- */

typedef struct store_session_info {
    int64_t id;
    char created[32], updated[32]; /* ISO 8601 UTC */
    char *model_path, *model_checksum, *settings_json, *title;
    int n_turns, n_tokens;
} store_session_info_t;

typedef struct store_turn_data {
    int64_t id;
    int idx;
    char role[8];
    char created[32];
    char *text, *settings_json, *stop; /* stop NULL while unfinished */
    size_t text_len;         /* bytes of text (it may hold NUL bytes) */
    double elapsed_ms;
    int n_tokens;
    store_token_t *tokens;   /* owned: texts, settings and cand arrays are malloc'd */
    int n_hyps;              /* a beam-search reply's hypotheses (schema 3), best first */
    store_hyp_t *hyps;       /* owned, ids included */
} store_turn_data_t;

typedef struct store_branch_data store_branch_data_t; /* below */

typedef struct store_session_data {
    store_session_info_t info;
    int n_turns;
    store_turn_data_t *turns; /* the branch loaded, its first turn to its newest */
    int branch;               /* which branch that is */
    int n_branches;           /* the session has branches 0 .. n_branches - 1 */
    /* store_session_load_all only (else 0 / NULL): every branch, by number,
     * with its own turns, for exports that keep the whole tree */
    int n_all;
    store_branch_data_t *all;
} store_session_data_t;

/* Newest first; *out malloc'd (free with store_session_infos_free). */
int store_session_list(store_t *s, store_session_info_t **out, int *n, char *err, size_t errlen);
void store_session_infos_free(store_session_info_t *v, int n);
/* The session on its current branch (the one last continued). -1 with
 * "PATH: no session ID" when absent. */
int store_session_load(store_t *s, int64_t id, store_session_data_t *out, char *err,
                       size_t errlen);
/* The same on branch (-1: the current one); -1 with a message when the
 * session has no such branch. */
int store_session_load_branch(store_t *s, int64_t id, int branch, store_session_data_t *out,
                              char *err, size_t errlen);
void store_session_data_free(store_session_data_t *d);
void store_turns_free(store_turn_data_t *turns, int n); /* NULL is a no-op */

/* ---- branches (store_branch.c) --------------------------------------------- */

/* Forks reply turn `turn` after its first n_shared tokens: a new branch
 * whose first turn (returned) has the same parent and copies of those
 * tokens with their candidates and text; the caller adds the token that
 * differs and the rest with store_token_add. The session's current branch
 * becomes the new one (*branch). One transaction. */
int64_t store_fork(store_t *s, int64_t turn, int n_shared, const char *settings_json, int *branch,
                   char *err, size_t errlen);
/* Makes branch the session's current one (new turns continue it). */
int store_session_set_branch(store_t *s, int64_t session, int branch, char *err, size_t errlen);
/* The current branch and how many there are (1 before schema 4). */
int store_branch_info(store_t *s, int64_t session, int *current, int *n_branches, char *err,
                      size_t errlen);

typedef struct store_branch {
    int branch;
    int parent;            /* branch of the turn it forked from; -1 for branch 0 */
    int64_t first_turn;    /* its first own turn */
    int64_t fork_of;       /* the turn it forked from (0 for branch 0) */
    int fork_pos;          /* position of its first own turn on the branch (turn number) */
    int fork_at;           /* tokens that turn shares with fork_of */
    int fork_index;        /* token index of its first differing token, counted from the start */
    int token_id, other_id; /* that token, and fork_of's token there (-1 when none) */
    char token_text[64], other_text[64]; /* their bytes (NUL-terminated, may be cut) */
    int token_len, other_len;
    int rank;              /* the chosen token's rank in its distribution, 0 = top; -1 */
    int n_turns, n_tokens; /* on the branch, first turn to newest */
    int n_sampled;         /* generated tokens on it */
    double sum_logprob;    /* their raw log-probabilities (nats) */
    char created[32];
} store_branch_t;

struct store_branch_data {
    store_branch_t info;
    int n_turns;
    store_turn_data_t *turns; /* its own turns (store_branch_turns) */
};

/* store_session_load_branch, and every branch's record and own turns in
 * out->all (freed by store_session_data_free). */
int store_session_load_all(store_t *s, int64_t id, int branch, store_session_data_t *out,
                           char *err, size_t errlen);

/* Every branch of a session, by number; *out malloc'd (free()). */
int store_branches(store_t *s, int64_t session, store_branch_t **out, int *n, char *err,
                   size_t errlen);
/* A branch's own turns (the ones it does not share with its parent), in
 * order; free with store_turns_free. */
int store_branch_turns(store_t *s, int64_t session, int branch, store_turn_data_t **turns,
                       int *n, char *err, size_t errlen);
/* Removes a session with its turns and tokens; -1 when absent. */
int store_session_delete(store_t *s, int64_t id, char *err, size_t errlen);
/* 1 if session id is stored, 0 if not (deleted, perhaps by another
 * process), -1 with err. */
int store_session_exists(store_t *s, int64_t id, char *err, size_t errlen);

typedef struct store_hit {
    int64_t session, turn; /* turn: the turn's id */
    char role[8];
    char *snippet; /* the matching text with some context, one line */
    int turn_idx;  /* the turn's position on its branch, as `sessions show` numbers it */
    int branch;    /* the branch the turn belongs to (a fork's copy of a reply's first tokens
                      matches too) */
} store_hit_t;
/* Case-insensitive substring search over turn texts; newest sessions first. */
int store_search(store_t *s, const char *text, store_hit_t **out, int *n, char *err,
                 size_t errlen);
void store_hits_free(store_hit_t *v, int n);

#endif
