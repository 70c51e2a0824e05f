/*
 * tests/core/test_lead.c — leads filed by hand (tip-offs, the two-hour event
 * reports), deadlines and ordering by time left, re-inspection tasks, the due
 * list, the indicators and the settings they depend on.
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

typedef tu_fixture fixture;

/* 2026-03-01T08:00Z = 16:00 in China. */
#define T0 1772352000000LL
#define MIN 60000LL

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

static cJSON *lead_json(fixture *f, const char *id)
{
	char *t;
	assert_int_equal(fic_lead_get_json(&t, f->store, id), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	assert_non_null(j);
	return j;
}


static void a_foodborne_report_goes_to_the_cdc_within_two_hours(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE];
	int64_t found = T0 - 30 * MIN;
	int rc = fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL, found, 0);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	cJSON *j = lead_json(f, id);
	assert_string_equal(cJSON_GetObjectItem(j, "report_to")->valuestring, "district_cdc");
	assert_string_equal(cJSON_GetObjectItem(j, "category")->valuestring, "foodborne");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "urgent")));
	assert_true(cJSON_GetObjectItem(j, "deadline_at_ms")->valuedouble ==
	            (double)(found + FIC_URGENT_DEADLINE_MS));
	assert_true(cJSON_GetObjectItem(j, "remaining_ms")->valuedouble == (double)(90 * MIN));
	cJSON *answers = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "content"), "answers");
	assert_int_equal(cJSON_GetObjectItem(answers, "ill")->valueint, 14);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(answers, "symptoms")), 2);
	cJSON_Delete(j);
	/* The informant's phone never reaches the audit log. */
	fic_audit_list *log;
	assert_int_equal(fic_audit_list_get(&log, f->store, id, 0), FIC_OK);
	assert_int_equal(log->count, 2); /* filed, submitted */
	for (size_t i = 0; i < log->count; i++)
		assert_null(strstr(log->entries[i].detail, "13800000000"));
	fic_audit_list_free(log);
}

static void every_two_hour_form_files_an_urgent_lead(void **state)
{
	fixture *f = *state;
	struct { const char *form, *answers; } forms[] = {
		{ "event.water_poisoning", "{\"place\":\"石桥村\",\"poisoned\":6,\"treatment\":\"镇卫生院\","
		  "\"onset_date\":\"2026-03-01\",\"description\":\"饮水后腹泻\",\"verified\":\"yes\"}" },
		{ "event.two_non", "{\"kind\":\"sex_determination\",\"place\":\"某诊所\",\"description\":\"x\","
		  "\"informant_name\":\"王某\",\"verified\":\"yes\"}" },
		{ "event.occupational_emergency", "{\"place\":\"某煤矿\",\"date\":\"2026-03-01\",\"affected\":3,"
		  "\"hazard\":\"一氧化碳\",\"description\":\"x\",\"verified\":\"yes\"}" },
	};
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		char id[FIC_UUID_BUFSIZE];
		int rc = fic_lead_file(id, f->store, forms[i].form, forms[i].answers, NULL, 0, 0);
		if (rc != FIC_OK)
			fail_msg("%s: %s", forms[i].form, fic_error_last()->message);
		cJSON *j = lead_json(f, id);
		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "urgent")));
		assert_string_equal(cJSON_GetObjectItem(j, "report_to")->valuestring, "enforcement");
		cJSON_Delete(j);
	}
}

