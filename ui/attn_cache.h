/* attn_cache.h - the attention the panes show, computed once and shared: the
 * attention pane lists and draws it, the transcript tints its text by it.
 *
 * The row of position pos holds, for every layer and head, the softmax
 * weights of query pos over keys start..pos, where start is the first token
 * of the window the model read pos in (stored per token; for a token that
 * has left the window without one, the n_ctx tokens ending at it). One row
 * for all layers and heads is cached, so changing layer or head costs
 * nothing; the matrix of one layer and head is cached per sequence.
 * Computing either is a forward pass (core/model/attn_probe.h), so while a reply
 * streams the newest row is copied from generation itself and nothing else
 * is computed until the reply ends. No curses here. */
#ifndef GPTSCOPE_UI_ATTN_CACHE_H
#define GPTSCOPE_UI_ATTN_CACHE_H

#include <stddef.h>

#include "chat.h"

typedef struct attn_cache attn_cache_t;

attn_cache_t *attn_cache_create(void);
void attn_cache_free(attn_cache_t *a);

/* First token of the window position pos was read in. */
int attn_window_start(const chat_t *c, int pos);

/* Makes the cached row hold position pos of chat c at epoch (the view's
 * counter of wholesale changes). may_compute 0: only what generation holds
 * or the cache already has. Returns 0 when the row is there, 1 when it
 * would need a forward pass that may_compute forbids, -1 on error
 * (attn_cache_error). */
int attn_cache_row(attn_cache_t *a, const chat_t *c, int epoch, int pos, int may_compute,
                   int n_threads);
/* Position of the row cached for chat c at epoch, or -1 (an older row kept
 * while the newest one cannot be had). */
int attn_cache_row_pos(const attn_cache_t *a, const chat_t *c, int epoch);
/* The cached row's window: keys start..pos (n_keys of them). */
int attn_cache_row_start(const attn_cache_t *a);
int attn_cache_row_keys(const attn_cache_t *a);
/* Weight of key k (0-based from the row's start) in layer, head (-1: the
 * mean of the heads). */
float attn_cache_weight(const attn_cache_t *a, int layer, int head, int k);

/* Makes the cached matrix hold layer/head over the window of the newest
 * token last: out *start and *n (queries and keys start..start+n-1, m[q*n+k]).
 * Returns 0 when current, 1 when an older matrix of this chat is kept because
 * may_compute is 0, -2 when there is none and may_compute is 0, -1 on error. */
int attn_cache_matrix(attn_cache_t *a, const chat_t *c, int epoch, int last, int layer, int head,
                      int may_compute, int n_threads, const float **m, int *start, int *n);

const char *attn_cache_error(const attn_cache_t *a);

#endif
