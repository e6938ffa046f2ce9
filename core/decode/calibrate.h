/* calibrate.h - the softmax temperature that fits a model's predictions best
 * on held-out text, and a copy of the model with it built into the weights.
 *
 * A model trained for many epochs on a small text is over-confident on new
 * text: dividing every logit by a temperature T > 1 lowers its cross-entropy
 * there. With logits z scaled by s = 1/T the mean loss
 *     L(s) = mean_i [ logsumexp(s z_i) - s z_i[target_i] ]
 * is convex in s (a log-sum-exp of functions linear in s, minus a linear
 * term), so one scoring pass measures it on a grid of s and a parabola
 * through the best grid point and its two neighbours finds the minimum.
 *
 * Building it in: the output layer is tied, logits = h wte^T, and h is the
 * output of a LayerNorm, g * xhat + b (GPT-2's ln_f; GPT-1's last block's
 * ln_2, whose output feeds only the head). Multiplying that LayerNorm's g and
 * b by s gives a model in the same Hugging Face layout whose logits are
 * exactly s times the old ones, so every tool (and transformers) sees the
 * calibrated model with no extra parameter. */
#ifndef GPTSCOPE_CALIBRATE_H
#define GPTSCOPE_CALIBRATE_H

#include <stddef.h>

#include "gpt.h"

/* The grid: s = CALIB_S_LO + j * CALIB_S_STEP, j = 0..CALIB_GRID-1
 * (0.50 to 1.50, temperatures 2 to 0.67); s = 1 is point CALIB_ONE. */
#define CALIB_GRID 101
#define CALIB_ONE 50
#define CALIB_S_LO 0.5
#define CALIB_S_STEP 0.01

typedef struct calib {
    double nats[CALIB_GRID]; /* summed loss at each grid scale */
    long n;                  /* predictions added */
    float *work;             /* [2][n_vocab] scratch */
    int n_vocab;
} calib_t;

/* Returns 0, or -1 when out of memory. */
int calib_init(calib_t *c, int n_vocab);
void calib_free(calib_t *c);
/* Adds one prediction: raw logits [n_vocab] and the token that came. */
void calib_add(calib_t *c, const float *logits, int target);

typedef struct calib_fit {
    double scale;       /* s minimising the loss: logits x s, temperature 1/s */
    double nats_before; /* mean loss at s = 1 (nats per prediction) */
    double nats_after;  /* mean loss at scale (the parabola's minimum) */
    int at_edge;        /* the best grid point is an end of the grid: scale is that end */
} calib_fit_t;

/* Returns 0, or -1 with err when nothing was added. */
int calib_fit(const calib_t *c, calib_fit_t *fit, char *err, size_t errlen);

/* Writes the model of SRC_DIR with its logits scaled by s into DST_DIR
 * (created if missing; refused if it is SRC_DIR itself): model.safetensors
 * with the final LayerNorm's gain and bias times s (same dtypes, every other
 * tensor copied as it is) and copies of config.json and the tokenizer files.
 * Returns 0, or -1 with "PATH: problem" in err. */
int calib_write_model(const char *src_dir, const char *dst_dir, const gpt_config_t *cfg,
                      double scale, char *err, size_t errlen);

#endif
