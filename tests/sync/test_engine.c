/*
 * tests/sync/test_engine.c — enrolment and the records push, through the
 * transport seam with an in-process fake county server that keeps what it
 * stores and misbehaves on cue: answers lost after storing, resets before,
 * 503 with Retry-After, garbage, refusals, a wrong URL, a revoked token.
 * After every run each record is on the server exactly once and the outbox
 * holds nothing pending; urgent leads go in the first request and jump the
 * queue when filed during a pass. (End-to-end tests against the real
 * reference server over a socket come with server/.)
 */
#include "testutil.h"
#include "internal.h"
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#define NOW 1772352000000LL
#define MAXREC 2000

enum fault {
	F_OK = 0,
	F_NET_BEFORE, /* connection fails before the server sees anything */
	F_NET_AFTER,  /* the server stores the batch, the answer is lost */
	F_503,        /* busy, Retry-After 20 s */
	F_GARBAGE,    /* 200 with an HTML body */
	F_401,
	F_404,
};

typedef struct fake {
	fic_transport table;
	/* what the server holds */
	char ids[MAXREC][64];
	char types[MAXREC][16];
	int times_stored[MAXREC];
	size_t n;
	int duplicates_answered;
	int audit_n; /* audit-log entries received */
	/* script */
	enum fault faults[32];
	size_t nfaults, call;
	const char *refuse_id; /* a record the server refuses (422) */
	/* observations */
	char first_types[8][16];
	size_t first_count;
	int requests;
	char last_auth[200];
	bool last_gzip;
	/* a hook run during request number hook_at (1-based) */
	void (*hook)(struct fake *);
	int hook_at;
	void *hook_arg;
	tu_clock *clock;
	bool server_clock_follows; /* the server's clock (and receipt times) follow the test's */
	/* enrolment */
	int enroll_status;
	const char *enroll_body;
} fake;

static size_t find(fake *f, const char *id)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->ids[i], id) == 0)
			return i;
	return SIZE_MAX;
}

static void set_body(fic_http_response *r, int status, const char *body)
{
	r->status = status;
	r->body_len = strlen(body);
	r->body = fic__malloc(r->body_len + 1);
	memcpy(r->body, body, r->body_len + 1);
}

