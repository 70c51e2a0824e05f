/*
 * tests/core/test_year.c — the co-inspector's whole year (issue #14), each
 * workflow against the words of the guide (渝卫发〔2022〕8号 附件, sections
 * cited in every test): reports that must go immediately, re-inspection
 * tasks that open and close, tip-offs on the right clock, sites found
 * closed, the information report rate, and the records a co-inspector keeps
 * besides patrols.
 *
 * Through the public API, with the store's tables read directly only where
 * the API has no window (the outbox's order).
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

/* 2026-03-01T08:00Z = 16:00 in China (the fake platform's start). */
#define T0 1772352000000LL
#define MIN 60000LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static int setup(void **state)
{
	*state = tu_fixture_new("协管员-张敏");
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	tu_fixture_free(*state);
	return 0;
}

/* ---- helpers ---- */

#define OK_OR_FAIL(call) \
	do { \
		int rc_ = (call); \
		if (rc_ != FIC_OK) \
			fail_msg("%s: %d %s", #call, rc_, fic_error_last()->message); \
	} while (0)

static void add_site(fixture *f, int kind, const char *name, char *id_out)
{
	fic_site s = FIC_SITE_INIT;
	s.kind = kind;
	s.name = name;
	if (kind == FIC_SITE_MEDICAL || kind == FIC_SITE_MCH) {
		s.med_registration = FIC_MED_LICENSED;
		s.institution_type = kind == FIC_SITE_MCH ? FIC_INST_MCH_HOSPITAL : FIC_INST_GENERAL_HOSPITAL;
		s.beds = 120;
	}
	fic_site *out = NULL;
	OK_OR_FAIL(fic_site_add(&out, f->store, &s, "test"));
	snprintf(id_out, FIC_UUID_BUFSIZE, "%s", out->id);
	fic_site_free(out);
}

static void start(fixture *f, const char *site, const char *checklist, char *id_out)
{
	OK_OR_FAIL(fic_inspection_start(id_out, f->store, site, checklist));
}

static void answer(fixture *f, const char *insp, const char *item, const char *value)
{
	int rc = fic_inspection_answer(f->store, insp, item, value);
	if (rc != FIC_OK)
		fail_msg("answer %s = %s: %s", item, value ? value : "(clear)", fic_error_last()->message);
}

static void photo(fixture *f, int owner, const char *owner_id, const char *item)
{
	size_t len = 0;
	unsigned char *jpg = tu_make_jpeg(64, 48, 3, 0, 80, &len);
	assert_non_null(jpg);
	char id[FIC_UUID_BUFSIZE];
	OK_OR_FAIL(fic_photo_add_buffer(id, f->store, owner, owner_id, item, jpg, len, NULL));
	free(jpg);
}

static cJSON *parsed(char *text)
{
	assert_non_null(text);
	cJSON *j = cJSON_Parse(text);
	fic_free(text);
	assert_non_null(j);
	return j;
}

static cJSON *lead_json(fixture *f, const char *id)
{
	char *t = NULL;
	OK_OR_FAIL(fic_lead_get_json(&t, f->store, id));
	return parsed(t);
}

static const char *str(const cJSON *o, const char *k)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
	return v ? v : "";
}

static __attribute__((unused)) double num(const cJSON *o, const char *k)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* The record the sync engine sends first: the pending outbox row of highest priority. */
static void first_in_outbox(fixture *f, char *type, char *id, int *priority)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db,
	                                    "SELECT record_type, record_id, priority FROM outbox WHERE "
	                                    "state = 'pending' ORDER BY priority DESC, seq LIMIT 1",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(type, 32, "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(id, FIC_UUID_BUFSIZE, "%s", (const char *)sqlite3_column_text(st, 1));
	*priority = sqlite3_column_int(st, 2);
	sqlite3_finalize(st);
}

static const char two_non_answers[] =
	"{\"kind\":\"sex_determination\",\"place\":\"镇东诊所\",\"provider\":\"诊所医生\","
	"\"description\":\"群众反映可做B超鉴定胎儿性别\",\"verified\":\"yes\"}";

/* ==== 非法行医 3.4: re-inspection ==== */

/*
 * 非法行医 3.4.1: a time-sensitive lead (a street "doctor" stall) is
 * re-inspected within a month, and "再次发现同一违法线索立即报告" — the
 * same violation found again is reported immediately. Not within two hours:
 * at once. Its lead has no grace (its deadline is the moment it was found,
 * so it is overdue and at risk from then on) and is sent before a two-hour
 * lead filed earlier.
 */
