/* test_badname.c - a plugin whose descriptor breaks the rules (a name with
 * a space, a pane without a draw function): refused with the reason. */
#include <stddef.h>

#include "gptscope_plugin.h"

static const gsp_pane_t bad_panes[] = {{"p", "P", NULL}};
static const gsp_plugin_t bad = {.abi_version = GSP_ABI_VERSION,
                                 .name = "bad name",
                                 .version = "1",
                                 .description = "breaks the rules",
                                 .n_panes = 1,
                                 .panes = bad_panes};

int gptscope_plugin_entry(uint32_t host_abi, const gsp_host_api_t *host, const gsp_plugin_t **out,
                          char *err, size_t errlen) {
    (void)host_abi;
    (void)host;
    (void)err;
    (void)errlen;
    *out = &bad;
    return 0;
}
