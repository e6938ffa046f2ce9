/* bench.c - speed of the machine and of gptscope, side by side in one run.
 *
 *   (a) OpenBLAS sgemm GFLOP/s: 2048^3 and a prefill shape 128x3072x768
 *   (b) weight-streaming bandwidth: sgemv over a matrix far larger than the
 *       caches (1 GiB), the bound decode cannot beat
 *   (c) kernel_linear T = 1 GB/s per dtype on the GPT-2 124M shapes, on
 *       the default path (named: avx512, avx2 or portable) and each lower
 *       one forced with GPTSCOPE_KERNELS, and T = 128 GFLOP/s (prefill), on
 *       weights rotated through a pool larger than the caches as a model's
 *       layers are
 *   (d) a GPT-2 124M-shaped model with random weights (written here in f32,
 *       f16 and bf16, loaded with gpt_load): prefill of 128 tokens, decode of
 *       128 tokens, decode with attention capture, % of the bandwidth bound
 * for 1 and 2 threads (or --threads N). The machine is noisy: every figure is
 * the best of a few repetitions, with the median next to it.
 *
 * Usage: bench [--threads N] [--quick] [--no-model] */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blas_core.h"
#include "bench_model.h"
#include "kernels.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Best (smallest) and median of n timings; sorts t. */
static void best_median(double *t, int n, double *best, double *median) {
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    *best = t[0];
    *median = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static void fill_normal(float *p, size_t n, uint64_t *s, float scale) {
    for (size_t i = 0; i < n; i++) {
        double u = 0;
        for (int k = 0; k < 4; k++) {
            *s ^= *s >> 12;
            *s ^= *s << 25;
            *s ^= *s >> 27;
            u += (double)((*s * 0x2545F4914F6CDD1DULL) >> 11) * 0x1p-53;
        }
        p[i] = (float)((u - 2.0) * 1.7320508) * scale;
    }
}

/* ---- (a) sgemm ------------------------------------------------------- */

static void bench_sgemm(int threads, int M, int N, int K, int reps) {
    float *a = malloc(sizeof(float) * (size_t)M * (size_t)K);
    float *b = malloc(sizeof(float) * (size_t)K * (size_t)N);
    float *c = malloc(sizeof(float) * (size_t)M * (size_t)N);
    double t[16];
    if (!a || !b || !c) {
        printf("sgemm %dx%dx%d: out of memory\n", M, N, K);
        goto done;
    }
    uint64_t s = 1;
    fill_normal(a, (size_t)M * (size_t)K, &s, 1.0f);
    fill_normal(b, (size_t)K * (size_t)N, &s, 1.0f);
    openblas_set_num_threads(threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    for (int r = 0; r < reps; r++) {
        const double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c,
                    N);
        t[r] = now_s() - t0;
    }
    double best, med;
    best_median(t, reps, &best, &med);
    const double flop = 2.0 * M * N * K;
    printf("  sgemm %dx%dx%d: %.1f GFLOP/s (median %.1f)\n", M, N, K, flop / best * 1e-9,
           flop / med * 1e-9);
done:
    free(a);
    free(b);
    free(c);
}

/* ---- (b), (c) streaming ---------------------------------------------- */

/* A pool of bytes, larger than the last-level cache, cut into as many
 * matrices of one shape as fit; successive calls use successive matrices so
 * every call streams its weights from DRAM, as decode does. */
typedef struct pool {
    unsigned char *bytes;
    size_t size;
} pool_t;

/* Seconds per call of kernel_linear (best, median) over the pool. */
static void time_linear(kernel_ctx_t *ctx, const pool_t *pool, kernel_dtype_t dt,
                        kernel_layout_t layout, int in, int out, int T, int reps, double *best,
                        double *median) {
    const size_t esz = dt == KERNEL_F32 ? 4 : 2;
    const size_t mbytes = (size_t)in * (size_t)out * esz;
    const size_t n_mat = pool->size / mbytes < 1 ? 1 : pool->size / mbytes;
    float *x = malloc(sizeof(float) * (size_t)T * (size_t)in);
    float *y = malloc(sizeof(float) * (size_t)T * (size_t)out);
    double *t = malloc(sizeof(double) * (size_t)reps);
    *best = *median = NAN;
    if (!x || !y || !t || mbytes > pool->size) goto done;
    uint64_t s = 7;
    fill_normal(x, (size_t)T * (size_t)in, &s, 1.0f);
    kernel_weight_t W = {pool->bytes, dt, layout, in, out};
    if (kernel_linear(ctx, y, x, T, &W, NULL) != 0) goto done; /* warm: scratch, threads */
    size_t k = 1;
    for (int r = 0; r < reps; r++) {
        W.data = pool->bytes + (k++ % n_mat) * mbytes;
        const double t0 = now_s();
        kernel_linear(ctx, y, x, T, &W, NULL);
        t[r] = now_s() - t0;
    }
    best_median(t, reps, best, median);
done:
    free(x);
    free(y);
    free(t);
}

static const char *dtype_name(kernel_dtype_t d) {
    return d == KERNEL_F32 ? "f32" : d == KERNEL_F16 ? "f16" : "bf16";
}

/* sgemv over the whole pool as one f32 matrix: GB/s. */
static double bench_sgemv(int threads, const pool_t *pool, int reps) {
    const int cols = 16384;
    const int rows = (int)(pool->size / sizeof(float) / (size_t)cols);
    float *x = calloc((size_t)cols, sizeof(float)), *y = calloc((size_t)rows, sizeof(float));
    double t[16], best = NAN, med = NAN;
    if (!x || !y) goto done;
    for (int i = 0; i < cols; i++) x[i] = 1.0f / (float)(i + 1);
    openblas_set_num_threads(threads);
    const float *a = (const float *)pool->bytes;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, cols, 1.0f, a, cols, x, 1, 0.0f, y, 1);
    for (int r = 0; r < reps; r++) {
        const double t0 = now_s();
        cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, cols, 1.0f, a, cols, x, 1, 0.0f, y, 1);
        t[r] = now_s() - t0;
    }
    best_median(t, reps, &best, &med);
    const double gb = (double)rows * cols * sizeof(float) * 1e-9;
    printf("  sgemv %dx%d f32 (%.2f GB): %.1f GB/s (median %.1f)\n", rows, cols, gb, gb / best,
           gb / med);
