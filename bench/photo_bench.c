/*
 * bench/photo_bench.c — the 1600 px upload rendition: its cost against the
 * decode-only floor, its memory for every EXIF orientation, and its quality
 * against the exact rendition and against vipsthumbnail at equal bytes, on
 * three generated camera-like photos (bench/photo_scene.h):
 *   closeup    4000x3000  an inspector's close-up: licence text from 17 to 110
 *                         px high, a test-strip card, a fly screen, a label
 *   outdoor    4000x3000  the bench's earlier photo: sky, facade, gravel, a
 *                         licence board
 *   closeup48  8000x6000  the close-up at 48 MP
 *
 * Cost. Entropy (Huffman) decoding is all a JPEG rendition cannot avoid, and
 * at 1/8 scale libjpeg does little else: `djpeg -scale 1/8` is the floor. The
 * rendition is timed against it by CPU time (user + system: both are
 * single-threaded), A and B interleaved run by run, in two ways:
 *   - in one process (a forked worker): libjpeg's decode at 1/8 to RGB (what
 *     djpeg does) and fic_photo_render, memory to memory;
 *   - as processes: `djpeg -scale 1/8 FILE >/dev/null` and this program
 *     re-executed to call fic_photo_render_file (start-up and file I/O
 *     included on both sides; the library's start-up loads libcrypto,
 *     SQLite and libexif, djpeg's only libjpeg).
 * Each pair gives a ratio; the bench prints the median with min-max and the
 * median's 95 % interval, and the verdict says INCONCLUSIVE when that
 * interval straddles the target (bench_stats.h). The target: at most 1.5x.
 * Then, in one process, where the time goes: libjpeg's own decode at the
 * rendition's DCT scale into planes, libjpeg's own encode of the rendition's
 * planes (at the libjpeg quality that gives the rendition's bytes), the
 * whole rendition, and the floor, in rotating order round by round; each
 * over the floor of its round, and the rest (the rendition less the two:
 * resampling, buffers, EXIF) — the part this library's code decides.
 *
 * Memory. Peak resident size (ru_maxrss) of the rendition process for each
 * EXIF orientation (a copy of the photo with an orientation tag): 1 and 2
 * stream to the encoder, 3-8 hold the rendition's planes. Target: under
 * 16 MiB. Linux carries a parent's resident size into a child's ru_maxrss
 * across fork and exec, so this parent never holds a photo or a big buffer:
 * photos are generated, and everything heavy runs, in forked workers.
 *
 * Quality. The reference is the original decoded at full size and filtered
 * with Lanczos-3 in double precision (bench/photo_quality.h); luma PSNR,
 * luma SSIM and chroma PSNR of the rendition (quality 80) against it, and of
 * vipsthumbnail's at Q 50..85 (libvips decodes at full size here and filters
 * with Lanczos-3: it is the reference, rounded and JPEG-coded). vipsthumbnail's
 * scores are interpolated (in log bytes) at the rendition's size: at equal
 * bytes the rendition may be no worse by more than 0.3 dB luma PSNR and
 * 0.002 SSIM. Also printed, the other way round: the rendition at the
 * quality giving vipsthumbnail-Q80's bytes.
 *
 * vipsthumbnail's speed and memory are printed for information, with what a
 * page fault costs here: it touches far more memory than the rendition, so
 * its time depends on the machine far more (see /work/shared/MEASURED.md).
 *
 * Usage: photo_bench [--pairs N] [--images a,b,...] [--no-external] [--quick]
 *                    [--keep] [--dir PARENT]
 *   --pairs N      interleaved pairs per comparison (default 15, at least 3)
 *   --images LIST  some of closeup,outdoor,closeup48 (default all three)
 *   --no-external  no djpeg or vipsthumbnail (only what needs no tool)
 *   --quick        what ctest runs: a 2000x1500 close-up, 3 pairs, two
 *                  orientations, no external tools; checks the bench works
 *   --keep         keep the temporary directory (photos, renditions)
 *   --dir PARENT   where to make the temporary directory ($TMPDIR or /tmp)
 */
#include <fieldinspect/fieldinspect.h>

#include "bench_stats.h"
#include "photo_quality.h"
#include "photo_scene.h"
#include "model/render.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jpeglib.h>

#define MAX_EDGE 1600
#define OUT_QUALITY 80
#define DEFAULT_PAIRS 15
#define MAX_PAIRS 200
#define MEMORY_RUNS 3

#define TARGET_VS_FLOOR 1.5
#define TARGET_PEAK_MIB 16.0
#define TARGET_DPSNR (-0.3)
#define TARGET_DSSIM (-0.002)

static const int vips_q[] = { 50, 55, 60, 65, 70, 75, 80, 85 }; /* 4:2:0 below Q 90 */
#define N_VIPS_Q ((int)(sizeof vips_q / sizeof vips_q[0]))
static const int our_q[] = { 60, 65, 70, 75, 80, 85, 90, 95 };
#define N_OUR_Q ((int)(sizeof our_q / sizeof our_q[0]))

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "photo_bench: %s: %s\n", what, detail);
	exit(1);
}

/* ================================================================
 * Configuration, the photos
 * ================================================================ */

typedef struct config {
	int pairs;
	bool external, quick, keep;
	const char *base;
	const char *images;
} config;

typedef struct image {
	const char *name, *what;
	int w, h;
	uint32_t seed;           /* 0: the outdoor scene */
	char path[4300];
	char oriented[9][4300];  /* copies with EXIF orientation 1..8 */
	long bytes;
	double gen_ms;
} image;

