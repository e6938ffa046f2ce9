/* cmd_calibrate.c - `gptscope calibrate`: fit the softmax temperature on
 * held-out text and write a copy of the model with it built in
 * (core/decode/calibrate.h has the maths). The text is scored as `gptscope eval`
 * scores it, so the printed figures are eval's. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"
#include "cli.h"
#include "score.h"

#define CMD "calibrate"

const char cmd_calibrate_help[] =
    "usage: gptscope calibrate [-m DIR] [-o OUT] [--json] FILE\n"
    "\n"
    "Finds the softmax temperature T that minimises the model's cross-entropy\n"
    "on the text FILE (logits divided by T, searched over T = 0.67..2), and with\n"
    "-o writes a copy of the model with T built into its final LayerNorm (gain\n"
    "and bias times 1/T: the same Hugging Face layout, logits exactly 1/T times\n"
    "the old ones), plus OUT/calibration.json with the figures. A model trained\n"
    "for many epochs on little text is over-confident on new text (T > 1).\n"
    "FILE must be text the model was not trained on, and not the text you then\n"
    "report the calibrated model's figure on: e.g. train with --val FILE.\n"
    "The text is scored as 'gptscope eval' scores it; bits per byte after\n"
    "calibration are estimated from the fit ('gptscope eval -m OUT FILE'\n"
    "measures them).\n"
    "\n"
    "  -m, --model DIR   model directory (default: $GPTSCOPE_MODEL, bundled)\n"
    "  -o, --out DIR     write the calibrated model here (not DIR itself)\n"
    "      --json        print {\"tokens\",\"predictions\",\"temperature\",\"scale\",\n"
    "                    \"loss_before\",\"loss_after\",\"bpb_before\",\"bpb_after\",\"at_edge\"}\n"
    "  -t, --threads N   threads (default: all cores)\n"
    "  -h, --help        this help\n";

static int calibrate_row(void *ctx, const float *logits, int n_vocab, int pos, int target,
                         char *err, size_t errlen) {
    (void)n_vocab, (void)pos, (void)err, (void)errlen;
    calib_add(ctx, logits, target);
    return 0;
}

/* OUT/calibration.json: what was fitted, on what, from which model. */
static int write_record(const char *out, const char *model_dir, const char *text_path,
                        size_t tokens, long preds, const calib_fit_t *f, double nats_to_bpb) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "calibrated_from", model_dir);
    cJSON_AddStringToObject(j, "calibrated_on", text_path);
    cJSON_AddNumberToObject(j, "tokens", (double)tokens);
    cJSON_AddNumberToObject(j, "predictions", (double)preds);
    cJSON_AddNumberToObject(j, "temperature", 1.0 / f->scale);
    cJSON_AddNumberToObject(j, "scale", f->scale);
    cJSON_AddNumberToObject(j, "loss_before", f->nats_before);
    cJSON_AddNumberToObject(j, "loss_after_estimated", f->nats_after);
    cJSON_AddNumberToObject(j, "bpb_before", f->nats_before * nats_to_bpb);
    cJSON_AddNumberToObject(j, "bpb_after_estimated", f->nats_after * nats_to_bpb);
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    char path[4200], err[1024];
    snprintf(path, sizeof path, "%s/calibration.json", out);
    int rc = s ? fileio_write_atomic(path, s, strlen(s), err, sizeof err) : -1;
    if (!s) snprintf(err, sizeof err, "out of memory");
    if (rc) cli_error("%s", err);
    free(s);
    return rc;
}

