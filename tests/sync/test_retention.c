/*
 * tests/sync/test_retention.c — the outbox's retention (fic__outbox_prune):
 * acknowledged rows go with their payloads once the setting's days have
 * passed since the server's receipt (on the server's clock as trusted time
 * knows it), pending and refused rows never; what goes leaves a tombstone
 * per record, so fic_store_check() still finds every field-found site sent
 * and the registry feed still refuses a county version older than the
 * inspector's change; the push pass's own error survives the pruning.
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
#include <cmocka.h>

typedef tu_fixture fixture;

#define NOW 1772352000000LL /* 2026-03-01T08:00Z, the fake platform's clock */
#define DAY 86400000LL

static int setup(void **state)
{
	*state = tu_fixture_new(NULL);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	tu_fixture_free(*state);
	return 0;
}

static int64_t one_int(fic_store *s, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(s->db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void check_ok(fic_store *s)
{
	if (fic_store_check(s) != FIC_OK)
		fail_msg("fic_store_check: %s", fic_error_last()->message);
}

/* A field-found school; its outbox row's seq into *seq. */
static void add_school(fic_store *s, char id[FIC_UUID_BUFSIZE], const char *name, int64_t *seq)
{
	fic_site in = FIC_SITE_INIT;
	in.kind = FIC_SITE_SCHOOL;
	in.name = name;
	fic_site *out;
	assert_int_equal(fic_site_add(&out, s, &in, NULL), FIC_OK);
	strcpy(id, out->id);
	fic_site_free(out);
	*seq = one_int(s, "SELECT max(seq) FROM outbox");
}

/* What the server answers for row `seq`: stored, received at `received`. */
static void ack(fic_store *s, int64_t seq, int64_t received)
{
	fic__record_result r = { .kind = FIC__RESULT_STORED, .receipt_id = "R-1",
		                 .received_at_ms = received };
	assert_int_equal(fic__outbox_apply(s, seq, &r, NOW, 0), FIC_OK);
}

static void refuse(fic_store *s, int64_t seq)
{
	fic__record_result r = { .kind = FIC__RESULT_REJECTED, .reason = "场所类型不明" };
	assert_int_equal(fic__outbox_apply(s, seq, &r, NOW, 0), FIC_OK);
}

static int64_t rows(fic_store *s, int64_t seq)
{
	char sql[100];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox WHERE seq = %lld", (long long)seq);
	return one_int(s, sql);
}

static void acknowledged_rows_go_after_the_retention_and_leave_a_tombstone(void **state)
{
	fixture *f = *state;
	fic_store *s = f->store;
	char old[FIC_UUID_BUFSIZE], recent[FIC_UUID_BUFSIZE], waiting[FIC_UUID_BUFSIZE],
		refused[FIC_UUID_BUFSIZE];
	int64_t s_old, s_recent, s_waiting, s_refused;
	add_school(s, old, "一小", &s_old);
	add_school(s, recent, "二小", &s_recent);
	add_school(s, waiting, "三小", &s_waiting);
	add_school(s, refused, "四小", &s_refused);
	/* The old school was also updated; both its records were acknowledged long ago. */
	fic_site *site;
	assert_int_equal(fic_site_get(&site, s, old), FIC_OK);
	fic_site in = *site;
	in.enrolment = 420;
	assert_int_equal(fic_site_update(NULL, s, &in, "人数变化"), FIC_OK);
	fic_site_free(site);
	int64_t s_old2 = one_int(s, "SELECT max(seq) FROM outbox");
	ack(s, s_old, NOW - 30 * DAY);
	ack(s, s_old2, NOW - 8 * DAY);
	ack(s, s_recent, NOW - 6 * DAY);
	refuse(s, s_refused);
	check_ok(s);

	assert_int_equal(fic__outbox_prune(s, NOW), 2);
	assert_int_equal(rows(s, s_old) + rows(s, s_old2), 0);
	assert_int_equal(rows(s, s_recent), 1);  /* 6 days: kept */
	assert_int_equal(rows(s, s_waiting), 1); /* pending: never pruned */
	assert_int_equal(rows(s, s_refused), 1); /* refused: kept for the inspector to see */
	char sql[300];
	snprintf(sql, sizeof sql, "SELECT records * 1000 + (last_seq = %lld) * 100 + "
	                          "(received_at_ms = %lld) * 10 + (pruned_at_ms = %lld) FROM "
	                          "outbox_pruned WHERE record_type = 'site' AND record_id = '%s'",
	         (long long)s_old2, (long long)(NOW - 8 * DAY), (long long)NOW, old);
	assert_int_equal(one_int(s, sql), 2111);
	assert_int_equal(one_int(s, "SELECT count(*) FROM outbox_pruned"), 1);
	/* The payload is gone; the store still holds together. */
	snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox WHERE payload LIKE '%%一小%%'");
	assert_int_equal(one_int(s, sql), 0);
	check_ok(s);
	fic_store_stats st = FIC_STORE_STATS_INIT;
	assert_int_equal(fic_store_stats_get(s, &st), FIC_OK);
	assert_int_equal(st.outbox_pending, 1);
	/* Nothing more to prune: a second pass does nothing. */
	assert_int_equal(fic__outbox_prune(s, NOW), 0);
	/* A field site with neither its record nor a tombstone is still found. */
	assert_int_equal(sqlite3_exec(s->db, "DELETE FROM outbox_pruned", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(fic_store_check(s), FIC_ECORRUPT);
	assert_non_null(strstr(fic_error_last()->message, "1 site has no outbox record"));
}

static void the_retention_is_a_setting(void **state)
{
	fixture *f = *state;
	fic_store *s = f->store;
	char *v;
	assert_int_equal(fic_setting_get(&v, s, "outbox_retention_days"), FIC_OK);
	assert_string_equal(v, "7");
	fic_free(v);
	char id[FIC_UUID_BUFSIZE];
	int64_t seq;
	add_school(s, id, "一小", &seq);
	ack(s, seq, NOW - 20 * DAY);
	assert_int_equal(fic_setting_set(s, "outbox_retention_days", "30"), FIC_OK);
	assert_int_equal(fic__outbox_prune(s, NOW), 0);
	assert_int_equal(rows(s, seq), 1);
	assert_int_equal(fic_setting_set(s, "outbox_retention_days", "0"), FIC_OK);
	assert_int_equal(fic__outbox_prune(s, NOW), 1);
	assert_int_equal(rows(s, seq), 0);
	assert_int_equal(fic_setting_get(&v, s, "outbox_retention_days"), FIC_OK);
	assert_string_equal(v, "0");
	fic_free(v);
	/* Bad values are refused and change nothing. */
	static const char *const bad[] = { "-1", "3651", "7d", "", " 7", "1e3", "99999999999999999999" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(fic_setting_set(s, "outbox_retention_days", bad[i]), FIC_EINVAL);
	assert_int_equal(fic_setting_set(s, "outbox_retention_days", NULL), FIC_EINVAL);
	assert_int_equal(fic_setting_set(NULL, "outbox_retention_days", "7"), FIC_EINVAL);
	assert_int_equal(fic_setting_get(&v, s, "outbox_retention_days"), FIC_OK);
	assert_string_equal(v, "0");
	fic_free(v);
	assert_int_equal(fic_setting_set(s, "outbox_retention_days", "3650"), FIC_OK);
}

static void receipt_times_are_compared_on_the_servers_clock(void **state)
{
	fixture *f = *state;
	fic_store *s = f->store;
	char id[FIC_UUID_BUFSIZE];
	int64_t seq;
	add_school(s, id, "一小", &seq);
	/* Received 5 days ago by the server's clock; this device's clock is 3 days slow. */
	assert_int_equal(fic_time_contact(s, NOW + 3 * DAY, 100), FIC_OK);
	ack(s, seq, NOW + 3 * DAY - 8 * DAY);
	assert_int_equal(fic__outbox_prune(s, NOW), 1);
	assert_int_equal(rows(s, seq), 0);
	/* With the clocks agreeing, 5 days is within the week: kept. */
	add_school(s, id, "二小", &seq);
	assert_int_equal(fic_time_contact(s, NOW, 100), FIC_OK);
	ack(s, seq, NOW - 5 * DAY);
	assert_int_equal(fic__outbox_prune(s, NOW), 0);
	assert_int_equal(rows(s, seq), 1);
}

static void a_years_backlog_goes_in_batches(void **state)
{
	fixture *f = *state;
	fic_store *s = f->store;
	/* 2 500 acknowledged rows (two batches and a half) over 25 records. */
	assert_int_equal(sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < 2500; i++) {
		char id[16];
		snprintf(id, sizeof id, "lead-%02d", i % 25);
		assert_int_equal(fic__outbox_enqueue(s, "lead", id, "submit", 20, "{\"n\":1}"), FIC_OK);
	}
	char sql[200];
	snprintf(sql, sizeof sql, "UPDATE outbox SET state = 'acked', receipt_id = 'R', "
	                          "received_at_ms = %lld - seq", (long long)(NOW - 100 * DAY));
	assert_int_equal(sqlite3_exec(s->db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(fic__outbox_prune(s, NOW), 2500);
	assert_int_equal(one_int(s, "SELECT count(*) FROM outbox"), 0);
	assert_int_equal(one_int(s, "SELECT count(*) FROM outbox_pruned"), 25);
	assert_int_equal(one_int(s, "SELECT sum(records) FROM outbox_pruned"), 2500);
	/* Each tombstone keeps its record's newest row and latest receipt (here
	 * received_at = base - seq: the latest receipt is its first row's). */
	snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox_pruned WHERE received_at_ms = %lld - "
	                          "(last_seq - 2475) AND records = 100", (long long)(NOW - 100 * DAY));
	assert_int_equal(one_int(s, sql), 25);
	check_ok(s);
	fic_store_stats st = FIC_STORE_STATS_INIT;
	assert_int_equal(fic_store_stats_get(s, &st), FIC_OK);
	assert_int_equal(st.outbox_pending, 0);
}

static void the_pass_keeps_its_own_error(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE];
	int64_t seq;
	add_school(f->store, id, "一小", &seq);
	ack(f->store, seq, NOW - 30 * DAY);
	fic__err(FIC_ENETWORK, "the link went down");
	assert_int_equal(fic__outbox_prune(f->store, NOW), 1);
	assert_int_equal(fic_error_last()->code, FIC_ENETWORK);
	assert_string_equal(fic_error_last()->message, "the link went down");
	/* And a failing prune says so, logs it, and still keeps the pass's error. */
	assert_int_equal(sqlite3_exec(f->store->db, "DROP TABLE outbox_pruned", NULL, NULL, NULL),
	                 SQLITE_OK);
	add_school(f->store, id, "二小", &seq);
	ack(f->store, seq, NOW - 30 * DAY);
	fic__err(FIC_ENETWORK, "the link went down");
	assert_true(fic__outbox_prune(f->store, NOW) < 0);
	assert_non_null(strstr(f->clock.last_log, "pruning stopped"));
	assert_int_equal(fic_error_last()->code, FIC_ENETWORK);
	assert_int_equal(rows(f->store, seq), 1); /* nothing half-done */
	fic__err_clear();
	assert_int_equal(fic__outbox_prune(NULL, NOW), FIC_EINVAL);
}

/* ---- the feed's rule after pruning ---- */

static cJSON *county_site(const char *name)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "kind", "school");
	cJSON_AddStringToObject(d, "name", name);
	return d;
}

static int apply(fic_store *s, const char *id, const char *name, int64_t changed_at, bool *skipped)
{
	cJSON *d = county_site(name);
	assert_int_equal(fic__tx_begin(s), FIC_OK);
	int rc = fic__site_apply_feed(s, id, false, d, changed_at, skipped);
	if (rc == FIC_OK)
		rc = fic__tx_commit(s);
	else
		fic__tx_rollback(s);
	cJSON_Delete(d);
	return rc;
}

static void the_feed_still_yields_to_a_pruned_change_the_county_had_not_seen(void **state)
{
	fixture *f = *state;
	fic_store *s = f->store;
	bool skipped;
	assert_int_equal(apply(s, "county-1", "石桥小学", NOW - 40 * DAY, &skipped), FIC_OK);
	assert_false(skipped);
	/* The inspector corrects the name; the server receives it 20 days ago. */
	fic_site *site;
	assert_int_equal(fic_site_get(&site, s, "county-1"), FIC_OK);
	fic_site in = *site;
	in.name = "石桥村小学";
	assert_int_equal(fic_site_update(NULL, s, &in, "校牌"), FIC_OK);
	fic_site_free(site);
	int64_t seq = one_int(s, "SELECT max(seq) FROM outbox");
	ack(s, seq, NOW - 20 * DAY);
	assert_int_equal(fic__outbox_prune(s, NOW), 1);
	assert_int_equal(rows(s, seq), 0);
	/* A county version made before the server had the change: not applied. */
	assert_int_equal(apply(s, "county-1", "石桥小学", NOW - 25 * DAY, &skipped), FIC_OK);
	assert_true(skipped);
	assert_int_equal(fic_site_get(&site, s, "county-1"), FIC_OK);
	assert_string_equal(site->name, "石桥村小学");
	fic_site_free(site);
	/* One made after it: the county's word. */
	assert_int_equal(apply(s, "county-1", "石桥村完全小学", NOW - 10 * DAY, &skipped), FIC_OK);
	assert_false(skipped);
	assert_int_equal(fic_site_get(&site, s, "county-1"), FIC_OK);
	assert_string_equal(site->name, "石桥村完全小学");
	fic_site_free(site);
	/* A later change still acknowledged (not pruned) counts the same way. */
	assert_int_equal(fic_site_get(&site, s, "county-1"), FIC_OK);
	in = *site;
	in.enrolment = 300;
	assert_int_equal(fic_site_update(NULL, s, &in, "人数"), FIC_OK);
	fic_site_free(site);
	seq = one_int(s, "SELECT max(seq) FROM outbox");
	assert_int_equal(apply(s, "county-1", "旧名", NOW - 5 * DAY, &skipped), FIC_OK);
	assert_true(skipped); /* pending: the inspector's wins */
	ack(s, seq, NOW - 2 * DAY);
	assert_int_equal(apply(s, "county-1", "旧名", NOW - 5 * DAY, &skipped), FIC_OK);
	assert_true(skipped);
	assert_int_equal(fic__outbox_prune(s, NOW), 0);
	check_ok(s);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(acknowledged_rows_go_after_the_retention_and_leave_a_tombstone),
		T(the_retention_is_a_setting),
		T(receipt_times_are_compared_on_the_servers_clock),
		T(a_years_backlog_goes_in_batches),
		T(the_pass_keeps_its_own_error),
		T(the_feed_still_yields_to_a_pruned_change_the_county_had_not_seen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
