/*
 * tests/core/test_inspection.c — running a patrol: starting on the right
 * kind of site, answers of every type validated, notes, site findings,
 * finishing (refused while incomplete), findings grouped into leads, the
 * inspection opinion, and everything frozen once finished.
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

static int setup(void **state)
{
	*state = tu_fixture_new("协管员李明");
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	tu_fixture_free(*state);
	return 0;
}

static void add_site(fixture *f, int kind, const char *name, char id[FIC_UUID_BUFSIZE])
{
	fic_site s = FIC_SITE_INIT;
	s.kind = kind;
	s.name = name;
	s.address = "某镇某路 1 号";
	if (kind == FIC_SITE_SCHOOL) {
		s.school_level = FIC_SCHOOL_PRIMARY;
		s.boarding = 1;
		s.enrolment = 640;
	}
	fic_site *out;
	assert_int_equal(fic_site_add(&out, f->store, &s, NULL), FIC_OK);
	strcpy(id, out->id);
	fic_site_free(out);
}

static cJSON *insp_json(fixture *f, const char *id)
{
	char *t;
	assert_int_equal(fic_inspection_get_json(&t, f->store, id), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	assert_non_null(j);
	return j;
}

static cJSON *item_of(cJSON *j, const char *item)
{
	cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "items")) {
		if (strcmp(cJSON_GetObjectItem(it, "id")->valuestring, item) == 0)
			return it;
	}
	fail_msg("no item %s", item);
	return NULL;
}

static void attach_photo_row(fixture *f, const char *insp, const char *item)
{
	char sql[512];
	snprintf(sql, sizeof sql, "INSERT INTO photos (id, owner_type, owner_id, item_id, sha256, "
	         "file_name, bytes, created_at_ms) VALUES (lower(hex(randomblob(16))), 'inspection', "
	         "'%s', '%s', 'x', 'x.jpg', 1, 0)", insp, item);
	assert_int_equal(sqlite3_exec(f->store->db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static int64_t count(fixture *f, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void start_checks_the_site_and_the_checklist(void **state)
{
	fixture *f = *state;
	char school[FIC_UUID_BUFSIZE], plant[FIC_UUID_BUFSIZE], id[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_SCHOOL, "中心小学", school);
	add_site(f, FIC_SITE_WATER_RURAL, "水厂", plant);
	assert_int_equal(fic_inspection_start(id, f->store, school, "water.rural"), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "not for a site of kind school"));
	assert_int_equal(fic_inspection_start(id, f->store, school, "event.school_cluster"), FIC_EINVAL);
	assert_int_equal(fic_inspection_start(id, f->store, school, "no.such"), FIC_ENOTFOUND);
	assert_int_equal(fic_inspection_start(id, f->store, "01900000-0000-7000-8000-000000000000",
	                                      "water.rural"), FIC_ENOTFOUND);
	assert_int_equal(fic_inspection_start(NULL, f->store, school, "school.water"), FIC_EINVAL);
	assert_int_equal(fic_inspection_start(id, NULL, school, "school.water"), FIC_EINVAL);
	assert_int_equal(fic_inspection_start(id, f->store, NULL, "school.water"), FIC_EINVAL);
	assert_int_equal(fic_inspection_start(id, f->store, school, ""), FIC_EINVAL);
	assert_int_equal(fic_site_close(f->store, plant, "停产"), FIC_OK);
	assert_int_equal(fic_inspection_start(id, f->store, plant, "water.rural"), FIC_ESTATE);
	assert_int_equal(count(f, "SELECT count(*) FROM inspections"), 0);
	/* The water test is offered for a school too. */
	assert_int_equal(fic_inspection_start(id, f->store, school, "water.field_test"), FIC_OK);
	assert_int_equal(strlen(id), 36);
}

