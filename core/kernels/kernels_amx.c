/* kernels_amx.c - bf16 matrix products on AMX tiles (kernels_amx.h).
 *
 * AMX has eight tile registers of 16 rows x 64 bytes. TDPBF16PS multiplies a
 * 16 x 32 bf16 tile of A by a 32 x 16 bf16 tile of B into a 16 x 16 f32 tile
 * of C. B must be in "VNNI" order, pairs of consecutive k side by side: B
 * tile row r holds (B[2r][n], B[2r+1][n]) for n = 0..15, so a 32-bit word of
 * an A row and of a B row both hold the same k pair:
 *     C[m][n] += A[m][2r] B[2r][n] + A[m][2r+1] B[2r+1][n]   for r = 0..15.
 *
 * Packing. op(A) and op(B) are rounded to bf16 (nearest even) and stored as
 * whole 1 kB tiles, each contiguous: A as [m tile][k tile][16 m][32 k], B as
 * [n tile][k tile][16 k pairs][16 n][2], zero-padded to multiples of 32 in
 * every direction (zeros add nothing to a dot product). Both are built from
 * one of two reads of the f32 source, 16 x 32 values per tile:
 *   k runs along the source rows (A, or B^T): each row gives 16 k pairs;
 *   k runs down the source (A^T, or B): two rows give 16 pairs side by side;
 * and a 16 x 16 transpose of 32-bit pairs turns one into the other, so all
 * four op() combinations share the same compute loop.
 *
 * Blocking (GotoBLAS style, sized for a Sapphire Rapids core: 48 kB L1d,
 * 2 MB L2). All of op(B) is packed first, the threads sharing the work. M is
 * cut into blocks of at most AMX_MC rows and AMX_A_BYTES of bf16; each task
 * (an M block, and a range of N when M alone cannot feed every thread) packs
 * its A block into the thread's own buffer (stays in L2) and sweeps it
 * against every 32-column B panel (32 x K bf16, L1/L2, used by every 32 rows
 * of the block in turn). The micro-kernel computes a 32 x 32 block of C with
 * four accumulator tiles (tmm0-3), two A tiles (tmm4-5) and two B tiles
 * (tmm6-7), so every tile loaded feeds two TDPBF16PS (16 cycles each): 4 kB
 * of tile loads per 64 cycles, which L2 sustains (measured: the same loop
 * streaming from L2 runs as fast as from L1, ~2 TFLOP/s per core). So K is
 * not cut below AMX_KC = 4096 and C is read and written once per product;
 * longer K is cut into blocks that accumulate onto C (beta = 1 after the
 * first).
 *
 * Write-back: with alpha = 1 and beta 0 or 1 (every call the trainer makes)
 * whole 32 x 32 blocks go straight between C and the accumulators (tile load
 * of C to accumulate, tile store); other alpha/beta and the ragged edges pass
 * through a 4 kB buffer with masked AVX-512 stores. A C of AMX_BIG_C_BYTES or
 * more does not stay in cache and would make the product memory bound (plain
 * stores first read each line: write-allocate): with beta = 0 and aligned
 * rows it is written with non-temporal stores, otherwise each block's lines
 * are prefetched for writing while the block before it computes. Measured
 * here at 1 thread: 4096 x 2048 x 384 went from 0.3 to 1 TFLOP/s.
 *
 * Threads: one OpenMP region per product (n_threads, fewer for products too
 * small to share); each thread loads its own tile configuration and releases
 * the tile state at the end.
 *
 * Only code compiled for the AMX/AVX-512 targets below ever executes an AMX or
 * AVX-512 instruction, and amx_sgemm_bf16 reaches it only through a context
 * whose amx_available() check passed, so the library still runs on any x86-64
 * (and builds elsewhere, where amx_sgemm_bf16 always refuses). */
#include "kernels_amx.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__) && (__GNUC__ >= 11 || defined(__clang__))
#define AMX_BUILD 1
#include <cpuid.h>
#include <immintrin.h>
#include <omp.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#define AMX_TARGET \
    __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16,prfchw")))
#else
#define AMX_BUILD 0
#endif

/* Largest K block and M block (multiples of 32); see the blocking note. */
#define AMX_KC 4096
#define AMX_MC 256
/* bytes of bf16 in one thread's A block (with a B panel, stays in its L2) */
#define AMX_A_BYTES (1 << 20)
/* the same for the AVX-512 micro-kernel, sized for Zen 4's 1 MB L2 */
#define AMX_A_BYTES_AVX (1 << 18)
/* least work worth another thread: about 10-20 us of one core's tiles */
#define AMX_THREAD_FLOPS (double)(1 << 24)
/* C at least this large is written around the caches (see amx_kernel_32x32) */
#define AMX_BIG_C_BYTES ((size_t)8 << 20)
/* bf16 values in one tile (16 rows x 32) */
#define AMX_TILE_ELEMS 512

