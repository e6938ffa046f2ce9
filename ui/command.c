/* command.c - the slash commands (command.h): one descriptor table that both
 * runs the commands and writes /help. */
#include "command.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    ARG_NONE,   /* no argument */
    ARG_FLOAT,  /* one number in [lo, hi] */
    ARG_INT,    /* one integer in [lo, hi] */
    ARG_U64,    /* one unsigned 64-bit integer */
    ARG_TEXT,   /* the rest of the line (required) */
    ARG_TEXT_OPT, /* the rest of the line, may be empty */
    ARG_INTS_OPT  /* up to two integers, may be absent */
} command_arg_t;

typedef enum {
    CMD_TEMP, CMD_TOP_K, CMD_TOP_P, CMD_MIN_P, CMD_REP, CMD_PRESENCE, CMD_FREQUENCY, CMD_SEED,
    CMD_MAX_TOKENS, CMD_BEAMS, CMD_EOS, CMD_CANDS, CMD_SEP, CMD_SET, CMD_MODEL, CMD_CLEAR, CMD_NEW, CMD_SESSIONS, CMD_OPEN, CMD_EXPORT, CMD_PROBS,
    CMD_ATTN, CMD_SETTINGS, CMD_HELP, CMD_QUIT, CMD_SAMPLER, CMD_PANE, CMD_FORK, CMD_BRANCHES,
    CMD_BRANCH, CMD_COMPARE
} command_id_t;

typedef struct command_desc {
    const char *name;
    command_id_t id;
    command_arg_t arg;
    double lo, hi;
    const char *usage; /* argument placeholder for /help */
    const char *help;
} command_desc_t;

static const command_desc_t command_table[] = {
    {"temp", CMD_TEMP, ARG_FLOAT, 0, 100, "X", "sampling temperature (0 = greedy)"},
    {"top-k", CMD_TOP_K, ARG_INT, 0, 1e9, "N", "keep the N most likely tokens (0 = off)"},
    {"top-p", CMD_TOP_P, ARG_FLOAT, 1e-6, 1, "P", "keep the smallest set with mass >= P (1 = off)"},
    {"min-p", CMD_MIN_P, ARG_FLOAT, 0, 1, "P", "drop tokens below P x the top probability (0 = off)"},
    {"rep", CMD_REP, ARG_FLOAT, 1e-3, 100, "R", "repetition penalty (1 = off)"},
    {"presence-penalty", CMD_PRESENCE, ARG_FLOAT, -1e6, 1e6, "X", "minus X on every logit seen (0 = off)"},
    {"frequency-penalty", CMD_FREQUENCY, ARG_FLOAT, -1e6, 1e6, "X", "minus X x count on logits seen"},
    {"seed", CMD_SEED, ARG_U64, 0, 0, "N", "reseed the sampler"},
    {"max-tokens", CMD_MAX_TOKENS, ARG_INT, 1, 1000000, "N", "longest reply in tokens"},
    {"beams", CMD_BEAMS, ARG_INT, 1, 16, "N", "beam search with N beams (1 = sample)"},
    {"eos", CMD_EOS, ARG_INT, 0, 1, "0|1", "stop a reply at end-of-text (1) or run on (0)"},
    {"cands", CMD_CANDS, ARG_INT, 1, SAMPLER_MAX_REPORT, "N", "candidates kept per sampled token (probabilities pane)"},
    {"sep", CMD_SEP, ARG_TEXT_OPT, 0, 0, "[TEXT]", "put TEXT between a reply and the next prompt (\\n, none)"},
    {"set", CMD_SET, ARG_TEXT, 0, 0, "NAME X", "any setting above by name (/set temperature 0.7)"},
    {"model", CMD_MODEL, ARG_TEXT, 0, 0, "DIR", "switch to the model in DIR (a new session)"},
    {"clear", CMD_CLEAR, ARG_NONE, 0, 0, "", "clear the conversation (a new session)"},
    {"new", CMD_NEW, ARG_NONE, 0, 0, "", "start a new session"},
    {"sessions", CMD_SESSIONS, ARG_NONE, 0, 0, "", "list stored sessions"},
    {"open", CMD_OPEN, ARG_INT, 1, 9.2e18, "ID", "continue stored session ID"},
    {"export", CMD_EXPORT, ARG_TEXT_OPT, 0, 0, "[FILE]", "write this session as Markdown"},
    {"probs", CMD_PROBS, ARG_INTS_OPT, 0, 0, "[N]", "candidates of token N (default: the selected or last)"},
    {"fork", CMD_FORK, ARG_INTS_OPT, 0, 0, "N K", "fork at token N with its candidate K and go on from there"},
    {"branches", CMD_BRANCHES, ARG_NONE, 0, 0, "", "the session's branches (* the one shown)"},
    {"branch", CMD_BRANCH, ARG_INT, 0, 1e9, "B", "show branch B and continue it"},
    {"compare", CMD_COMPARE, ARG_TEXT, 0, 0, "DIR", "the conversation's tokens under this model and DIR's"},
    {"attn", CMD_ATTN, ARG_INTS_OPT, 0, 0, "[L] [H]", "attention of layer L, head H (no H: mean)"},
    {"sampler", CMD_SAMPLER, ARG_TEXT_OPT, 0, 0, "[NAME ..]", "a plugin's sampler (NAME k=v ..), default, or the list"},
    {"pane", CMD_PANE, ARG_TEXT_OPT, 0, 0, "[NAME|off]", "show a plugin's pane instead of the probabilities"},
    {"settings", CMD_SETTINGS, ARG_NONE, 0, 0, "", "show the sampling settings (/show too)"},
    {"show", CMD_SETTINGS, ARG_NONE, 0, 0, "", "the same as /settings"},
    {"help", CMD_HELP, ARG_NONE, 0, 0, "", "this list"},
    {"quit", CMD_QUIT, ARG_NONE, 0, 0, "", "leave (everything is already saved)"},
};
#define N_COMMANDS (sizeof command_table / sizeof command_table[0])

