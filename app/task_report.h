/* task_report.h - a classifier's scores as `eval-task` and `baseline-nb`
 * print them: accuracy, then per-class precision / recall / F1 and the
 * confusion matrix (rows: the true label, columns: the predicted one). */
#ifndef GPTSCOPE_TASK_REPORT_H
#define GPTSCOPE_TASK_REPORT_H

#include <stdio.h>

#include "task_metrics.h"

void task_report_print(FILE *out, const task_metrics_t *m, const char *const *labels);

#endif
