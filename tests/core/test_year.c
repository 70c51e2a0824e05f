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

static double num(const cJSON *o, const char *k)
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


/* ==== 非法行医 3.4.1, 3.4.2: re-inspection tasks open and close ==== */

static const char stall_tip_off[] =
	"{\"source\":\"hotline_12345\",\"ticket_12345\":\"GT-1\",\"subject\":\"illegal_practice\",\"place\":\"集市东口\","
	"\"description\":\"流动摊点拔牙镶牙\",\"time_sensitive\":\"yes\",\"verified\":\"yes\"}";

static cJSON *open_tasks(fixture *f)
{
	char *t = NULL;
	OK_OR_FAIL(fic_task_list_json(&t, f->store));
	return parsed(t);
}

static void task_row(fixture *f, const char *id, char *state, char *inspection)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT state, coalesce(done_inspection_id, "
	                                    "'') FROM tasks WHERE id = ?1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(state, 16, "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(inspection, FIC_UUID_BUFSIZE, "%s", (const char *)sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
}

static int outbox_count(fixture *f, const char *type, const char *id)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT count(*) FROM outbox WHERE "
	                                    "record_type = ?1 AND record_id = ?2", -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * 非法行医 3.4.1: "由协管员在报告线索后1个月内进行再次巡查". A time-sensitive
 * tip-off opens a task due one month after it was reported; the re-inspection
 * that names the lead closes it (done, by that inspection, and the county is
 * told), so it never shows as open or overdue again.
 */
static void the_reinspection_closes_the_task_of_a_time_sensitive_lead(void **state)
{
	fixture *f = *state;
	char market[FIC_UUID_BUFSIZE], lead[FIC_UUID_BUFSIZE], insp[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_OTHER_VENUE, "青杠场镇集贸市场", market);
	OK_OR_FAIL(fic_lead_file(lead, f->store, "lead.tip_off", stall_tip_off, market, 0, 0));
	cJSON *t = open_tasks(f);
	assert_int_equal(cJSON_GetArraySize(t), 1);
	const cJSON *task = cJSON_GetArrayItem(t, 0);
	assert_string_equal(str(task, "due_date"), "2026-04-01"); /* reported 2026-03-01 */
	assert_string_equal(str(task, "lead_id"), lead);
	char task_id[FIC_UUID_BUFSIZE];
	snprintf(task_id, sizeof task_id, "%s", str(task, "id"));
	cJSON_Delete(t);

	f->clock.wall_ms += 20 * DAY; /* within the month */
	start(f, market, "medical.reinspection", insp);
	answer(f, insp, "reason", "time_sensitive_lead");
	answer(f, insp, "original_lead", lead);
	answer(f, insp, "same_violation_again", "no");
	OK_OR_FAIL(fic_inspection_finish(NULL, f->store, insp));

	t = open_tasks(f);
	assert_int_equal(cJSON_GetArraySize(t), 0);
	cJSON_Delete(t);
	char st[16], by[FIC_UUID_BUFSIZE];
	task_row(f, task_id, st, by);
	assert_string_equal(st, "done");
	assert_string_equal(by, insp);
	assert_int_equal(outbox_count(f, "task", task_id), 1);
}

/*
 * 非法行医 3.4.1 names the "游医"摊点 as the time-sensitive lead. Found on
 * patrol (an unqualified practitioner at a market stall, 3.3.1–3.3.2), it
 * opens the same one-month task a tip-off does — not only tip-offs do.
 */
static void a_stall_found_on_patrol_opens_a_one_month_task(void **state)
{
	fixture *f = *state;
	char stall[FIC_UUID_BUFSIZE], insp[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_OTHER_VENUE, "集市东口流动牙摊", stall);
	start(f, stall, "venue.other", insp);
	answer(f, insp, "medical_activity", "yes");
	answer(f, insp, "practitioners_qualified", "no");
	answer(f, insp, "illegal_blood", "no");
	answer(f, insp, "illegal_equipment", "yes");
	answer(f, insp, "other_violation", "no");
	photo(f, FIC_PHOTO_INSPECTION, insp, "medical_activity");
	photo(f, FIC_PHOTO_INSPECTION, insp, "practitioners_qualified");
	photo(f, FIC_PHOTO_INSPECTION, insp, "illegal_equipment");
	OK_OR_FAIL(fic_inspection_finish(NULL, f->store, insp));
	cJSON *t = open_tasks(f);
	assert_int_equal(cJSON_GetArraySize(t), 1); /* one task for the visit, not one per finding */
	const cJSON *task = cJSON_GetArrayItem(t, 0);
	assert_string_equal(str(task, "due_date"), "2026-04-01");
	assert_string_equal(str(task, "site_id"), stall);
	assert_string_equal(str(task, "kind"), "reinspection");
	cJSON_Delete(t);

	/* A licensed clinic's ordinary finding is not time-sensitive: no task. */
	char clinic[FIC_UUID_BUFSIZE], visit[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_OTHER_VENUE, "某美容院", clinic);
	start(f, clinic, "venue.other", visit);
	answer(f, visit, "medical_activity", "no");
	answer(f, visit, "illegal_blood", "no");
	answer(f, visit, "illegal_equipment", "no");
	answer(f, visit, "other_violation", "yes");
	answer(f, visit, "other_violation_detail", "无证经营");
	photo(f, FIC_PHOTO_INSPECTION, visit, "other_violation");
	OK_OR_FAIL(fic_inspection_finish(NULL, f->store, visit));
	t = open_tasks(f);
	assert_int_equal(cJSON_GetArraySize(t), 1);
	cJSON_Delete(t);
}

/*
 * 非法行医 3.4.2: the agency assigns a re-inspection "在指定的时间内". Finishing
 * a re-inspection of the site closes its open re-inspection tasks (not
 * another site's); the rest are closed by hand with what was done.
 */
static void tasks_close_by_reinspection_or_by_hand(void **state)
{
	fixture *f = *state;
	char a[FIC_UUID_BUFSIZE], b[FIC_UUID_BUFSIZE], insp[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_MEDICAL, "甲诊所", a);
	add_site(f, FIC_SITE_MEDICAL, "乙诊所", b);
	char sql[400];
	snprintf(sql, sizeof sql, "INSERT INTO tasks (id, kind, site_id, source, due_date, detail, "
	         "created_at_ms) VALUES ('agency-1', 'reinspection', '%s', 'agency', '2026-03-20', "
	         "'复查', 0), ('agency-2', 'reinspection', '%s', 'agency', '2026-03-20', '复查', 0), "
	         "('agency-3', 'reinspection', NULL, 'agency', '2026-03-10', '复查线索地', 0)", a, b);
	assert_int_equal(sqlite3_exec(f->store->db, sql, NULL, NULL, NULL), SQLITE_OK);
	start(f, a, "medical.reinspection", insp);
	answer(f, insp, "reason", "agency_task");
	answer(f, insp, "violation_persists", "no");
	OK_OR_FAIL(fic_inspection_finish(NULL, f->store, insp));
	char st[16], by[FIC_UUID_BUFSIZE];
	task_row(f, "agency-1", st, by);
	assert_string_equal(st, "done");
	task_row(f, "agency-2", st, by);
	assert_string_equal(st, "open");

	/* By hand: the task without a site, with a note. */
	OK_OR_FAIL(fic_task_complete(f->store, "agency-3", NULL, "线索地已无摊点，群众证实已搬离"));
	task_row(f, "agency-3", st, by);
	assert_string_equal(st, "done");
	cJSON *t = open_tasks(f);
	assert_int_equal(cJSON_GetArraySize(t), 1);
	assert_string_equal(str(cJSON_GetArrayItem(t, 0), "id"), "agency-2");
	cJSON_Delete(t);
}

static void task_complete_refuses_bad_arguments(void **state)
{
	fixture *f = *state;
	char a[FIC_UUID_BUFSIZE], b[FIC_UUID_BUFSIZE], open_insp[FIC_UUID_BUFSIZE],
		done_b[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_MEDICAL, "甲诊所", a);
	add_site(f, FIC_SITE_MEDICAL, "乙诊所", b);
	char sql[300];
	snprintf(sql, sizeof sql, "INSERT INTO tasks (id, kind, site_id, source, due_date, "
	         "created_at_ms) VALUES ('t1', 'reinspection', '%s', 'agency', '2026-03-20', 0)", a);
	assert_int_equal(sqlite3_exec(f->store->db, sql, NULL, NULL, NULL), SQLITE_OK);
	start(f, a, "medical.filed", open_insp);
	start(f, b, "medical.reinspection", done_b);
	answer(f, done_b, "reason", "agency_task");
	answer(f, done_b, "violation_persists", "no");
	OK_OR_FAIL(fic_inspection_finish(NULL, f->store, done_b));

	assert_int_equal(fic_task_complete(NULL, "t1", NULL, "x"), FIC_EINVAL);
	assert_int_equal(fic_task_complete(f->store, NULL, NULL, "x"), FIC_EINVAL);
	assert_int_equal(fic_task_complete(f->store, "", NULL, "x"), FIC_EINVAL);
	assert_int_equal(fic_task_complete(f->store, "t1", NULL, NULL), FIC_EINVAL);
	assert_int_equal(fic_task_complete(f->store, "t1", "", ""), FIC_EINVAL);
	assert_int_equal(fic_task_complete(f->store, "nope", NULL, "x"), FIC_ENOTFOUND);
	assert_int_equal(fic_task_complete(f->store, "t1", "no-such-inspection", NULL), FIC_ENOTFOUND);
	assert_int_equal(fic_task_complete(f->store, "t1", open_insp, NULL), FIC_ESTATE);
	assert_int_equal(fic_task_complete(f->store, "t1", done_b, NULL), FIC_EINVAL); /* other site */
	char *big = malloc(FIC_TASK_NOTE_MAX + 2);
	memset(big, 'x', FIC_TASK_NOTE_MAX + 1);
	big[FIC_TASK_NOTE_MAX + 1] = '\0';
	assert_int_equal(fic_task_complete(f->store, "t1", NULL, big), FIC_ETOOBIG);
	free(big);
	char st[16], by[FIC_UUID_BUFSIZE];
	task_row(f, "t1", st, by);
	assert_string_equal(st, "open"); /* every refusal left it as it was */
	OK_OR_FAIL(fic_task_complete(f->store, "t1", NULL, "已复查"));
	assert_int_equal(fic_task_complete(f->store, "t1", NULL, "again"), FIC_ESTATE);
}

/* ==== tip-offs on the right clock (实施方案 二(四)2(2)) ==== */

/*
 * A tip-off (举报) received by phone 40 minutes ago about 两非 is a 两非 report:
 * 妇幼健康 三(二)3 "接到…信息或举报时，核实线索并于两小时内报告". Filed as
 * lead.tip_off it is routed to that rule — urgent, its deadline two hours
 * after the tip was received (80 minutes left), category two_non, and its
 * body names the form to complete.
 */
static void a_tip_off_about_two_non_runs_on_the_two_hour_clock_from_receipt(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE];
	int64_t received = f->clock.wall_ms - 40 * MIN;
	static const char tip[] =
		"{\"source\":\"phone\",\"subject\":\"two_non\",\"place\":\"镇东私人诊所\","
		"\"description\":\"有人称可做胎儿性别鉴定\",\"verified\":\"yes\"}";
	OK_OR_FAIL(fic_lead_file(id, f->store, "lead.tip_off", tip, NULL, received, 0));
	cJSON *j = lead_json(f, id);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "urgent")));
	assert_string_equal(str(j, "category"), "two_non");
	assert_string_equal(str(j, "area"), "mch");
	assert_string_equal(str(j, "report_to"), "enforcement");
	assert_true(num(j, "deadline_at_ms") == (double)(received + FIC_URGENT_DEADLINE_MS));
	assert_true(num(j, "remaining_ms") == (double)(80 * MIN));
	const cJSON *route = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "content"),
	                                                      "routed_to");
	assert_string_equal(str(route, "form"), "event.two_non");
	cJSON_Delete(j);
}

