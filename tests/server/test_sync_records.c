/*
 * tests/server/test_sync_records.c — the records push through the real
 * server: a patrol day urgent-first, a late urgent lead in the two-hour
 * audit, lost answers and a busy server (nothing lost or doubled), a
 * tampered chained record refused and kept, a wrong token or path, malformed
 * requests, each change of a site its own record, two phones changing one
 * county site.
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

static void a_patrol_day_reaches_the_county_urgent_first(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char county[64];
	assert_int_equal(fic_sync_enrolled(f->store, county, sizeof county), FIC_OK);
	assert_string_equal(county, "石柱县");
	char urgent[2][FIC_UUID_BUFSIZE];
	e2e_patrol_day(f, urgent);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = fic_sync_push(f->store, &f->opts, &rep);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	assert_int_equal(rep.stored, 7);
	assert_int_equal(rep.urgent_acked, 2);
	assert_int_equal(rep.requests, 3); /* urgent alone, the rest, the audit log */
	assert_true(rep.audit_sent > 7);
	assert_int_equal(county_record_count(f->server, "audit"), rep.audit_sent);
	assert_int_equal(e2e_held(f->server), 7);
	assert_int_equal(county_record_count(f->server, "lead"), 4);
	assert_int_equal(county_record_count(f->server, "site"), 3);
	/* The urgent leads were received no later than anything else. */
	int64_t u = county_received_at(f->server, urgent[0]);
	assert_true(u > 0);
	assert_int_equal(county_received_at(f->server, urgent[1]), u);
	assert_int_equal(e2e_pending(f), 0);
	/* The two-hour audit on the server: both urgent leads on time, listed first. */
	char *report = NULL;
	size_t rlen = 0;
	FILE *mem = open_memstream(&report, &rlen);
	assert_int_equal(county_report_leads(f->server, mem), 0);
	fclose(mem);
	/* The county's heading, then its leads. */
	assert_true(strncmp(report, "county 石柱县\n", strlen("county 石柱县\n")) == 0);
	char *first = strchr(report, '\n') + 1;
	assert_true(strncmp(first, "URGENT ", 7) == 0);
	assert_non_null(strstr(report, urgent[0]));
	assert_non_null(strstr(report, urgent[1]));
	char *second = strchr(first, '\n') + 1;
	assert_true(strncmp(second, "URGENT ", 7) == 0);
	assert_non_null(strstr(second, "on time,"));
	assert_null(strstr(report, "LATE"));
	assert_non_null(strstr(report, "lead   ")); /* the tip-offs, after */
	free(report);
	/* The server's clock reached the trusted time. */
	fic_time t = FIC_TIME_INIT;
	assert_int_equal(fic_time_now(&t, f->store), FIC_OK);
	assert_false(t.flags & FIC_TIME_NO_CONTACT);

	/* A used code cannot enrol another device. */
	fic_store *other;
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	char *p2 = tu_path(f->dir, "other.db");
	assert_int_equal(fic_store_open(&other, p2, &o), FIC_OK);
	free(p2);
	char code[32];
	assert_int_equal(county_issue_code(f->server, "石柱县", code, sizeof code), 0);
	assert_int_equal(fic_sync_enroll(other, &f->opts, code, NULL), FIC_OK);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, code, NULL), FIC_EAUTH);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, "NOPE-NOPE-NOPE", NULL), FIC_EAUTH);
	fic_store_close(other);
}

static void a_late_urgent_lead_shows_in_the_audit(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	/* Found three hours ago, sent only now: an hour past its two-hour deadline. */
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL,
	                               f->clock.wall_ms - 3 * 3600 * 1000LL, 0),
	                 FIC_OK);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	char *report = NULL;
	size_t rlen = 0;
	FILE *mem = open_memstream(&report, &rlen);
	assert_int_equal(county_report_leads(f->server, mem), 1);
	fclose(mem);
	assert_non_null(strstr(report, id));
	assert_non_null(strstr(report, "LATE by 6")); /* 60 min and a few seconds */
	free(report);
}

