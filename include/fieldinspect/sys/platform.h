/*
 * fieldinspect/sys/platform.h — the operating-system seam.
 *
 * Everything the library needs from the OS that is not a file (SQLite owns
 * files): clocks, the boot identity, secure randomness, a log sink, and
 * (version 2) a place for secrets apart from the database. A store is opened
 * with a platform table; tests pass a fake clock, the Android binding passes
 * one that logs to logcat and keeps secrets where the app says (the Android
 * Keystore). The library never reaches for these through globals, so two
 * stores with two platforms coexist.
 *
 * Like sqlite3_vfs the table is versioned: new members are appended and the
 * version raised; the library reads only the members the version declares
 * (a version-1 table's store keeps its secrets in the built-in files,
 * fic_secret_file_get() and its siblings).
 */
#ifndef FIELDINSPECT_SYS_PLATFORM_H
#define FIELDINSPECT_SYS_PLATFORM_H

#include "../common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Log levels, in increasing severity. */
typedef enum fic_log_level {
	FIC_LOG_DEBUG = 0,
	FIC_LOG_INFO = 1,
	FIC_LOG_WARN = 2,
	FIC_LOG_ERROR = 3
} fic_log_level;

#define FIC_PLATFORM_VERSION 2
#define FIC_BOOT_ID_MAX 64
/** Longest secret name (bytes): names are [a-z0-9_], e.g. "sync_token". */
#define FIC_SECRET_NAME_MAX 32
/** Largest secret value (bytes) the library stores. */
#define FIC_SECRET_MAX 4096

/**
 * The platform function table. All members are required unless noted. The
 * table and its `ctx` must outlive every store opened with it. Functions may
 * be called from whichever thread is using a store, so they must be safe to
 * call from several threads at once when several stores share the table.
 */
typedef struct fic_platform {
	unsigned int version; /**< FIC_PLATFORM_VERSION */
	void *ctx;            /**< passed back to every function */

	/** UTC wall-clock time in milliseconds since 1970-01-01. May jump. */
	int64_t (*wall_ms)(void *ctx);

	/**
	 * Monotonic time in milliseconds since an arbitrary origin that holds for
	 * one boot. Must keep counting while the device sleeps (CLOCK_BOOTTIME on
	 * Linux/Android), so that wall-clock changes can be told from elapsed time.
	 */
	int64_t (*monotonic_ms)(void *ctx);

	/**
	 * Write a NUL-terminated identifier of the current boot (changes on every
	 * reboot) into `buf` of `size` bytes (at least FIC_BOOT_ID_MAX).
	 * @return 0, or a negative fic_status.
	 */
	int (*boot_id)(void *ctx, char *buf, size_t size);

	/**
	 * Fill `buf` with `len` bytes from a cryptographically secure source.
	 * @return 0, or a negative fic_status (never fill with weak randomness).
	 */
	int (*random_bytes)(void *ctx, void *buf, size_t len);

	/**
	 * Optional (may be NULL): receive one log line. The library never logs
	 * secrets, tokens or informants' identities.
	 */
	void (*log)(void *ctx, fic_log_level level, const char *message);

	/**
	 * Optional (may be NULL): the application's private data directory, used
	 * when a store is opened with a relative path. NULL means the current
	 * directory.
	 */
	const char *data_dir;

	/* ---- version 2 ---- */

	/**
	 * Optional, all three or none (version 2; NULL: the built-in files,
	 * fic_secret_file_get() and its siblings): where a store keeps its
	 * secrets — the bearer token its enrolment gave it, and any key the
	 * device holds — apart from the database file, so that a copy of the
	 * database (a backup, a file pulled off the phone) does not carry them.
	 * The POSIX default writes a 0600 file beside the store; an Android app
	 * keeps them under a key of the Android Keystore
	 * (fic_android_platform_set_secrets).
	 *
	 * `store_path` is the store's full path (secrets belong to one store),
	 * `name` is 1 to FIC_SECRET_NAME_MAX bytes of [a-z0-9_], a value is 1 to
	 * FIC_SECRET_MAX bytes. Values are never logged.
	 *
	 * secret_get: copy the value into `buf` (`size` bytes) and its length
	 * into *len. FIC_OK; FIC_ENOTFOUND when there is none; FIC_ETOOBIG when
	 * it does not fit (*len is its length); FIC_EIO.
	 *
	 * secret_put: replace the value durably — when it returns FIC_OK the new
	 * value survives a crash or a power loss, and a failure leaves the old
	 * one. FIC_OK, FIC_EIO.
	 *
	 * secret_delete: forget it (FIC_OK also when there was none); FIC_EIO.
	 */
	int (*secret_get)(void *ctx, const char *store_path, const char *name, void *buf,
	                  size_t size, size_t *len);
	int (*secret_put)(void *ctx, const char *store_path, const char *name, const void *value,
	                  size_t len);
	int (*secret_delete)(void *ctx, const char *store_path, const char *name);
} fic_platform;

/**
 * The built-in platform for POSIX systems: CLOCK_REALTIME, CLOCK_BOOTTIME
 * (CLOCK_MONOTONIC where that does not exist), the kernel's boot_id,
 * getrandom(2), log lines of level WARN and above to stderr, and secrets in
 * the built-in files below. The returned table is static and immutable.
 */
FIC_EXTERN const fic_platform *fic_platform_default(void);

/**
 * The built-in secret files, usable as a table's secret_get, secret_put and
 * secret_delete (`ctx` is not used): secret `name` of the store at
 * `store_path` is the file `<store_path>.<name>.secret`, mode 0600 whatever
 * the umask. A value is written to a new file beside it, fsync'd, renamed
 * over the old one, and the folder fsync'd; deleting overwrites the file
 * with zeros and fsyncs it before unlinking it. Returns as described for
 * the table's members, and FIC_EINVAL for a bad name or size. Thread-safe
 * for different stores; one store's secrets are written by one thread at a
 * time (as the store is used).
 */
FIC_EXTERN int fic_secret_file_get(void *ctx, const char *store_path, const char *name, void *buf,
                                   size_t size, size_t *len);
FIC_EXTERN int fic_secret_file_put(void *ctx, const char *store_path, const char *name,
                                   const void *value, size_t len);
FIC_EXTERN int fic_secret_file_delete(void *ctx, const char *store_path, const char *name);

#ifdef __cplusplus
}
#endif

#endif
