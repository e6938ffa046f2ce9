/* export.h - a stored session written out for people (Markdown, the
 * transcript as `sessions show` prints it) or programs (JSON with every
 * token and candidate). Shared by `gptscope sessions` and /export. */
#ifndef GPTSCOPE_APP_EXPORT_H
#define GPTSCOPE_APP_EXPORT_H

#include <stdio.h>

#include "store.h"

/* Markdown: a header with the model and settings, then each turn. */
void export_markdown(const store_session_data_t *d, FILE *out);
/* Plain transcript for the terminal: "[user]" / "[model, 12 tokens, max]" blocks. */
void export_show(const store_session_data_t *d, FILE *out);
/* JSON: {"id", "created", ..., "turns": [{"role", "text", "tokens": [{"id", "text",
 * "candidates": [...]}]}]}; texts that are not whole UTF-8 characters are
 * written with U+FFFD and their exact bytes as "bytes": [..]. */
void export_json(const store_session_data_t *d, FILE *out);
/* One session per line for `sessions list` and /sessions. */
void export_list_line(const store_session_info_t *i, FILE *out);

#endif