static void lost_answers_and_a_busy_server_lose_and_double_nothing(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char urgent[2][FIC_UUID_BUFSIZE];
	e2e_patrol_day(f, urgent);
	/* The server stores each of the next three batches and drops the
	 * connection instead of answering. (libcurl itself retries a request
	 * once when a reused connection dies without a byte, so a pass may see
	 * one or two of these.) */
	county_fault_drop_after_store(f->server, 3);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = FIC_ERROR, failures = 0;
	int64_t dups = 0;
	for (int pass = 0; pass < 10; pass++) {
		rc = fic_sync_push(f->store, &f->opts, &rep);
		dups += rep.duplicates;
		if (rc == FIC_OK)
			break;
		if (rc != FIC_ENETWORK)
			fail_msg("%s", fic_error_last()->message);
		failures++;
		assert_true(rep.retry_at_ms > f->clock.wall_ms);
		f->clock.wall_ms = rep.retry_at_ms;
	}
	assert_int_equal(rc, FIC_OK);
	assert_true(failures >= 1);
	assert_true(dups >= 1); /* stored batches were sent again and answered as duplicates */
	assert_int_equal(e2e_held(f->server), 7);
	assert_int_equal(e2e_pending(f), 0);

	/* A busy server: 503 with Retry-After 30 s is honoured. */
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "lead.tip_off", tu_tip_off_answers, NULL, 0, 0), FIC_OK);
	county_fault_busy(f->server, 1, 30);
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_ENETWORK);
	assert_true(rep.retry_at_ms - f->clock.wall_ms >= 29000);
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.requests, 0); /* not before the server said */
	assert_int_equal(e2e_pending(f), 1);
	f->clock.wall_ms = rep.next_due_ms;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.stored, 1);
	assert_int_equal(e2e_held(f->server), 8);
	assert_int_equal(e2e_pending(f), 0);
}

static void a_tampered_record_is_refused_and_kept(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char urgent[2][FIC_UUID_BUFSIZE];
	e2e_patrol_day(f, urgent);
	/* Change a queued lead's canonical text after it was hashed. */
	assert_int_equal(sqlite3_exec(f->store->db,
	                              "UPDATE outbox SET payload = replace(payload, '镇中心饭店', "
	                              "'别的饭店') WHERE record_id = (SELECT record_id FROM outbox "
	                              "WHERE priority >= 100 ORDER BY seq LIMIT 1)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.rejected, 1);
	assert_int_equal(e2e_held(f->server), 6);
	fic_sync_rejection_list *l;
	assert_int_equal(fic_sync_rejections_get(&l, f->store), FIC_OK);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->entries[0].record_id, urgent[0]);
	assert_non_null(strstr(l->entries[0].reason, "chain_hash"));
	fic_sync_rejection_list_free(l);
}

static void a_wrong_token_or_path_changes_nothing(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char urgent[2][FIC_UUID_BUFSIZE];
	e2e_patrol_day(f, urgent);
	assert_int_equal(fic__secret_put(f->store, FIC_SECRET_TOKEN,
	                                 "forged-token-0123456789abcdef0123"), FIC_OK);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_EAUTH);
	assert_int_equal(e2e_pending(f), 7);
	/* The device id is bound to its enrolment: a fresh code does not enrol it
	 * again, a re-enrolment code for it does (a new token). */
	char code[32], err[200];
	assert_int_equal(county_issue_code(f->server, "石柱县", code, sizeof code), 0);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, code, NULL), FIC_EAUTH);
	assert_int_equal(county_issue_reenrol_code(f->server, fic_store_device_id(f->store),
	                                           COUNTY_CODE_TTL_MS, code, sizeof code, err,
	                                           sizeof err), 0);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, code, NULL), FIC_OK);
	/* Another URL than the enrolled server's: refused before any request
	 * (the token goes to the enrolled server only). */
	char wrong[96];
	snprintf(wrong, sizeof wrong, "%s/county-a", f->url);
	f->opts.server_url = wrong;
	rep = (fic_sync_report)FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_ESTATE);
	assert_non_null(strstr(fic_error_last()->message, "enrolled with"));
	assert_int_equal(rep.requests, 0);
	assert_int_equal(e2e_pending(f), 7);
	f->opts.server_url = f->url;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(e2e_held(f->server), 7);
}

