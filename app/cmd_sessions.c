/* cmd_sessions.c - `gptscope sessions`: list, show, export, delete and
 * search the conversations that chat and repl stored (app/store.c). Reading
 * commands open the database read-only, so they never create or upgrade it
 * and can run while a chat is writing to it. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "export.h"
#include "plugin_export.h"
#include "plugin_host.h"
#include "session.h"
#include "session_branch.h"
#include "store.h"

#define CMD "sessions"

const char cmd_sessions_help[] =
    "usage: gptscope sessions list [--json]\n"
    "       gptscope sessions show ID [--branch B]\n"
    "       gptscope sessions tree ID [--json]\n"
    "       gptscope sessions export ID [--branch B] [--format md|json|NAME] [-o FILE]\n"
    "       gptscope sessions delete ID\n"
    "       gptscope sessions search TEXT\n"
    "\n"
    "The session history that 'gptscope chat' and 'gptscope repl' keep: every\n"
    "prompt and reply, and for each generated token the candidates it was\n"
    "sampled from and the settings in force.\n"
    "\n"
    "  list                  sessions, most recently used first: id, last used (UTC),\n"
    "                        model, turns, generated tokens, the first prompt's start\n"
    "  show ID               the transcript, turn by turn, with stop reasons, of the\n"
    "                        branch last continued (--branch B: that one)\n"
    "  tree ID               the session's branches (forks made with /fork or the\n"
    "                        chat screen's F key): where each forked, the token it\n"
    "                        chose there and the one it replaced, its size and the\n"
    "                        sum of its generated tokens' log-probabilities\n"
    "  export ID             Markdown (default) or JSON with every token and its\n"
    "                        candidates (--format json), or a plugin's format\n"
    "                        (--format html: one self-contained page with the\n"
    "                        attention of every token); to stdout or -o FILE.\n"
    "                        md and json hold every branch: the one shown in full,\n"
    "                        the others from where they forked\n"
    "  delete ID             remove a session with its turns and tokens\n"
    "  search TEXT           turns containing TEXT (ASCII case-insensitive), as\n"
    "                        SESSION/TURN role: snippet (TURN numbered as in show;\n"
    "                        a turn of a branch other than 0 says which)\n"
    "\n"
    "      --db PATH         the database (default: $GPTSCOPE_DB, else\n"
    "                        $XDG_DATA_HOME/gptscope/sessions.db, else\n"
    "                        ~/.local/share/gptscope/sessions.db)\n"
    "      --json            list, tree: a JSON array\n"
    "      --branch B        show, export: branch B instead of the one last continued\n"
    "      --format FORMAT   export format: md (default), json, or one a plugin\n"
    "                        adds ('gptscope plugins list' shows them)\n"
    "  -o, --output FILE     export: write FILE instead of stdout\n"
    "  -m, --model DIR       a plugin export's attention: this model instead of\n"
    "                        the session's own\n"
    "      --plugin PATH     load the plugin PATH (repeatable)\n"
    "      --no-plugins      do not load the plugins found in the usual folders\n"
    "  -h, --help            this help\n";

enum { OPT_DB = CLI_OPT_FIRST_COMMAND_OPT, OPT_FORMAT, OPT_PLUGIN, OPT_NO_PLUGINS, OPT_BRANCH };

/* The model a plugin export's attention comes from: -m, else the session's
 * own when it is still there with the checksum it was stored with. NULL
 * (and a note on stderr) when there is none: the export goes on without. */
