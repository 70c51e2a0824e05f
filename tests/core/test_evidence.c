/*
 * tests/core/test_evidence.c — leads as evidence: the lifecycle (draft,
 * submitted and queued, delivered or rejected; frozen once
 * submitted; corrections), the hash chain and its verification on the device
 * and as the server sees it, tampering detected, and trusted time (clock
 * changes, reboots, deadlines and the at-risk state).
 */
#include "testutil.h"
#include "internal.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define MIN 60000LL
#define HOUR (60 * MIN)

typedef struct fixture {
	char *dir, *path;
	fic_platform platform;
	tu_clock clock;
	fic_store *store;
	char site[FIC_UUID_BUFSIZE];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->dir = tu_mkdtemp();
	f->path = tu_path(f->dir, "store.db");
	tu_platform(&f->platform, &f->clock);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	assert_int_equal(fic_store_open(&f->store, f->path, &o), FIC_OK);
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_SCHOOL;
	s.name = "中心小学";
	fic_site *out;
	assert_int_equal(fic_site_add(&out, f->store, &s, NULL), FIC_OK);
	strcpy(f->site, out->id);
	fic_site_free(out);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	fic_store_close(f->store);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->path);
	free(f);
	return 0;
}

static const char cluster[] =
	"{\"unit_type\":\"class\",\"unit_name\":\"三年级二班\",\"first_date\":\"2026-03-01\","
	"\"daily_cases\":\"3\",\"symptoms\":[\"vomiting\"],\"similar_symptoms\":\"yes\","
	"\"shared_meal_or_water\":\"no\",\"verified\":\"yes\"}";

