/* fuzz_model.c - the tensor table against a config (core/model/gpt_load.c): an
 * arbitrary model.safetensors beside a valid config.json (the first input
 * byte picks the GPT-2 or the GPT-1 reference model's), loaded with
 * gpt_load; a model that loads must also run a forward pass. */
#include <stdio.h>
#include <stdlib.h>

#include "fileio.h"
#include "fuzz.h"
#include "gpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *cfg[2];
    static size_t cfg_len[2];
    if (!cfg[0]) {
        const char *rel[2] = {"tests/reference/models/gpt2-f32/config.json",
                              "tests/reference/models/gpt1-f32/config.json"};
        for (int k = 0; k < 2; k++) {
            char path[1024], err[256];
            if (fileio_read_file(fuzz_src_path(path, sizeof path, rel[k]), 0, &cfg[k], &cfg_len[k],
                                 err, sizeof err) != 0) {
                fprintf(stderr, "fuzz_model: %s\n", err);
                abort();
            }
        }
    }
    if (size < 1) return 0;
    int k = data[0] & 1;
    if (!fuzz_write(0, "config.json", cfg[k], cfg_len[k]) ||
        !fuzz_write(1, "model.safetensors", data + 1, size - 1))
        return 0;
    char err[512];
    gpt_model_t *m = gpt_load(fuzz_scratch_dir(), err, sizeof err);
    if (!m) return 0;
    gpt_state_t *s = gpt_state_init(m, 2, 1, err, sizeof err);
    int ids[2] = {0, m->cfg.n_vocab - 1};
    float *logits = malloc((size_t)m->cfg.n_vocab * sizeof *logits);
    if (s && logits && gpt_forward(s, ids, 2, logits, 0, NULL, err, sizeof err) != 0)
        fuzz_fail("a model that loads cannot run");
    free(logits);
    gpt_state_free(s);
    gpt_free(m);
    return 0;
}
