/* html_export.c - the html-export plugin: `gptscope sessions export ID --format html`.
 *
 * Writes one self-contained HTML5 page for a stored session: a header (id,
 * title, dates, model, settings), the transcript with every sampled token a
 * <span> shaded by the probability it was drawn with, and an inspector that
 * shows the hovered token's candidate table and its attention over the
 * tokens before it (as a row of cells, and shaded onto the transcript), with
 * a layer and head selector.
 *
 * Everything is inline (CSS, JS, data) and the page carries a Content
 * Security Policy that forbids every fetch, so it opens offline and loads
 * nothing. The per-token data is one <script type="application/json"> block;
 * attention weights are integers round(w * 1000), per head when the whole
 * session fits HX_ATT_BUDGET numbers, else head means per layer, else one
 * mean row per token (for as many tokens as fit), and the page says which.
 *
 * Text is escaped byte by byte: invalid UTF-8 (a character cut between two
 * tokens included) becomes U+FFFD, control bytes their Unicode pictures, and
 * '/' is escaped too, so the file is valid UTF-8, no token can close the
 * data block, and no "://" appears in it outside escaped text.
 */
#include "gptscope_plugin.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HX_NAME "html-export"
#define HX_VERSION "1.0.0"
/* Most attention numbers one page embeds (about 8 MB of JSON at worst). */
#define HX_ATT_BUDGET 2000000u
/* Weights are stored as round(w * HX_ATT_SCALE): three decimals. */
#define HX_ATT_SCALE 1000

enum { HX_ATT_NONE, HX_ATT_MEAN, HX_ATT_LAYER, HX_ATT_HEAD };
static const char *const hx_att_level_name[] = {"none", "mean", "layer", "head"};

/* Probability bins of the transcript's shading: a token drawn with
 * probability p gets the last bin whose lower bound is <= p. Low
 * probabilities are the strong colours, so surprising tokens stand out. */
typedef struct hx_bin {
    float lo;
    const char *color, *label;
} hx_bin_t;
static const hx_bin_t hx_bins[] = {
    {0.00f, "#fca5a5", "&lt; 5%"}, {0.05f, "#fdba74", "5–15%"},  {0.15f, "#fcd34d", "15–30%"},
    {0.30f, "#fef08a", "30–50%"},  {0.50f, "#d9f99d", "50–80%"}, {0.80f, "#bbf7d0", "≥ 80%"},
};
#define HX_N_BINS ((int)(sizeof hx_bins / sizeof hx_bins[0]))

/* ---- the buffered writer -------------------------------------------------- */

/* Output goes through buf to the host's gsp_write_fn; the first failed write
 * makes every later one a no-op, and the exporter checks `failed`. */
typedef struct hx_out {
    gsp_write_fn write;
    void *sink;
    int failed;
    size_t len;     /* bytes waiting in buf */
    size_t written; /* bytes the sink accepted */
    char buf[1 << 14];
} hx_out_t;

static void hx_flush(hx_out_t *o) {
    if (o->failed || o->len == 0) return;
    if (o->write(o->sink, o->buf, o->len) != 0) {
        o->failed = 1;
        return;
    }
    o->written += o->len;
    o->len = 0;
}

static void hx_bytes(hx_out_t *o, const void *data, size_t n) {
    const char *p = data;
    while (n > 0 && !o->failed) {
        if (o->len == sizeof o->buf) {
            hx_flush(o);
            continue;
        }
        size_t k = sizeof o->buf - o->len;
        if (k > n) k = n;
        memcpy(o->buf + o->len, p, k);
        o->len += k;
        p += k;
        n -= k;
    }
}

static void hx_str(hx_out_t *o, const char *s) { hx_bytes(o, s, strlen(s)); }

/* printf for integers and trusted strings only: %f would follow the host's
 * LC_NUMERIC (a TUI sets the locale), numbers go through hx_num. */
