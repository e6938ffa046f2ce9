/* cli.h - what the gptscope subcommands share: error reporting with the
 * "gptscope: " prefix and the exit codes, checked parsing of flag values,
 * finding and opening a model directory, reading input, and writing JSON
 * strings that stay valid even when a token is half a UTF-8 character. */
#ifndef GPTSCOPE_CLI_H
#define GPTSCOPE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fileio.h"
#include "gpt.h"
#include "tokenizer.h"

/* Exit codes: 0 success, 1 a runtime failure (bad file, model error),
 * 2 a usage error (unknown flag, bad flag value), 130 interrupted (Ctrl-C). */
enum { CLI_EXIT_OK = 0, CLI_EXIT_ERROR = 1, CLI_EXIT_USAGE = 2, CLI_EXIT_INTERRUPTED = 130 };

/* Long-option values shared by every subcommand (getopt_long returns these). */
enum { CLI_OPT_JSON = 1000, CLI_OPT_FIRST_COMMAND_OPT };

/* One line on stderr: "gptscope: <message>". */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Usage errors: "gptscope: <cmd>: <message> (see 'gptscope help <cmd>')". */
void cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* getopt_long's '?' / ':' returns, turned into one usage line. */
void cli_bad_option(const char *cmd, int c, int optopt_val, char **argv, int optind_val);

/* Strict numeric parsing: the whole string must be a number inside the
 * range, else a usage error naming the flag is printed and -1 returned. */
int cli_parse_int(const char *cmd, const char *flag, const char *s, long lo, long hi, int *out);
int cli_parse_u64(const char *cmd, const char *flag, const char *s, uint64_t *out);
/* Range [lo, hi]; lo_open / hi_open make that end exclusive. */
int cli_parse_float(const char *cmd, const char *flag, const char *s, double lo, int lo_open,
                    double hi, int hi_open, float *out);

int cli_default_threads(void); /* all online cores */
/* --precision auto|f32|bf16 into *bf16 (auto: bf16 where the CPU has AMX or
 * AVX512-BF16). bf16 on a CPU with neither is a usage error. Returns 0, or
 * non-zero after printing the usage error. */
int cli_parse_precision(const char *cmd, const char *s, int *bf16);
int cli_precision_auto(void); /* what auto means here: 1 for bf16 */
/* "bf16 (AVX512-BF16)" or "f32", for the logs */
const char *cli_precision_name(int bf16);

/* A model directory opened for a subcommand. */
typedef struct cli_model {
    char dir[4096];
    gpt_config_t cfg;
    gpt_model_t *model;   /* NULL unless weights were asked for */
    tokenizer_t *tok;
} cli_model_t;

/* Picks the directory (the -m value, else $GPTSCOPE_MODEL, else the bundled
 * default model), reads config.json, the tokenizer, and the weights when
 * want_weights. Prints the error and returns -1 on failure. */
int cli_model_open(cli_model_t *cm, const char *dir_flag, int want_weights);
void cli_model_close(cli_model_t *cm);
tokenizer_kind_t cli_tokenizer_kind(const gpt_config_t *cfg);
/* End-of-text id: the tokenizer's, else the config's, else -1. */
int cli_eos_id(const cli_model_t *cm);
/* 0 when model directories a and b share a tokenizer: the same vocab.json
 * and merges.txt bytes (else the same id means different text in each, and
 * their probabilities cannot be compared). -1 with err when they differ
 * ("the models do not share a tokenizer (...)") or a file cannot be read. */
int cli_same_tokenizer(const char *a, const char *b, char *err, size_t errlen);

/* Reads a whole file (path "-" = stdin) into a malloc'd buffer with a NUL
 * after the data (fileio_read_file). Returns 0, or -1 with err. */
int cli_read_path(const char *path, char **data, size_t *len, char *err, size_t errlen);

/* Whitespace-separated non-negative decimal ids into a malloc'd array.
 * what names the source in errors ("--ids", "ids.txt"). */
int cli_parse_ids(const char *text, const char *what, int **ids, size_t *n, char *err,
                  size_t errlen);
/* Checks every id is inside the vocabulary; prints the error. */
int cli_check_ids(const int *ids, size_t n, int n_vocab, const char *what);

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there
 * are not one; *bad_len (may be NULL) gets the length of the maximal invalid
 * prefix to replace with one U+FFFD, as Python's errors="replace" does. */
int cli_utf8_seq(const unsigned char *s, size_t n, size_t *bad_len);
int cli_utf8_valid(const char *s, size_t n);
/* Writes s[0..n) as a JSON string literal: escapes, and U+FFFD in place of
 * invalid UTF-8, so the output always parses. */
void cli_json_string(FILE *out, const char *s, size_t n);
/* Writes a float as a JSON number ("null" for NaN, large values for inf). */
void cli_json_number(FILE *out, double v);

/* The subcommands (app/cmd_*.c): argv[0] is the subcommand's name; each
 * returns the process exit code. The help texts are printed by --help and
 * by 'gptscope help CMD'. */
int cmd_generate(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_bpe_train(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_repl(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_sessions(int argc, char **argv);
int cmd_baseline_nb(int argc, char **argv);
int cmd_finetune(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_eval_task(int argc, char **argv);
int cmd_plugins(int argc, char **argv);
int cmd_compare(int argc, char **argv);
extern const char cmd_generate_help[], cmd_eval_help[], cmd_tokenize_help[], cmd_info_help[];
extern const char cmd_train_help[], cmd_bpe_train_help[], cmd_calibrate_help[];
extern const char cmd_chat_help[], cmd_repl_help[], cmd_replay_help[], cmd_sessions_help[];
extern const char cmd_baseline_nb_help[], cmd_finetune_help[], cmd_classify_help[],
    cmd_eval_task_help[], cmd_plugins_help[], cmd_compare_help[];

#endif
