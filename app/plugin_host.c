/* plugin_host.c - loading plugins and calling their hooks (plugin_host.h). */
#include "plugin_host.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attn_cache.h"
#include "cli.h"
#include "session.h"

#ifndef GPTSCOPE_PLUGINDIR
#define GPTSCOPE_PLUGINDIR "/usr/local/lib/gptscope/plugins"
#endif
#ifndef GPTSCOPE_PLUGINDIR_FROM_BIN
#define GPTSCOPE_PLUGINDIR_FROM_BIN "../lib/gptscope/plugins"
#endif

/* Sanity limits on a descriptor's tables: far above any real plugin, low
 * enough that a garbage count is caught before it is walked. */
#define PLUGIN_MAX_HOOKS 64

int plugin_opts_add(plugin_opts_t *o, const char *cmd, const char *path) {
    if (o->n_paths >= PLUGIN_MAX_PATHS) {
        cli_usage_error(cmd, "at most %d --plugin options", PLUGIN_MAX_PATHS);
        return -1;
    }
    o->paths[o->n_paths++] = path;
    return 0;
}

/* ---- the host functions plugins call ----------------------------------------- */

static plugin_host_t *ph_of(gsp_host_t *h) { return (plugin_host_t *)h; }

static void host_log(gsp_host_t *h, const char *plugin, const char *msg) {
    plugin_host_t *ph = ph_of(h);
    snprintf(ph->log_line, sizeof ph->log_line, "plugin %s: %s", plugin ? plugin : "?",
             msg ? msg : "");
    /* the TUI owns the screen: it shows log_line itself (take_notice) */
    if (!ph->screen) fprintf(stderr, "gptscope: %s\n", ph->log_line);
}

static int host_model_info(gsp_host_t *h, gsp_model_info_t *out) {
    plugin_host_t *ph = ph_of(h);
    if (!ph->model || !out) return -1;
    const gpt_config_t *c = &ph->model->cfg;
    *out = (gsp_model_info_t){c->model_type, ph->model->dir, c->n_layer, c->n_head, c->n_embd,
                              c->n_ctx, c->n_vocab, c->final_ln};
    return 0;
}

static int host_token_text(gsp_host_t *h, int id, char *buf, size_t cap) {
    plugin_host_t *ph = ph_of(h);
    if (!ph->tok || id < 0 || id >= tokenizer_vocab_size(ph->tok)) return -1;
    size_t n = 0;
    const char *b = tokenizer_token_bytes(ph->tok, id, &n);
    if (!b) return -1;
    if (buf && cap > 0) {
        size_t k = n < cap ? n : cap;
        memcpy(buf, b, k);
        if (k < cap) buf[k] = 0;
    }
    return (int)n;
}

static int host_n_tokens(gsp_host_t *h) {
    plugin_host_t *ph = ph_of(h);
    return ph->chat ? chat_n_tokens(ph->chat) : 0;
}

static int host_token_id(gsp_host_t *h, int index) {
    plugin_host_t *ph = ph_of(h);
    if (!ph->chat || index < 0 || index >= chat_n_tokens(ph->chat)) return -1;
    return chat_ids(ph->chat)[index];
}

static int ph_probe(plugin_host_t *ph, char *err, size_t errlen) {
    if (!ph->model) {
        snprintf(err, errlen, "no model is loaded");
        return -1;
    }
    if (!ph->probe) ph->probe = attn_probe_init(ph->model, ph->n_threads, err, errlen);
    return ph->probe ? 0 : -1;
}

static int host_hidden_states(gsp_host_t *h, int index, float *out, char *err, size_t errlen) {
    plugin_host_t *ph = ph_of(h);
    if (ph_probe(ph, err, errlen) != 0) return -1;
    if (!ph->chat || index < 0 || index >= chat_n_tokens(ph->chat) || !out) {
        snprintf(err, errlen, "no token %d in the conversation", index);
        return -1;
    }
    /* the window the model had when it ran this token: the one the
     * attention pane shows for it too */
    int ws = attn_window_start(ph->chat, index);
    return attn_probe_hidden(ph->probe, chat_ids(ph->chat) + ws, index - ws, out, err, errlen);
}

