/* core/task/ - labelled tasks without training: the JSONL formats (this
 * header), their encoding as GPT-1's input transformations
 * (task_encode.h), metrics (task_metrics.h), the naive Bayes baseline
 * (naive_bayes.h), a model's task record (task_info.h), a fine-tuned
 * classifier on the inference path (task_infer.h) and zero-shot
 * classification (zeroshot.h). May include: decode, model, tokenizer,
 * kernels, base. This is its main header.
 *
 * task_data.h - labelled examples for GPT-1-style fine-tuning, read from
 * JSONL (one JSON object per line, blank lines skipped), in the four task
 * formats of the GPT-1 paper:
 *   classify  {"text": "...", "label": L}
 *   entail    {"premise": "...", "hypothesis": "...", "label": L}
 *   similar   {"a": "...", "b": "...", "label": L}
 *   choice    {"context": "...", "choices": ["...", ...], "label": K}
 * L is a string (or an integer, taken as its decimal text); K is the index of
 * the right choice. Every text must be valid UTF-8. A malformed line is an
 * error naming the file, the line and the field:
 *   "train.jsonl:12: \"label\" is missing"
 *   "train.jsonl:40: \"choices\" must be a non-empty array of strings"
 * Other keys are ignored, so a richer file still reads. */
#ifndef GPTSCOPE_TASK_DATA_H
#define GPTSCOPE_TASK_DATA_H

#include <stddef.h>

typedef enum { TASK_CLASSIFY = 0, TASK_ENTAIL, TASK_SIMILAR, TASK_CHOICE } task_kind_t;

/* "classify", "entail", "similar", "choice". */
const char *task_kind_name(task_kind_t k);
/* The inverse: 0, or -1 for an unknown name. */
int task_kind_parse(const char *name, task_kind_t *out);

typedef struct task_example {
    int n_fields;  /* classify 1 (text); entail 2 (premise, hypothesis); similar 2 (a, b);
                      choice 1 + n choices (context, then each choice) */
    char **fields; /* NUL-terminated UTF-8, owned */
    int label;     /* index into task_data_t.labels, or the right choice; -1: none given */
    int line;      /* 1-based line in the file, for messages */
} task_example_t;

typedef struct task_data {
    task_kind_t kind;
    task_example_t *ex;
    int n;
    /* classify / entail / similar: the class names, sorted (strcmp), so the
     * same training file always gives the same class order; choice: none */
    char **labels;
    int n_labels;
} task_data_t;

typedef struct task_read_opts {
    /* Fixed class names (a trained model's): a label outside them is an
     * error. NULL: collect the labels found. */
    const char *const *labels;
    int n_labels;
    int need_label; /* 1: every line must have a label; 0: optional (classify input) */
    /* classify only: a line that is not JSON is taken as the text itself
     * (reading raw lines from stdin); 0: it is an error */
    int plain_text_lines;
} task_read_opts_t;

/* Parses text[0..len) (name is used in messages). Returns 0, or -1 with err;
 * d is empty after a failure. */
int task_data_parse(task_data_t *d, task_kind_t kind, const char *text, size_t len,
                    const char *name, const task_read_opts_t *opts, char *err, size_t errlen);
/* Reads a file ("-" = stdin) and parses it. */
int task_data_read(task_data_t *d, task_kind_t kind, const char *path,
                   const task_read_opts_t *opts, char *err, size_t errlen);
void task_data_free(task_data_t *d); /* zeroes d; a zeroed d is a no-op */

#endif
