/* core/model/ - the transformer as a file and as a function: config.json
 * (gpt_config.c), model.safetensors (safetensors.h), loading and checking
 * every tensor (gpt_load.c), the KV-cached forward pass with attention and
 * residual-stream capture (gpt_forward.c), and any position's attention
 * recomputed (attn_probe.h). May include: kernels, base. Never sees
 * tokenizers, decoding or training. This is its main header.
 *
 * gpt.h - the decoder-only transformer: configuration, weights, and KV-cached
 * inference for GPT-1 (post-norm) and GPT-2 (pre-norm) from one code path.
 *
 *   GPT-2 block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x));  ... ln_f at the end
 *   GPT-1 block:  n = ln_1(x + attn(x));  x = ln_2(n + mlp(n));   no final norm
 * attn is causal multi-head self-attention, mlp is fc -> GELU(tanh approx) -> proj.
 * Logits = h @ wte^T (tied output embedding). */
#ifndef GPTSCOPE_GPT_H
#define GPTSCOPE_GPT_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

/* The largest shapes a config may ask for (each alone; products of them
 * are checked where memory is sized). */
#define GPT_MAX_LAYER 1000
#define GPT_MAX_HEAD 1024
#define GPT_MAX_EMBD 65536
#define GPT_MAX_CTX (1 << 20)
#define GPT_MAX_VOCAB (1 << 24)
#define GPT_MAX_INNER (1 << 20)

typedef struct gpt_config {
    char model_type[32]; /* "gpt2" or "openai-gpt" */
    int n_layer, n_head, n_embd, n_ctx, n_vocab;
    int n_inner;         /* MLP width, 4 * n_embd unless config.json says otherwise */
    float ln_eps;
    int pre_norm;        /* 1: GPT-2 block, 0: GPT-1 block */
    int final_ln;        /* 1: ln_f after the last block */
    int eos_id;          /* end-of-text id from the config, -1 if none */
    /* Outputs of a fine-tuned task head (clf.weight [n_clf, C], clf.bias
     * [n_clf]), from config.json's "gptscope_task": {"n_out": K, ...}
     * (task_config.h reads the rest); 0: a plain language model. */
    int n_clf;
} gpt_config_t;

/* Parses a Hugging Face config.json (model_type "gpt2" or "openai-gpt",
 * n_layer/n_head/n_embd/n_positions(n_ctx)/vocab_size/n_inner/
 * layer_norm_epsilon, activation_function must be a GELU). Returns 0, or -1
 * with "config.json: ..." in err. */
int gpt_config_load(gpt_config_t *cfg, const char *path, char *err, size_t errlen);
/* Checks the numbers are sane (positive, n_embd % n_head == 0, ...). */
int gpt_config_check(const gpt_config_t *cfg, char *err, size_t errlen);
/* Parameter count (tied output matrix counted once). */
int64_t gpt_config_n_params(const gpt_config_t *cfg);

typedef struct gpt_layer {
    const float *ln1_g, *ln1_b;
    kernel_weight_t qkv;  const float *qkv_b;  /* [C, 3C] */
    kernel_weight_t proj; const float *proj_b; /* [C, C] */
    const float *ln2_g, *ln2_b;
    kernel_weight_t fc;   const float *fc_b;   /* [C, 4C] */
    kernel_weight_t fc2;  const float *fc2_b;  /* [4C, C] */
} gpt_layer_t;

typedef struct gpt_model {
    gpt_config_t cfg;
    kernel_weight_t wte;            /* [V, C], also the output matrix (OUT_IN) */
    kernel_weight_t wpe;            /* [n_ctx, C] */
    const float *lnf_g, *lnf_b;     /* NULL for GPT-1 */
    const float *clf_w, *clf_b;     /* the task head, f32 [n_clf, C] and [n_clf]; NULL if none */
    gpt_layer_t *layers;            /* n_layer */
    kernel_dtype_t dtype;           /* dtype of the big matrices */
    char *dir;                      /* model directory */
    struct st_file *st;             /* the mapped safetensors file */
    void **owned;                   /* f32 copies made at load (small vectors, converted dtypes) */
    size_t n_owned, cap_owned;
} gpt_model_t;

