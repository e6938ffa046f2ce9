/* fuzz_config.c - config.json (core/model/gpt_config.c): gpt_config_load on
 * arbitrary bytes; a config that loads and passes gpt_config_check must
 * have shapes inside the documented limits. */
#include "fuzz.h"
#include "gpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write(0, "config.json", data, size);
    if (!path) return 0;
    gpt_config_t c;
    char err[512];
    if (gpt_config_load(&c, path, err, sizeof err) != 0) return 0;
    if (gpt_config_check(&c, err, sizeof err) != 0) return 0;
    if (c.n_layer < 1 || c.n_layer > GPT_MAX_LAYER || c.n_head < 1 || c.n_head > GPT_MAX_HEAD ||
        c.n_embd < 1 || c.n_embd > GPT_MAX_EMBD || c.n_embd % c.n_head != 0 || c.n_ctx < 1 ||
        c.n_ctx > GPT_MAX_CTX || c.n_vocab < 1 || c.n_vocab > GPT_MAX_VOCAB || c.n_inner < 1 ||
        c.n_inner > GPT_MAX_INNER)
        fuzz_fail("a config outside the limits passed gpt_config_check");
    if (gpt_config_n_params(&c) <= 0) fuzz_fail("a checked config has no parameters");
    return 0;
}