static gpt_model_t *sessions_export_model(const store_session_data_t *d, const char *model_dir) {
    const char *dir = model_dir ? model_dir : d->info.model_path;
    char err[1024];
    if (!dir || !*dir) {
        fprintf(stderr, "gptscope: note: session %lld names no model: no attention in the export\n",
                (long long)d->info.id);
        return NULL;
    }
    if (!model_dir && d->info.model_checksum) {
        char sum[32];
        if (app_model_checksum(dir, sum, err, sizeof err) != 0) {
            fprintf(stderr, "gptscope: note: %s: no attention in the export (-m DIR gives a "
                            "model)\n", err);
            return NULL;
        }
        if (strcmp(sum, d->info.model_checksum) != 0) {
            fprintf(stderr, "gptscope: note: %s is not the model session %lld was stored with: no "
                            "attention in the export (-m DIR gives one)\n", dir,
                    (long long)d->info.id);
            return NULL;
        }
    }
    gpt_model_t *m = gpt_load(dir, err, sizeof err);
    if (!m) fprintf(stderr, "gptscope: note: %s: no attention in the export\n", err);
    return m;
}

/* export ID --format NAME by a plugin's exporter. */
static int sessions_export_plugin(const store_session_data_t *d, const char *format,
                                  const char *output, const char *model_dir,
                                  const plugin_opts_t *po) {
    plugin_host_t ph;
    plugin_host_init(&ph, po);
    int owner = -1, rc = CLI_EXIT_ERROR;
    const gsp_exporter_t *ex = plugin_host_exporter(&ph, format, &owner);
    if (!ex) {
        cli_usage_error(CMD, "--format must be md, json or a plugin's format; no plugin exports '%s'",
                        format);
        plugin_host_free(&ph);
        return CLI_EXIT_USAGE;
    }
    gpt_model_t *m = sessions_export_model(d, model_dir);
    char *text = NULL, err[1024] = "";
    size_t len = 0;
    if (plugin_export_session(&ph, ex, owner, d, m, cli_default_threads(), &text, &len, err,
                              sizeof err) != 0) {
        cli_error("export: %s", err);
    } else if (output) {
        if (fileio_write_atomic(output, text, len, err, sizeof err) != 0) cli_error("%s", err);
        else rc = CLI_EXIT_OK;
    } else if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
        cli_error("stdout: write failed");
    } else {
        rc = CLI_EXIT_OK;
    }
    free(text);
    gpt_free(m);
    plugin_host_free(&ph);
    return rc;
}

static int sessions_id(const char *s, long long *id) {
    char *end;
    *id = strtoll(s, &end, 10);
    if (*end || *id < 1) {
        cli_usage_error(CMD, "'%s' is not a session id (a positive integer)", s);
        return -1;
    }
    return 0;
}

static void sessions_list_json(const store_session_info_t *v, int n, FILE *out) {
    fputc('[', out);
    for (int i = 0; i < n; i++) {
        fprintf(out, "%s{\"id\":%lld,\"created\":\"%s\",\"updated\":\"%s\",\"model_path\":",
                i ? "," : "", (long long)v[i].id, v[i].created, v[i].updated);
        cli_json_string(out, v[i].model_path ? v[i].model_path : "",
                        v[i].model_path ? strlen(v[i].model_path) : 0);
        fprintf(out, ",\"turns\":%d,\"tokens\":%d,\"title\":", v[i].n_turns, v[i].n_tokens);
        cli_json_string(out, v[i].title ? v[i].title : "", v[i].title ? strlen(v[i].title) : 0);
        fputc('}', out);
    }
    fputs("]\n", out);
}

/* `sessions tree ID`: one line per branch (the chat's /branches lines), or
 * a JSON array. */