static __attribute__((format(printf, 2, 3))) void hx_fmt(hx_out_t *o, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    hx_bytes(o, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* A JSON number with about four significant digits, written with integer
 * arithmetic so that the locale cannot turn "0.5" into "0,5"; null for NaN
 * and infinities, which JSON cannot hold. */
static void hx_num(hx_out_t *o, double v) {
    if (!isfinite(v)) {
        hx_str(o, "null");
        return;
    }
    const char *sign = v < 0 ? "-" : "";
    double a = fabs(v);
    if (a == 0) {
        hx_str(o, "0");
    } else if (a >= 1e-3 && a < 1e9) {
        long long scaled = llround(a * 10000.0);
        long long whole = scaled / 10000, frac = scaled % 10000;
        char digits[8];
        snprintf(digits, sizeof digits, "%04lld", frac);
        for (int i = 3; i >= 0 && digits[i] == '0'; i--) digits[i] = 0;
        if (digits[0]) hx_fmt(o, "%s%lld.%s", sign, whole, digits);
        else hx_fmt(o, "%s%lld", sign, whole);
    } else {
        int e = (int)floor(log10(a));
        long long m = llround(a / pow(10.0, e) * 1000.0); /* 1000..10000 */
        if (m >= 10000) {
            m /= 10;
            e++;
        }
        char digits[8];
        snprintf(digits, sizeof digits, "%03lld", m % 1000);
        for (int i = 2; i >= 0 && digits[i] == '0'; i--) digits[i] = 0;
        hx_fmt(o, "%s%lld%s%se%d", sign, m / 1000, digits[0] ? "." : "", digits, e);
    }
}

/* ---- text: UTF-8 checking and escaping ------------------------------------ */

/* Length of the valid UTF-8 character at p (n bytes left), or 0: stray
 * continuation bytes, overlong forms, surrogates, code points above U+10FFFF
 * and characters cut short are all invalid. */
static size_t hx_utf8_len(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (n < len) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* Bytes that one U+FFFD replaces at an invalid p: the byte and the
 * continuation bytes after it (a cut character counts once). */
static size_t hx_invalid_len(const unsigned char *p, size_t n) {
    size_t k = 1;
    while (k < n && k < 4 && (p[k] & 0xC0) == 0x80) k++;
    return k;
}

#define HX_FFFD "\xEF\xBF\xBD"

/* The Unicode control picture of a C0 byte or DEL (U+2400..U+2421). */
static void hx_control_picture(unsigned char c, char pic[4]) {
    unsigned cp = c == 0x7F ? 0x2421 : 0x2400 + c;
    pic[0] = (char)0xE2;
    pic[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    pic[2] = (char)(0x80 | (cp & 0x3F));
    pic[3] = 0;
}

/* The escaping loop both outputs share: valid UTF-8 is copied, an invalid
 * sequence becomes `invalid`, and an ASCII byte becomes what rep returns for
 * it (NULL: itself). Plain runs are written in one piece. */
typedef const char *(*hx_rep_fn)(unsigned char c, char buf[8], int flag);

static void hx_escape(hx_out_t *o, const char *text, size_t n, hx_rep_fn rep_of, int flag,
                      const char *invalid) {
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0, run = 0; /* p[run..i) is plain and not yet written */
    while (i < n) {
        unsigned char c = p[i];
        size_t len = 1;
        const char *rep = NULL;
        char buf[8];
        if (c >= 0x80) {
            len = hx_utf8_len(p + i, n - i);
            if (len == 0) len = hx_invalid_len(p + i, n - i), rep = invalid;
        } else {
            rep = rep_of(c, buf, flag);
        }
        if (rep) {
            hx_bytes(o, p + run, i - run);
            hx_str(o, rep);
            run = i + len;
        }
        i += len;
    }
    hx_bytes(o, p + run, n - run);
}

/* HTML: entities; a newline also gets a visible return mark when flag is
 * set (token texts); control bytes as their pictures. */
static const char *hx_html_rep(unsigned char c, char buf[8], int mark_newlines) {
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    case '/': return "&#47;";
    case '\n': return mark_newlines ? "<span class=\"nl\">\xE2\x86\xB5</span>\n" : NULL;
    case '\t': return NULL;
    default:
        if (c < 0x20 || c == 0x7F) {
            hx_control_picture(c, buf);
            return buf;
        }
        return NULL;
    }
}

/* Text for an HTML element's content (or a quoted attribute). mark_newlines:
 * a newline also gets a visible return mark (token texts). */
static void hx_html(hx_out_t *o, const char *text, size_t n, int mark_newlines) {
    hx_escape(o, text, n, hx_html_rep, mark_newlines, HX_FFFD);
}

static void hx_html_str(hx_out_t *o, const char *s) { hx_html(o, s, strlen(s), 0); }

/* JSON: '<', '>', '&' and '/' are escaped as well, so nothing in a string
 * can end the <script> block it sits in ("</" never appears). */
static const char *hx_json_rep(unsigned char c, char buf[8], int flag) {
    (void)flag;
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '/': return "\\/";
    case '\n': return "\\n";
    case '\t': return "\\t";
    default:
        if (c < 0x20 || c == 0x7F || c == '<' || c == '>' || c == '&') {
            snprintf(buf, 8, "\\u%04x", c);
            return buf;
        }
        return NULL;
    }
}

/* A JSON string literal. */
static void hx_json(hx_out_t *o, const char *text, size_t n) {
    hx_str(o, "\"");
    hx_escape(o, text, n, hx_json_rep, 0, "\\ufffd");
    hx_str(o, "\"");
}

static void hx_json_str(hx_out_t *o, const char *s) { hx_json(o, s ? s : "", s ? strlen(s) : 0); }

/* JSON (the session's settings) laid out one member a line, HTML-escaped.
 * Not a validator: text that is not JSON comes out re-spaced but intact. */
static void hx_json_pretty(hx_out_t *o, const char *json) {
    int depth = 0;
    for (const char *p = json; *p && !o->failed; p++) {
        char c = *p;
        if (c == '"') { /* a string, escapes and all, as it is */
            const char *q = p + 1;
            while (*q && *q != '"') q += (q[0] == '\\' && q[1]) ? 2 : 1;
            hx_html(o, p, (size_t)(q - p) + (*q == '"'), 0);
            if (!*q) break;
            p = q;
        } else if (c == '{' || c == '[') {
            const char *q = p + 1;
            while (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r') q++;
            if (*q == (c == '{' ? '}' : ']')) { /* {} and [] stay on one line */
                hx_bytes(o, p, 1);
                hx_bytes(o, q, 1);
                p = q;
                continue;
            }
            depth++;
            hx_fmt(o, "%c\n%*s", c, 2 * (depth < 16 ? depth : 16), "");
        } else if (c == '}' || c == ']') {
            if (depth > 0) depth--;
            hx_fmt(o, "\n%*s%c", 2 * (depth < 16 ? depth : 16), "", c);
        } else if (c == ',') {
            hx_fmt(o, ",\n%*s", 2 * (depth < 16 ? depth : 16), "");
        } else if (c == ':') {
            hx_str(o, ": ");
        } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
            hx_html(o, p, 1, 0);
        }
    }
}

/* ---- the session: checks and attention ------------------------------------ */

static __attribute__((format(printf, 3, 4))) void hx_err(char *err, size_t errlen,
                                                         const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Every count and pointer the exporter will follow, and every token index
 * in range and used once. */
static int hx_check_session(const gsp_session_t *s, char *err, size_t errlen) {
    if (s->n_turns < 0 || s->n_tokens < 0 || (s->n_turns > 0 && !s->turns)) {
        hx_err(err, errlen, "session %lld: %d turns, %d tokens", (long long)s->id, s->n_turns,
               s->n_tokens);
        return -1;
    }
    unsigned char *seen = calloc((size_t)s->n_tokens + 1, 1);
    if (!seen) {
        hx_err(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    for (int t = 0; t < s->n_turns && rc == 0; t++) {
        const gsp_turn_t *turn = &s->turns[t];
        if (turn->n_tokens < 0 || (turn->n_tokens > 0 && !turn->tokens)) {
            hx_err(err, errlen, "session %lld: turn %d has %d tokens and no array",
                   (long long)s->id, t, turn->n_tokens);
            rc = -1;
        }
        for (int j = 0; j < turn->n_tokens && rc == 0; j++) {
            const gsp_token_t *tok = &turn->tokens[j];
            long long index = (long long)turn->first + j;
            if (index < 0 || index >= s->n_tokens || seen[index]) {
                hx_err(err, errlen, "session %lld: turn %d token %d has index %lld (%s)",
                       (long long)s->id, t, j, index,
                       index < 0 || index >= s->n_tokens ? "out of range" : "used twice");
                rc = -1;
            } else if ((tok->text_len > 0 && !tok->text) ||
                       (tok->has_sample && (tok->n_cand < 0 || (tok->n_cand > 0 && !tok->cand)))) {
                hx_err(err, errlen, "session %lld: token %lld has a missing text or candidates",
                       (long long)s->id, index);
                rc = -1;
            } else {
                seen[index] = 1;
            }
        }
    }
    free(seen);
    return rc;
}

/* The attention the page embeds, quantised, by session token index. */
typedef struct hx_att {
    int level;         /* HX_ATT_* */
    int n_tokens;      /* entries of the arrays below */
    int *key0, *n_keys; /* n_keys[i] == 0: token i has no row */
    size_t *offset;    /* of token i's numbers in q */
    uint16_t *q;       /* round(w * HX_ATT_SCALE) */
    char note[400];    /* what the page says about it (plain text) */
} hx_att_t;

static void hx_att_free(hx_att_t *a) {
    free(a->key0);
    free(a->n_keys);
    free(a->offset);
    free(a->q);
    a->key0 = a->n_keys = NULL;
    a->offset = NULL;
    a->q = NULL;
}

static uint16_t hx_quantise(double w) {
    if (!(w > 0)) return 0; /* NaN too */
    if (w >= 1) return HX_ATT_SCALE;
    return (uint16_t)(w * HX_ATT_SCALE + 0.5);
}

/* No heatmaps after all: why goes into the page, the export goes on. */
static int hx_att_unavailable(hx_att_t *a, const char *why) {
    hx_att_free(a);
    a->level = HX_ATT_NONE;
    snprintf(a->note, sizeof a->note, "Attention heatmaps unavailable: %s", why);
    return 0;
}

/* Asks s->attention for every token first (so a failure part way leaves no
 * half-written page), keeping per-head rows if the session fits the budget.
 * A token's window holds at most index + 1 keys, which is what the plan
 * assumes. Returns -1 only when memory runs out. */
static int hx_att_collect(hx_att_t *a, const gsp_session_t *s, char *err, size_t errlen) {
    memset(a, 0, sizeof *a);
    a->level = HX_ATT_NONE;
    if (s->n_layer <= 0 || s->n_head <= 0 || !s->attention)
        return hx_att_unavailable(a, "the session's model could not be opened.");
    if (s->n_layer > 4096 || s->n_head > 4096 || s->n_tokens == 0)
        return hx_att_unavailable(a, s->n_tokens ? "the model's shape is implausible."
                                                 : "the session has no tokens.");
    size_t n_layer = (size_t)s->n_layer, n_head = (size_t)s->n_head;
    double sum_keys = 0; /* exact: far below 2^53 */
    for (int t = 0; t < s->n_turns; t++)
        for (int j = 0; j < s->turns[t].n_tokens; j++) sum_keys += s->turns[t].first + j + 1;
    size_t per_key;
    if (sum_keys * (double)(n_layer * n_head) <= HX_ATT_BUDGET) {
        a->level = HX_ATT_HEAD, per_key = n_layer * n_head;
    } else if (sum_keys * (double)n_layer <= HX_ATT_BUDGET) {
        a->level = HX_ATT_LAYER, per_key = n_layer;
    } else {
        a->level = HX_ATT_MEAN, per_key = 1;
    }

    a->n_tokens = s->n_tokens;
    a->key0 = calloc((size_t)s->n_tokens, sizeof *a->key0);
    a->n_keys = calloc((size_t)s->n_tokens, sizeof *a->n_keys);
    a->offset = calloc((size_t)s->n_tokens, sizeof *a->offset);
    if (!a->key0 || !a->n_keys || !a->offset) goto oom;
    /* Plan: where each token's numbers go; at HX_ATT_MEAN the budget may
     * still run out, and later tokens go without. */
    size_t total = 0;
    int max_index = -1, n_rows = 0, n_wanted = 0, cut_at = -1;
    for (int t = 0; t < s->n_turns; t++) {
        for (int j = 0; j < s->turns[t].n_tokens; j++) {
            int index = s->turns[t].first + j;
            size_t need = ((size_t)index + 1) * per_key;
            n_wanted++;
            if (cut_at >= 0 || total + need > HX_ATT_BUDGET) {
                if (cut_at < 0) cut_at = index;
                continue;
            }
            a->offset[index] = total;
            a->n_keys[index] = -1; /* planned */
            total += need;
            n_rows++;
            if (index > max_index) max_index = index;
        }
    }
    if (n_rows == 0) return hx_att_unavailable(a, "the session is too long to embed any.");
    size_t cap = n_layer * n_head * ((size_t)max_index + 1);
    float *w = malloc(cap * sizeof *w);
    a->q = malloc(total * sizeof *a->q);
    if (!w || !a->q) {
        free(w);
        goto oom;
    }
    for (int index = 0; index <= max_index; index++) {
        if (a->n_keys[index] != -1) continue;
        int n_keys = 0, key0 = -1;
        char why[256] = "";
        if (s->attention(s, index, w, cap, &n_keys, &key0, why, sizeof why) != 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s", why[0] ? why : "the model could not be run.");
            free(w);
            return hx_att_unavailable(a, msg);
        }
        if (n_keys < 1 || n_keys > index + 1 || key0 < 0 || key0 + n_keys > index + 1) {
            char msg[160];
            snprintf(msg, sizeof msg, "token %d came back with %d keys from %d.", index, n_keys,
                     key0);
            free(w);
            return hx_att_unavailable(a, msg);
        }
        /* w is [(layer * n_head + head) * n_keys + key]; the means are over
         * heads (HX_ATT_LAYER) or over layers and heads (HX_ATT_MEAN). */
        uint16_t *q = a->q + a->offset[index];
        size_t nk = (size_t)n_keys;
        for (size_t k = 0; k < nk; k++) {
            double all_sum = 0;
            for (size_t l = 0; l < n_layer; l++) {
                double layer_sum = 0;
                for (size_t h = 0; h < n_head; h++) {
                    float x = w[(l * n_head + h) * nk + k];
                    if (a->level == HX_ATT_HEAD) q[(l * n_head + h) * nk + k] = hx_quantise(x);
                    layer_sum += isfinite(x) ? x : 0;
                }
                if (a->level == HX_ATT_LAYER)
                    q[l * nk + k] = hx_quantise(layer_sum / (double)n_head);
                all_sum += layer_sum;
            }
            if (a->level == HX_ATT_MEAN)
                q[k] = hx_quantise(all_sum / (double)(n_layer * n_head));
        }
        a->key0[index] = key0;
        a->n_keys[index] = n_keys;
    }
    free(w);

    static const char *const shown[] = {
        "", "the mean of all layers and heads (per-layer rows would pass",
        "the mean of the heads of each layer (per-head rows would pass",
        "every head of every layer (within"};
    snprintf(a->note, sizeof a->note,
             "Attention: %s the page's budget of %u,%03u,%03u numbers).", shown[a->level],
             HX_ATT_BUDGET / 1000000, HX_ATT_BUDGET / 1000 % 1000, HX_ATT_BUDGET % 1000);
    if (cut_at >= 0) {
        size_t used = strlen(a->note);
        snprintf(a->note + used, sizeof a->note - used,
                 " Only %d of %d tokens have attention: the rest would pass the budget too.",
                 n_rows, n_wanted);
    }
    return 0;
oom:
    hx_att_free(a);
    hx_err(err, errlen, "out of memory for the attention of %d tokens", s->n_tokens);
    return -1;
}

/* ---- the page ---------------------------------------------------------------- */

static const char *const hx_css[] = {
    ":root{--bg:#f6f6f3;--card:#fff;--ink:#1f2328;--muted:#5f6b7a;--line:#e3e3de;",
    "--accent:#2563eb;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,\"DejaVu Sans Mono\",",
    "\"Liberation Mono\",monospace}\n",
    "*{box-sizing:border-box}\n",
    "body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,",
    "\"Segoe UI\",Roboto,\"Noto Sans\",\"DejaVu Sans\",sans-serif}\n",
    "header,.bar,main,footer{max-width:1440px;margin:0 auto;padding:0 20px}\n",
    "header{padding-top:16px}\n",
    "h1{font-size:20px;margin:0 0 8px;overflow-wrap:anywhere}\n",
    "h1 small{font-weight:400;color:var(--muted);font-size:14px;margin-left:8px}\n",
    ".meta{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px}\n",
    ".meta dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:1px 14px;margin:0}\n",
    "dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}\n",
    ".label{color:var(--muted);font-size:12px;margin-bottom:2px}\n",
    "pre{margin:0;font:12px/1.45 var(--mono);white-space:pre-wrap;overflow-wrap:anywhere}\n",
    "pre.settings{max-height:8.6em;overflow:auto;background:var(--card);border:1px solid var(--line);",
    "border-radius:6px;padding:5px 9px}\n",
    ".bar{display:flex;flex-wrap:wrap;align-items:center;gap:4px 14px;margin-top:12px;",
    "margin-bottom:10px;font-size:12.5px;color:var(--muted)}\n",
    ".sw{display:inline-block;width:14px;height:14px;border-radius:3px;vertical-align:-2px;",
    "margin-right:4px;border:1px solid rgba(0,0,0,.1)}\n",
    ".sw.user{background:var(--card)}\n",
    ".sw.att{background:linear-gradient(90deg,rgba(37,99,235,.08),rgba(37,99,235,.75));width:44px}\n",
    ".note{flex-basis:100%}\n",
    "main{display:grid;grid-template-columns:minmax(0,1fr) 390px;gap:16px;align-items:start}\n",
    "@media (max-width:900px){main,.meta{grid-template-columns:minmax(0,1fr)}}\n",
    ".turn{background:var(--card);border:1px solid var(--line);border-left:3px solid #94a3b8;",
    "border-radius:8px;margin-bottom:12px;padding:8px 14px 10px}\n",
    ".turn.model{border-left-color:var(--accent)}\n",
    ".who{font-size:11.5px;font-weight:600;text-transform:uppercase;letter-spacing:.05em;",
    "color:var(--muted);margin-bottom:4px}\n",
    ".chip{font-weight:500;text-transform:none;letter-spacing:0;background:#eef2f7;",
    "border-radius:9px;padding:1px 8px;margin-left:6px}\n",
    "details{font-size:12px;margin-top:6px;color:var(--muted)}\n",
    ".toks{font:14px/1.95 var(--mono);white-space:pre-wrap;overflow-wrap:anywhere}\n",
    ".t{border-radius:3px;padding:2px 0;cursor:pointer;-webkit-box-decoration-break:clone;",
    "box-decoration-break:clone}\n",
    ".t:hover{outline:1px solid #64748b}\n",
    ".t.sel{outline:2px solid #1e293b}\n",
    ".t.pin{outline:2px solid var(--accent)}\n",
    ".nl{color:#94a3b8}\n",
    "#transcript.attn .t{background:transparent}\n",
    "aside{position:sticky;top:12px;background:var(--card);border:1px solid var(--line);",
    "border-radius:8px;padding:10px 14px 12px;max-height:calc(100vh - 24px);overflow:auto}\n",
    "aside h2{font-size:13px;margin:10px 0 4px}\n",
    ".ctl{display:flex;flex-wrap:wrap;gap:6px;align-items:center;font-size:12.5px;",
    "color:var(--muted)}\n",
    "select{font:inherit;font-size:12.5px;padding:1px 4px}\n",
    ".tokhead{display:flex;flex-wrap:wrap;align-items:baseline;gap:8px;margin-top:8px}\n",
    ".big{font:600 17px var(--mono);background:#f1f5f9;border-radius:4px;padding:0 6px;",
    "white-space:pre-wrap;overflow-wrap:anywhere}\n",
    ".muted{color:var(--muted);font-size:12.5px}\n",
    ".stats{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:6px;margin:8px 0}\n",
    ".stat{background:#f8fafc;border:1px solid var(--line);border-radius:6px;padding:3px 6px}\n",
    ".stat b{display:block;font-size:14px;font-variant-numeric:tabular-nums}\n",
    ".stat span{font-size:11px;color:var(--muted);white-space:nowrap;overflow:hidden;"
    "text-overflow:ellipsis;display:block}\n",
    "table{width:100%;border-collapse:collapse;font-size:12.5px}\n",
    "th{text-align:left;color:var(--muted);font-weight:500;border-bottom:1px solid var(--line);padding:1px 4px}\n",
    "td{padding:1px 4px;white-space:pre}\n",
    "td.tx{font-family:var(--mono);white-space:pre-wrap;overflow-wrap:anywhere}\n",
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\n",
    "tr.chosen td{background:#eff6ff;font-weight:600}\n",
    "tr.filtered td{color:#9aa3ae}\n",
    ".cells{display:flex;flex-wrap:wrap;gap:2px;margin:6px 0}\n",
    ".cell{width:13px;height:13px;border-radius:2px;border:1px solid #e2e8f0}\n",
    ".cell.self{border-color:#1e293b}\n",
    "ol.top{margin:2px 0;padding-left:22px;font-size:12.5px}\n",
    "ol.top code{font-family:var(--mono);background:#f1f5f9;border-radius:3px;padding:0 3px;",
    "white-space:pre}\n",
    "footer{color:var(--muted);font-size:12px;padding-top:6px;padding-bottom:20px}\n",
    NULL,
};

/* The inspector. Reads the data block; spans carry data-i, the token's
 * session index. Hover shows a token (and shades what it attended to),
 * a click pins it, Esc or a second click releases it. */
static const char *const hx_js[] = {
    "(function(){\n",
    "\"use strict\";\n",
    "var D=JSON.parse(document.getElementById(\"data\").textContent);\n",
    "var L=D.n_layer,H=D.n_head,tokens={},spans={},shaded=[],selEl=null,pinned=null,shown=null;\n",
    "D.tokens.forEach(function(t){tokens[t.i]=t;});\n",
    "var all=document.querySelectorAll(\"#transcript .t\");\n",
    "for(var i=0;i<all.length;i++)spans[all[i].getAttribute(\"data-i\")]=all[i];\n",
    "var tr=document.getElementById(\"transcript\"),box=document.getElementById(\"detail\");\n",
    "var layerSel=document.getElementById(\"layer\"),headSel=document.getElementById(\"head\");\n",
    "function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;",
    "if(text!=null)e.textContent=text;return e;}\n",
    "function add(p,tag,cls,text){var e=el(tag,cls,text);p.appendChild(e);return e;}\n",
    "function vis(s){return s.replace(/ /g,\"\\u2423\").replace(/\\n/g,\"\\u21b5\")",
    ".replace(/\\t/g,\"\\u21e5\");}\n",
    "function pct(p){if(p==null)return \"\\u2013\";if(p>0&&p<1e-4)return (100*p).toExponential(1)+\"%\";",
    "return (100*p).toFixed(p<0.01?3:1)+\"%\";}\n",
    "function option(sel,v,text){var o=el(\"option\",null,text);o.value=v;sel.appendChild(o);}\n",
    "function range(n){var r=[];for(var i=0;i<n;i++)r.push(i);return r;}\n",
    "if(D.attn!==\"none\"){\n",
    "  option(layerSel,\"all\",\"all layers (mean)\");\n",
    "  for(var l=0;l<L;l++)option(layerSel,l,\"layer \"+l);\n",
    "  option(headSel,\"mean\",\"mean of heads\");\n",
    "  if(D.attn===\"head\")for(var h=0;h<H;h++)option(headSel,h,\"head \"+h);\n",
    "  layerSel.disabled=D.attn===\"mean\";headSel.disabled=D.attn!==\"head\";\n",
    "}else document.getElementById(\"ctl\").hidden=true;\n",
    "/* the attention row of t over its keys, weights in [0,1] */\n",
    "function row(t){\n",
    "  if(!t.att)return null;\n",
    "  var per=D.attn===\"head\"?L*H:D.attn===\"layer\"?L:1,nk=t.att.length/per,a=t.att,w=[];\n",
    "  var ls=layerSel.value===\"all\"?range(L):[+layerSel.value];\n",
    "  var hs=headSel.value===\"mean\"?range(H):[+headSel.value];\n",
    "  for(var k=0;k<nk;k++){var s=0,n=0;\n",
    "    if(D.attn===\"mean\"){s=a[k];n=1;}\n",
    "    else ls.forEach(function(l){\n",
    "      if(D.attn===\"layer\"){s+=a[l*nk+k];n++;}\n",
    "      else hs.forEach(function(h){s+=a[(l*H+h)*nk+k];n++;});});\n",
    "    w.push(s/n/1000);}\n",
    "  return w;\n",
    "}\n",
    "function shadeColor(x){return x<=0?\"rgba(37,99,235,0.04)\":",
    "\"rgba(37,99,235,\"+(0.08+0.67*Math.sqrt(x)).toFixed(3)+\")\";}\n",
    "function maxOf(w){var m=0;for(var k=0;k<w.length;k++)if(w[k]>m)m=w[k];return m||1;}\n",
    "function textOf(i){var t=tokens[i];return t?vis(t.text):\"?\";}\n",
    "function clearShade(){shaded.forEach(function(s){s.style.backgroundColor=\"\";});shaded=[];\n",
    "  tr.classList.remove(\"attn\");if(selEl)selEl.classList.remove(\"sel\");selEl=null;}\n",
    "function shade(t){\n",
    "  clearShade();selEl=spans[t.i]||null;if(selEl)selEl.classList.add(\"sel\");\n",
    "  var w=row(t);if(!w)return;var m=maxOf(w);tr.classList.add(\"attn\");\n",
    "  for(var k=0;k<w.length;k++){var s=spans[t.key0+k];",
    "if(s){s.style.backgroundColor=shadeColor(w[k]/m);shaded.push(s);}}\n",
    "}\n",
    "function stat(p,value,what){var d=add(p,\"div\",\"stat\");add(d,\"b\",null,value);",
    "add(d,\"span\",null,what);}\n",
    "function show(t){\n",
    "  shown=t;box.textContent=\"\";\n",
    "  var hd=add(box,\"div\",\"tokhead\");add(hd,\"span\",\"big\",vis(t.text));\n",
    "  add(hd,\"span\",\"muted\",(t.role?\"model\":\"user\")+\" \\u00b7 token \"+t.i+\" \\u00b7 id \"+t.id",
    "+(pinned===t?\" \\u00b7 pinned (click again or Esc)\":\"\"));\n",
    "  if(\"prob\" in t){\n",
    "    var st=add(box,\"div\",\"stats\");\n",
    "    stat(st,pct(t.prob),\"chosen p\");stat(st,pct(t.raw),\"raw p\");\n",
    "    stat(st,t.ent==null?\"\\u2013\":t.ent.toFixed(2),\"entropy, nats\");",
    "stat(st,\"#\"+(t.rank+1),\"rank (#1 = top)\");\n",
    "    add(box,\"h2\",null,\"Candidates\");\n",
    "    var c=(t.cand||[]).slice().sort(function(x,y){return y[2]-x[2];});\n",
    "    var tb=add(box,\"table\"),hr=add(tb,\"tr\");\n",
    "    [[\"#\",\"num\"],[\"token\",\"\"],[\"raw\",\"num\"],[\"final\",\"num\"],[\"\",\"\"]]",
    ".forEach(function(x){add(hr,\"th\",x[1],x[0]);});\n",
    "    var found=false;\n",
    "    c.forEach(function(x,r){var chosen=x[0]===t.id;found=found||chosen;\n",
    "      var rw=add(tb,\"tr\",chosen?\"chosen\":x[4]?\"\":\"filtered\");\n",
    "      add(rw,\"td\",\"num\",r+1);add(rw,\"td\",\"tx\",vis(x[1]));\n",
    "      var raw=add(rw,\"td\",\"num\",pct(x[2]));\n",
    "      raw.style.background=\"linear-gradient(90deg,#dbeafe \"+(100*x[2]).toFixed(1)+\"%,transparent 0)\";\n",
    "      add(rw,\"td\",\"num\",x[4]?pct(x[3]):\"\\u2013\");\n",
    "      add(rw,\"td\",null,(x[4]?\"kept\":\"filtered\")+(chosen?\" \\u25c0 chosen\":\"\"));});\n",
    "    if(!c.length)add(box,\"p\",\"muted\",\"No candidates were stored for this token.\");\n",
    "    else if(!found)add(box,\"p\",\"muted\",\"The chosen token is not among the \"+c.length+\" stored.\");\n",
    "  }else add(box,\"p\",\"muted\",t.role?\"Not sampled (no probabilities stored).\":",
    "\"Prompt token: read by the model, not sampled.\");\n",
    "  add(box,\"h2\",null,\"Attention\");\n",
    "  var w=row(t);\n",
    "  if(!w){add(box,\"p\",\"muted\",D.attn===\"none\"?D.note:\"No attention stored for this token.\");return;}\n",
    "  var m=maxOf(w),cells=add(box,\"div\",\"cells\");\n",
    "  add(box,\"p\",\"muted\",\"Keys \"+t.key0+\"\\u2013\"+(t.key0+w.length-1)+",
    "\" (darker = more attention, relative to the largest weight \"+pct(m)+\").\");\n",
    "  for(var k=0;k<w.length;k++){var ce=add(cells,\"span\",k===w.length-1?\"cell self\":\"cell\");\n",
    "    ce.style.backgroundColor=shadeColor(w[k]/m);",
    "ce.title=(t.key0+k)+\" \"+textOf(t.key0+k)+\": \"+pct(w[k]);}\n",
    "  var order=range(w.length).sort(function(x,y){return w[y]-w[x];}).slice(0,5);\n",
    "  var ol=add(box,\"ol\",\"top\");\n",
    "  order.forEach(function(k){var li=add(ol,\"li\");add(li,\"code\",null,textOf(t.key0+k));",
    "li.appendChild(document.createTextNode(\" \"+pct(w[k])+\" (token \"+(t.key0+k)+\")\"));});\n",
    "}\n",
    "function tokenAt(e){var s=e.target.closest?e.target.closest(\".t\"):null;",
    "return s?tokens[s.getAttribute(\"data-i\")]:null;}\n",
    "tr.addEventListener(\"mouseover\",function(e){var t=tokenAt(e);",
    "if(!t||pinned)return;if(t!==shown||!selEl){show(t);shade(t);}});\n",
    "tr.addEventListener(\"mouseleave\",function(){if(!pinned)clearShade();});\n",
    "function unpin(){if(pinned&&spans[pinned.i])spans[pinned.i].classList.remove(\"pin\");pinned=null;}\n",
    "tr.addEventListener(\"click\",function(e){var t=tokenAt(e);if(!t)return;\n",
    "  if(pinned===t){unpin();show(t);return;}\n",
    "  unpin();pinned=t;if(spans[t.i])spans[t.i].classList.add(\"pin\");show(t);shade(t);});\n",
    "document.addEventListener(\"keydown\",function(e){if(e.key===\"Escape\"&&pinned){",
    "var t=pinned;unpin();show(t);clearShade();}});\n",
    "function redraw(){if(!shown)return;show(shown);if(selEl)shade(shown);}\n",
    "layerSel.addEventListener(\"change\",redraw);headSel.addEventListener(\"change\",redraw);\n",
    "var first=D.tokens.filter(function(t){return \"prob\" in t;})[0]||D.tokens[0];\n",
    "if(first)show(first);\n",
    "document.body.setAttribute(\"data-ready\",\"1\");\n",
    "})();\n",
    NULL,
};

static void hx_head(hx_out_t *o, const gsp_session_t *s) {
    hx_str(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
              "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              "<meta name=\"generator\" content=\"gptscope " HX_NAME " " HX_VERSION "\">\n"
              "<title>");
    hx_html_str(o, s->title && s->title[0] ? s->title : "Untitled session");
    hx_fmt(o, " \xE2\x80\x94 gptscope session %lld</title>\n<style>\n", (long long)s->id);
    for (int i = 0; hx_css[i]; i++) hx_str(o, hx_css[i]);
    for (int b = 0; b < HX_N_BINS; b++) hx_fmt(o, ".p%d{background:%s}\n", b, hx_bins[b].color);
    hx_str(o, "</style>\n</head>\n");
}

static void hx_dd(hx_out_t *o, const char *term, const char *value) {
    hx_fmt(o, "<dt>%s</dt><dd>", term);
    hx_html_str(o, value && value[0] ? value : "\xE2\x80\x93");
    hx_str(o, "</dd>");
}

static void hx_header(hx_out_t *o, const gsp_session_t *s, const hx_att_t *a) {
    int n_sampled = 0;
    for (int t = 0; t < s->n_turns; t++)
        for (int j = 0; j < s->turns[t].n_tokens; j++) n_sampled += !!s->turns[t].tokens[j].has_sample;
    hx_str(o, "<body>\n<header>\n<h1>");
    hx_html_str(o, s->title && s->title[0] ? s->title : "Untitled session");
    hx_fmt(o, "<small>session %lld</small></h1>\n<div class=\"meta\">\n<dl>", (long long)s->id);
    char line[160];
    snprintf(line, sizeof line, "%lld", (long long)s->id);
    hx_dd(o, "Session", line);
    hx_dd(o, "Created", s->created);
    hx_dd(o, "Updated", s->updated);
    hx_dd(o, "Model", s->model_path);
    snprintf(line, sizeof line, "%d turns, %d tokens (%d sampled)", s->n_turns, s->n_tokens,
             n_sampled);
    hx_dd(o, "Length", line);
    if (s->n_layer > 0) {
        snprintf(line, sizeof line, "%d layers \xC3\x97 %d heads", s->n_layer, s->n_head);
        hx_dd(o, "Model shape", line);
    }
    hx_str(o, "</dl>\n<div><div class=\"label\">Settings</div><pre class=\"settings\">");
    if (s->settings_json && s->settings_json[0]) hx_json_pretty(o, s->settings_json);
    else hx_str(o, "(none stored)");
    hx_str(o, "</pre></div>\n</div>\n</header>\n");

    hx_str(o, "<div class=\"bar\"><span>Shading: probability the token was drawn with</span>");
    for (int b = 0; b < HX_N_BINS; b++)
        hx_fmt(o, "<span><i class=\"sw p%d\"></i>%s</span>", b, hx_bins[b].label);
    hx_str(o, "<span><i class=\"sw user\"></i>prompt / not sampled</span>");
    if (a->level != HX_ATT_NONE)
        hx_str(o, "<span><i class=\"sw att\"></i>attention of the hovered token</span>");
    hx_str(o, "<span class=\"note\" id=\"attn-note\">");
    hx_html_str(o, a->note);
    hx_str(o, a->level != HX_ATT_NONE ? " Hover a token to see its candidates and attention; "
                                        "click to pin it."
                                      : " Hover a token to see its candidates.");
    hx_str(o, "</span></div>\n");
}

static int hx_prob_bin(float p) {
    int b = 0;
    while (b + 1 < HX_N_BINS && p >= hx_bins[b + 1].lo) b++;
    return b;
}

static void hx_transcript(hx_out_t *o, const gsp_session_t *s) {
    hx_str(o, "<main>\n<div id=\"transcript\">\n");
    for (int t = 0; t < s->n_turns && !o->failed; t++) {
        const gsp_turn_t *turn = &s->turns[t];
        hx_fmt(o, "<section class=\"turn %s\"><div class=\"who\">%s", turn->role ? "model" : "user",
               turn->role ? "Model" : "User");
        if (turn->stop) {
            hx_str(o, "<span class=\"chip\">stop: ");
            hx_html_str(o, turn->stop);
            hx_str(o, "</span>");
        }
        hx_str(o, "</div><div class=\"toks\">");
        for (int j = 0; j < turn->n_tokens; j++) {
            const gsp_token_t *tok = &turn->tokens[j];
            if (tok->has_sample)
                hx_fmt(o, "<span class=\"t s p%d\" data-i=\"%d\">", hx_prob_bin(tok->prob),
                       turn->first + j);
            else
                hx_fmt(o, "<span class=\"t\" data-i=\"%d\">", turn->first + j);
            hx_html(o, tok->text, tok->text_len, 1);
            hx_str(o, "</span>");
        }
        hx_str(o, "</div>");
        if (turn->settings_json && turn->settings_json[0] &&
            !(s->settings_json && strcmp(turn->settings_json, s->settings_json) == 0)) {
            hx_str(o, "<details><summary>settings of this turn</summary><pre>");
            hx_json_pretty(o, turn->settings_json);
            hx_str(o, "</pre></details>");
        }
        hx_str(o, "</section>\n");
    }
    hx_str(o, "</div>\n<aside id=\"inspector\">\n<div class=\"ctl\" id=\"ctl\">Attention: "
              "<select id=\"layer\" aria-label=\"layer\"></select>"
              "<select id=\"head\" aria-label=\"head\"></select></div>\n"
              "<div id=\"detail\"><noscript><p>The token inspector needs JavaScript; the "
              "transcript above is complete without it.</p></noscript></div>\n</aside>\n</main>\n");
}

/* The data block: {"format", "n_layer", "n_head", "attn": level, "note",
 * "tokens": [{"i": session index, "id", "role", "text", and for sampled
 * tokens "prob", "raw", "ent", "rank", "cand": [[id, text, raw, prob,
 * kept], ...]; with attention "key0", "att": [...]}]}. */
static void hx_data(hx_out_t *o, const gsp_session_t *s, const hx_att_t *a) {
    hx_fmt(o, "<script type=\"application/json\" id=\"data\">{\"format\":\"gptscope-html-1\","
              "\"n_layer\":%d,\"n_head\":%d,\"attn\":\"%s\",\"scale\":%d,\"note\":",
           a->level == HX_ATT_NONE ? 0 : s->n_layer, a->level == HX_ATT_NONE ? 0 : s->n_head,
           hx_att_level_name[a->level], HX_ATT_SCALE);
    hx_json_str(o, a->note);
    hx_str(o, ",\"tokens\":[");
    int n_out = 0;
    for (int t = 0; t < s->n_turns && !o->failed; t++) {
        const gsp_turn_t *turn = &s->turns[t];
        for (int j = 0; j < turn->n_tokens && !o->failed; j++) {
            const gsp_token_t *tok = &turn->tokens[j];
            int index = turn->first + j;
            hx_fmt(o, "%s\n{\"i\":%d,\"id\":%d,\"role\":%d,\"text\":", n_out++ ? "," : "", index,
                   tok->id, turn->role ? 1 : 0);
            hx_json(o, tok->text, tok->text_len);
            if (tok->has_sample) {
                hx_str(o, ",\"prob\":");
                hx_num(o, tok->prob);
                hx_str(o, ",\"raw\":");
                hx_num(o, tok->raw_prob);
                hx_str(o, ",\"ent\":");
                hx_num(o, tok->entropy);
                hx_fmt(o, ",\"rank\":%d,\"cand\":[", tok->rank);
                for (int c = 0; c < tok->n_cand; c++) {
                    const gsp_candidate_t *cd = &tok->cand[c];
                    hx_fmt(o, "%s[%d,", c ? "," : "", cd->id);
                    hx_json_str(o, cd->text);
                    hx_str(o, ",");
                    hx_num(o, cd->raw_prob);
                    hx_str(o, ",");
                    hx_num(o, cd->prob);
                    hx_fmt(o, ",%d]", cd->kept ? 1 : 0);
                }
                hx_str(o, "]");
            }
            if (a->level != HX_ATT_NONE && a->n_keys[index] > 0) {
                size_t n = (size_t)a->n_keys[index];
                n *= a->level == HX_ATT_HEAD    ? (size_t)s->n_layer * (size_t)s->n_head
                     : a->level == HX_ATT_LAYER ? (size_t)s->n_layer
                                                : 1;
                const uint16_t *q = a->q + a->offset[index];
                hx_fmt(o, ",\"key0\":%d,\"att\":[", a->key0[index]);
                for (size_t k = 0; k < n; k++) hx_fmt(o, k ? ",%u" : "%u", (unsigned)q[k]);
                hx_str(o, "]");
            }
            hx_str(o, "}");
        }
    }
    hx_str(o, "]}</script>\n");
}

/* ---- the exporter and the entry point --------------------------------------- */

static int hx_export(void *self, const gsp_session_t *s, gsp_write_fn write, void *sink,
                     char *err, size_t errlen) {
    (void)self;
    if (!s || !write) {
        hx_err(err, errlen, "no session or no output");
        return -1;
    }
    if (hx_check_session(s, err, errlen) != 0) return -1;
    hx_att_t att;
    if (hx_att_collect(&att, s, err, errlen) != 0) return -1;
    hx_out_t *o = malloc(sizeof *o);
    if (!o) {
        hx_att_free(&att);
        hx_err(err, errlen, "out of memory");
        return -1;
    }
    o->write = write;
    o->sink = sink;
    o->failed = 0;
    o->len = o->written = 0;

    hx_head(o, s);
    hx_header(o, s, &att);
    hx_transcript(o, s);
    hx_data(o, s, &att);
    hx_str(o, "<script>\n");
    for (int i = 0; hx_js[i]; i++) hx_str(o, hx_js[i]);
    hx_str(o, "</script>\n<footer>Exported by gptscope " HX_NAME " " HX_VERSION
              ". This page is self-contained: it loads nothing from the network.</footer>\n"
              "</body>\n</html>\n");
    hx_flush(o);

    int rc = 0;
    if (o->failed) {
        hx_err(err, errlen, "write failed after %zu bytes of the page", o->written);
        rc = -1;
    }
    free(o);
    hx_att_free(&att);
    return rc;
}

static const gsp_exporter_t hx_exporters[] = {
    {"html", "html",
     "a self-contained HTML page: tokens shaded by probability, candidates and attention on hover",
     hx_export},
};

/* The per-load state: the descriptor (its self points back here). */
typedef struct hx_plugin {
    gsp_plugin_t desc;
    const gsp_host_api_t *host;
} hx_plugin_t;

static void hx_destroy(void *self) { free(self); }

int gptscope_plugin_entry(uint32_t host_abi, const gsp_host_api_t *host, const gsp_plugin_t **out,
                          char *err, size_t errlen);

int gptscope_plugin_entry(uint32_t host_abi, const gsp_host_api_t *host, const gsp_plugin_t **out,
                          char *err, size_t errlen) {
    if (host_abi != GSP_ABI_VERSION) {
        hx_err(err, errlen, HX_NAME " was built for plugin ABI %u, gptscope offers ABI %u",
               (unsigned)GSP_ABI_VERSION, (unsigned)host_abi);
        return -1;
    }
    if (!out) {
        hx_err(err, errlen, "no place for the descriptor");
        return -1;
    }
    hx_plugin_t *p = calloc(1, sizeof *p);
    if (!p) {
        hx_err(err, errlen, "out of memory");
        return -1;
    }
    p->host = host; /* the exporter needs nothing from the host */
    p->desc.abi_version = GSP_ABI_VERSION;
    p->desc.name = HX_NAME;
    p->desc.version = HX_VERSION;
    p->desc.description = "exports a session as one self-contained, interactive HTML page";
    p->desc.self = p;
    p->desc.destroy = hx_destroy;
    p->desc.n_exporters = 1;
    p->desc.exporters = hx_exporters;
    *out = &p->desc;
    return 0;
}
