/* clockx.h - the one monotonic clock every timing in gptscope reads (token
 * speeds, the adaptive thread tuner, training progress, replay pacing). */
#ifndef GPTSCOPE_CLOCKX_H
#define GPTSCOPE_CLOCKX_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC: only differences mean anything. */
static inline double clockx_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
