/*
 * tests/server/test_sms_e2e.c — the SMS fallback end to end, with the real
 * county server: enrolment gives the device its SMS key; an urgent lead's
 * SMS — by the gateway's endpoint (JSON and plain text, parts out of order
 * and twice) or by `fic-county-server sms-in` on standard input — is stored
 * once, marked as received by SMS and confirmed with a text the device
 * takes as its receipt; the lead's later data upload is the same record
 * under the same receipt (not a second lead) and its chain still verifies;
 * a record that came by data first is confirmed with its own receipt; a
 * forged or altered SMS, or one from a device the county does not know,
 * is refused and stores nothing.
 */
#include "e2e.h"
#include "internal.h"
#include "sms_codec.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#define SENDER "+8613800000001"
/* A description of 80 characters: an SMS carries its first 70. */
static const char long_answers[] =
	"{\"kind\":\"sex_determination\",\"place\":\"青杠镇石桥村三组村民自建房二楼东侧出租屋内\","
	"\"provider\":\"某诊所\",\"description\":\"有群众反映，近一个月来有外地人员携带便携式B超机在村内出租屋"
	"为孕妇鉴定胎儿性别，每次收费两千元左右，由本村一名妇女负责介绍联系，晚上八点以后活动较多，"
	"已初步核实\",\"informant_name\":\"王秀英\",\"informant_phone\":\"13912345678\","
	"\"verified\":\"yes\"}";

static void setup_device(e2e *f)
{
	e2e_enroll(f, "石柱县");
	char key[80];
	assert_int_equal(fic__secret_get(f->store, FIC_SECRET_SMS_KEY, key, sizeof key), FIC_OK);
	assert_int_equal(strlen(key), 44); /* 32 bytes, base64 */
	assert_int_equal(fic_setting_set(f->store, "sms_gateway_number", "10655000123"), FIC_OK);
}

static fic_sms *sms_of(e2e *f, const char *id)
{
	fic_sms *m;
	if (fic_lead_sms(&m, f->store, id) != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	return m;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static cJSON *lead_json(e2e *f, const char *id)
{
	char *t;
	assert_int_equal(fic_lead_get_json(&t, f->store, id), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	return j;
}

/* A value of the server's database. */
static int64_t server_int(e2e *f, const char *sql, const char *arg)
{
	char *path = tu_path(f->dir, "county.db");
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	free(path);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void a_lead_sent_by_sms_is_stored_once_confirmed_and_not_duplicated_by_data(void **state)
{
	e2e *f = *state;
	setup_device(f);
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL, 0, 0),
	                 FIC_OK);
	fic_sms *m = sms_of(f, id);
	assert_int_equal(m->count, 1);
	assert_int_equal(fic_lead_sms_sent(f->store, id), FIC_OK);

	/* The gateway hands the SMS over: stored, marked as received by SMS. */
	county_sms_result r;
	assert_int_equal(county_sms_in(f->server, m->parts[0], strlen(m->parts[0]), SENDER, &r), 0);
	assert_int_equal(r.status, COUNTY_SMS_STORED);
	assert_string_equal(r.lead_id, id);
	assert_int_equal(county_record_count(f->server, "lead"), 1);
	assert_int_equal(county_sms_lead_count(f->server), 1);
	assert_int_equal(county_received_at(f->server, id), r.received_ms);
	char rcpt[80];
	assert_int_equal(county_receipt(f->server, id, rcpt, sizeof rcpt), 0);
	assert_string_equal(rcpt, r.receipt_id);
	/* The two-hour audit shows it, received by SMS, on time. */
	char *report = NULL;
	size_t rlen = 0;
	FILE *out = open_memstream(&report, &rlen);
	assert_int_equal(county_report_leads(f->server, out), 0);
	fclose(out);
	assert_non_null(strstr(report, id));
	assert_non_null(strstr(report, "by SMS"));
	assert_non_null(strstr(report, "on time"));
	assert_non_null(strstr(report, "食源性疾病"));
	free(report);

	/* Sent again (the phone was not sure): the same lead, the same receipt. */
	county_sms_result again;
	assert_int_equal(county_sms_in(f->server, m->parts[0], strlen(m->parts[0]), SENDER, &again), 0);
	assert_int_equal(again.status, COUNTY_SMS_DUPLICATE);
	assert_string_equal(again.receipt_id, r.receipt_id);
	assert_int_equal(county_record_count(f->server, "lead"), 1);

	/* The confirmation comes back by SMS: the lead is delivered. */
	assert_int_equal(fic_lead_sms_receipt(f->store, id, r.reply), FIC_OK);
	cJSON *j = lead_json(f, id);
	assert_string_equal(jstr(j, "state"), "delivered");
	assert_string_equal(jstr(j, "receipt_id"), r.receipt_id);
	assert_int_equal((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "receipt_at_ms")),
	                 r.received_ms);
	cJSON_Delete(j);

	/* Data returns: the record goes up and is the same lead, same receipt. */
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.urgent_acked, 1);
	assert_int_equal(rep.duplicates, 1);
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(county_record_count(f->server, "lead"), 1);
	assert_int_equal(county_received_at(f->server, id), r.received_ms);
	assert_int_equal(county_receipt(f->server, id, rcpt, sizeof rcpt), 0);
	assert_string_equal(rcpt, r.receipt_id);
	j = lead_json(f, id);
	assert_string_equal(jstr(j, "state"), "delivered");
	assert_string_equal(jstr(j, "receipt_id"), r.receipt_id);
	cJSON_Delete(j);
	/* The county now holds the full record (chained, verified), still marked
	 * as received by SMS. */
	assert_int_equal(server_int(f, "SELECT seq FROM records WHERE id = ?1", id), 1);
	assert_int_equal(server_int(f, "SELECT op = 'submit' FROM records WHERE id = ?1", id), 1);
	assert_int_equal(server_int(f, "SELECT chain_seq FROM devices", NULL), 1);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
	assert_int_equal(county_sms_lead_count(f->server), 1);
	/* An SMS arriving after all that still finds the one lead. */
	assert_int_equal(county_sms_in(f->server, m->parts[0], strlen(m->parts[0]), SENDER, &again), 0);
	assert_int_equal(again.status, COUNTY_SMS_DUPLICATE);
	assert_string_equal(again.receipt_id, r.receipt_id);
	assert_int_equal(county_record_count(f->server, "lead"), 1);
	fic_sms_free(m);
	assert_int_equal(fic_evidence_verify(NULL, f->store), FIC_OK);
}