/*
 * Each subject the guide puts under a two-hour rule is routed to its form's
 * category and recipient: a water poisoning (饮用水 三(二)4), a school outbreak
 * (学校卫生 三(二)4: the counts are not known yet, so the tip is urgent until
 * verified), blood collected beyond scope (非法行医 三(二)3), illegal assisted
 * reproduction (妇幼健康 三(二)4), an occupational emergency (职业卫生 三(二)4),
 * foodborne disease (食源性疾病 三(二): to the district CDC). A tip about an
 * ordinary matter stays an ordinary lead.
 */
static void every_two_hour_subject_is_routed_and_others_are_not(void **state)
{
	fixture *f = *state;
	static const struct { const char *subject, *category, *report_to; bool urgent; } cases[] = {
		{ "water_poisoning", "water_poisoning", "enforcement", true },
		{ "school_outbreak", "school_cluster", "enforcement", true },
		{ "blood_beyond_scope", "blood_beyond_scope", "enforcement", true },
		{ "assisted_reproduction", "assisted_reproduction", "enforcement", true },
		{ "occupational_emergency", "occupational_emergency", "enforcement", true },
		{ "foodborne", "foodborne", "district_cdc", true },
		{ "drinking_water_other", "tip_off", "enforcement", false },
		{ "school_other", "tip_off", "enforcement", false },
		{ "other", "tip_off", "enforcement", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char answers[300], id[FIC_UUID_BUFSIZE];
		snprintf(answers, sizeof answers, "{\"source\":\"visit\",\"subject\":\"%s\","
		         "\"place\":\"某地\",\"description\":\"群众来访反映\",\"verified\":\"no\"}",
		         cases[i].subject);
		OK_OR_FAIL(fic_lead_file(id, f->store, "lead.tip_off", answers, NULL, 0, 0));
		cJSON *j = lead_json(f, id);
		if (strcmp(str(j, "category"), cases[i].category) != 0 ||
		    strcmp(str(j, "report_to"), cases[i].report_to) != 0 ||
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "urgent")) != cases[i].urgent)
			fail_msg("subject %s: category %s, report_to %s, urgent %d", cases[i].subject,
			         str(j, "category"), str(j, "report_to"),
			         cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "urgent")));
		cJSON_Delete(j);
	}
}

/* 12345 tip-offs (seed 002: the 12345 platform) carry their ticket number; others need none. */
static void a_12345_tip_off_carries_its_ticket_number(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE];
	static const char no_ticket[] =
		"{\"source\":\"hotline_12345\",\"subject\":\"other\",\"place\":\"某地\","
		"\"description\":\"反映\",\"verified\":\"yes\"}";
	assert_int_equal(fic_lead_file(id, f->store, "lead.tip_off", no_ticket, NULL, 0, 0),
	                 FIC_EINCOMPLETE);
	assert_non_null(strstr(fic_error_last()->message, "ticket_12345"));
	static const char with_ticket[] =
		"{\"source\":\"hotline_12345\",\"ticket_12345\":\"CQ12345-20260301-88\","
		"\"subject\":\"other\",\"place\":\"某地\",\"description\":\"反映\","
		"\"verified\":\"yes\"}";
	OK_OR_FAIL(fic_lead_file(id, f->store, "lead.tip_off", with_ticket, NULL, 0, 0));
	cJSON *j = lead_json(f, id);
	const cJSON *ans = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "content"),
	                                                    "answers");
	assert_string_equal(str(ans, "ticket_12345"), "CQ12345-20260301-88");
	cJSON_Delete(j);
	static const char by_phone[] =
		"{\"source\":\"phone\",\"subject\":\"other\",\"place\":\"某地\","
		"\"description\":\"反映\",\"verified\":\"yes\"}";
	OK_OR_FAIL(fic_lead_file(id, f->store, "lead.tip_off", by_phone, NULL, 0, 0));
}

/* A form's routes must name one of its choice items and, for its choices, form ids. */
static void routes_are_checked_when_a_form_is_loaded(void **state)
{
	fixture *f = *state;
	static const char head[] =
		"{\"id\":\"county.test.tip\",\"version\":1,\"kind\":\"event\",\"area\":\"general\","
		"\"title\":{\"zh\":\"测\",\"en\":\"t\"},\"source\":\"test\",\"lead\":{\"category\":"
		"\"tip_off\",\"report_to\":\"enforcement\",\"sections\":[\"实施方案 服务方法2(2)\"],"
		"\"routes\":%s},\"items\":[{\"id\":\"subject\",\"sections\":[\"实施方案 服务方法2(2)\"],"
		"\"label\":{\"zh\":\"s\",\"en\":\"s\"},\"type\":\"choice\",\"choices\":[{\"id\":"
		"\"two_non\",\"label\":{\"zh\":\"a\",\"en\":\"a\"}}]},{\"id\":\"note\",\"sections\":"
		"[\"实施方案 服务方法2(2)\"],\"label\":{\"zh\":\"n\",\"en\":\"n\"},\"type\":\"text\"}]}";
	static const char *const bad[] = {
		"{\"item\":\"note\",\"forms\":{\"two_non\":\"event.two_non\"}}",  /* not a choice item */
		"{\"item\":\"nope\",\"forms\":{\"two_non\":\"event.two_non\"}}",  /* no such item */
		"{\"item\":\"subject\",\"forms\":{\"other\":\"event.two_non\"}}", /* not a choice */
		"{\"item\":\"subject\",\"forms\":{\"two_non\":\"Event Two\"}}",   /* not a form id */
		"{\"item\":\"subject\",\"forms\":{}}",
		"{\"item\":\"subject\"}",
	};
	char def[2000];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(def, sizeof def, head, bad[i]);
		if (fic_checklist_install(f->store, def, strlen(def)) != FIC_EINVAL)
			fail_msg("routes %s was accepted", bad[i]);
	}
	snprintf(def, sizeof def, head, "{\"item\":\"subject\",\"forms\":{\"two_non\":\"event.two_non\"}}");
	OK_OR_FAIL(fic_checklist_install(f->store, def, strlen(def)));
}

