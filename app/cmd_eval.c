/* cmd_eval.c - `gptscope eval`: how well the model predicts a text.
 *
 * For ids x_0..x_{N-1} the loss is the mean over the N-1 predictions of
 * -log p(x_i | x_<i) in nats, ppl = exp(loss), and bits per byte =
 * (sum of nats) / ln 2 / (bytes of the predicted tokens x_1..x_{N-1}, as the
 * tokenizer decodes them): a figure that does not depend on the vocabulary.
 *
 * Long inputs are scored in sliding windows of n_ctx tokens moved by n_ctx/2
 * (core/decode/score.h says why). */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "score.h"

#define CMD "eval"

const char cmd_eval_help[] =
    "usage: gptscope eval [-m DIR] [--json] FILE\n"
    "       gptscope eval [-m DIR] [--json] --ids FILE\n"
    "\n"
    "Mean next-token cross-entropy (nats), perplexity and bits per byte of a\n"
    "text FILE ('-' for stdin), or of whitespace-separated token ids (--ids).\n"
    "Inputs longer than the context are evaluated in windows of n_ctx tokens\n"
    "moved by n_ctx/2, so every token after the first is predicted exactly once\n"
    "with at least n_ctx/2 tokens of context. Bits per byte divide the total\n"
    "nats by ln 2 and by the bytes of the predicted tokens (all but the first).\n"
    "\n"
    "  -m, --model DIR   model directory (default: $GPTSCOPE_MODEL, bundled)\n"
    "      --ids FILE    read token ids instead of text\n"
    "      --json        print {\"tokens\",\"predictions\",\"loss\",\"ppl\",\"bpb\"}\n"
    "  -t, --threads N   threads (default: all cores)\n"
    "  -h, --help        this help\n";

enum { OPT_IDS = CLI_OPT_FIRST_COMMAND_OPT };

int cmd_eval(int argc, char **argv) {
    static const struct option longopts[] = {{"model", required_argument, 0, 'm'},
                                             {"ids", required_argument, 0, OPT_IDS},
                                             {"json", no_argument, 0, CLI_OPT_JSON},
                                             {"threads", required_argument, 0, 't'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *model_dir = NULL, *ids_path = NULL, *text_path = NULL;
    int json = 0, n_threads = cli_default_threads(), c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_dir = optarg; break;
        case OPT_IDS: ids_path = optarg; break;
        case CLI_OPT_JSON: json = 1; break;
        case 't':
            if (cli_parse_int(CMD, "--threads", optarg, 1, 1024, &n_threads)) return CLI_EXIT_USAGE;
            break;
        case 'h': fputs(cmd_eval_help, stdout); return CLI_EXIT_OK;
        default: cli_bad_option(CMD, c, optopt, argv, optind); return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) text_path = argv[optind++];
    if (optind < argc) {
        cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (!!text_path == !!ids_path) {
        cli_usage_error(CMD, "give one input: a text FILE or --ids FILE");
        return CLI_EXIT_USAGE;
    }

    cli_model_t cm;
    if (cli_model_open(&cm, model_dir, 1)) return CLI_EXIT_ERROR;
    char err[1024], *data = NULL;
    size_t len = 0, n = 0, cap = 0;
    int *ids = NULL, rc = CLI_EXIT_ERROR;
    const char *path = ids_path ? ids_path : text_path;
    if (cli_read_path(path, &data, &len, err, sizeof err)) {
        cli_error("%s", err);
        goto done;
    }
    if (ids_path ? cli_parse_ids(data, ids_path, &ids, &n, err, sizeof err)
                 : tokenizer_encode(cm.tok, data, len, &ids, &n, &cap, err, sizeof err)) {
        cli_error("%s%s%s", ids_path ? "" : path, ids_path ? "" : ": ", err);
        goto done;
    }
    if (ids_path && cli_check_ids(ids, n, cm.cfg.n_vocab, ids_path)) goto done;
    if (n < 2) {
        cli_error("%s: need at least 2 tokens to evaluate, got %zu", path, n);
        goto done;
    }
    if (n > (size_t)1 << 30) {
        cli_error("%s: too many tokens", path);
        goto done;
    }
    double nats = 0, n_bytes = score_predicted_bytes(cm.tok, ids, n);
    long n_pred = 0;
    if (score_nats(cm.model, ids, (int)n, n_threads, &nats, &n_pred, err, sizeof err)) {
        cli_error("%s: %s", path, err);
        goto done;
    }
    double loss = nats / (double)n_pred;
    double bpb = n_bytes > 0 ? nats / log(2.0) / n_bytes : NAN;
    if (json) {
        printf("{\"tokens\":%zu,\"predictions\":%ld,\"loss\":", n, n_pred);
        cli_json_number(stdout, loss);
        fputs(",\"ppl\":", stdout);
        cli_json_number(stdout, exp(loss));
        fputs(",\"bpb\":", stdout);
        cli_json_number(stdout, bpb);
        fputs("}\n", stdout);
    } else {
        printf("tokens       %zu (%ld predicted)\n", n, n_pred);
        printf("loss         %.6f nats/token\n", loss);
        printf("perplexity   %.4f\n", exp(loss));
        printf("bits/byte    %.6f (%.0f bytes)\n", bpb, n_bytes);
    }
    rc = CLI_EXIT_OK;
done:
    free(data);
    free(ids);
    cli_model_close(&cm);
    return rc;
}
