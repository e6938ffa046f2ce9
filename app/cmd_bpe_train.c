/* cmd_bpe_train.c - `gptscope bpe-train`: learn a byte-level BPE vocabulary
 * (GPT-2's pre-split and file format) from text files with core/tokenizer/bpe_train.h,
 * then load it back and encode the corpus with it, so the summary's
 * compression figure is measured by the tokenizer that will use it. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpe_train.h"
#include "cli.h"
#include "tokenizer.h"
#include "clockx.h"

#define CMD "bpe-train"

const char cmd_bpe_train_help[] =
    "usage: gptscope bpe-train CORPUS... --vocab-size N -o DIR [--min-frequency F]\n"
    "\n"
    "Learns a byte-level BPE vocabulary from the text files (CORPUS, '-' for stdin)\n"
    "and writes DIR/vocab.json and DIR/merges.txt in GPT-2's format, as read by\n"
    "gptscope's tokenizer and Hugging Face's: ids 0-255 are the bytes (in GPT-2's\n"
    "order), then one token per merge in the order learned, then <|endoftext|>.\n"
    "The text is pre-split exactly as the GPT-2 tokenizer splits it, so merges\n"
    "never cross a word, number, punctuation or space boundary; <|endoftext|> in\n"
    "the text is cut out. Each round merges the most frequent pair (ties: the\n"
    "smallest left id, then right id). The summary gives the bytes per token of\n"
    "the corpus encoded with the new vocabulary.\n"
    "\n"
    "  -v, --vocab-size N     total vocabulary size, at least 257 (required)\n"
    "  -o, --out DIR          output directory (created if needed)\n"
    "      --min-frequency F  stop when the best pair occurs fewer than F times (default 2)\n"
    "  -h, --help             this help\n";

typedef struct bpe_cli_progress {
    int tty;
    double t0, last; /* seconds: start, last line drawn */
} bpe_cli_progress_t;

/* A terminal gets one line redrawn at most 10 times a second; a log file a
 * line every 5 s, so a long run shows it is alive without flooding it. */
static void bpe_cli_on_progress(void *user, int done, int total) {
    bpe_cli_progress_t *p = user;
    double now = clockx_now();
    int final = done == total;
    if (p->tty) {
        if (final) {
            fputs("\r\033[K", stderr);
        } else if (now - p->last >= 0.1) {
            fprintf(stderr, "\r\033[Kbpe-train: %d/%d merges (%.0f%%)", done, total,
                    100.0 * done / total);
            p->last = now;
        }
        fflush(stderr);
    } else if (!final && now - p->last >= 5.0) {
        fprintf(stderr, "bpe-train: %d/%d merges after %.0f s\n", done, total, now - p->t0);
        p->last = now;
    }
}

int cmd_bpe_train(int argc, char **argv) {
    enum { OPT_MIN_FREQ = CLI_OPT_FIRST_COMMAND_OPT };
    static const struct option longopts[] = {{"vocab-size", required_argument, 0, 'v'},
                                             {"out", required_argument, 0, 'o'},
                                             {"min-frequency", required_argument, 0, OPT_MIN_FREQ},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int vocab = 0, min_freq = 2, c;
    const char *out = NULL;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":v:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'v':
            if (cli_parse_int(CMD, "--vocab-size", optarg, 257, 1 << 24, &vocab))
                return CLI_EXIT_USAGE;
            break;
        case 'o': out = optarg; break;
        case OPT_MIN_FREQ:
            if (cli_parse_int(CMD, "--min-frequency", optarg, 1, 1 << 30, &min_freq))
                return CLI_EXIT_USAGE;
            break;
        case 'h': fputs(cmd_bpe_train_help, stdout); return CLI_EXIT_OK;
        default: cli_bad_option(CMD, c, optopt, argv, optind); return CLI_EXIT_USAGE;
        }
    }
    int n = argc - optind;
    if (n <= 0 || !out || vocab == 0) {
        cli_usage_error(CMD, "%s", n <= 0  ? "no corpus files given"
                                   : !out  ? "no output directory: give -o DIR"
                                           : "--vocab-size N is required");
        return CLI_EXIT_USAGE;
    }
    char **texts = calloc((size_t)n, sizeof *texts);
    size_t *lens = calloc((size_t)n, sizeof *lens), total = 0;
    const char **names = calloc((size_t)n, sizeof *names);
    char err[4400];
    int rc = CLI_EXIT_ERROR;
    tokenizer_t *tok = NULL;
    if (!texts || !lens || !names) {
        cli_error("out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        names[i] = strcmp(argv[optind + i], "-") == 0 ? "stdin" : argv[optind + i];
        if (cli_read_path(argv[optind + i], &texts[i], &lens[i], err, sizeof err) != 0) {
            cli_error("%s", err);
            goto done;
        }
        total += lens[i];
    }
    /* a terminal sees the first update at once; a log, nothing for 5 s */
    int tty = isatty(2);
    bpe_cli_progress_t prog = {tty, clockx_now(), tty ? 0.0 : clockx_now()};
    bpe_train_opts_t o = {vocab, min_freq, bpe_cli_on_progress, &prog};
    int got = bpe_train((const char *const *)texts, lens, names, n, &o, out, err, sizeof err);
    double secs = clockx_now() - prog.t0;
    if (got < 0) {
        cli_error("%s", err);
        goto done;
    }
    /* the compression, measured by the tokenizer that will use the files */
    tok = tokenizer_load(out, TOKENIZER_GPT2, err, sizeof err);
    if (!tok) {
        cli_error("%s: the vocabulary just written does not load: %s", out, err);
        goto done;
    }
    size_t n_tokens = 0;
    int *ids = NULL;
    size_t cap = 0;
    for (int i = 0; i < n; i++) {
        size_t k = 0;
        if (tokenizer_encode(tok, texts[i], lens[i], &ids, &k, &cap, err, sizeof err) != 0) {
            free(ids);
            cli_error("%s: %s", names[i], err);
            goto done;
        }
        n_tokens += k;
    }
    free(ids);
    char early[96] = "";
    if (got < vocab)
        snprintf(early, sizeof early, "; stopped early: no pair left occurs %d time%s or more",
                 min_freq, min_freq == 1 ? "" : "s");
    printf("bpe-train: %d tokens (%d merges) in %.2f s%s; %zu bytes -> %zu tokens, %.2f "
           "bytes/token; wrote %s/vocab.json and %s/merges.txt\n",
           got, got - 257, secs, early, total, n_tokens,
           n_tokens ? (double)total / (double)n_tokens : 0.0, out, out);
    rc = CLI_EXIT_OK;
done:
    tokenizer_free(tok);
    for (int i = 0; texts && i < n; i++) free(texts[i]);
    free(texts);
    free(lens);
    free(names);
    return rc;
}