static void form_answers_are_validated_like_inspection_answers(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE];
	struct { const char *form, *answers; int rc; const char *says; } cases[] = {
		{ "event.foodborne", "not json", FIC_EINVAL, "not valid JSON" },
		{ "event.foodborne", "[1,2]", FIC_EINVAL, "object" },
		{ "event.foodborne", "{\"colour\":\"red\"}", FIC_EINVAL, "no item" },
		{ "event.foodborne", "{\"ill\":-3}", FIC_EINVAL, "whole number" },
		{ "event.foodborne", "{\"ill\":true}", FIC_EINVAL, "string, number or list" },
		{ "event.foodborne", "{\"onset_date\":\"2026-03-02\"}", FIC_EINVAL, "after" },
		{ "event.foodborne", "{\"symptoms\":[\"sneezing\"]}", FIC_EINVAL, "choices" },
		{ "event.school_cluster", "{\"daily_cases\":\"2,,,2,1\"}", FIC_EINVAL, "empty entry" },
		{ "event.school_cluster", "{\"daily_cases\":\",3\"}", FIC_EINVAL, "empty entry" },
		{ "event.school_cluster", "{\"daily_cases\":\"3,\"}", FIC_EINVAL, "empty entry" },
		{ "event.foodborne", "{\"symptoms\":\"vomiting,,fever\"}", FIC_EINVAL, "empty entry" },
		{ "event.foodborne", "{\"ill\":3}", FIC_EINCOMPLETE, "meal_place" },
		{ "water.rural", "{}", FIC_EINVAL, "patrol checklist" },
		{ "no.such.form", "{}", FIC_ENOTFOUND, "no checklist" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = fic_lead_file(id, f->store, cases[i].form, cases[i].answers, NULL, 0, 0);
		if (rc != cases[i].rc || !strstr(fic_error_last()->message, cases[i].says))
			fail_msg("case %zu: %d '%s'", i, rc, fic_error_last()->message);
		assert_string_equal(id, "");
	}
	assert_int_equal(fic_lead_file(NULL, f->store, "event.foodborne", tu_foodborne_answers, NULL, 0, 0), FIC_EINVAL);
	assert_int_equal(fic_lead_file(id, NULL, "event.foodborne", tu_foodborne_answers, NULL, 0, 0), FIC_EINVAL);
	assert_int_equal(fic_lead_file(id, f->store, NULL, tu_foodborne_answers, NULL, 0, 0), FIC_EINVAL);
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", NULL, NULL, 0, 0), FIC_EINVAL);
	/* In the future, or absurdly old. */
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL,
	                               T0 + 60 * MIN, 0), FIC_EINVAL);
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL, 1000, 0),
	                 FIC_EINVAL);
	/* Unknown site; a site of the wrong kind. */
	assert_int_equal(fic_lead_file(id, f->store, "event.water_poisoning", "{}", "nope", 0, 0),
	                 FIC_ENOTFOUND);
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_EMPLOYER;
	s.name = "工厂";
	fic_site *out;
	assert_int_equal(fic_site_add(&out, f->store, &s, NULL), FIC_OK);
	assert_int_equal(fic_lead_file(id, f->store, "event.school_cluster", "{}", out->id, 0, 0), FIC_EINVAL);
	fic_site_free(out);
	/* An oversized answers document. */
	char *big = malloc(70000);
	memset(big, ' ', 69999);
	big[0] = '{';
	big[69998] = '}';
	big[69999] = '\0';
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", big, NULL, 0, 0), FIC_ETOOBIG);
	free(big);
	fic_lead_list *l;
	assert_int_equal(fic_lead_list_get(&l, f->store, 0), FIC_OK);
	assert_int_equal(l->count, 0);
	fic_lead_list_free(l);
}

static void leads_list_urgent_first_by_time_left(void **state)
{
	fixture *f = *state;
	char a[FIC_UUID_BUFSIZE], b[FIC_UUID_BUFSIZE], c[FIC_UUID_BUFSIZE], d[FIC_UUID_BUFSIZE];
	const char *tip = "{\"source\":\"hotline_12345\",\"ticket_12345\":\"GT-1\",\"subject\":\"illegal_practice\","
	                  "\"place\":\"集市\",\"description\":\"游医摆摊\",\"time_sensitive\":\"no\","
	                  "\"verified\":\"yes\"}";
	assert_int_equal(fic_lead_file(a, f->store, "lead.tip_off", tip, NULL, T0 - 200 * MIN, 0), FIC_OK);
	assert_int_equal(fic_lead_file(b, f->store, "event.foodborne", tu_foodborne_answers, NULL, T0 - 10 * MIN, 0), FIC_OK);
	assert_int_equal(fic_lead_file(c, f->store, "event.foodborne", tu_foodborne_answers, NULL, T0 - 150 * MIN, 0), FIC_OK);
	assert_int_equal(fic_lead_file(d, f->store, "event.foodborne", tu_foodborne_answers, NULL, T0 - 60 * MIN, 0), FIC_OK);
	fic_lead_list *l;
	assert_int_equal(fic_lead_list_get(&l, f->store, 0), FIC_OK);
	assert_int_equal(l->count, 4);
	assert_string_equal(l->entries[0].id, c); /* 30 min overdue */
	assert_int_equal(l->entries[0].remaining_ms, -30 * MIN);
	assert_string_equal(l->entries[1].id, d); /* 60 min left */
	assert_string_equal(l->entries[2].id, b); /* 110 min left */
	assert_string_equal(l->entries[3].id, a);
	assert_false(l->entries[3].urgent);
	assert_int_equal(l->entries[3].remaining_ms, 0);
	assert_int_equal(l->entries[3].deadline_at_ms, 0);
	fic_lead_list_free(l);
	assert_int_equal(fic_lead_list_get(&l, f->store, 2), FIC_OK);
	assert_int_equal(l->count, 2);
	fic_lead_list_free(l);
	char *t = (char *)0x1;
	assert_int_equal(fic_lead_get_json(&t, f->store, "nope"), FIC_ENOTFOUND);
	assert_null(t);
}

