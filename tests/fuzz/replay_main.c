/* replay_main.c - a fuzz target without libFuzzer: runs it once on every
 * file of each directory (or file) on the command line, as TAP (one test
 * per directory: it passes when no input crashed, which a crash makes
 * impossible to report, so the process dying fails the test). See fuzz.h. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *b = realloc(buf, cap *= 2);
            if (!b) break;
            buf = b;
        }
    }
    fclose(f);
    if (!buf) return -1;
    /* a copy of exactly n bytes, so reading past the input is caught */
    unsigned char *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

int main(int argc, char **argv) {
    int t = 0, failed = 0;
    for (int a = 1; a < argc; a++) {
        struct stat sb;
        int n = 0, bad = 0;
        if (stat(argv[a], &sb) != 0) {
            printf("ok %d - %s # SKIP not there\n", ++t, argv[a]);
            continue;
        }
        if (S_ISDIR(sb.st_mode)) {
            struct dirent **list = NULL;
            int k = scandir(argv[a], &list, NULL, alphasort);
            for (int i = 0; i < k; i++) {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[a], list[i]->d_name);
                struct stat fs;
                if (list[i]->d_name[0] != '.' && stat(path, &fs) == 0 && S_ISREG(fs.st_mode)) {
                    bad += run_file(path) != 0;
                    n++;
                }
                free(list[i]);
            }
            free(list);
        } else {
            bad += run_file(argv[a]) != 0;
            n++;
        }
        printf("%sok %d - %d inputs of %s ran%s\n", bad ? "not " : "", ++t, n, argv[a],
               bad ? " (some unreadable)" : "");
        failed += bad != 0;
        fflush(stdout);
    }
    printf("1..%d\n", t);
    return failed ? 1 : 0;
}
