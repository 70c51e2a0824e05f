/*
 * core/model/render.c — see render.h.
 *
 * The photo is decoded once, by libjpeg, with DCT-domain scaling (1/2, 1/4,
 * 1/8: the smallest decode still at least the target size) straight into
 * its own planes — luma and the two chroma planes as the file stores them
 * ("raw" output: no colour conversion, no chroma upsampling). Each plane
 * streams through its own resampler (resample.h) to the rendition's planes
 * in the layout the JPEG encoder takes raw: luma at the rendition's size and
 * chroma at half of it (4:2:0), so the encoder converts and subsamples
 * nothing either. Luma is filtered with Lanczos-3, chroma with a tent (the
 * eye, and the file's own 4:2:0 subsampling, resolve less of it); the
 * choice and its figures are in docs/architecture.md ("Photos") and come
 * from bench/photo_bench.c. The quantisation tables are our own (see
 * set_tables). Memory is a ring of a few source rows per plane and a few
 * bands of the encoder's rows, whatever the photo's size; a rotated photo
 * buffers its rendition's planes (1.5 bytes a pixel). Files libjpeg cannot
 * give as YCbCr or grey planes (RGB, CMYK, YCCK) are decoded to RGB rows and
 * converted here. (Progressive JPEGs: libjpeg keeps their coefficients,
 * about 2 bytes per pixel; cameras write baseline.)
 */
#include "render.h"
#include "resample.h"

#include <jerror.h>
#include <jpeglib.h>
#include <libexif/exif-data.h>
#include <math.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PLANES 3
#define MAX_COMPS 4

/* ---- libjpeg error handling: longjmp, never exit() ---- */

typedef struct jerr {
	struct jpeg_error_mgr mgr;
	jmp_buf jump;
	jmp_buf *to;  /* where to go: this jump, or the decoder's for an encoder */
	char msg[JMSG_LENGTH_MAX];
	bool truncated;
	bool over_limit; /* stopped by limit_decoder's bounds, not by damage */
} jerr;

static void jerr_exit(j_common_ptr cinfo)
{
	jerr *e = (jerr *)cinfo->err;
	(*cinfo->err->format_message)(cinfo, e->msg);
	longjmp(*e->to, 1);
}

/*
 * Warnings about damaged data are refusals: evidence must decode as it was
 * taken (djpeg reports these as "Corrupt JPEG data"). Warnings about unusual
 * but intact headers (an unknown JFIF version or Adobe transform) are not.
 */
static void jerr_emit(j_common_ptr cinfo, int level)
{
	jerr *e = (jerr *)cinfo->err;
	if (level >= 0)
		return;
	switch (cinfo->err->msg_code) {
	case JWRN_JPEG_EOF:
	case JWRN_HIT_MARKER:
	case JWRN_HUFF_BAD_CODE:
	case JWRN_MUST_RESYNC:
	case JWRN_NOT_SEQUENTIAL:
	case JWRN_BOGUS_PROGRESSION:
	case JWRN_EXTRANEOUS_DATA:
	case JWRN_TOO_MUCH_DATA:
		e->truncated = true;
		(*cinfo->err->format_message)(cinfo, e->msg);
		break;
	default:
		break;
	}
}

/* ---- EXIF (libexif, through our allocator) ---- */

static void *exif_alloc(ExifLong n)
{
	return fic__calloc(1, (size_t)n);
}

static void *exif_realloc(void *p, ExifLong n)
{
	return fic__realloc(p, (size_t)n);
}

static double gps_degrees(ExifEntry *e, ExifByteOrder bo)
{
	if (e == NULL || e->format != EXIF_FORMAT_RATIONAL || e->components < 3)
		return NAN;
	double v = 0, scale = 1;
	for (int i = 0; i < 3; i++) {
		ExifRational r = exif_get_rational(e->data + 8 * i, bo);
		if (r.denominator == 0)
			return NAN;
		v += (double)r.numerator / r.denominator / scale;
		scale *= 60;
	}
	return v;
}

static void read_exif(fic__exif *x, const unsigned char *data, unsigned int len)
{
	ExifMem *mem = exif_mem_new(exif_alloc, exif_realloc, fic__free);
	ExifData *ed = mem ? exif_data_new_mem(mem) : NULL;
	if (ed == NULL) {
		exif_mem_unref(mem);
		return;
	}
	exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
	exif_data_load_data(ed, data, len);
	ExifByteOrder bo = exif_data_get_byte_order(ed);
	ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
	if (e && e->format == EXIF_FORMAT_SHORT && e->components >= 1) {
		int o = exif_get_short(e->data, bo);
		if (o >= 1 && o <= 8)
			x->orientation = o;
	}
	e = exif_content_get_entry(ed->ifd[EXIF_IFD_EXIF], EXIF_TAG_DATE_TIME_ORIGINAL);
	if (e && e->format == EXIF_FORMAT_ASCII && e->size >= 19) {
		memcpy(x->taken_at, e->data, 19);
		x->taken_at[19] = '\0';
		/* EXIF 2.31 OffsetTimeOriginal (0x9011), e.g. "+08:00" */
		ExifEntry *off = exif_content_get_entry(ed->ifd[EXIF_IFD_EXIF], (ExifTag)0x9011);
		if (off && off->format == EXIF_FORMAT_ASCII && off->size >= 6) {
			x->taken_at[19] = ' ';
			memcpy(x->taken_at + 20, off->data, 6);
			x->taken_at[26] = '\0';
		}
		for (char *c = x->taken_at; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7E)
				*c = '?';
	}
	ExifEntry *lat = exif_content_get_entry(ed->ifd[EXIF_IFD_GPS], (ExifTag)EXIF_TAG_GPS_LATITUDE);
	ExifEntry *latr = exif_content_get_entry(ed->ifd[EXIF_IFD_GPS], (ExifTag)EXIF_TAG_GPS_LATITUDE_REF);
	ExifEntry *lon = exif_content_get_entry(ed->ifd[EXIF_IFD_GPS], (ExifTag)EXIF_TAG_GPS_LONGITUDE);
	ExifEntry *lonr = exif_content_get_entry(ed->ifd[EXIF_IFD_GPS], (ExifTag)EXIF_TAG_GPS_LONGITUDE_REF);
	double la = gps_degrees(lat, bo), lo = gps_degrees(lon, bo);
	if (isfinite(la) && isfinite(lo) && la <= 90 && lo <= 180) {
		if (latr && latr->size >= 1 && latr->data[0] == 'S')
			la = -la;
		if (lonr && lonr->size >= 1 && lonr->data[0] == 'W')
			lo = -lo;
		x->has_gps = true;
		x->lat = la;
		x->lon = lo;
	}
	exif_data_unref(ed);
	exif_mem_unref(mem);
}