/* ==== sites found closed or changed (实施方案 服务方法 1(3); 各专业 三(二)2) ==== */

static cJSON *inspection(fixture *f, const char *id)
{
	char *t = NULL;
	OK_OR_FAIL(fic_inspection_get_json(&t, f->store, id));
	return parsed(t);
}

/* The one site-status lead of `site`; its id into id_out. */
static cJSON *site_status_lead(fixture *f, const char *site, char *id_out)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT id FROM leads WHERE site_id = ?1 "
	                                    "AND category = 'site_status'", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(id_out, FIC_UUID_BUFSIZE, "%s", (const char *)sqlite3_column_text(st, 0));
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	return lead_json(f, id_out);
}

/*
 * 饮用水 三(二)2: "发现并核实该供水单位长期未经营、已关闭…时，拍摄证明照片，并描述
 * 相关事项，报告". A plant found closed has nothing left to check: no item of
 * water.rural applies, and the inspection finishes — once the proof photo
 * is taken, not before. The site-status report then goes with the photo's
 * hash, and the registry says closed.
 */
static void a_site_found_closed_is_recorded_with_its_proof_photo(void **state)
{
	fixture *f = *state;
	char plant[FIC_UUID_BUFSIZE], insp[FIC_UUID_BUFSIZE], lead[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_WATER_RURAL, "石桥村集中供水站", plant);
	start(f, plant, "water.rural", insp);
	OK_OR_FAIL(fic_inspection_report_site(f->store, insp, FIC_FOUND_CLOSED,
	                                      "现场核实已停止供水两年，村民改用镇自来水", NULL));
	cJSON *j = inspection(f, insp);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "missing")), 0);
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "items"))
		assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "applies")));
	cJSON_Delete(j);
	/* Not without the proof photo. */
	assert_int_equal(fic_inspection_finish(NULL, f->store, insp), FIC_EINCOMPLETE);
	assert_non_null(strstr(fic_error_last()->message, "拍摄证明照片"));
	/* The proof: a photo of the inspection itself (the shut gate), not of an item. */
	photo(f, FIC_PHOTO_INSPECTION, insp, NULL);
	char *summary = NULL;
	OK_OR_FAIL(fic_inspection_finish(&summary, f->store, insp));
	cJSON *s = parsed(summary);
	assert_int_equal((int)num(s, "findings"), 0);
	cJSON_Delete(s);
	cJSON *l = site_status_lead(f, plant, lead);
	assert_string_equal(str(l, "state"), "queued"); /* submitted with the visit */
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(l, "content");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "proof_photos")), 1);
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(c, "site_finding"), "status"), "closed");
	cJSON_Delete(l);
	fic_site *site = NULL;
	OK_OR_FAIL(fic_site_get(&site, f->store, plant));
	assert_int_equal(site->status, FIC_SITE_CLOSED);
	fic_site_free(site);
}

/*
 * 学校卫生 三(二)2: a school whose facts changed (信息变更) is still a school to
 * visit: its checklist stays required, and the proof photo is needed too.
 */
static void a_changed_site_keeps_its_checklist_and_needs_its_proof(void **state)
{
	fixture *f = *state;
	char school[FIC_UUID_BUFSIZE], insp[FIC_UUID_BUFSIZE];
	OK_OR_FAIL(tu_add_school(f->store, "青杠镇中心小学", 400));
	fic_site_list *l = NULL;
	OK_OR_FAIL(fic_site_search(&l, f->store, FIC_SITE_SCHOOL, "青杠镇中心小学", 1));
	snprintf(school, sizeof school, "%s", l->sites[0]->id);
	fic_site ch = *l->sites[0];
	ch.name = "青杠镇实验小学";
	start(f, school, "school.disease_control", insp);
	OK_OR_FAIL(fic_inspection_report_site(f->store, insp, FIC_FOUND_CHANGED, "学校更名", &ch));
	fic_site_list_free(l);
	cJSON *j = inspection(f, insp);
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "missing")) > 0);
	cJSON_Delete(j);
	assert_int_equal(fic_inspection_finish(NULL, f->store, insp), FIC_EINCOMPLETE);
}

/* A county site, as the registry feed brings it. */
static void county_site(fixture *f, const char *id, const char *json)
{
	cJSON *data = cJSON_Parse(json);
	assert_non_null(data);
	bool skipped = true;
	OK_OR_FAIL(fic__tx_begin(f->store));
	int rc = fic__site_apply_feed(f->store, id, false, data, 0, &skipped);
	assert_int_equal(fic__tx_end(f->store, rc), FIC_OK);
	assert_false(skipped);
	cJSON_Delete(data);
}

/*
 * 非法行医 三(二)2: "发现并核实有信息变更时，拍摄证明照片…报告". A change to a
 * county site made outside any inspection files the same report: a draft
 * site-status lead with the facts before and after, which is submitted only
 * once its proof photo is attached.
 */
static void a_registry_change_outside_an_inspection_files_its_report(void **state)
{
	fixture *f = *state;
	county_site(f, "cq-med-0007", "{\"kind\":\"medical\",\"name\":\"青杠镇卫生院\","
	                              "\"med_registration\":\"licensed\",\"legal_rep\":\"李明\"}");
	fic_site *s = NULL;
	OK_OR_FAIL(fic_site_get(&s, f->store, "cq-med-0007"));
	fic_site ch = *s;
	ch.legal_rep = "王芳";
	OK_OR_FAIL(fic_site_update(NULL, f->store, &ch, "法定代表人变更"));
	fic_site_free(s);
	char lead[FIC_UUID_BUFSIZE];
	cJSON *l = site_status_lead(f, "cq-med-0007", lead);
	assert_string_equal(str(l, "state"), "draft");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(l, "content");
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(c, "site_before"), "name"), "青杠镇卫生院");
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(c, "site_finding"), "status"), "changed");
	cJSON_Delete(l);
	assert_int_equal(fic_lead_submit(f->store, lead), FIC_EINCOMPLETE);
	photo(f, FIC_PHOTO_LEAD, lead, NULL);
	OK_OR_FAIL(fic_lead_submit(f->store, lead));

	/* fic_site_report: the same, with the draft's id handed back. */
	char closed_lead[FIC_UUID_BUFSIZE];
	county_site(f, "cq-sch-0002", "{\"kind\":\"school\",\"name\":\"石桥村小\"}");
	OK_OR_FAIL(fic_site_report(closed_lead, f->store, "cq-sch-0002", FIC_FOUND_CLOSED,
	                           "撤并至中心校", NULL));
	l = lead_json(f, closed_lead);
	assert_string_equal(str(l, "category"), "site_status");
	assert_string_equal(str(l, "state"), "draft");
	cJSON_Delete(l);
}

static void site_report_refuses_bad_arguments(void **state)
{
	fixture *f = *state;
	char lead[FIC_UUID_BUFSIZE], site[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_OTHER_VENUE, "某药房", site);
	fic_site *s = NULL;
	OK_OR_FAIL(fic_site_get(&s, f->store, site));
	assert_int_equal(fic_site_report(NULL, f->store, site, FIC_FOUND_CLOSED, "r", NULL), FIC_EINVAL);
	assert_int_equal(fic_site_report(lead, NULL, site, FIC_FOUND_CLOSED, "r", NULL), FIC_EINVAL);
	assert_int_equal(fic_site_report(lead, f->store, NULL, FIC_FOUND_CLOSED, "r", NULL), FIC_EINVAL);
	assert_int_equal(fic_site_report(lead, f->store, site, 7, "r", NULL), FIC_EINVAL);
	assert_int_equal(fic_site_report(lead, f->store, site, FIC_FOUND_CLOSED, "r", s), FIC_EINVAL);
	assert_int_equal(fic_site_report(lead, f->store, site, FIC_FOUND_CHANGED, "r", NULL), FIC_EINVAL);
	assert_int_equal(fic_site_report(lead, f->store, site, FIC_FOUND_CHANGED, "r", s), FIC_EINVAL);
	assert_string_equal(lead, ""); /* the same facts: nothing to report */
	assert_int_equal(fic_site_report(lead, f->store, site, FIC_FOUND_CLOSED, NULL, NULL), FIC_EINVAL);
	assert_int_equal(fic_site_report(lead, f->store, "no-such-site", FIC_FOUND_CLOSED, "r", NULL),
	                 FIC_ENOTFOUND);
	fic_site_free(s);
	/* The site-status form is no way round the photo either. */
	static const char form[] = "{\"status\":\"closed\",\"description\":\"已关门\"}";
	assert_int_equal(fic_lead_file(lead, f->store, "lead.site_status", form, site, 0, 0),
	                 FIC_EINCOMPLETE);
	OK_OR_FAIL(fic_lead_file(lead, f->store, "lead.site_status", form, site, 0, FIC_LEAD_DRAFT));
	photo(f, FIC_PHOTO_LEAD, lead, NULL);
	OK_OR_FAIL(fic_lead_submit(f->store, lead));
}

