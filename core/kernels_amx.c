/* kernels_amx.c - bf16 matrix products on AMX tiles (kernels_amx.h).
 *
 * AMX has eight tile registers of up to 16 rows x 64 bytes. TDPBF16PS
 * multiplies a 16 x 32 bf16 tile of A by a 32 x 16 bf16 tile of B into a
 * 16 x 16 f32 tile of C; B must be in "VNNI" order, pairs of consecutive k
 * side by side: tile row r holds (B[2r][n], B[2r+1][n]) for n = 0..15.
 *
 * So op(A) is packed to bf16 rows [Mp][Kp] and op(B) to pairs [Kp/2][Np][2],
 * zero-padded to multiples of 32 (padding adds zeros to every dot product),
 * and each thread computes 32 x 32 blocks of C with four accumulator tiles
 * (tmm0-3), two A tiles (tmm4-5) and two B tiles (tmm6-7): every tile loaded
 * is used twice. The packing (rounding to nearest even) is where the
 * transposes happen, so all four op() combinations share one kernel. */
#include "kernels_amx.h"

#include <cpuid.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__) && __GNUC__ >= 11
#define AMX_BUILD 1
#include <immintrin.h>
#else
#define AMX_BUILD 0
#endif

struct amx_ctx {
    int n_threads;
    uint16_t *ap, *bp;
    size_t ap_cap, bp_cap; /* in elements */
};

amx_ctx_t *amx_ctx_init(int n_threads) {
    amx_ctx_t *c = calloc(1, sizeof(*c));
    if (c) c->n_threads = n_threads > 0 ? n_threads : 1;
    return c;
}

void amx_ctx_free(amx_ctx_t *c) {
    if (!c) return;
    free(c->ap);
    free(c->bp);
    free(c);
}

/* The tile-data permission belongs to the process (Linux grants it with
 * arch_prctl(ARCH_REQ_XCOMP_PERM) once and for all threads), so the answer is
 * remembered process-wide: 0 unknown, 1 yes, -1 no. Benign if two threads
 * race: both ask, both get the same answer. */
static volatile int amx_state;

int amx_available(void) {
    if (amx_state) return amx_state > 0;
    int ok = 0;
#if AMX_BUILD
    unsigned a, b, c, d;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        int tile = (d >> 24) & 1, bf16 = (d >> 22) & 1;
        /* ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 */
        if (tile && bf16 && syscall(SYS_arch_prctl, 0x1023, 18) == 0) ok = 1;
    }
#endif
    amx_state = ok ? 1 : -1;
    return ok;
}

/* f32 -> bf16, round to nearest even (NaN stays a quiet NaN). Inline and
 * branch-light so the packing loops vectorise: packing is O(MK + KN) work
 * against O(MNK) in the tiles, but a call per element would dominate. */
static inline uint16_t amx_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    return (u & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((u >> 16) | 0x40u) : (uint16_t)r;
}

static size_t amx_round32(size_t n) { return (n + 31) & ~(size_t)31; }

static int amx_reserve(uint16_t **buf, size_t *cap, size_t n) {
    if (n <= *cap) return 0;
    uint16_t *nb = NULL;
    size_t bytes = (n * sizeof(uint16_t) + 63) & ~(size_t)63;
    nb = aligned_alloc(64, bytes);
    if (!nb) return -1;
    free(*buf);
    *buf = nb;
    *cap = n;
    return 0;
}

/* op(A) [M, K] -> bf16 [Mp][Kp]. */
static void amx_pack_a(uint16_t *ap, int ta, int M, int K, const float *A, int lda, size_t Mp,
                       size_t Kp, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (size_t m = 0; m < Mp; m++) {
        uint16_t *row = ap + m * Kp;
        if (m >= (size_t)M) {
            memset(row, 0, Kp * sizeof(uint16_t));
            continue;
        }
        if (!ta) {
            const float *src = A + m * (size_t)lda;
            for (int k = 0; k < K; k++) row[k] = amx_bf16(src[k]);
        } else {
            for (int k = 0; k < K; k++) row[k] = amx_bf16(A[(size_t)k * lda + m]);
        }
        for (size_t k = (size_t)K; k < Kp; k++) row[k] = 0;
    }
}

/* op(B) [K, N] -> bf16 pairs [Kp/2][Np][2]. */
static void amx_pack_b(uint16_t *bp, int tb, int K, int N, const float *B, int ldb, size_t Kp,
                       size_t Np, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (size_t kp = 0; kp < Kp / 2; kp++) {
        uint16_t *out = bp + kp * Np * 2;
        for (int j = 0; j < 2; j++) {
            size_t k = 2 * kp + (size_t)j;
            if (k >= (size_t)K) {
                for (size_t n = 0; n < Np; n++) out[2 * n + j] = 0;
                continue;
            }
            if (!tb) {
                const float *src = B + k * (size_t)ldb;
                for (int n = 0; n < N; n++) out[2 * n + j] = amx_bf16(src[n]);
            } else {
                for (int n = 0; n < N; n++)
                    out[2 * n + j] = amx_bf16(B[(size_t)n * ldb + k]);
            }
            for (size_t n = (size_t)N; n < Np; n++) out[2 * n + j] = 0;
        }
    }
}

