/* gpt_config.c - the model's shape and flavour, read from a Hugging Face
 * config.json. Both families' key spellings are accepted (n_positions / n_ctx;
 * activation_function for gpt2, afn for openai-gpt), and options this engine
 * does not implement are refused by name rather than silently ignored. */
#include "fileio.h"
#include "gpt.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads an integer key; missing -> def (or an error when def < -1 marks it required). */
static int cfg_int(const cJSON *root, const char *key, int def, int *out, const char *path,
                   char *err, size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) {
        if (def < -1) {
            snprintf(err, errlen, "%s: missing key \"%s\"", path, key);
            return -1;
        }
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble) {
        snprintf(err, errlen, "%s: \"%s\" must be an integer", path, key);
        return -1;
    }
    *out = (int)v->valuedouble;
    return 0;
}

static int cfg_flag_is(const cJSON *root, const char *key, int expected) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) return 1;
    return cJSON_IsBool(v) && (cJSON_IsTrue(v) ? 1 : 0) == expected;
}

static int cfg_parse(gpt_config_t *cfg, const cJSON *root, const char *path, char *err,
                     size_t errlen) {
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (!cJSON_IsString(mt)) {
        snprintf(err, errlen, "%s: missing \"model_type\" (expected \"gpt2\" or \"openai-gpt\")",
                 path);
        return -1;
    }
    int gpt1 = strcmp(mt->valuestring, "openai-gpt") == 0;
    if (!gpt1 && strcmp(mt->valuestring, "gpt2") != 0) {
        snprintf(err, errlen,
                 "%s: unsupported model_type \"%s\" (expected \"gpt2\" or \"openai-gpt\")", path,
                 mt->valuestring);
        return -1;
    }
    snprintf(cfg->model_type, sizeof(cfg->model_type), "%s", mt->valuestring);
    cfg->pre_norm = !gpt1;
    cfg->final_ln = !gpt1;

    int n_pos = -1, n_ctx_key = -1;
    if (cfg_int(root, "n_layer", -2, &cfg->n_layer, path, err, errlen) ||
        cfg_int(root, "n_head", -2, &cfg->n_head, path, err, errlen) ||
        cfg_int(root, "n_embd", -2, &cfg->n_embd, path, err, errlen) ||
        cfg_int(root, "vocab_size", -2, &cfg->n_vocab, path, err, errlen) ||
        cfg_int(root, "n_positions", -1, &n_pos, path, err, errlen) ||
        cfg_int(root, "n_ctx", -1, &n_ctx_key, path, err, errlen) ||
        cfg_int(root, "n_inner", -1, &cfg->n_inner, path, err, errlen) ||
        cfg_int(root, "eos_token_id", -1, &cfg->eos_id, path, err, errlen))
        return -1;
    /* n_positions sizes the position table; old configs only have n_ctx. */
    cfg->n_ctx = n_pos > 0 ? n_pos : n_ctx_key;
    if (cfg->n_ctx <= 0) {
        snprintf(err, errlen, "%s: missing \"n_positions\"", path);
        return -1;
    }
    if (cfg->n_inner <= 0) cfg->n_inner = 4 * cfg->n_embd;

    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_epsilon");
    cfg->ln_eps = 1e-5f;
    if (eps && !cJSON_IsNull(eps)) {
        if (!cJSON_IsNumber(eps) || eps->valuedouble <= 0 || eps->valuedouble > 1) {
            snprintf(err, errlen, "%s: \"layer_norm_epsilon\" must be a number in (0, 1]", path);
            return -1;
        }
        cfg->ln_eps = (float)eps->valuedouble;
    }

    /* Both families use the tanh approximation of GELU: gpt2 calls it
     * "gelu_new", openai-gpt's "gelu" maps to the same function in HF. */
    const char *act_key = gpt1 ? "afn" : "activation_function";
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, act_key);
    if (act && !cJSON_IsNull(act)) {
        const char *a = cJSON_IsString(act) ? act->valuestring : "";
        int ok = gpt1 ? strcmp(a, "gelu") == 0 || strcmp(a, "gelu_new") == 0
                      : strcmp(a, "gelu_new") == 0 || strcmp(a, "gelu_pytorch_tanh") == 0;
        if (!ok) {
            snprintf(err, errlen, "%s: unsupported %s \"%s\" (only the tanh GELU is implemented)",
                     path, act_key, a);
            return -1;
        }
    }
    if (!cfg_flag_is(root, "scale_attn_weights", 1) ||
        !cfg_flag_is(root, "scale_attn_by_inverse_layer_idx", 0) ||
        !cfg_flag_is(root, "add_cross_attention", 0)) {
        snprintf(err, errlen,
                 "%s: unsupported attention option (scale_attn_weights must be true, "
                 "scale_attn_by_inverse_layer_idx and add_cross_attention false)",
                 path);
        return -1;
    }
    return gpt_config_check(cfg, err, errlen) == 0 ? 0 : -1;
}

