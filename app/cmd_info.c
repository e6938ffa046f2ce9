/* cmd_info.c - `gptscope info`: what a model directory holds. The weights are
 * loaded (and so fully checked), so a model that info accepts also runs. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define CMD "info"

const char cmd_info_help[] =
    "usage: gptscope info [-m DIR] [--json]\n"
    "\n"
    "Describes a model: family, shapes, parameter count, dtype, context,\n"
    "vocabulary, tokenizer and file sizes. All files are read and checked.\n"
    "\n"
    "  -m, --model DIR   model directory (default: $GPTSCOPE_MODEL, bundled)\n"
    "      --json        one JSON object instead of text\n"
    "  -h, --help        this help\n";

static const char *const files[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt"};
#define N_FILES (sizeof files / sizeof files[0])

static const char *dtype_name(kernel_dtype_t d) {
    switch (d) {
    case KERNEL_F32: return "f32";
    case KERNEL_F16: return "f16";
    case KERNEL_BF16: return "bf16";
    }
    return "?";
}

static long long file_size(const char *dir, const char *name) {
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int cmd_info(int argc, char **argv) {
    static const struct option longopts[] = {{"model", required_argument, 0, 'm'},
                                             {"json", no_argument, 0, CLI_OPT_JSON},
                                             {"threads", required_argument, 0, 't'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *model_dir = NULL;
    int json = 0, n_threads, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_dir = optarg; break;
        case CLI_OPT_JSON: json = 1; break;
        case 't':
            if (cli_parse_int(CMD, "--threads", optarg, 1, 1024, &n_threads)) return CLI_EXIT_USAGE;
            break;
        case 'h': fputs(cmd_info_help, stdout); return CLI_EXIT_OK;
        default: cli_bad_option(CMD, c, optopt, argv, optind); return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    cli_model_t cm;
    if (cli_model_open(&cm, model_dir, 1)) return CLI_EXIT_ERROR;
    const gpt_config_t *cfg = &cm.cfg;
    int gpt1 = cli_tokenizer_kind(cfg) == TOKENIZER_GPT1;
    const char *family = gpt1 ? "GPT-1" : "GPT-2";
    const char *tok_kind = gpt1 ? "GPT-1 BPE (lower-cased, </w> word ends)" : "GPT-2 byte-level BPE";
    long long n_params = (long long)gpt_config_n_params(cfg);
    const char *dtype = dtype_name(cm.model->dtype);
    int eos = cli_eos_id(&cm);
    if (json) {
        fputs("{\"dir\":", stdout);
        cli_json_string(stdout, cm.dir, strlen(cm.dir));
        printf(",\"family\":\"%s\",\"model_type\":", family);
        cli_json_string(stdout, cfg->model_type, strlen(cfg->model_type));
        printf(",\"n_layer\":%d,\"n_head\":%d,\"n_embd\":%d,\"n_inner\":%d,\"n_ctx\":%d,"
               "\"n_vocab\":%d,\"params\":%lld,\"dtype\":\"%s\",\"pre_norm\":%s,"
               "\"final_ln\":%s,\"ln_eps\":",
               cfg->n_layer, cfg->n_head, cfg->n_embd, cfg->n_inner, cfg->n_ctx, cfg->n_vocab,
               n_params, dtype, cfg->pre_norm ? "true" : "false", cfg->final_ln ? "true" : "false");
        cli_json_number(stdout, cfg->ln_eps);
        printf(",\"eos_id\":%d,\"tokenizer\":\"%s\",\"tokenizer_vocab\":%d,\"files\":{", eos,
               gpt1 ? "gpt1" : "gpt2", tokenizer_vocab_size(cm.tok));
        for (size_t i = 0; i < N_FILES; i++)
            printf("%s\"%s\":%lld", i ? "," : "", files[i], file_size(cm.dir, files[i]));
        fputs("}}\n", stdout);
    } else {
        printf("model        %s\n", cm.dir);
        printf("family       %s (model_type \"%s\"), %s, %s\n", family, cfg->model_type,
               cfg->pre_norm ? "pre-norm" : "post-norm",
               cfg->final_ln ? "final LayerNorm" : "no final LayerNorm");
        printf("n_layer      %d\n", cfg->n_layer);
        printf("n_head       %d\n", cfg->n_head);
        printf("n_embd       %d (head size %d, MLP %d)\n", cfg->n_embd, cfg->n_embd / cfg->n_head,
               cfg->n_inner);
        printf("n_ctx        %d\n", cfg->n_ctx);
        printf("vocab        %d\n", cfg->n_vocab);
        printf("parameters   %lld (%.1f M)\n", n_params, (double)n_params / 1e6);
        printf("dtype        %s\n", dtype);
        printf("ln_eps       %g\n", (double)cfg->ln_eps);
        if (eos >= 0) printf("eos_id       %d\n", eos);
        else printf("eos_id       none\n");
        printf("tokenizer    %s, %d tokens\n", tok_kind, tokenizer_vocab_size(cm.tok));
        for (size_t i = 0; i < N_FILES; i++)
            printf("file         %-18s %lld bytes\n", files[i], file_size(cm.dir, files[i]));
    }
    fflush(stdout);
    cli_model_close(&cm);
    return CLI_EXIT_OK;
}
