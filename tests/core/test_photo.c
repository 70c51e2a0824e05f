/*
 * tests/core/test_photo.c — photo evidence: originals kept byte-for-byte with
 * their SHA-256, JPEGs of every kind the camera may produce accepted, broken
 * or hostile files refused without a trace in the store, the owner checked,
 * and files a crash left behind swept away.
 */
#include "testutil.h"
#include "internal.h"

#include <dirent.h>
#include <math.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <jpeglib.h>
#include <cmocka.h>

typedef struct fixture {
	char *dir, *path, *photos;
	fic_platform platform;
	tu_clock clock;
	fic_store_options opts;
	fic_store *store;
	char site[FIC_UUID_BUFSIZE], insp[FIC_UUID_BUFSIZE];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->dir = tu_mkdtemp();
	f->path = tu_path(f->dir, "store.db");
	f->photos = tu_path(f->dir, "store.db.photos");
	tu_platform(&f->platform, &f->clock);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	f->opts = o;
	assert_int_equal(fic_store_open(&f->store, f->path, &f->opts), FIC_OK);
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "水厂";
	fic_site *out;
	assert_int_equal(fic_site_add(&out, f->store, &s, NULL), FIC_OK);
	strcpy(f->site, out->id);
	fic_site_free(out);
	assert_int_equal(fic_inspection_start(f->insp, f->store, f->site, "water.rural"), FIC_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	fic_store_close(f->store); /* NULL-safe */
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->path);
	free(f->photos);
	free(f);
	return 0;
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char d[32];
	unsigned int n = 0;
	EVP_Digest(data, len, d, &n, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int64_t photo_rows(fixture *f)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT count(*) FROM photos", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Files in the photo folder (0 if it does not exist). */
static int photo_files(fixture *f)
{
	DIR *d = opendir(f->photos);
	if (d == NULL)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void the_original_is_kept_byte_for_byte_with_its_hash(void **state)
{
	fixture *f = *state;
	size_t len;
	unsigned char *jpg = tu_make_jpeg(640, 480, 3, 0, 92, &len);
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_INSPECTION, f->insp, "tank_locked",
	                                      jpg, len, NULL), FIC_OK);
	fic_photo *p;
	assert_int_equal(fic_photo_get(&p, f->store, id), FIC_OK);
	char want[65];
	sha256_hex(jpg, len, want);
	assert_string_equal(p->sha256, want);
	assert_int_equal(p->bytes, (int64_t)len);
	assert_int_equal(p->width, 640);
	assert_int_equal(p->height, 480);
	assert_int_equal(p->owner, FIC_PHOTO_INSPECTION);
	assert_string_equal(p->item_id, "tank_locked");
	FILE *fp = fopen(p->path, "rb");
	assert_non_null(fp);
	unsigned char *back = malloc(len + 1);
	assert_int_equal(fread(back, 1, len + 1, fp), len);
	fclose(fp);
	assert_memory_equal(back, jpg, len);
	free(back);
	fic_photo_free(p);
	/* The abnormal item now has its photo, so the inspection can finish with it. */
	assert_int_equal(fic_inspection_answer(f->store, f->insp, "tank_locked", "no"), FIC_OK);
	char *t;
	assert_int_equal(fic_inspection_get_json(&t, f->store, f->insp), FIC_OK);
	assert_null(strstr(t, "\"photos_missing\":\t[\"tank_locked\"]"));
	fic_free(t);
	/* The same photo again (from a file) shares the file but is a second record. */
	char *file = tu_path(f->dir, "camera.jpg");
	assert_int_equal(tu_write_file(file, jpg, len), 0);
	char id2[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_photo_add_file(id2, f->store, FIC_PHOTO_SITE, f->site, NULL, file, NULL), FIC_OK);
	assert_string_not_equal(id, id2);
	assert_int_equal(photo_rows(f), 2);
	assert_int_equal(photo_files(f), 3); /* original, upload rendition, thumbnail: shared */
	free(file);
	free(jpg);
}

static void every_kind_of_camera_jpeg_is_accepted(void **state)
{
	fixture *f = *state;
	struct { int w, h, comp, prog; } kinds[] = {
		{ 64, 48, 3, 0 }, { 64, 48, 3, 1 }, { 33, 17, 1, 0 }, { 1, 1, 3, 0 },
		{ 101, 67, 4, 0 }, { 4000, 3000, 3, 0 },
	};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t len;
		unsigned char *jpg = tu_make_jpeg(kinds[i].w, kinds[i].h, kinds[i].comp, kinds[i].prog, 85, &len);
		char id[FIC_UUID_BUFSIZE];
		int rc = fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL);
		if (rc != FIC_OK)
			fail_msg("kind %zu: %s", i, fic_error_last()->message);
		fic_photo *p;
		assert_int_equal(fic_photo_get(&p, f->store, id), FIC_OK);
		assert_int_equal(p->width, kinds[i].w);
		assert_int_equal(p->height, kinds[i].h);
		fic_photo_free(p);
		free(jpg);
	}
}

