/* fuzz_safetensors.c - the safetensors header parser and tensor table
 * (core/model/safetensors.c) on arbitrary files: st_open must refuse or give a
 * table whose every tensor lies inside the mapping with the byte length its
 * dtype and shape say. */
#include <stdlib.h>

#include "fuzz.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write(0, "model.safetensors", data, size);
    if (!path) return 0;
    char err[512];
    st_file_t *f = st_open(path, err, sizeof err);
    if (!f) return 0;
    const char *lo = f->map, *hi = lo + f->map_size;
    volatile unsigned char sink = 0;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const st_tensor_t *t = &f->tensors[i];
        int64_t n = st_numel(t);
        if (n < 0 || (t->dtype != ST_UNKNOWN && (size_t)n * st_dtype_size(t->dtype) != t->n_bytes))
            fuzz_fail("a tensor's byte length disagrees with its shape and dtype");
        const char *d = t->data;
        if (t->n_bytes && (d < lo || d > hi || t->n_bytes > (size_t)(hi - d)))
            fuzz_fail("a tensor's data lies outside the file");
        if (t->n_bytes) sink ^= (unsigned char)(d[0] ^ d[t->n_bytes - 1]);
        if (st_find(f, t->name) == NULL) fuzz_fail("a listed tensor cannot be found by name");
    }
    (void)sink;
    st_close(f);
    return 0;
}
