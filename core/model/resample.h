/*
 * core/model/resample.h — the streaming plane resampler under the photo
 * renditions (render.c): one 8-bit plane (the luma or a chroma plane of a
 * JPEG, as libjpeg decodes it) in, one 8-bit plane of another size out, a
 * row at a time, holding only a ring of a few source rows.
 *
 * The arithmetic is integer and exactly specified, so that every
 * implementation of the three kernels below gives the same bytes:
 *  - widen: a source sample s is held as s << FIC_RS_VSHIFT in an int16;
 *  - vertical: t = bias + sum_k mulhi(row_k[i], wv_k), where mulhi(a, b) is
 *    floor(a * b / 65536) (SSE2's pmulhw; on NEON a widening multiply and a
 *    narrowing shift by 16: smull, shrn) and the weights are Q14 (1.0 = 1 << FIC_RS_WBITS); t is
 *    the filtered sample in units of 1/32 level (Q5), in an int16 (no
 *    overflow: |t| < 2^14 for the kernels used);
 *  - horizontal: out = clamp(floor((sum_k t[first + k] * wh_k + 2^18) / 2^19),
 *    0, 255), the sum in int32 (no overflow: < 2^29 in magnitude).
 * The portable kernels in resample.c are the reference; the SIMD ones
 * (resample_sse2.c and resample_avx2.c on x86-64, resample_neon.c on arm64)
 * must match them byte for byte, which tests/core/test_resample.c checks on
 * random rows and whole renditions.
 */
#ifndef FIC_CORE_RESAMPLE_H
#define FIC_CORE_RESAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIC_RS_VSHIFT 7  /* source sample s held as s << 7 */
#define FIC_RS_WBITS 14  /* weights: 1.0 = 1 << 14 */
#define FIC_RS_HBITS 19  /* horizontal sums: Q(5 + 14) */
#define FIC_RS_ALIGN 16  /* row lengths padded to this many samples */
#define FIC_RS_MAX_TAPS 64

/* The three inner loops: the SIMD seam. */
typedef struct fic__rs_kernels {
	const char *name;
	/* out[i] = in[i] << FIC_RS_VSHIFT, i < n (n a multiple of FIC_RS_ALIGN) */
	void (*widen)(int16_t *out, const uint8_t *in, size_t n);
	/* out[i] = (in[2i] + in[2i + 1]) << (FIC_RS_VSHIFT - 1), i < n (a multiple of
	 * FIC_RS_ALIGN): two samples averaged, for a plane halved before it is filtered */
	void (*widen2)(int16_t *out, const uint8_t *in, size_t n);
	/* out[i] = bias + sum_{k < taps} mulhi(rows[k][i], w[k]), i < n (n a multiple of FIC_RS_ALIGN) */
	void (*vert)(int16_t *out, const int16_t *const *rows, const int16_t *w, int taps,
	             int16_t bias, size_t n);
	/* out[x] = clamp8(sum_{k < len} in[first[x] + k] * w[x * len + k]), x < n; len 4 or
	 * a multiple of 8 */
	void (*horiz)(uint8_t *out, const int16_t *in, const int32_t *first, const int16_t *w,
	              int len, int n);
} fic__rs_kernels;

/* The portable reference kernels. */
const fic__rs_kernels *fic__rs_kernels_portable(void);
/* The fastest kernels this build has for this machine (AVX2 or SSE2 on
 * x86-64, NEON on arm64, else the portable ones). */
const fic__rs_kernels *fic__rs_kernels_best(void);
/* The SSE2 kernels, or NULL in a build without them. */
const fic__rs_kernels *fic__rs_kernels_sse2(void);
/* The AVX2 kernels, or NULL in a build without them or on a machine without AVX2. */
const fic__rs_kernels *fic__rs_kernels_avx2(void);
#if defined(__aarch64__)
/* The NEON kernels (arm64 builds only: resample_neon.c is compiled for aarch64
 * alone, and every AArch64 processor has NEON). */
const fic__rs_kernels *fic__rs_kernels_neon(void);
#endif

typedef enum fic__rs_filter {
	FIC__RS_TENT,     /* triangle: antialiased bilinear, no ringing */
	FIC__RS_LANCZOS3, /* windowed sinc, three lobes */
} fic__rs_filter;

/* Filter weights: for each output, where its taps start and `len` Q14
 * weights (zero past the taps it uses), summing to exactly 1 << 14. */
typedef struct fic__rs_taps {
	int n;          /* outputs */
	int len;        /* weights per output: 4, or a multiple of 8 */
	int32_t *first; /* first input of each output */
	int16_t *count; /* taps each output uses (<= len) */
	int16_t *w;     /* n * len */
} fic__rs_taps;

/*
 * Weights for `dst` outputs from `src` inputs, output i centred on input
 * coordinate (i + 0.5) * scale - 0.5 (scale: inputs per output), the filter
 * stretched by max(1, scale). Inputs beyond either edge count as the edge
 * sample. FIC_ENOMEM.
 */
int fic__rs_taps_make(fic__rs_taps *t, int src, int dst, double scale, fic__rs_filter f);
void fic__rs_taps_free(fic__rs_taps *t);

/* Where finished rows go: plane `plane`'s row `y` (dw samples). */
typedef void (*fic__rs_emit)(void *arg, int plane, int y, const uint8_t *row);

/* One plane being resampled. */
typedef struct fic__plane_rs {
	int sw, sh, dw, dh, plane;
	bool halve;          /* each source row's sample pairs averaged first (big reductions) */
	fic__rs_taps h, v;
	const fic__rs_kernels *k;
	size_t stride;       /* ring row length: sw padded */
	int16_t *ring;       /* ring_rows widened source rows */
	int ring_rows;
	int fed, emitted;
	int16_t *tmp;        /* one row filtered vertically, padded for the horizontal taps */
	uint8_t *in;         /* one source row, padded (widen reads whole blocks) */
	uint8_t *out;        /* one destination row */
	fic__rs_emit emit;
	void *arg;
} fic__plane_rs;

/* A plane of sw x sh samples to dw x dh; sx, sy: source samples per
 * destination sample along each axis. With a tent and sx >= 2 (chroma), each
 * row's sample pairs are averaged as it is widened, which halves the rest of
 * the work: a box of two then a tent of sx / 2 costs chroma at most 0.2 dB of
 * PSNR against a tent of sx on the bench's photos. FIC_ENOMEM. */
int fic__plane_rs_init(fic__plane_rs *r, int sw, int sh, int dw, int dh, double sx, double sy,
                       fic__rs_filter f, const fic__rs_kernels *k, int plane, fic__rs_emit emit,
                       void *arg);
/* The next source row (sw samples); emits every destination row it completes. */
void fic__plane_rs_feed(fic__plane_rs *r, const uint8_t *row);
/* The same without a copy: `row` has FIC_RS_ROW_SLACK bytes after the plane's
 * sw samples, which may be read and the first of which may be written. */
#define FIC_RS_ROW_SLACK 64
void fic__plane_rs_feed_padded(fic__plane_rs *r, uint8_t *row);
void fic__plane_rs_free(fic__plane_rs *r);

#endif
