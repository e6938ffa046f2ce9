/* jsonx.c - strict JSON parsing (jsonx.h). */
#include "jsonx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static int jx_cmp_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Finds a key that occurs twice in some object of the tree. Each object's
 * keys are sorted (vocab.json has 50,257 of them, so no pairwise scan). */
static const char *jx_duplicate(const cJSON *node, int *oom) {
    for (; node; node = node->next) {
        if (cJSON_IsObject(node) && node->child) {
            size_t n = 0;
            for (const cJSON *c = node->child; c; c = c->next) n++;
            if (n > 1) {
                const char **names = malloc(n * sizeof *names);
                if (!names) {
                    *oom = 1;
                    return NULL;
                }
                size_t i = 0;
                for (const cJSON *c = node->child; c; c = c->next) names[i++] = c->string;
                qsort(names, n, sizeof *names, jx_cmp_names);
                const char *dup = NULL;
                for (i = 1; i < n && !dup; i++)
                    if (strcmp(names[i - 1], names[i]) == 0) dup = names[i];
                free(names);
                if (dup) return dup;
            }
        }
        if ((cJSON_IsObject(node) || cJSON_IsArray(node)) && node->child) {
            const char *d = jx_duplicate(node->child, oom);
            if (d || *oom) return d;
        }
    }
    return NULL;
}

/* Deepest nesting of arrays and objects in text[0..len), strings skipped; a
 * failed parse that reached cJSON's limit is reported as nesting, not as a
 * syntax error at some arbitrary byte. */
static size_t jx_depth(const char *text, size_t len) {
    size_t depth = 0, max = 0;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max) max = depth;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return max;
}

cJSON *jsonx_parse(const char *text, size_t len, const char *name, char *err, size_t errlen) {
    /* cJSON skips a byte-order mark; Python's json refuses one (and RFC 8259
     * forbids writing it), so the file would load here and fail there. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        snprintf(err, errlen, "%s: starts with a UTF-8 byte-order mark, which JSON does not allow",
                 name);
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        if (jx_depth(text, len) > CJSON_NESTING_LIMIT)
            snprintf(err, errlen, "%s: not valid JSON: nested deeper than %d levels (near byte %zu)",
                     name, CJSON_NESTING_LIMIT, at);
        else
            snprintf(err, errlen, "%s: not valid JSON (near byte %zu)", name, at);
        return NULL;
    }
    /* cJSON stops at the end of the value; only whitespace (and the NUL a
     * caller may have counted in len) may follow. */
    size_t at = (size_t)(end - text);
    for (size_t i = at; i < len; i++) {
        char c = text[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
        if (c == '\0' && i + 1 == len) break;
        snprintf(err, errlen, "%s: unexpected data after the JSON value at byte %zu", name, i);
        cJSON_Delete(root);
        return NULL;
    }
    int oom = 0;
    const char *dup = jx_duplicate(root, &oom);
    if (dup || oom) {
        char key[96];
        if (oom) snprintf(err, errlen, "%s: out of memory", name);
        else snprintf(err, errlen, "%s: duplicate key \"%s\"", name, jsonx_escape(dup, key, sizeof key));
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

size_t jsonx_utf8_invalid_at(const char *text, size_t len) {
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        if (p[i] >= 0x01 && p[i] < 0x80) {
            i++;
            continue;
        }
        if (p[i] == 0) return i;
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0) return i;
        i += (size_t)k;
    }
    return len;
}

cJSON *jsonx_parse_utf8(const char *text, size_t len, const char *name, char *err,
                        size_t errlen) {
    size_t n = len > 0 && text[len - 1] == '\0' ? len - 1 : len; /* a counted final NUL */
    size_t bad = jsonx_utf8_invalid_at(text, n);
    if (bad < n) {
        if (text[bad] == '\0') snprintf(err, errlen, "%s: NUL byte at byte %zu", name, bad);
        else snprintf(err, errlen, "%s: not valid UTF-8 (byte %zu)", name, bad);
        return NULL;
    }
    return jsonx_parse(text, len, name, err, errlen);
}

jsonx_int_status_t jsonx_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out) {
    if (!cJSON_IsNumber(v)) return JSONX_NOT_NUMBER;
    double d = v->valuedouble;
    if (!isfinite(d) || d < (double)lo || d > (double)hi) {
        /* an out-of-range integer is reported as such, 2.5 as not an integer */
        return isfinite(d) && d != floor(d) ? JSONX_NOT_INTEGER : JSONX_OUT_OF_RANGE;
    }
    if (d != floor(d)) return JSONX_NOT_INTEGER;
    /* d is now inside [lo, hi] (bounded by 2^63 in magnitude), so the
     * conversion is defined; recheck the ends in integers, since (double)hi
     * may have rounded up. */
    if (d >= 9223372036854775807.0) return JSONX_OUT_OF_RANGE;
    int64_t i = (int64_t)d;
    if (i < lo || i > hi) return JSONX_OUT_OF_RANGE;
    *out = i;
    return JSONX_OK;
}

const char *jsonx_int_problem(jsonx_int_status_t st, int64_t lo, int64_t hi, char *buf,
                              size_t buflen) {
    switch (st) {
    case JSONX_OK: snprintf(buf, buflen, "is fine"); break;
    case JSONX_NOT_NUMBER: snprintf(buf, buflen, "must be a number"); break;
    case JSONX_NOT_INTEGER: snprintf(buf, buflen, "must be an integer"); break;
    case JSONX_OUT_OF_RANGE:
        snprintf(buf, buflen, "must be from %lld to %lld", (long long)lo, (long long)hi);
        break;
    }
    return buf;
}

static const char *escape(const char *s, char *buf, size_t buflen, int keep_backslash) {
    if (buflen == 0) return buf;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t left = strlen((const char *)p);
    while (left > 0) {
        char piece[16];
        size_t n, used;
        utf8proc_int32_t cp = -1;
        utf8proc_ssize_t k = utf8proc_iterate(p, (utf8proc_ssize_t)left, &cp);
        if (k > 1 && cp >= 0xa0) { /* valid multi-byte character, not a C1 control */
            memcpy(piece, p, (size_t)k);
            n = used = (size_t)k;
        } else if (*p >= 0x20 && *p < 0x7f && (*p != '\\' || keep_backslash)) {
            piece[0] = (char)*p;
            n = used = 1;
        } else if (*p == '\\') {
            piece[0] = piece[1] = '\\';
            n = 2;
            used = 1;
        } else { /* control character, invalid byte or C1 control: one byte shown */
            snprintf(piece, sizeof piece, "\\x%02x", *p);
            n = 4;
            used = 1;
        }
        if (o + n + 4 > buflen) { /* room for "..." and the NUL */
            if (o + 4 <= buflen) memcpy(buf + o, "...", 3), o += 3;
            break;
        }
        memcpy(buf + o, piece, n);
        o += n;
        p += used;
        left -= used;
    }
    buf[o] = '\0';
    return buf;
}

const char *jsonx_escape(const char *s, char *buf, size_t buflen) {
    return escape(s, buf, buflen, 0);
}

char *jsonx_escape_dup(const char *s) {
    size_t cap = 4 * strlen(s ? s : "") + 8; /* \xNN per byte, and room for the end */
    char *buf = malloc(cap);
    return buf ? (char *)escape(s, buf, cap, 0) : NULL;
}

char *jsonx_escape_line_dup(const char *s) {
    size_t cap = 4 * strlen(s ? s : "") + 8;
    char *buf = malloc(cap);
    return buf ? (char *)escape(s, buf, cap, 1) : NULL;
}
