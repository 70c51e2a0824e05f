/*
 * tests/android/test_platform_android.c — the Android platform layer
 * (platform/android/platform_android.c), built on the host: its log lines
 * reach liblog (Debian's host liblog prints them in logcat's format on
 * stderr), the app's data directory is where a store opened by a relative
 * path lands, random bytes are random, the clocks run, and the boot id falls
 * back to the boot instant when the kernel's file cannot be read. What is
 * not tested here: bionic itself (arc4random_buf, Android's SELinux policy)
 * — there is no NDK on this machine.
 */
#include "testutil.h"

#include <fieldinspect/sys/platform_android.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static void a_table_is_complete_and_its_clocks_run(void **state)
{
	(void)state;
	fic_android_platform *ap;
	assert_int_equal(fic_android_platform_new(&ap, NULL, NULL, FIC_LOG_WARN), FIC_OK);
	const fic_platform *p = fic_android_platform_table(ap);
	assert_non_null(p);
	assert_int_equal(p->version, FIC_PLATFORM_VERSION);
	assert_non_null(p->wall_ms);
	assert_non_null(p->monotonic_ms);
	assert_non_null(p->boot_id);
	assert_non_null(p->random_bytes);
	assert_non_null(p->log);
	assert_null(p->data_dir);
	int64_t w = p->wall_ms(p->ctx), m1 = p->monotonic_ms(p->ctx);
	assert_true(w > 1700000000000LL);
	usleep(20000);
	int64_t m2 = p->monotonic_ms(p->ctx);
	assert_true(m2 - m1 >= 15);
	unsigned char a[32], b[32], zero[32] = { 0 };
	assert_int_equal(p->random_bytes(p->ctx, a, sizeof a), 0);
	assert_int_equal(p->random_bytes(p->ctx, b, sizeof b), 0);
	assert_memory_not_equal(a, b, sizeof a);
	assert_memory_not_equal(a, zero, sizeof a);
	fic_android_platform_free(ap);
	fic_android_platform_free(NULL);
}

static void bad_arguments_are_refused(void **state)
{
	(void)state;
	fic_android_platform *ap = (fic_android_platform *)1;
	assert_int_equal(fic_android_platform_new(NULL, NULL, NULL, 0), FIC_EINVAL);
	assert_int_equal(fic_android_platform_new(&ap, "relative/dir", NULL, 0), FIC_EINVAL);
	assert_null(ap);
	assert_int_equal(fic_android_platform_new(&ap, "/data", NULL, 9), FIC_EINVAL);
	assert_null(fic_android_platform_table(NULL));
	assert_int_equal(fic_android_platform_set_boot_id_path(NULL, "/x"), FIC_EINVAL);
}

static void the_boot_id_comes_from_the_kernel_or_from_the_boot_instant(void **state)
{
	(void)state;
	fic_android_platform *ap;
	assert_int_equal(fic_android_platform_new(&ap, NULL, NULL, FIC_LOG_WARN), FIC_OK);
	const fic_platform *p = fic_android_platform_table(ap);
	char k[FIC_BOOT_ID_MAX], f1[FIC_BOOT_ID_MAX], f2[FIC_BOOT_ID_MAX];
	assert_int_equal(p->boot_id(p->ctx, k, sizeof k), 0);
	if (access("/proc/sys/kernel/random/boot_id", R_OK) == 0)
		assert_int_equal(strlen(k), 36); /* the kernel's UUID */
	/* Hidden (as SELinux does on some phones): the fallback, the same on every read. */
	assert_int_equal(fic_android_platform_set_boot_id_path(ap, "/nonexistent/boot_id"), FIC_OK);
	assert_int_equal(p->boot_id(p->ctx, f1, sizeof f1), 0);
	assert_int_equal(p->boot_id(p->ctx, f2, sizeof f2), 0);
	assert_string_equal(f1, f2);
	assert_int_equal(strncmp(f1, "boot-at-", 8), 0);
	assert_string_not_equal(f1, k);
	/* The instant it names is in the past. */
	long long at = atoll(f1 + 8);
	assert_true(at > 0 && at * 1000 <= p->wall_ms(p->ctx) + 1000);
	/* An empty file is as good as none. */
	char *dir = tu_mkdtemp(), *empty = tu_path(dir, "boot_id");
	assert_int_equal(tu_write_file(empty, "", 0), 0);
	assert_int_equal(fic_android_platform_set_boot_id_path(ap, empty), FIC_OK);
	assert_int_equal(p->boot_id(p->ctx, f2, sizeof f2), 0);
	assert_string_equal(f1, f2);
	/* A readable file is used, without its newline. */
	assert_int_equal(tu_write_file(empty, "0f1e2d3c-aaaa-bbbb-cccc-0123456789ab\n", 37), 0);
	assert_int_equal(p->boot_id(p->ctx, f2, sizeof f2), 0);
	assert_string_equal(f2, "0f1e2d3c-aaaa-bbbb-cccc-0123456789ab");
	assert_int_equal(p->boot_id(p->ctx, f2, 1), FIC_EINVAL);
	assert_int_equal(fic_android_platform_set_boot_id_path(ap, NULL), FIC_OK);
	assert_int_equal(p->boot_id(p->ctx, f2, sizeof f2), 0);
	assert_string_equal(f2, k);
	tu_rmtree(dir);
	free(dir);
	free(empty);
	fic_android_platform_free(ap);
}

