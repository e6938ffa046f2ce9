/* test_kernels_amx.c - the AMX bf16 matrix product against its plain
 * reference (same bf16-rounded inputs, double accumulation) on every
 * transpose combination, odd sizes, strides, alpha/beta and thread counts.
 * Skipped where the CPU has no AMX (the product then never calls it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_amx.h"
#include "rng.h"
#include "tap.h"

static void fill(float *p, size_t n, rng_t *r) {
    for (size_t i = 0; i < n; i++) p[i] = rng_normal(r);
}

/* max |C - C_ref| / (max over the row of sum_k |a||b| + |beta c|): f32
 * accumulation of bf16 products is good to ~K * 2^-24 of that scale. */
static int check(tap_t *t, amx_ctx_t *ctx, int ta, int tb, int M, int N, int K, float alpha,
                 float beta, int pad) {
    rng_t r;
    rng_seed(&r, (uint64_t)(M * 131 + N * 7 + K + ta * 3 + tb));
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb, nc = (size_t)M * ldc;
    float *A = malloc(na * 4), *B = malloc(nb * 4), *C = malloc(nc * 4), *R = malloc(nc * 4);
    fill(A, na, &r);
    fill(B, nb, &r);
    fill(C, nc, &r);
    memcpy(R, C, nc * 4);
    int rc = amx_sgemm_bf16(ctx, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    amx_sgemm_bf16_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    double worst = 0;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double scale = 1e-30;
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k];
                float b = tb ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n];
                scale += fabs((double)a * b);
            }
            scale = fabs(alpha) * scale + 4.0;
            double e = fabs((double)C[(size_t)m * ldc + n] - R[(size_t)m * ldc + n]) / scale;
            worst = e > worst ? e : worst;
        }
    /* the pad columns of C must be untouched */
    int pads_ok = 1;
    for (int m = 0; m < M && pad; m++)
        for (int n = N; n < ldc; n++) pads_ok &= C[(size_t)m * ldc + n] == R[(size_t)m * ldc + n];
    int ok = tap_ok(t, rc == 0 && worst < 1e-5 && pads_ok,
                    "%c%c %dx%dx%d alpha %.1f beta %.1f pad %d: error %.2g", ta ? 'T' : 'N',
                    tb ? 'T' : 'N', M, N, K, alpha, beta, pad, worst);
    free(A);
    free(B);
    free(C);
    free(R);
    return ok;
}

int main(void) {
    tap_t t = {0};
    if (!amx_available()) {
        printf("1..0 # SKIP no AMX-BF16 on this CPU (or the kernel refused the tile state)\n");
        return 0;
    }
    static const int sizes[][3] = {{1, 1, 1},    {15, 17, 33}, {32, 32, 32}, {33, 65, 100},
                                   {100, 37, 257}, {64, 128, 64}, {257, 96, 31}};
    for (int th = 1; th <= 2; th++) {
        amx_ctx_t *ctx = amx_ctx_init(th);
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
                    check(&t, ctx, ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 1.0f, 0.0f,
                          (int)(s % 2) * 3);
        check(&t, ctx, 0, 0, 50, 40, 70, 0.5f, 1.0f, 1);
        check(&t, ctx, 1, 0, 48, 80, 300, -2.0f, 0.25f, 0);
        amx_ctx_free(ctx);
    }
    tap_ok(&t, amx_sgemm_bf16(NULL, 0, 0, 0, 4, 4, 1, NULL, 4, NULL, 4,
                                                     0, NULL, 4) == -1,
           "an empty product is refused, nothing touched");
    return tap_done(&t);
}