done:
    free(x);
    free(y);
    return isnan(best) ? NAN : (double)rows * cols * sizeof(float) * 1e-9 / best;
}

static void bench_kernels(int threads, const pool_t *pool, int quick) {
    static const struct { int in, out; kernel_layout_t layout; const char *what; } shapes[] = {
        {768, 2304, KERNEL_IN_OUT, "c_attn"},
        {768, 3072, KERNEL_IN_OUT, "c_fc"},
        {3072, 768, KERNEL_IN_OUT, "mlp.c_proj"},
        {768, 50257, KERNEL_OUT_IN, "wte as lm_head"},
    };
    const int reps = quick ? 5 : 40;
    /* the default path, then each one below it that differs from it */
    static const char *const forced[] = {NULL, "avx2", "portable"};
    const char *default_path = "";
    for (size_t pi = 0; pi < sizeof forced / sizeof forced[0]; pi++) {
        if (forced[pi]) setenv("GPTSCOPE_KERNELS", forced[pi], 1);
        kernel_ctx_t *ctx = kernel_ctx_init(threads);
        unsetenv("GPTSCOPE_KERNELS");
        if (!ctx) return;
        const char *path = kernel_ctx_path(ctx);
        if (pi == 0) {
            default_path = path;
        } else if (strcmp(path, default_path) == 0 || strcmp(path, forced[pi]) != 0) {
            kernel_ctx_free(ctx); /* the same as the default, or not on this CPU */
            continue;
        }
        printf("  kernel_linear T=1, %s path %s:\n", pi == 0 ? "default" : "forced",
               strcmp(path, "avx512") == 0 ? "avx512 (AVX-512 kernels)"
               : strcmp(path, "avx2") == 0 ? "avx2 (AVX2+FMA+F16C kernels)"
                                           : "portable (BLAS sgemv / convert + sgemv)");
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            printf("    %-15s %s [%d, %d]:", shapes[si].what,
                   shapes[si].layout == KERNEL_IN_OUT ? "IN_OUT" : "OUT_IN", shapes[si].in,
                   shapes[si].out);
            for (int dt = KERNEL_F32; dt <= KERNEL_BF16; dt++) {
                double best, med;
                time_linear(ctx, pool, (kernel_dtype_t)dt, shapes[si].layout, shapes[si].in,
                            shapes[si].out, 1, reps, &best, &med);
                const double gb =
                    (double)shapes[si].in * shapes[si].out * (dt == KERNEL_F32 ? 4 : 2) * 1e-9;
                printf("  %s %.1f GB/s (med %.1f)", dtype_name((kernel_dtype_t)dt), gb / best,
                       gb / med);
            }
            printf("\n");
        }
        if (pi > 0) {
            kernel_ctx_free(ctx);
            continue;
        }
        printf("  kernel_linear T=128 (prefill, path %s):\n", path);
        for (size_t si = 0; si < 3; si++) {
            printf("    %-15s [%d, %d]:", shapes[si].what, shapes[si].in, shapes[si].out);
            for (int dt = KERNEL_F32; dt <= KERNEL_BF16; dt++) {
                double best, med;
                time_linear(ctx, pool, (kernel_dtype_t)dt, shapes[si].layout, shapes[si].in,
                            shapes[si].out, 128, quick ? 3 : 7, &best, &med);
                const double flop = 2.0 * 128 * shapes[si].in * shapes[si].out;
                printf("  %s %.1f GFLOP/s (med %.1f)", dtype_name((kernel_dtype_t)dt),
                       flop / best * 1e-9, flop / med * 1e-9);
            }
            printf("\n");
        }
        kernel_ctx_free(ctx);
    }
}

