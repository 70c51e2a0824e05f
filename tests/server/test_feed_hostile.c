/*
 * tests/server/test_feed_hostile.c — hostile county data never stalls sync.
 *
 * Every string field of every feed (sites, tasks, checklists) carries in
 * turn a quote, a backslash, a newline, control characters, bad UTF-8,
 * 4-byte characters and a 64 KiB string, through the real server. The pull
 * must end normally; each item is either applied exactly as sent or skipped
 * and counted (never the page refused); an id outside the documented
 * character set is never applied; and afterwards a patrol at the county's
 * sites pushes through whole — records, every audit entry, photos. An audit
 * entry or outbox row damaged on disk is set aside and shown, and the rest
 * of the pass goes on.
 */
#include "e2e.h"
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

#define COUNTY "石柱县"

static char big[64 * 1024 + 1];

/* The hostile values; [0..3] and [5] are valid text, [4] is not UTF-8, [6] too long. */
static const char *hostile[7];
enum { N_HOSTILE = 7, BAD_UTF8 = 4, FOUR_BYTE = 5, BIG = 6 };

static int setup(void **state)
{
	memset(big, 'x', sizeof big - 1);
	hostile[0] = "cq\"1";
	hostile[1] = "a\\b";
	hostile[2] = "line1\nline2";
	hostile[3] = "ctl\x01\x1f\x7f";
	hostile[4] = "bad\xff\xfe\xc0\x80utf8";
	hostile[5] = "𠀋😀 石柱";
	hostile[6] = big;
	return e2e_setup(state);
}

/* Site fields that hold text, with where fic_site keeps them. */
static const struct {
	const char *name;
	size_t off;
} site_text[] = {
	{ "name", offsetof(fic_site, name) },
	{ "address", offsetof(fic_site, address) },
	{ "credit_code", offsetof(fic_site, credit_code) },
	{ "place_code", offsetof(fic_site, place_code) },
	{ "legal_rep", offsetof(fic_site, legal_rep) },
	{ "manager", offsetof(fic_site, manager) },
	{ "licence_no", offsetof(fic_site, licence_no) },
	{ "licence_scope", offsetof(fic_site, licence_scope) },
	{ "licence_valid_from", offsetof(fic_site, licence_valid_from) },
	{ "licence_valid_to", offsetof(fic_site, licence_valid_to) },
	{ "note", offsetof(fic_site, note) },
};
#define N_SITE_TEXT (sizeof site_text / sizeof site_text[0])
/* Site fields that hold a code from a fixed list. */
static const char *const site_codes[] = { "kind", "status", "school_level", "med_registration",
	                                   "institution_type", "industry", "hazard_level",
	                                   "venue_type" };
#define N_SITE_CODES (sizeof site_codes / sizeof site_codes[0])
static const char *const task_text[] = { "kind", "site_id", "due_date", "detail", "state" };
#define N_TASK_TEXT (sizeof task_text / sizeof task_text[0])

static void load_array(e2e *f, const char *feed, cJSON *arr)
{
	char *json = cJSON_PrintUnformatted(arr);
	assert_non_null(json);
	e2e_load(f, feed, COUNTY, json);
	free(json);
	cJSON_Delete(arr);
}

static cJSON *school(const char *id)
{
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "id", id);
	cJSON_AddStringToObject(s, "kind", "school");
	cJSON_AddStringToObject(s, "name", "石柱县南宾小学");
	return s;
}