static int host_unembed(gsp_host_t *h, const float *residual, float *logits, char *err,
                        size_t errlen) {
    plugin_host_t *ph = ph_of(h);
    if (ph_probe(ph, err, errlen) != 0) return -1;
    if (!residual || !logits) {
        snprintf(err, errlen, "unembed: NULL vector");
        return -1;
    }
    return attn_probe_unembed(ph->probe, residual, logits, err, errlen);
}

/* ---- loading ------------------------------------------------------------------ */

static void ph_problem(plugin_host_t *ph, int quiet, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ph_problem(plugin_host_t *ph, int quiet, const char *path, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!quiet) fprintf(stderr, "gptscope: plugin %s: %s\n", path, msg);
    char **p = realloc(ph->problems, (size_t)(ph->n_problems + 1) * sizeof *p);
    if (!p) return;
    ph->problems = p;
    size_t n = strlen(path) + strlen(msg) + 3;
    if ((p[ph->n_problems] = malloc(n))) {
        snprintf(p[ph->n_problems], n, "%s: %s", path, msg);
        ph->n_problems++;
    }
}

static int name_ok(const char *s, size_t max) {
    if (!s || !*s || strlen(s) > max) return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

/* Everything the host will read from a descriptor, checked before use. */
static int desc_check(const gsp_plugin_t *d, char *err, size_t errlen) {
    if (!name_ok(d->name, 63)) {
        snprintf(err, errlen, "its name must be 1-63 characters of a-z, 0-9, '-', '_'");
        return -1;
    }
    if (!d->version || !d->description) {
        snprintf(err, errlen, "plugin %s has no version or description", d->name);
        return -1;
    }
    int counts[4] = {d->n_samplers, d->n_panes, d->n_commands, d->n_exporters};
    const void *arrays[4] = {d->samplers, d->panes, d->commands, d->exporters};
    static const char *const what[4] = {"samplers", "panes", "commands", "exporters"};
    for (int k = 0; k < 4; k++)
        if (counts[k] < 0 || counts[k] > PLUGIN_MAX_HOOKS || (counts[k] > 0 && !arrays[k])) {
            snprintf(err, errlen, "plugin %s: bad %s table (%d)", d->name, what[k], counts[k]);
            return -1;
        }
    for (int i = 0; i < d->n_samplers; i++) {
        const gsp_sampler_t *s = &d->samplers[i];
        if (!name_ok(s->name, 63) || !s->create || !s->destroy || !s->choose) {
            snprintf(err, errlen, "plugin %s: sampler %d lacks a name or create/destroy/choose",
                     d->name, i);
            return -1;
        }
    }
    for (int i = 0; i < d->n_panes; i++)
        if (!name_ok(d->panes[i].name, 63) || !d->panes[i].draw) {
            snprintf(err, errlen, "plugin %s: pane %d lacks a name or draw", d->name, i);
            return -1;
        }
    for (int i = 0; i < d->n_commands; i++)
        if (!name_ok(d->commands[i].name, 31) || !d->commands[i].run) {
            snprintf(err, errlen, "plugin %s: command %d lacks a name or run", d->name, i);
            return -1;
        }
    for (int i = 0; i < d->n_exporters; i++)
        if (!name_ok(d->exporters[i].format, 31) || !d->exporters[i].run) {
            snprintf(err, errlen, "plugin %s: exporter %d lacks a format or run", d->name, i);
            return -1;
        }
    return 0;
}

/* Loaded plugins keep their real path (ph_load), so a file is known by it. */
static int ph_loaded_path(const plugin_host_t *ph, const char *real) {
    for (int i = 0; i < ph->n; i++)
        if (strcmp(ph->v[i].path, real) == 0) return 1;
    return 0;
}

/* Loads one plugin file. Returns 0 loaded, 1 skipped (already there), -1 refused. */
static int ph_load(plugin_host_t *ph, const char *path, const char *origin, int quiet) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        ph_problem(ph, quiet, path, "%s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        ph_problem(ph, quiet, path, "not a regular file");
        return -1;
    }
    char real[PATH_MAX] = "";
    if (!realpath(path, real)) real[0] = 0;
    else if (ph_loaded_path(ph, real)) return 1;
    /* "./x.so" style paths: dlopen searches LD_LIBRARY_PATH for a bare name */
    char full[PATH_MAX + 8];
    snprintf(full, sizeof full, "%s%s", strchr(path, '/') ? "" : "./", path);
    dlerror();
    void *h = dlopen(full, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        ph_problem(ph, quiet, path, "cannot load it: %s", e ? e : "dlopen failed");
        return -1;
    }
    gsp_entry_fn entry;
    *(void **)&entry = dlsym(h, GSP_ENTRY_SYMBOL);
    if (!entry) {
        ph_problem(ph, quiet, path, "not a gptscope plugin (no %s symbol)", GSP_ENTRY_SYMBOL);
        dlclose(h);
        return -1;
    }
    const gsp_plugin_t *d = NULL;
    char err[512] = "";
    if (entry(GSP_ABI_VERSION, &ph->api, &d, err, sizeof err) != 0 || !d) {
        ph_problem(ph, quiet, path, "it refused to start: %s", err[0] ? err : "no reason given");
        dlclose(h);
        return -1;
    }
    if (d->abi_version != GSP_ABI_VERSION) {
        ph_problem(ph, quiet, path,
                   "built for plugin ABI version %u, this gptscope has version %u",
                   (unsigned)d->abi_version, (unsigned)GSP_ABI_VERSION);
        dlclose(h); /* its descriptor may be laid out otherwise: destroy is not called */
        return -1;
    }
    if (desc_check(d, err, sizeof err) != 0) {
        ph_problem(ph, quiet, path, "%s", err);
        if (d->destroy) d->destroy(d->self);
        dlclose(h);
        return -1;
    }
    for (int i = 0; i < ph->n; i++)
        if (strcmp(ph->v[i].desc->name, d->name) == 0) {
            ph_problem(ph, 1, path, "plugin %s is already loaded from %s", d->name, ph->v[i].path);
            if (d->destroy) d->destroy(d->self);
            dlclose(h);
            return 1;
        }
    plugin_loaded_t *v = realloc(ph->v, (size_t)(ph->n + 1) * sizeof *v);
    char *p = strdup(real[0] ? real : path); /* "build/app/../plugins/x.so" says less */
    if (!v || !p) {
        if (v) ph->v = v;
        free(p);
        ph_problem(ph, quiet, path, "out of memory");
        if (d->destroy) d->destroy(d->self);
        dlclose(h);
        return -1;
    }
    ph->v = v;
    ph->v[ph->n++] = (plugin_loaded_t){p, origin, h, d};
    return 0;
}