/* ---- the gateway's endpoint, over HTTP ---- */

typedef struct body {
	char buf[4096];
	size_t len;
} body;

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	body *b = arg;
	size_t k = size * n;
	if (b->len + k < sizeof b->buf) {
		memcpy(b->buf + b->len, p, k);
		b->len += k;
		b->buf[b->len] = '\0';
	}
	return k;
}

static long post(e2e *f, const char *type, const char *accept, const char *data, body *out)
{
	CURL *c = curl_easy_init();
	char url[128];
	snprintf(url, sizeof url, "%s/v1/sms/in?from=%%2B8613800000001", f->url);
	struct curl_slist *h = NULL;
	char t[80], a[80];
	snprintf(t, sizeof t, "Content-Type: %s", type);
	h = curl_slist_append(h, t);
	if (accept) {
		snprintf(a, sizeof a, "Accept: %s", accept);
		h = curl_slist_append(h, a);
	}
	memset(out, 0, sizeof *out);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static cJSON *post_json(e2e *f, const char *text)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "text", text);
	cJSON_AddStringToObject(req, "from", SENDER);
	char *t = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	body b;
	assert_int_equal(post(f, "application/json", NULL, t, &b), 200);
	cJSON_free(t);
	cJSON *j = cJSON_Parse(b.buf);
	assert_non_null(j);
	return j;
}

