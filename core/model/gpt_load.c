/* gpt_load.c - a Hugging Face model directory -> gpt_model_t.
 *
 * Reads config.json, maps model.safetensors, and binds every tensor the
 * architecture needs after checking its shape and dtype against the config.
 * Accepts both families' names (wte/wpe for gpt2, tokens_embed/positions_embed
 * for openai-gpt), with or without the "transformer." prefix that
 * GPT2LMHeadModel checkpoints carry. Extra tensors (lm_head.weight, which is
 * tied to wte; the attn.bias causal-mask buffers of old exports) are ignored.
 * Matrices stay in the mapping when aligned; vectors become f32 copies. */
#include "gpt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

static int load_own(gpt_model_t *m, void *p) {
    if (m->n_owned == m->cap_owned) {
        size_t nc = m->cap_owned ? 2 * m->cap_owned : 64;
        void **no = realloc(m->owned, nc * sizeof(*no));
        if (!no) return -1;
        m->owned = no;
        m->cap_owned = nc;
    }
    m->owned[m->n_owned++] = p;
    return 0;
}

const st_tensor_t *gpt_find_tensor(const st_file_t *st, const char *name) {
    const st_tensor_t *t = st_find(st, name);
    if (t) return t;
    char pref[256];
    snprintf(pref, sizeof(pref), "transformer.%s", name);
    return st_find(st, pref);
}

static void load_shape_str(char *buf, size_t cap, const int64_t *shape, int nd) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, cap - o, "[");
    for (int i = 0; i < nd && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

/* Index of the first NaN or infinity in t, or -1. A model with one is
 * broken (every logit downstream turns NaN); refusing it at load names the
 * tensor instead of printing garbage. Exponent all ones is the test for all
 * three formats; the loop is branch-free so it vectorises (one pass over
 * the mapping, which the first forward pass would read anyway). */
static int64_t load_first_nonfinite(const st_tensor_t *t) {
    const unsigned char *p = t->data;
    const int64_t n = st_numel(t);
    const int wide = t->dtype == ST_F32;
    const uint32_t mask = wide ? 0x7f800000u : t->dtype == ST_F16 ? 0x7c00u : 0x7f80u;
    const int64_t block = 4096;
    for (int64_t b = 0; b < n; b += block) {
        int64_t e = b + block < n ? b + block : n;
        int bad = 0;
        /* two loops rather than a per-element test of the width: each vectorises */
        if (wide) {
            for (int64_t i = b; i < e; i++) {
                uint32_t u;
                memcpy(&u, p + 4 * i, 4);
                bad |= (u & mask) == mask;
            }
        } else {
            for (int64_t i = b; i < e; i++) {
                uint16_t u;
                memcpy(&u, p + 2 * i, 2);
                bad |= (u & mask) == mask;
            }
        }
        if (!bad) continue;
        for (int64_t i = b; i < e; i++) { /* the rare block with one: find it */
            uint32_t u = 0;
            if (wide) {
                memcpy(&u, p + 4 * i, 4);
            } else {
                uint16_t h;
                memcpy(&h, p + 2 * i, 2);
                u = h;
            }
            if ((u & mask) == mask) return i;
        }
    }
    return -1;
}

/* Finds NAME and checks its shape is exactly [d0] or [d0, d1] (d1 < 0: 1-D). */
static const st_tensor_t *load_tensor(const gpt_model_t *m, const char *path, const char *name,
                                      int64_t d0, int64_t d1, char *err, size_t errlen) {
    const st_tensor_t *t = gpt_find_tensor(m->st, name);
    if (!t) {
        snprintf(err, errlen, "%s: missing tensor %s", path, name);
        return NULL;
    }
    int nd = d1 < 0 ? 1 : 2;
    int64_t want[2] = {d0, d1};
    if (t->n_dims != nd || t->shape[0] != d0 || (nd == 2 && t->shape[1] != d1)) {
        char got[128], exp[64];
        load_shape_str(got, sizeof(got), t->shape, t->n_dims);
        load_shape_str(exp, sizeof(exp), want, nd);
        snprintf(err, errlen, "%s: tensor %s has shape %s, expected %s", path, t->name, got, exp);
        return NULL;
    }
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
        snprintf(err, errlen, "%s: tensor %s has dtype %s, expected F32, F16 or BF16", path,
                 t->name, st_dtype_name(t->dtype));
        return NULL;
    }
    int64_t bad = load_first_nonfinite(t);
    if (bad >= 0) {
        snprintf(err, errlen, "%s: tensor %s has a NaN or infinite value at element %lld", path,
                 t->name, (long long)bad);
        return NULL;
    }
    return t;
}

