/* chat.h - a conversation with a model, as the front ends show it: turns of
 * user text and model replies over one token history, and for every token
 * what the sampler saw when it was chosen.
 *
 * A base GPT has no roles: the conversation is one running text. Each user
 * turn is tokenized on its own and appended; the reply continues from there.
 * The chat's token list is exactly the generation history (gen_history), so
 * token index i is the model's history index i; the model sees the window
 * [chat_window_start, n_tokens) (generate.h explains the sliding).
 *
 * A reply is produced one token per chat_reply_step so that a front end can
 * handle keys between tokens; chat_reply_end closes it (with
 * CHAT_STOP_INTERRUPTED when the user stopped it). With beams > 1 the reply
 * is searched in full by chat_reply_begin (beam.h) and then handed out one
 * token per step like a sampled one; its report describes the raw
 * distribution the search ranked by (sampler_describe), and the turn keeps
 * every hypothesis the search finished with (chat_turn_t.hyps).
 *
 * A recorder (optional) hears of every turn and token as it happens, so that
 * a caller can store the session (the app keeps it in SQLite); a recorder
 * error stops the operation and comes back as the call's error. */
#ifndef GPTSCOPE_CHAT_H
#define GPTSCOPE_CHAT_H

#include <stddef.h>

#include "generate.h"
#include "gpt.h"
#include "sampler.h"
#include "tokenizer.h"

typedef enum { CHAT_USER = 0, CHAT_MODEL = 1 } chat_role_t;

typedef enum {
    CHAT_STOP_NONE = 0,        /* still running (or a user turn) */
    CHAT_STOP_EOS = 1,         /* the model chose end-of-text */
    CHAT_STOP_MAX = 2,         /* max_tokens reached */
    CHAT_STOP_INTERRUPTED = 3, /* stopped by the user */
    CHAT_STOP_ERROR = 4        /* a model or recorder error ended it */
} chat_stop_t;

/* "eos", "max", "interrupted", "error", or NULL for CHAT_STOP_NONE. */
const char *chat_stop_name(chat_stop_t s);
/* The inverse; CHAT_STOP_NONE for NULL or an unknown name. */
chat_stop_t chat_stop_parse(const char *name);

#define CHAT_MAX_SEPARATOR 15
#define CHAT_MAX_SAMPLER 127

typedef struct chat_settings {
    sampler_params_t sampling; /* temperature, top-k/p, min-p, penalties, seed, n_report */
    int max_tokens;            /* per reply, >= 1 */
    int beams;                 /* 1: sample; > 1: beam search with this many beams */
    int stop_at_eos;           /* 1: end-of-text ends a reply */
    /* Text put between a reply and the next prompt, since the model reads
     * one running text: "Romeo;" then "JULIET:" would otherwise be read as
     * "Romeo;JULIET:". It is added at the start of the prompt's turn (so it
     * is shown and stored as what the model read) unless the reply already
     * ends with it or the prompt already starts with it. "" = nothing. */
    char separator[CHAT_MAX_SEPARATOR + 1];
    /* A sampler the chat does not have itself (a plugin's, "NAME
     * key=value ..."), in force through chat_set_sampler_hooks; "" = the
     * pipeline of sampler.h. The chat only keeps and stores the text: the
     * caller resolves it. */
    char sampler[CHAT_MAX_SAMPLER + 1];
} chat_settings_t;

/* The separator as typed: "\n" "\t" "\s" (space) "\\" escapes, "none" or ""
 * for none. Returns 0, or -1 with err (unknown escape, too long). */
int chat_separator_parse(const char *text, char *out, size_t cap, char *err, size_t errlen);
/* The separator escaped as chat_separator_parse reads it ("none" if empty). */
const char *chat_separator_show(const char *sep, char *out, size_t cap);
/* Sampling defaults (temperature 1, no filters), max_tokens 200, beams 1,
 * stop_at_eos 1, n_report 60 (JSON "candidates"), separator "\n". */
chat_settings_t chat_settings_default(void);
/* Ranges checked, message names the setting. */
int chat_settings_check(const chat_settings_t *s, char *err, size_t errlen);
/* The settings as a JSON object text (malloc'd), e.g. for storing. */
char *chat_settings_json(const chat_settings_t *s);
/* A stored settings text with its fractional numbers written as the
 * shortest decimal of their float (older gptscope versions stored
 * 0.699999988079071 for 0.7); other texts are copied. malloc'd, NULL only
 * for NULL or out of memory. */