static int fake_request(void *ctx, const fic_http_request *q, fic_http_response *r)
{
	fake *f = ctx;
	memset(r, 0, sizeof *r);
	r->server_time_ms = r->retry_after_ms = r->upload_offset = -1;
	f->requests++;
	f->clock->mono_ms += 300; /* the round trip */
	f->clock->wall_ms += 300;
	if (f->hook && f->requests == f->hook_at)
		f->hook(f);
	if (fic_cancel_requested(q->cancel))
		return fic__err(FIC_ECANCELED, "cancelled");
	if (strstr(q->url, "/v1/enroll")) {
		set_body(r, f->enroll_status, f->enroll_body);
		r->server_time_ms = NOW + 60000;
		return FIC_OK;
	}
	assert_non_null(strstr(q->url, "/v1/records"));
	assert_string_equal(q->method, "POST");
	f->last_gzip = false;
	f->last_auth[0] = '\0';
	for (size_t i = 0; i < q->header_count; i++) {
		if (strcmp(q->headers[i].name, "Authorization") == 0)
			snprintf(f->last_auth, sizeof f->last_auth, "%s", q->headers[i].value);
		if (strcmp(q->headers[i].name, "Content-Encoding") == 0)
			f->last_gzip = strcmp(q->headers[i].value, "gzip") == 0;
	}
	enum fault fault = f->call < f->nfaults ? f->faults[f->call] : F_OK;
	f->call++;
	if (fault == F_NET_BEFORE)
		return fic__err(FIC_ENETWORK, "network: connection reset by peer");
	if (fault == F_401) {
		set_body(r, 401, "{\"error\":\"token_revoked\",\"message\":\"设备已停用\",\"retry\":false}");
		return FIC_OK;
	}
	if (fault == F_404) {
		set_body(r, 404, "<html>not found</html>");
		return FIC_OK;
	}
	if (fault == F_503) {
		set_body(r, 503, "{\"error\":\"busy\",\"message\":\"busy\",\"retry\":true}");
		r->retry_after_ms = 20000;
		return FIC_OK;
	}
	unsigned char *plain = NULL;
	size_t plen = 0;
	if (f->last_gzip)
		assert_int_equal(fic__gunzip(q->body, q->body_len, 1 << 24, &plain, &plen), FIC_OK);
	cJSON *j = f->last_gzip ? cJSON_ParseWithLength((char *)plain, plen)
	                        : cJSON_ParseWithLength(q->body, q->body_len);
	fic__free(plain);
	assert_non_null(j);
	cJSON *recs = cJSON_GetObjectItem(j, "records"), *rec;
	if (f->requests == 1 || f->first_count == 0) {
		f->first_count = 0;
		cJSON_ArrayForEach(rec, recs)
		{
			if (f->first_count < 8)
				snprintf(f->first_types[f->first_count], 16, "%s",
				         cJSON_GetObjectItem(rec, "type")->valuestring);
			f->first_count++;
		}
	}
	/* Refusal of the whole batch when the bad record is in it. */
	if (f->refuse_id) {
		cJSON_ArrayForEach(rec, recs)
		{
			if (strcmp(cJSON_GetObjectItem(rec, "id")->valuestring, f->refuse_id) == 0) {
				cJSON_Delete(j);
				set_body(r, 422, "{\"error\":\"bad_record\",\"message\":\"场所类型不明\","
				                 "\"retry\":false}");
				return FIC_OK;
			}
		}
	}
	cJSON *out = cJSON_CreateObject(), *results = cJSON_AddArrayToObject(out, "results");
	cJSON_ArrayForEach(rec, recs)
	{
		const char *id = cJSON_GetObjectItem(rec, "id")->valuestring;
		const char *type = cJSON_GetObjectItem(rec, "type")->valuestring;
		size_t k = find(f, id);
		cJSON *res = cJSON_CreateObject();
		cJSON_AddStringToObject(res, "id", id);
		if (strcmp(type, "audit") == 0) { /* the audit log: counted apart */
			f->audit_n++;
			cJSON_AddStringToObject(res, "status", "stored");
		} else if (k == SIZE_MAX) {
			assert_true(f->n < MAXREC);
			k = f->n++;
			snprintf(f->ids[k], 64, "%s", id);
			snprintf(f->types[k], 16, "%s", type);
			f->times_stored[k] = 1;
			cJSON_AddStringToObject(res, "status", "stored");
		} else {
			f->duplicates_answered++;
			cJSON_AddStringToObject(res, "status", "duplicate");
		}
		char receipt[80];
		snprintf(receipt, sizeof receipt, "R-%zu", k);
		cJSON_AddStringToObject(res, "receipt_id", receipt);
		cJSON_AddNumberToObject(res, "received_at_ms",
		                        (double)((f->server_clock_follows ? f->clock->wall_ms : NOW) +
		                                 (int64_t)k));
		cJSON_AddItemToArray(results, res);
	}
	cJSON_Delete(j);
	char *text = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	if (fault == F_NET_AFTER) {
		cJSON_free(text);
		return fic__err(FIC_ENETWORK, "network: connection reset while reading the answer");
	}
	if (fault == F_GARBAGE)
		set_body(r, 200, "<html>captive portal</html>");
	else
		set_body(r, 200, text);
	cJSON_free(text);
	r->server_time_ms = (f->server_clock_follows ? f->clock->wall_ms : NOW) + 60000;
	return FIC_OK;
}

typedef struct fixture {
	char *dir;
	fic_platform platform;
	tu_clock clock;
	fic_store *store;
	fake fake;
	fic_sync_options opts;
} fixture;

static const char enrolled[] = "{\"token\":\"tok-0123456789abcdef0123456789abcdef\","
                               "\"county\":\"石柱县卫生健康综合行政执法支队\",\"device_id\":\"%s\","
                               "\"county_key\":%s}";

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->dir = tu_mkdtemp();
	tu_platform(&f->platform, &f->clock);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	char *path = tu_path(f->dir, "store.db");
	assert_int_equal(fic_store_open(&f->store, path, &o), FIC_OK);
	free(path);
	f->fake.table.version = FIC_TRANSPORT_VERSION;
	f->fake.table.ctx = &f->fake;
	f->fake.table.request = fake_request;
	f->fake.clock = &f->clock;
	f->opts = (fic_sync_options)FIC_SYNC_OPTIONS_INIT;
	f->opts.transport = &f->fake.table;
	f->opts.server_url = "https://county.example.cn/";
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	fic_store_close(f->store);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void enroll(fixture *f)
{
	static char body[512];
	char key[200];
	tu_county_key_json(key, sizeof key); /* the county's public key, pinned */
	snprintf(body, sizeof body, enrolled, fic_store_device_id(f->store), key);
	f->fake.enroll_status = 200;
	f->fake.enroll_body = body;
	int rc = fic_sync_enroll(f->store, &f->opts, "ABC-123-XYZ", "张三的手机");
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	f->fake.requests = 0; /* count the records requests from here */
}