static void registry_facts_prefill_answers_and_are_snapshotted(void **state)
{
	fixture *f = *state;
	char school[FIC_UUID_BUFSIZE], id[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_SCHOOL, "寄宿小学", school);
	assert_int_equal(fic_inspection_start(id, f->store, school, "school.disease_control"), FIC_OK);
	cJSON *j = insp_json(f, id);
	assert_string_equal(cJSON_GetObjectItem(item_of(j, "boarding"), "answer")->valuestring, "yes");
	assert_int_equal(cJSON_GetObjectItem(item_of(j, "enrolment"), "answer")->valueint, 640);
	assert_string_equal(cJSON_GetObjectItem(item_of(j, "school_level"), "answer")->valuestring,
	                    "primary");
	/* Boarding: a clinic is required, a health room is not asked. */
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(item_of(j, "has_clinic"), "applies")));
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(item_of(j, "has_health_room"), "applies")));
	assert_string_equal(cJSON_GetObjectItem(j, "date")->valuestring, "2026-03-01");
	assert_string_equal(cJSON_GetObjectItem(j, "inspector")->valuestring, "协管员李明");
	cJSON_Delete(j);
	/* The inspector corrects the registry's figure; the site record is untouched. */
	assert_int_equal(fic_inspection_answer(f->store, id, "boarding", "no"), FIC_OK);
	assert_int_equal(fic_inspection_answer(f->store, id, "enrolment", "450"), FIC_OK);
	j = insp_json(f, id);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(item_of(j, "has_clinic"), "applies")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(item_of(j, "has_health_room"), "applies")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "site"), "boarding")));
	cJSON_Delete(j);
}

static void every_answer_type_is_validated(void **state)
{
	fixture *f = *state;
	char school[FIC_UUID_BUFSIZE], emp[FIC_UUID_BUFSIZE], id[FIC_UUID_BUFSIZE], oid[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_SCHOOL, "学校", school);
	add_site(f, FIC_SITE_EMPLOYER, "煤矿", emp);
	assert_int_equal(fic_inspection_start(id, f->store, school, "school.water"), FIC_OK);
	assert_int_equal(fic_inspection_start(oid, f->store, emp, "occupational.patrol"), FIC_OK);
	struct { const char *insp, *item, *value; int rc; } cases[] = {
		/* multi */
		{ id, "supply_types", "own_supply,bottled", FIC_OK },
		{ id, "supply_types", "own_supply,own_supply", FIC_EINVAL },
		{ id, "supply_types", "tap_water", FIC_EINVAL },
		{ id, "supply_types", "", FIC_OK },
		/* yes_no, with and without na */
		{ oid, "hazard_declared", "maybe", FIC_EINVAL },
		{ oid, "hazard_declared", "YES", FIC_EINVAL },
		{ oid, "hazard_declared", "na", FIC_EINVAL },
		{ oid, "hazard_declared", "no", FIC_OK },
		/* choice */
		{ oid, "hazard_level", "extreme", FIC_EINVAL },
		{ oid, "hazard_level", "severe", FIC_OK },
		/* date */
		{ oid, "last_factor_testing", "2026-02-30", FIC_EINVAL },
		{ oid, "last_factor_testing", "yesterday", FIC_EINVAL },
		{ oid, "last_factor_testing", "2026-03-02", FIC_EINVAL }, /* after the inspection */
		{ oid, "last_factor_testing", "2026-03-01", FIC_OK },
		/* unknown item, bad UTF-8, empty */
		{ oid, "no_such_item", "yes", FIC_ENOTFOUND },
		{ oid, "hazard_declared", "\xC3", FIC_EINVAL },
		{ oid, "hazard_declared", "", FIC_EINVAL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = fic_inspection_answer(f->store, cases[i].insp, cases[i].item, cases[i].value);
		if (rc != cases[i].rc)
			fail_msg("case %zu (%s=%s): got %d (%s), wanted %d", i, cases[i].item,
			         cases[i].value, rc, fic_error_last()->message, cases[i].rc);
	}
	cJSON *j = insp_json(f, oid);
	assert_string_equal(cJSON_GetObjectItem(item_of(j, "hazard_declared"), "answer")->valuestring, "no");
	assert_string_equal(cJSON_GetObjectItem(item_of(j, "last_factor_testing"), "answer")->valuestring,
	                    "2026-03-01");
	cJSON_Delete(j);
	/* Clearing an answer. */
	assert_int_equal(fic_inspection_answer(f->store, oid, "hazard_declared", NULL), FIC_OK);
	j = insp_json(f, oid);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(item_of(j, "hazard_declared"), "answer")));
	cJSON_Delete(j);
	/* NULL handles and ids. */
	assert_int_equal(fic_inspection_answer(NULL, oid, "hazard_declared", "yes"), FIC_EINVAL);
	assert_int_equal(fic_inspection_answer(f->store, NULL, "hazard_declared", "yes"), FIC_EINVAL);
	assert_int_equal(fic_inspection_answer(f->store, oid, NULL, "yes"), FIC_EINVAL);
	assert_int_equal(fic_inspection_answer(f->store, "nope", "hazard_declared", "yes"), FIC_ENOTFOUND);
	/* An oversized text answer. */
	char big[5000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(fic_inspection_answer(f->store, id, "supply_types", big), FIC_ETOOBIG);
}