/* ==== the information report rate (实施方案 一(三)1) ==== */

/*
 * 一(三)1: 信息报告率 = 报告的事件或线索次数 / 发现的事件或线索次数 × 100%.
 * Three leads discovered, two reported: 66.7 %. A correction of a reported
 * lead is neither another discovery nor another report — it used to count
 * as both and lift the rate to 75 %.
 */
static void a_correction_does_not_inflate_the_report_rate(void **state)
{
	fixture *f = *state;
	char a[FIC_UUID_BUFSIZE], b[FIC_UUID_BUFSIZE], c[FIC_UUID_BUFSIZE], fix[FIC_UUID_BUFSIZE];
	OK_OR_FAIL(fic_lead_file(a, f->store, "lead.tip_off", tu_tip_off_answers, NULL, 0, 0));
	OK_OR_FAIL(fic_lead_file(b, f->store, "event.two_non", two_non_answers, NULL, 0, 0));
	OK_OR_FAIL(fic_lead_file(c, f->store, "lead.tip_off", tu_tip_off_answers, NULL, 0, FIC_LEAD_DRAFT));
	OK_OR_FAIL(fic_lead_correct(fix, f->store, b, "诊所名称应为镇东诊所"));
	char *t = NULL;
	OK_OR_FAIL(fic_stats_json(&t, f->store, 2026));
	cJSON *j = parsed(t);
	assert_int_equal((int)num(j, "leads_discovered"), 3);
	assert_int_equal((int)num(j, "leads_reported"), 2);
	double rate = num(j, "report_rate_percent");
	assert_true(rate > 66.66 && rate < 66.67);
	assert_non_null(strstr(str(j, "report_rate_definition"), "一(三)1"));
	cJSON_Delete(j);
	/* A lead the county refused for good is discovered, not reported. */
	OK_OR_FAIL(fic__tx_begin(f->store));
	assert_int_equal(fic__tx_end(f->store, fic__lead_mark(f->store, a, "rejected", NULL, 0,
	                                                      "malformed")), FIC_OK);
	OK_OR_FAIL(fic_stats_json(&t, f->store, 2026));
	j = parsed(t);
	assert_int_equal((int)num(j, "leads_reported"), 1);
	cJSON_Delete(j);
}

/* ==== the due list: areas, kinds and frequencies (实施方案 一(三)2) ==== */

static cJSON *due_summary(fixture *f)
{
	char *t = NULL;
	OK_OR_FAIL(fic_due_summary_json(&t, f->store));
	return parsed(t);
}

static int area_n(const cJSON *summary, const char *area, const char *what)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(summary, "areas"),
	                                                  area);
	if (a == NULL)
		fail_msg("the due summary has no area %s", area);
	return (int)num(a, what);
}

/* A finished patrol of `site` with `checklist`, every applicable yes/no item answered normally. */
static void clean_patrol(fixture *f, const char *site, const char *checklist)
{
	char insp[FIC_UUID_BUFSIZE];
	start(f, site, checklist, insp);
	for (int pass = 0; pass < 4; pass++) { /* answers can make more items apply */
		char *t = NULL;
		OK_OR_FAIL(fic_inspection_get_json(&t, f->store, insp));
		cJSON *j = parsed(t);
		const cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "items")) {
			if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "applies")) ||
			    !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(it, "answer")))
				continue;
			const char *type = str(it, "type"), *id = str(it, "id");
			const char *v = strcmp(type, "yes_no") == 0 ? "yes" : strcmp(type, "count") == 0 ? "3"
			                : strcmp(type, "date") == 0 ? "2027-01-05" : strcmp(type, "text") == 0 ? "无"
			                : NULL;
			if (v && fic_inspection_answer(f->store, insp, id, v) != FIC_OK &&
			    fic_inspection_answer(f->store, insp, id, "2026-02-20") != FIC_OK)
				fic_error_clear();
			/* a choice: the first of these the item has */
			static const char *const choices[] = { "primary", "ordinary", "licensed", NULL };
			for (const char *const *c = choices; strcmp(type, "choice") == 0 && *c; c++)
				if (fic_inspection_answer(f->store, insp, id, *c) == FIC_OK)
					break;
		}
		/* an answer that is abnormal (other_violation = yes, a report date in
		 * the future): the other answer instead */
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "findings")) {
			if (fic_inspection_answer(f->store, insp, str(it, "item"), "no") != FIC_OK)
				fic_inspection_answer(f->store, insp, str(it, "item"), "2026-02-20");
		}
		cJSON_Delete(j);
	}
	int rc = fic_inspection_finish(NULL, f->store, insp);
	if (rc != FIC_OK)
		fail_msg("finishing %s: %s", checklist, fic_error_last()->message);
}

/*
 * 妇幼健康 三(一)1: the MCH patrol's objects are "开展母婴保健技术服务的医疗机构"
 * — a general hospital with obstetrics among them. Its MCH patrols count on
 * the MCH line of the due list (it joins the area by being patrolled there),
 * not on the hospital's own medical_blood line, which still wants its own
 * two patrols (非法行医 三(一)2).
 */
static void an_mch_patrol_of_a_hospital_counts_on_the_mch_line(void **state)
{
	fixture *f = *state;
	char hospital[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_MEDICAL, "青杠镇中心卫生院", hospital);
	cJSON *j = due_summary(f);
	assert_int_equal(area_n(j, "mch", "open_sites"), 0);
	assert_int_equal(area_n(j, "medical_blood", "due"), 1);
	cJSON_Delete(j);
	clean_patrol(f, hospital, "mch.patrol");
	j = due_summary(f);
	assert_int_equal(area_n(j, "mch", "open_sites"), 1);
	assert_int_equal(area_n(j, "mch", "not_patrolled_this_year"), 0);
	assert_int_equal(area_n(j, "mch", "due"), 1); /* one of two */
	assert_int_equal(area_n(j, "medical_blood", "not_patrolled_this_year"), 1);
	cJSON_Delete(j);
	clean_patrol(f, hospital, "mch.patrol");
	j = due_summary(f);
	assert_int_equal(area_n(j, "mch", "due"), 0);
	assert_int_equal(area_n(j, "medical_blood", "due"), 1);
	cJSON_Delete(j);
	assert_int_equal(fic_store_check(f->store), FIC_OK);
}

/*
 * 非法行医 3.1.1.4 names the 妇幼保健院 among the institutions whose licence is
 * validated every three years: a site of kind MCH runs the licensed-
 * institution checklist, with its type prefilled, and is due in both its
 * areas (妇幼健康 and 非法行医).
 */
static void an_mch_institution_runs_the_licensed_institution_checklist(void **state)
{
	fixture *f = *state;
	char mch[FIC_UUID_BUFSIZE], insp[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_MCH, "区妇幼保健院", mch);
	fic_checklist_list *l = NULL;
	OK_OR_FAIL(fic_checklist_list_get(&l, f->store, FIC_SITE_MCH, FIC_CHECKLIST_PATROLS));
	bool offered = false;
	for (size_t i = 0; i < l->count; i++)
		offered |= strcmp(l->entries[i].id, "medical.licensed") == 0;
	fic_checklist_list_free(l);
	assert_true(offered);
	start(f, mch, "medical.licensed", insp);
	answer(f, insp, "last_validation", "2023-03-15"); /* three years ago to the day: still valid */
	cJSON *j = inspection(f, insp);
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "items")) {
		if (strcmp(str(it, "id"), "institution_type") == 0)
			assert_string_equal(str(it, "answer"), "mch_hospital");
		if (strcmp(str(it, "id"), "last_validation") == 0)
			assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "abnormal")));
	}
	cJSON_Delete(j);
	j = due_summary(f);
	assert_int_equal(area_n(j, "mch", "open_sites"), 1);
	assert_int_equal(area_n(j, "medical_blood", "open_sites"), 1);
	cJSON_Delete(j);
}

/*
 * 实施方案 一(三)2: at least two patrols a year per area, "适时调整"; each area's
 * 巡查周期 is the district's to plan. The county's plan asks four a year of
 * secondary water supplies: two leave one due, while two are enough for a
 * rural plant.
 */
