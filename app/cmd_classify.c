/* cmd_classify.c - using a fine-tuned model (`gptscope finetune`):
 * `classify` prints each example's label and class probabilities, and
 * `eval-task` scores labelled examples (accuracy, per-class precision /
 * recall / F1, confusion matrix). Both read the task from config.json's
 * "gptscope_task" (task, labels, special-token ids, max_len). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "fileio.h"
#include "finetune.h"
#include "jsonx.h"
#include "task_metrics.h"
#include "task_info.h"
#include "task_report.h"
#include "zeroshot.h"

const char cmd_classify_help[] =
    "usage: gptscope classify -m DIR [--json] [FILE]\n"
    "       gptscope classify --zero-shot --labels A,B[,...] [--template T] [-m DIR] [FILE]\n"
    "\n"
    "The label and class probabilities of each example, by a model fine-tuned\n"
    "with 'gptscope finetune'. FILE ('-' or none: stdin) is JSONL in the model's\n"
    "task format; for a classify model a line that is not JSON is the text\n"
    "itself. Labels in the input are allowed and ignored.\n"
    "\n"
    "--zero-shot is GPT-1's zero-shot heuristic, on any language model (default:\n"
    "the bundled one) with no training: each text goes into the template and the\n"
    "label whose words the model finds most probable right after it wins; the\n"
    "probabilities are the model's, renormalised over the labels. A label is\n"
    "NAME (its words: \" NAME\") or NAME=WORDS (\" WORDS\"). The template holds\n"
    "{text} once (default \"{text}\"); e.g. the paper's sentiment probe is\n"
    "  --labels positive,negative --template \"{text} very\"\n"
    "\n"
    "  -m, --model DIR   the fine-tuned model (--zero-shot: any model)\n"
    "      --zero-shot   no head: compare the LM's probability of each label\n"
    "      --labels L    the labels for --zero-shot, comma-separated, NAME[=WORDS]\n"
    "      --template T  for --zero-shot, with {text} where the example goes\n"
    "      --json        one object per example: {\"label\",\"probs\":{LABEL: p}}\n"
    "                    (choice: {\"choice\",\"probs\":[p, ...]})\n"
    "      --precision P auto (bf16 products where the CPU has AMX or AVX512-BF16,\n"
    "                    as finetune's default), f32 or bf16; --zero-shot runs the\n"
    "                    inference engine on the model's own weights instead\n"
    "  -t, --threads N   threads (default: all cores)\n"
    "  -h, --help        this help\n";

const char cmd_eval_task_help[] =
    "usage: gptscope eval-task -m DIR [--task TASK] [--json] FILE\n"
    "       gptscope eval-task --zero-shot --labels A,B[,...] [--template T] [-m DIR] FILE\n"
    "\n"
    "Scores a fine-tuned model on labelled JSONL: accuracy, macro F1, per-class\n"
    "precision / recall / F1 and the confusion matrix (rows: the true label).\n"
    "--task, when given, must be the model's. --zero-shot scores GPT-1's zero-shot\n"
    "heuristic on labelled classify JSONL instead (see 'gptscope help classify').\n"
    "\n"
    "  -m, --model DIR   the fine-tuned model (--zero-shot: any model)\n"
    "      --zero-shot, --labels L, --template T   as for classify\n"
    "      --task TASK   classify, entail, similar or choice\n"
    "      --json        {\"n\",\"accuracy\",\"macro_f1\",\"f1\":{LABEL:..},\"precision\",\n"
    "                    \"recall\",\"labels\",\"confusion\"}\n"
    "      --precision P auto (bf16 products where the CPU has AMX or AVX512-BF16,\n"
    "                    as finetune's default), f32 or bf16; --zero-shot runs the\n"
    "                    inference engine on the model's own weights instead\n"
    "  -t, --threads N   threads (default: all cores)\n"
    "  -h, --help        this help\n";

/* A fine-tuned model: weights for training-style forward passes, and what
 * its head is for. */
typedef struct task_model {
    cli_model_t cm;
    train_model_t *m;
    task_kind_t kind;
    task_tokens_t sp;
    char **labels;
    int n_labels, max_len;
} task_model_t;

static void task_model_close(task_model_t *t) {
    train_model_free(t->m);
    for (int i = 0; i < t->n_labels; i++) free(t->labels[i]);
    free(t->labels);
    cli_model_close(&t->cm);
}

