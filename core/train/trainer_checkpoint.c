/* trainer_checkpoint.c - a training run on disk (trainer.h): trainer_save
 * writes the model in the Hugging Face layout plus the optimiser state and
 * the options; trainer_read_state and trainer_resume read them back, so a
 * resumed run repeats the uninterrupted one bit for bit; the best weights
 * by validation are kept beside them. */
#include "trainer.h"
#include "trainer_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "jsonx.h"
#include "safetensors.h"
#include "trainer_opts.h"

/* ---- checkpoints ---------------------------------------------------------- */

static cJSON *tr_opts_json(const trainer_opts_t *o) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "family", o->gpt1 ? "gpt1" : "gpt2");
    cJSON_AddNumberToObject(j, "layers", o->n_layer);
    cJSON_AddNumberToObject(j, "heads", o->n_head);
    cJSON_AddNumberToObject(j, "embd", o->n_embd);
    cJSON_AddNumberToObject(j, "ctx", o->n_ctx);
    cJSON_AddNumberToObject(j, "vocab_size", o->vocab_size);
    cJSON_AddNumberToObject(j, "batch", o->batch);
    cJSON_AddNumberToObject(j, "accum", o->accum);
    cJSON_AddNumberToObject(j, "seq", o->seq);
    cJSON_AddNumberToObject(j, "steps", (double)o->steps);
    cJSON_AddNumberToObject(j, "warmup", (double)o->warmup);
    cJSON_AddNumberToObject(j, "lr", o->lr);
    cJSON_AddNumberToObject(j, "min_lr", o->min_lr);
    cJSON_AddNumberToObject(j, "wd", o->weight_decay);
    cJSON_AddNumberToObject(j, "beta1", o->beta1);
    cJSON_AddNumberToObject(j, "beta2", o->beta2);
    cJSON_AddNumberToObject(j, "eps", o->eps);
    cJSON_AddNumberToObject(j, "grad_clip", o->grad_clip);
    cJSON_AddNumberToObject(j, "dropout", o->dropout);
    cJSON_AddNumberToObject(j, "bpe_dropout", o->bpe_dropout);
    cJSON_AddNumberToObject(j, "ema", o->ema);
    cJSON_AddNumberToObject(j, "muon_lr", o->muon_lr);
    cJSON_AddNumberToObject(j, "muon_wd", o->muon_wd);
    cJSON_AddNumberToObject(j, "muon_momentum", o->muon_momentum);
    cJSON_AddNumberToObject(j, "muon_ns", o->muon_ns);
    cJSON_AddBoolToObject(j, "decay_embeddings", o->decay_embeddings);
    cJSON_AddBoolToObject(j, "scaled_residual", o->scaled_residual);
    cJSON_AddBoolToObject(j, "bf16", o->bf16);
    char seed[32];
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)o->seed);
    cJSON_AddStringToObject(j, "seed", seed); /* a string: 64 bits do not fit a double */
    cJSON_AddNumberToObject(j, "eval_every", (double)o->eval_every);
    cJSON_AddNumberToObject(j, "keep_best", (double)o->keep_best);
    cJSON_AddNumberToObject(j, "eval_tokens", (double)o->eval_tokens);
    cJSON_AddNumberToObject(j, "save_every", (double)o->save_every);
    cJSON_AddNumberToObject(j, "threads", o->threads);
    cJSON_AddStringToObject(j, "save_dtype",
                            o->save_dtype == KERNEL_F16    ? "f16"
                            : o->save_dtype == KERNEL_BF16 ? "bf16"
                                                           : "f32");
    return j;
}


/* Options from train_state.json, each checked as its flag would be
 * (trainer_opts.h). Returns 0 or -1 with err naming the file and key. */
