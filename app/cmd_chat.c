/* cmd_chat.c - the interactive commands: `gptscope chat` (the TUI, also what
 * `gptscope` with no arguments runs), `gptscope repl` (the line-oriented
 * front end) and `gptscope replay ID` (a stored session played back in the
 * TUI). They share their options and app/session.c, which joins the model,
 * the conversation and the session store. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "repl.h"
#include "session.h"
#include "tui.h"

#define COMMON_HELP                                                                              \
    "  -m, --model DIR       model directory (default: $GPTSCOPE_MODEL, bundled)\n"            \
    "      --db PATH         session database (default: $GPTSCOPE_DB, else\n"                  \
    "                        $XDG_DATA_HOME/gptscope/sessions.db)\n"                            \
    "      --no-save         do not store this session\n"                                     \
    "      --open ID         continue stored session ID\n"                                    \
    "      --branch B        with --open (or replay): its branch B instead of the one\n"       \
    "                        last continued ('gptscope sessions tree ID' lists them)\n"       \
    "      --temp T          temperature, 0 = greedy (default 1)\n"                            \
    "      --top-k K         keep the K most likely tokens, 0 = off (default)\n"               \
    "      --top-p P         smallest set with mass >= P (default 1 = off)\n"                  \
    "      --min-p M         drop tokens below M * p(top) (default 0 = off)\n"                 \
    "      --repeat-penalty R  CTRL repetition penalty (default 1 = off)\n"                    \
    "      --seed S          sampler seed (default: random)\n"                                 \
    "  -n, --max-tokens N    longest reply in tokens (default 200; --max-new too)\n"          \
    "      --presence-penalty X   minus X on every logit already seen (default 0)\n"       \
    "      --frequency-penalty X  minus X * count on logits seen (default 0)\n"            \
    "      --candidates N    candidates stored per sampled token (default 60, max 64)\n"     \
    "      --separator TEXT  put between a reply and the next prompt unless there\n"         \
    "                        (default \\n; \\t, \\s for a space, none)\n"                   \
    "      --beams B         beam search with B beams (default 1 = sample)\n"                  \
    "      --sampler NAME    a plugin's sampler instead of top-k/top-p/min-p: 'NAME'\n"   \
    "                        or 'NAME key=value ...' (see 'gptscope plugins list')\n"     \
    "      --plugin PATH     load the plugin PATH (repeatable)\n"                        \
    "      --no-plugins      do not load the plugins found in the usual folders\n"      \
    "      --no-eos-stop     keep going after <|endoftext|>\n"                                 \
    "      --history FILE    input history (default: $XDG_DATA_HOME/gptscope/history)\n"       \
    "  -t, --threads N       exactly N threads (default: up to all cores, adapted\n"        \
    "                        per token to the machine's load)\n"                                   \
    "  -h, --help            this help\n"

const char cmd_chat_help[] =
    "usage: gptscope chat [options]\n"
    "       gptscope [options]\n"
    "\n"
    "The terminal UI: type a prompt, watch the reply stream in token by token,\n"
    "walk over the tokens to see each one's attention (heatmap pane) and the\n"
    "distribution it was sampled from (probability pane). F1 or ? lists the keys;\n"
    "slash commands (/temp 0.7, /open 3, /help) change settings and sessions.\n"
    "F on a generated token lists its candidates: pick one and the session forks\n"
    "there and goes on from it (/fork N K too); b shows the tree of branches,\n"
    "( and ) step between them. Every prompt and reply is stored as it happens\n"
    "(see 'gptscope sessions').\n"
    "\n" COMMON_HELP
    "      --no-color        monochrome (also when NO_COLOR is set)\n"
    "      --no-mouse        do not ask the terminal for mouse events\n";

const char cmd_repl_help[] =
    "usage: gptscope repl [options]\n"
    "\n"
    "The same engine and slash commands as 'gptscope chat' in a plain line loop:\n"
    "each line is a prompt whose reply streams to stdout; a trailing backslash\n"
    "continues the prompt on the next line. /probs prints the candidates of the\n"
    "last token, /attn [LAYER] [HEAD] a text heatmap of its attention. Works with\n"
    "stdin not a terminal (scripts); then a failed line makes the exit status 1.\n"
    "Ctrl-C stops a reply, Ctrl-D leaves.\n"
    "\n" COMMON_HELP
    "  -q, --quiet           no banner or per-reply statistics\n";

const char cmd_replay_help[] =
    "usage: gptscope replay ID [options]\n"
    "\n"
    "Plays stored session ID back in the terminal UI: tokens arrive at their\n"
    "recorded pace (--speed X plays X times faster; 0 = at once), with the\n"
    "probability pane from the stored distributions and the attention heatmap\n"
    "recomputed from the model (the session's own model unless -m is given;\n"
    "when its checksum differs from the stored one the pane says so and shows\n"
    "nothing). After the replay the prompt continues the session. A session\n"
    "that forked plays the branch last continued, or --branch B.\n"
    "\n"
    "      --speed X         playback speed (default 1)\n" COMMON_HELP
    "      --no-color        monochrome (also when NO_COLOR is set)\n"
    "      --no-mouse        do not ask the terminal for mouse events\n";

typedef struct chat_opts {
    const char *cmd;
    const char *model_dir, *db_path, *history_path;
    int no_save, n_threads, quiet, no_color, no_mouse, seed_given, threads_given;
    long long open_id;
    int branch; /* --branch, -1: the one last continued */
    double speed;
    chat_settings_t set;
    plugin_opts_t plugins;
    char db_buf[4096], hist_buf[4096];
} chat_opts_t;