static void broken_and_hostile_files_are_refused_without_a_trace(void **state)
{
	fixture *f = *state;
	size_t len;
	unsigned char *jpg = tu_make_jpeg(320, 240, 3, 0, 90, &len);
	char id[FIC_UUID_BUFSIZE];
	/* Truncated at many offsets. */
	size_t cuts[] = { 1, 2, 3, 10, 100, 300, 600, len / 4, len / 2, len - 600, len - 3 };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		int rc = fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, cuts[i], NULL);
		if (rc != FIC_EINVAL)
			fail_msg("cut at %zu of %zu: %d %s", cuts[i], len, rc, fic_error_last()->message);
		assert_string_equal(id, "");
	}
	/* Garbage, text, a PNG signature. */
	const char *junk[] = { "hello, not a photo", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "\xFF\xD8\xFF" };
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, junk[i],
		                                      strlen(junk[i]) + 1, NULL), FIC_EINVAL);
	/* A header claiming 65535 x 65535 (a decompression bomb): patch the SOF0 size. */
	unsigned char *bomb = malloc(len);
	memcpy(bomb, jpg, len);
	for (size_t i = 0; i + 8 < len; i++) {
		if (bomb[i] == 0xFF && bomb[i + 1] == 0xC0) {
			bomb[i + 5] = bomb[i + 6] = bomb[i + 7] = bomb[i + 8] = 0xFF;
			break;
		}
	}
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, bomb, len, NULL),
	                 FIC_EINVAL);
	if (!strstr(fic_error_last()->message, "65535x65535") && !strstr(fic_error_last()->message, "65500"))
		fail_msg("bomb refused with: %s", fic_error_last()->message);
	/* Zero height. */
	for (size_t i = 0; i + 8 < len; i++) {
		if (bomb[i] == 0xFF && bomb[i + 1] == 0xC0) {
			bomb[i + 5] = bomb[i + 6] = 0;
			break;
		}
	}
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, bomb, len, NULL),
	                 FIC_EINVAL);
	/* Damaged entropy data in the middle. */
	memcpy(bomb, jpg, len);
	for (size_t i = len / 2; i < len / 2 + 64; i++)
		bomb[i] = 0xFF;
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, bomb, len, NULL),
	                 FIC_EINVAL);
	/* Damage at many places in the compressed data. JPEG has no checksum: a flip
	 * that still decodes to valid codes cannot be seen by any decoder (after
	 * capture the SHA-256 guards against that). What libjpeg can see is refused,
	 * nothing crashes, and whatever is refused leaves no trace. */
	int refused = 0, tried = 0;
	int64_t rows_before = photo_rows(f);
	for (size_t at = len / 8; at < len - 16; at += len / 40) {
		memcpy(bomb, jpg, len);
		for (size_t i = at; i < at + 8; i++)
			bomb[i] ^= 0x5A;
		int rc2 = fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, bomb, len, NULL);
		assert_true(rc2 == FIC_OK || rc2 == FIC_EINVAL);
		refused += rc2 == FIC_EINVAL;
		tried++;
	}
	printf("damaged entropy data: %d of %d variants refused as damaged\n", refused, tried);
	assert_true(refused * 2 > tried);
	assert_int_equal(photo_rows(f), rows_before + (tried - refused));
	int64_t rows = photo_rows(f);
	free(bomb);
	(void)rows_before;
	/* Empty, NULL, a path that does not exist, a directory. */
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, 0, NULL), FIC_EINVAL);
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, NULL, 5, NULL), FIC_EINVAL);
	char *missing = tu_path(f->dir, "gone.jpg");
	assert_int_equal(fic_photo_add_file(id, f->store, FIC_PHOTO_SITE, f->site, NULL, missing, NULL),
	                 FIC_ENOTFOUND);
	free(missing);
	assert_int_equal(fic_photo_add_file(id, f->store, FIC_PHOTO_SITE, f->site, NULL, f->dir, NULL),
	                 FIC_EINVAL);
	assert_int_equal(photo_rows(f), rows);
	assert_int_equal(photo_files(f), 3 * (int)rows);
	free(jpg);
}

