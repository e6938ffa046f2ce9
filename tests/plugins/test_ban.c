/* test_ban.c - a plugin for the tests (not shipped): every hook but the
 * sampler, each with an effect a test can see.
 *   process_logits   bans the ids in $GPTSCOPE_TEST_BAN ("5,17") and those
 *                    added with /ban ID: they must never be generated
 *   observers        count the tokens they saw (/seen prints the counts)
 *   pane "test-pane" draws fixed text and a shade ramp
 *   exporter "count" writes "turns T tokens N sampled S attention A\n",
 *                    A = tokens whose attention rows summed to 1
 * With $GPTSCOPE_TEST_FAIL set, process_logits fails ("logits refused"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gptscope_plugin.h"

#define BAN_MAX 64

typedef struct ban {
    gsp_plugin_t desc;
    const gsp_host_api_t *host;
    int ids[BAN_MAX], n;
    long seen_hidden, seen_attn;
    int hidden_ok, attn_ok; /* the views had the shapes they claim */
} ban_t;

static int ban_process(void *self, float *logits, int n_vocab, const int *history, int n_history,
                       char *err, size_t errlen) {
    ban_t *b = self;
    (void)history;
    (void)n_history;
    if (getenv("GPTSCOPE_TEST_FAIL")) {
        snprintf(err, errlen, "logits refused");
        return -1;
    }
    for (int i = 0; i < b->n; i++)
        if (b->ids[i] >= 0 && b->ids[i] < n_vocab) logits[b->ids[i]] = -INFINITY;
    return 0;
}

static void ban_hidden(void *self, const gsp_hidden_view_t *v) {
    ban_t *b = self;
    b->seen_hidden++;
    b->hidden_ok += v->hidden && v->n_layer > 0 && v->n_embd > 0 && isfinite(v->hidden[0]) &&
                    isfinite(v->hidden[(size_t)v->n_layer * v->n_embd + v->n_embd - 1]);
}

static void ban_attention(void *self, const gsp_attention_view_t *v) {
    ban_t *b = self;
    b->seen_attn++;
    double sum = 0;
    for (int k = 0; k < v->n_keys; k++) sum += v->weights[k]; /* layer 0, head 0 */
    b->attn_ok += v->n_keys == v->index - v->window_start + 1 && fabs(sum - 1.0) < 1e-4;
}

static int ban_cmd(void *self, const char *args, char *msg, size_t msglen) {
    ban_t *b = self;
    char *end;
    long id = strtol(args, &end, 10);
    if (!*args || *end || id < 0 || b->n == BAN_MAX) {
        snprintf(msg, msglen, "/ban needs a token id");
        return -1;
    }
    b->ids[b->n++] = (int)id;
    snprintf(msg, msglen, "banned %ld", id);
    return 0;
}

static int seen_cmd(void *self, const char *args, char *msg, size_t msglen) {
    ban_t *b = self;
    (void)args;
    snprintf(msg, msglen, "seen hidden %ld (ok %d) attention %ld (ok %d)", b->seen_hidden,
             b->hidden_ok, b->seen_attn, b->attn_ok);
    return 0;
}

static int ban_pane(void *self, const gsp_draw_api_t *d, gsp_canvas_t *c, const gsp_view_t *v,
                    char *err, size_t errlen) {
    (void)self;
    (void)err;
    (void)errlen;
    char line[96];
    snprintf(line, sizeof line, "test pane: %d tokens, pos %d, %dx%d", v->n_tokens, v->pos,
             d->width(c), d->height(c));
    d->text(c, 0, 0, line, GSP_STYLE_BOLD);
    for (int i = 0; i < 10; i++) d->shade(c, 1, i, (float)i / 9.0f);
    d->text(c, 2, 0, "ctl\x01" "bad\xff" "end", GSP_STYLE_NORMAL);
    d->text(c, 99, 99, "off the canvas", GSP_STYLE_NORMAL);
    return 0;
}

static int count_export(void *self, const gsp_session_t *s, gsp_write_fn write, void *out,
                        char *err, size_t errlen) {
    (void)self;
    int sampled = 0, attn = 0;
    size_t cap = (size_t)s->n_layer * (size_t)s->n_head * (size_t)(s->n_tokens + 1);
    float *w = cap ? malloc(cap * sizeof *w) : NULL;
    for (int t = 0; t < s->n_turns; t++)
        for (int k = 0; k < s->turns[t].n_tokens; k++) {
            const gsp_token_t *tok = &s->turns[t].tokens[k];
            sampled += tok->has_sample;
            int n_keys = 0, key0 = 0, index = s->turns[t].first + k;
            char e[200];
            if (w && s->attention(s, index, w, cap, &n_keys, &key0, e, sizeof e) == 0) {
                double sum = 0;
                for (int j = 0; j < n_keys; j++) sum += w[j];
                attn += fabs(sum - 1.0) < 1e-4 && key0 + n_keys - 1 == index;
            }
        }
    free(w);
    char line[128];
    int n = snprintf(line, sizeof line, "turns %d tokens %d sampled %d attention %d\n", s->n_turns,
                     s->n_tokens, sampled, attn);
    if (write(out, line, (size_t)n) != 0) {
        snprintf(err, errlen, "write failed");
        return -1;
    }
    return 0;
}

static void ban_destroy(void *self) { free(self); }

static const gsp_command_t ban_commands[] = {
    {"ban", "ID", "never generate token ID", ban_cmd},
    {"seen", "", "what the observers saw", seen_cmd},
};
static const gsp_pane_t ban_panes[] = {{"test-pane", "Test pane", ban_pane}};
static const gsp_exporter_t ban_exporters[] = {{"count", "txt", "token counts", count_export}};

int gptscope_plugin_entry(uint32_t host_abi, const gsp_host_api_t *host, const gsp_plugin_t **out,
                          char *err, size_t errlen) {
    if (host_abi != GSP_ABI_VERSION) {
        snprintf(err, errlen, "test-ban wants ABI %u, not %u", (unsigned)GSP_ABI_VERSION,
                 (unsigned)host_abi);
        return -1;
    }
    ban_t *b = calloc(1, sizeof *b);
    if (!b) return -1;
    b->host = host;
    const char *env = getenv("GPTSCOPE_TEST_BAN");
    while (env && *env && b->n < BAN_MAX) {
        char *end;
        long id = strtol(env, &end, 10);
        if (end == env) break;
        b->ids[b->n++] = (int)id;
        env = *end == ',' ? end + 1 : end;
    }
    b->desc = (gsp_plugin_t){.abi_version = GSP_ABI_VERSION,
                             .name = "test-ban",
                             .version = "0.1",
                             .description = "bans tokens, counts what it observes (tests)",
                             .self = b,
                             .destroy = ban_destroy,
                             .process_logits = ban_process,
                             .observe_hidden = ban_hidden,
                             .observe_attention = ban_attention,
                             .n_panes = 1,
                             .panes = ban_panes,
                             .n_commands = 2,
                             .commands = ban_commands,
                             .n_exporters = 1,
                             .exporters = ban_exporters};
    *out = &b->desc;
    return 0;
}