static void a_time_sensitive_tip_off_creates_a_reinspection_within_a_month(void **state)
{
	fixture *f = *state;
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_OTHER_VENUE;
	s.name = "场镇集市";
	fic_site *venue;
	assert_int_equal(fic_site_add(&venue, f->store, &s, NULL), FIC_OK);
	char id[FIC_UUID_BUFSIZE];
	const char *tip = "{\"source\":\"visit\",\"subject\":\"illegal_practice\",\"place\":\"集市东口\","
	                  "\"description\":\"流动游医拔牙\",\"time_sensitive\":\"yes\",\"verified\":\"yes\"}";
	/* Discovered 2026-01-31 (local): due one month later, clamped to 2026-02-28. */
	int64_t found = 1769817600000LL; /* 2026-01-31T00:00Z = 08:00 local */
	f->clock.wall_ms = found + 10 * MIN;
	assert_int_equal(fic_lead_file(id, f->store, "lead.tip_off", tip, venue->id, found, 0), FIC_OK);
	char *t;
	assert_int_equal(fic_task_list_json(&t, f->store), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	assert_int_equal(cJSON_GetArraySize(j), 1);
	cJSON *task = cJSON_GetArrayItem(j, 0);
	assert_string_equal(cJSON_GetObjectItem(task, "due_date")->valuestring, "2026-02-28");
	assert_string_equal(cJSON_GetObjectItem(task, "lead_id")->valuestring, id);
	assert_string_equal(cJSON_GetObjectItem(task, "site_id")->valuestring, venue->id);
	assert_string_equal(cJSON_GetObjectItem(task, "source")->valuestring, "lead");
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(task, "overdue")));
	cJSON_Delete(j);
	/* A day after the due date it is overdue. */
	f->clock.wall_ms = found + 29LL * 24 * 60 * MIN;
	assert_int_equal(fic_task_list_json(&t, f->store), FIC_OK);
	j = cJSON_Parse(t);
	fic_free(t);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "overdue")));
	cJSON_Delete(j);
	fic_site_free(venue);
}

static void an_agency_task_is_listed_with_its_due_date(void **state)
{
	fixture *f = *state;
	extern int fic__task_add(fic_store *, const char *, const char *, const char *, const char *,
	                         const char *, const char *);
	assert_int_equal(fic__tx_begin(f->store), FIC_OK);
	assert_int_equal(fic__task_add(f->store, "reinspection", NULL, NULL, "agency", "2026-03-20",
	                               "执法机构指派复查"), FIC_OK);
	assert_int_equal(fic__tx_commit(f->store), FIC_OK);
	char *t;
	assert_int_equal(fic_task_list_json(&t, f->store), FIC_OK);
	assert_non_null(strstr(t, "\"agency\""));
	assert_non_null(strstr(t, "2026-03-20"));
	fic_free(t);
}

static void settings_are_validated(void **state)
{
	fixture *f = *state;
	char *v;
	assert_int_equal(fic_setting_get(&v, f->store, "utc_offset_minutes"), FIC_OK);
	assert_string_equal(v, "480");
	fic_free(v);
	assert_int_equal(fic_setting_set(f->store, "utc_offset_minutes", "841"), FIC_EINVAL);
	assert_int_equal(fic_setting_set(f->store, "utc_offset_minutes", "8h"), FIC_EINVAL);
	assert_int_equal(fic_setting_set(f->store, "semester_starts", "2026-02-30"), FIC_EINVAL);
	assert_int_equal(fic_setting_set(f->store, "semester_starts", ""), FIC_EINVAL);
	assert_int_equal(fic_setting_set(f->store, "colour", "blue"), FIC_EINVAL);
	assert_int_equal(fic_setting_set(f->store, "semester_starts", "2026-02-23,2026-09-01"), FIC_OK);
	assert_int_equal(fic_setting_get(&v, f->store, "semester_starts"), FIC_OK);
	assert_string_equal(v, "2026-02-23,2026-09-01");
	fic_free(v);
	assert_int_equal(fic_setting_get(&v, f->store, "colour"), FIC_EINVAL);
	/* The offset decides the calendar day: 08:00Z on 1 March is still 28 Feb at UTC-10. */
	assert_int_equal(fic_setting_set(f->store, "utc_offset_minutes", "-600"), FIC_OK);
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "水厂";
	fic_site *site;
	assert_int_equal(fic_site_add(&site, f->store, &s, NULL), FIC_OK);
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_inspection_start(id, f->store, site->id, "water.rural"), FIC_OK);
	assert_int_equal(fic_inspection_get_json(&v, f->store, id), FIC_OK);
	assert_non_null(strstr(v, "\"2026-02-28\""));
	fic_free(v);
	fic_site_free(site);
}