struct amx_ctx {
    int n_threads;
    amx_backend_t backend; /* what computes the products (checked at init) */
    uint16_t *bpack;      /* all of op(B), tiles [n tile][k tile] */
    size_t bpack_cap;     /* elements */
    uint16_t *apack;      /* n_threads A blocks of apack_stride elements */
    size_t apack_cap;     /* elements */
};

amx_ctx_t *amx_ctx_init_backend(int n_threads, amx_backend_t backend) {
    amx_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->n_threads = n_threads > 0 ? n_threads : 1;
    const int ok = backend == AMX_BACKEND_TILES    ? amx_available()
                   : backend == AMX_BACKEND_AVX512 ? amx_avx512bf16_available()
                                                   : 0;
    ctx->backend = ok ? backend : AMX_BACKEND_NONE;
    return ctx;
}

amx_ctx_t *amx_ctx_init(int n_threads) {
    return amx_ctx_init_backend(n_threads, amx_best_backend());
}

amx_backend_t amx_ctx_backend(const amx_ctx_t *ctx) {
    return ctx ? ctx->backend : AMX_BACKEND_NONE;
}

amx_backend_t amx_best_backend(void) {
    if (amx_available()) return AMX_BACKEND_TILES;
    if (amx_avx512bf16_available()) return AMX_BACKEND_AVX512;
    return AMX_BACKEND_NONE;
}

const char *amx_backend_name(amx_backend_t b) {
    return b == AMX_BACKEND_TILES ? "AMX tiles" : b == AMX_BACKEND_AVX512 ? "AVX512-BF16" : "none";
}

void amx_ctx_free(amx_ctx_t *ctx) {
    if (!ctx) return;
    free(ctx->bpack);
    free(ctx->apack);
    free(ctx);
}

/* No cached flag: CPUID and the (idempotent) permission request cost a
 * microsecond or two, and callers ask once per context, which keeps the
 * answer (ctx->backend). Asking the kernel is also what makes the answer true:
 * until ARCH_REQ_XCOMP_PERM has succeeded, the first tile instruction of the
 * process would fault. The permission covers every thread of the process. */
int amx_available(void) {
#if AMX_BUILD && defined(__linux__)
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const int amx_tile = (d >> 24) & 1, amx_bf16 = (d >> 22) & 1;
    /* the packing needs AVX512-BF16 as well */
    if (!amx_tile || !amx_bf16 || !amx_avx512bf16_available()) return 0;
    /* ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 (Linux 5.16+;
     * older kernels, or a sigaltstack too small for the tile state, refuse) */
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
    return 0;
#endif
}

/* AVX512_BF16 (VDPBF16PS, VCVTNE2PS2BF16) with AVX-512F/BW/VL enabled by
 * the OS: what the packing and the AVX-512 micro-kernel use. AMD Zen 4 has
 * it without AMX, and so do Intel parts such as Cooper Lake. */
int amx_avx512bf16_available(void) {
#if AMX_BUILD
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d) || !((a >> 5) & 1)) return 0;
    /* libgcc's checks include the OS having enabled the zmm state (XCR0) */
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

/* ---- reference -------------------------------------------------------- */

/* bf16(x) as the hardware rounds it: nearest even, and subnormal inputs
 * (|x| < 2^-126) taken as zero, as both VCVTNE2PS2BF16 and TDPBF16PS do. */
static double amx_ref_bf16(float x) {
    if (x != 0.0f && fabsf(x) < 0x1p-126f) return x < 0 ? -0.0 : 0.0;
    return (double)kernel_bf16_to_f32(kernel_f32_to_bf16(x));
}

int amx_sgemm_bf16_ref(int trans_a, int trans_b, int M, int N, int K, float alpha,
                       const float *A, int lda, const float *B, int ldb, float beta, float *C,
                       int ldc) {
    /* op(A) [M][K] and op(B)^T [N][K], rounded once */
    double *a = malloc((size_t)M * (size_t)K * sizeof(double) + 1);
    double *bt = malloc((size_t)N * (size_t)K * sizeof(double) + 1);
    if (!a || !bt) {
        free(a);
        free(bt);
        return -1;
    }
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++)
            a[(size_t)m * K + k] =
                amx_ref_bf16(trans_a ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k]);
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            bt[(size_t)n * K + k] =
                amx_ref_bf16(trans_b ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n]);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += a[(size_t)m * K + k] * bt[(size_t)n * K + k];
            float *c = C + (size_t)m * ldc + n;
            /* beta = 0 never reads C (it may hold anything, NaN included) */
            *c = (float)((double)alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
    free(a);
    free(bt);
    return 0;
}

