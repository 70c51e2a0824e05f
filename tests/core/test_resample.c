/*
 * tests/core/test_resample.c — the photo resampler (core/model/resample.h):
 * every SIMD kernel set gives the portable kernels' bytes, on random rows
 * and on whole renditions; the weights keep the bounds the integer
 * arithmetic relies on; flat stays flat and the identity is exact.
 *
 * A kernel set this machine lacks (AVX2 on an old CPU; SSE2 and AVX2 on
 * arm64, NEON on x86-64) is reported as skipped, not passed silently: the
 * arm64 build runs these tests under qemu-aarch64 (scripts/test-arm64.sh),
 * where the NEON kernels are the ones compared, and a build with no SIMD set
 * at all fails the comparison tests rather than comparing nothing.
 */
#include "testutil.h"
#include "internal.h"
#include "model/resample.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#define MAX_SETS 3

/* The SIMD kernel sets this build and machine have. */
static int simd_sets(const fic__rs_kernels *out[MAX_SETS])
{
	int n = 0;
	if (fic__rs_kernels_sse2())
		out[n++] = fic__rs_kernels_sse2();
	if (fic__rs_kernels_avx2())
		out[n++] = fic__rs_kernels_avx2();
#if defined(__aarch64__)
	out[n++] = fic__rs_kernels_neon();
#endif
	print_message("[  NOTE    ] SIMD kernel sets compared with the portable ones:");
	for (int i = 0; i < n; i++)
		print_message(" %s", out[i]->name);
	print_message("%s (best: %s)\n", n ? "" : " none", fic__rs_kernels_best()->name);
	/* x86-64 always has SSE2 and arm64 always NEON: nothing to compare is a broken build. */
	if (n == 0)
		fail_msg("no SIMD kernel set in this build: nothing is compared");
	return n;
}

static uint32_t rng = 12345;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Bytes: random, or the extremes that make the most ringing (0/255 edges). */
static void fill(uint8_t *p, size_t n, int kind)
{
	for (size_t i = 0; i < n; i++)
		p[i] = kind == 0 ? (uint8_t)next() : kind == 1 ? ((i / 3) % 2 ? 255 : 0) : (uint8_t)(kind == 2 ? 255 : 0);
}

static void kernels_give_the_portable_bytes_on_random_rows(void **state)
{
	(void)state;
	const fic__rs_kernels *sets[MAX_SETS], *ref = fic__rs_kernels_portable();
	int nsets = simd_sets(sets);
	static const double scales[] = { 1.0, 1.25, 1.6, 2.0, 2.5, 3.3, 5.0, 25.0, 0.5 };
	for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++) {
		for (int f = 0; f < 2; f++) {
			fic__rs_filter filt = f ? FIC__RS_LANCZOS3 : FIC__RS_TENT;
			int src = 1000 + (int)(next() % 37), dst = (int)(src / scales[si]);
			fic__rs_taps t;
			assert_int_equal(fic__rs_taps_make(&t, src, dst, (double)src / dst, filt), FIC_OK);
			size_t n = ((size_t)src + 15) / 16 * 16;
			uint8_t *in = calloc(2 * n + 64, 1), *o1 = calloc((size_t)dst + 1, 1), *o2 = calloc((size_t)dst + 1, 1);
			int16_t *rows[FIC_RS_MAX_TAPS], *w1 = calloc(n + (size_t)t.len, 2), *w2 = calloc(n + (size_t)t.len, 2);
			for (int k = 0; k < t.len; k++)
				rows[k] = calloc(n, 2);
			for (int kind = 0; kind < 4; kind++) {
				fill(in, 2 * n, kind);
				for (int s = 0; s < nsets; s++) {
					/* widen, widen2 */
					ref->widen(w1, in, n);
					sets[s]->widen(w2, in, n);
					assert_memory_equal(w1, w2, n * 2);
					ref->widen2(w1, in, n);
					sets[s]->widen2(w2, in, n);
					assert_memory_equal(w1, w2, n * 2);
					/* vertical: the taps of a few outputs over widened rows */
					for (int k = 0; k < t.len; k++) {
						fill(in, n, kind == 1 ? 1 : 0);
						ref->widen(rows[k], in, n);
					}
					for (int i = 0; i < dst; i += 1 + dst / 7) {
						const int16_t *w = t.w + (size_t)i * (size_t)t.len;
						ref->vert(w1, (const int16_t *const *)rows, w, t.count[i], (int16_t)(t.count[i] / 2), n);
						sets[s]->vert(w2, (const int16_t *const *)rows, w, t.count[i], (int16_t)(t.count[i] / 2), n);
						assert_memory_equal(w1, w2, n * 2);
					}
					/* horizontal, over a vertically filtered row */
					ref->horiz(o1, w1, t.first, t.w, t.len, dst);
					sets[s]->horiz(o2, w1, t.first, t.w, t.len, dst);
					if (memcmp(o1, o2, (size_t)dst) != 0)
						fail_msg("%s horiz differs: scale %.2f filter %d kind %d", sets[s]->name, scales[si], f,
						         kind);
				}
			}
			for (int k = 0; k < t.len; k++)
				free(rows[k]);
			free(in);
			free(o1);
			free(o2);
			free(w1);
			free(w2);
			fic__rs_taps_free(&t);
		}
	}
}

