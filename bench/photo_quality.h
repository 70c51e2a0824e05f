/*
 * bench/photo_quality.h — how close a rendition is to the exact one: the
 * original decoded at full size by libjpeg (ISLOW, its chroma upsampled
 * smoothly) and filtered to the rendition's size with Lanczos-3 in double
 * precision (the exact windowed sinc, stretched by the reduction, centred
 * like the library's filter, edges repeated) — a reference no 8-bit pipeline
 * or JPEG encoder has touched. Against it: luma PSNR, luma SSIM (Wang et al.
 * 2004: an 11x11 Gaussian window of sigma 1.5, the image's interior) and
 * chroma PSNR (Cb and Cr together, the rendition's chroma upsampled by
 * libjpeg as a viewer would).
 */
#ifndef FIC_BENCH_PHOTO_QUALITY_H
#define FIC_BENCH_PHOTO_QUALITY_H

typedef struct pq_planes {
	int w, h;
	float *p[3]; /* Y, Cb, Cr */
} pq_planes;

/* The reference at w x h of the JPEG at `path`. 0, or -1 (message on stderr). */
int pq_reference(pq_planes *ref, const char *path, int w, int h);
void pq_planes_free(pq_planes *p);

typedef struct pq_score {
	long bytes;
	int w, h;
	double psnr_y, ssim_y, psnr_c;
} pq_score;

/* Score the JPEG at `path` against `ref` (same size). 0, or -1. */
int pq_score_file(pq_score *out, const pq_planes *ref, const char *path);

#endif