static void a_long_lead_in_parts_arrives_out_of_order_and_twice_through_the_endpoint(void **state)
{
	e2e *f = *state;
	setup_device(f);
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "event.two_non", long_answers, NULL, 0, 0), FIC_OK);
	fic_sms *m = sms_of(f, id);
	assert_true(m->count >= 2);
	/* Last part first, then each again, the first part last. */
	cJSON *j = NULL;
	for (size_t i = m->count; i-- > 1;) {
		for (int twice = 0; twice < 2; twice++) {
			cJSON_Delete(j);
			j = post_json(f, m->parts[i]);
			assert_string_equal(jstr(j, "status"), "partial");
			assert_null(cJSON_GetObjectItem(j, "reply"));
			assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "parts_total")),
			                 (double)m->count);
		}
	}
	assert_int_equal(county_record_count(f->server, "lead"), 0);
	/* The first part, as plain text with the reply as plain text (a Kannel
	 * sms-service sends the body back as it is). */
	body b;
	assert_int_equal(post(f, "text/plain", "text/plain", m->parts[0], &b), 200);
	assert_true(strncmp(b.buf, "FI1 OK ", 7) == 0);
	assert_non_null(strstr(b.buf, id));
	assert_int_equal(county_record_count(f->server, "lead"), 1);
	assert_int_equal(server_int(f, "SELECT count(*) FROM sms_parts", NULL), 0);
	/* The Chinese text as the county reads it: the description's first 70
	 * characters exactly, marked as cut (the whole of it follows by data). */
	assert_int_equal(server_int(f, "SELECT json_extract(lead, '$.description') = ?1 AND "
	                               "json_extract(lead, '$.description_truncated') AND "
	                               "json_extract(lead, '$.place') = '青杠镇石桥村三组村民自建房二楼东侧出租屋内' "
	                               "FROM sms_leads",
	                            "有群众反映，近一个月来有外地人员携带便携式B超机在村内出租屋为孕妇鉴定胎儿性别，"
	                            "每次收费两千元左右，由本村一名妇女负责介绍联系，晚上八点以后"),
	                 1);
	/* …and the informant is not in it. */
	assert_int_equal(server_int(f, "SELECT instr(lead, '王秀英') + instr(lead, '13912345678') FROM "
	                               "sms_leads", NULL), 0);
	assert_int_equal(server_int(f, "SELECT sender = '+8613800000001' FROM sms_leads", NULL), 1);
	assert_int_equal(fic_lead_sms_receipt(f->store, id, b.buf), FIC_OK);
	cJSON_Delete(j);
	/* The same, once more through JSON: a duplicate with the same receipt. */
	for (size_t i = 0; i < m->count; i++) {
		j = post_json(f, m->parts[i]);
		if (i + 1 < m->count) {
			assert_string_equal(jstr(j, "status"), "partial");
		} else {
			assert_string_equal(jstr(j, "status"), "duplicate");
			assert_string_equal(jstr(j, "lead_id"), id);
		}
		cJSON_Delete(j);
	}
	/* Not ours, malformed requests. */
	j = post_json(f, "你好，明天开会");
	assert_string_equal(jstr(j, "status"), "ignored");
	cJSON_Delete(j);
	assert_int_equal(post(f, "application/json", NULL, "{\"txt\":1}", &b), 400);
	assert_int_equal(post(f, "application/xml", NULL, "<sms/>", &b), 415);
	fic_sms_free(m);
}

static void a_forged_or_altered_sms_is_refused_and_stores_nothing(void **state)
{
	e2e *f = *state;
	setup_device(f);
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL, 0, 0),
	                 FIC_OK);
	fic_sms *m = sms_of(f, id);
	char t[200];
	snprintf(t, sizeof t, "%s", m->parts[0]);
	size_t at = strlen(t) / 2;
	t[at] = t[at] == 'A' ? 'B' : 'A';
	county_sms_result r;
	assert_int_equal(county_sms_in(f->server, t, strlen(t), SENDER, &r), -1);
	assert_int_equal(r.status, COUNTY_SMS_REFUSED);
	assert_true(strncmp(r.reply, "FI1 ERR ", 8) == 0);
	/* The refusal, given to the phone, leaves the lead queued with the reason. */
	assert_int_equal(fic_lead_sms_receipt(f->store, id, r.reply), FIC_EINVAL);
	/* A device the county never enrolled: its key verifies nothing here. */
	fic__sms_lead l;
	memset(&l, 0, sizeof l);
	assert_int_equal(fic__sms_uuid_parse(id, l.lead_id), FIC_OK);
	snprintf(l.category, sizeof l.category, "foodborne");
	l.discovered_ms = f->clock.wall_ms;
	l.description = fic__strdup("伪造的线索");
	static const uint8_t stranger[FIC_SMS_KEY_BYTES] = { 0xAA, 0xBB };
	fic__sms_parts p;
	assert_int_equal(fic__sms_encode(&l, stranger, &p), FIC_OK);
	assert_int_equal(county_sms_in(f->server, p.text[0], strlen(p.text[0]), SENDER, &r), -1);
	assert_int_equal(r.status, COUNTY_SMS_REFUSED);
	assert_non_null(strstr(r.reason, "verifies"));
	fic__sms_parts_clear(&p);
	fic__sms_lead_clear(&l);
	/* A confirmation the county did not make is not taken. */
	char fake[200];
	assert_int_equal(fic__sms_receipt_make(fake, sizeof fake, stranger, id, "deadbeef",
	                                       f->clock.wall_ms), FIC_OK);
	assert_int_equal(fic_lead_sms_receipt(f->store, id, fake), FIC_EAUTH);
	assert_int_equal(county_record_count(f->server, "lead"), 0);
	assert_int_equal(county_sms_lead_count(f->server), 0);
	cJSON *j = lead_json(f, id);
	assert_string_equal(jstr(j, "state"), "queued");
	cJSON_Delete(j);
	fic_sms_free(m);
}

