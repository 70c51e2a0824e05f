/*
 * tests/fuzz/fuzz_util.c — see fuzz_util.h.
 */
#include "fuzz_util.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *scratch;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void fz_rmtree(const char *path)
{
	if (path)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_scratch(void)
{
	fz_rmtree(scratch);
	free(scratch);
	scratch = NULL;
}

char *fz_scratch_dir(void)
{
	if (scratch)
		return scratch;
	struct stat sb;
	const char *base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) &&
	                                   access("/dev/shm", W_OK) == 0
	                           ? "/dev/shm"
	                           : getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR")
	                                                                     : "/tmp";
	size_t n = strlen(base) + 32;
	scratch = malloc(n);
	if (scratch == NULL)
		abort();
	snprintf(scratch, n, "%s/ficfuzz.XXXXXX", base);
	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		abort();
	}
	atexit(remove_scratch);
	return scratch;
}

char *fz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

const fic_platform *fz_platform(void)
{
	static fic_platform p;
	static int made;
	if (!made) {
		p = *fic_platform_default();
		p.log = NULL;
		made = 1;
	}
	return &p;
}

void fz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: property failed: %s\n", file, line, what);
	abort();
}
