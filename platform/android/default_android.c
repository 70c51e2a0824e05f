/*
 * platform/android/default_android.c — fic_platform_default() in Android
 * builds (CMake picks this file instead of platform/posix on Android, file
 * by file as libuv does): the Android table with no data directory, logging
 * warnings and errors to logcat under the tag "fieldinspect". An app that
 * opens stores by relative path passes its own table
 * (fic_android_platform_new with Context.getFilesDir()); the Java binding
 * always does.
 */
#include "fieldinspect/sys/platform_android.h"

#include <pthread.h>

static fic_android_platform *shared;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void make_shared(void)
{
	(void)fic_android_platform_new(&shared, NULL, "fieldinspect", FIC_LOG_WARN);
}

const fic_platform *fic_platform_default(void)
{
	pthread_once(&once, make_shared);
	return fic_android_platform_table(shared);
}