static void a_lead_that_came_by_data_first_is_confirmed_with_its_receipt(void **state)
{
	e2e *f = *state;
	setup_device(f);
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL, 0, 0),
	                 FIC_OK);
	fic_sms *m = sms_of(f, id); /* made before the data went (it would be refused after) */
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	char rcpt[80];
	assert_int_equal(county_receipt(f->server, id, rcpt, sizeof rcpt), 0);
	county_sms_result r;
	assert_int_equal(county_sms_in(f->server, m->parts[0], strlen(m->parts[0]), NULL, &r), 0);
	assert_int_equal(r.status, COUNTY_SMS_DUPLICATE);
	assert_string_equal(r.receipt_id, rcpt);
	assert_int_equal(county_record_count(f->server, "lead"), 1);
	/* Taking this confirmation changes nothing: the lead is delivered already. */
	assert_int_equal(fic_lead_sms_receipt(f->store, id, r.reply), FIC_OK);
	cJSON *j = lead_json(f, id);
	assert_string_equal(jstr(j, "receipt_id"), rcpt);
	cJSON_Delete(j);
	fic_sms_free(m);
}

static void the_sms_in_command_takes_one_sms_on_standard_input(void **state)
{
	e2e *f = *state;
	setup_device(f);
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "event.water_poisoning",
	                               "{\"place\":\"石桥村\",\"poisoned\":7,\"treatment\":\"送县医院\","
	                               "\"onset_date\":\"2026-03-01\",\"description\":\"停水后恢复供水，"
	                               "村民饮用后腹痛呕吐\",\"verified\":\"yes\"}",
	                               NULL, 0, 0), FIC_OK);
	fic_sms *m = sms_of(f, id);
	char *db = tu_path(f->dir, "county.db"), *in = tu_path(f->dir, "sms.txt");
	assert_int_equal(tu_write_file(in, m->parts[0], strlen(m->parts[0])), 0);
	char cmd[1200], line[300] = "";
	snprintf(cmd, sizeof cmd, "'%s' --db '%s' sms-in --from %s < '%s' 2>/dev/null",
	         FIC_COUNTY_SERVER_BIN, db, SENDER, in);
	FILE *p = popen(cmd, "r");
	assert_non_null(fgets(line, sizeof line, p));
	int status = pclose(p);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	line[strcspn(line, "\n")] = '\0';
	assert_int_equal(fic_lead_sms_receipt(f->store, id, line), FIC_OK);
	assert_int_equal(county_record_count(f->server, "lead"), 1);
	/* Something not ours: exit 1, nothing to send back. */
	assert_int_equal(tu_write_file(in, "hello", 5), 0);
	snprintf(cmd, sizeof cmd, "'%s' --db '%s' sms-in < '%s' >/dev/null 2>&1", FIC_COUNTY_SERVER_BIN,
	         db, in);
	status = system(cmd);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	free(db);
	free(in);
	fic_sms_free(m);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
#define T(fn) cmocka_unit_test_setup_teardown(fn, e2e_setup, e2e_teardown)
	const struct CMUnitTest tests[] = {
		T(a_lead_sent_by_sms_is_stored_once_confirmed_and_not_duplicated_by_data),
		T(a_long_lead_in_parts_arrives_out_of_order_and_twice_through_the_endpoint),
		T(a_forged_or_altered_sms_is_refused_and_stores_nothing),
		T(a_lead_that_came_by_data_first_is_confirmed_with_its_receipt),
		T(the_sms_in_command_takes_one_sms_on_standard_input),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