/* ---- encoding: a destination that hashes what it writes ---- */

#define DEST_CHUNK 16384

typedef struct hash_dest {
	struct jpeg_destination_mgr pub;
	fic__jpeg_out *out;
	EVP_MD_CTX *md;
	unsigned char chunk[DEST_CHUNK];
	size_t cap;          /* of out->buf, when writing to memory */
	bool failed;
} hash_dest;

static bool dest_put(hash_dest *d, const unsigned char *p, size_t n)
{
	if (n == 0)
		return true;
	if (d->md && EVP_DigestUpdate(d->md, p, n) != 1)
		return false;
	fic__jpeg_out *o = d->out;
	if (o->fp)
		return fwrite(p, 1, n, o->fp) == n && (o->len += n, true);
	if (o->len + n > d->cap) { /* grow by half: a few copies, not one per chunk */
		size_t cap = d->cap + d->cap / 2 > o->len + n ? d->cap + d->cap / 2 : o->len + n;
		unsigned char *nb = fic__realloc(o->buf, cap);
		if (nb == NULL)
			return false;
		o->buf = nb;
		d->cap = cap;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return true;
}

static void dest_init(j_compress_ptr c)
{
	hash_dest *d = (hash_dest *)c->dest;
	d->pub.next_output_byte = d->chunk;
	d->pub.free_in_buffer = DEST_CHUNK;
}

static boolean dest_empty(j_compress_ptr c)
{
	hash_dest *d = (hash_dest *)c->dest;
	if (!dest_put(d, d->chunk, DEST_CHUNK)) {
		d->failed = true;
		ERREXIT(c, JERR_FILE_WRITE);
	}
	d->pub.next_output_byte = d->chunk;
	d->pub.free_in_buffer = DEST_CHUNK;
	return TRUE;
}

static void dest_term(j_compress_ptr c)
{
	hash_dest *d = (hash_dest *)c->dest;
	if (!dest_put(d, d->chunk, DEST_CHUNK - d->pub.free_in_buffer)) {
		d->failed = true;
		ERREXIT(c, JERR_FILE_WRITE);
	}
}


/* ---- the encoder: planes in bands, raw (no conversion, no subsampling) ---- */

#define BANDS 3 /* a plane may run up to two bands ahead of another */

typedef struct encoder {
	struct jpeg_compress_struct c;
	jerr err;
	hash_dest dest;
	bool created;
	int W, H, np;
	int pw[MAX_PLANES], ph[MAX_PLANES]; /* plane sizes */
	int bh[MAX_PLANES];                 /* band rows: the encoder's iMCU row */
	size_t bw[MAX_PLANES];              /* band row length, padded to whole blocks */
	uint8_t *band[MAX_PLANES];          /* BANDS bands of bh rows */
	int rows_in[MAX_PLANES];            /* rows put so far */
	int flushed;                        /* bands written */
	bool overrun;                       /* a plane ran too far ahead (never expected) */
	JSAMPROW ptr[MAX_PLANES][16];
} encoder;

static void enc_init_err(encoder *e, jmp_buf *jump)
{
	e->c.err = jpeg_std_error(&e->err.mgr);
	e->err.mgr.error_exit = jerr_exit;
	e->err.mgr.emit_message = jerr_emit;
	e->err.to = jump;
}

static void enc_free(encoder *e)
{
	if (e->created)
		jpeg_destroy_compress(&e->c);
	EVP_MD_CTX_free(e->dest.md);
	for (int p = 0; p < MAX_PLANES; p++)
		fic__free(e->band[p]);
	memset(e->band, 0, sizeof e->band);
	e->created = false;
	e->dest.md = NULL;
}

/*
 * The quantisation tables, chosen by measurement (bench/photo_bench.c, the
 * figures in docs/architecture.md): the standard tables (JPEG Annex K) are
 * shaped for viewing at a distance and quantise fine detail hardest — the
 * strokes of characters, the edges of a test strip's pads. These grow
 * gently and evenly with frequency instead, step = base * (1 + slope * r),
 * r the distance of the coefficient from DC; scaled by quality as libjpeg
 * scales its own (jpeg_quality_scaling), and `base` set so that a quality
 * gives about the bytes the standard tables gave at that quality on photos,
 * so a setting keeps its cost on the link.
 */
#define LUMA_BASE 21.6
#define LUMA_SLOPE 0.15
#define CHROMA_BASE 20.25
#define CHROMA_SLOPE 0.3

static void set_tables(j_compress_ptr c, int quality)
{
	unsigned int luma[64], chroma[64];
	for (int i = 0; i < 64; i++) {
		double r = sqrt((double)((i % 8) * (i % 8) + (i / 8) * (i / 8)));
		luma[i] = (unsigned int)lrint(LUMA_BASE * (1 + LUMA_SLOPE * r));
		chroma[i] = (unsigned int)lrint(CHROMA_BASE * (1 + CHROMA_SLOPE * r));
	}
	int scale = jpeg_quality_scaling(quality);
	jpeg_add_quant_table(c, 0, luma, scale, TRUE);
	jpeg_add_quant_table(c, 1, chroma, scale, TRUE);
}

/* The bands for a W x H JPEG of `np` planes (grey, or YCbCr 4:2:0). */
static int enc_alloc(encoder *e, int W, int H, int np)
{
	e->W = W;
	e->H = H;
	e->np = np;
	for (int p = 0; p < np; p++) {
		e->pw[p] = p == 0 ? W : (W + 1) / 2;
		e->ph[p] = p == 0 ? H : (H + 1) / 2;
		e->bh[p] = p == 0 && np == 3 ? 2 * DCTSIZE : DCTSIZE; /* an iMCU row */
		/* whole MCUs, and a block more than libjpeg reads */
		e->bw[p] = ((size_t)e->pw[p] + 2 * DCTSIZE - 1) / (2 * DCTSIZE) * (2 * DCTSIZE) + DCTSIZE;
		e->band[p] = fic__malloc((size_t)BANDS * (size_t)e->bh[p] * e->bw[p]);
		if (e->band[p] == NULL)
			return fic__err(FIC_ENOMEM, "out of memory encoding a photo");
	}
	return FIC_OK;
}

/* Start the JPEG (after enc_alloc; call under setjmp). */
static void enc_begin(encoder *e, int quality, fic__jpeg_out *out)
{
	out->len = 0;
	out->width = e->W;
	out->height = e->H;
	jpeg_create_compress(&e->c);
	e->created = true;
	e->dest.pub.init_destination = dest_init;
	e->dest.pub.empty_output_buffer = dest_empty;
	e->dest.pub.term_destination = dest_term;
	e->dest.out = out;
	e->c.dest = &e->dest.pub;
	e->c.image_width = (JDIMENSION)e->W;
	e->c.image_height = (JDIMENSION)e->H;
	e->c.input_components = e->np;
	e->c.in_color_space = e->np == 1 ? JCS_GRAYSCALE : JCS_YCbCr;
	jpeg_set_defaults(&e->c); /* YCbCr: luma 2x2, chroma 1x1, i.e. 4:2:0 */
	set_tables(&e->c, quality);
	/* Standard Huffman tables: optimised ones would need libjpeg to keep the
	 * whole image's coefficients, and a second pass, for 2-5 % fewer bytes. */
	e->c.optimize_coding = FALSE;
	e->c.raw_data_in = TRUE;
	e->c.write_JFIF_header = TRUE;
	jpeg_start_compress(&e->c, TRUE);
}

static uint8_t *band_row(encoder *e, int p, int y)
{
	size_t slot = (size_t)((y / e->bh[p]) % BANDS) * (size_t)e->bh[p] + (size_t)(y % e->bh[p]);
	return e->band[p] + slot * e->bw[p];
}

/* Write every band whose rows have all arrived (call under setjmp). */
static void enc_flush(encoder *e)
{
	for (;;) {
		int b = e->flushed;
		for (int p = 0; p < e->np; p++) {
			int end = (b + 1) * e->bh[p];
			if (e->rows_in[p] < (end < e->ph[p] ? end : e->ph[p]) || b * e->bh[p] >= e->ph[p])
				return;
		}
		JSAMPARRAY planes[MAX_PLANES];
		for (int p = 0; p < e->np; p++) {
			for (int r = 0; r < e->bh[p]; r++) {
				int y = b * e->bh[p] + r;
				e->ptr[p][r] = band_row(e, p, y < e->ph[p] ? y : e->ph[p] - 1);
			}
			planes[p] = e->ptr[p];
		}
		jpeg_write_raw_data(&e->c, planes, (JDIMENSION)e->bh[0]);
		e->flushed++;
	}
}

/* Row y of plane p (pw[p] samples; mirrored if asked), then any finished band. */
static void enc_put(encoder *e, int p, int y, const uint8_t *row, bool mirror)
{
	if (y / e->bh[p] >= e->flushed + BANDS) {
		e->overrun = true;
		return;
	}
	uint8_t *d = band_row(e, p, y);
	int w = e->pw[p];
	if (mirror)
		for (int x = 0; x < w; x++)
			d[x] = row[w - 1 - x];
	else
		memcpy(d, row, (size_t)w);
	memset(d + w, d[w - 1], e->bw[p] - (size_t)w); /* the edge, repeated into the padding */
	e->rows_in[p] = y + 1;
	enc_flush(e);
}

static void enc_end(encoder *e, fic__jpeg_out *out)
{
	jpeg_finish_compress(&e->c);
	out->sha256[0] = '\0';
	if (e->dest.md == NULL)
		return;
	unsigned char d[32];
	unsigned int dl = 0;
	if (EVP_DigestFinal_ex(e->dest.md, d, &dl) == 1 && dl == 32)
		fic__hex32(d, out->sha256);
}
/* ---- reading a file: like jpeg_stdio_src, in larger reads ---- */

/* jpeg_stdio_src reads 4 KiB at a time: some 900 read() calls for a 12 MP photo. */
#define SRC_CHUNK 65536

typedef struct file_src {
	struct jpeg_source_mgr pub;
	FILE *fp;
	JOCTET *buf;              /* SRC_CHUNK bytes */
	bool start;
} file_src;

static void src_init(j_decompress_ptr c)
{
	((file_src *)c->src)->start = true;
}

static boolean src_fill(j_decompress_ptr c)
{
	file_src *s = (file_src *)c->src;
	size_t n = fread(s->buf, 1, SRC_CHUNK, s->fp);
	if (n == 0) {
		if (s->start)
			ERREXIT(c, JERR_INPUT_EMPTY);
		WARNMS(c, JWRN_JPEG_EOF); /* a refusal: see jerr_emit */
		s->buf[0] = (JOCTET)0xFF;
		s->buf[1] = (JOCTET)JPEG_EOI;
		n = 2;
	}
	s->pub.next_input_byte = s->buf;
	s->pub.bytes_in_buffer = n;
	s->start = false;
	return TRUE;
}

static void src_skip(j_decompress_ptr c, long n)
{
	file_src *s = (file_src *)c->src;
	if (n <= 0)
		return;
	while ((size_t)n > s->pub.bytes_in_buffer) {
		n -= (long)s->pub.bytes_in_buffer;
		src_fill(c);
	}
	s->pub.next_input_byte += n;
	s->pub.bytes_in_buffer -= (size_t)n;
}

static void src_term(j_decompress_ptr c)
{
	(void)c;
}

/* ---- a rendition: its planes' resamplers and where their rows go ---- */

typedef struct rendition {
	int W, H, np;                     /* as made (before orientation); 1 or 3 planes */
	int pw[MAX_PLANES], ph[MAX_PLANES];
	fic__plane_rs rs[MAX_PLANES];
	uint8_t *plane[MAX_PLANES];       /* buffered: whole planes (rotations, the thumbnail) */
	encoder *enc;                     /* streaming: rows straight into the encoder */
	bool mirror;                      /* streaming with orientation 2 */
	struct rendition *next;           /* the thumbnail, made from these rows */
} rendition;

static void rendition_row(void *arg, int p, int y, const uint8_t *row)
{
	rendition *r = arg;
	if (r->enc)
		enc_put(r->enc, p, y, row, r->mirror);
	else
		memcpy(r->plane[p] + (size_t)y * (size_t)r->pw[p], row, (size_t)r->pw[p]);
	if (r->next)
		fic__plane_rs_feed(&r->next->rs[p], row);
}

static void rendition_free(rendition *r)
{
	for (int p = 0; p < MAX_PLANES; p++) {
		fic__plane_rs_free(&r->rs[p]);
		fic__free(r->plane[p]);
		r->plane[p] = NULL;
	}
}

/* One source plane: its size, and how many of its samples lie along one
 * decoded luma sample in each direction (1 for luma; 1/2 for the chroma of a
 * 4:2:0 file decoded at full scale, 1 at 1/2, where libjpeg scales chroma up
 * in the IDCT instead of upsampling it). */
typedef struct source_plane {
	int w, h;
	double rx, ry;
} source_plane;

/*
 * The planes of a W x H rendition made from `src` planes of an sw x sh
 * decoded image: luma with `luma` (Lanczos-3 for the upload rendition, a
 * tent for the thumbnail), chroma with a tent. Buffered (`buffer`)
 * or streaming into `enc`. Output chroma samples sit between each pair of
 * luma samples (JPEG's centred siting), so along each axis a chroma plane
 * steps 2 sw / W luma samples per output sample.
 */
static int rendition_init(rendition *r, int W, int H, int np, const source_plane *src, int sw,
                          int sh, encoder *enc, bool buffer, fic__rs_filter luma,
                          const fic__rs_kernels *k)
{
	r->W = W;
	r->H = H;
	r->np = np;
	r->enc = enc;
	for (int p = 0; p < np; p++) {
		r->pw[p] = p == 0 ? W : (W + 1) / 2;
		r->ph[p] = p == 0 ? H : (H + 1) / 2;
		double step_x = (p == 0 ? 1.0 : 2.0) * sw / W, step_y = (p == 0 ? 1.0 : 2.0) * sh / H;
		int rc = fic__plane_rs_init(&r->rs[p], src[p].w, src[p].h, r->pw[p], r->ph[p],
		                            step_x * src[p].rx, step_y * src[p].ry,
		                            p == 0 ? luma : FIC__RS_TENT, k, p,
		                            rendition_row, r);
		if (rc != FIC_OK)
			return rc;
		if (buffer && (r->plane[p] = fic__malloc((size_t)r->pw[p] * (size_t)r->ph[p])) == NULL)
			return fic__err(FIC_ENOMEM, "out of memory resizing a photo");
	}
	return FIC_OK;
}

/* Where displayed pixel (X, Y) of an oriented w x h plane comes from. */
static void oriented(int o, int w, int h, int X, int Y, int *x, int *y)
{
	switch (o) {
	case 2: *x = w - 1 - X; *y = Y; break;
	case 3: *x = w - 1 - X; *y = h - 1 - Y; break;
	case 4: *x = X; *y = h - 1 - Y; break;
	case 5: *x = Y; *y = X; break;
	case 6: *x = Y; *y = h - 1 - X; break;
	case 7: *x = w - 1 - Y; *y = h - 1 - X; break;
	case 8: *x = w - 1 - Y; *y = X; break;
	default: *x = X; *y = Y; break;
	}
}

/* Row y of plane p of a buffered rendition, oriented, into the encoder. */
static void put_oriented(encoder *e, const rendition *r, int o, int p, int y, uint8_t *row)
{
	const uint8_t *src = r->plane[p];
	int w = r->pw[p], h = r->ph[p];
	if (o == 1) {
		enc_put(e, p, y, src + (size_t)y * (size_t)w, false);
		return;
	}
	for (int X = 0; X < e->pw[p]; X++) {
		int x, yy;
		oriented(o, w, h, X, y, &x, &yy);
		row[X] = src[(size_t)yy * (size_t)w + (size_t)x];
	}
	enc_put(e, p, y, row, false);
}

/* Encode a buffered rendition with its orientation applied (call under setjmp;
 * `row` holds the longest plane edge). Chroma rows go in beside their luma. */
static void encode_oriented(encoder *e, const rendition *r, int o, uint8_t *row)
{
	for (int y = 0; y < e->ph[0]; y++) {
		put_oriented(e, r, o, 0, y, row);
		if (e->np == 3 && (y % 2 == 1 || y == e->ph[0] - 1)) {
			put_oriented(e, r, o, 1, y / 2, row);
			put_oriented(e, r, o, 2, y / 2, row);
		}
	}
}

/* ---- decode once, write both renditions ---- */

#if JPEG_LIB_VERSION >= 70
#define COMP_DCT_H(ci) ((ci)->DCT_h_scaled_size)
#define COMP_DCT_V(ci) ((ci)->DCT_v_scaled_size)
#define MIN_DCT_H(c) ((c)->min_DCT_h_scaled_size)
#define MIN_DCT_V(c) ((c)->min_DCT_v_scaled_size)
#else
#define COMP_DCT_H(ci) ((ci)->DCT_scaled_size)
#define COMP_DCT_V(ci) ((ci)->DCT_scaled_size)
#define MIN_DCT_H(c) ((c)->min_DCT_scaled_size)
#define MIN_DCT_V(c) ((c)->min_DCT_scaled_size)
#endif

typedef struct render_state {
	struct jpeg_decompress_struct cinfo;
	jerr err;
	bool created;
	file_src src;
	const fic__rs_kernels *k;
	rendition up, th;
	encoder enc_up, enc_th;
	bool raw;                   /* libjpeg's own planes; else RGB or CMYK rows converted here */
	uint8_t *buf[MAX_COMPS];    /* raw: an iMCU row of each component; else a decoded row, 3 planes' */
	JSAMPROW *rows[MAX_COMPS];  /* raw: the rows of buf */
	int nrows[MAX_COMPS];
	uint8_t *row;               /* one oriented row */
	struct jpeg_progress_mgr progress; /* the scan limit (limit_decoder) */
} render_state;

/*
 * What decoding one photo may cost (photo.h: FIC_PHOTO_DECODE_MEMORY_MAX,
 * FIC_PHOTO_MAX_SCANS). A progressive (or multi-scan) JPEG makes libjpeg keep
 * every coefficient of the image, 2 bytes a sample whatever the DCT scaling:
 * 300 MB for a 7000×7000 4:4:4 file of 575 KB, and one pass over them per
 * scan. libjpeg's memory manager refuses to hold more than max_memory_to_use
 * in those arrays (it has no backing store to spill to: JERR_NO_BACKING_STORE),
 * and the progress monitor — called as the decoder reads — stops at a scan
 * past the limit, as `djpeg -maxscans` does. Baseline photos stream row by
 * row and never come near either.
 */
static void scan_limit(j_common_ptr cinfo)
{
	j_decompress_ptr d = (j_decompress_ptr)cinfo;
	if (d->input_scan_number <= FIC_PHOTO_MAX_SCANS)
		return;
	jerr *e = (jerr *)cinfo->err;
	snprintf(e->msg, sizeof e->msg, "the JPEG has more than %d scans", FIC_PHOTO_MAX_SCANS);
	e->over_limit = true;
	longjmp(*e->to, 1);
}

static void limit_decoder(render_state *st)
{
	st->cinfo.mem->max_memory_to_use = FIC_PHOTO_DECODE_MEMORY_MAX;
	st->progress.progress_monitor = scan_limit;
	st->cinfo.progress = &st->progress;
}

static void render_free(render_state *st)
{
	if (st->created)
		jpeg_destroy_decompress(&st->cinfo);
	rendition_free(&st->up);
	rendition_free(&st->th);
	fic__free(st->src.buf);
	for (int i = 0; i < MAX_COMPS; i++) {
		fic__free(st->buf[i]);
		fic__free(st->rows[i]);
	}
	fic__free(st->row);
	enc_free(&st->enc_up);
	enc_free(&st->enc_th);
}
static void fit(int sw, int sh, int edge, int *dw, int *dh)
{
	int longest = sw > sh ? sw : sh;
	*dw = sw;
	*dh = sh;
	if (longest > edge) {
		*dw = (int)lround((double)sw * edge / longest);
		*dh = (int)lround((double)sh * edge / longest);
		*dw = *dw < 1 ? 1 : *dw;
		*dh = *dh < 1 ? 1 : *dh;
	}
}

/* The state, with the encoders' hashes ready (none for a render-only call). */
static render_state *render_new(bool hash_up, bool hash_th)
{
	render_state *st = fic__calloc(1, sizeof *st);
	if (st == NULL)
		return NULL;
	st->enc_up.dest.md = hash_up ? EVP_MD_CTX_new() : NULL;
	st->enc_th.dest.md = hash_th ? EVP_MD_CTX_new() : NULL;
	if ((hash_up && (!st->enc_up.dest.md ||
	                 EVP_DigestInit_ex(st->enc_up.dest.md, EVP_sha256(), NULL) != 1)) ||
	    (hash_th && (!st->enc_th.dest.md ||
	                 EVP_DigestInit_ex(st->enc_th.dest.md, EVP_sha256(), NULL) != 1))) {
		render_free(st);
		fic__free(st);
		return NULL;
	}
	return st;
}

/* Where the compressed bytes come from: a file through our 64 KiB reader, or memory. */
static int set_source(render_state *st, FILE *in_fp, const void *data, size_t len)
{
	struct jpeg_decompress_struct *c = &st->cinfo;
	if (in_fp == NULL) {
		jpeg_mem_src(c, data, (unsigned long)len);
		return FIC_OK;
	}
	st->src.buf = fic__malloc(SRC_CHUNK);
	if (st->src.buf == NULL)
		return fic__err(FIC_ENOMEM, "out of memory decoding a photo");
	st->src.fp = in_fp;
	st->src.pub.init_source = src_init;
	st->src.pub.fill_input_buffer = src_fill;
	st->src.pub.skip_input_data = src_skip;
	st->src.pub.resync_to_restart = jpeg_resync_to_restart;
	st->src.pub.term_source = src_term;
	c->src = &st->src.pub;
	return FIC_OK;
}

/* Read the header and the EXIF block; refuse sizes outside the limits. */
static int read_header(render_state *st, fic__exif *exif, int *orig_w, int *orig_h)
{
	struct jpeg_decompress_struct *c = &st->cinfo;
	jpeg_save_markers(c, JPEG_APP0 + 1, 0xFFFF);
	jpeg_read_header(c, TRUE);
	for (jpeg_saved_marker_ptr m = c->marker_list; m; m = m->next)
		if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
			read_exif(exif, m->data, m->data_length);
			break;
		}
	if (c->image_width == 0 || c->image_height == 0 ||
	    (int64_t)c->image_width * c->image_height > FIC_PHOTO_MAX_PIXELS)
		return fic__err(FIC_EINVAL, "the JPEG claims %ux%u pixels (allowed: 1 to %lld)",
		                c->image_width, c->image_height, (long long)FIC_PHOTO_MAX_PIXELS);
	*orig_w = (int)c->image_width;
	*orig_h = (int)c->image_height;
	return FIC_OK;
}