static void the_county_sets_how_often_each_area_is_patrolled(void **state)
{
	fixture *f = *state;
	char rural[FIC_UUID_BUFSIZE], tank[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_WATER_RURAL, "石桥村供水站", rural);
	add_site(f, FIC_SITE_WATER_SECONDARY, "锦绣小区二次供水", tank);
	for (int i = 0; i < 2; i++) {
		clean_patrol(f, rural, "water.rural");
		clean_patrol(f, tank, "water.secondary");
	}
	cJSON *j = due_summary(f);
	assert_int_equal(area_n(j, "drinking_water", "due"), 0);
	cJSON_Delete(j);
	OK_OR_FAIL(fic_patrol_plan_set(f->store, "{\"areas\":{\"drinking_water\":{\"kinds\":"
	                                         "{\"water_secondary\":4}}}}"));
	j = due_summary(f);
	assert_int_equal(area_n(j, "drinking_water", "due"), 1);
	cJSON_Delete(j);
	char *t = NULL;
	OK_OR_FAIL(fic_due_page_json(&t, f->store, "drinking_water", NULL, 10));
	j = parsed(t);
	const cJSON *item = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "items"), 0);
	assert_string_equal(str(item, "site_id"), tank);
	assert_int_equal((int)num(item, "per_year"), 4);
	assert_int_equal((int)num(item, "patrols_this_year"), 2);
	cJSON_Delete(j);
	assert_int_equal(fic_store_check(f->store), FIC_OK);
	/* Back to the guide's two. */
	OK_OR_FAIL(fic_patrol_plan_set(f->store, "{\"areas\":{}}"));
	j = due_summary(f);
	assert_int_equal(area_n(j, "drinking_water", "due"), 0);
	cJSON_Delete(j);
}

/*
 * 实施方案 二(二)7: a district may add areas of its own (其他专业) with its own
 * plan. Its checklist and its plan put the area in the due list and the
 * indicators like the guide's six.
 */
static void a_county_area_appears_in_the_due_list_and_the_stats(void **state)
{
	fixture *f = *state;
	static const char def[] =
		"{\"id\":\"county.qg.public_place\",\"version\":1,\"kind\":\"patrol\","
		"\"area\":\"other.public_place\",\"title\":{\"zh\":\"公共场所卫生巡查\",\"en\":"
		"\"Public places\"},\"source\":\"青杠镇卫生监督协管服务工作方案（其他专业）\","
		"\"site_kinds\":[\"other_venue\"],\"items\":[{\"id\":\"licence_posted\",\"sections\":"
		"[\"其他专业 1.1\"],\"label\":{\"zh\":\"公示卫生许可证\",\"en\":\"Licence posted\"},"
		"\"type\":\"yes_no\",\"abnormal\":{\"==\":[{\"var\":\"answer\"},\"no\"]}}]}";
	OK_OR_FAIL(fic_checklist_install(f->store, def, strlen(def)));
	OK_OR_FAIL(fic_patrol_plan_set(f->store, "{\"areas\":{\"other.public_place\":{\"title\":"
	                                         "\"公共场所卫生\",\"per_year\":1,\"kinds\":"
	                                         "{\"other_venue\":1}}}}"));
	char salon[FIC_UUID_BUFSIZE], market[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_OTHER_VENUE, "美美美容院", salon);
	add_site(f, FIC_SITE_OTHER_VENUE, "集贸市场", market);
	cJSON *j = due_summary(f);
	assert_int_equal(area_n(j, "other.public_place", "open_sites"), 2);
	assert_int_equal(area_n(j, "other.public_place", "due"), 2);
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "areas"),
	                                                         "other.public_place"), "title"),
	                    "公共场所卫生");
	cJSON_Delete(j);
	clean_patrol(f, salon, "county.qg.public_place");
	j = due_summary(f);
	assert_int_equal(area_n(j, "other.public_place", "due"), 1); /* once a year is enough */
	cJSON_Delete(j);
	char *t = NULL;
	OK_OR_FAIL(fic_stats_json(&t, f->store, 0));
	j = parsed(t);
	assert_int_equal((int)num(cJSON_GetObjectItemCaseSensitive(j, "patrols"), "other.public_place"), 1);
	cJSON_Delete(j);
	assert_int_equal(fic_store_check(f->store), FIC_OK);
}

/*
 * 学校卫生 三(一)2: schools are visited "每学期开学后一个月内". The semesters are
 * the county's: once its settings feed has sent them they drive the due list
 * and are not typed over by hand; the same for its patrol plan.
 */
static void semesters_and_the_plan_come_from_the_county(void **state)
{
	fixture *f = *state;
	OK_OR_FAIL(fic_setting_set(f->store, "semester_starts", "2026-02-16")); /* before the county's */
	OK_OR_FAIL(fic__tx_begin(f->store));
	int rc = fic__setting_put_county(f->store, "semester_starts", "2026-02-23,2026-09-01");
	if (rc == FIC_OK)
		rc = fic__patrol_plan_apply(f->store, "{\"areas\":{\"school\":{\"per_year\":3}}}", "county");
	OK_OR_FAIL(fic__tx_end(f->store, rc));
	assert_int_equal(fic_setting_set(f->store, "semester_starts", "2026-03-01"), FIC_ESTATE);
	assert_int_equal(fic_patrol_plan_set(f->store, "{\"areas\":{}}"), FIC_ESTATE);
	OK_OR_FAIL(tu_add_school(f->store, "青杠镇中心小学", 400));
	cJSON *j = due_summary(f);
	const cJSON *sem = cJSON_GetObjectItemCaseSensitive(j, "semester");
	assert_string_equal(str(sem, "start"), "2026-02-23");
	assert_string_equal(str(sem, "first_month_ends"), "2026-03-23");
	assert_int_equal(area_n(j, "school", "per_year"), 3);
	cJSON_Delete(j);
	char *t = NULL;
	OK_OR_FAIL(fic_patrol_plan_json(&t, f->store));
	j = parsed(t);
	assert_string_equal(str(j, "origin"), "county");
	cJSON_Delete(j);
	/* The county's values are checked like any other. */
	OK_OR_FAIL(fic__tx_begin(f->store));
	rc = fic__setting_put_county(f->store, "semester_starts", "2026-02-30");
	assert_int_equal(fic__tx_end(f->store, rc), FIC_EINVAL);
}

static void a_malformed_plan_changes_nothing(void **state)
{
	fixture *f = *state;
	static const char *const bad[] = {
		"[]", "{}", "{\"areas\":[]}", "{\"areas\":{},\"x\":1}",
		"{\"areas\":{\"swimming\":{\"title\":\"游泳\"}}}",           /* not other.* */
		"{\"areas\":{\"other.pool\":{}}}",                             /* no title */
		"{\"areas\":{\"school\":{\"per_year\":0}}}",
		"{\"areas\":{\"school\":{\"per_year\":53}}}",
		"{\"areas\":{\"school\":{\"per_year\":1.5}}}",
		"{\"areas\":{\"school\":{\"kinds\":{\"castle\":2}}}}",
		"{\"areas\":{\"school\":{\"kinds\":{\"school\":-1}}}}",
		"{\"areas\":{\"school\":{\"often\":2}}}",
		"not json",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (fic_patrol_plan_set(f->store, bad[i]) != FIC_EINVAL)
			fail_msg("plan %s was not refused", bad[i]);
	assert_int_equal(fic_patrol_plan_set(NULL, "{\"areas\":{}}"), FIC_EINVAL);
	assert_int_equal(fic_patrol_plan_set(f->store, NULL), FIC_EINVAL);
	assert_int_equal(fic_patrol_plan_set(f->store, ""), FIC_EINVAL);
	char *big = malloc(20000);
	memset(big, ' ', 19999);
	big[19999] = '\0';
	assert_int_equal(fic_patrol_plan_set(f->store, big), FIC_ETOOBIG);
	free(big);
	char *t = NULL;
	OK_OR_FAIL(fic_patrol_plan_json(&t, f->store));
	cJSON *j = parsed(t);
	assert_string_equal(str(j, "origin"), "default");
	assert_int_equal((int)num(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "areas"),
	                                                           "school"), "per_year"), 2);
	cJSON_Delete(j);
	assert_int_equal(fic_patrol_plan_json(NULL, f->store), FIC_EINVAL);
}

/* ==== the foodborne report (食源性疾病 二, 三) ==== */

/*
 * 食源性疾病 三(一): the information is collected "基层医疗机构、食品生产经营单位、
 * 群众投诉、媒体报道" — its source is part of the report; 二: what is reported is
 * a disease "接诊后通过检查确诊" (霍乱、细菌性和阿米巴性痢疾、伤寒和副伤寒…).
 * Without either, the report is incomplete.
 */
