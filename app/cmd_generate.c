/* cmd_generate.c - `gptscope generate`: continue a prompt, streaming text as
 * it is produced (or one JSON object per token), by sampling through
 * core/decode/generate.h or by beam search through core/decode/beam.h. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "beam.h"
#include "cli.h"
#include "generate.h"
#include "plugin_host.h"
#include "sampler.h"
#include "clockx.h"

#define CMD "generate"
#define MAX_TOP 100

const char cmd_generate_help[] =
    "usage: gptscope generate [-m DIR] [-p TEXT | --ids \"ID ...\"] [options]\n"
    "\n"
    "Continues the prompt and streams the new text to stdout, token by token.\n"
    "Without -p and --ids (or with -p -) the prompt is read from stdin.\n"
    "An empty prompt starts from <|endoftext|> (GPT-2).\n"
    "\n"
    "  -m, --model DIR         model directory (default: $GPTSCOPE_MODEL, bundled)\n"
    "  -p, --prompt TEXT       prompt text, '-' for stdin\n"
    "      --ids \"ID ...\"      prompt as whitespace-separated token ids\n"
    "  -n, --max-new N         tokens to generate (default 64; --max-tokens too)\n"
    "      --temp T            temperature, 0 = greedy (default 1)\n"
    "      --top-k K           keep the K most likely tokens, 0 = off (default)\n"
    "      --top-p P           smallest set with mass >= P, P in (0, 1] (default 1)\n"
    "      --min-p M           drop tokens below M * p(top), M in [0, 1] (default 0)\n"
    "      --repeat-penalty R  CTRL repetition penalty, > 0, 1 = off (default)\n"
    "      --presence-penalty X   minus X on every logit already seen (default 0)\n"
    "      --frequency-penalty X  minus X * count on logits seen (default 0)\n"
    "      --seed S            sampler seed (default: random; --stats shows it)\n"
    "      --sampler NAME      a plugin's sampler instead of top-k/top-p/min-p:\n"
    "                          'NAME' or 'NAME key=value ...' (gptscope plugins list)\n"
    "      --plugin PATH       load the plugin PATH (repeatable)\n"
    "      --no-plugins        do not load the plugins found in the usual folders\n"
    "      --beams B           beam search with B beams; sampling flags ignored\n"
    "      --length-penalty L  beam score = sum logprob / length^L (default 1)\n"
    "      --no-eos-stop       keep going after <|endoftext|>\n"
    "      --json              one JSON object per generated token:\n"
    "                          {\"id\",\"text\",\"logprob\",\"top\":[{\"id\",\"text\",...}]}\n"
    "                          logprobs of the model's unmodified distribution;\n"
    "                          \"text\" is the token's bytes, with bytes that are\n"
    "                          not whole UTF-8 characters shown as U+FFFD (such\n"
    "                          tokens also carry the exact \"bytes\":[..]).\n"
    "                          With --beams: one object per hypothesis, best first.\n"
    "      --top N             candidates listed in \"top\" (default 5, 0 to 100; 0: \"top\":[])\n"
    "      --stats             timings (and the seed) on stderr at the end\n"
    "  -t, --threads N         exactly N threads (default: up to all cores, each\n"
    "                          token on the count that runs fastest now; the\n"
    "                          output is the same either way)\n"
    "  -h, --help              this help\n"
    "\n"
    "When the context (n_ctx) fills up, the last n_ctx/2 tokens are kept and\n"
    "generation goes on; a note says so on stderr. Ctrl-C stops cleanly (exit 130);\n"
    "with --beams it prints the best hypotheses found so far.\n";

/* A signal handler can only talk to the loop through a flag of static
 * storage; this is the one piece of mutable global state in the program. */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

typedef struct gen_opts {
    const char *model_dir, *prompt, *ids_text;
    int max_new, n_threads, json, n_top, n_beams, eos_stop, stats, seed_given, threads_given;
    float length_penalty;
    sampler_params_t sp;
    const char *sampler;
    plugin_opts_t plugins;
} gen_opts_t;

