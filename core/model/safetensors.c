/* safetensors.c - the checkpoint container Hugging Face uses (model.safetensors).
 *
 * Reading maps the file read-only and validates everything before any pointer
 * into it is handed out: the header length against the file size, the JSON,
 * each tensor's dtype, shape and data offsets, and that shape x element size
 * equals the byte range (in overflow-checked arithmetic). Writing goes through
 * a temporary file and rename() so a checkpoint is either whole or absent. */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <utf8proc.h>

#include "fileio.h"
#include "jsonx.h"

/* A header larger than this is not a model header but a corrupt length. */
#define ST_MAX_HEADER (100u << 20)

static const struct {
    const char *name;
    st_dtype_t dtype;
    size_t size;
} st_dtypes[] = {
    {"F32", ST_F32, 4}, {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2}, {"F64", ST_F64, 8},
    {"I64", ST_I64, 8}, {"I32", ST_I32, 4}, {"I16", ST_I16, 2},   {"I8", ST_I8, 1},
    {"U8", ST_U8, 1},   {"BOOL", ST_BOOL, 1},
};
#define ST_N_DTYPES (sizeof(st_dtypes) / sizeof(st_dtypes[0]))

const char *st_dtype_name(st_dtype_t d) {
    for (size_t i = 0; i < ST_N_DTYPES; i++)
        if (st_dtypes[i].dtype == d) return st_dtypes[i].name;
    return "UNKNOWN";
}

size_t st_dtype_size(st_dtype_t d) {
    for (size_t i = 0; i < ST_N_DTYPES; i++)
        if (st_dtypes[i].dtype == d) return st_dtypes[i].size;
    return 0;
}

static st_dtype_t st_dtype_parse(const char *s) {
    for (size_t i = 0; i < ST_N_DTYPES; i++)
        if (strcmp(st_dtypes[i].name, s) == 0) return st_dtypes[i].dtype;
    return ST_UNKNOWN;
}

int64_t st_numel(const st_tensor_t *t) {
    int64_t n = 1;
    for (int i = 0; i < t->n_dims; i++) n *= t->shape[i];
    return n;
}

void st_close(st_file_t *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    free(f->tensors);
    free(f->by_name);
    if (f->map && f->map != MAP_FAILED) munmap(f->map, f->map_size);
    free(f->path);
    free(f);
}

/* Valid UTF-8 without control characters, non-empty: cJSON passes invalid
 * bytes in strings through, and names end up in messages. */
static int st_name_ok(const char *name) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)name;
    utf8proc_ssize_t left = (utf8proc_ssize_t)strlen(name);
    if (left == 0) return 0;
    while (left > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p, left, &cp);
        if (k <= 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
        p += k;
        left -= k;
    }
    return 1;
}

/* Fills t from one header entry; returns 0 or -1 with err. data_size is the
 * size of the data area that follows the header. */
