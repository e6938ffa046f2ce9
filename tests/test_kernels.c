/* test_kernels.c - the fast kernel_linear paths (AVX-512, AVX2, portable,
 * each forced in turn with GPTSCOPE_KERNELS) against the reference triple
 * loop for every dtype, layout and batch size, their thread-count
 * invariance, and the f16/bf16 conversions against IEEE 754 bit patterns, an
 * exhaustive nearest-value check and every 16-bit pattern on every path. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "kernels_simd.h"
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

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static void test_known_bits(tap_t *t) {
    static const struct { float f; uint16_t h; const char *what; } f16[] = {
        {1.0f, 0x3C00, "1.0"},
        {-2.0f, 0xC000, "-2.0"},
        {0.1f, 0x2E66, "0.1"},
        {65504.0f, 0x7BFF, "65504 (largest)"},
        {65519.0f, 0x7BFF, "65519 rounds down"},
        {65520.0f, 0x7C00, "65520 ties to Inf"},
        {0x1p-14f, 0x0400, "2^-14 (smallest normal)"},
        {0x1p-24f, 0x0001, "2^-24 (smallest subnormal)"},
        {1023 * 0x1p-24f, 0x03FF, "largest subnormal"},
        {0x1p-25f, 0x0000, "2^-25 ties to even zero"},
        {0x1.8p-25f, 0x0001, "1.5 * 2^-25 rounds up to 2^-24"},
        {3 * 0x1p-25f, 0x0002, "3 * 2^-25 ties to even 2 * 2^-24"},
        {1.0f + 0x1p-11f, 0x3C00, "1 + 2^-11 ties to even 1.0"},
        {1.0f + 3 * 0x1p-11f, 0x3C02, "1 + 3 * 2^-11 ties to even 0x3C02"},
        {0x1.002002p+0f, 0x3C01, "just above a tie rounds up"},
        {-0.0f, 0x8000, "-0.0"},
        {1e-10f, 0x0000, "1e-10 underflows to 0"},
    };
    for (size_t k = 0; k < sizeof f16 / sizeof f16[0]; k++) {
        const uint16_t h = kernel_f32_to_f16(f16[k].f);
        tap_ok(t, h == f16[k].h, "f32->f16 %s: 0x%04X (want 0x%04X)", f16[k].what, h, f16[k].h);
    }
    tap_ok(t, kernel_f32_to_f16(INFINITY) == 0x7C00 && kernel_f32_to_f16(-INFINITY) == 0xFC00,
           "f32->f16 +-Inf");
    const uint16_t hn = kernel_f32_to_f16(NAN);
    tap_ok(t, (hn & 0x7C00) == 0x7C00 && (hn & 0x3FF) != 0, "f32->f16 NaN stays NaN (0x%04X)", hn);
    /* a NaN whose payload lives only in the low 13 bits must not become Inf */
    const uint16_t hl = kernel_f32_to_f16(bits_f32(0x7F800001u));
    tap_ok(t, (hl & 0x3FF) != 0, "f32->f16 low-payload NaN stays NaN (0x%04X)", hl);

    tap_ok(t, kernel_f16_to_f32(0x3C00) == 1.0f, "f16->f32 0x3C00 = 1");
    tap_ok(t, kernel_f16_to_f32(0x0001) == 0x1p-24f, "f16->f32 smallest subnormal");
    tap_ok(t, kernel_f16_to_f32(0x83FF) == -1023 * 0x1p-24f, "f16->f32 negative subnormal");
    tap_ok(t, kernel_f16_to_f32(0x7BFF) == 65504.0f, "f16->f32 65504");
    tap_ok(t, isinf(kernel_f16_to_f32(0xFC00)) && kernel_f16_to_f32(0xFC00) < 0, "f16->f32 -Inf");
    tap_ok(t, isnan(kernel_f16_to_f32(0x7E00)), "f16->f32 NaN");
    /* NaN policy: F16C's vcvtph2ps quietens a signalling NaN (sets f32 bit
     * 22) and keeps the payload; the scalar conversion does the same, so all
     * paths agree bit for bit. BF16 -> f32 is a shift: every bit kept. */
    tap_ok(t, f32_bits(kernel_f16_to_f32(0x7C01)) == 0x7FC02000u,
           "f16->f32 signalling NaN 0x7C01 -> quiet 0x7FC02000, payload kept (0x%08X)",
           f32_bits(kernel_f16_to_f32(0x7C01)));
    tap_ok(t, f32_bits(kernel_f16_to_f32(0xFE01)) == 0xFFC02000u,
           "f16->f32 quiet NaN 0xFE01 -> 0xFFC02000 (0x%08X)", f32_bits(kernel_f16_to_f32(0xFE01)));
    tap_ok(t, f32_bits(kernel_bf16_to_f32(0x7F81)) == 0x7F810000u,
           "bf16->f32 signalling NaN 0x7F81 -> 0x7F810000, every bit kept");
    tap_ok(t, signbit(kernel_f16_to_f32(0x8000)) && kernel_f16_to_f32(0x8000) == 0, "f16->f32 -0");

    static const struct { float f; uint16_t h; const char *what; } bf[] = {
        {1.0f, 0x3F80, "1.0"},
        {-2.0f, 0xC000, "-2.0"},
        {1.0f + 0x1p-8f, 0x3F80, "1 + 2^-8 ties to even 1.0"},
        {1.0f + 3 * 0x1p-8f, 0x3F82, "1 + 3 * 2^-8 ties to even 0x3F82"},
        {1.0f + 0x1.02p-8f, 0x3F81, "just above a tie rounds up"},
        {3.4028235e38f, 0x7F80, "FLT_MAX rounds to Inf"},
        {0x1p-133f, 0x0001, "smallest bf16 subnormal"},
        {0x1p-149f, 0x0000, "smallest f32 subnormal rounds to 0"},
        {-0.0f, 0x8000, "-0.0"},
    };
    for (size_t k = 0; k < sizeof bf / sizeof bf[0]; k++) {
        const uint16_t h = kernel_f32_to_bf16(bf[k].f);
        tap_ok(t, h == bf[k].h, "f32->bf16 %s: 0x%04X (want 0x%04X)", bf[k].what, h, bf[k].h);
    }
    tap_ok(t, kernel_f32_to_bf16(INFINITY) == 0x7F80 && kernel_f32_to_bf16(-INFINITY) == 0xFF80,
           "f32->bf16 +-Inf");
    const uint16_t bn = kernel_f32_to_bf16(bits_f32(0x7F800001u));
    tap_ok(t, (bn & 0x7F80) == 0x7F80 && (bn & 0x7F) != 0, "f32->bf16 NaN stays NaN (0x%04X)", bn);
    tap_ok(t, kernel_bf16_to_f32(0x3F80) == 1.0f, "bf16->f32 0x3F80 = 1");
    tap_ok(t, isnan(kernel_bf16_to_f32(0x7FC0)), "bf16->f32 NaN");
}

