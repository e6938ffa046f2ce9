/* threadtune.h - choosing the decode thread count from measured step times.
 *
 * Decoding a small model does little work per parallel region; when another
 * process keeps the cores busy, a thread of ours that is descheduled makes
 * the others spin at every barrier, and 2 threads fall far below 1 (measured
 * on a 2-core host beside a 2-thread training run: 63 tokens/s on 2 threads,
 * 207 on 1). No fixed count is right for both a quiet and a busy machine, so
 * the generator times its steps and keeps the faster count:
 *   explore: each candidate count (max, max/2 when max >= 4, 1) runs
 *            TT_TRIAL steps, the last winner first; the step times after the
 *            first (a changed count wakes or parks threads) are averaged, and
 *            a trial already 1.5x slower than the best stops at once;
 *   exploit: the fastest runs for a period that doubles (64 .. 1024 steps)
 *            while the same count keeps winning, and starts again at 64 when
 *            another wins; a multi-thread period ends early when its steps
 *            have become twice as slow as measured (the machine got busy).
 * It is only used where the kernels give the same bits for every count
 * (kernel_ctx_decode_invariant), so outputs never depend on timing. */
#ifndef GPTSCOPE_THREADTUNE_H
#define GPTSCOPE_THREADTUNE_H

#define TT_MAX_CAND 3
#define TT_TRIAL 4

typedef struct threadtune {
    int cand[TT_MAX_CAND], n_cand;
    int exploring;      /* 1: trying cand[at] */
    int trial;          /* how many candidates this exploration has tried */
    int at;             /* candidate being tried / the chosen one */
    int steps;          /* steps in the current trial or period */
    int period;         /* length of the current exploit period */
    int last_winner;    /* cand index that won the last exploration, -1 at first */
    double trial_mean[TT_MAX_CAND]; /* this exploration's mean step time (INFINITY: lost) */
    double trial_sum, bar; /* the current trial's sum; the best mean so far */
    double best_s;      /* measured step time of the chosen count */
    double recent_sum;  /* of the current period's last steps */
    int recent_n;
    long long n_steps_at[TT_MAX_CAND]; /* steps run on each candidate (for --stats) */
} threadtune_t;

/* Candidates for up to max_threads (>= 1). */
void threadtune_init(threadtune_t *t, int max_threads);
/* The thread count for the next step. */
int threadtune_threads(const threadtune_t *t);
/* Reports how long that step took (seconds). */
void threadtune_record(threadtune_t *t, double seconds);
/* The count most steps ran on so far. */
int threadtune_mostly(const threadtune_t *t);

#endif
