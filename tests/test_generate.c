/* test_generate.c - the generation session (core/decode/generate.c) on the tiny
 * GPT-2 reference model (n_ctx 64): greedy ids against PyTorch's, the window
 * sliding on overflow (logits after a slide must equal a fresh run of the
 * kept tokens), prompt truncation, stops, attention capture, bad input. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"
#include "tap.h"

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s) s[n] = '\0';
    fclose(f);
    return s;
}

static int json_ids(const cJSON *arr, int *out, int cap) {
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) if (n < cap) out[n++] = it->valueint;
    return n;
}

int main(void) {
    tap_t t = {0, 0};
    char dir[4096], path[4200], err[512];
    TAP_SRC(dir, "tests/reference/models/gpt2-f32");
    snprintf(path, sizeof path, "%s/expected.json", dir);
    char *text = read_text(path);
    gpt_model_t *m = text ? gpt_load(dir, err, sizeof err) : NULL;
    if (!m) {
        printf("1..0 # SKIP reference model not available (%s)\n", text ? err : path);
        free(text);
        return 0;
    }
    cJSON *exp = cJSON_Parse(text);
    free(text);
    const cJSON *greedy = cJSON_GetObjectItem(exp, "greedy");
    int prompt[64], want[64];
    int n_prompt = json_ids(cJSON_GetObjectItem(greedy, "prompt_ids"), prompt, 64);
    int n_want = json_ids(cJSON_GetObjectItem(greedy, "ids"), want, 64);
    const int V = m->cfg.n_vocab, n_ctx = m->cfg.n_ctx;

    sampler_params_t sp = sampler_params_default();
    sp.temperature = 0;
    sampler_t *smp = sampler_init(&sp, V, err, sizeof err);
    gen_params_t gp = gen_params_default();
    gp.eos_id = m->cfg.eos_id;
    gp.stop_at_eos = 0;
    gp.max_batch = 7; /* prefill in several calls */
    gen_t *g = gen_init(m, &gp, err, sizeof err);
    tap_ok(&t, g && smp, "gen_init (%s)", g ? "" : err);
    if (!g || !smp) return tap_done(&t);

    /* 1. greedy continuation equals PyTorch's */
    gen_step_t st;
    sampler_report_t rep;
    int got[64], rc = gen_prefill(g, prompt, n_prompt, NULL, err, sizeof err);
    for (int i = 0; i < n_want && rc == 0; i++) {
        rc = gen_step(g, smp, &rep, &st, err, sizeof err);
        got[i] = st.id;
    }
    tap_ok(&t, rc == 0 && n_want == 20 && memcmp(got, want, sizeof(int) * 20) == 0,
           "greedy ids match the reference (%s)", rc ? err : "");
    int n_hist;
    const int *hist = gen_history(g, &n_hist);
    tap_ok(&t, n_hist == n_prompt + n_want && memcmp(hist, prompt, sizeof(int) * n_prompt) == 0 &&
                   gen_n_generated(g) == n_want,
           "history holds prompt and generated ids");

    /* 2. overflow: run to 3 * n_ctx tokens; every slide keeps n_ctx/2 */
    int slides = 0, ok_slide = 1;
    float *fresh_logits = malloc((size_t)V * sizeof(float));
    for (int i = 0; i < 3 * n_ctx && rc == 0; i++) {
        int before = gen_window_start(g);
        rc = gen_step(g, smp, NULL, &st, err, sizeof err);
        if (rc == 0 && st.n_dropped) {
            slides++;
            int n;
            const int *h = gen_history(g, &n);
            ok_slide &= gen_window_start(g) == n - n_ctx / 2 &&
                        st.n_dropped == gen_window_start(g) - before;
            if (slides == 1) {
                /* the logits after the slide are those of a fresh session
                 * prefilled with the kept window */
                gen_t *g2 = gen_init(m, &gp, err, sizeof err);
                int kept = n - gen_window_start(g);
                int rc2 = g2 ? gen_prefill(g2, h + gen_window_start(g), kept, NULL, err, sizeof err)
                             : -1;
                if (rc2 == 0) memcpy(fresh_logits, gen_logits(g2), (size_t)V * sizeof(float));
                float d = rc2 == 0 ? tap_max_abs_diff(fresh_logits, gen_logits(g), V) : INFINITY;
                tap_ok(&t, d <= 1e-5f, "logits after a slide equal a fresh run (max diff %g)",
                       (double)d);
                gen_free(g2);
            }
        }
    }
    tap_ok(&t, rc == 0 && slides >= 3 && ok_slide,
           "window slides by n_ctx/2 on overflow (%d slides) %s", slides, rc ? err : "");

    /* 3. a prompt longer than the window keeps its last n_ctx - 1 tokens */
    int long_prompt[200], n_trunc = -1;
    for (int i = 0; i < 200; i++) long_prompt[i] = (i * 7) % V;
    rc = gen_prefill(g, long_prompt, 200, &n_trunc, err, sizeof err);
    gen_history(g, &n_hist);
    tap_ok(&t, rc == 0 && n_trunc == 200 - (n_ctx - 1) && n_hist == 200 &&
                   gen_window_start(g) == n_trunc && gen_n_generated(g) == 0,
           "long prompt truncated to n_ctx - 1 (dropped %d)", n_trunc);
    rc = gen_step(g, smp, NULL, &st, err, sizeof err);
    if (rc == 0) rc = gen_step(g, smp, NULL, &st, err, sizeof err);
    tap_ok(&t, rc == 0 && st.n_dropped > 0, "the first steps after it slide, not fail");

    /* 4. stops: max_new, eos, and continuing after a stop */
    gen_free(g);
    gp.max_new = 3;
    gp.stop_at_eos = 1;
    gp.eos_id = 5;
    gp.capture_attn = 1;
    g = gen_init(m, &gp, err, sizeof err);
    rc = g ? gen_prefill(g, prompt, n_prompt, NULL, err, sizeof err) : -1;
    gen_step_t s1, s2;
    rc = rc ? rc : gen_accept(g, 7, &s1, err, sizeof err);
    rc = rc ? rc : gen_accept(g, 5, &s2, err, sizeof err);
    tap_ok(&t, rc == 0 && s1.stop == GEN_STOP_NONE && s2.stop == GEN_STOP_EOS && gen_pending(g),
           "choosing eos stops and leaves the token pending");
    rc = gen_sync(g, err, sizeof err);
    tap_ok(&t, rc == 0 && !gen_pending(g), "gen_sync runs the pending token");
    rc = gen_accept(g, 9, &s1, err, sizeof err);
    tap_ok(&t, rc == 0 && s1.stop == GEN_STOP_MAX, "max_new stops");

    /* 5. attention capture: rows are distributions over keys 0..pos */
    rc = gen_sync(g, err, sizeof err);
    gen_history(g, &n_hist);
    int pos = -1, hidx = -1;
    const float *attn = rc == 0 ? gen_attn(g, &pos, &hidx) : NULL;
    int good = attn && pos == n_prompt + 2 && hidx == n_prompt + 2;
    for (int l = 0; good && l < m->cfg.n_layer; l++) {
        for (int h = 0; h < m->cfg.n_head; h++) {
            const float *row = attn + ((size_t)l * m->cfg.n_head + h) * n_ctx;
            double sum = 0;
            for (int k = 0; k <= pos; k++) sum += row[k];
            for (int k = pos + 1; k < n_ctx; k++) good &= row[k] == 0;
            good &= fabs(sum - 1) < 1e-4;
        }
    }
    tap_ok(&t, good, "attention of the newest position (pos %d)", pos);

    /* 6. bad input */
    int bad_ids[2] = {1, V};
    tap_ok(&t, gen_prefill(g, bad_ids, 0, NULL, err, sizeof err) == -1 && strstr(err, "empty"),
           "empty prompt refused: %s", err);
    tap_ok(&t, gen_prefill(g, bad_ids, 2, NULL, err, sizeof err) == -1 &&
                   strstr(err, "outside the vocabulary"),
           "id outside the vocabulary refused: %s", err);
    int n_before = n_hist;
    gen_history(g, &n_hist);
    tap_ok(&t, n_hist == n_before && gen_step(g, smp, NULL, &st, err, sizeof err) == 0,
           "a refused prefill leaves the session as it was");
    gen_t *fresh = gen_init(m, &gp, err, sizeof err);
    tap_ok(&t, fresh && gen_step(fresh, smp, NULL, &st, err, sizeof err) == -1,
           "no step before a prompt: %s", err);
    gen_free(fresh);
    tap_ok(&t, gen_accept(g, -1, &st, err, sizeof err) == -1, "negative id refused");
    gen_free(NULL);

    free(fresh_logits);
    gen_free(g);
    sampler_free(smp);
    gpt_free(m);
    cJSON_Delete(exp);
    return tap_done(&t);
}
