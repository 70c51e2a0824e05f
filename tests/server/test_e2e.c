/*
 * tests/server/test_e2e.c — the device and the reference county server
 * together, over a real loopback socket with the built-in libcurl
 * transport: enrolment with a one-time code, a patrol day's records pushed
 * urgent-first, answers lost after the server stored the batch, 503 with
 * Retry-After, a tampered chained record refused with chain_hash, a
 * revoked token, a wrong path — and after every run each record is on the
 * server exactly once and the outbox holds nothing pending.
 */
#include "testutil.h"
#include "internal.h"
#include "model/checklist.h"
#include "county.h"
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

typedef struct fixture {
	char *dir;
	fic_platform platform;
	tu_clock clock;
	fic_store *store;
	county_server *server;
	fic_transport *transport;
	fic_sync_options opts;
	char url[64];
} fixture;

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
	char err[300];
	char *sdb = tu_path(f->dir, "county.db");
	assert_int_equal(county_open(&f->server, sdb, err, sizeof err), 0);
	free(sdb);
	assert_int_equal(county_listen(f->server, "127.0.0.1:0", err, sizeof err), 0);
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", county_port(f->server));
	assert_int_equal(fic_transport_curl_new(&f->transport, NULL), FIC_OK);
	f->opts = (fic_sync_options)FIC_SYNC_OPTIONS_INIT;
	f->opts.transport = f->transport;
	f->opts.server_url = f->url;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	fic_transport_curl_free(f->transport);
	county_close(f->server);
	fic_store_close(f->store);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Records the server holds, other than audit-log entries. */
static int64_t held(county_server *s)
{
	return county_record_count(s, NULL) - county_record_count(s, "audit");
}

static void token_of(fixture *f, char *buf, size_t size)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db,
	                                    "SELECT value FROM sync_state WHERE key = 'sync.token'", -1,
	                                    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static void enroll(fixture *f)
{
	char code[32];
	assert_int_equal(county_issue_code(f->server, "石柱县", code, sizeof code), 0);
	int rc = fic_sync_enroll(f->store, &f->opts, code, "测试机");
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
}


static void patrol_day(fixture *f, char urgent[2][FIC_UUID_BUFSIZE])
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

static int64_t pending(fixture *f)
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

static void a_patrol_day_reaches_the_county_urgent_first(void **state)
{
	fixture *f = *state;
	enroll(f);
	char county[64];
	assert_int_equal(fic_sync_enrolled(f->store, county, sizeof county), FIC_OK);
	assert_string_equal(county, "石柱县");
	char urgent[2][FIC_UUID_BUFSIZE];
	patrol_day(f, urgent);
	fic_sync_report rep;
	int rc = fic_sync_push(f->store, &f->opts, &rep);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	assert_int_equal(rep.stored, 7);
	assert_int_equal(rep.urgent_acked, 2);
	assert_int_equal(rep.requests, 3); /* urgent alone, the rest, the audit log */
	assert_true(rep.audit_sent > 7);
	assert_int_equal(county_record_count(f->server, "audit"), rep.audit_sent);
	assert_int_equal(held(f->server), 7);
	assert_int_equal(county_record_count(f->server, "lead"), 4);
	assert_int_equal(county_record_count(f->server, "site"), 3);
	/* The urgent leads were received no later than anything else. */
	int64_t u = county_received_at(f->server, urgent[0]);
	assert_true(u > 0);
	assert_int_equal(county_received_at(f->server, urgent[1]), u);
	assert_int_equal(pending(f), 0);
	/* The two-hour audit on the server: both urgent leads on time, listed first. */
	char *report = NULL;
	size_t rlen = 0;
	FILE *mem = open_memstream(&report, &rlen);
	assert_int_equal(county_report_leads(f->server, mem), 0);
	fclose(mem);
	assert_true(strncmp(report, "URGENT ", 7) == 0);
	assert_non_null(strstr(report, urgent[0]));
	assert_non_null(strstr(report, urgent[1]));
	char *second = strchr(report, '\n') + 1;
	assert_true(strncmp(second, "URGENT ", 7) == 0);
	assert_non_null(strstr(second, "on time,"));
	assert_null(strstr(report, "LATE"));
	assert_non_null(strstr(report, "lead   ")); /* the tip-offs, after */
	free(report);
	/* The server's clock reached the trusted time. */
	fic_time t;
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
	fixture *f = *state;
	enroll(f);
	/* Found three hours ago, sent only now: an hour past its two-hour deadline. */
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL,
	                               f->clock.wall_ms - 3 * 3600 * 1000LL, 0),
	                 FIC_OK);
	fic_sync_report rep;
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
	fixture *f = *state;
	enroll(f);
	char urgent[2][FIC_UUID_BUFSIZE];
	patrol_day(f, urgent);
	/* The server stores each of the next three batches and drops the
	 * connection instead of answering. (libcurl itself retries a request
	 * once when a reused connection dies without a byte, so a pass may see
	 * one or two of these.) */
	county_fault_drop_after_store(f->server, 3);
	fic_sync_report rep;
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
	assert_int_equal(held(f->server), 7);
	assert_int_equal(pending(f), 0);

	/* A busy server: 503 with Retry-After 30 s is honoured. */
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "lead.tip_off", tu_tip_off_answers, NULL, 0, 0), FIC_OK);
	county_fault_busy(f->server, 1, 30);
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_ENETWORK);
	assert_true(rep.retry_at_ms - f->clock.wall_ms >= 29000);
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.requests, 0); /* not before the server said */
	assert_int_equal(pending(f), 1);
	f->clock.wall_ms = rep.next_due_ms;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.stored, 1);
	assert_int_equal(held(f->server), 8);
	assert_int_equal(pending(f), 0);
}