static int st_parse_entry(st_tensor_t *t, const cJSON *e, const unsigned char *data,
                          size_t data_size, const char *path, char *err, size_t errlen) {
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsObject(e) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off) ||
        cJSON_GetArraySize(off) != 2) {
        snprintf(err, errlen, "%s: tensor %s: header entry needs dtype, shape and data_offsets",
                 path, t->name);
        return -1;
    }
    t->dtype = st_dtype_parse(dt->valuestring);
    if (t->dtype == ST_UNKNOWN) {
        char shown[64];
        snprintf(err, errlen, "%s: tensor %s: unknown dtype \"%s\"", path, t->name,
                 jsonx_escape(dt->valuestring, shown, sizeof shown));
        return -1;
    }
    int nd = cJSON_GetArraySize(sh);
    if (nd > ST_MAX_DIMS) {
        snprintf(err, errlen, "%s: tensor %s: %d dimensions (at most %d supported)", path,
                 t->name, nd, ST_MAX_DIMS);
        return -1;
    }
    t->n_dims = nd;
    uint64_t numel = 1;
    for (int i = 0; i < nd; i++) {
        const cJSON *d = cJSON_GetArrayItem(sh, i);
        if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 9.0e15 ||
            d->valuedouble != (double)(int64_t)d->valuedouble) {
            snprintf(err, errlen, "%s: tensor %s: bad shape entry %d", path, t->name, i);
            return -1;
        }
        t->shape[i] = (int64_t)d->valuedouble;
        if (t->shape[i] != 0 && numel > UINT64_MAX / (uint64_t)t->shape[i]) {
            snprintf(err, errlen, "%s: tensor %s: shape overflows", path, t->name);
            return -1;
        }
        numel *= (uint64_t)t->shape[i];
    }
    /* Two integer byte offsets into the data area. A string or 2.5 is a
     * malformed header, not a truncated file; huge numbers are shown short. */
    int64_t be[2];
    for (int i = 0; i < 2; i++) {
        const cJSON *o = cJSON_GetArrayItem(off, i);
        if (jsonx_int(o, 0, INT64_MAX, &be[i]) != JSONX_OK) {
            if (cJSON_IsNumber(o))
                snprintf(err, errlen, "%s: tensor %s: data_offsets[%d] is %.6g, not a byte offset",
                         path, t->name, i, o->valuedouble);
            else
                snprintf(err, errlen, "%s: tensor %s: data_offsets[%d] is not a number", path,
                         t->name, i);
            return -1;
        }
    }
    if (be[1] < be[0]) {
        snprintf(err, errlen, "%s: tensor %s: data_offsets [%lld, %lld] end before they begin",
                 path, t->name, (long long)be[0], (long long)be[1]);
        return -1;
    }
    if ((uint64_t)be[1] > data_size) {
        snprintf(err, errlen,
                 "%s: tensor %s: data_offsets [%lld, %lld] outside the data area of %zu bytes "
                 "(file truncated?)",
                 path, t->name, (long long)be[0], (long long)be[1], data_size);
        return -1;
    }
    uint64_t b = (uint64_t)be[0], en = (uint64_t)be[1];
    uint64_t esz = st_dtype_size(t->dtype);
    if (numel > UINT64_MAX / esz || numel * esz != en - b) {
        snprintf(err, errlen, "%s: tensor %s: %llu bytes for %llu elements of %s", path, t->name,
                 (unsigned long long)(en - b), (unsigned long long)numel, dt->valuestring);
        return -1;
    }
    t->data = data + (size_t)b;
    t->n_bytes = (size_t)(en - b);
    return 0;
}

static int st_by_offset(const void *a, const void *b) {
    const st_tensor_t *x = *(const st_tensor_t *const *)a, *y = *(const st_tensor_t *const *)b;
    const unsigned char *px = x->data, *py = y->data;
    if (px != py) return px < py ? -1 : 1;
    return x->n_bytes < y->n_bytes ? -1 : x->n_bytes > y->n_bytes;
}

/* As the reference implementation requires, the tensors tile the data area
 * exactly: no two share a byte (one write would change both), no byte is
 * left over between or after them (a sign of a damaged or doctored file). */
static int st_check_layout(const st_file_t *f, const unsigned char *data, size_t data_size,
                           char *err, size_t errlen) {
    const st_tensor_t **order = malloc((f->n_tensors ? f->n_tensors : 1) * sizeof *order);
    if (!order) {
        snprintf(err, errlen, "%s: out of memory", f->path);
        return -1;
    }
    for (size_t i = 0; i < f->n_tensors; i++) order[i] = &f->tensors[i];
    qsort(order, f->n_tensors, sizeof *order, st_by_offset);
    size_t at = 0;
    int rc = 0;
    for (size_t i = 0; i < f->n_tensors && rc == 0; i++) {
        size_t b = (size_t)((const unsigned char *)order[i]->data - data);
        if (b < at) {
            snprintf(err, errlen, "%s: tensor %s overlaps tensor %s (bytes %zu..%zu of the data area)",
                     f->path, order[i]->name, order[i - 1]->name, b, at);
            rc = -1;
        } else if (b > at) {
            snprintf(err, errlen, "%s: bytes %zu..%zu of the data area belong to no tensor",
                     f->path, at, b);
            rc = -1;
        }
        at = b + order[i]->n_bytes;
    }
    if (rc == 0 && at != data_size) {
        snprintf(err, errlen, "%s: %zu bytes after the last tensor belong to no tensor", f->path,
                 data_size - at);
        rc = -1;
    }
    free(order);
    return rc;
}

/* "__metadata__" is a string -> string map (the reference reader refuses
 * anything else, so such a file loads nowhere else either); null or absent
 * is no metadata. */
static int st_check_metadata(const st_file_t *f, const cJSON *meta, char *err, size_t errlen) {
    if (!meta || cJSON_IsNull(meta)) return 0;
    if (!cJSON_IsObject(meta)) {
        snprintf(err, errlen, "%s: __metadata__ must be an object of strings", f->path);
        return -1;
    }
    for (const cJSON *m = meta->child; m; m = m->next) {
        if (!cJSON_IsString(m)) {
            char shown[64];
            snprintf(err, errlen, "%s: __metadata__ \"%s\" must be a string", f->path,
                     jsonx_escape(m->string, shown, sizeof shown));
            return -1;
        }
    }
    return 0;
}

