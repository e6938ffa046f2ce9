/* chat_settings.c - what a chat runs with (chat.h: chat_settings_t): the
 * defaults, the range checks, the separator's escapes, and the JSON text
 * the session store keeps, written with the shortest decimal of each float
 * so that 0.7 reads back as 0.7; and the names of the stop reasons. */
#include "chat.h"
#include "jsonx.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *chat_stop_name(chat_stop_t s) {
    switch (s) {
    case CHAT_STOP_EOS: return "eos";
    case CHAT_STOP_MAX: return "max";
    case CHAT_STOP_INTERRUPTED: return "interrupted";
    case CHAT_STOP_ERROR: return "error";
    default: return NULL;
    }
}

chat_stop_t chat_stop_parse(const char *name) {
    for (int s = CHAT_STOP_EOS; name && s <= CHAT_STOP_ERROR; s++)
        if (strcmp(name, chat_stop_name((chat_stop_t)s)) == 0) return (chat_stop_t)s;
    return CHAT_STOP_NONE;
}

/* ---- settings ------------------------------------------------------------- */

chat_settings_t chat_settings_default(void) {
    chat_settings_t s;
    memset(&s, 0, sizeof s);
    s.sampling = sampler_params_default();
    s.max_tokens = 200;
    /* candidates kept per sampled token: enough to fill a 60-row
     * probability pane (sampler reports at most SAMPLER_MAX_REPORT) */
    s.sampling.n_report = 60;
    s.beams = 1;
    s.stop_at_eos = 1;
    /* a reply and the next prompt are joined by a newline (unless one is there) */
    snprintf(s.separator, sizeof s.separator, "\n");
    return s;
}

int chat_separator_parse(const char *text, char *out, size_t cap, char *err, size_t errlen) {
    size_t o = 0;
    if (strcmp(text, "none") == 0) text = "";
    for (const char *p = text; *p; p++) {
        char ch = *p;
        if (ch == '\\') {
            p++;
            ch = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 's' ? ' ' : *p == '\\' ? '\\' : 0;
            if (!ch) {
                snprintf(err, errlen, "separator: unknown escape '\\%c' (\\n, \\t, \\s, \\\\)",
                         *p ? *p : ' ');
                return -1;
            }
        }
        if (o + 1 >= cap || o >= CHAT_MAX_SEPARATOR) {
            snprintf(err, errlen, "separator is longer than %d bytes", CHAT_MAX_SEPARATOR);
            return -1;
        }
        out[o++] = ch;
    }
    out[o] = '\0';
    return 0;
}

const char *chat_separator_show(const char *sep, char *out, size_t cap) {
    size_t o = 0;
    if (!sep[0]) {
        snprintf(out, cap, "none");
        return out;
    }
    for (const char *p = sep; *p && o + 3 < cap; p++) {
        const char *e = *p == '\n' ? "\\n" : *p == '\t' ? "\\t" : *p == ' ' ? "\\s" : *p == '\\' ? "\\\\" : NULL;
        if (e) {
            out[o++] = e[0];
            out[o++] = e[1];
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return out;
}

int chat_settings_check(const chat_settings_t *s, char *err, size_t errlen) {
    if (sampler_params_check(&s->sampling, err, errlen) != 0) return -1;
    if (s->max_tokens < 1 || s->max_tokens > 1000000) {
        snprintf(err, errlen, "max-tokens must be between 1 and 1000000 (got %d)", s->max_tokens);
        return -1;
    }
    if (s->beams < 1 || s->beams > 16) {
        snprintf(err, errlen, "beams must be between 1 and 16 (got %d)", s->beams);
        return -1;
    }
    if (memchr(s->separator, '\0', sizeof s->separator) == NULL) {
        snprintf(err, errlen, "separator is longer than %d bytes", CHAT_MAX_SEPARATOR);
        return -1;
    }
    return 0;
}

/* The shortest decimal that reads back as the same float, as a double: 0.7f
 * is 0.699999988079071 as a double, and a JSON number written from that
 * shows the noise; the user typed 0.7. */
static double chat_float_shortest(float f) {
    if (!isfinite(f)) return (double)f;
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f) return strtod(buf, NULL);
    }
    return (double)f;
}

