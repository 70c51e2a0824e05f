/*
 * tests/core/test_full_disk.c — a full phone: the store still opens, for
 * reading, so the inspector can see the urgent leads and how long each has
 * left (and export them), and every write says clearly why it cannot be
 * kept. The disk is a 2 MiB tmpfs mounted for the test (in a mount namespace
 * of its own when the kernel allows): that needs root; elsewhere the test is
 * skipped and says so.
 */
#include "testutil.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

typedef struct fixture {
	char *dir, *path, *filler;
	bool mounted;
	fic_platform platform;
	tu_clock clock;
	fic_store_options opts;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->dir = tu_mkdtemp();
	f->path = tu_path(f->dir, "store.db");
	f->filler = tu_path(f->dir, "camera-roll.bin");
	tu_platform(&f->platform, &f->clock);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	o.actor = "inspector-0042";
	o.busy_timeout_ms = 200;
	f->opts = o;
	/* A private mount namespace when possible, so the mount never outlives the test. */
	if (unshare(CLONE_NEWNS) == 0)
		(void)mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	f->mounted = mount("tmpfs", f->dir, "tmpfs", 0, "size=2m,mode=0700") == 0;
	if (!f->mounted)
		print_message("cannot mount a small tmpfs at %s (%s): the full-disk test needs root; "
		              "SKIPPED\n", f->dir, strerror(errno));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (f->mounted)
		umount2(f->dir, MNT_DETACH);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->path);
	free(f->filler);
	free(f);
	return 0;
}

/* Take every free byte left, as a phone's camera roll does; returns bytes written. */
static long fill_disk(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	assert_true(fd >= 0);
	static char block[4096];
	long total = 0;
	ssize_t n;
	while ((n = write(fd, block, sizeof block)) > 0)
		total += n;
	while ((n = write(fd, block, 1)) > 0) /* the last partial block */
		total += n;
	assert_int_equal(errno, ENOSPC);
	close(fd);
	return total;
}

/* A store with an urgent lead (found half an hour ago) and a tip-off. */
static fic_store *store_with_leads(fixture *f, char urgent[FIC_UUID_BUFSIZE],
                                   char other[FIC_UUID_BUFSIZE], int64_t *found)
{
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	assert_int_equal(tu_pin_county_key(s), FIC_OK); /* the foodborne report's diners' phone is sealed */
	*found = f->clock.wall_ms - 30 * 60 * 1000;
	assert_int_equal(fic_lead_file(urgent, s, "event.foodborne", tu_foodborne_answers, NULL,
	                               *found, 0),
	                 FIC_OK);
	assert_int_equal(fic_lead_file(other, s, "lead.tip_off", tu_tip_off_answers, NULL, 0, 0),
	                 FIC_OK);
	return s;
}

/* The urgent lead first, with its deadline and the time left on it, and its
 * whole content (to export, or to read out over the phone). */
static void urgent_lead_is_readable(fic_store *s, const char *urgent, const char *other,
                                    int64_t found)
{
	fic_lead_list *leads;
	assert_int_equal(fic_lead_list_get(&leads, s, 0), FIC_OK);
	assert_int_equal(leads->count, 2);
	assert_string_equal(leads->entries[0].id, urgent);
	assert_int_equal(leads->entries[0].urgent, 1);
	assert_string_equal(leads->entries[0].state, "queued");
	assert_int_equal(leads->entries[0].deadline_at_ms, found + 2 * 3600 * 1000);
	assert_int_equal(leads->entries[0].remaining_ms, 90 * 60 * 1000);
	assert_string_equal(leads->entries[1].id, other);
	fic_lead_list_free(leads);
	char *json;
	assert_int_equal(fic_lead_get_json(&json, s, urgent), FIC_OK);
	assert_non_null(strstr(json, "镇中心饭店"));
	fic_free(json);
}

static int add_a_site(fic_store *s)
{
	fic_site site = FIC_SITE_INIT;
	site.kind = FIC_SITE_SCHOOL;
	site.name = "青杠镇中心小学";
	fic_site *out = NULL;
	int rc = fic_site_add(&out, s, &site, "found on the route");
	if (rc != FIC_OK)
		assert_null(out);
	fic_site_free(out);
	return rc;
}