static void add_site(fixture *f, const char *name)
{
	int rc = tu_add_school(f->store, name, 300);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
}

static void a_patrol_day(fixture *f)
{
	char id[FIC_UUID_BUFSIZE];
	add_site(f, "一小");
	add_site(f, "二小");
	add_site(f, "三小");
	for (int i = 0; i < 3; i++)
		assert_int_equal(fic_lead_file(id, f->store, "lead.tip_off", tu_tip_off_answers, NULL, NOW - 60000, 0),
		                 FIC_OK);
	for (int i = 0; i < 2; i++)
		assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL,
		                               NOW - 60000, 0),
		                 FIC_OK);
}

static int64_t outbox_count(fixture *f, const char *where)
{
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox WHERE %s", where);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void each_record_once(fixture *f)
{
	assert_int_equal(outbox_count(f, "state = 'pending'"), 0);
	assert_int_equal((int64_t)f->fake.n, outbox_count(f, "state = 'acked'"));
	for (size_t i = 0; i < f->fake.n; i++)
		assert_int_equal(f->fake.times_stored[i], 1);
	/* Every acked row carries its receipt. */
	assert_int_equal(outbox_count(f, "state = 'acked' AND receipt_id LIKE 'R-%'"),
	                 (int64_t)f->fake.n);
}

static void enrolment_keeps_the_token_and_push_needs_it(void **state)
{
	fixture *f = *state;
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_ESTATE);
	char county[128];
	assert_int_equal(fic_sync_enrolled(f->store, county, sizeof county), FIC_ENOTFOUND);

	f->fake.enroll_status = 403;
	f->fake.enroll_body = "{\"error\":\"code_used\",\"message\":\"注册码已使用\",\"retry\":false}";
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, "ABC-123-XYZ", NULL), FIC_EAUTH);
	assert_non_null(strstr(fic_error_last()->message, "注册码已使用"));
	f->fake.enroll_status = 200;
	f->fake.enroll_body = "{\"token\":\"short\",\"county\":\"x\",\"device_id\":\"y\"}";
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, "ABC-123-XYZ", NULL), FIC_EPROTO);
	f->fake.enroll_body = "{\"token\":\"tok-0123456789abcdef0123456789abcdef\",\"county\":\"x\","
	                      "\"device_id\":\"0190f0a0-0000-7000-8000-000000000009\"}";
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, "ABC-123-XYZ", NULL), FIC_EPROTO);
	assert_non_null(strstr(fic_error_last()->message, "another device"));
	f->fake.enroll_body = "not json";
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, "ABC-123-XYZ", NULL), FIC_EPROTO);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, "abc", NULL), FIC_EINVAL);
	assert_int_equal(fic_sync_enroll(f->store, NULL, "ABC-123-XYZ", NULL), FIC_EINVAL);
	assert_int_equal(fic_sync_enrolled(f->store, county, sizeof county), FIC_ENOTFOUND);

	enroll(f);
	assert_int_equal(fic_sync_enrolled(f->store, county, sizeof county), FIC_OK);
	assert_string_equal(county, "石柱县卫生健康综合行政执法支队");
	/* The server's time from the enrolment answer already sets trusted time. */
	fic_time t = FIC_TIME_INIT;
	assert_int_equal(fic_time_now(&t, f->store), FIC_OK);
	assert_false(t.flags & FIC_TIME_NO_CONTACT);

	add_site(f, "一小");
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_string_equal(f->fake.last_auth, "Bearer tok-0123456789abcdef0123456789abcdef");
	assert_true(f->fake.last_gzip);
	assert_int_equal(rep.stored, 1);
	/* The token is not in the audit log. */
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db,
	                                    "SELECT count(*) FROM audit WHERE detail LIKE '%tok-%'", -1,
	                                    &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
}

