/* cli.c - shared plumbing of the gptscope subcommands (see cli.h). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonx.h"
#include "kernels_amx.h"

#ifndef GPTSCOPE_DATADIR
#define GPTSCOPE_DATADIR "/usr/local/share"
#endif
#ifndef GPTSCOPE_SRCDIR
#define GPTSCOPE_SRCDIR "."
#endif

/* Prints "gptscope: PREFIXmessageSUFFIX" as one line. The message may carry
 * untrusted text (a path, a prompt word, a tensor name): control bytes,
 * newlines and invalid UTF-8 are escaped so that it stays one line and
 * cannot drive the terminal. */
static void cli_vmsg(const char *prefix, const char *suffix, const char *fmt, va_list ap) {
    char msg[8192];
    vsnprintf(msg, sizeof msg, fmt, ap);
    char *shown = jsonx_escape_line_dup(msg); /* core's messages escape bad bytes already */
    fprintf(stderr, "gptscope: %s%s%s\n", prefix, shown ? shown : msg, suffix);
    free(shown);
}

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    cli_vmsg("", "", fmt, ap);
    va_end(ap);
}

void cli_usage_error(const char *cmd, const char *fmt, ...) {
    char prefix[64], suffix[96];
    snprintf(prefix, sizeof prefix, "%s: ", cmd);
    snprintf(suffix, sizeof suffix, " (see 'gptscope help %s')", cmd);
    va_list ap;
    va_start(ap, fmt);
    cli_vmsg(prefix, suffix, fmt, ap);
    va_end(ap);
}

void cli_bad_option(const char *cmd, int c, int optopt_val, char **argv, int optind_val) {
    /* With opterr = 0 getopt_long stays silent; argv[optind - 1] is the
     * offending word for long options, optopt the letter for short ones. */
    const char *word = optind_val > 0 ? argv[optind_val - 1] : "?";
    if (c == ':') {
        cli_usage_error(cmd, "option '%s' needs a value", word);
    } else if (optopt_val > 0 && optopt_val < 256 && isprint(optopt_val)) {
        cli_usage_error(cmd, "unknown option '-%c'", optopt_val);
    } else {
        cli_usage_error(cmd, "unknown option '%s'", word);
    }
}

