/* task_data.c - the task formats' JSONL reader (task_data.h). */
#include "task_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "fileio.h"
#include "jsonx.h"

/* A line this long is not an example (a corrupt or wrong file). */
#define TASK_MAX_FILE ((size_t)1 << 31)

static const char *const task_names[] = {"classify", "entail", "similar", "choice"};

const char *task_kind_name(task_kind_t k) {
    return (unsigned)k < sizeof task_names / sizeof task_names[0] ? task_names[k] : "?";
}

int task_kind_parse(const char *name, task_kind_t *out) {
    for (int k = 0; name && k < (int)(sizeof task_names / sizeof task_names[0]); k++)
        if (strcmp(name, task_names[k]) == 0) {
            *out = (task_kind_t)k;
            return 0;
        }
    return -1;
}

static void task_example_free(task_example_t *e) {
    for (int i = 0; i < e->n_fields; i++) free(e->fields[i]);
    free(e->fields);
}

void task_data_free(task_data_t *d) {
    if (!d) return;
    for (int i = 0; i < d->n; i++) task_example_free(&d->ex[i]);
    free(d->ex);
    for (int i = 0; i < d->n_labels; i++) free(d->labels[i]);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* -1 when valid, else the offset of the first byte that is not UTF-8. */
static long task_utf8_invalid_at(const char *s) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t len = strlen(s), i = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) return (long)i;
        i += (size_t)n;
    }
    return -1;
}

/* The string field key of o, checked; NULL with err. */
static char *task_string(const cJSON *o, const char *key, const char *name, int line, char *err,
                         size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        snprintf(err, errlen, "%s:%d: \"%s\" is missing", name, line, key);
        return NULL;
    }
    if (!cJSON_IsString(v) || !v->valuestring) {
        snprintf(err, errlen, "%s:%d: \"%s\" must be a string", name, line, key);
        return NULL;
    }
    long bad = task_utf8_invalid_at(v->valuestring);
    if (bad >= 0) {
        snprintf(err, errlen, "%s:%d: \"%s\" is not valid UTF-8 (byte %ld)", name, line, key, bad);
        return NULL;
    }
    char *s = strdup(v->valuestring);
    if (!s) snprintf(err, errlen, "%s:%d: out of memory", name, line);
    return s;
}

/* The label's text: a string, or an integer as its decimal text. */
static int task_label_text(const cJSON *v, char *buf, size_t cap) {
    if (cJSON_IsString(v) && v->valuestring && v->valuestring[0] &&
        task_utf8_invalid_at(v->valuestring) < 0) {
        snprintf(buf, cap, "%s", v->valuestring);
        return strlen(v->valuestring) < cap ? 0 : -1;
    }
    int64_t i;
    if (jsonx_int(v, -1000000000, 1000000000, &i) == JSONX_OK) {
        snprintf(buf, cap, "%lld", (long long)i);
        return 0;
    }
    return -1;
}

static int task_label_find(char **labels, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (strcmp(labels[i], s) == 0) return i;
    return -1;
}

static int task_cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One object into e. Label texts are kept in *label_text (malloc'd, NULL when
 * the line has none) and resolved once every line is read. */