/* Loads DIR/config.json + DIR/model.safetensors. Every tensor is checked
 * against the config (name, shape, dtype, bounds). Large matrices stay
 * memory-mapped; vectors (biases, LayerNorm) are converted to f32 copies.
 * Returns NULL with "DIR/model.safetensors: tensor h.3.attn.c_attn.weight has
 * shape [768, 2305], expected [768, 2304]"-style messages. */
gpt_model_t *gpt_load(const char *dir, char *err, size_t errlen);
/* The tensor NAME ("h.0.ln_1.weight") of an open model.safetensors, also
 * under Hugging Face's "transformer." prefix; NULL if neither is there. */
const struct st_tensor *gpt_find_tensor(const struct st_file *st, const char *name);
void gpt_free(gpt_model_t *m);

/* Inference state: KV cache for n_ctx positions and activation buffers for up
 * to max_tokens positions per gpt_forward call, sized once here. */
typedef struct gpt_state gpt_state_t;

/* State for up to max_tokens tokens per gpt_forward call (<= 0 or > n_ctx:
 * n_ctx). The attention cache starts at max_tokens positions and grows with
 * the context used, so memory follows the run, not n_positions. A state
 * that cannot fit in this process's memory (physical, or a ulimit -v) is
 * refused with a message saying how many GiB it needs; so is growth past it. */
gpt_state_t *gpt_state_init(const gpt_model_t *m, int max_tokens, int n_threads, char *err,
                            size_t errlen);
void gpt_state_free(gpt_state_t *s);
void gpt_state_reset(gpt_state_t *s);      /* forget the cache: n_past = 0 */
/* Threads for later calls, 1 .. the count given to gpt_state_init. */
void gpt_state_set_threads(gpt_state_t *s, int n);
int gpt_state_threads(const gpt_state_t *s);
/* 1 when a one-token gpt_forward gives the same bits for every thread count. */
int gpt_state_threads_invariant(const gpt_state_t *s);
int gpt_state_n_past(const gpt_state_t *s);
/* Copies the cache (first n_past positions) of src into dst; both from the
 * same model. For beam search. Returns 0 or -1. */
int gpt_state_copy(gpt_state_t *dst, const gpt_state_t *src);
/* Drops the cache after position n (n <= n_past). */
void gpt_state_truncate(gpt_state_t *s, int n);

/* Runs ids[0..n) at positions n_past..n_past+n-1 and appends them to the cache.
 *   logits: if all_logits, [n, V] for every position; else [V] for the last.
 *           May be NULL (only fill the cache).
 *   attn:   NULL, or a capture buffer of gpt_attn_capture_size(cfg, n) floats
 *           laid out [layer][head][i][key] with key stride n_ctx: row i holds
 *           the softmax weights of query position n_past+i over keys
 *           0..n_past+i (later keys are 0).
 * Returns 0, or -1 with err set: n > max_tokens, n_past + n > n_ctx (the caller
 * must slide its window), an id outside the vocabulary, out of memory. */
int gpt_forward(gpt_state_t *s, const int *ids, int n, float *logits, int all_logits, float *attn,
                char *err, size_t errlen);
size_t gpt_attn_capture_size(const gpt_config_t *cfg, int n);
/* The final hidden state [n_embd] of the last position of the last
 * gpt_forward (after ln_f where the model has one): what a task head reads.
 * Returns 0, or -1 before any forward. */
int gpt_state_final_hidden(gpt_state_t *s, float *out);
/* buf (NULL: off) gets, at every later gpt_forward, the residual stream of
 * its last position: [(n_layer + 1) * n_embd], row 0 the embeddings (token
 * + position), row l + 1 the output of block l. The caller owns buf. For
 * inspection (the logit lens); it costs one row copy per layer. */
void gpt_state_capture_hidden(gpt_state_t *s, float *buf);
/* The output head on one residual vector h[n_embd]: ln_f where the model has
 * one, then h @ wte^T -> logits[n_vocab]. Uses the state's buffers (not its
 * cache). Returns 0 or -1 with err. */
int gpt_unembed(gpt_state_t *s, const float *h, float *logits, char *err, size_t errlen);

#endif
