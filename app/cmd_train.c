/* cmd_train.c - `gptscope train`: raw text in, a Hugging Face model directory
 * out. Learns a BPE vocabulary first when no tokenizer is given, tokenizes
 * the text once (cached), trains (core/train/trainer.h), shows progress, and saves
 * checkpoints that --resume continues bit for bit. Ctrl-C saves and exits. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpe_train.h"
#include "cli.h"
#include "dataset.h"
#include "trainer.h"
#include "trainer_opts.h"

#define CMD "train"
#define TRAIN_MAX_FILES 256

const char cmd_train_help[] =
    "usage: gptscope train --data FILE... -o DIR [model] [schedule] [options]\n"
    "       gptscope train --resume DIR [--steps N] [--stop-after N] [--threads N]\n"
    "\n"
    "Pre-trains a GPT on raw text and writes a Hugging Face model directory\n"
    "(config.json, model.safetensors, vocab.json, merges.txt) that every other\n"
    "command, and transformers, loads. The last --val-frac of the text (cut at a\n"
    "line break) is held out for validation and written to DIR/val.txt, so\n"
    "'gptscope eval -m DIR DIR/val.txt' reproduces the validation figure.\n"
    "\n"
    "data:\n"
    "  -d, --data FILE       training text (repeat, or list files after the options)\n"
    "      --val FILE        explicit validation text (repeatable) instead of a split\n"
    "      --val-frac F      fraction held out for validation (default 0.1)\n"
    "  -o, --out DIR         output directory: checkpoints, token cache, val.txt\n"
    "model (a new one unless --init):\n"
    "      --family gpt2|gpt1  pre-norm GPT-2 (default) or post-norm GPT-1 blocks\n"
    "      --layers N --heads N --embd N --ctx N   shape (default 6, 6, 384, 256)\n"
    "      --vocab-size N    BPE vocabulary learned from the training text (default 4096)\n"
    "      --tokenizer DIR   use DIR's vocab.json + merges.txt instead of learning one\n"
    "      --init DIR        continue training an existing model (its shape and tokenizer)\n"
    "schedule:\n"
    "      --steps N         optimiser steps (default 1000)\n"
    "      --batch B         sequences per micro-batch (default 8)\n"
    "      --seq T           tokens per sequence (default: the context)\n"
    "      --accum N         micro-batches per step (gradient accumulation, default 1)\n"
    "      --lr LR           peak learning rate (default 1e-3)\n"
    "      --min-lr LR       floor of the cosine decay (default lr/10)\n"
    "      --warmup N        linear warm-up steps (default 100)\n"
    "      --wd W            AdamW weight decay on matrices and embeddings (default 0.1)\n"
    "      --no-wd-embed     no weight decay on the embedding tables\n"
    "      --beta2 B         AdamW beta2 (default 0.95; beta1 0.9, eps 1e-8)\n"
    "      --grad-clip C     clip the global gradient norm to C, 0 = off (default 1)\n"
    "      --dropout P       embedding, attention and residual dropout (default 0.1)\n"
    "      --bpe-dropout P   re-tokenize the training text every epoch, skipping each\n"
    "                        merge with probability P (validation: normal encoding)\n"
    "      --no-scaled-init  plain N(0, 0.02) for the residual projections too\n"
    "      --seed S          initialisation, batches and dropout (default 1)\n"
    "run:\n"
    "      --eval-every N    validation every N steps (default 250, 0 = only at the end)\n"
    "      --eval-tokens N   validation tokens per evaluation (default: all)\n"
    "      --save-every N    checkpoint every N steps (default 500; always at the end)\n"
    "      --save-dtype T    f32 (default), f16 or bf16 for model.safetensors\n"
    "      --bf16            mixed precision: products in bfloat16 on AMX or AVX512-BF16\n"
    "                        (f32 weights, gradients and optimiser)\n"
    "      --keep-best       also write the model with the lowest validation loss so far\n"
    "                        to OUT/best/ (HF layout, with best.json naming the step)\n"
    "      --ema D           validate and save a moving average of the weights (decay\n"
    "                        D, e.g. 0.998: avg += (1-D)(w - avg) after each step)\n"
    "      --muon LR         Muon (momentum orthogonalised by Newton-Schulz) for the\n"
    "                        blocks' matrices at peak rate LR (e.g. 0.01); rest AdamW\n"
    "      --muon-wd W, --muon-momentum B, --muon-ns N   its weight decay (0.1),\n"
    "                        Nesterov momentum (0.95), rounds (5; on AMX with --bf16)\n"
    "      --resume DIR      continue the run saved in DIR exactly where it stopped\n"
    "      --stop-after N    save and stop after step N (resume later; the schedule\n"
    "                        still runs to --steps)\n"
    "  -t, --threads N       threads (default: all cores; --resume: the run's)\n"
    "  -h, --help            this help\n"
    "\n"
    "Progress: one updating line on a terminal (step, loss, val loss and bits per\n"
    "byte, lr, tokens/s, ETA), log lines otherwise. Ctrl-C saves a checkpoint and\n"
    "exits with 130; a NaN/inf loss stops (exit 1) and keeps the last checkpoint.\n";

/* The signal handler's only channel to the loop. */
static volatile sig_atomic_t train_stop;

