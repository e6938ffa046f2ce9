/* test_kernels_amx.c - amx_sgemm_bf16 (bf16 products on AMX tiles) against
 * its plain reference amx_sgemm_bf16_ref (the same bf16-rounded inputs,
 * accumulated in double) and against f32 cblas_sgemm:
 *   - exact: small-integer matrices, whose products and sums are exact in
 *     f32 whatever the order, must match the reference bit for bit: any
 *     misplaced, dropped or repeated element shows;
 *   - rounding: values on and next to bf16 rounding ties, NaN, Inf and
 *     subnormals, one product each (K = 1), exactly;
 *   - random normal data: error within 1e-5 of sum_k |a||b| (f32
 *     accumulation), on every transpose combination, odd sizes, strided
 *     lda/ldb/ldc, alpha/beta, several K and M blocks, 1-3 threads;
 *   - f32 sgemm: within what bf16 inputs cost (2^-8 of sum_k |a||b|);
 *   - context reuse, concurrent contexts, refused arguments.
 * Where the CPU has no AMX-BF16 (or the kernel refuses the tile state) the
 * whole file is skipped: the trainer then never calls the kernel. */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_amx.h"
#include "tap.h"

/* xorshift64*: deterministic test data without the library's RNG. */
static uint64_t rnd_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/* Roughly N(0, 1): sum of four uniforms, centred and scaled. */
static float rnd_normal(uint64_t *s) {
    double u = 0;
    for (int k = 0; k < 4; k++) u += (double)(rnd_next(s) >> 11) * 0x1p-53;
    return (float)((u - 2.0) * 1.7320508);
}

/* Integer in [-r, r]. */
static float rnd_int(uint64_t *s, int r) {
    return (float)((int)(rnd_next(s) % (uint64_t)(2 * r + 1)) - r);
}

typedef enum { DATA_NORMAL, DATA_INT } data_t;

/* One product: shapes, layout and scalars. pad extends every leading
 * dimension past the matrix width (strided access); the pad columns of C must
 * come back untouched. */
typedef struct gemm_case {
    int ta, tb, M, N, K;
    float alpha, beta;
    int pad;
    data_t data;
} gemm_case_t;

typedef struct operands {
    int lda, ldb, ldc;
    size_t na, nb, nc;
    float *A, *B, *C, *R; /* R: the reference's C */
} operands_t;

static int operands_init(operands_t *o, const gemm_case_t *g, uint64_t seed) {
    o->lda = (g->ta ? g->M : g->K) + g->pad;
    o->ldb = (g->tb ? g->K : g->N) + g->pad;
    o->ldc = g->N + g->pad;
    o->na = (size_t)(g->ta ? g->K : g->M) * o->lda;
    o->nb = (size_t)(g->tb ? g->N : g->K) * o->ldb;
    o->nc = (size_t)g->M * o->ldc;
    /* 64-byte aligned, as the trainer's buffers are: C rows can then take
     * the streaming stores (a C of 8 MB or more with ldc a multiple of 16) */
    o->A = aligned_alloc(64, (o->na * sizeof(float) + 63) & ~(size_t)63);
    o->B = aligned_alloc(64, (o->nb * sizeof(float) + 63) & ~(size_t)63);
    o->C = aligned_alloc(64, (o->nc * sizeof(float) + 63) & ~(size_t)63);
    o->R = malloc(o->nc * sizeof(float));
    if (!o->A || !o->B || !o->C || !o->R) return -1;
    uint64_t s = seed | 1;
    const int ints = g->data == DATA_INT;
    for (size_t i = 0; i < o->na; i++) o->A[i] = ints ? rnd_int(&s, 8) : rnd_normal(&s);
    for (size_t i = 0; i < o->nb; i++) o->B[i] = ints ? rnd_int(&s, 8) : rnd_normal(&s);
    for (size_t i = 0; i < o->nc; i++) {
        /* beta = 0 must not read C: NaN there would poison the result */
        o->C[i] = g->beta == 0.0f ? NAN : ints ? rnd_int(&s, 100) : rnd_normal(&s);
    }
    memcpy(o->R, o->C, o->nc * sizeof(float));
    return 0;
}