static void a_tampered_record_is_refused_and_kept(void **state)
{
	fixture *f = *state;
	enroll(f);
	char urgent[2][FIC_UUID_BUFSIZE];
	patrol_day(f, urgent);
	/* Change a queued lead's canonical text after it was hashed. */
	assert_int_equal(sqlite3_exec(f->store->db,
	                              "UPDATE outbox SET payload = replace(payload, '镇中心饭店', "
	                              "'别的饭店') WHERE record_id = (SELECT record_id FROM outbox "
	                              "WHERE priority >= 100 ORDER BY seq LIMIT 1)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	fic_sync_report rep;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.rejected, 1);
	assert_int_equal(held(f->server), 6);
	fic_sync_rejection_list *l;
	assert_int_equal(fic_sync_rejections_get(&l, f->store), FIC_OK);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->entries[0].record_id, urgent[0]);
	assert_non_null(strstr(l->entries[0].reason, "chain_hash"));
	fic_sync_rejection_list_free(l);
}

static void a_wrong_token_or_path_changes_nothing(void **state)
{
	fixture *f = *state;
	enroll(f);
	char urgent[2][FIC_UUID_BUFSIZE];
	patrol_day(f, urgent);
	assert_int_equal(sqlite3_exec(f->store->db,
	                              "UPDATE sync_state SET value = 'forged-token-0123456789abcdef0123' "
	                              "WHERE key = 'sync.token'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	fic_sync_report rep;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_EAUTH);
	assert_int_equal(pending(f), 7);
	enroll(f); /* a new code, a new token */
	char wrong[96];
	snprintf(wrong, sizeof wrong, "%s/county-a", f->url);
	f->opts.server_url = wrong;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_EPROTO);
	assert_int_equal(pending(f), 7);
	f->opts.server_url = f->url;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(held(f->server), 7);
}

static int post(fixture *f, const char *path, const char *auth, const char *enc, const void *body,
                size_t len)
{
	char u[128], bearer[200];
	snprintf(u, sizeof u, "%s%s", f->url, path);
	snprintf(bearer, sizeof bearer, "Bearer %s", auth ? auth : "");
	fic_http_header h[2] = { { "Authorization", bearer }, { "Content-Encoding", enc ? enc : "identity" } };
	fic_http_request q = { .method = "POST", .url = u, .headers = h, .header_count = 2,
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

static void the_server_refuses_malformed_requests(void **state)
{
	fixture *f = *state;
	enroll(f);
	char token[200];
	token_of(f, token, sizeof token);

	const char ok[] = "{\"records\":[{\"type\":\"site\",\"id\":\"x1\",\"op\":\"add\",\"payload\":{}}]}";
	assert_int_equal(post(f, "/v1/records", NULL, NULL, ok, strlen(ok)), 401);
	assert_int_equal(post(f, "/v1/records", "nope", NULL, ok, strlen(ok)), 401);
	assert_int_equal(post(f, "/v1/records", token, NULL, "not json", 8), 400);
	assert_int_equal(post(f, "/v1/records", token, "gzip", ok, strlen(ok)), 400);
	assert_int_equal(post(f, "/v1/records", token, NULL, "{\"records\":[]}", 14), 400);
	assert_int_equal(post(f, "/v1/records", token, NULL, "{\"records\":[7]}", 15), 400);
	assert_int_equal(post(f, "/v1/nothing", token, NULL, ok, strlen(ok)), 404);
	/* Over 1 MiB, and a gzip bomb that inflates past it. */
	size_t big = (1u << 20) + 10;
	char *b = malloc(big);
	memset(b, ' ', big);
	assert_int_equal(post(f, "/v1/records", token, NULL, b, big), 413);
	memset(b, 0, big);
	unsigned char *gz;
	size_t gzlen;
	assert_int_equal(fic__gzip(b, big, &gz, &gzlen), FIC_OK);
	assert_int_equal(post(f, "/v1/records", token, "gzip", gz, gzlen), 400);
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
	assert_int_equal(post(f, "/v1/records", token, NULL, many, strlen(many)), 400);
	fic__free(many);
	assert_int_equal(held(f->server), 0);
	/* The well-formed one is stored; per-record faults are answered per record. */
	assert_int_equal(post(f, "/v1/records", token, NULL, ok, strlen(ok)), 200);
	assert_int_equal(held(f->server), 1);
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
		assert_int_equal(post(f, "/v1/records", token, NULL, bad_chained[i], strlen(bad_chained[i])),
		                 200);
	assert_int_equal(held(f->server), 1);
	/* The device's own chain then goes through and verifies. */
	char urgent[2][FIC_UUID_BUFSIZE];
	patrol_day(f, urgent);
	fic_sync_report rep;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
}

/*
 * Every outbox row of `st` is acknowledged with the very receipt `cs` holds
 * for it (site changes go as "<site id>:<outbox seq>"). Returns the rows.
 */
static int64_t acked_with_servers_receipts(fic_store *st, county_server *cs)
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

/* The child: its own store handle and transport, pushing until killed. */
static void push_until_killed(const char *path, const char *url)
{
	fic_store *st;
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	if (fic_store_open(&st, path, &o) != FIC_OK)
		_exit(3);
	fic_transport *t;
	if (fic_transport_curl_new(&t, NULL) != FIC_OK)
		_exit(4);
	fic_sync_options so = FIC_SYNC_OPTIONS_INIT;
	so.transport = t;
	so.server_url = url;
	so.no_gzip = getpid() % 2; /* both encodings */
	so.photo_chunk_bytes = 4096; /* many chunks: kills land in the middle of photos */
	for (;;) {
		fic_sync_report rep;
		fic_sync_push(st, &so, &rep);
	}
}

static void a_client_killed_at_random_points_loses_and_doubles_nothing(void **state)
{
	fixture *f = *state;
	/* Real clocks here: the child process cannot share the fake one. */
	fic_store *st;
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	char *path = tu_path(f->dir, "killed.db");
	assert_int_equal(fic_store_open(&st, path, &o), FIC_OK);
	char code[32];
	assert_int_equal(county_issue_code(f->server, "石柱县", code, sizeof code), 0);
	assert_int_equal(fic_sync_enroll(st, &f->opts, code, NULL), FIC_OK);
	srand((unsigned)time(NULL));
	int kills = 0, total = 0, photos = 0;
	for (int round = 0; round < 24; round++) {
		/* More records arrive between the kills: sites and both kinds of lead. */
		char id[FIC_UUID_BUFSIZE];
		for (int i = 0; i < 30; i++, total++)
			assert_int_equal(tu_add_school(st, "一小", 300 + i), FIC_OK);
		assert_int_equal(fic_lead_file(id, st, "event.foodborne", tu_foodborne_answers, NULL, 0, 0), FIC_OK);
		assert_int_equal(fic_lead_file(id, st, "lead.tip_off", tu_tip_off_answers, NULL, 0, 0), FIC_OK);
		total += 2;
		/* And a photo of a new site (two records: the site, the photo's metadata). */
		fic_site water = FIC_SITE_INIT, *site;
		water.kind = FIC_SITE_WATER_RURAL;
		water.name = "村集中供水站";
		assert_int_equal(fic_site_add(&site, st, &water, "巡查发现"), FIC_OK);
		size_t jlen;
		unsigned char *jpg = tu_make_jpeg(320 + 8 * round, 240, 3, 0, 90, &jlen);
		assert_int_equal(fic_photo_add_buffer(id, st, FIC_PHOTO_SITE, site->id, NULL, jpg, jlen,
		                                      NULL), FIC_OK);
		free(jpg);
		fic_site_free(site);
		total += 2;
		photos++;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			push_until_killed(path, f->url);
		/* Opening the store and a pass take a few ms: kill early, later, or late
		 * (in the photos), by turns. */
		static const int window_us[] = { 6000, 60000, 400000 };
		usleep((useconds_t)(rand() % window_us[round % 3]));
		kill(pid, SIGKILL);
		int ws;
		waitpid(pid, &ws, 0);
		if (WIFSIGNALED(ws))
			kills++;
		printf("# round %d: killed after %d of %d records and %d of %d photos reached the "
		       "server\n", round, (int)held(f->server), total, (int)county_photo_count(f->server),
		       photos);
	}
	assert_true(kills >= 20);
	/* Then a clean pass finishes what is left. */
	fic_sync_report rep;
	int rc = fic_sync_push(st, &f->opts, &rep);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	assert_int_equal(held(f->server), total);
	/* Every record is acknowledged, with the very receipt the server holds. */
	int64_t rows = acked_with_servers_receipts(st, f->server);
	assert_int_equal(rows, total);
	/* Every photo whole on the server, its hash verified; none left to send. */
	assert_int_equal(county_photo_count(f->server), photos);
	assert_int_equal(county_photo_bad(f->server), 0);
	assert_int_equal(rep.photos_pending, 0);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
	assert_int_equal(fic_evidence_verify(NULL, st), FIC_OK);
	fic_store_close(st);
	free(path);
}

/* ---- the server killed and restarted (the real program, in its own process) ---- */

static pid_t start_server(const char *db, int port)
{
	char listen_at[32];
	snprintf(listen_at, sizeof listen_at, "127.0.0.1:%d", port);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		execl(FIC_COUNTY_SERVER_BIN, "fic-county-server", "--db", db, "--listen", listen_at,
		      (char *)NULL);
		_exit(127);
	}
	/* Ready when it accepts a connection. */
	for (int i = 0; i < 200; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
			                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
		close(fd);
		if (ok)
			return pid;
		usleep(10000);
	}
	fail_msg("the server did not start");
	return -1;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	return ntohs(a.sin_port);
}

typedef struct killer {
	pid_t pid;
	useconds_t after;
} killer;

static void *kill_later(void *arg)
{
	killer *k = arg;
	usleep(k->after);
	kill(k->pid, SIGKILL);
	return NULL;
}

static void a_server_killed_mid_push_loses_and_doubles_nothing(void **state)
{
	fixture *f = *state;
	char *db = tu_path(f->dir, "county-proc.db");
	int port = free_port();
	pid_t server = start_server(db, port);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	fic_sync_options so = f->opts;
	so.server_url = url;
	so.photo_chunk_bytes = 4096; /* deaths land in the middle of photos too */

	fic_store *st;
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	char *path = tu_path(f->dir, "device.db");
	assert_int_equal(fic_store_open(&st, path, &o), FIC_OK);
	/* Enrol through the program's admin command. */
	char cmd[600], code[32] = "";
	snprintf(cmd, sizeof cmd, "'%s' --db '%s' issue-code 石柱县", FIC_COUNTY_SERVER_BIN, db);
	FILE *p = popen(cmd, "r");
	assert_non_null(fgets(code, sizeof code, p));
	pclose(p);
	code[strcspn(code, "\n")] = '\0';
	assert_int_equal(fic_sync_enroll(st, &so, code, NULL), FIC_OK);

	srand((unsigned)time(NULL) ^ 0x5eed);
	int total = 0, failed = 0, photos = 0;
	for (int round = 0; round < 12; round++) {
		char id[FIC_UUID_BUFSIZE];
		for (int i = 0; i < 40; i++, total++)
			assert_int_equal(tu_add_school(st, "二小", i + 1), FIC_OK);
		assert_int_equal(fic_lead_file(id, st, "event.foodborne", tu_foodborne_answers, NULL, 0,
		                               FIC_LEAD_DRAFT), FIC_OK);
		size_t jlen;
		unsigned char *jpg = tu_make_jpeg(400 + 8 * round, 300, 3, 0, 90, &jlen);
		char pid[FIC_UUID_BUFSIZE];
		assert_int_equal(fic_photo_add_buffer(pid, st, FIC_PHOTO_LEAD, id, NULL, jpg, jlen, NULL),
		                 FIC_OK);
		free(jpg);
		assert_int_equal(fic_lead_submit(st, id), FIC_OK);
		total += 2; /* the lead and its photo's record */
		photos++;
		killer k = { server, (useconds_t)(rand() % (round % 2 ? 20000 : 150000)) };
		pthread_t th;
		pthread_create(&th, NULL, kill_later, &k);
		fic_sync_report rep;
		int rc = fic_sync_push(st, &so, &rep);
		pthread_join(th, NULL);
		waitpid(server, NULL, 0);
		if (rc != FIC_OK) {
			assert_int_equal(rc, FIC_ENETWORK);
			failed++;
		}
		/* The network is back: retry now rather than after the backoff. */
		assert_int_equal(fic_sync_network_changed(st, 1), FIC_OK);
		server = start_server(db, port);
	}
	fic_sync_report rep;
	int rc = fic_sync_push(st, &so, &rep);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	printf("# %d pushes, %d cut short by the server's death\n", 12, failed);

	/* What the server committed survived its deaths: each record once, the same receipts. */
	county_server *cs;
	char err[200];
	assert_int_equal(county_open(&cs, db, err, sizeof err), 0);
	assert_int_equal(held(cs), total);
	int64_t rows = acked_with_servers_receipts(st, cs);
	assert_int_equal(rows, total);
	/* Every photo whole, verified, and none partial left on the device's queue. */
	assert_int_equal(rep.photos_pending, 0);
	assert_int_equal(county_photo_count(cs), photos);
	assert_int_equal(county_photo_bad(cs), 0);
	assert_int_equal(county_chain_breaks(cs, NULL), 0);
	county_close(cs);
	fic_store_close(st);
	free(path);
	free(db);
}


static void each_change_of_a_site_is_its_own_record(void **state)
{
	fixture *f = *state;
	enroll(f);
	fic_site s = FIC_SITE_INIT, *v1, *v2, *v3;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "石桥村集中供水站";
	assert_int_equal(fic_site_add(&v1, f->store, &s, "巡查发现"), FIC_OK);
	fic_sync_report rep;
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
	assert_int_equal(pending(f), 0);
	fic_site_free(v1);
	fic_site_free(v2);
	fic_site_free(v3);
}

static void two_devices_changing_one_county_site_are_both_stored(void **state)
{
	fixture *f = *state;
	enroll(f);
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
	fic_sync_report rep;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fic_sync_push(phones[i], &f->opts, &rep), FIC_OK);
		assert_int_equal(rep.stored, 1);
		assert_int_equal(rep.duplicates, 0);
	}
	assert_int_equal(county_record_count(f->server, "site"), 2);
	fic_store_close(other);
}

/* ---- photos ---- */

static char *server_db_path(fixture *f)
{
	return tu_path(f->dir, "county.db");
}

/* The server's photos in the order it completed them. */
static int server_photo_order(fixture *f, char out[][65], int max)
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

static void upload_sha(fixture *f, const char *photo_id, char out[65])
{
	fic_photo *ph;
	assert_int_equal(fic_photo_get(&ph, f->store, photo_id), FIC_OK);
	snprintf(out, 65, "%s", ph->upload_sha256);
	fic_photo_free(ph);
}

static int64_t uploads_where(fixture *f, const char *where)
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
static void photo_backlog(fixture *f, char site_sha[2][65], char *urgent_sha, char *urgent_lead)
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
		upload_sha(f, pid, site_sha[i]);
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
	upload_sha(f, pid, urgent_sha);
	assert_int_equal(fic_lead_submit(f->store, urgent_lead), FIC_OK);
}

