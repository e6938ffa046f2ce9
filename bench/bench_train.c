/* bench_train.c - training speed: forward + backward + AdamW steps on random
 * tokens, in tokens/s, with the achieved GFLOP/s (6 x parameters x tokens/s,
 * the usual estimate that leaves out attention) next to the machine's sgemm
 * GFLOP/s on a training-sized matrix product, measured in the same run.
 *
 * Shapes (the issue's): default = the bundled model's shape (--layers etc.),
 *   small: 6 layers x 384, 6 heads, vocab 2048, ctx 256, batch 8 x 256
 *   gpt2:  GPT-2 124M (12 x 768, vocab 50304 as llm.c pads it), batch 4 x 64
 * Usage: bench_train [--shape small|gpt2|custom] [--layers L --embd C --heads H
 *                    --vocab V --ctx T --batch B --seq T] [--steps N] [--threads N]
 *                    [--bf16] [--muon ROUNDS] [--quick]
 * --muon: the blocks' matrices stepped by Muon with ROUNDS Newton-Schulz
 * rounds (its cost is counted in the optimiser's share; the GFLOP/s figure
 * stays 6 x params x tokens/s, so it drops by what Muon costs). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blas_core.h"
#include "kernels_amx.h"
#include "rng.h"
#include "train.h"

static double bt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bt_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* sgemm GFLOP/s on the shape of the largest training product
 * ([B*T, C] x [C, 4C]), best of reps. */
static double bt_sgemm(int M, int N, int K, int threads, int reps) {
    openblas_set_num_threads(threads);
    float *a = calloc((size_t)M * K, sizeof(float)), *b = calloc((size_t)K * N, sizeof(float));
    float *c = calloc((size_t)M * N, sizeof(float));
    if (!a || !b || !c) return 0;
    for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)(i % 13) * 0.01f;
    for (size_t i = 0; i < (size_t)K * N; i++) b[i] = (float)(i % 7) * 0.01f;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = bt_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c,
                    N);
        double dt = bt_now() - t0;
        best = dt < best ? dt : best;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * M * N * K / best * 1e-9;
}

