/*
 * platform/android/platform_android.c — the platform table for Android
 * (include/fieldinspect/sys/platform_android.h).
 *
 * What differs from platform/posix: the log goes to logcat
 * (__android_log_print: stderr is not a symbol before API 23 and goes
 * nowhere on a phone); random bytes come from arc4random_buf, which bionic
 * has at every API level (getrandom only from API 28) and which never fails
 * or blocks; the data directory is the app's (Context.getFilesDir()); and
 * the boot id falls back to the boot instant read from the clocks when the
 * SELinux policy hides /proc/sys/kernel/random/boot_id; and secrets go to
 * the app's functions (the Keystore, through the Java binding) once it sets
 * them, to the built-in 0600 files until then.
 *
 * On a Linux host (its tests: tests/android/) getrandom stands in for
 * arc4random_buf and Debian's host liblog for Android's. Allocation uses the
 * C library directly: the platform layer sits below the library's
 * allocator, and a table is a few hundred bytes made once per app.
 */
#include "fieldinspect/sys/platform_android.h"

#include <android/log.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifndef __ANDROID__
#include <sys/random.h>
#endif

#define TAG_MAX 23 /* logcat's tag limit before API 26 */
#define BOOT_ID_FILE "/proc/sys/kernel/random/boot_id"

struct fic_android_platform {
	fic_platform table; /* first: the table's ctx is this struct */
	char tag[TAG_MAX + 1];
	int min_level;
	char *data_dir;
	char *boot_id_path;
	/* the app's secret functions (fic_android_platform_set_secrets), or NULL */
	int (*secret_get)(void *ctx, const char *store_path, const char *name, void *buf,
	                  size_t size, size_t *len);
	int (*secret_put)(void *ctx, const char *store_path, const char *name, const void *value,
	                  size_t len);
	int (*secret_del)(void *ctx, const char *store_path, const char *name);
	void *secret_ctx;
};

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t android_wall_ms(void *ctx)
{
	(void)ctx;
	return clock_ms(CLOCK_REALTIME);
}

static int64_t android_monotonic_ms(void *ctx)
{
	(void)ctx;
	/* CLOCK_BOOTTIME counts while the phone sleeps (Linux 2.6.39: every Android). */
	return clock_ms(CLOCK_BOOTTIME);
}

static int read_boot_id(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf[0] ? 0 : -1;
}

/*
 * Some Android versions' SELinux policy deny apps the kernel's boot id. The
 * fallback names the boot by its instant: wall clock less the time since
 * boot, to the second. It is the same on every read within a boot unless
 * the wall clock is set meanwhile, in which case it changes — the records
 * are then flagged as made in another boot (FIC_TIME_OTHER_BOOT), which
 * widens trusted time's doubt but never hides a reboot: a reboot always
 * changes it (the time since boot starts again from zero).
 */
static int boot_id_fallback(char *buf, size_t size)
{
	int64_t booted_ms = clock_ms(CLOCK_REALTIME) - clock_ms(CLOCK_BOOTTIME);
	int n = snprintf(buf, size, "boot-at-%lld", (long long)((booted_ms + 500) / 1000));
	return n > 0 && (size_t)n < size ? 0 : FIC_EINVAL;
}

static int android_boot_id(void *ctx, char *buf, size_t size)
{
	const fic_android_platform *p = ctx;
	if (buf == NULL || size < 2)
		return FIC_EINVAL;
	if (read_boot_id(p->boot_id_path ? p->boot_id_path : BOOT_ID_FILE, buf, size) == 0)
		return 0;
	return boot_id_fallback(buf, size);
}

static int android_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
#ifdef __ANDROID__
	arc4random_buf(buf, len); /* bionic: from the kernel's CSPRNG, never fails */
	return 0;
#else
	unsigned char *q = buf;
	while (len > 0) {
		ssize_t n = getrandom(q, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return FIC_EIO;
		}
		q += n;
		len -= (size_t)n;
	}
	return 0;
#endif
}

