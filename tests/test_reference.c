/* test_reference.c - the C engine and tokenizers against PyTorch.
 *
 * tests/reference/make_reference.py writes small random GPT-2 and GPT-1
 * checkpoints in the Hugging Face layout and, for each, expected.json with
 * what an independent float64 torch implementation computes. For every model
 * directory this test loads the checkpoint with gpt_load and checks:
 *   - the config as parsed (shapes, norm placement, epsilon, end-of-text id);
 *   - the tokenizer: the prompt text encodes to the expected ids and decodes back;
 *   - one full forward over the prompt: logits of every position, and the
 *     captured attention weights of every layer and head;
 *   - incremental decoding (a prefill, then one token per call) reproduces
 *     the same logits, and each step's attention row;
 *   - the eval loss (mean next-token cross-entropy) from the C logits;
 *   - a greedy continuation, id for id.
 * The expected values were computed from the weights exactly as stored
 * (F16/BF16 rounded, then upcast), so the f32 tolerances hold for every dtype. */
#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt.h"
#include "tap.h"
#include "tap_json.h"
#include "tokenizer.h"

/* float32 forward vs float64 reference: accumulated rounding on logits of
 * size ~5 through 2 layers is ~1e-6; 1e-4 is the bound. */
#define LOGIT_TOL 1e-4
#define ATTN_TOL 1e-5
#define LOSS_TOL 1e-4
#define N_THREADS 2

static const char *const MODELS[] = {"gpt2-f32", "gpt2-f16", "gpt2-bf16", "gpt2-prefixed",
                                     "gpt1-f32"};

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0) buf = malloc((size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size) {
        buf[size] = '\0';
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* A JSON array of integers as a malloc'd int array; NULL if malformed. */
static int *json_ints(const cJSON *arr, int *n) {
    *n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || *n <= 0) return NULL;
    int *v = malloc((size_t)*n * sizeof *v);
    if (!v) return NULL;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsNumber(it)) {
            free(v);
            return NULL;
        }
        v[i++] = it->valueint;
    }
    return v;
}

/* Flattens a nested JSON array of numbers of exactly n values (row-major)
 * into out. Returns the count found, so a shape mismatch is visible. */
static size_t json_flatten(const cJSON *node, float *out, size_t n, size_t at) {
    if (cJSON_IsNumber(node)) {
        if (at < n) out[at] = (float)node->valuedouble;
        return at + 1;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, node) at = json_flatten(it, out, n, at);
    return at;
}

static int json_int(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valueint : INT32_MIN;
}

static const char *json_str(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* Largest |got - want| over n values; NaN in got counts as infinite. */
static double max_abs_err(const float *got, const float *want, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (isnan(d)) return INFINITY;
        if (d > worst) worst = d;
    }
    return worst;
}

/* Text for one TAP line: control characters (a newline would end the
 * line and confuse the TAP parser) shown as \n or \xNN. */
static const char *escape(const char *text, size_t len, char *buf, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\n')
            o += (size_t)snprintf(buf + o, cap - o, "\\n");
        else if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    buf[o] = '\0';
    return buf;
}

/* Everything one model directory's checks need, read from expected.json. */
typedef struct expected {
    cJSON *root;
    int *ids, n_ids;           /* the prompt */
    int *eval_ids, n_eval;
    int *greedy_prompt, n_greedy_prompt;
    int *greedy_ids, n_greedy;
    float *logits;             /* [n_ids, V] */
    float *attn;               /* [L, H, n_ids, n_ids] */
    int prefill;
    double loss, ppl;
} expected_t;

static void expected_free(expected_t *e) {
    cJSON_Delete(e->root);
    free(e->ids);
    free(e->eval_ids);
    free(e->greedy_prompt);
    free(e->greedy_ids);
    free(e->logits);
    free(e->attn);
    memset(e, 0, sizeof *e);
}

/* Reads DIR/expected.json for a model whose config is cfg. Returns 0, or -1
 * with a diagnostic printed. */