/* Every 16-bit pattern survives to f32 and back (NaNs stay NaNs). */
static void test_round_trips(tap_t *t) {
    int bad16 = 0, badbf = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        const int nan16 = (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
        const uint16_t b16 = kernel_f32_to_f16(kernel_f16_to_f32((uint16_t)h));
        if (nan16 ? !((b16 & 0x7C00) == 0x7C00 && (b16 & 0x3FF)) : b16 != h) bad16++;
        const int nanbf = (h & 0x7F80) == 0x7F80 && (h & 0x7F);
        const uint16_t bbf = kernel_f32_to_bf16(kernel_bf16_to_f32((uint16_t)h));
        if (nanbf ? !((bbf & 0x7F80) == 0x7F80 && (bbf & 0x7F)) : bbf != h) badbf++;
    }
    tap_ok(t, bad16 == 0, "f16 -> f32 -> f16 round trip of all 65536 patterns (%d wrong)", bad16);
    tap_ok(t, badbf == 0, "bf16 -> f32 -> bf16 round trip of all 65536 patterns (%d wrong)", badbf);
}

/* For random finite f32 in the f16 range, the result is the nearest f16 and
 * ties go to the even one: checked against both neighbours in double. */
static void test_nearest(tap_t *t, uint64_t *s) {
    int bad16 = 0, badbf = 0;
    for (int k = 0; k < 200000; k++) {
        /* exponents spread over the f16 range and a little beyond */
        const uint32_t e = 100 + (uint32_t)(rnd_next(s) % 44);
        const uint32_t u = (uint32_t)(rnd_next(s) & 0x807FFFFFu) | e << 23;
        const float f = bits_f32(k % 7 == 0 ? (u & ~0xFFFu) | 0x1000u : u); /* many exact ties */
        const uint16_t h = kernel_f32_to_f16(f);
        if ((h & 0x7FFF) < 0x7BFF) {
            const double d = fabs((double)f - kernel_f16_to_f32(h));
            const double up = fabs((double)f - kernel_f16_to_f32((uint16_t)(h + 1)));
            const double dn = (h & 0x7FFF) ? fabs((double)f - kernel_f16_to_f32((uint16_t)(h - 1)))
                                           : INFINITY;
            if (d > up || d > dn || ((d == up || d == dn) && (h & 1))) bad16++;
        }
        const uint32_t v = (uint32_t)rnd_next(s);
        const float g = bits_f32(k % 5 == 0 ? (v & 0xFFFF0000u) | 0x8000u : v);
        if (!isfinite(g) || fabsf(g) > 3.38e38f) continue;
        const uint16_t b = kernel_f32_to_bf16(g);
        const double d = fabs((double)g - kernel_bf16_to_f32(b));
        const double up = fabs((double)g - kernel_bf16_to_f32((uint16_t)(b + 1)));
        const double dn =
            (b & 0x7FFF) ? fabs((double)g - kernel_bf16_to_f32((uint16_t)(b - 1))) : INFINITY;
        if (d > up || d > dn || ((d == up || d == dn) && (b & 1))) badbf++;
    }
    tap_ok(t, bad16 == 0, "f32->f16 is the nearest value, ties to even (%d wrong)", bad16);
    tap_ok(t, badbf == 0, "f32->bf16 is the nearest value, ties to even (%d wrong)", badbf);
}

