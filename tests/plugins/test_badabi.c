/* test_badabi.c - a plugin built for an ABI version that does not exist:
 * gptscope must refuse it naming both versions, before reading anything
 * else of its descriptor (the rest is deliberately garbage). */
#include "gptscope_plugin.h"

static const struct {
    uint32_t abi_version;
    const char *junk[4];
} future = {999, {"x", "y", "z", "w"}};

int gptscope_plugin_entry(uint32_t host_abi, const gsp_host_api_t *host, const gsp_plugin_t **out,
                          char *err, size_t errlen) {
    (void)host_abi;
    (void)host;
    (void)err;
    (void)errlen;
    *out = (const gsp_plugin_t *)(const void *)&future;
    return 0;
}
