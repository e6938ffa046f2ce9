/* bpe_gpt2.h - GPT-2's byte-level BPE encoder (bpe_gpt2.c), on the merge
 * engine of bpe.h. tokenizer.c dispatches to it; bpe_train.c learns
 * vocabularies with the same pre-split and byte table. */
#ifndef GPTSCOPE_BPE_GPT2_H
#define GPTSCOPE_BPE_GPT2_H

#include <stddef.h>
#include <stdint.h>

#include "bpe.h"

/* Appends the ids of text[0..len) to out ("<|endoftext|>" in the text is
 * its id). Returns 0, or -1 with err (out of memory). */
int bpe_gpt2_encode(tokenizer_t *tok, const char *text, size_t len, bpe_out_t *out, char *err,
                    size_t errlen);
/* End of the GPT-2 pre-token (regex match) that starts at byte i of s[0..n). */
size_t bpe_gpt2_pretoken_end(const unsigned char *s, size_t n, size_t i);
/* GPT-2's bytes_to_unicode(): the printable code point standing for each byte. */
void bpe_gpt2_byte_table(uint32_t byte_to_cp[256]);

#endif
