/* core/base/ - the helpers every other folder of core may use and that use
 * nothing of gptscope: whole-file reads and atomic writes (fileio.h), cJSON
 * helpers with depth and UTF-8 checks (jsonx.h), the seeded RNG (rng.h),
 * the monotonic clock (clockx.h), small maths and allocation helpers
 * (mathx.h, memx.h). May include: libc, cJSON. This is its main header.
 *
 * fileio.h - whole files in and out.
 * Writing: so that no reader ever sees half of a file, the data goes to
 * PATH.tmp, is flushed to disk, and is renamed over PATH. A failed write (a
 * full disk, a killed process) leaves the old PATH intact. Shared by
 * everything core saves (configs, vocabularies, training state, held-out text).
 * Reading: the whole file into one NUL-terminated buffer, with the error
 * message naming the file. */
#ifndef GPTSCOPE_FILEIO_H
#define GPTSCOPE_FILEIO_H

#include <stddef.h>
#include <stdio.h>

/* Returns 0, or -1 with "PATH: problem" in err (the temporary file removed). */
int fileio_write_atomic(const char *path, const void *data, size_t len, char *err,
                        size_t errlen);

/* Copies SRC to DST through DST.tmp + rename, as fileio_write_atomic. */
int fileio_copy_atomic(const char *src, const char *dst, char *err, size_t errlen);

/* Reads an open stream to its end into *data (malloc'd, NUL-terminated;
 * *len excludes the NUL). name is used in messages. max > 0 refuses a
 * stream longer than max bytes ("NAME: larger than ..."). Returns 0 or -1. */
int fileio_read_stream(FILE *f, const char *name, size_t max, char **data, size_t *len,
                       char *err, size_t errlen);
/* The same for a path; a directory is refused with "PATH: is a directory". */
int fileio_read_file(const char *path, size_t max, char **data, size_t *len, char *err,
                     size_t errlen);
/* The same for a file that must be a regular file (a model's or a
 * checkpoint's parts): a FIFO, device or socket is refused before anything
 * waits on it ("PATH: not a regular file"). fileio_read_file keeps pipes
 * working for user text such as <(command). */
int fileio_read_regular(const char *path, size_t max, char **data, size_t *len, char *err,
                        size_t errlen);
/* Opens path for reading if it is a regular file, without waiting on a FIFO:
 * returns the descriptor (blocking mode, close-on-exec) with its size in
 * *size, or -1 with "PATH: is a directory" / "not a regular file" / the
 * system's error in err. The one check behind fileio_read_regular and st_open. */
int fileio_open_regular(const char *path, long long *size, char *err, size_t errlen);

#endif