static int so_name(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return n > 3 && strcmp(e->d_name + n - 3, ".so") == 0;
}

/* Every *.so in dir, in name order; a missing folder is not a problem. */
static void ph_load_dir(plugin_host_t *ph, const char *dir, const char *origin, int quiet) {
    struct dirent **list = NULL;
    int n = scandir(dir, &list, so_name, alphasort);
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name) < (int)sizeof path)
            ph_load(ph, path, origin, quiet);
        free(list[i]);
    }
    free(list);
}

void plugin_host_init(plugin_host_t *ph, const plugin_opts_t *o) {
    memset(ph, 0, sizeof *ph);
    ph->sampler_owner = -1;
    ph->n_threads = 1;
    ph->api = (gsp_host_api_t){GSP_ABI_VERSION, sizeof(gsp_host_api_t), (gsp_host_t *)ph,
                               host_log, host_model_info, host_token_text, host_n_tokens,
                               host_token_id, host_hidden_states, host_unembed};
    int quiet = o ? o->quiet : 0;
    for (int i = 0; o && i < o->n_paths; i++) ph_load(ph, o->paths[i], "--plugin", quiet);
    if (o && o->no_discovery) return;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            char dir[2 * PATH_MAX];
            snprintf(dir, sizeof dir, "%s/../plugins", exe);
            /* only a build tree has its own plugins folder next to app/ */
            char mark[PATH_MAX + 32];
            snprintf(mark, sizeof mark, "%s/../meson-info", exe);
            struct stat sb;
            if (stat(mark, &sb) == 0) ph_load_dir(ph, dir, "build tree", quiet);
            /* the installed folder as seen from an installed binary (the
             * same files as GPTSCOPE_PLUGINDIR unless the install moved) */
            snprintf(dir, sizeof dir, "%s/%s", exe, GPTSCOPE_PLUGINDIR_FROM_BIN);
            ph_load_dir(ph, dir, "installed", quiet);
        }
    }
    ph_load_dir(ph, GPTSCOPE_PLUGINDIR, "installed", quiet);
    char user[PATH_MAX];
    if (app_data_path("plugins", user, sizeof user) == 0) ph_load_dir(ph, user, "user", quiet);
}

