/* cmd_baseline_nb.c - `gptscope baseline-nb`: the bag-of-words naive Bayes
 * baseline (core/task/naive_bayes.h) trained on one labelled file and scored on
 * another, so a fine-tuned model's figures have something to beat. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "naive_bayes.h"
#include "task_metrics.h"
#include "task_report.h"

#define CMD "baseline-nb"

const char cmd_baseline_nb_help[] =
    "usage: gptscope baseline-nb --train FILE --test FILE [--task TASK] [--alpha A] [--json]\n"
    "\n"
    "Multinomial naive Bayes over lower-cased words with add-alpha smoothing,\n"
    "trained on the labelled JSONL --train and scored on --test: accuracy,\n"
    "per-class precision/recall/F1 and the confusion matrix. The baseline that\n"
    "`gptscope finetune` is compared with (same files, same metrics as eval-task).\n"
    "\n"
    "      --train FILE  labelled examples to count words in\n"
    "      --test FILE   labelled examples to score ('-' for stdin)\n"
    "      --task TASK   classify (default: {\"text\",\"label\"}), entail or similar\n"
    "                    (the two texts are read as one bag of words)\n"
    "      --alpha A     smoothing (default 1: Laplace)\n"
    "      --json        print {\"n\",\"accuracy\",\"macro_f1\",\"f1\":{LABEL:..},\n"
    "                    \"precision\",\"recall\",\"labels\",\"confusion\",\"vocabulary\"}\n"
    "  -h, --help        this help\n";

enum { OPT_TRAIN = CLI_OPT_FIRST_COMMAND_OPT, OPT_TEST, OPT_TASK, OPT_ALPHA };

int cmd_baseline_nb(int argc, char **argv) {
    static const struct option longopts[] = {{"train", required_argument, 0, OPT_TRAIN},
                                             {"test", required_argument, 0, OPT_TEST},
                                             {"task", required_argument, 0, OPT_TASK},
                                             {"alpha", required_argument, 0, OPT_ALPHA},
                                             {"json", no_argument, 0, CLI_OPT_JSON},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *train_path = NULL, *test_path = NULL;
    task_kind_t kind = TASK_CLASSIFY;
    double alpha = 1.0;
    int json = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_TRAIN: train_path = optarg; break;
        case OPT_TEST: test_path = optarg; break;
        case OPT_TASK:
            if (task_kind_parse(optarg, &kind) != 0 || kind == TASK_CHOICE) {
                cli_usage_error(CMD, "--task must be classify, entail or similar (got '%s')", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_ALPHA: {
            char *end;
            alpha = strtod(optarg, &end);
            if (end == optarg || *end || !(alpha > 0 && alpha < 1e6)) {
                cli_usage_error(CMD, "--alpha must be a positive number (got '%s')", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        }
        case CLI_OPT_JSON: json = 1; break;
        case 'h': fputs(cmd_baseline_nb_help, stdout); return CLI_EXIT_OK;
        default: cli_bad_option(CMD, c, optopt, argv, optind); return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (!train_path || !test_path) {
        cli_usage_error(CMD, "give both --train FILE and --test FILE");
        return CLI_EXIT_USAGE;
    }
    char err[1024];
    task_data_t train = {0}, test = {0};
    task_read_opts_t need = {NULL, 0, 1, 0};
    nb_model_t *nb = NULL;
    task_metrics_t m = {0};
    int rc = CLI_EXIT_ERROR;
    if (task_data_read(&train, kind, train_path, &need, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto done;
    }
    task_read_opts_t fixed = {(const char *const *)train.labels, train.n_labels, 1, 0};
    if (task_data_read(&test, kind, test_path, &fixed, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto done;
    }
    if (!(nb = nb_train(&train, alpha, err, sizeof err)) ||
        task_metrics_init(&m, train.n_labels) != 0) {
        cli_error("%s", nb ? "out of memory" : err);
        goto done;
    }
    for (int i = 0; i < test.n; i++)
        task_metrics_add(&m, test.ex[i].label, nb_predict_example(nb, &test.ex[i], NULL));
    if (json) {
        char *js = task_metrics_json(&m, (const char *const *)train.labels);
        if (!js) {
            cli_error("out of memory");
            goto done;
        }
        /* one more key: how many words the model knows */
        size_t n = strlen(js);
        printf("%.*s,\"vocabulary\":%d}\n", (int)(n - 1), js, nb_n_words(nb));
        free(js);
    } else {
        printf("naive Bayes (alpha %g, %d words) trained on %s (%d examples), tested on %s\n", alpha,
               nb_n_words(nb), train_path, train.n, test_path);
        task_report_print(stdout, &m, (const char *const *)train.labels);
    }
    rc = CLI_EXIT_OK;
done:
    task_metrics_free(&m);
    nb_free(nb);
    task_data_free(&train);
    task_data_free(&test);
    return rc;
}
