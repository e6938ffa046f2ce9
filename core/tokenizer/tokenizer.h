/* core/tokenizer/ - text <-> token ids: this interface (tokenizer.c loads
 * vocab.json + merges.txt and decodes), the two encoders (bpe_gpt2.h,
 * bpe_gpt1.h) on the shared merge engine (bpe.h, internal: the only file
 * both encoders include; tokenizer.c includes them, never the other way
 * round), and learning a vocabulary (bpe_train.h). May include: base,
 * PCRE2, utf8proc. Knows nothing of models. This is its main header.
 *
 * tokenizer.h - text <-> token ids for both GPT families.
 *
 * GPT-2: byte-level BPE exactly as OpenAI's encoder.py / tiktoken "gpt2"
 * (pre-split regex, byte->unicode table, ranked merges, <|endoftext|> = special).
 * GPT-1: Hugging Face OpenAIGPTTokenizer without ftfy/spaCy (BERT BasicTokenizer
 * pre-split, lower-casing, "</w>" word ends, <unk>).
 * Both read vocab.json + merges.txt from a model directory. */
#ifndef GPTSCOPE_TOKENIZER_H
#define GPTSCOPE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TOKENIZER_GPT2 = 0, /* byte-level BPE */
    TOKENIZER_GPT1 = 1  /* openai-gpt BPE with </w> */
} tokenizer_kind_t;

typedef struct tokenizer tokenizer_t;

/* Loads DIR/vocab.json and DIR/merges.txt. Returns NULL on failure with a
 * one-line message naming the file and the problem in err. */
tokenizer_t *tokenizer_load(const char *dir, tokenizer_kind_t kind, char *err, size_t errlen);
/* Same from explicit file paths. */
tokenizer_t *tokenizer_load_files(const char *vocab_json, const char *merges_txt,
                                  tokenizer_kind_t kind, char *err, size_t errlen);
void tokenizer_free(tokenizer_t *tok); /* NULL is a no-op */

tokenizer_kind_t tokenizer_kind(const tokenizer_t *tok);
int tokenizer_vocab_size(const tokenizer_t *tok);
/* End-of-text id: GPT-2 "<|endoftext|>"; -1 when the vocabulary has none. */
int tokenizer_eot_id(const tokenizer_t *tok);
/* Id of an exact vocabulary string (as stored in vocab.json), or -1. */
int tokenizer_lookup(const tokenizer_t *tok, const char *token_str);

/* Encodes len bytes of UTF-8 text, appending ids to *ids (realloc'd; *n and
 * *cap are updated; pass *ids = NULL, *n = *cap = 0 to start). "<|endoftext|>"
 * in the text becomes the special id for GPT-2. Returns 0, or -1 with err set
 * (invalid UTF-8, with the byte offset; out of memory). */
int tokenizer_encode(tokenizer_t *tok, const char *text, size_t len,
                     int **ids, size_t *n, size_t *cap, char *err, size_t errlen);

/* BPE-dropout (Provilkov et al., 2020): while p > 0, encoding skips each
 * applicable merge with probability p (a skipped merge is tried again after
 * the next merge that does happen), so the same text gets different, still
 * valid segmentations: every id decodes to the same bytes. Draws come from a
 * generator seeded with seed, so a (p, seed) pair gives the same ids on every
 * machine. p = 0 returns to the deterministic encoding (the only one the
 * reference tokenizers produce). GPT-2 family only: GPT-1's tokenizer
 * ignores it. Used by training as data augmentation. */
void tokenizer_set_dropout(tokenizer_t *tok, float p, uint64_t seed);

/* The raw bytes a token stands for when decoded (GPT-2: the original bytes,
 * possibly a partial UTF-8 character; GPT-1: the word piece with "</w>"
 * turned into a trailing space). Pointer valid for the tokenizer's life.
 * Returns NULL for an out-of-range id. */
const char *tokenizer_token_bytes(const tokenizer_t *tok, int id, size_t *len);
/* The vocabulary string as stored in vocab.json (e.g. "Ġthe"), or NULL. */
const char *tokenizer_token_str(const tokenizer_t *tok, int id);

/* Decodes ids into a malloc'd NUL-terminated string (*out_len without the
 * NUL). Invalid UTF-8 produced by the byte sequence is replaced by U+FFFD,
 * as Hugging Face's decode(errors="replace") does. Returns NULL on a bad id
 * or out of memory, with err set. */
char *tokenizer_decode(const tokenizer_t *tok, const int *ids, size_t n, size_t *out_len,
                       char *err, size_t errlen);

/* Streaming decode: feed one id at a time; only complete UTF-8 characters
 * come out, so a terminal never sees half a character. */
typedef struct tokenizer_stream {
    const tokenizer_t *tok;
    unsigned char pending[8]; /* bytes of an unfinished UTF-8 character */
    size_t n_pending;
} tokenizer_stream_t;

void tokenizer_stream_init(tokenizer_stream_t *st, const tokenizer_t *tok);
/* Appends the printable text now complete to out (up to outcap-1 bytes,
 * NUL-terminated); returns the byte count written, or -1 on a bad id or when
 * outcap is too small (nothing is consumed then: retry with a larger buffer).
 * Bytes that can never start a valid character are emitted as U+FFFD. */
int tokenizer_stream_push(tokenizer_stream_t *st, int id, char *out, size_t outcap);
/* Flushes what is left at the end (an unfinished character becomes U+FFFD). */
int tokenizer_stream_flush(tokenizer_stream_t *st, char *out, size_t outcap);

#endif