static void the_owner_must_exist_and_an_inspection_be_open(void **state)
{
	fixture *f = *state;
	size_t len;
	unsigned char *jpg = tu_make_jpeg(32, 32, 3, 0, 80, &len);
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_INSPECTION, "nope", NULL, jpg, len, NULL),
	                 FIC_ENOTFOUND);
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_LEAD, "nope", NULL, jpg, len, NULL),
	                 FIC_ENOTFOUND);
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_INSPECTION, f->insp, "no_item",
	                                      jpg, len, NULL), FIC_ENOTFOUND);
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, "tank_locked",
	                                      jpg, len, NULL), FIC_EINVAL);
	assert_int_equal(fic_photo_add_buffer(id, f->store, 9, f->site, NULL, jpg, len, NULL), FIC_EINVAL);
	assert_int_equal(fic_photo_add_buffer(NULL, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL),
	                 FIC_EINVAL);
	assert_int_equal(fic_photo_add_buffer(id, NULL, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL),
	                 FIC_EINVAL);
	/* A finished inspection's evidence is final. */
	assert_int_equal(sqlite3_exec(f->store->db, "UPDATE inspections SET state = 'finished'", NULL,
	                              NULL, NULL), SQLITE_OK);
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_INSPECTION, f->insp, NULL, jpg, len, NULL),
	                 FIC_ESTATE);
	assert_int_equal(photo_rows(f), 0);
	fic_photo *p = (fic_photo *)0x1;
	assert_int_equal(fic_photo_get(&p, f->store, "nope"), FIC_ENOTFOUND);
	assert_null(p);
	fic_photo_free(NULL);
	free(jpg);
}

static void files_left_by_a_crash_are_swept_at_open(void **state)
{
	fixture *f = *state;
	size_t len;
	unsigned char *jpg = tu_make_jpeg(32, 32, 3, 0, 80, &len);
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL), FIC_OK);
	fic_store_close(f->store);
	f->store = NULL;
	/* What a crash between writing the file and committing its row leaves. */
	char stray[400], part[400], fresh[400];
	snprintf(stray, sizeof stray, "%s/%064d.jpg", f->photos, 7);
	snprintf(part, sizeof part, "%s/01900000-0000-7000-8000-000000000000.part", f->photos);
	snprintf(fresh, sizeof fresh, "%s/01900000-0000-7000-8000-000000000001.part", f->photos);
	assert_int_equal(tu_write_file(stray, jpg, len), 0);
	assert_int_equal(tu_write_file(part, jpg, 10), 0);
	assert_int_equal(tu_write_file(fresh, jpg, 10), 0);
	/* An hour-old .part is a crash's leftover; a fresh one may be another handle's save. */
	struct timeval old[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
	assert_int_equal(utimes(part, old), 0);
	assert_int_equal(photo_files(f), 6);
	assert_int_equal(fic_store_open(&f->store, f->path, &f->opts), FIC_OK);
	assert_int_equal(photo_files(f), 4);
	assert_int_equal(access(fresh, F_OK), 0);
	assert_int_not_equal(access(part, F_OK), 0);
	assert_int_not_equal(access(stray, F_OK), 0);
	fic_photo *p;
	assert_int_equal(fic_photo_get(&p, f->store, id), FIC_OK);
	assert_int_equal(access(p->path, R_OK), 0);
	fic_photo_free(p);
	assert_true(f->clock.log_count > 0);
	free(jpg);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	unsigned char *b = malloc((size_t)n);
	assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return b;
}