int command_is_command(const char *line) {
    while (*line == ' ' || *line == '\t') line++;
    return *line == '/';
}

const char *const *command_names(void) {
    static const char *names[N_COMMANDS + 1]; /* filled once from the const table */
    if (!names[0])
        for (size_t i = 0; i < N_COMMANDS; i++) names[i] = command_table[i].name;
    return names;
}

const char *command_help_text(void) {
    /* built once from the table; the table is constant, so is the text */
    static char text[4096];
    if (text[0]) return text;
    size_t off = 0;
    for (size_t i = 0; i < N_COMMANDS && off < sizeof text; i++) {
        char head[48];
        snprintf(head, sizeof head, "/%s %s", command_table[i].name, command_table[i].usage);
        off += (size_t)snprintf(text + off, sizeof text - off, "  %-18s %s\n", head,
                                command_table[i].help);
    }
    return text;
}

/* Other names people type for the settings (ollama's /set parameter names,
 * the command-line flags, the JSON keys): name -> command. */
static const struct {
    const char *alias, *name;
} command_aliases[] = {
    {"temperature", "temp"},        {"top_k", "top-k"},
    {"top_p", "top-p"},             {"min_p", "min-p"},
    {"repeat-penalty", "rep"},      {"repeat_penalty", "rep"},
    {"repetition_penalty", "rep"},  {"presence_penalty", "presence-penalty"},
    {"frequency_penalty", "frequency-penalty"}, {"max_tokens", "max-tokens"},
    {"num_predict", "max-tokens"},  {"max-new", "max-tokens"},
    {"candidates", "cands"},
};