static void urgent_leads_go_in_the_first_request(void **state)
{
	fixture *f = *state;
	enroll(f);
	a_patrol_day(f);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(f->fake.first_count, 2);
	assert_string_equal(f->fake.first_types[0], "lead");
	assert_string_equal(f->fake.first_types[1], "lead");
	/* urgent alone, then the rest in one batch, then the audit log */
	assert_int_equal(f->fake.requests, 3);
	assert_true(f->fake.audit_n > 8);
	assert_int_equal(rep.stored, 8);
	assert_int_equal(rep.urgent_acked, 2);
	assert_int_equal(rep.pending, 0);
	assert_int_equal(rep.requests, 3);
	assert_int_equal(rep.audit_sent, f->fake.audit_n);
	assert_true(rep.bytes_sent > 0 && rep.bytes_received > 0);
	each_record_once(f);
	/* A second pass has nothing to do and sends nothing. */
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.requests, 0);
}

static void every_record_arrives_once_whatever_breaks(void **state)
{
	fixture *f = *state;
	enroll(f);
	a_patrol_day(f);
	enum fault script[] = { F_NET_AFTER, F_503, F_GARBAGE, F_NET_BEFORE, F_NET_AFTER, F_OK,
		                F_NET_AFTER, F_503 };
	memcpy(f->fake.faults, script, sizeof script);
	f->fake.nfaults = sizeof script / sizeof script[0];
	int passes = 0, rc;
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	do {
		rc = fic_sync_push(f->store, &f->opts, &rep);
		if (rc != FIC_OK) {
			assert_true(rc == FIC_ENETWORK || rc == FIC_EPROTO);
			assert_true(rep.deferred > 0);
			assert_true(rep.retry_at_ms > f->clock.wall_ms);
			if (f->fake.faults[f->fake.call - 1] == F_503) /* Retry-After honoured */
				assert_true(rep.retry_at_ms - f->clock.wall_ms >= 19000);
			f->clock.wall_ms = rep.retry_at_ms;
		} else {
			assert_int_equal(rep.retry_at_ms, 0);
		}
		passes++;
	} while (rc != FIC_OK && passes < 50);
	assert_int_equal(rc, FIC_OK);
	assert_int_equal(f->fake.n, 8);
	assert_true(f->fake.duplicates_answered >= 2); /* the lost answers were resent */
	each_record_once(f);
}

static void the_network_coming_back_makes_the_queue_due(void **state)
{
	fixture *f = *state;
	enroll(f);
	a_patrol_day(f);
	enum fault script[] = { F_NET_BEFORE };
	memcpy(f->fake.faults, script, sizeof script);
	f->fake.nfaults = 1;
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	/* The first request (the urgent leads) fails; the pass stops there ... */
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_ENETWORK);
	/* ... and after a long outage their backoff has grown to its 5-minute cap. */
	char sql[200];
	snprintf(sql, sizeof sql, "UPDATE outbox SET next_at_ms = %lld WHERE attempts > 0",
	         (long long)(f->clock.wall_ms + 300000));
	assert_int_equal(sqlite3_exec(f->store->db, sql, NULL, NULL, NULL), SQLITE_OK);
	/* The link is back, but the urgent leads wait out their backoff: the
	 * other records go, the urgent ones do not ... */
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.urgent_acked, 0);
	assert_true(rep.pending > 0);
	assert_int_equal(fic_sync_network_changed(f->store, 0), FIC_OK);
	int before = f->fake.requests;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(f->fake.requests, before);
	/* ... until the platform says the network is back: then they go at once. */
	assert_int_equal(fic_sync_network_changed(f->store, 1), FIC_OK);
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_true(rep.urgent_acked > 0);
	assert_int_equal(rep.pending, 0);
	assert_int_equal(f->fake.n, 8);
	each_record_once(f);
	assert_int_equal(fic_sync_network_changed(NULL, 1), FIC_EINVAL);
}

