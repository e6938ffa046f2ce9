/* task_encode.h - a labelled example as the token sequences the model reads,
 * by the GPT-1 paper's input transformations, with three special tokens
 * added to the vocabulary (start s, delimiter $, extract e):
 *   classify  [s] text [e]
 *   entail    [s] premise [$] hypothesis [e]
 *   similar   [s] a [$] b [e]  and  [s] b [$] a [e]   (no natural order)
 *   choice    [s] context [$] choice_k [e]            for each k
 * A sequence longer than max_len is cut: the longest text of it loses tokens
 * from its end until the sequence fits (the special tokens always stay). */
#ifndef GPTSCOPE_TASK_ENCODE_H
#define GPTSCOPE_TASK_ENCODE_H

#include <stddef.h>

#include "task_data.h"
#include "tokenizer.h"

/* Their text in vocab.json, appended after the model's own tokens. */
#define TASK_START_TOKEN "<|start|>"
#define TASK_DELIM_TOKEN "<|delim|>"
#define TASK_EXTRACT_TOKEN "<|extract|>"

typedef struct task_tokens {
    int start_id, delim_id, extract_id;
} task_tokens_t;

typedef struct task_seqs {
    int n_seq;
    int *ids;      /* all sequences back to back (malloc'd) */
    int *off, *len; /* [n_seq]: where each starts in ids and its length; the extract token is
                       at off + len - 1 */
    int truncated; /* 1 when a sequence had to be cut to max_len */
} task_seqs_t;

/* Encodes e (of kind) into out. max_len >= 4. Returns 0, or -1 with err
 * (a text the tokenizer refuses). */
int task_encode(tokenizer_t *tok, const task_tokens_t *sp, task_kind_t kind,
                const task_example_t *e, int max_len, task_seqs_t *out, char *err, size_t errlen);
void task_seqs_free(task_seqs_t *s); /* zeroes s */

/* Writes vocab_out: vocab_in's tokens with the three special tokens appended
 * as ids n_vocab, n_vocab + 1, n_vocab + 2 (n_vocab: vocab_in's size), through
 * a temporary file. *sp gets the ids. A vocabulary that already has one of
 * them is refused. Returns 0, or -1 with err. */
int task_vocab_extend(const char *vocab_in, const char *vocab_out, task_tokens_t *sp, char *err,
                      size_t errlen);

#endif
