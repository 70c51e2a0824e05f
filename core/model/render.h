/*
 * core/model/render.h — making the upload rendition and the thumbnail of a photo
 * without ever holding the full-size image: libjpeg decodes with DCT-domain
 * scaling (never more pixels than needed) into the file's own luma and
 * chroma planes, each plane streams through a resampler (resample.h:
 * Lanczos-3 for luma, a tent for chroma) into the planes the encoder takes
 * as they are (4:2:0), and the EXIF orientation is applied while encoding.
 * Also reads the EXIF claims (capture time, GPS position, orientation) with
 * libexif.
 */
#ifndef FIC_CORE_RENDER_H
#define FIC_CORE_RENDER_H

#include "util/util.h"

#include <stdbool.h>
#include <stdio.h>

/* What the photo's EXIF says (claims, next to the device's own facts). */
typedef struct fic__exif {
	int orientation;     /* 1..8; 1 if absent */
	char taken_at[40];   /* DateTimeOriginal "YYYY:MM:DD HH:MM:SS" (+ offset), or "" */
	bool has_gps;
	double lat, lon;     /* WGS-84 degrees, south/west negative */
} fic__exif;

/* Where an encoded JPEG goes, and what was written. */
typedef struct fic__jpeg_out {
	FILE *fp;            /* write here; NULL: to memory (buf, fic__malloc'd) */
	unsigned char *buf;
	size_t len;          /* bytes written */
	char sha256[FIC_SHA256_HEX]; /* of the bytes written ("" with no_sha256) */
	bool no_sha256;      /* in: skip the hash (a caller that does not keep it) */
	int width, height;   /* as displayed (orientation applied) */
} fic__jpeg_out;

/*
 * Decode the JPEG from `fp` (read from its start) or from `data`/`len` once,
 * and write its upload rendition (longest edge at most `max_edge`, never
 * enlarged, EXIF orientation applied, no metadata) to `upload`, and, when
 * `thumb` is not NULL, its thumbnail (`thumb_edge`) to `thumb`. Rows stream
 * from the decoder through the resamplers; when the orientation needs no
 * rotation or vertical flip they stream on into the encoder, so no image
 * buffer is held (a rotated one needs one the rendition's size). Also reads
 * the EXIF claims; `orig_w`/`orig_h` receive the stored dimensions. Errors:
 * EINVAL for a damaged or unsupported file, EIO, ENOMEM.
 */
int fic__render(FILE *in_fp, const void *data, size_t len, int max_edge, int quality,
                fic__jpeg_out *upload, int thumb_edge, int thumb_quality, fic__jpeg_out *thumb,
                fic__exif *exif, int *orig_w, int *orig_h);

/* The DCT-domain scale (1/1, 1/2, 1/4 or 1/8: the denominator returned) the
 * rendition decodes a photo whose longest edge is `longest` at, for a
 * rendition whose longest edge is `target` (<= longest): the smallest decode
 * still at least `target` long, but never 1/4 or 1/8 when the next finer one
 * leaves at most a 4x reduction (photo_bench times libjpeg at the same). */
int fic__render_scale_denom(int longest, int target);

struct fic__rs_kernels;
/* As fic__render, with the resampler's kernels given (NULL: the best this
 * machine has): the tests render with each set and compare the bytes. */
int fic__render_with(const struct fic__rs_kernels *k, FILE *in_fp, const void *data, size_t len,
                     int max_edge, int quality, fic__jpeg_out *upload, int thumb_edge,
                     int thumb_quality, fic__jpeg_out *thumb, fic__exif *exif, int *orig_w,
                     int *orig_h);

#endif
