/* train_model.c - the trainable model: every parameter in one f32 block (and
 * its gradient in a second), named and shaped as in a Hugging Face
 * checkpoint, so that initialising, loading, saving and the optimiser all
 * walk one table of tensors.
 *
 * Each tensor starts on a 64-byte boundary (16 floats) so the AVX-512 loops
 * and BLAS see aligned rows; the padding is zero and stays zero (its gradient
 * is never written, so AdamW moves it by 0). */
#include "train.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "memx.h"
#include "rng.h"
#include "safetensors.h"

#define TM_ALIGN 16 /* floats */

static size_t tm_round(size_t n) { return (n + TM_ALIGN - 1) / TM_ALIGN * TM_ALIGN; }

/* Adds one tensor to the table; pass 1 plans offsets (data == NULL). */
static void tm_add(train_model_t *m, size_t *off, const char *name, int64_t d0, int64_t d1,
                   int is_matrix, int is_embedding) {
    train_tensor_t *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->n_dims = d1 < 0 ? 1 : 2;
    t->shape[0] = d0;
    t->shape[1] = d1 < 0 ? 1 : d1;
    t->numel = (size_t)d0 * (size_t)(d1 < 0 ? 1 : d1);
    t->is_matrix = is_matrix;
    t->is_embedding = is_embedding;
    t->data = m->params ? m->params + *off : NULL;
    t->grad = m->grads ? m->grads + *off : NULL;
    *off += tm_round(t->numel);
}

/* Builds the tensor table in checkpoint order; returns the floats needed. */
static size_t tm_layout(train_model_t *m) {
    const gpt_config_t *c = &m->cfg;
    int64_t C = c->n_embd, F = c->n_inner;
    int gpt1 = !c->pre_norm;
    size_t off = 0;
    m->n_tensors = 0;
    tm_add(m, &off, gpt1 ? "tokens_embed.weight" : "wte.weight", c->n_vocab, C, 0, 1);
    tm_add(m, &off, gpt1 ? "positions_embed.weight" : "wpe.weight", c->n_ctx, C, 0, 1);
    char n[64];
    for (int l = 0; l < c->n_layer; l++) {
#define TM_NAME(s) (snprintf(n, sizeof(n), "h.%d.%s", l, s), n)
        tm_add(m, &off, TM_NAME("ln_1.weight"), C, -1, 0, 0);
        tm_add(m, &off, TM_NAME("ln_1.bias"), C, -1, 0, 0);
        tm_add(m, &off, TM_NAME("attn.c_attn.weight"), C, 3 * C, 1, 0);
        tm_add(m, &off, TM_NAME("attn.c_attn.bias"), 3 * C, -1, 0, 0);
        tm_add(m, &off, TM_NAME("attn.c_proj.weight"), C, C, 1, 0);
        tm_add(m, &off, TM_NAME("attn.c_proj.bias"), C, -1, 0, 0);
        tm_add(m, &off, TM_NAME("ln_2.weight"), C, -1, 0, 0);
        tm_add(m, &off, TM_NAME("ln_2.bias"), C, -1, 0, 0);
        tm_add(m, &off, TM_NAME("mlp.c_fc.weight"), C, F, 1, 0);
        tm_add(m, &off, TM_NAME("mlp.c_fc.bias"), F, -1, 0, 0);
        tm_add(m, &off, TM_NAME("mlp.c_proj.weight"), F, C, 1, 0);
        tm_add(m, &off, TM_NAME("mlp.c_proj.bias"), C, -1, 0, 0);
#undef TM_NAME
    }
    if (c->final_ln) {
        tm_add(m, &off, "ln_f.weight", C, -1, 0, 0);
        tm_add(m, &off, "ln_f.bias", C, -1, 0, 0);
    }
    if (c->n_clf > 0) {
        tm_add(m, &off, "clf.weight", c->n_clf, C, 1, 0);
        tm_add(m, &off, "clf.bias", c->n_clf, -1, 0, 0);
    }
    return off;
}

