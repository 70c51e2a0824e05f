/*
 * tests/core/test_alloc_failures.c — "torture" tests in libcurl's manner:
 * run an operation again and again, failing the 1st, 2nd, 3rd … allocation
 * the library makes, until it runs without a failure. Every run that hit a
 * failure must report FIC_ENOMEM, leak nothing (live blocks back to where
 * they were) and leave the store as it was.
 */
#include "testutil.h"
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

typedef struct fixture {
	char *dir;
	char *path;
	fic_platform platform;
	tu_clock clock;
	fic_store_options opts;
	fic_store *store;
	char site_id[FIC_UUID_BUFSIZE];
} fixture;

static fic_site sample(void)
{
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_SCHOOL;
	s.name = "内存测试小学";
	s.address = "某镇某路 1 号";
	s.credit_code = "91350100M000100Y43";
	s.has_location = 1;
	s.lat = 30.0;
	s.lon = 107.0;
	s.boarding = 0;
	s.enrolment = 300;
	return s;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->dir = tu_mkdtemp();
	f->path = tu_path(f->dir, "store.db");
	tu_platform(&f->platform, &f->clock);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	o.actor = "tester";
	f->opts = o;
	tu_alloc_install();
	tu_alloc_fail_at(0);
	assert_int_equal(fic_store_open(&f->store, f->path, &f->opts), FIC_OK);
	/* Leads with personal answers are sealed to the county's key. */
	assert_int_equal(tu_pin_county_key(f->store), FIC_OK);
	fic_site s = sample();
	fic_site *out;
	assert_int_equal(fic_site_add(&out, f->store, &s, NULL), FIC_OK);
	strcpy(f->site_id, out->id);
	fic_site_free(out);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	tu_alloc_fail_at(0);
	fic_store_close(f->store);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->path);
	free(f);
	return 0;
}