static int task_model_open(task_model_t *t, const char *dir, const char *cmd) {
    memset(t, 0, sizeof *t);
    if (cli_model_open(&t->cm, dir, 1)) return -1;
    char path[4200], err[1024];
    snprintf(path, sizeof path, "%s/config.json", t->cm.dir);
    if (t->cm.cfg.n_clf <= 0) {
        cli_error("%s: %s has no task head (make one with 'gptscope finetune')", cmd, t->cm.dir);
        goto fail;
    }
    task_info_t ti;
    if (task_info_load(&ti, path, &t->cm.cfg, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto fail;
    }
    /* the model keeps the names; ti's array is handed over */
    t->kind = ti.kind;
    t->sp = ti.sp;
    t->max_len = ti.max_len;
    t->labels = ti.labels;
    t->n_labels = ti.n_labels;
    if (!(t->m = train_model_from_gpt(t->cm.model, err, sizeof err))) {
        cli_error("%s", err);
        goto fail;
    }
    return 0;
fail:
    task_model_close(t);
    return -1;
}

enum { OPT_TASK = CLI_OPT_FIRST_COMMAND_OPT, OPT_PRECISION, OPT_ZERO_SHOT, OPT_LABELS, OPT_TEMPLATE };

/* --labels "a,b=some words": names into t->labels, and the words each one
 * is scored by (" " + WORDS, else " " + NAME) into *words (n_labels strings,
 * malloc'd). Returns 0, or -1 with err. */
static int zs_parse_labels(task_model_t *t, const char *spec, char ***words, char *err,
                           size_t errlen) {
    int n = 1;
    for (const char *p = spec; *p; p++) n += *p == ',';
    t->labels = calloc((size_t)n, sizeof *t->labels);
    *words = calloc((size_t)n, sizeof **words);
    if (!t->labels || !*words) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *p = spec;
    for (int k = 0; k < n; k++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t nl = eq ? (size_t)(eq - p) : len;
        const char *w = eq ? eq + 1 : p;
        size_t wl = eq ? len - nl - 1 : len;
        if (nl == 0 || wl == 0) {
            snprintf(err, errlen, "--labels: label %d is empty (give NAME or NAME=WORDS, "
                                  "comma-separated)", k + 1);
            return -1;
        }
        t->labels[k] = strndup(p, nl);
        (*words)[k] = malloc(wl + 2);
        if (!t->labels[k] || !(*words)[k]) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        t->n_labels = k + 1;
        (*words)[k][0] = ' ';
        memcpy((*words)[k] + 1, w, wl);
        (*words)[k][wl + 1] = '\0';
        for (int j = 0; j < k; j++)
            if (!strcmp(t->labels[j], t->labels[k])) {
                snprintf(err, errlen, "--labels: '%s' is given twice", t->labels[k]);
                return -1;
            }
        p = end ? end + 1 : p + len;
    }
    return 0;
}

/* The results: eval prints the scores (truth: the true labels), classify
 * each example's label and probabilities. Returns 0, or -1 (out of memory,
 * printed). */
static int task_output(int eval, int json, task_kind_t kind, char **labels, int n_labels, int n_ex,
                       int n_out, const int *truth, const float *probs, const int *pred) {
    task_metrics_t met = {0};
    if (eval) {
        int K = kind == TASK_CHOICE ? n_out : n_labels;
        char **names = labels, *choice_names[64];
        char buf[64][8];
        if (kind == TASK_CHOICE) {
            for (int k = 0; k < K && k < 64; k++) {
                snprintf(buf[k], sizeof buf[k], "%d", k);
                choice_names[k] = buf[k];
            }
            names = choice_names;
        }
        if (K > 64 || task_metrics_init(&met, K) != 0) {
            cli_error("out of memory");
            return -1;
        }
        for (int i = 0; i < n_ex; i++) task_metrics_add(&met, truth[i], pred[i]);
        if (json) {
            char *js = task_metrics_json(&met, (const char *const *)names);
            if (!js) {
                cli_error("out of memory");
                task_metrics_free(&met);
                return -1;
            }
            printf("%s\n", js);
            free(js);
        } else {
            task_report_print(stdout, &met, (const char *const *)names);
        }
    } else {
        for (int i = 0; i < n_ex; i++) {
            const float *p = probs + (size_t)i * n_out;
            if (json) {
                if (kind == TASK_CHOICE) {
                    printf("{\"choice\":%d,\"probs\":[", pred[i]);
                    for (int k = 0; k < n_out; k++) printf("%s%.6g", k ? "," : "", (double)p[k]);
                    printf("]}\n");
                } else {
                    printf("{\"label\":");
                    cli_json_string(stdout, labels[pred[i]], strlen(labels[pred[i]]));
                    printf(",\"probs\":{");
                    for (int k = 0; k < n_out; k++) {
                        printf("%s", k ? "," : "");
                        cli_json_string(stdout, labels[k], strlen(labels[k]));
                        printf(":%.6g", (double)p[k]);
                    }
                    printf("}}\n");
                }
            } else {
                printf("%s", kind == TASK_CHOICE ? "" : labels[pred[i]]);
                if (kind == TASK_CHOICE) printf("%d", pred[i]);
                for (int k = 0; k < n_out; k++)
                    printf("\t%s%s%.4f", kind == TASK_CHOICE ? "" : labels[k],
                           kind == TASK_CHOICE ? "" : " ", (double)p[k]);
                printf("\n");
            }
        }
    }
    task_metrics_free(&met);
    return 0;
}

/* --zero-shot: any language model, the labels and template of the command
 * line (zeroshot.h). */
static int run_zero_shot(const char *cmd, int eval, const char *dir, const char *label_spec,
                         const char *templ, const char *path, int json, int n_threads) {
    task_model_t tm;
    memset(&tm, 0, sizeof tm);
    tm.kind = TASK_CLASSIFY;
    char err[1024], **words = NULL;
    int rc = CLI_EXIT_ERROR, *pred = NULL, *truth = NULL;
    float *probs = NULL;
    task_data_t d = {0};
    zeroshot_t z = {0};
    if (zs_parse_labels(&tm, label_spec, &words, err, sizeof err) != 0) {
        cli_usage_error(cmd, "%s", err);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (tm.n_labels < 2) {
        cli_usage_error(cmd, "--labels needs two labels or more");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (cli_model_open(&tm.cm, dir, 1)) goto done;
    if (zeroshot_init(&z, tm.cm.model, tm.cm.tok, templ, (const char *const *)words, tm.n_labels,
                      n_threads, err, sizeof err) != 0) {
        cli_error("%s: %s", cmd, err);
        goto done;
    }
    task_read_opts_t ro = {(const char *const *)tm.labels, tm.n_labels, eval, !eval};
    if (task_data_read(&d, TASK_CLASSIFY, path ? path : "-", &ro, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto done;
    }
    probs = malloc((size_t)(d.n > 0 ? d.n : 1) * tm.n_labels * sizeof *probs);
    pred = malloc((size_t)(d.n > 0 ? d.n : 1) * sizeof *pred);
    truth = malloc((size_t)(d.n > 0 ? d.n : 1) * sizeof *truth);
    if (!probs || !pred || !truth) {
        cli_error("out of memory");
        goto done;
    }
    for (int i = 0; i < d.n; i++) {
        truth[i] = d.ex[i].label;
        pred[i] = zeroshot_classify(&z, d.ex[i].fields[0], NULL, probs + (size_t)i * tm.n_labels,
                                    err, sizeof err);
        if (pred[i] < 0) {
            cli_error("%s:%d: %s", path ? path : "stdin", d.ex[i].line, err);
            goto done;
        }
    }
    if (z.n_cut)
        fprintf(stderr, "%s: %d of %d texts were longer than the context allows: their first "
                        "tokens were kept\n",
                cmd, z.n_cut, d.n);
    if (task_output(eval, json, TASK_CLASSIFY, tm.labels, tm.n_labels, d.n, tm.n_labels, truth,
                    probs, pred) != 0)
        goto done;
    rc = CLI_EXIT_OK;
done:
    for (int k = 0; words && k < tm.n_labels; k++) free(words[k]);
    free(words);
    zeroshot_free(&z);
    task_data_free(&d);
    free(probs);
    free(pred);
    free(truth);
    task_model_close(&tm);
    return rc;
}

/* Shared: options, the model, the examples encoded and predicted. */
static int run_task(int argc, char **argv, int eval) {
    const char *cmd = eval ? "eval-task" : "classify";
    static const struct option longopts[] = {{"model", required_argument, 0, 'm'},
                                             {"task", required_argument, 0, OPT_TASK},
                                             {"json", no_argument, 0, CLI_OPT_JSON},
                                             {"threads", required_argument, 0, 't'},
                                             {"precision", required_argument, 0, OPT_PRECISION},
                                             {"zero-shot", no_argument, 0, OPT_ZERO_SHOT},
                                             {"labels", required_argument, 0, OPT_LABELS},
                                             {"template", required_argument, 0, OPT_TEMPLATE},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *dir = NULL, *task_name = NULL, *path = NULL, *label_spec = NULL, *templ = NULL;
    int zero_shot = 0;
    int json = 0, n_threads = cli_default_threads(), c, bf16 = cli_precision_auto();
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': dir = optarg; break;
        case OPT_TASK:
            if (!eval) {
                cli_bad_option(cmd, c, optopt, argv, optind);
                return CLI_EXIT_USAGE;
            }
            task_name = optarg;
            break;
        case CLI_OPT_JSON: json = 1; break;
        case 't':
            if (cli_parse_int(cmd, "--threads", optarg, 1, 1024, &n_threads)) return CLI_EXIT_USAGE;
            break;
        case OPT_PRECISION:
            if (cli_parse_precision(cmd, optarg, &bf16)) return CLI_EXIT_USAGE;
            break;
        case OPT_ZERO_SHOT: zero_shot = 1; break;
        case OPT_LABELS: label_spec = optarg; break;
        case OPT_TEMPLATE: templ = optarg; break;
        case 'h': fputs(eval ? cmd_eval_task_help : cmd_classify_help, stdout); return CLI_EXIT_OK;
        default: cli_bad_option(cmd, c, optopt, argv, optind); return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) path = argv[optind++];
    if (optind < argc) {
        cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    task_kind_t want;
    if (task_name && task_kind_parse(task_name, &want) != 0) {
        cli_usage_error(cmd, "--task must be classify, entail, similar or choice (got '%s')", task_name);
        return CLI_EXIT_USAGE;
    }
    if (eval && !path) {
        cli_usage_error(cmd, "give the labelled FILE to score");
        return CLI_EXIT_USAGE;
    }
    if (!zero_shot && (label_spec || templ)) {
        cli_usage_error(cmd, "--labels and --template are for --zero-shot");
        return CLI_EXIT_USAGE;
    }
    if (zero_shot && !label_spec) {
        cli_usage_error(cmd, "--zero-shot needs --labels (e.g. --labels spam,ham)");
        return CLI_EXIT_USAGE;
    }
    if (zero_shot && task_name && want != TASK_CLASSIFY) {
        cli_usage_error(cmd, "--zero-shot classifies texts: --task classify only");
        return CLI_EXIT_USAGE;
    }
    if (zero_shot) return run_zero_shot(cmd, eval, dir, label_spec, templ ? templ : "{text}", path,
                                        json, n_threads);
    task_model_t tm;
    if (task_model_open(&tm, dir, cmd) != 0) return CLI_EXIT_ERROR;
    int rc = CLI_EXIT_ERROR;
    char err[1024];
    task_data_t d = {0};
    finetune_set_t s = {0};
    float *probs = NULL;
    int *pred = NULL;
    if (task_name && want != tm.kind) {
        cli_error("%s: the model is a %s model, not %s", tm.cm.dir, task_kind_name(tm.kind), task_name);
        goto done;
    }
    task_read_opts_t ro = {(const char *const *)tm.labels, tm.kind == TASK_CHOICE ? 0 : tm.n_labels,
                           eval, !eval};
    if (task_data_read(&d, tm.kind, path ? path : "-", &ro, err, sizeof err) != 0 ||
        finetune_set_encode(&s, tm.cm.tok, &tm.sp, &d, tm.max_len, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto done;
    }
    int n_out = tm.kind == TASK_CHOICE ? s.n_seq : tm.n_labels;
    probs = malloc((size_t)s.n * n_out * sizeof *probs);
    pred = malloc((size_t)s.n * sizeof *pred);
    if (!probs || !pred ||
        finetune_predict(tm.m, &s, tm.kind, tm.n_labels, 8, n_threads, bf16, probs, pred, err,
                         sizeof err) != 0) {
        cli_error("%s", probs && pred ? err : "out of memory");
        goto done;
    }
    if (task_output(eval, json, tm.kind, tm.labels, tm.n_labels, s.n, n_out, s.labels, probs,
                    pred) != 0)
        goto done;
    rc = CLI_EXIT_OK;
done:
    free(probs);
    free(pred);
    finetune_set_free(&s);
    task_data_free(&d);
    task_model_close(&tm);
    return rc;
}

int cmd_classify(int argc, char **argv) { return run_task(argc, argv, 0); }
int cmd_eval_task(int argc, char **argv) { return run_task(argc, argv, 1); }