static const command_desc_t *command_find(const char *name, size_t len) {
    for (size_t k = 0; k < sizeof command_aliases / sizeof command_aliases[0]; k++)
        if (strlen(command_aliases[k].alias) == len && strncmp(command_aliases[k].alias, name, len) == 0) {
            name = command_aliases[k].name;
            len = strlen(name);
            break;
        }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strlen(command_table[i].name) == len && strncmp(command_table[i].name, name, len) == 0)
            return &command_table[i];
    return NULL;
}

/* The commands that change one setting (a bare "/temp" shows its value). */
static int command_is_setting(command_id_t id) {
    return id == CMD_TEMP || id == CMD_TOP_K || id == CMD_TOP_P || id == CMD_MIN_P ||
           id == CMD_REP || id == CMD_PRESENCE || id == CMD_FREQUENCY || id == CMD_SEED ||
           id == CMD_MAX_TOKENS || id == CMD_BEAMS || id == CMD_EOS || id == CMD_SEP ||
           id == CMD_CANDS;
}

static void command_setting_value(command_id_t id, const chat_settings_t *s, char *out,
                                  size_t cap) {
    const sampler_params_t *p = &s->sampling;
    switch (id) {
    case CMD_TEMP: snprintf(out, cap, "%g", (double)p->temperature); break;
    case CMD_TOP_K: snprintf(out, cap, "%d", p->top_k); break;
    case CMD_TOP_P: snprintf(out, cap, "%g", (double)p->top_p); break;
    case CMD_MIN_P: snprintf(out, cap, "%g", (double)p->min_p); break;
    case CMD_REP: snprintf(out, cap, "%g", (double)p->repetition_penalty); break;
    case CMD_PRESENCE: snprintf(out, cap, "%g", (double)p->presence_penalty); break;
    case CMD_FREQUENCY: snprintf(out, cap, "%g", (double)p->frequency_penalty); break;
    case CMD_SEED: snprintf(out, cap, "%" PRIu64, p->seed); break;
    case CMD_MAX_TOKENS: snprintf(out, cap, "%d", s->max_tokens); break;
    case CMD_BEAMS: snprintf(out, cap, "%d", s->beams); break;
    case CMD_EOS: snprintf(out, cap, "%d", s->stop_at_eos); break;
    case CMD_SEP: chat_separator_show(s->separator, out, cap); break;
    case CMD_CANDS: snprintf(out, cap, "%d", p->n_report); break;
    default: snprintf(out, cap, "?");
    }
}

static void res_set(command_result_t *res, command_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void res_set(command_result_t *res, command_status_t st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->msg, sizeof res->msg, fmt, ap);
    va_end(ap);
    res->status = st;
}

/* Parses the argument text of d into *num / *u64 / ints; returns 0 or -1 with res set. */
static int command_parse_arg(const command_desc_t *d, const char *arg, double *num, uint64_t *u64,
                             int *ints, int *n_ints, command_result_t *res) {
    char *end;
    switch (d->arg) {
    case ARG_NONE:
        if (*arg) {
            res_set(res, COMMAND_ERROR, "/%s takes no argument", d->name);
            return -1;
        }
        return 0;
    case ARG_TEXT:
        if (!*arg) {
            res_set(res, COMMAND_ERROR, "/%s needs %s", d->name, d->usage);
            return -1;
        }
        return 0;
    case ARG_TEXT_OPT: return 0;
    case ARG_FLOAT:
    case ARG_INT:
        if (!*arg) {
            res_set(res, COMMAND_ERROR, "/%s needs a value (%s)", d->name, d->help);
            return -1;
        }
        errno = 0;
        *num = strtod(arg, &end);
        while (*end == ' ' || *end == '\t') end++;
        if (end == arg || *end || errno || !isfinite(*num) ||
            (d->arg == ARG_INT && *num != floor(*num))) {
            res_set(res, COMMAND_ERROR, "/%s: '%s' is not %s", d->name, arg,
                    d->arg == ARG_INT ? "an integer" : "a number");
            return -1;
        }
        if (*num < d->lo || *num > d->hi) {
            res_set(res, COMMAND_ERROR, "/%s: %s is out of range (%g to %g)", d->name, arg, d->lo,
                    d->hi);
            return -1;
        }
        return 0;
    case ARG_U64:
        errno = 0;
        *u64 = strtoull(arg, &end, 10);
        while (*end == ' ' || *end == '\t') end++;
        if (!*arg || *arg == '-' || end == arg || *end || errno) {
            res_set(res, COMMAND_ERROR, "/%s: '%s' is not a non-negative integer", d->name, arg);
            return -1;
        }
        return 0;
    case ARG_INTS_OPT: {
        const char *p = arg;
        *n_ints = 0;
        while (*p) {
            errno = 0;
            long v = strtol(p, &end, 10);
            if (end == p || errno || v < 0 || v > 1000000000 || *n_ints == 2) {
                res_set(res, COMMAND_ERROR, "/%s: expected %s, got '%s'", d->name, d->usage, arg);
                return -1;
            }
            ints[(*n_ints)++] = (int)v;
            p = end;
            while (*p == ' ' || *p == '\t') p++;
        }
        return 0;
    }
    }
    return 0;
}