/* kernel_row_to_f32 (vectorised where possible) equals the scalar conversion. */
static void test_row_to_f32(tap_t *t, uint64_t *s) {
    enum { N = 1000 + 37 };
    uint16_t h[N];
    float got[N];
    for (int dt = KERNEL_F16; dt <= KERNEL_BF16; dt++) {
        for (int i = 0; i < N; i++) h[i] = (uint16_t)rnd_next(s);
        int bad = 0;
        for (size_t n = 0; n <= N; n += n < 40 ? 1 : 331) {
            kernel_row_to_f32(got, h, (kernel_dtype_t)dt, n);
            for (size_t i = 0; i < n; i++) {
                const float want = dt == KERNEL_F16 ? kernel_f16_to_f32(h[i])
                                                    : kernel_bf16_to_f32(h[i]);
                if (isnan(want) ? !isnan(got[i]) : f32_bits(got[i]) != f32_bits(want)) bad++;
            }
        }
        tap_ok(t, bad == 0, "kernel_row_to_f32 %s matches the scalar conversion, all lengths",
               dt == KERNEL_F16 ? "f16" : "bf16");
    }
}

/* Every 16-bit pattern through each conversion path this CPU runs (the
 * public kernel_row_to_f32 and the AVX2 and AVX-512 ones directly), against
 * the scalar kernel_f16_to_f32 / kernel_bf16_to_f32 to the bit, NaNs
 * included; once aligned, once from an odd element with an odd length so
 * that the < 8 / < 16 tails convert patterns too. */