/* Load hostile sites; returns how many items. */
static int load_sites(e2e *f)
{
	cJSON *arr = cJSON_CreateArray();
	char id[32];
	int n = 0;
	for (size_t fi = 0; fi < N_SITE_TEXT; fi++) {
		for (int vi = 0; vi < N_HOSTILE; vi++, n++) {
			snprintf(id, sizeof id, "h-site-%zu-%d", fi, vi);
			cJSON *s = school(id);
			cJSON_DeleteItemFromObject(s, site_text[fi].name);
			cJSON_AddStringToObject(s, site_text[fi].name, hostile[vi]);
			cJSON_AddItemToArray(arr, s);
		}
	}
	for (size_t fi = 0; fi < N_SITE_CODES; fi++) {
		for (int vi = 0; vi < N_HOSTILE; vi++, n++) {
			snprintf(id, sizeof id, "h-code-%zu-%d", fi, vi);
			cJSON *s = school(id);
			cJSON_DeleteItemFromObject(s, site_codes[fi]);
			cJSON_AddStringToObject(s, site_codes[fi], hostile[vi]);
			cJSON_AddItemToArray(arr, s);
		}
	}
	/* Hostile ids (the server's own load refuses ids over 64 bytes). */
	for (int vi = 0; vi < BIG; vi++, n++)
		cJSON_AddItemToArray(arr, school(hostile[vi]));
	cJSON_AddItemToArray(arr, school("cq-sz-ok")), n++;
	load_array(f, "sites", arr);
	return n;
}

static int load_tasks(e2e *f)
{
	cJSON *arr = cJSON_CreateArray();
	char id[32];
	int n = 0;
	for (size_t fi = 0; fi < N_TASK_TEXT; fi++) {
		for (int vi = 0; vi < N_HOSTILE; vi++, n++) {
			snprintf(id, sizeof id, "h-task-%zu-%d", fi, vi);
			cJSON *t = cJSON_CreateObject();
			cJSON_AddStringToObject(t, "id", id);
			cJSON_AddStringToObject(t, "kind", "reinspect");
			cJSON_DeleteItemFromObject(t, task_text[fi]);
			cJSON_AddStringToObject(t, task_text[fi], hostile[vi]);
			cJSON_AddItemToArray(arr, t);
		}
	}
	for (int vi = 0; vi < BIG; vi++, n++) {
		cJSON *t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "id", hostile[vi]);
		cJSON_AddStringToObject(t, "kind", "reinspect");
		cJSON_AddItemToArray(arr, t);
	}
	load_array(f, "tasks", arr);
	return n;
}

/* Checklists: a copy of a built-in definition under a county id, with one
 * hostile text (its id, title or first item's label) each. */
static int load_checklists(e2e *f)
{
	char *def;
	assert_int_equal(fic_checklist_get_json(&def, f->store, "school.water", 0), FIC_OK);
	cJSON *base = cJSON_Parse(def);
	fic_free(def);
	cJSON *arr = cJSON_CreateArray();
	int n = 0;
	for (size_t fi = 0; fi < 3; fi++) {
		for (int vi = 0; vi < N_HOSTILE; vi++, n++) {
			if (fi == 0 && vi == BIG) { /* the server's load refuses such an id */
				n--;
				continue;
			}
			cJSON *d = cJSON_Duplicate(base, 1);
			char id[40];
			snprintf(id, sizeof id, "county.h%zu%c", fi, 'a' + vi);
			cJSON_ReplaceItemInObject(d, "id", cJSON_CreateString(fi == 0 ? hostile[vi] : id));
			if (fi == 1)
				cJSON_ReplaceItemInObject(d, "title", cJSON_CreateString(hostile[vi]));
			if (fi == 2) {
				cJSON *items = cJSON_GetObjectItem(d, "items");
				cJSON_ReplaceItemInObject(cJSON_GetArrayItem(items, 0), "label",
				                          cJSON_CreateString(hostile[vi]));
			}
			cJSON_AddItemToArray(arr, d);
		}
	}
	cJSON_Delete(base);
	load_array(f, "checklists", arr);
	return n;
}

static bool site_exists(e2e *f, const char *id)
{
	fic_site *s;
	int rc = fic_site_get(&s, f->store, id);
	fic_site_free(rc == FIC_OK ? s : NULL);
	return rc == FIC_OK;
}

