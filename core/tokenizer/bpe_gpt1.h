/* bpe_gpt1.h - GPT-1's BPE encoder (bpe_gpt1.c): a BERT-style pre-split,
 * lower-casing, characters + "</w>", on the merge engine of bpe.h.
 * tokenizer.c dispatches to it. */
#ifndef GPTSCOPE_BPE_GPT1_H
#define GPTSCOPE_BPE_GPT1_H

#include <stddef.h>
#include <stdint.h>

#include "bpe.h"

/* Appends the ids of text[0..len) to out. Returns 0, or -1 with err. */
int bpe_gpt1_encode(tokenizer_t *tok, const char *text, size_t len, bpe_out_t *out, char *err,
                    size_t errlen);
/* Python's str.strip() whitespace, for GPT-1's decode. */
int bpe_gpt1_is_py_space(uint32_t cp);

#endif
