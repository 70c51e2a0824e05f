/*
 * tests/server/test_server_photos.c — photo uploads under a hostile device
 * (issue #12): a photo on its way belongs to the device sending it, so
 * another device's bogus chunk or length cannot block or corrupt it; on the
 * phone, the server refusing one photo skips that photo and the others go
 * on; quotas on partial and stored photo bytes, per device and per county,
 * refuse clearly (507 with a message) without stopping other uploads.
 */
#include "e2e.h"
#include "internal.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* A site with `n` photos, one fake-clock second apart (the first is first in
 * the queue), each `width` pixels wide or of growing size (width NULL); their
 * upload SHA-256s and sizes. */
static void site_photos_sized(e2e *f, int n, const int *width, char sha[][65], int64_t *bytes)
{
	fic_site s = FIC_SITE_INIT, *out;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "大河村集中供水站";
	assert_int_equal(fic_site_add(&out, f->store, &s, "巡查发现"), FIC_OK);
	for (int i = 0; i < n; i++) {
		size_t len;
		int w = width ? width[i] : 600 + 200 * i;
		unsigned char *jpg = tu_make_jpeg(w, w * 3 / 4, 3, 0, 90, &len);
		char pid[FIC_UUID_BUFSIZE];
		assert_int_equal(fic_photo_add_buffer(pid, f->store, FIC_PHOTO_SITE, out->id, NULL, jpg,
		                                      len, NULL), FIC_OK);
		free(jpg);
		fic_photo *ph;
		assert_int_equal(fic_photo_get(&ph, f->store, pid), FIC_OK);
		snprintf(sha[i], 65, "%s", ph->upload_sha256);
		fic_photo_free(ph);
		char sql[200];
		snprintf(sql, sizeof sql, "SELECT bytes FROM uploads WHERE sha256 = '%s'", sha[i]);
		if (bytes)
			bytes[i] = e2e_query_int(f, sql);
		f->clock.wall_ms += 1000;
		f->clock.mono_ms += 1000;
	}
	fic_site_free(out);
}

static void site_photos(e2e *f, int n, char sha[][65], int64_t *bytes)
{
	site_photos_sized(f, n, NULL, sha, bytes);
}

static char *upload_state(e2e *f, const char *sha, char *buf, size_t size)
{
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT state || ' ' || coalesce(last_error, '') FROM uploads "
	                          "WHERE sha256 = '%s'", sha);
	e2e_query_text(f, sql, buf, size);
	return buf;
}

static void another_devices_bogus_chunk_does_not_block_a_photo(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char sha[1][65];
	int64_t bytes[1];
	site_photos(f, 1, sha, bytes);
	/* Mallory, of the same county, announces the victim's photo first with a
	 * wrong length and a byte of its own. */
	fic_store *mallory = e2e_store_new(f, "mallory.db");
	e2e_enroll_store(f, mallory, "石柱县");
	char mt[200], path[100], len[24];
	e2e_token(mallory, mt, sizeof mt);
	snprintf(path, sizeof path, "/v1/photos/%s", sha[0]);
	snprintf(len, sizeof len, "%lld", (long long)bytes[0] + 1000);
	fic_http_header h[2] = { { "Upload-Offset", "0" }, { "Upload-Length", len } };
	e2e_answer a = e2e_request(f, "PATCH", path, mt, h, 2, "\xff", 1);
	assert_int_equal(a.status, 204);
	e2e_answer_free(&a);
	/* The victim's upload goes through whole and right. */
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = fic_sync_push(f->store, &f->opts, &rep);
	if (rc != FIC_OK)
		fail_msg("push: %s", fic_error_last()->message);
	assert_int_equal(rep.photos_sent, 1);
	assert_int_equal(county_photo_count(f->server), 1);
	assert_int_equal(county_photo_bad(f->server), 0);
	/* And Mallory's partial is Mallory's alone: its offset, not the photo's. */
	a = e2e_request(f, "HEAD", path, mt, NULL, 0, NULL, 0);
	assert_int_equal(a.status, 200);
	assert_int_equal(a.upload_offset, bytes[0]); /* complete now, for the whole county */
	e2e_answer_free(&a);
	fic_store_close(mallory);
}

/* A transport that spoils the Upload-Length of one photo's chunks, so the
 * server refuses them (400), and passes everything else through. */
typedef struct spoiler {
	fic_transport table;
	fic_transport *inner;
	const char *sha;
	int spoiled;
} spoiler;

static int spoil_request(void *ctx, const fic_http_request *req, fic_http_response *resp)
{
	spoiler *s = ctx;
	fic_http_request q = *req;
	fic_http_header h[8];
	if (strcmp(req->method, "PATCH") == 0 && strstr(req->url, s->sha) && req->header_count <= 8) {
		memcpy(h, req->headers, req->header_count * sizeof h[0]);
		for (size_t i = 0; i < req->header_count; i++)
			if (strcmp(h[i].name, "Upload-Length") == 0)
				h[i].value = "not-a-number";
		q.headers = h;
		s->spoiled++;
	}
	return s->inner->request(s->inner->ctx, &q, resp);
}

