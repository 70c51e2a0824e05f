/*
 * core/render.c — see render.h.
 *
 * The resampling filter is a triangle (tent) whose support is scaled to the
 * reduction factor — antialiased bilinear. After libjpeg's DCT-domain scaling
 * (1/2, 1/4, 1/8, chosen so the decoded image is still at least the target
 * size) the remaining reduction is at most 2×, where a tent keeps fine strokes
 * (the characters on a licence) legible without the ringing halos of Lanczos
 * or the blur of a box average, at a few multiply-adds per sample. It runs in
 * 14-bit fixed point, one decoded row at a time: memory is the rendition's
 * own size plus a ring of a few filtered rows, whatever the photo's size.
 * (Progressive JPEGs are the exception: libjpeg must keep their coefficients,
 * about 2 bytes per pixel; cameras write baseline.)
 */
#include "render.h"

#include <jerror.h>
#include <jpeglib.h>
#include <libexif/exif-data.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define WBITS 14
#define WONE (1 << WBITS)

void fic__image_free(fic__image *img)
{
	if (img) {
		fic__free(img->px);
		img->px = NULL;
	}
}

/* ---- filter weights ---- */

typedef struct taps {
	int n;          /* outputs */
	int max;        /* taps per output */
	int *first;     /* first input index per output */
	int *count;     /* taps used per output */
	int32_t *w;     /* n * max weights, WONE = 1.0 */
} taps;

static void taps_free(taps *t)
{
	fic__free(t->first);
	fic__free(t->count);
	fic__free(t->w);
	memset(t, 0, sizeof *t);
}

/* Tent weights mapping `src` samples onto `dst` (dst <= src). */
static int taps_make(taps *t, int src, int dst)
{
	memset(t, 0, sizeof *t);
	double s = (double)src / dst;
	double support = s > 1 ? s : 1;
	t->n = dst;
	t->max = (int)ceil(2 * support) + 2;
	if (t->max > 64) /* callers keep reductions small (after DCT scaling, <= 2x; thumbnails ~6x) */
		t->max = 64;
	t->first = fic__calloc((size_t)dst, sizeof *t->first);
	t->count = fic__calloc((size_t)dst, sizeof *t->count);
	t->w = fic__calloc((size_t)dst * (size_t)t->max, sizeof *t->w);
	if (!t->first || !t->count || !t->w) {
		taps_free(t);
		return fic__err(FIC_ENOMEM, "out of memory resizing a photo");
	}
	for (int i = 0; i < dst; i++) {
		double center = (i + 0.5) * s - 0.5;
		int lo = (int)floor(center - support) + 1, hi = (int)ceil(center + support) - 1;
		if (lo < 0)
			lo = 0;
		if (hi > src - 1)
			hi = src - 1;
		if (hi - lo + 1 > t->max)
			hi = lo + t->max - 1;
		double ws[64], sum = 0;
		int k = 0;
		for (int x = lo; x <= hi && k < 64; x++, k++) {
			double d = fabs(x - center) / support;
			ws[k] = d < 1 ? 1 - d : 0;
			sum += ws[k];
		}
		if (sum <= 0) { /* cannot happen for dst <= src; keep a sane nearest sample */
			ws[0] = 1;
			sum = 1;
			k = 1;
			lo = (int)fmax(0, fmin(src - 1, floor(center + 0.5)));
		}
		int32_t *w = t->w + (size_t)i * (size_t)t->max;
		int32_t total = 0, big = 0;
		for (int j = 0; j < k; j++) {
			w[j] = (int32_t)lrint(ws[j] / sum * WONE);
			total += w[j];
			if (w[j] > w[big])
				big = j;
		}
		w[big] += WONE - total; /* weights sum to exactly 1 */
		t->first[i] = lo;
		t->count[i] = k;
	}
	return FIC_OK;
}