static void notes_attach_to_any_item(void **state)
{
	fixture *f = *state;
	char plant[FIC_UUID_BUFSIZE], id[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_WATER_RURAL, "水厂", plant);
	assert_int_equal(fic_inspection_start(id, f->store, plant, "water.rural"), FIC_OK);
	assert_int_equal(fic_inspection_note(f->store, id, "tank_locked", "锁已锈坏"), FIC_OK);
	assert_int_equal(fic_inspection_answer(f->store, id, "tank_locked", "no"), FIC_OK);
	cJSON *j = insp_json(f, id);
	cJSON *it = item_of(j, "tank_locked");
	assert_string_equal(cJSON_GetObjectItem(it, "note")->valuestring, "锁已锈坏");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(it, "abnormal")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(it, "needs_photo")));
	cJSON_Delete(j);
	char big[2100];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(fic_inspection_note(f->store, id, "tank_locked", big), FIC_ETOOBIG);
	assert_int_equal(fic_inspection_note(f->store, id, "nope", "x"), FIC_ENOTFOUND);
	assert_int_equal(fic_inspection_note(f->store, id, "tank_locked", NULL), FIC_OK);
	j = insp_json(f, id);
	assert_null(cJSON_GetObjectItem(item_of(j, "tank_locked"), "note"));
	cJSON_Delete(j);
}

/* Answer every applicable item of a water.rural patrol as compliant. */
static void answer_rural_ok(fixture *f, const char *id)
{
	const char *yes[] = { "licence_held", "licence_matches", "staff_health_cert", "staff_trained",
		              "rules_in_place", "incident_reporter", "source_zone_clean",
		              "intake_100m_clear", "source_signs", "production_area_30m",
		              "products_approved", "treatment_working", "self_testing", "tank_locked" };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		assert_int_equal(fic_inspection_answer(f->store, id, yes[i], "yes"), FIC_OK);
	assert_int_equal(fic_inspection_answer(f->store, id, "licence_valid_to", "2027-12-31"), FIC_OK);
	assert_int_equal(fic_inspection_answer(f->store, id, "other_pollution_risk", "no"), FIC_OK);
}