int fic__render_scale_denom(int longest, int target)
{
	/* DCT-domain scaling: the smallest decode that is still >= the target. */
	int denom = 1;
	for (int d = 8; d >= 2; d /= 2)
		if ((longest + d - 1) / d >= target) {
			denom = d;
			break;
		}
	/* At 1/4 and 1/8 libjpeg's IDCT is 2x2 or 1x1, which is blocky (a 48 MP
	 * photo's 1600 px rendition through 1/4 is 14 dB further from the exact
	 * one than through 1/2): the next finer scale is taken when it leaves at
	 * most a 4x reduction for the resampler. */
	if (denom >= 4 && (longest + 1) / 2 * 2 / denom <= 4 * target)
		denom /= 2;
	return denom;
}

/* Decode parameters for a rendition of at most `max_edge`; returns the target edge. */
static int choose_scale(render_state *st, int max_edge)
{
	struct jpeg_decompress_struct *c = &st->cinfo;
	int longest = (int)(c->image_width > c->image_height ? c->image_width : c->image_height);
	int target = longest < max_edge ? longest : max_edge;
	c->scale_num = 1;
	c->scale_denom = (unsigned int)fic__render_scale_denom(longest, target);
	c->dct_method = JDCT_ISLOW;
	/* YCbCr and grey files come as their own planes; the rest as RGB (CMYK and
	 * YCCK as CMYK) rows this file converts. */
	st->raw = (c->jpeg_color_space == JCS_YCbCr && c->num_components == 3) ||
	          (c->jpeg_color_space == JCS_GRAYSCALE && c->num_components == 1);
	bool cmyk = c->jpeg_color_space == JCS_CMYK || c->jpeg_color_space == JCS_YCCK;
	c->raw_data_out = st->raw ? TRUE : FALSE;
	c->out_color_space = st->raw ? c->jpeg_color_space : cmyk ? JCS_CMYK : JCS_RGB;
	return target;
}

