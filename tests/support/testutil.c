/*
 * tests/support/testutil.c — see testutil.h.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "internal.h"

#include <sodium.h>

#include <ftw.h>
#include <stdatomic.h>
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
	tu_clock *c = ctx;
	if (c->hook && c->hook_at > 0 && --c->hook_at == 0) {
		void (*h)(void *) = c->hook;
		c->hook = NULL;
		h(c->hook_arg);
	}
	if (c->fail_random)
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

/* Atomic: the engine's photo lanes allocate from threads of their own. */
static atomic_long fail_at, count, live;
static atomic_bool failed;

static void *counting_realloc(void *ptr, size_t size, void *payload)
{
	(void)payload;
	atomic_fetch_add(&count, 1);
	long f = atomic_load(&fail_at);
	while (f > 0 && !atomic_compare_exchange_weak(&fail_at, &f, f - 1))
		;
	if (f == 1) {
		atomic_store(&failed, true);
		return NULL;
	}
	void *n = realloc(ptr, size);
	if (n && ptr == NULL)
		atomic_fetch_add(&live, 1);
	return n;
}

static void counting_free(void *ptr, void *payload)
{
	(void)payload;
	if (ptr) {
		atomic_fetch_sub(&live, 1);
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
	atomic_store(&fail_at, n);
	atomic_store(&failed, false);
}

long tu_alloc_live(void)
{
	return atomic_load(&live);
}

long tu_alloc_count(void)
{
	return atomic_load(&count);
}

bool tu_alloc_failed(void)
{
	return atomic_load(&failed);
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

#include <libexif/exif-data.h>
#include <math.h>

static ExifEntry *tu_exif_entry(ExifData *ed, ExifIfd ifd, ExifTag tag, ExifFormat fmt,
                                unsigned long comps)
{
	ExifEntry *e = exif_entry_new();
	e->tag = tag;
	e->format = fmt;
	e->components = comps;
	e->size = exif_format_get_size(fmt) * (unsigned int)comps;
	e->data = calloc(1, e->size);
	exif_content_add_entry(ed->ifd[ifd], e);
	exif_entry_unref(e);
	return e;
}

static void tu_gps(ExifData *ed, ExifTag tag, ExifTag ref_tag, double v, char pos, char neg)
{
	ExifByteOrder bo = exif_data_get_byte_order(ed);
	ExifEntry *e = tu_exif_entry(ed, EXIF_IFD_GPS, tag, EXIF_FORMAT_RATIONAL, 3);
	double a = fabs(v);
	unsigned deg = (unsigned)a, min = (unsigned)((a - deg) * 60);
	double sec = ((a - deg) * 60 - min) * 60;
	ExifRational r[3] = { { deg, 1 }, { min, 1 }, { (ExifLong)(sec * 1000 + 0.5), 1000 } };
	for (int i = 0; i < 3; i++)
		exif_set_rational(e->data + 8 * i, bo, r[i]);
	ExifEntry *ref = tu_exif_entry(ed, EXIF_IFD_GPS, ref_tag, EXIF_FORMAT_ASCII, 2);
	ref->data[0] = (unsigned char)(v < 0 ? neg : pos);
}

unsigned char *tu_make_jpeg_exif(int width, int height, int orientation, const char *taken_at,
                                 int has_gps, double lat, double lon, size_t *len)
{
	ExifData *ed = exif_data_new();
	exif_data_set_byte_order(ed, EXIF_BYTE_ORDER_INTEL);
	if (orientation) {
		ExifEntry *e = tu_exif_entry(ed, EXIF_IFD_0, EXIF_TAG_ORIENTATION, EXIF_FORMAT_SHORT, 1);
		exif_set_short(e->data, EXIF_BYTE_ORDER_INTEL, (ExifShort)orientation);
	}
	if (taken_at) {
		ExifEntry *e = tu_exif_entry(ed, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, EXIF_FORMAT_ASCII, 20);
		memcpy(e->data, taken_at, 19);
	}
	if (has_gps) {
		tu_gps(ed, (ExifTag)EXIF_TAG_GPS_LATITUDE, (ExifTag)EXIF_TAG_GPS_LATITUDE_REF, lat, 'N', 'S');
		tu_gps(ed, (ExifTag)EXIF_TAG_GPS_LONGITUDE, (ExifTag)EXIF_TAG_GPS_LONGITUDE_REF, lon, 'E', 'W');
	}
	unsigned char *exif = NULL;
	unsigned int exif_len = 0;
	exif_data_save_data(ed, &exif, &exif_len);
	exif_data_unref(ed);

	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	unsigned char *out = NULL;
	unsigned long outlen = 0;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, &outlen);
	c.image_width = (JDIMENSION)width;
	c.image_height = (JDIMENSION)height;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 95, TRUE);
	jpeg_start_compress(&c, TRUE);
	if (exif && exif_len)
		jpeg_write_marker(&c, JPEG_APP0 + 1, exif, exif_len);
	free(exif);
	unsigned char *row = malloc((size_t)width * 3);
	while (c.next_scanline < c.image_height) {
		int y = (int)c.next_scanline;
		for (int x = 0; x < width; x++) {
			bool right = x >= width / 2, bottom = y >= height / 2;
			unsigned char *p = row + 3 * x;
			p[0] = (!right && !bottom) || (right && bottom) ? 255 : 0;
			p[1] = (right && !bottom) || (right && bottom) ? 255 : 0;
			p[2] = (!right && bottom) || (right && bottom) ? 255 : 0;
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

unsigned char *tu_decode_jpeg(const unsigned char *data, size_t len, int *w, int *h)
{
	struct jpeg_decompress_struct d;
	struct jpeg_error_mgr err;
	d.err = jpeg_std_error(&err);
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, data, (unsigned long)len);
	jpeg_read_header(&d, TRUE);
	d.out_color_space = JCS_RGB;
	jpeg_start_decompress(&d);
	*w = (int)d.output_width;
	*h = (int)d.output_height;
	unsigned char *px = malloc((size_t)*w * (size_t)*h * 3);
	while (d.output_scanline < d.output_height) {
		JSAMPROW rp = px + (size_t)d.output_scanline * (size_t)*w * 3;
		jpeg_read_scanlines(&d, &rp, 1);
	}
	jpeg_finish_decompress(&d);
	jpeg_destroy_decompress(&d);
	return px;
}

const char tu_foodborne_answers[] =
	"{\"report_source\":\"primary_care\",\"diagnosis\":[\"bacillary_dysentery\"],"
	"\"onset_date\":\"2026-03-01\",\"meal_place\":\"镇中心饭店\",\"meal_unit\":\"李家婚宴\","
	"\"contact_phone\":\"13800000000\",\"exposed\":120,\"ill\":\"14\",\"dead\":0,"
	"\"suspected_food\":\"凉拌菜\",\"symptoms\":[\"vomiting\",\"diarrhoea\"],"
	"\"measures_taken\":\"已送镇卫生院\",\"verified\":\"yes\"}";

const char tu_tip_off_answers[] =
	"{\"source\":\"hotline_12345\",\"ticket_12345\":\"GT-2026-0301-0042\","
	"\"subject\":\"illegal_practice\",\"place\":\"集市\","
	"\"description\":\"游医摆摊\",\"time_sensitive\":\"no\",\"verified\":\"yes\"}";

int tu_add_school(fic_store *store, const char *name, int enrolment)
{
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_SCHOOL;
	s.name = name;
	s.address = "某镇某路 1 号";
	s.enrolment = enrolment;
	fic_site *out = NULL;
	int rc = fic_site_add(&out, store, &s, NULL);
	fic_site_free(out);
	return rc;
}

bool tu_file_contains(const char *path, const void *needle, size_t len)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL || len == 0) {
		if (fp)
			fclose(fp);
		return false;
	}
	size_t cap = 1 << 16, have = 0;
	char *buf = malloc(cap);
	bool found = false;
	size_t n;
	/* Read in chunks, keeping the last len - 1 bytes so a match across two is seen. */
	while (buf && !found && (n = fread(buf + have, 1, cap - have, fp)) > 0) {
		have += n;
		found = memmem(buf, have, needle, len) != NULL;
		if (have >= len - 1) {
			memmove(buf, buf + have - (len - 1), len - 1);
			have = len - 1;
		}
	}
	free(buf);
	fclose(fp);
	return found;
}

