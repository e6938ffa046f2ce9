/* gptscope_plugin.h - the C ABI between gptscope and its plugins, version 1.
 *
 * A plugin is a shared object (built with -fPIC -shared) that includes only
 * this header and exports one function, GSP_ENTRY_SYMBOL:
 *
 *   int gptscope_plugin_entry(uint32_t host_abi, const gsp_host_api_t *host,
 *                             const gsp_plugin_t **out, char *err, size_t errlen);
 *
 * gptscope calls it once after dlopen with its own GSP_ABI_VERSION and a table
 * of host functions (valid until the plugin's destroy hook has run). The
 * plugin returns 0 and points *out at its descriptor (which must stay valid
 * until destroy), or -1 with a one-line reason in err (gptscope prints
 * "gptscope: plugin FILE: REASON" and goes on without it). gptscope reads
 * the descriptor's abi_version first, and refuses a plugin whose version is
 * not its own before touching anything else, naming both versions; a plugin
 * may refuse a host_abi it was not written for in the same way.
 *
 * Every hook is optional (NULL or a zero count). Hooks run on gptscope's
 * thread, one at a time; `self` is the descriptor's self pointer. Strings
 * are UTF-8 (token texts are raw bytes and may be part of a character: use
 * their length). A hook that fails returns -1 with a message in err; the
 * operation it was part of (a reply, a command, an export) stops with
 * "plugin NAME: MESSAGE". A plugin runs in gptscope's process: a crash in
 * it is a crash of gptscope, so keep hooks simple and check every index.
 *
 * What each hook sees, and when:
 *   process_logits     every sampled token (generate, repl, chat; not beam
 *                      search): the logits of the next position, before the
 *                      penalties, temperature and filters, writable; set an
 *                      entry to -INFINITY to ban a token. The probability
 *                      pane still shows the model's own (raw) probabilities,
 *                      and the banned token as filtered out.
 *   samplers           named token choosers, picked with --sampler NAME on
 *                      generate/repl/chat or /sampler NAME at the prompt.
 *                      A sampler replaces top-k, top-p, min-p and the draw;
 *                      it sees the logits after process_logits, the
 *                      penalties and the temperature (temperature 0 stays
 *                      greedy and does not ask it), and draws with the
 *                      host's seeded random numbers so --seed reproduces it.
 *   observe_hidden     after every token the model runs during a reply, the
 *   observe_attention  residual stream at that position / its attention.
 *                      Computed only when a loaded plugin has these hooks.
 *   panes              drawn by the TUI (one at a time, chosen with /pane
 *                      NAME, replacing the probability pane) and printed by
 *                      the REPL's /pane NAME, through gsp_draw_api_t: the same
 *                      code renders into curses or into text.
 *   commands           slash commands (/NAME ARGS) in the TUI and the REPL,
 *                      listed by /help.
 *   exporters          `gptscope sessions export ID --format NAME -o FILE`.
 */
#ifndef GPTSCOPE_PLUGIN_H
#define GPTSCOPE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any change to the layout or meaning of what follows. */
#define GSP_ABI_VERSION 1u
#define GSP_ENTRY_SYMBOL "gptscope_plugin_entry"

/* ---- what the host offers ---------------------------------------------- */

typedef struct gsp_host gsp_host_t; /* opaque: gptscope's side */

typedef struct gsp_model_info {
    const char *model_type; /* "gpt2" or "openai-gpt" */
    const char *dir;        /* the model directory */
    int n_layer, n_head, n_embd, n_ctx, n_vocab;
    int final_ln;           /* 1: a final LayerNorm before the unembedding (GPT-2) */
} gsp_model_info_t;