char *chat_settings_json_tidy(const char *json);
/* Reads what chat_settings_json wrote over *s (missing keys keep *s). */
int chat_settings_from_json(chat_settings_t *s, const char *json, char *err, size_t errlen);

typedef struct chat_token {
    int id;
    int turn;          /* index of the turn it belongs to */
    /* First history index the model could see when it ran this token (its
     * attention covers window_start..index); the window slides as the
     * context fills. window_start > index: the model never read the token
     * (a prompt longer than the context). -1: not run yet. */
    int window_start;
    double t_ms;       /* since its turn began */
    int has_report;    /* 1 for sampled tokens */
    sampler_report_t report;
} chat_token_t;

/* One hypothesis of a beam search: the ids it would have replied with. */
typedef struct chat_hyp {
    int n;
    int *ids;          /* owned by the chat */
    float score;       /* sum_logprob / n (length penalty 1, beam.h) */
    float sum_logprob;
} chat_hyp_t;

typedef struct chat_turn {
    chat_role_t role;
    int first, n;      /* its tokens: [first, first + n) */
    chat_stop_t stop;
    double elapsed_ms;
    chat_settings_t settings; /* in force when the turn was made */
    /* A beam-search reply: the finished hypotheses, best (the reply) first;
     * 0 / NULL otherwise. */
    int n_hyps;
    chat_hyp_t *hyps;
} chat_turn_t;

typedef struct chat chat_t;

typedef struct chat_recorder {
    void *user;
    /* a turn has begun (its user tokens, if any, are already in place) */
    int (*turn_begin)(void *user, const chat_t *c, int turn, char *err, size_t errlen);
    /* a model token was appended */
    int (*token)(void *user, const chat_t *c, int index, char *err, size_t errlen);
    /* a turn has ended (chat_turn(c, turn)->stop says why) */
    int (*turn_end)(void *user, const chat_t *c, int turn, char *err, size_t errlen);
    /* chat_fork replaced reply `turn` (now the last) by one that shares its
     * first n_shared tokens; token() follows for the new one at once */
    int (*fork)(void *user, const chat_t *c, int turn, int n_shared, char *err, size_t errlen);
} chat_recorder_t;

/* What chat_init's capture asks the generator to keep of the newest
 * position (chat_gen -> gen_attn, gen_hidden); 1 is CHAT_CAPTURE_ATTN. */
enum { CHAT_CAPTURE_ATTN = 1, CHAT_CAPTURE_HIDDEN = 2 };

/* The model and tokenizer must outlive the chat. capture (CHAT_CAPTURE_*
 * flags) keeps the attention and / or the residual stream of the newest
 * position (chat_gen -> gen_attn, gen_hidden). n_threads > 0 is
 * a fixed count; n_threads < 0 means up to -n_threads, chosen per token from
 * measured step times (gen_params_t.adaptive_threads). */
chat_t *chat_init(const gpt_model_t *m, tokenizer_t *tok, const chat_settings_t *s,
                  int n_threads, int capture, char *err, size_t errlen);
void chat_free(chat_t *c); /* NULL is a no-op */
/* r is copied; NULL removes the recorder. */
void chat_set_recorder(chat_t *c, const chat_recorder_t *r);

const chat_settings_t *chat_settings(const chat_t *c);
/* Checked, then in force from the next reply on (the sampler is reseeded). */
int chat_set_settings(chat_t *c, const chat_settings_t *s, char *err, size_t errlen);
/* Hooks on the chat's sampler (sampler.h: logits processors, a chooser);
 * NULL removes them. Returns 0 or -1 (out of memory). */
int chat_set_sampler_hooks(chat_t *c, const sampler_hooks_t *h);

/* The most tokens one prompt may have: a prompt is kept whole (the model
 * reads only its last n_ctx - 1 tokens) and every token costs a chat_token_t
 * (about 1.6 KB, its sampler report included), so a 10 MB paste would take
 * 11 GB; 65536 tokens (some 250 KB of English) take about 100 MB. */
#define CHAT_MAX_PROMPT_TOKENS 65536