static bool has_exif_marker(const unsigned char *b, size_t len)
{
	for (size_t i = 0; i + 10 < len; i++)
		if (b[i] == 0xFF && b[i + 1] == 0xE1 && memcmp(b + i + 4, "Exif", 4) == 0)
			return true;
	return false;
}

static void renditions_are_sized_hashed_and_carry_no_metadata(void **state)
{
	fixture *f = *state;
	struct { int w, h, comp, prog, uw, uh, tw, th; } cases[] = {
		{ 4000, 3000, 3, 0, 1600, 1200, 320, 240 },
		{ 3000, 4000, 3, 1, 1200, 1600, 240, 320 },
		{ 4001, 2999, 1, 0, 1600, 1199, 320, 240 },
		{ 1999, 1001, 4, 0, 1600, 801, 320, 160 },
		{ 640, 480, 3, 0, 640, 480, 320, 240 },      /* never enlarged */
		{ 33, 17, 3, 0, 33, 17, 33, 17 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len;
		unsigned char *jpg = tu_make_jpeg(cases[i].w, cases[i].h, cases[i].comp, cases[i].prog, 90, &len);
		char id[FIC_UUID_BUFSIZE];
		int rc = fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL);
		if (rc != FIC_OK)
			fail_msg("case %zu: %s", i, fic_error_last()->message);
		fic_photo *p;
		assert_int_equal(fic_photo_get(&p, f->store, id), FIC_OK);
		assert_int_equal(p->upload_width, cases[i].uw);
		assert_int_equal(p->upload_height, cases[i].uh);
		size_t ulen, tlen;
		unsigned char *up = slurp(p->upload_path, &ulen), *th = slurp(p->thumb_path, &tlen);
		assert_int_equal((int64_t)ulen, p->upload_bytes);
		assert_int_equal((int64_t)tlen, p->thumb_bytes);
		char sha[65];
		sha256_hex(up, ulen, sha);
		assert_string_equal(sha, p->upload_sha256);
		int w, h;
		unsigned char *px = tu_decode_jpeg(up, ulen, &w, &h);
		assert_int_equal(w, cases[i].uw);
		assert_int_equal(h, cases[i].uh);
		free(px);
		px = tu_decode_jpeg(th, tlen, &w, &h);
		assert_int_equal(w, cases[i].tw);
		assert_int_equal(h, cases[i].th);
		free(px);
		assert_false(has_exif_marker(up, ulen));
		assert_false(has_exif_marker(th, tlen));
		if (cases[i].w * cases[i].h > 1000000)
			assert_true(ulen < len); /* what goes over the air is smaller */
		free(up);
		free(th);
		fic_photo_free(p);
		free(jpg);
	}
}

/* Which quadrant colour is at a corner: 'R', 'G', 'B' or 'W'. */
static char colour_at(const unsigned char *px, int w, int x, int y)
{
	const unsigned char *p = px + ((size_t)y * (size_t)w + (size_t)x) * 3;
	bool r = p[0] > 128, g = p[1] > 128, b = p[2] > 128;
	return r && g && b ? 'W' : r ? 'R' : g ? 'G' : b ? 'B' : '?';
}