/* The sizes everything comes out at. */
typedef struct plan {
	int sw, sh;                    /* as decoded (the luma grid) */
	int np;                        /* planes: 1 (grey) or 3 (YCbCr) */
	source_plane src[MAX_PLANES];
	int dw, dh;                    /* the upload rendition, before orientation */
	int tw, th;                    /* the thumbnail (0 without one) */
	bool stream;                   /* orientation 1 or 2: rows go straight to the encoder */
} plan;

/* The decoded planes and the buffers the decoder writes into. */
static int describe_source(render_state *st, plan *pl)
{
	struct jpeg_decompress_struct *c = &st->cinfo;
	pl->sw = (int)c->output_width;
	pl->sh = (int)c->output_height;
	pl->np = st->raw ? c->num_components : 3;
	if (!st->raw) { /* one decoded row, and its three planes' rows */
		for (int p = 0; p < 4; p++)
			if ((st->buf[p] = fic__calloc((size_t)pl->sw * (p == 0 ? 4u : 1u) + FIC_RS_ROW_SLACK, 1)) == NULL)
				return fic__err(FIC_ENOMEM, "out of memory decoding a photo");
		for (int p = 0; p < 3; p++)
			pl->src[p] = (source_plane){ pl->sw, pl->sh, 1, 1 };
		return FIC_OK;
	}
	for (int p = 0; p < pl->np; p++) {
		jpeg_component_info *ci = &c->comp_info[p];
		pl->src[p] = (source_plane){
			(int)ci->downsampled_width, (int)ci->downsampled_height,
			(double)(ci->h_samp_factor * COMP_DCT_H(ci)) / (c->max_h_samp_factor * MIN_DCT_H(c)),
			(double)(ci->v_samp_factor * COMP_DCT_V(ci)) / (c->max_v_samp_factor * MIN_DCT_V(c)) };
		/* rows as libjpeg writes them, and room for the resampler to read on */
		size_t width = (size_t)ci->width_in_blocks * (size_t)COMP_DCT_H(ci) + FIC_RS_ROW_SLACK;
		st->nrows[p] = ci->v_samp_factor * COMP_DCT_V(ci);
		st->buf[p] = fic__calloc(width, (size_t)st->nrows[p]);
		st->rows[p] = fic__malloc((size_t)st->nrows[p] * sizeof *st->rows[p]);
		if (st->buf[p] == NULL || st->rows[p] == NULL)
			return fic__err(FIC_ENOMEM, "out of memory decoding a photo");
		for (int r = 0; r < st->nrows[p]; r++)
			st->rows[p][r] = st->buf[p] + (size_t)r * width;
	}
	return FIC_OK;
}