static inline unsigned char clamp8(int32_t v)
{
	v = (v + (WONE / 2)) >> WBITS;
	return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void filter_row(unsigned char *out, const unsigned char *in, const taps *h, int ch)
{
	for (int x = 0; x < h->n; x++) {
		const int32_t *w = h->w + (size_t)x * (size_t)h->max;
		const unsigned char *p = in + (size_t)h->first[x] * (size_t)ch;
		int n = h->count[x];
		if (ch == 3) {
			int32_t r = 0, g = 0, b = 0;
			for (int k = 0; k < n; k++, p += 3) {
				r += w[k] * p[0];
				g += w[k] * p[1];
				b += w[k] * p[2];
			}
			out[0] = clamp8(r);
			out[1] = clamp8(g);
			out[2] = clamp8(b);
			out += 3;
		} else {
			int32_t v = 0;
			for (int k = 0; k < n; k++)
				v += w[k] * p[k];
			*out++ = clamp8(v);
		}
	}
}

/* ---- streaming resampler: feed source rows, get rows of `dst` filled ---- */

typedef struct resampler {
	int sw, sh, dw, dh, ch;
	taps h, v;
	unsigned char *ring; /* ring_rows rows of dw*ch, horizontally filtered */
	int ring_rows;
	int fed;             /* source rows fed so far */
	int emitted;         /* destination rows written */
	unsigned char *dst;  /* dw*dh*ch */
} resampler;

static void rs_free(resampler *r)
{
	taps_free(&r->h);
	taps_free(&r->v);
	fic__free(r->ring);
	r->ring = NULL;
}

static int rs_init(resampler *r, int sw, int sh, int dw, int dh, int ch, unsigned char *dst)
{
	memset(r, 0, sizeof *r);
	r->sw = sw;
	r->sh = sh;
	r->dw = dw;
	r->dh = dh;
	r->ch = ch;
	r->dst = dst;
	int rc = taps_make(&r->h, sw, dw);
	if (rc == FIC_OK)
		rc = taps_make(&r->v, sh, dh);
	if (rc != FIC_OK) {
		rs_free(r);
		return rc;
	}
	r->ring_rows = r->v.max + 1;
	r->ring = fic__malloc((size_t)r->ring_rows * (size_t)dw * (size_t)ch);
	if (r->ring == NULL) {
		rs_free(r);
		return fic__err(FIC_ENOMEM, "out of memory resizing a photo");
	}
	return FIC_OK;
}

static void rs_feed(resampler *r, const unsigned char *row)
{
	size_t stride = (size_t)r->dw * (size_t)r->ch;
	filter_row(r->ring + (size_t)(r->fed % r->ring_rows) * stride, row, &r->h, r->ch);
	r->fed++;
	/* Emit every destination row whose source rows have all arrived. */
	while (r->emitted < r->dh) {
		int first = r->v.first[r->emitted], n = r->v.count[r->emitted];
		if (first + n > r->fed)
			break;
		const int32_t *w = r->v.w + (size_t)r->emitted * (size_t)r->v.max;
		unsigned char *out = r->dst + (size_t)r->emitted * stride;
		const unsigned char *rows[64];
		for (int k = 0; k < n; k++)
			rows[k] = r->ring + (size_t)((first + k) % r->ring_rows) * stride;
		for (size_t i = 0; i < stride; i++) {
			int32_t acc = 0;
			for (int k = 0; k < n; k++)
				acc += w[k] * rows[k][i];
			out[i] = clamp8(acc);
		}
		r->emitted++;
	}
}

/* ---- libjpeg error handling: longjmp, never exit() ---- */

typedef struct jerr {
	struct jpeg_error_mgr mgr;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
	bool truncated;
} jerr;

static void jerr_exit(j_common_ptr cinfo)
{
	jerr *e = (jerr *)cinfo->err;
	(*cinfo->err->format_message)(cinfo, e->msg);
	longjmp(e->jump, 1);
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

/* ---- decode ---- */

typedef struct decode_state {
	struct jpeg_decompress_struct cinfo;
	jerr err;
	resampler rs;
	unsigned char *row;  /* one decoded row (RGB or grey) */
	unsigned char *px;   /* destination */
	bool created;
} decode_state;

static void decode_cleanup(decode_state *d, bool keep_px)
{
	if (d->created)
		jpeg_destroy_decompress(&d->cinfo);
	rs_free(&d->rs);
	fic__free(d->row);
	if (!keep_px)
		fic__free(d->px);
}

int fic__render_decode(fic__image *out, fic__exif *exif, int *orig_w, int *orig_h, FILE *fp,
                       const void *data, size_t len, int max_edge)
{
	memset(out, 0, sizeof *out);
	memset(exif, 0, sizeof *exif);
	exif->orientation = 1;
	/* All state lives on the heap: it stays defined across the longjmp. */
	decode_state *d = fic__calloc(1, sizeof *d);
	if (d == NULL)
		return fic__err(FIC_ENOMEM, "out of memory decoding a photo");
	d->cinfo.err = jpeg_std_error(&d->err.mgr);
	d->err.mgr.error_exit = jerr_exit;
	d->err.mgr.emit_message = jerr_emit;
	if (setjmp(d->err.jump)) {
		int rc = fic__err(FIC_EINVAL, "not a usable JPEG: %s", d->err.msg);
		decode_cleanup(d, false);
		fic__free(d);
		return rc;
	}
	jpeg_create_decompress(&d->cinfo);
	d->created = true;
	if (fp)
		jpeg_stdio_src(&d->cinfo, fp);
	else
		jpeg_mem_src(&d->cinfo, data, (unsigned long)len);
	jpeg_save_markers(&d->cinfo, JPEG_APP0 + 1, 0xFFFF);
	jpeg_read_header(&d->cinfo, TRUE);
	struct jpeg_decompress_struct *c = &d->cinfo;
	for (jpeg_saved_marker_ptr m = c->marker_list; m; m = m->next)
		if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
			read_exif(exif, m->data, m->data_length);
			break;
		}
	int rc = FIC_OK;
	if (c->image_width == 0 || c->image_height == 0 ||
	    (int64_t)c->image_width * c->image_height > FIC_PHOTO_MAX_PIXELS) {
		rc = fic__err(FIC_EINVAL, "the JPEG claims %ux%u pixels (allowed: 1 to %lld)",
		              c->image_width, c->image_height, (long long)FIC_PHOTO_MAX_PIXELS);
		decode_cleanup(d, false);
		fic__free(d);
		return rc;
	}
	*orig_w = (int)c->image_width;
	*orig_h = (int)c->image_height;
	/* DCT-domain scaling: the smallest decode that is still >= the target. */
	int longest = *orig_w > *orig_h ? *orig_w : *orig_h;
	int target = longest < max_edge ? longest : max_edge;
	c->scale_num = 1;
	c->scale_denom = 1;
	for (int denom = 8; denom >= 2; denom /= 2)
		if ((longest + denom - 1) / denom >= target) {
			c->scale_denom = (unsigned int)denom;
			break;
		}
	bool cmyk = c->jpeg_color_space == JCS_CMYK || c->jpeg_color_space == JCS_YCCK;
	c->out_color_space = c->num_components == 1 ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
	c->dct_method = JDCT_ISLOW;
	jpeg_start_decompress(c);
	int sw = (int)c->output_width, sh = (int)c->output_height, ch = c->out_color_space == JCS_GRAYSCALE ? 1 : 3;
	int slong = sw > sh ? sw : sh;
	int dw = sw, dh = sh;
	if (slong > target) {
		dw = (int)lround((double)sw * target / slong);
		dh = (int)lround((double)sh * target / slong);
		dw = dw < 1 ? 1 : dw;
		dh = dh < 1 ? 1 : dh;
	}
	d->px = fic__malloc((size_t)dw * (size_t)dh * (size_t)ch);
	d->row = fic__malloc((size_t)sw * (size_t)c->output_components);
	if (d->px == NULL || d->row == NULL ||
	    (rc = rs_init(&d->rs, sw, sh, dw, dh, ch, d->px)) != FIC_OK) {
		if (rc == FIC_OK)
			rc = fic__err(FIC_ENOMEM, "out of memory decoding a photo");
		decode_cleanup(d, false);
		fic__free(d);
		return rc;
	}
	while (c->output_scanline < c->output_height) {
		JSAMPROW rp = d->row;
		jpeg_read_scanlines(c, &rp, 1);
		if (cmyk) {
			/* Adobe CMYK is stored inverted: R = C·K/255 (in place, 4 → 3 bytes). */
			unsigned char *p = d->row;
			for (int x = 0; x < sw; x++) {
				unsigned k = p[4 * x + 3];
				p[3 * x + 0] = (unsigned char)(p[4 * x + 0] * k / 255);
				p[3 * x + 1] = (unsigned char)(p[4 * x + 1] * k / 255);
				p[3 * x + 2] = (unsigned char)(p[4 * x + 2] * k / 255);
			}
		}
		rs_feed(&d->rs, d->row);
	}
	jpeg_finish_decompress(c); /* reads to the end marker: stray data shows up here */
	if (d->err.truncated) {
		rc = fic__err(FIC_EINVAL, "the JPEG is damaged or truncated: %s", d->err.msg);
		decode_cleanup(d, false);
		fic__free(d);
		return rc;
	}
	out->w = dw;
	out->h = dh;
	out->ch = ch;
	out->px = d->px;
	out->orientation = exif->orientation;
	decode_cleanup(d, true);
	fic__free(d);
	return FIC_OK;
}

int fic__image_shrink(fic__image *out, const fic__image *in, int max_edge)
{
	memset(out, 0, sizeof *out);
	int longest = in->w > in->h ? in->w : in->h;
	int dw = in->w, dh = in->h;
	if (longest > max_edge) {
		dw = (int)lround((double)in->w * max_edge / longest);
		dh = (int)lround((double)in->h * max_edge / longest);
		dw = dw < 1 ? 1 : dw;
		dh = dh < 1 ? 1 : dh;
	}
	unsigned char *px = fic__malloc((size_t)dw * (size_t)dh * (size_t)in->ch);
	if (px == NULL)
		return fic__err(FIC_ENOMEM, "out of memory making a thumbnail");
	resampler rs;
	int rc = rs_init(&rs, in->w, in->h, dw, dh, in->ch, px);
	if (rc != FIC_OK) {
		fic__free(px);
		return rc;
	}
	size_t stride = (size_t)in->w * (size_t)in->ch;
	for (int y = 0; y < in->h; y++)
		rs_feed(&rs, in->px + (size_t)y * stride);
	rs_free(&rs);
	out->w = dw;
	out->h = dh;
	out->ch = in->ch;
	out->px = px;
	out->orientation = in->orientation;
	return FIC_OK;
}

/* ---- encode with the orientation applied ---- */

typedef struct encode_state {
	struct jpeg_compress_struct cinfo;
	jerr err;
	unsigned char *row;
	unsigned char *mem;
	unsigned long memlen;
	bool created;
} encode_state;

int fic__image_encode(const fic__image *img, int quality, FILE *fp, unsigned char **buf,
                      size_t *buf_len, int *width, int *height)
{
	if (buf) {
		*buf = NULL;
		*buf_len = 0;
	}
	int o = img->orientation >= 1 && img->orientation <= 8 ? img->orientation : 1;
	bool swap = o >= 5;
	int W = swap ? img->h : img->w, H = swap ? img->w : img->h, ch = img->ch;
	encode_state *e = fic__calloc(1, sizeof *e);
	if (e == NULL)
		return fic__err(FIC_ENOMEM, "out of memory encoding a photo");
	e->row = fic__malloc((size_t)W * (size_t)ch);
	if (e->row == NULL) {
		fic__free(e);
		return fic__err(FIC_ENOMEM, "out of memory encoding a photo");
	}
	e->cinfo.err = jpeg_std_error(&e->err.mgr);
	e->err.mgr.error_exit = jerr_exit;
	e->err.mgr.emit_message = jerr_emit;
	if (setjmp(e->err.jump)) {
		int rc = fic__err(FIC_EIO, "cannot write the rendition: %s", e->err.msg);
		if (e->created)
			jpeg_destroy_compress(&e->cinfo);
		free(e->mem); /* jpeg_mem_dest allocates with malloc */
		fic__free(e->row);
		fic__free(e);
		return rc;
	}
	jpeg_create_compress(&e->cinfo);
	e->created = true;
	if (fp)
		jpeg_stdio_dest(&e->cinfo, fp);
	else
		jpeg_mem_dest(&e->cinfo, &e->mem, &e->memlen);
	e->cinfo.image_width = (JDIMENSION)W;
	e->cinfo.image_height = (JDIMENSION)H;
	e->cinfo.input_components = ch;
	e->cinfo.in_color_space = ch == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_set_defaults(&e->cinfo);
	jpeg_set_quality(&e->cinfo, quality, TRUE);
	e->cinfo.optimize_coding = TRUE; /* smaller files over the air */
	e->cinfo.write_JFIF_header = TRUE;
	jpeg_start_compress(&e->cinfo, TRUE);
	size_t stride = (size_t)img->w * (size_t)ch;
	for (int Y = 0; Y < H; Y++) {
		unsigned char *out = e->row;
		if (o == 1) {
			memcpy(out, img->px + (size_t)Y * stride, stride);
		} else {
			for (int X = 0; X < W; X++) {
				int x, y;
				switch (o) {
				case 2: x = img->w - 1 - X; y = Y; break;
				case 3: x = img->w - 1 - X; y = img->h - 1 - Y; break;
				case 4: x = X; y = img->h - 1 - Y; break;
				case 5: x = Y; y = X; break;
				case 6: x = Y; y = img->h - 1 - X; break;
				case 7: x = img->w - 1 - Y; y = img->h - 1 - X; break;
				default: x = img->w - 1 - Y; y = X; break; /* 8 */
				}
				memcpy(out + (size_t)X * (size_t)ch, img->px + (size_t)y * stride + (size_t)x * (size_t)ch,
				       (size_t)ch);
			}
		}
		JSAMPROW rp = out;
		jpeg_write_scanlines(&e->cinfo, &rp, 1);
	}
	jpeg_finish_compress(&e->cinfo);
	jpeg_destroy_compress(&e->cinfo);
	int rc = FIC_OK;
	if (buf) {
		*buf = fic__malloc(e->memlen ? e->memlen : 1);
		if (*buf == NULL) {
			rc = fic__err(FIC_ENOMEM, "out of memory encoding a photo");
		} else {
			memcpy(*buf, e->mem, e->memlen);
			*buf_len = e->memlen;
		}
	}
	free(e->mem);
	fic__free(e->row);
	fic__free(e);
	if (width)
		*width = W;
	if (height)
		*height = H;
	return rc;
}