static void the_server_refuses_malformed_requests(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char token[200];
	e2e_token(f->store, token, sizeof token);

	const char ok[] = "{\"records\":[{\"type\":\"site\",\"id\":\"x1\",\"op\":\"add\",\"payload\":{}}]}";
	assert_int_equal(e2e_post_raw(f, "/v1/records", NULL, NULL, ok, strlen(ok)), 401);
	assert_int_equal(e2e_post_raw(f, "/v1/records", "nope", NULL, ok, strlen(ok)), 401);
	assert_int_equal(e2e_post_raw(f, "/v1/records", token, NULL, "not json", 8), 400);
	assert_int_equal(e2e_post_raw(f, "/v1/records", token, "gzip", ok, strlen(ok)), 400);
	assert_int_equal(e2e_post_raw(f, "/v1/records", token, NULL, "{\"records\":[]}", 14), 400);
	assert_int_equal(e2e_post_raw(f, "/v1/records", token, NULL, "{\"records\":[7]}", 15), 400);
	assert_int_equal(e2e_post_raw(f, "/v1/nothing", token, NULL, ok, strlen(ok)), 404);
	/* Over 1 MiB, and a gzip bomb that inflates past it. */
	size_t big = (1u << 20) + 10;
	char *b = malloc(big);
	memset(b, ' ', big);
	assert_int_equal(e2e_post_raw(f, "/v1/records", token, NULL, b, big), 413);
	memset(b, 0, big);
	unsigned char *gz;
	size_t gzlen;
	assert_int_equal(fic__gzip(b, big, &gz, &gzlen), FIC_OK);
	assert_int_equal(e2e_post_raw(f, "/v1/records", token, "gzip", gz, gzlen), 400);
	fic__free(gz);
	free(b);
	/* 501 records is one too many. */
	fic__sb sb = { 0 };
	fic__sb_printf(&sb, "{\"records\":[");
	for (int i = 0; i < 501; i++)
		fic__sb_printf(&sb, "%s{\"type\":\"site\",\"id\":\"s%d\",\"op\":\"add\",\"payload\":{}}",
		               i ? "," : "", i);
	fic__sb_printf(&sb, "]}");
	char *many = fic__sb_take(&sb);
	assert_int_equal(e2e_post_raw(f, "/v1/records", token, NULL, many, strlen(many)), 400);
	fic__free(many);
	assert_int_equal(e2e_held(f->server), 0);
	/* The well-formed one is stored; per-record faults are answered per record. */
	assert_int_equal(e2e_post_raw(f, "/v1/records", token, NULL, ok, strlen(ok)), 200);
	assert_int_equal(e2e_held(f->server), 1);
	/* Chained records the chain check could not read are refused on arrival
	 * (they would otherwise block the device's chain audit): bad UTF-8, a
	 * seq that is not a whole number from 1, a canonical that is not an object. */
	static const char *const bad_chained[] = {
		"{\"records\":[{\"type\":\"lead\",\"id\":\"b1\",\"op\":\"submit\",\"seq\":2,"
		"\"hash\":\"x\",\"canonical\":\"{\\\"a\\\":\\\"\xff\xfe\\\"}\"}]}",
		"{\"records\":[{\"type\":\"lead\",\"id\":\"b2\",\"op\":\"submit\",\"seq\":1e300,"
		"\"hash\":\"x\",\"canonical\":\"{}\"}]}",
		"{\"records\":[{\"type\":\"lead\",\"id\":\"b3\",\"op\":\"submit\",\"seq\":0,"
		"\"hash\":\"x\",\"canonical\":\"{}\"}]}",
		"{\"records\":[{\"type\":\"lead\",\"id\":\"b4\",\"op\":\"submit\",\"seq\":1.5,"
		"\"hash\":\"x\",\"canonical\":\"{}\"}]}",
		"{\"records\":[{\"type\":\"lead\",\"id\":\"b5\",\"op\":\"submit\",\"seq\":1,"
		"\"hash\":\"x\",\"canonical\":\"[1,2]\"}]}",
	};
	for (size_t i = 0; i < sizeof bad_chained / sizeof bad_chained[0]; i++)
		assert_int_equal(e2e_post_raw(f, "/v1/records", token, NULL, bad_chained[i], strlen(bad_chained[i])),
		                 200);
	assert_int_equal(e2e_held(f->server), 1);
	/* The device's own chain then goes through and verifies. */
	char urgent[2][FIC_UUID_BUFSIZE];
	e2e_patrol_day(f, urgent);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
}

