/*
 * tests/server/test_sync_photos.c — photo uploads through the real server:
 * an urgent lead's photos first, resume at the server's offset, a damaged
 * local file refused and listed, the server's byte checks, abandoned partial
 * photos dropped, hostile answers to photo requests losing nothing.
 */
#include "testutil.h"
#include "internal.h"
#include "model/checklist.h"
#include "county.h"
#include "e2e.h"
#include "linkproxy.h"
#include "sync_internal.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/sha.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- photos ---- */
static char *server_db_path(e2e *f)
{
	return tu_path(f->dir, "county.db");
}

/* The server's photos in the order it completed them. */
static int server_photo_order(e2e *f, char out[][65], int max)
{
	char *p = server_db_path(f);
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	free(p);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT sha256 FROM photos ORDER BY rowid", -1, &st, NULL),
	                 SQLITE_OK);
	int n = 0;
	while (n < max && sqlite3_step(st) == SQLITE_ROW)
		snprintf(out[n++], 65, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void photos_reach_the_county_urgent_lead_photos_first(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char site_sha[2][65], urgent_sha[65], lead[FIC_UUID_BUFSIZE];
	e2e_photo_backlog(f, site_sha, urgent_sha, lead);
	assert_int_equal(e2e_uploads_where(f, "state = 'pending'"), 3);
	assert_int_equal(e2e_uploads_where(f, "priority >= 100"), 1);
	f->opts.photo_chunk_bytes = 8192;
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = fic_sync_push(f->store, &f->opts, &rep);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	assert_int_equal(rep.photos_sent, 3);
	assert_int_equal(rep.photos_pending, 0);
	assert_int_equal(e2e_uploads_where(f, "state = 'done'"), 3);
	assert_int_equal(county_photo_count(f->server), 3);
	assert_int_equal(county_photo_bad(f->server), 0);
	/* Each photo's metadata record went with the records. */
	assert_int_equal(county_record_count(f->server, "photo"), 3);
	assert_int_equal(e2e_pending(f), 0);
	/* The urgent lead's photo was completed first, though it was taken last. */
	char order[3][65];
	assert_int_equal(server_photo_order(f, order, 3), 3);
	assert_string_equal(order[0], urgent_sha);
	/* Sending again costs a HEAD each at most: nothing is pending, nothing resent. */
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.requests, 0);
	/* The same rendition attached again is one upload, already there. */
	assert_int_equal(sqlite3_exec(f->store->db, "UPDATE uploads SET state = 'pending'", NULL, NULL,
	                              NULL), SQLITE_OK);
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.requests, 3); /* three HEADs */
	assert_int_equal(rep.photo_bytes_sent, 0);
	assert_int_equal(rep.photos_sent, 3);
}

static int stop_after_chunks;

static void stop_mid_photo(void *arg, const fic_sync_progress *p)
{
	(void)p;
	if (--stop_after_chunks == 0)
		fic_cancel_request(arg);
}

static void an_interrupted_photo_resumes_at_the_servers_offset(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char site_sha[2][65], urgent_sha[65], lead[FIC_UUID_BUFSIZE];
	e2e_photo_backlog(f, site_sha, urgent_sha, lead);
	f->opts.photo_chunk_bytes = 4096;
	fic_cancel *stop;
	assert_int_equal(fic_cancel_new(&stop), FIC_OK);
	f->opts.cancel = stop;
	f->opts.progress = stop_mid_photo;
	f->opts.progress_arg = stop;
	stop_after_chunks = 6; /* records (2 batches), a HEAD, then a few chunks */
	fic_sync_report r1 = FIC_SYNC_REPORT_INIT, r2 = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &r1), FIC_ECANCELED);
	assert_true(r1.photo_bytes_sent > 0);
	assert_int_equal(county_photo_count(f->server), 0);
	fic_cancel_reset(stop);
	stop_after_chunks = -1;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &r2), FIC_OK);
	/* Nothing was sent twice: the server's offset was where the first pass stopped. */
	int64_t total = 0;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT sum(bytes) FROM uploads", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	total = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	assert_int_equal(r1.photo_bytes_sent + r2.photo_bytes_sent, total);
	assert_int_equal(county_photo_count(f->server), 3);
	assert_int_equal(county_photo_bad(f->server), 0);
	f->opts.cancel = NULL;
	f->opts.progress = NULL;
	fic_cancel_free(stop);
}

