/*
 * bench/photo_bench.c — the 1600 px upload rendition of a 12-megapixel photo:
 * fieldinspect versus vipsthumbnail, ImageMagick and plain djpeg/cjpeg, on the
 * same file, in the same run.
 *
 * What it measures. When an inspector attaches a photo, the library makes the
 * rendition that goes over the air (longest edge 1600, JPEG quality 80) from
 * the camera's original. This program generates a camera-like original —
 * 4000x3000, baseline JPEG, quality 92, 4:2:0, a few MB, with texture at every
 * scale (sky and clouds, a textured facade with windows, gravel and grass, a
 * licence board with text-like strokes and a red seal, a cable across the sky,
 * sensor grain), never a flat colour that would make decoding artificially
 * cheap — and times, each N times:
 *   - fieldinspect: this program re-executed as a child process that reads the
 *     file, calls fic_photo_render_file(in, out, 1600, 80) once (streaming file to file);
 *     and, to separate the library from process start-up, the same call timed
 *     in a loop inside one process (after a warm-up call);
 *   - vipsthumbnail FILE -s 1600 -o OUT[Q=80]           (libvips)
 *   - convert FILE -resize 1600x1600 -quality 80 OUT    (ImageMagick)
 *   - djpeg -scale 1/8 FILE > /dev/null: entropy (Huffman) decoding is all a
 *     JPEG rendition cannot avoid, and at 1/8 little else is done — the floor;
 *   - djpeg -scale 1/2 FILE | cjpeg -quality 80: a simple reference pipeline
 *     (its output is 2000x1500, not 1600x1200).
 * For each: median and minimum wall time, CPU time (user + system, so a tool
 * that uses both cores shows it), peak resident memory, minor page faults
 * (each a first touch of fresh memory: memory costs time too, and in a VM a
 * fault can cost ~10 us), and the output's size and dimensions. Then the targets: at least 2x faster than
 * vipsthumbnail, at most a fifth of its peak memory, and within 1.5x of the
 * djpeg 1/8 time — each printed MET or NOT MET with its figures.
 *
 * Why. Photos are the bulk of what an inspector's phone processes; the
 * rendition must be fast and, above all, small in memory on low-end phones.
 * General-purpose tools are the yardstick; djpeg 1/8 is the bound no JPEG
 * path can beat. Absolute times differ between machines; compare ratios
 * within one run (see /work/shared/MEASURED.md for anchor figures).
 *
 * How. Every process runs with fork/exec (no shell; the pipeline is two
 * children joined by a pipe), wall time is CLOCK_MONOTONIC from before the
 * fork to after wait4(), and peak memory is the child's ru_maxrss from
 * wait4() (for the pipeline, the larger of the two). One unmeasured warm-up
 * round comes first, then the tools run in rounds, so drift in machine speed
 * affects all alike. A tool that is not installed is reported as such and the
 * rest carry on. The in-process loop and a phase breakdown (libjpeg called
 * directly with the library's settings: decode at 1/8, decode at the
 * library's DCT scale of 1/2, encode 1600x1200 q80 with optimised Huffman
 * tables — and, for comparison, with the standard tables, which need no
 * whole-image coefficient buffer) run in a forked worker, after the process
 * rounds. The in-process figure runs on a heap the warm-up call already
 * touched, so it leaves out page faults the process figure pays.
 *
 * Traps handled. (1) Linux carries a child's resident size at fork time into
 * its ru_maxrss even across exec, so this parent never holds the photo or a
 * large buffer: the photo is streamed to disk row by row while it is
 * generated, and all in-process work happens in a forked worker. The
 * "start-up only" row (this program exec'd doing nothing) shows the floor
 * that leaves. (2) A tool found first on PATH may be a script wrapping the
 * real binary (timing its interpreter too); scripts are skipped in favour of
 * a later binary of the same name, and the path used is printed.
 *
 * A busy machine inflates every time, multi-threaded tools' most (they lose
 * their second core): the load average is printed, with a warning when it is
 * high. Memory figures do not depend on load.
 *
 * Usage: photo_bench [--repeat N | N] [--no-external] [--keep] [--dir PARENT]
 *   --repeat N     measured runs per tool (default 7)
 *   --no-external  only fieldinspect (CI smoke test: checks it runs)
 *   --keep         keep the temporary directory (photo and renditions)
 *   --dir PARENT   where to create the temporary directory ($TMPDIR or /tmp)
 */
#include <fieldinspect/fieldinspect.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>

#define PHOTO_W 4000
#define PHOTO_H 3000
#define PHOTO_QUALITY 92
#define MAX_EDGE 1600
#define OUT_QUALITY 80
#define DEFAULT_REPEAT 7
#define MAX_REPEAT 1000
#define SEED 0x5eed1234u

/* The targets. */
#define TARGET_SPEEDUP_VS_VIPS 2.0
#define TARGET_MEM_VS_VIPS 0.2
#define TARGET_VS_DJPEG8 1.5

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "photo_bench: %s: %s\n", what, detail);
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ================================================================
 * The photo: 4000x3000, generated one row at a time and streamed to
 * libjpeg, so neither it nor its pixels ever sit in this process.
 * ================================================================ */

static uint32_t hash3(uint32_t x, uint32_t y, uint32_t seed)
{
	uint32_t h = x * 0x8da6b343u ^ y * 0xd8163841u ^ seed * 0xcb1ab31fu;
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	h *= 0x846ca68bu;
	h ^= h >> 16;
	return h;
}

/* Uniform in [0, 1). */
static float hashf(int x, int y, uint32_t seed)
{
	return (float)(hash3((uint32_t)x, (uint32_t)y, seed) >> 8) * (1.0f / 16777216.0f);
}

static float smooth(float t)
{
	return t * t * (3.0f - 2.0f * t);
}