static void hostile_values_in_every_feed_field_never_stall_sync(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, COUNTY);
	int items = load_sites(f) + load_tasks(f) + load_checklists(f);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = fic_sync_pull(f->store, &f->opts, &rep);
	if (rc != FIC_OK)
		fail_msg("the pull stalled: %s", fic_error_last()->message);
	/* Every item accounted for: applied, unchanged or refused on its own. */
	assert_int_equal(rep.pulled + rep.pull_skipped + rep.pull_invalid, items);
	assert_true(rep.pull_invalid > 0);
	assert_true(rep.pulled > 0);

	/* Text fields: applied exactly as sent, or not at all. */
	char id[32];
	for (size_t fi = 0; fi < N_SITE_TEXT; fi++) {
		for (int vi = 0; vi < N_HOSTILE; vi++) {
			snprintf(id, sizeof id, "h-site-%zu-%d", fi, vi);
			fic_site *s;
			if (fic_site_get(&s, f->store, id) != FIC_OK) {
				continue;
			}
			const char *got = *(const char *const *)((const char *)s + site_text[fi].off);
			assert_non_null(got);
			assert_string_equal(got, hostile[vi]);
			fic_site_free(s);
		}
		/* Never bad UTF-8, never 64 KiB. */
		snprintf(id, sizeof id, "h-site-%zu-%d", fi, BAD_UTF8);
		assert_false(site_exists(f, id));
		snprintf(id, sizeof id, "h-site-%zu-%d", fi, BIG);
		assert_false(site_exists(f, id));
	}
	/* A name with 4-byte characters, quotes and backslashes is kept exactly. */
	assert_true(site_exists(f, "h-site-0-5"));
	assert_true(site_exists(f, "h-site-0-0"));
	assert_true(site_exists(f, "h-site-0-1"));
	/* No code field takes a hostile value. */
	for (size_t fi = 0; fi < N_SITE_CODES; fi++)
		for (int vi = 0; vi < N_HOSTILE; vi++) {
			snprintf(id, sizeof id, "h-code-%zu-%d", fi, vi);
			assert_false(site_exists(f, id));
		}
	/* No id outside the character set is applied, in any feed. */
	assert_true(site_exists(f, "cq-sz-ok"));
	assert_int_equal(e2e_query_int(f, "SELECT count(*) FROM sites WHERE id GLOB '*[^A-Za-z0-9._-]*'"),
	                 0);
	assert_int_equal(e2e_query_int(f, "SELECT count(*) FROM tasks WHERE id GLOB '*[^A-Za-z0-9._-]*'"),
	                 0);
	assert_int_equal(e2e_query_int(f, "SELECT count(*) FROM checklists WHERE id GLOB "
	                                  "'*[^A-Za-z0-9._-]*'"), 0);
	assert_int_equal(e2e_query_int(f, "SELECT count(*) FROM tasks WHERE length(detail) > 4000"), 0);

	/* The feed is done: the next pull finds nothing new. */
	assert_int_equal(fic_sync_pull(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.pulled + rep.pull_invalid + rep.pull_skipped, 0);

	/* A patrol at the county's hostile-named sites pushes through whole. */
	static const char *const visit[] = { "h-site-0-0", "h-site-0-1", "h-site-0-2", "h-site-0-5",
		                             "cq-sz-ok" };
	for (size_t i = 0; i < sizeof visit / sizeof visit[0]; i++) {
		char insp[FIC_UUID_BUFSIZE], lead[FIC_UUID_BUFSIZE];
		if (fic_inspection_start(insp, f->store, visit[i], "school.water") != FIC_OK)
			fail_msg("%s: %s", visit[i], fic_error_last()->message);
		assert_int_equal(fic_lead_file(lead, f->store, "lead.tip_off", tu_tip_off_answers, visit[i],
		                               0, 0), FIC_OK);
	}
	size_t len;
	unsigned char *jpg = tu_make_jpeg(640, 480, 3, 0, 90, &len);
	char pid[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_photo_add_buffer(pid, f->store, FIC_PHOTO_SITE, "h-site-0-0", NULL, jpg, len,
	                                      NULL), FIC_OK);
	free(jpg);
	rc = fic_sync_push(f->store, &f->opts, &rep);
	if (rc != FIC_OK)
		fail_msg("the push stalled: %s", fic_error_last()->message);
	assert_int_equal(rep.set_aside, 0);
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(rep.photos_sent, 1);
	assert_int_equal(rep.audit_sent, e2e_query_int(f, "SELECT count(*) FROM audit"));
	assert_int_equal(e2e_query_int(f, "SELECT count(*) FROM audit WHERE NOT json_valid(detail)"), 0);
	assert_int_equal(e2e_query_int(f, "SELECT count(*) FROM outbox WHERE state <> 'acked'"), 0);
	assert_int_equal(fic_store_check(f->store), FIC_OK);
}

