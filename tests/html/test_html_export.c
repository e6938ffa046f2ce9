/* test_html_export.c - the html-export plugin, loaded as gptscope loads it.
 *
 * dlopens the built html-export.so (argv[1]), checks the ABI handshake, and
 * exports hand-made sessions into memory: a small one with hostile token
 * texts (invalid UTF-8, "</script>", "<b>&\"", a URL) and a fake attention()
 * with known weights, one without a model, one whose attention fails, long
 * ones that force the attention budget's fallbacks, a broken one, and
 * sinks that fail. The page must be valid UTF-8, escape everything, embed
 * JSON that parses and holds the expected quantised weights, and name no
 * network resource.
 *
 *   test_html_export PLUGIN.so                 the TAP test
 *   test_html_export PLUGIN.so --write FILE    writes the small session's
 *                                              page (for the render check)
 */
#include "../../plugins/gptscope_plugin.h"
#include "../tap.h"

#include <dlfcn.h>
#include <stdint.h>

/* ---- a memory sink --------------------------------------------------------- */

typedef struct sink {
    char *data;
    size_t len, cap;
    int calls;
    int fail_at;        /* the call (1-based) that fails; 0: none */
    int calls_after_fail;
} sink_t;

static int sink_write(void *out, const void *data, size_t len) {
    sink_t *s = out;
    s->calls++;
    if (s->fail_at && s->calls > s->fail_at) s->calls_after_fail++;
    if (s->fail_at && s->calls >= s->fail_at) return -1;
    if (s->len + len + 1 > s->cap) {
        size_t cap = (s->len + len + 1) * 2;
        char *p = realloc(s->data, cap);
        if (!p) return -1;
        s->data = p;
        s->cap = cap;
    }
    memcpy(s->data + s->len, data, len);
    s->len += len;
    s->data[s->len] = 0;
    return 0;
}

/* ---- a fake host ------------------------------------------------------------ */

static void host_log(gsp_host_t *h, const char *plugin, const char *msg) {
    (void)h;
    tap_diag("log from %s: %s", plugin, msg);
}
static int host_model_info(gsp_host_t *h, gsp_model_info_t *out) {
    (void)h, (void)out;
    return -1;
}
static int host_token_text(gsp_host_t *h, int id, char *buf, size_t cap) {
    (void)h, (void)id, (void)buf, (void)cap;
    return -1;
}
static int host_n_tokens(gsp_host_t *h) {
    (void)h;
    return 0;
}
static int host_token_id(gsp_host_t *h, int index) {
    (void)h, (void)index;
    return -1;
}
static int host_hidden(gsp_host_t *h, int index, float *out, char *err, size_t errlen) {
    (void)h, (void)index, (void)out;
    snprintf(err, errlen, "no model");
    return -1;
}
static int host_unembed(gsp_host_t *h, const float *r, float *logits, char *err, size_t errlen) {
    (void)h, (void)r, (void)logits;
    snprintf(err, errlen, "no model");
    return -1;
}

/* ---- the fake model's attention ---------------------------------------------- */

/* Token index attends to keys key0..index, key0 = index - window + 1 once the
 * window is full; weight(l, h, k) = (k + 1 + l + 2h) / sum over k. */
typedef struct fake_model {
    int window;
    int fail;     /* attention() returns -1 */
    int calls;
} fake_model_t;

static int fake_n_keys(const fake_model_t *m, int index, int *key0) {
    int n = index + 1 < m->window ? index + 1 : m->window;
    *key0 = index + 1 - n;
    return n;
}

static int fake_attention(const gsp_session_t *s, int index, float *out, size_t cap, int *n_keys,
                          int *key0, char *err, size_t errlen) {
    fake_model_t *m = s->host_data;
    m->calls++;
    if (m->fail) {
        snprintf(err, errlen, "model file is gone");
        return -1;
    }
    int nk = fake_n_keys(m, index, key0);
    if ((size_t)s->n_layer * s->n_head * nk > cap) {
        snprintf(err, errlen, "cap %zu too small", cap);
        return -1;
    }
    for (int l = 0; l < s->n_layer; l++) {
        for (int h = 0; h < s->n_head; h++) {
            /* the sum over keys, once per row */
            double sum = 0;
            for (int j = 0; j < nk; j++) sum += j + 1 + l + 2 * h;
            for (int k = 0; k < nk; k++)
                out[(l * s->n_head + h) * nk + k] = (float)((k + 1 + l + 2 * h) / sum);
        }
    }
    *n_keys = nk;
    return 0;
}

