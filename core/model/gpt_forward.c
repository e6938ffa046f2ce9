/* gpt_forward.c - KV-cached inference for both GPT families.
 *
 * One call runs T new tokens through every block; their keys and values are
 * appended to the cache, so decode (T = 1) costs one pass over the weights.
 * Shapes (C = n_embd, H = n_head, D = C / H, F = n_inner, V = n_vocab):
 *   x      [T, C]   residual stream
 *   qkv    [T, 3C]  = norm(x) @ c_attn + b  (q | k | v, each split into H heads of D)
 *   att    [T, C]   head h: softmax(q_h k_h^T / sqrt(D), causal) v_h
 *   hid    [T, F]   = GELU(norm(x) @ c_fc + b)
 *   logits [T, V]   = norm_f(x) @ wte^T
 * The cache holds k and v as [layer][position][C], head h at columns h*D.. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "gpt.h"
#include "mathx.h"
#include "memx.h"

/* From this many tokens per call, attention runs as two matrix products per
 * head (Q K^T, then P V) instead of one dot product per (query, key). */
#define FW_GEMM_ATTN_MIN 8

struct gpt_state {
    const gpt_model_t *m;
    kernel_ctx_t *kctx;
    int n_threads, max_threads; /* in use now / at most (gpt_state_set_threads) */
    int max_tokens;
    int n_past;
    int last_n;               /* tokens of the last gpt_forward (its rows of x) */
    /* The cache holds cap positions and grows (doubling, up to n_ctx) with
     * the context actually used: a model with a 1M-position table but a
     * 3-token prompt must not commit gigabytes up front. */
    int cap;
    float *k_cache, *v_cache; /* [L][cap][C] */
    float *x, *xn, *qkv, *att, *tmp, *hid; /* activations for max_tokens rows */
    float *scores;            /* [n_threads][cap] attention row per thread */
    float *scores_mat;        /* [max_tokens][cap] one head's scores, multi-token calls */
    float *hidden;            /* NULL, or [(L + 1) * C]: the last position's residual stream */
};

/* Bytes of the cache-sized buffers for cap positions. */
static double fw_cache_bytes(const gpt_config_t *c, int max_tokens, int n_threads, int cap) {
    double kv = 2.0 * c->n_layer * (double)cap * c->n_embd;
    double sc = (double)n_threads * cap + (max_tokens >= FW_GEMM_ATTN_MIN ? (double)max_tokens * cap : 0);
    return 4.0 * (kv + sc);
}

/* What this process may use: physical memory, or less under a ulimit -v
 * (RLIMIT_AS); 0 when unknown. */
static double fw_mem_limit(void) {
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    double lim = pages > 0 && size > 0 ? (double)pages * (double)size : 0;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (lim == 0 || (double)rl.rlim_cur < lim))
        lim = (double)rl.rlim_cur;
    return lim;
}

/* Bytes of the per-call activations for max_tokens rows. */
static double fw_act_bytes(const gpt_config_t *c, int max_tokens) {
    return 4.0 * max_tokens * (6.0 * c->n_embd + c->n_inner);
}

/* Makes room for need positions: new buffers of the larger capacity, the
 * n_past cached positions copied over. Refuses, saying how much it would
 * take, when the cache alone would not fit in this machine's memory. */
static int fw_reserve(gpt_state_t *s, int need, char *err, size_t errlen) {
    if (need <= s->cap) return 0;
    const gpt_config_t *c = &s->m->cfg;
    int cap = s->cap > 0 ? s->cap : 16;
    while (cap < need) cap = cap > c->n_ctx / 2 ? c->n_ctx : 2 * cap;
    if (cap > c->n_ctx) cap = c->n_ctx;
    double bytes = fw_cache_bytes(c, s->max_tokens, s->max_threads, cap);
    double total = bytes + fw_act_bytes(c, s->max_tokens), lim = fw_mem_limit();
    if (lim > 0 && total > lim) {
        snprintf(err, errlen,
                 "a context of %d positions needs %.1f GiB of inference state (%d layers x %d "
                 "wide); %.1f GiB is all this process may use",
                 need, total / (1 << 30), c->n_layer, c->n_embd, lim / (1 << 30));
        return -1;
    }
    size_t C = (size_t)c->n_embd, L = (size_t)c->n_layer;
    float *k = memx_floats(L * (size_t)cap * C), *v = memx_floats(L * (size_t)cap * C);
    float *sc = memx_floats((size_t)s->max_threads * (size_t)cap);
    float *sm = s->max_tokens >= FW_GEMM_ATTN_MIN ? memx_floats((size_t)s->max_tokens * cap) : sc;
    if (!k || !v || !sc || !sm) {
        free(k);
        free(v);
        free(sc);
        if (sm != sc) free(sm);
        snprintf(err, errlen, "out of memory: a context of %d positions needs %.1f GiB for the "
                 "attention cache", need, bytes / (1 << 30));
        return -1;
    }
    for (size_t l = 0; l < L && s->n_past > 0; l++) {
        memcpy(k + l * cap * C, s->k_cache + l * s->cap * C, (size_t)s->n_past * C * sizeof(float));
        memcpy(v + l * cap * C, s->v_cache + l * s->cap * C, (size_t)s->n_past * C * sizeof(float));
    }
    free(s->k_cache);
    free(s->v_cache);
    free(s->scores);
    if (s->scores_mat != s->scores) free(s->scores_mat);
    s->k_cache = k;
    s->v_cache = v;
    s->scores = sc;
    s->scores_mat = sm;
    s->cap = cap;
    return 0;
}