static int expected_load(expected_t *e, const char *dir, const gpt_config_t *cfg) {
    char path[1100]; /* dir is at most 1023 characters */
    memset(e, 0, sizeof *e);
    snprintf(path, sizeof path, "%s/expected.json", dir);
    char *text = read_text(path);
    if (!text) {
        tap_diag("%s: cannot read", path);
        return -1;
    }
    e->root = cJSON_Parse(text);
    free(text);
    if (!e->root) {
        tap_diag("%s: not valid JSON", path);
        return -1;
    }
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(e->root, "eval");
    const cJSON *gr = cJSON_GetObjectItemCaseSensitive(e->root, "greedy");
    const cJSON *inc = cJSON_GetObjectItemCaseSensitive(e->root, "incremental");
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(e->root, "attn");
    e->ids = json_ints(cJSON_GetObjectItemCaseSensitive(e->root, "ids"), &e->n_ids);
    e->eval_ids = json_ints(cJSON_GetObjectItemCaseSensitive(ev, "ids"), &e->n_eval);
    e->greedy_prompt = json_ints(cJSON_GetObjectItemCaseSensitive(gr, "prompt_ids"),
                                 &e->n_greedy_prompt);
    e->greedy_ids = json_ints(cJSON_GetObjectItemCaseSensitive(gr, "ids"), &e->n_greedy);
    e->prefill = json_int(inc, "prefill");
    e->loss = tap_json_num(ev, "loss");
    e->ppl = tap_json_num(ev, "ppl");
    if (!e->ids || !e->eval_ids || !e->greedy_prompt || !e->greedy_ids || e->prefill < 1 ||
        e->prefill >= e->n_ids || isnan(e->loss) || e->n_ids > cfg->n_ctx ||
        e->n_eval > cfg->n_ctx || e->n_greedy_prompt + e->n_greedy > cfg->n_ctx) {
        tap_diag("%s: missing or inconsistent fields", path);
        return -1;
    }
    size_t T = (size_t)e->n_ids, V = (size_t)cfg->n_vocab;
    size_t n_logits = T * V, n_attn = (size_t)cfg->n_layer * (size_t)cfg->n_head * T * T;
    e->logits = malloc(n_logits * sizeof *e->logits);
    e->attn = malloc(n_attn * sizeof *e->attn);
    if (!e->logits || !e->attn) return -1;
    size_t got_l = json_flatten(cJSON_GetObjectItemCaseSensitive(e->root, "logits"), e->logits,
                                n_logits, 0);
    size_t got_a = json_flatten(cJSON_GetObjectItemCaseSensitive(att, "weights"), e->attn,
                                n_attn, 0);
    if (got_l != n_logits || got_a != n_attn) {
        tap_diag("%s: logits hold %zu values (want %zu), attn %zu (want %zu)", path, got_l,
                 n_logits, got_a, n_attn);
        return -1;
    }
    return 0;
}

static void check_config(tap_t *t, const char *name, const gpt_model_t *m, const cJSON *want) {
    const gpt_config_t *c = &m->cfg;
    int ok = c->n_layer == json_int(want, "n_layer") && c->n_head == json_int(want, "n_head") &&
             c->n_embd == json_int(want, "n_embd") && c->n_ctx == json_int(want, "n_ctx") &&
             c->n_vocab == json_int(want, "n_vocab") && c->n_inner == 4 * c->n_embd &&
             c->pre_norm == json_int(want, "pre_norm") &&
             c->final_ln == json_int(want, "final_ln") &&
             c->eos_id == json_int(want, "eos_id") &&
             fabs(c->ln_eps - tap_json_num(want, "ln_eps")) < 1e-12;
    tap_ok(t, ok, "%s: config (L=%d H=%d C=%d ctx=%d V=%d inner=%d pre_norm=%d final_ln=%d "
                  "eos=%d eps=%g)", name, c->n_layer, c->n_head, c->n_embd, c->n_ctx,
           c->n_vocab, c->n_inner, c->pre_norm, c->final_ln, c->eos_id, (double)c->ln_eps);
}