static void weights_sum_to_one_and_stay_within_the_bounds(void **state)
{
	(void)state;
	static const int sizes[][2] = { { 2000, 1600 }, { 4000, 1600 }, { 1000, 800 }, { 1600, 320 },
		                        { 1600, 64 },   { 33, 33 },     { 17, 9 },    { 1, 1 },
		                        { 800, 1600 },  { 4001, 1600 } };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		for (int f = 0; f < 2; f++) {
			int src = sizes[i][0], dst = sizes[i][1];
			fic__rs_taps t;
			assert_int_equal(fic__rs_taps_make(&t, src, dst, (double)src / dst,
			                                   f ? FIC__RS_LANCZOS3 : FIC__RS_TENT),
			                 FIC_OK);
			assert_true(t.len == 4 || t.len % 8 == 0);
			for (int x = 0; x < dst; x++) {
				const int16_t *w = t.w + (size_t)x * (size_t)t.len;
				int32_t sum = 0, abs_sum = 0;
				for (int k = 0; k < t.len; k++) {
					sum += w[k];
					abs_sum += abs(w[k]);
					if (k >= t.count[x])
						assert_int_equal(w[k], 0);
				}
				assert_int_equal(sum, 1 << FIC_RS_WBITS);
				/* |t| < 2^14 and the horizontal sums < 2^29 hold while sum|w| < 1.9 */
				assert_true(abs_sum < (int32_t)(1.9 * (1 << FIC_RS_WBITS)));
				assert_true(t.first[x] >= 0 && t.first[x] + t.count[x] <= src);
			}
			fic__rs_taps_free(&t);
		}
	}
}

typedef struct sink {
	uint8_t *px;
	int w;
} sink;

static void keep_row(void *arg, int plane, int y, const uint8_t *row)
{
	(void)plane;
	sink *s = arg;
	memcpy(s->px + (size_t)y * (size_t)s->w, row, (size_t)s->w);
}

/* A sw x sh plane, `src` or all `value` if src is NULL, to dw x dh with the
 * kernels `k` (NULL: the best). */
static uint8_t *resample_plane_with(const fic__rs_kernels *k, int sw, int sh, int dw, int dh,
                                    fic__rs_filter f, int value, const uint8_t *src)
{
	sink s = { calloc((size_t)dw * (size_t)dh, 1), dw };
	fic__plane_rs r;
	assert_int_equal(fic__plane_rs_init(&r, sw, sh, dw, dh, (double)sw / dw, (double)sh / dh, f,
	                                    k ? k : fic__rs_kernels_best(), 0, keep_row, &s),
	                 FIC_OK);
	uint8_t *row = malloc((size_t)sw);
	for (int y = 0; y < sh; y++) {
		if (src)
			memcpy(row, src + (size_t)y * (size_t)sw, (size_t)sw);
		else
			memset(row, value, (size_t)sw);
		fic__plane_rs_feed(&r, row);
	}
	assert_int_equal(r.emitted, dh);
	fic__plane_rs_free(&r);
	free(row);
	return s.px;
}

static uint8_t *resample_plane(int sw, int sh, int dw, int dh, fic__rs_filter f, int value,
                               const uint8_t *src)
{
	return resample_plane_with(NULL, sw, sh, dw, dh, f, value, src);
}

/* Whole planes of many sizes — widths that leave every tail of the kernels'
 * blocks (x % 4, x % 16), tiny ones, 1:1, enlargements and the large
 * reductions where chroma is halved first — give the portable bytes. */
static void planes_of_many_sizes_are_byte_identical(void **state)
{
	(void)state;
	const fic__rs_kernels *sets[MAX_SETS];
	int nsets = simd_sets(sets);
	static const int sizes[][4] = {
		{ 1, 1, 1, 1 },       { 2, 3, 1, 1 },      { 17, 9, 5, 3 },      { 31, 29, 31, 29 },
		{ 33, 20, 17, 10 },   { 47, 61, 13, 19 },  { 100, 75, 64, 48 },  { 129, 97, 101, 77 },
		{ 255, 17, 63, 5 },   { 300, 200, 601, 401 }, { 641, 480, 160, 120 }, { 997, 13, 320, 4 },
		{ 1000, 750, 123, 92 }, { 1601, 9, 1600, 9 }, { 2050, 31, 64, 3 },  { 4000, 8, 1600, 3 },
	};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		int sw = sizes[i][0], sh = sizes[i][1], dw = sizes[i][2], dh = sizes[i][3];
		uint8_t *src = malloc((size_t)sw * (size_t)sh);
		for (int f = 0; f < 2; f++) {
			fic__rs_filter filt = f ? FIC__RS_LANCZOS3 : FIC__RS_TENT;
			fill(src, (size_t)sw * (size_t)sh, (int)(i % 2)); /* random, or hard 0/255 edges */
			uint8_t *ref = resample_plane_with(fic__rs_kernels_portable(), sw, sh, dw, dh, filt, 0, src);
			for (int s = 0; s < nsets; s++) {
				uint8_t *o = resample_plane_with(sets[s], sw, sh, dw, dh, filt, 0, src);
				if (memcmp(o, ref, (size_t)dw * (size_t)dh) != 0)
					fail_msg("%s: %dx%d to %dx%d, filter %d: other bytes than the portable kernels",
					         sets[s]->name, sw, sh, dw, dh, f);
				free(o);
			}
			free(ref);
		}
		free(src);
	}
}

