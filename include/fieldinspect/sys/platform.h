/*
 * fieldinspect/sys/platform.h — the operating-system seam.
 *
 * Everything the library needs from the OS that is not a file (SQLite owns
 * files): clocks, the boot identity, secure randomness, and a log sink. A
 * store is opened with a platform table; tests pass a fake clock, the Android
 * binding passes one that logs to logcat. The library never reaches for these
 * through globals, so two stores with two platforms coexist.
 *
 * Like sqlite3_vfs the table is versioned: new members are appended and the
 * version raised; the library reads only the members the version declares.
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

#define FIC_PLATFORM_VERSION 1
#define FIC_BOOT_ID_MAX 64

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
} fic_platform;

/**
 * The built-in platform for POSIX systems: CLOCK_REALTIME, CLOCK_BOOTTIME
 * (CLOCK_MONOTONIC where that does not exist), the kernel's boot_id,
 * getrandom(2), and log lines of level WARN and above to stderr.
 * The returned table is static and immutable.
 */
FIC_EXTERN const fic_platform *fic_platform_default(void);

#ifdef __cplusplus
}
#endif

#endif