static int sessions_tree(store_t *s, long long id, int json) {
    char err[1024];
    int cur = 0, nb = 0;
    int there = store_session_exists(s, id, err, sizeof err);
    if (there != 1) {
        if (there == 0) snprintf(err, sizeof err, "%s: no session %lld", store_path(s), id);
        cli_error("%s", err);
        return CLI_EXIT_ERROR;
    }
    ui_branch_t *v = NULL;
    int n = 0;
    if (store_branch_info(s, id, &cur, &nb, err, sizeof err) != 0 ||
        app_branches_load(s, id, cur, &v, &n, err, sizeof err) != 0) {
        cli_error("%s", err);
        return CLI_EXIT_ERROR;
    }
    if (json) {
        fputc('[', stdout);
        for (int i = 0; i < n; i++) {
            printf("%s{\"branch\":%d,\"parent\":", i ? "," : "", v[i].id);
            if (v[i].parent >= 0) printf("%d", v[i].parent);
            else fputs("null", stdout);
            printf(",\"depth\":%d,\"current\":%s,\"fork_index\":%d,\"fork_turn\":%d,"
                   "\"rank\":%d,\"token\":",
                   v[i].depth, v[i].current ? "true" : "false", v[i].fork_index, v[i].fork_turn,
                   v[i].fork_rank);
            cli_json_string(stdout, v[i].first, strlen(v[i].first));
            fputs(",\"instead_of\":", stdout);
            cli_json_string(stdout, v[i].other, strlen(v[i].other));
            printf(",\"n_turns\":%d,\"n_tokens\":%d,\"n_generated\":%d,\"sum_logprob\":",
                   v[i].n_turns, v[i].n_tokens, v[i].n_sampled);
            cli_json_number(stdout, v[i].sum_logprob);
            fputc('}', stdout);
        }
        fputs("]\n", stdout);
    } else {
        printf("session %lld: %d branch%s (* = the one chat/repl --open continues)\n", id, n,
               n == 1 ? "" : "es");
        char line[512];
        for (int i = 0; i < n; i++) printf("%s\n", branch_list_line(&v[i], line, sizeof line));
    }
    free(v);
    return CLI_EXIT_OK;
}