/* Points the per-layer views at the table (order fixed by tm_layout). */
static void tm_bind(train_model_t *m, train_layer_t *ls, int grads) {
    train_tensor_t *t = m->tensors;
#define TM_P(i) (grads ? t[i].grad : t[i].data)
    if (grads) {
        m->dwte = TM_P(0);
        m->dwpe = TM_P(1);
    } else {
        m->wte = TM_P(0);
        m->wpe = TM_P(1);
    }
    for (int l = 0; l < m->cfg.n_layer; l++) {
        int b = 2 + 12 * l;
        train_layer_t *L = &ls[l];
        L->ln1_g = TM_P(b + 0);
        L->ln1_b = TM_P(b + 1);
        L->qkv_w = TM_P(b + 2);
        L->qkv_b = TM_P(b + 3);
        L->proj_w = TM_P(b + 4);
        L->proj_b = TM_P(b + 5);
        L->ln2_g = TM_P(b + 6);
        L->ln2_b = TM_P(b + 7);
        L->fc_w = TM_P(b + 8);
        L->fc_b = TM_P(b + 9);
        L->fc2_w = TM_P(b + 10);
        L->fc2_b = TM_P(b + 11);
    }
    if (m->cfg.final_ln) {
        int b = 2 + 12 * m->cfg.n_layer;
        if (grads) {
            m->dlnf_g = TM_P(b);
            m->dlnf_b = TM_P(b + 1);
        } else {
            m->lnf_g = TM_P(b);
            m->lnf_b = TM_P(b + 1);
        }
    }
    if (m->cfg.n_clf > 0) {
        int b = 2 + 12 * m->cfg.n_layer + (m->cfg.final_ln ? 2 : 0);
        if (grads) {
            m->dclf_w = TM_P(b);
            m->dclf_b = TM_P(b + 1);
        } else {
            m->clf_w = TM_P(b);
            m->clf_b = TM_P(b + 1);
        }
    }
#undef TM_P
}

void train_model_free(train_model_t *m) {
    if (!m) return;
    free(m->params);
    free(m->grads);
    free(m->tensors);
    free(m->layers);
    free(m->dlayers);
    free(m->task_json);
    free(m);
}

train_model_t *train_model_init(const gpt_config_t *cfg, char *err, size_t errlen) {
    if (gpt_config_check(cfg, err, errlen) != 0) return NULL;
    train_model_t *m = calloc(1, sizeof(*m));
    if (!m) goto oom;
    m->cfg = *cfg;
    m->pdrop = 0.1f;
    int max_tensors = 6 + 12 * cfg->n_layer;
    m->tensors = calloc((size_t)max_tensors, sizeof(*m->tensors));
    m->layers = calloc((size_t)cfg->n_layer, sizeof(*m->layers));
    m->dlayers = calloc((size_t)cfg->n_layer, sizeof(*m->dlayers));
    if (!m->tensors || !m->layers || !m->dlayers) goto oom;
    m->n_params = tm_layout(m);
    m->params = memx_floats(m->n_params);
    m->grads = memx_floats(m->n_params);
    if (!m->params || !m->grads) goto oom;
    tm_layout(m); /* again, now with the blocks: fills data/grad pointers */
    tm_bind(m, m->layers, 0);
    tm_bind(m, m->dlayers, 1);
    return m;
oom:
    snprintf(err, errlen, "out of memory allocating a %d-layer, %d-wide model for training",
             cfg->n_layer, cfg->n_embd);
    train_model_free(m);
    return NULL;
}

void train_model_zero_grad(train_model_t *m) {
    memset(m->grads, 0, m->n_params * sizeof(float));
}