int main(int argc, char **argv) {
    blas_core_restart(argv); /* the AVX-512 sgemm where OpenBLAS missed it */
    int L = 6, C = 384, H = 6, V = 2048, ctx = 256, B = 8, T = 256, steps = 6, threads = 2;
    int quick = 0, bf16 = 0, muon_ns = 0;
    const char *shape = "small";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define BT_INT(flag, var)                    \
    if (strcmp(a, flag) == 0 && v) {         \
        var = atoi(v);                       \
        i++;                                 \
        shape = "custom";                    \
        continue;                            \
    }
        BT_INT("--layers", L)
        BT_INT("--embd", C)
        BT_INT("--heads", H)
        BT_INT("--vocab", V)
        BT_INT("--ctx", ctx)
        BT_INT("--batch", B)
        BT_INT("--seq", T)
#undef BT_INT
        if (strcmp(a, "--steps") == 0 && v) {
            steps = atoi(v);
            i++;
        } else if (strcmp(a, "--threads") == 0 && v) {
            threads = atoi(v);
            i++;
        } else if (strcmp(a, "--quick") == 0) {
            quick = 1;
        } else if (strcmp(a, "--bf16") == 0) {
            bf16 = 1;
        } else if (strcmp(a, "--muon") == 0 && v) {
            muon_ns = atoi(v);
            i++;
        } else if (strcmp(a, "--shape") == 0 && v) {
            shape = v;
            i++;
            if (strcmp(v, "gpt2") == 0) {
                L = 12, C = 768, H = 12, V = 50304, ctx = 1024, B = 4, T = 64;
            } else if (strcmp(v, "small") == 0) {
                L = 6, C = 384, H = 6, V = 2048, ctx = 256, B = 8, T = 256;
            } else {
                fprintf(stderr, "bench_train: unknown shape %s (small, gpt2)\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "bench_train: unknown argument %s\n", a);
            return 2;
        }
    }
    if (quick) L = 2, C = 64, H = 2, V = 256, ctx = 64, B = 2, T = 32, steps = 2;
    if (T > ctx) ctx = T;
    gpt_config_t cfg = {0};
    snprintf(cfg.model_type, sizeof(cfg.model_type), "gpt2");
    cfg.n_layer = L, cfg.n_head = H, cfg.n_embd = C, cfg.n_ctx = ctx, cfg.n_vocab = V;
    cfg.n_inner = 4 * C, cfg.ln_eps = 1e-5f, cfg.pre_norm = 1, cfg.final_ln = 1, cfg.eos_id = -1;
    char err[256];
    train_model_t *m = train_model_init(&cfg, err, sizeof(err));
    train_acts_t *acts = m ? train_acts_init(m, B, T, threads, err, sizeof(err)) : NULL;
    train_adamw_t opt;
    if (!m || !acts || train_adamw_init(&opt, m, 0.9f, 0.95f, 1e-8f, 0.1f, 1) != 0) {
        fprintf(stderr, "bench_train: %s\n", err);
        return 1;
    }
    train_model_init_weights(m, 1, 1);
    train_muon_t muon = {0};
    if (muon_ns > 0) {
        if (train_muon_init(&muon, m, 0.95f, 0.1f, muon_ns, bf16, threads) != 0) {
            fprintf(stderr, "bench_train: out of memory for Muon\n");
            return 1;
        }
        opt.skip_muon = 1;
    }
    if (bf16 && train_acts_set_bf16(acts, 1, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_train: %s\n", err);
        return 1;
    }
    int64_t n_params = gpt_config_n_params(&cfg);
    int *in = malloc((size_t)B * T * sizeof(int)), *tg = malloc((size_t)B * T * sizeof(int));
    rng_t r;
    rng_seed(&r, 42);
    double *times = calloc((size_t)steps + 1, sizeof(double));
    double fwd_total = 0, bwd_total = 0, opt_total = 0;
    train_dropout_t drop = {0.1f, 0.1f, 0.1f};
    printf("training %s: %d layers x %d, %d heads, vocab %d, batch %d x %d, %.2f M params, "
           "%d threads, dropout 0.1, %s%s\n",
           shape, L, C, H, V, B, T, (double)n_params * 1e-6, threads,
           !bf16                                      ? "f32"
           : amx_best_backend() == AMX_BACKEND_TILES ? "bf16 products on AMX tiles"
                                                      : "bf16 products on AVX512-BF16",
           muon_ns > 0 ? ", Muon" : "");
    for (int s = 0; s <= steps; s++) { /* step 0 warms up */
        for (int i = 0; i < B * T; i++) {
            in[i] = (int)(rng_next(&r) % (uint64_t)V);
            tg[i] = (int)(rng_next(&r) % (uint64_t)V);
        }
        double t0 = bt_now();
        train_model_zero_grad(m);
        float loss = train_forward(m, acts, in, tg, B, T, &drop, (uint64_t)s, err, sizeof(err));
        double t1 = bt_now();
        train_backward(m, acts, 1.0f);
        double t2 = bt_now();
        train_clip_grad_norm(m, 1.0);
        train_adamw_step(&opt, m, 1e-4f);
        train_muon_step(&muon, m, 1e-3f);
        double t3 = bt_now();
        if (!isfinite(loss)) {
            fprintf(stderr, "bench_train: loss is not finite: %s\n", err);
            return 1;
        }
        if (s > 0) {
            times[s - 1] = t3 - t0;
            fwd_total += t1 - t0;
            bwd_total += t2 - t1;
            opt_total += t3 - t2;
        }
    }
    qsort(times, (size_t)steps, sizeof(double), bt_cmp);
    double best = times[0], med = times[steps / 2];
    double tok = (double)B * T;
    double gf = 6.0 * (double)n_params * tok / best * 1e-9;
    double sg = bt_sgemm(B * T, 4 * C, C, threads, quick ? 2 : 5);
    printf("  step %.3f s (median %.3f): %.0f tokens/s (median %.0f)\n", best, med, tok / best,
           tok / med);
    printf("  forward %.0f%%, backward %.0f%%, clip+%s %.0f%% of the time\n",
           100 * fwd_total / (fwd_total + bwd_total + opt_total),
           100 * bwd_total / (fwd_total + bwd_total + opt_total),
           muon_ns > 0 ? "AdamW+Muon" : "AdamW", 100 * opt_total / (fwd_total + bwd_total + opt_total));
    printf("  achieved %.1f GFLOP/s (6 x params x tokens/s); sgemm %dx%dx%d on this machine: "
           "%.1f GFLOP/s (%.0f%%)\n",
           gf, B * T, 4 * C, C, sg, 100 * gf / sg);
    free(times);
    free(in);
    free(tg);
    train_adamw_free(&opt);
    train_muon_free(&muon);
    train_acts_free(acts);
    train_model_free(m);
    return 0;
}