static void train_on_sigint(int sig) {
    (void)sig;
    train_stop = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends the process at once */
}

typedef struct train_view {
    int tty;
    int64_t every;
    double last_val_loss, last_val_bpb;
} train_view_t;

static void train_fmt_time(char *buf, size_t n, double s) {
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
}

static void train_progress(void *user, const trainer_progress_t *p) {
    train_view_t *v = user;
    if (p->evaluated) {
        v->last_val_loss = p->val_loss;
        v->last_val_bpb = p->val_bpb;
    }
    char eta[32], el[32], val[64] = "";
    train_fmt_time(eta, sizeof(eta), p->eta_s);
    train_fmt_time(el, sizeof(el), p->elapsed_s);
    if (isfinite(v->last_val_loss))
        snprintf(val, sizeof(val), " | val %.4f (%.3f bpb)", v->last_val_loss, v->last_val_bpb);
    if (v->tty) {
        /* one line that must not wrap, or \r would no longer return to its start */
        char line[256];
        snprintf(line, sizeof(line), "step %lld/%lld | loss %.4f%s | lr %.2e | %.0f tok/s | ETA %s",
                 (long long)p->step, (long long)p->steps, p->loss, val, p->lr, p->tokens_per_s,
                 eta);
        struct winsize ws;
        if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && strlen(line) >= ws.ws_col) {
            /* narrow terminal: the figures that matter most, tersely */
            char cval[64] = "";
            if (isfinite(v->last_val_loss))
                snprintf(cval, sizeof(cval), " val %.3f %.2fbpb", v->last_val_loss,
                         v->last_val_bpb);
            snprintf(line, sizeof(line), "%lld/%lld loss %.3f%s %.0ft/s ETA %s",
                     (long long)p->step, (long long)p->steps, p->loss, cval, p->tokens_per_s, eta);
            if (ws.ws_col <= sizeof(line)) line[ws.ws_col - 1] = 0;
        }
        fprintf(stderr, "\r\033[K%s", line);
        if (p->evaluated || p->saved || p->step == p->steps) fputc('\n', stderr);
        if (p->message && p->saved && p->step == p->steps) fprintf(stderr, "%s\n", p->message);
    } else if (p->step % v->every == 0 || p->evaluated || p->step == p->steps) {
        fprintf(stderr,
                "step %lld/%lld loss %.4f%s lr %.3e grad_norm %.3f %.0f tok/s elapsed %s ETA %s\n",
                (long long)p->step, (long long)p->steps, p->loss,
                p->evaluated ? val : "", p->lr, p->grad_norm, p->tokens_per_s, el, eta);
        if (p->message) fprintf(stderr, "%s\n", p->message);
    }
    fflush(stderr);
}