enum {
    OPT_DB = CLI_OPT_FIRST_COMMAND_OPT, OPT_NO_SAVE, OPT_OPEN, OPT_TEMP, OPT_TOP_K, OPT_TOP_P,
    OPT_MIN_P, OPT_REPEAT, OPT_SEED, OPT_MAX_TOKENS, OPT_BEAMS, OPT_NO_EOS, OPT_HISTORY,
    OPT_NO_COLOR, OPT_NO_MOUSE, OPT_SPEED, OPT_PRESENCE, OPT_FREQUENCY, OPT_SEPARATOR, OPT_CANDIDATES,
    OPT_SAMPLER, OPT_PLUGIN, OPT_NO_PLUGINS, OPT_BRANCH
};

/* Fills *o from the command line (cmd names the command in messages;
 * positional: how many arguments may follow the options, 0 or 1). Returns -1
 * to go on, else the exit code (help printed, usage error). */
static int chat_parse(int argc, char **argv, const char *cmd, const char *help, int positional,
                      chat_opts_t *o) {
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'}, {"db", required_argument, 0, OPT_DB},
        {"no-save", no_argument, 0, OPT_NO_SAVE}, {"open", required_argument, 0, OPT_OPEN},
        {"branch", required_argument, 0, OPT_BRANCH},
        {"temp", required_argument, 0, OPT_TEMP}, {"temperature", required_argument, 0, OPT_TEMP},
        {"top-k", required_argument, 0, OPT_TOP_K}, {"top-p", required_argument, 0, OPT_TOP_P},
        {"min-p", required_argument, 0, OPT_MIN_P},
        {"repeat-penalty", required_argument, 0, OPT_REPEAT},
        {"seed", required_argument, 0, OPT_SEED},
        {"max-tokens", required_argument, 0, OPT_MAX_TOKENS},
        /* generate's names for the same settings are accepted too */
        {"max-new", required_argument, 0, OPT_MAX_TOKENS},
        {"presence-penalty", required_argument, 0, OPT_PRESENCE},
        {"frequency-penalty", required_argument, 0, OPT_FREQUENCY},
        {"separator", required_argument, 0, OPT_SEPARATOR},
        {"candidates", required_argument, 0, OPT_CANDIDATES},
        {"beams", required_argument, 0, OPT_BEAMS}, {"no-eos-stop", no_argument, 0, OPT_NO_EOS},
        {"history", required_argument, 0, OPT_HISTORY},
        {"no-color", no_argument, 0, OPT_NO_COLOR}, {"no-mouse", no_argument, 0, OPT_NO_MOUSE},
        {"speed", required_argument, 0, OPT_SPEED}, {"quiet", no_argument, 0, 'q'},
        {"sampler", required_argument, 0, OPT_SAMPLER}, {"plugin", required_argument, 0, OPT_PLUGIN},
        {"no-plugins", no_argument, 0, OPT_NO_PLUGINS},
        {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    o->set = chat_settings_default();
    o->n_threads = cli_default_threads();
    o->speed = 1.0;
    o->branch = -1;
    opterr = 0;
    optind = 1;
    int c, bad = 0;
    float f;
    while (!bad && (c = getopt_long(argc, argv, ":m:n:t:qh", longopts, NULL)) != -1) {
        const char *a = optarg;
        switch (c) {
        case 'm': o->model_dir = a; break;
        case OPT_DB: o->db_path = a; break;
        case OPT_NO_SAVE: o->no_save = 1; break;
        case OPT_OPEN: {
            char *end;
            o->open_id = strtoll(a, &end, 10);
            if (*end || o->open_id < 1) {
                cli_usage_error(cmd, "--open needs a session id (a positive integer), not '%s'", a);
                bad = 1;
            }
            break;
        }
        case OPT_BRANCH: bad = cli_parse_int(cmd, "--branch", a, 0, 1000000, &o->branch); break;
        case OPT_TEMP: bad = cli_parse_float(cmd, "--temp", a, 0, 0, 1e6, 0, &o->set.sampling.temperature); break;
        case OPT_TOP_K: bad = cli_parse_int(cmd, "--top-k", a, 0, 1 << 30, &o->set.sampling.top_k); break;
        case OPT_TOP_P: bad = cli_parse_float(cmd, "--top-p", a, 0, 1, 1, 0, &o->set.sampling.top_p); break;
        case OPT_MIN_P: bad = cli_parse_float(cmd, "--min-p", a, 0, 0, 1, 0, &o->set.sampling.min_p); break;
        case OPT_REPEAT:
            bad = cli_parse_float(cmd, "--repeat-penalty", a, 0, 1, 1e6, 0,
                                  &o->set.sampling.repetition_penalty);
            break;
        case OPT_SEED:
            bad = cli_parse_u64(cmd, "--seed", a, &o->set.sampling.seed);
            o->seed_given = 1;
            break;
        case 'n':
        case OPT_MAX_TOKENS: bad = cli_parse_int(cmd, "--max-tokens", a, 1, 1000000, &o->set.max_tokens); break;
        case OPT_PRESENCE:
            bad = cli_parse_float(cmd, "--presence-penalty", a, -1e6, 0, 1e6, 0,
                                  &o->set.sampling.presence_penalty);
            break;
        case OPT_CANDIDATES:
            bad = cli_parse_int(cmd, "--candidates", a, 1, SAMPLER_MAX_REPORT,
                                &o->set.sampling.n_report);
            break;
        case OPT_SEPARATOR: {
            char perr[128];
            if (chat_separator_parse(a, o->set.separator, sizeof o->set.separator, perr,
                                     sizeof perr) != 0) {
                cli_usage_error(cmd, "--separator: %s", perr);
                bad = 1;
            }
            break;
        }
        case OPT_FREQUENCY:
            bad = cli_parse_float(cmd, "--frequency-penalty", a, -1e6, 0, 1e6, 0,
                                  &o->set.sampling.frequency_penalty);
            break;
        case OPT_BEAMS: bad = cli_parse_int(cmd, "--beams", a, 1, 16, &o->set.beams); break;
        case OPT_NO_EOS: o->set.stop_at_eos = 0; break;
        case OPT_HISTORY: o->history_path = a; break;
        case OPT_NO_COLOR: o->no_color = 1; break;
        case OPT_NO_MOUSE: o->no_mouse = 1; break;
        case OPT_SPEED:
            bad = cli_parse_float(cmd, "--speed", a, 0, 0, 1e9, 0, &f);
            o->speed = f;
            break;
        case 'q': o->quiet = 1; break;
        case OPT_SAMPLER:
            if (strlen(a) > CHAT_MAX_SAMPLER) {
                cli_usage_error(cmd, "--sampler: longer than %d bytes", CHAT_MAX_SAMPLER);
                bad = 1;
            }
            snprintf(o->set.sampler, sizeof o->set.sampler, "%s", a);
            break;
        case OPT_PLUGIN: bad = plugin_opts_add(&o->plugins, cmd, a) != 0; break;
        case OPT_NO_PLUGINS: o->plugins.no_discovery = 1; break;
        case 't':
            bad = cli_parse_int(cmd, "--threads", a, 1, 1024, &o->n_threads);
            o->threads_given = 1;
            break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: cli_bad_option(cmd, c, optopt, argv, optind); return CLI_EXIT_USAGE;
        }
    }
    if (bad) return CLI_EXIT_USAGE;
    if (positional == 0 && optind < argc) {
        cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (positional == 0 && o->branch >= 0 && o->open_id <= 0) {
        cli_usage_error(cmd, "--branch picks a branch of the session --open ID names");
        return CLI_EXIT_USAGE;
    }
    if (!o->seed_given) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        o->set.sampling.seed = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
                               ((uint64_t)getpid() << 32);
    }
    if (!o->no_save && !o->db_path) {
        char err[256];
        if (store_default_path(o->db_buf, sizeof o->db_buf, err, sizeof err) != 0) {
            cli_error("%s (use --db PATH or --no-save)", err);
            return CLI_EXIT_ERROR;
        }
        o->db_path = o->db_buf;
    }
    if (o->no_save) o->db_path = NULL;
    if (!o->history_path && app_data_path("history", o->hist_buf, sizeof o->hist_buf) == 0) {
        /* readline does not create directories; the history shares the db's */
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", o->hist_buf);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        struct stat sb;
        if (stat(dir, &sb) == 0) o->history_path = o->hist_buf;
    }
    return -1;
}

static int chat_open_common(chat_opts_t *o, app_session_t *s, int capture_attn) {
    /* negative: adapted per token (chat_init) unless the user fixed it */
    int session_threads = o->threads_given ? o->n_threads : -o->n_threads;
    if (app_session_open(s, o->model_dir, &o->set, o->db_path, session_threads, capture_attn,
                         &o->plugins) != 0)
        return CLI_EXIT_ERROR;
    if (o->open_id > 0) {
        char note[256], err[512];
        if (!s->store) {
            cli_error("%s: --open needs the session database (not --no-save)", o->cmd);
            return CLI_EXIT_USAGE;
        }
        if (app_session_load_branch(s, o->open_id, o->branch, note, sizeof note, err,
                                    sizeof err) != 0) {
            cli_error("%s", err);
            return CLI_EXIT_ERROR;
        }
        if (note[0]) fprintf(stderr, "gptscope: note: session %lld: %s\n", o->open_id, note);
    }
    return -1;
}

static int chat_run_tui(chat_opts_t *o, app_session_t *s, int replay, const char *attn_note) {
    tui_options_t to;
    tui_options_default(&to);
    to.history_path = o->history_path;
    to.n_threads = o->n_threads;
    to.no_color = o->no_color || (getenv("NO_COLOR") && *getenv("NO_COLOR"));
    to.mouse = !o->no_mouse;
    to.replay = replay;
    to.replay_speed = o->speed > 0 ? o->speed : 1e12;
    to.attn_available = attn_note == NULL;
    to.attn_note = attn_note;
    char err[512];
    if (tui_run(&s->host, &to, err, sizeof err) != 0) {
        cli_error("%s: %s", o->cmd, err);
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

int cmd_chat(int argc, char **argv) {
    chat_opts_t o;
    int rc = chat_parse(argc, argv, "chat", cmd_chat_help, 0, &o);
    if (rc >= 0) return rc;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        cli_error("chat: needs a terminal (use 'gptscope repl' for pipes and scripts)");
        return CLI_EXIT_USAGE;
    }
    app_session_t s;
    rc = chat_open_common(&o, &s, 1);
    if (rc < 0) rc = chat_run_tui(&o, &s, 0, NULL);
    app_session_close(&s);
    return rc;
}

int cmd_repl(int argc, char **argv) {
    chat_opts_t o;
    int rc = chat_parse(argc, argv, "repl", cmd_repl_help, 0, &o);
    if (rc >= 0) return rc;
    app_session_t s;
    rc = chat_open_common(&o, &s, 0);
    if (rc < 0) {
        repl_options_t ro = {o.history_path, o.n_threads, o.quiet};
        char err[512];
        int r = repl_run(&s.host, &ro, err, sizeof err);
        if (r < 0) cli_error("repl: %s", err);
        rc = r == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    }
    app_session_close(&s);
    return rc;
}

int cmd_replay(int argc, char **argv) {
    chat_opts_t o;
    int rc = chat_parse(argc, argv, "replay", cmd_replay_help, 1, &o);
    if (rc >= 0) return rc;
    if (optind != argc - 1) {
        cli_usage_error(o.cmd, optind >= argc ? "which session? (gptscope replay ID)"
                                              : "unexpected argument '%s'",
                        argv[argc - 1]);
        return CLI_EXIT_USAGE;
    }
    char *end;
    long long id = strtoll(argv[optind], &end, 10);
    if (*end || id < 1) {
        cli_usage_error(o.cmd, "'%s' is not a session id (a positive integer)", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (!o.db_path) {
        cli_usage_error(o.cmd, "replay reads the session database: --no-save does not apply");
        return CLI_EXIT_USAGE;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        cli_error("replay: needs a terminal ('gptscope sessions show %lld' prints it)", id);
        return CLI_EXIT_USAGE;
    }
    /* the session's own model, unless -m says otherwise */
    char err[512], model_dir[4096] = "";
    struct stat sb;
    if (stat(o.db_path, &sb) != 0) {
        cli_error("%s: no session database here", o.db_path);
        return CLI_EXIT_ERROR;
    }
    store_t *st = store_open(o.db_path, 1, err, sizeof err);
    store_session_data_t d;
    if (!st || store_session_load_branch(st, id, o.branch, &d, err, sizeof err) != 0) {
        cli_error("%s", err);
        store_close(st);
        return CLI_EXIT_ERROR;
    }
    if (!o.model_dir && d.info.model_path) snprintf(model_dir, sizeof model_dir, "%s", d.info.model_path);
    store_session_data_free(&d);
    store_close(st);
    if (!o.model_dir && model_dir[0] && stat(model_dir, &sb) != 0) {
        cli_error("replay: session %lld was made with %s, which is not here; pass -m DIR", id,
                  model_dir);
        return CLI_EXIT_ERROR;
    }
    if (!o.model_dir && model_dir[0]) o.model_dir = model_dir;
    o.open_id = id;
    app_session_t s;
    char note[256] = "";
    if (app_session_open(&s, o.model_dir, &o.set, o.db_path,
                         o.threads_given ? o.n_threads : -o.n_threads, 1, &o.plugins) != 0)
        return CLI_EXIT_ERROR;
    rc = CLI_EXIT_OK;
    if (app_session_load_branch(&s, id, o.branch, note, sizeof note, err, sizeof err) != 0) {
        cli_error("%s", err);
        rc = CLI_EXIT_ERROR;
    }
    if (rc == CLI_EXIT_OK) {
        char attn_note[400];
        snprintf(attn_note, sizeof attn_note, "attention not shown: session %lld %s", id, note);
        rc = chat_run_tui(&o, &s, 1, note[0] ? attn_note : NULL);
    }
    app_session_close(&s);
    return rc;
}
