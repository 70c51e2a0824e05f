/*
 * tests/server/test_server_identity.c — no device can act as another
 * (issue #12): a device id stays with its first enrolment and its county
 * (another code, of any county, does not take it over; re-enrolment needs
 * the device's own token or a re-enrolment code for that id); a record
 * belongs to the device that sent it (another device's copy is a conflict,
 * never a "duplicate", and the ids a device's records are named by —
 * "<device id>:…" — are its alone); a resend is a duplicate only with the
 * same content; and a chained record must be in the sender's own chain.
 */
#include "e2e.h"
#include "internal.h"

#include <cjson/cJSON.h>
#include <openssl/sha.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

/* POST /v1/enroll {code, device_id} with an optional bearer token: the status. */
static int enrol_raw(e2e *f, const char *code, const char *device_id, const char *token)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "code", code);
	cJSON_AddStringToObject(j, "device_id", device_id);
	cJSON_AddStringToObject(j, "device_name", "冒充者");
	char *t = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	int status = e2e_post_json(f, "/v1/enroll", token, t, NULL);
	free(t);
	return status;
}

/* One record in a batch of its own, as `token`'s device: the one result. */
static cJSON *send_one(e2e *f, const char *token, cJSON *rec)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *recs = cJSON_AddArrayToObject(root, "records");
	cJSON_AddItemToArray(recs, rec);
	char *t = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	char *body = NULL;
	assert_int_equal(e2e_post_json(f, "/v1/records", token, t, &body), 200);
	free(t);
	cJSON *ans = cJSON_Parse(body);
	free(body);
	cJSON *res = cJSON_DetachItemFromArray(cJSON_GetObjectItem(ans, "results"), 0);
	cJSON_Delete(ans);
	assert_non_null(res);
	return res;
}

static cJSON *unchained(const char *type, const char *id, const char *payload_json)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "type", type);
	cJSON_AddStringToObject(r, "id", id);
	cJSON_AddStringToObject(r, "op", "add");
	cJSON_AddItemToObject(r, "payload", cJSON_Parse(payload_json));
	return r;
}

static const char *status_of(const cJSON *res)
{
	const cJSON *s = cJSON_GetObjectItem(res, "status");
	assert_true(cJSON_IsString(s));
	return s->valuestring;
}

/* A refusal for good, whose reason says `word`. */
static void assert_refused(const cJSON *res, const char *word)
{
	assert_string_equal(status_of(res), "rejected");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(res, "retry")));
	const cJSON *why = cJSON_GetObjectItem(res, "reason");
	assert_true(cJSON_IsString(why));
	if (strstr(why->valuestring, word) == NULL)
		fail_msg("reason \"%s\" does not say \"%s\"", why->valuestring, word);
}

