/*
 * tests/support/e2e.c — see e2e.h.
 */
#include "e2e.h"
#include "internal.h"

#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

e2e *e2e_new(void)
{
	return e2e_new_with(NULL);
}

e2e *e2e_new_with(const county_limits *limits)
{
	e2e *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->dir = tu_mkdtemp();
	tu_platform(&f->platform, &f->clock);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	char *path = tu_path(f->dir, "store.db");
	if (fic_store_open(&f->store, path, &o) != FIC_OK)
		fail_msg("store: %s", fic_error_last()->message);
	free(path);
	char err[300];
	char *sdb = tu_path(f->dir, "county.db");
	f->keys = tu_path(f->dir, "county-keys");
	if (county_open(&f->server, sdb, err, sizeof err) != 0 ||
	    county_set_key_dir(f->server, f->keys, err, sizeof err) != 0 ||
	    (limits && county_set_limits(f->server, limits) != 0) ||
	    county_listen(f->server, "127.0.0.1:0", err, sizeof err) != 0)
		fail_msg("server: %s", err);
	free(sdb);
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", county_port(f->server));
	assert_int_equal(fic_transport_curl_new(&f->transport, NULL), FIC_OK);
	f->opts = (fic_sync_options)FIC_SYNC_OPTIONS_INIT;
	f->opts.transport = f->transport;
	f->opts.server_url = f->url;
	return f;
}

void e2e_free(e2e *f)
{
	if (f == NULL)
		return;
	fic_transport_curl_free(f->transport);
	county_close(f->server);
	fic_store_close(f->store);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->keys);
	free(f);
}

void e2e_enroll(e2e *f, const char *county)
{
	char code[32];
	assert_int_equal(county_issue_code(f->server, county, code, sizeof code), 0);
	if (fic_sync_enroll(f->store, &f->opts, code, "测试机") != FIC_OK)
		fail_msg("enrol: %s", fic_error_last()->message);
}

void e2e_load(e2e *f, const char *feed, const char *county, const char *json)
{
	char err[300];
	if (county_load(f->server, county, feed, json, err, sizeof err) < 0)
		fail_msg("load %s: %s", feed, err);
}

void e2e_query_text(e2e *f, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(f->store->db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(f->store->db));
	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("no row: %s", sql);
	const unsigned char *t = sqlite3_column_text(st, 0);
	snprintf(buf, size, "%s", t ? (const char *)t : "");
	sqlite3_finalize(st);
}

int64_t e2e_query_int(e2e *f, const char *sql)
{
	char buf[32];
	e2e_query_text(f, sql, buf, sizeof buf);
	return strtoll(buf, NULL, 10);
}

int e2e_setup(void **state)
{
	*state = e2e_new();
	return 0;
}

int e2e_teardown(void **state)
{
	e2e_free(*state);
	return 0;
}

fic_store *e2e_store_new(e2e *f, const char *name)
{
	fic_store *st;
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	char *path = tu_path(f->dir, name);
	if (fic_store_open(&st, path, &o) != FIC_OK)
		fail_msg("store %s: %s", name, fic_error_last()->message);
	free(path);
	return st;
}

void e2e_enroll_store(e2e *f, fic_store *store, const char *county)
{
	char code[32];
	assert_int_equal(county_issue_code(f->server, county, code, sizeof code), 0);
	if (fic_sync_enroll(store, &f->opts, code, NULL) != FIC_OK)
		fail_msg("enrol: %s", fic_error_last()->message);
}

void e2e_token(fic_store *store, char *buf, size_t size)
{
	/* Kept apart from the database, through the platform's secret hook. */
	assert_int_equal(fic__secret_get(store, FIC_SECRET_TOKEN, buf, size), FIC_OK);
}