/* ---- sessions ------------------------------------------------------------------ */

#define N_USER 7
#define N_MODEL 16
#define N_CAND 4

typedef struct fixture {
    gsp_token_t tokens[N_USER + N_MODEL];
    gsp_candidate_t cand[N_MODEL][N_CAND];
    gsp_turn_t turns[2];
    gsp_session_t s;
    fake_model_t model;
} fixture_t;

static const char *const user_text[N_USER] = {"Explain", " attention", " in", " one",
                                              " line",   ":",          "\n"};
static const struct {
    const char *text;
    float prob;
} model_tok[N_MODEL] = {
    {" Each", 0.62f},     {" token", 0.91f},        {" looks", 0.12f},  {" back", 0.45f},
    {" at", 0.97f},       {" earlier", 0.33f},      {" ones", 0.08f},   {".", 0.85f},
    {"\n", 0.5f},         {"See", 0.03f},           {" https://x.example", 0.2f},
    {" <b>&\"", 0.04f},   {" </script>", 0.01f},    {" \xff\xfe", 0.02f},
    {" caf\xc3", 0.7f},   {"\xa9", 0.99f},
};
/* Session indices of some of the tokens above. */
#define I_URL (N_USER + 10)
#define I_TAGS (N_USER + 11)
#define I_SCRIPT (N_USER + 12)
#define I_INVALID (N_USER + 13)
#define I_CUT (N_USER + 14)

static void fixture_init(fixture_t *f, int n_layer, int n_head) {
    memset(f, 0, sizeof *f);
    static const char *const alt[N_CAND - 1] = {" the", " a</script>", " \"it\""};
    for (int i = 0; i < N_USER; i++) {
        f->tokens[i] = (gsp_token_t){.id = 100 + i, .text = user_text[i],
                                     .text_len = strlen(user_text[i])};
    }
    for (int j = 0; j < N_MODEL; j++) {
        gsp_token_t *t = &f->tokens[N_USER + j];
        float p = model_tok[j].prob;
        *t = (gsp_token_t){.id = 200 + j, .text = model_tok[j].text,
                           .text_len = strlen(model_tok[j].text), .has_sample = 1, .prob = p,
                           .raw_prob = p * 0.9f, .entropy = 1.25f + 0.1f * j, .rank = j % 3,
                           .n_cand = N_CAND, .cand = f->cand[j]};
        f->cand[j][0] = (gsp_candidate_t){200 + j, model_tok[j].text, p * 0.9f, p, 1};
        for (int c = 1; c < N_CAND; c++) {
            int kept = c < N_CAND - 1;
            float raw = (1 - p) / (float)(c + 1);
            f->cand[j][c] = (gsp_candidate_t){5000 + c, alt[c - 1], raw, kept ? raw : 0, kept};
        }
    }
    f->cand[0][1].raw_prob = 1.5e-6f; /* a tiny number, for the exponent form */
    f->turns[0] = (gsp_turn_t){.role = 0, .first = 0, .n_tokens = N_USER, .tokens = f->tokens};
    f->turns[1] = (gsp_turn_t){.role = 1, .stop = "eos", .first = N_USER, .n_tokens = N_MODEL,
                               .tokens = f->tokens + N_USER,
                               .settings_json = "{\"temperature\":0.5,\"top_k\":40}"};
    f->model.window = 20;
    f->s = (gsp_session_t){
        .id = 42, .created = "2025-01-02T03:04:05Z", .updated = "2025-01-02T03:09:00Z",
        .title = "Attention & <me>", .model_path = "/models/gpt2-small",
        .settings_json = "{\"temperature\":0.8,\"top_p\":0.95,\"seed\":7,\"stop\":[],"
                         "\"penalties\":{\"repeat\":1.1}}",
        .n_turns = 2, .n_tokens = N_USER + N_MODEL, .turns = f->turns, .n_layer = n_layer,
        .n_head = n_head, .attention = n_layer ? fake_attention : NULL, .host_data = &f->model};
}

