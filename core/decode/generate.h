/* core/decode/ - turning a model's logits into text: the sampling pipeline
 * (sampler.h), beam search (beam.h), the generation loop with its sliding
 * window (this header), a conversation with turns, recorders and forks
 * (chat.h; chat_internal.h is the chat files' own), scoring a text (score.h)
 * and temperature calibration (calibrate.h). May include: model, tokenizer,
 * kernels, base. This is its main header.
 *
 * generate.h - a generation session: the loop that turns a prompt into a
 * continuation, one token at a time, on top of gpt.h (forward + KV cache) and
 * sampler.h (choosing the next id).
 *
 * A session owns the inference state, the full token history (prompt and
 * generated ids, never forgotten, so a UI can show any position), and the
 * logits of the next position. The model sees a window of that history,
 * history[window_start .. n_history), which is at most n_ctx tokens long.
 *
 * Context overflow, documented policy:
 *   - A prompt longer than n_ctx - 1 tokens keeps its last n_ctx - 1 tokens in
 *     the window (one slot stays free for the first generated token); the
 *     dropped count is returned by gen_prefill.
 *   - When the window is full (n_ctx tokens) and another token must be
 *     processed, the window slides: the last n_ctx / 2 tokens of the history
 *     (the new token included) are kept, the cache is reset and those tokens
 *     are processed again. gen_step_t.n_dropped tells the caller. Position
 *     embeddings are absolute in GPT-1/2, so a slide must re-run the kept
 *     tokens at positions 0.. rather than shift the cache; halving the window
 *     makes that cost amortise to about one extra forward per generated token
 *     per n_ctx/2 tokens.
 *
 * Each step samples from the current logits, appends the id, and runs it
 * through the model at once so that gen_logits() and gen_attn() describe the
 * newest position. The token that ends the run (eos or max_new) is appended
 * but not run ("pending"); gen_sync() runs it if the caller wants to go on. */
#ifndef GPTSCOPE_GENERATE_H
#define GPTSCOPE_GENERATE_H

#include <stddef.h>

#include "gpt.h"
#include "sampler.h"

typedef enum {
    GEN_STOP_NONE = 0, /* keep going */
    GEN_STOP_EOS = 1,  /* the end-of-text id was chosen and stop_at_eos is set */
    GEN_STOP_MAX = 2   /* max_new tokens have been generated */
} gen_stop_t;

typedef struct gen_params {
    int max_new;      /* generated tokens after which a step reports GEN_STOP_MAX; 0 = no limit */
    int eos_id;       /* end-of-text id, -1 = none */
    int stop_at_eos;  /* 1: choosing eos_id ends the run */
    int capture_attn; /* 1: keep the attention weights of the newest position */
    int capture_hidden; /* 1: keep its residual stream after every block (gen_hidden) */
    int n_threads;    /* for the model's kernels, >= 1 */
    int max_batch;    /* tokens per gpt_forward call when prefilling; 0 = min(n_ctx, 512) */
    /* 1: each decode step runs on 1..n_threads threads as measured step
     * times say is fastest (threadtune.h: a busy machine makes 2 threads
     * slower than 1 on a small model). Only where the kernels give the same
     * bits for every count, so the output does not change; prefill and
     * slides always use n_threads. */
    int adaptive_threads;
} gen_params_t;

/* max_new 0, eos_id -1, stop_at_eos 1, capture_attn 0, capture_hidden 0, n_threads 1,
 * max_batch 0. */
gen_params_t gen_params_default(void);

typedef struct gen_step {
    int id;          /* the token chosen in this step */
    int n_dropped;   /* > 0: the window slid and this many tokens left the model's view */
    gen_stop_t stop; /* whether this token ends the run */
} gen_step_t;

typedef struct gen gen_t;

/* The model must outlive the session. NULL with err set on bad parameters or
 * out of memory. */
gen_t *gen_init(const gpt_model_t *m, const gen_params_t *p, char *err, size_t errlen);
void gen_free(gen_t *g); /* NULL is a no-op */

