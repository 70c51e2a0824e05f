/*
 * bench/photo_quality.c — see photo_quality.h.
 */
#include "photo_quality.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>

/* ---- the exact filter: Lanczos-3 weights in double ---- */

typedef struct ftaps {
	int n, len;
	int *first, *count;
	float *w; /* n * len */
} ftaps;

static double lanczos3(double x)
{
	x = fabs(x);
	if (x >= 3)
		return 0;
	if (x < 1e-12)
		return 1;
	return 3 * sin(M_PI * x) * sin(M_PI * x / 3) / (M_PI * M_PI * x * x);
}

static int ftaps_make(ftaps *t, int src, int dst)
{
	double scale = (double)src / dst, stretch = scale > 1 ? scale : 1, radius = 3 * stretch;
	t->n = dst;
	t->len = (int)ceil(2 * radius) + 2;
	t->first = calloc((size_t)dst, sizeof *t->first);
	t->count = calloc((size_t)dst, sizeof *t->count);
	t->w = calloc((size_t)dst * (size_t)t->len, sizeof *t->w);
	if (!t->first || !t->count || !t->w)
		return -1;
	for (int i = 0; i < dst; i++) {
		double c = (i + 0.5) * scale - 0.5, sum = 0, ws[512];
		int lo = (int)floor(c - radius) + 1, hi = (int)ceil(c + radius) - 1;
		int a = lo < 0 ? 0 : lo, b = hi > src - 1 ? src - 1 : hi;
		if (b < a)
			a = b = c < 0 ? 0 : src - 1;
		for (int j = 0; j <= b - a; j++)
			ws[j] = 0;
		for (int x = lo; x <= hi; x++) { /* beyond an edge: the edge sample */
			int at = x < a ? a : x > b ? b : x;
			double v = lanczos3((x - c) / stretch);
			ws[at - a] += v;
			sum += v;
		}
		t->first[i] = a;
		t->count[i] = b - a + 1;
		for (int j = 0; j <= b - a; j++)
			t->w[(size_t)i * (size_t)t->len + (size_t)j] = (float)(ws[j] / sum);
	}
	return 0;
}

static void ftaps_free(ftaps *t)
{
	free(t->first);
	free(t->count);
	free(t->w);
}

/* ---- the reference: decode rows, filter across, keep a ring, filter down ---- */

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	rewind(fp);
	unsigned char *d = n > 0 ? malloc((size_t)n) : NULL;
	if (d && fread(d, 1, (size_t)n, fp) != (size_t)n) {
		free(d);
		d = NULL;
	}
	fclose(fp);
	*len = d ? (size_t)n : 0;
	return d;
}

void pq_planes_free(pq_planes *p)
{
	for (int i = 0; i < 3; i++) {
		free(p->p[i]);
		p->p[i] = NULL;
	}
}

typedef struct ref_state {
	ftaps h, v;
	int ring_rows;
	float *ring;    /* ring_rows rows of 3 * w: the rows filtered across */
	unsigned char *row;
} ref_state;

/* Row y of the decoded image, filtered across into the ring. */
static void across(ref_state *s, const pq_planes *ref, int y)
{
	float *dst = s->ring + (size_t)(y % s->ring_rows) * 3 * (size_t)ref->w;
	for (int x = 0; x < ref->w; x++) {
		const float *w = s->h.w + (size_t)x * (size_t)s->h.len;
		const unsigned char *p = s->row + (size_t)s->h.first[x] * 3;
		double a[3] = { 0, 0, 0 };
		for (int k = 0; k < s->h.count[x]; k++)
			for (int c = 0; c < 3; c++)
				a[c] += w[k] * p[3 * k + c];
		for (int c = 0; c < 3; c++)
			dst[3 * x + c] = (float)a[c];
	}
}

/* Every output row whose rows across have all arrived (`fed` of them). */
static void down(ref_state *s, pq_planes *ref, int fed, int *emitted)
{
	for (; *emitted < ref->h; (*emitted)++) {
		int i = *emitted, first = s->v.first[i], n = s->v.count[i];
		if (first + n > fed)
			return;
		const float *w = s->v.w + (size_t)i * (size_t)s->v.len;
		for (int x = 0; x < ref->w; x++)
			for (int c = 0; c < 3; c++) {
				double a = 0;
				for (int k = 0; k < n; k++)
					a += w[k] * s->ring[(size_t)((first + k) % s->ring_rows) * 3 * (size_t)ref->w +
					                    3 * (size_t)x + (size_t)c];
				ref->p[c][(size_t)i * (size_t)ref->w + (size_t)x] = (float)a;
			}
	}
}

int pq_reference(pq_planes *ref, const char *path, int w, int h)
{
	size_t len;
	unsigned char *data = slurp(path, &len);
	if (data == NULL) {
		fprintf(stderr, "photo_quality: cannot read %s\n", path);
		return -1;
	}
	struct jpeg_decompress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_decompress(&c);
	jpeg_mem_src(&c, data, (unsigned long)len);
	jpeg_read_header(&c, TRUE);
	c.out_color_space = JCS_YCbCr; /* the file's own planes, chroma upsampled smoothly */
	c.dct_method = JDCT_ISLOW;
	jpeg_start_decompress(&c);
	int sw = (int)c.output_width, sh = (int)c.output_height;
	ref_state s;
	memset(&s, 0, sizeof s);
	memset(ref, 0, sizeof *ref);
	ref->w = w;
	ref->h = h;
	int rc = ftaps_make(&s.h, sw, w) || ftaps_make(&s.v, sh, h) ? -1 : 0;
	s.ring_rows = s.v.len + 1;
	s.ring = malloc((size_t)s.ring_rows * 3 * (size_t)w * sizeof *s.ring);
	s.row = malloc((size_t)sw * 3);
	for (int i = 0; i < 3; i++)
		ref->p[i] = malloc((size_t)w * (size_t)h * sizeof(float));
	if (rc || !s.ring || !s.row || !ref->p[0] || !ref->p[1] || !ref->p[2]) {
		fprintf(stderr, "photo_quality: out of memory\n");
		rc = -1;
	}
	int emitted = 0;
	while (rc == 0 && c.output_scanline < c.output_height) {
		int y = (int)c.output_scanline;
		JSAMPROW rp = s.row;
		jpeg_read_scanlines(&c, &rp, 1);
		across(&s, ref, y);
		down(&s, ref, y + 1, &emitted);
	}
	if (rc == 0)
		jpeg_finish_decompress(&c);
	jpeg_destroy_decompress(&c);
	ftaps_free(&s.h);
	ftaps_free(&s.v);
	free(s.ring);
	free(s.row);
	free(data);
	if (rc != 0)
		pq_planes_free(ref);
	return rc;
}