static cJSON *lead(fixture *f, const char *id)
{
	char *t;
	assert_int_equal(fic_lead_get_json(&t, f->store, id), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	return j;
}

static const char *jstr(cJSON *j, const char *k)
{
	cJSON *v = cJSON_GetObjectItem(j, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static void exec(fixture *f, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(f->store->db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static void a_draft_takes_photos_then_is_frozen_when_submitted(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE], pid[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "event.school_cluster", cluster, f->site, 0,
	                               FIC_LEAD_DRAFT), FIC_OK);
	cJSON *j = lead(f, id);
	assert_string_equal(jstr(j, "state"), "draft");
	assert_null(cJSON_GetObjectItem(j, "hash"));
	cJSON_Delete(j);
	size_t len;
	unsigned char *jpg = tu_make_jpeg(64, 48, 3, 0, 85, &len);
	assert_int_equal(fic_photo_add_buffer(pid, f->store, FIC_PHOTO_LEAD, id, NULL, jpg, len, NULL), FIC_OK);
	assert_int_equal(fic_lead_submit(f->store, id), FIC_OK);
	j = lead(f, id);
	assert_string_equal(jstr(j, "state"), "queued");
	assert_int_equal(strlen(jstr(j, "hash")), 64);
	assert_int_equal(cJSON_GetObjectItem(j, "chain_seq")->valueint, 1);
	cJSON_Delete(j);
	/* Frozen: no more photos, no second submission. */
	char pid2[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_photo_add_buffer(pid2, f->store, FIC_PHOTO_LEAD, id, NULL, jpg, len, NULL),
	                 FIC_ESTATE);
	assert_int_equal(fic_lead_submit(f->store, id), FIC_ESTATE);
	assert_int_equal(fic_lead_submit(f->store, "nope"), FIC_ENOTFOUND);
	/* The chained form names the photo by its hash. */
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT canonical FROM chain WHERE seq = 1",
	                                    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	fic_photo *p;
	assert_int_equal(fic_photo_get(&p, f->store, pid), FIC_OK);
	assert_non_null(strstr((const char *)sqlite3_column_text(st, 0), p->sha256));
	fic_photo_free(p);
	sqlite3_finalize(st);
	/* A correction is a new record that refers to it. */
	char cid[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_correct(cid, f->store, id, "班级应为三年级一班"), FIC_OK);
	j = lead(f, cid);
	assert_string_equal(jstr(j, "category"), "correction");
	assert_string_equal(jstr(j, "corrects"), id);
	assert_string_equal(jstr(j, "state"), "queued");
	assert_int_equal(cJSON_GetObjectItem(j, "chain_seq")->valueint, 2);
	cJSON_Delete(j);
	assert_int_equal(fic_lead_correct(cid, f->store, "nope", "x"), FIC_ENOTFOUND);
	assert_int_equal(fic_lead_correct(cid, f->store, id, ""), FIC_EINVAL);
	char draft[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(draft, f->store, "event.school_cluster", cluster, f->site, 0,
	                               FIC_LEAD_DRAFT), FIC_OK);
	assert_int_equal(fic_lead_correct(cid, f->store, draft, "x"), FIC_ESTATE);
	assert_int_equal(fic_lead_file(draft, f->store, "event.school_cluster", cluster, f->site, 0, 8),
	                 FIC_EINVAL);
	assert_int_equal(fic_evidence_verify(NULL, f->store), FIC_OK);
	free(jpg);
}

static void the_server_side_states_follow_the_lifecycle(void **state)
{
	fixture *f = *state;
	char a[FIC_UUID_BUFSIZE], b[FIC_UUID_BUFSIZE], d[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(a, f->store, "event.school_cluster", cluster, f->site, 0, 0), FIC_OK);
	assert_int_equal(fic_lead_file(b, f->store, "event.school_cluster", cluster, f->site, 0, 0), FIC_OK);
	assert_int_equal(fic_lead_file(d, f->store, "event.school_cluster", cluster, f->site, 0,
	                               FIC_LEAD_DRAFT), FIC_OK);
	/* A draft was never sent; only the server's answers move a queued lead. */
	assert_int_equal(fic__lead_mark(f->store, d, "delivered", "R-1", 1, NULL), FIC_ESTATE);
	assert_int_equal(fic__lead_mark(f->store, a, "sent", NULL, 0, NULL), FIC_EINVAL);
	assert_int_equal(fic__lead_mark(f->store, a, "delivered", "R-2026-0001", 1772352600000LL, NULL),
	                 FIC_OK);
	/* A later answer never moves a delivered lead back (the SMS fallback's
	 * confirmation comes before the data upload's answer). */
	assert_int_equal(fic__lead_mark(f->store, a, "rejected", NULL, 0, "x"), FIC_OK);
	assert_int_equal(fic__lead_mark(f->store, a, "delivered", "R-other", 2, NULL), FIC_OK);
	assert_int_equal(fic__lead_mark(f->store, b, "rejected", NULL, 0, "表单缺少联系电话"), FIC_OK);
	cJSON *j = lead(f, a);
	assert_string_equal(jstr(j, "state"), "delivered");
	assert_string_equal(jstr(j, "receipt_id"), "R-2026-0001");
	assert_int_equal((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "receipt_at_ms")),
	                 1772352600000LL);
	cJSON_Delete(j);
	j = lead(f, b);
	assert_string_equal(jstr(j, "state"), "rejected");
	assert_string_equal(jstr(j, "reject_reason"), "表单缺少联系电话");
	cJSON_Delete(j);
	/* Near the deadline (clock verified by a contact): the delivered lead is not at
	 * risk, the rejected one is. */
	assert_int_equal(fic_time_contact(f->store, f->clock.wall_ms, 0), FIC_OK);
	f->clock.wall_ms += 100 * MIN;
	f->clock.mono_ms += 100 * MIN;
	fic_lead_list *l;
	assert_int_equal(fic_lead_list_get(&l, f->store, 0), FIC_OK);
	int checked = 0;
	for (size_t i = 0; i < l->count; i++) {
		if (strcmp(l->entries[i].id, a) == 0) {
			assert_false(l->entries[i].at_risk);
			checked++;
		}
		if (strcmp(l->entries[i].id, b) == 0) {
			assert_true(l->entries[i].at_risk);
			checked++;
		}
	}
	assert_int_equal(checked, 2);
	fic_lead_list_free(l);
}

static void tampering_is_detected(void **state)
{
	fixture *f = *state;
	char ids[4][FIC_UUID_BUFSIZE], pid[FIC_UUID_BUFSIZE];
	size_t len;
	unsigned char *jpg = tu_make_jpeg(64, 48, 3, 0, 85, &len);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(fic_lead_file(ids[i], f->store, "event.school_cluster", cluster, f->site, 0,
		                               FIC_LEAD_DRAFT), FIC_OK);
		if (i == 0)
			assert_int_equal(fic_photo_add_buffer(pid, f->store, FIC_PHOTO_LEAD, ids[i], NULL, jpg,
			                                      len, NULL), FIC_OK);
		assert_int_equal(fic_lead_submit(f->store, ids[i]), FIC_OK);
	}
	char *report;
	assert_int_equal(fic_evidence_verify(&report, f->store), FIC_OK);
	cJSON *r = cJSON_Parse(report);
	fic_free(report);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "checked"), "chain_entries")->valueint, 4);
	cJSON_Delete(r);

	/* 1. one byte of a stored photo */
	fic_photo *p;
	assert_int_equal(fic_photo_get(&p, f->store, pid), FIC_OK);
	FILE *fp = fopen(p->path, "r+b");
	fseek(fp, (long)len / 2, SEEK_SET);
	int c = fgetc(fp);
	fseek(fp, (long)len / 2, SEEK_SET);
	fputc(c ^ 1, fp);
	fclose(fp);
	fic_photo_free(p);
	assert_int_equal(fic_evidence_verify(&report, f->store), FIC_ECORRUPT);
	assert_non_null(strstr(report, "photo_altered"));
	assert_non_null(strstr(report, pid));
	fic_free(report);

	/* 2. a submitted lead edited in the database */
	char sql[300];
	snprintf(sql, sizeof sql, "UPDATE leads SET content = replace(content, '三年级二班', '三年级一班') "
	         "WHERE id = '%s'", ids[1]);
	exec(f, sql);
	assert_int_equal(fic_evidence_verify(&report, f->store), FIC_ECORRUPT);
	assert_non_null(strstr(report, "record_altered"));
	assert_non_null(strstr(report, ids[1]));
	fic_free(report);
	snprintf(sql, sizeof sql, "UPDATE leads SET urgent = 0 WHERE id = '%s'", ids[3]);
	exec(f, sql);
	assert_int_equal(fic_evidence_verify(&report, f->store), FIC_ECORRUPT);
	assert_non_null(strstr(report, ids[3]));
	fic_free(report);

	/* 3. an entry deleted from the middle of the chain (past its trigger) */
	exec(f, "DROP TRIGGER chain_no_delete; DELETE FROM chain WHERE seq = 3;");
	assert_int_equal(fic_evidence_verify(&report, f->store), FIC_ECORRUPT);
	assert_non_null(strstr(report, "chain_gap"));
	assert_non_null(strstr(report, "chain_entry_missing"));
	assert_non_null(strstr(report, ids[2]));
	fic_free(report);

	/* 4. a chain entry rewritten in place */
	exec(f, "DROP TRIGGER chain_no_update; UPDATE chain SET canonical = replace(canonical, "
	        "'\"urgent\":1', '\"urgent\":0') WHERE seq = 1;");
	assert_int_equal(fic_evidence_verify(&report, f->store), FIC_ECORRUPT);
	assert_non_null(strstr(report, "chain_hash"));
	fic_free(report);
	assert_int_equal(fic_evidence_verify(NULL, NULL), FIC_EINVAL);
	free(jpg);
}