static void finish_patrol(fixture *f, const char *site_id, const char *checklist)
{
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_inspection_start(id, f->store, site_id, checklist), FIC_OK);
	/* Mark it finished directly: what is counted here is the visit, not its answers. */
	char sql[200];
	snprintf(sql, sizeof sql, "UPDATE inspections SET state = 'finished' WHERE id = '%s'", id);
	assert_int_equal(sqlite3_exec(f->store->db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static void the_due_list_counts_patrols_per_area_and_semester_visits(void **state)
{
	fixture *f = *state;
	assert_int_equal(fic_setting_set(f->store, "semester_starts", "2026-02-23,2026-09-01"), FIC_OK);
	struct { int kind; const char *name; } sites[] = {
		{ FIC_SITE_WATER_RURAL, "水厂甲" }, { FIC_SITE_WATER_RURAL, "水厂乙" },
		{ FIC_SITE_SCHOOL, "小学甲" }, { FIC_SITE_SCHOOL, "小学乙" },
		{ FIC_SITE_EMPLOYER, "煤矿" },
	};
	char ids[5][FIC_UUID_BUFSIZE];
	for (int i = 0; i < 5; i++) {
		fic_site s = FIC_SITE_INIT;
		s.kind = sites[i].kind;
		s.name = sites[i].name;
		fic_site *o;
		assert_int_equal(fic_site_add(&o, f->store, &s, NULL), FIC_OK);
		strcpy(ids[i], o->id);
		fic_site_free(o);
	}
	finish_patrol(f, ids[0], "water.rural");
	finish_patrol(f, ids[0], "water.rural"); /* two this year: not due */
	finish_patrol(f, ids[1], "water.rural"); /* one: due */
	finish_patrol(f, ids[2], "school.disease_control"); /* visited on 2026-03-01 */
	char *t;
	assert_int_equal(fic_due_json(&t, f->store), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	cJSON *areas = cJSON_GetObjectItem(j, "areas");
	cJSON *water = cJSON_GetObjectItem(areas, "drinking_water");
	assert_int_equal(cJSON_GetArraySize(water), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(water, 0), "site_id")->valuestring, ids[1]);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(water, 0), "patrols_this_year")->valueint, 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(areas, "school")), 2);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(areas, "occupational")), 1);
	cJSON *sem = cJSON_GetObjectItem(j, "semester");
	assert_string_equal(cJSON_GetObjectItem(sem, "start")->valuestring, "2026-02-23");
	assert_string_equal(cJSON_GetObjectItem(sem, "first_month_ends")->valuestring, "2026-03-23");
	cJSON *not_visited = cJSON_GetObjectItem(sem, "schools_not_visited");
	assert_int_equal(cJSON_GetArraySize(not_visited), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(not_visited, 0), "site_id")->valuestring,
	                    ids[3]);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(not_visited, 0), "overdue")));
	cJSON_Delete(j);
	/* On the last day of the first month it is not yet overdue; the next day it is. */
	f->clock.wall_ms = T0 + 22LL * 24 * 60 * MIN; /* 2026-03-23 */
	assert_int_equal(fic_due_json(&t, f->store), FIC_OK);
	assert_null(strstr(t, "\"overdue\":\ttrue"));
	fic_free(t);
	f->clock.wall_ms = T0 + 23LL * 24 * 60 * MIN; /* 2026-03-24 */
	assert_int_equal(fic_due_json(&t, f->store), FIC_OK);
	assert_non_null(strstr(t, "\"overdue\":\ttrue"));
	fic_free(t);
	/* A closed site is never due. */
	assert_int_equal(fic_site_close(f->store, ids[4], "停产"), FIC_OK);
	assert_int_equal(fic_due_json(&t, f->store), FIC_OK);
	j = cJSON_Parse(t);
	fic_free(t);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "areas"),
	                                                        "occupational")), 0);
	cJSON_Delete(j);
}

/* A finished patrol dated `date` (the day a visit counts for). */
static void patrol_on(fixture *f, const char *site_id, const char *checklist, const char *date)
{
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_inspection_start(id, f->store, site_id, checklist), FIC_OK);
	char sql[300];
	snprintf(sql, sizeof sql, "UPDATE inspections SET state = 'finished', inspection_date = '%s' "
	                          "WHERE id = '%s'", date, id);
	assert_int_equal(sqlite3_exec(f->store->db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static cJSON *parsed(char *text)
{
	cJSON *j = cJSON_Parse(text);
	fic_free(text);
	assert_non_null(j);
	return j;
}

/* Every item of an area's pages, `limit` at a time, following the cursors. */
static cJSON *all_pages(fixture *f, const char *area, size_t limit, int *pages)
{
	cJSON *items = cJSON_CreateArray();
	char *cursor = NULL;
	*pages = 0;
	for (;;) {
		char *t;
		assert_int_equal(fic_due_page_json(&t, f->store, area, cursor, limit), FIC_OK);
		cJSON *page = parsed(t);
		(*pages)++;
		assert_string_equal(cJSON_GetObjectItem(page, "area")->valuestring, area);
		cJSON *it;
		assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(page, "items")) <= (int)limit);
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(page, "items"))
			cJSON_AddItemToArray(items, cJSON_Duplicate(it, 1));
		free(cursor);
		cJSON *next = cJSON_GetObjectItem(page, "next");
		cursor = cJSON_IsString(next) ? strdup(next->valuestring) : NULL;
		if (cursor) /* a page with a next is full */
			assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(page, "items")), (int)limit);
		cJSON_Delete(page);
		if (cursor == NULL)
			return items;
		assert_true(*pages < 100);
	}
}

static int index_of(const cJSON *list, const char *site_id)
{
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, list) {
		if (strcmp(cJSON_GetObjectItem(it, "site_id")->valuestring, site_id) == 0)
			return i;
		i++;
	}
	return -1;
}