void plugin_host_free(plugin_host_t *ph) {
    if (!ph) return;
    if (ph->sampler && ph->sampler_state) ph->sampler->destroy(ph->sampler_state);
    for (int i = 0; i < ph->n; i++) {
        const gsp_plugin_t *d = ph->v[i].desc;
        if (d->destroy) d->destroy(d->self);
        dlclose(ph->v[i].handle);
        free(ph->v[i].path);
    }
    free(ph->v);
    for (int i = 0; i < ph->n_problems; i++) free(ph->problems[i]);
    free(ph->problems);
    attn_probe_free(ph->probe);
    free(ph->attn_rows);
    memset(ph, 0, sizeof *ph);
    ph->sampler_owner = -1;
}

void plugin_host_bind(plugin_host_t *ph, chat_t *chat, const gpt_model_t *model,
                      tokenizer_t *tok, int n_threads) {
    if (model != ph->model) {
        attn_probe_free(ph->probe);
        ph->probe = NULL;
    }
    ph->chat = chat;
    ph->model = model;
    ph->tok = tok;
    ph->n_threads = n_threads > 0 ? n_threads : 1;
}

/* ---- observers ------------------------------------------------------------------ */

int plugin_host_capture(const plugin_host_t *ph) {
    int flags = 0;
    for (int i = 0; i < ph->n; i++) {
        if (ph->v[i].desc->observe_hidden) flags |= CHAT_CAPTURE_HIDDEN;
        if (ph->v[i].desc->observe_attention) flags |= CHAT_CAPTURE_ATTN;
    }
    return flags;
}

void plugin_host_observe(plugin_host_t *ph, const gen_t *g) {
    const gpt_config_t *c = &gen_model(g)->cfg;
    const int *hist = gen_history(g, NULL);
    int hidx = -1, pos = 0, aidx = -1;
    const float *hidden = gen_hidden(g, &hidx);
    const float *attn = gen_attn(g, &pos, &aidx);
    int index = hidden ? hidx : aidx;
    if ((const void *)g == ph->observed_gen && index == ph->observed_index) return;
    ph->observed_gen = g;
    ph->observed_index = index;
    float *rows = NULL; /* packed once per token, for every attention observer */
    for (int i = 0; i < ph->n; i++) {
        const gsp_plugin_t *d = ph->v[i].desc;
        if (d->observe_hidden && hidden) {
            gsp_hidden_view_t v = {hidx, hist[hidx], c->n_layer, c->n_embd, hidden};
            d->observe_hidden(d->self, &v);
        }
        if (d->observe_attention && attn) {
            /* the capture has key stride n_ctx: hand over packed rows */
            int n_keys = pos + 1, lh = c->n_layer * c->n_head;
            size_t need = (size_t)lh * (size_t)n_keys;
            if (!rows) {
                if (need > ph->cap_attn_rows) {
                    float *b = realloc(ph->attn_rows, need * sizeof *b);
                    if (!b) return;
                    ph->attn_rows = b;
                    ph->cap_attn_rows = need;
                }
                rows = ph->attn_rows;
                for (int r = 0; r < lh; r++)
                    memcpy(rows + (size_t)r * n_keys, attn + (size_t)r * c->n_ctx,
                           (size_t)n_keys * sizeof *rows);
            }
            gsp_attention_view_t v = {aidx, hist[aidx], c->n_layer, c->n_head,
                                      gen_window_start(g), n_keys, rows};
            d->observe_attention(d->self, &v);
        }
    }
}

/* ---- samplers and logits processors ---------------------------------------------- */