static void test_row_to_f32_all(tap_t *t) {
    enum { N = 65536 };
    uint16_t *h = malloc(N * sizeof *h);
    float *got = malloc(N * sizeof *got);
    uint32_t *want = malloc(N * sizeof *want);
    if (!h || !got || !want) {
        tap_ok(t, 0, "out of memory");
        goto done;
    }
    static const char *const names[] = {"kernel_row_to_f32", "avx2", "avx512"};
    for (int path = 0; path < 3; path++) {
        if ((path == 1 && !kernel_simd_avx2_usable()) ||
            (path == 2 && !kernel_simd_avx512_usable())) {
            printf("ok %d - %s: all 65536 f16/bf16 patterns # SKIP no %s here\n", ++t->n_run,
                   names[path], path == 1 ? "AVX2" : "AVX-512");
            continue;
        }
        for (int dt = KERNEL_F16; dt <= KERNEL_BF16; dt++) {
            for (uint32_t i = 0; i < N; i++) {
                h[i] = (uint16_t)i;
                want[i] = f32_bits(dt == KERNEL_F16 ? kernel_f16_to_f32((uint16_t)i)
                                                    : kernel_bf16_to_f32((uint16_t)i));
            }
            int bad = 0;
            for (int shifted = 0; shifted <= 1; shifted++) {
                const size_t off = shifted ? 3 : 0, n = shifted ? N - 3 - 2 : N;
                for (size_t i = 0; i < N; i++) got[i] = -1.0f; /* untouched: not a pattern */
                if (path == 0) kernel_row_to_f32(got + off, h + off, (kernel_dtype_t)dt, n);
                else if (path == 1) kernel_to_f32_avx2(got + off, h + off, (kernel_dtype_t)dt, n);
                else kernel_to_f32_avx512(got + off, h + off, (kernel_dtype_t)dt, n);
                for (size_t i = off; i < off + n; i++) bad += f32_bits(got[i]) != want[i];
                for (size_t i = 0; i < off; i++) bad += got[i] != -1.0f;
                for (size_t i = off + n; i < N; i++) bad += got[i] != -1.0f; /* nothing past n */
            }
            tap_ok(t, bad == 0,
                   "%s %s: all 65536 patterns, the scalar conversion's bits (NaNs too; %d wrong)",
                   names[path], dt == KERNEL_F16 ? "f16" : "bf16", bad);
        }
    }
done:
    free(h);
    free(got);
    free(want);
}

static const char *dtype_name(kernel_dtype_t d) {
    return d == KERNEL_F32 ? "f32" : d == KERNEL_F16 ? "f16" : "bf16";
}

/* One case: W random N(0, 1) in the given dtype and layout, x random, y from
 * kernel_linear compared with kernel_linear_ref row by row. The tolerance is
 * relative to sum_i |x_i W_io|, the scale of rounding errors in the sum. */