e2e_answer e2e_request(e2e *f, const char *method, const char *path, const char *token,
                       const fic_http_header *extra, size_t nextra, const void *body, size_t len)
{
	char u[300], bearer[300];
	snprintf(u, sizeof u, "%s%s", f->url, path);
	snprintf(bearer, sizeof bearer, "Bearer %s", token ? token : "");
	fic_http_header h[12];
	size_t n = 0;
	if (token)
		h[n++] = (fic_http_header){ "Authorization", bearer };
	for (size_t i = 0; i < nextra && n < sizeof h / sizeof h[0]; i++)
		h[n++] = extra[i];
	fic_http_request q = { .version = FIC_TRANSPORT_VERSION, .method = method, .url = u, .headers = h, .header_count = n,
		               .body = body, .body_len = len };
	fic_http_response r;
	int rc = f->transport->request(f->transport->ctx, &q, &r);
	if (rc != FIC_OK)
		fail_msg("%s %s: no answer: %s", method, path, fic_error_last()->message);
	assert_true(r.server_time_ms > 0); /* on every answer */
	if (r.status >= 400 && strcmp(method, "HEAD") != 0) {
		assert_non_null(r.body);
		assert_non_null(strstr((char *)r.body, "\"retry\":"));
	}
	e2e_answer a = { r.status, NULL, r.retry_after_ms, r.upload_offset };
	if (r.body) {
		a.body = malloc(r.body_len + 1);
		assert_non_null(a.body);
		memcpy(a.body, r.body, r.body_len);
		a.body[r.body_len] = '\0';
	}
	fic_free(r.body);
	return a;
}

void e2e_answer_free(e2e_answer *a)
{
	free(a->body);
	a->body = NULL;
}

int e2e_post_json(e2e *f, const char *path, const char *token, const char *json, char **body)
{
	fic_http_header ct = { "Content-Type", "application/json" };
	e2e_answer a = e2e_request(f, "POST", path, token, &ct, 1, json, strlen(json));
	if (body)
		*body = a.body;
	else
		free(a.body);
	return a.status;
}

/* ---- shared by the sync end-to-end tests (tests/server/test_sync_*.c) ---- */

/* Records the server holds, other than audit-log entries. */
int64_t e2e_held(county_server *s)
{
	return county_record_count(s, NULL) - county_record_count(s, "audit");
}



void e2e_patrol_day(e2e *f, char urgent[2][FIC_UUID_BUFSIZE])
{
	assert_int_equal(tu_add_school(f->store, "一小", 300), FIC_OK);
	assert_int_equal(tu_add_school(f->store, "二小", 300), FIC_OK);
	assert_int_equal(tu_add_school(f->store, "三小", 300), FIC_OK);
	char id[FIC_UUID_BUFSIZE];
	for (int i = 0; i < 2; i++)
		assert_int_equal(fic_lead_file(id, f->store, "lead.tip_off", tu_tip_off_answers, NULL, 0, 0), FIC_OK);
	for (int i = 0; i < 2; i++)
		assert_int_equal(fic_lead_file(urgent[i], f->store, "event.foodborne", tu_foodborne_answers, NULL, 0, 0),
		                 FIC_OK);
}

int64_t e2e_pending(e2e *f)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db,
	                                    "SELECT count(*) FROM outbox WHERE state = 'pending'", -1,
	                                    &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int e2e_post_raw(e2e *f, const char *path, const char *auth, const char *enc, const void *body,
                size_t len)
{
	char u[128], bearer[200];
	snprintf(u, sizeof u, "%s%s", f->url, path);
	snprintf(bearer, sizeof bearer, "Bearer %s", auth ? auth : "");
	fic_http_header h[2] = { { "Authorization", bearer }, { "Content-Encoding", enc ? enc : "identity" } };
	fic_http_request q = { .version = FIC_TRANSPORT_VERSION, .method = "POST", .url = u, .headers = h, .header_count = 2,
		               .body = body, .body_len = len };
	fic_http_response r;
	assert_int_equal(f->transport->request(f->transport->ctx, &q, &r), FIC_OK);
	assert_true(r.server_time_ms > 0); /* on every answer */
	if (r.status >= 400) {
		/* Every error body says whether to retry. */
		assert_non_null(r.body);
		assert_non_null(strstr((char *)r.body, "\"retry\":"));
	}
	fic_free(r.body);
	return r.status;
}

/*
 * Every outbox row of `st` is acknowledged with the very receipt `cs` holds
 * for it (site changes go as "<site id>:<outbox seq>"). Returns the rows.
 */
