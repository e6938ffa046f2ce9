/* tap.h - a minimal Test Anything Protocol emitter shared by the C tests.
 * meson runs each test executable with protocol 'tap': every ok()/not ok
 * line counts, and a non-zero exit or a missing plan fails the test. */
#ifndef GPTSCOPE_TAP_H
#define GPTSCOPE_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tap {
    int n_run, n_failed;
} tap_t;

static inline void tap_okv(tap_t *t, int cond, const char *fmt, va_list ap) {
    t->n_run++;
    if (!cond) t->n_failed++;
    printf("%s %d - ", cond ? "ok" : "not ok", t->n_run);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
}

/* printf-checked, so a stray '%' in a description is a compile-time warning */
static inline __attribute__((format(printf, 3, 4))) int tap_ok(tap_t *t, int cond,
                                                               const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tap_okv(t, cond, fmt, ap);
    va_end(ap);
    return cond;
}

/* |got - want| <= tol, printing both on failure. */
static inline int tap_near(tap_t *t, double got, double want, double tol, const char *what) {
    int cond = fabs(got - want) <= tol && !isnan(got);
    tap_ok(t, cond, "%s (got %.9g, want %.9g, tol %.3g)", what, got, want, tol);
    return cond;
}

static inline __attribute__((format(printf, 1, 2))) void tap_diag(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* max |a[i] - b[i]| over n floats; a NaN anywhere gives INFINITY, so a
 * comparison "<= tol" fails on it. */
static inline float tap_max_abs_diff(const float *a, const float *b, int n) {
    float m = 0;
    for (int i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = isnan(d) ? INFINITY : d;
    }
    return m;
}

/* Prints the plan and returns the process exit status. */
static inline int tap_done(tap_t *t) {
    printf("1..%d\n", t->n_run);
    return t->n_failed ? 1 : 0;
}

/* Path under $GPTSCOPE_SRC or $GPTSCOPE_SHARED (set by meson), falling back to
 * paths relative to the source root. */
static inline const char *tap_path(char *buf, size_t cap, const char *env, const char *fallback,
                                   const char *rel) {
    const char *root = getenv(env);
    snprintf(buf, cap, "%s/%s", root ? root : fallback, rel);
    return buf;
}
#define TAP_SRC(buf, rel) tap_path(buf, sizeof(buf), "GPTSCOPE_SRC", ".", rel)
#define TAP_SHARED(buf, rel) tap_path(buf, sizeof(buf), "GPTSCOPE_SHARED", "../shared/data", rel)

#endif