static void operands_free(operands_t *o) {
    free(o->A);
    free(o->B);
    free(o->C);
    free(o->R);
}

static float op_a(const gemm_case_t *g, const operands_t *o, int m, int k) {
    return g->ta ? o->A[(size_t)k * o->lda + m] : o->A[(size_t)m * o->lda + k];
}

static float op_b(const gemm_case_t *g, const operands_t *o, int k, int n) {
    return g->tb ? o->B[(size_t)n * o->ldb + k] : o->B[(size_t)k * o->ldb + n];
}

/* max over C of |got - want| / (|alpha| sum_k |a b| + |beta c0| + tiny), and
 * whether the pad columns kept their values (want holds the originals). */
static double worst_error(const gemm_case_t *g, const operands_t *o, const float *got,
                          const float *want, const float *c0, int *pads_ok) {
    double worst = 0;
    *pads_ok = 1;
    for (int m = 0; m < g->M; m++) {
        for (int n = 0; n < g->N; n++) {
            double scale = 1e-30;
            for (int k = 0; k < g->K; k++)
                scale += fabs((double)op_a(g, o, m, k) * op_b(g, o, k, n));
            scale *= fabs((double)g->alpha);
            const size_t i = (size_t)m * o->ldc + n;
            if (g->beta != 0.0f) scale += fabs((double)g->beta * c0[i]);
            const double e = fabs((double)got[i] - want[i]) / scale;
            if (!(e <= worst)) worst = e; /* NaN counts as the worst */
        }
        for (int n = g->N; n < o->ldc; n++) {
            const size_t i = (size_t)m * o->ldc + n;
            *pads_ok &= memcmp(&got[i], &c0[i], sizeof(float)) == 0;
        }
    }
    return worst;
}

static const char *trans_name(const gemm_case_t *g) {
    static const char *names[] = {"NN", "NT", "TN", "TT"};
    return names[g->ta * 2 + g->tb];
}

/* AMX against the reference: exact for integer data, else within tol. */
static void check_ref(tap_t *t, amx_ctx_t *ctx, int threads, const gemm_case_t *g, double tol) {
    operands_t o = {0};
    const uint64_t seed = (uint64_t)g->M * 1000003u + (uint64_t)g->N * 1009u + (uint64_t)g->K * 7u +
                          (uint64_t)(g->ta * 2 + g->tb);
    if (operands_init(&o, g, seed) != 0) {
        tap_ok(t, 0, "out of memory");
        operands_free(&o);
        return;
    }
    float *c0 = malloc(o.nc * sizeof(float));
    if (!c0) {
        tap_ok(t, 0, "out of memory");
        operands_free(&o);
        return;
    }
    memcpy(c0, o.C, o.nc * sizeof(float));
    const int rc = amx_sgemm_bf16(ctx, g->ta, g->tb, g->M, g->N, g->K, g->alpha, o.A, o.lda, o.B,
                                  o.ldb, g->beta, o.C, o.ldc);
    const int ref_rc = amx_sgemm_bf16_ref(g->ta, g->tb, g->M, g->N, g->K, g->alpha, o.A, o.lda,
                                          o.B, o.ldb, g->beta, o.R, o.ldc);
    const int exact = g->data == DATA_INT;
    int pads_ok = 1, same = 1;
    double err = 0;
    if (exact) /* the pad columns too: they must have kept c0's values, as R did */
        for (size_t i = 0; i < o.nc; i++) same &= memcmp(&o.C[i], &o.R[i], sizeof(float)) == 0;
    else
        err = worst_error(g, &o, o.C, o.R, c0, &pads_ok);
    tap_ok(t, rc == 0 && ref_rc == 0 && pads_ok && (exact ? same : err <= tol),
           "%s %s %dx%dx%d alpha %g beta %g pad %d, %d thread%s: %s (error %.2g%s)",
           exact ? "exact" : "ref", trans_name(g), g->M, g->N, g->K, (double)g->alpha,
           (double)g->beta, g->pad, threads, threads > 1 ? "s" : "",
           exact ? (same ? "identical" : "DIFFERENT") : "within tol", err,
           pads_ok ? "" : ", pad columns CHANGED");
    free(c0);
    operands_free(&o);
}