#if AMX_BUILD
typedef struct amx_tilecfg {
    uint8_t palette_id, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_tilecfg_t;

__attribute__((target("amx-tile,amx-bf16"))) static void amx_compute(
    const uint16_t *ap, const uint16_t *bp, size_t Mp, size_t Np, size_t Kp, int M, int N,
    float alpha, float beta, float *C, int ldc, int nt) {
    size_t n_mb = Mp / 32, n_nb = Np / 32;
#pragma omp parallel num_threads(nt)
    {
        amx_tilecfg_t cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.palette_id = 1;
        for (int t = 0; t < 8; t++) {
            cfg.rows[t] = 16;
            cfg.colsb[t] = 64;
        }
        _tile_loadconfig(&cfg);
        float acc[4][16 * 16] __attribute__((aligned(64)));
#pragma omp for schedule(static)
        for (size_t blk = 0; blk < n_mb * n_nb; blk++) {
            size_t mb = blk / n_nb, nb = blk % n_nb;
            const uint16_t *a0 = ap + mb * 32 * Kp, *a1 = a0 + 16 * Kp;
            const uint16_t *b0 = bp + nb * 32 * 2, *b1 = b0 + 16 * 2;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (size_t k0 = 0; k0 < Kp; k0 += 32) {
                _tile_loadd(4, a0 + k0, (long)(Kp * 2));
                _tile_loadd(5, a1 + k0, (long)(Kp * 2));
                _tile_loadd(6, b0 + (k0 / 2) * Np * 2, (long)(Np * 4));
                _tile_loadd(7, b1 + (k0 / 2) * Np * 2, (long)(Np * 4));
                _tile_dpbf16ps(0, 4, 6);
                _tile_dpbf16ps(1, 4, 7);
                _tile_dpbf16ps(2, 5, 6);
                _tile_dpbf16ps(3, 5, 7);
            }
            _tile_stored(0, acc[0], 64);
            _tile_stored(1, acc[1], 64);
            _tile_stored(2, acc[2], 64);
            _tile_stored(3, acc[3], 64);
            for (int t = 0; t < 4; t++) {
                size_t m0 = mb * 32 + (size_t)(t / 2) * 16, n0 = nb * 32 + (size_t)(t % 2) * 16;
                if (n0 >= (size_t)N) continue; /* a tile of padding only */
                for (int r = 0; r < 16 && m0 + (size_t)r < (size_t)M; r++) {
                    float *crow = C + (m0 + (size_t)r) * (size_t)ldc + n0;
                    int nc = (size_t)N - n0 < 16 ? (int)((size_t)N - n0) : 16;
                    const float *ar = acc[t] + r * 16;
                    if (beta == 0.0f)
                        for (int c = 0; c < nc; c++) crow[c] = alpha * ar[c];
                    else
                        for (int c = 0; c < nc; c++) crow[c] = alpha * ar[c] + beta * crow[c];
                }
            }
        }
        _tile_release();
    }
}
#endif

int amx_sgemm_bf16(amx_ctx_t *ctx, int trans_a, int trans_b, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C,
                   int ldc) {
#if AMX_BUILD
    if (!amx_available() || M <= 0 || N <= 0 || K <= 0) return -1;
    size_t Mp = amx_round32((size_t)M), Np = amx_round32((size_t)N), Kp = amx_round32((size_t)K);
    if (amx_reserve(&ctx->ap, &ctx->ap_cap, Mp * Kp) != 0 ||
        amx_reserve(&ctx->bp, &ctx->bp_cap, Kp * Np) != 0)
        return -1;
    int nt = ctx->n_threads;
    amx_pack_a(ctx->ap, trans_a, M, K, A, lda, Mp, Kp, nt);
    amx_pack_b(ctx->bp, trans_b, K, N, B, ldb, Kp, Np, nt);
    amx_compute(ctx->ap, ctx->bp, Mp, Np, Kp, M, N, alpha, beta, C, ldc, nt);
    return 0;
#else
    (void)ctx, (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K, (void)alpha, (void)A;
    (void)lda, (void)B, (void)ldb, (void)beta, (void)C, (void)ldc;
    return -1;
#endif
}

void amx_sgemm_bf16_ref(int trans_a, int trans_b, int M, int N, int K, float alpha,
                        const float *A, int lda, const float *B, int ldb, float beta, float *C,
                        int ldc) {
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k];
                float b = trans_b ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n];
                s += (double)kernel_bf16_to_f32(kernel_f32_to_bf16(a)) *
                     (double)kernel_bf16_to_f32(kernel_f32_to_bf16(b));
            }
            float *c = C + (size_t)m * ldc + n;
            *c = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
}