static void a_foodborne_report_says_where_it_came_from_and_the_diagnosis(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE];
	static const char without[] =
		"{\"onset_date\":\"2026-03-01\",\"meal_place\":\"镇中心饭店\",\"meal_unit\":\"婚宴\","
		"\"contact_phone\":\"13800000000\",\"exposed\":120,\"ill\":14,\"dead\":0,"
		"\"suspected_food\":\"凉拌菜\",\"symptoms\":[\"diarrhoea\"],\"measures_taken\":\"送医\","
		"\"verified\":\"yes\"}";
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", without, NULL, 0, 0),
	                 FIC_EINCOMPLETE);
	assert_non_null(strstr(fic_error_last()->message, "report_source"));
	assert_non_null(strstr(fic_error_last()->message, "diagnosis"));
	OK_OR_FAIL(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL, 0, 0));
	cJSON *j = lead_json(f, id);
	const cJSON *ans = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "content"),
	                                                    "answers");
	assert_string_equal(str(ans, "report_source"), "primary_care");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ans, "diagnosis"), 0)->valuestring,
	                    "bacillary_dysentery");
	cJSON_Delete(j);
}

/*
 * 食源性疾病 三(二): "在两小时内采用电话或传真等形式报告辖区疾病预防控制机构".
 * The duty is the call: recorded apart from the upload (when, how, to
 * whom), a call made by the deadline takes the report off the at-risk list
 * though it has not reached the county server yet; a late call does not.
 */
static void the_foodborne_duty_is_a_call_recorded_apart_from_the_upload(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE], late[FIC_UUID_BUFSIZE];
	int64_t found = f->clock.wall_ms - 100 * MIN; /* 20 minutes left */
	OK_OR_FAIL(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL, found, 0));
	OK_OR_FAIL(fic_lead_file(late, f->store, "event.foodborne", tu_foodborne_answers, NULL,
	                         f->clock.wall_ms - 130 * MIN, 0));
	fic_lead_list *l = NULL;
	OK_OR_FAIL(fic_lead_list_get(&l, f->store, 0));
	assert_true(l->entries[0].at_risk && l->entries[1].at_risk);
	fic_lead_list_free(l);
	OK_OR_FAIL(fic_lead_call_record(f->store, id, "phone", f->clock.wall_ms - 5 * MIN,
	                                "区疾控中心值班室 王医生 023-7000000", NULL));
	OK_OR_FAIL(fic_lead_call_record(f->store, late, "fax", 0, "区疾控中心", "传真已发"));
	OK_OR_FAIL(fic_lead_list_get(&l, f->store, 0));
	for (size_t i = 0; i < l->count; i++) {
		bool on_time = strcmp(l->entries[i].id, id) == 0;
		assert_true(l->entries[i].called_at_ms > 0);
		assert_int_equal(l->entries[i].at_risk, !on_time); /* 130 min ago: the call came late */
		assert_string_equal(l->entries[i].state, "queued");  /* not uploaded yet */
	}
	fic_lead_list_free(l);
	cJSON *j = lead_json(f, id);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "called_by_deadline")));
	const cJSON *call = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "calls"), 0);
	assert_string_equal(str(call, "method"), "phone");
	assert_string_equal(str(call, "to_whom"), "区疾控中心值班室 王医生 023-7000000");
	cJSON_Delete(j);
	j = lead_json(f, late);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "called_by_deadline")));
	cJSON_Delete(j);
	/* The calls go to the county too. */
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT count(*) FROM outbox WHERE record_type = "
	                                    "'call'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2);
	sqlite3_finalize(st);
}

static void a_call_record_refuses_bad_arguments(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE];
	OK_OR_FAIL(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL, 0, 0));
	int64_t now = f->clock.wall_ms;
	assert_int_equal(fic_lead_call_record(NULL, id, "phone", 0, "x", NULL), FIC_EINVAL);
	assert_int_equal(fic_lead_call_record(f->store, NULL, "phone", 0, "x", NULL), FIC_EINVAL);
	assert_int_equal(fic_lead_call_record(f->store, id, "email", 0, "x", NULL), FIC_EINVAL);
	assert_int_equal(fic_lead_call_record(f->store, id, NULL, 0, "x", NULL), FIC_EINVAL);
	assert_int_equal(fic_lead_call_record(f->store, id, "phone", 0, "", NULL), FIC_EINVAL);
	assert_int_equal(fic_lead_call_record(f->store, id, "phone", now + HOUR, "x", NULL), FIC_EINVAL);
	assert_int_equal(fic_lead_call_record(f->store, id, "phone", now - DAY, "x", NULL), FIC_EINVAL);
	assert_int_equal(fic_lead_call_record(f->store, "no-such-lead", "phone", 0, "x", NULL),
	                 FIC_ENOTFOUND);
	char big[FIC_CALL_TEXT_MAX + 2];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(fic_lead_call_record(f->store, id, "phone", 0, big, NULL), FIC_ETOOBIG);
	cJSON *j = lead_json(f, id);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "calls")), 0);
	cJSON_Delete(j);
}

/* ==== what a co-inspector keeps besides patrols ==== */

static cJSON *stats(fixture *f)
{
	char *t = NULL;
	OK_OR_FAIL(fic_stats_json(&t, f->store, 2026));
	return parsed(t);
}

/*
 * 实施方案 一(三)3 案件查办数量 and 一(三)4 普法宣传次数 are counted from what
 * the inspector records: publicity (普法五进: "进机关、进社区、进乡村、进学校、
 * 进企业", 二(四)4), training of water and school health staff, cases
 * assisted — each with date, place, audience, count and photos.
 */
static void publicity_and_cases_are_counted_as_indicators_3_and_4(void **state)
{
	fixture *f = *state;
	fic_activity a = FIC_ACTIVITY_INIT;
	a.kind = FIC_ACTIVITY_PUBLICITY;
	a.date = "2026-02-20";
	a.topic = "打击非法行医宣传";
	a.place = "石桥村村委会";
	a.audience = "村民";
	a.people = 86;
	a.channel = "villages";
	a.format = "讲座、发放资料";
	a.area = "medical_blood";
	char pub[FIC_UUID_BUFSIZE], id[FIC_UUID_BUFSIZE];
	OK_OR_FAIL(fic_activity_add(pub, f->store, &a));
	photo(f, FIC_PHOTO_ACTIVITY, pub, NULL);
	a.date = "2026-02-27";
	a.channel = "schools";
	a.topic = "学校传染病防控宣传";
	OK_OR_FAIL(fic_activity_add(id, f->store, &a));
	fic_activity t = FIC_ACTIVITY_INIT;
	t.kind = FIC_ACTIVITY_TRAINING;
	t.date = "2026-02-10";
	t.topic = "农村供水从业人员卫生知识培训";
	t.audience = "供水单位从业人员";
	t.people = 23;
	t.area = "drinking_water";
	OK_OR_FAIL(fic_activity_add(id, f->store, &t));
	fic_activity c = FIC_ACTIVITY_INIT;
	c.kind = FIC_ACTIVITY_CASE;
	c.date = "2026-02-28";
	c.topic = "协助查处集市游医案";
	OK_OR_FAIL(fic_activity_add(id, f->store, &c) == FIC_EINVAL ? FIC_OK : FIC_ERROR); /* no case number */
	c.case_ref = "渝卫执罚〔2026〕12号";
	OK_OR_FAIL(fic_activity_add(id, f->store, &c));
	cJSON *j = stats(f);
	const cJSON *ind = cJSON_GetObjectItemCaseSensitive(j, "indicators");
	assert_int_equal((int)num(cJSON_GetObjectItemCaseSensitive(ind, "cases_assisted"), "count"), 1);
	assert_int_equal((int)num(cJSON_GetObjectItemCaseSensitive(ind, "publicity_events"), "count"), 2);
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(ind, "publicity_events"), "section"),
	                    "实施方案 一(三)4");
	assert_int_equal((int)num(j, "trainings"), 1);
	cJSON_Delete(j);
	char *text = NULL;
	OK_OR_FAIL(fic_activity_list_json(&text, f->store, 2026, FIC_ACTIVITY_PUBLICITY));
	j = parsed(text);
	assert_int_equal(cJSON_GetArraySize(j), 2);
	const cJSON *last = cJSON_GetArrayItem(j, 1); /* newest first: the first one is last */
	assert_string_equal(str(last, "channel"), "villages");
	assert_int_equal((int)num(last, "people"), 86);
	assert_int_equal((int)num(last, "photos"), 1);
	cJSON_Delete(j);
	/* Refused: an unknown channel, a day not yet come, no topic. */
	a.channel = "markets";
	assert_int_equal(fic_activity_add(id, f->store, &a), FIC_EINVAL);
	a.channel = NULL;
	a.date = "2026-03-02";
	assert_int_equal(fic_activity_add(id, f->store, &a), FIC_EINVAL);
	a.date = "2026-02-20";
	a.topic = NULL;
	assert_int_equal(fic_activity_add(id, f->store, &a), FIC_EINVAL);
	assert_int_equal(fic_activity_add(id, NULL, &c), FIC_EINVAL);
	assert_int_equal(fic_activity_list_json(&text, f->store, 1999, 0), FIC_EINVAL);
}

