/*
 * fieldinspect/common.h — what every part of the fieldinspect API shares:
 * the export macro, status codes, the thread-local last error, the allocator
 * hook and the library version.
 *
 * Conventions for the whole API (see docs/api.md):
 *  - Every function returns an `int` status: FIC_OK (0) or a negative
 *    `fic_status` code. Codes are only ever appended, never renumbered.
 *  - After a failure, fic_error_last() describes it in one line. The record is
 *    thread-local (as in libgit2): a call on one thread never overwrites the
 *    message another thread is reading.
 *  - Out-parameters come first and are named `out`. On failure `*out` is set
 *    to NULL (or zero) and nothing leaks.
 *  - What the caller passes in stays the caller's; what the library returns
 *    through `out` belongs to the caller and is released with the matching
 *    `*_free()`. Every `*_free()` accepts NULL.
 *  - Text is UTF-8 everywhere; invalid UTF-8 is refused with FIC_EINVAL.
 *
 * ABI rules (docs/api.md, "ABI"): members are only ever appended to a public
 * struct, and every struct that may grow says which layout it has in a first
 * member `version`:
 *  - structs the caller fills (options, records passed in) are accepted at
 *    any version from 1 up to the library's own; members of a later version
 *    than the caller's get their defaults; a version newer than the
 *    library's is FIC_EINVAL (libgit2's rule);
 *  - structs the library fills in the caller's memory (fic_store_stats,
 *    fic_time, fic_sync_report) are given the caller's version (use the
 *    ..._INIT macro); the library writes only the members of that version,
 *    or of its own if the caller's is newer, and sets `version` to the one
 *    it filled;
 *  - structs the library allocates (fic_site, fic_photo) carry the version
 *    they were made at; arrays of them in lists are walked with the list's
 *    ..._at() accessor (or `entry_size`), never by indexing with sizeof.
 */
#ifndef FIELDINSPECT_COMMON_H
#define FIELDINSPECT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FIC_STATIC_DEFINE)
#  define FIC_EXTERN
#elif defined(_WIN32)
#  if defined(FIC_BUILDING_LIBRARY)
#    define FIC_EXTERN __declspec(dllexport)
#  else
#    define FIC_EXTERN __declspec(dllimport)
#  endif
#else
#  define FIC_EXTERN __attribute__((visibility("default")))
#endif

#define FIC_VERSION_MAJOR 0
#define FIC_VERSION_MINOR 2
#define FIC_VERSION_PATCH 0
#define FIC_VERSION_STRING "0.2.0"

/**
 * Status codes. FIC_OK is 0; every failure is negative. Append only.
 */
typedef enum fic_status {
	FIC_OK = 0,
	FIC_ERROR = -1,      /**< unexpected failure; see the message */
	FIC_EINVAL = -2,     /**< an argument is NULL, empty, malformed or out of range */
	FIC_ENOMEM = -3,     /**< an allocation failed; nothing was changed */
	FIC_ENOTFOUND = -4,  /**< no record with that id / key */
	FIC_EEXISTS = -5,    /**< a record with that unique key already exists */
	FIC_EIO = -6,        /**< the operating system refused a read, write or sync */
	FIC_ECORRUPT = -7,   /**< the store file is damaged */
	FIC_ENOTSTORE = -8,  /**< the file is not a fieldinspect store (or not a database) */
	FIC_ENEWER = -9,     /**< the store was written by a newer fieldinspect */
	FIC_EREADONLY = -10, /**< the store file or its directory cannot be written */
	FIC_EBUSY = -11,     /**< another connection held the store lock for too long */
	FIC_ESCHEMA = -12,   /**< a schema migration failed; the file was left as it was */
	FIC_ESTATE = -13,    /**< the record's state does not allow this operation */
	FIC_ETOOBIG = -14,   /**< an input exceeds its documented size limit */
	FIC_EINCOMPLETE = -15, /**< required answers or photos are missing (the message lists them) */
	FIC_EPROTO = -16,    /**< the server's response broke the sync protocol; records stay queued */
	FIC_ENETWORK = -17,  /**< no connection, reset, truncated or timed out: transient, retried */
	FIC_ETLS = -18,      /**< the server's certificate or pinned key did not verify */
	FIC_ECANCELED = -19, /**< the caller cancelled the operation */
	FIC_EAUTH = -20      /**< the server refused the device: enrolment code or token not accepted */
} fic_status;

