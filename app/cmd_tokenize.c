/* cmd_tokenize.c - `gptscope tokenize`: stdin text to token ids with the
 * model's own tokenizer, or (--decode) ids back to text. Only config.json
 * and the tokenizer files are read; the weights are not needed. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CMD "tokenize"

const char cmd_tokenize_help[] =
    "usage: gptscope tokenize [-m DIR] [--json] < text\n"
    "       gptscope tokenize [-m DIR] --decode < ids\n"
    "\n"
    "Reads text on stdin, byte for byte (a final newline is part of the text),\n"
    "and prints its token ids on one line, separated by spaces.\n"
    "\n"
    "  -m, --model DIR   model directory (default: $GPTSCOPE_MODEL, bundled)\n"
    "      --json        print {\"ids\":[...],\"tokens\":[...]}, tokens being the\n"
    "                    vocabulary strings as in vocab.json (e.g. \"\\u0120the\")\n"
    "  -d, --decode      read whitespace-separated ids and print their text\n"
    "                    exactly (no newline added; invalid UTF-8 becomes U+FFFD)\n"
    "  -h, --help        this help\n";

static int encode(cli_model_t *cm, const char *data, size_t len, int json) {
    char err[1024];
    int *ids = NULL;
    size_t n = 0, cap = 0;
    if (tokenizer_encode(cm->tok, data, len, &ids, &n, &cap, err, sizeof err)) {
        cli_error("stdin: %s", err);
        free(ids);
        return CLI_EXIT_ERROR;
    }
    if (json) {
        fputs("{\"ids\":[", stdout);
        for (size_t i = 0; i < n; i++) printf("%s%d", i ? "," : "", ids[i]);
        fputs("],\"tokens\":[", stdout);
        for (size_t i = 0; i < n; i++) {
            const char *s = tokenizer_token_str(cm->tok, ids[i]);
            if (i) fputc(',', stdout);
            cli_json_string(stdout, s ? s : "", s ? strlen(s) : 0);
        }
        fputs("]}\n", stdout);
    } else {
        for (size_t i = 0; i < n; i++) printf("%s%d", i ? " " : "", ids[i]);
        fputc('\n', stdout);
    }
    free(ids);
    return CLI_EXIT_OK;
}

static int decode(cli_model_t *cm, const char *data) {
    char err[1024];
    int *ids = NULL;
    size_t n = 0, len = 0;
    if (cli_parse_ids(data, "stdin", &ids, &n, err, sizeof err)) {
        cli_error("%s", err);
        return CLI_EXIT_ERROR;
    }
    if (cli_check_ids(ids, n, tokenizer_vocab_size(cm->tok), "stdin")) {
        free(ids);
        return CLI_EXIT_ERROR;
    }
    char *text = tokenizer_decode(cm->tok, ids, n, &len, err, sizeof err);
    free(ids);
    if (!text) {
        cli_error("%s", err);
        return CLI_EXIT_ERROR;
    }
    fwrite(text, 1, len, stdout);
    free(text);
    return CLI_EXIT_OK;
}

int cmd_tokenize(int argc, char **argv) {
    static const struct option longopts[] = {{"model", required_argument, 0, 'm'},
                                             {"json", no_argument, 0, CLI_OPT_JSON},
                                             {"decode", no_argument, 0, 'd'},
                                             {"threads", required_argument, 0, 't'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *model_dir = NULL;
    int json = 0, do_decode = 0, n_threads, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:t:dh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_dir = optarg; break;
        case CLI_OPT_JSON: json = 1; break;
        case 'd': do_decode = 1; break;
        case 't': /* accepted like everywhere else; tokenizing runs on one thread */
            if (cli_parse_int(CMD, "--threads", optarg, 1, 1024, &n_threads)) return CLI_EXIT_USAGE;
            break;
        case 'h': fputs(cmd_tokenize_help, stdout); return CLI_EXIT_OK;
        default: cli_bad_option(CMD, c, optopt, argv, optind); return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_usage_error(CMD, "unexpected argument '%s' (the text is read from stdin)",
                        argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (json && do_decode) {
        cli_usage_error(CMD, "--json and --decode do not go together");
        return CLI_EXIT_USAGE;
    }
    cli_model_t cm;
    if (cli_model_open(&cm, model_dir, 0)) return CLI_EXIT_ERROR;
    char err[1024], *data = NULL;
    size_t len = 0;
    int rc = CLI_EXIT_ERROR;
    if (fileio_read_stream(stdin, "stdin", 0, &data, &len, err, sizeof err)) {
        cli_error("%s", err);
    } else {
        rc = do_decode ? decode(&cm, data) : encode(&cm, data, len, json);
    }
    fflush(stdout);
    free(data);
    cli_model_close(&cm);
    return rc;
}