/*
 * 饮用水 二: "协助开展饮用水水质抽检". A sample is recorded as it is taken —
 * its number, the point, the time, who took and who received it — and its
 * laboratory result is attached when the county sends it; a failed result
 * is the supply's latest verdict (red).
 */
static void a_water_sample_gets_its_laboratory_result_later(void **state)
{
	fixture *f = *state;
	char plant[FIC_UUID_BUFSIZE], id[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_WATER_RURAL, "石桥村集中供水站", plant);
	fic_sample s = FIC_SAMPLE_INIT;
	s.sample_no = "QG-W-2026-031";
	s.site_id = plant;
	s.point = "出厂水";
	s.received_by = "区疾控中心检验科 刘工";
	OK_OR_FAIL(fic_sample_add(id, f->store, &s));
	assert_int_equal(fic_sample_add(id, f->store, &s), FIC_EEXISTS);
	char *t = NULL;
	OK_OR_FAIL(fic_sample_list_json(&t, f->store, plant));
	cJSON *j = parsed(t);
	const cJSON *e = cJSON_GetArrayItem(j, 0);
	assert_string_equal(str(e, "taken_by"), "协管员-张敏"); /* the store's actor */
	assert_string_equal(str(e, "received_by"), "区疾控中心检验科 刘工");
	assert_null(cJSON_GetObjectItemCaseSensitive(e, "result"));
	cJSON_Delete(j);
	OK_OR_FAIL(fic_sample_result_set(f->store, "QG-W-2026-031", 0, "2026-03-06",
	                                 "菌落总数 180 CFU/mL，超标"));
	OK_OR_FAIL(fic_sample_list_json(&t, f->store, NULL));
	j = parsed(t);
	assert_string_equal(str(cJSON_GetArrayItem(j, 0), "result"), "fail");
	cJSON_Delete(j);
	OK_OR_FAIL(fic_water_status_json(&t, f->store));
	j = parsed(t);
	assert_string_equal(str(cJSON_GetArrayItem(j, 0), "colour"), "red");
	assert_string_equal(str(cJSON_GetArrayItem(j, 0), "source"), "lab");
	cJSON_Delete(j);
	assert_int_equal(fic_sample_result_set(f->store, "NO-SUCH", 1, "2026-03-06", NULL), FIC_ENOTFOUND);
	assert_int_equal(fic_sample_result_set(f->store, "QG-W-2026-031", 2, "2026-03-06", NULL), FIC_EINVAL);
	assert_int_equal(fic_sample_result_set(f->store, "QG-W-2026-031", 1, "2026-02-30", NULL), FIC_EINVAL);
	s.sample_no = "QG-W-2026-032";
	s.site_id = "no-such-site";
	assert_int_equal(fic_sample_add(id, f->store, &s), FIC_ENOTFOUND);
	s.site_id = plant;
	s.received_by = NULL;
	assert_int_equal(fic_sample_add(id, f->store, &s), FIC_EINVAL);
	s.received_by = "刘工";
	s.sample_no = "bad number with spaces";
	assert_int_equal(fic_sample_add(id, f->store, &s), FIC_EINVAL);
}

/*
 * 饮用水 三(二)3 and 学校卫生 三(二)3: a supply or school found outside the
 * registry is "新建本底档案 … 并通报主管机构". The site carries its authority;
 * the notice is recorded; a later change makes it due again.
 */
static void the_competent_authority_is_told_of_new_and_changed_sites(void **state)
{
	fixture *f = *state;
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "白沙村供水点";
	s.authority = "青杠镇人民政府";
	fic_site *site = NULL;
	OK_OR_FAIL(fic_site_add(&site, f->store, &s, "巡查发现，本底无"));
	char *t = NULL;
	OK_OR_FAIL(fic_authority_notices_due_json(&t, f->store));
	cJSON *j = parsed(t);
	assert_int_equal(cJSON_GetArraySize(j), 1);
	assert_string_equal(str(cJSON_GetArrayItem(j, 0), "reason"), "new_site");
	assert_string_equal(str(cJSON_GetArrayItem(j, 0), "authority"), "青杠镇人民政府");
	cJSON_Delete(j);
	char id[FIC_UUID_BUFSIZE];
	OK_OR_FAIL(fic_authority_notice_add(id, f->store, site->id, FIC_NOTICE_NEW_SITE, NULL, "phone",
	                                    "已电话告知镇水务站"));
	OK_OR_FAIL(fic_authority_notices_due_json(&t, f->store));
	j = parsed(t);
	assert_int_equal(cJSON_GetArraySize(j), 0);
	cJSON_Delete(j);
	fic_site ch = *site;
	ch.manager = "王五";
	OK_OR_FAIL(fic_site_update(NULL, f->store, &ch, "负责人变更"));
	OK_OR_FAIL(fic_authority_notices_due_json(&t, f->store));
	j = parsed(t);
	assert_int_equal(cJSON_GetArraySize(j), 1);
	assert_string_equal(str(cJSON_GetArrayItem(j, 0), "reason"), "changed");
	cJSON_Delete(j);
	/* No authority on record and none given: refused. */
	fic_site b = FIC_SITE_INIT;
	b.kind = FIC_SITE_SCHOOL;
	b.name = "村小";
	fic_site *school = NULL;
	OK_OR_FAIL(fic_site_add(&school, f->store, &b, NULL));
	assert_int_equal(fic_authority_notice_add(id, f->store, school->id, FIC_NOTICE_NEW_SITE, NULL,
	                                          "letter", NULL), FIC_EINVAL);
	OK_OR_FAIL(fic_authority_notice_add(id, f->store, school->id, FIC_NOTICE_NEW_SITE, "区教委",
	                                    "letter", NULL));
	assert_int_equal(fic_authority_notice_add(id, f->store, school->id, 9, "区教委", "letter", NULL),
	                 FIC_EINVAL);
	assert_int_equal(fic_authority_notice_add(id, f->store, school->id, FIC_NOTICE_CHANGED, "区教委",
	                                          "pigeon", NULL), FIC_EINVAL);
	/* A caller built with version 1 of fic_site still adds sites (no authority). */
	fic_site v1;
	memset(&v1, 0x5a, sizeof v1); /* what lies past version 1's struct is not read */
	OK_OR_FAIL(fic_site_init(&v1, 1));
	v1.kind = FIC_SITE_SCHOOL;
	v1.name = "老接口学校";
	fic_site *o = NULL;
	OK_OR_FAIL(fic_site_add(&o, f->store, &v1, NULL));
	assert_null(o->authority);
	fic_site_free(o);
	fic_site_free(school);
	fic_site_free(site);
}

/*
 * Seed 000: a water supply's public code shows 蓝色 for 合格, 红色 for 不合格.
 * The latest field test (饮用水 4) is the supply's verdict; a supply the
 * county publishes blue whose test fails today is flagged, at finishing and
 * in the export for the public display.
 */
static void a_supply_published_blue_while_its_test_fails_is_flagged(void **state)
{
	fixture *f = *state;
	county_site(f, "cq-w-0001", "{\"kind\":\"water_secondary\",\"name\":\"锦绣小区二次供水\","
	                            "\"water_status\":\"blue\"}");
	char good[FIC_UUID_BUFSIZE], insp[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_WATER_RURAL, "石桥村集中供水站", good);
	start(f, "cq-w-0001", "water.field_test", insp);
	answer(f, insp, "sample_point", "tap");
	answer(f, insp, "disinfectant", "free_chlorine");
	answer(f, insp, "colour_or_matter", "no");
	answer(f, insp, "odour", "no");
	answer(f, insp, "ph", "8.9"); /* urban 6.5–8.5 */
	answer(f, insp, "residual", "0.3");
	photo(f, FIC_PHOTO_INSPECTION, insp, "ph");
	char *t = NULL;
	OK_OR_FAIL(fic_inspection_finish(&t, f->store, insp));
	cJSON *j = parsed(t);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "published_blue_but_failing")));
	cJSON_Delete(j);
	start(f, good, "water.field_test", insp);
	answer(f, insp, "sample_point", "outlet");
	answer(f, insp, "disinfectant", "free_chlorine");
	answer(f, insp, "colour_or_matter", "no");
	answer(f, insp, "odour", "no");
	answer(f, insp, "ph", "7.2");
	answer(f, insp, "residual", "0.8");
	OK_OR_FAIL(fic_inspection_finish(&t, f->store, insp));
	j = parsed(t);
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "published_blue_but_failing"));
	cJSON_Delete(j);
	OK_OR_FAIL(fic_water_status_json(&t, f->store));
	j = parsed(t);
	assert_int_equal(cJSON_GetArraySize(j), 2);
	const cJSON *first = cJSON_GetArrayItem(j, 0), *second = cJSON_GetArrayItem(j, 1);
	assert_string_equal(str(first, "site_id"), "cq-w-0001"); /* flagged first */
	assert_string_equal(str(first, "colour"), "red");
	assert_string_equal(str(first, "published"), "blue");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(first, "flagged")));
	assert_string_equal(str(second, "colour"), "blue");
	assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(second, "flagged")));
	cJSON_Delete(j);
}