static void a_refused_audit_entry_is_isolated_and_the_rest_go(void **state)
{
	fixture *f = *state;
	enroll(f);
	a_patrol_day(f);
	int64_t entries = 0, third = 0;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT count(*), (SELECT seq FROM audit "
	                                    "ORDER BY seq LIMIT 1 OFFSET 2) FROM audit", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	entries = sqlite3_column_int64(st, 0);
	third = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	char bad[96];
	snprintf(bad, sizeof bad, "%s:%lld", fic_store_device_id(f->store), (long long)third);
	f->fake.refuse_id = bad; /* the server refuses (422) any batch holding it */
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	/* The push itself adds entries before the audit log goes (each lead
	 * delivered is audited): count them all. */
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT count(*) FROM audit", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(sqlite3_column_int64(st, 0) > entries);
	entries = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	assert_int_equal(rep.rejected, 1);
	assert_int_equal(rep.audit_sent, entries - 1);
	assert_int_equal(f->fake.audit_n, entries - 1);
	/* Done: a second pass sends nothing. */
	int before = f->fake.requests;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(f->fake.requests, before);
}

static void *file_urgent_lead_arg;
static void file_urgent_lead(fake *fk)
{
	fixture *f = file_urgent_lead_arg;
	(void)fk;
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL, NOW, 0), FIC_OK);
}

static void an_urgent_lead_filed_mid_pass_goes_next(void **state)
{
	fixture *f = *state;
	enroll(f);
	/* 700 ordinary records: two batches (500 + 200). */
	assert_int_equal(fic__tx_begin(f->store), FIC_OK);
	for (int i = 0; i < 700; i++) {
		char id[32];
		snprintf(id, sizeof id, "site-%04d", i);
		assert_int_equal(fic__outbox_enqueue(f->store, "site", id, "add", 0, "{\"n\":1}"), FIC_OK);
	}
	assert_int_equal(fic__tx_commit(f->store), FIC_OK);
	file_urgent_lead_arg = f;
	f->fake.hook = file_urgent_lead;
	f->fake.hook_at = 1;
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(f->fake.requests, 4); /* 500 sites, the lead, 200 sites, the audit log */
	assert_int_equal(f->fake.n, 701);
	/* Stored order: 500 sites, then the urgent lead, then the other 200. */
	assert_string_equal(f->fake.types[499], "site");
	assert_string_equal(f->fake.types[500], "lead");
	assert_string_equal(f->fake.types[501], "site");
	each_record_once(f);
}

static void a_refused_record_is_isolated_and_kept_with_its_reason(void **state)
{
	fixture *f = *state;
	enroll(f);
	for (int i = 0; i < 9; i++) {
		char name[32];
		snprintf(name, sizeof name, "第%d小学", i);
		add_site(f, name);
	}
	/* The server refuses the 6th site. */
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db,
	                                    "SELECT record_id, seq FROM outbox ORDER BY seq LIMIT 1 OFFSET 5",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	char bad[64], bad_wire[96];
	snprintf(bad, sizeof bad, "%s", (const char *)sqlite3_column_text(st, 0));
	/* A site change goes as "<device id>:site:<outbox seq>" (each change its own record). */
	snprintf(bad_wire, sizeof bad_wire, "%s:site:%lld", fic_store_device_id(f->store),
	         (long long)sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);
	f->fake.refuse_id = bad_wire;
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.stored, 8);
	assert_int_equal(rep.rejected, 1);
	assert_int_equal(rep.pending, 0);
	assert_int_equal(f->fake.n, 8);
	assert_int_equal(find(&f->fake, bad_wire), SIZE_MAX);
	fic_sync_rejection_list *l;
	assert_int_equal(fic_sync_rejections_get(&l, f->store), FIC_OK);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->entries[0].record_id, bad);
	assert_string_equal(l->entries[0].record_type, "site");
	assert_non_null(strstr(l->entries[0].reason, "场所类型不明"));
	fic_sync_rejection_list_free(l);
	/* Still there, never deleted; and not sent again. */
	assert_int_equal(outbox_count(f, "state = 'rejected'"), 1);
	int before = f->fake.requests;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(f->fake.requests, before);
}

static void a_wrong_url_or_revoked_token_changes_no_record(void **state)
{
	fixture *f = *state;
	enroll(f);
	a_patrol_day(f);
	f->fake.faults[0] = F_404;
	f->fake.faults[1] = F_401;
	f->fake.nfaults = 2;
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_EPROTO);
	assert_non_null(strstr(fic_error_last()->message, "does not speak"));
	assert_int_equal(outbox_count(f, "state = 'pending' AND attempts = 0"), 8);
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_EAUTH);
	assert_non_null(strstr(fic_error_last()->message, "设备已停用"));
	assert_int_equal(outbox_count(f, "state = 'pending' AND attempts = 0"), 8);
	assert_int_equal(outbox_count(f, "state = 'rejected'"), 0);
	/* Cancelled before it starts: nothing sent, nothing changed. */
	fic_cancel *cancel;
	assert_int_equal(fic_cancel_new(&cancel), FIC_OK);
	fic_cancel_request(cancel);
	f->opts.cancel = cancel;
	int before = f->fake.requests;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_ECANCELED);
	assert_int_equal(f->fake.requests, before);
	fic_cancel_reset(cancel);
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	f->opts.cancel = NULL;
	fic_cancel_free(cancel);
	each_record_once(f);
}

