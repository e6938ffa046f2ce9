/* fuzz_store.c - the session database reader (app/store.c) on a damaged
 * .db file: opened read-only as `gptscope sessions` opens it, every session
 * listed and loaded, with every branch (store_branch.c walks parent links a
 * damaged file may loop or break); each step may refuse with a message,
 * none may crash, and the file must be left as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write(0, "sessions.db", data, size);
    if (!path) return 0;
    char wal[512], shm[512];
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    unlink(wal);
    unlink(shm);
    char err[512];
    store_t *s = store_open(path, 1, err, sizeof err);
    if (s) {
        store_session_info_t *v = NULL;
        int n = 0;
        if (store_session_list(s, &v, &n, err, sizeof err) == 0) {
            for (int i = 0; i < n && i < 16; i++) {
                store_session_data_t d;
                if (store_session_load_all(s, v[i].id, -1, &d, err, sizeof err) == 0) {
                    int nb = d.n_branches < 8 ? d.n_branches : 8;
                    store_session_data_free(&d);
                    for (int b = 0; b < nb; b++)
                        if (store_session_load_branch(s, v[i].id, b, &d, err, sizeof err) == 0)
                            store_session_data_free(&d);
                }
            }
            store_session_infos_free(v, n);
        }
        store_hit_t *h = NULL;
        int nh = 0;
        if (store_search(s, "e", &h, &nh, err, sizeof err) == 0) store_hits_free(h, nh);
        store_close(s);
    }
    /* read-only means read-only: the bytes are what they were */
    FILE *f = fopen(path, "rb");
    if (f) {
        unsigned char *back = malloc(size + 1);
        size_t got = back ? fread(back, 1, size + 1, f) : 0;
        fclose(f);
        if (back && (got != size || (size && memcmp(back, data, size) != 0)))
            fuzz_fail("a read-only open changed the database file");
        free(back);
    }
    return 0;
}
