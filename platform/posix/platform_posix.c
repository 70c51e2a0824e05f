/*
 * platform/posix/platform_posix.c — the default platform table for Linux
 * (glibc and Android's bionic): clocks, boot id, secure random, stderr log,
 * and secrets in 0600 files beside the store (platform/secret_file.c).
 *
 * CLOCK_BOOTTIME is used for the monotonic clock because, unlike
 * CLOCK_MONOTONIC on Linux, it keeps counting while the phone sleeps; the
 * trusted-time logic compares it with the wall clock to detect clock changes.
 */
#include "fieldinspect/sys/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static int64_t posix_wall_ms(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t posix_monotonic_ms(void *ctx)
{
	(void)ctx;
	struct timespec ts;
#ifdef CLOCK_BOOTTIME
	if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
#endif
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int posix_boot_id(void *ctx, char *buf, size_t size)
{
	(void)ctx;
	if (buf == NULL || size < 2)
		return FIC_EINVAL;
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return FIC_EIO;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return FIC_EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf[0] ? 0 : FIC_EIO;
}

static int posix_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	unsigned char *p = buf;
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return FIC_EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void posix_log(void *ctx, fic_log_level level, const char *message)
{
	(void)ctx;
	static const char *names[] = { "debug", "info", "warn", "error" };
	if (level < FIC_LOG_WARN)
		return;
	fprintf(stderr, "fieldinspect %s: %s\n", names[level], message);
}

static const fic_platform posix_platform = {
	FIC_PLATFORM_VERSION, NULL,
	posix_wall_ms, posix_monotonic_ms, posix_boot_id, posix_random, posix_log, NULL,
	fic_secret_file_get, fic_secret_file_put, fic_secret_file_delete
};

const fic_platform *fic_platform_default(void)
{
	return &posix_platform;
}
