/* test_threadtune.c - the decode thread-count tuner (core/kernels/threadtune.h) on
 * synthetic step times: it settles on the faster count, quiet or busy, finds
 * the new best when the load changes, and keeps the cost of looking small.
 * TAP output. */
#include <stdio.h>

#include "tap.h"
#include "threadtune.h"

/* Runs n steps where a step on k threads takes cost(k) seconds; returns the
 * total time and the steps spent on the slower count. */
typedef double (*cost_fn)(int threads, int step);

static double run(threadtune_t *t, int from, int n, cost_fn cost, int fast, int *slow_steps) {
    double total = 0;
    for (int i = from; i < from + n; i++) {
        int k = threadtune_threads(t);
        double c = cost(k, i);
        if (k != fast && slow_steps) (*slow_steps)++;
        threadtune_record(t, c);
        total += c;
    }
    return total;
}

static double quiet(int k, int step) { (void)step; return k == 2 ? 1.6e-3 : 2.8e-3; }
static double busy(int k, int step) { (void)step; return k == 2 ? 60e-3 : 5e-3; }
/* quiet for 2000 steps, then busy */
static double turns_busy(int k, int step) { return step < 2000 ? quiet(k, step) : busy(k, step); }

int main(void) {
    tap_t t = {0};
    threadtune_t tt;
    threadtune_init(&tt, 2);
    int slow = 0;
    run(&tt, 0, 3000, quiet, 2, &slow);
    tap_ok(&t, threadtune_mostly(&tt) == 2 && slow < 3000 / 20,
           "quiet machine: 2 threads, %d of 3000 steps on 1 while looking", slow);

    threadtune_init(&tt, 2);
    slow = 0;
    double tot = run(&tt, 0, 3000, busy, 1, &slow);
    tap_ok(&t, threadtune_mostly(&tt) == 1 && tot < 1.25 * 3000 * 5e-3,
           "busy machine: 1 thread, total %.2f s against %.2f s on 1 thread throughout (%d steps "
           "on 2)", tot, 3000 * 5e-3, slow);

    threadtune_init(&tt, 2);
    run(&tt, 0, 2000, turns_busy, 2, NULL);
    int now2 = threadtune_threads(&tt) == 2;
    slow = 0;
    tot = run(&tt, 2000, 2000, turns_busy, 1, &slow);
    tap_ok(&t, now2 && slow < 40 && tot < 1.5 * 2000 * 5e-3,
           "the machine gets busy: it moves to 1 thread within %d steps (%.2f s for 2000)", slow,
           tot);

    threadtune_init(&tt, 1);
    tap_ok(&t, threadtune_threads(&tt) == 1, "one core: always 1 thread");
    threadtune_init(&tt, 8);
    int seen[9] = {0};
    for (int i = 0; i < 200; i++) {
        int k = threadtune_threads(&tt);
        if (k >= 1 && k <= 8) seen[k] = 1;
        threadtune_record(&tt, k == 4 ? 1e-3 : 3e-3);
    }
    tap_ok(&t, seen[8] && seen[4] && seen[1] && threadtune_mostly(&tt) == 4,
           "8 cores: tries 8, 4 and 1 and keeps the fastest (4)");
    return tap_done(&t);
}