/* ---- AMX -------------------------------------------------------------- */

#if AMX_BUILD

static size_t amx_round32(size_t n) { return (n + 31) & ~(size_t)31; }

/* Grows a 64-byte aligned buffer to n elements; old contents are dropped. */
static int amx_reserve(uint16_t **buf, size_t *cap, size_t n) {
    if (n <= *cap) return 0;
    uint16_t *p = aligned_alloc(64, (n * sizeof(uint16_t) + 63) & ~(size_t)63);
    if (!p) return -1;
    free(*buf);
    *buf = p;
    *cap = n;
    return 0;
}

/* Mask of the first n of 16 lanes (n may be <= 0 or >= 16). */
static inline __mmask16 amx_mask16(int n) {
    return n <= 0 ? 0 : n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* In-register transpose of 16 x 16 32-bit elements: v[i] word j <-> v[j] word i.
 * A 32-bit interleave of row pairs, a 64-bit interleave of those, then two
 * rounds of 128-bit lane shuffles. */
AMX_TARGET static inline void amx_transpose16(__m512i v[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
    }
    /* per 128-bit lane L, u[4i + j] = rows 4i..4i+3 of column 4L + j */
    for (int i = 0; i < 4; i++) {
        u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    /* column 4L + j = lane L of u[j], u[4 + j], u[8 + j], u[12 + j] */
    for (int j = 0; j < 4; j++) {
        const __m512i p = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x44);  /* u0.l0 u0.l1 u1.l0 u1.l1 */
        const __m512i q = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xEE);  /* u0.l2 u0.l3 u1.l2 u1.l3 */
        const __m512i r = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x44);
        const __m512i s = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xEE);
        v[j] = _mm512_shuffle_i32x4(p, r, 0x88);      /* lane 0 of each */
        v[4 + j] = _mm512_shuffle_i32x4(p, r, 0xDD);  /* lane 1 */
        v[8 + j] = _mm512_shuffle_i32x4(q, s, 0x88);  /* lane 2 */
        v[12 + j] = _mm512_shuffle_i32x4(q, s, 0xDD); /* lane 3 */
    }
}

/* 32 consecutive k of one source row as 16 bf16 k pairs (words in k order);
 * only the first nk are read, the rest are zero. */
AMX_TARGET static inline __m512i amx_cvt_row(const float *p, int nk) {
    if (nk <= 0) return _mm512_setzero_si512();
    const __m512 x0 = _mm512_maskz_loadu_ps(amx_mask16(nk), p);
    const __m512 x1 = nk > 16 ? _mm512_maskz_loadu_ps(amx_mask16(nk - 16), p + 16)
                              : _mm512_setzero_ps();
    return (__m512i)_mm512_cvtne2ps_pbh(x1, x0); /* words 0..15 from x0 */
}

/* 16 consecutive i of two source rows (k even, k odd; NULL: beyond K) as 16
 * bf16 pairs (even k in the low word), i >= ni zero. */
AMX_TARGET static inline __m512i amx_cvt_pair(const float *e, const float *o, int ni) {
    const __mmask16 mi = amx_mask16(ni);
    if (!mi || !e) return _mm512_setzero_si512();
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10,
                                                25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3,
                                                18, 2, 17, 1, 16, 0);
    const __m512 ve = _mm512_maskz_loadu_ps(mi, e);
    const __m512 vo = o ? _mm512_maskz_loadu_ps(mi, o) : _mm512_setzero_ps();
    /* words [e0..e15 o0..o15] -> [e0 o0 e1 o1 ...] */
    return _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(vo, ve));
}

/* A tile's 16 rows of 16 pairs, transposed in place (per i <-> per pair). */
AMX_TARGET static void amx_transpose_tile(uint16_t *tile) {
    __m512i v[16];
    for (int r = 0; r < 16; r++) v[r] = _mm512_load_si512(tile + r * 32);
    amx_transpose16(v);
    for (int r = 0; r < 16; r++) _mm512_store_si512(tile + r * 32, v[r]);
}