typedef struct ctx {
	char dir[4096];
	char self[4096];
	char errlog[4200];
	int devnull;
	char *djpeg, *vips;      /* NULL: not installed (or --no-external) */
} ctx;

static void parse_args(config *c, int argc, char **argv)
{
	*c = (config){ DEFAULT_PAIRS, true, false, false, getenv("TMPDIR"), "closeup,outdoor,closeup48" };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--no-external") == 0) {
			c->external = false;
		} else if (strcmp(a, "--quick") == 0) {
			c->quick = true;
			c->external = false;
			c->pairs = 3;
			c->images = "closeup";
		} else if (strcmp(a, "--keep") == 0) {
			c->keep = true;
		} else if (strcmp(a, "--dir") == 0 && v) {
			c->base = v, i++;
		} else if (strcmp(a, "--images") == 0 && v) {
			c->images = v, i++;
		} else if (strcmp(a, "--pairs") == 0 && v && atoi(v) >= 3 && atoi(v) <= MAX_PAIRS) {
			c->pairs = atoi(v), i++;
		} else {
			die("usage", "photo_bench [--pairs N (3..200)] [--images closeup,outdoor,closeup48] "
			             "[--no-external] [--quick] [--keep] [--dir PARENT]");
		}
	}
	if (c->base == NULL || c->base[0] == '\0')
		c->base = "/tmp";
}

/* A copy of `src` with an EXIF block saying orientation `o`, right after SOI. */
static void write_oriented(const char *src, const char *dst, int o)
{
	static const unsigned char head[] = { 0xFF, 0xE1, 0, 34, 'E', 'x', 'i', 'f', 0, 0,
		                              'M', 'M', 0, 42, 0, 0, 0, 8, /* TIFF, IFD0 at 8 */
		                              0, 1,                        /* one entry: */
		                              0x01, 0x12, 0, 3, 0, 0, 0, 1 /* Orientation, SHORT, 1 */ };
	unsigned char tail[] = { 0, (unsigned char)o, 0, 0, 0, 0, 0, 0 }; /* value; no next IFD */
	FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
	unsigned char buf[65536];
	size_t n = in ? fread(buf, 1, 2, in) : 0;
	if (!in || !out || n != 2 || fwrite(buf, 1, 2, out) != 2 || fwrite(head, 1, sizeof head, out) != sizeof head ||
	    fwrite(tail, 1, sizeof tail, out) != sizeof tail)
		die(dst, "cannot write an oriented copy");
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			die(dst, strerror(errno));
	fclose(in);
	if (fclose(out) != 0)
		die(dst, strerror(errno));
}

