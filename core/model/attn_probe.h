/* attn_probe.h - the attention weights of any position of a token sequence,
 * computed on demand from the model, for the heatmap views.
 *
 * Generation keeps only the newest position's attention (generate.h); a
 * user who walks the cursor back, switches to the whole-sequence matrix, or
 * replays a stored session needs the others. Recomputing them is one
 * forward pass over the window, which is cheaper than keeping
 * layers x heads x n_ctx floats for every token ever generated. The probe
 * owns its own inference state and keeps the cache of the last sequence it
 * ran, so walking the cursor over the same text re-runs only what differs.
 *
 * It also gives the residual stream at a position (attn_probe_hidden), for
 * the same reasons.
 *
 * Positions are window positions: ids[0] is position 0, and n <= n_ctx. */
#ifndef GPTSCOPE_ATTN_PROBE_H
#define GPTSCOPE_ATTN_PROBE_H

#include <stddef.h>

#include "gpt.h"

typedef struct attn_probe attn_probe_t;

attn_probe_t *attn_probe_init(const gpt_model_t *m, int n_threads, char *err, size_t errlen);
void attn_probe_free(attn_probe_t *p); /* NULL is a no-op */

/* Attention of query position pos over keys 0..pos, every layer and head:
 * out[(layer * n_head + head) * (pos + 1) + key], (pos + 1) * n_layer *
 * n_head floats. ids[0..pos] are the sequence up to and including pos. */
int attn_probe_row(attn_probe_t *p, const int *ids, int pos, float *out, char *err,
                   size_t errlen);

/* The whole causal matrix of one layer for ids[0..n): out[q * n + k] is the
 * weight of query q on key k (0 for k > q). head -1 averages the heads. */
int attn_probe_matrix(attn_probe_t *p, const int *ids, int n, int layer, int head, float *out,
                      char *err, size_t errlen);

/* The residual stream at position pos of ids[0..pos] (the same cache
 * reuse): out[(n_layer + 1) * n_embd], row 0 the embeddings, row l + 1 the
 * output of block l (gpt_state_capture_hidden). For the logit lens. */
int attn_probe_hidden(attn_probe_t *p, const int *ids, int pos, float *out, char *err,
                      size_t errlen);
/* The model's output head on one residual vector (gpt_unembed). */
int attn_probe_unembed(attn_probe_t *p, const float *h, float *logits, char *err,
                       size_t errlen);

#endif
