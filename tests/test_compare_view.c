/* test_compare_view.c - /compare's text view (ui/compare_view.c): the tint
 * threshold, and the printed view of a chat on the tiny reference model
 * with hand-made log-probabilities: tokens tinted green / red exactly where
 * the log-ratio passes +-0.1 nats, no escape codes without colour, the
 * token boundaries, a row per scored token, the sums by hand, unscored
 * tokens left out of them, and every line within 80 columns. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare_view.h"
#include "tap.h"

static void test_tint(tap_t *t) {
    tap_ok(t, compare_view_tint(0.5) == 1, "tint: +0.5 nats is A's");
    tap_ok(t, compare_view_tint(-0.5) == -1, "tint: -0.5 nats is B's");
    tap_ok(t, compare_view_tint(0.05) == 0 && compare_view_tint(-0.05) == 0,
           "tint: within 0.1 nats, neither");
    tap_ok(t, compare_view_tint(0.1) == 0 && compare_view_tint(0.1001) == 1,
           "tint: the threshold is strict (> 0.1)");
    tap_ok(t, compare_view_tint(NAN) == 0, "tint: an unscored token, neither");
}

/* the view of c with res as a malloc'd string */
static char *view(const chat_t *c, const command_result_t *res, int color) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    compare_view_print(f, c, res, color);
    fclose(f);
    return buf;
}

static void test_view(tap_t *t, const gpt_model_t *m, tokenizer_t *tok) {
    char err[512];
    chat_settings_t s = chat_settings_default();
    chat_t *c = chat_init(m, tok, &s, 1, 0, err, sizeof err);
    if (!tap_ok(t, c && chat_user(c, "hello world", 11, err, sizeof err) == 0, "a chat: %s", err))
        return;
    /* "he|ll|o| w|or|ld": ll preferred by A, o by B, " w" a little by A */
    int n = chat_n_tokens(c);
    double self[6] = {NAN, -1, -1, -1, -1, -1}, other[6] = {NAN, -1.5, -0.5, -1.2, -1, -1};
    command_result_t res;
    memset(&res, 0, sizeof res);
    res.status = COMMAND_COMPARE;
    res.lp_self = self;
    res.lp_other = other;
    res.n_lp = n;
    snprintf(res.label, sizeof res.label, "other-model");
    if (!tap_ok(t, n == 6, "the chat has 6 tokens (got %d)", n)) goto done;
    char *plain = view(c, &res, 0), *tinted = view(c, &res, 1);
    tap_ok(t, plain && !strchr(plain, '\033'), "no colour: no escape codes");
    tap_ok(t, plain && strstr(plain, "A: gpt2-f32 (this session), B: other-model\n"),
           "the header names both models");
    tap_ok(t, plain && strstr(plain, "\nhe|ll|o| w|or|ld\n"), "the text with token boundaries");
    tap_ok(t, tinted && strstr(tinted, "|\033[32mll\033[0m|") && strstr(tinted, "|\033[31mo\033[0m|"),
           "colour: A's token green, B's red");
    tap_ok(t, tinted && strstr(tinted, "|\033[32m w\033[0m|"), "colour: a 0.2-nat token is tinted");
    tap_ok(t, tinted && strstr(tinted, "\nhe|") && strstr(tinted, "|or|ld\n"),
           "colour: tokens the models agree on are plain");
    tap_ok(t, plain && strstr(plain, "     1  \"ll\"") && strstr(plain, "     5  \"ld\"") &&
                  !strstr(plain, "     0  \"he\""),
           "a table row per predicted token");
    tap_ok(t, plain && strstr(plain, "sum of log-probabilities over 5 tokens: A -5.0000, B -5.2000\n"
                                     "A preferred the text by 0.2000 nats\n"),
           "the sums");
    free(plain);
    free(tinted);
    self[5] = NAN; /* a token one model did not score: left out of both sums */
    plain = view(c, &res, 0);
    char dashes[128];
    snprintf(dashes, sizeof dashes, "%6d  %-20s %9s %9s %9s\n", 5, "\"ld\"", "-", "-", "-");
    tap_ok(t, plain && strstr(plain, "over 4 tokens: A -4.0000, B -4.2000") &&
                  strstr(plain, dashes),
           "an unscored token: dashes, and out of the sums");
    free(plain);
    chat_free(c);
    /* a long conversation wraps within 80 columns */
    c = chat_init(m, tok, &s, 1, 0, err, sizeof err);
    const char *text = "the quick brown fox jumps over the lazy dog and keeps running far away "
                       "from the farm, through the woods and over the hills\nuntil night";
    if (!tap_ok(t, c && chat_user(c, text, strlen(text), err, sizeof err) == 0, "a longer chat"))
        goto done;
    n = chat_n_tokens(c);
    double *a = calloc((size_t)n, sizeof *a), *b = calloc((size_t)n, sizeof *b);
    res.lp_self = a;
    res.lp_other = b;
    res.n_lp = n;
    plain = a && b ? view(c, &res, 0) : NULL;
    int widest = 0, lines = 0;
    for (char *p = plain; p && *p;) {
        char *e = strchr(p, '\n');
        int w = (int)(e ? e - p : (long)strlen(p));
        widest = w > widest ? w : widest;
        lines++;
        p = e ? e + 1 : p + w;
    }
    tap_ok(t, plain && widest <= 80 && lines > n, "%d tokens: %d lines, the widest %d columns", n,
           lines, widest);
    free(plain);
    free(a);
    free(b);
done:
    chat_free(c);
}

int main(void) {
    tap_t t = {0, 0};
    char dir[4096], err[512];
    test_tint(&t);
    TAP_SRC(dir, "tests/reference/models/gpt2-f32");
    gpt_model_t *m = gpt_load(dir, err, sizeof err);
    tokenizer_t *tok = m ? tokenizer_load(dir, TOKENIZER_GPT2, err, sizeof err) : NULL;
    if (!m || !tok)
        printf("# SKIP the view: reference model not available (%s)\n", err);
    else
        test_view(&t, m, tok);
    tokenizer_free(tok);
    gpt_free(m);
    return tap_done(&t);
}