int64_t e2e_acked_with_receipts(fic_store *st, county_server *cs)
{
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(st->db,
	                                    "SELECT CASE WHEN record_type = 'site' THEN (SELECT "
	                                    "value FROM meta WHERE key = 'device_id') || ':site:' || "
	                                    "seq ELSE record_id END, state, receipt_id FROM outbox",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	int64_t rows = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		rows++;
		assert_string_equal((const char *)sqlite3_column_text(q, 1), "acked");
		char receipt[64];
		assert_int_equal(county_receipt(cs, (const char *)sqlite3_column_text(q, 0), receipt,
		                                sizeof receipt), 0);
		assert_string_equal((const char *)sqlite3_column_text(q, 2), receipt);
	}
	sqlite3_finalize(q);
	return rows;
}

void e2e_upload_sha(e2e *f, const char *photo_id, char out[65])
{
	fic_photo *ph;
	assert_int_equal(fic_photo_get(&ph, f->store, photo_id), FIC_OK);
	snprintf(out, 65, "%s", ph->upload_sha256);
	fic_photo_free(ph);
}

int64_t e2e_uploads_where(e2e *f, const char *where)
{
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM uploads WHERE %s", where);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Two photos of a site (older), then an urgent lead with one photo. */
void e2e_photo_backlog(e2e *f, char site_sha[2][65], char *urgent_sha, char *urgent_lead)
{
	fic_site s = FIC_SITE_INIT, *out;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "大河村集中供水站";
	assert_int_equal(fic_site_add(&out, f->store, &s, "巡查发现"), FIC_OK);
	for (int i = 0; i < 2; i++) {
		size_t len;
		unsigned char *jpg = tu_make_jpeg(900 + 40 * i, 700, 3, 0, 90, &len);
		char pid[FIC_UUID_BUFSIZE];
		assert_int_equal(fic_photo_add_buffer(pid, f->store, FIC_PHOTO_SITE, out->id, NULL, jpg,
		                                      len, NULL), FIC_OK);
		e2e_upload_sha(f, pid, site_sha[i]);
		free(jpg);
	}
	fic_site_free(out);
	assert_int_equal(fic_lead_file(urgent_lead, f->store, "event.foodborne", tu_foodborne_answers,
	                               NULL, 0, FIC_LEAD_DRAFT), FIC_OK);
	size_t len;
	unsigned char *jpg = tu_make_jpeg(800, 600, 3, 0, 90, &len);
	char pid[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_photo_add_buffer(pid, f->store, FIC_PHOTO_LEAD, urgent_lead, NULL, jpg, len,
	                                      NULL), FIC_OK);
	free(jpg);
	e2e_upload_sha(f, pid, urgent_sha);
	assert_int_equal(fic_lead_submit(f->store, urgent_lead), FIC_OK);
}

/* SHA-256 of `len` bytes as lowercase hex. */
void e2e_sha_hex(const void *data, size_t len, char out[65])
{
	assert_int_equal(fic__sha256_hex(data, len, out), FIC_OK);
}


int e2e_hostile_request(void *ctx, const fic_http_request *q, fic_http_response *r)
{
	e2e_hostile *h = ctx;
	if (strstr(q->url, "/v1/feeds/") && (h->feed_body || h->feed_coded)) {
		for (size_t i = 0; i < q->header_count; i++)
			h->asked_gzip |= strcasecmp(q->headers[i].name, "Accept-Encoding") == 0 &&
			                 strstr(q->headers[i].value, "gzip") != NULL;
		memset(r, 0, sizeof *r);
		r->status = h->feed_status;
		r->server_time_ms = r->retry_after_ms = r->upload_offset = -1;
		r->body_len = h->feed_coded ? h->feed_coded_len : strlen(h->feed_body);
		r->body = fic__malloc(r->body_len + 1);
		memcpy(r->body, h->feed_coded ? h->feed_coded : (const unsigned char *)h->feed_body,
		       r->body_len);
		r->body[r->body_len] = '\0';
		r->content_encoding = h->feed_coded ? h->feed_coding : FIC_HTTP_CODING_NONE;
		return FIC_OK;
	}
	if (strstr(q->url, "/v1/photos/") && h->photo_status) {
		bool patch = strcmp(q->method, "PATCH") == 0 && h->patch_status;
		memset(r, 0, sizeof *r);
		r->status = patch ? h->patch_status : h->photo_status;
		r->server_time_ms = r->retry_after_ms = -1;
		r->upload_offset = patch ? h->patch_offset : h->photo_offset;
		h->photo_requests++;
		return FIC_OK;
	}
	return h->real->request(h->real->ctx, q, r);
}