int gpt_config_load(gpt_config_t *cfg, const char *path, char *err, size_t errlen) {
    memset(cfg, 0, sizeof(*cfg));
    size_t len = 0;
    char *text = NULL;
    /* a config is a few hundred bytes: refuse to slurp a wrongly named weights file */
    if (fileio_read_file(path, 64u << 20, &text, &len, err, errlen) != 0) return -1;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root || !cJSON_IsObject(root)) {
        snprintf(err, errlen, "%s: not valid JSON (expected an object)", path);
        cJSON_Delete(root);
        return -1;
    }
    char sub[512];
    int rc = cfg_parse(cfg, root, path, sub, sizeof(sub));
    if (rc != 0) snprintf(err, errlen, "%s", sub);
    cJSON_Delete(root);
    return rc;
}

int gpt_config_check(const gpt_config_t *cfg, char *err, size_t errlen) {
    const char *bad = NULL;
    if (cfg->n_layer <= 0 || cfg->n_layer > 1000) bad = "n_layer";
    else if (cfg->n_head <= 0 || cfg->n_head > 1024) bad = "n_head";
    else if (cfg->n_embd <= 0 || cfg->n_embd > 65536) bad = "n_embd";
    else if (cfg->n_ctx <= 0 || cfg->n_ctx > 1 << 20) bad = "n_positions";
    else if (cfg->n_vocab <= 0 || cfg->n_vocab > 1 << 24) bad = "vocab_size";
    else if (cfg->n_inner <= 0 || cfg->n_inner > 1 << 20) bad = "n_inner";
    if (bad) {
        snprintf(err, errlen, "config: %s out of range", bad);
        return -1;
    }
    if (cfg->n_embd % cfg->n_head != 0) {
        snprintf(err, errlen, "config: n_embd %d is not divisible by n_head %d", cfg->n_embd,
                 cfg->n_head);
        return -1;
    }
    if (cfg->eos_id >= cfg->n_vocab) {
        snprintf(err, errlen, "config: eos_token_id %d outside the vocabulary of %d", cfg->eos_id,
                 cfg->n_vocab);
        return -1;
    }
    return 0;
}

int64_t gpt_config_n_params(const gpt_config_t *cfg) {
    int64_t C = cfg->n_embd, F = cfg->n_inner;
    int64_t per_layer = 2 * C                /* ln_1 */
                        + C * 3 * C + 3 * C  /* c_attn */
                        + C * C + C          /* attn c_proj */
                        + 2 * C              /* ln_2 */
                        + C * F + F          /* c_fc */
                        + F * C + C;         /* mlp c_proj */
    int64_t n = (int64_t)cfg->n_vocab * C + (int64_t)cfg->n_ctx * C + cfg->n_layer * per_layer;
    if (cfg->final_ln) n += 2 * C;
    return n;
}
