/* bench_amx.c - GFLOP/s of amx_sgemm_bf16 (bf16 on AMX tiles, f32 in and out,
 * packing included) against OpenBLAS cblas_sgemm on the training shapes:
 *
 *   NN 2048x1536x384   Y = X W            (c_fc forward: 2048 tokens, 384 -> 1536)
 *   NT 2048x384x1536   dX = dY W^T        (c_fc backward)
 *   TN 384x1536x2048   dW += X^T dY       (beta = 1)
 *   NT 4096x2048x384   logits = h wte^T   (vocabulary 2048)
 *   NT 256x256x64      attention scores of one head
 *
 * (M x N x K, 2MNK flops) with 1 and 2 threads, or --threads N. Each figure is
 * the best of a few repetitions, the median next to it (the machine is shared
 * and noisy); "err" is max |amx - sgemm| / max |sgemm| for the shape, the
 * cost of bf16 inputs. The backend is the trainer's (amx_best_backend: AMX
 * tiles, else the AVX512-BF16 micro-kernel); where there is neither only
 * sgemm is timed.
 *
 * Usage: bench_amx [--threads N] [--reps R] [--quick] [--shape MxNxK:XY] */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blas_core.h"
#include "kernels_amx.h"

typedef struct bench_shape {
    int M, N, K, ta, tb;
    float beta;
    const char *what;
} bench_shape_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void fill_normal(float *p, size_t n, uint64_t *s) {
    for (size_t i = 0; i < n; i++) {
        double u = 0;
        for (int k = 0; k < 4; k++) {
            *s ^= *s >> 12;
            *s ^= *s << 25;
            *s ^= *s >> 27;
            u += (double)((*s * 0x2545F4914F6CDD1DULL) >> 11) * 0x1p-53;
        }
        p[i] = (float)((u - 2.0) * 1.7320508);
    }
}

/* Times one product `reps` times; returns best and median GFLOP/s. amx = NULL
 * times cblas_sgemm. Returns -1 if the AMX call refused. */
static int time_gemm(amx_ctx_t *amx, const bench_shape_t *s, const float *A, const float *B,
                     float *C, int reps, double *best, double *median) {
    const int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    double t[64];
    if (reps > 64) reps = 64;
    for (int r = -1; r < reps; r++) { /* r = -1: warm-up (buffers, pages, tile state) */
        const double t0 = now_s();
        if (amx) {
            if (amx_sgemm_bf16(amx, s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb,
                               s->beta, C, s->N) != 0)
                return -1;
        } else {
            cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                        s->tb ? CblasTrans : CblasNoTrans, s->M, s->N, s->K, 1.0f, A, lda, B, ldb,
                        s->beta, C, s->N);
        }
        if (r >= 0) t[r] = now_s() - t0;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    const double flops = 2.0 * s->M * (double)s->N * s->K;
    *best = flops / t[0] * 1e-9;
    *median = flops / (reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2])) * 1e-9;
    return 0;
}

static void bench_shape(const bench_shape_t *s, int threads, int reps, amx_backend_t be) {
    const int have_amx = be != AMX_BACKEND_NONE;
    const size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
    float *A = malloc(na * sizeof(float)), *B = malloc(nb * sizeof(float));
    float *C0 = calloc(nc, sizeof(float)), *C1 = calloc(nc, sizeof(float));
    amx_ctx_t *amx = have_amx ? amx_ctx_init_backend(threads, be) : NULL;
    char name[64];
    snprintf(name, sizeof name, "%c%c %dx%dx%d", s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', s->M, s->N,
             s->K);
    if (!A || !B || !C0 || !C1 || (have_amx && !amx)) {
        printf("%-20s out of memory\n", name);
        goto done;
    }
    uint64_t seed = 7;
    fill_normal(A, na, &seed);
    fill_normal(B, nb, &seed);
    openblas_set_num_threads(threads);
    double sb, sm, ab = 0, am = 0;
    time_gemm(NULL, s, A, B, C0, reps, &sb, &sm);
    if (amx && time_gemm(amx, s, A, B, C1, reps, &ab, &am) != 0) {
        printf("%-20s amx_sgemm_bf16 refused\n", name);
        goto done;
    }
    if (!amx) {
        printf("%-20s %-18s %2d  %8.1f %8.1f        -        -      -        -\n", name, s->what,
               threads, sb, sm);
        goto done;
    }
    /* one clean product each (beta = 1 accumulates over the repetitions) */
    const float beta = 0.0f;
    const int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                s->tb ? CblasTrans : CblasNoTrans, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, beta,
                C0, s->N);
    amx_sgemm_bf16(amx, s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, beta, C1, s->N);
    double err = 0, big = 0;
    for (size_t i = 0; i < nc; i++) {
        err = fmax(err, fabs((double)C1[i] - C0[i]));
        big = fmax(big, fabs((double)C0[i]));
    }
    printf("%-20s %-18s %2d  %8.1f %8.1f  %8.1f %8.1f  %5.2fx  %7.1e\n", name, s->what, threads,
           sb, sm, ab, am, ab / sb, big > 0 ? err / big : err);