int cli_parse_int(const char *cmd, const char *flag, const char *s, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || isspace((unsigned char)*s)) {
        cli_usage_error(cmd, "%s: '%s' is not an integer", flag, s);
        return -1;
    }
    if (errno == ERANGE || v < lo || v > hi) {
        cli_usage_error(cmd, "%s: %s is out of range [%ld, %ld]", flag, s, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int cli_parse_u64(const char *cmd, const char *flag, const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    /* strtoull accepts "-1" and wraps it; a seed must be written as it is used. */
    if (!isdigit((unsigned char)*s)) {
        cli_usage_error(cmd, "%s: '%s' is not a non-negative integer", flag, s);
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0') {
        cli_usage_error(cmd, "%s: '%s' is not a non-negative integer", flag, s);
        return -1;
    }
    if (errno == ERANGE) {
        cli_usage_error(cmd, "%s: %s does not fit in 64 bits", flag, s);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_float(const char *cmd, const char *flag, const char *s, double lo, int lo_open,
                    double hi, int hi_open, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || isspace((unsigned char)*s) || !isfinite(v)) {
        cli_usage_error(cmd, "%s: '%s' is not a finite number", flag, s);
        return -1;
    }
    if ((lo_open ? v <= lo : v < lo) || (hi_open ? v >= hi : v > hi)) {
        cli_usage_error(cmd, "%s: %s is out of range %c%g, %g%c", flag, s, lo_open ? '(' : '[',
                        lo, hi, hi_open ? ')' : ']');
        return -1;
    }
    *out = (float)v;
    return 0;
}

int cli_default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 && n <= 1024 ? (int)n : 1;
}

int cli_precision_auto(void) { return amx_best_backend() != AMX_BACKEND_NONE; }

int cli_parse_precision(const char *cmd, const char *s, int *bf16) {
    const int have = cli_precision_auto();
    if (!strcmp(s, "auto")) *bf16 = have;
    else if (!strcmp(s, "f32")) *bf16 = 0;
    else if (!strcmp(s, "bf16") && have) *bf16 = 1;
    else if (!strcmp(s, "bf16")) {
        cli_usage_error(cmd, "--precision bf16 needs a CPU with AMX-BF16 or AVX512-BF16");
        return 1;
    } else {
        cli_usage_error(cmd, "--precision must be auto, f32 or bf16 (got '%s')", s);
        return 1;
    }
    return 0;
}

const char *cli_precision_name(int bf16) {
    if (!bf16) return "f32";
    return amx_best_backend() == AMX_BACKEND_TILES ? "bf16 (AMX tiles)" : "bf16 (AVX512-BF16)";
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_config(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    return access(path, R_OK) == 0;
}

/* -m, then $GPTSCOPE_MODEL, then the installed and the source-tree copies of
 * the bundled default model. An explicit choice is used even if broken, so
 * that its error is reported instead of silently falling back. */
static int resolve_model_dir(const char *dir_flag, char *out, size_t cap) {
    const char *env = getenv("GPTSCOPE_MODEL");
    const char *pick = NULL;
    if (dir_flag && *dir_flag) {
        pick = dir_flag;
    } else if (env && *env) {
        pick = env;
    } else {
        /* The installed copy, then one next to a relocated install
         * (EXE_DIR/../share/gptscope), then the source tree's (a build that
         * was never installed). */
        char rel[4096];
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        rel[0] = 0;
        if (n > 0) {
            exe[n] = 0;
            char *slash = strrchr(exe, '/');
            if (slash) {
                *slash = 0;
                snprintf(rel, sizeof rel, "%.3000s/../share/gptscope/default-model", exe);
            }
        }
        const char *const bundled[] = {GPTSCOPE_DATADIR "/gptscope/default-model", rel,
                                       GPTSCOPE_SRCDIR "/assets/default-model"};
        for (size_t i = 0; i < sizeof bundled / sizeof bundled[0]; i++) {
            if (bundled[i][0] && has_config(bundled[i])) {
                pick = bundled[i];
                break;
            }
        }
        if (!pick) {
            cli_error("no model: pass -m DIR (no bundled model found)");
            return -1;
        }
    }
    if ((size_t)snprintf(out, cap, "%s", pick) >= cap) {
        cli_error("%.64s...: model path too long", pick);
        return -1;
    }
    if (!is_dir(out)) {
        cli_error("%s: %s", out, access(out, F_OK) == 0 ? "not a directory" : strerror(errno));
        return -1;
    }
    return 0;
}

tokenizer_kind_t cli_tokenizer_kind(const gpt_config_t *cfg) {
    return strcmp(cfg->model_type, "openai-gpt") == 0 ? TOKENIZER_GPT1 : TOKENIZER_GPT2;
}

int cli_model_open(cli_model_t *cm, const char *dir_flag, int want_weights) {
    char err[1024];
    memset(cm, 0, sizeof *cm);
    if (resolve_model_dir(dir_flag, cm->dir, sizeof cm->dir)) return -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", cm->dir);
    if (gpt_config_load(&cm->cfg, path, err, sizeof err) ||
        gpt_config_check(&cm->cfg, err, sizeof err)) {
        cli_error("%s", err);
        return -1;
    }
    cm->tok = tokenizer_load(cm->dir, cli_tokenizer_kind(&cm->cfg), err, sizeof err);
    if (!cm->tok) {
        cli_error("%s", err);
        return -1;
    }
    /* Both ways are broken: more tokens than embedding rows cannot be run,
     * fewer leave ids the model can sample but no text decodes to. */
    if (tokenizer_vocab_size(cm->tok) != cm->cfg.n_vocab) {
        cli_error("%s: vocab.json has %d tokens but config.json vocab_size is %d", cm->dir,
                  tokenizer_vocab_size(cm->tok), cm->cfg.n_vocab);
        cli_model_close(cm);
        return -1;
    }
    if (want_weights) {
        cm->model = gpt_load(cm->dir, err, sizeof err);
        if (!cm->model) {
            cli_error("%s", err);
            cli_model_close(cm);
            return -1;
        }
        cm->cfg = cm->model->cfg;
    }
    return 0;
}

void cli_model_close(cli_model_t *cm) {
    if (!cm) return;
    gpt_free(cm->model);
    tokenizer_free(cm->tok);
    cm->model = NULL;
    cm->tok = NULL;
}

int cli_eos_id(const cli_model_t *cm) {
    int id = cm->tok ? tokenizer_eot_id(cm->tok) : -1;
    if (id < 0) id = cm->cfg.eos_id;
    return id >= 0 && id < cm->cfg.n_vocab ? id : -1;
}

int cli_same_tokenizer(const char *a, const char *b, char *err, size_t errlen) {
    static const char *const files[2] = {"vocab.json", "merges.txt"};
    for (int k = 0; k < 2; k++) {
        char pa[4200], pb[4200];
        char *da = NULL, *db = NULL;
        size_t la = 0, lb = 0;
        snprintf(pa, sizeof pa, "%s/%s", a, files[k]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[k]);
        if (fileio_read_regular(pa, 64u << 20, &da, &la, err, errlen) != 0 ||
            fileio_read_regular(pb, 64u << 20, &db, &lb, err, errlen) != 0) {
            free(da);
            return -1;
        }
        int same = la == lb && memcmp(da, db, la) == 0;
        free(da);
        free(db);
        if (!same) {
            snprintf(err, errlen, "the models do not share a tokenizer (%s and %s differ): their "
                     "token ids cannot be compared", pa, pb);
            return -1;
        }
    }
    return 0;
}

int cli_read_path(const char *path, char **data, size_t *len, char *err, size_t errlen) {
    if (strcmp(path, "-") == 0) return fileio_read_stream(stdin, "stdin", 0, data, len, err, errlen);
    return fileio_read_file(path, 0, data, len, err, errlen);
}

int cli_parse_ids(const char *text, const char *what, int **ids, size_t *n, char *err,
                  size_t errlen) {
    size_t cap = 64, count = 0;
    int *out = malloc(cap * sizeof *out);
    if (!out) goto oom;
    const char *p = text;
    for (;;) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        if (!isdigit((unsigned char)*p)) {
            size_t w = 0; /* the offending word, not the rest of the input */
            while (p[w] && !isspace((unsigned char)p[w]) && w < 20) w++;
            snprintf(err, errlen, "%s: '%.*s' is not a token id (ids are non-negative integers)",
                     what, (int)w, p);
            free(out);
            return -1;
        }
        long v = 0;
        while (isdigit((unsigned char)*p)) {
            v = v * 10 + (*p - '0');
            if (v > INT32_MAX) {
                snprintf(err, errlen, "%s: token id too large", what);
                free(out);
                return -1;
            }
            p++;
        }
        if (*p && !isspace((unsigned char)*p)) {
            snprintf(err, errlen, "%s: unexpected '%c' after id %ld", what, *p, v);
            free(out);
            return -1;
        }
        if (count == cap) {
            int *nb = realloc(out, cap * 2 * sizeof *out);
            if (!nb) goto oom;
            out = nb;
            cap *= 2;
        }
        out[count++] = (int)v;
    }
    *ids = out;
    *n = count;
    return 0;
oom:
    free(out);
    snprintf(err, errlen, "%s: out of memory", what);
    return -1;
}

int cli_check_ids(const int *ids, size_t n, int n_vocab, const char *what) {
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= n_vocab) {
            cli_error("%s: id %d (position %zu) is outside the vocabulary (0..%d)", what, ids[i],
                      i, n_vocab - 1);
            return -1;
        }
    }
    return 0;
}