/* st_find's index: pointers to the tensors sorted by name. The model loader
 * looks up a dozen names per layer; a linear scan of a header with a million
 * junk entries before the real ones made loading take minutes. */
static int st_by_name(const void *a, const void *b) {
    return strcmp((*(const st_tensor_t *const *)a)->name, (*(const st_tensor_t *const *)b)->name);
}

static int st_index_names(st_file_t *f) {
    f->by_name = malloc((f->n_tensors ? f->n_tensors : 1) * sizeof *f->by_name);
    if (!f->by_name) return -1;
    for (size_t i = 0; i < f->n_tensors; i++) f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, f->n_tensors, sizeof *f->by_name, st_by_name);
    return 0;
}

static int st_parse_header(st_file_t *f, const char *json, size_t len, const unsigned char *data,
                           size_t data_size, char *err, size_t errlen) {
    /* strict: nothing but (padding) spaces after the object, no key twice */
    cJSON *root = jsonx_parse(json, len, f->path, err, errlen);
    if (!root) return -1;
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "%s: header is not a JSON object", f->path);
        cJSON_Delete(root);
        return -1;
    }
    if (st_check_metadata(f, cJSON_GetObjectItemCaseSensitive(root, "__metadata__"), err,
                          errlen) != 0) {
        cJSON_Delete(root);
        return -1;
    }
    size_t n = 0;
    for (const cJSON *e = root->child; e; e = e->next)
        if (strcmp(e->string, "__metadata__") != 0) n++;
    f->tensors = calloc(n ? n : 1, sizeof(*f->tensors));
    if (!f->tensors) {
        snprintf(err, errlen, "%s: out of memory", f->path);
        cJSON_Delete(root);
        return -1;
    }
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) continue;
        st_tensor_t *t = &f->tensors[f->n_tensors];
        char shown[160];
        if (!st_name_ok(e->string)) {
            snprintf(err, errlen, "%s: tensor name \"%s\" is not valid UTF-8 text", f->path,
                     jsonx_escape(e->string, shown, sizeof shown));
            cJSON_Delete(root);
            return -1;
        }
        t->name = strdup(e->string);
        if (!t->name) {
            snprintf(err, errlen, "%s: out of memory", f->path);
            cJSON_Delete(root);
            return -1;
        }
        f->n_tensors++;
        if (st_parse_entry(t, e, data, data_size, f->path, err, errlen) != 0) {
            cJSON_Delete(root);
            return -1;
        }
    }
    cJSON_Delete(root);
    if (st_index_names(f) != 0) {
        snprintf(err, errlen, "%s: out of memory", f->path);
        return -1;
    }
    /* The reference reader takes the header as UTF-8 text. Names and dtypes
     * were checked above (and named in the message); this catches the rest:
     * metadata, keys nobody reads. */
    size_t bad = jsonx_utf8_invalid_at(json, len);
    if (bad < len) {
        snprintf(err, errlen, "%s: header is not valid UTF-8 (byte %zu)", f->path, 8 + bad);
        return -1;
    }
    return st_check_layout(f, data, data_size, err, errlen);
}

