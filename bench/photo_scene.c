/*
 * bench/photo_scene.c — see photo_scene.h.
 */
#include "photo_scene.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>

static void scene_die(const char *what, const char *detail)
{
	fprintf(stderr, "photo_bench: %s: %s\n", what, detail);
	exit(1);
}

/* ---- noise ---- */
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

/* ---- the outdoor scene (the bench's own photo) ---- */

#define PHOTO_W 4000
#define PHOTO_H 3000
#define SEED 0x5eed1234u

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
long scene_outdoor_write(const char *path)
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
		scene_die("generating the photo", "out of memory");
	/* a gently rolling horizon */
	for (int x = 0; x < PHOTO_W; x++)
		b.horizon[x] = 0;
	add_octave(b.horizon, PHOTO_W, 0, 9, 110.0f, SEED + 200u, b.col);
	add_octave(b.horizon, PHOTO_W, 0, 7, 25.0f, SEED + 201u, b.col);
	for (int x = 0; x < PHOTO_W; x++)
		b.horizon[x] += 1150.0f;

	FILE *fp = fopen(path, "wb");
	if (fp == NULL)
		scene_die(path, strerror(errno));
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
	jpeg_set_quality(&c, SCENE_QUALITY, TRUE);
	jpeg_start_compress(&c, TRUE);
	for (int y = 0; y < PHOTO_H; y++) {
		scene_row(&b, y);
		JSAMPROW rp = b.rgb;
		jpeg_write_scanlines(&c, &rp, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	if (fclose(fp) != 0)
		scene_die(path, strerror(errno));
	free(b.tex);
	free(b.fine);
	free(b.cloud);
	free(b.hue);
	free(b.col);
	free(b.horizon);
	free(b.rgb);
	struct stat st;
	if (stat(path, &st) != 0)
		scene_die(path, strerror(errno));
	return (long)st.st_size;
}


/* ---- the close-up: a licence, a test-strip card, a fly screen, a label ---- */

/* Everything is laid out on a 4000 x 3000 design frame; a pixel is 1/u of a
 * design unit, so a larger photo is the same scene with finer detail. */
typedef struct text_block {
	float x0, y0, gh;       /* first glyph's corner; glyph height (and width) */
	float pitch, line;      /* glyph and line pitch */
	int lines, chars;
	float r, g, b;
} text_block;

static const text_block closeup_text[] = {
	{ 560, 300, 110, 120, 0, 1, 10, 150, 30, 30 },   /* the licence: title */
	{ 380, 520, 52, 57, 84, 5, 34, 30, 30, 36 },     /* body, from large to fine print */
	{ 380, 960, 34, 37, 56, 6, 48, 30, 30, 36 },
	{ 380, 1320, 24, 26, 40, 6, 60, 30, 30, 36 },
	{ 380, 1600, 17, 18.5f, 29, 5, 80, 30, 30, 36 },
	{ 2735, 545, 20, 22, 0, 1, 40, 40, 40, 48 },     /* the card: pad labels */
	{ 2735, 820, 28, 30, 46, 2, 35, 40, 40, 48 },
	{ 600, 2480, 30, 32, 48, 2, 24, 25, 25, 25 },    /* the label's print */
	{ 600, 2600, 20, 21.5f, 32, 3, 36, 25, 25, 25 },
};

static const float pad_rgb[8][3] = {
	{ 250, 240, 245 }, { 246, 200, 220 }, { 238, 150, 196 }, { 220, 90, 160 },
	{ 250, 230, 90 },  { 200, 220, 80 },  { 120, 190, 110 }, { 60, 140, 160 },
};

typedef struct closeup {
	int w, h, ushift;
	float u;
	uint32_t seed;
	float *tex, *fine, *sky, *col;   /* per-row noise */
	float *sharp[3];                 /* three sharp rows (RGB), for the lens blur */
	unsigned char *rgb;
} closeup;

/* Distance (design units) from (lx, ly) in a glyph box of size gh to the
 * glyph's nearest stroke: 3 to 6 strokes between points of a 5 x 5 grid. */
static float glyph_dist(uint32_t seed, int gx, int gy, float lx, float ly, float gh)
{
	uint32_t g = hash3((uint32_t)gx, (uint32_t)gy, seed ^ 0x9u);
	int strokes = 3 + (int)(g % 4);
	float best = 1e9f, cell = gh / 5;
	for (int k = 0; k < strokes; k++) {
		uint32_t s = hash3((uint32_t)(gx * 8 + k), (uint32_t)gy, seed ^ 0x51u);
		float x0 = (float)(s % 5) * cell + cell / 2, y0 = (float)((s >> 3) % 5) * cell + cell / 2;
		float x1 = (float)((s >> 9) % 5) * cell + cell / 2, y1 = (float)((s >> 12) % 5) * cell + cell / 2;
		if ((s >> 6) % 4 == 0)
			y1 = y0;
		else if ((s >> 6) % 4 == 1)
			x1 = x0;
		float dx = x1 - x0, dy = y1 - y0, px = lx - x0, py = ly - y0;
		float len2 = dx * dx + dy * dy;
		float t = len2 > 0 ? clampf((px * dx + py * dy) / len2, 0, 1) : 0;
		float ex = px - t * dx, ey = py - t * dy, d = ex * ex + ey * ey;
		best = d < best ? d : best;
	}
	return sqrtf(best);
}

/* Ink coverage (0..1) of the text blocks at design point (x, y). */
static float text_ink(const closeup *s, float x, float y, const text_block **which)
{
	for (size_t i = 0; i < sizeof closeup_text / sizeof closeup_text[0]; i++) {
		const text_block *t = &closeup_text[i];
		float lx = x - t->x0, ly = y - t->y0;
		if (lx < 0 || ly < 0 || lx >= t->pitch * (float)t->chars)
			continue;
		int gx = (int)(lx / t->pitch), gy = t->line > 0 ? (int)(ly / t->line) : 0;
		lx -= (float)gx * t->pitch;
		ly -= t->line > 0 ? (float)gy * t->line : 0;
		if (gy >= t->lines || lx >= t->gh || ly >= t->gh)
			continue;
		uint32_t h = hash3((uint32_t)gx, (uint32_t)(gy + 64 * (int)i), s->seed ^ 0x77u);
		if (h % 11 == 0 || gx >= t->chars - (int)(h >> 8) % 6) /* spaces; ragged line ends */
			continue;
		float half = t->gh * 0.055f, d = glyph_dist(s->seed + (uint32_t)i, gx, gy, lx, ly, t->gh);
		float cover = clampf((half - d) * s->u + 0.5f, 0, 1); /* antialiased at pixel scale */
		if (cover > 0) {
			*which = t;
			return cover;
		}
	}
	return 0;
}

static int in_rect(float x, float y, float x0, float y0, float x1, float y1)
{
	return x >= x0 && x < x1 && y >= y0 && y < y1;
}

/* A QR-like code: 33 x 33 random modules of 9 units, finder squares at three corners. */
static int qr_dark(uint32_t seed, float x, float y)
{
	int mx = (int)((x - 2030) / 9), my = (int)((y - 1130) / 9);
	int fx = mx < 7 ? mx : mx >= 26 ? mx - 26 : -1, fy = my < 7 ? my : my >= 26 ? my - 26 : -1;
	if (fx >= 0 && fy >= 0 && !(mx >= 26 && my >= 26)) {
		int ring = fx < fy ? (fx < 6 - fy ? fx : 6 - fy) : (fy < 6 - fx ? fy : 6 - fx);
		return ring != 1;
	}
	return hash3((uint32_t)mx, (uint32_t)my, seed ^ 0x42u) & 1;
}

/* The wall, the desk and the window behind the screen: the backgrounds. */
static void background(const closeup *s, int x, float X, float Y, float *c)
{
	float t = s->tex[x], f = s->fine[x];
	if (Y >= 2330) { /* the desk: wood grain along x */
		float v = sinf(6.2832f * (Y + 40 * t + 6 * f) / 14.0f);
		float lum = 0.82f + 0.12f * v + 0.08f * f + 0.1f * t;
		c[0] = 150 * lum, c[1] = 105 * lum, c[2] = 66 * lum;
	} else if (in_rect(X, Y, 2700, 1220, 3840, 2260)) { /* through the window: sky and a tree */
		float tree = s->sky[x] + 0.25f * t - 0.35f + (Y - 1220) / 1400;
		c[0] = 175 + 30 * s->sky[x], c[1] = 202 + 20 * s->sky[x], c[2] = 238;
		if (tree > 0)
			c[0] = 60 + 40 * f, c[1] = 95 + 50 * f, c[2] = 50 + 20 * f;
	} else { /* plaster */
		float lum = 0.9f + 0.08f * t + 0.05f * f;
		c[0] = 206 * lum, c[1] = 200 * lum, c[2] = 189 * lum;
	}
}

/* The licence (paper, border, text, seal, code) at design point (X, Y). */
static void licence(const closeup *s, float X, float Y, int x, float *c)
{
	float p = 0.95f + 0.02f * s->fine[x] - 0.03f * (Y - 180) / 2100;
	c[0] = 244 * p, c[1] = 242 * p, c[2] = 234 * p;
	float bx = X - 260 < 2480 - X ? X - 260 : 2480 - X, by = Y - 180 < 2280 - Y ? Y - 180 : 2280 - Y;
	float edge = bx < by ? bx : by;
	if ((edge >= 30 && edge < 38) || (edge >= 44 && edge < 47))
		c[0] = 40, c[1] = 90, c[2] = 60;
	float dx = X - 2150, dy = Y - 1950, d = sqrtf(dx * dx + dy * dy);
	if ((d > 136 && d < 150) || (d < 100 && (fabsf(dx) < 5 || fabsf(dy) < 5 || fabsf(dx - dy) < 6)))
		c[0] = 205, c[1] = 40, c[2] = 45;
	if (in_rect(X, Y, 2030, 1130, 2327, 1427) && qr_dark(s->seed, X, Y))
		c[0] = c[1] = c[2] = 20;
}

/* The test-strip card: pads with gradients and outlines, a strip of small pads. */
static void card(float X, float Y, float *c)
{
	c[0] = 250, c[1] = 250, c[2] = 247;
	for (int i = 0; i < 8; i++) {
		float x0 = 2730 + 140 * (float)i;
		if (in_rect(X, Y, x0 - 3, 417, x0 + 113, 533) && !in_rect(X, Y, x0, 420, x0 + 110, 530))
			c[0] = c[1] = c[2] = 60;
		else if (in_rect(X, Y, x0, 420, x0 + 110, 530))
			for (int q = 0; q < 3; q++)
				c[q] = pad_rgb[i][q] * (0.92f + 0.08f * (Y - 420) / 110);
	}
	if (in_rect(X, Y, 2740, 700, 3800, 745)) {
		c[0] = c[1] = c[2] = 246;
		int k = (int)((X - 2760) / 170);
		if (X >= 2760 && k < 6 && X - 2760 - 170 * (float)k < 50 && Y >= 707 && Y < 738)
			for (int q = 0; q < 3; q++)
				c[q] = pad_rgb[(k * 3 + 1) % 8][q];
	}
}

/* The fly screen: thin wires 6.3 units apart, turned 2 degrees (antialiased). */
static float mesh_cover(const closeup *s, float X, float Y)
{
	float xr = X * 0.99939f + Y * 0.0349f, yr = Y * 0.99939f - X * 0.0349f;
	float mx = fmodf(xr, 6.3f), my = fmodf(yr, 6.3f);
	float dx = fabsf(mx - 0.8f), dy = fabsf(my - 0.8f);
	float d = dx < dy ? dx : dy;
	return clampf((0.8f - d) * s->u + 0.5f, 0, 1);
}

/* Row y of the scene, sharp, as RGB floats. */
static void closeup_row(closeup *s, int y, float *out)
{
	const int w = s->w;
	for (int x = 0; x < w; x++)
		s->tex[x] = s->fine[x] = s->sky[x] = 0;
	for (int k = 9; k >= 5; k--)
		add_octave(s->tex, w, y, k + s->ushift, 0.5f * powf(0.6f, (float)(9 - k)), s->seed + (uint32_t)k, s->col);
	for (int k = 2; k >= 0; k--) /* down to single pixels: plaster grit, paper fibre, wood */
		add_octave(s->fine, w, y, k + (k ? s->ushift : 0), 0.6f * powf(0.7f, (float)(2 - k)),
		           s->seed + 40u + (uint32_t)k, s->col);
	add_octave(s->sky, w, y, 8 + s->ushift, 0.8f, s->seed + 80u, s->col);
	add_octave(s->sky, w, y, 6 + s->ushift, 0.3f, s->seed + 81u, s->col);
	float Y = ((float)y + 0.5f) / s->u;
	for (int x = 0; x < w; x++) {
		float X = ((float)x + 0.5f) / s->u, c[3];
		background(s, x, X, Y, c);
		if (in_rect(X, Y, 260, 180, 2480, 2280))
			licence(s, X, Y, x, c);
		else if (in_rect(X, Y, 2680, 300, 3860, 1080))
			card(X, Y, c);
		else if (in_rect(X, Y, 2680, 1200, 3860, 2280) && !in_rect(X, Y, 2700, 1220, 3840, 2260))
			c[0] = 120, c[1] = 122, c[2] = 128; /* the window's frame */
		else if (in_rect(X, Y, 2700, 1220, 3840, 2260)) {
			float m = mesh_cover(s, X, Y);
			for (int q = 0; q < 3; q++)
				c[q] += (45 - c[q]) * m;
		} else if (in_rect(X, Y, 520, 2420, 2000, 2900)) {
			c[0] = 245, c[1] = 226, c[2] = 118; /* the label, and its barcode */
			if (in_rect(X, Y, 1400, 2480, 1950, 2700) &&
			    hash3((uint32_t)((X - 1400) / 3), 0, s->seed ^ 0x3u) % 3 == 0)
				c[0] = c[1] = c[2] = 25;
		}
		const text_block *t = NULL;
		float ink = text_ink(s, X, Y, &t);
		if (ink > 0) {
			c[0] += (t->r - c[0]) * ink;
			c[1] += (t->g - c[1]) * ink;
			c[2] += (t->b - c[2]) * ink;
		}
		for (int q = 0; q < 3; q++)
			out[3 * x + q] = c[q];
	}
}

/* Row y as the camera gives it: lens blur (1-2-1 each way), light falloff,
 * sensor noise (mostly luma). Needs sharp rows y-1, y, y+1 in s->sharp. */
static void closeup_camera(closeup *s, int y)
{
	const int w = s->w;
	const float *a = s->sharp[(y + 2) % 3], *b = s->sharp[y % 3], *d = s->sharp[(y + 1) % 3];
	for (int x = 0; x < w; x++) {
		int l = x > 0 ? x - 1 : 0, r = x + 1 < w ? x + 1 : w - 1;
		float vx = ((float)x - w / 2.0f) / (w / 2.0f), vy = ((float)y - s->h / 2.0f) / (s->h / 2.0f);
		float light = (1.04f - 0.08f * (float)x / (float)w) * (1.0f - 0.16f * (vx * vx + vy * vy));
		float n = (hashf(x, y, s->seed ^ 0xa1u) - 0.5f) * 12.0f;
		float nc = (hashf(x, y, s->seed ^ 0xa2u) - 0.5f) * 4.0f;
		for (int q = 0; q < 3; q++) {
			float v = (a[3 * l + q] + 2 * a[3 * x + q] + a[3 * r + q]) +
			          2 * (b[3 * l + q] + 2 * b[3 * x + q] + b[3 * r + q]) +
			          (d[3 * l + q] + 2 * d[3 * x + q] + d[3 * r + q]);
			v = v / 16 * light + n + (q == 0 ? nc : q == 2 ? -nc : 0);
			s->rgb[(size_t)x * 3 + (size_t)q] = (unsigned char)lrintf(clampf(v, 0, 255));
		}
	}
}

long scene_closeup_write(const char *path, int w, int h, uint32_t seed)
{
	closeup s = { .w = w, .h = h, .u = (float)w / 4000.0f, .seed = seed };
	s.ushift = (int)lrintf(log2f(s.u > 1 ? s.u : 1));
	s.tex = malloc((size_t)w * sizeof(float));
	s.fine = malloc((size_t)w * sizeof(float));
	s.sky = malloc((size_t)w * sizeof(float));
	s.col = malloc(((size_t)w + 2) * sizeof(float));
	s.rgb = malloc((size_t)w * 3);
	for (int i = 0; i < 3; i++)
		s.sharp[i] = malloc((size_t)w * 3 * sizeof(float));
	if (!s.tex || !s.fine || !s.sky || !s.col || !s.rgb || !s.sharp[0] || !s.sharp[1] || !s.sharp[2])
		scene_die("generating the photo", "out of memory");
	FILE *fp = fopen(path, "wb");
	if (fp == NULL)
		scene_die(path, strerror(errno));
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, fp);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c); /* YCbCr 4:2:0, baseline, standard Huffman tables, as cameras write */
	jpeg_set_quality(&c, SCENE_QUALITY, TRUE);
	jpeg_start_compress(&c, TRUE);
	closeup_row(&s, 0, s.sharp[0]);
	memcpy(s.sharp[2], s.sharp[0], (size_t)w * 3 * sizeof(float)); /* row -1: the edge repeated */
	for (int y = 0; y < h; y++) {
		if (y + 1 < h)
			closeup_row(&s, y + 1, s.sharp[(y + 1) % 3]);
		else
			memcpy(s.sharp[(y + 1) % 3], s.sharp[y % 3], (size_t)w * 3 * sizeof(float));
		closeup_camera(&s, y);
		JSAMPROW rp = s.rgb;
		jpeg_write_scanlines(&c, &rp, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	if (fclose(fp) != 0)
		scene_die(path, strerror(errno));
	free(s.tex);
	free(s.fine);
	free(s.sky);
	free(s.col);
	free(s.rgb);
	for (int i = 0; i < 3; i++)
		free(s.sharp[i]);
	struct stat st;
	if (stat(path, &st) != 0)
		scene_die(path, strerror(errno));
	return (long)st.st_size;
}