/* ---- the scores ---- */

/* Separable Gaussian (11 taps, sigma 1.5) over the interior: (w-10) x (h-10). */
static void gauss(const float *in, float *out, float *tmp, int w, int h)
{
	double g[11], s = 0;
	for (int i = 0; i < 11; i++)
		s += g[i] = exp(-(i - 5) * (i - 5) / (2 * 1.5 * 1.5));
	int ow = w - 10, oh = h - 10;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < ow; x++) {
			double a = 0;
			for (int k = 0; k < 11; k++)
				a += g[k] * in[(size_t)y * (size_t)w + (size_t)(x + k)];
			tmp[(size_t)y * (size_t)ow + (size_t)x] = (float)(a / s);
		}
	for (int y = 0; y < oh; y++)
		for (int x = 0; x < ow; x++) {
			double a = 0;
			for (int k = 0; k < 11; k++)
				a += g[k] * tmp[(size_t)(y + k) * (size_t)ow + (size_t)x];
			out[(size_t)y * (size_t)ow + (size_t)x] = (float)(a / s);
		}
}

static double ssim(const float *a, const float *b, int w, int h)
{
	size_t n = (size_t)w * (size_t)h, m = (size_t)(w - 10) * (size_t)(h - 10);
	float *prod = malloc(n * sizeof *prod), *tmp = malloc(n * sizeof *tmp), *map[5];
	for (int i = 0; i < 5; i++)
		map[i] = malloc(m * sizeof *map[i]);
	if (!prod || !tmp || !map[0] || !map[1] || !map[2] || !map[3] || !map[4])
		return NAN;
	gauss(a, map[0], tmp, w, h);
	gauss(b, map[1], tmp, w, h);
	for (int pass = 0; pass < 3; pass++) { /* E[a a], E[b b], E[a b] */
		const float *x = pass == 1 ? b : a, *y = pass == 0 ? a : b;
		for (size_t i = 0; i < n; i++)
			prod[i] = x[i] * y[i];
		gauss(prod, map[2 + pass], tmp, w, h);
	}
	const double c1 = 6.5025, c2 = 58.5225; /* (0.01 * 255)^2, (0.03 * 255)^2 */
	double acc = 0;
	for (size_t i = 0; i < m; i++) {
		double ma = map[0][i], mb = map[1][i];
		double va = map[2][i] - ma * ma, vb = map[3][i] - mb * mb, cov = map[4][i] - ma * mb;
		acc += (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
	}
	free(prod);
	free(tmp);
	for (int i = 0; i < 5; i++)
		free(map[i]);
	return acc / (double)m;
}

static double psnr(double se, size_t n)
{
	return 10 * log10(255.0 * 255.0 / (se / (double)n));
}

int pq_score_file(pq_score *out, const pq_planes *ref, const char *path)
{
	memset(out, 0, sizeof *out);
	size_t len;
	unsigned char *data = slurp(path, &len);
	if (data == NULL)
		return -1;
	struct jpeg_decompress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_decompress(&c);
	jpeg_mem_src(&c, data, (unsigned long)len);
	jpeg_read_header(&c, TRUE);
	c.out_color_space = JCS_YCbCr;
	jpeg_start_decompress(&c);
	out->bytes = (long)len;
	out->w = (int)c.output_width;
	out->h = (int)c.output_height;
	int rc = out->w == ref->w && out->h == ref->h && c.output_components == 3 ? 0 : -1;
	size_t n = (size_t)ref->w * (size_t)ref->h;
	float *y = rc == 0 ? malloc(n * sizeof *y) : NULL;
	unsigned char *row = malloc((size_t)out->w * 3);
	double se_y = 0, se_c = 0;
	while (rc == 0 && y && row && c.output_scanline < c.output_height) {
		size_t at = (size_t)c.output_scanline * (size_t)ref->w;
		JSAMPROW rp = row;
		jpeg_read_scanlines(&c, &rp, 1);
		for (int x = 0; x < ref->w; x++) {
			double d0 = ref->p[0][at + (size_t)x] - row[3 * x];
			double d1 = ref->p[1][at + (size_t)x] - row[3 * x + 1];
			double d2 = ref->p[2][at + (size_t)x] - row[3 * x + 2];
			y[at + (size_t)x] = row[3 * x];
			se_y += d0 * d0;
			se_c += d1 * d1 + d2 * d2;
		}
	}
	if (rc == 0 && y && row) {
		jpeg_finish_decompress(&c);
		out->psnr_y = psnr(se_y, n);
		out->psnr_c = psnr(se_c, 2 * n);
		out->ssim_y = ssim(ref->p[0], y, ref->w, ref->h);
	} else {
		rc = -1;
	}
	jpeg_destroy_decompress(&c);
	free(y);
	free(row);
	free(data);
	return rc;
}