static kernel_dtype_t load_kdtype(st_dtype_t d) {
    return d == ST_F16 ? KERNEL_F16 : d == ST_BF16 ? KERNEL_BF16 : KERNEL_F32;
}

/* A 1-D tensor as an owned f32 array. */
static const float *load_vector(gpt_model_t *m, const char *path, const char *name, int64_t n,
                                char *err, size_t errlen) {
    const st_tensor_t *t = load_tensor(m, path, name, n, -1, err, errlen);
    if (!t) return NULL;
    float *v = malloc((size_t)n * sizeof(float));
    if (!v || load_own(m, v) != 0) {
        free(v);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    kernel_row_to_f32(v, t->data, load_kdtype(t->dtype), (size_t)n);
    return v;
}

/* A 2-D tensor used in place when its data is aligned for its element type
 * (safetensors does not promise alignment), else copied to aligned memory. */
static int load_matrix(gpt_model_t *m, kernel_weight_t *w, const char *path, const char *name,
                       int64_t rows, int64_t cols, kernel_layout_t layout, char *err,
                       size_t errlen) {
    const st_tensor_t *t = load_tensor(m, path, name, rows, cols, err, errlen);
    if (!t) return -1;
    const void *data = t->data;
    size_t esz = st_dtype_size(t->dtype);
    if ((uintptr_t)data % esz != 0) {
        void *copy = aligned_alloc(64, (t->n_bytes + 63) & ~(size_t)63);
        if (!copy || load_own(m, copy) != 0) {
            free(copy);
            snprintf(err, errlen, "%s: out of memory", path);
            return -1;
        }
        memcpy(copy, data, t->n_bytes);
        data = copy;
    }
    w->data = data;
    w->dtype = load_kdtype(t->dtype);
    w->layout = layout;
    /* kernel_weight_t speaks of the linear map: in -> out. */
    w->in = (int)(layout == KERNEL_IN_OUT ? rows : cols);
    w->out = (int)(layout == KERNEL_IN_OUT ? cols : rows);
    return 0;
}

static int load_layer(gpt_model_t *m, int l, const char *path, char *err, size_t errlen) {
    const gpt_config_t *c = &m->cfg;
    gpt_layer_t *L = &m->layers[l];
    int64_t C = c->n_embd, F = c->n_inner;
    char n[128];
#define LNAME(suffix) (snprintf(n, sizeof(n), "h.%d.%s", l, suffix), n)
    if (!(L->ln1_g = load_vector(m, path, LNAME("ln_1.weight"), C, err, errlen)) ||
        !(L->ln1_b = load_vector(m, path, LNAME("ln_1.bias"), C, err, errlen)) ||
        !(L->ln2_g = load_vector(m, path, LNAME("ln_2.weight"), C, err, errlen)) ||
        !(L->ln2_b = load_vector(m, path, LNAME("ln_2.bias"), C, err, errlen)) ||
        !(L->qkv_b = load_vector(m, path, LNAME("attn.c_attn.bias"), 3 * C, err, errlen)) ||
        !(L->proj_b = load_vector(m, path, LNAME("attn.c_proj.bias"), C, err, errlen)) ||
        !(L->fc_b = load_vector(m, path, LNAME("mlp.c_fc.bias"), F, err, errlen)) ||
        !(L->fc2_b = load_vector(m, path, LNAME("mlp.c_proj.bias"), C, err, errlen)))
        return -1;
    /* Conv1D stores its weight as [in, out]. */
    if (load_matrix(m, &L->qkv, path, LNAME("attn.c_attn.weight"), C, 3 * C, KERNEL_IN_OUT, err,
                    errlen) ||
        load_matrix(m, &L->proj, path, LNAME("attn.c_proj.weight"), C, C, KERNEL_IN_OUT, err,
                    errlen) ||
        load_matrix(m, &L->fc, path, LNAME("mlp.c_fc.weight"), C, F, KERNEL_IN_OUT, err,
                    errlen) ||
        load_matrix(m, &L->fc2, path, LNAME("mlp.c_proj.weight"), F, C, KERNEL_IN_OUT, err,
                    errlen))
        return -1;
#undef LNAME
    return 0;
}

/* A tensor of layer N >= n_layer means config.json and the weights
 * disagree (a truncated config, or weights of a deeper model): running the
 * first n_layer layers alone would give wrong output without a word. */
static int load_check_extra_layers(const gpt_model_t *m, const char *path, char *err,
                                   size_t errlen) {
    for (size_t i = 0; i < m->st->n_tensors; i++) {
        const char *nm = m->st->tensors[i].name;
        if (strncmp(nm, "transformer.", 12) == 0) nm += 12;
        if (strncmp(nm, "h.", 2) != 0) continue;
        const char *d = nm + 2;
        long long l = 0;
        int digits = 0;
        while (*d >= '0' && *d <= '9' && digits < 12) l = l * 10 + (*d++ - '0'), digits++;
        if (digits == 0 || *d != '.') continue;
        if (l >= m->cfg.n_layer) {
            snprintf(err, errlen,
                     "%s: tensor %s belongs to layer %lld, but config.json has n_layer %d", path,
                     m->st->tensors[i].name, l, m->cfg.n_layer);
            return -1;
        }
    }
    return 0;
}

void gpt_free(gpt_model_t *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    st_close(m->st);
    free(m->dir);
    free(m);
}

gpt_model_t *gpt_load(const char *dir, char *err, size_t errlen) {
    gpt_model_t *m = calloc(1, sizeof(*m));
    size_t plen = strlen(dir) + 32;
    char *path = malloc(plen);
    if (!m || !path || !(m->dir = strdup(dir))) {
        snprintf(err, errlen, "%s: out of memory", dir);
        free(path);
        gpt_free(m);
        return NULL;
    }
    snprintf(path, plen, "%s/config.json", dir);
    char sub[512];
    if (gpt_config_load(&m->cfg, path, sub, sizeof(sub)) != 0) {
        /* gpt_config_check messages say "config: ..."; name the file. */
        if (strncmp(sub, "config: ", 8) == 0) snprintf(err, errlen, "%s: %s", path, sub + 8);
        else snprintf(err, errlen, "%s", sub);
        goto fail;
    }
    snprintf(path, plen, "%s/model.safetensors", dir);
    if (!(m->st = st_open(path, err, errlen))) goto fail;

    const gpt_config_t *c = &m->cfg;
    int gpt1 = !c->pre_norm;
    if (load_matrix(m, &m->wte, path, gpt1 ? "tokens_embed.weight" : "wte.weight", c->n_vocab,
                    c->n_embd, KERNEL_OUT_IN, err, errlen) ||
        load_matrix(m, &m->wpe, path, gpt1 ? "positions_embed.weight" : "wpe.weight", c->n_ctx,
                    c->n_embd, KERNEL_OUT_IN, err, errlen))
        goto fail;
    m->dtype = m->wte.dtype;
    if (c->final_ln) {
        if (!(m->lnf_g = load_vector(m, path, "ln_f.weight", c->n_embd, err, errlen)) ||
            !(m->lnf_b = load_vector(m, path, "ln_f.bias", c->n_embd, err, errlen)))
            goto fail;
    }
    m->layers = calloc((size_t)c->n_layer, sizeof(*m->layers));
    if (!m->layers) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    for (int l = 0; l < c->n_layer; l++)
        if (load_layer(m, l, path, err, errlen) != 0) goto fail;
    if (load_check_extra_layers(m, path, err, errlen) != 0) goto fail;
    if (c->n_clf > 0) {
        /* the task head: small, so an owned f32 copy whatever its dtype */
        const st_tensor_t *t = load_tensor(m, path, "clf.weight", c->n_clf, c->n_embd, err, errlen);
        float *w = t ? malloc((size_t)c->n_clf * c->n_embd * sizeof(float)) : NULL;
        if (t && (!w || load_own(m, w) != 0)) {
            free(w);
            snprintf(err, errlen, "%s: out of memory", path);
            goto fail;
        }
        if (!t) goto fail;
        kernel_row_to_f32(w, t->data, load_kdtype(t->dtype), (size_t)c->n_clf * c->n_embd);
        m->clf_w = w;
        if (!(m->clf_b = load_vector(m, path, "clf.bias", c->n_clf, err, errlen))) goto fail;
    }
    free(path);
    return m;
fail:
    free(path);
    gpt_free(m);
    return NULL;
}