static void check_linear(tap_t *t, kernel_ctx_t *ctx, uint64_t *s, kernel_dtype_t dt,
                         kernel_layout_t layout, int T, int in, int out, int with_bias) {
    const size_t n = (size_t)in * (size_t)out;
    void *wdata = malloc(n * (dt == KERNEL_F32 ? 4 : 2));
    float *x = malloc(sizeof(float) * (size_t)T * (size_t)in);
    float *y = malloc(sizeof(float) * (size_t)T * (size_t)out);
    float *ref = malloc(sizeof(float) * (size_t)out), *mag = malloc(sizeof(float) * (size_t)out);
    float *b = malloc(sizeof(float) * (size_t)out);
    if (!wdata || !x || !y || !ref || !mag || !b) {
        tap_ok(t, 0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const float v = rnd_normal(s);
        if (dt == KERNEL_F32) ((float *)wdata)[i] = v;
        else if (dt == KERNEL_F16) ((uint16_t *)wdata)[i] = kernel_f32_to_f16(v);
        else ((uint16_t *)wdata)[i] = kernel_f32_to_bf16(v);
    }
    for (size_t i = 0; i < (size_t)T * (size_t)in; i++) x[i] = rnd_normal(s);
    for (int o = 0; o < out; o++) b[o] = rnd_normal(s);
    for (size_t i = 0; i < (size_t)T * (size_t)out; i++) y[i] = NAN; /* all must be written */
    const kernel_weight_t W = {wdata, dt, layout, in, out};
    const float *bias = with_bias ? b : NULL;
    const int rc = kernel_linear(ctx, y, x, T, &W, bias);

    /* |x| @ |W| for the tolerance: the reference on absolute values */
    float *absx = malloc(sizeof(float) * (size_t)in);
    void *absw = malloc(n * (dt == KERNEL_F32 ? 4 : 2));
    if (!absx || !absw) {
        free(absx);
        free(absw);
        tap_ok(t, 0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (dt == KERNEL_F32) ((float *)absw)[i] = fabsf(((float *)wdata)[i]);
        else ((uint16_t *)absw)[i] = ((uint16_t *)wdata)[i] & 0x7FFF;
    }
    const kernel_weight_t A = {absw, dt, layout, in, out};
    double worst = 0;
    /* large cases: a few rows suffice (each row is computed independently) */
    const int step = (size_t)in * (size_t)out > 100000 && T > 3 ? T / 3 : 1;
    for (int r = 0; r < T; r += step) {
        const float *xr = x + (size_t)r * (size_t)in;
        for (int i = 0; i < in; i++) absx[i] = fabsf(xr[i]);
        kernel_linear_ref(ref, xr, 1, &W, bias);
        kernel_linear_ref(mag, absx, 1, &A, NULL);
        for (int o = 0; o < out; o++) {
            const double err = fabs((double)y[(size_t)r * (size_t)out + (size_t)o] - ref[o]);
            const double rel = err / ((double)mag[o] + (bias ? fabs(b[o]) : 0) + 1e-30);
            if (!(rel <= worst)) worst = isnan(rel) ? INFINITY : rel;
        }
    }
    tap_ok(t, rc == 0 && worst <= 1e-5,
           "kernel_linear %s %s T=%d in=%d out=%d bias=%s threads=%d path=%s (max rel err %.2g)",
           dtype_name(dt), layout == KERNEL_IN_OUT ? "in_out" : "out_in", T, in, out,
           with_bias ? "yes" : "no", kernel_ctx_threads(ctx), kernel_ctx_path(ctx), worst);
    free(absx);
    free(absw);
done:
    free(wdata);
    free(x);
    free(y);
    free(ref);
    free(mag);
    free(b);
}

/* kernel_gemm on strided views (as attention uses it: heads are column
 * slices of wider rows) against the double-precision reference. */
static void test_gemm(tap_t *t, uint64_t *s) {
    static const int dims[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 40, 8}, {128, 128, 64}};
    kernel_ctx_t *ctx = kernel_ctx_init(2);
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
        for (int trans_b = 0; trans_b <= 1; trans_b++) {
            int M = dims[di][0], N = dims[di][1], K = dims[di][2];
            int lda = K + 3, ldb = (trans_b ? K : N) + 5, ldc = N + 2;
            size_t nb = (size_t)(trans_b ? N : K) * ldb;
            float *A = malloc(sizeof(float) * (size_t)M * lda), *B = malloc(sizeof(float) * nb);
            float *C = malloc(sizeof(float) * (size_t)M * ldc), *R = malloc(sizeof(float) * (size_t)M * ldc);
            for (size_t i = 0; i < (size_t)M * lda; i++) A[i] = rnd_normal(s);
            for (size_t i = 0; i < nb; i++) B[i] = rnd_normal(s);
            for (size_t i = 0; i < (size_t)M * ldc; i++) C[i] = R[i] = 12345.0f; /* padding kept */
            kernel_gemm(ctx, trans_b, M, N, K, 0.5f, A, lda, B, ldb, C, ldc);
            kernel_gemm_ref(trans_b, M, N, K, 0.5f, A, lda, B, ldb, R, ldc);
            double err = 0.0;
            int pad_ok = 1;
            for (int i = 0; i < M; i++) {
                for (int j = 0; j < N; j++) {
                    double e = fabs((double)C[(size_t)i * ldc + j] - R[(size_t)i * ldc + j]);
                    if (e > err) err = e;
                }
                for (int j = N; j < ldc; j++) pad_ok &= C[(size_t)i * ldc + j] == 12345.0f;
            }
            tap_ok(t, err <= 1e-4 * sqrt((double)K) && pad_ok,
                   "kernel_gemm %dx%dx%d trans_b=%d strided: max abs error %.3g, padding untouched",
                   M, N, K, trans_b, err);
            free(A);
            free(B);
            free(C);
            free(R);
        }
    kernel_ctx_free(ctx);
}

/* A ctx with GPTSCOPE_KERNELS set to force (NULL: unset) for its creation. */
static kernel_ctx_t *ctx_forced(const char *force, int n_threads) {
    if (force) setenv("GPTSCOPE_KERNELS", force, 1);
    kernel_ctx_t *ctx = kernel_ctx_init(n_threads);
    unsetenv("GPTSCOPE_KERNELS");
    return ctx;
}

/* GPTSCOPE_KERNELS picks the path (capped by what the CPU runs), and the
 * SIMD paths, not the portable one, say they are thread-count invariant. */
static void test_path_choice(tap_t *t) {
    const char *best = kernel_simd_avx512_usable() ? "avx512"
                       : kernel_simd_avx2_usable() ? "avx2"
                                                   : "portable";
    const char *avx2 = kernel_simd_avx2_usable() ? "avx2" : "portable";
    static const char *const force[] = {NULL, "avx512", "avx2", "portable", "bogus"};
    for (size_t k = 0; k < sizeof force / sizeof force[0]; k++) {
        kernel_ctx_t *ctx = ctx_forced(force[k], 1);
        if (!ctx) {
            tap_ok(t, 0, "kernel_ctx_init");
            continue;
        }
        const char *want = !force[k] || k == 1 || k == 4 ? best : k == 2 ? avx2 : "portable";
        const char *got = kernel_ctx_path(ctx);
        tap_ok(t, strcmp(got, want) == 0 &&
                      kernel_ctx_decode_invariant(ctx) == (strcmp(want, "portable") != 0),
               "GPTSCOPE_KERNELS=%s runs %s (want %s), decode invariant %d",
               force[k] ? force[k] : "(unset)", got, want, kernel_ctx_decode_invariant(ctx));
        kernel_ctx_free(ctx);
    }
}

/* One-row kernel_linear on the SIMD path `force` gives the same bits for 1..4
 * threads, and after a change of count on the same ctx: generate may switch
 * counts between tokens (adaptive threads) without changing a single output.
 * The odd shapes put the < 8 / < 16 tails, 1-row remainders of the 4-row
 * passes and partial bands wherever the thread split falls. */
static void test_decode_invariant(tap_t *t, uint64_t *s, const char *force) {
    kernel_ctx_t *probe = ctx_forced(force, 1);
    if (!probe || strcmp(kernel_ctx_path(probe), force) != 0) {
        printf("ok %d - one-row %s kernels across thread counts # SKIP no %s here\n",
               ++t->n_run, force, strcmp(force, "avx2") == 0 ? "AVX2" : "AVX-512");
        kernel_ctx_free(probe);
        return;
    }
    kernel_ctx_free(probe);
    static const int shapes[][2] = {{384, 1152}, {1536, 384}, {1000, 37}, {100, 3000},
                                    {3072, 768}, {259, 133}, {45, 1001}, {7, 5}};
    int all = 1;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int in = shapes[si][0], out = shapes[si][1];
        for (int dt = KERNEL_F32; dt <= KERNEL_BF16; dt++)
            for (int layout = KERNEL_IN_OUT; layout <= KERNEL_OUT_IN; layout++) {
                size_t n = (size_t)in * out, esz = dt == KERNEL_F32 ? 4 : 2;
                unsigned char *w = malloc(n * esz);
                float *x = malloc((size_t)in * sizeof *x), *y1 = malloc((size_t)out * 4),
                      *yk = malloc((size_t)out * 4);
                kernel_ctx_t *ctx = ctx_forced(force, 1);
                if (!w || !x || !y1 || !yk || !ctx) {
                    all = 0;
                    goto next;
                }
                for (size_t i = 0; i < n * esz / 2; i++) {
                    uint16_t v = (uint16_t)(rnd_next(s) & 0x3fff); /* finite halves */
                    memcpy(w + 2 * i, &v, 2);
                }
                for (int i = 0; i < in; i++) x[i] = (float)((int)(rnd_next(s) % 2001) - 1000) / 997.0f;
                const kernel_weight_t W = {w, (kernel_dtype_t)dt, (kernel_layout_t)layout, in, out};
                kernel_linear(ctx, y1, x, 1, &W, NULL);
                for (int th = 2; th <= 4 && all; th++) {
                    kernel_ctx_set_threads(ctx, th);
                    kernel_linear(ctx, yk, x, 1, &W, NULL);
                    if (memcmp(y1, yk, (size_t)out * 4) != 0) {
                        all = 0;
                        tap_diag("%s %dx%d dtype %d layout %d: %d threads differ from 1", force,
                                 in, out, dt, layout, th);
                    }
                }
                kernel_ctx_set_threads(ctx, 1);
                kernel_linear(ctx, yk, x, 1, &W, NULL);
                all &= memcmp(y1, yk, (size_t)out * 4) == 0;
            next:
                kernel_ctx_free(ctx);
                free(w), free(x), free(y1), free(yk);
            }
    }
    tap_ok(t, all, "one-row kernel_linear path=%s: the same bits on 1, 2, 3 and 4 threads "
                   "(8 shapes, 3 dtypes, 2 layouts)", force);
}

