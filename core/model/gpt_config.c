/* gpt_config.c - the model's shape and flavour, read from a Hugging Face
 * config.json. Both families' key spellings are accepted (n_positions / n_ctx;
 * activation_function for gpt2, afn for openai-gpt), and options this engine
 * does not implement are refused by name rather than silently ignored. */
#include "fileio.h"
#include "gpt.h"
#include "jsonx.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads an integer key in [lo, hi]. Missing or null -> def, unless required.
 * The range is checked on the JSON number itself (jsonx_int), so 1e12 or
 * 1e999 is "out of range", never an undefined float-to-int conversion. */
static int cfg_int(const cJSON *root, const char *key, int required, int def, int lo, int hi,
                   int *out, const char *path, char *err, size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) {
        if (required) {
            snprintf(err, errlen, "%s: missing key \"%s\"", path, key);
            return -1;
        }
        *out = def;
        return 0;
    }
    int64_t x = 0;
    jsonx_int_status_t st = jsonx_int(v, lo, hi, &x);
    if (st != JSONX_OK) {
        char why[96];
        if (st == JSONX_OUT_OF_RANGE)
            snprintf(why, sizeof why, "must be an integer from %d to %d", lo, hi);
        else
            jsonx_int_problem(st, lo, hi, why, sizeof why);
        snprintf(err, errlen, "%s: \"%s\" %s", path, key, why);
        return -1;
    }
    *out = (int)x;
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
        char shown[64]; /* from the file: may hold a newline */
        snprintf(err, errlen,
                 "%s: unsupported model_type \"%s\" (expected \"gpt2\" or \"openai-gpt\")", path,
                 jsonx_escape(mt->valuestring, shown, sizeof shown));
        return -1;
    }
    snprintf(cfg->model_type, sizeof(cfg->model_type), "%s", mt->valuestring);
    cfg->pre_norm = !gpt1;
    cfg->final_ln = !gpt1;

    /* n_inner and n_positions may be null (HF's "use the default"), never
     * zero or negative; old configs have n_ctx instead of n_positions. */
    int n_pos = -1, n_ctx_key = -1;
    if (cfg_int(root, "n_layer", 1, 0, 1, GPT_MAX_LAYER, &cfg->n_layer, path, err, errlen) ||
        cfg_int(root, "n_head", 1, 0, 1, GPT_MAX_HEAD, &cfg->n_head, path, err, errlen) ||
        cfg_int(root, "n_embd", 1, 0, 1, GPT_MAX_EMBD, &cfg->n_embd, path, err, errlen) ||
        cfg_int(root, "vocab_size", 1, 0, 1, GPT_MAX_VOCAB, &cfg->n_vocab, path, err, errlen) ||
        cfg_int(root, "n_positions", 0, -1, 1, GPT_MAX_CTX, &n_pos, path, err, errlen) ||
        cfg_int(root, "n_ctx", 0, -1, 1, GPT_MAX_CTX, &n_ctx_key, path, err, errlen) ||
        cfg_int(root, "n_inner", 0, -1, 1, GPT_MAX_INNER, &cfg->n_inner, path, err, errlen) ||
        cfg_int(root, "eos_token_id", 0, -1, 0, GPT_MAX_VOCAB - 1, &cfg->eos_id, path, err, errlen))
        return -1;
    /* a fine-tuned model's task head: only its size matters here */
    const cJSON *task = cJSON_GetObjectItemCaseSensitive(root, "gptscope_task");
    cfg->n_clf = 0;
    if (task && !cJSON_IsNull(task)) {
        if (!cJSON_IsObject(task)) {
            snprintf(err, errlen, "%s: \"gptscope_task\" must be an object", path);
            return -1;
        }
        if (cfg_int(task, "n_out", 1, 0, 1, 4096, &cfg->n_clf, path, err, errlen)) return -1;
    }
    cfg->n_ctx = n_pos > 0 ? n_pos : n_ctx_key;
    if (cfg->n_ctx <= 0) {
        snprintf(err, errlen, "%s: missing \"n_positions\"", path);
        return -1;
    }
    /* n_embd <= GPT_MAX_EMBD, so 4 * n_embd cannot overflow */
    if (cfg->n_inner <= 0) cfg->n_inner = 4 * cfg->n_embd;

    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_epsilon");
    cfg->ln_eps = 1e-5f;
    if (eps && !cJSON_IsNull(eps)) {
        /* the float must hold it: 1e-300 would become 0 and then 1/sqrt(0)
         * for a constant row; below FLT_MIN it is subnormal or zero */
        if (!cJSON_IsNumber(eps) || !(eps->valuedouble >= FLT_MIN) || eps->valuedouble > 1) {
            snprintf(err, errlen,
                     "%s: \"layer_norm_epsilon\" must be a number from 1.2e-38 to 1 (a float "
                     "must hold it)",
                     path);
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
            char shown[64];
            snprintf(err, errlen, "%s: unsupported %s \"%s\" (only the tanh GELU is implemented)",
                     path, act_key, jsonx_escape(a, shown, sizeof shown));
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
    /* a config is a few hundred bytes (a task's labels make it some KiB):
     * refuse to slurp a wrongly named weights file, and bound the parse tree
     * (a 64-byte cJSON node per 2 bytes of "[0,0,..."; 128 MiB at most) */
    if (fileio_read_regular(path, 4u << 20, &text, &len, err, errlen) != 0) return -1;
    cJSON *root = jsonx_parse_utf8(text, len, path, err, errlen);
    free(text);
    if (!root) return -1;
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "%s: expected a JSON object", path);
        cJSON_Delete(root);
        return -1;
    }
    char sub[512];
    int rc = cfg_parse(cfg, root, path, sub, sizeof(sub));
    /* gpt_config_check's messages say "config: ..."; name the file instead */
    if (rc != 0 && strncmp(sub, "config: ", 8) == 0) snprintf(err, errlen, "%s: %s", path, sub + 8);
    else if (rc != 0) snprintf(err, errlen, "%s", sub);
    cJSON_Delete(root);
    return rc;
}

int gpt_config_check(const gpt_config_t *cfg, char *err, size_t errlen) {
    const char *bad = NULL;
    if (cfg->n_layer <= 0 || cfg->n_layer > GPT_MAX_LAYER) bad = "n_layer";
    else if (cfg->n_head <= 0 || cfg->n_head > GPT_MAX_HEAD) bad = "n_head";
    else if (cfg->n_embd <= 0 || cfg->n_embd > GPT_MAX_EMBD) bad = "n_embd";
    else if (cfg->n_ctx <= 0 || cfg->n_ctx > GPT_MAX_CTX) bad = "n_positions";
    else if (cfg->n_vocab <= 0 || cfg->n_vocab > GPT_MAX_VOCAB) bad = "vocab_size";
    else if (cfg->n_inner <= 0 || cfg->n_inner > GPT_MAX_INNER) bad = "n_inner";
    else if (!(cfg->ln_eps >= FLT_MIN) || cfg->ln_eps > 1) bad = "layer_norm_epsilon";
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
