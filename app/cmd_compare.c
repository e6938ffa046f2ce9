/* cmd_compare.c - `gptscope compare -m A -m B`: two models on the same
 * tokens. The prompt (and, with -n N, N tokens the first model samples
 * after it) is scored by both: for every predicted token its probability
 * under A and under B and the log-ratio ln pA - ln pB, and the sum of each
 * model's log-probabilities. The models must share a tokenizer (the same
 * vocab.json and merges.txt bytes), or the token ids would mean different
 * things. Long sequences are scored in the sliding windows of `eval`
 * (core/decode/score.h), so with -n 0 the sums are exactly eval's total nats. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "generate.h"
#include "sampler.h"
#include "score.h"
#include "text.h"

#define CMD "compare"

const char cmd_compare_help[] =
    "usage: gptscope compare -m A -m B [-p TEXT | FILE] [-n N] [options]\n"
    "\n"
    "Runs the same tokens through two models that share a tokenizer and shows,\n"
    "for every predicted token, its probability under each model and the\n"
    "log-ratio ln(pA/pB) (the text tinted by which model preferred the token\n"
    "when stdout is a terminal), then each model's sum of log-probabilities.\n"
    "The tokens are the prompt's and, with -n N, N more that model A samples\n"
    "after it. With -n 0 (the default) the sums equal 'gptscope eval's total.\n"
    "\n"
    "  -m, --model DIR     the two models, A then B (both required)\n"
    "  -p, --prompt TEXT   the text ('-' or a FILE argument: read it; default stdin)\n"
    "  -n, --max-new N     tokens A samples after the prompt (default 0)\n"
    "      --temp T --top-k K --top-p P --min-p M --seed S\n"
    "                      A's sampling, as for generate (defaults: 1, off, off, off,\n"
    "                      random)\n"
    "      --json          one object: {\"tokens\":[{\"id\",\"text\",\"p_a\",\"p_b\",\n"
    "                      \"log_ratio\"}...],\"sum_logprob_a\",\"sum_logprob_b\",\"n\"}\n"
    "  -t, --threads N     threads (default: all cores)\n"
    "  -h, --help          this help\n";

enum { OPT_TEMP = CLI_OPT_FIRST_COMMAND_OPT, OPT_TOP_K, OPT_TOP_P, OPT_MIN_P, OPT_SEED };

/* Appends n_new tokens sampled by model a after ids[0..*n). */
static int cmp_sample(cli_model_t *a, const sampler_params_t *sp, int n_new, int n_threads,
                      int **ids, size_t *n) {
    char err[1024];
    gen_params_t gp = gen_params_default();
    gp.max_new = n_new;
    gp.eos_id = cli_eos_id(a);
    gp.stop_at_eos = 1;
    gp.n_threads = n_threads;
    sampler_t *smp = sampler_init(sp, a->cfg.n_vocab, err, sizeof err);
    gen_t *g = smp ? gen_init(a->model, &gp, err, sizeof err) : NULL;
    int *grown = realloc(*ids, (*n + (size_t)n_new) * sizeof **ids);
    int rc = -1;
    if (!g || !grown) {
        cli_error("%s", grown ? err : "out of memory");
        if (grown) *ids = grown;
        goto done;
    }
    *ids = grown;
    /* the model sees at most n_ctx - 1 prompt tokens; the rest are still scored */
    int n_ctx = a->cfg.n_ctx, keep = (int)*n < n_ctx - 1 ? (int)*n : n_ctx - 1;
    if (gen_prefill(g, *ids + *n - keep, keep, NULL, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto done;
    }
    gen_step_t st = {0, 0, GEN_STOP_NONE};
    for (int i = 0; i < n_new && st.stop == GEN_STOP_NONE; i++) {
        if (gen_step(g, smp, NULL, &st, err, sizeof err) != 0) {
            cli_error("%s", err);
            goto done;
        }
        (*ids)[(*n)++] = st.id;
    }
    rc = 0;
done:
    gen_free(g);
    sampler_free(smp);
    return rc;
}

/* ANSI tint of a log-ratio on a terminal: green when A preferred the token,
 * magenta when B did, plain when they agree within 0.1 nats. */
static const char *cmp_tint(double r, int color) {
    if (!color || fabs(r) < 0.1) return "";
    return r > 0 ? "\033[32m" : "\033[35m";
}

static void cmp_print_text(const tokenizer_t *tok, const int *ids, size_t n, const double *la,
                           const double *lb, int color) {
    /* the text, each predicted token tinted */
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const char *b = tokenizer_token_bytes(tok, ids[i], &len);
        const char *t = i > 0 ? cmp_tint(la[i - 1] - lb[i - 1], color) : "";
        fputs(t, stdout);
        if (b) fwrite(b, 1, len, stdout);
        if (*t) fputs("\033[0m", stdout);
    }
    fputs("\n\n", stdout);
    printf("%6s  %-18s %9s %9s %9s\n", "pos", "token", "p(A)", "p(B)", "ln(A/B)");
    for (size_t i = 1; i < n; i++) {
        size_t len = 0;
        const char *b = tokenizer_token_bytes(tok, ids[i], &len);
        char label[48], shown[52];
        text_escape(b ? b : "", b ? len : 0, label, sizeof label); /* the tables' token label */
        snprintf(shown, sizeof shown, "'%s'", label);
        double r = la[i - 1] - lb[i - 1];
        printf("%6zu  %-18s %9.3g %9.3g %s%+9.3f%s\n", i, shown, exp(la[i - 1]), exp(lb[i - 1]),
               cmp_tint(r, color), r, *cmp_tint(r, color) ? "\033[0m" : "");
    }
}