/* Ids equal, printing the first difference. */
static int check_ids(tap_t *t, const char *what, const int *got, size_t n_got, const int *want,
                     size_t n_want) {
    size_t i = 0;
    while (i < n_got && i < n_want && got[i] == want[i]) i++;
    int ok = n_got == n_want && i == n_want;
    if (ok) return tap_ok(t, 1, "%s (%zu ids)", what, n_want);
    return tap_ok(t, 0, "%s: %zu ids, want %zu; first difference at %zu (got %d, want %d)", what,
                  n_got, n_want, i, i < n_got ? got[i] : -1, i < n_want ? want[i] : -1);
}

static void check_tokenizer(tap_t *t, const char *name, const char *dir, const gpt_model_t *m,
                            const expected_t *e) {
    char err[512] = "";
    int gpt1 = strcmp(m->cfg.model_type, "openai-gpt") == 0;
    tokenizer_t *tok = tokenizer_load(dir, gpt1 ? TOKENIZER_GPT1 : TOKENIZER_GPT2, err,
                                      sizeof err);
    if (!tap_ok(t, tok != NULL, "%s: tokenizer_load %s", name, tok ? "" : err)) return;
    tap_ok(t, tokenizer_vocab_size(tok) == m->cfg.n_vocab &&
                  tokenizer_eot_id(tok) == m->cfg.eos_id,
           "%s: tokenizer vocabulary %d (want %d), end-of-text id %d (want %d)", name,
           tokenizer_vocab_size(tok), m->cfg.n_vocab, tokenizer_eot_id(tok), m->cfg.eos_id);

    /* the prompt, then the eval text */
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(e->root, "eval");
    const char *texts[2] = {json_str(e->root, "text"), json_str(ev, "text")};
    const int *want[2] = {e->ids, e->eval_ids};
    const int n_want[2] = {e->n_ids, e->n_eval};
    for (int k = 0; k < 2; k++) {
        int *ids = NULL;
        size_t n = 0, cap = 0;
        char what[128];
        snprintf(what, sizeof what, "%s: tokenizer encodes the %s text", name,
                 k ? "eval" : "prompt");
        if (texts[k] && tokenizer_encode(tok, texts[k], strlen(texts[k]), &ids, &n, &cap, err,
                                         sizeof err) == 0)
            check_ids(t, what, ids, n, want[k], (size_t)n_want[k]);
        else
            tap_ok(t, 0, "%s: tokenizer_encode: %s", name, texts[k] ? err : "no text");
        free(ids);
    }

    /* Hugging Face's GPT-1 decode strips the trailing space the last "</w>"
     * leaves; the C decoder may keep it, so trailing whitespace is ignored
     * there. GPT-2 decoding is byte-exact. */
    const char *decoded = json_str(e->root, "decoded");
    size_t len = 0;
    char *out = tokenizer_decode(tok, e->ids, (size_t)e->n_ids, &len, err, sizeof err);
    if (out && decoded) {
        size_t want_len = strlen(decoded);
        if (gpt1)
            while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '\n')) len--;
        char shown[256];
        tap_ok(t, len == want_len && memcmp(out, decoded, len) == 0,
               "%s: tokenizer decodes the prompt ids (got \"%s\")", name,
               escape(out, len, shown, sizeof shown));
    } else {
        tap_ok(t, 0, "%s: tokenizer_decode: %s", name, err);
    }
    free(out);
    tokenizer_free(tok);
}

/* One forward over the whole prompt: every position's logits and every
 * layer/head's attention weights. */
