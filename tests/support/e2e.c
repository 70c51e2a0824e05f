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
	if (county_open(&f->server, sdb, err, sizeof err) != 0 ||
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
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(store->db,
	                                    "SELECT value FROM sync_state WHERE key = 'sync.token'", -1,
	                                    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
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
	fic_http_request q = { .method = method, .url = u, .headers = h, .header_count = n,
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