/* Set up the renditions (and the streaming encoder) for `pl`; call under setjmp. */
static int prepare_outputs(render_state *st, plan *pl, int target, int quality,
                           fic__jpeg_out *upload, bool thumb, int thumb_edge, int orientation)
{
	int rc = describe_source(st, pl);
	if (rc != FIC_OK)
		return rc;
	fit(pl->sw, pl->sh, target, &pl->dw, &pl->dh);
	pl->stream = orientation == 1 || orientation == 2;
	st->up.mirror = orientation == 2;
	if (pl->stream && (rc = enc_alloc(&st->enc_up, pl->dw, pl->dh, pl->np)) == FIC_OK)
		enc_begin(&st->enc_up, quality, upload);
	if (rc == FIC_OK)
		rc = rendition_init(&st->up, pl->dw, pl->dh, pl->np, pl->src, pl->sw, pl->sh,
		                    pl->stream ? &st->enc_up : NULL, !pl->stream, FIC__RS_LANCZOS3, st->k);
	if (rc != FIC_OK || !thumb)
		return rc;
	/* Made from the upload rendition's rows as they come out: a sixth of the
	 * decoded image's samples to filter, for the same result. */
	fit(pl->dw, pl->dh, thumb_edge < target ? thumb_edge : target, &pl->tw, &pl->th);
	source_plane from[MAX_PLANES];
	for (int p = 0; p < pl->np; p++)
		from[p] = (source_plane){ st->up.pw[p], st->up.ph[p], p ? 0.5 : 1, p ? 0.5 : 1 };
	rc = rendition_init(&st->th, pl->tw, pl->th, pl->np, from, pl->dw, pl->dh, NULL, true,
	                    FIC__RS_TENT, st->k);
	st->up.next = &st->th;
	return rc;
}

