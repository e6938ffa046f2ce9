/* fuzz.h - what the fuzz targets share. Each target (fuzz_*.c) defines
 * LLVMFuzzerTestOneInput and is linked two ways: with libFuzzer
 * (-Dfuzz=true, clang: scripts/fuzz.sh runs it) and with replay_main.c, a
 * plain main that feeds it every file of the directories it is given (the
 * regression inputs under tests/fuzz/regressions/ and the seed corpus), so
 * the ordinary suite replays every input found so far on every build, with
 * and without the sanitizers.
 *
 * The loaders read files, so an input is written to a scratch file first:
 * fuzz_scratch_dir() is a directory of this process (on /dev/shm when there
 * is one: no disk traffic), removed at exit. A target that finds a wrong
 * answer (not just a crash) calls fuzz_fail, which aborts: the fuzzer keeps
 * the input. */
#ifndef GPTSCOPE_FUZZ_H
#define GPTSCOPE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* This process's scratch directory (made on first use). */
const char *fuzz_scratch_dir(void);
/* Writes data to NAME in the scratch directory; returns its path (static
 * buffer per name slot 0..3) or NULL. */
const char *fuzz_write(int slot, const char *name, const void *data, size_t size);
/* A file of the source tree ($GPTSCOPE_SRC, else the tree it was built from). */
const char *fuzz_src_path(char *buf, size_t cap, const char *rel);
/* Reports a wrong result and aborts. */
void fuzz_fail(const char *what) __attribute__((noreturn));

#endif
