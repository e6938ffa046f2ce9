/* plugin_export.h - a stored session handed to a plugin's exporter
 * (`gptscope sessions export ID --format NAME`): the store's rows as the
 * ABI's gsp_session_t, with the attention of each token recomputed on
 * demand from the session's model. */
#ifndef GPTSCOPE_APP_PLUGIN_EXPORT_H
#define GPTSCOPE_APP_PLUGIN_EXPORT_H

#include <stddef.h>

#include "gpt.h"
#include "plugin_host.h"
#include "store.h"

/* Runs exporter ex (of plugin owner) on d; the bytes go to *out (malloc'd,
 * *out_len bytes). m (may be NULL: no attention in the export) must be the
 * model the session was made with. Returns 0, or -1 with err. */
int plugin_export_session(plugin_host_t *ph, const gsp_exporter_t *ex, int owner,
                          const store_session_data_t *d, const gpt_model_t *m, int n_threads,
                          char **out, size_t *out_len, char *err, size_t errlen);

#endif
