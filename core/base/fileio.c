/* fileio.c - whole-file reads and atomic writes (fileio.h). */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int fileio_read_stream(FILE *f, const char *name, size_t max, char **data, size_t *len,
                       char *err, size_t errlen) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            snprintf(err, errlen, "%s: out of memory", name);
            return -1;
        }
        if (cap - n < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) free(buf);
            buf = nb;
            cap *= 2;
            continue;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (max > 0 && n > max) {
            snprintf(err, errlen, "%s: larger than %zu bytes", name, max);
            free(buf);
            return -1;
        }
        if (got == 0) break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", name, strerror(errno));
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

int fileio_read_file(const char *path, size_t max, char **data, size_t *len, char *err,
                     size_t errlen) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s: is a directory", path);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = fileio_read_stream(f, path, max, data, len, err, errlen);
    fclose(f);
    return rc;
}

int fileio_open_regular(const char *path, long long *size, char *err, size_t errlen) {
    /* O_NONBLOCK: open() of a FIFO for reading otherwise waits for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s: %s", path,
                 S_ISDIR(sb.st_mode) ? "is a directory" : "not a regular file");
        close(fd);
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    if (size) *size = (long long)sb.st_size;
    return fd;
}

int fileio_read_regular(const char *path, size_t max, char **data, size_t *len, char *err,
                        size_t errlen) {
    int fd = fileio_open_regular(path, NULL, err, errlen);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    int rc = fileio_read_stream(f, path, max, data, len, err, errlen);
    fclose(f);
    return rc;
}

int fileio_copy_atomic(const char *src, const char *dst, char *err, size_t errlen) {
    char *data = NULL;
    size_t len = 0;
    if (fileio_read_file(src, 0, &data, &len, err, errlen) != 0) return -1;
    int rc = fileio_write_atomic(dst, data, len, err, errlen);
    free(data);
    return rc;
}
