/* blas_core.c - see blas_core.h. */
#include "blas_core.h"

#include <cblas.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

const char *blas_core_name(void) {
    const char *n = openblas_get_corename();
    return n ? n : "unknown";
}

int blas_core_is_avx512(const char *name) {
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    for (size_t i = 0; name && i < sizeof(avx512) / sizeof(avx512[0]); i++)
        if (strcasecmp(name, avx512[i]) == 0) return 1;
    return 0;
}

const char *blas_core_better(void) {
    const char *set = getenv("OPENBLAS_CORETYPE");
    if (set && *set) return NULL;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512dq") ||
        !__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("avx512vl"))
        return NULL;
    return blas_core_is_avx512(blas_core_name()) ? NULL : "SkylakeX";
}

void blas_core_restart(char **argv) {
    const char *core = blas_core_better();
    if (!core || setenv("OPENBLAS_CORETYPE", core, 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");
}