int main(void) {
    tap_t t = {0, 0};
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    test_known_bits(&t);
    test_round_trips(&t);
    test_nearest(&t, &seed);
    test_row_to_f32(&t, &seed);
    test_row_to_f32_all(&t);
    test_gemm(&t, &seed);
    test_path_choice(&t);
    test_decode_invariant(&t, &seed, "avx512");
    test_decode_invariant(&t, &seed, "avx2");

    kernel_ctx_free(NULL);
    tap_ok(&t, 1, "kernel_ctx_free(NULL) is a no-op");

    /* sizes off the multiples of 8 and 16 (vector tails), 259 rows = two
     * full 128-row bands and a partial one */
    static const int shapes[][2] = {{37, 45}, {45, 37}, {5, 3}, {259, 133}, {768, 2304}};
    static const int Ts[] = {1, 2, 7, 64};
    /* the default path on 1..3 threads; AVX2 forced where the default is
     * AVX-512 (here it is already the default or cannot run); the portable
     * paths forced on */
    static const struct { int threads; const char *force; } runs[] = {
        {1, NULL}, {2, NULL}, {3, NULL}, {1, "avx2"}, {2, "avx2"}, {3, "avx2"},
        {1, "portable"}, {2, "portable"}};
    for (size_t ri = 0; ri < sizeof runs / sizeof runs[0]; ri++) {
        kernel_ctx_t *ctx = ctx_forced(runs[ri].force, runs[ri].threads);
        if (!tap_ok(&t, ctx != NULL, "kernel_ctx_init(%d)%s%s", runs[ri].threads,
                    runs[ri].force ? " " : "", runs[ri].force ? runs[ri].force : ""))
            continue;
        if (runs[ri].force && strcmp(runs[ri].force, "avx2") == 0 &&
            !kernel_simd_avx512_usable()) {
            /* the default runs above were this path already, or it cannot run */
            if (kernel_simd_avx2_usable())
                tap_ok(&t, strcmp(kernel_ctx_path(ctx), "avx2") == 0,
                       "avx2 %d threads: the default path above (path=%s)", runs[ri].threads,
                       kernel_ctx_path(ctx));
            else
                printf("ok %d - kernel_linear path=avx2 %d threads # SKIP no AVX2 here\n",
                       ++t.n_run, runs[ri].threads);
            kernel_ctx_free(ctx);
            continue;
        }
        tap_ok(&t, kernel_ctx_threads(ctx) == runs[ri].threads, "kernel_ctx_threads");
        for (int dt = KERNEL_F32; dt <= KERNEL_BF16; dt++)
            for (int layout = KERNEL_IN_OUT; layout <= KERNEL_OUT_IN; layout++)
                for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
                    for (size_t ti = 0; ti < sizeof Ts / sizeof Ts[0]; ti++) {
                        /* the large shape: bias=NULL only at T=1 (same code for any T) */
                        const int big = shapes[si][0] > 100;
                        for (int bias = big && ti != 0 ? 1 : 0; bias <= 1; bias++)
                            check_linear(&t, ctx, &seed, (kernel_dtype_t)dt,
                                         (kernel_layout_t)layout, Ts[ti], shapes[si][0],
                                         shapes[si][1], bias);
                    }
        kernel_ctx_free(ctx);
    }
    return tap_done(&t);
}