static void check_full(tap_t *t, const char *name, gpt_state_t *s, const gpt_config_t *c,
                       const expected_t *e) {
    char err[512] = "";
    size_t T = (size_t)e->n_ids, V = (size_t)c->n_vocab, ctx = (size_t)c->n_ctx;
    float *logits = calloc(T * V, sizeof *logits);
    float *attn = calloc(gpt_attn_capture_size(c, e->n_ids), sizeof *attn);
    gpt_state_reset(s);
    int rc = logits && attn ? gpt_forward(s, e->ids, e->n_ids, logits, 1, attn, err, sizeof err)
                            : -1;
    if (tap_ok(t, rc == 0, "%s: gpt_forward over the %zu-token prompt %s", name, T,
               rc ? err : "")) {
        double dl = max_abs_err(logits, e->logits, T * V);
        tap_ok(t, dl <= LOGIT_TOL, "%s: full-prompt logits, all %zu positions: max abs error "
                                   "%.3g (tol %g)", name, T, dl, LOGIT_TOL);
        /* capture layout [layer][head][i][key], key stride n_ctx */
        double da = 0;
        for (size_t lh = 0; lh < (size_t)c->n_layer * (size_t)c->n_head; lh++)
            for (size_t i = 0; i < T; i++) {
                double d = max_abs_err(attn + (lh * T + i) * ctx, e->attn + (lh * T + i) * T, T);
                if (d > da) da = d;
            }
        tap_ok(t, da <= ATTN_TOL, "%s: attention capture, every layer and head: max abs "
                                  "error %.3g (tol %g)", name, da, ATTN_TOL);
    }
    free(logits);
    free(attn);
}

/* Prefill the first k ids in one call, then a chunk of CHUNK ids on top of
 * the cache (n_past > 0 and n > 1: the masked prefill path with an offset),
 * then one id per call. The logits of every position, and every captured
 * attention row (query n_past+i over keys 0..n_past+i), must match the full
 * forward. */
#define CHUNK 4
static void check_incremental(tap_t *t, const char *name, gpt_state_t *s, const gpt_config_t *c,
                              const expected_t *e) {
    char err[512] = "";
    size_t T = (size_t)e->n_ids, V = (size_t)c->n_vocab, ctx = (size_t)c->n_ctx;
    size_t k = (size_t)e->prefill, LH = (size_t)c->n_layer * (size_t)c->n_head;
    float *logits = calloc(T * V, sizeof *logits);
    float *attn = calloc(gpt_attn_capture_size(c, (int)(k > CHUNK ? k : CHUNK)), sizeof *attn);
    double da = 0;
    int rc = logits && attn ? 0 : -1, n_calls = 0;
    gpt_state_reset(s);
    for (size_t pos = 0; rc == 0 && pos < T; n_calls++) {
        size_t n = pos == 0 ? k : pos == k ? CHUNK : 1;
        if (n > T - pos) n = T - pos;
        /* a single step asks for the last row only, the other mode */
        rc = gpt_forward(s, e->ids + pos, (int)n, logits + pos * V, n > 1, attn, err, sizeof err);
        for (size_t lh = 0; rc == 0 && lh < LH; lh++)
            for (size_t i = 0; i < n; i++) {
                double d = max_abs_err(attn + (lh * n + i) * ctx,
                                       e->attn + (lh * T + pos + i) * T, pos + i + 1);
                if (d > da) da = d;
            }
        pos += n;
    }
    if (tap_ok(t, rc == 0 && gpt_state_n_past(s) == (int)T,
               "%s: prefill %zu, a chunk of %d, then single tokens: %d calls, n_past %d %s",
               name, k, CHUNK, n_calls, gpt_state_n_past(s), rc ? err : "")) {
        double dl = max_abs_err(logits, e->logits, T * V);
        tap_ok(t, dl <= LOGIT_TOL, "%s: incremental logits equal the full forward's: max abs "
                                   "error %.3g (tol %g)", name, dl, LOGIT_TOL);
        tap_ok(t, da <= ATTN_TOL, "%s: attention capture with a KV cache: max abs error %.3g "
                                  "(tol %g)", name, da, ATTN_TOL);
    }
    free(logits);
    free(attn);
}

/* Mean next-token cross-entropy of the eval ids from the C logits:
 * loss = mean_t [ logsumexp(logits_t) - logits_t[id_{t+1}] ], t < T-1. */