void gpt_state_free(gpt_state_t *s) {
    if (!s) return;
    kernel_ctx_free(s->kctx);
    free(s->k_cache);
    free(s->v_cache);
    free(s->x);
    free(s->xn);
    free(s->qkv);
    free(s->att);
    free(s->tmp);
    free(s->hid);
    free(s->scores);
    if (s->scores_mat != s->scores) free(s->scores_mat);
    free(s);
}

gpt_state_t *gpt_state_init(const gpt_model_t *m, int max_tokens, int n_threads, char *err,
                            size_t errlen) {
    const gpt_config_t *c = &m->cfg;
    if (max_tokens <= 0 || max_tokens > c->n_ctx) max_tokens = c->n_ctx;
    if (n_threads <= 0) n_threads = 1;
    gpt_state_t *s = calloc(1, sizeof(*s));
    if (!s) goto oom;
    s->m = m;
    s->max_tokens = max_tokens;
    s->n_threads = s->max_threads = n_threads;
    size_t C = (size_t)c->n_embd, T = (size_t)max_tokens;
    /* refuse before allocating: zero-filling activations for a huge
     * max_tokens would commit the memory that the check is there to save */
    double first = fw_act_bytes(c, max_tokens) + fw_cache_bytes(c, max_tokens, n_threads, max_tokens);
    double lim = fw_mem_limit();
    if (lim > 0 && first > lim) {
        snprintf(err, errlen,
                 "%d tokens at a time need %.1f GiB of inference state (%d layers x %d wide); "
                 "%.1f GiB is all this process may use",
                 max_tokens, first / (1 << 30), c->n_layer, c->n_embd, lim / (1 << 30));
        free(s);
        return NULL;
    }
    s->kctx = kernel_ctx_init(n_threads);
    s->x = memx_floats(T * C);
    s->xn = memx_floats(T * C);
    s->qkv = memx_floats(T * 3 * C);
    s->att = memx_floats(T * C);
    s->tmp = memx_floats(T * C);
    s->hid = memx_floats(T * (size_t)c->n_inner);
    if (!s->kctx || !s->x || !s->xn || !s->qkv || !s->att || !s->tmp || !s->hid) goto oom;
    /* room for one full call to begin with; more as the context grows */
    if (fw_reserve(s, max_tokens, err, errlen) != 0) {
        gpt_state_free(s);
        return NULL;
    }
    return s;
oom:
    snprintf(err, errlen, "out of memory allocating the inference state (n_ctx %d)", c->n_ctx);
    gpt_state_free(s);
    return NULL;
}

void gpt_state_reset(gpt_state_t *s) {
    s->n_past = 0;
    s->last_n = 0;
}

void gpt_state_set_threads(gpt_state_t *s, int n) {
    /* the per-thread score rows were sized for max_threads */
    if (n < 1) n = 1;
    if (n > s->max_threads) n = s->max_threads;
    s->n_threads = n;
    kernel_ctx_set_threads(s->kctx, n);
}

int gpt_state_threads(const gpt_state_t *s) { return s->n_threads; }

int gpt_state_threads_invariant(const gpt_state_t *s) {
    return kernel_ctx_decode_invariant(s->kctx);
}
int gpt_state_n_past(const gpt_state_t *s) { return s->n_past; }

void gpt_state_truncate(gpt_state_t *s, int n) {
    if (n >= 0 && n < s->n_past) s->n_past = n;
}