static int task_parse_object(const cJSON *o, task_kind_t kind, const char *name, int line,
                             task_example_t *e, char **label_text, char *err, size_t errlen) {
    static const char *const keys[][2] = {
        {"text", NULL}, {"premise", "hypothesis"}, {"a", "b"}, {"context", NULL}};
    int n_fixed = kind == TASK_ENTAIL || kind == TASK_SIMILAR ? 2 : 1;
    const cJSON *choices = NULL;
    int n_choices = 0;
    if (kind == TASK_CHOICE) {
        choices = cJSON_GetObjectItemCaseSensitive(o, "choices");
        n_choices = cJSON_IsArray(choices) ? cJSON_GetArraySize(choices) : 0;
        if (n_choices < 1) {
            snprintf(err, errlen, "%s:%d: \"choices\" must be a non-empty array of strings", name,
                     line);
            return -1;
        }
    }
    e->line = line;
    e->label = -1;
    e->fields = calloc((size_t)(n_fixed + n_choices), sizeof *e->fields);
    if (!e->fields) {
        snprintf(err, errlen, "%s:%d: out of memory", name, line);
        return -1;
    }
    for (int i = 0; i < n_fixed; i++) {
        if (!(e->fields[e->n_fields] = task_string(o, keys[kind][i], name, line, err, errlen)))
            return -1;
        e->n_fields++;
    }
    for (int k = 0; k < n_choices; k++) {
        const cJSON *v = cJSON_GetArrayItem(choices, k);
        long bad = cJSON_IsString(v) && v->valuestring ? task_utf8_invalid_at(v->valuestring) : 0;
        if (!cJSON_IsString(v) || bad >= 0) {
            snprintf(err, errlen,
                     bad >= 0 && cJSON_IsString(v) ? "%s:%d: \"choices\"[%d] is not valid UTF-8"
                                                   : "%s:%d: \"choices\"[%d] must be a string",
                     name, line, k);
            return -1;
        }
        if (!(e->fields[e->n_fields] = strdup(v->valuestring))) {
            snprintf(err, errlen, "%s:%d: out of memory", name, line);
            return -1;
        }
        e->n_fields++;
    }
    const cJSON *lv = cJSON_GetObjectItemCaseSensitive(o, "label");
    if (!lv || cJSON_IsNull(lv)) return 0;
    if (kind == TASK_CHOICE) {
        int64_t k;
        if (jsonx_int(lv, 0, n_choices - 1, &k) != JSONX_OK) {
            snprintf(err, errlen, "%s:%d: \"label\" must be the index of a choice (0 to %d)", name,
                     line, n_choices - 1);
            return -1;
        }
        e->label = (int)k;
        return 0;
    }
    char buf[256];
    if (task_label_text(lv, buf, sizeof buf) != 0) {
        snprintf(err, errlen, "%s:%d: \"label\" must be a non-empty string or an integer", name,
                 line);
        return -1;
    }
    if (!(*label_text = strdup(buf))) {
        snprintf(err, errlen, "%s:%d: out of memory", name, line);
        return -1;
    }
    return 0;
}

/* Fills d->labels (fixed or collected) and each example's label index. */
static int task_resolve_labels(task_data_t *d, char **texts, const char *name,
                               const task_read_opts_t *o, char *err, size_t errlen) {
    if (d->kind == TASK_CHOICE) return 0;
    int cap = o->labels ? o->n_labels : 0;
    if (o->labels) {
        d->labels = calloc((size_t)(cap > 0 ? cap : 1), sizeof *d->labels);
        if (!d->labels) goto oom;
        for (int i = 0; i < o->n_labels; i++) {
            if (!(d->labels[i] = strdup(o->labels[i]))) goto oom;
            d->n_labels++;
        }
    } else {
        for (int i = 0; i < d->n; i++) {
            if (!texts[i] || task_label_find(d->labels, d->n_labels, texts[i]) >= 0) continue;
            if (d->n_labels == cap) {
                cap = cap ? 2 * cap : 8;
                char **v = realloc(d->labels, (size_t)cap * sizeof *v);
                if (!v) goto oom;
                d->labels = v;
            }
            if (!(d->labels[d->n_labels] = strdup(texts[i]))) goto oom;
            d->n_labels++;
        }
        if (d->n_labels > 0) qsort(d->labels, (size_t)d->n_labels, sizeof *d->labels, task_cmp_str);
    }
    for (int i = 0; i < d->n; i++) {
        if (!texts[i]) continue;
        d->ex[i].label = task_label_find(d->labels, d->n_labels, texts[i]);
        if (d->ex[i].label < 0) {
            char list[200] = "";
            size_t o2 = 0;
            for (int k = 0; k < d->n_labels && o2 < sizeof list; k++)
                o2 += (size_t)snprintf(list + o2, sizeof list - o2, "%s%s", k ? ", " : "",
                                       d->labels[k]);
            snprintf(err, errlen, "%s:%d: label \"%s\" is not one of the model's labels (%s)", name,
                     d->ex[i].line, texts[i], list);
            return -1;
        }
    }
    return 0;
oom:
    snprintf(err, errlen, "%s: out of memory", name);
    return -1;
}