/* Run `fn` with stderr going to a file; return what was written (malloc'd). */
static char *capture_stderr(void (*fn)(const fic_platform *), const fic_platform *p)
{
	char path[] = "/tmp/fic-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	fn(p);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	off_t n = lseek(fd, 0, SEEK_END);
	char *text = calloc(1, (size_t)n + 1);
	assert_int_equal(pread(fd, text, (size_t)n, 0), n);
	close(fd);
	unlink(path);
	return text;
}

static void log_warn_and_debug(const fic_platform *p)
{
	p->log(p->ctx, FIC_LOG_WARN, "store opened: \xf0\xa0\x80\x8b ok"); /* 𠀋 */
	p->log(p->ctx, FIC_LOG_DEBUG, "a debug line");
	p->log(p->ctx, FIC_LOG_ERROR, NULL);
}

static void log_lines_reach_liblog_at_or_above_the_level(void **state)
{
	(void)state;
	fic_android_platform *ap;
	assert_int_equal(fic_android_platform_new(&ap, NULL, "fic-test", FIC_LOG_WARN), FIC_OK);
	char *out = capture_stderr(log_warn_and_debug, fic_android_platform_table(ap));
	/* logcat's brief format: tag, priority letter, ..., the message */
	assert_non_null(strstr(out, "fic-test W"));
	assert_non_null(strstr(out, "store opened: \xf0\xa0\x80\x8b ok"));
	assert_non_null(strstr(out, "fic-test E"));
	assert_null(strstr(out, "a debug line")); /* below min_level: not even handed to liblog */
	free(out);
	fic_android_platform_free(ap);
	/* A long tag is cut to logcat's 23 bytes. */
	assert_int_equal(fic_android_platform_new(&ap, NULL, "a-tag-longer-than-twenty-three-bytes",
	                                          FIC_LOG_DEBUG), FIC_OK);
	out = capture_stderr(log_warn_and_debug, fic_android_platform_table(ap));
	assert_non_null(strstr(out, "a-tag-longer-than-twent W"));
	free(out);
	fic_android_platform_free(ap);
}

static void a_relative_store_path_lands_in_the_apps_data_dir(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	fic_android_platform *ap;
	assert_int_equal(fic_android_platform_new(&ap, dir, NULL, FIC_LOG_ERROR), FIC_OK);
	assert_string_equal(fic_android_platform_table(ap)->data_dir, dir);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = fic_android_platform_table(ap);
	fic_store *s;
	assert_int_equal(fic_store_open(&s, "patrol.db", &o), FIC_OK);
	char *where = tu_path(dir, "patrol.db");
	struct stat st;
	assert_int_equal(stat(where, &st), 0);
	assert_int_equal(access("patrol.db", F_OK), -1); /* not in the working directory */
	/* The store runs on this table: ids from its random bytes, times from its clocks. */
	fic_time t = FIC_TIME_INIT;
	assert_int_equal(fic_time_now(&t, s), FIC_OK);
	char boot[FIC_BOOT_ID_MAX];
	assert_int_equal(o.platform->boot_id(o.platform->ctx, boot, sizeof boot), 0);
	assert_string_equal(t.boot_id, boot);
	fic_store_close(s);
	fic_android_platform_free(ap);
	tu_rmtree(dir);
	free(dir);
	free(where);
}

