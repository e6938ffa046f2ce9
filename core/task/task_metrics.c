/* task_metrics.c - confusion matrix and the scores read from it (task_metrics.h). */
#include "task_metrics.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int task_metrics_init(task_metrics_t *m, int n_classes) {
    memset(m, 0, sizeof *m);
    if (n_classes < 1) return -1;
    m->confusion = calloc((size_t)n_classes * (size_t)n_classes, sizeof *m->confusion);
    if (!m->confusion) return -1;
    m->n_classes = n_classes;
    return 0;
}

void task_metrics_free(task_metrics_t *m) {
    if (!m) return;
    free(m->confusion);
    memset(m, 0, sizeof *m);
}

void task_metrics_reset(task_metrics_t *m) {
    if (m->confusion)
        memset(m->confusion, 0, (size_t)m->n_classes * (size_t)m->n_classes * sizeof *m->confusion);
    m->n = 0;
}

void task_metrics_add(task_metrics_t *m, int truth, int predicted) {
    if (truth < 0 || truth >= m->n_classes || predicted < 0 || predicted >= m->n_classes) return;
    m->confusion[(size_t)truth * m->n_classes + predicted]++;
    m->n++;
}

double task_metrics_accuracy(const task_metrics_t *m) {
    if (m->n == 0) return 0.0;
    int64_t right = 0;
    for (int k = 0; k < m->n_classes; k++) right += m->confusion[(size_t)k * m->n_classes + k];
    return (double)right / (double)m->n;
}

void task_metrics_class(const task_metrics_t *m, int k, double *precision, double *recall,
                        double *f1) {
    int64_t tp = m->confusion[(size_t)k * m->n_classes + k], pred = 0, truth = 0;
    for (int j = 0; j < m->n_classes; j++) {
        pred += m->confusion[(size_t)j * m->n_classes + k];
        truth += m->confusion[(size_t)k * m->n_classes + j];
    }
    double p = pred ? (double)tp / (double)pred : 0.0, r = truth ? (double)tp / (double)truth : 0.0;
    if (precision) *precision = p;
    if (recall) *recall = r;
    if (f1) *f1 = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

double task_metrics_macro_f1(const task_metrics_t *m) {
    double s = 0;
    for (int k = 0; k < m->n_classes; k++) {
        double f;
        task_metrics_class(m, k, NULL, NULL, &f);
        s += f;
    }
    return m->n_classes ? s / m->n_classes : 0.0;
}

char *task_metrics_json(const task_metrics_t *m, const char *const *labels) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "n", (double)m->n);
    cJSON_AddNumberToObject(o, "accuracy", task_metrics_accuracy(m));
    cJSON_AddNumberToObject(o, "macro_f1", task_metrics_macro_f1(m));
    cJSON *f1 = cJSON_AddObjectToObject(o, "f1"), *pr = cJSON_AddObjectToObject(o, "precision");
    cJSON *rc = cJSON_AddObjectToObject(o, "recall"), *lab = cJSON_AddArrayToObject(o, "labels");
    cJSON *conf = cJSON_AddArrayToObject(o, "confusion");
    for (int k = 0; f1 && pr && rc && lab && conf && k < m->n_classes; k++) {
        double p, r, f;
        task_metrics_class(m, k, &p, &r, &f);
        cJSON_AddNumberToObject(f1, labels[k], f);
        cJSON_AddNumberToObject(pr, labels[k], p);
        cJSON_AddNumberToObject(rc, labels[k], r);
        cJSON_AddItemToArray(lab, cJSON_CreateString(labels[k]));
        cJSON *row = cJSON_CreateArray();
        for (int j = 0; row && j < m->n_classes; j++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber((double)m->confusion[(size_t)k * m->n_classes + j]));
        cJSON_AddItemToArray(conf, row);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