/* Starts over with ids[0..n) as the prompt (n >= 1): the history is replaced,
 * the cache rebuilt, and the logits of the position after the prompt
 * computed. *n_truncated (may be NULL) gets the number of prompt tokens
 * that do not fit the window (0 normally). Returns 0, or -1 with err. */
int gen_prefill(gen_t *g, const int *ids, int n, int *n_truncated, char *err, size_t errlen);

/* Samples the next id from the current logits with smp (penalties look at the
 * window, i.e. what the model sees), appends it and runs it unless it ends
 * the run. report (may be NULL) is filled by the sampler. Returns 0, or -1
 * with err (no prompt yet, model error). */
int gen_step(gen_t *g, sampler_t *smp, sampler_report_t *report, gen_step_t *out, char *err,
             size_t errlen);
/* Appends a caller-chosen id (a token picked in the UI, a forced reply) as
 * if it had been sampled: counts as generated, may stop or slide. */
int gen_accept(gen_t *g, int id, gen_step_t *out, char *err, size_t errlen);
/* Appends ids[0..n) (n >= 1) to the history as more prompt (a new user turn
 * in a chat) and runs them, after the pending token if any. The generated
 * count starts again from 0, so max_new applies to the reply that follows.
 * When the window cannot take them (one slot stays free, as for a prompt), it
 * slides: the last max(n_ctx / 2, n) tokens (at most n_ctx - 1) are kept and
 * run again from position 0. *n_dropped (may be NULL) gets how many tokens
 * left the window. Needs a processed prompt first. Returns 0 or -1. */
int gen_extend(gen_t *g, const int *ids, int n, int *n_dropped, char *err, size_t errlen);
/* Runs a pending token (see the top of this file); no-op if none. */
int gen_sync(gen_t *g, char *err, size_t errlen);
/* Cuts the history back to its first n ids (1 <= n <= its length) so that
 * another id can follow ids[n - 1]: a fork, "what if the model had chosen
 * another token at n". window_start is the window ids[n] was run in, which
 * the new id should see too (-1 or one that cannot hold ids[n]: the
 * prompt policy's, the last n_ctx - 1 ids). Where the model's window still
 * begins there and the cache holds ids[n - 1], the cache is kept: positions
 * after it are dropped and only ids[n - 1] runs again, for its logits and
 * captures. Otherwise ids[window_start .. n) are run afresh. The generated
 * count starts again from 0. Returns 0 or -1 with err. */
int gen_rewind(gen_t *g, int n, int window_start, char *err, size_t errlen);
/* Positions run through the model since gen_init (prompts, steps, slides,
 * rewinds): what the calls cost, for tests and benchmarks. */
long long gen_n_run(const gen_t *g);

/* The whole history (prompt + generated), valid until the next call. */
const int *gen_history(const gen_t *g, int *n);
int gen_window_start(const gen_t *g);  /* first history index the model sees */
int gen_n_generated(const gen_t *g);   /* ids added by gen_step / gen_accept */
int gen_pending(const gen_t *g);       /* 1 if the last id has not been run */
/* Logits [n_vocab] for the position after the last run token. */
const float *gen_logits(const gen_t *g);
/* The thread count most decode steps ran on, and whether it was adaptive. */
int gen_threads_mostly(const gen_t *g);
int gen_threads_adaptive(const gen_t *g);
/* Attention of the newest run position, laid out [layer][head][key] with key
 * stride n_ctx over window positions 0..*pos (later keys 0); *pos is its
 * position in the window and *hist_index its index in the history. NULL when
 * capture is off or nothing has been run. */
const float *gen_attn(const gen_t *g, int *pos, int *hist_index);
const gpt_model_t *gen_model(const gen_t *g);
/* The residual stream of the newest run position, [(n_layer + 1) * n_embd]
 * (gpt.h: gpt_state_capture_hidden), *hist_index its history index. NULL
 * when capture_hidden is off or nothing has been run. */
const float *gen_hidden(const gen_t *g, int *hist_index);

#endif