/* Issue #12, finding 10: the token goes to the server the device enrolled with, nowhere else. */
static void the_token_goes_only_to_the_server_it_enrolled_with(void **state)
{
	fixture *f = *state;
	enroll(f); /* with https://county.example.cn/ */
	a_patrol_day(f);
	const char *others[] = { "https://county.example.cn.evil.example/",
		                 "https://evil.example/county.example.cn/", "http://county.example.cn/",
		                 "https://county.example.cn:8443/", "https://county.example.cn/v2" };
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		f->opts.server_url = others[i];
		fic_sync_report rep = FIC_SYNC_REPORT_INIT;
		assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_ESTATE);
		assert_non_null(strstr(fic_error_last()->message, "enrolled with https://county.example.cn/"));
		assert_int_equal(fic_sync_pull(f->store, &f->opts, &rep), FIC_ESTATE);
		assert_int_equal(fic_sync_run(f->store, &f->opts, &rep), FIC_ESTATE);
		assert_int_equal(f->fake.requests, 0); /* not one request, so no token left the device */
	}
	/* The same server written another way is the same server. */
	f->opts.server_url = "HTTPS://County.Example.CN";
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_true(f->fake.requests > 0);
	each_record_once(f);
}

static void the_token_is_kept_apart_from_the_database(void **state)
{
	fixture *f = *state;
	enroll(f);
	fic_store_close(f->store); /* everything on disk */
	char *db = tu_path(f->dir, "store.db"), *file = tu_path(f->dir, "store.db.sync_token.secret");
	const char *tok = "tok-0123456789abcdef0123456789abcdef";
	const char *suffix[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		char path[700];
		snprintf(path, sizeof path, "%s%s", db, suffix[i]);
		assert_false(tu_file_contains(path, tok, strlen(tok)));
	}
	assert_true(tu_file_contains(file, tok, strlen(tok)));
	struct stat sb;
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	assert_int_equal(fic_store_open(&f->store, db, &o), FIC_OK);
	assert_int_equal(fic_sync_enrolled(f->store, NULL, 0), FIC_OK);
	free(db);
	free(file);
}

static void another_county_key_is_refused_until_the_device_is_unenrolled(void **state)
{
	fixture *f = *state;
	enroll(f);
	fic__county_key pinned;
	assert_int_equal(fic__county_key_get(f->store, &pinned), FIC_OK);
	/* An enrolment answer with another key: nothing changes, not even the token. */
	unsigned char pk[32];
	memset(pk, 9, sizeof pk);
	char text[FIC_COUNTY_KEY_TEXT], id[FIC_KEY_ID_BUFSIZE];
	fic__county_key_text(pk, text);
	fic__county_key_id(pk, id);
	cJSON *j = cJSON_CreateObject(), *k = cJSON_CreateObject();
	cJSON_AddStringToObject(k, "id", id);
	cJSON_AddStringToObject(k, "public_key", text);
	cJSON_AddStringToObject(j, "token", "tok-new0123456789abcdef0123456789abc");
	cJSON_AddStringToObject(j, "county", "石柱县卫生健康综合行政执法支队");
	cJSON_AddStringToObject(j, "device_id", fic_store_device_id(f->store));
	cJSON_AddItemToObject(j, "county_key", k);
	char *body = cJSON_PrintUnformatted(j);
	f->fake.enroll_body = body;
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, "ABC-123-XYZ", NULL), FIC_ESTATE);
	assert_non_null(strstr(fic_error_last()->message, "unenrol"));
	char token[128];
	assert_int_equal(fic__secret_get(f->store, FIC_SECRET_TOKEN, token, sizeof token), FIC_OK);
	assert_string_equal(token, "tok-0123456789abcdef0123456789abcdef");
	fic__county_key now;
	assert_int_equal(fic__county_key_get(f->store, &now), FIC_OK);
	assert_string_equal(now.id, pinned.id);
	/* A key whose id is not its own is a protocol error. */
	cJSON_ReplaceItemInObject(k, "id", cJSON_CreateString("0000000000000000"));
	char *bad = cJSON_PrintUnformatted(j);
	f->fake.enroll_body = bad;
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, "ABC-123-XYZ", NULL), FIC_EPROTO);
	/* Unenrolled on purpose: no token, no county, no key; then the new key is taken. */
	assert_int_equal(fic_sync_unenroll(f->store), FIC_OK);
	assert_int_equal(fic_sync_enrolled(f->store, NULL, 0), FIC_ENOTFOUND);
	assert_int_equal(fic__county_key_get(f->store, &now), FIC_ENOTFOUND);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_ESTATE);
	f->fake.enroll_body = body;
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, "ABC-123-XYZ", NULL), FIC_OK);
	assert_int_equal(fic__county_key_get(f->store, &now), FIC_OK);
	assert_string_equal(now.id, id);
	fic_audit_list *a;
	assert_int_equal(fic_audit_list_get(&a, f->store, fic_store_device_id(f->store), 0), FIC_OK);
	bool unenrolled = false;
	for (size_t i = 0; i < a->count; i++)
		unenrolled |= strcmp(fic_audit_list_at(a, i)->action, "sync.unenroll") == 0;
	assert_true(unenrolled);
	fic_audit_list_free(a);
	cJSON_free(bad);
	cJSON_free(body);
	cJSON_Delete(j);
}