int cmd_sessions(int argc, char **argv) {
    static const struct option longopts[] = {
        {"db", required_argument, 0, OPT_DB},      {"json", no_argument, 0, CLI_OPT_JSON},
        {"format", required_argument, 0, OPT_FORMAT}, {"output", required_argument, 0, 'o'},
        {"model", required_argument, 0, 'm'},      {"plugin", required_argument, 0, OPT_PLUGIN},
        {"no-plugins", no_argument, 0, OPT_NO_PLUGINS},
        {"branch", required_argument, 0, OPT_BRANCH},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    const char *db = NULL, *format = "md", *output = NULL, *model_dir = NULL;
    plugin_opts_t po;
    memset(&po, 0, sizeof po);
    int json = 0, branch = -1;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":o:m:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DB: db = optarg; break;
        case CLI_OPT_JSON: json = 1; break;
        case OPT_FORMAT: format = optarg; break; /* a plugin's format is checked at export */
        case 'm': model_dir = optarg; break;
        case OPT_PLUGIN:
            if (plugin_opts_add(&po, CMD, optarg) != 0) return CLI_EXIT_USAGE;
            break;
        case OPT_NO_PLUGINS: po.no_discovery = 1; break;
        case OPT_BRANCH: {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || errno || v < 0 || v > 1000000) {
                cli_usage_error(CMD, "--branch: '%s' is not a branch number (0, 1, ...)", optarg);
                return CLI_EXIT_USAGE;
            }
            branch = (int)v;
            break;
        }
        case 'o': output = optarg; break;
        case 'h': fputs(cmd_sessions_help, stdout); return CLI_EXIT_OK;
        default: cli_bad_option(CMD, c, optopt, argv, optind); return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_usage_error(CMD, "which action? list, show ID, tree ID, export ID, delete ID or search TEXT");
        return CLI_EXIT_USAGE;
    }
    const char *action = argv[optind++];
    int want_arg = strcmp(action, "list") != 0;
    if (strcmp(action, "list") && strcmp(action, "show") && strcmp(action, "export") &&
        strcmp(action, "delete") && strcmp(action, "search") && strcmp(action, "tree")) {
        cli_usage_error(CMD, "unknown action '%s' (list, show, tree, export, delete, search)",
                        action);
        return CLI_EXIT_USAGE;
    }
    if (want_arg && optind >= argc) {
        cli_usage_error(CMD, "%s needs %s", action, strcmp(action, "search") ? "a session ID" : "TEXT");
        return CLI_EXIT_USAGE;
    }
    if (optind + want_arg < argc) {
        cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + want_arg]);
        return CLI_EXIT_USAGE;
    }
    long long id = 0;
    if (want_arg && strcmp(action, "search") && sessions_id(argv[optind], &id) != 0)
        return CLI_EXIT_USAGE;
    char path[4096], err[1024];
    if (db) snprintf(path, sizeof path, "%s", db);
    else if (store_default_path(path, sizeof path, err, sizeof err) != 0) {
        cli_error("%s", err);
        return CLI_EXIT_ERROR;
    }
    int writes = strcmp(action, "delete") == 0;
    /* even delete must not create a database: check it exists first */
    store_t *ro = store_open(path, 1, err, sizeof err);
    store_t *s = ro;
    if (ro && writes) {
        store_close(ro);
        s = store_open(path, 0, err, sizeof err);
    }
    if (!s) {
        cli_error("%s", err);
        return CLI_EXIT_ERROR;
    }
    int rc = CLI_EXIT_OK;
    if (strcmp(action, "list") == 0) {
        store_session_info_t *v;
        int n;
        if (store_session_list(s, &v, &n, err, sizeof err) != 0) {
            cli_error("%s", err);
            rc = CLI_EXIT_ERROR;
        } else {
            if (json) sessions_list_json(v, n, stdout);
            else if (n == 0) printf("no sessions in %s\n", path);
            for (int i = 0; !json && i < n; i++) export_list_line(&v[i], stdout);
            store_session_infos_free(v, n);
        }
    } else if (strcmp(action, "search") == 0) {
        store_hit_t *h;
        int n;
        if (store_search(s, argv[optind], &h, &n, err, sizeof err) != 0) {
            cli_error("%s", err);
            rc = CLI_EXIT_ERROR;
        } else {
            for (int i = 0; i < n; i++) {
                char br[32] = "";
                if (h[i].branch > 0) snprintf(br, sizeof br, " (branch %d)", h[i].branch);
                printf("%lld/%d %s%s: %s\n", (long long)h[i].session, h[i].turn_idx, h[i].role,
                       br, h[i].snippet);
            }
            if (n == 0) fprintf(stderr, "no turn contains '%s'\n", argv[optind]);
            store_hits_free(h, n);
        }
    } else if (strcmp(action, "tree") == 0) {
        rc = sessions_tree(s, id, json);
    } else if (writes) {
        if (store_session_delete(s, id, err, sizeof err) != 0) {
            cli_error("%s", err);
            rc = CLI_EXIT_ERROR;
        } else {
            printf("deleted session %lld\n", id);
        }
    } else {
        store_session_data_t d;
        int builtin = strcmp(format, "md") == 0 || strcmp(format, "json") == 0;
        int whole = strcmp(action, "export") == 0 && builtin; /* every branch */
        if ((whole ? store_session_load_all(s, id, branch, &d, err, sizeof err)
                   : store_session_load_branch(s, id, branch, &d, err, sizeof err)) != 0) {
            cli_error("%s", err);
            rc = CLI_EXIT_ERROR;
        } else if (strcmp(action, "export") == 0 && !builtin) {
            rc = sessions_export_plugin(&d, format, output, model_dir, &po);
            store_session_data_free(&d);
        } else {
            FILE *out = stdout;
            if (output && !(out = fopen(output, "w"))) {
                cli_error("%s: cannot write: %s", output, strerror(errno));
                rc = CLI_EXIT_ERROR;
            } else if (strcmp(action, "show") == 0) {
                export_show(&d, out);
            } else if (strcmp(format, "json") == 0) {
                export_json(&d, out);
            } else {
                export_markdown(&d, out);
            }
            if (out && out != stdout && fclose(out) != 0) {
                cli_error("%s: write failed: %s", output, strerror(errno));
                rc = CLI_EXIT_ERROR;
            }
            store_session_data_free(&d);
        }
    }
    store_close(s);
    return rc;
}