static void every_exif_orientation_is_applied_and_claims_are_kept(void **state)
{
	fixture *f = *state;
	/* Stored: R G / B W. Expected corners (TL, TR, BL, BR) after applying each orientation. */
	const char *expect[9] = { NULL, "RGBW", "GRWB", "WBGR", "BWRG", "RBGW", "BRWG", "WGBR", "GWRB" };
	for (int o = 1; o <= 8; o++) {
		size_t len;
		unsigned char *jpg = tu_make_jpeg_exif(400, 200, o, "2026:03:01 10:15:30", o == 6, 29.5631,
		                                       106.5516, &len);
		char id[FIC_UUID_BUFSIZE];
		assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL),
		                 FIC_OK);
		fic_photo *p;
		assert_int_equal(fic_photo_get(&p, f->store, id), FIC_OK);
		assert_int_equal(p->orientation, o);
		assert_int_equal(p->width, 400);
		assert_int_equal(p->upload_width, o >= 5 ? 200 : 400);
		assert_int_equal(p->upload_height, o >= 5 ? 400 : 200);
		assert_string_equal(p->exif_taken_at, "2026:03:01 10:15:30");
		assert_int_equal(p->has_exif_location, o == 6);
		if (o == 6) {
			assert_true(fabs(p->exif_lat - 29.5631) < 1e-4);
			assert_true(fabs(p->exif_lon - 106.5516) < 1e-4);
		}
		size_t ulen;
		unsigned char *up = slurp(p->upload_path, &ulen);
		int w, h;
		unsigned char *px = tu_decode_jpeg(up, ulen, &w, &h);
		char got[5] = { colour_at(px, w, 5, 5), colour_at(px, w, w - 6, 5), colour_at(px, w, 5, h - 6),
			        colour_at(px, w, w - 6, h - 6), 0 };
		if (strcmp(got, expect[o]) != 0)
			fail_msg("orientation %d: corners %s, expected %s", o, got, expect[o]);
		assert_false(has_exif_marker(up, ulen));
		free(px);
		free(up);
		fic_photo_free(p);
		free(jpg);
	}
	/* The device's own position is kept beside the EXIF claim. */
	size_t len;
	unsigned char *jpg = tu_make_jpeg_exif(64, 64, 0, NULL, 0, 0, 0, &len);
	fic_photo_options o = FIC_PHOTO_OPTIONS_INIT;
	o.has_location = 1;
	o.lat = 29.6;
	o.lon = 106.6;
	o.max_edge = 1024;
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, &o), FIC_OK);
	fic_photo *p;
	assert_int_equal(fic_photo_get(&p, f->store, id), FIC_OK);
	assert_true(p->has_device_location && !p->has_exif_location);
	assert_null(p->exif_taken_at);
	assert_int_equal(p->orientation, 1);
	fic_photo_free(p);
	o.max_edge = 10;
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, &o),
	                 FIC_EINVAL);
	o = (fic_photo_options)FIC_PHOTO_OPTIONS_INIT;
	o.quality = 100;
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, &o),
	                 FIC_EINVAL);
	o = (fic_photo_options)FIC_PHOTO_OPTIONS_INIT;
	o.version = 99;
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, &o),
	                 FIC_EINVAL);
	free(jpg);
}

static void a_fifty_megapixel_photo_is_accepted_and_one_pixel_more_is_not(void **state)
{
	fixture *f = *state;
	size_t len;
	unsigned char *jpg = tu_make_jpeg(8000, 6250, 1, 0, 75, &len); /* exactly 50 000 000 */
	char id[FIC_UUID_BUFSIZE];
	int rc = fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	fic_photo *p;
	assert_int_equal(fic_photo_get(&p, f->store, id), FIC_OK);
	assert_int_equal(p->upload_width, 1600);
	assert_int_equal(p->upload_height, 1250);
	fic_photo_free(p);
	free(jpg);
	jpg = tu_make_jpeg(8001, 6250, 1, 0, 30, &len);
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL),
	                 FIC_EINVAL);
	free(jpg);
}