/* Generate one photo in a forked worker (so this process stays small). */
static void make_image(const ctx *cx, image *im)
{
	snprintf(im->path, sizeof im->path, "%s/%s-%dx%d-q%d.jpg", cx->dir, im->name, im->w, im->h,
	         SCENE_QUALITY);
	double t0 = bs_wall_ms();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", strerror(errno));
	if (pid == 0) {
		if (im->seed)
			scene_closeup_write(im->path, im->w, im->h, im->seed);
		else
			scene_outdoor_write(im->path);
		_exit(0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("generating a photo", im->name);
	im->gen_ms = bs_wall_ms() - t0;
	struct stat st;
	im->bytes = stat(im->path, &st) == 0 ? (long)st.st_size : -1;
	for (int o = 1; o <= 8; o++) {
		snprintf(im->oriented[o], sizeof im->oriented[o], "%s/%s-orientation-%d.jpg", cx->dir, im->name, o);
		write_oriented(im->path, im->oriented[o], o);
	}
}

/* ================================================================
 * Processes
 * ================================================================ */

/* The first executable called `name` on PATH that is not a script (a
 * wrapper would time its interpreter too). NULL if none. */
static char *find_tool(const char *name)
{
	const char *path = getenv("PATH");
	if (path == NULL || path[0] == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char cand[4200];
		if (n > 0 && n < 4000) {
			snprintf(cand, sizeof cand, "%.*s/%s", (int)n, p, name);
			struct stat st;
			char magic[2] = { 0, 0 };
			int fd = stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0
			                 ? open(cand, O_RDONLY | O_CLOEXEC)
			                 : -1;
			if (fd >= 0) {
				if (read(fd, magic, 2) != 2)
					magic[0] = 0;
				close(fd);
				if (!(magic[0] == '#' && magic[1] == '!'))
					return strdup(cand);
			}
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return NULL;
}

typedef struct run {
	double cpu_ms, wall_ms, rss_mib;
	bool ok;
} run;

static double tv_ms(struct timeval tv)
{
	return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

/* fork + execv, stdout to /dev/null, stderr to the error log; waits. Every fd
 * this program opens is O_CLOEXEC, so the child inherits nothing else. */
static run run_process(const ctx *cx, const char *path, char *const argv[])
{
	run r = { 0, 0, 0, false };
	int err = open(cx->errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	double t0 = bs_wall_ms();
	pid_t pid = fork();
	if (pid < 0)
		die("fork", strerror(errno));
	if (pid == 0) {
		if (dup2(cx->devnull, 1) < 0 || (err >= 0 && dup2(err, 2) < 0))
			_exit(126);
		execv(path, argv);
		_exit(127);
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			die("wait4", strerror(errno));
	r.wall_ms = bs_wall_ms() - t0;
	if (err >= 0)
		close(err);
	r.cpu_ms = tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime);
	r.rss_mib = (double)ru.ru_maxrss / 1024.0;
	r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	return r;
}

/* This program, re-executed to make one rendition file to file. */
static run run_rendition(const ctx *cx, const char *in, const char *out)
{
	char *argv[] = { (char *)cx->self, "--render-child", (char *)in, (char *)out, NULL };
	run r = run_process(cx, cx->self, argv);
	if (!r.ok)
		die("the rendition process failed", in);
	return r;
}

static run run_floor(const ctx *cx, const char *in)
{
	char *argv[] = { "djpeg", "-scale", "1/8", (char *)in, NULL };
	run r = run_process(cx, cx->djpeg, argv);
	if (!r.ok)
		die("djpeg failed", in);
	return r;
}

static run run_vips(const ctx *cx, const char *in, const char *out, int q)
{
	char spec[4400], size[16];
	snprintf(spec, sizeof spec, "%.4300s[Q=%d]", out, q);
	snprintf(size, sizeof size, "%d", MAX_EDGE);
	char *argv[] = { "vipsthumbnail", (char *)in, "-s", size, "-o", spec, NULL };
	run r = run_process(cx, cx->vips, argv);
	if (!r.ok)
		die("vipsthumbnail failed", in);
	return r;
}

static int render_child(const char *in, const char *out)
{
	int rc = fic_photo_render_file(in, out, MAX_EDGE, OUT_QUALITY);
	if (rc != FIC_OK) {
		fprintf(stderr, "fic_photo_render_file: %s\n", fic_error_last()->message);
		return 1;
	}
	return 0;
}

/* Run `fn` in a forked worker that writes `size` bytes of results to a pipe. */
static void in_worker(void (*fn)(const ctx *, const image *, int, void *), const ctx *cx,
                      const image *im, int n, void *out, size_t size)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) != 0)
		die("pipe", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", strerror(errno));
	if (pid == 0) {
		close(pfd[0]);
		fn(cx, im, n, out);
		const char *p = out;
		for (size_t left = size; left > 0;) {
			ssize_t k = write(pfd[1], p, left);
			if (k <= 0)
				_exit(1);
			p += k, left -= (size_t)k;
		}
		_exit(0);
	}
	close(pfd[1]);
	size_t got = 0;
	while (got < size) {
		ssize_t k = read(pfd[0], (char *)out + got, size - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got != size)
		die("a worker failed", im->name);
}

/* ================================================================
 * Cost: in one process, and as processes
 * ================================================================ */

static unsigned char *read_whole(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		die(path, strerror(errno));
	unsigned char *buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0)
			die(path, "cannot read");
		got += (size_t)n;
	}
	close(fd);
	if (buf == NULL)
		die(path, "out of memory");
	*len = got;
	return buf;
}

/* The floor in-process: libjpeg's decode at 1/8 to RGB with djpeg's defaults. */
static void decode_floor(const unsigned char *jpeg, size_t len)
{
	struct jpeg_decompress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_decompress(&c);
	jpeg_mem_src(&c, jpeg, (unsigned long)len);
	jpeg_read_header(&c, TRUE);
	c.scale_num = 1;
	c.scale_denom = 8;
	c.out_color_space = JCS_RGB;
	jpeg_start_decompress(&c);
	unsigned char *row = malloc((size_t)c.output_width * 3);
	while (row && c.output_scanline < c.output_height) {
		JSAMPROW rp = row;
		jpeg_read_scanlines(&c, &rp, 1);
	}
	jpeg_finish_decompress(&c);
	jpeg_destroy_decompress(&c);
	free(row);
}

typedef struct pairs {
	int n;
	double a[MAX_PAIRS], b[MAX_PAIRS]; /* CPU ms: A (the floor or the peer), B (the rendition) */
	double aw[MAX_PAIRS], bw[MAX_PAIRS], arss, brss; /* wall ms; peak MiB */
	long bytes;
} pairs;

static void render_once(const unsigned char *jpeg, size_t len, long *bytes)
{
	void *out = NULL;
	size_t olen = 0;
	if (fic_photo_render(&out, &olen, jpeg, len, MAX_EDGE, OUT_QUALITY) != FIC_OK)
		die("fic_photo_render", fic_error_last()->message);
	fic_free(out);
	*bytes = (long)olen;
}

/* In a worker: floor and rendition alternately (A B, then B A, ...), after one of each. */
static void inprocess_worker(const ctx *cx, const image *im, int n, void *result)
{
	(void)cx;
	pairs *r = result;
	size_t len;
	unsigned char *jpeg = read_whole(im->path, &len);
	decode_floor(jpeg, len);
	render_once(jpeg, len, &r->bytes);
	r->n = n;
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < 2; k++) {
			bool floor_now = (k == 0) == (i % 2 == 0);
			double t = bs_cpu_ms(), w = bs_wall_ms();
			if (floor_now)
				decode_floor(jpeg, len);
			else
				render_once(jpeg, len, &r->bytes);
			t = bs_cpu_ms() - t;
			w = bs_wall_ms() - w;
			if (floor_now)
				r->a[i] = t, r->aw[i] = w;
			else
				r->b[i] = t, r->bw[i] = w;
		}
	}
	free(jpeg);
}

/* ---- where the rendition's time goes (in one process) ---- */

/* The rendition's decode, by libjpeg alone: the DCT scale the rendition
 * takes (fic__render_scale_denom), raw planes, the accurate IDCT. */
static void decode_planes(const unsigned char *jpeg, size_t len)
{
	struct jpeg_decompress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_decompress(&c);
	jpeg_mem_src(&c, jpeg, (unsigned long)len);
	jpeg_read_header(&c, TRUE);
	int longest = (int)(c.image_width > c.image_height ? c.image_width : c.image_height);
	c.scale_num = 1;
	c.scale_denom = (unsigned int)fic__render_scale_denom(longest, longest < MAX_EDGE ? longest : MAX_EDGE);
	c.raw_data_out = TRUE;
	c.dct_method = JDCT_ISLOW;
	jpeg_start_decompress(&c);
	JSAMPROW rows[MAX_COMPONENTS][32];
	JSAMPARRAY planes[MAX_COMPONENTS];
	unsigned char *buf[MAX_COMPONENTS] = { 0 };
#if JPEG_LIB_VERSION >= 70
#define DCT_SIZE_OF(ci) ((ci)->DCT_v_scaled_size)
	int lines = c.max_v_samp_factor * (int)c.min_DCT_v_scaled_size;
#else
#define DCT_SIZE_OF(ci) ((ci)->DCT_scaled_size)
	int lines = c.max_v_samp_factor * (int)c.min_DCT_scaled_size;
#endif
	for (int p = 0; p < c.num_components; p++) {
		jpeg_component_info *ci = &c.comp_info[p];
		size_t width = (size_t)ci->width_in_blocks * (size_t)DCT_SIZE_OF(ci);
		int nrows = ci->v_samp_factor * DCT_SIZE_OF(ci);
		buf[p] = malloc(width * (size_t)nrows);
		if (buf[p] == NULL || nrows > 32)
			die("decode_planes", "out of memory, or an unexpected sampling");
		for (int r = 0; r < nrows; r++)
			rows[p][r] = buf[p] + (size_t)r * width;
		planes[p] = rows[p];
	}
	while (c.output_scanline < c.output_height)
		jpeg_read_raw_data(&c, planes, (JDIMENSION)lines);
	jpeg_finish_decompress(&c);
	jpeg_destroy_decompress(&c);
	for (int p = 0; p < MAX_COMPONENTS; p++)
		free(buf[p]);
}

/* A rendition's own planes (4:2:0), to time libjpeg's encoder on. */
typedef struct yuv {
	int w, h;
	unsigned char *p[3];
	size_t stride[3];
} yuv;

/* The rows of the iMCU row starting at luma row y0 (16 luma, 8 of each chroma). */
static void yuv_rows(const yuv *y, int y0, JSAMPROW rows[3][16])
{
	for (int p = 0; p < 3; p++)
		for (int r = 0; r < (p == 0 ? 16 : 8); r++)
			rows[p][r] = y->p[p] + (size_t)((p == 0 ? y0 : y0 / 2) + r) * y->stride[p];
}

static void yuv_from_jpeg(yuv *y, const unsigned char *jpeg, size_t len)
{
	struct jpeg_decompress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_decompress(&c);
	jpeg_mem_src(&c, jpeg, (unsigned long)len);
	jpeg_read_header(&c, TRUE);
	if (c.num_components != 3 || c.comp_info[0].h_samp_factor != 2 || c.comp_info[0].v_samp_factor != 2)
		die("yuv_from_jpeg", "the rendition is not 4:2:0");
	c.raw_data_out = TRUE;
	jpeg_start_decompress(&c);
	y->w = (int)c.output_width;
	y->h = (int)c.output_height;
	for (int p = 0; p < 3; p++) {
		jpeg_component_info *ci = &c.comp_info[p];
		y->stride[p] = (size_t)ci->width_in_blocks * DCTSIZE;
		/* whole iMCU rows, and one more for the encoder's last */
		y->p[p] = calloc(y->stride[p], (size_t)ci->height_in_blocks * DCTSIZE + 2 * DCTSIZE);
		if (y->p[p] == NULL)
			die("yuv_from_jpeg", "out of memory");
	}
	JSAMPROW rows[3][16];
	JSAMPARRAY planes[3] = { rows[0], rows[1], rows[2] };
	while (c.output_scanline < c.output_height) {
		yuv_rows(y, (int)c.output_scanline, rows);
		jpeg_read_raw_data(&c, planes, 16);
	}
	jpeg_finish_decompress(&c);
	jpeg_destroy_decompress(&c);
}

/* libjpeg's encode of those planes, raw 4:2:0 in, standard Huffman tables, as
 * the rendition's encoder is set up; at `quality` with libjpeg's own
 * quantisation tables (the worker picks the quality that gives the
 * rendition's bytes, since an encode's cost follows what it writes). */
static long encode_planes(const yuv *y, int quality)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	unsigned char *out = NULL; /* libjpeg's, grown as it writes */
	unsigned long out_len = 0;
	jpeg_mem_dest(&c, &out, &out_len);
	c.image_width = (JDIMENSION)y->w;
	c.image_height = (JDIMENSION)y->h;
	c.input_components = 3;
	c.in_color_space = JCS_YCbCr;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	c.raw_data_in = TRUE;
	jpeg_start_compress(&c, TRUE);
	JSAMPROW rows[3][16];
	JSAMPARRAY planes[3] = { rows[0], rows[1], rows[2] };
	while (c.next_scanline < c.image_height) {
		yuv_rows(y, (int)c.next_scanline, rows);
		jpeg_write_raw_data(&c, planes, 16);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(out);
	return (long)out_len;
}

enum { PART_FLOOR, PART_DECODE, PART_ENCODE, PART_RENDER, PARTS };

typedef struct parts {
	int n;
	double ms[PARTS][MAX_PAIRS]; /* CPU ms, each part in each round */
	long encoded, rendered;      /* bytes */
	int quality;                 /* of the encode timed */
} parts;

/* In a worker: the floor, the rendition's decode, its encode and the whole
 * rendition, in a different order each round (a Latin square of four), after
 * one of each. */
static void parts_worker(const ctx *cx, const image *im, int n, void *result)
{
	(void)cx;
	parts *r = result;
	size_t len;
	unsigned char *jpeg = read_whole(im->path, &len);
	void *out = NULL;
	size_t olen = 0;
	if (fic_photo_render(&out, &olen, jpeg, len, MAX_EDGE, OUT_QUALITY) != FIC_OK)
		die("fic_photo_render", fic_error_last()->message);
	yuv y;
	yuv_from_jpeg(&y, out, olen);
	fic_free(out);
	render_once(jpeg, len, &r->rendered);
	r->quality = OUT_QUALITY;
	while ((r->encoded = encode_planes(&y, r->quality)) > r->rendered && r->quality > 30)
		r->quality--;
	decode_floor(jpeg, len);
	decode_planes(jpeg, len);
	r->n = n;
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < PARTS; k++) {
			int part = (k + i) % PARTS;
			double t = bs_cpu_ms();
			if (part == PART_FLOOR)
				decode_floor(jpeg, len);
			else if (part == PART_DECODE)
				decode_planes(jpeg, len);
			else if (part == PART_ENCODE)
				encode_planes(&y, r->quality);
			else
				render_once(jpeg, len, &r->rendered);
			r->ms[part][i] = bs_cpu_ms() - t;
		}
	}
	for (int p = 0; p < 3; p++)
		free(y.p[p]);
	free(jpeg);
}

