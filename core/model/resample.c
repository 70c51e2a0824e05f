/*
 * core/model/resample.c — see resample.h: the filter weights, the streaming
 * plane resampler, and the portable kernels every SIMD version must match.
 *
 * Separable: each destination row is first the weighted sum of its source
 * rows (the vertical pass, over whole rows: a plain loop of multiply-adds
 * the compiler or SIMD code runs many samples at a time), then each
 * destination sample the weighted sum of that row's samples (the horizontal
 * pass: one vector multiply-add per output for up to eight taps). Weights
 * are computed once per plane in floating point and kept in Q14; all the
 * per-sample work is integer, so every implementation gives the same bytes.
 */
#include "resample.h"

#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the portable kernels: the reference arithmetic (resample.h) ---- */

/* floor(a * b / 65536), exactly, without shifting a negative number. */
static inline int32_t mulhi(int32_t a, int32_t b)
{
	return (int32_t)((uint32_t)(a * b + (1 << 30)) >> 16) - (1 << 14);
}

/* clamp(floor((acc + 2^18) / 2^19), 0, 255), for |acc| < 2^29. */
static inline uint8_t round8(int32_t acc)
{
	int32_t v = (int32_t)((uint32_t)(acc + (1 << (FIC_RS_HBITS - 1)) + (1 << 29)) >> FIC_RS_HBITS) -
	            (1 << (29 - FIC_RS_HBITS));
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void widen_portable(int16_t *out, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (int16_t)(in[i] << FIC_RS_VSHIFT);
}

static void widen2_portable(int16_t *out, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (int16_t)((in[2 * i] + in[2 * i + 1]) << (FIC_RS_VSHIFT - 1));
}

static void vert_portable(int16_t *out, const int16_t *const *rows, const int16_t *w, int taps,
                          int16_t bias, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int32_t t = bias;
		for (int k = 0; k < taps; k++)
			t += mulhi(rows[k][i], w[k]);
		out[i] = (int16_t)t;
	}
}

static void horiz_portable(uint8_t *out, const int16_t *in, const int32_t *first, const int16_t *w,
                           int len, int n)
{
	for (int x = 0; x < n; x++) {
		const int16_t *p = in + first[x], *q = w + (size_t)x * (size_t)len;
		int32_t acc = 0;
		for (int k = 0; k < len; k++)
			acc += (int32_t)p[k] * q[k];
		out[x] = round8(acc);
	}
}

static const fic__rs_kernels portable = { "portable", widen_portable, widen2_portable, vert_portable,
	                                          horiz_portable };

const fic__rs_kernels *fic__rs_kernels_portable(void)
{
	return &portable;
}

const fic__rs_kernels *fic__rs_kernels_best(void)
{
#if defined(__aarch64__)
	return fic__rs_kernels_neon(); /* NEON is part of every AArch64 processor */
#else
	const fic__rs_kernels *k = fic__rs_kernels_avx2();
	if (k == NULL)
		k = fic__rs_kernels_sse2();
	return k ? k : &portable;
#endif
}

/* ---- filter weights ---- */

static double sinc(double x)
{
	if (fabs(x) < 1e-9)
		return 1;
	x *= M_PI;
	return sin(x) / x;
}

static double filter_at(fic__rs_filter f, double x)
{
	x = fabs(x);
	if (f == FIC__RS_LANCZOS3)
		return x < 3 ? sinc(x) * sinc(x / 3) : 0;
	return x < 1 ? 1 - x : 0;
}

static double filter_radius(fic__rs_filter f)
{
	return f == FIC__RS_LANCZOS3 ? 3 : 1;
}

void fic__rs_taps_free(fic__rs_taps *t)
{
	fic__free(t->first);
	fic__free(t->count);
	fic__free(t->w);
	memset(t, 0, sizeof *t);
}