char *chat_settings_json(const chat_settings_t *s) {
    const sampler_params_t *p = &s->sampling;
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddNumberToObject(j, "temperature", chat_float_shortest(p->temperature));
    cJSON_AddNumberToObject(j, "top_k", p->top_k);
    cJSON_AddNumberToObject(j, "top_p", chat_float_shortest(p->top_p));
    cJSON_AddNumberToObject(j, "min_p", chat_float_shortest(p->min_p));
    cJSON_AddNumberToObject(j, "repetition_penalty", chat_float_shortest(p->repetition_penalty));
    cJSON_AddNumberToObject(j, "presence_penalty", chat_float_shortest(p->presence_penalty));
    cJSON_AddNumberToObject(j, "frequency_penalty", chat_float_shortest(p->frequency_penalty));
    /* seeds are 64-bit: a JSON number would lose the low bits past 2^53 */
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)p->seed);
    cJSON_AddStringToObject(j, "seed", seed);
    cJSON_AddNumberToObject(j, "max_tokens", s->max_tokens);
    cJSON_AddNumberToObject(j, "beams", s->beams);
    cJSON_AddNumberToObject(j, "candidates", s->sampling.n_report);
    cJSON_AddBoolToObject(j, "stop_at_eos", s->stop_at_eos);
    cJSON_AddStringToObject(j, "separator", s->separator);
    if (s->sampler[0]) cJSON_AddStringToObject(j, "sampler", s->sampler);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

char *chat_settings_json_tidy(const char *json) {
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return json ? strdup(json) : NULL;
    }
    for (cJSON *v = j->child; v; v = v->next)
        if (cJSON_IsNumber(v) && v->valuedouble != floor(v->valuedouble) &&
            fabs(v->valuedouble) < 3.4e38)
            cJSON_SetNumberValue(v, chat_float_shortest((float)v->valuedouble));
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

/* A stored float setting; a value beyond float's range becomes +-FLT_MAX
 * (converting it would be undefined) for chat_settings_check to refuse. */
static float chat_jfloat(const cJSON *j, const char *k, float def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!cJSON_IsNumber(v)) return def;
    double d = v->valuedouble;
    if (isnan(d)) return NAN;
    return d > FLT_MAX ? FLT_MAX : d < -FLT_MAX ? -FLT_MAX : (float)d;
}

/* A stored integer setting; not an int (2.5, 1e12) gives INT_MIN, which
 * every range check refuses, instead of an undefined conversion. */
static int chat_jint(const cJSON *j, const char *k, int def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!cJSON_IsNumber(v)) return def;
    int64_t x;
    return jsonx_int(v, INT_MIN + 1, INT_MAX, &x) == JSONX_OK ? (int)x : INT_MIN;
}

int chat_settings_from_json(chat_settings_t *s, const char *json, char *err, size_t errlen) {
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        snprintf(err, errlen, "settings: not a JSON object");
        return -1;
    }
    sampler_params_t *p = &s->sampling;
    p->temperature = chat_jfloat(j, "temperature", p->temperature);
    p->top_k = chat_jint(j, "top_k", p->top_k);
    p->top_p = chat_jfloat(j, "top_p", p->top_p);
    p->min_p = chat_jfloat(j, "min_p", p->min_p);
    p->repetition_penalty = chat_jfloat(j, "repetition_penalty", p->repetition_penalty);
    p->presence_penalty = chat_jfloat(j, "presence_penalty", p->presence_penalty);
    p->frequency_penalty = chat_jfloat(j, "frequency_penalty", p->frequency_penalty);
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(j, "seed");
    if (cJSON_IsString(seed)) p->seed = strtoull(seed->valuestring, NULL, 10);
    s->max_tokens = chat_jint(j, "max_tokens", s->max_tokens);
    p->n_report = chat_jint(j, "candidates", p->n_report);
    s->beams = chat_jint(j, "beams", s->beams);
    const cJSON *eos = cJSON_GetObjectItemCaseSensitive(j, "stop_at_eos");
    if (cJSON_IsBool(eos)) s->stop_at_eos = cJSON_IsTrue(eos);
    const cJSON *sep = cJSON_GetObjectItemCaseSensitive(j, "separator");
    if (cJSON_IsString(sep)) {
        if (strlen(sep->valuestring) > CHAT_MAX_SEPARATOR) {
            cJSON_Delete(j);
            snprintf(err, errlen, "separator is longer than %d bytes", CHAT_MAX_SEPARATOR);
            return -1;
        }
        snprintf(s->separator, sizeof s->separator, "%s", sep->valuestring);
    }
    const cJSON *smp = cJSON_GetObjectItemCaseSensitive(j, "sampler");
    if (cJSON_IsString(smp)) {
        if (strlen(smp->valuestring) > CHAT_MAX_SAMPLER) {
            cJSON_Delete(j);
            snprintf(err, errlen, "sampler is longer than %d bytes", CHAT_MAX_SAMPLER);
            return -1;
        }
        snprintf(s->sampler, sizeof s->sampler, "%s", smp->valuestring);
    }
    cJSON_Delete(j);
    return chat_settings_check(s, err, errlen);
}