static float clampf(float v, float lo, float hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* One octave of value noise, cell 2^shift pixels (at most 1024): adds
 * amp * noise in [-amp, amp] to acc[0..w-1] for row y. col: scratch of
 * w / cell + 2 floats. */
static void add_octave(float *acc, int w, int y, int shift, float amp, uint32_t seed, float *col)
{
	int cell = 1 << shift;
	int cy = y >> shift;
	float ty = smooth((float)(y & (cell - 1)) / (float)cell);
	int ncols = (w >> shift) + 2;
	for (int i = 0; i < ncols; i++) {
		float a = hashf(i, cy, seed), b = hashf(i, cy + 1, seed);
		col[i] = (a + (b - a) * ty) * 2.0f - 1.0f;
	}
	float tx[1024];
	for (int j = 0; j < cell; j++)
		tx[j] = smooth((float)j / (float)cell);
	for (int i = 0, x = 0; x < w; i++) {
		float a = col[i], d = col[i + 1] - col[i];
		for (int j = 0; j < cell && x < w; j++, x++)
			acc[x] += amp * (a + d * tx[j]);
	}
}

/* The licence board and its text-like strokes. */
#define BOARD_X0 2350
#define BOARD_Y0 1250
#define BOARD_X1 3650
#define BOARD_Y1 2150
#define BOARD_FRAME 14
#define TEXT_X0 (BOARD_X0 + 70)
#define TEXT_Y0 (BOARD_Y0 + 90)
#define GLYPH_PITCH 56
#define GLYPH_BOX_W 44
#define GLYPH_BOX_H 52
#define LINE_PITCH 84
#define TEXT_LINES 8
#define SEAL_X 3420
#define SEAL_Y 1960
#define SEAL_R 110
#define BUILDING_BOTTOM 1520
#define CLOUDS_BELOW BUILDING_BOTTOM /* the horizon is at most 1150 + 135 */

/* Is (lx, ly), inside glyph (gx, gy)'s 44x52 box, on one of its strokes? */
static int on_glyph(int gx, int gy, int lx, int ly)
{
	uint32_t g = hash3((uint32_t)gx, (uint32_t)gy, SEED ^ 0x9u);
	int strokes = 3 + (int)(g % 4);
	for (int k = 0; k < strokes; k++) {
		uint32_t s = hash3((uint32_t)(gx * 8 + k), (uint32_t)gy, SEED ^ 0x51u);
		/* endpoints on a 5x5 grid over the box: horizontal, vertical or slanted */
		float x0 = (float)(s % 5) * 10.0f + 2.0f, y0 = (float)((s >> 3) % 5) * 12.0f + 2.0f;
		float x1, y1;
		switch ((s >> 6) % 4) {
		case 0: x1 = (float)((s >> 9) % 5) * 10.0f + 2.0f; y1 = y0; break;
		case 1: x1 = x0; y1 = (float)((s >> 9) % 5) * 12.0f + 2.0f; break;
		default:
			x1 = (float)((s >> 9) % 5) * 10.0f + 2.0f;
			y1 = (float)((s >> 12) % 5) * 12.0f + 2.0f;
			break;
		}
		float dx = x1 - x0, dy = y1 - y0, px = (float)lx - x0, py = (float)ly - y0;
		float len2 = dx * dx + dy * dy;
		float t = len2 > 0 ? clampf((px * dx + py * dy) / len2, 0, 1) : 0;
		float ex = px - t * dx, ey = py - t * dy;
		if (ex * ex + ey * ey <= 2.6f * 2.6f)
			return 1;
	}
	return 0;
}

static int on_text(int x, int y)
{
	if (x < TEXT_X0 || y < TEXT_Y0)
		return 0;
	int gx = (x - TEXT_X0) / GLYPH_PITCH, gy = (y - TEXT_Y0) / LINE_PITCH;
	int lx = (x - TEXT_X0) % GLYPH_PITCH, ly = (y - TEXT_Y0) % LINE_PITCH;
	if (gy >= TEXT_LINES || lx >= GLYPH_BOX_W || ly >= GLYPH_BOX_H)
		return 0;
	/* lines of different lengths; a space now and then; room for the seal */
	int line_len = 12 + (int)(hash3((uint32_t)gy, 7, SEED) % 9);
	if (gy >= TEXT_LINES - 3)
		line_len = line_len > 13 ? 13 : line_len;
	if (gx >= line_len || hash3((uint32_t)gx, (uint32_t)gy, SEED ^ 0x77u) % 9 == 0)
		return 0;
	return on_glyph(gx, gy, lx, ly);
}

typedef struct rowbufs {
	float *tex, *fine, *cloud, *hue, *col;
	float *horizon;
	unsigned char *rgb;
} rowbufs;

/* Fill `rgb` with row y of the scene. */
static void scene_row(rowbufs *b, int y)
{
	const int w = PHOTO_W;
	for (int x = 0; x < w; x++)
		b->tex[x] = b->fine[x] = b->cloud[x] = b->hue[x] = 0;
	/* broad texture, fine texture (8..2 px), clouds, colour variation */
	for (int s = 9; s >= 4; s--)
		add_octave(b->tex, w, y, s, 0.55f * powf(0.62f, (float)(9 - s)), SEED + (uint32_t)s, b->col);
	for (int s = 3; s >= 1; s--)
		add_octave(b->fine, w, y, s, 0.5f * powf(0.7f, (float)(3 - s)), SEED + 40u + (uint32_t)s, b->col);
	if (y < CLOUDS_BELOW) /* clouds show only in the sky and the windows */
		for (int s = 10; s >= 7; s--)
			add_octave(b->cloud, w, y, s, 0.6f * powf(0.5f, (float)(10 - s)), SEED + 80u + (uint32_t)s,
			           b->col);
	add_octave(b->hue, w, y, 9, 1.0f, SEED + 120u, b->col);
	add_octave(b->hue, w, y, 7, 0.4f, SEED + 121u, b->col);

	for (int x = 0; x < w; x++) {
		float t = b->tex[x], f = b->fine[x], hz = b->horizon[x];
		float r, g, bl;
		if ((float)y < hz) { /* sky with clouds */
			float v = (float)y / hz;
			r = 70 + 110 * v;
			g = 120 + 85 * v;
			bl = 200 + 35 * v;
			float c = clampf((b->cloud[x] + 0.15f * t + 0.05f) * 2.2f, 0, 1);
			c = smooth(c) * 0.85f;
			float shade = 228 + 20 * t;
			r += (shade - r) * c;
			g += (shade - g) * c;
			bl += (shade + 6 - bl) * c;
		} else { /* ground: grass and gravel, coarser towards the camera */
			float depth = clampf(((float)y - hz) / ((float)PHOTO_H - hz), 0, 1);
			float m = clampf(0.5f + 0.8f * b->hue[x], 0, 1);
			r = 80 + 55 * m;
			g = 112 - 8 * m;
			bl = 48 + 30 * m;
			float lum = 0.72f + 0.55f * t + (0.25f + 0.35f * depth) * f;
			r *= lum;
			g *= lum;
			bl *= lum;
		}
		/* a building: textured facade with a grid of dark windows */
		if (x >= 380 && x < 1720 && y >= 560 && y < BUILDING_BOTTOM) {
			float lum = 0.88f + 0.18f * t + 0.12f * f;
			r = 186 * lum;
			g = 160 * lum;
			bl = 134 * lum;
			int wx = (x - 380) % 150, wy = (y - 560) % 190;
			if (wx >= 30 && wx < 120 && wy >= 40 && wy < 160) {
				if (wx < 36 || wx >= 114 || wy < 46 || wy >= 154) { /* frames */
					r = 225; g = 225; bl = 218;
				} else { /* glass reflecting the sky */
					float refl = 0.8f + 0.4f * b->cloud[x] + 0.05f * f;
					r = 40 * refl; g = 52 * refl; bl = 66 * refl;
				}
			}
		}
		/* a cable across the sky, antialiased */
		float cy = 300 + 0.1f * (float)x + 0.00005f * ((float)x - 2000) * ((float)x - 2000);
		float a = clampf(4.0f - fabsf((float)y - cy), 0, 1);
		r += (25 - r) * a;
		g += (25 - g) * a;
		bl += (30 - bl) * a;
		/* the licence board: frame, paper with text-like strokes, a red seal */
		if (x >= BOARD_X0 && x < BOARD_X1 && y >= BOARD_Y0 && y < BOARD_Y1) {
			if (x < BOARD_X0 + BOARD_FRAME || x >= BOARD_X1 - BOARD_FRAME ||
			    y < BOARD_Y0 + BOARD_FRAME || y >= BOARD_Y1 - BOARD_FRAME) {
				r = 70 + 10 * t; g = 45 + 8 * t; bl = 32;
			} else {
				float p = 0.94f + 0.03f * b->hue[x] + 0.02f * f -
				          0.06f * (float)(x - BOARD_X0) / (float)(BOARD_X1 - BOARD_X0);
				r = 240 * p; g = 236 * p; bl = 226 * p;
				if (on_text(x, y)) {
					r = 32; g = 32; bl = 38;
				}
				float dx = (float)(x - SEAL_X), dy = (float)(y - SEAL_Y);
				float d = sqrtf(dx * dx + dy * dy);
				if ((d > SEAL_R - 10 && d < SEAL_R) || (d < SEAL_R - 30 && fabsf(dx) < 6) ||
				    (d < SEAL_R - 30 && fabsf(dy) < 6)) {
					r = 200; g = 38; bl = 42;
				}
			}
		}
		/* sensor grain (mostly luma, a little chroma) and a soft vignette */
		float n = (hashf(x, y, SEED ^ 0xa1u) - 0.5f) * 14.0f;
		float nc = (hashf(x, y, SEED ^ 0xa2u) - 0.5f) * 5.0f;
		float vx = ((float)x - PHOTO_W / 2) / (PHOTO_W / 2), vy = ((float)y - PHOTO_H / 2) / (PHOTO_H / 2);
		float vig = 1.0f - 0.18f * (vx * vx + vy * vy);
		unsigned char *o = b->rgb + (size_t)x * 3;
		o[0] = (unsigned char)lrintf(clampf(r * vig + n + nc, 0, 255));
		o[1] = (unsigned char)lrintf(clampf(g * vig + n, 0, 255));
		o[2] = (unsigned char)lrintf(clampf(bl * vig + n - nc, 0, 255));
	}
}

/* Writes the photo to `path`; returns its size in bytes. */
static long make_photo(const char *path)
{
	rowbufs b;
	size_t w = PHOTO_W;
	b.tex = malloc(w * sizeof(float));
	b.fine = malloc(w * sizeof(float));
	b.cloud = malloc(w * sizeof(float));
	b.hue = malloc(w * sizeof(float));
	b.col = malloc((w + 2) * sizeof(float));
	b.horizon = malloc(w * sizeof(float));
	b.rgb = malloc(w * 3);
	if (!b.tex || !b.fine || !b.cloud || !b.hue || !b.col || !b.horizon || !b.rgb)
		die("generating the photo", "out of memory");
	/* a gently rolling horizon */
	for (int x = 0; x < PHOTO_W; x++)
		b.horizon[x] = 0;
	add_octave(b.horizon, PHOTO_W, 0, 9, 110.0f, SEED + 200u, b.col);
	add_octave(b.horizon, PHOTO_W, 0, 7, 25.0f, SEED + 201u, b.col);
	for (int x = 0; x < PHOTO_W; x++)
		b.horizon[x] += 1150.0f;

	FILE *fp = fopen(path, "wb");
	if (fp == NULL)
		die(path, strerror(errno));
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, fp);
	c.image_width = PHOTO_W;
	c.image_height = PHOTO_H;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c); /* YCbCr 4:2:0, baseline, standard Huffman tables, as cameras write */
	jpeg_set_quality(&c, PHOTO_QUALITY, TRUE);
	jpeg_start_compress(&c, TRUE);
	for (int y = 0; y < PHOTO_H; y++) {
		scene_row(&b, y);
		JSAMPROW rp = b.rgb;
		jpeg_write_scanlines(&c, &rp, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	if (fclose(fp) != 0)
		die(path, strerror(errno));
	free(b.tex);
	free(b.fine);
	free(b.cloud);
	free(b.hue);
	free(b.col);
	free(b.horizon);
	free(b.rgb);
	struct stat st;
	if (stat(path, &st) != 0)
		die(path, strerror(errno));
	return (long)st.st_size;
}

/* ================================================================
 * Files
 * ================================================================ */

static unsigned char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		die(path, strerror(errno));
	unsigned char *buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL)
		die(path, "out of memory");
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0)
			die(path, n < 0 ? strerror(errno) : "file shrank while reading");
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A JPEG's dimensions, or 0x0 if it is not one. */
static void jpeg_dims(const char *path, int *w, int *h)
{
	*w = *h = 0;
	size_t len;
	if (file_size(path) <= 0)
		return;
	unsigned char *data = read_file(path, &len);
	if (len > 4 && data[0] == 0xFF && data[1] == 0xD8) {
		struct jpeg_decompress_struct c;
		struct jpeg_error_mgr err;
		c.err = jpeg_std_error(&err);
		jpeg_create_decompress(&c);
		jpeg_mem_src(&c, data, (unsigned long)len);
		if (jpeg_read_header(&c, TRUE) == JPEG_HEADER_OK) {
			*w = (int)c.image_width;
			*h = (int)c.image_height;
		}
		jpeg_destroy_decompress(&c);
	}
	free(data);
}