static void render_makes_the_same_rendition_in_memory(void **state)
{
	(void)state;
	size_t len;
	unsigned char *jpg = tu_make_jpeg_exif(400, 200, 6, NULL, 0, 0, 0, &len);
	void *out;
	size_t out_len;
	assert_int_equal(fic_photo_render(&out, &out_len, jpg, len, 100, 80), FIC_OK);
	int w, h;
	unsigned char *px = tu_decode_jpeg(out, out_len, &w, &h);
	assert_int_equal(w, 50);
	assert_int_equal(h, 100);
	free(px);
	fic_free(out);
	assert_int_equal(fic_photo_render(&out, &out_len, jpg, 10, 100, 80), FIC_EINVAL);
	assert_null(out);
	assert_int_equal(fic_photo_render(&out, &out_len, NULL, len, 100, 80), FIC_EINVAL);
	assert_int_equal(fic_photo_render(&out, &out_len, jpg, len, 100, 99), FIC_EINVAL);
	free(jpg);
}

static void render_file_streams_from_file_to_file(void **state)
{
	fixture *f = *state;
	size_t len;
	unsigned char *jpg = tu_make_jpeg(2400, 1800, 3, 0, 90, &len);
	char *in = tu_path(f->dir, "in.jpg"), *out = tu_path(f->dir, "out.jpg");
	assert_int_equal(tu_write_file(in, jpg, len), 0);
	assert_int_equal(fic_photo_render_file(in, out, 1600, 80), FIC_OK);
	size_t olen;
	unsigned char *o = slurp(out, &olen);
	int w, h;
	unsigned char *px = tu_decode_jpeg(o, olen, &w, &h);
	assert_int_equal(w, 1600);
	assert_int_equal(h, 1200);
	assert_false(has_exif_marker(o, olen));
	free(px);
	free(o);
	/* A damaged input leaves the existing output as it was, and no .part file. */
	assert_int_equal(tu_write_file(in, jpg, len / 2), 0);
	assert_int_equal(fic_photo_render_file(in, out, 1600, 80), FIC_EINVAL);
	size_t again_len;
	unsigned char *again = slurp(out, &again_len);
	assert_int_equal(again_len, olen);
	free(again);
	char *part = tu_path(f->dir, "out.jpg.part");
	assert_int_not_equal(access(part, F_OK), 0);
	free(part);
	/* The photo itself is never the output. */
	assert_int_equal(tu_write_file(in, jpg, len), 0);
	assert_int_equal(fic_photo_render_file(in, in, 1600, 80), FIC_EINVAL);
	assert_int_equal(access(in, R_OK), 0);
	char *missing = tu_path(f->dir, "none.jpg");
	assert_int_equal(fic_photo_render_file(missing, out, 1600, 80), FIC_ENOTFOUND);
	assert_int_equal(fic_photo_render_file(in, NULL, 1600, 80), FIC_EINVAL);
	assert_int_equal(fic_photo_render_file(in, out, 8, 80), FIC_EINVAL);
	free(missing);
	free(in);
	free(out);
	free(jpg);
}

/* ---- decoding limits ---- */

static void put_segment(unsigned char **w, int marker, const unsigned char *payload, size_t n)
{
	unsigned char *p = *w;
	*p++ = 0xFF;
	*p++ = (unsigned char)marker;
	*p++ = (unsigned char)((n + 2) >> 8);
	*p++ = (unsigned char)(n + 2);
	memcpy(p, payload, n);
	*w = p + n;
}