/* Each part over the floor of the same round; the rest is the rendition less
 * libjpeg's decode and encode: resampling, buffers, EXIF. */
static void time_parts(const ctx *cx, const config *cfg, const image *im)
{
	static parts p;
	in_worker(parts_worker, cx, im, cfg->pairs, &p, sizeof p);
	static const char *what[] = {
		"libjpeg's decode at the rendition's scale, into planes",
		"libjpeg's encode of the rendition's planes",
		"the rest: resampling, buffers, EXIF",
		"the whole rendition (fic_photo_render)",
	};
	printf("  where the rendition's time goes, in one process (CPU time over the floor's in the same\n"
	       "  round; %d rounds, the four in rotating order):\n", p.n);
	for (int w = 0; w < 4; w++) {
		double v[MAX_PAIRS];
		for (int i = 0; i < p.n; i++) {
			double f = p.ms[PART_FLOOR][i];
			v[i] = w == 0   ? p.ms[PART_DECODE][i] / f
			       : w == 1 ? p.ms[PART_ENCODE][i] / f
			       : w == 2 ? (p.ms[PART_RENDER][i] - p.ms[PART_DECODE][i] - p.ms[PART_ENCODE][i]) / f
			                : p.ms[PART_RENDER][i] / f;
		}
		bs_summary s = bs_summarise(v, p.n);
		char buf[200];
		bs_format(buf, sizeof buf, &s, 3);
		printf("    %-56s %s\n", what[w], buf);
	}
	printf("    (the floor %.1f ms; the encode at libjpeg's quality %d: %ld bytes, the rendition's %ld)\n",
	       bs_summarise(p.ms[PART_FLOOR], p.n).median, p.quality, p.encoded, p.rendered);
}

