/* test_task_infer.c - a classifier's probabilities on the inference path
 * (core/task/task_infer.c, what the terminal UI shows while the user types)
 * against finetune_predict on the training path, for a task model built
 * from the small reference GPT-2 and saved as finetune saves one (its head
 * made large enough that the classes differ); and task_info_load's checks of
 * config.json's "gptscope_task". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "finetune.h"
#include "rng.h"
#include "tap.h"
#include "task_infer.h"
#include "task_info.h"

int main(void) {
    tap_t t = {0};
    char err[512] = "", ref[1024], path[1200], dir[] = "/tmp/gptscope-infer-XXXXXX";
    const char *src = getenv("GPTSCOPE_SRC");
    snprintf(ref, sizeof ref, "%s/tests/reference/models/gpt2-f32", src ? src : ".");
    if (!mkdtemp(dir)) return 1;
    char vin[1300], vout[1300], min[1300], mout[1300];
    snprintf(vin, sizeof vin, "%s/vocab.json", ref);
    snprintf(vout, sizeof vout, "%s/vocab.json", dir);
    snprintf(min, sizeof min, "%s/merges.txt", ref);
    snprintf(mout, sizeof mout, "%s/merges.txt", dir);
    task_tokens_t sp;
    gpt_model_t *g0 = gpt_load(ref, err, sizeof err);
    train_model_t *base = g0 ? train_model_from_gpt(g0, err, sizeof err) : NULL;
    train_model_t *tm = base ? train_model_for_task(base, 3, 2, 5, err, sizeof err) : NULL;
    int ok = tm && task_vocab_extend(vin, vout, &sp, err, sizeof err) == 0 &&
             fileio_copy_atomic(min, mout, err, sizeof err) == 0;
    if (ok) {
        rng_t r;
        rng_seed(&r, 9);
        for (int i = 0; i < 2 * tm->cfg.n_embd; i++) tm->clf_w[i] = 0.05f * rng_normal(&r);
        tm->clf_b[0] = 0.3f;
        char js[256];
        snprintf(js, sizeof js,
                 "{\"task\":\"classify\",\"labels\":[\"neg\",\"pos\"],\"start_id\":%d,\"delim_id\":%d,"
                 "\"extract_id\":%d,\"max_len\":24}",
                 sp.start_id, sp.delim_id, sp.extract_id);
        tm->task_json = strdup(js);
        ok = train_model_save(tm, dir, KERNEL_F32, err, sizeof err) == 0;
    }
    if (!tap_ok(&t, ok, "a task model saved as finetune saves one %s", err)) return tap_done(&t);

    gpt_model_t *g = gpt_load(dir, err, sizeof err);
    tokenizer_t *tok = tokenizer_load_files(vout, mout, TOKENIZER_GPT2, err, sizeof err);
    task_info_t info;
    snprintf(path, sizeof path, "%s/config.json", dir);
    ok = g && tok && task_info_load(&info, path, &g->cfg, err, sizeof err) == 0;
    tap_ok(&t, ok && info.kind == TASK_CLASSIFY && info.n_labels == 2 && !strcmp(info.labels[1], "pos") &&
                   info.sp.extract_id == sp.extract_id && info.max_len == 24,
           "task_info_load: classify, labels neg/pos, the special ids, max_len 24 %s", err);
    if (!ok) return tap_done(&t);

    task_infer_t ti;
    ok = task_infer_init(&ti, g, tok, &info, 2, err, sizeof err) == 0;
    tap_ok(&t, ok, "task_infer_init %s", err);
    const char *texts[] = {"the cat sat on the mat", "a", "hello there, how are you doing today? "
                                                             "a long line that will be cut to max_len"};
    const int n = 3;
    float inf[6], trp[6];
    int best[3];
    for (int i = 0; ok && i < n; i++)
        ok = (best[i] = task_infer_text(&ti, texts[i], strlen(texts[i]), inf + 2 * i, err, sizeof err)) >= 0;
    tap_ok(&t, ok, "three texts classified %s", err);

    /* the training path on the same weights */
    task_data_t d = {0};
    char *f[3][1] = {{(char *)texts[0]}, {(char *)texts[1]}, {(char *)texts[2]}};
    task_example_t ex[3] = {{1, f[0], 0, 1}, {1, f[1], 0, 2}, {1, f[2], 0, 3}};
    d.kind = TASK_CLASSIFY;
    d.ex = ex;
    d.n = n;
    finetune_set_t s = {0};
    train_model_t *tr = train_model_from_gpt(g, err, sizeof err);
    int pred[3];
    ok = ok && tr && finetune_set_encode(&s, tok, &info.sp, &d, info.max_len, err, sizeof err) == 0 &&
         finetune_predict(tr, &s, TASK_CLASSIFY, 2, 8, 2, 0, trp, pred, err, sizeof err) == 0;
    double worst = 0, spread = 0;
    for (int i = 0; ok && i < 2 * n; i++) worst = fmax(worst, fabs((double)inf[i] - trp[i]));
    for (int i = 0; ok && i < n; i++) {
        spread = fmax(spread, fabs((double)inf[2 * i] - 0.5));
        ok &= pred[i] == best[i];
    }
    tap_ok(&t, ok && worst < 1e-4 && spread > 0.05 && s.n_truncated == 1,
           "inference path = finetune_predict: max |diff| %.2e over 3 texts (one cut to max_len), "
           "class probabilities up to %.2f from 1/2",
           worst, spread);
    finetune_set_free(&s);
    train_model_free(tr);
    task_infer_free(&ti);

    /* task_info_load's refusals */
    task_info_t bad;
    tap_ok(&t, task_info_load(&bad, path, &g0->cfg, err, sizeof err) == -1 && strstr(err, "no task head"),
           "a model without a head: %s", err);
    FILE *fp = fopen(path, "w");
    if (fp) {
        fputs("{\"gptscope_task\": {\"task\": \"classify\", \"labels\": [\"a\"]}}", fp);
        fclose(fp);
    }
    tap_ok(&t, task_info_load(&bad, path, &g->cfg, err, sizeof err) == -1 && strstr(err, "incomplete") &&
                   strstr(err, path),
           "an incomplete \"gptscope_task\" names the file: %s", err);

    task_info_free(&info);
    tokenizer_free(tok);
    gpt_free(g);
    gpt_free(g0);
    train_model_free(tm);
    train_model_free(base);
    const char *files[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return tap_done(&t);
}