static void android_log(void *ctx, fic_log_level level, const char *message)
{
	const fic_android_platform *p = ctx;
	static const int prio[] = { ANDROID_LOG_DEBUG, ANDROID_LOG_INFO, ANDROID_LOG_WARN,
		                    ANDROID_LOG_ERROR };
	if ((int)level < p->min_level || (int)level < 0 || (int)level > FIC_LOG_ERROR)
		return;
	__android_log_print(prio[level], p->tag, "%s", message ? message : "");
}

static int android_secret_get(void *ctx, const char *store_path, const char *name, void *buf,
                              size_t size, size_t *len)
{
	const fic_android_platform *p = ctx;
	return p->secret_get ? p->secret_get(p->secret_ctx, store_path, name, buf, size, len)
	                     : fic_secret_file_get(NULL, store_path, name, buf, size, len);
}

static int android_secret_put(void *ctx, const char *store_path, const char *name,
                              const void *value, size_t len)
{
	const fic_android_platform *p = ctx;
	return p->secret_put ? p->secret_put(p->secret_ctx, store_path, name, value, len)
	                     : fic_secret_file_put(NULL, store_path, name, value, len);
}

static int android_secret_delete(void *ctx, const char *store_path, const char *name)
{
	const fic_android_platform *p = ctx;
	return p->secret_del ? p->secret_del(p->secret_ctx, store_path, name)
	                     : fic_secret_file_delete(NULL, store_path, name);
}

int fic_android_platform_set_secrets(
	fic_android_platform *p,
	int (*get)(void *ctx, const char *store_path, const char *name, void *buf, size_t size,
	           size_t *len),
	int (*put)(void *ctx, const char *store_path, const char *name, const void *value,
	           size_t len),
	int (*del)(void *ctx, const char *store_path, const char *name), void *ctx)
{
	if (p == NULL || (get == NULL) != (put == NULL) || (get == NULL) != (del == NULL))
		return FIC_EINVAL;
	p->secret_get = get;
	p->secret_put = put;
	p->secret_del = del;
	p->secret_ctx = get ? ctx : NULL;
	return FIC_OK;
}

int fic_android_platform_new(fic_android_platform **out, const char *data_dir,
                             const char *log_tag, int min_level)
{
	if (out == NULL)
		return FIC_EINVAL;
	*out = NULL;
	if ((data_dir && data_dir[0] != '/') || min_level < FIC_LOG_DEBUG || min_level > FIC_LOG_ERROR + 1)
		return FIC_EINVAL;
	fic_android_platform *p = calloc(1, sizeof *p);
	if (p == NULL)
		return FIC_ENOMEM;
	if (data_dir && (p->data_dir = strdup(data_dir)) == NULL) {
		free(p);
		return FIC_ENOMEM;
	}
	snprintf(p->tag, sizeof p->tag, "%s", log_tag && log_tag[0] ? log_tag : "fieldinspect");
	p->min_level = min_level;
	p->table.version = FIC_PLATFORM_VERSION;
	p->table.ctx = p;
	p->table.wall_ms = android_wall_ms;
	p->table.monotonic_ms = android_monotonic_ms;
	p->table.boot_id = android_boot_id;
	p->table.random_bytes = android_random;
	p->table.log = android_log;
	p->table.data_dir = p->data_dir;
	p->table.secret_get = android_secret_get;
	p->table.secret_put = android_secret_put;
	p->table.secret_delete = android_secret_delete;
	*out = p;
	return FIC_OK;
}

const fic_platform *fic_android_platform_table(const fic_android_platform *p)
{
	return p ? &p->table : NULL;
}

int fic_android_platform_set_boot_id_path(fic_android_platform *p, const char *path)
{
	if (p == NULL)
		return FIC_EINVAL;
	char *copy = NULL;
	if (path && (copy = strdup(path)) == NULL)
		return FIC_ENOMEM;
	free(p->boot_id_path);
	p->boot_id_path = copy;
	return FIC_OK;
}

void fic_android_platform_free(fic_android_platform *p)
{
	if (p == NULL)
		return;
	free(p->data_dir);
	free(p->boot_id_path);
	free(p);
}