/* Packs the logical f32 matrix X[i][k] (i: m of A or n of B; n_i rows, K = n_k
 * columns) into tiles [t0, t1) x [0, k_tiles) from column k0 on: tile (t, kt)
 * covers i in [16t, 16t + 16), k in [k0 + 32kt, + 32), and lands at
 * dst + ((t - t0) k_tiles + kt) 512. Outside X the tiles hold zeros.
 *   trans = 0: X[i][k] = X[i * ld + k] (A, or B^T); else X[k * ld + i].
 *   per_i = 1: tile row i holds the 16 k pairs of X[i] (an A tile);
 *   per_i = 0: tile row r holds pair r of all 16 i (a VNNI B tile).
 * The source is read in long runs, each row from start to end (trans = 0)
 * or two rows at a time (trans = 1), into the layout that comes naturally;
 * tiles that want the other one are transposed in place while in L1/L2. */
AMX_TARGET static void amx_pack_tiles(uint16_t *dst, const float *X, int ld, int trans, int per_i,
                                      int n_i, int n_k, int k0, int t0, int t1, int k_tiles) {
#define AMX_TILE_AT(t, kt) \
    (dst + ((size_t)((t) - t0) * (size_t)k_tiles + (size_t)(kt)) * AMX_TILE_ELEMS)
    if (!trans) {
        for (int t = t0; t < t1; t++) {
            for (int i = 0; i < 16; i++) {
                const int row = t * 16 + i;
                const float *src = row < n_i ? X + (size_t)row * (size_t)ld : NULL;
                for (int kt = 0; kt < k_tiles; kt++) {
                    const int k = k0 + kt * 32;
                    const __m512i v = src ? amx_cvt_row(src + k, n_k - k) : _mm512_setzero_si512();
                    _mm512_store_si512(AMX_TILE_AT(t, kt) + i * 32, v);
                }
            }
            if (!per_i)
                for (int kt = 0; kt < k_tiles; kt++) amx_transpose_tile(AMX_TILE_AT(t, kt));
        }
    } else {
        for (int kt = 0; kt < k_tiles; kt++) {
            for (int r = 0; r < 16; r++) {
                const int k = k0 + kt * 32 + 2 * r;
                const float *e = k < n_k ? X + (size_t)k * (size_t)ld : NULL;
                const float *o = k + 1 < n_k ? X + (size_t)(k + 1) * (size_t)ld : NULL;
                for (int t = t0; t < t1; t++) {
                    const int i = t * 16;
                    const __m512i v = i < n_i ? amx_cvt_pair(e ? e + i : NULL, o ? o + i : NULL,
                                                             n_i - i)
                                              : _mm512_setzero_si512();
                    _mm512_store_si512(AMX_TILE_AT(t, kt) + r * 32, v);
                }
            }
            if (per_i)
                for (int t = t0; t < t1; t++) amx_transpose_tile(AMX_TILE_AT(t, kt));
        }
    }
#undef AMX_TILE_AT
}

/* Palette 1, all eight tiles 16 rows x 64 bytes. Read-only: LDTILECFG reads
 * 64 bytes, of which the compiler is told only about the first eight. */
static const struct {
    uint8_t palette_id, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((aligned(64))) amx_tilecfg = {
    1, 0, {0}, {64, 64, 64, 64, 64, 64, 64, 64}, {16, 16, 16, 16, 16, 16, 16, 16}};

/* A thread's tile state, taken and given back. Own functions, not inline
 * intrinsics in the OpenMP region: clang outlines a parallel region into a
 * function without the AMX target attribute, where the intrinsics do not
 * compile. */
AMX_TARGET static void amx_tiles_begin(void) { _tile_loadconfig(&amx_tilecfg); }
AMX_TARGET static void amx_tiles_end(void) { _tile_release(); }

/* The tile-load asm in GCC's headers has no memory operand: without this the
 * compiler could move our own stores to the packed buffers or to C past it. */
#define AMX_MEMORY_BARRIER() __asm__ volatile("" ::: "memory")

/* C block [m0, m0 + 32) x [n0, n0 + 32), clipped to M x N, from the four
 * accumulators: C = alpha * acc + beta * C (beta = 0: C is not read). */
AMX_TARGET static void amx_store_buffered(float *C, int ldc, int M, int N, int m0, int n0,
                                          float alpha, float beta) {
    float acc[4][256] __attribute__((aligned(64)));
    _tile_stored(0, acc[0], 64);
    _tile_stored(1, acc[1], 64);
    _tile_stored(2, acc[2], 64);
    _tile_stored(3, acc[3], 64);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int t = 0; t < 4; t++) {
        const int mt = m0 + (t >> 1) * 16, nt = n0 + (t & 1) * 16;
        const int rows = M - mt < 16 ? M - mt : 16;
        const __mmask16 cols = amx_mask16(N - nt);
        if (rows <= 0 || !cols) continue;
        for (int r = 0; r < rows; r++) {
            float *c = C + (size_t)(mt + r) * (size_t)ldc + (size_t)nt;
            __m512 y = _mm512_mul_ps(va, _mm512_load_ps(acc[t] + r * 16));
            if (beta != 0.0f) y = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(cols, c), y);
            _mm512_mask_storeu_ps(c, cols, y);
        }
    }
}

