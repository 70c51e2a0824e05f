/*
 * core/model/render.c — see render.h.
 *
 * The resampling filter is a triangle (tent) whose support is scaled to the
 * reduction factor — antialiased bilinear. After libjpeg's DCT-domain scaling
 * (1/2, 1/4, 1/8, chosen so the decoded image is still at least the target
 * size) the remaining reduction is at most 2×, where a tent keeps fine strokes
 * (the characters on a licence) legible without the ringing halos of Lanczos
 * or the blur of a box average, at a few multiply-adds per sample. It runs in
 * fixed point (8-bit weights on 16-bit lanes for those 2- and 3-tap filters,
 * a colour pixel decoded as RGBX so its channels are filtered together; 14-bit
 * weights for the larger reductions of thumbnails), one decoded row at a time:
 * memory is the rendition's own size plus a ring of a few decoded rows,
 * whatever the photo's size. The thumbnail is made from the rendition's rows.
 * (Progressive JPEGs are the exception: libjpeg must keep their coefficients,
 * about 2 bytes per pixel; cameras write baseline.)
 */
#include "render.h"

#include <jerror.h>
#include <jpeglib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <libexif/exif-data.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* SSE2 (every x86-64) for the packed horizontal pass; portable code elsewhere. */
#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define FIC_SSE2 1
#else
#define FIC_SSE2 0
#endif

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
	__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FIC_LITTLE_ENDIAN 1
#else
#define FIC_LITTLE_ENDIAN 0
#endif

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
	if (t->max > 64) /* reductions over ~31x (tiny thumbnails of huge photos) use a cut window */
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
		if (hi - lo + 1 > t->max) { /* keep the window centred when it must be cut */
			int mid = (int)lround(center);
			lo = mid - t->max / 2 + 1;
			lo = lo < 0 ? 0 : lo > src - t->max ? src - t->max : lo;
			hi = lo + t->max - 1;
		}
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

/*
 * Tent weights are never negative and sum to exactly WONE, so a weighted sum
 * of bytes is always within 0..255 after rounding: no clamping branch (which
 * the horizontal pass would pay for every sample).
 */
static inline unsigned char clamp8(int32_t v)
{
	return (unsigned char)((uint32_t)(v + (WONE / 2)) >> WBITS);
}

/*
 * 8-bit weights summing to exactly 256, for filters of up to 4 taps (the
 * remaining reduction after DCT scaling is at most 2x: 2 to 4 taps). A sum of
 * bytes weighted so stays within 16 bits (at most 255 * 256 + 128), which is
 * what lets both passes run on 16-bit lanes. Rounding the weights can move an
 * output by at most about one level (1.5 with 4 taps) against exact weights,
 * and on photos by far less: PSNR against a floating-point tent is unchanged.
 */
#define TAPS8 4

static void weights8(const int32_t *w, int n, uint16_t w8[TAPS8])
{
	int total = 0, big = 0;
	for (int k = 0; k < TAPS8; k++)
		w8[k] = 0;
	for (int k = 0; k < n; k++) {
		w8[k] = (uint16_t)((w[k] + 32) >> 6);
		total += w8[k];
		big = w8[k] > w8[big] ? k : big;
	}
	w8[big] = (uint16_t)(w8[big] + 256 - total);
}

/*
 * Two output pixels of the packed horizontal pass: where each one's taps
 * start, in pixels, and, per tap, the two pixels' 8-bit weights, each repeated
 * for the four channels (zero for an unused tap): the layout of one SSE2
 * multiply.
 */
typedef struct hpair {
	uint16_t w[TAPS8][8];
	uint32_t first[2];
} hpair;

/*
 * The horizontal pass for 4-channel (RGBX) rows of 16-bit samples. 8-bit
 * weights summing to 256 keep every weighted sum within 255 * 256 + 128 <
 * 65536, so a pixel's four channels are computed at once on 16-bit lanes:
 * with SSE2, two output pixels per multiply; elsewhere a pixel is one 64-bit
 * word (no carry can cross into the next lane), one multiply per tap.
 */
