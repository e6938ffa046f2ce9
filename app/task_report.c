/* task_report.c - the scores table (task_report.h). */
#include "task_report.h"

#include <string.h>

void task_report_print(FILE *out, const task_metrics_t *m, const char *const *labels) {
    int w = 9;
    for (int k = 0; k < m->n_classes; k++)
        if ((int)strlen(labels[k]) > w) w = (int)strlen(labels[k]);
    if (w > 24) w = 24;
    fprintf(out, "examples %lld, accuracy %.4f, macro F1 %.4f\n", (long long)m->n,
            task_metrics_accuracy(m), task_metrics_macro_f1(m));
    fprintf(out, "%-*s %9s %9s %9s %9s\n", w, "label", "precision", "recall", "F1", "support");
    for (int k = 0; k < m->n_classes; k++) {
        double p, r, f;
        task_metrics_class(m, k, &p, &r, &f);
        long long support = 0;
        for (int j = 0; j < m->n_classes; j++) support += m->confusion[(size_t)k * m->n_classes + j];
        fprintf(out, "%-*.*s %9.4f %9.4f %9.4f %9lld\n", w, w, labels[k], p, r, f, support);
    }
    fprintf(out, "confusion (rows: true label, columns: predicted)\n%-*s", w, "");
    for (int j = 0; j < m->n_classes; j++) fprintf(out, " %9.9s", labels[j]);
    fputc('\n', out);
    for (int k = 0; k < m->n_classes; k++) {
        fprintf(out, "%-*.*s", w, w, labels[k]);
        for (int j = 0; j < m->n_classes; j++)
            fprintf(out, " %9lld", (long long)m->confusion[(size_t)k * m->n_classes + j]);
        fputc('\n', out);
    }
}