/* A long one-turn session of n " w" tokens (for the budget). */
typedef struct long_session {
    gsp_token_t *tokens;
    gsp_turn_t turn;
    gsp_session_t s;
    fake_model_t model;
} long_session_t;

static int long_init(long_session_t *ls, int n, int n_layer, int n_head) {
    memset(ls, 0, sizeof *ls);
    ls->tokens = calloc((size_t)n, sizeof *ls->tokens);
    if (!ls->tokens) return -1;
    for (int i = 0; i < n; i++) ls->tokens[i] = (gsp_token_t){.id = 1, .text = " w", .text_len = 2};
    ls->turn = (gsp_turn_t){.role = 0, .first = 0, .n_tokens = n, .tokens = ls->tokens};
    ls->model.window = n;
    ls->s = (gsp_session_t){.id = 7, .title = "long", .n_turns = 1, .n_tokens = n,
                            .turns = &ls->turn, .n_layer = n_layer, .n_head = n_head,
                            .attention = fake_attention, .host_data = &ls->model};
    return 0;
}

/* ---- checks on the page ----------------------------------------------------------- */

static int utf8_valid(const unsigned char *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i], len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
        else return 0;
        if (i + len > n) return 0;
        for (unsigned k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* A JSON syntax check (RFC 8259), enough to say the block parses. */
typedef struct jp {
    const char *p, *end;
    int depth;
} jp_t;

static void jp_ws(jp_t *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static int jp_value(jp_t *j);

static int jp_string(jp_t *j) {
    if (j->p >= j->end || *j->p != '"') return 0;
    j->p++;
    while (j->p < j->end) {
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"') return 1;
        if (c < 0x20) return 0;
        if (c == '\\') {
            if (j->p >= j->end) return 0;
            char e = *j->p++;
            if (e == 'u') {
                for (int k = 0; k < 4; k++, j->p++)
                    if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p)) return 0;
            } else if (!strchr("\"\\/bfnrt", e) || !e) {
                return 0;
            }
        }
    }
    return 0;
}

static int jp_digits(jp_t *j) {
    const char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    return j->p > s;
}

static int jp_number(jp_t *j) {
    if (j->p < j->end && *j->p == '-') j->p++;
    if (j->p < j->end && *j->p == '0') j->p++;
    else if (!jp_digits(j)) return 0;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!jp_digits(j)) return 0;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (!jp_digits(j)) return 0;
    }
    return 1;
}

static int jp_list(jp_t *j, char close, int members) {
    j->p++;
    jp_ws(j);
    if (j->p < j->end && *j->p == close) return j->p++, 1;
    for (;;) {
        jp_ws(j);
        if (members) {
            if (!jp_string(j)) return 0;
            jp_ws(j);
            if (j->p >= j->end || *j->p++ != ':') return 0;
        }
        if (!jp_value(j)) return 0;
        jp_ws(j);
        if (j->p >= j->end) return 0;
        char c = *j->p++;
        if (c == close) return 1;
        if (c != ',') return 0;
    }
}

static int jp_value(jp_t *j) {
    jp_ws(j);
    if (j->p >= j->end || ++j->depth > 64) return 0;
    int ok;
    char c = *j->p;
    size_t left = (size_t)(j->end - j->p);
    if (c == '{') ok = jp_list(j, '}', 1);
    else if (c == '[') ok = jp_list(j, ']', 0);
    else if (c == '"') ok = jp_string(j);
    else if (left >= 4 && !strncmp(j->p, "true", 4)) ok = 1, j->p += 4;
    else if (left >= 5 && !strncmp(j->p, "false", 5)) ok = 1, j->p += 5;
    else if (left >= 4 && !strncmp(j->p, "null", 4)) ok = 1, j->p += 4;
    else ok = jp_number(j);
    j->depth--;
    return ok;
}

static int json_parses(const char *p, size_t n) {
    jp_t j = {p, p + n, 0};
    if (!jp_value(&j)) return 0;
    jp_ws(&j);
    return j.p == j.end;
}

#define DATA_OPEN "<script type=\"application/json\" id=\"data\">"

