/* main.c - the gptscope command: picks the subcommand and hands over its
 * arguments. Everything a subcommand does lives in app/cmd_<name>.c; what
 * they share (flag values, model loading, JSON) in app/cli.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas_core.h"
#include "cli.h"

#ifndef GPTSCOPE_VERSION
#define GPTSCOPE_VERSION "unknown"
#endif

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"chat", cmd_chat, cmd_chat_help, "the terminal UI (also what plain 'gptscope' runs)"},
    {"repl", cmd_repl, cmd_repl_help, "line-oriented chat on stdin/stdout (readline)"},
    {"replay", cmd_replay, cmd_replay_help, "play a stored session back in the terminal UI"},
    {"sessions", cmd_sessions, cmd_sessions_help, "list, show, export, delete, search stored sessions"},
    {"generate", cmd_generate, cmd_generate_help, "continue a prompt (sampling or beam search)"},
    {"eval", cmd_eval, cmd_eval_help, "cross-entropy, perplexity and bits per byte of a text"},
    {"compare", cmd_compare, cmd_compare_help, "two models on the same tokens: p(A), p(B), log-ratio"},
    {"calibrate", cmd_calibrate, cmd_calibrate_help, "fit the softmax temperature on held-out text"},
    {"tokenize", cmd_tokenize, cmd_tokenize_help, "text to token ids, or ids back to text"},
    {"info", cmd_info, cmd_info_help, "describe a model directory"},
    {"train", cmd_train, cmd_train_help, "pre-train (or continue training) a model on text"},
    {"bpe-train", cmd_bpe_train, cmd_bpe_train_help, "learn a BPE vocabulary from text"},
    {"finetune", cmd_finetune, cmd_finetune_help, "GPT-1 fine-tuning: a task head on labelled examples"},
    {"classify", cmd_classify, cmd_classify_help, "labels and class probabilities from a fine-tuned model"},
    {"eval-task", cmd_eval_task, cmd_eval_task_help, "accuracy, F1 and confusion of a fine-tuned model"},
    {"baseline-nb", cmd_baseline_nb, cmd_baseline_nb_help, "naive Bayes baseline for a labelled task"},
    {"plugins", cmd_plugins, cmd_plugins_help, "list the plugins found, or what one adds"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const command_t *find_command(const char *name) {
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static void print_overview(FILE *out) {
    fprintf(out,
            "gptscope %s - a GPT you can look inside\n"
            "\n"
            "usage: gptscope [chat options]       the terminal UI on the bundled model\n"
            "       gptscope COMMAND [options]\n"
            "       gptscope help [COMMAND]\n"
            "       gptscope --version\n"
            "\n"
            "commands:\n",
            GPTSCOPE_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "Every command takes -m DIR, a Hugging Face GPT-2 or GPT-1 (openai-gpt)\n"
            "directory with config.json, model.safetensors, vocab.json and merges.txt.\n"
            "Without -m, $GPTSCOPE_MODEL or the bundled default model is used.\n"
            "'gptscope help COMMAND' or 'gptscope COMMAND --help' shows its options.\n");
}

/* "chat, repl, ..." for error messages, from the table. */
static const char *command_list(char *buf, size_t cap) {
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_COMMANDS && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? ", " : "", commands[i].name);
    return buf;
}

int main(int argc, char **argv) {
    /* first: OpenBLAS picked its kernels when it loaded, and an unknown CPU
     * gets slow generic ones (blas_core.h); start again with better ones */
    blas_core_restart(argv);
    char list[512];
    /* no command, or options first (gptscope -m DIR): the terminal UI */
    if (argc < 2 || (argv[1][0] == '-' && argv[1][1] && strcmp(argv[1], "--help") != 0 &&
                     strcmp(argv[1], "-h") != 0 && strcmp(argv[1], "--version") != 0 &&
                     strcmp(argv[1], "-V") != 0)) {
        argv[0] = "chat";
        return cmd_chat(argc, argv);
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_overview(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("gptscope %s\nblas: OpenBLAS, %s kernels%s\n", GPTSCOPE_VERSION,
               blas_core_name(), getenv("OPENBLAS_CORETYPE") ? " ($OPENBLAS_CORETYPE)" : "");
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            print_overview(stdout);
            return CLI_EXIT_OK;
        }
        const command_t *cmd = find_command(argv[2]);
        if (!cmd) {
            cli_error("help: unknown command '%s' (commands: %s)", argv[2],
                      command_list(list, sizeof list));
            return CLI_EXIT_USAGE;
        }
        fputs(cmd->help, stdout);
        return CLI_EXIT_OK;
    }
    const command_t *cmd = find_command(name);
    if (!cmd) {
        cli_error("unknown command '%s' (commands: %s; see 'gptscope --help')", name,
                  command_list(list, sizeof list));
        return CLI_EXIT_USAGE;
    }
    return cmd->run(argc - 1, argv + 1);
}