int main(int argc, char **argv) {
    blas_core_restart(argv); /* the AVX-512 sgemm where OpenBLAS missed it */
    int threads = 0, quick = 0, model = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            char *end;
            const long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 1024) {
                fprintf(stderr, "bench: --threads wants a number from 1 to 1024, not '%s'\n",
                        argv[i]);
                return 2;
            }
            threads = (int)v;
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "--no-model") == 0) {
            model = 0;
        } else {
            fprintf(stderr, "usage: bench [--threads N] [--quick] [--no-model]\n");
            return 2;
        }
    }
    printf("gptscope bench%s\n", quick ? " (--quick: small sizes, smoke run only)" : "");
    printf("openblas: %s (%s kernels)\n", openblas_get_config(), blas_core_name());
    __builtin_cpu_init();
    printf("cpu: avx512f %s, avx512_bf16 %s, avx2 %s, fma %s, f16c %s\n",
           __builtin_cpu_supports("avx512f") ? "yes" : "no",
           __builtin_cpu_supports("avx512bf16") ? "yes" : "no",
           __builtin_cpu_supports("avx2") ? "yes" : "no",
           __builtin_cpu_supports("fma") ? "yes" : "no",
           __builtin_cpu_supports("f16c") ? "yes" : "no");

    /* quick: still room for one f32 50257x768 matrix (154 MB) */
    pool_t pool = {NULL, (quick ? (size_t)160 : (size_t)1024) << 20};
    pool.bytes = malloc(pool.size);
    if (!pool.bytes) {
        fprintf(stderr, "bench: out of memory for the %zu MiB weight pool\n", pool.size >> 20);
        return 1;
    }
    /* 0x3C in every byte is a small finite number in f32, f16 and bf16 alike */
    memset(pool.bytes, 0x3C, pool.size);

    bench_model_t *bm = NULL;
    char err[512];
    if (model) {
        printf("writing the random GPT-2 checkpoints (f32, f16, bf16)...\n");
        fflush(stdout);
        if (!(bm = bench_model_init(quick, err, sizeof err)))
            printf("(d) not measured: %s\n", err);
    }
    const int t_lo = threads ? threads : 1, t_hi = threads ? threads : 2;
    for (int th = t_lo; th <= t_hi; th++) {
        printf("\n== %d thread%s ==\n", th, th > 1 ? "s" : "");
        printf("(a) OpenBLAS sgemm\n");
        if (quick)
            bench_sgemm(th, 512, 512, 512, 3);
        else
            bench_sgemm(th, 2048, 2048, 2048, 5);
        bench_sgemm(th, 128, 3072, 768, quick ? 3 : 15);
        printf("(b) weight-streaming bandwidth\n");
        const double gbs = bench_sgemv(th, &pool, quick ? 3 : 9);
        printf("(c) kernel_linear\n");
        bench_kernels(th, &pool, quick);
        if (bm) {
            printf("(d) GPT-2 124M-shaped model, random weights%s\n",
                   quick ? " (--quick: 2 layers, 256 wide, 16+16 tokens)" : "");
            if (bench_model_run(bm, th, gbs, err, sizeof err) != 0)
                printf("  not measured: %s\n", err);
        }
        fflush(stdout);
    }
    bench_model_free(bm);
    free(pool.bytes);
    return 0;
}
