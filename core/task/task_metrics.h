/* task_metrics.h - how well a classifier did on labelled examples: the
 * confusion matrix, accuracy, and per-class precision, recall and F1, for
 * `gptscope eval-task`, `baseline-nb` and the fine-tuning log. */
#ifndef GPTSCOPE_TASK_METRICS_H
#define GPTSCOPE_TASK_METRICS_H

#include <stdint.h>

typedef struct task_metrics {
    int n_classes;
    int64_t n;
    int64_t *confusion; /* [truth * n_classes + predicted] */
} task_metrics_t;

/* 0, or -1 (n_classes < 1, out of memory). */
int task_metrics_init(task_metrics_t *m, int n_classes);
void task_metrics_free(task_metrics_t *m); /* zeroes m; a zeroed m is a no-op */
void task_metrics_reset(task_metrics_t *m);
/* Counts one example; out-of-range indices are ignored. */
void task_metrics_add(task_metrics_t *m, int truth, int predicted);
double task_metrics_accuracy(const task_metrics_t *m); /* 0 when empty */
/* Class k's precision, recall and F1 (each 0 when its denominator is 0). */
void task_metrics_class(const task_metrics_t *m, int k, double *precision, double *recall,
                        double *f1);
/* Mean F1 over the classes. */
double task_metrics_macro_f1(const task_metrics_t *m);
/* {"n":..,"accuracy":..,"f1":{"LABEL":..},"precision":{..},"recall":{..},
 *  "labels":[..],"confusion":[[..]..]} (rows: truth, columns: predicted),
 * malloc'd; NULL when out of memory. */
char *task_metrics_json(const task_metrics_t *m, const char *const *labels);

#endif