static void a_damaged_audit_entry_or_record_is_set_aside_and_the_pass_goes_on(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, COUNTY);
	char lead[FIC_UUID_BUFSIZE], bad_lead[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(lead, f->store, "lead.tip_off", tu_tip_off_answers, NULL, 0, 0),
	                 FIC_OK);
	assert_int_equal(fic_lead_file(bad_lead, f->store, "lead.tip_off", tu_tip_off_answers, NULL, 0, 0),
	                 FIC_OK);
	size_t len;
	unsigned char *jpg = tu_make_jpeg(640, 480, 3, 0, 90, &len);
	char pid[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_photo_add_buffer(pid, f->store, FIC_PHOTO_LEAD, lead, NULL, jpg, len, NULL),
	                 FIC_ESTATE); /* submitted leads are frozen: a site photo instead */
	fic_site s = FIC_SITE_INIT, *out;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "大河村集中供水站";
	assert_int_equal(fic_site_add(&out, f->store, &s, "巡查发现"), FIC_OK);
	assert_int_equal(fic_photo_add_buffer(pid, f->store, FIC_PHOTO_SITE, out->id, NULL, jpg, len,
	                                      NULL), FIC_OK);
	fic_site_free(out);
	free(jpg);
	/* Damage on disk: an audit entry whose detail is not JSON (as an older
	 * version's hand-made JSON could be), and a queued record's payload. */
	assert_int_equal(sqlite3_exec(f->store->db,
	                              "INSERT INTO audit (at_ms, mono_ms, boot_id, actor, action, entity,"
	                              " entity_id, detail) SELECT at_ms, mono_ms, boot_id, actor, "
	                              "'inspection.start', 'inspection', 'x', "
	                              "'{\"site\":\"cq\"1\",\"version\":1}' FROM audit LIMIT 1",
	                              NULL, NULL, NULL), SQLITE_OK);
	char sql[200];
	snprintf(sql, sizeof sql, "UPDATE outbox SET payload = 'not json{' WHERE record_id = '%s'",
	         bad_lead);
	assert_int_equal(sqlite3_exec(f->store->db, sql, NULL, NULL, NULL), SQLITE_OK);
	int64_t entries = e2e_query_int(f, "SELECT count(*) FROM audit");

	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = fic_sync_push(f->store, &f->opts, &rep);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	assert_int_equal(rep.set_aside, 2);
	assert_int_equal(rep.photos_sent, 1); /* photos still go */
	/* Every readable audit entry went, including those the pass itself wrote. */
	int64_t now_entries = e2e_query_int(f, "SELECT count(*) FROM audit");
	assert_true(now_entries > entries);
	assert_int_equal(rep.audit_sent, now_entries - 1);
	assert_int_equal(county_record_count(f->server, "audit"), now_entries - 1);
	/* Both are shown to the user with why. */
	fic_sync_rejection_list *l;
	assert_int_equal(fic_sync_rejections_get(&l, f->store), FIC_OK);
	assert_int_equal(l->count, 2);
	int audit = 0, leads = 0;
	for (size_t i = 0; i < l->count; i++) {
		if (strcmp(l->entries[i].record_type, "audit") == 0) {
			audit++;
			assert_non_null(strstr(l->entries[i].reason, "could not be read"));
		} else if (strcmp(l->entries[i].record_type, "lead") == 0) {
			leads++;
			assert_string_equal(l->entries[i].record_id, bad_lead);
		}
	}
	fic_sync_rejection_list_free(l);
	assert_int_equal(audit, 1);
	assert_int_equal(leads, 1);
	/* The damaged lead is marked rejected; the good one delivered. */
	snprintf(sql, sizeof sql, "SELECT state FROM leads WHERE id = '%s'", bad_lead);
	char st[16];
	e2e_query_text(f, sql, st, sizeof st);
	assert_string_equal(st, "rejected");
	snprintf(sql, sizeof sql, "SELECT state FROM leads WHERE id = '%s'", lead);
	e2e_query_text(f, sql, st, sizeof st);
	assert_string_equal(st, "delivered");
	/* And the next pass has nothing left to do. */
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.set_aside, 0);
	assert_int_equal(rep.audit_sent + rep.stored, 0);
}

