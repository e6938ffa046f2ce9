/* threadtune.c - decode thread count from measured step times (threadtune.h). */
#include "threadtune.h"

#include <math.h>
#include <string.h>

enum { TT_PERIOD_MIN = 64, TT_PERIOD_MAX = 1024, TT_RECENT = 8 };

/* The trial order: the last winner first (its time is the bar the others
 * must beat), then the rest in candidate order. */
static int tt_order(const threadtune_t *t, int k) {
    if (t->last_winner < 0) return k;
    if (k == 0) return t->last_winner;
    return k <= t->last_winner ? k - 1 : k;
}

static void tt_explore(threadtune_t *t) {
    t->exploring = t->n_cand > 1;
    t->trial = 0;
    t->at = tt_order(t, 0);
    t->steps = 0;
    t->bar = INFINITY;
    for (int i = 0; i < TT_MAX_CAND; i++) t->trial_mean[i] = INFINITY;
    t->trial_sum = 0;
}

void threadtune_init(threadtune_t *t, int max_threads) {
    memset(t, 0, sizeof *t);
    if (max_threads < 1) max_threads = 1;
    t->cand[t->n_cand++] = max_threads;
    if (max_threads >= 4) t->cand[t->n_cand++] = max_threads / 2;
    if (max_threads > 1) t->cand[t->n_cand++] = 1;
    t->last_winner = -1;
    t->period = TT_PERIOD_MIN;
    tt_explore(t);
}

int threadtune_threads(const threadtune_t *t) { return t->cand[t->at]; }

/* Ends the trial of cand[at] and moves to the next, or to exploiting. */
static void tt_next_trial(threadtune_t *t) {
    t->steps = 0;
    t->trial_sum = 0;
    if (++t->trial < t->n_cand) {
        t->at = tt_order(t, t->trial);
        return;
    }
    int best = 0;
    for (int i = 1; i < t->n_cand; i++)
        if (t->trial_mean[i] < t->trial_mean[best]) best = i;
    if (best == t->last_winner) t->period = t->period < TT_PERIOD_MAX ? 2 * t->period : t->period;
    else t->period = TT_PERIOD_MIN;
    t->last_winner = best;
    t->at = best;
    t->best_s = t->trial_mean[best];
    t->exploring = 0;
    t->recent_sum = 0;
    t->recent_n = 0;
}

void threadtune_record(threadtune_t *t, double seconds) {
    t->n_steps_at[t->at]++;
    t->steps++;
    if (t->exploring) {
        /* A trial that is clearly losing stops at once: under contention a
         * multi-thread step can be 10x slower, and a full trial of it would
         * cost more than the tuning saves. */
        if (t->steps == 1) { /* this step paid for the switch of count */
            if (seconds > 4 * t->bar) tt_next_trial(t);
            return;
        }
        t->trial_sum += seconds;
        double mean = t->trial_sum / (t->steps - 1);
        if (t->trial > 0 && mean > 1.5 * t->bar) {
            tt_next_trial(t);
            return;
        }
        if (t->steps < TT_TRIAL) return;
        t->trial_mean[t->at] = mean;
        if (mean < t->bar) t->bar = mean;
        tt_next_trial(t);
        return;
    }
    t->recent_sum += seconds;
    /* Only a multi-thread choice ends its period early: slow steps there are
     * the spin-wait collapse a newly busy machine causes. One thread is
     * slowed by contention too, but no other count would do better then. */
    if (t->cand[t->at] > 1 && ++t->recent_n == TT_RECENT) {
        int slower = t->recent_sum / TT_RECENT > 2 * t->best_s;
        t->recent_sum = 0;
        t->recent_n = 0;
        if (slower) {
            t->period = TT_PERIOD_MIN;
            tt_explore(t);
            return;
        }
    }
    if (t->steps >= t->period) tt_explore(t);
}

int threadtune_mostly(const threadtune_t *t) {
    int best = 0;
    for (int i = 1; i < t->n_cand; i++)
        if (t->n_steps_at[i] > t->n_steps_at[best]) best = i;
    return t->cand[best];
}