done:
    fflush(stdout);
    amx_ctx_free(amx);
    free(A);
    free(B);
    free(C0);
    free(C1);
}

int main(int argc, char **argv) {
    blas_core_restart(argv); /* the AVX-512 sgemm where OpenBLAS missed it */
    int threads = 0, reps = 9, quick = 0;
    bench_shape_t custom = {0};
    static const bench_shape_t shapes[] = {
        {2048, 1536, 384, 0, 0, 0.0f, "fc fwd Y=XW"},
        {2048, 384, 1536, 0, 1, 0.0f, "fc bwd dX=dYW^T"},
        {384, 1536, 2048, 1, 0, 1.0f, "fc bwd dW+=X^TdY"},
        {4096, 2048, 384, 0, 1, 0.0f, "logits h wte^T"},
        {256, 256, 64, 0, 1, 0.0f, "attention QK^T"},
    };
    static const bench_shape_t quick_shapes[] = {
        {64, 96, 48, 0, 0, 0.0f, "quick"},
        {48, 64, 96, 1, 1, 1.0f, "quick"},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--threads") == 0 && v) {
            threads = atoi(v);
            i++;
        } else if (strcmp(a, "--reps") == 0 && v) {
            reps = atoi(v);
            i++;
        } else if (strcmp(a, "--quick") == 0) {
            quick = 1;
        } else if (strcmp(a, "--shape") == 0 && v) {
            char x = 'N', y = 'N';
            if (sscanf(v, "%dx%dx%d:%c%c", &custom.M, &custom.N, &custom.K, &x, &y) < 3 ||
                custom.M <= 0 || custom.N <= 0 || custom.K <= 0) {
                fprintf(stderr, "bench_amx: --shape wants MxNxK[:NN|NT|TN|TT], got %s\n", v);
                return 2;
            }
            custom.ta = x == 'T';
            custom.tb = y == 'T';
            custom.what = "--shape";
            i++;
        } else {
            fprintf(stderr, "usage: bench_amx [--threads N] [--reps R] [--quick] "
                            "[--shape MxNxK:XY]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    if (quick) reps = 2;
    const amx_backend_t be = amx_best_backend();
    printf("amx_sgemm_bf16 (bf16 in, f32 accumulate, packing included) vs OpenBLAS cblas_sgemm,\n"
           "GFLOP/s best / median of %d; bf16 backend: %s\n",
           reps, be != AMX_BACKEND_NONE ? amx_backend_name(be) : "none, sgemm only");
    printf("%-20s %-18s %2s  %8s %8s  %8s %8s  %6s  %7s\n", "shape MxNxK", "what", "th",
           "sgemm", "(med)", "amx", "(med)", "speed", "err");
    const bench_shape_t *list = custom.M ? &custom : quick ? quick_shapes : shapes;
    const size_t n = custom.M ? 1 : quick ? sizeof quick_shapes / sizeof quick_shapes[0]
                                          : sizeof shapes / sizeof shapes[0];
    for (int th = threads ? threads : 1; th <= (threads ? threads : 2); th++)
        for (size_t k = 0; k < n; k++) bench_shape(&list[k], th, reps, be);
    return 0;
}
