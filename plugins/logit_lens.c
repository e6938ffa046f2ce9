/* logit_lens.c - the logit lens (nostalgebraist, 2020) as a gptscope pane:
 * what the model would predict for the next token if it stopped after each
 * layer. For the selected position it takes the residual stream after every
 * block (and the embeddings), applies the model's own output head to it (the
 * final LayerNorm where the model has one, then the tied unembedding) and
 * shows the top tokens of the softmax, one row per layer:
 *
 *   emb  | the 12%   , 8%    ...
 *   L0   | ...
 *   L11  | ...        <- the model's real prediction (the last row)
 *
 * The token the model actually produced next, where there is one, is
 * highlighted wherever it appears. /pane logit-lens shows it (TUI: in the
 * probability pane's place; REPL: printed for the last token); /lens N sets
 * how many tokens each row lists.
 *
 * Everything it knows comes through the host functions of
 * gptscope_plugin.h (model_info, hidden_states, unembed, token_text). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gptscope_plugin.h"

#define LENS_MAX_K 10
#define LENS_DEFAULT_K 5
#define LENS_MAX_LAYERS 256 /* rows kept; a deeper model shows its last ones */

typedef struct lens_row {
    int id[LENS_MAX_K];
    float p[LENS_MAX_K];
} lens_row_t;

typedef struct lens {
    gsp_plugin_t desc;
    const gsp_host_api_t *host;
    int k;                 /* tokens per row (/lens N) */
    /* the last computed table, for (key, n_layer): redrawing costs nothing */
    uint64_t key;
    int have, n_rows, n_layer, n_embd, n_vocab;
    lens_row_t rows[LENS_MAX_LAYERS + 1];
    float *hidden, *logits;
    size_t cap_hidden, cap_logits;
} lens_t;

/* The k most probable ids of softmax(logits), best first. */
static void lens_top(const float *logits, int n, int k, lens_row_t *row) {
    float m = -INFINITY;
    for (int i = 0; i < n; i++)
        if (logits[i] > m) m = logits[i];
    double z = 0.0;
    for (int i = 0; i < n; i++) z += exp((double)(logits[i] - m));
    int got = 0;
    for (int i = 0; i < n; i++) {
        if (got == k && logits[i] <= logits[row->id[k - 1]]) continue;
        int j = got < k ? got++ : k - 1;
        while (j > 0 && logits[row->id[j - 1]] < logits[i]) {
            row->id[j] = row->id[j - 1];
            j--;
        }
        row->id[j] = i;
    }
    for (int j = 0; j < got; j++) row->p[j] = (float)(exp((double)(logits[row->id[j]] - m)) / z);
    for (int j = got; j < LENS_MAX_K; j++) row->id[j] = -1, row->p[j] = 0.0f;
}

static int lens_grow(float **buf, size_t *cap, size_t n) {
    if (n <= *cap) return 0;
    float *b = realloc(*buf, n * sizeof *b);
    if (!b) return -1;
    *buf = b;
    *cap = n;
    return 0;
}

/* FNV-1a over the ids up to pos: the table depends on nothing else. */
static uint64_t lens_key(const gsp_host_api_t *h, int pos, int k) {
    uint64_t x = 0xcbf29ce484222325ull ^ (uint64_t)k;
    for (int i = 0; i <= pos; i++) {
        x ^= (uint64_t)(uint32_t)h->token_id(h->host, i);
        x *= 0x100000001b3ull;
    }
    return x ^ ((uint64_t)pos << 40);
}

static int lens_compute(lens_t *L, int pos, char *err, size_t errlen) {
    const gsp_host_api_t *h = L->host;
    gsp_model_info_t mi;
    if (h->model_info(h->host, &mi) != 0) {
        snprintf(err, errlen, "no model");
        return -1;
    }
    uint64_t key = lens_key(h, pos, L->k);
    if (L->have && key == L->key && L->n_layer == mi.n_layer) return 0;
    size_t nh = (size_t)(mi.n_layer + 1) * (size_t)mi.n_embd;
    if (lens_grow(&L->hidden, &L->cap_hidden, nh) != 0 ||
        lens_grow(&L->logits, &L->cap_logits, (size_t)mi.n_vocab) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (h->hidden_states(h->host, pos, L->hidden, err, errlen) != 0) return -1;
    int first = mi.n_layer + 1 > LENS_MAX_LAYERS + 1 ? mi.n_layer + 1 - (LENS_MAX_LAYERS + 1) : 0;
    L->n_rows = 0;
    for (int l = first; l <= mi.n_layer; l++) {
        if (h->unembed(h->host, L->hidden + (size_t)l * mi.n_embd, L->logits, err, errlen) != 0)
            return -1;
        lens_top(L->logits, mi.n_vocab, L->k, &L->rows[L->n_rows++]);
    }
    L->n_layer = mi.n_layer;
    L->n_embd = mi.n_embd;
    L->n_vocab = mi.n_vocab;
    L->key = key;
    L->have = 1;
    return 0;
}

/* A token's text for a table cell: newlines and tabs as \n \t, other
 * control bytes as '?' (the canvas shows invalid UTF-8 as '?'). */
static void lens_token(const gsp_host_api_t *h, int id, char *out, size_t cap) {
    char raw[64];
    int n = h->token_text(h->host, id, raw, sizeof raw);
    if (n < 0) n = 0;
    if (n > (int)sizeof raw) n = (int)sizeof raw;
    size_t o = 0;
    out[o++] = '\'';
    for (int i = 0; i < n && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '\n') out[o++] = '\\', out[o++] = 'n';
        else if (c == '\t') out[o++] = '\\', out[o++] = 't';
        else if (c < 0x20 || c == 0x7f) out[o++] = '?';
        else out[o++] = (char)c;
    }
    out[o++] = '\'';
    out[o] = 0;
}

