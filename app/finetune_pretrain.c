/* finetune_pretrain.c - the unsupervised stage of `gptscope finetune`
 * (finetune_pretrain.h). */
#include "finetune_pretrain.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "score.h"
#include "trainer.h"

int ft_task_text(const task_data_t *d, char **text, size_t *len) {
    size_t n = 0;
    for (int i = 0; i < d->n; i++)
        for (int f = 0; f < d->ex[i].n_fields; f++) n += strlen(d->ex[i].fields[f]) + 2;
    char *t = malloc(n + 1), *p = t;
    if (!t) return -1;
    for (int i = 0; i < d->n; i++) {
        for (int f = 0; f < d->ex[i].n_fields; f++) {
            size_t k = strlen(d->ex[i].fields[f]);
            memcpy(p, d->ex[i].fields[f], k);
            p += k;
            *p++ = '\n';
        }
        *p++ = '\n'; /* a blank line between examples */
    }
    *p = '\0';
    *text = t;
    *len = (size_t)(p - t);
    return 0;
}

int ft_text_bpb(const cli_model_t *cm, const char *text, size_t len, int max_tokens, int n_threads,
                double *bpb, char *err, size_t errlen) {
    size_t n = 0, cap = 0;
    int *ids = NULL, rc = -1;
    /* about 4 bytes a token at most: encode only what the sample needs */
    size_t take = (size_t)max_tokens * 8;
    if (take > len) take = len;
    while (take < len && (((unsigned char)text[take]) & 0xC0) == 0x80) take++; /* whole chars */
    if (tokenizer_encode(cm->tok, text, take, &ids, &n, &cap, err, errlen) != 0) goto done;
    if (n > (size_t)max_tokens) n = (size_t)max_tokens;
    if (n < 2) {
        snprintf(err, errlen, "too little text to measure");
        goto done;
    }
    double nats = 0;
    long n_pred = 0;
    if (score_nats(cm->model, ids, (int)n, n_threads, &nats, &n_pred, err, errlen) != 0) goto done;
    double bytes = score_predicted_bytes(cm->tok, ids, n);
    *bpb = bytes > 0 ? nats / log(2.0) / bytes : NAN;
    rc = 0;
done:
    free(ids);
    return rc;
}

int64_t ft_pretrain_auto_steps(size_t n_bytes, int n_ctx) {
    const int T = n_ctx < 256 ? n_ctx : 256;
    int64_t tokens = (int64_t)((double)n_bytes / 2.3);
    int64_t steps = tokens / (8 * (int64_t)T);
    return steps < 20 ? 20 : steps > 600 ? 600 : steps;
}

int ft_pretrain_started(const char *out_dir) {
    char state[4200];
    struct stat st;
    snprintf(state, sizeof state, "%s/pretrain/train_state.json", out_dir);
    return stat(state, &st) == 0 && S_ISREG(st.st_mode);
}

int ft_pretrain_run(const char *init_dir, const char *text, size_t len, const char *out_dir,
                    const ft_pretrain_t *p, char *model_dir, size_t model_dir_len) {
    char err[1024], text_path[4200];
    snprintf(model_dir, model_dir_len, "%s/pretrain", out_dir);
    snprintf(text_path, sizeof text_path, "%s/pretrain-text.txt", out_dir);
    if (ft_pretrain_started(out_dir)) {
        /* an earlier run of this command: finished, or to be resumed */
        trainer_opts_t so;
        char *desc = NULL;
        int64_t step = 0;
        if (trainer_read_state(model_dir, &so, &desc, &step, NULL, NULL, err, sizeof err) != 0) {
            cli_error("%s (remove %s to start the pre-training stage again)", err, model_dir);
            return CLI_EXIT_ERROR;
        }
        free(desc);
        if (step >= so.steps) {
            fprintf(stderr, "finetune: reusing the finished pre-training stage in %s (%lld steps)\n",
                    model_dir, (long long)step);
            return CLI_EXIT_OK;
        }
        fprintf(stderr, "finetune: resuming the pre-training stage in %s at step %lld of %lld: "
                        "gptscope train --resume %s\n",
                model_dir, (long long)step, (long long)so.steps, model_dir);
        char *argv[] = {"train", "--resume", model_dir, NULL};
        return cmd_train(3, argv);
    }
    if (fileio_write_atomic(text_path, text, len, err, sizeof err) != 0) {
        cli_error("%s", err);
        return CLI_EXIT_ERROR;
    }
    char steps[32], lr[32], warm[32], evals[32], seed[32], threads[32];
    snprintf(steps, sizeof steps, "%lld", (long long)p->steps);
    snprintf(lr, sizeof lr, "%g", (double)p->lr);
    snprintf(warm, sizeof warm, "%lld", (long long)(p->steps / 20 > 1 ? p->steps / 20 : 1));
    snprintf(evals, sizeof evals, "%lld", (long long)(p->steps / 2 > 1 ? p->steps / 2 : 1));
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)p->seed);
    snprintf(threads, sizeof threads, "%d", p->threads);
    char *argv[] = {"train",        "--init",        (char *)init_dir, "--data",   text_path,
                    "-o",           model_dir,       "--steps",        steps,      "--lr",
                    lr,             "--warmup",      warm,             "--val-frac", "0.05",
                    "--eval-every", evals,           "--eval-tokens",  "65536",    "--save-every",
                    "100",          "--seed",        seed,             "--threads", threads,
                    p->bf16 ? "--bf16" : NULL,       NULL};
    int argc = 0;
    while (argv[argc]) argc++;
    fprintf(stderr, "finetune: continuing unsupervised pre-training on the training text first, "
                    "as GPT-1 would:\n  gptscope");
    for (int i = 0; i < argc; i++) fprintf(stderr, " %s", argv[i]);
    fputc('\n', stderr);
    return cmd_train(argc, argv);
}