static int progress_calls;
static int64_t progress_last_done;
static void a_push_pass_prunes_what_the_server_acknowledged_a_week_ago(void **state)
{
	fixture *f = *state;
	enroll(f);
	f->fake.server_clock_follows = true;
	a_patrol_day(f);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	each_record_once(f); /* just acknowledged: all kept */
	int64_t acked = outbox_count(f, "state = 'acked'");
	assert_int_equal(acked, 8);
	/* Six days on, a pass keeps them; eight days on (the default week has
	 * passed), the pass's end prunes them and leaves one tombstone each. */
	f->clock.wall_ms += 6 * 86400000LL;
	f->clock.mono_ms += 6 * 86400000LL;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(outbox_count(f, "state = 'acked'"), acked);
	f->clock.wall_ms += 2 * 86400000LL;
	f->clock.mono_ms += 2 * 86400000LL;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(outbox_count(f, "1"), 0);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT count(*), sum(records) FROM "
	                                    "outbox_pruned", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 1), (int64_t)f->fake.n);
	assert_int_equal(sqlite3_column_int64(st, 0), 8); /* 3 sites, 5 leads: one record each */
	sqlite3_finalize(st);
	assert_int_equal(rep.pending, 0);
	if (fic_store_check(f->store) != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	/* A new change after the pruning goes as ever. */
	add_site(f, "四小");
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.stored, 1);
}

static void on_progress(void *arg, const fic_sync_progress *p)
{
	(void)arg;
	assert_true(p->records_done >= progress_last_done);
	assert_true(p->records_done <= p->records_total);
	progress_last_done = p->records_done;
	progress_calls++;
}

static void progress_is_reported_and_bodies_can_go_plain(void **state)
{
	fixture *f = *state;
	enroll(f);
	a_patrol_day(f);
	f->opts.progress = on_progress;
	f->opts.no_gzip = 1;
	progress_calls = 0;
	progress_last_done = 0;
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(progress_calls, 3); /* two record batches and the audit log */
	assert_int_equal(progress_last_done, 8);
	assert_false(f->fake.last_gzip);
	each_record_once(f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(enrolment_keeps_the_token_and_push_needs_it),
		T(urgent_leads_go_in_the_first_request),
		T(every_record_arrives_once_whatever_breaks),
		T(the_network_coming_back_makes_the_queue_due),
		T(a_refused_audit_entry_is_isolated_and_the_rest_go),
		T(an_urgent_lead_filed_mid_pass_goes_next),
		T(a_refused_record_is_isolated_and_kept_with_its_reason),
		T(a_wrong_url_or_revoked_token_changes_no_record),
		T(progress_is_reported_and_bodies_can_go_plain),
		T(a_push_pass_prunes_what_the_server_acknowledged_a_week_ago),
		T(the_token_goes_only_to_the_server_it_enrolled_with),
		T(the_token_is_kept_apart_from_the_database),
		T(another_county_key_is_refused_until_the_device_is_unenrolled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