/* Whole 32 x 32 block of C from the accumulators with non-temporal stores:
 * 32 rows of two full, aligned 64-byte lines. */
AMX_TARGET static void amx_store_stream(float *c00, int ldc) {
    float acc[4][256] __attribute__((aligned(64)));
    _tile_stored(0, acc[0], 64);
    _tile_stored(1, acc[1], 64);
    _tile_stored(2, acc[2], 64);
    _tile_stored(3, acc[3], 64);
    for (int r = 0; r < 32; r++) {
        float *c = c00 + (size_t)r * (size_t)ldc;
        const int t = (r >> 4) * 2, row = (r & 15) * 16; /* tiles t (left) and t + 1 */
        _mm512_stream_ps(c, _mm512_load_ps(acc[t] + row));
        _mm512_stream_ps(c + 16, _mm512_load_ps(acc[t + 1] + row));
    }
}

/* The micro-kernel: the 32 x 32 block of C at (m0, n0) over k_tiles k tiles.
 * a: the block's two A tile rows (a + a_next: the second 16 m), tiles
 * consecutive along k; b likewise for the two B tile columns.
 * stream: whole blocks with beta = 0 bypass the caches. A C of many MB (the
 * output of a linear layer over a few thousand tokens, logits) is written
 * once and does not stay in the caches anyway; plain stores would first read
 * every line from memory (write-allocate), which measured here cost up to
 * 4x the time of the tile arithmetic itself. */