static void a_damaged_photo_file_is_refused_and_listed(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char site_sha[2][65], urgent_sha[65], lead[FIC_UUID_BUFSIZE];
	e2e_photo_backlog(f, site_sha, urgent_sha, lead);
	/* One byte of a stored rendition changes on the device. */
	char path[600];
	snprintf(path, sizeof path, "%s.photos/%s.jpg", f->store->path, site_sha[1]);
	FILE *fp = fopen(path, "r+b");
	assert_non_null(fp);
	fseek(fp, 700, SEEK_SET);
	int c = fgetc(fp);
	fseek(fp, 700, SEEK_SET);
	fputc(c ^ 0x5a, fp);
	fclose(fp);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.photos_sent, 2);
	assert_int_equal(rep.photos_rejected, 1);
	assert_int_equal(county_photo_count(f->server), 2);
	fic_sync_rejection_list *l;
	assert_int_equal(fic_sync_rejections_get(&l, f->store), FIC_OK);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->entries[0].record_type, "photo_file");
	assert_string_equal(l->entries[0].record_id, site_sha[1]);
	assert_non_null(strstr(l->entries[0].reason, "SHA-256"));
	fic_sync_rejection_list_free(l);
}

static int raw(e2e *f, const char *method, const char *path, const char *token,
               const char *offset, const char *length, const void *body, size_t len,
               int64_t *upload_offset)
{
	char u[200], bearer[200];
	snprintf(u, sizeof u, "%s%s", f->url, path);
	snprintf(bearer, sizeof bearer, "Bearer %s", token);
	fic_http_header h[3] = { { "Authorization", bearer }, { "Upload-Offset", offset ? offset : "" },
		                 { "Upload-Length", length ? length : "" } };
	fic_http_request q = { .version = FIC_TRANSPORT_VERSION, .method = method, .url = u, .headers = h,
		               .header_count = offset ? 3 : 1, .body = body, .body_len = len };
	fic_http_response r;
	assert_int_equal(f->transport->request(f->transport->ctx, &q, &r), FIC_OK);
	assert_true(r.server_time_ms > 0);
	if (r.status >= 400 && strcmp(method, "HEAD") != 0)
		assert_non_null(strstr((char *)r.body, "\"retry\":"));
	if (upload_offset)
		*upload_offset = r.upload_offset;
	fic_free(r.body);
	return r.status;
}

/* Fill `d` with a pattern; its SHA-256 and its /v1/photos/ path. */
static void photo_bytes(unsigned char *d, size_t n, unsigned mul, unsigned add, char sha[65],
                        char path[100])
{
	for (size_t i = 0; i < n; i++)
		d[i] = (unsigned char)(i * mul + add);
	e2e_sha_hex(d, n, sha);
	snprintf(path, 100, "/v1/photos/%s", sha);
}

