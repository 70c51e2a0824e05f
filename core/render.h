/*
 * core/render.h — making the upload rendition and the thumbnail of a photo
 * without ever holding the full-size image: libjpeg decodes with DCT-domain
 * scaling (never more pixels than needed), rows stream through a separable
 * triangle (tent) filter into a buffer of the rendition's size, and the EXIF
 * orientation is applied while encoding. Also reads the EXIF claims (capture
 * time, GPS position, orientation) with libexif.
 */
#ifndef FIC_CORE_RENDER_H
#define FIC_CORE_RENDER_H

#include "internal.h"

#include <stdio.h>

/* What the photo's EXIF says (claims, next to the device's own facts). */
typedef struct fic__exif {
	int orientation;     /* 1..8; 1 if absent */
	char taken_at[40];   /* DateTimeOriginal "YYYY:MM:DD HH:MM:SS" (+ offset), or "" */
	bool has_gps;
	double lat, lon;     /* WGS-84 degrees, south/west negative */
} fic__exif;

/* An image in memory, as decoded (not yet oriented). */
typedef struct fic__image {
	int w, h, ch;        /* ch 1 (grey) or 3 (RGB) */
	unsigned char *px;   /* w*h*ch bytes, fic__malloc'd */
	int orientation;     /* EXIF orientation to apply when encoding */
} fic__image;

void fic__image_free(fic__image *img);

/*
 * Decode the JPEG from `fp` (read from its start) or from `data`/`len`, scaled
 * so that its longest edge is at most `max_edge` (never enlarged), and read
 * its EXIF. `orig_w`/`orig_h` receive the stored dimensions. Errors: EINVAL
 * for a damaged or unsupported file, ENOMEM.
 */
int fic__render_decode(fic__image *out, fic__exif *exif, int *orig_w, int *orig_h, FILE *fp,
                       const void *data, size_t len, int max_edge);

/* A smaller copy (longest edge `max_edge`) with the same filter and orientation. */
int fic__image_shrink(fic__image *out, const fic__image *in, int max_edge);

/*
 * Encode `img` with its orientation applied, no metadata, to `fp` or (when fp
 * is NULL) to a new fic__malloc'd buffer in *buf / *buf_len. Reports the
 * encoded (displayed) width and height.
 */
int fic__image_encode(const fic__image *img, int quality, FILE *fp, unsigned char **buf,
                      size_t *buf_len, int *width, int *height);

#endif
