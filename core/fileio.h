/* fileio.h - writing a whole file so that no reader ever sees half of it:
 * the data goes to PATH.tmp, is flushed to disk, and is renamed over PATH.
 * A failed write (a full disk, a killed process) leaves the old PATH intact.
 * Shared by everything core saves (configs, vocabularies, training state,
 * held-out text). */
#ifndef GPTSCOPE_FILEIO_H
#define GPTSCOPE_FILEIO_H

#include <stddef.h>

/* Returns 0, or -1 with "PATH: problem" in err (the temporary file removed). */
int fileio_write_atomic(const char *path, const void *data, size_t len, char *err,
                        size_t errlen);

#endif