static void train_bpe_progress(void *user, int done, int total) {
    int *tty = user;
    if (*tty) fprintf(stderr, "\r\033[Klearning the vocabulary: %d/%d merges", done, total);
    if (*tty && done == total) fputc('\n', stderr);
}

static char *train_data_desc(const char *const *files, int nf, const char *const *val, int nv,
                             double val_frac) {
    cJSON *j = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(j, "files");
    for (int i = 0; i < nf; i++) cJSON_AddItemToArray(a, cJSON_CreateString(files[i]));
    cJSON *b = cJSON_AddArrayToObject(j, "val_files");
    for (int i = 0; i < nv; i++) cJSON_AddItemToArray(b, cJSON_CreateString(val[i]));
    cJSON_AddNumberToObject(j, "val_frac", val_frac);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

/* Reads the data description back (for --resume). Strings point into *root. */
static int train_data_parse(const char *desc, cJSON **root, const char **files, int *nf,
                            const char **val, int *nv, double *val_frac) {
    cJSON *j = cJSON_Parse(desc);
    if (!j) return -1;
    *nf = *nv = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "files")) {
        if (cJSON_IsString(it) && *nf < TRAIN_MAX_FILES) files[(*nf)++] = it->valuestring;
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "val_files")) {
        if (cJSON_IsString(it) && *nv < TRAIN_MAX_FILES) val[(*nv)++] = it->valuestring;
    }
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "val_frac");
    *val_frac = cJSON_IsNumber(f) ? f->valuedouble : 0.1;
    *root = j;
    return *nf > 0 ? 0 : -1;
}

enum {
    OPT_VAL = CLI_OPT_FIRST_COMMAND_OPT, OPT_VAL_FRAC, OPT_FAMILY, OPT_LAYERS, OPT_HEADS,
    OPT_EMBD, OPT_CTX, OPT_VOCAB, OPT_TOKENIZER, OPT_INIT, OPT_STEPS, OPT_BATCH, OPT_SEQ,
    OPT_ACCUM, OPT_LR, OPT_MIN_LR, OPT_WARMUP, OPT_WD, OPT_NO_WD_EMBED, OPT_BETA2, OPT_CLIP,
    OPT_DROPOUT, OPT_BPE_DROPOUT, OPT_NO_SCALED, OPT_SEED, OPT_EVAL_EVERY, OPT_EVAL_TOKENS, OPT_SAVE_EVERY,
    OPT_SAVE_DTYPE, OPT_RESUME, OPT_STOP_AFTER, OPT_BF16,
    OPT_KEEP_BEST,
    OPT_EMA,
    OPT_MUON,
    OPT_MUON_WD,
    OPT_MUON_MOM,
    OPT_MUON_NS
};

/* A numeric flag parsed with its range from the table that train_state.json
 * is checked against too (trainer_opts.h), stored into o. */
static int tr_flag(const char *key, const char *arg, trainer_opts_t *o) {
    const trainer_opt_range_t *r = trainer_opt_find(key);
    char flag[48];
    snprintf(flag, sizeof flag, "--%s", key);
    if (r->type == TRO_FLOAT) {
        float f;
        if (cli_parse_float(CMD, flag, arg, r->lo, r->lo_open, r->hi, r->hi_open, &f) != 0)
            return -1;
        trainer_opt_store(r, o, f);
    } else {
        int v;
        if (cli_parse_int(CMD, flag, arg, (long)r->lo, (long)r->hi, &v) != 0) return -1;
        trainer_opt_store(r, o, v);
    }
    return 0;
}

