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