int gpt_state_copy(gpt_state_t *dst, const gpt_state_t *src) {
    if (dst->m != src->m) return -1;
    const gpt_config_t *c = &src->m->cfg;
    char err[256];
    if (fw_reserve(dst, src->n_past, err, sizeof err) != 0) return -1;
    size_t C = (size_t)c->n_embd;
    for (size_t l = 0; l < (size_t)c->n_layer; l++) {
        memcpy(dst->k_cache + l * dst->cap * C, src->k_cache + l * src->cap * C,
               (size_t)src->n_past * C * sizeof(float));
        memcpy(dst->v_cache + l * dst->cap * C, src->v_cache + l * src->cap * C,
               (size_t)src->n_past * C * sizeof(float));
    }
    dst->n_past = src->n_past;
    return 0;
}

size_t gpt_attn_capture_size(const gpt_config_t *cfg, int n) {
    return (size_t)cfg->n_layer * (size_t)cfg->n_head * (size_t)n * (size_t)cfg->n_ctx;
}

/* LayerNorm over each of T rows: y = (x - mean) / sqrt(var + eps) * g + b,
 * biased variance as torch does. Two passes keep the variance exact-ish
 * (no E[x^2] - E[x]^2 cancellation). */
static void fw_layernorm(float *y, const float *x, const float *g, const float *b, int T, int C,
                         float eps) {
    for (int t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * C;
        float *yr = y + (size_t)t * C;
        float mean = 0.0f;
#pragma omp simd reduction(+ : mean)
        for (int i = 0; i < C; i++) mean += xr[i];
        mean /= (float)C;
        float var = 0.0f;
#pragma omp simd reduction(+ : var)
        for (int i = 0; i < C; i++) {
            float d = xr[i] - mean;
            var += d * d;
        }
        var /= (float)C;
        float rstd = 1.0f / sqrtf(var + eps);
        for (int i = 0; i < C; i++) yr[i] = (xr[i] - mean) * rstd * g[i] + b[i];
    }
}

/* GELU, tanh approximation: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
 * Since 0.5 (1 + tanh(u)) = 1 / (1 + exp(-2u)), one exp replaces tanhf
 * (mathx_exp, which vectorises); for large |u| it saturates to x or -0. */
static void fw_gelu(float *x, size_t n, int n_threads) {
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
#pragma omp parallel for simd num_threads(n_threads) schedule(static) if (n > 16384)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float u = k * (v + 0.044715f * v * v * v);
        x[i] = v / (1.0f + mathx_exp(-2.0f * u));
    }
}

/* Causal attention for T queries at positions n_past..n_past+T-1 of layer l,
 * reading keys/values 0..pos from the cache. One (head, query) row at a time:
 * scores = q.k / sqrt(D); softmax with the max subtracted (exp of non-positive
 * numbers cannot overflow, and the shift cancels in the normalisation). */
static void fw_attention(gpt_state_t *s, int l, int T, float *capture) {
    const gpt_config_t *c = &s->m->cfg;
    int C = c->n_embd, H = c->n_head, D = C / H, n_ctx = c->n_ctx;
    const float *kc = s->k_cache + (size_t)l * s->cap * C;
    const float *vc = s->v_cache + (size_t)l * s->cap * C;
    float scale = 1.0f / sqrtf((float)D);
    int rows = H * T;
#pragma omp parallel for num_threads(s->n_threads) schedule(dynamic, 1) if (rows > 1)
    for (int r = 0; r < rows; r++) {
        int h = r / T, i = r % T;
        int pos = s->n_past + i;
        const float *q = s->qkv + (size_t)i * 3 * C + h * D;
        /* Capture on: the softmax row is written straight into the caller's
         * buffer. Off: each thread works in its own scratch row. */
        float *buf = capture ? capture + (((size_t)l * H + h) * T + i) * n_ctx
                             : s->scores + (size_t)omp_get_thread_num() * s->cap;
        float mx = -INFINITY;
        for (int j = 0; j <= pos; j++) {
            const float *k = kc + (size_t)j * C + h * D;
            float dot = 0.0f;
            /* simd reduction: lets the compiler keep 16 partial sums */
#pragma omp simd reduction(+ : dot)
            for (int d = 0; d < D; d++) dot += q[d] * k[d];
            dot *= scale;
            buf[j] = dot;
            if (dot > mx) mx = dot;
        }
        float sum = 0.0f;
        for (int j = 0; j <= pos; j++) {
            buf[j] = mathx_exp(buf[j] - mx);
            sum += buf[j];
        }
        float inv = 1.0f / sum;
        float *out = s->att + (size_t)i * C + h * D;
        for (int d = 0; d < D; d++) out[d] = 0.0f;
        for (int j = 0; j <= pos; j++) {
            float w = buf[j] * inv;
            buf[j] = w;
            const float *v = vc + (size_t)j * C + h * D;
            for (int d = 0; d < D; d++) out[d] += w * v[d];
        }
        if (capture && pos + 1 < n_ctx) memset(buf + pos + 1, 0, (size_t)(n_ctx - pos - 1) * sizeof(float));
    }
}

