/*
 * core/model/resample_sse2.c — the resampler's kernels with SSE2 (every
 * x86-64): the same integer arithmetic as the portable kernels in
 * resample.c, eight 16-bit samples at a time, so the bytes are the same
 * (tests/core/test_resample.c compares them). Elsewhere this file provides
 * no kernels; on arm64 resample_neon.c's are chosen in
 * fic__rs_kernels_best().
 */
#include "resample.h"

#include <string.h>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>

static void widen_sse2(int16_t *out, const uint8_t *in, size_t n)
{
	const __m128i zero = _mm_setzero_si128();
	for (size_t i = 0; i < n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(in + i));
		_mm_storeu_si128((__m128i *)(out + i),
		                 _mm_slli_epi16(_mm_unpacklo_epi8(v, zero), FIC_RS_VSHIFT));
		_mm_storeu_si128((__m128i *)(out + i + 8),
		                 _mm_slli_epi16(_mm_unpackhi_epi8(v, zero), FIC_RS_VSHIFT));
	}
}

static void widen2_sse2(int16_t *out, const uint8_t *in, size_t n)
{
	const __m128i low = _mm_set1_epi16(0xFF);
	for (size_t i = 0; i < n; i += 8) {
		__m128i v = _mm_loadu_si128((const __m128i *)(in + 2 * i));
		__m128i sum = _mm_add_epi16(_mm_and_si128(v, low), _mm_srli_epi16(v, 8));
		_mm_storeu_si128((__m128i *)(out + i), _mm_slli_epi16(sum, FIC_RS_VSHIFT - 1));
	}
}

/* pmulhw is exactly floor(a * b / 65536); paddw cannot overflow (resample.h). */
static void vert_sse2(int16_t *out, const int16_t *const *rows, const int16_t *w, int taps,
                      int16_t bias, size_t n)
{
	const __m128i b = _mm_set1_epi16(bias);
	for (size_t i = 0; i < n; i += 16) {
		__m128i a0 = b, a1 = b;
		for (int k = 0; k < taps; k++) {
			__m128i wk = _mm_set1_epi16(w[k]);
			const int16_t *p = rows[k] + i;
			a0 = _mm_add_epi16(a0, _mm_mulhi_epi16(_mm_loadu_si128((const __m128i *)p), wk));
			a1 = _mm_add_epi16(a1, _mm_mulhi_epi16(_mm_loadu_si128((const __m128i *)(p + 8)), wk));
		}
		_mm_storeu_si128((__m128i *)(out + i), a0);
		_mm_storeu_si128((__m128i *)(out + i + 8), a1);
	}
}

/* One output's sum: pmaddwd over its taps, eight at a time (four int32 partial sums). */
static inline __m128i taps_sum(const int16_t *p, const int16_t *q, int len)
{
	__m128i a = _mm_madd_epi16(_mm_loadu_si128((const __m128i *)p),
	                           _mm_loadu_si128((const __m128i *)q));
	for (int g = 8; g < len; g += 8)
		a = _mm_add_epi32(a, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(p + g)),
		                                    _mm_loadu_si128((const __m128i *)(q + g))));
	return a;
}

/* Four outputs' sums (s0, s1, s2, s3) rounded, clamped and stored as bytes. */
static inline void store4(uint8_t *out, __m128i v)
{
	v = _mm_srai_epi32(_mm_add_epi32(v, _mm_set1_epi32(1 << (FIC_RS_HBITS - 1))), FIC_RS_HBITS);
	v = _mm_packus_epi16(_mm_packs_epi32(v, v), v); /* floor, then clamp to 0..255, as the portable */
	uint32_t px = (uint32_t)_mm_cvtsi128_si32(v);
	memcpy(out, &px, 4);
}

/* Four taps: two outputs per pmaddwd. */
static int horiz4(uint8_t *out, const int16_t *in, const int32_t *first, const int16_t *w, int n)
{
	int x = 0;
	for (; x + 4 <= n; x += 4) {
		const int16_t *q = w + (size_t)x * 4;
		__m128i ab = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(in + first[x])),
		                                _mm_loadl_epi64((const __m128i *)(in + first[x + 1])));
		__m128i cd = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(in + first[x + 2])),
		                                _mm_loadl_epi64((const __m128i *)(in + first[x + 3])));
		__m128 m0 = _mm_castsi128_ps(_mm_madd_epi16(ab, _mm_loadu_si128((const __m128i *)q)));
		__m128 m1 = _mm_castsi128_ps(_mm_madd_epi16(cd, _mm_loadu_si128((const __m128i *)(q + 8))));
		/* (a01, a23, b01, b23), (c01, c23, d01, d23) -> (a, b, c, d) */
		__m128i even = _mm_castps_si128(_mm_shuffle_ps(m0, m1, _MM_SHUFFLE(2, 0, 2, 0)));
		__m128i odd = _mm_castps_si128(_mm_shuffle_ps(m0, m1, _MM_SHUFFLE(3, 1, 3, 1)));
		store4(out + x, _mm_add_epi32(even, odd));
	}
	return x;
}

static void horiz_sse2(uint8_t *out, const int16_t *in, const int32_t *first, const int16_t *w,
                       int len, int n)
{
	const __m128i round = _mm_set1_epi32(1 << (FIC_RS_HBITS - 1));
	int x = len == 4 ? horiz4(out, in, first, w, n) : 0;
	for (; len != 4 && x + 4 <= n; x += 4) {
		const int16_t *q = w + (size_t)x * (size_t)len;
		__m128i s0 = taps_sum(in + first[x], q, len);
		__m128i s1 = taps_sum(in + first[x + 1], q + len, len);
		__m128i s2 = taps_sum(in + first[x + 2], q + 2 * len, len);
		__m128i s3 = taps_sum(in + first[x + 3], q + 3 * len, len);
		/* Four outputs' partial sums, added across: (s0, s1, s2, s3). */
		__m128i u0 = _mm_add_epi32(_mm_unpacklo_epi32(s0, s1), _mm_unpackhi_epi32(s0, s1));
		__m128i u1 = _mm_add_epi32(_mm_unpacklo_epi32(s2, s3), _mm_unpackhi_epi32(s2, s3));
		store4(out + x, _mm_add_epi32(_mm_unpacklo_epi64(u0, u1), _mm_unpackhi_epi64(u0, u1)));
	}
	for (; x < n; x++) {
		const int16_t *p = in + first[x], *q = w + (size_t)x * (size_t)len;
		__m128i s = len == 4 ? _mm_madd_epi16(_mm_loadl_epi64((const __m128i *)p),
		                                      _mm_loadl_epi64((const __m128i *)q))
		                     : taps_sum(p, q, len);
		s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
		s = _mm_add_epi32(s, _mm_srli_si128(s, 4));
		s = _mm_srai_epi32(_mm_add_epi32(s, round), FIC_RS_HBITS);
		s = _mm_packus_epi16(_mm_packs_epi32(s, s), s);
		out[x] = (uint8_t)_mm_cvtsi128_si32(s);
	}
}

static const fic__rs_kernels sse2 = { "sse2", widen_sse2, widen2_sse2, vert_sse2, horiz_sse2 };

const fic__rs_kernels *fic__rs_kernels_sse2(void)
{
	return &sse2;
}

#else

const fic__rs_kernels *fic__rs_kernels_sse2(void)
{
	return NULL;
}

#endif