int cmd_calibrate(int argc, char **argv) {
    static const struct option longopts[] = {{"model", required_argument, 0, 'm'},
                                             {"out", required_argument, 0, 'o'},
                                             {"json", no_argument, 0, CLI_OPT_JSON},
                                             {"threads", required_argument, 0, 't'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *model_dir = NULL, *out = NULL, *path = NULL;
    int json = 0, n_threads = cli_default_threads(), c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:o:t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_dir = optarg; break;
        case 'o': out = optarg; break;
        case CLI_OPT_JSON: json = 1; break;
        case 't':
            if (cli_parse_int(CMD, "--threads", optarg, 1, 1024, &n_threads)) return CLI_EXIT_USAGE;
            break;
        case 'h': fputs(cmd_calibrate_help, stdout); return CLI_EXIT_OK;
        default: cli_bad_option(CMD, c, optopt, argv, optind); return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) path = argv[optind++];
    if (optind < argc) {
        cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (!path) {
        cli_usage_error(CMD, "give the held-out text FILE to calibrate on");
        return CLI_EXIT_USAGE;
    }

    cli_model_t cm;
    if (cli_model_open(&cm, model_dir, 1)) return CLI_EXIT_ERROR;
    char err[1024], *data = NULL;
    size_t len = 0, n = 0, cap = 0;
    int *ids = NULL, rc = CLI_EXIT_ERROR;
    calib_t cal;
    int cal_ok = calib_init(&cal, cm.cfg.n_vocab) == 0;
    if (!cal_ok) {
        cli_error("out of memory");
        goto done;
    }
    if (cli_read_path(path, &data, &len, err, sizeof err)) {
        cli_error("%s", err);
        goto done;
    }
    if (tokenizer_encode(cm.tok, data, len, &ids, &n, &cap, err, sizeof err)) {
        cli_error("%s: %s", path, err);
        goto done;
    }
    if (n < 2 || n > (size_t)1 << 30) {
        cli_error("%s: %zu tokens; calibrating needs at least 2", path, n);
        goto done;
    }
    double n_bytes = score_predicted_bytes(cm.tok, ids, n);
    if (score_windows(cm.model, ids, (int)n, n_threads, calibrate_row, &cal, err, sizeof err)) {
        cli_error("%s: %s", path, err);
        goto done;
    }
    calib_fit_t fit;
    if (calib_fit(&cal, &fit, err, sizeof err)) {
        cli_error("%s: %s", path, err);
        goto done;
    }
    /* mean nats per prediction -> bits per byte of the predicted tokens */
    double to_bpb = n_bytes > 0 ? (double)cal.n / log(2.0) / n_bytes : NAN;
    if (out) {
        if (calib_write_model(cm.dir, out, &cm.cfg, fit.scale, err, sizeof err)) {
            cli_error("%s", err);
            goto done;
        }
        if (write_record(out, cm.dir, path, n, cal.n, &fit, to_bpb)) goto done;
    }
    if (json) {
        printf("{\"tokens\":%zu,\"predictions\":%ld,\"temperature\":", n, cal.n);
        cli_json_number(stdout, 1.0 / fit.scale);
        fputs(",\"scale\":", stdout);
        cli_json_number(stdout, fit.scale);
        fputs(",\"loss_before\":", stdout);
        cli_json_number(stdout, fit.nats_before);
        fputs(",\"loss_after\":", stdout);
        cli_json_number(stdout, fit.nats_after);
        fputs(",\"bpb_before\":", stdout);
        cli_json_number(stdout, fit.nats_before * to_bpb);
        fputs(",\"bpb_after\":", stdout);
        cli_json_number(stdout, fit.nats_after * to_bpb);
        printf(",\"at_edge\":%s}\n", fit.at_edge ? "true" : "false");
    } else {
        printf("tokens       %zu (%ld predicted)\n", n, cal.n);
        printf("temperature  %.4f (logits x %.4f)\n", 1.0 / fit.scale, fit.scale);
        printf("loss         %.6f -> %.6f nats/token (estimated)\n", fit.nats_before,
               fit.nats_after);
        printf("bits/byte    %.6f -> %.6f\n", fit.nats_before * to_bpb, fit.nats_after * to_bpb);
        if (out) printf("written      %s (gptscope eval -m %s FILE measures it)\n", out, out);
    }
    if (fit.at_edge)
        fprintf(stderr, "gptscope: calibrate: the best temperature is at the end of the range "
                        "searched (%.2f..%.2f); the model may be badly off\n",
                1.0 / (CALIB_S_LO + (CALIB_GRID - 1) * CALIB_S_STEP), 1.0 / CALIB_S_LO);
    rc = CLI_EXIT_OK;
done:
    if (cal_ok) calib_free(&cal);
    free(data);
    free(ids);
    cli_model_close(&cm);
    return rc;
}