typedef struct gsp_host_api {
    uint32_t abi_version; /* the host's GSP_ABI_VERSION */
    uint32_t size;        /* sizeof(gsp_host_api_t) as the host was built */
    gsp_host_t *host;     /* first argument of every call below */

    /* A line for the user ("gptscope: plugin NAME: MSG" on stderr, or the
     * TUI's message line). */
    void (*log)(gsp_host_t *h, const char *plugin, const char *msg);

    /* The model in use; -1 when there is none (e.g. `plugins list`). */
    int (*model_info)(gsp_host_t *h, gsp_model_info_t *out);
    /* The bytes of token id into buf (not NUL-terminated when cut);
     * returns their full length, or -1 for an id outside the vocabulary. */
    int (*token_text)(gsp_host_t *h, int id, char *buf, size_t cap);

    /* The conversation: its token count and ids (history index order). */
    int (*n_tokens)(gsp_host_t *h);
    int (*token_id)(gsp_host_t *h, int index); /* -1 when out of range */
    /* The residual stream at history position index, as the model read it
     * (the same window): out[(n_layer + 1) * n_embd], row 0 the embeddings
     * (token + position), row l the output of block l. Runs the model.
     * Returns 0, or -1 with err. */
    int (*hidden_states)(gsp_host_t *h, int index, float *out, char *err, size_t errlen);
    /* The model's output head on one residual vector [n_embd]: the final
     * LayerNorm where the model has one, then the tied unembedding:
     * logits[n_vocab]. For the last block's row it gives the model's own
     * logits. Returns 0, or -1 with err. */
    int (*unembed)(gsp_host_t *h, const float *residual, float *logits, char *err,
                   size_t errlen);
} gsp_host_api_t;

/* ---- drawing (panes) ----------------------------------------------------- */

typedef enum {
    GSP_STYLE_NORMAL = 0,
    GSP_STYLE_DIM,    /* decorations, notes */
    GSP_STYLE_BOLD,   /* headings */
    GSP_STYLE_CHOSEN, /* the highlighted item (the chosen token) */
    GSP_STYLE_ERROR
} gsp_style_t;

typedef struct gsp_canvas gsp_canvas_t; /* opaque: a curses window or a text grid */

typedef struct gsp_draw_api {
    int (*width)(gsp_canvas_t *c);  /* columns */
    int (*height)(gsp_canvas_t *c); /* rows */
    /* UTF-8 text at (row, col), clipped to the canvas; control bytes are
     * shown as '?'. Returns the columns written. */
    int (*text)(gsp_canvas_t *c, int row, int col, const char *utf8, gsp_style_t style);
    /* One cell shaded by level in [0, 1] (a heatmap cell; in text, one of
     * " .:-=+*#&@"). */
    void (*shade)(gsp_canvas_t *c, int row, int col, float level);
} gsp_draw_api_t;

/* What a pane describes. */
typedef struct gsp_view {
    int n_tokens;   /* in the conversation */
    int pos;        /* the selected token's history index (-1: none yet) */
    int generating; /* 1 while a reply streams (keep it cheap then) */
} gsp_view_t;

typedef struct gsp_pane {
    const char *name;  /* for /pane NAME: lower case, no spaces */
    const char *title; /* shown on the frame */
    int (*draw)(void *self, const gsp_draw_api_t *d, gsp_canvas_t *c, const gsp_view_t *v,
                char *err, size_t errlen);
} gsp_pane_t;

/* ---- slash commands ------------------------------------------------------ */

typedef struct gsp_command {
    const char *name; /* typed as /NAME: lower case, no spaces */
    const char *args; /* for /help, e.g. "[N]" ("" for none) */
    const char *help; /* one line */
    /* args: what followed the name, blanks trimmed ("" for none). msg gets a
     * short answer (shown on success) or the error. */
    int (*run)(void *self, const char *args, char *msg, size_t msglen);
} gsp_command_t;

/* ---- samplers ------------------------------------------------------------ */

/* Uniform in [0, 1) from the host's seeded generator. */
typedef double (*gsp_uniform_fn)(void *rng);

typedef struct gsp_sampler {
    const char *name;   /* --sampler NAME */
    const char *params; /* for --help: "tau=3 eta=0.1" with the defaults */
    /* A sampler instance from "key=value ..." (blank- or comma-separated,
     * "" for the defaults): NULL with err on a bad parameter. */
    void *(*create)(void *self, const char *params, char *err, size_t errlen);
    void (*destroy)(void *state);
    /* Forget what earlier tokens taught it (a new seed, new settings). */
    void (*reset)(void *state);
    /* Chooses the next id from logits[n_vocab] (see the top of the file for
     * what has been applied). probs[n_vocab] (zeroed by the host) may get
     * the distribution the draw used, for the probability pane; leave it
     * zero to have the host show the softmax of the logits. Returns the id,
     * or -1 with err. */
    int (*choose)(void *state, const float *logits, int n_vocab, const int *history,
                  int n_history, gsp_uniform_fn uniform, void *rng, float *probs, char *err,
                  size_t errlen);
} gsp_sampler_t;

/* ---- observers ------------------------------------------------------------ */

