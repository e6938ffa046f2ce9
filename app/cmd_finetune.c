/* cmd_finetune.c - `gptscope finetune`: GPT-1's supervised fine-tuning
 * (core/train/finetune.h) from the command line. The output directory is a model
 * directory like any other (config.json with "gptscope_task", weights with
 * clf.*, vocab.json with the three special tokens, merges.txt), written
 * whenever validation accuracy is the best so far. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "fileio.h"
#include "finetune.h"
#include "finetune_pretrain.h"

#define CMD "finetune"

const char cmd_finetune_help[] =
    "usage: gptscope finetune --task TASK --train FILE [--valid FILE] -o DIR [options]\n"
    "\n"
    "GPT-1's supervised fine-tuning: the model (--init, default the bundled one)\n"
    "gets three special tokens (start, delimiter, extract) and a linear head on\n"
    "the final hidden state at the extract token, and is trained on labelled\n"
    "JSONL (see 'gptscope help baseline-nb' for the formats) with the language-\n"
    "modelling loss kept as an auxiliary objective: L = L_task + lm_coef * L_lm.\n"
    "Validation accuracy (and F1) after every epoch; DIR holds the best model.\n"
    "\n"
    "      --init DIR     model to start from (default: $GPTSCOPE_MODEL, bundled)\n"
    "      --task TASK    classify, entail, similar or choice\n"
    "      --train FILE   labelled examples to train on\n"
    "      --valid FILE   labelled examples to validate on (same labels)\n"
    "  -o, --out DIR      where the fine-tuned model is written\n"
    "      --lr X         peak learning rate (6.25e-5)\n"
    "      --batch N      examples per step (32)\n"
    "      --micro N      examples per forward pass; gradients accumulate (8)\n"
    "      --epochs N     passes over --train (3)\n"
    "      --steps N      optimiser steps instead of epochs\n"
    "      --warmup F     linear warm-up over this fraction of the steps (0.002),\n"
    "                     then linear decay to 0\n"
    "      --lm-coef X    weight of the auxiliary LM loss (0.5; 0 = none)\n"
    "      --max-len N    tokens per sequence, longer texts are cut (128, <= n_ctx)\n"
    "      --seed N       shuffling, dropout and the new weights (1)\n"
    "      --pretrain S   the unsupervised stage first: auto (when the model reads\n"
    "                     the training text at more than 3 bits per byte), off, or\n"
    "                     a number of steps; see below\n"
    "      --pretrain-lr X  its peak learning rate (5e-4)\n"
    "      --from-scratch the paper's \"no pre-training\" ablation: the same shape and\n"
    "                     tokenizer with random weights, no unsupervised stage\n"
    "      --precision P  auto (bf16 where the CPU has AMX or AVX512-BF16, else\n"
    "                     f32), f32 or bf16: the matrix products' inputs; weights,\n"
    "                     gradients and the optimiser stay f32\n"
    "  -t, --threads N    threads (default: all cores)\n"
    "  -h, --help         this help\n"
    "\n"
    "The unsupervised stage is GPT-1's pre-training continued on the text of the\n"
    "training examples (labels unused): 'gptscope train --init MODEL' into\n"
    "DIR/pretrain (the log shows the command), about one pass over the text, at\n"
    "most 600 steps of 8 x 256 tokens; the supervised stage then starts from it.\n"
    "Running the same command again reuses a finished stage or resumes it.\n";

enum {
    OPT_INIT = CLI_OPT_FIRST_COMMAND_OPT, OPT_TASK, OPT_TRAIN, OPT_VALID, OPT_LR, OPT_BATCH,
    OPT_MICRO, OPT_EPOCHS, OPT_STEPS, OPT_WARMUP, OPT_LMCOEF, OPT_MAXLEN, OPT_SEED,
    OPT_PRECISION, OPT_PRETRAIN, OPT_PRETRAIN_LR,
    OPT_FROM_SCRATCH
};

typedef struct ft_ctx {
    const char *out;
    int saved, interactive;
    double best_acc, best_f1;
    int best_epoch;
    char err[1024];
} ft_ctx_t;

static volatile sig_atomic_t ft_stop_flag;
static void ft_on_sigint(int sig) {
    (void)sig;
    ft_stop_flag = 1;
}

static int ft_progress(void *user, const train_model_t *m, const finetune_report_t *r) {
    ft_ctx_t *c = user;
    if (r->validated) {
        fprintf(stderr, "%sepoch %d: valid accuracy %.4f, F1 %.4f%s\n", c->interactive ? "\r\033[K" : "",
                r->epoch, r->accuracy, r->f1, r->is_best ? " (best so far: saved)" : "");
        if (r->is_best) {
            if (train_model_save(m, c->out, KERNEL_F32, c->err, sizeof c->err) != 0) return -1;
            c->saved = 1;
            c->best_acc = r->accuracy;
            c->best_f1 = r->f1;
            c->best_epoch = r->epoch;
        }
        return 0;
    }
    if (c->interactive || r->step % 20 == 0 || r->step == r->total)
        fprintf(stderr, "%sstep %lld/%lld epoch %d | loss %.4f (task %.4f, lm %.4f) | lr %.2e | %.0f tok/s%s",
                c->interactive ? "\r\033[K" : "", (long long)r->step, (long long)r->total, r->epoch,
                r->loss, r->task_loss, r->lm_loss, r->lr, r->tok_per_s, c->interactive ? "" : "\n");
    return ft_stop_flag ? 1 : 0;
}

/* DIR/name copied from the model directory to the output */
static int ft_copy(const char *from_dir, const char *to_dir, const char *name, char *err,
                   size_t errlen) {
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", to_dir, name);
    return fileio_copy_atomic(a, b, err, errlen);
}