static void a_full_disk_opens_the_store_read_only_with_its_urgent_leads(void **state)
{
	fixture *f = *state;
	if (!f->mounted)
		skip();
	char urgent[FIC_UUID_BUFSIZE], other[FIC_UUID_BUFSIZE];
	int64_t found;
	fic_store *s = store_with_leads(f, urgent, other, &found);
	fic_store_close(s); /* the app is closed; then the camera fills the phone */
	fill_disk(f->filler);

	/* SQLite cannot make the -shm file it reads a WAL store through: before,
	 * the store did not open at all. Now: read-only, and it says so. */
	int rc = fic_store_open(&s, f->path, &f->opts);
	if (rc != FIC_OK)
		fail_msg("opening on a full disk: %s", fic_error_last()->message);
	assert_int_equal(fic_store_read_only(s), 1);
	urgent_lead_is_readable(s, urgent, other, found);
	assert_int_equal(fic_store_check(s), FIC_OK);

	/* Nothing can be written, and the error says why. */
	assert_int_equal(add_a_site(s), FIC_EREADONLY);
	assert_non_null(strstr(fic_error_last()->message, "disk was full"));
	assert_int_equal(fic_setting_set(s, "utc_offset_minutes", "480"), FIC_EREADONLY);
	assert_non_null(strstr(fic_error_last()->message, "disk was full"));
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, s, "lead.tip_off", tu_tip_off_answers, NULL, 0, 0),
	                 FIC_EREADONLY);
	/* It holds the file alone while open: another handle waits, then is told. */
	fic_store *second;
	assert_int_equal(fic_store_open(&second, f->path, &f->opts), FIC_EBUSY);
	assert_null(second);
	fic_store_close(s);

	/* Space freed: the store opens for writing again, with everything in it. */
	assert_int_equal(unlink(f->filler), 0);
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	assert_int_equal(fic_store_read_only(s), 0);
	assert_int_equal(add_a_site(s), FIC_OK);
	urgent_lead_is_readable(s, urgent, other, found);
	assert_int_equal(fic_store_check(s), FIC_OK);
	fic_store_close(s);
}

static void a_store_filled_until_a_write_fails_still_lists_its_urgent_leads(void **state)
{
	fixture *f = *state;
	if (!f->mounted)
		skip();
	char urgent[FIC_UUID_BUFSIZE], other[FIC_UUID_BUFSIZE];
	int64_t found;
	fic_store *s = store_with_leads(f, urgent, other, &found);
	/* The phone fills up while the app runs, and the store cannot keep another record. */
	fill_disk(f->filler);
	int rc = FIC_OK;
	for (int i = 0; i < 10000 && rc == FIC_OK; i++)
		rc = add_a_site(s);
	assert_int_equal(rc, FIC_EIO);
	assert_non_null(strstr(fic_error_last()->message, "full"));
	fic_store_close(s); /* its log cannot be folded into the file: it stays */
	fill_disk(f->filler);

	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	urgent_lead_is_readable(s, urgent, other, found);
	rc = add_a_site(s);
	assert_true(rc == FIC_EIO || rc == FIC_EREADONLY);
	assert_non_null(strstr(fic_error_last()->message, "full"));
	fic_store_close(s);
	assert_int_equal(unlink(f->filler), 0);
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	assert_int_equal(add_a_site(s), FIC_OK);
	assert_int_equal(fic_store_check(s), FIC_OK);
	fic_store_close(s);
}

static void a_new_store_on_a_full_disk_is_an_error_not_a_read_only_store(void **state)
{
	fixture *f = *state;
	if (!f->mounted)
		skip();
	fill_disk(f->filler);
	fic_store *s;
	int rc = fic_store_open(&s, f->path, &f->opts);
	assert_int_equal(rc, FIC_EIO);
	assert_null(s);
	assert_int_equal(fic_store_read_only(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_full_disk_opens_the_store_read_only_with_its_urgent_leads,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_store_filled_until_a_write_fails_still_lists_its_urgent_leads, setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_new_store_on_a_full_disk_is_an_error_not_a_read_only_store, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