/** The last error recorded on the calling thread. */
typedef struct fic_error {
	int code;            /**< a fic_status value */
	const char *message; /**< one line, UTF-8, never NULL */
} fic_error;

/**
 * The last error recorded on the calling thread. Never NULL: when nothing has
 * failed yet it is {FIC_OK, "no error"}. The pointer stays valid until the
 * next fieldinspect call on the same thread.
 */
FIC_EXTERN const fic_error *fic_error_last(void);

/** Forget the calling thread's last error. */
FIC_EXTERN void fic_error_clear(void);

/**
 * Record `code` and `message` (UTF-8; made one line, cut at 511 bytes) as
 * the calling thread's last error, as the library does, and return `code`.
 * For code outside the library that implements an extension point — a
 * transport written by the app (sys/transport.h), a binding — so the error
 * the app sees says what went wrong there. NULL message: the code's name.
 */
FIC_EXTERN int fic_error_set(int code, const char *message);

/**
 * A static, English name for a status code ("FIC_ENOTFOUND: not found").
 * Never NULL; unknown codes get "unknown status".
 */
FIC_EXTERN const char *fic_result_str(int code);

/** The library's version string, e.g. "0.2.0". */
FIC_EXTERN const char *fic_version(void);

/**
 * The allocator every fieldinspect allocation goes through (and cJSON's,
 * which the library uses for JSON). The default is malloc/realloc/free.
 *
 * `realloc_fn` must behave as C realloc (NULL pointer = allocate, and it
 * returns NULL on failure leaving the block intact); `free_fn` must accept NULL.
 */
typedef struct fic_allocator {
	unsigned int version; /**< FIC_ALLOCATOR_VERSION */
	void *(*realloc_fn)(void *ptr, size_t size, void *payload);
	void (*free_fn)(void *ptr, void *payload);
	void *payload;
} fic_allocator;

#define FIC_ALLOCATOR_VERSION 1

/**
 * Replace the allocator, or restore the default with NULL.
 *
 * Not thread-safe: call it before any other fieldinspect call, or while no
 * store is open and no other thread is inside the library. Blocks allocated
 * with one allocator must not outlive a switch to another.
 *
 * @return FIC_OK, or FIC_EINVAL for an unknown version or missing function.
 */
FIC_EXTERN int fic_allocator_set(const fic_allocator *allocator);

/**
 * Allocate `size` bytes through the library's allocator (fic_allocator_set).
 * For code outside the library that hands memory to it: a transport written
 * by the app (sys/transport.h) allocates the response body with
 * fic_malloc()/fic_realloc(), and the sync engine releases it with fic_free().
 * Thread-safe. Returns NULL when out of memory (size 0 allocates 1 byte).
 */
FIC_EXTERN void *fic_malloc(size_t size);
/** As C realloc, through the library's allocator; NULL `ptr` allocates. */
FIC_EXTERN void *fic_realloc(void *ptr, size_t size);
/**
 * Release memory the library returned (a string from a *_json call, a
 * buffer from fic_photo_render) or that fic_malloc()/fic_realloc() made.
 * NULL is fine. Thread-safe.
 */
FIC_EXTERN void fic_free(void *ptr);

/**
 * A cancellation flag that one thread raises and another polls: a sync pass
 * (fic_sync_options.cancel) and a transport's request
 * (fic_http_request.cancel) stop soon after it is raised. The flag is a C11
 * atomic inside the library; every function here is safe to call from any
 * thread at any time while the flag exists. Opaque.
 */
typedef struct fic_cancel fic_cancel;

/** Make a lowered flag. Free with fic_cancel_free(). @return FIC_OK, FIC_EINVAL, FIC_ENOMEM. */
FIC_EXTERN int fic_cancel_new(fic_cancel **out);
/** Raise the flag (from any thread). NULL is ignored. */
FIC_EXTERN void fic_cancel_request(fic_cancel *cancel);
/** Lower it again, for the next pass. NULL is ignored. */
FIC_EXTERN void fic_cancel_reset(fic_cancel *cancel);
/** 1 if the flag is raised, 0 if not (or NULL). */
FIC_EXTERN int fic_cancel_requested(const fic_cancel *cancel);
/** Free the flag; nothing may be using it. NULL is fine. */
FIC_EXTERN void fic_cancel_free(fic_cancel *cancel);

#ifdef __cplusplus
}
#endif

#endif
