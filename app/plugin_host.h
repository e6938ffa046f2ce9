/* plugin_host.h - gptscope's side of the plugin ABI (plugins/gptscope_plugin.h):
 * finding and loading plugins, the table of host functions they call, and
 * joining their hooks to the engine (the sampler's hooks, observers after
 * each token) and to the front ends (panes, slash commands, exporters).
 *
 * Discovery, in this order (a later plugin with a name already loaded is
 * skipped, and `plugins list` says so):
 *   1. every --plugin PATH, in the order given;
 *   2. unless --no-plugins: the plugins folder of the build tree when the
 *      program runs from it (<exe dir>/../plugins), the installed folder
 *      (<libdir>/gptscope/plugins, as seen from the binary's folder and as
 *      configured), and the user's folder
 *      ($XDG_DATA_HOME/gptscope/plugins, else ~/.local/share/gptscope/plugins);
 *      in each, every *.so in name order.
 * A plugin that cannot be loaded (not a shared object, no entry symbol, an
 * entry that fails, another ABI version, a malformed descriptor) is left
 * out with one line "gptscope: plugin PATH: REASON" on stderr; the program
 * goes on without it. */
#ifndef GPTSCOPE_APP_PLUGIN_HOST_H
#define GPTSCOPE_APP_PLUGIN_HOST_H

#include <stddef.h>
#include <stdio.h>

#include "attn_probe.h"
#include "chat.h"
#include "generate.h"
#include "gptscope_plugin.h"
#include "sampler.h"
#include "tokenizer.h"

#define PLUGIN_MAX_PATHS 32

/* What the command line says about plugins. */
typedef struct plugin_opts {
    const char *paths[PLUGIN_MAX_PATHS]; /* --plugin PATH, in order */
    int n_paths;
    int no_discovery;                    /* --no-plugins: only the --plugin ones */
    int quiet;                           /* 1: keep load problems for plugins list */
} plugin_opts_t;

/* Adds a --plugin value; prints a usage error and returns -1 past the limit. */
int plugin_opts_add(plugin_opts_t *o, const char *cmd, const char *path);

typedef struct plugin_loaded {
    char *path;            /* as found */
    const char *origin;    /* "--plugin", "build tree", "installed", "user" */
    void *handle;          /* dlopen */
    const gsp_plugin_t *desc;
} plugin_loaded_t;

typedef struct plugin_host {
    plugin_loaded_t *v;
    int n;
    char **problems;       /* "PATH: REASON" of what was left out */
    int n_problems;
    gsp_host_api_t api;    /* what every plugin was given */
    /* What the host functions answer from (plugin_host_bind). */
    chat_t *chat;
    const gpt_model_t *model;
    tokenizer_t *tok;
    int n_threads;
    attn_probe_t *probe;   /* made on first use by hidden_states / unembed */
    /* The sampler chosen with --sampler or /sampler. */
    int sampler_owner;     /* index into v, -1: none */
    const gsp_sampler_t *sampler;
    void *sampler_state;
    char sampler_spec[CHAT_MAX_SAMPLER + 1];
    char log_line[512];    /* the last line a plugin logged (for the TUI) */
    const void *observed_gen; /* the generator and history index last observed: */
    int observed_index;       /* (a generator that did not run a new token is not observed twice) */
    float *attn_rows;         /* the newest attention packed for the observers, reused */
    size_t cap_attn_rows;
    int screen;            /* 1 while the TUI owns the terminal: log lines wait in log_line */
} plugin_host_t;

/* Loads what o names and discovers the rest. Never fails: what cannot be
 * loaded is reported and left out. */
void plugin_host_init(plugin_host_t *ph, const plugin_opts_t *o);
void plugin_host_free(plugin_host_t *ph);

/* The conversation, model and tokenizer the host functions describe
 * (chat may be NULL: generate has none; model NULL: no model at all). */
void plugin_host_bind(plugin_host_t *ph, chat_t *chat, const gpt_model_t *model,
                      tokenizer_t *tok, int n_threads);

/* CHAT_CAPTURE_* flags the loaded observers need. */
int plugin_host_capture(const plugin_host_t *ph);
/* Calls the observers on the newest position g has run. */
void plugin_host_observe(plugin_host_t *ph, const gen_t *g);

/* Chooses the sampler "NAME key=value ..." ("" or "default": the built-in
 * pipeline again). Returns 0, or -1 with err (unknown name, bad
 * parameters; the previous choice stays). */
int plugin_host_set_sampler(plugin_host_t *ph, const char *spec, char *err, size_t errlen);
/* The hooks to put on a sampler (sampler_set_hooks): 1 with *h filled when
 * some plugin processes logits or a plugin sampler is chosen, else 0. */
int plugin_host_hooks(plugin_host_t *ph, sampler_hooks_t *h);
/* "NAME (plugin P): params" lines of every plugin sampler, for --help and
 * /sampler; malloc'd. */
char *plugin_host_sampler_list(const plugin_host_t *ph);

/* Panes: how many, and pane i's name and title. */
int plugin_host_n_panes(const plugin_host_t *ph);
const gsp_pane_t *plugin_host_pane(const plugin_host_t *ph, int i, const char **plugin);
int plugin_host_pane_draw(plugin_host_t *ph, int i, const gsp_draw_api_t *d, gsp_canvas_t *c,
                          const gsp_view_t *v, char *err, size_t errlen);

/* Runs /NAME ARGS if a plugin has that command: 1 done (msg: its answer),
 * -1 it failed (msg: why), 0 no plugin has it. */
int plugin_host_command(plugin_host_t *ph, const char *name, const char *args, char *msg,
                        size_t msglen);
/* "  /NAME ARGS   HELP (plugin P)" lines for /help; malloc'd ("" if none). */
char *plugin_host_command_help(const plugin_host_t *ph);

/* The exporter for --format NAME, or NULL; *owner gets its plugin's index. */
const gsp_exporter_t *plugin_host_exporter(const plugin_host_t *ph, const char *format,
                                           int *owner);

/* Writes "plugin NAME: " + the hook's message for a failed hook. */
void plugin_host_hook_error(const plugin_host_t *ph, int owner, const char *msg, char *err,
                            size_t errlen);

#endif