static void the_same_violation_found_again_is_reported_immediately(void **state)
{
	fixture *f = *state;
	char venue[FIC_UUID_BUFSIZE], insp[FIC_UUID_BUFSIZE], two_non[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_OTHER_VENUE, "青杠场镇集贸市场", venue);
	OK_OR_FAIL(fic_lead_file(two_non, f->store, "event.two_non", two_non_answers, NULL, 0, 0));
	f->clock.wall_ms += 10 * MIN;
	int64_t found = f->clock.wall_ms;
	start(f, venue, "medical.reinspection", insp);
	answer(f, insp, "reason", "time_sensitive_lead");
	answer(f, insp, "same_violation_again", "yes");

	fic_lead_list *l = NULL;
	OK_OR_FAIL(fic_lead_list_get(&l, f->store, 0));
	assert_int_equal(l->count, 2);
	const fic_lead_info *now = &l->entries[0];
	assert_int_equal(now->urgent, FIC_URGENCY_IMMEDIATE); /* first in the list */
	assert_int_equal(now->deadline_at_ms, found);         /* no two-hour grace */
	assert_true(now->remaining_ms <= 0);                  /* overdue the moment it is found */
	assert_true(now->at_risk);
	assert_int_equal(l->entries[1].urgent, FIC_URGENCY_TWO_HOURS);
	assert_int_equal(l->entries[1].remaining_ms, FIC_URGENT_DEADLINE_MS - 10 * MIN);
	cJSON *j = lead_json(f, now->id);
	assert_string_equal(str(j, "urgency"), "immediate");
	assert_non_null(strstr(str(j, "title"), "立即报告"));
	const cJSON *finding = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "content"), "findings"), 0);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(finding, "sections"), 0)->valuestring,
	                    "非法行医 3.4.1");
	cJSON_Delete(j);

	/* Sent first: before the two-hour lead filed ten minutes earlier. */
	char type[32], id[FIC_UUID_BUFSIZE];
	int prio = 0;
	first_in_outbox(f, type, id, &prio);
	assert_string_equal(type, "lead");
	assert_string_equal(id, now->id);
	assert_true(prio > 100);
	fic_lead_list_free(l);
}

/*
 * 非法行医 3.4.2: a re-inspection the agency assigns after closing a case is
 * done "在指定的时间内" — the guide gives it no reporting clock. A violation
 * still found is an ordinary finding (reported with the visit, 三(二)1), and
 * the immediate item does not apply.
 */
static void an_assigned_reinspection_has_no_reporting_clock(void **state)
{
	fixture *f = *state;
	char clinic[FIC_UUID_BUFSIZE], insp[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_MEDICAL, "青杠镇某诊所", clinic);
	start(f, clinic, "medical.reinspection", insp);
	answer(f, insp, "reason", "agency_task");
	assert_int_equal(fic_inspection_answer(f->store, insp, "violation_persists", "yes"), FIC_OK);
	fic_lead_list *l = NULL;
	OK_OR_FAIL(fic_lead_list_get(&l, f->store, 0));
	assert_int_equal(l->count, 0); /* nothing filed at once */
	fic_lead_list_free(l);
	photo(f, FIC_PHOTO_INSPECTION, insp, "violation_persists");
	char *summary = NULL;
	OK_OR_FAIL(fic_inspection_finish(&summary, f->store, insp));
	cJSON *s = parsed(summary);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(s, "leads")), 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(s, "urgent_leads")), 0);
	cJSON_Delete(s);
	char *text = NULL;
	OK_OR_FAIL(fic_inspection_get_json(&text, f->store, insp));
	cJSON *j = parsed(text);
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "items")) {
		if (strcmp(str(it, "id"), "same_violation_again") == 0)
			assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "applies")));
	}
	cJSON_Delete(j);
}

/* A definition cannot put one finding on both clocks, nor a clock on an item that is never abnormal. */
static void an_item_has_one_reporting_rule(void **state)
{
	fixture *f = *state;
	static const char both[] =
		"{\"id\":\"county.test.both\",\"version\":1,\"kind\":\"patrol\",\"area\":\"medical_blood\","
		"\"title\":{\"zh\":\"测\",\"en\":\"t\"},\"source\":\"test\",\"site_kinds\":[\"medical\"],"
		"\"items\":[{\"id\":\"a\",\"sections\":[\"非法行医 3.4.1\"],\"label\":{\"zh\":\"a\",\"en\":\"a\"},"
		"\"type\":\"yes_no\",\"abnormal\":{\"==\":[{\"var\":\"answer\"},\"yes\"]},"
		"\"urgent_when_abnormal\":true,\"immediate_when_abnormal\":true}]}";
	static const char never[] =
		"{\"id\":\"county.test.never\",\"version\":1,\"kind\":\"patrol\",\"area\":\"medical_blood\","
		"\"title\":{\"zh\":\"测\",\"en\":\"t\"},\"source\":\"test\",\"site_kinds\":[\"medical\"],"
		"\"items\":[{\"id\":\"a\",\"sections\":[\"非法行医 3.4.1\"],\"label\":{\"zh\":\"a\",\"en\":\"a\"},"
		"\"type\":\"yes_no\",\"immediate_when_abnormal\":true}]}";
	assert_int_equal(fic_checklist_install(f->store, both, strlen(both)), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "not both"));
	assert_int_equal(fic_checklist_install(f->store, never, strlen(never)), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "abnormal"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(the_same_violation_found_again_is_reported_immediately,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(an_assigned_reinspection_has_no_reporting_clock, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(an_item_has_one_reporting_rule, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