/* The data block's text (a copy), or NULL. */
static char *data_block(const char *page) {
    const char *a = strstr(page, DATA_OPEN);
    if (!a) return NULL;
    a += strlen(DATA_OPEN);
    const char *b = strstr(a, "</script>");
    if (!b) return NULL;
    char *d = malloc((size_t)(b - a) + 1);
    if (!d) return NULL;
    memcpy(d, a, (size_t)(b - a));
    d[b - a] = 0;
    return d;
}

/* `"key0":K,"att":[...]` as the plugin must write it for token index of f. */
static void expected_att(char *buf, size_t cap, const gsp_session_t *s, const fake_model_t *m,
                         int index) {
    int key0, nk = fake_n_keys(m, index, &key0);
    size_t len = (size_t)snprintf(buf, cap, "\"key0\":%d,\"att\":[", key0);
    for (int l = 0; l < s->n_layer; l++)
        for (int h = 0; h < s->n_head; h++) {
            double sum = 0;
            for (int j = 0; j < nk; j++) sum += j + 1 + l + 2 * h;
            for (int k = 0; k < nk && len < cap; k++) {
                float w = (float)((k + 1 + l + 2 * h) / sum);
                unsigned q = (unsigned)(w * 1000.0 + 0.5);
                len += (size_t)snprintf(buf + len, cap - len, "%s%u", len && buf[len - 1] != '[' ? "," : "", q);
            }
        }
    if (len < cap) snprintf(buf + len, cap - len, "]");
}

typedef struct plugin {
    void *so;
    gsp_entry_fn entry;
    const gsp_plugin_t *desc;
    const gsp_exporter_t *ex;
} plugin_t;

static int export_session(const plugin_t *pl, const gsp_session_t *s, sink_t *out, char *err,
                  size_t errlen) {
    err[0] = 0;
    return pl->ex->run(pl->desc->self, s, sink_write, out, err, errlen);
}

