/* bpe_train.h - learning a GPT-2-style byte-level BPE vocabulary from a corpus.
 *
 * The corpus is pre-split exactly as the GPT-2 tokenizer does (contractions,
 * letter runs, digit runs, punctuation, whitespace), words are counted, and
 * the most frequent adjacent pair of symbols is merged repeatedly until the
 * vocabulary has vocab_size entries: the 256 byte symbols (ids 0..255, in
 * GPT-2's byte-to-unicode order), one per merge in the order learned, and
 * "<|endoftext|>" last. The result is written as vocab.json + merges.txt in
 * the format GPT-2's tokenizer (ours and Hugging Face's) reads. */
#ifndef GPTSCOPE_BPE_TRAIN_H
#define GPTSCOPE_BPE_TRAIN_H

#include <stddef.h>

typedef struct bpe_train_opts {
    int vocab_size;      /* total, including the 256 bytes and <|endoftext|> (>= 257) */
    int min_frequency;   /* stop early when the best pair occurs fewer times; 0 = 2 */
    /* Called now and then with the merges learned so far (may be NULL); the
     * last call, and only it, has merges_done == merges_total (the number
     * actually learned, which is smaller when the corpus runs out). */
    void (*progress)(void *user, int merges_done, int merges_total);
    void *user;
} bpe_train_opts_t;

/* Learns merges from the n_texts buffers (each pre-split on its own; a word
 * never spans two buffers) and writes OUT_DIR/vocab.json and OUT_DIR/merges.txt
 * (through temporary files renamed into place; OUT_DIR is created if needed).
 * Invalid UTF-8 in a text is an error naming it (names[i]; names may be NULL:
 * "text 1", ...) and the byte offset; nothing is written then. Ties between
 * equally frequent pairs go to the smallest left id, then right id.
 * Returns the vocabulary size written (smaller than asked when no pair is left
 * that occurs min_frequency times), or -1 with err set. */
int bpe_train(const char *const *texts, const size_t *lens, const char *const *names, int n_texts,
              const bpe_train_opts_t *opts, const char *out_dir, char *err, size_t errlen);

#endif