/* The chain as the server receives it: [{seq, hash, canonical}, ...]. */
static char *chain_json(fixture *f)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT seq, hash, canonical FROM chain ORDER "
	                                    "BY seq", -1, &st, NULL), SQLITE_OK);
	cJSON *a = cJSON_CreateArray();
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "seq", (double)sqlite3_column_int64(st, 0));
		cJSON_AddStringToObject(e, "hash", (const char *)sqlite3_column_text(st, 1));
		cJSON_AddStringToObject(e, "canonical", (const char *)sqlite3_column_text(st, 2));
		cJSON_AddItemToArray(a, e);
	}
	sqlite3_finalize(st);
	char *t = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return t;
}

static void the_server_verifies_a_devices_chain(void **state)
{
	fixture *f = *state;
	for (int i = 0; i < 4; i++) {
		char id[FIC_UUID_BUFSIZE];
		assert_int_equal(fic_lead_file(id, f->store, "event.school_cluster", cluster, f->site, 0, 0),
		                 FIC_OK);
	}
	char *chain = chain_json(f);
	char *report;
	assert_int_equal(fic_chain_verify(&report, chain, NULL, 1), FIC_OK);
	cJSON *r = cJSON_Parse(report);
	fic_free(report);
	assert_int_equal(cJSON_GetObjectItem(r, "last_seq")->valueint, 4);
	char last[65];
	snprintf(last, sizeof last, "%s", cJSON_GetObjectItem(r, "last_hash")->valuestring);
	cJSON_Delete(r);
	cJSON *a = cJSON_Parse(chain);
	/* Continuing from a verified prefix: the last two entries after the first two. */
	cJSON *tail = cJSON_CreateArray();
	cJSON_AddItemToArray(tail, cJSON_Duplicate(cJSON_GetArrayItem(a, 2), 1));
	cJSON_AddItemToArray(tail, cJSON_Duplicate(cJSON_GetArrayItem(a, 3), 1));
	char *t = cJSON_PrintUnformatted(tail);
	assert_int_equal(fic_chain_verify(NULL, t, jstr(cJSON_GetArrayItem(a, 1), "hash"), 3), FIC_OK);
	/* ... but not after the wrong hash */
	assert_int_equal(fic_chain_verify(NULL, t, last, 3), FIC_ECORRUPT);
	free(t);
	cJSON_Delete(tail);
	/* A dropped entry. */
	cJSON *gap = cJSON_Duplicate(a, 1);
	cJSON_DeleteItemFromArray(gap, 1);
	t = cJSON_PrintUnformatted(gap);
	assert_int_equal(fic_chain_verify(&report, t, NULL, 1), FIC_ECORRUPT);
	assert_non_null(strstr(report, "chain_gap"));
	assert_non_null(strstr(report, "chain_link"));
	fic_free(report);
	free(t);
	cJSON_Delete(gap);
	/* An altered record (its hash recomputed too: the link to it breaks). */
	cJSON *alt = cJSON_Duplicate(a, 1);
	cJSON *e1 = cJSON_GetArrayItem(alt, 1);
	const char *canon = jstr(e1, "canonical");
	char *edited = strdup(canon);
	char *at = strstr(edited, "三年级二班");
	memcpy(at, "三年级一班", strlen("三年级一班"));
	cJSON_ReplaceItemInObject(e1, "canonical", cJSON_CreateString(edited));
	t = cJSON_PrintUnformatted(alt);
	assert_int_equal(fic_chain_verify(&report, t, NULL, 1), FIC_ECORRUPT);
	assert_non_null(strstr(report, "chain_hash"));
	fic_free(report);
	free(t);
	free(edited);
	cJSON_Delete(alt);
	/* Not canonical (keys out of order, or a key twice) though the hash matches it. */
	const char *texts[] = {
		"{\"prev_hash\":\"0000000000000000000000000000000000000000000000000000000000000000\","
		"\"device_id\":\"d\",\"chain_seq\":1}",
		"{\"chain_seq\":1,\"device_id\":\"d\",\"device_id\":\"e\",\"prev_hash\":"
		"\"0000000000000000000000000000000000000000000000000000000000000000\"}",
	};
	for (int k = 0; k < 2; k++) {
		char h[65];
		unsigned char d[32];
		unsigned int dl;
		EVP_Digest(texts[k], strlen(texts[k]), d, &dl, EVP_sha256(), NULL);
		for (int i = 0; i < 32; i++)
			snprintf(h + 2 * i, 3, "%02x", d[i]);
		cJSON *one = cJSON_CreateArray(), *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "seq", 1);
		cJSON_AddStringToObject(e, "hash", h);
		cJSON_AddStringToObject(e, "canonical", texts[k]);
		cJSON_AddItemToArray(one, e);
		char *t1 = cJSON_PrintUnformatted(one);
		assert_int_equal(fic_chain_verify(&report, t1, NULL, 1), FIC_ECORRUPT);
		assert_non_null(strstr(report, "not_canonical"));
		fic_free(report);
		free(t1);
		cJSON_Delete(one);
	}
	/* Whole sequence numbers only. */
	assert_int_equal(fic_chain_verify(NULL, "[{\"seq\":1.5,\"hash\":\"x\",\"canonical\":\"{}\"}]", NULL, 1),
	                 FIC_EINVAL);
	assert_int_equal(fic_chain_verify(NULL, "[{\"seq\":1e300,\"hash\":\"x\",\"canonical\":\"{}\"}]", NULL, 1),
	                 FIC_EINVAL);
	/* Malformed input. */
	assert_int_equal(fic_chain_verify(NULL, "not json", NULL, 1), FIC_EINVAL);
	assert_int_equal(fic_chain_verify(NULL, "{}", NULL, 1), FIC_EINVAL);
	assert_int_equal(fic_chain_verify(NULL, chain, "abc", 1), FIC_EINVAL);
	assert_int_equal(fic_chain_verify(NULL, chain, NULL, 0), FIC_EINVAL);
	assert_int_equal(fic_chain_verify(NULL, NULL, NULL, 1), FIC_EINVAL);
	assert_int_equal(fic_chain_verify(NULL, "[]", NULL, 1), FIC_OK);
	cJSON_Delete(a);
	free(chain);
}

