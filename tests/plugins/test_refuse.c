/* test_refuse.c - a plugin whose entry fails with a reason. */
#include <stdio.h>

#include "gptscope_plugin.h"

int gptscope_plugin_entry(uint32_t host_abi, const gsp_host_api_t *host, const gsp_plugin_t **out,
                          char *err, size_t errlen) {
    (void)host_abi;
    (void)host;
    (void)out;
    snprintf(err, errlen, "the test plugin refuses to start");
    return -1;
}