/* AMX against f32 sgemm: bf16 inputs cost up to 2^-8 relative per product
 * (each input rounded by at most 2^-9), so |C - C_f32| <= 2^-8 sum|a b|. The
 * error must also be clearly there (the inputs really were rounded). */
static void check_f32(tap_t *t, amx_ctx_t *ctx, const gemm_case_t *g) {
    operands_t o = {0};
    if (operands_init(&o, g, 12345) != 0) {
        tap_ok(t, 0, "out of memory");
        operands_free(&o);
        return;
    }
    float *c0 = malloc(o.nc * sizeof(float));
    if (!c0) {
        tap_ok(t, 0, "out of memory");
        operands_free(&o);
        return;
    }
    memcpy(c0, o.C, o.nc * sizeof(float));
    const int rc = amx_sgemm_bf16(ctx, g->ta, g->tb, g->M, g->N, g->K, g->alpha, o.A, o.lda, o.B,
                                  o.ldb, g->beta, o.C, o.ldc);
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                g->M, g->N, g->K, g->alpha, o.A, o.lda, o.B, o.ldb, g->beta, o.R, o.ldc);
    int pads_ok;
    const double err = worst_error(g, &o, o.C, o.R, c0, &pads_ok);
    tap_ok(t, rc == 0 && pads_ok && err <= 0x1p-8 && err > 1e-5,
           "vs f32 sgemm %s %dx%dx%d: error %.2g of sum|ab| (bf16 bound 3.9e-3)", trans_name(g),
           g->M, g->N, g->K, err);
    free(c0);
    operands_free(&o);
}

/* One product per value (K = 1, M = N = 16 so each lane of a tile row is a
 * different value): C = bf16(a) * 1 exactly, through every packing path. */
static void test_rounding(tap_t *t, amx_ctx_t *ctx) {
    static const float vals[16] = {
        1.0f + 0x1p-8f,       /* tie between 1 and 1 + 2^-7: even 1 */
        1.0f + 3 * 0x1p-8f,   /* tie: even 1 + 2^-6 */
        1.0f + 0x1.0002p-8f,  /* just above the tie: up */
        -(1.0f + 0x1p-8f),    /* negative tie */
        0x1.fffffep+127f,     /* FLT_MAX rounds to Inf */
        INFINITY,
        -INFINITY,
        0x1p-126f,            /* smallest normal: kept */
        0x1p-130f,            /* subnormal: taken as zero */
        -0x1p-149f,           /* subnormal: zero */
        3.14159265f,
        -2.71828183f,
        65504.0f,
        1e-20f,
        0.0f,
        -0.0f,
    };
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            /* op(A) [16, 1] = vals, op(B) [1, 16] = all ones: C[m][n] = bf16(vals[m]);
             * then the same with the roles swapped: C[m][n] = bf16(vals[n]) */
            float A[16], B[16], C[256], R[256], ones[16];
            for (int i = 0; i < 16; i++) ones[i] = 1.0f;
            int ok = 1;
            for (int swap = 0; swap < 2; swap++) {
                memcpy(A, swap ? ones : vals, sizeof A);
                memcpy(B, swap ? vals : ones, sizeof B);
                /* op(A) is [16, 1]: A is [16][1] (lda 1) or A^T [1][16] (lda 16);
                 * op(B) is [1, 16]: B is [1][16] (ldb 16) or B^T [16][1] (ldb 1) */
                const int rc = amx_sgemm_bf16(ctx, ta, tb, 16, 16, 1, 1.0f, A, ta ? 16 : 1, B,
                                              tb ? 1 : 16, 0.0f, C, 16);
                const int ref_rc = amx_sgemm_bf16_ref(ta, tb, 16, 16, 1, 1.0f, A, ta ? 16 : 1,
                                                      B, tb ? 1 : 16, 0.0f, R, 16);
                ok &= rc == 0 && ref_rc == 0;
                for (int i = 0; i < 256; i++)
                    ok &= memcmp(&C[i], &R[i], sizeof(float)) == 0 ||
                          (isnan(C[i]) && isnan(R[i])) ||
                          (C[i] == 0.0f && R[i] == 0.0f); /* sign of a flushed zero */
            }
            tap_ok(t, ok, "rounding %c%c: ties to even, Inf, overflow, subnormals as zero",
                   ta ? 'T' : 'N', tb ? 'T' : 'N');
        }
    /* the reference's rounding itself, against hand-computed values */
    const float a[4] = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1.0002p-8f, 0x1p-130f};
    const float want[4] = {1.0f, 1.0f + 0x1p-6f, 1.0f + 0x1p-7f, 0.0f};
    const float one = 1.0f;
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        float c = 0;
        ok &= amx_sgemm_bf16_ref(0, 0, 1, 1, 1, 1.0f, &a[i], 1, &one, 1, 0.0f, &c, 1) == 0 &&
              c == want[i];
    }
    tap_ok(t, ok, "reference rounds ties to even and subnormals to zero");
}