/* The app's secret store: here, one file in a folder of the test's (in the
 * app, values sealed under an Android Keystore key). */
typedef struct app_secrets {
	char dir[600];
	int calls;
} app_secrets;

static void app_path(app_secrets *a, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", a->dir, name);
}

static int app_get(void *ctx, const char *store_path, const char *name, void *buf, size_t size,
                   size_t *len)
{
	app_secrets *a = ctx;
	(void)store_path;
	a->calls++;
	char path[700];
	app_path(a, name, path, sizeof path);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return FIC_ENOTFOUND;
	*len = fread(buf, 1, size, f);
	fclose(f);
	return FIC_OK;
}

static int app_put(void *ctx, const char *store_path, const char *name, const void *value,
                   size_t len)
{
	app_secrets *a = ctx;
	(void)store_path;
	a->calls++;
	char path[700];
	app_path(a, name, path, sizeof path);
	return tu_write_file(path, value, len) == 0 ? FIC_OK : FIC_EIO;
}

static int app_del(void *ctx, const char *store_path, const char *name)
{
	app_secrets *a = ctx;
	(void)store_path;
	a->calls++;
	char path[700];
	app_path(a, name, path, sizeof path);
	unlink(path);
	return FIC_OK;
}

static void secrets_go_to_the_apps_store_once_it_is_set(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	fic_android_platform *ap;
	assert_int_equal(fic_android_platform_new(&ap, dir, NULL, FIC_LOG_WARN), FIC_OK);
	const fic_platform *p = fic_android_platform_table(ap);
	assert_int_equal(p->version, FIC_PLATFORM_VERSION);
	char store[700], file[800], buf[64];
	snprintf(store, sizeof store, "%s/patrol.db", dir);
	snprintf(file, sizeof file, "%s.sync_token.secret", store);
	size_t len = 0;
	/* Until the app says where: the built-in 0600 file beside the store. */
	assert_int_equal(p->secret_put(p->ctx, store, "sync_token", "t0ken", 5), FIC_OK);
	struct stat sb;
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(p->secret_delete(p->ctx, store, "sync_token"), FIC_OK);
	/* The app's store: nothing beside the store any more. */
	app_secrets a;
	snprintf(a.dir, sizeof a.dir, "%s", dir);
	a.calls = 0;
	assert_int_equal(fic_android_platform_set_secrets(ap, app_get, app_put, NULL, &a),
	                 FIC_EINVAL);
	assert_int_equal(fic_android_platform_set_secrets(NULL, NULL, NULL, NULL, NULL), FIC_EINVAL);
	assert_int_equal(fic_android_platform_set_secrets(ap, app_get, app_put, app_del, &a), FIC_OK);
	assert_int_equal(p->secret_put(p->ctx, store, "sync_token", "t0ken", 5), FIC_OK);
	assert_int_equal(p->secret_get(p->ctx, store, "sync_token", buf, sizeof buf, &len), FIC_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "t0ken", 5);
	assert_int_not_equal(access(file, F_OK), 0);
	assert_int_equal(a.calls, 2);
	/* A store opened with the table keeps its secrets there too. */
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = p;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, "patrol.db", &o), FIC_OK);
	fic_store_close(s);
	assert_int_equal(p->secret_delete(p->ctx, store, "sync_token"), FIC_OK);
	assert_int_equal(p->secret_get(p->ctx, store, "sync_token", buf, sizeof buf, &len),
	                 FIC_ENOTFOUND);
	fic_android_platform_free(ap);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_table_is_complete_and_its_clocks_run),
		cmocka_unit_test(bad_arguments_are_refused),
		cmocka_unit_test(the_boot_id_comes_from_the_kernel_or_from_the_boot_instant),
		cmocka_unit_test(log_lines_reach_liblog_at_or_above_the_level),
		cmocka_unit_test(a_relative_store_path_lands_in_the_apps_data_dir),
		cmocka_unit_test(secrets_go_to_the_apps_store_once_it_is_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
