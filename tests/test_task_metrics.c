/* test_task_metrics.c - the scores of eval-task and baseline-nb: a confusion
 * matrix worked by hand, and naive Bayes against probabilities computed by
 * hand from its formula (naive_bayes.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "naive_bayes.h"
#include "tap.h"
#include "task_metrics.h"

static int near(double a, double b) { return fabs(a - b) < 1e-9; }

int main(void) {
    tap_t t = {0};
    task_metrics_t m;
    tap_ok(&t, task_metrics_init(&m, 0) == -1, "no classes is refused");
    task_metrics_init(&m, 2);
    /* truth, predicted: 3 ham right, 1 ham as spam, 2 spam right, 2 spam as ham */
    int pairs[8][2] = {{0, 0}, {0, 0}, {0, 0}, {0, 1}, {1, 1}, {1, 1}, {1, 0}, {1, 0}};
    for (int i = 0; i < 8; i++) task_metrics_add(&m, pairs[i][0], pairs[i][1]);
    task_metrics_add(&m, 5, 0); /* out of range: ignored */
    double p, r, f;
    task_metrics_class(&m, 1, &p, &r, &f);
    tap_ok(&t, m.n == 8 && near(task_metrics_accuracy(&m), 5.0 / 8), "accuracy 5/8");
    tap_ok(&t, near(p, 2.0 / 3) && near(r, 0.5) && near(f, 2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5)),
           "spam: precision 2/3, recall 1/2, F1 4/7 (%.4f)", f);
    task_metrics_class(&m, 0, &p, &r, &f);
    tap_ok(&t, near(p, 0.6) && near(r, 0.75), "ham: precision 3/5, recall 3/4");
    const char *labels[2] = {"ham", "spam"};
    char *js = task_metrics_json(&m, labels);
    tap_ok(&t, js && strstr(js, "\"n\":8") && strstr(js, "\"accuracy\":0.625") &&
                   strstr(js, "\"confusion\":[[3,1],[2,2]]") && strstr(js, "\"f1\":{\"ham\":"),
           "JSON: n, accuracy, f1 by label, confusion rows = truth (%s)", js ? js : "");
    free(js);
    task_metrics_reset(&m);
    tap_ok(&t, m.n == 0 && task_metrics_accuracy(&m) == 0.0, "reset");
    task_metrics_free(&m);

    /* naive Bayes: 2 ham "a b", "a"; 1 spam "c c b" (|V| = 3, alpha 1) */
    const char *text = "{\"text\":\"a B\",\"label\":\"ham\"}\n{\"text\":\"a!\",\"label\":\"ham\"}\n"
                       "{\"text\":\"c,c b\",\"label\":\"spam\"}\n";
    task_data_t d;
    char err[256];
    task_read_opts_t o = {NULL, 0, 1, 0};
    int rc = task_data_parse(&d, TASK_CLASSIFY, text, strlen(text), "nb", &o, err, sizeof err);
    nb_model_t *nb = rc == 0 ? nb_train(&d, 1.0, err, sizeof err) : NULL;
    tap_ok(&t, nb && nb_n_words(nb) == 3 && nb_n_classes(nb) == 2, "trained: 3 words, 2 classes");
    double probs[2] = {0, 0};
    int k = nb ? nb_predict(nb, "b c zzz", probs) : -1;
    /* ham: prior 2/3, P(b)=2/6, P(c)=1/6; spam: prior 1/3, P(b)=2/6, P(c)=3/6 */
    double lh = log(2.0 / 3) + log(2.0 / 6) + log(1.0 / 6), ls = log(1.0 / 3) + log(2.0 / 6) + log(3.0 / 6);
    double ps = 1.0 / (1.0 + exp(lh - ls));
    tap_ok(&t, k == 1 && near(probs[1], ps) && near(probs[0] + probs[1], 1.0),
           "P(spam | \"b c zzz\") = %.6f as by hand (%.6f); the unseen word is skipped", probs[1], ps);
    k = nb ? nb_predict(nb, "A", probs) : -1;
    tap_ok(&t, k == 0, "\"A\" (case folded) is ham");
    nb_free(nb);
    task_data_free(&d);
    return tap_done(&t);
}
