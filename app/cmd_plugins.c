/* cmd_plugins.c - `gptscope plugins list|info NAME`: what plugins were found
 * (plugin_host.h says where it looks) and what each one adds. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "plugin_host.h"

#define CMD "plugins"

const char cmd_plugins_help[] =
    "usage: gptscope plugins list [--json]\n"
    "       gptscope plugins info NAME\n"
    "\n"
    "Plugins are shared objects loaded through the C ABI in gptscope_plugin.h.\n"
    "gptscope loads every --plugin PATH, then (unless --no-plugins) every *.so in\n"
    "the build tree's plugins folder when it runs from there, in the installed\n"
    "folder (" GPTSCOPE_PLUGINDIR "),\n"
    "and in $XDG_DATA_HOME/gptscope/plugins (~/.local/share/gptscope/plugins).\n"
    "A plugin that cannot be loaded is left out with a message.\n"
    "\n"
    "  list                  one line per plugin: name, version, path, description;\n"
    "                        then the files that were left out and why\n"
    "  info NAME             the plugin's hooks: samplers and their parameters,\n"
    "                        panes, slash commands, export formats, observers\n"
    "\n"
    "      --json            list: {\"plugins\":[{\"name\",\"version\",\"path\",\n"
    "                        \"description\",...}],\"left_out\":[\"PATH: REASON\"]}\n"
    "      --plugin PATH     load the plugin PATH too (repeatable)\n"
    "      --no-plugins      only the --plugin ones\n"
    "  -h, --help            this help\n";

enum { OPT_PLUGIN = CLI_OPT_FIRST_COMMAND_OPT, OPT_NO_PLUGINS };

static void json_str(const char *s) {
    cli_json_string(stdout, s ? s : "", s ? strlen(s) : 0);
}

static void plugins_list(const plugin_host_t *ph, int json) {
    if (json) {
        fputs("{\"plugins\":[", stdout);
        for (int i = 0; i < ph->n; i++) {
            const gsp_plugin_t *d = ph->v[i].desc;
            fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
            json_str(d->name);
            fputs(",\"version\":", stdout);
            json_str(d->version);
            fputs(",\"path\":", stdout);
            json_str(ph->v[i].path);
            fputs(",\"origin\":", stdout);
            json_str(ph->v[i].origin);
            fputs(",\"description\":", stdout);
            json_str(d->description);
            fputc('}', stdout);
        }
        fputs("],\"left_out\":[", stdout);
        for (int i = 0; i < ph->n_problems; i++) {
            if (i) fputc(',', stdout);
            json_str(ph->problems[i]);
        }
        fputs("]}\n", stdout);
        return;
    }
    if (ph->n == 0) printf("no plugins found\n");
    for (int i = 0; i < ph->n; i++) {
        const gsp_plugin_t *d = ph->v[i].desc;
        printf("%-14s %-8s %s  %s\n", d->name, d->version, ph->v[i].path, d->description);
    }
    for (int i = 0; i < ph->n_problems; i++) printf("left out: %s\n", ph->problems[i]);
}

static int plugins_info(const plugin_host_t *ph, const char *name) {
    for (int i = 0; i < ph->n; i++) {
        const gsp_plugin_t *d = ph->v[i].desc;
        if (strcmp(d->name, name) != 0) continue;
        printf("%s %s: %s\n", d->name, d->version, d->description);
        printf("  path: %s (%s)\n  ABI version: %u\n", ph->v[i].path, ph->v[i].origin,
               (unsigned)d->abi_version);
        if (d->process_logits) printf("  logits processor: yes (applies to every sampled token)\n");
        if (d->observe_hidden) printf("  observes: the residual stream of every token run\n");
        if (d->observe_attention) printf("  observes: the attention of every token run\n");
        for (int k = 0; k < d->n_samplers; k++)
            printf("  sampler: %s %s (--sampler, /sampler)\n", d->samplers[k].name,
                   d->samplers[k].params ? d->samplers[k].params : "");
        for (int k = 0; k < d->n_panes; k++)
            printf("  pane: %s \"%s\" (/pane %s)\n", d->panes[k].name,
                   d->panes[k].title ? d->panes[k].title : "", d->panes[k].name);
        for (int k = 0; k < d->n_commands; k++)
            printf("  command: /%s %s  %s\n", d->commands[k].name,
                   d->commands[k].args ? d->commands[k].args : "",
                   d->commands[k].help ? d->commands[k].help : "");
        for (int k = 0; k < d->n_exporters; k++)
            printf("  export format: %s (.%s)  %s\n", d->exporters[k].format,
                   d->exporters[k].extension ? d->exporters[k].extension : "",
                   d->exporters[k].help ? d->exporters[k].help : "");
        return CLI_EXIT_OK;
    }
    cli_error("plugins: no plugin named '%s' is loaded ('gptscope plugins list')", name);
    return CLI_EXIT_ERROR;
}

int cmd_plugins(int argc, char **argv) {
    static const struct option longopts[] = {
        {"json", no_argument, 0, CLI_OPT_JSON},   {"plugin", required_argument, 0, OPT_PLUGIN},
        {"no-plugins", no_argument, 0, OPT_NO_PLUGINS}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    plugin_opts_t po;
    memset(&po, 0, sizeof po);
    po.quiet = 1; /* list says what was left out itself */
    int json = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case CLI_OPT_JSON: json = 1; break;
        case OPT_PLUGIN:
            if (plugin_opts_add(&po, CMD, optarg) != 0) return CLI_EXIT_USAGE;
            break;
        case OPT_NO_PLUGINS: po.no_discovery = 1; break;
        case 'h': fputs(cmd_plugins_help, stdout); return CLI_EXIT_OK;
        default: cli_bad_option(CMD, c, optopt, argv, optind); return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_usage_error(CMD, "which action? list or info NAME");
        return CLI_EXIT_USAGE;
    }
    const char *action = argv[optind++];
    int is_info = strcmp(action, "info") == 0;
    if (!is_info && strcmp(action, "list") != 0) {
        cli_usage_error(CMD, "unknown action '%s' (list, info NAME)", action);
        return CLI_EXIT_USAGE;
    }
    if (is_info && optind >= argc) {
        cli_usage_error(CMD, "info needs a plugin NAME");
        return CLI_EXIT_USAGE;
    }
    if (optind + is_info < argc) {
        cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + is_info]);
        return CLI_EXIT_USAGE;
    }
    if (is_info) po.quiet = 0;
    plugin_host_t ph;
    plugin_host_init(&ph, &po);
    int rc = CLI_EXIT_OK;
    if (is_info) rc = plugins_info(&ph, argv[optind]);
    else plugins_list(&ph, json);
    fflush(stdout);
    plugin_host_free(&ph);
    return rc;
}