static void filter_row4(unsigned char *restrict out, const uint16_t *restrict in,
                        const hpair *restrict hp, int n, int ntaps)
{
#if FIC_SSE2
	const __m128i round = _mm_set1_epi16(128);
	for (int x = 0; x < n; x += 2, hp++) {
		const uint16_t *a = in + (size_t)hp->first[0] * 4, *b = in + (size_t)hp->first[1] * 4;
		__m128i s = round;
		for (int k = 0; k < TAPS8; k++) { /* unrolled; the 4th tap only when needed */
			if (k == 3 && ntaps < 4)
				break;
			__m128i p = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(a + 4 * k)),
			                               _mm_loadl_epi64((const __m128i *)(b + 4 * k)));
			s = _mm_add_epi16(s, _mm_mullo_epi16(p, _mm_loadu_si128((const __m128i *)hp->w[k])));
		}
		s = _mm_srli_epi16(s, 8);
		s = _mm_packus_epi16(s, s);
		if (x + 1 < n) {
			_mm_storel_epi64((__m128i *)(out + (size_t)x * 4), s);
		} else {
			uint32_t px = (uint32_t)_mm_cvtsi128_si32(s);
			memcpy(out + (size_t)x * 4, &px, 4);
		}
	}
#else
	const uint64_t lanes = 0x00FF00FF00FF00FFu;
	for (int x = 0; x < n; x++) {
		const hpair *q = hp + x / 2;
		int j = (x & 1) * 4;
		const uint16_t *p = in + (size_t)q->first[x & 1] * 4;
		uint64_t v[TAPS8];
		memcpy(v, p, sizeof v);
		uint64_t s = 0x0080008000800080u; /* rounding */
		for (int k = 0; k < ntaps; k++)
			s += q->w[k][j] * v[k];
		s = (s >> 8) & lanes;
#if FIC_LITTLE_ENDIAN
		s |= s >> 8; /* bytes 0,1: lanes 0,1; bytes 4,5: lanes 2,3 */
		uint32_t px = (uint32_t)(s & 0xFFFFu) | (uint32_t)((s >> 16) & 0xFFFF0000u);
		memcpy(out + (size_t)x * 4, &px, 4);
#else
		uint16_t l[4];
		memcpy(l, &s, sizeof l);
		for (int c = 0; c < 4; c++)
			out[(size_t)x * 4 + (size_t)c] = (unsigned char)l[c];
#endif
	}
#endif
}

/* The general horizontal pass: any channel count, any number of taps. */
static void filter_row(unsigned char *restrict out, const uint16_t *restrict in, const taps *h, int ch)
{
	for (int x = 0; x < h->n; x++) {
		const int32_t *w = h->w + (size_t)x * (size_t)h->max;
		const uint16_t *p = in + (size_t)h->first[x] * (size_t)ch;
		int n = h->count[x];
		for (int c = 0; c < ch; c++) {
			int32_t acc = 0;
			for (int k = 0; k < n; k++)
				acc += w[k] * p[k * ch + c];
			*out++ = clamp8(acc);
		}
	}
}

/* ---- streaming resampler: feed source rows; destination rows are written to
 * `dst` (a whole image) or, if dst is NULL, handed one by one to `emit`; and
 * fed on to `next` (a further, smaller rendition made from these rows) ---- */

typedef void (*emit_fn)(void *arg, const unsigned char *row);

typedef struct resampler {
	int sw, sh, dw, dh, ch;
	taps h, v;
	hpair *hp;           /* the packed horizontal taps (4 channels, <= TAPS8 taps), or NULL */
	int hp_taps;         /* 3 or TAPS8: taps the packed pass computes */
	unsigned char *ring; /* ring_rows source rows of sw*ch */
	int ring_rows;
	int fed;             /* source rows fed so far */
	int emitted;         /* destination rows written */
	uint16_t *tmp;       /* one source-width row filtered vertically, TAPS8 - 1 pixels of padding */
	unsigned char *dst;  /* dw*dh*ch, or NULL */
	unsigned char *row;  /* one destination row when streaming */
	emit_fn emit;
	void *emit_arg;
	struct resampler *next;
} resampler;

static void rs_free(resampler *r)
{
	taps_free(&r->h);
	taps_free(&r->v);
	fic__free(r->hp);
	fic__free(r->ring);
	fic__free(r->tmp);
	fic__free(r->row);
	r->hp = NULL;
	r->ring = r->row = NULL;
	r->tmp = NULL;
}