const train_tensor_t *train_model_find(const train_model_t *m, const char *name) {
    if (strncmp(name, "transformer.", 12) == 0) name += 12;
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

void train_model_init_weights(train_model_t *m, uint64_t seed, int scaled_residual) {
    rng_t r;
    rng_seed(&r, seed);
    float resid_std = 0.02f / sqrtf(2.0f * (float)m->cfg.n_layer);
    for (int i = 0; i < m->n_tensors; i++) {
        train_tensor_t *t = &m->tensors[i];
        const char *s = t->name;
        size_t len = strlen(s);
        int is_gain = strstr(s, "ln_") && len > 7 && strcmp(s + len - 7, ".weight") == 0;
        int is_bias = len > 5 && strcmp(s + len - 5, ".bias") == 0;
        if (is_gain) {
            for (size_t k = 0; k < t->numel; k++) t->data[k] = 1.0f;
        } else if (is_bias) {
            memset(t->data, 0, t->numel * sizeof(float));
        } else {
            /* the projections that write into the residual stream */
            int resid = strstr(s, "c_proj.weight") != NULL;
            float std = scaled_residual && resid ? resid_std : 0.02f;
            for (size_t k = 0; k < t->numel; k++) t->data[k] = std * rng_normal(&r);
        }
    }
}

train_model_t *train_model_from_gpt(const gpt_model_t *g, char *err, size_t errlen) {
    train_model_t *m = train_model_init(&g->cfg, err, errlen);
    if (!m) return NULL;
    const gpt_config_t *c = &g->cfg;
    /* Matrices: copy the whole tensor in its stored layout (the loader keeps
     * Conv1D [in, out] and embeddings [rows, C], which is our layout too). */
    kernel_row_to_f32(m->wte, g->wte.data, g->wte.dtype, (size_t)c->n_vocab * c->n_embd);
    kernel_row_to_f32(m->wpe, g->wpe.data, g->wpe.dtype, (size_t)c->n_ctx * c->n_embd);
    size_t C = (size_t)c->n_embd, F = (size_t)c->n_inner;
    for (int l = 0; l < c->n_layer; l++) {
        const gpt_layer_t *s = &g->layers[l];
        train_layer_t *d = &m->layers[l];
        memcpy(d->ln1_g, s->ln1_g, C * sizeof(float));
        memcpy(d->ln1_b, s->ln1_b, C * sizeof(float));
        memcpy(d->ln2_g, s->ln2_g, C * sizeof(float));
        memcpy(d->ln2_b, s->ln2_b, C * sizeof(float));
        memcpy(d->qkv_b, s->qkv_b, 3 * C * sizeof(float));
        memcpy(d->proj_b, s->proj_b, C * sizeof(float));
        memcpy(d->fc_b, s->fc_b, F * sizeof(float));
        memcpy(d->fc2_b, s->fc2_b, C * sizeof(float));
        kernel_row_to_f32(d->qkv_w, s->qkv.data, s->qkv.dtype, C * 3 * C);
        kernel_row_to_f32(d->proj_w, s->proj.data, s->proj.dtype, C * C);
        kernel_row_to_f32(d->fc_w, s->fc.data, s->fc.dtype, C * F);
        kernel_row_to_f32(d->fc2_w, s->fc2.data, s->fc2.dtype, F * C);
    }
    if (c->final_ln) {
        memcpy(m->lnf_g, g->lnf_g, C * sizeof(float));
        memcpy(m->lnf_b, g->lnf_b, C * sizeof(float));
    }
    if (c->n_clf > 0 && g->clf_w && g->clf_b) {
        memcpy(m->clf_w, g->clf_w, (size_t)c->n_clf * C * sizeof(float));
        memcpy(m->clf_b, g->clf_b, (size_t)c->n_clf * sizeof(float));
    }
    return m;
}

train_model_t *train_model_for_task(const train_model_t *base, int n_new_tokens, int n_clf,
                                    uint64_t seed, char *err, size_t errlen) {
    gpt_config_t c = base->cfg;
    if (n_new_tokens < 0 || n_clf < 1) {
        snprintf(err, errlen, "a task model needs a head (got %d outputs)", n_clf);
        return NULL;
    }
    c.n_vocab += n_new_tokens;
    c.n_clf = n_clf;
    train_model_t *m = train_model_init(&c, err, errlen);
    if (!m) return NULL;
    m->pdrop = base->pdrop;
    rng_t r;
    rng_seed(&r, seed);
    /* every tensor of base by name (the embedding: its rows first) */
    for (int i = 0; i < m->n_tensors; i++) {
        train_tensor_t *t = &m->tensors[i];
        const train_tensor_t *s = train_model_find(base, t->name);
        int head = strncmp(t->name, "clf.", 4) == 0;
        if (s && !head) {
            size_t n = s->numel < t->numel ? s->numel : t->numel;
            memcpy(t->data, s->data, n * sizeof(float));
            for (size_t k = n; k < t->numel; k++) t->data[k] = 0.02f * rng_normal(&r);
        } else if (strcmp(t->name, "clf.bias") == 0) {
            memset(t->data, 0, t->numel * sizeof(float));
        } else {
            for (size_t k = 0; k < t->numel; k++) t->data[k] = 0.02f * rng_normal(&r);
        }
    }
    return m;
}

/* config.json in Hugging Face's spelling for the family, so that
 * GPT2LMHeadModel / OpenAIGPTLMHeadModel.from_pretrained read it as is. */
static cJSON *tm_config_json(const train_model_t *m) {
    const gpt_config_t *c = &m->cfg;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int gpt1 = !c->pre_norm;
    cJSON *arch = cJSON_AddArrayToObject(o, "architectures");
    if (arch)
        cJSON_AddItemToArray(
            arch, cJSON_CreateString(gpt1 ? "OpenAIGPTLMHeadModel" : "GPT2LMHeadModel"));
    cJSON_AddStringToObject(o, "model_type", gpt1 ? "openai-gpt" : "gpt2");
    cJSON_AddStringToObject(o, gpt1 ? "afn" : "activation_function", gpt1 ? "gelu" : "gelu_new");
    cJSON_AddNumberToObject(o, "vocab_size", c->n_vocab);
    cJSON_AddNumberToObject(o, "n_positions", c->n_ctx);
    cJSON_AddNumberToObject(o, "n_ctx", c->n_ctx);
    cJSON_AddNumberToObject(o, "n_embd", c->n_embd);
    cJSON_AddNumberToObject(o, "n_layer", c->n_layer);
    cJSON_AddNumberToObject(o, "n_head", c->n_head);
    if (c->n_inner != 4 * c->n_embd) cJSON_AddNumberToObject(o, "n_inner", c->n_inner);
    else cJSON_AddNullToObject(o, "n_inner");
    cJSON_AddNumberToObject(o, "layer_norm_epsilon", c->ln_eps);
    cJSON_AddNumberToObject(o, "initializer_range", 0.02);
    /* float -> double through a decimal string, so 0.2 is written as 0.2 */
    char pd[32];
    snprintf(pd, sizeof(pd), "%g", (double)m->pdrop);
    double pdrop = strtod(pd, NULL);
    cJSON_AddNumberToObject(o, "attn_pdrop", pdrop);
    cJSON_AddNumberToObject(o, "embd_pdrop", pdrop);
    cJSON_AddNumberToObject(o, "resid_pdrop", pdrop);
    if (!gpt1) {
        cJSON_AddBoolToObject(o, "scale_attn_weights", 1);
        cJSON_AddBoolToObject(o, "scale_attn_by_inverse_layer_idx", 0);
        cJSON_AddBoolToObject(o, "reorder_and_upcast_attn", 0);
    }
    if (c->eos_id >= 0) {
        cJSON_AddNumberToObject(o, "bos_token_id", c->eos_id);
        cJSON_AddNumberToObject(o, "eos_token_id", c->eos_id);
    }
    cJSON_AddBoolToObject(o, "tie_word_embeddings", 1);
    if (c->n_clf > 0) {
        /* what the head is for (labels, special tokens) as the fine-tuner
         * gave it, with n_out made to agree with the tensors */
        cJSON *task = m->task_json ? cJSON_Parse(m->task_json) : NULL;
        if (!cJSON_IsObject(task)) {
            cJSON_Delete(task);
            task = cJSON_CreateObject();
        }
        cJSON_DeleteItemFromObjectCaseSensitive(task, "n_out");
        cJSON_AddNumberToObject(task, "n_out", c->n_clf);
        cJSON_AddItemToObject(o, "gptscope_task", task);
    }
    return o;
}


int train_model_save(const train_model_t *m, const char *dir, kernel_dtype_t dtype, char *err,
                     size_t errlen) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create directory: %s", dir, strerror(errno));
        return -1;
    }
    char path[4096];
    cJSON *cfg = tm_config_json(m);
    char *text = cfg ? cJSON_Print(cfg) : NULL;
    cJSON_Delete(cfg);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory writing config.json", dir);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/config.json", dir);
    size_t tlen = strlen(text);
    text[tlen] = '\n'; /* cJSON_Print's buffer has room for the NUL: reuse it */
    int rc = fileio_write_atomic(path, text, tlen + 1, err, errlen);
    free(text);
    if (rc != 0) return -1;

    /* Half-precision copies are made tensor by tensor into one buffer. */
    uint16_t *half = NULL;
    if (dtype != KERNEL_F32) {
        half = malloc(m->n_params * sizeof(uint16_t));
        if (!half) {
            snprintf(err, errlen, "%s: out of memory converting weights", dir);
            return -1;
        }
    }
    st_writer_t *w = st_writer_init();
    if (!w) {
        free(half);
        snprintf(err, errlen, "%s: out of memory", dir);
        return -1;
    }
    rc = 0;
    for (int i = 0; i < m->n_tensors && rc == 0; i++) {
        const train_tensor_t *t = &m->tensors[i];
        const void *data = t->data;
        st_dtype_t sd = ST_F32;
        if (half) {
            uint16_t *h = half + (t->data - m->params);
            for (size_t k = 0; k < t->numel; k++)
                h[k] = dtype == KERNEL_F16 ? kernel_f32_to_f16(t->data[k])
                                           : kernel_f32_to_bf16(t->data[k]);
            data = h;
            sd = dtype == KERNEL_F16 ? ST_F16 : ST_BF16;
        }
        rc = st_writer_add(w, t->name, sd, t->n_dims, t->shape, data);
    }
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    if (rc == 0) rc = st_writer_write(w, path, err, errlen);
    else snprintf(err, errlen, "%s: out of memory", path);
    st_writer_free(w);
    free(half);
    return rc;
}
