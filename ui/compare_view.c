/* compare_view.c - /compare DIR as text (compare_view.h): a header naming
 * the two models, the conversation with each token tinted by the model that
 * preferred it and the token boundaries marked, a table of the per-token
 * probabilities, and the sums. Fits 80 columns: the text is wrapped there
 * and the table is 58 wide. */
#include "compare_view.h"

#include <math.h>
#include <string.h>

#include "text.h"

#define CV_WIDTH 80
#define CV_THRESHOLD 0.1 /* nats: closer than this the models agree */
#define CV_LABEL_COLS 18 /* of a token in the table, inside its quotes */

int compare_view_tint(double log_ratio) {
    if (isnan(log_ratio)) return 0;
    if (log_ratio > CV_THRESHOLD) return 1;
    if (log_ratio < -CV_THRESHOLD) return -1;
    return 0;
}

/* green: A (the session's model) preferred it; red: B did */
static const char *cv_ansi(double log_ratio, int color) {
    if (!color) return "";
    int t = compare_view_tint(log_ratio);
    return t > 0 ? "\033[32m" : t < 0 ? "\033[31m" : "";
}

static const char *cv_reset(const char *ansi) { return *ansi ? "\033[0m" : ""; }

/* The last component of a model directory ("models/gpt2/" -> "gpt2"). */
static void cv_name(const char *dir, char *out, size_t cap) {
    size_t n = dir ? strlen(dir) : 0;
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/') b--;
    snprintf(out, cap, "%.*s", (int)(n - b), n ? dir + b : "");
}

/* ln(pA/pB) of token i, NAN when either model did not score it */
static double cv_ratio(const command_result_t *res, int i) {
    return res->lp_self[i] - res->lp_other[i];
}

/* The conversation, one escaped token after another with '|' between them,
 * wrapped at CV_WIDTH; a token holding a newline ends its line, so turns
 * keep their shape. */
static void cv_text(FILE *out, const chat_t *c, const command_result_t *res, int n, int color) {
    int col = 0;
    for (int i = 0; i < n; i++) {
        size_t len = 0;
        const char *b = chat_token_bytes(c, i, &len);
        char esc[256];
        text_escape(b ? b : "", b ? len : 0, esc, sizeof esc);
        int w = text_width(esc, strlen(esc)) + (i > 0);
        if (col > 0 && col + w > CV_WIDTH) {
            fputc('\n', out);
            col = 0;
        }
        if (i > 0 && col > 0) fputc('|', out);
        const char *t = cv_ansi(cv_ratio(res, i), color);
        fprintf(out, "%s%s%s", t, esc, cv_reset(t));
        col += w;
        if (b && memchr(b, '\n', len)) {
            fputc('\n', out);
            col = 0;
        }
    }
    if (col > 0) fputc('\n', out);
}

/* token i as a quoted table label padded to CV_LABEL_COLS + 2 columns */
static void cv_label(const chat_t *c, int i, char *out, size_t cap) {
    size_t len = 0;
    const char *b = chat_token_bytes(c, i, &len);
    char esc[256];
    text_escape(b ? b : "", b ? len : 0, esc, sizeof esc);
    int cols = 0;
    size_t keep = text_fit(esc, strlen(esc), CV_LABEL_COLS, &cols);
    snprintf(out, cap, "\"%.*s\"%*s", (int)keep, esc, CV_LABEL_COLS - cols, "");
}

static void cv_table(FILE *out, const chat_t *c, const command_result_t *res, int n, int color) {
    fprintf(out, "%6s  %-20s %9s %9s %9s\n", "token", "text", "p(A)", "p(B)", "ln(A/B)");
    for (int i = 1; i < n; i++) {
        char label[300];
        cv_label(c, i, label, sizeof label);
        double r = cv_ratio(res, i);
        if (isnan(r)) {
            fprintf(out, "%6d  %s %9s %9s %9s\n", i, label, "-", "-", "-");
            continue;
        }
        const char *t = cv_ansi(r, color);
        fprintf(out, "%6d  %s %9.3g %9.3g %s%+9.3f%s\n", i, label, exp(res->lp_self[i]),
                exp(res->lp_other[i]), t, r, cv_reset(t));
    }
}

void compare_view_print(FILE *out, const chat_t *c, const command_result_t *res, int color) {
    int n = res->n_lp < chat_n_tokens(c) ? res->n_lp : chat_n_tokens(c);
    if (!res->lp_self || !res->lp_other || n < 1) {
        fprintf(out, "/compare: nothing to show\n");
        return;
    }
    const gpt_model_t *m = chat_model(c);
    char a[128];
    cv_name(m ? m->dir : NULL, a, sizeof a);
    fprintf(out, "A: %s (this session), B: %s\n", a, res->label);
    if (color)
        fprintf(out, "\033[32mgreen\033[0m: A preferred the token by more than %.1f nats, "
                "\033[31mred\033[0m: B did\n", CV_THRESHOLD);
    fputc('\n', out);
    cv_text(out, c, res, n, color);
    fputc('\n', out);
    cv_table(out, c, res, n, color);
    /* the sums over the tokens both models scored, so they are comparable */
    double sa = 0, sb = 0;
    int n_both = 0;
    for (int i = 1; i < n; i++)
        if (!isnan(cv_ratio(res, i))) sa += res->lp_self[i], sb += res->lp_other[i], n_both++;
    fprintf(out, "\nsum of log-probabilities over %d tokens: A %.4f, B %.4f\n", n_both, sa, sb);
    if (fabs(sa - sb) < 5e-5)
        fprintf(out, "the models agree on the text\n");
    else
        fprintf(out, "%s preferred the text by %.4f nats\n", sa > sb ? "A" : "B", fabs(sa - sb));
}