static void trusted_time_follows_the_server_and_notices_clock_changes(void **state)
{
	fixture *f = *state;
	fic_time t = FIC_TIME_INIT;
	assert_int_equal(fic_time_now(&t, f->store), FIC_OK);
	assert_true(t.flags & FIC_TIME_NO_CONTACT);
	assert_int_equal(t.trusted_ms, f->clock.wall_ms);
	/* The phone is 7 minutes slow; the server says so with a 400 ms round trip. */
	int64_t server = f->clock.wall_ms + 7 * MIN;
	assert_int_equal(fic_time_contact(f->store, server, 400), FIC_OK);
	f->clock.wall_ms += 10 * MIN;
	f->clock.mono_ms += 10 * MIN;
	assert_int_equal(fic_time_now(&t, f->store), FIC_OK);
	assert_int_equal(t.flags, 0);
	/* the server read its clock within the round trip: the middle, +200 ms */
	assert_int_equal(t.trusted_ms, server + 200 + 10 * MIN);
	assert_int_equal(t.uncertainty_ms, 200 + 10 * MIN / 5000);
	/* The user sets the clock back an hour: trusted time does not move with it. */
	f->clock.wall_ms -= HOUR;
	f->clock.mono_ms += MIN;
	assert_int_equal(fic_time_now(&t, f->store), FIC_OK);
	assert_true(t.flags & FIC_TIME_CLOCK_CHANGED);
	assert_int_equal(t.trusted_ms, server + 200 + 11 * MIN);
	/* A lead filed now is flagged, and its deadline is on trusted time. */
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "event.school_cluster", cluster, f->site, 0, 0), FIC_OK);
	cJSON *j = lead(f, id);
	assert_true(cJSON_GetObjectItem(j, "deadline_at_ms")->valuedouble ==
	            (double)(server + 200 + 11 * MIN + FIC_URGENT_DEADLINE_MS));
	assert_true((int)cJSON_GetObjectItem(j, "time_flags")->valuedouble & FIC_TIME_CLOCK_CHANGED);
	assert_true(cJSON_GetObjectItem(j, "remaining_ms")->valuedouble == (double)FIC_URGENT_DEADLINE_MS);
	cJSON_Delete(j);
	fic_lead_list *l;
	assert_int_equal(fic_lead_list_get(&l, f->store, 0), FIC_OK);
	assert_true(l->entries[0].time_flags & FIC_TIME_CLOCK_CHANGED);
	assert_false(l->entries[0].at_risk);
	fic_lead_list_free(l);
	/* 1 h 35 min later (monotonic), 25 min are left: at risk — phone the agency. */
	f->clock.mono_ms += 95 * MIN;
	f->clock.wall_ms += 95 * MIN;
	assert_int_equal(fic_lead_list_get(&l, f->store, 0), FIC_OK);
	assert_int_equal(l->entries[0].remaining_ms, 25 * MIN);
	assert_true(l->entries[0].at_risk);
	fic_lead_list_free(l);
	/* After a reboot the monotonic clock restarts: the offset is used, flagged. */
	snprintf(f->clock.boot_id, sizeof f->clock.boot_id, "test-boot-2");
	fic_store_close(f->store);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	assert_int_equal(fic_store_open(&f->store, f->path, &o), FIC_OK);
	f->clock.mono_ms = 5000;
	assert_int_equal(fic_time_now(&t, f->store), FIC_OK);
	assert_true(t.flags & FIC_TIME_OTHER_BOOT);
	assert_int_equal(t.trusted_ms, f->clock.wall_ms + 7 * MIN + 200);
	/* Bad contacts are refused. */
	assert_int_equal(fic_time_contact(f->store, 1000, 10), FIC_EINVAL);
	assert_int_equal(fic_time_contact(f->store, server, -1), FIC_EINVAL);
	assert_int_equal(fic_time_contact(NULL, server, 1), FIC_EINVAL);
	assert_int_equal(fic_time_now(NULL, f->store), FIC_EINVAL);
}