/* As processes: `peer` (0: djpeg -scale 1/8, 1: vipsthumbnail Q80) and the
 * rendition alternately, after one of each. */
static void process_pairs(const ctx *cx, const image *im, int n, int peer, pairs *r)
{
	char out[4400], vout[4400];
	snprintf(out, sizeof out, "%s/%s-fieldinspect.jpg", cx->dir, im->name);
	snprintf(vout, sizeof vout, "%s/%s-vips-timed.jpg", cx->dir, im->name);
	memset(r, 0, sizeof *r);
	r->n = n;
	for (int i = -1; i < n; i++) {
		for (int k = 0; k < 2; k++) {
			bool peer_now = (k == 0) == (i % 2 == 0);
			run x = peer_now ? (peer ? run_vips(cx, im->path, vout, OUT_QUALITY) : run_floor(cx, im->path))
			                 : run_rendition(cx, im->path, out);
			if (i < 0)
				continue; /* the warm-up */
			if (peer_now)
				r->a[i] = x.cpu_ms, r->aw[i] = x.wall_ms, r->arss = fmax(r->arss, x.rss_mib);
			else
				r->b[i] = x.cpu_ms, r->bw[i] = x.wall_ms, r->brss = fmax(r->brss, x.rss_mib);
		}
	}
}

static bs_summary ratio_summary(const pairs *p, bool wall, bool inverse)
{
	double v[MAX_PAIRS];
	for (int i = 0; i < p->n; i++) {
		double a = wall ? p->aw[i] : p->a[i], b = wall ? p->bw[i] : p->b[i];
		v[i] = inverse ? a / b : b / a;
	}
	return bs_summarise(v, p->n);
}

static double median_of(const double *v, int n)
{
	return bs_summarise(v, n).median;
}