static void check_small(tap_t *t, const plugin_t *pl) {
    fixture_t *f = malloc(sizeof *f);
    if (!f) {
        tap_ok(t, 0, "fixture allocated");
        return;
    }
    fixture_init(f, 2, 3);
    sink_t out = {0};
    char err[256];
    int rc = export_session(pl, &f->s, &out, err, sizeof err);
    if (!tap_ok(t, rc == 0 && out.len > 0, "export of a 2-turn session (%zu bytes) %s", out.len,
                err)) {
        free(out.data);
        free(f);
        return;
    }
    const char *page = out.data;
    tap_ok(t, strlen(page) == out.len, "no NUL bytes in the page");
    tap_ok(t, utf8_valid((const unsigned char *)page, out.len), "the page is valid UTF-8");
    tap_ok(t, strncmp(page, "<!DOCTYPE html>\n", 16) == 0 && strstr(page, "</html>\n") &&
                  strcmp(page + out.len - 8, "</html>\n") == 0,
           "an HTML5 document from doctype to </html>");
    tap_ok(t,
           strstr(page, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                        "'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src "
                        "data:\">") != NULL,
           "the Content-Security-Policy meta");
    tap_ok(t, f->model.calls == f->s.n_tokens, "attention() asked once per token (%d calls)",
           f->model.calls);

    /* the header */
    tap_ok(t, strstr(page, "<h1>Attention &amp; &lt;me&gt;<small>session 42</small></h1>") != NULL,
           "title escaped, session id in the heading");
    tap_ok(t, strstr(page, "<dd>2025-01-02T03:04:05Z</dd>") && strstr(page, "<dd>2025-01-02T03:09:00Z</dd>"),
           "created and updated");
    tap_ok(t, strstr(page, "<dd>&#47;models&#47;gpt2-small</dd>") != NULL, "the model path");
    tap_ok(t, strstr(page, "{\n  &quot;temperature&quot;: 0.8,\n  &quot;top_p&quot;: 0.95,") &&
                  strstr(page, "&quot;stop&quot;: [],\n") &&
                  strstr(page, "&quot;penalties&quot;: {\n    &quot;repeat&quot;: 1.1\n  }\n}"),
           "the settings pretty-printed");
    tap_ok(t, strstr(page, "&quot;top_k&quot;: 40") != NULL, "a turn's own settings");

    /* the transcript */
    tap_ok(t, strstr(page, "<div class=\"who\">Model<span class=\"chip\">stop: eos</span>") != NULL,
           "model turn with its stop reason");
    tap_ok(t, strstr(page, "<span class=\"t\" data-i=\"1\"> attention</span>") != NULL,
           "a prompt token is uncoloured");
    char want[4096];
    snprintf(want, sizeof want, "<span class=\"t s p0\" data-i=\"%d\"> &lt;&#47;script&gt;</span>",
             I_SCRIPT);
    tap_ok(t, strstr(page, want) != NULL, "\"</script>\" escaped in the transcript, prob 0.01 -> p0");
    snprintf(want, sizeof want, "data-i=\"%d\"> &lt;b&gt;&amp;&quot;</span>", I_TAGS);
    tap_ok(t, strstr(page, want) != NULL, "<b>&\" escaped in the transcript");
    tap_ok(t, strstr(page, "<b>") == NULL && strstr(page, "<b>&") == NULL, "no raw <b> anywhere");
    snprintf(want, sizeof want, "data-i=\"%d\"> \xEF\xBF\xBD\xEF\xBF\xBD</span>", I_INVALID);
    tap_ok(t, strstr(page, want) != NULL, "invalid bytes FF FE become two U+FFFD");
    snprintf(want, sizeof want,
             "data-i=\"%d\"> caf\xEF\xBF\xBD</span><span class=\"t s p5\" data-i=\"%d\">\xEF\xBF\xBD</span>",
             I_CUT, I_CUT + 1);
    tap_ok(t, strstr(page, want) != NULL, "a character cut between tokens: U+FFFD in each");
    tap_ok(t, strstr(page, "data-i=\"6\"><span class=\"nl\">\xE2\x86\xB5</span>\n</span>") != NULL,
           "a newline token shows a mark and a line break");
    tap_ok(t, strstr(page, "class=\"t s p5\" data-i=\"11\"> at<") &&
                  strstr(page, "class=\"t s p1\" data-i=\"9\"> looks<") &&
                  strstr(page, "class=\"t s p4\" data-i=\"7\"> Each<"),
           "probability bins 0.97 -> p5, 0.12 -> p1, 0.62 -> p4");
    tap_ok(t, count(page, "class=\"sw p") == 6, "a legend with the six probability colours");

    /* no network */
    tap_ok(t, strstr(page, "://") == NULL, "no \"://\" anywhere in the page");
    snprintf(want, sizeof want, "data-i=\"%d\"> https:&#47;&#47;x.example</span>", I_URL);
    tap_ok(t, strstr(page, want) != NULL, "the URL token is escaped text in the transcript");
    tap_ok(t, strstr(page, "\"text\":\" https:\\/\\/x.example\"") != NULL,
           "and an escaped string in the data");
    tap_ok(t, !strstr(page, "src=") && !strstr(page, "href=") && !strstr(page, "url(") &&
                  !strstr(page, "@import") && !strstr(page, "<link") && !strstr(page, "<img") &&
                  !strstr(page, "<iframe") && !strstr(page, "fetch(") &&
                  !strstr(page, "XMLHttpRequest"),
           "no src=, href=, url(), @import, <link>, <img>, fetch or XHR");

    /* the data block */
    tap_ok(t, count(page, "</script") == 2, "\"</script\" only closes the two script blocks");
    char *data = data_block(page);
    tap_ok(t, data && !strchr(data, '<'), "no '<' inside the data block");
    tap_ok(t, data && json_parses(data, strlen(data)), "the data block is valid JSON");
    if (data) {
        tap_ok(t, strstr(data, "\"n_layer\":2,\"n_head\":3,\"attn\":\"head\"") != NULL,
               "per-head attention for a small session");
        tap_ok(t, strstr(data, "\"text\":\" \\u003c\\/script\\u003e\"") &&
                      strstr(data, "\" a\\u003c\\/script\\u003e\"") &&
                      strstr(data, "\"text\":\" \\u003cb\\u003e\\u0026\\\"\""),
               "token and candidate texts escaped in JSON");
        tap_ok(t, strstr(data, "\"text\":\" \\ufffd\\ufffd\"") && strstr(data, "\"text\":\"\\n\""),
               "U+FFFD and \\n in JSON strings");
        tap_ok(t, strstr(data, "{\"i\":7,\"id\":200,\"role\":1,\"text\":\" Each\",\"prob\":0.62,"
                               "\"raw\":0.558,\"ent\":1.25,\"rank\":0,\"cand\":[[200,\" Each\","
                               "0.558,0.62,1],[5001,\" the\",1.5e-6,0.19,1],") != NULL,
               "a sampled token's numbers and candidates");
        tap_ok(t, strstr(data, ",[5003,\" \\\"it\\\"\",0.095,0,0]]") != NULL,
               "a filtered candidate: prob 0, kept 0");
        snprintf(want, sizeof want, "{\"i\":0,\"id\":100,\"role\":0,\"text\":\"Explain\",");
        tap_ok(t, strstr(data, want) != NULL, "a prompt token has no sampling fields");
        static char att[16384];
        expected_att(att, sizeof att, &f->s, &f->model, 8);
        tap_ok(t, strstr(data, att) != NULL, "token 8's attention, 2x3x9 weights to 3 decimals");
        expected_att(att, sizeof att, &f->s, &f->model, N_USER + N_MODEL - 1);
        tap_ok(t, strstr(data, att) != NULL && strstr(att, "\"key0\":3,"),
               "the last token's attention over a 20-key window from key 3");
    }
    tap_ok(t, strstr(page, "Attention: every head of every layer") != NULL,
           "the page says per-head attention is shown");
    free(data);
    free(out.data);

    /* a sink that fails at once, then one that fails part way (the page is
     * over one 16 KiB buffer, so there are at least two writes) */
    for (int fail_at = 1; fail_at <= 2; fail_at++) {
        sink_t bad = {0};
        bad.fail_at = fail_at;
        rc = export_session(pl, &f->s, &bad, err, sizeof err);
        tap_ok(t, rc == -1 && strstr(err, "write failed") && bad.calls_after_fail == 0,
               "a sink failing at write %d: -1, \"%s\", no write after it", fail_at, err);
        free(bad.data);
    }

    /* no model: n_layer 0 */
    fixture_init(f, 0, 0);
    sink_t none = {0};
    rc = export_session(pl, &f->s, &none, err, sizeof err);
    tap_ok(t, rc == 0 && none.data && strstr(none.data, "Attention heatmaps unavailable: the session") &&
                  strstr(none.data, "\"attn\":\"none\"") && !strstr(none.data, "\"att\":[") &&
                  utf8_valid((const unsigned char *)none.data, none.len),
           "n_layer 0: exported, no heatmaps, and the page says so");
    free(none.data);

    /* attention() failing */
    fixture_init(f, 2, 3);
    f->model.fail = 1;
    sink_t failed = {0};
    rc = export_session(pl, &f->s, &failed, err, sizeof err);
    tap_ok(t, rc == 0 && failed.data &&
                  strstr(failed.data, "Attention heatmaps unavailable: model file is gone") &&
                  strstr(failed.data, "\"attn\":\"none\""),
           "attention() returning -1: exported without heatmaps, with its reason");
    free(failed.data);

    /* a broken session */
    fixture_init(f, 2, 3);
    f->turns[1].first = 20; /* runs past n_tokens */
    sink_t broken = {0};
    rc = export_session(pl, &f->s, &broken, err, sizeof err);
    tap_ok(t, rc == -1 && strstr(err, "out of range") && broken.calls == 0,
           "a token index out of range: -1 before writing (\"%s\")", err);
    free(broken.data);
    free(f);
}

