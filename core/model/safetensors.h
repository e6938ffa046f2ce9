/* safetensors.h - read (memory-mapped) and write the safetensors format.
 *
 * Layout: u64 little-endian header length N, then N bytes of JSON
 *   {"__metadata__": {...}, "name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}
 * then the data area; offsets are relative to its start. Every length,
 * offset and shape is checked against the file size before use. */
#ifndef GPTSCOPE_SAFETENSORS_H
#define GPTSCOPE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ST_F32 = 0, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL,
    ST_UNKNOWN
} st_dtype_t;

#define ST_MAX_DIMS 8

typedef struct st_tensor {
    char *name;
    st_dtype_t dtype;
    int n_dims;
    int64_t shape[ST_MAX_DIMS];
    const void *data;   /* into the mapping */
    size_t n_bytes;
} st_tensor_t;

typedef struct st_file {
    char *path;
    void *map;
    size_t map_size;
    st_tensor_t *tensors;     /* in file order */
    size_t n_tensors;
    const st_tensor_t **by_name; /* the same, sorted by name: st_find's index */
} st_file_t;

/* Maps and validates PATH. NULL with "PATH: ..." in err on any problem. */
st_file_t *st_open(const char *path, char *err, size_t errlen);
void st_close(st_file_t *f);
const st_tensor_t *st_find(const st_file_t *f, const char *name);
const char *st_dtype_name(st_dtype_t d);
size_t st_dtype_size(st_dtype_t d);
int64_t st_numel(const st_tensor_t *t);

/* Writer: tensors are described, then written in one go to PATH (through a
 * temporary file renamed into place, so a crash or full disk never leaves a
 * half-written checkpoint). Names are copied; data pointers must stay valid
 * until st_writer_write. */
typedef struct st_writer st_writer_t;
st_writer_t *st_writer_init(void);
void st_writer_free(st_writer_t *w);
int st_writer_add(st_writer_t *w, const char *name, st_dtype_t dtype, int n_dims,
                  const int64_t *shape, const void *data);
int st_writer_write(st_writer_t *w, const char *path, char *err, size_t errlen);

#endif