/* A server that answers the sites feed with a page of its own making. */
typedef struct crafted {
	fic_transport table;
	fic_transport *real;
	const char *sites_page;
} crafted;

static int crafted_request(void *ctx, const fic_http_request *q, fic_http_response *r)
{
	crafted *c = ctx;
	if (!strstr(q->url, "/v1/feeds/sites"))
		return c->real->request(c->real->ctx, q, r);
	memset(r, 0, sizeof *r);
	r->status = 200;
	r->server_time_ms = r->retry_after_ms = r->upload_offset = -1;
	r->body_len = strlen(c->sites_page);
	r->body = fic__malloc(r->body_len + 1);
	memcpy(r->body, c->sites_page, r->body_len + 1);
	return FIC_OK;
}

static void a_bad_item_in_a_page_is_skipped_not_the_page(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, COUNTY);
	/* Items a broken or hostile server might send: no id, an id of the wrong
	 * type, an id with a quote, an unknown op, not an object, no data — in
	 * one page with two good items. */
	crafted c = { .table = { FIC_TRANSPORT_VERSION, NULL, crafted_request, NULL, 0 },
		      .real = f->transport,
		      .sites_page = "{\"items\":["
		                    "{\"id\":\"cq-sz-1\",\"op\":\"upsert\",\"data\":{\"kind\":\"school\","
		                    "\"name\":\"甲校\"}},"
		                    "{\"op\":\"upsert\",\"data\":{\"kind\":\"school\",\"name\":\"乙\"}},"
		                    "{\"id\":7,\"op\":\"upsert\"},"
		                    "{\"id\":\"cq\\\"1\",\"op\":\"upsert\",\"data\":{\"kind\":\"school\","
		                    "\"name\":\"丙\"}},"
		                    "{\"id\":\"x\",\"op\":\"explode\"},"
		                    "\"not an object\","
		                    "{\"id\":\"cq-sz-3\",\"op\":\"upsert\"},"
		                    "{\"id\":\"cq-sz-2\",\"op\":\"upsert\",\"data\":{\"kind\":\"school\","
		                    "\"name\":\"丁校\"}}"
		                    "],\"cursor\":\"9\",\"more\":false}" };
	c.table.ctx = &c;
	fic_sync_options o = f->opts;
	o.transport = &c.table;
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = fic_sync_pull(f->store, &o, &rep);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	assert_int_equal(rep.pulled, 2);
	assert_int_equal(rep.pull_invalid, 6);
	assert_true(site_exists(f, "cq-sz-1"));
	assert_true(site_exists(f, "cq-sz-2"));
	assert_int_equal(e2e_query_int(f, "SELECT count(*) FROM sites"), 2);
	/* The cursor moved past the page: it is not fetched again. */
	char cur[16];
	e2e_query_text(f, "SELECT value FROM sync_state WHERE key = 'feed.sites.cursor'", cur, sizeof cur);
	assert_string_equal(cur, "9");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, e2e_teardown)
	const struct CMUnitTest tests[] = {
		T(hostile_values_in_every_feed_field_never_stall_sync),
		T(a_damaged_audit_entry_or_record_is_set_aside_and_the_pass_goes_on),
		T(a_bad_item_in_a_page_is_skipped_not_the_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