static void due_summary_and_pages_agree_with_the_whole_list(void **state)
{
	fixture *f = *state;
	assert_int_equal(fic_setting_set(f->store, "semester_starts", "2026-02-23,2026-09-01"), FIC_OK);
	/* Eleven schools: never patrolled, patrolled last year, once, twice this
	 * year; visited or not in the semester's first month; one closed. */
	static const struct { const char *name; const char *dates[3]; } schools[] = {
		{ "甲小学", { NULL } },
		{ "乙小学", { "2025-05-10", NULL } },
		{ "丙小学", { "2025-11-20", NULL } },
		{ "丁小学", { "2026-01-05", NULL } },
		{ "戊小学", { "2026-01-05", "2026-02-25", NULL } }, /* two: not due; visited */
		{ "己小学", { "2025-03-01", "2026-02-24", NULL } }, /* one this year; visited */
		{ "庚小学", { NULL } },
		{ "辛小学", { "2024-09-09", NULL } },
		{ "壬小学", { "2026-02-01", "2026-02-02", "2026-02-03" } }, /* not due; not visited */
		{ "癸小学", { "2025-05-10", NULL } },
		{ "关闭的小学", { NULL } },
	};
	char ids[11][FIC_UUID_BUFSIZE];
	for (int i = 0; i < 11; i++) {
		fic_site s = FIC_SITE_INIT;
		s.kind = FIC_SITE_SCHOOL;
		s.name = schools[i].name;
		fic_site *o;
		assert_int_equal(fic_site_add(&o, f->store, &s, NULL), FIC_OK);
		strcpy(ids[i], o->id);
		fic_site_free(o);
		for (int d = 0; d < 3 && schools[i].dates[d]; d++)
			patrol_on(f, ids[i], "school.disease_control", schools[i].dates[d]);
	}
	assert_int_equal(fic_site_close(f->store, ids[10], "撤并"), FIC_OK);
	fic_site w = FIC_SITE_INIT;
	w.kind = FIC_SITE_WATER_RURAL;
	w.name = "水厂";
	assert_int_equal(fic_site_add(NULL, f->store, &w, NULL), FIC_OK);

	char *t;
	assert_int_equal(fic_due_json(&t, f->store), FIC_OK);
	cJSON *whole = parsed(t);
	assert_int_equal(fic_due_summary_json(&t, f->store), FIC_OK);
	cJSON *sum = parsed(t);
	assert_string_equal(cJSON_GetObjectItem(sum, "today")->valuestring, "2026-03-01");
	assert_int_equal(cJSON_GetObjectItem(sum, "patrols_required_per_year")->valueint, 2);
	static const char *const areas[] = { "drinking_water", "school", "medical_blood", "mch",
		                             "occupational" };
	for (int a = 0; a < 5; a++) {
		cJSON *listed = cJSON_GetObjectItem(cJSON_GetObjectItem(whole, "areas"), areas[a]);
		cJSON *counts = cJSON_GetObjectItem(cJSON_GetObjectItem(sum, "areas"), areas[a]);
		assert_int_equal(cJSON_GetObjectItem(counts, "due")->valueint, cJSON_GetArraySize(listed));
		for (int limit = 1; limit <= 4; limit += 3) {
			int pages;
			cJSON *paged = all_pages(f, areas[a], (size_t)limit, &pages);
			/* The same sites as the whole list, each once. */
			assert_int_equal(cJSON_GetArraySize(paged), cJSON_GetArraySize(listed));
			cJSON *it;
			cJSON_ArrayForEach(it, listed) {
				const char *id = cJSON_GetObjectItem(it, "site_id")->valuestring;
				int at = index_of(paged, id);
				assert_true(at >= 0);
				assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(paged, at),
				                                     "patrols_this_year")->valueint,
				                 cJSON_GetObjectItem(it, "patrols_this_year")->valueint);
			}
			cJSON_Delete(paged);
		}
	}
	cJSON *school = cJSON_GetObjectItem(cJSON_GetObjectItem(sum, "areas"), "school");
	assert_int_equal(cJSON_GetObjectItem(school, "open_sites")->valueint, 10);
	assert_int_equal(cJSON_GetObjectItem(school, "due")->valueint, 8);
	assert_int_equal(cJSON_GetObjectItem(school, "not_patrolled_this_year")->valueint, 6);
	/* Most overdue first: never patrolled by name, then by the last patrol. */
	int pages;
	cJSON *order = all_pages(f, "school", 3, &pages);
	assert_int_equal(pages, 3);
	static const int expect[] = { 6, 0, 7, 1, 9, 2, 3, 5 }; /* 庚 < 甲 by code point */
	for (int i = 0; i < 8; i++)
		assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(order, i), "site_id")->valuestring,
		                    ids[expect[i]]);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(order, 0), "last_patrol")));
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(order, 2), "last_patrol")->valuestring,
	                    "2024-09-09");
	cJSON_Delete(order);
	/* The semester: the same schools as the whole list's, overdue once its month is over. */
	cJSON *sem = cJSON_GetObjectItem(sum, "semester");
	assert_string_equal(cJSON_GetObjectItem(sem, "start")->valuestring, "2026-02-23");
	assert_int_equal(cJSON_GetObjectItem(sem, "schools_not_visited")->valueint,
	                 cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(whole, "semester"),
	                                                        "schools_not_visited")));
	assert_int_equal(cJSON_GetObjectItem(sem, "schools_not_visited")->valueint, 8);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(sem, "overdue")));
	cJSON *sp = all_pages(f, "school_semester", 2, &pages);
	assert_int_equal(cJSON_GetArraySize(sp), 8); /* 壬's three visits were before the semester */
	assert_true(index_of(sp, ids[4]) < 0 && index_of(sp, ids[5]) < 0 && index_of(sp, ids[8]) >= 0);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(sp, 0), "overdue")));
	cJSON_Delete(sp);
	f->clock.wall_ms = T0 + 23LL * 24 * 60 * MIN; /* 2026-03-24 */
	sp = all_pages(f, "school_semester", 50, &pages);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(sp, 0), "overdue")));
	cJSON_Delete(sp);
	cJSON_Delete(sum);
	cJSON_Delete(whole);
	/* Without a semester: no semester in the summary, an empty page. */
	assert_int_equal(sqlite3_exec(f->store->db, "DELETE FROM settings WHERE key = 'semester_starts'",
	                              NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(fic_due_summary_json(&t, f->store), FIC_OK);
	sum = parsed(t);
	assert_null(cJSON_GetObjectItem(sum, "semester"));
	cJSON_Delete(sum);
	assert_int_equal(fic_due_page_json(&t, f->store, "school_semester", NULL, 10), FIC_OK);
	cJSON *page = parsed(t);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(page, "items")), 0);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(page, "semester_start")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(page, "first_month_ends")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(page, "next")));
	cJSON_Delete(page);
}