/* Adds a user turn with text[0..len) and runs it through the model. Text
 * that is not valid UTF-8 is refused with the byte offset, and a text of more
 * than CHAT_MAX_PROMPT_TOKENS tokens with its count. An empty text is
 * allowed once there is history (the model just continues). Returns 0 or -1. */
int chat_user(chat_t *c, const char *text, size_t len, char *err, size_t errlen);
/* Starts a reply (a model turn). Needs some history. */
int chat_reply_begin(chat_t *c, char *err, size_t errlen);
/* Produces the next token of the reply; *stop (may be NULL) says whether the
 * reply is over (then call chat_reply_end). Returns 0 or -1. */
int chat_reply_step(chat_t *c, chat_stop_t *stop, char *err, size_t errlen);
/* Closes the reply. why is used unless the reply already stopped by itself
 * (eos / max). Returns 0 or -1 (recorder). */
int chat_reply_end(chat_t *c, chat_stop_t why, char *err, size_t errlen);
int chat_in_reply(const chat_t *c);

/* "What if the model had chosen another token here?" Forks the
 * conversation at token index, a token of a reply (one with a sampler
 * report): the turns and tokens after it are dropped, candidate cand of its
 * report (0 = the most likely, as the report sorts them) takes its place,
 * with the same report (the distribution it was drawn from) but that
 * choice, and a reply is in progress from there: chat_reply_step goes on
 * with the current settings (up to max_tokens more tokens after the chosen
 * one; with beams > 1, a search from the fork), chat_reply_end closes it.
 * The model's cache up to the fork is kept when its window has not moved
 * since (gen_rewind): forking costs about two forward positions, not the
 * whole history. The recorder hears fork() and then token() for the chosen
 * candidate. The caller keeps the dropped branch if it wants it (the app's
 * store does). Returns 0, or -1 with err (not a sampled token, no such
 * candidate, a reply in progress, model error). */
int chat_fork(chat_t *c, int index, int cand, char *err, size_t errlen);

/* Rebuilding a stored conversation (/open, replay): appends a finished turn
 * with its ids (and, for model turns, optional per-token reports and times,
 * NULL when unknown) without running the model or the recorder. chat_sync
 * then runs the model over the restored history so that a new turn can
 * follow. */
int chat_restore_turn(chat_t *c, chat_role_t role, const int *ids, int n,
                      const sampler_report_t *reports, const double *t_ms, chat_stop_t stop,
                      double elapsed_ms, const chat_settings_t *settings, char *err,
                      size_t errlen);
int chat_sync(chat_t *c, char *err, size_t errlen);
/* Gives restored model turn `turn` its beam hypotheses (copied), as stored. */
int chat_restore_hyps(chat_t *c, int turn, const chat_hyp_t *hyps, int n, char *err,
                      size_t errlen);
/* Restored tokens get the window starts the live sliding policy would have
 * given them (generate.h), as if the turns had been made in one sitting;
 * a caller that stored the real ones puts them back with this: window
 * starts of tokens first..first+n-1. Returns 0, or -1 when the range is
 * outside the tokens or a start is negative. */
int chat_restore_windows(chat_t *c, int first, int n, const int *window_starts, char *err,
                         size_t errlen);
/* Forgets every turn (/clear, /new); settings stay. */
void chat_clear(chat_t *c);

int chat_n_tokens(const chat_t *c);
const chat_token_t *chat_token(const chat_t *c, int i);
const int *chat_ids(const chat_t *c); /* n_tokens ids */
int chat_n_turns(const chat_t *c);
const chat_turn_t *chat_turn(const chat_t *c, int i);
/* First token index the model still sees (0 until the window slid). */
int chat_window_start(const chat_t *c);
/* The tokens of turn t the model never read (a prompt longer than the
 * context keeps only its last n_ctx - 1 tokens): 0 normally. */
int chat_turn_unseen(const chat_t *c, int turn);
/* The bytes of token i (may be part of a UTF-8 character). */
const char *chat_token_bytes(const chat_t *c, int i, size_t *len);
/* The text of a turn, decoded (malloc'd; invalid UTF-8 becomes U+FFFD). */
char *chat_turn_text(const chat_t *c, int turn);
const gpt_model_t *chat_model(const chat_t *c);
tokenizer_t *chat_tokenizer(const chat_t *c);
const gen_t *chat_gen(const chat_t *c);

#endif
