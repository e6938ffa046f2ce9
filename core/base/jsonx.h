/* jsonx.h - strict JSON for files gptscope trusts: config.json, vocab.json,
 * the safetensors header, train_state.json.
 *
 * cJSON on its own accepts things Python's json (what wrote these files, and
 * what Hugging Face reads them with) treats differently: a duplicate key is
 * kept twice and cJSON_GetObjectItem returns the first, where Python takes
 * the last; trailing bytes after the value are ignored. A file that means
 * different things to two readers is refused here instead. */
#ifndef GPTSCOPE_JSONX_H
#define GPTSCOPE_JSONX_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Parses text[0..len) as exactly one JSON value followed by nothing but
 * whitespace, with no object holding the same key twice (at any depth).
 * Returns the tree (cJSON_Delete it), or NULL with "NAME: ..." in err:
 *   "NAME: not valid JSON (near byte 17)"
 *   "NAME: unexpected data after the JSON value at byte 1203"
 *   "NAME: duplicate key \"n_layer\""
 *   "NAME: starts with a UTF-8 byte-order mark, which JSON does not allow"
 *   "NAME: not valid JSON: nested deeper than 1000 levels (near byte 1000)" */
cJSON *jsonx_parse(const char *text, size_t len, const char *name, char *err, size_t errlen);
/* The same for a whole file that must be UTF-8 text, as Python's json.load
 * of it requires: an invalid byte or a NUL anywhere (cJSON passes the first
 * through and cuts a string at the second) is refused first,
 *   "NAME: not valid UTF-8 (byte 17)", "NAME: NUL byte at byte 17". */
cJSON *jsonx_parse_utf8(const char *text, size_t len, const char *name, char *err,
                        size_t errlen);
/* Offset of the first byte of text[0..len) that is a NUL or not part of a
 * valid UTF-8 character, or len when there is none. */
size_t jsonx_utf8_invalid_at(const char *text, size_t len);

/* Result of reading a JSON number as an integer. */
typedef enum {
    JSONX_OK = 0,
    JSONX_NOT_NUMBER,   /* a string, bool, object, ... */
    JSONX_NOT_INTEGER,  /* 2.5 */
    JSONX_OUT_OF_RANGE, /* outside [lo, hi], including 1e999 (inf) */
} jsonx_int_status_t;

/* Reads v as an integer in [lo, hi] without any out-of-range float-to-int
 * conversion (the comparison is done in double first). */
jsonx_int_status_t jsonx_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out);

/* "must be an integer", "must be an integer from LO to HI", ... for a
 * status, written into buf. */
const char *jsonx_int_problem(jsonx_int_status_t st, int64_t lo, int64_t hi, char *buf,
                              size_t buflen);

/* Copies s into buf for a one-line message: printable ASCII and valid UTF-8
 * characters as they are, a backslash as \\, control characters and bytes
 * that are not valid UTF-8 as \xNN; cut with "..." to fit buflen. */
const char *jsonx_escape(const char *s, char *buf, size_t buflen);
/* The same, whole, in a malloc'd string (each byte takes at most 4); NULL
 * when out of memory. */
char *jsonx_escape_dup(const char *s);
/* For a message that may already hold escapes (a core error naming a bad
 * byte as \xff): the same, but backslashes are left as they are, so the
 * escape is not shown doubled. Only control characters and invalid bytes
 * are escaped. */
char *jsonx_escape_line_dup(const char *s);

#endif