static void photos_reach_the_county_urgent_lead_photos_first(void **state)
{
	fixture *f = *state;
	enroll(f);
	char site_sha[2][65], urgent_sha[65], lead[FIC_UUID_BUFSIZE];
	photo_backlog(f, site_sha, urgent_sha, lead);
	assert_int_equal(uploads_where(f, "state = 'pending'"), 3);
	assert_int_equal(uploads_where(f, "priority >= 100"), 1);
	f->opts.photo_chunk_bytes = 8192;
	fic_sync_report rep;
	int rc = fic_sync_push(f->store, &f->opts, &rep);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	assert_int_equal(rep.photos_sent, 3);
	assert_int_equal(rep.photos_pending, 0);
	assert_int_equal(uploads_where(f, "state = 'done'"), 3);
	assert_int_equal(county_photo_count(f->server), 3);
	assert_int_equal(county_photo_bad(f->server), 0);
	/* Each photo's metadata record went with the records. */
	assert_int_equal(county_record_count(f->server, "photo"), 3);
	assert_int_equal(pending(f), 0);
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

static volatile int stop_flag;
static int stop_after_chunks;
static void stop_mid_photo(void *arg, const fic_sync_progress *p)
{
	(void)arg;
	(void)p;
	if (--stop_after_chunks == 0)
		stop_flag = 1;
}

static void an_interrupted_photo_resumes_at_the_servers_offset(void **state)
{
	fixture *f = *state;
	enroll(f);
	char site_sha[2][65], urgent_sha[65], lead[FIC_UUID_BUFSIZE];
	photo_backlog(f, site_sha, urgent_sha, lead);
	f->opts.photo_chunk_bytes = 4096;
	f->opts.cancelled = &stop_flag;
	f->opts.progress = stop_mid_photo;
	stop_flag = 0;
	stop_after_chunks = 6; /* records (2 batches), a HEAD, then a few chunks */
	fic_sync_report r1, r2;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &r1), FIC_ECANCELED);
	assert_true(r1.photo_bytes_sent > 0);
	assert_int_equal(county_photo_count(f->server), 0);
	stop_flag = 0;
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
}

