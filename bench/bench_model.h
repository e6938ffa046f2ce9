/* bench_model.h - part (d) of bench: a GPT-2-shaped model with random
 * weights, written in f32, f16 and bf16 to a temporary directory, then loaded
 * with gpt_load and timed end to end (prefill, decode, attention capture). */
#ifndef GPTSCOPE_BENCH_MODEL_H
#define GPTSCOPE_BENCH_MODEL_H

#include <stddef.h>

typedef struct bench_model bench_model_t;

/* Writes the three checkpoints (quick: a 2-layer, 256-wide model for a smoke
 * run). NULL with a message in err on failure. */
bench_model_t *bench_model_init(int quick, char *err, size_t errlen);
/* Removes the temporary files. */
void bench_model_free(bench_model_t *bm);

/* Prints prefill and decode figures with n_threads; stream_gbs is the
 * measured weight-streaming bandwidth (GB/s) for the "% of bound" figure.
 * Returns 0, or -1 with a message in err. */
int bench_model_run(bench_model_t *bm, int n_threads, double stream_gbs, char *err,
                    size_t errlen);

#endif