enum {
    OPT_IDS = CLI_OPT_FIRST_COMMAND_OPT, OPT_TEMP, OPT_TOP_K, OPT_TOP_P, OPT_MIN_P, OPT_REPEAT,
    OPT_PRESENCE, OPT_FREQUENCY, OPT_SEED, OPT_BEAMS, OPT_LENGTH_PENALTY, OPT_NO_EOS, OPT_TOP,
    OPT_STATS, OPT_SAMPLER, OPT_PLUGIN, OPT_NO_PLUGINS
};

/* Returns -1 to go on, else the exit code (help printed, usage error). */
static int parse_args(int argc, char **argv, gen_opts_t *o) {
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'},
        {"prompt", required_argument, 0, 'p'},
        {"ids", required_argument, 0, OPT_IDS},
        {"max-new", required_argument, 0, 'n'},
        {"max-tokens", required_argument, 0, 'n'}, /* chat's name for it */
        {"temp", required_argument, 0, OPT_TEMP},
        {"temperature", required_argument, 0, OPT_TEMP},
        {"top-k", required_argument, 0, OPT_TOP_K},
        {"top-p", required_argument, 0, OPT_TOP_P},
        {"min-p", required_argument, 0, OPT_MIN_P},
        {"repeat-penalty", required_argument, 0, OPT_REPEAT},
        {"presence-penalty", required_argument, 0, OPT_PRESENCE},
        {"frequency-penalty", required_argument, 0, OPT_FREQUENCY},
        {"seed", required_argument, 0, OPT_SEED},
        {"beams", required_argument, 0, OPT_BEAMS},
        {"length-penalty", required_argument, 0, OPT_LENGTH_PENALTY},
        {"no-eos-stop", no_argument, 0, OPT_NO_EOS},
        {"json", no_argument, 0, CLI_OPT_JSON},
        {"top", required_argument, 0, OPT_TOP},
        {"stats", no_argument, 0, OPT_STATS},
        {"sampler", required_argument, 0, OPT_SAMPLER},
        {"plugin", required_argument, 0, OPT_PLUGIN},
        {"no-plugins", no_argument, 0, OPT_NO_PLUGINS},
        {"threads", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->sp = sampler_params_default();
    o->max_new = 64;
    o->n_threads = cli_default_threads();
    o->n_top = 5;
    o->n_beams = 1;
    o->eos_stop = 1;
    o->length_penalty = 1.0f;
    opterr = 0;
    optind = 1;
    int c, bad = 0;
    while (!bad && (c = getopt_long(argc, argv, ":m:p:n:t:h", longopts, NULL)) != -1) {
        const char *a = optarg;
        switch (c) {
        case 'm': o->model_dir = a; break;
        case 'p': o->prompt = a; break;
        case OPT_IDS: o->ids_text = a; break;
        case 'n': bad = cli_parse_int(CMD, "-n", a, 0, 1000000000, &o->max_new); break;
        case OPT_TEMP: bad = cli_parse_float(CMD, "--temp", a, 0, 0, 1e6, 0, &o->sp.temperature); break;
        case OPT_TOP_K: bad = cli_parse_int(CMD, "--top-k", a, 0, 1 << 30, &o->sp.top_k); break;
        case OPT_TOP_P: bad = cli_parse_float(CMD, "--top-p", a, 0, 1, 1, 0, &o->sp.top_p); break;
        case OPT_MIN_P: bad = cli_parse_float(CMD, "--min-p", a, 0, 0, 1, 0, &o->sp.min_p); break;
        case OPT_REPEAT:
            bad = cli_parse_float(CMD, "--repeat-penalty", a, 0, 1, 1e6, 0,
                                  &o->sp.repetition_penalty);
            break;
        case OPT_PRESENCE:
            bad = cli_parse_float(CMD, "--presence-penalty", a, -1e6, 0, 1e6, 0,
                                  &o->sp.presence_penalty);
            break;
        case OPT_FREQUENCY:
            bad = cli_parse_float(CMD, "--frequency-penalty", a, -1e6, 0, 1e6, 0,
                                  &o->sp.frequency_penalty);
            break;
        case OPT_SEED:
            bad = cli_parse_u64(CMD, "--seed", a, &o->sp.seed);
            o->seed_given = 1;
            break;
        case OPT_BEAMS: bad = cli_parse_int(CMD, "--beams", a, 1, 64, &o->n_beams); break;
        case OPT_LENGTH_PENALTY:
            bad = cli_parse_float(CMD, "--length-penalty", a, -100, 0, 100, 0, &o->length_penalty);
            break;
        case OPT_NO_EOS: o->eos_stop = 0; break;
        case CLI_OPT_JSON: o->json = 1; break;
        case OPT_TOP: bad = cli_parse_int(CMD, "--top", a, 0, MAX_TOP, &o->n_top); break;
        case OPT_STATS: o->stats = 1; break;
        case OPT_SAMPLER: o->sampler = a; break;
        case OPT_PLUGIN: bad = plugin_opts_add(&o->plugins, CMD, a) != 0; break;
        case OPT_NO_PLUGINS: o->plugins.no_discovery = 1; break;
        case 't':
            bad = cli_parse_int(CMD, "--threads", a, 1, 1024, &o->n_threads);
            o->threads_given = 1;
            break;
        case 'h': fputs(cmd_generate_help, stdout); return CLI_EXIT_OK;
        default: cli_bad_option(CMD, c, optopt, argv, optind); return CLI_EXIT_USAGE;
        }
    }
    if (bad) return CLI_EXIT_USAGE;
    if (optind < argc) {
        cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (o->sampler && o->n_beams > 1) {
        cli_usage_error(CMD, "--sampler does not apply to --beams");
        return CLI_EXIT_USAGE;
    }
    if (o->prompt && o->ids_text) {
        cli_usage_error(CMD, "give the prompt as -p TEXT or --ids, not both");
        return CLI_EXIT_USAGE;
    }
    if (!o->prompt && !o->ids_text) {
        if (isatty(STDIN_FILENO)) {
            cli_usage_error(CMD, "no prompt: pass -p TEXT, --ids \"ID ...\" or text on stdin");
            return CLI_EXIT_USAGE;
        }
        o->prompt = "-";
    }
    if (!o->seed_given) {
        /* Different runs should differ unless a seed is asked for. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        o->sp.seed = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
                     ((uint64_t)getpid() << 32);
    }
    return -1;
}

/* The prompt as ids. Returns 0 or prints the error and returns -1. */
static int prompt_ids(const gen_opts_t *o, const cli_model_t *cm, int **ids, size_t *n) {
    char err[1024];
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    if (o->ids_text) {
        if (cli_parse_ids(o->ids_text, "--ids", ids, n, err, sizeof err)) {
            cli_error("%s", err);
            return -1;
        }
        return cli_check_ids(*ids, *n, cm->cfg.n_vocab, "--ids");
    }
    char *text = NULL;
    size_t len = 0;
    const char *what = "prompt";
    if (strcmp(o->prompt, "-") == 0) {
        if (fileio_read_stream(stdin, "stdin", 0, &text, &len, err, sizeof err)) {
            cli_error("%s", err);
            return -1;
        }
        what = "stdin";
    }
    const char *src = text ? text : o->prompt;
    int rc = tokenizer_encode(cm->tok, src, text ? len : strlen(src), ids, n, &cap, err,
                              sizeof err);
    free(text);
    if (rc) {
        cli_error("%s: %s", what, err);
        free(*ids);
        *ids = NULL;
        return -1;
    }
    return 0;
}

/* The k ids of largest logit, best first (insertion into a short sorted
 * list: k is small, and most logits fail the first comparison). */
static int top_ids(const float *logits, int n_vocab, int k, int *ids) {
    /* k = 0 (--top 0) lists none: the loop below needs k >= 1, since it
     * compares with and writes to ids[k - 1] */
    if (k > n_vocab) k = n_vocab;
    if (k <= 0) return 0;
    int n = 0;
    for (int v = 0; v < n_vocab; v++) {
        if (n == k && logits[v] <= logits[ids[n - 1]]) continue;
        int i = n < k ? n++ : k - 1;
        while (i > 0 && logits[ids[i - 1]] < logits[v]) {
            ids[i] = ids[i - 1];
            i--;
        }
        ids[i] = v;
    }
    return n;
}

/* "text" (and "bytes" when the token is not whole UTF-8) of one token. */
static void json_token_text(FILE *out, const tokenizer_t *tok, int id) {
    size_t len = 0;
    const char *bytes = tokenizer_token_bytes(tok, id, &len);
    if (!bytes) len = 0;
    fputs("\"text\":", out);
    cli_json_string(out, bytes ? bytes : "", len);
    if (len && !cli_utf8_valid(bytes, len)) {
        fputs(",\"bytes\":[", out);
        for (size_t i = 0; i < len; i++) fprintf(out, "%s%u", i ? "," : "", (unsigned char)bytes[i]);
        fputc(']', out);
    }
}

static void json_token_line(FILE *out, const tokenizer_t *tok, const float *logits, int n_vocab,
                            int id, int n_top, int *top) {
    float lse = sampler_logsumexp(logits, n_vocab);
    fprintf(out, "{\"id\":%d,", id);
    json_token_text(out, tok, id);
    fputs(",\"logprob\":", out);
    cli_json_number(out, (double)(logits[id] - lse));
    fputs(",\"top\":[", out);
    int n = top_ids(logits, n_vocab, n_top, top);
    for (int i = 0; i < n; i++) {
        fprintf(out, "%s{\"id\":%d,", i ? "," : "", top[i]);
        json_token_text(out, tok, top[i]);
        fputs(",\"logprob\":", out);
        cli_json_number(out, (double)(logits[top[i]] - lse));
        fputc('}', out);
    }
    fputs("]}\n", out);
}

static int run_sampling(const gen_opts_t *o, cli_model_t *cm, const int *ids, int n_ids) {
    char err[1024];
    int rc = CLI_EXIT_ERROR, n_vocab = cm->cfg.n_vocab;
    int eos = cli_eos_id(cm);
    gen_params_t gp = gen_params_default();
    gp.max_new = o->max_new;
    gp.eos_id = eos;
    gp.stop_at_eos = o->eos_stop;
    gp.n_threads = o->n_threads;
    gp.adaptive_threads = !o->threads_given; /* a count the user gave is kept */
    sampler_params_t sp = o->sp;
    sp.n_report = 0;
    plugin_host_t ph;
    plugin_host_init(&ph, &o->plugins);
    plugin_host_bind(&ph, NULL, cm->model, cm->tok, o->n_threads);
    int capture = plugin_host_capture(&ph);
    gp.capture_attn = (capture & CHAT_CAPTURE_ATTN) != 0;
    gp.capture_hidden = (capture & CHAT_CAPTURE_HIDDEN) != 0;
    float *logits = malloc((size_t)n_vocab * sizeof *logits);
    int *top = malloc((MAX_TOP + 1) * sizeof *top);
    sampler_t *smp = sampler_init(&sp, n_vocab, err, sizeof err);
    gen_t *g = smp ? gen_init(cm->model, &gp, err, sizeof err) : NULL;
    if (!logits || !top) snprintf(err, sizeof err, "out of memory");
    if (!g || !logits || !top) {
        cli_error("%s", err);
        goto done;
    }
    if (o->sampler && plugin_host_set_sampler(&ph, o->sampler, err, sizeof err) != 0) {
        cli_usage_error(CMD, "--sampler: %s", err);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    sampler_hooks_t hooks;
    if (plugin_host_hooks(&ph, &hooks) && sampler_set_hooks(smp, &hooks) != 0) {
        cli_error("out of memory");
        goto done;
    }
    /* Ctrl-C from here on ends the run at the next token boundary (after
     * the prefill if it comes during it), with the output flushed. */
    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_sa);
    if (old_sa.sa_handler == SIG_IGN) sigaction(SIGINT, &old_sa, NULL); /* nohup, cmd & */
    double t0 = clockx_now();
    /* A prompt that fills the context would make every new token slide the
     * window (a full re-prefill each time): keep room for the reply, up to
     * half the context, by dropping the oldest prompt tokens up front. */
    int n_ctx = cm->model->cfg.n_ctx;
    int room = o->max_new < n_ctx / 2 ? o->max_new : n_ctx / 2;
    if (room < 1) room = 1;
    int n_drop = n_ids > n_ctx - room ? n_ids - (n_ctx - room) : 0;
    int n_trunc = 0;
    if (gen_prefill(g, ids + n_drop, n_ids - n_drop, &n_trunc, err, sizeof err)) {
        cli_error("%s", err);
        sigaction(SIGINT, &old_sa, NULL);
        goto done;
    }
    double t_prefill = clockx_now() - t0;
    n_trunc += n_drop;
    if (n_trunc)
        fprintf(stderr, "gptscope: note: the prompt is longer than the context; using its last "
                        "%d tokens\n", n_ids - n_trunc);

    tokenizer_stream_t st;
    tokenizer_stream_init(&st, cm->tok);
    char text[4096];
    int n_gen = 0;
    gen_step_t step = {0, 0, GEN_STOP_NONE};
    double t1 = clockx_now();
    rc = CLI_EXIT_OK;
    while (o->max_new > 0 && step.stop == GEN_STOP_NONE) {
        if (interrupted) break;
        if (o->json) memcpy(logits, gen_logits(g), (size_t)n_vocab * sizeof *logits);
        if (gen_step(g, smp, NULL, &step, err, sizeof err)) {
            cli_error("%s", err);
            rc = CLI_EXIT_ERROR;
            break;
        }
        n_gen++;
        if (capture) plugin_host_observe(&ph, g);
        if (o->json) {
            json_token_line(stdout, cm->tok, logits, n_vocab, step.id, o->n_top, top);
        } else if (step.stop != GEN_STOP_EOS) {
            int k = tokenizer_stream_push(&st, step.id, text, sizeof text);
            if (k > 0) fwrite(text, 1, (size_t)k, stdout);
        }
        fflush(stdout);
        if (step.n_dropped)
            fprintf(stderr, "\ngptscope: note: context full; dropped the oldest %d tokens\n",
                    step.n_dropped);
    }
    double t_gen = clockx_now() - t1;
    if (!o->json) {
        int k = tokenizer_stream_flush(&st, text, sizeof text);
        if (k > 0) fwrite(text, 1, (size_t)k, stdout);
        fputc('\n', stdout);
    }
    fflush(stdout);
    sigaction(SIGINT, &old_sa, NULL);
    if (interrupted && rc == CLI_EXIT_OK) rc = CLI_EXIT_INTERRUPTED;
    if (o->stats)
        fprintf(stderr,
                "gptscope: stats: seed %llu; prefill %d tokens in %.1f ms (%.1f tokens/s); "
                "generated %d tokens in %.3f s (%.2f tokens/s); %d threads%s%s%s\n",
                (unsigned long long)o->sp.seed, n_ids - n_trunc, 1e3 * t_prefill,
                (n_ids - n_trunc) / (t_prefill > 0 ? t_prefill : 1e-9), n_gen, t_gen,
                n_gen / (t_gen > 0 ? t_gen : 1e-9), gen_threads_mostly(g),
                gen_threads_adaptive(g) ? " (adaptive: the count most tokens ran on)" : "",
                ph.sampler ? "; sampler " : "", ph.sampler ? ph.sampler_spec : "");
done:
    gen_free(g);
    sampler_free(smp);
    plugin_host_free(&ph);
    free(top);
    free(logits);
    return rc;
}

static int run_beams(const gen_opts_t *o, cli_model_t *cm, const int *ids, int n_ids) {
    char err[1024];
    int n_ctx = cm->cfg.n_ctx;
    if (o->max_new >= n_ctx) {
        cli_usage_error(CMD, "with --beams, -n must be below the context length %d", n_ctx);
        return CLI_EXIT_USAGE;
    }
    if (o->max_new == 0) { /* nothing to search; same output as sampling */
        if (!o->json) fputc('\n', stdout);
        return CLI_EXIT_OK;
    }
    /* Beam search does not slide: the prompt keeps its last tokens so that
     * prompt + max_new fits the context. */
    int keep = n_ctx - o->max_new;
    if (n_ids > keep) {
        fprintf(stderr, "gptscope: note: prompt + -n exceed the context; using the last %d "
                        "prompt tokens\n", keep);
        ids += n_ids - keep;
        n_ids = keep;
    }
    beam_params_t bp = {o->n_beams, o->max_new, o->length_penalty,
                        o->eos_stop ? cli_eos_id(cm) : -1, o->n_threads, NULL};
    /* Ctrl-C ends the search before its next step; the best hypotheses so
     * far are printed and the exit status is 130, as for sampling. */
    bp.stop = &interrupted;
    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_sa);
    if (old_sa.sa_handler == SIG_IGN) sigaction(SIGINT, &old_sa, NULL); /* nohup, cmd & */
    beam_result_t res;
    memset(&res, 0, sizeof res);
    double t0 = clockx_now();
    int failed = beam_search(cm->model, ids, n_ids, &bp, &res, err, sizeof err);
    sigaction(SIGINT, &old_sa, NULL);
    if (failed) {
        cli_error("%s", err);
        return CLI_EXIT_ERROR;
    }
    double t = clockx_now() - t0;
    int rc = res.interrupted ? CLI_EXIT_INTERRUPTED : CLI_EXIT_OK;
    if (res.interrupted)
        fprintf(stderr, "gptscope: note: beam search interrupted; the best hypothesis so far:\n");
    if (res.n_hyps == 0 && !o->json) fputc('\n', stdout);
    int eos = cli_eos_id(cm);
    for (int h = 0; h < res.n_hyps && (o->json || h == 0); h++) {
        const beam_hyp_t *hyp = &res.hyps[h];
        int n = hyp->n;
        if (o->eos_stop && n > 0 && hyp->ids[n - 1] == eos) n--; /* eos is not text */
        size_t len = 0;
        char *text = tokenizer_decode(cm->tok, hyp->ids, (size_t)n, &len, err, sizeof err);
        if (!text) {
            cli_error("%s", err);
            rc = CLI_EXIT_ERROR;
            break;
        }
        if (o->json) {
            printf("{\"rank\":%d,\"ids\":[", h);
            for (int i = 0; i < hyp->n; i++) printf("%s%d", i ? "," : "", hyp->ids[i]);
            fputs("],\"text\":", stdout);
            cli_json_string(stdout, text, len);
            fputs(",\"sum_logprob\":", stdout);
            cli_json_number(stdout, hyp->sum_logprob);
            fputs(",\"score\":", stdout);
            cli_json_number(stdout, hyp->score);
            fputs(res.interrupted ? ",\"interrupted\":true}\n" : "}\n", stdout);
        } else {
            fwrite(text, 1, len, stdout);
            fputc('\n', stdout);
        }
        free(text);
    }
    fflush(stdout);
    if (o->stats)
        fprintf(stderr, "gptscope: stats: beam search (%d beams, %d prompt tokens) in %.3f s\n",
                o->n_beams, n_ids, t);
    beam_result_free(&res);
    return rc;
}

int cmd_generate(int argc, char **argv) {
    gen_opts_t o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    char err[1024];
    if (sampler_params_check(&o.sp, err, sizeof err)) {
        cli_usage_error(CMD, "%s", err);
        return CLI_EXIT_USAGE;
    }
    cli_model_t cm;
    if (cli_model_open(&cm, o.model_dir, 1)) return CLI_EXIT_ERROR;
    int *ids = NULL;
    size_t n_ids = 0;
    rc = CLI_EXIT_ERROR;
    if (prompt_ids(&o, &cm, &ids, &n_ids)) goto done;
    if (n_ids == 0) {
        /* GPT-2 was trained with <|endoftext|> between documents, so it is
         * the natural "start of text"; GPT-1 has no such token. */
        int eos = cli_eos_id(&cm);
        if (eos < 0) {
            cli_error("the prompt is empty (and this model has no end-of-text token to start "
                      "from)");
            goto done;
        }
        free(ids);
        ids = malloc(sizeof *ids);
        if (!ids) {
            cli_error("out of memory");
            goto done;
        }
        ids[0] = eos;
        n_ids = 1;
    }
    if (n_ids > (size_t)1 << 30) {
        cli_error("prompt: too many tokens");
        goto done;
    }
    rc = o.n_beams > 1 ? run_beams(&o, &cm, ids, (int)n_ids) : run_sampling(&o, &cm, ids, (int)n_ids);
done:
    free(ids);
    cli_model_close(&cm);
    return rc;
}
