/* task_info.c - a fine-tuned model's "gptscope_task" (task_info.h). */
#include "task_info.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fileio.h"
#include "jsonx.h"

static int ti_int(const cJSON *o, const char *key, int lo, int hi, int *out) {
    int64_t v;
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j || jsonx_int(j, lo, hi, &v) != JSONX_OK) return -1;
    *out = (int)v;
    return 0;
}

void task_info_free(task_info_t *ti) {
    if (!ti) return;
    for (int i = 0; i < ti->n_labels; i++) free(ti->labels[i]);
    free(ti->labels);
    memset(ti, 0, sizeof *ti);
}

int task_info_load(task_info_t *ti, const char *config_path, const gpt_config_t *cfg, char *err,
                   size_t errlen) {
    memset(ti, 0, sizeof *ti);
    if (cfg->n_clf <= 0) {
        snprintf(err, errlen, "%s: the model has no task head (make one with 'gptscope finetune')",
                 config_path);
        return -1;
    }
    char *text = NULL, perr[512] = "";
    size_t len = 0;
    if (fileio_read_regular(config_path, 1 << 24, &text, &len, err, errlen) != 0) return -1;
    cJSON *root = jsonx_parse(text, len, config_path, perr, sizeof perr);
    free(text);
    const cJSON *tj = root ? cJSON_GetObjectItemCaseSensitive(root, "gptscope_task") : NULL;
    const cJSON *task = tj ? cJSON_GetObjectItemCaseSensitive(tj, "task") : NULL;
    const cJSON *labs = tj ? cJSON_GetObjectItemCaseSensitive(tj, "labels") : NULL;
    const int V = cfg->n_vocab;
    int bad = !root || !cJSON_IsString(task) || task_kind_parse(task->valuestring, &ti->kind) != 0 ||
              !cJSON_IsArray(labs) || ti_int(tj, "start_id", 0, V - 1, &ti->sp.start_id) ||
              ti_int(tj, "delim_id", 0, V - 1, &ti->sp.delim_id) ||
              ti_int(tj, "extract_id", 0, V - 1, &ti->sp.extract_id) ||
              ti_int(tj, "max_len", 4, cfg->n_ctx, &ti->max_len);
    int n = bad ? 0 : cJSON_GetArraySize(labs);
    if (!bad && !(ti->labels = calloc((size_t)(n > 0 ? n : 1), sizeof *ti->labels))) bad = 1;
    for (int i = 0; !bad && i < n; i++) {
        const cJSON *l = cJSON_GetArrayItem(labs, i);
        if (!cJSON_IsString(l) || !(ti->labels[i] = strdup(l->valuestring))) bad = 1;
        else ti->n_labels = i + 1;
    }
    const int want = ti->kind == TASK_CHOICE ? 1 : ti->n_labels;
    if (!bad && want != cfg->n_clf) bad = 1;
    const int parsed = root != NULL;
    cJSON_Delete(root);
    if (bad) {
        snprintf(err, errlen, "%s: \"gptscope_task\" is incomplete or does not match the head (%s)",
                 config_path, parsed ? "task, labels, start_id, delim_id, extract_id, max_len" : perr);
        task_info_free(ti);
        return -1;
    }
    return 0;
}