/*
 * A valid flat-grey JPEG of w×h with 3 components at 4:4:4, written out by
 * hand: every block's DC difference is 0 with a one-bit Huffman code (and,
 * baseline, an immediate end of block), so a 7000×7000 file is a few hundred
 * KB. Progressive: one DC scan only, which is a complete (if coarse) image.
 */
static unsigned char *flat_jpeg(int w, int h, bool progressive, size_t *len)
{
	size_t blocks = (size_t)((w + 7) / 8) * (size_t)((h + 7) / 8) * 3;
	size_t bits = blocks * (progressive ? 1 : 2), data = (bits + 7) / 8;
	unsigned char *buf = calloc(1, data + 512), *p = buf;
	*p++ = 0xFF;
	*p++ = 0xD8;
	unsigned char dqt[65] = { 0 };
	memset(dqt + 1, 1, 64);
	put_segment(&p, 0xDB, dqt, sizeof dqt);
	unsigned char sof[] = { 8, (unsigned char)(h >> 8), (unsigned char)h, (unsigned char)(w >> 8),
		                (unsigned char)w, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0 };
	put_segment(&p, progressive ? 0xC2 : 0xC0, sof, sizeof sof);
	unsigned char dht[] = { 0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
		                0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00 };
	put_segment(&p, 0xC4, dht, progressive ? 18 : sizeof dht);
	unsigned char sos[] = { 3, 1, 0, 2, 0, 3, 0, 0, progressive ? 0 : 63, 0 };
	put_segment(&p, 0xDA, sos, sizeof sos);
	memset(p, 0, data); /* the codes, all zero bits... */
	if (bits % 8)
		p[data - 1] = (unsigned char)((1u << (8 - bits % 8)) - 1); /* ...padded with ones */
	p += data;
	*p++ = 0xFF;
	*p++ = 0xD9;
	*len = (size_t)(p - buf);
	return buf;
}

static void a_progressive_photo_that_needs_too_much_memory_is_refused(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE];
	size_t len;
	/* 7000×7000 at 4:4:4: 294 MB of coefficients held at once if decoded. */
	unsigned char *jpg = flat_jpeg(7000, 7000, true, &len);
	struct timeval t0, t1;
	gettimeofday(&t0, NULL);
	int rc = fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL);
	gettimeofday(&t1, NULL);
	assert_int_equal(rc, FIC_ETOOBIG);
	assert_non_null(strstr(fic_error_last()->message, "MiB"));
	/* Refused before decoding anything, not after (the limit is on what is held). */
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000 < 2000);
	free(jpg);
	/* The same photo, baseline, streams and is kept. */
	jpg = flat_jpeg(7000, 7000, false, &len);
	rc = fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	free(jpg);
	/* And an ordinary progressive photo is well within the limit. */
	jpg = tu_make_jpeg(2000, 1500, 3, 1, 80, &len);
	rc = fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	free(jpg);
	void *out;
	size_t out_len;
	jpg = flat_jpeg(7000, 7000, true, &len);
	assert_int_equal(fic_photo_render(&out, &out_len, jpg, len, 320, 80), FIC_ETOOBIG);
	free(jpg);
}

/* A valid progressive JPEG of `scans` scans (1 DC scan, then one AC coefficient
 * of one component per scan: up to 1 + 3 × 63), made by libjpeg itself. */