/* Which device the server holds record `id` under ("" if none). */
static void holder(e2e *f, const char *id, char *buf, size_t size)
{
	char *p = tu_path(f->dir, "county.db");
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	free(p);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT device_id FROM records WHERE id = ?1", -1,
	                                    &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	buf[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void file_tip_off(fic_store *st, char id[FIC_UUID_BUFSIZE])
{
	assert_int_equal(fic_lead_file(id, st, "lead.tip_off", tu_tip_off_answers, NULL, 0, 0), FIC_OK);
}

static void push_ok(e2e *f, fic_store *st, fic_sync_report *rep)
{
	int rc = fic_sync_push(st, &f->opts, rep);
	if (rc != FIC_OK)
		fail_msg("push: %s", fic_error_last()->message);
}

static void a_code_does_not_take_over_an_enrolled_device(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	const char *victim = fic_store_device_id(f->store);
	char lead[FIC_UUID_BUFSIZE];
	file_tip_off(f->store, lead);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	push_ok(f, f->store, &rep);
	/* A valid fresh code — of another county, or of the device's own — does
	 * not bind the victim's id to whoever presents it. */
	char code[32];
	assert_int_equal(county_issue_code(f->server, "黔江区", code, sizeof code), 0);
	assert_int_equal(enrol_raw(f, code, victim, NULL), 403);
	assert_int_equal(county_issue_code(f->server, "石柱县", code, sizeof code), 0);
	assert_int_equal(enrol_raw(f, code, victim, NULL), 403);
	/* Nor does a forged token make it a re-enrolment. */
	assert_int_equal(enrol_raw(f, code, victim, "0123456789abcdef0123456789abcdef"), 403);
	/* The victim's own token still works, and its chain is whole. */
	file_tip_off(f->store, lead);
	push_ok(f, f->store, &rep);
	assert_int_equal(rep.stored, 1);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
	char county[64];
	assert_int_equal(fic_sync_enrolled(f->store, county, sizeof county), FIC_OK);
	assert_string_equal(county, "石柱县");
	/* The unused code still enrols a new device. */
	fic_store *other = e2e_store_new(f, "other.db");
	assert_int_equal(fic_sync_enroll(other, &f->opts, code, NULL), FIC_OK);
	fic_store_close(other);
}

static void a_device_ids_records_are_its_own(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	fic_store *mallory = e2e_store_new(f, "mallory.db");
	e2e_enroll_store(f, mallory, "石柱县");
	char mt[200];
	e2e_token(mallory, mt, sizeof mt);
	const char *victim = fic_store_device_id(f->store);
	/* Mallory names records with the victim's predictable ids before it
	 * sends them: its audit entries and its site changes. */
	char id[120];
	snprintf(id, sizeof id, "%s:1", victim);
	cJSON *res = send_one(f, mt, unchained("audit", id, "{\"action\":\"forged\"}"));
	assert_refused(res, "another device");
	cJSON_Delete(res);
	snprintf(id, sizeof id, "%s:site:1", victim);
	res = send_one(f, mt, unchained("site", id, "{\"site\":{\"name\":\"forged\"}}"));
	assert_refused(res, "another device");
	cJSON_Delete(res);
	/* The victim's own records go through as stored, not as someone else's "duplicate". */
	fic_site s = FIC_SITE_INIT, *out;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "大河村集中供水站";
	assert_int_equal(fic_site_add(&out, f->store, &s, "巡查发现"), FIC_OK);
	fic_site_free(out);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	push_ok(f, f->store, &rep);
	assert_int_equal(rep.duplicates, 0);
	assert_int_equal(rep.rejected, 0);
	char who[64];
	snprintf(id, sizeof id, "%s:1", victim);
	holder(f, id, who, sizeof who);
	assert_string_equal(who, victim);
	fic_store_close(mallory);
}

static void another_devices_record_is_a_conflict_not_a_duplicate(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char lead[FIC_UUID_BUFSIZE];
	file_tip_off(f->store, lead);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	push_ok(f, f->store, &rep);
	fic_store *mallory = e2e_store_new(f, "mallory.db");
	e2e_enroll_store(f, mallory, "石柱县");
	char mt[200];
	e2e_token(mallory, mt, sizeof mt);
	/* Mallory sends something under the victim's lead id: refused for good as
	 * a conflict, and it learns no receipt of the victim's. */
	cJSON *res = send_one(f, mt, unchained("site", lead, "{\"site\":{\"name\":\"x\"}}"));
	assert_refused(res, "conflict");
	assert_null(cJSON_GetObjectItem(res, "receipt_id"));
	cJSON_Delete(res);
	char who[64];
	holder(f, lead, who, sizeof who);
	assert_string_equal(who, fic_store_device_id(f->store));
	/* The county sees it. */
	char *list = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&list, &len);
	assert_int_equal(county_conflicts(f->server, mem), 1);
	fclose(mem);
	assert_non_null(strstr(list, lead));
	assert_non_null(strstr(list, fic_store_device_id(mallory)));
	free(list);
	fic_store_close(mallory);
}

static void a_resend_is_a_duplicate_only_with_the_same_content(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char t[200], id[120];
	e2e_token(f->store, t, sizeof t);
	snprintf(id, sizeof id, "%s:site:900", fic_store_device_id(f->store));
	cJSON *a = send_one(f, t, unchained("site", id, "{\"site\":{\"name\":\"一\",\"n\":1}}"));
	assert_string_equal(status_of(a), "stored");
	/* The same content again (keys in another order): the same receipt. */
	cJSON *b = send_one(f, t, unchained("site", id, "{\"site\":{\"n\":1,\"name\":\"一\"}}"));
	assert_string_equal(status_of(b), "duplicate");
	assert_string_equal(cJSON_GetObjectItem(a, "receipt_id")->valuestring,
	                    cJSON_GetObjectItem(b, "receipt_id")->valuestring);
	/* Other content under the same id: a conflict, not a duplicate. */
	cJSON *c = send_one(f, t, unchained("site", id, "{\"site\":{\"name\":\"二\",\"n\":1}}"));
	assert_refused(c, "conflict");
	assert_int_equal(county_conflicts(f->server, NULL), 1);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
}

static void a_chained_record_must_be_in_the_senders_chain(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	fic_store *mallory = e2e_store_new(f, "mallory.db");
	e2e_enroll_store(f, mallory, "石柱县");
	char mt[200];
	e2e_token(mallory, mt, sizeof mt);
	/* A well-formed first entry of the victim's chain, sent by Mallory. */
	char canon[400], hash[65];
	snprintf(canon, sizeof canon,
	         "{\"chain_seq\":1,\"device_id\":\"%s\",\"prev_hash\":\"%064d\",\"title\":\"伪造\"}",
	         fic_store_device_id(f->store), 0);
	unsigned char md[32];
	SHA256((const unsigned char *)canon, strlen(canon), md);
	for (int i = 0; i < 32; i++)
		snprintf(hash + 2 * i, 3, "%02x", md[i]);
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "type", "lead");
	cJSON_AddStringToObject(r, "id", "0190f0f0-0000-7000-8000-000000000001");
	cJSON_AddStringToObject(r, "op", "submit");
	cJSON_AddNumberToObject(r, "seq", 1);
	cJSON_AddStringToObject(r, "hash", hash);
	cJSON_AddStringToObject(r, "canonical", canon);
	cJSON *res = send_one(f, mt, r);
	assert_refused(res, "device");
	cJSON_Delete(res);
	assert_int_equal(county_record_count(f->server, "lead"), 0);
	/* The victim's real chain then verifies whole. */
	char lead[FIC_UUID_BUFSIZE];
	file_tip_off(f->store, lead);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	push_ok(f, f->store, &rep);
	assert_int_equal(county_record_count(f->server, "lead"), 1);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
	fic_store_close(mallory);
}

