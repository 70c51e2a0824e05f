/*
 * tests/server/test_sync_feeds.c — the county's feeds through the real
 * server: the registry, a newer checklist and tasks; long feeds in pages;
 * pages gzip'd when asked (and a gzip bomb refused); hostile pages changing
 * nothing.
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

/* ---- feeds ---- */
static void load(e2e *f, const char *feed, const char *county, const char *json)
{
	char err[300];
	int n = county_load(f->server, county, feed, json, err, sizeof err);
	if (n < 0)
		fail_msg("%s", err);
}

static void feeds_bring_the_registry_checklists_and_tasks(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	/* A newer version of a built-in checklist. */
	char *def;
	assert_int_equal(fic_checklist_get_json(&def, f->store, "school.water", 0), FIC_OK);
	cJSON *d = cJSON_Parse(def);
	fic_free(def);
	int v = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(d, "version"));
	cJSON_ReplaceItemInObject(d, "version", cJSON_CreateNumber(v + 1));
	cJSON *arr = cJSON_CreateArray();
	cJSON_AddItemToArray(arr, d);
	char *defs = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	load(f, "checklists", "石柱县", defs);
	free(defs);
	load(f, "sites", "石柱县",
	     "[{\"id\":\"cq-sz-0001\",\"kind\":\"school\",\"name\":\"南宾小学\",\"school_level\":\"primary\","
	     "\"boarding\":true,\"enrolment\":820,\"lat\":29.99,\"lon\":108.11},"
	     "{\"id\":\"cq-sz-0002\",\"kind\":\"water_rural\",\"name\":\"黄水镇供水站\"},"
	     "{\"id\":\"cq-sz-0003\",\"kind\":\"no_such_kind\",\"name\":\"坏条目\"}]");
	load(f, "sites", "黔江区", "[{\"id\":\"qj-0001\",\"kind\":\"school\",\"name\":\"别县学校\"}]");
	load(f, "tasks", "石柱县",
	     "[{\"id\":\"task-1\",\"kind\":\"reinspect\",\"site_id\":\"cq-sz-0001\","
	     "\"due_date\":\"2026-04-01\",\"detail\":\"复查饮水设施\"}]");
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = fic_sync_pull(f->store, &f->opts, &rep);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	assert_int_equal(rep.pulled, 4);      /* 1 checklist, 2 sites, 1 task */
	assert_int_equal(rep.pull_invalid, 1); /* the bad kind, skipped */
	fic_site *s;
	assert_int_equal(fic_site_get(&s, f->store, "cq-sz-0001"), FIC_OK);
	assert_string_equal(s->name, "南宾小学");
	assert_int_equal(s->origin, FIC_SITE_FROM_COUNTY);
	assert_int_equal(s->enrolment, 820);
	assert_int_equal(s->boarding, 1);
	fic_site_free(s);
	assert_int_equal(fic_site_get(&s, f->store, "qj-0001"), FIC_ENOTFOUND); /* another county's */
	const char *tasks_check = "SELECT count(*) FROM tasks WHERE id = 'task-1' AND site_id = 'cq-sz-0001'";
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, tasks_check, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	const fic__entry *e;
	assert_int_equal(fic__checklist_find(&e, f->store, "school.water", 0), FIC_OK);
	assert_int_equal(e->def->version, v + 1);
	assert_int_equal(fic_store_check(f->store), FIC_OK);

	/* Nothing new: nothing applied. A change: only it. */
	assert_int_equal(fic_sync_pull(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.pulled + rep.pull_skipped + rep.pull_invalid, 0);
	load(f, "sites", "石柱县", "[{\"id\":\"cq-sz-0002\",\"kind\":\"water_rural\",\"name\":\"黄水镇水厂\"}]");
	assert_int_equal(fic_sync_pull(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.pulled, 1);
	assert_int_equal(fic_site_get(&s, f->store, "cq-sz-0002"), FIC_OK);
	assert_string_equal(s->name, "黄水镇水厂");
	assert_int_equal(s->revision, 2);

	/* The inspector's own change, not yet sent, wins over the county's until it arrives. */
	fic_site upd = *s, *after;
	upd.name = "黄水镇水厂（已改建）";
	assert_int_equal(fic_site_update(&after, f->store, &upd, "现场核实"), FIC_OK);
	fic_site_free(after);
	fic_site_free(s);
	load(f, "sites", "石柱县", "[{\"id\":\"cq-sz-0002\",\"kind\":\"water_rural\",\"name\":\"县里的名字\"}]");
	assert_int_equal(fic_sync_pull(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.pull_skipped, 1);
	assert_int_equal(fic_site_get(&s, f->store, "cq-sz-0002"), FIC_OK);
	assert_string_equal(s->name, "黄水镇水厂（已改建）");
	assert_int_equal(s->status, FIC_SITE_CHANGED);
	fic_site_free(s);
	/* Once the change has reached the county, its confirmation clears 信息变更. */
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	load(f, "sites", "石柱县",
	     "[{\"id\":\"cq-sz-0002\",\"kind\":\"water_rural\",\"name\":\"黄水镇水厂（已改建）\"},"
	     "{\"id\":\"cq-sz-0001\",\"op\":\"delete\"}]");
	assert_int_equal(fic_sync_pull(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.pulled, 2);
	assert_int_equal(fic_site_get(&s, f->store, "cq-sz-0002"), FIC_OK);
	assert_int_equal(s->status, FIC_SITE_ACTIVE);
	fic_site_free(s);
	assert_int_equal(fic_site_get(&s, f->store, "cq-sz-0001"), FIC_OK);
	assert_int_equal(s->status, FIC_SITE_CLOSED); /* removed from the registry: closed, kept */
	fic_site_free(s);

	/* A county version made before the inspector's change reached the server
	 * is not applied after it, even though the change is no longer pending. */
	assert_int_equal(fic_site_get(&s, f->store, "cq-sz-0002"), FIC_OK);
	upd = *s;
	upd.manager = "王站长";
	assert_int_equal(fic_site_update(&after, f->store, &upd, "负责人变更"), FIC_OK);
	fic_site_free(after);
	fic_site_free(s);
	load(f, "sites", "石柱县", "[{\"id\":\"cq-sz-0002\",\"kind\":\"water_rural\",\"name\":\"旧资料\"}]");
	usleep(5000); /* the change reaches the server a little after the county's load */
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(fic_sync_pull(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.pull_skipped, 1);
	assert_int_equal(fic_site_get(&s, f->store, "cq-sz-0002"), FIC_OK);
	assert_string_equal(s->manager, "王站长");
	assert_int_equal(s->status, FIC_SITE_CHANGED);
	fic_site_free(s);
	assert_int_equal(fic_store_check(f->store), FIC_OK);
}

/* 450 markets in the county's sites feed. */
static void load_markets(e2e *f)
{
	fic__sb sb = { 0 };
	fic__sb_printf(&sb, "[");
	for (int i = 0; i < 450; i++)
		fic__sb_printf(&sb, "%s{\"id\":\"site-%03d\",\"kind\":\"other_venue\",\"venue_type\":\"market\","
		               "\"name\":\"集贸市场%d\"}", i ? "," : "", i, i);
	fic__sb_printf(&sb, "]");
	char *json = fic__sb_take(&sb);
	load(f, "sites", "石柱县", json);
	fic__free(json);
}

static void a_long_feed_comes_in_pages(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	load_markets(f);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_pull(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.pulled, 450);
	assert_int_equal(rep.requests, 3 + 4); /* 3 pages of sites; checklists, settings, tasks, lab results once */
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT count(*) FROM sites", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 450);
	sqlite3_finalize(st);
}

typedef struct got {
	unsigned char *body;
	size_t len;
	bool gzip, vary;
} got;

static size_t got_body(char *p, size_t size, size_t n, void *arg)
{
	got *g = arg;
	unsigned char *nb = realloc(g->body, g->len + size * n + 1);
	assert_non_null(nb);
	memcpy(nb + g->len, p, size * n);
	g->body = nb;
	g->len += size * n;
	g->body[g->len] = '\0';
	return size * n;
}

static size_t got_header(char *p, size_t size, size_t n, void *arg)
{
	got *g = arg;
	if (strncasecmp(p, "Content-Encoding: gzip\r\n", size * n) == 0)
		g->gzip = true;
	if (strncasecmp(p, "Vary: Accept-Encoding\r\n", size * n) == 0)
		g->vary = true;
	return size * n;
}

/* GET a path on the server with this Accept-Encoding (NULL: none), the body as sent. */
static got get_coded(e2e *f, const char *path, const char *accept)
{
	char u[200], auth[300], token[200], ae[200];
	e2e_token(f->store, token, sizeof token);
	snprintf(u, sizeof u, "%s%s", f->url, path);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	snprintf(ae, sizeof ae, "Accept-Encoding: %s", accept ? accept : "");
	struct curl_slist *h = curl_slist_append(NULL, auth);
	if (accept)
		h = curl_slist_append(h, ae);
	got g = { 0 };
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, got_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &g);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, got_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &g);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	assert_int_equal(status, 200);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	return g;
}

static void feed_pages_are_gzipped_when_the_device_accepts_it(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	load_markets(f);
	const char *page = "/v1/feeds/sites?limit=200";
	got plain = get_coded(f, page, NULL);
	assert_false(plain.gzip);
	assert_true(plain.vary);
	assert_int_equal(plain.body[0], '{');
	/* Accept-Encoding as RFC 9110 reads it: a weight of 0 refuses, "*" stands
	 * for what is not named. */
	static const struct {
		const char *accept;
		bool gzip;
	} cases[] = {
		{ "gzip", true },          { "GZIP ; q=0.5", true },   { "br, x-gzip;q=1", true },
		{ "*", true },             { "deflate, *;q=0.1", true }, { "identity", false },
		{ "gzip;q=0", false },     { "gzip; q=0.000", false }, { "*, gzip;q=0", false },
		{ "br", false },           { "gzipped", false },       { "", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		got g = get_coded(f, page, cases[i].accept);
		if (g.gzip != cases[i].gzip)
			fail_msg("Accept-Encoding: %s", cases[i].accept);
		assert_true(g.vary);
		if (g.gzip) {
			/* The same page, about 10x smaller on the wire. */
			unsigned char *back;
			size_t blen;
			assert_int_equal(fic__gunzip(g.body, g.len, 1u << 22, &back, &blen), FIC_OK);
			assert_int_equal(blen, plain.len);
			assert_memory_equal(back, plain.body, blen);
			assert_true(g.len * 5 < plain.len);
			fic__free(back);
		} else {
			assert_int_equal(g.len, plain.len);
		}
		free(g.body);
	}
	/* The device asks for it and inflates it: all 450, a fraction of the bytes. */
	int64_t plain_bytes = (int64_t)plain.len;
	free(plain.body);
	for (const char *next = "/v1/feeds/sites?limit=200&cursor=200"; next;) {
		got g = get_coded(f, next, NULL); /* the other two pages, plain */
		plain_bytes += (int64_t)g.len;
		next = strstr((char *)g.body, "\"more\":true") ? "/v1/feeds/sites?limit=200&cursor=400"
		                                               : NULL;
		free(g.body);
	}
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_pull(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.pulled, 450);
	print_message("# 450 sites: %lld bytes received gzip'd, %lld as JSON\n",
	              (long long)rep.bytes_received, (long long)plain_bytes);
	assert_true(rep.bytes_received * 4 < plain_bytes);
	assert_int_equal(fic_store_check(f->store), FIC_OK);
}

static void a_hostile_feed_changes_nothing(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	e2e_hostile h = { .table = { FIC_TRANSPORT_VERSION, NULL, e2e_hostile_request, NULL, 0 },
		      .real = f->transport, .feed_status = 200 };
	h.table.ctx = &h;
	fic_sync_options o = f->opts;
	o.transport = &h.table;
	static const char *const bad[] = {
		"not json",
		"{\"items\":[]}",                                  /* no cursor */
		"{\"items\":{},\"cursor\":\"1\",\"more\":false}",   /* items not an array */
		"{\"items\":[],\"cursor\":7,\"more\":false}",       /* cursor not a string */
		/* (A bad item in a good page is skipped and counted, never refuses the
		 * page: tests/server/test_feed_hostile.c.) */
	};
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		h.feed_body = bad[i];
		assert_int_equal(fic_sync_pull(f->store, &o, &rep), FIC_EPROTO);
		assert_int_equal(rep.pulled, 0);
	}
	/* A page that never ends is cut off; a server error is transient. */
	h.feed_body = "{\"items\":[],\"cursor\":\"1\",\"more\":true}";
	assert_int_equal(fic_sync_pull(f->store, &o, &rep), FIC_EPROTO);
	/* The device asks for gzip'd pages. A gzip bomb: a page that would be
	 * valid — one site, then 64 MiB of JSON whitespace — in 64 KB on the wire,
	 * refused for its inflated size, not for its content; a damaged gzip
	 * stream and a coding the device did not ask for are refused too. */
	assert_true(h.asked_gzip);
	size_t bomb_len = 64u << 20;
	char *bomb = malloc(bomb_len);
	memset(bomb, ' ', bomb_len);
	const char page[] = "{\"items\":[{\"id\":\"s1\",\"op\":\"upsert\",\"data\":{\"kind\":"
	                    "\"school\",\"name\":\"甲\"}}],\"cursor\":\"1\",\"more\":false}";
	memcpy(bomb, page, strlen(page));
	unsigned char *gz;
	size_t gzlen;
	assert_int_equal(fic__gzip(bomb, bomb_len, &gz, &gzlen), FIC_OK);
	free(bomb);
	h.feed_coded = gz;
	h.feed_coded_len = gzlen;
	h.feed_coding = FIC_HTTP_CODING_GZIP;
	assert_int_equal(fic_sync_pull(f->store, &o, &rep), FIC_ETOOBIG);
	assert_non_null(strstr(fic_error_last()->message, "inflates to more than"));
	assert_int_equal(rep.pulled, 0);
	assert_true(rep.bytes_received < (1 << 20));
	fic__free(gz);
	assert_int_equal(fic__gzip(page, strlen(page), &gz, &gzlen), FIC_OK);
	h.feed_coded = gz;
	h.feed_coded_len = gzlen - 6; /* cut short: its CRC and length are missing */
	assert_int_equal(fic_sync_pull(f->store, &o, &rep), FIC_EPROTO);
	assert_non_null(strstr(fic_error_last()->message, "not valid gzip"));
	h.feed_coded_len = gzlen;
	gz[gzlen - 1] ^= 0x01; /* whole, but the length in its trailer is wrong */
	assert_int_equal(fic_sync_pull(f->store, &o, &rep), FIC_EPROTO);
	fic__free(gz);
	h.feed_coded = (const unsigned char *)page;
	h.feed_coded_len = strlen(page);
	h.feed_coding = FIC_HTTP_CODING_OTHER;
	assert_int_equal(fic_sync_pull(f->store, &o, &rep), FIC_EPROTO);
	assert_non_null(strstr(fic_error_last()->message, "content coding"));
	h.feed_coded = NULL;
	h.feed_body = "{\"error\":\"busy\",\"message\":\"busy\",\"retry\":true}";
	h.feed_status = 503;
	assert_int_equal(fic_sync_pull(f->store, &o, &rep), FIC_ENETWORK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db,
	                                    "SELECT (SELECT count(*) FROM sites) + (SELECT count(*) FROM "
	                                    "tasks) + (SELECT count(*) FROM checklists)", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
}

/*
 * The county's settings reach the device through the settings feed: the
 * semesters (学校卫生 三(一)2: visits in the first month of each) and the
 * patrol plan (实施方案 一(三)2, "适时调整"); a site the registry puts in
 * the MCH area besides its kind's (妇幼健康 三(一)1). Once there, they are
 * not typed over by hand.
 */
static void the_county_sends_its_semesters_and_patrol_plan(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	load(f, "settings", "石柱县",
	     "[{\"id\":\"semester_starts\",\"value\":\"2026-02-23,2026-09-01\"},"
	     "{\"id\":\"patrol_plan\",\"value\":{\"areas\":{\"school\":{\"per_year\":3}}}},"
	     "{\"id\":\"no_such_setting\",\"value\":1}]");
	load(f, "sites", "石柱县",
	     "[{\"id\":\"cq-sz-0101\",\"kind\":\"medical\",\"name\":\"县人民医院\","
	     "\"areas\":[\"mch\"]},{\"id\":\"cq-sz-0102\",\"kind\":\"school\",\"name\":\"南宾小学\"}]");
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_pull(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.pull_invalid, 1); /* the unknown setting, skipped */
	char *t;
	assert_int_equal(fic_due_summary_json(&t, f->store), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	const cJSON *areas = cJSON_GetObjectItem(j, "areas");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(areas, "school"), "per_year")->valueint, 3);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(areas, "mch"), "open_sites")->valueint, 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "semester"), "start")->valuestring,
	                    "2026-02-23");
	cJSON_Delete(j);
	assert_int_equal(fic_setting_set(f->store, "semester_starts", "2026-03-02"), FIC_ESTATE);
	assert_int_equal(fic_patrol_plan_set(f->store, "{\"areas\":{}}"), FIC_ESTATE);
	assert_int_equal(fic_store_check(f->store), FIC_OK);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, e2e_setup, e2e_teardown)
	const struct CMUnitTest tests[] = {
		T(feeds_bring_the_registry_checklists_and_tasks),
		T(a_long_feed_comes_in_pages),
		T(the_county_sends_its_semesters_and_patrol_plan),
		T(feed_pages_are_gzipped_when_the_device_accepts_it),
		T(a_hostile_feed_changes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