void plugin_host_hook_error(const plugin_host_t *ph, int owner, const char *msg, char *err,
                            size_t errlen) {
    const char *name = owner >= 0 && owner < ph->n ? ph->v[owner].desc->name : "?";
    snprintf(err, errlen, "plugin %s: %s", name, msg && *msg ? msg : "failed (no reason given)");
}

static int hook_process(void *user, float *logits, int n_vocab, const int *history,
                        size_t n_history, char *err, size_t errlen) {
    plugin_host_t *ph = user;
    for (int i = 0; i < ph->n; i++) {
        const gsp_plugin_t *d = ph->v[i].desc;
        if (!d->process_logits) continue;
        char msg[256] = "";
        if (d->process_logits(d->self, logits, n_vocab, history, (int)n_history, msg,
                              sizeof msg) != 0) {
            plugin_host_hook_error(ph, i, msg, err, errlen);
            return -1;
        }
    }
    return 0;
}

static int hook_choose(void *user, const float *logits, int n_vocab, const int *history,
                       size_t n_history, double (*uniform)(void *rng), void *rng, float *probs,
                       char *err, size_t errlen) {
    plugin_host_t *ph = user;
    char msg[256] = "";
    int id = ph->sampler->choose(ph->sampler_state, logits, n_vocab, history, (int)n_history,
                                 uniform, rng, probs, msg, sizeof msg);
    if (id < 0) plugin_host_hook_error(ph, ph->sampler_owner, msg, err, errlen);
    return id;
}

static void hook_reset(void *user) {
    plugin_host_t *ph = user;
    if (ph->sampler && ph->sampler->reset) ph->sampler->reset(ph->sampler_state);
}

int plugin_host_hooks(plugin_host_t *ph, sampler_hooks_t *h) {
    int any_process = 0;
    for (int i = 0; i < ph->n; i++) any_process |= ph->v[i].desc->process_logits != NULL;
    if (!any_process && !ph->sampler) return 0;
    *h = (sampler_hooks_t){ph, any_process ? hook_process : NULL, ph->sampler ? hook_choose : NULL,
                           hook_reset};
    return 1;
}

int plugin_host_set_sampler(plugin_host_t *ph, const char *spec, char *err, size_t errlen) {
    while (*spec == ' ') spec++;
    size_t len = strcspn(spec, " \t");
    if (len == 0 || (len == 7 && strncmp(spec, "default", 7) == 0)) {
        if (ph->sampler) ph->sampler->destroy(ph->sampler_state);
        ph->sampler = NULL;
        ph->sampler_state = NULL;
        ph->sampler_owner = -1;
        ph->sampler_spec[0] = 0;
        return 0;
    }
    if (strlen(spec) > CHAT_MAX_SAMPLER) {
        snprintf(err, errlen, "sampler: '%.40s...' is longer than %d bytes", spec, CHAT_MAX_SAMPLER);
        return -1;
    }
    const char *params = spec + len;
    while (*params == ' ' || *params == '\t') params++;
    for (int i = 0; i < ph->n; i++) {
        const gsp_plugin_t *d = ph->v[i].desc;
        for (int k = 0; k < d->n_samplers; k++) {
            const gsp_sampler_t *s = &d->samplers[k];
            if (strlen(s->name) != len || strncmp(s->name, spec, len) != 0) continue;
            char msg[256] = "";
            void *state = s->create(d->self, params, msg, sizeof msg);
            if (!state) {
                plugin_host_hook_error(ph, i, msg, err, errlen);
                return -1;
            }
            if (ph->sampler) ph->sampler->destroy(ph->sampler_state);
            ph->sampler = s;
            ph->sampler_state = state;
            ph->sampler_owner = i;
            snprintf(ph->sampler_spec, sizeof ph->sampler_spec, "%s", spec);
            return 0;
        }
    }
    int any = 0;
    for (int i = 0; i < ph->n; i++) any |= ph->v[i].desc->n_samplers > 0;
    snprintf(err, errlen, "no sampler '%.*s' (%s)", (int)(len > 64 ? 64 : len), spec,
             any ? "see 'gptscope plugins list'" : "no plugin sampler is loaded");
    return -1;
}