static void a_damaged_photo_file_is_refused_and_listed(void **state)
{
	fixture *f = *state;
	enroll(f);
	char site_sha[2][65], urgent_sha[65], lead[FIC_UUID_BUFSIZE];
	photo_backlog(f, site_sha, urgent_sha, lead);
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
	fic_sync_report rep;
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

static int raw(fixture *f, const char *method, const char *path, const char *token,
               const char *offset, const char *length, const void *body, size_t len,
               int64_t *upload_offset)
{
	char u[200], bearer[200];
	snprintf(u, sizeof u, "%s%s", f->url, path);
	snprintf(bearer, sizeof bearer, "Bearer %s", token);
	fic_http_header h[3] = { { "Authorization", bearer }, { "Upload-Offset", offset ? offset : "" },
		                 { "Upload-Length", length ? length : "" } };
	fic_http_request q = { .method = method, .url = u, .headers = h,
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


/* SHA-256 of `len` bytes as lowercase hex. */
static void sha_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	SHA256(data, len, md);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Fill `d` with a pattern; its SHA-256 and its /v1/photos/ path. */
static void photo_bytes(unsigned char *d, size_t n, unsigned mul, unsigned add, char sha[65],
                        char path[100])
{
	for (size_t i = 0; i < n; i++)
		d[i] = (unsigned char)(i * mul + add);
	sha_hex(d, n, sha);
	snprintf(path, 100, "/v1/photos/%s", sha);
}

static void the_server_checks_every_photo_byte(void **state)
{
	fixture *f = *state;
	enroll(f);
	char token[200];
	token_of(f, token, sizeof token);
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
	token_of(f, other_token, sizeof other_token);
	f->store = keep;
	fic_store_close(other);
	assert_int_equal(raw(f, "HEAD", path, other_token, NULL, NULL, NULL, 0, &off), 404);

	/* The server died after the last chunk reached its disk but before the
	 * check: the partial file has every byte. HEAD checks it then — whole
	 * only if it verifies; a wrong byte and it is discarded, never "whole". */
	char cdir[65];
	sha_hex("石柱县", strlen("石柱县"), cdir);
	cdir[16] = '\0'; /* the county's folder: the first 16 hex digits */
	for (int bad = 1; bad >= 0; bad--) {
		static unsigned char d2[9000];
		char sha2[65], path2[100], len2[16];
		photo_bytes(d2, sizeof d2, 13, (unsigned)(1 + bad), sha2, path2);
		snprintf(len2, sizeof len2, "%zu", sizeof d2);
		assert_int_equal(raw(f, "PATCH", path2, token, "0", len2, d2, 4000, &off), 204);
		char part[700];
		snprintf(part, sizeof part, "%s/county.db.photos/%s/%s.part", f->dir, cdir, sha2);
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
	fixture *f = *state;
	enroll(f);
	char token[200];
	token_of(f, token, sizeof token);
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

/* ---- feeds ---- */

static void load(fixture *f, const char *feed, const char *county, const char *json)
{
	char err[300];
	int n = county_load(f->server, county, feed, json, err, sizeof err);
	if (n < 0)
		fail_msg("%s", err);
}

static void feeds_bring_the_registry_checklists_and_tasks(void **state)
{
	fixture *f = *state;
	enroll(f);
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
	fic_sync_report rep;
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
static void load_markets(fixture *f)
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
	fixture *f = *state;
	enroll(f);
	load_markets(f);
	fic_sync_report rep;
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
static got get_coded(fixture *f, const char *path, const char *accept)
{
	char u[200], auth[300], token[200], ae[200];
	token_of(f, token, sizeof token);
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
	fixture *f = *state;
	enroll(f);
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
	fic_sync_report rep;
	assert_int_equal(fic_sync_pull(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.pulled, 450);
	print_message("# 450 sites: %lld bytes received gzip'd, %lld as JSON\n",
	              (long long)rep.bytes_received, (long long)plain_bytes);
	assert_true(rep.bytes_received * 4 < plain_bytes);
	assert_int_equal(fic_store_check(f->store), FIC_OK);
}

/* A transport that answers feed requests itself (a hostile server), else passes through. */
typedef struct hostile {
	fic_transport table;
	fic_transport *real;
	const char *feed_body;
	int feed_status;
	/* a coded feed answer instead of feed_body: its bytes and FIC_HTTP_CODING_* */
	const unsigned char *feed_coded;
	size_t feed_coded_len;
	int feed_coding;
	bool asked_gzip; /* a feed request said Accept-Encoding: gzip */
	/* answers to photo requests: a status and an Upload-Offset (-1: none);
	 * with patch_status set, PATCH gets that and its offset instead */
	int photo_status;
	int64_t photo_offset;
	int patch_status;
	int64_t patch_offset;
	int photo_requests;
} hostile;

static int hostile_request(void *ctx, const fic_http_request *q, fic_http_response *r)
{
	hostile *h = ctx;
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

static void a_hostile_feed_changes_nothing(void **state)
{
	fixture *f = *state;
	enroll(f);
	hostile h = { .table = { FIC_TRANSPORT_VERSION, NULL, hostile_request, NULL },
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
	fic_sync_report rep;
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

static void a_hostile_photo_answer_loses_nothing(void **state)
{
	fixture *f = *state;
	enroll(f);
	char site_sha[2][65], urgent_sha[65], lead[FIC_UUID_BUFSIZE];
	photo_backlog(f, site_sha, urgent_sha, lead);
	hostile h = { .table = { FIC_TRANSPORT_VERSION, NULL, hostile_request, NULL },
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
	fic_sync_report rep;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		h.photo_status = bad[i].status;
		h.photo_offset = bad[i].offset;
		int rc = fic_sync_push(f->store, &o, &rep);
		if (rc != bad[i].rc)
			fail_msg("case %zu: %s", i, fic_error_last()->message);
		assert_int_equal(rep.photos_sent, 0);
		assert_int_equal(uploads_where(f, "state = 'pending'"), 3); /* nothing lost */
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
		assert_int_equal(uploads_where(f, "state = 'pending'"), 3);
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
	assert_int_equal(uploads_where(f, "state = 'rejected'"), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fic_sync_network_changed(f->store, 1), FIC_OK);
		assert_int_equal(fic_sync_push(f->store, &o, &rep), FIC_OK);
	}
	assert_int_equal(uploads_where(f, "state = 'rejected'"), 3);
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

/* ---- the chain audit ---- */

static void the_server_audits_each_devices_chain_as_gaps_fill(void **state)
{
	fixture *f = *state;
	enroll(f);
	char urgent[2][FIC_UUID_BUFSIZE];
	patrol_day(f, urgent); /* chain entries 1, 2 (tip-offs), 3, 4 (urgent: sent first) */
	fic_sync_report rep;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
	/* A finished inspection is chained too (entry 5), and arrives as an inspection record. */
	fic_site ws = FIC_SITE_INIT, *site;
	ws.kind = FIC_SITE_WATER_RURAL;
	ws.name = "石桥村集中供水站";
	assert_int_equal(fic_site_add(&site, f->store, &ws, "巡查发现"), FIC_OK);
	char insp[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_inspection_start(insp, f->store, site->id, "water.field_test"), FIC_OK);
	fic_site_free(site);
	static const char *const answers[][2] = {
		{ "sample_point", "outlet" }, { "disinfectant", "free_chlorine" },
		{ "colour_or_matter", "no" }, { "odour", "no" }, { "ph", "7.2" }, { "residual", "0.5" },
	};
	for (size_t k = 0; k < sizeof answers / sizeof answers[0]; k++)
		assert_int_equal(fic_inspection_answer(f->store, insp, answers[k][0], answers[k][1]), FIC_OK);
	assert_int_equal(fic_inspection_finish(NULL, f->store, insp), FIC_OK);
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(county_record_count(f->server, "inspection"), 1);
	assert_true(county_received_at(f->server, insp) > 0);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
	/* A forged entry 6 whose own hash is right but whose link is not. */
	char token[200];
	token_of(f, token, sizeof token);
	char canon[600], hash[65];
	snprintf(canon, sizeof canon,
	         "{\"chain_seq\":6,\"device_id\":\"%s\",\"prev_hash\":\"%064d\"}",
	         fic_store_device_id(f->store), 0);
	sha_hex(canon, strlen(canon), hash);
	cJSON *rec = cJSON_CreateObject(), *recs = cJSON_CreateArray(), *root = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "type", "lead");
	cJSON_AddStringToObject(rec, "id", "forged-6");
	cJSON_AddStringToObject(rec, "op", "submit");
	cJSON_AddNumberToObject(rec, "seq", 6);
	cJSON_AddStringToObject(rec, "hash", hash);
	cJSON_AddStringToObject(rec, "canonical", canon);
	cJSON_AddItemToArray(recs, rec);
	cJSON_AddItemToObject(root, "records", recs);
	char *body = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	assert_int_equal(post(f, "/v1/records", token, NULL, body, strlen(body)), 200);
	free(body);
	char *report = NULL;
	size_t rlen = 0;
	FILE *mem = open_memstream(&report, &rlen);
	assert_int_equal(county_chain_breaks(f->server, mem), 1);
	fclose(mem);
	assert_non_null(strstr(report, "chain_link"));
	assert_non_null(strstr(report, " entry 6:"));
	free(report);
}

/* ---- TLS: the reference server over HTTPS, the device verifying it ---- */

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

/* A self-signed certificate for `san` (e.g. "IP:127.0.0.1") with the openssl tool. */
static void make_cert(const char *dir, const char *name, const char *san)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd,
	         "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	         "-subj /CN=county-test -addext subjectAltName=%s -days 2 -keyout %s.key -out %s.pem "
	         ">/dev/null 2>&1 && openssl x509 -in %s.pem -pubkey -noout | openssl pkey -pubin "
	         "-outform der | openssl dgst -sha256 -binary | openssl base64 -A >%s.pin",
	         dir, san, name, name, name, name);
	assert_int_equal(system(cmd), 0);
}

static int enrol_over(fixture *f, county_server *srv, const char *url, const char *ca,
                      const char *pin)
{
	fic_curl_options co = FIC_CURL_OPTIONS_INIT;
	co.ca_file = ca;
	co.pinned_public_key = pin;
	fic_transport *t;
	assert_int_equal(fic_transport_curl_new(&t, &co), FIC_OK);
	fic_sync_options o = f->opts;
	o.transport = t;
	o.server_url = url;
	char code[32];
	assert_int_equal(county_issue_code(srv, "石柱县", code, sizeof code), 0);
	int rc = fic_sync_enroll(f->store, &o, code, NULL);
	if (rc == FIC_OK) {
		char urgent[2][FIC_UUID_BUFSIZE];
		patrol_day(f, urgent);
		fic_sync_report rep;
		rc = fic_sync_run(f->store, &o, &rep);
		assert_int_equal(rep.stored, 7);
	}
	fic_transport_curl_free(t);
	return rc;
}

static void over_https_the_device_verifies_the_server(void **state)
{
	fixture *f = *state;
	make_cert(f->dir, "good", "IP:127.0.0.1");
	make_cert(f->dir, "other", "DNS:county.other.example");
	char path[600];
	snprintf(path, sizeof path, "%s/good.pem", f->dir);
	char *cert = slurp(path);
	snprintf(path, sizeof path, "%s/good.key", f->dir);
	char *key = slurp(path);
	snprintf(path, sizeof path, "%s/good.pin", f->dir);
	char *pin_b64 = slurp(path);
	county_server *srv;
	char err[300], *db = tu_path(f->dir, "tls.db");
	assert_int_equal(county_open(&srv, db, err, sizeof err), 0);
	free(db);
	if (county_listen_tls(srv, "127.0.0.1:0", cert, key, err, sizeof err) != 0)
		fail_msg("%s", err);
	char url[64], ca[600], other_ca[600], pin[200];
	snprintf(url, sizeof url, "https://127.0.0.1:%d", county_port(srv));
	snprintf(ca, sizeof ca, "%s/good.pem", f->dir);
	snprintf(other_ca, sizeof other_ca, "%s/other.pem", f->dir);
	/* Not trusted (the system's CAs do not know it), or another certificate: refused. */
	assert_int_equal(enrol_over(f, srv, url, NULL, NULL), FIC_ETLS);
	assert_int_equal(enrol_over(f, srv, url, other_ca, NULL), FIC_ETLS);
	/* Trusted, but pinned to another key: refused. */
	assert_int_equal(enrol_over(f, srv, url, ca,
	                            "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), FIC_ETLS);
	assert_int_equal(held(srv), 0);
	/* Trusted and pinned to its key: enrolment, the day's records, the feeds. */
	snprintf(pin, sizeof pin, "sha256//%s", pin_b64);
	assert_int_equal(enrol_over(f, srv, url, ca, pin), FIC_OK);
	assert_int_equal(held(srv), 7);
	county_close(srv);
	/* A server whose certificate names another host is refused even when trusted. */
	snprintf(path, sizeof path, "%s/other.pem", f->dir);
	char *ocert = slurp(path);
	snprintf(path, sizeof path, "%s/other.key", f->dir);
	char *okey = slurp(path);
	db = tu_path(f->dir, "tls2.db");
	assert_int_equal(county_open(&srv, db, err, sizeof err), 0);
	free(db);
	assert_int_equal(county_listen_tls(srv, "127.0.0.1:0", ocert, okey, err, sizeof err), 0);
	snprintf(url, sizeof url, "https://127.0.0.1:%d", county_port(srv));
	assert_int_equal(enrol_over(f, srv, url, other_ca, NULL), FIC_ETLS);
	county_close(srv);
	free(ocert);
	free(okey);
	free(cert);
	free(key);
	free(pin_b64);
}

/* ---- faults on the link: a fault-injecting proxy in front of the real server ---- */

static void every_fault_on_the_link_loses_and_doubles_nothing(void **state)
{
	fixture *f = *state;
	enroll(f);
	char urgent[2][FIC_UUID_BUFSIZE];
	patrol_day(f, urgent);
	char site_sha[2][65], urgent_sha[65], lead[FIC_UUID_BUFSIZE];
	photo_backlog(f, site_sha, urgent_sha, lead);
	tu_link *link;
	tu_link_options lo = { .upstream_port = county_port(f->server) };
	assert_int_equal(tu_link_start(&link, &lo), 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", tu_link_port(link));
	f->opts.server_url = url;
	f->opts.photo_chunk_bytes = 8192;
	f->opts.low_speed_time_ms = 1000; /* a stall is cut off after a second */
	f->opts.total_timeout_ms = 5000;
	static const struct {
		tu_fault kind;
		int64_t after;
	} faults[] = {
		{ TU_FAULT_RESET_UP, 100 },      /* mid-request, in the headers */
		{ TU_FAULT_RESET_UP, 12000 },    /* deep in a photo chunk (libcurl may resend it
		                                    on a new connection: harmless, idempotent) */
		{ TU_FAULT_RESET_UP, 1500 },     /* mid-request, in the body */
		{ TU_FAULT_RESET_DOWN, 10 },     /* the server stored it; the answer dies */
		{ TU_FAULT_RESET_DOWN, 320 },    /* mid-response (the second feed page's) */
		{ TU_FAULT_TRUNCATE_DOWN, 60 },  /* a truncated answer, cleanly closed */
		{ TU_FAULT_TRUNCATE_DOWN, 300 },
		{ TU_FAULT_STALL_DOWN, 0 },      /* the answer never comes */
		{ TU_FAULT_STALL_DOWN, 200 },
	};
	int failed = 0;
	for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
		tu_link_fault(link, faults[i].kind, faults[i].after);
		if (i == 5)
			county_fault_busy(f->server, 2, 1); /* and a 503 with Retry-After, twice */
		/* A fresh transport: a fresh connection, which is the one the fault hits. */
		fic_transport *t;
		assert_int_equal(fic_transport_curl_new(&t, NULL), FIC_OK);
		f->opts.transport = t;
		fic_sync_report rep;
		int rc = fic_sync_run(f->store, &f->opts, &rep);
		print_message("# fault %zu: %lld requests, %lld bytes received: %s %s\n", i,
		              (long long)rep.requests, (long long)rep.bytes_received,
		              fic_result_str(rc), rc ? fic_error_last()->message : "");
		if (rc != FIC_OK) {
			if (rc != FIC_ENETWORK && rc != FIC_EPROTO)
				fail_msg("fault %zu: %s", i, fic_error_last()->message);
			failed++;
		}
		fic_transport_curl_free(t);
		/* Whatever was deferred may go again now. */
		assert_int_equal(fic_sync_network_changed(f->store, 1), FIC_OK);
	}
	assert_true(failed >= 7); /* each fault that hit a pass's first connection failed it */
	fic_transport *t;
	assert_int_equal(fic_transport_curl_new(&t, NULL), FIC_OK);
	f->opts.transport = t;
	fic_sync_report rep;
	int rc = FIC_ERROR;
	for (int pass = 0; pass < 10 && rc != FIC_OK; pass++) {
		rc = fic_sync_run(f->store, &f->opts, &rep);
		fic_sync_network_changed(f->store, 1);
	}
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	fic_transport_curl_free(t);
	f->opts.transport = f->transport;
	tu_link_stop(link);
	/* Every record once, every photo whole and verified, nothing left on the device. */
	int64_t rows = acked_with_servers_receipts(f->store, f->server);
	assert_int_equal(held(f->server), rows);
	assert_int_equal(uploads_where(f, "state <> 'done'"), 0);
	assert_int_equal(county_photo_count(f->server), 3);
	assert_int_equal(county_photo_bad(f->server), 0);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
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
	fixture *f = *state;
	enroll(f);
	load(f, "settings", "石柱县",
	     "[{\"id\":\"semester_starts\",\"value\":\"2026-02-23,2026-09-01\"},"
	     "{\"id\":\"patrol_plan\",\"value\":{\"areas\":{\"school\":{\"per_year\":3}}}},"
	     "{\"id\":\"no_such_setting\",\"value\":1}]");
	load(f, "sites", "石柱县",
	     "[{\"id\":\"cq-sz-0101\",\"kind\":\"medical\",\"name\":\"县人民医院\","
	     "\"areas\":[\"mch\"]},{\"id\":\"cq-sz-0102\",\"kind\":\"school\",\"name\":\"南宾小学\"}]");
	fic_sync_report rep;
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
	curl_global_init(CURL_GLOBAL_DEFAULT);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(a_patrol_day_reaches_the_county_urgent_first),
		T(a_late_urgent_lead_shows_in_the_audit),
		T(lost_answers_and_a_busy_server_lose_and_double_nothing),
		T(a_tampered_record_is_refused_and_kept),
		T(a_wrong_token_or_path_changes_nothing),
		T(the_server_refuses_malformed_requests),
		T(a_client_killed_at_random_points_loses_and_doubles_nothing),
		T(a_server_killed_mid_push_loses_and_doubles_nothing),
		T(each_change_of_a_site_is_its_own_record),
		T(two_devices_changing_one_county_site_are_both_stored),
		T(photos_reach_the_county_urgent_lead_photos_first),
		T(an_interrupted_photo_resumes_at_the_servers_offset),
		T(a_damaged_photo_file_is_refused_and_listed),
		T(the_server_checks_every_photo_byte),
		T(an_abandoned_photo_is_dropped_after_a_week),
		T(feeds_bring_the_registry_checklists_and_tasks),
		T(a_long_feed_comes_in_pages),
		T(the_county_sends_its_semesters_and_patrol_plan),
		T(feed_pages_are_gzipped_when_the_device_accepts_it),
		T(a_hostile_feed_changes_nothing),
		T(a_hostile_photo_answer_loses_nothing),
		T(the_server_audits_each_devices_chain_as_gaps_fill),
		T(over_https_the_device_verifies_the_server),
		T(every_fault_on_the_link_loses_and_doubles_nothing),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