static int rs_init(resampler *r, int sw, int sh, int dw, int dh, int ch, unsigned char *dst,
                   emit_fn emit, void *emit_arg)
{
	memset(r, 0, sizeof *r);
	r->sw = sw;
	r->sh = sh;
	r->dw = dw;
	r->dh = dh;
	r->ch = ch;
	r->dst = dst;
	r->emit = emit;
	r->emit_arg = emit_arg;
	int rc = taps_make(&r->h, sw, dw);
	if (rc == FIC_OK)
		rc = taps_make(&r->v, sh, dh);
	if (rc != FIC_OK) {
		rs_free(r);
		return rc;
	}
	bool packed = ch == 4;
	r->hp_taps = 3;
	for (int x = 0; x < dw && packed; x++) {
		packed = r->h.count[x] <= TAPS8;
		r->hp_taps = r->h.count[x] > 3 ? TAPS8 : r->hp_taps;
	}
	if (packed) {
		r->hp = fic__calloc(((size_t)dw + 1) / 2, sizeof *r->hp);
		if (r->hp == NULL) {
			rs_free(r);
			return fic__err(FIC_ENOMEM, "out of memory resizing a photo");
		}
		for (int x = 0; x < dw; x++) {
			hpair *q = &r->hp[x / 2];
			uint16_t w8[TAPS8];
			weights8(r->h.w + (size_t)x * (size_t)r->h.max, r->h.count[x], w8);
			q->first[x & 1] = (uint32_t)r->h.first[x];
			for (int k = 0; k < TAPS8; k++)
				for (int c = 0; c < 4; c++)
					q->w[k][(x & 1) * 4 + c] = w8[k];
		}
	}
	/* A slot is reused only when no pending destination row can need it. */
	r->ring_rows = r->v.max + 1;
	r->ring = fic__malloc((size_t)r->ring_rows * (size_t)sw * (size_t)ch);
	/* Unused taps (weight 0) of the packed pass may read TAPS8 - 1 pixels past
	 * the row: zeroed padding. */
	r->tmp = fic__calloc((size_t)(sw + TAPS8 - 1) * (size_t)ch, sizeof *r->tmp);
	if (dst == NULL)
		r->row = fic__malloc((size_t)dw * (size_t)ch);
	if (r->ring == NULL || r->tmp == NULL || (dst == NULL && r->row == NULL)) {
		rs_free(r);
		return fic__err(FIC_ENOMEM, "out of memory resizing a photo");
	}
	return FIC_OK;
}

/* Where the next source row goes (the decoder writes straight into it). */
static unsigned char *rs_slot(resampler *r)
{
	return r->ring + (size_t)(r->fed % r->ring_rows) * (size_t)r->sw * (size_t)r->ch;
}

/* Vertical passes with up to 3 and with 4 taps, on 16-bit lanes (see weights8). */
static void vert3(uint16_t *restrict t, const unsigned char *restrict a, const unsigned char *restrict b,
                  const unsigned char *restrict c, const uint16_t w8[TAPS8], size_t n)
{
	uint16_t wa = w8[0], wb = w8[1], wc = w8[2];
	for (size_t i = 0; i < n; i++)
		t[i] = (uint16_t)((uint16_t)(a[i] * wa + b[i] * wb + c[i] * wc + 128) >> 8);
}

static void vert4(uint16_t *restrict t, const unsigned char *const rows[TAPS8],
                  const uint16_t w8[TAPS8], size_t n)
{
	const unsigned char *restrict a = rows[0], *restrict b = rows[1], *restrict c = rows[2],
			    *restrict d = rows[3];
	uint16_t wa = w8[0], wb = w8[1], wc = w8[2], wd = w8[3];
	for (size_t i = 0; i < n; i++)
		t[i] = (uint16_t)((uint16_t)(a[i] * wa + b[i] * wb + c[i] * wc + d[i] * wd + 128) >> 8);
}

static void rs_feed(resampler *r, const unsigned char *row);

/*
 * The slot is filled: emit every destination row whose source rows have all
 * arrived. Vertical pass first, over whole source rows (a plain loop the
 * compiler vectorises) into a row of 16-bit samples, then the gather-bound
 * horizontal pass over that one combined row — done for destination rows only.
 */
