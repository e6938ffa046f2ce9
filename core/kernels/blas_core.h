/* blas_core.h - which OpenBLAS kernels this process runs, and whether this
 * CPU has better ones that the library did not pick.
 *
 * Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) chooses its kernels from the CPU's
 * family and model numbers when it loads. A CPU newer than the library is
 * missing from its tables and gets a fallback: on Emerald Rapids (model 207)
 * that is Prescott (SSE3), sgemm at 28-40 GFLOP/s on 2 cores where the AVX-512
 * SkylakeX kernels reach 150-160 (measured 2026-12-05). The choice can only
 * be overridden by $OPENBLAS_CORETYPE before the library loads, so a program
 * that wants the better kernels must start again with it set; the app does
 * that (app/main.c, bench/) through blas_core_restart, the one function
 * here that changes anything (the environment, then the process image). */
#ifndef GPTSCOPE_BLAS_CORE_H
#define GPTSCOPE_BLAS_CORE_H

/* The kernels in use as OpenBLAS names them ("SkylakeX", "Prescott", ...). */
const char *blas_core_name(void);

/* 1 if the named kernel set uses AVX-512 (SkylakeX, Cooperlake,
 * SapphireRapids; case-insensitive). */
int blas_core_is_avx512(const char *name);

/* The OPENBLAS_CORETYPE value that would give this process faster kernels:
 * "SkylakeX" when the CPU has AVX-512 F, DQ, BW and VL, the library chose a
 * set without AVX-512, and $OPENBLAS_CORETYPE is not set (a user's choice is
 * kept). NULL otherwise. */
const char *blas_core_better(void);

/* For a program's main(), before anything else: when blas_core_better()
 * names faster kernels, sets $OPENBLAS_CORETYPE and executes this program
 * again (/proc/self/exe) with the same argv, so it never returns then.
 * Returns if there is nothing to gain, or if the restart failed (the
 * variable is unset again and the program goes on with the kernels it has). */
void blas_core_restart(char **argv);

#endif