static void a_lost_enrolment_answer_may_be_asked_again_once_only_before_use(void **state)
{
	e2e *f = *state;
	char code[32];
	assert_int_equal(county_issue_code(f->server, "石柱县", code, sizeof code), 0);
	const char *id = fic_store_device_id(f->store);
	/* The first answer is lost: the device asks again with the same code. */
	assert_int_equal(enrol_raw(f, code, id, NULL), 200);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, code, NULL), FIC_OK);
	/* Once its token has been used, the code is spent for good. */
	assert_int_equal(fic_sync_push(f->store, &f->opts, NULL), FIC_OK);
	assert_int_equal(enrol_raw(f, code, id, NULL), 403);
	/* And another device never could. */
	fic_store *other = e2e_store_new(f, "other.db");
	assert_int_equal(fic_sync_enroll(other, &f->opts, code, NULL), FIC_EAUTH);
	fic_store_close(other);
}

/* A database the server before issue #12 made: codes in clear, no expiry. */
static const char v1_schema[] =
	"CREATE TABLE codes (code TEXT PRIMARY KEY, county TEXT NOT NULL, issued_ms INTEGER NOT "
	"NULL, used_by TEXT);"
	"CREATE TABLE devices (device_id TEXT PRIMARY KEY, county TEXT NOT NULL, token_sha256 TEXT "
	"NOT NULL UNIQUE, name TEXT, enrolled_ms INTEGER NOT NULL, chain_seq INTEGER NOT NULL DEFAULT "
	"0, chain_hash TEXT NOT NULL DEFAULT "
	"'0000000000000000000000000000000000000000000000000000000000000000');";

static void a_database_from_before_keeps_its_devices_and_codes(void **state)
{
	e2e *f = *state;
	char *p = tu_path(f->dir, "old.db");
	sqlite3 *db;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
	/* A device enrolled with token "t0…" and a code not yet used, issued now. */
	char token[65], th[65], sql[600];
	memset(token, 't', 64);
	token[64] = '\0';
	unsigned char md[32];
	SHA256((const unsigned char *)token, 64, md);
	for (int i = 0; i < 32; i++)
		snprintf(th + 2 * i, 3, "%02x", md[i]);
	snprintf(sql, sizeof sql,
	         "INSERT INTO devices (device_id, county, token_sha256, enrolled_ms) VALUES "
	         "('0190f0f0-0000-7000-8000-0000000000d1', '石柱县', '%s', 1);"
	         "INSERT INTO codes VALUES ('OLDC-ODE2-3456', '石柱县', %lld, NULL);",
	         th, (long long)time(NULL) * 1000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	county_server *srv;
	char err[300];
	assert_int_equal(county_open(&srv, p, err, sizeof err), 0);
	assert_int_equal(county_listen(srv, "127.0.0.1:0", err, sizeof err), 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", county_port(srv));
	/* The old device's token still works; the old code still enrols, once. */
	e2e old = *f;
	old.server = srv;
	snprintf(old.url, sizeof old.url, "%s", url);
	e2e_answer a = e2e_request(&old, "GET", "/v1/feeds/sites", token, NULL, 0, NULL, 0);
	assert_int_equal(a.status, 200);
	e2e_answer_free(&a);
	fic_sync_options o = f->opts;
	o.server_url = url;
	assert_int_equal(fic_sync_enroll(f->store, &o, "OLDC-ODE2-3456", NULL), FIC_OK);
	county_close(srv);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM codes WHERE code_sha256 LIKE "
	                                    "'%OLDC%'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_code_does_not_take_over_an_enrolled_device, e2e_setup,
		                                e2e_teardown),
		cmocka_unit_test_setup_teardown(a_device_ids_records_are_its_own, e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(another_devices_record_is_a_conflict_not_a_duplicate,
		                                e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(a_resend_is_a_duplicate_only_with_the_same_content,
		                                e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(a_chained_record_must_be_in_the_senders_chain, e2e_setup,
		                                e2e_teardown),
		cmocka_unit_test_setup_teardown(
			a_lost_enrolment_answer_may_be_asked_again_once_only_before_use, e2e_setup,
			e2e_teardown),
		cmocka_unit_test_setup_teardown(a_database_from_before_keeps_its_devices_and_codes,
		                                e2e_setup, e2e_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