static void check_eval(tap_t *t, const char *name, gpt_state_t *s, const gpt_config_t *c,
                       const expected_t *e) {
    char err[512] = "";
    size_t T = (size_t)e->n_eval, V = (size_t)c->n_vocab;
    float *logits = calloc(T * V, sizeof *logits);
    gpt_state_reset(s);
    int rc = logits ? gpt_forward(s, e->eval_ids, e->n_eval, logits, 1, NULL, err, sizeof err)
                    : -1;
    if (tap_ok(t, rc == 0, "%s: gpt_forward over the %zu eval tokens %s", name, T,
               rc ? err : "")) {
        double sum = 0;
        for (size_t i = 0; i + 1 < T; i++) {
            const float *row = logits + i * V;
            double mx = -DBL_MAX, z = 0;
            for (size_t v = 0; v < V; v++) mx = fmax(mx, row[v]);
            for (size_t v = 0; v < V; v++) z += exp(row[v] - mx);
            sum += mx + log(z) - row[e->eval_ids[i + 1]];
        }
        double loss = sum / (double)(T - 1);
        char what[128];
        snprintf(what, sizeof what, "%s: eval loss (nats) over %zu predictions", name, T - 1);
        tap_near(t, loss, e->loss, LOSS_TOL, what);
        snprintf(what, sizeof what, "%s: eval perplexity", name);
        tap_near(t, exp(loss), e->ppl, LOSS_TOL * e->ppl, what);
    }
    free(logits);
}

/* Greedy decoding from the prompt prefix, on a single-thread state so the
 * one-thread kernels are covered too. */
static void check_greedy(tap_t *t, const char *name, const gpt_model_t *m, const expected_t *e) {
    char err[512] = "";
    int V = m->cfg.n_vocab, n = e->n_greedy;
    gpt_state_t *s = gpt_state_init(m, e->n_greedy_prompt, 1, err, sizeof err);
    float *logits = malloc((size_t)V * sizeof *logits);
    int *out = calloc((size_t)n, sizeof *out);
    int rc = s && logits && out ? gpt_forward(s, e->greedy_prompt, e->n_greedy_prompt, logits, 0,
                                              NULL, err, sizeof err)
                                : -1;
    int done = 0;
    while (rc == 0 && done < n) {
        out[done] = argmax(logits, V);
        rc = gpt_forward(s, &out[done], 1, logits, 0, NULL, err, sizeof err);
        done++;
    }
    char what[128];
    snprintf(what, sizeof what, "%s: greedy continuation matches torch", name);
    if (tap_ok(t, rc == 0, "%s: greedy decoding ran %d steps %s", name, done, rc ? err : ""))
        check_ids(t, what, out, (size_t)n, e->greedy_ids, (size_t)n);
    free(out);
    free(logits);
    gpt_state_free(s);
}

static void check_model(tap_t *t, const char *name) {
    char dir[1024], rel[256], err[512] = "";
    snprintf(rel, sizeof rel, "tests/reference/models/%s", name);
    TAP_SRC(dir, rel);
    gpt_model_t *m = gpt_load(dir, err, sizeof err);
    if (!tap_ok(t, m != NULL, "%s: gpt_load %s", name, m ? "" : err)) return;

    expected_t e;
    if (!tap_ok(t, expected_load(&e, dir, &m->cfg) == 0, "%s: expected.json read", name)) {
        expected_free(&e);
        gpt_free(m);
        return;
    }
    check_config(t, name, m, cJSON_GetObjectItemCaseSensitive(e.root, "config"));
    check_tokenizer(t, name, dir, m, &e);

    gpt_state_t *s = gpt_state_init(m, m->cfg.n_ctx, N_THREADS, err, sizeof err);
    if (tap_ok(t, s != NULL, "%s: gpt_state_init %s", name, s ? "" : err)) {
        check_full(t, name, s, &m->cfg, &e);
        check_incremental(t, name, s, &m->cfg, &e);
        check_eval(t, name, s, &m->cfg, &e);
    }
    gpt_state_free(s);
    check_greedy(t, name, m, &e);
    expected_free(&e);
    gpt_free(m);
}

int main(void) {
    tap_t t = {0};
    for (size_t i = 0; i < sizeof MODELS / sizeof MODELS[0]; i++) check_model(&t, MODELS[i]);
    return tap_done(&t);
}