static void finishing_waits_for_required_answers_and_photos(void **state)
{
	fixture *f = *state;
	char plant[FIC_UUID_BUFSIZE], id[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_WATER_RURAL, "石桥水厂", plant);
	assert_int_equal(fic_inspection_start(id, f->store, plant, "water.rural"), FIC_OK);
	assert_int_equal(fic_inspection_finish(NULL, f->store, id), FIC_EINCOMPLETE);
	assert_non_null(strstr(fic_error_last()->message, "licence_held"));
	answer_rural_ok(f, id);
	assert_int_equal(fic_inspection_answer(f->store, id, "tank_locked", "no"), FIC_OK);
	assert_int_equal(fic_inspection_answer(f->store, id, "self_testing", "no"), FIC_OK);
	assert_int_equal(fic_inspection_finish(NULL, f->store, id), FIC_EINCOMPLETE);
	assert_non_null(strstr(fic_error_last()->message, "without a photo"));
	assert_non_null(strstr(fic_error_last()->message, "tank_locked"));
	assert_int_equal(count(f, "SELECT count(*) FROM leads"), 0);
	attach_photo_row(f, id, "tank_locked");
	attach_photo_row(f, id, "self_testing");
	char *summary;
	assert_int_equal(fic_inspection_finish(&summary, f->store, id), FIC_OK);
	cJSON *s = cJSON_Parse(summary);
	fic_free(summary);
	assert_int_equal(cJSON_GetObjectItem(s, "findings")->valueint, 2);
	/* Two ordinary findings: one lead for the visit. */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "leads")), 1);
	cJSON_Delete(s);
	assert_int_equal(count(f, "SELECT count(*) FROM leads WHERE urgent = 0 AND category = "
	                          "'patrol_finding' AND state = 'queued'"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM outbox WHERE record_type = 'inspection'"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM outbox WHERE record_type = 'lead'"), 1);
	/* Frozen. */
	assert_int_equal(fic_inspection_answer(f->store, id, "tank_locked", "yes"), FIC_ESTATE);
	assert_int_equal(fic_inspection_note(f->store, id, "tank_locked", "x"), FIC_ESTATE);
	assert_int_equal(fic_inspection_finish(NULL, f->store, id), FIC_ESTATE);
	assert_int_equal(fic_inspection_report_site(f->store, id, FIC_FOUND_CLOSED, "x", NULL),
	                 FIC_ESTATE);
	cJSON *j = insp_json(f, id);
	assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "finished");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "findings")), 2);
	cJSON_Delete(j);
}