int cli_utf8_seq(const unsigned char *s, size_t n, size_t *bad_len) {
    /* Table 3-7 of the Unicode standard: the second byte's range depends on
     * the first (no overlongs, no surrogates, nothing above U+10FFFF). */
    unsigned c = s[0];
    int need;
    unsigned lo = 0x80, hi = 0xBF;
    if (bad_len) *bad_len = 1;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    size_t i = 1;
    for (; i <= (size_t)need && i < n; i++) {
        unsigned b = s[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) break;
    }
    if (i == (size_t)need + 1) return need + 1;
    if (bad_len) *bad_len = i; /* the valid prefix, replaced as one */
    return 0;
}

int cli_utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        int k = cli_utf8_seq(p + i, n - i, NULL);
        if (!k) return 0;
        i += (size_t)k;
    }
    return 1;
}

void cli_json_string(FILE *out, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    for (size_t i = 0; i < n;) {
        size_t bad;
        int k = cli_utf8_seq(p + i, n - i, &bad);
        if (!k) {
            fputs("\xEF\xBF\xBD", out); /* U+FFFD */
            i += bad;
            continue;
        }
        if (k > 1) {
            fwrite(p + i, 1, (size_t)k, out);
        } else {
            unsigned char c = p[i];
            switch (c) {
            case '"': fputs("\\\"", out); break;
            case '\\': fputs("\\\\", out); break;
            case '\n': fputs("\\n", out); break;
            case '\r': fputs("\\r", out); break;
            case '\t': fputs("\\t", out); break;
            case '\b': fputs("\\b", out); break;
            case '\f': fputs("\\f", out); break;
            default:
                if (c < 0x20 || c == 0x7F) fprintf(out, "\\u%04x", c);
                else fputc(c, out);
            }
        }
        i += (size_t)k;
    }
    fputc('"', out);
}

void cli_json_number(FILE *out, double v) {
    if (isfinite(v)) fprintf(out, "%.9g", v);
    else fputs("null", out);
}