typedef struct gsp_hidden_view {
    int index;            /* history index of the token just run */
    int id;
    int n_layer, n_embd;
    const float *hidden;  /* [(n_layer + 1) * n_embd], as hidden_states above */
} gsp_hidden_view_t;

typedef struct gsp_attention_view {
    int index, id;
    int n_layer, n_head;
    int window_start;     /* history index of key 0 */
    int n_keys;           /* keys window_start .. index */
    const float *weights; /* [(layer * n_head + head) * n_keys + key] */
} gsp_attention_view_t;

/* ---- exporters --------------------------------------------------------------- */

/* A token's candidates come best first: by the probability the draw used,
 * then by the model's. */
typedef struct gsp_candidate {
    int id;
    const char *text; /* NUL-terminated, at most 63 bytes (a partial character
                         possible; a NUL byte in the token ends it) */
    float raw_prob;   /* the model's softmax */
    float prob;       /* what the draw used (0 when filtered out) */
    int kept;
} gsp_candidate_t;

typedef struct gsp_token {
    int id;
    const char *text;   /* bytes, text_len of them */
    size_t text_len;
    int has_sample;     /* 1 for sampled tokens: the fields below are set */
    float prob;         /* probability the chosen token was drawn with */
    float raw_prob;     /* the model's probability of it */
    float entropy;      /* nats, the model's distribution */
    int rank;           /* of the chosen token, 0 = top */
    int n_cand;
    const gsp_candidate_t *cand;
} gsp_token_t;

typedef struct gsp_turn {
    int role;           /* 0 user, 1 model */
    const char *stop;   /* "eos", "max", "interrupted", ... or NULL */
    const char *settings_json;
    int first;          /* session index of its first token */
    int n_tokens;
    const gsp_token_t *tokens;
} gsp_turn_t;

typedef struct gsp_session {
    int64_t id;
    const char *created, *updated; /* ISO 8601 UTC */
    const char *title, *model_path, *settings_json;
    int n_turns, n_tokens;
    const gsp_turn_t *turns;
    int n_layer, n_head;           /* 0 when the model could not be opened */
    /* The attention of session token index over the keys its window held:
     * out[(layer * n_head + head) * n_keys + key], keys *key0 .. index
     * (*key0 + *n_keys - 1 == index, *n_keys <= index + 1), *key0 the
     * session index of key 0. cap is out's size in floats: n_layer * n_head
     * * (index + 1) is always enough; less than needed gives -1. Runs the
     * session's model, keeping what it computed: asking for the tokens in
     * order costs about one token's forward pass each. -1 with err when it
     * cannot (no model). */
    int (*attention)(const struct gsp_session *s, int index, float *out, size_t cap,
                     int *n_keys, int *key0, char *err, size_t errlen);
    void *host_data;               /* for attention() */
} gsp_session_t;

/* Receives the exported bytes; returns 0, or -1 (a write error: stop). */
typedef int (*gsp_write_fn)(void *out, const void *data, size_t len);

typedef struct gsp_exporter {
    const char *format;    /* --format NAME */
    const char *extension; /* the usual file suffix, "html" */
    const char *help;      /* one line */
    int (*run)(void *self, const gsp_session_t *s, gsp_write_fn write, void *out, char *err,
               size_t errlen);
} gsp_exporter_t;

/* ---- the descriptor ------------------------------------------------------ */

typedef struct gsp_plugin {
    uint32_t abi_version;    /* GSP_ABI_VERSION the plugin was built with: FIRST */
    const char *name;        /* unique, lower case, e.g. "logit-lens" */
    const char *version;     /* the plugin's own, e.g. "1.0.0" */
    const char *description; /* one line */
    void *self;
    void (*destroy)(void *self); /* before dlclose */

    int (*process_logits)(void *self, float *logits, int n_vocab, const int *history,
                          int n_history, char *err, size_t errlen);
    void (*observe_hidden)(void *self, const gsp_hidden_view_t *v);
    void (*observe_attention)(void *self, const gsp_attention_view_t *v);

    int n_samplers;
    const gsp_sampler_t *samplers;
    int n_panes;
    const gsp_pane_t *panes;
    int n_commands;
    const gsp_command_t *commands;
    int n_exporters;
    const gsp_exporter_t *exporters;
} gsp_plugin_t;

typedef int (*gsp_entry_fn)(uint32_t host_abi, const gsp_host_api_t *host,
                            const gsp_plugin_t **out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