/* One output's weights in double, folded onto the edges; *lo, *n: where they sit. */
static void output_weights(double *ws, int *lo_out, int *n_out, int src, double center,
                           double stretch, int maxn, fic__rs_filter f)
{
	double radius = filter_radius(f) * stretch;
	int lo = (int)floor(center - radius) + 1, hi = (int)ceil(center + radius) - 1;
	while (hi - lo + 1 > maxn) { /* a huge reduction: a cut window; drop the farthest */
		if (center - lo > hi - center)
			lo++;
		else
			hi--;
	}
	int a = lo < 0 ? 0 : lo > src - 1 ? src - 1 : lo;
	int b = hi > src - 1 ? src - 1 : hi < 0 ? 0 : hi;
	for (int j = 0; j <= b - a; j++)
		ws[j] = 0;
	for (int x = lo; x <= hi; x++) {
		int at = x < 0 ? 0 : x > src - 1 ? src - 1 : x; /* beyond an edge: the edge sample */
		ws[at - a] += filter_at(f, (x - center) / stretch);
	}
	*lo_out = a;
	*n_out = b - a + 1;
}

/* Q14 weights summing to exactly 1 << 14 (the remainder on the largest). */
static void quantise(int16_t *w, const double *ws, int n)
{
	double sum = 0;
	for (int j = 0; j < n; j++)
		sum += ws[j];
	if (fabs(sum) < 1e-12) { /* cannot happen for these filters; keep a sane sample */
		w[0] = 1 << FIC_RS_WBITS;
		return;
	}
	int32_t total = 0;
	int big = 0;
	for (int j = 0; j < n; j++) {
		w[j] = (int16_t)lrint(ws[j] / sum * (1 << FIC_RS_WBITS));
		total += w[j];
		big = abs(w[j]) > abs(w[big]) ? j : big;
	}
	w[big] = (int16_t)(w[big] + (1 << FIC_RS_WBITS) - total);
}

/* The smallest period (in outputs) after which the filter's phase repeats
 * (scale * period a whole number of inputs), or 0 if none up to 64. */
static int phase_period(double scale, int *step)
{
	for (int q = 1; q <= 64; q++) {
		double v = scale * q;
		if (fabs(v - floor(v + 0.5)) < 1e-9) {
			*step = (int)floor(v + 0.5);
			return q;
		}
	}
	return 0;
}

int fic__rs_taps_make(fic__rs_taps *t, int src, int dst, double scale, fic__rs_filter f)
{
	memset(t, 0, sizeof *t);
	double stretch = scale > 1 ? scale : 1;
	/* At most ceil(2R) inputs lie strictly within R of a centre (the filter
	 * is zero at R); float rounding beyond that only drops a zero weight. */
	int maxn = (int)ceil(2 * filter_radius(f) * stretch - 1e-9);
	maxn = maxn > FIC_RS_MAX_TAPS ? FIC_RS_MAX_TAPS : maxn < 1 ? 1 : maxn;
	t->n = dst;
	t->len = maxn <= 4 ? 4 : (maxn + 7) / 8 * 8;
	t->first = fic__calloc((size_t)dst, sizeof *t->first);
	t->count = fic__calloc((size_t)dst, sizeof *t->count);
	t->w = fic__calloc((size_t)dst * (size_t)t->len, sizeof *t->w);
	if (!t->first || !t->count || !t->w) {
		fic__rs_taps_free(t);
		return fic__err(FIC_ENOMEM, "out of memory resizing a photo");
	}
	/* Away from the edges, output i + period has output i's weights, `step`
	 * inputs on (2000 -> 1600: every 4th): computed once, copied after. */
	int step = 0, period = phase_period(scale, &step);
	double ws[FIC_RS_MAX_TAPS];
	for (int i = 0; i < dst; i++) {
		size_t len = (size_t)t->len;
		int j = i - period;
		if (period && j >= 0 && t->first[j] > 0 && t->first[j] + step + t->len < src) {
			memcpy(t->w + (size_t)i * len, t->w + (size_t)j * len, len * sizeof *t->w);
			t->first[i] = t->first[j] + step;
			t->count[i] = t->count[j];
			continue;
		}
		int lo, n;
		output_weights(ws, &lo, &n, src, (i + 0.5) * scale - 0.5, stretch, maxn, f);
		quantise(t->w + (size_t)i * len, ws, n);
		t->first[i] = lo;
		t->count[i] = (int16_t)n;
	}
	return FIC_OK;
}