static const void *tree_needle;
static size_t tree_len;
static int tree_files;
static bool tree_found;

static int tree_visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_F) {
		tree_files++;
		tree_found = tree_found || tu_file_contains(path, tree_needle, tree_len);
	}
	return 0;
}

bool tu_tree_contains(const char *dir, const void *needle, size_t len, int *files)
{
	tree_needle = needle;
	tree_len = len;
	tree_files = 0;
	tree_found = false;
	nftw(dir, tree_visit, 16, FTW_PHYS);
	if (files)
		*files = tree_files;
	return tree_found;
}

void tu_county_keys(unsigned char pk[32], unsigned char sk[32])
{
	unsigned char seed[crypto_box_SEEDBYTES];
	memset(seed, 0x5a, sizeof seed);
	if (sodium_init() < 0 || crypto_box_seed_keypair(pk, sk, seed) != 0)
		abort();
}

int tu_pin_county_key(fic_store *store)
{
	unsigned char pk[32], sk[32];
	char text[FIC_COUNTY_KEY_TEXT];
	tu_county_keys(pk, sk);
	fic__county_key_text(pk, text);
	char id[FIC_KEY_ID_BUFSIZE];
	fic__county_key_id(pk, id);
	/* As enrolment pins it, without its audit entry (tests count those). */
	return fic__exec(store, "INSERT OR REPLACE INTO county_key (slot, key_id, public_key, county, "
	                        "pinned_at_ms) VALUES (1, ?1, ?2, '石柱县', 0)",
	                 "pinning the test county's key", "tt", id, text);
}