static void a_flat_plane_stays_flat_and_the_identity_is_exact(void **state)
{
	(void)state;
	for (int f = 0; f < 2; f++) {
		for (int v = 0; v < 256; v += 5) {
			uint8_t *o = resample_plane(203, 97, 160, 77, f ? FIC__RS_LANCZOS3 : FIC__RS_TENT, v, NULL);
			for (int i = 0; i < 160 * 77; i++)
				if (o[i] != v)
					fail_msg("filter %d: flat %d became %d at %d", f, v, o[i], i);
			free(o);
		}
		uint8_t *src = malloc(64 * 48);
		fill(src, 64 * 48, 0);
		uint8_t *o = resample_plane(64, 48, 64, 48, f ? FIC__RS_LANCZOS3 : FIC__RS_TENT, 0, src);
		assert_memory_equal(o, src, 64 * 48);
		free(o);
		free(src);
	}
}

/* Renders `jpg` with the given kernels; the bytes of the upload rendition and the thumbnail. */
static void render(const fic__rs_kernels *k, const unsigned char *jpg, size_t len, int edge,
                   fic__jpeg_out *up, fic__jpeg_out *th)
{
	memset(up, 0, sizeof *up);
	memset(th, 0, sizeof *th);
	fic__exif exif;
	int w, h;
	int rc = fic__render_with(k, NULL, jpg, len, edge, 80, up, 160, 70, th, &exif, &w, &h);
	if (rc != FIC_OK)
		fail_msg("render with %s: %s", k ? k->name : "best", fic_error_last()->message);
}

static void renditions_are_byte_identical_with_every_kernel_set(void **state)
{
	(void)state;
	const fic__rs_kernels *sets[MAX_SETS];
	int nsets = simd_sets(sets);
	struct { int w, h, comp, prog, orientation, edge; } cases[] = {
		{ 2400, 1800, 3, 0, 0, 1600 }, /* 1/1 decode, Lanczos-3 at 1.5 */
		{ 3200, 2400, 3, 0, 0, 1600 }, /* 1/2: luma at 1.0, chroma halved */
		{ 4000, 3000, 3, 0, 6, 1600 }, /* 1/2 at 1.25, rotated */
		{ 3001, 1999, 1, 0, 0, 1600 }, /* grey, odd sizes */
		{ 999, 777, 4, 0, 0, 640 },    /* CMYK: decoded as RGB, converted here */
		{ 1200, 900, 3, 1, 3, 500 },   /* progressive, 1/2 then at 1.2, turned 180 */
		{ 7, 5, 3, 0, 2, 1600 },       /* tiny, mirrored */
		{ 641, 479, 3, 0, 4, 300 },    /* the other four orientations, smaller and odd */
		{ 479, 641, 3, 0, 5, 200 },
		{ 1000, 601, 3, 0, 7, 333 },
		{ 333, 555, 3, 0, 8, 128 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len;
		unsigned char *jpg = cases[i].orientation
			? tu_make_jpeg_exif(cases[i].w, cases[i].h, cases[i].orientation, NULL, 0, 0, 0, &len)
			: tu_make_jpeg(cases[i].w, cases[i].h, cases[i].comp, cases[i].prog, 90, &len);
		assert_non_null(jpg);
		fic__jpeg_out up0, th0;
		render(fic__rs_kernels_portable(), jpg, len, cases[i].edge, &up0, &th0);
		for (int s = 0; s < nsets; s++) {
			fic__jpeg_out up, th;
			render(sets[s], jpg, len, cases[i].edge, &up, &th);
			if (up.len != up0.len || memcmp(up.buf, up0.buf, up.len) != 0 || th.len != th0.len ||
			    memcmp(th.buf, th0.buf, th.len) != 0)
				fail_msg("case %zu: %s renders other bytes than the portable kernels", i, sets[s]->name);
			fic__free(up.buf);
			fic__free(th.buf);
		}
		fic__free(up0.buf);
		fic__free(th0.buf);
		free(jpg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kernels_give_the_portable_bytes_on_random_rows),
		cmocka_unit_test(weights_sum_to_one_and_stay_within_the_bounds),
		cmocka_unit_test(a_flat_plane_stays_flat_and_the_identity_is_exact),
		cmocka_unit_test(planes_of_many_sizes_are_byte_identical),
		cmocka_unit_test(renditions_are_byte_identical_with_every_kernel_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