/* Adobe CMYK is stored inverted (R = C·K/255); plain CMYK is not. */
static void cmyk_to_rgb(unsigned char *p, int w, bool inverted)
{
	for (int x = 0; x < w; x++) {
		const unsigned char *s = p + (size_t)x * 4;
		unsigned k = inverted ? s[3] : 255u - s[3], v[3];
		for (int q = 0; q < 3; q++)
			v[q] = (inverted ? s[q] : 255u - s[q]) * k / 255;
		for (int q = 0; q < 3; q++)
			p[(size_t)x * 3 + (size_t)q] = (unsigned char)v[q];
	}
}

/* RGB to JPEG's YCbCr (JFIF, full range), in libjpeg's fixed point. */
static void rgb_to_planes(const unsigned char *rgb, int w, uint8_t *y, uint8_t *cb, uint8_t *cr)
{
	for (int x = 0; x < w; x++) {
		int32_t r = rgb[3 * x], g = rgb[3 * x + 1], b = rgb[3 * x + 2];
		y[x] = (uint8_t)((19595 * r + 38470 * g + 7471 * b + 32768) >> 16);
		cb[x] = (uint8_t)((-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 32767) >> 16);
		cr[x] = (uint8_t)((32768 * r - 27439 * g - 5329 * b + (128 << 16) + 32767) >> 16);
	}
}