AMX_TARGET static void amx_kernel_32x32(const uint16_t *a, size_t a_next, const uint16_t *b,
                                        size_t b_next, int k_tiles, float *C, int ldc, int M,
                                        int N, int m0, int n0, float alpha, float beta,
                                        int stream, const float *bias) {
    const int whole = m0 + 32 <= M && n0 + 32 <= N;
    const int direct = whole && alpha == 1.0f && (beta == 0.0f || beta == 1.0f);
    float *c00 = C + (size_t)m0 * (size_t)ldc + (size_t)n0;
    const long ldc_b = (long)ldc * (long)sizeof(float);
    AMX_MEMORY_BARRIER();
    if (direct && beta == 1.0f) {
        _tile_loadd(0, c00, ldc_b);
        _tile_loadd(1, c00 + 16, ldc_b);
        _tile_loadd(2, c00 + (size_t)16 * (size_t)ldc, ldc_b);
        _tile_loadd(3, c00 + (size_t)16 * (size_t)ldc + 16, ldc_b);
    } else if (bias) {
        /* the accumulators start at the bias row: a tile load with stride 0
         * repeats one 64-byte row down all 16 rows (zero past N) */
        float bb[32] __attribute__((aligned(64)));
        const int nn = N - n0 < 32 ? N - n0 : 32;
        for (int i = 0; i < 32; i++) bb[i] = i < nn ? bias[n0 + i] : 0.0f;
        _tile_loadd(0, bb, 0);
        _tile_loadd(1, bb + 16, 0);
        _tile_loadd(2, bb, 0);
        _tile_loadd(3, bb + 16, 0);
    } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
    const uint16_t *a1 = a + a_next, *b1 = b + b_next;
    for (int kt = 0; kt < k_tiles; kt++) {
        const size_t off = (size_t)kt * AMX_TILE_ELEMS;
        _tile_loadd(4, a + off, 64);
        _tile_loadd(6, b + off, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_loadd(7, b1 + off, 64);
        _tile_dpbf16ps(1, 4, 7);
        _tile_loadd(5, a1 + off, 64);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    if (direct && stream && beta == 0.0f) {
        amx_store_stream(c00, ldc);
    } else if (direct) {
        _tile_stored(0, c00, ldc_b);
        _tile_stored(1, c00 + 16, ldc_b);
        _tile_stored(2, c00 + (size_t)16 * (size_t)ldc, ldc_b);
        _tile_stored(3, c00 + (size_t)16 * (size_t)ldc + 16, ldc_b);
    } else {
        amx_store_buffered(C, ldc, M, N, m0, n0, alpha, beta);
    }
}

/* The AVX-512 micro-kernel, for CPUs with AVX512_BF16 but no tiles: the
 * same packed tiles, the same 32 x 32 block of C, as four 16 x 16 quarters.
 * A quarter keeps its 16 rows of C in 16 zmm accumulators; for each k pair
 * r of a tile it loads B's pair row (16 n x 2 bf16, VNNI order is exactly
 * what VDPBF16PS takes) once and, for every row m, broadcasts A's pair
 * (the 32-bit word r of A tile row m, an embedded-broadcast memory operand)
 * into one VDPBF16PS: 16 dot-product instructions per 64-byte load. The
 * 16 accumulators are independent chains, enough to cover the instruction's
 * latency. VDPBF16PS flushes subnormal inputs and outputs as TDPBF16PS does,
 * and its two products are exact in f32; only the order of the f32 sums
 * differs from the tiles. */
AMX_TARGET static void amx_avx_quarter(const uint16_t *a, const uint16_t *b, int k_tiles,
                                       float *c, int ldc, int rows, __mmask16 cols, float alpha,
                                       float beta, int stream, const float *bias) {
    __m512 acc[16];
    const __m512 init = bias ? _mm512_maskz_loadu_ps(cols, bias) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int m = 0; m < 16; m++) acc[m] = init;
    for (int kt = 0; kt < k_tiles; kt++) {
        const uint32_t *at = (const uint32_t *)(a + (size_t)kt * AMX_TILE_ELEMS);
        const uint16_t *bt = b + (size_t)kt * AMX_TILE_ELEMS;
        for (int r = 0; r < 16; r++) {
            const __m512bh bv = (__m512bh)_mm512_load_si512(bt + r * 32);
#pragma GCC unroll 16
            for (int m = 0; m < 16; m++)
                acc[m] = _mm512_dpbf16_ps(acc[m], (__m512bh)_mm512_set1_epi32((int)at[m * 16 + r]),
                                          bv);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int m = 0; m < rows; m++) {
        float *cr = c + (size_t)m * (size_t)ldc;
        __m512 y = alpha == 1.0f ? acc[m] : _mm512_mul_ps(va, acc[m]);
        if (beta != 0.0f) y = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(cols, cr), y);
        if (stream)
            _mm512_stream_ps(cr, y);
        else
            _mm512_mask_storeu_ps(cr, cols, y);
    }
}

/* amx_kernel_32x32's work on the AVX-512 micro-kernel (same arguments). */
AMX_TARGET static void amx_avx_32x32(const uint16_t *a, size_t a_next, const uint16_t *b,
                                     size_t b_next, int k_tiles, float *C, int ldc, int M, int N,
                                     int m0, int n0, float alpha, float beta, int stream,
                                     const float *bias) {
    const int whole = m0 + 32 <= M && n0 + 32 <= N;
    for (int q = 0; q < 4; q++) {
        const int mt = m0 + (q >> 1) * 16, nt = n0 + (q & 1) * 16;
        const int rows = M - mt < 16 ? M - mt : 16;
        const __mmask16 cols = amx_mask16(N - nt);
        if (rows <= 0 || !cols) continue;
        amx_avx_quarter(a + (q >> 1) * a_next, b + (q & 1) * b_next, k_tiles,
                        C + (size_t)mt * (size_t)ldc + (size_t)nt, ldc, rows, cols, alpha, beta,
                        stream && whole && beta == 0.0f && alpha == 1.0f, bias ? bias + nt : NULL);
    }
}

/* The shape of one call's work, shared by every thread. */
typedef struct amx_plan {
    int trans_a, M, N, K, lda, ldc;
    const float *A;
    float *C;
    float alpha, beta;
    const float *bias;        /* added to every row of C (alpha 1, beta 0), or NULL */
    int k_tiles;              /* Kp / 32: tiles along all of K */
    int kc_tiles, n_kblocks;  /* K blocks of kc_tiles tiles */
    int m_pairs, n_pairs;     /* 32-row / 32-column blocks of C */
    int mb_pairs, n_mblocks;  /* M blocks of mb_pairs pairs */
    int n_nsplit;             /* N ranges per M block */
    int c_stream;             /* write whole beta = 0 blocks of C non-temporally */
    int c_prefetch;           /* prefetch the next block of C (large C, not streamed) */
    uint16_t *bpack;
    uint16_t *apack;
    size_t apack_stride;      /* elements per thread's A buffer */
    int tiles;                /* AMX tiles; else the AVX-512 micro-kernel */
} amx_plan_t;

/* One task: M block mb, N range ns, all K blocks. */
AMX_TARGET static void amx_task(const amx_plan_t *p, uint16_t *abuf, int mb, int ns) {
    const int mp0 = mb * p->mb_pairs;
    const int mp1 = mp0 + p->mb_pairs < p->m_pairs ? mp0 + p->mb_pairs : p->m_pairs;
    const int np0 = (int)((int64_t)p->n_pairs * ns / p->n_nsplit);
    const int np1 = (int)((int64_t)p->n_pairs * (ns + 1) / p->n_nsplit);
    if (mp0 >= mp1 || np0 >= np1) return;
    const int m_tiles = 2 * (mp1 - mp0);
    const size_t b_next = (size_t)p->k_tiles * AMX_TILE_ELEMS; /* next n tile of B */
    for (int kb = 0; kb < p->n_kblocks; kb++) {
        const int kt0 = kb * p->kc_tiles;
        const int kct = kt0 + p->kc_tiles <= p->k_tiles ? p->kc_tiles : p->k_tiles - kt0;
        /* op(A) rows [32 mp0, 32 mp1) x k tiles [kt0, kt0 + kct) */
        const float *a_rows =
            p->trans_a ? p->A + (size_t)mp0 * 32 : p->A + (size_t)mp0 * 32 * (size_t)p->lda;
        amx_pack_tiles(abuf, a_rows, p->lda, p->trans_a, 1, p->M - mp0 * 32, p->K, kt0 * 32, 0,
                       m_tiles, kct);
        const float beta = kb == 0 ? p->beta : 1.0f;
        const size_t a_next = (size_t)kct * AMX_TILE_ELEMS;
        for (int np = np0; np < np1; np++) {
            const uint16_t *b = p->bpack + ((size_t)(2 * np) * (size_t)p->k_tiles + (size_t)kt0) *
                                               AMX_TILE_ELEMS;
            for (int mp = mp0; mp < mp1; mp++) {
                const int m_next = (mp + 1) * 32;
                if (p->c_prefetch && mp + 1 < mp1) /* for writing; it arrives during the tiles */
                    for (int r = m_next; r < m_next + 32 && r < p->M; r++) {
                        const float *c = p->C + (size_t)r * (size_t)p->ldc + (size_t)np * 32;
                        __builtin_prefetch(c, 1, 3); /* 128 bytes: 2 or 3 lines */
                        __builtin_prefetch(c + 16, 1, 3);
                        __builtin_prefetch(c + 31, 1, 3);
                    }
                const uint16_t *ablk = abuf + (size_t)(2 * (mp - mp0)) * a_next;
                if (p->tiles)
                    amx_kernel_32x32(ablk, a_next, b, b_next, kct, p->C, p->ldc, p->M, p->N,
                                     mp * 32, np * 32, p->alpha, beta, p->c_stream,
                                     kb == 0 ? p->bias : NULL);
                else
                    amx_avx_32x32(ablk, a_next, b, b_next, kct, p->C, p->ldc, p->M, p->N,
                                  mp * 32, np * 32, p->alpha, beta, p->c_stream,
                                  kb == 0 ? p->bias : NULL);
            }
        }
    }
}

AMX_TARGET static void amx_run(const amx_plan_t *p, int n_threads, const float *B, int ldb,
                               int trans_b) {
    const int n_tiles = 2 * p->n_pairs;
    const int n_tasks = p->n_mblocks * p->n_nsplit;
    /* op(B) in chunks of n tiles, four per thread */
    const int chunk = (n_tiles + 4 * n_threads - 1) / (4 * n_threads);
    const int n_chunks = (n_tiles + chunk - 1) / chunk;
    /* Both loops hand out their pieces dynamically: on a busy machine a
     * thread that loses its core for a scheduler tick then holds up the
     * others by one piece, not by its whole static share. */
#pragma omp parallel num_threads(n_threads)
    {
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < n_chunks; c++) {
            const int t0 = c * chunk, t1 = t0 + chunk < n_tiles ? t0 + chunk : n_tiles;
            amx_pack_tiles(p->bpack + (size_t)t0 * (size_t)p->k_tiles * AMX_TILE_ELEMS, B, ldb,
                           !trans_b, 0, p->N, p->K, 0, t0, t1, p->k_tiles);
        }
        /* the tile configuration and state belong to the thread */
        if (p->tiles) amx_tiles_begin();
        uint16_t *abuf = p->apack + (size_t)omp_get_thread_num() * p->apack_stride;
#pragma omp for schedule(dynamic, 1)
        for (int task = 0; task < n_tasks; task++)
            amx_task(p, abuf, task / p->n_nsplit, task % p->n_nsplit);
        if (p->c_stream) _mm_sfence(); /* streamed C visible before the barrier */
        if (p->tiles) amx_tiles_end();
    }
}