/* The same attention for many queries at once, per head h (P = n_past + T):
 *   S[T, P] = Q_h[T, D] K_h[P, D]^T / sqrt(D)       (sgemm, strided views)
 *   S[i, j] = softmax_j(S[i, j]) for j <= n_past + i, 0 beyond (causal)
 *   att_h[T, D] = S[T, P] V_h[P, D]                   (sgemm)
 * Zeroed masked entries make the second product exact. With capture on, S
 * is the caller's buffer (its row stride is n_ctx too). */
static void fw_attention_gemm(gpt_state_t *s, int l, int T, float *capture) {
    const gpt_config_t *c = &s->m->cfg;
    int C = c->n_embd, H = c->n_head, D = C / H, n_ctx = c->n_ctx;
    int P = s->n_past + T;
    const float *kc = s->k_cache + (size_t)l * s->cap * C;
    const float *vc = s->v_cache + (size_t)l * s->cap * C;
    float scale = 1.0f / sqrtf((float)D);
    int ld = capture ? n_ctx : s->cap; /* row stride of S */
    for (int h = 0; h < H; h++) {
        float *S = capture ? capture + ((size_t)l * H + h) * T * n_ctx : s->scores_mat;
        kernel_gemm(s->kctx, 1, T, P, D, scale, s->qkv + h * D, 3 * C, kc + h * D, C, S, ld);
        int row_end = capture ? n_ctx : P; /* what later readers look at */
#pragma omp parallel for num_threads(s->n_threads) schedule(static)
        for (int i = 0; i < T; i++) {
            float *row = S + (size_t)i * ld;
            int n_keys = s->n_past + i + 1;
            float mx = -INFINITY;
            for (int j = 0; j < n_keys; j++) mx = row[j] > mx ? row[j] : mx;
            float sum = 0.0f;
            for (int j = 0; j < n_keys; j++) {
                row[j] = mathx_exp(row[j] - mx);
                sum += row[j];
            }
            float inv = 1.0f / sum;
            for (int j = 0; j < n_keys; j++) row[j] *= inv;
            memset(row + n_keys, 0, (size_t)(row_end - n_keys) * sizeof(float));
        }
        kernel_gemm(s->kctx, 0, T, D, P, 1.0f, S, ld, vc + h * D, C, s->att + h * D, C);
    }
}

static int fw_linear(gpt_state_t *s, float *y, const float *x, int T, const kernel_weight_t *w,
                     const float *b, char *err, size_t errlen) {
    if (kernel_linear(s->kctx, y, x, T, w, b) != 0) {
        snprintf(err, errlen, "out of memory in a linear layer");
        return -1;
    }
    return 0;
}

