/*
 * core/model/resample_neon.c — the resampler's kernels with NEON (Advanced
 * SIMD), for arm64: every AArch64 processor has it (arm64-v8a requires it),
 * so there is nothing to detect at run time and fic__rs_kernels_best()
 * always chooses these there. CMake compiles this file only when the target
 * processor is aarch64. The same integer arithmetic as the portable kernels
 * in resample.c, eight or sixteen 16-bit samples at a time, so the bytes are
 * the same (tests/core/test_resample.c compares them; scripts/test-arm64.sh
 * runs that test under qemu-aarch64).
 */
#include "resample.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

static void widen_neon(int16_t *out, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i += 16) {
		uint8x16_t v = vld1q_u8(in + i);
		vst1q_s16(out + i, vreinterpretq_s16_u16(vshll_n_u8(vget_low_u8(v), FIC_RS_VSHIFT)));
		vst1q_s16(out + i + 8, vreinterpretq_s16_u16(vshll_high_n_u8(v, FIC_RS_VSHIFT)));
	}
}

/* uaddlp adds each pair of bytes into 16 bits: (in[2i] + in[2i + 1]). */
static void widen2_neon(int16_t *out, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i += 16) {
		uint16x8_t s0 = vpaddlq_u8(vld1q_u8(in + 2 * i));
		uint16x8_t s1 = vpaddlq_u8(vld1q_u8(in + 2 * i + 16));
		vst1q_s16(out + i, vreinterpretq_s16_u16(vshlq_n_u16(s0, FIC_RS_VSHIFT - 1)));
		vst1q_s16(out + i + 8, vreinterpretq_s16_u16(vshlq_n_u16(s1, FIC_RS_VSHIFT - 1)));
	}
}

/* mulhi(a, w) = floor(a * w / 65536): the exact 32-bit product (smull), then
 * its bits 16..31 (shrn #16), which is the floor for either sign. The sum
 * cannot overflow 16 bits (resample.h), so adding in int16 is exact. */
static inline int16x8_t mulhi8(int16x8_t a, int16x4_t w)
{
	int32x4_t lo = vmull_s16(vget_low_s16(a), w);
	int32x4_t hi = vmull_high_s16(a, vcombine_s16(w, w));
	return vshrn_high_n_s32(vshrn_n_s32(lo, 16), hi, 16);
}

static void vert_neon(int16_t *out, const int16_t *const *rows, const int16_t *w, int taps,
                      int16_t bias, size_t n)
{
	const int16x8_t b = vdupq_n_s16(bias);
	for (size_t i = 0; i < n; i += 16) {
		int16x8_t a0 = b, a1 = b;
		for (int k = 0; k < taps; k++) {
			int16x4_t wk = vdup_n_s16(w[k]);
			const int16_t *p = rows[k] + i;
			a0 = vaddq_s16(a0, mulhi8(vld1q_s16(p), wk));
			a1 = vaddq_s16(a1, mulhi8(vld1q_s16(p + 8), wk));
		}
		vst1q_s16(out + i, a0);
		vst1q_s16(out + i + 8, a1);
	}
}

/* One output's products over its taps, eight at a time: four int32 partial sums. */
static inline int32x4_t taps_sum(const int16_t *p, const int16_t *q, int len)
{
	if (len == 4)
		return vmull_s16(vld1_s16(p), vld1_s16(q));
	int32x4_t a = vdupq_n_s32(0);
	for (int g = 0; g < len; g += 8) {
		int16x8_t x = vld1q_s16(p + g), y = vld1q_s16(q + g);
		a = vmlal_s16(a, vget_low_s16(x), vget_low_s16(y));
		a = vmlal_high_s16(a, x, y);
	}
	return a;
}

/* clamp(floor((s + 2^18) / 2^19), 0, 255) of four sums: an arithmetic shift
 * is the floor; sqxtun clamps below at 0, uqxtn above at 255. */
static inline uint8x8_t round8x4(int32x4_t s)
{
	s = vshrq_n_s32(vaddq_s32(s, vdupq_n_s32(1 << (FIC_RS_HBITS - 1))), FIC_RS_HBITS);
	uint16x4_t u = vqmovun_s32(s);
	return vqmovn_u16(vcombine_u16(u, u));
}

static void horiz_neon(uint8_t *out, const int16_t *in, const int32_t *first, const int16_t *w,
                       int len, int n)
{
	int x = 0;
	for (; x + 4 <= n; x += 4) {
		const int16_t *q = w + (size_t)x * (size_t)len;
		int32x4_t s0 = taps_sum(in + first[x], q, len);
		int32x4_t s1 = taps_sum(in + first[x + 1], q + len, len);
		int32x4_t s2 = taps_sum(in + first[x + 2], q + 2 * len, len);
		int32x4_t s3 = taps_sum(in + first[x + 3], q + 3 * len, len);
		/* pairwise adds across: (s0, s1, s2, s3), each the whole of its output */
		uint8x8_t px = round8x4(vpaddq_s32(vpaddq_s32(s0, s1), vpaddq_s32(s2, s3)));
		uint32_t four = vget_lane_u32(vreinterpret_u32_u8(px), 0);
		memcpy(out + x, &four, 4);
	}
	for (; x < n; x++) {
		const int16_t *q = w + (size_t)x * (size_t)len;
		int32x4_t s = vdupq_n_s32(vaddvq_s32(taps_sum(in + first[x], q, len)));
		out[x] = vget_lane_u8(round8x4(s), 0);
	}
}

static const fic__rs_kernels neon = { "neon", widen_neon, widen2_neon, vert_neon, horiz_neon };

const fic__rs_kernels *fic__rs_kernels_neon(void)
{
	return &neon;
}

#endif
