/*
 * tests/fuzz/replay_main.c — the fuzz targets without libFuzzer: a main
 * that runs each file named on the command line (or each file in a named
 * directory) through LLVMFuzzerTestOneInput once. It is how the gcc, clang
 * and ASan builds replay the corpora as ordinary tests; the fuzzing build
 * links libFuzzer's main instead.
 */
#include "fuzz_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		return 1;
	}
	size_t cap = 1 << 16, len = 0;
	unsigned char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			unsigned char *g = realloc(buf, cap *= 2);
			if (g == NULL)
				free(buf);
			buf = g;
		}
	}
	fclose(f);
	if (buf == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		return 1;
	}
	/* A copy of exactly `len` bytes, so ASan sees a read past the input. */
	unsigned char *exact = malloc(len ? len : 1);
	if (exact == NULL) {
		free(buf);
		return 1;
	}
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

/* Optional in a target, as with libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	int failed = 0, files = 0;
	for (int i = 1; i < argc; i++) {
		struct stat sb;
		if (stat(argv[i], &sb) != 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(sb.st_mode)) {
			failed |= run_file(argv[i]);
			files++;
			continue;
		}
		DIR *d = opendir(argv[i]);
		char **names = NULL;
		size_t count = 0;
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char **g = realloc(names, (count + 1) * sizeof *names);
			if (g == NULL)
				return 1;
			names = g;
			size_t l = strlen(argv[i]) + strlen(e->d_name) + 2;
			if ((names[count] = malloc(l)) == NULL)
				return 1;
			snprintf(names[count++], l, "%s/%s", argv[i], e->d_name);
		}
		if (d)
			closedir(d);
		if (names)
			qsort(names, count, sizeof *names, cmp);
		for (size_t k = 0; k < count; k++) {
			failed |= run_file(names[k]);
			files++;
			free(names[k]);
		}
		free(names);
	}
	printf("replayed %d inputs\n", files);
	return failed || files == 0;
}
