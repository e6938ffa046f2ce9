/* fuzz_common.c - scratch files and paths for the fuzz targets (fuzz.h). */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef GPTSCOPE_SRCDIR
#define GPTSCOPE_SRCDIR "."
#endif

static char scratch[256];

static void scratch_remove(void) {
    if (!scratch[0]) return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0) { /* nothing else to do at exit */
    }
}

const char *fuzz_scratch_dir(void) {
    if (scratch[0]) return scratch;
    struct stat sb;
    const char *base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(scratch, sizeof scratch, "%s/gptscope-fuzz-XXXXXX", base);
    if (!mkdtemp(scratch)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(scratch_remove);
    return scratch;
}

const char *fuzz_write(int slot, const char *name, const void *data, size_t size) {
    static char paths[4][400];
    if (slot < 0 || slot > 3) return NULL;
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", fuzz_scratch_dir(), name);
    FILE *f = fopen(paths[slot], "wb");
    if (!f) return NULL;
    if (size && fwrite(data, 1, size, f) != size) {
        fclose(f);
        return NULL;
    }
    if (fclose(f) != 0) return NULL;
    return paths[slot];
}

const char *fuzz_src_path(char *buf, size_t cap, const char *rel) {
    const char *src = getenv("GPTSCOPE_SRC");
    snprintf(buf, cap, "%s/%s", src && *src ? src : GPTSCOPE_SRCDIR, rel);
    return buf;
}

void fuzz_fail(const char *what) {
    fprintf(stderr, "fuzz: wrong result: %s\n", what);
    abort();
}