/* What one first touch of a fresh 4 KiB page costs here (best of three rounds of 16 MiB). */
static double fault_cost_us(void)
{
	const size_t n = 16u << 20, page = 4096;
	double best = INFINITY;
	for (int k = 0; k < 3; k++) {
		volatile char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NAN;
		double t = bs_wall_ms();
		for (size_t i = 0; i < n; i += page)
			p[i] = 1;
		t = (bs_wall_ms() - t) * 1e3 / (double)(n / page);
		munmap((void *)p, n);
		best = t < best ? t : best;
	}
	return best;
}

/* ================================================================
 * Quality: against the exact rendition, and vipsthumbnail at equal bytes
 * ================================================================ */

typedef struct quality {
	int ok;
	pq_score ours;                 /* quality 80 */
	pq_score curve[N_OUR_Q];       /* at our_q[] */
	pq_score vips[N_VIPS_Q];       /* at vips_q[]; bytes 0 when not run */
	pq_score vips_at_ours;         /* interpolated at ours.bytes (bytes 0: out of range) */
	pq_score ours_at_vips80;       /* ours interpolated at vipsthumbnail Q80's bytes */
} quality;

/* A curve's scores interpolated in log(bytes) at `bytes`; bytes 0 if out of range. */
static pq_score interpolate(const pq_score *c, int n, long bytes)
{
	pq_score r;
	memset(&r, 0, sizeof r);
	for (int i = 0; i + 1 < n; i++) {
		if (c[i].bytes <= 0 || c[i + 1].bytes <= 0 || bytes < c[i].bytes || bytes > c[i + 1].bytes)
			continue;
		double t = log((double)bytes / (double)c[i].bytes) / log((double)c[i + 1].bytes / (double)c[i].bytes);
		r.bytes = bytes;
		r.psnr_y = c[i].psnr_y + t * (c[i + 1].psnr_y - c[i].psnr_y);
		r.ssim_y = c[i].ssim_y + t * (c[i + 1].ssim_y - c[i].ssim_y);
		r.psnr_c = c[i].psnr_c + t * (c[i + 1].psnr_c - c[i].psnr_c);
		break;
	}
	return r;
}

static void score_or_die(pq_score *s, const pq_planes *ref, const char *path)
{
	if (pq_score_file(s, ref, path) != 0)
		die("scoring a rendition (size or format)", path);
}

static void quality_worker(const ctx *cx, const image *im, int n, void *result)
{
	(void)n;
	quality *q = result;
	memset(q, 0, sizeof *q);
	char out[4400];
	int longest = im->w > im->h ? im->w : im->h;
	int w = (int)lround((double)im->w * MAX_EDGE / longest), h = (int)lround((double)im->h * MAX_EDGE / longest);
	pq_planes ref;
	if (pq_reference(&ref, im->path, w, h) != 0)
		die("the reference", im->path);
	for (int i = 0; i < N_OUR_Q; i++) {
		snprintf(out, sizeof out, "%s/%s-fieldinspect-q%d.jpg", cx->dir, im->name, our_q[i]);
		if (fic_photo_render_file(im->path, out, MAX_EDGE, our_q[i]) != FIC_OK)
			die("fic_photo_render_file", fic_error_last()->message);
		score_or_die(&q->curve[i], &ref, out);
		if (our_q[i] == OUT_QUALITY)
			q->ours = q->curve[i];
	}
	for (int i = 0; cx->vips && i < N_VIPS_Q; i++) {
		snprintf(out, sizeof out, "%s/%s-vips-q%d.jpg", cx->dir, im->name, vips_q[i]);
		run_vips(cx, im->path, out, vips_q[i]);
		score_or_die(&q->vips[i], &ref, out);
		if (vips_q[i] == OUT_QUALITY)
			q->ours_at_vips80 = interpolate(q->curve, N_OUR_Q, q->vips[i].bytes);
	}
	if (cx->vips)
		q->vips_at_ours = interpolate(q->vips, N_VIPS_Q, q->ours.bytes);
	pq_planes_free(&ref);
	q->ok = 1;
}

/* ================================================================
 * Reporting
 * ================================================================ */

typedef struct outcome {
	bool have_in, have_proc, have_q;
	bs_summary in, proc;
	double peak_mib;
	int peak_o;
	double dpsnr, dssim, dchroma;
	bool q_compared;
} outcome;

static void print_cost(const char *how, const char *a, const char *b, const pairs *p, bs_summary *s)
{
	char buf[200];
	*s = ratio_summary(p, false, false);
	printf("    %s: %s %.1f ms, %s %.1f ms (CPU, medians)\n", how, a, median_of(p->a, p->n), b,
	       median_of(p->b, p->n));
	bs_format(buf, sizeof buf, s, 3);
	printf("      rendition / floor: %s   target <= %.1f: %s\n", buf, TARGET_VS_FLOOR,
	       bs_verdict_name(bs_at_most(s, TARGET_VS_FLOOR)));
}

static void cost(const ctx *cx, const config *cfg, const image *im, outcome *o)
{
	static pairs p;
	printf("  cost, CPU time (user + system), %d interleaved pairs:\n", cfg->pairs);
	in_worker(inprocess_worker, cx, im, cfg->pairs, &p, sizeof p);
	print_cost("in one process", "libjpeg decode at 1/8", "fic_photo_render", &p, &o->in);
	o->have_in = true;
	printf("      (%ld bytes; wall-clock medians %.1f and %.1f ms)\n", p.bytes, median_of(p.aw, p.n),
	       median_of(p.bw, p.n));
	time_parts(cx, cfg, im);
	if (cx->djpeg == NULL) {
		printf("    as processes: djpeg not installed%s\n", cfg->external ? "" : " or not asked for");
		return;
	}
	process_pairs(cx, im, cfg->pairs, 0, &p);
	print_cost("as processes", "djpeg -scale 1/8", "the rendition (fic_photo_render_file)", &p, &o->proc);
	o->have_proc = true;
}