/* Two products at once from two OpenMP threads, each with its own context
 * (nested: each runs on one thread with its own tile configuration). */
static void test_concurrent(tap_t *t, amx_backend_t be) {
    const gemm_case_t g = {0, 1, 70, 45, 100, 1.0f, 0.0f, 0, DATA_INT};
    operands_t o[2] = {{0}, {0}};
    int ok = 1;
    for (int i = 0; i < 2; i++) ok &= operands_init(&o[i], &g, 99 + (uint64_t)i) == 0;
    if (ok) {
#pragma omp parallel for num_threads(2)
        for (int i = 0; i < 2; i++) {
            amx_ctx_t *ctx = amx_ctx_init_backend(2, be);
            if (!ctx || amx_sgemm_bf16(ctx, g.ta, g.tb, g.M, g.N, g.K, g.alpha, o[i].A, o[i].lda,
                                       o[i].B, o[i].ldb, g.beta, o[i].C, o[i].ldc) != 0)
                o[i].C[0] = -12345.0f; /* marks the failure */
            amx_ctx_free(ctx);
        }
        for (int i = 0; i < 2; i++) {
            ok &= amx_sgemm_bf16_ref(g.ta, g.tb, g.M, g.N, g.K, g.alpha, o[i].A, o[i].lda, o[i].B,
                                     o[i].ldb, g.beta, o[i].R, o[i].ldc) == 0;
            ok &= memcmp(o[i].C, o[i].R, o[i].nc * sizeof(float)) == 0;
        }
    }
    tap_ok(t, ok, "two contexts used at once from two threads");
    for (int i = 0; i < 2; i++) operands_free(&o[i]);
}

/* Every 32 x 32 block of C is computed by the same sequence of tile
 * operations whichever thread gets it, so the result does not depend on the
 * thread count, bit for bit (the trainer's runs are reproducible). */
static void test_thread_invariance(tap_t *t, amx_ctx_t *one, amx_ctx_t *three) {
    const gemm_case_t g = {1, 0, 300, 250, 700, 1.0f, 1.0f, 1, DATA_NORMAL};
    operands_t o = {0};
    int ok = operands_init(&o, &g, 4242) == 0;
    if (ok) {
        memcpy(o.R, o.C, o.nc * sizeof(float));
        ok &= amx_sgemm_bf16(one, g.ta, g.tb, g.M, g.N, g.K, g.alpha, o.A, o.lda, o.B, o.ldb,
                             g.beta, o.C, o.ldc) == 0;
        ok &= amx_sgemm_bf16(three, g.ta, g.tb, g.M, g.N, g.K, g.alpha, o.A, o.lda, o.B, o.ldb,
                             g.beta, o.R, o.ldc) == 0;
        ok &= memcmp(o.C, o.R, o.nc * sizeof(float)) == 0;
    }
    tap_ok(t, ok, "1 and 3 threads give the same bits (TN 300x250x700, beta 1)");
    operands_free(&o);
}