/* ---- the streaming plane resampler ---- */

static size_t padded(int n)
{
	return ((size_t)n + FIC_RS_ALIGN - 1) / FIC_RS_ALIGN * FIC_RS_ALIGN;
}

void fic__plane_rs_free(fic__plane_rs *r)
{
	fic__rs_taps_free(&r->h);
	fic__rs_taps_free(&r->v);
	fic__free(r->ring);
	fic__free(r->tmp);
	fic__free(r->in);
	fic__free(r->out);
	r->ring = r->tmp = NULL;
	r->in = r->out = NULL;
}

int fic__plane_rs_init(fic__plane_rs *r, int sw, int sh, int dw, int dh, double sx, double sy,
                       fic__rs_filter f, const fic__rs_kernels *k, int plane, fic__rs_emit emit,
                       void *arg)
{
	memset(r, 0, sizeof *r);
	r->sw = sw;
	r->sh = sh;
	r->dw = dw;
	r->dh = dh;
	r->plane = plane;
	r->k = k;
	r->emit = emit;
	r->arg = arg;
	r->halve = f == FIC__RS_TENT && sx >= 2;
	int hw = r->halve ? (sw + 1) / 2 : sw; /* samples along a row after halving */
	int rc = fic__rs_taps_make(&r->h, hw, dw, r->halve ? sx / 2 : sx, f);
	if (rc == FIC_OK)
		rc = fic__rs_taps_make(&r->v, sh, dh, sy, f);
	if (rc != FIC_OK) {
		fic__plane_rs_free(r);
		return rc;
	}
	/* A slot is reused only when no pending destination row can need it. */
	r->ring_rows = r->v.len + 1;
	r->stride = padded(hw);
	r->ring = fic__calloc((size_t)r->ring_rows * r->stride, sizeof *r->ring);
	/* The horizontal taps of the last outputs may reach h.len samples past the
	 * row (with zero weights): padding. */
	r->tmp = fic__calloc(r->stride + (size_t)r->h.len, sizeof *r->tmp);
	r->in = fic__calloc((size_t)sw + FIC_RS_ROW_SLACK, 1);
	r->out = fic__malloc((size_t)dw + 1);
	if (!r->ring || !r->tmp || !r->in || !r->out) {
		fic__plane_rs_free(r);
		return fic__err(FIC_ENOMEM, "out of memory resizing a photo");
	}
	return FIC_OK;
}

/* Every destination row whose source rows have all arrived. */
static void emit_ready(fic__plane_rs *r)
{
	while (r->emitted < r->dh) {
		int first = r->v.first[r->emitted], n = r->v.count[r->emitted];
		if (first + n > r->fed)
			break;
		const int16_t *rows[FIC_RS_MAX_TAPS];
		for (int j = 0; j < n; j++)
			rows[j] = r->ring + (size_t)((first + j) % r->ring_rows) * r->stride;
		/* Each product is floored: on average half a unit each, given back. */
		r->k->vert(r->tmp, rows, r->v.w + (size_t)r->emitted * (size_t)r->v.len, n,
		           (int16_t)(n / 2), r->stride);
		r->k->horiz(r->out, r->tmp, r->h.first, r->h.w, r->h.len, r->dw);
		r->emit(r->arg, r->plane, r->emitted, r->out);
		r->emitted++;
	}
}

void fic__plane_rs_feed_padded(fic__plane_rs *r, uint8_t *row)
{
	if (r->fed >= r->sh)
		return; /* a decoder's padding row past the plane */
	int16_t *slot = r->ring + (size_t)(r->fed % r->ring_rows) * r->stride;
	if (r->halve) {
		row[r->sw] = row[r->sw - 1]; /* an odd row's last sample pairs with itself */
		r->k->widen2(slot, row, r->stride);
	} else {
		r->k->widen(slot, row, r->stride);
	}
	r->fed++;
	emit_ready(r);
}

void fic__plane_rs_feed(fic__plane_rs *r, const uint8_t *row)
{
	memcpy(r->in, row, (size_t)r->sw);
	fic__plane_rs_feed_padded(r, r->in);
}