static void fw_add(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

static int fw_block(gpt_state_t *s, int l, int T, float *capture, char *err, size_t errlen) {
    const gpt_config_t *c = &s->m->cfg;
    const gpt_layer_t *L = &s->m->layers[l];
    int C = c->n_embd;
    size_t TC = (size_t)T * C;
    /* GPT-2 normalises the block input; GPT-1 feeds the raw stream. */
    const float *in = s->x;
    if (c->pre_norm) {
        fw_layernorm(s->xn, s->x, L->ln1_g, L->ln1_b, T, C, c->ln_eps);
        in = s->xn;
    }
    if (fw_linear(s, s->qkv, in, T, &L->qkv, L->qkv_b, err, errlen)) return -1;
    float *kc = s->k_cache + (size_t)l * s->cap * C;
    float *vc = s->v_cache + (size_t)l * s->cap * C;
    for (int i = 0; i < T; i++) {
        memcpy(kc + (size_t)(s->n_past + i) * C, s->qkv + (size_t)i * 3 * C + C, C * sizeof(float));
        memcpy(vc + (size_t)(s->n_past + i) * C, s->qkv + (size_t)i * 3 * C + 2 * C,
               C * sizeof(float));
    }
    if (T >= FW_GEMM_ATTN_MIN)
        fw_attention_gemm(s, l, T, capture);
    else
        fw_attention(s, l, T, capture);
    if (fw_linear(s, s->tmp, s->att, T, &L->proj, L->proj_b, err, errlen)) return -1;
    fw_add(s->x, s->tmp, TC);
    if (!c->pre_norm) { /* GPT-1: n = ln_1(x + attn(x)) */
        fw_layernorm(s->x, s->x, L->ln1_g, L->ln1_b, T, C, c->ln_eps);
        in = s->x;
    } else {
        fw_layernorm(s->xn, s->x, L->ln2_g, L->ln2_b, T, C, c->ln_eps);
        in = s->xn;
    }
    if (fw_linear(s, s->hid, in, T, &L->fc, L->fc_b, err, errlen)) return -1;
    fw_gelu(s->hid, (size_t)T * c->n_inner, s->n_threads);
    if (fw_linear(s, s->tmp, s->hid, T, &L->fc2, L->fc2_b, err, errlen)) return -1;
    fw_add(s->x, s->tmp, TC);
    if (!c->pre_norm) /* GPT-1: x = ln_2(n + mlp(n)) */
        fw_layernorm(s->x, s->x, L->ln2_g, L->ln2_b, T, C, c->ln_eps);
    return 0;
}

int gpt_forward(gpt_state_t *s, const int *ids, int n, float *logits, int all_logits, float *attn,
                char *err, size_t errlen) {
    const gpt_model_t *m = s->m;
    const gpt_config_t *c = &m->cfg;
    int C = c->n_embd;
    if (n <= 0 || n > s->max_tokens) {
        snprintf(err, errlen, "%d tokens in one forward call (state holds at most %d)", n,
                 s->max_tokens);
        return -1;
    }
    if (s->n_past + n > c->n_ctx) {
        snprintf(err, errlen, "context full: %d cached + %d new tokens exceed n_ctx %d", s->n_past,
                 n, c->n_ctx);
        return -1;
    }
    if (fw_reserve(s, s->n_past + n, err, errlen) != 0) return -1;
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= c->n_vocab) {
            snprintf(err, errlen, "token id %d outside the vocabulary of %d", ids[i], c->n_vocab);
            return -1;
        }
    }
    /* x = wte[id] + wpe[pos] */
    size_t esz_e = m->wte.dtype == KERNEL_F32 ? 4 : 2, esz_p = m->wpe.dtype == KERNEL_F32 ? 4 : 2;
    for (int i = 0; i < n; i++) {
        float *xr = s->x + (size_t)i * C;
        kernel_row_to_f32(xr, (const char *)m->wte.data + (size_t)ids[i] * C * esz_e,
                          m->wte.dtype, (size_t)C);
        kernel_row_to_f32(s->tmp, (const char *)m->wpe.data + (size_t)(s->n_past + i) * C * esz_p,
                          m->wpe.dtype, (size_t)C);
        fw_add(xr, s->tmp, (size_t)C);
    }
    const size_t last = (size_t)(n - 1) * C;
    if (s->hidden) memcpy(s->hidden, s->x + last, (size_t)C * sizeof(float));
    for (int l = 0; l < c->n_layer; l++) {
        if (fw_block(s, l, n, attn, err, errlen) != 0) return -1;
        if (s->hidden)
            memcpy(s->hidden + (size_t)(l + 1) * C, s->x + last, (size_t)C * sizeof(float));
    }
    if (logits) {
        int first = all_logits ? 0 : n - 1, rows = all_logits ? n : 1;
        const float *h = s->x + (size_t)first * C;
        if (c->final_ln) {
            fw_layernorm(s->xn, h, m->lnf_g, m->lnf_b, rows, C, c->ln_eps);
            h = s->xn;
        }
        if (fw_linear(s, logits, h, rows, &m->wte, NULL, err, errlen)) return -1;
    }
    s->n_past += n;
    s->last_n = n;
    return 0;
}

int gpt_state_final_hidden(gpt_state_t *s, float *out) {
    const gpt_model_t *m = s->m;
    const gpt_config_t *c = &m->cfg;
    const int C = c->n_embd;
    if (s->last_n < 1) return -1;
    const float *h = s->x + (size_t)(s->last_n - 1) * C;
    if (c->final_ln) fw_layernorm(out, h, m->lnf_g, m->lnf_b, 1, C, c->ln_eps);
    else memcpy(out, h, (size_t)C * sizeof(float));
    return 0;
}

void gpt_state_capture_hidden(gpt_state_t *s, float *buf) {
    s->hidden = buf;
}

int gpt_unembed(gpt_state_t *s, const float *h, float *logits, char *err, size_t errlen) {
    const gpt_model_t *m = s->m;
    const gpt_config_t *c = &m->cfg;
    if (c->final_ln) {
        fw_layernorm(s->xn, h, m->lnf_g, m->lnf_b, 1, c->n_embd, c->ln_eps);
        h = s->xn;
    }
    return fw_linear(s, logits, h, 1, &m->wte, NULL, err, errlen);
}
