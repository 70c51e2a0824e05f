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
/**
 * Most memory the decoder may hold for a photo's coefficients. Only a
 * progressive (or multi-scan) JPEG needs them all at once — 3 bytes a pixel
 * for 4:2:0 colour, 6 for 4:4:4, 2 for grey — so such a file over about
 * 22 MP (4:2:0) is refused with FIC_ETOOBIG; baseline photos stream and are
 * not limited by it.
 */
#define FIC_PHOTO_DECODE_MEMORY_MAX (64LL * 1024 * 1024)
/** Most scans a JPEG may have (a progressive file has about 10); more is FIC_ETOOBIG. */
#define FIC_PHOTO_MAX_SCANS 100

#define FIC_PHOTO_OPTIONS_VERSION 1

/**
 * How to keep a photo. Initialise with FIC_PHOTO_OPTIONS_INIT (any version from 1 is read).
 *
 * Besides the original, the store keeps an upload rendition (what goes over
 * the air: longest edge `max_edge`, never enlarged, JPEG `quality`) and a
 * thumbnail for lists, both with the EXIF orientation applied and no
 * metadata at all (EXIF can carry device identifiers).
 */
typedef struct fic_photo_options {
	unsigned int version; /**< FIC_PHOTO_OPTIONS_VERSION */
	int max_edge;         /**< upload rendition's longest edge, 256..8192 (default 1600) */
	int quality;          /**< its JPEG quality, 30..95 (default 80) */
	int thumb_edge;       /**< thumbnail's longest edge, 64..1024 (default 320) */
	int thumb_quality;    /**< 30..95 (default 70) */
	int has_location;     /**< 1 if lat/lon give the device's own position at capture */
	double lat, lon;      /**< WGS-84 degrees */
} fic_photo_options;

#define FIC_PHOTO_OPTIONS_INIT { FIC_PHOTO_OPTIONS_VERSION, 1600, 80, 320, 70, 0, 0.0, 0.0 }

/** What a photo documents. */
typedef enum fic_photo_owner {
	FIC_PHOTO_INSPECTION = 1, /**< an inspection; item_id names the checklist item (or NULL) */
	FIC_PHOTO_LEAD = 2,       /**< a lead */
	FIC_PHOTO_SITE = 3,       /**< a site (e.g. the posted licence, a closed gate) */
	FIC_PHOTO_ACTIVITY = 4    /**< publicity, training or a case assisted (records.h) */
} fic_photo_owner;

/**
 * Attach the JPEG file at `path` to an inspection (item), a lead or a site.
 * The file is copied into the store; `path` is only read.
 * @param id_out receives the photo id (FIC_UUID_BUFSIZE bytes).
 * @param item_id for FIC_PHOTO_INSPECTION, the checklist item the photo
 *   evidences (NULL for the inspection as a whole); NULL otherwise.
 * @param opts rendition sizes and the device's position; NULL for defaults.
 * @return FIC_OK; FIC_ENOTFOUND (owner, item, or no file at `path`);
 *   FIC_ESTATE (inspection finished, lead submitted); FIC_EINVAL (not a JPEG,
 *   damaged, zero or oversized dimensions); FIC_ETOOBIG (the file is larger
 *   than FIC_PHOTO_MAX_BYTES, or decoding it would pass
 *   FIC_PHOTO_DECODE_MEMORY_MAX or FIC_PHOTO_MAX_SCANS); FIC_EIO (file
 *   unreadable, or it vanished while being read).
 */
FIC_EXTERN int fic_photo_add_file(char *id_out, fic_store *store, int owner,
                                  const char *owner_id, const char *item_id, const char *path,
                                  const fic_photo_options *opts);

/** As fic_photo_add_file(), from `len` bytes in memory (the caller keeps them). */
FIC_EXTERN int fic_photo_add_buffer(char *id_out, fic_store *store, int owner,
                                    const char *owner_id, const char *item_id,
                                    const void *data, size_t len, const fic_photo_options *opts);

#define FIC_PHOTO_VERSION 1

/**
 * A stored photo. Strings live as long as the struct; free with
 * fic_photo_free(). `version` says which members it has (later versions
 * append members; an older app reads the ones it knows).
 */
typedef struct fic_photo {
	unsigned int version; /**< FIC_PHOTO_VERSION of the library that made it */
	const char *id;
	int owner;
	const char *owner_id;
	const char *item_id;   /**< or NULL */
	const char *sha256;    /**< 64 lowercase hex digits of the original's SHA-256 */
	const char *path;      /**< where the original is kept (read-only for the app) */
	int64_t bytes;
	int width, height;     /**< as stored in the original */
	int orientation;       /**< EXIF orientation of the original (1..8), applied to renditions */
	const char *upload_sha256;
	const char *upload_path;
	int64_t upload_bytes;
	int upload_width, upload_height; /**< as displayed */
	const char *thumb_path;
	int64_t thumb_bytes;
	const char *exif_taken_at; /**< EXIF DateTimeOriginal claim ("YYYY:MM:DD HH:MM:SS[ ±hh:mm]") or NULL */
	int has_exif_location;     /**< 1 if the EXIF GPS claim is present */
	double exif_lat, exif_lon;
	int has_device_location;   /**< 1 if the app gave the device's own position */
	double device_lat, device_lon;
	int64_t created_at_ms;     /**< device UTC time it was kept */
} fic_photo;

FIC_EXTERN int fic_photo_get(fic_photo **out, fic_store *store, const char *photo_id);

/**
 * Make an upload rendition of a JPEG in memory, as the store does: EXIF
 * orientation applied, longest edge at most `max_edge` (never enlarged),
 * JPEG `quality`, no metadata. For apps that preview what will be sent, and
 * for benchmarks. The result is freed with fic_free().
 */
FIC_EXTERN int fic_photo_render(void **out, size_t *out_len, const void *jpeg, size_t len,
                                int max_edge, int quality);

/**
 * As fic_photo_render(), from the file `in_path` to the file `out_path`,
 * streaming: neither the photo nor the rendition is held in memory (unless
 * its EXIF orientation rotates it). The rendition is written to
 * `<out_path>.part`, fsync'd, renamed over `out_path` only when complete, and
 * the folder fsync'd, so a failure or a power cut leaves an existing
 * `out_path` as it was or the whole new one; `out_path` may not be the input
 * itself.
 * @return FIC_OK; FIC_EINVAL (arguments, not a usable JPEG); FIC_ENOTFOUND (no
 *   input); FIC_ETOOBIG (over a decoding limit); FIC_EIO (cannot write, sync
 *   or rename; FIC_EIO after the rename: the new file is in place but its
 *   name may not have reached the disk).
 */
FIC_EXTERN int fic_photo_render_file(const char *in_path, const char *out_path, int max_edge,
                                     int quality);
FIC_EXTERN void fic_photo_free(fic_photo *photo);

#ifdef __cplusplus
}
#endif

#endif