static void urgent_findings_become_their_own_leads(void **state)
{
	fixture *f = *state;
	char st[FIC_UUID_BUFSIZE], id[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_BLOOD_STATION, "某血站", st);
	assert_int_equal(fic_inspection_start(id, f->store, st, "blood.station"), FIC_OK);
	char *t;
	assert_int_equal(fic_checklist_get_json(&t, f->store, "blood.station", 0), FIC_OK);
	cJSON *def = cJSON_Parse(t);
	fic_free(t);
	/* Answer every item the compliant way, then break the two-hour one and one other. */
	cJSON *it;
	const char *urgent_item = NULL;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(def, "items")) {
		const char *iid = cJSON_GetObjectItem(it, "id")->valuestring;
		const char *type = cJSON_GetObjectItem(it, "type")->valuestring;
		cJSON *ab = cJSON_GetObjectItem(it, "abnormal");
		char *abs = ab ? cJSON_PrintUnformatted(ab) : NULL;
		const char *v = NULL;
		if (strcmp(type, "yes_no") == 0)
			v = abs && strstr(abs, "\"yes\"") ? "no" : "yes";
		else if (strcmp(type, "date") == 0)
			v = "2027-01-01";
		else if (strcmp(type, "text") == 0)
			v = "说明";
		free(abs);
		if (cJSON_IsTrue(cJSON_GetObjectItem(it, "urgent_when_abnormal")))
			urgent_item = iid;
		if (v)
			assert_int_equal(fic_inspection_answer(f->store, id, iid, v), FIC_OK);
	}
	assert_non_null(urgent_item);
	/* The two-hour finding is reported the moment it is recorded, not at finish. */
	int64_t found_at = f->clock.wall_ms;
	assert_int_equal(fic_inspection_answer(f->store, id, urgent_item, "yes"), FIC_OK);
	assert_int_equal(count(f, "SELECT count(*) FROM leads WHERE urgent = 1 AND state = 'queued'"), 1);
	/* Answering it again does not file it twice. */
	assert_int_equal(fic_inspection_answer(f->store, id, urgent_item, "yes"), FIC_OK);
	assert_int_equal(count(f, "SELECT count(*) FROM leads"), 1);
	assert_int_equal(fic_inspection_answer(f->store, id, "licence_valid_to", "2026-02-28"), FIC_OK);
	attach_photo_row(f, id, urgent_item);
	attach_photo_row(f, id, "licence_valid_to");
	f->clock.wall_ms += 3 * 60 * 60 * 1000LL; /* finished three hours later */
	f->clock.mono_ms += 3 * 60 * 60 * 1000LL;
	char *summary = NULL;
	int rc = fic_inspection_finish(&summary, f->store, id);
	if (rc != FIC_OK)
		fail_msg("finish: %s", fic_error_last()->message);
	cJSON_Delete(def);
	assert_int_equal(count(f, "SELECT count(*) FROM leads"), 2);
	/* The answer names both leads: the urgent one filed while answering
	 * (first, and listed as urgent) and the one filed now. */
	cJSON *sj = cJSON_Parse(summary);
	fic_free(summary);
	const cJSON *ls = cJSON_GetObjectItem(sj, "leads"), *us = cJSON_GetObjectItem(sj, "urgent_leads");
	assert_int_equal(cJSON_GetArraySize(ls), 2);
	assert_int_equal(cJSON_GetArraySize(us), 1);
	assert_string_equal(cJSON_GetArrayItem(ls, 0)->valuestring, cJSON_GetArrayItem(us, 0)->valuestring);
	char q[200];
	snprintf(q, sizeof q, "SELECT count(*) FROM leads WHERE urgent = 1 AND id = '%s'",
	         cJSON_GetArrayItem(us, 0)->valuestring);
	assert_int_equal(count(f, q), 1);
	cJSON_Delete(sj);
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM leads WHERE urgent = 1 AND deadline_at_ms = "
	         "%lld", (long long)(found_at + FIC_URGENT_DEADLINE_MS));
	assert_int_equal(count(f, sql), 1);
	f->clock.wall_ms = found_at;
	f->clock.mono_ms -= 3 * 60 * 60 * 1000LL;
	/* The urgent lead is first in the upload queue. */
	assert_int_equal(count(f, "SELECT priority FROM outbox WHERE state = 'pending' "
	                          "ORDER BY priority DESC, seq LIMIT 1"), 100);
	fic_lead_list *l;
	assert_int_equal(fic_lead_list_get(&l, f->store, 0), FIC_OK);
	assert_int_equal(l->count, 2);
	assert_true(l->entries[0].urgent);
	assert_int_equal(l->entries[0].remaining_ms, FIC_URGENT_DEADLINE_MS);
	assert_non_null(strstr(l->entries[0].title, "【紧急】"));
	assert_false(l->entries[1].urgent);
	fic_lead_list_free(l);
}

static void the_opinion_lists_findings_with_their_sections(void **state)
{
	fixture *f = *state;
	char plant[FIC_UUID_BUFSIZE], id[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_WATER_RURAL, "青杠水厂", plant);
	assert_int_equal(fic_inspection_start(id, f->store, plant, "water.rural"), FIC_OK);
	char *t;
	assert_int_equal(fic_inspection_opinion(&t, f->store, id, FIC_OPINION_TEXT), FIC_ESTATE);
	answer_rural_ok(f, id);
	assert_int_equal(fic_inspection_answer(f->store, id, "tank_locked", "no"), FIC_OK);
	assert_int_equal(fic_inspection_note(f->store, id, "tank_locked", "清水池盖板缺失"), FIC_OK);
	attach_photo_row(f, id, "tank_locked");
	assert_int_equal(fic_inspection_finish(NULL, f->store, id), FIC_OK);
	assert_int_equal(fic_inspection_opinion(&t, f->store, id, FIC_OPINION_TEXT), FIC_OK);
	assert_non_null(strstr(t, "巡查意见"));
	assert_non_null(strstr(t, "青杠水厂"));
	assert_non_null(strstr(t, "清水池未加盖上锁"));
	assert_non_null(strstr(t, "饮用水 3.1.9"));
	assert_non_null(strstr(t, "清水池盖板缺失"));
	assert_non_null(strstr(t, "2026-03-01"));
	fic_free(t);
	assert_int_equal(fic_inspection_opinion(&t, f->store, id, FIC_OPINION_JSON), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "findings")), 1);
	assert_string_equal(cJSON_GetObjectItem(j, "site")->valuestring, "青杠水厂");
	cJSON_Delete(j);
	assert_int_equal(fic_inspection_opinion(&t, f->store, id, 7), FIC_EINVAL);
	assert_int_equal(fic_inspection_opinion(NULL, f->store, id, FIC_OPINION_TEXT), FIC_EINVAL);
}