/* Every iMCU row of planes, each plane's rows fed in step with the others'. */
static void decode_raw(render_state *st, int np)
{
	struct jpeg_decompress_struct *c = &st->cinfo;
	int most = 0;
	for (int p = 0; p < np; p++)
		most = st->nrows[p] > most ? st->nrows[p] : most;
	JSAMPARRAY planes[MAX_COMPS] = { st->rows[0], st->rows[1], st->rows[2], st->rows[3] };
	while (c->output_scanline < c->output_height) {
		jpeg_read_raw_data(c, planes, (JDIMENSION)(c->max_v_samp_factor * MIN_DCT_V(c)));
		int done[MAX_COMPS] = { 0 };
		for (int i = 1; i <= most; i++)
			for (int p = 0; p < np; p++)
				for (; done[p] < i * st->nrows[p] / most; done[p]++)
					fic__plane_rs_feed_padded(&st->up.rs[p], st->rows[p][done[p]]);
	}
}

/* Every scanline as RGB (or CMYK), converted to the three planes. */
static void decode_rgb(render_state *st, int sw)
{
	struct jpeg_decompress_struct *c = &st->cinfo;
	bool cmyk = c->out_color_space == JCS_CMYK;
	while (c->output_scanline < c->output_height) {
		JSAMPROW rp = st->buf[0];
		jpeg_read_scanlines(c, &rp, 1);
		if (cmyk)
			cmyk_to_rgb(rp, sw, c->saw_Adobe_marker);
		rgb_to_planes(rp, sw, st->buf[1], st->buf[2], st->buf[3]);
		for (int p = 0; p < 3; p++)
			fic__plane_rs_feed_padded(&st->up.rs[p], st->buf[p + 1]);
	}
}

static int decode(render_state *st, const plan *pl)
{
	if (st->raw)
		decode_raw(st, pl->np);
	else
		decode_rgb(st, pl->sw);
	jpeg_finish_decompress(&st->cinfo); /* reads to the end marker: stray data shows up here */
	if (st->err.truncated)
		return fic__err(FIC_EINVAL, "the JPEG is damaged or truncated: %s", st->err.msg);
	return FIC_OK;
}

