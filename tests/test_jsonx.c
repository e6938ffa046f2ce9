/* test_jsonx.c - strict JSON parsing: duplicate keys at any depth, trailing
 * data, integers read without out-of-range conversions, message escaping. */
#include "jsonx.h"
#include "tap.h"

static int parses(const char *text, char *err, size_t errlen) {
    cJSON *j = jsonx_parse(text, strlen(text), "f.json", err, errlen);
    cJSON_Delete(j);
    return j != NULL;
}

int main(void) {
    tap_t t = {0};
    char err[256], buf[128];

    tap_ok(&t, parses("{\"a\": 1, \"b\": [1, 2]}\n", err, sizeof err), "plain object parses");
    tap_ok(&t, parses("  {}  \r\n\t", err, sizeof err), "surrounding whitespace is fine");
    tap_ok(&t, !parses("{\"a\": 1, \"a\": 2}", err, sizeof err) &&
                   strcmp(err, "f.json: duplicate key \"a\"") == 0,
           "duplicate key refused: %s", err);
    tap_ok(&t, !parses("{\"x\": {\"k\": 1, \"j\": 0, \"k\": 2}}", err, sizeof err) &&
                   strstr(err, "duplicate key \"k\""),
           "nested duplicate refused: %s", err);
    tap_ok(&t, !parses("[{\"k\": 1}, {\"z\": 1, \"z\": 1}]", err, sizeof err),
           "duplicate inside an array's object refused");
    tap_ok(&t, parses("[{\"k\": 1}, {\"k\": 1}]", err, sizeof err),
           "the same key in two objects is fine");
    tap_ok(&t, !parses("{\"a\": 1} x", err, sizeof err) &&
                   strcmp(err, "f.json: unexpected data after the JSON value at byte 9") == 0,
           "trailing garbage refused: %s", err);
    tap_ok(&t, !parses("{\"a\": 1}{}", err, sizeof err), "a second value refused");
    tap_ok(&t, !parses("{\"a\": }", err, sizeof err) && strstr(err, "not valid JSON"),
           "syntax error: %s", err);
    /* a NUL counted in len at the very end is what fileio buffers hold */
    cJSON *j = jsonx_parse("{}", 3, "f.json", err, sizeof err);
    tap_ok(&t, j != NULL, "a final NUL inside len is accepted");
    cJSON_Delete(j);
    j = jsonx_parse("{}\0x", 4, "f.json", err, sizeof err);
    tap_ok(&t, j == NULL, "data after an embedded NUL refused");
    cJSON_Delete(j);

    /* 2000 distinct keys, then the same plus one repeat far apart */
    size_t cap = 64 * 1024, o = 0;
    char *big = malloc(cap);
    o += (size_t)snprintf(big + o, cap - o, "{");
    for (int i = 0; i < 2000; i++) o += (size_t)snprintf(big + o, cap - o, "%s\"k%d\":%d", i ? "," : "", i, i);
    tap_ok(&t, (snprintf(big + o, cap - o, "}"), parses(big, err, sizeof err)), "2000 keys parse");
    snprintf(big + o, cap - o, ",\"k7\":1}");
    tap_ok(&t, !parses(big, err, sizeof err) && strstr(err, "\"k7\""), "repeat among 2000: %s", err);
    free(big);

    struct { const char *json; int64_t lo, hi; jsonx_int_status_t want; int64_t value; } cases[] = {
        {"12", 0, 100, JSONX_OK, 12},
        {"-7", -10, 10, JSONX_OK, -7},
        {"-7", 0, 10, JSONX_OUT_OF_RANGE, 0},
        {"2.5", 0, 10, JSONX_NOT_INTEGER, 0},
        {"1e12", 0, 1 << 20, JSONX_OUT_OF_RANGE, 0},
        {"1e999", 0, 1 << 20, JSONX_OUT_OF_RANGE, 0},
        {"-1e999", 0, 1 << 20, JSONX_OUT_OF_RANGE, 0},
        {"4611686018427387904", 0, INT64_MAX, JSONX_OK, INT64_C(4611686018427387904)},
        {"9.3e18", 0, INT64_MAX, JSONX_OUT_OF_RANGE, 0},
        {"\"3\"", 0, 10, JSONX_NOT_NUMBER, 0},
        {"true", 0, 10, JSONX_NOT_NUMBER, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *v = cJSON_Parse(cases[i].json);
        int64_t got = -12345;
        jsonx_int_status_t st = jsonx_int(v, cases[i].lo, cases[i].hi, &got);
        tap_ok(&t, st == cases[i].want && (st != JSONX_OK || got == cases[i].value),
               "jsonx_int(%s) -> %d (%s)", cases[i].json, (int)st,
               jsonx_int_problem(st, cases[i].lo, cases[i].hi, buf, sizeof buf));
        cJSON_Delete(v);
    }
    tap_ok(&t, strcmp(jsonx_int_problem(JSONX_OUT_OF_RANGE, 1, 9, buf, sizeof buf),
                      "must be from 1 to 9") == 0, "range message: %s", buf);

    {
        char *line = jsonx_escape_line_dup("x.json: name \"a\\xff\" bad\xfe\n");
        tap_ok(&t, line && strcmp(line, "x.json: name \"a\\xff\" bad\\xfe\\x0a") == 0,
               "jsonx_escape_line_dup keeps a message's own escapes, escapes raw bytes (%s)",
               line ? line : "NULL");
        free(line);
    }
    tap_ok(&t, strcmp(jsonx_escape("a\xff" "b\n\\", buf, sizeof buf), "a\\xffb\\x0a\\\\") == 0,
           "invalid byte, newline, backslash escaped: %s", buf);
    tap_ok(&t, strcmp(jsonx_escape("\xc4\xa0world \xe2\x82\xac", buf, sizeof buf),
                      "\xc4\xa0world \xe2\x82\xac") == 0,
           "valid UTF-8 kept: %s", buf);
    tap_ok(&t, strcmp(jsonx_escape("\xc2\x85", buf, sizeof buf), "\\xc2\\x85") == 0,
           "C1 control escaped: %s", buf);
    tap_ok(&t, strcmp(jsonx_escape("\xe2\x82", buf, sizeof buf), "\\xe2\\x82") == 0,
           "cut sequence escaped byte by byte: %s", buf);
    char small[10];
    jsonx_escape("abcdefghijklmnop", small, sizeof small);
    tap_ok(&t, strcmp(small, "abcdef...") == 0, "long text cut with ...: %s", small);
    return tap_done(&t);
}
