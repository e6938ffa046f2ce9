/* bench_model.c - part (d) of bench: whole-model speed on a GPT-2 124M-shaped
 * checkpoint with random N(0, 0.02) weights, made here so no download is
 * needed. The checkpoint goes through the real path a user's model takes:
 * config.json + model.safetensors written with st_writer, read with gpt_load
 * (memory-mapped), run with gpt_forward.
 *
 * Decode bound: decode reads every weight once per token, so tokens/s can not
 * beat (streaming GB/s) / (weight bytes per token); "% of bound" says how
 * close gptscope comes. */
#include "bench_model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpt.h"
#include "kernels.h"
#include "safetensors.h"

enum { BM_N_DTYPES = 3 };

struct bench_model {
    int quick;
    int n_layer, n_embd, n_head, n_ctx, n_vocab;
    int n_prompt, n_new;
    char dir[64];                   /* temporary directory */
    char sub[BM_N_DTYPES][96];      /* one model directory per dtype */
    int n_made;                     /* sub-directories created so far */
};

static const char *const bm_dtype_names[BM_N_DTYPES] = {"f32", "f16", "bf16"};

static double bm_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Roughly N(0, 1): four uniforms from xorshift64*, centred and scaled. */
static float bm_normal(uint64_t *s) {
    double u = 0;
    for (int k = 0; k < 4; k++) {
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        u += (double)((*s * 0x2545F4914F6CDD1DULL) >> 11) * 0x1p-53;
    }
    return (float)((u - 2.0) * 1.7320508);
}

/* The tensors of a Hugging Face GPT-2 checkpoint, in file order. */
typedef struct bm_tensor {
    char name[48];
    int n_dims;
    int64_t shape[2];
    int kind; /* 0: random matrix, 1: LayerNorm gain (ones), 2: bias / LN shift (zeros) */
} bm_tensor_t;

static size_t bm_tensor_list(const bench_model_t *bm, bm_tensor_t *t) {
    const int64_t C = bm->n_embd;
    size_t n = 0;
#define BM_ADD(kind_, d0, d1, ...)                                                   \
    do {                                                                             \
        if (t) {                                                                     \
            snprintf(t[n].name, sizeof t[n].name, __VA_ARGS__);                      \
            t[n].n_dims = (d1) > 0 ? 2 : 1;                                          \
            t[n].shape[0] = (d0);                                                    \
            t[n].shape[1] = (d1);                                                    \
            t[n].kind = (kind_);                                                     \
        }                                                                            \
        n++;                                                                         \
    } while (0)
    BM_ADD(0, bm->n_vocab, C, "wte.weight");
    BM_ADD(0, bm->n_ctx, C, "wpe.weight");
    for (int l = 0; l < bm->n_layer; l++) {
        BM_ADD(1, C, 0, "h.%d.ln_1.weight", l);
        BM_ADD(2, C, 0, "h.%d.ln_1.bias", l);
        BM_ADD(0, C, 3 * C, "h.%d.attn.c_attn.weight", l);
        BM_ADD(2, 3 * C, 0, "h.%d.attn.c_attn.bias", l);
        BM_ADD(0, C, C, "h.%d.attn.c_proj.weight", l);
        BM_ADD(2, C, 0, "h.%d.attn.c_proj.bias", l);
        BM_ADD(1, C, 0, "h.%d.ln_2.weight", l);
        BM_ADD(2, C, 0, "h.%d.ln_2.bias", l);
        BM_ADD(0, C, 4 * C, "h.%d.mlp.c_fc.weight", l);
        BM_ADD(2, 4 * C, 0, "h.%d.mlp.c_fc.bias", l);
        BM_ADD(0, 4 * C, C, "h.%d.mlp.c_proj.weight", l);
        BM_ADD(2, C, 0, "h.%d.mlp.c_proj.bias", l);
    }
    BM_ADD(1, C, 0, "ln_f.weight");
    BM_ADD(2, C, 0, "ln_f.bias");
#undef BM_ADD
    return n;
}

static size_t bm_numel(const bm_tensor_t *t) {
    return (size_t)t->shape[0] * (size_t)(t->n_dims == 2 ? t->shape[1] : 1);
}

static int bm_write_text(const char *path, const char *text, char *err, size_t errlen) {
    FILE *fp = fopen(path, "w");
    if (!fp || fputs(text, fp) == EOF || fclose(fp) != 0) {
        snprintf(err, errlen, "%s: cannot write", path);
        return -1;
    }
    return 0;
}

/* Writes SUB/config.json and SUB/model.safetensors with the values in f32
 * (all tensors back to back) stored as dtype d. */