/* Appends a formatted line to a growing malloc'd string (*s may be NULL). */
static void str_addf(char **s, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void str_addf(char **s, size_t *n, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if ((size_t)k >= sizeof line) k = (int)sizeof line - 1;
    char *t = realloc(*s, *n + (size_t)k + 1);
    if (!t) return;
    memcpy(t + *n, line, (size_t)k + 1);
    *s = t;
    *n += (size_t)k;
}

char *plugin_host_sampler_list(const plugin_host_t *ph) {
    char *s = strdup("");
    size_t n = 0;
    for (int i = 0; s && i < ph->n; i++) {
        const gsp_plugin_t *d = ph->v[i].desc;
        for (int k = 0; k < d->n_samplers; k++)
            str_addf(&s, &n, "  %-12s %s (plugin %s)\n", d->samplers[k].name,
                     d->samplers[k].params ? d->samplers[k].params : "", d->name);
    }
    return s;
}

/* ---- panes, commands, exporters ---------------------------------------------------- */

/* The i-th pane over every plugin, in load order; *owner its plugin. */
static const gsp_pane_t *pane_at(const plugin_host_t *ph, int i, int *owner) {
    for (int p = 0; p < ph->n; p++) {
        const gsp_plugin_t *d = ph->v[p].desc;
        if (i < d->n_panes) {
            if (owner) *owner = p;
            return &d->panes[i];
        }
        i -= d->n_panes;
    }
    return NULL;
}

int plugin_host_n_panes(const plugin_host_t *ph) {
    int n = 0;
    for (int i = 0; i < ph->n; i++) n += ph->v[i].desc->n_panes;
    return n;
}

const gsp_pane_t *plugin_host_pane(const plugin_host_t *ph, int i, const char **plugin) {
    int owner = -1;
    const gsp_pane_t *p = i >= 0 ? pane_at(ph, i, &owner) : NULL;
    if (p && plugin) *plugin = ph->v[owner].desc->name;
    return p;
}

int plugin_host_pane_draw(plugin_host_t *ph, int i, const gsp_draw_api_t *d, gsp_canvas_t *c,
                          const gsp_view_t *v, char *err, size_t errlen) {
    int owner = -1;
    const gsp_pane_t *p = i >= 0 ? pane_at(ph, i, &owner) : NULL;
    if (!p) {
        snprintf(err, errlen, "no plugin pane %d", i);
        return -1;
    }
    char msg[256] = "";
    if (p->draw(ph->v[owner].desc->self, d, c, v, msg, sizeof msg) != 0) {
        plugin_host_hook_error(ph, owner, msg, err, errlen);
        return -1;
    }
    return 0;
}

int plugin_host_command(plugin_host_t *ph, const char *name, const char *args, char *msg,
                        size_t msglen) {
    for (int i = 0; i < ph->n; i++) {
        const gsp_plugin_t *d = ph->v[i].desc;
        for (int k = 0; k < d->n_commands; k++) {
            if (strcmp(d->commands[k].name, name) != 0) continue;
            char out[512] = "";
            if (d->commands[k].run(d->self, args, out, sizeof out) != 0) {
                plugin_host_hook_error(ph, i, out, msg, msglen);
                return -1;
            }
            snprintf(msg, msglen, "%s", out);
            return 1;
        }
    }
    return 0;
}

char *plugin_host_command_help(const plugin_host_t *ph) {
    char *s = strdup("");
    size_t n = 0;
    for (int i = 0; s && i < ph->n; i++) {
        const gsp_plugin_t *d = ph->v[i].desc;
        for (int k = 0; k < d->n_commands; k++) {
            const gsp_command_t *c = &d->commands[k];
            char head[64];
            snprintf(head, sizeof head, "/%s %s", c->name, c->args ? c->args : "");
            str_addf(&s, &n, "  %-18s %s (plugin %s)\n", head, c->help ? c->help : "", d->name);
        }
    }
    return s;
}

const gsp_exporter_t *plugin_host_exporter(const plugin_host_t *ph, const char *format,
                                           int *owner) {
    for (int i = 0; i < ph->n; i++) {
        const gsp_plugin_t *d = ph->v[i].desc;
        for (int k = 0; k < d->n_exporters; k++)
            if (strcmp(d->exporters[k].format, format) == 0) {
                if (owner) *owner = i;
                return &d->exporters[k];
            }
    }
    return NULL;
}
