/*
 * fieldinspect/photo.h — photo evidence.
 *
 * A photo is kept byte-for-byte as the camera wrote it (it is the evidence)
 * under the store's directory, named by its SHA-256, and recorded against
 * what it documents: an inspection item, a lead or a site. Its dimensions are
 * read with libjpeg-turbo; a file that is not a baseline or progressive
 * JPEG of at most 50 megapixels is refused. The file is written and fsync'd
 * before its database row commits, so a crash never leaves a row without its
 * file; a file left without a row by a crash is removed the next time the
 * store opens.
 *
 * Threading and durability: as for the store (store.h).
 */
#ifndef FIELDINSPECT_PHOTO_H
#define FIELDINSPECT_PHOTO_H

#include "common.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest photo accepted, in pixels (width × height). */
#define FIC_PHOTO_MAX_PIXELS 50000000LL
/** Largest photo file accepted, in bytes. */
#define FIC_PHOTO_MAX_BYTES (64LL * 1024 * 1024)

/** What a photo documents. */
typedef enum fic_photo_owner {
	FIC_PHOTO_INSPECTION = 1, /**< an inspection; item_id names the checklist item (or NULL) */
	FIC_PHOTO_LEAD = 2,       /**< a lead */
	FIC_PHOTO_SITE = 3        /**< a site (e.g. the posted licence, a closed gate) */
} fic_photo_owner;

/**
 * Attach the JPEG file at `path` to an inspection (item), a lead or a site.
 * The file is copied into the store; `path` is only read.
 * @param id_out receives the photo id (FIC_UUID_BUFSIZE bytes).
 * @param item_id for FIC_PHOTO_INSPECTION, the checklist item the photo
 *   evidences (NULL for the inspection as a whole); NULL otherwise.
 * @return FIC_OK; FIC_ENOTFOUND (owner or item); FIC_ESTATE (inspection
 *   finished); FIC_EINVAL (not a JPEG, damaged, zero or oversized
 *   dimensions); FIC_ETOOBIG; FIC_EIO (file unreadable or vanished).
 */
FIC_EXTERN int fic_photo_add_file(char *id_out, fic_store *store, int owner,
                                  const char *owner_id, const char *item_id, const char *path);

/** As fic_photo_add_file(), from `len` bytes in memory (the caller keeps them). */
FIC_EXTERN int fic_photo_add_buffer(char *id_out, fic_store *store, int owner,
                                    const char *owner_id, const char *item_id,
                                    const void *data, size_t len);

/** A stored photo. Strings live as long as the struct; free with fic_photo_free(). */
typedef struct fic_photo {
	const char *id;
	int owner;
	const char *owner_id;
	const char *item_id;   /**< or NULL */
	const char *sha256;    /**< 64 lowercase hex digits of the original's SHA-256 */
	const char *path;      /**< where the original is kept (read-only for the app) */
	int64_t bytes;
	int width, height;
	int64_t created_at_ms;
} fic_photo;

FIC_EXTERN int fic_photo_get(fic_photo **out, fic_store *store, const char *photo_id);
FIC_EXTERN void fic_photo_free(fic_photo *photo);

#ifdef __cplusplus
}
#endif

#endif