static void the_server_checks_every_photo_byte(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char token[200];
	e2e_token(f->store, token, sizeof token);
	/* 20 000 bytes whose SHA-256 we know. */
	static unsigned char data[20000];
	char sha[65], path[100];
	photo_bytes(data, sizeof data, 7, 3, sha, path);
	int64_t off;
	assert_int_equal(raw(f, "HEAD", path, token, NULL, NULL, NULL, 0, &off), 404);
	assert_int_equal(raw(f, "HEAD", "/v1/photos/abc", token, NULL, NULL, NULL, 0, &off), 400);
	assert_int_equal(raw(f, "HEAD", path, "forged", NULL, NULL, NULL, 0, &off), 401);
	/* A first chunk, then one at the wrong offset: 409 names the right one. */
	assert_int_equal(raw(f, "PATCH", path, token, "0", "20000", data, 8000, &off), 204);
	assert_int_equal(off, 8000);
	assert_int_equal(raw(f, "PATCH", path, token, "4000", "20000", data + 4000, 8000, &off), 409);
	assert_int_equal(off, 8000);
	assert_int_equal(raw(f, "HEAD", path, token, NULL, NULL, NULL, 0, &off), 200);
	assert_int_equal(off, 8000);
	/* Past the stated length, no length, a chunk over 256 KiB: refused. */
	assert_int_equal(raw(f, "PATCH", path, token, "8000", "9000", data + 8000, 8000, &off), 400);
	assert_int_equal(raw(f, "PATCH", path, token, "8000", NULL, data + 8000, 8000, &off), 400);
	unsigned char *big = calloc(1, 300 * 1024);
	assert_int_equal(raw(f, "PATCH", path, token, "8000", "400000", big, 300 * 1024, &off), 413);
	free(big);
	/* A wrong byte in the last chunk: 422 and the partial file is gone. */
	unsigned char last[12000];
	memcpy(last, data + 8000, sizeof last);
	last[5] ^= 1;
	assert_int_equal(raw(f, "PATCH", path, token, "8000", "20000", last, sizeof last, &off), 422);
	assert_int_equal(raw(f, "HEAD", path, token, NULL, NULL, NULL, 0, &off), 404);
	assert_int_equal(county_photo_count(f->server), 0);
	/* Right bytes: 201, and again is still 201 (idempotent). */
	assert_int_equal(raw(f, "PATCH", path, token, "0", "20000", data, sizeof data, &off), 201);
	assert_int_equal(off, 20000);
	assert_int_equal(raw(f, "PATCH", path, token, "0", "20000", data, sizeof data, &off), 201);
	assert_int_equal(raw(f, "HEAD", path, token, NULL, NULL, NULL, 0, &off), 200);
	assert_int_equal(off, 20000);
	assert_int_equal(county_photo_count(f->server), 1);
	/* Another county does not see it. */
	fic_store *other;
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	char *p2 = tu_path(f->dir, "other.db");
	assert_int_equal(fic_store_open(&other, p2, &o), FIC_OK);
	free(p2);
	char code[32], other_token[200];
	assert_int_equal(county_issue_code(f->server, "黔江区", code, sizeof code), 0);
	assert_int_equal(fic_sync_enroll(other, &f->opts, code, NULL), FIC_OK);
	fic_store *keep = f->store;
	f->store = other;
	e2e_token(f->store, other_token, sizeof other_token);
	f->store = keep;
	fic_store_close(other);
	assert_int_equal(raw(f, "HEAD", path, other_token, NULL, NULL, NULL, 0, &off), 404);

	/* The server died after the last chunk reached its disk but before the
	 * check: the partial file has every byte. HEAD checks it then — whole
	 * only if it verifies; a wrong byte and it is discarded, never "whole". */
	char cdir[65];
	e2e_sha_hex("石柱县", strlen("石柱县"), cdir);
	cdir[16] = '\0'; /* the county's folder: the first 16 hex digits */
	for (int bad = 1; bad >= 0; bad--) {
		static unsigned char d2[9000];
		char sha2[65], path2[100], len2[16];
		photo_bytes(d2, sizeof d2, 13, (unsigned)(1 + bad), sha2, path2);
		snprintf(len2, sizeof len2, "%zu", sizeof d2);
		assert_int_equal(raw(f, "PATCH", path2, token, "0", len2, d2, 4000, &off), 204);
		/* This device's partial file: <sha>.<first 16 hex of SHA-256(device id)>.part. */
		char part[700], tag[65];
		const char *me = fic_store_device_id(f->store);
		e2e_sha_hex(me, strlen(me), tag);
		snprintf(part, sizeof part, "%s/county.db.photos/%s/%s.%.16s.part", f->dir, cdir, sha2,
		         tag);
		FILE *fp = fopen(part, "ab");
		assert_non_null(fp);
		unsigned char rest[5000];
		memcpy(rest, d2 + 4000, sizeof rest);
		rest[100] ^= (unsigned char)bad; /* the torn write's damage, or none */
		assert_int_equal(fwrite(rest, 1, sizeof rest, fp), sizeof rest);
		fclose(fp);
		int64_t before = county_photo_count(f->server);
		if (bad) {
			assert_int_equal(raw(f, "HEAD", path2, token, NULL, NULL, NULL, 0, &off), 404);
			assert_int_equal(county_photo_count(f->server), before);
			assert_int_equal(access(part, F_OK), -1);
		} else {
			assert_int_equal(raw(f, "HEAD", path2, token, NULL, NULL, NULL, 0, &off), 200);
			assert_int_equal(off, (int64_t)sizeof d2);
			assert_int_equal(county_photo_count(f->server), before + 1);
		}
	}
	assert_int_equal(county_photo_bad(f->server), 0);
}