static void a_clean_patrol_files_no_lead(void **state)
{
	fixture *f = *state;
	char plant[FIC_UUID_BUFSIZE], id[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_WATER_RURAL, "合格水厂", plant);
	assert_int_equal(fic_inspection_start(id, f->store, plant, "water.rural"), FIC_OK);
	answer_rural_ok(f, id);
	assert_int_equal(fic_inspection_finish(NULL, f->store, id), FIC_OK);
	assert_int_equal(count(f, "SELECT count(*) FROM leads"), 0);
	char *t;
	assert_int_equal(fic_inspection_opinion(&t, f->store, id, FIC_OPINION_TEXT), FIC_OK);
	assert_non_null(strstr(t, "未发现异常"));
	fic_free(t);
}

static void site_findings_update_the_registry_and_file_a_lead(void **state)
{
	fixture *f = *state;
	char plant[FIC_UUID_BUFSIZE], school[FIC_UUID_BUFSIZE], a[FIC_UUID_BUFSIZE], b[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_WATER_RURAL, "关停水厂", plant);
	add_site(f, FIC_SITE_SCHOOL, "改名学校", school);
	assert_int_equal(fic_inspection_start(a, f->store, plant, "water.rural"), FIC_OK);
	assert_int_equal(fic_inspection_start(b, f->store, school, "school.disease_control"), FIC_OK);
	assert_int_equal(fic_inspection_report_site(f->store, a, FIC_FOUND_CLOSED, NULL, NULL), FIC_EINVAL);
	assert_int_equal(fic_inspection_report_site(f->store, a, 9, "x", NULL), FIC_EINVAL);
	assert_int_equal(fic_inspection_report_site(f->store, a, FIC_FOUND_CLOSED, "现场核实已停止供水",
	                                            NULL), FIC_OK);
	fic_site *s;
	assert_int_equal(fic_site_get(&s, f->store, plant), FIC_OK);
	assert_int_equal(s->status, FIC_SITE_CLOSED);
	fic_site_free(s);
	assert_int_equal(fic_site_get(&s, f->store, school), FIC_OK);
	fic_site ch = *s;
	ch.name = "改名后的学校";
	/* changes for another site are refused */
	fic_site wrong = ch;
	wrong.id = plant;
	assert_int_equal(fic_inspection_report_site(f->store, b, FIC_FOUND_CHANGED, "改名", &wrong),
	                 FIC_EINVAL);
	assert_int_equal(fic_inspection_report_site(f->store, b, FIC_FOUND_CHANGED, "学校更名", &ch),
	                 FIC_OK);
	fic_site_free(s);
	assert_int_equal(fic_site_get(&s, f->store, school), FIC_OK);
	assert_string_equal(s->name, "改名后的学校");
	fic_site_free(s);
	assert_int_equal(count(f, "SELECT count(*) FROM leads WHERE category = 'site_status'"), 2);
	cJSON *j = insp_json(f, a);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "site_finding"), "status")->valuestring,
	                    "closed");
	cJSON_Delete(j);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(start_checks_the_site_and_the_checklist),
		T(registry_facts_prefill_answers_and_are_snapshotted),
		T(every_answer_type_is_validated),
		T(notes_attach_to_any_item),
		T(finishing_waits_for_required_answers_and_photos),
		T(urgent_findings_become_their_own_leads),
		T(the_opinion_lists_findings_with_their_sections),
		T(a_clean_patrol_files_no_lead),
		T(site_findings_update_the_registry_and_file_a_lead),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