st_file_t *st_open(const char *path, char *err, size_t errlen) {
    st_file_t *f = calloc(1, sizeof(*f));
    if (!f || !(f->path = strdup(path))) {
        snprintf(err, errlen, "%s: out of memory", path);
        free(f);
        return NULL;
    }
    /* a FIFO or a directory is refused, not waited on (fileio.h) */
    long long size = 0;
    int fd = fileio_open_regular(path, &size, err, errlen);
    if (fd < 0) {
        st_close(f);
        return NULL;
    }
    if (size < 8) {
        snprintf(err, errlen, "%s: file is %lld bytes, too short for a safetensors header", path,
                 size);
        close(fd);
        st_close(f);
        return NULL;
    }
    f->map_size = (size_t)size;
    /* MAP_POPULATE faults the whole file in at once (far cheaper than one page
     * fault per 4 KiB during the first forward pass). */
    f->map = mmap(NULL, f->map_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (f->map == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap failed: %s", path, strerror(errno));
        f->map = NULL;
        st_close(f);
        return NULL;
    }
    const unsigned char *p = f->map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | p[i]; /* little-endian */
    if (hlen == 0 || hlen > ST_MAX_HEADER || hlen > f->map_size - 8) {
        snprintf(err, errlen, "%s: header length %llu does not fit the file of %zu bytes", path,
                 (unsigned long long)hlen, f->map_size);
        st_close(f);
        return NULL;
    }
    if (st_parse_header(f, (const char *)p + 8, (size_t)hlen, p + 8 + hlen,
                        f->map_size - 8 - (size_t)hlen, err, errlen) != 0) {
        st_close(f);
        return NULL;
    }
    return f;
}

const st_tensor_t *st_find(const st_file_t *f, const char *name) {
    const st_tensor_t *const *idx = f->by_name;
    if (!idx) return NULL;
    size_t lo = 0, hi = f->n_tensors; /* binary search in [lo, hi) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(idx[mid]->name, name);
        if (c == 0) return idx[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* ---- writer ---- */

typedef struct st_wentry {
    char *name;
    st_dtype_t dtype;
    int n_dims;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
    size_t n_bytes;
} st_wentry_t;

struct st_writer {
    st_wentry_t *e;
    size_t n, cap;
};

st_writer_t *st_writer_init(void) { return calloc(1, sizeof(st_writer_t)); }

void st_writer_free(st_writer_t *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) free(w->e[i].name);
    free(w->e);
    free(w);
}

int st_writer_add(st_writer_t *w, const char *name, st_dtype_t dtype, int n_dims,
                  const int64_t *shape, const void *data) {
    if (n_dims < 0 || n_dims > ST_MAX_DIMS || st_dtype_size(dtype) == 0) return -1;
    if (w->n == w->cap) {
        size_t nc = w->cap ? 2 * w->cap : 64;
        st_wentry_t *ne = realloc(w->e, nc * sizeof(*ne));
        if (!ne) return -1;
        w->e = ne;
        w->cap = nc;
    }
    st_wentry_t *e = &w->e[w->n];
    memset(e, 0, sizeof(*e));
    if (!(e->name = strdup(name))) return -1;
    e->dtype = dtype;
    e->n_dims = n_dims;
    size_t numel = 1;
    for (int i = 0; i < n_dims; i++) {
        e->shape[i] = shape[i];
        numel *= (size_t)shape[i];
    }
    e->data = data;
    e->n_bytes = numel * st_dtype_size(dtype);
    w->n++;
    return 0;
}

static char *st_writer_header(const st_writer_t *w, size_t *len) {
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    size_t off = 0;
    for (size_t i = 0; i < w->n; i++) {
        const st_wentry_t *e = &w->e[i];
        cJSON *t = cJSON_AddObjectToObject(root, e->name);
        cJSON_AddStringToObject(t, "dtype", st_dtype_name(e->dtype));
        cJSON *sh = cJSON_AddArrayToObject(t, "shape");
        for (int d = 0; d < e->n_dims; d++)
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)e->shape[d]));
        cJSON *o = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)(off + e->n_bytes)));
        off += e->n_bytes;
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s) return NULL;
    /* Pad with spaces to a multiple of 8 so the data area is 8-byte aligned
     * in memory, as the reference implementation does. */
    size_t n = strlen(s), padded = (n + 7) & ~(size_t)7;
    char *h = realloc(s, padded + 1);
    if (!h) {
        free(s);
        return NULL;
    }
    memset(h + n, ' ', padded - n);
    h[padded] = 0;
    *len = padded;
    return h;
}

static int st_write_all(FILE *fp, const void *p, size_t n) {
    return n == 0 || fwrite(p, 1, n, fp) == n ? 0 : -1;
}

int st_writer_write(st_writer_t *w, const char *path, char *err, size_t errlen) {
    size_t hlen = 0;
    char *header = st_writer_header(w, &hlen);
    if (!header) {
        snprintf(err, errlen, "%s: out of memory building the header", path);
        return -1;
    }
    size_t plen = strlen(path) + 16;
    char *tmp = malloc(plen);
    if (!tmp) {
        free(header);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, plen, "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        free(header);
        free(tmp);
        return -1;
    }
    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    int rc = st_write_all(fp, lenbuf, 8) | st_write_all(fp, header, hlen);
    for (size_t i = 0; i < w->n && rc == 0; i++) rc = st_write_all(fp, w->e[i].data, w->e[i].n_bytes);
    if (rc == 0 && fflush(fp) != 0) rc = -1;
    if (rc == 0 && fsync(fileno(fp)) != 0) rc = -1;
    int saved = errno;
    if (fclose(fp) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(saved));
        unlink(tmp);
    }
    free(header);
    free(tmp);
    return rc;
}