static void due_pages_refuse_bad_arguments(void **state)
{
	fixture *f = *state;
	char *t = (char *)"untouched";
	assert_int_equal(fic_due_summary_json(NULL, f->store), FIC_EINVAL);
	assert_int_equal(fic_due_summary_json(&t, NULL), FIC_EINVAL);
	assert_null(t);
	t = (char *)"untouched";
	assert_int_equal(fic_due_page_json(NULL, f->store, "school", NULL, 10), FIC_EINVAL);
	assert_int_equal(fic_due_page_json(&t, NULL, "school", NULL, 10), FIC_EINVAL);
	assert_null(t);
	assert_int_equal(fic_due_page_json(&t, f->store, NULL, NULL, 10), FIC_EINVAL);
	assert_int_equal(fic_due_page_json(&t, f->store, "", NULL, 10), FIC_EINVAL);
	assert_int_equal(fic_due_page_json(&t, f->store, "schools", NULL, 10), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "school_semester"));
	char big[2048];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(fic_due_page_json(&t, f->store, big, NULL, 10), FIC_ETOOBIG);
	assert_int_equal(fic_due_page_json(&t, f->store, "school\xC3", NULL, 10), FIC_EINVAL);
	assert_int_equal(fic_due_page_json(&t, f->store, "school", NULL, 0), FIC_EINVAL);
	assert_int_equal(fic_due_page_json(&t, f->store, "school", NULL, FIC_DUE_PAGE_MAX + 1),
	                 FIC_EINVAL);
	assert_int_equal(fic_due_page_json(&t, f->store, "school", big, 10), FIC_ETOOBIG);
	static const char *const bad_cursors[] = {
		"x", "[]", "[null,\"a\"]", "[1,\"a\",\"b\"]", "[null,\"a\",2]", "{\"a\":1}",
		"[null,\"a\",\"b\",\"c\"]", "[\"2026-01-01-and-more\",\"a\",\"b\"]", "\xFF",
	};
	for (size_t i = 0; i < sizeof bad_cursors / sizeof bad_cursors[0]; i++) {
		assert_int_equal(fic_due_page_json(&t, f->store, "school", bad_cursors[i], 10), FIC_EINVAL);
		assert_null(t);
	}
	/* The first page, from NULL or "", and a cursor of the right shape. */
	assert_int_equal(fic_due_page_json(&t, f->store, "school", "", FIC_DUE_PAGE_MAX), FIC_OK);
	fic_free(t);
	assert_int_equal(fic_due_page_json(&t, f->store, "mch", "[null,\"\",\"\"]", 1), FIC_OK);
	fic_free(t);
}