static void an_abandoned_photo_is_dropped_after_a_week(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char token[200];
	e2e_token(f->store, token, sizeof token);
	static unsigned char d[6000];
	char sha[65], path[100];
	photo_bytes(d, sizeof d, 31, 7, sha, path);
	int64_t off;
	assert_int_equal(raw(f, "PATCH", path, token, "0", "6000", d, 2000, &off), 204);
	/* A restart the same week keeps it ... */
	char err[300], *db = server_db_path(f);
	county_close(f->server);
	assert_int_equal(county_open(&f->server, db, err, sizeof err), 0);
	assert_int_equal(county_listen(f->server, "127.0.0.1:0", err, sizeof err), 0);
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", county_port(f->server));
	assert_int_equal(raw(f, "HEAD", path, token, NULL, NULL, NULL, 0, &off), 200);
	assert_int_equal(off, 2000);
	/* ... one eight days later drops it. */
	sqlite3 *sdb;
	assert_int_equal(sqlite3_open(db, &sdb), SQLITE_OK);
	sqlite3_busy_timeout(sdb, 5000);
	assert_int_equal(sqlite3_exec(sdb, "UPDATE partials SET started_ms = started_ms - 8 * 86400000",
	                              NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(sdb);
	county_close(f->server);
	assert_int_equal(county_open(&f->server, db, err, sizeof err), 0);
	assert_int_equal(county_listen(f->server, "127.0.0.1:0", err, sizeof err), 0);
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", county_port(f->server));
	assert_int_equal(raw(f, "HEAD", path, token, NULL, NULL, NULL, 0, &off), 404);
	free(db);
}

static void a_hostile_photo_answer_loses_nothing(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char site_sha[2][65], urgent_sha[65], lead[FIC_UUID_BUFSIZE];
	e2e_photo_backlog(f, site_sha, urgent_sha, lead);
	e2e_hostile h = { .table = { FIC_TRANSPORT_VERSION, NULL, e2e_hostile_request, NULL, 0 },
		      .real = f->transport };
	h.table.ctx = &h;
	fic_sync_options o = f->opts;
	o.transport = &h.table;
	static const struct {
		int status;
		int64_t offset;
		int rc;
	} bad[] = {
		{ 200, 999999999, FIC_EPROTO }, /* HEAD: more than the photo has */
		{ 200, -1, FIC_EPROTO },        /* HEAD: no offset */
		{ 302, 0, FIC_EPROTO },         /* a redirect */
		{ 418, 0, FIC_EPROTO },         /* nonsense */
		{ 500, -1, FIC_ENETWORK },      /* the server's trouble: transient */
	};
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		h.photo_status = bad[i].status;
		h.photo_offset = bad[i].offset;
		int rc = fic_sync_push(f->store, &o, &rep);
		if (rc != bad[i].rc)
			fail_msg("case %zu: %s", i, fic_error_last()->message);
		assert_int_equal(rep.photos_sent, 0);
		assert_int_equal(e2e_uploads_where(f, "state = 'pending'"), 3); /* nothing lost */
		assert_int_equal(fic_sync_network_changed(f->store, 1), FIC_OK);
	}
	assert_int_equal(county_photo_count(f->server), 0);
	/* A server whose offset never moves is doubted, not believed forever. */
	h.photo_status = 200;
	h.photo_offset = 0;
	static const int stuck[] = { 204, 409 };
	for (size_t i = 0; i < 2; i++) {
		h.patch_status = stuck[i];
		h.patch_offset = 0;
		h.photo_requests = 0;
		assert_int_equal(fic_sync_push(f->store, &o, &rep), FIC_EPROTO);
		assert_true(h.photo_requests <= 5);
		assert_int_equal(e2e_uploads_where(f, "state = 'pending'"), 3);
		assert_int_equal(fic_sync_network_changed(f->store, 1), FIC_OK);
	}
	/* Only the server's hash check failing counts toward refusing a photo:
	 * two 503s and then a 422 leave it queued; three 422s refuse it. */
	h.patch_status = 503;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fic_sync_push(f->store, &o, &rep), FIC_ENETWORK);
		assert_int_equal(fic_sync_network_changed(f->store, 1), FIC_OK);
	}
	h.patch_status = 422;
	assert_int_equal(fic_sync_push(f->store, &o, &rep), FIC_OK);
	assert_int_equal(e2e_uploads_where(f, "state = 'rejected'"), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fic_sync_network_changed(f->store, 1), FIC_OK);
		assert_int_equal(fic_sync_push(f->store, &o, &rep), FIC_OK);
	}
	assert_int_equal(e2e_uploads_where(f, "state = 'rejected'"), 3);
	assert_int_equal(sqlite3_exec(f->store->db, "UPDATE uploads SET state = 'pending', "
	                              "hash_failures = 0, next_at_ms = 0", NULL, NULL, NULL), SQLITE_OK);
	/* A hold set while the clock was a year ahead does not silence the device. */
	char sql[200];
	snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO sync_state (key, value) VALUES "
	         "('sync.not_before', '%lld')", (long long)(f->clock.wall_ms + 400LL * 86400000));
	assert_int_equal(sqlite3_exec(f->store->db, sql, NULL, NULL, NULL), SQLITE_OK);
	/* The real server, afterwards: everything goes. */
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(county_photo_count(f->server), 3);
	assert_int_equal(county_photo_bad(f->server), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, e2e_setup, e2e_teardown)
	const struct CMUnitTest tests[] = {
		T(photos_reach_the_county_urgent_lead_photos_first),
		T(an_interrupted_photo_resumes_at_the_servers_offset),
		T(a_damaged_photo_file_is_refused_and_listed),
		T(the_server_checks_every_photo_byte),
		T(an_abandoned_photo_is_dropped_after_a_week),
		T(a_hostile_photo_answer_loses_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
