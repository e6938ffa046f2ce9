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

cJSON *jsonx_parse(const char *text, size_t len, const char *name, char *err, size_t errlen) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
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

const char *jsonx_escape(const char *s, char *buf, size_t buflen) {
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
        } else if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
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

char *jsonx_escape_dup(const char *s) {
    size_t cap = 4 * strlen(s ? s : "") + 8; /* \xNN per byte, and room for the end */
    char *buf = malloc(cap);
    return buf ? (char *)jsonx_escape(s, buf, cap) : NULL;
}
