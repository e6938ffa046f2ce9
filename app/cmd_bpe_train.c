/* cmd_bpe_train.c - `gptscope bpe-train`: learn a byte-level BPE vocabulary
 * (GPT-2's pre-split and file format) from text files, with core/bpe_train.h. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpe_train.h"
#include "cli.h"
#include "tokenizer.h"

#define CMD "bpe-train"
#define BPE_MAX_FILES 256

const char cmd_bpe_train_help[] =
    "usage: gptscope bpe-train CORPUS... --vocab-size N -o DIR [--min-frequency F]\n"
    "\n"
    "Learns a byte-level BPE vocabulary from the text files (CORPUS, '-' for stdin)\n"
    "and writes DIR/vocab.json and DIR/merges.txt in GPT-2's format: ids 0-255 are\n"
    "the bytes (in GPT-2's order), then one token per merge, then <|endoftext|>.\n"
    "The text is pre-split exactly as the GPT-2 tokenizer splits it, so a word\n"
    "never merges across a space or punctuation boundary it would not cross.\n"
    "\n"
    "  -v, --vocab-size N     total vocabulary size, at least 257 (required)\n"
    "  -o, --out DIR          output directory (created if needed)\n"
    "      --min-frequency F  stop when the best pair occurs fewer than F times (default 2)\n"
    "  -h, --help             this help\n";

static void bpe_progress(void *user, int done, int total) {
    int *tty = user;
    if (*tty) {
        fprintf(stderr, "\r\033[Kmerges %d/%d", done, total);
        fflush(stderr);
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
            if (cli_parse_int(CMD, "--vocab-size", optarg, 257, 1 << 24, &vocab)) return CLI_EXIT_USAGE;
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
        cli_usage_error(CMD, "%s", n <= 0 ? "no corpus files given"
                                  : !out  ? "no output directory: give -o DIR"
                                          : "--vocab-size N is required");
        return CLI_EXIT_USAGE;
    }
    if (n > BPE_MAX_FILES) {
        cli_usage_error(CMD, "at most %d corpus files", BPE_MAX_FILES);
        return CLI_EXIT_USAGE;
    }
    char *texts[BPE_MAX_FILES];
    size_t lens[BPE_MAX_FILES], total = 0;
    const char *names[BPE_MAX_FILES];
    char err[4400];
    int rc = CLI_EXIT_ERROR, loaded = 0;
    for (int i = 0; i < n; i++, loaded++) {
        names[i] = strcmp(argv[optind + i], "-") == 0 ? "stdin" : argv[optind + i];
        if (cli_read_path(argv[optind + i], &texts[i], &lens[i], err, sizeof(err)) != 0) {
            cli_error("%s", err);
            goto done;
        }
        total += lens[i];
    }
    int tty = isatty(2);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bpe_train_opts_t o = {vocab, min_freq, bpe_progress, &tty};
    int got = bpe_train((const char *const *)texts, lens, names, n, &o, out, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (tty) fputc('\n', stderr);
    if (got < 0) {
        cli_error("%s", err);
        goto done;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    /* how well the new vocabulary compresses the corpus */
    tokenizer_t *tok = tokenizer_load(out, TOKENIZER_GPT2, err, sizeof(err));
    size_t n_tokens = 0;
    for (int i = 0; tok && i < n; i++) {
        int *ids = NULL;
        size_t k = 0, cap = 0;
        if (tokenizer_encode(tok, texts[i], lens[i], &ids, &k, &cap, err, sizeof(err)) == 0)
            n_tokens += k;
        free(ids);
    }
    tokenizer_free(tok);
    printf("vocabulary: %d tokens (%d merges%s) in %.2f s; %zu bytes -> %zu tokens, %.2f "
           "bytes/token; wrote %s/vocab.json and %s/merges.txt\n",
           got, got - 257, got < vocab ? ", the corpus ran out of pairs" : "", secs, total,
           n_tokens, n_tokens ? (double)total / (double)n_tokens : 0.0, out, out);
    rc = CLI_EXIT_OK;
done:
    for (int i = 0; i < loaded; i++) free(texts[i]);
    return rc;
}