static int bm_write_model(const bench_model_t *bm, const char *sub, int d, const bm_tensor_t *t,
                          size_t n_t, const float *values, size_t n_values, char *err,
                          size_t errlen) {
    char path[160], config[512];
    snprintf(config, sizeof config,
             "{\"model_type\": \"gpt2\", \"n_layer\": %d, \"n_head\": %d, \"n_embd\": %d,\n"
             " \"n_positions\": %d, \"n_ctx\": %d, \"vocab_size\": %d,\n"
             " \"layer_norm_epsilon\": 1e-05, \"activation_function\": \"gelu_new\",\n"
             " \"bos_token_id\": %d, \"eos_token_id\": %d}\n",
             bm->n_layer, bm->n_head, bm->n_embd, bm->n_ctx, bm->n_ctx, bm->n_vocab,
             bm->n_vocab - 1, bm->n_vocab - 1);
    snprintf(path, sizeof path, "%s/config.json", sub);
    if (bm_write_text(path, config, err, errlen) != 0) return -1;

    uint16_t *half = NULL;
    if (d != 0) {
        half = malloc(n_values * sizeof *half);
        if (!half) {
            snprintf(err, errlen, "out of memory converting the model to %s", bm_dtype_names[d]);
            return -1;
        }
        for (size_t i = 0; i < n_values; i++)
            half[i] = d == 1 ? kernel_f32_to_f16(values[i]) : kernel_f32_to_bf16(values[i]);
    }
    st_writer_t *w = st_writer_init();
    int rc = w ? 0 : -1;
    size_t off = 0;
    const st_dtype_t sd = d == 0 ? ST_F32 : d == 1 ? ST_F16 : ST_BF16;
    for (size_t i = 0; i < n_t && rc == 0; i++) {
        const void *data = d == 0 ? (const void *)(values + off) : (const void *)(half + off);
        rc = st_writer_add(w, t[i].name, sd, t[i].n_dims, t[i].shape, data);
        off += bm_numel(&t[i]);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", sub);
    if (rc != 0) snprintf(err, errlen, "%s: st_writer_add failed", path);
    else rc = st_writer_write(w, path, err, errlen);
    st_writer_free(w);
    free(half);
    return rc;
}

void bench_model_free(bench_model_t *bm) {
    if (!bm) return;
    char path[160];
    for (int d = 0; d < bm->n_made; d++) {
        snprintf(path, sizeof path, "%s/config.json", bm->sub[d]);
        unlink(path);
        snprintf(path, sizeof path, "%s/model.safetensors", bm->sub[d]);
        unlink(path);
        rmdir(bm->sub[d]);
    }
    if (bm->dir[0]) rmdir(bm->dir);
    free(bm);
}

bench_model_t *bench_model_init(int quick, char *err, size_t errlen) {
    bench_model_t *bm = calloc(1, sizeof *bm);
    bm_tensor_t *t = NULL;
    float *values = NULL;
    if (!bm) goto oom;
    bm->quick = quick;
    bm->n_layer = quick ? 2 : 12;
    bm->n_embd = quick ? 256 : 768;
    bm->n_head = quick ? 4 : 12;
    bm->n_ctx = quick ? 256 : 1024;
    bm->n_vocab = quick ? 5000 : 50257;
    bm->n_prompt = bm->n_new = quick ? 16 : 128;
    snprintf(bm->dir, sizeof bm->dir, "/tmp/gptscope-bench-XXXXXX");
    if (!mkdtemp(bm->dir)) {
        snprintf(err, errlen, "%s: cannot create the temporary directory", bm->dir);
        bm->dir[0] = 0;
        bench_model_free(bm);
        return NULL;
    }
    const size_t n_t = bm_tensor_list(bm, NULL);
    if (!(t = calloc(n_t, sizeof *t))) goto oom;
    bm_tensor_list(bm, t);
    size_t n_values = 0;
    for (size_t i = 0; i < n_t; i++) n_values += bm_numel(&t[i]);
    if (!(values = malloc(n_values * sizeof *values))) goto oom;
    uint64_t s = 0x243F6A8885A308D3ULL;
    size_t off = 0;
    for (size_t i = 0; i < n_t; i++) {
        const size_t n = bm_numel(&t[i]);
        for (size_t k = 0; k < n; k++)
            values[off + k] = t[i].kind == 0 ? 0.02f * bm_normal(&s) : t[i].kind == 1 ? 1.0f : 0.0f;
        off += n;
    }
    for (int d = 0; d < BM_N_DTYPES; d++) {
        snprintf(bm->sub[d], sizeof bm->sub[d], "%s/%s", bm->dir, bm_dtype_names[d]);
        if (mkdir(bm->sub[d], 0700) != 0) {
            snprintf(err, errlen, "%s: cannot create directory", bm->sub[d]);
            goto fail;
        }
        bm->n_made = d + 1;
        if (bm_write_model(bm, bm->sub[d], d, t, n_t, values, n_values, err, errlen) != 0)
            goto fail;
    }
    free(t);
    free(values);
    return bm;
oom:
    snprintf(err, errlen, "out of memory building the random model");
fail:
    free(t);
    free(values);
    bench_model_free(bm);
    return NULL;
}

static int bm_argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* Prefill of the prompt then n_new greedy decode steps; returns the seconds
 * of each part, or -1 on error. */
static int bm_generate(gpt_state_t *s, const bench_model_t *bm, const int *prompt, float *logits,
                       float *attn, double *t_prefill, double *t_decode, char *err, size_t errlen) {
    gpt_state_reset(s);
    double t0 = bm_now();
    if (gpt_forward(s, prompt, bm->n_prompt, logits, 0, NULL, err, errlen) != 0) return -1;
    *t_prefill = bm_now() - t0;
    t0 = bm_now();
    for (int i = 0; i < bm->n_new; i++) {
        const int id = bm_argmax(logits, bm->n_vocab);
        if (gpt_forward(s, &id, 1, logits, 0, attn, err, errlen) != 0) return -1;
    }
    *t_decode = bm_now() - t0;
    return 0;
}

static double bm_min(const double *v, int n) {
    double m = v[0];
    for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
    return m;
}

int bench_model_run(bench_model_t *bm, int n_threads, double stream_gbs, char *err,
                    size_t errlen) {
    enum { REPS = 3 };
    int *prompt = malloc(sizeof(int) * (size_t)bm->n_prompt);
    float *logits = malloc(sizeof(float) * (size_t)bm->n_vocab);
    float *attn = NULL;
    int rc = -1;
    if (!prompt || !logits) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    uint64_t seed = 99;
    for (int i = 0; i < bm->n_prompt; i++)
        prompt[i] = (int)((uint32_t)(bm_normal(&seed) * 1e6f) % (uint32_t)bm->n_vocab);
    for (int d = 0; d < BM_N_DTYPES; d++) {
        gpt_model_t *m = gpt_load(bm->sub[d], err, errlen);
        if (!m) goto done;
        gpt_state_t *s = gpt_state_init(m, bm->n_prompt, n_threads, err, errlen);
        if (!s) {
            gpt_free(m);
            goto done;
        }
        if (!attn) attn = malloc(sizeof(float) * gpt_attn_capture_size(&m->cfg, 1));
        /* weight bytes read per decoded token: every matrix once (the tied
         * wte once, as the output matrix), the f32 vectors, one wpe row */
        const int64_t C = bm->n_embd, L = bm->n_layer, V = bm->n_vocab;
        const double esz = d == 0 ? 4.0 : 2.0;
        const double bytes = esz * (double)(L * 12 * C * C + V * C + C) + 4.0 * (L * 13 * C + 2 * C);
        double pre[REPS], dec[REPS], dec_attn[REPS], unused;
        int ok = attn != NULL;
        if (!ok) snprintf(err, errlen, "out of memory for the attention capture buffer");
        /* first run warms the page cache and the thread pool; off and on
         * alternate so drift on a noisy machine hits both alike */
        ok = ok && bm_generate(s, bm, prompt, logits, NULL, &unused, &unused, err, errlen) == 0;
        for (int r = 0; r < REPS && ok; r++)
            ok = bm_generate(s, bm, prompt, logits, NULL, &pre[r], &dec[r], err, errlen) == 0 &&
                 bm_generate(s, bm, prompt, logits, attn, &unused, &dec_attn[r], err, errlen) == 0;
        gpt_state_free(s);
        gpt_free(m);
        if (!ok) goto done;
        const double p = bm_min(pre, REPS), t = bm_min(dec, REPS), ta = bm_min(dec_attn, REPS);
        const double tps = bm->n_new / t, bound = stream_gbs * 1e9 / bytes;
        printf("  %-4s prefill %d tokens: %.1f ms (%.0f tokens/s)\n", bm_dtype_names[d],
               bm->n_prompt, p * 1e3, bm->n_prompt / p);
        printf("  %-4s decode %d tokens: %.1f tokens/s = %.0f%% of the bound %.1f tokens/s "
               "(%.1f MB/token at %.1f GB/s)\n",
               bm_dtype_names[d], bm->n_new, tps, 100.0 * tps / bound, bound, bytes * 1e-6,
               stream_gbs);
        printf("  %-4s decode with attention capture: %.1f tokens/s (overhead %+.1f%%)\n",
               bm_dtype_names[d], bm->n_new / ta, 100.0 * (ta / t - 1.0));
        fflush(stdout);
    }
    rc = 0;
done:
    free(prompt);
    free(logits);
    free(attn);
    return rc;
}
