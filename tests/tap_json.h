/* tap_json.h - reading the JSON golden files of the reference tests
 * (tests/reference/): a whole file parsed, and a number by key. */
#ifndef GPTSCOPE_TAP_JSON_H
#define GPTSCOPE_TAP_JSON_H

#include <math.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "fileio.h"

/* The file at path parsed, or NULL (unreadable, not JSON). */
static inline cJSON *tap_read_json(const char *path) {
    char *text = NULL, err[256];
    size_t len = 0;
    if (fileio_read_file(path, 0, &text, &len, err, sizeof err) != 0) return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    return j;
}

/* o[key] as a number; NaN when missing or not a number (so a comparison fails). */
static inline double tap_json_num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

#endif
