/*
 * fieldinspect/sys/platform_android.h — the platform table for Android
 * (platform/android/): log lines to logcat through __android_log_print, the
 * app's private data directory (Context.getFilesDir(), given by the app),
 * random bytes from arc4random_buf (bionic has it at every API level;
 * getrandom(2) only from API 28), CLOCK_BOOTTIME, and the kernel's boot id
 * with a fallback for devices whose SELinux policy hides
 * /proc/sys/kernel/random/boot_id from apps.
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
 * For tests: read the boot id from `path` instead of the kernel's file (NULL
 * restores it), to exercise the fallback when the file cannot be read.
 */
FIC_EXTERN int fic_android_platform_set_boot_id_path(fic_android_platform *p, const char *path);

#ifdef __cplusplus
}
#endif

#endif