static void an_unverified_clock_puts_urgent_leads_at_risk_and_a_contact_corrects_them(void **state)
{
	fixture *f = *state;
	/* The phone is an hour fast and has never reached the server. */
	int64_t truth = f->clock.wall_ms - HOUR;
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "event.school_cluster", cluster, f->site, 0, 0), FIC_OK);
	fic_lead_list *l;
	assert_int_equal(fic_lead_list_get(&l, f->store, 0), FIC_OK);
	assert_true(l->entries[0].at_risk); /* the deadline rests on an unverified clock */
	assert_true(l->entries[0].time_flags & FIC_TIME_NO_CONTACT);
	fic_lead_list_free(l);
	/* 10 minutes later the first contact: the filing moment is placed on server time. */
	f->clock.wall_ms += 10 * MIN;
	f->clock.mono_ms += 10 * MIN;
	assert_int_equal(fic_time_contact(f->store, truth + 10 * MIN, 0), FIC_OK);
	f->clock.wall_ms += 85 * MIN;
	f->clock.mono_ms += 85 * MIN;
	assert_int_equal(fic_lead_list_get(&l, f->store, 0), FIC_OK);
	assert_int_equal(l->entries[0].deadline_at_ms, truth + FIC_URGENT_DEADLINE_MS);
	assert_int_equal(l->entries[0].remaining_ms, 25 * MIN);
	assert_true(l->entries[0].at_risk);
	fic_lead_list_free(l);
	assert_int_equal(fic_evidence_verify(NULL, f->store), FIC_OK); /* the chained record is untouched */
}

