/*
 * tests/fuzz/fuzz_util.h — what the libFuzzer targets share: a scratch
 * directory (on /dev/shm when there is one, so a store's fsyncs cost
 * nothing), removing it, a NUL-terminated copy of an input, a platform that
 * logs nothing, and a check that stops the run when a property fails.
 *
 * docs/fuzzing.md says how the targets are built and run.
 */
#ifndef FIC_FUZZ_UTIL_H
#define FIC_FUZZ_UTIL_H

#include <fieldinspect/fieldinspect.h>

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A fresh directory for the process (removed at exit); aborts if none can be made. */
char *fz_scratch_dir(void);
/* Remove a directory tree. */
void fz_rmtree(const char *path);
/* A NUL-terminated malloc'd copy of data[0..size) (free()). */
char *fz_cstr(const uint8_t *data, size_t size);
/* The default platform with logging off (the library's warnings about bad
 * items would otherwise flood the run). */
const fic_platform *fz_platform(void);

/* A property the target asserts: print it and abort, which libFuzzer reports as a crash. */
#define FZ_CHECK(cond)                                                                       \
	do {                                                                                 \
		if (!(cond))                                                                 \
			fz_fail(__FILE__, __LINE__, #cond);                                  \
	} while (0)
void fz_fail(const char *file, int line, const char *what);

#endif