static int tr_opts_from_json(trainer_opts_t *o, const cJSON *j, const char *path, char *err,
                             size_t errlen) {
    trainer_opts_default(o);
    const cJSON *fam = cJSON_GetObjectItemCaseSensitive(j, "family");
    if (fam && !(cJSON_IsString(fam) && (strcmp(fam->valuestring, "gpt1") == 0 ||
                                         strcmp(fam->valuestring, "gpt2") == 0))) {
        snprintf(err, errlen, "%s: \"family\" must be \"gpt2\" or \"gpt1\"", path);
        return -1;
    }
    o->gpt1 = fam && strcmp(fam->valuestring, "gpt1") == 0;
    if (trainer_opts_read_json(o, j, path, err, errlen) != 0) return -1;
    const char *bools[3] = {"decay_embeddings", "scaled_residual", "bf16"};
    int *bool_at[3] = {&o->decay_embeddings, &o->scaled_residual, &o->bf16};
    for (int i = 0; i < 3; i++) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, bools[i]);
        if (!b) continue;
        if (!cJSON_IsBool(b)) {
            snprintf(err, errlen, "%s: \"%s\" must be true or false", path, bools[i]);
            return -1;
        }
        *bool_at[i] = cJSON_IsTrue(b);
    }
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(j, "seed");
    if (seed) {
        char *end = NULL;
        errno = 0;
        unsigned long long v =
            cJSON_IsString(seed) ? strtoull(seed->valuestring, &end, 10) : 0;
        if (!cJSON_IsString(seed) || !seed->valuestring[0] || *end || errno ||
            seed->valuestring[0] == '-') {
            snprintf(err, errlen, "%s: \"seed\" must be a string of decimal digits", path);
            return -1;
        }
        o->seed = v;
    }
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "save_dtype");
    if (dt) {
        const char *v = cJSON_IsString(dt) ? dt->valuestring : "";
        if (strcmp(v, "f32") == 0) o->save_dtype = KERNEL_F32;
        else if (strcmp(v, "f16") == 0) o->save_dtype = KERNEL_F16;
        else if (strcmp(v, "bf16") == 0) o->save_dtype = KERNEL_BF16;
        else {
            snprintf(err, errlen, "%s: \"save_dtype\" must be \"f32\", \"f16\" or \"bf16\"",
                     path);
            return -1;
        }
    }
    return 0;
}

/* The f32 state optimizer.safetensors keeps for one tensor, as "PREFIX.NAME":
 * the master weights, AdamW's moments, the weight average (with --ema) and
 * Muon's momentum (with --muon, block matrices only); NULL where a kind is
 * not kept. A tensor Muon steps has no AdamW moments (AdamW skips it, so
 * they would be zeros: about 2 x 58 MB at the bundled model's shape); files
 * from before this rule still carry them and resume, as they are ignored.
 * Saving and resuming both walk this one list. */
enum { TR_KINDS = 5 };
static const char *const tr_kind_prefix[TR_KINDS] = {"param.", "m.", "v.", "ema.", "mu."};

static void tr_state_slots(trainer_t *t, const train_tensor_t *tt, float *slot[TR_KINDS]) {
    size_t off = (size_t)(tt->data - t->m->params);
    int by_muon = t->muon.buf && train_muon_applies(tt);
    slot[0] = tt->data;
    slot[1] = by_muon ? NULL : t->opt.m + off;
    slot[2] = by_muon ? NULL : t->opt.v + off;
    slot[3] = t->ema.avg ? t->ema.avg + off : NULL;
    slot[4] = by_muon ? t->muon.buf + off : NULL;
}