static void each_change_of_a_site_is_its_own_record(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	fic_site s = FIC_SITE_INIT, *v1, *v2, *v3;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "石桥村集中供水站";
	assert_int_equal(fic_site_add(&v1, f->store, &s, "巡查发现"), FIC_OK);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	/* Changed after the first one went: a new record, not a duplicate of the add. */
	fic_site u = *v1;
	u.name = "石桥村供水站（改建）";
	assert_int_equal(fic_site_update(&v2, f->store, &u, "现场核实"), FIC_OK);
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.stored, 1);
	assert_int_equal(rep.duplicates, 0);
	/* Offline: changed again and closed; both go in one batch, each stored. */
	u = *v2;
	u.address = "石桥村 4 组";
	assert_int_equal(fic_site_update(&v3, f->store, &u, "补充地址"), FIC_OK);
	assert_int_equal(fic_site_close(f->store, v1->id, "已停产"), FIC_OK);
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.stored, 2);
	assert_int_equal(county_record_count(f->server, "site"), 4);
	assert_int_equal(e2e_pending(f), 0);
	fic_site_free(v1);
	fic_site_free(v2);
	fic_site_free(v3);
}

static void two_devices_changing_one_county_site_are_both_stored(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char err[200];
	assert_true(county_load(f->server, "石柱县", "sites", "[{\"id\":\"cq-sz-0009\",\"kind\":\"school\",\"name\":\"南宾小学\"}]",
	                        err, sizeof err) == 1);
	assert_int_equal(fic_sync_pull(f->store, &f->opts, NULL), FIC_OK);
	/* A second phone of the same county, with the same registry. */
	fic_store *other;
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	char *path = tu_path(f->dir, "other.db");
	assert_int_equal(fic_store_open(&other, path, &o), FIC_OK);
	free(path);
	char code[32];
	assert_int_equal(county_issue_code(f->server, "石柱县", code, sizeof code), 0);
	assert_int_equal(fic_sync_enroll(other, &f->opts, code, "二号机"), FIC_OK);
	assert_int_equal(fic_sync_pull(other, &f->opts, NULL), FIC_OK);
	/* Both change the site as their first record: the same outbox seq on each phone. */
	fic_store *phones[2] = { f->store, other };
	const char *names[2] = { "南宾小学（东校区）", "南宾小学（西校区）" };
	for (int i = 0; i < 2; i++) {
		fic_site *s, *u;
		assert_int_equal(fic_site_get(&s, phones[i], "cq-sz-0009"), FIC_OK);
		fic_site c = *s;
		c.name = names[i];
		assert_int_equal(fic_site_update(&u, phones[i], &c, "现场核实"), FIC_OK);
		fic_site_free(s);
		fic_site_free(u);
	}
	int64_t seq[2];
	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(phones[i]->db, "SELECT seq FROM outbox WHERE "
		                                    "record_type = 'site'", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		seq[i] = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	assert_int_equal(seq[0], seq[1]);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fic_sync_push(phones[i], &f->opts, &rep), FIC_OK);
		assert_int_equal(rep.stored, 1);
		assert_int_equal(rep.duplicates, 0);
	}
	assert_int_equal(county_record_count(f->server, "site"), 2);
	fic_store_close(other);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, e2e_setup, e2e_teardown)
	const struct CMUnitTest tests[] = {
		T(a_patrol_day_reaches_the_county_urgent_first),
		T(a_late_urgent_lead_shows_in_the_audit),
		T(lost_answers_and_a_busy_server_lose_and_double_nothing),
		T(a_tampered_record_is_refused_and_kept),
		T(a_wrong_token_or_path_changes_nothing),
		T(the_server_refuses_malformed_requests),
		T(each_change_of_a_site_is_its_own_record),
		T(two_devices_changing_one_county_site_are_both_stored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