static unsigned char *many_scans_jpeg(int scans, size_t *len)
{
	jpeg_scan_info script[1 + 3 * 63];
	memset(script, 0, sizeof script);
	script[0].comps_in_scan = 3;
	for (int c = 0; c < 3; c++)
		script[0].component_index[c] = c;
	for (int i = 1; i < scans; i++) {
		script[i].comps_in_scan = 1;
		script[i].component_index[0] = (i - 1) / 63;
		script[i].Ss = script[i].Se = (i - 1) % 63 + 1;
	}
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	unsigned char *buf = NULL;
	unsigned long size = 0;
	jpeg_mem_dest(&c, &buf, &size);
	c.image_width = 64;
	c.image_height = 48;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	c.scan_info = script;
	c.num_scans = scans;
	jpeg_start_compress(&c, TRUE);
	unsigned char row[64 * 3];
	for (int y = 0; y < 48; y++) {
		for (int x = 0; x < 64 * 3; x++)
			row[x] = (unsigned char)(x * 3 + y * 5);
		JSAMPROW r = row;
		jpeg_write_scanlines(&c, &r, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	*len = size;
	return buf;
}

static void a_jpeg_of_more_than_a_hundred_scans_is_refused(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE];
	size_t len;
	unsigned char *jpg = many_scans_jpeg(FIC_PHOTO_MAX_SCANS, &len);
	int rc = fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL);
	if (rc != FIC_OK)
		fail_msg("%d scans: %s", FIC_PHOTO_MAX_SCANS, fic_error_last()->message);
	free(jpg);
	jpg = many_scans_jpeg(FIC_PHOTO_MAX_SCANS + 1, &len);
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL),
	                 FIC_ETOOBIG);
	assert_non_null(strstr(fic_error_last()->message, "scans"));
	free(jpg);
	jpg = many_scans_jpeg(1 + 3 * 63, &len);
	assert_int_equal(fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL),
	                 FIC_ETOOBIG);
	free(jpg);
	/* Nothing of the refused photos is left in the store. */
	int64_t photos = -1;
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM photos", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	photos = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(photos, 1);
}

static void open_another_handle(void *arg)
{
	fixture *f = arg;
	fic_store *other;
	fic_store_options o = FIC_STORE_OPTIONS_INIT; /* default platform: no hook recursion */
	o.busy_timeout_ms = 10000;
	assert_int_equal(fic_store_open(&other, f->path, &o), FIC_OK); /* it sweeps */
	fic_store_close(other);
}

static void a_sweep_by_another_handle_never_takes_a_photo_being_saved(void **state)
{
	fixture *f = *state;
	size_t len;
	unsigned char *jpg = tu_make_jpeg(800, 600, 3, 0, 85, &len);
	/* Open (and sweep) from a second handle at each point of the save where the
	 * clock's random source is consulted: before and between writing its files. */
	for (int at = 1; at <= 5; at++) {
		f->clock.hook = open_another_handle;
		f->clock.hook_arg = f;
		f->clock.hook_at = at;
		char id[FIC_UUID_BUFSIZE];
		int rc = fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site, NULL, jpg, len, NULL);
		if (rc != FIC_OK)
			fail_msg("hook at %d: %s", at, fic_error_last()->message);
		fic_photo *p;
		assert_int_equal(fic_photo_get(&p, f->store, id), FIC_OK);
		assert_int_equal(access(p->path, R_OK), 0);
		assert_int_equal(access(p->upload_path, R_OK), 0);
		assert_int_equal(access(p->thumb_path, R_OK), 0);
		fic_photo_free(p);
		f->clock.hook = NULL;
	}
	assert_int_equal(fic_evidence_verify(NULL, f->store), FIC_OK);
	free(jpg);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(the_original_is_kept_byte_for_byte_with_its_hash),
		T(every_kind_of_camera_jpeg_is_accepted),
		T(broken_and_hostile_files_are_refused_without_a_trace),
		T(the_owner_must_exist_and_an_inspection_be_open),
		T(files_left_by_a_crash_are_swept_at_open),
		T(renditions_are_sized_hashed_and_carry_no_metadata),
		T(every_exif_orientation_is_applied_and_claims_are_kept),
		T(a_fifty_megapixel_photo_is_accepted_and_one_pixel_more_is_not),
		T(render_makes_the_same_rendition_in_memory),
		T(render_file_streams_from_file_to_file),
		T(a_progressive_photo_that_needs_too_much_memory_is_refused),
		T(a_jpeg_of_more_than_a_hundred_scans_is_refused),
		T(a_sweep_by_another_handle_never_takes_a_photo_being_saved),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