/* A buffered rendition, encoded with its orientation applied (call under setjmp). */
static int encode_buffered(render_state *st, encoder *e, const rendition *r, int orientation,
                           int quality, fic__jpeg_out *out)
{
	bool swap = orientation >= 5 && orientation <= 8;
	int rc = enc_alloc(e, swap ? r->H : r->W, swap ? r->W : r->H, r->np);
	if (rc == FIC_OK && st->row == NULL &&
	    (st->row = fic__malloc((size_t)(r->W > r->H ? r->W : r->H) + 1)) == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory encoding a photo");
	if (rc != FIC_OK)
		return rc;
	enc_begin(e, quality, out);
	encode_oriented(e, r, orientation >= 1 && orientation <= 8 ? orientation : 1, st->row);
	enc_end(e, out);
	return e->overrun ? fic__err(FIC_ERROR, "internal: rendition rows out of step") : FIC_OK;
}

/* Finish the upload rendition (and the thumbnail); call under setjmp. */
static int finish_outputs(render_state *st, const plan *pl, int orientation, int quality,
                          fic__jpeg_out *upload, int thumb_quality, fic__jpeg_out *thumb)
{
	int rc = FIC_OK;
	if (pl->stream) {
		enc_end(&st->enc_up, upload);
		if (st->enc_up.overrun || st->enc_up.flushed * st->enc_up.bh[0] < pl->dh)
			rc = fic__err(FIC_ERROR, "internal: rendition rows out of step");
	} else {
		rc = encode_buffered(st, &st->enc_up, &st->up, orientation, quality, upload);
	}
	if (rc == FIC_OK && thumb)
		rc = encode_buffered(st, &st->enc_th, &st->th, orientation, thumb_quality, thumb);
	return rc;
}

/* The error a longjmp out of libjpeg means: the decoder's, or an encoder's. */
static int jpeg_failure(render_state *st)
{
	const char *msg = st->enc_up.err.msg[0] ? st->enc_up.err.msg
			  : st->enc_th.err.msg[0] ? st->enc_th.err.msg : st->err.msg;
	bool write = st->enc_up.dest.failed || st->enc_th.dest.failed;
	if (!write && st->err.over_limit)
		return fic__err(FIC_ETOOBIG, "refused: %s", st->err.msg);
	if (!write && st->err.mgr.msg_code == JERR_NO_BACKING_STORE)
		return fic__err(FIC_ETOOBIG, "refused: decoding this %ux%u %s JPEG would need more "
		                "than %lld MiB", st->cinfo.image_width, st->cinfo.image_height,
		                st->cinfo.progressive_mode ? "progressive" : "multi-scan",
		                (long long)FIC_PHOTO_DECODE_MEMORY_MAX >> 20);
	return write ? fic__err(FIC_EIO, "cannot write a rendition: %s", msg)
		     : fic__err(FIC_EINVAL, "not a usable JPEG: %s", msg);
}

int fic__render_with(const fic__rs_kernels *k, FILE *in_fp, const void *data, size_t len,
                     int max_edge, int quality, fic__jpeg_out *upload, int thumb_edge,
                     int thumb_quality, fic__jpeg_out *thumb, fic__exif *exif, int *orig_w,
                     int *orig_h)
{
	memset(exif, 0, sizeof *exif);
	exif->orientation = 1;
	/* All state lives on the heap: it stays defined across the longjmp. Hash
	 * what is written unless the caller will not keep it (render-only calls). */
	render_state *st = render_new(!upload->no_sha256, thumb != NULL && !thumb->no_sha256);
	if (st == NULL)
		return fic__err(FIC_ENOMEM, "out of memory decoding a photo");
	st->k = k ? k : fic__rs_kernels_best();
	struct jpeg_decompress_struct *c = &st->cinfo;
	c->err = jpeg_std_error(&st->err.mgr);
	st->err.mgr.error_exit = jerr_exit;
	st->err.mgr.emit_message = jerr_emit;
	st->err.to = &st->err.jump;
	if (setjmp(st->err.jump)) {
		int rc = jpeg_failure(st);
		render_free(st);
		fic__free(st);
		return rc;
	}
	enc_init_err(&st->enc_up, &st->err.jump);
	enc_init_err(&st->enc_th, &st->err.jump);
	jpeg_create_decompress(c);
	st->created = true;
	limit_decoder(st);
	int rc = set_source(st, in_fp, data, len);
	if (rc == FIC_OK)
		rc = read_header(st, exif, orig_w, orig_h);
	plan pl;
	memset(&pl, 0, sizeof pl);
	if (rc == FIC_OK) {
		int target = choose_scale(st, max_edge);
		jpeg_start_decompress(c);
		rc = prepare_outputs(st, &pl, target, quality, upload, thumb != NULL, thumb_edge,
		                     exif->orientation);
	}
	if (rc == FIC_OK)
		rc = decode(st, &pl);
	if (rc == FIC_OK)
		rc = finish_outputs(st, &pl, exif->orientation, quality, upload, thumb_quality, thumb);
	render_free(st);
	fic__free(st);
	return rc;
}

int fic__render(FILE *in_fp, const void *data, size_t len, int max_edge, int quality,
                fic__jpeg_out *upload, int thumb_edge, int thumb_quality, fic__jpeg_out *thumb,
                fic__exif *exif, int *orig_w, int *orig_h)
{
	return fic__render_with(NULL, in_fp, data, len, max_edge, quality, upload, thumb_edge,
	                        thumb_quality, thumb, exif, orig_w, orig_h);
}