static void command_settings_line(const chat_settings_t *s, char *out, size_t cap) {
    const sampler_params_t *p = &s->sampling;
    char sep[2 * CHAT_MAX_SEPARATOR + 8];
    chat_separator_show(s->separator, sep, sizeof sep);
    snprintf(out, cap,
             "temp %g, top-k %d, top-p %g, min-p %g, rep %g, presence-penalty %g, "
             "frequency-penalty %g, seed %" PRIu64 ", max-tokens %d, beams %d, eos %s, cands %d, sep %s",
             (double)p->temperature, p->top_k, (double)p->top_p, (double)p->min_p,
             (double)p->repetition_penalty, (double)p->presence_penalty,
             (double)p->frequency_penalty, p->seed, s->max_tokens, s->beams,
             s->stop_at_eos ? "stops" : "runs on", p->n_report, sep);
}

static void command_host_call(int rc, const char *what, command_status_t ok_status,
                              command_result_t *res) {
    if (rc != 0) {
        res->status = COMMAND_ERROR;
        if (!res->msg[0]) snprintf(res->msg, sizeof res->msg, "%s failed", what);
    } else {
        res->status = ok_status;
    }
}

/* /NAME ARGS that the table does not know: a plugin's command, or unknown. */
static void command_plugin(const ui_host_t *host, const char *name, size_t len,
                           command_result_t *res) {
    char cname[64];
    int rc = 0;
    if (host && host->plugin_command && len < sizeof cname) {
        memcpy(cname, name, len);
        cname[len] = '\0';
        const char *a = name + len;
        while (*a == ' ' || *a == '\t') a++;
        char args[1024];
        snprintf(args, sizeof args, "%s", a);
        size_t al = strlen(args);
        while (al > 0 && isspace((unsigned char)args[al - 1])) args[--al] = '\0';
        rc = host->plugin_command(host->user, cname, args, res->msg, sizeof res->msg);
    }
    if (rc == 1) {
        res->status = COMMAND_DONE;
        if (!res->msg[0]) snprintf(res->msg, sizeof res->msg, "/%s: done", cname);
    } else if (rc < 0) {
        res->status = COMMAND_ERROR;
    } else {
        res_set(res, COMMAND_ERROR, "unknown command '/%.*s' (/help lists them)",
                (int)(len > 40 ? 40 : len), name);
    }
}