static int64_t changes(fic_store *s)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(s->db, "SELECT (SELECT count(*) FROM sites) * 1000000 + "
	                                    "(SELECT count(*) FROM audit) * 1000 + "
	                                    "(SELECT count(*) FROM outbox)", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* One operation under test; returns its status and frees what it made. */
typedef int (*op_fn)(fixture *f);

/*
 * Fail allocation 1, 2, 3, … until the operation completes untouched.
 * `writes` says whether a successful run changes the store.
 */
static void torture_stride(fixture *f, op_fn op, int writes, const char *name, long stride)
{
	int failures = 0;
	for (long n = 1; n < 200000; n += stride) {
		long live_before = tu_alloc_live();
		int64_t before = changes(f->store);
		tu_alloc_fail_at(n);
		int rc = op(f);
		bool hit = tu_alloc_failed();
		tu_alloc_fail_at(0);
		if (!hit) {
			assert_int_equal(rc, FIC_OK);
			assert_int_equal(tu_alloc_live(), live_before);
			if (writes)
				assert_int_not_equal(changes(f->store), before);
			printf("%s: %d allocation failures reported cleanly, then success\n", name,
			       failures);
			assert_true(failures > 0);
			return;
		}
		failures++;
		if (rc != FIC_ENOMEM)
			fail_msg("%s: allocation %ld failed but the call returned %d (%s)", name, n, rc,
			         fic_error_last()->message);
		assert_int_equal(fic_error_last()->code, FIC_ENOMEM);
		if (tu_alloc_live() != live_before)
			fail_msg("%s: allocation %ld failed and %ld blocks leaked", name, n,
			         tu_alloc_live() - live_before);
		assert_int_equal(changes(f->store), before);
	}
	fail_msg("%s never completed", name);
}

static void torture(fixture *f, op_fn op, int writes, const char *name)
{
	torture_stride(f, op, writes, name, 1);
}

static int op_add(fixture *f)
{
	fic_site s = sample();
	fic_site *out = NULL;
	int rc = fic_site_add(&out, f->store, &s, "理由");
	fic_site_free(out);
	return rc;
}

static int op_update(fixture *f)
{
	static int bump;
	fic_site s = sample();
	s.id = f->site_id;
	s.enrolment = 400 + ++bump; /* a real change every time */
	fic_site *out = NULL;
	int rc = fic_site_update(&out, f->store, &s, "人数变化");
	fic_site_free(out);
	return rc;
}

static int op_get(fixture *f)
{
	fic_site *out = NULL;
	int rc = fic_site_get(&out, f->store, f->site_id);
	fic_site_free(out);
	return rc;
}

static int op_search(fixture *f)
{
	fic_site_list *l = NULL;
	int rc = fic_site_search(&l, f->store, 0, "小学", 0);
	fic_site_list_free(l);
	return rc;
}

static int op_near(fixture *f)
{
	fic_site_list *l = NULL;
	int rc = fic_site_near(&l, f->store, 30.0, 107.0, 1000, 0);
	fic_site_list_free(l);
	return rc;
}

/* With a limit: the growing circle, then only the nearest read. */
static int op_near_limit(fixture *f)
{
	fic_site_list *l = NULL;
	int rc = fic_site_near(&l, f->store, 30.0, 107.0, 50000, 3);
	fic_site_list_free(l);
	return rc;
}

static int op_due_summary(fixture *f)
{
	char *t = NULL;
	int rc = fic_due_summary_json(&t, f->store);
	fic_free(t);
	return rc;
}

static char due_cursor[FIC_DUE_CURSOR_MAX + 1];

/* The first page, and one from a cursor (the first page's, taken beforehand). */
static int op_due_page(fixture *f)
{
	char *t = NULL, *t2 = NULL;
	int rc = fic_due_page_json(&t, f->store, "school", NULL, 2);
	if (rc == FIC_OK)
		rc = fic_due_page_json(&t2, f->store, "school", due_cursor, 2);
	fic_free(t);
	fic_free(t2);
	return rc;
}

static int op_credit(fixture *f)
{
	fic_site_list *l = NULL;
	int rc = fic_site_find_by_credit_code(&l, f->store, "91350100M000100Y43");
	fic_site_list_free(l);
	return rc;
}

static int op_audit(fixture *f)
{
	fic_audit_list *l = NULL;
	int rc = fic_audit_list_get(&l, f->store, NULL, 0);
	fic_audit_list_free(l);
	return rc;
}

static int op_json(fixture *f)
{
	fic_site s = sample();
	s.id = f->site_id;
	char *text = NULL;
	int rc = fic_site_to_json(&text, &s);
	fic_free(text);
	return rc;
}

static int op_open_existing(fixture *f)
{
	fic_store *s = NULL;
	int rc = fic_store_open(&s, f->path, &f->opts);
	fic_store_close(s);
	return rc;
}

static int op_inspection_start(fixture *f)
{
	char id[FIC_UUID_BUFSIZE];
	return fic_inspection_start(id, f->store, f->site_id, "school.disease_control");
}

static char insp_id[FIC_UUID_BUFSIZE];

static int op_inspection_answer(fixture *f)
{
	static int flip;
	return fic_inspection_answer(f->store, insp_id, "morning_checks", (flip++ & 1) ? "yes" : "no");
}

static int op_inspection_json(fixture *f)
{
	char *t = NULL;
	int rc = fic_inspection_get_json(&t, f->store, insp_id);
	fic_free(t);
	return rc;
}

static int op_lead_file(fixture *f)
{
	char id[FIC_UUID_BUFSIZE];
	return fic_lead_file(id, f->store, "event.school_cluster",
	                     "{\"unit_type\":\"class\",\"unit_name\":\"三年级二班\","
	                     "\"first_date\":\"2026-03-01\",\"daily_cases\":\"2,2,1\","
	                     "\"symptoms\":[\"vomiting\"],\"similar_symptoms\":\"yes\","
	                     "\"shared_meal_or_water\":\"no\",\"verified\":\"yes\"}",
	                     f->site_id, 0, 0);
}

/* A tip-off naming its informant: its two personal answers sealed at submission. */
static int op_lead_file_sealed(fixture *f)
{
	char id[FIC_UUID_BUFSIZE];
	return fic_lead_file(id, f->store, "lead.tip_off",
	                     "{\"source\":\"phone\",\"subject\":\"illegal_practice\","
	                     "\"place\":\"集市\",\"description\":\"游医摆摊\","
	                     "\"time_sensitive\":\"no\",\"verified\":\"yes\","
	                     "\"informant_name\":\"欧阳秀珍\",\"informant_phone\":\"13907770451\"}",
	                     NULL, 0, 0);
}

static int op_checklist_list(fixture *f)
{
	fic_checklist_list *l = NULL;
	int rc = fic_checklist_list_get(&l, f->store, 0, 0);
	fic_checklist_list_free(l);
	return rc;
}

/* On a handle of its own, so the registry it loads is freed again on close. */
static int op_checklist_list_fresh(fixture *f)
{
	fic_store *s = NULL;
	int rc = fic_store_open(&s, f->path, &f->opts);
	if (rc == FIC_OK) {
		fic_checklist_list *l = NULL;
		rc = fic_checklist_list_get(&l, s, 0, 0);
		fic_checklist_list_free(l);
	}
	fic_store_close(s);
	return rc;
}

static void loading_the_checklists_survives_allocation_failures(void **state)
{
	/* Parsing every built-in definition takes tens of thousands of allocations: fail every 61st. */
	torture_stride(*state, op_checklist_list_fresh, 0, "checklist registry load", 61);
}

static char finish_id[FIC_UUID_BUFSIZE];

static int op_inspection_finish(fixture *f)
{
	char *summary = NULL;
	int rc = fic_inspection_finish(&summary, f->store, finish_id);
	fic_free(summary);
	return rc;
}

static void finishing_survives_every_allocation_failure(void **state)
{
	fixture *f = *state;
	/* A school water patrol with one finding (no photo needed for a staff count). */
	assert_int_equal(fic_inspection_start(finish_id, f->store, f->site_id, "school.water"), FIC_OK);
	assert_int_equal(fic_inspection_answer(f->store, finish_id, "supply_types", "bottled"), FIC_OK);
	const char *yes[] = { "dispenser_cleaned", "dispenser_out_of_sun", "dispenser_approved" };
	for (size_t i = 0; i < 3; i++) {
		int rc = fic_inspection_answer(f->store, finish_id, yes[i], "yes");
		if (rc != FIC_OK)
			fail_msg("%s: %s", yes[i], fic_error_last()->message);
	}
	/* Mark one photo-evidenced finding with its photo row so finishing can go through. */
	assert_int_equal(fic_inspection_answer(f->store, finish_id, "dispenser_out_of_sun", "no"), FIC_OK);
	assert_int_equal(sqlite3_exec(f->store->db, "INSERT INTO photos (id, owner_type, owner_id, "
	                              "item_id, sha256, file_name, bytes, created_at_ms) SELECT 'p1', "
	                              "'inspection', id, 'dispenser_out_of_sun', 'x', 'x', 1, 0 FROM "
	                              "inspections", NULL, NULL, NULL), SQLITE_OK);
	torture(f, op_inspection_finish, 1, "fic_inspection_finish");
}

static unsigned char *photo_jpg;
static size_t photo_len;

static int op_photo_add(fixture *f)
{
	char id[FIC_UUID_BUFSIZE];
	return fic_photo_add_buffer(id, f->store, FIC_PHOTO_SITE, f->site_id, NULL, photo_jpg, photo_len, NULL);
}

static void photos_survive_every_allocation_failure(void **state)
{
	photo_jpg = tu_make_jpeg(64, 48, 3, 0, 85, &photo_len);
	torture(*state, op_photo_add, 1, "fic_photo_add_buffer");
	free(photo_jpg);
}

static void inspections_survive_every_allocation_failure(void **state)
{
	fixture *f = *state;
	assert_int_equal(op_checklist_list(f), FIC_OK); /* registry loaded once, as in an app */
	torture(f, op_inspection_start, 1, "fic_inspection_start");
	assert_int_equal(fic_inspection_start(insp_id, f->store, f->site_id, "school.disease_control"),
	                 FIC_OK);
	torture(f, op_inspection_answer, 0, "fic_inspection_answer");
	torture(f, op_inspection_json, 0, "fic_inspection_get_json");
	torture(f, op_lead_file, 1, "fic_lead_file");
	assert_int_equal(tu_pin_county_key(f->store), FIC_OK);
	torture(f, op_lead_file_sealed, 1, "fic_lead_file (sealed at submission)");
}

static void add_survives_every_allocation_failure(void **state)
{
	torture(*state, op_add, 1, "fic_site_add");
}

static void update_survives_every_allocation_failure(void **state)
{
	torture(*state, op_update, 1, "fic_site_update");
}

static void reads_survive_every_allocation_failure(void **state)
{
	torture(*state, op_get, 0, "fic_site_get");
	torture(*state, op_search, 0, "fic_site_search");
	torture(*state, op_near, 0, "fic_site_near");
	torture(*state, op_credit, 0, "fic_site_find_by_credit_code");
	torture(*state, op_audit, 0, "fic_audit_list_get");
	torture(*state, op_json, 0, "fic_site_to_json");
}

static void open_survives_every_allocation_failure(void **state)
{
	torture(*state, op_open_existing, 0, "fic_store_open");
}

static void listing_many_sites_survives_every_allocation_failure(void **state)
{
	fixture *f = *state;
	for (int i = 0; i < 40; i++)
		assert_int_equal(op_add(f), FIC_OK); /* enough rows to grow the list arrays */
	torture(f, op_search, 0, "fic_site_search (41 rows)");
	torture(f, op_near, 0, "fic_site_near (41 rows)");
	torture(f, op_near_limit, 0, "fic_site_near (41 rows, limit 3)");
	torture(f, op_due_summary, 0, "fic_due_summary_json");
	char *t;
	assert_int_equal(fic_due_page_json(&t, f->store, "school", NULL, 2), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "next")));
	snprintf(due_cursor, sizeof due_cursor, "%s", cJSON_GetObjectItem(j, "next")->valuestring);
	cJSON_Delete(j);
	torture(f, op_due_page, 0, "fic_due_page_json (two pages)");
}