int trainer_save(trainer_t *t, char *err, size_t errlen) {
    char path[4200];
    train_model_t *m = t->m;
    /* 1. optimizer.safetensors: the exact state (master weights, moments, step) */
    st_writer_t *w = st_writer_init();
    char (*names)[80] = calloc((size_t)m->n_tensors * TR_KINDS, sizeof(*names));
    int rc = w && names ? 0 : -1;
    int64_t step_val = t->step, one = 1;
    for (int i = 0; i < m->n_tensors && rc == 0; i++) {
        const train_tensor_t *tt = &m->tensors[i];
        float *slot[TR_KINDS];
        tr_state_slots(t, tt, slot);
        for (int k = 0; k < TR_KINDS && rc == 0; k++) {
            if (!slot[k]) continue;
            char *nm = names[i * TR_KINDS + k];
            snprintf(nm, 80, "%s%s", tr_kind_prefix[k], tt->name);
            rc = st_writer_add(w, nm, ST_F32, tt->n_dims, tt->shape, slot[k]);
        }
    }
    if (rc == 0) rc = st_writer_add(w, "step", ST_I64, 1, &one, &step_val);
    snprintf(path, sizeof(path), "%s/optimizer.safetensors", t->out_dir);
    if (rc == 0) rc = st_writer_write(w, path, err, errlen);
    else snprintf(err, errlen, "%s: out of memory", path);
    st_writer_free(w);
    free(names);
    if (rc != 0) return -1;
    /* 2. the model in the Hugging Face layout (the average, when kept) */
    train_ema_swap(&t->ema, m);
    rc = train_model_save(m, t->out_dir, t->o.save_dtype, err, errlen);
    train_ema_swap(&t->ema, m);
    if (rc != 0) return -1;
    /* 3. train_state.json */
    cJSON *st = cJSON_CreateObject();
    cJSON *oj = tr_opts_json(&t->o);
    cJSON *dj = cJSON_Parse(t->data_desc);
    if (!st || !oj) {
        cJSON_Delete(st);
        cJSON_Delete(oj);
        cJSON_Delete(dj);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cJSON_AddNumberToObject(st, "version", 1);
    cJSON_AddNumberToObject(st, "step", (double)t->step);
    if (isfinite(t->best_val)) cJSON_AddNumberToObject(st, "best_val_loss", t->best_val);
    char key[32];
    snprintf(key, sizeof(key), "%016llx", (unsigned long long)t->data->key);
    cJSON_AddStringToObject(st, "data_key", key);
    cJSON_AddItemToObject(st, "options", oj);
    cJSON_AddItemToObject(st, "data", dj ? dj : cJSON_CreateObject());
    char *text = cJSON_Print(st);
    cJSON_Delete(st);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(path, sizeof(path), "%s/train_state.json", t->out_dir);
    size_t tlen = strlen(text);
    text[tlen] = '\n'; /* cJSON_Print's buffer has room for the NUL: reuse it */
    rc = fileio_write_atomic(path, text, tlen + 1, err, errlen);
    free(text);
    return rc;
}

/* OUT/best/: the model (not the optimiser: it is for use, not for resuming) at the step
   with the lowest validation loss so far, with the tokenizer and best.json saying which. */
int tr_save_best(trainer_t *t, double val_bpb, char *err, size_t errlen) {
    char dir[4200], src[4300], dst[4300];
    snprintf(dir, sizeof(dir), "%s/best", t->out_dir);
    train_ema_swap(&t->ema, t->m);
    int rc = train_model_save(t->m, dir, t->o.save_dtype, err, errlen);
    train_ema_swap(&t->ema, t->m);
    if (rc != 0) return -1;
    const char *files[2] = {"vocab.json", "merges.txt"};
    for (int i = 0; i < 2; i++) {
        snprintf(src, sizeof(src), "%s/%s", t->out_dir, files[i]);
        snprintf(dst, sizeof(dst), "%s/%s", dir, files[i]);
        if (fileio_copy_atomic(src, dst, err, errlen) != 0) return -1;
    }
    char text[256];
    int n = snprintf(text, sizeof(text),
                     "{\n  \"step\": %lld,\n  \"val_loss\": %.6f,\n  \"val_bpb\": %.6f\n}\n",
                     (long long)t->step, t->best_val, val_bpb);
    snprintf(dst, sizeof(dst), "%s/best.json", dir);
    return fileio_write_atomic(dst, text, (size_t)n, err, errlen);
}

int trainer_read_state(const char *dir, trainer_opts_t *opts, char **data_desc, int64_t *step,
                       uint64_t *data_key, double *best_val, char *err, size_t errlen) {
    char path[4200];
    snprintf(path, sizeof(path), "%s/train_state.json", dir);
    char *buf = NULL;
    size_t n = 0;
    if (fileio_read_regular(path, 1 << 20, &buf, &n, err, errlen) != 0) {
        if (strstr(err, strerror(ENOENT)))
            snprintf(err, errlen, "%s: %s (not a checkpoint made by gptscope train?)", path,
                     strerror(ENOENT));
        return -1;
    }
    cJSON *j = jsonx_parse(buf, n, path, err, errlen);
    free(buf);
    if (!j) return -1;
    const cJSON *oj = cJSON_GetObjectItemCaseSensitive(j, "options");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "version");
    if (!cJSON_IsObject(j) || !cJSON_IsObject(oj) || !cJSON_IsNumber(ver) ||
        ver->valuedouble != 1) {
        snprintf(err, errlen, "%s: not a valid train_state.json (version 1 with \"options\")",
                 path);
        cJSON_Delete(j);
        return -1;
    }
    if (tr_opts_from_json(opts, oj, path, err, errlen) != 0) {
        cJSON_Delete(j);
        return -1;
    }
    int64_t st_step = 0;
    const cJSON *sj = cJSON_GetObjectItemCaseSensitive(j, "step");
    if (jsonx_int(sj, 0, opts->steps, &st_step) != JSONX_OK) {
        snprintf(err, errlen, "%s: \"step\" must be an integer from 0 to the run's %lld steps",
                 path, (long long)opts->steps);
        cJSON_Delete(j);
        return -1;
    }
    *step = st_step;
    if (best_val) {
        const cJSON *bv = cJSON_GetObjectItemCaseSensitive(j, "best_val_loss");
        *best_val = INFINITY;
        if (bv) {
            if (!cJSON_IsNumber(bv) || !isfinite(bv->valuedouble) || bv->valuedouble < 0) {
                snprintf(err, errlen, "%s: \"best_val_loss\" must be a non-negative number",
                         path);
                cJSON_Delete(j);
                return -1;
            }
            *best_val = bv->valuedouble;
        }
    }
    if (data_key) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "data_key");
        *data_key = cJSON_IsString(k) ? strtoull(k->valuestring, NULL, 16) : 0;
    }
    const cJSON *dj = cJSON_GetObjectItemCaseSensitive(j, "data");
    *data_desc = dj ? cJSON_PrintUnformatted(dj) : strdup("{}");
    cJSON_Delete(j);
    return *data_desc ? 0 : -1;
}