/*
 * 实施方案 三(一)3: the service keeps its 巡查巡访 and 信息报告 records. The
 * patrol register has a line per patrol — date, site, inspector, findings,
 * whether and to whom it was reported, how it was handled — the report
 * register a line per report; by month and area; as CSV and as a page to
 * print.
 */
static void the_registers_list_patrols_and_reports_by_month_and_area(void **state)
{
	fixture *f = *state;
	char plant[FIC_UUID_BUFSIZE], school[FIC_UUID_BUFSIZE], insp[FIC_UUID_BUFSIZE];
	add_site(f, FIC_SITE_WATER_RURAL, "石桥村<供水>站 & 泵房", plant);
	OK_OR_FAIL(tu_add_school(f->store, "青杠镇中心小学", 400));
	fic_site_list *l = NULL;
	OK_OR_FAIL(fic_site_search(&l, f->store, FIC_SITE_SCHOOL, NULL, 1));
	snprintf(school, sizeof school, "%s", l->sites[0]->id);
	fic_site_list_free(l);
	/* March: a water test with a finding (reported), a clean school visit. */
	fic_inspection_options io = FIC_INSPECTION_OPTIONS_INIT;
	io.visit_mode = FIC_VISIT_UNANNOUNCED;
	OK_OR_FAIL(fic_inspection_start_opts(insp, f->store, plant, "water.field_test", &io));
	answer(f, insp, "sample_point", "outlet");
	answer(f, insp, "disinfectant", "free_chlorine");
	answer(f, insp, "colour_or_matter", "no");
	answer(f, insp, "odour", "no");
	answer(f, insp, "ph", "9.8");
	answer(f, insp, "residual", "0.5");
	photo(f, FIC_PHOTO_INSPECTION, insp, "ph");
	OK_OR_FAIL(fic_inspection_finish(NULL, f->store, insp));
	clean_patrol(f, school, "school.disease_control");
	char lead[FIC_UUID_BUFSIZE];
	OK_OR_FAIL(fic_lead_file(lead, f->store, "event.foodborne", tu_foodborne_answers, NULL, 0, 0));
	OK_OR_FAIL(fic_lead_call_record(f->store, lead, "phone", 0, "区疾控中心 王医生", NULL));
	/* April: another school visit. */
	f->clock.wall_ms += 35 * DAY;
	clean_patrol(f, school, "school.disease_control");

	char *t = NULL;
	OK_OR_FAIL(fic_register_get(&t, f->store, FIC_REGISTER_PATROLS, "2026-03", NULL, FIC_REGISTER_JSON));
	cJSON *j = parsed(t);
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
	assert_int_equal(cJSON_GetArraySize(rows), 2);
	const cJSON *r = cJSON_GetArrayItem(rows, 0);
	assert_string_equal(str(r, "date"), "2026-03-01");
	assert_string_equal(str(r, "inspector"), "协管员-张敏");
	assert_string_equal(str(r, "visit_mode"), "暗访");
	assert_non_null(strstr(str(r, "findings"), "pH"));
	assert_string_equal(str(r, "reported"), "是");
	assert_string_equal(str(r, "report_to"), "卫生健康监督执法机构");
	assert_non_null(strstr(str(r, "handling"), "待上传"));
	assert_string_equal(str(cJSON_GetArrayItem(rows, 1), "reported"), "无需");
	cJSON_Delete(j);
	OK_OR_FAIL(fic_register_get(&t, f->store, FIC_REGISTER_PATROLS, "2026-03", "school", FIC_REGISTER_JSON));
	j = parsed(t);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "rows")), 1);
	cJSON_Delete(j);
	OK_OR_FAIL(fic_register_get(&t, f->store, FIC_REGISTER_PATROLS, NULL, NULL, FIC_REGISTER_JSON));
	j = parsed(t);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "rows")), 3); /* the year */
	cJSON_Delete(j);
	/* CSV: a header and a line per patrol, every cell quoted. */
	OK_OR_FAIL(fic_register_get(&t, f->store, FIC_REGISTER_PATROLS, "2026-03", NULL, FIC_REGISTER_CSV));
	int lines = 0;
	for (const char *p = t; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 3);
	assert_non_null(strstr(t, "\"日期\",\"被巡查单位\""));
	fic_free(t);
	/* HTML to print: the name escaped. */
	OK_OR_FAIL(fic_register_get(&t, f->store, FIC_REGISTER_PATROLS, "2026-03", NULL, FIC_REGISTER_HTML));
	assert_non_null(strstr(t, "<h1>卫生监督协管巡查登记表</h1>"));
	assert_non_null(strstr(t, "石桥村&lt;供水&gt;站 &amp; 泵房"));
	assert_null(strstr(t, "<供水>"));
	fic_free(t);
	/* The report register: the foodborne report with its call. */
	OK_OR_FAIL(fic_register_get(&t, f->store, FIC_REGISTER_REPORTS, "2026-03", NULL, FIC_REGISTER_JSON));
	j = parsed(t);
	rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
	assert_int_equal(cJSON_GetArraySize(rows), 2); /* the water finding and the foodborne report */
	const cJSON *food = cJSON_GetArrayItem(rows, 1);
	assert_string_equal(str(food, "urgency"), "两小时内");
	assert_non_null(strstr(str(food, "report_to"), "区县疾病预防控制机构"));
	assert_non_null(strstr(str(food, "report_to"), "电话"));
	assert_string_equal(str(food, "inspector"), "协管员-张敏");
	cJSON_Delete(j);
	assert_int_equal(fic_register_get(&t, f->store, 3, NULL, NULL, FIC_REGISTER_JSON), FIC_EINVAL);
	assert_int_equal(fic_register_get(&t, f->store, FIC_REGISTER_PATROLS, "2026-13", NULL,
	                                  FIC_REGISTER_JSON), FIC_EINVAL);
	assert_int_equal(fic_register_get(&t, f->store, FIC_REGISTER_PATROLS, NULL, NULL, 9), FIC_EINVAL);
	assert_int_equal(fic_register_get(NULL, f->store, FIC_REGISTER_PATROLS, NULL, NULL,
	                                  FIC_REGISTER_JSON), FIC_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(the_same_violation_found_again_is_reported_immediately,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(an_assigned_reinspection_has_no_reporting_clock, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(an_item_has_one_reporting_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(the_reinspection_closes_the_task_of_a_time_sensitive_lead,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(a_stall_found_on_patrol_opens_a_one_month_task, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(tasks_close_by_reinspection_or_by_hand, setup, teardown),
		cmocka_unit_test_setup_teardown(task_complete_refuses_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(a_tip_off_about_two_non_runs_on_the_two_hour_clock_from_receipt,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(every_two_hour_subject_is_routed_and_others_are_not, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(a_12345_tip_off_carries_its_ticket_number, setup, teardown),
		cmocka_unit_test_setup_teardown(routes_are_checked_when_a_form_is_loaded, setup, teardown),
		cmocka_unit_test_setup_teardown(a_site_found_closed_is_recorded_with_its_proof_photo, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(a_changed_site_keeps_its_checklist_and_needs_its_proof,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(a_registry_change_outside_an_inspection_files_its_report,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(site_report_refuses_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(a_correction_does_not_inflate_the_report_rate, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(an_mch_patrol_of_a_hospital_counts_on_the_mch_line, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(an_mch_institution_runs_the_licensed_institution_checklist,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(the_county_sets_how_often_each_area_is_patrolled, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(a_county_area_appears_in_the_due_list_and_the_stats, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(semesters_and_the_plan_come_from_the_county, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(a_malformed_plan_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(a_foodborne_report_says_where_it_came_from_and_the_diagnosis,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(the_foodborne_duty_is_a_call_recorded_apart_from_the_upload,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(a_call_record_refuses_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(publicity_and_cases_are_counted_as_indicators_3_and_4,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(a_water_sample_gets_its_laboratory_result_later, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(the_competent_authority_is_told_of_new_and_changed_sites,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(a_supply_published_blue_while_its_test_fails_is_flagged,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(the_registers_list_patrols_and_reports_by_month_and_area,
		                                setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