static void photos_added_after_an_urgent_finding_do_not_alter_its_lead(void **state)
{
	fixture *f = *state;
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_BLOOD_STATION;
	s.name = "某血站";
	fic_site *st;
	assert_int_equal(fic_site_add(&st, f->store, &s, NULL), FIC_OK);
	char insp[FIC_UUID_BUFSIZE], pid[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_inspection_start(insp, f->store, st->id, "blood.station"), FIC_OK);
	/* The two-hour finding files its lead at once … */
	assert_int_equal(fic_inspection_answer(f->store, insp, "beyond_scope", "yes"), FIC_OK);
	/* … and its required photo can only come afterwards. */
	size_t len;
	unsigned char *jpg = tu_make_jpeg(64, 48, 3, 0, 85, &len);
	assert_int_equal(fic_photo_add_buffer(pid, f->store, FIC_PHOTO_INSPECTION, insp, "beyond_scope",
	                                      jpg, len, NULL), FIC_OK);
	char *report = NULL;
	int rc = fic_evidence_verify(&report, f->store);
	if (rc != FIC_OK)
		fail_msg("%s", report ? report : fic_error_last()->message);
	fic_free(report);
	free(jpg);
	fic_site_free(st);
}

static void records_carry_device_monotonic_and_trusted_time(void **state)
{
	fixture *f = *state;
	assert_int_equal(fic_time_contact(f->store, f->clock.wall_ms + 3 * MIN, 100), FIC_OK);
	char insp[FIC_UUID_BUFSIZE], pid[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_inspection_start(insp, f->store, f->site, "school.disease_control"), FIC_OK);
	size_t len;
	unsigned char *jpg = tu_make_jpeg(64, 48, 3, 0, 85, &len);
	assert_int_equal(fic_photo_add_buffer(pid, f->store, FIC_PHOTO_INSPECTION, insp, NULL, jpg, len,
	                                      NULL), FIC_OK);
	free(jpg);
	const char *tables[] = { "inspections", "photos" };
	for (int i = 0; i < 2; i++) {
		char sql[300];
		snprintf(sql, sizeof sql, "SELECT t_device_ms, t_mono_ms, t_boot_id, t_trusted_ms, "
		         "t_uncertainty_ms FROM %s", tables[i]);
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(f->store->db, sql, -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int64(st, 0), f->clock.wall_ms);
		assert_int_equal(sqlite3_column_int64(st, 1), f->clock.mono_ms);
		assert_string_equal((const char *)sqlite3_column_text(st, 2), "test-boot-1");
		assert_int_equal(sqlite3_column_int64(st, 3), f->clock.wall_ms + 3 * MIN + 50);
		assert_int_equal(sqlite3_column_int64(st, 4), 50);
		sqlite3_finalize(st);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(a_draft_takes_photos_then_is_frozen_when_submitted),
		T(the_server_side_states_follow_the_lifecycle),
		T(tampering_is_detected),
		T(the_server_verifies_a_devices_chain),
		T(trusted_time_follows_the_server_and_notices_clock_changes),
		T(an_unverified_clock_puts_urgent_leads_at_risk_and_a_contact_corrects_them),
		T(photos_added_after_an_urgent_finding_do_not_alter_its_lead),
		T(records_carry_device_monotonic_and_trusted_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