trainer_t *trainer_resume(const char *dir, int64_t steps_override, int threads_override,
                          const dataset_t *data, tokenizer_t *tok, char *err, size_t errlen) {
    trainer_t *t = calloc(1, sizeof(*t));
    st_file_t *st = NULL;
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->data = data;
    t->tok = tok;
    t->best_val = INFINITY;
    snprintf(t->out_dir, sizeof(t->out_dir), "%s", dir);
    int64_t step = 0;
    if (trainer_read_state(dir, &t->o, &t->data_desc, &step, NULL, &t->best_val, err, errlen) != 0)
        goto fail;
    if (steps_override > 0) t->o.steps = steps_override;
    if (threads_override > 0) t->o.threads = threads_override;
    if (step > t->o.steps) {
        snprintf(err, errlen, "%s is at step %lld, past the %lld steps asked for", dir,
                 (long long)step, (long long)t->o.steps);
        goto fail;
    }
    char path[4200];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    gpt_config_t cfg;
    if (gpt_config_load(&cfg, path, err, errlen) != 0) goto fail;
    if (!(t->m = train_model_init(&cfg, err, errlen))) goto fail;
    if (tr_setup(t, err, errlen) != 0) goto fail;
    snprintf(path, sizeof(path), "%s/optimizer.safetensors", dir);
    if (!(st = st_open(path, err, errlen))) goto fail;
    for (int i = 0; i < t->m->n_tensors; i++) {
        const train_tensor_t *tt = &t->m->tensors[i];
        float *slot[TR_KINDS];
        tr_state_slots(t, tt, slot);
        for (int k = 0; k < TR_KINDS; k++) {
            if (!slot[k]) continue;
            char nm[96];
            snprintf(nm, sizeof(nm), "%s%s", tr_kind_prefix[k], tt->name);
            const st_tensor_t *s = st_find(st, nm);
            if (!s) {
                snprintf(err, errlen, "%s: missing tensor %s", path, nm);
                goto fail;
            }
            /* the exact shape: a transposed [b, a] has the right size but
             * would train every weight against the wrong moments */
            int same = s->dtype == ST_F32 && s->n_dims == tt->n_dims;
            for (int d = 0; same && d < tt->n_dims; d++) same = s->shape[d] == tt->shape[d];
            if (!same) {
                snprintf(err, errlen, "%s: tensor %s is %s of %lld elements in %d dimensions, "
                         "expected F32 of the model's shape", path, nm, st_dtype_name(s->dtype),
                         (long long)st_numel(s), s->n_dims);
                goto fail;
            }
            memcpy(slot[k], s->data, tt->numel * sizeof(float));
            /* finite everywhere, and AdamW's second moment never negative
             * (its square root is taken) */
            for (size_t e = 0; e < tt->numel; e++) {
                float x = slot[k][e];
                if (!isfinite(x) || (k == 2 && x < 0)) {
                    snprintf(err, errlen, "%s: tensor %s has %s value %g at element %zu", path,
                             nm, isfinite(x) ? "a negative" : "a non-finite", (double)x, e);
                    goto fail;
                }
            }
        }
    }
    const st_tensor_t *ss = st_find(st, "step");
    if (!ss || ss->dtype != ST_I64 || st_numel(ss) != 1) {
        snprintf(err, errlen, "%s: no step counter", path);
        goto fail;
    }
    memcpy(&t->step, ss->data, sizeof(int64_t));
    if (t->step < 0 || t->step > t->o.steps) {
        snprintf(err, errlen, "%s: step counter %lld is outside 0..%lld", path,
                 (long long)t->step, (long long)t->o.steps);
        goto fail;
    }
    t->opt.step = t->step;
    (void)step; /* the optimizer file is the authority: it is written first */
    st_close(st);
    return t;
fail:
    st_close(st);
    trainer_free(t);
    return NULL;
}