int cmd_compare(int argc, char **argv) {
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'},     {"prompt", required_argument, 0, 'p'},
        {"max-new", required_argument, 0, 'n'},   {"temp", required_argument, 0, OPT_TEMP},
        {"top-k", required_argument, 0, OPT_TOP_K}, {"top-p", required_argument, 0, OPT_TOP_P},
        {"min-p", required_argument, 0, OPT_MIN_P}, {"seed", required_argument, 0, OPT_SEED},
        {"json", no_argument, 0, CLI_OPT_JSON},   {"threads", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    const char *dirs[2] = {NULL, NULL}, *prompt = NULL;
    int n_dirs = 0, n_new = 0, json = 0, n_threads = cli_default_threads(), seed_given = 0, c;
    sampler_params_t sp = sampler_params_default();
    opterr = 0;
    optind = 1;
    int bad = 0;
    while (!bad && (c = getopt_long(argc, argv, ":m:p:n:t:h", longopts, NULL)) != -1) {
        const char *a = optarg;
        switch (c) {
        case 'm':
            if (n_dirs == 2) {
                cli_usage_error(CMD, "give exactly two models (-m A -m B)");
                return CLI_EXIT_USAGE;
            }
            dirs[n_dirs++] = a;
            break;
        case 'p': prompt = a; break;
        case 'n': bad = cli_parse_int(CMD, "--max-new", a, 0, 100000, &n_new); break;
        case OPT_TEMP: bad = cli_parse_float(CMD, "--temp", a, 0, 0, 1e6, 0, &sp.temperature); break;
        case OPT_TOP_K: bad = cli_parse_int(CMD, "--top-k", a, 0, 1 << 30, &sp.top_k); break;
        case OPT_TOP_P: bad = cli_parse_float(CMD, "--top-p", a, 0, 1, 1, 0, &sp.top_p); break;
        case OPT_MIN_P: bad = cli_parse_float(CMD, "--min-p", a, 0, 0, 1, 0, &sp.min_p); break;
        case OPT_SEED:
            bad = cli_parse_u64(CMD, "--seed", a, &sp.seed);
            seed_given = 1;
            break;
        case CLI_OPT_JSON: json = 1; break;
        case 't': bad = cli_parse_int(CMD, "--threads", a, 1, 1024, &n_threads); break;
        case 'h': fputs(cmd_compare_help, stdout); return CLI_EXIT_OK;
        default: cli_bad_option(CMD, c, optopt, argv, optind); return CLI_EXIT_USAGE;
        }
    }
    if (bad) return CLI_EXIT_USAGE;
    if (n_dirs != 2) {
        cli_usage_error(CMD, "give two models to compare (-m A -m B)");
        return CLI_EXIT_USAGE;
    }
    if (optind < argc - 1 || (optind < argc && prompt)) {
        cli_usage_error(CMD, "unexpected argument '%s'", argv[optind < argc - 1 ? optind + 1 : optind]);
        return CLI_EXIT_USAGE;
    }
    const char *file = optind < argc ? argv[optind] : NULL;
    if (!prompt && !file) {
        if (isatty(STDIN_FILENO)) {
            cli_usage_error(CMD, "no text: pass -p TEXT, a FILE, or text on stdin");
            return CLI_EXIT_USAGE;
        }
        file = "-";
    }
    if (prompt && strcmp(prompt, "-") == 0) file = "-", prompt = NULL;
    if (!seed_given) sp.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    sp.n_report = 0;

    cli_model_t ma, mb;
    memset(&mb, 0, sizeof mb);
    if (cli_model_open(&ma, dirs[0], 1) != 0) return CLI_EXIT_ERROR;
    int rc = CLI_EXIT_ERROR;
    char *text = NULL, err[1024];
    int *ids = NULL;
    size_t n = 0, cap = 0, len = 0;
    double *la = NULL, *lb = NULL;
    if (cli_model_open(&mb, dirs[1], 1) != 0) goto done;
    if (cli_same_tokenizer(ma.dir, mb.dir, err, sizeof err) != 0) {
        cli_error("%s: %s", CMD, err);
        goto done;
    }
    if (file && cli_read_path(file, &text, &len, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto done;
    }
    const char *src = text ? text : prompt;
    if (tokenizer_encode(ma.tok, src, text ? len : strlen(src), &ids, &n, &cap, err,
                         sizeof err) != 0) {
        cli_error("%s: %s", text ? file : "prompt", err);
        goto done;
    }
    if (n == 0) {
        cli_error("%s: the text is empty", text ? file : "prompt");
        goto done;
    }
    if (n_new > 0 && cmp_sample(&ma, &sp, n_new, n_threads, &ids, &n) != 0) goto done;
    if (n < 2) {
        cli_error("%s: one token: nothing to predict", text ? file : "prompt");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= mb.cfg.n_vocab) {
            cli_error("%s: token %d is outside its embedding of %d", mb.dir, ids[i], mb.cfg.n_vocab);
            goto done;
        }
    la = malloc(n * sizeof *la);
    lb = malloc(n * sizeof *lb);
    if (!la || !lb) {
        cli_error("out of memory");
        goto done;
    }
    /* la[pos], lb[pos]: log p of ids[pos + 1] under each model */
    if (score_logprobs(ma.model, ids, (int)n, n_threads, la, err, sizeof err) != 0 ||
        score_logprobs(mb.model, ids, (int)n, n_threads, lb, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto done;
    }
    double sa = 0, sb = 0;
    for (size_t i = 0; i + 1 < n; i++) sa += la[i], sb += lb[i];
    if (json) {
        fputs("{\"tokens\":[", stdout);
        for (size_t i = 1; i < n; i++) {
            size_t bl = 0;
            const char *b = tokenizer_token_bytes(ma.tok, ids[i], &bl);
            printf("%s{\"id\":%d,\"text\":", i > 1 ? "," : "", ids[i]);
            cli_json_string(stdout, b ? b : "", b ? bl : 0);
            fputs(",\"p_a\":", stdout);
            cli_json_number(stdout, exp(la[i - 1]));
            fputs(",\"p_b\":", stdout);
            cli_json_number(stdout, exp(lb[i - 1]));
            fputs(",\"log_ratio\":", stdout);
            cli_json_number(stdout, la[i - 1] - lb[i - 1]);
            fputc('}', stdout);
        }
        fputs("],\"sum_logprob_a\":", stdout);
        cli_json_number(stdout, sa);
        fputs(",\"sum_logprob_b\":", stdout);
        cli_json_number(stdout, sb);
        printf(",\"n\":%zu,\"model_a\":", n - 1);
        cli_json_string(stdout, ma.dir, strlen(ma.dir));
        fputs(",\"model_b\":", stdout);
        cli_json_string(stdout, mb.dir, strlen(mb.dir));
        fputs("}\n", stdout);
    } else {
        int color = isatty(STDOUT_FILENO) && !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
        cmp_print_text(ma.tok, ids, n, la, lb, color);
        printf("\nsum of log-probabilities over %zu tokens: A %.4f, B %.4f (A: %s, B: %s); "
               "%s by %.4f nats\n",
               n - 1, sa, sb, ma.dir, mb.dir, sa >= sb ? "A preferred" : "B preferred",
               fabs(sa - sb));
    }
    rc = CLI_EXIT_OK;
done:
    free(la);
    free(lb);
    free(ids);
    free(text);
    cli_model_close(&mb);
    cli_model_close(&ma);
    return rc;
}