/* ---- the year's calls (issue #14) ---- */

static int op_place_code(fixture *f)
{
	(void)f;
	static const char payload[] = "机构名称：青杠镇卫生院\n地址：正街18号\n法定代表人：李明";
	fic_place_code *pc = NULL;
	int rc = fic_place_code_parse(&pc, payload, strlen(payload));
	fic_place_code_free(pc);
	return rc;
}

static int op_place_code_url(fixture *f)
{
	(void)f;
	static const char payload[] = " HTTPS://cq.example//p/?b=2&a=%E9%9D%92&code=Q-1&utm_x=1 ";
	fic_place_code *pc = NULL;
	int rc = fic_place_code_parse(&pc, payload, strlen(payload));
	fic_place_code_free(pc);
	return rc;
}

static int op_scan(fixture *f)
{
	char *t = NULL;
	int rc = fic_visit_scan(&t, f->store, "QG-ALLOC-1", 10, NULL);
	fic_free(t);
	return rc;
}

static int op_register_html(fixture *f)
{
	char *t = NULL;
	int rc = fic_register_get(&t, f->store, FIC_REGISTER_REPORTS, NULL, NULL, FIC_REGISTER_HTML);
	fic_free(t);
	return rc;
}

static int op_activity(fixture *f)
{
	char id[FIC_UUID_BUFSIZE];
	fic_activity a = FIC_ACTIVITY_INIT;
	a.kind = FIC_ACTIVITY_PUBLICITY;
	a.date = "2026-02-20";
	a.topic = "宣传";
	a.site_id = f->site_id;
	return fic_activity_add(id, f->store, &a);
}