/* /pane: NAME, "off", or nothing (the list). */
static void command_pane(const ui_host_t *host, const char *arg, command_result_t *res) {
    int n = host && host->n_panes && host->pane_name ? host->n_panes(host->user) : 0;
    if (strcmp(arg, "off") == 0) {
        res->pane = -1;
        res_set(res, COMMAND_PANE, "probabilities pane");
        return;
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        const char *title = NULL, *pn = host->pane_name(host->user, i, &title);
        if (!pn) continue;
        if (*arg && strcmp(pn, arg) == 0) {
            res->pane = i;
            res_set(res, COMMAND_PANE, "pane %s (/pane off goes back)", pn);
            return;
        }
        if (!*arg && off < sizeof res->msg)
            off += (size_t)snprintf(res->msg + off, sizeof res->msg - off, "%s%s", off ? ", " : "",
                                    pn);
    }
    if (!*arg && n > 0) {
        char list[sizeof res->msg];
        snprintf(list, sizeof list, "%s", res->msg);
        res_set(res, COMMAND_DONE, "plugin panes: %.400s (/pane NAME shows one, /pane off)", list);
    } else if (!*arg) {
        res_set(res, COMMAND_DONE, "no plugin has a pane");
    } else {
        res_set(res, COMMAND_ERROR, "/pane: no pane '%.40s'%s", arg,
                n ? " (/pane lists them)" : " (no plugin has a pane)");
    }
}