static void indicators_count_reports_and_patrols(void **state)
{
	fixture *f = *state;
	char *t;
	assert_int_equal(fic_stats_json(&t, f->store, 0), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	assert_int_equal(cJSON_GetObjectItem(j, "year")->valueint, 2026);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "report_rate_percent")));
	cJSON_Delete(j);
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL, 0, 0), FIC_OK);
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL, 0, 0), FIC_OK);
	/* One discovered lead kept as a draft, not reported: 2 of 3 reported. */
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL, 0, FIC_LEAD_DRAFT),
	                 FIC_OK);
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "水厂";
	fic_site *site;
	assert_int_equal(fic_site_add(&site, f->store, &s, NULL), FIC_OK);
	finish_patrol(f, site->id, "water.rural");
	finish_patrol(f, site->id, "water.field_test");
	fic_site_free(site);
	assert_int_equal(fic_stats_json(&t, f->store, 2026), FIC_OK);
	j = cJSON_Parse(t);
	fic_free(t);
	assert_int_equal(cJSON_GetObjectItem(j, "leads_discovered")->valueint, 3);
	assert_int_equal(cJSON_GetObjectItem(j, "leads_reported")->valueint, 2);
	assert_true(cJSON_GetObjectItem(j, "report_rate_percent")->valuedouble > 66.66 &&
	            cJSON_GetObjectItem(j, "report_rate_percent")->valuedouble < 66.67);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "patrols"), "drinking_water")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "patrols"), "school")->valueint, 0);
	cJSON_Delete(j);
	assert_int_equal(fic_stats_json(&t, f->store, 2025), FIC_OK);
	assert_non_null(strstr(t, "\"leads_discovered\":\t0"));
	fic_free(t);
	assert_int_equal(fic_stats_json(&t, f->store, 1999), FIC_EINVAL);
	assert_int_equal(fic_stats_json(&t, f->store, 2999), FIC_EINVAL);
	assert_int_equal(fic_stats_json(&t, f->store, 2998), FIC_OK);
	fic_free(t);
	assert_int_equal(fic_stats_json(NULL, f->store, 0), FIC_EINVAL);
	assert_int_equal(fic_due_json(NULL, f->store), FIC_EINVAL);
	assert_int_equal(fic_task_list_json(&t, NULL), FIC_EINVAL);
}

/* ---- informants' details sealed at submission (issue #12) ---- */

#define INFORMANT_PHONE "13907770451"
#define INFORMANT_NAME "欧阳秀珍"
static const char tip_with_informant[] =
	"{\"source\":\"phone\",\"subject\":\"illegal_practice\",\"place\":\"集市西口\","
	"\"description\":\"游医摆摊\",\"time_sensitive\":\"no\",\"verified\":\"yes\","
	"\"informant_name\":\"" INFORMANT_NAME "\",\"informant_phone\":\"" INFORMANT_PHONE "\"}";

static char *text_of(fixture *f, const char *sql, const char *id)
{
	char buf[65536];
	assert_int_equal(fic__query_text(f->store, buf, sizeof buf, sql, "test", "t", id), FIC_OK);
	return strdup(buf);
}

static void personal_answers_are_sealed_at_submission_and_only_the_county_opens_them(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "lead.tip_off", tip_with_informant, NULL, 0,
	                               FIC_LEAD_DRAFT), FIC_OK);
	/* A draft is the inspector's to read and change. */
	cJSON *j = lead_json(f, id);
	cJSON *answers = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "content"), "answers");
	assert_string_equal(cJSON_GetObjectItem(answers, "informant_phone")->valuestring,
	                    INFORMANT_PHONE);
	cJSON_Delete(j);
	assert_int_equal(fic_lead_submit(f->store, id), FIC_OK);
	/* Submitted: the answers no longer hold them; the sealed block names them. */
	j = lead_json(f, id);
	cJSON *content = cJSON_GetObjectItem(j, "content");
	answers = cJSON_GetObjectItem(content, "answers");
	assert_null(cJSON_GetObjectItem(answers, "informant_phone"));
	assert_null(cJSON_GetObjectItem(answers, "informant_name"));
	assert_string_equal(cJSON_GetObjectItem(answers, "place")->valuestring, "集市西口");
	cJSON *sealed = cJSON_GetObjectItem(content, "sealed");
	assert_non_null(sealed);
	assert_string_equal(cJSON_GetObjectItem(sealed, "alg")->valuestring, "crypto_box_seal");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(sealed, "items")), 2);
	fic__county_key key;
	assert_int_equal(fic__county_key_get(f->store, &key), FIC_OK);
	assert_string_equal(cJSON_GetObjectItem(sealed, "key_id")->valuestring, key.id);
	/* The county's private key opens the box to exactly what was sealed. */
	char *plain = tu_unseal(cJSON_GetObjectItem(sealed, "box")->valuestring);
	assert_non_null(plain);
	cJSON *opened = cJSON_Parse(plain);
	assert_string_equal(cJSON_GetObjectItem(opened, "informant_phone")->valuestring,
	                    INFORMANT_PHONE);
	assert_string_equal(cJSON_GetObjectItem(opened, "informant_name")->valuestring,
	                    INFORMANT_NAME);
	cJSON_Delete(opened);
	free(plain);
	cJSON_Delete(j);
	/* Nowhere in clear: the lead, its chain entry, its upload record. */
	const char *where[] = { "SELECT content FROM leads WHERE id = ?1",
		                "SELECT canonical FROM chain WHERE record_id = ?1",
		                "SELECT payload FROM outbox WHERE record_id = ?1" };
	for (int i = 0; i < 3; i++) {
		char *t = text_of(f, where[i], id);
		assert_null(strstr(t, INFORMANT_PHONE));
		assert_null(strstr(t, INFORMANT_NAME));
		assert_non_null(strstr(t, "sealed"));
		free(t);
	}
	/* The list says so; the chain, which covers the box, verifies. */
	fic_lead_list *l;
	assert_int_equal(fic_lead_list_get(&l, f->store, 0), FIC_OK);
	assert_int_equal(fic_lead_list_at(l, 0)->sealed, 2);
	fic_lead_list_free(l);
	char *report = NULL;
	if (fic_evidence_verify(&report, f->store) != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	fic_free(report);
	/* The audit entry says how many, never what. */
	fic_audit_list *a;
	assert_int_equal(fic_audit_list_get(&a, f->store, id, 0), FIC_OK);
	for (size_t i = 0; i < a->count; i++)
		assert_null(strstr(fic_audit_list_at(a, i)->detail, INFORMANT_PHONE));
	fic_audit_list_free(a);
}