#endif /* AMX_BUILD */

static int amx_gemm(amx_ctx_t *ctx, int trans_a, int trans_b, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb, float beta, float *C,
                    int ldc, const float *bias) {
#if AMX_BUILD
    if (!ctx || ctx->backend == AMX_BACKEND_NONE || M <= 0 || N <= 0 || K <= 0 || !A || !B || !C)
        return -1;
    if (lda < (trans_a ? M : K) || ldb < (trans_b ? K : N) || ldc < N) return -1;
    /* a thread per AMX_THREAD_FLOPS of work at most: waking a thread and the
     * barriers cost microseconds, as much as a small product (one head's
     * attention scores) takes on one core */
    const double flops = 2.0 * (double)M * (double)N * (double)K;
    int nt = ctx->n_threads;
    if (flops < (double)nt * AMX_THREAD_FLOPS)
        nt = flops < AMX_THREAD_FLOPS ? 1 : (int)(flops / AMX_THREAD_FLOPS);
    amx_plan_t p = {.trans_a = trans_a, .M = M, .N = N, .K = K, .lda = lda, .ldc = ldc, .A = A,
                    .C = C, .alpha = alpha, .beta = beta, .bias = bias,
                    .tiles = ctx->backend == AMX_BACKEND_TILES};
    p.k_tiles = (int)(amx_round32((size_t)K) / 32);
    p.n_kblocks = (p.k_tiles + AMX_KC / 32 - 1) / (AMX_KC / 32);
    p.kc_tiles = (p.k_tiles + p.n_kblocks - 1) / p.n_kblocks; /* even blocks */
    p.m_pairs = (int)(amx_round32((size_t)M) / 32);
    p.n_pairs = (int)(amx_round32((size_t)N) / 32);
    /* a large C: written once with beta = 0 into whole aligned lines, around
     * the caches; otherwise each block is prefetched while the one before
     * it computes */
    const int big_c = (size_t)M * (size_t)N * sizeof(float) >= AMX_BIG_C_BYTES;
    p.c_stream = big_c && p.n_kblocks == 1 && alpha == 1.0f && beta == 0.0f &&
                 (uintptr_t)C % 64 == 0 && ldc % 16 == 0;
    p.c_prefetch = big_c && !p.c_stream;
    /* M blocks: A blocks of at most AMX_A_BYTES and AMX_MC rows, their count
     * a multiple of the thread count where there are enough rows, so that no
     * thread idles at the end */
    const int a_bytes = p.tiles ? AMX_A_BYTES : AMX_A_BYTES_AVX;
    int mc_pairs = a_bytes / (p.kc_tiles * 32 * 32 * 2);
    mc_pairs = mc_pairs < 1 ? 1 : mc_pairs > AMX_MC / 32 ? AMX_MC / 32 : mc_pairs;
    p.n_mblocks = (p.m_pairs + mc_pairs - 1) / mc_pairs;
    if (p.m_pairs >= nt) p.n_mblocks = (p.n_mblocks + nt - 1) / nt * nt;
    if (p.n_mblocks > p.m_pairs) p.n_mblocks = p.m_pairs;
    p.mb_pairs = (p.m_pairs + p.n_mblocks - 1) / p.n_mblocks;
    p.n_mblocks = (p.m_pairs + p.mb_pairs - 1) / p.mb_pairs;
    /* too few M blocks for the threads: split N as well */
    p.n_nsplit = p.n_mblocks < nt ? (nt + p.n_mblocks - 1) / p.n_mblocks : 1;
    if (p.n_nsplit > p.n_pairs) p.n_nsplit = p.n_pairs;
    /* per-thread A buffers, each a whole number of 4 kB pages apart */
    p.apack_stride = ((size_t)p.mb_pairs * 32 * (size_t)p.kc_tiles * 32 + 2047) & ~(size_t)2047;
    if (amx_reserve(&ctx->bpack, &ctx->bpack_cap,
                    (size_t)p.n_pairs * 32 * (size_t)p.k_tiles * 32) != 0 ||
        amx_reserve(&ctx->apack, &ctx->apack_cap, p.apack_stride * (size_t)nt) != 0)
        return -1;
    p.bpack = ctx->bpack;
    p.apack = ctx->apack;
    amx_run(&p, nt, B, ldb, trans_b);
    return 0;
#else
    (void)ctx, (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K, (void)alpha, (void)A;
    (void)lda, (void)B, (void)ldb, (void)beta, (void)C, (void)ldc, (void)bias;
    return -1;
#endif
}

int amx_sgemm_bf16(amx_ctx_t *ctx, int trans_a, int trans_b, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C,
                   int ldc) {
    return amx_gemm(ctx, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL);
}

int amx_sgemm_bf16_bias(amx_ctx_t *ctx, int trans_a, int trans_b, int M, int N, int K,
                        const float *A, int lda, const float *B, int ldb, const float *bias,
                        float *C, int ldc) {
    if (!bias) return -1;
    return amx_gemm(ctx, trans_a, trans_b, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc, bias);
}