static void peer(const ctx *cx, const config *cfg, const image *im, double fault_us)
{
	if (cx->vips == NULL)
		return;
	static pairs p;
	char buf[200];
	process_pairs(cx, im, cfg->pairs, 1, &p);
	printf("  vipsthumbnail, for information (this machine: a page fault costs %.2f us), %d pairs:\n",
	       fault_us, cfg->pairs);
	bs_summary s = ratio_summary(&p, false, true);
	bs_format(buf, sizeof buf, &s, 2);
	printf("    CPU, vipsthumbnail / rendition: %s (%.1f / %.1f ms)\n", buf, median_of(p.a, p.n),
	       median_of(p.b, p.n));
	s = ratio_summary(&p, true, true);
	bs_format(buf, sizeof buf, &s, 2);
	printf("    wall, vipsthumbnail / rendition: %s (%.1f / %.1f ms; vips uses both cores)\n", buf,
	       median_of(p.aw, p.n), median_of(p.bw, p.n));
	printf("    peak memory: vipsthumbnail %.1f MiB, rendition %.1f MiB\n", p.arss, p.brss);
}

static void memory(const ctx *cx, const config *cfg, const image *im, outcome *o)
{
	char out[4400];
	snprintf(out, sizeof out, "%s/%s-oriented.jpg", cx->dir, im->name);
	printf("  peak memory of the rendition process by EXIF orientation (max of %d runs):\n   ",
	       MEMORY_RUNS);
	o->peak_mib = 0;
	for (int orient = 1; orient <= 8; orient++) {
		if (cfg->quick && orient != 1 && orient != 6)
			continue;
		double peak = 0;
		for (int r = 0; r < MEMORY_RUNS; r++)
			peak = fmax(peak, run_rendition(cx, im->oriented[orient], out).rss_mib);
		printf(" %d: %.1f", orient, peak);
		if (peak > o->peak_mib)
			o->peak_mib = peak, o->peak_o = orient;
	}
	printf(" MiB\n    largest %.1f MiB (orientation %d)   target < %.0f MiB: %s\n", o->peak_mib,
	       o->peak_o, TARGET_PEAK_MIB, o->peak_mib < TARGET_PEAK_MIB ? "MET" : "NOT MET");
}

static void print_score(const char *who, const pq_score *s)
{
	printf("    %-34s %8ld B  luma %6.2f dB  SSIM %.5f  chroma %6.2f dB\n", who, s->bytes, s->psnr_y,
	       s->ssim_y, s->psnr_c);
}

static void quality_report(const ctx *cx, const image *im, outcome *o)
{
	static quality q;
	char who[64];
	in_worker(quality_worker, cx, im, 0, &q, sizeof q);
	printf("  quality against the exact rendition (float Lanczos-3 of the original), %dx%d:\n",
	       q.ours.w, q.ours.h);
	print_score("fieldinspect, quality 80", &q.ours);
	o->have_q = true;
	if (cx->vips == NULL)
		return;
	for (int i = 0; i < N_VIPS_Q; i++) {
		snprintf(who, sizeof who, "vipsthumbnail Q%d", vips_q[i]);
		print_score(who, &q.vips[i]);
	}
	if (q.vips_at_ours.bytes == 0) {
		printf("    the rendition's size is outside vipsthumbnail's Q %d..%d: not compared\n", vips_q[0],
		       vips_q[N_VIPS_Q - 1]);
		return;
	}
	print_score("vipsthumbnail at the same bytes", &q.vips_at_ours);
	o->q_compared = true;
	o->dpsnr = q.ours.psnr_y - q.vips_at_ours.psnr_y;
	o->dssim = q.ours.ssim_y - q.vips_at_ours.ssim_y;
	o->dchroma = q.ours.psnr_c - q.vips_at_ours.psnr_c;
	printf("    at equal bytes, rendition - vipsthumbnail: luma %+.2f dB (target >= %.1f: %s), SSIM %+.4f "
	       "(target >= %.3f: %s), chroma %+.2f dB\n", o->dpsnr, TARGET_DPSNR,
	       o->dpsnr >= TARGET_DPSNR ? "MET" : "NOT MET", o->dssim, TARGET_DSSIM,
	       o->dssim >= TARGET_DSSIM ? "MET" : "NOT MET", o->dchroma);
	const pq_score *v80 = NULL;
	for (int i = 0; i < N_VIPS_Q; i++)
		v80 = vips_q[i] == OUT_QUALITY ? &q.vips[i] : v80;
	if (v80 && q.ours_at_vips80.bytes)
		printf("    the other way round, at vipsthumbnail Q80's %ld B: rendition luma %+.2f dB, SSIM "
		       "%+.4f, chroma %+.2f dB\n", v80->bytes, q.ours_at_vips80.psnr_y - v80->psnr_y,
		       q.ours_at_vips80.ssim_y - v80->ssim_y, q.ours_at_vips80.psnr_c - v80->psnr_c);
}

