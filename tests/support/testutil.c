/*
 * tests/support/testutil.c — see testutil.h.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *tmpl;
	if (asprintf(&tmpl, "%s/fictest.XXXXXX", base && base[0] ? base : "/tmp") < 0)
		return NULL;
	if (mkdtemp(tmpl) == NULL) {
		free(tmpl);
		return NULL;
	}
	return tmpl;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tu_rmtree(const char *path)
{
	if (path)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_path(const char *dir, const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	size_t n = fwrite(data, 1, len, f);
	int rc = fclose(f);
	return n == len && rc == 0 ? 0 : -1;
}

static int64_t fake_wall(void *ctx)
{
	return ((tu_clock *)ctx)->wall_ms;
}

static int64_t fake_mono(void *ctx)
{
	return ((tu_clock *)ctx)->mono_ms;
}

static int fake_boot(void *ctx, char *buf, size_t size)
{
	snprintf(buf, size, "%s", ((tu_clock *)ctx)->boot_id);
	return 0;
}

static int fake_random(void *ctx, void *buf, size_t len)
{
	if (((tu_clock *)ctx)->fail_random)
		return FIC_EIO;
	return fic_platform_default()->random_bytes(NULL, buf, len);
}

static void fake_log(void *ctx, fic_log_level level, const char *msg)
{
	tu_clock *c = ctx;
	(void)level;
	c->log_count++;
	snprintf(c->last_log, sizeof c->last_log, "%s", msg);
}

void tu_platform(fic_platform *p, tu_clock *clk)
{
	memset(clk, 0, sizeof *clk);
	clk->wall_ms = 1772352000000LL; /* 2026-03-01T08:00:00Z */
	clk->mono_ms = 1000;
	snprintf(clk->boot_id, sizeof clk->boot_id, "test-boot-1");
	memset(p, 0, sizeof *p);
	p->version = FIC_PLATFORM_VERSION;
	p->ctx = clk;
	p->wall_ms = fake_wall;
	p->monotonic_ms = fake_mono;
	p->boot_id = fake_boot;
	p->random_bytes = fake_random;
	p->log = fake_log;
}

static long fail_at, count, live;
static bool failed;

static void *counting_realloc(void *ptr, size_t size, void *payload)
{
	(void)payload;
	count++;
	if (fail_at > 0 && --fail_at == 0) {
		failed = true;
		return NULL;
	}
	void *n = realloc(ptr, size);
	if (n && ptr == NULL)
		live++;
	return n;
}

static void counting_free(void *ptr, void *payload)
{
	(void)payload;
	if (ptr) {
		live--;
		free(ptr);
	}
}

void tu_alloc_install(void)
{
	fic_allocator a = { FIC_ALLOCATOR_VERSION, counting_realloc, counting_free, NULL };
	fic_allocator_set(&a);
}

void tu_alloc_fail_at(long n)
{
	fail_at = n;
	failed = false;
}

long tu_alloc_live(void)
{
	return live;
}

long tu_alloc_count(void)
{
	return count;
}

bool tu_alloc_failed(void)
{
	return failed;
}

#include <jpeglib.h>

unsigned char *tu_make_jpeg(int width, int height, int components, int progressive, int quality,
                            size_t *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	unsigned char *out = NULL;
	unsigned long outlen = 0;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, &outlen);
	c.image_width = (JDIMENSION)width;
	c.image_height = (JDIMENSION)height;
	c.input_components = components;
	c.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 4 ? JCS_CMYK : JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	if (progressive)
		jpeg_simple_progression(&c);
	jpeg_start_compress(&c, TRUE);
	unsigned char *row = malloc((size_t)width * (size_t)components);
	unsigned int seed = 12345;
	while (c.next_scanline < c.image_height) {
		int y = (int)c.next_scanline;
		for (int x = 0; x < width; x++) {
			seed = seed * 1103515245u + 12345u;
			int noise = (int)((seed >> 16) & 31) - 16;
			for (int k = 0; k < components; k++) {
				int v = (x * 255 / (width > 1 ? width - 1 : 1) + y * 3 + k * 60 + noise) & 255;
				row[(size_t)x * (size_t)components + (size_t)k] = (unsigned char)v;
			}
		}
		JSAMPROW rp = row;
		jpeg_write_scanlines(&c, &rp, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(row);
	*len = outlen;
	return out;
}
