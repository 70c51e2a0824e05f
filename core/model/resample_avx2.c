/*
 * core/model/resample_avx2.c — the resampler's kernels with AVX2, for x86-64
 * machines that have it (chosen at run time in fic__rs_kernels_best(); the
 * build needs no flag: the functions carry their own target attribute). The
 * same integer arithmetic as the portable kernels in resample.c, sixteen
 * 16-bit samples at a time, so the bytes are the same
 * (tests/core/test_resample.c compares them). libjpeg-turbo uses AVX2 for
 * its own IDCT and colour work on such machines; the resampler keeps pace.
 */
#include "resample.h"

#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

AVX2 static void widen_avx2(int16_t *out, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i += 16) {
		__m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(in + i)));
		_mm256_storeu_si256((__m256i *)(out + i), _mm256_slli_epi16(v, FIC_RS_VSHIFT));
	}
}

AVX2 static void widen2_avx2(int16_t *out, const uint8_t *in, size_t n)
{
	const __m256i low = _mm256_set1_epi16(0xFF);
	for (size_t i = 0; i < n; i += 16) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(in + 2 * i));
		__m256i sum = _mm256_add_epi16(_mm256_and_si256(v, low), _mm256_srli_epi16(v, 8));
		_mm256_storeu_si256((__m256i *)(out + i), _mm256_slli_epi16(sum, FIC_RS_VSHIFT - 1));
	}
}

/* vpmulhw is exactly floor(a * b / 65536); vpaddw cannot overflow (resample.h). */
AVX2 static void vert_avx2(int16_t *out, const int16_t *const *rows, const int16_t *w, int taps,
                           int16_t bias, size_t n)
{
	const __m256i b = _mm256_set1_epi16(bias);
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m256i a0 = b, a1 = b;
		for (int k = 0; k < taps; k++) {
			__m256i wk = _mm256_set1_epi16(w[k]);
			const int16_t *p = rows[k] + i;
			a0 = _mm256_add_epi16(a0, _mm256_mulhi_epi16(_mm256_loadu_si256((const __m256i *)p), wk));
			a1 = _mm256_add_epi16(a1, _mm256_mulhi_epi16(
			                                  _mm256_loadu_si256((const __m256i *)(p + 16)), wk));
		}
		_mm256_storeu_si256((__m256i *)(out + i), a0);
		_mm256_storeu_si256((__m256i *)(out + i + 16), a1);
	}
	for (; i < n; i += 16) {
		__m256i a = b;
		for (int k = 0; k < taps; k++)
			a = _mm256_add_epi16(a, _mm256_mulhi_epi16(_mm256_loadu_si256((const __m256i *)(rows[k] + i)),
			                                           _mm256_set1_epi16(w[k])));
		_mm256_storeu_si256((__m256i *)(out + i), a);
	}
}

/* Two outputs' eight-tap windows side by side, multiplied and pair-summed. */
AVX2 static inline __m256i madd2(const int16_t *p0, const int16_t *p1, const int16_t *q)
{
	__m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p0)),
	                                    _mm_loadu_si128((const __m128i *)p1), 1);
	return _mm256_madd_epi16(v, _mm256_loadu_si256((const __m256i *)q));
}

/* Eight outputs' sums (s0..s7), rounded, clamped and stored as bytes. */
AVX2 static inline void store8(uint8_t *out, __m256i v)
{
	v = _mm256_srai_epi32(_mm256_add_epi32(v, _mm256_set1_epi32(1 << (FIC_RS_HBITS - 1))),
	                      FIC_RS_HBITS); /* floor, as the portable */
	__m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
	__m128i b = _mm_packus_epi16(_mm_packs_epi32(lo, hi), _mm_setzero_si128()); /* clamp 0..255 */
	_mm_storel_epi64((__m128i *)out, b);
}

/* Eight taps (len 8): eight outputs from four vpmaddwd and a tree of vphaddd. */
AVX2 static int horiz8_avx2(uint8_t *out, const int16_t *in, const int32_t *first, const int16_t *w,
                            int n)
{
	const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
	int x = 0;
	for (; x + 8 <= n; x += 8) {
		const int16_t *q = w + (size_t)x * 8;
		const int32_t *f = first + x;
		__m256i r01 = madd2(in + f[0], in + f[1], q), r23 = madd2(in + f[2], in + f[3], q + 16);
		__m256i r45 = madd2(in + f[4], in + f[5], q + 32), r67 = madd2(in + f[6], in + f[7], q + 48);
		/* lanes: (s0 s0 s2 s2 | s1 s1 s3 s3), (s4 s4 s6 s6 | s5 s5 s7 s7), then (s0 s2 s4 s6 | s1 s3 s5 s7) */
		__m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(r01, r23), _mm256_hadd_epi32(r45, r67));
		store8(out + x, _mm256_permutevar8x32_epi32(h, order));
	}
	return x;
}

AVX2 static void horiz_avx2(uint8_t *out, const int16_t *in, const int32_t *first, const int16_t *w,
                            int len, int n)
{
	int x = len == 8 ? horiz8_avx2(out, in, first, w, n) : 0;
	/* Other lengths, and the last few outputs: the SSE2 kernel (the same sums). */
	const fic__rs_kernels *sse2 = fic__rs_kernels_sse2();
	if (x < n)
		sse2->horiz(out + x, in, first + x, w + (size_t)x * (size_t)len, len, n - x);
}

static const fic__rs_kernels avx2 = { "avx2", widen_avx2, widen2_avx2, vert_avx2, horiz_avx2 };

const fic__rs_kernels *fic__rs_kernels_avx2(void)
{
	return __builtin_cpu_supports("avx2") ? &avx2 : NULL;
}

#else

const fic__rs_kernels *fic__rs_kernels_avx2(void)
{
	return NULL;
}

#endif