void tu_county_key_json(char *buf, size_t size)
{
	unsigned char pk[32], sk[32];
	char text[FIC_COUNTY_KEY_TEXT], id[FIC_KEY_ID_BUFSIZE];
	tu_county_keys(pk, sk);
	fic__county_key_text(pk, text);
	fic__county_key_id(pk, id);
	snprintf(buf, size, "{\"id\":\"%s\",\"public_key\":\"%s\"}", id, text);
}

char *tu_unseal(const char *box_b64)
{
	unsigned char pk[32], sk[32];
	tu_county_keys(pk, sk);
	char *plain = NULL, *copy = NULL;
	size_t len = 0;
	if (fic__unseal(&plain, &len, pk, sk, box_b64) == FIC_OK)
		copy = strdup(plain);
	fic__free(plain);
	return copy;
}

tu_fixture *tu_fixture_new(const char *actor)
{
	tu_fixture *f = calloc(1, sizeof *f);
	if (f == NULL || (f->dir = tu_mkdtemp()) == NULL) {
		free(f);
		return NULL;
	}
	tu_platform(&f->platform, &f->clock);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	o.actor = actor;
	char *path = tu_path(f->dir, "store.db");
	int rc = path ? fic_store_open(&f->store, path, &o) : FIC_ENOMEM;
	free(path);
	if (rc == FIC_OK)
		rc = tu_pin_county_key(f->store);
	if (rc != FIC_OK) {
		fprintf(stderr, "tu_fixture_new: %s\n", fic_error_last()->message);
		tu_fixture_free(f);
		return NULL;
	}
	return f;
}

void tu_fixture_free(tu_fixture *f)
{
	if (f == NULL)
		return;
	fic_store_close(f->store);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
}

double tu_time_scale(void)
{
	const char *v = getenv("FIC_TEST_TIME_SCALE");
	double s = v ? strtod(v, NULL) : 1.0;
	return s >= 1.0 && s <= 1000.0 ? s : 1.0;
}