/* Cuts s to at most cols characters (a whole UTF-8 character each; the
 * tokens of these vocabularies are one column per character, near enough
 * for a table cell). */
static void lens_fit(char *s, int cols) {
    int n = 0;
    for (char *p = s; *p; p++) {
        if (((unsigned char)*p & 0xc0) == 0x80) continue; /* continuation byte */
        if (n++ == cols) {
            *p = 0;
            return;
        }
    }
}

static int lens_draw(void *self, const gsp_draw_api_t *d, gsp_canvas_t *c, const gsp_view_t *v,
                     char *err, size_t errlen) {
    lens_t *L = self;
    const gsp_host_api_t *h = L->host;
    int W = d->width(c), H = d->height(c);
    if (W < 20 || H < 3) return 0;
    if (v->pos < 0 || v->pos >= v->n_tokens) {
        d->text(c, 0, 0, "no token selected yet", GSP_STYLE_DIM);
        return 0;
    }
    if (v->generating && !L->have) {
        d->text(c, 0, 0, "(computed when the reply ends)", GSP_STYLE_DIM);
        return 0;
    }
    if (!v->generating && lens_compute(L, v->pos, err, errlen) != 0) return -1;
    int next = v->pos + 1 < v->n_tokens ? h->token_id(h->host, v->pos + 1) : -1;
    char tok[96], line[256];
    lens_token(h, h->token_id(h->host, v->pos), tok, sizeof tok);
    snprintf(line, sizeof line, "token %d %s: the next token by layer", v->pos, tok);
    d->text(c, 0, 0, line, GSP_STYLE_BOLD);
    if (next >= 0) {
        lens_token(h, next, tok, sizeof tok);
        snprintf(line, sizeof line, "(it was %s: highlighted)", tok);
        d->text(c, 1, 0, line, GSP_STYLE_DIM);
    }
    /* the rows that fit, the last (the model's prediction) always */
    int avail = H - 2, n = L->n_rows, from = n > avail ? n - avail : 0;
    /* as many of the k tokens as fit at 12 columns or more each */
    int k = L->k, cell;
    while (k > 1 && (W - 5) / k < 12) k--;
    cell = (W - 5) / k;
    for (int r = from; r < n; r++) {
        int y = 2 + r - from, layer = L->n_layer + 1 - n + r; /* 0 = embeddings */
        char label[16];
        if (layer == 0) snprintf(label, sizeof label, "emb");
        else snprintf(label, sizeof label, "L%d", layer - 1);
        d->text(c, y, 0, label, layer == L->n_layer ? GSP_STYLE_BOLD : GSP_STYLE_DIM);
        for (int j = 0; j < k; j++) {
            int id = L->rows[r].id[j], x = 5 + j * cell;
            if (id < 0 || x + 8 > W) break;
            char t[80], cellt[128];
            lens_token(h, id, t, sizeof t);
            snprintf(cellt, sizeof cellt, "%s %2.0f%%", t, 100.0 * L->rows[r].p[j]);
            lens_fit(cellt, cell - 2);
            /* [shade][text], the shade cell says the probability at a glance */
            d->shade(c, y, x, L->rows[r].p[j]);
            d->text(c, y, x + 1, cellt, id == next ? GSP_STYLE_CHOSEN : GSP_STYLE_NORMAL);
        }
    }
    return 0;
}

static int lens_cmd(void *self, const char *args, char *msg, size_t msglen) {
    lens_t *L = self;
    if (!args || !*args) {
        snprintf(msg, msglen, "logit lens: %d tokens per layer (/lens N, 1 to %d)", L->k,
                 LENS_MAX_K);
        return 0;
    }
    char *end;
    long k = strtol(args, &end, 10);
    if (*end || k < 1 || k > LENS_MAX_K) {
        snprintf(msg, msglen, "/lens needs a number of tokens from 1 to %d, not '%s'", LENS_MAX_K,
                 args);
        return -1;
    }
    L->k = (int)k;
    L->have = 0;
    snprintf(msg, msglen, "logit lens: %d tokens per layer", L->k);
    return 0;
}

static void lens_destroy(void *self) {
    lens_t *L = self;
    free(L->hidden);
    free(L->logits);
    free(L);
}

static const gsp_pane_t lens_panes[] = {
    {"logit-lens", "Logit lens", lens_draw},
};

static const gsp_command_t lens_commands[] = {
    {"lens", "[N]", "tokens per layer in the logit-lens pane", lens_cmd},
};

int gptscope_plugin_entry(uint32_t host_abi, const gsp_host_api_t *host, const gsp_plugin_t **out,
                          char *err, size_t errlen) {
    if (host_abi != GSP_ABI_VERSION) {
        snprintf(err, errlen, "logit-lens is built for plugin ABI %u, the host has %u",
                 (unsigned)GSP_ABI_VERSION, (unsigned)host_abi);
        return -1;
    }
    if (!host || host->size < sizeof(gsp_host_api_t)) {
        snprintf(err, errlen, "logit-lens needs the host's hidden_states and unembed");
        return -1;
    }
    lens_t *L = calloc(1, sizeof *L);
    if (!L) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    L->host = host;
    L->k = LENS_DEFAULT_K;
    L->desc = (gsp_plugin_t){
        .abi_version = GSP_ABI_VERSION,
        .name = "logit-lens",
        .version = "1.0.0",
        .description = "each layer's next-token guess for the selected token (/pane logit-lens)",
        .self = L,
        .destroy = lens_destroy,
        .n_panes = 1,
        .panes = lens_panes,
        .n_commands = 1,
        .commands = lens_commands,
    };
    *out = &L->desc;
    return 0;
}