/* The budget: 200 tokens x 12x12 heads pass 2M numbers per head (head means
 * per layer); 600 pass it per layer (one mean row); 2100 with one head pass
 * it even so (the first 1999 tokens only: 1999 * 2000 / 2 <= 2M). */
static void check_budget(tap_t *t, const plugin_t *pl) {
    static const struct {
        int n, n_layer, n_head;
        const char *level, *note;
    } cases[] = {
        {200, 12, 12, "\"attn\":\"layer\"", "the mean of the heads of each layer"},
        {600, 12, 12, "\"attn\":\"mean\"", "the mean of all layers and heads"},
        {2100, 1, 1, "\"attn\":\"mean\"", "Only 1999 of 2100 tokens have attention"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        long_session_t ls;
        if (long_init(&ls, cases[c].n, cases[c].n_layer, cases[c].n_head) != 0) {
            tap_ok(t, 0, "long session allocated");
            continue;
        }
        sink_t out = {0};
        char err[256];
        int rc = export_session(pl, &ls.s, &out, err, sizeof err);
        char *data = rc == 0 ? data_block(out.data) : NULL;
        tap_ok(t, rc == 0 && data && strstr(data, cases[c].level) && strstr(out.data, cases[c].note) &&
                      json_parses(data, strlen(data)),
               "%d tokens, %dx%d heads: %s, \"%s\" (%zu bytes)", cases[c].n, cases[c].n_layer,
               cases[c].n_head, cases[c].level, cases[c].note, out.len);
        if (c == 2) {
            tap_ok(t, data && strstr(data, "{\"i\":1998,") && strstr(strstr(data, "{\"i\":1998,"), "\"att\":[") &&
                          !strstr(strstr(data, "{\"i\":1999,"), "\"att\":["),
                   "token 1998 has attention, token 1999 and later have none");
        }
        free(data);
        free(out.data);
        free(ls.tokens);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_html_export PLUGIN.so [--write FILE]\n");
        return 2;
    }
    tap_t t = {0};
    plugin_t pl = {0};
    pl.so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!tap_ok(&t, pl.so != NULL, "dlopen %s %s", argv[1], pl.so ? "" : dlerror()))
        return tap_done(&t);
    *(void **)&pl.entry = dlsym(pl.so, GSP_ENTRY_SYMBOL);
    if (!tap_ok(&t, pl.entry != NULL, "exports " GSP_ENTRY_SYMBOL)) {
        dlclose(pl.so);
        return tap_done(&t);
    }
    gsp_host_api_t host = {.abi_version = GSP_ABI_VERSION, .size = sizeof host,
                           .log = host_log, .model_info = host_model_info,
                           .token_text = host_token_text, .n_tokens = host_n_tokens,
                           .token_id = host_token_id, .hidden_states = host_hidden,
                           .unembed = host_unembed};
    char err[256] = "";
    const gsp_plugin_t *desc = NULL;
    int rc = pl.entry(999, &host, &desc, err, sizeof err);
    tap_ok(&t, rc == -1 && desc == NULL && strstr(err, "999") && strstr(err, "ABI 1"),
           "host ABI 999 refused, naming both versions (\"%s\")", err);
    err[0] = 0;
    rc = pl.entry(GSP_ABI_VERSION, &host, &pl.desc, err, sizeof err);
    int ok = tap_ok(&t, rc == 0 && pl.desc && pl.desc->abi_version == GSP_ABI_VERSION &&
                            strcmp(pl.desc->name, "html-export") == 0 &&
                            strcmp(pl.desc->version, "1.0.0") == 0 && pl.desc->destroy &&
                            pl.desc->n_exporters == 1 && pl.desc->exporters &&
                            strcmp(pl.desc->exporters[0].format, "html") == 0 &&
                            strcmp(pl.desc->exporters[0].extension, "html") == 0 &&
                            pl.desc->exporters[0].run && pl.desc->n_samplers == 0 &&
                            pl.desc->n_panes == 0 && pl.desc->n_commands == 0 &&
                            !pl.desc->process_logits,
                    "ABI 1 accepted: html-export 1.0.0 with one exporter, html/.html %s", err);
    if (ok) {
        pl.ex = &pl.desc->exporters[0];
        if (argc == 4 && strcmp(argv[2], "--write") == 0) {
            fixture_t *f = malloc(sizeof *f);
            sink_t out = {0};
            rc = -1;
            if (f) {
                fixture_init(f, 2, 3);
                rc = export_session(&pl, &f->s, &out, err, sizeof err);
            }
            FILE *fp = rc == 0 ? fopen(argv[3], "wb") : NULL;
            int written = fp && fwrite(out.data, 1, out.len, fp) == out.len;
            if (fp && fclose(fp) != 0) written = 0;
            tap_ok(&t, written, "page written to %s %s", argv[3], err);
            free(out.data);
            free(f);
        } else {
            check_small(&t, &pl);
            check_budget(&t, &pl);
        }
        pl.desc->destroy(pl.desc->self);
    }
    dlclose(pl.so);
    return tap_done(&t);
}