int cmd_finetune(int argc, char **argv) {
    static const struct option longopts[] = {
        {"init", required_argument, 0, OPT_INIT},     {"task", required_argument, 0, OPT_TASK},
        {"train", required_argument, 0, OPT_TRAIN},   {"valid", required_argument, 0, OPT_VALID},
        {"out", required_argument, 0, 'o'},           {"lr", required_argument, 0, OPT_LR},
        {"batch", required_argument, 0, OPT_BATCH},   {"micro", required_argument, 0, OPT_MICRO},
        {"epochs", required_argument, 0, OPT_EPOCHS}, {"steps", required_argument, 0, OPT_STEPS},
        {"warmup", required_argument, 0, OPT_WARMUP}, {"lm-coef", required_argument, 0, OPT_LMCOEF},
        {"max-len", required_argument, 0, OPT_MAXLEN}, {"seed", required_argument, 0, OPT_SEED},
        {"threads", required_argument, 0, 't'},       {"help", no_argument, 0, 'h'},
        {"precision", required_argument, 0, OPT_PRECISION},
        {"pretrain", required_argument, 0, OPT_PRETRAIN},
        {"pretrain-lr", required_argument, 0, OPT_PRETRAIN_LR},
        {"from-scratch", no_argument, 0, OPT_FROM_SCRATCH},
        {0, 0, 0, 0}};
    finetune_opts_t o = finetune_opts_default();
    o.n_threads = cli_default_threads();
    o.bf16 = cli_precision_auto();
    const char *init = NULL, *train_path = NULL, *valid_path = NULL, *out = NULL;
    int have_task = 0, max_len = 0, steps = 0, c, pretrain_steps = -1;
    float pretrain_lr = 5e-4f;
    int from_scratch = 0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:t:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_INIT: init = optarg; break;
        case OPT_TASK:
            if (task_kind_parse(optarg, &o.kind) != 0) {
                cli_usage_error(CMD, "--task must be classify, entail, similar or choice (got '%s')", optarg);
                return CLI_EXIT_USAGE;
            }
            have_task = 1;
            break;
        case OPT_TRAIN: train_path = optarg; break;
        case OPT_VALID: valid_path = optarg; break;
        case 'o': out = optarg; break;
        case OPT_LR:
            if (cli_parse_float(CMD, "--lr", optarg, 0, 1, 1, 0, &o.lr)) return CLI_EXIT_USAGE;
            break;
        case OPT_BATCH:
            if (cli_parse_int(CMD, "--batch", optarg, 1, 4096, &o.batch)) return CLI_EXIT_USAGE;
            break;
        case OPT_MICRO:
            if (cli_parse_int(CMD, "--micro", optarg, 1, 4096, &o.micro)) return CLI_EXIT_USAGE;
            break;
        case OPT_EPOCHS:
            if (cli_parse_int(CMD, "--epochs", optarg, 1, 10000, &o.epochs)) return CLI_EXIT_USAGE;
            break;
        case OPT_STEPS:
            if (cli_parse_int(CMD, "--steps", optarg, 1, 100000000, &steps)) return CLI_EXIT_USAGE;
            o.steps = steps;
            break;
        case OPT_WARMUP:
            if (cli_parse_float(CMD, "--warmup", optarg, 0, 0, 1, 0, &o.warmup)) return CLI_EXIT_USAGE;
            break;
        case OPT_LMCOEF:
            if (cli_parse_float(CMD, "--lm-coef", optarg, 0, 0, 100, 0, &o.lm_coef)) return CLI_EXIT_USAGE;
            break;
        case OPT_MAXLEN:
            if (cli_parse_int(CMD, "--max-len", optarg, 4, 1 << 20, &max_len)) return CLI_EXIT_USAGE;
            break;
        case OPT_SEED:
            if (cli_parse_u64(CMD, "--seed", optarg, &o.seed)) return CLI_EXIT_USAGE;
            break;
        case 't':
            if (cli_parse_int(CMD, "--threads", optarg, 1, 1024, &o.n_threads)) return CLI_EXIT_USAGE;
            break;
        case OPT_PRECISION:
            if (cli_parse_precision(CMD, optarg, &o.bf16)) return CLI_EXIT_USAGE;
            break;
        case OPT_PRETRAIN:
            if (!strcmp(optarg, "auto")) pretrain_steps = -1;
            else if (!strcmp(optarg, "off")) pretrain_steps = 0;
            else if (cli_parse_int(CMD, "--pretrain", optarg, 1, 1000000, &pretrain_steps))
                return CLI_EXIT_USAGE;
            break;
        case OPT_FROM_SCRATCH: from_scratch = 1; break;
        case OPT_PRETRAIN_LR:
            if (cli_parse_float(CMD, "--pretrain-lr", optarg, 0, 1, 1, 0, &pretrain_lr))
                return CLI_EXIT_USAGE;
            break;
        case 'h': fputs(cmd_finetune_help, stdout); return CLI_EXIT_OK;
        default: cli_bad_option(CMD, c, optopt, argv, optind); return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (from_scratch && pretrain_steps > 0) {
        cli_usage_error(CMD, "--from-scratch has no pre-training stage: drop --pretrain");
        return CLI_EXIT_USAGE;
    }
    if (!have_task || !train_path || !out) {
        cli_usage_error(CMD, "give --task, --train FILE and -o DIR");
        return CLI_EXIT_USAGE;
    }
    cli_model_t cm;
    if (cli_model_open(&cm, init, 1)) return CLI_EXIT_ERROR;
    int rc = CLI_EXIT_ERROR;
    char err[1024];
    task_data_t train = {0}, valid = {0};
    char *ptext = NULL; /* the unsupervised stage's text */
    finetune_set_t tset = {0}, vset = {0};
    train_model_t *base = NULL, *m = NULL;
    tokenizer_t *tok = NULL;
    if (cm.cfg.n_clf > 0) {
        cli_error("%s: already has a task head; fine-tune the model it came from", cm.dir);
        goto done;
    }
    /* 128 tokens: the subject and first lines of a mail with the bundled
     * tokenizer; what keeps the default spam run (both stages) inside 20
     * minutes on two cores. The paper used 512. */
    if (max_len == 0) max_len = cm.cfg.n_ctx < 128 ? cm.cfg.n_ctx : 128;
    if (max_len > cm.cfg.n_ctx) {
        cli_error("--max-len %d is longer than the model's context (%d)", max_len, cm.cfg.n_ctx);
        goto done;
    }
    o.max_len = max_len;
    task_read_opts_t need = {NULL, 0, 1, 0};
    if (task_data_read(&train, o.kind, train_path, &need, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto done;
    }
    task_read_opts_t fixed = {(const char *const *)train.labels, train.n_labels, 1, 0};
    if (valid_path && task_data_read(&valid, o.kind, valid_path, &fixed, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto done;
    }
    if (o.kind != TASK_CHOICE && train.n_labels < 2) {
        cli_error("%s: only one label (%s): nothing to classify", train_path,
                  train.n_labels ? train.labels[0] : "none");
        goto done;
    }
    if (mkdir(out, 0755) != 0 && access(out, W_OK) != 0) {
        cli_error("%s: cannot create the output directory", out);
        goto done;
    }
    /* the unsupervised stage (finetune_pretrain.h): the supervised one then
     * starts from its model */
    if (pretrain_steps != 0 && !from_scratch) {
        size_t tlen = 0;
        if (ft_task_text(&train, &ptext, &tlen) != 0) {
            cli_error("out of memory");
            goto done;
        }
        int run = ft_pretrain_started(out) || pretrain_steps > 0;
        if (!run) {
            double bpb = 0;
            if (ft_text_bpb(&cm, ptext, tlen, 8192, o.n_threads, &bpb, err, sizeof err) != 0) {
                cli_error("%s: %s", train_path, err);
                goto done;
            }
            run = bpb > FT_PRETRAIN_BPB;
            fprintf(stderr, "finetune: %s reads the training text at %.2f bits per byte (%s %.1f)%s\n",
                    cm.dir, bpb, run ? "over" : "at most", FT_PRETRAIN_BPB,
                    run ? ": too far from it to fine-tune directly" : ": no pre-training stage");
        }
        if (run) {
            ft_pretrain_t pp = {pretrain_steps > 0 ? pretrain_steps
                                                   : ft_pretrain_auto_steps(tlen, cm.cfg.n_ctx),
                                pretrain_lr, o.bf16, o.n_threads, o.seed};
            char mdir[4200];
            int prc = ft_pretrain_run(cm.dir, ptext, tlen, out, &pp, mdir, sizeof mdir);
            if (prc != CLI_EXIT_OK) {
                if (prc == CLI_EXIT_INTERRUPTED)
                    fprintf(stderr, "finetune: interrupted in the pre-training stage; the same "
                                    "command continues it\n");
                rc = prc;
                goto done;
            }
            cli_model_close(&cm);
            if (cli_model_open(&cm, mdir, 1)) goto done;
            fprintf(stderr, "finetune: the supervised stage starts from %s\n", mdir);
        }
        free(ptext);
        ptext = NULL;
    }
    /* the output directory: the tokenizer with the special tokens first */
    char vin[4200], vout[4200], mout[4200];
    snprintf(vin, sizeof vin, "%s/vocab.json", cm.dir);
    snprintf(vout, sizeof vout, "%s/vocab.json", out);
    snprintf(mout, sizeof mout, "%s/merges.txt", out);
    task_tokens_t sp;
    if (task_vocab_extend(vin, vout, &sp, err, sizeof err) != 0 ||
        ft_copy(cm.dir, out, "merges.txt", err, sizeof err) != 0) {
        cli_error("%s", err);
        goto done;
    }
    if (sp.start_id != cm.cfg.n_vocab) {
        cli_error("%s: vocab.json ends at id %d but the model has %d tokens", cm.dir, sp.start_id - 1,
                  cm.cfg.n_vocab);
        goto done;
    }
    if (!(tok = tokenizer_load_files(vout, mout, cli_tokenizer_kind(&cm.cfg), err, sizeof err)) ||
        finetune_set_encode(&tset, tok, &sp, &train, max_len, err, sizeof err) != 0 ||
        (valid_path && finetune_set_encode(&vset, tok, &sp, &valid, max_len, err, sizeof err) != 0)) {
        cli_error("%s", err);
        goto done;
    }
    if (tset.n_truncated || vset.n_truncated)
        fprintf(stderr, "finetune: %d training and %d validation examples are longer than %d tokens: cut to it\n",
                tset.n_truncated, vset.n_truncated, max_len);
    int K = o.kind == TASK_CHOICE ? 1 : train.n_labels;
    if ((base = train_model_from_gpt(cm.model, err, sizeof err)) && from_scratch) {
        train_model_init_weights(base, o.seed, 1);
        fprintf(stderr, "finetune: --from-scratch: %s's shape and tokenizer, random weights (no "
                        "pre-training)\n", cm.dir);
    }
    if (!base ||
        !(m = train_model_for_task(base, 3, K, o.seed, err, sizeof err))) {
        cli_error("%s", err);
        goto done;
    }
    train_model_free(base);
    base = NULL;
    /* what the head is for, in config.json */
    cJSON *tj = cJSON_CreateObject();
    cJSON_AddStringToObject(tj, "task", task_kind_name(o.kind));
    cJSON *labs = cJSON_AddArrayToObject(tj, "labels");
    for (int k = 0; labs && k < train.n_labels; k++) cJSON_AddItemToArray(labs, cJSON_CreateString(train.labels[k]));
    cJSON_AddNumberToObject(tj, "start_id", sp.start_id);
    cJSON_AddNumberToObject(tj, "delim_id", sp.delim_id);
    cJSON_AddNumberToObject(tj, "extract_id", sp.extract_id);
    cJSON_AddNumberToObject(tj, "max_len", max_len);
    m->task_json = cJSON_PrintUnformatted(tj);
    cJSON_Delete(tj);
    m->pdrop = o.pdrop;
    fprintf(stderr,
            "finetune: %s on %s (%d examples%s%s), %d labels, from %s; lr %g, batch %d, %s %lld, "
            "lm-coef %g, max-len %d, %s\n",
            task_kind_name(o.kind), train_path, train.n, valid_path ? ", validating on " : "",
            valid_path ? valid_path : "", train.n_labels, cm.dir, (double)o.lr, o.batch,
            o.steps ? "steps" : "epochs", (long long)(o.steps ? o.steps : o.epochs), (double)o.lm_coef,
            max_len, cli_precision_name(o.bf16));
    ft_ctx_t ctx = {out, 0, isatty(2), 0, 0, 0, ""};
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ft_on_sigint;
    sigaction(SIGINT, &sa, &old);
    int frc = finetune_run(m, &tset, valid_path ? &vset : NULL, train.n_labels, &o, ft_progress, &ctx,
                           err, sizeof err);
    sigaction(SIGINT, &old, NULL);
    if (ctx.interactive) fputc('\n', stderr);
    if (frc != 0 || ctx.err[0]) {
        cli_error("%s", ctx.err[0] ? ctx.err : err);
        goto done;
    }
    if (!valid_path && train_model_save(m, out, KERNEL_F32, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto done;
    }
    if (ft_stop_flag) {
        fprintf(stderr, "finetune: interrupted%s\n", ctx.saved ? "; the best model so far is in the output" : "");
        rc = 130;
        goto done;
    }
    if (valid_path)
        printf("finetune: best valid accuracy %.4f, F1 %.4f (epoch %d), model in %s\n", ctx.best_acc,
               ctx.best_f1, ctx.best_epoch, out);
    else
        printf("finetune: model in %s\n", out);
    rc = CLI_EXIT_OK;
done:
    free(ptext);
    train_model_free(base);
    train_model_free(m);
    tokenizer_free(tok);
    finetune_set_free(&tset);
    finetune_set_free(&vset);
    task_data_free(&train);
    task_data_free(&valid);
    cli_model_close(&cm);
    return rc;
}