/* amx_sgemm_bf16_bias: integer data, so C must equal the reference plus the
 * bias exactly: edge blocks (N not a multiple of 32), several K blocks (K
 * past AMX_KC), a C large enough for the streaming stores, transposes; C's
 * old contents (NaN) never read, the pad columns untouched. */
static void test_bias(tap_t *t, amx_ctx_t *ctx) {
    static const gemm_case_t cases[] = {
        {0, 0, 33, 65, 100, 1.0f, 0.0f, 3, DATA_INT},
        {1, 0, 17, 200, 64, 1.0f, 0.0f, 0, DATA_INT},
        {0, 1, 40, 50, 4200, 1.0f, 0.0f, 0, DATA_INT},
        {0, 0, 2048, 1536, 384, 1.0f, 0.0f, 0, DATA_INT},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const gemm_case_t *g = &cases[c];
        operands_t o;
        float *bias = malloc((size_t)g->N * sizeof(float));
        if (!bias || operands_init(&o, g, 1000 + c) != 0) {
            tap_ok(t, 0, "bias case %zu: out of memory", c);
            free(bias);
            return;
        }
        uint64_t s = 77 + c;
        for (int n = 0; n < g->N; n++) bias[n] = rnd_int(&s, 50);
        int ok = amx_sgemm_bf16_bias(ctx, g->ta, g->tb, g->M, g->N, g->K, o.A, o.lda, o.B, o.ldb,
                                     bias, o.C, o.ldc) == 0 &&
                 amx_sgemm_bf16_ref(g->ta, g->tb, g->M, g->N, g->K, 1.0f, o.A, o.lda, o.B, o.ldb,
                                    0.0f, o.R, o.ldc) == 0;
        size_t bad = 0;
        for (int m = 0; ok && m < g->M; m++)
            for (int n = 0; n < o.ldc; n++) {
                const float got = o.C[(size_t)m * o.ldc + n], ref = o.R[(size_t)m * o.ldc + n];
                if (n < g->N ? got != ref + bias[n] : !isnan(got)) bad++;
            }
        tap_ok(t, ok && bad == 0, "bias: %s%s %dx%dx%d%s = reference + bias exactly (%zu wrong)",
               g->ta ? "A^T" : "A", g->tb ? " B^T" : " B", g->M, g->N, g->K,
               g->pad ? ", strided" : "", bad);
        free(bias);
        operands_free(&o);
    }
    float A[4] = {1, 2, 3, 4}, B[4] = {1, 0, 0, 1}, C[4] = {7, 7, 7, 7};
    tap_ok(t, amx_sgemm_bf16_bias(ctx, 0, 0, 2, 2, 2, A, 2, B, 2, NULL, C, 2) == -1 && C[0] == 7,
           "bias: a NULL bias is refused, C untouched");
}

static void test_refusals(tap_t *t, amx_ctx_t *ctx) {
    float A[64], B[64], C[64];
    for (int i = 0; i < 64; i++) A[i] = B[i] = C[i] = 1.0f;
    int ok = amx_sgemm_bf16(ctx, 0, 0, 0, 4, 4, 1, A, 4, B, 4, 0, C, 4) == -1;
    ok &= amx_sgemm_bf16(ctx, 0, 0, 4, 0, 4, 1, A, 4, B, 4, 0, C, 4) == -1;
    ok &= amx_sgemm_bf16(ctx, 0, 0, 4, 4, 0, 1, A, 4, B, 4, 0, C, 4) == -1;
    ok &= amx_sgemm_bf16(NULL, 0, 0, 4, 4, 4, 1, A, 4, B, 4, 0, C, 4) == -1;
    ok &= amx_sgemm_bf16(ctx, 0, 0, 4, 4, 4, 1, A, 3, B, 4, 0, C, 4) == -1; /* lda < K */
    ok &= amx_sgemm_bf16(ctx, 1, 0, 4, 4, 4, 1, A, 4, B, 4, 0, C, 3) == -1; /* ldc < N */
    ok &= amx_sgemm_bf16(ctx, 0, 1, 4, 8, 4, 1, A, 4, B, 3, 0, C, 8) == -1; /* ldb < K */
    for (int i = 0; i < 64; i++) ok &= C[i] == 1.0f;
    tap_ok(t, ok, "empty products and too-small strides are refused, C untouched");
    amx_ctx_free(NULL);
}