static char call_lead[FIC_UUID_BUFSIZE];

static int op_call(fixture *f)
{
	return fic_lead_call_record(f->store, call_lead, "phone", 0, "区疾控中心", NULL);
}

static int op_stats(fixture *f)
{
	char *t = NULL;
	int rc = fic_stats_json(&t, f->store, 0);
	fic_free(t);
	return rc;
}

static int op_plan(fixture *f)
{
	return fic_patrol_plan_set(f->store, "{\"areas\":{\"school\":{\"per_year\":3},"
	                                     "\"other.pool\":{\"title\":\"游泳场所\","
	                                     "\"kinds\":{\"other_venue\":1}}}}");
}

static int op_site_report(fixture *f)
{
	char lead[FIC_UUID_BUFSIZE];
	return fic_site_report(lead, f->store, f->site_id, FIC_FOUND_CLOSED, "已撤并", NULL);
}

static void the_years_calls_survive_every_allocation_failure(void **state)
{
	fixture *f = *state;
	torture(f, op_place_code, 0, "fic_place_code_parse (text)");
	torture(f, op_place_code_url, 0, "fic_place_code_parse (URL)");
	assert_int_equal(fic_site_code_add(f->store, f->site_id, "QG-ALLOC-1", NULL), FIC_OK);
	torture(f, op_scan, 1, "fic_visit_scan");
	torture(f, op_activity, 1, "fic_activity_add");
	assert_int_equal(fic_lead_file(call_lead, f->store, "event.foodborne", tu_foodborne_answers,
	                               NULL, 0, 0), FIC_OK);
	torture(f, op_call, 1, "fic_lead_call_record");
	torture(f, op_register_html, 0, "fic_register_get (HTML)");
	torture(f, op_stats, 0, "fic_stats_json");
	torture(f, op_plan, 1, "fic_patrol_plan_set");
	torture(f, op_site_report, 1, "fic_site_report");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(add_survives_every_allocation_failure),
		T(update_survives_every_allocation_failure),
		T(reads_survive_every_allocation_failure),
		T(open_survives_every_allocation_failure),
		T(listing_many_sites_survives_every_allocation_failure),
		T(loading_the_checklists_survives_allocation_failures),
		T(inspections_survive_every_allocation_failure),
		T(finishing_survives_every_allocation_failure),
		T(photos_survive_every_allocation_failure),
		T(the_years_calls_survive_every_allocation_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
