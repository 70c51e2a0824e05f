/*
 * tests/core/test_durable_rename.c — every rename of a file that matters is
 * made durable: the file's bytes are fsync'd before it takes its name, and
 * the directory is fsync'd after, so that after a power cut the name never
 * points at an empty or half-written file, nor is it lost. The test is
 * linked with -Wl,--wrap=rename,--wrap=fsync: the library's calls come here,
 * are recorded with the path each descriptor names, and go on to libc.
 */
#include "testutil.h"
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

int __real_rename(const char *from, const char *to);
int __real_fsync(int fd);
int __wrap_rename(const char *from, const char *to);
int __wrap_fsync(int fd);

/* What the library did, in order: "fsync PATH" or "rename FROM TO". */
#define MAX_EVENTS 256
static char events[MAX_EVENTS][2 * PATH_MAX + 16];
static int nevents;

int __wrap_fsync(int fd)
{
	char link[64], path[PATH_MAX] = "?";
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	path[n > 0 ? n : 1] = '\0';
	if (nevents < MAX_EVENTS)
		snprintf(events[nevents++], sizeof events[0], "fsync %s", path);
	return __real_fsync(fd);
}

int __wrap_rename(const char *from, const char *to)
{
	char rf[PATH_MAX], rt[PATH_MAX], dir[PATH_MAX];
	/* Paths as the descriptors name them: resolved, the target by its folder. */
	if (realpath(from, rf) == NULL)
		snprintf(rf, sizeof rf, "%s", from);
	snprintf(dir, sizeof dir, "%s", to);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (realpath(slash ? dir : ".", rt) == NULL)
		snprintf(rt, sizeof rt, "%s", dir);
	if (nevents < MAX_EVENTS)
		snprintf(events[nevents++], sizeof events[0], "rename %s %s/%s", rf, rt,
		         slash ? slash + 1 : to);
	return __real_rename(from, to);
}

/* Each rename must have an fsync of its source before it and of the target's
 * folder after it: the renames seen and, in *bad, those without (printed). */
static int check_renames(int *bad)
{
	int renames = 0;
	*bad = 0;
	for (int i = 0; i < nevents; i++) {
		if (strncmp(events[i], "rename ", 7) != 0)
			continue;
		renames++;
		char from[PATH_MAX + 1], to[PATH_MAX + 1], want[2 * PATH_MAX + 16];
		if (sscanf(events[i], "rename %4096s %4096s", from, to) != 2)
			fail_msg("cannot read event %s", events[i]);
		snprintf(want, sizeof want, "fsync %s", from);
		bool before = false, after = false;
		for (int j = 0; j < i; j++)
			before |= strcmp(events[j], want) == 0;
		*strrchr(to, '/') = '\0';
		snprintf(want, sizeof want, "fsync %s", to);
		for (int j = i + 1; j < nevents; j++)
			after |= strcmp(events[j], want) == 0;
		if (!before)
			print_message("%s: the file was not fsync'd before it was renamed\n", events[i]);
		if (!after)
			print_message("%s: the folder was not fsync'd after the rename\n", events[i]);
		*bad += !before + !after;
	}
	return renames;
}

typedef struct fixture {
	tu_fixture *tf;
	char site[FIC_UUID_BUFSIZE];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->tf = tu_fixture_new("tester");
	assert_non_null(f->tf);
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "水厂";
	fic_site *out;
	assert_int_equal(fic_site_add(&out, f->tf->store, &s, NULL), FIC_OK);
	strcpy(f->site, out->id);
	fic_site_free(out);
	nevents = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	tu_fixture_free(f->tf);
	free(f);
	return 0;
}

static void a_photos_three_files_are_synced_then_named_then_their_folder_synced(void **state)
{
	fixture *f = *state;
	size_t len;
	unsigned char *jpg = tu_make_jpeg(640, 480, 3, 0, 85, &len);
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_photo_add_buffer(id, f->tf->store, FIC_PHOTO_SITE, f->site, NULL, jpg,
	                                      len, NULL),
	                 FIC_OK);
	int bad;
	assert_int_equal(check_renames(&bad), 3); /* original, rendition, thumbnail */
	assert_int_equal(bad, 0);
	free(jpg);
}

static void a_rendition_written_to_a_file_is_synced_then_named_then_its_folder_synced(void **state)
{
	fixture *f = *state;
	size_t len;
	unsigned char *jpg = tu_make_jpeg(640, 480, 3, 0, 85, &len);
	char *in = tu_path(f->tf->dir, "in.jpg"), *out = tu_path(f->tf->dir, "out.jpg");
	assert_int_equal(tu_write_file(in, jpg, len), 0);
	nevents = 0;
	assert_int_equal(fic_photo_render_file(in, out, 320, 80), FIC_OK);
	int bad;
	assert_int_equal(check_renames(&bad), 1);
	assert_int_equal(bad, 0);
	free(in);
	free(out);
	free(jpg);
}

static void the_check_itself_catches_a_rename_without_fsync(void **state)
{
	(void)state;
	int bad;
	nevents = 0;
	snprintf(events[nevents++], sizeof events[0], "rename /x/a.part /x/a.jpg");
	assert_int_equal(check_renames(&bad), 1);
	assert_int_equal(bad, 2);
	nevents = 0;
	snprintf(events[nevents++], sizeof events[0], "fsync /x/a.part");
	snprintf(events[nevents++], sizeof events[0], "rename /x/a.part /x/a.jpg");
	assert_int_equal(check_renames(&bad), 1);
	assert_int_equal(bad, 1); /* the folder, after */
	snprintf(events[nevents++], sizeof events[0], "fsync /x");
	assert_int_equal(check_renames(&bad), 1);
	assert_int_equal(bad, 0);
	nevents = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			a_photos_three_files_are_synced_then_named_then_their_folder_synced, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_rendition_written_to_a_file_is_synced_then_named_then_its_folder_synced,
			setup, teardown),
		cmocka_unit_test(the_check_itself_catches_a_rename_without_fsync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