/* ================================================================
 * The fieldinspect child: this program, re-executed
 * ================================================================ */

static int render_child(const char *in, const char *out)
{
	/* File to file, as vipsthumbnail works: the library streams both ends. */
	int rc = fic_photo_render_file(in, out, MAX_EDGE, OUT_QUALITY);
	if (rc != FIC_OK) {
		fprintf(stderr, "fic_photo_render_file: %s\n", fic_error_last()->message);
		return 1;
	}
	return 0;
}

/* ================================================================
 * Running processes
 * ================================================================ */

/* The first executable called `name` on PATH that is not a script; a script
 * only if nothing else is there (*is_script set). NULL if none. */
static char *find_tool(const char *name, int *is_script)
{
	*is_script = 0;
	const char *path = getenv("PATH");
	if (path == NULL || path[0] == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	char *script = NULL;
	const char *p = path;
	while (*p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char cand[4200];
		if (n > 0 && n < 4000) {
			snprintf(cand, sizeof cand, "%.*s/%s", (int)n, p, name);
			struct stat st;
			if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
				char magic[2] = { 0, 0 };
				int fd = open(cand, O_RDONLY | O_CLOEXEC);
				if (fd >= 0) {
					if (read(fd, magic, 2) != 2)
						magic[0] = 0;
					close(fd);
				}
				if (magic[0] == '#' && magic[1] == '!') {
					if (script == NULL)
						script = strdup(cand);
				} else {
					free(script);
					return strdup(cand);
				}
			}
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	*is_script = script != NULL;
	return script;
}

/* fork + execv with fds 0/1/2 replaced where >= 0. Every fd this program
 * opens is O_CLOEXEC, so the child inherits nothing else. */
static pid_t spawn(const char *path, char *const argv[], int in_fd, int out_fd, int err_fd)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork", strerror(errno));
	if (pid == 0) {
		if ((in_fd >= 0 && dup2(in_fd, 0) < 0) || (out_fd >= 0 && dup2(out_fd, 1) < 0) ||
		    (err_fd >= 0 && dup2(err_fd, 2) < 0))
			_exit(126);
		execv(path, argv);
		_exit(127);
	}
	return pid;
}

typedef struct sample {
	double wall_ms, cpu_ms;
	long maxrss_kib;
	long minflt; /* minor page faults: first touches of fresh memory */
	int ok;
} sample;

static double tv_ms(struct timeval tv)
{
	return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

/* Waits for pid; adds its CPU time and maxes its peak RSS into s; 1 if it
 * exited with status 0. */
static int reap(pid_t pid, sample *s, int *status_out)
{
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			die("wait4", strerror(errno));
	s->cpu_ms += tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime);
	s->minflt += ru.ru_minflt;
	if (ru.ru_maxrss > s->maxrss_kib)
		s->maxrss_kib = ru.ru_maxrss;
	*status_out = status;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

typedef struct tool {
	const char *label;   /* table row */
	const char *exe[2];  /* programs needed: [0] and, for the pipeline, [1] */
	char *path[2];       /* resolved */
	int script[2];
	int self;            /* this program, re-executed */
	int external;
	int installed;
	const char *out;     /* output file name in the work dir, or NULL */
	char outpath[4200];
	sample *runs;
	int nruns;
	int failures;
	char fail_msg[512];
} tool;

enum { T_FIC, T_START, T_VIPS, T_MAGICK, T_DJPEG8, T_PIPE, T_COUNT };

typedef struct ctx {
	char dir[4096];
	char photo[4200];
	char errlog[4200];
	char self[4096];
	int devnull;
} ctx;

static void note_failure(tool *t, const ctx *cx, int status)
{
	t->failures++;
	if (t->fail_msg[0])
		return;
	char detail[300] = "";
	FILE *fp = fopen(cx->errlog, "r");
	if (fp) {
		if (fgets(detail, sizeof detail, fp) == NULL)
			detail[0] = '\0';
		fclose(fp);
		detail[strcspn(detail, "\n")] = '\0';
	}
	const char *sep = detail[0] ? ": " : "";
	if (WIFEXITED(status))
		snprintf(t->fail_msg, sizeof t->fail_msg, "exit %d%s%s", WEXITSTATUS(status), sep, detail);
	else
		snprintf(t->fail_msg, sizeof t->fail_msg, "killed by signal %d%s%s",
		         WIFSIGNALED(status) ? WTERMSIG(status) : 0, sep, detail);
}

static int open_errlog(const ctx *cx)
{
	int fd = open(cx->errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die(cx->errlog, strerror(errno));
	return fd;
}

/* One run of tool t; the sample is recorded if `record`. */
static void run_tool(tool *t, const ctx *cx, int record)
{
	sample s = { 0, 0, 0, 0, 0 };
	int status = 0, err = open_errlog(cx);
	char spec[4300];
	double t0, t1;
	if (t->out)
		unlink(t->outpath);
	if (t->self) {
		char *argv_fic[] = { (char *)cx->self, "--render-child", (char *)cx->photo, t->outpath, NULL };
		char *argv_nop[] = { (char *)cx->self, "--noop-child", NULL };
		t0 = now_ms();
		pid_t pid = spawn(cx->self, t->out ? argv_fic : argv_nop, -1, cx->devnull, err);
		s.ok = reap(pid, &s, &status);
		t1 = now_ms();
	} else if (t->path[1] == NULL) {
		char *argv[12];
		int n = 0;
		if (strcmp(t->exe[0], "vipsthumbnail") == 0) {
			snprintf(spec, sizeof spec, "%s[Q=%d]", t->outpath, OUT_QUALITY);
			argv[n++] = "vipsthumbnail";
			argv[n++] = (char *)cx->photo;
			argv[n++] = "-s";
			argv[n++] = "1600";
			argv[n++] = "-o";
			argv[n++] = spec;
		} else if (strcmp(t->exe[0], "convert") == 0) {
			argv[n++] = "convert";
			argv[n++] = (char *)cx->photo;
			argv[n++] = "-resize";
			argv[n++] = "1600x1600";
			argv[n++] = "-quality";
			argv[n++] = "80";
			argv[n++] = t->outpath;
		} else { /* djpeg -scale 1/8 */
			argv[n++] = "djpeg";
			argv[n++] = "-scale";
			argv[n++] = "1/8";
			argv[n++] = (char *)cx->photo;
		}
		argv[n] = NULL;
		t0 = now_ms();
		pid_t pid = spawn(t->path[0], argv, -1, cx->devnull, err);
		s.ok = reap(pid, &s, &status);
		t1 = now_ms();
	} else { /* djpeg -scale 1/2 FILE | cjpeg -quality 80 > OUT */
		char *argv_d[] = { "djpeg", "-scale", "1/2", (char *)cx->photo, NULL };
		char *argv_c[] = { "cjpeg", "-quality", "80", NULL };
		int out = open(t->outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int pfd[2];
		if (out < 0 || pipe2(pfd, O_CLOEXEC) != 0)
			die("pipeline", strerror(errno));
		t0 = now_ms();
		pid_t d = spawn(t->path[0], argv_d, -1, pfd[1], err);
		pid_t c = spawn(t->path[1], argv_c, pfd[0], out, err);
		close(pfd[0]);
		close(pfd[1]);
		int st2 = 0;
		int ok1 = reap(d, &s, &status);
		int ok2 = reap(c, &s, &st2);
		t1 = now_ms();
		close(out);
		s.ok = ok1 && ok2;
		if (ok1)
			status = st2;
	}
	close(err);
	s.wall_ms = t1 - t0;
	if (!s.ok)
		note_failure(t, cx, status);
	if (record && s.ok)
		t->runs[t->nruns++] = s;
}

/* ================================================================
 * In-process: the library call in a loop, and the phases with libjpeg
 * ================================================================ */

/* Decode at 1/denom to RGB, one row at a time, as the library does; returns
 * the decoded size in *w x *h. */
static void decode_scaled(const unsigned char *jpeg, size_t len, unsigned int denom,
                          unsigned char **keep, int *w, int *h)
{
	struct jpeg_decompress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_decompress(&c);
	jpeg_mem_src(&c, jpeg, (unsigned long)len);
	jpeg_read_header(&c, TRUE);
	c.scale_num = 1;
	c.scale_denom = denom;
	c.out_color_space = JCS_RGB;
	c.dct_method = JDCT_ISLOW;
	jpeg_start_decompress(&c);
	size_t stride = (size_t)c.output_width * 3;
	unsigned char *all = keep ? malloc(stride * c.output_height) : NULL;
	unsigned char *row = malloc(stride);
	if (row == NULL || (keep && all == NULL))
		die("decoding", "out of memory");
	while (c.output_scanline < c.output_height) {
		JSAMPROW rp = all ? all + stride * c.output_scanline : row;
		jpeg_read_scanlines(&c, &rp, 1);
	}
	*w = (int)c.output_width;
	*h = (int)c.output_height;
	jpeg_finish_decompress(&c);
	jpeg_destroy_decompress(&c);
	free(row);
	if (keep)
		*keep = all;
}

/* Encode w x h RGB at OUT_QUALITY; with optimised Huffman tables (`optimize`)
 * as the library does, or with the standard tables. */
static unsigned long encode_rgb(const unsigned char *px, int w, int h, int optimize)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	unsigned char *mem = NULL;
	unsigned long memlen = 0;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &mem, &memlen);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, OUT_QUALITY, TRUE);
	c.optimize_coding = optimize ? TRUE : FALSE;
	c.write_JFIF_header = TRUE;
	jpeg_start_compress(&c, TRUE);
	size_t stride = (size_t)w * 3;
	for (int y = 0; y < h; y++) {
		JSAMPROW rp = (JSAMPROW)(px + stride * (size_t)y);
		jpeg_write_scanlines(&c, &rp, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(mem);
	return memlen;
}

enum { P_RENDER, P_DEC8, P_DEC2, P_ENC, P_ENC_STD, P_COUNT };

typedef struct inproc {
	int n;
	double ms[P_COUNT][MAX_REPEAT];
	size_t out_bytes;
	int out_w, out_h, dec2_w, dec2_h;
	double fault_us; /* time of one first touch of a fresh 4 KiB page */
	int ok;
} inproc;

/* What a minor page fault costs here: touch fresh anonymous pages one by one
 * (best of three rounds of 16 MiB). */
static double fault_cost_us(void)
{
	const size_t n = 16u << 20, page = 4096;
	double best = INFINITY;
	for (int k = 0; k < 3; k++) {
		volatile char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NAN;
		double t = now_ms();
		for (size_t i = 0; i < n; i += page)
			p[i] = 1;
		t = (now_ms() - t) * 1e3 / (double)(n / page);
		munmap((void *)p, n);
		if (t < best)
			best = t;
	}
	return best;
}

static void inprocess_worker(const ctx *cx, int n, int fd)
{
	static inproc r;
	memset(&r, 0, sizeof r);
	r.n = n;
	size_t len;
	unsigned char *jpeg = read_file(cx->photo, &len);
	void *buf = NULL;
	size_t blen = 0;
	if (fic_photo_render(&buf, &blen, jpeg, len, MAX_EDGE, OUT_QUALITY) != FIC_OK) /* warm-up */
		die("fic_photo_render", fic_error_last()->message);
	/* the rendition's pixels, to time the encoder on the same size */
	unsigned char *px = NULL;
	decode_scaled(buf, blen, 1, &px, &r.out_w, &r.out_h);
	r.out_bytes = blen;
	fic_free(buf);
	for (int i = 0; i < n; i++) {
		int w, h;
		double t = now_ms();
		if (fic_photo_render(&buf, &blen, jpeg, len, MAX_EDGE, OUT_QUALITY) != FIC_OK)
			die("fic_photo_render", fic_error_last()->message);
		r.ms[P_RENDER][i] = now_ms() - t;
		fic_free(buf);
		t = now_ms();
		decode_scaled(jpeg, len, 8, NULL, &w, &h);
		r.ms[P_DEC8][i] = now_ms() - t;
		t = now_ms();
		decode_scaled(jpeg, len, 2, NULL, &r.dec2_w, &r.dec2_h);
		r.ms[P_DEC2][i] = now_ms() - t;
		t = now_ms();
		encode_rgb(px, r.out_w, r.out_h, 1);
		r.ms[P_ENC][i] = now_ms() - t;
		t = now_ms();
		encode_rgb(px, r.out_w, r.out_h, 0);
		r.ms[P_ENC_STD][i] = now_ms() - t;
	}
	r.fault_us = fault_cost_us();
	r.ok = 1;
	const char *p = (const char *)&r;
	size_t left = sizeof r;
	while (left > 0) {
		ssize_t k = write(fd, p, left);
		if (k <= 0)
			_exit(1);
		p += k;
		left -= (size_t)k;
	}
	free(px);
	free(jpeg);
	_exit(0);
}

static void run_inprocess(const ctx *cx, int n, inproc *r)
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
		inprocess_worker(cx, n, pfd[1]);
	}
	close(pfd[1]);
	memset(r, 0, sizeof *r);
	char *p = (char *)r;
	size_t got = 0;
	while (got < sizeof *r) {
		ssize_t k = read(pfd[0], p + got, sizeof *r - got);
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
	if (got != sizeof *r || !r->ok)
		die("in-process worker", "failed (see its message above)");
}

/* ================================================================
 * Figures
 * ================================================================ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
	double tmp[MAX_REPEAT];
	if (n <= 0)
		return NAN;
	memcpy(tmp, v, (size_t)n * sizeof *v);
	qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static double minimum(const double *v, int n)
{
	double m = n > 0 ? v[0] : NAN;
	for (int i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

typedef struct summary {
	int have;
	double med_ms, min_ms, cpu_ms, rss_mib, faults;
	long out_bytes;
	int out_w, out_h;
} summary;

static summary summarise(const tool *t)
{
	summary s;
	memset(&s, 0, sizeof s);
	if (t->nruns == 0)
		return s;
	double wall[MAX_REPEAT], cpu[MAX_REPEAT], flt[MAX_REPEAT];
	long rss = 0;
	for (int i = 0; i < t->nruns; i++) {
		wall[i] = t->runs[i].wall_ms;
		cpu[i] = t->runs[i].cpu_ms;
		flt[i] = (double)t->runs[i].minflt;
		if (t->runs[i].maxrss_kib > rss)
			rss = t->runs[i].maxrss_kib;
	}
	s.have = 1;
	s.med_ms = median(wall, t->nruns);
	s.min_ms = minimum(wall, t->nruns);
	s.cpu_ms = median(cpu, t->nruns);
	s.faults = median(flt, t->nruns);
	s.rss_mib = (double)rss / 1024.0;
	s.out_bytes = t->out ? file_size(t->outpath) : -1;
	if (t->out)
		jpeg_dims(t->outpath, &s.out_w, &s.out_h);
	return s;
}

static void print_output_cell(long bytes, int w, int h)
{
	if (bytes < 0)
		printf("  %-22s", "-");
	else
		printf("  %4dx%-4d %9ld B", w, h, bytes);
}

static void print_row(const tool *t, const summary *s)
{
	printf("  %-40s", t->label);
	if (!t->installed) {
		printf("  not installed (%s%s%s)\n", t->exe[0], t->exe[1] ? ", " : "",
		       t->exe[1] ? t->exe[1] : "");
		return;
	}
	if (!s->have) {
		printf("  failed every run: %s\n", t->fail_msg);
		return;
	}
	printf(" %9.1f %8.1f %8.1f %9.1f %7.0f", s->med_ms, s->min_ms, s->cpu_ms, s->rss_mib,
	       s->faults);
	print_output_cell(s->out_bytes, s->out_w, s->out_h);
	printf("\n");
	if (t->failures)
		printf("  %-40s   (%d run(s) failed: %s)\n", "", t->failures, t->fail_msg);
}

static const char *verdict(int met)
{
	return met ? "MET" : "NOT MET";
}

/* First line a command prints (stdout or stderr), for version strings. */
static void tool_version(const char *path, char *const argv[], const ctx *cx, char *out, size_t n)
{
	out[0] = '\0';
	int fd = open_errlog(cx);
	pid_t pid = spawn(path, argv, cx->devnull, fd, fd);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	close(fd);
	FILE *fp = fopen(cx->errlog, "r");
	if (fp) {
		if (fgets(out, (int)n, fp) == NULL)
			out[0] = '\0';
		fclose(fp);
	}
	out[strcspn(out, "\n")] = '\0';
}

static void remove_dir(const ctx *cx, tool *tools)
{
	for (int i = 0; i < T_COUNT; i++)
		if (tools[i].out)
			unlink(tools[i].outpath);
	unlink(cx->photo);
	unlink(cx->errlog);
	rmdir(cx->dir);
}

int main(int argc, char **argv)
{
	/* the fieldinspect child modes (this program re-executed) */
	if (argc == 4 && strcmp(argv[1], "--render-child") == 0)
		return render_child(argv[2], argv[3]);
	if (argc == 2 && strcmp(argv[1], "--noop-child") == 0)
		return 0;

	int repeat = DEFAULT_REPEAT, external = 1, keep = 0;
	const char *base = getenv("TMPDIR");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *end;
		if (strcmp(a, "--no-external") == 0) {
			external = 0;
		} else if (strcmp(a, "--keep") == 0) {
			keep = 1;
		} else if (strcmp(a, "--dir") == 0 && i + 1 < argc) {
			base = argv[++i];
		} else {
			if (strcmp(a, "--repeat") == 0 && i + 1 < argc)
				a = argv[++i];
			long v = strtol(a, &end, 10);
			if (a[0] == '\0' || *end != '\0' || v < 1 || v > MAX_REPEAT)
				die("usage", "photo_bench [--repeat N (1..1000) | N] [--no-external] [--keep] "
				             "[--dir PARENT]");
			repeat = (int)v;
		}
	}
	if (base == NULL || base[0] == '\0')
		base = "/tmp";

	ctx cx;
	memset(&cx, 0, sizeof cx);
	ssize_t sl = readlink("/proc/self/exe", cx.self, sizeof cx.self - 1);
	if (sl <= 0)
		snprintf(cx.self, sizeof cx.self, "%s", argv[0]);
	snprintf(cx.dir, sizeof cx.dir, "%s/fic_photo_bench.XXXXXX", base);
	if (mkdtemp(cx.dir) == NULL)
		die("creating a temporary directory", strerror(errno));
	snprintf(cx.photo, sizeof cx.photo, "%s/photo-4000x3000-q92.jpg", cx.dir);
	snprintf(cx.errlog, sizeof cx.errlog, "%s/stderr.txt", cx.dir);
	cx.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (cx.devnull < 0)
		die("/dev/null", strerror(errno));

	tool tools[T_COUNT] = {
		[T_FIC] = { .label = "fieldinspect (child process)", .self = 1, .out = "fieldinspect.jpg" },
		[T_START] = { .label = "  its start-up only (exec, exit)", .self = 1 },
		[T_VIPS] = { .label = "vipsthumbnail -s 1600", .exe = { "vipsthumbnail", NULL },
		             .external = 1, .out = "vips.jpg" },
		[T_MAGICK] = { .label = "convert -resize 1600x1600 -quality 80",
		               .exe = { "convert", NULL }, .external = 1, .out = "magick.jpg" },
		[T_DJPEG8] = { .label = "djpeg -scale 1/8 >/dev/null (floor)",
		               .exe = { "djpeg", NULL }, .external = 1 },
		[T_PIPE] = { .label = "djpeg -scale 1/2 | cjpeg -quality 80",
		             .exe = { "djpeg", "cjpeg" }, .external = 1, .out = "djpeg-cjpeg.jpg" },
	};
	for (int i = 0; i < T_COUNT; i++) {
		tool *t = &tools[i];
		t->installed = t->self;
		if (t->external && external) {
			t->installed = 1;
			for (int k = 0; k < 2 && t->exe[k]; k++) {
				t->path[k] = find_tool(t->exe[k], &t->script[k]);
				if (t->path[k] == NULL)
					t->installed = 0;
			}
		}
		if (t->out)
			snprintf(t->outpath, sizeof t->outpath, "%s/%s", cx.dir, t->out);
		t->runs = calloc((size_t)repeat, sizeof *t->runs);
		if (t->runs == NULL)
			die("allocating", "out of memory");
	}

	double load_before[1] = { NAN };
	if (getloadavg(load_before, 1) != 1)
		load_before[0] = NAN;
	double g0 = now_ms();
	long photo_bytes = make_photo(cx.photo);
	double gen_ms = now_ms() - g0;

	/* header */
	printf("photo_bench: %dx%d q%d 4:2:0 photo-like JPEG -> longest edge %d, JPEG q%d\n", PHOTO_W,
	       PHOTO_H, PHOTO_QUALITY, MAX_EDGE, OUT_QUALITY);
	printf("  photo: %s, %ld bytes (%.2f MB, %.2f bits/pixel), generated in %.0f ms\n", cx.photo,
	       photo_bytes, (double)photo_bytes / 1e6,
	       (double)photo_bytes * 8 / ((double)PHOTO_W * PHOTO_H), gen_ms);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	printf("  fieldinspect %s; %d measured run(s) per tool after one warm-up, tools taking turns;"
	       " %ld CPU(s) online, load average %.2f\n", fic_version(), repeat, ncpu, load_before[0]);
	if (load_before[0] >= 0.5)
		printf("  NOTE: other work is running (load average %.2f): times will be inflated and noisy,"
		       "\n  multi-threaded tools more so; rerun on a quiet machine for figures to quote\n",
		       load_before[0]);
	if (external) {
		for (int i = 0; i < T_COUNT; i++) {
			tool *t = &tools[i];
			if (!t->external || (i == T_PIPE)) /* djpeg shown once, cjpeg below */
				continue;
			char ver[256] = "";
			if (t->installed) {
				if (i == T_VIPS) {
					char *av[] = { "vipsthumbnail", "--vips-version", NULL };
					tool_version(t->path[0], av, &cx, ver, sizeof ver);
				} else if (i == T_MAGICK) {
					char *av[] = { "convert", "-version", NULL };
					tool_version(t->path[0], av, &cx, ver, sizeof ver);
				} else {
					char *av[] = { "djpeg", "-version", NULL };
					tool_version(t->path[0], av, &cx, ver, sizeof ver);
				}
			}
			printf("  %-14s %s%s%s%s\n", t->exe[0], t->installed ? t->path[0] : "not installed",
			       t->script[0] ? " (a script: its interpreter is timed too)" : "",
			       ver[0] ? "  — " : "", ver);
		}
		tool *pt = &tools[T_PIPE];
		if (pt->installed || pt->path[1])
			printf("  %-14s %s\n", "cjpeg", pt->path[1] ? pt->path[1] : "not installed");
		else
			printf("  %-14s %s\n", "cjpeg", "not installed");
	} else {
		printf("  --no-external: vipsthumbnail, ImageMagick and djpeg/cjpeg skipped\n");
	}
	fflush(stdout);

	/* warm-up, then measured rounds */
	for (int round = -1; round < repeat; round++)
		for (int i = 0; i < T_COUNT; i++)
			if (tools[i].installed && (tools[i].self || external))
				run_tool(&tools[i], &cx, round >= 0);

	inproc ip;
	int nin = repeat;
	run_inprocess(&cx, nin, &ip);

	summary s[T_COUNT];
	for (int i = 0; i < T_COUNT; i++)
		s[i] = summarise(&tools[i]);

	printf("\n  %-40s %9s %8s %8s %9s %7s  %s\n", "", "median ms", "min ms", "cpu ms", "peak MiB",
	       "faults", "output");
	for (int i = 0; i < T_COUNT; i++) {
		if (!tools[i].self && !external)
			continue;
		print_row(&tools[i], &s[i]);
		if (i == T_START) {
			double med = median(ip.ms[P_RENDER], ip.n);
			printf("  %-40s %9.1f %8.1f %8s %9s %7s", "fieldinspect (in-process call)", med,
			       minimum(ip.ms[P_RENDER], ip.n), "-", "-", "-");
			print_output_cell((long)ip.out_bytes, ip.out_w, ip.out_h);
			printf("\n");
		}
	}
	printf("  (wall: fork to wait4, median and min of the runs; cpu: user+system, median; peak MiB:\n"
	       "   ru_maxrss, largest of the runs; faults: minor page faults, i.e. first touches of fresh\n"
	       "   memory, median; in-process: %d call(s) in one process after a warm-up, on a heap the\n"
	       "   warm-up already touched)\n", ip.n);

	double render = median(ip.ms[P_RENDER], ip.n), dec8 = median(ip.ms[P_DEC8], ip.n),
	       dec2 = median(ip.ms[P_DEC2], ip.n), enc = median(ip.ms[P_ENC], ip.n),
	       enc_std = median(ip.ms[P_ENC_STD], ip.n);
	printf("\n  Where the library's time goes (in-process, libjpeg called directly with its "
	       "settings; medians):\n");
	printf("    %-58s %7.1f ms\n", "fic_photo_render, whole call", render);
	char label[128];
	snprintf(label, sizeof label, "decode at 1/2 (%dx%d, ISLOW IDCT, RGB), no resize", ip.dec2_w,
	         ip.dec2_h);
	printf("    %-58s %7.1f ms  (%.0f %%)\n", label, dec2, 100 * dec2 / render);
	/* The library encodes with the standard Huffman tables (no whole-image buffer). */
	snprintf(label, sizeof label, "encode %dx%d q%d, standard Huffman tables", ip.out_w, ip.out_h,
	         OUT_QUALITY);
	printf("    %-58s %7.1f ms  (%.0f %%)\n", label, enc_std, 100 * enc_std / render);
	printf("    %-58s %7.1f ms  (%.0f %%)\n", "the rest: tent resampling 2000->1600, buffers",
	       render - dec2 - enc_std, 100 * (render - dec2 - enc_std) / render);
	printf("    for comparison:\n");
	printf("    %-58s %7.1f ms\n", "  decode at 1/8 (the entropy-decoding floor)", dec8);
	printf("    %-58s %7.1f ms\n", "  the same encode with optimised Huffman tables", enc);
	if (s[T_FIC].have && s[T_START].have) {
		double fresh = s[T_FIC].faults - s[T_START].faults;
		printf("    A first touch of a fresh 4 KiB page costs %.2f us here; the child process's %.0f\n"
		       "    faults beyond start-up (%.1f MiB of fresh memory) come to about %.0f ms of its"
		       " %.1f ms.\n", ip.fault_us, fresh, fresh * 4096 / (1024.0 * 1024.0),
		       fresh * ip.fault_us / 1e3, s[T_FIC].med_ms);
	}

	const summary *fic = &s[T_FIC], *vips = &s[T_VIPS], *d8 = &s[T_DJPEG8];
	printf("\n  Ratios and the issue's targets:\n");
	if (!fic->have) {
		printf("    fieldinspect failed: %s\n", tools[T_FIC].fail_msg);
	} else if (!external) {
		printf("    (external tools skipped: no ratios)\n");
	} else {
		if (vips->have) {
			double sp = vips->med_ms / fic->med_ms, mem = fic->rss_mib / vips->rss_mib;
			printf("    time, vipsthumbnail / fieldinspect (processes): %.1f / %.1f ms = %.2fx   "
			       "target >= %.1fx: %s\n", vips->med_ms, fic->med_ms, sp, TARGET_SPEEDUP_VS_VIPS,
			       verdict(sp >= TARGET_SPEEDUP_VS_VIPS));
			printf("    peak memory, fieldinspect / vipsthumbnail: %.1f / %.1f MiB = %.3f   "
			       "target <= %.2f: %s\n", fic->rss_mib, vips->rss_mib, mem, TARGET_MEM_VS_VIPS,
			       verdict(mem <= TARGET_MEM_VS_VIPS));
			if (mem > TARGET_MEM_VS_VIPS)
				printf("      (the target needs fieldinspect <= %.1f MiB, %.1f MiB less; of that budget"
				       "\n       start-up takes %.1f MiB and the photo, held in memory for the call,"
				       " %.1f MiB)\n", vips->rss_mib * TARGET_MEM_VS_VIPS,
				       fic->rss_mib - vips->rss_mib * TARGET_MEM_VS_VIPS, s[T_START].rss_mib,
				       (double)photo_bytes / (1024.0 * 1024.0));
			printf("    output bytes, fieldinspect / vipsthumbnail: %ld / %ld = %.2f   (no target)\n",
			       fic->out_bytes, vips->out_bytes,
			       vips->out_bytes > 0 ? (double)fic->out_bytes / (double)vips->out_bytes : NAN);
		} else {
			printf("    vipsthumbnail: %s — time and memory targets cannot be judged\n",
			       tools[T_VIPS].installed ? "failed" : "not installed");
		}
		if (s[T_MAGICK].have)
			printf("    time, ImageMagick / fieldinspect: %.2fx; peak memory, fieldinspect / "
			       "ImageMagick: %.3f   (no target)\n", s[T_MAGICK].med_ms / fic->med_ms,
			       fic->rss_mib / s[T_MAGICK].rss_mib);
		if (d8->have) {
			double rp = fic->med_ms / d8->med_ms, ri = render / dec8;
			printf("    time, fieldinspect / djpeg -scale 1/8, process vs process: %.1f / %.1f ms = "
			       "%.2fx   target <= %.1fx: %s\n", fic->med_ms, d8->med_ms, rp, TARGET_VS_DJPEG8,
			       verdict(rp <= TARGET_VS_DJPEG8));
			printf("    time, fieldinspect / decode at 1/8, in-process vs in-process: %.1f / %.1f ms "
			       "= %.2fx   target <= %.1fx: %s\n", render, dec8, ri, TARGET_VS_DJPEG8,
			       verdict(ri <= TARGET_VS_DJPEG8));
			printf("      (process figures include exec and start-up for both; the in-process pair "
			       "is the library\n       call against libjpeg's own 1/8 decode in the same "
			       "process, without writing output)\n");
		} else {
			printf("    djpeg: %s — the djpeg 1/8 target cannot be judged\n",
			       tools[T_DJPEG8].installed ? "failed" : "not installed");
		}
	}

	if (keep)
		printf("\n  kept: %s\n", cx.dir);
	else
		remove_dir(&cx, tools);
	for (int i = 0; i < T_COUNT; i++) {
		free(tools[i].runs);
		free(tools[i].path[0]);
		free(tools[i].path[1]);
	}
	close(cx.devnull);
	return fic->have ? 0 : 1;
}
