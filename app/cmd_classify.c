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
#include "task_report.h"

const char cmd_classify_help[] =
    "usage: gptscope classify -m DIR [--json] [FILE]\n"
    "\n"
    "The label and class probabilities of each example, by a model fine-tuned\n"
    "with 'gptscope finetune'. FILE ('-' or none: stdin) is JSONL in the model's\n"
    "task format; for a classify model a line that is not JSON is the text\n"
    "itself. Labels in the input are allowed and ignored.\n"
    "\n"
    "  -m, --model DIR   the fine-tuned model\n"
    "      --json        one object per example: {\"label\",\"probs\":{LABEL: p}}\n"
    "                    (choice: {\"choice\",\"probs\":[p, ...]})\n"
    "  -t, --threads N   threads (default: all cores)\n"
    "  -h, --help        this help\n";

const char cmd_eval_task_help[] =
    "usage: gptscope eval-task -m DIR [--task TASK] [--json] FILE\n"
    "\n"
    "Scores a fine-tuned model on labelled JSONL: accuracy, macro F1, per-class\n"
    "precision / recall / F1 and the confusion matrix (rows: the true label).\n"
    "--task, when given, must be the model's.\n"
    "\n"
    "  -m, --model DIR   the fine-tuned model\n"
    "      --task TASK   classify, entail, similar or choice\n"
    "      --json        {\"n\",\"accuracy\",\"macro_f1\",\"f1\":{LABEL:..},\"precision\",\n"
    "                    \"recall\",\"labels\",\"confusion\"}\n"
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

static int tm_int(const cJSON *o, const char *key, int lo, int hi, int *out) {
    int64_t v;
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j || jsonx_int(j, lo, hi, &v) != JSONX_OK) return -1;
    *out = (int)v;
    return 0;
}