void command_run(const ui_host_t *host, const char *line, command_result_t *res) {
    memset(res, 0, sizeof *res);
    res->head = -2;
    res->layer = -2;
    res->token = -1;
    while (*line == ' ' || *line == '\t') line++;
    if (*line != '/') {
        res_set(res, COMMAND_ERROR, "not a command (commands start with '/')");
        return;
    }
    const char *name = line + 1;
    size_t len = 0;
    while (name[len] && !isspace((unsigned char)name[len])) len++;
    const command_desc_t *d = command_find(name, len);
    if (!d) {
        command_plugin(host, name, len, res);
        return;
    }
    /* the argument, trimmed */
    char arg[1024];
    const char *a = name + len;
    while (*a == ' ' || *a == '\t') a++;
    snprintf(arg, sizeof arg, "%s", a);
    size_t al = strlen(arg);
    while (al > 0 && isspace((unsigned char)arg[al - 1])) arg[--al] = '\0';

    chat_t *c = host && host->chat ? host->chat(host->user) : NULL;
    if (d->id == CMD_SET && *arg) {
        /* /set NAME VALUE (or ollama's /set parameter NAME VALUE) is /NAME VALUE */
        const char *rest = arg;
        if (strncmp(rest, "parameter ", 10) == 0) rest += 10;
        while (*rest == ' ') rest++;
        size_t nl = 0;
        while (rest[nl] && !isspace((unsigned char)rest[nl])) nl++;
        const command_desc_t *target = command_find(rest, nl);
        if (!target || !command_is_setting(target->id)) {
            res_set(res, COMMAND_ERROR, "/set: no setting '%.*s' (temp, top-k, top-p, min-p, rep, "
                    "presence-penalty, frequency-penalty, seed, max-tokens, beams, eos)",
                    (int)(nl > 40 ? 40 : nl), rest);
            return;
        }
        char again[1100];
        snprintf(again, sizeof again, "/%s%s", target->name, rest + nl);
        command_run(host, again, res);
        return;
    }
    if (command_is_setting(d->id) && !*arg) {
        /* a bare /temp shows the value instead of asking for one */
        if (!c) {
            res_set(res, COMMAND_ERROR, "/%s: no conversation", d->name);
            return;
        }
        char v[64];
        command_setting_value(d->id, chat_settings(c), v, sizeof v);
        res_set(res, COMMAND_DONE, "%s %s (/%s %s changes it)", d->name, v, d->name, d->usage);
        return;
    }
    double num = 0;
    uint64_t u64 = 0;
    int ints[2] = {0, 0}, n_ints = 0;
    if (command_parse_arg(d, arg, &num, &u64, ints, &n_ints, res) != 0) return;

    chat_settings_t s = c ? *chat_settings(c) : chat_settings_default();
    int is_setting = 1;
    switch (d->id) {
    case CMD_TEMP: s.sampling.temperature = (float)num; break;
    case CMD_TOP_K: s.sampling.top_k = (int)num; break;
    case CMD_TOP_P: s.sampling.top_p = (float)num; break;
    case CMD_MIN_P: s.sampling.min_p = (float)num; break;
    case CMD_REP: s.sampling.repetition_penalty = (float)num; break;
    case CMD_PRESENCE: s.sampling.presence_penalty = (float)num; break;
    case CMD_FREQUENCY: s.sampling.frequency_penalty = (float)num; break;
    case CMD_SEED: s.sampling.seed = u64; break;
    case CMD_MAX_TOKENS: s.max_tokens = (int)num; break;
    case CMD_BEAMS: s.beams = (int)num; break;
    case CMD_EOS: s.stop_at_eos = (int)num; break;
    case CMD_CANDS: s.sampling.n_report = (int)num; break;
    case CMD_SEP: {
        char perr[128];
        if (chat_separator_parse(arg, s.separator, sizeof s.separator, perr, sizeof perr) != 0) {
            res_set(res, COMMAND_ERROR, "/sep: %s", perr);
            return;
        }
        break;
    }
    default: is_setting = 0;
    }
    if (is_setting) {
        if (!c) {
            res_set(res, COMMAND_ERROR, "/%s: no conversation", d->name);
            return;
        }
        if (chat_in_reply(c)) {
            res_set(res, COMMAND_ERROR, "/%s: wait for the reply to finish (Esc stops it)", d->name);
            return;
        }
        char err[256];
        if (chat_set_settings(c, &s, err, sizeof err) != 0) {
            res_set(res, COMMAND_ERROR, "/%s: %s", d->name, err);
            return;
        }
        char line_s[512];
        command_settings_line(chat_settings(c), line_s, sizeof line_s);
        res_set(res, COMMAND_DONE, "%s", line_s);
        if (host->settings_changed) {
            char msg[256] = "";
            if (host->settings_changed(host->user, msg, sizeof msg) != 0)
                res_set(res, COMMAND_ERROR, "settings applied but not stored: %s", msg);
        }
        return;
    }
    const char *na = "is not available here";
    switch (d->id) {
    case CMD_SETTINGS:
        if (!c) {
            res_set(res, COMMAND_ERROR, "no conversation");
            return;
        }
        command_settings_line(chat_settings(c), res->msg, sizeof res->msg);
        res->status = COMMAND_DONE;
        return;
    case CMD_HELP:
        res_set(res, COMMAND_HELP, "commands:");
        if (host && host->plugin_help) {
            res->text = host->plugin_help(host->user);
            if (res->text && !res->text[0]) {
                free(res->text);
                res->text = NULL;
            }
        }
        return;
    case CMD_PANE: command_pane(host, arg, res); return;
    case CMD_QUIT: res_set(res, COMMAND_QUIT, "bye"); return;
    case CMD_PROBS:
        res->token = n_ints >= 1 ? ints[0] : -1;
        if (n_ints > 1) {
            res_set(res, COMMAND_ERROR, "/probs takes one token index");
            return;
        }
        if (c && res->token >= chat_n_tokens(c)) {
            res_set(res, COMMAND_ERROR, "/probs: there is no token %d (the conversation has %d)",
                    res->token, chat_n_tokens(c));
            return;
        }
        res_set(res, COMMAND_PROBS, "probabilities");
        return;
    case CMD_BRANCHES:
        if (!host || !host->branches) break;
        res_set(res, COMMAND_BRANCHES, "branches");
        return;
    case CMD_ATTN:
        res->layer = n_ints >= 1 ? ints[0] : -2;
        res->head = n_ints >= 2 ? ints[1] : (n_ints == 1 ? -1 : -2);
        if (c) {
            const gpt_config_t *cfg = &chat_model(c)->cfg;
            if (res->layer >= cfg->n_layer || res->head >= cfg->n_head) {
                res_set(res, COMMAND_ERROR, "/attn: the model has layers 0..%d and heads 0..%d",
                        cfg->n_layer - 1, cfg->n_head - 1);
                return;
            }
        }
        res->status = COMMAND_ATTN;
        return;
    default: break;
    }
    if (c && chat_in_reply(c)) {
        res_set(res, COMMAND_ERROR, "/%s: wait for the reply to finish (Esc stops it)", d->name);
        return;
    }
    int rc;
    switch (d->id) {
    case CMD_CLEAR:
    case CMD_NEW:
        if (!host || !host->new_session) {
            /* without a host that stores sessions, a clear is still a clear */
            if (c) chat_clear(c);
            res_set(res, COMMAND_CLEARED, "cleared");
            return;
        }
        rc = host->new_session(host->user, res->msg, sizeof res->msg);
        command_host_call(rc, "/new", COMMAND_CLEARED, res);
        return;
    case CMD_OPEN:
        if (!host || !host->open_session) break;
        rc = host->open_session(host->user, (int64_t)num, res->msg, sizeof res->msg);
        command_host_call(rc, "/open", COMMAND_CLEARED, res);
        return;
    case CMD_SESSIONS:
        if (!host || !host->list_sessions) break;
        rc = host->list_sessions(host->user, &res->text, res->msg, sizeof res->msg);
        command_host_call(rc, "/sessions", COMMAND_SESSIONS, res);
        return;
    case CMD_EXPORT:
        if (!host || !host->export_session) break;
        rc = host->export_session(host->user, arg[0] ? arg : NULL, res->msg, sizeof res->msg);
        command_host_call(rc, "/export", COMMAND_DONE, res);
        return;
    case CMD_SAMPLER:
        if (!host || !host->set_sampler) break;
        if (!arg[0]) {
            rc = host->set_sampler(host->user, NULL, res->msg, sizeof res->msg);
            if (rc == 0 && (res->text = strdup(res->msg))) {
                size_t k = strlen(res->text);
                if (k && res->text[k - 1] != '\n') {
                    char *t = realloc(res->text, k + 2);
                    if (t) {
                        t[k] = '\n';
                        t[k + 1] = '\0';
                        res->text = t;
                    }
                }
                snprintf(res->msg, sizeof res->msg, "samplers");
            }
            command_host_call(rc, "/sampler", COMMAND_SESSIONS, res);
            return;
        }
        rc = host->set_sampler(host->user, arg, res->msg, sizeof res->msg);
        command_host_call(rc, "/sampler", COMMAND_DONE, res);
        return;
    case CMD_FORK:
        if (!host || !host->fork) break;
        if (n_ints != 2 || ints[1] < 1) {
            res_set(res, COMMAND_ERROR,
                    "/fork needs N K: token N (as /probs numbers it) and candidate K (1 = the "
                    "most likely)");
            return;
        }
        rc = host->fork(host->user, ints[0], ints[1] - 1, res->msg, sizeof res->msg);
        command_host_call(rc, "/fork", COMMAND_FORKED, res);
        return;
    case CMD_BRANCH:
        if (!host || !host->switch_branch) break;
        rc = host->switch_branch(host->user, (int)num, res->msg, sizeof res->msg);
        command_host_call(rc, "/branch", COMMAND_CLEARED, res);
        return;
    case CMD_COMPARE:
        if (!host || !host->compare) break;
        rc = host->compare(host->user, arg, &res->lp_self, &res->lp_other, &res->n_lp, res->label,
                           sizeof res->label, res->msg, sizeof res->msg);
        command_host_call(rc, "/compare", COMMAND_COMPARE, res);
        return;
    case CMD_MODEL:
        if (!host || !host->set_model) break;
        rc = host->set_model(host->user, arg, res->msg, sizeof res->msg);
        command_host_call(rc, "/model", COMMAND_CLEARED, res);
        return;
    default: break;
    }
    res_set(res, COMMAND_ERROR, "/%s %s", d->name, na);
}