int cmd_train(int argc, char **argv) {
    static const struct option longopts[] = {
        {"data", required_argument, 0, 'd'}, {"out", required_argument, 0, 'o'},
        {"val", required_argument, 0, OPT_VAL}, {"val-frac", required_argument, 0, OPT_VAL_FRAC},
        {"family", required_argument, 0, OPT_FAMILY},
        {"layers", required_argument, 0, OPT_LAYERS}, {"heads", required_argument, 0, OPT_HEADS},
        {"embd", required_argument, 0, OPT_EMBD}, {"ctx", required_argument, 0, OPT_CTX},
        {"vocab-size", required_argument, 0, OPT_VOCAB},
        {"tokenizer", required_argument, 0, OPT_TOKENIZER},
        {"init", required_argument, 0, OPT_INIT}, {"steps", required_argument, 0, OPT_STEPS},
        {"batch", required_argument, 0, OPT_BATCH}, {"seq", required_argument, 0, OPT_SEQ},
        {"accum", required_argument, 0, OPT_ACCUM}, {"lr", required_argument, 0, OPT_LR},
        {"min-lr", required_argument, 0, OPT_MIN_LR},
        {"warmup", required_argument, 0, OPT_WARMUP}, {"wd", required_argument, 0, OPT_WD},
        {"no-wd-embed", no_argument, 0, OPT_NO_WD_EMBED},
        {"beta2", required_argument, 0, OPT_BETA2},
        {"grad-clip", required_argument, 0, OPT_CLIP},
        {"dropout", required_argument, 0, OPT_DROPOUT},
        {"bpe-dropout", required_argument, 0, OPT_BPE_DROPOUT},
        {"no-scaled-init", no_argument, 0, OPT_NO_SCALED},
        {"seed", required_argument, 0, OPT_SEED},
        {"eval-every", required_argument, 0, OPT_EVAL_EVERY},
        {"eval-tokens", required_argument, 0, OPT_EVAL_TOKENS},
        {"save-every", required_argument, 0, OPT_SAVE_EVERY},
        {"save-dtype", required_argument, 0, OPT_SAVE_DTYPE},
        {"resume", required_argument, 0, OPT_RESUME},
        {"stop-after", required_argument, 0, OPT_STOP_AFTER},
        {"bf16", no_argument, 0, OPT_BF16},
        {"keep-best", no_argument, 0, OPT_KEEP_BEST},
        {"ema", required_argument, 0, OPT_EMA},
        {"muon", required_argument, 0, OPT_MUON},
        {"muon-wd", required_argument, 0, OPT_MUON_WD},
        {"muon-momentum", required_argument, 0, OPT_MUON_MOM},
        {"muon-ns", required_argument, 0, OPT_MUON_NS},
        {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    trainer_opts_t o;
    trainer_opts_default(&o);
    const char *files[TRAIN_MAX_FILES], *val_files[TRAIN_MAX_FILES];
    int n_files = 0, n_val = 0, threads = 0, steps_set = 0;
    float val_frac = 0.1f;
    const char *out = NULL, *tok_dir = NULL, *init_dir = NULL, *resume = NULL;
    int c, iv;
    uint64_t uv;
    opterr = 0;
    optind = 1;
#define NEED(expr)                      \
    do {                                \
        if ((expr) != 0) return CLI_EXIT_USAGE; \
    } while (0)
    while ((c = getopt_long(argc, argv, ":d:o:t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
        case OPT_VAL:
            if ((c == 'd' ? n_files : n_val) >= TRAIN_MAX_FILES) {
                cli_usage_error(CMD, "at most %d files", TRAIN_MAX_FILES);
                return CLI_EXIT_USAGE;
            }
            if (c == 'd') files[n_files++] = optarg;
            else val_files[n_val++] = optarg;
            break;
        case 'o': out = optarg; break;
        case OPT_VAL_FRAC: NEED(cli_parse_float(CMD, "--val-frac", optarg, 0, 0, 0.5, 0, &val_frac)); break;
        case OPT_FAMILY:
            if (strcmp(optarg, "gpt2") && strcmp(optarg, "gpt1")) {
                cli_usage_error(CMD, "--family must be gpt2 or gpt1, not '%s'", optarg);
                return CLI_EXIT_USAGE;
            }
            o.gpt1 = strcmp(optarg, "gpt1") == 0;
            break;
        case OPT_LAYERS: NEED(tr_flag("layers", optarg, &o)); break;
        case OPT_HEADS: NEED(tr_flag("heads", optarg, &o)); break;
        case OPT_EMBD: NEED(tr_flag("embd", optarg, &o)); break;
        case OPT_CTX: NEED(tr_flag("ctx", optarg, &o)); break;
        case OPT_VOCAB: NEED(tr_flag("vocab-size", optarg, &o)); break;
        case OPT_TOKENIZER: tok_dir = optarg; break;
        case OPT_INIT: init_dir = optarg; break;
        case OPT_STEPS:
            NEED(tr_flag("steps", optarg, &o));
            steps_set = 1;
            break;
        case OPT_BATCH: NEED(tr_flag("batch", optarg, &o)); break;
        case OPT_SEQ: NEED(tr_flag("seq", optarg, &o)); break;
        case OPT_ACCUM: NEED(tr_flag("accum", optarg, &o)); break;
        case OPT_LR: NEED(tr_flag("lr", optarg, &o)); break;
        case OPT_MIN_LR: NEED(tr_flag("min-lr", optarg, &o)); break;
        case OPT_WARMUP:
            NEED(tr_flag("warmup", optarg, &o));
            break;
        case OPT_WD: NEED(tr_flag("wd", optarg, &o)); break;
        case OPT_NO_WD_EMBED: o.decay_embeddings = 0; break;
        case OPT_BETA2: NEED(tr_flag("beta2", optarg, &o)); break;
        case OPT_CLIP: NEED(tr_flag("grad-clip", optarg, &o)); break;
        case OPT_DROPOUT: NEED(tr_flag("dropout", optarg, &o)); break;
        case OPT_BPE_DROPOUT:
            NEED(tr_flag("bpe-dropout", optarg, &o));
            break;
        case OPT_NO_SCALED: o.scaled_residual = 0; break;
        case OPT_SEED: NEED(cli_parse_u64(CMD, "--seed", optarg, &uv)); o.seed = uv; break;
        case OPT_EVAL_EVERY:
            NEED(tr_flag("eval-every", optarg, &o));
            break;
        case OPT_EVAL_TOKENS:
            NEED(tr_flag("eval-tokens", optarg, &o));
            break;
        case OPT_SAVE_EVERY:
            NEED(tr_flag("save-every", optarg, &o));
            break;
        case OPT_SAVE_DTYPE:
            if (!strcmp(optarg, "f32")) o.save_dtype = KERNEL_F32;
            else if (!strcmp(optarg, "f16")) o.save_dtype = KERNEL_F16;
            else if (!strcmp(optarg, "bf16")) o.save_dtype = KERNEL_BF16;
            else {
                cli_usage_error(CMD, "--save-dtype must be f32, f16 or bf16, not '%s'", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_RESUME: resume = optarg; break;
        case OPT_BF16: o.bf16 = 1; break;
        case OPT_KEEP_BEST: o.keep_best = 1; break;
        case OPT_EMA: NEED(tr_flag("ema", optarg, &o)); break;
        case OPT_MUON: NEED(tr_flag("muon", optarg, &o)); break;
        case OPT_MUON_WD:
            NEED(tr_flag("muon-wd", optarg, &o));
            break;
        case OPT_MUON_MOM:
            NEED(tr_flag("muon-momentum", optarg, &o));
            break;
        case OPT_MUON_NS: NEED(tr_flag("muon-ns", optarg, &o)); break;
        case OPT_STOP_AFTER:
            NEED(cli_parse_int(CMD, "--stop-after", optarg, 1, 1 << 30, &iv));
            o.stop_after = iv;
            break;
        case 't': {
            const trainer_opt_range_t *r = trainer_opt_find("threads");
            NEED(cli_parse_int(CMD, "--threads", optarg, (long)r->lo, (long)r->hi, &threads));
            break;
        }
        case 'h': fputs(cmd_train_help, stdout); return CLI_EXIT_OK;
        default: cli_bad_option(CMD, c, optopt, argv, optind); return CLI_EXIT_USAGE;
        }
    }
#undef NEED
    for (int i = optind; i < argc; i++) {
        if (n_files >= TRAIN_MAX_FILES) {
            cli_usage_error(CMD, "at most %d files", TRAIN_MAX_FILES);
            return CLI_EXIT_USAGE;
        }
        files[n_files++] = argv[i];
    }
    if (!resume && n_files == 0) {
        cli_usage_error(CMD, "no training text: give --data FILE (or --resume DIR)");
        return CLI_EXIT_USAGE;
    }
    if (!resume && !out) {
        cli_usage_error(CMD, "no output directory: give -o DIR");
        return CLI_EXIT_USAGE;
    }
    if (tok_dir && init_dir) {
        cli_usage_error(CMD, "--tokenizer and --init both give a tokenizer; use one");
        return CLI_EXIT_USAGE;
    }
    if (o.gpt1 && o.bpe_dropout > 0) {
        cli_usage_error(CMD, "--bpe-dropout needs the GPT-2 byte-level tokenizer, not --family gpt1");
        return CLI_EXIT_USAGE;
    }
    if (o.n_embd % o.n_head != 0) {
        cli_usage_error(CMD, "--embd %d is not divisible by --heads %d", o.n_embd, o.n_head);
        return CLI_EXIT_USAGE;
    }
    int threads_set = threads > 0; /* a resume keeps the run's count unless told */
    if (threads <= 0) threads = cli_default_threads();

    char err[4400];
    int rc = CLI_EXIT_ERROR, tty = isatty(2), made_dir = 0;
    tokenizer_t *tok = NULL;
    gpt_model_t *init = NULL;
    trainer_t *t = NULL;
    dataset_t data = {0};
    cJSON *desc_root = NULL;
    char *desc = NULL, cache[4200], valtxt[4200], dir[4096];
    gpt_config_t cfg = {0};
    uint64_t saved_key = 0;
    int saved_threads = 0;
    float bpe_dropout = o.bpe_dropout; /* the run's: a resume keeps its own */

    if (resume) {
        int64_t step0;
        trainer_opts_t saved;
        if (trainer_read_state(resume, &saved, &desc, &step0, &saved_key, NULL, err,
                               sizeof(err)) != 0) {
            cli_error("%s", err);
            return CLI_EXIT_ERROR;
        }
        double vf;
        if (train_data_parse(desc, &desc_root, files, &n_files, val_files, &n_val, &vf) != 0) {
            cli_error("%s/train_state.json: no training files recorded", resume);
            goto done;
        }
        val_frac = (float)vf;
        saved_threads = saved.threads;
        bpe_dropout = saved.bpe_dropout;
        snprintf(dir, sizeof(dir), "%s", resume);
        snprintf(cfg.model_type, sizeof(cfg.model_type), "%s", saved.gpt1 ? "openai-gpt" : "gpt2");
    } else {
        snprintf(dir, sizeof(dir), "%s", out);
        desc = train_data_desc(files, n_files, val_files, n_val, val_frac);
    }
    dataset_opts_t dopts = {files, n_files, val_files, n_val, val_frac, NULL, NULL, NULL, 0};
    /* the tokenizer: the checkpoint's, --init's, --tokenizer's, or learned now */
    const char *tdir = resume ? resume : init_dir ? init_dir : tok_dir;
    char **texts = NULL;
    size_t *lens = NULL;
    if (!tdir) {
        /* read (and refuse empty text) before anything is created or written */
        if (dataset_train_texts(&dopts, &texts, &lens, err, sizeof(err)) != 0) {
            cli_error("%s", err);
            goto done;
        }
        size_t total = 0;
        for (int i = 0; i < n_files; i++) total += lens[i];
        if (total == 0) {
            dataset_texts_free(texts, lens, n_files);
            /* texts hold only the training part: a tiny file may be all validation */
            struct stat sb;
            if (stat(files[0], &sb) == 0 && sb.st_size > 0 && n_files == 1)
                cli_error("%s: the text (%lld bytes) is too short to split off a validation part "
                          "and still train (--val-frac 0 trains on all of it)",
                          files[0], (long long)sb.st_size);
            else
                cli_error("%s: the training text is empty", files[0]);
            goto done;
        }
    }
    if (access(dir, F_OK) != 0) {
        if (mkdir(dir, 0755) != 0) {
            cli_error("%s: cannot create directory: %s", dir, strerror(errno));
            dataset_texts_free(texts, lens, n_files);
            goto done;
        }
        made_dir = 1;
    }
    snprintf(cache, sizeof(cache), "%s/tokens.cache", dir);
    snprintf(valtxt, sizeof(valtxt), "%s/val.txt", dir);
    dopts.cache_path = cache;
    dopts.val_text_path = valtxt;
    dopts.keep_text = bpe_dropout > 0;

    if (!tdir) {
        bpe_train_opts_t bo = {o.vocab_size, 2, train_bpe_progress, &tty};
        if (!tty) fprintf(stderr, "learning a %d-token BPE vocabulary\n", o.vocab_size);
        int got = bpe_train((const char *const *)texts, lens, files, n_files, &bo, dir, err,
                            sizeof(err));
        dataset_texts_free(texts, lens, n_files);
        if (got < 0) {
            cli_error("%s", err);
            goto done;
        }
        fprintf(stderr, "vocabulary: %d tokens, saved to %s/vocab.json and merges.txt\n", got,
                dir);
        o.vocab_size = got;
        tdir = dir;
    }
    int gpt1_tok = o.gpt1;
    if (init_dir) {
        init = gpt_load(init_dir, err, sizeof(err));
        if (!init) {
            cli_error("%s", err);
            goto done;
        }
        cfg = init->cfg;
        gpt1_tok = !cfg.pre_norm;
    } else if (resume) {
        char p[4300];
        snprintf(p, sizeof(p), "%s/config.json", resume);
        if (gpt_config_load(&cfg, p, err, sizeof(err)) != 0) {
            cli_error("%s", err);
            goto done;
        }
        gpt1_tok = !cfg.pre_norm;
    }
    if (gpt1_tok && bpe_dropout > 0) {
        cli_error("--bpe-dropout: only the GPT-2 (byte-level) tokenizer supports it");
        goto done;
    }
    tok = tokenizer_load(tdir, gpt1_tok ? TOKENIZER_GPT1 : TOKENIZER_GPT2, err, sizeof(err));
    if (!tok) {
        cli_error("%s", err);
        goto done;
    }
    dopts.tokenizer_dir = tdir;
    if (dataset_load(&data, tok, &dopts, err, sizeof(err)) != 0) {
        cli_error("%s", err);
        goto done;
    }
    fprintf(stderr, "data: %zu training tokens, %zu validation tokens (%s%s%s)\n", data.n_train,
            data.n_val,
            data.cache == DATASET_CACHE_REUSED ? "token cache reused" : "tokenized, cache written",
            data.cache == DATASET_CACHE_REBUILT ? "; the old cache: " : "",
            data.cache == DATASET_CACHE_REBUILT ? data.cache_note : "");
    if (resume && threads_set && threads != saved_threads)
        fprintf(stderr, "note: %s was trained with %d threads; with %d the sums split "
                        "differently, so the run will not repeat bit for bit\n",
                resume, saved_threads, threads);
    if (resume && saved_key != 0 && saved_key != data.key)
        fprintf(stderr, "note: the text or the tokenizer changed since %s was saved; training "
                        "goes on with the new data (not a bit-for-bit continuation)\n", resume);

    if (resume) {
        t = trainer_resume(resume, steps_set ? o.steps : 0, threads_set ? threads : 0, &data,
                           tok, err, sizeof(err));
        if (t) trainer_set_stop_after(t, o.stop_after);
    } else {
        if (!init) {
            snprintf(cfg.model_type, sizeof(cfg.model_type), "%s", o.gpt1 ? "openai-gpt" : "gpt2");
            cfg.n_layer = o.n_layer;
            cfg.n_head = o.n_head;
            cfg.n_embd = o.n_embd;
            cfg.n_ctx = o.n_ctx;
            cfg.n_vocab = tokenizer_vocab_size(tok);
            cfg.n_inner = 4 * o.n_embd;
            cfg.ln_eps = 1e-5f;
            cfg.pre_norm = !o.gpt1;
            cfg.final_ln = !o.gpt1;
            cfg.eos_id = tokenizer_eot_id(tok);
        } else {
            o.n_layer = cfg.n_layer, o.n_head = cfg.n_head, o.n_embd = cfg.n_embd;
            o.n_ctx = cfg.n_ctx, o.gpt1 = !cfg.pre_norm;
        }
        o.vocab_size = cfg.n_vocab;
        o.threads = threads;
        t = trainer_init(&o, &cfg, init, &data, tok, tdir, dir, desc, err, sizeof(err));
    }
    if (!t) {
        cli_error("%s", err);
        goto done;
    }
    const trainer_opts_t *ro = trainer_get_opts(t);
    fprintf(stderr,
            "training %s: %d layers x %d, %d heads, context %d, vocabulary %d, %.2f M parameters;"
            " batch %d x %d x %d, %lld steps from step %lld, %d threads\n",
            cfg.pre_norm ? "gpt2" : "gpt1", cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.n_ctx,
            cfg.n_vocab, (double)gpt_config_n_params(&cfg) * 1e-6, ro->batch, ro->accum,
            ro->seq > 0 ? ro->seq : cfg.n_ctx, (long long)ro->steps, (long long)trainer_step(t),
            ro->threads);
    train_view_t view = {tty, ro->steps / 100 > 0 ? ro->steps / 100 : 1, NAN, NAN};
    train_stop = 0;
    signal(SIGINT, train_on_sigint);
    signal(SIGTERM, train_on_sigint);
    trainer_status_t st = trainer_run(t, &train_stop, train_progress, &view, err, sizeof(err));
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (tty) fputc('\n', stderr);
    switch (st) {
    case TRAINER_DONE:
        fprintf(stderr, "done: %lld steps; model saved to %s", (long long)trainer_step(t), dir);
        if (isfinite(view.last_val_loss))
            fprintf(stderr, "; validation loss %.4f nats/token, %.4f bits per byte",
                    view.last_val_loss, view.last_val_bpb);
        fputc('\n', stderr);
        rc = CLI_EXIT_OK;
        break;
    case TRAINER_PAUSED:
        fprintf(stderr, "paused after step %lld (--stop-after); checkpoint saved to %s; continue "
                        "with 'gptscope train --resume %s'\n",
                (long long)trainer_step(t), dir, dir);
        rc = CLI_EXIT_OK;
        break;
    case TRAINER_STOPPED:
        fprintf(stderr, "interrupted: checkpoint saved to %s at step %lld; continue with "
                        "'gptscope train --resume %s'\n",
                dir, (long long)trainer_step(t), dir);
        rc = CLI_EXIT_INTERRUPTED;
        break;
    case TRAINER_DIVERGED:
    case TRAINER_ERROR:
        cli_error("%s", err);
        rc = CLI_EXIT_ERROR;
        break;
    }
done:
    /* a directory made by this run that a failure left empty goes again */
    if (made_dir && rc != CLI_EXIT_OK && rc != CLI_EXIT_INTERRUPTED) rmdir(dir);
    trainer_free(t);
    dataset_free(&data);
    tokenizer_free(tok);
    gpt_free(init);
    cJSON_Delete(desc_root);
    free(desc);
    return rc;
}