static int task_model_open(task_model_t *t, const char *dir, const char *cmd) {
    memset(t, 0, sizeof *t);
    if (cli_model_open(&t->cm, dir, 1)) return -1;
    char path[4200], err[1024], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/config.json", t->cm.dir);
    if (t->cm.cfg.n_clf <= 0) {
        cli_error("%s: %s has no task head (make one with 'gptscope finetune')", cmd, t->cm.dir);
        goto fail;
    }
    if (fileio_read_regular(path, 1 << 24, &text, &len, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto fail;
    }
    cJSON *root = jsonx_parse(text, len, path, err, sizeof err);
    free(text);
    const cJSON *tj = root ? cJSON_GetObjectItemCaseSensitive(root, "gptscope_task") : NULL;
    const cJSON *task = tj ? cJSON_GetObjectItemCaseSensitive(tj, "task") : NULL;
    const cJSON *labs = tj ? cJSON_GetObjectItemCaseSensitive(tj, "labels") : NULL;
    int V = t->cm.cfg.n_vocab, bad = !root || !cJSON_IsString(task) ||
                                     task_kind_parse(task->valuestring, &t->kind) != 0 ||
                                     !cJSON_IsArray(labs) ||
                                     tm_int(tj, "start_id", 0, V - 1, &t->sp.start_id) ||
                                     tm_int(tj, "delim_id", 0, V - 1, &t->sp.delim_id) ||
                                     tm_int(tj, "extract_id", 0, V - 1, &t->sp.extract_id) ||
                                     tm_int(tj, "max_len", 4, t->cm.cfg.n_ctx, &t->max_len);
    int n = bad ? 0 : cJSON_GetArraySize(labs);
    if (!bad) t->labels = calloc((size_t)(n > 0 ? n : 1), sizeof *t->labels);
    for (int i = 0; !bad && i < n; i++) {
        const cJSON *l = cJSON_GetArrayItem(labs, i);
        if (!cJSON_IsString(l) || !(t->labels[i] = strdup(l->valuestring))) bad = 1;
        else t->n_labels = i + 1;
    }
    int want = t->kind == TASK_CHOICE ? 1 : t->n_labels;
    if (!bad && want != t->cm.cfg.n_clf) bad = 1;
    int parsed = root != NULL;
    cJSON_Delete(root);
    if (bad) {
        cli_error("%s: \"gptscope_task\" is incomplete or does not match the head (%s)", path,
                  parsed ? "task, labels, start_id, delim_id, extract_id, max_len" : err);
        goto fail;
    }
    if (!(t->m = train_model_from_gpt(t->cm.model, err, sizeof err))) {
        cli_error("%s", err);
        goto fail;
    }
    return 0;
fail:
    task_model_close(t);
    return -1;
}

enum { OPT_TASK = CLI_OPT_FIRST_COMMAND_OPT };

/* Shared: options, the model, the examples encoded and predicted. */
static int run_task(int argc, char **argv, int eval) {
    const char *cmd = eval ? "eval-task" : "classify";
    static const struct option longopts[] = {{"model", required_argument, 0, 'm'},
                                             {"task", required_argument, 0, OPT_TASK},
                                             {"json", no_argument, 0, CLI_OPT_JSON},
                                             {"threads", required_argument, 0, 't'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *dir = NULL, *task_name = NULL, *path = NULL;
    int json = 0, n_threads = cli_default_threads(), c;
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
    task_model_t tm;
    if (task_model_open(&tm, dir, cmd) != 0) return CLI_EXIT_ERROR;
    int rc = CLI_EXIT_ERROR;
    char err[1024];
    task_data_t d = {0};
    finetune_set_t s = {0};
    float *probs = NULL;
    int *pred = NULL;
    task_metrics_t met = {0};
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
        finetune_predict(tm.m, &s, tm.kind, tm.n_labels, 8, n_threads, probs, pred, err, sizeof err) != 0) {
        cli_error("%s", probs && pred ? err : "out of memory");
        goto done;
    }
    if (eval) {
        int K = tm.kind == TASK_CHOICE ? n_out : tm.n_labels;
        char **names = tm.labels, *choice_names[64];
        char buf[64][8];
        if (tm.kind == TASK_CHOICE) {
            for (int k = 0; k < K && k < 64; k++) {
                snprintf(buf[k], sizeof buf[k], "%d", k);
                choice_names[k] = buf[k];
            }
            names = choice_names;
        }
        if (K > 64 || task_metrics_init(&met, K) != 0) {
            cli_error("out of memory");
            goto done;
        }
        for (int i = 0; i < s.n; i++) task_metrics_add(&met, s.labels[i], pred[i]);
        if (json) {
            char *js = task_metrics_json(&met, (const char *const *)names);
            if (!js) {
                cli_error("out of memory");
                goto done;
            }
            printf("%s\n", js);
            free(js);
        } else {
            task_report_print(stdout, &met, (const char *const *)names);
        }
    } else {
        for (int i = 0; i < s.n; i++) {
            const float *p = probs + (size_t)i * n_out;
            if (json) {
                if (tm.kind == TASK_CHOICE) {
                    printf("{\"choice\":%d,\"probs\":[", pred[i]);
                    for (int k = 0; k < n_out; k++) printf("%s%.6g", k ? "," : "", (double)p[k]);
                    printf("]}\n");
                } else {
                    printf("{\"label\":");
                    cli_json_string(stdout, tm.labels[pred[i]], strlen(tm.labels[pred[i]]));
                    printf(",\"probs\":{");
                    for (int k = 0; k < n_out; k++) {
                        printf("%s", k ? "," : "");
                        cli_json_string(stdout, tm.labels[k], strlen(tm.labels[k]));
                        printf(":%.6g", (double)p[k]);
                    }
                    printf("}}\n");
                }
            } else {
                printf("%s", tm.kind == TASK_CHOICE ? "" : tm.labels[pred[i]]);
                if (tm.kind == TASK_CHOICE) printf("%d", pred[i]);
                for (int k = 0; k < n_out; k++)
                    printf("\t%s%s%.4f", tm.kind == TASK_CHOICE ? "" : tm.labels[k],
                           tm.kind == TASK_CHOICE ? "" : " ", (double)p[k]);
                printf("\n");
            }
        }
    }
    rc = CLI_EXIT_OK;
done:
    task_metrics_free(&met);
    free(probs);
    free(pred);
    finetune_set_free(&s);
    task_data_free(&d);
    task_model_close(&tm);
    return rc;
}

int cmd_classify(int argc, char **argv) { return run_task(argc, argv, 0); }
int cmd_eval_task(int argc, char **argv) { return run_task(argc, argv, 1); }
