/*
 * fieldinspect/sys/platform_android.h — the platform table for Android
 * (platform/android/): log lines to logcat through __android_log_print, the
 * app's private data directory (Context.getFilesDir(), given by the app),
 * random bytes from arc4random_buf (bionic has it at every API level;
 * getrandom(2) only from API 28), CLOCK_BOOTTIME, the kernel's boot id
 * with a fallback for devices whose SELinux policy hides
 * /proc/sys/kernel/random/boot_id from apps, and the store's secrets (the
 * bearer token) where the app keeps them — the Android Keystore — through
 * fic_android_platform_set_secrets (the built-in 0600 files beside the
 * store until it is called).
 *
 * Built into Android builds of the library (and into the JNI binding); on a
 * Linux host it is built only for its tests (with Debian's host liblog and
 * getrandom standing in for arc4random_buf). Minimum Android version:
 * API 21 (docs/android.md says why).
 *
 * Thread-safety: the table may be used by several stores on several threads
 * at once; fic_android_platform_new and _free are not to race with its use.
 */
#ifndef FIELDINSPECT_SYS_PLATFORM_ANDROID_H
#define FIELDINSPECT_SYS_PLATFORM_ANDROID_H

#include "platform.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An Android platform table with its own data directory and log tag. Opaque. */
typedef struct fic_android_platform fic_android_platform;

/**
 * Make a platform table for stores of this app.
 * @param data_dir the app's private files directory (absolute, UTF-8), used
 *   for stores opened with a relative path; NULL: the current directory.
 *   Copied.
 * @param log_tag the logcat tag; NULL: "fieldinspect". Copied (at most 23
 *   bytes are used, the limit of older Android versions).
 * @param min_level the least severe level written to logcat (fic_log_level).
 * @return FIC_OK; FIC_EINVAL (NULL out, relative data_dir, bad level);
 *   FIC_ENOMEM. The platform layer sits below the library's error module, so
 *   these return codes do not set fic_error_last(); the caller says what it
 *   was doing.
 */
FIC_EXTERN int fic_android_platform_new(fic_android_platform **out, const char *data_dir,
                                        const char *log_tag, int min_level);

/** The table to put in fic_store_options.platform; lives as long as `p`. */
FIC_EXTERN const fic_platform *fic_android_platform_table(const fic_android_platform *p);

/**
 * Free it. Every store opened with its table must be closed first. NULL is
 * fine.
 */
FIC_EXTERN void fic_android_platform_free(fic_android_platform *p);

/**
 * Where the stores opened with this table keep their secrets (the bearer
 * token; sys/platform.h, secret_get and its siblings, for what each must
 * do): the app's own functions, called with `ctx` — in the app, values
 * encrypted under a key of the Android Keystore that never leaves it (the
 * Java binding's SecretStore); in tests, a file. All three functions, or
 * all NULL to go back to the built-in 0600 files beside the store
 * (fic_secret_file_get). Set it before opening a store with the table; the
 * functions and `ctx` must outlive every store opened with it. They are
 * called on the thread using the store.
 * @return FIC_OK; FIC_EINVAL (NULL p, or only some of the three).
 */
FIC_EXTERN int fic_android_platform_set_secrets(
	fic_android_platform *p,
	int (*get)(void *ctx, const char *store_path, const char *name, void *buf, size_t size,
	           size_t *len),
	int (*put)(void *ctx, const char *store_path, const char *name, const void *value,
	           size_t len),
	int (*del)(void *ctx, const char *store_path, const char *name), void *ctx);

/**
 * For tests: read the boot id from `path` instead of the kernel's file (NULL
 * restores it), to exercise the fallback when the file cannot be read.
 */
FIC_EXTERN int fic_android_platform_set_boot_id_path(fic_android_platform *p, const char *path);

#ifdef __cplusplus
}
#endif

#endif
