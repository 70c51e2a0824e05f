/*
 * platform/secret_file.c — the built-in place for a store's secrets
 * (sys/platform.h, fic_secret_file_get): one 0600 file per secret beside the
 * store, `<store>.<name>.secret`, so that the bearer token is not in the
 * database file, its WAL or any copy of them. Built into every platform
 * (POSIX and Android): it is the POSIX default and the fallback of a table
 * without secret hooks.
 *
 * Writes are durable and atomic: a new file (O_EXCL, 0600 whatever the
 * umask), written whole, fsync'd, renamed over the old one, then the folder
 * fsync'd. Deleting overwrites the file's bytes with zeros and fsyncs before
 * unlinking, so the token does not stay behind in the file's old blocks
 * (on a log-structured or flash file system the old blocks may still exist
 * below the file system: docs/security.md says what is not promised).
 *
 * This layer sits below the library's error module: it returns codes only.
 */
#include "fieldinspect/sys/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_BYTES 4200

static int name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > FIC_SECRET_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

static int path_of(char *buf, size_t size, const char *store_path, const char *name,
                   const char *suffix)
{
	if (store_path == NULL || store_path[0] == '\0' || !name_ok(name))
		return FIC_EINVAL;
	int n = snprintf(buf, size, "%s.%s.secret%s", store_path, name, suffix);
	return n > 0 && (size_t)n < size ? FIC_OK : FIC_EINVAL;
}

static void sync_dir_of(const char *path)
{
	char dir[PATH_BYTES];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

static int write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fic_secret_file_get(void *ctx, const char *store_path, const char *name, void *buf,
                        size_t size, size_t *len)
{
	(void)ctx;
	char path[PATH_BYTES];
	if (len == NULL || (buf == NULL && size > 0) ||
	    path_of(path, sizeof path, store_path, name, "") != FIC_OK)
		return FIC_EINVAL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? FIC_ENOTFOUND : FIC_EIO;
	struct stat sb;
	int rc = FIC_OK;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > FIC_SECRET_MAX) {
		rc = FIC_EIO;
	} else if ((size_t)sb.st_size > size) {
		*len = (size_t)sb.st_size;
		rc = FIC_ETOOBIG;
	} else {
		size_t got = 0;
		while (got < (size_t)sb.st_size) {
			ssize_t n = read(fd, (char *)buf + got, (size_t)sb.st_size - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (got != (size_t)sb.st_size || got == 0)
			rc = FIC_EIO;
		else
			*len = got;
	}
	close(fd);
	return rc;
}

int fic_secret_file_put(void *ctx, const char *store_path, const char *name, const void *value,
                        size_t len)
{
	(void)ctx;
	char path[PATH_BYTES], tmp[PATH_BYTES];
	if (value == NULL || len == 0 || len > FIC_SECRET_MAX ||
	    path_of(path, sizeof path, store_path, name, "") != FIC_OK ||
	    path_of(tmp, sizeof tmp, store_path, name, ".new") != FIC_OK)
		return FIC_EINVAL;
	(void)unlink(tmp); /* left by a crash mid-write */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return FIC_EIO;
	int bad = fchmod(fd, 0600) != 0 || write_all(fd, value, len) != 0 || fsync(fd) != 0;
	if (close(fd) != 0)
		bad = 1;
	if (bad || rename(tmp, path) != 0) {
		(void)unlink(tmp);
		return FIC_EIO;
	}
	sync_dir_of(path);
	return FIC_OK;
}

int fic_secret_file_delete(void *ctx, const char *store_path, const char *name)
{
	(void)ctx;
	char path[PATH_BYTES];
	if (path_of(path, sizeof path, store_path, name, "") != FIC_OK)
		return FIC_EINVAL;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? FIC_OK : FIC_EIO;
	struct stat sb;
	static const unsigned char zeros[512];
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
		for (off_t done = 0; done < sb.st_size; done += (off_t)sizeof zeros)
			if (write_all(fd, zeros, (size_t)(sb.st_size - done < (off_t)sizeof zeros
			                                          ? sb.st_size - done
			                                          : (off_t)sizeof zeros)) != 0)
				break;
	(void)fsync(fd);
	close(fd);
	if (unlink(path) != 0 && errno != ENOENT)
		return FIC_EIO;
	sync_dir_of(path);
	return FIC_OK;
}