int task_data_parse(task_data_t *d, task_kind_t kind, const char *text, size_t len,
                    const char *name, const task_read_opts_t *opts, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    d->kind = kind;
    task_read_opts_t none = {0};
    const task_read_opts_t *o = opts ? opts : &none;
    char **texts = NULL;
    int cap = 0, rc = -1, line = 0;
    size_t at = 0;
    while (at < len) {
        const char *s = text + at, *nl = memchr(s, '\n', len - at);
        size_t n = nl ? (size_t)(nl - s) : len - at;
        at += n + (nl ? 1 : 0);
        line++;
        if (n > 0 && s[n - 1] == '\r') n--;
        size_t lead = 0;
        while (lead < n && (s[lead] == ' ' || s[lead] == '\t')) lead++;
        if (lead == n) continue; /* a blank line */
        if (d->n == cap) {
            cap = cap ? 2 * cap : 256;
            task_example_t *v = realloc(d->ex, (size_t)cap * sizeof *v);
            char **t = realloc(texts, (size_t)cap * sizeof *t);
            if (t) texts = t;
            if (!v || !t) {
                if (v) d->ex = v;
                snprintf(err, errlen, "%s: out of memory", name);
                goto done;
            }
            d->ex = v;
        }
        task_example_t *e = &d->ex[d->n];
        memset(e, 0, sizeof *e);
        texts[d->n] = NULL;
        d->n++;
        char label[512];
        snprintf(label, sizeof label, "%s:%d", name, line);
        char perr[256];
        cJSON *j = s[lead] == '{' ? jsonx_parse(s, n, label, perr, sizeof perr) : NULL;
        if (!j && kind == TASK_CLASSIFY && o->plain_text_lines && s[lead] != '{') {
            /* a raw line of text */
            e->line = line;
            e->label = -1;
            e->fields = calloc(1, sizeof *e->fields);
            char *t = e->fields ? malloc(n + 1) : NULL;
            if (!t) {
                snprintf(err, errlen, "%s: out of memory", name);
                goto done;
            }
            memcpy(t, s, n);
            t[n] = '\0';
            e->fields[0] = t;
            e->n_fields = 1;
            if (strlen(t) != n || task_utf8_invalid_at(t) >= 0) {
                snprintf(err, errlen, "%s:%d: the line is not valid UTF-8 text", name, line);
                goto done;
            }
            continue;
        }
        if (!j) {
            if (s[lead] == '{') snprintf(err, errlen, "%s", perr);
            else snprintf(err, errlen, "%s:%d: not a JSON object", name, line);
            goto done;
        }
        int bad = !cJSON_IsObject(j);
        if (bad) snprintf(err, errlen, "%s:%d: not a JSON object", name, line);
        else bad = task_parse_object(j, kind, name, line, e, &texts[d->n - 1], err, errlen);
        cJSON_Delete(j);
        if (bad) goto done;
        if (o->need_label && e->label < 0 && !texts[d->n - 1]) {
            snprintf(err, errlen, "%s:%d: \"label\" is missing", name, line);
            goto done;
        }
    }
    if (d->n == 0) {
        snprintf(err, errlen, "%s: no examples", name);
        goto done;
    }
    rc = task_resolve_labels(d, texts, name, o, err, errlen);
done:
    for (int i = 0; texts && i < d->n; i++) free(texts[i]);
    free(texts);
    if (rc != 0) task_data_free(d);
    return rc;
}

int task_data_read(task_data_t *d, task_kind_t kind, const char *path,
                   const task_read_opts_t *opts, char *err, size_t errlen) {
    char *text = NULL;
    size_t len = 0;
    int rc = strcmp(path, "-") == 0
                 ? fileio_read_stream(stdin, "stdin", TASK_MAX_FILE, &text, &len, err, errlen)
                 : fileio_read_file(path, TASK_MAX_FILE, &text, &len, err, errlen);
    if (rc != 0) {
        memset(d, 0, sizeof *d);
        return -1;
    }
    rc = task_data_parse(d, kind, text, len, strcmp(path, "-") == 0 ? "stdin" : path, opts, err,
                         errlen);
    free(text);
    return rc;
}