static void rs_commit(resampler *r)
{
	size_t sstride = (size_t)r->sw * (size_t)r->ch, dstride = (size_t)r->dw * (size_t)r->ch;
	r->fed++;
	while (r->emitted < r->dh) {
		int first = r->v.first[r->emitted], n = r->v.count[r->emitted];
		if (first + n > r->fed)
			break;
		const int32_t *w = r->v.w + (size_t)r->emitted * (size_t)r->v.max;
		const unsigned char *rows[64] = { NULL };
		for (int k = 0; k < n; k++)
			rows[k] = r->ring + (size_t)((first + k) % r->ring_rows) * sstride;
		uint16_t *t = r->tmp;
		if (n <= TAPS8) {
			uint16_t w8[TAPS8];
			weights8(w, n, w8);
			if (n <= 3)
				vert3(t, rows[0], rows[n > 1 ? 1 : 0], rows[n - 1], w8, sstride);
			else
				vert4(t, rows, w8, sstride);
		} else {
			for (size_t i = 0; i < sstride; i++) {
				int32_t acc = 0;
				for (int k = 0; k < n; k++)
					acc += w[k] * rows[k][i];
				t[i] = clamp8(acc);
			}
		}
		unsigned char *out = r->dst ? r->dst + (size_t)r->emitted * dstride : r->row;
		if (r->hp)
			filter_row4(out, t, r->hp, r->dw, r->hp_taps);
		else
			filter_row(out, t, &r->h, r->ch);
		if (r->emit)
			r->emit(r->emit_arg, out);
		r->emitted++;
		if (r->next)
			rs_feed(r->next, out);
	}
}

static void rs_feed(resampler *r, const unsigned char *row)
{
	memcpy(rs_slot(r), row, (size_t)r->sw * (size_t)r->ch);
	rs_commit(r);
}

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
	unsigned char *nb = fic__realloc(o->buf, o->len + n);
	if (nb == NULL)
		return false;
	memcpy(nb + o->len, p, n);
	o->buf = nb;
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

/* An encoder in progress; shares the decoder's jump buffer. */
typedef struct encoder {
	struct jpeg_compress_struct c;
	jerr err;
	hash_dest dest;
	bool created, started;
	int W, H, ch, o;          /* displayed size, components, orientation (1 or 2 when streaming) */
	unsigned char *row;       /* one oriented row */
} encoder;

static void enc_init_err(encoder *e, jmp_buf *jump)
{
	e->c.err = jpeg_std_error(&e->err.mgr);
	e->err.mgr.error_exit = jerr_exit;
	e->err.mgr.emit_message = jerr_emit;
	e->err.to = jump;
}

/* Call only under the caller's setjmp. */
static void enc_begin(encoder *e, int W, int H, int ch, int quality, fic__jpeg_out *out)
{
	e->W = W;
	e->H = H;
	e->ch = ch;
	out->len = 0;
	out->width = W;
	out->height = H;
	jpeg_create_compress(&e->c);
	e->created = true;
	e->dest.pub.init_destination = dest_init;
	e->dest.pub.empty_output_buffer = dest_empty;
	e->dest.pub.term_destination = dest_term;
	e->dest.out = out;
	e->c.dest = &e->dest.pub;
	e->c.image_width = (JDIMENSION)W;
	e->c.image_height = (JDIMENSION)H;
	e->c.input_components = ch;
	e->c.in_color_space = ch == 1 ? JCS_GRAYSCALE : JCS_EXT_RGBX;
	jpeg_set_defaults(&e->c);
	jpeg_set_quality(&e->c, quality, TRUE);
	/* Standard Huffman tables: optimised ones would need libjpeg to keep the whole
	 * image's coefficients (memory the size of the rendition) for 4-6 % fewer bytes. */
	e->c.optimize_coding = FALSE;
	e->c.write_JFIF_header = TRUE;
	jpeg_start_compress(&e->c, TRUE);
	e->started = true;
}