static void a_lead_with_personal_answers_waits_for_a_county_key(void **state)
{
	fixture *f = *state;
	assert_int_equal(fic__county_key_forget(f->store), FIC_OK);
	char id[FIC_UUID_BUFSIZE];
	/* Filed to go at once: refused whole, nothing filed. */
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL, 0,
	                               0), FIC_ESTATE);
	assert_non_null(strstr(fic_error_last()->message, "no county key"));
	int64_t n = -1;
	assert_int_equal(fic__query_int(f->store, &n, "SELECT count(*) FROM leads", "test", ""),
	                 FIC_OK);
	assert_int_equal(n, 0);
	/* As a draft it waits, readable; submitting is refused until a key is pinned. */
	assert_int_equal(fic_lead_file(id, f->store, "lead.tip_off", tip_with_informant, NULL, 0,
	                               FIC_LEAD_DRAFT), FIC_OK);
	assert_int_equal(fic_lead_submit(f->store, id), FIC_ESTATE);
	char state_[16];
	assert_int_equal(fic__query_text(f->store, state_, sizeof state_, "SELECT state FROM leads "
	                                 "WHERE id = ?1", "test", "t", id), FIC_OK);
	assert_string_equal(state_, "draft");
	/* A tip-off without an informant's details needs no key. */
	char other[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(other, f->store, "lead.tip_off", tu_tip_off_answers, NULL, 0,
	                               0), FIC_OK);
	/* Enrolled (the key pinned): it goes. */
	assert_int_equal(tu_pin_county_key(f->store), FIC_OK);
	assert_int_equal(fic_lead_submit(f->store, id), FIC_OK);
	fic_lead_list *l;
	assert_int_equal(fic_lead_list_get(&l, f->store, 0), FIC_OK);
	for (size_t i = 0; i < l->count; i++)
		assert_int_equal(fic_lead_list_at(l, i)->sealed,
		                 strcmp(fic_lead_list_at(l, i)->id, id) == 0 ? 2 : 0);
	fic_lead_list_free(l);
}

static void a_pinned_county_key_is_not_replaced_by_another(void **state)
{
	fixture *f = *state;
	fic__county_key before;
	assert_int_equal(fic__county_key_get(f->store, &before), FIC_OK);
	/* The same key again is fine; another is refused. */
	char text[FIC_COUNTY_KEY_TEXT];
	fic__county_key_text(before.pk, text);
	assert_int_equal(fic__tx_begin(f->store), FIC_OK);
	assert_int_equal(fic__tx_end(f->store, fic__county_key_pin(f->store, text, "石柱县")), FIC_OK);
	unsigned char other[32];
	memset(other, 7, sizeof other);
	fic__county_key_text(other, text);
	assert_int_equal(fic__tx_begin(f->store), FIC_OK);
	assert_int_equal(fic__tx_end(f->store, fic__county_key_pin(f->store, text, "石柱县")),
	                 FIC_ESTATE);
	fic__county_key after;
	assert_int_equal(fic__county_key_get(f->store, &after), FIC_OK);
	assert_string_equal(after.id, before.id);
	/* A malformed key is refused. */
	assert_int_equal(fic__county_key_pin(f->store, "not base64!", "石柱县"), FIC_EINVAL);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(a_foodborne_report_goes_to_the_cdc_within_two_hours),
		T(every_two_hour_form_files_an_urgent_lead),
		T(form_answers_are_validated_like_inspection_answers),
		T(leads_list_urgent_first_by_time_left),
		T(a_time_sensitive_tip_off_creates_a_reinspection_within_a_month),
		T(an_agency_task_is_listed_with_its_due_date),
		T(settings_are_validated),
		T(the_due_list_counts_patrols_per_area_and_semester_visits),
		T(indicators_count_reports_and_patrols),
		T(due_summary_and_pages_agree_with_the_whole_list),
		T(due_pages_refuse_bad_arguments),
		T(personal_answers_are_sealed_at_submission_and_only_the_county_opens_them),
		T(a_lead_with_personal_answers_waits_for_a_county_key),
		T(a_pinned_county_key_is_not_replaced_by_another),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