static void a_photo_the_server_refuses_does_not_hold_back_the_others(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char sha[3][65];
	site_photos(f, 3, sha, NULL);
	spoiler s = { { FIC_TRANSPORT_VERSION, NULL, spoil_request, NULL, 0 }, f->transport, sha[0], 0 };
	s.table.ctx = &s;
	fic_sync_options o = f->opts;
	o.transport = &s.table;
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = fic_sync_push(f->store, &o, &rep);
	if (rc != FIC_OK)
		fail_msg("push: %s", fic_error_last()->message);
	assert_true(s.spoiled >= 1);
	/* The first photo was refused and waits; the two behind it went. */
	assert_int_equal(rep.photos_sent, 2);
	assert_int_equal(county_photo_count(f->server), 2);
	char st[300];
	upload_state(f, sha[0], st, sizeof st);
	if (strncmp(st, "pending ", 8) != 0 || strstr(st, "HTTP 400") == NULL)
		fail_msg("the refused photo: %s", st);
	/* Once the server takes it, it goes too. */
	assert_int_equal(sqlite3_exec(f->store->db, "UPDATE uploads SET next_at_ms = 0", NULL, NULL,
	                              NULL), SQLITE_OK);
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.photos_sent, 1);
	assert_int_equal(county_photo_count(f->server), 3);
}

static void a_device_over_its_quota_is_told_and_its_other_photos_go(void **state)
{
	(void)state;
	/* A large photo first, then two small ones; the device may hold the two
	 * small ones, not the large one. */
	county_limits l;
	county_limits_default(&l);
	l.device_photo_bytes = 150000;
	e2e *f = e2e_new_with(&l);
	e2e_enroll(f, "石柱县");
	char sha[3][65];
	int64_t bytes[3];
	site_photos_sized(f, 3, (const int[]){ 1600, 300, 320 }, sha, bytes);
	if (bytes[0] <= l.device_photo_bytes || bytes[1] + bytes[2] > l.device_photo_bytes)
		fail_msg("photo sizes %lld, %lld, %lld do not suit the test", (long long)bytes[0],
		         (long long)bytes[1], (long long)bytes[2]);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = fic_sync_push(f->store, &f->opts, &rep);
	if (rc != FIC_OK)
		fail_msg("push: %s", fic_error_last()->message);
	assert_int_equal(rep.photos_sent, 2);
	assert_int_equal(county_photo_count(f->server), 2);
	char st[300];
	upload_state(f, sha[0], st, sizeof st);
	if (strncmp(st, "pending ", 8) != 0 || strstr(st, "quota") == NULL ||
	    strstr(st, "HTTP 507") == NULL)
		fail_msg("the large photo: %s", st);
	/* It waits the server's hour, not a pass's backoff. */
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT next_at_ms FROM uploads WHERE sha256 = '%s'", sha[0]);
	assert_true(e2e_query_int(f, sql) - f->clock.wall_ms >= 3600 * 1000);
	e2e_free(f);
}

static void photos_on_their_way_are_bounded_per_device_and_per_county(void **state)
{
	(void)state;
	county_limits l;
	county_limits_default(&l);
	l.device_partials = 2;
	l.county_partial_bytes = 3 * 1000000;
	e2e *f = e2e_new_with(&l);
	e2e_enroll(f, "石柱县");
	fic_store *mallory = e2e_store_new(f, "mallory.db");
	e2e_enroll_store(f, mallory, "石柱县");
	char mt[200];
	e2e_token(mallory, mt, sizeof mt);
	/* Mallory starts photos and never finishes them: two at most ... */
	int status[3];
	for (int i = 0; i < 3; i++) {
		char path[100];
		snprintf(path, sizeof path, "/v1/photos/%064d", i + 1);
		fic_http_header h[2] = { { "Upload-Offset", "0" }, { "Upload-Length", "1000000" } };
		e2e_answer a = e2e_request(f, "PATCH", path, mt, h, 2, "x", 1);
		status[i] = a.status;
		if (i == 2)
			assert_non_null(strstr(a.body, "\"quota\""));
		e2e_answer_free(&a);
	}
	assert_int_equal(status[0], 204);
	assert_int_equal(status[1], 204);
	assert_int_equal(status[2], 507);
	/* ... and the victim's photo still fits the county's bytes on their way. */
	char sha[1][65];
	site_photos(f, 1, sha, NULL);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.photos_sent, 1);
	/* A third device over the county's bytes on their way is refused. */
	fic_store *third = e2e_store_new(f, "third.db");
	e2e_enroll_store(f, third, "石柱县");
	char tt[200];
	e2e_token(third, tt, sizeof tt);
	fic_http_header h[2] = { { "Upload-Offset", "0" }, { "Upload-Length", "1000001" } };
	e2e_answer a = e2e_request(f, "PATCH", "/v1/photos/" "0000000000000000000000000000000000000"
	                           "000000000000000000000000009", tt, h, 2, "x", 1);
	assert_int_equal(a.status, 507);
	assert_non_null(strstr(a.body, "county"));
	assert_true(a.retry_after_ms >= 1000);
	e2e_answer_free(&a);
	fic_store_close(third);
	fic_store_close(mallory);
	e2e_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(another_devices_bogus_chunk_does_not_block_a_photo,
		                                e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(a_photo_the_server_refuses_does_not_hold_back_the_others,
		                                e2e_setup, e2e_teardown),
		cmocka_unit_test(a_device_over_its_quota_is_told_and_its_other_photos_go),
		cmocka_unit_test(photos_on_their_way_are_bounded_per_device_and_per_county),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