/* Every check on one backend. */
static void run_backend(tap_t *tp, amx_backend_t be) {
    tap_t t = *tp;
    printf("# backend: %s\n", amx_backend_name(be));
    /* sizes around the tile (16), pair (32), K block (512) and M block (256)
     * boundaries */
    static const int sizes[][3] = {
        {1, 1, 1},    {15, 17, 33},  {16, 16, 32},  {32, 32, 32}, {33, 65, 100},
        {100, 37, 257}, {64, 128, 64}, {257, 96, 31}, {17, 200, 64},
    };
    const size_t n_sizes = sizeof sizes / sizeof sizes[0];
    amx_ctx_t *ctx[4] = {NULL, NULL, NULL, NULL};
    for (int th = 1; th <= 3; th++) ctx[th] = amx_ctx_init_backend(th, be);
    if (!ctx[1] || !ctx[2] || !ctx[3] || amx_ctx_backend(ctx[1]) != be) {
        tap_ok(&t, 0, "amx_ctx_init_backend");
        for (int th = 1; th <= 3; th++) amx_ctx_free(ctx[th]);
        *tp = t;
        return;
    }

    /* exact on integers: every transpose, size, stride, beta, thread count */
    for (int th = 1; th <= 2; th++)
        for (int tr = 0; tr < 4; tr++)
            for (size_t s = 0; s < n_sizes; s++) {
                const gemm_case_t g = {tr >> 1, tr & 1, sizes[s][0], sizes[s][1], sizes[s][2],
                                       1.0f, (s % 3) == 1 ? 1.0f : 0.0f, (int)(s % 2) * 3,
                                       DATA_INT};
                check_ref(&t, ctx[th], th, &g, 0);
            }
    /* exactly, on products large enough for 2 and 3 threads (a thread per
     * 2^24 flops): several M blocks, the N split (M of one 32-row block),
     * more than one K block (K > 4096), and a C of 8 MB or more, written
     * with streaming stores (aligned rows, beta = 0) or prefetched */
    static const gemm_case_t big_int[] = {
        {0, 0, 300, 90, 1100, 1.0f, 0.0f, 0, DATA_INT},
        {1, 0, 290, 64, 1030, 1.0f, 1.0f, 5, DATA_INT},
        {0, 1, 520, 33, 600, 1.0f, 0.0f, 1, DATA_INT},
        {1, 1, 40, 300, 700, 0.5f, -2.0f, 2, DATA_INT},
        {0, 0, 20, 600, 1500, -1.0f, 0.25f, 0, DATA_INT},
        {1, 0, 30, 700, 1000, 1.0f, 0.0f, 0, DATA_INT},
        {0, 1, 64, 100, 4500, 1.0f, 1.0f, 3, DATA_INT},
        {1, 1, 70, 90, 4200, 1.0f, 0.0f, 0, DATA_INT},
        {0, 0, 2048, 1024, 32, 1.0f, 0.0f, 0, DATA_INT},
        {0, 1, 2050, 1030, 40, 1.0f, 0.0f, 0, DATA_INT},
        {1, 0, 2048, 1024, 33, 1.0f, 1.0f, 0, DATA_INT},
    };
    for (size_t s = 0; s < sizeof big_int / sizeof big_int[0]; s++) {
        if (s < 8) check_ref(&t, ctx[1], 1, &big_int[s], 0); /* the large C ones once */
        check_ref(&t, ctx[3], 3, &big_int[s], 0);
    }

    /* normal data with general alpha/beta */
    for (int th = 1; th <= 2; th++)
        for (int tr = 0; tr < 4; tr++) {
            const gemm_case_t g1 = {tr >> 1, tr & 1, 50, 40, 70, 0.5f, 1.0f, 1, DATA_NORMAL};
            const gemm_case_t g2 = {tr >> 1, tr & 1, 48, 80, 300, -2.0f, 0.25f, 0, DATA_NORMAL};
            const gemm_case_t g3 = {tr >> 1, tr & 1, 257, 100, 33, 1.0f, 0.0f, 7, DATA_NORMAL};
            const gemm_case_t g4 = {tr >> 1, tr & 1, 96, 64, 1100, 1.0f, 1.0f, 0, DATA_NORMAL};
            const gemm_case_t g5 = {tr >> 1, tr & 1, 33, 40, 4400, 1.0f, 0.0f, 2, DATA_NORMAL};
            check_ref(&t, ctx[th], th, &g1, 1e-5);
            check_ref(&t, ctx[th], th, &g2, 1e-5);
            check_ref(&t, ctx[th], th, &g3, 1e-5);
            check_ref(&t, ctx[th], th, &g4, 1e-5);
            check_ref(&t, ctx[th], th, &g5, 1e-5);
        }

    /* against f32: the transposes the trainer uses, on training-like shapes */
    static const gemm_case_t f32_cases[] = {
        {0, 0, 128, 96, 384, 1.0f, 0.0f, 0, DATA_NORMAL},
        {0, 1, 130, 64, 200, 1.0f, 1.0f, 0, DATA_NORMAL},
        {1, 0, 64, 96, 513, 1.0f, 1.0f, 0, DATA_NORMAL},
        {1, 1, 33, 47, 65, 0.125f, 0.0f, 3, DATA_NORMAL},
    };
    for (size_t s = 0; s < sizeof f32_cases / sizeof f32_cases[0]; s++)
        check_f32(&t, ctx[2], &f32_cases[s]);

    /* a context reused across shapes: buffers grow and shrink in use */
    const gemm_case_t reuse[] = {
        {0, 0, 8, 8, 8, 1.0f, 0.0f, 0, DATA_INT},
        {1, 1, 200, 150, 900, 1.0f, 0.0f, 0, DATA_INT},
        {0, 1, 9, 10, 11, 1.0f, 1.0f, 2, DATA_INT},
    };
    for (size_t s = 0; s < sizeof reuse / sizeof reuse[0]; s++)
        check_ref(&t, ctx[2], 2, &reuse[s], 0);

    test_rounding(&t, ctx[1]);
    test_concurrent(&t, be);
    test_thread_invariance(&t, ctx[1], ctx[3]);
    test_bias(&t, ctx[2]);
    test_refusals(&t, ctx[1]);
    for (int th = 1; th <= 3; th++) amx_ctx_free(ctx[th]);
    *tp = t;
}

/* Both backends where the CPU has them: an AMX host also checks the AVX-512
 * micro-kernel that hosts without tiles run. */
int main(void) {
    const int tiles = amx_available(), avx = amx_avx512bf16_available();
    if (!tiles && !avx) {
        printf("1..0 # SKIP no AMX-BF16 and no AVX512-BF16 on this CPU\n");
        return 0;
    }
    tap_t t = {0};
    if (tiles) run_backend(&t, AMX_BACKEND_TILES);
    if (avx) run_backend(&t, AMX_BACKEND_AVX512);
    /* a backend the CPU lacks gives a context that refuses */
    amx_ctx_t *none = amx_ctx_init_backend(1, AMX_BACKEND_NONE);
    float A[4] = {1, 2, 3, 4}, C[4] = {7, 7, 7, 7};
    tap_ok(&t, none && amx_ctx_backend(none) == AMX_BACKEND_NONE &&
                   amx_sgemm_bf16(none, 0, 0, 2, 2, 2, 1, A, 2, A, 2, 0, C, 2) == -1 && C[0] == 7,
           "a context on no backend refuses, C untouched");
    amx_ctx_free(none);
    return tap_done(&t);
}
