/* fileio.c - whole-file atomic writes (fileio.h). */
#include "fileio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int fileio_write_atomic(const char *path, const void *data, size_t len, char *err,
                        size_t errlen) {
    char tmp[4300];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        snprintf(err, errlen, "%.200s...: path too long", path);
        return -1;
    }
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    int bad = len && fwrite(data, 1, len, fp) != len;
    bad |= fflush(fp) != 0;
    bad |= fsync(fileno(fp)) != 0;
    int saved = errno;
    bad |= fclose(fp) != 0;
    if (bad) {
        snprintf(err, errlen, "%s: write failed: %s", tmp, strerror(saved ? saved : errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