static void print_header(const config *cfg, const ctx *cx, double fault_us)
{
	char model[256] = "?";
	FILE *fp = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (fp && fgets(line, sizeof line, fp))
		if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
			snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	if (fp)
		fclose(fp);
	double load[1] = { NAN };
	if (getloadavg(load, 1) != 1)
		load[0] = NAN;
	printf("photo_bench: the %d px upload rendition, JPEG quality %d (fieldinspect %s)\n", MAX_EDGE,
	       OUT_QUALITY, fic_version());
	printf("  machine: %s, %ld CPU(s) online, load average %.2f, a page fault %.2f us\n", model,
	       sysconf(_SC_NPROCESSORS_ONLN), load[0], fault_us);
	printf("  djpeg: %s; vipsthumbnail: %s\n", cx->djpeg ? cx->djpeg : "not used",
	       cx->vips ? cx->vips : "not used");
	printf("  %d interleaved pairs per comparison; verdicts judge the median's 95 %% interval "
	       "(bench_stats.h)\n", cfg->pairs);
	if (cfg->quick)
		printf("  --quick: a small photo and few pairs, to check the bench runs; the verdicts are not "
		       "the targets'\n");
}

static const char *mark(bool met)
{
	return met ? "MET" : "NOT MET";
}

static void print_summary(const image *ims, const outcome *os, int n, const ctx *cx)
{
	printf("\n== targets\n");
	for (int i = 0; i < n; i++) {
		const outcome *o = &os[i];
		printf("  %-10s", ims[i].name);
		if (o->have_in)
			printf(" in-process %.3f %s;", o->in.median,
			       bs_verdict_name(bs_at_most(&o->in, TARGET_VS_FLOOR)));
		if (o->have_proc)
			printf(" processes %.3f %s;", o->proc.median,
			       bs_verdict_name(bs_at_most(&o->proc, TARGET_VS_FLOOR)));
		printf(" peak %.1f MiB %s;", o->peak_mib, mark(o->peak_mib < TARGET_PEAK_MIB));
		if (o->q_compared)
			printf(" vs vips luma %+.2f dB %s, SSIM %+.4f %s", o->dpsnr, mark(o->dpsnr >= TARGET_DPSNR),
			       o->dssim, mark(o->dssim >= TARGET_DSSIM));
		else if (cx->vips == NULL)
			printf(" quality vs vipsthumbnail: not run");
		printf("\n");
	}
}

static void setup(ctx *cx, const config *cfg, const char *argv0)
{
	memset(cx, 0, sizeof *cx);
	ssize_t sl = readlink("/proc/self/exe", cx->self, sizeof cx->self - 1);
	if (sl <= 0)
		snprintf(cx->self, sizeof cx->self, "%s", argv0);
	snprintf(cx->dir, sizeof cx->dir, "%s/fic_photo_bench.XXXXXX", cfg->base);
	if (mkdtemp(cx->dir) == NULL)
		die("creating a temporary directory", strerror(errno));
	snprintf(cx->errlog, sizeof cx->errlog, "%s/stderr.txt", cx->dir);
	cx->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (cx->devnull < 0)
		die("/dev/null", strerror(errno));
	if (cfg->external) {
		cx->djpeg = find_tool("djpeg");
		cx->vips = find_tool("vipsthumbnail");
	}
}

static void remove_dir(const char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (strchr(dir, '\'') == NULL && system(cmd) != 0)
		fprintf(stderr, "photo_bench: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--render-child") == 0)
		return render_child(argv[2], argv[3]);
	config cfg;
	parse_args(&cfg, argc, argv);
	ctx cx;
	setup(&cx, &cfg, argv[0]);
	image all[] = {
		{ .name = "closeup", .what = "an inspector's close-up: licence text 17-110 px, test strip, fly "
		                             "screen, label", .w = 4000, .h = 3000, .seed = 7 },
		{ .name = "outdoor", .what = "the bench's earlier photo: sky, facade, gravel, licence board",
		  .w = 4000, .h = 3000, .seed = 0 },
		{ .name = "closeup48", .what = "the close-up at 48 MP", .w = 8000, .h = 6000, .seed = 11 },
	};
	if (cfg.quick)
		all[0].w = 2000, all[0].h = 1500;
	double fault_us = fault_cost_us();
	print_header(&cfg, &cx, fault_us);
	image ims[3];
	outcome os[3];
	int n = 0;
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		const char *at = strstr(cfg.images, all[i].name);
		size_t len = strlen(all[i].name);
		if (at == NULL || (at[len] != '\0' && at[len] != ','))
			continue;
		ims[n] = all[i];
		memset(&os[n], 0, sizeof os[n]);
		make_image(&cx, &ims[n]);
		printf("\n== %s: %s\n  %dx%d, %ld bytes (%.2f bits/pixel), q%d 4:2:0 baseline, generated in %.0f ms\n",
		       ims[n].name, ims[n].what, ims[n].w, ims[n].h, ims[n].bytes,
		       (double)ims[n].bytes * 8 / ((double)ims[n].w * ims[n].h), SCENE_QUALITY, ims[n].gen_ms);
		fflush(stdout);
		cost(&cx, &cfg, &ims[n], &os[n]);
		peer(&cx, &cfg, &ims[n], fault_us);
		memory(&cx, &cfg, &ims[n], &os[n]);
		quality_report(&cx, &ims[n], &os[n]);
		fflush(stdout);
		n++;
	}
	print_summary(ims, os, n, &cx);
	if (cfg.keep)
		printf("\n  kept: %s\n", cx.dir);
	else
		remove_dir(cx.dir);
	free(cx.djpeg);
	free(cx.vips);
	close(cx.devnull);
	return 0;
}