static void enc_row(encoder *e, const unsigned char *row)
{
	JSAMPROW rp = (JSAMPROW)row;
	jpeg_write_scanlines(&e->c, &rp, 1);
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

/* Encode a whole buffered image with its orientation applied (call under setjmp). */
static void enc_image(encoder *e, const fic__image *img, int quality, fic__jpeg_out *out)
{
	int o = img->orientation >= 1 && img->orientation <= 8 ? img->orientation : 1;
	bool swap = o >= 5;
	int W = swap ? img->h : img->w, H = swap ? img->w : img->h, ch = img->ch;
	enc_begin(e, W, H, ch, quality, out);
	size_t stride = (size_t)img->w * (size_t)ch;
	for (int Y = 0; Y < H; Y++) {
		unsigned char *row = e->row;
		if (o == 1) {
			row = img->px + (size_t)Y * stride;
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
				memcpy(row + (size_t)X * (size_t)ch, img->px + (size_t)y * stride + (size_t)x * (size_t)ch,
				       (size_t)ch);
			}
		}
		enc_row(e, row);
	}
	enc_end(e, out);
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

/* ---- decode once, write both renditions ---- */

typedef struct render_state {
	struct jpeg_decompress_struct cinfo;
	jerr err;
	bool created;
	resampler up, th;
	file_src src;
	fic__image upimg, thimg;  /* buffered renditions (upload only when rotated) */
	encoder enc_up, enc_th;
	int mirror;               /* orientation 2: flip each streamed row */
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

static void stream_row(void *arg, const unsigned char *row)
{
	render_state *st = arg;
	encoder *e = &st->enc_up;
	if (st->mirror) {
		int ch = e->ch;
		for (int x = 0; x < e->W; x++)
			memcpy(e->row + (size_t)x * (size_t)ch, row + (size_t)(e->W - 1 - x) * (size_t)ch,
			       (size_t)ch);
		enc_row(e, e->row);
	} else {
		enc_row(e, row);
	}
}

static void enc_free(encoder *e)
{
	if (e->created)
		jpeg_destroy_compress(&e->c);
	EVP_MD_CTX_free(e->dest.md);
	fic__free(e->row);
	e->created = false;
	e->dest.md = NULL;
	e->row = NULL;
}

static void render_free(render_state *st)
{
	if (st->created)
		jpeg_destroy_decompress(&st->cinfo);
	rs_free(&st->up);
	rs_free(&st->th);
	fic__free(st->src.buf);
	fic__image_free(&st->upimg);
	fic__image_free(&st->thimg);
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

/* Decode parameters for a rendition of at most `max_edge`; returns the target edge. */
static int choose_scale(struct jpeg_decompress_struct *c, int max_edge)
{
	int longest = (int)(c->image_width > c->image_height ? c->image_width : c->image_height);
	int target = longest < max_edge ? longest : max_edge;
	/* DCT-domain scaling: the smallest decode that is still >= the target. */
	c->scale_num = 1;
	c->scale_denom = 1;
	for (int denom = 8; denom >= 2; denom /= 2)
		if ((longest + denom - 1) / denom >= target) {
			c->scale_denom = (unsigned int)denom;
			break;
		}
	bool cmyk = c->jpeg_color_space == JCS_CMYK || c->jpeg_color_space == JCS_YCCK;
	/* Colour as RGBX: four bytes a pixel let the horizontal pass handle a pixel
	 * as one word (filter_row4); the encoder takes RGBX as it is. */
	c->out_color_space = c->num_components == 1 ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_EXT_RGBX;
	c->dct_method = JDCT_ISLOW;
	/* Chroma is upsampled by replication (libjpeg-turbo's merged upsample + colour
	 * conversion) when we shrink afterwards anyway: our filter then averages it, so
	 * the triangle ("fancy") upsampling would cost time for no visible gain. */
	c->do_fancy_upsampling = target < longest / (int)c->scale_denom ? FALSE : TRUE;
	return target;
}

/* The sizes the renditions come out at. */
typedef struct plan {
	int sw, sh, ch;   /* as decoded */
	int dw, dh;       /* the upload rendition */
	int tw, th;       /* the thumbnail (0 without one) */
	bool stream;      /* orientation 1 or 2: rows go straight to the encoder */
} plan;

/* Set up the resamplers (and the streaming encoder) for `pl`. */
static int prepare_outputs(render_state *st, plan *pl, int target, int quality,
                           fic__jpeg_out *upload, bool thumb, int thumb_edge, int orientation)
{
	int rc = FIC_OK;
	fit(pl->sw, pl->sh, target, &pl->dw, &pl->dh);
	pl->stream = orientation == 1 || orientation == 2;
	st->mirror = orientation == 2;
	size_t ch = (size_t)pl->ch;
	if (pl->stream) {
		st->enc_up.row = fic__malloc((size_t)pl->dw * ch);
		if (st->enc_up.row == NULL ||
		    (rc = rs_init(&st->up, pl->sw, pl->sh, pl->dw, pl->dh, pl->ch, NULL, stream_row, st)) !=
		            FIC_OK)
			return rc ? rc : fic__err(FIC_ENOMEM, "out of memory");
		enc_begin(&st->enc_up, pl->dw, pl->dh, pl->ch, quality, upload);
	} else {
		st->upimg.px = fic__malloc((size_t)pl->dw * (size_t)pl->dh * ch);
		if (st->upimg.px == NULL ||
		    (rc = rs_init(&st->up, pl->sw, pl->sh, pl->dw, pl->dh, pl->ch, st->upimg.px, NULL,
		                  NULL)) != FIC_OK)
			return rc ? rc : fic__err(FIC_ENOMEM, "out of memory");
	}
	if (!thumb)
		return FIC_OK;
	/* Made from the upload rendition's rows as they come out: a quarter fewer
	 * rows and columns to filter than the decoded image, for the same result. */
	fit(pl->dw, pl->dh, thumb_edge < target ? thumb_edge : target, &pl->tw, &pl->th);
	st->thimg.px = fic__malloc((size_t)pl->tw * (size_t)pl->th * ch);
	if (st->thimg.px == NULL ||
	    (rc = rs_init(&st->th, pl->dw, pl->dh, pl->tw, pl->th, pl->ch, st->thimg.px, NULL, NULL)) !=
	            FIC_OK)
		return rc ? rc : fic__err(FIC_ENOMEM, "out of memory");
	st->up.next = &st->th;
	return FIC_OK;
}

/* Adobe CMYK is stored inverted (R = C·K/255); plain CMYK is not. In place, to RGBX. */
static void cmyk_to_rgbx(unsigned char *p, int w, bool inverted)
{
	for (int x = 0; x < w; x++, p += 4) {
		unsigned k = inverted ? p[3] : 255u - p[3];
		for (int q = 0; q < 3; q++) {
			unsigned v = inverted ? p[q] : 255u - p[q];
			p[q] = (unsigned char)(v * k / 255);
		}
		p[3] = 255;
	}
}

/* Every scanline, straight into the resampler's ring (no copy). */
static int decode_rows(render_state *st, int sw)
{
	struct jpeg_decompress_struct *c = &st->cinfo;
	bool cmyk = c->out_color_space == JCS_CMYK;
	while (c->output_scanline < c->output_height) {
		JSAMPROW rp = rs_slot(&st->up);
		jpeg_read_scanlines(c, &rp, 1);
		if (cmyk)
			cmyk_to_rgbx(rp, sw, c->saw_Adobe_marker);
		rs_commit(&st->up);
	}
	jpeg_finish_decompress(c); /* reads to the end marker: stray data shows up here */
	if (st->err.truncated)
		return fic__err(FIC_EINVAL, "the JPEG is damaged or truncated: %s", st->err.msg);
	return FIC_OK;
}

/* Encode a buffered rendition, applying its EXIF orientation. */
static int encode_buffered(encoder *e, fic__image *img, int w, int h, int ch, int orientation,
                           int quality, fic__jpeg_out *out)
{
	img->w = w;
	img->h = h;
	img->ch = ch;
	img->orientation = orientation;
	e->row = fic__malloc((size_t)(w > h ? w : h) * (size_t)ch);
	if (e->row == NULL)
		return fic__err(FIC_ENOMEM, "out of memory encoding a photo");
	enc_image(e, img, quality, out);
	return FIC_OK;
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

int fic__render(FILE *in_fp, const void *data, size_t len, int max_edge, int quality,
                fic__jpeg_out *upload, int thumb_edge, int thumb_quality, fic__jpeg_out *thumb,
                fic__exif *exif, int *orig_w, int *orig_h)
{
	memset(exif, 0, sizeof *exif);
	exif->orientation = 1;
	/* All state lives on the heap: it stays defined across the longjmp. Hash
	 * what is written unless the caller will not keep it (render-only calls). */
	render_state *st = render_new(!upload->no_sha256, thumb != NULL && !thumb->no_sha256);
	if (st == NULL)
		return fic__err(FIC_ENOMEM, "out of memory decoding a photo");
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
		int target = choose_scale(c, max_edge);
		jpeg_start_decompress(c);
		pl.sw = (int)c->output_width;
		pl.sh = (int)c->output_height;
		pl.ch = c->out_color_space == JCS_GRAYSCALE ? 1 : 4;
		rc = prepare_outputs(st, &pl, target, quality, upload, thumb != NULL, thumb_edge,
		                     exif->orientation);
	}
	if (rc == FIC_OK)
		rc = decode_rows(st, pl.sw);
	if (rc == FIC_OK && pl.stream)
		enc_end(&st->enc_up, upload);
	else if (rc == FIC_OK)
		rc = encode_buffered(&st->enc_up, &st->upimg, pl.dw, pl.dh, pl.ch, exif->orientation,
		                     quality, upload);
	if (rc == FIC_OK && thumb)
		rc = encode_buffered(&st->enc_th, &st->thimg, pl.tw, pl.th, pl.ch, exif->orientation,
		                     thumb_quality, thumb);
	render_free(st);
	fic__free(st);
	return rc;
}
